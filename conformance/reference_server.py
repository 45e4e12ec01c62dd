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

Every rule lives in one overridable hook of :class:`ServerBehaviour`, so
:mod:`fixtures.fault_server` can break exactly one rule at a time.

Run in the foreground with ``python -m conformance.reference_server --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import hashlib
import http
import logging
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from ssl import Purpose, SSLContext, create_default_context
from types import TracebackType
from typing import Final, Literal, Self, get_args
from urllib.parse import urlsplit

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

from conformance.echo_engine import EchoEngine, WirePolicy
from conformance.model.codec import encode_frame
from conformance.model.constants import Opcode
from conformance.model.frames import Frame

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # §1.3, §4.2.2 step 5.4
WS_VERSION = "13"  # §4.2.1 item 6
KEY_LENGTH = 16  # §4.2.1 item 5: the key decodes to 16 bytes
DEFAULT_SUBPROTOCOLS = ("chat", "superchat", "echo")

MAX_HEADER_BYTES = 16 * 1024
HANDSHAKE_TIMEOUT = 10.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
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

# Header field names (compared ASCII case-insensitively, RFC 2616 §4.2).
HOST = "Host"
UPGRADE = "Upgrade"
CONNECTION = "Connection"
ORIGIN = "Origin"
SEC_KEY = "Sec-WebSocket-Key"
SEC_VERSION = "Sec-WebSocket-Version"
SEC_PROTOCOL = "Sec-WebSocket-Protocol"
SEC_EXTENSIONS = "Sec-WebSocket-Extensions"
SEC_ACCEPT = "Sec-WebSocket-Accept"

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 2616 §2.2 token
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')  # RFC 2616 §2.2 quoted-string
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only: the RFC's "ASCII case-insensitive" (§2.1)."""
    return text.translate(_ASCII_LOWER)


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for ``key``: base64(SHA-1(key + GUID)) (§4.2.2 step 5.4)."""
    digest = hashlib.sha1((key + WS_GUID).encode("latin-1")).digest()
    return base64.b64encode(digest).decode("ascii")


def decode_key(value: str) -> bytes | None:
    """Strictly base64-decode a ``Sec-WebSocket-Key`` (RFC 4648 §4), or None."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def split_list(values: Iterable[str]) -> list[str]:
    """Elements of a ``#rule`` list spread over header lines; empty ones dropped (RFC 2616 §2.1)."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def is_token(text: str) -> bool:
    """True if ``text`` is an RFC 2616 ``token``."""
    return _TOKEN.fullmatch(text) is not None


def is_extension_list(value: str) -> bool:
    """True if ``value`` matches ``extension-list`` (§4.3, §9.1)."""
    elements = split_list([value])
    return bool(elements) and all(_is_extension(element) for element in elements)


def _is_extension(element: str) -> bool:
    name, *params = (part.strip() for part in element.split(";"))
    if not is_token(name):
        return False
    for param in params:
        key, eq, val = (part.strip() for part in param.partition("="))
        if not is_token(key):
            return False
        if eq and not (is_token(val) or _is_quoted_token(val)):
            return False
    return True


def _is_quoted_token(text: str) -> bool:
    match = _QUOTED.fullmatch(text)
    return match is not None and is_token(re.sub(r"\\(.)", r"\1", match.group(1)))


@dataclass(frozen=True, slots=True)
class HandshakeRequest:
    """The client's opening handshake as received (§4.2.1), header lines in order."""

    method: str
    target: str
    http_version: str
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def from_h11(cls, event: h11.Request) -> HandshakeRequest:
        return cls(
            method=event.method.decode("latin-1"),
            target=event.target.decode("latin-1"),
            http_version=event.http_version.decode("latin-1"),
            headers=tuple(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in event.headers.raw_items()
            ),
        )

    def values(self, name: str) -> list[str]:
        """Values of every line of header ``name``."""
        wanted = ascii_lower(name)
        return [value for key, value in self.headers if ascii_lower(key) == wanted]

    def tokens(self, name: str) -> list[str]:
        """Comma-separated elements of ``name`` over all its lines (RFC 2616 §4.2)."""
        return split_list(self.values(name))

    def without(self, name: str) -> HandshakeRequest:
        """A copy without header ``name``."""
        wanted = ascii_lower(name)
        kept = tuple((key, value) for key, value in self.headers if ascii_lower(key) != wanted)
        return replace(self, headers=kept)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A complete request head and the bytes that followed it (WebSocket frames)."""

    request: HandshakeRequest
    trailing: bytes


@dataclass(frozen=True, slots=True)
class Refusal:
    """An HTTP error answer to a bad handshake (§4.2.1: "appropriate error code")."""

    status: int
    detail: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Bounds on everything a peer can make the server wait for or buffer."""

    max_header_bytes: int = MAX_HEADER_BYTES
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    max_message_bytes: int = MAX_MESSAGE_BYTES
    idle_timeout: float | None = IDLE_TIMEOUT
    write_timeout: float = WRITE_TIMEOUT
    linger_timeout: float = LINGER_TIMEOUT


