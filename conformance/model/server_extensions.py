"""The server's side of permessage-deflate negotiation (RFC 7692 §5, §7, §7.1).

The offer is read with the deflate model (:func:`~.deflate.elements.parse_extension_list`,
RFC 6455 §9.1; :func:`~.deflate.offers.read_offer`, the §7 decline conditions); here the
server picks the first acceptable offer (§5) and agrees to it
(:class:`DeflateSettings`), rendering the response element (§7.1). A declined offer is
answered with a 101 without the extension, never an HTTP error (§5, §7). Sans-IO: used by
:class:`~conformance.model.server_handshake.ServerBehaviour`.

Window bits 8 (§7.1.2.1): zlib cannot compress with a 256-byte window (``wbits=-8`` is
rejected, madler/zlib#171), so the server agrees to ``server_max_window_bits=8`` and
sends Huffman-only DEFLATE, which has no LZ77 back-references at all and so obeys any
window; it never claims 8 and uses 9.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .deflate.elements import ExtensionElement, ExtensionSyntaxError, parse_extension_list
from .deflate.offers import OfferedParams, read_offer
from .deflate.params import (
    CLIENT_MAX_WINDOW_BITS,
    CLIENT_NO_CONTEXT_TAKEOVER,
    DEFAULT_WINDOW_BITS,
    EXTENSION_NAME,
    SERVER_MAX_WINDOW_BITS,
    SERVER_NO_CONTEXT_TAKEOVER,
)
from .violations import Violation


@dataclass(frozen=True, slots=True)
class DeflateSettings:
    """What the server agreed to (RFC 7692 §7.1): the parameters of its response.

    A window is None when the response leaves it out: the server then compresses with
    a 32,768-byte window (§7.1.2.1) and inflates with one (§7.2.2).
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None
    client_context_hint: bool = False
    """The accepted offer carried ``client_no_context_takeover`` (a hint, §7.1.1.2), agreed
    or not; never rendered. §7.2.2: unless agreed, the server keeps its inflate context."""

    @classmethod
    def from_offer(cls, offered: OfferedParams) -> DeflateSettings:
        """Agree to a valid offer as made (§7.1.1.1: ``server_no_context_takeover``
        echoed; §7.1.2.1: the offered ``server_max_window_bits``; §7.1.1.2: the hint
        ``client_no_context_takeover`` accepted). ``client_max_window_bits`` is left out
        (§7.1.2.2 allows it): the server inflates with 32,768 bytes, enough for any
        client window."""
        return cls(
            server_no_context_takeover=offered.server_no_context_takeover,
            client_no_context_takeover=offered.client_no_context_takeover,
            server_max_window_bits=offered.server_max_window_bits,
            client_context_hint=offered.client_no_context_takeover,
        )

    @property
    def server_window_bits(self) -> int:
        """The largest window the server's compressed messages may use (§7.2.1)."""
        return self.server_max_window_bits or DEFAULT_WINDOW_BITS

    @property
    def client_window_bits(self) -> int:
        """The window the server inflates with (§7.2.2: 32,768 bytes unless agreed)."""
        return self.client_max_window_bits or DEFAULT_WINDOW_BITS

    def response(self) -> str:
        """The response element: the extension name and the agreed parameters (§7.1)."""
        parts = [EXTENSION_NAME]
        if self.server_no_context_takeover:
            parts.append(SERVER_NO_CONTEXT_TAKEOVER)
        if self.client_no_context_takeover:
            parts.append(CLIENT_NO_CONTEXT_TAKEOVER)
        if self.server_max_window_bits is not None:
            parts.append(f"{SERVER_MAX_WINDOW_BITS}={self.server_max_window_bits}")
        if self.client_max_window_bits is not None:
            parts.append(f"{CLIENT_MAX_WINDOW_BITS}={self.client_max_window_bits}")
        return "; ".join(parts)


OfferReader = Callable[[ExtensionElement], OfferedParams | Violation]
"""Reads one offer: its parameters, or the §7 condition that declines it."""

Agreement = Callable[[OfferedParams], DeflateSettings]
"""What the server agrees to for an acceptable offer."""


def offered_elements(values: Sequence[str]) -> tuple[ExtensionElement, ...]:
    """The elements of ``Sec-WebSocket-Extensions``; none when absent or malformed (§9.1)."""
    if not values:
        return ()
    try:
        return parse_extension_list(values)
    except ExtensionSyntaxError:
        return ()


def choose_deflate(
    elements: Sequence[ExtensionElement],
    read: OfferReader = read_offer,
    agree: Agreement = DeflateSettings.from_offer,
) -> DeflateSettings | None:
    """The agreement for the first acceptable permessage-deflate offer in the client's
    order of preference (§5), or None: every offer declined (§7)."""
    for element in elements:
        if element.name != EXTENSION_NAME:
            continue
        offered = read(element)
        if isinstance(offered, OfferedParams):
            return agree(offered)
    return None
