"""The strict inflater of the server's messages (RFC 7692 §7.2.1, §7.2.2) and RSV1 (§6.1)."""

from __future__ import annotations

import zlib

import pytest

from conformance.model.constants import Opcode
from conformance.model.deflate import examples
from conformance.model.deflate import requirements as req
from conformance.model.deflate.compressor import (
    SYNC_TAIL,
    MessageCompressor,
    compress_message,
    context_pair,
)
from conformance.model.deflate.inflater import Inflated, StrictInflater, check_rsv1
from conformance.model.deflate.params import WindowRule
from conformance.model.deflate.probes import beyond_window, random_block
from conformance.model.frames import Frame

LIMIT = 1 << 20


def server_payload(data: bytes, bits: int = 15) -> bytes:
    """What a server ignoring any limit sends: zlib with a 32 KB (or ``bits``) window."""
    deflater = zlib.compressobj(wbits=-bits)
    return (deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH))[: -len(SYNC_TAIL)]


@pytest.mark.parametrize(
    "payload",
    [examples.ONE_BLOCK, examples.STORED, examples.BFINAL, examples.TWO_BLOCKS],
    ids=["one-block", "stored", "bfinal", "two-blocks"],
)
def test_rfc7692_examples_inflate_to_hello(payload: bytes) -> None:
    assert StrictInflater(WindowRule(8), max_size=LIMIT).inflate(payload) == Inflated(
        examples.HELLO
    )


def test_empty_fragment_is_an_empty_message() -> None:
    assert StrictInflater(WindowRule(), max_size=LIMIT).inflate(
        examples.EMPTY_FRAGMENT
    ) == Inflated(b"")


@pytest.mark.parametrize("bits", range(8, 15))
def test_payload_made_with_a_bigger_window_than_agreed_is_caught(bits: int) -> None:
    result = StrictInflater(WindowRule(bits), max_size=LIMIT).inflate(
        server_payload(beyond_window(bits))
    )
    assert result.data is None and result.violation is not None
    assert result.violation.requirement == req.PMD_SERVER_WINDOW


@pytest.mark.parametrize("bits", range(9, 16))
def test_payload_made_within_the_agreed_window_is_accepted(bits: int) -> None:
    data = beyond_window(min(bits, 14), repeats=3)
    inflater = StrictInflater(WindowRule(bits), max_size=LIMIT)
    for _ in range(3):
        assert inflater.inflate(server_payload(data, bits)) == Inflated(data)


def test_context_kept_under_no_context_takeover_is_caught() -> None:
    block = random_block(3000)
    first, second = context_pair(block, block)
    inflater = StrictInflater(WindowRule(15, no_context_takeover=True), max_size=LIMIT)
    assert inflater.inflate(first) == Inflated(block)
    result = inflater.inflate(second)
    assert (
        result.violation is not None and result.violation.requirement == req.PMD_SERVER_NO_CONTEXT
    )


def test_context_takeover_is_followed_when_agreed() -> None:
    block = random_block(3000)
    inflater = StrictInflater(WindowRule(15), max_size=LIMIT)
    assert [inflater.inflate(p) for p in context_pair(block, block)] == [
        Inflated(block),
        Inflated(block),
    ]


def test_rfc7692_7_2_3_2_shared_window() -> None:
    inflater = StrictInflater(WindowRule(15), max_size=LIMIT)
    assert inflater.inflate(examples.ONE_BLOCK) == Inflated(examples.HELLO)
    assert inflater.inflate(examples.SHARED_WINDOW_SECOND) == Inflated(examples.HELLO)


def test_context_carries_over_a_bfinal_block() -> None:
    inflater = StrictInflater(WindowRule(15), max_size=LIMIT)
    assert inflater.inflate(examples.BFINAL) == Inflated(examples.HELLO)
    assert inflater.inflate(examples.SHARED_WINDOW_SECOND) == Inflated(examples.HELLO)


