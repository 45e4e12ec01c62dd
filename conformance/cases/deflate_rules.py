"""RFC 7692 server rules the other deflate tables leave open (§5, §6.1, §7.1.1.1, §7.2, §7.3).

* §5: permessage-deflate offered with ``x-webkit-deflate-frame`` (a frame-level compression
  extension that sets RSV1 per frame): a server accepting both breaks the RSV1 rule.
* §6.1: an uncompressed reply carries the original data, RSV1 unset. A server may compress
  every reply (§6), so a server that never sends one is INFO (not observed).
* §7.1.1.1, §7.3: what is RECOMMENDED (WARN when missed): supporting
  ``server_no_context_takeover``, and windows of 1,024 bytes or more.
* §7.2.1: blocks after a BFINAL block in one message are inflated too.
* §7.2.2: ``client_no_context_takeover`` offered but not agreed: the server keeps its
  inflate context (INFO when it agreed it: the rule then does not bind).

No case module imports another (``cases/__init__.py``), so the runs here are small and
their own. A server that declines every offer is UNSUPPORTED; a valid offer refused with an
HTTP error is INFO (:mod:`conformance.policy.deflate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..model.behaviours import Echoed, expect
from ..model.constants import Opcode
from ..model.deflate import requirements as req
from ..model.deflate.compressor import EMPTY_STORED_BLOCK, bfinal_block, compress_message
from ..model.deflate.elements import ExtensionSyntaxError, parse_extension_list
from ..model.deflate.offers import VALID_OFFERS, Offer
from ..model.deflate.params import EXTENSION_NAME, EXTENSIONS_HEADER, Agreed
from ..model.deflate.probes import random_block
from ..model.observed import Observed
from ..model.verdict import Allowed, Level, Outcome
from ..policy.deflate import (
    DECLINED_UNSUPPORTED,
    REFUSED_VALID_OFFER,
    DeflateEchoed,
    agreed_from,
)
from ..session.context import CaseContext
from ..session.deflate import DeflateSession, deflate_case_run, refused_observation
from ..session.wire import Refused, WireSession, watch_echo
from .base import Case, RunFn

# -- requirement ids (spec_refs/rfc7692.toml) -------------------------------------------

R_RSV1_CONFLICT: Final = "rfc7692-5-rsv1-conflict-no-accept"
R_UNCOMPRESSED_SEND: Final = (
    "rfc7692-6.1-uncompressed-send-algorithm",
    "rfc7692-6.1-rsv1-unset-uncompressed",
)
R_SNCT_SUPPORT: Final = "rfc7692-7.1.1.1-server-support-snct"
R_WINDOW_1024: Final = "rfc7692-7.3-window-1024-recommended"
R_BFINAL: Final = "rfc7692-7.2.1-bfinal-padding"
R_DESPITE_HINT: Final = "rfc7692-7.2.2-server-keep-context-despite-hint"
R_INFLATE_CONTEXT: Final = "rfc7692-7.2.2-server-keep-context"
R_CONCATENATION: Final = "rfc7692-6.2-decompress-concatenation"

# -- what the cases send --------------------------------------------------------------

FRAME_EXTENSION: Final = "x-webkit-deflate-frame"
"""Frame-level DEFLATE (Safari, old Chrome): RSV1 marks each compressed frame, as
permessage-deflate's RSV1 marks a compressed message's first frame (RFC 7692 §5, §6)."""
CONFLICTING_OFFER: Final = f"{EXTENSION_NAME}, {FRAME_EXTENSION}".encode()

AGREED_TEXT: Final = b"A message in a connection that agreed to permessage-deflate. " * 8
REPEATED_BLOCK: Final = random_block(1024, seed=13)
"""Random, sent twice: the second copy compresses to one back-reference into the first."""
PLAIN_TEXT: Final = b"sent uncompressed, RSV1 clear: echo it as you like" * 2
PLAIN_BINARY: Final = bytes(range(256))

RECOMMENDED_WINDOW_BITS: Final = 10
"""§7.3: "an LZ77 sliding window size of 1,024 or more is RECOMMENDED" (2**10)."""

BFINAL_FIRST: Final = b"Blocks after a BFINAL block, "
BFINAL_SECOND: Final = b"at the next byte boundary, are part of the message."
BINARY_FIRST: Final = random_block(300, seed=17)
BINARY_SECOND: Final = bytes(range(200)) * 3


def after_bfinal(first: bytes, second: bytes) -> bytes:
    """``first`` in a block with BFINAL set, padded with 0 bits to a byte boundary (zlib's
    Z_FINISH), then ``second`` compressed afresh (no reference into ``first``): §7.2.1
    "The next DEFLATE block follows the padded data if any"."""
    return bfinal_block(first).removesuffix(EMPTY_STORED_BLOCK) + compress_message(second)


# -- behaviours -----------------------------------------------------------------------


def _accepted_names(observed: Observed) -> set[str] | None:
    """The extension names of the 101's ``Sec-WebSocket-Extensions``; None if not a 101
    or malformed."""
    response = observed.response
    if response is None or response.status != 101:
        return None
    values = response.values(EXTENSIONS_HEADER)
    if not values:
        return set()
    try:
        return {element.name for element in parse_extension_list(values)}
    except (ExtensionSyntaxError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class AcceptedOneOf:
    """A 101 accepting exactly one of ``names`` (RFC 7692 §5: never both when they conflict)."""

    names: frozenset[str]

    def describe(self) -> str:
        return f"a 101 accepting one of {', '.join(sorted(self.names))}, not both"

    def matches(self, observed: Observed) -> bool:
        accepted = _accepted_names(observed)
        return accepted is not None and len(accepted & self.names) == 1


@dataclass(frozen=True, slots=True)
class AcceptedNoneOf:
    """A 101 accepting none of ``names``: both offers declined."""

    names: frozenset[str]

    def describe(self) -> str:
        return f"a 101 accepting none of {', '.join(sorted(self.names))}"

    def matches(self, observed: Observed) -> bool:
        accepted = _accepted_names(observed)
        return accepted is not None and not accepted & self.names


@dataclass(frozen=True, slots=True)
class EchoedSomeUncompressed:
    """Agreed, every message echoed intact, at least one echo uncompressed (RSV1 unset,
    the original data, §6.1): the server's uncompressed form was observed."""

    offers: tuple[Offer, ...]
    messages: tuple[tuple[int, bytes], ...]

    def describe(self) -> str:
        return "the messages echoed intact, at least one uncompressed (RSV1 unset, data as is)"

    def matches(self, observed: Observed) -> bool:
        echoed = DeflateEchoed(self.offers, self.messages, compressed=False)
        return echoed.matches(observed) and not all(observed.compressed)


