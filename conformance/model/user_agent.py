"""The WHATWG ``WebSocket`` object as a sans-IO model: network facts in, script events out.

Theory of operation
-------------------
A browser's ``WebSocket`` sits between two specifications. The WebSockets Standard (with
Fetch) says what the script sees; RFC 6455 says when the connection is *established*,
*failed*, *closed* and *closed cleanly*, and what its close code and reason are. The
model keeps the RFC's state (handshake outcome, Close frames sent and received, whether
the user agent was required to *fail the WebSocket connection*) and turns each of its
transitions into the tasks the Standard queues, in order:

* established → readyState OPEN, ``open`` (WHATWG "Feedback from the protocol");
* a message received → ``message``, only while OPEN;
* the connection closed → readyState CLOSED, ``error`` if the user agent was required to
  fail the connection, then ``close`` with the close code, the reason and ``wasClean``.

Which paths *fail* the connection is decided from the text, not from any browser:

* any network error or a status other than 101 (``whatwg-ws-status-not-101-fail``),
  a redirect included (Fetch's redirect mode "error" makes it a network error);
* a requested subprotocol left unacknowledged (``whatwg-ws-protocol-not-acked-fail``)
  and RFC 6455 §4.1 response steps 2–6 (``whatwg-ws-validate-rfc-steps-2-6``);
* invalid UTF-8 in a text message (RFC 6455 §8.1), a protocol error the client detects,
  and a frame the client must reject: a masked one (§5.1), RSV bits or a reserved opcode
  (§5.2), a control frame fragmented or over 125 bytes, a 64-bit length with its MSB set
  (:meth:`WebSocketModel.header_fault`);
* the transport lost before the closing handshake completed (RFC 6455 §7.2.1);
* ``close()`` before the connection is established (``whatwg-ws-close-before-established``).

A failed connection reports code 1006, an empty reason and ``wasClean`` false: the close
code is 1006 when no Close frame was received (RFC 6455 §7.1.5), and after failing, the
client must not process a Close frame that arrives later (§7.1.7).

Inputs are methods named after network facts (:meth:`WebSocketModel.response`,
:meth:`~WebSocketModel.network_error`, :meth:`~WebSocketModel.frame`,
:meth:`~WebSocketModel.transport_closed`) and script calls (:meth:`~WebSocketModel.send`,
:meth:`~WebSocketModel.close`). Each returns the :class:`ScriptEvent` s it causes; the
:attr:`~WebSocketModel.sent_close` payload records what the user agent put on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal
from urllib.parse import urlsplit

from . import rules
from .codec import close_payload
from .constants import CloseCode, Opcode, is_control_opcode, is_reserved_opcode
from .decoder import close_code_rule
from .handshake import HandshakeRequest, check_accept
from .observed import HttpResponse
from .utf8 import Utf8Validator, first_invalid_offset

__all__ = [
    "HEADER_FAULTS",
    "NETWORK_ERRORS",
    "ReadyState",
    "ScriptEvent",
    "WebSocketModel",
    "construct",
    "describe_for_script",
    "refusal_note",
    "script_view_of_refusal",
]


class ReadyState(IntEnum):
    """``WebSocket.readyState`` values (WHATWG WebSockets, "The WebSocket interface")."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


EventType = Literal["open", "message", "error", "close", "exception"]


@dataclass(frozen=True, slots=True)
class ScriptEvent:
    """One thing a script observes, with the requirement ids that make it happen."""

    type: EventType
    ready_state: int | None = None  # readyState when it fired; None: no object exists
    protocol: str | None = None  # open
    extensions: str | None = None  # open
    data: str | bytes | None = None  # message
    code: int | None = None  # close
    reason: str | None = None  # close
    was_clean: bool | None = None  # close
    name: str | None = None  # exception: DOMException name
    phase: str | None = None  # exception: constructor, send, close
    requirements: tuple[str, ...] = ()

    def describe(self) -> str:
        """A short, stable rendering for reports: ``close(1006, '', wasClean=false)``."""
        if self.type == "open":
            return f"open(protocol={self.protocol!r})"
        if self.type == "message":
            return f"message({self.data!r})"
        if self.type == "close":
            clean = "true" if self.was_clean else "false"
            return f"close({self.code}, {self.reason!r}, wasClean={clean})"
        if self.type == "exception":
            return f"{self.phase} throws {self.name}"
        return self.type


