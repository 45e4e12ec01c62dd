"""Security checks, theme "limits": size limits and bombs (RFC 6455 §10.4, §5.2, §7.4.1;
RFC 7692 §6.2).

§10.4: an implementation with limits "MUST protect themselves against exceeding those
limits" and "SHOULD impose a limit on frame sizes and the total message size after
reassembly", naming "a single big frame (e.g., of size 2**60)" and "a long stream of
small frames". No size is required, so each check is WARN when nothing stops the probe
(a broken SHOULD), FAIL when the user stated ``--max-message-size`` and the probe went
past it ("policy you stated"), and FAIL regardless for the §5.2 MUST on a 64-bit
length's most significant bit. A check passes when the server ends the connection (a
Close with any code, or TCP, §10.7 "MAY drop the TCP connection") and echoed nothing;
after a TCP close without a Close a new connection must still succeed (a crash is not
a limit). The close code itself is judged once, by ``close-code``.

Every probe is bounded: at most :data:`MAX_PROBE_BYTES` of payload and one connection
a check; the waits are named constants of a few seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Final

from ...driver import Unreachable
from ...model import rules
from ...model.behaviours import EchoedPattern, expect
from ...model.codec import encode_frame
from ...model.constants import Opcode
from ...model.deflate.negotiation import read_response
from ...model.deflate.offers import VALID_OFFERS, offer_header
from ...model.deflate.params import EXTENSIONS_HEADER
from ...model.frames import Frame, LengthForm
from ...model.observed import HttpResponse, Observed, TransportEnd
from ...model.payloads import pattern_payload
from ...model.security_limits import (
    BYTES_SENT,
    FRAGMENTS_SENT,
    LIMIT_CODES,
    SECONDS_TO_END,
    SERVER_DOWN,
    DroppedWithoutClose,
    EchoMeter,
    LimitEnforced,
    LimitNotReached,
    bomb_payload,
)
from ...model.verdict import Allowed, Level, Outcome
from ...policy.deflate import DeflateDeclined
from ...policy.security import STATED, SecurityPolicy
from ...session.context import CannotRun, CaseContext
from ...session.deflate import DECLINED_NOTE
from ...session.wire import WireSession, client_frame
from ..base import Case, RunFn

THEME: Final = "limits"

R_1009: Final = "rfc6455-7.4.1-code-1009-too-big"

BINARY: Final = int(Opcode.BINARY)
KIB, MIB = 2**10, 2**20

END_BOUND: Final = 2.0
"""Seconds the server gets, once a probe is written, to end the connection."""
HUGE_LENGTH: Final = 2**62
"""The length a frame header announces (§10.4 names "a single big frame (e.g., of size 2**60)")."""
HUGE_SENT: Final = 16
"""Payload bytes written after that header, then nothing."""
MSB_PAYLOAD: Final = 2**16
"""The continuation's real payload size; its 64-bit length says 2**63 + 65536 (the
gorilla CVE-2020-27813 shape). 64 KiB is the least a 64-bit length may encode (§5.2
minimal form), so a server that merely drops the MSB reads a valid frame and shows it."""
FRAGMENTS: Final = 100_000
"""Continuations of one unfinished message (issue #15; ws CVE-2026-48779)."""
FRAGMENTS_PER_WRITE: Final = 1_000
"""Frames a write: the probe stops at the first write after the server ended it."""
UNSTATED_SIZE: Final = MIB
"""Message size probed when no limit is stated: one byte more is sent."""
MAX_FRAGMENT: Final = 64 * KIB
"""Largest fragment of the reassembled-size probe (each is also under the limit)."""
MAX_PROBE_BYTES: Final = 64 * MIB
"""The most a probe sends (or a bomb inflates to); a stated limit above it is not probed."""
BOMB_FACTOR: Final = 16
"""A bomb inflates to this many times the stated limit (capped at MAX_PROBE_BYTES)."""
UNSTATED_BOMB: Final = 64 * MIB
"""What a bomb inflates to when no limit is stated (about 64 KB compressed)."""
TIMEOUT_SCALE: Final = 2
"""The fragment and bomb probes move up to 700 KB or make the server inflate 64 MiB."""

ECHO_INFO: Final = (
    "no limit stated: §10.4 sets no size, and a 1 MiB message is one many applications "
    "accept; state --max-message-size to check yours"
)
DECLINED: Final = "the server does not negotiate permessage-deflate: no bomb can be sent"
NOT_REACHED: Final = (
    "no limit triggered on the huge frame header, so no close code to judge (see "
    "security/limits/huge-frame-header)"
)
DROPPED: Final = "§10.7: a Close frame with an appropriate status code SHOULD come first"


# --------------------------------------------------------------------------- watching


async def _bounded(
    session: WireSession, bound: float, step: Callable[[], Awaitable[object]]
) -> None:
    """Run ``step`` with the connection's deadline cut to ``bound`` seconds from now; a
    missed bound is what the check measures, not a missed deadline (timed_out kept)."""
    conn, seen = session.conn, session.observed
    deadline, timed_out = conn.deadline, seen.timed_out
    conn.deadline = min(deadline, asyncio.get_running_loop().time() + bound)
    try:
        await step()
    finally:
        conn.deadline = deadline
        seen.timed_out = timed_out


async def answers_within(session: WireSession, bound: float) -> bool:
    """Whether the server answers a barrier (a Ping, or an echo) within ``bound`` seconds."""
    answered: list[bool] = []

    async def barrier() -> None:
        answered.append(session.can_barrier and await session.barrier())

    await _bounded(session, bound, barrier)
    return any(answered)


def watched(run: RunFn) -> RunFn:
    """``run``, then, after a TCP close without a Close frame, a new connection: one that
    fails shows the server went down (a crash), which no check counts as a limit."""

    async def checked(ctx: CaseContext) -> Observed:
        observed = await run(ctx)
        if observed.close is not None or observed.transport is TransportEnd.OPEN:
            return observed
        try:
            probe = await WireSession.open(ctx)
        except (CannotRun, Unreachable) as exc:
            observed.measures[SERVER_DOWN] = 1.0
            observed.notes.append(f"then a new connection failed, the server down ({exc})")
            return observed
        await probe.close()
        return observed

    return checked


def _ended(session: WireSession) -> bool:
    return session.observed.close is not None or session.conn.end is not TransportEnd.OPEN


async def watch_end(session: WireSession, what: str, started: float | None = None) -> Observed:
    """Wait up to :data:`END_BOUND` for the server to end the connection after ``what``
    (the seconds since ``started``, or since now, go in the measures; a server still open
    is noted)."""
    loop = asyncio.get_running_loop()
    start = loop.time() if started is None else started
    await _bounded(session, END_BOUND, lambda: session.until(lambda s: _ended(s)))
    seen = session.observed
    if _ended(session):
        took = loop.time() - start
        seen.measures[SECONDS_TO_END] = round(took, 3)
        seen.notes.append(f"the server ended the connection {took:.2f} s after {what}")
        await _bounded(session, END_BOUND, session.until_closed)  # its TCP close, if any
    else:
        seen.notes.append(f"still open {END_BOUND:g} s after {what}")
    return session.finish()


# --------------------------------------------------------------------------- probes


def huge_frame_header() -> RunFn:
    """A binary frame announcing 2**62 bytes (64-bit length), a few bytes, then nothing."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        frame = client_frame(BINARY, bytes(HUGE_SENT), length_form=LengthForm.BITS64)
        data = encode_frame(replace(frame, declared_length=HUGE_LENGTH))
        await session.send(data)
        session.observed.measures[BYTES_SENT] = float(len(data))
        return await watch_end(session, "the header announcing 2**62 bytes")

    return run


def msb_length() -> RunFn:
    """An empty non-final binary frame, then a continuation whose 64-bit length has its MSB
    set (2**63 + 65536, with 65536 bytes sent), then a Ping: the gorilla CVE-2020-27813
    shape."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        first = client_frame(BINARY, b"", fin=False)
        cont = client_frame(Opcode.CONTINUATION, bytes(MSB_PAYLOAD), length_form=LengthForm.BITS64)
        await session.send(first, replace(cont, length_msb=True))
        seen = session.observed
        if await answers_within(session, END_BOUND):
            seen.continued = True
            seen.notes.append("the server answered a Ping sent after the offending frame")
            await session.close()
            return session.finish()
        return await watch_end(session, "the length with its MSB set")

    return run


def fragment_payload(limit: int | None) -> bytes:
    """Each continuation's payload: one byte, or none where 100,000 bytes would pass a
    stated limit (the size is reassembled-size's question; this one asks about counts)."""
    return b"" if limit is not None and limit < FRAGMENTS + 1 else b"x"


def many_tiny_fragments(limit: int | None) -> RunFn:
    """One unfinished binary message: a 1-byte first frame, then :data:`FRAGMENTS`
    continuations (FIN clear), a batch a write, stopping once the server ended it."""
    piece = fragment_payload(limit)

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        seen = session.observed
        sent, written = 0, 0
        started = asyncio.get_running_loop().time()
        batch: list[Frame] = [client_frame(BINARY, b"x", fin=False)]
        while sent < FRAGMENTS and not _ended(session):
            count = min(FRAGMENTS_PER_WRITE, FRAGMENTS - sent)
            batch += [client_frame(Opcode.CONTINUATION, piece, fin=False) for _ in range(count)]
            data = b"".join(encode_frame(f) for f in batch)
            batch = []
            if not await session.send(data):
                break
            sent += count
            written += len(data)
        seen.measures[FRAGMENTS_SENT] = float(sent)
        seen.measures[BYTES_SENT] = float(written)
        seen.notes.append(f"{sent} continuation frame(s) of {len(piece)} byte(s) written")
        return await watch_end(session, "the first frame", started)

    return run


def fragment_sizes(total: int) -> list[int]:
    """Fragments of at most :data:`MAX_FRAGMENT` bytes, each under ``total - 1`` (the limit),
    summing to ``total``."""
    step = max(1, min(MAX_FRAGMENT, (total - 1) // 4))
    return [min(step, total - start) for start in range(0, total, step)]


def reassembled(total: int, sizes: list[int] | None) -> RunFn:
    """A binary message of ``total`` bytes, in fragments of ``sizes`` (one frame if None);
    then wait for its echo or the server's end of the connection."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        payload = pattern_payload(BINARY, total, total)
        frames: list[Frame] = []
        start = 0
        for index, size in enumerate(sizes or [total]):
            opcode = BINARY if index == 0 else Opcode.CONTINUATION
            end = start + size
            frames.append(client_frame(opcode, payload[start:end], fin=end >= total))
            start = end
        del payload
        session.observed.measures[BYTES_SENT] = float(total)
        await session.send(*frames)
        del frames
        await session.until(lambda s: bool(s.observed.messages) or _ended(s))
        if not _ended(session):
            await session.close()
        return session.finish()

    return run


def inflate_bomb(inflated: int) -> RunFn:
    """Offer permessage-deflate; if agreed, one compressed binary message that inflates to
    ``inflated`` zero bytes; the echo (if any) is measured under a bound, never kept."""

    async def run(ctx: CaseContext) -> Observed:
        offers = (VALID_OFFERS["bare"],)
        meter = EchoMeter(bound=inflated + 1)
        agreed: list[int] = []

        def negotiate(response: HttpResponse) -> EchoMeter | None:
            reading = read_response(offers, response.values(EXTENSIONS_HEADER))
            if reading.agreed is None or reading.violations:
                return None
            agreed.append(reading.agreed.client_max_window_bits)
            return meter

        session = await WireSession.open(
            ctx, extensions=[offer_header(offers)], negotiate=negotiate
        )
        seen = session.observed
        seen.response = session.response
        if not agreed:
            # A decline counts on a working connection (docs/verdict-policy.md §9).
            seen.extension_declined = await answers_within(session, END_BOUND)
            seen.notes.append(DECLINED_NOTE)
            await session.close()
            return session.finish()
        payload = bomb_payload(inflated, agreed[0])
        seen.measures[BYTES_SENT] = float(len(payload))
        seen.notes.append(f"a {len(payload)}-byte message inflating to {inflated} bytes sent")
        await session.send(client_frame(BINARY, payload, rsv1=True))
        await session.until(lambda s: meter.echoes > 0 or _ended(s))
        meter.record(seen)
        if not _ended(session):
            await session.close()
        return session.finish()

    return run


# --------------------------------------------------------------------------- cases


def _stated_note(stated: bool, limit: int | None) -> str:
    """How the policy sets the check's level: ``stated`` when the probe goes past ``limit``."""
    if stated and limit is not None:
        return f" {STATED}: --max-message-size {limit}; not enforcing it is FAIL."
    if limit is not None:
        return (
            f" The stated limit ({limit} bytes) is above what this probe sends (at most "
            f"{MAX_PROBE_BYTES} bytes): judged as with no limit stated (WARN, §10.4 SHOULD)."
        )
    return " No limit stated: not enforcing one is WARN (§10.4 SHOULD)."


def stating(run: RunFn, limit: int | None) -> RunFn:
    """``run``, its Actual text saying the verdict rests on the limit the user stated."""
    if limit is None:
        return run

    async def stated(ctx: CaseContext) -> Observed:
        observed = await run(ctx)
        observed.notes.append(f"{STATED}: --max-message-size {limit}")
        return observed

    return stated


def _case(
    check: str,
    title: str,
    requirements: tuple[str, ...],
    level: Level,
    run: RunFn,
    notes: str,
    *,
    expected: LimitEnforced | None = None,
    allowed: tuple[Allowed, ...] = (),
    scale: int = 1,
) -> Case:
    return Case(
        id=f"security/{THEME}/{check}",
        title=title,
        requirements=requirements,
        level=level,
        expect=expect(expected or LimitEnforced()),
        run=watched(run),
        allowed=allowed,
        notes=notes,
        profile="security",
        timeout_scale=scale,
    )


def bomb_size(limit: int | None) -> int:
    """What the bomb inflates to: 16 times a stated limit (at least one byte over it,
    at most :data:`MAX_PROBE_BYTES`), or :data:`UNSTATED_BOMB`."""
    if limit is None:
        return UNSTATED_BOMB
    return min(max(limit + 1, BOMB_FACTOR * limit), MAX_PROBE_BYTES)


def cases(policy: SecurityPolicy) -> tuple[Case, ...]:
    """The size-limit checks for ``policy`` (``--max-message-size`` makes them MUST)."""
    limit = policy.max_message_size
    probed = limit if limit is not None and limit < MAX_PROBE_BYTES else None
    size_refs = (rules.IMPOSE_SIZE_LIMITS, rules.PROTECT_AGAINST_LIMITS)
    built = [
        _case(
            "huge-frame-header",
            "A frame header announcing 2**62 bytes ends the connection within 2 s",
            size_refs,
            Level.SHOULD,
            huge_frame_header(),
            "Sends a binary frame header announcing 2**62 bytes, 16 bytes of it, then "
            f"nothing; the server should end the connection within {END_BOUND:g} s (a Close "
            "with any code, or TCP; the code is judged by close-code), not wait for the "
            "rest (§10.4 names 'a single big frame'). measures: seconds_to_end. WARN, "
            "never FAIL, even under a stated limit: a server that waits and refuses once "
            "the limit's worth of payload has arrived (wsproto's servers do) still "
            "enforces the limit, only late; the stated limit is judged by "
            "single-frame-over-limit and reassembled-size.",
        ),
        _case(
            "msb-length",
            "A 64-bit length with its most significant bit set fails the connection",
            (rules.LENGTH_MSB_ZERO, rules.PROTECT_AGAINST_LIMITS),
            Level.MUST,
            msb_length(),
            "An empty non-final binary frame, then a continuation whose 64-bit length is "
            "2**63 + 65536 (65536 bytes follow) "
            "(gorilla/websocket CVE-2020-27813, swift-nio CVE-2026-43678), then a Ping. §5.2: "
            "'the most significant bit MUST be 0': a server that answers the Ping, echoes, or "
            f"is still open {END_BOUND:g} s later is FAIL whatever the policy; a Close with "
            "any code or a TCP close passes.",
        ),
        _case(
            "many-tiny-fragments",
            "An unfinished message of 100,000 tiny continuation frames ends the connection",
            (rules.IMPOSE_SIZE_LIMITS, rules.PROTECT_AGAINST_LIMITS),
            Level.MAY,
            many_tiny_fragments(limit),
            f"A 1-byte binary frame (FIN clear), then {FRAGMENTS} continuations (FIN clear) of "
            "1 byte each, or empty where that total would pass the stated limit (the count, "
            "not the size, is probed here: ws CVE-2026-48779), at most about 700 KB, "
            f"{FRAGMENTS_PER_WRITE} frames a write, stopping once the server ends the "
            "connection. §10.4 names 'a long stream of small frames': ending the connection "
            f"(any Close, or TCP) passes; still open {END_BOUND:g} s after the last frame is "
            "INFO, never WARN: §10.4's SHOULD is a limit on frame sizes and on the total "
            "message size, and the total here (100 KB) is under any sensible limit, so a "
            "server with a size limit but no fragment cap meets the text; the per-fragment "
            "memory such a stream pins (the CVE) is an implementation matter the report "
            "names. The total never passes a stated limit, so never FAIL.",
            scale=TIMEOUT_SCALE,
        ),
    ]
    total = (probed if probed is not None else UNSTATED_SIZE) + 1
    echo = EchoedPattern(((BINARY, total, total),))
    built.append(
        _case(
            "reassembled-size",
            f"Fragments each under the limit whose total ({total} bytes) exceeds it are refused",
            size_refs,
            policy.level(probed is not None),
            stating(reassembled(total, fragment_sizes(total)), probed),
            f"Sends one binary message of {total} bytes in fragments of at most "
            f"{MAX_FRAGMENT} bytes, each under the limit (the 'per-frame-only limit' "
            "fault): the server must end the connection (any Close, or TCP) instead of "
            f"echoing it. Unstated, the probe is {UNSTATED_SIZE + 1} bytes and an echo is "
            "INFO (a 1 MiB message is commonly acceptable); stated, an echo is FAIL."
            + _stated_note(probed is not None, limit),
            allowed=() if probed is not None else (Allowed(echo, Outcome.INFO, ECHO_INFO),),
            scale=TIMEOUT_SCALE,
        )
    )
    if probed is not None:
        built.append(
            _case(
                "single-frame-over-limit",
                f"One frame of the stated limit plus one byte ({probed + 1} bytes) is refused",
                size_refs,
                Level.MUST,
                stating(reassembled(probed + 1, None), probed),
                f"Sends one binary frame of {probed + 1} bytes; the server must end the "
                f"connection (any Close, or TCP) instead of echoing it.{_stated_note(True, limit)}",
                scale=TIMEOUT_SCALE,
            )
        )
    bomb = bomb_size(limit)
    bomb_stated = limit is not None and bomb > limit
    built.append(
        _case(
            "inflate-bomb",
            f"A compressed message inflating to {bomb} bytes is refused, not echoed",
            size_refs,
            policy.level(bomb_stated),
            stating(inflate_bomb(bomb), limit if bomb_stated else None),
            "Offers permessage-deflate; if agreed, sends one compressed message (built with "
            f"zlib at run time, about 1/1000 of its size) inflating to {bomb} zero bytes "
            "(the autobahn-python GHSA-hxp9-w8x3-p566 'limit on compressed bytes' fault): "
            "§10.4's 'total message size after reassembly' is the message the application "
            "gets, the inflated one (RFC 7692 §6.2). The server must end the connection "
            "(any Close, or TCP) without "
            "echoing it; an echo is measured under a bound and never kept. A server that "
            "declines the extension is UNSUPPORTED (no bomb can be sent)."
            + _stated_note(bomb_stated, limit),
            allowed=(Allowed(DeflateDeclined(), Outcome.UNSUPPORTED, DECLINED),),
            scale=TIMEOUT_SCALE,
        )
    )
    built.append(
        _case(
            "close-code",
            "A size limit that triggers closes with 1009 (or 1008)",
            (rules.CLOSE_ON_INVALID_DATA, R_1009, rules.POLICY_CODE_1008),
            Level.SHOULD,
            huge_frame_header(),
            "The huge-frame-header probe again, judged on how the limit ends the connection: "
            "a Close 1009 ('too big') or 1008 ('policy') passes (§7.4.1); another code (1002, "
            "1011) or a TCP close without a Close is WARN (§10.7 'SHOULD send a Close frame "
            "with an appropriate status code'); no limit triggered is INFO here (that is "
            "huge-frame-header's finding).",
            expected=LimitEnforced(LIMIT_CODES),
            allowed=(
                Allowed(LimitNotReached(), Outcome.INFO, NOT_REACHED),
                Allowed(DroppedWithoutClose(), Outcome.WARN, DROPPED),
            ),
        )
    )
    return tuple(built)
