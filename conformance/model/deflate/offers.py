"""The permessage-deflate offers the suite sends, valid and deliberately broken (RFC 7692 §7).

An :class:`Offer` keeps its parameters as crafted text, so a broken offer is sent exactly as
written. :func:`read_offer` is the strict reading of one offered element (what a server
must decline, §7), shared by the response checker and any server side.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from conformance.model.deflate import requirements as req
from conformance.model.deflate.elements import (
    ExtensionElement,
    ExtensionSyntaxError,
    parse_extension_list,
)
from conformance.model.deflate.params import (
    CLIENT_MAX_WINDOW_BITS,
    CLIENT_NO_CONTEXT_TAKEOVER,
    EXTENSION_NAME,
    FLAG_PARAMETERS,
    MAX_WINDOW_BITS,
    MIN_WINDOW_BITS,
    PARAMETER_NAMES,
    SERVER_MAX_WINDOW_BITS,
    SERVER_NO_CONTEXT_TAKEOVER,
    parse_window_bits,
)
from conformance.model.violations import Violation


@dataclass(frozen=True, slots=True)
class Offer:
    """One extension element of ``Sec-WebSocket-Extensions``, kept as crafted.

    ``params`` are (name, value or None) in order; ``quoted`` names the parameters whose value
    is sent as a quoted-string (RFC 6455 §9.1). ``name`` is the extension token.
    """

    params: tuple[tuple[str, str | None], ...] = ()
    quoted: frozenset[str] = frozenset()
    name: str = EXTENSION_NAME

    def render(self) -> str:
        """The element's text, e.g. ``permessage-deflate; server_max_window_bits=10``."""
        parts = [self.name]
        for key, value in self.params:
            if value is None:
                parts.append(key)
            elif key in self.quoted:
                parts.append(f'{key}="{value}"')
            else:
                parts.append(f"{key}={value}")
        return "; ".join(parts)

    def element(self) -> ExtensionElement | None:
        """The element as a peer reads it (RFC 6455 §9.1), or None if off the grammar."""
        try:
            (element,) = parse_extension_list([self.render()])
        except (ExtensionSyntaxError, ValueError):
            return None
        return element


def offer_header(offers: Sequence[Offer]) -> bytes:
    """The ``Sec-WebSocket-Extensions`` value of several elements, comma separated (§9.1)."""
    return ", ".join(offer.render() for offer in offers).encode("ascii")


