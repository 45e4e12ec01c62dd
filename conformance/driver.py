"""The thin I/O driver: asyncio TCP and TLS with a deadline on every step.

Every await is bounded by the case's absolute deadline, so a peer that hangs, trickles
or floods can delay a case by at most its timeout. Reads are bounded in size and the
transcript keeps a bounded prefix of each direction, so memory stays bounded too.
Bytes received before a reset are read before it (:class:`ResetLastReader`). An opt-in
:class:`Segmentation` cuts and joins the suite's separate writes at random, so that a
verdict that depends on TCP segmentation shows up as a flip between runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import secrets
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .model.observed import TransportEnd

READ_SIZE = 65536
TRANSCRIPT_LIMIT = 64 * 1024
"""Bytes of each direction kept as evidence; the rest is counted, not stored."""


class ConfigError(Exception):
    """The user's input (URL, option, file) is unusable."""


class DeadlineExceeded(Exception):
    """The peer did not do what the step waited for before the deadline."""


class Unreachable(Exception):
    """No connection could be opened to the target."""


DEFAULT_PORTS = {"ws": 80, "wss": 443}

HTTP1 = "h1"
"""The opening handshake is an HTTP/1.1 Upgrade and the WebSocket owns the TCP
connection (RFC 6455 §4): the default."""
HTTP2 = "h2"
"""The opening handshake is an extended CONNECT and the WebSocket is one HTTP/2 stream
(RFC 8441; see :mod:`conformance.transports.h2`)."""
TRANSPORTS = (HTTP1, HTTP2)

SEGMENTATION_MODE = "random"
"""``--segmentation random[:SEED]``: the one mode there is."""
SPLIT_PROBABILITY = 0.5
"""Chance that an unchunked write is cut into pieces."""
MAX_PIECES = 4
HOLD_PROBABILITY = 0.3
"""Chance that an unchunked write is held back so that the next write joins it."""
MAX_PAUSE = 0.001
"""Longest pause (seconds) between the pieces of a cut write, or before a held write
goes out on its own."""
PAUSE_BUDGET = 0.05
"""Seconds of pauses one connection may add in all: every step stays far inside the
case deadline however many writes a case makes."""
NAGLE_PROBABILITY = 0.5
"""Chance that a connection keeps Nagle's algorithm (no TCP_NODELAY): the kernel then
joins small writes made while an earlier one is unacknowledged."""


class WritePlan:
    """How one connection shapes its unchunked writes; drawn from a seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.nagle = rng.random() < NAGLE_PROBABILITY
        self.budget = PAUSE_BUDGET

    def pause(self) -> float:
        """A pause of at most :data:`MAX_PAUSE`, within the connection's budget."""
        delay = min(self.rng.uniform(0.0, MAX_PAUSE), self.budget)
        self.budget -= delay
        return delay

    def hold(self) -> float | None:
        """None to write now, or the longest time to wait for a next write to join."""
        return self.pause() if self.rng.random() < HOLD_PROBABILITY else None

    def pieces(self, size: int) -> list[int]:
        """Sizes of the pieces a ``size``-byte write is cut into (their sum is ``size``)."""
        if size < 2 or self.rng.random() >= SPLIT_PROBABILITY:
            return [size]
        count = self.rng.randint(2, min(MAX_PIECES, size))
        cuts = sorted(self.rng.sample(range(1, size), count - 1))
        return [end - start for start, end in itertools.pairwise([0, *cuts, size])]


