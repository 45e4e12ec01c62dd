"""Time the RFC 7692 cases (default and full profile) and split the CPU between suite and server.

    python benchmarks/deflate_time.py                  # reference, websockets, node-ws; 3 runs
    python benchmarks/deflate_time.py --repeat 5 --targets websockets
    python benchmarks/deflate_time.py --profiles full --json deflate.json

For each target and profile one worker process starts the server once (its own process and
session: the built-in reference server too, ``python -m conformance.reference_server``) and
runs the ``rfc7692`` cases of the profile ``--repeat`` times. Per run it records the wall time,
the suite's CPU time (user+system of the worker, which runs the cases and nothing else) and
the server's (user+system of every process in the server's process group, read from
``/proc``); ``MiB`` is the worker's peak RSS (the server's memory is not in it). The
table gives medians; ``suite/server`` is the ratio of the two CPU medians.
Targets run one after another, so they do not compete for the cores. Autobahn|Testsuite's
time (wstest 0.8.2, sections 12 and 13 against websockets 17.4 on this machine class: 563 s)
is the issue's measurement, quoted, not re-run: wstest is Python 2 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from targets_time import REFERENCE, command_for, worker  # noqa: E402

from conformance.driver import Target  # noqa: E402
from conformance.runner import FULL_PROFILE_TIMEOUT, run_suite, select_cases  # noqa: E402
from conformance.server_process import ServerCommand  # noqa: E402
from conformance.targets import table  # noqa: E402

DEFAULT_TARGETS = (REFERENCE, "websockets", "node-ws")
TIMEOUTS = {"default": 5.0, "full": FULL_PROFILE_TIMEOUT}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WSTEST_SECONDS = 563.0
"""wstest 0.8.2, Autobahn sections 12 and 13 against websockets 17.4 (issue #13's figure)."""


def group_cpu(group: int) -> float:
    """User+system seconds of every live process in process group ``group`` (``/proc``)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == group:  # field 5 of stat: pgrp
            total += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
    return total / CLOCK_TICKS


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(name: str, profile: str, repeat: int, jobs: int) -> dict[str, Any]:
    cases = select_cases(("rfc7692",), profile=profile)
    runs: list[dict[str, float]] = []
    summary: dict[str, int] = {}
    async with ServerCommand(command_for(name)) as server:
        group = server.process_group
        assert group is not None
        target = Target.parse(f"ws://{server.host}:{server.port}/")
        for _ in range(repeat):
            suite, served, started = own_cpu(), group_cpu(group), time.perf_counter()
            report = await run_suite(target, cases, timeout=TIMEOUTS[profile], jobs=jobs)
            runs.append(
                {
                    "wall": time.perf_counter() - started,
                    "suite_cpu": own_cpu() - suite,
                    "server_cpu": group_cpu(group) - served,
                }
            )
            summary = report.summary()
    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"target": name, "profile": profile, "cases": len(cases), "runs": runs,
            "median": medians, "summary": summary, "peak_rss_mib": peak}  # fmt: skip


def render(results: list[dict[str, Any]]) -> str:
    head = (
        f"{'target':<12} {'profile':<8} {'cases':>5} {'wall s':>8} {'suite cpu':>9} "
        f"{'server cpu':>10} {'suite/server':>12} {'wstest/wall':>11} {'not pass':>8} {'MiB':>5}"
    )
    lines = [head]
    for r in results:
        if "error" in r:
            lines.append(f"{r['target']:<12} {r['profile']:<8} error: {r['error']}")
            continue
        m, s = r["median"], r["summary"]
        bad = sum(v for k, v in s.items() if k in ("fail", "error", "warn"))
        ratio = m["suite_cpu"] / m["server_cpu"] if m["server_cpu"] else float("nan")
        versus = f"{WSTEST_SECONDS / m['wall']:.1f}" if r["profile"] == "full" else ""
        lines.append(
            f"{r['target']:<12} {r['profile']:<8} {r['cases']:>5} {m['wall']:>8.2f} "
            f"{m['suite_cpu']:>9.2f} {m['server_cpu']:>10.2f} {ratio:>12.2f} {versus:>11} {bad:>8} "
            f"{r['peak_rss_mib']:>5.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        name, profile, repeat, jobs = sys.argv[2:6]
        print(json.dumps(asyncio.run(measure(name, profile, int(repeat), int(jobs)))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", metavar="NAME", default=list(DEFAULT_TARGETS))
    parser.add_argument("--profiles", nargs="+", choices=("default", "full"),
                        default=["default", "full"])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs per target and profile")
    parser.add_argument("--jobs", type=int, default=4, help="cases in parallel (as wsconform)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures")
    args = parser.parse_args()
    results = []
    for name in args.targets:
        reason = None if name == REFERENCE else table.unavailable(table.by_name()[name])
        if reason:
            print(f"skip {name}: {reason}", file=sys.stderr)
            continue
        for profile in args.profiles:
            result = worker(name, profile, args.repeat, args.jobs, script=__file__)
            results.append(result)
            shown = f"{result['median']['wall']:.2f}s" if "median" in result else result["error"]
            print(f"{name} {profile}: {shown}", file=sys.stderr, flush=True)
    print(render(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
