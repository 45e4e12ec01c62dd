"""A fuzz case: the frames it sends, how they are cut into TCP writes, and the model's
reading of them (RFC 6455 §5.4, §7.1.7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..model.codec import encode_frame
from ..model.constants import is_reserved_opcode, opcode_name
from ..model.decoder import Message, PeerStream, PingReceived
from ..model.frames import Frame, LengthForm
from ..model.random_traffic import split_at
from ..model.violations import Violation

Kind = Literal["echo", "invalid"]


def encode_frames(frames: Sequence[Frame]) -> bytes:
    """The wire bytes of ``frames``, in order."""
    return b"".join(encode_frame(frame) for frame in frames)


@dataclass(frozen=True, slots=True)
class FuzzCase:
    """What one case sends after the opening handshake.

    ``frames`` (valid) go first, in TCP writes cut at ``splits``. For ``kind``
    "invalid", a Ping/Pong barrier follows, then ``offending`` cut at
    ``offending_splits``: its last frame breaks ``rule``; ``codes`` are the close codes
    the server may fail with.
    """

    kind: Kind
    frames: tuple[Frame, ...]
    splits: tuple[int, ...] = ()
    offending: tuple[Frame, ...] = ()
    offending_splits: tuple[int, ...] = ()
    rule: str = ""
    codes: frozenset[int] = frozenset()
    label: str = ""

    @property
    def data(self) -> bytes:
        return encode_frames(self.frames)

    @property
    def offending_data(self) -> bytes:
        return encode_frames(self.offending)

    @property
    def frame_count(self) -> int:
        return len(self.frames) + len(self.offending)

    @property
    def payload_size(self) -> int:
        return sum(len(f.payload) for f in (*self.frames, *self.offending))

    @property
    def writes(self) -> int:
        """TCP writes after the handshake, barrier aside."""
        data, offending = self.data, self.offending_data
        return (len(split_at(data, self.splits)) if data else 0) + (
            len(split_at(offending, self.offending_splits)) if offending else 0
        )

    @property
    def odd_bytes(self) -> int:
        """Payload bytes other than ``a``: what simplifying them to ``a`` would remove."""
        return sum(len(f.payload) - f.payload.count(b"a") for f in (*self.frames, *self.offending))

    def size(self) -> tuple[int, int, int, int]:
        """Shrinking order: fewest frames, shortest payloads, fewest writes, plainest bytes."""
        return (self.frame_count, self.payload_size, self.writes, self.odd_bytes)

    def describe(self) -> str:
        parts = [describe_frame(f) for f in self.frames]
        if self.offending:
            parts.append("Ping/Pong barrier")
            parts += [describe_frame(f) for f in self.offending]
        return " | ".join(parts) if parts else "(no frames)"


def describe_frame(frame: Frame) -> str:
    name = opcode_name(frame.opcode)
    name = name if is_reserved_opcode(frame.opcode) else name.upper()
    flags = [] if frame.fin else ["FIN=0"]
    flags += [n.upper() for n in ("rsv1", "rsv2", "rsv3") if getattr(frame, n)]
    if frame.mask is None:
        flags.append("unmasked")
    if frame.length_form is not LengthForm.MINIMAL:
        flags.append(f"{frame.length_form.value}-bit length")
    if frame.length_msb:
        flags.append("length MSB set")
    shown = frame.payload[:16]
    more = "…" if len(frame.payload) > len(shown) else ""
    tags = f"({','.join(flags)})" if flags else ""
    return f"{name}[{len(frame.payload)}]{tags} {shown!r}{more}"


@dataclass(frozen=True, slots=True)
class ModelReading:
    """What the model reads in the valid frames: the messages and the Ping payloads."""

    messages: tuple[Message, ...]
    pings: tuple[bytes, ...]


def read_case(scenario: FuzzCase) -> ModelReading | None:
    """The model's reading of the scenario, or None if it is not what it claims to be.

    Valid frames must break no rule and end between messages; the offending frames
    must break exactly ``rule``, and only after the valid frames.
    """
    stream = PeerStream(peer="client")
    events = stream.feed(scenario.data)
    if stream.violations or stream.message_in_progress or stream.close_received:
        return None
    if scenario.kind == "invalid":
        start = len(scenario.data)
        broken = [e for e in stream.feed(scenario.offending_data) if isinstance(e, Violation)]
        if not broken or {v.requirement for v in broken} != {scenario.rule}:
            return None
        if any(v.offset is not None and v.offset < start for v in broken):
            return None
    return ModelReading(
        tuple(e for e in events if isinstance(e, Message)),
        tuple(e.payload for e in events if isinstance(e, PingReceived)),
    )
