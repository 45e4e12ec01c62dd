"""Verdicts from synthetic observations: each rule can fail, pass, or be inconclusive."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.clients.judge import scenario_case_result
from conformance.clients.observation import ClientObservation
from conformance.clients.protocol import AdapterEvent
from conformance.clients.run_checks import indistinguishable, tls_control
from conformance.clients.scenario_server.records import ConnectionRecord
from conformance.clients.scenarios import ClientScenario, scenario_by_name
from conformance.model.decoder import CloseReceived
from conformance.model.verdict import Outcome
from conformance.model.violations import Violation


def ev(kind: str, at: float = 0.01, **fields: Any) -> AdapterEvent:
    return AdapterEvent(kind, {"conn": 1, **fields}, at)


def close(code: int | None, reason: str | None = "", clean: bool | None = None) -> AdapterEvent:
    return ev("close", code=code, reason=reason, wasClean=clean)


FAILED = [ev("error"), close(1006, "", False)]


def scenario(name: str) -> ClientScenario:
    found = scenario_by_name(name)
    assert found is not None
    return found


def record(name: str, **fields: Any) -> ConnectionRecord:
    return ConnectionRecord("ws", scenario=name, token="t", ended=True, **fields)


def observe(name: str, events: list[AdapterEvent], **extra: Any) -> ClientObservation:
    seen = ClientObservation(scenario(name), "ws://127.0.0.1:1/x", events=events)
    for key, value in extra.items():
        setattr(seen, key, value)
    return seen


def outcome(seen: ClientObservation, profile: str) -> Outcome:
    return scenario_case_result(seen, profile).outcome  # type: ignore[arg-type]


class TestWhatwgEvents:
    def test_403_error_then_1006_passes(self) -> None:
        assert outcome(observe("status-403", FAILED), "whatwg") is Outcome.PASS

    def test_403_exposed_as_a_close_code_fails(self) -> None:
        seen = observe("status-403", [ev("error"), close(1002, "", False)])
        result = scenario_case_result(seen, "whatwg")
        assert result.outcome is Outcome.FAIL
        assert "whatwg-ws-closed-fire-close" in result.requirements

    def test_open_on_wrong_accept_fails(self) -> None:
        seen = observe("wrong-accept", [ev("open", protocol=""), *FAILED])
        result = scenario_case_result(seen, "whatwg")
        assert result.outcome is Outcome.FAIL
        assert "whatwg-ws-validate-rfc-steps-2-6" in result.requirements

    def test_missing_error_event_fails(self) -> None:
        assert outcome(observe("refused", [close(1006, "", False)]), "whatwg") is Outcome.FAIL

    def test_ready_state_is_compared_when_reported(self) -> None:
        events = [
            ev("error", readyState=3),
            ev("close", code=1006, reason="", wasClean=False, readyState=1),
        ]
        assert outcome(observe("refused", events), "whatwg") is Outcome.FAIL

    def test_a_prefix_then_the_deadline_is_inconclusive(self) -> None:
        seen = observe("fin-after-101", [ev("open", protocol="")], timed_out=True)
        assert outcome(seen, "whatwg") is Outcome.ERROR

    def test_close_1006_frame_both_readings_pass(self) -> None:
        clean = [ev("open", protocol=""), close(1006, "", True)]
        failed = [ev("open", protocol=""), *FAILED]
        replied = [record("server-close-1006", client_close=CloseReceived(1000, b"", b"\x03\xe8"))]
        assert (
            outcome(observe("server-close-1006", clean, records=replied), "whatwg") is Outcome.PASS
        )
        assert outcome(observe("server-close-1006", failed), "whatwg") is Outcome.PASS

    def test_echoing_1006_on_the_wire_fails(self) -> None:
        bad = Violation("rfc6455-7.4.1-1006-not-sent", "Close code 1006")
        seen = observe(
            "server-close-1006",
            [ev("open", protocol=""), close(1006, "", True)],
            records=[record("server-close-1006", violations=[bad])],
        )
        assert outcome(seen, "whatwg") is Outcome.FAIL

    def test_exception_name_must_match(self) -> None:
        good = [ev("exception", phase="connect", name="SyntaxError")]
        bad = [ev("exception", phase="connect", name="TypeError")]
        assert outcome(observe("ctor-fragment", good), "whatwg") is Outcome.PASS
        assert outcome(observe("ctor-fragment", bad), "whatwg") is Outcome.FAIL

    def test_followed_redirect_fails_even_without_open(self) -> None:
        seen = observe("redirect-302", FAILED, records=[record("redirect-target")])
        result = scenario_case_result(seen, "whatwg")
        assert result.outcome is Outcome.FAIL
        assert "whatwg-ws-request-redirect-error" in result.requirements


class TestRfc6455Client:
    def test_non_101_without_open_passes_and_notes_the_status(self) -> None:
        seen = observe(
            "status-403", [ev("exception", phase="connect", name="InvalidStatus", status=403)]
        )
        result = scenario_case_result(seen, "rfc6455-client")
        assert result.outcome is Outcome.PASS
        assert "403" in result.actual

    def test_open_on_a_non_101_fails(self) -> None:
        seen = observe("status-200", [ev("open", protocol=""), close(1000)])
        assert outcome(seen, "rfc6455-client") is Outcome.FAIL

    def test_no_terminal_event_is_an_error(self) -> None:
        assert outcome(observe("refused", [], timed_out=True), "rfc6455-client") is Outcome.ERROR

    def test_followed_redirect_with_a_fresh_valid_handshake_passes(self) -> None:
        records = [record("redirect-301", key="a"), record("redirect-target", key="b")]
        seen = observe("redirect-301", [ev("open", protocol=""), close(1000)], records=records)
        assert outcome(seen, "rfc6455-client") is Outcome.PASS

    def test_followed_redirect_reusing_the_key_fails(self) -> None:
        records = [record("redirect-301", key="a"), record("redirect-target", key="a")]
        seen = observe("redirect-301", [ev("open", protocol=""), close(1000)], records=records)
        assert outcome(seen, "rfc6455-client") is Outcome.FAIL

    def test_not_following_a_redirect_passes(self) -> None:
        seen = observe("redirect-307", [ev("exception", phase="connect", name="X", status=307)])
        assert outcome(seen, "rfc6455-client") is Outcome.PASS

    def test_protocol_not_acked_refusal_is_info(self) -> None:
        seen = observe("protocol-not-acked", [ev("exception", phase="connect", name="X")])
        assert outcome(seen, "rfc6455-client") is Outcome.INFO

    def test_abrupt_close_reported_as_clean_1000_warns(self) -> None:
        seen = observe("rst-after-101", [ev("open", protocol=""), close(1000, "", True)])
        assert outcome(seen, "rfc6455-client") is Outcome.WARN

    def test_abrupt_close_never_reported_fails(self) -> None:
        seen = observe("fin-after-101", [ev("open", protocol="")], timed_out=True)
        assert outcome(seen, "rfc6455-client") is Outcome.FAIL

    def test_close_not_answered_fails(self) -> None:
        seen = observe(
            "server-close-1000",
            [ev("open", protocol=""), close(1000, "bye")],
            records=[record("server-close-1000")],
        )
        result = scenario_case_result(seen, "rfc6455-client")
        assert result.outcome is Outcome.FAIL
        assert "rfc6455-5.5.1-close-reply" in result.requirements

    def test_ping_needs_a_pong_with_the_same_data(self) -> None:
        reply = CloseReceived(1000, b"", b"\x03\xe8")
        events = [ev("open", protocol=""), ev("message", text="after ping"), close(1000)]
        good = record("ping", pongs=[b"are you there"], client_close=reply)
        wrong = record("ping", pongs=[b"other"], client_close=reply)
        none = record("ping", client_close=reply)
        assert outcome(observe("ping", events, records=[good]), "rfc6455-client") is Outcome.PASS
        assert outcome(observe("ping", events, records=[wrong]), "rfc6455-client") is Outcome.FAIL
        assert outcome(observe("ping", events, records=[none]), "rfc6455-client") is Outcome.FAIL

    def test_invalid_utf8_delivered_fails(self) -> None:
        events = [ev("open", protocol=""), ev("message", text="caf\ufffd("), close(1007)]
        assert outcome(observe("invalid-utf8", events), "rfc6455-client") is Outcome.FAIL

    def test_masked_frame_left_open_fails(self) -> None:
        events = [ev("open", protocol=""), ev("message", text="masked"), close(1000)]
        seen = observe("masked-server-frame", events, harness_closed=True, timed_out=True)
        assert outcome(seen, "rfc6455-client") is Outcome.FAIL

    @pytest.mark.parametrize("profile", ["whatwg", "rfc6455-client"])
    def test_adapter_contract_breach_is_an_error(self, profile: str) -> None:
        seen = observe("status-403", FAILED, problems=["contract: close lacks code"])
        assert outcome(seen, profile) is Outcome.ERROR


class TestIndistinguishable:
    def test_same_events_everywhere_pass(self) -> None:
        seen = [observe(n, FAILED) for n in ("refused", "status-403", "tls-untrusted")]
        seen.append(observe("fin-after-101", [ev("open", protocol=""), *FAILED]))
        results = {r.id: r for r in indistinguishable(seen)}
        assert results["client/whatwg/indistinguishable"].outcome is Outcome.PASS
        assert results["client/whatwg/failure-timing"].outcome is Outcome.INFO

    def test_a_different_code_in_one_situation_fails(self) -> None:
        seen = [
            observe("refused", FAILED),
            observe("status-403", [ev("error"), close(1002, "", False)]),
        ]
        result = indistinguishable(seen)[0]
        assert result.outcome is Outcome.FAIL
        assert "whatwg-ws-indistinct-refused" in result.requirements

    def test_one_situation_is_not_enough(self) -> None:
        assert indistinguishable([observe("refused", FAILED)])[0].outcome is Outcome.ERROR


def test_untrusted_tls_pass_is_inconclusive_without_the_control() -> None:
    untrusted = observe("tls-untrusted", [ev("exception", phase="connect", name="SSLError")])
    control = observe("tls-trusted", [ev("exception", phase="connect", name="SSLError")])
    results = [
        scenario_case_result(untrusted, "rfc6455-client"),
        scenario_case_result(control, "rfc6455-client"),
    ]
    assert results[0].outcome is Outcome.PASS
    fixed = tls_control(results, [untrusted, control])
    assert fixed[0].outcome is Outcome.ERROR


def test_masked_frame_message_before_closing_passes_under_whatwg() -> None:
    events = [ev("open", protocol=""), ev("message", text="masked"), *FAILED]
    assert outcome(observe("masked-server-frame", events), "whatwg") is Outcome.PASS


def test_invalid_utf8_message_before_failing_fails_under_whatwg() -> None:
    events = [ev("open", protocol=""), ev("message", text="caf\ufffd("), *FAILED]
    assert outcome(observe("invalid-utf8", events), "whatwg") is Outcome.FAIL


def test_binary_message_is_compared_byte_for_byte() -> None:
    from base64 import b64encode

    from conformance.clients.scenarios import BINARY_PAYLOAD

    good = b64encode(BINARY_PAYLOAD).decode()
    wrong = b64encode(b"other").decode()
    for data, want in ((good, Outcome.PASS), (wrong, Outcome.FAIL)):
        events = [ev("open", protocol=""), ev("message", binary=data), close(1000, "", True)]
        reply = record("binary", client_close=CloseReceived(1000, b"", b"\x03\xe8"))
        assert outcome(observe("binary", events, records=[reply]), "whatwg") is want
        assert outcome(observe("binary", events, records=[reply]), "rfc6455-client") is want


def test_fragmented_message_lost_fails_under_rfc6455() -> None:
    events = [ev("open", protocol=""), ev("message", text="hel"), close(1000)]
    result = scenario_case_result(observe("fragmented-text", events), "rfc6455-client")
    assert result.outcome is Outcome.FAIL
    assert "rfc6455-5.4-receive-fragmented" in result.requirements


def test_reserved_opcode_delivered_fails() -> None:
    events = [ev("open", protocol=""), ev("message", text="reserved"), close(1000)]
    assert outcome(observe("reserved-opcode", events), "rfc6455-client") is Outcome.FAIL
