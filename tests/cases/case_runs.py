"""What the case tests share: running cases against a reference, faulty or local server.

Plain functions, imported as ``from case_runs import ...``: the test directories have no
``__init__.py``, so pytest puts this directory on ``sys.path`` for the test modules beside
it. Not a ``conftest.py``: every conftest of the tree is the module ``conftest`` to Python,
and the one loaded last (``tests/plugin/``'s, with both directories on the command line)
would shadow these functions.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache

from conformance.cases import case_by_id
from conformance.cases.base import Case
from conformance.driver import Target
from conformance.echo_engine import WirePolicy
from conformance.model.server_handshake import accept_key, render_response
from conformance.model.verdict import Outcome
from conformance.reference_server import (
    EngineName,
    LoopbackServer,
    ServerLimits,
    start_reference_server,
)
from conformance.results import CaseResult
from conformance.runner import run_cases
from fixtures.wire_faults import wire_policy

FaultTable = Mapping[str, Callable[[], WirePolicy]]
"""Faults a test module defines itself, by name, beside those of fixtures.wire_faults."""


def fault_policy(fault: str, local: FaultTable) -> WirePolicy:
    """The policy ``fault`` names: from ``local`` if there, else from fixtures.wire_faults."""
    factory = local.get(fault)
    return factory() if factory is not None else wire_policy(fault)


async def run_on(
    server: LoopbackServer, cases: Sequence[Case], *, timeout: float = 5, jobs: int = 8
) -> list[CaseResult]:
    """Runs ``cases`` against ``server``, then stops the server."""
    async with server:
        return await run_cases(cases, Target.parse(server.url), timeout=timeout, jobs=jobs)


async def run_reference(
    cases: Sequence[Case],
    *,
    engine: EngineName = "wsproto",
    policy: WirePolicy | None = None,
    limits: ServerLimits | None = None,
    timeout: float = 5,
    jobs: int = 8,
) -> list[CaseResult]:
    """Runs ``cases`` against a reference server (``engine="model"`` for a ``policy``)."""
    server = await start_reference_server(engine=engine, wire_policy=policy, limits=limits)
    return await run_on(server, cases, timeout=timeout, jobs=jobs)


async def run_fault_or_reference(
    cases: Sequence[Case],
    local: FaultTable,
    *,
    engine: EngineName = "wsproto",
    fault: str | None = None,
) -> list[CaseResult]:
    """``cases`` against the model engine under ``fault`` (from ``local`` or
    fixtures.wire_faults), or against the reference server's ``engine`` when None."""
    if fault is not None:
        policy = fault_policy(fault, local)
        return await run_reference(cases, engine="model", policy=policy, timeout=3, jobs=16)
    return await run_reference(cases, engine=engine, jobs=16)


def fault_results(
    cases: Sequence[Case], breaks: Mapping[str, str], local: FaultTable
) -> Callable[[str], dict[str, CaseResult]]:
    """Per fault, by id, the results of the ``cases`` that ``breaks`` maps to it, under that
    fault (:func:`run_fault_or_reference`); each fault's cases run once (cached)."""

    @cache
    def under(fault: str) -> dict[str, CaseResult]:
        chosen = broken_by(fault, cases, breaks)
        return by_id(asyncio.run(run_fault_or_reference(chosen, local, fault=fault)))

    return under


def broken_by(fault: str, cases: Iterable[Case], breaks: Mapping[str, str]) -> list[Case]:
    """The cases ``breaks`` maps to ``fault``, in their order."""
    return [c for c in cases if breaks.get(c.id) == fault]


def by_id(results: Iterable[CaseResult]) -> dict[str, CaseResult]:
    """The results by case id."""
    return {r.id: r for r in results}


def assert_failed(result: CaseResult) -> None:
    """``result`` is the failure its case's level calls for: FAIL, or WARN for a SHOULD."""
    case = case_by_id(result.id)
    assert case is not None
    assert result.outcome is case.level.failure, (result.outcome, result.actual)


def not_passed(results: Iterable[CaseResult]) -> dict[str, tuple[str, str]]:
    """Outcome and actual text of every result that is not a PASS, by case id."""
    return {r.id: (r.outcome.value, r.actual) for r in results if r.outcome is not Outcome.PASS}


async def accept_upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Reads a client's opening handshake and answers it with a bare 101 (§4.2.2)."""
    head = await reader.readuntil(b"\r\n\r\n")
    found = re.search(rb"(?im)^sec-websocket-key:[ \t]*(\S+)", head)
    assert found is not None
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(found.group(1).decode())),
    ]
    writer.write(render_response(101, headers))
