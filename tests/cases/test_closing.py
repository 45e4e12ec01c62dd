"""The closing cases (RFC 6455 §5.5.1, §7.1, §7.4) against correct and faulty servers.

Every case must PASS against the reference server (wsproto and the suite's own echo
engine) and must FAIL (WARN for a SHOULD) against a server that breaks the rule it
checks. Where the text allows another reading (a reply with another code, a Pong
after the Close), that reading is shown to be INFO or WARN, never PASS or FAIL.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
from collections.abc import Awaitable, Callable, Sequence
from functools import cache

import pytest
from case_runs import (
    accept_upgrade,
    assert_failed,
    broken_by,
    by_id,
    fault_policy,
    not_passed,
    run_on,
    run_reference,
)

from conformance.cases import case_by_id, closing
from conformance.cases.base import Case
from conformance.driver import Target
from conformance.echo_engine import EchoEngine, WirePolicy
from conformance.model import rules
from conformance.model.behaviours import ClosingHandshake, ConnectionClosed
from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import CloseCode, Opcode
from conformance.model.decoder import CloseReceived, PeerStream, PingReceived
from conformance.model.frames import Frame
from conformance.model.observed import CloseInfo, Observed, TransportEnd
from conformance.model.verdict import Outcome
from conformance.model.violations import Violation
from conformance.policy.closing import (
    FORBIDDEN,
    RESERVED_NOT_FORBIDDEN,
    SENDABLE,
    ReservedCodeClose,
    forbidden_to_send,
)
from conformance.reference_server import EngineName, LoopbackServer
from conformance.results import CaseResult
from conformance.session.context import CaseContext
from fixtures.variants_closing import AwaitClientClose, EchoReservedCodes, LatestPingOnly
from fixtures.wire_faults import WIRE_FAULTS

pytestmark = pytest.mark.network

CASES = closing.CASES
VALID = [c.id for c in CASES if re.search(r"/close-code-\d+$", c.id)]
INVALID = [c.id for c in CASES if re.search(r"/invalid-close-code-\d+$", c.id)]
RESERVED = [i for i in INVALID if int(i.rsplit("-", 1)[1]) in RESERVED_NOT_FORBIDDEN]
"""Codes §7.4 reserves without forbidding them: 1004, 1016-2999."""
FORBIDDEN_CODES = [i for i in INVALID if i not in RESERVED]
"""Codes no endpoint may send: 1005, 1006, 1015, 0-999, 5000 and above."""


class FailWith1006(WirePolicy):
    """§7.4.1: "1006 is a reserved value and MUST NOT be set as a status code in a Close
    control frame by an endpoint": fails every protocol error with 1006."""

    def on_violation(self, violation: Violation) -> int | None:
        return CloseCode.ABNORMAL_CLOSURE


class CloseReply1002(WirePolicy):
    """§5.4: control frames in the middle of a message must be handled: answers every
    Close with 1002, as if a Close between fragments were a protocol error."""

    def close_reply(self, received_code: int | None, reason: bytes) -> bytes | None:
        return close_payload(CloseCode.PROTOCOL_ERROR)


class FailCloseWith1008(WirePolicy):
    """Refuses a malformed Close, but with 1008 (policy violation), not 1002."""

    def on_close_violation(self, violation: Violation, close: CloseReceived) -> int | None:
        return CloseCode.POLICY_VIOLATION


class FailBadReasonWith1007(WirePolicy):
    """Refuses a Close whose reason is not UTF-8 with 1007 (the other defensible code)."""

    def on_close_violation(self, violation: Violation, close: CloseReceived) -> int | None:
        if violation.requirement == rules.CLOSE_REASON_UTF8:
            return CloseCode.INVALID_FRAME_PAYLOAD_DATA
        return super().on_close_violation(violation, close)


