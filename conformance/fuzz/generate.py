"""Random fuzz cases, drawn from a seed alone: valid traffic (RFC 6455 §5.4, §5.5.2) and
one frame breaking one rule of §5 or §8.1."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise
from typing import Final

from ..model import rules
from ..model.codec import close_payload
from ..model.constants import (
    MAX_CONTROL_PAYLOAD,
    RESERVED_CONTROL_OPCODES,
    RESERVED_DATA_OPCODES,
    SENDABLE_PROTOCOL_CLOSE_CODES,
    CloseCode,
    Opcode,
)
from ..model.decoder import Message, close_code_rule
from ..model.frames import Frame
from ..model.random_traffic import INVALID_CLOSE_CODE_RANGES, failure_codes, random_text
from ..model.utf8 import NOT_UTF8_SEQUENCES
from ..session.wire import BARRIER_PREFIX
from .scenario import FuzzCase, Kind, encode_frames

MAX_MESSAGE_SIZE: Final = 64 * 1024
MAX_MESSAGES: Final = 4
MAX_FRAGMENTS: Final = 6
MAX_PINGS: Final = 3
MAX_WRITES: Final = 16

LENGTH_EDGES: Final = (0, 1, 125, 126, 127, 65535, 65536)
"""Sizes at the edges of the 7-, 16- and 64-bit length forms (§5.2)."""


def random_size(rng: random.Random, max_size: int = MAX_MESSAGE_SIZE) -> int:
    """Mostly small, often at a length-form edge, sometimes up to ``max_size``."""
    pick = rng.random()
    if pick < 0.4:
        return rng.randint(0, min(125, max_size))
    if pick < 0.6:
        return rng.choice([n for n in LENGTH_EDGES if n <= max_size])
    if pick < 0.85:
        return rng.randint(0, min(4096, max_size))
    return rng.randint(0, max_size)


def random_payload(rng: random.Random, opcode: int, size: int) -> bytes:
    return random_text(rng, size) if opcode == Opcode.TEXT else rng.randbytes(size)


def _ping_payload(rng: random.Random) -> bytes:
    while True:
        payload = rng.randbytes(rng.randint(0, MAX_CONTROL_PAYLOAD))
        if not payload.startswith(BARRIER_PREFIX[:4]):
            return payload


def _key(rng: random.Random) -> bytes:
    return rng.randbytes(4)


def _splits(rng: random.Random, size: int) -> tuple[int, ...]:
    if size < 2 or rng.random() < 0.3:
        return ()
    count = min(rng.randint(1, MAX_WRITES - 1), size - 1)
    return tuple(sorted(rng.sample(range(1, size), count)))


def fragment(rng: random.Random, message: Message, pings: bool = True) -> list[Frame]:
    """``message`` as 1-6 masked frames with empty fragments allowed, Pings in between."""
    size = len(message.data)
    count = 1 if rng.random() < 0.4 else rng.randint(2, MAX_FRAGMENTS)
    cuts = sorted(rng.randint(0, size) for _ in range(count - 1))
    parts = [message.data[lo:hi] for lo, hi in pairwise([0, *cuts, size])]
    frames = [
        Frame(
            message.opcode if i == 0 else Opcode.CONTINUATION,
            part,
            fin=i == len(parts) - 1,
            mask=_key(rng),
        )
        for i, part in enumerate(parts)
    ]
    if pings and rng.random() < 0.5:
        for _ in range(rng.randint(1, MAX_PINGS)):
            at = rng.randint(0, len(frames))
            frames.insert(at, Frame(Opcode.PING, _ping_payload(rng), mask=_key(rng)))
    return frames


def random_messages(
    rng: random.Random, count: int, max_size: int = MAX_MESSAGE_SIZE
) -> list[Frame]:
    """``count`` random messages, fragmented, as client frames."""
    frames: list[Frame] = []
    for _ in range(count):
        opcode = rng.choice((Opcode.TEXT, Opcode.BINARY))
        message = Message(opcode, random_payload(rng, opcode, random_size(rng, max_size)))
        frames += fragment(rng, message)
    return frames


def _whole(rng: random.Random) -> Frame:
    """A frame valid on its own: a small whole message, a Ping, a Pong or a Close."""
    opcode = rng.choice((Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG, Opcode.CLOSE))
    if opcode == Opcode.CLOSE:
        code = rng.choice(sorted(SENDABLE_PROTOCOL_CLOSE_CODES))
        return Frame(
            opcode, close_payload(code, random_text(rng, rng.randint(0, 20))), mask=_key(rng)
        )
    return Frame(opcode, random_payload(rng, opcode, rng.randint(0, 40)), mask=_key(rng))


def _bad_text(rng: random.Random, room: int = 60) -> bytes:
    half = room // 2
    return (
        random_text(rng, rng.randint(0, half))
        + rng.choice(NOT_UTF8_SEQUENCES)
        + random_text(rng, rng.randint(0, half))
    )


def _invalid_close_code(rng: random.Random) -> int:
    """A code no Close may carry (§7.4.1, §7.4.2): 0-999, 1004-1006, 1015-2999, 5000+."""
    low, high = rng.choice(INVALID_CLOSE_CODE_RANGES)
    return rng.randint(low, high)


InvalidMaker = Callable[[random.Random], tuple[tuple[Frame, ...], str]]


def _rsv(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    bits = rng.randint(1, 7)
    frame = replace(_whole(rng), rsv1=bool(bits & 4), rsv2=bool(bits & 2), rsv3=bool(bits & 1))
    return (frame,), rules.RSV_MUST_BE_ZERO


def _reserved_opcode(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    opcode = rng.choice(sorted(RESERVED_DATA_OPCODES | RESERVED_CONTROL_OPCODES))
    frame = Frame(opcode, rng.randbytes(rng.randint(0, 40)), mask=_key(rng))
    return (frame,), rules.RESERVED_OPCODE


def _unmasked(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    return (replace(_whole(rng), mask=None),), rules.CLIENT_MUST_MASK


def _long_control(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    opcode = rng.choice((Opcode.PING, Opcode.PONG, Opcode.CLOSE))
    size = rng.randint(MAX_CONTROL_PAYLOAD + 1, 1024)
    if opcode == Opcode.CLOSE:
        payload = close_payload(CloseCode.NORMAL_CLOSURE, random_text(rng, size - 2))
    else:
        payload = rng.randbytes(size)
    return (Frame(opcode, payload, mask=_key(rng)),), rules.CONTROL_PAYLOAD_MAX


def _fragmented_control(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    while (frame := _whole(rng)).opcode not in (Opcode.PING, Opcode.PONG, Opcode.CLOSE):
        pass
    return (replace(frame, fin=False),), rules.CONTROL_NOT_FRAGMENTED


def _close_one_byte(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    frame = Frame(Opcode.CLOSE, rng.randbytes(1), mask=_key(rng))
    return (frame,), rules.CLOSE_BODY_CODE


def _close_code(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    code = _invalid_close_code(rng)
    rule = close_code_rule(code)
    assert rule is not None
    return (Frame(Opcode.CLOSE, close_payload(code), mask=_key(rng)),), rule


def _close_reason(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    payload = close_payload(CloseCode.NORMAL_CLOSURE, _bad_text(rng))
    return (Frame(Opcode.CLOSE, payload, mask=_key(rng)),), rules.CLOSE_REASON_UTF8


def _text_utf8(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    frame = Frame(Opcode.TEXT, _bad_text(rng, 200), mask=_key(rng))
    return (frame,), rules.TEXT_UTF8


def _orphan_continuation(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    frame = Frame(Opcode.CONTINUATION, rng.randbytes(rng.randint(0, 40)), mask=_key(rng))
    return (frame,), rules.FRAGMENT_SEQUENCE


def _interleaved(rng: random.Random) -> tuple[tuple[Frame, ...], str]:
    first, second = (rng.choice((Opcode.TEXT, Opcode.BINARY)) for _ in range(2))
    start = Frame(first, random_payload(rng, first, rng.randint(0, 40)), fin=False, mask=_key(rng))
    frame = Frame(second, random_payload(rng, second, rng.randint(0, 40)), mask=_key(rng))
    return (start, frame), rules.NO_INTERLEAVE


INVALID_KINDS: Final[dict[str, InvalidMaker]] = {
    "rsv": _rsv,
    "reserved-opcode": _reserved_opcode,
    "unmasked": _unmasked,
    "long-control": _long_control,
    "fragmented-control": _fragmented_control,
    "close-1-byte": _close_one_byte,
    "close-code": _close_code,
    "close-reason-utf8": _close_reason,
    "text-utf8": _text_utf8,
    "orphan-continuation": _orphan_continuation,
    "interleaved": _interleaved,
}
"""One maker per broken rule: (frames, the rule the last one breaks); the close codes
allowed come from :func:`~conformance.model.random_traffic.failure_codes`.

