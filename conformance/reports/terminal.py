"""Terminal output: a header naming what was tested, h2spec-style lines, evidence blocks.

Default (:data:`Detail.LIST`): the header, then one line per case that did not pass,
grouped under a heading per spec section, then the summary::

    wsconform 1.0 · profile default
      target   ws://127.0.0.1:9001/
      server   Python/3.11 websockets/17.4

    rfc6455 §4.2.1 Reading the Client's Opening Handshake
      ✗ rfc6455/4.2.1/missing-key   FAIL  HTTP 101 Switching Protocols; TCP still open

    380 cases: 379 passed, 1 failed, 0 warnings, 0 info, 0 unsupported, 0 errors in 1.23s

``-v`` (:data:`Detail.EVIDENCE`): an evidence block per such case instead::

    ✗ rfc6455/4.2.1/missing-key  A request without Sec-WebSocket-Key is refused  [FAIL]
      Requirement: RFC 6455 §4.2.1 (MUST, server) rfc6455-4.2.1-key-16-bytes
        "A |Sec-WebSocket-Key| header field with a base64-encoded ..."
        https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
      Expected: an HTTP error response (status 400-599)
        Actual: HTTP 101 Switching Protocols; TCP still open
          Sent: GET / HTTP/1.1
                Host: 127.0.0.1:9001
                ...
      Received: HTTP/1.1 101 Switching Protocols
                ...
      Reproduce: wsconform run ws://127.0.0.1:9001/ --cases 'rfc6455/4.2.1/missing-key'

``-q`` (:data:`Detail.QUIET`): the ids that FAIL, ERROR or WARN, then the summary line.

A run with ``security/*`` checks adds a "Security" part before the summary (at the
default detail it replaces their lines under the section headings): the policy the
user stated, the checks that did not pass grouped by theme with the theme's advice,
and the themes that passed whole on one line (:mod:`conformance.reports.security`)::

    Security · no policy stated: findings are judged by RFC 6455 §10 alone (WARN/INFO)
    Origin and cross-site WebSocket hijacking · 1 of 6 checks did not pass
      ⚠ security/origin/foreign  WARN  HTTP 101 Switching Protocols to Origin https://evil.example
        advice  Check the Origin header against an exact allow-list ...
        source  RFC 6455 §10.2, §4.2.2; OWASP ASVS 4.4.2
    passed: Size limits and bombs (5), TLS (2)

ANSI colours are used only when asked for; peer-controlled text is always made
printable first, so a peer cannot inject escape sequences.
"""

from __future__ import annotations

import textwrap
from collections.abc import Collection
from enum import Enum

from ..catalog import Catalog
from ..model.verdict import PREFLIGHT_PREFIX, Outcome
from ..results import OUTCOME_ORDER, CaseResult, RunReport
from .evidence import (
    evidence_view,
    non_passing,
    one_line,
    printable,
    reproduce_line,
    requirement_lines,
    section_counts,
    section_key,
)
from .security import TITLE, SecurityPart, ThemeGroup, security_part, security_results

WIDTH = 100
"""Columns of the output when the terminal's width is unknown."""
MIN_WIDTH = 60
"""Narrowest width honoured: below it lines wrap rather than lose their reason."""
MIN_REASON = 24
"""Columns a one-line reason needs beside the id; fewer and it goes on its own line."""
EVIDENCE_LIMIT = 256
"""Bytes of each direction shown in hex in a block."""
ELLIPSIS = "…"
QUIET_OUTCOMES = (Outcome.FAIL, Outcome.ERROR, Outcome.WARN)
TRANSPORT_NAMES = {"h2": "HTTP/2 (RFC 8441, extended CONNECT)"}
"""How the header names a transport other than HTTP/1.1 (``RunReport.transport``)."""
"""The outcomes ``-q`` names case by case."""


class Detail(Enum):
    """How much a run prints on stdout."""

    QUIET = "quiet"  # failing ids and the summary line
    LIST = "list"  # header, one line per case that did not pass, summary (the default)
    EVIDENCE = "evidence"  # header, an evidence block per such case, summary and table


