"""The scenario server: plays each client scenario on purpose and records what the client sent.

Listeners (all on ephemeral ports, loopback): plain ``ws``, ``wss`` with a leaf of the CA
handed to clients (:attr:`ScenarioServer.ca_file`), ``wss-untrusted`` with a leaf of a
second CA handed to nobody, and a bound but not listening port (connections are refused).
Every listener routes the same way: ``/{scenario}/{token}`` plays
:attr:`~conformance.clients.scenarios.Scenario.answer`, ``/redirect-target/{token}`` is a
plain echo endpoint (where :class:`~conformance.clients.scenarios.RedirectTo` points);
anything else gets a 404.

After a 101 the server plays the scenario's steps, then falls back to echo mode; the
server closes TCP first (RFC 6455 §7.1.1). Client frames are decoded strictly
(:class:`~conformance.model.decoder.PeerStream`), so an unmasked frame (§5.1) or a bad
Close body (§7.4) is a :class:`~conformance.model.violations.Violation` in the record, never
an error of the server. Each connection is bounded by ``max_lifetime``; every wait in it
has its own deadline.

A TLS connection that fails before any request carries no token; it is filed under the
token of the last :meth:`ScenarioServer.url_for` issued for that listener (the harness
opens one connection at a time and asks for its URL just before).

``python -m conformance.clients.scenario_server`` serves until Ctrl-C, for manual testing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import re
import signal
import socket
import struct
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from ssl import SSLContext
from types import TracebackType
from typing import Final, Literal, Self, TypeVar
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..model.codec import encode_frame
from ..model.constants import Opcode
from ..model.decoder import (
    CloseReceived,
    Event,
    FrameTooLarge,
    Message,
    MessageTooLarge,
    PeerStream,
    PingReceived,
    PongReceived,
)
from ..model.frames import Frame
from ..model.handshake import accept_for
from ..model.violations import Violation
from ..reference_server import Handler, HandshakeRequest, LoopbackServer, ServerBehaviour
from ..tls import TlsFiles, make_tls_files
from .scenarios import (
    SCENARIOS,
    UNRESOLVABLE_HOST,
    UNROUTABLE_ADDRESS,
    Answer,
    AwaitClient,
    CloseTcp,
    HttpAnswer,
    NoAnswer,
    RedirectTo,
    Scenario,
    SendFrame,
    Upgrade,
    scenario_by_name,
)

Listener = Literal["ws", "wss", "wss-untrusted"]
ClosedBy = Literal["client", "server", "lifetime"]

REDIRECT_TARGET: Final = "redirect-target"
MAX_REQUEST_HEAD: Final = 16 * 1024
MAX_CLIENT_PAYLOAD: Final = 2**20
PAYLOAD_PREFIX: Final = 1024
MAX_RECORDED: Final = 4096
"""Most entries kept in each list of a record (frames, messages, timeline...)."""
READ_CHUNK: Final = 64 * 1024
WRITE_TIMEOUT: Final = 5.0
LINGER_TIMEOUT: Final = 1.0
"""Seconds the server waits for the client's side to close after its own FIN."""
CLOSE_TOO_BIG: Final = 1009  # §7.4.1

_T = TypeVar("_T")
_TOKEN = re.compile(r"[A-Za-z0-9-]+")
_OPCODE_NAMES: Final = {op.value: op.name.lower() for op in Opcode}
_BEHAVIOUR = ServerBehaviour()
_REQUEST_CHECKS = (
    _BEHAVIOUR.check_method,
    _BEHAVIOUR.check_host,
    _BEHAVIOUR.check_target,
    _BEHAVIOUR.check_body,
    _BEHAVIOUR.check_upgrade,
    _BEHAVIOUR.check_connection,
    _BEHAVIOUR.check_key,
    _BEHAVIOUR.check_version,
    _BEHAVIOUR.check_subprotocols,
    _BEHAVIOUR.check_extensions,
)
_HTTP_VERSION = re.compile(r"HTTP/(\d+\.\d+)")


@dataclass(frozen=True, slots=True)
class ClientFrame:
    """One frame the client sent after the 101 (RFC 6455 §5.2); ``payload`` is a prefix."""

    opcode: int
    fin: bool
    rsv: int  # RSV1 RSV2 RSV3 as a 3-bit number (RSV1 = 4)
    masked: bool
    length: int
    payload: bytes  # unmasked, at most PAYLOAD_PREFIX bytes


