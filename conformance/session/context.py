"""What a running case may use: the target, its deadline and a transcript.

Every connection a case opens is bounded by the one deadline of the case and
recorded in its transcript, so the evidence of a verdict is every byte exchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..driver import HTTP2, Connection, Target, Transcript
from ..transports.h2 import H2StreamConnection

__all__ = ["CannotRun", "CaseContext", "Dial", "PeerFacts"]

Dial = Callable[[float, Transcript], Awaitable[Connection]]
"""How a case gets its connection when the suite plays the server: the client under test
is asked to connect, and its accepted connection (bounded by the deadline) comes back."""


class CannotRun(Exception):
    """The case cannot run against this target (e.g. a valid handshake was refused).

    Reported as ERROR: the suite could not observe the behaviour the case checks.
    """


@dataclass(frozen=True, slots=True)
class PeerFacts:
    """What the preflight learned about the server that changes how cases wait.

    A case proves the server processed its frames with a Ping barrier (§5.5.2: a Pong
    answers every Ping, in order); a server that sends no Pong, or a Pong with other
    data (§5.5.3), gets an echoed message as barrier instead, and a server that echoes
    nothing stops the cases that judge an echo at once, with ``no_echo`` as the reason.
    """

    no_ping: str = ""
    """Why a Pong cannot serve as barrier (a preflight fact), empty when it can."""
    no_echo: str = ""
    """Why an echo cannot be awaited (a preflight fact), empty when it can."""

    @property
    def answers_ping(self) -> bool:
        return not self.no_ping

    @property
    def echoes(self) -> bool:
        return not self.no_echo

    @property
    def lines(self) -> tuple[str, ...]:
        """The facts a report shows, one line each."""
        return tuple(line for line in (self.no_ping, self.no_echo) if line)


class CaseContext:
    """What a running case may use: the target, its deadline and a transcript."""

    def __init__(
        self,
        target: Target,
        deadline: float,
        facts: PeerFacts | None = None,
        dial: Dial | None = None,
    ) -> None:
        """``dial``: the suite plays the server, and a client under test connects to it
        (see :attr:`plays_server`); without it the suite connects to ``target``."""
        self.target = target
        self.deadline = deadline
        self.facts = facts or PeerFacts()
        self.transcript = Transcript()
        self.connections: list[Connection] = []
        self.dial = dial

    @property
    def plays_server(self) -> bool:
        """The peer under test is a client: the suite accepts its connection, answers its
        opening handshake and sends server frames (RFC 6455 §4.2.2, §5.1)."""
        return self.dial is not None

    async def connect(self) -> Connection:
        """Open a connection to the target (or accept the client's), bounded by the case
        deadline. Over HTTP/2 it is one stream opened by an extended CONNECT (RFC 8441),
        its answer kept on the connection (:class:`H2StreamConnection`)."""
        if self.dial is not None:
            conn = await self.dial(self.deadline, self.transcript)
        elif self.target.transport == HTTP2:
            conn = await H2StreamConnection.connect(
                self.target, self.deadline, self.transcript, self.target.handshake_headers
            )
        else:
            conn = await Connection.open(self.target, self.deadline, self.transcript)
        self.connections.append(conn)
        return conn

    async def close_all(self) -> None:
        for conn in self.connections:
            await conn.close()
