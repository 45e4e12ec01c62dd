"""Connection and message rate (issue #15; RFC 6455 §10.4, §7.4.1): does the server cap
idle connections from one address, and messages on one connection? Reported, never
judged: every reading is INFO (:mod:`conformance.model.security_rate`).

* ``security/rate/idle-connections``: up to ``--connections`` (default 200) connections,
  :data:`CONCURRENCY` at a time, each with a valid opening handshake carrying the
  stated policy's Origin and credential, all held open at once; then each is watched
  :data:`WATCH` s for a Close 1008/1013 or a TCP close, and every one is closed. Counted:
  upgraded, refused with 503/429 or closed 1008/1013, refused otherwise, unanswered.
* ``security/rate/message-burst``: :data:`BURST` small text messages written at once on
  one connection; counted: echoes, and the Close code if the server closed.

Bounds: the connections stop being opened :data:`RESERVE` s before the case deadline
(so that closing them fits), each handshake gets :data:`HANDSHAKE_WAIT` s, the burst is
:data:`BURST` × :data:`MESSAGE_SIZE` bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Final

from ...driver import Connection, DeadlineExceeded, Unreachable
from ...model import rules
from ...model.behaviours import expect
from ...model.codec import encode_frame
from ...model.constants import Opcode
from ...model.decoder import PeerStream
from ...model.frames import Frame
from ...model.handshake import ResponseReader
from ...model.observed import CloseInfo, HttpResponse, Observed, TransportEnd
from ...model.security_rate import (
    ACCEPTED,
    CLOSE_CODE,
    ECHOED,
    REFUSED_OTHER,
    SENT,
    THROTTLE_CODES,
    THROTTLE_STATUSES,
    THROTTLED,
    TRIED,
    UNANSWERED,
    AllConnectionsAccepted,
    BurstEchoed,
    BurstThrottled,
    ConnectionsThrottled,
    ReportOnly,
)
from ...model.verdict import Allowed, Level, Outcome
from ...policy.security import SecurityPolicy
from ...session.answers import courtesy_close
from ...session.context import CannotRun, CaseContext
from ..base import Case, RunFn
from .access import policy_request

CONCURRENCY: Final = 50
"""Handshakes in flight at once."""
HANDSHAKE_WAIT: Final = 2.0
"""Seconds one handshake may take."""
WATCH: Final = 0.3
"""Seconds every upgraded connection is watched, all at once, for a Close or TCP close."""
RESERVE: Final = 1.0
"""Seconds before the case deadline when no new connection is opened."""
IDLE_SCALE: Final = 2
"""The idle-connection check gets two deadlines (``--timeout`` × 2, 10 s by default)."""
BURST: Final = 1000
BURST_PREFIX: Final = "burst-"
MESSAGE_SIZE: Final = 16
"""Bytes of each burst message: the prefix and a zero-padded number."""
BURST_WAIT: Final = 3.0
"""Seconds the burst waits for its echoes."""
MASK: Final = b"\x1e\x2d\x3c\x4b"


def _bounded(ctx: CaseContext, wait: float) -> float:
    return min(ctx.deadline, asyncio.get_running_loop().time() + wait)


@dataclass(slots=True)
class Slot:
    """One idle connection: its answer, and how it stood after the watch."""

    conn: Connection | None = None
    response: HttpResponse | None = None
    trailing: bytes = b""
    close: CloseInfo | None = None
    skipped: bool = False  # not tried: the time bound came first

    @property
    def upgraded(self) -> bool:
        return self.response is not None and self.response.status == 101

    def kind(self) -> str:
        """:data:`ACCEPTED`, :data:`THROTTLED`, :data:`REFUSED_OTHER` or :data:`UNANSWERED`."""
        if self.close is not None and self.close.code in THROTTLE_CODES:
            return THROTTLED
        if self.response is not None and self.response.status in THROTTLE_STATUSES:
            return THROTTLED
        if self.upgraded and self.close is None and self.conn is not None:
            return ACCEPTED if self.conn.end is TransportEnd.OPEN else REFUSED_OTHER
        if self.response is not None or (
            self.conn is not None and self.conn.end in (TransportEnd.EOF, TransportEnd.RESET)
        ):
            return REFUSED_OTHER
        return UNANSWERED


async def _open_one(ctx: CaseContext, policy: SecurityPolicy, gate: asyncio.Semaphore) -> Slot:
    async with gate:
        if asyncio.get_running_loop().time() >= ctx.deadline - RESERVE:
            return Slot(skipped=True)
        try:
            conn = await ctx.connect()
        except Unreachable:
            return Slot()
        conn.deadline = _bounded(ctx, HANDSHAKE_WAIT)
        reader = ResponseReader()
        with contextlib.suppress(DeadlineExceeded):
            await conn.send(policy_request(ctx, policy).to_bytes())
            while not reader.done:
                reader.feed(await conn.receive())
        return Slot(conn, reader.response, reader.trailing)


async def _watch(slot: Slot, until: float) -> None:
    """Read ``slot`` until ``until``: a Close (1008/1013?) or a TCP close."""
    conn = slot.conn
    if conn is None or not slot.upgraded:
        return
    stream = PeerStream(peer="server")
    stream.feed(slot.trailing)
    conn.deadline = until
    with contextlib.suppress(DeadlineExceeded):
        while stream.close is None and conn.end is TransportEnd.OPEN:
            data = await conn.receive()
            if not data:
                break
            stream.feed(data)
    if stream.close is not None:
        slot.close = CloseInfo(stream.close.code, stream.close.reason)


async def _release(slot: Slot, until: float) -> None:
    """Close ``slot`` politely (a Close 1000 on an upgraded connection), then drop it."""
    conn = slot.conn
    if conn is None:
        return
    conn.deadline = until
    if slot.upgraded and conn.end is TransportEnd.OPEN:
        with contextlib.suppress(DeadlineExceeded):
            await conn.send(courtesy_close())
    conn.abort()


def _idle_connections(policy: SecurityPolicy) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        gate = asyncio.Semaphore(CONCURRENCY)
        wanted = max(1, policy.connections)
        opened = await asyncio.gather(*(_open_one(ctx, policy, gate) for _ in range(wanted)))
        slots = [slot for slot in opened if not slot.skipped]
        tried = len(slots)
        watch_until = _bounded(ctx, WATCH)
        await asyncio.gather(*(_watch(slot, watch_until) for slot in slots))
        kept = sum(1 for slot in slots if slot.upgraded and slot.conn is not None)
        counts = dict.fromkeys((ACCEPTED, THROTTLED, REFUSED_OTHER, UNANSWERED), 0)
        for slot in slots:
            counts[slot.kind()] += 1
        await asyncio.gather(*(_release(slot, ctx.deadline) for slot in slots))
        observed = Observed(upgraded=kept > 0, responsive=kept > 0)
        observed.response = next((s.response for s in slots if s.response is not None), None)
        observed.close = next((s.close for s in slots if s.close is not None), None)
        observed.transport = TransportEnd.CLOSED_BY_US
        observed.measures = {TRIED: tried, **counts}
        observed.timed_out = counts[UNANSWERED] == tried
        observed.notes.append(
            f"{tried} connections tried, at most {CONCURRENCY} at a time: "
            f"{counts[ACCEPTED]} upgraded and kept, "
            f"{counts[THROTTLED]} refused with 503/429 or closed 1008/1013, "
            f"{counts[REFUSED_OTHER]} refused otherwise, {counts[UNANSWERED]} unanswered"
        )
        if tried < wanted:
            observed.notes.append(f"{wanted - tried} not tried: the time bound came first")
        return observed

    return run


def _burst_message(number: int) -> bytes:
    return f"{BURST_PREFIX}{number:0{MESSAGE_SIZE - len(BURST_PREFIX)}d}".encode()


def _message_burst(policy: SecurityPolicy) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        conn = await ctx.connect()
        conn.deadline = _bounded(ctx, HANDSHAKE_WAIT)
        reader = ResponseReader()
        with contextlib.suppress(DeadlineExceeded):
            await conn.send(policy_request(ctx, policy).to_bytes())
            while not reader.done:
                reader.feed(await conn.receive())
        response = reader.response
        if response is None or response.status != 101:
            shown = response.describe() if response is not None else "no HTTP response"
            raise CannotRun(f"a valid opening handshake with the stated policy failed: {shown}")
        stream = PeerStream(peer="server")
        stream.feed(reader.trailing)
        burst = b"".join(
            encode_frame(Frame(Opcode.TEXT, _burst_message(n), mask=MASK)) for n in range(BURST)
        )
        conn.deadline = _bounded(ctx, BURST_WAIT)
        timed_out = False
        try:
            await conn.send(burst)
            while stream.messages_received < BURST and stream.close is None:
                data = await conn.receive()
                if not data:
                    break
                stream.feed(data)
        except DeadlineExceeded:
            timed_out = True
        observed = Observed(response=response, upgraded=True)
        observed.responsive = stream.messages_received > 0 or stream.close is not None
        observed.timed_out = timed_out
        close = stream.close
        observed.close = None if close is None else CloseInfo(close.code, close.reason)
        observed.measures = {
            SENT: BURST,
            ECHOED: stream.messages_received,
            CLOSE_CODE: (close.code or 0) if close is not None else 0,
        }
        observed.notes.append(
            f"{BURST} messages of {MESSAGE_SIZE} bytes written at once: "
            f"{stream.messages_received} echoed"
            + (f", then {observed.close.describe()}" if observed.close is not None else "")
        )
        if conn.end is TransportEnd.OPEN and close is None:
            with contextlib.suppress(DeadlineExceeded):
                await conn.send(courtesy_close())
        observed.transport = conn.end
        return observed

    return run


NOTES: Final = (
    "Reads: no text sets a connection count or message rate (RFC 6455 §10.4 asks only "
    "that a server protect itself; §7.4.1 gives 1008 for a policy refusal, the IANA "
    "registry 1013 for try again later), so every reading is INFO and nothing passes or "
    "fails: the counts are in the measures. Nothing observed at all is ERROR."
)


def cases(policy: SecurityPolicy) -> tuple[Case, ...]:
    """The rate checks: reported, never judged."""
    return (
        Case(
            id="security/rate/idle-connections",
            title=f"Idle connections from one address ({policy.connections} tried)",
            requirements=(rules.PROTECT_AGAINST_LIMITS, rules.POLICY_CODE_1008),
            level=Level.MAY,
            expect=expect(ReportOnly("connection count")),
            run=_idle_connections(policy),
            allowed=(
                Allowed(ConnectionsThrottled(), Outcome.INFO, "the server caps connections"),
                Allowed(AllConnectionsAccepted(), Outcome.INFO, "no connection cap seen"),
            ),
            notes=NOTES,
            profile="security",
            timeout_scale=IDLE_SCALE,
        ),
        Case(
            id="security/rate/message-burst",
            title=f"A burst of {BURST} messages on one connection",
            requirements=(rules.PROTECT_AGAINST_LIMITS, rules.POLICY_CODE_1008),
            level=Level.MAY,
            expect=expect(ReportOnly("message rate")),
            run=_message_burst(policy),
            allowed=(
                Allowed(BurstThrottled(), Outcome.INFO, "the server throttles messages"),
                Allowed(BurstEchoed(), Outcome.INFO, "no message throttle seen"),
            ),
            notes=NOTES,
            profile="security",
        ),
    )


__all__ = ["cases"]
