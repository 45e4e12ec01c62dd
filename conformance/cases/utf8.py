"""UTF-8 cases (RFC 6455 §5.6, §8.1; Autobahn|Testsuite section 6).

"Note that a particular text frame might include a partial UTF-8 sequence; however,
the whole message MUST contain valid UTF-8" (§5.6), and an endpoint that "finds that
the byte stream is not, in fact, a valid UTF-8 stream ... MUST _Fail the WebSocket
Connection_" (§8.1), with 1007 (§7.4.1).

* valid text split on and inside code points, by fragments and by TCP writes: echoed;
* every valid entry of Markus Kuhn's stress test (:mod:`conformance.model.kuhn`),
  non-characters included: echoed unchanged;
* every invalid entry: fails the connection with 1007, sent as one frame and again one
  byte per fragment, with nothing echoed;
* fail-fast: invalid bytes in the first fragment of a message whose other fragments
  are held back; failing only once the message is whole is reported as WARN.
"""

from __future__ import annotations

from typing import Final

from ..model import rules
from ..model.behaviours import AllOf, FailedConnection, FailedLate, Ponged, expect
from ..model.constants import Opcode
from ..model.kuhn import KUHN_TABLE, KuhnEntry
from ..model.observed import Observed
from ..model.verdict import Level, Outcome
from ..policy.closing import failure_allowances
from ..session.context import CaseContext
from ..session.plans import Chop, Part, Plan, fragmented, send_plan
from ..session.wire import WireSession, client_frame, watch_failure
from .base import Allowed, Case
from .factories import plan_echo_case

INVALID_DATA: Final = frozenset({1007})
"""§7.4.1: "1007 indicates that an endpoint is terminating the connection because it
has received data within a message that was not consistent with the type of the
message (e.g., non-UTF-8 [RFC3629] data within a text message)"."""

VALID_CITES: Final = (rules.TEXT_UTF8, rules.INVALID_UTF8_FAIL)
INVALID_CITES: Final = (
    rules.INVALID_UTF8_FAIL,
    rules.TEXT_UTF8,
    rules.INVALID_DATA_1007,
    rules.SERVER_FAIL_CLOSES,
    rules.CLOSE_BEFORE_FAIL,
    rules.STOP_AFTER_FAIL,
)

SAMPLE: Final = "Hello-µ@ßöäüàá-UTF-8!! κόσμε € 𝄞 end"
"""Text with 1-, 2-, 3- and 4-byte characters (U+1D11E is the 4-byte one)."""

NONCHARACTER_NOTES: Final = (
    "Non-characters are Unicode scalar values, which RFC 3629 §3 encodes like any "
    "other: valid UTF-8 that a server must accept and echo, not fail with 1007."
)


