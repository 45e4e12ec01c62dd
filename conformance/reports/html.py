"""One self-contained HTML page: inline CSS, SVG and a few lines of inline script.

Top to bottom: a header naming what was tested (target, server command, ``Server:``
header, the preflight's findings) with the counts and a bar of their proportions;
a filter by outcome and by section; the cases that did not pass, grouped by spec
section, worst first within a section, each one a ``<details>`` whose summary is
its one-line Actual and whose body is the evidence (requirement quotes,
Expected/Actual, bytes, notes, the reproduce command); then the table of every case.
A run with ``security/*`` checks has a "Security" part before the cases that did not
pass: the policy line, per theme the checks that did not pass (each linked to its
evidence) with the theme's advice, and the themes passed whole
(:mod:`conformance.reports.security`).

The filter needs the script: with scripting off it stays hidden and everything
shows. Nothing is loaded from elsewhere, so the file works offline. Every piece of
text is escaped (peer-influenced text made printable first); only ``http(s)`` spec
links become ``<a href>``.
"""

from __future__ import annotations

import re
from collections import Counter
from html import escape

from ..catalog import Catalog
from ..model.verdict import Outcome
from ..results import OUTCOME_ORDER, CaseResult, RunReport
from .evidence import (
    NON_PASS_ORDER,
    OUTCOME_LABELS,
    byte_count,
    evidence_view,
    one_line,
    printable,
    reproduce_line,
    requirement_lines,
    section_counts,
    section_key,
)
from .security import TITLE, SecurityPart, ThemeGroup, security_part

EVIDENCE_LIMIT = 1024
"""Bytes of each direction shown in a case's folded evidence (the JSON keeps more)."""

SUMMARY_ACTUAL_CHARS = 200
"""Characters of the Actual text on a folded case's summary line; the body has it all."""

