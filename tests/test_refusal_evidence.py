"""A server case answered with a refusal says what a browser script would see (WHATWG model).

RFC 6455 §4.2.2 lets a server refuse with any HTTP error; WHATWG hides that status from the
script (``whatwg-ws-status-not-101-fail``). Each case whose observed answer is not a 101
carries one evidence line computed by :func:`conformance.model.user_agent.refusal_note`,
which runs the model on the answer (docs/refusing-connections.md).
"""

from __future__ import annotations

import asyncio

import pytest

from conformance.cases import all_cases
from conformance.cases.base import Case
from conformance.driver import Target
from conformance.model.observed import HttpResponse
from conformance.model.user_agent import (
    ScriptEvent,
    WebSocketModel,
    refusal_note,
    script_view_of_refusal,
)
from conformance.model.verdict import Outcome
from conformance.reference_server import start_reference_server
from conformance.results import CaseResult
from conformance.runner import run_case

REFUSAL_CASE = "rfc6455/4.2.1/missing-key"
"""A case whose only passing behaviour is an HTTP error (HttpRefusal)."""
ACCEPTED_CASE = "rfc6455/7.4.1/no-1005-echo"
"""A case whose handshake is valid: the reference server answers 101."""
TEST_TIMEOUT = 15.0
BROWSER_VIEW = "a browser script would see:"


def case(case_id: str) -> Case:
    return next(c for c in all_cases() if c.id == case_id)


def run_against_reference(case_id: str) -> CaseResult:
    async def main() -> CaseResult:
        async with asyncio.timeout(TEST_TIMEOUT):
            async with await start_reference_server() as server:
                return await run_case(case(case_id), Target.parse(server.url), timeout=5.0)

    return asyncio.run(main())


def browser_lines(result: CaseResult) -> list[str]:
    return [note for note in result.notes if note.startswith(BROWSER_VIEW)]


def response(status: int) -> HttpResponse:
    return HttpResponse(status, b"Refused", b"HTTP/1.1", ())


def test_the_model_sees_a_refusal_as_error_then_close_1006() -> None:
    events = script_view_of_refusal(403)
    assert [e.type for e in events] == ["error", "close"]
    assert (events[1].code, events[1].reason, events[1].was_clean) == (1006, "", False)
    assert "whatwg-ws-status-not-101-fail" in events[0].requirements


def test_a_101_is_not_a_refusal() -> None:
    assert refusal_note(response(101)) is None
    assert refusal_note(None) is None
    with pytest.raises(ValueError, match="not a refusal"):
        script_view_of_refusal(101)


@pytest.mark.network
def test_refusal_case_evidence_says_what_a_browser_script_sees() -> None:
    result = run_against_reference(REFUSAL_CASE)
    assert result.outcome is Outcome.PASS, result.actual
    lines = browser_lines(result)
    assert len(lines) == 1, result.notes
    assert lines[0].startswith(
        "a browser script would see: error, then close code 1006, reason '', wasClean false"
    )
    assert "is hidden; whatwg-ws-status-not-101-fail" in lines[0]


@pytest.mark.network
def test_refusal_evidence_is_computed_by_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Change what the model says a script sees, and the evidence line changes with it."""

    def altered(
        _self: WebSocketModel, status: int, *_args: object, **_kw: object
    ) -> list[ScriptEvent]:
        return [ScriptEvent("close", ready_state=3, code=4000 + status, reason="x", was_clean=True)]

    monkeypatch.setattr(WebSocketModel, "response", altered)
    lines = browser_lines(run_against_reference(REFUSAL_CASE))
    assert len(lines) == 1
    assert "close code 44" in lines[0] and "wasClean true" in lines[0]
    assert "error" not in lines[0].split("(")[0]


@pytest.mark.network
def test_an_accepted_handshake_has_no_browser_view_line() -> None:
    result = run_against_reference(ACCEPTED_CASE)
    assert result.outcome is Outcome.PASS, result.actual
    assert browser_lines(result) == []
