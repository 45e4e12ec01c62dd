"""Markus Kuhn's "UTF-8 decoder capability and stress test", generated from its rules.

The sections follow Kuhn's test file (the one Autobahn|Testsuite's section 6 replays):
§1 correct text, §2 boundary conditions, §3 malformed sequences, §4 overlong
sequences, §5 illegal code positions. Nothing is copied: each byte string is computed
by :func:`legacy_encode`, the original (ISO 10646 / RFC 2279) UTF-8 scheme that still
has 5- and 6-byte forms, overlong forms and surrogates, so every illegal sequence of
the test file can be written down from its code point.

Validity is strict UTF-8 as RFC 3629 §3-§4 defines it and RFC 6455 §5.6, §8.1 require:
no overlong forms, no surrogates (U+D800-U+DFFF), nothing above U+10FFFF, no 5- or
6-byte forms, no bytes C0, C1, F5-FF. Non-characters (U+FFFE, U+FFFF, U+FDD0-U+FDEF,
U+nFFFE/U+nFFFF) *are* valid UTF-8 (RFC 3629 encodes every scalar value), so a
WebSocket server must accept and echo them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MAX_LEGACY_LENGTH: Final = 6
"""Longest sequence of the original UTF-8 (RFC 2279 §2): 31 bits in 6 bytes."""

MAX_SCALAR: Final = 0x10FFFF
"""The last code point RFC 3629 §3 allows."""

FIRST_OF_LENGTH: Final[dict[int, int]] = {
    1: 0x0,
    2: 0x80,
    3: 0x800,
    4: 0x10000,
    5: 0x200000,
    6: 0x4000000,
}
"""The first code point whose shortest legacy form has each length."""

LAST_OF_LENGTH: Final[dict[int, int]] = {
    1: 0x7F,
    2: 0x7FF,
    3: 0xFFFF,
    4: 0x1FFFFF,
    5: 0x3FFFFFF,
    6: 0x7FFFFFFF,
}
"""The last code point a legacy form of each length can hold."""

KAPPA_OMICRON: Final = "\u03ba\u1f79\u03c3\u03bc\u03b5"
"""The Greek word "kosme" of Kuhn's §1, with U+1F79 (omicron with oxia)."""


def legacy_encode(code_point: int, length: int) -> bytes:
    """``code_point`` in the original UTF-8 scheme, written in exactly ``length`` bytes.

    Allows what RFC 3629 forbids: overlong forms (a code point written longer than
    needed), surrogates, and 5- and 6-byte forms up to U+7FFFFFFF.
    """
    if not 1 <= length <= MAX_LEGACY_LENGTH:
        raise ValueError(f"no {length}-byte UTF-8 form")
    if code_point > LAST_OF_LENGTH[length] or code_point < 0:
        raise ValueError(f"U+{code_point:X} does not fit in {length} byte(s)")
    if length == 1:
        return bytes([code_point])
    tails = [0x80 | (code_point >> (6 * i)) & 0x3F for i in reversed(range(length - 1))]
    lead = (0xFF << (8 - length)) & 0xFF | code_point >> (6 * (length - 1))
    return bytes([lead, *tails])


def _is_scalar_form(length: int, code_point: int) -> bool:
    """True when the shortest form of a Unicode scalar value (RFC 3629 §3)."""
    shortest = next(n for n in range(1, MAX_LEGACY_LENGTH + 1) if code_point <= LAST_OF_LENGTH[n])
    surrogate = 0xD800 <= code_point <= 0xDFFF
    return length == shortest and code_point <= MAX_SCALAR and not surrogate


@dataclass(frozen=True, slots=True)
class KuhnEntry:
    """One test of the stress test: its number, what it is, its bytes, and validity."""

    number: str  # Kuhn's numbering, e.g. "3.1.9"
    label: str
    data: bytes
    valid: bool

    @property
    def slug(self) -> str:
        """A case-id fragment: ``3.1.9`` -> ``3-1-9``."""
        return self.number.replace(".", "-")


def _section_1() -> list[KuhnEntry]:
    return [KuhnEntry("1", "the Greek word 'kosme'", KAPPA_OMICRON.encode(), True)]


def _section_2() -> list[KuhnEntry]:
    entries: list[KuhnEntry] = []
    for i, length in enumerate(range(1, MAX_LEGACY_LENGTH + 1), 1):
        cp = FIRST_OF_LENGTH[length]
        data = legacy_encode(cp, length)
        label = f"first possible sequence of {length} byte(s), U+{cp:04X}"
        entries.append(KuhnEntry(f"2.1.{i}", label, data, _is_scalar_form(length, cp)))
    for i, length in enumerate(range(1, MAX_LEGACY_LENGTH + 1), 1):
        cp = LAST_OF_LENGTH[length]
        data = legacy_encode(cp, length)
        label = f"last possible sequence of {length} byte(s), U+{cp:04X}"
        entries.append(KuhnEntry(f"2.2.{i}", label, data, _is_scalar_form(length, cp)))
    others = (0xD7FF, 0xE000, 0xFFFD, 0x10FFFF, 0x110000)
    for i, cp in enumerate(others, 1):
        length = 3 if cp <= LAST_OF_LENGTH[3] else 4
        data = legacy_encode(cp, length)
        label = f"other boundary, U+{cp:04X}"
        entries.append(KuhnEntry(f"2.3.{i}", label, data, _is_scalar_form(length, cp)))
    return entries


def _truncated(length: int, code_point: int) -> bytes:
    """A ``length``-byte form of ``code_point`` with its last continuation byte missing."""
    return legacy_encode(code_point, length)[:-1]


