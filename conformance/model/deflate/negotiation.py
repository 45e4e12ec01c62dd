"""The suite's reading of a server's permessage-deflate response (RFC 7692 §5, §7, §7.1).

The response is read on RFC 6455 §9.1's grammar; the permessage-deflate element must be
unique, carry only response parameters with valid values, each once (§7), and answer one of
the offers: ``server_no_context_takeover`` and ``server_max_window_bits`` echoed when offered
(§7.1.1.1, §7.1.2.1), the window no larger than offered, ``client_max_window_bits`` only if
offered (§7.1.2.2). A response ``client_max_window_bits`` larger than the offered value is
NOT a violation: the offered value is a hint the server "may either ignore" (§7.1.2.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from conformance.model.deflate import requirements as req
from conformance.model.deflate.elements import (
    ExtensionElement,
    ExtensionSyntaxError,
    parse_extension_list,
)
from conformance.model.deflate.offers import Offer, OfferedParams, read_offer
from conformance.model.deflate.params import (
    CLIENT_MAX_WINDOW_BITS,
    CLIENT_NO_CONTEXT_TAKEOVER,
    DEFAULT_WINDOW_BITS,
    EXTENSION_NAME,
    PARAMETER_NAMES,
    SERVER_MAX_WINDOW_BITS,
    SERVER_NO_CONTEXT_TAKEOVER,
    Agreed,
    parse_window_bits,
)
from conformance.model.violations import Violation


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the server's response means for permessage-deflate.

    ``accepted``: a permessage-deflate element was in the response. ``agreed``: the agreed
    parameters, None when declined or when the response is invalid. ``chosen``: the index of
    the offer the response answers. ``violations``: each rule broken, with its id.
    """

    accepted: bool
    agreed: Agreed | None = None
    chosen: int | None = None
    violations: tuple[Violation, ...] = ()


def read_response(offers: Sequence[Offer], extension_header_values: Sequence[bytes]) -> Negotiated:
    """Check the response's ``Sec-WebSocket-Extensions`` lines against the offers sent."""
    if not extension_header_values:
        return Negotiated(accepted=False)
    try:
        elements = parse_extension_list(extension_header_values)
    except ExtensionSyntaxError as exc:
        mentions = any(EXTENSION_NAME.encode() in value for value in extension_header_values)
        return Negotiated(
            accepted=mentions, violations=(Violation(req.RFC6455_EXTENSION_GRAMMAR, str(exc)),)
        )
    violations = list(_unrequested(offers, elements))
    answers = [element for element in elements if element.name == EXTENSION_NAME]
    if not answers:
        return Negotiated(accepted=False, violations=tuple(violations))
    if len(answers) > 1:
        detail = f"{len(answers)} permessage-deflate elements in one response"
        violations.append(Violation(req.PMD_INVALID_RESPONSE, detail))
    answer = answers[0]
    violations.extend(response_param_violations(answer))
    chosen, offer_violations = _answered_offer(offers, answer)
    violations.extend(offer_violations)
    agreed = None if violations else agreed_parameters(answer)
    return Negotiated(accepted=True, agreed=agreed, chosen=chosen, violations=tuple(violations))


def response_param_violations(answer: ExtensionElement) -> list[Violation]:
    """The §7 response conditions on the element alone: unknown, duplicate, invalid values."""
    violations: list[Violation] = []
    seen: set[str] = set()
    for param in answer.params:
        if param.name not in PARAMETER_NAMES:
            violations.append(
                Violation(req.PMD_RESPONSE_UNKNOWN_PARAM, f"unknown parameter {param.name!r}")
            )
            continue
        if param.name in seen:
            violations.append(Violation(req.PMD_RESPONSE_DUPLICATE_PARAM, f"{param.name} twice"))
        seen.add(param.name)
        problem = _response_value_violation(param.name, param.value)
        if problem is not None:
            violations.append(problem)
    return violations