@dataclass(frozen=True, slots=True)
class Segmentation:
    """Opt-in random TCP segmentation of the suite's separate writes (determinism checks).

    Unchunked writes are cut at random points with tiny pauses, or held back (up to
    :data:`MAX_PAUSE`) so the next write joins them; a connection may keep Nagle's
    algorithm. Bytes are never reordered or changed, and ``send(data, chunk=N)`` still
    writes exactly N-byte pieces. Each case draws from ``seed`` and its own id
    (:meth:`for_case`), so a plan does not depend on which case ran first.
    """

    seed: int
    label: str = ""
    opened: Iterator[int] = field(
        default_factory=itertools.count, init=False, compare=False, repr=False
    )

    @classmethod
    def parse(cls, text: str) -> Segmentation:
        """``random`` (a fresh seed) or ``random:SEED``; :class:`ConfigError` otherwise."""
        mode, colon, seed = text.partition(":")
        if mode != SEGMENTATION_MODE or (colon and not seed.isdigit()):
            raise ConfigError(f"invalid --segmentation {text!r}: use random or random:SEED")
        return cls(int(seed) if seed else secrets.randbelow(2**32))

    def describe(self) -> str:
        """The option value that repeats this segmentation."""
        return f"{SEGMENTATION_MODE}:{self.seed}"

    def for_case(self, label: str) -> Segmentation:
        """The segmentation of one case: its connections draw from ``seed`` and ``label``."""
        return Segmentation(self.seed, label)

    def plan(self) -> WritePlan:
        """The plan of the next connection opened under this segmentation."""
        index = next(self.opened)
        return WritePlan(random.Random(f"wsconform-segmentation/{self.seed}/{self.label}/{index}"))


@dataclass(frozen=True, slots=True)
class Target:
    """A WebSocket server to test, from a ``ws://`` or ``wss://`` URL (RFC 6455 §3)."""

    url: str
    host: str
    port: int
    resource: bytes  # path and query: the /resource name/
    secure: bool
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    segmentation: Segmentation | None = field(default=None, compare=False, repr=False)
    handshake_headers: tuple[tuple[bytes, bytes], ...] = field(default=(), repr=False)
    """Headers every valid opening handshake of the suite carries (the preflight's and the
    wire cases'): the Origin and credential a stated security policy requires."""
    transport: str = HTTP1
    """What carries the WebSocket: :data:`HTTP1` or :data:`HTTP2`."""

    @classmethod
    def parse(cls, url: str, ssl_context: ssl.SSLContext | None = None) -> Target:
        """Parse ``url``; raise :class:`ConfigError` with a one-line reason if unusable."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"invalid URL {url!r}: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise ConfigError(f"invalid URL {url!r}: the scheme must be ws or wss")
        if not parts.hostname:
            raise ConfigError(f"invalid URL {url!r}: no host")
        if parts.fragment or url.endswith("#"):
            raise ConfigError(f"invalid URL {url!r}: a WebSocket URL has no fragment (§3)")
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        secure = scheme == "wss"
        if secure and ssl_context is None:
            ssl_context = ssl.create_default_context()
        return cls(
            url=url,
            host=parts.hostname,
            port=port if port is not None else DEFAULT_PORTS[scheme],
            resource=resource.encode("ascii", "strict")
            if resource.isascii()
            else resource.encode("utf-8"),
            secure=secure,
            ssl_context=ssl_context if secure else None,
        )

    @property
    def host_header(self) -> bytes:
        """The |Host| value: host, plus ":port" when not the default (§4.1 item 4)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != DEFAULT_PORTS["wss" if self.secure else "ws"]:
            host += f":{self.port}"
        return host.encode("idna") if not host.isascii() else host.encode("ascii")

    @property
    def origin(self) -> bytes:
        """A same-origin |Origin| value for this target (RFC 6454 serialisation), unless
        :attr:`handshake_headers` names the Origin to send."""
        for name, value in self.handshake_headers:
            if name.lower() == b"origin":
                return value
        scheme = "https" if self.secure else "http"
        return f"{scheme}://".encode() + self.host_header


@dataclass(slots=True)
class Transcript:
    """Bounded record of the bytes a case sent and received."""

    sent: bytearray = field(default_factory=bytearray)
    received: bytearray = field(default_factory=bytearray)
    sent_total: int = 0
    received_total: int = 0

    def record_sent(self, data: bytes) -> None:
        self.sent_total += len(data)
        self.sent += data[: max(0, TRANSCRIPT_LIMIT - len(self.sent))]

    def record_received(self, data: bytes) -> None:
        self.received_total += len(data)
        self.received += data[: max(0, TRANSCRIPT_LIMIT - len(self.received))]


