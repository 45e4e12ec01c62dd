"""RFC 6455 §4: the handshake request builder and the response reader and checker."""

from __future__ import annotations

import base64

import pytest

from conformance.model import handshake as hs
from conformance.model.handshake import (
    HandshakeRequest,
    ResponseReader,
    accept_for,
    build_request,
    check_accept,
)

RFC_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def response_bytes(*headers: bytes, status: bytes = b"101 Switching Protocols") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n"


GOOD_101 = (b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Accept: " + RFC_ACCEPT)


def parse(data: bytes) -> ResponseReader:
    reader = ResponseReader()
    reader.feed(data)
    return reader


class TestSection4_1RequestBuilder:
    def test_valid_request_has_every_required_field(self) -> None:
        request = build_request(b"example.com:8080", b"/chat?x=1", key=RFC_KEY)
        raw = request.to_bytes()
        assert raw.startswith(b"GET /chat?x=1 HTTP/1.1\r\n")
        assert raw.endswith(b"\r\n\r\n")
        for line in (
            b"Host: example.com:8080",
            b"Upgrade: websocket",
            b"Connection: Upgrade",
            b"Sec-WebSocket-Key: " + RFC_KEY,
            b"Sec-WebSocket-Version: 13",
        ):
            assert line + b"\r\n" in raw

    def test_new_key_is_16_random_bytes_base64(self) -> None:
        keys = {hs.new_key() for _ in range(20)}
        assert len(keys) == 20
        assert all(len(base64.b64decode(k, validate=True)) == 16 for k in keys)

    def test_offers_are_recorded_and_sent(self) -> None:
        request = build_request(
            b"h", protocols=[b"a", b"b"], extensions=[b"x; y=1"], origin=b"http://h"
        )
        assert request.protocols == (b"a", b"b")
        raw = request.to_bytes()
        assert b"Sec-WebSocket-Protocol: a, b\r\n" in raw
        assert b"Sec-WebSocket-Extensions: x; y=1\r\n" in raw
        assert b"Origin: http://h\r\n" in raw

    def test_without_removes_every_line_case_insensitively(self) -> None:
        request = build_request(b"h").with_header(b"upgrade", b"x").without(b"UPGRADE")
        assert not [n for n, _ in request.headers if n.lower() == b"upgrade"]
        assert b"\r\nupgrade:" not in request.to_bytes().lower()

    def test_replacing_keeps_position_and_appends_when_absent(self) -> None:
        request = build_request(b"h")
        replaced = request.replacing(b"connection", b"keep-alive, Upgrade")
        names = [n for n, _ in replaced.headers]
        assert names == [n for n, _ in request.headers]
        assert (b"Connection", b"keep-alive, Upgrade") in replaced.headers
        assert replaced.replacing(b"X-New", b"1").headers[-1] == (b"X-New", b"1")

    def test_replacing_collapses_duplicates(self) -> None:
        request = build_request(b"h").with_header(b"Upgrade", b"again")
        assert [v for n, v in request.replacing(b"Upgrade", b"z").headers if n == b"Upgrade"] == [
            b"z"
        ]


class TestSection4_2_2AcceptValue:
    def test_rfc_example(self) -> None:
        """§1.3 / §4.2.2: the worked example in the RFC."""
        assert accept_for(RFC_KEY) == RFC_ACCEPT


class TestResponseReader:
    def test_101_and_trailing_frame_bytes(self) -> None:
        reader = parse(response_bytes(*GOOD_101) + b"\x81\x02hi")
        assert reader.done
        assert reader.response is not None and reader.response.status == 101
        assert reader.trailing == b"\x81\x02hi"
        reader.feed(b"more")
        assert reader.trailing == b"\x81\x02himore"

    def test_byte_by_byte(self) -> None:
        reader = ResponseReader()
        for byte in response_bytes(*GOOD_101):
            assert not reader.done
            reader.feed(bytes([byte]))
        assert reader.done and reader.response is not None

    def test_refusal_keeps_body_prefix(self) -> None:
        reader = parse(response_bytes(b"Content-Length: 3", status=b"403 Forbidden") + b"no!")
        assert reader.done and reader.response is not None
        assert (reader.response.status, reader.response.body) == (403, b"no!")

    def test_refusal_body_until_close(self) -> None:
        reader = parse(response_bytes(status=b"400 Bad Request") + b"body")
        assert not reader.done
        reader.feed(b"")
        assert reader.done and reader.response is not None and reader.response.body == b"body"

    def test_body_prefix_is_bounded(self) -> None:
        reader = parse(response_bytes(status=b"400 Bad Request") + b"x" * 100_000)
        assert reader.done and reader.response is not None
        assert len(reader.response.body) == hs.MAX_BODY_PREFIX

    def test_interim_1xx_is_skipped(self) -> None:
        reader = parse(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            + response_bytes(
                b"Sec-WebSocket-Version: 13", b"Content-Length: 0", status=b"426 Upgrade Required"
            )
        )
        assert reader.response is not None and reader.response.status == 426

    def test_garbage_is_an_error(self) -> None:
        reader = parse(b"SSH-2.0-OpenSSH\r\n\r\n")
        assert reader.done and reader.error

    def test_endless_header_is_bounded(self) -> None:
        reader = ResponseReader()
        reader.feed(b"HTTP/1.1 101 OK\r\nX-A: ")
        for _ in range(100):
            reader.feed(b"a" * 1024)
            if reader.done:
                break
        assert reader.done and reader.error

    def test_close_before_any_byte_is_not_malformed(self) -> None:
        reader = parse(b"")
        assert reader.done and reader.eof and reader.error is None and reader.response is None
        assert hs.check_response_head(reader) == []

    def test_close_mid_head_is_malformed(self) -> None:
        reader = ResponseReader()
        reader.feed(b"HTTP/1.1 101 Swi")
        reader.feed(b"")
        assert reader.done and reader.error
        assert [v.requirement for v in hs.check_response_head(reader)] == [hs.RESPONSE_VALID_HTTP]


def _check(*headers: bytes, request: HandshakeRequest | None = None) -> list[str]:
    request = request or build_request(b"h", key=RFC_KEY)
    reader = parse(response_bytes(*headers))
    assert reader.response is not None
    return [v.requirement for v in check_accept(request, reader.response)]


class TestSection4_1ClientChecks:
    def test_valid_101_has_no_violation(self) -> None:
        assert _check(*GOOD_101) == []

    def test_header_names_and_values_case_insensitive(self) -> None:
        assert (
            _check(
                b"UPGRADE: WebSocket",
                b"connection: keep-alive, upgrade",
                b"sec-websocket-accept:  " + RFC_ACCEPT + b" ",
            )
            == []
        )

    @pytest.mark.parametrize(
        ("headers", "rule"),
        [
            ((b"Connection: Upgrade", b"Sec-WebSocket-Accept: " + RFC_ACCEPT), hs.RESPONSE_UPGRADE),
            ((b"Upgrade: h2c", *GOOD_101[1:]), hs.RESPONSE_UPGRADE),
            (
                (b"Upgrade: websocket", b"Sec-WebSocket-Accept: " + RFC_ACCEPT),
                hs.RESPONSE_CONNECTION,
            ),
            (
                (
                    b"Upgrade: websocket",
                    b"Connection: keep-alive",
                    b"Sec-WebSocket-Accept: " + RFC_ACCEPT,
                ),
                hs.RESPONSE_CONNECTION,
            ),
            (GOOD_101[:2], hs.RESPONSE_ACCEPT),
            ((*GOOD_101[:2], b"Sec-WebSocket-Accept: AAAA"), hs.RESPONSE_ACCEPT),
            ((*GOOD_101, b"Sec-WebSocket-Accept: " + RFC_ACCEPT), hs.RESPONSE_ACCEPT_ONCE),
            ((*GOOD_101, b"Sec-WebSocket-Accept: x"), hs.RESPONSE_ACCEPT),
            ((*GOOD_101, b"Sec-WebSocket-Extensions: permessage-deflate"), hs.RESPONSE_EXTENSIONS),
            ((*GOOD_101, b"Sec-WebSocket-Protocol: chat"), hs.RESPONSE_PROTOCOL),
            ((*GOOD_101, b"Sec-WebSocket-Protocol: "), hs.RESPONSE_PROTOCOL),
        ],
    )
    def test_each_broken_rule_is_reported(self, headers: tuple[bytes, ...], rule: str) -> None:
        assert rule in _check(*headers)

    def test_extensions_split_over_lines_are_accepted(self) -> None:
        """§4.2.2 allows splitting; §11.3.2 forbids repeating: both readings pass."""
        request = build_request(b"h", key=RFC_KEY, extensions=[b"a", b"b"])
        assert (
            _check(
                *GOOD_101,
                b"Sec-WebSocket-Extensions: a",
                b"Sec-WebSocket-Extensions: b",
                request=request,
            )
            == []
        )

    def test_offered_subprotocol_and_extension_are_fine(self) -> None:
        request = build_request(
            b"h",
            key=RFC_KEY,
            protocols=[b"chat", b"superchat"],
            extensions=[b"permessage-deflate; client_max_window_bits"],
        )
        assert (
            _check(
                *GOOD_101,
                b"Sec-WebSocket-Protocol: superchat",
                b"Sec-WebSocket-Extensions: permessage-deflate",
                request=request,
            )
            == []
        )

    @pytest.mark.parametrize(
        "lines",
        [
            (b"Sec-WebSocket-Protocol: chat, superchat",),
            (b"Sec-WebSocket-Protocol: chat", b"Sec-WebSocket-Protocol: chat"),
        ],
    )
    def test_more_than_one_subprotocol(self, lines: tuple[bytes, ...]) -> None:
        request = build_request(b"h", key=RFC_KEY, protocols=[b"chat", b"superchat"])
        assert hs.RESPONSE_SINGLE_PROTOCOL in _check(*GOOD_101, *lines, request=request)
