"""What the pytest plugin (:mod:`conformance.pytest_plugin`) does once it is used.

The helpers a project calls (:func:`conformance_tests`, :func:`check_server`,
:func:`client_conformance_tests`, :func:`check_client`, the ``ws_client_check`` fixture's
:class:`ClientCheck`), the mapping of a verdict onto pytest (:func:`enforce`,
:func:`judge_item`: a WARN warns at the case, a baselined deviation xfails), the case
markers, and :class:`LoopThread` for servers that synchronous tests talk to (the
baseline marking and the terminal summary section: :mod:`conformance.pytest_report`).
Imported by the plugin only when a ``--ws-*`` option, one of its fixtures or one of these
helpers is used, so a plain pytest run loads no case table.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import threading
import warnings
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, TypeVar, cast

import pytest

from .baseline import RANK, Accepted, Baseline
from .cases.base import Case
from .catalog import load_catalog
from .driver import Target, Unreachable
from .model.verdict import Level, Outcome
from .reports.json_report import case_to_json
from .reports.terminal import render_failures, summary_line
from .results import CaseResult, RunReport, reproduce_command
from .runner import DEFAULT_TIMEOUT, run_case, run_suite, select_cases
from .session.context import PeerFacts

__all__ = [
    "ClientCheck",
    "KnownDeviation",
    "LoopThread",
    "WsConformanceWarning",
    "check_client",
    "check_server",
    "client_conformance_tests",
    "conformance_tests",
    "enforce",
    "ws_conformance_cases",
]

T = TypeVar("T")
STOP_TIMEOUT = 15.0
CASE_ID_PARAM = "ws_case_id"
"""The parameter of :func:`conformance_tests`' tests: the case id."""
SCENARIO_ID_PARAM = "ws_scenario_id"
"""The parameter of :func:`client_conformance_tests`' tests: the scenario id."""
DEFINED_AT = "ws_defined_at"
"""Attribute of a generated test function: the (file, line) of the call that made it."""
BASELINE = pytest.StashKey[tuple[str, Baseline]]()
"""``--ws-baseline``: its path and the outcomes it accepts (set by :func:`load_baseline`)."""


class WsConformanceWarning(UserWarning):
    """A SHOULD-level case did not pass (outcome WARN)."""


class KnownDeviation(Exception):
    """A case's outcome is the one ``--ws-baseline`` accepts: its test xfails."""


# --- helpers -------------------------------------------------------------------------


