"""What every report shows the same way: hex dumps, HTTP heads as text, requirements,
order and safe text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..catalog import Catalog, Requirement
from ..model.verdict import Outcome
from ..results import OUTCOME_ORDER, CaseResult, RunReport, reproduce_command

BYTES_PER_LINE = 16

NON_PASS_ORDER = (
    Outcome.FAIL,
    Outcome.ERROR,
    Outcome.WARN,
    Outcome.INFO,
    Outcome.UNSUPPORTED,
)
"""The order in which reports list the cases that did not pass, worst first."""

OUTCOME_LABELS = {
    Outcome.PASS: "passed",
    Outcome.FAIL: "failed",
    Outcome.WARN: "warning",
    Outcome.INFO: "info",
    Outcome.UNSUPPORTED: "unsupported",
    Outcome.ERROR: "error",
}

# C0 controls but tab and newline, DEL, C1 controls, surrogates, non-characters and the
# bidirectional overrides that could reorder a terminal line ("Trojan Source").
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with control, surrogate and bidi characters shown as ``\\xNN``/``\\uNNNN``.

    Everything a peer influenced goes through this before it reaches a terminal, an
    XML or an HTML document, so none of them can carry escape sequences or bytes that
    are illegal in XML 1.0.
    """
    return _UNSAFE.sub(_escape_char, text)


def one_line(text: str) -> str:
    """``text`` made printable with every run of whitespace collapsed to one space."""
    return " ".join(printable(text).split())


def _ascii_column(chunk: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)


def hexdump(data: bytes, limit: int = 512, *, total: int | None = None, start: int = 0) -> str:
    """A classic dump: offset, 16 hex bytes in two groups of 8, then ``|ASCII|``.

    At most ``limit`` bytes are shown. ``total`` is how many bytes there were in all
    when ``data`` is only a stored prefix; when more existed than are shown, a last
    line says ``… N more bytes (T in all)``. Nothing at all gives ``(no bytes)``.
    ``start`` is the offset of ``data`` in the stream it came from (after an HTTP head).
    """
    total = len(data) if total is None else max(total, len(data))
    shown = data[: max(limit, 0)]
    lines: list[str] = []
    for offset in range(0, len(shown), BYTES_PER_LINE):
        chunk = shown[offset : offset + BYTES_PER_LINE]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        where = start + offset
        lines.append(f"{where:08x}  {left:<23}  {right:<23}  |{_ascii_column(chunk)}|")
    if total > len(shown):
        lines.append(f"… {total - len(shown)} more bytes ({total} in all)")
    return "\n".join(lines) if lines else "(no bytes)"


HEAD_LINE_CHARS = 200
"""Characters of one HTTP head line shown as text; the rest is counted, not shown."""
HEAD_LINES = 60
"""HTTP head lines shown as text; further lines are counted, not shown."""

_REQUEST_LINE = re.compile(rb"[!-~]+ [!-~]+ HTTP/[0-9.]+")


@dataclass(frozen=True, slots=True)
class HttpHeadView:
    """Bytes that open with an HTTP head (RFC 9112 §2.1), split for people to read.

    ``lines`` are the head's lines as text, the blank line that ends it left out: a
    printable ASCII byte is itself, any other byte ``\\xNN``, so nothing a peer sent
    reaches a terminal raw. A line ended by a bare LF instead of CRLF shows the LF as
    ``\\x0a``; a stray CR shows as ``\\x0d``. ``rest`` is what was stored after the
    head (frames, or a body), for a hex view.
    """

    lines: tuple[str, ...]
    head_length: int  # bytes of the head, its ending blank line included
    complete: bool  # the blank line ending the head was seen
    rest: bytes


def _text_of(raw: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in raw)


def _lines_of(raw: bytes) -> list[bytes]:
    """``raw`` cut after each LF (a CR alone does not end a line in an HTTP head)."""
    parts = raw.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def _head_line(raw: bytes) -> str:
    """One line of a head as safe text, bounded by :data:`HEAD_LINE_CHARS`."""
    body = raw[:-2] if raw.endswith(b"\r\n") else raw
    text = _text_of(body)
    if len(text) > HEAD_LINE_CHARS:
        text = f"{text[:HEAD_LINE_CHARS]}… ({len(body)} bytes in all)"
    return text


def starts_with_http_head(data: bytes) -> bool:
    """True when the first line is an HTTP status line or request line."""
    first = data.split(b"\n", 1)[0].removesuffix(b"\r")
    return first.startswith(b"HTTP/") or _REQUEST_LINE.fullmatch(first) is not None


