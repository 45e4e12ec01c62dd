"""Time bounds and time growth, judged sans I/O (issue #15: "Slow and idle peers",
"Header abuse").

No RFC 6455 sentence bounds a server in time; the security checks report how long a
server held a connection it had every reason to end, and how its answer time grew with
the size of a header, as named measurements in :attr:`Observed.measures`. The
behaviours here read those measurements (and how the connection ended), so a verdict
stays a pure function of the observation: the probe only measures.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from .observed import Observed, TransportEnd

ENDED_AFTER: Final = "ended_after_s"
"""Seconds from the probe's start until the server ended it (an HTTP answer, or TCP end)."""
OPEN_AT: Final = "open_at_s"
"""Seconds the probe watched before giving up, the connection still open (its bound)."""
SMALL_MEDIAN: Final = "small_median_s"
"""Median answer time (s) to the smaller of two probes of one header."""
LARGE_MEDIAN: Final = "large_median_s"
"""Median answer time (s) to the larger one."""
TIME_RATIO: Final = "time_ratio"
"""``LARGE_MEDIAN / SMALL_MEDIAN``."""
SIZE_RATIO: Final = "size_ratio"
"""How much larger the larger probe is (bytes, or repetitions)."""
SERVER_PINGS: Final = "server_pings"
"""Pings the server sent to an idle client."""
FIRST_PING: Final = "first_ping_s"
"""Seconds from the start of the idle window to the server's first Ping."""
UNANSWERED: Final = "unanswered"
"""Probes the server neither answered nor closed within the per-request bound."""

MIN_SECONDS: Final = 0.001
"""The smallest time a ratio divides by: a 0 s answer on loopback is not infinitely fast."""

_TCP_ENDED = frozenset({TransportEnd.EOF, TransportEnd.RESET})
_ERROR_STATUSES = range(400, 600)


def median(samples: Sequence[float]) -> float:
    """The median of the answer times: one slow sample (a scheduler hiccup) does not count."""
    return statistics.median(samples)


def time_ratio(small: float, large: float) -> float:
    """How many times longer the larger probe took (small floored at :data:`MIN_SECONDS`)."""
    return large / max(small, MIN_SECONDS)


def ended_by_server(observed: Observed) -> bool:
    """The server ended the exchange: an HTTP error response, or TCP closed without a 101."""
    response = observed.response
    if response is not None:
        return response.status in _ERROR_STATUSES
    return observed.transport in _TCP_ENDED


@dataclass(frozen=True, slots=True)
class EndedWithin:
    """The server ended a connection that never completed a request within ``bound``
    seconds: an HTTP error response (408, 400, ...) or a TCP close."""

    bound: float
    what: str  # the probe, for reports: "a request trickled one line every 2 s"

    def describe(self) -> str:
        return (
            f"the server ended {self.what} within {self.bound:g} s "
            "(an HTTP error response or a TCP close)"
        )

    def matches(self, observed: Observed) -> bool:
        ended = observed.measures.get(ENDED_AFTER)
        return ended is not None and ended <= self.bound and ended_by_server(observed)


@dataclass(frozen=True, slots=True)
class TcpClosedAfterClose:
    """After the closing handshake (the server's Close came), the server closed TCP
    within ``bound`` seconds of its Close, the client never closing its side."""

    bound: float

    def describe(self) -> str:
        return f"the server's Close, then its TCP close within {self.bound:g} s"

    def matches(self, observed: Observed) -> bool:
        ended = observed.measures.get(ENDED_AFTER)
        return (
            observed.close is not None
            and observed.transport in _TCP_ENDED
            and ended is not None
            and ended <= self.bound
        )


@dataclass(frozen=True, slots=True)
class PingedWhileIdle:
    """The server sent a Ping to a client idle for the window, and kept the connection
    open (a keepalive that finds dead peers), its Pong answered."""

    window: float

    def describe(self) -> str:
        return f"a Ping from the server within a {self.window:g} s idle window, the connection kept"

    def matches(self, observed: Observed) -> bool:
        return (
            observed.measures.get(SERVER_PINGS, 0) > 0
            and observed.close is None
            and observed.transport is TransportEnd.OPEN
        )


@dataclass(frozen=True, slots=True)
class GrowthBounded:
    """Every probe of a header at two sizes was answered (any status, or a TCP close),
    and the answer time grew no faster than ``max_ratio`` from the smaller to the
    larger, or the larger was answered within ``floor`` seconds (noise, not growth)."""

    max_ratio: float
    floor: float

    def describe(self) -> str:
        return (
            f"every probe answered, the larger size in under {self.floor:g} s (median) or "
            f"at most {self.max_ratio:.1f}x the smaller size's time"
        )

    def matches(self, observed: Observed) -> bool:
        m = observed.measures
        if m.get(UNANSWERED, 0) or LARGE_MEDIAN not in m or SMALL_MEDIAN not in m:
            return False
        if m[LARGE_MEDIAN] < self.floor:
            return True
        return time_ratio(m[SMALL_MEDIAN], m[LARGE_MEDIAN]) <= self.max_ratio
