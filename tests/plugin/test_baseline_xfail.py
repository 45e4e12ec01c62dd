"""``--ws-baseline``: a known deviation xfails with its reason, an improvement is XPASS,
a regression fails; the summary section compares the run with the baseline."""

from __future__ import annotations

import json

import pytest

from conformance.baseline import Accepted
from conformance.model.verdict import Level, Outcome
from conformance.pytest_support import KnownDeviation, WsConformanceWarning, enforce
from conformance.results import CaseResult
from conformance.runner import select_cases

pytestmark = pytest.mark.network

QUICK = ("--ws-timeout", "3", "-p", "no:cacheprovider")
FAILING = "rfc6455/4.2.1/missing-key"  # FAIL against fault_url
PASSING = "rfc6455/4.2.1/valid-handshake"
SECTION = "rfc6455/4.2.1"


def _toml(entries: dict[str, tuple[str, str]]) -> str:
    return "".join(
        f'[cases."{case_id}"]\noutcome = "{outcome}"\nreason = "{reason}"\n'
        for case_id, (outcome, reason) in entries.items()
    )


def test_known_deviation_xfails_and_improvement_xpasses(
    plugin: list[str], pytester: pytest.Pytester, fault_url: str
) -> None:
    baseline = pytester.makefile(
        ".toml",
        baseline=_toml({FAILING: ("fail", "upstream issue 123"), PASSING: ("fail", "was broken")}),
    )
    result = pytester.runpytest(
        *plugin, *QUICK, "-rxX", "--ws-url", fault_url, "--ws-cases", SECTION,
        "--ws-baseline", str(baseline),
    )  # fmt: skip
    total = len(select_cases([SECTION]))
    result.assert_outcomes(passed=total - 2, xfailed=1, xpassed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            f"XFAIL ws-conformance::{FAILING} - baseline FAIL: upstream issue 123",
            f"XPASS ws-conformance::{PASSING} - baseline FAIL: was broken",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            f"compared with the baseline {baseline}: 0 regression(s), 1 improvement(s), "
            "1 known deviation(s)",
            f"  improved   {PASSING}: fail -> pass",
        ]
    )


def test_a_regression_beyond_the_baseline_fails(
    plugin: list[str], pytester: pytest.Pytester, fault_url: str
) -> None:
    baseline = pytester.makefile(".toml", baseline=_toml({FAILING: ("warn", "drops it")}))
    result = pytester.runpytest(
        *plugin, *QUICK, "--ws-url", fault_url, "--ws-id", FAILING, "--ws-baseline", str(baseline)
    )
    result.assert_outcomes(failed=1)
    assert f"FAILED ws-conformance::{FAILING}" in result.stdout.str()
    assert "1 regression(s)" in result.stdout.str()


def test_a_report_of_an_earlier_run_is_a_baseline(
    plugin: list[str], pytester: pytest.Pytester, fault_url: str
) -> None:
    """What ``wsconform run --json`` wrote: every outcome accepted, its Actual the reason."""
    earlier = {
        "tool": {"name": "ws-conformance", "version": "0"},
        "target": {"url": fault_url, "role": "server"},
        "summary": {},
        "cases": [
            {
                "id": FAILING,
                "title": "t",
                "outcome": "fail",
                "requirements": [],
                "expected": "an HTTP error response",
                "actual": "HTTP 101 Switching Protocols",
                "duration_s": 0.1,
                "level": "MUST",
            }
        ],
    }
    baseline = pytester.makefile(".json", earlier=json.dumps(earlier))
    result = pytester.runpytest(
        *plugin, *QUICK, "-rx", "--ws-url", fault_url, "--ws-id", FAILING,
        "--ws-baseline", str(baseline),
    )  # fmt: skip
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(
        [f"XFAIL ws-conformance::{FAILING} - baseline FAIL: HTTP 101 Switching Protocols"]
    )


def test_the_baseline_applies_to_a_projects_conformance_tests(
    plugin: list[str], pytester: pytest.Pytester, fault_url: str
) -> None:
    pytester.makepyfile(
        test_project=f"""
        import pytest
        from conformance.pytest_plugin import conformance_tests

        @pytest.fixture
        def ws_server_url():
            return {fault_url!r}

        test_ws = conformance_tests([{FAILING!r}, {PASSING!r}], timeout=3)
        """
    )
    pytester.makefile(".toml", baseline=_toml({FAILING: ("fail", "known")}))
    pytester.makeini("[pytest]\nws_baseline = baseline.toml\n")
    result = pytester.runpytest(*plugin, "-p", "no:cacheprovider", "-rx")
    result.assert_outcomes(passed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [f"XFAIL test_project.py::test_ws?{FAILING}? - baseline FAIL: known"]
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.toml", None, "cannot read"),
        ("bad.toml", "[cases.x]\noutcome = 'worse'\nreason = 'r'\n", "outcome must be one of"),
        ("bad.json", '{"cases": {"x": {"outcome": "fail"}}}', "a reason is required"),
    ],
)
def test_an_unusable_baseline_is_a_usage_error(
    plugin: list[str], pytester: pytest.Pytester, name: str, text: str | None, message: str
) -> None:
    if text is not None:
        (pytester.path / name).write_text(text)
    result = pytester.runpytest(*plugin, "--ws-url", "ws://127.0.0.1:1/", "--ws-baseline", name)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--ws-baseline: {name}" in result.stderr.str()
    assert message in result.stderr.str()


def _result(outcome: Outcome) -> CaseResult:
    return CaseResult(
        id=FAILING,
        title="t",
        outcome=outcome,
        level=Level.MUST,
        requirements=(),
        expected="e",
        actual="a",
        duration_s=0.0,
    )


@pytest.mark.parametrize(
    ("accepted", "seen"), [("fail", "fail"), ("fail", "error"), ("warn", "warn")]
)
def test_the_accepted_rank_is_a_known_deviation(accepted: str, seen: str) -> None:
    with pytest.raises(KnownDeviation, match="in the baseline"):
        enforce(_result(Outcome(seen)), "ws://h/", accepted=Accepted(Outcome(accepted), "r"))


def test_an_improvement_to_warn_never_fails_even_strict() -> None:
    with pytest.warns(WsConformanceWarning):
        enforce(_result(Outcome.WARN), "ws://h/", strict=True, accepted=Accepted(Outcome.FAIL, "r"))


def test_a_warn_beyond_an_accepted_pass_still_fails_strict() -> None:
    with pytest.raises(pytest.fail.Exception):
        enforce(_result(Outcome.WARN), "ws://h/", strict=True, accepted=Accepted(Outcome.INFO, "r"))
