"""The TLS checks (RFC 6455 §10.6, RFC 7692 §8; RFC 8996): over ``wss://`` the hardened
server agrees TLS 1.2+ only and a valid certificate, a server also accepting TLS 1.0/1.1
is WARN, TLS 1.0/1.1 the local OpenSSL will not offer are "not testable here" (INFO),
and over ``ws://`` every TLS check is INFO, never PASS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from datetime import timedelta
from typing import Final

import pytest
import trustme
from cryptography import x509

from conformance.cases.base import Case
from conformance.cases.security import tls
from conformance.driver import Target
from conformance.hardening import HARDENED_POLICY, Hardening, start_hardened_server
from conformance.model.observed import Observed
from conformance.model.security_tls import (
    DAYS_LEFT,
    DECLINED,
    EXPIRY_MARGIN_DAYS,
    NO_TAKEOVER,
    TAKEOVER,
    VERIFIED,
    WSS,
    CertificateValid,
    deflate_takeover,
    version_number,
)
from conformance.model.server_access import AccessPolicy
from conformance.model.server_handshake import ReceivedRequest
from conformance.model.verdict import Outcome
from conformance.reference_server import ReferenceServer
from conformance.results import CaseResult
from conformance.runner import run_cases
from conformance.tls import TlsFiles, make_tls_files
from fixtures.security_fault import StartServer
from fixtures.security_faults_tls import FAULTS

HOST: Final = "127.0.0.1"
NAME: Final = "localhost"  # the name the test certificate is issued for
CASE_TIMEOUT: Final = 5.0
VERSIONS: Final = "security/tls/versions"
CERTIFICATE: Final = "security/tls/certificate"
CRIME: Final = "security/tls/crime-note"
TLS_IDS: Final = (VERSIONS, CERTIFICATE, CRIME)


def _legacy_offerable() -> bool:
    return all(tls.legacy_context(version) is not None for _, version in tls.LEGACY_VERSIONS)


async def _run(
    start: StartServer, files: TlsFiles | None, cases: Sequence[Case] | None = None
) -> dict[str, CaseResult]:
    context = None if files is None else files.server_context()
    async with await start(HOST, 0, context) as server:
        url = server.url.replace(HOST, NAME) if files is not None else server.url
        target = Target.parse(url, None if files is None else files.client_context())
        chosen = tls.cases(HARDENED_POLICY) if cases is None else cases
        results = await run_cases(chosen, target, timeout=CASE_TIMEOUT)
    return {result.id: result for result in results}


def run_tls(
    start: StartServer, files: TlsFiles | None, cases: Sequence[Case] | None = None
) -> dict[str, CaseResult]:
    return asyncio.run(_run(start, files, cases))


async def _hardened(host: str, port: int, context: ssl.SSLContext | None) -> ReferenceServer:
    return await start_hardened_server(host, port, context)


class NoDeflate(AccessPolicy):
    """The hardened access policy, declining every extension offer (RFC 7692 §5)."""

    def negotiate_extensions(self, request: ReceivedRequest) -> None:
        return None


async def _no_deflate(host: str, port: int, context: ssl.SSLContext | None) -> ReferenceServer:
    hardening = Hardening()
    behaviour = NoDeflate(hardening.origins, hardening.auth_header)
    return await start_hardened_server(host, port, context, hardening, behaviour=behaviour)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


# -- sans-IO ----------------------------------------------------------------------------


def test_deflate_takeover_reads_both_no_context_takeover_parameters() -> None:
    both = b"permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    assert deflate_takeover([]) == DECLINED
    assert deflate_takeover([b"x-other"]) == DECLINED
    assert deflate_takeover([b"permessage-deflate"]) == TAKEOVER
    assert deflate_takeover([b"permessage-deflate; server_no_context_takeover"]) == TAKEOVER
    assert deflate_takeover([both]) == NO_TAKEOVER


def test_version_names_become_numbers() -> None:
    assert version_number("TLSv1.3") == 1.3
    assert version_number("TLSv1") == 1.0
    assert version_number(None) == 0.0


def test_certificate_near_expiry_is_not_valid() -> None:
    valid = CertificateValid()
    fresh = Observed(measures={WSS: 1, VERIFIED: 1, DAYS_LEFT: EXPIRY_MARGIN_DAYS})
    expiring = Observed(measures={WSS: 1, VERIFIED: 1, DAYS_LEFT: EXPIRY_MARGIN_DAYS - 1})
    unverified = Observed(measures={WSS: 1, VERIFIED: 0, DAYS_LEFT: 400})
    assert valid.matches(fresh)
    assert not valid.matches(expiring)
    assert not valid.matches(unverified)
    assert not valid.matches(Observed(measures={WSS: 0}))


def test_describe_certificate_counts_the_days_left() -> None:
    leaf = trustme.CA().issue_cert(NAME)
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    expiry = x509.load_der_x509_certificate(der).not_valid_after_utc
    line, days = tls.describe_certificate(der, expiry - timedelta(days=10, hours=1))
    assert days == 10
    assert NAME in line and f"expires {expiry:%Y-%m-%d}" in line


# -- against servers ------------------------------------------------------------------


@pytest.mark.network
def test_hardened_server_over_wss_passes_versions_and_certificate(files: TlsFiles) -> None:
    results = run_tls(_hardened, files)
    legacy = Outcome.PASS if _legacy_offerable() else Outcome.INFO
    assert results[VERSIONS].outcome is legacy, results[VERSIONS].actual
    assert "agreed TLSv1.3" in results[VERSIONS].actual
    assert results[CERTIFICATE].outcome is Outcome.PASS, results[CERTIFICATE].actual
    assert "localhost" in results[CERTIFICATE].actual
    # The reference server agrees permessage-deflate with context takeover: §8's note.
    assert results[CRIME].outcome is Outcome.INFO, results[CRIME].actual


@pytest.mark.network
def test_crime_note_passes_when_deflate_is_declined(files: TlsFiles) -> None:
    results = run_tls(_no_deflate, files, [c for c in tls.cases(HARDENED_POLICY) if c.id == CRIME])
    assert results[CRIME].outcome is Outcome.PASS, results[CRIME].actual


@pytest.mark.network
def test_legacy_tls_fault_is_reported_or_untestable_here(files: TlsFiles) -> None:
    (fault,) = FAULTS
    results = run_tls(fault.start, files)
    if _legacy_offerable():
        assert results[VERSIONS].outcome is Outcome.WARN, results[VERSIONS].actual
        assert "TLS 1.0: accepted" in results[VERSIONS].actual
    else:
        assert results[VERSIONS].outcome is Outcome.INFO
        assert "not testable here" in results[VERSIONS].actual


@pytest.mark.network
def test_versions_not_offerable_locally_are_info_not_testable_here(
    files: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls, "legacy_context", lambda version: None)
    (fault,) = FAULTS
    results = run_tls(
        fault.start, files, [c for c in tls.cases(HARDENED_POLICY) if c.id == VERSIONS]
    )
    assert results[VERSIONS].outcome is Outcome.INFO
    assert "not testable here" in results[VERSIONS].actual


@pytest.mark.network
def test_tls_checks_over_plain_ws_are_info_never_pass() -> None:
    results = run_tls(_hardened, None)
    assert {k: r.outcome for k, r in results.items()} == dict.fromkeys(TLS_IDS, Outcome.INFO)
    assert all("not wss" in r.actual for r in results.values())
