"""The client scenarios: what the scenario server does, what the script asks of the client.

Theory of operation
-------------------
A scenario is data, in three parts:

* **where the client connects** (:data:`Endpoint`): the scenario server's plain or TLS
  listener, a TLS listener whose certificate the client was not told to trust, a port
  that refuses connections, or a name that cannot resolve;
* **what the server answers** (:class:`HttpAnswer`, :class:`RedirectTo`,
  :class:`NoAnswer` or :class:`Upgrade` with the :data:`Step` s it plays after the 101);
* **what the script does** (:class:`Script`): the constructor arguments and the actions
  taken once the connection opens.

The server plays the scenario and records what the client sent; the adapter reports what
its library exposed; :mod:`conformance.clients.judge` turns both into a verdict for each
profile. Nothing here knows any verdict: the expected script-visible events come from
:mod:`conformance.model.user_agent`, the RFC client rules from the judge.

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
class HttpAnswer:
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


Answer = HttpAnswer | RedirectTo | NoAnswer | Upgrade


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


# -- a scenario ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    """One client scenario; ``id`` names it: ``client/handshake/status-403``."""

    id: str
    title: str
    answer: Answer | None  # None: the server is never reached (refused, unresolvable)
    endpoint: Endpoint = "ws"
    script: Script = field(default_factory=Script)
    profiles: tuple[Profile, ...] = PROFILES
    situation: str | None = None  # one of the seven WHATWG "indistinct" situations
    note: str = ""

    @property
    def name(self) -> str:
        """The last id segment, also the scenario server's path segment."""
        return self.id.rsplit("/", 1)[-1]

    @property
    def group(self) -> str:
        return self.id.split("/")[1]


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


def _http(status: int, reason: str, *headers: tuple[str, str], body: bytes = b"") -> HttpAnswer:
    return HttpAnswer(status, reason, headers, body)


