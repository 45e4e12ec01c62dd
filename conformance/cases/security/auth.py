"""Authentication of the upgrade (RFC 6455 §10.5, §4.2.2), built only when the user
stated a credential (``--auth-header 'Name: value'``).

§10.5: the server "can use any client authentication mechanism available to a generic
HTTP server"; §4.2.2 step 2: for example "by returning a 401 status code"; and a server
that "does not wish to accept this connection ... MUST return an appropriate HTTP error
code". Under a stated credential every check is Level.MUST: the upgrade without it,
with a wrong value, or without it on another path must be refused with a 4xx (401 or
403 expected); a 101 is FAIL, even one closed at once (the connection was accepted).
With the credential the upgrade must succeed, which shows the refusals are about it.
Every probe carries the first allowed origin when origins are stated, so that only the
credential differs.
"""

from __future__ import annotations

from typing import Final

from ...model import rules
from ...model.behaviours import HttpRefusal, expect
from ...model.observed import Observed
from ...model.security_origin import CLIENT_ERRORS, NotUpgraded, Upgraded
from ...model.verdict import Allowed, Level, Outcome
from ...policy.security import STATED, SecurityPolicy
from ...session.context import CaseContext
from ..base import Case, RunFn
from .access import Header, handshake, origin_headers, policy_headers, upgrade

THEME: Final = "auth"
OTHER_PATH: Final = b"/other"
"""The second path probed when the target's resource is ``/``."""
OTHER_SUFFIX: Final = b"x"
"""Appended to the target's path otherwise (``/chat`` → ``/chatx``)."""
WRONG_CHARS: Final = ("x", "y")

R_AUTHENTICATE: Final = "rfc6455-4.2.2-may-authenticate-401"
R_MECHANISM: Final = "rfc6455-10.5-any-http-authentication"
AUTH_REQUIREMENTS: Final = (R_AUTHENTICATE, rules.ORIGIN_REJECT_403, R_MECHANISM)

REFUSED_4XX: Final = HttpRefusal(CLIENT_ERRORS)
REFUSED_WITHOUT_STATUS: Final = Allowed(
    NotUpgraded(),
    Outcome.WARN,
    "not accepted, but refused without a 4xx status (a 5xx or a drop): §10.7 SHOULD "
    "return an appropriate HTTP status code",
)
REFUSAL_NOTE: Final = (
    "Passes on an HTTP 4xx refusal (401 with WWW-Authenticate or 403 expected). A 101 is "
    "FAIL under the credential you stated, even when the server closes it at once (the "
    "connection was accepted before any check); a 5xx or a drop is WARN (§10.7)."
)


def wrong_value(value: str) -> str:
    """``value`` with its last character changed: same length, so only a comparison of
    the whole value refuses it (a prefix or length check does not)."""
    last = WRONG_CHARS[1] if value.endswith(WRONG_CHARS[0]) else WRONG_CHARS[0]
    return value[:-1] + last


def other_resource(resource: bytes) -> bytes:
    """A second path on the same server: ``/other`` beside ``/``, else the path + ``x``."""
    path = resource.split(b"?", 1)[0]
    return OTHER_PATH if path in (b"", b"/") else path + OTHER_SUFFIX


def _sending(headers: list[Header], policy: SecurityPolicy, *, other_path: bool = False) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        resource = other_resource(ctx.target.resource) if other_path else None
        observed = await upgrade(ctx, handshake(ctx, headers, resource))
        if resource is not None:
            observed.notes.insert(0, f"sent to {resource.decode('latin-1')}")
        if policy.auth_header is not None:
            observed.notes.append(f"{STATED}: {policy.auth_header[0]} is required")
        return observed

    return run


def _refusal_case(slug: str, title: str, run: RunFn, notes: str = "") -> Case:
    return Case(
        id=f"security/{THEME}/{slug}",
        title=title,
        requirements=AUTH_REQUIREMENTS,
        level=Level.MUST,
        expect=expect(REFUSED_4XX),
        run=run,
        allowed=(REFUSED_WITHOUT_STATUS,),
        notes=f"{REFUSAL_NOTE} {notes}".strip(),
        profile="security",
    )


def cases(policy: SecurityPolicy) -> tuple[Case, ...]:
    """The credential checks; none when no credential is stated."""
    if policy.auth_header is None:
        return ()
    name, value = policy.auth_header
    origin = origin_headers(policy)
    return (
        _refusal_case(
            "missing",
            f"An upgrade without the {name} credential is refused",
            _sending(origin, policy),
        ),
        _refusal_case(
            "wrong",
            f"An upgrade with a wrong {name} value is refused",
            _sending([*origin, (name, wrong_value(value))], policy),
            "The wrong value has the right length and differs in its last character.",
        ),
        _refusal_case(
            "other-path",
            f"An upgrade without the {name} credential on another path is refused",
            _sending(origin, policy, other_path=True),
            "The path is /other beside /, else the target's path with an x appended; a "
            "404 for a path the server does not serve passes too.",
        ),
        Case(
            id=f"security/{THEME}/accepted",
            title=f"An upgrade with the {name} credential is accepted",
            requirements=AUTH_REQUIREMENTS,
            level=Level.MUST,
            expect=expect(Upgraded()),
            run=_sending(policy_headers(policy), policy),
            notes="With the credential you stated (and the first allowed origin, if "
            "stated) the upgrade must get a 101 that stays open: otherwise the refusals "
            "above prove nothing about the credential.",
            profile="security",
        ),
    )
