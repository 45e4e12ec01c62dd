"""What a 101 agreed for permessage-deflate, and the rule each direction obeys (RFC 7692 §7.1).

The four parameters of §7 ("server_no_context_takeover", "client_no_context_takeover",
"server_max_window_bits", "client_max_window_bits"); an absent parameter means context
takeover and a 32,768-byte window (§7.1.1.1, §7.1.2.1, §7.1.2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

EXTENSION_NAME: Final = "permessage-deflate"
EXTENSIONS_HEADER: Final = b"sec-websocket-extensions"
"""The header that carries offers and the response, lower-case as the response's
``values()`` take it (RFC 6455 §9.1)."""
"""The registered extension name (RFC 7692 §7, §9.1)."""

SERVER_NO_CONTEXT_TAKEOVER: Final = "server_no_context_takeover"
CLIENT_NO_CONTEXT_TAKEOVER: Final = "client_no_context_takeover"
SERVER_MAX_WINDOW_BITS: Final = "server_max_window_bits"
CLIENT_MAX_WINDOW_BITS: Final = "client_max_window_bits"

PARAMETER_NAMES: Final = frozenset(
    {
        SERVER_NO_CONTEXT_TAKEOVER,
        CLIENT_NO_CONTEXT_TAKEOVER,
        SERVER_MAX_WINDOW_BITS,
        CLIENT_MAX_WINDOW_BITS,
    }
)
""""All four parameters are defined for both [an] offer and [a] response" (RFC 7692 §7)."""

FLAG_PARAMETERS: Final = frozenset({SERVER_NO_CONTEXT_TAKEOVER, CLIENT_NO_CONTEXT_TAKEOVER})
"""Parameters that have no value (RFC 7692 §7.1.1.1, §7.1.1.2)."""

MIN_WINDOW_BITS: Final = 8
MAX_WINDOW_BITS: Final = 15
"""Window values are "between 8 to 15, inclusive" (RFC 7692 §7.1.2.1, §7.1.2.2)."""

DEFAULT_WINDOW_BITS: Final = MAX_WINDOW_BITS
"""No window parameter: "an LZ77 sliding window of up to 32,768 bytes" (RFC 7692 §7.1.2.1)."""


def parse_window_bits(value: str) -> int | None:
    """A value "without leading zeroes between 8 to 15" on ``1*DIGIT``, or None (§7.1.2.1)."""
    if not value.isascii() or not value.isdigit() or value.startswith("0"):
        return None
    bits = int(value)
    return bits if MIN_WINDOW_BITS <= bits <= MAX_WINDOW_BITS else None


@dataclass(frozen=True, slots=True)
class WindowRule:
    """How one direction compresses: the window limit and whether context is reset (§7.2.1)."""

    window_bits: int = DEFAULT_WINDOW_BITS
    no_context_takeover: bool = False

    @property
    def window_size(self) -> int:
        """The largest LZ77 window in bytes: "the w-th power of 2 bytes" (RFC 7692 §7.2.1)."""
        return 1 << self.window_bits


@dataclass(frozen=True, slots=True)
class Agreed:
    """The "agreed parameters" a 101 returned (RFC 7692 §5, §7.1); defaults = parameter absent."""

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = DEFAULT_WINDOW_BITS
    client_max_window_bits: int = DEFAULT_WINDOW_BITS

    def server_output(self) -> WindowRule:
        """The rule the server's compressed messages obey, the suite checks (RFC 7692 §7.2.1)."""
        return WindowRule(self.server_max_window_bits, self.server_no_context_takeover)

    def client_output(self) -> WindowRule:
        """The rule the suite's (the client's) compressed messages obey (RFC 7692 §7.2.1)."""
        return WindowRule(self.client_max_window_bits, self.client_no_context_takeover)

    def render(self) -> str:
        """The response element that states these parameters, e.g. ``permessage-deflate; ...``."""
        parts = [EXTENSION_NAME]
        if self.server_no_context_takeover:
            parts.append(SERVER_NO_CONTEXT_TAKEOVER)
        if self.client_no_context_takeover:
            parts.append(CLIENT_NO_CONTEXT_TAKEOVER)
        if self.server_max_window_bits != DEFAULT_WINDOW_BITS:
            parts.append(f"{SERVER_MAX_WINDOW_BITS}={self.server_max_window_bits}")
        if self.client_max_window_bits != DEFAULT_WINDOW_BITS:
            parts.append(f"{CLIENT_MAX_WINDOW_BITS}={self.client_max_window_bits}")
        return "; ".join(parts)
