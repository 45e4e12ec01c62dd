"""Security checks, theme "headers": header abuse in the opening handshake (issue #15;
research §2.4 items 17-19).

§10.7: "If the invalid data is sent during the WebSocket handshake, the server SHOULD
return an appropriate HTTP [RFC2616] status code", and it "MAY drop the TCP connection"
faced with data that "violates some criteria by which the endpoint determines safety of
input". A request head too large to be safe (one 64 KiB line, 1,000 lines) is refused
with a 4xx (RFC 6585 §5: 431 Request Header Fields Too Large) or dropped: PASS; a 101
or no answer is WARN.

The two ReDoS checks time the answer to one header at two sizes, the published
proof-of-concept sizes (STEWS ``vuln-detect``): ``Sec-WebSocket-Protocol: b<spaces>x``
(CVE-2021-32640, ws: quadratic ``/ *, */`` split) and an unclosed quoted
``Sec-WebSocket-Extensions`` parameter of ``\\c`` pairs (CVE-2020-7662/7663, faye
websocket-extensions: exponential backtracking). Each size is sent
:data:`REPEATS` times and the medians compared; growth well beyond the size's is WARN.
A server that refuses the sizes quickly (431 for the size) is bounded: PASS.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Final
from weakref import WeakKeyDictionary

from ...driver import Connection, DeadlineExceeded
from ...model import rules
from ...model.behaviours import HandshakeAccepted, HttpRefusal, expect
from ...model.handshake import HandshakeRequest, ResponseReader
from ...model.observed import Observed
from ...model.security_timing import (
    ENDED_AFTER,
    LARGE_MEDIAN,
    OPEN_AT,
    SIZE_RATIO,
    SMALL_MEDIAN,
    TIME_RATIO,
    UNANSWERED,
    GrowthBounded,
    median,
    time_ratio,
)
from ...model.verdict import Allowed, Level, Outcome
from ...policy.handshake import ConnectionDropped
from ...policy.security import SecurityPolicy
from ...session.answers import courtesy_close
from ...session.context import CaseContext
from ..base import Case, RunFn
from .access import Header, policy_request

THEME: Final = "security/headers"

LONG_LINE: Final = 64 * 1024
"""Bytes of the value of the one long header line."""
MANY_LINES: Final = 1000
"""Header lines of the many-lines request; each is short, so the whole head stays under
:data:`MANY_LINES_BYTES` (below the common 16 KiB size caps: the count is what is tested)."""
MANY_LINES_BYTES: Final = 16 * 1024
ANSWER_BOUND: Final = 5.0
"""Seconds a server has to answer an oversized request head; later is "no answer"."""

PROTOCOL_SPACES: Final = (30_000, 66_000)
"""Spaces in ``Sec-WebSocket-Protocol: b<spaces>x`` (STEWS' CVE-2021-32640 sizes)."""
EXTENSION_PAIRS: Final = (24, 26)
"""``\\c`` pairs in ``Sec-WebSocket-Extensions: a; b="\\c\\c...`` (STEWS sends 26-28; one
pair more doubles a vulnerable parser's time, so 24/26 show it at a quarter the cost)."""
REPEATS: Final = 3
"""Times each size is sent; the median answer time counts."""
REDOS_BOUND: Final = 3.0
"""Seconds one timed request may take; a slower one stops the probe (unanswered)."""
TIME_FLOOR: Final = 0.2
"""A larger-size median under this many seconds is noise, never growth."""
PROTOCOL_MAX_RATIO: Final = (PROTOCOL_SPACES[1] / PROTOCOL_SPACES[0]) ** 1.5
"""Time growth allowed for 2.2x the spaces: the geometric midpoint of linear (2.2x) and
quadratic (4.84x) parsing, about 3.3x."""
EXTENSION_MAX_RATIO: Final = 2.0
"""Time growth allowed for two more pairs: linear parsing grows 1.08x, an exponential
one 4x; 2x is their geometric midpoint."""
TIMING_SCALE: Final = 8
"""Deadlines (``--timeout`` each) of a timing check: its own worst case, six probes of
just under :data:`REDOS_BOUND`, after waiting for the other's (see :func:`timing_lock`)."""


CLIENT_ERRORS = frozenset(range(400, 500))
SIZE_REFUSALS = frozenset({413, 431})  # RFC 9110 §15.5.14, RFC 6585 §5


_TIMING_LOCKS: Final[WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]] = (
    WeakKeyDictionary()
)