@dataclass(frozen=True, slots=True)
class EchoedUnder:
    """Agreed, every message echoed intact, and the agreed parameters as ``wanted`` says:
    ``snct`` (server_no_context_takeover agreed), ``no-cnct`` (client_no_context_takeover
    not agreed), ``windows`` (both windows at least 2**10 bytes, §7.3)."""

    offers: tuple[Offer, ...]
    messages: tuple[tuple[int, bytes], ...]
    wanted: str

    def describe(self) -> str:
        what = {
            "snct": "server_no_context_takeover agreed",
            "no-cnct": "client_no_context_takeover not agreed",
            "windows": f"both windows {2**RECOMMENDED_WINDOW_BITS} bytes or more",
        }[self.wanted]
        return f"{what}, the messages echoed intact"

    def matches(self, observed: Observed) -> bool:
        agreed = agreed_from(observed, self.offers)
        if agreed is None or not DeflateEchoed(self.offers, self.messages, False).matches(observed):
            return False
        return _wanted(agreed, self.wanted)


def _wanted(agreed: Agreed, wanted: str) -> bool:
    if wanted == "snct":
        return agreed.server_no_context_takeover
    if wanted == "no-cnct":
        return not agreed.client_no_context_takeover
    small = min(agreed.server_max_window_bits, agreed.client_max_window_bits)
    return small >= RECOMMENDED_WINDOW_BITS


# -- runs -------------------------------------------------------------------------------


def _echo_run(
    offers: Sequence[Offer], sends: Sequence[tuple[int, bytes, bool]], crafted: bool = False
) -> RunFn:
    """Offer ``offers``; once agreed, send each (opcode, data, compressed) message in one
    write and wait for every echo (the strict inflater reads the compressed ones).
    ``crafted``: ``data`` of a compressed message is its payload, sent as is."""

    async def body(session: DeflateSession) -> Observed:
        frames = []
        for opcode, data, compressed in sends:
            if crafted and compressed:
                frames += session.frames(opcode, [data])
            else:
                frames += session.message(opcode, data, compress=compressed)
        await session.send(*frames)
        await watch_echo(session.wire)
        return session.finish()

    return deflate_case_run(body, offers)


async def _handshake_only(ctx: CaseContext, header: bytes) -> Observed:
    """Offer ``header``, read the 101, close: the response is what the case judges."""
    try:
        wire = await WireSession.open(ctx, extensions=[header])
    except Refused as exc:
        if exc.response is None:
            raise
        return refused_observation(exc)
    await wire.close()
    observed = wire.finish()
    observed.response = wire.response
    return observed


