"""RFC 7692 §5, §7, §7.1: a server negotiating permessage-deflate.

Every case offers permessage-deflate (one offer or several), reads the 101 with
:func:`~conformance.model.deflate.negotiation.read_response` (every rule it breaks reaches the
verdict) and, when the extension was agreed, sends a few compressed messages under the agreed
client rule and reads their echoes through the strict inflater under the agreed server rule
(pipelined, one barrier at the end). Four groups:

* valid offers, one case a parameter family (§7.1): accepted with a valid response and working
  compression, or declined (UNSUPPORTED: §5 lets a server decline any offer);
* the response rules of §5, §7 and §7.1, each provoked by the offer that exposes it;
* invalid offers (§7): each MUST be declined, a 101 without the element; accepting it, or
  refusing the handshake, FAILs (§7 says decline, not fail);
* several offers in one header (§5, §7.1.3), a window of 8 (§7.1.2.1, zlib cannot deflate
  with it), and Autobahn|Testsuite 13's seven offer sets with a compressed echo.

Outcome sets come from :mod:`conformance.policy.deflate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ..model.behaviours import expect
from ..model.constants import Opcode
from ..model.deflate import requirements as req
from ..model.deflate.offers import (
    ACCEPTABLE_OFFERS,
    AUTOBAHN_13_OFFERS,
    FALLBACK_OFFERS,
    INVALID_OFFERS,
    VALID_OFFERS,
    Offer,
    offer_header,
)
from ..model.deflate.probes import beyond_window, random_block
from ..model.observed import Observed
from ..model.verdict import Level
from ..policy.deflate import (
    DECLINED_UNSUPPORTED,
    DeflateDeclined,
    DeflateEchoed,
    client_window_above_hint,
    echo_uncompressed,
    refusal_allowances,
)
from ..session.context import CaseContext
from ..session.deflate import NotNegotiated, open_deflate, refused_observation
from ..session.wire import Refused
from .base import Allowed, Case, RunFn

# Requirement ids (spec_refs/rfc7692.toml) beyond those the model names.
R_ACCEPT_NAME = "rfc7692-5-server-accept-name"
R_FULLY_SUPPORTED = "rfc7692-5-element-fully-supported"
R_CORRESPONDING = "rfc7692-3-corresponding-response"
R_DECLINE_CONDITIONS = "rfc7692-7-server-decline-conditions"
R_DECLINE_NO_ELEMENT = "rfc7692-5-decline-no-element"
R_FAIL_INVALID_VALUE = "rfc7692-7-fail-invalid-value"
R_SNCT_OFFER = "rfc7692-7.1.1.1-client-offer-snct"
R_CNCT_ADD = "rfc7692-7.1.1.2-server-add-cnct"
R_SMWB_ADD = "rfc7692-7.1.2.1-server-add-smwb"
R_CMWB_ADD = "rfc7692-7.1.2.2-server-add-cmwb"
R_CMWB_HINT = "rfc7692-7.1.2.2-cmwb-value-hint"
R_NO_CMWB_EXAMPLE = "rfc7692-7.1.3-no-cmwb-unless-offered"
R_PICK_ANY = "rfc7692-7.1.3-pick-any-offer"
R_QUOTED = "rfc7692-5.2-quoted-value"
R_SEND = "rfc7692-6.1-compressed-send-algorithm"
R_RSV1_FIRST = "rfc7692-6.1-rsv1-first-frame"
R_DECLINE_UNSUPPORTED = "rfc7692-7-decline-unsupported-config"
R_RECEIVE = "rfc7692-6.2-compressed-receive-algorithm"

TEXT_DATA: Final = ("permessage-deflate negotiated: compress me, echo me. " * 20).encode()
"""About 1 KiB of compressible text: sent twice, the second compresses against the first."""
BINARY_DATA: Final = bytes(range(256)) * 4
FRAGMENT: Final = 64
"""The binary message's compressed payload is split every 64 bytes (§7.2.1)."""


