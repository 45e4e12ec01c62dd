"""Fragmentation cases (RFC 6455 §5.4; Autobahn|Testsuite section 5).

Each case is a *plan*: the frames a client sends, as data (:class:`Part`), and how
they are written to TCP (:class:`Chop`). Two factories turn plans into cases:

* :func:`echo_case`: a valid plan. The server must reassemble every fragmented message
  ("Clients and servers MUST support receiving both fragmented and unfragmented
  messages", §5.4), answer every Ping in the middle of one ("An endpoint MUST be
  capable of handling control frames in the middle of a fragmented message", §5.4),
  and echo each message whole; the expected echoes and Pongs are computed from the plan.
* :func:`fail_case`: a plan whose last frames break §5.4 (a continuation frame with
  no message in progress, a new data frame inside a fragmented message, a control
  frame with FIN clear). The server must _Fail the WebSocket Connection_ (§7.1.7),
  after echoing only the messages completed before the offending frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from ..model.codec import close_payload, encode_frame
from ..model.constants import Opcode, is_control_opcode
from ..model.frames import Frame
from ..model.outcomes import (
    AllOf,
    Behaviour,
    CloseFrame,
    Echoed,
    FailedConnection,
    Level,
    Not,
    Observed,
    Outcome,
    expect,
)
from ..policy import closing as closing_policy
from ..policy import limits as limit_policy
from ..policy.pingpong import LATEST_ONLY_NOTE, PONG_WAIT, PongsAnswered
from .base import Allowed, Case, CaseContext
from .wire import WireSession, client_frame, watch_echo, watch_failure

PROTOCOL_ERROR: Final = frozenset({1002})
"""§7.4.1: "1002 indicates that an endpoint is terminating the connection due to a
protocol error"."""

R_IN_ORDER: Final = "rfc6455-5.4-fragments-in-order"
"""Echoed whole and in order: what the server reassembled is what was sent (§5.4)."""

R_SENT_AS_FRAMES: Final = ("rfc6455-6.1-first-frame-opcode", "rfc6455-6.1-last-frame-fin")
"""The echo decodes as one message: its first frame has the type, its last FIN (§6.1)."""

FAIL_CITES: Final = (
    "rfc6455-10.7-validate-input",
    "rfc6455-7.1.7-server-fail-closes",
    "rfc6455-7.1.7-close-frame-before-fail",
    "rfc6455-7.1.7-stop-processing-after-fail",
)
"""Every fail case: input is validated (§10.7), a failing server closes (§7.1.7) and
SHOULD send a Close with an appropriate code first (§7.1.7)."""


@dataclass(frozen=True, slots=True)
class Part:
    """One frame of a plan: opcode, unmasked payload, FIN (masked at send time, §5.3)."""

    opcode: int
    payload: bytes = b""
    fin: bool = True

    def frame(self) -> Frame:
        return client_frame(self.opcode, self.payload, fin=self.fin)


class Chop(Enum):
    """How a plan is written to TCP; frame boundaries never depend on it (§5.4)."""

    WHOLE = ""  # every frame in one write
    FRAMES = "frame-writes"  # one write per frame
    BYTES = "byte-writes"  # one byte per write

    @property
    def describe(self) -> str:
        return {
            Chop.WHOLE: "",
            Chop.FRAMES: ", each frame in its own TCP write",
            Chop.BYTES: ", written one byte per TCP write",
        }[self]


Plan = tuple[Part, ...]


def split(data: bytes, count: int) -> list[bytes]:
    """``data`` cut into ``count`` pieces of near-equal size (some empty if too short)."""
    size, extra = divmod(len(data), count)
    pieces, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        pieces.append(data[start:end])
        start = end
    return pieces


def fragmented(opcode: int, pieces: Sequence[bytes]) -> Plan:
    """A fragmented message (§5.4): FIN clear and ``opcode`` on the first fragment,
    continuation frames after it, FIN set on the last."""
    last = len(pieces) - 1
    return tuple(
        Part(opcode if i == 0 else Opcode.CONTINUATION, piece, fin=i == last)
        for i, piece in enumerate(pieces)
    )


def expected_messages(plan: Iterable[Part]) -> tuple[tuple[int, bytes], ...]:
    """The messages a valid plan carries, reassembled from its fragments (§5.4)."""
    messages: list[tuple[int, bytes]] = []
    opcode, data = 0, b""
    for part in plan:
        if is_control_opcode(part.opcode):
            continue
        if part.opcode != Opcode.CONTINUATION:
            opcode, data = part.opcode, b""
        data += part.payload
        if part.fin:
            messages.append((opcode, data))
    return tuple(messages)


def expected_pongs(plan: Iterable[Part]) -> tuple[bytes, ...]:
    """The Pong payloads a valid plan calls for, in order (§5.5.2, §5.5.3)."""
    return tuple(part.payload for part in plan if part.opcode == Opcode.PING)


