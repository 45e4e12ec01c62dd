"""Markus Kuhn's UTF-8 stress test, as generated: structure, bytes, validity."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from conformance.model.kuhn import (
    KUHN_TABLE,
    KuhnEntry,
    invalid_entries,
    legacy_encode,
    valid_entries,
)
from conformance.model.utf8 import first_invalid_offset

IDS = [entry.number for entry in KUHN_TABLE]


def decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("entry", KUHN_TABLE, ids=IDS)
def test_validity_agrees_with_python(entry: KuhnEntry) -> None:
    assert decodes(entry.data) is entry.valid


@pytest.mark.parametrize("entry", KUHN_TABLE, ids=IDS)
def test_validity_agrees_with_the_models_validator(entry: KuhnEntry) -> None:
    assert (first_invalid_offset(entry.data) is None) is entry.valid


def test_numbers_are_unique_and_in_kuhns_sections() -> None:
    assert len(set(IDS)) == len(IDS)
    assert all(re.fullmatch(r"[1-5](\.\d+){0,2}", number) for number in IDS)
    sections = Counter(number.rsplit(".", 1)[0] for number in IDS if number.count(".") == 2)
    assert sections == {
        "2.1": 6,
        "2.2": 6,
        "2.3": 5,
        "3.1": 9,
        "3.2": 5,
        "3.3": 10,
        "3.5": 3,
        "4.1": 5,
        "4.2": 5,
        "4.3": 5,
        "5.1": 7,
        "5.2": 8,
        "5.3": 4,
    }
    assert {"1", "3.4"} <= set(IDS)
    assert len(valid_entries()) + len(invalid_entries()) == len(KUHN_TABLE)


def by_number(number: str) -> KuhnEntry:
    return next(entry for entry in KUHN_TABLE if entry.number == number)


@pytest.mark.parametrize(
    ("number", "data", "valid"),
    [
        ("1", "\u03ba\u1f79\u03c3\u03bc\u03b5".encode(), True),  # U+1F79, as Kuhn
        ("2.1.1", b"\x00", True),
        ("2.1.4", b"\xf0\x90\x80\x80", True),
        ("2.1.5", b"\xf8\x88\x80\x80\x80", False),
        ("2.1.6", b"\xfc\x84\x80\x80\x80\x80", False),
        ("2.2.3", b"\xef\xbf\xbf", True),
        ("2.2.4", b"\xf7\xbf\xbf\xbf", False),
        ("2.2.6", b"\xfd\xbf\xbf\xbf\xbf\xbf", False),
        ("2.3.1", b"\xed\x9f\xbf", True),
        ("2.3.2", b"\xee\x80\x80", True),
        ("2.3.3", b"\xef\xbf\xbd", True),
        ("2.3.4", b"\xf4\x8f\xbf\xbf", True),
        ("2.3.5", b"\xf4\x90\x80\x80", False),
        ("3.1.3", b"\x80\xbf", False),
        ("3.1.9", bytes(range(0x80, 0xC0)), False),
        ("3.2.1", b"".join(bytes([b, 0x20]) for b in range(0xC0, 0xE0)), False),
        ("3.2.5", b"\xfc \xfd ", False),
        ("3.3.1", b"\xc0", False),
        ("3.3.7", b"\xef\xbf", False),
        ("3.3.10", b"\xfd\xbf\xbf\xbf\xbf", False),
        ("3.5.3", b"\xfe\xfe\xff\xff", False),
        ("4.1.1", b"\xc0\xaf", False),
        ("4.1.5", b"\xfc\x80\x80\x80\x80\xaf", False),
        ("4.2.1", b"\xc1\xbf", False),
        ("4.2.5", b"\xfc\x83\xbf\xbf\xbf\xbf", False),
        ("4.3.1", b"\xc0\x80", False),
        ("4.3.3", b"\xf0\x80\x80\x80", False),
        ("5.1.1", b"\xed\xa0\x80", False),
        ("5.1.7", b"\xed\xbf\xbf", False),
        ("5.2.1", b"\xed\xa0\x80\xed\xb0\x80", False),
        ("5.2.8", b"\xed\xaf\xbf\xed\xbf\xbf", False),
        ("5.3.1", b"\xef\xbf\xbe", True),
        ("5.3.2", b"\xef\xbf\xbf", True),
    ],
)
def test_known_bytes(number: str, data: bytes, valid: bool) -> None:
    entry = by_number(number)
    assert entry.data == data
    assert entry.valid is valid


def test_concatenation_is_the_ten_truncated_sequences() -> None:
    parts = [by_number(f"3.3.{i}").data for i in range(1, 11)]
    assert by_number("3.4").data == b"".join(parts)
    assert len(by_number("3.4").data) == 30


def test_lonely_start_byte_counts() -> None:
    counts = [len(by_number(f"3.2.{i}").data) // 2 for i in range(1, 6)]
    assert counts == [32, 16, 8, 4, 2]


def test_noncharacters_are_valid() -> None:
    nonchars = [by_number(f"5.3.{i}") for i in range(1, 5)]
    assert all(entry.valid for entry in nonchars)
    text = "".join(entry.data.decode() for entry in nonchars)
    assert len(text) == 2 + 32 + 32
    assert all(0xFDD0 <= ord(c) <= 0xFDEF or ord(c) & 0xFFFE == 0xFFFE for c in text)


@pytest.mark.parametrize("code_point", [0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFD, 0x10000, 0x10FFFF])
def test_legacy_encode_matches_utf8_for_scalar_values(code_point: int) -> None:
    data = chr(code_point).encode()
    assert legacy_encode(code_point, len(data)) == data


def test_legacy_encode_refuses_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        legacy_encode(0x80, 1)
    with pytest.raises(ValueError, match="no 7-byte"):
        legacy_encode(0, 7)


def test_slug() -> None:
    assert by_number("3.1.9").slug == "3-1-9"
