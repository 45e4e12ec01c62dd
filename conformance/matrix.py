"""The suite against many servers (``wsconform matrix``): one JSON and one HTML page.

Targets come from ``--target NAME=CMD`` (a ``--server-cmd`` template with ``{port}``,
or a ``ws://``/``wss://`` URL of a running server), from ``--targets-file`` (one
``NAME=CMD`` per line, ``#`` comments; or a JSON object ``{"NAME": "CMD"}``), from
``--builtin-targets [NAME ...]`` (the table in :mod:`conformance.targets.table`; targets
not installed are listed as skipped). Merging saved reports instead, nothing run, is
:mod:`conformance.matrix_merge` (``--merge``).

Up to ``--jobs-targets`` servers run at once, each with ``--jobs`` cases in parallel.
A server that cannot be started or reached is recorded with its error and the others
still run.

The combined JSON::

    {"tool": {"name": "ws-conformance", "version": "…"}, "profile": "default",
     "started_at": "…", "duration_s": 0.0,
     "targets": [<a run report in the JSON report contract (json_report.to_json)
                  plus "name", "command", "version", and "error" when it could not run>],
     "skipped": [{"name": "…", "reason": "…"}]}

Each case keeps at most ``--json-bytes`` (1024) bytes of each direction in
``sent_hex``/``received_hex`` (fewer for a PASS, as in a run report);
``sent_total``/``received_total`` still count them all, and a cut direction has
``<dir>_kept`` and ``<dir>_sha256`` (see :mod:`conformance.reports.json_report`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import __version__
from .cases.base import Case
from .driver import ConfigError, Target, Unreachable
from .reports import json_report
from .reports.evidence import printable
from .reports.matrix_html import Matrix, MatrixEntry
from .results import OUTCOME_ORDER, RunReport
from .runner import DEFAULT_TIMEOUT, run_suite
from .server_process import ServerCommand, ServerCommandFailed
from .targets.table import matrix_targets
from .tls import TlsFiles, make_tls_files

DEFAULT_JOBS_TARGETS = 2
DEFAULT_JSON_BYTES = 1024
"""Bytes of each direction per case in the combined JSON: the HTML shows 512; the
per-case reproduce command gives the rest; 64 KiB transcripts × cases × servers would
make the file tens of megabytes."""
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


class MatrixInputError(Exception):
    """A target list or saved report that cannot be used (the command line reports it)."""


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One server of the matrix: a command the suite starts, or a URL."""

    name: str
    command: str = ""
    url: str = ""
    version: str = ""

    @property
    def shown(self) -> str:
        return self.command or self.url


def parse_target(text: str, where: str = "--target") -> TargetSpec:
    """``NAME=CMD`` or ``NAME=ws://…``; MatrixInputError if malformed."""
    name, sep, rest = text.partition("=")
    name, rest = name.strip(), rest.strip()
    if not sep or not rest:
        raise MatrixInputError(f"{where} {text!r}: expected NAME=CMD or NAME=URL")
    return _spec(name, rest, where)


def _spec(name: str, value: str, where: str, version: str = "") -> TargetSpec:
    if not NAME_PATTERN.fullmatch(name):
        raise MatrixInputError(
            f"{where}: bad target name {name!r} (letters, digits, '.', '_', '+', '-'; "
            "at most 64 characters)"
        )
    if re.match(r"wss?://", value, re.IGNORECASE):
        try:
            Target.parse(value)
        except ConfigError as exc:
            raise MatrixInputError(f"{where} {name}: {exc}") from None
        return TargetSpec(name, url=value, version=version)
    _check_template(value, f"{where} {name}")
    return TargetSpec(name, command=value, version=version)


def _check_template(template: str, where: str) -> None:
    if "{port}" not in template:
        raise MatrixInputError(f"{where}: the command must contain {{port}}")
    try:
        template.format(port="1", host="h", cert="c", key="k")
    except (KeyError, IndexError, ValueError) as exc:
        raise MatrixInputError(
            f"{where}: bad placeholder {exc} in {template!r}; use {{port}}, {{host}}, "
            "{cert} or {key} (double other braces)"
        ) from None


