"""The JSON report: the contract other tools read, and :func:`read_json` reads back.

Contract (extra fields may be added, never removed or renamed)::

    {"tool": {"name": "ws-conformance", "version": "…"},
     "target": {"url": "…", "role": "server"},
     "summary": {"pass": 0, "fail": 0, "warn": 0, "info": 0, "unsupported": 0, "error": 0},
     "cases": [{"id": "…", "title": "…", "outcome": "pass|fail|warn|info|unsupported|error",
                "requirements": ["…"], "expected": "…", "actual": "…", "duration_s": 0.0}]}

Extras: ``started_at``, ``duration_s``, ``strict``, ``profile``, ``preflight`` (a list
of the preflight's findings, one line each), ``policy`` (the security policy stated
with ``--profile security``, one line each; empty when none) and, only when no case
could run (exit 3, ``cases`` empty), ``error`` (the one-line diagnosis) at the top;
``server_command`` and ``server_header`` in ``target`` (empty when not known); per case
``level``, ``spec``, ``section``, ``sent_hex``, ``received_hex``, ``sent_total``,
``received_total``, ``notes`` and ``reproduce``. Bytes are lower-case hex strings.

Compact transcripts: the report grows with what went wrong, not with what was sent.
``sent_hex``/``received_hex`` hold a prefix of the bytes the suite kept: at most
:data:`PASS_BYTES` per direction for a PASS case, :data:`EVIDENCE_BYTES` for any
other outcome. ``sent_total``/``received_total`` always count every byte that went
across. When a direction was cut, two fields appear next to it::

    "received_kept": 65536,          # bytes the suite had kept before the cut
    "received_sha256": "9f86d0…",    # SHA-256 (lower-case hex) of those kept bytes

(``sent_kept``/``sent_sha256`` likewise). Without them the hex is all that was kept.
Readers ignore both; :func:`read_json` gives the prefix as the case's bytes.
"""

from __future__ import annotations

import hashlib
import json
from os import PathLike
from typing import Any

from ..model.verdict import Level, Outcome
from ..results import CaseResult, RunReport

StrPath = str | PathLike[str]

PASS_BYTES = 64
"""Bytes of each direction a PASS case keeps in the JSON (a request line, a frame head)."""
EVIDENCE_BYTES = 4096
"""Bytes of each direction any other case keeps in the JSON; the rest is digested."""


def bytes_limit(outcome: Outcome) -> int:
    """How many bytes of each direction a case with ``outcome`` keeps in the JSON."""
    return PASS_BYTES if outcome is Outcome.PASS else EVIDENCE_BYTES


def _transcript_fields(direction: str, data: bytes, limit: int) -> dict[str, Any]:
    """``<direction>_hex`` with at most ``limit`` bytes, and when cut the
    ``<direction>_kept`` size and ``<direction>_sha256`` digest of all of ``data``."""
    fields: dict[str, Any] = {f"{direction}_hex": data[: max(limit, 0)].hex()}
    if len(data) > limit:
        fields[f"{direction}_kept"] = len(data)
        fields[f"{direction}_sha256"] = hashlib.sha256(data).hexdigest()
    return fields


def case_to_json(result: CaseResult, limit: int | None = None) -> dict[str, Any]:
    """One case: the contract's fields first, then the extras.

    ``limit`` lowers the bytes kept of each direction below :func:`bytes_limit`
    (the matrix JSON keeps fewer); it never raises them.
    """
    cap = bytes_limit(result.outcome)
    if limit is not None:
        cap = min(cap, limit)
    return {
        "id": result.id,
        "title": result.title,
        "outcome": result.outcome.value,
        "requirements": list(result.requirements),
        "expected": result.expected,
        "actual": result.actual,
        "duration_s": result.duration_s,
        "level": result.level.value,
        "spec": result.spec,
        "section": result.section,
        **_transcript_fields("sent", result.sent, cap),
        **_transcript_fields("received", result.received, cap),
        "sent_total": result.sent_total,
        "received_total": result.received_total,
        "notes": list(result.notes),
        "reproduce": result.reproduce,
    }


