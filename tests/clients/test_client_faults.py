"""Each client fault (fixtures/client_faults.py) runs as an adapter and breaks its rule.

Where an existing client scenario checks the rule, that scenario must FAIL against the
fault and cite the rule (``BREAKS``); the reference client passes every scenario
(tests/clients/test_reference_client.py). The faults no existing scenario catches
(``NOT_CAUGHT_BY_SCENARIOS``) are shown to break their rule here: on the wire, with a
test-local scenario played by the scenario server, or, for the masking keys, by the
§5.3 key model (conformance/model/mask_keys.py).
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from conformance.clients.harness import run_scenarios
from conformance.clients.observation import ClientObservation
from conformance.clients.reference.client import LINGER_TIMEOUT, ReferenceSession
from conformance.clients.runner import run_client_suite, select_scenarios
from conformance.clients.scenario_server import http as scenario_http
from conformance.clients.scenarios import (
    PROFILES,
    AwaitClient,
    ClientScenario,
    CloseTcp,
    Profile,
    SendFrame,
    Upgrade,
    scenario_by_name,
)
from conformance.model import rules
from conformance.model.codec import close_payload
from conformance.model.constants import CloseCode, Opcode
from conformance.model.frames import Frame
from conformance.model.mask_keys import MIN_KEYS, mask_key_findings
from conformance.model.verdict import Outcome
from conformance.results import CaseResult
from fixtures.client_faults import CLIENT_FAULT_TYPES, CLIENT_FAULTS, client_fault
from fixtures.faulty_client import main as faulty_client_main

pytestmark = pytest.mark.network

REFERENCE = [sys.executable, "-m", "conformance.clients.reference"]
TIMEOUT = 5.0
SLOW_CLOSE_SECONDS = 1.0


def faulty(name: str) -> list[str]:
    return [sys.executable, "-m", "fixtures.faulty_client", "--fault", name]


BREAKS: dict[str, tuple[str, str]] = {
    "unmasked-frames": ("client/frames/echo", rules.CLIENT_MUST_MASK),
    "accept-masked-frames": (
        "client/frames/masked-server-frame",
        "rfc6455-5.1-client-close-masked",
    ),
    "ignore-rsv": ("client/frames/rsv1-set", "rfc6455-5.2-rsv-nonzero-fail"),
    "ignore-reserved-opcode": ("client/frames/reserved-opcode", "rfc6455-5.2-unknown-opcode-fail"),
    "no-utf8-check": ("client/frames/invalid-utf8", "rfc6455-8.1-invalid-utf8-fail"),
    "no-close-reply": ("client/close/server-close-1000", "rfc6455-5.5.1-close-reply"),
    "reserved-close-code": ("client/close/script-close-code", rules.CLOSE_CODE_1005_NOT_SENT),
    "out-of-range-close-code": ("client/close/script-close-code", rules.CLOSE_CODE_UNUSED_RANGE),
    "data-after-close": ("client/close/script-close-code", rules.NO_DATA_AFTER_CLOSE),
    "no-pong": ("client/frames/ping", "rfc6455-5.5.2-pong-reply"),
    "wrong-pong-payload": ("client/frames/ping", "rfc6455-5.5.3-pong-echo-data"),
}
"""Fault -> an existing scenario that must FAIL against it, and the rule it cites."""

NOT_CAUGHT_BY_SCENARIOS = frozenset(
    {
        "fixed-mask-key",
        "zero-mask-key",
        "counter-mask-key",
        "ignore-bad-control",
        "accept-msb-length",
        "no-fragment-reassembly-check",
        "accept-close-1-byte",
        "accept-bad-close-reason",
        "fail-with-1000",
        "close-tcp-first",
    }
)
"""Faults none of the scenarios before issue #14 catches (its wire cases are to; the new
``client/hostile/length-msb-set`` catches ``accept-msb-length``): each is shown to break
its rule by a test below."""

WIRE_CASES_ONLY = frozenset(
    {"non-minimal-length", "msb-length", "rsv2-set", "echo-any-close-code", "fail-with-1006"}
)
"""Faults on the client's own frames and close codes that only the wire cases catch
(tests/clients/test_wire_cases.py shows each)."""

KEY_FAULTS: dict[str, str] = {
    "fixed-mask-key": "constant",
    "zero-mask-key": "zero",
    "counter-mask-key": "arithmetic-step",
}


def results(argv: list[str], ids: list[str], profile: Profile) -> dict[str, CaseResult]:
    scenarios = [s for s in select_scenarios(profile) if s.id in ids]
    report = asyncio.run(run_client_suite(argv, scenarios, profile, label="fault", timeout=TIMEOUT))
    return {r.id: r for r in report.results}


def observe(argv: list[str], scenarios: list[ClientScenario]) -> list[ClientObservation]:
    return asyncio.run(run_scenarios(argv, scenarios, timeout=TIMEOUT))[1]


# -- the registry and the adapter ------------------------------------------------------


def test_every_fault_names_the_clause_it_breaks() -> None:
    assert set(CLIENT_FAULTS) == set(CLIENT_FAULT_TYPES)
    for name, description in CLIENT_FAULTS.items():
        assert "§" in description, name
        assert client_fault(name).name == name
    with pytest.raises(KeyError, match="unknown client fault"):
        client_fault("no-such-fault")


def test_every_fault_is_caught_or_listed_as_not_caught_by_a_scenario() -> None:
    assert set(BREAKS) | NOT_CAUGHT_BY_SCENARIOS | WIRE_CASES_ONLY == set(CLIENT_FAULTS)
    assert not set(BREAKS) & NOT_CAUGHT_BY_SCENARIOS
    assert not (set(BREAKS) | NOT_CAUGHT_BY_SCENARIOS) & WIRE_CASES_ONLY


def test_faulty_client_lists_each_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert faulty_client_main(["--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    wire = [f"{name}: {text}" for name, text in CLIENT_FAULTS.items()]
    assert listed[: len(wire)] == wire  # then the permessage-deflate faults
    assert any(line.startswith("deflate-") for line in listed[len(wire) :])


@pytest.mark.parametrize("fault", sorted(CLIENT_FAULTS))
def test_each_fault_adapter_speaks_the_contract(fault: str) -> None:
    observed = observe(faulty(fault), [scenario("client/frames/echo")])
    seen = observed[0]
    assert not seen.problems, seen.problems
    assert seen.opened
    assert seen.terminal is not None
    assert not seen.timed_out


def scenario(scenario_id: str) -> ClientScenario:
    found = scenario_by_name(scenario_id.rsplit("/", 1)[-1])
    assert found is not None and found.id == scenario_id
    return found


# -- faults an existing scenario catches -------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("fault", sorted(BREAKS))
def test_existing_scenario_fails_against_the_fault(fault: str, profile: Profile) -> None:
    scenario_id, rule = BREAKS[fault]
    result = results(faulty(fault), [scenario_id], profile)[scenario_id]
    assert result.outcome is Outcome.FAIL, result.actual
    assert rule in result.requirements, result.requirements


# -- the masking key (§5.3): judged over many keys by the key model --------------------


def session(cls: type[ReferenceSession]) -> ReferenceSession:
    return cls(1, "ws://127.0.0.1/", [], None)


def test_reference_client_keys_raise_no_finding() -> None:
    reference = session(ReferenceSession)
    assert mask_key_findings([reference.mask_key() or b"" for _ in range(MIN_KEYS)]) == []


@pytest.mark.parametrize("fault", sorted(KEY_FAULTS))
def test_key_fault_is_caught_by_the_key_model(fault: str) -> None:
    faulty_session = session(client_fault(fault))
    keys = [faulty_session.mask_key() or b"" for _ in range(MIN_KEYS)]
    assert KEY_FAULTS[fault] in {f.kind for f in mask_key_findings(keys)}


# -- faults shown on test-local scenarios -------------------------------------------------


LOCAL_SCENARIOS: tuple[tuple[str, ClientScenario], ...] = (
    (
        "ignore-bad-control",
        ClientScenario(
            "client/faults/long-ping",
            "a Ping of 126 bytes",
            Upgrade(then=(SendFrame(Frame(Opcode.PING, b"p" * 126)),)),
            rfc_check="fail-on-frame",
            fails_on_frame=rules.CONTROL_PAYLOAD_MAX,
        ),
    ),
    (
        "ignore-bad-control",
        ClientScenario(
            "client/faults/fragmented-ping",
            "a Ping with FIN=0",
            Upgrade(then=(SendFrame(Frame(Opcode.PING, b"frag", fin=False)),)),
            rfc_check="fail-on-frame",
            fails_on_frame=rules.CONTROL_NOT_FRAGMENTED,
        ),
    ),
    (
        "no-fragment-reassembly-check",
        ClientScenario(
            "client/faults/lone-continuation",
            "a continuation frame with no message in progress",
            Upgrade(then=(SendFrame(Frame(Opcode.CONTINUATION, b"lone")),)),
            rfc_check="fail-on-frame",
            fails_on_frame=rules.FRAGMENT_SEQUENCE,
        ),
    ),
    (
        "no-fragment-reassembly-check",
        ClientScenario(
            "client/faults/interleaved-text",
            "a text frame inside a fragmented text message",
            Upgrade(
                then=(
                    SendFrame(Frame(Opcode.TEXT, b"first", fin=False)),
                    SendFrame(Frame(Opcode.TEXT, b"second")),
                )
            ),
            rfc_check="fail-on-frame",
            fails_on_frame=rules.NO_INTERLEAVE,
        ),
    ),
    (
        "no-utf8-check",
        ClientScenario(
            "client/faults/fragmented-invalid-utf8",
            "a text message in two fragments, invalid UTF-8 in the second",
            Upgrade(
                then=(
                    SendFrame(Frame(Opcode.TEXT, b"caf\xc3", fin=False)),
                    SendFrame(Frame(Opcode.CONTINUATION, b"(\xa9 invalid")),
                )
            ),
            rfc_check="fail-on-frame",
            fails_on_frame="rfc6455-8.1-invalid-utf8-fail",
        ),
    ),
    (
        "accept-msb-length",
        ClientScenario(
            "client/faults/length-msb",
            "a text frame whose 64-bit length has the MSB set",
            Upgrade(then=(SendFrame(Frame(Opcode.TEXT, b"msb", length_msb=True)),)),
            rfc_check="fail-on-frame",
            fails_on_frame=rules.LENGTH_MSB_ZERO,
        ),
    ),
    (
        "accept-close-1-byte",
        ClientScenario(
            "client/faults/close-1-byte",
            "a Close with a 1-byte body",
            Upgrade(then=(SendFrame(Frame(Opcode.CLOSE, b"\x03")),)),
            rfc_check="fail-on-frame",
            fails_on_frame=rules.CLOSE_BODY_CODE,
        ),
    ),
    (
        "accept-bad-close-reason",
        ClientScenario(
            "client/faults/close-bad-reason",
            "a Close whose reason is not UTF-8",
            Upgrade(then=(SendFrame(Frame(Opcode.CLOSE, b"\x03\xe8bad \xff reason")),)),
            rfc_check="fail-on-frame",
            fails_on_frame=rules.CLOSE_REASON_UTF8,
        ),
    ),
)
"""(fault, a scenario of its rule that conformance/clients/scenarios.py lacks)."""

SLOW_TCP_CLOSE = ClientScenario(
    "client/faults/slow-tcp-close",
    "server sends Close 1000, and closes TCP 1 s after the client's reply",
    Upgrade(
        then=(
            SendFrame(Frame(Opcode.CLOSE, close_payload(CloseCode.NORMAL_CLOSURE))),
            AwaitClient("close"),
            AwaitClient("message", timeout=SLOW_CLOSE_SECONDS),  # none comes: a bounded pause
            CloseTcp(),
        )
    ),
    answers_close=True,
)
"""§7.1.1: the client SHOULD wait for the server's TCP close; the reference client waits
longer (LINGER_TIMEOUT) than this server takes."""


FAILING_CODES = frozenset(
    {CloseCode.PROTOCOL_ERROR, CloseCode.INVALID_FRAME_PAYLOAD_DATA, CloseCode.MESSAGE_TOO_BIG}
)
"""Codes of a Close sent when failing (§7.1.7, §7.4.1); the reference client sends 1009
for a 64-bit length with the MSB set, which its decoder reads as too large."""


@pytest.fixture
def local_scenarios(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the scenario server route to :data:`LOCAL_SCENARIOS` too."""
    local = {s.name: s for _, s in LOCAL_SCENARIOS} | {SLOW_TCP_CLOSE.name: SLOW_TCP_CLOSE}

    def lookup(name: str) -> ClientScenario | None:
        return local.get(name) or scenario_by_name(name)

    monkeypatch.setattr(scenario_http, "scenario_by_name", lookup)