Not here: a non-minimal length and a 64-bit length with its MSB set. §5.2 binds the
sender ("the minimal number of bytes MUST be used", "the most significant bit MUST be
0") and, unlike RSV bits or unknown opcodes, names no reaction of the receiver; a
server that reads such a frame leniently breaks no sentence, so it must not be a
counterexample. The suite checks those rules on the frames the server sends."""


def generate(kind: Kind, seed: int, example: int) -> FuzzCase:
    """The ``example``-th random case of property ``kind`` for ``seed`` (deterministic)."""
    rng = random.Random(f"wsconform-fuzz/{seed}/{kind}/{example}")
    if kind == "echo":
        frames = tuple(random_messages(rng, rng.randint(1, MAX_MESSAGES)))
        return FuzzCase("echo", frames, _splits(rng, len(encode_frames(frames))))
    names = sorted(INVALID_KINDS)
    random.Random(f"wsconform-fuzz/{seed}/kinds/{example // len(names)}").shuffle(names)
    label = names[example % len(names)]  # every rule within each len(names) examples
    prefix = tuple(random_messages(rng, rng.randint(0, 2), max_size=4096))
    offending, rule = INVALID_KINDS[label](rng)
    return FuzzCase(
        "invalid",
        prefix,
        _splits(rng, len(encode_frames(prefix))),
        offending,
        _splits(rng, len(encode_frames(offending))),
        rule,
        failure_codes(rule),
        label,
    )
