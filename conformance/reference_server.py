"""The built-in reference server: RFC 6455 §4.2 to the letter, then echo.

``wsconform run`` without a target runs the suite against this server, so it must
pass every case. The opening handshake is parsed with h11 and checked rule by rule
(§4.2.1); a bad request gets an HTTP error with ``Connection: close``, never a 101
(§4.2.1, §4.2.2 step 4, §4.4). After the 101 (§4.2.2 step 5), wsproto echoes
messages, answers pings and echoes the closing handshake; the suite's own
:class:`~conformance.echo_engine.EchoEngine` checks the same bytes in front of it and
overrides wsproto where the two disagree. ``engine="model"`` echoes with the
:class:`~conformance.echo_engine.EchoEngine` alone, under a
:class:`~conformance.echo_engine.WirePolicy` that :mod:`fixtures.wire_faults` can break.

permessage-deflate (RFC 7692) is negotiated by
:meth:`~conformance.model.server_handshake.ServerBehaviour.negotiate_extensions` (the
first acceptable offer; an unacceptable one is declined with a 101 without it, §7). A
connection that agreed to it is served by the model engine whatever ``engine`` says:
wsproto's ``PerMessageDeflate`` accepts offers §7 makes a server decline (unknown or
duplicate parameters, ``=08``) and inflates without a bound, so it is not used.

The handshake rules live in :mod:`conformance.model.server_handshake`, one overridable
hook of :class:`~conformance.model.server_handshake.ServerBehaviour` each, so
:mod:`fixtures.fault_server` can break exactly one rule at a time; this module reads
the request, bounded in size and time, and writes the answer.

Run in the foreground with ``python -m conformance.reference_server --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from ssl import Purpose, SSLContext, create_default_context
from types import TracebackType
from typing import Final, Literal, Self, get_args

import h11
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

from conformance.echo_engine import DEFAULT_MAX_FRAGMENTS, EchoEngine, WirePolicy
from conformance.model.codec import encode_frame
from conformance.model.constants import Opcode
from conformance.model.frames import Frame
from conformance.model.server_extensions import DeflateSettings
from conformance.model.server_handshake import (
    SEC_PROTOCOL,
    ParsedRequest,
    ReceivedRequest,
    Refusal,
    ServerBehaviour,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"

MAX_HEADER_BYTES = 16 * 1024
HANDSHAKE_TIMEOUT = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_FRAGMENTS = DEFAULT_MAX_FRAGMENTS
IDLE_TIMEOUT = 300.0
WRITE_TIMEOUT = 10.0
LINGER_TIMEOUT = 2.0
LINGER_MAX_BYTES = 1024 * 1024
READ_CHUNK = 64 * 1024

EngineName = Literal["wsproto", "model"]
ENGINES: Final[tuple[EngineName, ...]] = get_args(EngineName)
"""Echo engines after the 101: wsproto (checked by the model), or the model alone."""

CLOSE_NORMAL = 1000  # §7.4.1
CLOSE_GOING_AWAY = 1001
CLOSE_NO_STATUS = 1005
CLOSE_TOO_BIG = 1009


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Bounds on everything a peer can make the server wait for or buffer."""

    max_header_bytes: int = MAX_HEADER_BYTES
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    max_message_bytes: int = MAX_MESSAGE_BYTES
    """Largest frame or message (reassembled, inflated); a header announcing more fails
    at once with 1009 (§10.4, §7.4.1)."""
    max_fragments: int | None = MAX_FRAGMENTS
    """Most frames of one message (§10.4 "a long stream of small frames"); None: no cap."""
    idle_timeout: float | None = IDLE_TIMEOUT
    write_timeout: float = WRITE_TIMEOUT
    linger_timeout: float = LINGER_TIMEOUT


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class LoopbackServer:
    """A listening asyncio server whose connection tasks are tracked and cancelled."""

    def __init__(
        self, server: asyncio.Server, host: str, secure: bool, tasks: set[asyncio.Task[None]]
    ) -> None:
        self._server = server
        self._tasks = tasks
        self._closed = False
        self.host = host
        self.secure = secure
        self.port: int = server.sockets[0].getsockname()[1]

    @classmethod
    async def start(
        cls,
        handler: Handler,
        host: str = DEFAULT_HOST,
        port: int = 0,
        ssl: SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
    ) -> Self:
        tasks: set[asyncio.Task[None]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await handler(reader, writer)
            except asyncio.CancelledError:
                pass  # close(); ending normally keeps 3.11's stream callback quiet
            except (OSError, TimeoutError) as exc:
                log.debug("connection ended: %r", exc)
            except Exception:
                log.exception("connection handler failed")
            finally:
                tasks.discard(task)
                if not writer.is_closing():
                    writer.transport.abort()

        tls_timeout = ssl_handshake_timeout if ssl is not None else None
        server = await asyncio.start_server(
            on_connect, host, port, ssl=ssl, ssl_handshake_timeout=tls_timeout
        )
        return cls(server, host, ssl is not None, tasks)

    @property
    def url(self) -> str:
        """``ws://host:port/`` or ``wss://host:port/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'wss' if self.secure else 'ws'}://{host}:{self.port}/"

    @property
    def active_connections(self) -> int:
        """Connections whose handler is still running."""
        return len(self._tasks)

    async def close(self) -> None:
        """Stop listening and cancel every connection."""
        if self._closed:
            return
        self._closed = True
        self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class ReferenceServer(LoopbackServer):
    """The reference server; see :func:`start_reference_server`."""

    behaviour: ServerBehaviour
    limits: ServerLimits
    engine: EngineName
    wire_policy: WirePolicy | None


async def start_reference_server(
    host: str = DEFAULT_HOST,
    port: int = 0,
    ssl: SSLContext | None = None,
    *,
    behaviour: ServerBehaviour | None = None,
    limits: ServerLimits | None = None,
    engine: EngineName = "wsproto",
    wire_policy: WirePolicy | None = None,
) -> ReferenceServer:
    """Listen on ``host:port`` (0: any free port), optionally over TLS (§4.2.2 step 1).

    ``engine`` echoes after the 101: ``"wsproto"`` or ``"model"`` (the
    :class:`~conformance.echo_engine.EchoEngine` under ``wire_policy``, correct if None).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    if wire_policy is not None and engine != "model":
        raise ValueError("a wire_policy needs engine='model'")
    session = _Session(
        behaviour or ServerBehaviour(), limits or ServerLimits(), engine, wire_policy
    )
    server = await ReferenceServer.start(
        session.handle, host, port, ssl, ssl_handshake_timeout=session.limits.handshake_timeout
    )
    server.behaviour = session.behaviour
    server.limits = session.limits
    server.engine = engine
    server.wire_policy = wire_policy
    return server


@dataclass(frozen=True, slots=True)
class AcceptedHandshake:
    """An accepted opening handshake: the bytes after it, the agreed compression."""

    trailing: bytes
    deflate: DeflateSettings | None = None


@dataclass
class _Message:
    """A message being reassembled from fragments."""

    parts: list[str | bytes] = field(default_factory=list)
    size: int = 0


class _Session:
    """Serves connections: handshake (§4.2), then echo (§5, §6, §7)."""

    def __init__(
        self,
        behaviour: ServerBehaviour,
        limits: ServerLimits,
        engine: EngineName = "wsproto",
        wire_policy: WirePolicy | None = None,
    ) -> None:
        self.behaviour = behaviour
        self.limits = limits
        self.engine = engine
        self.wire_policy = wire_policy

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.limits.handshake_timeout):
                accepted = await self._handshake(reader, writer)
        except TimeoutError:
            log.debug("opening handshake deadline passed")
            await self._close(writer)
            return
        if accepted is None:
            await self._linger(reader, writer)
            return
        if self.engine == "model" or accepted.deflate is not None:
            await self._echo_model(reader, writer, accepted.trailing, accepted.deflate)
        else:
            await self._echo(reader, writer, accepted.trailing)

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> AcceptedHandshake | None:
        """Answer the opening handshake; what was accepted, or None if refused."""
        outcome = await self._read_request(reader)
        if outcome is None:
            return None
        if isinstance(outcome, ParsedRequest):
            request = outcome.request
            refusal = self.behaviour.validate_request(request)
            if refusal is None:
                offered = request.tokens(SEC_PROTOCOL)
                subprotocol = self.behaviour.select_subprotocol(offered)
                headers = self.behaviour.build_accept_headers(request, subprotocol)
                deflate = self.behaviour.negotiate_extensions(request)
                headers += self.behaviour.extension_headers(deflate)
                await self._send(writer, self.behaviour.render_accept(headers))
                return AcceptedHandshake(outcome.trailing, deflate)
        else:
            refusal = outcome
        log.debug("refusing handshake: %s %s", refusal.status, refusal.detail)
        response = self.behaviour.render_refusal(refusal)
        if response is not None:
            await self._send(writer, response)
        return None

    async def _read_request(self, reader: asyncio.StreamReader) -> ParsedRequest | Refusal | None:
        """Read one request head, at most ``max_header_bytes`` (+1 to detect overflow)."""
        cap = self.limits.max_header_bytes
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=cap)
        raw = bytearray()
        reads = 0
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                return self.behaviour.on_parse_error(bytes(raw), exc)
            if isinstance(event, h11.Request):
                return ParsedRequest(ReceivedRequest.from_h11(event), conn.trailing_data[0])
            if isinstance(event, h11.ConnectionClosed):
                return None
            limit = self.behaviour.max_request_reads
            if limit is not None and reads >= limit:
                return Refusal(400, f"request head not complete after {reads} read(s)")
            reads += 1
            data = await reader.read(min(READ_CHUNK, cap + 1 - len(raw)))
            raw += data
            conn.receive_data(data)

    async def _echo(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, trailing: bytes
    ) -> None:
        """Echo messages, answer pings and Close (§5.5.2, §5.5.3, §5.6, §7.1)."""
        ws = Connection(ConnectionType.SERVER)
        check = EchoEngine(
            max_message=self.limits.max_message_bytes, max_fragments=self.limits.max_fragments
        )
        ws.receive_data(trailing)
        check.receive(trailing)
        message = _Message()
        while True:
            out, done = self._react(ws, message, check)
            if out:
                await self._send(writer, out)
            if done:
                break
            try:
                async with asyncio.timeout(self.limits.idle_timeout):
                    data = await reader.read(READ_CHUNK)
            except TimeoutError:
                await self._send(writer, ws.send(CloseConnection(code=CLOSE_GOING_AWAY)))
                break
            if not data:  # vanished without a Close (§7.1.5: 1006)
                await self._close(writer)
                return
            ws.receive_data(data)
            check.receive(data)
        await self._linger(reader, writer)

    async def _echo_model(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        trailing: bytes,
        deflate: DeflateSettings | None = None,
    ) -> None:
        """Echo with the suite's own :class:`EchoEngine` under ``wire_policy`` (§5, §7, §8),
        with permessage-deflate if ``deflate`` was agreed (RFC 7692)."""
        engine = EchoEngine(
            self.wire_policy,
            max_message=self.limits.max_message_bytes,
            max_fragments=self.limits.max_fragments,
            deflate=deflate,
        )
        output = engine.receive(trailing)
        while True:
            if output.send:
                await self._send(writer, output.send)
            if output.close_transport:
                break
            try:
                async with asyncio.timeout(self.limits.idle_timeout):
                    data = await reader.read(READ_CHUNK)
            except TimeoutError:
                await self._send(writer, engine.close(CLOSE_GOING_AWAY).send)
                break
            if not data:  # vanished without a Close, or after ours (§7.1.5)
                engine.receive_eof()
                await self._close(writer)
                return
            output = engine.receive(data)
        await self._linger(reader, writer)

    def _react(self, ws: Connection, message: _Message, check: EchoEngine) -> tuple[bytes, bool]:
        """Bytes to send for the pending events, and whether the connection is done.

        ``check`` has seen the same bytes; where wsproto would go on but the model
        already failed the connection (UTF-8 fail-fast, §8.1; an announced frame over
        the limit), the model's Close is sent.
        """
        out = bytearray()
        for event in ws.events():
            if isinstance(event, CloseConnection):
                out += self._answer_close(ws, event, check)
                return bytes(out), True
            if isinstance(event, Ping):
                out += ws.send(event.response())
            elif isinstance(event, TextMessage | BytesMessage):
                chunk = event.data
                message.size += len(chunk.encode() if isinstance(chunk, str) else chunk)
                if message.size > self.limits.max_message_bytes:
                    out += ws.send(CloseConnection(code=CLOSE_TOO_BIG, reason="message too big"))
                    return bytes(out), True
                message.parts.append(chunk if isinstance(chunk, str) else bytes(chunk))
                if event.message_finished:
                    out += ws.send(_whole(event, message.parts))
                    message.parts.clear()
                    message.size = 0
        if check.close_sent and not check.close_received:
            return bytes(out) + _close_frame(check), True
        return bytes(out), False

    @staticmethod
    def _answer_close(ws: Connection, event: CloseConnection, check: EchoEngine) -> bytes:
        """§5.5.1: answer a Close with a Close (its code, or 1000); fail with 1002/1007.

        Where the model judged the client's Close, its answer is sent: wsproto fails
        code 1014 (registered with IANA after RFC 6455, §7.4.1) and fails a reason that
        is not UTF-8 with 1007 where the model engine uses 1002 (§5.5.1, §8.1).
        """
        if ws.state is ConnectionState.REMOTE_CLOSING:
            code = CLOSE_NORMAL if event.code == CLOSE_NO_STATUS else event.code
            return ws.send(CloseConnection(code=code))
        if check.close_received and check.close_sent:
            return _close_frame(check)
        if ws.state is ConnectionState.OPEN:  # wsproto found a protocol error
            with contextlib.suppress(LocalProtocolError):
                return ws.send(CloseConnection(code=event.code, reason=event.reason))
        return b""

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        async with asyncio.timeout(self.limits.write_timeout):
            await writer.drain()

    async def _linger(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Close the TCP connection server-first (§7.1.1) without resetting unread data."""
        with contextlib.suppress(OSError, TimeoutError):
            if writer.can_write_eof():
                writer.write_eof()
                received = 0
                async with asyncio.timeout(self.limits.linger_timeout):
                    while received < LINGER_MAX_BYTES:
                        chunk = await reader.read(READ_CHUNK)
                        if not chunk:
                            break
                        received += len(chunk)
        await self._close(writer)

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        """Close gracefully, or abort if the peer will not take our last bytes."""
        writer.close()
        try:
            async with asyncio.timeout(self.limits.linger_timeout):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            writer.transport.abort()


def _close_frame(check: EchoEngine) -> bytes:
    """The Close the model sent, as an unmasked server frame (§5.1, §5.5.1)."""
    return encode_frame(Frame(Opcode.CLOSE, check.sent_close or b""))


def _whole(event: TextMessage | BytesMessage, parts: list[str | bytes]) -> Event:
    if isinstance(event, TextMessage):
        return TextMessage(data="".join(p for p in parts if isinstance(p, str)))
    return BytesMessage(data=b"".join(p for p in parts if isinstance(p, bytes)))


async def serve_forever(start: Callable[[], Awaitable[LoopbackServer]]) -> None:
    """Start a server, print ``listening on URL``, and run until SIGINT or SIGTERM."""
    server = await start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"listening on {server.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.close()


def add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    """``--host``, ``--port``, ``--cert``, ``--key``."""
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--cert", help="PEM certificate chain: serve wss://")
    parser.add_argument("--key", help="PEM private key for --cert")


def tls_context(parser: argparse.ArgumentParser, args: argparse.Namespace) -> SSLContext | None:
    """The server TLS context for ``--cert``/``--key``, or None."""
    if (args.cert is None) != (args.key is None):
        parser.error("--cert and --key go together")
    if args.cert is None:
        return None
    context = create_default_context(Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    return context


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.reference_server",
        description="Run the RFC 6455 reference echo server in the foreground.",
    )
    add_listen_arguments(parser)
    parser.add_argument(
        "--engine", choices=ENGINES, default="wsproto", help="echo engine (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    context = tls_context(parser, args)
    asyncio.run(
        serve_forever(
            lambda: start_reference_server(args.host, args.port, context, engine=args.engine)
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
