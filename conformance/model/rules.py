"""The RFC 6455 requirement ids the model and the case tables cite, by short rule name.

Every :class:`~conformance.model.violations.Violation` the model emits names one of
these ids, and every id two case tables (``conformance/cases``) cite is named here
once; each is a record in ``spec_refs/rfc6455.toml`` whose quote is the rule.
"""

from __future__ import annotations

from typing import Final

# RFC 6455 §5.1: masking direction.
CLIENT_MUST_MASK: Final = "rfc6455-5.1-client-masks-frames"
SERVER_MUST_NOT_MASK: Final = "rfc6455-5.1-server-no-mask"

# RFC 6455 §5.2: base framing.
RSV_MUST_BE_ZERO: Final = "rfc6455-5.2-rsv-zero"
RESERVED_OPCODE: Final = "rfc6455-5.2-opcode-values"
MINIMAL_LENGTH: Final = "rfc6455-5.2-minimal-length-encoding"
LENGTH_MSB_ZERO: Final = "rfc6455-5.2-length-64-msb-zero"

# RFC 6455 §5.4: fragmentation.
FRAGMENT_SEQUENCE: Final = "rfc6455-5.4-fragmented-message"
NO_INTERLEAVE: Final = "rfc6455-5.4-no-interleaved-messages"

# RFC 6455 §5.4, §5.5: control frames.
CONTROL_PAYLOAD_MAX: Final = "rfc6455-5.5-control-payload-125"
CONTROL_NOT_FRAGMENTED: Final = "rfc6455-5.4-control-not-fragmented"

# RFC 6455 §5.5.1: Close.
CLOSE_BODY_CODE: Final = "rfc6455-5.5.1-close-body-status-code"
CLOSE_REASON_UTF8: Final = "rfc6455-5.5.1-close-reason-utf8"
NO_DATA_AFTER_CLOSE: Final = "rfc6455-5.5.1-no-data-after-close"

# RFC 6455 §5.6: text data.
TEXT_UTF8: Final = "rfc6455-5.6-text-valid-utf8"

# RFC 6455 §7.4.1 / §7.4.2: status codes on the wire.
CLOSE_CODE_1004_RESERVED: Final = "rfc6455-7.4.1-code-1004-reserved"
CLOSE_CODE_1005_NOT_SENT: Final = "rfc6455-7.4.1-code-1005-not-sent"
CLOSE_CODE_1006_NOT_SENT: Final = "rfc6455-7.4.1-code-1006-not-sent"
CLOSE_CODE_1015_NOT_SENT: Final = "rfc6455-7.4.1-code-1015-not-sent"
CLOSE_CODE_UNUSED_RANGE: Final = "rfc6455-7.4.2-range-0-999-unused"
CLOSE_CODE_PROTOCOL_RANGE: Final = "rfc6455-7.4.2-range-1000-2999-protocol"
# No range of §7.4.2 covers 5000-65535: such a code is not "defined in Section 7.4".
CLOSE_CODE_OUT_OF_RANGE: Final = "rfc6455-5.5.1-close-body-status-code"

CLOSE_BODY_RULES: Final = frozenset(
    {
        CLOSE_BODY_CODE,
        CLOSE_REASON_UTF8,
        CLOSE_CODE_1004_RESERVED,
        CLOSE_CODE_1005_NOT_SENT,
        CLOSE_CODE_1006_NOT_SENT,
        CLOSE_CODE_1015_NOT_SENT,
        CLOSE_CODE_UNUSED_RANGE,
        CLOSE_CODE_PROTOCOL_RANGE,
        CLOSE_CODE_OUT_OF_RANGE,
    }
)
"""Rules of a Close frame's body (§5.5.1, §7.4): the decoder reports them only there."""

# RFC 6455 §4.1 (the client's checks of the server's 101), §4.2.2 step 5, §11.3.
RESPONSE_VALID_HTTP: Final = "rfc6455-4.2.2-accept-valid-response"
RESPONSE_UPGRADE: Final = "rfc6455-4.1-response-upgrade-websocket"
RESPONSE_CONNECTION: Final = "rfc6455-4.1-response-connection-upgrade"
RESPONSE_ACCEPT: Final = "rfc6455-4.1-response-accept-check"
RESPONSE_EXTENSIONS: Final = "rfc6455-4.1-response-unrequested-extension"
RESPONSE_PROTOCOL: Final = "rfc6455-4.1-response-unrequested-subprotocol"
RESPONSE_SINGLE_PROTOCOL: Final = "rfc6455-11.3.4-protocol-once-in-response"
RESPONSE_ACCEPT_ONCE: Final = "rfc6455-11.3.3-accept-once-in-response"
# Not checked: §11.3.2 says Sec-WebSocket-Extensions "MUST NOT appear more than once in
# an HTTP response", while §4.2.2 step 5 lets the server split extensions "between
# multiple instances" of it. The text allows both, so several lines are accepted.

# The rules below are cited by the case tables, not by the decoder.

