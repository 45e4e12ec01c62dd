"""``wsconform client``: the client scenarios through a JSON-lines adapter
(docs/client-adapters.md), and what ``wsconform browser`` shares with it."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..catalog import load_catalog
from ..clients.harness import AdapterArgv, AdapterFailed
from ..clients.observation import ClientObservation
from ..clients.runner import (
    DEPTHS,
    isolated,
    reexec_isolated,
    reproduce_for,
    run_client_suite,
    select_scenarios,
    select_wire_cases,
)
from ..clients.scenarios import PROFILES, Profile
from ..results import CaseResult
from .common import ReportPaths, TargetError, UsageError, add_output_arguments, conclude

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clients"

BUILTIN_ADAPTERS: dict[str, tuple[tuple[str, ...], Profile]] = {
    "python-websockets": ((sys.executable, "python_websockets.py"), "rfc6455-client"),
    "websocket-client": ((sys.executable, "python_websocket_client.py"), "rfc6455-client"),
    "aiohttp": ((sys.executable, "python_aiohttp.py"), "rfc6455-client"),
    "node-ws": (("node", "node_ws.js"), "rfc6455-client"),
    "undici": (("node", "node_undici.mjs"), "whatwg"),
    "reference": ((sys.executable, "-m", "conformance.clients.reference"), "whatwg"),
}
"""Each built-in adapter's command and the profile it claims: a script of
``fixtures/clients/`` (a source checkout) or, with ``-m``, a module of the package."""


@dataclass(frozen=True, slots=True)
class ScenarioOptions:
    """The options ``client`` and ``browser`` share: which scenarios, how, which reports."""

    scenarios: tuple[str, ...]
    exclude: tuple[str, ...]
    timeout: float | None  # None: 5 s a scenario, the depth's default a wire case
    depth: str  # "default" or "full": how deep the wire cases go
    isolate: str  # auto, always or never
    strict: bool
    reports: ReportPaths
    quiet: bool
    no_color: bool
    list: bool
    verbose: bool  # -v: the evidence of each scenario that did not pass
    raw_argv: tuple[str, ...]  # the command line, for re-running it in a network namespace

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ScenarioOptions:
        return cls(
            scenarios=tuple(args.scenarios or ()),
            exclude=tuple(args.exclude or ()),
            timeout=args.timeout,
            depth=depth_of(args.profile),
            isolate=args.isolate,
            strict=args.strict,
            reports=ReportPaths.from_args(args),
            quiet=args.quiet,
            no_color=args.no_color,
            list=args.list,
            verbose=args.verbose,
            raw_argv=tuple(args.raw_argv),
        )


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Everything ``wsconform client`` was given, typed."""

    adapter: str | None
    builtin: str | None
    profile: Profile | None
    run: ScenarioOptions

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ClientOptions:
        return cls(
            adapter=args.adapter,
            builtin=args.builtin,
            profile=standard_of(args.profile),
            run=ScenarioOptions.from_args(args),
        )


SCENARIO_TIMEOUT = 5.0
"""Seconds one scenario may take unless ``--timeout`` says otherwise."""


def standard_of(profiles: Sequence[str] | None) -> Profile | None:
    """The standard profile among ``--profile`` values (whatwg or rfc6455-client), if any."""
    chosen = [p for p in profiles or () if p in PROFILES]
    if len(set(chosen)) > 1:
        raise UsageError("--profile: choose one of " + " or ".join(PROFILES))
    return chosen[0] if chosen else None


def depth_of(profiles: Sequence[str] | None) -> str:
    """The depth among ``--profile`` values (default or full), "default" if none."""
    chosen = [p for p in profiles or () if p in DEPTHS]
    if len(set(chosen)) > 1:
        raise UsageError("--profile: choose one of " + " or ".join(DEPTHS))
    return chosen[0] if chosen else "default"


def builtin_adapter(name: str) -> list[str]:
    """argv of a built-in adapter; a one-line error when the checkout lacks it."""
    if name not in BUILTIN_ADAPTERS:
        raise UsageError(f"unknown adapter {name!r}; built-in: {', '.join(BUILTIN_ADAPTERS)}")
    command, _ = BUILTIN_ADAPTERS[name]
    if "-m" in command:  # a module of the installed package
        return list(command)
    program, script = command
    path = FIXTURES / script
    if not path.exists():
        raise UsageError(f"{path} not found: built-in adapters need a source checkout")
    if program == "node" and shutil.which("node") is None:
        raise UsageError("node is not installed")
    if program == "node" and not (FIXTURES / "node_modules").exists():
        raise UsageError(f"run 'npm ci --prefix {FIXTURES}' first")
    return [program, str(path)]


