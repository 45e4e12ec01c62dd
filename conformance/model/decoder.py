"""Incremental decoding of a peer's byte stream, reporting every rule it breaks.

:class:`FrameDecoder` splits the stream into frames (RFC 6455 §5.2) and checks each
header; :class:`PeerStream` adds the message layer: fragmentation (§5.4), control
frames (§5.5), Close bodies (§5.5.1, §7.4) and text validity (§5.6, §8.1).

Decoding goes on after a violation whenever the stream is still well framed. Memory
stays bounded: a frame announcing more than ``max_payload`` bytes (even 2**63-1) is
reported as :class:`FrameTooLarge` and decoding stops, nothing is allocated by
announced length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

from conformance.model import rules
from conformance.model.codec import (
    FIN_BIT,
    LENGTH_64_MSB,
    MASK_BIT,
    OPCODE_BITS,
    PAYLOAD_LEN_BITS,
    RSV1_BIT,
    RSV2_BIT,
    RSV3_BIT,
    apply_mask,
)
from conformance.model.constants import (
    CLOSE_CODE_SIZE,
    LENGTH_16BIT_MARKER,
    LENGTH_64BIT_MARKER,
    MASK_KEY_SIZE,
    MAX_7BIT_LENGTH,
    MAX_16BIT_LENGTH,
    MAX_CONTROL_PAYLOAD,
    CloseCode,
    Opcode,
    close_code_status,
    is_control_opcode,
    is_reserved_opcode,
)
from conformance.model.frames import Frame, LengthForm
from conformance.model.utf8 import Utf8Validator, first_invalid_offset
from conformance.model.violations import Violation

Peer = Literal["client", "server"]

DEFAULT_MAX_PAYLOAD: Final = 16 * 2**20
DEFAULT_MAX_MESSAGE: Final = 64 * 2**20
RSV_BITS: Final = RSV1_BIT | RSV2_BIT | RSV3_BIT
BASE_HEADER_SIZE: Final = 2
EXTENDED_LENGTH_SIZE: Final = {LENGTH_16BIT_MARKER: 2, LENGTH_64BIT_MARKER: 8}

_NEVER_SENT_RULES: Final = {
    CloseCode.RESERVED: rules.CLOSE_CODE_1004_RESERVED,
    CloseCode.NO_STATUS_RCVD: rules.CLOSE_CODE_1005_NOT_SENT,
    CloseCode.ABNORMAL_CLOSURE: rules.CLOSE_CODE_1006_NOT_SENT,
    CloseCode.TLS_HANDSHAKE: rules.CLOSE_CODE_1015_NOT_SENT,
}


def close_code_rule(code: int) -> str | None:
    """The rule a Close frame carrying ``code`` breaks, or None (RFC 6455 §7.4.1, §7.4.2)."""
    status = close_code_status(code)
    if status == "valid":
        return None
    if status == "reserved-never-sent":
        return _NEVER_SENT_RULES[CloseCode(code)]
    if status == "unassigned":
        return rules.CLOSE_CODE_PROTOCOL_RANGE
    if code < CloseCode.NORMAL_CLOSURE:
        return rules.CLOSE_CODE_UNUSED_RANGE
    return rules.CLOSE_CODE_OUT_OF_RANGE


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class FrameTooLarge:
    """A frame at ``offset`` announced ``declared_length`` > ``max_payload``; decoding stopped."""

    opcode: int
    declared_length: int
    offset: int


@dataclass(frozen=True, slots=True)
class MessageTooLarge:
    """Fragments of one message passed ``max_message`` bytes at ``offset``; decoding stopped."""

    opcode: int
    size: int
    offset: int


@dataclass(frozen=True, slots=True)
class Message:
    """A complete data message, reassembled from its fragments (RFC 6455 §5.4, §5.6).

    ``rsv1`` is the first frame's RSV1 bit. When RSV1 was negotiated (``allowed_rsv``,
    per-message compression, RFC 7692 §6) such a payload is left as received and its
    text is not checked.
    """

    opcode: int
    data: bytes
    rsv1: bool = False


@dataclass(frozen=True, slots=True)
class CloseReceived:
    """A Close frame (RFC 6455 §5.5.1); ``code`` is None for a body shorter than 2 bytes."""

    code: int | None
    reason: bytes
    raw_payload: bytes


@dataclass(frozen=True, slots=True)
class PingReceived:
    """A Ping frame (RFC 6455 §5.5.2)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class PongReceived:
    """A Pong frame (RFC 6455 §5.5.3)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class DataAfterClose:
    """A frame starting at ``offset`` arrived after the peer's Close (RFC 6455 §5.5.1)."""

    opcode: int
    offset: int


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """The peer's stream ended at ``offset`` (the total byte count)."""

    offset: int
    partial_frame_bytes: int
    message_in_progress: bool
    close_received: bool


