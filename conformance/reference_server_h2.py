"""The reference server over HTTP/2 (h2c with prior knowledge, or TLS with ALPN ``h2``):
WebSockets by RFC 8441.

It announces SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3), answers an extended
CONNECT with ``:protocol websocket`` and ``sec-websocket-version: 13`` with ``:status
200`` (§4, §5), and then echoes on that stream with the suite's model engine
(:class:`~conformance.echo_engine.EchoEngine`, under a
:class:`~conformance.echo_engine.WirePolicy` that :mod:`fixtures.wire_faults` can break),
exactly as the HTTP/1.1 reference server does after its 101: the stream's DATA in, the
engine's output out as DATA, and where that server would close TCP this one ends the
stream (END_STREAM; RFC 8441 §5 maps the TCP connection to the stream). A client's
END_STREAM is its TCP close.

Refused: another ``:protocol`` (501, as RFC 9220 §3 asks of HTTP/3), a plain CONNECT or
any other method (405), a missing or other WebSocket version (400 with
``sec-websocket-version: 13``, RFC 6455 §4.2.2 via RFC 8441 §5). Bounded as the HTTP/1.1
server: header list size, the time to the first request, message size and fragments,
idle time, writes; buffered bytes by the flow-control windows (a stream's DATA is
acknowledged only as the engine takes it, and not while its echo waits for the client's
window). h2 does every HTTP/2 frame.

Run in the foreground with ``python -m conformance.reference_server_h2 --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from ssl import SSLContext
from typing import Final

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    RequestReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import H2Error
from h2.settings import SettingCodes, Settings

from conformance.echo_engine import EchoEngine, EngineOutput, WirePolicy
from conformance.reference_server import (
    DEFAULT_HOST,
    READ_CHUNK,
    LoopbackServer,
    ServerLimits,
    add_listen_arguments,
    serve_forever,
    tls_context,
)
from conformance.transports.h2 import offer_h2

log = logging.getLogger(__name__)

WEBSOCKET: Final = b"websocket"
WEBSOCKET_VERSION: Final = b"13"
ACCEPTED: Final = 200
BAD_REQUEST: Final = 400
METHOD_NOT_ALLOWED: Final = 405
NOT_IMPLEMENTED: Final = 501
"""RFC 9220 §3: a ``:protocol`` the server does not support SHOULD get 501."""
DEFAULT_WINDOW: Final = 65_535
RECEIVE_WINDOW: Final = 1 << 20
"""The flow-control window the server grants each stream and the connection."""
MAX_STREAMS: Final = 100
OUTBOX_HIGH: Final = 1 << 20
"""Bytes of echo waiting for the client's window above which a stream's input waits."""


@dataclass(slots=True)
class _Stream:
    """One accepted WebSocket: its engine, its unread input and its unsent output."""

    engine: EchoEngine
    inbox: deque[tuple[bytes, int]] = field(default_factory=deque)
    outbox: bytearray = field(default_factory=bytearray)
    client_ended: bool = False
    eof_fed: bool = False
    end_after: bool = False
    """The engine closed its side (where TCP would close): END_STREAM once sent."""


def answer(headers: Sequence[tuple[bytes, bytes]]) -> tuple[int, list[tuple[bytes, bytes]]]:
    """The status of a request (200: an accepted WebSocket) and the fields to send with it."""
    fields: dict[bytes, bytes] = {}
    for name, value in headers:
        fields.setdefault(name, value)
    method, protocol = fields.get(b":method"), fields.get(b":protocol")
    if method != b"CONNECT" or protocol is None:
        return METHOD_NOT_ALLOWED, [(b"allow", b"CONNECT")]
    if protocol != WEBSOCKET:
        return NOT_IMPLEMENTED, []
    if fields.get(b"sec-websocket-version") != WEBSOCKET_VERSION:
        return BAD_REQUEST, [(b"sec-websocket-version", WEBSOCKET_VERSION)]
    return ACCEPTED, []


class H2Policy:
    """What the server does at each RFC 8441 step; :mod:`fixtures.h2_faults` breaks one a
    fault. The defaults are the reference behaviour."""

    validate_inbound_headers: bool = True
    """h2 treats a malformed request (RFC 9113 §8.1.1: no :path or :scheme, a
    connection-specific field) as an error instead of handing it over."""
    ends_connection: bool = False
    """Close the whole connection (GOAWAY) where a WebSocket's TCP close is due, instead
    of ending its stream (RFC 8441 §5)."""

    def settings(self, limits: ServerLimits) -> dict[SettingCodes, int]:
        """The server's SETTINGS: SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3)."""
        return {
            SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
            SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS,
            SettingCodes.INITIAL_WINDOW_SIZE: RECEIVE_WINDOW,
            SettingCodes.MAX_HEADER_LIST_SIZE: limits.max_header_bytes,
        }

    def preface(self, data: bytes) -> bytes:
        """The bytes of the connection preface h2 wrote (its SETTINGS), as sent."""
        return data

    def answer(
        self, headers: Sequence[tuple[bytes, bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]]]:
        """The status of a request and its fields (:func:`answer`)."""
        return answer(headers)


