"""A case's node id, as the summary prints it, selects exactly that case when given back."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.network

QUICK = ("--ws-timeout", "3", "-p", "no:cacheprovider")
FAILED_LINE = re.compile(r"^FAILED (\S+)", re.MULTILINE)
CASES = ("rfc6455/4.2.1/missing-key", "rfc6455/4.2.1/valid-handshake", "rfc6455/4.2.1/missing-host")


def _ran(result: pytest.RunResult) -> list[str]:
    """The node ids of the ``-v`` lines of a run."""
    return re.findall(r"^(ws-conformance::\S+|\S+\.py::\S+) [A-Z]+", result.stdout.str(), re.M)


def test_a_printed_node_id_given_back_runs_exactly_that_case(
    plugin: list[str], pytester: pytest.Pytester, fault_url: str
) -> None:
    selection = [arg for case_id in CASES for arg in ("--ws-cases", case_id)]
    first = pytester.runpytest(*plugin, *QUICK, "--ws-url", fault_url, *selection)
    first.assert_outcomes(passed=2, failed=1)
    (printed,) = FAILED_LINE.findall(first.stdout.str())
    assert printed == "ws-conformance::rfc6455/4.2.1/missing-key"

    again = pytester.runpytest(*plugin, *QUICK, "-v", "--ws-url", fault_url, printed)
    again.assert_outcomes(failed=1)
    assert _ran(again) == [printed]


def test_a_given_id_wins_over_the_configured_globs(
    plugin: list[str], pytester: pytest.Pytester, reference_url: str
) -> None:
    """Like a path argument over ``testpaths``: an id runs even outside ``ws_cases``."""
    pytester.makeini("[pytest]\nws_cases = rfc6455/4.2.2/*\n")
    result = pytester.runpytest(
        *plugin, *QUICK, "-v", "--ws-url", reference_url, "--ws-id", "rfc6455/4.2.1/valid-handshake"
    )
    result.assert_outcomes(passed=1)
    assert _ran(result) == ["ws-conformance::rfc6455/4.2.1/valid-handshake"]


def test_node_ids_and_paths_mix(
    plugin: list[str], pytester: pytest.Pytester, reference_url: str
) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest(
        *plugin,
        *QUICK,
        "-v",
        "--ws-url",
        reference_url,
        "test_plain.py",
        "ws-conformance::rfc6455/4.2.2/accept-value",
    )
    result.assert_outcomes(passed=2)
    assert sorted(_ran(result)) == [
        "test_plain.py::test_plain",
        "ws-conformance::rfc6455/4.2.2/accept-value",
    ]


def test_a_project_test_id_given_back_runs_that_case(
    plugin: list[str], pytester: pytest.Pytester, reference_url: str
) -> None:
    pytester.makepyfile(
        test_project=f"""
        import pytest
        from conformance.pytest_plugin import conformance_tests

        @pytest.fixture
        def ws_server_url():
            return {reference_url!r}

        test_ws = conformance_tests(["rfc6455/4.2.1/valid-handshake", "rfc6455/4.2.2/accept-value"])
        """
    )
    every = pytester.runpytest(*plugin, "-p", "no:cacheprovider", "-v")
    every.assert_outcomes(passed=2)
    printed = _ran(every)[1]
    assert printed == "test_project.py::test_ws[rfc6455/4.2.2/accept-value]"
    one = pytester.runpytest(*plugin, "-p", "no:cacheprovider", "-v", printed)
    one.assert_outcomes(passed=1)
    assert _ran(one) == [printed]


def test_an_unknown_id_is_a_usage_error(plugin: list[str], pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        *plugin, "--ws-url", "ws://127.0.0.1:1/", "ws-conformance::rfc6455/4.2.1/no-such-case"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "not found: ws-conformance::rfc6455/4.2.1/no-such-case (no such case" in (
        result.stderr.str()
    )


def test_an_id_without_a_target_is_a_usage_error(
    plugin: list[str], pytester: pytest.Pytester
) -> None:
    result = pytester.runpytest(*plugin, "ws-conformance::rfc6455/4.2.1/missing-key")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "give --ws-url or --ws-server-cmd" in result.stderr.str()