# RFC 6455 §5.2, §5.4, §5.5, §5.5.2, §5.5.3: what a server receiving frames must handle.
PAYLOAD_LENGTH_FIELD: Final = "rfc6455-5.2-payload-length-7-16"
"""§5.2: a 7-bit length is the length, 126 announces a 16-bit one (definition)."""
RECEIVE_FRAGMENTED: Final = "rfc6455-5.4-receive-fragmented"
"""§5.4: "Clients and servers MUST support receiving both fragmented and unfragmented
messages"."""
ANY_FRAGMENT_SIZE: Final = "rfc6455-5.4-any-fragment-size"
"""§5.4: "A sender MAY create fragments of any size for non-control messages"."""
CONTROL_MID_MESSAGE: Final = "rfc6455-5.4-control-mid-message"
"""§5.4: "An endpoint MUST be capable of handling control frames in the middle of a
fragmented message"."""
CONTROL_NEVER_FRAGMENTED: Final = "rfc6455-5.5-control-not-fragmented"
"""§5.5: "All control frames ... MUST NOT be fragmented" (§5.4's own sentence is
:data:`CONTROL_NOT_FRAGMENTED`)."""
PONG_REPLY: Final = "rfc6455-5.5.2-pong-reply"
"""§5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
response, unless it already received a Close frame"."""
UNSOLICITED_PONG: Final = "rfc6455-5.5.3-unsolicited-pong"
"""§5.5.3: "A Pong frame MAY be sent unsolicited"."""

# RFC 6455 §6.2: receiving data.
PARSE_FRAMES: Final = "rfc6455-6.2-parse-frames"
"""§6.2: "Incoming data MUST be parsed as WebSocket frames as defined in Section 5.2"."""
NEW_MESSAGE_AFTER_FIN: Final = "rfc6455-6.2-new-message-after-fin"
"""§6.2: after a frame with FIN set, "Subsequent data frames MUST be interpreted as
belonging to a new WebSocket message"."""

# RFC 6455 §7.1.7, §7.4.1, §8.1, §10.7: failing the connection on invalid input.
VALIDATE_INPUT: Final = "rfc6455-10.7-validate-input"
"""§10.7: "Incoming data MUST always be validated by both clients and servers"."""
SERVER_FAIL_CLOSES: Final = "rfc6455-7.1.7-server-fail-closes"
"""§7.1.7: to _Fail the WebSocket Connection_, "the server MUST _Close the WebSocket
Connection_"."""
CLOSE_BEFORE_FAIL: Final = "rfc6455-7.1.7-close-frame-before-fail"
"""§7.1.7: the failing endpoint "SHOULD send a Close frame with an appropriate status
code (Section 7.4)" first."""
STOP_AFTER_FAIL: Final = "rfc6455-7.1.7-stop-processing-after-fail"
"""§7.1.7: "An endpoint MUST NOT continue to attempt to process data ... after being
instructed to _Fail the WebSocket Connection_"."""
INVALID_DATA_1007: Final = "rfc6455-7.4.1-code-1007-invalid-data"
"""§7.4.1: 1007 is the code for data "not consistent with the type of the message"
(e.g. text that is not UTF-8)."""
INVALID_UTF8_FAIL: Final = "rfc6455-8.1-invalid-utf8-fail"
"""§8.1: an endpoint finding that a byte stream it interprets as UTF-8 is not valid
"MUST _Fail the WebSocket Connection_"."""

# RFC 6455 §4.2.2, §4.4, §5.5.1, §7.4.1, §10.2, §10.4, §10.7: ids several case tables cite
# (the opening handshake, closing and limits tables, the security checks, RFC 8441's).
ORIGIN_REJECT_403: Final = "rfc6455-4.2.2-origin-reject-403"
VERSION_MISMATCH_426: Final = "rfc6455-4.2.2-version-mismatch-426"
VERSION_HEADER_ON_REFUSAL: Final = "rfc6455-4.4-unsupported-version-header"
SERVER_CLOSES_TCP_FIRST: Final = "rfc6455-5.5.1-server-close-tcp-first"
CLOSE_TCP_AFTER_BOTH: Final = "rfc6455-5.5.1-close-tcp-after-both"
POLICY_CODE_1008: Final = "rfc6455-7.4.1-code-1008-policy"
BAD_ORIGIN_403: Final = "rfc6455-10.2-bad-origin-403"
PROTECT_AGAINST_LIMITS: Final = "rfc6455-10.4-protect-against-limits"
IMPOSE_SIZE_LIMITS: Final = "rfc6455-10.4-impose-size-limits"
HANDSHAKE_ERROR_STATUS: Final = "rfc6455-10.7-invalid-handshake-http-status"
MAY_DROP_TCP: Final = "rfc6455-10.7-may-drop-tcp"
CLOSE_ON_INVALID_DATA: Final = "rfc6455-10.7-close-frame-invalid-data"

ALL_RULES: Final[dict[str, str]] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and value.startswith("rfc")
}
"""Rule name -> requirement id, for checking the table against the catalog."""