def http_head_view(data: bytes) -> HttpHeadView | None:
    """The HTTP head at the start of ``data`` as text lines, or None when there is none.

    The head ends at the first empty line (CRLF, or a bare LF from a lax peer); a stored
    prefix without one is all head (``complete`` False).
    """
    if not starts_with_http_head(data):
        return None
    raw_lines: list[bytes] = []
    head_length = 0
    complete = False
    for raw in _lines_of(data):
        head_length += len(raw)
        if raw in (b"\r\n", b"\n"):
            complete = True
            break
        raw_lines.append(raw)
    lines = [_head_line(raw) for raw in raw_lines[:HEAD_LINES]]
    if len(raw_lines) > HEAD_LINES:
        lines.append(f"… {len(raw_lines) - HEAD_LINES} more lines")
    return HttpHeadView(tuple(lines), head_length, complete, data[head_length:])


def byte_count(stored: bytes, total: int) -> int:
    """How many bytes went across: the recorded total, never less than what was kept."""
    return max(total, len(stored))


@dataclass(frozen=True, slots=True)
class RequirementLine:
    """A requirement id with its catalog record, if the catalog knows it."""

    id: str
    requirement: Requirement | None

    @property
    def headline(self) -> str:
        """``RFC 6455 §4.2.1 (MUST, server) <id>``, or ``unknown requirement <id>``."""
        req = self.requirement
        if req is None:
            return f"unknown requirement {printable(self.id)}"
        where = f"{req.spec} §{req.section}" if req.section else req.spec
        return printable(f"{where} ({req.keyword}, {req.party}) {req.id}")

    @property
    def quote(self) -> str:
        """The verbatim quote on one line (empty when unknown)."""
        return one_line(self.requirement.quote) if self.requirement else ""

    @property
    def link(self) -> str:
        return printable(self.requirement.link) if self.requirement else ""


def requirement_lines(ids: Iterable[str], catalog: Catalog | None) -> list[RequirementLine]:
    """Resolve ``ids`` in order (duplicates dropped); unknown ids are kept, never raised."""
    unique = dict.fromkeys(ids)
    return [
        RequirementLine(rid, catalog.get(rid) if catalog is not None else None) for rid in unique
    ]


def non_passing(report: RunReport) -> list[CaseResult]:
    """The cases that did not pass: FAIL, then ERROR, WARN, INFO, UNSUPPORTED (stable)."""
    rank = {outcome: index for index, outcome in enumerate(NON_PASS_ORDER)}
    cases = [r for r in report.results if r.outcome is not Outcome.PASS]
    return sorted(cases, key=lambda r: rank[r.outcome])


def reproduce_line(result: CaseResult, target_url: str) -> str:
    """The case's own command, or one built from the target and the case id."""
    return printable(result.reproduce or reproduce_command((target_url,), result.id))


def section_key(section: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key putting sections in natural order: 4.2 < 4.2.1 < 4.10 < 10."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in section.split("."))


def section_counts(report: RunReport) -> list[tuple[str, dict[str, int]]]:
    """Per spec section, counts per outcome (every outcome present), in natural order."""
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for result in report.results:
        counts = groups.setdefault(
            (result.spec, result.section), {o.value: 0 for o in OUTCOME_ORDER}
        )
        counts[result.outcome.value] += 1
    ordered = sorted(groups, key=lambda key: (key[0], section_key(key[1])))
    return [
        (printable(f"{spec} §{sec}" if sec else spec), groups[(spec, sec)]) for spec, sec in ordered
    ]


def evidence_view(data: bytes, total: int, limit: int) -> list[str]:
    """The bytes one way: an HTTP head as its text lines, the rest (frames, a body) and
    bytes that are no HTTP head as a hex dump of at most ``limit`` bytes."""
    total = max(total, len(data))
    view = http_head_view(data)
    if view is None:
        return hexdump(data, limit, total=total).splitlines()
    lines = list(view.lines)
    if not view.complete:
        more = total - len(data)
        lines.append(f"(head incomplete{f', {more} more bytes not kept' if more else ''})")
        return lines
    after = total - view.head_length
    if after > 0:
        lines.append(f"then {after} bytes after the head:")
        dump = hexdump(view.rest, limit, total=after, start=view.head_length)
        lines += dump.splitlines()
    return lines