FrameEvent = Frame | Violation | FrameTooLarge
Event = (
    Frame
    | Violation
    | FrameTooLarge
    | MessageTooLarge
    | Message
    | CloseReceived
    | PingReceived
    | PongReceived
    | DataAfterClose
    | EndOfStream
)


class Located(NamedTuple):
    """A frame-level event with where its frame starts and where its payload starts."""

    event: FrameEvent
    start: int
    payload_start: int


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True, slots=True)
class _Header:
    start: int
    first: int
    opcode: int
    mask: bytes | None
    length: int
    length_form: LengthForm
    length_msb: bool
    size: int


class FrameDecoder:
    """Split a peer's bytes into frames and check each header (RFC 6455 §5.1, §5.2, §5.5).

    ``peer="client"`` expects masked frames, ``peer="server"`` unmasked ones.
    ``allowed_rsv`` is the mask of RSV bits, as placed in the first header byte
    (:data:`~conformance.model.codec.RSV1_BIT` ...), that a negotiated extension uses.
    """

    def __init__(
        self,
        *,
        peer: Peer,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        allowed_rsv: int = 0,
    ) -> None:
        self.peer: Peer = peer
        self.max_payload = max_payload
        self.allowed_rsv = allowed_rsv
        self.bytes_received = 0
        self.frames_decoded = 0
        self.too_large: FrameTooLarge | None = None
        self.halted = False
        self._buf = bytearray()
        self._pos = 0  # next unparsed byte in _buf
        self._base = 0  # stream offset of _buf[0]
        self._header: _Header | None = None

    @property
    def buffered(self) -> int:
        """Bytes of a frame received but not yet complete."""
        pending = len(self._buf) - self._pos
        return pending if self._header is None else pending + self._header.size

    def halt(self) -> None:
        """Stop decoding and drop buffered bytes; later input is only counted."""
        self.halted = True
        self._buf = bytearray()
        self._pos = 0
        self._header = None

    def feed(self, data: bytes | bytearray | memoryview) -> list[FrameEvent]:
        """Decode ``data``; return frames and violations in stream order."""
        return [located.event for located in self.feed_located(data)]

    def feed_located(self, data: bytes | bytearray | memoryview) -> list[Located]:
        """Like :meth:`feed`, with each event's frame and payload offsets."""
        self.bytes_received += len(data)
        if self.halted:
            return []
        self._buf += data
        out: list[Located] = []
        while True:
            header = self._header
            if header is None:
                header = self._parse_header()
                if header is None:
                    break
                payload_start = header.start + header.size
                out.extend(
                    Located(v, header.start, payload_start) for v in self._check_header(header)
                )
                if header.length > self.max_payload:
                    event = FrameTooLarge(header.opcode, header.length, header.start)
                    self.too_large = event
                    out.append(Located(event, header.start, payload_start))
                    self.halt()
                    return out
                self._header = header
                self._pos += header.size
            end = self._pos + header.length
            if len(self._buf) < end:
                break
            out.append(Located(self._frame(header, end), header.start, header.start + header.size))
            self._pos = end
            self._header = None
            self.frames_decoded += 1
        if self._pos:
            del self._buf[: self._pos]
            self._base += self._pos
            self._pos = 0
        return out

    def _parse_header(self) -> _Header | None:
        buf, pos = self._buf, self._pos
        available = len(buf) - pos
        if available < BASE_HEADER_SIZE:
            return None
        first, second = buf[pos], buf[pos + 1]
        marker = second & PAYLOAD_LEN_BITS
        masked = bool(second & MASK_BIT)
        extended = EXTENDED_LENGTH_SIZE.get(marker, 0)
        size = BASE_HEADER_SIZE + extended + (MASK_KEY_SIZE if masked else 0)
        if available < size:
            return None
        field_end = pos + BASE_HEADER_SIZE + extended
        length = marker
        if extended:
            length = int.from_bytes(buf[pos + BASE_HEADER_SIZE : field_end], "big")
        form = LengthForm.MINIMAL
        if marker == LENGTH_16BIT_MARKER and length <= MAX_7BIT_LENGTH:
            form = LengthForm.BITS16
        elif marker == LENGTH_64BIT_MARKER and length <= MAX_16BIT_LENGTH:
            form = LengthForm.BITS64
        return _Header(
            start=self._base + pos,
            first=first,
            opcode=first & OPCODE_BITS,
            mask=bytes(buf[field_end : field_end + MASK_KEY_SIZE]) if masked else None,
            length=length,
            length_form=form,
            length_msb=bool(length & LENGTH_64_MSB),
            size=size,
        )

    def _check_header(self, header: _Header) -> list[Violation]:
        """Header rules, in the order of the fields they concern."""
        start, opcode = header.start, header.opcode
        found: list[Violation] = []
        rsv = header.first & RSV_BITS & ~self.allowed_rsv
        if rsv:
            found.append(Violation(rules.RSV_MUST_BE_ZERO, f"RSV bits {rsv >> 4:03b} set", start))
        if is_reserved_opcode(opcode):
            found.append(Violation(rules.RESERVED_OPCODE, f"reserved opcode {opcode:#x}", start))
        control = is_control_opcode(opcode)
        if control and not header.first & FIN_BIT:
            found.append(
                Violation(rules.CONTROL_NOT_FRAGMENTED, f"control opcode {opcode:#x} FIN=0", start)
            )
        if self.peer == "client" and header.mask is None:
            found.append(Violation(rules.CLIENT_MUST_MASK, "unmasked client frame", start + 1))
        elif self.peer == "server" and header.mask is not None:
            found.append(Violation(rules.SERVER_MUST_NOT_MASK, "masked server frame", start + 1))
        if control and header.length > MAX_CONTROL_PAYLOAD:
            found.append(
                Violation(
                    rules.CONTROL_PAYLOAD_MAX,
                    f"control frame payload of {header.length} bytes",
                    start + 1,
                )
            )
        if header.length_form is not LengthForm.MINIMAL:
            found.append(
                Violation(
                    rules.MINIMAL_LENGTH,
                    f"length {header.length} in the {header.length_form.value}-bit form",
                    start + BASE_HEADER_SIZE,
                )
            )
        if header.length_msb:
            found.append(
                Violation(
                    rules.LENGTH_MSB_ZERO, "64-bit length with MSB set", start + BASE_HEADER_SIZE
                )
            )
        return found

    def _frame(self, header: _Header, end: int) -> Frame:
        with memoryview(self._buf) as view:
            raw = view[self._pos : end]
            payload = bytes(raw) if header.mask is None else apply_mask(raw, header.mask)
            raw.release()
        first = header.first
        return Frame(
            opcode=header.opcode,
            payload=payload,
            fin=bool(first & FIN_BIT),
            rsv1=bool(first & RSV1_BIT),
            rsv2=bool(first & RSV2_BIT),
            rsv3=bool(first & RSV3_BIT),
            mask=header.mask,
            length_form=header.length_form,
            length_msb=header.length_msb,
        )