NEAR_REPEAT: Final = 300
"""Bytes of a random block repeated once: 44 beyond a 256-byte window, more than the strict
inflater's slack there (2**8 / 8 bytes)."""

ECHO_MESSAGES: Final = (
    (Opcode.TEXT, TEXT_DATA),
    (Opcode.TEXT, TEXT_DATA),
    (Opcode.BINARY, BINARY_DATA),
)
WINDOW_8_PROBE: Final = beyond_window(8)
"""A message whose repeat lies beyond a 256-byte window (RFC 7692 §7.2.1, probes)."""
NEAR_WINDOW_8_PROBE: Final = random_block(NEAR_REPEAT, seed=1) * 2
"""A repeat just beyond a 256-byte window: within the reach of a server that claims 8 but
compresses with 9 or 10 bits (zlib reaches 2**N - 262 bytes back), which the far repeat of
:data:`WINDOW_8_PROBE` is not."""


def negotiating(
    offers: Sequence[Offer], messages: Sequence[tuple[int, bytes]] = ECHO_MESSAGES
) -> RunFn:
    """Offer ``offers``; once agreed, send ``messages`` compressed (the last one fragmented)
    in one write, settle, close. A declined, invalid or refused handshake is observed as is."""
    offered = tuple(offers)

    async def run(ctx: CaseContext) -> Observed:
        try:
            session = await open_deflate(ctx, offered)
        except NotNegotiated as exc:
            return exc.observed
        except Refused as exc:
            return refused_observation(exc)
        last = len(messages) - 1
        frames = [
            frame
            for index, (opcode, data) in enumerate(messages)
            for frame in session.message(opcode, data, fragment=FRAGMENT if index == last else None)
        ]
        await session.send(*frames)
        await session.wire.settle()
        await session.wire.close()
        return session.finish()

    return run


def _accepting(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    offers: Sequence[Offer],
    *,
    messages: Sequence[tuple[int, bytes]] = ECHO_MESSAGES,
    compressed: bool = False,
    allowed: tuple[Allowed, ...] = (),
) -> Case:
    """A valid offer: accepted validly and compression works, or declined (UNSUPPORTED)."""
    extra = (echo_uncompressed(offers, messages),) if compressed else ()
    return Case(
        id=case_id,
        title=title,
        requirements=requirements,
        level=Level.MUST,
        expect=expect(DeflateEchoed(tuple(offers), tuple(messages), compressed=compressed)),
        run=negotiating(offers, messages),
        allowed=(DECLINED_UNSUPPORTED, *refusal_allowances(offers), *allowed, *extra),
    )


def _shown(offers: Sequence[Offer]) -> str:
    return f"`{offer_header(offers).decode()}`"


# -- valid offers, one case a parameter family (§7.1) -------------------------------------

_FAMILY_SECTIONS: Final = {
    "bare": ("5", ()),
    "snct": ("7.1.1.1", (req.PMD_SNCT_ACCEPT,)),
    "cnct": ("7.1.1.2", (R_CNCT_ADD,)),
    "snct-cnct": ("7.1.1.2", (req.PMD_SNCT_ACCEPT, R_CNCT_ADD)),
    **{f"smwb{bits}": ("7.1.2.1", (req.PMD_SMWB_ACCEPT,)) for bits in range(9, 16)},
    "cmwb": ("7.1.2.2", (R_CMWB_ADD,)),
    **{f"cmwb{bits}": ("7.1.2.2", (R_CMWB_ADD,)) for bits in range(8, 16)},
    "snct-cnct-smwb9-cmwb9": ("7.1", (req.PMD_SNCT_ACCEPT, req.PMD_SMWB_ACCEPT, R_CMWB_ADD)),
}
"""Families of VALID_OFFERS (window 8 has its own case below) and the clause each exercises."""