def to_json(report: RunReport, limit: int | None = None) -> dict[str, Any]:
    """The whole run as JSON-ready data; ``limit`` as in :func:`case_to_json`."""
    return {
        "tool": {"name": report.tool_name, "version": report.tool_version},
        "target": {
            "url": report.target_url,
            "role": report.role,
            "server_command": report.server_command,
            "server_header": report.server_header,
            "transport": report.transport,
        },
        "summary": report.summary(),
        "cases": [case_to_json(result, limit) for result in report.results],
        "started_at": report.started_at,
        "duration_s": report.duration_s,
        "strict": report.strict,
        "profile": report.profile,
        "preflight": list(report.preflight),
        "policy": list(report.policy),
    } | ({"error": report.error} if report.error else {})


def write_json(report: RunReport, path: StrPath) -> None:
    """Write :func:`to_json` to ``path`` (ASCII-only JSON, so any text survives)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(to_json(report), fh, indent=2)
        fh.write("\n")


def _get(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{where}: {key!r} must be {kind.__name__}, not {value!r}")
    return value


def _optional(data: dict[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    return _get(data, key, kind, where) if key in data else default


def _strings(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _optional(data, key, list, [], where)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"{where}: {key!r} must be a list of strings")
    return tuple(values)


def _hex(data: dict[str, Any], key: str, where: str) -> bytes:
    try:
        return bytes.fromhex(_optional(data, key, str, "", where))
    except ValueError:
        raise ValueError(f"{where}: {key!r} is not a hex string") from None


def case_from_json(data: dict[str, Any], where: str = "case") -> CaseResult:
    """One case back from :func:`case_to_json` (extras optional); ValueError if malformed."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: a case must be an object")
    try:
        outcome = Outcome(_get(data, "outcome", str, where))
        level = Level(_optional(data, "level", str, Level.MUST.value, where))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return CaseResult(
        id=_get(data, "id", str, where),
        title=_get(data, "title", str, where),
        outcome=outcome,
        level=level,
        requirements=_strings(data, "requirements", where),
        expected=_get(data, "expected", str, where),
        actual=_get(data, "actual", str, where),
        duration_s=_get(data, "duration_s", float, where),
        sent=_hex(data, "sent_hex", where),
        received=_hex(data, "received_hex", where),
        sent_total=_optional(data, "sent_total", int, 0, where),
        received_total=_optional(data, "received_total", int, 0, where),
        notes=_strings(data, "notes", where),
        reproduce=_optional(data, "reproduce", str, "", where),
    )


def from_json(data: dict[str, Any]) -> RunReport:
    """A :class:`RunReport` back from :func:`to_json`; ValueError if malformed."""
    if not isinstance(data, dict):
        raise ValueError("report: the document must be an object")
    tool = _get(data, "tool", dict, "report")
    target = _get(data, "target", dict, "report")
    cases = _get(data, "cases", list, "report")
    return RunReport(
        target_url=_get(target, "url", str, "target"),
        role=_optional(target, "role", str, "server", "target"),
        results=[case_from_json(case, f"cases[{i}]") for i, case in enumerate(cases)],
        duration_s=_optional(data, "duration_s", float, 0.0, "report"),
        started_at=_optional(data, "started_at", str, "", "report"),
        tool_name=_optional(tool, "name", str, "ws-conformance", "tool"),
        tool_version=_optional(tool, "version", str, "", "tool"),
        strict=_optional(data, "strict", bool, False, "report"),
        server_command=_optional(target, "server_command", str, "", "target"),
        server_header=_optional(target, "server_header", str, "", "target"),
        transport=_optional(target, "transport", str, "h1", "target"),
        preflight=_strings(data, "preflight", "report"),
        policy=_strings(data, "policy", "report"),
        profile=_optional(data, "profile", str, "", "report"),
        error=_optional(data, "error", str, "", "report"),
    )


def read_json(path: StrPath) -> RunReport:
    """Read a report written by :func:`write_json`; ValueError if it is not one."""
    with open(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from None
    return from_json(data)
