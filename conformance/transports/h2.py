"""One WebSocket over one HTTP/2 stream, the client side (RFC 8441).

:meth:`H2StreamConnection.connect` opens TCP (cleartext with prior knowledge, RFC 9113
§3.3; or TLS that agreed to ``h2`` by ALPN, §3.2: the target's context must offer it,
see :func:`offer_h2`),
reads the server's SETTINGS and requires SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441
§3), then sends the extended CONNECT (§4: ``:protocol websocket`` with ``:scheme``,
``:path`` and ``:authority``; §5: ``sec-websocket-version: 13``, no Key) and keeps its
answer: ``:status 200`` is the accepted opening handshake (§5). After it the connection
offers the sessions what :class:`~conformance.driver.Connection` offers, the WebSocket
bytes carried as DATA on that one stream: the server's END_STREAM is its end of stream
(EOF, the FIN of HTTP/1.1), RST_STREAM (or the connection lost) a reset, and
:meth:`~H2StreamConnection.half_close` sends END_STREAM.

h2 does every HTTP/2 frame. One reader task feeds it; every wait of the session is
bounded by the case deadline, and memory by the flow-control window the suite
advertises: received bytes are acknowledged only as the session takes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    RemoteSettingsChanged,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import H2Error
from h2.settings import SettingCodes, Settings
from hyperframe.exceptions import HyperframeError, InvalidFrameError
from hyperframe.frame import Frame, SettingsFrame

from ..driver import (
    READ_SIZE,
    Connection,
    DeadlineExceeded,
    ResetLastReader,
    Target,
    Transcript,
    Unreachable,
    open_stream,
)
from ..model.observed import HttpResponse, TransportEnd

__all__ = [
    "ALPN_H2",
    "H2Probe",
    "H2StreamConnection",
    "ProbeStream",
    "connect_headers",
    "offer_h2",
]

ALPN_H2 = "h2"
"""The ALPN protocol id of HTTP/2 over TLS (RFC 9113 §3.2)."""

WEBSOCKET = b"websocket"
"""The ``:protocol`` of a WebSocket (RFC 8441 §4, §5)."""
WEBSOCKET_VERSION = b"13"
ACCEPTED = 200
"""The status of an accepted extended CONNECT (RFC 8441 §5)."""
DEFAULT_WINDOW = 65_535
"""The initial flow-control window of HTTP/2 (RFC 9113 §6.9.2)."""
RECEIVE_WINDOW = 1 << 20
"""Bytes the server may send before the session takes some: the bound on buffered data."""
MAX_HEADER_LIST = 16 * 1024
"""Bytes of header fields the suite accepts in the server's response (SETTINGS)."""
MAX_WRITE_BUFFER = 4 << 20
"""Bytes of the suite's writes left queued (answers to a peer's PINGs, SETTINGS) before a
peer that stopped reading is dropped."""
CONNECTION_SPECIFIC = frozenset(
    {b"connection", b"upgrade", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"host"}
)
"""Header fields HTTP/2 forbids or replaces (RFC 9113 §8.2.2; Host is ``:authority``):
left out of the extended CONNECT (RFC 8441 §5: no Connection or Upgrade)."""
HTTP1_HEAD = b"HTTP/1."
CLOSE_WAIT = 1.0
"""Seconds the probe waits for its TCP close to complete."""


async def open_h2_stream(
    target: Target, deadline: float
) -> tuple[ResetLastReader, asyncio.StreamWriter]:
    """TCP (or TLS agreeing to ``h2`` by ALPN) to ``target`` before ``deadline``;
    :class:`~conformance.driver.Unreachable` (one line) otherwise."""
    reader, writer = await open_stream(target, deadline)
    tls = writer.get_extra_info("ssl_object")
    agreed = tls.selected_alpn_protocol() if tls is not None else None
    if target.secure and agreed != ALPN_H2:
        writer.transport.abort()
        raise Unreachable(
            f"{target.host}:{target.port} did not agree to HTTP/2 by ALPN "
            f"(RFC 9113 §3.2; agreed: {agreed})"
        )
    return reader, writer


def offer_h2(context: ssl.SSLContext) -> ssl.SSLContext:
    """``context``, offering (or, for a server, accepting) only HTTP/2 by ALPN."""
    context.set_alpn_protocols([ALPN_H2])
    return context