REFERENCE_POLICY: Final = H2Policy()


class _Connection:
    """One HTTP/2 connection: its WebSocket streams, echoed each by its own engine."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: ServerLimits,
        policy: WirePolicy | None,
        h2_policy: H2Policy = REFERENCE_POLICY,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.limits = limits
        self.policy = policy
        self.h2_policy = h2_policy
        self.h2 = H2Connection(
            H2Configuration(
                client_side=False,
                header_encoding=None,
                validate_inbound_headers=h2_policy.validate_inbound_headers,
            )
        )
        self.streams: dict[int, _Stream] = {}
        self.accepted = False
        self.over = False

    async def run(self) -> None:
        h2 = self.h2
        h2.local_settings = Settings(
            client=False, initial_values=self.h2_policy.settings(self.limits)
        )
        h2.initiate_connection()
        h2.increment_flow_control_window(RECEIVE_WINDOW - DEFAULT_WINDOW)
        self.writer.write(self.h2_policy.preface(h2.data_to_send()))
        await self._flush()
        while not self.over:
            wait = self.limits.idle_timeout if self.accepted else self.limits.handshake_timeout
            try:
                async with asyncio.timeout(wait):
                    data = await self.reader.read(READ_CHUNK)
            except TimeoutError:
                log.debug("no request or data in time: GOAWAY")
                h2.close_connection()
                break
            if not data:
                break
            try:
                events = h2.receive_data(data)
            except H2Error as exc:  # h2 has queued the GOAWAY
                log.debug("HTTP/2 error from the client: %r", exc)
                break
            for event in events:
                self._on_event(event)
            for stream_id in list(self.streams):
                self._service(stream_id)
            await self._flush()
        with contextlib.suppress(OSError, TimeoutError):
            await self._flush()
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(self.limits.linger_timeout):
                await self.writer.wait_closed()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, RequestReceived) and event.stream_id is not None:
            self._request(event.stream_id, list(event.headers or []))
        elif isinstance(event, DataReceived) and event.stream_id is not None:
            owed = event.flow_controlled_length or 0
            stream = self.streams.get(event.stream_id)
            if stream is not None and event.data:
                stream.inbox.append((event.data, owed))
            else:
                self._acknowledge(owed, event.stream_id)
        elif isinstance(event, StreamEnded) and event.stream_id in self.streams:
            self.streams[event.stream_id].client_ended = True
        elif isinstance(event, StreamReset):
            self.streams.pop(event.stream_id or 0, None)
        elif isinstance(event, ConnectionTerminated):
            self.over = True

    def _request(self, stream_id: int, headers: list[tuple[bytes, bytes]]) -> None:
        status, fields = self.h2_policy.answer(headers)
        accepted = status == ACCEPTED
        self.h2.send_headers(
            stream_id, [(b":status", str(status).encode()), *fields], end_stream=not accepted
        )
        if accepted:
            self.accepted = True
            self.streams[stream_id] = _Stream(
                EchoEngine(
                    self.policy,
                    max_message=self.limits.max_message_bytes,
                    max_fragments=self.limits.max_fragments,
                )
            )
        else:
            log.debug("refused stream %d with %d", stream_id, status)

    def _service(self, stream_id: int) -> None:
        """Feed the engine the stream's input while its echo is not held up, send what
        the client's window takes, end the stream once the engine closed and all is sent."""
        stream = self.streams[stream_id]
        while stream.inbox and len(stream.outbox) < OUTBOX_HIGH:
            data, owed = stream.inbox.popleft()
            self._acknowledge(owed, stream_id)
            self._queue(stream, stream.engine.receive(data))
        if stream.client_ended and not stream.inbox and not stream.eof_fed:
            stream.eof_fed = True  # the client's END_STREAM is its TCP close (§7.1.1)
            self._queue(stream, stream.engine.receive_eof())
        try:
            while stream.outbox:
                window = self.h2.local_flow_control_window(stream_id)
                size = min(window, len(stream.outbox), self.h2.max_outbound_frame_size)
                if size <= 0:
                    return
                self.h2.send_data(stream_id, bytes(stream.outbox[:size]))
                del stream.outbox[:size]
            if stream.end_after:
                del self.streams[stream_id]
                if self.h2_policy.ends_connection:
                    self.h2.close_connection()
                    self.over = True
                else:
                    self.h2.end_stream(stream_id)
        except H2Error as exc:  # the client reset or closed the stream meanwhile
            log.debug("stream %d gone: %r", stream_id, exc)
            self.streams.pop(stream_id, None)

    @staticmethod
    def _queue(stream: _Stream, output: EngineOutput) -> None:
        if not stream.end_after:
            stream.outbox += output.send
            stream.end_after = output.close_transport

    def _acknowledge(self, size: int, stream_id: int) -> None:
        if size:
            with contextlib.suppress(H2Error):
                self.h2.acknowledge_received_data(size, stream_id)

    async def _flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)
            async with asyncio.timeout(self.limits.write_timeout):
                await self.writer.drain()


