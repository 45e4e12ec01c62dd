"""The server side of the opening handshake, sans I/O (RFC 6455 §4.2).

The request as the server received it (:class:`ReceivedRequest`, parsed with h11), the
§4.2.1 rules one overridable hook each (:class:`ServerBehaviour`), the refusal a broken
rule earns (:class:`Refusal`, §4.2.1 "appropriate error code", §4.4) and the response
head that answers it (§4.2.2). :mod:`conformance.reference_server` serves these rules;
:mod:`fixtures.fault_server` overrides one hook to break exactly one rule; the client
checks read a client's request with them.
"""

from __future__ import annotations

import http
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import h11

from .deflate.elements import ExtensionElement
from .deflate.offers import OfferedParams, read_offer
from .handshake import accept_for
from .header_grammar import ascii_lower, decode_key, is_extension_list, is_token, split_list
from .server_extensions import DeflateSettings, choose_deflate, offered_elements
from .violations import Violation

WS_VERSION = "13"  # §4.2.1 item 6
KEY_LENGTH = 16  # §4.2.1 item 5: the key decodes to 16 bytes
DEFAULT_SUBPROTOCOLS = ("chat", "superchat", "echo")

# Header field names (compared ASCII case-insensitively, RFC 2616 §4.2).
HOST = "Host"
UPGRADE = "Upgrade"
CONNECTION = "Connection"
ORIGIN = "Origin"
SEC_KEY = "Sec-WebSocket-Key"
SEC_VERSION = "Sec-WebSocket-Version"
SEC_PROTOCOL = "Sec-WebSocket-Protocol"
SEC_EXTENSIONS = "Sec-WebSocket-Extensions"
SEC_ACCEPT = "Sec-WebSocket-Accept"

MAX_HEADER_LINES = 100
"""Header lines a request may carry (Apache's ``LimitRequestFields`` default): more is
refused with 431 Request Header Fields Too Large (RFC 6585 §5)."""
HEADERS_TOO_LARGE = 431  # RFC 6585 §5


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for the key as received (§4.2.2 step 5.4), as text."""
    return accept_for(key.encode("latin-1")).decode("ascii")


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """The client's opening handshake as received (§4.2.1), header lines in order."""

    method: str
    target: str
    http_version: str
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def from_h11(cls, event: h11.Request) -> ReceivedRequest:
        """The request h11 parsed, bytes read as latin-1 (RFC 2616 §2.2 TEXT)."""
        return cls(
            method=event.method.decode("latin-1"),
            target=event.target.decode("latin-1"),
            http_version=event.http_version.decode("latin-1"),
            headers=tuple(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in event.headers.raw_items()
            ),
        )

    def values(self, name: str) -> list[str]:
        """Values of every line of header ``name``."""
        wanted = ascii_lower(name)
        return [value for key, value in self.headers if ascii_lower(key) == wanted]

    def tokens(self, name: str) -> list[str]:
        """Comma-separated elements of ``name`` over all its lines (RFC 2616 §4.2)."""
        return split_list(self.values(name))

    def without(self, name: str) -> ReceivedRequest:
        """A copy without header ``name``."""
        wanted = ascii_lower(name)
        kept = tuple((key, value) for key, value in self.headers if ascii_lower(key) != wanted)
        return replace(self, headers=kept)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A complete request head and the bytes that followed it (WebSocket frames)."""

    request: ReceivedRequest
    trailing: bytes


@dataclass(frozen=True, slots=True)
class Refusal:
    """An HTTP error answer to a bad handshake (§4.2.1: "appropriate error code")."""

    status: int
    detail: str
    headers: tuple[tuple[str, str], ...] = ()


def parse_request_bytes(data: bytes) -> ParsedRequest | None:
    """Parse a request head from ``data`` with h11; None if it is incomplete.

    Raises :class:`h11.RemoteProtocolError` on malformed input.
    """
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=len(data) + 1)
    conn.receive_data(data)
    event = conn.next_event()
    if not isinstance(event, h11.Request):
        return None
    return ParsedRequest(ReceivedRequest.from_h11(event), conn.trailing_data[0])


def render_response(status: int, headers: Sequence[tuple[str, str]], body: bytes = b"") -> bytes:
    """Serialize an HTTP/1.1 response head (and body) exactly as given."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


Check = Callable[[ReceivedRequest], Refusal | None]