# --------------------------------------------------------------------------- messages


class PeerStream:
    """Everything a peer sent, frame by frame and message by message (RFC 6455 §5, §7, §8).

    Beside the frame-level checks of :class:`FrameDecoder` it reports fragmentation
    errors (§5.4), Close bodies (§5.5.1, §7.4), data after Close (§5.5.1) and invalid
    UTF-8 text (§5.6, §8.1), checked per fragment so the offset is fail-fast.
    """

    def __init__(
        self,
        *,
        peer: Peer,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        max_message: int = DEFAULT_MAX_MESSAGE,
        allowed_rsv: int = 0,
    ) -> None:
        self.frames = FrameDecoder(peer=peer, max_payload=max_payload, allowed_rsv=allowed_rsv)
        self.max_message = max_message
        self.close: CloseReceived | None = None
        """The peer's first Close frame."""
        self.violations: list[Violation] = []
        """Every violation reported so far."""
        self.messages_received = 0
        self.too_large: FrameTooLarge | MessageTooLarge | None = None
        self.eof = False
        self.message_opcode: int | None = None
        """Opcode of the fragmented message in progress, if any."""
        self._parts: list[bytes] = []
        self._size = 0
        self._rsv1 = False
        self._text: Utf8Validator | None = None

    @property
    def peer(self) -> Peer:
        return self.frames.peer

    @property
    def bytes_received(self) -> int:
        return self.frames.bytes_received

    @property
    def frames_received(self) -> int:
        return self.frames.frames_decoded

    @property
    def close_received(self) -> bool:
        return self.close is not None

    @property
    def message_in_progress(self) -> bool:
        return self.message_opcode is not None

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        """Decode ``data``; return every event in stream order."""
        if self.eof:
            raise RuntimeError("feed() after feed_eof()")
        out: list[Event] = []
        for event, start, payload_start in self.frames.feed_located(data):
            if self.too_large is not None:
                break
            if isinstance(event, Frame):
                out.append(event)
                self._on_frame(event, start, payload_start, out)
            else:
                self._emit(event, out)
            if isinstance(event, FrameTooLarge):
                self.too_large = event
        return out

    def feed_eof(self) -> list[Event]:
        """The peer closed its side of the connection."""
        if self.eof:
            return []
        self.eof = True
        return [
            EndOfStream(
                offset=self.bytes_received,
                partial_frame_bytes=self.frames.buffered,
                message_in_progress=self.message_in_progress,
                close_received=self.close_received,
            )
        ]

    def _emit(self, event: Event, out: list[Event]) -> None:
        if isinstance(event, Violation):
            self.violations.append(event)
        out.append(event)

    def _on_frame(self, frame: Frame, start: int, payload_start: int, out: list[Event]) -> None:
        opcode = frame.opcode
        control = is_control_opcode(opcode)
        if self.close is not None:
            out.append(DataAfterClose(opcode, start))
            if not control:
                detail = f"opcode {opcode:#x} frame after Close"
                self._emit(Violation(rules.NO_DATA_AFTER_CLOSE, detail, start), out)
        elif opcode == Opcode.CLOSE:
            self._on_close(frame.payload, payload_start, out)
        elif opcode == Opcode.PING:
            out.append(PingReceived(frame.payload))
        elif opcode == Opcode.PONG:
            out.append(PongReceived(frame.payload))
        elif opcode == Opcode.CONTINUATION:
            if self.message_opcode is None:
                detail = "continuation frame with no message in progress"
                self._emit(Violation(rules.FRAGMENT_SEQUENCE, detail, start), out)
            else:
                self._on_fragment(frame, payload_start, out)
        elif opcode in (Opcode.TEXT, Opcode.BINARY):
            if self.message_opcode is not None:
                detail = f"opcode {opcode:#x} frame inside a fragmented message"
                self._emit(Violation(rules.NO_INTERLEAVE, detail, start), out)
            self._start_message(frame)
            self._on_fragment(frame, payload_start, out)
        # Reserved opcodes: FrameDecoder reported them; they carry no known meaning.

    def _on_close(self, payload: bytes, payload_start: int, out: list[Event]) -> None:
        code: int | None = None
        reason = b""
        if len(payload) == 1:
            detail = "close body of 1 byte"
            self._emit(Violation(rules.CLOSE_BODY_CODE, detail, payload_start), out)
        elif payload:
            code = int.from_bytes(payload[:CLOSE_CODE_SIZE], "big")
            reason = payload[CLOSE_CODE_SIZE:]
            rule = close_code_rule(code)
            if rule is not None:
                detail = f"close code {code} not allowed on the wire"
                self._emit(Violation(rule, detail, payload_start), out)
            bad = first_invalid_offset(reason)
            if bad is not None:
                where = payload_start + CLOSE_CODE_SIZE + bad
                detail = "close reason is not valid UTF-8"
                self._emit(Violation(rules.CLOSE_REASON_UTF8, detail, where), out)
        self.close = CloseReceived(code, reason, payload)
        out.append(self.close)

    def _start_message(self, frame: Frame) -> None:
        self.message_opcode = frame.opcode
        self._parts = []
        self._size = 0
        self._rsv1 = frame.rsv1
        compressed = frame.rsv1 and bool(self.frames.allowed_rsv & RSV1_BIT)
        checked = frame.opcode == Opcode.TEXT and not compressed
        self._text = Utf8Validator() if checked else None

    def _on_fragment(self, frame: Frame, payload_start: int, out: list[Event]) -> None:
        opcode = self.message_opcode
        assert opcode is not None
        payload = frame.payload
        before = self._size
        self._size += len(payload)
        if self._size > self.max_message:
            event = MessageTooLarge(opcode, self._size, payload_start)
            self.too_large = event
            out.append(event)
            self.frames.halt()
            self._parts = []
            return
        self._parts.append(payload)
        text = self._text
        if text is not None and text.valid and not text.feed(payload, final=frame.fin):
            assert text.error_offset is not None
            where = payload_start + text.error_offset - before
            self._emit(Violation(rules.TEXT_UTF8, "text message is not valid UTF-8", where), out)
        if frame.fin:
            out.append(Message(opcode, b"".join(self._parts), self._rsv1))
            self.messages_received += 1
            self.message_opcode = None
            self._parts = []
            self._text = None
