"""The "Security" part of a run's reports (issue #15; docs/verdict-policy.md, "Security").

When a run has ``security/<theme>/<check>`` results, the terminal, Markdown and HTML
reports add one part that reads like advice rather than a spec listing: first the
policy the user stated (``RunReport.policy``) or that none was, so that a reader knows
whether a verdict rests on RFC 6455 §10 alone (WARN/INFO) or on that policy (FAIL);
then, per theme of :data:`~conformance.policy.security.THEMES` (in that order), the
checks that did not pass, worst first, and the theme's advice with its source, once;
last, on one line, the themes whose every check passed. This module only groups; each
renderer lays the groups out in its own style.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..model.verdict import Outcome
from ..policy.security import STATED, THEMES, theme_of
from ..results import CaseResult, RunReport
from .evidence import NON_PASS_ORDER

SECURITY_SPEC: Final = "security"
"""The first part of every security check's id (``security/origin/foreign``)."""

TITLE: Final = "Security"
"""The heading of the part in every report."""

NO_POLICY: Final = "no policy stated: findings are judged by RFC 6455 §10 alone (WARN/INFO)"
"""The policy line of a run without ``--origin-allow``/``--auth-header``/``--max-message-size``."""


@dataclass(frozen=True, slots=True)
class ThemeGroup:
    """The checks of one theme in a run: those that did not pass, and how many passed."""

    key: str  # the second part of the ids: "origin"
    title: str
    advice: str  # empty for a theme THEMES does not know
    source: str
    findings: tuple[CaseResult, ...]  # the checks that did not pass, worst first
    passed: int  # how many checks of the theme passed

    @property
    def checks(self) -> int:
        return len(self.findings) + self.passed

    @property
    def tally(self) -> str:
        """``2 of 6 checks did not pass`` (or ``3 checks passed``)."""
        if not self.findings:
            return f"{self.passed} {'check' if self.passed == 1 else 'checks'} passed"
        noun = "check" if self.checks == 1 else "checks"
        return f"{len(self.findings)} of {self.checks} {noun} did not pass"


@dataclass(frozen=True, slots=True)
class SecurityPart:
    """What every report's "Security" part shows."""

    policy: str  # ``policy you stated: ...`` or :data:`NO_POLICY`
    flagged: tuple[ThemeGroup, ...]  # themes with a check that did not pass
    passed: tuple[ThemeGroup, ...]  # themes whose every check passed

    @property
    def passed_line(self) -> str:
        """``Authentication of the upgrade (3), TLS (2)``: empty when no theme passed whole."""
        return ", ".join(f"{group.title} ({group.passed})" for group in self.passed)


def policy_line(policy: tuple[str, ...]) -> str:
    """``policy you stated: a; b``, or :data:`NO_POLICY` when nothing was stated."""
    return f"{STATED}: {'; '.join(policy)}" if policy else NO_POLICY


def theme_key(case_id: str) -> str | None:
    """``origin`` for ``security/origin/foreign``; None for an id of another spec."""
    parts = case_id.split("/")
    if len(parts) < 3 or parts[0] != SECURITY_SPEC:
        return None
    return parts[1]


def security_results(report: RunReport) -> list[CaseResult]:
    """The run's ``security/*`` results, in run order."""
    return [result for result in report.results if theme_key(result.id) is not None]


def _group(key: str, results: list[CaseResult]) -> ThemeGroup:
    rank = {outcome: index for index, outcome in enumerate(NON_PASS_ORDER)}
    findings = sorted(
        (r for r in results if r.outcome is not Outcome.PASS), key=lambda r: rank[r.outcome]
    )
    theme = theme_of(results[0].id)
    return ThemeGroup(
        key=key,
        title=theme.title if theme is not None else key,
        advice=theme.advice if theme is not None else "",
        source=theme.source if theme is not None else "",
        findings=tuple(findings),
        passed=len(results) - len(findings),
    )


def security_part(report: RunReport) -> SecurityPart | None:
    """The run's security results grouped by theme; None when the run has none (the
    reports then show no "Security" part at all)."""
    by_theme: dict[str, list[CaseResult]] = {}
    for result in security_results(report):
        by_theme.setdefault(theme_key(result.id) or "", []).append(result)
    if not by_theme:
        return None
    known = [key for key in THEMES if key in by_theme]
    order = known + [key for key in by_theme if key not in THEMES]
    groups = [_group(key, by_theme[key]) for key in order]
    return SecurityPart(
        policy=policy_line(report.policy),
        flagged=tuple(group for group in groups if group.findings),
        passed=tuple(group for group in groups if not group.findings),
    )
