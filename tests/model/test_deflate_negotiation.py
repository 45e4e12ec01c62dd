"""Reading a server's permessage-deflate response (RFC 7692 §5, §7, §7.1; RFC 6455 §9.1)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from conformance.model.deflate import requirements as req
from conformance.model.deflate.negotiation import Negotiated, read_response
from conformance.model.deflate.offers import FALLBACK_OFFERS, INVALID_OFFERS, VALID_OFFERS, Offer
from conformance.model.deflate.params import Agreed, WindowRule

BARE = (VALID_OFFERS["bare"],)


def ids(negotiated: Negotiated) -> set[str]:
    return {violation.requirement for violation in negotiated.violations}


def read(offers: Sequence[Offer], *lines: bytes) -> Negotiated:
    return read_response(offers, lines)


def test_no_header_means_declined() -> None:
    assert read(BARE) == Negotiated(accepted=False)


def test_response_without_permessage_deflate_is_declined() -> None:
    result = read((Offer(name="x-other"), *BARE), b"x-other")
    assert (result.accepted, result.violations) == (False, ())


@pytest.mark.parametrize(
    ("slug", "response", "agreed"),
    [
        ("bare", b"permessage-deflate", Agreed()),
        (
            "bare",
            b"permessage-deflate; server_no_context_takeover",
            Agreed(server_no_context_takeover=True),
        ),
        (
            "bare",
            b"permessage-deflate; client_no_context_takeover",
            Agreed(client_no_context_takeover=True),
        ),
        (
            "bare",
            b"permessage-deflate; server_max_window_bits=12",
            Agreed(server_max_window_bits=12),
        ),
        (
            "snct",
            b"permessage-deflate; server_no_context_takeover",
            Agreed(server_no_context_takeover=True),
        ),
        (
            "smwb10",
            b"permessage-deflate; server_max_window_bits=10",
            Agreed(server_max_window_bits=10),
        ),
        (
            "smwb10",
            b"permessage-deflate; server_max_window_bits=8",
            Agreed(server_max_window_bits=8),
        ),
        ("cmwb", b"permessage-deflate", Agreed()),
        ("cmwb", b"permessage-deflate; client_max_window_bits=9", Agreed(client_max_window_bits=9)),
        # the offered client value is a hint the server may ignore (RFC 7692 §7.1.2.2)
        (
            "cmwb10",
            b"permessage-deflate; client_max_window_bits=12",
            Agreed(client_max_window_bits=12),
        ),
        ("cnct", b"permessage-deflate", Agreed()),
        (
            "smwb10",
            b'permessage-deflate; server_max_window_bits="10"',
            Agreed(server_max_window_bits=10),
        ),
    ],
)
def test_valid_response_is_accepted_with_its_agreed_parameters(
    slug: str, response: bytes, agreed: Agreed
) -> None:
    result = read((VALID_OFFERS[slug],), response)
    assert result == Negotiated(accepted=True, agreed=agreed, chosen=0)


def test_agreed_rules_per_direction() -> None:
    agreed = Agreed(
        server_no_context_takeover=True, server_max_window_bits=9, client_max_window_bits=10
    )
    assert agreed.server_output() == WindowRule(9, no_context_takeover=True)
    assert agreed.client_output() == WindowRule(10, no_context_takeover=False)


def test_response_off_the_grammar_is_rfc6455_9_1() -> None:
    result = read(BARE, b"permessage-deflate; server_max_window_bits=")
    assert result.accepted and result.agreed is None
    assert ids(result) == {req.RFC6455_EXTENSION_GRAMMAR}


def test_two_permessage_deflate_elements_are_invalid() -> None:
    result = read(FALLBACK_OFFERS["narrow-then-bare"], b"permessage-deflate, permessage-deflate")
    assert ids(result) == {req.PMD_INVALID_RESPONSE}


def test_permessage_deflate_not_offered_is_invalid() -> None:
    assert ids(read((), b"permessage-deflate")) == {req.PMD_INVALID_RESPONSE}


def test_other_extension_not_offered_is_rfc6455_4_1() -> None:
    assert ids(read(BARE, b"permessage-deflate, x-webkit-deflate-frame")) == {
        req.RFC6455_UNREQUESTED_EXTENSION
    }


@pytest.mark.parametrize(
    ("response", "rule"),
    [
        (b"permessage-deflate; max_inflate_ratio=10", req.PMD_RESPONSE_UNKNOWN_PARAM),
        (
            b"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            req.PMD_RESPONSE_DUPLICATE_PARAM,
        ),
        (b"permessage-deflate; server_no_context_takeover=1", req.PMD_RESPONSE_SNCT_VALUE),
        (b"permessage-deflate; client_no_context_takeover=1", req.PMD_RESPONSE_CNCT_VALUE),
        (b"permessage-deflate; server_max_window_bits=16", req.PMD_RESPONSE_SMWB_ABNF),
        (b"permessage-deflate; server_max_window_bits=7", req.PMD_RESPONSE_SMWB_ABNF),
        (b"permessage-deflate; server_max_window_bits=09", req.PMD_RESPONSE_SMWB_ABNF),
        (b"permessage-deflate; server_max_window_bits", req.PMD_RESPONSE_SMWB_ABNF),
        (b"permessage-deflate; client_max_window_bits", req.PMD_RESPONSE_CMWB_ABNF),
        (b"permessage-deflate; client_max_window_bits=abc", req.PMD_RESPONSE_CMWB_ABNF),
    ],
)
def test_broken_response_parameter_is_flagged_with_its_rule(response: bytes, rule: str) -> None:
    offers = (VALID_OFFERS["cmwb"],)
    result = read(offers, response)
    assert result.accepted and result.agreed is None
    assert ids(result) == {rule}


def test_client_max_window_bits_when_not_offered() -> None:
    assert ids(read(BARE, b"permessage-deflate; client_max_window_bits=10")) == {
        req.PMD_CMWB_ONLY_IF_OFFERED
    }


def test_server_max_window_bits_above_offered() -> None:
    result = read((VALID_OFFERS["smwb10"],), b"permessage-deflate; server_max_window_bits=11")
    assert ids(result) == {req.PMD_SMWB_ACCEPT}


def test_server_max_window_bits_offered_but_not_answered() -> None:
    assert ids(read((VALID_OFFERS["smwb10"],), b"permessage-deflate")) == {req.PMD_SMWB_ACCEPT}


def test_server_no_context_takeover_offered_but_not_answered() -> None:
    assert ids(read((VALID_OFFERS["snct"],), b"permessage-deflate")) == {req.PMD_SNCT_ACCEPT}


def test_server_max_window_bits_15_left_out_is_no_acceptance_rfc7692_7_1_2_1() -> None:
    """An offered ``server_max_window_bits=15`` is a request, not a hint (§5): it is accepted
    only by answering it (§7.1.2.1), even though 15 is the default window. websockets and
    Chromium's compatibility check fail such a response (docs/findings.md, P7)."""
    omitted = read((VALID_OFFERS["smwb15"],), b"permessage-deflate")
    assert ids(omitted) == {req.PMD_SMWB_ACCEPT}
    assert omitted.agreed is None
    answered = read((VALID_OFFERS["smwb15"],), b"permessage-deflate; server_max_window_bits=15")
    assert answered.violations == ()