def read_targets_file(path: str) -> list[TargetSpec]:
    """Targets from ``path``: ``NAME=CMD`` lines, or a JSON object ``{NAME: CMD}``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MatrixInputError(f"cannot read --targets-file {path}: {exc}") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MatrixInputError(f"--targets-file {path}: not JSON: {exc}") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise MatrixInputError(f"--targets-file {path}: expected {{NAME: CMD}} strings")
        return [_spec(k.strip(), v.strip(), f"{path}") for k, v in data.items()]
    specs = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            specs.append(parse_target(line, f"{path}:{number}"))
    return specs


def builtin_targets(
    names: Sequence[str], *, tls: bool
) -> tuple[list[TargetSpec], list[tuple[str, str]]]:
    """The target table (:mod:`conformance.targets.table`): (runnable specs, skipped)."""
    try:
        runnable, skipped = matrix_targets(names, tls=tls, python=sys.executable)
    except ValueError as exc:
        raise MatrixInputError(f"--builtin-targets: {exc}") from None
    specs = [TargetSpec(name, command=cmd, version=version) for name, cmd, version in runnable]
    return specs, [(name, reason) for name, reason in skipped]


def entry_to_json(entry: MatrixEntry, json_bytes: int | None = None) -> dict[str, Any]:
    """One server: the run report's JSON (or an empty one with ``error``) plus its name.

    With ``json_bytes`` the stored bytes of each direction are cut to that many
    (``sent_total``/``received_total`` still say how many went across).
    """
    report = entry.report or RunReport(target_url=entry.command)
    data = json_report.to_json(report, json_bytes)
    data.update(name=entry.name, command=entry.command, version=entry.version)
    if entry.report is None:
        data["error"] = entry.error
    return data


def matrix_to_json(matrix: Matrix, json_bytes: int | None = None) -> dict[str, Any]:
    """The combined JSON (module docstring); ``json_bytes`` as in :func:`entry_to_json`."""
    return {
        "tool": {"name": matrix.tool_name, "version": matrix.tool_version},
        "profile": matrix.profile,
        "started_at": matrix.started_at,
        "duration_s": matrix.duration_s,
        "targets": [entry_to_json(entry, json_bytes) for entry in matrix.entries],
        "skipped": [{"name": name, "reason": reason} for name, reason in matrix.skipped],
    }


Done = Callable[[MatrixEntry], None]


async def _run_one(
    spec: TargetSpec,
    cases: Sequence[Case],
    *,
    timeout: float,
    jobs: int,
    startup_timeout: float,
    strict: bool,
    tls: TlsFiles | None,
    ca_context: ssl.SSLContext | None,
) -> MatrixEntry:
    def entry(report: RunReport | None, error: str = "") -> MatrixEntry:
        return MatrixEntry(spec.name, report, spec.shown, spec.version, printable(error))

    try:
        if spec.url:
            target = Target.parse(spec.url, ca_context)
            report = await run_suite(
                target, cases, timeout=timeout, jobs=jobs, strict=strict, target_args=(spec.url,)
            )
            return entry(report)
        command = ServerCommand(
            spec.command,
            startup_timeout=startup_timeout,
            cert=tls.cert if tls else None,
            key=tls.key if tls else None,
        )
        scheme = "wss" if tls else "ws"
        named = ("--server-cmd", spec.command, *(("--tls",) if tls else ()))
        async with command as server:
            target = Target.parse(
                f"{scheme}://{server.host}:{server.port}/", tls.client_context() if tls else None
            )
            report = await run_suite(
                target, cases, timeout=timeout, jobs=jobs, strict=strict, target_args=named
            )
        return entry(report)
    except (ServerCommandFailed, Unreachable, ConfigError, ValueError, OSError) as exc:
        return entry(None, str(exc) or type(exc).__name__)


async def run_matrix(
    specs: Sequence[TargetSpec],
    cases: Sequence[Case],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = 4,
    jobs_targets: int = DEFAULT_JOBS_TARGETS,
    startup_timeout: float = 30.0,
    strict: bool = False,
    tls: bool = False,
    ca_context: ssl.SSLContext | None = None,
    done: Done | None = None,
    profile: str = "default",
) -> Matrix:
    """Run ``cases`` against every target, at most ``jobs_targets`` at once; entries in order."""
    if jobs_targets < 1 or jobs < 1:
        raise ValueError("jobs and jobs_targets must be at least 1")
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    gate = asyncio.Semaphore(jobs_targets)
    with contextlib.ExitStack() as stack:
        files = (
            make_tls_files(Path(stack.enter_context(tempfile.TemporaryDirectory())))
            if tls
            else None
        )

        async def one(spec: TargetSpec) -> MatrixEntry:
            async with gate:
                result = await _run_one(
                    spec,
                    cases,
                    timeout=timeout,
                    jobs=jobs,
                    startup_timeout=startup_timeout,
                    strict=strict,
                    tls=files,
                    ca_context=ca_context,
                )
            if done is not None:
                done(result)
            return result

        entries = list(await asyncio.gather(*(one(spec) for spec in specs)))
    return Matrix(
        entries=entries,
        profile=profile,
        started_at=started_at,
        duration_s=round(time.perf_counter() - clock, 3),
        tool_version=__version__,
    )


def entry_summary_line(entry: MatrixEntry) -> str:
    label = f"{entry.name} ({entry.version})" if entry.version else entry.name
    if entry.report is None:
        return f"{label}: could not run: {entry.error}"
    counts = entry.report.summary()
    parts = ", ".join(f"{counts[o.value]} {o.value}" for o in OUTCOME_ORDER if counts[o.value])
    return f"{label}: {len(entry.report.results)} cases: {parts} in {entry.report.duration_s:.2f}s"


def render_table(matrix: Matrix) -> str:
    """A plain-text table: one row per server, counts per outcome."""
    width = max([len(e.name) for e in matrix.entries] + [6])
    head = f"{'server':<{width}} " + " ".join(f"{o.value[:5]:>6}" for o in OUTCOME_ORDER)
    lines = [head + "  seconds"]
    for entry in matrix.entries:
        if entry.report is None:
            lines.append(f"{entry.name:<{width}} could not run: {entry.error}")
            continue
        counts = entry.report.summary()
        cells = " ".join(f"{counts[o.value]:>6}" for o in OUTCOME_ORDER)
        lines.append(f"{entry.name:<{width}} {cells}  {entry.report.duration_s:7.2f}")
    for name, reason in matrix.skipped:
        lines.append(f"{name:<{width}} skipped: {reason}")
    return "\n".join(printable(line) for line in lines)
