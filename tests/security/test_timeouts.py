"""Security theme "timeouts" (slow and idle peers; RFC 6455 §5.5.1, §10.4): the hardened
server passes every check under the hardened policy, the plain reference server gets the
same verdicts with no policy stated, and each timeouts fault is reported by the checks it
names. The time a check saw is in its measures; no test asserts a timing.

Every server of this module is run at once, in one event loop (the longest wait, a
fault's 20 s bound, is paid once); the judging of time bounds is also checked sans I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from fnmatch import fnmatch
from functools import cache

import pytest

from conformance.cases.security import timeouts
from conformance.driver import Target
from conformance.hardening import HARDENED_POLICY, start_hardened_server
from conformance.model.observed import CloseInfo, HttpResponse, Observed, TransportEnd
from conformance.model.security_timing import (
    ENDED_AFTER,
    OPEN_AT,
    SERVER_PINGS,
    EndedWithin,
    PingedWhileIdle,
    TcpClosedAfterClose,
)
from conformance.model.verdict import Outcome
from conformance.policy.security import SecurityPolicy
from conformance.reference_server import LoopbackServer, start_reference_server
from conformance.results import CaseResult
from conformance.runner import run_cases, select_cases
from fixtures.security_faults_timeouts import FAULTS

pytestmark = pytest.mark.network

CASE_TIMEOUT = 5.0
REPORTED = (Outcome.WARN, Outcome.FAIL)
SLOW = "security/timeouts/slow-handshake"
SILENT = "security/timeouts/no-request"
IDLE = "security/timeouts/idle-open"
CLOSE = "security/timeouts/unfinished-close"
BOUNDED = (SLOW, SILENT, CLOSE)
HARDENED = "hardened"
REFERENCE = "reference"

Start = Callable[[], Awaitable[LoopbackServer]]
Results = dict[str, CaseResult]


async def _run(start: Start, policy: SecurityPolicy) -> Results:
    cases = select_cases(profile="security", cases=timeouts.cases(policy))
    async with await start() as server:
        results = await run_cases(cases, Target.parse(server.url), timeout=CASE_TIMEOUT, jobs=4)
    return {result.id: result for result in results}


@cache
def runs() -> dict[str, Results]:
    """Every server's results: hardened, plain reference, each fault (all at once)."""
    starts: dict[str, tuple[Start, SecurityPolicy]] = {
        HARDENED: (start_hardened_server, HARDENED_POLICY),
        REFERENCE: (start_reference_server, SecurityPolicy()),
    }
    for fault in FAULTS:
        starts[fault.name] = (
            lambda fault=fault: fault.start("127.0.0.1", 0, None),
            HARDENED_POLICY,
        )

    async def main() -> list[Results]:
        return await asyncio.gather(*(_run(start, policy) for start, policy in starts.values()))

    return dict(zip(starts, asyncio.run(main()), strict=True))


def test_the_theme_is_in_the_security_profile_only() -> None:
    cases = timeouts.cases(SecurityPolicy())
    assert {case.id for case in cases} == {SLOW, SILENT, IDLE, CLOSE}
    assert all(case.profile == "security" and case.role == "server" for case in cases)
    assert not select_cases(profile="default", cases=cases)


@pytest.mark.parametrize("server", [HARDENED, REFERENCE])
def test_a_server_that_bounds_every_wait_passes(server: str) -> None:
    """The hardened server under HARDENED_POLICY, and the plain reference server with no
    policy stated, close what they should in time (10 s handshake timeout, TCP closed
    right after the closing handshake): PASS, and the idle window is reported as INFO."""
    results = runs()[server]
    for check in BOUNDED:
        assert results[check].outcome is Outcome.PASS, results[check].actual
    assert results[IDLE].outcome is Outcome.INFO, results[IDLE].actual
    assert "no Ping from the server" in results[IDLE].actual


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_each_timeouts_fault_is_reported_by_its_checks(fault: object) -> None:
    from fixtures.security_fault import SecurityFault

    assert isinstance(fault, SecurityFault)
    results = runs()[fault.name]
    for pattern in fault.reported_by:
        matched = [r for r in results.values() if fnmatch(r.id, pattern)]
        assert matched, pattern
        for result in matched:
            assert result.outcome in REPORTED, (result.id, result.actual)


def test_a_trickled_handshake_held_past_the_bound_is_warn_with_the_bound_stated() -> None:
    result = runs()["no-handshake-timeout"][SLOW]
    assert result.outcome is Outcome.WARN
    assert "still open after 20 s" in result.actual


def test_a_silent_connection_held_open_is_info_never_warn() -> None:
    """No text bounds a connection that sends nothing (a kernel may hold it): INFO."""
    result = runs()["no-handshake-timeout"][SILENT]
    assert result.outcome is Outcome.INFO, result.actual
    assert "still open" in result.actual


def test_tcp_left_open_after_the_closing_handshake_is_fail() -> None:
    """§5.5.1: "The server MUST close the underlying TCP connection immediately"."""
    result = runs()["no-tcp-close-after-close"][CLOSE]
    assert result.outcome is Outcome.FAIL
    assert "TCP still open 5 s after the server's Close" in result.actual


def test_idle_open_never_warns_or_fails() -> None:
    for results in runs().values():
        assert results[IDLE].outcome in (Outcome.PASS, Outcome.INFO), results[IDLE].actual


# -- the judging of time bounds, sans I/O -------------------------------------------------


def test_ended_within_needs_the_server_to_end_it_within_the_bound() -> None:
    rule = EndedWithin(20.0, "a trickled head")
    closed = Observed(transport=TransportEnd.EOF, measures={ENDED_AFTER: 10.0})
    assert rule.matches(closed)
    assert not rule.matches(Observed(transport=TransportEnd.EOF, measures={ENDED_AFTER: 21.0}))
    assert not rule.matches(Observed(measures={OPEN_AT: 20.0}))
    refused = HttpResponse(408, b"Request Timeout", b"HTTP/1.1", ())
    assert rule.matches(Observed(response=refused, measures={ENDED_AFTER: 1.0}))
    switched = HttpResponse(101, b"Switching Protocols", b"HTTP/1.1", ())
    assert not rule.matches(Observed(response=switched, measures={ENDED_AFTER: 1.0}))


def test_tcp_closed_after_close_needs_the_close_and_the_tcp_end_in_time() -> None:
    rule = TcpClosedAfterClose(5.0)
    close = CloseInfo(1000, reply=True)
    assert rule.matches(
        Observed(close=close, transport=TransportEnd.EOF, measures={ENDED_AFTER: 0})
    )
    assert not rule.matches(Observed(close=close, measures={OPEN_AT: 5.0}))
    assert not rule.matches(Observed(transport=TransportEnd.EOF, measures={ENDED_AFTER: 0}))


def test_a_server_pinging_an_idle_client_passes_idle_open() -> None:
    case = next(c for c in timeouts.cases(SecurityPolicy()) if c.id == IDLE)
    pinged = Observed(upgraded=True, responsive=True, measures={SERVER_PINGS: 2})
    assert PingedWhileIdle(10.0).matches(pinged)
    assert case.judge(pinged).outcome is Outcome.PASS
    closed = Observed(upgraded=True, close=CloseInfo(1001), transport=TransportEnd.EOF)
    assert case.judge(closed).outcome is Outcome.INFO
