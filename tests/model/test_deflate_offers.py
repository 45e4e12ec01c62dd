"""Offers the suite sends and the strict reading of one offer (RFC 7692 §7, §7.1; RFC 6455 §9.1)."""

from __future__ import annotations

import pytest

from conformance.model.deflate import requirements as req
from conformance.model.deflate.elements import (
    ExtensionElement,
    ExtensionParam,
    ExtensionSyntaxError,
    parse_extension_list,
)
from conformance.model.deflate.offers import (
    ACCEPTABLE_OFFERS,
    AUTOBAHN_13_OFFERS,
    FALLBACK_OFFERS,
    INVALID_OFFERS,
    VALID_OFFERS,
    Offer,
    OfferedParams,
    offer_header,
    read_offer,
)
from conformance.model.violations import Violation


def test_offer_renders_exactly() -> None:
    assert VALID_OFFERS["bare"].render() == "permessage-deflate"
    assert VALID_OFFERS["smwb10"].render() == "permessage-deflate; server_max_window_bits=10"
    assert (
        VALID_OFFERS["snct-cnct-smwb9-cmwb"].render()
        == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=9; client_max_window_bits"
    )
    assert (
        ACCEPTABLE_OFFERS["smwb10-quoted"].render()
        == 'permessage-deflate; server_max_window_bits="10"'
    )


def test_offer_header_joins_elements_with_commas() -> None:
    assert offer_header(FALLBACK_OFFERS["rfc-example-7.1.3"]) == (
        b"permessage-deflate; server_max_window_bits=10; client_max_window_bits, "
        b"permessage-deflate; client_max_window_bits"
    )


def test_valid_offers_cover_every_parameter_combination() -> None:
    # 2 (snct) x 2 (cnct) x 9 (smwb absent, 8..15) x 10 (cmwb absent, valueless, 8..15)
    assert len(VALID_OFFERS) == 360
    assert len({offer.render() for offer in VALID_OFFERS.values()}) == 360


@pytest.mark.parametrize("slug", sorted(VALID_OFFERS))
def test_every_valid_offer_reads_as_valid(slug: str) -> None:
    element = VALID_OFFERS[slug].element()
    assert element is not None
    assert isinstance(read_offer(element), OfferedParams)


@pytest.mark.parametrize("slug", sorted(ACCEPTABLE_OFFERS))
def test_quoted_and_reordered_offers_are_valid(slug: str) -> None:
    element = ACCEPTABLE_OFFERS[slug].element()
    assert element is not None
    assert isinstance(read_offer(element), OfferedParams)


@pytest.mark.parametrize("slug", sorted(INVALID_OFFERS))
def test_every_invalid_offer_is_invalid_for_its_stated_reason(slug: str) -> None:
    invalid = INVALID_OFFERS[slug]
    element = invalid.offer.element()
    assert element is not None, "an invalid offer stays on the RFC 6455 §9.1 grammar"
    reading = read_offer(element)
    assert isinstance(reading, Violation)
    assert reading.requirement == invalid.requirement


def test_invalid_offers_cover_each_decline_condition() -> None:
    reasons = {invalid.requirement for invalid in INVALID_OFFERS.values()}
    assert reasons == {
        req.PMD_DECLINE_UNKNOWN_PARAM,
        req.PMD_DECLINE_DUPLICATE_PARAM,
        req.PMD_DECLINE_INVALID_VALUE,
    }


def test_quoted_window_value_reads_as_its_number() -> None:
    element = ACCEPTABLE_OFFERS["smwb10-quoted-escaped"].element()
    assert element is not None
    reading = read_offer(element)
    assert isinstance(reading, OfferedParams)
    assert reading.server_max_window_bits == 10


def test_valueless_client_max_window_bits_is_offered_without_value() -> None:
    element = VALID_OFFERS["cmwb"].element()
    assert element is not None
    assert read_offer(element) == OfferedParams(client_max_window_bits_offered=True)


def test_autobahn_13_offer_sets() -> None:
    assert len(AUTOBAHN_13_OFFERS) == 7
    assert offer_header(AUTOBAHN_13_OFFERS["13.7"]) == (
        b"permessage-deflate; server_no_context_takeover; server_max_window_bits=9, "
        b"permessage-deflate; server_no_context_takeover, permessage-deflate"
    )


def test_grammar_unescapes_quoted_values() -> None:
    elements = parse_extension_list([b'x; a="1\\0", y'])
    assert elements == (
        ExtensionElement("x", (ExtensionParam("a", "10", quoted=True),)),
        ExtensionElement("y"),
    )


def test_grammar_does_not_split_at_a_comma_inside_a_quoted_string() -> None:
    # "b,c" is one quoted-string, and not a token once unescaped (RFC 6455 §9.1)
    with pytest.raises(ExtensionSyntaxError, match="quoted value"):
        parse_extension_list([b'x; a="b,c"'])


def test_grammar_reads_several_lines_and_spaces() -> None:
    elements = parse_extension_list([b"a ; p = 1 ,", b" b;q"])
    assert elements == (
        ExtensionElement("a", (ExtensionParam("p", "1"),)),
        ExtensionElement("b", (ExtensionParam("q"),)),
    )


@pytest.mark.parametrize(
    "value", [b"", b"a;", b"a; p=", b'a; p=""', b'a; p="x y"', b"a b", b"a; p=1 2", b'a; p="1']
)
def test_grammar_rejects_values_off_rfc6455_9_1(value: bytes) -> None:
    with pytest.raises(ExtensionSyntaxError):
        parse_extension_list([value])


def test_offer_off_the_grammar_has_no_element() -> None:
    assert Offer(((" ", "1"),)).element() is None
