"""Size limits (RFC 6455 §10.4): one policy for every case whose messages a server
may find too big (docs/verdict-policy.md, "Size limits").

§10.4 lets an implementation have "limitations regarding the frame size or total
message size" and says it "MUST protect themselves against exceeding those limits";
§7.4.1 names the code for it, "1009 ... a message that is too big for it to process"
(and 1008, "a message that violates its policy", the generic one). No size is
required of anyone, so a case sending a message over :data:`FLOOR` reads a refusal
of it as a limit, not as a broken rule:

* a Close 1009 or 1008 of the server's own instead of the echo, every message before
  it echoed unchanged and no frame rule broken: **UNSUPPORTED**, the Actual text
  stating the limit seen (the refused size, the largest echo of the case). Rules on
  the server's own frames (§5.1, §5.2) are not judged on frames it never sent;
* the same refusal with another code, or a TCP close without a Close frame:
  **WARN** (§7.1.7 and §10.7 "SHOULD send a Close frame with an appropriate status
  code"; §7.4.1: 1009 is the code for "too big");
* anything else (a truncated or corrupted echo, an echo after the Close, a 1009 in
  reply to the suite's Close, a refusal of a message at or under the floor): the
  case's own failure, FAIL for the MUST cases.

The size is the case's data, not its id: every echo case passes what it sends to
:func:`allowed`, which returns the allowances only when a message exceeds the floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from ..model.behaviours import Echoed, EchoedPattern
from ..model.constants import CloseCode
from ..model.observed import Observed, TransportEnd
from ..model.payloads import PayloadRecipe
from ..model.verdict import Allowed, Outcome, Verdict

KIB: Final = 2**10

FLOOR: Final = 4 * KIB
"""The largest message the suite assumes every server echoes: a refusal of a message
of at most 4 KiB is judged as the case's failure, never as a limit.

