"""Opening handshakes (RFC 6455 §4.1, §4.2.1) against the reference server's rules, and
the strategies' optional dependency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h11
import pytest
from hypothesis import given

from conformance import handshake_strategies as ws
from conformance.catalog import load_catalog
from conformance.model import handshake as hs
from conformance.model.server_handshake import Refusal, ServerBehaviour, parse_request_bytes

ROOT = Path(__file__).resolve().parents[2]


def refusal_status(request: hs.HandshakeRequest) -> int | None:
    """The reference server's HTTP error status for ``request``, None if it accepts it."""
    behaviour = ServerBehaviour()
    try:
        parsed = parse_request_bytes(request.to_bytes())
    except h11.RemoteProtocolError as exc:
        outcome = behaviour.on_parse_error(request.to_bytes(), exc)
        return outcome.status if isinstance(outcome, Refusal) else None
    assert parsed is not None
    refusal = behaviour.validate_request(parsed.request)
    return None if refusal is None else refusal.status


class TestSection4_2_1:
    """§4.2.1: any valid spelling is accepted, any single broken rule refused."""

    @given(ws.handshake_requests())
    def test_valid_request_is_accepted(self, request: hs.HandshakeRequest) -> None:
        assert refusal_status(request) is None

    @given(ws.broken_handshake_requests())
    def test_request_breaking_one_rule_is_refused(self, broken: ws.BrokenRequest) -> None:
        status = refusal_status(broken.request)
        assert status is not None, broken.detail
        assert 400 <= status < 600

    def test_broken_rules_are_catalogued(self) -> None:
        catalog = load_catalog()
        assert all(catalog.get(rule) is not None for rule, _ in ws.REQUEST_BREAKS)


@pytest.mark.parametrize("module", ["strategies", "handshake_strategies"])
def test_strategies_without_hypothesis_name_the_extra(module: str) -> None:
    code = f"import sys; sys.modules['hypothesis'] = None; import conformance.{module}"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0
    assert "ImportError" in done.stderr
    assert "pip install ws-conformance[fuzz]" in done.stderr