def _section_3() -> list[KuhnEntry]:
    entries = [
        KuhnEntry("3.1.1", "first continuation byte 0x80", b"\x80", False),
        KuhnEntry("3.1.2", "last continuation byte 0xBF", b"\xbf", False),
    ]
    for i, count in enumerate(range(2, 8), 3):
        data = bytes(0x80 | (0x3F if k % 2 else 0) for k in range(count))
        entries.append(KuhnEntry(f"3.1.{i}", f"{count} continuation bytes", data, False))
    entries.append(KuhnEntry("3.1.9", "all 64 continuation bytes", bytes(range(0x80, 0xC0)), False))
    for i, length in enumerate(range(2, MAX_LEGACY_LENGTH + 1), 1):
        leads = {legacy_encode(FIRST_OF_LENGTH[length], length)[0]}
        leads |= {legacy_encode(LAST_OF_LENGTH[length], length)[0]}
        first, last = min(leads), max(leads)
        if length == 2:  # also the overlong-only leads C0 and C1
            first = legacy_encode(0, 2)[0]
        data = b"".join(bytes([lead]) + b" " for lead in range(first, last + 1))
        label = (
            f"all {last - first + 1} lonely start bytes of {length}-byte sequences, each + space"
        )
        entries.append(KuhnEntry(f"3.2.{i}", label, data, False))
    missing = [(n, 0) for n in range(2, MAX_LEGACY_LENGTH + 1)]
    missing += [(n, LAST_OF_LENGTH[n]) for n in range(2, MAX_LEGACY_LENGTH + 1)]
    for i, (length, cp) in enumerate(missing, 1):
        label = f"{length}-byte sequence of U+{cp:04X} with the last byte missing"
        entries.append(KuhnEntry(f"3.3.{i}", label, _truncated(length, cp), False))
    concatenated = b"".join(_truncated(length, cp) for length, cp in missing)
    entries.append(
        KuhnEntry("3.4", "the 10 incomplete sequences of 3.3 concatenated", concatenated, False)
    )
    entries += [
        KuhnEntry("3.5.1", "impossible byte 0xFE", b"\xfe", False),
        KuhnEntry("3.5.2", "impossible byte 0xFF", b"\xff", False),
        KuhnEntry("3.5.3", "impossible bytes FE FE FF FF", b"\xfe\xfe\xff\xff", False),
    ]
    return entries


def _section_4() -> list[KuhnEntry]:
    entries: list[KuhnEntry] = []
    longer = range(2, MAX_LEGACY_LENGTH + 1)
    for i, length in enumerate(longer, 1):
        label = f"overlong '/' (U+002F) in {length} bytes"
        entries.append(KuhnEntry(f"4.1.{i}", label, legacy_encode(0x2F, length), False))
    for i, length in enumerate(longer, 1):
        cp = LAST_OF_LENGTH[length - 1]
        label = f"maximum overlong {length}-byte sequence, U+{cp:04X}"
        entries.append(KuhnEntry(f"4.2.{i}", label, legacy_encode(cp, length), False))
    for i, length in enumerate(longer, 1):
        label = f"overlong NUL in {length} bytes"
        entries.append(KuhnEntry(f"4.3.{i}", label, legacy_encode(0, length), False))
    return entries


SINGLE_SURROGATES: Final = (0xD800, 0xDB7F, 0xDB80, 0xDBFF, 0xDC00, 0xDF80, 0xDFFF)
HIGH_SURROGATES: Final = (0xD800, 0xDB7F, 0xDB80, 0xDBFF)
LOW_SURROGATES: Final = (0xDC00, 0xDFFF)


def _section_5() -> list[KuhnEntry]:
    entries: list[KuhnEntry] = []
    for i, cp in enumerate(SINGLE_SURROGATES, 1):
        label = f"single UTF-16 surrogate U+{cp:04X}"
        entries.append(KuhnEntry(f"5.1.{i}", label, legacy_encode(cp, 3), False))
    pairs = [(high, low) for high in HIGH_SURROGATES for low in LOW_SURROGATES]
    for i, (high, low) in enumerate(pairs, 1):
        label = f"paired UTF-16 surrogates U+{high:04X} U+{low:04X}"
        data = legacy_encode(high, 3) + legacy_encode(low, 3)
        entries.append(KuhnEntry(f"5.2.{i}", label, data, False))
    entries += [
        KuhnEntry("5.3.1", "non-character U+FFFE", chr(0xFFFE).encode(), True),
        KuhnEntry("5.3.2", "non-character U+FFFF", chr(0xFFFF).encode(), True),
        KuhnEntry(
            "5.3.3",
            "non-characters U+FDD0-U+FDEF",
            "".join(map(chr, range(0xFDD0, 0xFDF0))).encode(),
            True,
        ),
        KuhnEntry(
            "5.3.4",
            "non-characters U+nFFFE and U+nFFFF of planes 1-16",
            "".join(
                chr(plane << 16 | low) for plane in range(1, 17) for low in (0xFFFE, 0xFFFF)
            ).encode(),
            True,
        ),
    ]
    return entries


KUHN_TABLE: Final[tuple[KuhnEntry, ...]] = (
    *_section_1(),
    *_section_2(),
    *_section_3(),
    *_section_4(),
    *_section_5(),
)
"""Every test of the stress test, in Kuhn's order."""


def valid_entries() -> tuple[KuhnEntry, ...]:
    return tuple(entry for entry in KUHN_TABLE if entry.valid)


def invalid_entries() -> tuple[KuhnEntry, ...]:
    return tuple(entry for entry in KUHN_TABLE if not entry.valid)
