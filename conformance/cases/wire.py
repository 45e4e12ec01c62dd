"""An open WebSocket connection to the server under test, for the wire-rule cases.

:class:`WireSession` performs a valid opening handshake, sends client frames (masked,
as §5.1 requires, unless a case says otherwise) and observes everything the server
sends through the strict :class:`~conformance.model.decoder.PeerStream`. There are no
timers: a Ping whose Pong comes back is the barrier proving the server processed
everything sent before it (§5.5.2, pongs are answered in order), and a Close or the
end of the TCP stream marks the end. Every wait is bounded by the case deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..driver import Connection, DeadlineExceeded
from ..model import handshake as hs
from ..model.codec import close_payload, encode_frame
from ..model.constants import Opcode
from ..model.decoder import (
    CloseReceived,
    FrameTooLarge,
    Message,
    MessageTooLarge,
    PeerStream,
    PongReceived,
)
from ..model.frames import Frame, LengthForm
from ..model.outcomes import CloseInfo, Observed, TransportEnd
from .base import CannotRun, CaseContext

CLOSING_GRACE = 1.0
"""Seconds a case waits for the server's side of the closing handshake once it is
done observing: the close itself is judged by the close cases, not by every case."""

MAX_FRAME = 16 * 2**20
MAX_MESSAGE = 64 * 2**20
MAX_KEPT = 64 * 2**20
"""Bytes of messages a case keeps: a flooding server cannot exhaust the suite's memory."""
MAX_KEPT_MESSAGES = 10_000

BARRIER_PREFIX = b"wsconform-barrier-"
_DATA_OPCODES = frozenset({Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY})
_barrier_ids = itertools.count()


def client_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    masked: bool = True,
    length_form: LengthForm = LengthForm.MINIMAL,
) -> Frame:
    """A client frame, masked with a fresh random key (§5.3) unless ``masked=False``."""
    return Frame(
        opcode,
        payload,
        fin=fin,
        rsv1=rsv1,
        rsv2=rsv2,
        rsv3=rsv3,
        mask=os.urandom(4) if masked else None,
        length_form=length_form,
    )


def text(data: str | bytes, **kwargs: bool) -> Frame:
    payload = data.encode() if isinstance(data, str) else data
    return client_frame(Opcode.TEXT, payload, **kwargs)  # type: ignore[arg-type]


def binary(data: bytes, **kwargs: bool) -> Frame:
    return client_frame(Opcode.BINARY, data, **kwargs)  # type: ignore[arg-type]


def close_frame(code: int | None = 1000, reason: bytes = b"", **kwargs: bool) -> Frame:
    return client_frame(Opcode.CLOSE, close_payload(code, reason), **kwargs)  # type: ignore[arg-type]


