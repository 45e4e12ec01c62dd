"""TLS for ``wss://`` (RFC 6455 §10.6; RFC 7692 §8), sans-IO: the measures the TLS checks
take and the behaviours they accept.

Each check records numbers in :attr:`Observed.measures` (named below) and one line in
its notes; the behaviours read only those numbers. A ``ws://`` target has nothing to
test: :class:`NotWss` (INFO, never PASS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from .observed import Observed

WSS: Final = "wss"
"""1 when the target is ``wss://``, 0 for ``ws://``."""
LEGACY_ACCEPTED: Final = "legacy_accepted"
"""TLS versions below 1.2 the server completed a handshake with."""
LEGACY_UNTESTED: Final = "legacy_untested"
"""TLS versions below 1.2 the local OpenSSL would not offer (so not tested here)."""
NEGOTIATED: Final = "negotiated_version"
"""The version a default handshake agreed, as a number (1.3 for TLSv1.3)."""
VERIFIED: Final = "verified"
"""1 when the certificate chain and host name verified with the suite's trust settings."""
DAYS_LEFT: Final = "days_left"
"""Whole days until the server certificate expires."""
DEFLATE: Final = "deflate"
"""permessage-deflate in the 101: see :data:`DECLINED`, :data:`NO_TAKEOVER`, :data:`TAKEOVER`."""
DECLINED, NO_TAKEOVER, TAKEOVER = 0, 1, 2

MODERN: Final = 1.2
"""The oldest version a server should accept (RFC 8996 deprecates TLS 1.0 and 1.1)."""
EXPIRY_MARGIN_DAYS: Final = 30
"""A certificate with fewer days left is WARN: the renewal margin ACME clients use."""
VERSION_NUMBERS: Final = {"TLSv1": 1.0, "TLSv1.1": 1.1, "TLSv1.2": 1.2, "TLSv1.3": 1.3}
""":meth:`ssl.SSLObject.version` names as numbers."""

PERMESSAGE_DEFLATE: Final = "permessage-deflate"
SERVER_NO_TAKEOVER: Final = "server_no_context_takeover"
CLIENT_NO_TAKEOVER: Final = "client_no_context_takeover"


def version_number(name: str | None) -> float:
    """The number of a TLS version name (0 when unknown or None)."""
    return VERSION_NUMBERS.get(name or "", 0.0)


def deflate_takeover(extension_values: Sequence[bytes]) -> int:
    """How a 101's ``Sec-WebSocket-Extensions`` values agree to permessage-deflate:
    :data:`DECLINED`, :data:`NO_TAKEOVER` (both directions reset their context,
    RFC 7692 §7.1.1) or :data:`TAKEOVER` (a compression context spans messages)."""
    for value in extension_values:
        for element in value.decode("latin-1").split(","):
            name, *params = (part.strip().lower() for part in element.split(";"))
            if name != PERMESSAGE_DEFLATE:
                continue
            keys = {param.split("=", 1)[0].strip() for param in params}
            both = {SERVER_NO_TAKEOVER, CLIENT_NO_TAKEOVER} <= keys
            return NO_TAKEOVER if both else TAKEOVER
    return DECLINED


def _secure(observed: Observed) -> bool:
    return observed.measures.get(WSS, 0) == 1


@dataclass(frozen=True, slots=True)
class NotWss:
    """The target is ``ws://``: nothing of TLS to test."""

    def describe(self) -> str:
        return "not testable: the target is not wss://"

    def matches(self, observed: Observed) -> bool:
        return observed.measures.get(WSS) == 0


@dataclass(frozen=True, slots=True)
class ModernTlsOnly:
    """TLS 1.0 and 1.1 offered and refused, and a default handshake agreed 1.2 or later.

    ``untested_ok``: TLS 1.0/1.1 the local OpenSSL could not offer do not spoil it (the
    reading for an allowance reported as INFO, "not testable here")."""

    untested_ok: bool = False

    def describe(self) -> str:
        if self.untested_ok:
            return (
                "TLS 1.2 or later agreed, TLS 1.0/1.1 not testable here "
                "(the local OpenSSL would not offer them)"
            )
        return "TLS 1.0 and 1.1 refused, TLS 1.2 or later agreed by default"

    def matches(self, observed: Observed) -> bool:
        measures = observed.measures
        untested = measures.get(LEGACY_UNTESTED, 0)
        return (
            _secure(observed)
            and measures.get(LEGACY_ACCEPTED, 0) == 0
            and (untested > 0 if self.untested_ok else untested == 0)
            and measures.get(NEGOTIATED, 0) >= MODERN
        )


@dataclass(frozen=True, slots=True)
class CertificateValid:
    """The chain and host name verified, and the certificate is not about to expire."""

    margin_days: int = EXPIRY_MARGIN_DAYS

    def describe(self) -> str:
        return (
            "a certificate that verifies for the host with the given CA and has at least "
            f"{self.margin_days} days left"
        )

    def matches(self, observed: Observed) -> bool:
        measures = observed.measures
        return (
            _secure(observed)
            and measures.get(VERIFIED, 0) == 1
            and measures.get(DAYS_LEFT, -1) >= self.margin_days
        )


@dataclass(frozen=True, slots=True)
class NoCompressionTakeover:
    """Over ``wss://``, permessage-deflate declined, or agreed without context takeover."""

    def describe(self) -> str:
        return (
            "permessage-deflate declined, or agreed with server_ and "
            "client_no_context_takeover (no compression context spans messages)"
        )

    def matches(self, observed: Observed) -> bool:
        return _secure(observed) and observed.measures.get(DEFLATE) in (DECLINED, NO_TAKEOVER)
