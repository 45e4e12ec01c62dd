"""Known deviations: a run compared with a baseline, so CI fails only on regressions.

A baseline maps exact case ids (no globs) to an accepted outcome and a reason. It is
either a ``wsconform run --json`` report (each case's outcome accepted, its ``actual``
the reason) or a short file, TOML when its name ends in ``.toml``, JSON otherwise::

    [cases."rfc6455/5.2/rsv1-text"]
    outcome = "fail"
    reason = "RSV1 not rejected: upstream issue 123"

    {"cases": {"rfc6455/5.2/rsv1-text": {"outcome": "fail", "reason": "…"}}}

Outcomes are ranked: PASS, INFO, UNSUPPORTED (0) < WARN (1) < FAIL, ERROR (2). A case
absent from the baseline counts as baseline PASS; a baseline id the run did not run is
ignored. A regression is a case ranked above its baseline, an improvement one ranked
below, a known deviation one at its baseline's non-zero rank.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model.verdict import Outcome
from .reports.json_report import from_json
from .results import CaseResult

RANK = {
    Outcome.PASS: 0,
    Outcome.INFO: 0,
    Outcome.UNSUPPORTED: 0,
    Outcome.WARN: 1,
    Outcome.FAIL: 2,
    Outcome.ERROR: 2,
}


@dataclass(frozen=True, slots=True)
class Accepted:
    """The outcome a baseline accepts for one case, and why."""

    outcome: Outcome
    reason: str


Baseline = dict[str, Accepted]


@dataclass(frozen=True, slots=True)
class Change:
    """One case whose outcome differs in rank from its baseline (or is a known deviation)."""

    id: str
    before: Outcome
    after: Outcome
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Comparison:
    """A run against a baseline: what got worse, what got better, what stayed deviant."""

    regressions: tuple[Change, ...]
    improvements: tuple[Change, ...]
    known: tuple[Change, ...]

    def failed(self, strict: bool) -> bool:
        """True when a regression reaches FAIL or ERROR (or WARN with ``strict``)."""
        floor = 1 if strict else 2
        return any(RANK[change.after] >= floor for change in self.regressions)


def compare(results: list[CaseResult], baseline: Baseline) -> Comparison:
    """Rank each result against its baseline outcome (absent: PASS)."""
    regressions: list[Change] = []
    improvements: list[Change] = []
    known: list[Change] = []
    for result in results:
        accepted = baseline.get(result.id, Accepted(Outcome.PASS, ""))
        change = Change(result.id, accepted.outcome, result.outcome, accepted.reason)
        before, after = RANK[accepted.outcome], RANK[result.outcome]
        if after > before:
            regressions.append(change)
        elif after < before:
            improvements.append(change)
        elif after > 0:
            known.append(change)
    return Comparison(tuple(regressions), tuple(improvements), tuple(known))


def entries_from_short(data: Any, where: str) -> Baseline:
    """The ``cases`` table of a short baseline; ValueError if malformed."""
    cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(cases, dict):
        raise ValueError(f"{where}: expected a 'cases' table of case id -> outcome and reason")
    baseline: Baseline = {}
    for case_id, entry in cases.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: {case_id}: expected outcome and reason")
        value = entry.get("outcome")
        if value not in {o.value for o in Outcome}:
            choices = ", ".join(o.value for o in Outcome)
            raise ValueError(f"{where}: {case_id}: outcome must be one of {choices}")
        outcome = Outcome(str(value))
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{where}: {case_id}: a reason is required")
        baseline[case_id] = Accepted(outcome, reason)
    return baseline


def parse_baseline(text: str, name: str) -> Baseline:
    """A baseline from its text; ``name`` ending ``.toml`` means TOML. ValueError if bad."""
    if name.endswith(".toml"):
        try:
            return entries_from_short(tomllib.loads(text), name)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{name}: not TOML: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}: not JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        try:
            report = from_json(data)
        except ValueError as exc:
            raise ValueError(f"{name}: not a wsconform report: {exc}") from None
        return {r.id: Accepted(r.outcome, r.actual) for r in report.results}
    return entries_from_short(data, name)


def read_baseline(path: str) -> Baseline:
    """:func:`parse_baseline` of the file at ``path``; ValueError if unreadable or bad."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ValueError(f"{path}: cannot read: {reason}") from None
    return parse_baseline(text, path)


def render_comparison(comparison: Comparison, name: str) -> str:
    """The section printed after a run: counts, then each regression and improvement."""
    lines = [
        f"compared with the baseline {name}: {len(comparison.regressions)} regression(s), "
        f"{len(comparison.improvements)} improvement(s), "
        f"{len(comparison.known)} known deviation(s)"
    ]
    for label, changes in (
        ("regression", comparison.regressions),
        ("improved", comparison.improvements),
    ):
        for change in changes:
            lines.append(f"  {label:<10} {change.id}: {change.before} -> {change.after}")
    return "\n".join(lines)
