"""Failing the connection and close codes sent and received (RFC 6455 §5.5.1, §7.1.7,
§7.4): the executable form of docs/verdict-policy.md, "Failing the connection" and
"Close codes sent and received".

Codes, as a Close frame from the server carries them:

* may be sent (:data:`SENDABLE`): 1000-1003, 1007-1014 (§7.4.1, 1012-1014 registered
  later, §11.7) and 3000-4999 (§7.4.2);
* reserved but no sentence forbids sending them (:data:`RESERVED_NOT_FORBIDDEN`):
  1004 ("Reserved. The specific meaning might be defined in the future", §7.4.1) and
  1016-2999 ("reserved for definition by this protocol", §7.4.2). A server echoing or
  sending one breaks no MUST NOT, but uses a code with no meaning yet: WARN;
* forbidden to send (:data:`FORBIDDEN`): 1005, 1006, 1015 ("MUST NOT be set as a status
  code in a Close control frame by an endpoint", §7.4.1), 0-999 ("not used", §7.4.2) and
  5000 and above (no status code "defined in Section 7.4", §5.5.1): FAIL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Final

from ..model import rules
from ..model.behaviours import ClosingHandshake, FailedConnection
from ..model.constants import is_valid_close_code
from ..model.observed import Observed
from ..model.verdict import Allowed, Outcome

MAX_CODE: Final = 0xFFFF
"""The largest value a 2-byte status code can carry (§5.5.1)."""

SENDABLE: Final = frozenset(code for code in range(MAX_CODE + 1) if is_valid_close_code(code))
"""Codes an endpoint may send (§7.4.1, §7.4.2): 1000-1003, 1007-1014, 3000-4999."""

RESERVED_NOT_FORBIDDEN: Final = frozenset({1004, *range(1016, 3000)})
"""§7.4.1 1004 "Reserved", §7.4.2 1000-2999 "reserved for definition by this protocol":
no meaning yet, but no MUST NOT either."""

FORBIDDEN: Final = frozenset(range(MAX_CODE + 1)) - SENDABLE - RESERVED_NOT_FORBIDDEN
"""1005, 1006, 1015 (§7.4.1 MUST NOT), 0-999 (§7.4.2 "not used"), 5000-65535 (§5.5.1:
not "defined in Section 7.4")."""

RESERVED_CODE_RULES: Final = frozenset(
    {rules.CLOSE_CODE_1004_RESERVED, rules.CLOSE_CODE_PROTOCOL_RANGE}
)
"""The decoder's rules for a reserved-but-not-forbidden code in the server's Close."""

PROTOCOL_ERROR: Final = frozenset({1002})
"""§7.4.1: "1002 indicates that an endpoint is terminating the connection due to a
protocol error" -- the appropriate code for a malformed frame (§7.1.7, §10.7)."""

INVALID_DATA: Final = frozenset({1002, 1007})
"""Invalid UTF-8 in a Close reason: 1007 names invalid UTF-8 "within a message" and
1002 a malformed frame; the text does not settle which fits a Close (§7.4.1)."""


def forbidden_to_send(code: int) -> bool:
    """Whether no endpoint may put ``code`` in a Close frame (§5.5.1, §7.4.1, §7.4.2)."""
    return code in FORBIDDEN


def codes_text(codes: frozenset[int]) -> str:
    """``1002`` or ``1002/1007``, for reports."""
    return "/".join(str(code) for code in sorted(codes))


def reserved_code_weighed(observed: Observed) -> Observed | None:
    """``observed`` with the violations of its reserved close code weighed (removed),
    when the server's Close carried a reserved code no sentence forbids (1004,
    1016-2999); None for any other Close, or none. Every other broken rule stays."""
    close = observed.close
    if close is None or close.code not in RESERVED_NOT_FORBIDDEN:
        return None
    rest = [v for v in observed.violations if v.requirement not in RESERVED_CODE_RULES]
    return replace(observed, violations=rest)


