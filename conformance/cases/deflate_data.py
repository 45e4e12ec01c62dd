"""Compressed round trips (RFC 7692 §6.2, §7.2; Autobahn|Testsuite 12.x, 13.x and what they miss).

Every case here offers permessage-deflate, sends compressed messages (pipelined: all of them,
then one barrier) and expects each echoed byte for byte. The session inflates every
compressed reply with the strict inflater under the agreed server window and context rule
(:mod:`conformance.session.deflate`), so a reply that breaks §7.2.1 is a violation that
reaches the verdict even when its bytes inflate to the right text. A server that declines
the offer is UNSUPPORTED (:data:`conformance.policy.deflate.DECLINED_UNSUPPORTED`).

* Autobahn 12: the five payload kinds (:mod:`conformance.model.deflate.payloads`) over the
  eighteen size rows, context taken over (the bare offer: Autobahn always offers
  ``client_no_context_takeover``, so it never tests the server's kept inflate window).
* Autobahn 13: the seven offer sets, each with the size rows, a window probe for the agreed
  server window and a context probe (two identical messages).
* What they never send: a back-reference into the previous message (§7.2.2), one farther
  than 2**14 when ``client_max_window_bits`` was not offered, an uncompressed message between
  compressed ones (§7.2.3.2), control frames before and inside a compressed message, a
  payload split at every byte (§7.2.1), the empty final fragment and the empty message
  (§7.2.3.6), and the §7.2.3 examples.

The default profile sends every row once (a few seconds against the reference server); the
``full`` profile has one case a row, with Autobahn's 1000 messages. Echoes equal to what was
sent cost no memory (:meth:`~conformance.session.wire.WireSession.expect_echoes`), and the
suite's deflate and strict inflate work on repeated messages is looked up, not redone
(:mod:`conformance.model.deflate.memo`), so a case's time is the server's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from ..model import rules
from ..model.behaviours import AllOf, Behaviour, Echoed, expect
from ..model.constants import Opcode
from ..model.deflate import examples
from ..model.deflate.compressor import MessageCompressor, stored_block, two_blocks
from ..model.deflate.offers import AUTOBAHN_13_OFFERS, VALID_OFFERS, Offer
from ..model.deflate.params import MAX_WINDOW_BITS, MIN_WINDOW_BITS, WindowRule
from ..model.deflate.payloads import (
    AUTOBAHN_12_KINDS,
    AUTOBAHN_12_SIZES,
    Kind,
    SizeRow,
    payload,
    window_probe,
)
from ..model.deflate.probes import random_block
from ..model.deflate.requirements import (
    PMD_AGREED_APPLY,
    PMD_EMPTY_BLOCK_TAIL,
    PMD_INFLATE,
    PMD_SERVER_NO_CONTEXT,
    PMD_SERVER_WINDOW,
)
from ..model.frames import Frame
from ..model.observed import Observed
from ..model.verdict import Allowed, Level, Outcome
from ..policy import limits as limit_policy
from ..policy.deflate import (
    DECLINED_UNSUPPORTED,
    REFUSED_VALID_OFFER,
    DeflateEchoed,
    echo_uncompressed,
)
from ..policy.pingpong import PONG_WAIT, PongsAnswered
from ..session.deflate import DEFAULT_OFFERS, DeflateSession, deflate_case_run
from ..session.wire import client_frame, watch_echo
from .base import Case

# -- requirement ids -------------------------------------------------------------------

R_RECEIVE: Final = (
    "rfc7692-6.2-compressed-receive-algorithm",
    "rfc7692-6.2-decompress-concatenation",
    "rfc7692-7.2.2-append-tail",
    PMD_INFLATE,
)
"""The server inflates what it receives (§6.2, §7.2.2 steps 1-2)."""
R_FRAGMENTS: Final = ("rfc7692-6.2-concatenate-payloads", "rfc7692-7.2.1-fragment-by-splitting")
R_KEEP_CONTEXT: Final = "rfc7692-7.2.2-server-keep-context"
R_32K: Final = "rfc7692-7.2.2-server-32k-window"
R_UNCOMPRESSED: Final = (
    "rfc7692-6.2-uncompressed-receive-algorithm",
    "rfc7692-6.2-uncompressed-as-is",
    "rfc7692-7.2.3.2-uncompressed-keep-window",
)
R_DATA_ONLY: Final = "rfc7692-6-data-messages-only"

DEFAULT_PER_ROW: Final = 1
"""Messages a size row sends in the default profile (every row of every kind, once)."""
FULL_PER_ROW: Final = 1000
"""Autobahn 12/13 send 1000 messages a row (``case12_x_x.py``)."""
SEEDS: Final = 4
"""Distinct payloads a case cycles through: consecutive messages differ, memory stays small."""
FULL_DEADLINE_BYTES: Final = 32 * 2**20
"""A full-profile row gets one deadline for each 32 MiB it sends (Case.timeout_scale): the
1000 messages of a 128 KiB row, 128 MiB each way, get four."""
SEND_BATCH: Final = 2**20
"""Payload bytes of the suite's messages encoded and written at a time (memory stays small)."""