NETWORK_ERRORS = ("dns", "unroutable", "refused", "tls", "no-response", "redirect")
"""Network errors a fetch can end in before any 101 (Fetch, WHATWG "indistinct" list)."""

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
"""RFC 2616 token: the elements of |Sec-WebSocket-Protocol| (RFC 6455 §4.1 item 10)."""

_FAIL_EVENT = ("whatwg-ws-closed-fire-error",)
_CLOSE_EVENT = ("whatwg-ws-closed-ready-state", "whatwg-ws-closed-fire-close")
_FAILED_CODE = ("rfc6455-7.1.5-no-close-frame-1006", "whatwg-ws-indistinct-code-1006")
HEADER_FAULTS = frozenset(
    {rules.CONTROL_PAYLOAD_MAX, rules.CONTROL_NOT_FRAGMENTED, rules.LENGTH_MSB_ZERO}
)
"""Frame-header faults a client must fail on that :meth:`WebSocketModel.frame` cannot see
(§5.2 length MSB, §5.4 a fragmented control frame, §5.5 a control payload over 125 bytes)."""


def construct(url: str, protocols: str | Sequence[str] = ()) -> WebSocketModel | ScriptEvent:
    """``new WebSocket(url, protocols)``: the object, or the exception it throws.

    WHATWG WebSockets, "The WebSocket interface", constructor steps 1–8.
    """
    try:
        parts = urlsplit(url)
        valid = bool(parts.scheme) and bool(parts.hostname)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        valid = False
    if not valid:
        return _throw("constructor", "SyntaxError", "whatwg-ws-ctor-url-parse-failure")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        return _throw("constructor", "SyntaxError", "whatwg-ws-ctor-bad-scheme")
    if "#" in url:  # a fragment, even an empty one, is non-null
        return _throw("constructor", "SyntaxError", "whatwg-ws-ctor-fragment")
    listed = [protocols] if isinstance(protocols, str) else list(protocols)
    if len(set(listed)) != len(listed) or not all(_TOKEN.match(p) for p in listed):
        return _throw("constructor", "SyntaxError", "whatwg-ws-ctor-protocols-invalid")
    return WebSocketModel(tuple(listed), http_scheme=parts.scheme in ("http", "https"))


def _throw(phase: str, name: str, requirement: str, state: int | None = None) -> ScriptEvent:
    return ScriptEvent(
        "exception", ready_state=state, name=name, phase=phase, requirements=(requirement,)
    )