class H2ReferenceServer(LoopbackServer):
    """The h2c reference server; see :func:`start_h2_reference_server`."""

    limits: ServerLimits
    wire_policy: WirePolicy | None


async def start_h2_reference_server(
    host: str = DEFAULT_HOST,
    port: int = 0,
    ssl: SSLContext | None = None,
    *,
    limits: ServerLimits | None = None,
    wire_policy: WirePolicy | None = None,
    h2_policy: H2Policy = REFERENCE_POLICY,
) -> H2ReferenceServer:
    """Listen on ``host:port`` (0: any free port) for h2c, or over TLS with ``ssl`` (set to
    accept ALPN ``h2`` only); echo under ``wire_policy``; bootstrap under ``h2_policy``."""
    bounds = limits or ServerLimits()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _Connection(reader, writer, bounds, wire_policy, h2_policy).run()

    server = await H2ReferenceServer.start(
        handle,
        host,
        port,
        offer_h2(ssl) if ssl is not None else None,
        ssl_handshake_timeout=bounds.handshake_timeout,
    )
    server.limits = bounds
    server.wire_policy = wire_policy
    return server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.reference_server_h2",
        description="Run the reference echo server over HTTP/2 (RFC 8441) in the foreground: "
        "h2c, or TLS with ALPN h2 given --cert and --key.",
    )
    add_listen_arguments(parser)
    args = parser.parse_args(argv)
    context = tls_context(parser, args)
    asyncio.run(serve_forever(lambda: start_h2_reference_server(args.host, args.port, context)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