async def send_plan(session: WireSession, plan: Plan, chop: Chop = Chop.WHOLE) -> None:
    """Write ``plan`` as ``chop`` says, each frame freshly masked."""
    frames = [part.frame() for part in plan]
    if chop is Chop.FRAMES:
        for frame in frames:
            await session.send(frame)
    else:
        await session.send(*frames, chunk=1 if chop is Chop.BYTES else None)


async def send_raw(session: WireSession, plan: Plan, chop: Chop = Chop.WHOLE) -> None:
    """Write ``plan`` as raw bytes: a Close in it (FIN clear) is not a closing handshake
    the suite started, so a Close the server sends after it is not taken as a reply."""
    data = [encode_frame(part.frame()) for part in plan]
    if chop is Chop.FRAMES:
        for piece in data:
            await session.send(piece)
    else:
        await session.send(*data, chunk=1 if chop is Chop.BYTES else None)


def echo_case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    plan: Plan,
    *,
    chop: Chop = Chop.WHOLE,
    notes: str = "",
) -> Case:
    """A valid plan: every message echoed whole, every Ping answered, in order; a
    message over the size-limit floor may meet a server limit instead
    (:mod:`conformance.policy.limits`)."""

    pongs = expected_pongs(plan)

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        await send_plan(session, plan, chop)
        if pongs:  # before the barrier Ping: docs/verdict-policy.md, "Ping/Pong and timing"
            await session.await_pong(pongs[-1], PONG_WAIT)
        return await watch_echo(session)

    messages = expected_messages(plan)
    echoed: Behaviour = Echoed(messages)
    if pongs:  # each Ping answered, or only the latest of those read together (§5.5.3)
        echoed = AllOf((echoed, PongsAnswered(pongs)))
    allowed = limit_policy.for_messages(messages)
    return Case(
        id=case_id,
        title=title,
        requirements=(*requirements, R_IN_ORDER, *R_SENT_AS_FRAMES),
        level=Level.MUST,
        expect=expect(echoed),
        run=run,
        allowed=allowed,
        notes=limit_policy.with_note(notes, allowed),
    )


def failure_allowed(
    codes: frozenset[int], echoes: tuple[tuple[int, bytes], ...] = ()
) -> tuple[Allowed, ...]:
    """A failure with another code is a broken SHOULD (§7.1.7), reported as WARN; the
    failing-the-connection policy of :mod:`conformance.policy.closing`."""
    return closing_policy.failure_allowances(codes, echoes)


def fail_case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    plan: Plan,
    *,
    before: Plan = (),
    allowed: tuple[Allowed, ...] | None = None,
    notes: str = "",
) -> Case:
    """A plan ending in a §5.4 breach: the server must fail the connection (§7.1.7).

    ``before`` holds valid messages sent first; the barrier after them waits for their
    echoes, so a server that fails the connection at once is not blamed for an echo
    its application had not written yet.
    """
    echoes = expected_messages(before)

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx, prove_alive=True)
        if before:
            await send_plan(session, before)
            await session.settle()
        await send_raw(session, plan)
        return await watch_failure(session)

    return Case(
        id=case_id,
        title=title,
        requirements=(*requirements, *FAIL_CITES),
        level=Level.MUST,
        expect=expect(FailedConnection(PROTOCOL_ERROR, echoes)),
        run=run,
        allowed=failure_allowed(PROTOCOL_ERROR, echoes) if allowed is None else allowed,
        notes=notes,
    )


# -- the data ------------------------------------------------------------------------

TEXT_PAYLOAD: Final = b"Fragmented text, reassembled by the server and echoed whole: 0123456789."
BINARY_PAYLOAD: Final = bytes((i * 37 + 11) % 256 for i in range(80))
"""Binary data that is not UTF-8 (0x80-0xFF bytes out of order)."""

KINDS: Final = {"text": (Opcode.TEXT, TEXT_PAYLOAD), "binary": (Opcode.BINARY, BINARY_PAYLOAD)}
FRAGMENT_COUNTS: Final = (2, 3, 32)
BIG_MESSAGE: Final = 64 * 1024
BIG_FRAGMENT: Final = 1300

