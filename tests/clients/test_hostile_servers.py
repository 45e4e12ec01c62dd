"""Hostile servers against clients (issue #14, deliverable 4): verdicts, not deadlines.

The judge's rules on synthetic observations first (fast); then each hostile scenario
played against real client processes: the reference client and the test client of
tests/clients/hostile_clients.py in each mode, which PASS where they fail the connection
or stay bounded and WARN/FAIL/INFO where they break the scenario's rule.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.clients.harness import run_scenarios
from conformance.clients.judge import CRASH_PROBLEM, scenario_case_result
from conformance.clients.observation import ClientObservation
from conformance.clients.protocol import AdapterEvent
from conformance.clients.scenario_server import hostile
from conformance.clients.scenario_server.records import ConnectionRecord
from conformance.clients.scenarios import (
    FLOOD_PING_DATA,
    HOSTILE_SCENARIOS,
    PROFILES,
    HostileStats,
    Profile,
    scenario_by_name,
)
from conformance.model.verdict import Outcome

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = [sys.executable, "-m", "conformance.clients.reference"]
TIMEOUT = 5.0
MIB = 2**20


def ev(kind: str, **fields: Any) -> AdapterEvent:
    return AdapterEvent(kind, {"conn": 1, **fields}, 0.01)


OPENED = ev("open", protocol="", extensions="")
FAILED = [ev("error"), ev("close", code=1006, reason="", wasClean=False)]


def stats(**fields: Any) -> HostileStats:
    base: dict[str, Any] = {"step": "Flood", "written": 128 * MIB, "ended": "played"}
    base |= {"seconds": 1.0, "rss_before": 50 * MIB, "rss_peak": 52 * MIB, "processes": 1}
    return HostileStats(**(base | fields))


def observe(
    name: str, events: list[AdapterEvent], found: HostileStats | None, **record: Any
) -> ClientObservation:
    scenario = scenario_by_name(name)
    assert scenario is not None
    notes = [found.as_note()] if found is not None else []
    rec = ConnectionRecord("ws", scenario=name, token="t", ended=True, notes=notes, **record)
    return ClientObservation(scenario, "ws://127.0.0.1:1/x", events=events, records=[rec])


def verdict(seen: ClientObservation, profile: Profile = "rfc6455-client") -> Outcome:
    return scenario_case_result(seen, profile).outcome


# -- the judge's rules -------------------------------------------------------------------


def test_hostile_stats_travel_in_a_record_note() -> None:
    found = stats(rss_peak=None)
    assert HostileStats.from_notes(["other", found.as_note()]) == found
    assert found.rss_growth is None and stats().rss_growth == 2 * MIB


@pytest.mark.parametrize("profile", PROFILES)
def test_msb_set_length_kept_open_fails_and_failing_passes(profile: Profile) -> None:
    kept = observe("length-msb-set", [OPENED, *FAILED], stats(ended="played"))
    result = scenario_case_result(kept, profile)
    assert result.outcome is Outcome.FAIL
    assert "rfc6455-5.2-length-64-msb-zero" in result.requirements
    closed = observe("length-msb-set", [OPENED, *FAILED], stats(ended="client"))
    assert verdict(closed, profile) is Outcome.PASS


def test_message_after_msb_set_length_fails() -> None:
    seen = observe("length-msb-set", [OPENED, ev("message", binary=""), *FAILED], stats())
    assert verdict(seen) is Outcome.FAIL


def test_buffering_an_endless_message_without_limit_warns() -> None:
    grew = stats(rss_peak=50 * MIB + 120 * MIB)
    result = scenario_case_result(observe("endless-fragments", [OPENED, *FAILED], grew), "whatwg")
    assert result.outcome is Outcome.WARN
    assert result.requirements == ("rfc6455-10.4-impose-size-limits",)


def test_staying_connected_with_bounded_memory_passes() -> None:
    seen = observe("endless-fragments", [OPENED, *FAILED], stats(rss_peak=51 * MIB))
    assert verdict(seen) is Outcome.PASS


def test_a_slow_reader_is_judged_by_its_memory_too() -> None:
    slow = stats(ended="not-reading", written=30 * MIB)
    assert verdict(observe("endless-fragments", [OPENED, *FAILED], slow)) is Outcome.PASS
    kept = stats(ended="not-reading", written=30 * MIB, rss_peak=50 * MIB + 25 * MIB)
    assert verdict(observe("endless-fragments", [OPENED, *FAILED], kept)) is Outcome.WARN


def test_unreadable_memory_of_a_connected_client_is_info() -> None:
    seen = observe("endless-header", FAILED, stats(step="EndlessHeader", rss_before=None))
    assert verdict(seen) is Outcome.INFO


def test_closing_on_a_hostile_stream_passes() -> None:
    seen = observe("endless-header", FAILED, stats(step="EndlessHeader", ended="client"))
    assert verdict(seen) is Outcome.PASS


def test_open_on_an_endless_header_fails() -> None:
    seen = observe("endless-header", [OPENED, *FAILED], stats(step="EndlessHeader"))
    assert verdict(seen) is Outcome.FAIL


@pytest.mark.parametrize("name", [s.name for s in HOSTILE_SCENARIOS])
def test_an_adapter_that_dies_or_hangs_warns(name: str) -> None:
    died = observe(name, [OPENED], stats(ended="client"))
    died.problems.append(CRASH_PROBLEM)
    assert verdict(died) is Outcome.WARN
    hung = observe(name, [], stats(ended="client"))
    hung.timed_out = True
    assert verdict(hung) is Outcome.WARN


def test_another_contract_breach_stays_an_error() -> None:
    seen = observe("ping-flood", [OPENED, *FAILED], stats())
    seen.problems.append("contract: message after the terminal event")
    assert verdict(seen) is Outcome.ERROR


def test_a_trickled_101_refused_is_info_and_opened_passes() -> None:
    trickled = stats(step="TrickleHead", ended="client", written=40)
    refused = [ev("exception", phase="connect", name="TimeoutError")]
    assert verdict(observe("trickled-101", refused, trickled)) is Outcome.INFO
    echoed = [OPENED, ev("message", text="hello"), ev("close", code=1000, wasClean=True)]
    played = stats(step="TrickleHead", written=130)
    assert verdict(observe("trickled-101", echoed, played), "whatwg") is Outcome.PASS


def test_ping_flood_needs_a_pong_and_the_message_after_it() -> None:
    delivered = [OPENED, ev("message", text="after the flood"), *FAILED]
    answered = observe("ping-flood", delivered, stats(), pongs=[FLOOD_PING_DATA])
    assert verdict(answered) is Outcome.PASS
    silent = observe("ping-flood", delivered, stats())
    assert verdict(silent) is Outcome.FAIL
    lost = observe("ping-flood", [OPENED, *FAILED], stats(), pongs=[FLOOD_PING_DATA])
    assert verdict(lost) is Outcome.FAIL


def test_no_hostile_stream_recorded_is_an_error() -> None:
    assert verdict(observe("ping-flood", [OPENED, *FAILED], None)) is Outcome.ERROR


# -- the server's view of the client's memory ---------------------------------------------


class FakeTransport:
    """What :func:`hostile.client_processes` reads of a transport."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str) -> object:
        return {"peername": self.sock.getpeername(), "sockname": self.sock.getsockname()}[name]


