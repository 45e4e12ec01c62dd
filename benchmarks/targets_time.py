"""Time the suite against every installed third-party target, default and full profile.

    python benchmarks/targets_time.py                    # every installed target, 3 runs each
    python benchmarks/targets_time.py --repeat 5 --targets aiohttp node-ws
    python benchmarks/targets_time.py --profiles default --json times.json

For each target (conformance/targets/table.py) and profile, one worker process starts
the server once and runs the whole profile ``--repeat`` times against it. The table
gives the median wall time of a run (reachability check and every case, ``--jobs`` at
a time, server start-up excluded), its ratio to the built-in reference server
(``python -m conformance.reference_server``, the first row), the ratio full/default,
the FAIL+ERROR count of the last run, and two peak RSS figures of the suite (the server
runs in its own process and is never counted): ``MiB`` is the worker's, which runs the
cases through :func:`~conformance.runner.run_suite` and keeps only timings; ``cli`` is
that of one separate ``wsconform run -q`` process for the same target and profile,
which also keeps and returns the whole report (on CPython 3.11 ``asyncio.run`` then
builds the report's full ``repr`` while restoring the SIGINT handler, see
docs/benchmarks.md). Targets run one after another, so they do not compete for the
cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conformance.driver import Target  # noqa: E402
from conformance.runner import run_suite, select_cases  # noqa: E402
from conformance.server_process import ServerCommand  # noqa: E402
from conformance.targets import table  # noqa: E402

REFERENCE = "reference"
TIMEOUTS = {"default": 5.0, "full": 30.0}


def command_for(name: str) -> str:
    if name == REFERENCE:
        return f"{sys.executable} -m conformance.reference_server --port {{port}}"
    return table.server_command(table.by_name()[name], root=ROOT)


async def measure(name: str, profile: str, repeat: int, jobs: int) -> dict[str, Any]:
    cases = select_cases(profile=profile)
    times: list[float] = []
    summary: dict[str, int] = {}
    async with ServerCommand(command_for(name)) as server:
        target = Target.parse(f"ws://{server.host}:{server.port}/")
        for _ in range(repeat):
            started = time.perf_counter()
            report = await run_suite(target, cases, timeout=TIMEOUTS[profile], jobs=jobs)
            times.append(time.perf_counter() - started)
            summary = report.summary()
    return {
        "target": name,
        "profile": profile,
        "cases": len(cases),
        "times": times,
        "median": statistics.median(times),
        "summary": summary,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def worker(
    name: str, profile: str, repeat: int, jobs: int, *, script: str = __file__
) -> dict[str, Any]:
    """One (target, profile) in a fresh interpreter running ``script --worker``, so its
    peak RSS (and CPU time) is its own."""
    done = subprocess.run(
        [sys.executable, script, "--worker", name, profile, str(repeat), str(jobs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        return {"target": name, "profile": profile, "error": " ".join(tail) or "failed"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


CLI_PEAK = """
import contextlib, io, resource, signal, sys
from conformance.cli import main
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even when
# started in the background (SIG_IGN): asyncio.run's SIGINT handling is part of the cost
with contextlib.redirect_stdout(io.StringIO()):
    main(["run", "-q", "--server-cmd", sys.argv[1], "--profile", sys.argv[2],
          "--timeout", sys.argv[3]])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def cli_peak(name: str, profile: str) -> float | None:
    """Peak RSS (MiB) of one ``wsconform run -q`` process for ``name`` and ``profile``."""
    done = subprocess.run(
        [sys.executable, "-c", CLI_PEAK, command_for(name), profile, str(TIMEOUTS[profile])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def render(results: list[dict[str, Any]], profiles: list[str]) -> str:
    by = {(r["target"], r["profile"]): r for r in results}
    base = {p: by.get((REFERENCE, p), {}).get("median") for p in profiles}
    head = f"{'target':<26}"
    for p in profiles:
        head += f" {p + ' s':>10} {'×ref':>6} {'fail':>5} {'MiB':>5} {'cli':>5}"
    if len(profiles) == 2:
        head += f" {'full/def':>8}"
    lines = [head]
    names = list(dict.fromkeys(r["target"] for r in results))
    for name in names:
        line = f"{name:<26}"
        for p in profiles:
            r = by.get((name, p), {})
            if "median" not in r:
                line += f" {'error':>10} {'':>6} {'':>5} {'':>5} {'':>5}"
                continue
            ratio = r["median"] / base[p] if base[p] else float("nan")
            fails = r["summary"].get("fail", 0) + r["summary"].get("error", 0)
            cli = f"{r['cli_rss_mib']:.0f}" if r.get("cli_rss_mib") else "?"
            line += (
                f" {r['median']:>10.2f} {ratio:>6.1f} {fails:>5} {r['peak_rss_mib']:>5.0f} {cli:>5}"
            )
        if len(profiles) == 2:
            d, f = by.get((name, profiles[0]), {}), by.get((name, profiles[1]), {})
            if "median" in d and "median" in f:
                line += f" {f['median'] / d['median']:>8.1f}"
        lines.append(line)
    for r in results:
        if "error" in r:
            lines.append(f"{r['target']} {r['profile']}: {r['error']}")
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        name, profile, repeat, jobs = sys.argv[2:6]
        print(json.dumps(asyncio.run(measure(name, profile, int(repeat), int(jobs)))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", metavar="NAME", help="default: all installed")
    parser.add_argument("--profiles", nargs="+", choices=("default", "full"),
                        default=["default", "full"])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs per target and profile")
    parser.add_argument("--jobs", type=int, default=4, help="cases in parallel (as wsconform)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures")
    args = parser.parse_args()
    names = args.targets or [t.name for t in table.TARGETS]
    runnable = []
    for name in names:
        reason = table.unavailable(table.by_name()[name])
        if reason:
            print(f"skip {name}: {reason}", file=sys.stderr)
        else:
            runnable.append(name)
    results = []
    for name in [REFERENCE, *runnable]:
        for profile in args.profiles:
            result = worker(name, profile, args.repeat, args.jobs)
            result["cli_rss_mib"] = cli_peak(name, profile)
            results.append(result)
            shown = f"{result['median']:.2f}s" if "median" in result else result["error"]
            print(f"{name} {profile}: {shown}", file=sys.stderr, flush=True)
    print(render(results, args.profiles))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
