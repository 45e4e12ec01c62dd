"""What a script is told when a server refuses (docs/refusing-connections.md).

The ``client/refusal/`` scenarios, with ``status-403`` and ``status-500`` of the handshake
group: an HTTP refusal shows a browser script nothing but ``error`` and ``close`` 1006
(``whatwg-ws-status-not-101-fail``); an accepted connection closed with an application code
(RFC 6455 §7.4.2: 4000-4999 private use) shows the script the code, the reason and
``wasClean`` true (``whatwg-ws-closed-fire-close``), and a message sent before the Close
reaches it first. Each scenario PASSes with the model's events and FAILs (or WARNs, where
the rule is a definition) with a client that hides what it must show.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

import pytest

from conformance.catalog import load_catalog
from conformance.clients.expected import expected_events
from conformance.clients.judge import scenario_case_result
from conformance.clients.observation import ClientObservation
from conformance.clients.protocol import AdapterEvent
from conformance.clients.runner import run_client_suite, select_scenarios
from conformance.clients.scenario_server.records import ConnectionRecord
from conformance.clients.scenarios import (
    PROFILES,
    REFUSAL_MESSAGE,
    REFUSAL_REASON,
    REFUSAL_SCENARIOS,
    ClientScenario,
    Profile,
    scenario_by_name,
)
from conformance.model.codec import close_payload
from conformance.model.decoder import CloseReceived
from conformance.model.verdict import Outcome
from conformance.results import CaseResult

HTTP_REFUSALS = ("status-403", "status-500", "status-503-retry-after")
"""Every HTTP refusal the doc measures: two reused from the handshake group, one new."""
REFUSAL_GLOB = "client/refusal/*"
CITED_ID = re.compile(r"\b(?:rfc6455|whatwg|fetch)-[a-z0-9.-]*[a-z0-9]")
"""A requirement id as a scenario's note cites it."""
REFERENCE = [sys.executable, "-m", "conformance.clients.reference"]
FAULTY_REFERENCE = """
import sys
from conformance.clients import adapter_lines
from conformance.clients.reference.client import ReferenceSession
from conformance.model.constants import Opcode
from conformance.model.frames import Frame

FAULT = sys.argv[1]


class Faulty(ReferenceSession):
    def screen(self, frame):
        if FAULT == "hide-close-code" and frame.opcode == Opcode.CLOSE:
            return Frame(Opcode.CLOSE, b"")  # the script never learns the code or reason
        if FAULT == "drop-text" and frame.opcode == Opcode.TEXT:
            return None  # the application's message never reaches the script
        return frame


adapter_lines.run("reference client with a fault: " + FAULT, Faulty)
"""
"""The reference client with one fault, chosen by its argument (the client-side counterpart
of the fault server; it changes only what the frame checks see)."""


def scenario(name: str) -> ClientScenario:
    found = scenario_by_name(name)
    assert found is not None
    return found


def ev(kind: str, **fields: Any) -> AdapterEvent:
    return AdapterEvent(kind, {"conn": 1, **fields}, 0.01)


def close_event(code: int | None, reason: str | None, clean: bool | None) -> AdapterEvent:
    return ev("close", code=code, reason=reason, wasClean=clean)


OPEN = ev("open", protocol="")
FAILED = [ev("error"), close_event(1006, "", False)]


def replied(name: str, code: int) -> list[ConnectionRecord]:
    """The scenario server's record of a client that answered the Close with ``code``."""
    body = close_payload(code, b"")
    close = CloseReceived(code, b"", body)
    return [ConnectionRecord("ws", scenario=name, token="t", ended=True, client_close=close)]


def judge(name: str, events: list[AdapterEvent], profile: Profile, **extra: Any) -> CaseResult:
    seen = ClientObservation(scenario(name), "ws://127.0.0.1:1/x", events=events)
    for key, value in extra.items():
        setattr(seen, key, value)
    return scenario_case_result(seen, profile)


# -- the scenarios and what the model says a script sees ------------------------------


