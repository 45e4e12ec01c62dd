"""permessage-deflate on the client side (RFC 7692): the client/deflate/* scenarios.

The reference client passes each; each deflate fault (fixtures/deflate_client_faults.py)
fails exactly the scenarios that check the rule it breaks, citing it; a client offering
nothing gets UNSUPPORTED, not FAIL. The judge's own deflate verdicts (a 1011 after open,
a configuration declined by failing the handshake, nothing compressed) are shown on
synthetic observations; the scenario server's reading of the client's compressed frames
and the offer checks, directly.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from conformance.catalog import load_catalog
from conformance.clients.judge import model_events, scenario_case_result
from conformance.clients.observation import ClientObservation
from conformance.clients.protocol import AdapterEvent
from conformance.clients.request_checks import deflate_offer_violations, deflate_unmet
from conformance.clients.runner import run_client_suite, select_scenarios
from conformance.clients.scenario_server.deflate import ClientInflation, agreed_by
from conformance.clients.scenario_server.records import ClientFrame, ConnectionRecord
from conformance.clients.scenarios import (
    DEFLATE_SCENARIOS,
    PROFILES,
    ClientScenario,
    Profile,
    scenario_by_name,
)
from conformance.model.constants import Opcode
from conformance.model.decoder import CloseReceived, Message
from conformance.model.deflate.compressor import MessageCompressor, context_pair
from conformance.model.deflate.params import WindowRule
from conformance.model.deflate.probes import beyond_window
from conformance.model.frames import Frame
from conformance.model.verdict import Outcome
from conformance.results import CaseResult
from fixtures.deflate_client_faults import DEFLATE_FAULT_TYPES, DEFLATE_VARIANTS

pytestmark = pytest.mark.network

REFERENCE = [sys.executable, "-m", "conformance.clients.reference"]
TIMEOUT = 5.0
OFFERS_CMWB = "cmwb-unoffered"
"""The one scenario the reference client's offer (a browser's: ``client_max_window_bits``)
does not allow: UNSUPPORTED for it, PASS for a client offering ``permessage-deflate`` alone."""

BREAKS: dict[str, dict[str, str]] = {
    "deflate-invalid-offer": {"offer-declined": "rfc7692-7.1.2.2-cmwb-offer-abnf"},
    "deflate-accept-invalid-response": {
        "smwb-7": "rfc7692-7-fail-invalid-value",
        "smwb-16": "rfc7692-7-fail-invalid-value",
        "smwb-no-value": "rfc7692-7-fail-invalid-value",
        "cmwb-no-value": "rfc7692-7-fail-invalid-value",
        "two-elements": "rfc7692-5-rsv1-conflict-client-fail",
        "unknown-param": "rfc7692-7-fail-unknown-param",
        "duplicate-param": "rfc7692-7-fail-duplicate-param",
    },
    "deflate-accept-unoffered-cmwb": {
        "cmwb-unoffered": "rfc7692-5-invalid-response-fail",
        "smwb-7": "rfc7692-7-fail-invalid-value",
        "smwb-16": "rfc7692-7-fail-invalid-value",
        "smwb-no-value": "rfc7692-7-fail-invalid-value",
        "two-elements": "rfc7692-5-rsv1-conflict-client-fail",
        "unknown-param": "rfc7692-7-fail-unknown-param",
        "duplicate-param": "rfc7692-7-fail-duplicate-param",
    },
    "deflate-when-declined": {
        "offer-declined": "rfc6455-5.2-rsv-zero",
        "rsv1-declined": "rfc6455-5.2-rsv-nonzero-fail",
    },
    "deflate-ignore-misplaced-rsv1": {
        "rsv1-continuation": "rfc7692-6.1-rsv1-control-fail",
        "rsv1-ping": "rfc7692-6.1-rsv1-control-fail",
    },
    "deflate-no-inflate-context": {
        "inflate-context-takeover": "rfc7692-7.2.2-client-keep-context",
        "inflate-uncompressed-between": "rfc7692-7.2.3.2-uncompressed-keep-window",
    },
    "deflate-uncompressed-in-window": {
        "inflate-uncompressed-between": "rfc7692-7.2.3.2-uncompressed-keep-window",
    },
    "deflate-inflate-per-frame": {
        "inflate-fragmented-ping": "rfc7692-6.2-concatenate-payloads",
        "inflate-empty-final-fragment": "rfc7692-7.2.3.6-empty-final-fragment",
    },
    "deflate-ignore-client-rule": {
        "compress-no-context": "rfc7692-7.2.1-client-no-context-takeover",
        "compress-window-8": "rfc7692-7.2.1-client-max-window",
        "compress-window-10": "rfc7692-7.2.1-client-max-window",
    },
    "deflate-deliver-compressed": {
        "inflate-context-takeover": "rfc7692-7.2.2-client-keep-context",
        "inflate-no-context-takeover": "rfc7692-6.2-decompress-concatenation",
        "inflate-uncompressed-between": "rfc7692-7.2.3.2-uncompressed-keep-window",
        "inflate-fragmented-ping": "rfc7692-6.2-concatenate-payloads",
        "inflate-empty-final-fragment": "rfc7692-7.2.3.6-empty-final-fragment",
    },
}
"""Fault -> the deflate scenarios that must FAIL against it, each with the rule it cites;
every other deflate scenario must not FAIL."""


def adapter(name: str) -> list[str]:
    return [sys.executable, "-m", "fixtures.faulty_client", "--fault", name]


def deflate_results(argv: list[str], profile: Profile) -> dict[str, CaseResult]:
    scenarios = [s for s in select_scenarios(profile) if s.deflate is not None]
    report = asyncio.run(
        run_client_suite(argv, scenarios, profile, label="deflate", timeout=TIMEOUT)
    )
    return {
        r.id.rsplit("/", 1)[-1]: r for r in report.results if r.id.startswith("client/deflate/")
    }


def scenario(name: str) -> ClientScenario:
    found = scenario_by_name(name)
    assert found is not None and found.deflate is not None
    return found


# -- the table ----------------------------------------------------------------------------


def test_every_deflate_scenario_cites_a_catalogued_rule() -> None:
    catalog = load_catalog()
    assert len(DEFLATE_SCENARIOS) == 21
    for item in DEFLATE_SCENARIOS:
        assert item.id.startswith("client/deflate/")
        assert item.deflate is not None
        assert catalog.get(item.deflate.rule) is not None, item.id


def test_a_rejected_response_is_a_failed_connection_for_the_model() -> None:
    events = model_events(scenario("smwb-16"))
    assert [e.describe() for e in events] == ["error", "close(1006, '', wasClean=false)"]
    assert "rfc7692-7-fail-invalid-value" in events[0].requirements


def test_the_model_sees_the_inflated_messages() -> None:
    item = scenario("inflate-uncompressed-between")
    assert item.deflate is not None
    messages = [e.data for e in model_events(item) if e.type == "message"]
    assert messages == list(item.deflate.messages)


# -- clients ------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_reference_client_passes_every_deflate_scenario(profile: Profile) -> None:
    results = deflate_results(REFERENCE, profile)
    assert len(results) == len(DEFLATE_SCENARIOS)
    wrong = {
        name: f"{r.outcome.value}: {r.actual}"
        for name, r in results.items()
        if r.outcome is not (Outcome.UNSUPPORTED if name == OFFERS_CMWB else Outcome.PASS)
    }
    assert not wrong, wrong


def test_a_bare_offer_makes_the_unoffered_cmwb_scenario_apply_and_pass() -> None:
    results = deflate_results(adapter("deflate-bare-offer"), "rfc6455-client")
    assert results[OFFERS_CMWB].outcome is Outcome.PASS
    assert "rfc7692-5-invalid-response-fail" in results[OFFERS_CMWB].requirements
    assert all(r.outcome in (Outcome.PASS, Outcome.UNSUPPORTED) for r in results.values())


def test_a_client_offering_nothing_gets_unsupported_not_fail() -> None:
    results = deflate_results(adapter("deflate-no-offer"), "rfc6455-client")
    assert {r.outcome for r in results.values()} == {Outcome.UNSUPPORTED}


def test_every_fault_is_listed_and_every_variant_conforms() -> None:
    assert set(BREAKS) == set(DEFLATE_FAULT_TYPES)
    assert not set(DEFLATE_VARIANTS) & set(BREAKS)
    for name, cls in DEFLATE_FAULT_TYPES.items():
        assert "RFC 7692 §" in cls.description, name


@pytest.mark.parametrize("fault", sorted(BREAKS))
def test_each_deflate_fault_fails_exactly_the_scenarios_of_its_rule(fault: str) -> None:
    results = deflate_results(adapter(fault), "rfc6455-client")
    failed = {name for name, r in results.items() if r.outcome is Outcome.FAIL}
    assert failed == set(BREAKS[fault]), {n: results[n].actual for n in failed}
    for name, rule in BREAKS[fault].items():
        assert rule in results[name].requirements, (name, results[name].requirements)


# -- the judge on synthetic observations ---------------------------------------------------

OFFER = [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")]


def ev(kind: str, **fields: Any) -> AdapterEvent:
    return AdapterEvent(kind, {"conn": 1, **fields}, 0.01)


def observe(name: str, events: list[AdapterEvent], **record: Any) -> ClientObservation:
    rec = ConnectionRecord(
        "ws", scenario=name, token="t", ended=True, method="GET", headers=OFFER, **record
    )
    return ClientObservation(scenario(name), "ws://127.0.0.1:1/x", events=events, records=[rec])


def compressed_frame() -> ClientFrame:
    return ClientFrame(Opcode.TEXT, True, 4, True, 10, b"")


def echoed(name: str) -> list[AdapterEvent]:
    probe = scenario(name).delivers
    return [ev("open", protocol=""), ev("message", text=probe), ev("message", text=probe)]


def test_an_open_connection_on_an_unoffered_extension_fails() -> None:
    seen = observe("unoffered-extension", [ev("open", protocol=""), ev("close", code=1000)])
    result = scenario_case_result(seen, "rfc6455-client")
    assert result.outcome is Outcome.FAIL
    assert "rfc6455-4.1-response-unrequested-extension" in result.requirements


def test_1011_after_accepting_a_window_fails() -> None:
    events = [*echoed("compress-window-8"), ev("close", code=1011)]
    bye = CloseReceived(1011, b"", b"\x03\xf3")
    seen = observe("compress-window-8", events, client_close=bye, frames=[compressed_frame()])
    result = scenario_case_result(seen, "rfc6455-client")
    assert result.outcome is Outcome.FAIL
    assert "rfc7692-7-fail-unsupported-config" in result.requirements


@pytest.mark.parametrize("profile", PROFILES)
def test_declining_a_window_by_failing_the_handshake_passes(profile: Profile) -> None:
    seen = observe("compress-window-8", [ev("error"), ev("close", code=1006, wasClean=False)])
    result = scenario_case_result(seen, profile)
    assert result.outcome is Outcome.PASS
    assert "rfc7692-7-fail-unsupported-config" in result.requirements


def test_compressing_nothing_is_info_and_compressing_is_pass() -> None:
    events = [*echoed("compress-no-context"), ev("close", code=1000)]
    nothing = observe("compress-no-context", events)
    assert scenario_case_result(nothing, "rfc6455-client").outcome is Outcome.INFO
    some = observe("compress-no-context", events, frames=[compressed_frame()])
    assert scenario_case_result(some, "rfc6455-client").outcome is Outcome.PASS


def test_a_client_without_the_offer_is_unsupported_under_both_profiles() -> None:
    for profile in PROFILES:
        seen = observe("inflate-context-takeover", [ev("open", protocol="")])
        seen.records[0].headers = []
        assert scenario_case_result(seen, profile).outcome is Outcome.UNSUPPORTED


# -- the offer and the server's reading of the client's frames ---------------------------


def test_offer_checks_name_the_client_rule() -> None:
    assert deflate_offer_violations(OFFER) == []
    bad = [("Sec-WebSocket-Extensions", "permessage-deflate; x_unknown=1")]
    assert [v.requirement for v in deflate_offer_violations(bad)] == [
        "rfc6455-9.1-params-defined-for-extension"
    ]
    twice = [
        (
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        )
    ]
    assert [v.requirement for v in deflate_offer_violations(twice)] == [
        "rfc6455-9-extension-params-per-spec"
    ]
    valued = [("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=16")]
    assert [v.requirement for v in deflate_offer_violations(valued)] == [
        "rfc7692-7.1.2.1-smwb-offer-abnf"
    ]


def test_two_offers_are_allowed_and_the_first_decides() -> None:
    two = [
        (
            "Sec-WebSocket-Extensions",
            "permessage-deflate, permessage-deflate; client_max_window_bits",
        )
    ]
    assert deflate_offer_violations(two) == []
    assert deflate_unmet("cmwb-offer", two) is not None
    assert deflate_unmet("no-cmwb-offer", two) is None
    assert deflate_unmet("offer", []) is not None


def test_the_server_checks_the_client_window_and_context_with_the_strict_inflater() -> None:
    agreed = agreed_by("permessage-deflate; client_max_window_bits=8")
    assert agreed is not None and agreed.client_max_window_bits == 8
    probe = beyond_window(8)
    wide = MessageCompressor(WindowRule()).compress(probe)
    found = ClientInflation(agreed, 2**20).message(Message(Opcode.BINARY, wide, True))
    assert getattr(found, "requirement", None) == "rfc7692-7.2.1-client-max-window"
    narrow = MessageCompressor(WindowRule(8)).compress(probe)
    assert ClientInflation(agreed, 2**20).message(Message(Opcode.BINARY, narrow, True)) == (
        Message(Opcode.BINARY, probe)
    )
    reset = agreed_by("permessage-deflate; client_no_context_takeover")
    assert reset is not None
    first, second = context_pair(b"abcdefgh" * 8, b"abcdefgh" * 8)
    inflation = ClientInflation(reset, 2**20)
    assert isinstance(inflation.message(Message(Opcode.BINARY, first, True)), Message)
    kept = inflation.message(Message(Opcode.BINARY, second, True))
    assert getattr(kept, "requirement", None) == "rfc7692-7.2.1-client-no-context-takeover"


def test_rsv1_on_a_client_control_frame_is_a_violation_once_agreed() -> None:
    found = ClientInflation.frame(Frame(Opcode.PING, b"", rsv1=True))
    assert [v.requirement for v in found] == ["rfc7692-6.1-rsv1-control-continuation"]


def test_invalid_responses_agree_nothing() -> None:
    for response in ("permessage-deflate; server_max_window_bits=16", "x, permessage-deflate"):
        assert agreed_by(response) is None
