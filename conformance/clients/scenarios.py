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

import base64
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from ..model.codec import FIN_BIT, close_payload, encode_frame
from ..model.constants import LENGTH_64BIT_MARKER, Opcode
from ..model.deflate import requirements as req
from ..model.deflate.compressor import (
    DEFAULT_RULE,
    MessageCompressor,
    compress_message,
    context_pair,
    empty_final_fragment,
)
from ..model.deflate.params import EXTENSION_NAME, WindowRule
from ..model.deflate.probes import WINDOW_MARGIN, random_block
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


# -- hostile steps (RFC 6455 §10.4; issue #14, deliverable 4) -----------------------------
# Played by conformance.clients.scenario_server.hostile, each capped in bytes and seconds
# whatever the client does. A head step (TrickleHead, EndlessHeader, BigHeader) replaces
# how the 101 is written and must come first in ``then``; a Flood comes after the 101.

HOSTILE_SECONDS = 3.0
"""Seconds a hostile stream may last before the server stops it (the harness allows 5)."""
TRICKLE_INTERVAL = 0.01
"""Seconds between the bytes of a trickled 101: about 1.5 s for the whole head."""
ENDLESS_HEADER_CAP = 16 * 2**20
"""Bytes of one endless header line before the server gives up."""
BIG_HEADER_SIZE = 2**20
"""The value size of the 1 MiB header field."""


@dataclass(frozen=True, slots=True)
class TrickleHead:
    """Write the (valid) 101 one byte at a time, ``interval`` seconds apart."""

    interval: float = TRICKLE_INTERVAL


@dataclass(frozen=True, slots=True)
class EndlessHeader:
    """The 101's status line and fields, then one field whose value never ends (no CRLF),
    until the client reacts, ``cap`` bytes or ``seconds``; then the server closes TCP."""

    cap: int = ENDLESS_HEADER_CAP
    seconds: float = HOSTILE_SECONDS


@dataclass(frozen=True, slots=True)
class BigHeader:
    """A valid 101 carrying one extra field whose value is ``size`` bytes."""

    size: int = BIG_HEADER_SIZE
    seconds: float = HOSTILE_SECONDS


@dataclass(frozen=True, slots=True)
class Flood:
    """After the 101: ``head``, then ``unit`` ``count`` times, then ``stall`` seconds of
    silence; it stops early when the client closes (a Close or TCP) or after ``seconds``.

    ``must_close``: a client still connected when the stall ends has accepted what the
    flood sent (an MSB-set length, RFC 6455 §5.2); otherwise staying connected is judged
    by the memory the client's processes took (:class:`HostileStats`).
    """

    head: bytes
    unit: bytes = b""
    count: int = 0
    stall: float = 0.0
    seconds: float = HOSTILE_SECONDS
    must_close: bool = False


HeadStep = TrickleHead | EndlessHeader | BigHeader
HostileStep = HeadStep | Flood

Step = SendFrame | AwaitClient | CloseTcp | HostileStep


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
    "hostile",
]
"""What the ``rfc6455-client`` profile checks in the adapter's events (RFC 6455 §4.1 for
the opening handshake, §5-§7 after it): ``opens``, the connection opens (the scenario
needs it); ``http-status``/``redirect``, a non-101 answer (§4.1: HTTP procedures, a
redirect may be followed); ``reject-101``/``no-connection``, the client must fail the
connection (:attr:`ClientScenario.rfc_rule`); ``subprotocol-optional``, opening or refusing a
101 without a subprotocol both conform; ``connection-lost``, the TCP connection ends
(§7.2.1); ``fail-on-frame``, the frame fails the connection and reaches no application
(:attr:`ClientScenario.fails_on_frame`); ``delivered``/``echoed``, :attr:`ClientScenario.delivers`
reaches the application; ``hostile``, the scenario's :data:`HostileStep` is judged
from :class:`HostileStats` (fail or stay bounded)."""


@dataclass(frozen=True, slots=True)
class ReportedClose:
    """The close code and reason a library that reports them must report (RFC 6455
    §7.1.5, §7.1.6); ``reason`` None: any. A misreport is WARN (definitions, not API rules)."""

    code: int
    reason: str | None
    requirements: tuple[str, ...]


