"""``wsconform``: one-line errors with distinct exit codes, reports, end-to-end runs."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.cases import all_cases
from conformance.catalog import Requirement, load_catalog
from conformance.cli import catalog as cli_catalog
from conformance.cli import main
from conformance.cli import run as cli_run
from conformance.cli.catalog import coverage_by_spec
from conformance.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE
from conformance.model.verdict import Level, Outcome
from conformance.reports.json_report import write_json
from conformance.results import CaseResult, RunReport
from conformance.server_process import free_port

PY = sys.executable
FAULT_CMD = f"{PY} -m fixtures.fault_server --fault accept-missing-key --port {{port}}"
MISSING_KEY_RUN = ("--server-cmd", FAULT_CMD, "--cases", "rfc6455/4.2.1/missing-key", "--no-color")


def load_catalog_spec(spec: str) -> list[Requirement]:
    """The catalog's records of one spec."""
    return [r for r in load_catalog() if r.spec == spec]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestUsageErrors:
    @pytest.mark.parametrize("url", ["http://x/", "ws://", "ws://h:70000/", "ws://h/#f"])
    def test_bad_url(self, capsys: pytest.CaptureFixture[str], url: str) -> None:
        code, _out, err = run(capsys, "run", url)
        assert code == EXIT_USAGE
        assert err.startswith("wsconform: error: invalid URL")
        assert "Traceback" not in err and err.count("\n") == 1

    def test_no_matching_case(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _out, err = run(capsys, "run", "ws://127.0.0.1:1/", "--cases", "nope/*")
        assert code == EXIT_USAGE and "no case matches" in err

    def test_url_and_server_cmd(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _out, err = run(capsys, "run", "ws://127.0.0.1:1/", "--server-cmd", "x {port}")
        assert code == EXIT_USAGE and "not both" in err

    def test_server_cmd_without_port_placeholder(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _out, err = run(capsys, "run", "--server-cmd", "true")
        assert code == EXIT_USAGE and "{port}" in err

    def test_bad_jobs(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _out, err = run(capsys, "run", "ws://127.0.0.1:1/", "--jobs", "0")
        assert code == EXIT_USAGE and "--jobs" in err

    def test_missing_ca_file(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _out, err = run(capsys, "run", "wss://127.0.0.1:1/", "--ca-file", "/nonexistent")
        assert code == EXIT_USAGE and "--ca-file" in err


class TestUnreachable:
    def test_refused_port(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _out, err = run(capsys, "run", f"ws://127.0.0.1:{free_port()}/", "-q")
        assert code == EXIT_UNREACHABLE
        assert err.startswith("wsconform: error: cannot connect to 127.0.0.1:")
        assert "Traceback" not in err

    def test_server_cmd_that_dies(self, capsys: pytest.CaptureFixture[str]) -> None:
        cmd = f"{PY} -c \"import sys; print('boom'); sys.exit(4)\" {{port}}"
        code, _out, err = run(capsys, "run", "--server-cmd", cmd, "-q")
        assert code == EXIT_UNREACHABLE
        assert "exited with status 4" in err and "boom" in err
        assert "Traceback" not in err

    def test_server_cmd_that_never_listens(self, capsys: pytest.CaptureFixture[str]) -> None:
        cmd = f'{PY} -c "import time; time.sleep(30)" {{port}}'
        code, _out, err = run(capsys, "run", "--server-cmd", cmd, "--startup-timeout", "0.5")
        assert code == EXIT_UNREACHABLE and "did not accept connections" in err


class TestCatalogCommands:
    def test_cases_lists_ids(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _err = run(capsys, "cases")
        assert code == EXIT_OK and "rfc6455/4.2.1/missing-key" in out

    def test_requirements(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _err = run(capsys, "requirements", "--spec", "6455")
        assert code == EXIT_OK and out.count("rfc6455-") > 150

    def test_requirements_unknown_id(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _out, err = run(capsys, "requirements", "--id", "nope")
        assert code == EXIT_USAGE and "unknown requirement" in err

    def test_requirements_spec_matching_nothing_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, "requirements", "--spec", "zzz")
        assert (code, out) == (EXIT_USAGE, "")
        assert err.startswith("wsconform: error: no spec matches --spec 'zzz'")
        assert err.count("\n") == 1

    def test_cases_pattern_matching_nothing_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, "cases", "--cases", "zzz*")
        assert (code, out) == (EXIT_USAGE, "")
        assert err.startswith("wsconform: error: no case matches") and err.count("\n") == 1

    def test_client_scenarios_matching_nothing_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _out, err = run(
            capsys, "client", "--builtin", "reference", "--isolate", "never", "--scenarios", "zzz*"
        )
        assert code == EXIT_USAGE and "no whatwg scenario or wire case matches" in err

    def test_coverage_prints_a_count(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _err = run(capsys, "coverage")
        assert code == EXIT_OK
        assert "server-testable requirements covered by a case" in out.splitlines()[-1]

    def test_requirements_spec_7692_lists_only_rfc7692(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _err = run(capsys, "requirements", "--spec", "7692")
        lines = out.splitlines()
        assert code == EXIT_OK and len(lines) == len(load_catalog_spec("RFC 7692")) > 100
        assert all(line.startswith("rfc7692-") for line in lines)

    def test_requirements_shows_an_rfc7692_record_in_full(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _err = run(capsys, "requirements", "--id", "rfc7692-7-decline-unknown-param")
        assert code == EXIT_OK
        assert (
            "spec: RFC 7692" in out
            and "link: https://www.rfc-editor.org/rfc/rfc7692#section-7" in out
        )

    def test_coverage_of_a_spec_with_records_but_no_case(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        without_7692 = [
            case
            for case in all_cases()
            if case.spec != "rfc7692"
            and not any(r.startswith("rfc7692") for r in case.requirements)
        ]
        monkeypatch.setattr(cli_catalog, "all_cases", lambda: without_7692)
        code, out, _err = run(capsys, "coverage", "--spec", "7692")
        testable = len(
            [
                r
                for r in load_catalog_spec("RFC 7692")
                if r.party in {"server", "endpoint"}
                and r.keyword not in {"MAY", "OPTIONAL", "definition"}
                and r.untestable is None
            ]
        )
        assert code == EXIT_OK and testable > 20
        assert f"  RFC 7692{' ' * 16}0 of {testable:<4} covered (no case cites it yet)" in out
        assert out.splitlines()[-1] == (
            f"0 of {testable} server-testable requirements covered by a case; {testable} uncovered"
        )
        assert "rfc6455-" not in out

    def test_coverage_by_spec_counts_a_cited_requirement(self) -> None:
        catalog = load_catalog()
        case = dataclasses.replace(
            next(c for c in all_cases() if c.role == "server"),
            requirements=("rfc7692-7-decline-unknown-param",),
        )
        before = {row.spec: row for row in coverage_by_spec("server", catalog, [])}
        after = {row.spec: row for row in coverage_by_spec("server", catalog, [case])}
        assert (before["RFC 7692"].covered, before["RFC 7692"].cited) == (0, False)
        assert (after["RFC 7692"].covered, after["RFC 7692"].cited) == (1, True)
        assert after["RFC 7692"].testable == before["RFC 7692"].testable
        assert "WHATWG WebSockets" not in before  # nothing in it binds a server

    def test_coverage_spec_matching_nothing_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, "coverage", "--spec", "zzz")
        assert (code, out) == (EXIT_USAGE, "")
        assert err.startswith("wsconform: error: no spec matches --spec 'zzz'")


class TestReportPathsCheckedFirst:
    """A report path that cannot be written is a usage error before any case runs."""

    @pytest.mark.parametrize(
        "argv",
        [
            ("run", "ws://127.0.0.1:1/"),
            ("fuzz", "ws://127.0.0.1:1/"),
            ("matrix", "--target", "x=ws://127.0.0.1:1/"),
            ("client", "--adapter", "exit 4", "--isolate", "never"),
        ],
        ids=["run", "fuzz", "matrix", "client"],
    )
    def test_missing_directory_is_refused_and_not_created(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: tuple[str, ...]
    ) -> None:
        # ws://127.0.0.1:1/ is refused and "exit 4" is no adapter: exit 2 means
        # nothing was run, and the directory is not made.
        path = tmp_path / "no-such-dir" / "r.json"
        code, _out, err = run(capsys, *argv, "-q", "--json", str(path))
        assert code == EXIT_USAGE
        assert err == f"wsconform: error: --json {path}: directory {path.parent} does not exist\n"
        assert not path.parent.exists()

    @pytest.mark.parametrize("option", ["--json", "--junit", "--markdown", "--html"])
    def test_a_directory_is_refused(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str
    ) -> None:
        code, _out, err = run(capsys, "run", "ws://127.0.0.1:1/", option, str(tmp_path))
        assert code == EXIT_USAGE
        assert err == f"wsconform: error: {option} {tmp_path}: is a directory\n"

    def test_matrix_html_is_checked(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        path = tmp_path / "gone" / "m.html"
        code, _out, err = run(
            capsys, "matrix", "--target", "x=ws://127.0.0.1:1/", "--html", str(path)
        )
        assert code == EXIT_USAGE and err.startswith(f"wsconform: error: --html {path}:")


def _saved_report(tmp_path: Path, outcome: Outcome) -> Path:
    result = CaseResult(
        id="rfc6455/4.2.1/missing-key",
        title="missing key",
        outcome=outcome,
        level=Level.MUST,
        requirements=("rfc6455-4.2.1-key-16-bytes",),
        expected="a refusal",
        actual="HTTP 101",
        duration_s=0.01,
    )
    path = tmp_path / "r.json"
    write_json(RunReport(target_url="ws://127.0.0.1:1/", results=[result]), str(path))
    return path


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (Outcome.FAIL, EXIT_FAILED),
        (Outcome.ERROR, EXIT_FAILED),
        (Outcome.PASS, EXIT_OK),
        (Outcome.WARN, EXIT_OK),
        (Outcome.INFO, EXIT_OK),
        (Outcome.UNSUPPORTED, EXIT_OK),
    ],
)
def test_explain_report_exit_code_follows_the_verdict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outcome: Outcome, code: int
) -> None:
    report = _saved_report(tmp_path, outcome)
    assert run(capsys, "explain", "rfc6455/4.2.1/missing-key", "--report", str(report))[0] == code


@pytest.mark.network
class TestEndToEnd:
    def test_reference_server_passes_with_every_report(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        paths = {ext: tmp_path / f"r.{ext}" for ext in ("json", "xml", "md", "html")}
        code, out, _err = run(
            capsys,
            "run",
            "--json",
            str(paths["json"]),
            "--junit",
            str(paths["xml"]),
            "--markdown",
            str(paths["md"]),
            "--html",
            str(paths["html"]),
        )
        assert code == EXIT_OK, out
        data = json.loads(paths["json"].read_text())
        assert data["tool"]["name"] == "ws-conformance"
        assert data["summary"]["fail"] == 0 and data["summary"]["error"] == 0
        assert len(data["cases"]) == data["summary"]["pass"] + data["summary"]["info"]
        root = ET.parse(paths["xml"]).getroot()
        assert all(tc.get("name") and tc.get("classname") for tc in root.iter("testcase"))
        assert paths["md"].read_text() and "<html" in paths["html"].read_text().lower()

    def test_faulty_server_fails_with_exit_1_and_evidence_with_verbose(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _err = run(capsys, "run", *MISSING_KEY_RUN, "-v")
        assert code == EXIT_FAILED
        assert "rfc6455/4.2.1/missing-key" in out
        for label in ("Requirement:", "Expected:", "Actual:", "Sent:", "Received:", "Reproduce:"):
            assert label in out
        lines = out.splitlines()
        assert "      Sent: GET / HTTP/1.1" in lines  # the handshake as text, not hex
        assert "  Received: HTTP/1.1 101 Switching Protocols" in lines
        assert '"A |Sec-WebSocket-Key| header field' in out

    def test_default_output_names_the_target_and_gives_one_line_per_failure(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, "run", *MISSING_KEY_RUN)
        assert code == EXIT_FAILED
        lines = out.splitlines()
        header, body = lines[: lines.index("")], lines[lines.index("") + 1 :]
        assert header[0].startswith("wsconform ") and header[0].endswith(" · profile default")
        assert header[1].startswith("  target     ws://127.0.0.1:")
        assert header[2] == f"  command    {FAULT_CMD}"
        assert body[0].startswith("rfc6455 §4.2.1 ")
        assert body[1].startswith("  ✗ rfc6455/4.2.1/missing-key  FAIL  HTTP 101")
        assert body[3].startswith("1 case: 0 passed, 1 failed")
        assert "Requirement:" not in out and "00000000" not in out
        assert "F [1/1]" in err and "missing-key" not in err  # progress alone on stderr
        assert "F [1/1]" not in out

    def test_quiet_output_is_the_failing_ids_and_the_counts(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, err = run(capsys, "run", *MISSING_KEY_RUN, "-q")
        assert code == EXIT_FAILED and err == ""
        assert out.splitlines()[0] == "FAIL   rfc6455/4.2.1/missing-key"
        assert out.splitlines()[1].startswith("1 case: 0 passed, 1 failed")
        assert len(out.splitlines()) == 2

    def test_default_output_names_the_built_in_reference_server(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, out, _err = run(capsys, "run", "--cases", "rfc6455/4.2.1/valid-handshake")
        assert code == EXIT_OK
        assert "(built-in reference server)" in out.splitlines()[1]
        assert out.splitlines()[-1].startswith("1 case: 1 passed")

    def test_explain_prints_markdown_block(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _err = run(capsys, "explain", "rfc6455/4.2.2/accept-value", "--no-color")
        assert code == EXIT_OK
        assert "wsconform run" in out and "--cases rfc6455/4.2.2/accept-value" in out
        assert "> " in out  # the verbatim quote as a Markdown blockquote

    def test_explain_unknown_case(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, _out, err = run(capsys, "explain", "rfc6455/9.9/nope")
        assert code == EXIT_USAGE and "unknown case" in err


class TestCaseSelection:
    def test_section_prefix_covers_subsections(self) -> None:
        from conformance.runner import select_cases

        ids = [c.id for c in select_cases(["rfc6455/4"])]
        assert "rfc6455/4.2.1/missing-key" in ids and "rfc6455/4.2.2/accept-value" in ids
        assert not any(i.startswith("rfc6455/9.1/") for i in ids)
        assert [c.id for c in select_cases(["rfc6455/4.2.1/missing-key"])] == [
            "rfc6455/4.2.1/missing-key"
        ]
        assert not select_cases(["rfc6455/4.2"])[0].id.startswith("rfc6455/4.2.10")
        assert all(c.section.startswith("4.2.") for c in select_cases(["rfc6455/4.2"]))

    def test_globs_and_excludes(self) -> None:
        from conformance.runner import select_cases

        ids = [c.id for c in select_cases(["*/missing-*"], ["*/missing-host"])]
        assert "rfc6455/4.2.1/missing-key" in ids and "rfc6455/4.2.1/missing-host" not in ids


def test_client_adapter_that_exits_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["client", "--adapter", "echo oops >&2; exit 4", "--isolate", "never", "-q"])
    err = capsys.readouterr().err
    assert code == 3
    assert err.strip() == (
        "wsconform: error: the adapter exited with status 4 before printing 'ready'; "
        "its stderr ends: oops"
    )


def test_client_list_prints_the_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["browser", "chromium", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("client/handshake/status-403")
    assert any(line.startswith("client/api/") for line in lines)


def run_parser() -> argparse.ArgumentParser:
    """The parser of ``wsconform run`` alone."""
    subparsers = argparse.ArgumentParser(prog="wsconform").add_subparsers()
    cli_run.add_parser(subparsers)
    parser: argparse.ArgumentParser = subparsers.choices["run"]
    return parser


def test_every_run_option_has_help_naming_its_default() -> None:
    actions = [a for a in run_parser()._actions if not isinstance(a, argparse._HelpAction)]
    assert len(actions) > 15
    for action in actions:
        name = action.option_strings[-1] if action.option_strings else action.dest
        assert action.help, f"{name} has no help"
        if action.default not in (None, False):
            shown = f"{action.default:g}" if isinstance(action.default, float) else action.default
            assert f"default {shown}" in action.help, f"{name}: {action.help!r}"


def test_run_offers_quiet_or_verbose_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-q", "-v"])
    assert exit_info.value.code == EXIT_USAGE
    assert "not allowed with argument" in capsys.readouterr().err