SCENARIOS: tuple[Scenario, ...] = (
    # -- the opening handshake: answers other than 101 (RFC 6455 §4.1; WHATWG, Fetch) ----
    Scenario(
        "client/handshake/status-403",
        "403 Forbidden with a body",
        _http(403, "Forbidden", ("Content-Type", "text/plain"), body=b"forbidden by policy\n"),
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/status-500",
        "500 Internal Server Error",
        _http(500, "Internal Server Error", body=b"boom\n"),
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/status-200",
        "200 OK with an HTML page (not a WebSocket server)",
        _http(200, "OK", ("Content-Type", "text/html"), body=b"<!doctype html><p>hello</p>\n"),
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/status-401",
        "401 Unauthorized with WWW-Authenticate",
        _http(401, "Unauthorized", ("WWW-Authenticate", 'Basic realm="ws"'), body=b"login\n"),
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/redirect-301",
        "301 to a working endpoint",
        RedirectTo(301, "Moved Permanently"),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/redirect-302",
        "302 to a working endpoint",
        RedirectTo(302, "Found"),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/redirect-307",
        "307 to a working endpoint",
        RedirectTo(307, "Temporary Redirect"),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/redirect-308",
        "308 to a working endpoint",
        RedirectTo(308, "Permanent Redirect"),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
    ),
    # -- the opening handshake: a 101 the client must reject (RFC 6455 §4.1 steps 2-6) ----
    Scenario(
        "client/handshake/wrong-accept",
        "101 with a wrong Sec-WebSocket-Accept",
        Upgrade(accept="wrong", then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/missing-upgrade",
        "101 without Upgrade",
        Upgrade(upgrade_header=False, then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/missing-connection",
        "101 without Connection",
        Upgrade(connection_header=False, then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="no-handshake",
    ),
    Scenario(
        "client/handshake/protocol-unoffered",
        "101 selecting a subprotocol the client did not offer",
        Upgrade(protocol="superchat", then=(text("must not arrive"),)),
        script=Script(protocols=("chat",), on_open=(CloseCall(1000),)),
        situation="bad-options",
    ),
    Scenario(
        "client/handshake/protocol-none-offered",
        "101 selecting a subprotocol when none was offered",
        Upgrade(protocol="chat", then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="bad-options",
    ),
    Scenario(
        "client/handshake/protocol-not-acked",
        "101 without Sec-WebSocket-Protocol although one was offered",
        Upgrade(then=(text("hello"),)),
        script=Script(protocols=("chat",), on_open=(AwaitMessage(), CloseCall(1000))),
        note="WHATWG fails the connection (a subprotocol requested but not acknowledged); "
        "RFC 6455 §4.1 only rejects a subprotocol that was not offered.",
    ),
    Scenario(
        "client/handshake/extension-unoffered",
        "101 selecting an extension the client did not offer",
        Upgrade(extensions="x-unoffered-extension", then=(text("must not arrive"),)),
        script=_CLOSE_ON_OPEN,
        situation="bad-options",
    ),
    # -- failures before any HTTP response ----------------------------------------------
    Scenario(
        "client/network/no-response",
        "TCP closed after the request, no response",
        NoAnswer(),
        situation="no-handshake",
    ),
    Scenario(
        "client/network/refused",
        "connection refused",
        None,
        endpoint="refused",
        situation="refused",
    ),
    Scenario(
        "client/network/unresolvable",
        "host name that cannot be resolved",
        None,
        endpoint="unresolvable",
        situation="dns",
    ),
    Scenario(
        "client/network/unroutable",
        "address with no route",
        None,
        endpoint="unroutable",
        situation="unroutable",
    ),
    Scenario(
        "client/network/tls-untrusted",
        "TLS certificate from a CA the client does not trust",
        Upgrade(),
        endpoint="wss-untrusted",
        script=_CLOSE_ON_OPEN,
        situation="tls",
    ),
    Scenario(
        "client/network/tls-trusted",
        "TLS with the trusted CA: echo and close (control)",
        Upgrade(),
        endpoint="wss",
        script=_ECHO_AND_CLOSE,
    ),
    # -- after the 101 -------------------------------------------------------------------
    Scenario(
        "client/close/fin-after-101",
        "TCP FIN right after a valid 101",
        Upgrade(then=(CloseTcp(),)),
        situation="abrupt-close",
    ),
    Scenario(
        "client/close/rst-after-101",
        "TCP RST right after a valid 101",
        Upgrade(then=(CloseTcp(reset=True),)),
        situation="abrupt-close",
    ),
    Scenario(
        "client/close/server-close-1000",
        "server sends Close 1000 with a reason, then closes TCP after the reply",
        Upgrade(then=(close(1000, "bye"), AwaitClient("close"), CloseTcp())),
    ),
    Scenario(
        "client/close/server-close-1006",
        "server sends a Close frame carrying 1006 (a code no endpoint may send)",
        Upgrade(then=(close(1006, ""), AwaitClient("close"), CloseTcp())),
        note="RFC 6455 §7.4.1 forbids the server to send 1006 but names no reaction of the "
        "receiver: a client that passes it through and one that fails the connection "
        "both conform.",
    ),
    Scenario(
        "client/close/script-close-code",
        "script calls close(3000, 'custom')",
        Upgrade(),
        script=Script(on_open=(CloseCall(3000, "custom"),)),
    ),
    Scenario(
        "client/close/script-close-no-args",
        "script calls close() with no arguments",
        Upgrade(),
        script=Script(on_open=(CloseCall(),)),
        profiles=("whatwg",),
    ),
    Scenario(
        "client/frames/masked-server-frame",
        "server sends a masked text frame",
        Upgrade(then=(text("masked", masked=True),)),
    ),
    Scenario(
        "client/frames/invalid-utf8",
        "server sends a text frame that is not UTF-8",
        Upgrade(then=(text(_INVALID_UTF8),)),
    ),
    Scenario(
        "client/frames/echo",
        "echo a message, then close (client masking, Close reply)",
        Upgrade(),
        script=_ECHO_AND_CLOSE,
    ),
    Scenario(
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
    ),
    Scenario(
        "client/frames/fragmented-text",
        "a text message in two fragments",
        Upgrade(
            then=(fragment(Opcode.TEXT, b"hel"), fragment(Opcode.CONTINUATION, b"lo", fin=True))
        ),
        script=_AWAIT_THEN_CLOSE,
    ),
    Scenario(
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
    ),
    Scenario(
        "client/frames/binary",
        "a binary message",
        Upgrade(then=(SendFrame(Frame(Opcode.BINARY, BINARY_PAYLOAD)),)),
        script=_AWAIT_THEN_CLOSE,
    ),
    Scenario(
        "client/frames/unsolicited-pong",
        "an unsolicited Pong, then a text message",
        Upgrade(then=(SendFrame(Frame(Opcode.PONG, b"unasked")), text("after pong"))),
        script=_AWAIT_THEN_CLOSE,
    ),
    Scenario(
        "client/frames/reserved-opcode",
        "a frame with the reserved opcode 0x3",
        Upgrade(then=(SendFrame(Frame(0x3, b"reserved")),)),
    ),
    Scenario(
        "client/frames/rsv1-set",
        "a text frame with RSV1 set, no extension negotiated",
        Upgrade(then=(SendFrame(Frame(Opcode.TEXT, b"rsv1", rsv1=True)),)),
    ),
    Scenario(
        "client/close/server-close-no-body",
        "server sends a Close frame without a body",
        Upgrade(then=(close(None), AwaitClient("close"), CloseTcp())),
    ),
    # -- the WebSocket interface (WHATWG only) -----------------------------------------
    Scenario(
        "client/api/ctor-bad-scheme",
        "constructor with an ftp: URL",
        Upgrade(),
        script=Script(url="ftp{rest}"),
        profiles=("whatwg",),
    ),
    Scenario(
        "client/api/ctor-invalid-url",
        "constructor with a URL that does not parse (an unclosed IPv6 literal)",
        Upgrade(),
        script=Script(url="ws://[::1{rest}"),
        profiles=("whatwg",),
    ),
    Scenario(
        "client/api/ctor-http-scheme",
        "constructor with an http: URL, which maps to ws:",
        Upgrade(),
        script=Script(url="http{rest}", on_open=(CloseCall(1000),)),
        profiles=("whatwg",),
    ),
    Scenario(
        "client/api/ctor-fragment",
        "constructor with a URL fragment",
        Upgrade(),
        script=Script(url="{url}#fragment"),
        profiles=("whatwg",),
    ),
    Scenario(
        "client/api/ctor-duplicate-protocols",
        "constructor with a protocol listed twice",
        Upgrade(),
        script=Script(protocols=("chat", "chat")),
        profiles=("whatwg",),
    ),
    Scenario(
        "client/api/close-invalid-code",
        "close(1001) throws, then close(1000) closes",
        Upgrade(),
        script=Script(on_open=(CloseCall(1001), CloseCall(1000))),
        profiles=("whatwg",),
    ),
    Scenario(
        "client/api/close-reason-too-long",
        "close(1000, 124-byte reason) throws, then close(1000) closes",
        Upgrade(),
        script=Script(on_open=(CloseCall(1000, "x" * 124), CloseCall(1000))),
        profiles=("whatwg",),
    ),
)


def scenario_by_name(name: str) -> Scenario | None:
    """The scenario whose last id segment is ``name`` (the server's path segment)."""
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    return None
