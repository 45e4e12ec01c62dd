"""Time whole runs of the suite against a server: median, min, max and peak memory.

    python benchmarks/suite_time.py                          # default profile, reference server
    python benchmarks/suite_time.py --cases rfc6455/4        # the opening-handshake section
    python benchmarks/suite_time.py --profile full --timeout 30
    python benchmarks/suite_time.py --engine model           # the reference server on our engine
    python benchmarks/suite_time.py --server-cmd 'node echo.js {port}'

Without ``--server-cmd`` the built-in reference server runs in a separate process
(``python -m conformance.reference_server``), as a third-party server would, so the
suite and the server do not share one event loop or core. Each repetition is a full
run: the reachability check and every selected case, ``--jobs`` at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time

from conformance.driver import Target
from conformance.runner import run_suite, select_cases
from conformance.server_process import ServerCommand


async def measure(args: argparse.Namespace) -> tuple[list[float], dict[str, int]]:
    cases = select_cases(args.cases or (), profile=args.profile)
    command = args.server_cmd or (
        f"{sys.executable} -m conformance.reference_server --port {{port}}"
        + (f" --engine {args.engine}" if args.engine else "")
    )
    times: list[float] = []
    summary: dict[str, int] = {}
    async with ServerCommand(command) as server:
        target = Target.parse(f"ws://{server.host}:{server.port}{args.path}")
        for _ in range(args.repeat):
            started = time.perf_counter()
            report = await run_suite(target, cases, timeout=args.timeout, jobs=args.jobs)
            times.append(time.perf_counter() - started)
            summary = report.summary()
    return times, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("default", "full"), default="default")
    parser.add_argument("--cases", action="append", help="id glob or prefix (repeatable)")
    parser.add_argument("--server-cmd", help="server command with {port}")
    parser.add_argument("--engine", choices=("wsproto", "model"), help="reference server engine")
    parser.add_argument("--path", default="/")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    times, summary = asyncio.run(measure(args))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    target = args.server_cmd or f"reference server ({args.engine or 'wsproto'})"
    print(f"target: {target}; profile {args.profile}; cases {sum(summary.values())} {summary}")
    print(
        f"{len(times)} runs, jobs={args.jobs}: median {statistics.median(times):.3f}s, "
        f"min {min(times):.3f}s, max {max(times):.3f}s; suite peak RSS {peak:.1f} MiB"
    )


if __name__ == "__main__":
    main()