@dataclass(slots=True)
class ConnectionRecord:
    """Everything one connection showed, filed under the token of its request path.

    ``frames`` onwards concern the bytes after a 101, decoded as a client's (RFC 6455 §5.1,
    §5.2); the decoding stops at the client's Close (§5.5.1) except to see its EOF.
    ``closed_by`` is who ended TCP first (``"lifetime"``: ``max_lifetime`` aborted it);
    ``timeline`` holds (seconds since the accept, label). Lists are capped at
    :data:`MAX_RECORDED` entries; ``ended`` is set once the connection is gone.
    ``url_host`` and ``url_port`` are the /host/ and /port/ of the URLs that lead to this
    listener (§3), which the request's |Host| and Request-URI must name (§4.1).
    """

    listener: Listener
    path: str = ""
    scenario: str = ""  # scenario name, "redirect-target", or "" when no route matched
    token: str = ""
    tls_error: str | None = None
    request_head: bytes = b""
    method: str = ""
    target: str = ""
    http_version: str = ""  # as on the request line: "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)
    upgrade_request_problems: list[str] = field(default_factory=list)
    key: str | None = None
    status: int | None = None  # of the response the server sent, if any
    response_head: bytes = b""  # the HTTP response as sent (with the body, for a non-101)
    frames: list[ClientFrame] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    messages: list[tuple[int, bytes]] = field(default_factory=list)
    pongs: list[bytes] = field(default_factory=list)
    client_close: CloseReceived | None = None
    server_close_sent: bytes | None = None
    client_eof: bool = False
    closed_by: ClosedBy | None = None  # who closed TCP first
    notes: list[str] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    ended: bool = False
    url_host: str = ""  # as in the URL: "127.0.0.1", "[::1]"; "" if unknown
    url_port: int = 0  # 0 if unknown


@dataclass(frozen=True, slots=True)
class _Expected:
    """The last URL handed out for a listener: whose a request-less connection is."""

    scenario: str
    token: str


def _bounded_append(items: list[_T], item: _T) -> None:
    if len(items) < MAX_RECORDED:
        items.append(item)


