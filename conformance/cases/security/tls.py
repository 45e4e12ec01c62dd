"""TLS (issue #15; RFC 6455 §10.6, RFC 7692 §8): what a ``wss://`` server negotiates.

* ``security/tls/versions``: a TLS handshake pinned to 1.0, then to 1.1 (the client
  context's minimum and maximum both that version, OpenSSL's security level lowered so
  that it may offer them), then a default one whose agreed version is reported. A server
  completing a 1.0 or 1.1 handshake is WARN (RFC 8996 deprecates both); where the local
  OpenSSL will not offer them, they are "not testable here" (INFO).
* ``security/tls/certificate``: the chain and host name as the suite verifies them
  (``--ca-file``, or the system store), then the certificate's subject, issuer and days
  left; fewer than 30 days left is WARN.
* ``security/tls/crime-note``: permessage-deflate offered over ``wss://``; agreed with a
  compression context spanning messages is INFO (RFC 7692 §8, CRIME).

Over ``ws://`` each is INFO "not testable: the target is not wss", never PASS. Every
handshake goes to the target's host and port only, bounded by :data:`ATTEMPT_WAIT`.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

from cryptography import x509

from ...driver import Connection, Unreachable
from ...model.behaviours import expect
from ...model.observed import Observed, TransportEnd
from ...model.security_tls import (
    DAYS_LEFT,
    DEFLATE,
    LEGACY_ACCEPTED,
    LEGACY_UNTESTED,
    NEGOTIATED,
    VERIFIED,
    WSS,
    CertificateValid,
    ModernTlsOnly,
    NoCompressionTakeover,
    NotWss,
    deflate_takeover,
    version_number,
)
from ...model.verdict import Allowed, Level, Outcome
from ...policy.security import SecurityPolicy
from ...session.context import CannotRun, CaseContext
from ..base import Case, RunFn
from .access import policy_request, probe_upgrade

R_EMPLOY_TLS: Final = "rfc6455-10.6-employ-tls"  # SHOULD
R_SUPPORT_TLS: Final = "rfc6455-10.6-support-tls"
R_CRIME: Final = "rfc7692-8-crime-known-exploit"

ATTEMPT_WAIT: Final = 2.0
"""Seconds one TLS handshake may take."""
LEGACY_VERSIONS: Final = (("TLS 1.0", ssl.TLSVersion.TLSv1), ("TLS 1.1", ssl.TLSVersion.TLSv1_1))
LEGACY_CIPHERS: Final = "DEFAULT:@SECLEVEL=0"
"""OpenSSL 3 offers TLS 1.0/1.1 only at security level 0 (their SHA-1 signatures)."""
DEFLATE_OFFER: Final = ("Sec-WebSocket-Extensions", "permessage-deflate")
NOT_WSS: Final = "not testable: the target is not wss"
UNTESTABLE: Final = "not testable here (the local OpenSSL will not offer it)"
SECONDS_PER_DAY: Final = 86400


class RecordingContext(ssl.SSLContext):
    """A client context that keeps the TLS object of each connection it makes (to read
    the agreed version and the server's certificate after the driver's handshake)."""

    def __init__(self, protocol: int) -> None:  # ssl.SSLContext.__new__ takes ``protocol``
        self.objects: list[ssl.SSLObject] = []

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        made = super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)
        self.objects.append(made)
        return made


def unverified(context: ssl.SSLContext) -> ssl.SSLContext:
    """``context`` set to complete a handshake with any certificate (what is tested here is
    the version; the certificate check verifies)."""
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def legacy_context(version: ssl.TLSVersion) -> ssl.SSLContext | None:
    """A client context offering only ``version``; None when the local OpenSSL will not
    (it refuses the setting, or produces no ClientHello for it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1, TLSv1_1
            context = unverified(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
            context.minimum_version = version
            context.maximum_version = version
            context.set_ciphers(LEGACY_CIPHERS)
    except (ssl.SSLError, ValueError):
        return None
    probe = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
    try:
        probe.do_handshake()
    except ssl.SSLWantReadError:
        return context  # a ClientHello went out: the version can be offered
    except ssl.SSLError:
        return None
    return None


async def handshake_with(ctx: CaseContext, context: ssl.SSLContext) -> str | None:
    """A TLS handshake with the target under ``context``; None when it completed, else
    the reason it failed (the connection is closed at once either way)."""
    deadline = min(ctx.deadline, asyncio.get_running_loop().time() + ATTEMPT_WAIT)
    target = replace(ctx.target, ssl_context=context)
    try:
        conn = await Connection.open(target, deadline, ctx.transcript)
    except Unreachable as exc:
        return str(exc)
    ctx.connections.append(conn)
    await conn.close()
    return None


def _not_wss(ctx: CaseContext, observed: Observed) -> bool:
    """Record whether the target is wss://; True when it is not (nothing to test)."""
    observed.measures[WSS] = 1 if ctx.target.secure else 0
    observed.transport = TransportEnd.CLOSED_BY_US  # each handshake's connection, closed
    return not ctx.target.secure


async def _negotiated(ctx: CaseContext) -> tuple[ssl.SSLObject | None, str | None]:
    """The TLS object of a default handshake (None, with why, when it failed)."""
    context = RecordingContext(ssl.PROTOCOL_TLS_CLIENT)
    failed = await handshake_with(ctx, unverified(context))
    return (context.objects[-1] if context.objects and failed is None else None), failed


async def _versions(ctx: CaseContext) -> Observed:
    observed = Observed()
    if _not_wss(ctx, observed):
        return observed
    accepted = untested = 0
    for name, version in LEGACY_VERSIONS:
        context = legacy_context(version)
        if context is None:
            untested += 1
            observed.notes.append(f"{name}: {UNTESTABLE}")
            continue
        failed = await handshake_with(ctx, context)
        accepted += failed is None
        observed.notes.append(f"{name}: {'accepted' if failed is None else 'refused'}")
    made, failed = await _negotiated(ctx)
    agreed = made.version() if made is not None else None
    observed.measures.update(
        {LEGACY_ACCEPTED: accepted, LEGACY_UNTESTED: untested, NEGOTIATED: version_number(agreed)}
    )
    observed.notes.append(f"a default handshake agreed {agreed or f'nothing ({failed})'}")
    observed.timed_out = agreed is None  # nothing to judge: ERROR, never a verdict
    return observed


def expiry(cert: x509.Certificate) -> datetime:
    """``notAfter`` as an aware UTC time (``not_valid_after_utc`` is cryptography ≥ 42)."""
    aware: datetime | None = getattr(cert, "not_valid_after_utc", None)
    return aware if aware is not None else cert.not_valid_after.replace(tzinfo=UTC)


def describe_certificate(der: bytes, now: datetime) -> tuple[str, int]:
    """One line (subject, issuer, names, expiry) and the whole days left, for DER ``der``."""
    cert = x509.load_der_x509_certificate(der)
    after = expiry(cert)
    days = int((after - now).total_seconds() // SECONDS_PER_DAY)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        alt = ", ".join(str(v) for v in names.value.get_values_for_type(x509.DNSName)[:4])
    except x509.ExtensionNotFound:
        alt = ""
    text = f"subject {cert.subject.rfc4514_string() or '(empty)'}"
    text += f", issuer {cert.issuer.rfc4514_string() or '(empty)'}"
    if alt:
        text += f", DNS names {alt}"
    return f"{text}, expires {after:%Y-%m-%d} ({days} days left)", days


async def _certificate(ctx: CaseContext) -> Observed:
    observed = Observed()
    if _not_wss(ctx, observed):
        return observed
    context = ctx.target.ssl_context or ssl.create_default_context()
    failed = await handshake_with(ctx, context)
    observed.measures[VERIFIED] = 1 if failed is None else 0
    observed.notes.append("verified with the suite's trust settings" if failed is None else failed)
    made, why = await _negotiated(ctx)
    der = made.getpeercert(binary_form=True) if made is not None else None
    if der:
        line, days = describe_certificate(der, datetime.now(UTC))
        observed.measures[DAYS_LEFT] = days
        observed.notes.append(line)
    else:
        observed.notes.append(f"no certificate read ({why or 'none sent'})")
    observed.timed_out = failed is not None and not der  # no handshake at all: ERROR
    return observed


def _crime(policy: SecurityPolicy) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        observed = Observed()
        if _not_wss(ctx, observed):
            return observed
        response = await probe_upgrade(ctx, policy_request(ctx, policy, [DEFLATE_OFFER]))
        if response is None or response.status != 101:
            shown = response.describe() if response is not None else "no HTTP response"
            raise CannotRun(f"the opening handshake offering permessage-deflate failed: {shown}")
        observed.response = response
        values = response.values(b"sec-websocket-extensions")
        observed.measures[DEFLATE] = deflate_takeover(values)
        agreed = b", ".join(values).decode("latin-1") or "no extension"
        observed.notes.append(f"offered permessage-deflate, agreed: {agreed}")
        return observed

    return run


NOT_WSS_INFO: Final = Allowed(NotWss(), Outcome.INFO, NOT_WSS)

VERSIONS_NOTES: Final = (
    "Reads: RFC 6455 §10.6 asks for TLS and names no version; RFC 8996 deprecates TLS 1.0 "
    "and 1.1 (a MUST NOT outside the specs this suite quotes), so a server completing "
    "either is WARN. The client lowers OpenSSL's security level to offer them; where the "
    "local OpenSSL still refuses, they are not testable here (INFO). A default handshake "
    "agreeing TLS 1.2 or 1.3 is the PASS; the certificate is not verified here."
)
CERTIFICATE_NOTES: Final = (
    "Reads: the chain and host name verified as every case connects (--ca-file, else the "
    "system store); subject, issuer and expiry are read from the certificate the server "
    "sends. Fewer than 30 days left is WARN (the renewal margin of ACME clients), an "
    "unverifiable certificate is WARN (§10.6 SHOULD employ TLS: one a client rejects "
    "protects nothing)."
)
CRIME_NOTES: Final = (
    "Reads: RFC 7692 §8 warns that history-based compression over a secure transport is "
    "exploitable (CRIME) and uses no keyword: a server agreeing to permessage-deflate with "
    "a context spanning messages (no server_/client_no_context_takeover) is INFO, for "
    "applications mixing secrets with attacker-chosen data in one connection."
)


def cases(policy: SecurityPolicy) -> tuple[Case, ...]:
    """The TLS checks (for ``wss://`` targets)."""
    return (
        Case(
            id="security/tls/versions",
            title="The server refuses TLS 1.0 and 1.1 and agrees TLS 1.2 or later",
            requirements=(R_EMPLOY_TLS, R_SUPPORT_TLS),
            level=Level.SHOULD,
            expect=expect(ModernTlsOnly()),
            run=_versions,
            allowed=(
                NOT_WSS_INFO,
                Allowed(
                    ModernTlsOnly(untested_ok=True),
                    Outcome.INFO,
                    "TLS 1.0/1.1 not testable here: the local OpenSSL will not offer them",
                ),
            ),
            notes=VERSIONS_NOTES,
            profile="security",
        ),
        Case(
            id="security/tls/certificate",
            title="The certificate verifies for the host and is not about to expire",
            requirements=(R_EMPLOY_TLS,),
            level=Level.SHOULD,
            expect=expect(CertificateValid()),
            run=_certificate,
            allowed=(NOT_WSS_INFO,),
            notes=CERTIFICATE_NOTES,
            profile="security",
        ),
        Case(
            id="security/tls/crime-note",
            title="No compression context spans messages over TLS (CRIME)",
            requirements=(R_CRIME,),
            level=Level.MAY,
            expect=expect(NoCompressionTakeover()),
            run=_crime(policy),
            allowed=(NOT_WSS_INFO,),
            notes=CRIME_NOTES,
            profile="security",
        ),
    )


__all__ = ["RecordingContext", "cases", "describe_certificate", "legacy_context"]