class IgnoreBadClose(WirePolicy):
    """Takes every malformed Close as valid and never answers any Close, keeping TCP open:
    the connection is not failed at all (§7.1.7, §10.7)."""

    def on_violation(self, violation: Violation) -> int | None:
        if violation.requirement == rules.CONTROL_PAYLOAD_MAX:
            return None  # a 126-byte Close taken like any other Close
        return super().on_violation(violation)

    def on_close_violation(self, violation: Violation, close: CloseReceived) -> int | None:
        return None

    def close_reply(self, received_code: int | None, reason: bytes) -> bytes | None:
        return None


LOCAL_POLICIES: dict[str, type[WirePolicy]] = {
    "ignore-bad-close": IgnoreBadClose,
    "fail-with-1006": FailWith1006,
    "close-reply-1002": CloseReply1002,
    "fail-close-with-1008": FailCloseWith1008,
    "fail-bad-reason-with-1007": FailBadReasonWith1007,
    "await-client-close": AwaitClientClose,
    "echo-reserved-codes": EchoReservedCodes,
}


async def _reset_after_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal echo-less server that answers Pings and the Close, then resets TCP
    (SO_LINGER 0) instead of closing it cleanly (§7.1.1: SHOULD close cleanly)."""
    await accept_upgrade(reader, writer)
    stream = PeerStream(peer="client")
    while data := await reader.read(65536):
        for event in stream.feed(data):
            if isinstance(event, PingReceived):
                writer.write(encode_frame(Frame(Opcode.PONG, event.payload)))
            elif isinstance(event, CloseReceived):
                writer.write(encode_frame(Frame(Opcode.CLOSE, close_payload(event.code or 1000))))
                await writer.drain()
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return


OTHER_OPCODES = frozenset(range(16)) - {Opcode.PING, Opcode.PONG, Opcode.CLOSE}


async def _close_1_byte_then_wait(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answers Pings; at the first other frame starts the closing with a Close whose body
    is 1 byte (§5.5.1: a body starts with a 2-byte code), then keeps TCP open until the
    client's Close (§5.5.1: closed "After both sending and receiving a Close")."""
    await accept_upgrade(reader, writer)
    stream = PeerStream(peer="client")
    sent = False
    while data := await reader.read(65536):
        for event in stream.feed(data):
            if isinstance(event, PingReceived) and not sent:
                writer.write(encode_frame(Frame(Opcode.PONG, event.payload)))
            elif isinstance(event, CloseReceived):
                writer.close()
                return
            elif isinstance(event, Frame) and event.opcode in OTHER_OPCODES and not sent:
                writer.write(encode_frame(Frame(Opcode.CLOSE, b"\x03")))
                sent = True
        await writer.drain()
    writer.close()


LOCAL_SERVERS: dict[str, Callable[[], Awaitable[LoopbackServer]]] = {
    "reset-after-close": lambda: LoopbackServer.start(_reset_after_close),
    "close-1-byte-then-wait": lambda: LoopbackServer.start(_close_1_byte_then_wait),
}

# For each case, a fault that breaks the rule the case checks.
BREAKS: dict[str, str] = {
    "rfc6455/5.5.1/close-empty": "close-with-1005",
    "rfc6455/5.5.1/close-code-and-reason": "no-close-reply",
    "rfc6455/5.5/close-reason-123-bytes": "no-close-reply",
    "rfc6455/5.5.1/close-body-1-byte": "ignore-bad-close",
    "rfc6455/5.5/close-reason-124-bytes": "ignore-bad-close",
    "rfc6455/5.5.1/close-reason-invalid-utf8": "ignore-bad-close",
    **dict.fromkeys(VALID, "no-close-reply"),
    **dict.fromkeys(FORBIDDEN_CODES, "accept-invalid-close-code"),
    **dict.fromkeys(RESERVED, "ignore-bad-close"),
    "rfc6455/7.4.1/no-1005-after-empty-close": "close-with-1005",
    "rfc6455/7.4.1/no-1005-echo": "accept-invalid-close-code",
    "rfc6455/7.4.1/no-1006-when-failing": "fail-with-1006",
    "rfc6455/7.4.1/no-1006-echo": "accept-invalid-close-code",
    "rfc6455/7.4.1/no-1015-echo": "accept-invalid-close-code",
    "rfc6455/5.5.1/server-closes-tcp": "no-tcp-close",
    "rfc6455/7.1.1/clean-tcp-close": "reset-after-close",
    "rfc6455/5.5.1/message-then-close": "data-after-close",
    "rfc6455/5.5.1/frames-after-close-ignored": "data-after-close",
    "rfc6455/5.5.2/no-pong-after-close": "no-close-reply",
    "rfc6455/5.4/close-between-fragments": "no-close-reply",
}