def test_fresh_messages_pass_under_no_context_takeover() -> None:
    block = random_block(3000)
    compressor = MessageCompressor(WindowRule(10, no_context_takeover=True))
    inflater = StrictInflater(WindowRule(10, no_context_takeover=True), max_size=LIMIT)
    for _ in range(3):
        assert inflater.inflate(compressor.compress(block * 2)) == Inflated(block * 2)


def test_output_is_bounded_by_max_size() -> None:
    bomb = compress_message(bytes(10_000_000))
    assert len(bomb) < 20_000
    assert StrictInflater(WindowRule(), max_size=4096).inflate(bomb) == Inflated(
        None, too_large=True
    )


def test_message_of_exactly_max_size_passes() -> None:
    data = bytes(4096)
    assert StrictInflater(WindowRule(), max_size=4096).inflate(compress_message(data)) == Inflated(
        data
    )


@pytest.mark.parametrize("payload", [b"\xff\xff\xff", b"\x07", bytes.fromhex("000500faff48656c6c")])
def test_corrupt_data_is_flagged(payload: bytes) -> None:
    result = StrictInflater(WindowRule(), max_size=LIMIT).inflate(payload)
    assert result.data is None and result.violation is not None
    assert result.violation.requirement in {req.PMD_INFLATE, req.PMD_EMPTY_BLOCK_TAIL}


def test_invalid_block_type_is_an_inflate_violation() -> None:
    result = StrictInflater(WindowRule(), max_size=LIMIT).inflate(b"\xff\xff\xff")
    assert result.violation is not None and result.violation.requirement == req.PMD_INFLATE


@pytest.mark.parametrize(
    "payload",
    [compress_message(b"hello world")[:-1], b"", bytes.fromhex("f348cdc9c90700")],
    ids=["truncated", "empty", "bfinal-without-0x00"],
)
def test_payload_without_the_empty_stored_block_is_flagged(payload: bytes) -> None:
    result = StrictInflater(WindowRule(), max_size=LIMIT).inflate(payload)
    assert result.violation is not None and result.violation.requirement == req.PMD_EMPTY_BLOCK_TAIL


def test_after_a_violation_the_next_message_starts_empty() -> None:
    inflater = StrictInflater(WindowRule(), max_size=LIMIT)
    assert inflater.inflate(b"\xff\xff\xff").violation is not None
    assert inflater.inflate(examples.ONE_BLOCK) == Inflated(examples.HELLO)


def frame(opcode: int, *, fin: bool = True, rsv1: bool = False) -> Frame:
    return Frame(opcode, b"", fin=fin, rsv1=rsv1)


def test_rsv1_on_first_fragment_only_is_fine() -> None:
    frames = [
        frame(Opcode.TEXT, fin=False, rsv1=True),
        frame(Opcode.PING),
        frame(Opcode.CONTINUATION),
    ]
    assert check_rsv1(frames, negotiated=True) == ()


@pytest.mark.parametrize("opcode", [Opcode.PING, Opcode.PONG, Opcode.CLOSE])
def test_rsv1_on_a_control_frame(opcode: int) -> None:
    (violation,) = check_rsv1([frame(opcode, rsv1=True)], negotiated=True)
    assert violation.requirement == req.PMD_RSV1_CONTROL_OR_CONTINUATION


def test_rsv1_on_a_continuation_frame() -> None:
    frames = [frame(Opcode.BINARY, fin=False, rsv1=True), frame(Opcode.CONTINUATION, rsv1=True)]
    (violation,) = check_rsv1(frames, negotiated=True)
    assert violation.requirement == req.PMD_RSV1_CONTROL_OR_CONTINUATION
    assert "frame 1" in violation.detail


def test_rsv1_without_negotiation_is_rfc6455_5_2() -> None:
    (violation,) = check_rsv1([frame(Opcode.TEXT, rsv1=True)], negotiated=False)
    assert violation.requirement == req.RFC6455_RSV_NOT_NEGOTIATED
