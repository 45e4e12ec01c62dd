"""The thin I/O driver: asyncio TCP and TLS with a deadline on every step.

Every await is bounded by the case's absolute deadline, so a peer that hangs, trickles
or floods can delay a case by at most its timeout. Reads are bounded in size and the
transcript keeps a bounded prefix of each direction, so memory stays bounded too.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .model.outcomes import TransportEnd

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


@dataclass(frozen=True, slots=True)
class Target:
    """A WebSocket server to test, from a ``ws://`` or ``wss://`` URL (RFC 6455 §3)."""

    url: str
    host: str
    port: int
    resource: bytes  # path and query: the /resource name/
    secure: bool
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

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
        """A same-origin |Origin| value for this target (RFC 6454 serialisation)."""
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


class Connection:
    """One TCP (or TLS) connection to the target, every step bounded by ``deadline``.

    ``deadline`` is an absolute time on the event loop's clock.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        deadline: float,
        transcript: Transcript,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.deadline = deadline
        self.transcript = transcript
        self.end = TransportEnd.OPEN

    @classmethod
    async def open(cls, target: Target, deadline: float, transcript: Transcript) -> Connection:
        """Connect (and run the TLS handshake) before ``deadline``."""
        try:
            async with asyncio.timeout_at(deadline):
                reader, writer = await asyncio.open_connection(
                    target.host,
                    target.port,
                    ssl=target.ssl_context,
                    server_hostname=target.host if target.secure else None,
                    limit=READ_SIZE,
                )
        except TimeoutError:
            raise Unreachable(f"connecting to {target.host}:{target.port} timed out") from None
        except ssl.SSLError as exc:
            raise Unreachable(
                f"TLS handshake with {target.host}:{target.port} failed: {exc.reason or exc}"
            ) from None
        except (OSError, socket.gaierror) as exc:
            reason = exc.strerror or str(exc)
            raise Unreachable(f"cannot connect to {target.host}:{target.port}: {reason}") from None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, deadline, transcript)

    async def send(self, data: bytes, *, chunk: int | None = None) -> None:
        """Write ``data``, in writes of ``chunk`` bytes if given, draining after each.

        A peer that reset or closed the connection ends the write silently: the case
        then observes the closed transport when it reads.
        """
        step = chunk or len(data) or 1
        try:
            async with asyncio.timeout_at(self.deadline):
                for start in range(0, max(len(data), 1), step):
                    if asyncio.get_running_loop().time() >= self.deadline:
                        raise TimeoutError
                    piece = data[start : start + step]
                    self.transcript.record_sent(piece)
                    self._writer.write(piece)
                    await self._writer.drain()
        except TimeoutError:
            raise DeadlineExceeded("the peer stopped reading") from None
        except (ConnectionError, OSError):
            pass

    async def receive(self, max_bytes: int = READ_SIZE) -> bytes:
        """The next bytes from the peer; ``b""`` once it closed (FIN) or reset (RST)."""
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
            self.end = TransportEnd.EOF
        self.transcript.record_received(data)
        return data

    async def wait_closed(self) -> None:
        """Read and discard until the peer closes, or the deadline passes."""
        while await self.receive():
            pass

    def abort(self) -> None:
        """Drop the connection at once (no waiting)."""
        if self.end is TransportEnd.OPEN:
            self.end = TransportEnd.CLOSED_BY_US
        self._writer.transport.abort()

    async def close(self) -> None:
        """Close our side and release the socket, waiting at most a moment."""
        if self.end is TransportEnd.OPEN:
            self.end = TransportEnd.CLOSED_BY_US
        self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        self._writer.transport.abort()
