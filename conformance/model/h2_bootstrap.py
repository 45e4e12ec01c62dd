"""Readings of an HTTP/2 server's WebSocket bootstrapping (RFC 8441 §3-§5), sans-IO.

A bootstrapping case (:mod:`conformance.cases.http2`) records what it saw in
:attr:`~conformance.model.observed.Observed.measures` under the keys below and keeps
the response to its request as :attr:`~conformance.model.observed.Observed.response`;
the behaviours here read them. HTTP/2 stream and connection errors are numbers (RFC
9113 §7), so a measure holds the error code.
"""

from __future__ import annotations

from dataclasses import dataclass

from h2.errors import ErrorCodes

from .decoder import CloseReceived, Message, PeerStream
from .observed import CloseInfo, Observed

__all__ = [
    "CONNECT_PROTOCOL",
    "ECHOED",
    "GOAWAY",
    "NEW_STREAM_STATUS",
    "NOT_ENABLED",
    "RST_STREAM",
    "SETTING_VALUES",
    "STREAM_ENDED",
    "TUNNELLED",
    "Measured",
    "Refused",
    "SettingIn",
    "Success",
    "describe_measures",
    "read_stream",
]

CONNECT_PROTOCOL = "enable_connect_protocol"
"""SETTINGS_ENABLE_CONNECT_PROTOCOL in the server's first SETTINGS (absent: not sent)."""
RST_STREAM = "rst_stream"
"""The error code of the server's RST_STREAM on the case's stream."""
GOAWAY = "goaway"
"""The error code of the server's GOAWAY."""
ECHOED = "echoed"
"""1: the WebSocket message the case sent on the stream came back (0: it did not)."""
STREAM_ENDED = "stream_ended"
"""1: the server ended the stream (END_STREAM) after the closing handshake."""
NEW_STREAM_STATUS = "new_stream_status"
""":status of an extended CONNECT sent on the same connection afterwards (0: none)."""
TUNNELLED = "tunnelled"
"""Connections that reached the port :authority named (RFC 8441 §4: none may)."""
MULTIPLEXED = "multiplexed"
"""1: each stream of the multiplexing case behaved as if alone on the connection."""

ENABLED = 1
SETTING_VALUES = frozenset({0, 1})
"""The values SETTINGS_ENABLE_CONNECT_PROTOCOL may take (RFC 8441 §3)."""
SUCCESS = range(200, 300)
"""A 2xx answer to CONNECT establishes the tunnel (RFC 9110 §9.3.6, RFC 8441 §5)."""
REFUSALS = range(400, 600)


@dataclass(frozen=True, slots=True)
class SettingIn:
    """The server's SETTINGS_ENABLE_CONNECT_PROTOCOL is one of ``values`` (or absent, when
    ``absent`` says it may be: its initial value is 0, RFC 8441 §9.1)."""

    values: frozenset[int]
    absent: bool = False

    def describe(self) -> str:
        shown = " or ".join(str(v) for v in sorted(self.values))
        return f"SETTINGS_ENABLE_CONNECT_PROTOCOL = {shown}" + (" or absent" if self.absent else "")

    def matches(self, observed: Observed) -> bool:
        value = observed.measures.get(CONNECT_PROTOCOL)
        return self.absent if value is None else int(value) in self.values


NOT_ENABLED = SettingIn(frozenset(range(256)) - {ENABLED}, absent=True)
"""The server does not offer the extended CONNECT (RFC 8441 §3: the case is UNSUPPORTED)."""


@dataclass(frozen=True, slots=True)
class Success:
    """A 2xx answer to the extended CONNECT, without header ``without`` if given."""

    without: bytes | None = None

    def describe(self) -> str:
        text = "a 2xx response (the WebSocket is open)"
        return text + (f" without {self.without.decode()}" if self.without else "")

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        if response is None or response.status not in SUCCESS:
            return False
        return self.without is None or not response.values(self.without)


@dataclass(frozen=True, slots=True)
class Refused:
    """The request was refused: a 4xx/5xx answer, the stream reset (RST_STREAM), or the
    connection ended with an error (GOAWAY: RFC 9113 §5.4.1 lets an endpoint treat a
    stream error as a connection error); never a 2xx."""

    def describe(self) -> str:
        return "a refusal: a 4xx/5xx response, RST_STREAM, or GOAWAY with an error code"

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        if response is not None:
            return response.status in REFUSALS
        goaway = observed.measures.get(GOAWAY)
        return RST_STREAM in observed.measures or bool(goaway)


@dataclass(frozen=True, slots=True)
class Measured:
    """Measure ``key`` was ``wanted`` (``text`` names it in reports)."""

    key: str
    wanted: float
    text: str

    def describe(self) -> str:
        return self.text

    def matches(self, observed: Observed) -> bool:
        return observed.measures.get(self.key) == self.wanted


def read_stream(data: bytes, ended: bool) -> tuple[list[tuple[int, bytes]], CloseInfo | None]:
    """The messages and the Close frame in the WebSocket bytes a server sent on a stream
    (RFC 8441 §5: RFC 6455 framing on the stream); ``ended``: its END_STREAM came."""
    stream = PeerStream(peer="server")
    events = stream.feed(data)
    if ended:
        events += stream.feed_eof()
    messages: list[tuple[int, bytes]] = []
    close: CloseInfo | None = None
    for event in events:
        if isinstance(event, Message):
            messages.append((event.opcode, event.data))
        elif isinstance(event, CloseReceived) and close is None:
            close = CloseInfo(event.code, event.reason, body_size=len(event.raw_payload))
    return messages, close


def _code(value: float) -> str:
    """An HTTP/2 error code by name (RFC 9113 §7)."""
    try:
        return ErrorCodes(int(value)).name
    except ValueError:
        return f"0x{int(value):x}"


def describe_measures(measures: dict[str, float]) -> str:
    """What a bootstrapping case measured, in one line for reports."""
    parts: list[str] = []
    if CONNECT_PROTOCOL in measures:
        parts.append(f"SETTINGS_ENABLE_CONNECT_PROTOCOL = {int(measures[CONNECT_PROTOCOL])}")
    else:
        parts.append("no SETTINGS_ENABLE_CONNECT_PROTOCOL")
    if RST_STREAM in measures:
        parts.append(f"RST_STREAM {_code(measures[RST_STREAM])}")
    if GOAWAY in measures:
        parts.append(f"GOAWAY {_code(measures[GOAWAY])}")
    if ECHOED in measures:
        parts.append("the message was echoed" if measures[ECHOED] else "no echo")
    if STREAM_ENDED in measures:
        ended = measures[STREAM_ENDED]
        parts.append(
            "a Close back, then END_STREAM" if ended else "no Close back followed by END_STREAM"
        )
    if NEW_STREAM_STATUS in measures:
        status = int(measures[NEW_STREAM_STATUS])
        parts.append(f"a new stream got :status {status}" if status else "no new stream")
    if MULTIPLEXED in measures:
        alone = measures[MULTIPLEXED]
        parts.append("streams independent" if alone else "streams not independent")
    if TUNNELLED in measures:
        parts.append(f"{int(measures[TUNNELLED])} connection(s) to the :authority port")
    return "; ".join(parts)