LIMIT_NOTE: Final = (
    "Only a refusal with 1009 or 1008 reads as a size limit here: a compressed message "
    "refused with 1007 (or by a TCP close) was read as invalid data, the case's failure."
)

# -- what a case sends ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """One message: compressed by the session (its context, §7.2.1) or not (§6.2), the
    compressed payload split every ``fragment`` bytes; ``ping`` goes after its first frame."""

    opcode: int
    data: bytes
    compress: bool = True
    fragment: int | None = None
    ping: bytes | None = None


@dataclass(frozen=True, slots=True)
class Crafted:
    """One message as crafted compressed fragments (RSV1 on the first), inflating to ``data``.

    A crafted payload references nothing before its own start, so it is valid whatever the
    server's window holds; it must come after every :class:`Send` of a case (the session's
    compressor does not know the server's window now holds ``data``).
    """

    opcode: int
    payloads: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class Control:
    """A Ping or an unsolicited Pong between messages."""

    opcode: int
    payload: bytes


Step = Send | Crafted | Control


def _batches(session: DeflateSession, steps: Sequence[Step]) -> Iterator[list[Frame]]:
    """The steps' frames, about :data:`SEND_BATCH` bytes of payload at a time."""
    frames: list[Frame] = []
    size = 0
    for step in steps:
        if size >= SEND_BATCH:
            yield frames
            frames, size = [], 0
        size += _size(step)
        frames += _frames(session, (step,))
    yield frames


def _size(step: Step) -> int:
    if isinstance(step, Crafted):
        return sum(len(p) for p in step.payloads)
    return len(step.payload if isinstance(step, Control) else step.data)


def _frames(session: DeflateSession, steps: Sequence[Step]) -> list[Frame]:
    frames: list[Frame] = []
    for step in steps:
        if isinstance(step, Control):
            frames.append(client_frame(step.opcode, step.payload))
        elif isinstance(step, Crafted):
            frames += session.frames(step.opcode, step.payloads)
        else:
            message = session.message(
                step.opcode, step.data, compress=step.compress, fragment=step.fragment
            )
            if step.ping is not None:
                message.insert(1, client_frame(Opcode.PING, step.ping))
            frames += message
    return frames


def _check_order(steps: Sequence[Step]) -> None:
    """No session-compressed message after a crafted one (see :class:`Crafted`)."""
    crafted = False
    for step in steps:
        crafted = crafted or isinstance(step, Crafted)
        if crafted and isinstance(step, Send) and step.compress:
            raise ValueError("a compressed Send after a Crafted message cannot be inflated")


def _echoes(steps: Sequence[Step]) -> tuple[tuple[int, bytes], ...]:
    return tuple((s.opcode, s.data) for s in steps if not isinstance(s, Control))


def _pings(steps: Sequence[Step]) -> tuple[bytes, ...]:
    pings = [s.payload for s in steps if isinstance(s, Control) and s.opcode == Opcode.PING]
    pings += [s.ping for s in steps if isinstance(s, Send) and s.ping is not None]
    return tuple(pings)


UNSOLICITED_ANSWERED: Final = (
    "the server answered the unsolicited Pong with a Pong: RFC 6455 §5.5.3 expects no "
    "response, but lets an endpoint send unsolicited Pongs"
)


