"""Run the whole profile N times against servers; report every verdict that flipped.

    python benchmarks/determinism.py                          # reference server, both engines
    python benchmarks/determinism.py --engine model --runs 20
    python benchmarks/determinism.py --segmentation random    # a fresh seed each run, printed
    python benchmarks/determinism.py --segmentation random:7 --variants --target websockets
    python benchmarks/determinism.py --server-cmd 'node echo.js {port}' --runs 5
    python benchmarks/determinism.py --profile full --timeout 30

A case must give the same verdict on every run against the same server: a flip (PASS
once, ERROR or FAIL another time) is a bug in the suite or in the server, reported with
its outcomes per run and the verdict texts seen. With ``--segmentation`` every run
cuts and joins the suite's separate writes differently (``wsconform run
--segmentation``; a case's own chopping stays): run i uses seed SEED+i (SEED fresh for
``random``), printed beside each outcome, so ``wsconform run --segmentation random:S
--cases ID`` repeats a flip. Targets: the reference server (``--engine``; the default
when no other target is named), ``--server-cmd``, third-party servers of
``conformance/targets/table.py`` (``--target NAME``, repeatable) and every conforming
variant and twin of ``fixtures.variants`` (``--variants``, or ``--variant NAME``).
Each target runs in its own process, as a third-party server would. Timings: each
run's wall time and the cases whose own duration varies most. Exit status 1 when any
verdict flipped (or a target could not be run).
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import shlex
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: fixtures/ lives in the checkout
    sys.path.insert(0, str(ROOT))

from conformance.driver import ConfigError, Segmentation, Target  # noqa: E402
from conformance.results import RunReport  # noqa: E402
from conformance.runner import run_suite, select_cases  # noqa: E402
from conformance.server_process import ServerCommand  # noqa: E402

ENGINES = ("wsproto", "model")
SLOWEST = 5
SEED_SPACE = 2**32


@dataclass(frozen=True, slots=True)
class Server:
    """One target: how to start it, and what to call it."""

    label: str
    command: str


@dataclass(slots=True)
class Runs:
    """Every run's report against one target, with the seed each run used (or None)."""

    target: str
    reports: list[RunReport] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    seeds: list[int | None] = field(default_factory=list)
    failure: str = ""  # the server could not be started or reached

    def flips(self) -> dict[str, list[str]]:
        """Case id -> its outcome on each run, for the cases whose outcome changed."""
        outcomes: dict[str, list[str]] = defaultdict(list)
        for report in self.reports:
            for result in report.results:
                outcomes[result.id].append(result.outcome.value)
        return {cid: seen for cid, seen in outcomes.items() if len(set(seen)) > 1}

    def actuals(self, case_id: str) -> dict[str, list[int | None]]:
        """``outcome: actual`` -> the seeds of the runs that saw it, most seen first."""
        seen: dict[str, list[int | None]] = defaultdict(list)
        for report, seed in zip(self.reports, self.seeds, strict=True):
            for r in report.results:
                if r.id == case_id:
                    seen[f"{r.outcome.value}: {r.actual}"].append(seed)
        return dict(sorted(seen.items(), key=lambda item: -len(item[1])))

    def spread(self) -> list[tuple[str, float, float]]:
        """(case id, min, max) duration over the runs, widest spread first."""
        durations: dict[str, list[float]] = defaultdict(list)
        for report in self.reports:
            for result in report.results:
                durations[result.id].append(result.duration_s)
        rows = [(cid, min(d), max(d)) for cid, d in durations.items()]
        return sorted(rows, key=lambda row: row[2] - row[1], reverse=True)


def run_seeds(args: argparse.Namespace) -> list[int | None]:
    """The segmentation seed of each run (None: segmentation off)."""
    if args.segmentation is None:
        return [None] * args.runs
    base = Segmentation.parse(args.segmentation).seed
    return [(base + i) % SEED_SPACE for i in range(args.runs)]


async def repeat(server: Server, args: argparse.Namespace) -> Runs:
    cases = select_cases(args.cases or (), profile=args.profile)
    runs = Runs(server.label)
    try:
        async with ServerCommand(server.command) as started:
            target = Target.parse(f"ws://{started.host}:{started.port}{args.path}")
            for seed in run_seeds(args):
                if seed is not None:
                    target = replace(target, segmentation=Segmentation(seed))
                clock = time.perf_counter()
                report = await run_suite(target, cases, timeout=args.timeout, jobs=args.jobs)
                runs.wall.append(time.perf_counter() - clock)
                runs.reports.append(report)
                runs.seeds.append(seed)
                if not args.quiet:
                    shown = f"seed {seed}: " if seed is not None else ""
                    print(f"   {server.label} run {len(runs.reports)}: {shown}{report.summary()}")
    except Exception as exc:  # a target that will not start is reported, the others run
        runs.failure = f"{type(exc).__name__}: {exc}"
    return runs


