"""The reference client: a WHATWG ``WebSocket`` built on the suite's own sans-IO model.

python -m conformance.clients.reference

The client side's counterpart of the reference server: every client scenario must PASS
with it, which shows that the scenario server, the harness and the judge raise no false
alarm on a conforming client. No WebSocket library is involved:

* :func:`~conformance.model.user_agent.construct` and
  :class:`~conformance.model.user_agent.WebSocketModel` decide what the script sees (WHATWG
  WebSockets, "Feedback from the protocol"); their events go out as the contract's;
* :func:`~conformance.model.handshake.build_request` writes the opening handshake as a
  browser does (RFC 6455 §4.1; WHATWG: an |Origin|, a ``permessage-deflate`` offer) and
  :class:`~conformance.model.handshake.ResponseReader` parses the answer, bounded;
* :class:`~conformance.model.decoder.PeerStream` decodes the server's frames and
  :func:`~conformance.model.codec.encode_frame` writes the client's, each masked with a
  fresh key (§5.1, §5.3).

What the model leaves to the network layer is done here: a Pong for every Ping (§5.5.2), a
Close in reply to the server's (§5.5.1), no redirect followed (Fetch's redirect mode
"error"), a Close (1002, or 1007 for invalid UTF-8: §7.1.7, §7.4.1) and an immediate TCP
close when the connection fails, and after a closing handshake a bounded wait for the
server to close TCP first (§7.1.1). Every step has a deadline. permessage-deflate, which the
model offers, is implemented by :mod:`.deflate` (RFC 7692) on the deflate model.

In echo mode the client plays the script ``ws.onmessage = e => ws.send(e.data)``: every
message event is followed by a send of the same text, or of the same bytes as a binary
message, while the ``WebSocket`` is OPEN.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import os
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote, urlsplit

from ... import __version__
from ...model import rules
from ...model.codec import RSV1_BIT, close_payload, encode_frame
from ...model.constants import MASK_KEY_SIZE, CloseCode, Opcode, is_valid_close_code
from ...model.decoder import FrameTooLarge, MessageTooLarge, PeerStream
from ...model.deflate.params import EXTENSIONS_HEADER
from ...model.frames import Frame
from ...model.handshake import HandshakeRequest, ResponseReader, build_request
from ...model.user_agent import ReadyState, ScriptEvent, WebSocketModel, construct
from ...model.utf8 import first_invalid_offset
from ...model.violations import Violation
from .. import adapter_lines as jsonlines
from .deflate import ClientDeflate, Failure, negotiate

OPENING_TIMEOUT = 10.0
"""Seconds for TCP, TLS, the request and the response head together."""
WRITE_TIMEOUT = 5.0
"""Seconds a write may wait for the server to read; then the connection is dropped."""
CLOSING_TIMEOUT = 5.0
"""Seconds the client waits for the server's Close after its own."""
LINGER_TIMEOUT = 2.0
"""Seconds the client waits, after the closing handshake, for the server's TCP close."""
SHUTDOWN_TIMEOUT = 1.0
"""Seconds the last bytes get to leave before the socket is aborted."""
READ_CHUNK = 64 * 1024
ORIGIN = b"http://127.0.0.1"
"""The origin of the document the script runs in (Fetch: |Origin| on every WebSocket request)."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
"""Fetch's redirect statuses: with redirect mode "error", each is a network error."""
FATAL_VIOLATIONS = frozenset({rules.CONTROL_PAYLOAD_MAX, rules.CONTROL_NOT_FRAGMENTED})
"""Frame-header faults the model does not see (§5.4, §5.5): the client fails with 1002."""
INVALID_UTF8 = "rfc6455-8.1-invalid-utf8-fail"
_VISIBLE_ASCII = bytes(range(0x21, 0x7F)).decode("ascii")


def usv(text: str) -> str:
    """``text`` as a WebIDL USVString: lone surrogates become U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def network_error_kind(exc: BaseException) -> str:
    """The model's name for the network error ``exc`` (all end the same for a script)."""
    if isinstance(exc, socket.gaierror | UnicodeError):
        return "dns"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "unroutable"
    return "no-response"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a ``ws:``/``wss:`` URL leads (RFC 6455 §3) and its handshake's |Host| and target."""

    host: str
    port: int
    secure: bool
    host_header: bytes
    resource: bytes

    @classmethod
    def parse(cls, url: str) -> Target:
        """A URL :func:`construct` accepted (``http``/``https`` mapped to ``ws``/``wss``)."""
        parts = urlsplit(url)
        secure = parts.scheme.lower() in ("wss", "https")
        host = parts.hostname or ""
        default = 443 if secure else 80
        authority = f"[{host}]" if ":" in host else host
        if parts.port is not None and parts.port != default:
            authority += f":{parts.port}"
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(
            host=host,
            port=parts.port or default,
            secure=secure,
            host_header=authority.encode("idna"),
            resource=quote(resource, safe=_VISIBLE_ASCII).encode("ascii"),
        )