def timing_lock() -> asyncio.Lock:
    """One timing check at a time (per event loop): a single-threaded server stuck
    parsing one check's header delays every connection, and two checks alternating
    their sizes in step would each see the other's growth as their own."""
    return _TIMING_LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock())


@dataclass(frozen=True, slots=True)
class Timed:
    """One request's answer and how long it took (None: none within the bound)."""

    observed: Observed
    seconds: float | None


async def _read_answer(conn: Connection, reader: ResponseReader, stop: float) -> bool:
    """Read until the answer's head is in or TCP ended; False at ``stop``."""
    while reader.response is None and not reader.done:
        remaining = stop - asyncio.get_running_loop().time()
        if remaining <= 0:
            return False
        try:
            async with asyncio.timeout(remaining):
                reader.feed(await conn.receive())
        except TimeoutError:
            return False
    return True


async def timed_exchange(ctx: CaseContext, request: HandshakeRequest, bound: float) -> Timed:
    """Send ``request`` while reading the answer (a server may refuse and close before it
    is all written); the seconds from the first byte to the answer's head or TCP end,
    None if neither came within ``bound``. The case deadline marks ``timed_out``."""
    observed = Observed()
    conn = await ctx.connect()
    loop = asyncio.get_running_loop()
    started = loop.time()
    reader = ResponseReader()
    sending = asyncio.create_task(conn.send(request.to_bytes()))
    try:
        answered = await _read_answer(conn, reader, min(started + bound, conn.deadline))
    except DeadlineExceeded:
        answered = False
    finally:
        if not sending.done():
            sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, DeadlineExceeded):
            await sending
    seconds = round(loop.time() - started, 4) if answered else None
    observed.timed_out = not answered and loop.time() >= conn.deadline
    observed.response = reader.response
    observed.response_error = reader.error
    observed.transport = conn.end
    if reader.response is not None and reader.response.status == 101:
        await conn.send(courtesy_close())
    return Timed(observed, seconds)


# -- Oversized request heads ---------------------------------------------------------------


def _oversized(policy: SecurityPolicy, headers: list[Header], what: str) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        timed = await timed_exchange(ctx, policy_request(ctx, policy, headers), ANSWER_BOUND)
        observed = timed.observed
        if timed.seconds is not None:
            observed.measures[ENDED_AFTER] = timed.seconds
            observed.notes.append(f"answered {what} after {timed.seconds:g} s")
        elif not observed.timed_out:
            observed.measures[OPEN_AT] = ANSWER_BOUND
            observed.notes.append(f"no answer to {what} within {ANSWER_BOUND:g} s")
        return observed

    return run


def many_lines() -> list[Header]:
    """:data:`MANY_LINES` short header lines (under :data:`MANY_LINES_BYTES` in all)."""
    return [(f"X-Line-{index}", "x") for index in range(MANY_LINES)]


# -- Answer time against header size (ReDoS) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    """One header at two sizes."""

    header: str
    values: tuple[str, str]  # the smaller, the larger
    sizes: tuple[str, str]  # each size, for reports: "30000 spaces"

    @property
    def size_ratio(self) -> float:
        return round(len(self.values[1]) / len(self.values[0]), 2)


