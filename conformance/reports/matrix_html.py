"""One self-contained HTML page for a matrix run: many servers, one suite.

Inline CSS and inline SVG only: no scripts, no external assets. The page has

* a heat map, servers × spec sections: each cell is coloured by the worst outcome in
  that section (FAIL, ERROR, WARN, INFO, UNSUPPORTED, then PASS) and holds the counts;
  it links to the section's case grid;
* a bar chart per server: one bar per outcome;
* a case grid per section, cases × servers: one cell per case and server, linking to
  the evidence block of that result (every result that did not pass; passes too with
  ``pass_evidence``);
* the evidence blocks: case id, outcome, each requirement with its verbatim quote and
  link, Expected/Actual, the bytes each way, notes and the command that reproduces it.

Every piece of text is escaped, peer-influenced text made printable first; element
ids are derived from names and case ids through a strict alphabet. The only links
leaving the page are the catalog's ``http(s)`` spec links.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from ..catalog import Catalog
from ..model.verdict import Outcome
from ..results import OUTCOME_ORDER, CaseResult, RunReport
from .evidence import NON_PASS_ORDER, OUTCOME_LABELS, section_key
from .html import COLOURS, badge, escape_line, escape_text, evidence_parts

WORST_FIRST = (*NON_PASS_ORDER, Outcome.PASS)
"""Heat-map precedence: a cell takes the colour of the first outcome present."""

SYMBOLS = {
    Outcome.PASS: "✓",
    Outcome.FAIL: "✗",
    Outcome.ERROR: "!",
    Outcome.WARN: "⚠",
    Outcome.INFO: "i",
    Outcome.UNSUPPORTED: "–",
}
LETTERS = {
    Outcome.PASS: "P",
    Outcome.FAIL: "F",
    Outcome.ERROR: "E",
    Outcome.WARN: "W",
    Outcome.INFO: "I",
    Outcome.UNSUPPORTED: "U",
}

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;
max-width:1600px;padding:1rem 1.5rem;color:#1b1b1b;background:#fff}
h1{margin:.2rem 0}h2{margin-top:2.2rem;border-bottom:1px solid #ddd}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre}
.meta{color:#555}nav a{margin-right:1rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse}
th,td{text-align:left;padding:.2rem .4rem;vertical-align:top}
.heat td,.heat th{border:1px solid #fff}
.heat thead th{font-size:12px;writing-mode:vertical-rl;transform:rotate(180deg);
white-space:nowrap;vertical-align:bottom;padding:.4rem .1rem}
.heat td{min-width:2.7rem;text-align:center;font-size:11px;line-height:1.25;color:#fff}
.heat td a{color:#fff;text-decoration:none;display:block}
.heat td.none{background:#f3f3f3;color:#999}
.heat td.down{background:#6a1b9a;text-align:left}
.heat th[scope=row]{font-size:14px;max-width:16rem}
table thead th.corner{writing-mode:horizontal-tb;transform:none;font-size:14px}
small,.ver{color:#666;font-size:12px}
.grid td,.grid th{border-bottom:1px solid #eee}
.grid thead th{font-size:12px;writing-mode:vertical-rl;transform:rotate(180deg);
white-space:nowrap;vertical-align:bottom}
.grid td.g{text-align:center;width:1.6rem;padding:0;color:#fff;font-weight:700}
.grid td.g a,.grid td.g span{color:#fff;text-decoration:none;display:block;padding:.15rem 0}
.grid td.none{background:#f3f3f3}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem}
.sw{display:inline-block;width:1em;height:1em;vertical-align:-.15em;border-radius:2px}
.servers{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:1rem}
.server{border:1px solid #ddd;border-radius:4px;padding:.5rem .8rem}
.server h3{margin:.2rem 0}.server pre{white-space:pre-wrap;word-break:break-all}
.badge{display:inline-block;min-width:6.5em;text-align:center;color:#fff;
border-radius:3px;padding:0 .4em;font-size:12px;font-weight:600}
.case{border-left:4px solid #999;padding:.2rem 1rem;margin:1.5rem 0}
.case h4{margin:.3rem 0}
blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.8rem;border-left:3px solid #ccc;color:#333}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{font-weight:600}dd{margin:0}
summary{cursor:pointer;font-weight:600}
""" + "".join(
    f".o-{o.value}{{background:{c}}}.case.o-{o.value}{{background:none;border-color:{c}}}"
    f".badge.o-{o.value}{{background:{c}}}"
    for o, c in COLOURS.items()
)


