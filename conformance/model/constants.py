"""Protocol constants of RFC 6455: opcodes, limits, close codes, the handshake GUID."""

from __future__ import annotations

from enum import IntEnum
from typing import Final, Literal

GUID: Final = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
"""Appended to Sec-WebSocket-Key to compute Sec-WebSocket-Accept (RFC 6455 §1.3, §4.2.2)."""


class Opcode(IntEnum):
    """Defined frame opcodes (RFC 6455 §5.2, "Opcode"; §11.8)."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


def opcode_name(opcode: int) -> str:
    """The lower-case name of a defined opcode (``text``; RFC 6455 §5.2), else ``opcode 0x3``."""
    try:
        return Opcode(opcode).name.lower()
    except ValueError:
        return f"opcode {opcode:#x}"


RESERVED_DATA_OPCODES: Final = frozenset(range(0x3, 0x8))
"""%x3-7, "reserved for further non-control frames" (RFC 6455 §5.2)."""

RESERVED_CONTROL_OPCODES: Final = frozenset(range(0xB, 0x10))
"""%xB-F, "reserved for further control frames" (RFC 6455 §5.2)."""

CONTROL_OPCODE_BIT: Final = 0x8
"""Control frames have the most significant opcode bit set (RFC 6455 §5.5)."""

MAX_CONTROL_PAYLOAD: Final = 125
""""All control frames MUST have a payload length of 125 bytes or less" (RFC 6455 §5.5)."""

MAX_7BIT_LENGTH: Final = 125
"""Largest length written in the 7-bit field itself (RFC 6455 §5.2)."""

LENGTH_16BIT_MARKER: Final = 126
"""7-bit length value announcing a 16-bit extended length (RFC 6455 §5.2)."""

LENGTH_64BIT_MARKER: Final = 127
"""7-bit length value announcing a 64-bit extended length (RFC 6455 §5.2)."""

MAX_16BIT_LENGTH: Final = 0xFFFF
MAX_63BIT_LENGTH: Final = 2**63 - 1
"""Largest legal 64-bit length: "the most significant bit MUST be 0" (RFC 6455 §5.2)."""

MASK_KEY_SIZE: Final = 4
"""The masking key is 32 bits (RFC 6455 §5.2, §5.3)."""

CLOSE_CODE_SIZE: Final = 2
"""A Close body starts with a 2-byte status code (RFC 6455 §5.5.1)."""


def is_control_opcode(opcode: int) -> bool:
    """Whether ``opcode`` denotes a control frame (RFC 6455 §5.5)."""
    return bool(opcode & CONTROL_OPCODE_BIT)


def is_reserved_opcode(opcode: int) -> bool:
    """Whether ``opcode`` is one of the reserved values %x3-7 or %xB-F (RFC 6455 §5.2)."""
    return opcode in RESERVED_DATA_OPCODES or opcode in RESERVED_CONTROL_OPCODES


class CloseCode(IntEnum):
    """Status codes of RFC 6455 §7.4.1 and the IANA registry (§11.7)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    RESERVED = 1004  # "Reserved. The specific meaning might be defined in the future."
    NO_STATUS_RCVD = 1005  # MUST NOT be set in a Close frame
    ABNORMAL_CLOSURE = 1006  # MUST NOT be set in a Close frame
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # IANA-registered after RFC 6455
    TRY_AGAIN_LATER = 1013  # IANA-registered after RFC 6455
    BAD_GATEWAY = 1014  # IANA-registered after RFC 6455
    TLS_HANDSHAKE = 1015  # MUST NOT be set in a Close frame


NEVER_SENT_CLOSE_CODES: Final = frozenset(
    {
        CloseCode.RESERVED,
        CloseCode.NO_STATUS_RCVD,
        CloseCode.ABNORMAL_CLOSURE,
        CloseCode.TLS_HANDSHAKE,
    }
)
"""Codes an endpoint must not put in a Close frame (RFC 6455 §7.4.1)."""

SENDABLE_PROTOCOL_CLOSE_CODES: Final = frozenset(
    code for code in CloseCode if code not in NEVER_SENT_CLOSE_CODES
)
"""1000-1003 and 1007-1014: defined codes valid in a Close frame (RFC 6455 §7.4.1)."""

PROTOCOL_RANGE: Final = range(1000, 3000)
"""Reserved for this protocol and its revisions (RFC 6455 §7.4.2)."""

REGISTERED_RANGE: Final = range(3000, 4000)
"""For libraries, frameworks and applications, registered with IANA (RFC 6455 §7.4.2)."""

PRIVATE_RANGE: Final = range(4000, 5000)
"""For private use (RFC 6455 §7.4.2)."""

CloseCodeStatus = Literal["valid", "reserved-never-sent", "unassigned", "invalid"]


def close_code_status(code: int) -> CloseCodeStatus:
    """Classify a status code as seen in a Close frame (RFC 6455 §7.4.1, §7.4.2).

    * ``"valid"``: 1000-1003, 1007-1014, 3000-4999 -- may be sent.
    * ``"reserved-never-sent"``: 1004, 1005, 1006, 1015 -- must not appear on the wire.
    * ``"unassigned"``: 1016-2999 -- reserved for future revisions, invalid on the wire today.
    * ``"invalid"``: 0-999 ("not used") and anything outside 0-4999.
    """
    if code in SENDABLE_PROTOCOL_CLOSE_CODES:
        return "valid"
    if code in NEVER_SENT_CLOSE_CODES:
        return "reserved-never-sent"
    if code in PROTOCOL_RANGE:
        return "unassigned"
    if code in REGISTERED_RANGE or code in PRIVATE_RANGE:
        return "valid"
    return "invalid"


def is_valid_close_code(code: int) -> bool:
    """Whether an endpoint may send ``code`` in a Close frame (RFC 6455 §7.4)."""
    return close_code_status(code) == "valid"