def _invalid_case(case_id: str, title: str, plan: Plan, notes: str = "") -> Case:
    """Invalid text: the connection fails with 1007 and nothing is echoed (§8.1)."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx, prove_alive=True)
        await send_plan(session, plan)
        return await watch_failure(session, patient=True)

    return Case(
        id=case_id,
        title=title,
        requirements=INVALID_CITES,
        level=Level.MUST,
        expect=expect(FailedConnection(INVALID_DATA), FailedLate(INVALID_DATA)),
        run=run,
        allowed=failure_allowances(INVALID_DATA),
        notes=f"{notes} {LATE_NOTE}".strip(),
    )


def _kuhn_cases(entry: KuhnEntry) -> list[Case]:
    where = f"Kuhn {entry.number}: {entry.label}"
    if entry.valid:
        notes = NONCHARACTER_NOTES if entry.number.startswith("5.3") else ""
        return [
            plan_echo_case(
                f"rfc6455/5.6/kuhn-{entry.slug}",
                f"Valid UTF-8 text ({where}) is echoed unchanged",
                VALID_CITES,
                (Part(Opcode.TEXT, entry.data),),
                notes=notes,
            )
        ]
    cases = [
        _invalid_case(
            f"rfc6455/8.1/kuhn-{entry.slug}",
            f"Text that is not UTF-8 ({where}) fails the connection with 1007",
            (Part(Opcode.TEXT, entry.data),),
        )
    ]
    if len(entry.data) > 1:
        cases.append(
            _invalid_case(
                f"rfc6455/8.1/kuhn-{entry.slug}-fragmented",
                f"Text that is not UTF-8 ({where}), one byte per fragment, fails the "
                "connection with 1007",
                fragmented(Opcode.TEXT, [bytes([b]) for b in entry.data]),
            )
        )
    return cases


def _split_cases() -> list[Case]:
    data = SAMPLE.encode()
    by_char = [ch.encode() for ch in SAMPLE]
    by_byte = [bytes([b]) for b in data]
    clef = data.index("𝄞".encode())
    cites = (*VALID_CITES, rules.RECEIVE_FRAGMENTED)
    cases = [
        plan_echo_case(
            "rfc6455/5.6/text-split-on-code-points",
            "Text in one fragment per character is echoed unchanged",
            cites,
            fragmented(Opcode.TEXT, by_char),
        ),
        plan_echo_case(
            "rfc6455/5.6/text-split-inside-code-points",
            "Text in one fragment per byte (fragments end inside characters) is echoed unchanged",
            cites,
            fragmented(Opcode.TEXT, by_byte),
        ),
        plan_echo_case(
            "rfc6455/5.6/text-split-inside-code-points-byte-writes",
            "Text in one fragment per byte, written one byte per TCP write, is echoed unchanged",
            (*cites, rules.PARSE_FRAMES),
            fragmented(Opcode.TEXT, by_byte),
            chop=Chop.BYTES,
        ),
        plan_echo_case(
            "rfc6455/5.6/text-byte-writes",
            "Text in one frame written one byte per TCP write is echoed unchanged",
            (*VALID_CITES, rules.PARSE_FRAMES),
            (Part(Opcode.TEXT, data),),
            chop=Chop.BYTES,
        ),
    ]
    for cut in (1, 2, 3):
        cases.append(
            plan_echo_case(
                f"rfc6455/5.6/text-4-byte-character-split-after-byte-{cut}",
                f"Text whose 4-byte character is split after its byte {cut} by a fragment "
                "boundary is echoed unchanged",
                cites,
                fragmented(Opcode.TEXT, (data[: clef + cut], data[clef + cut :])),
            )
        )
    return cases


FAIL_FAST_PROBE: Final = b"wsconform-fail-fast-probe"

LATE_NOTE: Final = (
    "A server may find the invalid text after answering frames sent behind it (a Ping, "
    "the suite's Close): §8.1 binds an endpoint once it 'finds' invalid UTF-8 and says "
    "nothing of when it must look, so a 1007 sent then passes too (the Actual line says "
    "so); how early it fails is what the fail-fast cases report."
)

FAIL_FAST_NOTES: Final = (
    "RFC 6455 has no sentence on *when* invalid UTF-8 must be found: §8.1 (MUST fail "
    "once the endpoint 'finds that the byte stream is not, in fact, a valid UTF-8 "
    "stream') and §5.6 ('Invalid UTF-8 in reassembled messages is handled as described "
    "in Section 8.1') allow checking the reassembled message only. Failing at the "
    "first fragment that can no longer be UTF-8 (fail-fast) is what the suite, like "
    "Autobahn|Testsuite 6.4 ('NON-STRICT' otherwise), recommends. As no SHOULD asks "
    "for it, a late failure is INFO (left open by the text), never WARN or FAIL. "
    "Never failing at all breaks the §8.1 MUST: FAIL."
)


def _fail_fast_case(slug: str, what: str, first: bytes, *, chop: Chop = Chop.WHOLE) -> Case:
    """Invalid bytes in the first fragment; a Ping behind it; the rest only if answered."""
    rest = (Part(Opcode.CONTINUATION, b" more text", fin=False), Part(Opcode.CONTINUATION, b"."))

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx, prove_alive=True)
        await send_plan(session, (Part(Opcode.TEXT, first, fin=False),), chop)
        await session.send(client_frame(Opcode.PING, FAIL_FAST_PROBE))
        seen = session.observed
        await session.until(lambda s: bool(seen.pongs) or seen.close is not None)
        if seen.pongs and seen.close is None:
            seen.notes.append(
                "the server answered a Ping sent after the invalid first fragment: it "
                "had not failed yet (not fail-fast); the rest of the message followed"
            )
            await send_plan(session, rest, chop)
        return await watch_failure(session, patient=True)

    fast = AllOf(
        (FailedConnection(INVALID_DATA), Ponged(())),
        text="the connection failed at the invalid first fragment, before the Ping "
        "behind it was answered: a Close frame with code 1007, or a TCP close without one",
    )
    late = AllOf(
        (FailedLate(INVALID_DATA), Ponged((FAIL_FAST_PROBE,))),
        text="the connection failed with 1007 once the whole message was in",
    )
    return Case(
        id=f"rfc6455/8.1/{slug}",
        title=f"Text whose first fragment is not UTF-8 ({what}) fails the connection "
        "at that fragment",
        requirements=INVALID_CITES,
        level=Level.MUST,
        expect=expect(fast),
        run=run,
        allowed=(
            Allowed(late, Outcome.INFO, "not fail-fast: it waited for the whole message"),
            *failure_allowances(INVALID_DATA),
        ),
        notes=FAIL_FAST_NOTES,
    )


def _fail_fast_cases() -> list[Case]:
    kosme = "κόσμε".encode()
    beyond = kosme + b"\xf4\x90\x80\x80" + b"edited"  # U+110000 (Kuhn 2.3.5)
    return [
        _fail_fast_case("fail-fast-first-fragment", "a code point above U+10FFFF", beyond),
        _fail_fast_case(
            "fail-fast-first-fragment-byte-writes",
            "a code point above U+10FFFF, one byte per TCP write",
            beyond,
            chop=Chop.BYTES,
        ),
        _fail_fast_case("fail-fast-impossible-byte", "byte 0xFF", b"Hello \xff world"),
        _fail_fast_case(
            "fail-fast-surrogate", "a UTF-16 surrogate", kosme + b"\xed\xa0\x80" + b"edited"
        ),
    ]


def _all() -> list[Case]:
    return [
        *_split_cases(),
        *(case for entry in KUHN_TABLE for case in _kuhn_cases(entry)),
        *_fail_fast_cases(),
    ]


CASES: list[Case] = _all()