RECEIVE: Final = ("rfc6455-5.4-receive-fragmented", "rfc6455-5.4-fragmented-message")
PARSE: Final = ("rfc6455-6.2-parse-frames", "rfc6455-5.4-no-frame-boundaries")
CONTROL_MID: Final = (
    "rfc6455-5.4-control-mid-message",
    "rfc6455-5.4-control-interleave-may",
    "rfc6455-5.5.2-pong-reply",
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
                    echo_case(
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
        echo_case(
            f"rfc6455/5.4/{slug}",
            f"A text message with {what} is echoed whole",
            (*RECEIVE, "rfc6455-5.4-any-fragment-size"),
            fragmented(Opcode.TEXT, pieces),
        )
        for slug, (what, pieces) in plans.items()
    ]
    cases.append(
        echo_case(
            "rfc6455/5.4/binary-all-fragments-empty",
            "A binary message of only empty fragments is echoed as an empty message",
            (*RECEIVE, "rfc6455-5.4-any-fragment-size"),
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
        echo_case(
            "rfc6455/5.4/ping-between-fragments",
            "A Ping between two fragments is answered and the message echoed whole",
            (*RECEIVE, *CONTROL_MID),
            one_ping,
        ),
        echo_case(
            "rfc6455/5.4/ping-between-fragments-byte-writes",
            "A Ping between two fragments, written one byte per TCP write, is answered "
            "and the message echoed whole",
            (*RECEIVE, *CONTROL_MID, *PARSE),
            one_ping,
            chop=Chop.BYTES,
        ),
        echo_case(
            "rfc6455/5.4/pings-between-fragments",
            "Several Pings between fragments are answered in order (or, §5.5.3, the most "
            "recent one is) and the message echoed whole",
            (*RECEIVE, *CONTROL_MID),
            pings,
            notes=LATEST_ONLY_NOTE,
        ),
        echo_case(
            "rfc6455/5.4/pong-between-fragments",
            "An unsolicited Pong between two fragments is ignored and the message echoed whole",
            (*RECEIVE, "rfc6455-5.4-control-mid-message", "rfc6455-5.5.3-unsolicited-pong"),
            pong,
        ),
        echo_case(
            "rfc6455/5.4/two-fragmented-messages",
            "Two fragmented messages in a row are echoed whole, in order",
            (*RECEIVE, "rfc6455-6.2-new-message-after-fin"),
            fragmented(Opcode.TEXT, split(TEXT_PAYLOAD, 3))
            + fragmented(Opcode.BINARY, split(BINARY_PAYLOAD, 2)),
        ),
    ]


def _big_cases() -> list[Case]:
    payloads = {"text": (Opcode.TEXT, _big_text()), "binary": (Opcode.BINARY, bytes(BIG_MESSAGE))}
    cases = []
    for kind, (opcode, payload) in payloads.items():
        size = BIG_FRAGMENT
        pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
        cases.append(
            echo_case(
                f"rfc6455/5.4/{kind}-64k-in-1300-byte-fragments",
                f"A 64 KiB {kind} message sent in 1300-byte fragments is echoed whole",
                (*RECEIVE, "rfc6455-5.4-any-fragment-size"),
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
    interleave = ("rfc6455-5.4-no-interleaved-messages", "rfc6455-5.4-fragmented-message")
    orphan = ("rfc6455-5.4-fragmented-message", "rfc6455-6.2-new-message-after-fin")
    return [
        fail_case(
            "rfc6455/5.4/continuation-without-message",
            "A continuation frame (FIN set) with no message in progress fails the connection",
            orphan,
            (Part(Opcode.CONTINUATION, b"orphan continuation"),),
            notes=ORPHAN_NOTES,
        ),
        fail_case(
            "rfc6455/5.4/continuation-without-message-fin-clear",
            "A continuation frame (FIN clear) with no message in progress fails the connection",
            orphan,
            (Part(Opcode.CONTINUATION, b"orphan continuation", fin=False),),
            notes=ORPHAN_NOTES,
        ),
        fail_case(
            "rfc6455/5.4/continuation-after-message",
            "A continuation frame after a complete message fails the connection "
            "(the message before is echoed)",
            orphan,
            (Part(Opcode.CONTINUATION, b"continuation after FIN"),),
            before=(Part(*done),),
            notes=ORPHAN_NOTES,
        ),
        fail_case(
            "rfc6455/5.4/text-inside-fragmented-text",
            "A text frame inside a fragmented text message fails the connection",
            interleave,
            (Part(Opcode.TEXT, b"first fragment", fin=False), Part(Opcode.TEXT, b"new message")),
        ),
        fail_case(
            "rfc6455/5.4/binary-inside-fragmented-text",
            "A binary frame inside a fragmented text message fails the connection",
            interleave,
            (Part(Opcode.TEXT, b"first fragment", fin=False), Part(Opcode.BINARY, b"\x00\xff")),
        ),
        fail_case(
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
        "rfc6455-5.4-control-not-fragmented",
        "rfc6455-5.5-control-not-fragmented",
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
        fail_case(
            "rfc6455/5.4/ping-fin-clear",
            "A Ping with FIN clear (a fragmented control frame) fails the connection",
            control,
            (Part(Opcode.PING, b"fragmented ping", fin=False),),
            notes="A server that answers the Ping, or the barrier Ping after it, went on "
            "processing after the frame that had to fail the connection.",
        ),
        fail_case(
            "rfc6455/5.4/pong-fin-clear",
            "A Pong with FIN clear (a fragmented control frame) fails the connection",
            control,
            (Part(Opcode.PONG, b"fragmented pong", fin=False),),
        ),
        fail_case(
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
        *_big_cases(),
        *_sequence_fail_cases(),
        *_control_fail_cases(),
    ]


CASES: list[Case] = _all()
