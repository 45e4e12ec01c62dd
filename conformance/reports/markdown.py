"""Markdown: the whole run, or one case as a block ready to paste into a bug tracker.

A run with ``security/*`` checks gets a "Security" part before the cases that did not
pass: the policy line, per theme the checks that did not pass and the theme's advice,
and the themes that passed whole (:mod:`conformance.reports.security`).
"""

from __future__ import annotations

import re

from .. import __version__
from ..catalog import Catalog
from ..results import OUTCOME_ORDER, CaseResult, RunReport
from .evidence import (
    OUTCOME_LABELS,
    byte_count,
    hexdump,
    non_passing,
    one_line,
    printable,
    reproduce_line,
    requirement_lines,
    section_counts,
)
from .security import TITLE, SecurityPart, security_part

EVIDENCE_LIMIT = 256
"""Bytes of each direction shown per case."""

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def md_escape(text: str) -> str:
    """``text`` on one line, with the characters Markdown would interpret backslashed."""
    return _SPECIAL.sub(r"\\\1", one_line(text))


def fenced(text: str, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{printable(text)}\n{fence}"


def _code(text: str) -> str:
    """Inline code that survives backticks in ``text``."""
    text = one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    tick = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{tick}{pad}{text}{pad}{tick}"


def _evidence(label: str, data: bytes, total: int) -> list[str]:
    count = byte_count(data, total)
    shown = min(len(data), EVIDENCE_LIMIT)
    what = f"{count} bytes" if shown == count else f"first {shown} of {count} bytes"
    return [f"**{label}** ({what}):", "", fenced(hexdump(data, EVIDENCE_LIMIT, total=total)), ""]


def render_case_markdown(
    result: CaseResult, catalog: Catalog | None, target_url: str, *, version: str = ""
) -> str:
    """One case: title, requirements with quotes and links, evidence, how to reproduce.

    ``version`` is the suite version to credit (the running one by default).
    """
    lines = [
        f"### {result.outcome.name}: {md_escape(result.title)} ({_code(result.id)})",
        "",
        f"Target: {_code(target_url)}",
        "",
    ]
    for line in requirement_lines(result.requirements, catalog):
        req = line.requirement
        if req is None:
            lines += [f"**Requirement:** unknown requirement {_code(line.id)}", ""]
            continue
        where = f"{req.spec} §{req.section}" if req.section else req.spec
        lines += [
            f"**Requirement:** {md_escape(where)}, **{md_escape(req.keyword)}** "
            f"({md_escape(req.party)}), {_code(req.id)}",
            "",
            f"> {md_escape(req.quote)}",
            ">",
            f"> — [{md_escape(where)}](<{one_line(req.link)}>)",
            "",
        ]
    lines += [
        f"**Expected:** {md_escape(result.expected)}",
        "",
        f"**Actual:** {md_escape(result.actual)}",
        "",
    ]
    lines += _evidence("Sent", result.sent, result.sent_total)
    lines += _evidence("Received", result.received, result.received_total)
    if result.notes:
        lines += ["**Notes:**", "", *(f"- {md_escape(note)}" for note in result.notes), ""]
    lines += [
        "Reproduce with:",
        "",
        fenced(reproduce_line(result, target_url), "sh"),
        "",
        f"Found with ws-conformance {md_escape(version or __version__)}",
    ]
    return "\n".join(lines) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---"] + ["---:"] * (len(header) - 1)
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def security_markdown(part: SecurityPart) -> list[str]:
    """The "Security" part: the policy, a subsection per theme with findings (a line per
    check that did not pass, then the advice and its source), the themes passed whole."""
    lines = [f"## {TITLE}", "", f"_{md_escape(part.policy)}_", ""]
    for group in part.flagged:
        lines += [f"### {md_escape(group.title)}", "", f"{md_escape(group.tally)}:", ""]
        lines += [
            f"- **{result.outcome.name}** {_code(result.id)}: {md_escape(result.actual)}"
            for result in group.findings
        ]
        lines.append("")
        if group.advice:
            source = f" ({md_escape(group.source)})" if group.source else ""
            lines += [f"**Advice:** {md_escape(group.advice)}{source}", ""]
    if part.passed:
        lines += [f"**Passed:** {md_escape(part.passed_line)}", ""]
    return lines[:-1]  # every block above ends with a blank line; the caller adds its own


def render_markdown(report: RunReport, catalog: Catalog | None) -> str:
    """The run: a summary table, counts per section, then each case that did not pass."""
    counts = report.summary()
    verdict = "FAILED" if report.failed else "PASSED"
    facts = [
        f"Target: {_code(report.target_url)} ({md_escape(report.role)})",
        f"{md_escape(report.tool_name)} {md_escape(report.tool_version)}",
        f"{len(report.results)} cases in {report.duration_s:.2f}s",
    ]
    if report.started_at:
        facts.append(f"started {md_escape(report.started_at)}")
    if report.strict:
        facts.append("strict (warnings fail the run)")
    lines = [f"# WebSocket conformance: {verdict}", "", " · ".join(facts), ""]
    lines += _table(
        ["Outcome", "Cases"],
        [[OUTCOME_LABELS[o], str(counts[o.value])] for o in OUTCOME_ORDER],
    )
    sections = section_counts(report)
    if sections:
        lines += ["", "## By section", ""]
        lines += _table(
            ["Section", *(o.value for o in OUTCOME_ORDER)],
            [
                [md_escape(label), *(str(c[o.value]) for o in OUTCOME_ORDER)]
                for label, c in sections
            ],
        )
    part = security_part(report)
    if part is not None:
        lines += ["", *security_markdown(part)]
    failing = non_passing(report)
    lines += ["", "## Cases that did not pass", ""]
    if not failing:
        lines += ["Every case passed.", ""]
    for result in failing:
        lines.append(
            render_case_markdown(result, catalog, report.target_url, version=report.tool_version)
        )
    return "\n".join(lines).rstrip("\n") + "\n"
