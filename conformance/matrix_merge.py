"""``wsconform matrix --merge``: one matrix from saved reports, nothing run.

The inputs are ``wsconform run --json`` reports (one target each, typically one CI job
per target on different machines) and earlier ``wsconform matrix --json`` files, in
any mix. A run report is named by ``NAME=PATH`` or else by its file stem; a matrix
file's servers keep their names.

Only what a matrix shows is read: the tool, the target, the summary and per case the
id, outcome and the short texts of its evidence (title, requirements, Expected,
Actual, notes, reproduce). Transcripts (``sent_hex``/``received_hex``) are never
read: their byte counts are kept, the bytes stay in the per-target reports. So a
report whose transcript format changes (truncated, digested) still merges.

Refused, one line each (:class:`~conformance.matrix.MatrixInputError`): a file that
cannot be read or is not such a report; a case without an id or a known outcome; a
summary that disagrees with the cases (a truncated or edited report); two reports of
one target (the same name); a report not written by ws-conformance; server and
client reports mixed. Reports of different ws-conformance versions merge with a
warning (:attr:`Merged.warnings`), since a verdict may differ for the tool's sake.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import __version__
from .matrix import NAME_PATTERN, MatrixInputError
from .model.verdict import Level, Outcome
from .reports.matrix_html import Matrix, MatrixEntry
from .results import OUTCOME_ORDER, CaseResult, RunReport

TOOL_NAME = "ws-conformance"
DEFAULT_ROLE = "server"


@dataclass(frozen=True, slots=True)
class MergeInput:
    """One file given to ``--merge``: its path and, for a run report, a chosen name."""

    path: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> MergeInput:
        """``NAME=PATH`` or ``PATH`` (a path that exists as given is never split)."""
        name, sep, path = text.partition("=")
        if sep and path and NAME_PATTERN.fullmatch(name) and not Path(text).exists():
            return cls(path=path, name=name)
        return cls(path=text)


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where a merged server came from, for the messages."""

    path: str
    tool_version: str
    role: str


@dataclass(slots=True)
class Merged:
    """The merged matrix and the warnings to print (one line each)."""

    matrix: Matrix
    warnings: list[str] = field(default_factory=list)


