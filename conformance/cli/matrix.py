"""``wsconform matrix``: the suite against many servers, one JSON and one HTML page;
or, with ``--merge``, one matrix from saved reports (one CI job per target), nothing run.

Exit codes: 0 every server ran with no FAIL or ERROR; 1 some server had a FAIL or
ERROR (or WARN with ``--strict``); 2 usage error (a saved report that cannot be read
or merged included); 3 some server could not be started or reached (the reports still
hold the others).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..catalog import load_catalog
from ..matrix import (
    DEFAULT_JOBS_TARGETS,
    DEFAULT_JSON_BYTES,
    MatrixInputError,
    TargetSpec,
    builtin_targets,
    entry_summary_line,
    matrix_to_json,
    parse_target,
    read_targets_file,
    render_table,
    run_matrix,
)
from ..matrix_merge import MergeInput, merge_reports
from ..model.verdict import Outcome
from ..reports.evidence import printable
from ..reports.matrix_html import Matrix, MatrixEntry, render_matrix_html
from ..runner import DEFAULT_TIMEOUT, select_cases
from .common import (
    DEFAULT_JOBS,
    DEFAULT_STARTUP_TIMEOUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    PROFILES,
    TIMEOUT_HELP,
    TargetError,
    UsageError,
    case_timeout,
    check_output_path,
    unchecked_ssl_context,
)

DEFAULT_PROFILE = PROFILES[0]
RUN_ONLY_OPTIONS = {
    "jobs_targets": "--jobs-targets",
    "jobs": "--jobs",
    "timeout": "--timeout",
    "startup_timeout": "--startup-timeout",
    "profile": "--profile",
    "cases": "--cases",
    "exclude": "--exclude",
    "tls": "--tls",
    "ca_file": "--ca-file",
    "json_bytes": "--json-bytes",
}
"""Options that shape a run: given with ``--merge``, which runs nothing, they are refused."""


@dataclass(frozen=True, slots=True)
class TargetSources:
    """Where the servers come from: ``--target``, ``--targets-file``, ``--builtin-targets``."""

    targets: tuple[str, ...] = ()
    targets_files: tuple[str, ...] = ()
    builtin: tuple[str, ...] | None = None  # None: not asked for; (): all installed ones
    merge: tuple[str, ...] = ()  # saved reports, [NAME=]PATH each

    @property
    def any_target(self) -> bool:
        return bool(self.targets or self.targets_files or self.builtin is not None)


@dataclass(frozen=True, slots=True)
class MatrixOptions:
    """Everything ``wsconform matrix`` was given, typed."""

    sources: TargetSources
    jobs_targets: int = DEFAULT_JOBS_TARGETS
    jobs: int = DEFAULT_JOBS
    timeout: float = DEFAULT_TIMEOUT
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    profile: str = DEFAULT_PROFILE
    cases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    strict: bool = False
    tls: bool = False
    ca_file: str | None = None
    json: str | None = None
    json_bytes: int = DEFAULT_JSON_BYTES
    html: str | None = None
    html_pass_evidence: bool = False
    quiet: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> MatrixOptions:
        builtin = args.builtin_targets
        return cls(
            sources=TargetSources(
                targets=tuple(args.target or ()),
                targets_files=tuple(args.targets_file or ()),
                builtin=None if builtin is None else tuple(builtin),
                merge=tuple(args.merge or ()),
            ),
            jobs_targets=args.jobs_targets,
            jobs=args.jobs,
            timeout=case_timeout(args.timeout, args.profile),
            startup_timeout=args.startup_timeout,
            profile=args.profile,
            cases=tuple(args.cases or ()),
            exclude=tuple(args.exclude or ()),
            strict=args.strict,
            tls=args.tls,
            ca_file=args.ca_file,
            json=args.json,
            json_bytes=args.json_bytes,
            html=args.html,
            html_pass_evidence=args.html_pass_evidence,
            quiet=args.quiet,
        )


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def collect_specs(
    sources: TargetSources, *, tls: bool
) -> tuple[list[TargetSpec], list[tuple[str, str]]]:
    """The servers named, and the built-in ones skipped (not installed) with the reason."""
    specs = [parse_target(text) for text in sources.targets]
    for path in sources.targets_files:
        specs.extend(read_targets_file(path))
    skipped: list[tuple[str, str]] = []
    if sources.builtin is not None:
        more, skipped = builtin_targets(sources.builtin, tls=tls)
        specs.extend(more)
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"target names must be unique: {', '.join(duplicates)}")
    if tls and any(spec.url for spec in specs):
        raise UsageError("--tls is for servers the suite starts; for wss:// URLs use --ca-file")
    return specs, skipped


def _run_targets(options: MatrixOptions) -> Matrix:
    specs, skipped = collect_specs(options.sources, tls=options.tls)
    if not specs:
        if skipped:
            reasons = "; ".join(f"{name}: {why}" for name, why in skipped)
            raise TargetError(f"no built-in target is installed here ({reasons})")
        raise UsageError(
            "no targets: give --target NAME=CMD, --targets-file F or --builtin-targets"
        )
    cases = select_cases(options.cases, options.exclude, profile=options.profile)
    if not cases:
        raise UsageError("no case matches the --cases/--exclude patterns")
    total = len(specs)
    finished = 0

    def done(entry: MatrixEntry) -> None:
        nonlocal finished
        finished += 1
        if not options.quiet:
            print(f"[{finished}/{total}] {printable(entry_summary_line(entry))}", flush=True)

    finished_matrix: list[Matrix] = []

    async def run_all() -> None:
        # The result stays out of asyncio.run: on CPython 3.11 its teardown builds
        # the repr of the main task's result (via the SIGINT handler's partial),
        # which for every report's transcripts is hundreds of megabytes.
        finished_matrix.append(
            await run_matrix(
                specs,
                cases,
                timeout=options.timeout,
                jobs=options.jobs,
                jobs_targets=options.jobs_targets,
                startup_timeout=options.startup_timeout,
                strict=options.strict,
                tls=options.tls,
                ca_context=unchecked_ssl_context(options.ca_file),
                done=done,
                profile=options.profile,
            )
        )

    asyncio.run(run_all())
    matrix = finished_matrix[0]
    matrix.skipped = skipped
    return matrix


def _run_only_given(options: MatrixOptions) -> list[str]:
    """The run-shaping options set to something other than their default."""
    default = MatrixOptions(sources=TargetSources())
    return [
        flag
        for attr, flag in RUN_ONLY_OPTIONS.items()
        if getattr(options, attr) != getattr(default, attr)
    ]


def _merge(options: MatrixOptions) -> Matrix:
    """The saved reports as one matrix; warnings on stderr, one line each."""
    if options.sources.any_target:
        raise UsageError(
            "--merge combines saved reports and runs nothing; it takes no --target, "
            "--targets-file or --builtin-targets"
        )
    given = _run_only_given(options)
    if given:
        raise UsageError(f"--merge runs nothing: {', '.join(given)} would mean nothing with it")
    merged = merge_reports([MergeInput.parse(text) for text in options.sources.merge])
    for warning in merged.warnings:
        print(f"wsconform: warning: {printable(warning)}", file=sys.stderr)
    return merged.matrix


def _build_matrix(options: MatrixOptions) -> Matrix:
    try:
        if options.sources.merge:
            return _merge(options)
        return _run_targets(options)
    except MatrixInputError as exc:
        raise UsageError(printable(str(exc))) from None


def _failed(entry: MatrixEntry, strict: bool) -> bool:
    """A FAIL or ERROR (or a WARN under the run's or this command's ``--strict``)."""
    report = entry.report
    if report is None:
        return False
    return report.failed or (strict and any(r.outcome is Outcome.WARN for r in report.results))


def report_matrix(options: MatrixOptions) -> int:
    """Run (or merge) the matrix, print its table, write the JSON and HTML."""
    if options.jobs < 1 or options.jobs_targets < 1:
        raise UsageError("--jobs and --jobs-targets must be at least 1")
    if options.timeout <= 0:
        raise UsageError("--timeout must be positive")
    check_output_path("--json", options.json)
    check_output_path("--html", options.html)
    matrix = _build_matrix(options)
    print(render_table(matrix))
    if options.json:
        cut = None if options.json_bytes < 0 else options.json_bytes
        _write(options.json, json.dumps(matrix_to_json(matrix, cut), indent=1) + "\n")
    if options.html:
        html = render_matrix_html(matrix, load_catalog(), pass_evidence=options.html_pass_evidence)
        _write(options.html, html)
    if any(entry.report is None for entry in matrix.entries):
        return EXIT_UNREACHABLE
    if any(_failed(entry, options.strict) for entry in matrix.entries):
        return EXIT_FAILED
    return EXIT_OK


def matrix_command(args: argparse.Namespace) -> int:
    return report_matrix(MatrixOptions.from_args(args))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "matrix",
        help="the suite against many servers, or saved reports merged: one JSON, one HTML page",
    )
    servers = parser.add_argument_group("servers to run (give any of these, or --merge)")
    servers.add_argument(
        "--target",
        action="append",
        metavar="NAME=CMD",
        help="a server: NAME=command with {port} (and {cert}/{key} with --tls), "
        "or NAME=ws://… of a running one (repeatable)",
    )
    servers.add_argument(
        "--targets-file",
        action="append",
        metavar="F",
        help="NAME=CMD lines (# comments) or a JSON object {NAME: CMD} (repeatable)",
    )
    servers.add_argument(
        "--builtin-targets",
        nargs="*",
        metavar="NAME",
        help="the servers of the target table (python -m conformance.cli.targets --list) that are "
        "installed (all, or the NAMEs given)",
    )
    saved = parser.add_argument_group("saved reports (instead of servers: nothing is run)")
    saved.add_argument(
        "--merge",
        nargs="+",
        metavar="[NAME=]JSON",
        help="combine 'wsconform run --json' reports (one target each, named NAME or by file "
        "stem) and 'wsconform matrix --json' files (docs/ci.md)",
    )
    running = parser.add_argument_group("running (not with --merge)")
    running.add_argument(
        "--jobs-targets",
        type=int,
        default=DEFAULT_JOBS_TARGETS,
        metavar="N",
        help=f"servers run at once (default {DEFAULT_JOBS_TARGETS})",
    )
    running.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"cases in parallel per server, one connection each (default {DEFAULT_JOBS})",
    )
    running.add_argument("--timeout", type=float, default=None, metavar="S", help=TIMEOUT_HELP)
    running.add_argument(
        "--startup-timeout",
        type=float,
        default=DEFAULT_STARTUP_TIMEOUT,
        metavar="S",
        help="seconds a started server may take to accept connections "
        f"(default {DEFAULT_STARTUP_TIMEOUT:g})",
    )
    running.add_argument(
        "--profile",
        choices=PROFILES,
        default=DEFAULT_PROFILE,
        help="full adds the size-limit cases, security runs the security checks alone (with "
        "no stated policy) (default: %(default)s)",
    )
    running.add_argument(
        "--cases", action="append", metavar="GLOB", help="only matching cases (repeatable)"
    )
    running.add_argument(
        "--exclude", action="append", metavar="GLOB", help="skip matching cases (repeatable)"
    )
    running.add_argument(
        "--tls", action="store_true", help="run the started servers over wss:// ({cert} {key})"
    )
    running.add_argument(
        "--ca-file",
        metavar="PEM",
        help="CA to trust for wss:// URL targets (default: the system's trust store)",
    )
    running.add_argument(
        "--json-bytes",
        type=int,
        default=DEFAULT_JSON_BYTES,
        metavar="N",
        help="bytes of each direction kept per case in the JSON "
        f"(default {DEFAULT_JSON_BYTES}; -1 keeps what the run recorded, up to 64 KiB)",
    )
    output = parser.add_argument_group("verdict and output")
    output.add_argument(
        "--strict", action="store_true", help="a WARN fails a server (exit 1) as a FAIL does"
    )
    output.add_argument("--json", metavar="PATH", help="write the combined JSON")
    output.add_argument("--html", metavar="PATH", help="write the one-page HTML matrix")
    output.add_argument(
        "--html-pass-evidence",
        action="store_true",
        help="evidence blocks for passing cases too (a much larger page)",
    )
    output.add_argument(
        "-q", "--quiet", action="store_true", help="no line per finished server, the table only"
    )
    parser.set_defaults(func=matrix_command)
