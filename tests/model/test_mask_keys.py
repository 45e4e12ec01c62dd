"""RFC 6455 §5.3: masking keys fresh for each frame and not simple to predict.

Keys from a strong source raise no finding; each kind of weak generator is caught.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.model.mask_keys import (
    FALSE_ALARM,
    MIN_KEYS,
    KeyFinding,
    bit_tolerance,
    mask_key_findings,
    repeat_limit,
)

KEY_SPACE = 2**32
URANDOM_RUNS = 30


def kinds(findings: list[KeyFinding]) -> set[str]:
    return {f.kind for f in findings}


def from_ints(numbers: list[int]) -> list[bytes]:
    return [(n % KEY_SPACE).to_bytes(4, "big") for n in numbers]


def test_os_urandom_keys_raise_no_finding() -> None:
    for _ in range(URANDOM_RUNS):
        assert mask_key_findings([os.urandom(4) for _ in range(MIN_KEYS)]) == []


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**64), st.integers(MIN_KEYS, 3 * MIN_KEYS))
def test_uniform_keys_of_any_seed_and_count_raise_no_finding(seed: int, count: int) -> None:
    source = random.Random(seed)
    assert mask_key_findings([source.randbytes(4) for _ in range(count)]) == []


def test_one_repeat_in_a_thousand_keys_is_chance_two_are_flagged() -> None:
    keys = [os.urandom(4) for _ in range(MIN_KEYS)]
    assert mask_key_findings([*keys[:-1], keys[0]]) == []
    found = mask_key_findings([*keys[:-2], keys[0], keys[1]])
    assert kinds(found) == {"repeats"}


def test_repeat_limit_grows_with_the_count_and_bounds_false_alarms() -> None:
    assert repeat_limit(MIN_KEYS) == 1
    assert repeat_limit(100 * MIN_KEYS) > repeat_limit(10 * MIN_KEYS) > 1
    assert FALSE_ALARM <= 1e-8


def test_too_few_keys_are_not_judged() -> None:
    found = mask_key_findings([b"\x00\x00\x00\x00"] * (MIN_KEYS - 1))
    assert kinds(found) == {"too-few"}


def test_a_key_of_another_size_is_refused() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        mask_key_findings([b"\x01\x02\x03"] * MIN_KEYS)


def fixed(n: int) -> list[bytes]:
    return [b"\x37\xfa\x21\x3d"] * n


def counter(n: int) -> list[bytes]:
    return from_ints(list(range(1, n + 1)))


def stepped(n: int) -> list[bytes]:
    start = int.from_bytes(os.urandom(4), "big")
    return from_ints([start + 0x9E3779B9 * i for i in range(n)])


def xor_stepped(n: int) -> list[bytes]:
    key, keys = int.from_bytes(os.urandom(4), "big"), []
    for _ in range(n):
        keys.append(key)
        key ^= 0x5A5A5A5A if len(keys) % 3 else 0x0F0F0F0F
    return from_ints(keys)


def byte_counter(n: int) -> list[bytes]:
    return [bytes([i % 256] * 4) for i in range(n)]


def little_endian_counter(n: int) -> list[bytes]:
    return [i.to_bytes(4, "little") for i in range(1000, 1000 + n)]


def mostly_random_some_zero(n: int) -> list[bytes]:
    keys = [os.urandom(4) for _ in range(n)]
    keys[10] = keys[500] = bytes(4)
    return keys


def one_random_byte(n: int) -> list[bytes]:
    source = random.Random(0)
    return [source.getrandbits(8).to_bytes(4, "big") for _ in range(n)]


def printable_bytes(n: int) -> list[bytes]:
    source = random.Random(0)
    return [bytes(source.randrange(0x21, 0x7F) for _ in range(4)) for _ in range(n)]


def replicated_byte(n: int) -> list[bytes]:
    source = random.Random(0)
    return [bytes([source.getrandbits(8)]) * 4 for _ in range(n)]


def sixteen_bit_keys(n: int) -> list[bytes]:
    source = random.Random(0)
    return [source.randbytes(2) + b"\x00\x00" for _ in range(n)]


def reused_in_pairs(n: int) -> list[bytes]:
    keys = [os.urandom(4) for _ in range(n // 2)]
    return [key for key in keys for _ in range(2)]


WEAK_GENERATORS: dict[str, tuple[Callable[[int], list[bytes]], str]] = {
    "fixed": (fixed, "constant"),
    "counter": (counter, "arithmetic-step"),
    "arithmetic-progression": (stepped, "arithmetic-step"),
    "xor-step": (xor_stepped, "xor-step"),
    "byte-counter": (byte_counter, "arithmetic-step"),
    "little-endian-counter": (little_endian_counter, "arithmetic-step"),
    "zero": (mostly_random_some_zero, "zero"),
    "one-random-byte": (one_random_byte, "low-entropy"),
    "printable-bytes": (printable_bytes, "low-entropy"),
    "replicated-byte": (replicated_byte, "repeats"),
    "sixteen-bit": (sixteen_bit_keys, "low-entropy"),
    "reused-in-pairs": (reused_in_pairs, "repeats"),
}


@pytest.mark.parametrize("name", WEAK_GENERATORS)
def test_each_weak_generator_is_caught(name: str) -> None:
    generate, expected = WEAK_GENERATORS[name]
    found = mask_key_findings(generate(MIN_KEYS))
    assert expected in kinds(found), found
    assert all(f.description for f in found)


def test_bit_tolerance_allows_chance_but_not_a_stuck_bit() -> None:
    tolerance = bit_tolerance(MIN_KEYS)
    assert 4 * (MIN_KEYS**0.5) / 2 < tolerance < MIN_KEYS / 2