# -- the cases --------------------------------------------------------------------------

BOTH: Final = frozenset({EXTENSION_NAME, FRAME_EXTENSION})


async def _conflicting_pair(ctx: CaseContext) -> Observed:
    return await _handshake_only(ctx, CONFLICTING_OFFER)


CONFLICT_CASE: Final = Case(
    id="rfc7692/5/no-rsv1-conflicting-pair",
    title="A server does not accept permessage-deflate together with x-webkit-deflate-frame, "
    "which uses RSV1 too",
    requirements=(R_RSV1_CONFLICT, req.PMD_INVALID_RESPONSE),
    level=Level.MUST,
    expect=expect(AcceptedOneOf(BOTH)),
    run=_conflicting_pair,
    allowed=(
        Allowed(
            AcceptedNoneOf(BOTH),
            Outcome.UNSUPPORTED,
            "both offers declined: the server supports neither extension (§5 lets it decline)",
        ),
        REFUSED_VALID_OFFER,
    ),
    notes=(
        "Offered: `permessage-deflate, x-webkit-deflate-frame`. x-webkit-deflate-frame sets "
        "RSV1 on every frame it compresses; permessage-deflate sets it on a compressed "
        "message's first frame: the two conflict on RSV1 in either order, so accepting both "
        "FAILs (§5 MUST NOT). Accepting either one PASSes; declining both is UNSUPPORTED."
    ),
)

UNCOMPRESSED_SENDS: Final = (
    (Opcode.TEXT, PLAIN_TEXT, False),
    (Opcode.BINARY, PLAIN_BINARY, False),
    (Opcode.TEXT, AGREED_TEXT, True),
)
BARE_OFFER_SET: Final = (VALID_OFFERS["bare"],)


def _echoes_of(sends: Sequence[tuple[int, bytes, bool]]) -> tuple[tuple[int, bytes], ...]:
    return tuple((opcode, data) for opcode, data, _ in sends)


UNCOMPRESSED_ALL_COMPRESSED: Final = Allowed(
    DeflateEchoed(BARE_OFFER_SET, _echoes_of(UNCOMPRESSED_SENDS), compressed=False),
    Outcome.INFO,
    "every echo came compressed (§6 lets a sender compress any message): the server's "
    "uncompressed form was not observed",
)

UNCOMPRESSED_CASE: Final = Case(
    id="rfc7692/6.1/uncompressed-reply-as-is",
    title="A server's uncompressed message carries the original data with RSV1 unset",
    requirements=(*R_UNCOMPRESSED_SEND, req.PMD_AGREED_APPLY),
    level=Level.MUST,
    expect=expect(EchoedSomeUncompressed(BARE_OFFER_SET, _echoes_of(UNCOMPRESSED_SENDS))),
    run=_echo_run(BARE_OFFER_SET, UNCOMPRESSED_SENDS),
    allowed=(DECLINED_UNSUPPORTED, REFUSED_VALID_OFFER, UNCOMPRESSED_ALL_COMPRESSED),
    notes=(
        "Two messages sent uncompressed, one compressed; a server may echo each compressed "
        "or not (§6). An echo with RSV1 unset must be the original data; an uncompressed "
        "echo with RSV1 set does not inflate to it (FAIL). A server that compresses every "
        "echo is INFO: the rule was not exercised."
    ),
)

CONTEXT_SENDS: Final = (
    (Opcode.BINARY, REPEATED_BLOCK, True),
    (Opcode.BINARY, REPEATED_BLOCK, True),
    (Opcode.TEXT, AGREED_TEXT, True),
)
SNCT_OFFERS: Final = (VALID_OFFERS["snct"], VALID_OFFERS["bare"])


def _agreement_case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    level: Level,
    offers: tuple[Offer, ...],
    sends: Sequence[tuple[int, bytes, bool]],
    wanted: str,
    otherwise: tuple[Outcome, str],
    notes: str,
) -> Case:
    """Echoes under ``offers`` with the agreement ``wanted`` (:class:`EchoedUnder`); any
    other valid agreement echoing intact is ``otherwise`` (outcome, the clause's reason)."""
    echoes = _echoes_of(sends)
    outcome, why = otherwise
    return Case(
        id=case_id,
        title=title,
        requirements=requirements,
        level=level,
        expect=expect(EchoedUnder(offers, echoes, wanted)),
        run=_echo_run(offers, sends),
        allowed=(
            DECLINED_UNSUPPORTED,
            REFUSED_VALID_OFFER,
            Allowed(DeflateEchoed(offers, echoes, compressed=False), outcome, why),
        ),
        notes=notes,
    )