class ServerBehaviour:
    """The server side of the opening handshake, one hook per rule (§4.2.1, §4.2.2).

    The defaults are correct; :mod:`fixtures.fault_server` overrides one hook to
    break exactly one rule.
    """

    max_request_reads: int | None = None
    """Reads the request head may take; None (correct) waits for it however it is cut."""
    max_header_lines: int | None = MAX_HEADER_LINES
    """Header lines a request may carry (:meth:`check_header_lines`); None: no cap."""

    def __init__(self, subprotocols: Sequence[str] = DEFAULT_SUBPROTOCOLS) -> None:
        self.subprotocols = tuple(subprotocols)

    # -- reading the client's handshake (§4.2.1) --------------------------------

    def on_parse_error(self, raw: bytes, error: h11.RemoteProtocolError) -> Refusal | ParsedRequest:
        """Answer a request h11 cannot parse (malformed, too large, no Host on 1.1)."""
        return Refusal(error.error_status_hint, f"malformed HTTP request: {error}")

    def checks(self) -> tuple[Check, ...]:
        """The §4.2.1 rules, in the order they are checked."""
        return (
            self.check_header_lines,
            self.check_method,
            self.check_http_version,
            self.check_host,
            self.check_target,
            self.check_body,
            self.check_upgrade,
            self.check_connection,
            self.check_version,
            self.check_key,
            self.check_subprotocols,
            self.check_extensions,
            self.check_origin,
            self.check_other_headers,
        )

    def validate_request(self, request: ReceivedRequest) -> Refusal | None:
        """The first broken rule as a refusal, or None to accept."""
        for check in self.checks():
            refusal = check(request)
            if refusal is not None:
                return refusal
        return None

    def check_header_lines(self, request: ReceivedRequest) -> Refusal | None:
        """§10.4, §10.7: a bounded request head; too many lines get 431 (RFC 6585 §5)."""
        cap = self.max_header_lines
        if cap is None or len(request.headers) <= cap:
            return None
        return Refusal(HEADERS_TOO_LARGE, f"more than {cap} header lines")

    def check_method(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 1: a GET request."""
        if request.method == "GET":
            return None
        return Refusal(405, f"method {request.method} is not GET (§4.2.1)", (("Allow", "GET"),))

    def check_http_version(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 1: HTTP/1.1 or higher (1.x; 2+ has no such request line)."""
        major, _, minor = request.http_version.partition(".")
        if major != "1":
            return Refusal(505, f"HTTP/{request.http_version} is not supported")
        if int(minor or "0") < 1:
            return Refusal(400, f"HTTP/{request.http_version} is below 1.1 (§4.2.1)")
        return None

    def check_host(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 2: exactly one non-empty Host header field."""
        hosts = request.values(HOST)
        if len(hosts) != 1 or not hosts[0]:
            return Refusal(400, f"need exactly one non-empty Host, got {hosts!r} (§4.2.1)")
        return None

    def check_target(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 1: a resource name or an absolute http/https URI, no fragment."""
        target = request.target
        if "#" not in target:
            if target.startswith("/"):
                return None
            parts = urlsplit(target)
            if ascii_lower(parts.scheme) in {"http", "https"} and parts.netloc:
                return None
        return Refusal(400, f"request target {target!r} is not a resource name (§4.2.1)")

    def check_body(self, request: ReceivedRequest) -> Refusal | None:
        """A GET upgrade request carries no body; bytes after the head are frames."""
        lengths = request.values("Content-Length")
        if request.values("Transfer-Encoding") or any(v != "0" for v in lengths):
            return Refusal(400, "an opening handshake has no request body")
        return None

    def check_upgrade(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 3: Upgrade includes "websocket", ASCII case-insensitively."""
        if not request.values(UPGRADE):
            return Refusal(400, "missing Upgrade header field (§4.2.1)")
        if "websocket" not in (ascii_lower(t) for t in request.tokens(UPGRADE)):
            return Refusal(400, "Upgrade does not include websocket (§4.2.1)")
        return None

    def check_connection(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 4: Connection includes the token "Upgrade", case-insensitively."""
        if not request.values(CONNECTION):
            return Refusal(400, "missing Connection header field (§4.2.1)")
        if "upgrade" not in (ascii_lower(t) for t in request.tokens(CONNECTION)):
            return Refusal(400, "Connection does not include Upgrade (§4.2.1)")
        return None

    def check_version(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 6, §4.2.2 step 4 /version/, §4.4: 426 advertising version 13."""
        versions = request.values(SEC_VERSION)
        if versions == [WS_VERSION]:
            return None
        return Refusal(
            426,
            f"Sec-WebSocket-Version {versions!r} is not exactly 13 (§4.2.2, §4.4)",
            ((SEC_VERSION, WS_VERSION), (UPGRADE, "websocket"), (CONNECTION, "Upgrade, close")),
        )

    def check_key(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 5: one Sec-WebSocket-Key that base64-decodes to 16 bytes."""
        keys = request.values(SEC_KEY)
        if len(keys) != 1:
            return Refusal(400, f"need exactly one Sec-WebSocket-Key, got {len(keys)} (§4.2.1)")
        decoded = decode_key(keys[0])
        if decoded is None:
            return Refusal(400, "Sec-WebSocket-Key is not base64 (§4.2.1)")
        if len(decoded) != KEY_LENGTH:
            return Refusal(400, f"Sec-WebSocket-Key decodes to {len(decoded)} bytes (§4.2.1)")
        return None

    def check_subprotocols(self, request: ReceivedRequest) -> Refusal | None:
        """§4.1 item 10, §4.3: Sec-WebSocket-Protocol is ``1#token``."""
        values = request.values(SEC_PROTOCOL)
        offered = split_list(values)
        if values and (not offered or not all(is_token(p) for p in offered)):
            return Refusal(400, f"Sec-WebSocket-Protocol {values!r} is not 1#token (§4.3)")
        return None

    def check_extensions(self, request: ReceivedRequest) -> Refusal | None:
        """§4.3, §9.1: Sec-WebSocket-Extensions matches ``extension-list``."""
        values = request.values(SEC_EXTENSIONS)
        if all(is_extension_list(value) for value in values):
            return None
        return Refusal(400, f"Sec-WebSocket-Extensions {values!r} is malformed (§9.1)")

    def check_origin(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 7: Origin is optional; this server accepts any origin."""
        return None

    def check_other_headers(self, request: ReceivedRequest) -> Refusal | None:
        """§4.2.1 item 10: unknown header fields are ignored."""
        return None

    # -- sending the server's handshake (§4.2.2) -------------------------------

    def select_subprotocol(self, offered: Sequence[str]) -> str | None:
        """§4.2.2 step 4 /subprotocol/: the client's first supported choice, or null."""
        return next((p for p in offered if p in self.subprotocols), None)

    def negotiate_extensions(self, request: ReceivedRequest) -> DeflateSettings | None:
        """RFC 7692 §5.1, §7: the first acceptable permessage-deflate offer, or None.

        Any other extension is not supported and so not accepted (RFC 6455 §9.1).
        """
        elements = offered_elements(request.values(SEC_EXTENSIONS))
        return choose_deflate(elements, self.read_deflate_offer, self.agree_deflate)

    def read_deflate_offer(self, element: ExtensionElement) -> OfferedParams | Violation:
        """RFC 7692 §7: one offer's parameters, or the condition that makes the server
        decline it (an unknown or repeated parameter, an invalid value)."""
        return read_offer(element)

    def agree_deflate(self, offered: OfferedParams) -> DeflateSettings:
        """RFC 7692 §7.1: the parameters agreed for an acceptable offer."""
        return DeflateSettings.from_offer(offered)

    def extension_headers(self, agreed: DeflateSettings | None) -> list[tuple[str, str]]:
        """RFC 7692 §5.1, §7.1: the agreed element; none when every offer was declined (§5)."""
        return [] if agreed is None else [(SEC_EXTENSIONS, agreed.response())]

    def accept_value(self, request: ReceivedRequest) -> str:
        """§4.2.2 step 5.4: the accept value, computed from the key as sent."""
        keys = request.values(SEC_KEY)
        return accept_key(keys[0] if keys else "")

    def build_accept_headers(
        self, request: ReceivedRequest, subprotocol: str | None
    ) -> list[tuple[str, str]]:
        """§4.2.2 step 5: the 101's header fields but Sec-WebSocket-Extensions
        (:meth:`extension_headers` adds it)."""
        headers = [
            (UPGRADE, "websocket"),
            (CONNECTION, "Upgrade"),
            (SEC_ACCEPT, self.accept_value(request)),
        ]
        if subprotocol is not None:
            headers.append((SEC_PROTOCOL, subprotocol))
        return headers

    def render_accept(self, headers: Sequence[tuple[str, str]]) -> bytes:
        """§4.2.2 step 5.1: ``HTTP/1.1 101 Switching Protocols``."""
        return render_response(101, headers)

    def render_refusal(self, refusal: Refusal) -> bytes | None:
        """An error response with ``Connection: close``; None drops the connection."""
        body = f"{refusal.detail}\n".encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *refusal.headers,
        ]
        if not any(ascii_lower(name) == "connection" for name, _ in refusal.headers):
            headers.append((CONNECTION, "close"))
        return render_response(refusal.status, headers, body)
