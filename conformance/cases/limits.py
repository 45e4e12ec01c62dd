"""RFC 6455 §10.4 and §5.4, §6.2 at scale: big messages, many fragments, many messages.

Every case here is in the ``full`` profile (``wsconform run --profile full``): they
move up to 16 MiB each way, so they get a generous deadline: 30 s a case, the full
profile's default (``runner.FULL_PROFILE_TIMEOUT``; ``--timeout`` overrides it).

* single messages (§5.2, §6.2): text and binary of 64 KiB, 256 KiB, 1 MiB, 4 MiB and
  16 MiB, each one frame with a 64-bit length, echoed byte for byte;
* fragments (§5.4): a 4 MiB binary message in fragments of 64 B to 4 MiB;
* TCP chops (§6.2): a 1 MiB frame written 1000 bytes at a time;
* many messages (§6.2): 1000 round trips of 0 B to 4 KiB on one connection, in turn.

§10.4 leaves sizes to the implementation, so every case here takes the size-limit
policy (:mod:`conformance.policy.limits`, docs/verdict-policy.md "Size limits"): a
message over 4 KiB refused with a Close 1009 or 1008 of the server's own is
UNSUPPORTED, with the limit stated; refused another way (another code, or no Close) it
is WARN, as §7.1.7 and §10.7 say a Close "with an appropriate status code" SHOULD be
sent. A wrong echo is FAIL. The round trips (0 B to 4 KiB) are all at or under the
policy's floor, so a refusal there is FAIL.

Payloads are regenerated from (opcode, size, seed), never stored in the case table
(:func:`~conformance.model.payloads.pattern_payload`); the echo is compared byte for
byte. The suite reads while it writes (:meth:`~conformance.session.wire.WireSession.send`),
so a server that echoes fragments as they come, or refuses mid-message, never
deadlocks against it; memory stays bounded by the one message in flight each way.
"""

from __future__ import annotations

from collections.abc import Callable

from ..model import rules
from ..model.behaviours import EchoedPattern, expect
from ..model.constants import Opcode
from ..model.observed import Observed
from ..model.payloads import PayloadRecipe, pattern_payload
from ..model.verdict import Level
from ..policy import limits as limit_policy
from ..session.context import CaseContext
from ..session.wire import WireSession, client_frame
from .base import Case, RunFn

# Requirement ids only this module cites (records in spec_refs/rfc6455.toml); the ids
# that several case tables cite are named once in conformance/model/rules.py.
R_UNMASK = "rfc6455-6.2-server-unmask"

TEXT, BINARY = int(Opcode.TEXT), int(Opcode.BINARY)
KIB, MIB = 2**10, 2**20

MESSAGE_SIZES = (64 * KIB, 256 * KIB, 1 * MIB, 4 * MIB, 16 * MIB)
FRAGMENTED_SIZE = 4 * MIB
FRAGMENT_SIZES = (64, 256, 1 * KIB, 4 * KIB, 64 * KIB, 256 * KIB, 1 * MIB, 4 * MIB)
CHOPPED_SIZE = 1 * MIB
CHOP = 1000  # bytes a write: never a divisor of a frame or header boundary
ROUND_TRIPS = 1000
ROUND_TRIP_SIZES = tuple(sorted({0, 1, 125, 126, 127, 128, 4095, 4096, *range(0, 4097, 64)}))
"""Sizes 0 B to 4 KiB, every length-form edge included (§5.2), taken in turn."""

TIMEOUT_NOTE = (
    "Full profile: moves up to 16 MiB each way; its default deadline is 30 s a case "
    "(5 s suits a fast local server only)."
)


def _size_text(size: int) -> str:
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} B"


def _slug(size: int) -> str:
    return _size_text(size).replace(" ", "").lower()


def _kind(opcode: int) -> str:
    return {TEXT: "text", BINARY: "binary"}[opcode]


# --------------------------------------------------------------------------- runners


def _received(count: int) -> Callable[[WireSession], bool]:
    """Done once ``count`` messages came back, or the server sent its Close."""
    return lambda s: len(s.observed.messages) >= count or s.observed.close is not None


def echo_frames(recipe: PayloadRecipe, fragment: int | None, chunk: int | None) -> RunFn:
    """Send one message as ``fragment``-byte frames (one frame if None), ``chunk``
    bytes a write, and compare its echo (then close, as every case does)."""
    opcode, size, seed = recipe

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        payload = pattern_payload(opcode, size, seed)
        step = fragment or max(size, 1)
        starts = range(0, max(size, 1), step)
        frames = [
            client_frame(
                opcode if start == 0 else Opcode.CONTINUATION,
                payload[start : start + step],
                fin=start + step >= size,
            )
            for start in starts
        ]
        del payload
        await session.send_raw(*frames, chunk=chunk)
        del frames
        await session.until(_received(1))
        await session.close()
        return session.finish()

    return run