HOSTILE_NOTE = "hostile stream: "
"""The prefix of the record note that carries a :class:`HostileStats`."""
HostileEnd = Literal["client", "played", "not-reading"]
"""How a hostile step ended (:class:`HostileStats`)."""


@dataclass(frozen=True, slots=True)
class HostileStats:
    """What the scenario server measured while it played a :data:`HostileStep`.

    ``written``: the bytes it wrote for the step; ``ended``: ``client`` when the client
    closed (a Close frame or its TCP side) before the step was over, ``played`` when the
    whole step was played with the client still connected, ``not-reading`` when the
    client stopped reading and the writes waited until ``seconds`` ran out (TCP flow
    control then bounds what it holds). ``rss_before``/``rss_peak``: the resident memory,
    in bytes, of the process group holding the client's socket (read from ``/proc``)
    when the step began and at its largest while it ran; None where it cannot be read.
    """

    step: str
    written: int
    ended: HostileEnd
    seconds: float
    rss_before: int | None = None
    rss_peak: int | None = None
    processes: int = 0

    def as_note(self) -> str:
        return HOSTILE_NOTE + json.dumps(asdict(self))

    @classmethod
    def from_notes(cls, notes: Sequence[str]) -> HostileStats | None:
        """The stats in a record's notes (see :meth:`as_note`), if there are any."""
        for note in notes:
            if note.startswith(HOSTILE_NOTE):
                return cls(**json.loads(note.removeprefix(HOSTILE_NOTE)))
        return None

    @property
    def rss_growth(self) -> int | None:
        if self.rss_before is None or self.rss_peak is None:
            return None
        return max(0, self.rss_peak - self.rss_before)


@dataclass(frozen=True, slots=True)
class Alternative:
    """Another script-visible event sequence the text allows, and why."""

    events: tuple[ScriptEvent, ...]
    why: str
    requirements: tuple[str, ...] = ()


DeflateNeeds = Literal["any-offer", "offer", "cmwb-offer", "no-cmwb-offer"]
"""What a deflate scenario needs of the client's offer: ``any-offer``, a permessage-deflate
element at all; ``offer``, a valid first offer without ``server_no_context_takeover`` or
``server_max_window_bits`` (so that a response without them answers it, RFC 7692 §7.1.1.1,
§7.1.2.1); ``cmwb-offer``/``no-cmwb-offer``, such an offer with/without
``client_max_window_bits`` (§7.1.2.2)."""

DeflateCheck = Literal["offer", "reject", "inflate", "compress", "rsv1"]
"""What a permessage-deflate scenario checks (RFC 7692): ``offer``, the offer itself (§5,
§7.1); ``reject``, an invalid response fails the connection (§5, §7); ``inflate``, the
server's compressed messages reach the application intact (§6.2, §7.2.2); ``compress``, the
client's compressed messages obey the agreed window and context (§7.2.1); ``rsv1``, a
misplaced RSV1 fails the connection (§6.1; RFC 6455 §5.2)."""


@dataclass(frozen=True, slots=True)
class DeflatePlay:
    """The permessage-deflate part of a scenario (RFC 7692), played and judged as such.

    ``needs``: what the client's offer must allow; where it does not, the server declines
    and plays ``messages`` uncompressed, and the scenario is UNSUPPORTED for that client.
    ``plain``: the server's steps as the WHATWG model sees them once inflated (None: the
    101 must be rejected; ``rule`` is the requirement the scenario tests).
    ``messages``: what must reach the application, in order. What the client's compressed
    output is checked under is what the 101 agreed (the scenario server reads its own).
    """

    check: DeflateCheck
    rule: str
    needs: DeflateNeeds = "offer"
    plain: tuple[Step, ...] | None = ()
    messages: tuple[str | bytes, ...] = ()


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
    deflate: DeflatePlay | None = None  # a permessage-deflate scenario (RFC 7692)

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
                if isinstance(step, SendFrame)
                and step.frame.opcode == Opcode.PING
                and not step.frame.rsv1  # RFC 7692 §6.1: such a Ping fails the connection
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


# -- refusals (docs/refusing-connections.md) -------------------------------------------

