"""Mutation score: run the default profile against every fault of fixtures/fault_server.py.

    python benchmarks/mutation.py [--timeout 2] [--jobs 16]

A fault is caught when at least one case gets FAIL (or WARN, for a fault that breaks a
SHOULD). Prints one line per fault and the score; exits 1 if a fault other than the
ones the text allows (see docs/mutation.md) goes uncaught.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: fixtures/ lives in the checkout
    sys.path.insert(0, str(ROOT))

from conformance.cases import all_cases  # noqa: E402
from conformance.driver import Target  # noqa: E402
from conformance.model.verdict import Outcome  # noqa: E402
from conformance.runner import run_cases  # noqa: E402
from fixtures.deflate_faults import DEFLATE_FAULTS  # noqa: E402
from fixtures.fault_server import FAULTS, HANDSHAKE_FAULTS, start_fault_server  # noqa: E402

ALLOWED_UNCAUGHT = {
    "utf8-late": "fail-fast is asked for by no sentence: a late 1007 is INFO",
    "pong-unsolicited": "§5.5.3: a response to an unsolicited Pong is 'not expected': INFO",
    "close-wrong-code": "§5.5.1: the reply 'typically echos' the code (no keyword): INFO",
    "limit-on-compressed-size": (
        "a suite gap left to issue #15: no case yet sends a message that inflates past the "
        "server's limit (the decompression-bomb checks)"
    ),
}


async def against(fault: str, timeout: float, jobs: int) -> tuple[int, int]:
    cases = [case for case in all_cases() if case.profile == "default"]
    async with await start_fault_server(fault) as server:
        results = await run_cases(cases, Target.parse(server.url), timeout=timeout, jobs=jobs)
    fails = sum(r.outcome is Outcome.FAIL for r in results)
    return fails, sum(r.outcome is Outcome.WARN for r in results)


def _kind(fault: str) -> str:
    """The fault's family: the opening handshake, the wire, or permessage-deflate."""
    if fault in HANDSHAKE_FAULTS:
        return "handshake"
    return "deflate" if fault in DEFLATE_FAULTS else "wire"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--jobs", type=int, default=16)
    args = parser.parse_args()
    started = time.perf_counter()
    uncaught: list[str] = []
    for fault in FAULTS:
        fails, warns = asyncio.run(against(fault, args.timeout, args.jobs))
        kind = _kind(fault)
        print(f"{kind:9} {fault:42} FAIL {fails:3}  WARN {warns:3}")
        if not fails and not warns:
            uncaught.append(fault)
    caught = len(FAULTS) - len(uncaught)
    print(f"mutation score {caught}/{len(FAULTS)} in {time.perf_counter() - started:.0f}s")
    for fault in uncaught:
        print(f"  uncaught {fault}: {ALLOWED_UNCAUGHT.get(fault, 'NOT EXPLAINED: a suite gap')}")
    return 0 if set(uncaught) <= set(ALLOWED_UNCAUGHT) else 1


if __name__ == "__main__":
    sys.exit(main())
