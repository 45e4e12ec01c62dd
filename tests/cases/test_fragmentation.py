"""The fragmentation cases (RFC 6455 §5.4) against correct and faulty servers.

Every case must PASS against the reference server (wsproto and the suite's own echo
engine) and must FAIL against a server that breaks exactly the rule it checks.
"""

from __future__ import annotations

import asyncio
from functools import cache

import pytest
from case_runs import assert_failed, broken_by, by_id, fault_policy, not_passed, run_reference

from conformance.cases import fragmentation
from conformance.echo_engine import WirePolicy
from conformance.model.behaviours import AllOf, Echoed, Not, Ponged
from conformance.model.decoder import Message
from conformance.model.frames import Frame
from conformance.model.observed import Observed
from conformance.model.verdict import Outcome
from conformance.policy.pingpong import (
    R_PONG_PROMPTLY,
    PongBeforeFinalFragment,
    PongTimingObserved,
)
from conformance.reference_server import EngineName
from conformance.results import CaseResult
from fixtures.variants_closing import LatestPingOnly
from fixtures.wire_faults import WIRE_FAULTS, wire_policy

pytestmark = pytest.mark.network

CASES = fragmentation.CASES
BASIC = [c.id for c in CASES if "-fragments" in c.id and "empty" not in c.id and "64k" not in c.id]


class DropMessagesWithEmptyFragments(WirePolicy):
    """§5.4: "A sender MAY create fragments of any size": loses a fragmented message
    that has a zero-length fragment."""

    def echo(self, message: Message, fragment_sizes: tuple[int, ...]) -> list[Frame]:
        if len(fragment_sizes) > 1 and 0 in fragment_sizes:
            return []
        return super().echo(message, fragment_sizes)


LOCAL_FAULTS: dict[str, type[WirePolicy]] = {
    "drop-messages-with-empty-fragments": DropMessagesWithEmptyFragments,
}

# For each case, a fault that breaks the rule the case checks.
BREAKS: dict[str, str] = {
    **dict.fromkeys(BASIC, "echo-fragmented-wrong"),
    "rfc6455/5.4/text-empty-first-fragment": "drop-messages-with-empty-fragments",
    "rfc6455/5.4/text-empty-middle-fragment": "drop-messages-with-empty-fragments",
    "rfc6455/5.4/text-empty-last-fragment": "drop-messages-with-empty-fragments",
    "rfc6455/5.4/text-all-fragments-empty": "drop-messages-with-empty-fragments",
    "rfc6455/5.4/binary-all-fragments-empty": "drop-messages-with-empty-fragments",
    "rfc6455/5.4/ping-between-fragments": "no-pong",
    "rfc6455/5.4/ping-between-fragments-byte-writes": "pong-wrong-payload",
    "rfc6455/5.4/pings-between-fragments": "no-pong",
    "rfc6455/5.4/pong-between-fragments": "echo-fragmented-wrong",
    "rfc6455/5.4/ping-before-final-fragment": "no-pong",
    "rfc6455/5.4/two-fragmented-messages": "echo-fragmented-wrong",
    "rfc6455/5.4/text-64k-in-1300-byte-fragments": "echo-fragmented-wrong",
    "rfc6455/5.4/binary-64k-in-1300-byte-fragments": "echo-fragmented-wrong",
    "rfc6455/5.4/continuation-without-message": "accept-bad-continuation",
    "rfc6455/5.4/continuation-without-message-fin-clear": "accept-bad-continuation",
    "rfc6455/5.4/continuation-after-message": "accept-bad-continuation",
    "rfc6455/5.4/text-inside-fragmented-text": "accept-bad-continuation",
    "rfc6455/5.4/binary-inside-fragmented-text": "accept-bad-continuation",
    "rfc6455/5.4/text-inside-fragmented-binary": "accept-bad-continuation",
    "rfc6455/5.4/ping-fin-clear": "accept-fragmented-control",
    "rfc6455/5.4/pong-fin-clear": "accept-fragmented-control",
    "rfc6455/5.4/close-fin-clear": "accept-fragmented-control",
}

SLOW_FAULTS = frozenset({"no-pong", "pong-wrong-payload"})
"""The barrier Ping is never answered either: these cases end at their deadline."""


@cache
def _results_under(fault: str) -> dict[str, CaseResult]:
    """Every case BREAKS maps to ``fault``, run at once against one faulty server."""
    cases = broken_by(fault, CASES, BREAKS)
    timeout = 1.0 if fault in SLOW_FAULTS else 2.0
    policy = fault_policy(fault, LOCAL_FAULTS)
    return by_id(asyncio.run(run_reference(cases, engine="model", policy=policy, timeout=timeout)))


def test_every_case_has_a_breaking_fault() -> None:
    assert sorted(BREAKS) == sorted(c.id for c in CASES)
    assert set(BREAKS.values()) <= set(WIRE_FAULTS) | set(LOCAL_FAULTS)


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_reference_server_passes_every_case(engine: EngineName) -> None:
    assert not not_passed(asyncio.run(run_reference(CASES, engine=engine)))


