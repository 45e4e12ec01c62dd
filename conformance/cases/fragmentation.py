"""Fragmentation cases (RFC 6455 §5.4; Autobahn|Testsuite section 5).

Each case is a *plan*: the frames a client sends, as data
(:class:`~conformance.session.plans.Part`), and how they are written to TCP
(:class:`~conformance.session.plans.Chop`). Valid plans become echo cases: every
fragmented message reassembled and echoed whole, every Ping in the middle of one
answered (§5.4); plans ending in a §5.4 breach become fail cases: the server must
_Fail the WebSocket Connection_ (§7.1.7). Both factories are in
:mod:`conformance.cases.factories`.
"""

from __future__ import annotations

import asyncio
from typing import Final

from ..model import rules
from ..model.behaviours import AllOf, CloseFrame, Echoed, FailedConnection, Not, expect
from ..model.codec import close_payload
from ..model.constants import Opcode
from ..model.observed import Observed
from ..model.verdict import Level, Outcome
from ..policy import closing as closing_policy
from ..policy import pingpong
from ..policy.pingpong import LATEST_ONLY_NOTE
from ..session.context import CaseContext
from ..session.plans import Chop, Part, expected_messages, fragmented, split
from ..session.wire import WireSession, watch_echo
from .base import Allowed, Case
from .factories import R_IN_ORDER, R_SENT_AS_FRAMES, plan_echo_case, plan_fail_case

TEXT_PAYLOAD: Final = b"Fragmented text, reassembled by the server and echoed whole: 0123456789."
BINARY_PAYLOAD: Final = bytes((i * 37 + 11) % 256 for i in range(80))
"""Binary data that is not UTF-8 (0x80-0xFF bytes out of order)."""

KINDS: Final = {"text": (Opcode.TEXT, TEXT_PAYLOAD), "binary": (Opcode.BINARY, BINARY_PAYLOAD)}
FRAGMENT_COUNTS: Final = (2, 3, 32)
BIG_MESSAGE: Final = 64 * 1024
BIG_FRAGMENT: Final = 1300

RECEIVE: Final = (rules.RECEIVE_FRAGMENTED, rules.FRAGMENT_SEQUENCE)
PARSE: Final = (rules.PARSE_FRAMES, "rfc6455-5.4-no-frame-boundaries")
CONTROL_MID: Final = (
    rules.CONTROL_MID_MESSAGE,
    "rfc6455-5.4-control-interleave-may",
    rules.PONG_REPLY,
)


