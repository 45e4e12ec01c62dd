"""The pytest plugin's baseline marking and its ``ws-conformance`` terminal summary section.

``--ws-baseline`` (:func:`load_baseline`, :func:`mark_baselined`): a case the baseline
accepts at WARN or worse is xfail (not strict) with the baseline's reason, so a known
deviation is XFAIL and an improvement XPASS. The summary section (:func:`terminal_summary`)
lists each WARN, INFO and UNSUPPORTED case with a pasteable node id and a one-line
reason, then the comparison with the baseline, as ``wsconform run --baseline`` prints it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from .baseline import RANK, compare, read_baseline, render_comparison
from .model.verdict import Level, Outcome
from .pytest_support import BASELINE, KnownDeviation, baseline_entry, case_id_of
from .results import CaseResult

__all__ = ["load_baseline", "mark_baselined", "terminal_summary"]

SUMMARY_ORDER = (Outcome.WARN, Outcome.INFO, Outcome.UNSUPPORTED)
"""The outcomes the terminal summary section lists, in this order."""
FULL_REASONS_VERBOSITY = 2
"""From ``-vv`` the section's reasons are not cut to the terminal's width."""


def load_baseline(config: pytest.Config) -> None:
    """Read ``--ws-baseline`` (:func:`conformance.baseline.read_baseline`) into the config;
    ``UsageError`` if it is missing or malformed."""
    path = config.getoption("ws_baseline") or config.getini("ws_baseline")
    try:
        config.stash[BASELINE] = (path, read_baseline(path))
    except ValueError as exc:
        raise pytest.UsageError(f"--ws-baseline: {exc}") from None


def mark_baselined(config: pytest.Config, items: Sequence[pytest.Item]) -> None:
    """Mark xfail (not strict, only :class:`KnownDeviation`) the items whose case the
    baseline accepts at a rank above PASS, with the baseline's reason."""
    for item in items:
        case_id = case_id_of(item)
        accepted = baseline_entry(config, case_id) if case_id is not None else None
        if accepted is not None and RANK[accepted.outcome] > 0:
            reason = f"baseline {accepted.outcome.value.upper()}: {accepted.reason}"
            item.add_marker(pytest.mark.xfail(reason=reason, raises=KnownDeviation, strict=False))


def case_reports(stats: dict[str, list[Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(nodeid, result properties) of each case item's call phase, in run order."""
    seen: set[str] = set()
    for reports in stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call" or "ws" not in report.keywords:
                continue
            properties = dict(report.user_properties)
            if "outcome" in properties and report.nodeid not in seen:
                seen.add(report.nodeid)
                yield report.nodeid, properties


def cut_line(text: str, width: int) -> str:
    """The first line of ``text``, cut to ``width`` characters."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: max(width - 3, 0)] + "..."


def terminal_summary(reporter: pytest.TerminalReporter) -> None:
    """The ``ws-conformance`` section: each WARN, INFO and UNSUPPORTED case (a pasteable
    node id and a one-line reason, cut to the terminal's width below ``-vv`` as pytest's
    short summary is), then the comparison with ``--ws-baseline``."""
    rows = list(case_reports(reporter.stats))
    full = reporter.config.get_verbosity() >= FULL_REASONS_VERBOSITY
    width = sys.maxsize if full else reporter.config.get_terminal_writer().fullwidth
    lines = [
        f"{outcome.value.upper()} {nodeid} - {properties.get('actual', '')}"
        for outcome in SUMMARY_ORDER
        for nodeid, properties in rows
        if properties["outcome"] == outcome.value
    ]
    baseline = reporter.config.stash.get(BASELINE, None)
    if not lines and baseline is None:
        return
    reporter.write_sep("=", "ws-conformance")
    for line in lines:
        reporter.write_line(cut_line(line, width))
    if baseline is not None:
        results = [
            CaseResult(
                id=str(properties.get("id", nodeid)),
                title="",
                outcome=Outcome(properties["outcome"]),
                level=Level(properties.get("level", Level.MUST.value)),
                requirements=(),
                expected="",
                actual="",
                duration_s=0.0,
            )
            for nodeid, properties in rows
        ]
        path, accepted = baseline
        reporter.write_line(render_comparison(compare(results, accepted), path))