@pytest.mark.parametrize("case_id", sorted(BREAKS))
def test_case_fails_against_the_fault_that_breaks_its_rule(case_id: str) -> None:
    assert_failed(_results_under(BREAKS[case_id])[case_id])


def test_failing_with_another_code_is_a_warning() -> None:
    """§7.1.7: the Close code is a SHOULD. A Close 1000 after a fragmented Close 1000,
    though, is its reply: that server processed the frame, which is a FAIL."""
    fail_ids = [c.id for c in CASES if c.expect.describe().startswith("the connection failed")]
    cases = [c for c in CASES if c.id in fail_ids]
    policy = wire_policy("fail-with-1000")
    results = asyncio.run(run_reference(cases, engine="model", policy=policy))
    outcomes = {r.id: r.outcome for r in results}
    assert outcomes.pop("rfc6455/5.4/close-fin-clear") is Outcome.FAIL
    assert len(outcomes) == 8
    assert set(outcomes.values()) == {Outcome.WARN}


def test_all_of_and_not_combine_behaviours() -> None:
    seen = Observed(upgraded=True, messages=[(1, b"x")], pongs=[b"p"])
    both = AllOf((Echoed(((1, b"x"),)), Ponged((b"p",))))
    assert both.matches(seen)
    assert not AllOf((Echoed(((1, b"x"),)), Ponged(()))).matches(seen)
    assert Not(Ponged(())).matches(seen)
    assert not Not(both).matches(seen)
    assert both.describe().startswith("the text message (1 bytes) echoed unchanged; and ")
    assert AllOf((both,), text="named").describe() == "named"
    assert Not(Ponged(())).describe() == "not no Pong"


def test_answering_only_the_latest_ping_between_fragments_passes() -> None:
    """§5.5.3: of the Pings read together a server may answer only the most recent one;
    the case waits for that Pong before its barrier Ping, so the verdict does not depend
    on which Pings one read held (issue #10, pattern 9: this was FAIL)."""
    cases = [c for c in CASES if "ping" in c.id and "between-fragments" in c.id]
    assert len(cases) == 3
    results = asyncio.run(run_reference(cases, engine="model", policy=LatestPingOnly()))
    assert not not_passed(results)


DEFERRAL = "rfc6455/5.4/ping-before-final-fragment"


def _deferral_result(policy: WirePolicy | None, engine: EngineName = "model") -> CaseResult:
    cases = [c for c in CASES if c.id == DEFERRAL]
    return asyncio.run(run_reference(cases, engine=engine, policy=policy))[0]


def test_pong_before_the_final_fragment_passes_with_its_timing() -> None:
    result = _deferral_result(None, engine="wsproto")
    assert result.outcome is Outcome.PASS, result.actual
    assert "after the Ping, before the final fragment was sent" in result.actual


def test_pong_deferred_until_the_message_is_complete_is_a_warning() -> None:
    """§5.5.2: "It SHOULD respond with Pong frame as soon as is practical"."""
    result = _deferral_result(wire_policy("pong-deferred"))
    assert result.outcome is Outcome.WARN, result.actual
    assert R_PONG_PROMPTLY in result.requirements
    assert result.actual.startswith("the Pong came "), result.actual  # the one-line reason
    assert "after the final fragment, having not come within" in result.actual
    assert "SHOULD respond with Pong frame as soon as is practical" in result.actual


def test_no_pong_for_the_ping_inside_a_message_fails() -> None:
    """§5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame"."""
    result = _results_under("no-pong")[DEFERRAL]
    assert result.outcome is Outcome.FAIL, result.actual
    assert result.actual.startswith("no Pong with the Ping's data came within"), result.actual


def test_pong_deferred_fault_is_caught_only_by_the_deferral_case() -> None:
    """The fault breaks one SHOULD: every other fragmentation case passes against it."""
    policy = wire_policy("pong-deferred")
    results = asyncio.run(run_reference(CASES, engine="model", policy=policy))
    assert set(not_passed(results)) == {DEFERRAL}


def test_pong_before_final_fragment_needs_the_timed_observation() -> None:
    prompt = PongBeforeFinalFragment()
    assert not prompt.matches(Observed(upgraded=True, pongs=[b"p"]))
    timed = PongTimingObserved.adopt(Observed(upgraded=True, pongs=[b"p"]))
    assert timed.pongs == [b"p"] and not prompt.matches(timed)
    timed.pong_before_final = True
    assert prompt.matches(timed)
    assert timed.describe() == Observed.describe(timed)  # no timing, nothing added
    timed.timing = "the Pong came 0.01 s after the Ping"
    assert timed.describe().startswith("the Pong came 0.01 s after the Ping; 1 Pong(s)")