def _family(slug: str) -> Case:
    section, clause_ids = _FAMILY_SECTIONS[slug]
    offers = (VALID_OFFERS[slug],)
    return _accepting(
        f"rfc7692/{section}/accept-{slug}",
        f"A server accepting {_shown(offers)} answers with a valid element and uses the "
        "agreed parameters",
        (R_ACCEPT_NAME, req.PMD_AGREED_APPLY, *clause_ids),
        offers,
    )


FAMILY_CASES: Final = tuple(_family(slug) for slug in _FAMILY_SECTIONS)


# -- the response rules, each provoked by the offer that exposes it (§5, §7, §7.1) ----------

_SMWB10 = (VALID_OFFERS["smwb10"],)
_ALL_FOUR = (VALID_OFFERS["snct-cnct-smwb10-cmwb10"],)

RESPONSE_CASES: Final = (
    _accepting(
        "rfc7692/5/one-element-per-response",
        "A server's response accepts at most one permessage-deflate offer: one element",
        (req.PMD_INVALID_RESPONSE, R_CORRESPONDING),
        FALLBACK_OFFERS["rfc-example-7.1.3"],
    ),
    _accepting(
        "rfc7692/7/response-params-defined",
        "A server's response carries only the four parameters defined for permessage-deflate",
        (req.PMD_RESPONSE_UNKNOWN_PARAM, R_FULLY_SUPPORTED),
        _ALL_FOUR,
    ),
    _accepting(
        "rfc7692/7/response-param-once",
        "A server's response carries each extension parameter at most once",
        (req.PMD_RESPONSE_DUPLICATE_PARAM, R_FULLY_SUPPORTED),
        _ALL_FOUR,
    ),
    _accepting(
        "rfc7692/7/response-values-valid",
        "A server's response gives every parameter a valid value",
        (R_FAIL_INVALID_VALUE, req.PMD_RESPONSE_SMWB_ABNF, req.PMD_RESPONSE_CMWB_ABNF),
        _ALL_FOUR,
    ),
    _accepting(
        "rfc7692/7.1.1.1/snct-echoed",
        "A server accepts server_no_context_takeover by including it in the response",
        (req.PMD_SNCT_ACCEPT, R_SNCT_OFFER),
        (VALID_OFFERS["snct"],),
    ),
    _accepting(
        "rfc7692/7.1.1.1/snct-response-no-value",
        "server_no_context_takeover in a response has no value",
        (req.PMD_RESPONSE_SNCT_VALUE,),
        (VALID_OFFERS["snct"],),
    ),
    _accepting(
        "rfc7692/7.1.1.2/cnct-response-no-value",
        "client_no_context_takeover in a response has no value",
        (req.PMD_RESPONSE_CNCT_VALUE, R_CNCT_ADD),
        (VALID_OFFERS["cnct"],),
    ),
    _accepting(
        "rfc7692/7.1.2.1/smwb-same-or-smaller",
        "A server accepts server_max_window_bits=10 by including it with the same or a "
        "smaller value",
        (req.PMD_SMWB_ACCEPT,),
        _SMWB10,
    ),
    _accepting(
        "rfc7692/7.1.2.1/smwb-response-abnf",
        "server_max_window_bits in a response is 8 to 15 without leading zeroes",
        (req.PMD_RESPONSE_SMWB_ABNF, R_SMWB_ADD),
        (VALID_OFFERS["bare"],),
    ),
    _accepting(
        "rfc7692/7.1.2.2/cmwb-only-if-offered",
        "A response to an offer without client_max_window_bits MUST NOT include it",
        (req.PMD_CMWB_ONLY_IF_OFFERED,),
        (VALID_OFFERS["bare"],),
    ),
    _accepting(
        "rfc7692/7.1.3/no-cmwb-for-smwb-offer",
        "A response to `server_max_window_bits=10` without client_max_window_bits MUST NOT "
        "include client_max_window_bits",
        (R_NO_CMWB_EXAMPLE, req.PMD_CMWB_ONLY_IF_OFFERED),
        _SMWB10,
    ),
    _accepting(
        "rfc7692/7.1.2.2/cmwb-response-abnf",
        "client_max_window_bits in a response is 8 to 15 without leading zeroes",
        (req.PMD_RESPONSE_CMWB_ABNF, R_CMWB_ADD),
        (VALID_OFFERS["cmwb"],),
    ),
    _accepting(
        "rfc7692/7.1.2.2/cmwb-value-hint",
        "A server may limit the client's window to the offered client_max_window_bits=10",
        (R_CMWB_HINT, R_CMWB_ADD),
        (VALID_OFFERS["cmwb10"],),
        allowed=(client_window_above_hint((VALID_OFFERS["cmwb10"],)),),
    ),
    *(
        _accepting(
            f"rfc7692/5.2/quoted-{slug}",
            f"A server reads a quoted parameter value as its token: {_shown((offer,))}",
            (R_QUOTED, R_FULLY_SUPPORTED),
            (offer,),
        )
        for slug, offer in ACCEPTABLE_OFFERS.items()
    ),
)


