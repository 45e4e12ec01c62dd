"""The security profile as a whole (issue #15): ``wsconform run --profile security``.

The hardened reference server, with the policy options that match it, gets no WARN and no
FAIL from any check; a stated policy it does not meet (a credential it does not require)
is FAIL; every security fault names checks that exist; and the profile stays opt-in.
"""

from __future__ import annotations

import json
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

from conformance.cases import all_cases
from conformance.cases.security import security_cases
from conformance.cli import main
from conformance.cli.common import EXIT_OK, EXIT_USAGE
from conformance.hardening import HARDENED_POLICY
from conformance.policy.security import THEMES, theme_of
from conformance.runner import select_cases
from fixtures.security_faults import SECURITY_FAULTS

HARDENED_CMD = f"{sys.executable} -m conformance.hardening --port {{port}}"
PLAIN_CMD = f"{sys.executable} -m conformance.reference_server --port {{port}}"


def policy_options() -> list[str]:
    assert HARDENED_POLICY.auth_header is not None
    name, value = HARDENED_POLICY.auth_header
    return [
        "--origin-allow",
        *HARDENED_POLICY.origin_allow,
        "--auth-header",
        f"{name}: {value}",
        "--max-message-size",
        str(HARDENED_POLICY.max_message_size),
    ]


def run_json(tmp_path: Path, *args: str) -> tuple[int, dict[str, object]]:
    report = tmp_path / "report.json"
    code = main(["run", "--profile", "security", "-q", "--json", str(report), *args])
    return code, json.loads(report.read_text())


def outcomes(report: dict[str, object]) -> dict[str, str]:
    results = report["cases"]
    assert isinstance(results, list)
    return {r["id"]: r["outcome"] for r in results}


def test_security_checks_run_only_under_their_profile() -> None:
    default = select_cases(profile="default")
    full = select_cases(profile="full")
    security = select_cases(profile="security")
    assert not any(c.id.startswith("security/") for c in (*default, *full))
    assert security and all(c.id.startswith("security/") for c in security)
    assert {c.id for c in security} <= {c.id for c in all_cases()}


def test_every_check_belongs_to_a_theme_with_advice() -> None:
    for case in security_cases(HARDENED_POLICY):
        theme = theme_of(case.id)
        assert theme is not None and theme in THEMES.values(), case.id
        assert case.profile == "security" and case.role == "server"


def test_every_security_fault_names_checks_that_exist() -> None:
    ids = [case.id for case in security_cases(HARDENED_POLICY)]
    for fault in SECURITY_FAULTS.values():
        assert fault.reported_by, fault.name
        for glob in fault.reported_by:
            assert any(fnmatch(i, glob) for i in ids), (fault.name, glob)


def test_policy_options_need_the_security_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--origin-allow", "https://app.example"]) == EXIT_USAGE
    assert "--profile security" in capsys.readouterr().err


@pytest.mark.network
def test_hardened_server_gets_no_warn_or_fail_under_its_policy(tmp_path: Path) -> None:
    code, report = run_json(tmp_path, "--server-cmd", HARDENED_CMD, *policy_options())
    seen = outcomes(report)
    bad = {i: o for i, o in seen.items() if o in ("warn", "fail", "error")}
    assert not bad, bad
    assert code == EXIT_OK
    assert len(seen) == len(security_cases(HARDENED_POLICY))
    assert report["policy"]


@pytest.mark.network
def test_a_stated_credential_the_server_does_not_require_is_fail(tmp_path: Path) -> None:
    _, report = run_json(
        tmp_path,
        "--server-cmd",
        PLAIN_CMD,
        "--auth-header",
        "X-Api-Key: conformance",
        "--cases",
        "security/auth",
    )
    seen = outcomes(report)
    assert seen["security/auth/missing"] == "fail"
    assert seen["security/auth/wrong"] == "fail"
