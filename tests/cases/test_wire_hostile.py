"""Wire-rule cases against hostile peers: no PASS, every case ends within its deadline.

Every seventh default-profile wire case (a sample across all sections) runs against
each hostile peer of fixtures/hostile.py. A peer that answers the handshake and then
drops, floods, stalls or announces a 2**63-1-byte frame must never earn a PASS.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from case_runs import run_on

from conformance.cases import all_cases, handshake
from conformance.model.verdict import Outcome
from conformance.results import CaseResult
from conformance.runner import GRACE
from fixtures.hostile import HOSTILE_KINDS, start_hostile_server

pytestmark = pytest.mark.network

WIRE = [case for case in all_cases() if case.profile == "default" and case not in handshake.CASES][
    ::7
]
TIMEOUT = 0.5
JOBS = 8


def _run(kind: str) -> tuple[list[CaseResult], float]:
    async def main() -> list[CaseResult]:
        return await run_on(await start_hostile_server(kind), WIRE, timeout=TIMEOUT, jobs=JOBS)

    started = time.monotonic()
    results = asyncio.run(asyncio.wait_for(main(), 120))
    return results, time.monotonic() - started


def test_the_sample_spans_every_wire_section() -> None:
    sections = {case.section.split(".")[0] for case in WIRE}
    assert {"5", "7", "8"} <= sections
    assert len(WIRE) >= 40


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_hostile_peer_gets_no_pass_and_every_case_ends(kind: str) -> None:
    results, elapsed = _run(kind)
    passed = [r.id for r in results if r.outcome is Outcome.PASS]
    assert not passed, f"{kind}: {passed}"
    assert all(r.duration_s <= TIMEOUT + GRACE + 1.0 for r in results), kind
    rounds = len(WIRE) // JOBS + 1
    assert elapsed < rounds * (TIMEOUT + GRACE + 1.0) + 5, f"{kind}: {elapsed:.1f}s"
