"""Are a client's masking keys fresh and unpredictable? (RFC 6455 §5.3; sans-IO)

§5.3: "The masking key is a 32-bit value chosen at random by the client. When preparing
a masked frame, the client MUST pick a fresh masking key from the set of allowed 32-bit
values. The masking key needs to be unpredictable; thus, the masking key MUST be derived
from a strong source of entropy, and the masking key for a given frame MUST NOT make it
simple for a server/proxy to predict the masking key for a subsequent frame."

:func:`mask_key_findings` looks at the keys of at least :data:`MIN_KEYS` frames, in the
order sent, for what a random source does not do: repeats, a constant key, a constant
step (``key[n+1] - key[n]`` mod 2**32, or ``key[n+1] XOR key[n]``), all-zero keys, too
few distinct byte values, and biased bits. No test can prove randomness; each check is a
sign of a weak generator that 32 bits from a strong source show only with a probability
below :data:`FALSE_ALARM` per check (the bound is in each check's docstring), so the
checks together give no false alarm on ``os.urandom`` keys over millions of runs.
Only findings are returned; what they weigh is the verdict's business.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final, Literal

from .constants import MASK_KEY_SIZE

MIN_KEYS: Final = 1000
"""Keys needed before judging: fewer give too little evidence of a weak generator."""
FALSE_ALARM: Final = 1e-8
"""Upper bound, per check, on the chance that keys from a strong source are flagged."""
KEY_SPACE: Final = 2 ** (8 * MASK_KEY_SIZE)
BYTE_VALUES: Final = 256
KEY_BITS: Final = 8 * MASK_KEY_SIZE
ZERO_KEY_LIMIT: Final = 1
"""All-zero keys allowed: a second one among n has probability below C(n, 2) / 2**64."""
MISSING_BYTE_VALUES_LIMIT: Final = 8
"""Byte values (of 256) that may be absent from the 4n key bytes; see :func:`byte_values`."""

FindingKind = Literal[
    "too-few", "repeats", "constant", "arithmetic-step", "xor-step", "zero", "low-entropy"
]


@dataclass(frozen=True, slots=True)
class KeyFinding:
    """One sign that the keys are not fresh or not unpredictable (§5.3)."""

    kind: FindingKind
    description: str


def as_int(key: bytes) -> int:
    """A masking key as a 32-bit number (network byte order)."""
    if len(key) != MASK_KEY_SIZE:
        raise ValueError(f"a masking key has {MASK_KEY_SIZE} bytes, not {len(key)}")
    return int.from_bytes(key, "big")


def repeat_limit(count: int) -> int:
    """Repeats allowed among ``count`` uniform 32-bit values, by the :data:`FALSE_ALARM` bound.

    The number X of equal pairs among ``count`` uniform values has mean
    ``lam = C(count, 2) / 2**32``; k + 1 repeats need at least k + 1 equal pairs, and
    P(X >= k + 1) <= E[C(X, k + 1)] ~= lam**(k + 1) / (k + 1)!. The limit is the least k
    with that bound <= FALSE_ALARM: 1 for 1,000 keys (lam = 1.2e-4, bound 6.8e-9), so two
    repeats are flagged.
    """
    lam = count * (count - 1) / 2 / KEY_SPACE
    limit = 0
    while lam ** (limit + 1) / math.factorial(limit + 1) > FALSE_ALARM:
        limit += 1
    return limit


def mask_key_findings(keys: Sequence[bytes]) -> list[KeyFinding]:
    """What in ``keys`` (in the order sent) a strong random source would not produce."""
    numbers = [as_int(key) for key in keys]
    if len(numbers) < MIN_KEYS:
        return [
            KeyFinding(
                "too-few",
                f"only {len(numbers)} masking keys; at least {MIN_KEYS} are needed to judge",
            )
        ]
    checks: tuple[Callable[[list[int]], KeyFinding | None], ...] = (
        constant,
        repeats,
        arithmetic_step,
        xor_step,
        zero_keys,
        byte_values,
        biased_bits,
    )
    return [found for check in checks if (found := check(numbers)) is not None]


def constant(numbers: list[int]) -> KeyFinding | None:
    """Every key the same (a strong source: probability 2**-(32 (n - 1)))."""
    if len(set(numbers)) != 1:
        return None
    return KeyFinding("constant", f"all {len(numbers)} frames use the key {numbers[0]:#010x}")


def repeats(numbers: list[int]) -> KeyFinding | None:
    """More keys equal to an earlier one than :func:`repeat_limit` allows ("fresh")."""
    repeated = len(numbers) - len(set(numbers))
    if repeated <= repeat_limit(len(numbers)):
        return None
    return KeyFinding(
        "repeats",
        f"{repeated} of {len(numbers)} keys repeat an earlier key "
        f"(a random 32-bit source: at most {repeat_limit(len(numbers))})",
    )


def common_step(steps: list[int]) -> tuple[int, int] | None:
    """The most frequent nonzero step and its count, if it recurs beyond chance.

    For keys from a strong source each step is uniform and any two steps are independent
    (adjacent ones too: ``k[i]`` and ``k[i + 2]`` are independent of ``k[i + 1]``), so equal
    steps obey the same bound as equal keys (:func:`repeat_limit`). A zero step is a
    repeated key, reported by :func:`repeats`.
    """
    counted = Counter(step for step in steps if step)
    if not counted:
        return None
    step, count = counted.most_common(1)[0]
    return (step, count) if count - 1 > repeat_limit(len(steps)) else None


def arithmetic_step(numbers: list[int]) -> KeyFinding | None:
    """Keys in an arithmetic progression, wholly or in part: a counter (``key[n+1] - key[n]``)."""
    steps = [(b - a) % KEY_SPACE for a, b in pairwise(numbers)]
    found = common_step(steps)
    if found is None:
        return None
    step, count = found
    return KeyFinding(
        "arithmetic-step",
        f"{count} of {len(steps)} keys are the previous one plus {step:#010x} (mod 2**32): "
        "the next key is predictable",
    )


def xor_step(numbers: list[int]) -> KeyFinding | None:
    """Keys that differ from the previous by the same XOR mask (``key[n+1] ^ key[n]``)."""
    steps = [a ^ b for a, b in pairwise(numbers)]
    found = common_step(steps)
    if found is None:
        return None
    step, count = found
    return KeyFinding(
        "xor-step",
        f"{count} of {len(steps)} keys are the previous one XOR {step:#010x}: "
        "the next key is predictable",
    )


def zero_keys(numbers: list[int]) -> KeyFinding | None:
    """More than :data:`ZERO_KEY_LIMIT` all-zero keys (a key that masks nothing)."""
    zeros = numbers.count(0)
    if zeros <= ZERO_KEY_LIMIT:
        return None
    return KeyFinding("zero", f"{zeros} of {len(numbers)} keys are 0x00000000 (no masking)")


def byte_values(numbers: list[int]) -> KeyFinding | None:
    """Fewer distinct byte values in the keys than a strong source shows.

    With 4n uniform bytes, P(at least m of the 256 values absent) <= C(256, m) (1 - m/256)**(4n)
    (some m-set of values is missed by every byte). For n = 1,000 and m = 9, that is
    e**36.9 * e**-143.2 ~= 1e-46: fewer than 256 - MISSING_BYTE_VALUES_LIMIT = 248 distinct
    values is flagged. More keys only lower the bound.
    """
    seen = {byte for number in numbers for byte in number.to_bytes(MASK_KEY_SIZE, "big")}
    if len(seen) >= BYTE_VALUES - MISSING_BYTE_VALUES_LIMIT:
        return None
    return KeyFinding(
        "low-entropy",
        f"the {len(numbers)} keys use only {len(seen)} of the 256 byte values "
        f"(a random source: at least {BYTE_VALUES - MISSING_BYTE_VALUES_LIMIT})",
    )


def bit_tolerance(count: int) -> float:
    """How far from count/2 the ones of one key bit may be, by Hoeffding's inequality.

    P(|ones - count/2| >= t) <= 2 exp(-2 t**2 / count); over the 32 bits the union bound
    gives 64 exp(-2 t**2 / count) <= FALSE_ALARM for t = sqrt(count ln(64 / FALSE_ALARM) / 2):
    about 106 for 1,000 keys (ones outside 394..606 are flagged).
    """
    return math.sqrt(count * math.log(2 * KEY_BITS / FALSE_ALARM) / 2)


def biased_bits(numbers: list[int]) -> KeyFinding | None:
    """Key bits set far more or far less often than half the time (stuck or biased bits)."""
    half, tolerance = len(numbers) / 2, bit_tolerance(len(numbers))
    biased = [
        bit
        for bit in range(KEY_BITS)
        if abs(sum(number >> bit & 1 for number in numbers) - half) >= tolerance
    ]
    if not biased:
        return None
    shown = ", ".join(str(KEY_BITS - 1 - bit) for bit in reversed(biased))
    return KeyFinding(
        "low-entropy",
        f"{len(biased)} of the {KEY_BITS} key bits (numbered from the first sent: {shown}) "
        f"are set in far more or far fewer than half of the {len(numbers)} keys",
    )