def test_every_way_to_refuse_has_a_scenario() -> None:
    names = {s.name for s in REFUSAL_SCENARIOS}
    assert {
        "close-4403-on-open",
        "close-4403-then-fin",
        "close-1008-on-open",
        "message-then-close",
    } <= names
    for name in HTTP_REFUSALS:
        assert 400 <= scenario(name).answer.status <= 599  # type: ignore[union-attr]


def test_http_refusals_show_only_error_and_close_1006() -> None:
    for name in HTTP_REFUSALS:
        events = expected_events(scenario(name))
        assert [e.describe() for e in events] == ["error", "close(1006, '', wasClean=false)"]
        assert "whatwg-ws-status-not-101-fail" in events[0].requirements


def test_application_close_code_and_reason_reach_the_script() -> None:
    events = expected_events(scenario("close-4403-on-open"))
    assert [e.type for e in events] == ["open", "close"]
    assert (events[1].code, events[1].reason, events[1].was_clean) == (4403, REFUSAL_REASON, True)
    assert "whatwg-ws-closed-fire-close" in events[1].requirements


def test_a_message_before_the_close_reaches_the_script_first() -> None:
    events = expected_events(scenario("message-then-close"))
    assert [e.type for e in events] == ["open", "message", "close"]
    assert events[1].data == REFUSAL_MESSAGE
    assert (events[2].code, events[2].reason, events[2].was_clean) == (4401, "unauthorized", True)


def test_refusal_notes_cite_catalog_ids() -> None:
    catalog = load_catalog()
    for refusal in REFUSAL_SCENARIOS:
        ids = set(CITED_ID.findall(refusal.note))
        assert ids, refusal.id
        assert all(i in catalog for i in ids), (refusal.id, ids)


# -- verdicts from synthetic observations ----------------------------------------------


def test_whatwg_model_events_pass() -> None:
    for name in ("close-4403-on-open", "close-1008-on-open"):
        code = scenario(name).reported_close.code  # type: ignore[union-attr]
        events = [OPEN, close_event(code, REFUSAL_REASON, True)]
        result = judge(name, events, "whatwg", records=replied(name, code))
        assert result.outcome is Outcome.PASS, result.actual
    events = [OPEN, ev("message", text=REFUSAL_MESSAGE), close_event(4401, "unauthorized", True)]
    result = judge(
        "message-then-close", events, "whatwg", records=replied("message-then-close", 4401)
    )
    assert result.outcome is Outcome.PASS, result.actual


def test_close_then_fin_accepts_either_wasclean_but_requires_open() -> None:
    name = "close-4403-then-fin"
    for clean in (True, False):
        events = [OPEN, close_event(4403, REFUSAL_REASON, clean)]
        assert judge(name, events, "whatwg").outcome is Outcome.PASS, clean
    lost_open = judge(name, [close_event(4403, REFUSAL_REASON, False)], "whatwg")
    assert lost_open.outcome is Outcome.FAIL
    assert "whatwg-ws-established-fire-open" in lost_open.requirements


def test_whatwg_user_agent_hiding_the_application_code_fails() -> None:
    result = judge("close-4403-on-open", [OPEN, *FAILED], "whatwg")
    assert result.outcome is Outcome.FAIL
    assert "whatwg-ws-closed-fire-close" in result.requirements


def test_whatwg_user_agent_dropping_the_reason_fails() -> None:
    events = [OPEN, close_event(4403, "", True)]
    result = judge(
        "close-4403-on-open", events, "whatwg", records=replied("close-4403-on-open", 4403)
    )
    assert result.outcome is Outcome.FAIL


def test_whatwg_user_agent_dropping_the_message_fails() -> None:
    events = [OPEN, close_event(4401, "unauthorized", True)]
    result = judge(
        "message-then-close", events, "whatwg", records=replied("message-then-close", 4401)
    )
    assert result.outcome is Outcome.FAIL
    assert "whatwg-ws-message-fire-event" in result.requirements