def parse_request_bytes(data: bytes) -> ParsedRequest | None:
    """Parse a request head from ``data`` with h11; None if it is incomplete.

    Raises :class:`h11.RemoteProtocolError` on malformed input.
    """
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=len(data) + 1)
    conn.receive_data(data)
    event = conn.next_event()
    if not isinstance(event, h11.Request):
        return None
    return ParsedRequest(HandshakeRequest.from_h11(event), conn.trailing_data[0])


def render_response(status: int, headers: Sequence[tuple[str, str]], body: bytes = b"") -> bytes:
    """Serialize an HTTP/1.1 response head (and body) exactly as given."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


Check = Callable[[HandshakeRequest], Refusal | None]


class ServerBehaviour:
    """The server side of the opening handshake, one hook per rule (§4.2.1, §4.2.2).

    The defaults are correct; :mod:`fixtures.fault_server` overrides one hook to
    break exactly one rule.
    """

    max_request_reads: int | None = None
    """Reads the request head may take; None (correct) waits for it however it is cut."""

    def __init__(self, subprotocols: Sequence[str] = DEFAULT_SUBPROTOCOLS) -> None:
        self.subprotocols = tuple(subprotocols)

    # -- reading the client's handshake (§4.2.1) --------------------------------

    def on_parse_error(self, raw: bytes, error: h11.RemoteProtocolError) -> Refusal | ParsedRequest:
        """Answer a request h11 cannot parse (malformed, too large, no Host on 1.1)."""
        return Refusal(error.error_status_hint, f"malformed HTTP request: {error}")

    def checks(self) -> tuple[Check, ...]:
        """The §4.2.1 rules, in the order they are checked."""
        return (
            self.check_method,
            self.check_http_version,
            self.check_host,
            self.check_target,
            self.check_body,
            self.check_upgrade,
            self.check_connection,
            self.check_version,
            self.check_key,
            self.check_subprotocols,
            self.check_extensions,
            self.check_origin,
            self.check_other_headers,
        )

    def validate_request(self, request: HandshakeRequest) -> Refusal | None:
        """The first broken rule as a refusal, or None to accept."""
        for check in self.checks():
            refusal = check(request)
            if refusal is not None:
                return refusal
        return None

    def check_method(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 1: a GET request."""
        if request.method == "GET":
            return None
        return Refusal(405, f"method {request.method} is not GET (§4.2.1)", (("Allow", "GET"),))

    def check_http_version(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 1: HTTP/1.1 or higher (1.x; 2+ has no such request line)."""
        major, _, minor = request.http_version.partition(".")
        if major != "1":
            return Refusal(505, f"HTTP/{request.http_version} is not supported")
        if int(minor or "0") < 1:
            return Refusal(400, f"HTTP/{request.http_version} is below 1.1 (§4.2.1)")
        return None

    def check_host(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 2: exactly one non-empty Host header field."""
        hosts = request.values(HOST)
        if len(hosts) != 1 or not hosts[0]:
            return Refusal(400, f"need exactly one non-empty Host, got {hosts!r} (§4.2.1)")
        return None

    def check_target(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 1: a resource name or an absolute http/https URI, no fragment."""
        target = request.target
        if "#" not in target:
            if target.startswith("/"):
                return None
            parts = urlsplit(target)
            if ascii_lower(parts.scheme) in {"http", "https"} and parts.netloc:
                return None
        return Refusal(400, f"request target {target!r} is not a resource name (§4.2.1)")

    def check_body(self, request: HandshakeRequest) -> Refusal | None:
        """A GET upgrade request carries no body; bytes after the head are frames."""
        lengths = request.values("Content-Length")
        if request.values("Transfer-Encoding") or any(v != "0" for v in lengths):
            return Refusal(400, "an opening handshake has no request body")
        return None

    def check_upgrade(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 3: Upgrade includes "websocket", ASCII case-insensitively."""
        if not request.values(UPGRADE):
            return Refusal(400, "missing Upgrade header field (§4.2.1)")
        if "websocket" not in (ascii_lower(t) for t in request.tokens(UPGRADE)):
            return Refusal(400, "Upgrade does not include websocket (§4.2.1)")
        return None

    def check_connection(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 4: Connection includes the token "Upgrade", case-insensitively."""
        if not request.values(CONNECTION):
            return Refusal(400, "missing Connection header field (§4.2.1)")
        if "upgrade" not in (ascii_lower(t) for t in request.tokens(CONNECTION)):
            return Refusal(400, "Connection does not include Upgrade (§4.2.1)")
        return None

    def check_version(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 6, §4.2.2 step 4 /version/, §4.4: 426 advertising version 13."""
        versions = request.values(SEC_VERSION)
        if versions == [WS_VERSION]:
            return None
        return Refusal(
            426,
            f"Sec-WebSocket-Version {versions!r} is not exactly 13 (§4.2.2, §4.4)",
            ((SEC_VERSION, WS_VERSION), (UPGRADE, "websocket"), (CONNECTION, "Upgrade, close")),
        )

    def check_key(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 5: one Sec-WebSocket-Key that base64-decodes to 16 bytes."""
        keys = request.values(SEC_KEY)
        if len(keys) != 1:
            return Refusal(400, f"need exactly one Sec-WebSocket-Key, got {len(keys)} (§4.2.1)")
        decoded = decode_key(keys[0])
        if decoded is None:
            return Refusal(400, "Sec-WebSocket-Key is not base64 (§4.2.1)")
        if len(decoded) != KEY_LENGTH:
            return Refusal(400, f"Sec-WebSocket-Key decodes to {len(decoded)} bytes (§4.2.1)")
        return None

    def check_subprotocols(self, request: HandshakeRequest) -> Refusal | None:
        """§4.1 item 10, §4.3: Sec-WebSocket-Protocol is ``1#token``."""
        values = request.values(SEC_PROTOCOL)
        offered = split_list(values)
        if values and (not offered or not all(is_token(p) for p in offered)):
            return Refusal(400, f"Sec-WebSocket-Protocol {values!r} is not 1#token (§4.3)")
        return None

    def check_extensions(self, request: HandshakeRequest) -> Refusal | None:
        """§4.3, §9.1: Sec-WebSocket-Extensions matches ``extension-list``."""
        values = request.values(SEC_EXTENSIONS)
        if all(is_extension_list(value) for value in values):
            return None
        return Refusal(400, f"Sec-WebSocket-Extensions {values!r} is malformed (§9.1)")

    def check_origin(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 7: Origin is optional; this server accepts any origin."""
        return None

    def check_other_headers(self, request: HandshakeRequest) -> Refusal | None:
        """§4.2.1 item 10: unknown header fields are ignored."""
        return None

    # -- sending the server's handshake (§4.2.2) -------------------------------

    def select_subprotocol(self, offered: Sequence[str]) -> str | None:
        """§4.2.2 step 4 /subprotocol/: the client's first supported choice, or null."""
        return next((p for p in offered if p in self.subprotocols), None)

    def accept_value(self, request: HandshakeRequest) -> str:
        """§4.2.2 step 5.4: the accept value, computed from the key as sent."""
        keys = request.values(SEC_KEY)
        return accept_key(keys[0] if keys else "")

    def build_accept_headers(
        self, request: HandshakeRequest, subprotocol: str | None
    ) -> list[tuple[str, str]]:
        """§4.2.2 step 5: the 101's header fields; never Sec-WebSocket-Extensions."""
        headers = [
            (UPGRADE, "websocket"),
            (CONNECTION, "Upgrade"),
            (SEC_ACCEPT, self.accept_value(request)),
        ]
        if subprotocol is not None:
            headers.append((SEC_PROTOCOL, subprotocol))
        return headers

    def render_accept(self, headers: Sequence[tuple[str, str]]) -> bytes:
        """§4.2.2 step 5.1: ``HTTP/1.1 101 Switching Protocols``."""
        return render_response(101, headers)

    def render_refusal(self, refusal: Refusal) -> bytes | None:
        """An error response with ``Connection: close``; None drops the connection."""
        body = f"{refusal.detail}\n".encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *refusal.headers,
        ]
        if not any(ascii_lower(name) == "connection" for name, _ in refusal.headers):
            headers.append((CONNECTION, "close"))
        return render_response(refusal.status, headers, body)


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
                trailing = await self._handshake(reader, writer)
        except TimeoutError:
            log.debug("opening handshake deadline passed")
            await self._close(writer)
            return
        if trailing is None:
            await self._linger(reader, writer)
            return
        if self.engine == "model":
            await self._echo_model(reader, writer, trailing)
        else:
            await self._echo(reader, writer, trailing)

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bytes | None:
        """Answer the opening handshake; the bytes after it if accepted, else None."""
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
                await self._send(writer, self.behaviour.render_accept(headers))
                return outcome.trailing
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
                return ParsedRequest(HandshakeRequest.from_h11(event), conn.trailing_data[0])
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
        check = EchoEngine(max_message=self.limits.max_message_bytes)
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
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, trailing: bytes
    ) -> None:
        """Echo with the suite's own :class:`EchoEngine` under ``wire_policy`` (§5, §7, §8)."""
        engine = EchoEngine(self.wire_policy, max_message=self.limits.max_message_bytes)
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
