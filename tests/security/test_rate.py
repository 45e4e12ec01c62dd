"""The rate checks (issue #15; RFC 6455 §10.4, §7.4.1) report and never judge: every
reading is INFO, with the counts in the Actual text; a server capping connections with
503 is told apart from one accepting them all; nothing observed is ERROR, never PASS."""

from __future__ import annotations

from dataclasses import replace
from ssl import SSLContext
from typing import Final

import pytest
from access_runs import outcomes, run_on

from conformance.cases.security import rate
from conformance.hardening import HARDENED_POLICY, Hardening, start_hardened_server
from conformance.model.observed import Observed
from conformance.model.security_rate import (
    ACCEPTED,
    CLOSE_CODE,
    ECHOED,
    SENT,
    THROTTLED,
    TRIED,
    AllConnectionsAccepted,
    BurstEchoed,
    BurstThrottled,
    ConnectionsThrottled,
    ReportOnly,
)
from conformance.model.server_access import AccessPolicy
from conformance.model.server_handshake import ReceivedRequest, Refusal
from conformance.model.verdict import Outcome
from conformance.policy.security import SecurityPolicy
from conformance.reference_server import ReferenceServer, start_reference_server

IDLE: Final = "security/rate/idle-connections"
BURST: Final = "security/rate/message-burst"
CAP: Final = 20
"""Connections the capping test server accepts before it answers 503."""
TRIED_HERE: Final = 40
UNAVAILABLE: Final = 503


class CappedAccess(AccessPolicy):
    """The hardened access policy, answering 503 once :data:`CAP` upgrades were accepted
    (a count over the server's life: the test starts a fresh one)."""

    accepted = 0

    def validate_request(self, request: ReceivedRequest) -> Refusal | None:
        refusal = super().validate_request(request)
        if refusal is not None:
            return refusal
        if self.accepted >= CAP:
            return Refusal(UNAVAILABLE, "too many connections")
        self.accepted += 1
        return None


async def _hardened(host: str, port: int, ssl: SSLContext | None) -> ReferenceServer:
    return await start_hardened_server(host, port, ssl)


async def _plain(host: str, port: int, ssl: SSLContext | None) -> ReferenceServer:
    return await start_reference_server(host, port, ssl)


async def _capped(host: str, port: int, ssl: SSLContext | None) -> ReferenceServer:
    hardening = Hardening()
    behaviour = CappedAccess(hardening.origins, hardening.auth_header)
    return await start_hardened_server(host, port, ssl, hardening, behaviour=behaviour)


# -- sans-IO: the readings --------------------------------------------------------------


def test_report_only_never_matches() -> None:
    assert not ReportOnly("message rate").matches(Observed(measures={SENT: 1, ECHOED: 1}))


def test_connection_readings_tell_a_cap_from_none() -> None:
    all_in = Observed(measures={TRIED: 5, ACCEPTED: 5, THROTTLED: 0})
    capped = Observed(measures={TRIED: 5, ACCEPTED: 3, THROTTLED: 2})
    assert AllConnectionsAccepted().matches(all_in) and not ConnectionsThrottled().matches(all_in)
    assert ConnectionsThrottled().matches(capped) and not AllConnectionsAccepted().matches(capped)
    assert not AllConnectionsAccepted().matches(Observed(measures={TRIED: 0, ACCEPTED: 0}))


def test_burst_readings_tell_a_throttle_from_none() -> None:
    echoed = Observed(measures={SENT: 10, ECHOED: 10, CLOSE_CODE: 0})
    throttled = Observed(measures={SENT: 10, ECHOED: 4, CLOSE_CODE: 1013})
    refused = Observed(measures={SENT: 10, ECHOED: 4, CLOSE_CODE: 1009})
    assert BurstEchoed().matches(echoed) and not BurstThrottled().matches(echoed)
    assert BurstThrottled().matches(throttled) and not BurstEchoed().matches(throttled)
    assert not BurstThrottled().matches(refused) and not BurstEchoed().matches(refused)


# -- against servers ------------------------------------------------------------------


@pytest.mark.network
def test_rate_checks_are_info_against_the_hardened_server() -> None:
    results = run_on(_hardened, rate.cases(HARDENED_POLICY))
    assert outcomes(results) == {IDLE: Outcome.INFO, BURST: Outcome.INFO}, results
    connections = HARDENED_POLICY.connections
    assert f"{connections} upgraded and kept" in results[IDLE].actual
    assert "no connection cap seen" in results[IDLE].actual
    assert "1000 echoed" in results[BURST].actual
    assert "no message throttle seen" in results[BURST].actual


@pytest.mark.network
def test_rate_checks_are_info_against_the_reference_server_without_a_policy() -> None:
    policy = SecurityPolicy(connections=TRIED_HERE)
    results = run_on(_plain, rate.cases(policy))
    assert outcomes(results) == {IDLE: Outcome.INFO, BURST: Outcome.INFO}, results


@pytest.mark.network
def test_a_server_capping_connections_with_503_is_reported_as_capping() -> None:
    policy = replace(HARDENED_POLICY, connections=TRIED_HERE)
    idle = [case for case in rate.cases(policy) if case.id == IDLE]
    results = run_on(_capped, idle)
    assert results[IDLE].outcome is Outcome.INFO
    actual = results[IDLE].actual
    assert f"{CAP} upgraded and kept, {TRIED_HERE - CAP} refused with 503/429" in actual
    assert "the server caps connections" in actual
