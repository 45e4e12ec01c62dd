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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from ..model.behaviours import Ponged, PongedLatest
from ..model.observed import Observed

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
