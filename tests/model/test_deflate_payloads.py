"""The suite's payload generators and Autobahn 12's size table (model/deflate/payloads.py)."""

from __future__ import annotations

import zlib

import pytest

from conformance.model.constants import Opcode
from conformance.model.deflate.compressor import MessageCompressor
from conformance.model.deflate.inflater import StrictInflater
from conformance.model.deflate.params import WindowRule
from conformance.model.deflate.payloads import (
    AUTOBAHN_12_KINDS,
    AUTOBAHN_12_SIZES,
    KIB,
    Kind,
    SizeRow,
    payload,
    window_probe,
)
from conformance.model.deflate.requirements import PMD_SERVER_NO_CONTEXT, PMD_SERVER_WINDOW

SIZES = (0, 1, 16, 100, 4097, 128 * KIB)


def test_autobahn_table() -> None:
    """case12_x_x.py MSG_SIZES: 10 unfragmented rows 16 B..128 KiB, then 8 fragmented."""
    assert len(AUTOBAHN_12_SIZES) == 18
    whole = [row.size for row in AUTOBAHN_12_SIZES if not row.fragment]
    assert whole == [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072]
    fragments = {row.fragment for row in AUTOBAHN_12_SIZES if row.fragment}
    assert fragments == {256, 1024, 4096, 32768}
    assert {row.count for row in AUTOBAHN_12_SIZES} == {1000}
    assert len({row.slug for row in AUTOBAHN_12_SIZES}) == 18
    assert SizeRow(128 * KIB, 256).slug == "128kib-frag-256" and SizeRow(16).slug == "16b"
    assert list(AUTOBAHN_12_KINDS.values()) == list(Kind)


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("size", SIZES)
def test_any_length_deterministic_and_valid_text(kind: Kind, size: int) -> None:
    data = payload(kind, size, seed=3)
    assert len(data) == size
    payload.cache_clear()
    assert payload(kind, size, seed=3) == data
    if kind.opcode == Opcode.TEXT:
        data.decode("utf-8")
    if size >= 100:
        assert payload(kind, size, seed=4) != data


def test_opcodes() -> None:
    text = {k for k in Kind if k.opcode == Opcode.TEXT}
    assert text == {Kind.JSON, Kind.PROSE, Kind.HTML}


@pytest.mark.parametrize("kind", list(Kind))
def test_compressibility_has_each_kind_s_character(kind: Kind) -> None:
    data = payload(kind, 64 * KIB)
    ratio = len(zlib.compress(data)) / len(data)
    if kind is Kind.INCOMPRESSIBLE:
        assert ratio > 0.99
    else:
        assert ratio < 0.5


@pytest.mark.parametrize("kind", [Kind.JSON, Kind.PROSE, Kind.HTML, Kind.IMAGE])
def test_a_server_ignoring_a_small_window_is_caught(kind: Kind) -> None:
    """Repetitive at long distances: compressed with 32 KB, a 512-byte inflater fails."""
    data = payload(kind, 32 * KIB)
    compressed = MessageCompressor(WindowRule()).compress(data)
    result = StrictInflater(WindowRule(9), max_size=2**20).inflate(compressed)
    assert result.violation is not None and result.violation.requirement == PMD_SERVER_WINDOW


@pytest.mark.parametrize("kind", [Kind.JSON, Kind.PROSE, Kind.HTML])
def test_a_server_keeping_context_is_caught(kind: Kind) -> None:
    """Consecutive messages share text: kept context references the previous message."""
    compressor = MessageCompressor(WindowRule())
    inflater = StrictInflater(WindowRule(no_context_takeover=True), max_size=2**20)
    assert inflater.inflate(compressor.compress(payload(kind, 4 * KIB, seed=1))).data
    second = inflater.inflate(compressor.compress(payload(kind, 4 * KIB, seed=1)))
    assert second.violation is not None and second.violation.requirement == PMD_SERVER_NO_CONTEXT


@pytest.mark.parametrize("bits", [9, 12, 14, 15])
def test_window_probe(bits: int) -> None:
    data = window_probe(bits)
    assert len(data) > 2 * (1 << min(bits, 14))
    honest = MessageCompressor(WindowRule(bits)).compress(data)
    assert StrictInflater(WindowRule(bits), max_size=2**20).inflate(honest).data == data
    if bits < 15:
        wide = MessageCompressor(WindowRule()).compress(data)
        caught = StrictInflater(WindowRule(bits), max_size=2**20).inflate(wide)
        assert caught.violation is not None
    else:  # a 16 KiB inflater cannot follow a conforming 32 KB compressor (§7.2.2)
        wide = MessageCompressor(WindowRule()).compress(data)
        with pytest.raises(zlib.error):
            zlib.decompressobj(-14).decompress(wide + b"\x00\x00\xff\xff")
