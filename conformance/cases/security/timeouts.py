"""Security checks, theme "timeouts": slow and idle peers (issue #15; research §2.4 items
12-15).

No RFC 6455 sentence bounds a server in time. §10.4 asks an implementation to "protect
themselves" against a peer trying to "mount a denial-of-service attack", naming sizes
only; holding a connection open costs a socket and parser state just as surely, so a
handshake that never completes is judged against §10.4 at SHOULD (WARN) and the rest
is reported (INFO), as deployment advice (Apache ``mod_reqtimeout``'s default
``header=20-40,MinRate=500`` closes a trickling head after 20 s; slowloris). The one
sentence with a keyword is §5.5.1: after the closing handshake "The server MUST close
the underlying TCP connection immediately" (``unfinished-close``, FAIL).

Every check reports the time it observed in ``Observed.measures`` (the keys of
:mod:`conformance.model.security_timing`) and in a note; every wait is a named bound,
shorter than the case deadline (``timeout_scale``), so a deadline that comes first is
ERROR, never a verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Final

from ...driver import Connection, DeadlineExceeded
from ...model import rules
from ...model.behaviours import expect
from ...model.codec import close_payload, encode_frame
from ...model.constants import Opcode
from ...model.decoder import CloseReceived, PeerStream, PingReceived
from ...model.frames import Frame
from ...model.handshake import ResponseReader
from ...model.observed import CloseInfo, Observed, TransportEnd
from ...model.security_timing import (
    ENDED_AFTER,
    FIRST_PING,
    OPEN_AT,
    SERVER_PINGS,
    EndedWithin,
    PingedWhileIdle,
    TcpClosedAfterClose,
)
from ...model.verdict import Level
from ...policy.security import SecurityPolicy
from ...session.context import CannotRun, CaseContext
from ..base import Case, RunFn
from .access import policy_request

THEME: Final = "security/timeouts"

TRICKLE_INTERVAL: Final = 2.0
"""Seconds between the header lines of the trickled handshake (slowloris)."""
HANDSHAKE_BOUND: Final = 20.0
"""Seconds a server may hold an unfinished request head (Apache ``mod_reqtimeout``'s
default first bound, ``header=20``)."""
SILENT_BOUND: Final = 20.0
"""Seconds the probe waits on a connection that sends nothing."""
IDLE_WINDOW: Final = 10.0
"""Seconds an open WebSocket stays idle: far shorter than any sensible idle timeout."""
CLOSE_BOUND: Final = 5.0
"""Seconds after its Close by which the server must have closed TCP ("immediately")."""
CLOSE_CODE: Final = 1000  # §7.4.1 normal closure
MASK: Final = b"\x5a\x17\xc3\x08"
"""The masking key of the suite's frames here (§5.3: any key; these frames carry no data
an intermediary could be fooled by)."""

R_MAY_CLOSE = "rfc6455-7.1.1-close-any-means"  # §7.1.1 MAY close "when under attack"
R_TCP_IMMEDIATELY = "rfc6455-7.1.1-server-tcp-close-immediately"

ADVICE_NOTE = (
    "No RFC text bounds a server in time: the bound is advice (Apache mod_reqtimeout "
    "header=20, the slowloris defence; OWASP), judged against §10.4's 'protect "
    "themselves' (denial of service)."
)

_ENDED = frozenset({TransportEnd.EOF, TransportEnd.RESET})


def _masked(opcode: Opcode, payload: bytes) -> bytes:
    """A client frame (masked, §5.1)."""
    return encode_frame(Frame(opcode, payload, mask=MASK))


def _elapsed(started: float) -> float:
    return round(asyncio.get_running_loop().time() - started, 2)


async def _receive_until(conn: Connection, stop: float) -> bytes | None:
    """The next bytes, ``b""`` when the peer ended TCP, None when ``stop`` came first.
    The case deadline (:class:`DeadlineExceeded`) propagates."""
    remaining = stop - asyncio.get_running_loop().time()
    if remaining <= 0:
        return None
    try:
        async with asyncio.timeout(remaining):
            return await conn.receive()
    except TimeoutError:
        return None


async def _watch_head(conn: Connection, stop: float, observed: Observed) -> bool:
    """Read the server's answer to an unfinished request until it ends the exchange (an
    HTTP response, or TCP closed) or ``stop``; True if it ended it. A deadline first
    marks ``observed.timed_out``."""
    reader = ResponseReader()
    try:
        while reader.response is None and not reader.done:
            data = await _receive_until(conn, stop)
            if data is None:
                break
            reader.feed(data)
    except DeadlineExceeded:
        observed.timed_out = True
    observed.response = reader.response
    observed.response_error = reader.error
    observed.transport = conn.end
    return reader.response is not None or conn.end in _ENDED


def _record_end(observed: Observed, ended: bool, started: float, bound: float, what: str) -> None:
    """The measure and the note: when the server ended ``what``, or that it had not."""
    if ended:
        seconds = _elapsed(started)
        observed.measures[ENDED_AFTER] = seconds
        response = observed.response
        how = response.describe() if response is not None else f"TCP {observed.transport.value}"
        observed.notes.append(f"the server ended {what} after {seconds:g} s ({how})")
    elif not observed.timed_out:
        observed.measures[OPEN_AT] = bound
        observed.notes.append(f"{what}: still open after {bound:g} s")


# -- Unfinished handshakes --------------------------------------------------------------


def _trickled_lines(ctx: CaseContext, policy: SecurityPolicy) -> list[bytes]:
    """The valid request's lines (request line and header lines), without the empty
    line that would end its head."""
    head = policy_request(ctx, policy).to_bytes().removesuffix(b"\r\n\r\n")
    return [line + b"\r\n" for line in head.split(b"\r\n")]


async def _trickle(conn: Connection, lines: list[bytes]) -> None:
    """Send ``lines`` one every :data:`TRICKLE_INTERVAL`, then harmless header lines, for
    ever (the caller cancels at its bound): the head is never complete."""
    for index in itertools.count():
        line = lines[index] if index < len(lines) else b"X-Trickle-%d: x\r\n" % index
        await conn.send(line, chunk=len(line))
        await asyncio.sleep(TRICKLE_INTERVAL)


def _slow_handshake(policy: SecurityPolicy) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        observed = Observed()
        conn = await ctx.connect()
        started = asyncio.get_running_loop().time()
        trickling = asyncio.create_task(_trickle(conn, _trickled_lines(ctx, policy)))
        try:
            ended = await _watch_head(conn, started + HANDSHAKE_BOUND, observed)
        finally:
            trickling.cancel()
            with contextlib.suppress(asyncio.CancelledError, DeadlineExceeded):
                await trickling
        what = f"a request head trickled one line every {TRICKLE_INTERVAL:g} s"
        _record_end(observed, ended, started, HANDSHAKE_BOUND, what)
        return observed

    return run


def _no_request() -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        observed = Observed()
        conn = await ctx.connect()
        started = asyncio.get_running_loop().time()
        ended = await _watch_head(conn, started + SILENT_BOUND, observed)
        _record_end(observed, ended, started, SILENT_BOUND, "a connection that sent nothing")
        return observed

    return run


# -- Open WebSocket connections ---------------------------------------------------------


async def _upgrade(
    ctx: CaseContext, policy: SecurityPolicy
) -> tuple[Connection, PeerStream, bytes]:
    """A WebSocket connection opened with a handshake that passes the stated policy, the
    strict decoder for what the server sends, and the bytes that came behind the 101;
    :class:`CannotRun` if not a 101."""
    conn = await ctx.connect()
    await conn.send(policy_request(ctx, policy).to_bytes())
    reader = ResponseReader()
    while not reader.done:
        reader.feed(await conn.receive())
    response = reader.response
    if response is None or response.status != 101:
        seen = response.describe() if response is not None else "no HTTP response"
        raise CannotRun(f"a valid opening handshake (the stated policy's) was refused: {seen}")
    return conn, PeerStream(peer="server"), reader.trailing


async def _next(conn: Connection, pending: list[bytes], stop: float) -> bytes | None:
    """The bytes that came behind the 101 first, then :func:`_receive_until`."""
    if pending:
        return pending.pop()
    return await _receive_until(conn, stop)


def _take_close(observed: Observed, event: CloseReceived, *, reply: bool) -> None:
    if observed.close is None:
        observed.close = CloseInfo(event.code, event.reason, reply, len(event.raw_payload))


def _idle_open(policy: SecurityPolicy) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        observed = Observed(upgraded=True)
        conn, stream, trailing = await _upgrade(ctx, policy)
        pending = [trailing] if trailing else []
        started = asyncio.get_running_loop().time()
        pings = 0
        first_ping: float | None = None
        try:
            while conn.end is TransportEnd.OPEN:
                data = await _next(conn, pending, started + IDLE_WINDOW)
                if data is None:
                    break
                for event in stream.feed(data) if data else stream.feed_eof():
                    if isinstance(event, PingReceived):  # a live client answers (§5.5.2)
                        pings += 1
                        first_ping = _elapsed(started) if first_ping is None else first_ping
                        await conn.send(_masked(Opcode.PONG, event.payload))
                    elif isinstance(event, CloseReceived) and observed.close is None:
                        _take_close(observed, event, reply=False)
                        code = event.code if event.code is not None else CLOSE_CODE
                        await conn.send(_masked(Opcode.CLOSE, close_payload(code)))
                if not data:
                    observed.measures[ENDED_AFTER] = _elapsed(started)
        except DeadlineExceeded:
            observed.timed_out = True
        observed.responsive = pings > 0
        observed.transport = conn.end
        observed.violations.extend(stream.violations)
        observed.measures[SERVER_PINGS] = pings
        if first_ping is not None:
            observed.measures[FIRST_PING] = first_ping
        if observed.transport is TransportEnd.OPEN and not observed.timed_out:
            observed.measures[OPEN_AT] = IDLE_WINDOW
        observed.notes.append(_idle_account(observed, pings, first_ping))
        return observed

    return run


def _idle_account(observed: Observed, pings: int, first_ping: float | None) -> str:
    """One line: what an idle client saw in the window."""
    parts = [f"{IDLE_WINDOW:g} s idle"]
    if first_ping is not None:
        parts.append(f"{pings} Ping(s) from the server, the first after {first_ping:g} s")
    else:
        parts.append("no Ping from the server")
    if observed.close is not None:
        parts.append(f"a {observed.close.describe()}")
    ended = observed.measures.get(ENDED_AFTER)
    if ended is not None:
        parts.append(f"TCP ended after {ended:g} s")
    elif observed.transport is TransportEnd.OPEN:
        parts.append("the connection still open")
    return f"{parts[0]}: {', '.join(parts[1:])}"


def _unfinished_close(policy: SecurityPolicy) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        observed = Observed(upgraded=True)
        conn, stream, trailing = await _upgrade(ctx, policy)
        pending = [trailing] if trailing else []
        await conn.send(_masked(Opcode.CLOSE, close_payload(CLOSE_CODE)))
        closed_at: float | None = None
        loop = asyncio.get_running_loop()
        try:
            while conn.end is TransportEnd.OPEN:
                stop = conn.deadline if closed_at is None else closed_at + CLOSE_BOUND
                data = await _next(conn, pending, stop)
                if data is None:
                    observed.timed_out = closed_at is None  # the deadline, not the bound
                    break
                for event in stream.feed(data) if data else stream.feed_eof():
                    if isinstance(event, CloseReceived) and closed_at is None:
                        _take_close(observed, event, reply=True)
                        closed_at = loop.time()
                        observed.responsive = True
        except DeadlineExceeded:
            observed.timed_out = True
        observed.transport = conn.end
        observed.violations.extend(stream.violations)
        if closed_at is None:
            observed.notes.append("no Close from the server in answer to the suite's Close")
        elif conn.end in _ENDED:
            seconds = _elapsed(closed_at)
            observed.measures[ENDED_AFTER] = seconds
            observed.notes.append(f"the server closed TCP {seconds:g} s after its Close")
        else:
            observed.measures[OPEN_AT] = CLOSE_BOUND
            observed.notes.append(
                f"TCP still open {CLOSE_BOUND:g} s after the server's Close (the suite "
                "never closed its side)"
            )
        return observed

    return run


# -- The table ----------------------------------------------------------------------------


def cases(policy: SecurityPolicy) -> tuple[Case, ...]:
    """The theme's checks for ``policy`` (the stated Origin and credential are sent, so a
    verdict is about time, not access)."""
    trickled = f"a request head trickled one line every {TRICKLE_INTERVAL:g} s"
    return (
        Case(
            id=f"{THEME}/slow-handshake",
            title="A request head trickled one line at a time is cut off within a bound",
            requirements=(rules.IMPOSE_SIZE_LIMITS, rules.PROTECT_AGAINST_LIMITS, R_MAY_CLOSE),
            level=Level.SHOULD,
            expect=expect(EndedWithin(HANDSHAKE_BOUND, trickled)),
            run=_slow_handshake(policy),
            profile="security",
            timeout_scale=5,
            notes=(
                f"Sends a valid request's lines, then harmless ones, one every "
                f"{TRICKLE_INTERVAL:g} s, never the empty line ending the head. PASS: an "
                f"HTTP error (408, 400, ...) or a TCP close within {HANDSHAKE_BOUND:g} s; "
                "still open then: WARN (a trickling handshake holds a socket and parser "
                f"state for as long as the attacker likes). {ADVICE_NOTE}"
            ),
        ),
        Case(
            id=f"{THEME}/no-request",
            title="A connection that sends nothing is closed within a bound",
            requirements=(rules.PROTECT_AGAINST_LIMITS, R_MAY_CLOSE),
            level=Level.MAY,
            expect=expect(EndedWithin(SILENT_BOUND, "a connection that sent nothing")),
            run=_no_request(),
            profile="security",
            timeout_scale=5,
            notes=(
                f"Connects and sends nothing for {SILENT_BOUND:g} s. PASS: closed (or an "
                "HTTP 408) within the bound; still open: INFO, not WARN: a silent "
                "connection holds a socket but no parser state, and a server or kernel may "
                "keep it cheaply (TCP_DEFER_ACCEPT, Apache's AcceptFilter, nginx "
                "'deferred' hold it out of the application); an unbounded request head is "
                f"what slow-handshake WARNs. {ADVICE_NOTE}"
            ),
        ),
        Case(
            id=f"{THEME}/idle-open",
            title="What a server does with an open WebSocket that stays idle",
            requirements=(rules.PROTECT_AGAINST_LIMITS, R_MAY_CLOSE),
            level=Level.MAY,
            expect=expect(PingedWhileIdle(IDLE_WINDOW)),
            run=_idle_open(policy),
            profile="security",
            timeout_scale=3,
            notes=(
                f"Opens a WebSocket and sends nothing for {IDLE_WINDOW:g} s, answering "
                "any Ping (§5.5.2) and Close (§5.5.1) as a live client would. PASS: the "
                "server pinged the idle client (a keepalive that finds dead peers) and "
                "kept the connection; anything else (silence, a close) is INFO with the "
                "times seen: the window is far shorter than any sensible idle timeout, "
                "so no reading of it is a fault. Deployment advice: ping idle clients "
                "and close those that do not answer."
            ),
        ),
        Case(
            id=f"{THEME}/unfinished-close",
            title="After the closing handshake the server closes TCP though the client does not",
            requirements=(
                rules.SERVER_CLOSES_TCP_FIRST,
                rules.CLOSE_TCP_AFTER_BOTH,
                R_TCP_IMMEDIATELY,
            ),
            level=Level.MUST,
            expect=expect(TcpClosedAfterClose(CLOSE_BOUND)),
            run=_unfinished_close(policy),
            profile="security",
            timeout_scale=2,
            notes=(
                "Sends a Close, reads the server's, and never closes its own side. §5.5.1: "
                "'The server MUST close the underlying TCP connection immediately' (a MUST, "
                "so FAIL, though §7.1.1 repeats it as SHOULD); 'immediately' is read as "
                f"within {CLOSE_BOUND:g} s. A server waiting for the client to close "
                "leaves every half-gone client holding a socket (FIN_WAIT/CLOSE_WAIT)."
            ),
        ),
    )
