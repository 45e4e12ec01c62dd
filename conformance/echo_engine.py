"""A sans-IO server-side echo engine on the suite's own model (RFC 6455 §5, §7, §8).

:class:`EchoEngine` takes the client's bytes after the opening handshake and returns
what the server writes: each data message echoed (§5.6), each Ping answered (§5.5.2),
the closing handshake answered (§5.5.1), and any broken rule answered by
_Fail the WebSocket Connection_ (§7.1.7) with 1002, 1007 (§8.1) or 1009. It parses
with :class:`~conformance.model.decoder.PeerStream` and writes with
:func:`~conformance.model.codec.encode_frame`; nothing here does I/O.

Every rule lives in one overridable hook of :class:`WirePolicy`, whose defaults are
correct, so :mod:`fixtures.wire_faults` can break exactly one rule at a time.

With permessage-deflate agreed (RFC 7692; ``deflate``, from the opening handshake) a
message whose first frame has RSV1 is inflated (§7.2.2) with a 32,768-byte window and
kept context, then checked and echoed compressed under the agreed server window and
context rule (§7.2.1), RSV1 on its first frame only (§6.1); a message without RSV1 is
taken as is (§6.2). RSV1 on a control frame or a continuation fails with 1002 (§6.1),
data that is not DEFLATE with 1007 (§7.4.1: not consistent with the message's type, as
wsproto), text invalid once inflated with 1007 (RFC 6455 §8.1), and the size limit
applies to the inflated message (1009). The deflate hooks: ``compress_reply``,
``deflate_window_bits``, ``keep_context``, ``inflate_window_bits``,
``keep_inflate_context``, ``rsv1_on_control_ok``, ``rsv1_on_continuation_ok``,
``on_inflate_error``, ``compressed_echo``, ``uncompressed_echo``, ``deflate_pong``,
``inflate_limit``, ``inflate_after_final_block``, ``inflate_stored_blocks``,
``inflate_each_fragment``, ``uncompressed_into_window``.

Size limits (RFC 6455 §10.4): a frame whose header announces more than the message
limit fails at once, before its payload; so does a message past the limit after
reassembly (``message_limit``) or after inflation (``inflate_limit``), and a message in
more frames than the fragment cap (``fragment_limit``), each with ``limit_close_code``
(1009). ``input_filter`` lets a fault misread the incoming stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from conformance.model import rules
from conformance.model.codec import (
    MASK_BIT,
    OPCODE_BITS,
    PAYLOAD_LEN_BITS,
    RSV1_BIT,
    apply_mask,
    close_payload,
    encode_frame,
)
from conformance.model.constants import MASK_KEY_SIZE, CloseCode, Opcode
from conformance.model.decoder import (
    BASE_HEADER_SIZE,
    EXTENDED_LENGTH_SIZE,
    CloseReceived,
    Event,
    FrameTooLarge,
    Message,
    MessageTooLarge,
    PeerStream,
    PingReceived,
    PongReceived,
)
from conformance.model.frames import Frame
from conformance.model.server_extensions import DeflateSettings
from conformance.model.utf8 import Utf8Validator, first_invalid_offset
from conformance.model.violations import Violation
from conformance.server_deflate import (
    InflatedTooLarge,
    InflateError,
    ServerDeflater,
    ServerInflater,
)

DEFAULT_MAX_MESSAGE: Final = 16 * 2**20
"""Largest message (and frame) the engine takes before failing with 1009 (§7.4.1)."""
DEFAULT_MAX_FRAGMENTS: Final = 65_536
"""Most frames one message may come in before the engine fails with 1009: §10.4 names
"a long stream of small frames" (ws CVE-2026-48779). The full profile's densest
message is 4 MiB in 64-byte fragments: exactly this many."""

DATA_OPCODES: Final = frozenset({Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY})

RSV1_MISPLACED_RULE: Final = "rfc7692-6.1-rsv1-control-fail"
"""RFC 7692 §6.1: RSV1 on a control frame or a non-first fragment fails the connection."""

MAX_HEADER_SIZE: Final = BASE_HEADER_SIZE + max(EXTENDED_LENGTH_SIZE.values()) + MASK_KEY_SIZE
"""2 bytes, a 64-bit extended length and a masking key (§5.2)."""


class WirePolicy:
    """What the server does on the wire, one hook per rule; the defaults are correct.

    Hooks must not keep per-connection state: one policy may serve many connections.
    """

    def on_violation(self, violation: Violation) -> int | None:
        """The close code to _Fail the WebSocket Connection_ with (§7.1.7), None to go on.

        1007 for invalid UTF-8 text (§7.4.1, §8.1), 1002 (protocol error) otherwise.
        """
        if violation.requirement == rules.TEXT_UTF8:
            return CloseCode.INVALID_FRAME_PAYLOAD_DATA
        return CloseCode.PROTOCOL_ERROR

    def on_close_violation(self, violation: Violation, close: CloseReceived) -> int | None:
        """A broken rule of the client's Close body (§5.5.1, §7.4): as :meth:`on_violation`."""
        return self.on_violation(violation)

    def utf8_fail_fast(self) -> bool:
        """Check text as its bytes arrive, not once the message is whole (§8.1)."""
        return True

    def echo(self, message: Message, fragment_sizes: tuple[int, ...]) -> list[Frame]:
        """The frames echoing ``message``: one unfragmented frame, same opcode (§5.4, §5.6)."""
        return [Frame(message.opcode, message.data)]

    def pong(self, ping_payload: bytes) -> Frame | None:
        """The answer to a Ping: a Pong with identical Application data (§5.5.2, §5.5.3)."""
        return Frame(Opcode.PONG, ping_payload)

    def on_pong(self, payload: bytes) -> Frame | None:
        """The answer to an unsolicited Pong: none is expected (§5.5.3)."""
        return None

    def close_reply(self, received_code: int | None, reason: bytes) -> bytes | None:
        """The body of the Close answering the client's (§5.5.1); None sends no Close.

        Echoes the status code, 1000 when the client's Close had none (never 1005, §7.4.1).
        """
        code = CloseCode.NORMAL_CLOSURE if received_code is None else received_code
        return close_payload(code)

    def mask_key(self) -> bytes | None:
        """The masking key of a server frame: none, "A server MUST NOT mask" (§5.1)."""
        return None

    def after_close(self) -> bytes:
        """Bytes written after the server's Close: none (§5.5.1: no data after Close)."""
        return b""

    def close_transport_after_close(self) -> bool:
        """Close TCP right after sending a Close: the server closes first (§5.5.1, §7.1.1)."""
        return True

    def await_client_close(self) -> bool:
        """Having sent the first Close, keep TCP open until the client's Close arrives,
        then close it (§5.5.1: "After both sending and receiving a Close message");
        False: close TCP right after the Close (§7.1.1)."""
        return False

    def latest_ping_only(self) -> bool:
        """Of the Pings read together, answer only the last one (§5.5.3 MAY); False: each."""
        return False

    def defer_pongs_mid_message(self) -> bool:
        """Hold the Pong for a Ping received inside a fragmented message until that
        message is complete (and echoed); False: answer at once, as §5.5.2 "SHOULD
        respond with Pong frame as soon as is practical" asks."""
        return False

    # -- permessage-deflate (RFC 7692), used only once it was agreed --------------

    def compress_reply(self, message: Message) -> bool:
        """Echo ``message`` compressed (§6: a sender may compress any data message)."""
        return True

    def deflate_window_bits(self, agreed: DeflateSettings) -> int:
        """The window the server compresses with: the agreed one (§7.1.2.1, §7.2.1)."""
        return agreed.server_window_bits

    def keep_context(self, agreed: DeflateSettings) -> bool:
        """Keep the compression window between messages unless
        ``server_no_context_takeover`` was agreed (§7.1.1.1)."""
        return not agreed.server_no_context_takeover

    def inflate_window_bits(self, agreed: DeflateSettings) -> int:
        """The window the server inflates with (§7.2.2: 32,768 bytes unless agreed)."""
        return agreed.client_window_bits

    def keep_inflate_context(self, agreed: DeflateSettings) -> bool:
        """Inflate each message with the last one's window (§7.2.2 MUST; with
        ``client_no_context_takeover`` the server MAY reset it, and need not)."""
        return True

    def rsv1_on_control_ok(self) -> bool:
        """Take RSV1 on a control frame; False fails with 1002 (§6.1 MUST)."""
        return False

    def rsv1_on_continuation_ok(self) -> bool:
        """Take RSV1 on a continuation frame; False fails with 1002 (§6.1 MUST)."""
        return False

    def on_inflate_error(self, detail: str) -> int | None:
        """The close code for a compressed message that is not DEFLATE data: 1007
        (RFC 6455 §7.4.1, data not consistent with the message's type); None echoes nothing."""
        return CloseCode.INVALID_FRAME_PAYLOAD_DATA

    def compressed_echo(self, opcode: int, payload: bytes) -> list[Frame]:
        """The frames of a compressed echo: one frame, RSV1 set (§6.1, §7.2.1)."""
        return [Frame(opcode, payload, rsv1=True)]

    def uncompressed_echo(self, message: Message, fragment_sizes: tuple[int, ...]) -> list[Frame]:
        """The frames of an echo left uncompressed although deflate was agreed: as
        :meth:`echo`, RSV1 unset and the original data as is (§6.1)."""
        return self.echo(message, fragment_sizes)

    def deflate_pong(self, ping_payload: bytes) -> Frame | None:
        """The answer to a Ping once deflate was agreed: as :meth:`pong`, no RSV1 (§6.1)."""
        return self.pong(ping_payload)

    def message_limit(self, max_message: int) -> int:
        """The size a message may reach after reassembly: the limit on each frame too
        (§10.4 "a limit on frame sizes and the total message size after reassembly")."""
        return max_message

    def fragment_limit(self, max_fragments: int | None) -> int | None:
        """The most frames one message may come in (None: no cap; §10.4 "a long stream of
        small frames")."""
        return max_fragments

    def limit_close_code(self) -> int:
        """The close code when a size limit triggers: 1009, "a message that is too big for
        it to process" (§7.4.1)."""
        return CloseCode.MESSAGE_TOO_BIG

    def input_filter(self) -> Callable[[bytes], bytes] | None:
        """A fresh rewriter of one connection's incoming bytes, applied before decoding
        (None: the bytes as received). A fault reads the stream its own wrong way here."""
        return None

    def inflate_limit(self, max_message: int) -> int:
        """The size a compressed message may inflate to: the message limit, applied to the
        inflated data, the message the application gets (RFC 6455 §10.4; RFC 7692 §6.2)."""
        return max_message

    def inflate_after_final_block(self) -> bool:
        """Inflate the blocks that follow a BFINAL block in a message (§7.2.1: "The next
        DEFLATE block follows the padded data if any"); False stops at the BFINAL block."""
        return True

    def inflate_stored_blocks(self) -> bool:
        """Inflate stored (BTYPE 00) blocks like any other (§7.2.3.3); False fails a message
        whose first block is a stored block holding data."""
        return True

    def inflate_each_fragment(self) -> bool:
        """Inflate each fragment's payload on its own, 00 00 ff ff appended to each; False
        inflates the concatenation, as §6.2 requires ("Decompress the concatenation")."""
        return False

    def uncompressed_into_window(self) -> bool:
        """Add an uncompressed message to the inflate window; False, as §6.2 and §7.2.3.2
        require ("the LZ77 sliding window is not updated")."""
        return False


