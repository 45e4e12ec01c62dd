"""An opening handshake with an access policy in front (RFC 6455 §10.2, §10.5, §4.2.2):
an Origin allow-list matched exactly, and a header credential required on every path.

§10.2: servers "SHOULD verify the |Origin| field is an origin they expect" and refuse
an unacceptable one with 403; §10.5: a server may authenticate the handshake with "any
client authentication mechanism available to a generic HTTP server"; §4.2.2 step 2: by
"returning a 401 status code with the corresponding |WWW-Authenticate| header field".
Refusals are terse: they name neither the origins allowed nor the credential expected.

:mod:`conformance.hardening` serves it; :mod:`fixtures.security_faults_origin` overrides
one hook to weaken it (a prefix match, a credential checked on one path only, ...).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from .header_grammar import ascii_lower
from .server_handshake import (
    DEFAULT_SUBPROTOCOLS,
    ORIGIN,
    Check,
    ReceivedRequest,
    Refusal,
    ServerBehaviour,
)

FORBIDDEN: Final = 403
UNAUTHORIZED: Final = 401
AUTHORIZATION: Final = "Authorization"
WWW_AUTHENTICATE: Final = "WWW-Authenticate"
ORIGIN_REFUSED: Final = "origin not allowed"
CREDENTIAL_REFUSED: Final = "authentication required"


def request_path(request: ReceivedRequest) -> str:
    """The path of the request target (origin-form or absolute), without the query."""
    return urlsplit(request.target).path or "/"


class AccessPolicy(ServerBehaviour):
    """The §4.2.1 rules, then: the Origin, if sent, is one of ``origins`` (compared whole,
    ASCII case-insensitively; none given: any origin); ``credential`` (name, value), if
    given, is sent once with exactly that value, whatever the path.

    A request without Origin is not from a browser (§4.1 item 7, §4.2.1), so Origin
    cannot protect it: it is let through to the credential check.
    """

    def __init__(
        self,
        origins: Sequence[str] = (),
        credential: tuple[str, str] | None = None,
        subprotocols: Sequence[str] = DEFAULT_SUBPROTOCOLS,
    ) -> None:
        super().__init__(subprotocols)
        self.origins = tuple(ascii_lower(origin.strip()) for origin in origins)
        self.credential = credential

    def checks(self) -> tuple[Check, ...]:
        """The §4.2.1 rules (Origin among them), then the credential."""
        return (*super().checks(), self.check_credential)

    # -- Origin (§10.2) -----------------------------------------------------------

    def origin_allowed(self, origin: str) -> bool:
        """Whether ``origin`` is on the allow-list: the whole serialisation, exactly."""
        return ascii_lower(origin.strip()) in self.origins

    def check_origin(self, request: ReceivedRequest) -> Refusal | None:
        """§10.2: an Origin not on the allow-list (or sent twice) gets 403."""
        values = request.values(ORIGIN)
        if not self.origins or not values:
            return None
        if len(values) == 1 and self.origin_allowed(values[0]):
            return None
        return Refusal(FORBIDDEN, ORIGIN_REFUSED)

    # -- Credential (§10.5, §4.2.2 step 2) -------------------------------------------

    def credential_required(self, request: ReceivedRequest) -> bool:
        """Whether ``request`` must carry the credential: on every path."""
        return self.credential is not None

    def credential_given(self, request: ReceivedRequest) -> bool:
        """The credential header is sent once, with the expected value (constant time)."""
        if self.credential is None:
            return True
        name, expected = self.credential
        values = request.values(name)
        return len(values) == 1 and hmac.compare_digest(
            values[0].strip().encode("latin-1"), expected.encode("latin-1")
        )

    def check_credential(self, request: ReceivedRequest) -> Refusal | None:
        """A missing or wrong credential: 401 with a challenge for ``Authorization``
        (RFC 9110 §11.6.1), else 403."""
        if self.credential is None or not self.credential_required(request):
            return None
        if self.credential_given(request):
            return None
        name, value = self.credential
        if ascii_lower(name) != ascii_lower(AUTHORIZATION):
            return Refusal(FORBIDDEN, CREDENTIAL_REFUSED)
        scheme = value.split(maxsplit=1)[0] if value.split() else "Bearer"
        return Refusal(UNAUTHORIZED, CREDENTIAL_REFUSED, ((WWW_AUTHENTICATE, scheme),))
