"""``wsconform fuzz``: each property checked on random examples, the first failure of
each shrunk (RFC 6455 §5.4, §5.5, §7.1.7)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from ..driver import Target
from ..results import CaseResult, RunReport
from ..runner import DEFAULT_TIMEOUT, check_reachable
from .generate import generate
from .report import example_result
from .scenario import FuzzCase, Kind
from .shrink import SHRINK_RUNS, shrink
from .trial import Trial, run_trial

DEFAULT_EXAMPLES: Final = 100


@dataclass(slots=True)
class FuzzRun:
    """A fuzzing run: the report (one result per example) and the counterexamples."""

    report: RunReport
    seed: int
    counterexamples: list[CaseResult] = field(default_factory=list)


async def fuzz(
    target: Target,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = 4,
    kinds: Sequence[Kind] = ("echo", "invalid"),
    target_args: Sequence[str] = (),
    shrink_runs: int = SHRINK_RUNS,
    progress: Callable[[CaseResult], None] | None = None,
) -> FuzzRun:
    """Check each property on ``examples`` random cases; shrink the first failure of each."""
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    await check_reachable(target, timeout)
    gate = asyncio.Semaphore(max(1, jobs))
    run = FuzzRun(RunReport(target_url=target.url, started_at=started_at), seed)

    async def one(kind: Kind, example: int) -> tuple[FuzzCase, Trial]:
        scenario = generate(kind, seed, example)
        async with gate:
            return scenario, await run_trial(target, scenario, timeout)

    for kind in kinds:
        trials = await asyncio.gather(*(one(kind, n) for n in range(examples)))
        results: list[CaseResult] = []
        first = next((n for n, (_, t) in enumerate(trials) if t.problem and not t.error), None)
        for n, (scenario, trial) in enumerate(trials):
            if n == first:
                shrunk = await shrink(
                    target, scenario, trial, timeout=timeout, max_runs=shrink_runs
                )
                result = example_result(
                    kind,
                    n,
                    shrunk.scenario,
                    shrunk.trial,
                    seed=seed,
                    target_args=target_args,
                    shrunk=shrunk,
                    original=scenario,
                )
                run.counterexamples.append(result)
            else:
                result = example_result(
                    kind, n, scenario, trial, seed=seed, target_args=target_args
                )
            results.append(result)
            if progress is not None:
                progress(result)
        run.report.results += results
    run.report.duration_s = round(time.perf_counter() - clock, 3)
    return run
