"""The runner keeps every case's trouble inside that case's result (never the whole run)."""

from __future__ import annotations

import asyncio

import pytest

from conformance.cases.base import Case
from conformance.driver import Target
from conformance.model.behaviours import Echoed, expect
from conformance.model.observed import Observed
from conformance.model.verdict import Level, Outcome
from conformance.runner import run_case
from conformance.session.context import CaseContext


async def _observe(_ctx: CaseContext) -> Observed:
    return Observed(upgraded=True)


CASE = Case(
    id="rfc6455/x/cleanup",
    title="t",
    requirements=(),
    level=Level.MUST,
    expect=expect(Echoed(((1, b"a"),))),
    run=_observe,
)


def test_a_failing_cleanup_is_a_note_not_a_crashed_run(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken_close(_self: CaseContext) -> None:
        raise AttributeError("'NoneType' object has no attribute 'call_soon'")

    monkeypatch.setattr(CaseContext, "close_all", broken_close)
    result = asyncio.run(run_case(CASE, Target.parse("ws://127.0.0.1:9/"), timeout=1))
    assert result.outcome is Outcome.FAIL
    assert any("suite error while closing: AttributeError" in note for note in result.notes)
