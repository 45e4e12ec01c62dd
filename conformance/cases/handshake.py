"""RFC 6455 §4: the server side of the opening handshake.

Three groups, each case one requirement sentence:

* requests a server MUST accept (§4.1, §4.2.1 items 1–10): token lists, case,
  header order, unknown headers, Origin, subprotocol and extension offers;
* requests it MUST NOT accept (§4.2.1 lead-in, §4.2.2 /version/, §4.4): each breaks
  exactly one item of the §4.2.1 list and must get an HTTP error response;
* the 101 answer itself (§4.2.2 step 5, checked as a client would in §4.1).

Every expectation and allowance comes from :mod:`conformance.policy.handshake` (see
docs/verdict-policy.md): a drop instead of an error response is WARN (§10.7), a valid
request relying on an optional feature may be refused (INFO), and the grammar of the
key, version, subprotocol and extension fields is judged as that module says.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable

from ..driver import DeadlineExceeded, Unreachable
from ..model import handshake as hs
from ..model import rules
from ..model.behaviours import AcceptedWithout, Expectation, HandshakeAccepted, HttpRefusal, expect
from ..model.handshake import HandshakeRequest, ResponseReader, build_request
from ..model.observed import HttpResponse, Observed
from ..model.verdict import Level
from ..policy import handshake as policy
from ..policy.handshake import (
    ACCEPTED,
    ACCEPTED_OR_REFUSED,
    DROPPED_WARN,
    ORIGIN_MAY_REFUSE,
    REFUSED,
    VARIANT_REFUSALS,
)
from ..session.answers import courtesy_close, read_response
from ..session.context import CaseContext
from .base import Allowed, Case, RunFn

# Requirement ids only this module cites (records in spec_refs/rfc6455.toml); the ids
# that several case tables cite are named once in conformance/model/rules.py.
R_REFUSE_INVALID = "rfc6455-4.2.1-bad-handshake-400"  # §4.2.1 lead-in: MUST ... error code
R_GET_11 = "rfc6455-4.2.1-get-http-1-1"
R_HOST = "rfc6455-4.2.1-host-header"
R_UPGRADE = "rfc6455-4.2.1-upgrade-websocket"
R_CONNECTION = "rfc6455-4.2.1-connection-upgrade"
R_KEY = "rfc6455-4.2.1-key-16-bytes"
R_KEY_NOT_DECODED = "rfc6455-4.2.2-key-not-decoded"  # definition: no decoding needed
R_VERSION = "rfc6455-4.2.1-version-13"
R_ORIGIN_OPTIONAL = "rfc6455-4.2.1-origin-optional"
R_PROTOCOL_OFFER = "rfc6455-4.2.1-protocol-optional"
R_EXTENSIONS_OFFER = "rfc6455-4.2.1-extensions-optional"
R_UNKNOWN_HEADERS = "rfc6455-4.2.1-unknown-headers-ignored"
R_RESOURCE_UNAVAILABLE = "rfc6455-4.2.2-unknown-resource-404"
R_SUBPROTOCOL_NULL = "rfc6455-4.2.2-no-subprotocol-no-header"
R_SUBPROTOCOL_FROM_CLIENT = "rfc6455-4.2.2-subprotocol-from-client"
R_EXTENSIONS_NOT_LISTED = "rfc6455-4.2.2-no-unlisted-extensions"
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
R_EXTENSIONS_FROM_CLIENT = (
    "rfc6455-4.2.2-extensions-from-client",
    "rfc6455-9-no-unrequested-extension",
)


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
    reader = ResponseReader()
    # Read while writing: a server may answer (a 505, say) and close while a chopped
    # request is still being written; read after the failed write, its answer is lost.
    sending = asyncio.create_task(conn.send(request.to_bytes(), chunk=chunk))
    try:
        observed.timed_out = await read_response(conn, reader)
    finally:
        if not sending.done():
            sending.cancel()  # it answered: the rest of the request does not matter
        with contextlib.suppress(asyncio.CancelledError, DeadlineExceeded):
            await sending
    observed.response = reader.response
    observed.response_error = reader.error
    observed.violations.extend(hs.check_response_head(reader))
    if reader.response is not None and reader.response.status == 101:
        if check_101:
            observed.violations.extend(hs.check_accept(request, reader.response))
        await conn.send(courtesy_close())
    observed.transport = conn.end
    return observed


async def probe(ctx: CaseContext, request: HandshakeRequest) -> HttpResponse | None:
    """The answer to ``request`` on a second connection (None: no HTTP response)."""
    try:
        return (await exchange(ctx, request, check_101=False)).response
    except Unreachable:
        return None


RequestFn = Callable[[CaseContext], HandshakeRequest]


def sending(make: RequestFn, chunk: int | None = None, *, check_101: bool = True) -> RunFn:
    """A case body that sends the request ``make`` builds for the target."""

    async def run(ctx: CaseContext) -> Observed:
        return await exchange(ctx, make(ctx), chunk=chunk, check_101=check_101)

    return run


def declinable(make: RequestFn, chunk: int | None = None) -> RunFn:
    """A case body for a valid request the server may refuse (policy: valid variants):
    after a refusal, a plain valid handshake shows whether it was the server's choice."""

    async def run(ctx: CaseContext) -> Observed:
        observed = await exchange(ctx, make(ctx), chunk=chunk)
        if any(allowed.behaviour.matches(observed) for allowed in VARIANT_REFUSALS):
            observed.probe = await probe(ctx, valid(ctx))
            observed.notes.append(policy.plain_probe_text(observed.probe))
        return observed

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
    declined: bool = False,
) -> Case:
    """A valid request; ``declined``: the server may refuse it (policy: valid variants),
    else it must accept it unless ``allowed`` says otherwise."""
    if declined:
        notes = f"{policy.VARIANT_NOTE} {notes}".strip()
    elif not allowed:
        notes = f"{policy.MUST_PARSE_NOTE} {notes}".strip()
    return Case(
        id=f"rfc6455/4.2.1/{slug}",
        title=title,
        requirements=(*reqs, rules.ORIGIN_REJECT_403, rules.MAY_DROP_TCP) if declined else reqs,
        level=Level.MUST,
        expect=ACCEPTED,
        run=declinable(make, chunk) if declined else sending(make, chunk),
        allowed=VARIANT_REFUSALS if declined else allowed,
        notes=notes,
    )