SLOW_FAULTS = frozenset({"no-close-reply", "no-tcp-close"})
"""The server never closes TCP: these cases end at their deadline."""


async def _run(
    cases: Sequence[Case],
    *,
    engine: EngineName = "wsproto",
    fault: str | None = None,
    timeout: float = 5,
) -> list[CaseResult]:
    if fault in LOCAL_SERVERS:
        server = await LOCAL_SERVERS[fault]()
        return await run_on(server, cases, timeout=timeout, jobs=16)
    if fault is not None:
        policy = fault_policy(fault, LOCAL_POLICIES)
        return await run_reference(cases, engine="model", policy=policy, timeout=timeout, jobs=16)
    return await run_reference(cases, engine=engine, timeout=timeout, jobs=16)


@cache
def _results_under(fault: str) -> dict[str, CaseResult]:
    """Every case BREAKS maps to ``fault``, run at once against one faulty server."""
    cases = broken_by(fault, CASES, BREAKS)
    timeout = 1.0 if fault in SLOW_FAULTS else 2.0
    return by_id(asyncio.run(_run(cases, fault=fault, timeout=timeout)))


def _outcomes(ids: Sequence[str], fault: str) -> dict[str, Outcome]:
    cases = [c for c in CASES if c.id in ids]
    results = asyncio.run(_run(cases, fault=fault))
    return {r.id: r.outcome for r in results}


def test_every_case_has_a_breaking_fault() -> None:
    assert sorted(BREAKS) == sorted(c.id for c in CASES)
    known = set(WIRE_FAULTS) | set(LOCAL_POLICIES) | set(LOCAL_SERVERS)
    assert set(BREAKS.values()) <= known


def test_case_tables() -> None:
    assert len(VALID) == 16 and len(INVALID) == 12
    assert len(closing.REASON_123) == 123 and closing.REASON_123.decode()
    assert len(close_payload(1000, closing.REASON_124)) == 126
    with pytest.raises(UnicodeDecodeError):
        closing.INVALID_UTF8_REASON.decode()


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_reference_server_passes_every_case(engine: EngineName) -> None:
    results = asyncio.run(_run(CASES, engine=engine))
    assert not not_passed(results)
    assert max(r.duration_s for r in results) < 1.0  # no case waits for a deadline


@pytest.mark.parametrize("case_id", sorted(BREAKS))
def test_case_fails_against_the_fault_that_breaks_its_rule(case_id: str) -> None:
    assert_failed(_results_under(BREAKS[case_id])[case_id])


def test_replying_with_another_code_is_info() -> None:
    """§5.5.1: "the endpoint typically echos the status code it received" (no keyword)."""
    ids = [*VALID, "rfc6455/5.5.1/close-code-and-reason", "rfc6455/5.5/close-reason-123-bytes"]
    outcomes = _outcomes(ids, "close-wrong-code")
    assert len(outcomes) == 18
    assert set(outcomes.values()) == {Outcome.INFO}


