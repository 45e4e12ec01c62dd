"""The script's view of each wire case under ``whatwg`` (conformance/clients/script_view.py).

Unit tests build one connection's bytes (the client's request, the suite's 101 and frames)
and judge a script view against the model; the run tests play the wire cases through the
reference client (agrees everywhere) and through a fault whose bytes are the reference
client's but whose script view is wrong (caught only under ``whatwg``).
"""

from __future__ import annotations

import asyncio
import fnmatch
import sys

from conformance.catalog import load_catalog
from conformance.clients import script_view
from conformance.clients.harness import AdapterProcess
from conformance.clients.runner import select_wire_cases
from conformance.clients.script_view import (
    R_ERROR,
    R_STOP,
    ScriptSeen,
    judge_script,
    model_runs,
    script_view_result,
)
from conformance.clients.wire_run import run_wire_cases
from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import Opcode
from conformance.model.frames import Frame
from conformance.model.handshake import accept_for
from conformance.model.user_agent import WebSocketModel
from conformance.model.verdict import Level, Outcome
from conformance.results import CaseResult

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
REQUEST = (
    b"GET /t HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: " + accept_for(KEY) + b"\r\n\r\n"
)
INVALID_UTF8 = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"
REFERENCE = [sys.executable, "-m", "conformance.clients.reference"]
CLEAN_AFTER_FAIL = [
    sys.executable,
    "-c",
    "from conformance.clients import adapter_lines; "
    "from fixtures.client_faults import CleanAfterFail; "
    "adapter_lines.run('clean-after-fail', CleanAfterFail)",
]
FAILING_CASES = ("rfc6455/5.2/rsv1-text", "rfc6455/5.2/opcode-3", "rfc6455/8.1/kuhn-3-1-1")
"""Wire cases in which a conforming client fails the connection."""


def sent(*frames: Frame) -> bytes:
    return RESPONSE + b"".join(encode_frame(f) for f in frames)


def seen(*, messages: tuple[str, ...] = (), error: bool, close: tuple[object, ...]) -> ScriptSeen:
    view = ScriptSeen(opened=True, messages=list(messages), error=error, events=1)
    view.message_count = len(messages)
    view.close = (close[0], close[1], close[2])
    return view


def broken_ids(view: ScriptSeen, *frames: Frame) -> set[str]:
    runs = model_runs(sent(*frames), REQUEST)
    assert runs
    return {r for b in judge_script(view, runs) for r in b.requirements}


def wire_result(data: bytes, outcome: Outcome = Outcome.PASS) -> CaseResult:
    return CaseResult(
        "rfc6455/x/y", "t", outcome, Level.MUST, (), "e", "a", 0.0, data, REQUEST, len(data)
    )


# -- the judgement ----------------------------------------------------------------------------


def test_a_message_event_after_invalid_utf8_breaks_stop_processing() -> None:
    frames = (Frame(Opcode.TEXT, INVALID_UTF8), Frame(Opcode.TEXT, b"after"))
    view = seen(messages=("after",), error=True, close=(1006, "", False))
    assert {R_STOP, "rfc6455-8.1-invalid-utf8-fail"} <= broken_ids(view, *frames)


def test_a_failed_connection_without_an_error_event_breaks_fire_error() -> None:
    view = seen(error=False, close=(1006, "", False))
    assert R_ERROR in broken_ids(view, Frame(Opcode.TEXT, b"x", rsv1=True))


def test_was_clean_true_after_failing_breaks_wasclean() -> None:
    view = seen(error=True, close=(1006, "", True))
    assert "whatwg-ws-closeevent-wasclean" in broken_ids(view, Frame(0x3))


def test_after_failing_the_script_may_see_1006_only_without_an_earlier_close() -> None:
    bad, reply = Frame(0x3), Frame(Opcode.CLOSE, close_payload(1002))
    assert not broken_ids(seen(error=True, close=(1006, "", False)), bad, reply)
    # the server's reply to the client's failing Close must not be processed (§7.1.7)
    assert R_STOP in broken_ids(seen(error=True, close=(1002, "", False)), bad, reply)


def test_a_close_received_before_the_failure_may_give_its_code() -> None:
    bad_reason = Frame(Opcode.CLOSE, close_payload(1000, b"\xff"))
    for code in (1006, 1000):
        assert not broken_ids(seen(error=True, close=(code, "", False)), bad_reason)


def test_an_orderly_close_is_reported_with_the_servers_code_and_reason() -> None:
    close = Frame(Opcode.CLOSE, close_payload(4000, b"bye"))
    assert not broken_ids(seen(error=False, close=(4000, "bye", True)), close)
    wrong = broken_ids(seen(error=False, close=(1000, "bye", True)), close)
    assert "rfc6455-7.1.5-close-code-first-frame" in wrong


def test_a_reserved_code_may_be_refused_by_failing() -> None:
    close = Frame(Opcode.CLOSE, close_payload(1004))
    assert not broken_ids(seen(error=False, close=(1004, "", True)), close)
    assert not broken_ids(seen(error=True, close=(1006, "", False)), close)


