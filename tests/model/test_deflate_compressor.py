"""The suite's own compressed messages (RFC 7692 §7.2.1) and the §7.2.3 examples."""

from __future__ import annotations

import zlib

import pytest

from conformance.model.deflate import examples
from conformance.model.deflate.compressor import (
    SYNC_TAIL,
    MessageCompressor,
    bfinal_block,
    compress_message,
    context_pair,
    empty_final_fragment,
    empty_message,
    stored_block,
    two_blocks,
)
from conformance.model.deflate.params import WindowRule
from conformance.model.deflate.probes import beyond_window, random_block

TEXT = b"The quick brown fox jumps over the lazy dog. " * 400


def inflate(payload: bytes, bits: int = 15, inflater: zlib._Decompress | None = None) -> bytes:
    inflater = inflater or zlib.decompressobj(-bits)
    return inflater.decompress(payload + SYNC_TAIL)


def inflate_stepwise(payload: bytes, bits: int, step: int = 16) -> bytes:
    """Inflate ``step`` bytes a zlib call, so a reference beyond ``2**bits + step`` raises.

    zlib lets a reference reach the current call's output besides the window; in one large
    call a too-far reference goes unnoticed.
    """
    inflater = zlib.decompressobj(-bits)
    out = bytearray()
    pending = payload + SYNC_TAIL
    while pending:
        out += inflater.decompress(pending, step)
        pending = inflater.unconsumed_tail
    while chunk := inflater.decompress(b"", step):
        out += chunk
    return bytes(out)


def test_rfc7692_7_2_3_1_one_block() -> None:
    assert compress_message(examples.HELLO) == examples.ONE_BLOCK


def test_rfc7692_7_2_3_2_shared_window() -> None:
    assert context_pair(examples.HELLO, examples.HELLO) == (
        examples.ONE_BLOCK,
        examples.SHARED_WINDOW_SECOND,
    )


def test_rfc7692_7_2_3_3_stored_block() -> None:
    assert stored_block(examples.HELLO) == examples.STORED


def test_rfc7692_7_2_3_4_bfinal_block() -> None:
    assert bfinal_block(examples.HELLO) == examples.BFINAL


def test_rfc7692_7_2_3_5_two_blocks() -> None:
    assert two_blocks(b"He", b"llo") == examples.TWO_BLOCKS


def test_rfc7692_7_2_3_6_empty_fragment() -> None:
    assert empty_final_fragment() == examples.EMPTY_FRAGMENT == b"\x00"
    assert inflate(empty_message()) == b""


def test_stored_block_splits_above_65535_bytes() -> None:
    data = random_block(70_000)
    assert inflate(stored_block(data)) == data


def test_compressed_message_ends_without_the_sync_tail() -> None:
    payload = compress_message(TEXT)
    assert not payload.endswith(SYNC_TAIL)
    assert inflate(payload) == TEXT


@pytest.mark.parametrize("bits", range(9, 16))
def test_window_n_output_inflates_with_exactly_n_bits(bits: int) -> None:
    # A compressor ignoring the window would reference beyond 2**bits: -bits would refuse it.
    data = beyond_window(min(bits, 14), repeats=3)
    payload = MessageCompressor(WindowRule(bits)).compress(data)
    assert inflate_stepwise(payload, bits) == data


def test_window_15_output_fails_a_smaller_inflater() -> None:
    # The proof above can fail: an unrestricted compressor breaks a 9-bit inflater.
    payload = MessageCompressor(WindowRule(15)).compress(beyond_window(9))
    assert inflate(payload, 9) == beyond_window(9)  # one large call does not notice
    with pytest.raises(zlib.error, match="too far back"):
        inflate_stepwise(payload, 9)


@pytest.mark.parametrize("strategy", ["default", "huffman", "stored", "filtered", "fixed"])
def test_window_8_output_inflates_with_an_8_bit_window(strategy: str) -> None:
    compressor = MessageCompressor(WindowRule(8), strategy=strategy)  # type: ignore[arg-type]
    assert compressor.strategy in {"huffman", "stored"}
    data = beyond_window(8, repeats=4)
    for _ in range(3):
        assert inflate_stepwise(compressor.compress(data), 8) == data


def test_context_takeover_message_two_inflates_only_with_the_kept_inflater() -> None:
    block = random_block(5000)
    first, second = context_pair(block, block)
    kept = zlib.decompressobj(-15)
    assert inflate(first, inflater=kept) == block
    assert inflate(second, inflater=kept) == block
    assert len(second) < len(block) // 10
    with pytest.raises(zlib.error):
        inflate(second)


def test_no_context_takeover_messages_inflate_alone() -> None:
    block = random_block(5000)
    compressor = MessageCompressor(WindowRule(15, no_context_takeover=True))
    payloads = [compressor.compress(block) for _ in range(3)]
    assert all(inflate(payload) == block for payload in payloads)


def test_fragments_concatenate_into_one_message() -> None:
    compressor = MessageCompressor(WindowRule(15))
    head = compressor.compress_fragment(TEXT[:1000])
    assert head.endswith(SYNC_TAIL)  # §7.2.1: non-final fragments keep the tail
    middle = compressor.compress_unflushed(TEXT[1000:5000])
    tail = compressor.compress(TEXT[5000:])
    assert inflate(head + middle + tail) == TEXT
