"""Properties of the deflate model over any data and any agreed parameters (RFC 7692 §7)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.model.deflate import requirements as req
from conformance.model.deflate.compressor import MessageCompressor, context_pair
from conformance.model.deflate.inflater import Inflated, StrictInflater
from conformance.model.deflate.negotiation import Negotiated, read_response
from conformance.model.deflate.offers import VALID_OFFERS
from conformance.model.deflate.params import MAX_WINDOW_BITS, MIN_WINDOW_BITS, Agreed, WindowRule
from conformance.model.deflate.probes import beyond_window, random_block

window_bits = st.integers(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
rules = st.builds(WindowRule, window_bits, st.booleans())
messages = st.lists(st.binary(max_size=3000) | st.text(max_size=1000).map(str.encode), max_size=5)
agreements = st.builds(Agreed, st.booleans(), st.booleans(), window_bits, window_bits)


@settings(max_examples=60, deadline=None)
@given(rules, messages, st.sampled_from(["default", "huffman", "stored", "fixed"]))
def test_compressor_output_passes_the_strict_inflater_under_the_same_rule(
    rule: WindowRule, payloads: list[bytes], strategy: str
) -> None:
    compressor = MessageCompressor(rule, strategy=strategy)  # type: ignore[arg-type]
    inflater = StrictInflater(rule, max_size=1 << 16, step=16)
    for data in payloads:
        assert inflater.inflate(compressor.compress(data)) == Inflated(data)


@settings(max_examples=60, deadline=None)
@given(agreements)
def test_any_agreed_parameters_read_back_from_their_response(agreed: Agreed) -> None:
    # An offer with a valueless client_max_window_bits admits every response (RFC 7692 §7.1).
    result = read_response((VALID_OFFERS["cmwb"],), [agreed.render().encode()])
    assert result == Negotiated(accepted=True, agreed=agreed, chosen=0)


@settings(max_examples=30, deadline=None)
@given(st.integers(MIN_WINDOW_BITS, MAX_WINDOW_BITS - 1), st.integers(0, 2**32))
def test_a_server_ignoring_its_window_is_always_caught(bits: int, seed: int) -> None:
    payload = MessageCompressor(WindowRule(MAX_WINDOW_BITS)).compress(
        beyond_window(bits, seed=seed)
    )
    result = StrictInflater(WindowRule(bits), max_size=1 << 16).inflate(payload)
    assert result.violation is not None and result.violation.requirement == req.PMD_SERVER_WINDOW


@settings(max_examples=30, deadline=None)
@given(st.integers(64, 20_000), st.integers(0, 2**32))
def test_a_server_keeping_context_is_always_caught(size: int, seed: int) -> None:
    block = random_block(size, seed=seed)
    first, second = context_pair(block, block)
    inflater = StrictInflater(
        WindowRule(MAX_WINDOW_BITS, no_context_takeover=True), max_size=1 << 16
    )
    assert inflater.inflate(first) == Inflated(block)
    result = inflater.inflate(second)
    assert (
        result.violation is not None and result.violation.requirement == req.PMD_SERVER_NO_CONTEXT
    )