@dataclass(frozen=True, slots=True)
class MatrixEntry:
    """One server of a matrix: its run, or why it could not be run."""

    name: str
    report: RunReport | None
    command: str = ""  # the --server-cmd template, or the URL
    version: str = ""  # e.g. "tornado 6.6.1"
    error: str = ""  # why there is no report

    @property
    def results(self) -> list[CaseResult]:
        return self.report.results if self.report is not None else []


@dataclass(slots=True)
class Matrix:
    """Every server's run, plus the servers that were skipped (with the reason)."""

    entries: list[MatrixEntry]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    profile: str = "default"
    started_at: str = ""
    duration_s: float = 0.0
    tool_name: str = "ws-conformance"
    tool_version: str = ""


def _id(*parts: str) -> str:
    """An element id from ``parts``: letters, digits, ``.``, ``_`` and ``-`` only."""
    return "-".join(re.sub(r"[^A-Za-z0-9._]+", "_", part) for part in parts)


def _sections(matrix: Matrix) -> list[tuple[str, str]]:
    """Every (spec, section) present in any report, in natural order."""
    seen = {(r.spec, r.section) for entry in matrix.entries for r in entry.results}
    return sorted(seen, key=lambda key: (key[0], section_key(key[1])))


def _section_label(spec: str, section: str) -> str:
    return f"{spec} §{section}" if section else spec


def _counts(results: Sequence[CaseResult]) -> dict[Outcome, int]:
    counts = dict.fromkeys(OUTCOME_ORDER, 0)
    for result in results:
        counts[result.outcome] += 1
    return counts


def _worst(counts: dict[Outcome, int]) -> Outcome | None:
    return next((o for o in WORST_FIRST if counts[o]), None)


class _Anchors:
    """Unique element ids for evidence blocks, per (server index, result index)."""

    def __init__(self, matrix: Matrix) -> None:
        self.ids: dict[tuple[int, int], str] = {}
        seen: set[str] = set()
        for t, entry in enumerate(matrix.entries):
            for i, result in enumerate(entry.results):
                base = _id("e", str(t), result.id)
                anchor, n = base, 1
                while anchor in seen:
                    n += 1
                    anchor = f"{base}-{n}"
                seen.add(anchor)
                self.ids[(t, i)] = anchor


def _header(matrix: Matrix) -> str:
    cases = {r.id for entry in matrix.entries for r in entry.results}
    facts = [
        f"{escape_line(matrix.tool_name)} {escape_line(matrix.tool_version)}",
        *([f"profile {escape_line(matrix.profile)}"] if matrix.profile else []),
        f"{len(matrix.entries)} servers",
        f"{len(cases)} cases",
    ]
    if matrix.duration_s:
        facts.append(f"{matrix.duration_s:.1f}s")
    if matrix.started_at:
        facts.append(f"started {escape_line(matrix.started_at)}")
    skipped = ""
    if matrix.skipped:
        items = "".join(
            f"<li><strong>{escape_line(name)}</strong>: {escape_line(reason)}</li>"
            for name, reason in matrix.skipped
        )
        skipped = f"<p>Not run (not installed here):</p><ul>{items}</ul>"
    return (
        "<header><h1>WebSocket conformance matrix</h1>\n"
        f'<p class="meta">{" · ".join(facts)}</p>\n{skipped}\n'
        '<nav><a href="#heatmap">Heat map</a><a href="#servers">Servers</a>'
        '<a href="#cases">Cases</a><a href="#evidence">Evidence</a></nav></header>'
    )


def _legend() -> str:
    items = "".join(
        f'<li><span class="sw o-{o.value}"></span> {o.name} ({LETTERS[o]}, {SYMBOLS[o]})</li>'
        for o in WORST_FIRST
    )
    return (
        f'<ul class="legend">{items}</ul>'
        "<p><small>A heat-map cell takes the colour of the worst outcome in its section "
        "(in the order above) and shows passes/cases, then the count of each other "
        "outcome.</small></p>"
    )


def _server_head(t: int, entry: MatrixEntry) -> str:
    version = f'<br><span class="ver">{escape_line(entry.version)}</span>' if entry.version else ""
    link = f'<a href="#{_id("srv", str(t))}">{escape_line(entry.name)}</a>'
    return f'<th scope="row">{link}{version}</th>'


