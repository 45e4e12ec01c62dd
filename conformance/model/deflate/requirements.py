"""The requirement ids the deflate model names (``spec_refs/rfc7692.toml``, RFC 6455's)."""

from __future__ import annotations

from typing import Final

from .. import rules

# §5: negotiation
PMD_AGREED_APPLY: Final = "rfc7692-5-agreed-parameters-apply"
"""The parameters of the accepted offer apply to the connection (RFC 7692 §5)."""
PMD_INVALID_RESPONSE: Final = "rfc7692-5-invalid-response-fail"
"""An invalid response, "such as accepting a PMCE that the client did not offer" (§5)."""

# §6.1: the "Per-Message Compressed" bit
PMD_RSV1_CONTROL_OR_CONTINUATION: Final = "rfc7692-6.1-rsv1-control-continuation"
"""A sender set RSV1 on a control frame or a non-first fragment (RFC 7692 §6.1)."""

# §7: what a server declines
PMD_DECLINE_UNKNOWN_PARAM: Final = "rfc7692-7-decline-unknown-param"
PMD_DECLINE_INVALID_VALUE: Final = "rfc7692-7-decline-invalid-value"
PMD_DECLINE_DUPLICATE_PARAM: Final = "rfc7692-7-decline-duplicate-param"

# §7, §7.1: what makes a response invalid
PMD_RESPONSE_UNKNOWN_PARAM: Final = "rfc7692-7-fail-unknown-param"
PMD_RESPONSE_DUPLICATE_PARAM: Final = "rfc7692-7-fail-duplicate-param"
PMD_RESPONSE_SNCT_VALUE: Final = "rfc7692-7.1.1.1-snct-response-no-value"
PMD_RESPONSE_CNCT_VALUE: Final = "rfc7692-7.1.1.2-cnct-response-no-value"
PMD_RESPONSE_SMWB_ABNF: Final = "rfc7692-7.1.2.1-smwb-response-abnf"
PMD_RESPONSE_CMWB_ABNF: Final = "rfc7692-7.1.2.2-cmwb-response-abnf"
PMD_SNCT_ACCEPT: Final = "rfc7692-7.1.1.1-snct-accept-echo"
"""A server accepts server_no_context_takeover by including it (RFC 7692 §7.1.1.1)."""
PMD_SMWB_ACCEPT: Final = "rfc7692-7.1.2.1-smwb-accept-same-or-smaller"
"""Accepting server_max_window_bits: included, "the same or smaller value" (§7.1.2.1)."""
PMD_CMWB_ONLY_IF_OFFERED: Final = "rfc7692-7.1.2.2-cmwb-only-if-offered"
"""No client_max_window_bits in a response to an offer without it (RFC 7692 §7.1.2.2)."""

# §7.2: the payload
PMD_EMPTY_BLOCK_TAIL: Final = "rfc7692-7.2.1-append-empty-block"
"""A message ends with an empty stored block whose 00 00 ff ff is removed (§7.2.1 steps 2-3)."""
PMD_SERVER_NO_CONTEXT: Final = "rfc7692-7.2.1-server-no-context-takeover"
"""Agreed server_no_context_takeover: each message starts with an empty window (§7.2.1)."""
PMD_SERVER_WINDOW: Final = "rfc7692-7.2.1-server-max-window"
"""Agreed server_max_window_bits w: no window longer than 2**w bytes (§7.2.1)."""
PMD_WINDOW_32K: Final = "rfc7692-7.2.1-window-max-32k"
"""No LZ77 window longer than 32,768 bytes (RFC 7692 §7.2.1)."""
PMD_INFLATE: Final = "rfc7692-7.2.2-inflate-data"
"""The payload with 00 00 ff ff appended decompresses as DEFLATE (RFC 7692 §7.2.2)."""

# RFC 6455 ids the deflate model also names
RFC6455_RSV_NOT_NEGOTIATED: Final = "rfc6455-5.2-rsv-nonzero-fail"
"""RSV1 set although no extension defining it was negotiated (RFC 6455 §5.2)."""
RFC6455_EXTENSION_GRAMMAR: Final = "rfc6455-9.1-malformed-extensions-fail"
"""A ``Sec-WebSocket-Extensions`` value off the §9.1 grammar (RFC 6455 §9.1)."""
RFC6455_UNREQUESTED_EXTENSION: Final = rules.RESPONSE_EXTENSIONS
"""An extension in the response the client did not request (RFC 6455 §4.1)."""

DEFLATE_RULES: Final[dict[str, str]] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str)
}
"""Every id above by constant name, for the catalog test."""
