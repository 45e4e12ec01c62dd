"""Shrinking a failing fuzz case: fewest frames, then shortest payloads, then fewest TCP
writes, each candidate kept only if the model still reads it as valid traffic (or the
same single broken rule, RFC 6455 §5) and the server fails it the same way."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final

from ..driver import Target
from ..model.constants import Opcode
from ..model.frames import Frame
from .scenario import FuzzCase, encode_frames, read_case
from .trial import Trial, run_trial

SHRINK_RUNS: Final = 300
"""Live runs one shrink may take; the time budget is ``SHRINK_RUNS // 10`` deadlines."""


def _without(frames: tuple[Frame, ...], start: int, stop: int) -> tuple[Frame, ...]:
    return frames[:start] + frames[stop:]


def _fewer_frames(frames: tuple[Frame, ...]) -> Iterator[tuple[Frame, ...]]:
    """Delete runs of frames, largest first (delta debugging)."""
    size = len(frames)
    run = size
    while run >= 1:
        for start in range(0, size - run + 1):
            yield _without(frames, start, start + run)
        run //= 2


def _merged(frames: tuple[Frame, ...]) -> Iterator[tuple[Frame, ...]]:
    """Join a fragment with the next one (§5.4: fewer frames, same message)."""
    for i in range(len(frames) - 1):
        first, second = frames[i], frames[i + 1]
        if first.is_control or second.opcode != Opcode.CONTINUATION or first.fin:
            continue
        joined = replace(first, payload=first.payload + second.payload, fin=second.fin)
        yield (*frames[:i], joined, *frames[i + 2 :])


def _cut_lengths(size: int) -> list[int]:
    targets = [0, size // 2, size * 3 // 4, size - 1]
    out: list[int] = []
    for target in targets:
        for n in range(target, max(target - 4, -1), -1):  # a UTF-8 character boundary nearby
            if 0 <= n < size and n not in out:
                out.append(n)
    return out


def _shorter(frames: tuple[Frame, ...]) -> Iterator[tuple[Frame, ...]]:
    """Each payload cut at its end, then at its start, to 0, 1/2, 3/4 and all but 1 byte."""
    for i, frame in enumerate(frames):
        payload = frame.payload
        cuts = _cut_lengths(len(payload))
        kept = [payload[:n] for n in cuts] + [payload[len(payload) - n :] for n in cuts if n]
        for shorter in dict.fromkeys(kept):
            yield (*frames[:i], replace(frame, payload=shorter), *frames[i + 1 :])


def _plainer(frames: tuple[Frame, ...]) -> Iterator[tuple[Frame, ...]]:
    """Payloads made of ``a`` only: valid text and binary alike, easy to read.

    All at once first: a character cut across fragments only goes away that way.
    """
    data_frames = [f for f in frames if not f.is_control]
    if len(data_frames) > 1:
        yield tuple(
            f if f.is_control else replace(f, payload=b"a" * len(f.payload)) for f in frames
        )
    for i, frame in enumerate(frames):
        plain = b"a" * len(frame.payload)
        if frame.payload != plain:
            yield (*frames[:i], replace(frame, payload=plain), *frames[i + 1 :])


def _fewer_splits(splits: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    if splits:
        yield ()
        yield splits[: len(splits) // 2]
        for i in range(len(splits)):
            yield splits[:i] + splits[i + 1 :]


def _fit(splits: tuple[int, ...], frames: tuple[Frame, ...]) -> tuple[int, ...]:
    size = len(encode_frames(frames))
    return tuple(p for p in splits if p < size)


def candidates(s: FuzzCase) -> Iterator[FuzzCase]:
    """Simpler scenarios, most aggressive first: fewer frames, shorter payloads, fewer writes."""
    for frames in (*_fewer_frames(s.frames), *_merged(s.frames)):
        yield replace(s, frames=frames, splits=_fit(s.splits, frames))
    for offending in (*_fewer_frames(s.offending), *_merged(s.offending)):
        yield replace(s, offending=offending, offending_splits=_fit(s.offending_splits, offending))
    for frames in _shorter(s.frames):
        yield replace(s, frames=frames, splits=_fit(s.splits, frames))
    for offending in _shorter(s.offending):
        yield replace(s, offending=offending, offending_splits=_fit(s.offending_splits, offending))
    for splits in _fewer_splits(s.splits):
        yield replace(s, splits=splits)
    for splits in _fewer_splits(s.offending_splits):
        yield replace(s, offending_splits=splits)
    for frames in _plainer(s.frames):
        yield replace(s, frames=frames)
    for offending in _plainer(s.offending):
        yield replace(s, offending=offending)


@dataclass(slots=True)
class Shrunk:
    """The smallest scenario found that still fails the same way, and how it was found."""

    scenario: FuzzCase
    trial: Trial
    steps: int = 0
    runs: int = 0
    exhausted: bool = False  # the run or time budget ran out before a fixed point


async def shrink(
    target: Target,
    scenario: FuzzCase,
    trial: Trial,
    *,
    timeout: float,
    max_runs: int = SHRINK_RUNS,
    max_seconds: float | None = None,
) -> Shrunk:
    """Greedy shrinking: take the first simpler candidate that fails with the same signature."""
    assert trial.problem is not None
    signature = trial.problem.signature
    best = Shrunk(scenario, trial)
    budget = max_seconds if max_seconds is not None else max(30.0, timeout * max_runs / 10)
    stop_at = time.monotonic() + budget
    improved = True
    while improved:
        improved = False
        tried: set[FuzzCase] = set()
        for candidate in candidates(best.scenario):
            if candidate.size() >= best.scenario.size() or candidate in tried:
                continue
            tried.add(candidate)
            if read_case(candidate) is None:
                continue
            if best.runs >= max_runs or time.monotonic() >= stop_at:
                best.exhausted = True
                return best
            best.runs += 1
            result = await run_trial(target, candidate, timeout)
            if result.problem is not None and result.problem.signature == signature:
                best.scenario, best.trial = candidate, result
                best.steps += 1
                improved = True
                break
    return best
