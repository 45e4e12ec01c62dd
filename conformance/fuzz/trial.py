"""One run of a fuzz case against the server, on a fresh connection (RFC 6455 §5, §7.1.7)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from ..driver import DeadlineExceeded, Target, Unreachable
from ..model import rules
from ..model.random_traffic import split_at
from ..runner import GRACE
from ..session.context import CannotRun, CaseContext
from ..session.wire import WireSession, watch_echo, watch_failure
from .judge import Problem, judge_echo, judge_failure
from .scenario import FuzzCase, ModelReading, read_case


@dataclass(frozen=True, slots=True)
class Trial:
    """One run of a scenario against the server."""

    problem: Problem | None
    error: str | None
    sent: bytes
    received: bytes
    sent_total: int
    received_total: int
    duration_s: float


async def _send_writes(session: WireSession, data: bytes, splits: Sequence[int]) -> None:
    if data:
        for piece in split_at(data, splits):
            if not await session.send(piece):
                return


async def _observe(session: WireSession, scenario: FuzzCase, want: ModelReading) -> Problem | None:
    await _send_writes(session, scenario.data, scenario.splits)
    session.messages_sent += len(want.messages)  # sent as raw bytes: count them here
    if scenario.kind == "echo":
        return judge_echo(want, await watch_echo(session))
    if not await session.settle():  # the echoes themselves are the echo property's
        return Problem(
            "prefix", "no Pong for a Ping sent after the valid frames, before any invalid one"
        )
    await _send_writes(session, scenario.offending_data, scenario.offending_splits)
    late_ok = scenario.rule == rules.TEXT_UTF8  # §8.1: found when "finds", no time given
    return judge_failure(scenario, await watch_failure(session, patient=late_ok), late_ok)


async def run_trial(target: Target, scenario: FuzzCase, timeout: float) -> Trial:
    """Send ``scenario`` on a fresh connection and judge what comes back.

    Never raises for anything the server does; a scenario the model rejects (not valid
    traffic, or not exactly one broken rule) is a :class:`ValueError`.
    """
    want = read_case(scenario)
    if want is None:
        raise ValueError(f"not a {scenario.kind} scenario: {scenario.describe()}")
    loop = asyncio.get_running_loop()
    started = loop.time()
    ctx = CaseContext(target, started + timeout)
    problem: Problem | None = None
    error: str | None = None
    try:
        async with asyncio.timeout_at(ctx.deadline + GRACE):
            session = await WireSession.open(ctx)
            problem = await _observe(session, scenario, want)
    except (CannotRun, Unreachable) as exc:
        error = str(exc)
    except (DeadlineExceeded, TimeoutError):
        problem = Problem("timeout", f"the case did not finish within its {timeout:g}s deadline")
    except Exception as exc:  # a bug in the suite: report it, keep fuzzing
        error = f"suite error: {type(exc).__name__}: {exc}"
    finally:
        await ctx.close_all()
    record = ctx.transcript
    return Trial(
        problem,
        error,
        bytes(record.sent),
        bytes(record.received),
        record.sent_total,
        record.received_total,
        round(loop.time() - started, 4),
    )
