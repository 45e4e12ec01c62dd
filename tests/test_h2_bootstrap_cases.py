"""The RFC 8441 bootstrapping cases (conformance/cases/http2.py) in both directions: the
HTTP/2 reference server passes every one, each fault of fixtures/h2_faults.py earns the
outcome it is built for in the case it breaks and leaves the others alone, and the cases
run over HTTP/2 only."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from conformance.cases.http2 import CASES
from conformance.catalog import load_catalog
from conformance.cli import build_parser
from conformance.cli.common import UsageError
from conformance.cli.run import RunOptions, over_transport
from conformance.driver import HTTP2, Target, Transcript, Unreachable
from conformance.model.h2_bootstrap import (
    CONNECT_PROTOCOL,
    GOAWAY,
    NOT_ENABLED,
    RST_STREAM,
    Refused,
    SettingIn,
    Success,
    describe_measures,
)
from conformance.model.observed import HttpResponse, Observed
from conformance.model.verdict import Outcome
from conformance.reference_server import LoopbackServer
from conformance.reference_server_h2 import start_h2_reference_server
from conformance.results import CaseResult
from conformance.runner import run_case, select_cases
from conformance.transports.h2 import H2Probe
from conformance.transports.scope import h1_exclusion, h2_exclusion
from fixtures.h2_faults import H2_FAULT_TYPES, NoConnectProtocol, SettingTwo, start_h2_fault_server

TIMEOUT = 5.0
NO_TUNNEL = "rfc8441/4/no-tunnel"
SETTING_VALUE = "rfc8441/3/setting-0-or-1"
WITHDRAWN = {NoConnectProtocol.name, SettingTwo.name}
"""Faults whose SETTINGS do not offer the extended CONNECT: the other cases are UNSUPPORTED."""


async def _run_all(server: LoopbackServer, ids: set[str]) -> dict[str, CaseResult]:
    target = replace(Target.parse(server.url), transport=HTTP2)
    try:
        results = [await run_case(c, target, timeout=TIMEOUT) for c in CASES if c.id in ids]
    finally:
        await server.close()
    return {result.id: result for result in results}


def test_reference_server_passes_every_bootstrapping_case() -> None:
    async def scenario() -> dict[str, CaseResult]:
        return await _run_all(await start_h2_reference_server(), {c.id for c in CASES})

    results = asyncio.run(scenario())
    failed = {i: (r.outcome, r.actual) for i, r in results.items() if r.outcome != Outcome.PASS}
    assert not failed
    assert len(results) == len(CASES)


@pytest.mark.parametrize("name", sorted(H2_FAULT_TYPES))
def test_each_fault_breaks_only_its_rule(name: str) -> None:
    fault = H2_FAULT_TYPES[name]
    broken = dict(fault.breaks)
    # The no-tunnel case listens a second: it runs against the fault that breaks it only.
    ids = {c.id for c in CASES if c.id != NO_TUNNEL} | set(broken)

    async def scenario() -> dict[str, CaseResult]:
        return await _run_all(await start_h2_fault_server(name), ids)

    results = asyncio.run(scenario())
    for case_id, result in results.items():
        if case_id in broken:
            wanted = broken[case_id]
        elif name in WITHDRAWN and case_id != SETTING_VALUE:
            wanted = Outcome.UNSUPPORTED
        else:
            wanted = Outcome.PASS
        assert result.outcome == wanted, (case_id, result.actual)


def _options(*argv: str) -> RunOptions:
    return RunOptions.from_args(build_parser().parse_args(["run", *argv]))


def test_bootstrapping_cases_are_not_selected_over_http1() -> None:
    chosen = select_cases(cases=CASES)
    assert chosen == list(CASES)
    assert over_transport(chosen, _options()) == []
    assert over_transport(chosen, _options("--transport", HTTP2)) == list(CASES)
    assert all(h1_exclusion(c.id) and not h2_exclusion(c.id) for c in CASES)
    assert not h1_exclusion("rfc6455/5.2/rsv1-text")


def test_naming_only_http2_cases_over_http1_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"HTTP/1\.1"):
        over_transport(select_cases(["rfc8441/5"], cases=CASES), _options("--cases", "rfc8441/5"))


def test_case_ids_are_keyed_to_rfc8441_sections_and_cite_its_records() -> None:
    catalog = load_catalog()
    assert len({c.id for c in CASES}) == len(CASES)
    for case in CASES:
        assert case.id.startswith("rfc8441/")
        assert any(r.startswith(f"rfc8441-{case.section}") for r in case.requirements), case.id
        assert all(catalog.get(r) is not None for r in case.requirements), case.id


def test_a_refusal_is_an_error_status_a_reset_or_an_error_goaway() -> None:
    assert Refused().matches(Observed(response=HttpResponse(501, b"", b"2", ())))
    assert Refused().matches(Observed(measures={RST_STREAM: 1.0}))
    assert Refused().matches(Observed(measures={GOAWAY: 1.0}))
    assert not Refused().matches(Observed(measures={GOAWAY: 0.0}))
    assert not Refused().matches(Observed(response=HttpResponse(200, b"", b"2", ())))


def test_a_2xx_with_the_named_field_is_not_success_without_it() -> None:
    accept = b"sec-websocket-accept"
    response = HttpResponse(200, b"", b"2", ((accept, b"x"),))
    assert Success().matches(Observed(response=response))
    assert not Success(without=accept).matches(Observed(response=response))


def test_an_absent_setting_is_its_initial_value_0() -> None:
    absent = Observed()
    assert NOT_ENABLED.matches(absent)
    assert SettingIn(frozenset({0, 1}), absent=True).matches(absent)
    assert not SettingIn(frozenset({1})).matches(absent)
    assert not NOT_ENABLED.matches(Observed(measures={CONNECT_PROTOCOL: 1.0}))
    assert "RST_STREAM PROTOCOL_ERROR" in describe_measures({RST_STREAM: 1.0})


def test_a_peer_whose_first_frame_is_not_settings_is_unreachable() -> None:
    async def answer_http1(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()

    async def scenario() -> str:
        server = await asyncio.start_server(answer_http1, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        target = replace(Target.parse(f"ws://127.0.0.1:{port}/"), transport=HTTP2)
        deadline = asyncio.get_running_loop().time() + TIMEOUT
        try:
            await H2Probe.open(target, deadline, Transcript())
        except Unreachable as exc:
            return str(exc)
        finally:
            server.close()
            await server.wait_closed()
        return ""

    assert "answered in HTTP/1.1, not HTTP/2" in asyncio.run(scenario())
