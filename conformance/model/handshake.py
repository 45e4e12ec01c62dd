"""The opening handshake (RFC 6455 §4): requests, valid or broken, and response checks.

Requests are written as raw bytes, not through h11, because the suite must send what
h11 refuses to (no Host, HTTP/1.0 upgrades, duplicated keys). Responses are parsed
with h11, bounded in size, and then checked against the client's rules of §4.1 and
the server's of §4.2.2.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import h11

from .constants import GUID
from .observed import HttpResponse
from .rules import (
    RESPONSE_ACCEPT,
    RESPONSE_ACCEPT_ONCE,
    RESPONSE_CONNECTION,
    RESPONSE_EXTENSIONS,
    RESPONSE_PROTOCOL,
    RESPONSE_SINGLE_PROTOCOL,
    RESPONSE_UPGRADE,
    RESPONSE_VALID_HTTP,
)
from .violations import Violation

__all__ = [
    "RESPONSE_ACCEPT",
    "RESPONSE_ACCEPT_ONCE",
    "RESPONSE_CONNECTION",
    "RESPONSE_EXTENSIONS",
    "RESPONSE_PROTOCOL",
    "RESPONSE_SINGLE_PROTOCOL",
    "RESPONSE_UPGRADE",
    "RESPONSE_VALID_HTTP",
    "HandshakeRequest",
    "ResponseReader",
    "accept_for",
    "build_request",
    "check_accept",
    "check_response_head",
    "new_key",
]

MAX_RESPONSE_HEAD = 16 * 1024
"""Largest response head the suite reads before declaring the response malformed."""

MAX_BODY_PREFIX = 4 * 1024
"""How much of a refusal's body the suite keeps as evidence."""


def new_key() -> bytes:
    """A fresh nonce: 16 random bytes, base64-encoded (§4.1 item 7)."""
    return base64.b64encode(os.urandom(16))


def accept_for(key: bytes) -> bytes:
    """The |Sec-WebSocket-Accept| value for ``key``: base64(SHA-1(key + GUID)) (§4.2.2 step 5.4).

    The one Accept computation of the suite: the client side checks a server's answer
    with it, the reference server computes its own.
    """
    return base64.b64encode(hashlib.sha1(key.strip() + GUID.encode("ascii")).digest())


Header = tuple[bytes, bytes]


@dataclass(frozen=True, slots=True)
class HandshakeRequest:
    """A client's opening handshake, as exact bytes-to-be (the server's parsed view of
    one is :class:`~conformance.model.server_handshake.ReceivedRequest`).

    ``key``, ``protocols`` and ``extensions`` record what the client offered, so that
    the server's answer can be checked against them.
    """

    method: bytes = b"GET"
    target: bytes = b"/"
    http_version: bytes = b"HTTP/1.1"
    headers: tuple[Header, ...] = ()
    key: bytes = b""
    protocols: tuple[bytes, ...] = ()
    extensions: tuple[bytes, ...] = ()

    def to_bytes(self) -> bytes:
        lines = [b"%s %s %s" % (self.method, self.target, self.http_version)]
        lines.extend(b"%s: %s" % (name, value) for name, value in self.headers)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def without(self, name: bytes) -> HandshakeRequest:
        """The same request with every ``name`` header line removed."""
        key = name.lower()
        return replace(self, headers=tuple(h for h in self.headers if h[0].lower() != key))

    def with_header(self, name: bytes, value: bytes) -> HandshakeRequest:
        """The same request with one more header line at the end."""
        return replace(self, headers=(*self.headers, (name, value)))

    def replacing(self, name: bytes, value: bytes) -> HandshakeRequest:
        """The same request with every ``name`` line replaced by one ``name: value``."""
        key = name.lower()
        out: list[Header] = []
        done = False
        for header in self.headers:
            if header[0].lower() != key:
                out.append(header)
            elif not done:
                out.append((header[0], value))
                done = True
        if not done:
            out.append((name, value))
        return replace(self, headers=tuple(out))


def build_request(
    host: bytes,
    resource: bytes = b"/",
    *,
    key: bytes | None = None,
    protocols: Iterable[bytes] = (),
    extensions: Iterable[bytes] = (),
    origin: bytes | None = None,
    extra: Iterable[Header] = (),
) -> HandshakeRequest:
    """A valid client handshake per RFC 6455 §4.1 (items 1–12)."""
    key = new_key() if key is None else key
    protocols = tuple(protocols)
    extensions = tuple(extensions)
    headers: list[Header] = [
        (b"Host", host),
        (b"Upgrade", b"websocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Key", key),
        (b"Sec-WebSocket-Version", b"13"),
    ]
    if origin is not None:
        headers.append((b"Origin", origin))
    if protocols:
        headers.append((b"Sec-WebSocket-Protocol", b", ".join(protocols)))
    if extensions:
        headers.append((b"Sec-WebSocket-Extensions", b", ".join(extensions)))
    headers.extend(extra)
    return HandshakeRequest(
        target=resource,
        headers=tuple(headers),
        key=key,
        protocols=protocols,
        extensions=extensions,
    )


