"""The opening-handshake policies (docs/verdict-policy.md: "Handshake refusal",
"Handshake acceptance of valid variants", "Key, version, extension and subprotocol
grammar"): RFC 6455 §4.2.1, §4.2.2, §4.4, §9.1, §10.7.

Each constant is the acceptable outcome set of one rule family, or one alternative
with its level and the clause that allows it; the cases of
:mod:`conformance.cases.handshake` take them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model.behaviours import HandshakeAccepted, HttpAnswer, HttpRefusal, expect
from ..model.observed import HttpResponse, Observed, TransportEnd
from ..model.verdict import Allowed, Outcome

SWITCHING = 101
"""The status of an accepted opening handshake (§4.2.2 step 5.1)."""

SEC_PROTOCOL = b"sec-websocket-protocol"
SEC_EXTENSIONS = b"sec-websocket-extensions"
SEC_VERSION = b"sec-websocket-version"
SUPPORTED_VERSION = b"13"  # §4.2.1 item 6

# -- Behaviours of this family -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectionDropped:
    """The server closed the TCP connection (FIN or RST) without any HTTP response.

    A deadline that passed with the connection still open is not a drop (that is
    ERROR), nor is a partial or malformed response (that is judged as an answer).
    """

    def describe(self) -> str:
        return "the TCP connection closed without an HTTP response"

    def matches(self, observed: Observed) -> bool:
        return (
            observed.response is None
            and observed.response_error is None
            and observed.transport in (TransportEnd.EOF, TransportEnd.RESET)
        )


@dataclass(frozen=True, slots=True)
class Switched:
    """A 101 Switching Protocols response, whatever its header fields."""

    def describe(self) -> str:
        return "a 101 Switching Protocols response"

    def matches(self, observed: Observed) -> bool:
        return observed.response is not None and observed.response.status == SWITCHING


@dataclass(frozen=True, slots=True)
class NullSubprotocol:
    """A 101 without |Sec-WebSocket-Protocol|: no subprotocol agreed, the null value
    (§4.2.2 step 4 /subprotocol/; its absence "is equivalent to the null value")."""

    def describe(self) -> str:
        return "a 101 without Sec-WebSocket-Protocol (the null subprotocol)"

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        return (
            response is not None
            and response.status == SWITCHING
            and not response.values(SEC_PROTOCOL)
        )


def negotiates_extensions(probe: HttpResponse | None) -> bool | None:
    """Whether the probe (a valid extension offer, :data:`EXTENSION_PROBE_OFFER`) got an
    extension accepted; None when the probe got no HTTP answer (not known)."""
    if probe is None:
        return None
    return probe.status == SWITCHING and bool(probe.values(SEC_EXTENSIONS))


@dataclass(frozen=True, slots=True)
class IgnoredWithoutExtensionSupport:
    """A 101 that lists no extension, from a server seen to negotiate none: a valid
    offer of a common extension (the probe) got no extension accepted either."""

    def describe(self) -> str:
        return (
            "a 101 without Sec-WebSocket-Extensions from a server that negotiates no "
            "extension (a valid permessage-deflate offer got none either)"
        )

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        if response is None or response.status != SWITCHING:
            return False
        return (
            not response.values(SEC_EXTENSIONS) and negotiates_extensions(observed.probe) is False
        )


# -- Handshake refusal (§4.2.1 lead-in, §4.2.2, §10.7) -----------------------------------

ACCEPTED = expect(HandshakeAccepted())
"""A valid handshake: a 101 that passes every client check of §4.1 and §4.2.2 step 5."""

REFUSED = expect(HttpRefusal())
"""An invalid handshake: an HTTP error response (§4.2.1 lead-in: "MUST ... return an
HTTP response with an appropriate error code")."""

ACCEPTED_OR_REFUSED = expect(HandshakeAccepted(), HttpRefusal())
"""A request the server may serve or refuse (§4.2.2 /origin/, /resource name/): a valid
101, or an HTTP error code."""

DROP_WHY = (
    "dropped without an HTTP response: §10.7 says the endpoint 'MAY drop the TCP "
    "connection' and the server 'SHOULD return an appropriate HTTP status code', "
    "against the MUST of an error code (§4.2.1, §4.2.2)"
)
DROPPED_WARN = Allowed(ConnectionDropped(), Outcome.WARN, DROP_WHY)
"""A TCP close instead of an error response: the text conflicts (§4.2.1 lead-in and
§4.2.2 MUST an error code; §10.7 MAY drop, SHOULD a status code), so WARN."""

PLAIN_HTTP = Allowed(
    HttpAnswer(), Outcome.INFO, "served as a plain HTTP request, not as an upgrade"
)
"""A request that is no valid upgrade request served as plain HTTP (RFC 9110 §7.8)."""

NON_UPGRADE_NOTE = (
    "RFC 6455 §4.2.1 asks for an HTTP error code; RFC 9110 §7.8 also lets a server "
    "ignore an upgrade that is not a valid upgrade request and serve it as plain HTTP. "
    "Both readings are accepted (the second as INFO); a 101 fails."
)
REFUSAL_NOTE = (
    "§4.2.1: a server that finds the handshake invalid 'MUST ... return an HTTP "
    "response with an appropriate error code'; §10.7: it 'MAY drop the TCP connection' "
    "and 'SHOULD return an appropriate HTTP status code'. An error response passes, a "
    "drop without a response is WARN (the text conflicts), a 101 fails."
)


def refusal_allowances(*, plain_http: bool = False) -> tuple[Allowed, ...]:
    """The alternatives to an HTTP error for an invalid request: a drop (WARN), and for
    a request that is no upgrade request, a plain HTTP answer (INFO)."""
    return (DROPPED_WARN, PLAIN_HTTP) if plain_http else (DROPPED_WARN,)


ORIGIN_MAY_REFUSE = Allowed(
    HttpRefusal(),
    Outcome.INFO,
    "§4.2.2 /origin/ lets a server refuse based on Origin, with an HTTP error code",
)
"""Refusing a request for its Origin (or for lacking one): the server's choice."""

CHOICE_NOTE = (
    "A server may accept or refuse this request; a refusal must be an HTTP error code "
    "(§4.2.2: 'MUST return an appropriate HTTP error code'), a drop without a response "
    "is WARN (§10.7: 'MAY drop the TCP connection', e.g. on an 'incorrect path or "
    "origin'), any other answer fails."
)

# -- Acceptance of valid variants (§4.2.1 items 1-10, §4.2.2, §10.7) -----------------------

SERVER_CHOICE_WHY = (
    "refused: §4.2.2 lets a server refuse a connection it 'does not wish to accept' with "
    "an HTTP error code, and §10.7 lets it drop a handshake that 'does not correspond to "
    "the values it is expecting'"
)
VARIANT_REFUSALS = (
    Allowed(HttpRefusal(), Outcome.INFO, SERVER_CHOICE_WHY),
    Allowed(ConnectionDropped(), Outcome.INFO, SERVER_CHOICE_WHY),
)
"""A valid request relying on an optional feature (a subprotocol or extension offer) or
on HTTP list-combination of header lines, refused by an error or a drop: INFO."""

VARIANT_NOTE = (
    "A valid request, but one the server may decline: it offers an optional feature, "
    "or spreads a list over several header lines (RFC 9110 §5.3). A 101 must be valid; "
    "a refusal (HTTP error or drop) is INFO, and the case then sends a plain valid "
    "handshake to show whether the refusal is the server's choice."
)
MUST_PARSE_NOTE = (
    "RFC 6455 itself makes this request valid (§4.1, §4.2.1: case-insensitive names "
    "and values, order not important, 'includes the token', unknown fields ignored), so "
    "a server that does WebSocket at all must accept it: a refusal fails."
)


def plain_probe_text(probe: HttpResponse | None) -> str:
    """The Actual text of the plain valid handshake sent after a refused variant."""
    if probe is not None and probe.status == SWITCHING:
        return (
            "a plain valid handshake on a second connection was accepted (101), so the "
            "refusal is the server's choice"
        )
    seen = probe.describe() if probe is not None else "no HTTP response"
    return f"a plain valid handshake on a second connection got {seen} too"


# -- Key, version, extension and subprotocol grammar -------------------------------------

KEY_NOT_DECODED = Allowed(
    Switched(),
    Outcome.WARN,
    "accepted: §4.2.2 /key/ says 'It is not necessary for the server to base64-decode "
    "the |Sec-WebSocket-Key| value', against §4.2.1 item 5 (16 bytes when decoded)",
)
"""A 101 to a key that is not base64 or does not decode to 16 bytes: WARN."""

KEY_FORMAT_NOTE = (
    "§4.2.1 item 5 wants a value that decodes to 16 bytes, but §4.2.2 /key/ says 'It is "
    "not necessary for the server to base64-decode the |Sec-WebSocket-Key| value' and "
    "the §4.2.1 MUST binds a server that finds a mismatch. A refusal passes, a 101 is "
    "WARN; a missing, empty or duplicated key (visible without decoding) fails."
)
KEY_PRESENCE_NOTE = (
    "Seen without decoding the key: §4.3 makes the value 'base64-value-non-empty', "
    "exactly once (§11.3.1). A 101 fails; a drop is WARN (§10.7)."
)

VERSION_ADVERTISED = expect(
    HttpRefusal(required_header=SEC_VERSION, required_token=SUPPORTED_VERSION)
)
"""An unsupported version: an error with |Sec-WebSocket-Version| listing 13 (§4.2.2
/version/, §4.4)."""

VERSION_GRAMMAR_NOTE = (
    "'thirteen' breaks the grammar (§4.3: 1*DIGIT), so the general §4.2.1 refusal (any "
    "HTTP error code, no version header needed) is as valid a reading as the 426 of "
    "§4.2.2 /version/; both pass. A drop is WARN, a 101 fails."
)

SUBPROTOCOL_GRAMMAR = expect(HttpRefusal(), NullSubprotocol())
"""An offer that is not 1#token: refused, or accepted with the null subprotocol."""

SUBPROTOCOL_GRAMMAR_NOTE = (
    "The token rule (§4.1 item 10) binds the client. A server that cannot parse the "
    "offer agrees to none of it, and §4.2.2 /subprotocol/ then prescribes null: no "
    "Sec-WebSocket-Protocol in the 101 (PASS). A refusal also passes (§4.2.1 ABNF); a "
    "drop is WARN; a 101 that echoes the invalid value, or names any subprotocol, fails "
    "(§4.2.2: the value must be one the client offered)."
)

EXTENSION_PROBE_OFFER = b"permessage-deflate; client_max_window_bits"
"""The valid offer that shows whether a server negotiates extensions (RFC 7692)."""

NO_EXTENSION_SUPPORT = Allowed(
    IgnoredWithoutExtensionSupport(),
    Outcome.INFO,
    "§9.1 binds values received during negotiation; this server negotiates none",
)
"""A server without extensions that ignores a malformed offer: INFO."""

EXTENSION_GRAMMAR_NOTE = (
    "§9.1: malformed negotiation data 'MUST immediately _Fail the WebSocket "
    "Connection_'; §4.2.1 asks for an HTTP error code. An error response passes, a "
    "drop is WARN (§10.7 vs §4.2.1). A 101 fails from a server that negotiates "
    "extensions (a second handshake offering permessage-deflate shows it); a server "
    "that negotiates none never reads the values, so its 101 is INFO."
)


def extension_probe_text(probe: HttpResponse | None) -> str:
    """The Actual text of the extension probe."""
    if probe is None:
        return "a second handshake offering permessage-deflate got no HTTP response"
    if negotiates_extensions(probe):
        listed = probe.joined(SEC_EXTENSIONS)
        return (
            f"a second handshake offering permessage-deflate got {listed!r}: the server "
            "negotiates extensions"
        )
    return (
        f"a second handshake offering permessage-deflate got {probe.describe()} without "
        "Sec-WebSocket-Extensions: the server negotiates no extension"
    )