§10.4 sets no minimum, so any floor is the suite's assumption. 4 KiB covers every
edge of the 7-bit and 16-bit length forms the cases probe (125 to 128 bytes, §5.2)
and the small-message tables (up to 1000 bytes in the default profile, 4 KiB in the
full profile's round trips): a 1009 there cannot be told apart from a misread length
(a 16-bit length read as a 64-bit one announces a huge frame). The smallest limit seen
on the third-party servers is 8 KiB, twice the floor."""

LIMIT_CODES: Final = frozenset({CloseCode.MESSAGE_TOO_BIG, CloseCode.POLICY_VIOLATION})
"""§7.4.1: 1009 "a message that is too big for it to process"; 1008 "a message that
violates its policy", the generic code (also "if there is a need to hide specific
details about the policy")."""

Msg = tuple[int, bytes]

NOTE: Final = (
    "Size limits (§10.4): a message over 4 KiB refused with a Close 1009/1008 of the "
    "server's own, every earlier message echoed, is UNSUPPORTED (the limit is stated); "
    "refused another way (another code, no Close) it is WARN (§7.1.7, §10.7). See "
    "docs/verdict-policy.md, 'Size limits'."
)
"""Appended to the notes of every case that carries the allowances."""

WHY_LIMIT: Final = (
    "§10.4: an implementation-specific size limit, refused with the code §7.4.1 names; "
    "the rule is not observed at this size"
)
WHY_SERVER_FRAMES: Final = (
    "§10.4: an implementation-specific size limit; no server frame of this size was "
    "sent, so the rule on the server's frames is not judged at this size"
)
WHY_OTHER_WAY: Final = (
    "refused the message over the server's limit without a Close 1009 (§7.1.7, §10.7: "
    "SHOULD send a Close frame with an appropriate status code; §7.4.1: 1009 is 'too big')"
)


@dataclass(frozen=True, slots=True)
class SentMessages:
    """The data messages a case sends, in order: literal ``messages``, or pattern
    ``recipes`` (:func:`~conformance.model.payloads.pattern_payload`) for big ones."""

    messages: tuple[Msg, ...] = ()
    recipes: tuple[PayloadRecipe, ...] = ()

    @property
    def sizes(self) -> tuple[int, ...]:
        if self.recipes:
            return tuple(size for _, size, _ in self.recipes)
        return tuple(len(data) for _, data in self.messages)

    def echoed_first(self, count: int, observed: Observed) -> bool:
        """Exactly the first ``count`` messages came back, unchanged, no frame rule broken."""
        if self.recipes:
            return EchoedPattern(self.recipes[:count]).matches(observed)
        return Echoed(self.messages[:count]).matches(observed)


def refused_size(sent: SentMessages, observed: Observed) -> int | None:
    """The size of the message a limit refused, if a limit explains what was seen.

    The server echoed the first messages unchanged, broke no frame rule and did not
    go on processing (§7.1.7), and one of the messages it did not echo exceeds
    :data:`FLOOR`: the first such one is taken as the message refused.
    """
    if observed.violations or observed.continued:
        return None
    sizes = sent.sizes
    echoed = len(observed.messages)
    if echoed >= len(sizes) or not sent.echoed_first(echoed, observed):
        return None
    return next((size for size in sizes[echoed:] if size > FLOOR), None)


def _largest_echo(observed: Observed) -> str:
    if not observed.messages:
        return "none"
    return f"{max(len(data) for _, data in observed.messages)} bytes"


@dataclass(frozen=True, slots=True)
class RefusedOverLimit:
    """Instead of echoing a message over :data:`FLOOR`, the server sent a Close 1009 or
    1008 of its own (not a reply to the suite's Close), every message before it echoed
    unchanged and no frame rule broken (§7.4.1, §10.4)."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    sent: SentMessages

    def describe(self) -> str:
        return (
            f"a message over {FLOOR} bytes refused with a Close frame with code 1008/1009 "
            "(a size limit), every message before it echoed unchanged"
        )

    def matches(self, observed: Observed) -> bool:
        close = observed.close
        if close is None or close.reply or close.code not in LIMIT_CODES:
            return False
        return refused_size(self.sent, observed) is not None

    def limit_text(self, observed: Observed) -> str:
        code = observed.close.code if observed.close is not None else None
        return (
            f"server limit: refused a {refused_size(self.sent, observed)}-byte message with "
            f"{code}; largest message echoed in this case: {_largest_echo(observed)}"
        )


@dataclass(frozen=True, slots=True)
class RefusedOtherWay:
    """As :class:`RefusedOverLimit`, but the server's own Close had another code, or it
    closed TCP without a Close frame (§7.1.7: the Close with an appropriate code is a
    SHOULD)."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    sent: SentMessages

    def describe(self) -> str:
        return (
            f"a message over {FLOOR} bytes refused with a Close frame with another code, "
            "or a TCP close without one, every message before it echoed unchanged"
        )

    def matches(self, observed: Observed) -> bool:
        close = observed.close
        if close is not None:
            if close.reply or close.code in LIMIT_CODES:
                return False
        elif observed.transport not in (TransportEnd.EOF, TransportEnd.RESET):
            return False
        return refused_size(self.sent, observed) is not None

    def limit_text(self, observed: Observed) -> str:
        how = "a TCP close" if observed.close is None else observed.close.describe()
        return (
            f"server limit: refused a {refused_size(self.sent, observed)}-byte message with "
            f"{how}; largest message echoed in this case: {_largest_echo(observed)}"
        )


@dataclass(frozen=True, slots=True)
class LimitAllowed(Allowed):
    """An allowance whose verdict also states the limit observed."""

    def verdict(self, observed: Observed, actual: str) -> Verdict:
        behaviour = self.behaviour
        if isinstance(behaviour, RefusedOverLimit | RefusedOtherWay):
            actual = f"{actual}; {behaviour.limit_text(observed)}"
        return Allowed.verdict(self, observed, actual)


def over_floor(sizes: Sequence[int]) -> bool:
    """Whether a case sending messages of ``sizes`` falls under this policy."""
    return any(size > FLOOR for size in sizes)


def allowed(sent: SentMessages, *, server_frames: bool = False) -> tuple[Allowed, ...]:
    """The allowances of a case that sends ``sent``: none unless a message exceeds
    :data:`FLOOR`. ``server_frames``: the case judges a rule on the server's frames."""
    if not over_floor(sent.sizes):
        return ()
    return (
        LimitAllowed(
            RefusedOverLimit(sent),
            Outcome.UNSUPPORTED,
            WHY_SERVER_FRAMES if server_frames else WHY_LIMIT,
        ),
        LimitAllowed(RefusedOtherWay(sent), Outcome.WARN, WHY_OTHER_WAY),
    )


def for_messages(messages: Sequence[Msg], *, server_frames: bool = False) -> tuple[Allowed, ...]:
    """:func:`allowed` for a case sending literal ``messages``."""
    return allowed(SentMessages(messages=tuple(messages)), server_frames=server_frames)


def for_recipes(recipes: Sequence[PayloadRecipe]) -> tuple[Allowed, ...]:
    """:func:`allowed` for a case sending pattern messages."""
    return allowed(SentMessages(recipes=tuple(recipes)))


def with_note(notes: str, allowances: tuple[Allowed, ...]) -> str:
    """``notes``, plus :data:`NOTE` when the case carries the allowances."""
    if not allowances:
        return notes
    return f"{notes} {NOTE}".strip()