class ResetLastReader(asyncio.StreamReader):
    """A stream reader that hands over every byte received before the connection broke
    (a reset, a TLS error), then reports the break in :attr:`broken`.

    asyncio's own raises the error at the next read and drops the bytes it had already
    received: a Close (or an HTTP response) just before a reset would be lost, and the
    verdict would depend on whether the case read before the reset came in.
    """

    def __init__(self, limit: int = READ_SIZE) -> None:
        super().__init__(limit=limit)
        self.broken: OSError | None = None

    def set_exception(self, exc: Exception) -> None:
        if isinstance(exc, OSError):  # ConnectionResetError, BrokenPipeError, ssl.SSLError
            self.broken = exc
            self.feed_eof()
            return
        super().set_exception(exc)


PLAIN_PORT_HINT = "(is this a plain ws:// port?)"


def connect_timeout_text(target: Target) -> str:
    """One line: the connection (and its TLS handshake) did not open before the deadline."""
    where = f"{target.host}:{target.port}"
    if target.secure:
        return f"connecting to {where} timed out (TCP connect or TLS handshake)"
    return f"connecting to {where} timed out"


def connect_error_text(target: Target, exc: OSError) -> str:
    """One line for a failed connect or TLS handshake; never ends with an empty reason.

    A TLS client talking to a plain port reads an HTTP answer as a bad record
    ("wrong version number") or sees the connection close: both get the hint.
    """
    where = f"{target.host}:{target.port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or type(exc).__name__
        return f"TLS handshake with {where} failed: certificate verify failed: {reason}"
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or str(exc) or type(exc).__name__).lower().replace("_", " ")
        return f"TLS handshake with {where} failed: {reason} {PLAIN_PORT_HINT}"
    if target.secure and isinstance(exc, ConnectionResetError | ConnectionAbortedError):
        return (
            f"TLS handshake with {where} failed: the server closed the connection "
            f"({type(exc).__name__}) {PLAIN_PORT_HINT}"
        )
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot connect to {where}: {reason}"


async def open_stream(
    target: Target, deadline: float
) -> tuple[ResetLastReader, asyncio.StreamWriter]:
    """TCP (and the TLS handshake) to ``target`` before ``deadline``; :class:`Unreachable`
    with a one-line diagnosis when it cannot be opened."""
    loop = asyncio.get_running_loop()
    reader = ResetLastReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    try:
        async with asyncio.timeout_at(deadline):
            transport, _ = await loop.create_connection(
                lambda: protocol,
                target.host,
                target.port,
                ssl=target.ssl_context,
                server_hostname=target.host if target.secure else None,
            )
    except TimeoutError:
        raise Unreachable(connect_timeout_text(target)) from None
    except (OSError, socket.gaierror) as exc:
        raise Unreachable(connect_error_text(target, exc)) from None
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