def connect_headers(
    target: Target, extra: Iterable[tuple[bytes, bytes]] = ()
) -> list[tuple[bytes, bytes]]:
    """The extended CONNECT opening a WebSocket to ``target`` (RFC 8441 §4, §5), then
    ``extra`` (lower-cased; connection-specific fields left out)."""
    headers = [
        (b":method", b"CONNECT"),
        (b":protocol", WEBSOCKET),
        (b":scheme", b"https" if target.secure else b"http"),
        (b":path", target.resource),
        (b":authority", target.host_header),
        (b"sec-websocket-version", WEBSOCKET_VERSION),
    ]
    for name, value in extra:
        if name.lower() not in CONNECTION_SPECIFIC:
            headers.append((name.lower(), value))
    return headers


class H2StreamConnection(Connection):
    """A WebSocket on one HTTP/2 stream, seen as the byte stream a session drives.

    :attr:`response` is the answer to the extended CONNECT (None: none came) and
    :attr:`problem` says in one line why it is not an accepted handshake ("" when it
    is). The TCP reader and writer of the base class carry the HTTP/2 connection.
    """

    def __init__(
        self,
        reader: ResetLastReader,
        writer: asyncio.StreamWriter,
        deadline: float,
        transcript: Transcript,
        h2: H2Connection,
        where: str,
    ) -> None:
        super().__init__(reader, writer, deadline, transcript)
        self._tcp = reader
        self._h2 = h2
        self.where = where
        self.stream_id = 0
        self.response: HttpResponse | None = None
        self.problem = ""
        self._inbox: deque[tuple[bytes, int]] = deque()  # (data, flow-controlled bytes owed)
        self._settings = False
        self._remote_ended = False
        self._broken = ""  # why the stream can carry no more: RST_STREAM, GOAWAY, TCP lost
        self._local_ended = False
        self._head = b""
        self._changed = asyncio.Event()
        self._reading: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        target: Target,
        deadline: float,
        transcript: Transcript,
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> H2StreamConnection:
        """Open the HTTP/2 connection and send the extended CONNECT before ``deadline``.

        Raise :class:`~conformance.driver.Unreachable` (one line) when no connection
        opens, the server does not speak HTTP/2, or its SETTINGS do not enable the
        extended CONNECT (RFC 8441 §3). A refused or unanswered CONNECT is not raised:
        :attr:`problem` says it, for the session to judge.
        """
        where = f"{target.host}:{target.port}"
        reader, writer = await open_h2_stream(target, deadline)
        h2 = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        h2.local_settings = Settings(
            client=True,
            initial_values={
                SettingCodes.ENABLE_PUSH: 0,
                SettingCodes.INITIAL_WINDOW_SIZE: RECEIVE_WINDOW,
                SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST,
            },
        )
        h2.initiate_connection()
        h2.increment_flow_control_window(RECEIVE_WINDOW - DEFAULT_WINDOW)
        conn = cls(reader, writer, deadline, transcript, h2, where)
        conn._set_no_delay(True)
        conn._flush()
        conn._reading = asyncio.ensure_future(conn._read_loop())
        try:
            await conn._settings_checked()
        except Unreachable:
            conn.abort()
            raise
        await conn._request(headers, target)
        return conn

    async def _settings_checked(self) -> None:
        """The server's first SETTINGS, with SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (§3)."""
        try:
            await self._wait_for(lambda: self._settings or bool(self._broken), "")
        except DeadlineExceeded:
            raise Unreachable(
                f"{self.where} sent no HTTP/2 SETTINGS before the deadline "
                "(is it an HTTP/2 server? h2c is spoken with prior knowledge)"
            ) from None
        if not self._settings:
            if self._head.startswith(HTTP1_HEAD):
                raise Unreachable(f"{self.where} answered in HTTP/1.1, not HTTP/2 (no h2c)")
            raise Unreachable(f"{self.where} did not open HTTP/2: {self._broken}")
        enabled = self._h2.remote_settings.get(SettingCodes.ENABLE_CONNECT_PROTOCOL, 0)
        if enabled != 1:
            raise Unreachable(
                f"{self.where} does not offer WebSockets over HTTP/2: its SETTINGS lack "
                f"SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3; got {enabled})"
            )

    async def _request(self, headers: Iterable[tuple[bytes, bytes]], target: Target) -> None:
        """Send the extended CONNECT and wait for its final response (or the stream's end)."""
        self.stream_id = self._h2.get_next_available_stream_id()
        self._h2.send_headers(self.stream_id, connect_headers(target, headers))
        self._flush()
        try:
            await self._wait_for(
                lambda: self.response is not None or self._over, "no answer to the CONNECT"
            )
        except DeadlineExceeded:
            self.problem = "no response to the extended CONNECT before the deadline"
            return
        if self.response is None:
            self.problem = (
                f"no response to the extended CONNECT: {self._broken or 'the stream ended'}"
            )
        elif self.response.status != ACCEPTED:
            self.problem = (
                f"the extended CONNECT got :status {self.response.status}, not {ACCEPTED} "
                "(RFC 8441 §5)"
            )

    # -- the reader task ----------------------------------------------------------

    @property
    def _over(self) -> bool:
        """Nothing more can arrive on the stream."""
        return self._remote_ended or bool(self._broken)

    async def _read_loop(self) -> None:
        """Feed h2 what the server sends, until TCP ends or h2 finds an error."""
        try:
            while not self._broken:
                data = await self._tcp.read(READ_SIZE)
                if not data:
                    broken = self._tcp.broken
                    self._break(
                        f"the connection was reset ({type(broken).__name__})"
                        if broken
                        else "the server closed the connection"
                    )
                    break
                if not self._head:
                    self._head = data[: len(HTTP1_HEAD)]
                try:
                    events = self._h2.receive_data(data)
                except H2Error as exc:
                    self._break(f"HTTP/2 error: {type(exc).__name__}: {exc}")
                    events = []
                for event in events:
                    self._on_event(event)
                self._flush()
                self._changed.set()
        finally:
            self._changed.set()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, RemoteSettingsChanged):
            self._settings = True
        elif isinstance(event, DataReceived):
            owed = event.flow_controlled_length or 0
            if event.stream_id == self.stream_id and event.data:
                self._inbox.append((event.data, owed))
            elif owed:
                self._acknowledge(owed, event.stream_id)
        elif isinstance(event, ResponseReceived) and event.stream_id == self.stream_id:
            self.response = _response(event.headers or [])
        elif isinstance(event, StreamEnded) and event.stream_id == self.stream_id:
            self._remote_ended = True
        elif isinstance(event, StreamReset) and event.stream_id == self.stream_id:
            self._break(f"the server reset the stream (RST_STREAM {_code_name(event.error_code)})")
        elif isinstance(event, ConnectionTerminated):
            last = event.last_stream_id if event.last_stream_id is not None else 0
            if event.error_code != ErrorCodes.NO_ERROR or last < self.stream_id:
                self._break(f"the server sent GOAWAY ({_code_name(event.error_code)})")

    def _break(self, reason: str) -> None:
        self._broken = self._broken or reason

    def _acknowledge(self, size: int, stream_id: int) -> None:
        with contextlib.suppress(H2Error):
            self._h2.acknowledge_received_data(size, stream_id)

    def _flush(self) -> None:
        """Hand what h2 has to send to TCP; drop a peer that stopped reading it."""
        data = self._h2.data_to_send()
        transport = self._writer.transport
        if not data or transport.is_closing():
            return
        self._writer.write(data)
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self._break("the server stopped reading")
            transport.abort()

    async def _wait_for(self, ready: Callable[[], bool], what: str) -> None:
        """Until ``ready()``; DeadlineExceeded (saying ``what``) if the deadline comes first."""
        try:
            async with asyncio.timeout_at(self.deadline):
                while not ready():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise DeadlineExceeded(what) from None

    # -- the interface of driver.Connection ---------------------------------------

    async def send(self, data: bytes, *, chunk: int | None = None) -> None:
        """Write ``data`` as DATA on the stream (``chunk`` bytes a frame if given), as the
        flow-control windows allow; a stream the server ended or reset ends it silently."""
        if self._local_ended or not self.stream_id:
            return
        step = chunk or len(data) or 1
        try:
            for start in range(0, len(data), step):
                await self._send_piece(data[start : start + step])
            async with asyncio.timeout_at(self.deadline):
                await self._writer.drain()
        except TimeoutError:
            raise DeadlineExceeded("the peer stopped reading") from None
        except (ConnectionError, OSError, H2Error):
            pass

    async def _send_piece(self, piece: bytes) -> None:
        """One piece of the suite's bytes, in as many DATA frames as the windows need."""
        while piece and not self._broken:
            window = self._h2.local_flow_control_window(self.stream_id)
            size = min(window, len(piece), self._h2.max_outbound_frame_size)
            if size <= 0:
                await self._wait_for(
                    lambda: (
                        bool(self._broken) or self._h2.local_flow_control_window(self.stream_id) > 0
                    ),
                    "the peer stopped reading",
                )
                continue
            self._h2.send_data(self.stream_id, piece[:size])
            self.transcript.record_sent(piece[:size])
            piece = piece[size:]
            self._flush()
            async with asyncio.timeout_at(self.deadline):
                await self._writer.drain()

    async def receive(self, max_bytes: int = READ_SIZE) -> bytes:
        """The server's next WebSocket bytes; ``b""`` once the stream ended (END_STREAM: EOF)
        or broke (RST_STREAM, GOAWAY, TCP lost: RESET), after every byte that came before."""
        if self.end is not TransportEnd.OPEN:
            return b""
        if asyncio.get_running_loop().time() >= self.deadline:
            raise DeadlineExceeded("the deadline passed while the peer kept sending")
        await asyncio.sleep(0)
        await self._wait_for(
            lambda: bool(self._inbox) or self._over, "no data from the peer before the deadline"
        )
        if not self._inbox:
            self.end = TransportEnd.EOF if self._remote_ended else TransportEnd.RESET
            return b""
        data, owed = self._inbox.popleft()
        if len(data) > max_bytes:
            self._inbox.appendleft((data[max_bytes:], owed - max_bytes))
            data, owed = data[:max_bytes], max_bytes
        self._acknowledge(owed, self.stream_id)
        self._flush()
        self.transcript.record_received(data)
        return data

    def half_close(self) -> None:
        """END_STREAM: the suite sends nothing more on the stream and keeps reading."""
        if self._local_ended or not self.stream_id or self._broken:
            return
        self._local_ended = True
        with contextlib.suppress(H2Error):
            self._h2.end_stream(self.stream_id)
        self._flush()

    def abort(self) -> None:
        """RST_STREAM (CANCEL) and drop the TCP connection at once."""
        if self.end is TransportEnd.OPEN:
            self.end = TransportEnd.CLOSED_BY_US
        if self.stream_id and not self._broken:
            with contextlib.suppress(H2Error):
                self._h2.reset_stream(self.stream_id, ErrorCodes.CANCEL)
            self._flush()
        self._break("closed by the suite")
        if self._reading is not None:
            self._reading.cancel()
        with contextlib.suppress(AttributeError):
            self._writer.transport.abort()

    async def close(self) -> None:
        """GOAWAY, then close TCP, waiting at most a moment."""
        if self.end is TransportEnd.OPEN:
            self.end = TransportEnd.CLOSED_BY_US
        if not self._writer.transport.is_closing():
            with contextlib.suppress(H2Error):
                self._h2.close_connection()
            self._flush()
        self._break("closed by the suite")
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)
        await super().close()


