"""What a case observed the peer do, in the terms the specs use (RFC 6455 §4, §5, §7).

:class:`Observed` gathers the HTTP response (:class:`HttpResponse`), the messages,
Pongs and Close frame (:class:`CloseInfo`) and how TCP ended (:class:`TransportEnd`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .constants import opcode_name
from .violations import Violation


class TransportEnd(Enum):
    """How the TCP connection stood when the case stopped watching it."""

    OPEN = "still open"
    EOF = "closed by the peer (FIN)"
    RESET = "reset by the peer (RST)"
    CLOSED_BY_US = "closed by the suite"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A parsed HTTP response head (and the start of its body, if any was read)."""

    status: int
    reason: bytes
    http_version: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes = b""

    def values(self, name: bytes) -> list[bytes]:
        """Every value of header ``name`` (case-insensitive), in order, one per line."""
        key = name.lower()
        return [value for header, value in self.headers if header.lower() == key]

    def joined(self, name: bytes) -> str:
        """Every ``name`` line as one field, ``", "``-joined (RFC 9110 §5.3), as latin-1 text."""
        return b", ".join(self.values(name)).decode("latin-1")

    def tokens(self, name: bytes) -> list[bytes]:
        """The comma-separated tokens of every ``name`` line, lower-cased and stripped."""
        return [
            token.strip().lower()
            for value in self.values(name)
            for token in value.split(b",")
            if token.strip()
        ]

    def describe(self) -> str:
        return f"HTTP {self.status} {self.reason.decode('latin-1')}".rstrip()


@dataclass(frozen=True, slots=True)
class CloseInfo:
    """A Close frame the peer sent (RFC 6455 §5.5.1); code None when the body was shorter
    than 2 bytes (empty, or the 1 byte ``body_size`` then records)."""

    code: int | None
    reason: bytes = b""
    reply: bool = False  # it answered the suite's Close rather than starting the closing
    body_size: int = 0  # bytes of the body (§5.5.1: a body starts with a 2-byte code)

    def describe(self) -> str:
        what = "Close frame in reply" if self.reply else "Close frame"
        if self.code is None and self.body_size == 1:
            return f"{what} with a 1-byte body (half a status code, §5.5.1)"
        if self.code is None:
            return f"{what} with no status code"
        text = self.reason.decode("utf-8", "backslashreplace")
        return f"{what} with code {self.code}" + (f" and reason {text!r}" if text else "")


@dataclass(slots=True)
class Observed:
    """Everything a case saw the peer do, in the terms the specs use."""

    response: HttpResponse | None = None
    response_error: str | None = None  # the peer's bytes were not a valid HTTP response
    violations: list[Violation] = field(default_factory=list)
    messages: list[tuple[int, bytes]] = field(default_factory=list)  # (opcode, data)
    close: CloseInfo | None = None
    transport: TransportEnd = TransportEnd.OPEN
    timed_out: bool = False  # a deadline expired while waiting for the peer
    notes: list[str] = field(default_factory=list)
    upgraded: bool = False  # the handshake succeeded; what follows is WebSocket traffic
    responsive: bool = False  # after the handshake, the peer answered the case's frames
    pongs: list[bytes] = field(default_factory=list)  # Pong payloads, barriers excluded
    pings: list[bytes] = field(default_factory=list)  # the case's Ping payloads, barriers excluded
    continued: bool = False  # the peer went on processing after it had to fail (§7.1.7)
    closed_after_suite_close: bool = False
    """TCP ended after the suite *started* the closing handshake with its Close; not set
    when the suite's Close only answered one the server started (§5.5.1)."""
    probe: HttpResponse | None = None  # the answer to a follow-up handshake (a probe)
    compressed: list[bool] = field(default_factory=list)
    """Parallel to ``messages``: that message came compressed (RSV1, RFC 7692 §6)."""
    extension_declined: bool = False
    """The 101 accepted none of the extensions offered (RFC 7692 §5: "declining")."""
    client_closed_first: bool = False
    """The peer is a client and it closed TCP before the suite, playing the server, did
    (RFC 6455 §7.1.1: the server closes first, "in most normal cases")."""
    measures: dict[str, float] = field(default_factory=dict)
    """Named measurements a security probe made (seconds until the peer ended the
    connection, connections accepted, a time ratio, ...), judged by its behaviours."""
    leaks: list[str] = field(default_factory=list)
    """Disclosures found in what the peer sent (a stack trace, a file path, a version)."""

    @property
    def answered(self) -> bool:
        """The peer reacted to what the case sent (so a timeout is not all there is)."""
        if self.upgraded:
            return self.responsive or bool(self.violations) or self.close is not None
        return self.response is not None or bool(self.violations)

    def describe(self) -> str:
        """One line: what was seen, most decisive first."""
        parts: list[str] = []
        if self.response is not None:
            parts.append(self.response.describe())
        elif self.response_error is not None:
            parts.append(f"not a valid HTTP response: {self.response_error}")
        elif not self.upgraded and (self.transport is not TransportEnd.OPEN or not self.timed_out):
            parts.append("no HTTP response")
        parts.extend(str(v) for v in self.violations)
        if self.messages:
            parts.append(_messages_text(self.messages))
        if self.pings or self.pongs:
            parts.append(_pongs_text(self.pings, self.pongs))
        if self.close is not None:
            parts.append(self.close.describe())
        if self.timed_out:
            parts.append("no answer before the deadline")
        parts.append(f"TCP {self.transport.value}")
        parts.extend(self.notes)
        return "; ".join(parts)


def _pongs_text(pings: list[bytes], pongs: list[bytes]) -> str:
    """How the Pongs answered the case's Pings (§5.5.2, §5.5.3), e.g. "no Pong to 2 Pings"."""
    asked = f" to {len(pings)} Ping(s)" if pings else ""
    if not pongs:
        return f"no Pong{asked}"
    other = sum(1 for payload in pongs if payload not in pings)
    unlike = f", {other} with data no Ping carried" if pings and other else ""
    return f"{len(pongs)} Pong(s){asked}{unlike}"


def _messages_text(messages: list[tuple[int, bytes]]) -> str:
    shown = [f"{opcode_name(op)} ({len(data)} bytes)" for op, data in messages[:3]]
    more = f" and {len(messages) - 3} more" if len(messages) > 3 else ""
    return f"{len(messages)} message(s): " + ", ".join(shown) + more
