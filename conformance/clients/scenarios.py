"""The client scenarios: what the scenario server does, what the script asks of the client.

Theory of operation
-------------------
A scenario is data, in three parts:

* **where the client connects** (:data:`Endpoint`): the scenario server's plain or TLS
  listener, a TLS listener whose certificate the client was not told to trust, a port
  that refuses connections, or a name that cannot resolve;
* **what the server answers** (:class:`StatusAnswer`, :class:`RedirectTo`,
  :class:`NoAnswer` or :class:`Upgrade` with the :data:`Step` s it plays after the 101);
* **what the script does** (:class:`Script`): the constructor arguments and the actions
  taken once the connection opens.

The server plays the scenario and records what the client sent; the adapter reports what
its library exposed; :mod:`conformance.clients.judge` turns both into a verdict for each
profile. Each scenario also carries the facts the judge reads (what must be delivered,
which rule a failure cites, which alternatives the text allows and why); how those facts
become verdicts is the judge's. The expected script-visible events come from
:mod:`conformance.model.user_agent`.

After its steps, a connection still open falls back to *echo mode*: data messages are
echoed, Pings answered, and a Close from the client is answered with the same body, then
the server closes TCP (RFC 6455 §7.1.1: the server closes first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..model.codec import close_payload
from ..model.constants import Opcode
from ..model.frames import Frame
from ..model.user_agent import ScriptEvent

Endpoint = Literal["ws", "wss", "wss-untrusted", "refused", "unresolvable", "unroutable"]
"""``ws``/``wss``: the scenario server; ``wss-untrusted``: its TLS listener with a leaf
from a CA the client is not given; ``refused``: a bound port that is not listening;
``unresolvable``: a ``.invalid`` name (RFC 6761 §6.4) and ``unroutable``: a TEST-NET-1
address (RFC 5737), both used only inside a loopback-only network namespace, where the
lookup or the route fails at once and nothing leaves the machine."""

Profile = Literal["whatwg", "rfc6455-client"]
PROFILES: tuple[Profile, ...] = ("whatwg", "rfc6455-client")

UNRESOLVABLE_HOST = "unresolvable.invalid"
UNROUTABLE_ADDRESS = "192.0.2.1"
REDIRECT_TARGET = "redirect-target"
"""The path segment of the echo endpoint every :class:`RedirectTo` points at."""


# -- what the server does after a 101 ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send one frame exactly as given (a masked frame, invalid UTF-8, any close code)."""

    frame: Frame


@dataclass(frozen=True, slots=True)
class AwaitClient:
    """Wait until the client sends a frame of this kind (bounded by ``timeout``)."""

    what: Literal["pong", "close", "message"]
    timeout: float = 3.0


@dataclass(frozen=True, slots=True)
class CloseTcp:
    """Close the TCP connection: FIN, or RST (``SO_LINGER`` 0) when ``reset``."""

    reset: bool = False


Step = SendFrame | AwaitClient | CloseTcp


def text(data: str | bytes, *, masked: bool = False) -> SendFrame:
    payload = data.encode() if isinstance(data, str) else data
    return SendFrame(Frame(Opcode.TEXT, payload, mask=b"\x37\xfa\x21\x3d" if masked else None))


def close(code: int | None, reason: str = "") -> SendFrame:
    return SendFrame(Frame(Opcode.CLOSE, close_payload(code, reason.encode())))


def fragment(opcode: int, payload: bytes, *, fin: bool = False) -> SendFrame:
    return SendFrame(Frame(opcode, payload, fin=fin))


def ping(payload: bytes) -> SendFrame:
    return SendFrame(Frame(Opcode.PING, payload))


