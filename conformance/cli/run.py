"""``wsconform run``: the cases against one server (RFC 6455, WHATWG WebSockets)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..baseline import Baseline, compare, read_baseline, render_comparison
from ..cases import all_cases, http2_cases
from ..cases.base import Case
from ..cases.security import SECURITY_PROFILE, security_cases
from ..cases.security.access import policy_headers
from ..catalog import load_catalog
from ..driver import HTTP2, TRANSPORTS, ConfigError, Segmentation, Unreachable
from ..policy.security import MAX_CONNECTIONS, SecurityPolicy, parse_auth_header
from ..reports import json_report
from ..results import RunReport
from ..runner import run_suite, select_cases
from ..transports.scope import h1_exclusion, h2_exclusion
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    ProgressMarks,
    ReportPaths,
    TargetError,
    TargetOptions,
    UsageError,
    add_output_arguments,
    add_target_arguments,
    case_timeout,
    conclude,
    open_target,
)


@dataclass(frozen=True, slots=True)
class SuiteSettings:
    """How to run the chosen cases against the target."""

    timeout: float
    jobs: int
    strict: bool
    quiet: bool
    verbose: bool = False  # -v: the evidence of each case that did not pass
    segmentation: str | None = None  # ``random[:SEED]``, parsed when the run starts


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Everything ``wsconform run`` was given, typed."""

    target: TargetOptions
    settings: SuiteSettings
    cases: tuple[str, ...]
    exclude: tuple[str, ...]
    profile: str
    reports: ReportPaths
    no_color: bool
    baseline: str | None = None  # ``--baseline PATH``: exit 1 only for regressions
    security: SecurityPolicy = field(default_factory=SecurityPolicy)  # what it enforces, if stated

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunOptions:
        return cls(
            target=replace(TargetOptions.from_args(args), transport=args.transport),
            settings=SuiteSettings(
                timeout=case_timeout(args.timeout, args.profile),
                jobs=args.jobs,
                strict=args.strict,
                quiet=args.quiet,
                verbose=args.verbose,
                segmentation=args.segmentation,
            ),
            cases=tuple(args.cases or ()),
            exclude=tuple(args.exclude or ()),
            profile=args.profile,
            reports=ReportPaths.from_args(args),
            no_color=args.no_color,
            baseline=args.baseline,
            security=security_policy(args),
        )


SECURITY_NOTICE = (
    "security profile: probes meant for servers you operate; each is bounded in bytes and "
    "time (the rate check opens up to {connections} connections), to the target host only"
)


def security_policy(args: argparse.Namespace) -> SecurityPolicy:
    """The policy options of ``--profile security``; UsageError (exit 2) when malformed,
    or when given without that profile (they would change nothing)."""
    origins = tuple(dict.fromkeys(o for group in args.origin_allow or () for o in group))
    stated = origins or args.auth_header or args.max_message_size is not None
    if (stated or args.connections is not None) and args.profile != SECURITY_PROFILE:
        raise UsageError(
            "--origin-allow, --auth-header, --max-message-size and "
            "--connections need --profile security"
        )
    try:
        auth = parse_auth_header(args.auth_header) if args.auth_header else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.max_message_size is not None and args.max_message_size < 1:
        raise UsageError("--max-message-size must be at least 1")
    connections = SecurityPolicy().connections if args.connections is None else args.connections
    if not 1 <= connections <= MAX_CONNECTIONS:
        raise UsageError(f"--connections must be 1 to {MAX_CONNECTIONS}")
    return SecurityPolicy(origins, auth, args.max_message_size, connections)


def security_reproduce_args(policy: SecurityPolicy) -> tuple[str, ...]:
    """``--profile security`` and the stated policy, for a Reproduce command; the
    credential's value is left out (a report is shared, a secret should not be)."""
    args = ["--profile", SECURITY_PROFILE]
    for origin in policy.origin_allow:
        args += ["--origin-allow", origin]
    if policy.auth_header is not None:
        args += ["--auth-header", f"{policy.auth_header[0]}: <credential>"]
    if policy.max_message_size is not None:
        args += ["--max-message-size", str(policy.max_message_size)]
    if policy.connections != SecurityPolicy().connections:
        args += ["--connections", str(policy.connections)]
    return tuple(args)


def parse_segmentation(text: str | None) -> Segmentation | None:
    """``--segmentation`` (announced on stderr, so that a run can be repeated)."""
    if text is None:
        return None
    try:
        segmentation = Segmentation.parse(text)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    print(f"segmentation {segmentation.describe()}", file=sys.stderr)
    return segmentation


