"""``wsconform fuzz``: property tests against a live server (RFC 6455 §5.4, §5.5, §7.1.7)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from ..catalog import load_catalog
from ..driver import Unreachable
from ..fuzz.campaign import FuzzRun, fuzz
from ..model.verdict import Outcome
from ..reports import json_report, terminal
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    ProgressMarks,
    TargetError,
    TargetOptions,
    UsageError,
    add_target_arguments,
    check_output_path,
    open_target,
    use_color,
)

DEFAULT_EXAMPLES = 100


@dataclass(frozen=True, slots=True)
class FuzzOptions:
    """Everything ``wsconform fuzz`` was given, typed."""

    target: TargetOptions
    examples: int
    seed: int | None
    timeout: float
    jobs: int
    quiet: bool
    no_color: bool
    json: str | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FuzzOptions:
        return cls(
            target=TargetOptions.from_args(args),
            examples=args.examples,
            seed=args.seed,
            timeout=args.timeout,
            jobs=args.jobs,
            quiet=args.quiet,
            no_color=args.no_color,
            json=args.json,
        )


async def _fuzz_target(options: FuzzOptions) -> FuzzRun:
    async with open_target(options.target) as running:
        try:
            result = await fuzz(
                running.target,
                examples=options.examples,
                seed=options.seed,
                timeout=options.timeout,
                jobs=options.jobs,
                target_args=running.reproduce_args,
                progress=ProgressMarks(2 * options.examples, enabled=not options.quiet),
            )
        except Unreachable as exc:
            raise TargetError(str(exc)) from None
        if not running.reproduce_args:
            result.report.target_url = f"{running.target.url} (built-in reference server)"
        return result


def run_fuzz(options: FuzzOptions) -> int:
    """Exit 0 when no counterexample, 1 when one was found."""
    examples = options.examples
    if examples < 1:
        raise UsageError("--examples must be at least 1")
    if options.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    check_output_path("--json", options.json)
    result = asyncio.run(_fuzz_target(options))
    color = use_color(options.no_color)
    catalog = load_catalog()
    print(f"seed {result.seed} ({examples} examples per property)")
    for counterexample in result.counterexamples:
        print(terminal.render_case(counterexample, catalog, result.report.target_url, color=color))
        print()
    shrunk = {c.id for c in result.counterexamples}
    others = [r.id for r in result.report.results if r.outcome is not Outcome.PASS]
    others = [rid for rid in others if rid not in shrunk]
    if others:
        print(f"also not passing (not shrunk): {', '.join(others)}\n")
    print(terminal.render_summary(result.report, color=color))
    if options.json:
        try:
            json_report.write_json(result.report, options.json)
        except OSError as exc:
            raise UsageError(f"cannot write {options.json}: {exc.strerror or exc}") from None
    sys.stdout.flush()
    return EXIT_FAILED if result.report.failed else EXIT_OK


def fuzz_command(args: argparse.Namespace) -> int:
    return run_fuzz(FuzzOptions.from_args(args))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "fuzz", help="property tests against a live server: random echoes and invalid frames"
    )
    add_target_arguments(parser, profile=False)
    parser.add_argument(
        "--examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"random cases per property (default {DEFAULT_EXAMPLES})",
    )
    parser.add_argument(
        "--seed", type=int, metavar="S", help="seed (default: a fresh one, printed)"
    )
    parser.add_argument("--json", metavar="PATH", help="write the JSON report")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress marks on stderr")
    parser.set_defaults(func=fuzz_command)
