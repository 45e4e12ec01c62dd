"""Security theme "limits" (RFC 6455 §10.4, §5.2, §7.4.1; RFC 7692 §6.2): the hardened limits
pass every check under the hardened policy, the plain reference server gets the verdicts
the text gives it, and each limits fault is reported by the checks it names.

The hardened servers here enforce their Origin and credential too: the probes carry
them as ``wsconform run`` sends a stated policy's (``Target.handshake_headers``).
"""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from fnmatch import fnmatch

import pytest

from conformance.cases.base import Case
from conformance.cases.security import limits
from conformance.cases.security.access import policy_headers
from conformance.driver import Target
from conformance.echo_engine import EchoEngine
from conformance.hardening import HARDENED_MAX_MESSAGE, HARDENED_POLICY
from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import CloseCode, Opcode
from conformance.model.decoder import Message
from conformance.model.frames import Frame, LengthForm
from conformance.model.observed import CloseInfo, Observed, TransportEnd
from conformance.model.security_limits import (
    ECHO_COMPRESSED,
    ECHO_INFLATED,
    SERVER_DOWN,
    EchoMeter,
    LimitEnforced,
    bomb_payload,
    inflated_size,
)
from conformance.model.verdict import Level, Outcome
from conformance.policy.security import SecurityPolicy
from conformance.reference_server import LoopbackServer, start_reference_server
from conformance.results import CaseResult
from conformance.runner import run_case, run_cases, select_cases
from conformance.session.context import CaseContext
from fixtures.deflate_faults import DeclineDeflate
from fixtures.security_faults_limits import FAULTS, HARDENED_MODEL, LIMITS_FAULTS, LimitsFault

CASE_TIMEOUT = 5.0
MASK = b"\x01\x02\x03\x04"
HARDENED = LimitsFault("hardened", "the hardened limits, wsproto engine", ())
FAILING = (Outcome.WARN, Outcome.FAIL)

Start = Callable[[], Awaitable[LoopbackServer]]


def _run(
    start: Start, cases: list[Case], policy: SecurityPolicy | None = None
) -> dict[str, CaseResult]:
    headers = tuple(
        (name.encode(), value.encode())
        for name, value in policy_headers(policy or SecurityPolicy())
    )

    async def main() -> list[CaseResult]:
        async with await start() as server:
            target = replace(Target.parse(server.url), handshake_headers=headers)
            return await run_cases(cases, target, timeout=CASE_TIMEOUT, jobs=4)

    return {result.id: result for result in asyncio.run(main())}


def _open(fault: LimitsFault) -> Start:
    return lambda: fault.start()("127.0.0.1", 0, None)


def _checks(policy: SecurityPolicy) -> list[Case]:
    return select_cases(profile="security", cases=limits.cases(policy))


# --------------------------------------------------------------------------- the checks


def test_checks_are_security_profile_cases_of_the_limits_theme() -> None:
    checks = _checks(SecurityPolicy())
    assert checks and all(c.id.startswith("security/limits/") for c in checks)
    assert all(c.profile == "security" and c.role == "server" for c in checks)


def test_a_stated_limit_makes_the_size_checks_must_and_adds_the_single_frame_check() -> None:
    unstated = {c.id: c for c in limits.cases(SecurityPolicy())}
    stated = {c.id: c for c in limits.cases(HARDENED_POLICY)}
    assert "security/limits/single-frame-over-limit" not in unstated
    assert set(stated) - set(unstated) == {"security/limits/single-frame-over-limit"}
    for name in ("reassembled-size", "inflate-bomb"):
        assert unstated[f"security/limits/{name}"].level is Level.SHOULD
        assert stated[f"security/limits/{name}"].level is Level.MUST
    # Waiting on a huge header is late enforcement, not none: WARN whatever the policy.
    assert stated["security/limits/huge-frame-header"].level is Level.SHOULD
    # §5.2 is a MUST whatever the policy; the close code stays SHOULD; a fragment count
    # cap is no rule of the text (its absence is INFO).
    assert unstated["security/limits/msb-length"].level is Level.MUST
    assert stated["security/limits/many-tiny-fragments"].level is Level.MAY
    assert stated["security/limits/close-code"].level is Level.SHOULD