def test_refusing_a_bad_close_with_another_code_is_a_warning() -> None:
    """§7.1.7, §10.7: the Close code of a failure is a SHOULD ("appropriate")."""
    ids = [*INVALID, "rfc6455/5.5.1/close-body-1-byte", "rfc6455/5.5.1/close-reason-invalid-utf8"]
    outcomes = _outcomes(ids, "fail-close-with-1008")
    assert len(outcomes) == 14
    assert set(outcomes.values()) == {Outcome.WARN}


def test_answering_a_bad_close_normally_is_a_warning() -> None:
    """A Close 1000 (or no code) back still closes the connection: only the SHOULD of an
    appropriate code is missed (§7.1.7, §10.7)."""
    assert set(_outcomes(INVALID, "fail-with-1000").values()) == {Outcome.WARN}
    lenient = {
        "rfc6455/5.5.1/close-body-1-byte": "accept-close-1-byte",
        "rfc6455/5.5/close-reason-124-bytes": "accept-long-control",
        "rfc6455/5.5.1/close-reason-invalid-utf8": "accept-bad-close-reason",
    }
    for case_id, fault in lenient.items():
        assert _outcomes([case_id], fault) == {case_id: Outcome.WARN}


def test_echoing_a_code_forbidden_to_send_is_a_failure() -> None:
    """The server then sends the code itself: 1005/1006/1015 "MUST NOT be set" (§7.4.1),
    0-999 "not used" (§7.4.2), 5000+ not "defined in Section 7.4" (§5.5.1)."""
    assert len(FORBIDDEN_CODES) == 7
    outcomes = _outcomes(FORBIDDEN_CODES, "accept-invalid-close-code")
    assert set(outcomes.values()) == {Outcome.FAIL}


def test_echoing_a_reserved_code_back_is_a_warning() -> None:
    """1004 ("Reserved", §7.4.1) and 1016-2999 ("reserved for definition by this
    protocol", §7.4.2): no sentence forbids sending them, so echoing one is WARN (it was
    FAIL before issue #10, pattern 8), whether the server echoes every code or only these."""
    assert len(RESERVED) == 5
    for fault in ("accept-invalid-close-code", "echo-reserved-codes"):
        assert set(_outcomes(RESERVED, fault).values()) == {Outcome.WARN}, fault
    # the server that echoes only the reserved codes refuses the forbidden ones: PASS
    refused = _outcomes(FORBIDDEN_CODES, "echo-reserved-codes")
    assert set(refused.values()) == {Outcome.PASS}


def test_close_code_sets_of_the_policy() -> None:
    """Every 16-bit code is sendable, reserved-not-forbidden or forbidden (§7.4)."""
    assert set(range(0x10000)) == SENDABLE | RESERVED_NOT_FORBIDDEN | FORBIDDEN
    assert not SENDABLE & RESERVED_NOT_FORBIDDEN and not SENDABLE & FORBIDDEN
    assert not RESERVED_NOT_FORBIDDEN & FORBIDDEN
    assert {1004, 1016, 2999} <= RESERVED_NOT_FORBIDDEN
    assert all(forbidden_to_send(c) for c in (0, 999, 1005, 1006, 1015, 5000, 65535))
    assert not any(forbidden_to_send(c) for c in (1000, 1004, 1012, 2000, 3000, 4999))


def test_invalid_utf8_reason_passes_with_1007_or_1002() -> None:
    case_id = "rfc6455/5.5.1/close-reason-invalid-utf8"
    assert _outcomes([case_id], "fail-bad-reason-with-1007") == {case_id: Outcome.PASS}
    assert _outcomes([case_id], "utf8-1002") == {case_id: Outcome.PASS}  # default: 1002


def _judge(case_id: str, observed: Observed) -> Outcome:
    case = case_by_id(case_id)
    assert case is not None
    return case.judge(observed).outcome


def _closed(
    code: int | None = 1000,
    messages: Sequence[tuple[int, bytes]] = (),
    pongs: Sequence[bytes] = (),
    violations: Sequence[Violation] = (),
) -> Observed:
    return Observed(
        upgraded=True,
        responsive=True,
        close=CloseInfo(code, reply=True),
        transport=TransportEnd.EOF,
        messages=list(messages),
        pongs=list(pongs),
        violations=list(violations),
    )