# -- invalid offers: declined, never accepted nor refused (§7) -----------------------------


def _decline(slug: str) -> Case:
    invalid = INVALID_OFFERS[slug]
    return Case(
        id=f"rfc7692/7/decline-{slug}",
        title=f"A server MUST decline an offer with {invalid.reason}: {_shown((invalid.offer,))}",
        requirements=(invalid.requirement, R_DECLINE_CONDITIONS, R_DECLINE_NO_ELEMENT),
        level=Level.MUST,
        expect=expect(DeflateDeclined()),
        run=negotiating((invalid.offer,)),
        notes="§7: the server declines (a 101 without the element); refusing the handshake "
        "with an HTTP error, or dropping it, is not declining",
    )


DECLINE_CASES: Final = tuple(_decline(slug) for slug in INVALID_OFFERS)


# -- several offers, window 8, Autobahn|Testsuite 13 ---------------------------------------

FALLBACK_CASES: Final = tuple(
    _accepting(
        f"rfc7692/7.1.3/fallback-{slug}",
        f"A server accepts at most one of several offers and answers it validly: {_shown(offers)}",
        (R_PICK_ANY, R_CORRESPONDING, req.PMD_INVALID_RESPONSE),
        offers,
    )
    for slug, offers in FALLBACK_OFFERS.items()
)

WINDOW_8_CASE: Final = _accepting(
    "rfc7692/7.1.2.1/smwb8-honoured",
    "A server accepting server_max_window_bits=8 compresses within a 256-byte window",
    (req.PMD_SMWB_ACCEPT, req.PMD_SERVER_WINDOW, R_DECLINE_UNSUPPORTED, R_RSV1_FIRST),
    (VALID_OFFERS["smwb8"],),
    messages=(
        (Opcode.BINARY, WINDOW_8_PROBE),
        (Opcode.BINARY, NEAR_WINDOW_8_PROBE),
        (Opcode.TEXT, TEXT_DATA),
    ),
    compressed=True,
)

AUTOBAHN_CASES: Final = tuple(
    _accepting(
        f"rfc7692/7.1/autobahn-{number}",
        f"A server agreeing to Autobahn|Testsuite {number}'s offers {_shown(offers)} "
        "echoes compressed messages that inflate under the agreed parameters",
        (req.PMD_AGREED_APPLY, R_SEND, R_RSV1_FIRST, R_RECEIVE),
        offers,
        compressed=True,
    )
    for number, offers in AUTOBAHN_13_OFFERS.items()
)

CASES: Final = (
    *FAMILY_CASES,
    *RESPONSE_CASES,
    *DECLINE_CASES,
    *FALLBACK_CASES,
    WINDOW_8_CASE,
    *AUTOBAHN_CASES,
)
