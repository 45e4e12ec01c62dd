"""The memo of deflate work (RFC 7692 §7.2.1, §7.2.2): a looked-up result is the computed one.

A payload looked up must inflate, in the peer's stream, exactly as a freshly compressed one;
a strict inflation looked up must give the bytes (and window rule) of a fresh one; the memo
never holds more than its budget.
"""

from __future__ import annotations

import zlib

import pytest

from conformance.model.deflate.compressor import SYNC_TAIL, MessageCompressor
from conformance.model.deflate.inflater import StrictInflater
from conformance.model.deflate.memo import MIN_MEMO_SIZE, WindowMemo
from conformance.model.deflate.params import WindowRule
from conformance.model.deflate.payloads import Kind, payload, window_probe

LIMIT = 1 << 22
SIZES = (200, 4096, 20_000, 40_000, 131_072)


def cycle(size: int, count: int = 24) -> list[bytes]:
    """Four distinct payloads of ``size`` bytes, repeated: as the full profile sends them."""
    seeds = [payload(Kind.JSON, size, seed) for seed in range(4)]
    return [seeds[i % 4] for i in range(count)]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("rule", [WindowRule(), WindowRule(10), WindowRule(15, True)])
def test_memoised_payloads_inflate_in_the_peers_window(size: int, rule: WindowRule) -> None:
    """§7.2.2: the peer inflates each payload with the window the earlier ones left."""
    memo = WindowMemo()
    compressor = MessageCompressor(rule, memo=memo)
    peer = zlib.decompressobj(-rule.window_bits)
    for data in cycle(size):
        if rule.no_context_takeover:
            peer = zlib.decompressobj(-rule.window_bits)
        assert peer.decompress(compressor.compress(data) + SYNC_TAIL) == data
    assert (memo.hits > 0) == WindowMemo.worth(cycle(size, 1)[0])


def test_memoised_payloads_stay_within_an_agreed_small_window() -> None:
    """§7.2.1: a payload looked up references no farther than the agreed window."""
    rule = WindowRule(9)
    compressor = MessageCompressor(rule, memo=WindowMemo())
    strict = StrictInflater(rule, max_size=LIMIT)
    for data in [window_probe(9, seed=1)] * 3 + cycle(4096):
        assert strict.inflate(compressor.compress(data)).data == data


def test_a_message_begun_unflushed_is_never_looked_up() -> None:
    """A fragment's pending output belongs to the stream: its completion is compressed."""
    memo = WindowMemo()
    compressor = MessageCompressor(WindowRule(), memo=memo)
    data = payload(Kind.PROSE, 8192, 0)
    compressor.compress(data)
    head = compressor.compress_unflushed(data[:100])
    rest = compressor.compress(data)
    peer = zlib.decompressobj(-15)
    peer.decompress(MessageCompressor(WindowRule()).compress(data) + SYNC_TAIL)
    assert peer.decompress(head + rest + SYNC_TAIL) == data[:100] + data
    assert memo.hits == 0


@pytest.mark.parametrize("rule", [WindowRule(), WindowRule(12), WindowRule(15, True)])
def test_memoised_inflation_equals_a_fresh_one(rule: WindowRule) -> None:
    """The strict inflater's result is a function of (window, payload) (§7.2.2)."""
    server = MessageCompressor(rule)
    payloads = [(data, server.compress(data)) for data in cycle(40_000)]
    memo = WindowMemo()
    looked_up = StrictInflater(rule, max_size=LIMIT, memo=memo)
    fresh = StrictInflater(rule, max_size=LIMIT)
    for data, sent in payloads:
        assert looked_up.inflate(sent).data == fresh.inflate(sent).data == data
    assert memo.hits > 0


def test_a_too_far_reference_is_caught_after_a_memo_hit() -> None:
    """§7.2.1: the window check holds for the message after one that was looked up."""
    rule = WindowRule(9)
    honest = MessageCompressor(rule)
    repeated = honest.compress(cycle(2048, 1)[0])
    strict = StrictInflater(rule, max_size=LIMIT, memo=WindowMemo())
    strict.inflate(repeated)
    assert strict.inflate(repeated).data is not None  # the memo hit
    wide = zlib.compressobj(wbits=-15)
    probe = window_probe(9, seed=3)
    too_far = (wide.compress(probe) + wide.flush(zlib.Z_SYNC_FLUSH))[: -len(SYNC_TAIL)]
    assert strict.inflate(too_far).violation is not None


def test_short_messages_are_not_memoised() -> None:
    assert not WindowMemo.worth(b"x" * (MIN_MEMO_SIZE - 1))
    assert WindowMemo.worth(b"x" * MIN_MEMO_SIZE)


def test_the_memo_stays_within_its_budget() -> None:
    memo = WindowMemo(budget=10_000)
    for index in range(50):
        memo.put(bytes([index]) * 1000, b"m" * 1000, b"r" * 1000)
        assert memo.get(bytes([index]) * 1000, b"m" * 1000) == b"r" * 1000
    assert len(memo._results) <= 3
    memo.put(b"", b"x" * 20_000, b"y")  # larger than the whole budget: not stored
    assert memo.get(b"", b"x" * 20_000) is None


SEQUENCE_WITH_A_HIT = (0, 1, 0, 1, 2)
"""X, A, X, A (looked up: same window, same message), then Y, compressed after the hit."""


def test_a_message_after_a_memo_hit_is_compressed_in_the_peers_window() -> None:
    """§7.2.1: after a looked-up payload, the next one still references the peer's window."""
    seeds = [payload(Kind.PROSE, 40_000, seed) for seed in range(3)]
    memo = WindowMemo()
    compressor = MessageCompressor(WindowRule(), memo=memo)
    peer = zlib.decompressobj(-15)
    for index in SEQUENCE_WITH_A_HIT:
        assert peer.decompress(compressor.compress(seeds[index]) + SYNC_TAIL) == seeds[index]
    assert memo.hits == 1


def test_a_message_after_a_memo_hit_is_inflated_in_the_servers_window() -> None:
    """§7.2.2: after a looked-up inflation, the next message is inflated with its window."""
    seeds = [payload(Kind.PROSE, 40_000, seed) for seed in range(3)]
    server = MessageCompressor(WindowRule())
    sent = [(seeds[index], server.compress(seeds[index])) for index in SEQUENCE_WITH_A_HIT]
    sent[3] = (sent[3][0], sent[1][1])  # the server's own stream may differ: send the same
    memo = WindowMemo()
    strict = StrictInflater(WindowRule(), max_size=LIMIT, memo=memo)
    peer = zlib.decompressobj(-15)
    for _, payload_ in sent:
        expected = peer.decompress(payload_ + SYNC_TAIL)
        assert strict.inflate(payload_).data == expected
    assert memo.hits == 1
