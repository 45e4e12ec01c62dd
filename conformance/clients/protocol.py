"""The JSON-lines adapter contract (``docs/client-adapters.md``): commands out, events in.

Events are checked for shape here, once: a line that is not a JSON object, an unknown
event or a missing field becomes a :attr:`AdapterEvent.problem`, which the harness
reports (an adapter bug is an ERROR, never a verdict on the client).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "ready": ("client",),
    "open": ("conn",),
    "message": ("conn",),
    "error": ("conn",),
    "close": ("conn", "code", "reason", "wasClean"),
    "exception": ("conn", "phase", "name"),
    "log": (),
}
"""Every event the contract defines, with the fields it must carry."""

MAX_LINE = 1 << 20
"""Longest event line read from an adapter (a hostile or broken adapter cannot flood us)."""


@dataclass(frozen=True, slots=True)
class AdapterEvent:
    """One event line, with the harness's receive time (seconds since ``connect``)."""

    type: str
    fields: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0
    problem: str | None = None  # why the line breaks the contract, if it does

    @property
    def conn(self) -> int | None:
        value = self.fields.get("conn")
        return value if isinstance(value, int) else None

    @property
    def terminal(self) -> bool:
        """``close``, or ``exception`` raised by the connect step."""
        return self.type == "close" or (
            self.type == "exception" and self.fields.get("phase") in ("connect", "constructor")
        )

    def describe(self) -> str:
        """A compact rendering for evidence: ``close(1006, '', wasClean=False)``."""
        f = self.fields
        if self.type == "open":
            return f"open(protocol={f.get('protocol', '')!r})"
        if self.type == "message":
            return (
                f"message({f['text']!r})"
                if "text" in f
                else f"message(<binary {f.get('binary', '')!r}>)"
            )
        if self.type == "close":
            return f"close({f.get('code')}, {f.get('reason')!r}, wasClean={f.get('wasClean')})"
        if self.type == "exception":
            status = f" status={f['status']}" if f.get("status") is not None else ""
            return f"{f.get('phase')} raised {f.get('name')}{status}"
        if self.type == "error":
            return "error"
        return self.type


def parse_event(line: bytes, at: float) -> AdapterEvent:
    """One adapter stdout line as an event; never raises."""
    try:
        data = json.loads(line)
    except ValueError:
        return AdapterEvent(
            "invalid", {"line": line[:200].decode("utf-8", "replace")}, at, "not JSON"
        )
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return AdapterEvent("invalid", {"line": repr(data)[:200]}, at, "no 'event' field")
    kind = data.pop("event")
    if kind not in EVENT_FIELDS:
        return AdapterEvent(kind, data, at, f"unknown event {kind!r}")
    missing = [name for name in EVENT_FIELDS[kind] if name not in data]
    problem = f"{kind} lacks {', '.join(missing)}" if missing else None
    return AdapterEvent(kind, data, at, problem)


ECHO = "echo"
"""The optional ``connect`` field (boolean, false when absent) for echo mode: with ``true``
the adapter sends back every message it receives, text as text and binary as binary
(docs/client-adapters.md, "Echo mode")."""


def command(op: str, **fields: Any) -> bytes:
    """One command line: ``command("send", conn=1, text="hi")``."""
    return (json.dumps({"op": op, **fields}) + "\n").encode()