def test_reassembled_size_fragments_are_each_under_the_limit_and_sum_past_it() -> None:
    for limit in (10, 1000, HARDENED_MAX_MESSAGE, limits.UNSTATED_SIZE):
        sizes = limits.fragment_sizes(limit + 1)
        assert sum(sizes) == limit + 1 and len(sizes) > 1
        assert all(0 < size < limit for size in sizes)


def test_many_tiny_fragments_never_pass_a_stated_limit() -> None:
    assert limits.fragment_payload(None) == b"x"
    assert limits.fragment_payload(limits.FRAGMENTS + 1) == b"x"
    assert limits.fragment_payload(HARDENED_MAX_MESSAGE) == b""


def test_the_bomb_inflates_past_the_stated_limit_within_the_probe_bound() -> None:
    assert limits.bomb_size(None) == limits.UNSTATED_BOMB
    assert limits.bomb_size(HARDENED_MAX_MESSAGE) == limits.BOMB_FACTOR * HARDENED_MAX_MESSAGE
    assert limits.bomb_size(limits.MAX_PROBE_BYTES) == limits.MAX_PROBE_BYTES


def test_bomb_payload_is_small_and_inflates_to_exactly_its_size() -> None:
    size = 2**20 + 3
    payload = bomb_payload(size)
    assert len(payload) < size // 500
    assert len(zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")) == size
    assert inflated_size(payload, size + 1) == (size, False)


def test_inflated_size_stops_at_its_bound() -> None:
    assert inflated_size(bomb_payload(2**20), 1000) == (1000, True)
    assert inflated_size(b"\xff\xff\xff", 1000)[1] is False  # not DEFLATE: no bound reached


def test_echo_meter_measures_a_compressed_echo_and_keeps_nothing() -> None:
    meter = EchoMeter(bound=5000)
    assert meter.message(Message(Opcode.BINARY, bomb_payload(4000), rsv1=True)) is None
    observed = Observed(upgraded=True)
    meter.record(observed)
    assert observed.measures[ECHO_INFLATED] == 4000
    assert observed.measures[ECHO_COMPRESSED] > 0
    assert not LimitEnforced().matches(observed)  # an echo is not a refusal


def test_limit_enforced_wants_the_servers_own_close_or_a_tcp_close() -> None:
    own = Observed(upgraded=True, close=CloseInfo(1009), transport=TransportEnd.EOF)
    reply = Observed(upgraded=True, close=CloseInfo(1009, reply=True))
    dropped = Observed(upgraded=True, transport=TransportEnd.RESET)
    assert LimitEnforced().matches(own) and LimitEnforced(frozenset({1009})).matches(own)
    assert not LimitEnforced().matches(reply)
    assert LimitEnforced().matches(dropped)
    assert not LimitEnforced(frozenset({1009})).matches(dropped)
    assert not LimitEnforced().matches(Observed(upgraded=True))
    down = Observed(upgraded=True, transport=TransportEnd.EOF, measures={SERVER_DOWN: 1.0})
    assert not LimitEnforced().matches(down)  # a crash is no limit


def test_a_tcp_close_then_a_refused_connection_reads_as_a_crash_not_a_limit() -> None:
    """The probe's connection ended without a Close, and nothing listens any more."""

    async def dropped(ctx: CaseContext) -> Observed:
        return Observed(upgraded=True, transport=TransportEnd.EOF)

    case = replace(limits.cases(SecurityPolicy())[0], run=limits.watched(dropped))
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = asyncio.run(run_case(case, Target.parse(f"ws://127.0.0.1:{port}/"), timeout=2))
    assert result.outcome is Outcome.WARN, result.actual
    assert "server down" in result.actual


# --------------------------------------------------------------------------- the engine


def _frames(*frames: Frame) -> bytes:
    return b"".join(encode_frame(frame) for frame in frames)


def test_engine_fails_a_header_announcing_more_than_the_limit_before_its_payload() -> None:
    engine = EchoEngine(max_message=1000)
    header = Frame(Opcode.BINARY, b"", mask=MASK, length_form=LengthForm.BITS64)
    out = engine.receive(encode_frame(replace(header, declared_length=2**62)))
    assert out.send == encode_frame(Frame(Opcode.CLOSE, close_payload(CloseCode.MESSAGE_TOO_BIG)))


def test_engine_caps_the_fragments_of_one_message() -> None:
    first = Frame(Opcode.BINARY, b"a", fin=False, mask=MASK)
    more = Frame(Opcode.CONTINUATION, b"", fin=False, mask=MASK)
    last = Frame(Opcode.CONTINUATION, b"", mask=MASK)
    at_cap = EchoEngine(max_fragments=3).receive(_frames(first, more, last))
    assert at_cap.send == encode_frame(Frame(Opcode.BINARY, b"a"))
    over = EchoEngine(max_fragments=3).receive(_frames(first, more, more, more))
    assert over.send == encode_frame(Frame(Opcode.CLOSE, close_payload(CloseCode.MESSAGE_TOO_BIG)))
    assert over.close_transport
    uncapped = EchoEngine(max_fragments=None).receive(_frames(first, *[more] * 10, last))
    assert uncapped.send == encode_frame(Frame(Opcode.BINARY, b"a"))


# --------------------------------------------------------------------------- the servers


@pytest.mark.network
@pytest.mark.parametrize("server", [HARDENED, HARDENED_MODEL], ids=lambda s: s.name)
def test_hardened_limits_pass_every_check_under_the_hardened_policy(server: LimitsFault) -> None:
    results = _run(_open(server), _checks(HARDENED_POLICY), HARDENED_POLICY)
    assert len(results) == len(limits.cases(HARDENED_POLICY))
    wrong = {
        i: (r.outcome.value, r.actual) for i, r in results.items() if r.outcome is not Outcome.PASS
    }
    assert not wrong, wrong


@pytest.mark.network
def test_plain_reference_server_gets_the_texts_verdicts_without_a_policy() -> None:
    """Limits of 16 MiB and 65,536 fragments: every probe ends the connection with 1009
    but the 1 MiB message, echoed (INFO: acceptable when no limit is stated)."""
    results = _run(start_reference_server, _checks(SecurityPolicy()))
    outcomes = {i: r.outcome for i, r in results.items()}
    info = "security/limits/reassembled-size"
    assert outcomes.pop(info) is Outcome.INFO, results[info].actual
    assert set(outcomes.values()) == {Outcome.PASS}, {i: r.actual for i, r in results.items()}


@pytest.mark.network
def test_inflate_bomb_is_unsupported_against_a_server_declining_deflate() -> None:
    bomb = [c for c in _checks(HARDENED_POLICY) if c.id.endswith("/inflate-bomb")]
    results = _run(lambda: start_reference_server(behaviour=DeclineDeflate()), bomb)
    (result,) = results.values()
    assert result.outcome is Outcome.UNSUPPORTED, result.actual


def test_every_fault_is_offered_to_the_fault_server_with_its_reporters() -> None:
    ids = {c.id for c in limits.cases(HARDENED_POLICY)}
    assert [f.name for f in FAULTS] == [f.name for f in LIMITS_FAULTS]
    for fault in FAULTS:
        assert fault.reported_by
        assert all(any(fnmatch(i, glob) for i in ids) for glob in fault.reported_by), fault.name


@pytest.mark.network
@pytest.mark.parametrize("fault", LIMITS_FAULTS, ids=lambda f: f.name)
def test_each_limits_fault_is_reported_by_its_checks(fault: LimitsFault) -> None:
    checks = [
        c for c in _checks(HARDENED_POLICY) if any(fnmatch(c.id, g) for g in fault.reported_by)
    ]
    results = _run(_open(fault), checks, HARDENED_POLICY)
    by_id = {c.id: c for c in checks}
    missed = {
        i: (r.outcome.value, r.actual)
        for i, r in results.items()
        if r.outcome is not by_id[i].level.failure or r.outcome is Outcome.PASS
    }
    assert not missed, missed