SYMBOLS = {
    Outcome.PASS: "✓",
    Outcome.FAIL: "✗",
    Outcome.ERROR: "!",
    Outcome.WARN: "⚠",
    Outcome.INFO: "i",
    Outcome.UNSUPPORTED: "-",
}

_RESET = "\x1b[0m"
COLOURS = {
    Outcome.PASS: "\x1b[32m",  # green
    Outcome.FAIL: "\x1b[31m",  # red
    Outcome.ERROR: "\x1b[35m",  # magenta
    Outcome.WARN: "\x1b[33m",  # yellow
    Outcome.INFO: "\x1b[36m",  # cyan
    Outcome.UNSUPPORTED: "\x1b[2m",  # dim
}
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"

LABEL_WIDTH = len("Received")
HEADER_LABEL_WIDTH = len("preflight")


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and text else text


def _wrap(text: str, first: str, rest: str, width: int = WIDTH) -> list[str]:
    """``text`` on lines of at most ``width`` columns, after the given prefixes."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, an ellipsis marking the cut."""
    if len(text) <= width:
        return text
    return text[: max(width - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS


# the header ---------------------------------------------------------------------------


COPYABLE_FACTS = frozenset({"target", "command"})
"""Header facts never wrapped, so that they can be copied whole."""


def header_lines(report: RunReport, *, width: int = WIDTH) -> list[str]:
    """What was tested: tool and version, profile, target, server command, ``Server:``,
    and every preflight fact (peer-controlled text made printable, wrapped to ``width``
    but for the target and the command)."""
    title = f"wsconform {printable(report.tool_version)}"
    if report.profile:
        title += f" · profile {printable(report.profile)}"
    if report.strict:
        title += " · strict"
    facts = [("target", report.target_url)]
    if report.server_command:
        facts.append(("command", report.server_command))
    if report.server_header:
        facts.append(("server", report.server_header))
    if report.transport != "h1":
        facts.append(("transport", TRANSPORT_NAMES.get(report.transport, report.transport)))
    facts += [("preflight", fact) for fact in report.preflight]
    lines = [title]
    previous = ""
    indent = " " * (2 + HEADER_LABEL_WIDTH + 2)
    for label, text in facts:
        shown = "" if label == previous else label
        first = f"  {shown.ljust(HEADER_LABEL_WIDTH)}  "
        if label in COPYABLE_FACTS:
            lines.append(first + one_line(text))
        else:
            lines += _wrap(one_line(text), first, indent, max(width, MIN_WIDTH))
        previous = label
    return lines


def render_header(report: RunReport, *, color: bool, width: int = WIDTH) -> str:
    """:func:`header_lines` as text, the first line bold with colour."""
    lines = header_lines(report, width=width)
    lines[0] = _paint(lines[0], _BOLD, color)
    return "\n".join(lines) + "\n"


# one line per case (the default) ------------------------------------------------------


def section_title(results: list[CaseResult], catalog: Catalog | None) -> str:
    """The title of the section the ``results`` share, from a requirement they cite that
    belongs to that very section; empty when none does."""
    if catalog is None or not results:
        return ""
    section = results[0].section
    for result in results:
        for rid in result.requirements:
            requirement = catalog.get(rid)
            if requirement is not None and requirement.section == section:
                return one_line(requirement.title)
    return ""


def stopped_by_preflight(report: RunReport) -> dict[str, list[CaseResult]]:
    """The ERRORs a preflight fact stopped at once, by their reason (the default listing
    names each reason once, with the number of cases, instead of a line per case)."""
    stopped: dict[str, list[CaseResult]] = {}
    for result in report.results:
        if result.outcome is Outcome.ERROR and result.actual.startswith(PREFLIGHT_PREFIX):
            stopped.setdefault(result.actual, []).append(result)
    return stopped


def grouped_by_section(
    report: RunReport, leave_out: Collection[str] = ()
) -> list[list[CaseResult]]:
    """The cases that did not pass (but those whose ids are in ``leave_out``), one list
    per spec section in natural order, worst first within a section."""
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    for result in non_passing(report):
        if result.id in leave_out:
            continue
        groups.setdefault((result.spec, result.section), []).append(result)
    ordered = sorted(groups, key=lambda key: (key[0], section_key(key[1])))
    return [groups[key] for key in ordered]


def case_line(
    result: CaseResult, *, id_width: int, outcome_width: int, width: int, color: bool
) -> list[str]:
    """``  ✗ id  FAIL  reason``: the reason is the Actual text shortened to the width
    (on a line of its own when the id leaves too little room)."""
    code = COLOURS[result.outcome]
    case_id = printable(result.id)
    lead = (
        f"  {_paint(SYMBOLS[result.outcome], code, color)} {case_id.ljust(id_width)}  "
        f"{_paint(result.outcome.name, code, color)}"
        f"{' ' * (outcome_width - len(result.outcome.name))}  "
    )
    used = 2 + 2 + max(id_width, len(case_id)) + 2 + outcome_width + 2
    reason = one_line(result.actual)
    if width - used >= MIN_REASON:
        return [(lead + shorten(reason, width - used)).rstrip()]
    indent = " " * 6
    return [lead.rstrip(), indent + shorten(reason, max(width - len(indent), MIN_REASON))]


def render_list(
    report: RunReport,
    catalog: Catalog | None,
    *,
    color: bool,
    width: int = WIDTH,
    leave_out: Collection[str] = (),
) -> str:
    """A heading per section, then one line per case of it that did not pass (ids
    aligned within the section) but those in ``leave_out``; empty when there is none."""
    width = max(width, MIN_WIDTH)
    stopped = stopped_by_preflight(report)
    skipped = {r.id for same in stopped.values() for r in same} | set(leave_out)
    groups = grouped_by_section(report, skipped)
    out = [
        _paint(
            shorten(
                f"{SYMBOLS[Outcome.ERROR]} {len(same)} cases ERROR at once (ids: -q), "
                f"{printable(reason)}",
                width,
            ),
            COLOURS[Outcome.ERROR],
            color,
        )
        for reason, same in stopped.items()
    ]
    if not groups:
        return "\n".join(out) + "\n" if out else ""
    outcome_width = max(len(r.outcome.name) for group in groups for r in group)
    for group in groups:
        id_width = min(max(len(printable(r.id)) for r in group), width // 2)
        first = group[0]
        heading = printable(f"{first.spec} §{first.section}" if first.section else first.spec)
        title = section_title(group, catalog)
        if title:
            heading = f"{heading} {title}"
        out.append(_paint(shorten(heading, width), _BOLD, color))
        for result in group:
            out += case_line(
                result, id_width=id_width, outcome_width=outcome_width, width=width, color=color
            )
    return "\n".join(out) + "\n"


# the security part ---------------------------------------------------------------------


ADVICE_LABELS = ("advice", "source")
"""The labels of a theme's advice lines, in order."""


def _theme_lines(
    group: ThemeGroup, *, id_width: int, outcome_width: int, width: int, color: bool
) -> list[str]:
    """A theme's heading, its checks that did not pass, then its advice and source."""
    lines = [_paint(shorten(printable(f"{group.title} · {group.tally}"), width), _BOLD, color)]
    for result in group.findings:
        lines += case_line(
            result, id_width=id_width, outcome_width=outcome_width, width=width, color=color
        )
    label_width = max(len(label) for label in ADVICE_LABELS)
    indent = " " * (4 + label_width + 2)
    for label, text in zip(ADVICE_LABELS, (group.advice, group.source), strict=True):
        if text:
            lines += _labelled(
                label, f"    {label.ljust(label_width)}  ", text, indent, width, color
            )
    return lines


def _labelled(
    label: str, first: str, text: str, rest: str, width: int, color: bool, code: str = _DIM
) -> list[str]:
    """``text`` wrapped after ``first`` (which holds ``label``), the label painted."""
    lines = _wrap(one_line(text), first, rest, width)
    lines[0] = lines[0].replace(label, _paint(label, code, color), 1)
    return lines


def security_lines(part: SecurityPart, *, color: bool, width: int = WIDTH) -> list[str]:
    """The "Security" part: the policy line, each theme with findings, the themes passed."""
    width = max(width, MIN_WIDTH)
    lines = _labelled(TITLE, f"{TITLE} · ", part.policy, "  ", width, color, _BOLD)
    findings = [r for group in part.flagged for r in group.findings]
    id_width = min(max((len(printable(r.id)) for r in findings), default=0), width // 2)
    outcome_width = max((len(r.outcome.name) for r in findings), default=0)
    for group in part.flagged:
        lines += _theme_lines(
            group, id_width=id_width, outcome_width=outcome_width, width=width, color=color
        )
    if part.passed:
        green = COLOURS[Outcome.PASS]
        lines += _labelled("passed:", "passed: ", part.passed_line, "  ", width, color, green)
    return lines


def render_security(report: RunReport, *, color: bool, width: int = WIDTH) -> str:
    """:func:`security_lines` as text; empty when the run has no security check."""
    part = security_part(report)
    return "" if part is None else "\n".join(security_lines(part, color=color, width=width)) + "\n"


# -q ------------------------------------------------------------------------------------


def render_quiet(report: RunReport, *, color: bool) -> str:
    """``FAIL  <id>`` for each case that FAILed, ERRORed or WARNed, then the summary."""
    width = max(len(outcome.name) for outcome in QUIET_OUTCOMES)
    lines = [
        f"{_paint(r.outcome.name, COLOURS[r.outcome], color)}"
        f"{' ' * (width - len(r.outcome.name))}  {printable(r.id)}"
        for r in non_passing(report)
        if r.outcome in QUIET_OUTCOMES
    ]
    lines.append(_summary_painted(report, color))
    return "\n".join(lines) + "\n"


# -v: evidence blocks ------------------------------------------------------------------


def _field(label: str, text: str, color: bool) -> list[str]:
    """``  Expected: text`` with the label right-aligned and the text wrapped under itself."""
    head = f"  {label.rjust(LABEL_WIDTH)}: "
    lines = _wrap(one_line(text), head, " " * len(head))
    if color:
        lines[0] = lines[0].replace(f"{label}:", _paint(f"{label}:", _BOLD, color), 1)
    return lines


def _dump(label: str, data: bytes, total: int, color: bool) -> list[str]:
    pad = " " * (LABEL_WIDTH + 4)
    view = evidence_view(data, total, EVIDENCE_LIMIT)
    label_text = _paint(f"{label}:", _BOLD, color)
    first = f"  {' ' * (LABEL_WIDTH - len(label))}{label_text} {view[0]}"
    return [first, *(pad + line for line in view[1:])]


def render_case(
    result: CaseResult, catalog: Catalog | None, target_url: str, *, color: bool
) -> str:
    """The evidence block of one case (no trailing newline)."""
    code = COLOURS[result.outcome]
    head = (
        f"{_paint(SYMBOLS[result.outcome], code, color)} {printable(result.id)}  "
        f"{one_line(result.title)}  "
        f"{_paint('[' + result.outcome.name + ']', code, color)}"
    )
    lines = [head]
    for line in requirement_lines(result.requirements, catalog):
        lines.append(f"  {_paint('Requirement:', _BOLD, color)} {line.headline}")
        if line.quote:
            lines.extend(_wrap(f'"{line.quote}"', "    ", "     "))
        if line.link:
            lines.append("    " + _paint(line.link, _DIM, color))
    lines += _field("Expected", result.expected, color)
    lines += _field("Actual", result.actual, color)
    lines += _dump("Sent", result.sent, result.sent_total, color)
    lines += _dump("Received", result.received, result.received_total, color)
    for index, note in enumerate(result.notes):
        label = "  Notes: " if index == 0 else "         "
        lines += _wrap(one_line(note), label, "         ")
    lines.append(f"  {_paint('Reproduce:', _BOLD, color)} {reproduce_line(result, target_url)}")
    return "\n".join(lines)


def render_failures(report: RunReport, catalog: Catalog | None, *, color: bool) -> str:
    """A block per case that did not pass, worst first; empty when every case passed."""
    blocks = [
        render_case(result, catalog, report.target_url, color=color)
        for result in non_passing(report)
    ]
    return "\n\n".join(blocks) + ("\n" if blocks else "")


# the summary --------------------------------------------------------------------------


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def summary_line(report: RunReport) -> str:
    """``42 cases: 40 passed, 1 failed, 1 warning, 0 info, 0 unsupported, 0 errors in 1.23s``."""
    counts = report.summary()
    parts = [
        f"{counts['pass']} passed",
        f"{counts['fail']} failed",
        _plural(counts["warn"], "warning", "warnings"),
        f"{counts['info']} info",
        f"{counts['unsupported']} unsupported",
        _plural(counts["error"], "error", "errors"),
    ]
    cases = _plural(len(report.results), "case", "cases")
    return f"{cases}: {', '.join(parts)} in {report.duration_s:.2f}s"


def _summary_painted(report: RunReport, color: bool) -> str:
    verdict = Outcome.FAIL if report.failed else Outcome.PASS
    return _paint(summary_line(report), COLOURS[verdict] + _BOLD, color)


_COLUMNS = {
    Outcome.PASS: "pass",
    Outcome.FAIL: "fail",
    Outcome.WARN: "warn",
    Outcome.INFO: "info",
    Outcome.UNSUPPORTED: "unsup",
    Outcome.ERROR: "error",
}


def render_summary(report: RunReport, *, color: bool) -> str:
    """The one-line summary, then a table of counts per spec section."""
    out = [_summary_painted(report, color)]
    rows = section_counts(report)
    if rows:
        rows.append(("total", report.summary()))
        width = max(len("section"), *(len(label) for label, _ in rows))
        header = "section".ljust(width) + "".join(f"  {_COLUMNS[o]:>5}" for o in OUTCOME_ORDER)
        out += ["", _paint(header, _BOLD, color)]
        for label, counts in rows:
            cells = []
            for outcome in OUTCOME_ORDER:
                cell = f"{counts[outcome.value]:>5}"
                if counts[outcome.value] and outcome is not Outcome.PASS:
                    cell = _paint(cell, COLOURS[outcome], color)
                cells.append(f"  {cell}")
            out.append(label.ljust(width) + "".join(cells))
    return "\n".join(out) + "\n"


# a whole run --------------------------------------------------------------------------

MORE_HINT = "details: -v, or wsconform explain CASE_ID"
"""Where a server run's evidence is (``wsconform explain`` runs server cases only)."""


def render_run(
    report: RunReport,
    catalog: Catalog | None,
    *,
    detail: Detail,
    color: bool,
    width: int = WIDTH,
) -> str:
    """Everything a run prints on stdout at the given detail (progress is stderr's)."""
    if detail is Detail.QUIET:
        return render_quiet(report, color=color)
    parts = [render_header(report, color=color, width=width)]
    security = render_security(report, color=color, width=width)
    if detail is Detail.EVIDENCE:
        failures = render_failures(report, catalog, color=color)
        parts += [text for text in (failures, security) if text]
        parts.append(render_summary(report, color=color))
        return "\n".join(parts)
    security_ids = {result.id for result in security_results(report)}
    listing = render_list(report, catalog, color=color, width=width, leave_out=security_ids)
    parts += [text for text in (listing, security) if text]
    summary = _summary_painted(report, color) + "\n"
    if non_passing(report) and report.role == "server":
        summary += _paint(MORE_HINT, _DIM, color) + "\n"
    parts.append(summary)
    return "\n".join(parts)
