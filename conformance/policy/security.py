"""The security profile's policy: what the user says the server enforces, and how a
check's level follows from it (issue #15, docs/verdict-policy.md "Security").

RFC 6455 §10 asks little of a server in MUST form: §10.2 says it "SHOULD verify the
|Origin| field", §10.4 that it "SHOULD impose a limit on frame sizes and the total
message size", and nothing at all about timeouts or connection counts. So a security
check reports what it saw at the level the text gives it (WARN for a broken SHOULD,
INFO where the text is silent) **unless the user stated a policy**: a server that
does not enforce an Origin allow-list, a credential or a message size the user says it
enforces is FAIL, and the Actual text says "policy you stated" (§4.2.2: a server that
"does not wish to accept" a request "MUST return an appropriate HTTP error code").

Every check's theme (the second part of its id, ``security/origin/...``) has a title
and the advice to fix what it finds (:data:`THEMES`); reports group findings by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..model.verdict import Level

DEFAULT_CONNECTIONS: Final = 200
"""Idle connections the rate check opens from one address (``--connections``)."""
MAX_CONNECTIONS: Final = 2000
"""The most ``--connections`` may ask for: a probe, not a load test."""

STATED: Final = "policy you stated"
"""How a verdict reached under a stated policy begins its note."""


@dataclass(frozen=True, slots=True)
class Theme:
    """One group of checks in the report, with what to do about its findings."""

    title: str
    advice: str
    source: str = ""  # where the advice comes from (a clause or a guide), for reports


THEMES: Final[dict[str, Theme]] = {
    "origin": Theme(
        "Origin and cross-site WebSocket hijacking",
        "Check the Origin header against an exact allow-list of scheme://host[:port] "
        "strings (no prefix, suffix or regular-expression match) and refuse others with "
        "HTTP 403 before the 101.",
        "RFC 6455 §10.2, §4.2.2; OWASP ASVS 4.4.2",
    ),
    "auth": Theme(
        "Authentication of the upgrade",
        "Authenticate the opening handshake itself (a cookie or token checked before the "
        "101) and refuse a missing or wrong credential with HTTP 401/403 on every path.",
        "RFC 6455 §10.5, §4.2.2",
    ),
    "limits": Theme(
        "Size limits and bombs",
        "Limit the size of each frame and of each reassembled message (after "
        "decompression), and the number of fragments; fail the connection with 1009 as "
        "soon as a header announces more than the limit.",
        "RFC 6455 §10.4, §7.4.1; RFC 7692 §6.2 (the message is the inflated data)",
    ),
    "timeouts": Theme(
        "Slow and idle peers",
        "Bound the opening handshake in time (a few seconds), close connections that "
        "send nothing, and close TCP after the closing handshake even if the client "
        "does not.",
        "RFC 6455 §7.1.1, §10.4 (denial of service); deployment advice",
    ),
    "headers": Theme(
        "Header abuse",
        "Cap the request head (size and number of lines, 431 when exceeded) and parse "
        "Sec-WebSocket-Protocol and Sec-WebSocket-Extensions in linear time.",
        "RFC 6455 §10.7; RFC 6585 §5 (431)",
    ),
    "rate": Theme(
        "Connection and message rate",
        "Cap concurrent connections per client address and the message rate per "
        "connection; refuse with 503 or close with 1008/1013.",
        "RFC 6455 §7.4.1 (1008, 1013); deployment advice",
    ),
    "leakage": Theme(
        "Error leakage",
        "Keep error responses and Close reasons terse: no stack traces, file paths, "
        "exception names or version strings.",
        "RFC 6455 §10.7; OWASP ASVS 7.4.1",
    ),
    "tls": Theme(
        "TLS",
        "Serve wss:// with TLS 1.2 or later only and a certificate valid for the host; "
        "avoid compression with context takeover for secrets over TLS.",
        "RFC 6455 §10.6; RFC 7692 §8",
    ),
}


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    """What the user says the server enforces (``wsconform run --profile security``).

    Empty fields mean "not stated": the checks of that theme then judge by the text
    alone (WARN or INFO), never FAIL on the user's behalf.
    """

    origin_allow: tuple[str, ...] = ()
    """``--origin-allow``: the origins the application accepts (RFC 6455 §10.2)."""
    auth_header: tuple[str, str] | None = None
    """``--auth-header 'Name: value'``: a credential the upgrade must carry."""
    max_message_size: int | None = None
    """``--max-message-size N``: the message limit the server claims, in bytes (§10.4)."""
    connections: int = DEFAULT_CONNECTIONS
    """``--connections N``: idle connections the rate check may open."""

    def level(self, stated: bool, unstated: Level = Level.SHOULD) -> Level:
        """MUST (FAIL when broken) under a stated policy, else ``unstated``."""
        return Level.MUST if stated else unstated

    @property
    def allowed_origin(self) -> str | None:
        """The first allowed origin: the one a check sends when it needs a good one."""
        return self.origin_allow[0] if self.origin_allow else None

    def describe(self) -> tuple[str, ...]:
        """The stated policy, one line each, for reports."""
        lines: list[str] = []
        if self.origin_allow:
            lines.append(f"origins allowed: {', '.join(self.origin_allow)}")
        if self.auth_header is not None:
            lines.append(f"credential required: {self.auth_header[0]}: (given)")
        if self.max_message_size is not None:
            lines.append(f"max message size: {self.max_message_size} bytes")
        return tuple(lines)


def parse_auth_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` as (name, value); ValueError names what is wrong."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value or any(c in name for c in " \t\r\n"):
        raise ValueError(f"--auth-header wants 'Name: value', got {text!r}")
    if any(c in value for c in "\r\n"):
        raise ValueError("--auth-header value must be one line")
    return name, value


def theme_of(case_id: str) -> Theme | None:
    """The theme of a ``security/<theme>/<check>`` id, None for other cases."""
    parts = case_id.split("/")
    if len(parts) < 3 or parts[0] != "security":
        return None
    return THEMES.get(parts[1])
