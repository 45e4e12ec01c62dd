"""The pytest plugin: case items from the command line, fixtures and helpers, inertness."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import conformance
from conformance.model.verdict import Level, Outcome
from conformance.pytest_support import WsConformanceWarning, enforce
from conformance.results import CaseResult
from conformance.runner import select_cases

pytestmark = pytest.mark.network

REPO = Path(conformance.__file__).resolve().parent.parent
HANDSHAKE = "rfc6455/4.2.1/*"
QUICK = ("--ws-timeout", "3", "-p", "no:cacheprovider")


def _ids(pattern: str, level: Level | None = None) -> list[str]:
    return [c.id for c in select_cases([pattern]) if level is None or c.level is level]


def test_items_pass_against_reference_server(
    plugin: list[str], pytester: pytest.Pytester, reference_url: str
) -> None:
    result = pytester.runpytest(
        *plugin, *QUICK, "-v", "--ws-url", reference_url, "--ws-cases", HANDSHAKE
    )
    ids = _ids(HANDSHAKE)
    result.assert_outcomes(passed=len(ids))
    result.stdout.fnmatch_lines([f"ws-conformance::{ids[0]} PASSED*", "*passed*"])
    for case_id in ids:
        assert f"ws-conformance::{case_id} PASSED" in result.stdout.str()


def test_failure_is_an_evidence_block(
    plugin: list[str], pytester: pytest.Pytester, fault_url: str
) -> None:
    junit = pytester.path / "ws.xml"
    result = pytester.runpytest(
        *plugin,
        *QUICK,
        "--ws-url",
        fault_url,
        "--ws-cases",
        "rfc6455/4.2.1/missing-key",
        "--ws-cases",
        "rfc6455/4.2.1/valid-handshake",
        f"--junitxml={junit}",
    )
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "FAILED ws-conformance::rfc6455/4.2.1/missing-key" in out
    failure = out.split("FAILURES", 1)[1].split("short test summary", 1)[0]
    for text in (
        "rfc6455/4.2.1/missing-key",
        "Requirement",
        "Expected",
        "Actual",
        "Received",
        "Reproduce: wsconform run",
    ):
        assert text in failure
    assert "Traceback" not in out
    assert "pytest_plugin.py" not in failure
    case = next(
        c for c in ET.parse(junit).iter("testcase") if c.get("name") == "rfc6455/4.2.1/missing-key"
    )
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert case.get("classname") == "ws-conformance"
    assert (props["outcome"], props["level"]) == ("fail", "MUST")
    assert props["received_hex"]


def test_level_and_section_markers(
    plugin: list[str], pytester: pytest.Pytester, reference_url: str
) -> None:
    base = (*plugin, *QUICK, "--strict-markers", "--ws-url", reference_url)
    should = pytester.runpytest(*base, "--ws-cases", HANDSHAKE, "-m", "ws_should")
    all_ids, should_ids = _ids(HANDSHAKE), _ids(HANDSHAKE, Level.SHOULD)
    should.assert_outcomes(passed=len(should_ids), deselected=len(all_ids) - len(should_ids))

    may = pytester.runpytest(*base, "-v", "--ws-cases", HANDSHAKE, "-m", "ws_may and ws")
    may.assert_outcomes(passed=len(_ids(HANDSHAKE, Level.MAY)))
    assert not any(f"::{cid} PASSED" in may.stdout.str() for cid in _ids(HANDSHAKE, Level.MUST))

    section = pytester.runpytest(*base, "--ws-cases", "rfc6455/4.2.*", "-m", "ws_rfc6455_4_2_2")
    section.assert_outcomes(passed=len(_ids("rfc6455/4.2.2/*")), deselected=len(_ids(HANDSHAKE)))


def test_conformance_tests_in_a_project(
    plugin: list[str], pytester: pytest.Pytester, fault_url: str
) -> None:
    pytester.makepyfile(
        test_project=f"""
        import pytest
        from conformance.pytest_plugin import LoopThread, conformance_tests
        from conformance.reference_server import start_reference_server

        @pytest.fixture(scope="module")
        def ws_server_url():
            with LoopThread() as thread:
                server = thread.run(start_reference_server(), timeout=10)
                thread.enter(server)
                yield server.url

        @pytest.fixture
        def broken_url():
            return {fault_url!r}

        test_ws = conformance_tests(["rfc6455/4.2.1/valid-handshake", "rfc6455/4.2.1/missing-key"])
        test_broken = conformance_tests("rfc6455/4.2.1/missing-key", fixture="broken_url",
                                        timeout=3)
    """
    )
    result = pytester.runpytest(
        *plugin,
        "-p",
        "no:cacheprovider",
        "-v",
        "--strict-markers",
        "-m",
        "ws_must and ws_rfc6455_4_2_1",
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_project.py::test_ws?rfc6455/4.2.1/valid-handshake? PASSED*",
            "*test_project.py::test_broken?rfc6455/4.2.1/missing-key? FAILED*",
        ]
    )
    failure = result.stdout.str().split("FAILURES", 1)[1]
    assert "Requirement" in failure
    assert "Expected" in failure
    assert "Traceback" not in failure


def test_ws_check_fixture(plugin: list[str], pytester: pytest.Pytester, fault_url: str) -> None:
    pytester.makepyfile(
        test_check=f"""
        import pytest

        def test_reference(ws_check, ws_reference_server):
            report = ws_check(ws_reference_server, "rfc6455/4.2.1/valid-handshake")
            assert not report.failed and len(report.results) == 1

        def test_fault(ws_check):
            with pytest.raises(AssertionError) as info:
                ws_check({fault_url!r}, cases=["rfc6455/4.2.1/missing-key"], timeout=3)
            assert "rfc6455/4.2.1/missing-key" in str(info.value)
            assert "Requirement" in str(info.value) and "1 failed" in str(info.value)

        def test_unreachable(ws_check):
            with pytest.raises(AssertionError, match="unreachable"):
                ws_check("ws://127.0.0.1:1/", "rfc6455/4.2.1/valid-handshake", timeout=2)
    """
    )
    pytester.runpytest(*plugin, "-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_inert_without_a_target(plugin: list[str], pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest(*plugin, "-p", "no:cacheprovider", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    assert "ws-conformance" not in result.stdout.str()
    result.stdout.fnmatch_lines(["test_plain.py::test_plain", "1 test collected*"])


def test_plain_run_imports_only_the_thin_plugin(
    plugin: list[str], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``pytest11`` entry point loads no case table, runner or client code by itself."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    )
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_plain():
            loaded = sorted(m for m in sys.modules if m.startswith("conformance"))
            assert loaded == ["conformance", "conformance.pytest_plugin"], loaded
        """
    )
    result = pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(passed=1)


