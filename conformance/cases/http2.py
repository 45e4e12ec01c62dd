"""RFC 8441 §3-§5: bootstrapping WebSockets with HTTP/2's extended CONNECT.

HTTP/2 only (:mod:`conformance.transports.scope` keeps them out of HTTP/1.1 runs). Each
case opens its own HTTP/2 connection (:class:`~conformance.transports.h2.H2Probe`),
reads the server's SETTINGS and, only when they offer the extended CONNECT
(SETTINGS_ENABLE_CONNECT_PROTOCOL = 1, §3), sends its request: a server without it is
UNSUPPORTED, never FAIL. What the case saw goes into ``Observed.measures`` and
``Observed.response``; :mod:`conformance.model.h2_bootstrap` reads them.

A malformed request (no ``:path`` or ``:scheme``, a connection-specific field: RFC 9113
§8.1.1, §8.2.2) is refused by a 4xx/5xx answer, RST_STREAM, or a GOAWAY with an error
(§5.4.1 allows treating a stream error as a connection error): never a 2xx.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from ..driver import DeadlineExceeded
from ..model import rules
from ..model.behaviours import AllOf, Behaviour, HttpRefusal, expect
from ..model.codec import encode_frame
from ..model.constants import Opcode
from ..model.h2_bootstrap import (
    CONNECT_PROTOCOL,
    ECHOED,
    GOAWAY,
    MULTIPLEXED,
    NEW_STREAM_STATUS,
    NOT_ENABLED,
    RST_STREAM,
    SETTING_VALUES,
    STREAM_ENDED,
    TUNNELLED,
    Measured,
    Refused,
    SettingIn,
    Success,
    describe_measures,
    read_stream,
)
from ..model.observed import Observed, TransportEnd
from ..model.verdict import Level, Outcome
from ..session.context import CaseContext
from ..session.wire import client_frame, close_frame
from ..transports.h2 import H2Probe, ProbeStream, connect_headers
from .base import Allowed, Case

__all__ = ["CASES"]

R_SETTING_NAME = "rfc8441-3-setting-name"
R_SETTING_USE = "rfc8441-3-client-may-use-after-1"
R_SETTING_VALUE = "rfc8441-3-setting-0-or-1"
R_REPLACES_GET = "rfc8441-5-connect-replaces-get"
R_STREAM_AS_TCP = "rfc8441-5-stream-as-tcp-connection"
R_STATUS_200 = "rfc8441-5.1-example-status-200"
R_NO_KEY_ACCEPT = "rfc8441-5-no-key-accept"
R_PROTOCOL_WEBSOCKET = "rfc8441-5-protocol-websocket"
R_PROTOCOL_SERVICE = "rfc8441-4-tunnel-to-protocol-service"
R_SCHEME_PATH = "rfc8441-4-scheme-path-required"
R_NO_CONNECTION_UPGRADE = "rfc8441-5-no-connection-upgrade-headers"
R_HEADERS_AS_RFC6455 = "rfc8441-5-handshake-headers-as-rfc6455"
R_VERSION = "rfc6455-4.2.1-version-13"
R_MULTIPLEXED = "rfc8441-1-streams-multiplexed"
R_CLOSURE_AS_TCP = "rfc8441-5-stream-closure-as-tcp"
R_END_STREAM = "rfc8441-5-end-stream-orderly-close"
R_NO_TUNNEL = "rfc8441-4-no-tunnel"
R_AUTHORITY = "rfc8441-4-authority-as-ordinary"

SEC_WEBSOCKET_ACCEPT = b"sec-websocket-accept"
SEC_WEBSOCKET_VERSION = b"sec-websocket-version"
SAMPLE_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
"""The RFC 6455 §1.3 example key, sent where RFC 8441 §5 says it is not processed."""
OTHER_PROTOCOL = b"foo"
"""A ``:protocol`` that is not ``websocket`` (and names no registered upgrade token)."""
UNKNOWN_VERSION = b"9"
"""A version no draft used (drafts went 8 to 13): §4.4 lets a server accept several
versions (ws takes 8), so only one it cannot understand must be refused, as the HTTP/1.1
cases do with 9 and 14."""
CLIENT_ERRORS = frozenset(range(400, 500))
ECHO_WAIT = 1.0
"""Seconds a case waits for an echo where none is expected (after a wrong 2xx)."""
TUNNEL_WAIT = 1.0
"""Seconds a case listens for a tunnel to the :authority port after the answer (§4)."""
NORMAL_CLOSURE = 1000
MESSAGE = b"over HTTP/2"

UNSUPPORTED = Allowed(
    NOT_ENABLED,
    Outcome.UNSUPPORTED,
    "§3: without SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 the server does not offer "
    "WebSockets over HTTP/2, and the case sends no extended CONNECT",
)

Headers = list[tuple[bytes, bytes]]
Probe = Callable[[CaseContext, H2Probe, Observed], Awaitable[None]]


def _bootstrap(probe_fn: Probe) -> Callable[[CaseContext], Awaitable[Observed]]:
    """A case's ``run``: open the connection, record the setting, and run ``probe_fn``
    only when the extended CONNECT is offered (§3); a missed deadline is ``timed_out``."""

    async def run(ctx: CaseContext) -> Observed:
        probe = await H2Probe.open(ctx.target, ctx.deadline, ctx.transcript)
        observed = Observed()
        try:
            value = probe.connect_protocol
            if value is not None:
                observed.measures[CONNECT_PROTOCOL] = float(value)
            if value == 1:
                await probe_fn(ctx, probe, observed)
        except DeadlineExceeded:
            observed.timed_out = True
        finally:
            lost = probe.lost
            await probe.close()
        observed.transport = TransportEnd.EOF if lost else TransportEnd.CLOSED_BY_US
        observed.notes.append(describe_measures(observed.measures))
        return observed

    return run


async def _settings_only(ctx: CaseContext, probe: H2Probe, observed: Observed) -> None:
    """The first SETTINGS say it all (§3)."""


def _request(
    ctx: CaseContext,
    *,
    protocol: bytes = b"websocket",
    drop: Sequence[bytes] = (),
    version: bytes | None = b"13",
    extra: Headers | None = None,
    authority: bytes | None = None,
) -> Headers:
    """The extended CONNECT of :func:`connect_headers`, with one thing changed."""
    headers: Headers = []
    for name, value in connect_headers(ctx.target):
        if name in drop or (name == SEC_WEBSOCKET_VERSION and version is None):
            continue
        if name == b":protocol":
            value = protocol
        elif name == SEC_WEBSOCKET_VERSION and version is not None:
            value = version
        elif name == b":authority" and authority is not None:
            value = authority
        headers.append((name, value))
    return headers + list(extra or [])


async def _ask(probe: H2Probe, headers: Headers, observed: Observed) -> int:
    """Send ``headers`` on a new stream and record the answer; the stream's id."""
    stream_id = probe.request(headers)
    stream = await probe.response(stream_id)
    _record(probe, stream, observed)
    return stream_id


