"""Ping/Pong and timing (RFC 6455 §5.5.2, §5.5.3): the executable form of
docs/verdict-policy.md, "Ping/Pong and timing".

* Every Ping gets a Pong with its data, in order (§5.5.2 MUST, §5.5.3 "identical
  Application data"), or, for Pings the server read before answering the earlier ones,
  a Pong for only the most recent (§5.5.3 MAY). Which Pings a server reads together
  depends on TCP segmentation, which neither side controls, so both readings PASS
  (:class:`PongsAnswered`): a verdict must not change with the segmentation.
* A case waits for the Pong of its last Ping (:data:`PONG_WAIT` at most) before it
  sends anything else: no barrier Ping joins the Pings the server chooses among, and
  no Close races them (§5.5.2 "unless it already received a Close frame").
* A Ping sent after the client's Close needs no Pong (§5.5.2), and none is forbidden;
  whether one comes depends on what the server read together, so both PASS.
* A Ping inside a fragmented message should be answered before the message ends
  (§5.5.2 "SHOULD respond with Pong frame as soon as is practical"; Autobahn|Testsuite
  5.6-5.9 expect the Pong before the echo): the case waits for the Pong before it sends
  the final fragment. Pong in that wait: PASS; Pong only after the final fragment:
  WARN (:data:`PONG_DEFERRED`), with the timing in Actual; no Pong: FAIL (§5.5.2 MUST).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, Final

from ..model.behaviours import AllOf, Behaviour, Ponged, PongedLatest
from ..model.observed import Observed
from ..model.verdict import Allowed, Outcome

PONG_WAIT: Final = 2.0
"""Seconds (at most half the time a case has left) a case waits for the Pong of its
last Ping before sending its next frame. Not a deadline: a server that never answers
is then judged on the closing that follows (FAIL), not reported as unobservable."""

LATEST_ONLY_WHY: Final = (
    "§5.5.3: 'If an endpoint receives a Ping frame and has not yet sent Pong frame(s) in "
    "response to previous Ping frame(s), the endpoint MAY elect to send a Pong frame for "
    "only the most recently processed Ping frame.'"
)


@dataclass(frozen=True, slots=True)
class PongsAnswered:
    """A Pong for each Ping with its data, in order (§5.5.2, §5.5.3), or Pongs for only
    some, in order, the last Ping answered (§5.5.3 MAY), breaking no frame rule."""

    judges_violations: ClassVar[bool] = True  # decides on the peer's violations itself

    payloads: tuple[bytes, ...]

    def describe(self) -> str:
        if len(self.payloads) == 1:
            return "a Pong echoing the Ping's data"
        return (
            f"a Pong echoing each of the {len(self.payloads)} Pings' data, in order, or "
            "(§5.5.3) Pongs for only some of them, in order, ending with the most recent"
        )

    def matches(self, observed: Observed) -> bool:
        every = Ponged(self.payloads)
        return every.matches(observed) or PongedLatest(self.payloads).matches(observed)


LATEST_ONLY_NOTE: Final = (
    "§5.5.3 lets a server that has not yet answered earlier Pings answer only the most "
    "recent one. Which Pings it reads before answering depends on TCP segmentation, so "
    "Pongs for all, or for some ending with the last, both PASS: the verdict must not "
    "change when only the segmentation does. The case waits for the last Ping's Pong "
    "before sending anything else (a barrier Ping, a Close)."
)

PONG_AFTER_CLOSE_NOTE: Final = (
    "§5.5.2: 'MUST send a Pong frame in response, unless it already received a Close "
    "frame'. A Pong for a Ping sent after the Close is excused, and no sentence forbids "
    "it (§5.5.1 forbids data frames after a Close, a Pong is a control frame); whether "
    "a server sends one depends on whether it read both frames together, so with or "
    "without it the case PASSES when the Close is answered."
)


# -- a Ping inside a fragmented message (§5.5.2 "as soon as is practical") -----------

R_PONG_PROMPTLY: Final = "rfc6455-5.5.2-pong-promptly"
"""§5.5.2: "It SHOULD respond with Pong frame as soon as is practical." """


@dataclass(slots=True)
class PongTimingObserved(Observed):
    """What a case saw, and whether the Pong of the Ping it sent inside a fragmented
    message came before the case sent the message's final fragment (§5.5.2)."""

    pong_before_final: bool = False
    timing: str = ""
    """When the Pong came, relative to the Ping and the final fragment: the decisive fact,
    so :meth:`describe` leads with it (a one-line reason keeps the start)."""

    def describe(self) -> str:
        seen = Observed.describe(self)
        return f"{self.timing}; {seen}" if self.timing else seen

    @classmethod
    def adopt(cls, observed: Observed) -> PongTimingObserved:
        """``observed`` (its lists shared, not copied), with no Pong timed yet."""
        return cls(**{f.name: getattr(observed, f.name) for f in fields(Observed)})


@dataclass(frozen=True, slots=True)
class PongBeforeFinalFragment:
    """The Pong came before the final fragment of the message the Ping interrupted was
    sent: answered "as soon as is practical" (§5.5.2), not held until the message ends."""

    def describe(self) -> str:
        return "the Pong before the message's final fragment was sent"

    def matches(self, observed: Observed) -> bool:
        return isinstance(observed, PongTimingObserved) and observed.pong_before_final


def pong_prompt_text(after_ping: float) -> str:
    """Actual: the Pong came while the message was still unfinished."""
    return f"the Pong came {after_ping:.2f} s after the Ping, before the final fragment was sent"


def pong_deferred_text(after_final: float, waited: float) -> str:
    """Actual: the Pong came only once the final fragment had been sent."""
    return (
        f"the Pong came {after_final:.2f} s after the final fragment, having not come "
        f"within {waited:.2f} s of the Ping"
    )


def pong_missing_text(waited: float, after_final: float) -> str:
    """Actual: no Pong with the Ping's data in either wait (another Pong may have come)."""
    return (
        f"no Pong with the Ping's data came within {waited:.2f} s of the Ping, nor within "
        f"{after_final:.2f} s after the final fragment"
    )


PONG_DEFERRED_WHY: Final = (
    "§5.5.2: 'It SHOULD respond with Pong frame as soon as is practical': the Pong was "
    "held until the fragmented message was complete"
)


def pong_deferral_outcomes(answered: Behaviour) -> tuple[Behaviour, tuple[Allowed, ...]]:
    """The outcome set of a Ping inside a fragmented message, given ``answered`` (the
    message echoed and the Ping answered): PASS with the Pong before the final fragment;
    WARN (§5.5.2 SHOULD) with it only after; FAIL (§5.5.2 MUST) with no Pong."""
    prompt = AllOf((answered, PongBeforeFinalFragment()))
    deferred = Allowed(answered, Outcome.WARN, PONG_DEFERRED_WHY)
    return prompt, (deferred,)


PONG_DEFERRAL_NOTE: Final = (
    "The Ping goes out right after the first fragment (FIN clear); the case waits for "
    f"its Pong ({PONG_WAIT:g} s, at most half the time left) before it sends the final "
    "fragment. §5.5.2 asks for the Pong 'as soon as is practical' and §5.4 lets control "
    "frames come in the middle of a message, so a server that holds the Pong until the "
    "message is complete breaks a SHOULD (WARN); Autobahn|Testsuite 5.6-5.9 likewise "
    "expect the Pong before the echo. No Pong at all breaks the §5.5.2 MUST (FAIL)."
)