def test_accepting_an_offer_that_must_be_declined() -> None:
    invalid = INVALID_OFFERS["smwb16"]
    result = read((invalid.offer,), b"permessage-deflate")
    assert ids(result) == {invalid.requirement}


@pytest.mark.parametrize(
    ("response", "chosen"),
    [
        (b"permessage-deflate; server_max_window_bits=10", 0),
        (b"permessage-deflate", 1),
        (b"permessage-deflate; client_max_window_bits=12", 1),
    ],
)
def test_fallback_offers_rfc7692_7_1_3(response: bytes, chosen: int) -> None:
    result = read(FALLBACK_OFFERS["rfc-example-7.1.3"], response)
    assert (result.violations, result.chosen) == ((), chosen)


def test_fallback_after_an_invalid_offer_answers_the_valid_one() -> None:
    result = read(FALLBACK_OFFERS["invalid-then-valid"], b"permessage-deflate")
    assert (result.violations, result.chosen) == ((), 1)


def test_fallback_answer_fitting_no_offer_reports_the_closest() -> None:
    result = read(
        FALLBACK_OFFERS["narrow-then-bare"], b"permessage-deflate; client_max_window_bits=9"
    )
    assert ids(result) == {req.PMD_CMWB_ONLY_IF_OFFERED}
    assert result.chosen == 1