@dataclass(slots=True)
class WebSocketModel:
    """One ``WebSocket`` object from construction to its ``close`` event."""

    protocols: tuple[str, ...]
    offered_extensions: tuple[bytes, ...] = (b"permessage-deflate; client_max_window_bits",)
    ready_state: ReadyState = ReadyState.CONNECTING
    established: bool = False
    failed: bool = False
    received_close: tuple[int | None, str] | None = None  # the server's first Close
    sent_close: bytes | None = None  # payload of the Close the user agent sent
    sent_messages: list[str] = field(default_factory=list)
    why_failed: tuple[str, ...] = ()
    partial: tuple[int, bytearray] | None = None  # opcode and data of a fragmented message
    http_scheme: bool = False  # constructed with an http(s): URL, mapped to ws(s):

    # -- the opening handshake --------------------------------------------------------

    def network_error(self, kind: str) -> list[ScriptEvent]:
        """The fetch ended in a network error (refused, DNS, TLS, redirect, no response)."""
        if kind not in NETWORK_ERRORS:
            raise ValueError(f"unknown network error {kind!r}")
        why = ["whatwg-ws-status-not-101-fail", "fetch-connection-failure-network-error"]
        if kind == "redirect":
            why = ["fetch-redirect-mode-error", "fetch-redirect-error-network-error", *why[:1]]
        return self._fail(*why)

    def response(
        self, status: int, headers: Sequence[tuple[str, str]], *, key: str = "dGVzdA=="
    ) -> list[ScriptEvent]:
        """The server's answer to the handshake request whose key was ``key``."""
        if self.ready_state is not ReadyState.CONNECTING or self.failed:
            return []
        if status != 101:
            return self._fail("whatwg-ws-status-not-101-fail", "fetch-websocket-101-break")
        answer = HttpResponse(
            status,
            b"Switching Protocols",
            b"HTTP/1.1",
            tuple((n.encode("latin-1"), v.encode("latin-1")) for n, v in headers),
        )
        acked = [v.strip() for v in answer.values(b"sec-websocket-protocol")]
        if self.protocols and not any(acked):
            return self._fail("whatwg-ws-protocol-not-acked-fail")
        request = HandshakeRequest(
            key=key.encode("ascii"),
            protocols=tuple(p.encode() for p in self.protocols),
            extensions=self.offered_extensions,
        )
        broken = check_accept(request, answer)
        if broken:
            return self._fail("whatwg-ws-validate-rfc-steps-2-6", *(v.requirement for v in broken))
        self.established = True
        self.ready_state = ReadyState.OPEN
        protocol = acked[0].decode("latin-1") if acked else ""
        extensions = answer.joined(b"sec-websocket-extensions")
        return [
            ScriptEvent(
                "open",
                ready_state=ReadyState.OPEN,
                protocol=protocol,
                extensions=extensions,
                requirements=(
                    "whatwg-ws-established-ready-state-open",
                    "whatwg-ws-established-fire-open",
                    *(("whatwg-ws-ctor-http-scheme-mapping",) if self.http_scheme else ()),
                ),
            )
        ]

    # -- after the handshake ----------------------------------------------------------

    def frame(
        self,
        opcode: int,
        payload: bytes,
        *,
        masked: bool = False,
        fin: bool = True,
        rsv: bool = False,
    ) -> list[ScriptEvent]:
        """One frame from the server (RFC 6455 §5.2), fragments reassembled (§5.4)."""
        if not self.established or self.failed or self.ready_state is ReadyState.CLOSED:
            return []
        if masked:
            # §5.1: "A client MUST close a connection if it detects a masked frame." The
            # judge also accepts a closing handshake with 1002 (see docs/client-profiles.md).
            return self._fail("rfc6455-5.1-client-close-masked")
        if self.received_close is not None:
            return []  # §5.5.1: nothing is processed after the peer's Close
        if rsv:  # the model negotiates no extension
            return self._fail("rfc6455-5.2-rsv-nonzero-fail")
        if is_reserved_opcode(opcode):
            return self._fail("rfc6455-5.2-unknown-opcode-fail")
        if opcode == Opcode.CLOSE:
            return self._close_frame(payload)
        if is_control_opcode(opcode):
            return []  # Ping and Pong are not exposed (WHATWG "Ping and Pong frames")
        if opcode == Opcode.CONTINUATION:
            if self.partial is None:
                return self._fail("rfc6455-5.4-fragmented-message")
            self.partial[1].extend(payload)  # in place: reassembly stays linear
            opcode, payload = self.partial[0], bytes(self.partial[1]) if fin else b""
        elif self.partial is not None:
            return self._fail("rfc6455-5.4-no-interleaved-messages")
        if not fin:
            if self.partial is None:
                self.partial = (opcode, bytearray(payload))
            return []
        self.partial = None
        if opcode == Opcode.TEXT:
            if first_invalid_offset(payload) is not None:
                return self._fail("rfc6455-8.1-invalid-utf8-fail")
            return self._message(payload.decode("utf-8"))
        return self._message(payload)

    def header_fault(self, requirement: str) -> list[ScriptEvent]:
        """A frame header breaking ``requirement`` (one of :data:`HEADER_FAULTS`, found before
        its payload is read): the client fails the connection, as for a bad RSV bit."""
        if requirement not in HEADER_FAULTS or not self.established:
            return []
        if self.failed or self.received_close is not None:
            return []  # §7.1.7, §5.5.1: nothing is processed any more
        return self._fail(requirement)

    def text_prefix_invalid(self) -> bool:
        """The text message being reassembled can no longer become valid UTF-8."""
        if self.partial is None or self.partial[0] != Opcode.TEXT:
            return False
        validator = Utf8Validator()
        validator.feed(self.partial[1])
        return not validator.valid

    def fail_invalid_text(self) -> list[ScriptEvent]:
        """Fail fast on a text message whose first fragments are already invalid UTF-8.

        §8.1 binds the failure to when the endpoint "finds" the bytes invalid, so failing
        here and failing at the last fragment (what :meth:`frame` does) are both allowed.
        """
        if self.failed or not self.text_prefix_invalid():
            return []
        return self._fail("rfc6455-8.1-invalid-utf8-fail")

    def drop(self, requirement: str = "rfc6455-10.7-may-drop-tcp") -> list[ScriptEvent]:
        """Fail the connection on input the client's own checks reject (§10.7: "the
        endpoint MAY drop the TCP connection"), e.g. a frame after the server's Close."""
        if not self.established or self.failed or self.ready_state is ReadyState.CLOSED:
            return []
        return self._fail(requirement)

    def _message(self, data: str | bytes) -> list[ScriptEvent]:
        if self.ready_state is not ReadyState.OPEN:
            return []  # whatwg-ws-message-ignored-unless-open
        return [
            ScriptEvent(
                "message",
                ready_state=self.ready_state,
                data=data,
                requirements=("whatwg-ws-message-fire-event",),
            )
        ]

    def _close_frame(self, payload: bytes) -> list[ScriptEvent]:
        """The server started (or answered) the closing handshake (RFC 6455 §5.5.1).

        A 1-byte body has no status code (§5.5.1) and a reason that is not UTF-8 is text
        the client finds invalid (§8.1): both fail the connection. A code no endpoint
        may send (1006, say: §7.4.1) is passed to the script as received, but never
        echoed: the reply then has no body.
        """
        if len(payload) == 1:
            return self._fail(rules.CLOSE_BODY_CODE)
        if first_invalid_offset(payload[2:]) is not None:
            return self._fail(rules.CLOSE_REASON_UTF8, "rfc6455-8.1-invalid-utf8-fail")
        code = int.from_bytes(payload[:2], "big") if payload else None
        self.received_close = (code, payload[2:].decode("utf-8"))
        self.ready_state = ReadyState.CLOSING  # whatwg-ws-closing-started-task
        if self.sent_close is None:  # §5.5.1: reply, typically echoing the status code
            sendable = code is not None and close_code_rule(code) is None
            self.sent_close = payload[:2] if sendable else b""
        return []

    def transport_closed(self) -> list[ScriptEvent]:
        """The TCP connection ended (FIN, RST, or the user agent closed it)."""
        if self.ready_state is ReadyState.CLOSED:
            return []
        if self.failed:
            return self._closed(CloseCode.ABNORMAL_CLOSURE, "", clean=False)
        if self.received_close is not None and self.sent_close is not None:
            code, reason = self.received_close
            return self._closed(
                CloseCode.NO_STATUS_RCVD if code is None else code,
                reason,
                clean=True,
                why=(
                    "rfc6455-7.1.4-closed-cleanly",
                    "rfc6455-7.1.5-close-code-first-frame",
                    "rfc6455-7.1.6-close-reason-first-frame",
                ),
            )
        if not self.established:
            return self._fail("fetch-connection-failure-network-error")
        return self._fail("rfc6455-7.2.1-connection-lost-fail")

    # -- script calls -----------------------------------------------------------------

    def send(self, text: str) -> list[ScriptEvent]:
        """``ws.send(text)``."""
        if self.ready_state is ReadyState.CONNECTING:
            return [_throw("send", "InvalidStateError", "whatwg-ws-send-connecting-throws", 0)]
        if self.ready_state is ReadyState.OPEN:
            self.sent_messages.append(text)
        return []

    def close(self, code: int | None = None, reason: str | None = None) -> list[ScriptEvent]:
        """``ws.close(code, reason)``: WHATWG WebSockets, close() method steps."""
        state = int(self.ready_state)
        if code is not None and code != 1000 and not 3000 <= code <= 4999:
            return [_throw("close", "InvalidAccessError", "whatwg-ws-close-code-invalid", state)]
        reason_bytes = b"" if reason is None else reason.encode("utf-8")
        if len(reason_bytes) > 123:
            return [_throw("close", "SyntaxError", "whatwg-ws-close-reason-too-long", state)]
        if self.ready_state in (ReadyState.CLOSING, ReadyState.CLOSED):
            return []
        if not self.established:
            return self._fail("whatwg-ws-close-before-established")
        self.sent_close = (
            b""
            if code is None and reason is None
            else close_payload(1000 if code is None else code, reason_bytes)
        )
        self.ready_state = ReadyState.CLOSING
        return []

    # -- failing and closing ----------------------------------------------------------

    def _fail(self, *why: str) -> list[ScriptEvent]:
        """_Fail the WebSocket Connection_ (RFC 6455 §7.1.7); the close follows at once.

        The client closes the connection without waiting for the server: nothing it
        sends afterwards is processed (§7.1.7), so the close code is 1006 (§7.1.5).
        """
        if self.failed or self.ready_state is ReadyState.CLOSED:
            return []
        self.failed = True
        self.why_failed = why
        return self._closed(CloseCode.ABNORMAL_CLOSURE, "", clean=False)

    def _closed(
        self, code: int, reason: str, *, clean: bool, why: tuple[str, ...] = _FAILED_CODE
    ) -> list[ScriptEvent]:
        """_The WebSocket Connection is Closed_: WHATWG "handle connection close"."""
        self.ready_state = ReadyState.CLOSED
        events: list[ScriptEvent] = []
        if self.failed:
            events.append(
                ScriptEvent(
                    "error",
                    ready_state=ReadyState.CLOSED,
                    requirements=(*_FAIL_EVENT, *self.why_failed),
                )
            )
        events.append(
            ScriptEvent(
                "close",
                ready_state=ReadyState.CLOSED,
                code=code,
                reason=reason,
                was_clean=clean,
                requirements=(*_CLOSE_EVENT, "whatwg-ws-closeevent-wasclean", *why),
            )
        )
        return events