@dataclass(frozen=True, slots=True)
class EngineOutput:
    """What the server does now: write ``send``, then close TCP if ``close_transport``."""

    send: bytes = b""
    close_transport: bool = False


@dataclass(slots=True)
class _Incoming:
    """The data message being received: its opcode, fragment sizes and text check."""

    opcode: int
    sizes: list[int] = field(default_factory=list)
    text: Utf8Validator | None = None


@dataclass(slots=True)
class _Partial:
    """The frame whose bytes are still arriving, followed so text fails fast (§8.1)."""

    head: bytearray = field(default_factory=bytearray)
    size: int | None = None  # header size, once the whole header is in
    opcode: int = 0
    mask: bytes | None = None
    probed: int = 0  # payload bytes already checked


def _split_at(data: bytes, sizes: tuple[int, ...]) -> list[bytes]:
    """``data`` cut into pieces of ``sizes`` (a message's fragment payloads)."""
    pieces, start = [], 0
    for size in sizes:
        pieces.append(data[start : start + size])
        start += size
    return pieces


def _header_size(head: bytes | bytearray) -> int:
    """Size of a frame header from its first two bytes (§5.2)."""
    extended = EXTENDED_LENGTH_SIZE.get(head[1] & PAYLOAD_LEN_BITS, 0)
    return BASE_HEADER_SIZE + extended + (MASK_KEY_SIZE if head[1] & MASK_BIT else 0)


