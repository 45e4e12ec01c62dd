"""The WHATWG WebSocket object model, step by step (WHATWG WebSockets; RFC 6455 §7)."""

from __future__ import annotations

import pytest

from conformance.catalog import load_catalog
from conformance.model.codec import close_payload
from conformance.model.constants import Opcode
from conformance.model.handshake import accept_for
from conformance.model.user_agent import (
    NETWORK_ERRORS,
    ReadyState,
    ScriptEvent,
    WebSocketModel,
    construct,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
GOOD = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Accept", accept_for(KEY.encode()).decode()),
]


def kinds(events: list[ScriptEvent]) -> list[str]:
    return [e.describe() for e in events]


def opened(
    protocols: tuple[str, ...] = (), extra: list[tuple[str, str]] | None = None
) -> WebSocketModel:
    ws = construct("ws://example.test/", protocols)
    assert isinstance(ws, WebSocketModel)
    events = ws.response(101, GOOD + (extra or []), key=KEY)
    assert [e.type for e in events] == ["open"]
    return ws


FAILED = ["error", "close(1006, '', wasClean=false)"]


class TestConstructor:
    """The constructor steps of "The WebSocket interface"."""

    @pytest.mark.parametrize(
        ("url", "requirement"),
        [
            ("not a url", "whatwg-ws-ctor-url-parse-failure"),
            ("ftp://example.test/", "whatwg-ws-ctor-bad-scheme"),
            ("ws://example.test/#frag", "whatwg-ws-ctor-fragment"),
            ("ws://example.test/#", "whatwg-ws-ctor-fragment"),
        ],
    )
    def test_bad_url_throws_syntax_error(self, url: str, requirement: str) -> None:
        made = construct(url)
        assert isinstance(made, ScriptEvent)
        assert (made.type, made.name, made.phase) == ("exception", "SyntaxError", "constructor")
        assert made.requirements == (requirement,)

    @pytest.mark.parametrize("url", ["http://example.test/", "https://example.test/", "wss://x/"])
    def test_http_schemes_map_to_ws(self, url: str) -> None:
        assert isinstance(construct(url), WebSocketModel)

    @pytest.mark.parametrize("protocols", [("chat", "chat"), ("",), ("a b",), ("x,y",)])
    def test_duplicate_or_non_token_protocols_throw(self, protocols: tuple[str, ...]) -> None:
        made = construct("ws://example.test/", protocols)
        assert isinstance(made, ScriptEvent)
        assert made.requirements == ("whatwg-ws-ctor-protocols-invalid",)

    def test_a_string_is_one_protocol(self) -> None:
        ws = construct("ws://example.test/", "chat")
        assert isinstance(ws, WebSocketModel)
        assert ws.protocols == ("chat",)

    def test_ready_state_starts_connecting(self) -> None:
        ws = construct("ws://example.test/")
        assert isinstance(ws, WebSocketModel)
        assert ws.ready_state is ReadyState.CONNECTING


