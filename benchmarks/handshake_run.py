"""Time the opening-handshake section against the built-in reference server.

    python benchmarks/handshake_run.py [--repeat 20] [--jobs 4] [--subprocess]

Reports the median, minimum and maximum wall time of a whole run (reachability check
and every case) and the peak resident memory of this process. With ``--subprocess``
the server runs in its own process (``python -m conformance.reference_server``), as a
third-party server would, so that client and server do not share one event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time

from conformance.cases import handshake
from conformance.driver import Target
from conformance.reference_server import start_reference_server
from conformance.runner import run_suite
from conformance.server_process import ServerCommand


async def one_run(url: str, jobs: int) -> tuple[float, dict[str, int]]:
    cases = list(handshake.CASES)
    started = time.perf_counter()
    report = await run_suite(Target.parse(url), cases, jobs=jobs)
    return time.perf_counter() - started, report.summary()


async def main_async(repeat: int, jobs: int, subprocess: bool) -> list[float]:
    times: list[float] = []
    summary: dict[str, int] = {}
    if subprocess:
        cmd = f"{sys.executable} -m conformance.reference_server --port {{port}}"
        async with ServerCommand(cmd) as server:
            url = f"ws://127.0.0.1:{server.port}/"
            for _ in range(repeat):
                elapsed, summary = await one_run(url, jobs)
                times.append(elapsed)
    else:
        async with await start_reference_server() as server:
            for _ in range(repeat):
                elapsed, summary = await one_run(server.url, jobs)
                times.append(elapsed)
    print(f"cases per run: {sum(summary.values())} {summary}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--subprocess", action="store_true")
    args = parser.parse_args()
    times = asyncio.run(main_async(args.repeat, args.jobs, args.subprocess))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    where = "subprocess" if args.subprocess else "in-process"
    print(
        f"handshake section vs reference server ({where}, jobs={args.jobs}, "
        f"{len(times)} runs): median {statistics.median(times) * 1000:.1f} ms, "
        f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms; "
        f"peak RSS {peak_mib:.1f} MiB"
    )


if __name__ == "__main__":
    main()
