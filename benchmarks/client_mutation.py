"""Client mutation score: every wire case against every client fault.

    python benchmarks/client_mutation.py [--profile full] [--timeout 3]

Each fault of fixtures/client_faults.py runs as an adapter (``python -m
fixtures.faulty_client --fault NAME``) through the wire cases
(conformance/clients/wire_cases.py). Prints, per fault, how many cases it made FAIL or
WARN, then the wire cases no fault caught; exits 1 if there is one (a case that cannot
fail is a defect).
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

from conformance.cases.base import Case  # noqa: E402
from conformance.clients.harness import AdapterProcess  # noqa: E402
from conformance.clients.wire_cases import client_wire_cases  # noqa: E402
from conformance.clients.wire_run import run_wire_cases  # noqa: E402
from conformance.model.verdict import Outcome  # noqa: E402
from fixtures.client_faults import CLIENT_FAULTS  # noqa: E402

CAUGHT = (Outcome.FAIL, Outcome.WARN)


async def caught_by(fault: str, cases: tuple[Case, ...], timeout: float) -> set[str]:
    """The ids of the cases that FAIL or WARN against ``fault``."""
    adapter = AdapterProcess([sys.executable, "-m", "fixtures.faulty_client", "--fault", fault])
    await adapter.start()
    try:
        results = await run_wire_cases(adapter, cases, timeout=timeout)
    finally:
        await adapter.stop()
    return {r.id for r in results if r.outcome in CAUGHT}


async def main(profile: str, timeout: float) -> int:
    cases = client_wire_cases(profile)
    caught: set[str] = set()
    for fault in CLIENT_FAULTS:
        started = time.perf_counter()
        ids = await caught_by(fault, cases, timeout)
        caught |= ids
        took = time.perf_counter() - started
        print(f"{fault:30} {len(ids):4} of {len(cases)} cases  {took:.1f}s")
    never = [c.id for c in cases if c.id not in caught]
    print(f"{len(cases) - len(never)} of {len(cases)} wire cases fail or warn against a fault")
    for case_id in never:
        print(f"  never caught: {case_id}")
    return 1 if never else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("default", "full"), default="full")
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.profile, args.timeout)))
