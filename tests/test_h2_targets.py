"""Third-party servers over HTTP/2 (RFC 8441): the target table's ``h2`` rows run.

Each target that declares ``h2`` in its ``transports`` (hypercorn, which serves h2c with
prior knowledge and ALPN h2 from the same launcher, and the HTTP/2-only Node http2 + ws
fixture) carries the §5.2 wire cases over extended CONNECT, in cleartext and with TLS,
to a complete, well-formed report without ERROR. Their verdicts are findings
(docs/findings.md, "Over HTTP/2"), never asserted here. Targets not installed are skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.cli.common import EXIT_FAILED, EXIT_OK
from conformance.runner import select_cases
from conformance.targets import table

ROOT = Path(__file__).resolve().parent.parent
CASES = "rfc6455/5.2"
CASE_TIMEOUT = "5"
STARTUP_TIMEOUT = "20"
H2_TARGETS = [t for t in (*table.TARGETS, *table.H2_ONLY_TARGETS) if table.H2 in t.transports]


def test_h2_rows_are_hypercorn_and_the_node_http2_fixture() -> None:
    assert {t.name for t in H2_TARGETS} == {"hypercorn", "node-ws-h2"}
    names = [t.name for t in (*table.TARGETS, *table.H2_ONLY_TARGETS)]
    assert len(set(names)) == len(names)


def test_http2_only_targets_stay_out_of_the_http1_table() -> None:
    """The matrix and tox run :data:`table.TARGETS` over HTTP/1.1: every row there speaks it."""
    assert all(table.H1 in t.transports for t in table.TARGETS)
    assert all(table.H1 not in t.transports for t in table.H2_ONLY_TARGETS)
    assert all(t.launcher.is_file() for t in table.H2_ONLY_TARGETS)


@pytest.mark.network
@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls-alpn-h2"])
@pytest.mark.parametrize("target", H2_TARGETS, ids=[t.name for t in H2_TARGETS])
def test_h2_wire_cases_run_to_a_well_formed_report(
    target: table.ServerTarget, tls: bool, tmp_path: Path
) -> None:
    reason = table.unavailable(target)
    if reason is not None:
        pytest.skip(f"{target.name}: {reason}")
    report = tmp_path / "report.json"
    argv = ["run", "--transport", "h2", "--cases", CASES, "--json", str(report), "-q"]
    argv += ["--timeout", CASE_TIMEOUT, "--startup-timeout", STARTUP_TIMEOUT]
    argv += ["--server-cmd", table.server_command(target, tls=tls, root=ROOT)]
    code = main([*argv, "--tls"] if tls else argv)
    assert code in (EXIT_OK, EXIT_FAILED)
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["target"]["transport"] == table.H2
    assert data["target"]["url"].startswith("wss://" if tls else "ws://")
    ids = [case["id"] for case in data["cases"]]
    assert ids and sorted(ids) == sorted(case.id for case in select_cases([CASES]))
    errors = [f"{c['id']}: {c['actual']}" for c in data["cases"] if c["outcome"] == "error"]
    assert not errors, errors
    assert data["summary"]["error"] == 0
    assert sum(data["summary"].values()) == len(ids)