class Connection:
    """One TCP (or TLS) connection to the target, every step bounded by ``deadline``.

    ``deadline`` is an absolute time on the event loop's clock. With a ``plan`` (the
    target's :class:`Segmentation`) unchunked writes are reshaped as it draws.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        deadline: float,
        transcript: Transcript,
        plan: WritePlan | None = None,
        unread: bytes = b"",
    ) -> None:
        """``unread``: bytes already taken from ``reader`` (a request head read to route the
        connection), returned first by :meth:`receive`."""
        self._reader = reader
        self._unread = unread
        self._fin_sent = False  # half_close() wrote our FIN: nothing more can be written
        self._writer = writer
        self.deadline = deadline
        self.transcript = transcript
        self.end = TransportEnd.OPEN
        self._plan = plan
        self._pending = bytearray()  # accepted by send(), not yet handed to the transport
        self._flush_timer: asyncio.TimerHandle | None = None
        self._cutting = False  # a send is writing the pieces of a cut write
        self._chunked = 0  # chunked sends running (Nagle is off meanwhile)

    @classmethod
    async def open(cls, target: Target, deadline: float, transcript: Transcript) -> Connection:
        """Connect (and run the TLS handshake) before ``deadline``."""
        reader, writer = await open_stream(target, deadline)
        plan = target.segmentation.plan() if target.segmentation is not None else None
        conn = cls(reader, writer, deadline, transcript, plan)
        conn._set_no_delay(plan is None or not plan.nagle)
        return conn

    @classmethod
    def accepted(
        cls,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        deadline: float,
        transcript: Transcript,
        unread: bytes = b"",
    ) -> Connection:
        """A connection the suite accepted (it plays the server to a client under test)."""
        conn = cls(reader, writer, deadline, transcript, unread=unread)
        conn._set_no_delay(True)
        return conn

    @property
    def plan(self) -> WritePlan | None:
        """The segmentation plan of this connection, if any."""
        return self._plan

    def _set_no_delay(self, on: bool) -> None:
        """TCP_NODELAY on or off; turning it on sends what Nagle held back."""
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(on))

    async def send(self, data: bytes, *, chunk: int | None = None) -> None:
        """Write ``data``, in writes of ``chunk`` bytes if given, draining after each.

        A peer that reset or closed the connection ends the write silently: the case
        then observes the closed transport when it reads. Under a segmentation plan an
        unchunked write may be cut or joined to the next one (pass ``chunk=len(data)``
        for exactly one write); a chunked one is written as asked, Nagle off.
        """
        if self._fin_sent:
            return  # our side is closed (half_close): as for a peer that is gone
        try:
            async with asyncio.timeout_at(self.deadline):
                if self._plan is None or chunk is not None:
                    await self._send_chunks(data, chunk)
                else:
                    await self._send_shaped(data, self._plan)
        except TimeoutError:
            raise DeadlineExceeded("the peer stopped reading") from None
        except (ConnectionError, OSError):
            pass

    async def _send_chunks(self, data: bytes, chunk: int | None) -> None:
        """``chunk``-byte writes (one if None), after anything a plan still holds."""
        self._flush_pending()
        step = chunk or len(data) or 1
        nagle = self._plan is not None and self._plan.nagle and chunk is not None
        if nagle:
            self._chunked += 1
            self._set_no_delay(True)
        try:
            for start in range(0, max(len(data), 1), step):
                if asyncio.get_running_loop().time() >= self.deadline:
                    raise TimeoutError
                if self._writer.transport.is_closing():
                    return  # the peer is gone: asyncio would drop the bytes (and log)
                piece = data[start : start + step]
                self.transcript.record_sent(piece)
                self._writer.write(piece)
                await self._writer.drain()
        finally:
            if nagle:
                self._chunked -= 1
                if not self._chunked:
                    self._set_no_delay(False)

    async def _send_shaped(self, data: bytes, plan: WritePlan) -> None:
        """One unchunked write as ``plan`` draws: held back, cut, or whole; in order."""
        loop = asyncio.get_running_loop()
        self.transcript.record_sent(data)
        self._pending += data
        if self._cutting:  # another send is between pieces: everything goes now, in order
            self._flush_pending()
            await self._writer.drain()
            return
        hold = plan.hold()
        if hold is not None:
            if self._flush_timer is None:
                self._flush_timer = loop.call_later(hold, self._flush_pending)
            return
        self._cancel_flush()
        sizes = plan.pieces(len(self._pending))
        self._cutting = True
        try:
            for index, size in enumerate(sizes):
                if index:
                    await asyncio.sleep(plan.pause())
                    await asyncio.sleep(0)  # a read of what the peer sent meanwhile runs first
                if not self._pending or self._writer.transport.is_closing():
                    break  # a concurrent send wrote the rest, or the peer is gone
                if loop.time() >= self.deadline:
                    raise TimeoutError
                last = index == len(sizes) - 1
                piece = bytes(self._pending if last else self._pending[:size])
                del self._pending[: len(piece)]
                self._writer.write(piece)
                await self._writer.drain()
        finally:
            self._cutting = False
            self._flush_pending()  # cut short (deadline, cancel): hand over the rest as one

    def _cancel_flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    def _flush_pending(self) -> None:
        """Hand every held byte to the transport now, in order."""
        self._cancel_flush()
        if not self._pending:
            return
        data = bytes(self._pending)
        self._pending.clear()
        if not self._writer.transport.is_closing():
            with contextlib.suppress(RuntimeError, OSError):
                self._writer.write(data)

    def _release_held(self) -> None:
        """Before closing: no byte stays in our buffer or behind Nagle."""
        self._flush_pending()
        if self._plan is not None and self._plan.nagle:
            self._set_no_delay(True)

    async def receive(self, max_bytes: int = READ_SIZE) -> bytes:
        """The next bytes from the peer; ``b""`` once it closed (FIN) or reset (RST).

        Bytes that came in before a reset are returned first (see :class:`ResetLastReader`).
        """
        if self._unread:
            data, self._unread = self._unread, b""
            self.transcript.record_received(data)
            return data
        if self.end is not TransportEnd.OPEN:
            return b""
        # A read of buffered data never suspends, so a peer that floods would keep the
        # timeout below from ever firing: check the deadline, and yield to the loop.
        if asyncio.get_running_loop().time() >= self.deadline:
            raise DeadlineExceeded("the deadline passed while the peer kept sending")
        await asyncio.sleep(0)
        try:
            async with asyncio.timeout_at(self.deadline):
                data = await self._reader.read(max_bytes)
        except TimeoutError:
            raise DeadlineExceeded("no data from the peer before the deadline") from None
        except (ConnectionResetError, BrokenPipeError):
            self.end = TransportEnd.RESET
            return b""
        except (ssl.SSLError, OSError):
            self.end = TransportEnd.RESET
            return b""
        if not data:
            broken = isinstance(self._reader, ResetLastReader) and self._reader.broken
            self.end = TransportEnd.RESET if broken else TransportEnd.EOF
        self.transcript.record_received(data)
        return data

    async def wait_closed(self) -> None:
        """Read and discard until the peer closes, or the deadline passes."""
        while await self.receive():
            pass

    def half_close(self) -> None:
        """Close our sending side (FIN) and keep reading: the server closing TCP first
        (RFC 6455 §7.1.1) while it sees how the client ends its side. Over TLS, which has
        no half-close, the whole connection is closed (close_notify, then FIN)."""
        self._release_held()
        transport = self._writer.transport
        if transport.is_closing() or self._fin_sent:
            return
        self._fin_sent = True
        if self._writer.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                self._writer.write_eof()
        else:
            self._writer.close()

    def abort(self) -> None:
        """Drop the connection at once (no waiting)."""
        if self.end is TransportEnd.OPEN:
            self.end = TransportEnd.CLOSED_BY_US
        self._release_held()
        # A transport already closed (its write buffer drained after close()) has no loop
        # left on CPython 3.11, and abort() raises AttributeError: it is closed already.
        with contextlib.suppress(AttributeError):
            self._writer.transport.abort()

    async def close(self) -> None:
        """Close our side and release the socket, waiting at most a moment."""
        if self.end is TransportEnd.OPEN:
            self.end = TransportEnd.CLOSED_BY_US
        self._release_held()
        self._writer.close()
        try:
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        except TimeoutError:  # the peer holds on to the socket (or our unsent data): drop it
            self._writer.transport.abort()
        except Exception:  # the connection's own end (a reset): it is closed already
            pass
        # Not aborted once closed: on CPython 3.11 a transport whose write buffer drained
        # after close() has no loop left, and abort() raises AttributeError.
