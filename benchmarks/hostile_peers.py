"""Run the handshake section against each hostile peer: time, verdicts, peak memory.

    python benchmarks/hostile_peers.py [--timeout 2] [--jobs 16]

For each kind of hostile peer (fixtures/hostile.py) it reports the wall time of the
run, the outcome counts (a PASS against a peer that never answers is a bug) and the
peak Python heap allocated during the run (tracemalloc), so a peer that trickles,
floods or announces a 2^63-byte frame is shown not to grow the suite's memory.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import tracemalloc

from conformance.cases import handshake
from conformance.driver import Target
from conformance.runner import run_cases
from fixtures.hostile import HOSTILE_KINDS, start_hostile_server


async def against(kind: str, timeout: float, jobs: int) -> tuple[float, dict[str, int], int]:
    cases = list(handshake.CASES)
    async with await start_hostile_server(kind) as server:
        tracemalloc.start()
        tracemalloc.reset_peak()
        started = time.perf_counter()
        results = await run_cases(cases, Target.parse(server.url), timeout=timeout, jobs=jobs)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
    return elapsed, counts, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--jobs", type=int, default=16)
    args = parser.parse_args()
    print(f"{'peer':<18} {'time':>7} {'heap peak':>10}  outcomes")
    for kind in HOSTILE_KINDS:
        elapsed, counts, peak = asyncio.run(against(kind, args.timeout, args.jobs))
        print(f"{kind:<18} {elapsed:6.2f}s {peak / 2**20:8.2f}MiB  {counts}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.1f} MiB (case timeout {args.timeout:g}s, jobs {args.jobs})")


if __name__ == "__main__":
    main()
