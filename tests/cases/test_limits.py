"""The size cases (RFC 6455 §10.4) against correct, limited and faulty servers, and the
one size-limit policy every case sending a message over its floor takes
(:mod:`conformance.policy.limits`).

Every full-profile case must PASS against the reference server (wsproto and the
suite's own echo engine), be UNSUPPORTED (not FAIL) against a server with a smaller
size limit that refuses with 1009, and FAIL against a server whose echo has the right
length but a wrong byte: the echo is compared by content. The default profile's size
cases (framing, the server's own frames, fragmentation) take the same policy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace

import pytest
from case_runs import accept_upgrade, not_passed, run_on, run_reference

from conformance.cases import all_cases, fragmentation, framing, limits
from conformance.cases.base import Case
from conformance.echo_engine import WirePolicy
from conformance.model import rules
from conformance.model.behaviours import EchoedPattern
from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import Opcode
from conformance.model.decoder import CloseReceived, Message, PeerStream, PingReceived
from conformance.model.frames import Frame
from conformance.model.observed import CloseInfo, Observed, TransportEnd
from conformance.model.payloads import pattern_payload
from conformance.model.utf8 import first_invalid_offset
from conformance.model.verdict import Outcome
from conformance.model.violations import Violation
from conformance.policy import limits as policy
from conformance.reference_server import EngineName, Handler, LoopbackServer, ServerLimits
from conformance.results import CaseResult
from conformance.runner import select_cases
from fixtures.wire_faults import CorruptingLimit, TruncatingLimit

pytestmark = pytest.mark.network

CASES = limits.CASES
SIZE_CASES = [
    c
    for c in all_cases()
    if c.spec == "rfc6455" and any(isinstance(a, policy.LimitAllowed) for a in c.allowed)
]
"""Every RFC 6455 case the size-limit policy applies to, in any module and profile (the
RFC 7692 round trips keep only its 1009/1008 reading: tests/cases/test_deflate_data.py)."""
DEFAULT_SIZE_CASES = [c for c in SIZE_CASES if c.profile == "default"]
TIMEOUT = 30  # what the module docstring asks of --profile full
JOBS = 4  # bounds memory: a 16 MiB case holds a few copies of its message each way


class CorruptEcho(WirePolicy):
    """Echoes messages of 64 KiB and more, and of 4095 bytes, with the last byte's low
    bit flipped: same length, same opcode, still valid UTF-8 (the byte is ASCII)."""

    def echo(self, message: Message, fragment_sizes: tuple[int, ...]) -> list[Frame]:
        data = message.data
        if len(data) >= 64 * 1024 or len(data) == 4095:
            data = data[:-1] + bytes([data[-1] ^ 1])
        return [Frame(message.opcode, data)]


async def _echo_frame_by_frame(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A server that echoes each data frame as soon as it is in, unmasked (§5.4 lets an
    echo keep the fragmentation): it writes while the suite is still writing."""
    await accept_upgrade(reader, writer)
    stream = PeerStream(peer="client")
    while data := await reader.read(65536):
        for event in stream.feed(data):
            if isinstance(event, Frame) and event.opcode <= Opcode.BINARY:
                writer.write(encode_frame(replace(event, mask=None)))
                await writer.drain()
            elif isinstance(event, PingReceived):
                writer.write(encode_frame(Frame(Opcode.PONG, event.payload)))
            elif isinstance(event, CloseReceived):
                writer.write(encode_frame(Frame(Opcode.CLOSE, close_payload(event.code or 1000))))
                await writer.drain()
                writer.close()
                return


# For each case, the fault that breaks it: all by content, none by length.
BREAKS: dict[str, str] = dict.fromkeys((c.id for c in CASES), "corrupt-echo")


async def _run(
    cases: Sequence[Case],
    *,
    engine: EngineName = "wsproto",
    policy: WirePolicy | None = None,
    max_message: int | None = None,
) -> list[CaseResult]:
    server_limits = (
        ServerLimits() if max_message is None else ServerLimits(max_message_bytes=max_message)
    )
    return await run_reference(
        cases, engine=engine, policy=policy, limits=server_limits, timeout=TIMEOUT, jobs=JOBS
    )