def show(runs: Runs) -> bool:
    """Print the findings for one target; True when no verdict flipped."""
    if runs.failure:  # not checked is not steady
        print(f"== {runs.target}: NOT RUN: {runs.failure}")
        return False
    flips = runs.flips()
    cases = len(runs.reports[0].results) if runs.reports else 0
    counts = runs.reports[-1].summary() if runs.reports else {}
    wall = runs.wall
    print(f"== {runs.target}: {len(wall)} runs x {cases} cases; last run {counts}")
    if any(seed is not None for seed in runs.seeds):
        print(f"   segmentation seeds: {' '.join(str(s) for s in runs.seeds)}")
    print(
        f"   wall time per run: median {statistics.median(wall):.3f}s, "
        f"min {min(wall):.3f}s, max {max(wall):.3f}s"
    )
    print(f"   verdict flips: {len(flips)} case(s) of {cases}")
    for case_id, seen in sorted(flips.items()):
        print(f"   FLIP {case_id}: {' '.join(seen)}")
        for actual, seeds in runs.actuals(case_id).items():
            where = ", ".join("off" if s is None else str(s) for s in seeds)
            print(f"        {len(seeds)}x {actual}  [seeds {where}]")
    print("   widest per-case duration spread:")
    for case_id, low, high in runs.spread()[:SLOWEST]:
        print(f"     {case_id:<56} {low:.3f}s .. {high:.3f}s")
    return not flips


def variant_servers(patterns: list[str]) -> list[Server]:
    """Every conforming variant and twin of ``fixtures.variants`` matching ``patterns``."""
    from fixtures.variants import all_pairs

    names = [v.name for pair in all_pairs() for v in (pair.conforming, pair.twin)]
    chosen = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    script = shlex.quote(str(Path(__file__).resolve()))
    python = shlex.quote(sys.executable)
    return [
        Server(
            f"variant {n}", f"{python} {script} --serve-variant {shlex.quote(n)} --port {{port}}"
        )
        for n in chosen
    ]


def third_party_servers(names: list[str]) -> list[Server]:
    """The ``conformance/targets/table.py`` targets called ``names``, started from the checkout."""
    from conformance.targets import table as targets

    known = targets.by_name()
    servers = []
    for name in names:
        if name not in known:
            raise SystemExit(f"unknown --target {name!r}; known: {', '.join(known)}")
        missing = targets.unavailable(known[name])
        if missing:
            print(f"== {name}: skipped: {missing}")
            continue
        servers.append(Server(name, targets.server_command(known[name], root=ROOT)))
    return servers


def serve_variant(name: str, port: int) -> None:
    """Serve the variant or twin called ``name`` until SIGTERM (``--serve-variant``)."""
    from conformance.reference_server import serve_forever
    from fixtures.variants import variant_by_name

    variant = variant_by_name(name)
    asyncio.run(serve_forever(lambda: variant.start(port)))


def servers_for(args: argparse.Namespace) -> list[Server]:
    servers: list[Server] = []
    others = bool(args.server_cmd or args.target or args.variants or args.variant)
    if args.engine is not None or not others:
        engine = args.engine or "both"
        engines = ENGINES if engine == "both" else (engine,)
        base = f"{shlex.quote(sys.executable)} -m conformance.reference_server --port {{port}}"
        servers += [Server(f"reference server ({e})", f"{base} --engine {e}") for e in engines]
    if args.server_cmd:
        servers.append(Server(args.server_cmd, args.server_cmd))
    servers += third_party_servers(args.target or [])
    if args.variants or args.variant:
        chosen = variant_servers(["*"] if args.variants else args.variant)
        if not chosen:
            print("== variants: none defined (fixtures.variants.all_pairs() is empty or no match)")
        servers += chosen
    return servers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="repetitions (default 10)")
    parser.add_argument("--server-cmd", help="server command with {port}")
    parser.add_argument(
        "--engine",
        choices=(*ENGINES, "both"),
        help="reference server engine (default: both, when no other target is named)",
    )
    parser.add_argument(
        "--target", action="append", metavar="NAME", help="third-party target (repeatable)"
    )
    parser.add_argument("--variants", action="store_true", help="every conforming variant and twin")
    parser.add_argument(
        "--variant", action="append", metavar="GLOB", help="variants and twins by name glob"
    )
    parser.add_argument(
        "--segmentation",
        metavar="random[:SEED]",
        help="random segmentation of the suite's writes, seed SEED+i on run i",
    )
    parser.add_argument("--profile", choices=("default", "full"), default="default")
    parser.add_argument("--cases", action="append", help="id glob or prefix (repeatable)")
    parser.add_argument("--path", default="/")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("-q", "--quiet", action="store_true", help="no line per run")
    parser.add_argument("--serve-variant", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    if args.serve_variant:
        serve_variant(args.serve_variant, args.port)
        return
    if args.runs < 2:
        parser.error("--runs must be at least 2 to compare verdicts")
    if args.segmentation is not None:
        try:
            Segmentation.parse(args.segmentation)
        except ConfigError as exc:
            parser.error(str(exc))
    steady = True
    flipped: list[str] = []
    for server in servers_for(args):
        runs = asyncio.run(repeat(server, args))
        if not show(runs):
            steady = False
            flipped.append(server.label + (" (not run)" if runs.failure else ""))
    print(f"== not steady: {', '.join(flipped)}" if flipped else "== no verdict flipped")
    sys.exit(0 if steady else 1)


if __name__ == "__main__":
    main()
