"""WARN, INFO and UNSUPPORTED are visible: their own word with ``-v``/``-rA``, a
``ws-conformance`` summary section with one-line reasons, and a WARN's warning attributed
to its case, not to the plugin's source."""

from __future__ import annotations

import re

import pytest

from conformance.pytest_support import case_location
from conformance.runner import select_cases

pytestmark = pytest.mark.network

QUICK = ("--ws-timeout", "3", "-p", "no:cacheprovider")
WARN_CASE = "rfc6455/4.2.1/missing-key"
INFO_CASE = "rfc6455/4.2.1/upgrade-token-list"
UNSUPPORTED_CASE = "rfc6455/10.4/text-64kib"
WIDTH = 80
PLUGIN_SOURCES = ("pytest_plugin.py", "pytest_support.py", "pytest_items.py")


def _section(result: pytest.RunResult) -> list[str]:
    """The lines of the ``ws-conformance`` section of the terminal summary."""
    text = result.stdout.str()
    body = re.split(r"=+ ws-conformance =+\n", text)[1]
    return re.split(r"\n=+ ", body)[0].splitlines()


def _warning_locations(result: pytest.RunResult) -> list[str]:
    """The ``file:line`` of each WsConformanceWarning in the warnings summary."""
    return re.findall(r"^\s+(\S+:\d+): WsConformanceWarning", result.stdout.str(), re.M)


def test_each_outcome_is_its_own_word_with_v_and_rA(
    plugin: list[str],
    pytester: pytest.Pytester,
    warn_url: str,
    info_url: str,
    limit_url: str,
) -> None:
    for url, case_id, word in (
        (warn_url, WARN_CASE, "WARN"),
        (info_url, INFO_CASE, "INFO"),
        (limit_url, UNSUPPORTED_CASE, "UNSUPPORTED"),
    ):
        result = pytester.runpytest(
            *plugin, *QUICK, "-v", "-rA", "--ws-url", url, "--ws-id", case_id
        )
        out = result.stdout.str()
        assert f"ws-conformance::{case_id} {word}" in out, out
        assert "PASSED" not in out
        if word != "UNSUPPORTED":  # pytest folds skips in its short summary
            summary = out.split("short test summary info", 1)[1]
            assert f"{word} ws-conformance::{case_id}" in summary


def test_the_summary_section_lists_warn_info_unsupported_with_reasons(
    plugin: list[str],
    pytester: pytest.Pytester,
    warn_url: str,
    info_url: str,
    limit_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three project tests against three servers; the section lists each once, WARN first."""
    pytester.makepyfile(
        test_project=f"""
        import pytest
        from conformance.pytest_plugin import conformance_tests

        @pytest.fixture
        def warn_url():
            return {warn_url!r}

        @pytest.fixture
        def info_url():
            return {info_url!r}

        @pytest.fixture
        def limit_url():
            return {limit_url!r}

        test_info = conformance_tests({INFO_CASE!r}, fixture="info_url")
        test_limit = conformance_tests({UNSUPPORTED_CASE!r}, fixture="limit_url", profile="full")
        test_warn = conformance_tests({WARN_CASE!r}, fixture="warn_url")
        test_pass = conformance_tests("rfc6455/4.2.1/valid-handshake", fixture="warn_url")
        """
    )
    result = pytester.runpytest(*plugin, "-p", "no:cacheprovider", "-vv")
    result.assert_outcomes(passed=3, skipped=1, warnings=1)
    lines = _section(result)
    assert [line.split(" - ")[0] for line in lines] == [
        f"WARN test_project.py::test_warn[{WARN_CASE}]",
        f"INFO test_project.py::test_info[{INFO_CASE}]",
        f"UNSUPPORTED test_project.py::test_limit[{UNSUPPORTED_CASE}]",
    ]
    reasons = dict(line.split(" - ", 1) for line in lines)
    assert reasons[f"WARN test_project.py::test_warn[{WARN_CASE}]"].startswith("no HTTP response")
    assert "1009" in reasons[f"UNSUPPORTED test_project.py::test_limit[{UNSUPPORTED_CASE}]"]

    monkeypatch.setenv("COLUMNS", str(WIDTH))
    cut = _section(pytester.runpytest(*plugin, "-p", "no:cacheprovider"))
    assert len(cut) == len(lines)
    for short, full in zip(cut, lines, strict=True):
        assert len(short) <= WIDTH
        assert full.startswith(short.removesuffix("..."))


def test_no_section_when_every_case_passes(
    plugin: list[str], pytester: pytest.Pytester, reference_url: str
) -> None:
    result = pytester.runpytest(
        *plugin, *QUICK, "--ws-url", reference_url, "--ws-cases", "rfc6455/4.2.2"
    )
    result.assert_outcomes(passed=len(select_cases(["rfc6455/4.2.2"])))
    assert "= ws-conformance =" not in result.stdout.str()


def test_a_warn_on_the_command_line_points_at_its_case(
    plugin: list[str], pytester: pytest.Pytester, warn_url: str
) -> None:
    result = pytester.runpytest(*plugin, *QUICK, "--ws-url", warn_url, "--ws-id", WARN_CASE)
    result.assert_outcomes(passed=1, warnings=1)
    out = result.stdout.str()
    warnings = out.split("warnings summary", 1)[1]
    assert f"ws-conformance::{WARN_CASE}\n" in warnings
    assert f"WsConformanceWarning: {WARN_CASE}: no HTTP response" in warnings
    (case,) = select_cases([WARN_CASE])
    path, lineno = case_location(case)
    assert _warning_locations(result) == [f"{path}:{lineno + 1}"]
    assert not any(name in warnings for name in PLUGIN_SOURCES)


def test_a_warn_in_a_project_points_at_its_conformance_tests_line(
    plugin: list[str], pytester: pytest.Pytester, warn_url: str
) -> None:
    source = pytester.makepyfile(
        test_project=f"""
        import pytest
        from conformance.pytest_plugin import conformance_tests

        @pytest.fixture
        def ws_server_url():
            return {warn_url!r}

        test_ws = conformance_tests({WARN_CASE!r})
        """
    )
    result = pytester.runpytest(*plugin, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    line = source.read_text().splitlines().index(f"test_ws = conformance_tests({WARN_CASE!r})")
    assert _warning_locations(result) == [f"{source}:{line + 1}"]
    assert not any(name in result.stdout.str() for name in PLUGIN_SOURCES)


def test_a_warn_fails_with_strict_and_is_still_one_line_in_the_summary(
    plugin: list[str], pytester: pytest.Pytester, warn_url: str
) -> None:
    result = pytester.runpytest(
        *plugin, *QUICK, "--ws-strict", "--ws-url", warn_url, "--ws-id", WARN_CASE
    )
    result.assert_outcomes(failed=1)
    assert f"FAILED ws-conformance::{WARN_CASE}" in result.stdout.str()