def _record(probe: H2Probe, stream: ProbeStream, observed: Observed) -> None:
    observed.response = stream.response
    if stream.reset is not None:
        observed.measures[RST_STREAM] = float(stream.reset)
    if probe.goaway is not None:
        observed.measures[GOAWAY] = float(probe.goaway)


async def _round_trip(probe: H2Probe, stream_id: int, payload: bytes = MESSAGE) -> bool:
    """Send a masked text message on the stream; whether it came back (§5: RFC 6455
    framing on the stream), within the case deadline."""
    stream = probe.streams[stream_id]
    already = len(read_stream(bytes(stream.data), False)[0])
    probe.send_data(stream_id, encode_frame(client_frame(Opcode.TEXT, payload)))

    def settled() -> bool:
        messages = read_stream(bytes(stream.data), False)[0]
        return len(messages) > already or stream.over or probe.finished(stream_id)

    await probe.wait_until(settled)
    messages = read_stream(bytes(stream.data), stream.ended)[0]
    return messages[already : already + 1] == [(int(Opcode.TEXT), payload)]


async def _close(probe: H2Probe, stream_id: int) -> bool:
    """The closing handshake on the stream (RFC 6455 §7.1.2): the suite's Close 1000, the
    server's Close back, then the server's END_STREAM (its TCP close, RFC 8441 §5)."""
    stream = probe.streams[stream_id]
    probe.send_data(stream_id, encode_frame(close_frame(NORMAL_CLOSURE)))
    await probe.wait_until(lambda: stream.over or probe.finished(stream_id))
    close = read_stream(bytes(stream.data), stream.ended)[1]
    return close is not None and stream.ended and stream.reset is None


async def _basic_open(ctx: CaseContext, probe: H2Probe, observed: Observed) -> None:
    stream_id = await _ask(probe, _request(ctx), observed)
    if observed.response is not None and observed.response.status in range(200, 300):
        observed.measures[ECHOED] = float(await _round_trip(probe, stream_id))


async def _other_protocol(ctx: CaseContext, probe: H2Probe, observed: Observed) -> None:
    """On a 2xx, whether a WebSocket message is echoed (it must not be: §5, only
    ``websocket`` initiates a WebSocket), waiting at most :data:`ECHO_WAIT`."""
    stream_id = await _ask(probe, _request(ctx, protocol=OTHER_PROTOCOL), observed)
    if observed.response is None or observed.response.status not in range(200, 300):
        return
    echoed = False
    with contextlib.suppress(TimeoutError, DeadlineExceeded):
        async with asyncio.timeout(ECHO_WAIT):
            echoed = await _round_trip(probe, stream_id)
    observed.measures[ECHOED] = float(echoed)


