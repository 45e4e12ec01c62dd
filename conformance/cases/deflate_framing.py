"""Compressed messages a server must refuse (RFC 7692 §6.1, §6.2, §7.2.2; RFC 6455 §5.2, §8.1).

Every case here ends in a frame or message on which the server MUST _Fail the WebSocket
Connection_ (RFC 6455 §7.1.7), echoing only the valid messages sent before it:

* text that is valid UTF-8 only as compressed bytes, not once inflated (§6.1: "the payload
  data portion after decompression" obeys the type's constraints): 1007;
* compressed data that does not inflate (§7.2.2): 1007 or 1002 both PASS (the text names
  neither for a decompression error: 1007 is "data ... not consistent with the type of the
  message", 1002 a "protocol error"), the Actual text says which;
* RSV1 on a continuation frame, a Ping, a Pong or a Close with permessage-deflate agreed
  (§6.1 "An endpoint receiving such a frame MUST _Fail the WebSocket Connection_"): 1002;
* RSV1 on valid DEFLATE data when no extension was agreed (RFC 6455 §5.2: "MUST be 0 unless
  an extension is negotiated"), after no offer and after an offer the server had to decline:
  a server that inflates anyway has compression switched on that was never agreed. The
  plain RSV1 cases (``rfc6455/5.2/rsv1-*``) send data that is not DEFLATE.

Other codes are judged by :func:`conformance.policy.closing.failure_allowances`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from ..model import rules
from ..model.behaviours import Behaviour, FailedConnection, FailedLate, expect
from ..model.codec import encode_frame
from ..model.constants import Opcode
from ..model.deflate import examples
from ..model.deflate import requirements as req
from ..model.deflate.compressor import context_pair
from ..model.deflate.offers import INVALID_OFFERS, offer_header
from ..model.deflate.probes import random_block
from ..model.frames import Frame
from ..model.observed import Observed
from ..model.verdict import Allowed, Level
from ..policy import closing as closing_policy
from ..policy.deflate import DECLINED_UNSUPPORTED, REFUSED_VALID_OFFER
from ..session.context import CaseContext
from ..session.deflate import DeflateSession, deflate_case_run
from ..session.wire import WireSession, client_frame, close_frame, watch_failure
from .base import Case
from .factories import FAIL_CITES

# -- requirement ids -------------------------------------------------------------------

R_FAIL: Final = FAIL_CITES
"""Every case: input is validated (§10.7), a failing server closes, with a Close first (§7.1.7)."""
R_AFTER_INFLATE: Final = (
    "rfc7692-6.1-type-constraints-after-inflate",
    rules.INVALID_UTF8_FAIL,
    rules.INVALID_DATA_1007,
)
R_INFLATE: Final = (req.PMD_INFLATE, "rfc7692-6.2-decompress-concatenation")
R_RSV1: Final = ("rfc7692-6.1-rsv1-control-fail", req.PMD_RSV1_CONTROL_OR_CONTINUATION)
R_NOT_NEGOTIATED: Final = (req.RFC6455_RSV_NOT_NEGOTIATED, "rfc7692-5-declined-no-compression")

INVALID_TEXT: Final = frozenset({1007})
"""RFC 6455 §7.4.1: 1007 for "non-UTF-8 [RFC3629] data within a text message"."""
CORRUPT: Final = closing_policy.INVALID_DATA
"""1002 or 1007: which one a decompression error deserves, the text does not say."""
PROTOCOL: Final = closing_policy.PROTOCOL_ERROR

BAD_TEXT: Final = b"Valid until here: \xc3\x28 and after." * 8
"""Invalid UTF-8 (0xC3 then 0x28) inside compressible text: invisible in the compressed bytes."""
VALID_TEXT: Final = b"A valid compressed message before the offence. " * 4
RESERVED_BLOCK: Final = b"\x07" + random_block(32, seed=3)
"""BFINAL 1, BTYPE 11: "reserved (error)" (RFC 1951 §3.2.3)."""
BAD_STORED_LENGTH: Final = b"\x00\x05\x00\x00\x00Hello\x00"
"""A stored block whose NLEN is not the one's complement of LEN (RFC 1951 §3.2.4)."""
REFERENCE_BLOCK: Final = random_block(1024, seed=5)