ORIGIN_CHOICE = (ORIGIN_MAY_REFUSE, DROPPED_WARN)
"""Refusing for the Origin: an HTTP error is the server's choice, a drop WARN (§10.7)."""

ACCEPT_CASES = [
    _must_accept(
        "valid-handshake",
        "A valid opening handshake is accepted with 101",
        lambda ctx: valid(ctx, origin=ctx.target.origin),
        (R_GET_11, R_ACCEPT_STEPS, rules.RESPONSE_VALID_HTTP),
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
        declined=True,
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
        notes="'An |Upgrade| header field containing the value \"websocket\"' reads either "
        "as a list containing it or as the exact value.",
        declined=True,
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
        (R_ORIGIN_OPTIONAL, rules.ORIGIN_REJECT_403),
        allowed=ORIGIN_CHOICE,
        notes=policy.CHOICE_NOTE,
    ),
    _must_accept(
        "same-origin",
        "A handshake with a same-origin Origin is accepted",
        lambda ctx: valid(ctx, origin=ctx.target.origin),
        (R_ORIGIN_OPTIONAL, rules.ORIGIN_REJECT_403),
        allowed=ORIGIN_CHOICE,
        notes=policy.CHOICE_NOTE,
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
        notes="§4.2.2 /subprotocol/ lets the server agree to none (null).",
        declined=True,
    ),
    _must_accept(
        "subprotocol-two-lines",
        "Subprotocols offered on two header lines are accepted",
        lambda ctx: valid(ctx, protocols=[b"chat"]).with_header(
            b"Sec-WebSocket-Protocol", b"superchat"
        ),
        (R_PROTOCOL_OFFER,),
        notes="RFC 9110 §5.3: the two lines combine into one list.",
        declined=True,
    ),
    _must_accept(
        "extension-offer-unknown",
        "An offer of an unknown extension is accepted",
        lambda ctx: valid(ctx, extensions=[b"x-wsconform-unknown; param=1"]),
        (R_EXTENSIONS_OFFER,),
        notes="The token is not registered (§9.1: 'Any extension-token used MUST be a "
        "registered token'), and §4.2.2 /extensions/ lets the server use none.",
        declined=True,
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
    expectation: Expectation = REFUSED,
    allowed: tuple[Allowed, ...] = (),
    notes: str = policy.REFUSAL_NOTE,
    check_101: bool = False,
) -> Case:
    """An invalid request (policy: handshake refusal): an HTTP error passes, a drop is
    WARN, a plain HTTP answer to a non-upgrade request INFO; ``allowed`` adds the
    alternatives of the field's grammar policy."""
    common = (rules.VALIDATE_INPUT, rules.HANDSHAKE_ERROR_STATUS, rules.MAY_DROP_TCP)
    return Case(
        id=f"rfc6455/{section}/{slug}",
        title=title,
        requirements=(*reqs, R_REFUSE_INVALID, *common) if section == "4.2.1" else (*reqs, *common),
        level=Level.MUST,
        expect=expectation,
        run=sending(make, check_101=check_101),
        allowed=(*policy.refusal_allowances(plain_http=plain_http), *allowed),
        notes=policy.NON_UPGRADE_NOTE if plain_http else notes,
    )


def _key_format(slug: str, title: str, make: RequestFn) -> Case:
    """A key a server finds wrong only by decoding it (policy: key format)."""
    return _must_refuse(
        slug,
        title,
        make,
        (R_KEY, R_KEY_NOT_DECODED),
        allowed=(policy.KEY_NOT_DECODED,),
        notes=policy.KEY_FORMAT_NOTE,
    )


def _version(slug: str, title: str, version: bytes, *, grammar: bool = False) -> Case:
    """An unsupported version (§4.2.2 /version/, §4.4), or one that breaks the grammar
    (policy: version): then any HTTP error code passes."""
    return _must_refuse(
        slug,
        title,
        lambda ctx: valid(ctx).replacing(b"Sec-WebSocket-Version", version),
        (rules.VERSION_MISMATCH_426, rules.VERSION_HEADER_ON_REFUSAL),
        section="4.2.2",
        expectation=REFUSED if grammar else policy.VERSION_ADVERTISED,
        notes=policy.VERSION_GRAMMAR_NOTE if grammar else policy.REFUSAL_NOTE,
    )


REFUSE_CASES = [
    _must_refuse(
        "missing-key",
        "A handshake without Sec-WebSocket-Key is refused",
        lambda ctx: valid(ctx).without(b"Sec-WebSocket-Key"),
        (R_KEY,),
        notes=policy.KEY_PRESENCE_NOTE,
    ),
    _must_refuse(
        "duplicate-key",
        "A handshake with two Sec-WebSocket-Key fields is refused",
        lambda ctx: valid(ctx).with_header(b"Sec-WebSocket-Key", hs.new_key()),
        (R_KEY, R_KEY_ONCE),
        notes=policy.KEY_PRESENCE_NOTE,
    ),
    _key_format(
        "key-not-base64",
        "A Sec-WebSocket-Key that is not base64 is refused",
        lambda ctx: valid(ctx, key=b"!!!!not-base64-at-all!!!"),
    ),
    _key_format(
        "key-15-bytes",
        "A Sec-WebSocket-Key decoding to 15 bytes is refused",
        lambda ctx: valid(ctx, key=_b64(15)),
    ),
    _key_format(
        "key-17-bytes",
        "A Sec-WebSocket-Key decoding to 17 bytes is refused",
        lambda ctx: valid(ctx, key=_b64(17)),
    ),
    _must_refuse(
        "key-empty",
        "An empty Sec-WebSocket-Key is refused",
        lambda ctx: valid(ctx, key=b""),
        (R_KEY,),
        notes=policy.KEY_PRESENCE_NOTE,
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
        (R_PROTOCOL_TOKENS, R_PROTOCOL_OFFER, R_SUBPROTOCOL_NULL, R_SUBPROTOCOL_FROM_CLIENT),
        expectation=policy.SUBPROTOCOL_GRAMMAR,
        notes=policy.SUBPROTOCOL_GRAMMAR_NOTE,
        check_101=True,
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
    _version(
        "version-9", "Sec-WebSocket-Version: 9 (never used) gets an error with the versions", b"9"
    ),
    _version("version-14", "Sec-WebSocket-Version: 14 gets an error with the versions", b"14"),
    _version(
        "version-not-a-number",
        "A non-numeric Sec-WebSocket-Version gets an HTTP error code",
        b"thirteen",
        grammar=True,
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
    *,
    declined: bool = False,
) -> Case:
    """The 101's ``rule``; ``declined``: the request offers an optional feature, so the
    server may refuse it (policy: valid variants), and the rule is then not observed."""
    return Case(
        id=f"rfc6455/4.2.2/{slug}",
        title=title,
        requirements=reqs,
        level=Level.MUST,
        expect=expect(AcceptedWithout(frozenset(checks), rule)),
        run=declinable(make) if declined else sending(make),
        allowed=VARIANT_REFUSALS if declined else (),
        notes=policy.VARIANT_NOTE if declined else "",
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
        declined=True,
    ),
    _answer(
        "single-subprotocol",
        "At most one subprotocol is selected",
        lambda ctx: valid(ctx, protocols=[b"chat", b"superchat", b"echo", b"x-wsconform-a"]),
        (hs.RESPONSE_SINGLE_PROTOCOL, R_SUBPROTOCOL_FROM_CLIENT),
        (hs.RESPONSE_SINGLE_PROTOCOL, hs.RESPONSE_PROTOCOL),
        "one subprotocol at most",
        declined=True,
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
        declined=True,
    ),
]

MALFORMED_EXTENSIONS = b"x-wsconform;;=, ,="


async def _malformed_extensions(ctx: CaseContext) -> Observed:
    """§9.1 (policy: extension grammar): offer a malformed list; after a 101, learn from
    a second, valid offer whether the server negotiates extensions at all."""
    observed = await exchange(ctx, valid(ctx, extensions=[MALFORMED_EXTENSIONS]), check_101=False)
    if observed.response is not None and observed.response.status == policy.SWITCHING:
        observed.probe = await probe(ctx, valid(ctx, extensions=[policy.EXTENSION_PROBE_OFFER]))
        observed.notes.append(policy.extension_probe_text(observed.probe))
    return observed


REFUSAL_CASES = [
    Case(
        id="rfc6455/9.1/malformed-extensions",
        title="A malformed Sec-WebSocket-Extensions offer is not accepted",
        requirements=(R_EXTENSIONS_MALFORMED, R_REFUSE_INVALID, rules.MAY_DROP_TCP),
        level=Level.MUST,
        expect=REFUSED,
        run=_malformed_extensions,
        allowed=(DROPPED_WARN, policy.NO_EXTENSION_SUPPORT),
        notes=policy.EXTENSION_GRAMMAR_NOTE,
    ),
    Case(
        id="rfc6455/4.2.2/foreign-origin",
        title="A refused foreign Origin gets an HTTP error code",
        requirements=(rules.ORIGIN_REJECT_403, rules.MAY_DROP_TCP),
        level=Level.MUST,
        expect=ACCEPTED_OR_REFUSED,
        run=sending(lambda ctx: valid(ctx, origin=b"http://wsconform.invalid")),
        allowed=(DROPPED_WARN,),
        notes=policy.CHOICE_NOTE,
    ),
    Case(
        id="rfc6455/10.2/foreign-origin-403",
        title="A refused foreign Origin gets 403 Forbidden",
        requirements=(rules.BAD_ORIGIN_403,),
        level=Level.SHOULD,
        expect=expect(HandshakeAccepted(), HttpRefusal(frozenset({403}))),
        run=sending(lambda ctx: valid(ctx, origin=b"http://wsconform.invalid")),
        notes="§10.2: a server refusing an origin SHOULD answer 403; another error code "
        "is a WARN here (and passes the MUST of rfc6455/4.2.2/foreign-origin).",
    ),
    Case(
        id="rfc6455/4.2.2/unknown-resource",
        title="An unavailable resource name gets an HTTP error code",
        requirements=(R_RESOURCE_UNAVAILABLE, rules.MAY_DROP_TCP),
        level=Level.MUST,
        expect=ACCEPTED_OR_REFUSED,
        run=sending(
            lambda ctx: build_request(
                ctx.target.host_header, b"/wsconform-no-such-resource-7f3a?x=1"
            )
        ),
        allowed=(DROPPED_WARN,),
        notes=policy.CHOICE_NOTE,
    ),
]

CASES: list[Case] = [*ACCEPT_CASES, *REFUSE_CASES, *ANSWER_CASES, *REFUSAL_CASES]