def test_readings_the_text_allows_around_the_close() -> None:
    """What the engines never do, judged on what a server could send."""
    pong_after = "rfc6455/5.5.2/no-pong-after-close"
    assert _judge(pong_after, _closed()) is Outcome.PASS
    # a Pong after the Close is excused, not forbidden (§5.5.2); whether it comes depends
    # on what the server read together, so it passes too (it was INFO)
    assert _judge(pong_after, _closed(pongs=[closing.AFTER_CLOSE])) is Outcome.PASS
    assert _judge(pong_after, _closed(1001, pongs=[closing.AFTER_CLOSE])) is Outcome.INFO
    after = "rfc6455/5.5.1/frames-after-close-ignored"
    echo = [(int(Opcode.TEXT), b"sent after the Close")]
    assert _judge(after, _closed(messages=echo)) is Outcome.WARN  # echoed before its Close
    late = Violation(rules.NO_DATA_AFTER_CLOSE, "text after Close")
    assert _judge(after, _closed(messages=echo, violations=[late])) is Outcome.FAIL
    between = "rfc6455/5.4/close-between-fragments"
    assert _judge(between, _closed(1001)) is Outcome.INFO
    assert _judge(between, _closed(1007)) is Outcome.INFO  # misnamed, but answered
    reserved = Violation(rules.CLOSE_CODE_PROTOCOL_RANGE, "2000")
    assert _judge(between, _closed(2000, violations=[reserved])) is Outcome.WARN
    forbidden = Violation(rules.CLOSE_CODE_1005_NOT_SENT, "1005")
    assert _judge(between, _closed(1005, violations=[forbidden])) is Outcome.FAIL
    failed = _closed(None)
    failed.close = None  # no Close at all: the interleaved Close was not handled
    assert _judge(between, failed) is Outcome.FAIL
    then = "rfc6455/5.5.1/message-then-close"
    assert _judge(then, _closed()) is Outcome.INFO  # the message was not echoed
    assert _judge(then, _closed(messages=closing.ECHO_THEN_CLOSE)) is Outcome.PASS


def test_closing_behaviours() -> None:
    closed = _closed(None)
    assert ClosingHandshake().matches(closed)
    assert not ClosingHandshake(no_code=False).matches(closed)
    assert not ClosingHandshake(frozenset({1000})).matches(_closed(1001))
    assert ClosingHandshake(frozenset({1000}), no_code=False).describe() == (
        "a Close frame with code 1000, then the TCP connection closed, nothing echoed, no Pong"
    )
    assert "1000-1001/1003" in ClosingHandshake(frozenset({1000, 1001, 1003})).describe()
    still_open = _closed()
    still_open.transport = TransportEnd.OPEN
    assert not ClosingHandshake().matches(still_open)
    assert not ConnectionClosed().matches(still_open)
    bad = Violation(rules.CLOSE_CODE_1005_NOT_SENT, "1005")
    without = ConnectionClosed("no 1005", frozenset({rules.CLOSE_CODE_1005_NOT_SENT}))
    assert without.matches(_closed())
    assert not without.matches(_closed(1005, violations=[bad]))
    assert ConnectionClosed(ends=frozenset({TransportEnd.EOF})).describe() == (
        "the TCP connection closed by the peer (FIN)"
    )


# -- the server's own Close: answered at once (§5.5.1), described as sent -------------


def test_a_server_waiting_for_the_clients_close_passes_every_case_in_time() -> None:
    """§5.5.1: a Close the server starts is answered at once, so a server that fails the
    connection and keeps TCP open until the client's Close (issue #10, pattern 10: it
    FAILed no-1006-when-failing at the 5 s deadline) passes, with no case near it."""
    results = asyncio.run(_run(CASES, fault="await-client-close"))
    assert not not_passed(results)
    assert max(r.duration_s for r in results) < 1.0