def _big_text() -> bytes:
    unit = "64 KiB of text in 1300-byte fragments: κόσμε, €, 𝄞. "
    data = (unit * (BIG_MESSAGE // len(unit.encode()) + 1)).encode()[:BIG_MESSAGE]
    return data.decode("utf-8", "ignore").encode()  # whole code points only


def _basic_cases() -> list[Case]:
    cases = []
    for kind, (opcode, payload) in KINDS.items():
        for count in FRAGMENT_COUNTS:
            for chop in Chop:
                slug = f"{kind}-{count}-fragments" + (f"-{chop.value}" if chop.value else "")
                cases.append(
                    plan_echo_case(
                        f"rfc6455/5.4/{slug}",
                        f"A {kind} message in {count} fragments{chop.describe} is echoed whole",
                        RECEIVE + (PARSE if chop is not Chop.WHOLE else ()),
                        fragmented(opcode, split(payload, count)),
                        chop=chop,
                    )
                )
    return cases


def _empty_fragment_cases() -> list[Case]:
    t = TEXT_PAYLOAD
    plans = {
        "text-empty-first-fragment": ("an empty first fragment", (b"", t[:30], t[30:])),
        "text-empty-middle-fragment": ("an empty middle fragment", (t[:30], b"", t[30:])),
        "text-empty-last-fragment": ("an empty last fragment", (t[:30], t[30:], b"")),
        "text-all-fragments-empty": ("only empty fragments", (b"", b"", b"")),
    }
    cases = [
        plan_echo_case(
            f"rfc6455/5.4/{slug}",
            f"A text message with {what} is echoed whole",
            (*RECEIVE, rules.ANY_FRAGMENT_SIZE),
            fragmented(Opcode.TEXT, pieces),
        )
        for slug, (what, pieces) in plans.items()
    ]
    cases.append(
        plan_echo_case(
            "rfc6455/5.4/binary-all-fragments-empty",
            "A binary message of only empty fragments is echoed as an empty message",
            (*RECEIVE, rules.ANY_FRAGMENT_SIZE),
            fragmented(Opcode.BINARY, (b"", b"", b"")),
        )
    )
    return cases


def _interleaved_control_cases() -> list[Case]:
    a, b, c = split(TEXT_PAYLOAD, 3)
    ping = Part(Opcode.PING, b"ping between fragments")
    one_ping = (Part(Opcode.TEXT, a + b, fin=False), ping, Part(Opcode.CONTINUATION, c))
    pings = (
        Part(Opcode.TEXT, a, fin=False),
        Part(Opcode.PING, b"ping 1"),
        Part(Opcode.CONTINUATION, b, fin=False),
        Part(Opcode.PING, b"ping 2"),
        Part(Opcode.PING, b"ping 3"),
        Part(Opcode.CONTINUATION, c),
    )
    pong = (
        Part(Opcode.BINARY, BINARY_PAYLOAD[:40], fin=False),
        Part(Opcode.PONG, b"unsolicited pong"),
        Part(Opcode.CONTINUATION, BINARY_PAYLOAD[40:]),
    )
    return [
        plan_echo_case(
            "rfc6455/5.4/ping-between-fragments",
            "A Ping between two fragments is answered and the message echoed whole",
            (*RECEIVE, *CONTROL_MID),
            one_ping,
        ),
        plan_echo_case(
            "rfc6455/5.4/ping-between-fragments-byte-writes",
            "A Ping between two fragments, written one byte per TCP write, is answered "
            "and the message echoed whole",
            (*RECEIVE, *CONTROL_MID, *PARSE),
            one_ping,
            chop=Chop.BYTES,
        ),
        plan_echo_case(
            "rfc6455/5.4/pings-between-fragments",
            "Several Pings between fragments are answered in order (or, §5.5.3, the most "
            "recent one is) and the message echoed whole",
            (*RECEIVE, *CONTROL_MID),
            pings,
            notes=LATEST_ONLY_NOTE,
        ),
        plan_echo_case(
            "rfc6455/5.4/pong-between-fragments",
            "An unsolicited Pong between two fragments is ignored and the message echoed whole",
            (*RECEIVE, rules.CONTROL_MID_MESSAGE, rules.UNSOLICITED_PONG),
            pong,
        ),
        plan_echo_case(
            "rfc6455/5.4/two-fragmented-messages",
            "Two fragmented messages in a row are echoed whole, in order",
            (*RECEIVE, rules.NEW_MESSAGE_AFTER_FIN),
            fragmented(Opcode.TEXT, split(TEXT_PAYLOAD, 3))
            + fragmented(Opcode.BINARY, split(BINARY_PAYLOAD, 2)),
        ),
    ]


DEFERRAL_PING: Final = b"ping inside an unfinished message"


def _pong_deferral_case() -> Case:
    """A Ping after the first fragment (FIN clear), its Pong awaited before the final
    fragment is sent (§5.5.2 "as soon as is practical"; :mod:`..policy.pingpong`)."""
    first, last = split(TEXT_PAYLOAD, 2)
    head = (Part(Opcode.TEXT, first, fin=False), Part(Opcode.PING, DEFERRAL_PING))
    final = Part(Opcode.CONTINUATION, last)

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        seen = session.observed = pingpong.PongTimingObserved.adopt(session.observed)
        clock = asyncio.get_running_loop().time
        await session.send(*(part.frame() for part in head))
        pinged = clock()
        seen.pong_before_final = await session.await_pong(DEFERRAL_PING, pingpong.PONG_WAIT)
        finishing = clock()
        if seen.pong_before_final:
            seen.timing = pingpong.pong_prompt_text(finishing - pinged)
        await session.send(final.frame())
        if not seen.pong_before_final:
            ponged = await session.await_pong(DEFERRAL_PING, pingpong.PONG_WAIT)
            after_final, waited = clock() - finishing, finishing - pinged
            seen.timing = (
                pingpong.pong_deferred_text(after_final, waited)
                if ponged
                else pingpong.pong_missing_text(waited, after_final)
            )
        return await watch_echo(session)

    answered = AllOf(
        (Echoed(expected_messages((*head, final))), pingpong.PongsAnswered((DEFERRAL_PING,)))
    )
    prompt, allowed = pingpong.pong_deferral_outcomes(answered)
    return Case(
        id="rfc6455/5.4/ping-before-final-fragment",
        title="A Ping after the first fragment of a message is answered before the final "
        "fragment is sent, and the message echoed whole",
        requirements=(
            *RECEIVE,
            *CONTROL_MID,
            pingpong.R_PONG_PROMPTLY,
            R_IN_ORDER,
            *R_SENT_AS_FRAMES,
        ),
        level=Level.MUST,
        expect=expect(prompt),
        run=run,
        allowed=allowed,
        notes=pingpong.PONG_DEFERRAL_NOTE,
    )


def _big_cases() -> list[Case]:
    payloads = {"text": (Opcode.TEXT, _big_text()), "binary": (Opcode.BINARY, bytes(BIG_MESSAGE))}
    cases = []
    for kind, (opcode, payload) in payloads.items():
        size = BIG_FRAGMENT
        pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
        cases.append(
            plan_echo_case(
                f"rfc6455/5.4/{kind}-64k-in-1300-byte-fragments",
                f"A 64 KiB {kind} message sent in 1300-byte fragments is echoed whole",
                (*RECEIVE, rules.ANY_FRAGMENT_SIZE),
                fragmented(opcode, pieces),
                notes="1300-byte fragments cut multi-byte characters of the text"
                if kind == "text"
                else "",
            )
        )
    return cases


ORPHAN_NOTES: Final = (
    "RFC 6455 names no reaction to a continuation frame outside a fragmented message; "
    "by §5.4 such a frame belongs to no message, §6.2 says data frames after a final "
    "fragment begin a new message (which a continuation cannot), and §10.7 requires "
    "validating input: the suite, like Autobahn|Testsuite 5.9-5.14, reads it as a "
    "protocol error that fails the connection."
)


def _sequence_fail_cases() -> list[Case]:
    done = (Opcode.TEXT, b"complete message")
    interleave = (rules.NO_INTERLEAVE, rules.FRAGMENT_SEQUENCE)
    orphan = (rules.FRAGMENT_SEQUENCE, rules.NEW_MESSAGE_AFTER_FIN)
    return [
        plan_fail_case(
            "rfc6455/5.4/continuation-without-message",
            "A continuation frame (FIN set) with no message in progress fails the connection",
            orphan,
            (Part(Opcode.CONTINUATION, b"orphan continuation"),),
            notes=ORPHAN_NOTES,
        ),
        plan_fail_case(
            "rfc6455/5.4/continuation-without-message-fin-clear",
            "A continuation frame (FIN clear) with no message in progress fails the connection",
            orphan,
            (Part(Opcode.CONTINUATION, b"orphan continuation", fin=False),),
            notes=ORPHAN_NOTES,
        ),
        plan_fail_case(
            "rfc6455/5.4/continuation-after-message",
            "A continuation frame after a complete message fails the connection "
            "(the message before is echoed)",
            orphan,
            (Part(Opcode.CONTINUATION, b"continuation after FIN"),),
            before=(Part(*done),),
            notes=ORPHAN_NOTES,
        ),
        plan_fail_case(
            "rfc6455/5.4/text-inside-fragmented-text",
            "A text frame inside a fragmented text message fails the connection",
            interleave,
            (Part(Opcode.TEXT, b"first fragment", fin=False), Part(Opcode.TEXT, b"new message")),
        ),
        plan_fail_case(
            "rfc6455/5.4/binary-inside-fragmented-text",
            "A binary frame inside a fragmented text message fails the connection",
            interleave,
            (Part(Opcode.TEXT, b"first fragment", fin=False), Part(Opcode.BINARY, b"\x00\xff")),
        ),
        plan_fail_case(
            "rfc6455/5.4/text-inside-fragmented-binary",
            "A text frame (FIN clear) inside a fragmented binary message fails the connection",
            interleave,
            (
                Part(Opcode.BINARY, b"\x00\xff", fin=False),
                Part(Opcode.TEXT, b"new message", fin=False),
                Part(Opcode.CONTINUATION, b"end"),
            ),
        ),
    ]


def _control_fail_cases() -> list[Case]:
    control = (
        rules.CONTROL_NOT_FRAGMENTED,
        rules.CONTROL_NEVER_FRAGMENTED,
        "rfc6455-5.4-fragment-type-data-only",
    )
    close_code = 1000
    close_allowed = (
        Allowed(
            AllOf(
                (FailedConnection(), Not(CloseFrame(frozenset({close_code})))),
                text="the connection failed with a Close frame with another code "
                f"(not {close_code}), or a TCP close without one",
            ),
            Outcome.WARN,
            closing_policy.FAILED_OTHER_CODE_WHY.format(codes=1002),
        ),
    )
    return [
        plan_fail_case(
            "rfc6455/5.4/ping-fin-clear",
            "A Ping with FIN clear (a fragmented control frame) fails the connection",
            control,
            (Part(Opcode.PING, b"fragmented ping", fin=False),),
            notes="A server that answers the Ping, or the barrier Ping after it, went on "
            "processing after the frame that had to fail the connection.",
        ),
        plan_fail_case(
            "rfc6455/5.4/pong-fin-clear",
            "A Pong with FIN clear (a fragmented control frame) fails the connection",
            control,
            (Part(Opcode.PONG, b"fragmented pong", fin=False),),
        ),
        plan_fail_case(
            "rfc6455/5.4/close-fin-clear",
            "A Close with FIN clear (a fragmented control frame) fails the connection",
            control,
            (Part(Opcode.CLOSE, close_payload(close_code), fin=False),),
            allowed=close_allowed,
            notes=f"The fragmented Close carries code {close_code}: a Close {close_code} "
            "back is read as the server's reply to it (it processed the frame), so it "
            "is a FAIL, not a WARN for an unusual failure code.",
        ),
    ]


def _all() -> list[Case]:
    return [
        *_basic_cases(),
        *_empty_fragment_cases(),
        *_interleaved_control_cases(),
        _pong_deferral_case(),
        *_big_cases(),
        *_sequence_fail_cases(),
        *_control_fail_cases(),
    ]


CASES: list[Case] = _all()
