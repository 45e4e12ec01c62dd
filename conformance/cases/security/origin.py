"""Origin checks: cross-site WebSocket hijacking (RFC 6455 §10.2, §4.2.2, §10.7).

A browser sends the page's origin with every WebSocket handshake, and ambient
credentials (cookies) with it; a server that does not check Origin lets any site's
script open a socket in its user's name. §10.2: servers "SHOULD verify the |Origin|
field is an origin they expect" and answer an unacceptable one with 403.

Each probe is one valid handshake (the stated credential included, so that only the
Origin differs) and is judged by what it got: a 4xx refusal passes; a 101 kept open is
WARN (§10.2 SHOULD), FAIL when the user stated the origins allowed (§4.2.2: a server
that "does not wish to accept this connection ... MUST return an appropriate HTTP error
code"). Without stated origins the look-alikes are built from the target's own origin
(as STEWS does, ``http://HOST``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from ...model import rules
from ...model.behaviours import HttpRefusal, expect
from ...model.observed import Observed
from ...model.security_origin import (
    CLIENT_ERRORS,
    FORBIDDEN,
    FOREIGN_ORIGIN,
    LOOKALIKES,
    NULL_ORIGIN,
    AnyOriginAccepted,
    Lookalike,
    NotUpgraded,
    Upgraded,
    UpgradedThenClosed,
    lookalike_origin,
    split_origin,
)
from ...model.verdict import Allowed, Level, Outcome
from ...policy.security import STATED, SecurityPolicy
from ...session.context import CannotRun, CaseContext
from ..base import Case, RunFn
from .access import (
    ACCEPT_SETTLE,
    ORIGIN,
    Header,
    credential_headers,
    handshake,
    probe_upgrade,
    upgrade,
)

THEME: Final = "origin"
COOKIE: Final = ("Cookie", "session=conformance")
"""An ambient credential a browser would attach to a cross-site handshake."""
COOKIE_NAME: Final = "cookie"

R_VERIFY: Final = "rfc6455-10.2-server-verify-origin"
R_OPTIONAL: Final = "rfc6455-4.2.1-origin-optional"
R_NOT_BROWSER: Final = "rfc6455-4.2.1-no-origin-not-browser"
ORIGIN_REQUIREMENTS: Final = (R_VERIFY, rules.BAD_ORIGIN_403, rules.ORIGIN_REJECT_403)

REFUSED_4XX: Final = HttpRefusal(CLIENT_ERRORS)
REFUSED_OTHERWISE: Final = (
    Allowed(
        NotUpgraded(),
        Outcome.INFO,
        "not accepted, though not refused with a 4xx: security/origin/refusal-status judges how",
    ),
    Allowed(
        UpgradedThenClosed(),
        Outcome.INFO,
        "closed at once after its 101: security/origin/refusal-status judges that",
    ),
)
"""Not an acceptance, so no hijacking: how it refused is the refusal-status check's."""

NOTE: Final = (
    "Passes on an HTTP 4xx refusal (403 is what §10.2 names). A 101 with the connection "
    f"still open {ACCEPT_SETTLE:g} s later is the upgrade accepted: WARN by §10.2 (SHOULD "
    "verify Origin), FAIL when you stated the origins allowed (§4.2.2 MUST refuse a "
    "connection it does not wish to accept). A 5xx, a drop or a 101 closed at once is INFO "
    "here (no socket stays open; security/origin/refusal-status reports it)."
)

OriginFn = Callable[[CaseContext], str | None]
"""The Origin a probe sends, built for the target (None: no Origin header)."""


async def _probe(
    ctx: CaseContext, policy: SecurityPolicy, origin: str | None, extra: Sequence[Header] = ()
) -> Observed:
    """One handshake with ``origin`` (None: none), the stated credential and ``extra``."""
    headers = [] if origin is None else [(ORIGIN, origin)]
    request = handshake(ctx, [*headers, *credential_headers(policy), *extra])
    observed = await upgrade(ctx, request)
    observed.notes.insert(0, "sent no Origin" if origin is None else f"sent Origin: {origin}")
    if origin is not None and policy.origin_allow and Upgraded().matches(observed):
        observed.notes.append(f"{STATED}: only {', '.join(policy.origin_allow)} may connect")
    return observed


