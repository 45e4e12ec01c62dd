"""The Origin checks (RFC 6455 §10.2, §4.2.2, §10.7): the hardened server passes them
under the policy it enforces, the plain reference server (no Origin check) is WARN on the
foreign origins and INFO elsewhere, and each Origin fault is reported by its checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from ssl import SSLContext
from typing import Final

import pytest
from access_runs import access_cases, outcomes, run_on, unreported

from conformance.cases.security import origin
from conformance.cases.security.origin import HOST_ONLY_LOOKALIKES
from conformance.hardening import HARDENED_ORIGINS, HARDENED_POLICY, start_hardened_server
from conformance.model.security_origin import LOOKALIKES, lookalike_origin, split_origin
from conformance.model.server_access import AccessPolicy
from conformance.model.server_handshake import ReceivedRequest
from conformance.model.verdict import Level, Outcome
from conformance.policy.security import STATED, SecurityPolicy
from conformance.reference_server import ReferenceServer, start_reference_server
from fixtures.security_fault import SecurityFault
from fixtures.security_faults_origin import FAULTS, PrefixMatch

pytestmark = pytest.mark.network

ROOT: Final = Path(__file__).resolve().parents[2]
ALLOWED: Final = HARDENED_ORIGINS[0]
ORIGIN_FAULTS: Final = {
    f.name: f for f in FAULTS if f.reported_by[0].startswith("security/origin/")
}
FOREIGN_IDS: Final = (
    "security/origin/foreign",
    "security/origin/null",
    "security/origin/cookie-foreign",
)
LOOKALIKE_IDS: Final = tuple(f"security/origin/lookalike-{k.slug}" for k in LOOKALIKES)
LOOPBACK_PREFIX: Final = "http://127.0.0.1"
SERVE_TIMEOUT: Final = 10.0


def _request(origin_value: str) -> ReceivedRequest:
    return ReceivedRequest("GET", "/", "1.1", (("Origin", origin_value),))


# -- sans-IO: the look-alikes and the exact match --------------------------------------


def test_lookalikes_of_an_origin_are_the_ones_comparisons_confuse() -> None:
    made = {k.slug: lookalike_origin(k.slug, ALLOWED) for k in LOOKALIKES}
    assert made == {
        "suffix": "https://app.example.evil.example",
        "prefix": "https://evilapp.example",
        "subdomain": "https://evil.app.example",
        "dot-wildcard": "https://appXexample",
        "scheme": "http://app.example",
        "port": "https://app.example:8443",
    }


def test_lookalikes_keep_a_stated_port_and_handle_a_dotless_host() -> None:
    assert lookalike_origin("port", "http://localhost:9001") == "http://localhost:9002"
    assert lookalike_origin("dot-wildcard", "http://localhost") == "http://evilXlocalhost"
    assert lookalike_origin("suffix", "not an origin") is None
    assert split_origin("https://APP.example:443") is not None


def test_exact_allow_list_refuses_every_lookalike_and_accepts_the_origin() -> None:
    policy = AccessPolicy(HARDENED_ORIGINS)
    assert policy.check_origin(_request(ALLOWED)) is None
    assert policy.check_origin(_request(ALLOWED.upper())) is None  # hosts are case-blind
    for kind in LOOKALIKES:
        value = lookalike_origin(kind.slug, ALLOWED)
        assert value is not None
        refusal = policy.check_origin(_request(value))
        assert refusal is not None and refusal.status == 403, kind.slug


def test_without_stated_origins_no_lookalike_check_is_skipped() -> None:
    ids = [c.id for c in origin.cases(SecurityPolicy())]
    assert set(LOOKALIKE_IDS) <= set(ids)
    unusable = SecurityPolicy(origin_allow=("null",))
    assert not any(c.id in LOOKALIKE_IDS for c in origin.cases(unusable))


def test_stated_origins_make_the_origin_checks_musts() -> None:
    stated = {c.id: c.level.failure for c in origin.cases(HARDENED_POLICY)}
    unstated = {c.id: c.level.failure for c in origin.cases(SecurityPolicy())}
    host_only = {f"security/origin/lookalike-{slug}" for slug in HOST_ONLY_LOOKALIKES}
    for case_id in (*FOREIGN_IDS, *LOOKALIKE_IDS):
        unstated_failure = Outcome.INFO if case_id in host_only else Outcome.WARN
        assert (stated[case_id], unstated[case_id]) == (Outcome.FAIL, unstated_failure), case_id


def test_a_host_only_origin_check_is_info_without_stated_origins() -> None:
    """Another scheme or port of the target's own host: a host-only comparison is a
    common design, so without --origin-allow it cannot be called a mistake."""
    unstated = {c.id: c.level for c in origin.cases(SecurityPolicy())}
    assert unstated["security/origin/lookalike-scheme"] is Level.MAY
    assert unstated["security/origin/lookalike-port"] is Level.MAY
    assert unstated["security/origin/lookalike-suffix"] is Level.SHOULD


# -- against servers -------------------------------------------------------------------


def test_hardened_server_passes_every_origin_check_under_its_policy() -> None:
    cases = [c for c in access_cases() if c.id.startswith("security/origin/")]
    results = run_on(start_hardened_server, cases)
    seen = outcomes(results)
    assert seen.pop("security/origin/absent") is Outcome.INFO  # no Origin: not a browser
    assert set(seen.values()) == {Outcome.PASS}, {i: results[i].actual for i in seen}


def test_reference_server_without_policy_warns_on_foreign_origins_only() -> None:
    seen = outcomes(run_on(start_reference_server, origin.cases(SecurityPolicy())))
    assert {i: seen.pop(i) for i in FOREIGN_IDS} == dict.fromkeys(FOREIGN_IDS, Outcome.WARN)
    # It checks no Origin at all: the look-alikes, the refusal status and the absent
    # Origin have nothing more to report than the foreign checks do.
    assert set(seen.values()) == {Outcome.INFO}, seen


def test_reference_server_under_stated_origins_fails_with_the_policy_named() -> None:
    stated = SecurityPolicy(origin_allow=(ALLOWED,))
    results = run_on(start_reference_server, origin.cases(stated))
    for case_id in (*FOREIGN_IDS, *LOOKALIKE_IDS):
        assert results[case_id].outcome is Outcome.FAIL, case_id
        assert STATED in results[case_id].actual


async def _prefix_matching_loopback(
    host: str, port: int, ssl: SSLContext | None
) -> ReferenceServer:
    """Allows any Origin starting with ``http://127.0.0.1`` (the target's own, unported)."""
    return await start_reference_server(host, port, ssl, behaviour=PrefixMatch((LOOPBACK_PREFIX,)))


def test_bypass_of_the_targets_own_origin_is_warn_without_stated_origins() -> None:
    cases = [c for c in origin.cases(SecurityPolicy()) if c.id in (*FOREIGN_IDS, *LOOKALIKE_IDS)]
    seen = outcomes(run_on(_prefix_matching_loopback, cases))
    assert seen["security/origin/foreign"] is Outcome.PASS
    assert seen["security/origin/lookalike-suffix"] is Outcome.WARN
    assert seen["security/origin/lookalike-subdomain"] is Outcome.PASS


@pytest.mark.parametrize("name", sorted(ORIGIN_FAULTS))
def test_origin_fault_is_reported_by_its_checks(name: str) -> None:
    fault: SecurityFault = ORIGIN_FAULTS[name]
    assert not unreported(fault, access_cases())


def test_hardened_server_serves_in_the_foreground() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.hardening", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on ws://127.0.0.1:"), line
    finally:
        process.terminate()
        process.wait(timeout=SERVE_TIMEOUT)
