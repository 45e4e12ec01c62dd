"""The deflate session (conformance/session/deflate.py) and the WireSession's negotiated path.

* :class:`ServerInflation` inflates the server's compressed messages in order, leaves
  uncompressed ones as they are, and records RSV1 misuse (§6.1), corrupt data (§7.2.2) and
  text that is not UTF-8 once inflated (§6.1) as violations;
* :meth:`DeflateSession.message` sets RSV1 on the first frame only and splits the compressed
  payload;
* :func:`open_deflate` against the reference server: agreed, declined, invalid, refused;
* a server putting RSV1 on its continuation frames, or sending corrupt DEFLATE data, has the
  violation reach ``Observed.violations``; without negotiation RSV1 stays a RFC 6455 §5.2
  violation.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable

import pytest

from conformance.driver import Target
from conformance.echo_engine import WirePolicy
from conformance.model.constants import Opcode
from conformance.model.decoder import Message
from conformance.model.deflate import requirements as req
from conformance.model.deflate.compressor import compress_message
from conformance.model.deflate.inflater import StrictInflater
from conformance.model.deflate.negotiation import Negotiated
from conformance.model.deflate.offers import INVALID_OFFERS, VALID_OFFERS, Offer
from conformance.model.deflate.params import Agreed, WindowRule
from conformance.model.frames import Frame
from conformance.model.observed import Observed
from conformance.model.server_extensions import DeflateSettings
from conformance.model.server_handshake import (
    SEC_EXTENSIONS,
    ReceivedRequest,
    Refusal,
    ServerBehaviour,
)
from conformance.reference_server import EngineName, start_reference_server
from conformance.session.context import CaseContext
from conformance.session.deflate import (
    TEXT_AFTER_INFLATE,
    DeflateSession,
    NotNegotiated,
    ServerInflation,
    open_deflate,
)
from conformance.session.wire import MAX_MESSAGE, Refused, WireSession, text, watch_echo

DEADLINE = 5.0


def _inflation() -> ServerInflation:
    return ServerInflation(StrictInflater(WindowRule(), max_size=MAX_MESSAGE))


def test_compressed_messages_are_inflated_in_order_with_context() -> None:
    inflation = _inflation()
    first, second = b"Hello, Hello, Hello", b"Hello, Hello, Hello"
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    payloads = [
        (deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH))[:-4]
        for data in (first, second)
    ]
    out = [inflation.message(Message(Opcode.TEXT, p, True)) for p in payloads]
    assert out == [Message(Opcode.TEXT, first, True), Message(Opcode.TEXT, second, True)]
    assert inflation.violations == []


def test_uncompressed_messages_pass_as_they_are() -> None:
    inflation = _inflation()
    message = Message(Opcode.BINARY, b"\x00\x01", False)
    assert inflation.message(message) is message


def test_corrupt_data_is_a_violation_and_no_message() -> None:
    inflation = _inflation()
    assert inflation.message(Message(Opcode.BINARY, b"\xff\xff\xff", True)) is None
    assert [v.requirement for v in inflation.violations] == [req.PMD_INFLATE]


def test_invalid_utf8_after_inflation_is_a_violation() -> None:
    inflation = _inflation()
    result = inflation.message(Message(Opcode.TEXT, compress_message(b"\xff\xfe"), True))
    assert result is not None
    assert [v.requirement for v in inflation.violations] == [TEXT_AFTER_INFLATE]


def test_rsv1_on_continuation_and_control_frames_are_violations() -> None:
    inflation = _inflation()
    for frame in (
        Frame(Opcode.TEXT, b"", fin=False, rsv1=True),
        Frame(Opcode.CONTINUATION, b"", rsv1=True),
        Frame(Opcode.PING, b"", rsv1=True),
    ):
        inflation.frame(frame)
    assert [v.requirement for v in inflation.violations] == [
        req.PMD_RSV1_CONTROL_OR_CONTINUATION
    ] * 2
    assert "server frame 1" in inflation.violations[0].detail


DEFAULT_RULE = WindowRule()


def _session(rule: WindowRule = DEFAULT_RULE) -> DeflateSession:
    agreed = Agreed(
        client_max_window_bits=rule.window_bits,
        client_no_context_takeover=rule.no_context_takeover,
    )
    wire = WireSession(conn=None, stream=None)  # type: ignore[arg-type]  # frames only
    return DeflateSession(wire, Negotiated(True, agreed), agreed, ())


def test_message_sets_rsv1_on_the_first_frame_and_splits_the_compressed_payload() -> None:
    session = _session()
    data = b"abcdefgh" * 100
    frames = session.message(Opcode.TEXT, data, fragment=5)
    assert frames[0].opcode == Opcode.TEXT and frames[0].rsv1 and not frames[0].fin
    assert all(f.opcode == Opcode.CONTINUATION and not f.rsv1 for f in frames[1:])
    assert frames[-1].fin and all(f.mask is not None for f in frames)
    payload = b"".join(f.payload for f in frames)
    assert zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff") == data


def test_an_uncompressed_message_has_no_rsv1() -> None:
    (frame,) = _session().message(Opcode.BINARY, b"raw", compress=False)
    assert not frame.rsv1 and frame.payload == b"raw"


def test_a_window_of_8_still_compresses() -> None:
    frames = _session(WindowRule(8)).message(Opcode.TEXT, b"x" * 1000)
    payload = b"".join(f.payload for f in frames)
    assert zlib.decompressobj(-8).decompress(payload + b"\x00\x00\xff\xff") == b"x" * 1000


# -- against a server ---------------------------------------------------------------------

Body = Callable[[CaseContext], Awaitable[object]]


async def _with_server(
    body: Body, *, behaviour: ServerBehaviour | None = None, policy: WirePolicy | None = None
) -> object:
    engine: EngineName = "model" if policy is not None or behaviour is not None else "wsproto"
    server = await start_reference_server(engine=engine, behaviour=behaviour, wire_policy=policy)
    async with server:
        loop = asyncio.get_running_loop()
        ctx = CaseContext(Target.parse(server.url), loop.time() + DEADLINE)
        return await body(ctx)


async def _echo(ctx: CaseContext, offers: tuple[Offer, ...] = (VALID_OFFERS["bare"],)) -> Observed:
    session = await open_deflate(ctx, offers)
    await session.send(
        *session.message(Opcode.TEXT, b"one " * 50),
        *session.message(Opcode.BINARY, bytes(range(200)), fragment=7),
    )
    return await watch_echo(session.wire)


@pytest.mark.parametrize("offer", ["bare", "snct-smwb9", "cnct-cmwb8"])
def test_open_deflate_agrees_and_the_echo_inflates(offer: str) -> None:
    seen = asyncio.run(_with_server(lambda ctx: _echo(ctx, (VALID_OFFERS[offer],))))
    assert isinstance(seen, Observed)
    assert seen.messages == [(Opcode.TEXT, b"one " * 50), (Opcode.BINARY, bytes(range(200)))]
    assert seen.compressed == [True, True] and not seen.violations


def test_open_deflate_raises_not_negotiated_on_a_decline() -> None:
    async def body(ctx: CaseContext) -> NotNegotiated:
        with pytest.raises(NotNegotiated) as caught:
            await open_deflate(ctx, (INVALID_OFFERS["smwb16"].offer,))
        return caught.value

    exc = asyncio.run(_with_server(body))
    assert isinstance(exc, NotNegotiated)
    assert exc.observed.extension_declined and not exc.negotiated.accepted
    assert exc.observed.response is not None and exc.observed.response.status == 101


class InvalidResponse(ServerBehaviour):
    def extension_headers(self, agreed: DeflateSettings | None) -> list[tuple[str, str]]:
        return [(SEC_EXTENSIONS, "permessage-deflate; x_unknown")]


class RefuseAll(ServerBehaviour):
    def check_extensions(self, request: ReceivedRequest) -> Refusal | None:
        return Refusal(400, "no extensions here")


def test_an_invalid_response_is_not_negotiated_with_its_violations() -> None:
    async def body(ctx: CaseContext) -> NotNegotiated:
        with pytest.raises(NotNegotiated) as caught:
            await open_deflate(ctx)
        return caught.value

    exc = asyncio.run(_with_server(body, behaviour=InvalidResponse()))
    assert isinstance(exc, NotNegotiated)
    assert not exc.observed.extension_declined
    assert [v.requirement for v in exc.observed.violations] == [req.PMD_RESPONSE_UNKNOWN_PARAM]


def test_a_refusal_raises_refused_with_the_response() -> None:
    async def body(ctx: CaseContext) -> Refused:
        with pytest.raises(Refused) as caught:
            await open_deflate(ctx)
        return caught.value

    exc = asyncio.run(_with_server(body, behaviour=RefuseAll()))
    assert isinstance(exc, Refused) and exc.response is not None
    assert exc.response.status == 400


class RsvOnContinuation(WirePolicy):
    """Echoes compressed in two frames, RSV1 on both (breaks RFC 7692 §6.1)."""

    def compressed_echo(self, opcode: int, payload: bytes) -> list[Frame]:
        half = len(payload) // 2
        return [
            Frame(opcode, payload[:half], fin=False, rsv1=True),
            Frame(Opcode.CONTINUATION, payload[half:], rsv1=True),
        ]


class CorruptEcho(WirePolicy):
    """Echoes a compressed message whose DEFLATE data is broken (BTYPE 11)."""

    def compressed_echo(self, opcode: int, payload: bytes) -> list[Frame]:
        return [Frame(opcode, b"\xff" + payload, rsv1=True)]


@pytest.mark.parametrize(
    ("policy", "requirement"),
    [(RsvOnContinuation(), req.PMD_RSV1_CONTROL_OR_CONTINUATION), (CorruptEcho(), req.PMD_INFLATE)],
)
def test_the_servers_deflate_faults_reach_the_observation(
    policy: WirePolicy, requirement: str
) -> None:
    seen = asyncio.run(_with_server(_echo, policy=policy))
    assert isinstance(seen, Observed)
    assert requirement in {v.requirement for v in seen.violations}, seen.describe()


def test_without_negotiation_rsv1_stays_an_rfc6455_violation() -> None:
    async def body(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        assert session.inbound is None
        await session.send(text(b"plain"))
        return await watch_echo(session)

    seen = asyncio.run(_with_server(body))
    assert isinstance(seen, Observed)
    assert seen.messages == [(Opcode.TEXT, b"plain")] and seen.compressed == [False]
    assert not seen.violations
