"""pytest plugin: the conformance cases as pytest items, and fixtures to check your own server.

From the command line (one item per case, named by its id)::

    pytest --ws-url ws://127.0.0.1:9001/ --ws-cases 'rfc6455/4.2.*' -m ws_must
    pytest --ws-server-cmd 'myserver --port {port}' --junitxml=ws.xml

Inside a project's own test suite, with no option::

    from conformance.pytest_plugin import conformance_tests

    test_ws = conformance_tests("rfc6455/4.2.*")  # requests the fixture ``ws_server_url``

    def test_whole_suite(ws_check, ws_server_url):
        ws_check(ws_server_url, exclude=["rfc6455/4.2.2/foreign-origin"])

A project's own WebSocket *client*, through a JSON-lines adapter (docs/client-adapters.md)::

    from conformance.pytest_plugin import client_conformance_tests

    test_client = client_conformance_tests(profile="rfc6455-client")  # fixture ws_client_adapter

    def test_client_whole(ws_client_check):
        ws_client_check(["node", "adapter.js"], profile="whatwg")

FAIL and ERROR fail with the Requirement/Expected/Actual block, WARN passes with a
:class:`WsConformanceWarning` (fails with ``strict``), INFO passes, UNSUPPORTED skips.
The plugin does nothing unless ``--ws-url``/``--ws-server-cmd`` (or ``ws_url``/
``ws_server_cmd`` in the ini file) is given or one of its helpers is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shlex
import ssl
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

import pytest

from .cases.base import Case
from .catalog import load_catalog
from .driver import ConfigError, Target, Unreachable
from .model.outcomes import Level, Outcome
from .reports.json_report import case_to_json
from .reports.terminal import render_failures, summary_line
from .results import CaseResult, RunReport
from .runner import DEFAULT_TIMEOUT, check_reachable, reproduce_command, run_case, run_suite
from .runner import select_cases as _select
from .server_process import STARTUP_TIMEOUT, ServerCommand, ServerCommandFailed

__all__ = [
    "LoopThread",
    "WsConformanceWarning",
    "check_server",
    "conformance_tests",
    "ws_conformance_cases",
]

T = TypeVar("T")
IniType = Literal["string", "linelist", "bool"]
COLLECTOR = "ws-conformance"
"""The nodeid of the collector holding the items: ``ws-conformance::<case id>``."""
STOP_TIMEOUT = 15.0


class WsConformanceWarning(UserWarning):
    """A SHOULD-level case did not pass (outcome WARN)."""


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


def _patterns(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def ws_conformance_cases(
    patterns: str | Sequence[str] = "*",
    exclude: str | Sequence[str] = (),
    *,
    profile: str = "default",
) -> list[Case]:
    """The server cases whose id matches a glob (or prefix) of ``patterns`` and none of
    ``exclude``; ``ValueError`` if none does."""
    cases = _select(_patterns(patterns), _patterns(exclude), profile=profile)
    if not cases:
        raise ValueError(f"no ws-conformance case matches {patterns!r} (exclude {exclude!r})")
    return cases


def section_marker(case: Case) -> str:
    """``ws_rfc6455_4_2_1`` for ``rfc6455/4.2.1/…``."""
    return re.sub(r"\W", "_", f"ws_{case.spec}_{case.section}")


def _marks(case: Case) -> list[pytest.MarkDecorator]:
    names = ("ws", f"ws_{case.level.value.lower()}", section_marker(case))
    return [cast(pytest.MarkDecorator, getattr(pytest.mark, name)) for name in names]


def _properties(result: CaseResult) -> list[tuple[str, object]]:
    """The JSON report's fields of ``result``, as JUnit-friendly ``user_properties``."""
    return [
        (key, value if isinstance(value, str | int | float) else json.dumps(value))
        for key, value in case_to_json(result).items()
    ]


def _block(result: CaseResult, target_url: str) -> str:
    report = RunReport(target_url=target_url, results=[result])
    return render_failures(report, load_catalog(), color=False).rstrip("\n")


def enforce(result: CaseResult, target_url: str, *, strict: bool = False) -> None:
    """Map a verdict onto pytest: fail (FAIL, ERROR, WARN if strict), warn, skip or pass."""
    __tracebackhide__ = True
    outcome = result.outcome
    if outcome in (Outcome.FAIL, Outcome.ERROR) or (outcome is Outcome.WARN and strict):
        pytest.fail(_block(result, target_url), pytrace=False)
    elif outcome is Outcome.WARN:
        warnings.warn(WsConformanceWarning(f"{result.id}: {result.actual}"), stacklevel=2)
    elif outcome is Outcome.UNSUPPORTED:
        pytest.skip(f"{result.id}: unsupported: {result.actual}")