# -- what the server answers to the opening handshake ---------------------------------


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """A complete HTTP/1.1 response other than 101, then the server closes TCP."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class RedirectTo:
    """A redirect whose ``Location`` is a working echo endpoint on the same listener.

    The server records whether that endpoint was ever requested (and with what), so a
    redirect the client followed, or one it must not have followed, is observable.
    """

    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """Read the request, then close TCP without any response."""

    reset: bool = False


ACCEPT_VALID = "valid"
ACCEPT_WRONG = "wrong"


@dataclass(frozen=True, slots=True)
class Upgrade:
    """A 101 response, correct unless told otherwise, then ``then`` and echo mode."""

    accept: Literal["valid", "wrong"] = "valid"
    upgrade_header: bool = True
    connection_header: bool = True
    protocol: str | None = None  # Sec-WebSocket-Protocol value to send, if any
    extensions: str | None = None  # Sec-WebSocket-Extensions value to send, if any
    then: tuple[Step, ...] = ()


Answer = StatusAnswer | RedirectTo | NoAnswer | Upgrade


# -- what the script does --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """``ws.send(text)``."""

    text: str


@dataclass(frozen=True, slots=True)
class AwaitMessage:
    """Wait for the next message event before the next action (bounded by the case)."""


@dataclass(frozen=True, slots=True)
class CloseCall:
    """``ws.close(code, reason)``; ``None`` leaves an argument out."""

    code: int | None = None
    reason: str | None = None


Action = Send | AwaitMessage | CloseCall


@dataclass(frozen=True, slots=True)
class Script:
    """The constructor arguments and what the script does after ``open``.

    ``url`` is a template over the scenario's own URL: ``{url}`` is it whole, ``{rest}``
    is it without its ``ws``/``wss`` scheme (``ftp{rest}`` gives a bad scheme).
    """

    protocols: tuple[str, ...] = ()
    url: str = "{url}"
    on_open: tuple[Action, ...] = ()


# -- what the judge reads -------------------------------------------------------------

RfcCheck = Literal[
    "opens",
    "http-status",
    "redirect",
    "reject-101",
    "no-connection",
    "subprotocol-optional",
    "connection-lost",
    "fail-on-frame",
    "delivered",
    "echoed",
]
"""What the ``rfc6455-client`` profile checks in the adapter's events (RFC 6455 §4.1 for
the opening handshake, §5-§7 after it): ``opens``, the connection opens (the scenario
needs it); ``http-status``/``redirect``, a non-101 answer (§4.1: HTTP procedures, a
redirect may be followed); ``reject-101``/``no-connection``, the client must fail the
connection (:attr:`ClientScenario.rfc_rule`); ``subprotocol-optional``, opening or refusing a
101 without a subprotocol both conform; ``connection-lost``, the TCP connection ends
(§7.2.1); ``fail-on-frame``, the frame fails the connection and reaches no application
(:attr:`ClientScenario.fails_on_frame`); ``delivered``/``echoed``, :attr:`ClientScenario.delivers`
reaches the application."""


@dataclass(frozen=True, slots=True)
class ReportedClose:
    """The close code and reason a library that reports them must report (RFC 6455
    §7.1.5, §7.1.6); ``reason`` None: any. A misreport is WARN (definitions, not API rules)."""

    code: int
    reason: str | None
    requirements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Alternative:
    """Another script-visible event sequence the text allows, and why."""

    events: tuple[ScriptEvent, ...]
    why: str
    requirements: tuple[str, ...] = ()


# -- a scenario ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientScenario:
    """One client scenario; ``id`` names it: ``client/handshake/status-403``."""

    id: str
    title: str
    answer: Answer | None  # None: the server is never reached (refused, unresolvable)
    endpoint: Endpoint = "ws"
    script: Script = field(default_factory=Script)
    profiles: tuple[Profile, ...] = PROFILES
    situation: str | None = None  # one of the seven WHATWG "indistinct" situations
    note: str = ""
    # What the judge reads (conformance.clients.judge):
    rfc_check: RfcCheck = "opens"
    rfc_rule: str = ""  # the requirement of a reject-101, no-connection or delivered check
    rfc_expected: str = ""  # the rfc6455-client expectation, where its check's is too general
    delivers: str | bytes | None = None  # the message that must reach the application
    reported_close: ReportedClose | None = None
    fails_on_frame: str | None = None  # the rule a frame breaks: the client must close
    answers_close: bool = False  # the server sends a Close: the client must answer it
    sends_close: tuple[int, bytes] | None = None  # the Close frame the script's close() sends
    sends_empty_close: bool = False  # close() without arguments: a Close without a body
    alternatives: tuple[Alternative, ...] = ()  # other event sequences the text allows (whatwg)

    @property
    def name(self) -> str:
        """The last id segment, also the scenario server's path segment."""
        return self.id.rsplit("/", 1)[-1]

    @property
    def group(self) -> str:
        return self.id.split("/")[1]

    @property
    def pinged(self) -> bytes | None:
        """The application data of the Ping the server sends, which a Pong must echo."""
        if not isinstance(self.answer, Upgrade):
            return None
        return next(
            (
                step.frame.payload
                for step in self.answer.then
                if isinstance(step, SendFrame) and step.frame.opcode == Opcode.PING
            ),
            None,
        )


