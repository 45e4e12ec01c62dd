"""One self-contained HTML page: inline CSS and SVG, no scripts, no external assets.

The header gives the target and the counts (with a small bar of the proportions), a
table lists every case, and each case that did not pass gets an evidence block like
the terminal's, with the bytes in ``<details>``. Every piece of text is escaped;
only ``http(s)`` spec links become ``<a href>``.
"""

from __future__ import annotations

import re
from html import escape

from ..catalog import Catalog
from ..model.verdict import Outcome
from ..results import OUTCOME_ORDER, CaseResult, RunReport
from .evidence import (
    NON_PASS_ORDER,
    OUTCOME_LABELS,
    byte_count,
    hexdump,
    one_line,
    printable,
    reproduce_line,
    requirement_lines,
    section_counts,
)

EVIDENCE_LIMIT = 512
"""Bytes of each direction shown per case."""

COLOURS = {
    Outcome.PASS: "#2e7d32",
    Outcome.FAIL: "#c62828",
    Outcome.WARN: "#e65100",
    Outcome.INFO: "#0277bd",
    Outcome.UNSUPPORTED: "#757575",
    Outcome.ERROR: "#6a1b9a",
}

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;
max-width:1200px;padding:1rem 1.5rem;color:#1b1b1b;background:#fff}
h1{margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid #ddd}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre}
.meta{color:#555}
.counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1rem}
.bar{width:100%;height:14px;display:block;border-radius:3px;background:#eee}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;min-width:6.5em;text-align:center;color:#fff;
border-radius:3px;padding:0 .4em;font-size:12px;font-weight:600}
.case{border-left:4px solid #999;padding:.2rem 1rem;margin:1.5rem 0}
.case h3{margin:.3rem 0}
blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.8rem;border-left:3px solid #ccc;color:#333}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{font-weight:600}dd{margin:0}
summary{cursor:pointer;font-weight:600}
""" + "".join(
    f".o-{o.value} .badge,.badge.o-{o.value}{{background:{c}}}.case.o-{o.value}{{border-color:{c}}}"
    for o, c in COLOURS.items()
)


def _text(text: str) -> str:
    return escape(printable(text), quote=True)


def _line(text: str) -> str:
    return escape(one_line(text), quote=True)


def _badge(outcome: Outcome) -> str:
    return f'<span class="badge o-{outcome.value}">{outcome.name}</span>'


def _link(url: str, label: str) -> str:
    """An ``<a>`` for http(s) URLs; anything else stays plain text."""
    url = one_line(url)
    if re.match(r"https?://", url, re.IGNORECASE):
        return f'<a href="{escape(url, quote=True)}">{_line(label)}</a>'
    return _line(label)


def _anchors(results: list[CaseResult]) -> dict[int, str]:
    """A unique, readable element id per result (by position)."""
    seen: set[str] = set()
    out: dict[int, str] = {}
    for index, result in enumerate(results):
        base = "case-" + re.sub(r"[^A-Za-z0-9._/-]", "-", result.id)
        anchor, n = base, 1
        while anchor in seen:
            n += 1
            anchor = f"{base}-{n}"
        seen.add(anchor)
        out[index] = anchor
    return out


def _bar(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    label = ", ".join(f"{counts[o.value]} {OUTCOME_LABELS[o]}" for o in OUTCOME_ORDER)
    parts = [
        f'<svg class="bar" viewBox="0 0 1000 14" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)}">'
    ]
    x = 0.0
    for outcome in OUTCOME_ORDER:
        count = counts[outcome.value]
        if not count or not total:
            continue
        width = 1000 * count / total
        parts.append(
            f'<rect x="{x:.2f}" y="0" width="{width:.2f}" height="14" '
            f'fill="{COLOURS[outcome]}"><title>{count} {OUTCOME_LABELS[outcome]}</title></rect>'
        )
        x += width
    parts.append("</svg>")
    return "".join(parts)


def _header(report: RunReport) -> str:
    counts = report.summary()
    verdict = Outcome.FAIL if report.failed else Outcome.PASS
    facts = [
        f"Target <code>{_line(report.target_url)}</code> ({_line(report.role)})",
        f"{_line(report.tool_name)} {_line(report.tool_version)}",
        f"{len(report.results)} cases in {report.duration_s:.2f}s",
    ]
    if report.started_at:
        facts.append(f"started {_line(report.started_at)}")
    if report.strict:
        facts.append("strict: warnings fail the run")
    items = "".join(
        f'<li class="o-{o.value}">{_badge(o)} {counts[o.value]} {OUTCOME_LABELS[o]}</li>'
        for o in OUTCOME_ORDER
    )
    word = "FAILED" if report.failed else "PASSED"
    return (
        f'<header><h1>WebSocket conformance <span class="badge o-{verdict.value}">'
        f"{word}</span></h1>\n"
        f'<p class="meta">{" · ".join(facts)}</p>\n'
        f'<ul class="counts">{items}</ul>\n{_bar(counts)}\n</header>'
    )


def _sections(report: RunReport) -> str:
    head = "".join(f'<th class="n">{o.value}</th>' for o in OUTCOME_ORDER)
    rows = "".join(
        f"<tr><td>{_line(label)}</td>"
        + "".join(f'<td class="n">{counts[o.value]}</td>' for o in OUTCOME_ORDER)
        + "</tr>\n"
        for label, counts in section_counts(report)
    )
    return (
        f"<section><h2>By section</h2><table><thead><tr><th>Section</th>{head}</tr>"
        f"</thead>\n<tbody>\n{rows}</tbody></table></section>"
    )


def _requirement_cell(result: CaseResult, catalog: Catalog | None) -> str:
    cells = []
    for line in requirement_lines(result.requirements, catalog):
        label = f"<code>{_line(line.id)}</code>"
        if line.link and re.match(r"https?://", line.link, re.IGNORECASE):
            label = f'<a href="{escape(line.link, quote=True)}">{label}</a>'
        cells.append(label)
    return "<br>".join(cells)


def _table(report: RunReport, catalog: Catalog | None, anchors: dict[int, str]) -> str:
    rows = []
    for index, result in enumerate(report.results):
        name = f"<code>{_line(result.id)}</code>"
        if result.outcome is not Outcome.PASS:
            name = f'<a href="#{escape(anchors[index], quote=True)}">{name}</a>'
        rows.append(
            f'<tr class="o-{result.outcome.value}"><td>{name}</td>'
            f"<td>{_line(result.title)}</td><td>{_badge(result.outcome)}</td>"
            f"<td>{_requirement_cell(result, catalog)}</td></tr>"
        )
    return (
        "<section><h2>All cases</h2><table><thead><tr><th>Case</th><th>Title</th>"
        "<th>Outcome</th><th>Requirements</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table></section>"
    )


def _dump(label: str, data: bytes, total: int) -> str:
    count = byte_count(data, total)
    return (
        f"<details><summary>{label} ({count} bytes)</summary>"
        f"<pre>{_text(hexdump(data, EVIDENCE_LIMIT, total=total))}</pre></details>"
    )


def _case(result: CaseResult, catalog: Catalog | None, target_url: str, anchor: str) -> str:
    parts = [
        f'<article class="case o-{result.outcome.value}" id="{escape(anchor, quote=True)}">',
        f"<h3>{_badge(result.outcome)} <code>{_line(result.id)}</code> {_line(result.title)}</h3>",
    ]
    parts.extend(evidence_parts(result, catalog, target_url))
    parts.append("</article>")
    return "\n".join(parts)


def evidence_parts(result: CaseResult, catalog: Catalog | None, target_url: str) -> list[str]:
    """The evidence of one case as HTML pieces: each Requirement (verbatim quote and
    link), Expected, Actual, the bytes each way, the notes and the reproduce command.
    Shared by the run report and the matrix page."""
    parts: list[str] = []
    for line in requirement_lines(result.requirements, catalog):
        parts.append(f"<p><strong>Requirement:</strong> {_line(line.headline)}</p>")
        if line.quote:
            parts.append(f"<blockquote>{_line(line.quote)}</blockquote>")
        if line.link:
            parts.append(f"<p>{_link(line.link, line.link)}</p>")
    parts.append(
        f"<dl><dt>Expected</dt><dd>{_line(result.expected)}</dd>"
        f"<dt>Actual</dt><dd>{_line(result.actual)}</dd></dl>"
    )
    parts.append(_dump("Sent", result.sent, result.sent_total))
    parts.append(_dump("Received", result.received, result.received_total))
    if result.notes:
        notes = "".join(f"<li>{_line(note)}</li>" for note in result.notes)
        parts.append(f"<p><strong>Notes:</strong></p><ul>{notes}</ul>")
    parts.append(
        "<p><strong>Reproduce:</strong></p>"
        f"<pre><code>{_text(reproduce_line(result, target_url))}</code></pre>"
    )
    return parts


def render_html(report: RunReport, catalog: Catalog | None) -> str:
    """The whole run as one HTML5 document."""
    anchors = _anchors(report.results)
    rank = {outcome: index for index, outcome in enumerate(NON_PASS_ORDER)}
    failing = sorted(
        ((i, r) for i, r in enumerate(report.results) if r.outcome is not Outcome.PASS),
        key=lambda item: rank[item[1].outcome],
    )
    cases = "\n".join(_case(r, catalog, report.target_url, anchors[i]) for i, r in failing)
    evidence = (
        f"<section><h2>Cases that did not pass</h2>\n{cases}\n</section>"
        if failing
        else "<section><h2>Cases that did not pass</h2><p>Every case passed.</p></section>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>WebSocket conformance: {_line(report.target_url)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        f"{_header(report)}\n<main>\n{_sections(report)}\n"
        f"{_table(report, catalog, anchors)}\n{evidence}\n</main>\n</body>\n</html>\n"
    )
