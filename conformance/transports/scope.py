"""Which cases run over HTTP/2 (RFC 8441) in this version, and why the others do not.

Over HTTP/2 a WebSocket's frames are the same bytes on a stream (RFC 8441 §5), so the
wire sections of RFC 6455 run unchanged: framing, fragmentation, UTF-8, closing and
the size limits. The opening handshake cases send HTTP/1.1 requests, and
permessage-deflate is negotiated in those requests: they do not run over HTTP/2 yet.

The RFC 8441 bootstrapping cases (ids ``rfc8441/...``) drive HTTP/2 itself: they run over
HTTP/2 only, never over HTTP/1.1 (:func:`h1_exclusion`).
"""

from __future__ import annotations

__all__ = ["H2_ONLY_PREFIXES", "WIRE_SECTIONS", "h1_exclusion", "h2_exclusion"]

WIRE_SECTIONS = ("rfc6455/5", "rfc6455/6", "rfc6455/7", "rfc6455/8", "rfc6455/10.4")
"""The sections whose cases run over HTTP/2 (a section covers its subsections)."""

H2_ONLY_PREFIXES = ("rfc8441/",)
"""Case ids that drive HTTP/2 itself (the extended CONNECT, SETTINGS, streams): they run
over HTTP/2 and only there."""
H2_ONLY_REASON = "an HTTP/2 case (RFC 8441): it runs with --transport h2 only"

EXCLUDED_IN_WIRE_SECTIONS: dict[str, str] = {}
"""Case id -> why it cannot run over HTTP/2 although its section does. Empty: every wire
case applies (the TCP close the closing cases watch is the stream's END_STREAM, a reset
its RST_STREAM; RFC 8441 §5 maps the one to the other)."""

HANDSHAKE_REASON = (
    "an HTTP/1.1 opening handshake case; over HTTP/2 the handshake is the extended CONNECT"
)
DEFLATE_REASON = "permessage-deflate (RFC 7692) is not negotiated over HTTP/2 yet"
OTHER_REASON = "only the wire sections (RFC 6455 §5-§8, §10.4) run over HTTP/2 yet"


def _in_section(case_id: str, prefix: str) -> bool:
    spec, _, section = prefix.partition("/")
    parts = case_id.split("/")
    if len(parts) < 3 or parts[0] != spec:
        return False
    return parts[1] == section or parts[1].startswith(section + ".")


def h2_exclusion(case_id: str) -> str:
    """Why case ``case_id`` does not run over HTTP/2 ("" when it does)."""
    if case_id in EXCLUDED_IN_WIRE_SECTIONS:
        return EXCLUDED_IN_WIRE_SECTIONS[case_id]
    if case_id.startswith(H2_ONLY_PREFIXES):
        return ""
    if any(_in_section(case_id, prefix) for prefix in WIRE_SECTIONS):
        return ""
    if case_id.startswith("rfc7692/"):
        return DEFLATE_REASON
    if case_id.startswith("rfc6455/"):
        return HANDSHAKE_REASON
    return OTHER_REASON


def h1_exclusion(case_id: str) -> str:
    """Why case ``case_id`` does not run over HTTP/1.1 ("" when it does)."""
    return H2_ONLY_REASON if case_id.startswith(H2_ONLY_PREFIXES) else ""
