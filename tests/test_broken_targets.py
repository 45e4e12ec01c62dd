"""Whole default runs against servers that break what the cases lean on end within 60 s,
with a true diagnosis (issue #12): a server without Pong (RFC 6455 §5.5.2), with a Pong
carrying other data (§5.5.3), without echo, or trickling its 101 forever (§4.1).

A known missing capability is found once by the preflight's probe, reported as a fact
of the run, and the cases wait on another barrier (an echo) or stop at once: they never
wait out every deadline for it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import pytest

from conformance.cli import main
from conformance.cli.common import EXIT_FAILED, EXIT_UNREACHABLE
from conformance.driver import Target
from conformance.model.decoder import CloseReceived
from conformance.model.verdict import Outcome
from conformance.reference_server import LoopbackServer, start_reference_server
from conformance.results import RunReport
from conformance.runner import run_suite, select_cases
from conformance.session.capabilities import PROBE_PING, PROBE_TEXT, ProbeSeen, read_facts
from conformance.session.context import CannotRun, CaseContext
from conformance.session.wire import WireSession
from fixtures.hostile import start_hostile_server
from fixtures.wire_faults import wire_policy

pytestmark = pytest.mark.network

WHOLE_RUN_BOUND = 60.0
"""Issue #12: every default run against a broken target ends within 60 s."""

CASE_DEADLINE = 30.0
"""Long, so that waiting for a body that never ends would show."""

Start = Callable[[], Awaitable[LoopbackServer]]


def fault(name: str) -> Start:
    return lambda: start_reference_server(engine="model", wire_policy=wire_policy(name))