def _timing(policy: SecurityPolicy, probe: Probe) -> RunFn:
    """Send ``header: value`` for the small and the large value :data:`REPEATS` times,
    interleaved; record both medians and their ratio."""
    header = probe.header

    async def run(ctx: CaseContext) -> Observed:
        async with timing_lock():
            return await measure(ctx)

    async def measure(ctx: CaseContext) -> Observed:
        observed = Observed()
        observed.measures[SIZE_RATIO] = probe.size_ratio
        times: tuple[list[float], list[float]] = ([], [])
        statuses: tuple[list[str], list[str]] = ([], [])
        for _ in range(REPEATS):
            for index, value in enumerate(probe.values):
                request = policy_request(ctx, policy, [(header, value)])
                timed = await timed_exchange(ctx, request, REDOS_BOUND)
                if timed.observed.timed_out:
                    observed.timed_out = True
                    observed.notes.append("the case deadline came first")
                    return observed
                if timed.seconds is None:
                    observed.measures[UNANSWERED] = 1
                    observed.notes.append(
                        f"no answer within {REDOS_BOUND:g} s to {header} at "
                        f"{probe.sizes[index]} (a parser this slow, or a server that neither "
                        "answers nor closes a head this large, holds the connection)"
                    )
                    return observed
                times[index].append(timed.seconds)
                response = timed.observed.response
                statuses[index].append(
                    str(response.status) if response else timed.observed.transport.value
                )
                observed.response = response
                observed.transport = timed.observed.transport
        small, large = median(times[0]), median(times[1])
        ratio = round(time_ratio(small, large), 2)
        observed.measures.update({SMALL_MEDIAN: small, LARGE_MEDIAN: large, TIME_RATIO: ratio})
        observed.notes.append(_timing_note(probe, small, large, ratio, statuses))
        return observed

    return run


def _timing_note(
    probe: Probe, small: float, large: float, ratio: float, statuses: tuple[list[str], ...]
) -> str:
    """One line: the medians, their ratio against the size's, what the answers were."""
    answers = " and ".join("/".join(sorted(set(seen))) for seen in statuses)
    size_refusals = {str(code) for code in SIZE_REFUSALS}
    bounded = all(seen in size_refusals for seen in statuses[-1])
    return (
        f"{probe.header} at {' / '.join(probe.sizes)}: answered in {small:g} s / {large:g} s "
        f"(medians of {REPEATS}), {ratio:g}x the time for {probe.size_ratio:g}x the size; "
        f"answers {answers}" + (" (refused for size: bounded)" if bounded else "")
    )


PROTOCOL_PROBE: Final = Probe(
    "Sec-WebSocket-Protocol",
    ("b" + " " * PROTOCOL_SPACES[0] + "x", "b" + " " * PROTOCOL_SPACES[1] + "x"),
    (f"{PROTOCOL_SPACES[0]} spaces", f"{PROTOCOL_SPACES[1]} spaces"),
)
EXTENSION_PROBE: Final = Probe(
    "Sec-WebSocket-Extensions",
    ('a; b="' + "\\c" * EXTENSION_PAIRS[0], 'a; b="' + "\\c" * EXTENSION_PAIRS[1]),
    (f"{EXTENSION_PAIRS[0]} \\c pairs", f"{EXTENSION_PAIRS[1]} \\c pairs"),
)

# -- The table ------------------------------------------------------------------------------


OVERSIZED = expect(HttpRefusal(CLIENT_ERRORS), ConnectionDropped())
OVERSIZED_NOTE = (
    "PASS: any 4xx (431 Request Header Fields Too Large, RFC 6585 §5, is the apt one; 400 "
    "and 413 serve), or the TCP connection dropped without an answer (§10.7 'MAY drop the "
    "TCP connection' faced with unsafe input). WARN: a 101 (the head was accepted whole), "
    f"a 5xx (the server failed rather than refused), or no answer within {ANSWER_BOUND:g} s "
    "(§10.7 'SHOULD return an appropriate HTTP status code')."
)


MANY_LINES_ACCEPTED: Final = (
    "accepted: no header-count cap seen; valid HTTP, so no rule is broken (a count cap is "
    "advice: Apache LimitRequestFields 100, Node maxHeadersCount 2000)"
)