def _heat_cell(t: int, entry: MatrixEntry, spec: str, section: str) -> str:
    label = _section_label(spec, section)
    results = [r for r in entry.results if (r.spec, r.section) == (spec, section)]
    data = f'data-target="{escape_line(entry.name)}" data-section="{escape_line(label)}"'
    counts = _counts(results)
    worst = _worst(counts)
    if worst is None:
        return f'<td class="none" {data} data-worst="none">·</td>'
    others = " ".join(f"{counts[o]}{LETTERS[o]}" for o in NON_PASS_ORDER if counts[o])
    title = ", ".join(f"{counts[o]} {OUTCOME_LABELS[o]}" for o in OUTCOME_ORDER if counts[o])
    target = _id("sec", spec, section)
    return (
        f'<td class="o-{worst.value}" {data} data-worst="{worst.value}" '
        f'title="{escape_line(entry.name)} · {escape_line(label)}: {escape_line(title)}">'
        f'<a href="#{target}">{counts[Outcome.PASS]}/{len(results)}'
        f"{'<br>' + escape_line(others) if others else ''}</a></td>"
    )


def _heat_map(matrix: Matrix) -> str:
    sections = _sections(matrix)
    specs = {spec for spec, _ in sections}
    head = "".join(
        f'<th title="{escape_line(_section_label(s, sec))}">'
        f"{escape_line(_section_label(s, sec) if len(specs) > 1 else '§' + sec)}</th>"
        for s, sec in sections
    )
    rows = []
    for t, entry in enumerate(matrix.entries):
        if entry.report is None:
            cells = (
                f'<td class="down" colspan="{max(len(sections), 1) + 1}" '
                f'data-target="{escape_line(entry.name)}" data-worst="error">'
                f"could not run: {escape_line(entry.error)}</td>"
            )
        else:
            cells = "".join(_heat_cell(t, entry, s, sec) for s, sec in sections)
            total = _counts(entry.results)
            worst = _worst(total)
            others = " ".join(f"{total[o]}{LETTERS[o]}" for o in NON_PASS_ORDER if total[o])
            cells += (
                f'<td class="o-{worst.value if worst else "pass"}" '
                f'data-target="{escape_line(entry.name)}" data-section="all">'
                f'<a href="#{_id("srv", str(t))}">{total[Outcome.PASS]}/{len(entry.results)}'
                f"{'<br>' + escape_line(others) if others else ''}</a></td>"
            )
        rows.append(f"<tr>{_server_head(t, entry)}{cells}</tr>")
    return (
        '<section id="heatmap"><h2>Servers × sections</h2>\n'
        + _legend()
        + '\n<div class="scroll"><table class="heat"><thead><tr><th class="corner">server</th>'
        + head
        + "<th>all</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table></div></section>"
    )


