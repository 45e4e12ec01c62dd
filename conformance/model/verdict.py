"""The verdict of a case: its outcome, from what was observed and the requirement's level.

Anything but an acceptable behaviour is judged by the requirement's level
(:class:`Level`, RFC 2119): a broken MUST is FAIL, a broken SHOULD is WARN. A peer
that did not answer in time is ERROR: the suite could not observe the behaviour, so
it cannot pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .behaviours import Behaviour, Expectation, cut_short, judges_violations
from .observed import Observed

PREFLIGHT_PREFIX = "preflight: "
"""How the Actual text of a case stopped at once by a preflight fact begins (an ERROR:
the server lacks what the case needs, e.g. an echo); reports name such a fact once."""


class Outcome(StrEnum):
    """The verdict of one case (names match the JSON report)."""

    PASS = "pass"
    FAIL = "fail"  # a MUST was broken
    WARN = "warn"  # a SHOULD was broken
    INFO = "info"  # behaviour the spec leaves open, reported for information
    UNSUPPORTED = "unsupported"  # an optional feature is absent
    ERROR = "error"  # the suite could not run the case


class Level(StrEnum):
    """The strength of the requirement a case checks (RFC 2119)."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"

    @property
    def failure(self) -> Outcome:
        """The outcome when the requirement is not met."""
        return {Level.MUST: Outcome.FAIL, Level.SHOULD: Outcome.WARN}.get(self, Outcome.INFO)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A case's outcome with the one-line account of what was seen."""

    outcome: Outcome
    actual: str
    requirements: tuple[str, ...] = ()  # ids the peer was seen to break, beyond the case's own


def unjudged_violations(behaviour: Behaviour, observed: Observed) -> tuple[str, ...]:
    """Rules the peer broke after the handshake that ``behaviour`` did not weigh.

    Every violation the strict decoder records during a case reaches its verdict: a
    behaviour that matched on the closing alone (a Close 1002, say) cannot turn a
    data frame sent after that Close (§5.5.1) into a PASS.
    """
    if not observed.upgraded or judges_violations(behaviour):
        return ()
    return tuple(dict.fromkeys(v.requirement for v in observed.violations))


CUT_SHORT: Final = (
    "the deadline passed while the server was still echoing, every echo so far right: a slow "
    "server breaks no rule; give it more time with --timeout"
)


def judge(expectation: Expectation, observed: Observed, level: Level) -> Verdict:
    """Compare what was observed with what the spec accepts.

    PASS only when an acceptable behaviour was observed and no rule was broken on the
    way (:func:`unjudged_violations`: that is FAIL, every decoder rule being a MUST).
    A missed deadline with nothing acceptable seen is ERROR (not observable), and so is
    one that cut a correct run of echoes short (:data:`CUT_SHORT`).
    """
    actual = observed.describe()
    broken = tuple(dict.fromkeys(v.requirement for v in observed.violations))
    matching = [b for b in expectation.alternatives if b.matches(observed)]
    clean = [b for b in matching if not unjudged_violations(b, observed)]
    if matching:
        extra = () if clean else unjudged_violations(matching[0], observed)
        if extra:
            return Verdict(
                Outcome.FAIL,
                f"{actual} (the case's rule held; the rules cited after it were broken on the way)",
                extra,
            )
        return Verdict(Outcome.PASS, actual)
    if observed.timed_out and not observed.answered:
        return Verdict(Outcome.ERROR, actual)
    if any(cut_short(b, observed) for b in expectation.alternatives):
        return Verdict(Outcome.ERROR, f"{actual} ({CUT_SHORT})")
    return Verdict(level.failure, actual, broken)


@dataclass(frozen=True, slots=True)
class Allowed:
    """A behaviour the spec also allows, reported as ``outcome`` (INFO, WARN or
    UNSUPPORTED) with ``why``: the clause that allows it (see docs/verdict-policy.md)."""

    behaviour: Behaviour
    outcome: Outcome
    why: str

    def verdict(self, observed: Observed, actual: str) -> Verdict:
        """The verdict when this behaviour was seen; unjudged violations make it FAIL."""
        extra = unjudged_violations(self.behaviour, observed)
        if extra:
            return Verdict(
                Outcome.FAIL, f"{actual} ({self.why}; but rules were broken on the way)", extra
            )
        return Verdict(self.outcome, f"{actual} ({self.why})")