SNCT_CASE: Final = _agreement_case(
    "rfc7692/7.1.1.1/snct-supported",
    "A server supports server_no_context_takeover in an offer (RECOMMENDED)",
    (R_SNCT_SUPPORT, req.PMD_SNCT_ACCEPT, req.PMD_SERVER_NO_CONTEXT),
    Level.SHOULD,
    SNCT_OFFERS,
    CONTEXT_SENDS,
    "snct",
    (
        Outcome.WARN,
        "the offer with server_no_context_takeover declined, the bare fallback accepted: "
        "§7.1.1.1 RECOMMENDS supporting it",
    ),
    "Offered: `permessage-deflate; server_no_context_takeover, permessage-deflate`. "
    "Agreeing the first PASSes (its echoes are checked for a fresh window each); taking "
    "the fallback is WARN (RECOMMENDED); declining both is UNSUPPORTED.",
)

WINDOW_OFFERS: Final = (VALID_OFFERS["cmwb"],)
WINDOW_SENDS: Final = (
    (Opcode.TEXT, AGREED_TEXT, True),
    (Opcode.TEXT, AGREED_TEXT, True),
    (Opcode.BINARY, PLAIN_BINARY * 8, True),
)

WINDOW_CASE: Final = _agreement_case(
    "rfc7692/7.3/window-1024-or-more",
    "A server asked for no window size agrees to windows of 1,024 bytes or more (RECOMMENDED)",
    (R_WINDOW_1024, req.PMD_AGREED_APPLY),
    Level.SHOULD,
    WINDOW_OFFERS,
    WINDOW_SENDS,
    "windows",
    (
        Outcome.WARN,
        "a window below 1,024 bytes agreed although the offer asked for none: §7.3 "
        "RECOMMENDS 1,024 or more",
    ),
    "Offered: `permessage-deflate; client_max_window_bits` (no value: the client asks "
    "for no limit and lets the server choose). A response with server_max_window_bits or "
    "client_max_window_bits below 10 works but is WARN (§7.3).",
)

HINT_OFFERS: Final = (VALID_OFFERS["cnct"],)

HINT_CASE: Final = _agreement_case(
    "rfc7692/7.2.2/keep-context-despite-hint",
    "client_no_context_takeover offered but not agreed: the server inflates each "
    "message with the previous one's window",
    (R_DESPITE_HINT, R_INFLATE_CONTEXT, req.PMD_INFLATE),
    Level.MUST,
    HINT_OFFERS,
    CONTEXT_SENDS,
    "no-cnct",
    (
        Outcome.INFO,
        "the server agreed client_no_context_takeover, so the rule (which binds when the "
        "hint is not agreed) was not exercised",
    ),
    "Offered: `permessage-deflate; client_no_context_takeover`, a hint the server may "
    "ignore (§7.1.1.2). Not agreed: the suite compresses the second copy of a random "
    "block as a reference into the first, which the server must inflate (§7.2.2). "
    "Agreed: INFO, not exercised (the reference server agrees it).",
)

BFINAL_SENDS: Final = (
    (Opcode.TEXT, after_bfinal(BFINAL_FIRST, BFINAL_SECOND), True),
    (Opcode.BINARY, after_bfinal(BINARY_FIRST, BINARY_SECOND), True),
)
BFINAL_MESSAGES: Final = (
    (Opcode.TEXT, BFINAL_FIRST + BFINAL_SECOND),
    (Opcode.BINARY, BINARY_FIRST + BINARY_SECOND),
)

BFINAL_CASE: Final = Case(
    id="rfc7692/7.2.1/blocks-after-bfinal",
    title="DEFLATE blocks after a block with BFINAL set, at the next byte boundary, are "
    "inflated as part of the message",
    requirements=(R_BFINAL, req.PMD_INFLATE, R_CONCATENATION),
    level=Level.MUST,
    expect=expect(Echoed(BFINAL_MESSAGES)),
    run=_echo_run(BARE_OFFER_SET, BFINAL_SENDS, crafted=True),
    allowed=(DECLINED_UNSUPPORTED, REFUSED_VALID_OFFER),
    notes=(
        "Each payload: a BFINAL block padded with 0 bits (§7.2.1), then a block compressed "
        "afresh (no reference across the BFINAL block). A server that stops at the BFINAL "
        "block echoes only the first part (FAIL). The sending half of §7.2.1 (0 padding "
        "after the server's own BFINAL blocks) is not checked: zlib discards padding bits."
    ),
)

CASES: Final[tuple[Case, ...]] = (
    CONFLICT_CASE,
    UNCOMPRESSED_CASE,
    SNCT_CASE,
    WINDOW_CASE,
    HINT_CASE,
    BFINAL_CASE,
)
