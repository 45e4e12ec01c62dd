"""Run the whole profile N times against one server; report every verdict that flipped.

    python benchmarks/determinism.py                          # reference server, both engines
    python benchmarks/determinism.py --engine model --runs 20
    python benchmarks/determinism.py --server-cmd 'node echo.js {port}' --runs 5
    python benchmarks/determinism.py --profile full --timeout 30

A case must give the same verdict on every run against the same server: a flip (PASS
once, ERROR or FAIL another time) is a bug in the suite or in the server, reported with
its outcomes per run and the verdict texts seen. Timings: each run's wall time and the
cases whose own duration varies most. Without ``--server-cmd`` the reference server
runs in its own process (``python -m conformance.reference_server --engine E``), as a
third-party server would. Exit status 1 when any verdict flipped.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from conformance.driver import Target
from conformance.results import RunReport
from conformance.runner import run_suite, select_cases
from conformance.server_process import ServerCommand

ENGINES = ("wsproto", "model")
SLOWEST = 5


@dataclass(slots=True)
class Runs:
    """Every run's report against one target."""

    target: str
    reports: list[RunReport] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def flips(self) -> dict[str, list[str]]:
        """Case id -> its outcome on each run, for the cases whose outcome changed."""
        outcomes: dict[str, list[str]] = defaultdict(list)
        for report in self.reports:
            for result in report.results:
                outcomes[result.id].append(result.outcome.value)
        return {cid: seen for cid, seen in outcomes.items() if len(set(seen)) > 1}

    def actuals(self, case_id: str) -> Counter[str]:
        return Counter(
            f"{r.outcome.value}: {r.actual}"
            for report in self.reports
            for r in report.results
            if r.id == case_id
        )

    def spread(self) -> list[tuple[str, float, float]]:
        """(case id, min, max) duration over the runs, widest spread first."""
        durations: dict[str, list[float]] = defaultdict(list)
        for report in self.reports:
            for result in report.results:
                durations[result.id].append(result.duration_s)
        rows = [(cid, min(d), max(d)) for cid, d in durations.items()]
        return sorted(rows, key=lambda row: row[2] - row[1], reverse=True)


async def repeat(command: str, label: str, args: argparse.Namespace) -> Runs:
    cases = select_cases(args.cases or (), profile=args.profile)
    runs = Runs(label)
    async with ServerCommand(command) as server:
        target = Target.parse(f"ws://{server.host}:{server.port}{args.path}")
        for _ in range(args.runs):
            started = time.perf_counter()
            report = await run_suite(target, cases, timeout=args.timeout, jobs=args.jobs)
            runs.wall.append(time.perf_counter() - started)
            runs.reports.append(report)
    return runs


def show(runs: Runs) -> bool:
    """Print the findings for one target; True when no verdict flipped."""
    flips = runs.flips()
    cases = len(runs.reports[0].results) if runs.reports else 0
    counts = runs.reports[-1].summary() if runs.reports else {}
    wall = runs.wall
    print(f"== {runs.target}: {len(wall)} runs x {cases} cases; last run {counts}")
    print(
        f"   wall time per run: median {statistics.median(wall):.3f}s, "
        f"min {min(wall):.3f}s, max {max(wall):.3f}s"
    )
    print(f"   verdict flips: {len(flips)} case(s) of {cases}")
    for case_id, seen in sorted(flips.items()):
        print(f"   FLIP {case_id}: {' '.join(seen)}")
        for actual, count in runs.actuals(case_id).most_common():
            print(f"        {count}x {actual}")
    print("   widest per-case duration spread:")
    for case_id, low, high in runs.spread()[:SLOWEST]:
        print(f"     {case_id:<56} {low:.3f}s .. {high:.3f}s")
    return not flips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="repetitions (default 10)")
    parser.add_argument("--server-cmd", help="server command with {port}")
    parser.add_argument(
        "--engine",
        choices=(*ENGINES, "both"),
        default="both",
        help="reference server engine when no --server-cmd (default: both, one after the other)",
    )
    parser.add_argument("--profile", choices=("default", "full"), default="default")
    parser.add_argument("--cases", action="append", help="id glob or prefix (repeatable)")
    parser.add_argument("--path", default="/")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2 to compare verdicts")
    if args.server_cmd:
        targets = [(args.server_cmd, args.server_cmd)]
    else:
        engines = ENGINES if args.engine == "both" else (args.engine,)
        base = f"{sys.executable} -m conformance.reference_server --port {{port}} --engine"
        targets = [(f"{base} {e}", f"reference server ({e})") for e in engines]
    steady = True
    for command, label in targets:
        steady = show(asyncio.run(repeat(command, label, args))) and steady
    sys.exit(0 if steady else 1)


if __name__ == "__main__":
    main()