def _response(headers: Iterable[tuple[bytes | str, bytes | str]]) -> HttpResponse:
    """The CONNECT's response as the sessions read an answer: ``:status``, the fields."""
    status = 0
    fields: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        raw_name = name.encode("latin-1") if isinstance(name, str) else name
        raw_value = value.encode("latin-1") if isinstance(value, str) else value
        if raw_name == b":status":
            status = int(raw_value) if raw_value.isdigit() else 0
        elif not raw_name.startswith(b":"):
            fields.append((raw_name, raw_value))
    return HttpResponse(status, b"", b"2", tuple(fields))


def _code_name(code: int | None) -> str:
    """An HTTP/2 error code by name (RFC 9113 §7)."""
    if code is None:
        return "no code"
    try:
        return ErrorCodes(code).name
    except ValueError:
        return f"0x{code:x}"


# -- the probe: one HTTP/2 connection driven stream by stream (RFC 8441 §3-§5) ----------

PROBE_DATA_LIMIT = 1 << 16
"""Bytes of DATA the probe keeps a stream (the bootstrapping cases exchange a few frames);
more is acknowledged and dropped, and :attr:`ProbeStream.overflow` says so."""
FRAME_HEADER = 9
"""Bytes of an HTTP/2 frame header (RFC 9113 §4.1)."""
FIRST_FRAME_LIMIT = 16_384
"""The largest frame a server may send before the client's SETTINGS are acknowledged:
SETTINGS_MAX_FRAME_SIZE's initial value (RFC 9113 §4.2, §6.5.2)."""


