"""RFC 6455 §4.2, sans I/O: the server's handshake rules, header grammar and Accept value."""

from __future__ import annotations

import pytest

from conformance.model.header_grammar import is_extension_list, split_list
from conformance.model.server_handshake import (
    ReceivedRequest,
    ServerBehaviour,
    accept_key,
    parse_request_bytes,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # §4.2.2 example
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
VALID = (
    b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY.encode() + b"\r\n"
    b"Sec-WebSocket-Protocol: x, chat\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def received(data: bytes = VALID) -> ReceivedRequest:
    parsed = parse_request_bytes(data)
    assert parsed is not None
    return parsed.request


def test_accept_key_matches_rfc_example() -> None:
    assert accept_key(KEY) == ACCEPT


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("permessage-deflate", True),
        ("permessage-deflate; client_max_window_bits", True),
        ("permessage-deflate; client_max_window_bits=10, x-foo", True),
        ('foo; bar="baz"', True),
        ("foo;; bar", False),
        ('foo; bar="a b"', False),
        ("foo; =1", False),
        ("", False),
        ("a b", False),
    ],
)
def test_extension_list_syntax(value: str, valid: bool) -> None:
    assert is_extension_list(value) is valid


def test_list_elements_span_lines_and_drop_empty_ones() -> None:
    assert split_list(["a, ,b", "c,"]) == ["a", "b", "c"]


def test_valid_request_is_accepted_with_the_first_supported_subprotocol() -> None:
    behaviour = ServerBehaviour()
    request = received()
    assert behaviour.validate_request(request) is None
    subprotocol = behaviour.select_subprotocol(request.tokens("Sec-WebSocket-Protocol"))
    head = behaviour.render_accept(behaviour.build_accept_headers(request, subprotocol))
    assert head == (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + ACCEPT.encode() + b"\r\n"
        b"Sec-WebSocket-Protocol: chat\r\n\r\n"
    )


def test_wrong_version_is_refused_with_426_advertising_13() -> None:
    behaviour = ServerBehaviour()
    request = received(VALID.replace(b"Version: 13", b"Version: 8"))
    refusal = behaviour.validate_request(request)
    assert refusal is not None and refusal.status == 426
    response = behaviour.render_refusal(refusal)
    assert response is not None
    assert response.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
    assert b"Sec-WebSocket-Version: 13\r\n" in response
    assert b"Connection: Upgrade, close\r\n" in response


def test_first_broken_rule_decides_the_refusal() -> None:
    request = received(VALID.replace(b"GET", b"POST").replace(b"Upgrade: websocket", b"X: y"))
    refusal = ServerBehaviour().validate_request(request)
    assert refusal is not None and refusal.status == 405
    response = ServerBehaviour().render_refusal(refusal)
    assert response is not None and b"Allow: GET\r\nConnection: close\r\n" in response