def test_every_case_is_full_profile_with_a_breaking_fault() -> None:
    assert len(CASES) == 20
    assert sorted(BREAKS) == sorted(c.id for c in CASES)
    assert all(c.profile == "full" for c in CASES)
    default = {c.id for c in select_cases(profile="default")}
    assert not default & set(BREAKS)
    assert set(BREAKS) <= {c.id for c in select_cases(profile="full")}


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_reference_server_passes_every_case(engine: EngineName) -> None:
    started = time.monotonic()
    assert not not_passed(asyncio.run(_run(CASES, engine=engine)))
    assert time.monotonic() - started < 20


def test_a_wrong_byte_in_the_echo_fails_every_case() -> None:
    results = asyncio.run(_run(CASES, engine="model", policy=CorruptEcho()))
    outcomes = {r.id: r.outcome for r in results}
    assert outcomes == dict.fromkeys(BREAKS, Outcome.FAIL)


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_a_smaller_limit_refused_with_1009_is_unsupported(engine: EngineName) -> None:
    big = [c for c in CASES if "4mib" in c.id or "16mib" in c.id]
    small = [c for c in CASES if c.id.endswith(("-64kib", "-256kib", "1000-round-trips"))]
    results = asyncio.run(_run([*big, *small], engine=engine, max_message=1024 * 1024))
    outcomes = {r.id: r.outcome for r in results}
    assert {outcomes[c.id] for c in big} == {Outcome.UNSUPPORTED}, outcomes
    assert {outcomes[c.id] for c in small} == {Outcome.PASS}, outcomes
    actual = next(r.actual for r in results if r.id == "rfc6455/10.4/binary-4mib")
    assert "server limit: refused a 4194304-byte message with 1009" in actual


def test_the_policy_applies_to_exactly_the_cases_sending_more_than_the_floor() -> None:
    """Derived from what each case sends, in every module: the default profile's
    65535/65536-byte echoes (whole and chopped), the server-frame checks at those sizes,
    the one-write batches, the 64 KiB fragmented messages; every full-profile case but
    the round trips (0 B to 4 KiB, all under the floor)."""
    by_module = {
        "framing": {c.id for c in framing.CASES} & {c.id for c in SIZE_CASES},
        "fragmentation": {c.id for c in fragmentation.CASES} & {c.id for c in SIZE_CASES},
        "limits": {c.id for c in CASES} & {c.id for c in SIZE_CASES},
    }
    assert len(by_module["framing"]) == 16
    assert by_module["fragmentation"] == {
        "rfc6455/5.4/text-64k-in-1300-byte-fragments",
        "rfc6455/5.4/binary-64k-in-1300-byte-fragments",
    }
    assert by_module["limits"] == {c.id for c in CASES} - {"rfc6455/10.4/1000-round-trips"}
    assert len(SIZE_CASES) == sum(len(ids) for ids in by_module.values())
    for case in SIZE_CASES:
        (refusal, _) = (a.behaviour for a in case.allowed if isinstance(a, policy.LimitAllowed))
        assert isinstance(refusal, policy.RefusedOverLimit)
        assert max(refusal.sent.sizes) > policy.FLOOR
        assert policy.NOTE in case.notes


def test_a_refusal_of_the_round_trips_under_the_floor_fails() -> None:
    """A 1009 for messages of at most 4 KiB is not taken as a limit (policy floor)."""
    case = next(c for c in CASES if c.id == "rfc6455/10.4/1000-round-trips")
    (result,) = asyncio.run(_run([case], engine="model", max_message=2048))
    assert result.outcome is Outcome.FAIL, result.actual


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_every_size_case_is_unsupported_under_an_8kib_limit(engine: EngineName) -> None:
    """Default and full profile alike: no FAIL for a limit refused with 1009 (§10.4), and
    the server-frame checks are not judged on frames never sent."""
    cases = [c for c in SIZE_CASES if "4mib" not in c.id and "16mib" not in c.id]
    results = asyncio.run(_run(cases, engine=engine, max_message=8 * 1024))
    wrong = {r.id: r.actual for r in results if r.outcome is not Outcome.UNSUPPORTED}
    assert not wrong, wrong
    assert all("server limit: refused a" in r.actual for r in results)