def test_a_close_the_server_started_is_not_a_reply() -> None:
    """The suite's answer comes after the server's Close: that Close stays the server's
    own (reply=False) and TCP ending after the answer is not 'after the suite's Close'."""
    case = case_by_id("rfc6455/7.4.1/no-1006-when-failing")
    assert case is not None

    async def observe() -> Observed:
        async with await LOCAL_SERVERS["close-1-byte-then-wait"]() as server:
            loop = asyncio.get_running_loop()
            ctx = CaseContext(Target.parse(server.url), loop.time() + 5)
            try:
                return await case.run(ctx)
            finally:
                await ctx.close_all()

    seen = asyncio.run(observe())
    assert seen.close is not None and not seen.close.reply
    assert not seen.closed_after_suite_close and not seen.timed_out
    assert seen.transport is TransportEnd.EOF


def test_a_1_byte_close_body_is_described_as_such() -> None:
    """Issue #10, pattern 12: a 1-byte body is not "no status code" (§5.5.1)."""
    assert "1-byte body" in CloseInfo(None, body_size=1).describe()
    assert CloseInfo(None).describe() == "Close frame with no status code"
    case = case_by_id("rfc6455/7.4.1/no-1006-when-failing")
    assert case is not None
    (result,) = asyncio.run(_run([case], fault="close-1-byte-then-wait"))
    assert "Close frame with a 1-byte body" in result.actual, result.actual
    assert result.duration_s < 1.0


def test_reserved_code_close_weighs_only_the_reserved_code_rules() -> None:
    reserved = Violation(rules.CLOSE_CODE_1004_RESERVED, "1004")
    late = Violation(rules.NO_DATA_AFTER_CLOSE, "text after Close")
    assert ReservedCodeClose().matches(_closed(1004, violations=[reserved]))
    assert not ReservedCodeClose().matches(_closed(1004, violations=[reserved, late]))
    assert not ReservedCodeClose().matches(_closed(1000))
    forbidden = Violation(rules.CLOSE_CODE_1005_NOT_SENT, "1005")
    assert not ReservedCodeClose().matches(_closed(1005, violations=[forbidden]))


def _client(opcode: int, payload: bytes = b"") -> bytes:
    return encode_frame(Frame(opcode, payload, mask=b"\x01\x02\x03\x04"))


def test_engine_awaiting_the_clients_close_closes_tcp_at_it() -> None:
    """The close-then-wait variant (sans-IO): its Close 1002 first, TCP only at the
    client's Close (§5.5.1); the default engine closes TCP with its Close (§7.1.1)."""
    waiting = EchoEngine(AwaitClientClose())
    failed = waiting.receive(_client(0x3, b"reserved opcode"))
    assert failed.send == encode_frame(Frame(Opcode.CLOSE, close_payload(1002)))
    assert not failed.close_transport
    assert not waiting.receive(_client(Opcode.PING, b"late")).close_transport
    answered = waiting.receive(_client(Opcode.CLOSE, close_payload(1002)))
    assert answered.send == b"" and answered.close_transport
    assert EchoEngine().receive(_client(0x3, b"reserved opcode")).close_transport


def test_engine_answering_the_latest_ping_only() -> None:
    """The latest-ping-only variant (sans-IO): one Pong, for the last Ping of a read."""
    pings = b"".join(_client(Opcode.PING, f"ping {i}".encode()) for i in range(3))
    together = EchoEngine(LatestPingOnly()).receive(pings)
    assert together.send == encode_frame(Frame(Opcode.PONG, b"ping 2"))
    apart = EchoEngine(LatestPingOnly())
    sent = [apart.receive(_client(Opcode.PING, f"ping {i}".encode())).send for i in range(3)]
    assert sent == [encode_frame(Frame(Opcode.PONG, f"ping {i}".encode())) for i in range(3)]
