"""The scenario server's connection player: one connection from TLS to the server's FIN.

After a 101 the connection plays the scenario's steps, then falls back to echo mode; the
server closes TCP first (RFC 6455 §7.1.1). Client frames are decoded strictly
(:class:`~conformance.model.decoder.PeerStream`), so an unmasked frame (§5.1) or a bad
Close body (§7.4) is a :class:`~conformance.model.violations.Violation` in the record, never
an error of the server. Each connection is bounded by ``max_lifetime``; every wait in it
has its own deadline. What it sees goes to its
:class:`~conformance.clients.scenario_server.records.ConnectionRecord`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from ssl import SSLContext
from typing import Final

from ...model.codec import encode_frame
from ...model.constants import Opcode, opcode_name
from ...model.decoder import (
    CloseReceived,
    Event,
    FrameTooLarge,
    Message,
    MessageTooLarge,
    PeerStream,
    PingReceived,
    PongReceived,
)
from ...model.frames import Frame
from ...model.handshake import accept_for
from ...model.violations import Violation
from ..scenarios import (
    REDIRECT_TARGET,
    Answer,
    AwaitClient,
    CloseTcp,
    Flood,
    HeadStep,
    NoAnswer,
    RedirectTo,
    SendFrame,
    StatusAnswer,
    Upgrade,
)
from . import hostile
from .deflate import ClientInflation, deflate_plan
from .http import (
    MAX_REQUEST_HEAD,
    head_end,
    http_answer,
    http_head,
    parse_head,
    route,
    upgrade_request_problems,
    wrong_accept,
)
from .records import (
    PAYLOAD_PREFIX,
    ClientFrame,
    ClosedBy,
    ConnectionRecord,
    Listener,
    bounded_append,
)

MAX_CLIENT_PAYLOAD: Final = 2**20
READ_CHUNK: Final = 64 * 1024
WRITE_TIMEOUT: Final = 5.0
LINGER_TIMEOUT: Final = 1.0
"""Seconds the server waits for the client's side to close after its own FIN."""
CLOSE_TOO_BIG: Final = 1009  # §7.4.1


@dataclass(frozen=True, slots=True)
class HandedOutUrl:
    """The last URL handed out for a listener: whose a request-less connection is."""

    scenario: str
    token: str


class ScenarioConnection:
    """One accepted connection: TLS, request, answer, steps, echo mode, close."""

    def __init__(
        self,
        listener: Listener,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        url_host: str,
        expected: HandedOutUrl | None,
        listener_port: Callable[[Listener], int],
        notify: Callable[[], None],
    ) -> None:
        """``expected``: the last URL handed out for ``listener``; ``listener_port`` gives a
        listener's port (for a redirect); ``notify`` is called when the record changes owner
        and when the connection has ended."""
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._url_host = url_host
        self._listener_port = listener_port
        self._notify = notify
        self._reader = reader
        self._writer = writer
        self.listener: Listener = listener
        self.expected = expected
        sockname = writer.get_extra_info("sockname")
        port = sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else 0
        self.record = ConnectionRecord(listener, url_host=url_host, url_port=port)
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
        self._inflation: ClientInflation | None = None  # permessage-deflate agreed (RFC 7692)

    # -- bookkeeping ---------------------------------------------------------------

    def _mark(self, label: str) -> None:
        bounded_append(self.record.timeline, (round(self._loop.time() - self._t0, 4), label))

    def _note(self, text: str) -> None:
        bounded_append(self.record.notes, text)

    def _closed_by(self, who: ClosedBy) -> None:
        if self.record.closed_by is None:
            self.record.closed_by = who

    def _attribute(self, scenario: str, token: str) -> None:
        self.record.scenario, self.record.token = scenario, token
        self._notify()

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
            self._notify()

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
        path, name, token, answer = route(head.target)
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
            end = head_end(buf)
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
            self.record.path, name, token, _ = route(first.target)
            self._attribute(name, token)
        self._note(f"request head over {MAX_REQUEST_HEAD} bytes")
        await self._answer_and_close(431, "Request Header Fields Too Large", b"")

    async def _answer_and_close(self, status: int, reason: str, body: bytes) -> None:
        headers = [("Content-Type", "text/plain")] if body else []
        await self._respond(status, http_answer(status, reason, headers, body))
        await self._close_tcp(reset=False)

    async def _respond(self, status: int, data: bytes) -> None:
        if self._write(data):
            self.record.status = status
            self.record.response_head = data
            self._mark(f"{status} sent")
        self._start_pump()
        await self._drain()

    async def _play(self, answer: Answer, trailing: bytes) -> None:
        if isinstance(answer, StatusAnswer):
            response = http_answer(answer.status, answer.reason, answer.headers, answer.body)
            await self._respond(answer.status, response)
            await self._close_tcp(reset=False)
        elif isinstance(answer, RedirectTo):
            scheme = "ws" if self.listener == "ws" else "wss"
            port = self._listener_port(self.listener)
            host = self._url_host
            location = f"{scheme}://{host}:{port}/{REDIRECT_TARGET}/{self.record.token}"
            response = http_answer(answer.status, answer.reason, [("Location", location)], b"")
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
        answer, self._inflation = deflate_plan(answer, self.record, MAX_CLIENT_PAYLOAD)
        if self._inflation is not None:
            self._stream = self._inflation.stream(MAX_CLIENT_PAYLOAD)
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
        head = http_head(101, "Switching Protocols", headers)
        shaped = hostile.head_step(answer.then)
        if shaped is None:
            await self._respond(101, head)
        elif not await self._hostile_head(shaped, head):
            return
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
            elif isinstance(step, Flood):
                await hostile.play_flood(self._hostile_wire(), step)
        if not self._write_closed:
            await self._echo_mode()

    # -- hostile steps (conformance.clients.scenario_server.hostile) ---------------------

    def _hostile_wire(self) -> hostile.Wire:
        def client_done() -> bool:
            closed = self._reading_done or self._write_closed
            return closed or self.record.client_close is not None

        return hostile.Wire(
            self._write,
            self._drain,
            self._wait,
            client_done,
            self._note,
            self._mark,
            self._writer.transport,
        )

    async def _hostile_head(self, step: HeadStep, head: bytes) -> bool:
        """The 101 written as ``step`` says; False (and TCP closed) if it never completed."""
        self._start_pump()
        complete, self.record.response_head = await hostile.play_head(
            self._hostile_wire(), step, head
        )
        if not complete:
            await self._close_tcp(reset=False)
            return False
        self.record.status = 101
        return True

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
            bounded_append(rec.frames, frame)
            self._mark(f"frame {opcode_name(event.opcode)} {size}")
            if self._inflation is not None:
                for violation in self._inflation.frame(event):
                    bounded_append(rec.violations, violation)
        elif isinstance(event, Violation):
            bounded_append(rec.violations, event)
        elif isinstance(event, FrameTooLarge | MessageTooLarge):
            self._note(f"client frame or message over {MAX_CLIENT_PAYLOAD} bytes: {event}")
            self._too_large = True
            if self._echo:
                self._fail_too_large()
        elif isinstance(event, Message):
            inflated = event if self._inflation is None else self._inflation.message(event)
            if isinstance(inflated, Violation):
                bounded_append(rec.violations, inflated)
                return
            event = inflated
            bounded_append(rec.messages, (event.opcode, event.data))
            self._counts["message"] += 1
            self._react_or_queue(event)
        elif isinstance(event, PongReceived):
            bounded_append(rec.pongs, event.payload)
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
        name = opcode_name(frame.opcode)
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