def over_transport(cases: Sequence[Case], options: RunOptions) -> list[Case]:
    """The cases the transport can carry: over HTTP/2 (RFC 8441) the wire sections and the
    HTTP/2 cases, over HTTP/1.1 all but the HTTP/2 cases
    (:mod:`conformance.transports.scope`). A ``--cases`` pattern that selects another
    case, or the security profile, is a UsageError naming why; over HTTP/1.1 so is a
    ``--cases`` selecting HTTP/2 cases only (one that selects others too leaves them out)."""
    if options.target.transport != HTTP2:
        kept = [case for case in cases if not h1_exclusion(case.id)]
        if cases and not kept and options.cases:
            raise UsageError(f"{cases[0].id} cannot run over HTTP/1.1: {h1_exclusion(cases[0].id)}")
        return kept
    if options.profile == SECURITY_PROFILE:
        raise UsageError("--transport h2 runs the wire sections only, not --profile security")
    if options.settings.segmentation is not None:
        raise UsageError("--segmentation shapes HTTP/1.1 TCP writes; not with --transport h2 yet")
    kept = []
    for case in cases:
        reason = h2_exclusion(case.id)
        if not reason:
            kept.append(case)
        elif options.cases:
            raise UsageError(f"--transport h2 cannot run {case.id}: {reason}")
    return kept


def load_baseline(path: str | None) -> Baseline | None:
    """``--baseline``, read before any case runs; a missing or malformed file exits 2."""
    if path is None:
        return None
    try:
        return read_baseline(path)
    except ValueError as exc:
        raise UsageError(f"--baseline {exc}") from None


async def run_against_target(
    target_options: TargetOptions,
    cases: Sequence[Case],
    settings: SuiteSettings,
    handshake_headers: Sequence[tuple[str, str]] = (),
    profile_args: Sequence[str] = (),
) -> RunReport:
    """Open the target and run ``cases`` against it; TargetError if it cannot be reached.

    ``handshake_headers`` go on every valid opening handshake (the preflight's included):
    the Origin and credential a stated security policy requires; ``profile_args`` join
    each case's Reproduce command (``--profile security`` and the policy options)."""
    segmentation = parse_segmentation(settings.segmentation)
    async with open_target(target_options) as running:
        progress = ProgressMarks(len(cases), enabled=not settings.quiet)
        target, named = running.target, running.reproduce_args
        if handshake_headers:
            encoded = tuple(
                (n.encode("latin-1"), v.encode("latin-1")) for n, v in handshake_headers
            )
            target = replace(target, handshake_headers=encoded)
        named = (*named, *profile_args)
        if target.transport == HTTP2:
            named = (*named, "--transport", HTTP2)
        if segmentation is not None:
            target = replace(target, segmentation=segmentation)
            named = (*named, "--segmentation", segmentation.describe())
        try:
            report = await run_suite(
                target,
                cases,
                timeout=settings.timeout,
                jobs=settings.jobs,
                progress=progress,
                strict=settings.strict,
                target_args=named,
            )
        except Unreachable as exc:
            raise TargetError(str(exc)) from None
        report.transport = target.transport
        if not running.reproduce_args:
            report.target_url = f"{running.target.url} (built-in reference server)"
        if target_options.server_cmd:
            report.server_command = target_options.server_cmd
        return report


def write_error_report(options: RunOptions, error: str) -> None:
    """With ``--json``, a report with no case and the diagnosis as ``error``: a CI matrix
    merging per-target reports (``matrix --merge``) shows the target that could not run."""
    if not options.reports.json:
        return
    target = options.target
    report = RunReport(
        target_url=target.url or target.server_cmd or "(built-in reference server)",
        server_command=target.server_cmd or "",
        profile=options.profile,
        strict=options.settings.strict,
        error=error,
    )
    with contextlib.suppress(OSError):  # the diagnosis on stderr matters more
        json_report.write_json(report, options.reports.json)


