"""The pytest helpers for a project's own client: ``check_client`` / ``ws_client_check``."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable

import pytest

from conformance.cli.client import FIXTURES
from conformance.pytest_support import ClientCheck, check_client, client_conformance_tests
from conformance.results import RunReport

pytestmark = pytest.mark.network

ADAPTER = [sys.executable, str(FIXTURES / "python_websockets.py")]
LYING = (
    "import json,sys\n"
    "print(json.dumps({'event':'ready','client':'liar'}),flush=True)\n"
    "for line in sys.stdin:\n"
    "    c=json.loads(line)\n"
    "    if c['op']=='connect':\n"
    "        print(json.dumps({'event':'open','conn':c['conn'],'protocol':''}),flush=True)\n"
    "        print(json.dumps({'event':'close','conn':c['conn'],'code':1000,"
    "'reason':'','wasClean':True}),flush=True)\n"
)
"""An adapter that reports every connection open, whatever the server said."""


@pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="needs websockets")
def test_a_conforming_client_passes(ws_client_check: Callable[..., RunReport]) -> None:
    report = ws_client_check(ADAPTER, scenarios="client/handshake/status-4*")
    assert [r.id for r in report.results] == [
        "client/handshake/status-403",
        "client/handshake/status-401",
        "client/handshake/opening-request",
        "client/handshake/key-per-connection",
    ]


def test_a_client_that_never_starts_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="did not start"):
        check_client([sys.executable, "-c", "pass"], scenarios="client/handshake/status-403")


def test_a_failing_client_fails_the_test_with_the_clause() -> None:
    with pytest.raises(AssertionError, match=r"rfc6455-4\.1-non-101-http-procedures"):
        check_client([sys.executable, "-c", LYING], scenarios="client/handshake/status-403")


def test_ws_client_check_is_a_fixture_giving_a_client_check(
    ws_client_check: ClientCheck,
) -> None:
    assert isinstance(ws_client_check, ClientCheck)


def test_a_fail_through_the_fixture_fails_the_test_by_itself(
    plugin: list[str], pytester: pytest.Pytester
) -> None:
    """No assert in the test: calling the fixture is enough for a FAIL to fail it."""
    pytester.makepyfile(
        test_client=f"""
        import sys

        def test_my_client(ws_client_check):
            adapter = [sys.executable, "-c", {LYING!r}]
            ws_client_check(adapter, scenarios="client/handshake/status-403")

        def test_passed_after():
            pass
        """
    )
    result = pytester.runpytest(*plugin, "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=1)
    failure = result.stdout.str().split("FAILURES", 1)[1]
    assert "client/handshake/status-403" in failure
    assert "rfc6455-4.1-non-101-http-procedures" in failure
    assert "FAILED test_client.py::test_my_client" in result.stdout.str()


def test_profile_is_checked() -> None:
    with pytest.raises(ValueError, match="profile"):
        check_client(ADAPTER, profile="browser")


@pytest.fixture
def ws_client_adapter() -> list[str]:
    if importlib.util.find_spec("websockets") is None:
        pytest.skip("needs websockets")
    return ADAPTER


test_each_scenario_is_an_item = client_conformance_tests("client/handshake/status-40*")
test_each_wire_case_is_an_item = client_conformance_tests("rfc6455/5.2/text-125-bytes")


@pytest.mark.skipif(importlib.util.find_spec("websockets") is None, reason="needs websockets")
def test_wire_cases_are_selected_by_id_too(ws_client_check: Callable[..., RunReport]) -> None:
    report = ws_client_check(ADAPTER, scenarios="rfc6455/5.5.2/ping-text")
    assert [r.id for r in report.results] == ["rfc6455/5.5.2/ping-text"]