CONNECT_AND_SLEEP = "import socket, time; s = socket.create_connection(('127.0.0.1', {port}))"
CONNECT_AND_SLEEP += "; time.sleep(30)"


def test_the_meter_finds_the_process_group_holding_the_client_socket() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        code = CONNECT_AND_SLEEP.format(port=listener.getsockname()[1])
        with subprocess.Popen([sys.executable, "-c", code], start_new_session=True) as child:
            try:
                listener.settimeout(10)
                accepted, _ = listener.accept()
                with accepted:
                    transport = FakeTransport(accepted)
                    assert hostile.client_processes(transport) == [child.pid]  # type: ignore[arg-type]
                    assert (hostile.resident_bytes([child.pid]) or 0) > 0
            finally:
                child.kill()


def test_no_memory_is_read_for_a_client_in_this_process() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_connection(listener.getsockname()) as client,
    ):
        accepted, _ = listener.accept()
        with accepted, client:
            assert hostile.client_processes(FakeTransport(accepted)) == []  # type: ignore[arg-type]


# -- real clients ------------------------------------------------------------------------


def hostile_client(mode: str) -> list[str]:
    return [sys.executable, str(ROOT / "tests" / "clients" / "hostile_clients.py"), mode]


def play(argv: list[str], names: list[str]) -> dict[str, ClientObservation]:
    scenarios = [scenario_by_name(n) for n in names]
    env = {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = run_scenarios(argv, [s for s in scenarios if s], timeout=TIMEOUT, env=env)
    _, observations = asyncio.run(run)
    return {o.scenario.name: o for o in observations}


def outcomes(argv: list[str], expected: dict[str, Outcome]) -> None:
    """Each scenario's verdict under both profiles is the expected one."""
    seen = play(argv, list(expected))
    got = {
        (name, profile): scenario_case_result(seen[name], profile)
        for name in expected
        for profile in PROFILES
    }
    wrong = {
        key: f"{r.outcome.value}: {r.actual}"
        for key, r in got.items()
        if r.outcome is not expected[key[0]]
    }
    assert not wrong, wrong


HOSTILE_NAMES = [s.name for s in HOSTILE_SCENARIOS]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_reference_client_passes(name: str) -> None:
    outcomes(REFERENCE, {name: Outcome.PASS})


def test_a_client_with_limits_passes_every_hostile_scenario() -> None:
    outcomes(hostile_client("limits"), dict.fromkeys(HOSTILE_NAMES, Outcome.PASS))


def test_a_client_without_limits_warns_and_takes_an_msb_set_length() -> None:
    expected = {
        "endless-header": Outcome.WARN,
        "endless-fragments": Outcome.WARN,
        "length-msb-set": Outcome.FAIL,
        "length-2-63-minus-1": Outcome.PASS,  # it waits; the server sends only 1 MiB
        "header-1mib": Outcome.PASS,
    }
    outcomes(hostile_client("no-limits"), expected)


def test_a_client_that_crashes_at_its_limits_warns() -> None:
    expected = {
        "endless-header": Outcome.WARN,
        "header-1mib": Outcome.WARN,
        "length-2-63-minus-1": Outcome.WARN,
        "ping-flood": Outcome.WARN,
        "endless-fragments": Outcome.WARN,
    }
    outcomes(hostile_client("crash"), expected)


def test_a_client_with_a_short_handshake_timeout_is_info_on_a_trickled_101() -> None:
    outcomes(hostile_client("impatient"), {"trickled-101": Outcome.INFO})
