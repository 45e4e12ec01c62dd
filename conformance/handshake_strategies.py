"""Hypothesis strategies for opening handshakes, valid and with one rule of §4.2.1 broken
(RFC 6455 §4.1, §4.2.1)::

    from conformance.handshake_strategies import handshake_requests, broken_handshake_requests

Hypothesis is an optional dependency: ``pip install ws-conformance[fuzz]``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Final

from .model import handshake as hs
from .optional_hypothesis import strategies as st

__all__ = [
    "REQUEST_BREAKS",
    "BrokenRequest",
    "broken_handshake_requests",
    "handshake_requests",
]


@dataclass(frozen=True, slots=True)
class BrokenRequest:
    """An opening handshake that breaks exactly ``rule`` of §4.2.1 (``detail`` says how)."""

    request: hs.HandshakeRequest
    rule: str
    detail: str


_TOKENS: Final = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8)
_KEYS: Final = st.binary(min_size=16, max_size=16).map(base64.b64encode)


def _case_variant(name: bytes, mode: int) -> bytes:
    return (name, name.lower(), name.upper())[mode]


def _shuffle_headers(
    request: hs.HandshakeRequest, order: list[int], cases: list[int]
) -> hs.HandshakeRequest:
    headers = list(request.headers)
    placed = sorted(range(len(headers)), key=lambda i: order[i % len(order)] if order else 0)
    shuffled = tuple(
        (_case_variant(headers[i][0], cases[i % len(cases)] if cases else 0), headers[i][1])
        for i in placed
    )
    return replace(request, headers=shuffled)


def handshake_requests(
    host: bytes = b"localhost", resource: bytes = b"/"
) -> st.SearchStrategy[hs.HandshakeRequest]:
    """A valid opening handshake (§4.1, §4.2.1) in any of its allowed spellings.

    Header order and name case vary, Upgrade and Connection vary in case and carry
    other tokens, Origin, subprotocols and unknown header fields are optional.
    """

    def build(
        key: bytes,
        upgrade: bytes,
        connection: bytes,
        origin: bytes | None,
        protocols: list[str],
        extra: list[str],
        order: list[int],
        cases: list[int],
    ) -> hs.HandshakeRequest:
        request = hs.build_request(
            host,
            resource,
            key=key,
            origin=origin,
            protocols=[p.encode() for p in dict.fromkeys(protocols)],
            extra=[(b"X-Fuzz-" + name.encode(), b"1") for name in extra],
        )
        request = request.replacing(b"Upgrade", upgrade).replacing(b"Connection", connection)
        return _shuffle_headers(request, order, cases)

    return st.builds(
        build,
        _KEYS,
        st.sampled_from([b"websocket", b"WebSocket", b"WEBSOCKET"]),
        st.sampled_from([b"Upgrade", b"upgrade", b"keep-alive, Upgrade", b"Upgrade, keep-alive"]),
        st.one_of(st.none(), st.just(b"http://" + host)),
        st.lists(_TOKENS, max_size=3),
        st.lists(_TOKENS, max_size=3),
        st.lists(st.integers(0, 20), max_size=12),
        st.lists(st.integers(0, 2), max_size=12),
    )


METHOD_RULE: Final = "rfc6455-4.2.1-get-http-1-1"
HOST_RULE: Final = "rfc6455-4.2.1-host-header"
UPGRADE_RULE: Final = "rfc6455-4.2.1-upgrade-websocket"
CONNECTION_RULE: Final = "rfc6455-4.2.1-connection-upgrade"
KEY_RULE: Final = "rfc6455-4.2.1-key-16-bytes"
VERSION_RULE: Final = "rfc6455-4.2.1-version-13"

REQUEST_BREAKS: Final[tuple[tuple[str, str], ...]] = (
    (METHOD_RULE, "method POST"),
    (METHOD_RULE, "HTTP/1.0"),
    (HOST_RULE, "no Host"),
    (UPGRADE_RULE, "no Upgrade"),
    (UPGRADE_RULE, "Upgrade: h2c"),
    (CONNECTION_RULE, "no Connection"),
    (CONNECTION_RULE, "Connection: keep-alive"),
    (KEY_RULE, "no Sec-WebSocket-Key"),
    (KEY_RULE, "a key of 15 bytes"),
    (KEY_RULE, "a key that is not base64"),
    (KEY_RULE, "two Sec-WebSocket-Key lines"),
    (VERSION_RULE, "no Sec-WebSocket-Version"),
    (VERSION_RULE, "Sec-WebSocket-Version: 8"),
)
"""One broken rule of §4.2.1 each: (requirement id, what is broken)."""


def _break(request: hs.HandshakeRequest, detail: str) -> hs.HandshakeRequest:
    """``request`` with the one rule ``detail`` names broken."""
    match detail:
        case "method POST":
            return replace(request, method=b"POST")
        case "HTTP/1.0":
            return replace(request, http_version=b"HTTP/1.0")
        case "no Host":
            return request.without(b"Host")
        case "no Upgrade":
            return request.without(b"Upgrade")
        case "Upgrade: h2c":
            return request.replacing(b"Upgrade", b"h2c")
        case "no Connection":
            return request.without(b"Connection")
        case "Connection: keep-alive":
            return request.replacing(b"Connection", b"keep-alive")
        case "no Sec-WebSocket-Key":
            return request.without(b"Sec-WebSocket-Key")
        case "a key of 15 bytes":
            short = base64.b64encode(bytes(15))
            return replace(request.replacing(b"Sec-WebSocket-Key", short), key=short)
        case "a key that is not base64":
            return request.replacing(b"Sec-WebSocket-Key", b"not*base64*key!!")
        case "two Sec-WebSocket-Key lines":
            return request.with_header(b"Sec-WebSocket-Key", hs.new_key())
        case "no Sec-WebSocket-Version":
            return request.without(b"Sec-WebSocket-Version")
        case "Sec-WebSocket-Version: 8":
            return request.replacing(b"Sec-WebSocket-Version", b"8")
    raise ValueError(f"unknown handshake break {detail!r}")


def broken_handshake_requests(
    host: bytes = b"localhost", resource: bytes = b"/"
) -> st.SearchStrategy[BrokenRequest]:
    """A :func:`handshake_requests` draw with exactly one rule of §4.2.1 broken."""
    return st.builds(
        lambda request, which: BrokenRequest(_break(request, which[1]), which[0], which[1]),
        handshake_requests(host, resource),
        st.sampled_from(REQUEST_BREAKS),
    )
