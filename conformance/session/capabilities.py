"""What the cases lean on, probed once after the preflight's 101: a Pong and an echo.

Every wire case proves the server processed its frames with a Ping barrier (RFC 6455
§5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
response"; §5.5.3: with "identical Application data"), and the echo cases wait for
their echoes. A server that lacks either would make every case wait out its deadline
for a known reason; so one Ping and one text message go out first, and what came back
becomes :class:`~conformance.session.context.PeerFacts`: the cases then wait on an echo
instead of a Pong, or stop at once where they need an echo (see
:class:`~conformance.session.wire.WireSession`). The missing Pong is still judged, as a
FAIL with its clause, by the Ping cases.

:func:`read_facts` is the pure reading of what came back; :func:`probe` does the I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..driver import Connection, DeadlineExceeded
from ..model.codec import encode_frame
from ..model.constants import Opcode
from ..model.decoder import CloseReceived, Message, PeerStream, PongReceived
from ..model.observed import TransportEnd
from .context import PeerFacts
from .wire import client_frame, text

__all__ = ["PROBE_PING", "PROBE_TEXT", "ProbeSeen", "probe", "read_facts"]

PROBE_PING = b"wsconform-preflight-ping"
PROBE_TEXT = b"wsconform-preflight-echo"
MAX_PROBE_PAYLOAD = 2**16
"""Bytes of a frame or message the probe reads: its own echo is 24."""

INSTEAD = "cases wait on an echo instead of a Pong"


@dataclass(slots=True)
class ProbeSeen:
    """What the server sent back to the probe's Ping and text message."""

    pongs: list[bytes] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    close: CloseReceived | None = None
    ended: bool = False
    """The connection ended (TCP closed or reset) during the probe."""

    @property
    def complete(self) -> bool:
        """Both answers came, or nothing more can come."""
        answered = PROBE_PING in self.pongs and PROBE_TEXT in self.messages
        return answered or self.close is not None or self.ended

    def take(self, events: Sequence[object]) -> None:
        for event in events:
            if isinstance(event, PongReceived):
                self.pongs.append(event.payload)
            elif isinstance(event, Message) and event.opcode == Opcode.TEXT:
                self.messages.append(event.data)
            elif isinstance(event, CloseReceived) and self.close is None:
                self.close = event


def _ended(seen: ProbeSeen, peer: str) -> str:
    if seen.close is not None:
        code = "no code" if seen.close.code is None else f"code {seen.close.code}"
        return f"the {peer} sent a Close ({code}) instead"
    return f"the {peer} closed the connection instead" if seen.ended else ""


def read_facts(seen: ProbeSeen, waited: float, peer: str = "server") -> PeerFacts:
    """The facts about a ``peer`` (server or client) that got a Ping and a text message and
    ``waited`` seconds."""
    stopped = _ended(seen, peer)
    within = f"within {waited:g} s" if not stopped else f"({stopped})"
    no_ping = no_echo = ""
    if PROBE_PING not in seen.pongs:
        if seen.pongs:
            no_ping = (
                f"the Pong to a Ping carried {seen.pongs[0][:32]!r}, not the Ping's "
                f"{PROBE_PING!r} (RFC 6455 §5.5.3: identical Application data); {INSTEAD}"
            )
        else:
            no_ping = (
                f"no Pong to a Ping {within} (RFC 6455 §5.5.2: a Ping MUST be answered "
                f"with a Pong); {INSTEAD}"
            )
    if not seen.messages:
        no_echo = (
            f"no echo of a text message {within}: the cases that judge an echo report "
            "ERROR (they need an echo server, as Autobahn's do)"
        )
    return PeerFacts(no_ping=no_ping, no_echo=no_echo)


async def probe(conn: Connection, trailing: bytes, timeout: float) -> PeerFacts:
    """Send a Ping and a text message on an open connection; read the answers for at most
    ``timeout`` seconds (``trailing``: bytes that came with the 101)."""
    stream = PeerStream(peer="server", max_payload=MAX_PROBE_PAYLOAD, max_message=MAX_PROBE_PAYLOAD)
    seen = ProbeSeen()
    seen.take(stream.feed(trailing) if trailing else [])
    ping = encode_frame(client_frame(Opcode.PING, PROBE_PING))
    await conn.send(ping + encode_frame(text(PROBE_TEXT)))
    try:
        while not seen.complete:
            data = await conn.receive()
            seen.ended = not data or conn.end is not TransportEnd.OPEN
            seen.take(stream.feed(data) if data else stream.feed_eof())
    except DeadlineExceeded:
        pass
    return read_facts(seen, timeout)