@pytest.mark.parametrize("fault", [TruncatingLimit, CorruptingLimit])
def test_every_size_case_fails_against_a_limit_that_changes_the_echo(
    fault: type[WirePolicy],
) -> None:
    """A limit refuses (1009); a truncated or corrupted echo is still FAIL."""
    over_64kib = ("/text-messages-one-write", "/binary-messages-one-write")  # 70000 bytes
    cases = [c for c in DEFAULT_SIZE_CASES if fault is TruncatingLimit or c.id.endswith(over_64kib)]
    results = asyncio.run(_run(cases, engine="model", policy=fault()))
    assert {r.outcome for r in results} == {Outcome.FAIL}, [r.actual for r in results]


async def _refuse_then_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Refuses the message with a Close 1009, then closes TCP with the client's data
    unread, while the client is still writing: the kernel sends a reset."""
    await accept_upgrade(reader, writer)
    await reader.read(4096)
    writer.write(encode_frame(Frame(Opcode.CLOSE, close_payload(1009))))
    await writer.drain()
    writer.transport.abort()


async def _refuse_then_stop_reading(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Refuses the message with a Close 1009, then neither reads nor closes TCP."""
    await accept_upgrade(reader, writer)
    await reader.read(4096)
    writer.write(encode_frame(Frame(Opcode.CLOSE, close_payload(1009))))
    await writer.drain()
    await asyncio.sleep(TIMEOUT)


def _run_on_handler(handler: Handler, case_ids: Sequence[str]) -> list[CaseResult]:
    cases = [c for c in SIZE_CASES if c.id in case_ids]

    async def main() -> list[CaseResult]:
        server = await LoopbackServer.start(handler)
        return await run_on(server, cases, timeout=10, jobs=JOBS)

    return asyncio.run(main())


def test_a_close_1009_then_a_reset_reports_both() -> None:
    """Issue #10, 12: the suite reads while it writes, so the Close is read before the
    reset can destroy it; the Actual text shows the Close and the reset."""
    big = ("rfc6455/10.4/binary-16mib", "rfc6455/10.4/binary-1mib-in-1000-byte-writes")
    ids = (*big, *(c.id for c in DEFAULT_SIZE_CASES))
    results = _run_on_handler(_refuse_then_reset, ids)
    wrong = {r.id: r.actual for r in results if r.outcome is not Outcome.UNSUPPORTED}
    assert not wrong, wrong
    assert all("Close frame with code 1009" in r.actual for r in results)
    assert all("reset by the peer" in r.actual for r in results if r.id in big)


def test_a_server_that_stops_reading_after_its_1009_is_dropped_not_waited_for() -> None:
    """The rest of the frame can never be sent: the suite gives up its write after the
    closing grace and drops the connection; the refusal is still a limit."""
    started = time.monotonic()
    (result,) = _run_on_handler(_refuse_then_stop_reading, ("rfc6455/10.4/binary-16mib",))
    assert result.outcome is Outcome.UNSUPPORTED, result.actual
    assert "gave up its write" in result.actual
    assert time.monotonic() - started < 5


def test_a_server_echoing_frame_by_frame_passes() -> None:
    """The echo comes back in as many fragments as were sent, while the suite writes."""
    cases = [c for c in CASES if "fragments" in c.id or c.id.endswith("binary-16mib")]

    async def main() -> list[CaseResult]:
        server = await LoopbackServer.start(_echo_frame_by_frame)
        return await run_on(server, cases, timeout=TIMEOUT, jobs=JOBS)

    results = asyncio.run(main())
    assert {r.outcome for r in results} == {Outcome.PASS}, [r.actual for r in results]


def test_pattern_payloads_are_deterministic_and_valid() -> None:
    for size in (0, 1, 15, 16, 17, 4095, 65536):
        text = pattern_payload(Opcode.TEXT, size, 7)
        binary = pattern_payload(Opcode.BINARY, size, 7)
        assert len(text) == len(binary) == size
        assert first_invalid_offset(text) is None
        assert text == pattern_payload(Opcode.TEXT, size, 7)
    text = pattern_payload(Opcode.TEXT, 4096, 1)
    assert "é€😀" in text.decode() and text.decode().count("😀") == 256
    assert pattern_payload(Opcode.BINARY, 64, 1) != pattern_payload(Opcode.BINARY, 64, 2)
    blocks = {text[i : i + 16] for i in range(0, 4096, 16)}
    assert len(blocks) == 256  # no repeating period a swapped fragment could hide in


def _seen(messages: Sequence[tuple[int, bytes]], close: CloseInfo | None = None) -> Observed:
    return Observed(
        upgraded=True,
        responsive=True,
        messages=list(messages),
        close=close,
        transport=TransportEnd.EOF,
    )