# -- a server's refusal as a browser script sees it ------------------------------------

REFUSAL_CLAUSE = "whatwg-ws-status-not-101-fail"
"""WHATWG: "If response is a network error or its status is not 101, fail the WebSocket
connection." The status, headers and body reach no script."""


def script_view_of_refusal(status: int) -> list[ScriptEvent]:
    """The events a script sees when the opening handshake is answered with ``status``.

    The model is run on the answer itself: a fresh ``WebSocket`` given that response.
    """
    if status == 101:
        raise ValueError("101 is not a refusal")
    return WebSocketModel(()).response(status, [])


def describe_for_script(events: Sequence[ScriptEvent]) -> str:
    """``error, then close code 1006, reason '', wasClean false``: events in words."""
    parts = []
    for event in events:
        if event.type == "close":
            clean = "true" if event.was_clean else "false"
            parts.append(f"close code {event.code}, reason {event.reason!r}, wasClean {clean}")
        else:
            parts.append(event.describe())
    return ", then ".join(parts) or "no event"


def refusal_note(response: HttpResponse | None) -> str | None:
    """One evidence line for a non-101 answer to a handshake: what a browser script would
    observe, computed by the model (docs/refusing-connections.md); None for a 101 or none."""
    if response is None or response.status == 101:
        return None
    events = script_view_of_refusal(response.status)
    return (
        f"a browser script would see: {describe_for_script(events)} "
        f"(WHATWG: the status {response.status} is hidden; {REFUSAL_CLAUSE})"
    )