def _run_one(case: Case, target: Target, timeout: float, reproduce: str) -> CaseResult:
    return asyncio.run(run_case(case, target, timeout=timeout, reproduce=reproduce))


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
    by_id = {case.id: case for case in ws_conformance_cases(cases, exclude, profile=profile)}
    params = [pytest.param(cid, id=cid, marks=_marks(case)) for cid, case in by_id.items()]

    @pytest.mark.parametrize("ws_case_id", params)
    def test_ws_conformance(ws_case_id: str, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        url = request.getfixturevalue(fixture)
        if not isinstance(url, str):
            raise TypeError(f"fixture {fixture!r} must give a ws:// URL string, not {url!r}")
        result = _run_one(
            by_id[ws_case_id], Target.parse(url), timeout, reproduce_command((url,), ws_case_id)
        )
        request.node.user_properties.extend(_properties(result))
        enforce(result, url, strict=strict)

    return test_ws_conformance


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
    if report.failed:
        text = render_failures(report, load_catalog(), color=False)
        raise AssertionError(f"{text}\n{summary_line(report)}")
    return report


@pytest.fixture
def ws_check() -> Callable[..., RunReport]:
    """``ws_check(url, cases="*", exclude=(), strict=False) -> RunReport``: see
    :func:`check_server`."""
    return check_server


def check_client(
    adapter: str | Sequence[str],
    profile: str = "rfc6455-client",
    scenarios: str | Sequence[str] = (),
    exclude: str | Sequence[str] = (),
    strict: bool = False,
    *,
    timeout: float = 5.0,
) -> RunReport:
    """Play the client scenarios through a JSON-lines ``adapter`` (docs/client-adapters.md);
    ``AssertionError`` with the failure blocks if the run failed. The scenarios that need a
    loopback-only network namespace (unresolvable, unroutable) are left out outside one."""
    __tracebackhide__ = True
    from .clients.harness import AdapterFailed
    from .clients.runner import run_client_suite, runnable_here, select_scenarios

    if profile not in ("whatwg", "rfc6455-client"):
        raise ValueError(f"profile must be 'whatwg' or 'rfc6455-client', not {profile!r}")
    chosen = runnable_here(
        select_scenarios(profile, _patterns(scenarios), _patterns(exclude))  # type: ignore[arg-type]
    )
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
            )
        )
    except AdapterFailed as exc:
        raise AssertionError(f"ws-conformance: the adapter did not start: {exc}") from None
    if report.failed:
        text = render_failures(report, load_catalog(), color=False)
        raise AssertionError(f"{text}\n{summary_line(report)}")
    return report


def client_conformance_tests(
    scenarios: str | Sequence[str] = (),
    *,
    exclude: str | Sequence[str] = (),
    profile: str = "rfc6455-client",
    fixture: str = "ws_client_adapter",
    strict: bool = False,
    timeout: float = 5.0,
) -> Callable[..., None]:
    """A test function parametrized over the client scenarios of ``profile``.

    Each test requests ``fixture``: the adapter command (a shell string or an argv list,
    docs/client-adapters.md) of the project's client, and plays its one scenario.
    Assign it to a ``test_*`` name in a test module.
    """
    from .clients.runner import runnable_here, select_scenarios

    chosen = runnable_here(
        select_scenarios(profile, _patterns(scenarios), _patterns(exclude))  # type: ignore[arg-type]
    )

    @pytest.mark.parametrize("ws_scenario_id", [pytest.param(s.id, id=s.id) for s in chosen])
    def test_ws_client_conformance(ws_scenario_id: str, request: pytest.FixtureRequest) -> None:
        __tracebackhide__ = True
        from .clients.harness import AdapterFailed
        from .clients.runner import run_client_suite

        adapter = request.getfixturevalue(fixture)
        one = [s for s in chosen if s.id == ws_scenario_id]
        try:
            report = asyncio.run(
                run_client_suite(adapter, one, profile, label="adapter", timeout=timeout)  # type: ignore[arg-type]
            )
        except AdapterFailed as exc:
            pytest.fail(f"ws-conformance: the adapter did not start: {exc}", pytrace=False)
        result = report.results[0]
        request.node.user_properties.extend(_properties(result))
        enforce(result, report.target_url, strict=strict)

    return test_ws_client_conformance


