"""The pytest helpers for a project's own client: ``check_client`` / ``ws_client_check``."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable

import pytest

from conformance.cli.client import FIXTURES
from conformance.pytest_support import check_client, client_conformance_tests
from conformance.results import RunReport

pytestmark = pytest.mark.network

ADAPTER = [sys.executable, str(FIXTURES / "python_websockets.py")]


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
    """An adapter that reports every connection open, whatever the server said."""
    lying = (
        "import json,sys\n"
        "print(json.dumps({'event':'ready','client':'liar'}),flush=True)\n"
        "for line in sys.stdin:\n"
        "    c=json.loads(line)\n"
        "    if c['op']=='connect':\n"
        "        print(json.dumps({'event':'open','conn':c['conn'],'protocol':''}),flush=True)\n"
        "        print(json.dumps({'event':'close','conn':c['conn'],'code':1000,"
        "'reason':'','wasClean':True}),flush=True)\n"
    )
    with pytest.raises(AssertionError, match=r"rfc6455-4\.1-non-101-http-procedures"):
        check_client([sys.executable, "-c", lying], scenarios="client/handshake/status-403")


def test_profile_is_checked() -> None:
    with pytest.raises(ValueError, match="profile"):
        check_client(ADAPTER, profile="browser")


@pytest.fixture
def ws_client_adapter() -> list[str]:
    if importlib.util.find_spec("websockets") is None:
        pytest.skip("needs websockets")
    return ADAPTER


test_each_scenario_is_an_item = client_conformance_tests("client/handshake/status-40*")