def client_failed(seen: ClientObservation) -> bool:
    """The client failed the connection: no message, TCP closed without the harness, and
    no Close but a failing one."""
    closes = [r.client_close for r in seen.records if r.client_close is not None]
    return (
        not seen.harness_closed
        and seen.first("message") is None
        and all(c.code in FAILING_CODES for c in closes)
    )


@pytest.mark.usefixtures("local_scenarios")
@pytest.mark.parametrize(
    ("fault", "played"), LOCAL_SCENARIOS, ids=[s.name for _, s in LOCAL_SCENARIOS]
)
def test_fault_goes_on_where_the_reference_fails(fault: str, played: ClientScenario) -> None:
    reference = observe(REFERENCE, [played])[0]
    broken = observe(faulty(fault), [played])[0]
    assert reference.opened and client_failed(reference)
    assert broken.opened and not client_failed(broken)


@pytest.mark.usefixtures("local_scenarios")
def test_close_tcp_first_closes_before_the_server() -> None:
    assert SLOW_CLOSE_SECONDS < LINGER_TIMEOUT
    reference = observe(REFERENCE, [SLOW_TCP_CLOSE])[0]
    broken = observe(faulty("close-tcp-first"), [SLOW_TCP_CLOSE])[0]
    assert [r.closed_by for r in reference.records] == ["server"]
    assert [r.closed_by for r in broken.records] == ["client"]


def test_fail_with_1000_fails_with_a_normal_closure() -> None:
    played = [scenario("client/frames/rsv1-set")]
    reference, broken = observe(REFERENCE, played)[0], observe(faulty("fail-with-1000"), played)[0]
    codes = [r.client_close.code for r in reference.records if r.client_close is not None]
    assert codes == [CloseCode.PROTOCOL_ERROR]
    codes = [r.client_close.code for r in broken.records if r.client_close is not None]
    assert codes == [CloseCode.NORMAL_CLOSURE]