class TestEstablishing:
    """Establish a WebSocket connection: processResponse steps."""

    @pytest.mark.parametrize("status", [200, 301, 302, 401, 403, 426, 500])
    def test_any_status_other_than_101_fails(self, status: int) -> None:
        ws = construct("ws://example.test/")
        assert isinstance(ws, WebSocketModel)
        events = ws.response(status, [])
        assert kinds(events) == FAILED
        assert "whatwg-ws-status-not-101-fail" in events[0].requirements
        assert ws.ready_state is ReadyState.CLOSED

    @pytest.mark.parametrize("kind", NETWORK_ERRORS)
    def test_every_network_error_fails_the_same_way(self, kind: str) -> None:
        ws = construct("ws://example.test/")
        assert isinstance(ws, WebSocketModel)
        assert kinds(ws.network_error(kind)) == FAILED

    def test_a_redirect_is_a_network_error(self) -> None:
        ws = construct("ws://example.test/")
        assert isinstance(ws, WebSocketModel)
        events = ws.network_error("redirect")
        assert "fetch-redirect-mode-error" in events[0].requirements

    def test_unknown_network_error_is_a_bug(self) -> None:
        ws = construct("ws://example.test/")
        assert isinstance(ws, WebSocketModel)
        with pytest.raises(ValueError, match="unknown"):
            ws.network_error("cosmic-ray")

    def test_valid_101_opens_with_protocol_and_extensions(self) -> None:
        ws = construct("ws://example.test/", ["chat", "superchat"])
        assert isinstance(ws, WebSocketModel)
        events = ws.response(
            101,
            [
                *GOOD,
                ("Sec-WebSocket-Protocol", "chat"),
                ("Sec-WebSocket-Extensions", "permessage-deflate"),
            ],
            key=KEY,
        )
        assert [(e.type, e.protocol, e.extensions, e.ready_state) for e in events] == [
            ("open", "chat", "permessage-deflate", ReadyState.OPEN)
        ]

    def test_offered_protocol_not_acknowledged_fails(self) -> None:
        ws = construct("ws://example.test/", ["chat"])
        assert isinstance(ws, WebSocketModel)
        events = ws.response(101, GOOD, key=KEY)
        assert kinds(events) == FAILED
        assert "whatwg-ws-protocol-not-acked-fail" in events[0].requirements

    @pytest.mark.parametrize(
        ("headers", "rule"),
        [
            ([("Connection", "Upgrade"), GOOD[2]], "rfc6455-4.1-response-upgrade-websocket"),
            ([GOOD[0], GOOD[2]], "rfc6455-4.1-response-connection-upgrade"),
            (
                [GOOD[0], GOOD[1], ("Sec-WebSocket-Accept", "x")],
                "rfc6455-4.1-response-accept-check",
            ),
            (
                [*GOOD, ("Sec-WebSocket-Extensions", "x-other")],
                "rfc6455-4.1-response-unrequested-extension",
            ),
            (
                [*GOOD, ("Sec-WebSocket-Protocol", "chat")],
                "rfc6455-4.1-response-unrequested-subprotocol",
            ),
        ],
    )
    def test_rfc6455_steps_2_to_6_fail(self, headers: list[tuple[str, str]], rule: str) -> None:
        ws = construct("ws://example.test/")
        assert isinstance(ws, WebSocketModel)
        events = ws.response(101, headers, key=KEY)
        assert kinds(events) == FAILED
        assert {"whatwg-ws-validate-rfc-steps-2-6", rule} <= set(events[0].requirements)

    def test_a_second_response_changes_nothing(self) -> None:
        ws = opened()
        assert ws.response(403, []) == []