def cases(policy: SecurityPolicy) -> tuple[Case, ...]:
    """The theme's checks for ``policy`` (its Origin and credential sent with each probe,
    so that a refusal is about the header, not about access)."""
    return (
        Case(
            id=f"{THEME}/long-line",
            title=f"A request header line of {LONG_LINE // 1024} KiB is refused",
            requirements=(rules.HANDSHAKE_ERROR_STATUS, rules.MAY_DROP_TCP, rules.VALIDATE_INPUT),
            level=Level.SHOULD,
            expect=OVERSIZED,
            run=_oversized(
                policy, [("X-Long", "a" * LONG_LINE)], f"a {LONG_LINE // 1024} KiB header line"
            ),
            profile="security",
            timeout_scale=2,
            notes=OVERSIZED_NOTE,
        ),
        Case(
            id=f"{THEME}/many-lines",
            title=f"A request with {MANY_LINES} header lines is refused",
            requirements=(rules.HANDSHAKE_ERROR_STATUS, rules.MAY_DROP_TCP, rules.VALIDATE_INPUT),
            level=Level.SHOULD,
            expect=OVERSIZED,
            run=_oversized(policy, many_lines(), f"{MANY_LINES} header lines"),
            allowed=(Allowed(HandshakeAccepted(), Outcome.INFO, MANY_LINES_ACCEPTED),),
            profile="security",
            timeout_scale=2,
            notes=(
                f"{MANY_LINES} short lines, under {MANY_LINES_BYTES // 1024} KiB in all: "
                "the count, not the size, is tested (Apache's LimitRequestFields is 100). "
                + OVERSIZED_NOTE
                + " A 101 is INFO here, not WARN: the head is valid HTTP, small in bytes, and "
                "no text bounds the number of fields (nginx, for one, caps bytes only)."
            ),
        ),
        _redos_case(
            "protocol-redos",
            "Sec-WebSocket-Protocol is parsed in linear time (CVE-2021-32640)",
            _timing(policy, PROTOCOL_PROBE),
            PROTOCOL_MAX_RATIO,
            "`b<spaces>x` (STEWS' sizes); linear parsing takes 2.2x the time, ws's "
            "quadratic split 4.84x.",
        ),
        _redos_case(
            "extensions-redos",
            "Sec-WebSocket-Extensions is parsed in linear time (CVE-2020-7662/7663)",
            _timing(policy, EXTENSION_PROBE),
            EXTENSION_MAX_RATIO,
            "an unclosed quoted parameter of `\\c` pairs (faye websocket-extensions' "
            "regular expression backtracks exponentially: each pair doubles its time).",
        ),
    )


def _redos_case(slug: str, title: str, run: RunFn, max_ratio: float, probe: str) -> Case:
    return Case(
        id=f"{THEME}/{slug}",
        title=title,
        requirements=(
            rules.VALIDATE_INPUT,
            rules.PROTECT_AGAINST_LIMITS,
            rules.HANDSHAKE_ERROR_STATUS,
        ),
        level=Level.SHOULD,
        expect=expect(GrowthBounded(max_ratio, TIME_FLOOR)),
        run=run,
        profile="security",
        timeout_scale=TIMING_SCALE,
        notes=(
            f"Times the answer to {probe} Each size is sent {REPEATS} times, interleaved, "
            f"and the medians compared. PASS: the larger size answered (any status) in "
            f"under {TIME_FLOOR:g} s, or in at most {max_ratio:.1f}x the smaller's time. "
            "A request refused for its size (431) quickly is bounded: PASS. WARN: more "
            f"growth, or no answer within {REDOS_BOUND:g} s (the server is stuck parsing). "
            "No RFC sentence names parse time; §10.7 (validate input) and §10.4 (protect "
            "against denial of service) are the nearest; timing is noisy, so both bounds "
            "are wide."
        ),
    )
