"""What every report shows the same way: hex dumps, requirements, order and safe text."""

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


def hexdump(data: bytes, limit: int = 512, *, total: int | None = None) -> str:
    """A classic dump: offset, 16 hex bytes in two groups of 8, then ``|ASCII|``.

    At most ``limit`` bytes are shown. ``total`` is how many bytes there were in all
    when ``data`` is only a stored prefix; when more existed than are shown, a last
    line says ``… N more bytes (T in all)``. Nothing at all gives ``(no bytes)``.
    """
    total = len(data) if total is None else max(total, len(data))
    shown = data[: max(limit, 0)]
    lines: list[str] = []
    for offset in range(0, len(shown), BYTES_PER_LINE):
        chunk = shown[offset : offset + BYTES_PER_LINE]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        lines.append(f"{offset:08x}  {left:<23}  {right:<23}  |{_ascii_column(chunk)}|")
    if total > len(shown):
        lines.append(f"… {total - len(shown)} more bytes ({total} in all)")
    return "\n".join(lines) if lines else "(no bytes)"


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


def _natural(section: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in section.split("."))


def section_counts(report: RunReport) -> list[tuple[str, dict[str, int]]]:
    """Per spec section, counts per outcome (every outcome present), in natural order."""
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for result in report.results:
        counts = groups.setdefault(
            (result.spec, result.section), {o.value: 0 for o in OUTCOME_ORDER}
        )
        counts[result.outcome.value] += 1
    ordered = sorted(groups, key=lambda key: (key[0], _natural(key[1])))
    return [
        (printable(f"{spec} §{sec}" if sec else spec), groups[(spec, sec)]) for spec, sec in ordered
    ]