@dataclass(slots=True)
class ProbeStream:
    """What the server did on one stream the probe opened."""

    response: HttpResponse | None = None
    data: bytearray = field(default_factory=bytearray)
    ended: bool = False
    """The server's END_STREAM (RFC 8441 §5: the orderly close of the "TCP connection")."""
    reset: int | None = None
    """The error code of the server's RST_STREAM, if it reset the stream."""
    overflow: bool = False

    @property
    def over(self) -> bool:
        return self.ended or self.reset is not None


class H2Probe:
    """One HTTP/2 connection a bootstrapping case drives stream by stream.

    Unlike :class:`H2StreamConnection` it sends nothing but the preface until asked, keeps
    the server's first SETTINGS as sent (:attr:`first_settings`, read with hyperframe
    before h2 validates them: a value h2 refuses is still seen) and sends any request
    headers, malformed ones included (h2's outbound validation is off). Every wait is
    bounded by ``deadline``; the DATA kept is bounded by :data:`PROBE_DATA_LIMIT` a stream.
    """

    def __init__(
        self,
        reader: ResetLastReader,
        writer: asyncio.StreamWriter,
        h2: H2Connection,
        deadline: float,
        transcript: Transcript,
        where: str,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._h2 = h2
        self.deadline = deadline
        self.transcript = transcript
        self.where = where
        self.first_settings: dict[int, int] | None = None
        self.streams: dict[int, ProbeStream] = {}
        self.goaway: int | None = None
        """The error code of the server's GOAWAY, if it sent one."""
        self.lost = ""
        """Why the connection can carry nothing more ("" while it can)."""
        self._last_stream = 0
        self._head = bytearray()
        self._changed = asyncio.Event()
        self._reading: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, target: Target, deadline: float, transcript: Transcript) -> H2Probe:
        """Open TCP (or TLS agreeing to ``h2``), send the preface and wait for the server's
        first SETTINGS; :class:`~conformance.driver.Unreachable` if none comes."""
        where = f"{target.host}:{target.port}"
        reader, writer = await open_h2_stream(target, deadline)
        config = H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        h2 = H2Connection(config)
        h2.local_settings = Settings(
            client=True,
            initial_values={
                SettingCodes.ENABLE_PUSH: 0,
                SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST,
            },
        )
        h2.initiate_connection()
        probe = cls(reader, writer, h2, deadline, transcript, where)
        probe._flush()
        probe._reading = asyncio.ensure_future(probe._read_loop())
        try:
            await probe.wait_until(lambda: probe.first_settings is not None or bool(probe.lost))
        except DeadlineExceeded:
            await probe.close()
            raise Unreachable(f"{where} sent no HTTP/2 SETTINGS before the deadline") from None
        if probe.first_settings is None:
            await probe.close()
            raise Unreachable(f"{where} did not open HTTP/2: {probe.lost}")
        return probe

    @property
    def connect_protocol(self) -> int | None:
        """SETTINGS_ENABLE_CONNECT_PROTOCOL in the server's first SETTINGS (None: absent)."""
        settings = self.first_settings or {}
        return settings.get(SettingCodes.ENABLE_CONNECT_PROTOCOL)

    def request(self, headers: Iterable[tuple[bytes, bytes]], *, end_stream: bool = False) -> int:
        """Send ``headers`` as they are on a new stream; its id."""
        stream_id = self._h2.get_next_available_stream_id()
        self.streams[stream_id] = ProbeStream()
        self._h2.send_headers(stream_id, list(headers), end_stream=end_stream)
        self._flush()
        return stream_id

    async def response(self, stream_id: int) -> ProbeStream:
        """The stream once it has a response, was reset, or the connection ended; a
        deadline first is :class:`~conformance.driver.DeadlineExceeded`."""
        stream = self.streams[stream_id]
        await self.wait_until(
            lambda: stream.response is not None or stream.over or self.finished(stream_id)
        )
        return stream

    def finished(self, stream_id: int) -> bool:
        """Nothing more can come on ``stream_id``: the connection is lost or a GOAWAY left
        it unprocessed or ended the connection with an error."""
        if self.lost:
            return True
        if self.goaway is None:
            return False
        return self.goaway != ErrorCodes.NO_ERROR or self._last_stream < stream_id

    def send_data(self, stream_id: int, data: bytes, *, end_stream: bool = False) -> None:
        """Send ``data`` on ``stream_id`` (small: within the initial window); a stream or
        connection already gone takes nothing."""
        with contextlib.suppress(H2Error):
            self._h2.send_data(stream_id, data, end_stream=end_stream)
            self.transcript.record_sent(data)
        self._flush()

    async def wait_until(self, ready: Callable[[], bool]) -> None:
        """Until ``ready()``; DeadlineExceeded if the deadline comes first."""
        try:
            async with asyncio.timeout_at(self.deadline):
                while not ready():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise DeadlineExceeded("no answer from the peer before the deadline") from None

    async def close(self) -> None:
        """GOAWAY, then close TCP, waiting at most a moment."""
        if not self._writer.transport.is_closing():
            with contextlib.suppress(H2Error):
                self._h2.close_connection()
            self._flush()
        self.lost = self.lost or "closed by the suite"
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            async with asyncio.timeout(CLOSE_WAIT):
                await self._writer.wait_closed()

    async def _read_loop(self) -> None:
        try:
            while not self.lost:
                data = await self._reader.read(READ_SIZE)
                if not data:
                    self.lost = "the server closed the connection"
                    break
                if self.first_settings is None:
                    self._read_first_settings(data)
                try:
                    events = self._h2.receive_data(data)
                except H2Error as exc:
                    self.lost = f"HTTP/2 error: {type(exc).__name__}: {exc}"
                    events = []
                for event in events:
                    self._on_event(event)
                self._flush()
                self._changed.set()
        finally:
            self._changed.set()

    def _read_first_settings(self, data: bytes) -> None:
        """Keep the server's first frame's settings (RFC 9113 §3.4: the preface is a
        SETTINGS frame), parsed by hyperframe before h2 may refuse a value."""
        self._head += data[: FRAME_HEADER + FIRST_FRAME_LIMIT - len(self._head)]
        if len(self._head) < FRAME_HEADER:
            return
        if self._head.startswith(HTTP1_HEAD):
            self.lost = "the server answered in HTTP/1.1, not HTTP/2 (no h2c)"
            return
        try:
            frame, length = Frame.parse_frame_header(memoryview(bytes(self._head[:FRAME_HEADER])))
            if length > FIRST_FRAME_LIMIT:
                raise InvalidFrameError(f"a first frame of {length} bytes")
            if len(self._head) < FRAME_HEADER + length:
                return
            if not isinstance(frame, SettingsFrame):
                self.lost = f"the server's first frame was {type(frame).__name__}, not SETTINGS"
                return
            frame.parse_body(memoryview(bytes(self._head[FRAME_HEADER : FRAME_HEADER + length])))
        except HyperframeError as exc:
            self.lost = f"the server's first frame is not a valid SETTINGS frame: {exc}"
            return
        self.first_settings = dict(frame.settings)

    def _on_event(self, event: Event) -> None:
        stream = self.streams.get(getattr(event, "stream_id", None) or 0)
        if isinstance(event, DataReceived):
            owed = event.flow_controlled_length or 0
            with contextlib.suppress(H2Error):
                self._h2.acknowledge_received_data(owed, event.stream_id)
            if stream is not None and event.data:
                self.transcript.record_received(event.data)
                room = PROBE_DATA_LIMIT - len(stream.data)
                stream.overflow = stream.overflow or len(event.data) > room
                stream.data += event.data[: max(0, room)]
        elif isinstance(event, ResponseReceived) and stream is not None:
            stream.response = _response(event.headers or [])
        elif isinstance(event, StreamEnded) and stream is not None:
            stream.ended = True
        elif isinstance(event, StreamReset) and stream is not None:
            stream.reset = event.error_code if event.error_code is not None else 0
        elif isinstance(event, ConnectionTerminated):
            self.goaway = event.error_code if event.error_code is not None else 0
            self._last_stream = event.last_stream_id or 0

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        transport = self._writer.transport
        if data and not transport.is_closing():
            self._writer.write(data)
            if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
                self.lost = "the server stopped reading"
                transport.abort()
