"""The error-leakage checks (RFC 6455 §10.7; OWASP ASVS 7.4.1, 14.3.3): the scanner finds
each kind of disclosure and no false one in terse errors; the hardened and the plain
reference server pass; each leakage fault is reported by the checks it names."""

from __future__ import annotations

from ssl import SSLContext
from typing import Final

import pytest
from access_runs import outcomes, run_on, unreported

from conformance.cases.security import leakage
from conformance.hardening import HARDENED_POLICY, start_hardened_server
from conformance.model.observed import Observed
from conformance.model.security_leakage import (
    ANSWERED,
    EXCEPTION,
    PATH,
    TRACE,
    NothingDisclosed,
    banner_versions,
    merge,
    scan,
    scan_http,
)
from conformance.model.verdict import Outcome
from conformance.policy.security import SecurityPolicy
from conformance.reference_server import ReferenceServer, start_reference_server
from fixtures.security_fault import SecurityFault
from fixtures.security_faults_leakage import CLOSE_REASON, FAULTS

LEAKAGE_IDS: Final = (
    "security/leakage/handshake-error",
    "security/leakage/close-reason",
    "security/leakage/version-banner",
)
TRACES: Final = {
    "Python traceback": 'Traceback (most recent call last):\n  File "x.py", line 3, in f',
    "Java stack frame": "java.lang.IllegalStateException: x\n\tat com.acme.Ws.open(Ws.java:12)",
    "Node.js stack frame": "Error: x\n    at Object.<anonymous> (/app/server.js:1:2)",
    "Go goroutine dump": "panic: x\n\ngoroutine 1 [running]:\nmain.main()",
    ".NET stack frame": "   at Acme.Ws.Open() in C:\\src\\Ws.cs:line 12",
}
TERSE: Final = (
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    "missing Sec-WebSocket-Key; see https://example.com/docs/errors.html\n"
)


# -- sans-IO: the scanner ---------------------------------------------------------------


@pytest.mark.parametrize("what", sorted(TRACES))
def test_scan_finds_each_platforms_stack_trace(what: str) -> None:
    found = scan(TRACES[what])
    assert any(line.startswith(f"{TRACE}: ") for line in found), found


def test_scan_finds_an_absolute_path_and_an_exception_class() -> None:
    kinds = {line.split(":", 1)[0] for line in scan(CLOSE_REASON.decode())}
    assert kinds == {PATH, EXCEPTION}


def test_terse_errors_and_urls_are_not_disclosures() -> None:
    assert scan_http(TERSE.encode()) == []
    assert scan("Invalid opcode 0x3; protocol error: bad close code 999") == []


def test_versions_are_read_from_banner_headers_only() -> None:
    head = b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.24.0\r\nX-Powered-By: Express\r\n\r\n"
    assert banner_versions(head) == ["version: Server: 'nginx/1.24.0'"]
    assert banner_versions(b"HTTP/1.1 400 x\r\nServer: nginx\r\n\r\nnginx/1.24.0") == []


def test_merge_names_every_answer_a_finding_was_in() -> None:
    merged = merge([("a", ["x: y: 'z'"]), ("b", ["x: y: 'z'"]), ("c", [])])
    assert merged == ["x: y: 'z' in a, b"]


def test_nothing_disclosed_needs_an_answer_and_no_finding() -> None:
    behaviour = NothingDisclosed("terse answers")
    assert not behaviour.matches(Observed())  # nothing answered: never a PASS
    assert behaviour.matches(Observed(measures={ANSWERED: 1}))
    assert not behaviour.matches(Observed(measures={ANSWERED: 1}, leaks=["path: p: '/srv/x'"]))


# -- against servers ------------------------------------------------------------------


async def _plain(host: str, port: int, ssl: SSLContext | None) -> ReferenceServer:
    return await start_reference_server(host, port)


async def _hardened(host: str, port: int, ssl: SSLContext | None) -> ReferenceServer:
    return await start_hardened_server(host, port)


@pytest.mark.network
def test_hardened_server_passes_leakage_checks_under_its_policy() -> None:
    results = run_on(_hardened, leakage.cases(HARDENED_POLICY))
    assert outcomes(results) == dict.fromkeys(LEAKAGE_IDS, Outcome.PASS), results


@pytest.mark.network
def test_reference_server_passes_leakage_checks_without_a_policy() -> None:
    results = run_on(_plain, leakage.cases(SecurityPolicy()))
    assert outcomes(results) == dict.fromkeys(LEAKAGE_IDS, Outcome.PASS), results


@pytest.mark.network
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_each_leakage_fault_is_reported_by_its_checks(fault: SecurityFault) -> None:
    assert unreported(fault, leakage.cases(HARDENED_POLICY)) == {}


@pytest.mark.network
def test_verbose_errors_are_named_in_the_findings() -> None:
    verbose = next(f for f in FAULTS if f.name == "verbose-errors")
    results = run_on(verbose.start, leakage.cases(HARDENED_POLICY))
    assert "Traceback" in results["security/leakage/handshake-error"].actual
    assert "ValueError:" in results["security/leakage/close-reason"].actual
    assert results["security/leakage/version-banner"].outcome is Outcome.PASS