@dataclass(frozen=True, slots=True)
class OfferedParams:
    """A valid permessage-deflate offer, read (RFC 7692 §7.1).

    ``client_max_window_bits_offered`` is True when the parameter is present with or without
    a value; ``client_max_window_bits`` is its value, if any (§7.1.2.2).
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits_offered: bool = False
    client_max_window_bits: int | None = None


def read_offer(element: ExtensionElement) -> OfferedParams | Violation:
    """Read one permessage-deflate offer, or the §7 reason a server MUST decline it.

    The Violation names the decline condition: a parameter "not defined for use in an
    offer", "an invalid value", "multiple extension parameters with the same name" (§7).
    """
    seen: set[str] = set()
    values: dict[str, str | None] = {}
    for param in element.params:
        if param.name not in PARAMETER_NAMES:
            return Violation(
                req.PMD_DECLINE_UNKNOWN_PARAM, f"unknown parameter {param.name!r} in the offer"
            )
        if param.name in seen:
            return Violation(req.PMD_DECLINE_DUPLICATE_PARAM, f"{param.name} twice in the offer")
        seen.add(param.name)
        values[param.name] = param.value
        problem = _offer_value_problem(param.name, param.value)
        if problem is not None:
            return Violation(req.PMD_DECLINE_INVALID_VALUE, problem)
    server_bits = values.get(SERVER_MAX_WINDOW_BITS)
    client_bits = values.get(CLIENT_MAX_WINDOW_BITS)
    return OfferedParams(
        server_no_context_takeover=SERVER_NO_CONTEXT_TAKEOVER in seen,
        client_no_context_takeover=CLIENT_NO_CONTEXT_TAKEOVER in seen,
        server_max_window_bits=parse_window_bits(server_bits) if server_bits is not None else None,
        client_max_window_bits_offered=CLIENT_MAX_WINDOW_BITS in seen,
        client_max_window_bits=parse_window_bits(client_bits) if client_bits is not None else None,
    )


def _offer_value_problem(name: str, value: str | None) -> str | None:
    """Why an offered value is invalid (§7.1.1.1, §7.1.1.2, §7.1.2.1, §7.1.2.2), or None."""
    if name in FLAG_PARAMETERS:
        return None if value is None else f"{name} has no value, got {value!r} (§7.1.1)"
    if value is None:
        if name == SERVER_MAX_WINDOW_BITS:
            return f"{name} without its value (§7.1.2.1)"
        return None  # client_max_window_bits: "no value or a decimal integer value" (§7.1.2.2)
    if parse_window_bits(value) is None:
        return f"{name}={value!r} is not 8..15 without leading zeroes (§7.1.2)"
    return None


@dataclass(frozen=True, slots=True)
class InvalidOffer:
    """An offer a server MUST decline (RFC 7692 §7), why, and the requirement it tests."""

    offer: Offer
    reason: str
    requirement: str


def _offer_slug(
    snct: bool, cnct: bool, server_bits: int | None, client_bits: int | bool | None
) -> str:
    parts = ["snct"] * snct + ["cnct"] * cnct
    if server_bits is not None:
        parts.append(f"smwb{server_bits}")
    if client_bits is True:
        parts.append("cmwb")
    elif client_bits is not None:
        parts.append(f"cmwb{client_bits}")
    return "-".join(parts) or "bare"


def _valid_offers() -> dict[str, Offer]:
    windows = range(MIN_WINDOW_BITS, MAX_WINDOW_BITS + 1)
    offers: dict[str, Offer] = {}
    server_choices: list[int | None] = [None, *windows]
    client_choices: list[int | bool | None] = [None, True, *windows]
    for snct, cnct, server_bits, client_bits in itertools.product(
        (False, True), (False, True), server_choices, client_choices
    ):
        params: list[tuple[str, str | None]] = []
        if snct:
            params.append((SERVER_NO_CONTEXT_TAKEOVER, None))
        if cnct:
            params.append((CLIENT_NO_CONTEXT_TAKEOVER, None))
        if server_bits is not None:
            params.append((SERVER_MAX_WINDOW_BITS, str(server_bits)))
        if client_bits is True:
            params.append((CLIENT_MAX_WINDOW_BITS, None))
        elif client_bits is not None:
            params.append((CLIENT_MAX_WINDOW_BITS, str(client_bits)))
        offers[_offer_slug(snct, cnct, server_bits, client_bits)] = Offer(tuple(params))
    return offers


VALID_OFFERS: Final[Mapping[str, Offer]] = MappingProxyType(_valid_offers())
"""Every combination of the four parameters (§7.1): flags on/off, server window absent or
8..15, client window absent, valueless or 8..15; keyed ``bare``, ``snct-smwb10``, ``cmwb``..."""

ACCEPTABLE_OFFERS: Final[Mapping[str, Offer]] = MappingProxyType(
    {
        # RFC 6455 §9.1: a value may be a quoted-string that is a token once unescaped;
        # RFC 7692 §5.2 shows ``x="10"``. A server accepts these as 10, or declines them.
        "smwb10-quoted": Offer(
            ((SERVER_MAX_WINDOW_BITS, "10"),), frozenset({SERVER_MAX_WINDOW_BITS})
        ),
        "cmwb10-quoted": Offer(
            ((CLIENT_MAX_WINDOW_BITS, "10"),), frozenset({CLIENT_MAX_WINDOW_BITS})
        ),
        "smwb10-quoted-escaped": Offer(
            ((SERVER_MAX_WINDOW_BITS, "1\\0"),), frozenset({SERVER_MAX_WINDOW_BITS})
        ),
        # Parameter order carries no meaning (§7.1 defines none).
        "cmwb-cnct-smwb10-snct": Offer(
            (
                (CLIENT_MAX_WINDOW_BITS, None),
                (CLIENT_NO_CONTEXT_TAKEOVER, None),
                (SERVER_MAX_WINDOW_BITS, "10"),
                (SERVER_NO_CONTEXT_TAKEOVER, None),
            )
        ),
    }
)
"""Valid offers in a less common spelling (quoted values, unusual order): not invalid."""


def _invalid(
    params: tuple[tuple[str, str | None], ...], reason: str, requirement: str
) -> InvalidOffer:
    return InvalidOffer(Offer(params), reason, requirement)


_SNCT: Final = SERVER_NO_CONTEXT_TAKEOVER
_CNCT: Final = CLIENT_NO_CONTEXT_TAKEOVER
_SMWB: Final = SERVER_MAX_WINDOW_BITS
_CMWB: Final = CLIENT_MAX_WINDOW_BITS

INVALID_OFFERS: Final[Mapping[str, InvalidOffer]] = MappingProxyType(
    {
        "unknown-param": _invalid(
            (("x_unknown_param", None),),
            "parameter not defined for an offer",
            req.PMD_DECLINE_UNKNOWN_PARAM,
        ),
        "unknown-param-valued": _invalid(
            (("x_unknown_param", "1"),),
            "parameter not defined for an offer",
            req.PMD_DECLINE_UNKNOWN_PARAM,
        ),
        "unknown-param-after-valid": _invalid(
            ((_SNCT, None), ("max_inflate_ratio", "10")),
            "parameter not defined for an offer",
            req.PMD_DECLINE_UNKNOWN_PARAM,
        ),
        "duplicate-snct": _invalid(
            ((_SNCT, None), (_SNCT, None)),
            "server_no_context_takeover twice",
            req.PMD_DECLINE_DUPLICATE_PARAM,
        ),
        "duplicate-cnct": _invalid(
            ((_CNCT, None), (_CNCT, None)),
            "client_no_context_takeover twice",
            req.PMD_DECLINE_DUPLICATE_PARAM,
        ),
        "duplicate-smwb": _invalid(
            ((_SMWB, "10"), (_SMWB, "10")),
            "server_max_window_bits twice",
            req.PMD_DECLINE_DUPLICATE_PARAM,
        ),
        "duplicate-smwb-differing": _invalid(
            ((_SMWB, "10"), (_SMWB, "11")),
            "server_max_window_bits twice",
            req.PMD_DECLINE_DUPLICATE_PARAM,
        ),
        "duplicate-cmwb": _invalid(
            ((_CMWB, None), (_CMWB, None)),
            "client_max_window_bits twice",
            req.PMD_DECLINE_DUPLICATE_PARAM,
        ),
        "snct-valued": _invalid(
            ((_SNCT, "1"),),
            "server_no_context_takeover has no value",
            req.PMD_DECLINE_INVALID_VALUE,
        ),
        "cnct-valued": _invalid(
            ((_CNCT, "true"),),
            "client_no_context_takeover has no value",
            req.PMD_DECLINE_INVALID_VALUE,
        ),
        "smwb7": _invalid(
            ((_SMWB, "7"),), "server_max_window_bits below 8", req.PMD_DECLINE_INVALID_VALUE
        ),
        "smwb16": _invalid(
            ((_SMWB, "16"),), "server_max_window_bits above 15", req.PMD_DECLINE_INVALID_VALUE
        ),
        "smwb0": _invalid(
            ((_SMWB, "0"),), "server_max_window_bits below 8", req.PMD_DECLINE_INVALID_VALUE
        ),
        "smwb-leading-zero": _invalid(
            ((_SMWB, "08"),),
            "leading zero in server_max_window_bits",
            req.PMD_DECLINE_INVALID_VALUE,
        ),
        "smwb-leading-zero-10": _invalid(
            ((_SMWB, "010"),),
            "leading zero in server_max_window_bits",
            req.PMD_DECLINE_INVALID_VALUE,
        ),
        "smwb-non-numeric": _invalid(
            ((_SMWB, "abc"),), "server_max_window_bits not 1*DIGIT", req.PMD_DECLINE_INVALID_VALUE
        ),
        "smwb-negative": _invalid(
            ((_SMWB, "-9"),), "server_max_window_bits not 1*DIGIT", req.PMD_DECLINE_INVALID_VALUE
        ),
        "smwb-missing-value": _invalid(
            ((_SMWB, None),), "server_max_window_bits needs a value", req.PMD_DECLINE_INVALID_VALUE
        ),
        "smwb16-quoted": InvalidOffer(
            Offer(((_SMWB, "16"),), frozenset({_SMWB})),
            "quoted, still above 15",
            req.PMD_DECLINE_INVALID_VALUE,
        ),
        "cmwb7": _invalid(
            ((_CMWB, "7"),), "client_max_window_bits below 8", req.PMD_DECLINE_INVALID_VALUE
        ),
        "cmwb16": _invalid(
            ((_CMWB, "16"),), "client_max_window_bits above 15", req.PMD_DECLINE_INVALID_VALUE
        ),
        "cmwb-leading-zero": _invalid(
            ((_CMWB, "09"),),
            "leading zero in client_max_window_bits",
            req.PMD_DECLINE_INVALID_VALUE,
        ),
        "cmwb-non-numeric": _invalid(
            ((_CMWB, "abc"),), "client_max_window_bits not 1*DIGIT", req.PMD_DECLINE_INVALID_VALUE
        ),
    }
)
"""Offers a server MUST decline, not fail (RFC 7692 §7), with the decline condition tested."""


def _fallback_offers() -> dict[str, tuple[Offer, ...]]:
    bare = VALID_OFFERS["bare"]
    return {
        # RFC 7692 §7.1.3's example: a window-10 offer, then one without server_max_window_bits
        "rfc-example-7.1.3": (VALID_OFFERS["smwb10-cmwb"], VALID_OFFERS["cmwb"]),
        "invalid-then-valid": (INVALID_OFFERS["smwb16"].offer, bare),
        "unknown-then-valid": (INVALID_OFFERS["unknown-param"].offer, bare),
        "other-extension-then-pmd": (Offer(name="x-unknown-extension"), bare),
        "narrow-then-bare": (VALID_OFFERS["snct-smwb9"], bare),
    }


FALLBACK_OFFERS: Final[Mapping[str, tuple[Offer, ...]]] = MappingProxyType(_fallback_offers())
"""Several elements in one header, the first preferred (RFC 7692 §5, §5.2, §7.1.3)."""

AUTOBAHN_13_OFFERS: Final[Mapping[str, tuple[Offer, ...]]] = MappingProxyType(
    {
        "13.1": (VALID_OFFERS["bare"],),
        "13.2": (VALID_OFFERS["snct"],),
        "13.3": (VALID_OFFERS["smwb9"],),
        "13.4": (VALID_OFFERS["smwb15"],),
        "13.5": (VALID_OFFERS["snct-smwb9"],),
        "13.6": (VALID_OFFERS["snct-smwb15"],),
        "13.7": (VALID_OFFERS["snct-smwb9"], VALID_OFFERS["snct"], VALID_OFFERS["bare"]),
    }
)
"""Autobahn|Testsuite 13.x's seven offer sets, testing a server (case12_x_x.py)."""