def echo_case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    steps: Callable[[], Sequence[Step]],
    *,
    offers: Sequence[Offer] = DEFAULT_OFFERS,
    notes: str = "",
    profile: str = "default",
    compressed: bool = False,
    allowed: tuple[Allowed, ...] = (),
    timeout_scale: int = 1,
) -> Case:
    """Every message echoed unchanged and in order, every Ping answered (§6.2, §7.2.2);
    the compressed replies obey the agreed rule (the session's strict inflater, §7.2.1).

    ``compressed``: the case judges the server's compressor, so every echo must come
    compressed; an uncompressed one is INFO (§6 allows it; ``policy.deflate.echo_uncompressed``).
    ``steps`` is called once to describe the case and once a run (payloads are cached).
    """
    described = tuple(steps())
    _check_order(described)
    echoes, pings = _echoes(described), _pings(described)

    async def body(session: DeflateSession) -> Observed:
        session.wire.expect_echoes(data for _, data in echoes)
        for frames in _batches(session, steps()):  # pipelined: no wait between batches
            if not await session.send(*frames):
                break
        if pings:  # before the barrier: docs/verdict-policy.md, "Ping/Pong and timing"
            await session.wire.await_pong(pings[-1], PONG_WAIT)
        await watch_echo(session.wire)
        return session.finish()

    echoed: Behaviour = DeflateEchoed(tuple(offers), echoes) if compressed else Echoed(echoes)
    unsolicited = tuple(
        s.payload for s in described if isinstance(s, Control) and s.opcode == Opcode.PONG
    )
    if unsolicited:  # as rfc6455/5.5.3/pong-unsolicited: a Pong answered is INFO
        answered = AllOf((echoed, PongsAnswered((*unsolicited, *pings))))
        allowed = (*allowed, Allowed(answered, Outcome.INFO, UNSOLICITED_ANSWERED))
    if pings:
        echoed = AllOf((echoed, PongsAnswered(pings)))
    limits = tuple(  # a limit is a 1009/1008 refusal here: a 1007 says the data was bad
        a for a in limit_policy.for_messages(echoes) if a.outcome is Outcome.UNSUPPORTED
    )
    if compressed:
        allowed = (*allowed, echo_uncompressed(offers, echoes))
    return Case(
        id=case_id,
        title=title,
        requirements=(*requirements, PMD_AGREED_APPLY),
        level=Level.MUST,
        expect=expect(echoed),
        run=deflate_case_run(body, offers),
        allowed=(DECLINED_UNSUPPORTED, REFUSED_VALID_OFFER, *allowed, *limits),
        notes=limit_policy.with_note(f"{notes} {LIMIT_NOTE}".strip() if limits else notes, limits),
        profile=profile,
        timeout_scale=timeout_scale,
    )


# -- Autobahn 12 and 13: the size table ----------------------------------------------


def _row_steps(kind: Kind, rows: Sequence[SizeRow], per_row: int) -> Callable[[], list[Step]]:
    def steps() -> list[Step]:
        out: list[Step] = []
        for row in rows:
            sends = [
                Send(kind.opcode, payload(kind, row.size, seed), fragment=row.fragment or None)
                for seed in range(min(per_row, SEEDS))
            ]
            out += [sends[i % len(sends)] for i in range(per_row)]
        return out

    return steps


def _row_requirements(rows: Sequence[SizeRow]) -> tuple[str, ...]:
    fragmented = any(row.fragment for row in rows)
    return (*R_RECEIVE, *(R_FRAGMENTS if fragmented else ()), R_KEEP_CONTEXT, R_32K)