FILTER_ID = "filter"
"""The element id of the filter form the script reveals and listens to."""

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
[hidden]{display:none!important}
h1{margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid #ddd}
h3{margin:1.2rem 0 .4rem;font-size:1.05rem}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre}
.meta{color:#555}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.6rem 0}
.facts dt{font-weight:600}.facts dd{margin:0}
.preflight{margin:.3rem 0;padding-left:1.2rem}
.counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1rem}
.bar{width:100%;height:14px;display:block;border-radius:3px;background:#eee}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;min-width:6.5em;text-align:center;color:#fff;
border-radius:3px;padding:0 .4em;font-size:12px;font-weight:600}
.filter{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #ddd;
display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:center;z-index:1}
.filter label{white-space:nowrap}
details.case{border-left:4px solid #999;padding:.1rem .8rem;margin:.4rem 0;
scroll-margin-top:3.5rem}
details.case>summary{font-weight:400}
details.case[open]>summary{margin-bottom:.4rem}
.actual{color:#444}
blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.8rem;border-left:3px solid #ccc;color:#333}
dl.ea{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{font-weight:600}dd{margin:0}
summary{cursor:pointer;font-weight:600}
.security ul{list-style:none;padding-left:.5rem}.security li{margin:.15rem 0}
.advice{border-left:3px solid #0277bd;padding-left:.8rem}
""" + "".join(
    f".o-{o.value} .badge,.badge.o-{o.value}{{background:{c}}}.case.o-{o.value}{{border-color:{c}}}"
    for o, c in COLOURS.items()
)

SCRIPT = (
    "(()=>{const f=document.getElementById('" + FILTER_ID + "');if(!f)return;f.hidden=false;"
    "const apply=()=>{const on=new Set([...f.querySelectorAll('input:checked')]"
    ".map(e=>e.value)),s=f.elements.section.value;"
    "document.querySelectorAll('[data-outcome]').forEach(e=>{e.hidden="
    "!on.has(e.dataset.outcome)||(s!==''&&e.dataset.section!==s)});"
    "document.querySelectorAll('.group').forEach(g=>{g.hidden="
    "!g.querySelector('[data-outcome]:not([hidden])')})};"
    "const reveal=()=>{const t=document.getElementById(decodeURIComponent("
    "location.hash.slice(1)));if(t&&t.tagName==='DETAILS'){t.open=true;t.scrollIntoView()}};"
    "f.addEventListener('change',apply);addEventListener('hashchange',reveal);"
    "apply();reveal()})();"
)
"""The filter: show the cases whose outcome is ticked and whose section is selected;
hide a section's heading when none of its cases shows; open a case linked to."""


def escape_text(text: str) -> str:
    """``text`` made printable and HTML-escaped, line breaks kept (for ``<pre>``)."""
    return escape(printable(text), quote=True)


def escape_line(text: str) -> str:
    """``text`` on one printable line, HTML-escaped (also safe in attribute values)."""
    return escape(one_line(text), quote=True)


def badge(outcome: Outcome) -> str:
    """The coloured outcome label."""
    return f'<span class="badge o-{outcome.value}">{outcome.name}</span>'


def _link(url: str, label: str) -> str:
    """An ``<a>`` for http(s) URLs; anything else stays plain text."""
    url = one_line(url)
    if re.match(r"https?://", url, re.IGNORECASE):
        return f'<a href="{escape(url, quote=True)}">{escape_line(label)}</a>'
    return escape_line(label)


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


def section_label(result: CaseResult) -> str:
    """``rfc6455 §4.2.1`` (or the spec alone): the group a case is filtered and listed by."""
    return printable(f"{result.spec} §{result.section}" if result.section else result.spec)


def _section_order(result: CaseResult) -> tuple[str, tuple[tuple[int, int | str], ...]]:
    """Spec, then sections in natural order: ``§9.2`` before ``§10.1``."""
    return result.spec, section_key(result.section)


def _sections_in_order(results: list[CaseResult]) -> list[str]:
    """The section labels of ``results``, each once, in natural order."""
    return list(dict.fromkeys(section_label(r) for r in sorted(results, key=_section_order)))


def _data(result: CaseResult) -> str:
    """The attributes the filter reads."""
    return (
        f'data-outcome="{result.outcome.value}" data-section="{escape_line(section_label(result))}"'
    )


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


def _facts(report: RunReport) -> str:
    """What was tested: target, server command and ``Server:`` header when known, tool, run."""
    rows = [
        ("Target", f"<code>{escape_line(report.target_url)}</code> ({escape_line(report.role)})")
    ]
    if report.server_command:
        rows.append(("Server command", f"<code>{escape_line(report.server_command)}</code>"))
    if report.server_header:
        rows.append(("Server header", f"<code>{escape_line(report.server_header)}</code>"))
    rows.append(("Tool", f"{escape_line(report.tool_name)} {escape_line(report.tool_version)}"))
    run = [f"{len(report.results)} cases in {report.duration_s:.2f}s"]
    if report.started_at:
        run.append(f"started {escape_line(report.started_at)}")
    if report.strict:
        run.append("strict: warnings fail the run")
    rows.append(("Run", " · ".join(run)))
    items = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    return f'<dl class="facts">{items}</dl>'


def _preflight(report: RunReport) -> str:
    if not report.preflight:
        return ""
    items = "".join(f"<li>{escape_line(line)}</li>" for line in report.preflight)
    return f'<p><strong>Preflight:</strong></p><ul class="preflight">{items}</ul>'


def _header(report: RunReport) -> str:
    counts = report.summary()
    verdict = Outcome.FAIL if report.failed else Outcome.PASS
    items = "".join(
        f'<li class="o-{o.value}">{badge(o)} {counts[o.value]} {OUTCOME_LABELS[o]}</li>'
        for o in OUTCOME_ORDER
    )
    word = "FAILED" if report.failed else "PASSED"
    return (
        f'<header><h1>WebSocket conformance <span class="badge o-{verdict.value}">'
        f"{word}</span></h1>\n{_facts(report)}\n{_preflight(report)}\n"
        f'<ul class="counts">{items}</ul>\n{_bar(counts)}\n{_sections(report)}\n</header>'
    )


def _sections(report: RunReport) -> str:
    """Counts per section, folded: the summary's detail."""
    head = "".join(f'<th class="n">{o.value}</th>' for o in OUTCOME_ORDER)
    table = section_counts(report)
    rows = "".join(
        f"<tr><td>{escape_line(label)}</td>"
        + "".join(f'<td class="n">{counts[o.value]}</td>' for o in OUTCOME_ORDER)
        + "</tr>\n"
        for label, counts in table
    )
    return (
        f"<details><summary>Counts by section ({len(table)} sections)</summary>"
        f"<table><thead><tr><th>Section</th>{head}</tr></thead>\n<tbody>\n{rows}"
        "</tbody></table></details>"
    )


def _filter(report: RunReport) -> str:
    """Checkboxes per outcome present and a section select; hidden until the script runs."""
    present = Counter(r.outcome for r in report.results)
    boxes = "".join(
        f'<label class="o-{o.value}"><input type="checkbox" name="outcome" '
        f'value="{o.value}" checked> {badge(o)} {present[o]}</label>'
        for o in OUTCOME_ORDER
        if present[o]
    )
    options = "".join(
        f'<option value="{escape_line(label)}">{escape_line(label)}</option>'
        for label in _sections_in_order(report.results)
    )
    return (
        f'<form id="{FILTER_ID}" class="filter" hidden><strong>Show</strong> {boxes}'
        '<label>section <select name="section"><option value="">every section</option>'
        f"{options}</select></label></form>"
    )


def _requirement_cell(result: CaseResult, catalog: Catalog | None) -> str:
    cells = []
    for line in requirement_lines(result.requirements, catalog):
        label = f"<code>{escape_line(line.id)}</code>"
        if line.link and re.match(r"https?://", line.link, re.IGNORECASE):
            label = f'<a href="{escape(line.link, quote=True)}">{label}</a>'
        cells.append(label)
    return "<br>".join(cells)


def _table(report: RunReport, catalog: Catalog | None, anchors: dict[int, str]) -> str:
    rows = []
    for index, result in enumerate(report.results):
        name = f"<code>{escape_line(result.id)}</code>"
        if result.outcome is not Outcome.PASS:
            name = f'<a href="#{escape(anchors[index], quote=True)}">{name}</a>'
        rows.append(
            f'<tr class="o-{result.outcome.value}" {_data(result)}><td>{name}</td>'
            f"<td>{escape_line(result.title)}</td><td>{badge(result.outcome)}</td>"
            f"<td>{_requirement_cell(result, catalog)}</td></tr>"
        )
    return (
        '<section id="all-cases"><h2>All cases</h2><table><thead><tr><th>Case</th>'
        "<th>Title</th><th>Outcome</th><th>Requirements</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table></section>"
    )


def _dump(label: str, data: bytes, total: int) -> str:
    """The bytes one way, folded: an HTTP head as text, the rest as a hex dump."""
    count = byte_count(data, total)
    view = escape_text("\n".join(evidence_view(data, total, EVIDENCE_LIMIT)))
    return f"<details><summary>{label} ({count} bytes)</summary><pre>{view}</pre></details>"


def evidence_parts(result: CaseResult, catalog: Catalog | None, target_url: str) -> list[str]:
    """The evidence of one case as HTML pieces: each Requirement (verbatim quote and
    link), Expected, Actual, the bytes each way, the notes and the reproduce command.
    Shared by the run report and the matrix page."""
    parts: list[str] = []
    for line in requirement_lines(result.requirements, catalog):
        parts.append(f"<p><strong>Requirement:</strong> {escape_line(line.headline)}</p>")
        if line.quote:
            parts.append(f"<blockquote>{escape_line(line.quote)}</blockquote>")
        if line.link:
            parts.append(f"<p>{_link(line.link, line.link)}</p>")
    parts.append(
        f'<dl class="ea"><dt>Expected</dt><dd>{escape_line(result.expected)}</dd>'
        f"<dt>Actual</dt><dd>{escape_line(result.actual)}</dd></dl>"
    )
    parts.append(_dump("Sent", result.sent, result.sent_total))
    parts.append(_dump("Received", result.received, result.received_total))
    if result.notes:
        notes = "".join(f"<li>{escape_line(note)}</li>" for note in result.notes)
        parts.append(f"<p><strong>Notes:</strong></p><ul>{notes}</ul>")
    parts.append(
        "<p><strong>Reproduce:</strong></p>"
        f"<pre><code>{escape_text(reproduce_line(result, target_url))}</code></pre>"
    )
    return parts


def _case(result: CaseResult, catalog: Catalog | None, target_url: str, anchor: str) -> str:
    """One case that did not pass, folded: the summary line says what happened."""
    summary = (
        f"<summary>{badge(result.outcome)} <code>{escape_line(result.id)}</code> "
        f'{escape_line(result.title)} — <span class="actual">{short_actual(result)}'
        "</span></summary>"
    )
    return "\n".join(
        [
            f'<details class="case o-{result.outcome.value}" id="{escape(anchor, quote=True)}" '
            f"{_data(result)}>",
            summary,
            *evidence_parts(result, catalog, target_url),
            "</details>",
        ]
    )


def _not_passed(report: RunReport, catalog: Catalog | None, anchors: dict[int, str]) -> str:
    """The cases that did not pass, one group per section, worst first inside a group."""
    rank = {outcome: index for index, outcome in enumerate(NON_PASS_ORDER)}
    failing = sorted(
        ((i, r) for i, r in enumerate(report.results) if r.outcome is not Outcome.PASS),
        key=lambda item: rank[item[1].outcome],
    )
    title = f"Cases that did not pass ({len(failing)})"
    if not failing:
        return f'<section id="not-passed"><h2>{title}</h2><p>Every case passed.</p></section>'
    groups: dict[str, list[tuple[int, CaseResult]]] = {}
    for index, result in failing:
        groups.setdefault(section_label(result), []).append((index, result))
    blocks = []
    for label in _sections_in_order([r for _, r in failing]):
        cases = "\n".join(
            _case(r, catalog, report.target_url, anchors[i]) for i, r in groups[label]
        )
        blocks.append(f'<section class="group"><h3>{escape_line(label)}</h3>\n{cases}\n</section>')
    return f'<section id="not-passed"><h2>{title}</h2>\n' + "\n".join(blocks) + "\n</section>"


def short_actual(result: CaseResult) -> str:
    """The Actual text on one line, cut to :data:`SUMMARY_ACTUAL_CHARS`, HTML-escaped."""
    actual = one_line(result.actual)
    if len(actual) > SUMMARY_ACTUAL_CHARS:
        actual = actual[: SUMMARY_ACTUAL_CHARS - 1] + "…"
    return escape(actual, quote=True)


def _theme(group: ThemeGroup, anchor_of: dict[int, str]) -> str:
    """One theme with findings: a line per check (linked to its evidence), the advice."""
    items = "".join(
        f'<li class="o-{r.outcome.value}">{badge(r.outcome)} '
        f'<a href="#{escape(anchor_of[id(r)], quote=True)}"><code>{escape_line(r.id)}</code></a>'
        f' — <span class="actual">{short_actual(r)}</span></li>'
        for r in group.findings
    )
    parts = [f"<h3>{escape_line(group.title)}</h3>", f"<p>{escape_line(group.tally)}:</p>"]
    parts.append(f"<ul>{items}</ul>")
    if group.advice:
        source = f' <span class="meta">({escape_line(group.source)})</span>' if group.source else ""
        parts.append(
            f'<p class="advice"><strong>Advice:</strong> {escape_line(group.advice)}{source}</p>'
        )
    return "\n".join(parts)


def _security(part: SecurityPart, report: RunReport, anchors: dict[int, str]) -> str:
    """The "Security" part: the policy, each theme with findings, the themes passed."""
    anchor_of = {id(result): anchors[index] for index, result in enumerate(report.results)}
    blocks = [f'<section id="security" class="security"><h2>{TITLE}</h2>']
    blocks.append(f'<p class="policy"><em>{escape_line(part.policy)}</em></p>')
    blocks += [_theme(group, anchor_of) for group in part.flagged]
    if part.passed:
        blocks.append(f"<p><strong>Passed:</strong> {escape_line(part.passed_line)}</p>")
    blocks.append("</section>")
    return "\n".join(blocks)


def render_html(report: RunReport, catalog: Catalog | None) -> str:
    """The whole run as one HTML5 document."""
    anchors = _anchors(report.results)
    part = security_part(report)
    security = "" if part is None else _security(part, report, anchors) + "\n"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>WebSocket conformance: {escape_line(report.target_url)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        f"{_header(report)}\n{_filter(report)}\n<main>\n{security}"
        f"{_not_passed(report, catalog, anchors)}\n{_table(report, catalog, anchors)}\n"
        f"</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
