"""Origin look-alikes and the answers the access checks tell apart (RFC 6455 §10.2,
§4.2.2, §10.7), sans-IO.

A server that "SHOULD verify the |Origin| field is an origin they expect" (§10.2) is
only as good as its comparison: a prefix, suffix, substring or unescaped-regex match lets
an attacker's page through. :func:`lookalikes` builds, from one allowed origin, the
origins such comparisons confuse with it (after STEWS' CSWSH probes). The behaviours
below read what a handshake carrying one got: a 4xx refusal, a 101 held open (the
upgrade accepted), a 101 closed at once, or something else that is not an upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from .observed import HttpResponse, Observed, TransportEnd

FOREIGN_ORIGIN: Final = "http://evil.example"
"""An origin no application serves (the research's ``sec/origin/foreign``)."""
NULL_ORIGIN: Final = "null"
"""What a browser sends from a sandboxed frame or a ``file:`` page (RFC 6454 §7.3)."""
EVIL_LABEL: Final = "evil"
EVIL_DOMAIN: Final = "evil.example"  # RFC 2606 §3: reserved, never a real site
WILDCARD_CHAR: Final = "X"
"""Stands in for each dot of the host: an unescaped ``.`` in a pattern matches it."""
ALTERNATIVE_PORTS: Final = {"http": 8080, "https": 8443}
"""The port a port look-alike adds to an origin that names none."""
MAX_PORT: Final = 65535

SWITCHING: Final = 101
CLIENT_ERRORS: Final = frozenset(range(400, 500))
"""RFC 9110 §15.5: the request was refused (403, 401, 400, ...)."""
FORBIDDEN: Final = 403  # §10.2: "SHOULD respond ... with ... HTTP 403 Forbidden"
_CLOSED = frozenset({TransportEnd.EOF, TransportEnd.RESET})


@dataclass(frozen=True, slots=True)
class Lookalike:
    """One way to resemble an allowed origin, and the comparison it defeats."""

    slug: str
    title: str
    defeats: str


LOOKALIKES: Final = (
    Lookalike("suffix", "the allowed host with a foreign domain appended", "a prefix match"),
    Lookalike("prefix", "the allowed host with letters prepended", "a suffix match"),
    Lookalike("subdomain", "a subdomain of the allowed host", "a suffix or substring match"),
    Lookalike("dot-wildcard", "the allowed host with its dots replaced", "an unescaped regex"),
    Lookalike("scheme", "the allowed host under the other scheme", "a host-only match"),
    Lookalike("port", "the allowed host on another port", "a host-only match"),
)
"""Every look-alike, in report order (one ``security/origin/lookalike-<slug>`` each)."""


@dataclass(frozen=True, slots=True)
class OriginParts:
    """An origin's serialisation split (RFC 6454 §6.2): scheme, host, port if written."""

    scheme: str
    host: str
    port: int | None

    def render(self, host: str | None = None, port: int | None = None) -> str:
        text = f"{self.scheme}://{self.host if host is None else host}"
        chosen = self.port if port is None else port
        return text if chosen is None else f"{text}:{chosen}"


def split_origin(origin: str) -> OriginParts | None:
    """``scheme://host[:port]`` in parts, lower-cased; None if it is not one."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or parts.path not in ("", "/"):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return OriginParts(parts.scheme.lower(), host, port)


def lookalike_origin(slug: str, allowed: str) -> str | None:
    """The ``slug`` look-alike of ``allowed`` (None if ``allowed`` is no origin).

    ``https://app.example`` gives ``https://app.example.evil.example`` (suffix),
    ``https://evilapp.example`` (prefix), ``https://evil.app.example`` (subdomain),
    ``https://appXexample`` (dot-wildcard; a host without a dot: ``evilXHOST``, which an
    unanchored pattern matches), ``http://app.example`` (scheme) and
    ``https://app.example:8443`` (port).
    """
    parts = split_origin(allowed)
    if parts is None:
        return None
    host = parts.host
    if slug == "suffix":
        return parts.render(f"{host}.{EVIL_DOMAIN}")
    if slug == "prefix":
        return parts.render(f"{EVIL_LABEL}{host}")
    if slug == "subdomain":
        return parts.render(f"{EVIL_LABEL}.{host}")
    if slug == "dot-wildcard":
        if "." in host:
            return parts.render(host.replace(".", WILDCARD_CHAR))
        return parts.render(f"{EVIL_LABEL}{WILDCARD_CHAR}{host}")
    if slug == "scheme":
        other = {"http": "https", "https": "http"}.get(parts.scheme, "https")
        return OriginParts(other, host, parts.port).render()
    if slug == "port":
        if parts.port is None:
            return parts.render(port=ALTERNATIVE_PORTS.get(parts.scheme, ALTERNATIVE_PORTS["http"]))
        return parts.render(port=parts.port + 1 if parts.port < MAX_PORT else parts.port - 1)
    raise ValueError(f"unknown look-alike {slug!r}")


# -- What the handshake got ------------------------------------------------------------


def _switched(observed: Observed) -> bool:
    return observed.response is not None and observed.response.status == SWITCHING


def _ended(observed: Observed) -> bool:
    return observed.close is not None or observed.transport in _CLOSED


@dataclass(frozen=True, slots=True)
class Upgraded:
    """A 101, and the connection still open a moment later: the upgrade was accepted."""

    def describe(self) -> str:
        return "a 101 Switching Protocols response, the connection kept open (accepted)"

    def matches(self, observed: Observed) -> bool:
        return _switched(observed) and not _ended(observed)


@dataclass(frozen=True, slots=True)
class UpgradedThenClosed:
    """A 101, then a Close frame or a TCP close at once: the socket was opened, so a
    page's script saw ``open`` and could send before the close (§10.7 asks for an HTTP
    status during the handshake instead)."""

    def describe(self) -> str:
        return "a 101 Switching Protocols response, then a Close or TCP close at once"

    def matches(self, observed: Observed) -> bool:
        return _switched(observed) and _ended(observed)


@dataclass(frozen=True, slots=True)
class NotUpgraded:
    """No 101 and no 4xx: a 5xx or other status, an answer that is not HTTP, or the TCP
    connection closed without an answer. Not accepted, but not refused as §10.7 asks."""

    def describe(self) -> str:
        return "no 101 and no 4xx refusal (a 5xx or other status, or a drop)"

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        if response is not None:
            return response.status != SWITCHING and response.status not in CLIENT_ERRORS
        return observed.response_error is not None or observed.transport in _CLOSED


def probe_switched(probe: HttpResponse | None) -> bool:
    """The follow-up handshake (a foreign Origin) was accepted too."""
    return probe is not None and probe.status == SWITCHING


@dataclass(frozen=True, slots=True)
class AnyOriginAccepted:
    """The look-alike was accepted, and so was a plainly foreign Origin (the probe): the
    server checks no Origin at all, which ``security/origin/foreign`` reports."""

    def describe(self) -> str:
        return "accepted, as a plainly foreign Origin is (no Origin check to bypass)"

    def matches(self, observed: Observed) -> bool:
        return Upgraded().matches(observed) and probe_switched(observed.probe)