CORRUPT_NOTE: Final = (
    "RFC 7692 names no close code for data that does not inflate. 1007 ('data within a "
    "message that was not consistent with the type of the message') and 1002 ('protocol "
    "error') both PASS; the Actual text shows the code sent."
)
UTF8_NOTE: Final = (
    "RFC 6455 §8.1 binds the server once it 'finds' the text invalid and says nothing of when "
    "it must look; failing only after answering frames sent behind the message also PASSes."
)

Offence = Callable[[DeflateSession], Sequence[Frame]]
"""The frames a case sends after its valid messages, built on the open session."""


def _fail_case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    offence: Offence,
    *,
    codes: frozenset[int] = PROTOCOL,
    before: tuple[tuple[int, bytes], ...] = (),
    patient: bool = False,
    closes: bool = False,
    notes: str = "",
) -> Case:
    """With permessage-deflate agreed (the bare offer): ``before`` sent compressed and echoed,
    then ``offence`` as raw bytes; the server fails the connection with one of ``codes``.

    ``patient``: a late failure (after answering frames behind the offence) passes too
    (invalid UTF-8, RFC 6455 §8.1). ``closes``: the offence holds a Close, so the server's
    Close may answer it (:class:`FailedConnection` ``reply_counts``).
    """

    async def body(session: DeflateSession) -> Observed:
        wire = session.wire
        if before:
            for opcode, data in before:
                await session.send(*session.message(opcode, data))
            await wire.settle()
        await wire.send(b"".join(encode_frame(frame) for frame in offence(session)))
        await watch_failure(wire, patient=patient)
        observed = session.finish()
        if observed.pongs and not observed.continued:
            observed.continued = True
            observed.notes.append("the server answered a Ping in or behind the offending frames")
        return observed

    alternatives: list[Behaviour] = [FailedConnection(codes, before, reply_counts=closes)]
    if patient:
        alternatives.append(FailedLate(codes, before))
    allowed: tuple[Allowed, ...] = (
        DECLINED_UNSUPPORTED,
        REFUSED_VALID_OFFER,
        *closing_policy.failure_allowances(codes, before, reply_counts=closes),
    )
    return Case(
        id=case_id,
        title=title,
        requirements=(*requirements, *R_FAIL),
        level=Level.MUST,
        expect=expect(*alternatives),
        run=deflate_case_run(body, prove_alive=True),
        allowed=allowed,
        notes=notes,
    )


def _with_rsv1(frame: Frame) -> Frame:
    return replace(frame, rsv1=True)


def _rsv1_on_continuation(session: DeflateSession) -> list[Frame]:
    first, *rest = session.message(Opcode.TEXT, VALID_TEXT, fragment=4)
    return [first, *(_with_rsv1(frame) for frame in rest)]


def _rsv1_on_uncompressed_continuation(session: DeflateSession) -> list[Frame]:
    first, *rest = session.message(Opcode.TEXT, VALID_TEXT, compress=False, fragment=64)
    return [first, _with_rsv1(rest[0]), *rest[1:]]


def _reference_before_start(session: DeflateSession) -> list[Frame]:
    """The second of two messages compressed together, sent alone: it references bytes
    the server never received (zlib: "invalid distance too far back")."""
    _, second = context_pair(REFERENCE_BLOCK, REFERENCE_BLOCK)
    return session.frames(Opcode.BINARY, [second])