def _sending(origin: OriginFn, policy: SecurityPolicy, extra: Sequence[Header] = ()) -> RunFn:
    """A case body: one probe carrying the Origin ``origin`` builds."""

    async def run(ctx: CaseContext) -> Observed:
        return await _probe(ctx, policy, origin(ctx), extra)

    return run


def _foreign_case(
    slug: str, title: str, origin: str, policy: SecurityPolicy, extra: str = ""
) -> Case:
    return Case(
        id=f"security/{THEME}/{slug}",
        title=title,
        requirements=ORIGIN_REQUIREMENTS,
        level=policy.level(bool(policy.origin_allow)),
        expect=expect(REFUSED_4XX),
        run=_sending(lambda ctx: origin, policy),
        allowed=REFUSED_OTHERWISE,
        notes=f"{NOTE} {extra}".strip(),
        profile="security",
    )


def _cookie_case(policy: SecurityPolicy) -> Case:
    """A foreign page's handshake with the user's cookie: the CSWSH precondition."""
    stated_cookie = policy.auth_header is not None and policy.auth_header[0].lower() == COOKIE_NAME
    extra = () if stated_cookie else (COOKIE,)  # the stated Cookie credential is ambient
    return Case(
        id=f"security/{THEME}/cookie-foreign",
        title="A foreign Origin carrying a cookie is refused",
        requirements=ORIGIN_REQUIREMENTS,
        level=policy.level(bool(policy.origin_allow)),
        expect=expect(REFUSED_4XX),
        run=_sending(lambda ctx: FOREIGN_ORIGIN, policy, extra),
        allowed=REFUSED_OTHERWISE,
        notes=f"{NOTE} The request carries {COOKIE[0]}: {COOKIE[1]} (or the stated "
        "Cookie credential): a browser attaches a site's cookies to a handshake any page "
        "starts, so accepting it is cross-site WebSocket hijacking.",
        profile="security",
    )


HOST_ONLY_LOOKALIKES: Final = frozenset({"scheme", "port"})
"""Look-alikes on the allowed host itself: without a stated policy, INFO (not WARN)."""
HOST_ONLY_NOTE: Final = (
    " The same host under another scheme or port is another origin (RFC 6454), but "
    "comparing the host alone is a common, deliberate choice (Tornado's default "
    "check_origin does): without --origin-allow the suite cannot tell it from a mistake, "
    "so it is INFO; with --origin-allow it is FAIL."
)


def _allowed_base(policy: SecurityPolicy) -> Callable[[CaseContext], str]:
    """The origin the look-alikes imitate: the first stated, else the target's own."""
    stated = policy.allowed_origin
    if stated is not None:
        return lambda ctx: stated
    return lambda ctx: ctx.target.origin.decode("ascii", "replace")


def _lookalike_case(kind: Lookalike, policy: SecurityPolicy) -> Case:
    base = _allowed_base(policy)

    async def run(ctx: CaseContext) -> Observed:
        value = lookalike_origin(kind.slug, base(ctx))
        if value is None:
            raise CannotRun(f"the allowed origin {base(ctx)!r} is not scheme://host[:port]")
        observed = await _probe(ctx, policy, value)
        if Upgraded().matches(observed) and not policy.origin_allow:
            foreign = handshake(ctx, [(ORIGIN, FOREIGN_ORIGIN), *credential_headers(policy)])
            observed.probe = await probe_upgrade(ctx, foreign)
            answer = "no answer" if observed.probe is None else observed.probe.describe()
            observed.notes.append(f"Origin: {FOREIGN_ORIGIN} got {answer}")
        return observed

    allowed: tuple[Allowed, ...] = REFUSED_OTHERWISE
    if not policy.origin_allow:
        allowed = (
            Allowed(
                AnyOriginAccepted(),
                Outcome.INFO,
                "no Origin check at all: security/origin/foreign reports it",
            ),
            *allowed,
        )
    imitated = policy.allowed_origin or "the target's own origin"
    unstated, host_only = Level.SHOULD, ""
    if kind.slug in HOST_ONLY_LOOKALIKES:
        unstated, host_only = Level.MAY, HOST_ONLY_NOTE
    return Case(
        id=f"security/{THEME}/lookalike-{kind.slug}",
        title=f"An Origin resembling {imitated} ({kind.title}) is refused",
        requirements=ORIGIN_REQUIREMENTS,
        level=policy.level(bool(policy.origin_allow), unstated),
        expect=expect(REFUSED_4XX),
        run=run,
        allowed=allowed,
        notes=f"{NOTE} Accepting it while refusing a plainly foreign Origin means the "
        f"check is bypassable ({kind.defeats}); without stated origins the look-alike "
        "imitates the target's own origin, and a server that accepts every Origin is INFO "
        f"here.{host_only}",
        profile="security",
    )


