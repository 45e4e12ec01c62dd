"""The size cases (RFC 6455 §10.4, full profile) against correct, limited and faulty servers.

Every case must PASS against the reference server (wsproto and the suite's own echo
engine), be UNSUPPORTED (not FAIL) against a server with a smaller size limit that
refuses with 1009, and FAIL against a server whose echo has the right length but a
wrong byte: the echo is compared by content.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace

import pytest
from conftest import accept_upgrade, not_passed, run_on, run_reference

from conformance.cases import limits
from conformance.cases.base import Case
from conformance.echo_engine import WirePolicy
from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import Opcode
from conformance.model.decoder import CloseReceived, Message, PeerStream, PingReceived
from conformance.model.frames import Frame
from conformance.model.outcomes import (
    CloseInfo,
    EchoedPattern,
    Observed,
    Outcome,
    RefusedTooBig,
    TransportEnd,
    pattern_payload,
)
from conformance.model.utf8 import first_invalid_offset
from conformance.reference_server import (
    EngineName,
    LoopbackServer,
    ServerLimits,
)
from conformance.results import CaseResult
from conformance.runner import select_cases

pytestmark = pytest.mark.network

CASES = limits.CASES
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
    too_big = CloseInfo(1009)
    assert RefusedTooBig(recipes).matches(_seen(echoes[:2], too_big))
    assert RefusedTooBig(recipes).matches(_seen([], too_big))
    assert not RefusedTooBig(recipes).matches(_seen([(1, b"x" * 10)], too_big))
    assert not RefusedTooBig(recipes).matches(_seen(echoes[:2], CloseInfo(1009, reply=True)))
    assert not RefusedTooBig(recipes).matches(_seen(echoes[:2], CloseInfo(1002)))


def test_refusing_without_1009_is_a_warning() -> None:
    case = next(c for c in CASES if c.id == "rfc6455/10.4/binary-16mib")
    assert case.judge(_seen([], CloseInfo(1009))).outcome is Outcome.UNSUPPORTED
    assert case.judge(_seen([], CloseInfo(1002))).outcome is Outcome.WARN
    assert case.judge(_seen([])).outcome is Outcome.WARN  # a TCP close without a Close
    wrong = [(int(Opcode.BINARY), b"\x00" * 16 * 2**20)]
    assert case.judge(_seen(wrong, CloseInfo(1000, reply=True))).outcome is Outcome.FAIL
