"""The framing, masking, reserved-bit/opcode and Ping/Pong cases against real servers.

Every case must PASS against the reference server (wsproto and the model engine) and
FAIL against a server that breaks exactly the rule it checks: a case that cannot fail
is a defect. Faults come from :mod:`fixtures.wire_faults`, or from the small
:class:`WirePolicy` subclasses below where none breaks the rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from case_runs import assert_failed, fault_policy, not_passed, run_reference

from conformance.cases import framing
from conformance.cases.base import Case
from conformance.echo_engine import WirePolicy
from conformance.model.codec import close_payload
from conformance.model.constants import CloseCode, Opcode
from conformance.model.decoder import Message
from conformance.model.frames import Frame, LengthForm
from conformance.model.observed import Observed
from conformance.model.verdict import Outcome
from conformance.policy.pingpong import PongsAnswered
from conformance.reference_server import EngineName
from conformance.results import CaseResult
from fixtures.variants_closing import LatestPingOnly
from fixtures.wire_faults import WIRE_FAULTS

pytestmark = pytest.mark.network

CASES = {case.id: case for case in framing.CASES}
FAULT_TIMEOUT = 2.0  # a faulty server may leave a case waiting for its deadline


# -- faults this module needs that fixtures.wire_faults does not have ------------------


class DropEcho(WirePolicy):
    """Loses messages of ``low``..``high`` bytes, as if it misread that length form (§5.2)."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def echo(self, message: Message, fragment_sizes: tuple[int, ...]) -> list[Frame]:
        if self.low <= len(message.data) <= self.high:
            return []
        return super().echo(message, fragment_sizes)


class EchoAsBinary(WirePolicy):
    """Echoes text messages as binary ones: the data type is lost (§5.6, §6.2)."""

    def echo(self, message: Message, fragment_sizes: tuple[int, ...]) -> list[Frame]:
        return [Frame(Opcode.BINARY, message.data)]


class AlwaysLength64(WirePolicy):
    """Writes every length in the 64-bit form, minimal or not (§5.2)."""

    def echo(self, message: Message, fragment_sizes: tuple[int, ...]) -> list[Frame]:
        return [Frame(message.opcode, message.data, length_form=LengthForm.BITS64)]


class ServerRsv(WirePolicy):
    """Sets RSV2 on its echoes though no extension was negotiated (§5.2)."""

    def echo(self, message: Message, fragment_sizes: tuple[int, ...]) -> list[Frame]:
        return [replace(frame, rsv2=True) for frame in super().echo(message, fragment_sizes)]


class FailOnPong(WirePolicy):
    """Takes an unsolicited Pong as a protocol error: sends Close 1002 (§5.5.3)."""

    def on_pong(self, payload: bytes) -> Frame | None:
        return Frame(Opcode.CLOSE, close_payload(CloseCode.PROTOCOL_ERROR))


LOCAL_FAULTS: dict[str, Callable[[], WirePolicy]] = {
    "drop-7bit": lambda: DropEcho(0, 125),
    "drop-16bit": lambda: DropEcho(126, 0xFFFF),
    "drop-64bit": lambda: DropEcho(0x10000, 2**63),
    "echo-as-binary": EchoAsBinary,
    "always-length-64": AlwaysLength64,
    "server-rsv": ServerRsv,
    "fail-on-pong": FailOnPong,
}


# -- which fault breaks which case --------------------------------------------------------


def _size(case_id: str) -> int:
    return int(case_id.split("/")[-1].split("-")[1])


def _breaking_fault(case_id: str) -> str:
    """The fault that breaks the rule ``case_id`` checks."""
    slug = case_id.split("/")[-1]
    if slug.startswith(("text-", "binary-")) and "-bytes" in slug:
        size = _size(case_id)
        return "drop-7bit" if size <= 125 else "drop-16bit" if size <= 0xFFFF else "drop-64bit"
    if slug.startswith("server-unmasked"):
        return "masked-server-frames"
    if slug.startswith("server-minimal-length"):
        return "always-length-64"
    if slug.startswith("server-length-msb"):
        return "length-msb"
    if slug.startswith("server-rsv"):
        return "server-rsv"
    return {
        "text-messages-one-write": "echo-as-binary",
        "binary-messages-one-write": "drop-64bit",
        "mixed-messages-one-write": "echo-as-binary",
        "ping-126-bytes": "accept-long-control",
        "ping-fragmented": "accept-fragmented-control",
        "ping-chopped": "no-pong",
        "ping-between-messages": "no-pong",
        "pong-unsolicited": "fail-on-pong",
        "pong-unsolicited-empty": "fail-on-pong",
    }.get(slug) or _by_group(slug)


def _by_group(slug: str) -> str:
    if slug.startswith("unmasked-"):
        return "accept-unmasked"
    if slug.startswith("rsv"):
        return "accept-rsv"
    if slug.startswith("opcode-"):
        return "accept-reserved-opcode"
    if slug.startswith(("ping-", "ten-pings")):
        return "pong-wrong-payload"
    raise KeyError(slug)


BREAKS: dict[str, str] = {case_id: _breaking_fault(case_id) for case_id in CASES}
"""For each case, a fault that breaks the rule the case checks."""


# -- running ------------------------------------------------------------------------------