def _response_value_violation(name: str, value: str | None) -> Violation | None:
    if name == SERVER_NO_CONTEXT_TAKEOVER and value is not None:
        return Violation(req.PMD_RESPONSE_SNCT_VALUE, f"{name}={value!r}: it has no value")
    if name == CLIENT_NO_CONTEXT_TAKEOVER and value is not None:
        return Violation(req.PMD_RESPONSE_CNCT_VALUE, f"{name}={value!r}: it has no value")
    window_ids = {
        SERVER_MAX_WINDOW_BITS: req.PMD_RESPONSE_SMWB_ABNF,
        CLIENT_MAX_WINDOW_BITS: req.PMD_RESPONSE_CMWB_ABNF,
    }
    if name in window_ids and (value is None or parse_window_bits(value) is None):
        shown = "no value" if value is None else repr(value)
        return Violation(
            window_ids[name], f"{name} with {shown}: needs 8..15 without leading zeroes"
        )
    return None


def _unrequested(offers: Sequence[Offer], elements: Sequence[ExtensionElement]) -> list[Violation]:
    """Elements naming an extension no offer named (RFC 6455 §4.1; RFC 7692 §5)."""
    offered = {offer.name for offer in offers}
    violations: list[Violation] = []
    for element in elements:
        if element.name in offered:
            continue
        rule = (
            req.PMD_INVALID_RESPONSE
            if element.name == EXTENSION_NAME
            else req.RFC6455_UNREQUESTED_EXTENSION
        )
        violations.append(Violation(rule, f"{element.name} in the response was not offered"))
    return violations


def _answered_offer(
    offers: Sequence[Offer], answer: ExtensionElement
) -> tuple[int | None, list[Violation]]:
    """The offer the answer fits best (first with no violation, else fewest) and its violations."""
    best: tuple[int | None, list[Violation]] | None = None
    declinable: Violation | None = None
    for index, offer in enumerate(offers):
        element = offer.element() if offer.name == EXTENSION_NAME else None
        if element is None:
            continue
        reading = read_offer(element)
        if isinstance(reading, Violation):
            declinable = declinable or reading
            continue
        violations = answer_violations(reading, answer)
        if best is None or len(violations) < len(best[1]):
            best = (index, violations)
        if not violations:
            break
    if best is not None:
        return best
    if declinable is not None:
        detail = f"accepted an offer the server MUST decline: {declinable.detail}"
        return None, [Violation(declinable.requirement, detail)]
    return None, []  # nothing offered: _unrequested already reported it


def answer_violations(offered: OfferedParams, answer: ExtensionElement) -> list[Violation]:
    """How the answer breaks the §7.1 rules for accepting ``offered``."""
    values = {param.name: param.value for param in answer.params}
    violations: list[Violation] = []
    if offered.server_no_context_takeover and SERVER_NO_CONTEXT_TAKEOVER not in values:
        violations.append(
            Violation(
                req.PMD_SNCT_ACCEPT, "server_no_context_takeover offered, not in the response"
            )
        )
    if offered.server_max_window_bits is not None:
        raw = values.get(SERVER_MAX_WINDOW_BITS)
        bits = parse_window_bits(raw) if raw is not None else None
        if SERVER_MAX_WINDOW_BITS not in values:
            detail = (
                f"server_max_window_bits={offered.server_max_window_bits} offered, not answered"
            )
            violations.append(Violation(req.PMD_SMWB_ACCEPT, detail))
        elif bits is not None and bits > offered.server_max_window_bits:
            detail = (
                f"server_max_window_bits={bits} above the offered {offered.server_max_window_bits}"
            )
            violations.append(Violation(req.PMD_SMWB_ACCEPT, detail))
    if not offered.client_max_window_bits_offered and CLIENT_MAX_WINDOW_BITS in values:
        violations.append(
            Violation(
                req.PMD_CMWB_ONLY_IF_OFFERED, "client_max_window_bits in the response, not offered"
            )
        )
    return violations


def agreed_parameters(answer: ExtensionElement) -> Agreed:
    """The agreed parameters of a valid response element (RFC 7692 §5, §7.1)."""
    values = {param.name: param.value for param in answer.params}

    def window(name: str) -> int:
        raw = values.get(name)
        bits = parse_window_bits(raw) if raw is not None else None
        return DEFAULT_WINDOW_BITS if bits is None else bits

    return Agreed(
        server_no_context_takeover=SERVER_NO_CONTEXT_TAKEOVER in values,
        client_no_context_takeover=CLIENT_NO_CONTEXT_TAKEOVER in values,
        server_max_window_bits=window(SERVER_MAX_WINDOW_BITS),
        client_max_window_bits=window(CLIENT_MAX_WINDOW_BITS),
    )
