"""Running the access checks (Origin, credential) against a server started for the test."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from fnmatch import fnmatch
from typing import Final

from conformance.cases.base import Case
from conformance.cases.security import auth, origin
from conformance.driver import Target
from conformance.hardening import HARDENED_POLICY
from conformance.model.verdict import Outcome
from conformance.policy.security import SecurityPolicy
from conformance.results import CaseResult
from conformance.runner import run_cases
from fixtures.security_fault import SecurityFault, StartServer

CASE_TIMEOUT: Final = 5.0
JOBS: Final = 4
HOST: Final = "127.0.0.1"


def access_cases(policy: SecurityPolicy = HARDENED_POLICY) -> list[Case]:
    """The Origin and authentication checks built for ``policy``."""
    return [*origin.cases(policy), *auth.cases(policy)]


async def _run(start: StartServer, cases: Sequence[Case]) -> dict[str, CaseResult]:
    async with await start(HOST, 0, None) as server:
        results = await run_cases(cases, Target.parse(server.url), timeout=CASE_TIMEOUT, jobs=JOBS)
    return {result.id: result for result in results}


def run_on(start: StartServer, cases: Sequence[Case]) -> dict[str, CaseResult]:
    """Each case's result against the server ``start`` starts (stopped afterwards)."""
    return asyncio.run(_run(start, cases))


def outcomes(results: dict[str, CaseResult]) -> dict[str, Outcome]:
    return {case_id: result.outcome for case_id, result in results.items()}


def unreported(fault: SecurityFault, cases: Sequence[Case]) -> dict[str, str]:
    """The checks ``fault`` names that did not report it at their failure level (FAIL
    under a stated policy, WARN for a SHOULD), with what they saw; {} when all did."""
    named = [c for c in cases if any(fnmatch(c.id, glob) for glob in fault.reported_by)]
    assert named, f"{fault.name}: reported_by names no check"
    results = run_on(fault.start, named)
    return {
        c.id: f"{results[c.id].outcome.value}: {results[c.id].actual}"
        for c in named
        if results[c.id].outcome is not c.level.failure
    }
