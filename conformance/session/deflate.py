"""A WebSocket connection with permessage-deflate negotiated (RFC 7692), for the deflate cases.

:func:`open_deflate` offers permessage-deflate, reads the 101 with
:func:`~conformance.model.deflate.negotiation.read_response` and, when it agreed valid
parameters, returns a :class:`DeflateSession`: its :class:`~.wire.WireSession` decodes the
server's frames with RSV1 allowed and inflates every compressed message with the strict
inflater under the agreed server rule (§6.2, §7.2.2) before the case sees it; RSV1 on a
server's control frame or continuation is a violation (§6.1). The suite's own messages are
compressed under the agreed client rule (§7.2.1), RSV1 on their first frame only (§6.1).

A 101 without the extension (declined, §5) or with an invalid element raises
:class:`NotNegotiated`, carrying what was observed: :func:`deflate_case_run` turns it into
the observation the policy reads (declined: UNSUPPORTED for a valid offer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from ..model.codec import RSV1_BIT
from ..model.constants import Opcode
from ..model.decoder import Message
from ..model.deflate.compressor import MessageCompressor
from ..model.deflate.inflater import StrictInflater, check_rsv1
from ..model.deflate.memo import WindowMemo
from ..model.deflate.negotiation import Negotiated, read_response
from ..model.deflate.offers import VALID_OFFERS, Offer, offer_header
from ..model.deflate.params import EXTENSIONS_HEADER, Agreed
from ..model.frames import Frame
from ..model.observed import HttpResponse, Observed, TransportEnd
from ..model.utf8 import first_invalid_offset
from ..model.violations import Violation
from .context import CaseContext
from .wire import MAX_MESSAGE, Refused, WireSession, client_frame

DEFAULT_OFFERS: Final[tuple[Offer, ...]] = (VALID_OFFERS["bare"],)
"""``permessage-deflate`` with no parameter: every default (RFC 7692 §7.1)."""


TEXT_AFTER_INFLATE: Final = "rfc7692-6.1-type-constraints-after-inflate"
"""The payload after decompression obeys the type's constraints: text is UTF-8 (§6.1)."""

DECLINED_NOTE: Final = "the 101 carries no permessage-deflate element (declined, RFC 7692 §5)"
DEAD_NOTE: Final = "the connection did not answer after the 101 that declined the offer"
ALIVE_WAIT: Final = 2.0
"""Seconds a declined connection gets to answer its barrier (see _answers_ping)."""
INVALID_NOTE: Final = "the suite failed the connection on the invalid response (RFC 7692 §5)"


@dataclass(slots=True)
class ServerInflation:
    """The server's compressed messages inflated in order (an :class:`~.wire.Inbound`).

    RSV1 is allowed (it means "Per-Message Compressed", §6); the strict inflater enforces
    the agreed server window and context rule (§7.2.1) and the message's form (§7.2.2).
    """

    inflater: StrictInflater
    allowed_rsv: int = RSV1_BIT
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _frames: int = 0

    def frame(self, frame: Frame) -> None:
        """§6.1: RSV1 only on the first frame of a data message (not control, not continuation)."""
        for violation in check_rsv1([frame], negotiated=True):
            detail = f"server frame {self._frames}{violation.detail.removeprefix('frame 0')}"
            self.violations.append(Violation(violation.requirement, detail))
        self._frames += 1

    def message(self, message: Message) -> Message | None:
        """The message as the application gets it: inflated when RSV1 was set (§6.2)."""
        if not message.rsv1:
            return message  # §6.2: an uncompressed message is taken as is
        inflated = self.inflater.inflate(message.data)
        if inflated.violation is not None:
            self.violations.append(inflated.violation)
            return None
        if inflated.data is None or inflated.too_large:
            self.notes.append(
                f"a compressed message inflated past the {MAX_MESSAGE // 2**20} MiB the suite reads"
            )
            return None
        if message.opcode == Opcode.TEXT and first_invalid_offset(inflated.data) is not None:
            detail = "a compressed text message is not valid UTF-8 once inflated"
            self.violations.append(Violation(TEXT_AFTER_INFLATE, detail))
        return Message(message.opcode, inflated.data, True)


class NotNegotiated(Exception):
    """The server declined permessage-deflate, or answered with an invalid element (§5, §7)."""

    def __init__(self, negotiated: Negotiated, observed: Observed) -> None:
        what = "invalid" if negotiated.violations else "declined"
        super().__init__(f"permessage-deflate {what}")
        self.negotiated = negotiated
        self.observed = observed


