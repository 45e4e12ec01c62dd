"""Security theme "headers" (header abuse; RFC 6455 §10.7, §10.4; CVE-2021-32640,
CVE-2020-7662/7663): the hardened server passes every check under the hardened policy,
the plain reference server with no policy stated too, and each headers fault is reported
by the checks it names and by no other header check.

The servers run one after the other: a fault parsing a header in super-linear time blocks
its event loop, which is the test's, so two at once would time each other. The verdicts
rest on medians and wide ratios; no test asserts a timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from fnmatch import fnmatch
from functools import cache

import pytest

from conformance.cases.security import headers
from conformance.driver import Target
from conformance.hardening import HARDENED_POLICY, start_hardened_server
from conformance.model.observed import Observed
from conformance.model.security_timing import (
    LARGE_MEDIAN,
    SMALL_MEDIAN,
    UNANSWERED,
    GrowthBounded,
)
from conformance.model.server_handshake import (
    MAX_HEADER_LINES,
    ReceivedRequest,
    ServerBehaviour,
)
from conformance.model.verdict import Outcome
from conformance.policy.security import SecurityPolicy
from conformance.reference_server import LoopbackServer, start_reference_server
from conformance.results import CaseResult
from conformance.runner import run_cases, select_cases
from fixtures.security_fault import SecurityFault
from fixtures.security_faults_headers import FAULTS

pytestmark = pytest.mark.network

CASE_TIMEOUT = 5.0
REPORTED = (Outcome.WARN, Outcome.FAIL)
LONG = "security/headers/long-line"
MANY = "security/headers/many-lines"
PROTOCOL = "security/headers/protocol-redos"
EXTENSIONS = "security/headers/extensions-redos"
HARDENED = "hardened"
REFERENCE = "reference"

Start = Callable[[], Awaitable[LoopbackServer]]
Results = dict[str, CaseResult]


async def _run(start: Start, policy: SecurityPolicy) -> Results:
    cases = select_cases(profile="security", cases=headers.cases(policy))
    async with await start() as server:
        results = await run_cases(cases, Target.parse(server.url), timeout=CASE_TIMEOUT, jobs=4)
    return {result.id: result for result in results}


@cache
def runs() -> dict[str, Results]:
    """Every server's results (hardened, plain reference, each fault), one at a time."""

    async def main() -> dict[str, Results]:
        out = {
            HARDENED: await _run(start_hardened_server, HARDENED_POLICY),
            REFERENCE: await _run(start_reference_server, SecurityPolicy()),
        }
        for fault in FAULTS:
            out[fault.name] = await _run(
                lambda fault=fault: fault.start("127.0.0.1", 0, None), HARDENED_POLICY
            )
        return out

    return asyncio.run(main())


def test_the_theme_is_in_the_security_profile_only() -> None:
    cases = headers.cases(SecurityPolicy())
    assert {case.id for case in cases} == {LONG, MANY, PROTOCOL, EXTENSIONS}
    assert all(case.profile == "security" and case.role == "server" for case in cases)
    assert not select_cases(profile="default", cases=cases)


@pytest.mark.parametrize("server", [HARDENED, REFERENCE])
def test_a_server_with_a_bounded_head_passes_every_header_check(server: str) -> None:
    """16 KiB and 100 header lines at most, refused with 431; linear parsing."""
    for result in runs()[server].values():
        assert result.outcome is Outcome.PASS, (result.id, result.actual)
    assert "431" in runs()[server][LONG].actual
    assert "431" in runs()[server][MANY].actual
    assert "refused for size: bounded" in runs()[server][PROTOCOL].actual


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_each_headers_fault_is_reported_by_its_checks_and_no_other(fault: SecurityFault) -> None:
    results = runs()[fault.name]
    for result in results.values():
        named = any(fnmatch(result.id, pattern) for pattern in fault.reported_by)
        if named:
            # A header-count cap is advice only: its absence is reported as INFO.
            expected = (Outcome.INFO,) if result.id == MANY else REPORTED
            assert result.outcome in expected, (result.id, result.actual)
        else:
            assert result.outcome is Outcome.PASS, (result.id, result.actual)


def test_an_accepted_oversized_head_is_warn_with_the_101_shown() -> None:
    """§10.7: "the server SHOULD return an appropriate HTTP status code"."""
    assert runs()["no-header-size-cap"][LONG].outcome is Outcome.WARN
    assert "HTTP 101" in runs()["no-header-size-cap"][LONG].actual


def test_many_accepted_header_lines_are_info_with_no_count_cap_stated() -> None:
    """1,000 short fields are valid HTTP: no text bounds their number (advice only)."""
    many = runs()["no-header-line-cap"][MANY]
    assert many.outcome is Outcome.INFO
    assert "HTTP 101" in many.actual and "no header-count cap seen" in many.actual


def test_super_linear_parse_time_is_warn_with_the_medians_stated() -> None:
    for fault, check in (
        ("quadratic-protocol-parse", PROTOCOL),
        ("exponential-extensions-parse", EXTENSIONS),
    ):
        result = runs()[fault][check]
        assert result.outcome is Outcome.WARN
        assert "(medians of 3)" in result.actual


# -- the server's header-line cap and the judging of growth, sans I/O -----------------------


def _request(lines: int) -> ReceivedRequest:
    headers_ = tuple((f"X-{n}", "x") for n in range(lines))
    return ReceivedRequest("GET", "/", "1.1", headers_)


def test_many_lines_tests_the_count_not_the_size() -> None:
    lines = headers.many_lines()
    assert len(lines) == headers.MANY_LINES > MAX_HEADER_LINES
    assert sum(len(n) + len(v) + 4 for n, v in lines) < headers.MANY_LINES_BYTES


def test_the_reference_server_refuses_more_than_its_header_lines_with_431() -> None:
    behaviour = ServerBehaviour()
    refusal = behaviour.check_header_lines(_request(MAX_HEADER_LINES + 1))
    assert refusal is not None and refusal.status == 431
    assert behaviour.check_header_lines(_request(MAX_HEADER_LINES)) is None


def test_growth_bounded_reads_the_floor_the_ratio_and_unanswered_probes() -> None:
    rule = GrowthBounded(max_ratio=3.3, floor=0.2)

    def seen(small: float, large: float, unanswered: int = 0) -> Observed:
        return Observed(measures={SMALL_MEDIAN: small, LARGE_MEDIAN: large, UNANSWERED: unanswered})

    assert rule.matches(seen(0.01, 0.15))  # 15x, but under the floor: noise
    assert rule.matches(seen(0.3, 0.9))  # 3x: linear enough
    assert not rule.matches(seen(0.16, 0.7))  # 4.4x above the floor: quadratic
    assert not rule.matches(seen(0.01, 0.01, unanswered=1))
    assert not rule.matches(Observed())