class EchoEngine:
    """The server side of a WebSocket connection after the 101: echo, per ``policy``.

    Feed the client's bytes to :meth:`receive` and its end of stream to
    :meth:`receive_eof`; write each :class:`EngineOutput` in order. ``max_message``
    bounds memory: a larger frame or message fails with 1009 (§7.4.1), a frame as
    soon as its header announces it; so does a message in more than ``max_fragments``
    frames (§10.4, None: no cap).
    """

    def __init__(
        self,
        policy: WirePolicy | None = None,
        *,
        max_message: int = DEFAULT_MAX_MESSAGE,
        max_fragments: int | None = DEFAULT_MAX_FRAGMENTS,
        deflate: DeflateSettings | None = None,
    ) -> None:
        self.policy = policy = policy or WirePolicy()
        self.deflate = deflate
        """The agreed permessage-deflate parameters (RFC 7692 §7.1), None without."""
        self.stream = PeerStream(
            peer="client",
            max_payload=max_message,
            max_message=policy.message_limit(max_message),
            allowed_rsv=RSV1_BIT if deflate is not None else 0,
        )
        self.max_fragments = policy.fragment_limit(max_fragments)
        """The most frames one message may come in (None: no cap)."""
        self._filter = policy.input_filter()
        self._deflater: ServerDeflater | None = None
        self._inflater: ServerInflater | None = None
        if deflate is not None:
            self._deflater = ServerDeflater(
                policy.deflate_window_bits(deflate), policy.keep_context(deflate)
            )
            self._inflater = ServerInflater(
                policy.inflate_window_bits(deflate),
                policy.keep_inflate_context(deflate),
                policy.inflate_limit(max_message),
                after_final=policy.inflate_after_final_block(),
                stored_ok=policy.inflate_stored_blocks(),
            )
        self.sent_close: bytes | None = None
        """The body of the Close the server sent; after it, nothing more (§5.5.1)."""
        self.close_received = False
        """The client's Close was handled; later input is ignored (§5.5.1)."""
        self._close_transport = False
        self._message: _Incoming | None = None
        self._partial: _Partial | None = None
        self._close_violations: list[Violation] = []
        self._pending_pong: bytes | None = None  # the latest Ping, with latest_ping_only
        self._held_pongs: list[bytes] = []  # Pings inside a message, with defer_pongs_mid_message

    @property
    def close_sent(self) -> bool:
        """The server sent its Close."""
        return self.sent_close is not None

    @property
    def done(self) -> bool:
        """No further input is processed: a Close was sent or received, or the stream ended."""
        return self.close_sent or self.close_received or self.stream.eof

    def receive(self, data: bytes) -> EngineOutput:
        """Process the client's next bytes (any chunking gives the same output in total)."""
        if self._filter is not None:
            data = self._filter(data)
        out = bytearray()
        if self.close_sent and not self.close_received and not self.stream.eof:
            self._await_close(data)
        elif not self.done:
            for event in self.stream.feed(data):
                self._on_event(event, out)
                if self.done:
                    break
            self._flush_pong(out)
            if not self.done:
                self._probe(data, out)
        return EngineOutput(bytes(out), self._close_transport)

    def _await_close(self, data: bytes) -> None:
        """After its own Close, with ``await_client_close``: close TCP at the client's."""
        if self._close_transport or not self.policy.await_client_close():
            return
        if any(isinstance(event, CloseReceived) for event in self.stream.feed(data)):
            self.close_received = True
            self._close_transport = self.policy.close_transport_after_close()

    def receive_eof(self) -> EngineOutput:
        """The client closed TCP: the server closes its side too (§7.1.1)."""
        if not self.stream.eof:
            self.stream.feed_eof()
        self._close_transport = True
        return EngineOutput(b"", True)

    def close(self, code: int = CloseCode.GOING_AWAY) -> EngineOutput:
        """Start the closing handshake from the server side (§5.5.1, §7.1.2)."""
        out = bytearray()
        if not self.close_sent:
            self._send_close(close_payload(code), out)
        return EngineOutput(bytes(out), self._close_transport)

    # -- events ------------------------------------------------------------------

    def _on_event(self, event: Event, out: bytearray) -> None:
        if isinstance(event, Violation):
            if event.requirement == rules.TEXT_UTF8:
                return  # the engine checks text itself, fail-fast or per message
            if event.requirement in rules.CLOSE_BODY_RULES:
                self._close_violations.append(event)  # judged with the Close it concerns
                return
            self._violation(event, out)
        elif isinstance(event, FrameTooLarge | MessageTooLarge):
            self._fail(self.policy.limit_close_code(), out)
        elif isinstance(event, Frame):
            self._on_frame(event, out)
        elif isinstance(event, Message):
            self._on_message(event, out)
        elif isinstance(event, PingReceived):
            if self._message is not None and self.policy.defer_pongs_mid_message():
                self._held_pongs.append(event.payload)
            elif self.policy.latest_ping_only():
                self._pending_pong = event.payload
            else:
                self._send(self._pong(event.payload), out)
        elif isinstance(event, PongReceived):
            self._send(self.policy.on_pong(event.payload), out)
        elif isinstance(event, CloseReceived):
            self._on_close(event, out)

    def _on_frame(self, frame: Frame, out: bytearray) -> None:
        partial, self._partial = self._partial, None
        begun = partial is not None and partial.size is not None
        probed = partial.probed if partial is not None and begun else 0
        if frame.rsv1 and self.deflate is not None and self._rsv1_misplaced(frame):
            self._violation(self._rsv1_violation(frame), out)
            return
        if frame.opcode not in DATA_OPCODES:
            return
        if not begun:
            self._begin(frame.opcode, frame.rsv1)
        if self._message is not None:
            self._message.sizes.append(len(frame.payload))
            cap = self.max_fragments
            if cap is not None and len(self._message.sizes) > cap:
                self._fail(self.policy.limit_close_code(), out)  # §10.4: small frames
                return
            self._check_text(frame.payload[probed:], frame.fin, out)

    def _rsv1_misplaced(self, frame: Frame) -> bool:
        """RFC 7692 §6.1: RSV1 only on the first frame of a data message."""
        if frame.is_control:
            return not self.policy.rsv1_on_control_ok()
        if frame.opcode == Opcode.CONTINUATION:
            return not self.policy.rsv1_on_continuation_ok()
        return False

    @staticmethod
    def _rsv1_violation(frame: Frame) -> Violation:
        if frame.is_control:
            return Violation(RSV1_MISPLACED_RULE, f"RSV1 on control frame {frame.opcode:#x}")
        return Violation(RSV1_MISPLACED_RULE, "RSV1 on a continuation frame")

    def _inflate(self, message: Message, sizes: tuple[int, ...], out: bytearray) -> Message | None:
        """The message as sent before compression (§7.2.2), or None having failed."""
        if not message.rsv1 or self._inflater is None:
            if self._inflater is not None and self.policy.uncompressed_into_window():
                self._inflater.take_uncompressed(message.data)
            return message
        pieces = [message.data]
        if self.policy.inflate_each_fragment():
            pieces = _split_at(message.data, sizes)
        try:
            data = b"".join(self._inflater.inflate(piece) for piece in pieces)
        except InflatedTooLarge:
            self._fail(self.policy.limit_close_code(), out)
            return None
        except InflateError as exc:
            code = self.policy.on_inflate_error(str(exc))
            if code is not None:
                self._fail(code, out)
            return None
        if message.opcode == Opcode.TEXT and first_invalid_offset(data) is not None:
            detail = "inflated text message is not valid UTF-8"
            self._violation(Violation(rules.TEXT_UTF8, detail), out)
            if self.done:
                return None
        return replace(message, data=data, rsv1=False)

    def _on_message(self, message: Message, out: bytearray) -> None:
        incoming, self._message = self._message, None
        sizes = tuple(incoming.sizes) if incoming is not None else (len(message.data),)
        compressed = message.rsv1 and self.deflate is not None
        late = message.opcode == Opcode.TEXT and not self.policy.utf8_fail_fast()
        if late and not compressed and first_invalid_offset(message.data) is not None:
            self._violation(Violation(rules.TEXT_UTF8, "text message is not valid UTF-8"), out)
            if self.done:
                return
        inflated = self._inflate(message, sizes, out)
        if inflated is None:
            return
        if self._deflater is not None and self.policy.compress_reply(inflated):
            payload = self._deflater.compress(inflated.data)
            frames = self.policy.compressed_echo(inflated.opcode, payload)
        elif self._deflater is not None:
            frames = self.policy.uncompressed_echo(inflated, sizes)
        else:
            frames = self.policy.echo(inflated, sizes)
        for frame in frames:
            self._send(frame, out)
        self._release_held_pongs(out)

    def _on_close(self, close: CloseReceived, out: bytearray) -> None:
        self.close_received = True
        violations, self._close_violations = self._close_violations, []
        for violation in violations:
            code = self.policy.on_close_violation(violation, close)
            if code is not None:
                self._fail(code, out)
                return
        reply = self.policy.close_reply(close.code, close.reason)
        if reply is not None:
            self._send_close(reply, out)

    # -- text (§5.6, §8.1) ----------------------------------------------------------

    def _begin(self, opcode: int, rsv1: bool) -> None:
        """A data frame's header is in: start a message, or continue the current one (§5.4).

        A compressed text message (RSV1 agreed, RFC 7692 §6) is checked once inflated."""
        if opcode in (Opcode.TEXT, Opcode.BINARY):
            compressed = rsv1 and self.deflate is not None
            check = opcode == Opcode.TEXT and self.policy.utf8_fail_fast() and not compressed
            self._message = _Incoming(opcode, text=Utf8Validator() if check else None)

    def _check_text(self, payload: bytes, final: bool, out: bytearray) -> None:
        incoming = self._message
        if incoming is None or incoming.text is None or incoming.text.feed(payload, final):
            return
        incoming.text = None  # report once per message
        self._violation(Violation(rules.TEXT_UTF8, "text message is not valid UTF-8"), out)

    def _probe(self, data: bytes, out: bytearray) -> None:
        """Check the text of the frame still arriving, so invalid UTF-8 fails fast (§8.1)."""
        pending = self.stream.frames.buffered
        if pending == 0:
            self._partial = None
            return
        if pending <= len(data):
            self._partial = _Partial()  # the frame started in this chunk
        partial = self._partial
        if partial is None:
            return
        if partial.size is None:
            start = max(len(data) - pending, 0)
            partial.head += data[start : start + MAX_HEADER_SIZE - len(partial.head)]
            if len(partial.head) < BASE_HEADER_SIZE:
                return
            size = _header_size(partial.head)
            if len(partial.head) < size:
                return
            partial.size = size
            partial.opcode = partial.head[0] & OPCODE_BITS
            if partial.head[1] & MASK_BIT:
                partial.mask = bytes(partial.head[size - MASK_KEY_SIZE : size])
            if partial.opcode in DATA_OPCODES:
                self._begin(partial.opcode, bool(partial.head[0] & RSV1_BIT))
        received = pending - partial.size
        fresh = received - partial.probed
        if fresh <= 0 or partial.opcode not in DATA_OPCODES:
            return
        payload = data[len(data) - fresh :]
        if partial.mask is not None:
            turn = partial.probed % MASK_KEY_SIZE
            payload = apply_mask(payload, partial.mask[turn:] + partial.mask[:turn])
        partial.probed = received
        self._check_text(payload, False, out)

    # -- writing -----------------------------------------------------------------

    def _violation(self, violation: Violation, out: bytearray) -> None:
        code = self.policy.on_violation(violation)
        if code is not None:
            self._fail(code, out)

    def _fail(self, code: int, out: bytearray) -> None:
        """_Fail the WebSocket Connection_: a Close with ``code``, then close TCP (§7.1.7)."""
        self._send_close(close_payload(code), out)

    def _send_close(self, payload: bytes, out: bytearray) -> None:
        self._release_held_pongs(out)
        self._flush_pong(out)
        self._send(Frame(Opcode.CLOSE, payload), out)
        out += self.policy.after_close()
        self.sent_close = payload
        # The client's Close may already be read (the Close being answered or failed).
        waits = not self.stream.close_received and self.stream.too_large is None
        waits = waits and self.policy.await_client_close()
        self._close_transport = self.policy.close_transport_after_close() and not waits

    def _flush_pong(self, out: bytearray) -> None:
        """Answer the latest Ping held back by ``latest_ping_only`` (§5.5.3)."""
        if self._pending_pong is not None:
            payload, self._pending_pong = self._pending_pong, None
            self._send(self._pong(payload), out)

    def _release_held_pongs(self, out: bytearray) -> None:
        """Answer, in order, the Pings held back by ``defer_pongs_mid_message`` (§5.5.2)."""
        held, self._held_pongs = self._held_pongs, []
        for payload in held:
            self._send(self._pong(payload), out)

    def _pong(self, payload: bytes) -> Frame | None:
        """The policy's Pong: :meth:`WirePolicy.deflate_pong` once deflate was agreed."""
        if self.deflate is not None:
            return self.policy.deflate_pong(payload)
        return self.policy.pong(payload)

    def _send(self, frame: Frame | None, out: bytearray) -> None:
        if frame is None or self.close_sent:
            return
        key = self.policy.mask_key()
        if key is not None and frame.mask is None:
            frame = replace(frame, mask=key)
        out += encode_frame(frame)