def test_whatwg_user_agent_leaking_the_http_status_fails() -> None:
    events = [ev("error"), close_event(1006, "503 Service Unavailable", False)]
    assert judge("status-503-retry-after", events, "whatwg").outcome is Outcome.FAIL


def test_rfc6455_library_exposing_the_status_passes_and_opening_fails() -> None:
    exposed = [ev("exception", phase="connect", name="InvalidStatus", status=503)]
    assert judge("status-503-retry-after", exposed, "rfc6455-client").outcome is Outcome.PASS
    opened = [OPEN, close_event(1006, "", False)]
    assert judge("status-503-retry-after", opened, "rfc6455-client").outcome is Outcome.FAIL


def test_rfc6455_library_reporting_the_code_passes_and_misreporting_warns() -> None:
    name = "close-4403-on-open"
    good = [OPEN, close_event(4403, REFUSAL_REASON, None)]
    bad = [OPEN, close_event(1005, "", None)]
    records = replied(name, 4403)
    assert judge(name, good, "rfc6455-client", records=records).outcome is Outcome.PASS
    warned = judge(name, bad, "rfc6455-client", records=records)
    assert warned.outcome is Outcome.WARN  # §7.1.5/§7.1.6 are definitions (verdict policy)
    assert "rfc6455-7.1.5-close-code-first-frame" in warned.requirements


def test_rfc6455_library_must_deliver_the_message_and_report_its_close() -> None:
    name = "message-then-close"
    records = replied(name, 4401)
    dropped = [OPEN, close_event(4401, "unauthorized", None)]
    assert judge(name, dropped, "rfc6455-client", records=records).outcome is Outcome.FAIL
    misreported = [OPEN, ev("message", text=REFUSAL_MESSAGE), close_event(1000, "", None)]
    assert judge(name, misreported, "rfc6455-client", records=records).outcome is Outcome.WARN


def test_an_unanswered_refusal_close_fails_for_both_profiles() -> None:
    events = [OPEN, close_event(4403, REFUSAL_REASON, True)]
    for profile in PROFILES:
        result = judge("close-4403-on-open", events, profile)
        assert result.outcome is Outcome.FAIL
        assert "rfc6455-5.5.1-close-reply" in result.requirements


# -- live runs: the reference client, and the reference client with a fault ---------------


def run_refusals(argv: list[str], profile: Profile) -> dict[str, CaseResult]:
    scenarios = select_scenarios(profile, [REFUSAL_GLOB])
    report = asyncio.run(run_client_suite(argv, scenarios, profile, label="t", timeout=5.0))
    return {r.id: r for r in report.results if r.id.startswith("client/refusal/")}


@pytest.mark.network
@pytest.mark.parametrize("profile", PROFILES)
def test_reference_client_passes_every_refusal_scenario(profile: Profile) -> None:
    results = run_refusals(REFERENCE, profile)
    assert set(results) == {s.id for s in REFUSAL_SCENARIOS}
    wrong = {i: r.actual for i, r in results.items() if r.outcome is not Outcome.PASS}
    assert not wrong, wrong


@pytest.mark.network
@pytest.mark.parametrize(
    ("profile", "outcome"), [("whatwg", Outcome.FAIL), ("rfc6455-client", Outcome.WARN)]
)
def test_client_hiding_the_close_code_is_caught(profile: Profile, outcome: Outcome) -> None:
    argv = [sys.executable, "-c", FAULTY_REFERENCE, "hide-close-code"]
    results = run_refusals(argv, profile)
    for name in ("close-4403-on-open", "close-4403-then-fin", "close-1008-on-open"):
        assert results[f"client/refusal/{name}"].outcome is outcome, results
    assert results["client/refusal/status-503-retry-after"].outcome is Outcome.PASS


@pytest.mark.network
@pytest.mark.parametrize("profile", PROFILES)
def test_client_dropping_the_message_fails(profile: Profile) -> None:
    argv = [sys.executable, "-c", FAULTY_REFERENCE, "drop-text"]
    result = run_refusals(argv, profile)["client/refusal/message-then-close"]
    assert result.outcome is Outcome.FAIL, result.actual
