"""Run cases against a target: one connection each, concurrently, each within its deadline."""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from .cases import all_cases
from .cases.base import Case
from .driver import ConfigError, DeadlineExceeded, Target, Unreachable
from .model.user_agent import refusal_note
from .model.verdict import Outcome, Verdict
from .results import CaseResult, RunReport, reproduce_command
from .session.context import CannotRun, CaseContext, Dial, PeerFacts
from .session.preflight import PreflightResult, preflight

DEFAULT_TIMEOUT = 5.0
"""Seconds one case may take, all its steps included."""
FULL_PROFILE_TIMEOUT = 30.0
"""The default under ``--profile full``: its cases send Autobahn's message counts (1000
messages of up to 128 KiB, compressed by the server) and 16 MiB messages."""


def default_timeout(profile: str) -> float:
    """The per-case deadline when none is given: :data:`FULL_PROFILE_TIMEOUT` for the full
    profile, else :data:`DEFAULT_TIMEOUT`."""
    return FULL_PROFILE_TIMEOUT if profile == "full" else DEFAULT_TIMEOUT


GRACE = 1.0
"""Extra seconds past a case's deadline before the runner cancels a stuck case."""

Progress = Callable[[CaseResult], None]


def select_cases(
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    *,
    role: str = "server",
    profile: str = "default",
    cases: Sequence[Case] | None = None,
) -> list[Case]:
    """The cases whose id matches any ``include`` glob (all if none) and no ``exclude``.

    ``--cases`` also accepts a plain prefix: ``rfc6455/4.2.1`` selects its cases.
    """
    include = list(include)
    exclude = list(exclude)
    pool = all_cases() if cases is None else cases

    def hit(case: Case, pattern: str) -> bool:
        return fnmatch.fnmatchcase(case.id, pattern) or _under(case, pattern.rstrip("/"))

    chosen = [
        case
        for case in pool
        if case.role == role
        and in_profile(case, profile)
        and (not include or any(hit(case, p) for p in include))
        and not any(hit(case, p) for p in exclude)
    ]
    return chosen


def in_profile(case: Case, profile: str) -> bool:
    """``default`` runs the default cases, ``full`` adds the big ones, ``security`` runs
    the security checks alone (opt-in: they probe policy, not conformance)."""
    if profile == "security" or case.profile == "security":
        return case.profile == profile
    return profile == "full" or case.profile == "default"


def _under(case: Case, prefix: str) -> bool:
    """``rfc6455/4`` covers §4 and its subsections; ``rfc6455/4.2.1`` its own cases."""
    spec, _, section = prefix.partition("/")
    if "/" in section:
        return case.id.startswith(prefix + "/") or case.id == prefix
    if case.spec != spec:
        return False
    return not section or case.section == section or case.section.startswith(section + ".")


async def run_case(
    case: Case,
    target: Target,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    reproduce: str = "",
    facts: PeerFacts | None = None,
    dial: Dial | None = None,
) -> CaseResult:
    """Run one case; never raises for anything the peer does.

    ``facts`` are what the preflight learned (which barrier the server can serve).
    ``dial``: the peer is a client under test and the suite plays the server
    (:class:`~conformance.session.context.CaseContext`).

    Under a :class:`~conformance.driver.Segmentation` the case's writes are shaped from
    the seed and its own id, whatever ran before it.
    """
    if target.segmentation is not None:
        target = replace(target, segmentation=target.segmentation.for_case(case.id))
    loop = asyncio.get_running_loop()
    started = loop.time()
    timeout *= case.timeout_scale
    ctx = CaseContext(target, started + timeout, facts, dial)
    notes: list[str] = []
    try:
        async with asyncio.timeout_at(ctx.deadline + GRACE):
            observed = await case.run(ctx)
        verdict = case.judge(observed)
        notes.extend(observed.notes)
        browser_view = refusal_note(observed.response) if case.role == "server" else None
        if browser_view is not None:  # a server's refusal, as a browser script sees it
            notes.append(browser_view)
    except (Unreachable, CannotRun) as exc:
        verdict = Verdict(Outcome.ERROR, str(exc))
    except (DeadlineExceeded, TimeoutError):
        verdict = Verdict(
            Outcome.ERROR, f"the case did not finish within its {timeout:g}s deadline"
        )
    except Exception as exc:  # a bug in the suite: report it, keep running
        verdict = Verdict(Outcome.ERROR, f"suite error: {type(exc).__name__}: {exc}")
    finally:
        try:
            await ctx.close_all()
        except Exception as exc:  # a bug in the suite's cleanup: say so, keep running
            notes.append(f"suite error while closing: {type(exc).__name__}: {exc}")
    if case.notes:
        notes.append(case.notes)
    return CaseResult(
        id=case.id,
        title=case.title,
        outcome=verdict.outcome,
        level=case.level,
        requirements=tuple(dict.fromkeys((*case.requirements, *verdict.requirements))),
        expected=case.expected_text(),
        actual=verdict.actual,
        duration_s=round(loop.time() - started, 4),
        sent=bytes(ctx.transcript.sent),
        received=bytes(ctx.transcript.received),
        sent_total=ctx.transcript.sent_total,
        received_total=ctx.transcript.received_total,
        notes=tuple(notes),
        reproduce=reproduce,
    )


async def run_cases(
    cases: Sequence[Case],
    target: Target,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = 4,
    progress: Progress | None = None,
    target_args: Sequence[str] | None = None,
    facts: PeerFacts | None = None,
) -> list[CaseResult]:
    """Run ``cases`` with at most ``jobs`` at once; results in case order."""
    if jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    gate = asyncio.Semaphore(jobs)
    named = (target.url,) if target_args is None else tuple(target_args)

    async def one(case: Case) -> CaseResult:
        async with gate:
            reproduce = reproduce_command(named, case.id)
            result = await run_case(case, target, timeout=timeout, reproduce=reproduce, facts=facts)
        if progress is not None:
            progress(result)
        return result

    return list(await asyncio.gather(*(one(case) for case in cases)))


async def check_reachable(target: Target, timeout: float) -> PreflightResult:
    """The preflight (one valid opening handshake, RFC 6455 §4.1) within ``timeout``.

    Raise :class:`Unreachable` with a one-line diagnosis unless the target opens a
    connection and answers 101: a target that is not a WebSocket server is reported
    once, in seconds, instead of by every case.
    """
    result = await preflight(target, timeout)
    if not result.ok:
        raise Unreachable(result.problem)
    return result


async def run_suite(
    target: Target,
    cases: Sequence[Case],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = 4,
    progress: Progress | None = None,
    strict: bool = False,
    target_args: Sequence[str] | None = None,
) -> RunReport:
    """Run the preflight (:func:`check_reachable`), then every case; return the report."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    found = await check_reachable(target, timeout)
    results = await run_cases(
        cases,
        target,
        timeout=timeout,
        jobs=jobs,
        progress=progress,
        target_args=target_args,
        facts=found.facts,
    )
    return RunReport(
        target_url=target.url,
        results=results,
        duration_s=round(time.perf_counter() - clock, 3),
        started_at=started_at,
        strict=strict,
        server_header=found.server_header,
        preflight=found.facts.lines,
    )
