"""Which permessage-deflate behaviour earns which outcome (RFC 7692; docs/verdict-policy.md).

* A server may decline any offer (§5 "declining", §7 "A server MAY decline"): a valid 101
  without the element is UNSUPPORTED for a valid offer, never FAIL (:data:`DECLINED_UNSUPPORTED`).
* A valid offer answered with an HTTP error (the whole handshake refused) is INFO
  (:data:`REFUSED_VALID_OFFER`): RFC 6455 §4.2.2 lets a server refuse any handshake.
* An invalid offer MUST be declined (§7): a 101 without the element PASSes
  (:class:`DeflateDeclined`); accepting it, or refusing the handshake (an HTTP error, a
  dropped connection), FAILs: §7 says decline, not fail.
* ``client_max_window_bits`` in the response above the offered value: the offered value is a
  hint the server "may either ignore" (§7.1.2.2), so at most WARN
  (:func:`client_window_above_hint`).
* A compressed echo is what the deflate cases expect; an uncompressed one is allowed (§6: a
  message is compressed or not, per message) and reported as INFO (:func:`echo_uncompressed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..model.behaviours import Echoed, echoes_cut_short
from ..model.deflate.elements import ExtensionSyntaxError, parse_extension_list
from ..model.deflate.negotiation import read_response
from ..model.deflate.offers import Offer, OfferedParams, read_offer
from ..model.deflate.params import (
    CLIENT_MAX_WINDOW_BITS,
    EXTENSION_NAME,
    EXTENSIONS_HEADER,
    Agreed,
    parse_window_bits,
)
from ..model.observed import Observed
from ..model.verdict import Allowed, Outcome


def agreed_from(observed: Observed, offers: Sequence[Offer]) -> Agreed | None:
    """The parameters the observed 101 agreed, None when declined or invalid (§5, §7.1)."""
    response = observed.response
    if response is None or response.status != 101:
        return None
    return read_response(offers, response.values(EXTENSIONS_HEADER)).agreed


def offered_client_window(offers: Sequence[Offer]) -> int | None:
    """The highest client_max_window_bits value valid offers carried, if any (§7.1.2.2)."""
    values: list[int] = []
    for offer in offers:
        element = offer.element()
        reading = read_offer(element) if element is not None else None
        if isinstance(reading, OfferedParams) and reading.client_max_window_bits is not None:
            values.append(reading.client_max_window_bits)
    return max(values) if values else None


def response_client_window(observed: Observed) -> int | None:
    """The client_max_window_bits value the 101's permessage-deflate element states, if any."""
    response = observed.response
    if response is None:
        return None
    try:
        elements = parse_extension_list(response.values(EXTENSIONS_HEADER))
    except (ExtensionSyntaxError, ValueError):
        return None
    for element in elements:
        for param in element.params if element.name == EXTENSION_NAME else ():
            if param.name == CLIENT_MAX_WINDOW_BITS and param.value is not None:
                return parse_window_bits(param.value)
    return None


def above_hint(observed: Observed, offers: Sequence[Offer]) -> bool:
    """The response's client_max_window_bits exceeds the value offered (§7.1.2.2)."""
    hint = offered_client_window(offers)
    stated = response_client_window(observed)
    return hint is not None and stated is not None and stated > hint


@dataclass(frozen=True, slots=True)
class DeflateDeclined:
    """A 101 without a permessage-deflate element, the connection then working: the offer
    declined, the connection going on without compression (RFC 7692 §5)."""

    def describe(self) -> str:
        return "a 101 without permessage-deflate (the offer declined), the connection working"

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        return response is not None and response.status == 101 and observed.extension_declined