def test_unreachable_target_is_one_clear_error(
    plugin: list[str], pytester: pytest.Pytester
) -> None:
    result = pytester.runpytest(
        *plugin, *QUICK, "--ws-url", "ws://127.0.0.1:1/", "--ws-cases", HANDSHAKE
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1
    assert "unreachable" in errors[0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes()


def test_usage_errors(plugin: list[str], pytester: pytest.Pytester) -> None:
    bad_url = pytester.runpytest(*plugin, "--ws-url", "http://x/")
    assert bad_url.ret == pytest.ExitCode.USAGE_ERROR
    assert "scheme must be ws or wss" in bad_url.stderr.str()
    no_case = pytester.runpytest(*plugin, "--ws-url", "ws://127.0.0.1:1/", "--ws-cases", "nope")
    assert no_case.ret == pytest.ExitCode.USAGE_ERROR
    assert "no ws-conformance case" in no_case.stderr.str()


def test_server_cmd_from_ini_in_a_subprocess(
    plugin: list[str], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    )
    command = f"{sys.executable} -m conformance.reference_server --port {{port}}"
    pytester.makeini(f"""
        [pytest]
        ws_server_cmd = {command}
        ws_cases =
            rfc6455/4.2.1/valid-handshake
            rfc6455/4.2.2/accept-value
        ws_startup_timeout = 20
    """)
    result = pytester.runpytest_subprocess(*plugin, *QUICK, "-v", timeout=90)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["ws-conformance::rfc6455/4.2.2/accept-value PASSED*"])


def _result(outcome: Outcome) -> CaseResult:
    return CaseResult(
        id="rfc6455/4.2.1/x",
        title="t",
        outcome=outcome,
        level=Level.SHOULD,
        requirements=(),
        expected="e",
        actual="a",
        duration_s=0.0,
    )


def test_outcome_mapping() -> None:
    for outcome in (Outcome.PASS, Outcome.INFO):
        enforce(_result(outcome), "ws://h/")
    with pytest.warns(WsConformanceWarning, match="rfc6455/4.2.1/x: a"):
        enforce(_result(Outcome.WARN), "ws://h/")
    for outcome, strict in ((Outcome.WARN, True), (Outcome.FAIL, False), (Outcome.ERROR, False)):
        with pytest.raises(pytest.fail.Exception, match="Expected: e") as info:
            enforce(_result(outcome), "ws://h/", strict=strict)
        assert not info.value.pytrace
    with pytest.raises(pytest.skip.Exception, match="unsupported: a"):
        enforce(_result(Outcome.UNSUPPORTED), "ws://h/")
