"""The reference client (conformance/clients/reference/) passes every client scenario and
every wire case (conformance/clients/wire_cases.py).

It is built on the suite's own model, so it conforms by construction: any FAIL, WARN or
ERROR here is a false alarm of the scenario server, the harness or the judge (or a bug of
the reference client). The only INFOs allowed are the run's failure timing (``whatwg``)
and, under ``rfc6455-client``, the refused 101 without a subprotocol, which WHATWG requires
and RFC 6455 §4.1 merely allows. One scenario does not apply to it: it offers
``client_max_window_bits``, so a 101 naming one it did not offer cannot be staged.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from conformance import __version__
from conformance.clients.runner import (
    NEEDS_NAMESPACE,
    RUN_WIDE,
    isolated,
    run_client_suite,
    select_scenarios,
    select_wire_cases,
)
from conformance.clients.scenarios import PROFILES, Profile
from conformance.model.verdict import Outcome
from conformance.results import RunReport

pytestmark = pytest.mark.network

ADAPTER = [sys.executable, "-m", "conformance.clients.reference"]
EXPECTED_INFO: dict[Profile, frozenset[str]] = {
    "whatwg": frozenset({"client/whatwg/failure-timing"}),
    "rfc6455-client": frozenset({"client/handshake/protocol-not-acked"}),
}
EXPECTED_UNSUPPORTED = frozenset({"client/deflate/cmwb-unoffered"})


def run(profile: Profile) -> RunReport:
    scenarios = select_scenarios(profile)
    return asyncio.run(
        run_client_suite(
            ADAPTER,
            scenarios,
            profile,
            label="reference",
            timeout=5.0,
            wire_cases=select_wire_cases("default"),
        )
    )


@pytest.mark.parametrize("profile", PROFILES)
def test_reference_client_passes_every_scenario(profile: Profile) -> None:
    report = run(profile)
    assert report.target_url == f"reference (ws-conformance reference client {__version__})"
    scenario_ids = [s.id for s in select_scenarios(profile)]
    wire_ids = [c.id for c in select_wire_cases("default")]
    results = {r.id: r for r in report.results}
    assert set(scenario_ids) | set(RUN_WIDE) | set(wire_ids) <= set(results)
    namespace_only = {i for i in scenario_ids if i.rsplit("/", 1)[-1] in NEEDS_NAMESPACE}
    if not isolated():
        for scenario_id in namespace_only:
            assert results[scenario_id].outcome is Outcome.ERROR
            assert "not run" in results[scenario_id].actual
        results = {i: r for i, r in results.items() if i not in namespace_only}
    wanted = dict.fromkeys(results, Outcome.PASS)
    wanted.update(dict.fromkeys(EXPECTED_INFO[profile], Outcome.INFO))
    wanted.update(dict.fromkeys(EXPECTED_UNSUPPORTED, Outcome.UNSUPPORTED))
    wrong = {
        i: f"{r.outcome.value}: {r.actual}" for i, r in results.items() if r.outcome != wanted[i]
    }
    assert not wrong, wrong
    assert EXPECTED_INFO[profile] <= set(results)
