"""``wsconform``: run the suite, list requirements and coverage, explain a case.

Exit codes: 0 no FAIL or ERROR (and no WARN with ``--strict``); 1 at least one of
them; 2 usage or configuration error; 3 target unreachable or server command failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from . import __version__
from .cases import all_cases
from .cases.base import Case
from .catalog import Catalog, Requirement, load_catalog
from .driver import ConfigError, Segmentation, Target, Unreachable
from .model.outcomes import Outcome
from .reports import html as html_report
from .reports import json_report, junit, markdown, terminal
from .results import CaseResult, RunReport
from .runner import DEFAULT_TIMEOUT, run_suite, select_cases
from .server_process import ServerCommand, ServerCommandFailed
from .tls import make_tls_files

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

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
class RunningTarget:
    target: Target
    reproduce_args: tuple[str, ...]  # how to name this target again on the command line


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    ca_file = getattr(args, "ca_file", None)
    if ca_file is None:
        return None
    if not Path(ca_file).is_file():
        raise UsageError(f"--ca-file {ca_file!r} is not a readable file")
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise UsageError(f"--ca-file {ca_file!r} is not a PEM CA bundle: {exc}") from None


@asynccontextmanager
async def open_target(args: argparse.Namespace) -> AsyncIterator[RunningTarget]:
    """The target named on the command line, started if it is a command or the default.

    With ``--tls`` the suite makes a throw-away CA and a loopback certificate, gives
    them to the server it starts (``{cert}``/``{key}`` in ``--server-cmd``, or the
    built-in server) and trusts that CA for ``wss://``.
    """
    url: str | None = args.url
    server_cmd: str | None = args.server_cmd
    use_tls: bool = getattr(args, "tls", False)
    if url and server_cmd:
        raise UsageError("give a URL or --server-cmd, not both")
    if url and use_tls:
        raise UsageError(
            "--tls makes certificates for a server the suite starts; "
            "for a running wss:// server use --ca-file"
        )
    with contextlib.ExitStack() as stack:
        tls = (
            make_tls_files(Path(stack.enter_context(tempfile.TemporaryDirectory())))
            if use_tls
            else None
        )
        scheme = "wss" if tls else "ws"
        client_ssl = tls.client_context() if tls else None
        if url:
            try:
                target = Target.parse(url, _ssl_context(args))
            except ConfigError as exc:
                raise UsageError(str(exc)) from None
            yield RunningTarget(target, (url,))
        elif server_cmd:
            try:
                command = ServerCommand(
                    server_cmd,
                    startup_timeout=args.startup_timeout,
                    cert=tls.cert if tls else None,
                    key=tls.key if tls else None,
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            named = ("--server-cmd", server_cmd, *(("--tls",) if tls else ()))
            try:
                async with command as server:
                    where = f"{scheme}://{server.host}:{server.port}{args.path}"
                    yield RunningTarget(Target.parse(where, client_ssl), named)
            except ServerCommandFailed as exc:
                raise TargetError(str(exc)) from None
        else:
            from .reference_server import start_reference_server

            server_ssl = tls.server_context() if tls else None
            async with await start_reference_server(ssl=server_ssl) as server:
                yield RunningTarget(Target.parse(server.url, client_ssl), ("--tls",) if tls else ())


class Progress:
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


def _cases_for(args: argparse.Namespace) -> list[Case]:
    cases = select_cases(args.cases or (), args.exclude or (), profile=args.profile)
    if not cases:
        raise UsageError("no case matches the --cases/--exclude patterns (see 'wsconform cases')")
    return cases


def _segmentation(args: argparse.Namespace) -> Segmentation | None:
    text: str | None = getattr(args, "segmentation", None)
    if text is None:
        return None
    try:
        segmentation = Segmentation.parse(text)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    print(f"segmentation {segmentation.describe()}", file=sys.stderr)
    return segmentation


async def _run_async(args: argparse.Namespace, cases: Sequence[Case]) -> RunReport:
    segmentation = _segmentation(args)
    async with open_target(args) as running:
        progress = Progress(len(cases), enabled=not args.quiet)
        target, named = running.target, running.reproduce_args
        if segmentation is not None:
            target = replace(target, segmentation=segmentation)
            named = (*named, "--segmentation", segmentation.describe())
        try:
            report = await run_suite(
                target,
                cases,
                timeout=args.timeout,
                jobs=args.jobs,
                progress=progress,
                strict=args.strict,
                target_args=named,
            )
        except Unreachable as exc:
            raise TargetError(str(exc)) from None
        if not running.reproduce_args:
            report.target_url = f"{running.target.url} (built-in reference server)"
        return report


def _write_reports(args: argparse.Namespace, report: RunReport, catalog: Catalog) -> None:
    outputs = (
        (args.json, lambda p: json_report.write_json(report, p)),
        (args.junit, lambda p: junit.write_junit(report, p)),
        (args.markdown, lambda p: Path(p).write_text(markdown.render_markdown(report, catalog))),
        (args.html, lambda p: Path(p).write_text(html_report.render_html(report, catalog))),
    )
    for path, write in outputs:
        if path:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                write(path)
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _color(args: argparse.Namespace) -> bool:
    if args.no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def cmd_run(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    cases = _cases_for(args)
    catalog = load_catalog()
    report = asyncio.run(_run_async(args, cases))
    _write_reports(args, report, catalog)  # first: a closed stdout must not lose them
    color = _color(args)
    if not args.quiet:
        text = terminal.render_failures(report, catalog, color=color)
        if text:
            print(text)
    print(terminal.render_summary(report, color=color))
    return EXIT_FAILED if report.failed else EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.report:
        try:
            report = json_report.read_json(args.report)
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError(f"cannot read report {args.report}: {exc}") from None
        results = [r for r in report.results if r.id == args.case_id]
        if not results:
            raise UsageError(f"case {args.case_id!r} is not in {args.report}")
        result = results[0]
    else:
        args.cases, args.exclude, args.quiet, args.strict = [args.case_id], [], True, False
        cases = [c for c in select_cases(profile="full") if c.id == args.case_id]
        if not cases:
            raise UsageError(f"unknown case {args.case_id!r} (see 'wsconform cases')")
        report = asyncio.run(_run_async(args, cases))
        result = report.results[0]
    print(terminal.render_case(result, catalog, report.target_url, color=_color(args)))
    print()
    print(markdown.render_case_markdown(result, catalog, report.target_url))
    single = RunReport(target_url=report.target_url, results=[result], strict=report.strict)
    return EXIT_FAILED if single.failed else EXIT_OK


def cmd_fuzz(args: argparse.Namespace) -> int:
    from .fuzz import cmd_fuzz as run_fuzz  # lazily: only this command needs it

    return run_fuzz(args)


def cmd_cases(args: argparse.Namespace) -> int:
    for case in select_cases(args.cases or (), (), profile="full"):
        print(f"{case.id:<52} {case.level.value:<6} {case.title}")
    return EXIT_OK


def cmd_requirements(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    chosen = [r for r in catalog if not args.spec or args.spec.lower() in r.spec.lower()]
    if args.id:
        chosen = [r for r in chosen if r.id == args.id]
        if not chosen:
            raise UsageError(f"unknown requirement {args.id!r}")
    if args.json:
        print(json.dumps([_req_dict(r) for r in chosen], indent=2))
        return EXIT_OK
    for req in chosen:
        if args.id:
            for name, value in _req_dict(req).items():
                if value:
                    print(f"{name:>10}: {value}")
        else:
            quote = req.quote if len(req.quote) <= 90 else req.quote[:87] + "..."
            print(f"{req.id:<48} {req.keyword:<11} {req.party:<10} {quote}")
    return EXIT_OK


def _req_dict(req: object) -> dict[str, object]:
    fields = (
        "id",
        "spec",
        "section",
        "title",
        "keyword",
        "party",
        "quote",
        "link",
        "note",
        "untestable",
    )
    return {name: getattr(req, name) for name in fields}


COVERAGE_PARTIES = {
    "server": frozenset({"server", "endpoint"}),
    "client": frozenset({"client", "endpoint", "user-agent"}),
}


def coverage_rows(
    role: str, catalog: Catalog, cases: Sequence[Case], *, definitions: bool = False
) -> tuple[list[Requirement], list[Requirement], int]:
    """For ``role``: (uncovered testable requirements, unobservable ones, testable count).

    Testable: binds the role, carries MUST/SHOULD-level keywords (or, with
    ``definitions``, is a keyword-less definition), and has no ``untestable`` reason.
    MAY and OPTIONAL leave the behaviour open, so nothing can fail them.
    """
    cited = {rid for case in cases if case.role == role for rid in case.requirements}
    if role == "client":
        from .clients.run_checks import cited_requirements

        cited |= cited_requirements()
    binding = [
        req
        for req in catalog
        if req.party in COVERAGE_PARTIES[role]
        and req.keyword not in {"MAY", "OPTIONAL"}
        and (definitions or req.keyword != "definition")
    ]
    testable = [req for req in binding if req.untestable is None]
    unobservable = [req for req in binding if req.untestable is not None and req.id not in cited]
    return [req for req in testable if req.id not in cited], unobservable, len(testable)


def cmd_coverage(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    missing, unobservable, total = coverage_rows(
        args.role, catalog, all_cases(), definitions=args.definitions
    )
    for req in missing:
        print(f"{req.id:<48} {req.keyword:<11} §{req.section}")
    if unobservable:
        print(f"\nnot observable by the suite ({len(unobservable)}):")
        for req in unobservable:
            print(f"{req.id:<48} {req.keyword:<11} {req.untestable}")
    covered = total - len(missing)
    print(
        f"{covered} of {total} {args.role}-testable requirements covered by a case; "
        f"{len(missing)} uncovered"
    )
    return EXIT_OK


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        nargs="?",
        help="ws:// or wss:// URL of a running server (default: the built-in reference server)",
    )
    parser.add_argument(
        "--server-cmd",
        metavar="CMD",
        help="command that starts the server; {port} is replaced by a free port",
    )
    parser.add_argument("--path", default="/", help="resource name used with --server-cmd")
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds --server-cmd may take to accept connections",
    )
    parser.add_argument("--ca-file", metavar="PEM", help="CA certificates to trust for wss://")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="run the started server over wss:// with a generated CA and "
        "certificate ({cert} and {key} in --server-cmd)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"deadline of one case in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=4,
        metavar="N",
        help="cases run in parallel, one connection each (default 4)",
    )
    parser.add_argument("--profile", choices=("default", "full"), default="default")
    parser.add_argument("--no-color", action="store_true", help="no ANSI colours")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wsconform",
        description="Spec-cited WebSocket conformance suite (RFC 6455, WHATWG WebSockets).",
    )
    parser.add_argument("--version", action="version", version=f"wsconform {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="run the cases against a server")
    _add_target_options(run)
    run.add_argument(
        "--cases",
        action="append",
        metavar="GLOB",
        help="only cases whose id matches (repeatable; a prefix works too)",
    )
    run.add_argument("--exclude", action="append", metavar="GLOB", help="skip matching cases")
    run.add_argument("--strict", action="store_true", help="a WARN fails the run")
    run.add_argument("--json", metavar="PATH", help="write the JSON report")
    run.add_argument("--junit", metavar="PATH", help="write JUnit XML")
    run.add_argument("--markdown", metavar="PATH", help="write a Markdown report")
    run.add_argument("--html", metavar="PATH", help="write a self-contained HTML report")
    run.add_argument("-q", "--quiet", action="store_true", help="summary only, no progress")
    run.add_argument(
        "--segmentation",
        metavar="random[:SEED]",
        help="cut and join the suite's separate writes at random (a case's own chopping "
        "stays); the seed is printed: a verdict must not change",
    )
    run.set_defaults(func=cmd_run)

    explain = sub.add_parser("explain", help="full evidence and a bug-report block for one case")
    explain.add_argument("case_id", metavar="CASE_ID")
    _add_target_options(explain)
    explain.add_argument("--report", metavar="JSON", help="explain from a JSON report")
    explain.set_defaults(func=cmd_explain)

    fuzz = sub.add_parser(
        "fuzz", help="property tests against a live server: random echoes and invalid frames"
    )
    _add_target_options(fuzz)
    fuzz.add_argument(
        "--examples", type=int, default=100, metavar="N", help="random cases per property"
    )
    fuzz.add_argument("--seed", type=int, metavar="S", help="seed (default: a fresh one, printed)")
    fuzz.add_argument("--json", metavar="PATH", help="write the JSON report")
    fuzz.add_argument("-q", "--quiet", action="store_true", help="summary only, no progress")
    fuzz.set_defaults(func=cmd_fuzz)

    cases = sub.add_parser("cases", help="list the cases")
    cases.add_argument("--cases", action="append", metavar="GLOB")
    cases.set_defaults(func=cmd_cases)

    reqs = sub.add_parser("requirements", help="list the requirement catalog")
    reqs.add_argument("--spec", help="only this spec (substring, e.g. 6455 or WHATWG)")
    reqs.add_argument("--id", help="show one requirement in full")
    reqs.add_argument("--json", action="store_true", help="JSON output")
    reqs.set_defaults(func=cmd_requirements)

    cov = sub.add_parser("coverage", help="testable requirements that no case checks yet")
    cov.add_argument("--role", choices=("server", "client"), default="server")
    cov.add_argument(
        "--definitions", action="store_true", help="count keyword-less definitions too"
    )
    cov.set_defaults(func=cmd_coverage)

    from .matrix import add_matrix_arguments, cmd_matrix  # here, not on top: matrix imports cli

    matrix = sub.add_parser(
        "matrix", help="run the suite against many servers: one combined JSON, one HTML page"
    )
    add_matrix_arguments(matrix)
    matrix.set_defaults(func=cmd_matrix)

    from .clients.commands import add_client_parser

    add_client_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.raw_argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"wsconform: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TargetError as exc:
        print(f"wsconform: error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        print("wsconform: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a process killed by SIGPIPE
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