def test_pattern_behaviours() -> None:
    recipes = ((1, 10, 0), (2, 20, 1), (1, 30, 2))
    echoes = [(op, pattern_payload(op, size, seed)) for op, size, seed in recipes]
    assert EchoedPattern(recipes).matches(_seen(echoes))
    assert not EchoedPattern(recipes).matches(_seen(echoes[:2]))
    assert not EchoedPattern(recipes).matches(_seen([*echoes[:2], (1, b"x" * 30)]))
    assert not EchoedPattern(recipes).matches(_seen([(2, echoes[0][1]), *echoes[1:]]))
    assert EchoedPattern(recipes[:1]).describe() == "the text message (10 bytes) echoed unchanged"


def _sent(*sizes: int) -> tuple[policy.SentMessages, list[tuple[int, bytes]]]:
    recipes = tuple((2, size, seed) for seed, size in enumerate(sizes))
    return policy.SentMessages(recipes=recipes), [
        (op, pattern_payload(op, size, seed)) for op, size, seed in recipes
    ]


def test_a_limit_refusal_needs_a_correct_echo_before_and_a_message_over_the_floor() -> None:
    sent, echoes = _sent(10, policy.FLOOR + 1, 20)
    refused = policy.RefusedOverLimit(sent)
    assert refused.matches(_seen(echoes[:1], CloseInfo(1009)))
    assert refused.matches(_seen(echoes[:1], CloseInfo(1008)))  # §7.4.1: the generic code
    assert refused.matches(_seen([], CloseInfo(1009)))  # the 10 bytes not echoed yet
    assert not refused.matches(_seen([(2, b"x" * 10)], CloseInfo(1009)))  # wrong echo
    assert not refused.matches(_seen(echoes[:2], CloseInfo(1009)))  # the big one came back
    assert not refused.matches(_seen(echoes[:1], CloseInfo(1009, reply=True)))
    assert not refused.matches(_seen(echoes[:1], CloseInfo(1002)))
    broken = _seen(echoes[:1], CloseInfo(1009))
    broken.violations.append(Violation(rules.SERVER_MUST_NOT_MASK, "masked server frame"))
    assert not refused.matches(broken)
    other = policy.RefusedOtherWay(sent)
    assert other.matches(_seen(echoes[:1], CloseInfo(1002)))
    assert other.matches(_seen(echoes[:1]))  # a TCP close without a Close frame
    assert not other.matches(_seen(echoes[:1], CloseInfo(1009)))
    assert not other.matches(replace(_seen(echoes[:1]), transport=TransportEnd.OPEN))


def test_a_refusal_at_or_under_the_floor_is_no_limit() -> None:
    sent, echoes = _sent(10, policy.FLOOR, 20)
    assert not policy.RefusedOverLimit(sent).matches(_seen(echoes[:1], CloseInfo(1009)))
    assert policy.allowed(sent) == ()
    assert policy.allowed(_sent(policy.FLOOR + 1)[0])


def test_a_limit_verdict_states_the_limit_seen() -> None:
    sent, echoes = _sent(1000, 70000)
    unsupported, warn = policy.allowed(sent)
    seen = _seen(echoes[:1], CloseInfo(1009))
    verdict = unsupported.verdict(seen, seen.describe())
    assert verdict.outcome is Outcome.UNSUPPORTED
    assert "server limit: refused a 70000-byte message with 1009" in verdict.actual
    assert "largest message echoed in this case: 1000 bytes" in verdict.actual
    assert "a TCP close" in warn.verdict(_seen(echoes[:1]), "").actual


def test_refusing_without_1009_is_a_warning() -> None:
    case = next(c for c in CASES if c.id == "rfc6455/10.4/binary-16mib")
    assert case.judge(_seen([], CloseInfo(1009))).outcome is Outcome.UNSUPPORTED
    assert case.judge(_seen([], CloseInfo(1008))).outcome is Outcome.UNSUPPORTED
    assert case.judge(_seen([], CloseInfo(1002))).outcome is Outcome.WARN
    assert case.judge(_seen([])).outcome is Outcome.WARN  # a TCP close without a Close
    wrong = [(int(Opcode.BINARY), b"\x00" * 16 * 2**20)]
    assert case.judge(_seen(wrong, CloseInfo(1000, reply=True))).outcome is Outcome.FAIL
