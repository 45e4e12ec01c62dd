"""``wsconform explain``: full evidence and a bug-report block for one case."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from ..cases import case_by_id
from ..catalog import load_catalog
from ..reports import json_report, markdown, terminal
from ..results import CaseResult, RunReport
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    TargetOptions,
    UsageError,
    add_target_arguments,
    use_color,
)
from .run import SuiteSettings, run_against_target


@dataclass(frozen=True, slots=True)
class ExplainOptions:
    """Everything ``wsconform explain`` was given, typed."""

    case_id: str
    target: TargetOptions
    report: str | None  # explain from this JSON report instead of running the case
    timeout: float
    no_color: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ExplainOptions:
        return cls(
            case_id=args.case_id,
            target=TargetOptions.from_args(args),
            report=args.report,
            timeout=args.timeout,
            no_color=args.no_color,
        )


def _saved_result(path: str, case_id: str) -> tuple[CaseResult, RunReport]:
    try:
        report = json_report.read_json(path)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"cannot read report {path}: {exc}") from None
    results = [r for r in report.results if r.id == case_id]
    if not results:
        raise UsageError(f"case {case_id!r} is not in {path}")
    return results[0], report


def _fresh_result(options: ExplainOptions) -> tuple[CaseResult, RunReport]:
    case = case_by_id(options.case_id)  # every profile's, security checks as for no policy
    cases = [case] if case is not None and case.role == "server" else []
    if not cases:
        raise UsageError(f"unknown case {options.case_id!r} (see 'wsconform cases')")
    settings = SuiteSettings(timeout=options.timeout, jobs=1, strict=False, quiet=True)
    report = asyncio.run(run_against_target(options.target, cases, settings))
    return report.results[0], report


def explain_case(options: ExplainOptions) -> int:
    """Print one case's evidence and its Markdown bug-report block; exit 1 if it fails."""
    catalog = load_catalog()
    if options.report and (options.target.url or options.target.server_cmd):
        raise UsageError("--report explains a saved result: give no URL or --server-cmd")
    if options.report:
        result, report = _saved_result(options.report, options.case_id)
    else:
        result, report = _fresh_result(options)
    color = use_color(options.no_color)
    print(terminal.render_case(result, catalog, report.target_url, color=color))
    print()
    print(markdown.render_case_markdown(result, catalog, report.target_url))
    single = RunReport(target_url=report.target_url, results=[result], strict=report.strict)
    return EXIT_FAILED if single.failed else EXIT_OK


def explain_command(args: argparse.Namespace) -> int:
    return explain_case(ExplainOptions.from_args(args))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explain", help="full evidence and a bug-report block for one case"
    )
    parser.add_argument(
        "case_id", metavar="CASE_ID", help="the case to explain (see 'wsconform cases')"
    )
    add_target_arguments(parser, jobs=False, profile=False)
    parser.add_argument(
        "--report",
        metavar="JSON",
        help="explain the case's result in a 'wsconform run --json' report instead of "
        "running it (default: run it against the target)",
    )
    parser.set_defaults(func=explain_command)
