"""Judging one fuzz case: the echo property (RFC 6455 §5.4, §5.5.3) and failing the
connection (§7.1.7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..model.constants import opcode_name
from ..model.observed import Observed, TransportEnd
from .scenario import FuzzCase, ModelReading


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a case failed: ``signature`` groups failures that shrinking must keep."""

    signature: str
    text: str


def _show(data: bytes) -> str:
    head = data[:24]
    unit = "byte" if len(data) == 1 else "bytes"
    return f"{len(data)} {unit} {head!r}{'…' if len(data) > len(head) else ''}"


def _first_difference(a: bytes, b: bytes) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def _is_subsequence(seen: Sequence[bytes], sent: Sequence[bytes]) -> bool:
    remaining = iter(sent)
    return all(any(item == candidate for candidate in remaining) for item in seen)


def judge_echo(want: ModelReading, seen: Observed) -> Problem | None:
    """Every message echoed unchanged and in order (§5.4, §5.6); Pongs echo Pings (§5.5.3)."""
    got = seen.messages
    for index, message in enumerate(want.messages):
        if index >= len(got):
            return Problem(
                "echo-missing",
                f"message #{index + 1} ({opcode_name(message.opcode)}, {len(message.data)} bytes) "
                f"was not echoed; {len(got)} of {len(want.messages)} came back",
            )
        opcode, data = got[index]
        if (opcode, data) != (message.opcode, message.data):
            at = _first_difference(data, message.data)
            return Problem(
                "echo-wrong",
                f"message #{index + 1}: sent {opcode_name(message.opcode)} of "
                f"{_show(message.data)}, echoed {opcode_name(opcode)} of {_show(data)} "
                f"(first difference at byte {at})",
            )
    if len(got) > len(want.messages):
        return Problem("echo-extra", f"{len(got) - len(want.messages)} message(s) more than sent")
    if not _is_subsequence(seen.pongs, want.pings):
        return Problem(
            "pong", f"Pong data {[p[:16] for p in seen.pongs]!r} is not the data of the Pings sent"
        )
    if seen.violations:
        return Problem("frames", f"the server's frames break a rule: {seen.violations[0]}")
    if seen.close is not None and not seen.close.reply:
        return Problem("closed", f"the server closed valid traffic: {seen.close.describe()}")
    if seen.timed_out:
        return Problem("timeout", "no Pong for the barrier Ping before the deadline (§5.5.2)")
    return None


def judge_failure(scenario: FuzzCase, seen: Observed, late_ok: bool = False) -> Problem | None:
    """_Fail the WebSocket Connection_ (§7.1.7): Close 1002/1007 or TCP close, no Pong.

    ``late_ok``: the offence may be found late (invalid UTF-8, §8.1), so a Pong for a
    later Ping is no problem as long as the server then fails with a right code.
    """
    late = late_ok and seen.close is not None and seen.close.code in scenario.codes
    if seen.continued and not late:
        return Problem(
            "continued",
            "the server answered a Ping sent after the offending frame: "
            "it went on processing (§7.1.7)",
        )
    close = seen.close
    codes = "/".join(str(c) for c in sorted(scenario.codes))
    if close is not None and close.code not in scenario.codes:
        return Problem("code", f"{close.describe()}, expected a Close with {codes}")
    if close is None and seen.transport is TransportEnd.OPEN:
        return Problem(
            "open",
            "neither a Close nor a TCP close before the deadline: the connection was not failed",
        )
    return None
