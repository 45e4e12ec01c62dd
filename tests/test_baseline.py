"""``--baseline``: known deviations accepted, exit 1 only for regressions (issue #12)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conformance.baseline import Accepted, compare, parse_baseline, read_baseline
from conformance.cli import main
from conformance.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from conformance.model.verdict import Level, Outcome
from conformance.reports.json_report import to_json
from conformance.results import CaseResult, RunReport

PY = sys.executable
CASE = "rfc6455/4.2.1/missing-key"
FAULTY = f"{PY} -m fixtures.fault_server --fault accept-missing-key --port {{port}}"


def result(outcome: Outcome, case_id: str = "a") -> CaseResult:
    return CaseResult(
        id=case_id,
        title="t",
        outcome=outcome,
        level=Level.MUST,
        requirements=(),
        expected="e",
        actual=f"saw {outcome}",
        duration_s=0.0,
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def short_baseline(tmp_path: Path, outcome: str) -> Path:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"cases": {CASE: {"outcome": outcome, "reason": "known"}}}))
    return path


class TestOrdering:
    @pytest.mark.parametrize("after", [Outcome.WARN, Outcome.FAIL, Outcome.ERROR])
    def test_worse_than_pass_is_a_regression(self, after: Outcome) -> None:
        comparison = compare([result(after)], {"a": Accepted(Outcome.PASS, "")})
        assert [c.id for c in comparison.regressions] == ["a"]

    def test_absent_from_the_baseline_counts_as_pass(self) -> None:
        comparison = compare([result(Outcome.WARN)], {})
        assert [c.before for c in comparison.regressions] == [Outcome.PASS]

    def test_warn_to_fail_is_a_regression(self) -> None:
        comparison = compare([result(Outcome.FAIL)], {"a": Accepted(Outcome.WARN, "r")})
        assert len(comparison.regressions) == 1

    @pytest.mark.parametrize(
        ("before", "after"),
        [(Outcome.FAIL, Outcome.PASS), (Outcome.FAIL, Outcome.WARN), (Outcome.WARN, Outcome.INFO)],
    )
    def test_better_than_the_baseline_is_an_improvement(
        self, before: Outcome, after: Outcome
    ) -> None:
        comparison = compare([result(after)], {"a": Accepted(before, "r")})
        assert len(comparison.improvements) == 1 and not comparison.regressions

    @pytest.mark.parametrize(
        ("before", "after"),
        [(Outcome.PASS, Outcome.INFO), (Outcome.INFO, Outcome.UNSUPPORTED)],
    )
    def test_pass_info_unsupported_rank_equal(self, before: Outcome, after: Outcome) -> None:
        comparison = compare([result(after)], {"a": Accepted(before, "r")})
        assert comparison == compare([], {})

    def test_fail_and_error_rank_equal_as_a_known_deviation(self) -> None:
        comparison = compare([result(Outcome.ERROR)], {"a": Accepted(Outcome.FAIL, "r")})
        assert not comparison.regressions and [c.reason for c in comparison.known] == ["r"]

    def test_baseline_ids_not_run_are_ignored(self) -> None:
        assert compare([], {"gone": Accepted(Outcome.FAIL, "r")}) == compare([], {})

    def test_warn_regression_fails_only_with_strict(self) -> None:
        comparison = compare([result(Outcome.WARN)], {})
        assert not comparison.failed(strict=False) and comparison.failed(strict=True)

    def test_fail_regression_fails_without_strict(self) -> None:
        assert compare([result(Outcome.FAIL)], {}).failed(strict=False)


class TestParsing:
    def test_a_json_report_accepts_each_outcome(self) -> None:
        report = RunReport(target_url="ws://x/", results=[result(Outcome.FAIL, CASE)])
        baseline = parse_baseline(json.dumps(to_json(report)), "r.json")
        assert baseline == {CASE: Accepted(Outcome.FAIL, "saw fail")}

    def test_a_toml_file(self) -> None:
        text = f'[cases."{CASE}"]\noutcome = "warn"\nreason = "upstream 1"\n'
        assert parse_baseline(text, "b.toml") == {CASE: Accepted(Outcome.WARN, "upstream 1")}

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("{", "not JSON"),
            ('{"cases": {"a": {"outcome": "bad", "reason": "r"}}}', "outcome must be"),
            ('{"cases": {"a": {"outcome": "fail"}}}', "reason is required"),
            ('{"cases": 3}', "'cases' table"),
            ('{"cases": [{"id": "a"}]}', "not a wsconform report"),
        ],
    )
    def test_a_malformed_file_is_refused(self, text: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            parse_baseline(text, "b.json")

    def test_bad_toml_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not TOML"):
            parse_baseline("[cases", "b.toml")

    def test_a_missing_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="cannot read"):
            read_baseline(str(tmp_path / "none.json"))


class TestCommandLine:
    def test_missing_baseline_is_a_usage_error_before_the_run(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        missing = str(tmp_path / "none.json")
        code, _out, err = run(capsys, "run", "ws://127.0.0.1:1/", "--baseline", missing)
        assert code == EXIT_USAGE and err.startswith("wsconform: error: --baseline")
        assert err.count("\n") == 1

    @pytest.mark.network
    def test_accepted_fail_that_passes_is_an_improvement(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        path = tmp_path / "b.toml"
        path.write_text(f'[cases."{CASE}"]\noutcome = "fail"\nreason = "known"\n')
        code, out, _err = run(capsys, "run", "--cases", CASE, "-q", "--baseline", str(path))
        assert code == EXIT_OK
        assert "0 regression(s), 1 improvement(s)" in out and f"improved   {CASE}" in out

    @pytest.mark.network
    def test_new_fail_is_a_regression(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        path = short_baseline(tmp_path, "pass")
        args = ("run", "--server-cmd", FAULTY, "--cases", CASE, "-q", "--no-color")
        code, out, _err = run(capsys, *args, "--baseline", str(path))
        assert code == EXIT_FAILED
        assert "1 regression(s), 0 improvement(s)" in out and f"regression {CASE}" in out

    @pytest.mark.network
    def test_baselined_fail_exits_0_and_the_report_keeps_the_fail(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        path, report = short_baseline(tmp_path, "fail"), tmp_path / "r.json"
        args = ("run", "--server-cmd", FAULTY, "--cases", CASE, "-q", "--json", str(report))
        code, out, _err = run(capsys, *args, "--baseline", str(path))
        assert code == EXIT_OK and "1 known deviation(s)" in out
        assert json.loads(report.read_text())["summary"]["fail"] == 1