def _absent_case(policy: SecurityPolicy) -> Case:
    return Case(
        id=f"security/{THEME}/absent",
        title="A handshake without Origin: what the server does",
        requirements=(R_OPTIONAL, R_NOT_BROWSER),
        level=Level.MAY,
        expect=expect(REFUSED_4XX),
        run=_sending(lambda ctx: None, policy),
        allowed=(
            Allowed(
                Upgraded(),
                Outcome.INFO,
                "accepted without Origin: §4.1 item 7, such a request is not from a browser "
                "(no cross-site page can send it), so Origin cannot guard it; a credential must",
            ),
        ),
        notes="Reported, never judged: Origin is optional (§4.2.1 item 7) and a request "
        "without it 'SHOULD NOT be interpreted as coming from a browser client'. A 4xx "
        "refusal (the stricter choice) passes; anything else is INFO.",
        profile="security",
    )


def _refusal_status_case(policy: SecurityPolicy) -> Case:
    return Case(
        id=f"security/{THEME}/refusal-status",
        title="A refused Origin gets an HTTP error status before any 101",
        requirements=(
            rules.HANDSHAKE_ERROR_STATUS,
            rules.BAD_ORIGIN_403,
            rules.ORIGIN_REJECT_403,
            rules.MAY_DROP_TCP,
        ),
        level=Level.SHOULD,
        expect=expect(HttpRefusal(frozenset({FORBIDDEN}))),
        run=_sending(lambda ctx: FOREIGN_ORIGIN, policy),
        allowed=(
            Allowed(
                REFUSED_4XX,
                Outcome.INFO,
                "refused with a 4xx other than the 403 §10.2 names",
            ),
            Allowed(
                Upgraded(),
                Outcome.INFO,
                "accepted outright: security/origin/foreign reports it",
            ),
        ),
        notes="§10.7: during the handshake the server 'SHOULD return an appropriate HTTP "
        "status code'; §10.2 names 403. A 101 followed by a Close opens the socket (a page's "
        "script sees open and may send before the close), a 5xx blames the server, a drop "
        "says nothing: each is WARN. 403 passes, another 4xx is INFO; a server that "
        f"accepts the foreign Origin ({FOREIGN_ORIGIN}) is INFO here.",
        profile="security",
    )


def cases(policy: SecurityPolicy) -> tuple[Case, ...]:
    """The Origin checks for ``policy`` (look-alikes of its first allowed origin, or of
    the target's own when none is stated; none for a stated origin that is no
    ``scheme://host[:port]``)."""
    stated = policy.allowed_origin
    buildable = stated is None or split_origin(stated) is not None
    lookalikes = [_lookalike_case(kind, policy) for kind in LOOKALIKES] if buildable else []
    return (
        _foreign_case(
            "foreign", f"A foreign Origin ({FOREIGN_ORIGIN}) is refused", FOREIGN_ORIGIN, policy
        ),
        _foreign_case(
            "null",
            "Origin: null is refused",
            NULL_ORIGIN,
            policy,
            "Browsers send 'null' from sandboxed frames and file: pages, which any site "
            "can create.",
        ),
        *lookalikes,
        _absent_case(policy),
        _refusal_status_case(policy),
        _cookie_case(policy),
    )
