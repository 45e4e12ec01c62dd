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
from dataclasses import dataclass, replace

from ..driver import Connection, DeadlineExceeded, Target, Transcript
from ..model import handshake as hs
from ..model.codec import encode_frame
from ..model.observed import HttpResponse, TransportEnd
from ..model.violations import Violation
from .wire import close_frame

__all__ = [
    "PreflightResult",
    "could_be_http",
    "diagnose",
    "looks_like_tls",
    "preflight",
    "speaks_tls",
]

FIRST_BYTES = 32
"""Bytes of an unexpected answer shown in a diagnosis."""

TLS_RECORD_TYPES = frozenset({0x14, 0x15, 0x16, 0x17})
"""First byte of a TLS record (RFC 8446 §5.1: change_cipher_spec, alert, handshake,
application_data); the second is the major version, 0x03."""

HTTP_PREFIX = b"HTTP/"
"""How every HTTP/1.x status line starts (RFC 9112 §4)."""

NOT_WEBSOCKET = "not a WebSocket server (RFC 6455 §4.1: a 101 is required)"
REFUSED = "every case needs a 101 (RFC 6455 §4.2.2); is the URL's path right?"
WSS_PORT_HINT = "sent TLS (is this a wss:// port?)"
GOING_AWAY = 1001


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """What the target did with one valid opening handshake.

    ``problem`` is a one-line diagnosis, empty when the server answered 101.
    """

    problem: str = ""
    response: HttpResponse | None = None
    violations: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problem


def looks_like_tls(data: bytes) -> bool:
    """True if ``data`` starts like a TLS record (a ``ws://`` URL for a ``wss://`` port)."""
    return len(data) >= 2 and data[0] in TLS_RECORD_TYPES and data[1] == 0x03


def could_be_http(data: bytes) -> bool:
    """False once ``data`` cannot be the start of an HTTP response (no "HTTP/" status line)."""
    head = data.lstrip(b"\r\n")[: len(HTTP_PREFIX)]
    return HTTP_PREFIX.startswith(head)


def _first(data: bytes) -> str:
    more = "..." if len(data) > FIRST_BYTES else ""
    return f"{data[:FIRST_BYTES]!r}{more}"


def _refusal(where: str, response: HttpResponse) -> str:
    """A 2xx/3xx answer is a plain web server; an error status refuses this URL."""
    server = b", ".join(response.values(b"server")).decode("latin-1")
    about = f"{response.describe()}" + (f" (Server: {server})" if server else "")
    if response.status < 400:
        return f"{where} answered the opening handshake with {about}: {NOT_WEBSOCKET}"
    return f"{where} refused a valid opening handshake with {about}: {REFUSED}"


def diagnose(
    where: str,
    reader: hs.ResponseReader,
    received: bytes,
    *,
    secure: bool,
    end: TransportEnd,
    timeout: float | None,
) -> str:
    """The one-line problem with the answer to a valid handshake, or "" for a 101.

    ``received`` is what the server sent (a prefix is enough), ``end`` how the
    connection ended, ``timeout`` the seconds waited if the wait ran out (else None).
    """
    if not secure and looks_like_tls(received):
        return f"{where} {WSS_PORT_HINT}"
    response = reader.response
    if response is not None:
        return "" if response.status == 101 else _refusal(where, response)
    if not could_be_http(received) or (reader.error is not None and received):
        why = f" ({reader.error})" if reader.error else ""
        return (
            f"{where} answered the opening handshake with something that is not HTTP{why}: "
            f"{_first(received)}"
        )
    if timeout is not None:
        if not received:
            spoken = "TLS" if secure else "TCP"
            return (
                f"no answer from {where} to the opening handshake within {timeout:g} s: "
                f"the server accepts {spoken} but does not speak"
            )
        return (
            f"the answer of {where} to the opening handshake stopped after {len(received)} bytes "
            f"within {timeout:g} s: {_first(received)}"
        )
    how = "reset" if end is TransportEnd.RESET else "closed"
    if received:
        return f"{where} {how} the connection in the middle of its answer: {_first(received)}"
    return f"{where} {how} the connection without answering the opening handshake"


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
    """Connect, send a valid opening handshake and read the answer, within ``timeout``.

    Raises :class:`~conformance.driver.Unreachable` when no connection opens. A ``ws://``
    connection closed without an answer is probed once for TLS (a ``wss://`` port).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    transcript = Transcript()
    target = replace(target, segmentation=None)  # the cases' write plans stay as drawn
    conn = await Connection.open(target, deadline, transcript)
    request = hs.build_request(target.host_header, target.resource, origin=target.origin)
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
        await _say_goodbye(conn)
        return PreflightResult(
            response=response, violations=tuple(hs.check_accept(request, response))
        )
    conn.abort()
    if not target.secure and not received and waited is None and await speaks_tls(target, deadline):
        problem = f"{where} {WSS_PORT_HINT}"
    return PreflightResult(problem=problem, response=response)


async def _say_goodbye(conn: Connection) -> None:
    """A masked Close (§5.5.1, 1001 going away), then the connection is released."""
    with contextlib.suppress(DeadlineExceeded):
        await conn.send(encode_frame(close_frame(GOING_AWAY)))
    await conn.close()