REFUSAL_REASON = "forbidden: origin not allowed"
"""The reason of the application's Close (at most 123 bytes, RFC 6455 §5.5)."""
REFUSAL_MESSAGE = '{"error":"unauthorized","detail":"token expired","retry":false}'
"""The structured detail an application sends before its Close."""
_REFUSAL_CLOSE_IDS = (
    "rfc6455-7.1.5-close-code-first-frame",
    "rfc6455-7.1.6-close-reason-first-frame",
)
_ACCEPTED_THEN_REFUSED = (
    "The server's choice is allowed: it accepted (rfc6455-4.2.2-accept-valid-response) and "
    "may close at any time with a code in 4000-4999, reserved for private use "
    "(rfc6455-7.4.2-range-4000-4999-private); the script sees the code and reason "
    "(whatwg-ws-closed-fire-close)."
)

REFUSAL_SCENARIOS: tuple[ClientScenario, ...] = (
    ClientScenario(
        "client/refusal/status-503-retry-after",
        "503 Service Unavailable with Retry-After (a temporary refusal)",
        _http(503, "Service Unavailable", ("Retry-After", "30"), body=b"overloaded\n"),
        situation="no-handshake",
        rfc_check="http-status",
        note="A browser hides the status and the Retry-After hint alike "
        "(whatwg-ws-status-not-101-fail); a library may expose both "
        "(rfc6455-4.1-non-101-http-procedures).",
    ),
    ClientScenario(
        "client/refusal/close-4403-on-open",
        "accept, then close at once with 4403 and a reason",
        Upgrade(then=(close(4403, REFUSAL_REASON), AwaitClient("close"), CloseTcp())),
        rfc_expected=f"open; a masked Close in reply; the close code 4403 and reason "
        f"{REFUSAL_REASON!r} where the library reports them",
        reported_close=ReportedClose(4403, REFUSAL_REASON, _REFUSAL_CLOSE_IDS),
        answers_close=True,
        note=_ACCEPTED_THEN_REFUSED,
    ),
    ClientScenario(
        "client/refusal/close-4403-then-fin",
        "accept, then send Close 4403 and close TCP without waiting for the reply",
        Upgrade(then=(close(4403, REFUSAL_REASON), CloseTcp())),
        rfc_expected=f"open; the close code 4403 and reason {REFUSAL_REASON!r} where the "
        "library reports them",
        reported_close=ReportedClose(4403, REFUSAL_REASON, _REFUSAL_CLOSE_IDS),
        note=_ACCEPTED_THEN_REFUSED,
        alternatives=(
            Alternative(
                (
                    _opened(),
                    ScriptEvent(
                        "close", ready_state=3, code=4403, reason=REFUSAL_REASON, was_clean=False
                    ),
                ),
                "wasClean false: the server closed TCP before it could receive the client's "
                "Close, and RFC 6455 §7.1.4 does not say from whose side the closing "
                "handshake must have completed",
                ("rfc6455-7.1.4-closed-cleanly",),
            ),
        ),
    ),
    ClientScenario(
        "client/refusal/close-1008-on-open",
        "accept, then close at once with 1008 (policy violation) and a reason",
        Upgrade(then=(close(1008, REFUSAL_REASON), AwaitClient("close"), CloseTcp())),
        rfc_expected=f"open; a masked Close in reply; the close code 1008 and reason "
        f"{REFUSAL_REASON!r} where the library reports them",
        reported_close=ReportedClose(1008, REFUSAL_REASON, _REFUSAL_CLOSE_IDS),
        answers_close=True,
        note="1008 is the protocol's own code for a policy refusal "
        "(rfc6455-7.4.1-code-1008-policy); the script sees it as sent "
        "(whatwg-ws-closed-fire-close).",
    ),
    ClientScenario(
        "client/refusal/message-then-close",
        "accept, send a JSON error message, then close with 4401 and a reason",
        Upgrade(
            then=(
                text(REFUSAL_MESSAGE),
                close(4401, "unauthorized"),
                AwaitClient("close"),
                CloseTcp(),
            )
        ),
        rfc_check="delivered",
        rfc_rule="rfc6455-6.2-unfragmented-received",
        rfc_expected="open; the JSON message delivered; a masked Close in reply; the close "
        "code 4401 and reason 'unauthorized' where the library reports them",
        delivers=REFUSAL_MESSAGE,
        reported_close=ReportedClose(4401, "unauthorized", _REFUSAL_CLOSE_IDS),
        answers_close=True,
        note=_ACCEPTED_THEN_REFUSED,
    ),
)