def run_selected(options: RunOptions) -> int:
    """Run the selected cases; exit 1 when one FAILs or ERRORs (or WARNs with strict).

    With a baseline, exit 1 only when a case got worse than its baseline outcome and
    reached FAIL or ERROR (or WARN with strict); the reports keep every verdict.
    """
    settings = options.settings
    if settings.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if settings.timeout <= 0:
        raise UsageError("--timeout must be positive")
    options.reports.check()
    baseline = load_baseline(options.baseline)
    pool = security_cases(options.security) if options.profile == SECURITY_PROFILE else None
    if pool is None and options.target.transport == HTTP2:
        pool = (*all_cases(), *http2_cases())
    cases = select_cases(options.cases, options.exclude, profile=options.profile, cases=pool)
    cases = over_transport(cases, options)
    if not cases and options.cases and select_cases(options.cases, (), cases=http2_cases()):
        raise UsageError("the cases selected run over HTTP/2 only (RFC 8441): add --transport h2")
    if not cases:
        raise UsageError("no case matches the --cases/--exclude patterns (see 'wsconform cases')")
    if options.profile == SECURITY_PROFILE and not settings.quiet:
        print(SECURITY_NOTICE.format(connections=options.security.connections), file=sys.stderr)
    catalog = load_catalog()
    try:
        report = asyncio.run(
            run_against_target(
                options.target,
                cases,
                settings,
                policy_headers(options.security),
                security_reproduce_args(options.security)
                if options.profile == SECURITY_PROFILE
                else (),
            )
        )
    except TargetError as exc:
        write_error_report(options, str(exc))
        raise
    report.profile = options.profile
    if options.profile == SECURITY_PROFILE:
        report.policy = options.security.describe()
    code = conclude(
        report,
        catalog,
        options.reports,
        quiet=settings.quiet,
        verbose=settings.verbose,
        no_color=options.no_color,
    )
    if baseline is None or options.baseline is None:
        return code
    comparison = compare(report.results, baseline)
    print(render_comparison(comparison, options.baseline))
    return EXIT_FAILED if comparison.failed(settings.strict) else EXIT_OK


def run_command(args: argparse.Namespace) -> int:
    return run_selected(RunOptions.from_args(args))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the cases against a server",
        description="Run the cases against one server and print what was tested, one line "
        "per case that did not pass, and the summary (-v: the evidence, -q: the ids).",
    )
    add_target_arguments(parser)
    parser.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default=TRANSPORTS[0],
        help="what carries the WebSocket: h1 (HTTP/1.1 Upgrade) or h2 (RFC 8441 extended "
        "CONNECT over HTTP/2: h2c on ws://, TLS with ALPN h2 on wss://; one connection a "
        "case; only the wire sections, RFC 6455 §5-§8 and §10.4, run; without a URL the "
        "built-in HTTP/2 reference server; "
        f"default {TRANSPORTS[0]})",
    )
    parser.add_argument(
        "--cases",
        action="append",
        metavar="GLOB",
        help="only cases whose id matches (repeatable; a prefix works too; default: every "
        "case of the profile)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="GLOB",
        help="skip matching cases (repeatable; default: none)",
    )
    parser.add_argument("--strict", action="store_true", help="a WARN fails the run")
    parser.add_argument(
        "--baseline",
        metavar="PATH",
        help="a --json report of an earlier run, or a TOML/JSON file of case id -> accepted "
        "outcome and reason: exit 1 only for regressions (with --strict, WARN ones too)",
    )
    add_output_arguments(parser, "case")
    parser.add_argument(
        "--segmentation",
        metavar="random[:SEED]",
        help="cut and join the suite's separate writes at random (a case's own chopping "
        "stays); the seed is printed: a verdict must not change (default: off)",
    )
    add_security_arguments(parser)
    parser.set_defaults(func=run_command)


def add_security_arguments(parser: argparse.ArgumentParser) -> None:
    """The policy the server should enforce, for ``--profile security`` (see
    :mod:`conformance.policy.security`): a stated policy not enforced is FAIL."""
    group = parser.add_argument_group(
        "security policy (with --profile security; unstated: judged by RFC 6455 §10 alone)"
    )
    group.add_argument(
        "--origin-allow",
        action="append",
        nargs="+",
        metavar="ORIGIN",
        help="the origins the application accepts, e.g. https://app.example (repeatable; "
        "default: none stated)",
    )
    group.add_argument(
        "--auth-header",
        metavar="'NAME: VALUE'",
        help="a credential the upgrade must carry: refused without it, accepted with it "
        "(default: none stated; the authentication checks then do not run)",
    )
    group.add_argument(
        "--max-message-size",
        type=int,
        metavar="N",
        help="the message size limit in bytes the server claims (default: none stated)",
    )
    group.add_argument(
        "--connections",
        type=int,
        metavar="N",
        help=f"idle connections the rate check may open (default {SecurityPolicy().connections}, "
        f"at most {MAX_CONNECTIONS})",
    )