def _http_head(status: int, reason: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _http_answer(
    status: int, reason: str, headers: Sequence[tuple[str, str]], body: bytes
) -> bytes:
    """A complete response that ends the connection (RFC 9112 §9.6, ``Connection: close``)."""
    fields = [*headers, ("Content-Length", str(len(body))), ("Connection", "close")]
    return _http_head(status, reason, fields) + body


def wrong_accept(key: str) -> str:
    """A valid-looking but wrong |Sec-WebSocket-Accept|: the SHA-1 of the key without the GUID."""
    return base64.b64encode(hashlib.sha1(key.strip().encode("latin-1")).digest()).decode()


def _head_end(buf: bytes | bytearray) -> int | None:
    """Where the request head ends (after its empty line), or None if not yet."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := buf.find(sep)) >= 0]
    return min(ends) if ends else None


@dataclass(slots=True)
class RequestHead:
    """A request head as received; ``malformed`` lists lines that are not HTTP."""

    method: str
    target: str
    http_version: str
    headers: list[tuple[str, str]]
    malformed: list[str]


def parse_head(head: bytes) -> RequestHead | None:
    """A lenient parse of a request head, fields as received; None if no request line."""
    lines = [line.removesuffix(b"\r") for line in head.split(b"\n")]
    parts = lines[0].split(b" ") if lines else []
    if len(parts) != 3:
        return None
    method, target, version = (part.decode("latin-1") for part in parts)
    parsed = RequestHead(method, target, version, [], [])
    for line in lines[1:]:
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and parsed.headers:  # obs-fold
            folded, before = parsed.headers[-1]
            parsed.headers[-1] = (folded, f"{before} {line.strip().decode('latin-1')}")
            parsed.malformed.append("obsolete line folding (RFC 9112 §5.2)")
        elif b":" in line:
            raw_name, _, raw_value = line.partition(b":")
            value = raw_value.strip(b" \t").decode("latin-1")
            parsed.headers.append((raw_name.decode("latin-1"), value))
        else:
            parsed.malformed.append(f"header line without a colon: {line[:80]!r}")
    return parsed


def upgrade_request_problems(head: RequestHead) -> list[str]:
    """What keeps a request from being a client's opening handshake (RFC 6455 §4.1)."""
    problems = list(head.malformed)
    match = _HTTP_VERSION.fullmatch(head.http_version)
    request = HandshakeRequest(
        head.method, head.target, match.group(1) if match else "", tuple(head.headers)
    )
    checks = list(_REQUEST_CHECKS)
    if match is None:
        problems.append(f"request line version {head.http_version!r} is not HTTP/1.1 (§4.1)")
    else:
        checks.insert(1, _BEHAVIOUR.check_http_version)
    for check in checks:
        refusal = check(request)
        if refusal is not None:
            problems.append(refusal.detail)
    return problems


def _route(target: str) -> tuple[str, str, str, Answer | None]:
    """Path, scenario name, token and answer for a request target (query ignored)."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    if not path.startswith("/"):  # absolute-form: http://host:port/path
        path = urlsplit(path).path
    segments = path.split("/")
    if len(segments) != 3 or segments[0] or not _TOKEN.fullmatch(segments[2]):
        return path, "", "", None
    name, token = segments[1], segments[2]
    if name == REDIRECT_TARGET:
        return path, name, token, Upgrade()
    scenario = scenario_by_name(name)
    return path, name, token, scenario.answer if scenario is not None else None


def spki_pin(cert_pem: bytes) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of a certificate (an HPKP-style pin)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class _Connection:
    """One accepted connection: TLS, request, answer, steps, echo mode, close."""

    def __init__(
        self,
        server: ScenarioServer,
        listener: Listener,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._server = server
        self._reader = reader
        self._writer = writer
        self.listener: Listener = listener
        self.expected = server._expected.get(listener)
        sockname = writer.get_extra_info("sockname")
        port = sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else 0
        self.record = ConnectionRecord(listener, url_host=server.url_host, url_port=port)
        self._stream = PeerStream(
            peer="client", max_payload=MAX_CLIENT_PAYLOAD, max_message=MAX_CLIENT_PAYLOAD
        )
        self._changed = asyncio.Event()
        self._decode = False  # frames are decoded only after a 101
        self._echo = False
        self._backlog: list[Message | PingReceived | CloseReceived] = []
        self._counts = {"pong": 0, "message": 0, "close": 0}
        self._consumed = {"pong": 0, "message": 0, "close": 0}
        self._finish = False  # echo mode: the client's Close was answered
        self._too_large = False
        self._reading_done = False
        self._write_closed = False
        self._ignored_after_close = 0
        self._undecoded = 0
        self._pump_task: asyncio.Task[None] | None = None

    # -- bookkeeping ---------------------------------------------------------------

    def _mark(self, label: str) -> None:
        _bounded_append(self.record.timeline, (round(self._loop.time() - self._t0, 4), label))

    def _note(self, text: str) -> None:
        _bounded_append(self.record.notes, text)

    def _closed_by(self, who: ClosedBy) -> None:
        if self.record.closed_by is None:
            self.record.closed_by = who

    def _attribute(self, scenario: str, token: str) -> None:
        self.record.scenario, self.record.token = scenario, token
        self._server._notify()

    # -- the connection ----------------------------------------------------------------

    async def run(self, tls: SSLContext | None, max_lifetime: float) -> None:
        try:
            async with asyncio.timeout(max_lifetime):
                await self._run(tls)
        except TimeoutError:
            self._note(f"max_lifetime of {max_lifetime:g}s reached: connection aborted")
            self._mark("lifetime")
            self._closed_by("lifetime")
        except asyncio.CancelledError:
            self._note("the server stopped")
            raise
        except (OSError, EOFError) as exc:
            self._note(f"connection error: {exc!r}")
        finally:
            if self._pump_task is not None:
                self._pump_task.cancel()
                with contextlib.suppress(BaseException):
                    await self._pump_task
            if self._undecoded:
                self._note(f"{self._undecoded} bytes after a non-101 answer ignored")
            if self._ignored_after_close:
                self._note(f"{self._ignored_after_close} bytes after the client's Close ignored")
            if not self._writer.transport.is_closing():
                self._writer.transport.abort()
            self.record.ended = True
            self._server._notify()

    async def _run(self, tls: SSLContext | None) -> None:
        if tls is not None:
            # First thing, before any await: the ClientHello must reach the TLS layer,
            # not the plain stream's buffer.
            try:
                await self._writer.start_tls(tls)
            except Exception as exc:  # any handshake failure is evidence, not a crash
                detail = str(exc)
                self.record.tls_error = type(exc).__name__ + (f": {detail}" if detail else "")
                self._mark("tls error")
                if self.expected is not None:
                    self._note("no request: filed under the last URL handed out for this listener")
                    self._attribute(self.expected.scenario, self.expected.token)
                return
            self._mark("tls ok")
        got = await self._read_head()
        if got is None:
            return
        head_bytes, trailing = got
        head = parse_head(head_bytes)
        if head is None:
            self._note("malformed request line")
            await self._answer_and_close(400, "Bad Request", b"malformed request line\n")
            return
        rec = self.record
        rec.method, rec.target, rec.http_version = head.method, head.target, head.http_version
        rec.headers = head.headers
        rec.upgrade_request_problems = upgrade_request_problems(head)
        keys = [v for n, v in head.headers if n.lower() == "sec-websocket-key"]
        rec.key = keys[0] if keys else None
        path, name, token, answer = _route(head.target)
        rec.path = path
        self._mark("request")
        self._attribute(name, token)
        if answer is None:
            await self._answer_and_close(404, "Not Found", b"no such scenario\n")
            return
        await self._play(answer, trailing)

    async def _read_head(self) -> tuple[bytes, bytes] | None:
        """The request head (bounded) and the bytes after it; None if the connection ended."""
        buf = bytearray()
        while True:
            end = _head_end(buf)
            if end is not None and end <= MAX_REQUEST_HEAD:
                break
            if end is not None or len(buf) > MAX_REQUEST_HEAD:
                await self._head_too_large(buf)
                return None
            try:
                data = await self._reader.read(READ_CHUNK)
            except OSError as exc:
                self._note(f"read error before a complete request head: {exc!r}")
                self._closed_by("client")
                return None
            if not data:
                self.record.client_eof = True
                self._closed_by("client")
                self._mark("client eof")
                self._note(f"the client closed after {len(buf)} bytes, before a request head")
                self.record.request_head = bytes(buf)
                return None
            buf += data
        self.record.request_head = bytes(buf[:end])
        return bytes(buf[:end]), bytes(buf[end:])

    async def _head_too_large(self, buf: bytearray) -> None:
        """431 (RFC 6585 §5), filed under the token of the request line if there is one."""
        self.record.request_head = bytes(buf[:MAX_REQUEST_HEAD])
        newline = buf.find(b"\n")
        first = parse_head(bytes(buf[:newline])) if newline >= 0 else None
        if first is not None:
            self.record.path, name, token, _ = _route(first.target)
            self._attribute(name, token)
        self._note(f"request head over {MAX_REQUEST_HEAD} bytes")
        await self._answer_and_close(431, "Request Header Fields Too Large", b"")

    async def _answer_and_close(self, status: int, reason: str, body: bytes) -> None:
        headers = [("Content-Type", "text/plain")] if body else []
        await self._respond(status, _http_answer(status, reason, headers, body))
        await self._close_tcp(reset=False)

    async def _respond(self, status: int, data: bytes) -> None:
        if self._write(data):
            self.record.status = status
            self.record.response_head = data
            self._mark(f"{status} sent")
        self._start_pump()
        await self._drain()

    async def _play(self, answer: Answer, trailing: bytes) -> None:
        if isinstance(answer, HttpAnswer):
            response = _http_answer(answer.status, answer.reason, answer.headers, answer.body)
            await self._respond(answer.status, response)
            await self._close_tcp(reset=False)
        elif isinstance(answer, RedirectTo):
            scheme = "ws" if self.listener == "ws" else "wss"
            port = self._server.listener_port(self.listener)
            host = self._server.url_host
            location = f"{scheme}://{host}:{port}/{REDIRECT_TARGET}/{self.record.token}"
            response = _http_answer(answer.status, answer.reason, [("Location", location)], b"")
            await self._respond(answer.status, response)
            await self._close_tcp(reset=False)
        elif isinstance(answer, NoAnswer):
            self._mark("no answer")
            self._start_pump()
            await self._close_tcp(reset=answer.reset)
        else:
            await self._upgrade(answer, trailing)

    async def _upgrade(self, answer: Upgrade, trailing: bytes) -> None:
        """A 101 (RFC 6455 §4.2.2 step 5, broken as told), the steps, then echo mode."""
        key = self.record.key or ""
        headers: list[tuple[str, str]] = []
        if answer.upgrade_header:
            headers.append(("Upgrade", "websocket"))
        if answer.connection_header:
            headers.append(("Connection", "Upgrade"))
        accept = accept_for(key.encode("latin-1")).decode()
        headers.append(
            ("Sec-WebSocket-Accept", accept if answer.accept == "valid" else wrong_accept(key))
        )
        if answer.protocol is not None:
            headers.append(("Sec-WebSocket-Protocol", answer.protocol))
        if answer.extensions is not None:
            headers.append(("Sec-WebSocket-Extensions", answer.extensions))
        self._decode = True
        if trailing:
            self._note(f"{len(trailing)} bytes arrived with the request head, before the 101")
            self._feed(trailing)
        await self._respond(101, _http_head(101, "Switching Protocols", headers))
        for step in answer.then:
            if self._write_closed:
                break
            if isinstance(step, SendFrame):
                self._send_frame(step.frame)
                await self._drain()
            elif isinstance(step, AwaitClient):
                await self._await_client(step)
            elif isinstance(step, CloseTcp):
                await self._close_tcp(reset=step.reset)
        if not self._write_closed:
            await self._echo_mode()

    async def _await_client(self, step: AwaitClient) -> None:
        what = step.what

        def arrived() -> bool:
            return self._counts[what] > self._consumed[what] or self._reading_done

        if not await self._wait(arrived, step.timeout):
            self._note(f"no client {what} within {step.timeout:g}s")
            self._mark(f"await {what} timeout")
        elif self._counts[what] > self._consumed[what]:
            self._consumed[what] += 1
        else:
            self._note(f"the client's side ended while the server awaited its {what}")

    async def _echo_mode(self) -> None:
        """Echo messages, answer Pings, answer a Close (§5.5.1, §5.5.2), then close first."""
        self._echo = True
        backlog, self._backlog = self._backlog, []
        for event in backlog:
            self._react(event)
        if self._too_large:
            self._fail_too_large()
        await self._drain()
        await self._wait(lambda: self._finish or self._reading_done, None)
        await self._close_tcp(reset=False)

    # -- reading ----------------------------------------------------------------------

    def _start_pump(self) -> None:
        if self._pump_task is None:
            self._pump_task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        """Read until the client's side ends, decoding frames after a 101."""
        try:
            while True:
                try:
                    data = await self._reader.read(READ_CHUNK)
                except OSError as exc:
                    self._note(f"read error: {exc!r}")
                    self._mark(
                        "client reset" if isinstance(exc, ConnectionResetError) else "read error"
                    )
                    self._closed_by("client")
                    return
                if not data:
                    self.record.client_eof = True
                    self._mark("client eof")
                    self._closed_by("client")
                    return
                if not self._decode:
                    self._undecoded += len(data)
                elif self._stream.close_received or self._stream.too_large is not None:
                    self._ignored_after_close += len(data)
                else:
                    self._feed(data)
                    if self._echo:
                        await self._drain()
                self._changed.set()
        finally:
            self._reading_done = True
            self._changed.set()

    def _feed(self, data: bytes) -> None:
        for event in self._stream.feed(data):
            self._on_event(event)

    def _on_event(self, event: Event) -> None:
        rec = self.record
        if isinstance(event, Frame):
            rsv = event.rsv1 << 2 | event.rsv2 << 1 | event.rsv3
            size = len(event.payload)
            frame = ClientFrame(
                event.opcode,
                event.fin,
                rsv,
                event.mask is not None,
                size,
                event.payload[:PAYLOAD_PREFIX],
            )
            _bounded_append(rec.frames, frame)
            self._mark(f"frame {_OPCODE_NAMES.get(event.opcode, hex(event.opcode))} {size}")
        elif isinstance(event, Violation):
            _bounded_append(rec.violations, event)
        elif isinstance(event, FrameTooLarge | MessageTooLarge):
            self._note(f"client frame or message over {MAX_CLIENT_PAYLOAD} bytes: {event}")
            self._too_large = True
            if self._echo:
                self._fail_too_large()
        elif isinstance(event, Message):
            _bounded_append(rec.messages, (event.opcode, event.data))
            self._counts["message"] += 1
            self._react_or_queue(event)
        elif isinstance(event, PongReceived):
            _bounded_append(rec.pongs, event.payload)
            self._counts["pong"] += 1
        elif isinstance(event, PingReceived):
            self._react_or_queue(event)
        elif isinstance(event, CloseReceived):
            rec.client_close = event
            self._counts["close"] += 1
            self._mark(f"client close {event.code if event.code is not None else 'empty'}")
            self._react_or_queue(event)

    def _react_or_queue(self, event: Message | PingReceived | CloseReceived) -> None:
        if self._echo:
            self._react(event)
        else:
            self._backlog.append(event)

    def _react(self, event: Message | PingReceived | CloseReceived) -> None:
        """Echo mode's answer, written at once so answers keep the order of their causes."""
        if isinstance(event, Message):
            self._send_frame(Frame(event.opcode, event.data))
        elif isinstance(event, PingReceived):
            self._send_frame(Frame(Opcode.PONG, event.payload))
        else:
            if self.record.server_close_sent is None:
                self._send_frame(Frame(Opcode.CLOSE, event.raw_payload))
            self._finish = True

    def _fail_too_large(self) -> None:
        if self.record.server_close_sent is None:
            self._send_frame(Frame(Opcode.CLOSE, CLOSE_TOO_BIG.to_bytes(2, "big")))
        self._finish = True

    # -- writing and closing ------------------------------------------------------------

    def _write(self, data: bytes) -> bool:
        if self._write_closed or self._writer.transport.is_closing():
            self._note(f"{len(data)} bytes not sent: the connection is closed")
            return False
        self._writer.write(data)
        return True

    def _send_frame(self, frame: Frame) -> None:
        if not self._write(encode_frame(frame)):
            return
        name = _OPCODE_NAMES.get(frame.opcode, hex(frame.opcode))
        if frame.opcode == Opcode.CLOSE:
            if self.record.server_close_sent is None:
                self.record.server_close_sent = frame.payload
            code = int.from_bytes(frame.payload[:2], "big") if len(frame.payload) >= 2 else "empty"
            self._mark(f"sent close {code}")
        else:
            self._mark(f"sent {name} {len(frame.payload)}")

    async def _drain(self) -> None:
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                await self._writer.drain()
        except TimeoutError:
            self._note(f"the client read nothing for {WRITE_TIMEOUT:g}s: connection aborted")
            self._write_closed = True
            self._writer.transport.abort()
        except OSError as exc:
            self._note(f"write error: {exc!r}")

    async def _close_tcp(self, *, reset: bool) -> None:
        """FIN (then wait a little for the client's), or RST via ``SO_LINGER`` 0."""
        if self._write_closed:
            return
        transport = self._writer.transport
        if reset:
            self._write_closed = True
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            self._mark("server rst")
            self._closed_by("server")
            return
        await self._drain()
        if self._write_closed:
            return
        self._write_closed = True
        self._closed_by("server")
        if self._writer.can_write_eof():  # plain TCP: half-close, see the client's reaction
            with contextlib.suppress(OSError):
                self._writer.write_eof()
            self._mark("server fin")
            self._start_pump()
            if not await self._wait(lambda: self._reading_done, LINGER_TIMEOUT):
                self._note(f"the client kept its side open {LINGER_TIMEOUT:g}s after the FIN")
            transport.close()
        else:  # TLS: close_notify and FIN
            self._writer.close()
            self._mark("server fin")
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(LINGER_TIMEOUT):
                    await self._writer.wait_closed()

    async def _wait(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Until ``predicate()`` holds (True) or ``timeout`` passes (False)."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True


class ScenarioServer:
    """The listeners that play :data:`~conformance.clients.scenarios.SCENARIOS`.

    Ports given as 0 (the default) are ephemeral. ``tls_dir`` receives the two CAs and
    their leaves (``trusted/`` and ``untrusted/``); a temporary directory otherwise.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        max_lifetime: float = 15.0,
        tls_dir: Path | None = None,
        port: int = 0,
        tls_port: int = 0,
        untrusted_port: int = 0,
    ) -> None:
        self.host = host
        self.max_lifetime = max_lifetime
        self.tls_dir = tls_dir
        self.url_host = "127.0.0.1" if host in ("127.0.0.1", "0.0.0.0", "") else host
        if ":" in self.url_host:
            self.url_host = f"[{self.url_host}]"
        self.on_ended: Callable[[ConnectionRecord], None] | None = None
        """Called with each record when its connection ends (the CLI prints a line)."""
        self._wanted = {"ws": port, "wss": tls_port, "wss-untrusted": untrusted_port}
        self._listeners: dict[Listener, LoopbackServer] = {}
        self._refused: socket.socket | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._trusted: TlsFiles | None = None
        self._trusted_spki = ""
        self._expected: dict[Listener, _Expected] = {}
        self._records: list[ConnectionRecord] = []
        self._live: set[_Connection] = set()
        self._changed = asyncio.Event()

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Write the TLS material and bind every listener."""
        if self.tls_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="ws-scenarios-")
            directory = Path(self._tempdir.name)
        else:
            directory = self.tls_dir
        contexts: dict[Listener, SSLContext | None] = {"ws": None}
        tls_listeners: tuple[tuple[Listener, str], ...] = (
            ("wss", "trusted"),
            ("wss-untrusted", "untrusted"),
        )
        for listener, sub in tls_listeners:
            (directory / sub).mkdir(parents=True, exist_ok=True)
            files = make_tls_files(directory / sub)
            contexts[listener] = files.server_context()
            if sub == "trusted":
                self._trusted = files
        assert self._trusted is not None
        self._trusted_spki = spki_pin(self._trusted.cert.read_bytes())
        try:
            for listener, context in contexts.items():
                self._listeners[listener] = await LoopbackServer.start(
                    self._handler(listener, context), self.host, self._wanted[listener]
                )
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            self._refused = socket.socket(family, socket.SOCK_STREAM)
            self._refused.bind((self.host, 0))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close the listeners, abort live connections, remove temporary files."""
        listeners, self._listeners = list(self._listeners.values()), {}
        for listener in listeners:
            await listener.close()
        if self._refused is not None:
            self._refused.close()
            self._refused = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
        self._notify()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- addresses ---------------------------------------------------------------------

    def listener_port(self, listener: Listener) -> int:
        if listener not in self._listeners:
            raise RuntimeError("the scenario server is not started")
        return self._listeners[listener].port

    @property
    def port(self) -> int:
        return self.listener_port("ws")

    @property
    def tls_port(self) -> int:
        return self.listener_port("wss")

    @property
    def untrusted_port(self) -> int:
        return self.listener_port("wss-untrusted")

    @property
    def refused_port(self) -> int:
        if self._refused is None:
            raise RuntimeError("the scenario server is not started")
        port: int = self._refused.getsockname()[1]
        return port

    @property
    def ca_file(self) -> Path:
        """The CA to hand to clients: it issued the ``wss`` leaf."""
        if self._trusted is None:
            raise RuntimeError("the scenario server is not started")
        return self._trusted.ca

    @property
    def trusted_spki(self) -> str:
        """The ``wss`` leaf's pin, for Chromium's ``--ignore-certificate-errors-spki-list``."""
        if not self._trusted_spki:
            raise RuntimeError("the scenario server is not started")
        return self._trusted_spki

    def url_for(self, scenario: Scenario, token: str) -> str:
        """The URL the script is given for ``scenario`` (its ``url`` template applied).

        Also remembers ``token`` as the owner of the next request-less connection on the
        scenario's listener (a failed TLS handshake).
        """
        if not _TOKEN.fullmatch(token):
            raise ValueError(f"token {token!r} is not [A-Za-z0-9-]+")
        host, endpoint = self.url_host, scenario.endpoint
        bases = {
            "ws": f"ws://{host}:{self.port}",
            "wss": f"wss://{host}:{self.tls_port}",
            "wss-untrusted": f"wss://{host}:{self.untrusted_port}",
            "refused": f"ws://{host}:{self.refused_port}",
            "unresolvable": f"ws://{UNRESOLVABLE_HOST}:{self.port}",
            "unroutable": f"ws://{UNROUTABLE_ADDRESS}:{self.port}",
        }
        url = f"{bases[endpoint]}/{scenario.name}/{token}"
        if endpoint in ("ws", "wss", "wss-untrusted"):
            self._expected[endpoint] = _Expected(scenario.name, token)
        rest = url.removeprefix("wss" if url.startswith("wss:") else "ws")
        return scenario.script.url.replace("{url}", url).replace("{rest}", rest)

    # -- records -----------------------------------------------------------------------

    def records(self, token: str) -> list[ConnectionRecord]:
        """Every connection filed under ``token``, in arrival order."""
        return [record for record in self._records if record.token == token]

    async def wait_idle(self, token: str, timeout: float) -> None:
        """Until every connection of ``token`` has ended, or ``timeout`` passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self._idle(token):
                    changed = self._changed
                    await changed.wait()

    def _idle(self, token: str) -> bool:
        for conn in self._live:
            if conn.record.token == token:
                return False
            expected = conn.expected
            if not conn.record.token and expected is not None and expected.token == token:
                return False  # no request yet: may still be this token's
        return True

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _handler(self, listener: Listener, context: SSLContext | None) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = _Connection(self, listener, reader, writer)
            self._records.append(conn.record)
            self._live.add(conn)
            try:
                await conn.run(context, self.max_lifetime)
            finally:
                self._live.discard(conn)
                self._notify()
                if self.on_ended is not None:
                    self.on_ended(conn.record)

        return handle


# -- manual testing -------------------------------------------------------------------


def summary(record: ConnectionRecord) -> str:
    """One line about a finished connection."""
    parts = [record.token or "-", record.scenario or "-", record.listener]
    if record.tls_error is not None:
        parts.append(f"tls error: {record.tls_error}")
    if record.status is not None:
        parts.append(str(record.status))
    if record.frames:
        parts.append(f"{len(record.frames)} frames")
    if record.client_close is not None:
        parts.append(f"client close {record.client_close.code}")
    if record.violations:
        parts.append(f"{len(record.violations)} violations")
    parts.append(f"closed by {record.closed_by}")
    return "  ".join(parts)


async def _serve(args: argparse.Namespace) -> None:
    server = ScenarioServer(
        host=args.host,
        max_lifetime=args.max_lifetime,
        tls_dir=args.tls_dir,
        port=args.port,
        tls_port=args.tls_port,
        untrusted_port=args.untrusted_port,
    )
    server.on_ended = lambda record: print(summary(record), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        host = server.url_host
        print(f"ws             ws://{host}:{server.port}/")
        print(f"wss            wss://{host}:{server.tls_port}/")
        print(f"wss-untrusted  wss://{host}:{server.untrusted_port}/")
        print(f"refused        ws://{host}:{server.refused_port}/")
        print(f"CA file        {server.ca_file}")
        print(f"Chromium       --ignore-certificate-errors-spki-list={server.trusted_spki}")
        for scenario in SCENARIOS:
            print(f"{scenario.id:45} {server.url_for(scenario, args.token)}")
        print("serving; Ctrl-C stops", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.clients.scenario_server",
        description="Serve the client scenarios until Ctrl-C (for manual testing).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="ws port (default: any)")
    parser.add_argument("--tls-port", type=int, default=0, help="wss port (default: any)")
    parser.add_argument("--untrusted-port", type=int, default=0, help="untrusted wss port")
    parser.add_argument("--max-lifetime", type=float, default=15.0, help="seconds a connection")
    parser.add_argument("--tls-dir", type=Path, help="where to write the CAs and leaves")
    parser.add_argument("--token", default="manual", help="token in the printed URLs")
    args = parser.parse_args(argv)
    if not _TOKEN.fullmatch(args.token):
        parser.error("--token must be [A-Za-z0-9-]+")
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