def test_failing_fast_on_a_first_fragment_is_allowed() -> None:
    first = Frame(Opcode.TEXT, INVALID_UTF8, fin=False)
    answer = Frame(Opcode.CLOSE, close_payload(1007))  # the suite answers the client's Close
    assert not broken_ids(seen(error=True, close=(1006, "", False)), first, answer)


def test_a_message_the_model_delivers_is_missing_after_an_orderly_close() -> None:
    frames = (Frame(Opcode.TEXT, b"hello"), Frame(Opcode.CLOSE, close_payload(1000)))
    assert "whatwg-ws-message-fire-event" in broken_ids(
        seen(error=False, close=(1000, "", True)), *frames
    )
    assert not broken_ids(seen(messages=("hello",), error=False, close=(1000, "", True)), *frames)


def test_uncorrelated_events_leave_the_result_unchanged() -> None:
    result = wire_result(sent(Frame(0x3)))
    assert script_view_result(result, None) is result
    assert script_view_result(result, ScriptSeen()) is result


def test_a_disagreement_fails_the_case_and_adds_one_evidence_line() -> None:
    view = seen(error=True, close=(1006, "", True))
    judged = script_view_result(wire_result(sent(Frame(0x3))), view)
    assert judged.outcome is Outcome.FAIL
    assert "whatwg-ws-closeevent-wasclean" in judged.requirements
    assert [n for n in judged.notes if n.startswith("script saw: ")] == [judged.notes[-1]]
    unfinished = ScriptSeen(opened=False, events=1)  # no terminal event: shown, not judged
    shown = script_view_result(wire_result(sent(Frame(0x3))), unfinished)
    assert shown.outcome is Outcome.PASS
    assert "no close event reported in time" in shown.notes[-1]
    agreeing = script_view_result(
        wire_result(sent(Frame(0x3))), seen(error=True, close=(1006, "", False))
    )
    assert agreeing.outcome is Outcome.PASS
    assert agreeing.notes[-1].startswith("script saw: ")


# -- the model's additions ----------------------------------------------------------------


def opened_model() -> WebSocketModel:
    model = WebSocketModel(())
    accept = accept_for(KEY).decode()
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
    events = model.response(101, [*headers, ("Sec-WebSocket-Accept", accept)], key=KEY.decode())
    assert [e.type for e in events] == ["open"]
    return model


def test_a_control_frame_over_125_bytes_fails_the_model() -> None:
    model = opened_model()
    events = model.header_fault("rfc6455-5.5-control-payload-125")
    assert [e.type for e in events] == ["error", "close"]
    assert not opened_model().header_fault("rfc6455-5.2-minimal-length-encoding")


def test_an_invalid_first_fragment_may_fail_fast() -> None:
    model = opened_model()
    model.frame(Opcode.TEXT, b"ok", fin=False)
    assert not model.fail_invalid_text()
    model.frame(Opcode.CONTINUATION, b"\xff", fin=False)
    assert [e.type for e in model.fail_invalid_text()] == ["error", "close"]


# -- whole runs -----------------------------------------------------------------------------


def run_wire(argv: list[str], profile: str, ids: tuple[str, ...] = ()) -> list[CaseResult]:
    cases = [
        c
        for c in select_wire_cases("default")
        if not ids or any(fnmatch.fnmatchcase(c.id, i) for i in ids)
    ]

    async def main() -> list[CaseResult]:
        adapter = AdapterProcess(argv)
        await adapter.start()
        try:
            return await run_wire_cases(adapter, cases, timeout=3.0, profile=profile)
        finally:
            await adapter.stop()

    return asyncio.run(main())


def test_the_reference_client_script_view_agrees_on_every_wire_case() -> None:
    results = run_wire(REFERENCE, "whatwg")
    wrong = {r.id: r.actual for r in results if r.outcome is not Outcome.PASS}
    assert not wrong, wrong
    lines = [r for r in results if any(n.startswith("script saw: ") for n in r.notes)]
    assert len(lines) > len(results) * 0.9


def test_wasclean_true_after_a_failure_fails_the_wire_cases_under_whatwg_only() -> None:
    judged = run_wire(CLEAN_AFTER_FAIL, "whatwg", FAILING_CASES)
    assert len(judged) == len(FAILING_CASES)
    for result in judged:
        assert result.outcome is Outcome.FAIL, result.actual
        assert "whatwg-ws-closeevent-wasclean" in result.requirements
    plain = run_wire(CLEAN_AFTER_FAIL, "rfc6455-client", FAILING_CASES)
    assert all(r.outcome is Outcome.PASS for r in plain), [r.actual for r in plain]
    assert not any(n.startswith("script saw: ") for r in plain for n in r.notes)


def test_every_id_the_script_view_cites_is_in_the_catalog() -> None:
    catalog = load_catalog()
    cited = {
        value
        for name, value in vars(script_view).items()
        if name.startswith("R_") and isinstance(value, str)
    } | {
        item
        for name, value in vars(script_view).items()
        if name.startswith("R_") and isinstance(value, tuple)
        for item in value
    }
    assert {"whatwg-ws-closeevent-wasclean", R_STOP} <= cited
    assert all(catalog.get(r) is not None for r in cited | {"rfc6455-10.7-may-drop-tcp"}), cited