class ScenarioProgress:
    """One line per finished scenario or wire case on stderr."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled

    def __call__(self, seen: ClientObservation) -> None:
        self._line(seen.scenario.id, seen.duration_s)

    def case(self, result: CaseResult) -> None:
        self._line(result.id, result.duration_s)

    def _line(self, what: str, duration_s: float) -> None:
        self.done += 1
        if self.enabled:
            sys.stderr.write(f"[{self.done}/{self.total}] {what} ({duration_s:.2f}s)\n")
            sys.stderr.flush()


def maybe_isolate(options: ScenarioOptions) -> int | None:
    """Re-run in a loopback-only network namespace when asked and possible: its exit code."""
    if options.isolate == "never" or options.list or isolated():
        return None
    code = reexec_isolated(options.raw_argv)
    if code is None and options.isolate == "always":
        raise UsageError("cannot make a loopback-only network namespace (unshare -n / -rn)")
    return code


def run_scenarios_command(
    options: ScenarioOptions,
    argv: AdapterArgv,
    profile: Profile,
    label: str,
    base: Sequence[str],
) -> int:
    """List or play the chosen scenarios of ``profile`` and the wire cases of the chosen
    depth through ``argv``, then report."""
    if options.timeout is not None and options.timeout <= 0:
        raise UsageError("--timeout must be positive")
    options.reports.check()
    scenarios = select_scenarios(profile, options.scenarios, options.exclude)
    wire_cases = select_wire_cases(options.depth, options.scenarios, options.exclude)
    if not scenarios and not wire_cases:
        raise UsageError(f"no {profile} scenario or wire case matches --scenarios/--exclude")
    if options.list:
        for scenario in scenarios:
            print(f"{scenario.id:<42} {scenario.title}")
        for case in wire_cases:
            print(f"{case.id:<42} {case.title}")
        return 0
    progress = ScenarioProgress(len(scenarios) + len(wire_cases), enabled=not options.quiet)
    try:
        report = asyncio.run(
            run_client_suite(
                argv,
                scenarios,
                profile,
                label=label,
                timeout=options.timeout or SCENARIO_TIMEOUT,
                reproduce=reproduce_for(base),
                progress=progress,
                strict=options.strict,
                wire_cases=wire_cases,
                wire_timeout=options.timeout,
                wire_progress=progress.case,
            )
        )
    except AdapterFailed as exc:
        raise TargetError(str(exc)) from None
    return conclude(
        report,
        load_catalog(),
        options.reports,
        quiet=options.quiet,
        verbose=options.verbose,
        no_color=options.no_color,
    )


def run_client(options: ClientOptions) -> int:
    code = maybe_isolate(options.run)
    if code is not None:
        return code
    if options.builtin:
        command: AdapterArgv = builtin_adapter(options.builtin)
        profile: Profile = options.profile or BUILTIN_ADAPTERS[options.builtin][1]
        label = f"adapter {options.builtin}"
        base = ["wsconform", "client", "--builtin", options.builtin]
    else:
        assert options.adapter is not None  # argparse: --adapter or --builtin is required
        command = options.adapter
        profile = options.profile or "rfc6455-client"
        label = f"adapter {options.adapter}"
        base = ["wsconform", "client", "--adapter", options.adapter]
    depth = ["--profile", options.run.depth] if options.run.depth != "default" else []
    return run_scenarios_command(
        options.run, command, profile, label, [*base, "--profile", profile, *depth]
    )


def client_command(args: argparse.Namespace) -> int:
    return run_client(ClientOptions.from_args(args))


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``client`` and ``browser`` share."""
    parser.add_argument(
        "--scenarios",
        action="append",
        metavar="GLOB",
        help="only these scenarios or wire cases, by id glob or section prefix such as "
        "rfc6455/5.2 (repeatable; default: all of the profile)",
    )
    parser.add_argument(
        "--exclude", action="append", metavar="GLOB", help="skip these (repeatable)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="deadline of one scenario or wire case (default 5; 30 for a wire case of the "
        "full profile)",
    )
    parser.add_argument(
        "--isolate",
        choices=("auto", "always", "never"),
        default="auto",
        help="run in a loopback-only network namespace so that the unresolvable and "
        "unroutable scenarios can run (default auto: when possible)",
    )
    parser.add_argument("--strict", action="store_true", help="a WARN fails the run")
    add_output_arguments(parser, "scenario")
    parser.add_argument("--no-color", action="store_true", help="no ANSI colours")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("client", help="run the client scenarios through an adapter")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--adapter", metavar="CMD", help="command of a JSON-lines adapter (docs/client-adapters.md)"
    )
    which.add_argument(
        "--builtin",
        metavar="NAME",
        choices=sorted(BUILTIN_ADAPTERS),
        help="a built-in adapter: " + ", ".join(BUILTIN_ADAPTERS),
    )
    parser.add_argument(
        "--profile",
        choices=(*PROFILES, *DEPTHS),
        action="append",
        help="whatwg (browsers) or rfc6455-client (default; a built-in adapter brings its "
        "own); and default or full: full adds Autobahn's large messages to the wire cases "
        "(repeatable: --profile whatwg --profile full)",
    )
    add_scenario_arguments(parser)
    parser.set_defaults(func=client_command)