@pytest.fixture
def ws_client_check() -> Callable[..., RunReport]:
    """``ws_client_check(adapter, profile="rfc6455-client", scenarios=(), ...) -> RunReport``:
    see :func:`check_client`."""
    return check_client


@pytest.fixture(scope="session")
def ws_reference_server() -> Iterator[str]:
    """The URL of the built-in reference server, running in a background thread."""
    from .reference_server import start_reference_server

    with LoopThread("ws-reference-server") as thread:
        server = thread.run(start_reference_server(), timeout=STOP_TIMEOUT)
        thread.enter(server)
        yield server.url


# --- command-line items --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    """The ``--ws-*`` options, falling back to the ``ws_*`` ini values."""

    url: str
    server_cmd: str
    path: str
    cases: tuple[str, ...]
    exclude: tuple[str, ...]
    timeout: float
    strict: bool
    profile: str
    ca_file: str
    startup_timeout: float

    @property
    def enabled(self) -> bool:
        return bool(self.url or self.server_cmd)

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        def get(name: str) -> Any:
            value = config.getoption(f"ws_{name}")
            return config.getini(f"ws_{name}") if value is None else value

        def number(name: str, default: float) -> float:
            raw, option = get(name), f"--ws-{name.replace('_', '-')}"
            try:
                value = float(raw) if raw not in (None, "") else default
            except ValueError:
                raise pytest.UsageError(f"{option}: not a number: {raw!r}") from None
            if value <= 0:
                raise pytest.UsageError(f"{option} must be positive")
            return value

        profile = get("profile") or "default"
        if profile not in ("default", "full"):
            raise pytest.UsageError(f"--ws-profile must be default or full, not {profile!r}")
        return cls(
            url=get("url") or "",
            server_cmd=get("server_cmd") or "",
            path=get("path") or "/",
            cases=tuple(get("cases") or ()),
            exclude=tuple(get("exclude") or ()),
            timeout=number("timeout", DEFAULT_TIMEOUT),
            strict=bool(get("strict")),
            profile=profile,
            ca_file=get("ca_file") or "",
            startup_timeout=number("startup_timeout", STARTUP_TIMEOUT),
        )


class SessionTarget:
    """The target of the command-line items: parsed or started once, checked once."""

    def __init__(self, settings: Settings, cases: list[Case]) -> None:
        self.settings = settings
        self.cases = cases
        self.target: Target | None = None
        self.error: str | None = None
        self._thread: LoopThread | None = None
        self._url_target = self._parse_url() if settings.url else None
        if settings.server_cmd:
            self.target_args = ["--server-cmd", settings.server_cmd]
            if settings.path != "/":
                self.target_args += ["--path", settings.path]
        else:
            self.target_args = [settings.url]

    def _ssl(self) -> ssl.SSLContext | None:
        from .cli.common import UsageError, ssl_context

        try:
            return ssl_context(self.settings.ca_file or None)
        except UsageError as exc:
            raise pytest.UsageError(f"--ws-ca-file: {exc}") from None

    def _parse_url(self) -> Target:
        try:
            return Target.parse(self.settings.url, self._ssl())
        except ConfigError as exc:
            raise pytest.UsageError(f"--ws-url: {exc}") from None

    def _open(self) -> Target:
        settings = self.settings
        if self._url_target is not None:
            return self._url_target
        try:
            command = ServerCommand(settings.server_cmd, startup_timeout=settings.startup_timeout)
        except ValueError as exc:
            raise pytest.UsageError(f"--ws-server-cmd: {exc}") from None
        self._thread = LoopThread("ws-conformance-server")
        try:
            server = self._thread.enter(command, timeout=settings.startup_timeout + STOP_TIMEOUT)
        except (ServerCommandFailed, TimeoutError) as exc:
            reason = str(exc) or "the server command did not start in time"
            raise pytest.UsageError(f"ws-conformance: {reason}") from None
        return Target.parse(f"ws://{server.host}:{server.port}{settings.path}")

    def start(self) -> Target:
        """The target, started and checked on the first call; ``UsageError`` if unusable."""
        if self.target is None and self.error is None:
            try:
                target = self._open()
            except pytest.UsageError as exc:
                self.error = str(exc)
            else:
                try:
                    asyncio.run(check_reachable(target, self.settings.timeout))
                    self.target = target
                except Unreachable as exc:
                    self.error = f"ws-conformance: {target.url} is unreachable: {exc}"
        if self.target is None:
            self.stop()
            raise pytest.UsageError(self.error)
        return self.target

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.close()

    def run(self, case: Case) -> CaseResult:
        try:
            target = self.start()
        except pytest.UsageError as exc:
            pytest.fail(str(exc), pytrace=False)
        reproduce = reproduce_command(self.target_args, case.id)
        return _run_one(case, target, self.settings.timeout, reproduce)