class TestFeedback:
    """Messages, closing and failing: "Feedback from the protocol"."""

    def test_text_and_binary_messages(self) -> None:
        ws = opened()
        assert kinds(ws.frame(Opcode.TEXT, "héllo".encode())) == ["message('héllo')"]
        assert kinds(ws.frame(Opcode.BINARY, b"\x00\xff")) == ["message(b'\\x00\\xff')"]

    def test_ping_and_pong_are_not_exposed(self) -> None:
        ws = opened()
        assert ws.frame(Opcode.PING, b"x") == [] and ws.frame(Opcode.PONG, b"x") == []

    def test_invalid_utf8_fails_the_connection(self) -> None:
        ws = opened()
        events = ws.frame(Opcode.TEXT, b"\xc3(")
        assert kinds(events) == FAILED
        assert "rfc6455-8.1-invalid-utf8-fail" in events[0].requirements

    def test_masked_frame_fails_the_connection(self) -> None:
        ws = opened()
        assert kinds(ws.frame(Opcode.TEXT, b"x", masked=True)) == FAILED

    def test_server_close_then_tcp_close_is_clean_with_its_code_and_reason(self) -> None:
        ws = opened()
        assert ws.frame(Opcode.CLOSE, close_payload(1000, b"bye")) == []
        assert ws.ready_state is ReadyState.CLOSING
        assert ws.sent_close == close_payload(1000)
        assert kinds(ws.transport_closed()) == ["close(1000, 'bye', wasClean=true)"]

    def test_close_frame_without_code_reports_1005(self) -> None:
        ws = opened()
        ws.frame(Opcode.CLOSE, b"")
        assert kinds(ws.transport_closed()) == ["close(1005, '', wasClean=true)"]

    def test_messages_after_the_servers_close_are_dropped(self) -> None:
        ws = opened()
        ws.frame(Opcode.CLOSE, close_payload(1000))
        assert ws.frame(Opcode.TEXT, b"late") == []

    def test_transport_lost_after_open_fails(self) -> None:
        """RFC 6455 §7.2.1: the client MUST fail the connection; so error, then close."""
        ws = opened()
        events = ws.transport_closed()
        assert kinds(events) == FAILED
        assert "rfc6455-7.2.1-connection-lost-fail" in events[0].requirements

    def test_transport_lost_before_the_response_fails(self) -> None:
        ws = construct("ws://example.test/")
        assert isinstance(ws, WebSocketModel)
        assert kinds(ws.transport_closed()) == FAILED

    def test_nothing_after_closed(self) -> None:
        ws = opened()
        ws.transport_closed()
        assert ws.transport_closed() == [] and ws.frame(Opcode.TEXT, b"x") == []
        assert ws.network_error("refused") == []

    def test_a_failed_connection_ignores_a_later_close_frame(self) -> None:
        """RFC 6455 §7.1.7: no processing (not even a responding Close) after failing."""
        ws = opened()
        ws.frame(Opcode.TEXT, b"\xff")
        assert ws.frame(Opcode.CLOSE, close_payload(1007)) == []


class TestCloseMethod:
    """The close(code, reason) method steps."""

    @pytest.mark.parametrize("code", [999, 1001, 1005, 1006, 2999, 5000])
    def test_invalid_code_throws_invalid_access_error(self, code: int) -> None:
        events = opened().close(code)
        assert [(e.name, e.requirements) for e in events] == [
            ("InvalidAccessError", ("whatwg-ws-close-code-invalid",))
        ]

    @pytest.mark.parametrize("code", [1000, 3000, 4999])
    def test_valid_codes_start_the_closing_handshake(self, code: int) -> None:
        ws = opened()
        assert ws.close(code, "r") == []
        assert ws.sent_close == close_payload(code, b"r")
        assert ws.ready_state is ReadyState.CLOSING

    def test_reason_over_123_bytes_throws_syntax_error(self) -> None:
        ws = opened()
        assert ws.close(1000, "x" * 123) == []
        events = opened().close(1000, "é" * 62)  # 124 bytes
        assert [e.name for e in events] == ["SyntaxError"]

    def test_no_arguments_no_body(self) -> None:
        ws = opened()
        ws.close()
        assert ws.sent_close == b""

    def test_reason_alone_uses_1000(self) -> None:
        ws = opened()
        ws.close(None, "bye")
        assert ws.sent_close == close_payload(1000, b"bye")

    def test_before_established_fails(self) -> None:
        ws = construct("ws://example.test/")
        assert isinstance(ws, WebSocketModel)
        events = ws.close()
        assert kinds(events) == FAILED
        assert "whatwg-ws-close-before-established" in events[0].requirements

    def test_when_closing_does_nothing(self) -> None:
        ws = opened()
        ws.close(1000)
        assert ws.close(3000) == []

    def test_echoed_close_is_clean(self) -> None:
        ws = opened()
        ws.close(3000, "custom")
        ws.frame(Opcode.CLOSE, close_payload(3000, b"custom"))
        assert kinds(ws.transport_closed()) == ["close(3000, 'custom', wasClean=true)"]