def round_trips(recipes: tuple[PayloadRecipe, ...]) -> RunFn:
    """One message at a time: send, wait for its echo, then the next."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        for count, (opcode, size, seed) in enumerate(recipes, start=1):
            await session.send(client_frame(opcode, pattern_payload(opcode, size, seed)))
            received = await session.until(_received(count))
            if not received or session.observed.close is not None:
                break
        await session.close()
        return session.finish()

    return run


# --------------------------------------------------------------------------- cases


def single_message_case(opcode: int, size: int) -> Case:
    recipe = (opcode, size, size)
    what = f"a {_size_text(size)} {_kind(opcode)} message"
    return Case(
        id=f"rfc6455/10.4/{_kind(opcode)}-{_slug(size)}",
        title=f"{what[0].upper()}{what[1:]} in one frame is echoed unchanged",
        requirements=(
            rules.PAYLOAD_LENGTH_FIELD,
            rules.PARSE_FRAMES,
            R_UNMASK,
            rules.PROTECT_AGAINST_LIMITS,
        ),
        level=Level.MUST,
        expect=expect(EchoedPattern((recipe,))),
        run=echo_frames(recipe, None, None),
        allowed=limit_policy.for_recipes((recipe,)),
        notes=f"{TIMEOUT_NOTE} {limit_policy.NOTE}",
        profile="full",
    )


def fragmented_case(fragment: int) -> Case:
    recipe = (BINARY, FRAGMENTED_SIZE, fragment)
    count = FRAGMENTED_SIZE // fragment
    frames = f"{count} fragments of {_size_text(fragment)}"
    if count == 1:
        frames = "one frame"
    return Case(
        id=f"rfc6455/10.4/binary-4mib-in-{_slug(fragment)}-fragments",
        title=f"A 4 MiB binary message in {frames} is echoed unchanged",
        requirements=(
            rules.RECEIVE_FRAGMENTED,
            rules.ANY_FRAGMENT_SIZE,
            rules.PARSE_FRAMES,
            rules.PROTECT_AGAINST_LIMITS,
        ),
        level=Level.MUST,
        expect=expect(EchoedPattern((recipe,))),
        run=echo_frames(recipe, fragment, None),
        allowed=limit_policy.for_recipes((recipe,)),
        notes=f"{TIMEOUT_NOTE} {limit_policy.NOTE}",
        profile="full",
    )


def chopped_case() -> Case:
    recipe = (BINARY, CHOPPED_SIZE, CHOP)
    return Case(
        id="rfc6455/10.4/binary-1mib-in-1000-byte-writes",
        title="A 1 MiB binary frame written 1000 bytes at a time is echoed unchanged",
        requirements=(rules.PARSE_FRAMES, R_UNMASK, rules.PROTECT_AGAINST_LIMITS),
        level=Level.MUST,
        expect=expect(EchoedPattern((recipe,))),
        run=echo_frames(recipe, None, CHOP),
        allowed=limit_policy.for_recipes((recipe,)),
        notes=f"{TIMEOUT_NOTE} {limit_policy.NOTE}",
        profile="full",
    )


def round_trip_case() -> Case:
    recipes = tuple(
        (TEXT if i % 2 == 0 else BINARY, ROUND_TRIP_SIZES[i % len(ROUND_TRIP_SIZES)], i)
        for i in range(ROUND_TRIPS)
    )
    return Case(
        id="rfc6455/10.4/1000-round-trips",
        title="1000 messages of 0 B to 4 KiB, sent one at a time, are each echoed unchanged",
        requirements=(
            rules.NEW_MESSAGE_AFTER_FIN,
            rules.PARSE_FRAMES,
            rules.PROTECT_AGAINST_LIMITS,
        ),
        level=Level.MUST,
        expect=expect(EchoedPattern(recipes)),
        run=round_trips(recipes),
        allowed=limit_policy.for_recipes(recipes),  # none: every size is under the floor
        notes="Text and binary in turn; sizes cycle through 0 B to 4 KiB, none over the "
        "size-limit policy's floor (4 KiB, docs/verdict-policy.md 'Size limits'): a refusal "
        "is FAIL. " + TIMEOUT_NOTE,
        profile="full",
    )


CASES: list[Case] = [
    *(single_message_case(opcode, size) for opcode in (TEXT, BINARY) for size in MESSAGE_SIZES),
    *(fragmented_case(fragment) for fragment in FRAGMENT_SIZES),
    chopped_case(),
    round_trip_case(),
]