def _load(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MatrixInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MatrixInputError(f"{path}: not UTF-8 text, not a JSON report") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MatrixInputError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise MatrixInputError(f"{path}: not a report (the document is not a JSON object)")
    return data


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _texts(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _count(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _seconds(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 0.0


def case_from_report(data: Any, where: str) -> CaseResult:
    """One case of a saved report, its transcript left unread; MatrixInputError if unusable."""
    if not isinstance(data, dict):
        raise MatrixInputError(f"{where}: a case must be a JSON object")
    case_id = data.get("id")
    if not isinstance(case_id, str) or not case_id:
        raise MatrixInputError(f"{where}: a case without an 'id'")
    try:
        outcome = Outcome(str(data.get("outcome")))
    except ValueError:
        known = ", ".join(o.value for o in OUTCOME_ORDER)
        raise MatrixInputError(
            f"{where} ({case_id}): outcome {data.get('outcome')!r} is not one of {known}"
        ) from None
    try:
        level = Level(data.get("level", Level.MUST.value))
    except ValueError:
        level = Level.MUST
    return CaseResult(
        id=case_id,
        title=_text(data, "title"),
        outcome=outcome,
        level=level,
        requirements=_texts(data, "requirements"),
        expected=_text(data, "expected"),
        actual=_text(data, "actual"),
        duration_s=_seconds(data, "duration_s"),
        sent_total=_count(data, "sent_total"),
        received_total=_count(data, "received_total"),
        notes=_texts(data, "notes"),
        reproduce=_text(data, "reproduce"),
    )


def _check_summary(summary: Any, report: RunReport, where: str) -> None:
    """The report's own counts must be those of its cases (else it was cut or edited)."""
    if not isinstance(summary, dict):
        return
    counts = report.summary()
    for outcome, seen in counts.items():
        stated = summary.get(outcome, 0)
        if stated != seen:
            raise MatrixInputError(
                f"{where}: its summary says {stated!r} {outcome} but its cases hold {seen} "
                "(a truncated or edited report)"
            )


def report_from_json(data: dict[str, Any], where: str) -> RunReport:
    """A run report (the ``wsconform run --json`` contract), transcripts left unread."""
    target = data.get("target")
    cases = data.get("cases")
    if not isinstance(target, dict) or not isinstance(cases, list):
        raise MatrixInputError(
            f"{where}: not a 'wsconform run --json' report (no 'target' object or 'cases' list)"
        )
    tool = _object(data, "tool")
    report = RunReport(
        target_url=_text(target, "url"),
        role=_text(target, "role") or DEFAULT_ROLE,
        results=[case_from_report(case, f"{where} cases[{i}]") for i, case in enumerate(cases)],
        duration_s=_seconds(data, "duration_s"),
        started_at=_text(data, "started_at"),
        tool_name=_text(tool, "name") or TOOL_NAME,
        tool_version=_text(tool, "version"),
        strict=data.get("strict") is True,
        server_command=_text(target, "server_command"),
        server_header=_text(target, "server_header"),
        preflight=_texts(data, "preflight"),
    )
    _check_summary(data.get("summary"), report, where)
    return report


def entry_from_json(data: Any, name: str, where: str) -> MatrixEntry:
    """One server: a run report with ``name``/``command``/``version``/``error`` extras;
    ``name`` unless the data names it. A bare run report's server command and
    ``Server:`` header stand in for the command and version."""
    if not isinstance(data, dict):
        raise MatrixInputError(f"{where}: not a JSON object")
    named = _text(data, "name") or name
    error = _text(data, "error")
    report = None if error else report_from_json(data, where)
    return MatrixEntry(
        name=named,
        report=report,
        command=_text(data, "command") or (report.server_command if report else ""),
        version=_text(data, "version") or (report.server_header if report else ""),
        error=error,
    )


def _entry_tool(data: dict[str, Any], fallback: dict[str, Any]) -> tuple[str, str]:
    tool = _object(data, "tool") or fallback
    return _text(tool, "name") or TOOL_NAME, _text(tool, "version")


def _role(data: dict[str, Any]) -> str:
    return _text(_object(data, "target"), "role") or DEFAULT_ROLE


def _entries(source: MergeInput, data: dict[str, Any]) -> list[tuple[MatrixEntry, _Origin, str]]:
    """Each server a file holds, with its origin and the tool that wrote it."""
    path = source.path
    if isinstance(data.get("targets"), list):
        if source.name:
            raise MatrixInputError(
                f"{source.name}={path}: a matrix file keeps its servers' names; give it "
                "without NAME="
            )
        file_tool = _object(data, "tool")
        found = []
        for index, target in enumerate(data["targets"]):
            where = f"{path} targets[{index}]"
            entry = entry_from_json(target, f"{Path(path).stem}-{index}", where)
            tool, version = _entry_tool(target, file_tool)
            found.append((entry, _Origin(path, version, _role(target)), tool))
        return found
    if "cases" not in data:
        raise MatrixInputError(
            f"{path}: neither a 'wsconform run --json' report nor a 'wsconform matrix --json' "
            "file (no 'cases' or 'targets' list)"
        )
    entry = entry_from_json(data, Path(path).stem, path)
    if source.name:
        entry = replace(entry, name=source.name)
    tool, version = _entry_tool(data, {})
    return [(entry, _Origin(path, version, _role(data)), tool)]


def _version_warning(origins: Sequence[_Origin]) -> str | None:
    files: dict[str, list[str]] = {}
    for origin in origins:
        if origin.tool_version:
            paths = files.setdefault(origin.tool_version, [])
            if origin.path not in paths:
                paths.append(origin.path)
    if len(files) < 2:
        return None
    listed = "; ".join(f"{version} ({', '.join(paths)})" for version, paths in files.items())
    return (
        f"reports from different {TOOL_NAME} versions: {listed}; a difference between "
        "servers may be the tool's"
    )


def merge_reports(sources: Sequence[MergeInput]) -> Merged:
    """One matrix from saved run reports and matrix files; MatrixInputError if unusable."""
    entries: list[MatrixEntry] = []
    origins: list[_Origin] = []
    seen: dict[str, str] = {}
    profiles: set[str] = set()
    skipped: list[tuple[str, str]] = []
    for source in sources:
        data = _load(source.path)
        if isinstance(data.get("targets"), list):
            profiles.add(_text(data, "profile"))
            skipped.extend(
                (_text(s, "name"), _text(s, "reason"))
                for s in data.get("skipped", [])
                if isinstance(s, dict)
            )
        for entry, origin, tool in _entries(source, data):
            if tool != TOOL_NAME:
                raise MatrixInputError(f"{origin.path}: written by {tool!r}, not {TOOL_NAME}")
            if entry.name in seen:
                raise MatrixInputError(
                    f"two reports of target {entry.name!r}: {seen[entry.name]} and "
                    f"{origin.path} (name one apart with NAME=PATH)"
                )
            seen[entry.name] = origin.path
            if origins and origin.role != origins[0].role:
                raise MatrixInputError(
                    f"{origin.path} is a {origin.role} report but {origins[0].path} is a "
                    f"{origins[0].role} report: a matrix compares one role"
                )
            entries.append(entry)
            origins.append(origin)
    versions = sorted({o.tool_version for o in origins if o.tool_version})
    matrix = Matrix(
        entries=entries,
        skipped=[item for item in dict(skipped).items() if item[0] not in seen],
        profile=profiles.pop() if len(profiles) == 1 else "",
        tool_version=", ".join(versions) or __version__,
    )
    warning = _version_warning(origins)
    return Merged(matrix, [warning] if warning else [])
