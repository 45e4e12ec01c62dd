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

    def test_client_whole(ws_client_check):  # a fixture: calling it fails the test on FAIL
        ws_client_check(["node", "adapter.js"], profile="whatwg")

FAIL and ERROR fail with the Requirement/Expected/Actual block, WARN passes with a
:class:`~conformance.pytest_support.WsConformanceWarning` attributed to the case (fails
with ``strict``) and shows as ``WARN`` with ``-v``, INFO passes and shows as ``INFO``,
UNSUPPORTED skips; WARN, INFO and UNSUPPORTED are listed with their reasons in a
``ws-conformance`` section of the terminal summary. A summary's
``ws-conformance::<case id>`` can be given back as an argument (it means ``--ws-id``).
``--ws-baseline PATH`` turns a baseline's known deviations into xfail (an improvement is
XPASS), so CI fails only on regressions.

This module is the ``pytest11`` entry point, loaded by every pytest run of every project
that installs the package, so it stays thin: it declares the ``--ws-*`` options, the
``ws`` marker and the fixtures, and imports the rest (:mod:`conformance.pytest_support`,
:mod:`conformance.pytest_items`) only when an option (or its ``ws_*`` ini value), a
fixture or one of the helpers (:data:`PUBLIC`, e.g. ``conformance_tests``) is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from .pytest_support import ClientCheck
    from .results import RunReport

IniType = Literal["string", "linelist", "bool"]
PUBLIC = frozenset(
    {
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
    }
)
"""The helpers of :mod:`conformance.pytest_support` also importable from this module."""
SUPPORT = "conformance.pytest_support"
REPORT = "conformance.pytest_report"
"""The baseline marking and the terminal summary section (imported when used)."""
ITEMS = "conformance.pytest_items"
ENABLED = pytest.StashKey[bool]()
"""Set when ``--ws-url``/``--ws-server-cmd`` (or its ini value) made this a case run."""
COLLECTOR = "ws-conformance"
"""The nodeid of the collector holding the case items: ``ws-conformance::<case id>``."""
NODE_PREFIX = COLLECTOR + "::"
SHOWN: dict[str, tuple[str, str, str]] = {
    "warn": ("W", "WARN", "yellow"),
    "info": ("I", "INFO", "cyan"),
    "unsupported": ("u", "UNSUPPORTED", "yellow"),
}
"""Outcomes that pytest would show as PASSED/SKIPPED: their letter, word and colour."""


def __getattr__(name: str) -> Any:
    """``from conformance.pytest_plugin import conformance_tests`` (and the other
    :data:`PUBLIC` helpers): imports :mod:`conformance.pytest_support` on first use."""
    if name in PUBLIC:
        return getattr(importlib.import_module(SUPPORT), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def ws_check() -> Callable[..., RunReport]:
    """``ws_check(url, cases="*", exclude=(), strict=False) -> RunReport``: see
    :func:`conformance.pytest_support.check_server`."""
    check: Callable[..., RunReport] = importlib.import_module(SUPPORT).check_server
    return check


@pytest.fixture
def ws_client_check() -> ClientCheck:
    """A fixture: call it, ``ws_client_check(adapter, profile="rfc6455-client",
    scenarios=(), ...) -> RunReport``, to play the client scenarios through an adapter; a
    FAIL or ERROR fails the test: see :class:`conformance.pytest_support.ClientCheck`."""
    check: ClientCheck = importlib.import_module(SUPPORT).ClientCheck()
    return check


@pytest.fixture(scope="session")
def ws_reference_server() -> Iterator[str]:
    """The URL of the built-in reference server, running in a background thread."""
    support = importlib.import_module(SUPPORT)
    reference = importlib.import_module("conformance.reference_server")
    with support.LoopThread("ws-reference-server") as thread:
        server = thread.run(reference.start_reference_server(), timeout=support.STOP_TIMEOUT)
        thread.enter(server)
        yield server.url


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
            "deadline of one case (default: wsconform run's --timeout)",
            "string",
        ),
        ("strict", {"action": "store_true", "default": None}, "a WARN fails its test", "bool"),
        ("profile", {"choices": ("default", "full")}, "case profile (default: default)", "string"),
        ("ca-file", {"metavar": "PEM"}, "CA certificates to trust for wss://", "string"),
        (
            "startup-timeout",
            {"metavar": "S"},
            "seconds --ws-server-cmd may take to accept (default: wsconform run's)",
            "string",
        ),
        (
            "id",
            {"action": "append", "metavar": "ID"},
            "run exactly this case, instead of --ws-cases/--ws-exclude (repeatable); "
            "an argument ws-conformance::ID, as the summary prints it, means the same",
            "linelist",
        ),
        (
            "baseline",
            {"metavar": "PATH"},
            "known deviations (a wsconform --json report, or a TOML/JSON file of case id -> "
            "accepted outcome and reason): those cases xfail, an improvement is XPASS",
            "string",
        ),
    ]
    for name, kwargs, help_text, ini_type in options:
        dest = "ws_" + name.replace("-", "_")
        group.addoption(f"--ws-{name}", dest=dest, help=help_text, **kwargs)
        parser.addini(dest, f"ws-conformance: {help_text}", type=ini_type)