# -- permessage-deflate (RFC 7692), the client side ------------------------------------

DEFLATE_CLIENT_RULES: dict[str, str] = {
    req.PMD_SERVER_WINDOW: "rfc7692-7.2.1-client-max-window",
    req.PMD_SERVER_NO_CONTEXT: "rfc7692-7.2.1-client-no-context-takeover",
}
"""The strict inflater names the server's window and context rules; read on a client's
compressed output (the scenario server's check), they are the client's (RFC 7692 §7.2.1)."""
TEXT_AFTER_INFLATE = "rfc7692-6.1-type-constraints-after-inflate"
"""An inflated text message is UTF-8 like any other (RFC 7692 §6.1; RFC 6455 §8.1)."""
DEFLATE_TEXT = "permessage-deflate carries this text compressed; " * 4
"""A compressible text message (RFC 7692 §7.2.1)."""
DEFLATE_PLAIN = "an uncompressed message between compressed ones"
COMPRESS_TEXT = DEFLATE_TEXT * 8
"""Over 1,024 bytes: long enough for clients that compress only messages above a threshold."""
_BARE = EXTENSION_NAME


def _window_probe(bits: int) -> str:
    """Text with repeats beyond a ``2**bits`` window (:func:`~.probes.beyond_window`)."""
    size = (1 << bits) + max(WINDOW_MARGIN, (1 << bits) // 2)
    return base64.b64encode(random_block(size, seed=bits)).decode("ascii")[:size] * 2


def _compressed(opcode: int, payload: bytes, *, fin: bool = True) -> SendFrame:
    """A frame whose RSV1 says "compressed" (RFC 7692 §6.1): set on a message's first frame."""
    return SendFrame(Frame(opcode, payload, fin=fin, rsv1=True))


def _split(payload: bytes, parts: int) -> list[bytes]:
    size = -(-len(payload) // parts)
    return [payload[i : i + size] for i in range(0, len(payload), size)]


def _deflate_scenarios() -> tuple[ClientScenario, ...]:
    text_bytes = DEFLATE_TEXT.encode()
    first, second = context_pair(text_bytes, text_bytes)
    fresh = compress_message(text_bytes, WindowRule(no_context_takeover=True))
    head, middle, tail = _split(compress_message(text_bytes), 3)
    kept = MessageCompressor(DEFAULT_RULE).compress_fragment(text_bytes)
    rsv1_head, rsv1_tail = _split(compress_message(text_bytes), 2)
    after = (close(1000), AwaitClient("close"), CloseTcp())

    def reject(
        name: str, title: str, response: str, rule: str, needs: DeflateNeeds = "offer"
    ) -> ClientScenario:
        return ClientScenario(
            f"client/deflate/{name}",
            title,
            Upgrade(extensions=response, then=(text("must not arrive"),)),
            script=_CLOSE_ON_OPEN,
            rfc_check="reject-101",
            rfc_rule=rule,
            deflate=DeflatePlay("reject", rule, needs, plain=None),
        )

    def inflate(
        name: str,
        title: str,
        response: str,
        then: tuple[Step, ...],
        plain: tuple[Step, ...],
        messages: tuple[str, ...],
        rule: str,
    ) -> ClientScenario:
        return ClientScenario(
            f"client/deflate/{name}",
            title,
            Upgrade(extensions=response, then=(*then, *after)),
            script=Script(on_open=(*(AwaitMessage() for _ in messages), CloseCall(1000))),
            rfc_check="delivered",
            rfc_rule=rule,
            rfc_expected="every message delivered intact, in order: "
            + ", ".join(f"{len(m)} characters" for m in messages),
            delivers=messages[-1],
            answers_close=True,
            deflate=DeflatePlay("inflate", rule, plain=(*plain, *after), messages=messages),
        )

    def compress(
        name: str, title: str, response: str, probe: str, rule: str, needs: DeflateNeeds = "offer"
    ) -> ClientScenario:
        return ClientScenario(
            f"client/deflate/{name}",
            title,
            Upgrade(extensions=response),
            script=Script(
                on_open=(Send(probe), AwaitMessage(), Send(probe), AwaitMessage(), CloseCall(1000))
            ),
            rfc_check="echoed",
            rfc_rule=rule,
            rfc_expected="each compressed message inflates under exactly the agreed window and "
            "context (or the client fails the handshake); the echoes delivered",
            delivers=probe,
            note="A client that does not support the configuration fails the handshake "
            "(rfc7692-7-fail-unsupported-config); compressing nothing is allowed "
            "(rfc7692-6-uncompressed-message) and reported as INFO.",
            deflate=DeflatePlay("compress", rule, needs, messages=(probe, probe)),
        )

    def rsv1(
        name: str,
        title: str,
        response: str | None,
        then: tuple[Step, ...],
        plain: tuple[Step, ...],
        rule: str,
        needs: DeflateNeeds = "offer",
    ) -> ClientScenario:
        return ClientScenario(
            f"client/deflate/{name}",
            title,
            Upgrade(extensions=response, then=then),
            rfc_check="fail-on-frame",
            rfc_expected="the client fails the connection (Close or TCP close), no message",
            fails_on_frame=rule,
            deflate=DeflatePlay("rsv1", rule, needs, plain=plain),
        )

    return (
        ClientScenario(
            "client/deflate/offer-declined",
            "a valid permessage-deflate offer, declined: messages stay uncompressed",
            Upgrade(),
            script=_ECHO_AND_CLOSE,
            rfc_check="echoed",
            rfc_expected="a valid offer (RFC 7692 §7.1); no RSV1 once declined; the echo delivered",
            delivers="hello",
            rfc_rule="rfc7692-5-declined-no-compression",
            sends_close=(1000, b"done"),
            deflate=DeflatePlay("offer", "rfc7692-5-declined-no-compression", needs="any-offer"),
        ),
        reject(
            "unoffered-extension",
            "permessage-deflate with an extension not offered",
            f"{_BARE}, x-unoffered-extension",
            "rfc6455-4.1-response-unrequested-extension",
        ),
        reject(
            "cmwb-unoffered",
            "client_max_window_bits in a response to an offer without it",
            f"{_BARE}; client_max_window_bits=10",
            "rfc7692-5-invalid-response-fail",
            needs="no-cmwb-offer",
        ),
        reject(
            "smwb-7",
            "server_max_window_bits=7 (below 8)",
            f"{_BARE}; server_max_window_bits=7",
            "rfc7692-7-fail-invalid-value",
        ),
        reject(
            "smwb-16",
            "server_max_window_bits=16 (above 15)",
            f"{_BARE}; server_max_window_bits=16",
            "rfc7692-7-fail-invalid-value",
        ),
        reject(
            "smwb-no-value",
            "server_max_window_bits without its value",
            f"{_BARE}; server_max_window_bits",
            "rfc7692-7-fail-invalid-value",
        ),
        reject(
            "cmwb-no-value",
            "client_max_window_bits without a value in a response",
            f"{_BARE}; client_max_window_bits",
            "rfc7692-7-fail-invalid-value",
            needs="cmwb-offer",
        ),
        reject(
            "two-elements",
            "two permessage-deflate elements in the response",
            f"{_BARE}, {_BARE}",
            "rfc7692-5-rsv1-conflict-client-fail",
        ),
        reject(
            "unknown-param",
            "a parameter not defined for a response",
            f"{_BARE}; x_unknown_param",
            "rfc7692-7-fail-unknown-param",
        ),
        reject(
            "duplicate-param",
            "server_no_context_takeover twice",
            f"{_BARE}; server_no_context_takeover; server_no_context_takeover",
            "rfc7692-7-fail-duplicate-param",
        ),
        inflate(
            "inflate-context-takeover",
            "two compressed messages, the second referencing the first",
            _BARE,
            (_compressed(Opcode.TEXT, first), _compressed(Opcode.TEXT, second)),
            (text(DEFLATE_TEXT), text(DEFLATE_TEXT)),
            (DEFLATE_TEXT, DEFLATE_TEXT),
            "rfc7692-7.2.2-client-keep-context",
        ),
        inflate(
            "inflate-no-context-takeover",
            "server_no_context_takeover: two messages, each alone",
            f"{_BARE}; server_no_context_takeover",
            (_compressed(Opcode.TEXT, fresh), _compressed(Opcode.TEXT, fresh)),
            (text(DEFLATE_TEXT), text(DEFLATE_TEXT)),
            (DEFLATE_TEXT, DEFLATE_TEXT),
            "rfc7692-6.2-decompress-concatenation",
        ),
        inflate(
            "inflate-uncompressed-between",
            "an uncompressed message between two compressed ones",
            _BARE,
            (
                _compressed(Opcode.TEXT, first),
                text(DEFLATE_PLAIN),
                _compressed(Opcode.TEXT, second),
            ),
            (text(DEFLATE_TEXT), text(DEFLATE_PLAIN), text(DEFLATE_TEXT)),
            (DEFLATE_TEXT, DEFLATE_PLAIN, DEFLATE_TEXT),
            "rfc7692-7.2.3.2-uncompressed-keep-window",
        ),
        inflate(
            "inflate-fragmented-ping",
            "a compressed message in three fragments, a Ping between",
            _BARE,
            (
                _compressed(Opcode.TEXT, head, fin=False),
                ping(b"mid-message"),
                fragment(Opcode.CONTINUATION, middle),
                fragment(Opcode.CONTINUATION, tail, fin=True),
                AwaitClient("pong"),
            ),
            (
                fragment(Opcode.TEXT, text_bytes[:20]),
                ping(b"mid-message"),
                fragment(Opcode.CONTINUATION, text_bytes[20:], fin=True),
                AwaitClient("pong"),
            ),
            (DEFLATE_TEXT,),
            "rfc7692-6.2-concatenate-payloads",
        ),
        inflate(
            "inflate-empty-final-fragment",
            "a last fragment holding only an empty block (0x00)",
            _BARE,
            (
                _compressed(Opcode.TEXT, kept, fin=False),
                fragment(Opcode.CONTINUATION, empty_final_fragment(), fin=True),
            ),
            (text(DEFLATE_TEXT),),
            (DEFLATE_TEXT,),
            "rfc7692-7.2.3.6-empty-final-fragment",
        ),
        compress(
            "compress-no-context",
            "client_no_context_takeover: the client's output checked",
            f"{_BARE}; client_no_context_takeover",
            COMPRESS_TEXT,
            "rfc7692-7.2.1-client-no-context-takeover",
        ),
        compress(
            "compress-window-8",
            "client_max_window_bits=8: the client's output checked",
            f"{_BARE}; client_max_window_bits=8",
            _window_probe(8),
            "rfc7692-7.2.1-client-max-window",
            needs="cmwb-offer",
        ),
        compress(
            "compress-window-10",
            "client_max_window_bits=10: the client's output checked",
            f"{_BARE}; client_max_window_bits=10",
            _window_probe(10),
            "rfc7692-7.2.1-client-max-window",
            needs="cmwb-offer",
        ),
        rsv1(
            "rsv1-continuation",
            "RSV1 on a continuation frame of a compressed message",
            _BARE,
            (
                _compressed(Opcode.TEXT, rsv1_head, fin=False),
                _compressed(Opcode.CONTINUATION, rsv1_tail),
            ),
            (fragment(Opcode.TEXT, b"rsv1"), SendFrame(Frame(Opcode.CONTINUATION, b"", rsv1=True))),
            "rfc7692-6.1-rsv1-control-fail",
        ),
        rsv1(
            "rsv1-ping",
            "RSV1 on a Ping with permessage-deflate agreed",
            _BARE,
            (_compressed(Opcode.PING, b"rsv1 ping"),),
            (_compressed(Opcode.PING, b"rsv1 ping"),),
            "rfc7692-6.1-rsv1-control-fail",
        ),
        rsv1(
            "rsv1-declined",
            "a compressed frame after the offer was declined",
            None,
            (_compressed(Opcode.TEXT, fresh),),
            (_compressed(Opcode.TEXT, fresh),),
            "rfc6455-5.2-rsv-nonzero-fail",
            needs="any-offer",
        ),
    )


DEFLATE_SCENARIOS: tuple[ClientScenario, ...] = _deflate_scenarios()


# -- hostile servers (issue #14, deliverable 4) ----------------------------------------
# Judged by judge.hostile_findings, the same under both profiles (RFC 6455 §5.2, §10.4
# bind browsers and libraries alike). "Bounded" and "crashed" are observed, not asked:
# the stats the server records (HostileStats: bytes written before the client closed, the
# resident memory of the client's process group) and the adapter process's fate (an exit
# or no report at all is a crash). Failing the connection or staying bounded is PASS;
# buffering what the server sends without a limit, or crashing, is WARN (§10.4 is a
# SHOULD); keeping a connection whose frame announced a length with its MSB set is FAIL.

ENDLESS_FRAGMENTS_CAP = 128 * 2**20
"""Bytes of the never-finished message before the server stops: above the limits the
shipped libraries impose by default (the largest, Node ws, is 100 MiB)."""
FRAGMENT_SIZE = 64 * 1024
PING_FLOOD = 10_000
FLOOD_PING_DATA = b"flood"
AFTER_FLOOD = "after the flood"
HOSTILE_STALL = 2.0
"""Seconds of silence after a frame header announcing more than is ever sent."""
STALLED_PAYLOAD = 2**20
"""Bytes of the announced payload the server sends before it stalls."""
LENGTH_MAX = 2**63 - 1
LENGTH_MSB = 2**63


def _long_header(opcode: int, length: int) -> bytes:
    """A final unmasked frame's header announcing ``length`` in the 64-bit form (§5.2),
    written raw: the codec refuses to encode a length with the MSB set."""
    return bytes([FIN_BIT | opcode, LENGTH_64BIT_MARKER]) + length.to_bytes(8, "big")


def _fragment_frame(opcode: int) -> bytes:
    return encode_frame(Frame(opcode, b"a" * FRAGMENT_SIZE, fin=False))


_BOUNDED = "the client fails the connection (a Close, 1009 allowed, or a TCP close) before the "
_BUFFERS = "; buffering it without a limit, or crashing, is WARN (RFC 6455 §10.4)"

HOSTILE_SCENARIOS: tuple[ClientScenario, ...] = (
    ClientScenario(
        "client/hostile/trickled-101",
        "a valid 101 written one byte every 10 ms (about 1.5 s)",
        Upgrade(then=(TrickleHead(),)),
        script=_ECHO_AND_CLOSE,
        rfc_check="hostile",
        rfc_rule="rfc6455-4.1-connection-established",
        rfc_expected="the connection opens and the echo is delivered; failing the handshake "
        "is INFO (RFC 6455 sets no bound on its time)",
        delivers="hello",
        note="Valid HTTP: nothing bounds how a response is split into segments. RFC 6455 "
        "§4.1 makes a validated response establish the connection and sets no time limit, "
        "so a client whose handshake timeout is shorter than 1.5 s breaks no sentence: INFO.",
    ),
    ClientScenario(
        "client/hostile/endless-header",
        "a 101 whose last header line never ends (the server stops at 16 MiB or 3 s)",
        Upgrade(then=(EndlessHeader(), CloseTcp())),
        rfc_check="hostile",
        rfc_rule="rfc6455-10.4-impose-size-limits",
        rfc_expected=_BOUNDED + "server gives up, or stays bounded; never open" + _BUFFERS,
        note="A response head is not a frame, but §10.4's reasoning (a malicious endpoint "
        "exhausting its peer's memory) is the same, and §10.7 lets the client drop the TCP "
        "connection on unsafe input.",
    ),
    ClientScenario(
        "client/hostile/header-1mib",
        "a valid 101 carrying a 1 MiB header field",
        Upgrade(then=(BigHeader(),)),
        script=_CLOSE_ON_OPEN,
        rfc_check="hostile",
        rfc_rule="rfc6455-10.7-may-drop-tcp",
        rfc_expected="the client opens (1 MiB is bounded) or fails the connection; "
        "crashing is WARN (RFC 6455 §10.4)",
    ),
    ClientScenario(
        "client/hostile/length-2-63-minus-1",
        "a frame announcing 2^63-1 bytes: 1 MiB of them, then silence",
        Upgrade(
            then=(
                Flood(
                    _long_header(Opcode.BINARY, LENGTH_MAX),
                    b"\0" * FRAGMENT_SIZE,
                    STALLED_PAYLOAD // FRAGMENT_SIZE,
                    stall=HOSTILE_STALL,
                ),
                CloseTcp(),
            )
        ),
        rfc_check="hostile",
        rfc_rule="rfc6455-10.4-impose-size-limits",
        rfc_expected=_BOUNDED + "stall ends, or waits with its memory bounded" + _BUFFERS,
        note="A legal length (§5.2): a client may wait for the rest, and §10.4 lets it refuse "
        "a frame above its limit; both are accepted. Allocating by the announced length "
        "(a crash) is WARN.",
    ),
    ClientScenario(
        "client/hostile/length-msb-set",
        "a frame announcing 2^63 bytes (the length's most significant bit set)",
        Upgrade(
            then=(
                Flood(
                    _long_header(Opcode.BINARY, LENGTH_MSB),
                    b"\0" * 1024,
                    1,
                    stall=HOSTILE_STALL,
                    must_close=True,
                ),
                CloseTcp(),
            )
        ),
        rfc_check="hostile",
        rfc_rule="rfc6455-5.2-length-64-msb-zero",
        rfc_expected="the client fails the connection before the stall ends; keeping it "
        "(waiting for the payload) or delivering a message is FAIL",
    ),
    ClientScenario(
        "client/hostile/ping-flood",
        f"{PING_FLOOD:,} Pings in a row, then a text message",
        Upgrade(
            then=(
                Flood(b"", encode_frame(Frame(Opcode.PING, FLOOD_PING_DATA)), PING_FLOOD),
                text(AFTER_FLOOD),
            )
        ),
        script=_AWAIT_THEN_CLOSE,
        rfc_check="hostile",
        rfc_rule="rfc6455-5.5.2-pong-reply",
        rfc_expected="at least one Pong with the Pings' data (§5.5.3 allows answering only "
        "the latest) and the message delivered, or the connection failed; "
        "crashing or buffering without a limit is WARN",
        delivers=AFTER_FLOOD,
    ),
    ClientScenario(
        "client/hostile/endless-fragments",
        "a text message whose fragments never end (the server stops at 128 MiB or 3 s)",
        Upgrade(
            then=(
                Flood(
                    _fragment_frame(Opcode.TEXT),
                    _fragment_frame(Opcode.CONTINUATION),
                    ENDLESS_FRAGMENTS_CAP // FRAGMENT_SIZE - 1,
                ),
                CloseTcp(),
            )
        ),
        rfc_check="hostile",
        rfc_rule="rfc6455-10.4-impose-size-limits",
        rfc_expected=_BOUNDED + "server stops, or stays bounded" + _BUFFERS,
        note="§10.4 names this attack: 'a long stream of small frames that are a part of a "
        "fragmented message'. A limit above 128 MiB looks like none.",
    ),
)


def hostile_step(scenario: ClientScenario) -> HostileStep | None:
    """The scenario's hostile step, if it has one."""
    if not isinstance(scenario.answer, Upgrade):
        return None
    steps = (
        s
        for s in scenario.answer.then
        if isinstance(s, TrickleHead | EndlessHeader | BigHeader | Flood)
    )
    return next(steps, None)


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
    # -- refusals: what a script can be told (docs/refusing-connections.md) ----------------
    # An HTTP refusal is status-403 and status-500 above; the rest accept, then refuse.
    *REFUSAL_SCENARIOS,
    # -- permessage-deflate (RFC 7692): the client side ------------------------------------
    *DEFLATE_SCENARIOS,
    # -- hostile servers (RFC 6455 §10.4): fail the connection or stay bounded -----------
    *HOSTILE_SCENARIOS,
)


def scenario_by_name(name: str) -> ClientScenario | None:
    """The scenario whose last id segment is ``name`` (the server's path segment)."""
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    return None