# The seven situations a user agent must not let a script tell apart (WHATWG WebSockets,
# "Feedback from the protocol"), each with the requirement id that names it.
SITUATIONS: dict[str, str] = {
    "dns": "whatwg-ws-indistinct-dns-failure",
    "unroutable": "whatwg-ws-indistinct-unroutable",
    "refused": "whatwg-ws-indistinct-refused",
    "tls": "whatwg-ws-indistinct-tls-failure",
    "no-handshake": "whatwg-ws-indistinct-no-handshake",
    "bad-options": "whatwg-ws-indistinct-bad-options",
    "abrupt-close": "whatwg-ws-indistinct-abrupt-close",
}

_ECHO_AND_CLOSE = Script(on_open=(Send("hello"), AwaitMessage(), CloseCall(1000, "done")))
_CLOSE_ON_OPEN = Script(on_open=(CloseCall(1000),))
_AWAIT_THEN_CLOSE = Script(on_open=(AwaitMessage(), CloseCall(1000)))
BINARY_PAYLOAD = b"\x00\xffbinary\x80"
"""A client that opens where it must not (or follows a redirect) closes at once."""
_INVALID_UTF8 = b"caf\xc3(\xa9 invalid"


_LOST = ReportedClose(1006, None, ("rfc6455-7.1.5-no-close-frame-1006",))
"""A lost connection: the close code 1006 where the library reports one (§7.1.5)."""


def _opened() -> ScriptEvent:
    return ScriptEvent("open", ready_state=1, protocol="")


def _failed() -> tuple[ScriptEvent, ...]:
    return (
        ScriptEvent("error", ready_state=3),
        ScriptEvent("close", ready_state=3, code=1006, reason="", was_clean=False),
    )


_CLOSE_1006_ALTERNATIVES = (
    Alternative(
        (_opened(), *_failed()),
        "the client failed the connection on a Close carrying 1006, which no endpoint "
        "may send (RFC 6455 §7.4.1); §7.4.1 names no reaction of the receiver",
        ("rfc6455-7.4.1-code-1006-not-sent", "rfc6455-7.1.5-close-code-first-frame"),
    ),
)


def _masked_frame_alternatives() -> tuple[Alternative, ...]:
    """How a client may close on a masked frame, before or after delivering its message."""
    closings = [
        (
            _failed(),
            "the client failed the connection after delivering the message: §5.1 does "
            "not say whether a masked frame's payload may reach the application first",
        ),
        (
            (ScriptEvent("close", ready_state=3, code=1002, reason=None, was_clean=True),),
            "RFC 6455 §5.1 says the client MUST *close* the connection (and MAY use 1002), "
            "not that it must *fail* it: a closing handshake with 1002 also conforms",
        ),
        (
            (ScriptEvent("close", ready_state=3, code=1006, reason="", was_clean=False),),
            "closing the connection without failing it (no error event) also reads as "
            '"close a connection" (RFC 6455 §5.1)',
        ),
    ]
    delivered = ScriptEvent("message", ready_state=1, data="masked")
    masked = ("rfc6455-5.1-client-close-masked",)
    out = [Alternative((_opened(), *events), why, masked) for events, why in closings[1:]]
    out += [
        Alternative((_opened(), delivered, *events), why + "; the message came first", masked)
        for events, why in closings
    ]
    return tuple(out)


