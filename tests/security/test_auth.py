"""The authentication checks (RFC 6455 §10.5, §4.2.2): built only for a stated
credential; the hardened server passes them; a server that does not require the
credential, or requires it on one path only, FAILs the checks its fault names."""

from __future__ import annotations

from ssl import SSLContext
from typing import Final

import pytest
from access_runs import access_cases, outcomes, run_on, unreported

from conformance.cases.security import auth
from conformance.hardening import HARDENED_POLICY, Hardening, start_hardened_server
from conformance.model.verdict import Outcome
from conformance.policy.security import STATED, SecurityPolicy
from conformance.reference_server import ReferenceServer, start_reference_server
from fixtures.security_faults_origin import FAULTS

pytestmark = pytest.mark.network

AUTH_FAULTS: Final = {f.name: f for f in FAULTS if f.reported_by[0].startswith("security/auth/")}
AUTH_IDS: Final = (
    "security/auth/missing",
    "security/auth/wrong",
    "security/auth/other-path",
    "security/auth/accepted",
)
API_KEY: Final = ("X-Api-Key", "k-123")


def test_no_stated_credential_builds_no_auth_check() -> None:
    assert auth.cases(SecurityPolicy()) == ()
    assert tuple(c.id for c in auth.cases(HARDENED_POLICY)) == AUTH_IDS


def test_wrong_value_has_the_same_length_and_another_last_character() -> None:
    assert auth.wrong_value("Bearer abc") == "Bearer abx"
    assert auth.wrong_value("Bearer abx") == "Bearer aby"


def test_other_resource_is_a_sibling_path() -> None:
    assert auth.other_resource(b"/") == b"/other"
    assert auth.other_resource(b"/?t=1") == b"/other"
    assert auth.other_resource(b"/chat?t=1") == b"/chatx"


def test_hardened_server_passes_every_auth_check() -> None:
    cases = [c for c in access_cases() if c.id.startswith("security/auth/")]
    results = run_on(start_hardened_server, cases)
    assert outcomes(results) == dict.fromkeys(AUTH_IDS, Outcome.PASS)
    assert results["security/auth/missing"].actual.startswith("HTTP 401")


async def _api_key_server(host: str, port: int, ssl: SSLContext | None) -> ReferenceServer:
    return await start_hardened_server(host, port, ssl, Hardening(auth_header=API_KEY))


def test_a_non_authorization_credential_is_refused_with_403_and_passes() -> None:
    policy = SecurityPolicy(origin_allow=HARDENED_POLICY.origin_allow, auth_header=API_KEY)
    results = run_on(_api_key_server, auth.cases(policy))
    assert outcomes(results) == dict.fromkeys(AUTH_IDS, Outcome.PASS)
    assert results["security/auth/wrong"].actual.startswith("HTTP 403")


def test_reference_server_fails_the_refusals_with_the_policy_named() -> None:
    results = run_on(start_reference_server, auth.cases(HARDENED_POLICY))
    refusals = AUTH_IDS[:-1]
    assert {i: results[i].outcome for i in refusals} == dict.fromkeys(refusals, Outcome.FAIL)
    assert all(STATED in results[i].actual for i in refusals)
    assert results["security/auth/accepted"].outcome is Outcome.PASS


def test_a_server_refusing_everything_fails_the_accepted_check() -> None:
    wrong = SecurityPolicy(auth_header=("Authorization", "Bearer not-the-servers"))
    results = run_on(start_hardened_server, auth.cases(wrong))
    assert results["security/auth/accepted"].outcome is Outcome.FAIL


@pytest.mark.parametrize("name", sorted(AUTH_FAULTS))
def test_auth_fault_is_reported_by_its_checks(name: str) -> None:
    assert not unreported(AUTH_FAULTS[name], access_cases())
