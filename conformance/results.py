"""The results of a run: what every report (terminal, JSON, JUnit, Markdown, HTML) reads."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import __version__
from .model.verdict import Level, Outcome

OUTCOME_ORDER = (
    Outcome.PASS,
    Outcome.FAIL,
    Outcome.WARN,
    Outcome.INFO,
    Outcome.UNSUPPORTED,
    Outcome.ERROR,
)


def wsconform_command(subcommand: str, target_args: Sequence[str], *options: str) -> str:
    """A shell-quoted ``wsconform`` command line.

    ``target_args`` name the target as on the command line: ``("ws://h:1/",)``,
    ``("--server-cmd", "node s.js {port}")``, or ``()`` for the reference server.
    """
    return shlex.join(["wsconform", subcommand, *target_args, *options])


def reproduce_command(target_args: Sequence[str], case_id: str) -> str:
    """The one command that re-runs just ``case_id`` against the same target."""
    return wsconform_command("run", target_args, "--cases", case_id)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case's verdict with its evidence."""

    id: str  # e.g. "rfc6455/4.2.1/missing-key"
    title: str
    outcome: Outcome
    level: Level
    requirements: tuple[str, ...]  # the case's own ids, then any others the peer broke
    expected: str
    actual: str
    duration_s: float
    # Bounded prefixes of the bytes each way; kept out of repr(), which asyncio.run
    # builds for a task's result (megabytes for a whole run).
    sent: bytes = field(default=b"", repr=False)
    received: bytes = field(default=b"", repr=False)
    sent_total: int = 0
    received_total: int = 0
    notes: tuple[str, ...] = ()  # how the spec's ambiguity was read, what was seen
    reproduce: str = ""  # one shell command that runs just this case

    @property
    def section(self) -> str:
        """The spec section from the id: "rfc6455/4.2.1/x" → "4.2.1"."""
        parts = self.id.split("/")
        return parts[1] if len(parts) > 2 else ""

    @property
    def spec(self) -> str:
        return self.id.split("/", 1)[0]


@dataclass(slots=True)
class RunReport:
    """Every result of one run against one target."""

    target_url: str
    role: str = "server"
    results: list[CaseResult] = field(default_factory=list)
    duration_s: float = 0.0
    started_at: str = ""  # ISO 8601, UTC
    tool_name: str = "ws-conformance"
    tool_version: str = __version__
    strict: bool = False  # WARN counts as a failure of the run
    profile: str = ""  # ``--profile`` of the run (``default``, ``full``), "" if none applies
    server_command: str = ""  # ``--server-cmd`` the suite started, if any
    server_header: str = ""  # the ``Server:`` header of the preflight's 101, if sent
    transport: str = "h1"  # what carried the WebSocket: h1 (HTTP/1.1) or h2 (RFC 8441)
    preflight: tuple[str, ...] = ()
    """What the preflight found that changes how cases run (one line each, e.g. no Pong)."""
    policy: tuple[str, ...] = ()
    """The security policy the user stated (``SecurityPolicy.describe()``, one line each);
    empty when none was stated. Shown in the reports' "Security" part."""
    error: str = ""
    """Why no case could run (the one-line diagnosis of exit 3), empty when they ran."""

    def summary(self) -> dict[str, int]:
        """Counts per outcome, every outcome present (JSON report contract)."""
        counts = {outcome.value: 0 for outcome in OUTCOME_ORDER}
        for result in self.results:
            counts[result.outcome.value] += 1
        return counts

    @property
    def failed(self) -> bool:
        """True when the run must exit non-zero for the verdicts (FAIL, ERROR, WARN if strict)."""
        bad = {Outcome.FAIL, Outcome.ERROR} | ({Outcome.WARN} if self.strict else set())
        return any(result.outcome in bad for result in self.results)
