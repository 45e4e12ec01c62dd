"""An open WebSocket connection to the server under test, for the wire-rule cases and fuzz.

:class:`WireSession` performs a valid opening handshake, sends client frames (masked,
as §5.1 requires, unless a case says otherwise) and observes everything the server
sends through the strict :class:`~conformance.model.decoder.PeerStream`. There are no
timers: a Ping whose Pong comes back is the barrier proving the server processed
everything sent before it (§5.5.2, pongs are answered in order), and a Close or the
end of the TCP stream marks the end. Every wait is bounded by the case deadline. A
Close the server starts is answered at once (§5.5.1) while the case goes on watching.

A server the preflight found sending no Pong (or a Pong with other data) gets an
echoed text message as barrier instead, where a message may start (no fragmented
message of the case is open); a server that echoes nothing stops the cases that judge
an echo at once (:class:`~conformance.session.context.PeerFacts`): a known missing
capability never costs a deadline per case.

A negotiated extension (permessage-deflate, RFC 7692) hands :meth:`WireSession.open` a
``negotiate`` function: given the 101 it returns an :class:`Inbound` reading, and the
session then decodes with the RSV bits it names allowed and passes every server frame and
message through it (inflation, §6.2), its violations reaching the verdict. Without one the
session is unchanged.

Where the peer under test is a client (:attr:`CaseContext.plays_server`), the same cases
run with the roles swapped: the session accepts the client's connection and answers its
opening handshake with a valid 101 (§4.2.2), every frame a case builds goes out with its
masking mirrored (a client frame masked as §5.1 requires becomes an unmasked server frame;
an unmasked one, the offence of the masking cases, becomes a masked one, which a client
MUST reject), the client's frames are decoded as a client's (masked, §5.1), and once both
Close frames are exchanged the session closes TCP first (§7.1.1) and watches the client
close its side.

Over HTTP/2 (RFC 8441, ``Target.transport``) the connection is one stream and its
opening handshake the extended CONNECT it made (:mod:`conformance.transports.h2`): a
``:status 200`` is taken as the accepted handshake, and the session runs unchanged.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import h11

from ..driver import HTTP2, Connection, DeadlineExceeded
from ..model import handshake as hs
from ..model.answer_diagnosis import diagnose
from ..model.codec import close_payload, encode_frame
from ..model.constants import Opcode, is_valid_close_code
from ..model.decoder import (
    CloseReceived,
    FrameTooLarge,
    Message,
    MessageTooLarge,
    PeerStream,
    PongReceived,
)
from ..model.frames import Frame, LengthForm
from ..model.observed import CloseInfo, HttpResponse, Observed, TransportEnd
from ..model.server_handshake import accept_key, parse_request_bytes, render_response
from ..model.verdict import PREFLIGHT_PREFIX
from ..model.violations import Violation
from ..transports.h2 import H2StreamConnection
from .context import CannotRun, CaseContext, PeerFacts

CLOSING_GRACE = 1.0
"""Seconds a case waits for the server's side of the closing handshake once it is
done observing: the close itself is judged by the close cases, not by every case."""

READ_YIELDS = 2
"""Event-loop turns the suite gives pending reads before each write (see WireSession._write)."""

MAX_FRAME = 16 * 2**20
MAX_MESSAGE = 64 * 2**20
MAX_KEPT = 64 * 2**20
"""Bytes of messages a case keeps: a flooding server cannot exhaust the suite's memory."""
MAX_KEPT_MESSAGES = 10_000

MAX_REQUEST_HEAD = 16 * 1024
"""Bytes of a client's opening handshake the suite reads when it plays the server."""
MAX_MASK_KEYS = 100_000
"""Masking keys of a client's frames a session keeps (§5.3 is judged over them)."""

BARRIER_PREFIX = b"wsconform-barrier-"
_DATA_OPCODES = frozenset({Opcode.CONTINUATION, Opcode.TEXT, Opcode.BINARY})
_barrier_ids = itertools.count()


