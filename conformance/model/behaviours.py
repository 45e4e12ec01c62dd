"""The behaviours the spec accepts, and the set a case expects (RFC 6455 §4.2.2, §5, §7).

A case never asserts one exact reaction where the spec allows several: it holds an
:class:`Expectation`, the *set* of acceptable behaviours (for example "an HTTP error
response" or "a Close frame with 1002, or a TCP close"), and passes only when one of
them was actually observed (:mod:`.verdict` judges).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from .constants import opcode_name
from .observed import Observed, TransportEnd
from .payloads import PayloadRecipe, pattern_payload


class Behaviour(Protocol):
    """One behaviour the spec accepts."""

    def describe(self) -> str: ...

    def matches(self, observed: Observed) -> bool: ...


def _status_text(statuses: frozenset[int]) -> str:
    ordered = sorted(statuses)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{ordered[0]}-{ordered[-1]}"
    return "/".join(str(s) for s in ordered)


ERROR_STATUSES = frozenset(range(400, 600))
"""HTTP error codes: 4xx client errors and 5xx server errors (RFC 9110 §15.5, §15.6)."""


@dataclass(frozen=True, slots=True)
class HttpRefusal:
    """The peer answered with an HTTP error status (and, optionally, a required header)."""

    statuses: frozenset[int] = ERROR_STATUSES
    required_header: bytes | None = None  # e.g. b"sec-websocket-version"
    required_token: bytes | None = None  # a token the header's list must include

    def describe(self) -> str:
        text = f"an HTTP error response (status {_status_text(self.statuses)})"
        if self.required_header is not None:
            text += f" with a {self.required_header.decode()} header"
            if self.required_token is not None:
                text += f" listing {self.required_token.decode()}"
        return text

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        if response is None or response.status not in self.statuses:
            return False
        if self.required_header is None:
            return True
        if self.required_token is not None:
            return self.required_token.lower() in response.tokens(self.required_header)
        return bool(response.values(self.required_header))


@dataclass(frozen=True, slots=True)
class HandshakeAccepted:
    """A 101 response that passed every check of RFC 6455 §4.1 and §4.2.2."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    def describe(self) -> str:
        return "a valid 101 Switching Protocols response"

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        return response is not None and response.status == 101 and not observed.violations


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """Any parseable HTTP response other than 101: the request was served as plain HTTP."""

    def describe(self) -> str:
        return "an HTTP response other than 101 (the request served as plain HTTP)"

    def matches(self, observed: Observed) -> bool:
        return observed.response is not None and observed.response.status != 101


@dataclass(frozen=True, slots=True)
class AcceptedWithout:
    """A 101 response that breaks none of ``requirements`` (other breaches are not judged)."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    requirements: frozenset[str]
    rule: str  # what the response must get right, for reports

    def describe(self) -> str:
        return f"a 101 Switching Protocols response with {self.rule}"

    def matches(self, observed: Observed) -> bool:
        response = observed.response
        if response is None or response.status != 101:
            return False
        return not any(v.requirement in self.requirements for v in observed.violations)


@dataclass(frozen=True, slots=True)
class CloseFrame:
    """The peer sent a Close frame, with a code from ``codes`` when given."""

    codes: frozenset[int] | None = None

    def describe(self) -> str:
        if self.codes is None:
            return "a Close frame"
        return f"a Close frame with code {_status_text(self.codes)}"

    def matches(self, observed: Observed) -> bool:
        if observed.close is None:
            return False
        return self.codes is None or observed.close.code in self.codes


@dataclass(frozen=True, slots=True)
class TcpClose:
    """The peer closed the TCP connection (FIN or RST) without a Close frame."""

    def describe(self) -> str:
        return "the TCP connection closed without a Close frame"

    def matches(self, observed: Observed) -> bool:
        return observed.close is None and observed.transport in (
            TransportEnd.EOF,
            TransportEnd.RESET,
        )


@dataclass(frozen=True, slots=True)
class Echoed:
    """The server sent back exactly these messages, in order, breaking no frame rule."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    messages: tuple[tuple[int, bytes], ...]

    def describe(self) -> str:
        if len(self.messages) == 1:
            opcode, data = self.messages[0]
            return f"the {opcode_name(opcode)} message ({len(data)} bytes) echoed unchanged"
        return f"the {len(self.messages)} messages echoed unchanged, in order"

    def matches(self, observed: Observed) -> bool:
        return observed.messages == list(self.messages) and not observed.violations

    def unfinished(self, observed: Observed) -> bool:
        """The deadline cut the echoes short while every one so far was right."""
        return echoes_cut_short(observed, self.messages)