@dataclass(slots=True)
class ResponseReader:
    """Incremental, bounded parser of the server's answer to a handshake.

    Feed it bytes until :attr:`response` or :attr:`error` is set. After a 101,
    :attr:`trailing` holds the bytes that followed the head: the first bytes of the
    WebSocket stream. After another status, up to :data:`MAX_BODY_PREFIX` bytes of
    body are kept as evidence.
    """

    max_head: int = MAX_RESPONSE_HEAD
    response: HttpResponse | None = None
    error: str | None = None
    trailing: bytes = b""
    body_complete: bool = False
    eof: bool = False  # the server closed its side
    received: int = 0  # bytes fed so far
    _conn: h11.Connection = field(init=False)
    _body: bytearray = field(init=False, default_factory=bytearray)

    def __post_init__(self) -> None:
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=self.max_head)
        # h11 must have "sent" a request to expect a response; the real request went
        # out as raw bytes, so prime it with an upgrade GET (the method shapes the
        # body, the Upgrade header lets a 101 switch protocols).
        primer = [("Host", "x"), ("Upgrade", "websocket"), ("Connection", "Upgrade")]
        self._conn.send(h11.Request(method="GET", target="/", headers=primer))
        self._conn.send(h11.EndOfMessage())

    @property
    def done(self) -> bool:
        """True once the head is parsed (and, for non-101, the body prefix too)."""
        if self.error is not None or self.eof:
            return True
        if self.response is None:
            return False
        return self.response.status == 101 or self.body_complete

    def feed(self, data: bytes) -> None:
        """Add bytes from the server; ``b""`` means the server closed its side."""
        if self.done:
            if self.response is not None and self.response.status == 101:
                self.trailing += data
            return
        self.received += len(data)
        if not data and self.response is None:
            self.eof = True
            if self.received:
                self.error = "the connection closed in the middle of the response head"
            return
        self._conn.receive_data(data)
        try:
            self._pump()
        except h11.RemoteProtocolError as exc:
            self.error = str(exc) or "malformed HTTP response"

    def _pump(self) -> None:
        while not self.done:
            event = self._conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                if event is h11.PAUSED:
                    self._capture_trailing()
                return
            if isinstance(event, h11.InformationalResponse | h11.Response):
                if isinstance(event, h11.InformationalResponse) and event.status_code != 101:
                    continue  # 1xx interim responses precede the real one
                self.response = HttpResponse(
                    status=event.status_code,
                    reason=bytes(event.reason),
                    http_version=b"HTTP/" + bytes(event.http_version),
                    headers=tuple((bytes(n), bytes(v)) for n, v in event.headers.raw_items()),
                )
                if event.status_code == 101:
                    self._capture_trailing()
            elif isinstance(event, h11.Data):
                room = MAX_BODY_PREFIX - len(self._body)
                self._body += bytes(event.data[:room])
                if len(self._body) >= MAX_BODY_PREFIX:
                    self._finish_body()
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                self._finish_body()

    def _capture_trailing(self) -> None:
        data, _closed = self._conn.trailing_data
        self.trailing = bytes(data)

    def _finish_body(self) -> None:
        if self.response is not None:
            self.response = replace(self.response, body=bytes(self._body))
            self.body_complete = True


def _extension_names(values: Iterable[bytes]) -> list[bytes]:
    """Extension tokens of |Sec-WebSocket-Extensions| values (§9.1), parameters dropped."""
    names: list[bytes] = []
    for value in values:
        for item in value.split(b","):
            name = item.split(b";", 1)[0].strip().lower()
            if name:
                names.append(name)
    return names


def check_accept(request: HandshakeRequest, response: HttpResponse) -> list[Violation]:
    """Every rule of §4.1 (client checks 2–6) and §4.2.2 step 5 a 101 answer breaks."""
    found: list[Violation] = []
    upgrade = b",".join(response.values(b"upgrade")).strip().lower()
    if upgrade != b"websocket":
        found.append(Violation(RESPONSE_UPGRADE, f"Upgrade is {_show(response, b'upgrade')}"))
    if b"upgrade" not in response.tokens(b"connection"):
        found.append(
            Violation(
                RESPONSE_CONNECTION,
                f"Connection is {_show(response, b'connection')} (no Upgrade token)",
            )
        )
    accepts = response.values(b"sec-websocket-accept")
    expected = accept_for(request.key)
    if len(accepts) > 1:
        found.append(Violation(RESPONSE_ACCEPT_ONCE, f"{len(accepts)} Sec-WebSocket-Accept lines"))
    if not accepts or any(value.strip() != expected for value in accepts):
        found.append(
            Violation(
                RESPONSE_ACCEPT,
                f"Sec-WebSocket-Accept is {_show(response, b'sec-websocket-accept')}, "
                f"expected {expected.decode()}",
            )
        )
    offered_ext = set(_extension_names(request.extensions))
    for name in _extension_names(response.values(b"sec-websocket-extensions")):
        if name not in offered_ext:
            found.append(
                Violation(RESPONSE_EXTENSIONS, f"extension {name.decode('latin-1')!r} not offered")
            )
    protocols = response.tokens(b"sec-websocket-protocol")
    raw_protocols = response.values(b"sec-websocket-protocol")
    offered = {p.strip().lower() for p in request.protocols}
    if len(protocols) > 1 or len(raw_protocols) > 1:
        found.append(
            Violation(
                RESPONSE_SINGLE_PROTOCOL,
                f"Sec-WebSocket-Protocol is {_show(response, b'sec-websocket-protocol')}"
                " (more than one value)",
            )
        )
    if raw_protocols and not protocols:
        found.append(Violation(RESPONSE_PROTOCOL, "Sec-WebSocket-Protocol is empty"))
    for proto in protocols:
        if proto not in offered:
            found.append(
                Violation(RESPONSE_PROTOCOL, f"subprotocol {proto.decode('latin-1')!r} not offered")
            )
    return found


def check_response_head(reader: ResponseReader) -> list[Violation]:
    """A malformed answer breaks §4.2.2 step 5: "a valid HTTP response"."""
    if reader.error is not None:
        return [Violation(RESPONSE_VALID_HTTP, f"not a valid HTTP response: {reader.error}")]
    return []


def _show(response: HttpResponse, name: bytes) -> str:
    values = response.values(name)
    if not values:
        return "missing"
    return " / ".join(repr(v.decode("latin-1")) for v in values)