class ConstructorThrew(Exception):
    """``new WebSocket(url, protocols)`` threw: the connect's terminal ``exception``."""

    def __init__(self, event: ScriptEvent) -> None:
        super().__init__(f"the constructor throws {event.name}")
        self.event = event


class ReferenceSession(jsonlines.Session):
    """One ``WebSocket`` object: the model fed with what the network does."""

    def __init__(
        self,
        conn: int,
        url: str,
        protocols: Sequence[str],
        ca_file: str | None,
        *,
        echo: bool = False,
    ):
        super().__init__(conn, url, protocols, ca_file, echo=echo)
        self.model: WebSocketModel | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.stream = PeerStream(peer="server")
        self.deflate: ClientDeflate | None = None  # permessage-deflate agreed (RFC 7692)
        self.trailing = b""  # WebSocket bytes that came with the 101
        self.close_on_wire = False  # a Close frame went out
        self.done = False  # the terminal close event went out
        self._deadline: float | None = None
        self._timer: asyncio.Timeout | None = None

    # -- the opening handshake ---------------------------------------------------------

    async def connect(self) -> None:
        made = construct(self.url, self.protocols)
        if isinstance(made, ScriptEvent):
            raise ConstructorThrew(made)
        self.model = model = made
        try:
            async with asyncio.timeout(OPENING_TIMEOUT):
                request, reader = await self._handshake(Target.parse(self.url))
        except (OSError, ValueError) as exc:  # TimeoutError and SSLError are OSErrors
            self._log(f"network error: {jsonlines.describe(exc)}")
            await self._finish(model.network_error(network_error_kind(exc)))
            return
        response = reader.response
        if response is None:
            why = reader.error or "the connection closed before a response"
            self._log(f"no valid response: {why}")
            await self._finish(model.network_error("no-response"))
            return
        if response.status in REDIRECT_STATUSES:
            self._log(f"{response.describe()}: not followed (Fetch redirect mode 'error')")
            await self._finish(model.network_error("redirect"))
            return
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in response.headers]
        events = model.response(response.status, headers, key=request.key.decode("ascii"))
        if model.failed:
            self._log(f"{response.describe()} fails the connection: {', '.join(model.why_failed)}")
            await self._finish(events)
            return
        agreed = self.negotiate_deflate(response.values(EXTENSIONS_HEADER))
        if isinstance(agreed, str):  # RFC 7692 §5, §7: an invalid response fails it
            self._log(f"{response.describe()} fails the connection: {agreed}")
            await self._finish(model.transport_closed())
            return
        if agreed is not None:
            self.deflate = agreed
            self.stream = PeerStream(peer="server", allowed_rsv=RSV1_BIT)
        self.trailing = reader.trailing
        self._report(events)

    async def _handshake(self, target: Target) -> tuple[HandshakeRequest, ResponseReader]:
        """Connect, send the request, read the response head (RFC 6455 §4.1)."""
        assert self.model is not None
        context = None
        if target.secure:
            context = ssl.create_default_context(cafile=self.ca_file)
        self.reader, self.writer = await asyncio.open_connection(
            target.host,
            target.port,
            ssl=context,
            server_hostname=target.host if context is not None else None,
        )
        request = build_request(
            target.host_header,
            target.resource,
            protocols=[p.encode("ascii") for p in self.model.protocols],
            extensions=self.offer(),
            origin=ORIGIN,
        )
        self.writer.write(request.to_bytes())
        await self.writer.drain()
        reader = ResponseReader()
        while reader.response is None and reader.error is None and not reader.eof:
            reader.feed(await self.reader.read(READ_CHUNK))
        return request, reader

    def report_failure(self, exc: Exception) -> None:
        if isinstance(exc, ConstructorThrew):
            self._report([exc.event])
        else:
            jsonlines.emit_adapter_failure(self.conn, "AdapterError", jsonlines.describe(exc))

    # -- after the 101 -----------------------------------------------------------------

    async def receive(self) -> None:
        model = self.model
        assert model is not None
        if self.trailing:
            await self._on_bytes(self.trailing)
        while not self.done:
            data = await self._read()
            if data is None:
                await self._deadline_passed()
            elif not data:
                self._log("the server closed the TCP connection")
                await self._finish(model.transport_closed())
            elif model.received_close is None:  # §5.5.1: nothing is processed after a Close
                await self._on_bytes(data)

    async def _read(self) -> bytes | None:
        """The next bytes; ``b""`` at EOF or a reset, None when the deadline passed."""
        assert self.reader is not None
        timer = self._timer = asyncio.timeout_at(self._deadline)
        try:
            async with timer:
                return await self.reader.read(READ_CHUNK)
        except OSError as exc:
            if timer.expired():
                return None
            self._log(f"read: {jsonlines.describe(exc)}")
            return b""
        finally:
            self._timer = None

    def _arm(self, delay: float) -> None:
        """Give the current wait ``delay`` seconds from now."""
        self._deadline = asyncio.get_running_loop().time() + delay
        if self._timer is not None:
            self._timer.reschedule(self._deadline)

    async def _deadline_passed(self) -> None:
        assert self.model is not None
        if self.model.received_close is not None:
            self._log(f"the server kept TCP open {LINGER_TIMEOUT:g} s after the closing handshake")
        else:
            self._log(f"no Close from the server within {CLOSING_TIMEOUT:g} s of the client's")
        await self._finish(self.model.transport_closed())

    async def _on_bytes(self, data: bytes) -> None:
        model = self.model
        assert model is not None
        for event in self.stream.feed(self.frame_bytes(data)):
            if self.done or model.failed or model.received_close is not None:
                return
            code = self.violation_code(event) if isinstance(event, Violation) else None
            if code is not None:
                await self._fail(code, str(event))
            elif isinstance(event, FrameTooLarge | MessageTooLarge):
                await self._fail(CloseCode.MESSAGE_TOO_BIG, f"{event}")
            elif isinstance(event, Frame):
                await self._on_frame(event)

    async def _on_frame(self, frame: Frame) -> None:
        model = self.model
        assert model is not None
        received = frame if self.deflate is None else self.deflate.receive(frame)
        if isinstance(received, Failure):
            await self._fail(received.code, received.why)
            return
        if received is None:
            return  # a compressed message's fragment: inflated once whole (RFC 7692 §6.2)
        screened = self.screen(received)
        if screened is None:
            return
        frame, payload = screened, screened.payload
        if frame.opcode == Opcode.CLOSE and len(payload) == 1:
            await self._fail(CloseCode.PROTOCOL_ERROR, "a Close body of 1 byte (§5.5.1)")
            return
        if frame.opcode == Opcode.CLOSE and len(payload) >= 2:
            code = int.from_bytes(payload[:2], "big")
            if not self.accepts_close_code(code):
                await self._fail(CloseCode.PROTOCOL_ERROR, f"a Close with code {code} (§7.4)")
                return
        if frame.opcode == Opcode.CLOSE and first_invalid_offset(payload[2:]) is not None:
            await self._fail(
                CloseCode.INVALID_FRAME_PAYLOAD_DATA, "a Close reason that is not UTF-8 (§8.1)"
            )
            return
        events = model.frame(
            frame.opcode,
            payload,
            masked=frame.mask is not None,
            fin=frame.fin,
            rsv=frame.rsv1 or frame.rsv2 or frame.rsv3,
        )
        if model.failed:
            code = CloseCode.PROTOCOL_ERROR
            if INVALID_UTF8 in model.why_failed:
                code = CloseCode.INVALID_FRAME_PAYLOAD_DATA
            self._log(f"failing the connection: {', '.join(model.why_failed)}")
            await self._finish(events, close_code=code)
            return
        self._report(events)
        for event in events:
            if event.type == "message" and event.data is not None:
                await self.echo_back(event.data)
        pong = self.pong(payload) if frame.opcode == Opcode.PING else None
        if pong is not None:
            await self._send(pong)
        elif frame.opcode == Opcode.CLOSE:
            reply = self.close_reply(self._reply_body(model.sent_close or b""))
            if reply is not None and not self.close_on_wire:
                await self._send_close(reply)
            self._arm(self.linger())  # §7.1.1: the server closes TCP first

    def _reply_body(self, echo: bytes) -> bytes:
        """The echoed status code (§5.5.1), or none if it may not be sent (§7.4.1)."""
        if len(echo) >= 2 and not is_valid_close_code(int.from_bytes(echo[:2], "big")):
            code = int.from_bytes(echo[:2], "big")
            self._log(f"the server's Close carried {code}, which may not be sent: reply empty")
            return b""
        return echo

    async def _fail(self, code: int, why: str) -> None:
        """Fail the connection for a fault the model does not see (§7.1.7)."""
        assert self.model is not None
        self._log(f"failing the connection: {why}")
        await self._finish(self.model.transport_closed(), close_code=code)

    # -- script calls ------------------------------------------------------------------

    async def send(self, text: str) -> None:
        model = self.model
        if model is None or self.done:
            return
        text = usv(text)
        before = len(model.sent_messages)
        self._report(model.send(text))
        if len(model.sent_messages) > before:
            await self._send(Frame(Opcode.TEXT, text.encode("utf-8")))

    async def send_message(self, data: str | bytes) -> None:
        """``ws.send(data)``: a string as a text message, bytes (an ArrayBuffer) as binary."""
        if isinstance(data, str):
            await self.send(data)
            return
        model = self.model
        if model is None or self.done or model.ready_state is not ReadyState.OPEN:
            return  # WHATWG: send() on a CLOSING or CLOSED WebSocket only counts the bytes
        await self._send(Frame(Opcode.BINARY, data))

    async def close(self, code: int | None, reason: str | None) -> None:
        model = self.model
        if model is None or self.done:
            return
        events = model.close(
            code if isinstance(code, int) else None,
            usv(reason) if isinstance(reason, str) else None,
        )
        if model.failed:
            await self._finish(events)
            return
        self._report(events)
        if model.sent_close is not None and not self.close_on_wire:
            await self._send_close(model.sent_close)
            self._arm(CLOSING_TIMEOUT)

    # -- the wire ----------------------------------------------------------------------

    async def _send(self, frame: Frame, *more: Frame) -> None:
        """Write ``frame`` (then ``more``, in the same write), each masked with a fresh key
        (§5.1, §5.3), under a deadline."""
        writer = self.writer
        if writer is None or writer.transport.is_closing():
            return
        if self.deflate is not None:
            frame = self.deflate.send(frame)  # RFC 7692 §7.2.1
        wire = [self.outgoing(replace(f, mask=self.mask_key())) for f in (frame, *more)]
        writer.write(b"".join(encode_frame(f) for f in wire))
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                await writer.drain()
        except TimeoutError:
            self._log(f"the server read nothing for {WRITE_TIMEOUT:g} s: dropped")
            writer.transport.abort()
        except OSError as exc:
            self._log(f"write: {jsonlines.describe(exc)}")

    async def _send_close(self, body: bytes) -> None:
        self.close_on_wire = True
        await self._send(Frame(Opcode.CLOSE, self.close_body(body)), *self.after_close())

    async def _finish(
        self, events: Sequence[ScriptEvent], *, close_code: int | None = None
    ) -> None:
        """Close TCP now, after a last Close when failing an open connection; report ``events``.

        §7.1.7: after failing, nothing more is read; the Close is flushed, bounded.
        """
        writer = self.writer
        if writer is not None and not writer.transport.is_closing():
            established = self.model is not None and self.model.established
            if close_code is not None and established and not self.close_on_wire:
                self.close_on_wire = True
                body = self.close_body(close_payload(self.fail_code(close_code)))
                for frame in (Frame(Opcode.CLOSE, body), *self.after_close()):
                    writer.write(encode_frame(replace(frame, mask=self.mask_key())))
            writer.close()
        self._report(events)
        if writer is not None:
            try:
                async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                    await writer.wait_closed()
            except OSError:
                writer.transport.abort()

    async def abort(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()

    # -- decisions a client fault changes (fixtures/client_faults.py) -----------------

    def frame_bytes(self, data: bytes) -> bytes:
        """The server's bytes as the frame decoder reads them: as received (§5.2)."""
        return data

    def violation_code(self, violation: Violation) -> int | None:
        """The code to fail with for a header fault the model does not see, or None.

        §5.5: control payloads of 125 bytes or less; §5.4: control frames not fragmented;
        §8.1: invalid UTF-8, failed on the fragment that holds it (fail-fast).
        """
        if violation.requirement == rules.TEXT_UTF8:
            return CloseCode.INVALID_FRAME_PAYLOAD_DATA
        return CloseCode.PROTOCOL_ERROR if violation.requirement in FATAL_VIOLATIONS else None

    def outgoing(self, frame: Frame) -> Frame:
        """A frame as written (§5.2: minimal length, RSV bits 0 unless an extension says)."""
        return frame

    def accepts_close_code(self, code: int) -> bool:
        """Whether a received Close code may be sent at all (§7.4): if not, the Close is
        refused as a protocol error."""
        return is_valid_close_code(code)

    def screen(self, frame: Frame) -> Frame | None:
        """The frame (inflated, under permessage-deflate) as the checks see it (§5.1, §5.2,
        §5.4, §5.5.1, §8.1); None skips it."""
        return frame

    def pong(self, ping: bytes) -> Frame | None:
        """The answer to a Ping (§5.5.2), with the same data (§5.5.3); None: no answer."""
        return Frame(Opcode.PONG, ping)

    def close_reply(self, body: bytes) -> bytes | None:
        """The body of the Close answering the server's (§5.5.1); None: no answer."""
        return body

    def close_body(self, body: bytes) -> bytes:
        """The body of each Close the client sends, as decided (§5.5.1, §7.4.1)."""
        return body

    def fail_code(self, code: int) -> int:
        """The status code of the Close sent when failing the connection (§7.1.7, §7.4.1)."""
        return code

    def linger(self) -> float:
        """Seconds to wait after the closing handshake for the server's TCP close (§7.1.1)."""
        return LINGER_TIMEOUT

    def mask_key(self) -> bytes | None:
        """The masking key of the next frame, fresh from a strong source (§5.3); None: unmasked."""
        return os.urandom(MASK_KEY_SIZE)

    def after_close(self) -> Sequence[Frame]:
        """Frames sent after the client's Close: none (§5.5.1)."""
        return ()

    def script_events(self, events: Sequence[ScriptEvent]) -> Sequence[ScriptEvent]:
        """The model's events as the script is told of them: unchanged (WHATWG WebSockets,
        "Feedback from the protocol")."""
        return events

    def offer(self) -> tuple[bytes, ...]:
        """The ``Sec-WebSocket-Extensions`` elements offered: the model's (WHATWG)."""
        assert self.model is not None
        return self.model.offered_extensions

    def negotiate_deflate(self, response: Sequence[bytes]) -> ClientDeflate | str | None:
        """permessage-deflate as the 101 agreed it, None if declined, or why the response
        fails the connection (RFC 7692 §5, §7)."""
        return negotiate(self.offer(), response)

    # -- events ------------------------------------------------------------------------

    def _log(self, message: str) -> None:
        jsonlines.emit("log", self.conn, message=message)

    def _report(self, events: Sequence[ScriptEvent]) -> None:
        """The model's script events as the contract's (docs/client-adapters.md)."""
        for event in self.script_events(events):
            state = {} if event.ready_state is None else {"readyState": int(event.ready_state)}
            if event.type == "open":
                extensions = event.extensions or ""
                jsonlines.emit(
                    "open", self.conn, protocol=event.protocol or "", extensions=extensions, **state
                )
            elif event.type == "message":
                if isinstance(event.data, str):
                    jsonlines.emit("message", self.conn, text=event.data, **state)
                else:
                    data = base64.b64encode(event.data or b"").decode("ascii")
                    jsonlines.emit("message", self.conn, binary=data, **state)
            elif event.type == "error":
                jsonlines.emit("error", self.conn, message="the connection failed", **state)
            elif event.type == "close":
                self.done = True
                jsonlines.emit(
                    "close",
                    self.conn,
                    code=event.code,
                    reason=event.reason,
                    wasClean=event.was_clean,
                    **state,
                )
            else:
                jsonlines.emit(
                    "exception",
                    self.conn,
                    phase="connect" if event.phase == "constructor" else event.phase,
                    name=event.name,
                    message=f"{event.describe()} ({', '.join(event.requirements)})",
                    status=None,
                    headers=None,
                    body=None,
                    redirected=None,
                    **state,
                )


def main() -> None:
    """Run the reference client as a JSON-lines adapter on stdin/stdout."""
    jsonlines.run(f"ws-conformance reference client {__version__}", ReferenceSession)
