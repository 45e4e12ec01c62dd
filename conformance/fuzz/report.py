"""Fuzz examples as report rows: a counterexample carries its seed, the exact bytes sent
and the command that repeats it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ..model.random_traffic import split_at
from ..model.verdict import Level, Outcome
from ..results import CaseResult, wsconform_command
from .scenario import FuzzCase, Kind
from .shrink import Shrunk
from .trial import Trial

HEX_LIMIT: Final = 4096
"""Bytes of a counterexample written out in hex."""

ECHO_REQUIREMENTS: Final = (
    "rfc6455-5.4-receive-fragmented",
    "rfc6455-5.4-control-mid-message",
    "rfc6455-5.4-no-frame-boundaries",
    "rfc6455-5.5.2-pong-reply",
    "rfc6455-5.5.3-pong-echo-data",
)
FAIL_REQUIREMENT: Final = "rfc6455-7.1.7-stop-processing-after-fail"


TITLES: Final = {
    "echo": "random messages, fragmented and cut into random TCP writes, come back unchanged",
    "invalid": "a random invalid frame fails the connection",
}
EXPECTED: Final = {
    "echo": "every message echoed unchanged and in order, each Pong carrying a Ping's data, "
    "a Pong for the barrier Ping, no Close from the server",
    "invalid": "_Fail the WebSocket Connection_: a Close with {codes} or a TCP close, "
    "and no Pong for a Ping sent after the offending frame",
}


def _hex_note(label: str, data: bytes) -> str:
    shown = data[:HEX_LIMIT].hex()
    more = f" … {len(data) - HEX_LIMIT} more bytes" if len(data) > HEX_LIMIT else ""
    return f"{label} ({len(data)} bytes, hex): {shown}{more}" if data else f"{label}: (no bytes)"


def _writes_note(label: str, data: bytes, splits: Sequence[int]) -> str:
    pieces = split_at(data, splits)
    sizes = ", ".join(str(len(p)) for p in pieces)
    return f"{label}: {len(pieces)} TCP write(s) of {sizes} bytes"


def example_result(
    kind: Kind,
    example: int,
    scenario: FuzzCase,
    trial: Trial,
    *,
    seed: int,
    target_args: Sequence[str],
    shrunk: Shrunk | None = None,
    original: FuzzCase | None = None,
) -> CaseResult:
    """One example as a report row; a counterexample carries the exact bytes sent."""
    outcome = Outcome.PASS
    actual = "as expected"
    if trial.error is not None:
        outcome, actual = Outcome.ERROR, trial.error
    elif trial.problem is not None:
        outcome, actual = Outcome.FAIL, trial.problem.text
    label = f" ({scenario.label})" if scenario.label else ""
    requirements = ECHO_REQUIREMENTS if kind == "echo" else (scenario.rule, FAIL_REQUIREMENT)
    codes = "/".join(str(c) for c in sorted(scenario.codes))
    notes = [f"seed {seed}, example {example}: {(original or scenario).describe()}"]
    if outcome is Outcome.FAIL:
        if shrunk is not None and original is not None:
            before = "{} frames, {} payload bytes, {} writes".format(*original.size()[:3])
            after = "{} frames, {} payload bytes, {} writes".format(*scenario.size()[:3])
            budget = " (stopped: budget spent)" if shrunk.exhausted else ""
            notes.append(
                f"shrunk in {shrunk.steps} steps ({shrunk.runs} runs){budget}: "
                f"from {before} to {after}: {scenario.describe()}"
            )
        if scenario.frames:
            notes.append(_hex_note("bytes sent after the handshake", scenario.data))
            notes.append(_writes_note("cut into", scenario.data, scenario.splits))
        if scenario.offending:
            notes.append(_hex_note("then, after a Ping/Pong barrier", scenario.offending_data))
            notes.append(
                _writes_note("cut into", scenario.offending_data, scenario.offending_splits)
            )
    return CaseResult(
        id=f"fuzz/{kind}/{example}",
        title=TITLES[kind] + label,
        outcome=outcome,
        level=Level.MUST,
        requirements=requirements,
        expected=EXPECTED[kind].format(codes=codes),
        actual=actual,
        duration_s=trial.duration_s,
        sent=trial.sent,
        received=trial.received,
        sent_total=trial.sent_total,
        received_total=trial.received_total,
        notes=tuple(notes),
        reproduce=wsconform_command(  # re-runs examples 0..example: each is drawn from the seed
            "fuzz", target_args, "--seed", str(seed), "--examples", str(example + 1)
        ),
    )