def echoes_cut_short(observed: Observed, messages: tuple[tuple[int, bytes], ...]) -> bool:
    """The deadline passed while the peer was still echoing ``messages`` correctly: some
    came back, each the expected one, none missing before them, nothing broken, no Close.
    A slow peer breaks no rule: the verdict is ERROR (not observed), not FAIL."""
    seen = observed.messages
    return (
        observed.timed_out
        and observed.close is None
        and not observed.violations
        and 0 < len(seen) < len(messages)
        and tuple(seen) == messages[: len(seen)]
    )


def cut_short(behaviour: object, observed: Observed) -> bool:
    """Whether ``behaviour`` (an echo, or a combination holding one) was cut short by the
    deadline while on course (its ``unfinished`` method, where it has one)."""
    unfinished = getattr(behaviour, "unfinished", None)
    return bool(unfinished is not None and unfinished(observed))


@dataclass(frozen=True, slots=True)
class Ponged:
    """A Pong for each Ping, with the Ping's payload, in order (§5.5.2, §5.5.3)."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    payloads: tuple[bytes, ...]

    def describe(self) -> str:
        if not self.payloads:
            return "no Pong"
        return f"{len(self.payloads)} Pong(s) echoing the Ping payload(s), in order"

    def matches(self, observed: Observed) -> bool:
        return observed.pongs == list(self.payloads) and not observed.violations


@dataclass(frozen=True, slots=True)
class FailedConnection:
    """_Fail the WebSocket Connection_ (§7.1.7): a Close with one of ``codes`` (any code
    when None), or the TCP connection closed without one; and nothing processed
    beyond ``echoes`` (the messages sent before the offending frame).

    ``reply_counts``: the offending frame was itself a Close, so a Close sent in reply
    to it still closes the connection (the reply's code is judged like any other)."""

    codes: frozenset[int] | None = None
    echoes: tuple[tuple[int, bytes], ...] = ()
    reply_counts: bool = False

    def describe(self) -> str:
        how = (
            "a Close frame"
            if self.codes is None
            else f"a Close frame with code {_status_text(self.codes)}"
        )
        text = f"the connection failed: {how}, or a TCP close without one"
        if self.echoes:
            text += f", after echoing only the {len(self.echoes)} valid message(s) before"
        return text

    def matches(self, observed: Observed) -> bool:
        if observed.continued or observed.messages != list(self.echoes):
            return False
        if observed.close is not None:
            if observed.close.reply and not self.reply_counts:
                return False  # it only answered the suite's Close
            return self.codes is None or observed.close.code in self.codes
        return observed.transport in (TransportEnd.EOF, TransportEnd.RESET)


@dataclass(frozen=True, slots=True)
class Expectation:
    """The set of behaviours the spec accepts; a case passes when one is observed."""

    alternatives: tuple[Behaviour, ...]

    def __post_init__(self) -> None:
        if not self.alternatives:
            raise ValueError("an expectation needs at least one acceptable behaviour")

    def describe(self) -> str:
        texts = [b.describe() for b in self.alternatives]
        return texts[0] if len(texts) == 1 else "one of: " + "; or ".join(texts)

    def match(self, observed: Observed) -> Behaviour | None:
        """The first acceptable behaviour that was observed, if any."""
        return next((b for b in self.alternatives if b.matches(observed)), None)


def expect(*alternatives: Behaviour) -> Expectation:
    """Shorthand: ``expect(CloseFrame(frozenset({1002})), TcpClose())``."""
    return Expectation(alternatives)


def judges_violations(behaviour: Behaviour) -> bool:
    """Whether ``behaviour`` decides on the peer's recorded violations itself.

    Behaviours that look only at how the connection ended (a Close code, a TCP close)
    do not; for them :func:`unjudged_violations` applies.
    """
    return bool(getattr(behaviour, "judges_violations", False))


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every one of ``behaviours`` was observed (an echo *and* the Pongs, say).

    ``text`` names the combination in reports; by default the descriptions are joined.
    """

    behaviours: tuple[Behaviour, ...]
    text: str = ""

    @property
    def judges_violations(self) -> bool:
        return any(judges_violations(b) for b in self.behaviours)

    def describe(self) -> str:
        return self.text or "; and ".join(b.describe() for b in self.behaviours)

    def matches(self, observed: Observed) -> bool:
        return all(b.matches(observed) for b in self.behaviours)

    def unfinished(self, observed: Observed) -> bool:
        """One part was cut short by the deadline while on course (see :func:`cut_short`)."""
        return any(cut_short(b, observed) for b in self.behaviours)


@dataclass(frozen=True, slots=True)
class Not:
    """``behaviour`` was not observed (to carve one reading out of a wider behaviour)."""

    behaviour: Behaviour

    def describe(self) -> str:
        return f"not {self.behaviour.describe()}"

    def matches(self, observed: Observed) -> bool:
        return not self.behaviour.matches(observed)


@dataclass(frozen=True, slots=True)
class EchoedWithout:
    """The server sent back exactly these messages, and none of its frames broke
    ``requirements`` (other breaches are judged by the cases on those rules).

    For the rules on the server's own frames (§5.1 no mask, §5.2 RSV bits and length
    encoding), observed on echoes.
    """

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    messages: tuple[tuple[int, bytes], ...]
    requirements: frozenset[str]
    rule: str  # what every frame must get right, for reports

    def describe(self) -> str:
        sizes = "/".join(str(len(data)) for _, data in self.messages)
        return f"the message ({sizes} bytes) echoed in frames with {self.rule}"

    def matches(self, observed: Observed) -> bool:
        if observed.messages != list(self.messages):
            return False
        return not any(v.requirement in self.requirements for v in observed.violations)


@dataclass(frozen=True, slots=True)
class PongedLatest:
    """Pongs for only some of the Pings, in order, the last Ping answered: §5.5.3 lets
    an endpoint that has not yet answered earlier Pings answer only the most recent."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    payloads: tuple[bytes, ...]

    def describe(self) -> str:
        return "Pongs for only some of the Pings, in order, ending with the most recent one"

    def matches(self, observed: Observed) -> bool:
        pongs = observed.pongs
        if observed.violations or not pongs or not self.payloads:
            return False
        if pongs[-1] != self.payloads[-1]:
            return False
        remaining = iter(self.payloads)
        return all(any(p == q for q in remaining) for p in pongs)


