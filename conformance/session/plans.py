"""Messages as data: the frames a client sends (:class:`Part`) and how they reach TCP
(:class:`Chop`), with what a server owes for them (RFC 6455 §5.4, §5.5.2).

A plan is a tuple of parts, masked only when sent (§5.3). How its bytes are cut into
TCP writes changes nothing: receivers "must not depend on the presence of specific
frame boundaries" (§5.4), so every chop of a valid plan must be echoed alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from ..model.constants import Opcode, is_control_opcode
from ..model.frames import Frame
from .wire import WireSession, client_frame

__all__ = [
    "Chop",
    "Part",
    "Plan",
    "expected_messages",
    "expected_pongs",
    "fragmented",
    "send_plan",
    "send_raw",
    "split",
]


@dataclass(frozen=True, slots=True)
class Part:
    """One frame of a plan: opcode, unmasked payload, FIN (masked at send time, §5.3)."""

    opcode: int
    payload: bytes = b""
    fin: bool = True

    def frame(self) -> Frame:
        return client_frame(self.opcode, self.payload, fin=self.fin)


class Chop(Enum):
    """How a plan is written to TCP; frame boundaries never depend on it (§5.4)."""

    WHOLE = ""  # every frame in one write
    FRAMES = "frame-writes"  # one write per frame
    BYTES = "byte-writes"  # one byte per write

    @property
    def describe(self) -> str:
        return {
            Chop.WHOLE: "",
            Chop.FRAMES: ", each frame in its own TCP write",
            Chop.BYTES: ", written one byte per TCP write",
        }[self]


Plan = tuple[Part, ...]


def split(data: bytes, count: int) -> list[bytes]:
    """``data`` cut into ``count`` pieces of near-equal size (some empty if too short)."""
    size, extra = divmod(len(data), count)
    pieces, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        pieces.append(data[start:end])
        start = end
    return pieces


def fragmented(opcode: int, pieces: Sequence[bytes]) -> Plan:
    """A fragmented message (§5.4): FIN clear and ``opcode`` on the first fragment,
    continuation frames after it, FIN set on the last."""
    last = len(pieces) - 1
    return tuple(
        Part(opcode if i == 0 else Opcode.CONTINUATION, piece, fin=i == last)
        for i, piece in enumerate(pieces)
    )


def expected_messages(plan: Iterable[Part]) -> tuple[tuple[int, bytes], ...]:
    """The messages a valid plan carries, reassembled from its fragments (§5.4)."""
    messages: list[tuple[int, bytes]] = []
    opcode, data = 0, b""
    for part in plan:
        if is_control_opcode(part.opcode):
            continue
        if part.opcode != Opcode.CONTINUATION:
            opcode, data = part.opcode, b""
        data += part.payload
        if part.fin:
            messages.append((opcode, data))
    return tuple(messages)


def expected_pongs(plan: Iterable[Part]) -> tuple[bytes, ...]:
    """The Pong payloads a valid plan calls for, in order (§5.5.2, §5.5.3)."""
    return tuple(part.payload for part in plan if part.opcode == Opcode.PING)


async def send_plan(session: WireSession, plan: Plan, chop: Chop = Chop.WHOLE) -> None:
    """Write ``plan`` as ``chop`` says, each frame freshly masked."""
    frames = [part.frame() for part in plan]
    if chop is Chop.FRAMES:
        for frame in frames:
            await session.send(frame)
    else:
        await session.send(*frames, chunk=1 if chop is Chop.BYTES else None)


async def send_raw(session: WireSession, plan: Plan, chop: Chop = Chop.WHOLE) -> None:
    """Write ``plan`` as raw bytes: a Close in it (FIN clear) is not a closing handshake
    the suite started, so a Close the server sends after it is not taken as a reply."""
    frames = [part.frame() for part in plan]
    if chop is Chop.FRAMES:
        for frame in frames:
            await session.send_raw(frame)
    else:
        await session.send_raw(*frames, chunk=1 if chop is Chop.BYTES else None)