def _refusal_probe(request: Callable[[CaseContext], Headers]) -> Probe:
    """Send the one request ``request`` builds and record its answer."""

    async def probe_fn(ctx: CaseContext, probe: H2Probe, observed: Observed) -> None:
        await _ask(probe, request(ctx), observed)

    return probe_fn


async def _multiplexed(ctx: CaseContext, probe: H2Probe, observed: Observed) -> None:
    """Two WebSockets and a GET on one connection (§1): each echoes alone, the GET gets an
    answer, and closing the first leaves the second echoing."""
    first = await _ask(probe, _request(ctx), observed)
    second = await _ask(probe, _request(ctx), observed)
    get = probe.request(
        [
            (b":method", b"GET"),
            (b":scheme", b"https" if ctx.target.secure else b"http"),
            (b":path", ctx.target.resource),
            (b":authority", ctx.target.host_header),
        ],
        end_stream=True,
    )
    answered = (await probe.response(get)).response is not None
    both = await _round_trip(probe, second, b"second") and await _round_trip(probe, first, b"one")
    closed = await _close(probe, first)
    after = await _round_trip(probe, second, b"second again")
    observed.measures[MULTIPLEXED] = float(answered and both and closed and after)


async def _close_ends_stream(ctx: CaseContext, probe: H2Probe, observed: Observed) -> None:
    """The closing handshake ends the stream, not the connection (§5): END_STREAM, and a
    new extended CONNECT on the same connection is answered."""
    stream_id = await _ask(probe, _request(ctx), observed)
    if observed.response is None or observed.response.status not in range(200, 300):
        return
    observed.measures[STREAM_ENDED] = float(await _close(probe, stream_id))
    if probe.goaway is not None:
        observed.measures[GOAWAY] = float(probe.goaway)
    status = 0
    if not probe.lost and probe.goaway is None:
        again = probe.request(_request(ctx))
        answer = await probe.response(again)
        status = answer.response.status if answer.response is not None else 0
    observed.measures[NEW_STREAM_STATUS] = float(status)


async def _no_tunnel(ctx: CaseContext, probe: H2Probe, observed: Observed) -> None:
    """``:authority`` names a loopback port the case listens on; after the answer no
    connection may arrive there within :data:`TUNNEL_WAIT` (§4)."""
    arrived: list[int] = []
    loop = asyncio.get_running_loop()

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        arrived.append(1)
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    try:
        port = listener.sockets[0].getsockname()[1]
        authority = f"127.0.0.1:{port}".encode()
        await _ask(probe, _request(ctx, authority=authority), observed)
        await asyncio.sleep(max(0.0, min(TUNNEL_WAIT, ctx.deadline - loop.time())))
    finally:
        listener.close()
        await listener.wait_closed()
    observed.measures[TUNNELLED] = float(len(arrived))


def _case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    level: Level,
    behaviour: Behaviour,
    probe_fn: Probe,
    *allowed: Allowed,
    notes: str = "",
) -> Case:
    return Case(
        id=case_id,
        title=title,
        requirements=requirements,
        level=level,
        expect=expect(behaviour),
        run=_bootstrap(probe_fn),
        allowed=(*allowed, UNSUPPORTED),
        notes=notes,
    )


OPEN = AllOf((Success(), Measured(ECHOED, 1, "a WebSocket message echoed on the stream")))
VERSION_REFUSAL = HttpRefusal(CLIENT_ERRORS, SEC_WEBSOCKET_VERSION, b"13")

