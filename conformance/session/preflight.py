"""Preflight: one valid opening handshake before any case runs (RFC 6455 §4.1).

A target that is not a working WebSocket server (silent, plain HTTP, TLS on a ``ws://``
port, ...) is diagnosed here once, in one line, instead of by every case. The reading
of what came back (:func:`diagnose`) is a pure function; :func:`preflight` does the I/O,
every step within one timeout. A 101 passes even if it breaks a rule of §4.2.2: the
handshake cases judge that, so its violations are only recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field, replace

from ..driver import HTTP2, Connection, DeadlineExceeded, Target, Transcript
from ..model import handshake as hs
from ..model.answer_diagnosis import (
    FIRST_BYTES,
    WSS_PORT_HINT,
    could_be_http,
    diagnose,
    looks_like_tls,
)
from ..model.codec import encode_frame
from ..model.observed import HttpResponse, TransportEnd
from ..model.violations import Violation
from ..transports.h2 import H2StreamConnection
from .capabilities import probe
from .context import PeerFacts
from .wire import close_frame

__all__ = ["PreflightResult", "preflight", "speaks_tls"]

GOING_AWAY = 1001
SERVER_HEADER_MAX = 120
"""Characters of the ``Server:`` header a report shows."""
GOODBYE_WAIT = 1.0
"""Seconds the preflight's closing Close may take to write."""


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """What the target did with one valid opening handshake.

    ``problem`` is a one-line diagnosis, empty when the server answered 101.
    """

    problem: str = ""
    response: HttpResponse | None = None
    violations: tuple[Violation, ...] = ()
    facts: PeerFacts = field(default_factory=PeerFacts)
    """What the Ping and echo probe after the 101 found (see :mod:`.capabilities`)."""

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def server_header(self) -> str:
        """The ``Server:`` header of the answer (printable, one line), or ""."""
        if self.response is None:
            return ""
        value = self.response.joined(b"server")
        return "".join(c if c.isprintable() else "?" for c in value)[:SERVER_HEADER_MAX]


async def speaks_tls(target: Target, deadline: float) -> bool:
    """True if a TLS handshake (certificate unchecked) completes on the target's port."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(deadline):
            transport, _ = await loop.create_connection(
                asyncio.Protocol, target.host, target.port, ssl=context
            )
    except (OSError, TimeoutError):
        return False
    transport.abort()
    return True


async def preflight(target: Target, timeout: float) -> PreflightResult:
    """Connect, send a valid opening handshake and read the answer, within ``timeout``;
    after a valid 101, probe for a Pong and an echo within ``timeout`` more.

    Raises :class:`~conformance.driver.Unreachable` when no connection opens. A ``ws://``
    connection closed without an answer is probed once for TLS (a ``wss://`` port).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    transcript = Transcript()
    target = replace(target, segmentation=None)  # the cases' write plans stay as drawn
    if target.transport == HTTP2:
        return await _preflight_h2(target, deadline, timeout, transcript)
    conn = await Connection.open(target, deadline, transcript)
    extra = [(n, v) for n, v in target.handshake_headers if n.lower() != b"origin"]
    request = hs.build_request(
        target.host_header, target.resource, origin=target.origin, extra=extra
    )
    reader = hs.ResponseReader()
    waited: float | None = None
    try:
        await conn.send(request.to_bytes())
        while not reader.done and reader.response is None:
            data = await conn.receive()
            reader.feed(data)
            head = bytes(transcript.received[:FIRST_BYTES])
            if looks_like_tls(head) or not could_be_http(head):
                break
    except DeadlineExceeded:
        waited = timeout
    received = bytes(transcript.received)
    where = f"{target.host}:{target.port}"
    problem = diagnose(where, reader, received, secure=target.secure, end=conn.end, timeout=waited)
    response = reader.response
    if not problem and response is not None:
        broken = tuple(hs.check_accept(request, response))
        facts = PeerFacts()
        if not broken:  # the cases would not get past an invalid 101 either
            conn.deadline = loop.time() + timeout
            facts = await probe(conn, reader.trailing, timeout)
        await _say_goodbye(conn)
        return PreflightResult(response=response, violations=broken, facts=facts)
    conn.abort()
    if not target.secure and not received and waited is None and await speaks_tls(target, deadline):
        problem = f"{where} {WSS_PORT_HINT}"
    return PreflightResult(problem=problem, response=response)


async def _preflight_h2(
    target: Target, deadline: float, timeout: float, transcript: Transcript
) -> PreflightResult:
    """The same over HTTP/2: the extended CONNECT (RFC 8441 §4, §5) with a same-origin
    Origin, answered ``:status 200``, then the same probe. A server that does not speak
    HTTP/2 or enable the extended CONNECT raises :class:`~conformance.driver.Unreachable`."""
    origin = [(b"origin", target.origin)]
    extra = [(n, v) for n, v in target.handshake_headers if n.lower() != b"origin"]
    conn = await H2StreamConnection.connect(target, deadline, transcript, origin + extra)
    if conn.problem:
        conn.abort()
        return PreflightResult(problem=f"{conn.where}: {conn.problem}", response=conn.response)
    conn.deadline = asyncio.get_running_loop().time() + timeout
    facts = await probe(conn, b"", timeout)
    await _say_goodbye(conn)
    return PreflightResult(response=conn.response, facts=facts)


async def _say_goodbye(conn: Connection) -> None:
    """A masked Close (§5.5.1, 1001 going away), then the connection is released."""
    if conn.end is TransportEnd.OPEN:
        conn.deadline = asyncio.get_running_loop().time() + GOODBYE_WAIT
        with contextlib.suppress(DeadlineExceeded):
            await conn.send(encode_frame(close_frame(GOING_AWAY)))
    await conn.close()
