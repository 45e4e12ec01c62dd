"""The ``--ws-url``/``--ws-server-cmd`` run of the pytest plugin: one item per case.

:mod:`conformance.pytest_plugin` imports this module only when one of those options
(or its ini value) is given.
"""

from __future__ import annotations

import asyncio
import shlex
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from .cases.base import Case
from .driver import ConfigError, Target, Unreachable
from .pytest_plugin import COLLECTOR, NODE_PREFIX
from .pytest_support import (
    STOP_TIMEOUT,
    LoopThread,
    case_location,
    case_marks,
    judge_item,
    register_markers,
    run_one,
)
from .results import CaseResult, reproduce_command
from .runner import DEFAULT_TIMEOUT, check_reachable, select_cases
from .server_process import STARTUP_TIMEOUT, ServerCommand, ServerCommandFailed
from .session.context import PeerFacts
from .tls import checked_trust_context


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
    ids: tuple[str, ...] = ()

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
            ids=tuple(dict.fromkeys(get("id") or ())),
        )


class SessionTarget:
    """The target of the command-line items: parsed or started once, checked once."""

    def __init__(self, settings: Settings, cases: list[Case]) -> None:
        self.settings = settings
        self.cases = cases
        self.target: Target | None = None
        self.error: str | None = None
        self.facts: PeerFacts | None = None
        """What the preflight learned (which barrier the server serves), once started."""
        self._thread: LoopThread | None = None
        self._url_target = self._parse_url() if settings.url else None
        if settings.server_cmd:
            self.target_args = ["--server-cmd", settings.server_cmd]
            if settings.path != "/":
                self.target_args += ["--path", settings.path]
        else:
            self.target_args = [settings.url]

    def _ssl(self) -> ssl.SSLContext | None:
        try:
            return checked_trust_context(self.settings.ca_file or None)
        except ConfigError as exc:
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
                    found = asyncio.run(check_reachable(target, self.settings.timeout))
                    self.target, self.facts = target, found.facts
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
        return run_one(case, target, self.settings.timeout, reproduce, self.facts)


SESSION = pytest.StashKey[SessionTarget]()
"""Where the session's :class:`SessionTarget` is kept (set by :func:`configure`)."""


class WsCaseItem(pytest.Item):
    """One conformance case run against the session's target."""

    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        for mark in case_marks(case):
            self.add_marker(mark)

    def runtest(self) -> None:
        state = self.config.stash[SESSION]
        result = state.run(self.case)
        judge_item(self, result, shlex.join(state.target_args), strict=state.settings.strict)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """The case's code (where its WARN warnings point); not the bare id as the domain:
        pytest would show the dots of "4.2.1" as "::" in -v lines."""
        path, lineno = case_location(self.case)
        return path, lineno, f"{self.case.id} ({self.case.level.value})"


class WsConformanceCollector(pytest.Collector):
    """The selected cases, as :class:`WsCaseItem` children."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        state = self.config.stash[SESSION]
        return [WsCaseItem.from_parent(self, name=case.id, case=case) for case in state.cases]


def cases_by_id(ids: Sequence[str]) -> list[Case]:
    """The cases named exactly (``--ws-id``, or a pasted ``ws-conformance::<id>``), of any
    profile, in the suite's order; ``UsageError`` naming the first unknown id."""
    known = {case.id: case for case in select_cases(profile="full")}
    unknown = [case_id for case_id in ids if case_id not in known]
    if unknown:
        raise pytest.UsageError(
            f"not found: {NODE_PREFIX}{unknown[0]} (no such case; `wsconform cases` lists them)"
        )
    return [case for case_id, case in known.items() if case_id in ids]


def configure(config: pytest.Config) -> None:
    """Check the options, declare the markers and keep the session's target and cases."""
    register_markers(config)
    settings = Settings.from_config(config)
    if settings.url and settings.server_cmd:
        raise pytest.UsageError("give --ws-url or --ws-server-cmd, not both")
    if settings.ids:
        cases = cases_by_id(settings.ids)
    else:
        cases = select_cases(settings.cases, settings.exclude, profile=settings.profile)
    if not cases:
        raise pytest.UsageError("no ws-conformance case matches --ws-cases/--ws-exclude")
    state = SessionTarget(settings, cases)
    config.stash[SESSION] = state
    config.add_cleanup(state.stop)


def add_case_items(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Append the case items (before ``-m``/``-k``/``--deselect`` filter the list)."""
    collector = WsConformanceCollector.from_parent(session, name=COLLECTOR, nodeid=COLLECTOR)
    items.extend(session.genitems(collector))


def start_target(session: pytest.Session) -> None:
    """Start and check the target once, before the first item; a clean error if it fails."""
    config = session.config
    if session.testsfailed and not config.option.continue_on_collection_errors:
        return
    if any(isinstance(item, WsCaseItem) for item in session.items):
        config.stash[SESSION].start()
