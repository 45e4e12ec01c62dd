"""permessage-deflate in the scenario server (RFC 7692): the 101 it plays, the client's frames.

A deflate scenario (:class:`~conformance.clients.scenarios.DeflatePlay`) is played only when
the client's offer allows it (:func:`~conformance.clients.request_checks.deflate_unmet`);
otherwise the server declines (a 101 without the extension, §5), sends the scenario's
messages uncompressed and closes, and the judge reports the scenario UNSUPPORTED.

When its 101 agreed permessage-deflate, the client's frames are decoded with RSV1 allowed:
RSV1 on a control frame or a continuation is a violation (§6.1), and every compressed message
is inflated by the model's :class:`~conformance.model.deflate.inflater.StrictInflater` under
EXACTLY the agreed client window and context rule (§7.2.1): a back-reference beyond the
window, or into an earlier message under ``client_no_context_takeover``, names the client's
rule broken. The server's own compressed frames are precomputed in the scenario table.
"""

from __future__ import annotations

from typing import Final

from ...model.codec import RSV1_BIT
from ...model.constants import Opcode
from ...model.decoder import Message, PeerStream
from ...model.deflate import requirements as req
from ...model.deflate.elements import ExtensionSyntaxError, parse_extension_list
from ...model.deflate.inflater import StrictInflater, check_rsv1
from ...model.deflate.negotiation import agreed_parameters, response_param_violations
from ...model.deflate.params import EXTENSION_NAME, Agreed
from ...model.frames import Frame
from ...model.utf8 import first_invalid_offset
from ...model.violations import Violation
from ..request_checks import deflate_unmet
from ..scenarios import (
    DEFLATE_CLIENT_RULES,
    TEXT_AFTER_INFLATE,
    AwaitClient,
    CloseTcp,
    SendFrame,
    Step,
    Upgrade,
    close,
    scenario_by_name,
)
from .records import ConnectionRecord, bounded_append

NOT_APPLICABLE: Final = "not applicable to this offer"
"""The reason of the Close that ends a scenario the client's offer does not allow."""


class ClientInflation:
    """The client's compressed messages inflated in order under the agreed client rule."""

    def __init__(self, agreed: Agreed, max_size: int) -> None:
        self.agreed = agreed
        self.inflater = StrictInflater(agreed.client_output(), max_size=max_size)

    @staticmethod
    def stream(max_payload: int) -> PeerStream:
        """The client's frames with RSV1 allowed: it means "Per-Message Compressed" (§6)."""
        return PeerStream(
            peer="client", max_payload=max_payload, max_message=max_payload, allowed_rsv=RSV1_BIT
        )

    @staticmethod
    def frame(frame: Frame) -> tuple[Violation, ...]:
        """§6.1: RSV1 only on the first frame of a data message."""
        return check_rsv1([frame], negotiated=True)

    def message(self, message: Message) -> Message | Violation:
        """The message as the application gets it: inflated when RSV1 was set (§6.2)."""
        if not message.rsv1:
            return message  # §6.2: an uncompressed message is taken as is
        inflated = self.inflater.inflate(message.data)
        if inflated.too_large:
            detail = f"a compressed message inflates past {self.inflater.max_size} bytes"
            return Violation(req.PMD_INFLATE, detail)
        if inflated.violation is not None:
            found = inflated.violation
            rule = DEFLATE_CLIENT_RULES.get(found.requirement, found.requirement)
            return Violation(rule, found.detail)
        data = inflated.data or b""
        if message.opcode == Opcode.TEXT and first_invalid_offset(data) is not None:
            return Violation(TEXT_AFTER_INFLATE, "an inflated text message is not UTF-8")
        return Message(message.opcode, data)


def agreed_by(response: str | None) -> Agreed | None:
    """What a valid one-element permessage-deflate response agrees (§7.1), else None."""
    if response is None:
        return None
    try:
        elements = parse_extension_list([response])
    except ExtensionSyntaxError:
        return None
    if len(elements) != 1 or elements[0].name != EXTENSION_NAME:
        return None
    if response_param_violations(elements[0]):
        return None
    return agreed_parameters(elements[0])


def deflate_plan(
    answer: Upgrade, record: ConnectionRecord, max_size: int
) -> tuple[Upgrade, ClientInflation | None]:
    """The 101 to play for ``record``'s scenario, and how to read the client's frames."""
    scenario = scenario_by_name(record.scenario)
    play = scenario.deflate if scenario is not None else None
    if play is None:
        return answer, None
    unmet = deflate_unmet(play.needs, record.headers)
    if unmet is not None:
        bounded_append(record.notes, f"declined: {unmet}")
        return Upgrade(then=declined_steps(play.messages)), None
    agreed = agreed_by(answer.extensions)
    return answer, (ClientInflation(agreed, max_size) if agreed is not None else None)


def declined_steps(messages: tuple[str | bytes, ...]) -> tuple[Step, ...]:
    """The scenario's messages uncompressed, then a closing handshake (§5: declined)."""
    frames = [
        SendFrame(Frame(Opcode.TEXT, m.encode()))
        if isinstance(m, str)
        else SendFrame(Frame(Opcode.BINARY, m))
        for m in messages
    ]
    return (*frames, close(1000, NOT_APPLICABLE), AwaitClient("close"), CloseTcp())
