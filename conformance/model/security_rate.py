"""Connection and message rate (issue #15), sans-IO: the measures the rate checks take and
the readings they report.

No text sets a connection count or a message rate: RFC 6455 §10.4 only asks an
implementation to protect itself against its limits, and §7.4.1 gives 1008 (policy) for
a refusal; 1013 (try again later) is IANA-registered. So these checks never PASS or
FAIL: each reading is INFO (:class:`ReportOnly` is their expectation, which nothing
matches), and a probe that saw nothing at all is ERROR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .observed import Observed

TRIED: Final = "connections_tried"
ACCEPTED: Final = "connections_accepted"
"""Handshakes answered with a 101 and still open when the probe looked."""
THROTTLED: Final = "connections_throttled"
"""Refused with HTTP 503/429, or closed with 1008/1013 right after the 101."""
REFUSED_OTHER: Final = "connections_refused_other"
"""Refused another way: another HTTP status, or TCP closed with no answer."""
UNANSWERED: Final = "connections_unanswered"
"""No answer before the probe's bound (or the connection could not be opened)."""

SENT: Final = "messages_sent"
ECHOED: Final = "messages_echoed"
CLOSE_CODE: Final = "close_code"
"""The code of the server's Close during the burst (0: none)."""

THROTTLE_STATUSES: Final = frozenset({429, 503})
"""RFC 6585 §4 (Too Many Requests), RFC 9110 §15.6.4 (Service Unavailable)."""
THROTTLE_CODES: Final = frozenset({1008, 1013})
"""RFC 6455 §7.4.1 (policy violation); IANA registry (try again later)."""


@dataclass(frozen=True, slots=True)
class ReportOnly:
    """Nothing to pass: the text sets no rate, so every reading is reported as INFO."""

    what: str  # "connection count", "message rate"

    def describe(self) -> str:
        return f"nothing: no text sets a {self.what}; what was seen is reported as INFO"

    def matches(self, observed: Observed) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class AllConnectionsAccepted:
    """Every connection tried was upgraded and kept: no cap seen up to that count."""

    def describe(self) -> str:
        return "every connection upgraded and kept open (no cap seen)"

    def matches(self, observed: Observed) -> bool:
        tried = observed.measures.get(TRIED, 0)
        return tried > 0 and observed.measures.get(ACCEPTED, 0) == tried


@dataclass(frozen=True, slots=True)
class ConnectionsThrottled:
    """Some connections were refused with 503/429 or closed with 1008/1013."""

    def describe(self) -> str:
        return "connections past a cap refused with HTTP 503/429 or closed with 1008/1013"

    def matches(self, observed: Observed) -> bool:
        return observed.measures.get(THROTTLED, 0) > 0


@dataclass(frozen=True, slots=True)
class BurstEchoed:
    """Every message of the burst echoed: no throttle seen."""

    def describe(self) -> str:
        return "every message of the burst echoed (no throttle seen)"

    def matches(self, observed: Observed) -> bool:
        sent = observed.measures.get(SENT, 0)
        return sent > 0 and observed.measures.get(ECHOED, 0) == sent


@dataclass(frozen=True, slots=True)
class BurstThrottled:
    """The server closed the burst with 1008 or 1013: it throttles messages."""

    def describe(self) -> str:
        return "the burst closed with 1008/1013 (the server throttles)"

    def matches(self, observed: Observed) -> bool:
        return observed.measures.get(CLOSE_CODE, 0) in THROTTLE_CODES
