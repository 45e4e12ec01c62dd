"""What every ``wsconform`` subcommand shares: exit codes, errors, progress, reports,
and opening the target named by typed options.

Exit codes: 0 no FAIL or ERROR (and no WARN with ``--strict``); 1 at least one of
them; 2 usage or configuration error; 3 target unreachable or server command failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import ssl
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from .. import tls
from ..catalog import Catalog
from ..driver import HTTP1, HTTP2, ConfigError, Target
from ..model.verdict import Outcome
from ..reference_server import start_reference_server
from ..reference_server_h2 import start_h2_reference_server
from ..reports import html as html_report
from ..reports import json_report, junit, markdown, terminal
from ..results import CaseResult, RunReport
from ..runner import DEFAULT_TIMEOUT, FULL_PROFILE_TIMEOUT, default_timeout
from ..server_process import ServerCommand, ServerCommandFailed
from ..tls import make_tls_files
from ..transports.h2 import offer_h2

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

PROFILES = ("default", "full", "security")
"""``--profile`` choices, the default first."""
DEFAULT_JOBS = 4
DEFAULT_PATH = "/"
DEFAULT_STARTUP_TIMEOUT = 30.0

PROGRESS_MARK = {
    Outcome.PASS: ".",
    Outcome.FAIL: "F",
    Outcome.WARN: "W",
    Outcome.INFO: "i",
    Outcome.UNSUPPORTED: "u",
    Outcome.ERROR: "E",
}


class UsageError(Exception):
    """Bad command-line input: exit 2 with a one-line message."""


class TargetError(Exception):
    """The target cannot be reached or started: exit 3 with a one-line message."""


@dataclass(frozen=True, slots=True)
class TargetOptions:
    """Which server to test: a URL, a command to start, or (neither) the built-in one."""

    url: str | None = None
    server_cmd: str | None = None
    path: str = DEFAULT_PATH
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    ca_file: str | None = None
    tls: bool = False
    transport: str = HTTP1
    """``--transport`` of ``wsconform run``: h1, or h2 (RFC 8441: h2c on ws://, ALPN h2
    on wss://)."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TargetOptions:
        return cls(
            url=args.url,
            server_cmd=args.server_cmd,
            path=args.path,
            startup_timeout=args.startup_timeout,
            ca_file=args.ca_file,
            tls=args.tls,
        )


def check_output_path(option: str, path: str | None) -> None:
    """UsageError unless ``path`` can be written: checked before a run, no directory made."""
    if not path:
        return
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a directory")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        raise UsageError(f"{option} {path}: not writable")


@dataclass(frozen=True, slots=True)
class ReportPaths:
    """Where to write the report files (``None``: not that format)."""

    json: str | None = None
    junit: str | None = None
    markdown: str | None = None
    html: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReportPaths:
        return cls(json=args.json, junit=args.junit, markdown=args.markdown, html=args.html)

    def check(self) -> None:
        """Each path writable (:func:`check_output_path`), before any case runs."""
        for option, path in (
            ("--json", self.json),
            ("--junit", self.junit),
            ("--markdown", self.markdown),
            ("--html", self.html),
        ):
            check_output_path(option, path)


@dataclass(frozen=True, slots=True)
class RunningTarget:
    target: Target
    reproduce_args: tuple[str, ...]  # how to name this target again on the command line


def unchecked_ssl_context(ca_file: str | None) -> ssl.SSLContext | None:
    """:func:`conformance.tls.trust_context`, an unusable file a usage error."""
    try:
        return tls.trust_context(ca_file)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def ssl_context(ca_file: str | None) -> ssl.SSLContext | None:
    """:func:`conformance.tls.checked_trust_context`, an unusable file a usage error."""
    try:
        return tls.checked_trust_context(ca_file)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


@asynccontextmanager
async def open_target(options: TargetOptions) -> AsyncIterator[RunningTarget]:
    """The target the options name, started if it is a command or the default.

    With ``tls`` the suite makes a throw-away CA and a loopback certificate, gives
    them to the server it starts (``{cert}``/``{key}`` in ``--server-cmd``, or the
    built-in server) and trusts that CA for ``wss://``. With ``transport`` h2 the target
    is reached over HTTP/2 (TLS offering only ALPN ``h2``) and the built-in server is the
    HTTP/2 reference server.
    """
    url, server_cmd, use_tls = options.url, options.server_cmd, options.tls
    if url and server_cmd:
        raise UsageError("give a URL or --server-cmd, not both")
    if url and use_tls:
        raise UsageError(
            "--tls makes certificates for a server the suite starts; "
            "for a running wss:// server use --ca-file"
        )
    h2 = options.transport == HTTP2
    with contextlib.ExitStack() as stack:
        tls = (
            make_tls_files(Path(stack.enter_context(tempfile.TemporaryDirectory())))
            if use_tls
            else None
        )
        scheme = "wss" if tls else "ws"
        client_ssl = tls.client_context() if tls else None
        if h2 and client_ssl is not None:
            offer_h2(client_ssl)
        carried = HTTP2 if h2 else HTTP1
        if url:
            trust = ssl_context(options.ca_file)
            if h2:  # wss://: HTTP/2 by ALPN (RFC 9113 §3.2)
                trust = offer_h2(trust or ssl.create_default_context())
            try:
                target = Target.parse(url, trust)
            except ConfigError as exc:
                raise UsageError(str(exc)) from None
            yield RunningTarget(replace(target, transport=carried), (url,))
        elif server_cmd:
            try:
                command = ServerCommand(
                    server_cmd,
                    startup_timeout=options.startup_timeout,
                    cert=tls.cert if tls else None,
                    key=tls.key if tls else None,
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            named = ("--server-cmd", server_cmd, *(("--tls",) if tls else ()))
            try:
                async with command as server:
                    where = f"{scheme}://{server.host}:{server.port}{options.path}"
                    target = replace(Target.parse(where, client_ssl), transport=carried)
                    yield RunningTarget(target, named)
            except ServerCommandFailed as exc:
                raise TargetError(str(exc)) from None
        else:
            server_ssl = tls.server_context() if tls else None
            start = start_h2_reference_server if h2 else start_reference_server
            async with await start(ssl=server_ssl) as server:
                target = replace(Target.parse(server.url, client_ssl), transport=carried)
                yield RunningTarget(target, ("--tls",) if tls else ())


class ProgressMarks:
    """One mark per finished case on stderr, pytest style, with a running count."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled

    def __call__(self, result: CaseResult) -> None:
        self.done += 1
        if not self.enabled:
            return
        sys.stderr.write(PROGRESS_MARK[result.outcome])
        if self.done % 60 == 0 or self.done == self.total:
            sys.stderr.write(f" [{self.done}/{self.total}]\n")
        sys.stderr.flush()


def use_color(no_color: bool) -> bool:
    """ANSI colours: on a terminal, unless ``--no-color`` or ``NO_COLOR`` is set."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def write_reports(paths: ReportPaths, report: RunReport, catalog: Catalog) -> None:
    """Write each report format that has a path; UsageError if one cannot be written."""
    outputs = (
        (paths.json, lambda p: json_report.write_json(report, p)),
        (paths.junit, lambda p: junit.write_junit(report, p)),
        (paths.markdown, lambda p: Path(p).write_text(markdown.render_markdown(report, catalog))),
        (paths.html, lambda p: Path(p).write_text(html_report.render_html(report, catalog))),
    )
    for path, write in outputs:
        if path:
            try:
                write(path)
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def output_width() -> int:
    """Columns of the terminal on stdout (``COLUMNS`` wins), else :data:`terminal.WIDTH`."""
    return shutil.get_terminal_size((terminal.WIDTH, 24)).columns


def conclude(
    report: RunReport,
    catalog: Catalog,
    paths: ReportPaths,
    *,
    quiet: bool,
    no_color: bool,
    verbose: bool = False,
) -> int:
    """Reports first (a closed stdout must not lose them), then what was tested, the
    cases that did not pass (one line each, or with ``verbose`` their evidence) and the
    summary; ``quiet``: the failing ids and the summary only."""
    write_reports(paths, report, catalog)
    detail = (
        terminal.Detail.QUIET
        if quiet
        else terminal.Detail.EVIDENCE
        if verbose
        else terminal.Detail.LIST
    )
    text = terminal.render_run(
        report,
        catalog,
        detail=detail,
        color=use_color(no_color),
        width=output_width(),
    )
    sys.stdout.write(text)
    return EXIT_FAILED if report.failed else EXIT_OK


TIMEOUT_HELP = (
    f"deadline of one case in seconds (default {DEFAULT_TIMEOUT:g}; "
    f"{FULL_PROFILE_TIMEOUT:g} with --profile full)"
)


PLAIN_TIMEOUT_HELP = f"deadline of one case in seconds (default {DEFAULT_TIMEOUT:g})"


def case_timeout(timeout: float | None, profile: str) -> float:
    """``--timeout`` as given, else the profile's default (:func:`runner.default_timeout`)."""
    return default_timeout(profile) if timeout is None else timeout


def add_output_arguments(parser: argparse.ArgumentParser, unit: str) -> None:
    """The report paths and how much the terminal shows (``-q``, ``-v``) of a run of
    ``unit`` (a case, a scenario); every report path is checked before the run."""
    parser.add_argument("--json", metavar="PATH", help="write the JSON report")
    parser.add_argument("--junit", metavar="PATH", help="write JUnit XML")
    parser.add_argument("--markdown", metavar="PATH", help="write a Markdown report")
    parser.add_argument("--html", metavar="PATH", help="write a self-contained HTML report")
    detail = parser.add_mutually_exclusive_group()
    detail.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress and no header: the ids that FAIL, ERROR or WARN, then the summary",
    )
    detail.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help=f"the full evidence of each {unit} that did not pass: requirement quotes, "
        "Expected, Actual, the bytes (HTTP heads as text), Reproduce",
    )