_STATE = pytest.StashKey[SessionTarget]()


class WsCaseItem(pytest.Item):
    """One conformance case run against the session's target."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        for mark in _marks(case):
            self.add_marker(mark)

    def runtest(self) -> None:
        state = self.config.stash[_STATE]
        result = state.run(self.case)
        self.user_properties.extend(_properties(result))
        enforce(result, shlex.join(state.target_args), strict=state.settings.strict)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        # Not the bare id: pytest would show the dots of "4.2.1" as "::" in -v lines.
        return self.path, None, f"{self.case.id} ({self.case.level.value})"


class WsConformanceCollector(pytest.Collector):
    """The selected cases, as :class:`WsCaseItem` children."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        state = self.config.stash[_STATE]
        return [WsCaseItem.from_parent(self, name=case.id, case=case) for case in state.cases]


# --- hooks ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ws-conformance", "WebSocket conformance cases (ws-conformance)")
    options: list[tuple[str, dict[str, Any], str, IniType]] = [
        ("url", {"metavar": "URL"}, "ws:// or wss:// URL of the server to test", "string"),
        (
            "server-cmd",
            {"metavar": "CMD"},
            "command starting the server to test; {port} is replaced by a free port",
            "string",
        ),
        (
            "path",
            {"metavar": "PATH"},
            "resource name used with --ws-server-cmd (default /)",
            "string",
        ),
        (
            "cases",
            {"action": "append", "metavar": "GLOB"},
            "only cases whose id matches (repeatable; a prefix works too)",
            "linelist",
        ),
        ("exclude", {"action": "append", "metavar": "GLOB"}, "skip matching cases", "linelist"),
        (
            "timeout",
            {"metavar": "S"},
            f"deadline of one case (default {DEFAULT_TIMEOUT:g})",
            "string",
        ),
        ("strict", {"action": "store_true", "default": None}, "a WARN fails its test", "bool"),
        ("profile", {"choices": ("default", "full")}, "case profile (default: default)", "string"),
        ("ca-file", {"metavar": "PEM"}, "CA certificates to trust for wss://", "string"),
        (
            "startup-timeout",
            {"metavar": "S"},
            f"seconds --ws-server-cmd may take to accept (default {STARTUP_TIMEOUT:g})",
            "string",
        ),
    ]
    for name, kwargs, help_text, ini_type in options:
        dest = "ws_" + name.replace("-", "_")
        group.addoption(f"--ws-{name}", dest=dest, help=help_text, **kwargs)
        parser.addini(dest, f"ws-conformance: {help_text}", type=ini_type)


def pytest_configure(config: pytest.Config) -> None:
    lines = ["ws: a ws-conformance case"]
    lines += [
        f"ws_{level.value.lower()}: a ws-conformance case of a {level.value} requirement"
        for level in Level
    ]
    sections = {section_marker(case): case for case in _select(profile="full")}
    lines += [
        f"{name}: ws-conformance cases of {case.spec} §{case.section}"
        for name, case in sections.items()
    ]
    for line in lines:
        config.addinivalue_line("markers", line)
    settings = Settings.from_config(config)
    if not settings.enabled:
        return
    if settings.url and settings.server_cmd:
        raise pytest.UsageError("give --ws-url or --ws-server-cmd, not both")
    cases = _select(settings.cases, settings.exclude, profile=settings.profile)
    if not cases:
        raise pytest.UsageError("no ws-conformance case matches --ws-cases/--ws-exclude")
    state = SessionTarget(settings, cases)
    config.stash[_STATE] = state
    config.add_cleanup(state.stop)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Append the case items before ``-m``/``-k``/``--deselect`` filter the list."""
    if _STATE in config.stash:
        collector = WsConformanceCollector.from_parent(session, name=COLLECTOR, nodeid=COLLECTOR)
        items.extend(session.genitems(collector))


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Start and check the target once, before the first item; a clean error if it fails."""
    config = session.config
    if _STATE not in config.stash or config.option.collectonly:
        return
    if session.testsfailed and not config.option.continue_on_collection_errors:
        return
    if any(isinstance(item, WsCaseItem) for item in session.items):
        config.stash[_STATE].start()