_MASKED_FRAME_ALTERNATIVES = _masked_frame_alternatives()


def _http(status: int, reason: str, *headers: tuple[str, str], body: bytes = b"") -> StatusAnswer:
    return StatusAnswer(status, reason, headers, body)


SCENARIOS: tuple[ClientScenario, ...] = (
    # -- the opening handshake: answers other than 101 (RFC 6455 §4.1; WHATWG, Fetch) ----
    ClientScenario(
        "client/handshake/status-403",
        "403 Forbidden with a body",
        _http(403, "Forbidden", ("Content-Type", "text/plain"), body=b"forbidden by policy\n"),
        situation="no-handshake",
        rfc_check="http-status",
    ),
    ClientScenario(
        "client/handshake/status-500",
        "500 Internal Server Error",
        _http(500, "Internal Server Error", body=b"boom\n"),
        situation="no-handshake",
        rfc_check="http-status",
    ),
    ClientScenario(
        "client/handshake/status-200",
        "200 OK with an HTML page (not a WebSocket server)",
        _http(200, "OK", ("Content-Type", "text/html"), body=b"<!doctype html><p>hello</p>\n"),
        situation="no-handshake",
        rfc_check="http-status",
    ),
    ClientScenario(
        "client/handshake/status-401",
        "401 Unauthorized with WWW-Authenticate",
        _http(401, "Unauthorized", ("WWW-Authenticate", 'Basic realm="ws"'), body=b"login\n"),
        situation="no-handshake",
        rfc_check="http-status",
    ),
    ClientScenario(
        "client/handshake/redirect-301",
        "301 to a working endpoint",
        RedirectTo(301, "Moved Permanently"),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
        rfc_check="redirect",
    ),
    ClientScenario(
        "client/handshake/redirect-302",
        "302 to a working endpoint",
        RedirectTo(302, "Found"),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
        rfc_check="redirect",
    ),
    ClientScenario(
        "client/handshake/redirect-307",
        "307 to a working endpoint",
        RedirectTo(307, "Temporary Redirect"),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
        rfc_check="redirect",
    ),
    ClientScenario(
        "client/handshake/redirect-308",
        "308 to a working endpoint",
        RedirectTo(308, "Permanent Redirect"),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
        rfc_check="redirect",
    ),
    # -- the opening handshake: a 101 the client must reject (RFC 6455 §4.1 steps 2-6) ----
    ClientScenario(
        "client/handshake/wrong-accept",
        "101 with a wrong Sec-WebSocket-Accept",
        Upgrade(accept="wrong", then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
        rfc_check="reject-101",
        rfc_rule="rfc6455-4.1-response-accept-check",
    ),
    ClientScenario(
        "client/handshake/missing-upgrade",
        "101 without Upgrade",
        Upgrade(upgrade_header=False, then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
        rfc_check="reject-101",
        rfc_rule="rfc6455-4.1-response-upgrade-websocket",
    ),
    ClientScenario(
        "client/handshake/missing-connection",
        "101 without Connection",
        Upgrade(connection_header=False, then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
        rfc_check="reject-101",
        rfc_rule="rfc6455-4.1-response-connection-upgrade",
    ),
    ClientScenario(
        "client/handshake/protocol-unoffered",
        "101 selecting a subprotocol the client did not offer",
        Upgrade(protocol="superchat", then=(text("must not arrive"),)),
        script=Script(protocols=("chat",), on_open=(CloseCall(1000),)),
        situation="bad-options",
        rfc_check="reject-101",
        rfc_rule="rfc6455-4.1-response-unrequested-subprotocol",
    ),
    ClientScenario(
        "client/handshake/protocol-none-offered",
        "101 selecting a subprotocol when none was offered",
        Upgrade(protocol="chat", then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="bad-options",
        rfc_check="reject-101",
        rfc_rule="rfc6455-4.1-response-unrequested-subprotocol",
    ),
    ClientScenario(
        "client/handshake/protocol-not-acked",
        "101 without Sec-WebSocket-Protocol although one was offered",
        Upgrade(then=(text("hello"),)),
        script=Script(protocols=("chat",), on_open=(AwaitMessage(), CloseCall(1000))),
        note="WHATWG fails the connection (a subprotocol requested but not acknowledged); "
        "RFC 6455 §4.1 only rejects a subprotocol that was not offered.",
        rfc_check="subprotocol-optional",
        rfc_expected="the connection opens (a server may select no subprotocol); "
        "refusing it is reported as INFO",
    ),
    ClientScenario(
        "client/handshake/extension-unoffered",
        "101 selecting an extension the client did not offer",
        Upgrade(extensions="x-unoffered-extension", then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="bad-options",
        rfc_check="reject-101",
        rfc_rule="rfc6455-4.1-response-unrequested-extension",
    ),
    # -- failures before any HTTP response ----------------------------------------------
    ClientScenario(
        "client/network/no-response",
        "TCP closed after the request, no response",
        NoAnswer(),
        situation="no-handshake",
        rfc_check="no-connection",
        rfc_rule="rfc6455-4.1-response-nonconforming-fail",
    ),
    ClientScenario(
        "client/network/refused",
        "connection refused",
        None,
        endpoint="refused",
        situation="refused",
        rfc_check="no-connection",
        rfc_rule="rfc6455-4.1-connect-failure-fail",
    ),
    ClientScenario(
        "client/network/unresolvable",
        "host name that cannot be resolved",
        None,
        endpoint="unresolvable",
        situation="dns",
        rfc_check="no-connection",
        rfc_rule="rfc6455-4.1-connect-failure-fail",
    ),
    ClientScenario(
        "client/network/unroutable",
        "address with no route",
        None,
        endpoint="unroutable",
        situation="unroutable",
        rfc_check="no-connection",
        rfc_rule="rfc6455-4.1-connect-failure-fail",
    ),
    ClientScenario(
        "client/network/tls-untrusted",
        "TLS certificate from a CA the client does not trust",
        Upgrade(),
        endpoint="wss-untrusted",
        script=_CLOSE_ON_OPEN,
        situation="tls",
        rfc_check="no-connection",
        rfc_rule="rfc6455-4.1-tls-failure-fail",
    ),
    ClientScenario(
        "client/network/tls-trusted",
        "TLS with the trusted CA: echo and close (control)",
        Upgrade(),
        endpoint="wss",
        script=_ECHO_AND_CLOSE,
        rfc_check="echoed",
        rfc_expected="with the CA given: every frame masked; the echo delivered; "
        "a Close frame carrying 1000 'done'",
        delivers="hello",
        sends_close=(1000, b"done"),
    ),
    # -- after the 101 -------------------------------------------------------------------
    ClientScenario(
        "client/close/fin-after-101",
        "TCP FIN right after a valid 101",
        Upgrade(then=(CloseTcp(),)),
        situation="abrupt-close",
        rfc_check="connection-lost",
        reported_close=_LOST,
    ),
    ClientScenario(
        "client/close/rst-after-101",
        "TCP RST right after a valid 101",
        Upgrade(then=(CloseTcp(reset=True),)),
        situation="abrupt-close",
        rfc_check="connection-lost",
        reported_close=_LOST,
    ),
    ClientScenario(
        "client/close/server-close-1000",
        "server sends Close 1000 with a reason, then closes TCP after the reply",
        Upgrade(then=(close(1000, "bye"), AwaitClient("close"), CloseTcp())),
        rfc_expected="a masked Close in reply; the close code 1000 and reason 'bye' "
        "where the library reports them",
        reported_close=ReportedClose(
            1000,
            "bye",
            ("rfc6455-7.1.5-close-code-first-frame", "rfc6455-7.1.6-close-reason-first-frame"),
        ),
        answers_close=True,
    ),
    ClientScenario(
        "client/close/server-close-1006",
        "server sends a Close frame carrying 1006 (a code no endpoint may send)",
        Upgrade(then=(close(1006, ""), AwaitClient("close"), CloseTcp())),
        note="RFC 6455 §7.4.1 forbids the server to send 1006 but names no reaction of the "
        "receiver: a client that passes it through and one that fails the connection "
        "both conform.",
        rfc_expected="a masked Close in reply or a TCP close; never a Close carrying 1006",
        alternatives=_CLOSE_1006_ALTERNATIVES,
    ),
    ClientScenario(
        "client/close/script-close-code",
        "script calls close(3000, 'custom')",
        Upgrade(),
        script=Script(on_open=(CloseCall(3000, "custom"),)),
        rfc_expected="a masked Close frame carrying 3000 'custom'",
        sends_close=(3000, b"custom"),
    ),
    ClientScenario(
        "client/close/script-close-no-args",
        "script calls close() with no arguments",
        Upgrade(),
        script=Script(on_open=(CloseCall(),)),
        profiles=("whatwg",),
        sends_empty_close=True,
    ),
    ClientScenario(
        "client/frames/masked-server-frame",
        "server sends a masked text frame",
        Upgrade(then=(text("masked", masked=True),)),
        rfc_expected="the client closes the connection (Close, 1002 allowed, or TCP close)",
        fails_on_frame="rfc6455-5.1-client-close-masked",
        alternatives=_MASKED_FRAME_ALTERNATIVES,
    ),
    ClientScenario(
        "client/frames/invalid-utf8",
        "server sends a text frame that is not UTF-8",
        Upgrade(then=(text(_INVALID_UTF8),)),
        rfc_check="fail-on-frame",
        rfc_expected="the client fails the connection (Close 1007 or TCP close) "
        "and delivers no message",
        fails_on_frame="rfc6455-8.1-invalid-utf8-fail",
    ),
    ClientScenario(
        "client/frames/echo",
        "echo a message, then close (client masking, Close reply)",
        Upgrade(),
        script=_ECHO_AND_CLOSE,
        rfc_check="echoed",
        rfc_expected="every frame masked; the echo delivered; a Close frame carrying 1000 'done'",
        delivers="hello",
        sends_close=(1000, b"done"),
    ),
    ClientScenario(
        "client/frames/ping",
        "server sends a Ping: the client must answer with a Pong",
        Upgrade(
            then=(
                ping(b"are you there"),
                AwaitClient("pong"),
                text("after ping"),
                close(1000),
                AwaitClient("close"),
                CloseTcp(),
            )
        ),
        rfc_expected="a masked Pong with the Ping's data, then a Close in reply to the server's",
        answers_close=True,
    ),
    ClientScenario(
        "client/frames/fragmented-text",
        "a text message in two fragments",
        Upgrade(
            then=(fragment(Opcode.TEXT, b"hel"), fragment(Opcode.CONTINUATION, b"lo", fin=True))
        ),
        script=_AWAIT_THEN_CLOSE,
        rfc_check="delivered",
        rfc_rule="rfc6455-5.4-receive-fragmented",
        rfc_expected="the two fragments delivered as one message 'hello'",
        delivers="hello",
    ),
    ClientScenario(
        "client/frames/ping-mid-message",
        "a Ping between the fragments of a text message",
        Upgrade(
            then=(
                fragment(Opcode.TEXT, b"hel"),
                ping(b"mid-message"),
                fragment(Opcode.CONTINUATION, b"lo", fin=True),
                AwaitClient("pong"),
            )
        ),
        script=_AWAIT_THEN_CLOSE,
        rfc_check="delivered",
        rfc_rule="rfc6455-5.4-control-mid-message",
        rfc_expected="a Pong with the Ping's data, and the message 'hello' delivered whole",
        delivers="hello",
    ),
    ClientScenario(
        "client/frames/binary",
        "a binary message",
        Upgrade(then=(SendFrame(Frame(Opcode.BINARY, BINARY_PAYLOAD)),)),
        script=_AWAIT_THEN_CLOSE,
        rfc_check="delivered",
        rfc_rule="rfc6455-6.2-unfragmented-received",
        rfc_expected="the binary message delivered byte for byte",
        delivers=BINARY_PAYLOAD,
    ),
    ClientScenario(
        "client/frames/unsolicited-pong",
        "an unsolicited Pong, then a text message",
        Upgrade(then=(SendFrame(Frame(Opcode.PONG, b"unasked")), text("after pong"))),
        script=_AWAIT_THEN_CLOSE,
        rfc_check="delivered",
        rfc_rule="rfc6455-5.5.3-unsolicited-pong",
        rfc_expected="the Pong ignored and the next message delivered",
        delivers="after pong",
    ),
    ClientScenario(
        "client/frames/reserved-opcode",
        "a frame with the reserved opcode 0x3",
        Upgrade(then=(SendFrame(Frame(0x3, b"reserved")),)),
        rfc_check="fail-on-frame",
        rfc_expected="the client fails the connection (Close 1002 or TCP close), no message",
        fails_on_frame="rfc6455-5.2-unknown-opcode-fail",
    ),
    ClientScenario(
        "client/frames/rsv1-set",
        "a text frame with RSV1 set, no extension negotiated",
        Upgrade(then=(SendFrame(Frame(Opcode.TEXT, b"rsv1", rsv1=True)),)),
        rfc_check="fail-on-frame",
        rfc_expected="the client fails the connection (Close 1002 or TCP close), no message",
        fails_on_frame="rfc6455-5.2-rsv-nonzero-fail",
    ),
    ClientScenario(
        "client/close/server-close-no-body",
        "server sends a Close frame without a body",
        Upgrade(then=(close(None), AwaitClient("close"), CloseTcp())),
        rfc_expected="a masked Close in reply; the close code 1005 where the library reports one",
        reported_close=ReportedClose(1005, "", ("rfc6455-7.1.5-no-status-code-1005",)),
        answers_close=True,
    ),
    # -- the WebSocket interface (WHATWG only) -----------------------------------------
    ClientScenario(
        "client/api/ctor-bad-scheme",
        "constructor with an ftp: URL",
        Upgrade(),
        script=Script(url="ftp{rest}"),
        profiles=("whatwg",),
    ),
    ClientScenario(
        "client/api/ctor-invalid-url",
        "constructor with a URL that does not parse (an unclosed IPv6 literal)",
        Upgrade(),
        script=Script(url="ws://[::1{rest}"),
        profiles=("whatwg",),
    ),
    ClientScenario(
        "client/api/ctor-http-scheme",
        "constructor with an http: URL, which maps to ws:",
        Upgrade(),
        script=Script(url="http{rest}", on_open=(CloseCall(1000),)),
        profiles=("whatwg",),
    ),
    ClientScenario(
        "client/api/ctor-fragment",
        "constructor with a URL fragment",
        Upgrade(),
        script=Script(url="{url}#fragment"),
        profiles=("whatwg",),
    ),
    ClientScenario(
        "client/api/ctor-duplicate-protocols",
        "constructor with a protocol listed twice",
        Upgrade(),
        script=Script(protocols=("chat", "chat")),
        profiles=("whatwg",),
    ),
    ClientScenario(
        "client/api/close-invalid-code",
        "close(1001) throws, then close(1000) closes",
        Upgrade(),
        script=Script(on_open=(CloseCall(1001), CloseCall(1000))),
        profiles=("whatwg",),
    ),
    ClientScenario(
        "client/api/close-reason-too-long",
        "close(1000, 124-byte reason) throws, then close(1000) closes",
        Upgrade(),
        script=Script(on_open=(CloseCall(1000, "x" * 124), CloseCall(1000))),
        profiles=("whatwg",),
    ),
)


def scenario_by_name(name: str) -> ClientScenario | None:
    """The scenario whose last id segment is ``name`` (the server's path segment)."""
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    return None