@contextmanager
def serving(start: Start) -> Iterator[str]:
    """A server started by ``start`` on an event loop in a thread of its own; yields its URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield server.url
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def whole_run(start: Start) -> tuple[RunReport, float]:
    """Every default case against the server ``start`` serves, as ``wsconform run`` does."""

    async def run() -> RunReport:
        server = await start()
        try:
            return await run_suite(Target.parse(server.url), select_cases())
        finally:
            await server.close()

    began = time.monotonic()
    report = asyncio.run(run())
    return report, time.monotonic() - began


def by_outcome(report: RunReport, outcome: Outcome) -> dict[str, str]:
    return {r.id: r.actual for r in report.results if r.outcome is outcome}


@pytest.fixture(scope="module")
def no_pong_run() -> tuple[RunReport, float]:
    return whole_run(fault("no-pong"))


class TestNoPong:
    def test_ends_within_a_minute(self, no_pong_run: tuple[RunReport, float]) -> None:
        assert no_pong_run[1] < WHOLE_RUN_BOUND

    def test_the_missing_pong_is_a_fact_of_the_run_citing_its_clause(
        self, no_pong_run: tuple[RunReport, float]
    ) -> None:
        report, _ = no_pong_run
        assert len(report.preflight) == 1
        assert report.preflight[0].startswith("no Pong to a Ping within 5 s (RFC 6455 §5.5.2")

    def test_the_ping_cases_fail_saying_no_pong(self, no_pong_run: tuple[RunReport, float]) -> None:
        failed = by_outcome(no_pong_run[0], Outcome.FAIL)
        assert failed["rfc6455/5.5.2/ping-text"].startswith("no Pong to 1 Ping(s)")
        assert all("no Pong" in actual for actual in failed.values()), failed

    def test_nothing_else_is_lost_to_the_missing_pong(
        self, no_pong_run: tuple[RunReport, float]
    ) -> None:
        report, _ = no_pong_run
        assert not by_outcome(report, Outcome.ERROR)
        assert by_outcome(report, Outcome.PASS).keys() >= {
            "rfc6455/5.2/text-125-bytes",
            "rfc6455/5.2/rsv1-text",
            "rfc6455/8.1/kuhn-3-2-1",
        }


def test_a_pong_with_other_data_is_named_and_cases_use_the_echo() -> None:
    report, elapsed = whole_run(fault("pong-wrong-payload"))
    assert elapsed < WHOLE_RUN_BOUND
    assert len(report.preflight) == 1 and "(RFC 6455 §5.5.3" in report.preflight[0]
    assert report.preflight[0].startswith("the Pong to a Ping carried ")
    failed = by_outcome(report, Outcome.FAIL)
    assert "with data no Ping carried" in failed["rfc6455/5.5.2/ping-text"]
    assert not by_outcome(report, Outcome.ERROR)


def test_a_server_that_echoes_nothing_stops_the_echo_cases_at_once() -> None:
    report, elapsed = whole_run(fault("no-echo"))
    assert elapsed < WHOLE_RUN_BOUND
    assert len(report.preflight) == 1
    assert report.preflight[0].startswith("no echo of a text message within 5 s")
    errors = by_outcome(report, Outcome.ERROR)
    assert errors["rfc6455/5.2/text-125-bytes"] == f"preflight: {report.preflight[0]}"
    slow = [r.id for r in report.results if r.outcome is Outcome.ERROR and r.duration_s > 1]
    assert not slow


class TestOnTheCommandLine:
    """Exit codes and the one-line diagnosis of ``wsconform run`` (default options)."""

    def test_no_pong_exits_1_within_a_minute(self, capsys: pytest.CaptureFixture[str]) -> None:
        with serving(fault("no-pong")) as url:
            began = time.monotonic()
            code = main(["run", url, "-q", "--cases", "rfc6455/5.5.2"])
        assert code == EXIT_FAILED and time.monotonic() - began < WHOLE_RUN_BOUND
        assert "Traceback" not in capsys.readouterr().err

    def test_a_trickled_101_is_diagnosed_once(self, capsys: pytest.CaptureFixture[str]) -> None:
        with serving(lambda: start_hostile_server("trickle")) as url:
            began = time.monotonic()
            code = main(["run", url, "-q", "--timeout", "2"])
            elapsed = time.monotonic() - began
        err = capsys.readouterr().err.strip()
        assert code == EXIT_UNREACHABLE and elapsed < WHOLE_RUN_BOUND
        assert err.startswith("wsconform: error: the answer of 127.0.0.1:")
        assert "to the opening handshake stopped after" in err and "within 2 s" in err


class TestReadFacts:
    def test_both_answers_are_no_fact(self) -> None:
        seen = ProbeSeen(pongs=[PROBE_PING], messages=[PROBE_TEXT])
        assert read_facts(seen, 5).lines == ()

    def test_no_pong_cites_the_must(self) -> None:
        facts = read_facts(ProbeSeen(messages=[PROBE_TEXT]), 5)
        assert not facts.answers_ping and facts.echoes
        assert "within 5 s (RFC 6455 §5.5.2: a Ping MUST be answered" in facts.no_ping

    def test_an_unsolicited_pong_beside_the_right_one_is_no_fact(self) -> None:
        seen = ProbeSeen(pongs=[b"heartbeat", PROBE_PING], messages=[PROBE_TEXT])
        assert read_facts(seen, 5).answers_ping

    def test_a_close_instead_of_answers_is_said(self) -> None:
        seen = ProbeSeen(close=CloseReceived(1003, b"", b"\x03\xeb"))
        facts = read_facts(seen, 5)
        assert "(the server sent a Close (code 1003) instead)" in facts.no_echo
        assert "(the server sent a Close (code 1003) instead)" in facts.no_ping


def test_a_case_whose_handshake_got_200_says_so() -> None:
    """§4.1: an answer that arrived is never "no answer" (the body never ends here)."""

    async def answer_200(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nUpgrade: websocket\r\n\r\n\x81\x05hello")
        await writer.drain()
        await reader.read()

    async def open_one() -> str:
        server = await asyncio.start_server(answer_200, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        ctx = CaseContext(Target.parse(f"ws://127.0.0.1:{port}/"), loop.time() + CASE_DEADLINE)
        try:
            await WireSession.open(ctx)
        except CannotRun as exc:
            return str(exc)
        finally:
            await ctx.close_all()
            server.close()
        return "opened"

    began = time.monotonic()
    text = asyncio.run(open_one())
    assert time.monotonic() - began < CASE_DEADLINE / 2  # the head is enough, not the body
    assert text.startswith("a valid opening handshake failed: 127.0.0.1:")
    assert text.endswith(
        "answered the opening handshake with HTTP 200 OK and Upgrade: "
        "FAIL rfc6455-4.2.2-status-101, a server accepting the connection MUST answer "
        '"A Status-Line with a 101 response code" (RFC 6455 §4.2.2); no case can run'
    )