class Inbound(Protocol):
    """A negotiated extension's reading of what the server sends (RFC 6455 §9, RFC 7692 §6).

    ``allowed_rsv`` is the RSV mask the extension gives a meaning (as placed in the first
    header byte); :meth:`frame` sees every frame, :meth:`message` every data message and
    returns it decoded (None: it could not be, a violation or note says why).
    """

    allowed_rsv: int
    violations: list[Violation]
    notes: list[str]

    def frame(self, frame: Frame) -> None: ...

    def message(self, message: Message) -> Message | None: ...


Negotiate = Callable[[HttpResponse], Inbound | None]
"""Reads the 101 a session got: the extension's :class:`Inbound`, or None (none agreed)."""


class Refused(CannotRun):
    """The server did not answer the opening handshake with a valid 101.

    ``response`` is its answer (None: none, or not HTTP), ``end`` how TCP stood: cases that
    judge the answer itself (an offer a server must decline, not refuse) catch this.
    """

    def __init__(self, reason: str, response: HttpResponse | None, end: TransportEnd) -> None:
        super().__init__(reason)
        self.response = response
        self.end = end


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
    facts: PeerFacts = field(default_factory=PeerFacts)
    """What the preflight learned: which barrier the server can serve."""
    observed: Observed = field(default_factory=lambda: Observed(upgraded=True))
    closing_sent: bool = False
    """The suite sent a Close: starting the closing handshake, or answering the server's."""
    answered_close: bool = False
    """The suite's Close answered a Close the server started (§5.5.1), sent at once."""
    messages_sent: int = 0
    """Data messages completed by the frames sent so far (an echo server owes as many)."""
    _barriers_sent: set[bytes] = field(default_factory=set)
    _barriers_seen: set[bytes] = field(default_factory=set)
    _message_open: bool | None = False
    """A data message of the suite's is unfinished (None: raw bytes were sent, unknown)."""
    _kept: int = 0
    _dropped: int = 0
    _reading: asyncio.Future[bytes] | None = None
    """A read a write left waiting on the server (see _receive)."""
    response: HttpResponse | None = None
    """The server's 101."""
    inbound: Inbound | None = None
    """The negotiated extension's reading of the server's frames, if one was agreed."""
    _undecoded: int = 0
    """Messages the extension could not decode (its violation says why): echoes all the same."""
    _known: dict[bytes, bytes] = field(default_factory=dict)
    """Payloads the case sent (:meth:`expect_echoes`)."""
    serving: bool = False
    """The suite plays the server and the peer under test is a client (see the module)."""
    closes_first: bool = True
    """Serving: close TCP as soon as both Close frames are exchanged (§7.1.1). A case that
    watches whether the client waits for it turns this off."""
    mask_keys: list[bytes] = field(default_factory=list)
    """Serving: the masking key of each client frame, in order (up to :data:`MAX_MASK_KEYS`)."""
    _half_closed: bool = False

    @classmethod
    async def open(
        cls,
        ctx: CaseContext,
        *,
        protocols: Iterable[bytes] = (),
        extensions: Iterable[bytes] = (),
        prove_alive: bool = False,
        negotiate: Negotiate | None = None,
    ) -> WireSession:
        """Connect and complete a valid opening handshake, or raise :class:`CannotRun`.

        ``prove_alive`` first sends a Ping and waits for its Pong, for cases that pass
        on a closed connection: without it a server that drops every connection right
        after the handshake would look as if it had failed the connection on purpose.
        ``negotiate`` reads the 101 for an extension offered in ``extensions`` (see
        :class:`Inbound`). A non-101 answer raises :class:`Refused`, carrying it.
        """
        protocols, extensions = tuple(protocols), tuple(extensions)
        if ctx.plays_server:
            if protocols or extensions or negotiate is not None:
                raise CannotRun("this case offers a subprotocol or extension: a server case only")
            return await cls._accept(ctx, prove_alive=prove_alive)
        if ctx.target.transport == HTTP2:
            if protocols or extensions or negotiate is not None:
                raise CannotRun("this case offers a subprotocol or extension: not over HTTP/2 yet")
            return await cls._open_h2(ctx, prove_alive=prove_alive)
        request = hs.build_request(
            ctx.target.host_header,
            ctx.target.resource,
            protocols=protocols,
            extensions=extensions,
            extra=ctx.target.handshake_headers,
        )
        conn = await ctx.connect()
        started = len(ctx.transcript.received)
        asked = asyncio.get_running_loop().time()
        await conn.send(request.to_bytes())
        reader = hs.ResponseReader()
        waited: float | None = None
        try:
            while not reader.done and reader.response is None:
                reader.feed(await conn.receive())
        except DeadlineExceeded:
            waited = round(conn.deadline - asked, 1)
        response = reader.response
        if response is None or response.status != 101:
            received = bytes(ctx.transcript.received[started:])
            where = f"{ctx.target.host}:{ctx.target.port}"
            offered = _offered(protocols, extensions)
            problem = diagnose(
                where,
                reader,
                received,
                secure=ctx.target.secure,
                end=conn.end,
                timeout=waited,
                offered=offered,
            )
            handshake = "the opening handshake" if offered else "a valid opening handshake"
            raise Refused(f"{handshake} failed: {problem}", response, conn.end)
        broken = hs.check_accept(request, response)
        if broken:
            raise CannotRun(f"the server's 101 is invalid: {broken[0]}")
        inbound = negotiate(response) if negotiate is not None else None
        stream = PeerStream(
            peer="server",
            max_payload=MAX_FRAME,
            max_message=MAX_MESSAGE,
            allowed_rsv=0 if inbound is None else inbound.allowed_rsv,
        )
        session = cls(conn, stream, ctx.facts, response=response, inbound=inbound)
        if reader.trailing:
            session._feed(reader.trailing)
        if prove_alive and not await session.barrier():
            raise CannotRun(
                f"the server did not answer a {session.barrier_name} right after the "
                "handshake, so a close could not be told apart from one caused by the case's frame"
            )
        return session

    @classmethod
    async def _open_h2(cls, ctx: CaseContext, *, prove_alive: bool) -> WireSession:
        """Over HTTP/2 the opening handshake is the extended CONNECT the connection made:
        its ``:status 200`` is the accepted handshake (RFC 8441 §5), kept as ``response``."""
        conn = await ctx.connect()
        if not isinstance(conn, H2StreamConnection):
            raise CannotRun("an HTTP/2 target gave no HTTP/2 stream")
        if conn.problem:
            raise Refused(
                f"a valid opening handshake failed: {conn.problem}", conn.response, conn.end
            )
        stream = PeerStream(peer="server", max_payload=MAX_FRAME, max_message=MAX_MESSAGE)
        session = cls(conn, stream, ctx.facts, response=conn.response)
        if prove_alive and not await session.barrier():
            raise CannotRun(
                f"the server did not answer a {session.barrier_name} right after the "
                "handshake, so a close could not be told apart from one caused by the case's frame"
            )
        return session

    @classmethod
    async def _accept(cls, ctx: CaseContext, *, prove_alive: bool) -> WireSession:
        """The client's connection, its opening handshake answered with a valid 101."""
        conn = await ctx.connect()
        trailing = await _answer_opening_handshake(conn)
        stream = PeerStream(peer="client", max_payload=MAX_FRAME, max_message=MAX_MESSAGE)
        session = cls(conn, stream, ctx.facts, serving=True)
        if trailing:
            session._feed(trailing)
        if prove_alive and not await session.barrier():
            raise CannotRun(
                f"the client did not answer a {session.barrier_name} right after the "
                "handshake, so a close could not be told apart from one caused by the case's frame"
            )
        return session

    # -- sending ------------------------------------------------------------------

    def _outgoing(self, frame: Frame) -> Frame:
        """``frame`` as this session sends it: serving, its masking mirrored (see the module)."""
        if not self.serving:
            return frame
        return replace(frame, mask=None if frame.mask is not None else os.urandom(4))

    async def send_raw(self, *frames: Frame, chunk: int | None = None) -> bool:
        """Send ``frames`` as bytes the session does not interpret: a Close among them is
        not taken as the suite starting the closing handshake (an offence, not a close)."""
        data = b"".join(encode_frame(self._outgoing(f)) for f in frames)
        return await self.send(data, chunk=chunk)

    async def send(self, *frames: Frame | bytes, chunk: int | None = None) -> bool:
        """Write ``frames`` (encoded exactly as given) as one stream, ``chunk`` bytes a write,
        reading the server meanwhile (see :meth:`_read_while_writing`).

        False when the deadline passed first (the server stopped reading, or the case
        ran out of time): the case is then judged on what it saw, marked timed out.
        """
        data = b"".join(
            f if isinstance(f, bytes) else encode_frame(self._outgoing(f)) for f in frames
        )
        if any(isinstance(f, Frame) and f.opcode == Opcode.CLOSE for f in frames):
            self.closing_sent = True
        for f in frames:
            self._message_open = _still_open(self._message_open, f)
            ping = isinstance(f, Frame) and f.opcode == Opcode.PING
            if ping and f.payload not in self._barriers_sent:  # type: ignore[union-attr]
                self.observed.pings.append(f.payload)  # type: ignore[union-attr]
        self.messages_sent += sum(
            1 for f in frames if isinstance(f, Frame) and f.fin and f.opcode in _DATA_OPCODES
        )
        writing = asyncio.ensure_future(self._write(data, chunk))
        try:
            await self._read_while_writing(writing)
            if not writing.cancelled():
                writing.result()
        except DeadlineExceeded:
            self.observed.timed_out = True
            return False
        finally:
            if not writing.done():
                writing.cancel()
        return True

    async def _write(self, data: bytes, chunk: int | None) -> None:
        """Write ``data``, ``chunk`` bytes a write, letting pending reads in before each.

        asyncio closes the socket as soon as a write fails, and what the kernel had
        received but the transport had not yet read goes with it. A server that refuses
        a message with a Close and then closes TCP on the unread rest makes the next
        write fail (a reset): that write must not come before the Close is read. So the
        loop is given :data:`READ_YIELDS` turns before each write: one to poll the
        socket, one to run the read it queued (the read of :meth:`_read_while_writing`
        then takes the data).
        """
        step = chunk or len(data) or 1
        for start in range(0, max(len(data), 1), step):
            for _ in range(READ_YIELDS):
                await asyncio.sleep(0)
            if self.conn.end in (TransportEnd.RESET, TransportEnd.CLOSED_BY_US):
                return  # nothing more can be written
            piece = data[start : start + step]
            # A chunk is one exact write (a segmentation plan reshapes unchunked ones only).
            await self.conn.send(piece, chunk=len(piece) if chunk else None)

    async def _read_while_writing(self, writing: asyncio.Future[None]) -> None:
        """Decode what the server sends while ``writing`` runs.

        A server that refuses a message (a Close 1009, §7.4.1) may close TCP while the
        suite is still writing it; the kernel then answers with a reset, and asyncio
        drops what was received but not yet read: its Close would be lost. So a read
        waits on the server for as long as the write runs (and after it, see
        :meth:`_receive`), and its bytes are decoded as they come, with :meth:`_feed`
        (a Close is answered after the write, never inside it). Once the server's
        Close or end of stream is in, the write gets :data:`CLOSING_GRACE` to finish; a
        server that stopped reading leaves the suite mid-frame, where no valid frame can
        follow, so the suite then drops the connection (and says so).
        """
        loop = asyncio.get_running_loop()
        give_up: float | None = None
        reading, self._reading = self._reading, None
        can_read = True
        try:
            while not writing.done():
                closing = self.observed.close is not None or self.conn.end is not TransportEnd.OPEN
                if give_up is None and closing:
                    give_up = loop.time() + CLOSING_GRACE
                if reading is None and can_read and self.conn.end is TransportEnd.OPEN:
                    reading = asyncio.ensure_future(self.conn.receive())
                waiting: set[asyncio.Future[Any]] = {writing}
                if reading is not None:
                    waiting.add(reading)
                timeout = None if give_up is None else max(give_up - loop.time(), 0.0)
                await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if reading is not None and reading.done():
                    can_read = self._take(reading)
                    reading = None
                if give_up is not None and loop.time() >= give_up and not writing.done():
                    await self._give_up(writing, reading)
                    reading = None
        finally:
            if reading is not None and reading.done():
                self._take(reading)
            elif reading is not None:
                self._reading = reading  # left waiting: the next read takes it over
                reading.add_done_callback(_retrieve)  # no warning if no read ever does

    async def _give_up(
        self, writing: asyncio.Future[None], reading: asyncio.Future[bytes] | None
    ) -> None:
        """The server closed and stopped reading: stop writing, drop the connection."""
        for task in (writing, reading):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self.conn.abort()
        self.observed.notes.append(
            "the server stopped reading once it had closed: the suite gave up its write "
            f"after {CLOSING_GRACE:g} s and dropped the connection"
        )

    def _take(self, reading: asyncio.Future[bytes]) -> bool:
        """Decode the bytes of a read made during a write; False when no more can come."""
        if reading.cancelled():
            return False
        try:
            data = reading.result()
        except DeadlineExceeded:  # read again if it ran under a deadline since extended
            return asyncio.get_running_loop().time() < self.conn.deadline
        if data or not self.stream.eof:
            self._feed(data)
        self.observed.transport = self.conn.end
        if not data:  # as in _pump: did TCP end after the suite started the closing?
            self.observed.closed_after_suite_close = self.closing_sent and not self.answered_close
            self._peer_ended()
        return bool(data)

    async def _receive(self) -> bytes:
        """The server's next bytes: from a read a write left waiting, or a new read.

        The read a write leaves waiting keeps taking the server's bytes out of the
        transport as they come, before a reset can drop them (see
        :meth:`_read_while_writing`). It started under the deadline of its time; the
        wait for it is bounded by the current one (a grace may have shortened it), and
        a read still waiting then is kept for the next.
        """
        reading, self._reading = self._reading, None
        if reading is None:
            return await self.conn.receive()
        try:
            async with asyncio.timeout_at(self.conn.deadline):
                return await asyncio.shield(reading)
        except TimeoutError:
            raise DeadlineExceeded("no data from the peer before the deadline") from None
        except DeadlineExceeded:  # its own, maybe shorter, deadline: read again under ours
            return await self.conn.receive()
        finally:
            if not reading.done():
                self._reading = reading

    # -- observing ----------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        events = self.stream.feed(data) if data else self.stream.feed_eof()
        seen = self.observed
        inbound = self.inbound
        for event in events:
            if isinstance(event, Frame) and self.serving:
                self._keep_mask_key(event)
            if isinstance(event, Frame) and inbound is not None:
                inbound.frame(event)
            elif isinstance(event, Message):
                seen.responsive = True
                if inbound is not None and (decoded := inbound.message(event)) is not None:
                    event = decoded
                elif inbound is not None:
                    self._undecoded += 1  # the violation or note says why
                    continue
                if event.opcode == Opcode.TEXT and event.data in self._barriers_sent:
                    self._barriers_seen.add(event.data)  # an echo barrier, not the case's
                else:
                    self._keep(event)
            elif isinstance(event, PongReceived):
                seen.responsive = True
                if event.payload in self._barriers_sent:
                    self._barriers_seen.add(event.payload)
                else:
                    seen.pongs.append(event.payload)
            elif isinstance(event, CloseReceived) and seen.close is None:
                seen.close = CloseInfo(
                    event.code,
                    event.reason,
                    reply=self.closing_sent,
                    body_size=len(event.raw_payload),
                )
            elif isinstance(event, FrameTooLarge | MessageTooLarge):
                seen.notes.append(f"the server sent more than the suite reads: {event}")

    def _keep_mask_key(self, frame: Frame) -> None:
        if frame.mask is not None and len(self.mask_keys) < MAX_MASK_KEYS:
            self.mask_keys.append(frame.mask)

    def expect_echoes(self, payloads: Iterable[bytes]) -> None:
        """An echo equal to one of ``payloads`` is then kept as that object, not a copy, and
        not counted against :data:`MAX_KEPT`: a long run of echoes (Autobahn's 1000 messages
        of 128 KiB) costs no memory, while anything else the server sends still does."""
        for payload in payloads:
            self._known.setdefault(payload, payload)

    def _keep(self, message: Message) -> None:
        """Record a message; past the caps (a flooding server) only count it."""
        seen = self.observed
        data = self._known.get(message.data, message.data) if self._known else message.data
        size = 0 if data is not message.data else len(data)
        if len(seen.messages) < MAX_KEPT_MESSAGES and self._kept + size <= MAX_KEPT:
            seen.messages.append((message.opcode, data))
            seen.compressed.append(message.rsv1 and self.inbound is not None)
            self._kept += size
        else:
            self._dropped += 1

    async def _pump(self) -> bool:
        """Read once and decode, answering a Close the server started (see
        :meth:`_answer_close`); False once the server closed TCP or a deadline passed.

        The suite's reads-while-writing (in :meth:`send`) decode with :meth:`_feed`, never
        this method, so an answer is never written in the middle of another write.
        """
        if self.conn.end is not TransportEnd.OPEN:
            return False
        try:
            data = await self._receive()
        except DeadlineExceeded:
            self.observed.timed_out = True
            return False
        if data or not self.stream.eof:
            self._feed(data)
        self.observed.transport = self.conn.end
        if not data:
            # TCP ended after the suite *started* the closing handshake; a Close that
            # only answered the server's does not count (the server closed first).
            started = self.closing_sent and not self.answered_close
            self.observed.closed_after_suite_close = started
            self._peer_ended()
            return False
        await self._answer_close()
        self._close_tcp_first()
        return True

    def _peer_ended(self) -> None:
        """Serving: the client ended TCP; before the suite's FIN, it closed first (§7.1.1)."""
        if (
            self.serving
            and not self._half_closed
            and self.conn.end is not TransportEnd.CLOSED_BY_US
        ):
            self.observed.client_closed_first = True

    def _close_tcp_first(self) -> None:
        """Serving, once both Close frames are exchanged: FIN first, then watch the client
        close its side (§7.1.1: "SHOULD be closed first by the server")."""
        if (
            self.serving
            and self.closes_first
            and not self._half_closed
            and self.closing_sent
            and self.observed.close is not None
            and self.conn.end is TransportEnd.OPEN
        ):
            self._half_closed = True
            self.conn.half_close()
            # The client now has CLOSING_GRACE to close its side (§5.5.1: it "MUST close
            # the underlying TCP connection"): a client that keeps it open costs a second,
            # not the whole deadline, and is judged on the open connection.
            now = asyncio.get_running_loop().time()
            self.conn.deadline = min(self.conn.deadline, now + CLOSING_GRACE)

    async def until(self, done: Callable[[WireSession], bool]) -> bool:
        """Read until ``done(self)``; False if the stream ended or the deadline passed first.

        A Close the server starts meanwhile is answered at once (§5.5.1) and the reading
        goes on: what the server does after it (its TCP close, data after its Close) is
        observed too.
        """
        await self._answer_close()
        self._close_tcp_first()
        while not done(self):
            if not await self._pump():
                return done(self)
        return True

    async def await_pong(self, payload: bytes, within: float) -> bool:
        """Read until a Pong carrying ``payload`` came, for at most ``within`` seconds
        (and half the time left), before the case sends anything else.

        A Ping answered before the next frame leaves the server no Pings to choose
        among (§5.5.3) and no Close to race (§5.5.2), whatever the TCP segmentation.
        The bound is not a deadline miss: the case goes on and judges what it saw.
        """
        now = asyncio.get_running_loop().time()
        deadline, timed_out = self.conn.deadline, self.observed.timed_out
        self.conn.deadline = min(deadline, now + min(within, (deadline - now) / 2))
        try:
            return await self.until(lambda s: payload in s.observed.pongs)
        finally:
            self.conn.deadline = deadline
            self.observed.timed_out = timed_out

    @property
    def barrier_name(self) -> str:
        """What :meth:`barrier` sends: a Ping, or a text message to be echoed."""
        return "Ping" if self.facts.answers_ping else "text message to echo"

    @property
    def can_barrier(self) -> bool:
        """A barrier can be sent now: a Ping always; an echo only where a message may start."""
        if self.facts.answers_ping:
            return True
        return self.facts.echoes and self._message_open is False

    async def barrier(self) -> bool:
        """Ping and wait for its Pong: the server has processed everything sent before.

        A server without a proper Pong (see :class:`PeerFacts`) is sent a text message
        instead, and its echo is awaited: an echo server processes messages in order.
        False when the connection closed or the deadline passed first (which is what
        the fail-the-connection cases expect to see). Raise :class:`CannotRun` when no
        barrier can be sent (check :attr:`can_barrier` first to wait another way).
        """
        if not self.can_barrier:
            raise CannotRun(self._no_barrier())
        payload = BARRIER_PREFIX + str(next(_barrier_ids)).encode()
        self._barriers_sent.add(payload)
        if self.facts.answers_ping:
            await self.send(client_frame(Opcode.PING, payload))
        else:
            await self.send(text(payload))
            self.messages_sent -= 1  # its echo is the barrier's, not one the case awaits
        return await self.until(lambda s: payload in s._barriers_seen)

    def _no_barrier(self) -> str:
        if not self.facts.echoes:
            return f"{PREFLIGHT_PREFIX}{self.facts.no_ping}; {self.facts.no_echo}"
        return (
            f"{PREFLIGHT_PREFIX}{self.facts.no_ping}; an echo cannot serve as barrier inside "
            "this case's unfinished message"
        )

    async def settle(self) -> bool:
        """Wait until the server processed everything sent and echoed every message.

        The Pong of a barrier shows the frames before it were read, not that the
        application wrote its echoes: many servers answer Pings in the protocol layer
        while the application echoes later, so the Pong can overtake the echo (RFC
        6455 orders nothing between them). So after the Pong the case also waits for
        one echo per message sent, up to the deadline, or until the server closes (a
        message a negotiated extension could not decode counts as its echo: it came).
        Without a Pong the echoes alone are awaited; a server that echoes nothing
        (a preflight fact) stops the case at once with :class:`CannotRun`.
        """
        if not self.facts.echoes and self.messages_sent:
            raise CannotRun(f"{PREFLIGHT_PREFIX}{self.facts.no_echo}")
        if self.facts.answers_ping and not await self.barrier():
            return False
        return await self.until(
            lambda s: len(s.observed.messages) + s._undecoded >= s.messages_sent
        )

    async def until_closed(self) -> None:
        """Read until the server closes TCP, answering its Close (§5.5.1), or the deadline."""
        await self.until(lambda s: False)

    async def _answer_close(self) -> None:
        """§5.5.1: "If an endpoint receives a Close frame and did not previously send a
        Close frame, the endpoint MUST send a Close frame in response": at once, so a
        server that waits for it before closing TCP is not left to the deadline.

        The reply echoes a valid code (1000 for none, or for one no endpoint may send);
        the server's Close keeps ``reply=False``: it started the closing handshake.
        """
        close = self.observed.close
        if close is None or self.closing_sent or self.conn.end is not TransportEnd.OPEN:
            return
        self.answered_close = True
        code = close.code if close.code is not None and is_valid_close_code(close.code) else 1000
        await self.send(close_frame(code))

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
        reading, self._reading = self._reading, None
        if reading is not None and reading.done():
            self._take(reading)
        elif reading is not None:
            reading.cancel()
        if self._dropped:
            self.observed.notes.append(
                f"{self._dropped} further message(s) not kept (the suite keeps "
                f"{MAX_KEPT_MESSAGES} messages or {MAX_KEPT // 2**20} MiB)"
            )
            self._dropped = 0
        self.observed.transport = self.conn.end
        self.observed.violations[:] = self.stream.violations  # the decoder's, in order
        if self.inbound is not None:  # then the extension's (RFC 7692 §6.1, §7.2.2)
            self.observed.violations.extend(self.inbound.violations)
            self.observed.notes.extend(
                n for n in self.inbound.notes if n not in self.observed.notes
            )
        return self.observed


