"""Whole client runs through the built-in adapters: a complete, well-formed result each.

Which verdicts a library gets is reported (``wsconform client``), not asserted here: a
library's bug must not break the suite's tests. What is asserted is the harness: one
result per scenario, each judged from evidence, no adapter contract breach.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil

import pytest

from conformance.cli.client import BUILTIN_ADAPTERS, FIXTURES, builtin_adapter
from conformance.clients.runner import (
    NEEDS_NAMESPACE,
    RUN_WIDE,
    WHATWG_RUN_WIDE,
    isolated,
    run_client_suite,
    select_scenarios,
    select_wire_cases,
)
from conformance.model.verdict import Outcome

pytestmark = pytest.mark.network

WIRE_SAMPLE = (
    "rfc6455/5.2/text-125-bytes",
    "rfc6455/5.2/binary-126-bytes",
    "rfc6455/5.5.2/ping-text",
)
"""Wire cases each adapter plays in echo mode here (CI runs them all for two libraries)."""

PYTHON_LIBRARY = {
    "python-websockets": "websockets",
    "websocket-client": "websocket",
    "aiohttp": "aiohttp",
}


def available(name: str) -> bool:
    if name == "reference":  # the suite's own client, on its model
        return True
    if name in PYTHON_LIBRARY:
        return importlib.util.find_spec(PYTHON_LIBRARY[name]) is not None
    return shutil.which("node") is not None and (FIXTURES / "node_modules").exists()


@pytest.mark.parametrize("name", sorted(BUILTIN_ADAPTERS))
def test_builtin_adapter_run_is_complete(name: str) -> None:
    if not available(name):
        pytest.skip(f"{name} is not installed")
    profile = BUILTIN_ADAPTERS[name][1]
    scenarios = select_scenarios(profile)
    wire_cases = select_wire_cases("default", WIRE_SAMPLE)
    report = asyncio.run(
        run_client_suite(
            builtin_adapter(name),
            scenarios,
            profile,
            label=name,
            timeout=5.0,
            wire_cases=wire_cases,
        )
    )
    ids = [r.id for r in report.results if r.id not in RUN_WIDE]
    expected_ids = [s.id for s in scenarios]
    if profile == "whatwg":
        expected_ids += WHATWG_RUN_WIDE
    expected_ids += [c.id for c in wire_cases]
    assert ids == expected_ids
    assert report.target_url.startswith(name)
    for result in report.results:
        assert result.expected and result.actual, result.id
        assert "adapter broke the contract" not in result.actual, (result.id, result.actual)
        if result.id.rsplit("/", 1)[-1] in NEEDS_NAMESPACE and not isolated():
            assert result.outcome is Outcome.ERROR
        elif result.outcome is Outcome.ERROR:
            # An ERROR is allowed only where the client gave the harness nothing to judge.
            assert "deadline" in result.actual or "inconclusive" in result.actual, result.actual