def _deadlines(row: SizeRow) -> int:
    """How many case deadlines a full-profile row gets (:data:`FULL_DEADLINE_BYTES`)."""
    return max(1, -(-row.size * FULL_PER_ROW // FULL_DEADLINE_BYTES))


ROWS_TEXT: Final = "16 B to 128 KiB, whole and split every 256 B to 32 KiB"


def _autobahn_12_cases() -> list[Case]:
    cases: list[Case] = []
    for number, kind in AUTOBAHN_12_KINDS.items():
        what = f"compressed {kind.value} {'text' if kind.opcode == Opcode.TEXT else 'binary'}"
        cases.append(
            echo_case(
                f"rfc7692/7.2.2/roundtrip-{kind.value}",
                f"A {what} message of each size ({ROWS_TEXT}) is inflated and echoed unchanged",
                _row_requirements(AUTOBAHN_12_SIZES),
                _row_steps(kind, AUTOBAHN_12_SIZES, DEFAULT_PER_ROW),
                notes=f"Autobahn|Testsuite {number}.1-{number}.18, one message a row.",
            )
        )
        for index, row in enumerate(AUTOBAHN_12_SIZES, start=1):
            count = FULL_PER_ROW
            cases.append(
                echo_case(
                    f"rfc7692/7.2.2/roundtrip-{kind.value}-{row.slug}",
                    f"{count} {what} messages of {row.slug} are inflated and echoed unchanged",
                    _row_requirements((row,)),
                    _row_steps(kind, (row,), count),
                    notes=f"Autobahn|Testsuite {number}.{index}.",
                    profile="full",
                    timeout_scale=_deadlines(row),
                )
            )
    return cases


CONTEXT_PROBE: Final = random_block(128, seed=11)
"""Sent as two messages: within even an 8-bit window, a compressor keeping its context under
``server_no_context_takeover`` references the first copy from the second (§7.2.1)."""


def _probe_steps() -> list[Step]:
    """A window probe for every window below 32 KB (whichever the server agreed, a reply
    compressed with a bigger one references beyond it), then the context probe."""
    probes: list[Step] = [
        Send(Opcode.BINARY, window_probe(bits, seed=bits))
        for bits in range(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
    ]
    return [*probes, Send(Opcode.BINARY, CONTEXT_PROBE), Send(Opcode.BINARY, CONTEXT_PROBE)]


def _autobahn_13_cases() -> list[Case]:
    cases: list[Case] = []
    kind = Kind.JSON
    for number, offers in AUTOBAHN_13_OFFERS.items():
        offered = ", ".join(offer.render() for offer in offers)
        rows = _row_steps(kind, AUTOBAHN_12_SIZES, DEFAULT_PER_ROW)

        def steps(rows: Callable[[], list[Step]] = rows) -> list[Step]:
            return [*rows(), *_probe_steps()]

        reqs = (*_row_requirements(AUTOBAHN_12_SIZES), PMD_SERVER_WINDOW, PMD_SERVER_NO_CONTEXT)
        slug = number.replace(".", "-")
        cases.append(
            echo_case(
                f"rfc7692/7.2.1/autobahn-{slug}",
                f"Offered {offered}: compressed messages ({ROWS_TEXT}) are echoed, the "
                "replies within the agreed window and context rule",
                reqs,
                steps,
                offers=offers,
                compressed=True,
                notes=(
                    f"Autobahn|Testsuite {number}.1-{number}.18, one message a row, then a "
                    "window probe for each window of 8 to 14 bits and a context probe, which "
                    "the strict inflater checks against the agreed parameters."
                ),
            )
        )
        for index, row in enumerate(AUTOBAHN_12_SIZES, start=1):
            count = FULL_PER_ROW
            cases.append(
                echo_case(
                    f"rfc7692/7.2.1/autobahn-{slug}-{row.slug}",
                    f"Offered {offered}: {count} compressed messages of {row.slug} are echoed "
                    "within the agreed window and context rule",
                    reqs,
                    _row_steps(kind, (row,), count),
                    offers=offers,
                    compressed=True,
                    notes=f"Autobahn|Testsuite {number}.{index}.",
                    profile="full",
                    timeout_scale=_deadlines(row),
                )
            )
    return cases


# -- what Autobahn never sends --------------------------------------------------------

HELLO_TEXT: Final = b"Hello, compressed world! " * 4
CONTEXT_BLOCK: Final = random_block(2048, seed=7)
"""Random, so the second copy compresses only as one back-reference into the first."""
FAR_BLOCK: Final = random_block(20_000, seed=9)
"""Sent twice: the second copy references the first at 20,000 bytes (beyond 2**14)."""
SPLIT_FIRST: Final = b"Split anywhere: "
SPLIT_SECOND: Final = b"the receiver concatenates the fragments first."
PING_DATA: Final = b"ping inside"


def _split_everywhere() -> list[Step]:
    """The two-block payload (an inner 00 00 ff ff) cut in two at every byte (§7.2.1)."""
    data = SPLIT_FIRST + SPLIT_SECOND
    compressed = two_blocks(SPLIT_FIRST, SPLIT_SECOND)
    steps: list[Step] = [
        Crafted(Opcode.TEXT, (compressed[:cut], compressed[cut:]), data)
        for cut in range(1, len(compressed))
    ]
    steps.append(Crafted(Opcode.TEXT, tuple(bytes([b]) for b in compressed), data))
    return steps


def _empty_final_fragment() -> tuple[bytes, bytes]:
    """§7.2.3.6: data in a non-final fragment flushed with its tail kept, then ``00``."""
    compressor = MessageCompressor(WindowRule())
    return compressor.compress_fragment(examples.HELLO), examples.EMPTY_FRAGMENT


def _extra_cases() -> list[Case]:
    text, binary = Opcode.TEXT, Opcode.BINARY
    no_cmwb = (VALID_OFFERS["bare"],)
    return [
        echo_case(
            "rfc7692/7.2.2/client-context-takeover",
            "Without client_no_context_takeover, a message back-referencing the previous "
            "one is inflated with the kept window and echoed",
            (R_KEEP_CONTEXT, *R_RECEIVE, "rfc7692-7.2.3.2-hello-context-takeover"),
            lambda: [Send(binary, CONTEXT_BLOCK), Send(binary, CONTEXT_BLOCK)],
            notes="Autobahn always offers client_no_context_takeover and never tests this.",
        ),
        echo_case(
            "rfc7692/7.2.2/32k-window-without-cmwb",
            "Without client_max_window_bits, back-references up to 32,768 bytes within and "
            "across messages are inflated and echoed",
            (R_32K, "rfc7692-7.1.2.2-cmwb-absent-32k", R_KEEP_CONTEXT, *R_RECEIVE),
            lambda: [
                Send(binary, window_probe(MAX_WINDOW_BITS)),
                Send(binary, FAR_BLOCK),
                Send(binary, FAR_BLOCK),
            ],
            offers=no_cmwb,
            notes="The offer omits client_max_window_bits, which Autobahn always sends.",
        ),
        echo_case(
            "rfc7692/7.2.3.2/uncompressed-between-compressed",
            "An uncompressed message between compressed ones is taken as is and leaves the "
            "window unchanged",
            (*R_UNCOMPRESSED, "rfc7692-6-uncompressed-message", R_KEEP_CONTEXT),
            lambda: [
                Send(text, HELLO_TEXT),
                Send(text, b"plain, RSV1 clear", compress=False),
                Send(text, HELLO_TEXT),
                Send(binary, CONTEXT_BLOCK, compress=False),
                Send(binary, CONTEXT_BLOCK),
            ],
        ),
        echo_case(
            "rfc7692/6/control-before-first-compressed",
            "An unsolicited Pong and a Ping before the first compressed message change "
            "nothing: the Ping is answered, the message echoed",
            (R_DATA_ONLY, rules.UNSOLICITED_PONG, rules.PONG_REPLY, *R_RECEIVE),
            lambda: [
                Control(Opcode.PONG, b"unsolicited"),
                Control(Opcode.PING, b"before"),
                Send(text, HELLO_TEXT),
            ],
        ),
        echo_case(
            "rfc7692/6/ping-inside-compressed-message",
            "A Ping between the fragments of a compressed message is answered and the "
            "message echoed",
            (R_DATA_ONLY, rules.CONTROL_MID_MESSAGE, rules.PONG_REPLY, *R_FRAGMENTS, *R_RECEIVE),
            lambda: [Send(text, payload(Kind.PROSE, 2048), fragment=64, ping=PING_DATA)],
        ),
        echo_case(
            "rfc7692/7.2.1/split-at-every-byte",
            "A compressed payload split into two fragments at any byte, inside its "
            "00 00 ff ff too, or into one-byte fragments, is echoed",
            (*R_FRAGMENTS, "rfc7692-7.2.1-non-final-keep-tail", *R_RECEIVE),
            _split_everywhere,
        ),
        echo_case(
            "rfc7692/7.2.3.6/empty-final-fragment",
            "A final fragment carrying only 0x00 ends a compressed message",
            ("rfc7692-7.2.3.6-empty-final-fragment", *R_FRAGMENTS, *R_RECEIVE),
            lambda: [Crafted(text, _empty_final_fragment(), examples.HELLO)],
        ),
        echo_case(
            "rfc7692/7.2.3.6/empty-message",
            "A compressed empty message (payload 0x00) is echoed as an empty message",
            ("rfc7692-7.2.3.6-empty-final-fragment", *R_RECEIVE),
            lambda: [
                Crafted(text, (examples.EMPTY_FRAGMENT,), b""),
                Crafted(binary, (examples.EMPTY_FRAGMENT,), b""),
            ],
            notes=EMPTY_REPLY_NOTE,
            allowed=(EMPTY_REPLY_ALLOWED,),
        ),
        *_example_cases(),
    ]


EMPTY_REPLY_NOTE: Final = (
    "A reply with an empty compressed payload (no DEFLATE block at all) is flagged by the "
    "strict inflater (rfc7692-7.2.1-append-empty-block). §7.2.1 introduces its algorithm "
    "without a key word ('An endpoint uses the following algorithm'), and the receiver's "
    "appended 00 00 ff ff alone is a valid empty block, so the suite reads the missing "
    "block as a SHOULD: WARN, not FAIL (docs/verdict-policy.md, RFC 7692)."
)


@dataclass(frozen=True, slots=True)
class EchoedWithoutEmptyBlock:
    """Echoed, but an empty reply came as an empty compressed payload, no DEFLATE block
    (rfc7692-7.2.1-append-empty-block the only rule broken). The session drops a reply that
    does not inflate, so the empty echoes may be missing from what was observed."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    messages: tuple[tuple[int, bytes], ...]

    def describe(self) -> str:
        return "the messages echoed, an empty one as a payload with no DEFLATE block"

    def matches(self, observed: Observed) -> bool:
        violations = observed.violations
        if not violations or any(v.requirement != PMD_EMPTY_BLOCK_TAIL for v in violations):
            return False
        kept = [message for message in self.messages if message[1]]
        return observed.messages in (list(self.messages), kept)


EMPTY_REPLY_ALLOWED: Final = Allowed(
    EchoedWithoutEmptyBlock(((Opcode.TEXT, b""), (Opcode.BINARY, b""))),
    Outcome.WARN,
    "an empty compressed payload with no DEFLATE block: §7.2.1 step 2 appends an empty "
    "block, an algorithm introduced without a key word; the receiver's 00 00 ff ff makes "
    "it inflate anyway",
)


def _constant(steps: list[Step]) -> Callable[[], list[Step]]:
    return lambda: steps


def _example_cases() -> list[Case]:
    text = Opcode.TEXT
    hello = examples.HELLO
    table: list[tuple[str, str, str, list[Step]]] = [
        (
            "7.2.3.1/hello-one-block",
            "The §7.2.3.1 payload f2 48 cd c9 c9 07 00 is inflated to 'Hello'",
            "rfc7692-7.2.3.1-hello-one-block",
            [Crafted(text, (examples.ONE_BLOCK,), hello)],
        ),
        (
            "7.2.3.1/hello-fragmented",
            "The §7.2.3.1 payload in fragments of 3 and 4 octets is inflated to 'Hello'",
            "rfc7692-7.2.3.1-hello-fragmented",
            [Crafted(text, examples.ONE_BLOCK_FRAGMENTS, hello)],
        ),
        (
            "7.2.3.2/hello-context-takeover",
            "The §7.2.3.2 second 'Hello' (f2 00 11 00 00), referencing the first, is inflated",
            "rfc7692-7.2.3.2-hello-context-takeover",
            [
                Crafted(text, (examples.ONE_BLOCK,), hello),
                Crafted(text, (examples.SHARED_WINDOW_SECOND,), hello),
            ],
        ),
        (
            "7.2.3.3/stored-block",
            "The §7.2.3.3 stored block (no compression) is inflated to 'Hello'",
            "rfc7692-7.2.3.3-stored-block",
            [
                Crafted(text, (examples.STORED,), hello),
                Crafted(Opcode.BINARY, (stored_block(CONTEXT_BLOCK),), CONTEXT_BLOCK),
            ],
        ),
        (
            "7.2.3.4/bfinal-block",
            "The §7.2.3.4 block with BFINAL set, then 0x00, is inflated to 'Hello', and the "
            "next message too",
            "rfc7692-7.2.3.4-bfinal-block",
            [  # a decoder left at its stream's end after BFINAL loses every later message
                Crafted(text, (examples.BFINAL,), hello),
                Crafted(text, (examples.ONE_BLOCK,), hello),
            ],
        ),
        (
            "7.2.3.5/two-blocks",
            "The §7.2.3.5 two blocks ('He', an empty stored block, 'llo') are inflated to 'Hello'",
            "rfc7692-7.2.3.5-two-blocks",
            [Crafted(text, (examples.TWO_BLOCKS,), hello)],
        ),
    ]
    return [
        echo_case(
            f"rfc7692/{slug}",
            title,
            (requirement, *R_RECEIVE),
            _constant(steps),
            notes="The RFC's own example bytes (examples.py).",
        )
        for slug, title, requirement, steps in table
    ]


CASES: Final[tuple[Case, ...]] = (
    *_autobahn_12_cases(),
    *_autobahn_13_cases(),
    *_extra_cases(),
)