class LoopThread:
    """An asyncio event loop in a daemon thread, for servers that synchronous tests talk to.

    ``run(coro)`` runs a coroutine there and waits; ``enter(cm)`` enters an async context
    manager that ``close()`` exits. Also a context manager itself.
    """

    def __init__(self, name: str = "ws-conformance-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._stack = contextlib.AsyncExitStack()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and return its result (TimeoutError after ``timeout``)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def enter(self, cm: AbstractAsyncContextManager[T], timeout: float | None = None) -> T:
        """Enter ``cm`` on the loop; it is exited by :meth:`close`."""
        return self.run(self._stack.enter_async_context(cm), timeout)

    def close(self, timeout: float = STOP_TIMEOUT) -> None:
        """Exit what was entered, then stop the loop and its thread."""
        if self.loop.is_closed():
            return
        try:
            self.run(self._stack.aclose(), timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self.loop.close()

    def __enter__(self) -> LoopThread:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def as_patterns(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def ws_conformance_cases(
    patterns: str | Sequence[str] = "*",
    exclude: str | Sequence[str] = (),
    *,
    profile: str = "default",
) -> list[Case]:
    """The server cases whose id matches a glob (or prefix) of ``patterns`` and none of
    ``exclude``; ``ValueError`` if none does."""
    cases = select_cases(as_patterns(patterns), as_patterns(exclude), profile=profile)
    if not cases:
        raise ValueError(f"no ws-conformance case matches {patterns!r} (exclude {exclude!r})")
    return cases


def section_marker(case: Case) -> str:
    """``ws_rfc6455_4_2_1`` for ``rfc6455/4.2.1/…``."""
    return re.sub(r"\W", "_", f"ws_{case.spec}_{case.section}")


def case_marks(case: Case) -> list[pytest.MarkDecorator]:
    names = ("ws", f"ws_{case.level.value.lower()}", section_marker(case))
    return [cast(pytest.MarkDecorator, getattr(pytest.mark, name)) for name in names]


def result_properties(result: CaseResult) -> list[tuple[str, object]]:
    """The JSON report's fields of ``result``, as JUnit-friendly ``user_properties``."""
    return [
        (key, value if isinstance(value, str | int | float) else json.dumps(value))
        for key, value in case_to_json(result).items()
    ]


def _block(result: CaseResult, target_url: str) -> str:
    report = RunReport(target_url=target_url, results=[result])
    return render_failures(report, load_catalog(), color=False).rstrip("\n")


def enforce(
    result: CaseResult,
    target_url: str,
    *,
    strict: bool = False,
    location: tuple[str, int] | None = None,
    accepted: Accepted | None = None,
) -> None:
    """Map a verdict onto pytest: fail (FAIL, ERROR, WARN if strict), warn, skip or pass.

    A WARN's warning is attributed to ``location`` (file, 1-based line) if given, else to
    the caller. With ``accepted`` (a baseline's entry): the same rank raises
    :class:`KnownDeviation` (the test's xfail marker makes it XFAIL); a lower rank is an
    improvement that never fails (XPASS); a higher one is judged as usual.
    """
    __tracebackhide__ = True
    outcome = result.outcome
    if accepted is not None and RANK[accepted.outcome] > 0:
        if RANK[outcome] == RANK[accepted.outcome]:
            raise KnownDeviation(f"{result.id}: {outcome.value.upper()}, in the baseline")
        strict = strict and RANK[outcome] > RANK[accepted.outcome]
    if outcome in (Outcome.FAIL, Outcome.ERROR) or (outcome is Outcome.WARN and strict):
        pytest.fail(_block(result, target_url), pytrace=False)
    elif outcome is Outcome.WARN:
        warning = WsConformanceWarning(f"{result.id}: {result.actual}")
        if location is None:
            warnings.warn(warning, stacklevel=2)
        else:
            warnings.warn_explicit(warning, WsConformanceWarning, *location)
    elif outcome is Outcome.UNSUPPORTED:
        pytest.skip(f"{result.id}: unsupported: {result.actual}")


def case_location(case: Case) -> tuple[str, int]:
    """Where the case's code is (file, 0-based line, as ``reportinfo`` gives it)."""
    run = inspect.unwrap(case.run)
    code = getattr(run, "__code__", None)
    if code is None:
        return inspect.getfile(type(run)), 0
    return str(code.co_filename), int(code.co_firstlineno) - 1


def caller_location() -> tuple[str, int]:
    """The (file, line) that called the caller: the ``conformance_tests(...)`` line."""
    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame and frame.f_back else None
    if caller is None:
        return __file__, 1
    return caller.f_code.co_filename, caller.f_lineno


def warning_location(item: pytest.Item) -> tuple[str, int]:
    """Where a WARN of ``item`` points (file, 1-based line): the ``conformance_tests(...)``
    line of a project's test, else the item's own location (a case item: its case's code)."""
    defined: tuple[str, int] | None = getattr(getattr(item, "obj", None), DEFINED_AT, None)
    if defined is not None:
        return defined
    path, lineno, _ = item.reportinfo()
    return str(path), (lineno or 0) + 1


def baseline_entry(config: pytest.Config, case_id: str) -> Accepted | None:
    """What ``--ws-baseline`` accepts for ``case_id`` (None without a baseline)."""
    _, baseline = config.stash.get(BASELINE, ("", {}))
    return baseline.get(case_id)


def judge_item(item: pytest.Item, result: CaseResult, target_url: str, *, strict: bool) -> None:
    """Keep ``result`` on ``item`` (``user_properties``) and :func:`enforce` it there."""
    __tracebackhide__ = True
    item.user_properties.extend(result_properties(result))
    enforce(
        result,
        target_url,
        strict=strict,
        location=warning_location(item),
        accepted=baseline_entry(item.config, result.id),
    )


def run_one(
    case: Case, target: Target, timeout: float, reproduce: str, facts: PeerFacts | None = None
) -> CaseResult:
    """Run one case; ``facts``: what the preflight learned about the server, if it ran."""
    return asyncio.run(run_case(case, target, timeout=timeout, reproduce=reproduce, facts=facts))


def conformance_tests(
    cases: str | Sequence[str] = "*",
    *,
    exclude: str | Sequence[str] = (),
    fixture: str = "ws_server_url",
    strict: bool = False,
    profile: str = "default",
    timeout: float = DEFAULT_TIMEOUT,
) -> Callable[..., None]:
    """A test function parametrized over the selected case ids.

    Each test requests ``fixture`` (a ``ws://``/``wss://`` URL of the project's server)
    and runs its case against it. Assign it to a ``test_*`` name in a test module.
    """
    defined_at = caller_location()
    by_id = {case.id: case for case in ws_conformance_cases(cases, exclude, profile=profile)}
    # Marked ``ws`` only: :func:`mark_case_items` adds the level and section markers at
    # collection, once they are registered (``--strict-markers`` checks them here).
    params = [pytest.param(cid, id=cid, marks=pytest.mark.ws) for cid in by_id]

    @pytest.mark.parametrize(CASE_ID_PARAM, params)
    def test_ws_conformance(ws_case_id: str, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        url = request.getfixturevalue(fixture)
        if not isinstance(url, str):
            raise TypeError(f"fixture {fixture!r} must give a ws:// URL string, not {url!r}")
        result = run_one(
            by_id[ws_case_id], Target.parse(url), timeout, reproduce_command((url,), ws_case_id)
        )
        judge_item(request.node, result, url, strict=strict)

    setattr(test_ws_conformance, DEFINED_AT, defined_at)
    return test_ws_conformance


def fail_on(report: RunReport) -> RunReport:
    """``report``, unless it failed (FAIL, ERROR, WARN if strict): then an ``AssertionError``
    carrying its failure blocks and summary, which fails the calling test."""
    __tracebackhide__ = True
    if report.failed:
        text = render_failures(report, load_catalog(), color=False)
        raise AssertionError(f"{text}\n{summary_line(report)}")
    return report


def check_server(
    url: str,
    cases: str | Sequence[str] = "*",
    exclude: str | Sequence[str] = (),
    strict: bool = False,
    *,
    profile: str = "default",
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = 4,
) -> RunReport:
    """Run the selected cases against ``url``; ``AssertionError`` with the failure blocks
    if the run failed or the server is unreachable. Not for use inside a running loop."""
    __tracebackhide__ = True
    selected = ws_conformance_cases(cases, exclude, profile=profile)
    target = Target.parse(url)
    try:
        report = asyncio.run(run_suite(target, selected, timeout=timeout, jobs=jobs, strict=strict))
    except Unreachable as exc:
        raise AssertionError(f"ws-conformance: {url} is unreachable: {exc}") from None
    return fail_on(report)


def check_client(
    adapter: str | Sequence[str],
    profile: str = "rfc6455-client",
    scenarios: str | Sequence[str] = (),
    exclude: str | Sequence[str] = (),
    strict: bool = False,
    *,
    timeout: float = 5.0,
    depth: str = "default",
) -> RunReport:
    """Play the client scenarios, then the wire cases of ``depth`` ("default" or "full"),
    through a JSON-lines ``adapter`` (docs/client-adapters.md); ``scenarios`` and ``exclude``
    select both by id. ``AssertionError`` with the failure blocks if the run failed. The
    scenarios that need a loopback-only network namespace (unresolvable, unroutable) are
    left out outside one."""
    __tracebackhide__ = True
    from .clients.harness import AdapterFailed
    from .clients.runner import (
        run_client_suite,
        runnable_here,
        select_scenarios,
        select_wire_cases,
    )

    if profile not in ("whatwg", "rfc6455-client"):
        raise ValueError(f"profile must be 'whatwg' or 'rfc6455-client', not {profile!r}")
    chosen = runnable_here(
        select_scenarios(profile, as_patterns(scenarios), as_patterns(exclude))  # type: ignore[arg-type]
    )
    wire_cases = select_wire_cases(depth, as_patterns(scenarios), as_patterns(exclude))
    label = adapter if isinstance(adapter, str) else " ".join(adapter)
    try:
        report = asyncio.run(
            run_client_suite(
                adapter,
                chosen,
                profile,  # type: ignore[arg-type]
                label=f"adapter {label}",
                timeout=timeout,
                strict=strict,
                wire_cases=wire_cases,
            )
        )
    except AdapterFailed as exc:
        raise AssertionError(f"ws-conformance: the adapter did not start: {exc}") from None
    return fail_on(report)


def client_conformance_tests(
    scenarios: str | Sequence[str] = (),
    *,
    exclude: str | Sequence[str] = (),
    profile: str = "rfc6455-client",
    fixture: str = "ws_client_adapter",
    strict: bool = False,
    timeout: float = 5.0,
) -> Callable[..., None]:
    """A test function parametrized over the client scenarios of ``profile`` and the wire
    cases (default depth) that ``scenarios``/``exclude`` select.

    Each test requests ``fixture``: the adapter command (a shell string or an argv list,
    docs/client-adapters.md) of the project's client, and plays its one scenario.
    Assign it to a ``test_*`` name in a test module.
    """
    from .clients.runner import runnable_here, select_scenarios, select_wire_cases

    defined_at = caller_location()
    chosen = runnable_here(
        select_scenarios(profile, as_patterns(scenarios), as_patterns(exclude))  # type: ignore[arg-type]
    )
    wire = select_wire_cases("default", as_patterns(scenarios), as_patterns(exclude))
    ids = [s.id for s in chosen] + [c.id for c in wire]
    params = [pytest.param(i, id=i, marks=pytest.mark.ws) for i in ids]

    @pytest.mark.parametrize(SCENARIO_ID_PARAM, params)
    def test_ws_client_conformance(ws_scenario_id: str, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        from .clients.harness import AdapterFailed
        from .clients.runner import run_client_suite

        adapter = request.getfixturevalue(fixture)
        one = [s for s in chosen if s.id == ws_scenario_id]
        one_case = [c for c in wire if c.id == ws_scenario_id]
        try:
            report = asyncio.run(
                run_client_suite(
                    adapter,
                    one,
                    profile,  # type: ignore[arg-type]
                    label="adapter",
                    timeout=timeout,
                    wire_cases=one_case,
                )
            )
        except AdapterFailed as exc:
            pytest.fail(f"ws-conformance: the adapter did not start: {exc}", pytrace=False)
        result = next(r for r in report.results if r.id == ws_scenario_id)
        judge_item(request.node, result, report.target_url, strict=strict)

    setattr(test_ws_client_conformance, DEFINED_AT, defined_at)
    return test_ws_client_conformance


class ClientCheck:
    """What the ``ws_client_check`` fixture gives: call it to check a client.

    ``ws_client_check(adapter, profile="rfc6455-client", scenarios=(), exclude=(),
    strict=False, *, timeout=5.0, depth="default") -> RunReport`` plays the scenarios and
    the wire cases through the JSON-lines ``adapter`` (:func:`check_client`). A FAIL or
    ERROR (a WARN with ``strict``), or an adapter that does not start, fails the test with
    the evidence blocks (an ``AssertionError``); each WARN is a
    :class:`WsConformanceWarning` on the calling line.
    """

    def __call__(
        self,
        adapter: str | Sequence[str],
        profile: str = "rfc6455-client",
        scenarios: str | Sequence[str] = (),
        exclude: str | Sequence[str] = (),
        strict: bool = False,
        *,
        timeout: float = 5.0,
        depth: str = "default",
    ) -> RunReport:
        __tracebackhide__ = True
        report = check_client(
            adapter, profile, scenarios, exclude, strict, timeout=timeout, depth=depth
        )
        for result in report.results:
            if result.outcome is Outcome.WARN:
                warnings.warn(WsConformanceWarning(f"{result.id}: {result.actual}"), stacklevel=2)
        return report


def register_markers(config: pytest.Config) -> None:
    """Declare the level markers (``ws_must``…) and one marker per section of the cases."""
    lines = [
        f"ws_{level.value.lower()}: a ws-conformance case of a {level.value} requirement"
        for level in Level
    ]
    sections = {section_marker(case): case for case in select_cases(profile="full")}
    lines += [
        f"{name}: ws-conformance cases of {case.spec} §{case.section}"
        for name, case in sections.items()
    ]
    for line in lines:
        config.addinivalue_line("markers", line)


def mark_case_items(config: pytest.Config, items: Sequence[pytest.Item]) -> None:
    """Give the items of :func:`conformance_tests` their case's level and section markers."""
    register_markers(config)
    cases = {case.id: case for case in select_cases(profile="full")}
    for item in items:
        callspec = getattr(item, "callspec", None)
        case = cases.get(callspec.params.get(CASE_ID_PARAM)) if callspec is not None else None
        if case is not None:
            for mark in case_marks(case)[1:]:  # ``ws`` is already on the parameter
                item.add_marker(mark)


def case_id_of(item: pytest.Item) -> str | None:
    """The case (or client scenario) id an item runs, if it is one of ours."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        for param in (CASE_ID_PARAM, SCENARIO_ID_PARAM):
            if isinstance(callspec.params.get(param), str):
                return str(callspec.params[param])
    case = getattr(item, "case", None)
    return case.id if isinstance(case, Case) else None