async def _answer_opening_handshake(conn: Connection) -> bytes:
    """Read the client's opening handshake (bounded) and send a valid 101 (§4.2.2 step 5);
    the bytes after the request head come back. A request that cannot be answered raises
    :class:`CannotRun` (the opening handshake is judged by the client scenarios)."""
    head = b""
    try:
        while True:
            data = await conn.receive()
            if not data:
                raise CannotRun("the client closed the connection before its opening handshake")
            head += data
            parsed = parse_request_bytes(head)
            if parsed is not None:
                break
            if len(head) > MAX_REQUEST_HEAD:
                raise CannotRun(f"the client's opening handshake is over {MAX_REQUEST_HEAD} bytes")
    except h11.RemoteProtocolError as exc:
        raise CannotRun(f"the client's opening handshake is not valid HTTP: {exc}") from None
    except DeadlineExceeded:
        raise CannotRun("no complete opening handshake from the client in time") from None
    keys = parsed.request.values("sec-websocket-key")
    if len(keys) != 1:
        raise CannotRun("the client's opening handshake has no single Sec-WebSocket-Key")
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(keys[0].strip())),
    ]
    await conn.send(render_response(101, headers))
    return parsed.trailing


def _offered(protocols: Iterable[bytes], extensions: Iterable[bytes]) -> str:
    """What a handshake offered beyond a plain one, as header lines (empty if nothing)."""
    lines = [f"Sec-WebSocket-Protocol: {p.decode('latin-1')}" for p in protocols]
    lines += [f"Sec-WebSocket-Extensions: {e.decode('latin-1')}" for e in extensions]
    return "; ".join(lines)


def _still_open(was_open: bool | None, frame: Frame | bytes) -> bool | None:
    """Whether a data message of the suite's is unfinished after ``frame`` (§5.4)."""
    if isinstance(frame, bytes):
        return None  # raw bytes: the suite no longer knows where messages start
    if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
        return None if was_open is None else not frame.fin
    if frame.opcode == Opcode.CONTINUATION:
        return None if was_open is None else (was_open and not frame.fin)
    return was_open


def _retrieve(future: asyncio.Future[bytes]) -> None:
    """Mark the outcome of a read left waiting as seen (the session may end first)."""
    if not future.cancelled():
        future.exception()


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
    if not session.can_barrier:  # a preflight fact: wait for the server to close
        await session.until_closed()
    elif await session.barrier():
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
