"""Terminal output in the spirit of h2spec: one evidence block per case that did not pass.

::

    ✗ rfc6455/4.2.1/missing-key  A request without Sec-WebSocket-Key is refused  [FAIL]
      Requirement: RFC 6455 §4.2.1 (MUST, server) rfc6455-4.2.1-key-16-bytes
        "A |Sec-WebSocket-Key| header field with a base64-encoded ..."
        https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
      Expected: an HTTP error response (status 400-599)
        Actual: HTTP 101 Switching Protocols; TCP still open
          Sent: 00000000  47 45 54 ...
      Received: ...
      Reproduce: wsconform run ws://127.0.0.1:9001/ --cases 'rfc6455/4.2.1/missing-key'

ANSI colours are used only when asked for; peer-controlled text is always made
printable first, so a peer cannot inject escape sequences.
"""

from __future__ import annotations

import textwrap

from ..catalog import Catalog
from ..model.verdict import Outcome
from ..results import OUTCOME_ORDER, CaseResult, RunReport
from .evidence import (
    hexdump,
    non_passing,
    one_line,
    printable,
    reproduce_line,
    requirement_lines,
    section_counts,
)

WIDTH = 100
EVIDENCE_LIMIT = 256
"""Bytes of each direction shown in a block."""

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


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and text else text


def _wrap(text: str, first: str, rest: str) -> list[str]:
    """``text`` on lines of at most ``WIDTH`` columns, after the given prefixes."""
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _field(label: str, text: str, color: bool) -> list[str]:
    """``  Expected: text`` with the label right-aligned and the text wrapped under itself."""
    head = f"  {label.rjust(LABEL_WIDTH)}: "
    lines = _wrap(one_line(text), head, " " * len(head))
    if color:
        lines[0] = lines[0].replace(f"{label}:", _paint(f"{label}:", _BOLD, color), 1)
    return lines


def _dump(label: str, data: bytes, total: int, color: bool) -> list[str]:
    head = f"  {label.rjust(LABEL_WIDTH)}: "
    pad = " " * len(head)
    dump = hexdump(data, EVIDENCE_LIMIT, total=total).splitlines()
    label_text = _paint(f"{label}:", _BOLD, color)
    first = f"  {' ' * (LABEL_WIDTH - len(label))}{label_text} {dump[0]}"
    return [first, *(pad + line for line in dump[1:])]


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
    line = summary_line(report)
    verdict = Outcome.FAIL if report.failed else Outcome.PASS
    out = [_paint(line, COLOURS[verdict] + _BOLD, color)]
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