@dataclass(slots=True)
class WireSession:
    """One open connection: send frames, observe the server, never wait unbounded."""

    conn: Connection
    stream: PeerStream
    observed: Observed = field(default_factory=lambda: Observed(upgraded=True))
    closing_sent: bool = False
    messages_sent: int = 0
    """Data messages completed by the frames sent so far (an echo server owes as many)."""
    _barriers_sent: set[bytes] = field(default_factory=set)
    _barriers_seen: set[bytes] = field(default_factory=set)
    _kept: int = 0
    _dropped: int = 0

    @classmethod
    async def open(
        cls,
        ctx: CaseContext,
        *,
        protocols: Iterable[bytes] = (),
        extensions: Iterable[bytes] = (),
        prove_alive: bool = False,
    ) -> WireSession:
        """Connect and complete a valid opening handshake, or raise :class:`CannotRun`.

        ``prove_alive`` first sends a Ping and waits for its Pong, for cases that pass
        on a closed connection: without it a server that drops every connection right
        after the handshake would look as if it had failed the connection on purpose.
        """
        request = hs.build_request(
            ctx.target.host_header,
            ctx.target.resource,
            protocols=protocols,
            extensions=extensions,
        )
        conn = await ctx.connect()
        await conn.send(request.to_bytes())
        reader = hs.ResponseReader()
        try:
            while not reader.done:
                reader.feed(await conn.receive())
        except DeadlineExceeded:
            raise CannotRun("no answer to the opening handshake before the deadline") from None
        response = reader.response
        if response is None or response.status != 101:
            seen = response.describe() if response else reader.error or "no HTTP response"
            raise CannotRun(f"the server did not accept a valid opening handshake: {seen}")
        broken = hs.check_accept(request, response)
        if broken:
            raise CannotRun(f"the server's 101 is invalid: {broken[0]}")
        stream = PeerStream(peer="server", max_payload=MAX_FRAME, max_message=MAX_MESSAGE)
        session = cls(conn, stream)
        if reader.trailing:
            session._feed(reader.trailing)
        if prove_alive and not await session.barrier():
            raise CannotRun(
                "the server did not answer a Ping right after the handshake, so a close "
                "could not be told apart from one caused by the case's frame"
            )
        return session

    # -- sending ------------------------------------------------------------------

    async def send(self, *frames: Frame | bytes, chunk: int | None = None) -> bool:
        """Write ``frames`` (encoded exactly as given) as one stream, ``chunk`` bytes a write.

        False when the deadline passed first (the server stopped reading, or the case
        ran out of time): the case is then judged on what it saw, marked timed out.
        """
        data = b"".join(f if isinstance(f, bytes) else encode_frame(f) for f in frames)
        if any(isinstance(f, Frame) and f.opcode == Opcode.CLOSE for f in frames):
            self.closing_sent = True
        self.messages_sent += sum(
            1 for f in frames if isinstance(f, Frame) and f.fin and f.opcode in _DATA_OPCODES
        )
        try:
            await self.conn.send(data, chunk=chunk)
        except DeadlineExceeded:
            self.observed.timed_out = True
            return False
        return True

    # -- observing ----------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        events = self.stream.feed(data) if data else self.stream.feed_eof()
        seen = self.observed
        for event in events:
            if isinstance(event, Message):
                seen.responsive = True
                self._keep(event)
            elif isinstance(event, PongReceived):
                seen.responsive = True
                if event.payload in self._barriers_sent:
                    self._barriers_seen.add(event.payload)
                else:
                    seen.pongs.append(event.payload)
            elif isinstance(event, CloseReceived) and seen.close is None:
                seen.close = CloseInfo(event.code, event.reason, reply=self.closing_sent)
            elif isinstance(event, FrameTooLarge | MessageTooLarge):
                seen.notes.append(f"the server sent more than the suite reads: {event}")

    def _keep(self, message: Message) -> None:
        """Record a message; past the caps (a flooding server) only count it."""
        seen = self.observed
        if len(seen.messages) < MAX_KEPT_MESSAGES and self._kept + len(message.data) <= MAX_KEPT:
            seen.messages.append((message.opcode, message.data))
            self._kept += len(message.data)
        else:
            self._dropped += 1

    async def _pump(self) -> bool:
        """Read once and decode; False once the server closed TCP or a deadline passed."""
        if self.conn.end is not TransportEnd.OPEN:
            return False
        try:
            data = await self.conn.receive()
        except DeadlineExceeded:
            self.observed.timed_out = True
            return False
        if data or not self.stream.eof:
            self._feed(data)
        self.observed.transport = self.conn.end
        if not data:
            self.observed.closed_after_suite_close = self.closing_sent
        return bool(data)

    async def until(self, done: Callable[[WireSession], bool]) -> bool:
        """Read until ``done(self)``; False if the stream ended or the deadline passed first."""
        while not done(self):
            if not await self._pump():
                return done(self)
        return True

    async def barrier(self) -> bool:
        """Ping and wait for its Pong: the server has processed everything sent before.

        False when the connection closed or the deadline passed first (which is what
        the fail-the-connection cases expect to see).
        """
        payload = BARRIER_PREFIX + str(next(_barrier_ids)).encode()
        self._barriers_sent.add(payload)
        await self.send(client_frame(Opcode.PING, payload))
        return await self.until(lambda s: payload in s._barriers_seen)

    async def settle(self) -> bool:
        """Wait until the server processed everything sent and echoed every message.

        The Pong of a barrier shows the frames before it were read, not that the
        application wrote its echoes: many servers answer Pings in the protocol layer
        while the application echoes later, so the Pong can overtake the echo (RFC
        6455 orders nothing between them). So after the Pong the case also waits for
        one echo per message sent, up to the deadline, or until the server closes.
        """
        if not await self.barrier():
            return False
        return await self.until(lambda s: len(s.observed.messages) >= s.messages_sent)

    async def until_closed(self) -> None:
        """Read until the server closes TCP, answering its Close (§5.5.1), or the deadline."""
        while True:
            await self._answer_close()
            if not await self._pump():
                break
        await self._answer_close()

    async def _answer_close(self) -> None:
        close = self.observed.close
        if close is None or self.closing_sent or self.conn.end is not TransportEnd.OPEN:
            return
        payload = close_payload(close.code) if close.code is not None else b""
        await self.send(client_frame(Opcode.CLOSE, payload))

    async def close(self, code: int = 1000, *, grace: float | None = CLOSING_GRACE) -> None:
        """Start the closing handshake and wait for the server to finish it.

        With ``grace`` the wait is cut short: the case is done observing, and the
        closing handshake is judged by the close cases, which pass ``grace=None``.
        """
        if grace is not None:
            now = asyncio.get_running_loop().time()
            self.conn.deadline = min(self.conn.deadline, now + grace)
            timed_out = self.observed.timed_out
        if self.conn.end is TransportEnd.OPEN and not self.closing_sent:
            await self.send(close_frame(code))
        await self.until_closed()
        if grace is not None:
            self.observed.timed_out = timed_out

    def finish(self) -> Observed:
        """What was observed, with the transport state as it stands."""
        if self._dropped:
            self.observed.notes.append(
                f"{self._dropped} further message(s) not kept (the suite keeps "
                f"{MAX_KEPT_MESSAGES} messages or {MAX_KEPT // 2**20} MiB)"
            )
            self._dropped = 0
        self.observed.transport = self.conn.end
        self.observed.violations[:] = self.stream.violations  # the decoder's, in order
        return self.observed


async def watch_failure(session: WireSession, *, patient: bool = False) -> Observed:
    """After an offending frame: does the server fail the connection (§7.1.7)?

    A Ping goes out behind the offending frame. A Pong for it means the server went
    on processing the frames after it, which for a rule broken on receipt (RSV bits,
    an opcode, masking, a control frame) breaks §7.1.7 at once. Invalid UTF-8 may be
    found late (§8.1 "finds"): with ``patient`` the case then gives the server the
    rest of its deadline to fail on its own, stopping early when an echo shows it took
    the text as valid. Otherwise the case waits for the server's Close and TCP close,
    answering the Close.
    """
    echoes = len(session.observed.messages)
    if await session.barrier():
        seen = session.observed
        seen.continued = True
        seen.notes.append("the server answered a Ping sent after the offending frame")
        if patient:
            await session.until(lambda s: seen.close is not None or len(seen.messages) > echoes)
        await session.close()
    else:
        await session.until_closed()
    return session.finish()


async def watch_echo(session: WireSession) -> Observed:
    """After valid frames: wait until every message is echoed (see settle), then close."""
    await session.settle()
    await session.close()
    return session.finish()
