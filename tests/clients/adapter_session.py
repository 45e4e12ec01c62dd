"""Driving one adapter process over the JSON-lines contract, for the adapter tests.

Events stay plain dicts, as the adapter wrote them; every read has a deadline.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

Event = dict[str, Any]


def is_terminal(event: Event) -> bool:
    """``close``, or ``exception`` raised by the connect step (docs/client-adapters.md)."""
    kind = event["event"]
    return kind == "close" or (kind == "exception" and event.get("phase") == "connect")


class AdapterSession:
    """An adapter process: commands in, events out, each read under ``step_timeout``."""

    def __init__(self, process: asyncio.subprocess.Process, step_timeout: float) -> None:
        self.process = process
        self.step_timeout = step_timeout
        self.events: list[Event] = []

    async def command(self, **fields: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(fields) + "\n").encode())
        await self.process.stdin.drain()

    async def next_event(self) -> Event:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), self.step_timeout)
        assert line, "the adapter closed its stdout"
        event: Event = json.loads(line)
        self.events.append(event)
        return event

    async def wait(self) -> int:
        """The rest of stdout, then the exit status."""
        assert self.process.stdout is not None
        rest = await asyncio.wait_for(self.process.stdout.read(), self.step_timeout)
        self.events += [json.loads(line) for line in rest.splitlines() if line.strip()]
        return await asyncio.wait_for(self.process.wait(), self.step_timeout)

    async def quit(self) -> int:
        await self.command(op="quit")
        return await self.wait()
