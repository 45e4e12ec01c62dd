"""What one client scenario showed: the adapter's events and the scenario server's records
(docs/client-adapters.md). Plain data, read by the judge; the harness fills it in."""

from __future__ import annotations

from dataclasses import dataclass, field

from .protocol import AdapterEvent
from .scenario_server.records import ConnectionRecord
from .scenarios import ClientScenario

WIRE_GRACE = 3.0
"""Seconds the server may still need, after the terminal event, to finish the connection."""


@dataclass(slots=True)
class ClientObservation:
    """Everything seen in one scenario: the adapter's events and the server's records."""

    scenario: ClientScenario
    url: str
    events: list[AdapterEvent] = field(default_factory=list)
    records: list[ConnectionRecord] = field(default_factory=list)
    timed_out: bool = False  # no terminal event before the deadline
    harness_closed: bool = False  # the harness sent close at the deadline
    problems: list[str] = field(default_factory=list)  # contract breaches by the adapter
    stderr_tail: str = ""
    duration_s: float = 0.0

    @property
    def script_events(self) -> list[AdapterEvent]:
        """The events a script would see (logs and malformed lines left out)."""
        return [
            e for e in self.events if e.type in ("open", "message", "error", "close", "exception")
        ]

    def first(self, kind: str) -> AdapterEvent | None:
        return next((e for e in self.events if e.type == kind), None)

    @property
    def terminal(self) -> AdapterEvent | None:
        return next((e for e in self.events if e.terminal), None)

    @property
    def opened(self) -> bool:
        return self.first("open") is not None

    def records_for(self, scenario_name: str) -> list[ConnectionRecord]:
        return [r for r in self.records if r.scenario == scenario_name]
