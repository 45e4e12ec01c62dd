"""Run the client scenarios against one adapter and build the run report.

Name lookups and unroutable addresses must never leave the machine, so the two
scenarios that need them run only inside a loopback-only network namespace
(:func:`isolated`); elsewhere they are reported as ERROR with the reason.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from ..cases.base import Case
from ..model.verdict import Level, Outcome
from ..results import CaseResult, RunReport
from ..runner import default_timeout, select_cases
from .harness import AdapterArgv, AdapterProcess, run_scenarios
from .judge import scenario_case_result
from .observation import ClientObservation
from .run_checks import indistinguishable, opening_requests, tls_control
from .scenarios import SCENARIOS, ClientScenario, Profile
from .wire_cases import client_wire_cases
from .wire_run import WireProgress, run_wire_cases

NETNS_ENV = "WSCONFORM_NETNS"
"""Set (to "1") in the environment of a run re-executed in its own network namespace."""

NEEDS_NAMESPACE = ("unresolvable", "unroutable")

RUN_WIDE = ("client/handshake/opening-request", "client/handshake/key-per-connection")
"""Results judged over the whole run rather than one scenario (after the scenarios)."""

WHATWG_RUN_WIDE = ("client/whatwg/indistinguishable", "client/whatwg/failure-timing")
"""The run-wide results of the ``whatwg`` profile, always present, after the scenarios."""


def runnable_here(scenarios: Iterable[ClientScenario]) -> list[ClientScenario]:
    """``scenarios`` without those that need a loopback-only namespace, unless in one."""
    return [s for s in scenarios if isolated() or s.name not in NEEDS_NAMESPACE]


def isolated() -> bool:
    """True inside the loopback-only namespace this module made."""
    return os.environ.get(NETNS_ENV) == "1"


def namespace_prefix() -> list[str] | None:
    """argv prefix that runs a command in a new network namespace with ``lo`` up, or None.

    ``unshare -n`` as root; ``unshare -rn`` (a user namespace) otherwise. The prefix is
    tried once with ``true`` so that a kernel or container that forbids it is detected.
    """
    unshare, ip = shutil.which("unshare"), shutil.which("ip") or "/usr/sbin/ip"
    if unshare is None or not os.path.exists(ip):
        return None
    flags = "-n" if os.geteuid() == 0 else "-rn"
    prefix = [
        unshare,
        flags,
        "--",
        "sh",
        "-c",
        f'{ip} link set lo up && exec "$@"',
        "wsconform-netns",
    ]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if probe.returncode == 0 else None


def reexec_isolated(argv: Sequence[str]) -> int | None:
    """Run ``wsconform argv`` again inside a loopback-only namespace; its exit code, or None."""
    prefix = namespace_prefix()
    if prefix is None:
        return None
    env = {**os.environ, NETNS_ENV: "1"}
    entry = "import sys; from conformance.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [*prefix, sys.executable, "-c", entry, *argv]
    return subprocess.run(command, env=env, check=False).returncode


def select_scenarios(
    profile: Profile, include: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[ClientScenario]:
    """The scenarios of ``profile`` whose id matches an ``include`` glob (all if none)."""
    include, exclude = list(include), list(exclude)

    def hit(scenario: ClientScenario, pattern: str) -> bool:
        return fnmatch.fnmatchcase(scenario.id, pattern) or scenario.id.startswith(
            pattern.rstrip("/") + "/"
        )

    return [
        s
        for s in SCENARIOS
        if profile in s.profiles
        and (not include or any(hit(s, p) for p in include))
        and not any(hit(s, p) for p in exclude)
    ]


DEPTHS = ("default", "full")
"""How deep the wire cases go: ``full`` adds the large messages (RFC 6455 §10.4 rows)."""


def select_wire_cases(
    depth: str = "default", include: Iterable[str] = (), exclude: Iterable[str] = ()
) -> list[Case]:
    """The wire cases against a client (:mod:`.wire_cases`) of ``depth``, chosen as
    ``wsconform run`` chooses server cases (globs or section prefixes)."""
    return select_cases(
        include, exclude, role="client", profile=depth, cases=client_wire_cases("full")
    )


def report_ids(profile: Profile, depth: str = "default") -> list[str]:
    """The ids of a complete client report, in order, without :data:`RUN_WIDE`."""
    ids = [s.id for s in select_scenarios(profile)]
    if profile == "whatwg":
        ids += WHATWG_RUN_WIDE
    return ids + [c.id for c in select_wire_cases(depth)]


def not_isolated_result(scenario: ClientScenario) -> CaseResult:
    return CaseResult(
        id=scenario.id,
        title=scenario.title,
        outcome=Outcome.ERROR,
        level=Level.MUST,
        requirements=(),
        expected="run only in a loopback-only network namespace",
        actual="not run: this lookup or route could leave the machine; run as root or where "
        "'unshare -rn' works (wsconform does it by itself), or exclude the scenario",
        duration_s=0.0,
    )


Reproduce = Callable[[str], str]
ObservationProgress = Callable[[ClientObservation], None]


async def run_client_suite(
    argv: AdapterArgv,
    scenarios: Sequence[ClientScenario],
    profile: Profile,
    *,
    label: str,
    timeout: float = 5.0,
    reproduce: Reproduce | None = None,
    progress: ObservationProgress | None = None,
    strict: bool = False,
    wire_cases: Sequence[Case] = (),
    wire_timeout: float | None = None,
    wire_progress: WireProgress | None = None,
) -> RunReport:
    """Play ``scenarios`` through the adapter and judge them under ``profile``; then run
    ``wire_cases`` through it in echo mode (each within ``wire_timeout``, by default that
    of its depth, :func:`conformance.runner.default_timeout`)."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    runnable = runnable_here(scenarios)
    wire_results: list[CaseResult] = []
    full = any(case.profile == "full" for case in wire_cases)

    async def wire(adapter: AdapterProcess) -> None:
        wire_results.extend(
            await run_wire_cases(
                adapter,
                wire_cases,
                timeout=wire_timeout or default_timeout("full" if full else "default"),
                progress=wire_progress,
                reproduce=reproduce,
                profile=profile,
            )
        )

    client, observations = await run_scenarios(
        argv, runnable, timeout=timeout, progress=progress, after=wire if wire_cases else None
    )
    by_id = {o.scenario.id: o for o in observations}
    results: list[CaseResult] = []
    for scenario in scenarios:
        seen = by_id.get(scenario.id)
        if seen is None:
            results.append(not_isolated_result(scenario))
        else:
            results.append(
                scenario_case_result(seen, profile, reproduce(scenario.id) if reproduce else "")
            )
    results = tls_control(results, observations)
    results.extend(opening_requests(observations, profile))
    if profile == "whatwg":
        results.extend(indistinguishable(observations))
    results.extend(wire_results)
    return RunReport(
        target_url=f"{label} ({client})" if client else label,
        role=f"client ({profile})",
        results=results,
        duration_s=round(time.perf_counter() - clock, 3),
        started_at=started_at,
        strict=strict,
    )


def reproduce_for(base: Sequence[str]) -> Reproduce:
    """``wsconform client --adapter CMD --profile P --scenarios ID`` for each id."""
    return lambda scenario_id: shlex.join([*base, "--scenarios", scenario_id])