class TestSend:
    def test_send_while_connecting_throws(self) -> None:
        ws = construct("ws://example.test/")
        assert isinstance(ws, WebSocketModel)
        assert [e.name for e in ws.send("x")] == ["InvalidStateError"]

    def test_send_when_open_and_after_closing(self) -> None:
        ws = opened()
        assert ws.send("a") == []
        ws.close()
        assert ws.send("b") == []
        assert ws.sent_messages == ["a"]


def test_every_cited_requirement_exists() -> None:
    """Each event's requirement ids are records of spec_refs/."""
    catalog = load_catalog()
    ws = opened()
    cited = [r for e in ws.transport_closed() for r in e.requirements]
    for kind in NETWORK_ERRORS:
        fresh = construct("ws://example.test/")
        assert isinstance(fresh, WebSocketModel)
        cited += [r for e in fresh.network_error(kind) for r in e.requirements]
    for requirement in cited:
        assert catalog.get(requirement) is not None, requirement


class TestFragmentsAndReservedBits:
    """RFC 6455 §5.2 (RSV, opcodes) and §5.4 (fragmentation) as a client receives them."""

    def test_fragments_are_reassembled_with_control_frames_between(self) -> None:
        ws = opened()
        assert ws.frame(Opcode.TEXT, b"h\xc3", fin=False) == []
        assert ws.frame(Opcode.PING, b"p") == []
        assert kinds(ws.frame(Opcode.CONTINUATION, b"\xa9llo")) == ["message('héllo')"]

    def test_continuation_without_a_start_fails(self) -> None:
        assert kinds(opened().frame(Opcode.CONTINUATION, b"x")) == FAILED

    def test_new_message_inside_a_fragmented_one_fails(self) -> None:
        ws = opened()
        ws.frame(Opcode.BINARY, b"a", fin=False)
        events = ws.frame(Opcode.TEXT, b"b")
        assert kinds(events) == FAILED
        assert "rfc6455-5.4-no-interleaved-messages" in events[0].requirements

    def test_rsv_bit_without_extension_fails(self) -> None:
        events = opened().frame(Opcode.TEXT, b"x", rsv=True)
        assert "rfc6455-5.2-rsv-nonzero-fail" in events[0].requirements

    @pytest.mark.parametrize("opcode", [0x3, 0x7, 0xB, 0xF])
    def test_reserved_opcode_fails(self, opcode: int) -> None:
        events = opened().frame(opcode, b"x")
        assert kinds(events) == FAILED
        assert "rfc6455-5.2-unknown-opcode-fail" in events[0].requirements


def test_http_url_maps_to_ws_and_the_open_cites_the_mapping() -> None:
    ws = construct("http://example.test/")
    assert isinstance(ws, WebSocketModel)
    events = ws.response(101, GOOD, key=KEY)
    assert "whatwg-ws-ctor-http-scheme-mapping" in events[0].requirements


class TestServerCloseFrames:
    """What a Close from the server does, RFC 6455 §5.5.1, §7.4.1, §8.1."""

    def test_a_code_no_endpoint_may_send_is_reported_but_not_echoed(self) -> None:
        ws = opened()
        ws.frame(Opcode.CLOSE, close_payload(1006))
        assert ws.sent_close == b""
        assert kinds(ws.transport_closed()) == ["close(1006, '', wasClean=true)"]

    def test_a_one_byte_body_fails(self) -> None:
        events = opened().frame(Opcode.CLOSE, b"\x03")
        assert kinds(events) == FAILED
        assert "rfc6455-5.5.1-close-body-status-code" in events[0].requirements

    def test_a_reason_that_is_not_utf8_fails(self) -> None:
        events = opened().frame(Opcode.CLOSE, close_payload(1000, b"\xff"))
        assert kinds(events) == FAILED
        assert "rfc6455-8.1-invalid-utf8-fail" in events[0].requirements