def _framing_cases() -> list[Case]:
    text, binary = Opcode.TEXT, Opcode.BINARY
    valid = ((text, VALID_TEXT),)
    return [
        _fail_case(
            "rfc7692/6.1/invalid-utf8-after-inflate",
            "Compressed text that is not UTF-8 once inflated fails the connection with 1007",
            R_AFTER_INFLATE,
            lambda s: s.message(text, BAD_TEXT),
            codes=INVALID_TEXT,
            patient=True,
            notes=UTF8_NOTE,
        ),
        _fail_case(
            "rfc7692/6.1/invalid-utf8-after-inflate-fragmented",
            "Compressed text in 8-byte fragments that is not UTF-8 once inflated fails the "
            "connection with 1007",
            (*R_AFTER_INFLATE, "rfc7692-6.2-concatenate-payloads"),
            lambda s: s.message(text, BAD_TEXT, fragment=8),
            codes=INVALID_TEXT,
            before=valid,
            patient=True,
            notes=UTF8_NOTE,
        ),
        _fail_case(
            "rfc7692/7.2.2/corrupt-reserved-block-type",
            "A compressed message whose DEFLATE block type is reserved (BTYPE 11) fails the "
            "connection",
            R_INFLATE,
            lambda s: s.frames(binary, [RESERVED_BLOCK]),
            codes=CORRUPT,
            notes=CORRUPT_NOTE,
        ),
        _fail_case(
            "rfc7692/7.2.2/corrupt-stored-length",
            "A compressed message with a stored block whose lengths disagree fails the connection",
            R_INFLATE,
            lambda s: s.frames(text, [BAD_STORED_LENGTH]),
            codes=CORRUPT,
            before=valid,
            notes=CORRUPT_NOTE,
        ),
        _fail_case(
            "rfc7692/7.2.2/reference-before-first-message",
            "A first compressed message referencing data before its start fails the connection",
            (*R_INFLATE, "rfc7692-7.2.2-server-keep-context"),
            _reference_before_start,
            codes=CORRUPT,
            notes=CORRUPT_NOTE,
        ),
        _fail_case(
            "rfc7692/6.1/rsv1-on-continuation",
            "RSV1 on the continuation frames of a compressed message fails the connection",
            R_RSV1,
            _rsv1_on_continuation,
            before=valid,
        ),
        _fail_case(
            "rfc7692/6.1/rsv1-on-uncompressed-continuation",
            "RSV1 on a continuation frame of an uncompressed message fails the connection",
            R_RSV1,
            _rsv1_on_uncompressed_continuation,
        ),
        _fail_case(
            "rfc7692/6.1/rsv1-on-ping",
            "A Ping with RSV1 set fails the connection instead of being answered",
            R_RSV1,
            lambda s: [client_frame(Opcode.PING, b"compressed?", rsv1=True)],
            before=valid,
        ),
        _fail_case(
            "rfc7692/6.1/rsv1-on-pong",
            "A Pong with RSV1 set fails the connection",
            R_RSV1,
            lambda s: [client_frame(Opcode.PONG, b"compressed?", rsv1=True)],
        ),
        _fail_case(
            "rfc7692/6.1/rsv1-on-close",
            "A Close with RSV1 set fails the connection as a protocol error",
            R_RSV1,
            lambda s: [_with_rsv1(close_frame(1000))],
            closes=True,
            notes=(
                "The offending frame is a Close 1000: a Close back with another code than "
                "1002 is WARN, as for rfc6455/5.2/rsv123-close."
            ),
        ),
    ]


# -- RSV1 without negotiation ---------------------------------------------------------


def _unnegotiated_case(
    case_id: str, title: str, extensions: Sequence[bytes], requirements: tuple[str, ...]
) -> Case:
    """No permessage-deflate agreed: RSV1 on valid DEFLATE data fails (RFC 6455 §5.2)."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx, extensions=extensions, prove_alive=True)
        offence = client_frame(Opcode.BINARY, examples.ONE_BLOCK, rsv1=True)
        await session.send(encode_frame(offence))
        observed = await watch_failure(session)
        observed.response = session.response
        return observed

    return Case(
        id=case_id,
        title=title,
        requirements=(*requirements, *R_NOT_NEGOTIATED, *R_FAIL),
        level=Level.MUST,
        expect=expect(FailedConnection(PROTOCOL)),
        run=run,
        allowed=closing_policy.failure_allowances(PROTOCOL),
        notes=(
            "The payload is §7.2.3.1's 'Hello' in a binary message: a server that inflates "
            "it although nothing was agreed echoes 'Hello', one that ignores RSV1 echoes the "
            "bytes; both FAIL (binary, so no UTF-8 check fails the connection by chance)."
        ),
    )


def _unnegotiated_cases() -> list[Case]:
    declined = INVALID_OFFERS["smwb16"].offer
    return [
        _unnegotiated_case(
            "rfc7692/6/rsv1-deflate-data-not-offered",
            "RSV1 on a binary message of valid DEFLATE data, no extension offered, fails the "
            "connection",
            (),
            (),
        ),
        _unnegotiated_case(
            "rfc7692/6/rsv1-deflate-data-offer-declined",
            "RSV1 on a binary message of valid DEFLATE data after an offer the server had to "
            "decline fails the connection",
            (offer_header((declined,)),),
            (req.PMD_DECLINE_INVALID_VALUE,),
        ),
    ]


CASES: Final[tuple[Case, ...]] = (*_framing_cases(), *_unnegotiated_cases())