# --- The closing handshake (RFC 6455 §5.5.1, §7.1) and big messages (§10.4) ------------

_TCP_CLOSED = frozenset({TransportEnd.EOF, TransportEnd.RESET})


def _code_set_text(codes: frozenset[int]) -> str:
    """Compact: ranges of consecutive codes, e.g. ``1000-1001/1003/3000-4999``."""
    ordered = sorted(codes)
    runs: list[str] = []
    start = prev = ordered[0]
    for code in [*ordered[1:], None]:
        if code is not None and code == prev + 1:
            prev = code
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if code is not None:
            start = prev = code
    return "/".join(runs)


@dataclass(frozen=True, slots=True)
class ClosingHandshake:
    """The peer sent a Close frame, then closed the TCP connection (§5.5.1, §7.1.1),
    breaking no frame rule on the way.

    ``codes``: the status codes its Close may carry (any code when None; codes no
    rule allows are violations, which never match); ``no_code``: whether a Close with
    no status code matches. ``messages`` and ``pongs`` are exactly what it must have
    sent besides (anything when None).
    """

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    codes: frozenset[int] | None = None
    no_code: bool = True
    messages: tuple[tuple[int, bytes], ...] | None = ()
    pongs: tuple[bytes, ...] | None = ()

    def describe(self) -> str:
        if self.codes is None:
            what = "a Close frame" if self.no_code else "a Close frame with a status code"
        else:
            what = f"a Close frame with code {_code_set_text(self.codes)}"
            if self.no_code:
                what += " or with no code"
        text = f"{what}, then the TCP connection closed"
        if self.messages:
            text = f"the {len(self.messages)} message(s) echoed, then " + text
        elif self.messages == ():
            text += ", nothing echoed"
        if self.pongs == ():
            text += ", no Pong"
        elif self.pongs:
            text += f", {len(self.pongs)} Pong(s)"
        return text

    def matches(self, observed: Observed) -> bool:
        close = observed.close
        if close is None or observed.violations or observed.transport not in _TCP_CLOSED:
            return False
        if close.code is None:
            if not self.no_code:
                return False
        elif self.codes is not None and close.code not in self.codes:
            return False
        if self.messages is not None and observed.messages != list(self.messages):
            return False
        return self.pongs is None or observed.pongs == list(self.pongs)


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the TCP connection (one of ``ends``) and broke none of
    ``without`` on the way (other breaches are judged by the cases on those rules)."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    rule: str = ""  # what the peer must not have done, for reports
    without: frozenset[str] = frozenset()
    ends: frozenset[TransportEnd] = _TCP_CLOSED

    def describe(self) -> str:
        how = " or ".join(sorted(end.value for end in self.ends))
        text = f"the TCP connection {how}"
        return f"{text}, {self.rule}" if self.rule else text

    def matches(self, observed: Observed) -> bool:
        if observed.transport not in self.ends:
            return False
        return not any(v.requirement in self.without for v in observed.violations)


