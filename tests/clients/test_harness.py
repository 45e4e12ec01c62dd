"""The harness against broken adapters: every step bounded, breaches reported, never a PASS."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from conformance.clients.harness import run_scenarios
from conformance.clients.judge import scenario_case_result
from conformance.clients.protocol import parse_event
from conformance.clients.scenarios import scenario_by_name
from conformance.model.verdict import Outcome

pytestmark = pytest.mark.network

PRELUDE = "import json,sys,time\nprint(json.dumps({'event':'ready','client':'fake'}),flush=True)\n"


def adapter(body: str) -> list[str]:
    return [sys.executable, "-c", PRELUDE + body]


def run(body: str, *names: str, timeout: float = 1.0) -> list[Outcome]:
    scenarios = [scenario_by_name(n) for n in names]
    assert all(scenarios)
    _, seen = asyncio.run(run_scenarios(adapter(body), scenarios, timeout=timeout))  # type: ignore[arg-type]
    return [scenario_case_result(s, "rfc6455-client").outcome for s in seen]


def test_an_adapter_that_never_answers_is_an_error_within_the_deadline() -> None:
    started = time.monotonic()
    outcomes = run("for line in sys.stdin: pass\n", "refused", "status-403")
    assert outcomes == [Outcome.ERROR, Outcome.ERROR]
    assert time.monotonic() - started < 20


def test_garbage_lines_are_contract_breaches() -> None:
    body = (
        "for line in sys.stdin:\n"
        "    c=json.loads(line)\n"
        "    if c['op']=='connect':\n"
        "        print('not json', flush=True)\n"
        "        print(json.dumps({'event':'close','conn':c['conn']}),flush=True)\n"
    )
    assert run(body, "refused") == [Outcome.ERROR]


def test_an_adapter_that_dies_is_restarted_for_the_next_scenario() -> None:
    body = (
        "import os\n"
        "for line in sys.stdin:\n"
        "    c=json.loads(line)\n"
        "    if c['op']=='connect':\n"
        "        if 'refused' in c['url']: os._exit(9)\n"
        "        print(json.dumps({'event':'exception','conn':c['conn'],'phase':'connect',"
        "'name':'X','status':403}),flush=True)\n"
    )
    assert run(body, "refused", "status-403") == [Outcome.ERROR, Outcome.PASS]


def test_a_flood_of_events_is_bounded_by_the_deadline() -> None:
    body = (
        "for line in sys.stdin:\n"
        "    c=json.loads(line)\n"
        "    if c['op']=='connect':\n"
        "        t=time.time()\n"
        "        while time.time()-t<3:\n"
        "            e={'event':'log','conn':c['conn'],'message':'x'*1000}\n"
        "            print(json.dumps(e),flush=True)\n"
    )
    started = time.monotonic()
    assert run(body, "refused", timeout=0.5) == [Outcome.ERROR]
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{", "not JSON"),
        (b"[1]", "no 'event' field"),
        (b'{"event": "bogus"}', "unknown event 'bogus'"),
        (b'{"event": "close", "conn": 1}', "close lacks code, reason, wasClean"),
        (b'{"event": "open", "conn": 1}', None),
    ],
)
def test_event_lines_are_checked_for_shape(line: bytes, problem: str | None) -> None:
    assert parse_event(line, 0.0).problem == problem