@dataclass(frozen=True, slots=True)
class ReservedCodeClose:
    """The closing handshake ``closing`` describes (any code), except that the server's
    Close carried a reserved code no sentence forbids (1004, 1016-2999): its
    violations of those rules are weighed here, every other rule still counts."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    closing: ClosingHandshake = field(default_factory=ClosingHandshake)

    def describe(self) -> str:
        return "a Close frame with a reserved code (1004, 1016-2999), then the TCP close"

    def matches(self, observed: Observed) -> bool:
        weighed = reserved_code_weighed(observed)
        return weighed is not None and replace(self.closing, codes=None).matches(weighed)


RESERVED_CODE_WHY: Final = (
    "a Close with a code §7.4 reserves (1004 'Reserved', 1016-2999 'reserved for "
    "definition by this protocol'): no sentence forbids sending it, only 1005, 1006 and "
    "1015 are 'MUST NOT be set' (§7.4.1), but the code has no meaning yet"
)


def reserved_code_allowed(closing: ClosingHandshake | None = None) -> Allowed:
    """WARN for a closing handshake like ``closing`` with a reserved-not-forbidden code."""
    behaviour = ReservedCodeClose(closing) if closing is not None else ReservedCodeClose()
    return Allowed(behaviour, Outcome.WARN, RESERVED_CODE_WHY)


RESERVED_CODE_ALLOWED: Final = reserved_code_allowed()


def other_code_allowed(codes: frozenset[int]) -> Allowed:
    """§7.1.7, §10.7: a failure with a valid code other than ``codes`` (or none) only
    misses the SHOULD of an appropriate status code: WARN."""
    return Allowed(
        ClosingHandshake(SENDABLE - codes, no_code=True),
        Outcome.WARN,
        f"closed, but with a code other than {codes_text(codes)} (§7.1.7, §10.7: SHOULD "
        "send a Close frame with an appropriate status code)",
    )


@dataclass(frozen=True, slots=True)
class FailedWithReservedCode:
    """_Fail the WebSocket Connection_ as ``failed`` says, with a Close carrying a
    reserved code no sentence forbids (1004, 1016-2999): those code rules are weighed
    here (WARN, :data:`RESERVED_CODE_WHY`), every other broken rule still counts."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    failed: FailedConnection

    def describe(self) -> str:
        return "the connection failed with a Close carrying a reserved code (1004, 1016-2999)"

    def matches(self, observed: Observed) -> bool:
        weighed = reserved_code_weighed(observed)
        if weighed is None or weighed.violations:
            return False
        return replace(self.failed, codes=None).matches(weighed)


FAILED_OTHER_CODE_WHY: Final = (
    "closed, but with a code other than {codes} (§7.1.7: SHOULD send a Close frame with "
    "an appropriate status code)"
)


def failure_allowances(
    codes: frozenset[int],
    echoes: tuple[tuple[int, bytes], ...] = (),
    *,
    reply_counts: bool = False,
) -> tuple[Allowed, ...]:
    """The failing-the-connection policy (§7.1.7) beside its PASS set ``codes``: a
    failure with another valid code, or none, is WARN; with a reserved code WARN too
    (:data:`RESERVED_CODE_WHY`); with a forbidden code FAIL (the decoder's violation)."""
    failed = FailedConnection(None, echoes, reply_counts=reply_counts)
    return (
        Allowed(failed, Outcome.WARN, FAILED_OTHER_CODE_WHY.format(codes=codes_text(codes))),
        Allowed(FailedWithReservedCode(failed), Outcome.WARN, RESERVED_CODE_WHY),
    )


# -- notes ---------------------------------------------------------------------------

REFUSED_CLOSE_NOTE: Final = (
    "RFC 6455 has no sentence saying 'fail the connection' for a malformed Close body: "
    "§5.5.1 binds the sender (the body MUST start with a code defined in §7.4), and §10.7 "
    "binds the receiver ('Incoming data MUST always be validated'; then 'SHOULD send a "
    "Close frame with an appropriate status code'). The suite reads them together, as "
    "Autobahn|Testsuite does (cases 7.3.1, 7.9.x): the server refuses such a Close as a "
    "protocol error (1002, §7.4.1), or closes TCP. A reply with another valid code, 1000 "
    "or none included, still closes the connection, so only the SHOULD of an appropriate "
    "code is missed: WARN."
)

CODE_ECHO_NOTE: Final = (
    "Echoing the code received means sending it. A code no endpoint may send (1005, "
    "1006, 1015: §7.4.1 'MUST NOT be set'; 0-999: §7.4.2 'not used'; 5000 and above: "
    "§5.5.1 'defined in Section 7.4') echoed back is FAIL. A reserved code that no "
    "sentence forbids (1004, 1016-2999: §7.4.1 'Reserved', §7.4.2 'reserved for "
    "definition by this protocol') echoed back is WARN: it breaks no MUST NOT, though "
    "the server took a Close it should have refused (§10.7) and used a code without a "
    "meaning."
)

ECHO_NOTE: Final = (
    "§5.5.1: 'When sending a Close frame in response, the endpoint typically echos the "
    "status code it received' is a parenthetical description, not a requirement: the "
    "code echoed passes, any other valid code (or none) is INFO; a reserved code (1004, "
    "1016-2999) is WARN, a code no endpoint may send FAIL."
)

IANA_NOTE: Final = (
    "1012-1014 were registered with IANA after RFC 6455 (§11.7 registry); §7.4.2 "
    "reserves 1000-2999 for such later definitions, so an endpoint may send them. A "
    "server that knows only the RFC's own list and answers 1002 gets INFO, not FAIL."
)

SERVER_CLOSE_NOTE: Final = (
    "A Close the server starts is answered by the suite at once (§5.5.1: 'MUST send a "
    "Close frame in response'), and the case keeps watching: a server that waits for "
    "that Close before closing TCP (§5.5.1: the TCP close comes 'After both sending and "
    "receiving a Close message') is judged on what it sent, not on a deadline."
)