def _given(config: pytest.Config, name: str) -> bool:
    value = config.getoption(name)
    return bool(config.getini(name) if value is None else value)


def take_node_ids(config: pytest.Config) -> list[str]:
    """Move the ``ws-conformance::<case id>`` arguments (pasted from a summary) from the
    paths pytest collects to ``--ws-id``; return them."""
    picked = [arg for arg in config.args if arg.startswith(NODE_PREFIX)]
    if picked:
        config.args[:] = [arg for arg in config.args if not arg.startswith(NODE_PREFIX)]
        ids = [arg.removeprefix(NODE_PREFIX) for arg in picked]
        config.option.ws_id = [*(config.option.ws_id or ()), *ids]
    return picked


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ws: a ws-conformance case")
    picked = take_node_ids(config)
    enabled = _given(config, "ws_url") or _given(config, "ws_server_cmd")
    config.stash[ENABLED] = enabled
    if picked and not enabled:
        raise pytest.UsageError(f"{picked[0]}: give --ws-url or --ws-server-cmd to run it")
    if _given(config, "ws_baseline"):
        importlib.import_module(REPORT).load_baseline(config)
    if enabled:
        importlib.import_module(ITEMS).configure(config)


def _case_param(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "ws_case_id" in callspec.params


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the case items and markers before ``-m``/``-k``/``--deselect`` filter the list."""
    if config.stash.get(ENABLED, False):
        importlib.import_module(ITEMS).add_case_items(session, items)
    if any(_case_param(item) for item in items):
        importlib.import_module(SUPPORT).mark_case_items(config, items)
    if _given(config, "ws_baseline"):
        importlib.import_module(REPORT).mark_baselined(config, items)


def pytest_report_teststatus(
    report: pytest.CollectReport | pytest.TestReport, config: pytest.Config
) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """``INFO``/``WARN``/``UNSUPPORTED`` instead of PASSED/SKIPPED (``-v``, ``-rA``)."""
    if getattr(report, "when", None) != "call" or "ws" not in report.keywords:
        return None
    if hasattr(report, "wasxfail") or not (report.passed or report.skipped):
        return None
    shown = SHOWN.get(str(dict(report.user_properties).get("outcome")))
    if shown is None:
        return None
    letter, word, colour = shown
    return report.outcome, letter, (word, {colour: True})


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """A ``ws-conformance`` section: the WARN, INFO and UNSUPPORTED cases with their
    reasons, and the comparison with ``--ws-baseline``."""
    reports = (r for kind in terminalreporter.stats.values() for r in kind)
    if any("ws" in getattr(report, "keywords", ()) for report in reports):
        importlib.import_module(REPORT).terminal_summary(terminalreporter)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Start and check the target once, before the first item; a clean error if it fails."""
    config = session.config
    if config.stash.get(ENABLED, False) and not config.option.collectonly:
        importlib.import_module(ITEMS).start_target(session)