def add_target_arguments(
    parser: argparse.ArgumentParser, *, jobs: bool = True, profile: bool = True
) -> None:
    """The options naming a target, and the per-case deadline, parallelism and profile.

    A subcommand that runs one case (or picks its own cases) leaves out ``--jobs`` or
    ``--profile`` with ``jobs=False``/``profile=False``, so it offers nothing that means
    nothing to it. Every help text names the default of an option that has one.
    """
    parser.add_argument(
        "url",
        nargs="?",
        help="ws:// or wss:// URL of a running server (default: the built-in reference server)",
    )
    parser.add_argument(
        "--server-cmd",
        metavar="CMD",
        help="command that starts the server; {port} is replaced by a free port "
        "(default: none, the URL or the built-in reference server)",
    )
    parser.add_argument(
        "--path",
        default=DEFAULT_PATH,
        help=f"resource name used with --server-cmd (default {DEFAULT_PATH})",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=DEFAULT_STARTUP_TIMEOUT,
        metavar="S",
        help="seconds --server-cmd may take to accept connections "
        f"(default {DEFAULT_STARTUP_TIMEOUT:g})",
    )
    parser.add_argument(
        "--ca-file",
        metavar="PEM",
        help="CA certificates to trust for wss:// (default: the system's trust store)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="run the started server over wss:// with a generated CA and "
        "certificate ({cert} and {key} in --server-cmd)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None if profile else DEFAULT_TIMEOUT,
        metavar="S",
        help=TIMEOUT_HELP
        if profile
        else f"deadline of one case in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    if jobs:
        parser.add_argument(
            "--jobs",
            type=int,
            default=DEFAULT_JOBS,
            metavar="N",
            help=f"cases run in parallel, one connection each (default {DEFAULT_JOBS})",
        )
    if profile:
        parser.add_argument(
            "--profile",
            choices=PROFILES,
            default=PROFILES[0],
            help=f"which cases: {PROFILES[0]}, full to add the size limits, or security "
            f"for the security checks alone (default {PROFILES[0]})",
        )
    parser.add_argument(
        "--no-color",
        action="store_true",
        help="no ANSI colours (default: colours on a terminal unless NO_COLOR is set)",
    )