CASES: tuple[Case, ...] = (
    Case(
        id="rfc8441/3/setting-advertised",
        title="The server's SETTINGS offer the extended CONNECT (ENABLE_CONNECT_PROTOCOL = 1)",
        requirements=(R_SETTING_NAME, R_SETTING_USE),
        level=Level.MAY,
        expect=expect(SettingIn(frozenset({1}))),
        run=_bootstrap(_settings_only),
        allowed=(UNSUPPORTED,),
    ),
    Case(
        id="rfc8441/3/setting-0-or-1",
        title="SETTINGS_ENABLE_CONNECT_PROTOCOL is 0 or 1",
        requirements=(R_SETTING_VALUE,),
        level=Level.MUST,
        expect=expect(SettingIn(SETTING_VALUES, absent=True)),
        run=_bootstrap(_settings_only),
    ),
    _case(
        "rfc8441/5/basic-open",
        "An extended CONNECT with :protocol websocket opens a WebSocket that echoes",
        (R_REPLACES_GET, R_STATUS_200, R_STREAM_AS_TCP),
        Level.MUST,
        OPEN,
        _basic_open,
    ),
    _case(
        "rfc8441/5/no-accept-header",
        "A Sec-WebSocket-Key is not processed: the 200 carries no Sec-WebSocket-Accept",
        (R_NO_KEY_ACCEPT,),
        Level.MAY,
        Success(without=SEC_WEBSOCKET_ACCEPT),
        _refusal_probe(lambda ctx: _request(ctx, extra=[(b"sec-websocket-key", SAMPLE_KEY)])),
        notes="§5 states that the Key and Accept are not processed, with no key word: an "
        "Accept in the response breaks no MUST, so it is reported as INFO.",
    ),
    _case(
        "rfc8441/4/protocol-not-websocket",
        "An extended CONNECT with :protocol foo does not open a WebSocket",
        (R_PROTOCOL_WEBSOCKET, R_PROTOCOL_SERVICE),
        Level.MUST,
        Refused(),
        _other_protocol,
        Allowed(
            AllOf((Success(), Measured(ECHOED, 0, "no WebSocket echo"))),
            Outcome.INFO,
            "§4: a 2xx tunnels to a service of the :protocol named; it did not act as a "
            "WebSocket (RFC 9220 §3 asks 501 of HTTP/3; RFC 8441 names no status)",
        ),
    ),
    _case(
        "rfc8441/4/missing-path",
        "An extended CONNECT without :path is refused as malformed",
        (R_SCHEME_PATH,),
        Level.MUST,
        Refused(),
        _refusal_probe(lambda ctx: _request(ctx, drop=(b":path",))),
    ),
    _case(
        "rfc8441/4/missing-scheme",
        "An extended CONNECT without :scheme is refused as malformed",
        (R_SCHEME_PATH,),
        Level.MUST,
        Refused(),
        _refusal_probe(lambda ctx: _request(ctx, drop=(b":scheme",))),
    ),
    _case(
        "rfc8441/5/connection-header",
        "An extended CONNECT with a Connection field is refused as malformed",
        (R_NO_CONNECTION_UPGRADE,),
        Level.MUST,
        Refused(),
        _refusal_probe(lambda ctx: _request(ctx, extra=[(b"connection", b"upgrade")])),
    ),
    _case(
        "rfc8441/5/upgrade-header",
        "An extended CONNECT with an Upgrade field is refused as malformed",
        (R_NO_CONNECTION_UPGRADE,),
        Level.MUST,
        Refused(),
        _refusal_probe(lambda ctx: _request(ctx, extra=[(b"upgrade", b"websocket")])),
    ),
    _case(
        "rfc8441/5/version-missing",
        "An extended CONNECT without Sec-WebSocket-Version is refused with a 4xx",
        (R_HEADERS_AS_RFC6455, R_VERSION),
        Level.MUST,
        HttpRefusal(CLIENT_ERRORS),
        _refusal_probe(lambda ctx: _request(ctx, version=None)),
    ),
    _case(
        "rfc8441/5/version-unknown",
        "An extended CONNECT with Sec-WebSocket-Version 9 gets a 4xx naming version 13",
        (R_HEADERS_AS_RFC6455, rules.VERSION_MISMATCH_426, rules.VERSION_HEADER_ON_REFUSAL),
        Level.MUST,
        VERSION_REFUSAL,
        _refusal_probe(lambda ctx: _request(ctx, version=UNKNOWN_VERSION)),
    ),
    _case(
        "rfc8441/5/multiplexed",
        "Two WebSockets and a GET share one connection; closing one leaves the other",
        (R_MULTIPLEXED, R_CLOSURE_AS_TCP),
        Level.MUST,
        Measured(MULTIPLEXED, 1, "each stream echoed and closed as if alone on the connection"),
        _multiplexed,
    ),
    _case(
        "rfc8441/5/close-ends-stream",
        "The closing handshake ends the stream (END_STREAM), not the connection",
        (R_CLOSURE_AS_TCP, R_END_STREAM),
        Level.MUST,
        AllOf(
            (
                Measured(STREAM_ENDED, 1, "a Close back, then END_STREAM"),
                Measured(
                    NEW_STREAM_STATUS, 200, "a new extended CONNECT on the connection answered 200"
                ),
            )
        ),
        _close_ends_stream,
    ),
    _case(
        "rfc8441/4/no-tunnel",
        "The server does not tunnel to the host and port :authority names",
        (R_NO_TUNNEL, R_AUTHORITY),
        Level.MUST,
        Measured(TUNNELLED, 0, "no connection to the :authority port"),
        _no_tunnel,
    ),
)