def _fault_results(fault: str, cases: Sequence[Case]) -> list[CaseResult]:
    policy = fault_policy(fault, LOCAL_FAULTS)
    return asyncio.run(run_reference(cases, engine="model", policy=policy, timeout=FAULT_TIMEOUT))


def test_case_count_and_groups() -> None:
    assert 80 <= len(CASES) <= 110
    assert len(CASES) == len(framing.CASES)
    sections = {case.section for case in framing.CASES}
    assert sections == {"5.1", "5.2", "5.5", "5.5.2", "5.5.3", "6.2"}


def test_every_case_has_a_breaking_fault() -> None:
    assert sorted(BREAKS) == sorted(CASES)
    assert set(BREAKS.values()) <= set(WIRE_FAULTS) | set(LOCAL_FAULTS)


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_reference_server_passes_every_case(engine: EngineName) -> None:
    results = asyncio.run(run_reference(framing.CASES, engine=engine))
    assert not not_passed(results)
    slow = {r.id: r.duration_s for r in results if r.duration_s > 1.0}
    assert not slow, "a case waited for a deadline against a correct server"


CLOSE_OFFENCES = ("rfc6455/5.1/unmasked-close", "rfc6455/5.2/rsv123-close")
"""An offending Close: answering it normally still closes the connection (what §5.1 and
§7.1.7 require), so a server that ignores the rule is seen only by the code: WARN."""


@pytest.mark.parametrize("case_id", sorted(set(BREAKS) - set(CLOSE_OFFENCES)))
def test_case_fails_against_the_fault_that_breaks_its_rule(case_id: str) -> None:
    (result,) = _fault_results(BREAKS[case_id], [CASES[case_id]])
    assert_failed(result)


@pytest.mark.parametrize("case_id", CLOSE_OFFENCES)
def test_an_offending_close_answered_normally_is_warn(case_id: str) -> None:
    (result,) = _fault_results(BREAKS[case_id], [CASES[case_id]])
    assert result.outcome is Outcome.WARN, result.actual


FAIL_CASES = [
    case
    for case in framing.CASES
    if BREAKS[case.id].startswith("accept-") and not case.id.endswith("-close")
]


def test_failing_with_another_code_is_warn() -> None:
    """§7.1.7: the Close code is a SHOULD; closing with 1000 instead of 1002 is WARN."""
    results = _fault_results("fail-with-1000", FAIL_CASES)
    assert len(results) >= 30
    bad = {r.id: r.actual for r in results if r.outcome is not Outcome.WARN}
    assert not bad


def test_close_1000_back_to_an_offending_close_is_warn() -> None:
    """A Close 1000 back closes the connection; only the SHOULD of 1002 is missed: WARN."""
    cases = [CASES[case_id] for case_id in CLOSE_OFFENCES]
    results = _fault_results("fail-with-1000", cases)
    assert {r.outcome for r in results} == {Outcome.WARN}


def test_answering_an_unsolicited_pong_is_info() -> None:
    """§5.5.3: no response is expected, but the server may send unsolicited Pongs."""
    cases = [case for case in framing.CASES if case.section == "5.5.3"]
    results = _fault_results("pong-unsolicited", cases)
    assert [r.outcome for r in results] == [Outcome.INFO] * len(cases)


def test_rules_on_other_frames_do_not_fail_the_server_frame_cases() -> None:
    """Each server-frame case judges its own rule only: masked frames fail just §5.1."""
    cases = [case for case in framing.CASES if "/server-" in case.id]
    results = _fault_results("masked-server-frames", cases)
    outcomes = {r.id: r.outcome for r in results}
    for case_id, outcome in outcomes.items():
        masked = "/server-unmasked" in case_id
        assert outcome is (Outcome.FAIL if masked else Outcome.PASS), case_id


# -- Ping/Pong policy (docs/verdict-policy.md, "Ping/Pong and timing") -------------------


def test_answering_only_the_latest_ping_passes() -> None:
    """§5.5.3: a server may answer only the most recent of the Pings it had not answered
    yet. Which Pings it reads together depends on TCP segmentation, so Pongs for some
    (ending with the latest) pass like Pongs for all: issue #10, pattern 9 (it was INFO,
    and a barrier Ping read with the case's Pings made it FAIL)."""
    cases = [c for c in framing.CASES if c.section == "5.5.2" or "/server-unmasked-pong" in c.id]
    results = asyncio.run(run_reference(cases, engine="model", policy=LatestPingOnly()))
    assert not not_passed(results)
    (ten,) = (r for r in results if r.id.endswith("/ten-pings-one-write"))
    assert "10 Pong(s)" not in ten.actual  # the server did answer only some


def test_pongs_answered_accepts_every_ping_or_the_latest_only() -> None:
    pings = (b"a", b"b", b"c")
    accepted = PongsAnswered(pings)

    def seen(*pongs: bytes) -> Observed:
        return Observed(upgraded=True, pongs=list(pongs))

    assert accepted.matches(seen(b"a", b"b", b"c"))
    assert accepted.matches(seen(b"c")) and accepted.matches(seen(b"a", b"c"))
    assert not accepted.matches(seen())
    assert not accepted.matches(seen(b"a", b"b"))  # the latest Ping unanswered
    assert not accepted.matches(seen(b"b", b"a", b"c"))  # out of order
    assert not accepted.matches(seen(b"c", b"c"))  # one Ping answered twice