@dataclass(slots=True)
class DeflateSession:
    """An open connection with permessage-deflate agreed (RFC 7692 §5)."""

    wire: WireSession
    negotiated: Negotiated
    agreed: Agreed
    offers: tuple[Offer, ...]
    compressor: MessageCompressor = field(init=False)

    def __post_init__(self) -> None:
        self.compressor = MessageCompressor(self.agreed.client_output(), memo=WindowMemo())

    def message(
        self, opcode: int, data: bytes, *, compress: bool = True, fragment: int | None = None
    ) -> list[Frame]:
        """One message's frames (masked): deflated under the agreed client rule, RSV1 on the
        first frame only (§6.1, §7.2.1), the COMPRESSED payload split every ``fragment``
        bytes (§7.2.1 "fragmented ... by splitting"); ``compress=False``: sent as is (§6.2)."""
        payload = self.compressor.compress(data) if compress else data
        return self.frames(opcode, _split(payload, fragment), rsv1_first=compress)

    def frames(
        self, opcode: int, payloads: Sequence[bytes], *, rsv1_first: bool = True
    ) -> list[Frame]:
        """Crafted fragments exactly as given, RSV1 on the first when ``rsv1_first`` (§6.1).

        The session compressor's context is not touched: a crafted payload stands alone.
        """
        last = len(payloads) - 1
        return [
            client_frame(
                opcode if index == 0 else Opcode.CONTINUATION,
                payload,
                fin=index == last,
                rsv1=rsv1_first and index == 0,
            )
            for index, payload in enumerate(payloads or [b""])
        ]

    async def send(self, *frames: Frame | bytes) -> bool:
        """Write ``frames`` (see :meth:`.wire.WireSession.send`)."""
        return await self.wire.send(*frames)

    def finish(self) -> Observed:
        """What was observed, the 101 and the agreed parameters included."""
        observed = self.wire.finish()
        observed.response = self.wire.response
        agreed = f"agreed: {self.agreed.render()}"
        if agreed not in observed.notes:
            observed.notes.append(agreed)
            if observed.messages:
                count = sum(observed.compressed)
                observed.notes.append(f"{count} of {len(observed.messages)} echoes compressed")
        return observed


def _split(payload: bytes, size: int | None) -> list[bytes]:
    if not size or len(payload) <= size:
        return [payload]
    return [payload[start : start + size] for start in range(0, len(payload), size)]


async def open_deflate(
    ctx: CaseContext, offers: Sequence[Offer] = DEFAULT_OFFERS, *, prove_alive: bool = False
) -> DeflateSession:
    """Offer ``offers``; a session with the agreed parameters, or :class:`NotNegotiated`.

    Raises :class:`~.wire.Refused` (a :class:`~.context.CannotRun`) for a non-101 answer.
    """
    offered = tuple(offers)
    readings: list[Negotiated] = []

    def negotiate(response: HttpResponse) -> ServerInflation | None:
        negotiated = read_response(offered, response.values(EXTENSIONS_HEADER))
        readings.append(negotiated)
        if negotiated.agreed is None or negotiated.violations:
            return None
        rule = negotiated.agreed.server_output()
        return ServerInflation(StrictInflater(rule, max_size=MAX_MESSAGE, memo=WindowMemo()))

    wire = await WireSession.open(
        ctx, extensions=[offer_header(offered)], prove_alive=prove_alive, negotiate=negotiate
    )
    (negotiated,) = readings
    if wire.inbound is None or negotiated.agreed is None:
        declined = not negotiated.accepted and not negotiated.violations
        alive = declined and await _answers_ping(wire)
        await _end_unnegotiated(wire, negotiated)
        observed = wire.finish()
        observed.response = wire.response
        observed.violations.extend(negotiated.violations)
        observed.extension_declined = alive
        observed.notes.append(DECLINED_NOTE if declined else INVALID_NOTE)
        if declined and not alive:
            observed.notes.append(DEAD_NOTE)
        raise NotNegotiated(negotiated, observed)
    return DeflateSession(wire, negotiated, negotiated.agreed, offered)


async def _answers_ping(wire: WireSession) -> bool:
    """A declined offer leaves a WebSocket connection without compression (§5): it must
    work. One barrier (a Ping, or an echo), for at most :data:`ALIVE_WAIT` seconds and
    half the time left; a connection that cannot be probed counts as working."""
    if not wire.can_barrier:
        return True
    conn = wire.conn
    now = asyncio.get_running_loop().time()
    deadline, timed_out = conn.deadline, wire.observed.timed_out
    conn.deadline = min(deadline, now + min(ALIVE_WAIT, (deadline - now) / 2))
    try:
        return await wire.barrier()
    finally:
        conn.deadline = deadline
        wire.observed.timed_out = timed_out


async def _end_unnegotiated(wire: WireSession, negotiated: Negotiated) -> None:
    """Declined: close normally. Invalid: "the client MUST _Fail the WebSocket Connection_"
    (§5, §7): drop TCP, sending nothing more."""
    if negotiated.violations:
        wire.conn.abort()
    else:
        await wire.close()


DeflateBody = Callable[[DeflateSession], Awaitable[Observed]]


def deflate_case_run(
    body: DeflateBody, offers: Sequence[Offer] = DEFAULT_OFFERS, *, prove_alive: bool = False
) -> Callable[[CaseContext], Awaitable[Observed]]:
    """A case's ``run``: open a deflate session and run ``body`` on it; a declined or
    invalid negotiation, or a refused handshake, returns what was observed instead (see
    :class:`NotNegotiated`, :func:`refused_observation`)."""

    async def run(ctx: CaseContext) -> Observed:
        try:
            session = await open_deflate(ctx, offers, prove_alive=prove_alive)
        except NotNegotiated as exc:
            return exc.observed
        except Refused as exc:
            if exc.response is None:  # no HTTP answer at all: nothing to judge (ERROR)
                raise
            return refused_observation(exc)
        return await body(session)

    return run


REFUSED_NOTE: Final = (
    "the handshake was not accepted: RFC 7692 §5, §7 ask a server to decline an offer it "
    "does not accept (a 101 without the element), not to refuse the connection"
)


def refused_observation(refused: Refused) -> Observed:
    """What a case saw when its handshake with an offer got no valid 101: judged by the
    case's allowances (an invalid offer refused FAILs, a valid one is INFO)."""
    silent = refused.response is None and refused.end is TransportEnd.OPEN
    return Observed(
        response=refused.response, transport=refused.end, timed_out=silent, notes=[REFUSED_NOTE]
    )