def _pattern_matches(recipes: tuple[PayloadRecipe, ...], messages: list[tuple[int, bytes]]) -> bool:
    return all(
        opcode == want_opcode
        and len(data) == size
        and data == pattern_payload(want_opcode, size, seed)
        for (opcode, data), (want_opcode, size, seed) in zip(messages, recipes, strict=False)
    )


@dataclass(frozen=True, slots=True)
class EchoedPattern:
    """The server sent back exactly the messages of ``recipes``, in order, content
    compared byte for byte (see :func:`pattern_payload`), breaking no frame rule."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    recipes: tuple[PayloadRecipe, ...]

    def describe(self) -> str:
        if len(self.recipes) == 1:
            opcode, size, _ = self.recipes[0]
            return f"the {opcode_name(opcode)} message ({size} bytes) echoed unchanged"
        return f"the {len(self.recipes)} messages echoed unchanged, in order"

    def matches(self, observed: Observed) -> bool:
        if observed.violations or len(observed.messages) != len(self.recipes):
            return False
        return _pattern_matches(self.recipes, observed.messages)


@dataclass(frozen=True, slots=True)
class FailedLate:
    """Failed with one of ``codes``, but only after processing frames sent behind the
    offending data (it answered a Ping, or the suite's Close): the check ran late.

    For invalid UTF-8 this is allowed: §8.1 binds an endpoint once it "finds" the text
    invalid and says nothing of when it must look.
    """

    codes: frozenset[int]
    echoes: tuple[tuple[int, bytes], ...] = ()

    def describe(self) -> str:
        return (
            f"the connection failed (a Close frame with code {_status_text(self.codes)}, or "
            "a TCP close without one), after answering frames sent behind the invalid data"
        )

    def matches(self, observed: Observed) -> bool:
        if observed.messages != list(self.echoes):
            return False
        close = observed.close
        if close is not None:
            return close.code in self.codes
        # Failed without a Close frame (§7.1.7 MAY), on its own, not at the suite's Close.
        return (
            observed.transport in (TransportEnd.EOF, TransportEnd.RESET)
            and not observed.closed_after_suite_close
        )
