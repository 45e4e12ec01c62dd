"""permessage-deflate for the reference client (RFC 7692), on the suite's deflate model.

:func:`negotiate` reads the 101 against the offer sent
(:func:`~conformance.model.deflate.negotiation.read_response`): an invalid response fails
the connection (§5, §7). Once agreed, :class:`ClientDeflate` inflates the server's
compressed messages with the model's strict inflater under the agreed server window and
context rule (§6.2, §7.2.2: fragments concatenated, control frames between them passed on,
uncompressed messages left out of the window) and compresses the client's data messages with
the model's compressor under the agreed client rule (§7.2.1), RSV1 on each first frame only.
RSV1 on a control frame or a continuation fails the connection (§6.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from ...model.constants import CloseCode, Opcode, is_control_opcode
from ...model.decoder import DEFAULT_MAX_MESSAGE
from ...model.deflate.compressor import MessageCompressor
from ...model.deflate.elements import ExtensionSyntaxError, parse_extension_list
from ...model.deflate.inflater import StrictInflater, check_rsv1
from ...model.deflate.negotiation import read_response
from ...model.deflate.offers import Offer
from ...model.deflate.params import Agreed
from ...model.frames import Frame
from ...model.violations import Violation

DATA_OPCODES: Final = (Opcode.TEXT, Opcode.BINARY)


@dataclass(frozen=True, slots=True)
class Failure:
    """Fail the connection with ``code`` (RFC 6455 §7.1.7), for the reason ``why``."""

    code: int
    why: str


def offers_sent(extensions: Sequence[bytes]) -> tuple[Offer, ...]:
    """The offer elements of the request's ``Sec-WebSocket-Extensions`` values (§9.1)."""
    try:
        elements = parse_extension_list(extensions) if extensions else ()
    except ExtensionSyntaxError:
        return ()
    return tuple(Offer(tuple((p.name, p.value) for p in e.params), name=e.name) for e in elements)


def negotiate(offered: Sequence[bytes], response: Sequence[bytes]) -> ClientDeflate | str | None:
    """The 101's ``Sec-WebSocket-Extensions`` lines read against the offer (RFC 7692 §5).

    A :class:`ClientDeflate` when permessage-deflate was agreed, None when declined, or why
    the response is invalid (the client must fail the connection, §5, §7).
    """
    negotiated = read_response(offers_sent(offered), response)
    if negotiated.violations:
        return "; ".join(f"{v.detail} ({v.requirement})" for v in negotiated.violations)
    if negotiated.agreed is None:
        return None
    return ClientDeflate(negotiated.agreed)


class ClientDeflate:
    """One connection's permessage-deflate, after a 101 that agreed ``agreed`` (§5)."""

    def __init__(self, agreed: Agreed, max_size: int = DEFAULT_MAX_MESSAGE) -> None:
        """``max_size``: bytes a message may inflate to before the client fails with 1009,
        the decoder's own message limit (RFC 6455 §10.4)."""
        self.agreed = agreed
        self.inflater = StrictInflater(agreed.server_output(), max_size=max_size)
        self.compressor = MessageCompressor(agreed.client_output())
        self._opcode: int | None = None  # the compressed message in progress
        self._parts: list[bytes] = []
        self._size = 0

    def receive(self, frame: Frame) -> Frame | Failure | None:
        """A server frame as the application layer gets it: a whole inflated message, the
        frame itself (control, uncompressed), None while a compressed message is incomplete,
        or a :class:`Failure`."""
        misplaced = self.rsv1_violations(frame)
        if misplaced:
            return Failure(CloseCode.PROTOCOL_ERROR, f"{misplaced[0]}")
        if is_control_opcode(frame.opcode):
            return frame  # §5.4: control frames may come between fragments
        if frame.opcode == Opcode.CONTINUATION:
            if self._opcode is None:
                return frame  # an uncompressed message's continuation (or none): the model's
            return self._add(frame)
        if self._opcode is not None:
            return Failure(CloseCode.PROTOCOL_ERROR, "a new message inside a fragmented one")
        if not frame.rsv1 or frame.opcode not in DATA_OPCODES:
            return frame  # §6.2: an uncompressed message is taken as is
        self._opcode = frame.opcode
        return self._add(frame)

    def rsv1_violations(self, frame: Frame) -> tuple[Violation, ...]:
        """§6.1: RSV1 only on the first frame of a data message."""
        return check_rsv1([frame], negotiated=True)

    def _add(self, frame: Frame) -> Frame | Failure | None:
        self._parts.append(frame.payload)
        self._size += len(frame.payload)
        if self._size > self.inflater.max_size:
            return Failure(CloseCode.MESSAGE_TOO_BIG, "a compressed message over the limit")
        if not frame.fin:
            return None
        opcode, payload = self._opcode, b"".join(self._parts)
        self._opcode, self._parts, self._size = None, [], 0
        assert opcode is not None
        return self.inflate(opcode, payload)

    def inflate(self, opcode: int, payload: bytes) -> Frame | Failure:
        """One whole compressed message (the fragments' payloads concatenated, §6.2)."""
        inflated = self.inflater.inflate(payload)
        if inflated.too_large:
            return Failure(CloseCode.MESSAGE_TOO_BIG, "a message inflates over the limit")
        if inflated.violation is not None or inflated.data is None:
            return Failure(CloseCode.PROTOCOL_ERROR, f"{inflated.violation}")
        return Frame(opcode, inflated.data)

    def send(self, frame: Frame) -> Frame:
        """A data message compressed (§7.2.1), RSV1 set (§6.1); other frames as they are."""
        if frame.opcode not in DATA_OPCODES:
            return frame
        return replace(frame, payload=self.compressor.compress(frame.payload), rsv1=True)
