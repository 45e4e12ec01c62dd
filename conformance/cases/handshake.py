"""RFC 6455 §4: the server side of the opening handshake.

Three groups, each case one requirement sentence:

* requests a server MUST accept (§4.1, §4.2.1 items 1–10): token lists, case,
  header order, unknown headers, Origin, subprotocol and extension offers;
* requests it MUST NOT accept (§4.2.1 lead-in, §4.2.2 /version/, §4.4): each breaks
  exactly one item of the §4.2.1 list and must get an HTTP error response;
* the 101 answer itself (§4.2.2 step 5, checked as a client would in §4.1).

Where HTTP lets a server treat a request as plain HTTP (no Upgrade, no Connection:
Upgrade, HTTP/1.0, another method: RFC 9110 §7.8 makes those non-upgrade requests),
a non-101, non-error answer is allowed and reported as INFO; only a 101 fails.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from ..driver import DeadlineExceeded
from ..model import handshake as hs
from ..model.codec import close_payload, encode_frame
from ..model.constants import Opcode
from ..model.frames import Frame
from ..model.handshake import HandshakeRequest, ResponseReader, build_request
from ..model.outcomes import (
    AcceptedWithout,
    HandshakeAccepted,
    HttpAnswer,
    HttpRefusal,
    Level,
    Observed,
    Outcome,
    TcpClose,
    expect,
)
from .base import Allowed, Case, CaseContext, RunFn

# Requirement ids cited by this section (records in spec_refs/rfc6455.toml).
R_REFUSE_INVALID = "rfc6455-4.2.1-bad-handshake-400"  # §4.2.1 lead-in: MUST ... error code
R_GET_11 = "rfc6455-4.2.1-get-http-1-1"
R_HOST = "rfc6455-4.2.1-host-header"
R_UPGRADE = "rfc6455-4.2.1-upgrade-websocket"
R_CONNECTION = "rfc6455-4.2.1-connection-upgrade"
R_KEY = "rfc6455-4.2.1-key-16-bytes"
R_VERSION = "rfc6455-4.2.1-version-13"
R_ORIGIN_OPTIONAL = "rfc6455-4.2.1-origin-optional"
R_PROTOCOL_OFFER = "rfc6455-4.2.1-protocol-optional"
R_EXTENSIONS_OFFER = "rfc6455-4.2.1-extensions-optional"
R_UNKNOWN_HEADERS = "rfc6455-4.2.1-unknown-headers-ignored"
R_ORIGIN_REFUSE = "rfc6455-4.2.2-origin-reject-403"
R_VERSION_MISMATCH = "rfc6455-4.2.2-version-mismatch-426"
R_VERSION_HEADER = "rfc6455-4.4-unsupported-version-header"
R_RESOURCE_UNAVAILABLE = "rfc6455-4.2.2-unknown-resource-404"
R_SUBPROTOCOL_NULL = "rfc6455-4.2.2-no-subprotocol-no-header"
R_SUBPROTOCOL_FROM_CLIENT = "rfc6455-4.2.2-subprotocol-from-client"
R_EXTENSIONS_NOT_LISTED = "rfc6455-4.2.2-no-unlisted-extensions"
R_ACCEPT_101 = "rfc6455-4.2.2-accept-valid-response"
R_STATUS_101 = "rfc6455-4.2.2-status-101"
R_RESPONSE_UPGRADE = "rfc6455-4.2.2-upgrade-websocket"
R_RESPONSE_CONNECTION = "rfc6455-4.2.2-connection-upgrade"
R_RESPONSE_ACCEPT = "rfc6455-4.2.2-accept-computation"
R_HEADER_CASE = "rfc6455-4.1-header-names-case-insensitive"
R_KEY_ONCE = "rfc6455-11.3.1-key-once-in-request"
R_VERSION_ONCE = "rfc6455-11.3.5-version-once-in-request"
R_PROTOCOL_TOKENS = "rfc6455-4.1-protocol-token-chars"
R_EXTENSIONS_MALFORMED = "rfc6455-9.1-malformed-extensions-fail"
R_ACCEPT_STEPS = "rfc6455-4.2.2-accept-steps"
R_VALIDATE_INPUT = "rfc6455-10.7-validate-input"
R_ORIGIN_403 = "rfc6455-10.2-bad-origin-403"
R_EXTENSIONS_FROM_CLIENT = (
    "rfc6455-4.2.2-extensions-from-client",
    "rfc6455-9-no-unrequested-extension",
)
R_HANDSHAKE_STATUS = "rfc6455-10.7-invalid-handshake-http-status"

NON_UPGRADE_NOTE = (
    "RFC 6455 §4.2.1 asks for an HTTP error code; RFC 9110 §7.8 also lets a server "
    "ignore an upgrade that is not a valid upgrade request and serve it as plain HTTP. "
    "Both readings are accepted (the second as INFO); a 101 fails."
)
PLAIN_HTTP = Allowed(
    HttpAnswer(), Outcome.INFO, "served as a plain HTTP request, not as an upgrade"
)
ACCEPTED = expect(HandshakeAccepted())
REFUSED = expect(HttpRefusal())


def _courtesy_close() -> bytes:
    """A masked Close 1000 (§5.5.1), so an accepted connection ends cleanly."""
    return encode_frame(Frame(Opcode.CLOSE, close_payload(1000), mask=b"\x37\xfa\x21\x3d"))


async def exchange(
    ctx: CaseContext,
    request: HandshakeRequest,
    chunk: int | None = None,
    *,
    check_101: bool = True,
) -> Observed:
    """Send ``request``, read the answer (bounded), and check a 101 as a client would.

    ``check_101=False`` is for requests that must be refused: there the 101 itself is
    the failure, and checking it against a request it should never have answered
    (an Accept for a missing key, say) would only add noise to the report.
    """
    observed = Observed()
    conn = await ctx.connect()
    await conn.send(request.to_bytes(), chunk=chunk)
    reader = ResponseReader()
    try:
        while not reader.done:
            reader.feed(await conn.receive())
    except DeadlineExceeded:
        observed.timed_out = True
    observed.response = reader.response
    observed.response_error = reader.error
    observed.violations.extend(hs.check_response_head(reader))
    if reader.response is not None and reader.response.status == 101:
        if check_101:
            observed.violations.extend(hs.check_accept(request, reader.response))
        await conn.send(_courtesy_close())
    observed.transport = conn.end
    return observed


RequestFn = Callable[[CaseContext], HandshakeRequest]


def sending(make: RequestFn, chunk: int | None = None, *, check_101: bool = True) -> RunFn:
    """A case body that sends the request ``make`` builds for the target."""

    async def run(ctx: CaseContext) -> Observed:
        return await exchange(ctx, make(ctx), chunk=chunk, check_101=check_101)

    return run


def valid(ctx: CaseContext, **kwargs: object) -> HandshakeRequest:
    """A valid handshake for the target (§4.1), with keyword overrides."""
    return build_request(ctx.target.host_header, ctx.target.resource, **kwargs)  # type: ignore[arg-type]


def _b64(n: int) -> bytes:
    return base64.b64encode(bytes(range(1, n + 1)))


# -- Requests a server MUST accept -----------------------------------------------------


def _must_accept(
    slug: str,
    title: str,
    make: RequestFn,
    reqs: tuple[str, ...],
    *,
    chunk: int | None = None,
    allowed: tuple[Allowed, ...] = (),
    notes: str = "",
    level: Level = Level.MUST,
) -> Case:
    return Case(
        id=f"rfc6455/4.2.1/{slug}",
        title=title,
        requirements=reqs,
        level=level,
        expect=ACCEPTED,
        run=sending(make, chunk),
        allowed=allowed,
        notes=notes,
    )


ORIGIN_MAY_REFUSE = Allowed(
    HttpRefusal(),
    Outcome.INFO,
    "§4.2.2 /origin/ lets a server refuse based on Origin, with an HTTP error code",
)

ACCEPT_CASES = [
    _must_accept(
        "valid-handshake",
        "A valid opening handshake is accepted with 101",
        lambda ctx: valid(ctx, origin=ctx.target.origin),
        (R_GET_11, R_ACCEPT_STEPS, R_ACCEPT_101),
    ),
    _must_accept(
        "connection-token-list",
        "Connection: keep-alive, Upgrade is accepted",
        lambda ctx: valid(ctx).replacing(b"Connection", b"keep-alive, Upgrade"),
        (R_CONNECTION,),
    ),
    _must_accept(
        "connection-lowercase",
        "Connection: upgrade (lower case) is accepted",
        lambda ctx: valid(ctx).replacing(b"Connection", b"upgrade"),
        (R_CONNECTION,),
    ),
    _must_accept(
        "connection-two-lines",
        "Connection split over two header lines is accepted",
        lambda ctx: (
            valid(ctx)
            .replacing(b"Connection", b"keep-alive")
            .with_header(b"Connection", b"Upgrade")
        ),
        (R_CONNECTION,),
        notes="RFC 9110 §5.3: several field lines of a list-based field combine into one list.",
    ),
    _must_accept(
        "upgrade-mixed-case",
        "Upgrade: WebSocket (mixed case) is accepted",
        lambda ctx: valid(ctx).replacing(b"Upgrade", b"WebSocket"),
        (R_UPGRADE,),
    ),
    _must_accept(
        "upgrade-token-list",
        "Upgrade listing websocket among other protocols is accepted",
        lambda ctx: valid(ctx).replacing(b"Upgrade", b"wsconform-other/1, websocket"),
        (R_UPGRADE,),
        allowed=(
            Allowed(
                HttpRefusal(),
                Outcome.INFO,
                "refused: the text also reads as 'Upgrade: websocket' exactly",
            ),
        ),
        notes="'An |Upgrade| header field containing the value \"websocket\"' reads either "
        "as a list containing it or as the exact value; a refusal is INFO, not FAIL.",
    ),
    _must_accept(
        "header-names-any-case",
        "Header field names in any letter case are accepted",
        lambda ctx: _recase(valid(ctx)),
        (R_HEADER_CASE, R_KEY, R_VERSION),
        notes="RFC 6455 §4.1: all header field names are case-insensitive ([RFC2616]).",
    ),
    _must_accept(
        "header-order",
        "Header fields in another order are accepted",
        lambda ctx: _reorder(valid(ctx)),
        (R_REFUSE_INVALID,),
        notes="§4.2.1: 'the order of the header fields is not important'.",
    ),
    _must_accept(
        "unknown-headers-ignored",
        "Unknown header fields are ignored",
        lambda ctx: valid(
            ctx,
            extra=[
                (b"X-Wsconform-Probe", b"1"),
                (b"User-Agent", b"ws-conformance"),
                (b"Cache-Control", b"no-cache"),
                (b"Pragma", b"no-cache"),
                (b"Accept-Encoding", b"gzip, deflate"),
            ],
        ),
        (R_UNKNOWN_HEADERS,),
    ),
    _must_accept(
        "without-origin",
        "A handshake without Origin is accepted",
        lambda ctx: valid(ctx),
        (R_ORIGIN_OPTIONAL,),
        allowed=(ORIGIN_MAY_REFUSE,),
    ),
    _must_accept(
        "same-origin",
        "A handshake with a same-origin Origin is accepted",
        lambda ctx: valid(ctx, origin=ctx.target.origin),
        (R_ORIGIN_OPTIONAL,),
        allowed=(ORIGIN_MAY_REFUSE,),
    ),
    _must_accept(
        "request-in-single-bytes",
        "A handshake written one byte per TCP write is accepted",
        lambda ctx: valid(ctx),
        (R_GET_11,),
        chunk=1,
    ),
    _must_accept(
        "absolute-uri",
        "A Request-URI in absolute http form is accepted",
        lambda ctx: _absolute(ctx),
        (R_GET_11,),
        notes="§4.2.1 item 1 allows 'an absolute HTTP/HTTPS URI containing the /resource "
        "name/'; RFC 9112 §3.2.2: a server MUST accept the absolute-form.",
    ),
    _must_accept(
        "subprotocol-offer",
        "A handshake offering subprotocols is accepted",
        lambda ctx: valid(ctx, protocols=[b"chat", b"superchat"]),
        (R_PROTOCOL_OFFER,),
    ),
    _must_accept(
        "subprotocol-two-lines",
        "Subprotocols offered on two header lines are accepted",
        lambda ctx: valid(ctx, protocols=[b"chat"]).with_header(
            b"Sec-WebSocket-Protocol", b"superchat"
        ),
        (R_PROTOCOL_OFFER,),
    ),
    _must_accept(
        "extension-offer-unknown",
        "An offer of an unknown extension is accepted",
        lambda ctx: valid(ctx, extensions=[b"x-wsconform-unknown; param=1"]),
        (R_EXTENSIONS_OFFER,),
    ),
]


def _recase(request: HandshakeRequest) -> HandshakeRequest:
    headers = tuple(
        (name.lower() if i % 2 else name.upper(), value)
        for i, (name, value) in enumerate(request.headers)
    )
    return HandshakeRequest(
        request.method,
        request.target,
        request.http_version,
        headers,
        request.key,
        request.protocols,
        request.extensions,
    )


def _reorder(request: HandshakeRequest) -> HandshakeRequest:
    return HandshakeRequest(
        request.method,
        request.target,
        request.http_version,
        tuple(reversed(request.headers)),
        request.key,
        request.protocols,
        request.extensions,
    )


def _absolute(ctx: CaseContext) -> HandshakeRequest:
    request = valid(ctx)
    scheme = b"https" if ctx.target.secure else b"http"
    target = scheme + b"://" + ctx.target.host_header + ctx.target.resource
    return HandshakeRequest(
        request.method,
        target,
        request.http_version,
        request.headers,
        request.key,
        request.protocols,
        request.extensions,
    )


# -- Requests a server MUST NOT accept -------------------------------------------------


def _must_refuse(
    slug: str,
    title: str,
    make: RequestFn,
    reqs: tuple[str, ...],
    *,
    section: str = "4.2.1",
    plain_http: bool = False,
    version_header: bool = False,
) -> Case:
    expectation = (
        expect(HttpRefusal(required_header=b"sec-websocket-version", required_token=b"13"))
        if version_header
        else REFUSED
    )
    return Case(
        id=f"rfc6455/{section}/{slug}",
        title=title,
        requirements=(*reqs, R_REFUSE_INVALID, R_VALIDATE_INPUT, R_HANDSHAKE_STATUS)
        if section == "4.2.1"
        else (*reqs, R_VALIDATE_INPUT, R_HANDSHAKE_STATUS),
        level=Level.MUST,
        expect=expectation,
        run=sending(make, check_101=False),
        allowed=(PLAIN_HTTP,) if plain_http else (),
        notes=NON_UPGRADE_NOTE if plain_http else "",
    )


REFUSE_CASES = [
    _must_refuse(
        "missing-key",
        "A handshake without Sec-WebSocket-Key is refused",
        lambda ctx: valid(ctx).without(b"Sec-WebSocket-Key"),
        (R_KEY,),
    ),
    _must_refuse(
        "duplicate-key",
        "A handshake with two Sec-WebSocket-Key fields is refused",
        lambda ctx: valid(ctx).with_header(b"Sec-WebSocket-Key", hs.new_key()),
        (R_KEY, R_KEY_ONCE),
    ),
    _must_refuse(
        "key-not-base64",
        "A Sec-WebSocket-Key that is not base64 is refused",
        lambda ctx: valid(ctx, key=b"!!!!not-base64-at-all!!!"),
        (R_KEY,),
    ),
    _must_refuse(
        "key-15-bytes",
        "A Sec-WebSocket-Key decoding to 15 bytes is refused",
        lambda ctx: valid(ctx, key=_b64(15)),
        (R_KEY,),
    ),
    _must_refuse(
        "key-17-bytes",
        "A Sec-WebSocket-Key decoding to 17 bytes is refused",
        lambda ctx: valid(ctx, key=_b64(17)),
        (R_KEY,),
    ),
    _must_refuse(
        "key-empty",
        "An empty Sec-WebSocket-Key is refused",
        lambda ctx: valid(ctx, key=b""),
        (R_KEY,),
    ),
    _must_refuse(
        "missing-version",
        "A handshake without Sec-WebSocket-Version is refused",
        lambda ctx: valid(ctx).without(b"Sec-WebSocket-Version"),
        (R_VERSION,),
    ),
    _must_refuse(
        "duplicate-version",
        "A handshake with two Sec-WebSocket-Version fields is refused",
        lambda ctx: valid(ctx).with_header(b"Sec-WebSocket-Version", b"13"),
        (R_VERSION, R_VERSION_ONCE),
    ),
    _must_refuse(
        "missing-host",
        "A handshake without Host is refused",
        lambda ctx: valid(ctx).without(b"Host"),
        (R_HOST,),
    ),
    _must_refuse(
        "duplicate-host",
        "A handshake with two Host fields is refused",
        lambda ctx: valid(ctx).with_header(b"Host", b"wsconform.invalid"),
        (R_HOST,),
    ),
    _must_refuse(
        "whitespace-before-colon",
        "A header field with whitespace before the colon is refused",
        lambda ctx: (
            valid(ctx)
            .without(b"Sec-WebSocket-Key")
            .with_header(b"Sec-WebSocket-Key ", hs.new_key())
        ),
        (R_KEY,),
    ),
    _must_refuse(
        "subprotocol-not-token",
        "A Sec-WebSocket-Protocol that is not a token list is refused",
        lambda ctx: valid(ctx).with_header(b"Sec-WebSocket-Protocol", b"chat room"),
        (R_PROTOCOL_TOKENS, R_PROTOCOL_OFFER),
    ),
    _must_refuse(
        "missing-upgrade",
        "A handshake without Upgrade is not accepted",
        lambda ctx: valid(ctx).without(b"Upgrade"),
        (R_UPGRADE,),
        plain_http=True,
    ),
    _must_refuse(
        "upgrade-not-websocket",
        "Upgrade naming another protocol is not accepted",
        lambda ctx: valid(ctx).replacing(b"Upgrade", b"wsconform-other"),
        (R_UPGRADE,),
        plain_http=True,
    ),
    _must_refuse(
        "missing-connection",
        "A handshake without Connection is not accepted",
        lambda ctx: valid(ctx).without(b"Connection"),
        (R_CONNECTION,),
        plain_http=True,
    ),
    _must_refuse(
        "connection-without-upgrade",
        "Connection without the Upgrade token is not accepted",
        lambda ctx: valid(ctx).replacing(b"Connection", b"keep-alive"),
        (R_CONNECTION,),
        plain_http=True,
    ),
    _must_refuse(
        "http-1.0",
        "An HTTP/1.0 handshake is not accepted",
        lambda ctx: _with(valid(ctx), http_version=b"HTTP/1.0"),
        (R_GET_11,),
        plain_http=True,
    ),
    _must_refuse(
        "method-post",
        "A POST handshake is not accepted",
        lambda ctx: _with(valid(ctx), method=b"POST"),
        (R_GET_11,),
        plain_http=True,
    ),
    _must_refuse(
        "version-9",
        "Sec-WebSocket-Version: 9 (never used) gets an error with the versions",
        lambda ctx: valid(ctx).replacing(b"Sec-WebSocket-Version", b"9"),
        (R_VERSION_MISMATCH, R_VERSION_HEADER),
        section="4.2.2",
        version_header=True,
    ),
    _must_refuse(
        "version-14",
        "Sec-WebSocket-Version: 14 gets an error with the versions",
        lambda ctx: valid(ctx).replacing(b"Sec-WebSocket-Version", b"14"),
        (R_VERSION_MISMATCH, R_VERSION_HEADER),
        section="4.2.2",
        version_header=True,
    ),
    _must_refuse(
        "version-not-a-number",
        "A non-numeric Sec-WebSocket-Version gets an error with the versions",
        lambda ctx: valid(ctx).replacing(b"Sec-WebSocket-Version", b"thirteen"),
        (R_VERSION_MISMATCH, R_VERSION_HEADER),
        section="4.2.2",
        version_header=True,
    ),
]


def _with(
    request: HandshakeRequest, *, method: bytes | None = None, http_version: bytes | None = None
) -> HandshakeRequest:
    return HandshakeRequest(
        method or request.method,
        request.target,
        http_version or request.http_version,
        request.headers,
        request.key,
        request.protocols,
        request.extensions,
    )


# -- The server's answer ---------------------------------------------------------------


def _answer(
    slug: str,
    title: str,
    make: RequestFn,
    reqs: tuple[str, ...],
    checks: tuple[str, ...],
    rule: str,
) -> Case:
    return Case(
        id=f"rfc6455/4.2.2/{slug}",
        title=title,
        requirements=reqs,
        level=Level.MUST,
        expect=expect(AcceptedWithout(frozenset(checks), rule)),
        run=sending(make),
    )


ANSWER_CASES = [
    _answer(
        "status-101",
        "The server accepts with a valid HTTP 101 response",
        lambda ctx: valid(ctx),
        (R_STATUS_101,),
        (hs.RESPONSE_VALID_HTTP,),
        "a valid HTTP response head",
    ),
    _answer(
        "accept-value",
        "Sec-WebSocket-Accept is base64(SHA-1(key + GUID))",
        lambda ctx: valid(ctx),
        (R_RESPONSE_ACCEPT, hs.RESPONSE_ACCEPT, hs.RESPONSE_ACCEPT_ONCE),
        (hs.RESPONSE_ACCEPT, hs.RESPONSE_ACCEPT_ONCE),
        "one right Sec-WebSocket-Accept",
    ),
    _answer(
        "upgrade-header",
        "The 101 carries Upgrade: websocket",
        lambda ctx: valid(ctx),
        (R_RESPONSE_UPGRADE, hs.RESPONSE_UPGRADE),
        (hs.RESPONSE_UPGRADE,),
        "Upgrade: websocket",
    ),
    _answer(
        "connection-header",
        "The 101 carries Connection: Upgrade",
        lambda ctx: valid(ctx),
        (R_RESPONSE_CONNECTION, hs.RESPONSE_CONNECTION),
        (hs.RESPONSE_CONNECTION,),
        "Connection: Upgrade",
    ),
    _answer(
        "no-subprotocol-unless-offered",
        "No Sec-WebSocket-Protocol in the 101 when none was offered",
        lambda ctx: valid(ctx),
        (R_SUBPROTOCOL_NULL, hs.RESPONSE_PROTOCOL),
        (hs.RESPONSE_PROTOCOL, hs.RESPONSE_SINGLE_PROTOCOL),
        "no Sec-WebSocket-Protocol",
    ),
    _answer(
        "subprotocol-from-offer",
        "A selected subprotocol is one the client offered",
        lambda ctx: valid(ctx, protocols=[b"x-wsconform-a"]),
        (R_SUBPROTOCOL_FROM_CLIENT, hs.RESPONSE_PROTOCOL),
        (hs.RESPONSE_PROTOCOL,),
        "no subprotocol other than the offered one",
    ),
    _answer(
        "single-subprotocol",
        "At most one subprotocol is selected",
        lambda ctx: valid(ctx, protocols=[b"chat", b"superchat", b"echo", b"x-wsconform-a"]),
        (hs.RESPONSE_SINGLE_PROTOCOL, R_SUBPROTOCOL_FROM_CLIENT),
        (hs.RESPONSE_SINGLE_PROTOCOL, hs.RESPONSE_PROTOCOL),
        "one subprotocol at most",
    ),
    _answer(
        "no-extension-unless-offered",
        "No Sec-WebSocket-Extensions in the 101 when none was offered",
        lambda ctx: valid(ctx),
        (R_EXTENSIONS_NOT_LISTED, hs.RESPONSE_EXTENSIONS),
        (hs.RESPONSE_EXTENSIONS,),
        "no extension the client did not offer",
    ),
    _answer(
        "no-unoffered-extension",
        "Only offered extensions are listed in the 101",
        lambda ctx: valid(ctx, extensions=[b"x-wsconform-unknown"]),
        (R_EXTENSIONS_NOT_LISTED, hs.RESPONSE_EXTENSIONS, *R_EXTENSIONS_FROM_CLIENT),
        (hs.RESPONSE_EXTENSIONS,),
        "no extension the client did not offer",
    ),
]

REFUSAL_CASES = [
    Case(
        id="rfc6455/9.1/malformed-extensions",
        title="A malformed Sec-WebSocket-Extensions offer is not accepted",
        requirements=(R_EXTENSIONS_MALFORMED, R_REFUSE_INVALID),
        level=Level.MUST,
        expect=expect(HttpRefusal(), TcpClose()),
        run=sending(lambda ctx: valid(ctx, extensions=[b"x-wsconform;;=, ,="]), check_101=False),
        notes="§4.2.1 asks for an HTTP error code on any ABNF violation; §9.1 says the "
        "recipient MUST _Fail the WebSocket Connection_ (close it). Both are accepted.",
    ),
    Case(
        id="rfc6455/4.2.2/foreign-origin",
        title="A refused foreign Origin gets an HTTP error code",
        requirements=(R_ORIGIN_REFUSE,),
        level=Level.MUST,
        expect=expect(HandshakeAccepted(), HttpRefusal()),
        run=sending(lambda ctx: valid(ctx, origin=b"http://wsconform.invalid")),
        notes="A server may accept any origin; if it refuses, it must answer with an HTTP "
        "error code such as 403, not drop the connection.",
    ),
    Case(
        id="rfc6455/10.2/foreign-origin-403",
        title="A refused foreign Origin gets 403 Forbidden",
        requirements=(R_ORIGIN_403,),
        level=Level.SHOULD,
        expect=expect(HandshakeAccepted(), HttpRefusal(frozenset({403}))),
        run=sending(lambda ctx: valid(ctx, origin=b"http://wsconform.invalid")),
        notes="§10.2: a server refusing an origin SHOULD answer 403; another error code "
        "is a WARN here (and passes the MUST of rfc6455/4.2.2/foreign-origin).",
    ),
    Case(
        id="rfc6455/4.2.2/unknown-resource",
        title="An unavailable resource name gets an HTTP error code",
        requirements=(R_RESOURCE_UNAVAILABLE,),
        level=Level.MUST,
        expect=expect(HandshakeAccepted(), HttpRefusal()),
        run=sending(
            lambda ctx: build_request(
                ctx.target.host_header, b"/wsconform-no-such-resource-7f3a?x=1"
            )
        ),
        notes="A server may serve every resource name; if it does not serve this one, it "
        "must answer with an HTTP error code such as 404.",
    ),
]

CASES: list[Case] = [*ACCEPT_CASES, *REFUSE_CASES, *ANSWER_CASES, *REFUSAL_CASES]