@dataclass(frozen=True, slots=True)
class DeflateEchoed:
    """permessage-deflate agreed with a valid response, every message echoed (inflated) intact.

    ``offers`` are what the case sent; ``compressed``: every echo came compressed (RSV1);
    ``within_hint``: client_max_window_bits in the response is at most the offered value.
    Rules broken on the way (the response's, the inflater's) are judged by the verdict.
    """

    offers: tuple[Offer, ...]
    messages: tuple[tuple[int, bytes], ...]
    compressed: bool = True
    within_hint: bool = True

    def describe(self) -> str:
        text = "a 101 agreeing permessage-deflate validly, then " + Echoed(self.messages).describe()
        if self.compressed:
            text += ", compressed"
        return text

    def matches(self, observed: Observed) -> bool:
        agreed = agreed_from(observed, self.offers)
        if agreed is None or tuple(observed.messages) != self.messages:
            return False
        if self.compressed and not all(observed.compressed):
            return False
        return not (self.within_hint and above_hint(observed, self.offers))

    def unfinished(self, observed: Observed) -> bool:
        """The deadline cut the echoes short while every one so far was right."""
        return agreed_from(observed, self.offers) is not None and echoes_cut_short(
            observed, self.messages
        )


@dataclass(frozen=True, slots=True)
class ClientWindowAboveHint:
    """The response's client_max_window_bits exceeds the offered value (§7.1.2.2: a hint)."""

    offers: tuple[Offer, ...]

    def describe(self) -> str:
        return "client_max_window_bits in the response above the value offered"

    def matches(self, observed: Observed) -> bool:
        return agreed_from(observed, self.offers) is not None and above_hint(observed, self.offers)


@dataclass(frozen=True, slots=True)
class HandshakeRefused:
    """An HTTP error status (4xx/5xx) instead of a 101 to a handshake offering
    permessage-deflate validly."""

    def describe(self) -> str:
        return "an HTTP error status instead of a 101: the handshake refused"

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        return response is not None and 400 <= response.status <= 599


REFUSED_VALID_OFFER: Final = Allowed(
    HandshakeRefused(),
    Outcome.INFO,
    "the server refused the handshake of a valid permessage-deflate offer instead of "
    "declining the offer (RFC 7692 §5: a 101 without the element). RFC 6455 §4.2.2 lets a "
    "server refuse any handshake, so this breaks no MUST, but no client that offers "
    "permessage-deflate (every browser) can then connect",
)
"""A valid offer refused with an HTTP error: INFO, never FAIL (an invalid offer refused is
FAIL: §7 says decline)."""


def refusal_allowances(offers: Sequence[Offer]) -> tuple[Allowed, ...]:
    """:data:`REFUSED_VALID_OFFER` when every offer is valid; none when one is invalid (a
    refusal may then be the answer to it, which §7 forbids: decline, not fail)."""
    elements = [offer.element() for offer in offers]
    valid = all(e is not None and isinstance(read_offer(e), OfferedParams) for e in elements)
    return (REFUSED_VALID_OFFER,) if valid else ()


DECLINED_UNSUPPORTED: Final = Allowed(
    DeflateDeclined(),
    Outcome.UNSUPPORTED,
    "the server declined permessage-deflate: RFC 7692 §5 lets a server decline any offer",
)


def client_window_above_hint(offers: Sequence[Offer]) -> Allowed:
    """WARN: the response's client window exceeds the offered hint (§7.1.2.2 "may ignore")."""
    return Allowed(
        ClientWindowAboveHint(tuple(offers)),
        Outcome.WARN,
        "client_max_window_bits above the offered value: the offered value is a hint "
        "(RFC 7692 §7.1.2.2), not a limit the server must keep",
    )


def echo_uncompressed(offers: Sequence[Offer], messages: Sequence[tuple[int, bytes]]) -> Allowed:
    """INFO: agreed, echoed intact but not (all) compressed (§6: compression is per message)."""
    return Allowed(
        DeflateEchoed(tuple(offers), tuple(messages), compressed=False),
        Outcome.INFO,
        "some echoes came uncompressed (the count is in the notes): RFC 7692 §6 lets an "
        "endpoint send any message uncompressed, so the server's compressor went unchecked "
        "on those",
    )
