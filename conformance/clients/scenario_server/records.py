"""What the scenario server keeps of each connection: its request, answer, frames and close.

A :class:`ConnectionRecord` is filed under the token of its request path; the harness and
the checks (:mod:`.harness`, :mod:`.request_checks`) read it once the connection has ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, TypeVar

from ...model.decoder import CloseReceived
from ...model.violations import Violation

Listener = Literal["ws", "wss", "wss-untrusted"]
ClosedBy = Literal["client", "server", "lifetime"]
PAYLOAD_PREFIX: Final = 1024
MAX_RECORDED: Final = 4096
"""Most entries kept in each list of a record (frames, messages, timeline...)."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ClientFrame:
    """One frame the client sent after the 101 (RFC 6455 §5.2); ``payload`` is a prefix."""

    opcode: int
    fin: bool
    rsv: int  # RSV1 RSV2 RSV3 as a 3-bit number (RSV1 = 4)
    masked: bool
    length: int
    payload: bytes  # unmasked, at most PAYLOAD_PREFIX bytes


@dataclass(slots=True)
class ConnectionRecord:
    """Everything one connection showed, filed under the token of its request path.

    ``frames`` onwards concern the bytes after a 101, decoded as a client's (RFC 6455 §5.1,
    §5.2); the decoding stops at the client's Close (§5.5.1) except to see its EOF.
    ``closed_by`` is who ended TCP first (``"lifetime"``: ``max_lifetime`` aborted it);
    ``timeline`` holds (seconds since the accept, label). Lists are capped at
    :data:`MAX_RECORDED` entries; ``ended`` is set once the connection is gone.
    ``url_host`` and ``url_port`` are the /host/ and /port/ of the URLs that lead to this
    listener (§3), which the request's |Host| and Request-URI must name (§4.1).
    """

    listener: Listener
    path: str = ""
    scenario: str = ""  # scenario name, "redirect-target", or "" when no route matched
    token: str = ""
    tls_error: str | None = None
    request_head: bytes = b""
    method: str = ""
    target: str = ""
    http_version: str = ""  # as on the request line: "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)
    upgrade_request_problems: list[str] = field(default_factory=list)
    key: str | None = None
    status: int | None = None  # of the response the server sent, if any
    response_head: bytes = b""  # the HTTP response as sent (with the body, for a non-101)
    frames: list[ClientFrame] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    messages: list[tuple[int, bytes]] = field(default_factory=list)
    pongs: list[bytes] = field(default_factory=list)
    client_close: CloseReceived | None = None
    server_close_sent: bytes | None = None
    client_eof: bool = False
    closed_by: ClosedBy | None = None  # who closed TCP first
    notes: list[str] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    ended: bool = False
    url_host: str = ""  # as in the URL: "127.0.0.1", "[::1]"; "" if unknown
    url_port: int = 0  # 0 if unknown


def bounded_append(items: list[_T], item: _T) -> None:
    if len(items) < MAX_RECORDED:
        items.append(item)
