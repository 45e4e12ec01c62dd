"""Parts of generated test traffic shared by ``wsconform fuzz`` and the Hypothesis
strategies: random valid UTF-8, TCP write splits, and the close codes a receiver may
fail with for each broken rule (RFC 6455 §5, §7.1.7, §7.4.1, §8.1)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import pairwise
from typing import Final

from . import rules
from .constants import CloseCode

CODE_POINT_RANGES: Final = ((0x20, 0x7E), (0x80, 0x7FF), (0xE000, 0xFFFD), (0x10000, 0x10FFFF))
"""Code points of each UTF-8 length (RFC 3629 §3), surrogates excluded."""

INVALID_CLOSE_CODE_RANGES: Final = ((0, 999), (1004, 1006), (1015, 2999), (5000, 0xFFFF))
"""Codes no Close frame may carry (§7.4.1, §7.4.2): 0-999, 1004-1006, 1015, 1016-2999
(unassigned) and 5000-65535 (no range defines them)."""

FAIL_PROTOCOL: Final = frozenset({int(CloseCode.PROTOCOL_ERROR)})
FAIL_UTF8: Final = frozenset({int(CloseCode.INVALID_FRAME_PAYLOAD_DATA)})
FAIL_EITHER: Final = FAIL_PROTOCOL | FAIL_UTF8
FAIL_TOO_BIG: Final = FAIL_PROTOCOL | {int(CloseCode.MESSAGE_TOO_BIG)}

_FAILURE_CODES: Final[dict[str, frozenset[int]]] = {
    rules.TEXT_UTF8: FAIL_UTF8,  # §8.1: 1007
    rules.CLOSE_REASON_UTF8: FAIL_EITHER,
    rules.LENGTH_MSB_ZERO: FAIL_TOO_BIG,
}


def failure_codes(rule: str) -> frozenset[int]:
    """The close codes a receiver may _Fail the WebSocket Connection_ with (§7.1.7,
    §7.4.1) when a frame breaks ``rule``: 1007 for invalid UTF-8 text (§8.1), 1002
    otherwise (1002 or 1007 for a bad Close reason, 1002 or 1009 for a huge length)."""
    return _FAILURE_CODES.get(rule, FAIL_PROTOCOL)


def random_text(rng: random.Random, size: int) -> bytes:
    """Exactly ``size`` bytes of valid UTF-8 mixing 1- to 4-byte characters."""
    out = bytearray()
    while len(out) < size:
        low, high = rng.choice(CODE_POINT_RANGES)
        char = chr(rng.randint(low, high)).encode()
        out += char if len(out) + len(char) <= size else b"a"
    return bytes(out)


def split_at(data: bytes, points: Sequence[int]) -> list[bytes]:
    """``data`` cut at ``points`` (TCP write boundaries, §5.4); never an empty piece."""
    bounds = sorted({0, len(data), *(p for p in points if 0 < p < len(data))})
    return [data[lo:hi] for lo, hi in pairwise(bounds)] or [data]
