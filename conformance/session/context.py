"""What a running case may use: the target, its deadline and a transcript.

Every connection a case opens is bounded by the one deadline of the case and
recorded in its transcript, so the evidence of a verdict is every byte exchanged.
"""

from __future__ import annotations

from ..driver import Connection, Target, Transcript

__all__ = ["CannotRun", "CaseContext"]


class CannotRun(Exception):
    """The case cannot run against this target (e.g. a valid handshake was refused).

    Reported as ERROR: the suite could not observe the behaviour the case checks.
    """


class CaseContext:
    """What a running case may use: the target, its deadline and a transcript."""

    def __init__(self, target: Target, deadline: float) -> None:
        self.target = target
        self.deadline = deadline
        self.transcript = Transcript()
        self.connections: list[Connection] = []

    async def connect(self) -> Connection:
        """Open a connection to the target, bounded by the case deadline."""
        conn = await Connection.open(self.target, self.deadline, self.transcript)
        self.connections.append(conn)
        return conn

    async def close_all(self) -> None:
        for conn in self.connections:
            await conn.close()