def _bar_chart(counts: dict[Outcome, int]) -> str:
    """One horizontal bar per outcome, lengths to scale, counts written beside."""
    top = max(max(counts.values()), 1)
    row_h, label_w, bar_w = 18, 92, 190
    height = row_h * len(OUTCOME_ORDER)
    total = sum(counts.values())
    label = ", ".join(f"{counts[o]} {OUTCOME_LABELS[o]}" for o in OUTCOME_ORDER)
    parts = [
        f'<svg width="{label_w + bar_w + 48}" height="{height}" '
        f'viewBox="0 0 {label_w + bar_w + 48} {height}" role="img" '
        f'aria-label="{escape(label, quote=True)}" font-size="12" '
        'font-family="system-ui,sans-serif">'
    ]
    for row, outcome in enumerate(OUTCOME_ORDER):
        y = row * row_h
        count = counts[outcome]
        width = bar_w * count / top if count else 0
        share = f" ({100 * count / total:.0f}%)" if total and count else ""
        parts.append(
            f'<text x="0" y="{y + 13}">{outcome.name}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="12" '
            f'fill="{COLOURS[outcome]}"><title>{count} {OUTCOME_LABELS[outcome]}{share}</title>'
            f'</rect><text x="{label_w + width + 4:.1f}" y="{y + 13}">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _servers(matrix: Matrix) -> str:
    blocks = []
    for t, entry in enumerate(matrix.entries):
        facts = []
        if entry.version:
            facts.append(f'<p class="ver">{escape_line(entry.version)}</p>')
        if entry.command:
            facts.append(f"<pre><code>{escape_text(entry.command)}</code></pre>")
        if entry.report is None:
            body = f"<p>{badge(Outcome.ERROR)} could not run: {escape_line(entry.error)}</p>"
        else:
            report = entry.report
            facts.append(
                f'<p class="meta">{len(report.results)} cases in {report.duration_s:.2f}s</p>'
            )
            body = _bar_chart(_counts(report.results))
        blocks.append(
            f'<div class="server" id="{_id("srv", str(t))}"><h3>{escape_line(entry.name)}</h3>'
            + "".join(facts)
            + body
            + f'<p><a href="#{_id("ev", str(t))}">evidence</a></p></div>'
        )
    return (
        '<section id="servers"><h2>Servers</h2>\n<div class="servers">\n'
        + "\n".join(blocks)
        + "\n</div></section>"
    )


def _grid(matrix: Matrix, anchors: _Anchors, pass_evidence: bool) -> str:
    heads = "".join(f"<th>{escape_line(entry.name)}</th>" for entry in matrix.entries)
    by_case: list[dict[str, tuple[int, CaseResult]]] = [
        {r.id: (i, r) for i, r in enumerate(entry.results)} for entry in matrix.entries
    ]
    order: dict[str, CaseResult] = {}
    for entry in matrix.entries:
        for result in entry.results:
            order.setdefault(result.id, result)
    parts = ['<section id="cases"><h2>Cases × servers</h2>']
    for spec, section in _sections(matrix):
        label = _section_label(spec, section)
        rows = []
        for case_id, first in order.items():
            if (first.spec, first.section) != (spec, section):
                continue
            cells = []
            for t, found in enumerate(by_case):
                if case_id not in found:
                    cells.append('<td class="g none"></td>')
                    continue
                i, result = found[case_id]
                outcome = result.outcome
                symbol = SYMBOLS[outcome]
                tip = f"{matrix.entries[t].name}: {outcome.name}"
                data = (
                    f'data-target="{escape_line(matrix.entries[t].name)}" '
                    f'data-case="{escape_line(case_id)}"'
                )
                if outcome is Outcome.PASS and not pass_evidence:
                    inner = f'<span title="{escape_line(tip)}">{symbol}</span>'
                else:
                    inner = (
                        f'<a href="#{anchors.ids[(t, i)]}" title="{escape_line(tip)}">{symbol}</a>'
                    )
                cells.append(f'<td class="g o-{outcome.value}" {data}>{inner}</td>')
            rows.append(
                f'<tr id="{_id("row", case_id)}"><td><code>{escape_line(case_id)}</code> '
                f"<small>{escape_line(first.title)}</small></td>{''.join(cells)}</tr>"
            )
        parts.append(
            f'<h3 id="{_id("sec", spec, section)}">{escape_line(label)}</h3>\n'
            '<div class="scroll"><table class="grid"><thead><tr><th class="corner">case</th>'
            f"{heads}</tr>"
            "</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _evidence_block(
    entry: MatrixEntry, result: CaseResult, catalog: Catalog | None, anchor: str
) -> str:
    target_url = entry.report.target_url if entry.report else ""
    parts = [
        f'<article class="case o-{result.outcome.value}" id="{anchor}">',
        f"<h4>{badge(result.outcome)} <code>{escape_line(result.id)}</code> · "
        f"{escape_line(entry.name)}</h4>",
        f"<p>{escape_line(result.title)}</p>",
    ]
    parts.extend(evidence_parts(result, catalog, target_url))
    parts.append(f'<p><a href="#{_id("row", result.id)}">back to the grid</a></p></article>')
    return "\n".join(parts)


def _evidence(
    matrix: Matrix, catalog: Catalog | None, anchors: _Anchors, pass_evidence: bool
) -> str:
    rank = {outcome: index for index, outcome in enumerate(WORST_FIRST)}
    parts = ['<section id="evidence"><h2>Evidence</h2>']
    for t, entry in enumerate(matrix.entries):
        shown = sorted(
            (
                (i, r)
                for i, r in enumerate(entry.results)
                if pass_evidence or r.outcome is not Outcome.PASS
            ),
            key=lambda item: rank[item[1].outcome],
        )
        what = "every case" if pass_evidence else "cases that did not pass"
        parts.append(f'<h3 id="{_id("ev", str(t))}">{escape_line(entry.name)}: {what}</h3>')
        if entry.report is None:
            parts.append(f"<p>could not run: {escape_line(entry.error)}</p>")
        elif not shown:
            parts.append("<p>Every case passed.</p>")
        parts.extend(_evidence_block(entry, r, catalog, anchors.ids[(t, i)]) for i, r in shown)
    parts.append("</section>")
    return "\n".join(parts)


def render_matrix_html(
    matrix: Matrix, catalog: Catalog | None, *, pass_evidence: bool = False
) -> str:
    """The whole matrix as one HTML5 document."""
    anchors = _Anchors(matrix)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>WebSocket conformance matrix</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        f"{_header(matrix)}\n<main>\n{_heat_map(matrix)}\n{_servers(matrix)}\n"
        f"{_grid(matrix, anchors, pass_evidence)}\n"
        f"{_evidence(matrix, catalog, anchors, pass_evidence)}\n</main>\n</body>\n</html>\n"
    )
