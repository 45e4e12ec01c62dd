"""Handshakes that pass (or deliberately miss) the access policy the user stated, and the
probe the access checks run (RFC 6455 §10.2, §10.5, §4.2.2).

Every security check that is not about Origin or the credential sends what a
conforming client of the application would: the first allowed origin and the
credential (:func:`policy_headers`), so that its verdict is about its own theme. The
Origin and authentication checks vary one of them at a time (:func:`handshake`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Final

from ...driver import Connection, DeadlineExceeded, Unreachable
from ...model.decoder import PeerStream
from ...model.handshake import HandshakeRequest, ResponseReader, build_request
from ...model.observed import CloseInfo, HttpResponse, Observed, TransportEnd
from ...policy.security import SecurityPolicy
from ...session.answers import courtesy_close, read_response
from ...session.context import CaseContext

__all__ = [
    "ACCEPT_SETTLE",
    "ORIGIN",
    "Header",
    "credential_headers",
    "handshake",
    "origin_headers",
    "policy_headers",
    "policy_request",
    "probe_upgrade",
    "upgrade",
]

ORIGIN: Final = "Origin"
ACCEPT_SETTLE: Final = 0.5
"""Seconds the probe watches a 101 for a Close or a TCP close: one that came at once
tells "accepted, then closed" (the socket was opened) from "accepted"."""
WATCH_MAX_BYTES: Final = 64 * 1024
"""The most the probe reads after a 101 (a server may greet, or flood): then it stops."""
CLOSED_AFTER: Final = "closed_after_s"
"""The measure: seconds from the 101 to the server's Close or TCP close."""

Header = tuple[str, str]


def origin_headers(policy: SecurityPolicy) -> list[Header]:
    """``Origin: <the first allowed origin>`` when origins are stated, else nothing."""
    allowed = policy.allowed_origin
    return [] if allowed is None else [(ORIGIN, allowed)]


def credential_headers(policy: SecurityPolicy) -> list[Header]:
    """The stated credential header (``--auth-header``), else nothing."""
    return [] if policy.auth_header is None else [policy.auth_header]


def policy_headers(policy: SecurityPolicy) -> list[Header]:
    """The Origin and credential headers a conforming request carries under ``policy``
    (nothing for what was not stated): add them to every handshake a check sends."""
    return [*origin_headers(policy), *credential_headers(policy)]


def handshake(
    ctx: CaseContext, headers: Iterable[Header], resource: bytes | None = None
) -> HandshakeRequest:
    """A valid handshake for the target (§4.1) with exactly ``headers`` added."""
    extra = tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers)
    return build_request(
        ctx.target.host_header,
        ctx.target.resource if resource is None else resource,
        extra=extra,
    )


def policy_request(
    ctx: CaseContext,
    policy: SecurityPolicy,
    extra_headers: Sequence[Header] = (),
    resource: bytes | None = None,
) -> HandshakeRequest:
    """A valid handshake that passes the stated policy, with ``extra_headers`` after."""
    return handshake(ctx, [*policy_headers(policy), *extra_headers], resource)


async def _watch_after_101(
    conn: Connection, trailing: bytes, observed: Observed, settle: float
) -> None:
    """Read for ``settle`` seconds after a 101: did the server close at once?"""
    stream = PeerStream(peer="server")
    if trailing:
        stream.feed(trailing)
    loop = asyncio.get_running_loop()
    started = loop.time()
    until = min(started + settle, conn.deadline)
    while (
        stream.close is None
        and conn.end is TransportEnd.OPEN
        and stream.bytes_received < WATCH_MAX_BYTES
    ):
        remaining = until - loop.time()
        if remaining <= 0:
            break
        try:
            async with asyncio.timeout(remaining):
                data = await conn.receive()
        except (TimeoutError, DeadlineExceeded):
            break
        if not data:
            break
        stream.feed(data)
    if stream.close is not None:
        observed.close = CloseInfo(stream.close.code, stream.close.reason)
    if stream.close is not None or conn.end is not TransportEnd.OPEN:
        waited = round(loop.time() - started, 3)
        observed.measures[CLOSED_AFTER] = waited
        observed.notes.append(f"the server ended the connection {waited:g} s after its 101")
    else:
        observed.notes.append(f"the connection was still open {settle:g} s after the 101")
    if conn.end is TransportEnd.OPEN:
        await conn.send(courtesy_close())


async def upgrade(
    ctx: CaseContext, request: HandshakeRequest, settle: float = ACCEPT_SETTLE
) -> Observed:
    """Send ``request`` and read the answer (bounded); after a 101, watch ``settle``
    seconds for the server ending the connection, then close it politely."""
    observed = Observed()
    conn = await ctx.connect()
    await conn.send(request.to_bytes())
    reader = ResponseReader()
    observed.timed_out = await read_response(conn, reader)
    observed.response = reader.response
    observed.response_error = reader.error
    if reader.response is not None and reader.response.status == 101:
        await _watch_after_101(conn, reader.trailing, observed, settle)
    observed.transport = conn.end
    return observed


async def probe_upgrade(ctx: CaseContext, request: HandshakeRequest) -> HttpResponse | None:
    """The answer to ``request`` on another connection (None: no HTTP response)."""
    try:
        return (await upgrade(ctx, request, settle=0.0)).response
    except Unreachable:
        return None
