"""What a case is: one requirement sentence, the behaviours it accepts, how to observe them.

A case is data plus one coroutine. The coroutine drives the peer through a
:class:`~conformance.session.context.CaseContext` and returns what it
:class:`~conformance.model.observed.Observed`; the verdict is then computed from the
case's :class:`Expectation`, never from the coroutine, so no case can hard-code a pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..model.behaviours import Expectation
from ..model.observed import Observed
from ..model.verdict import Allowed, Level, Outcome, Verdict, judge
from ..session.context import CaseContext

__all__ = ["Allowed", "Case", "RunFn"]

RunFn = Callable[[CaseContext], Awaitable[Observed]]


@dataclass(frozen=True, slots=True)
class Case:
    """One conformance case, keyed to its section: ``rfc6455/4.2.1/missing-key``."""

    id: str
    title: str
    requirements: tuple[str, ...]
    level: Level
    expect: Expectation
    run: RunFn = field(repr=False)
    allowed: tuple[Allowed, ...] = ()
    notes: str = ""  # how the case reads the spec where it is disputed
    role: str = "server"  # the party under test
    profile: str = "default"  # "default" or "full"
    timeout_scale: int = 1
    """The case moves this many times the data a deadline is meant for: it gets ``--timeout``
    times this (Autobahn|Testsuite's compression rows get 60 to 480 s, ``case12_x_x.py``)."""

    @property
    def spec(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def section(self) -> str:
        return self.id.split("/")[1]

    def expected_text(self) -> str:
        """The acceptable behaviours, for reports."""
        text = self.expect.describe()
        for allowed in self.allowed:
            text += f" (also allowed, reported as {allowed.outcome.value.upper()}: "
            text += f"{allowed.behaviour.describe()})"
        return text

    def judge(self, observed: Observed) -> Verdict:
        """The verdict for what was observed: PASS only for an accepted behaviour."""
        verdict = judge(self.expect, observed, self.level)
        if verdict.outcome in (Outcome.PASS, Outcome.ERROR):
            return verdict
        seen = [
            a.verdict(observed, verdict.actual)
            for a in self.allowed
            if a.behaviour.matches(observed)
        ]
        # An allowance spoilt by a broken rule (it then reads FAIL) yields to a later one
        # that weighs that rule itself (a reserved close code, say).
        clean = [v for v in seen if v.outcome is not Outcome.FAIL]
        return (clean or seen or [verdict])[0]
