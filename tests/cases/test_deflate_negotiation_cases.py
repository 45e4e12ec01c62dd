"""The permessage-deflate negotiation cases (RFC 7692 §5, §7, §7.1) against correct and
faulty servers.

Every case PASSes against the reference server (both engines); each response rule FAILs
against a server whose response breaks that one rule (a local ServerBehaviour rewriting
its Sec-WebSocket-Extensions element); a declining server makes the valid-offer cases
UNSUPPORTED, never FAIL; accepting or refusing an invalid offer FAILs its decline case; a
client window above the offered hint is a WARN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
from case_runs import by_id, not_passed, run_on, run_reference

from conformance.cases import all_cases, case_by_id, deflate_negotiation
from conformance.cases.base import Case
from conformance.echo_engine import WirePolicy
from conformance.model.deflate.elements import ExtensionElement
from conformance.model.deflate.offers import OfferedParams
from conformance.model.frames import Frame
from conformance.model.server_extensions import DeflateSettings
from conformance.model.server_handshake import (
    SEC_EXTENSIONS,
    ReceivedRequest,
    Refusal,
    ServerBehaviour,
)
from conformance.model.verdict import Outcome
from conformance.model.violations import Violation
from conformance.reference_server import EngineName, start_reference_server
from conformance.results import CaseResult

CASES = deflate_negotiation.CASES
Rewrite = Callable[[str], str]


class RewritingResponse(ServerBehaviour):
    """Accepts as the reference server does, then rewrites the response element."""

    def __init__(self, rewrite: Rewrite) -> None:
        super().__init__()
        self.rewrite = rewrite

    def extension_headers(self, agreed: DeflateSettings | None) -> list[tuple[str, str]]:
        if agreed is None:
            return []
        return [(SEC_EXTENSIONS, self.rewrite(agreed.response()))]


class Declining(ServerBehaviour):
    """Supports no extension: every offer declined (RFC 7692 §5 allows it)."""

    def negotiate_extensions(self, request: ReceivedRequest) -> DeflateSettings | None:
        return None


class AcceptingInvalid(ServerBehaviour):
    """Accepts an invalid offer as if it were bare (breaks RFC 7692 §7 "MUST decline")."""

    def read_deflate_offer(self, element: ExtensionElement) -> OfferedParams | Violation:
        reading = super().read_deflate_offer(element)
        return OfferedParams() if isinstance(reading, Violation) else reading


class RefusingInvalid(ServerBehaviour):
    """Refuses the handshake with 400 on an invalid offer (§7: decline, not fail)."""

    def check_extensions(self, request: ReceivedRequest) -> Refusal | None:
        elements = [e for e in request.values(SEC_EXTENSIONS) if e]
        if elements and self.negotiate_extensions(request) is None:
            return Refusal(400, "invalid permessage-deflate offer")
        return super().check_extensions(request)


class WideWindow(WirePolicy):
    """Compresses with a 32 KiB window whatever server_max_window_bits was agreed."""

    def deflate_window_bits(self, agreed: DeflateSettings) -> int:
        return 15


class KeepsContext(WirePolicy):
    """Keeps its compression context although server_no_context_takeover was agreed."""

    def keep_context(self, agreed: DeflateSettings) -> bool:
        return True


class Uncompressed(WirePolicy):
    """Echoes every message uncompressed (allowed, §6)."""

    def compress_reply(self, message: object) -> bool:
        return False


def _append(text: str) -> Rewrite:
    return lambda element: element + text


def _replace(old: str, new: str) -> Rewrite:
    return lambda element: element.replace(old, new)


RESPONSE_FAULTS: dict[str, Rewrite] = {
    "rfc7692/5/one-element-per-response": lambda element: f"{element}, {element}",
    "rfc7692/7/response-params-defined": _append("; x_unknown_param"),
    "rfc7692/7/response-param-once": _append("; server_no_context_takeover"),
    "rfc7692/7/response-values-valid": _replace(
        "server_max_window_bits=10", "server_max_window_bits=010"
    ),
    "rfc7692/7.1.1.1/snct-echoed": _replace("; server_no_context_takeover", ""),
    "rfc7692/7.1.1.1/snct-response-no-value": _replace(
        "server_no_context_takeover", "server_no_context_takeover=1"
    ),
    "rfc7692/7.1.1.2/cnct-response-no-value": _replace(
        "client_no_context_takeover", "client_no_context_takeover=1"
    ),
    "rfc7692/7.1.2.1/smwb-same-or-smaller": _replace(
        "server_max_window_bits=10", "server_max_window_bits=12"
    ),
    "rfc7692/7.1.2.1/smwb-response-abnf": _append("; server_max_window_bits=16"),
    "rfc7692/7.1.2.2/cmwb-only-if-offered": _append("; client_max_window_bits=15"),
    "rfc7692/7.1.3/no-cmwb-for-smwb-offer": _append("; client_max_window_bits=15"),
    "rfc7692/7.1.2.2/cmwb-response-abnf": _append("; client_max_window_bits"),
}
"""Each response-rule case, and a rewrite of the response breaking exactly its rule."""


def _cases(*ids: str) -> list[Case]:
    found = [case_by_id(case_id) for case_id in ids]
    assert all(found), ids
    return [case for case in found if case is not None]


async def _run_behaviour(
    cases: Sequence[Case], behaviour: ServerBehaviour, *, engine: EngineName = "model"
) -> list[CaseResult]:
    server = await start_reference_server(engine=engine, behaviour=behaviour)
    return await run_on(server, cases)


def test_the_cases_are_registered() -> None:
    registered = {case.id for case in all_cases()}
    assert {case.id for case in CASES} <= registered
    assert set(RESPONSE_FAULTS) <= registered


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_reference_server_passes_every_case(engine: EngineName) -> None:
    assert not not_passed(asyncio.run(run_reference(CASES, engine=engine)))


@pytest.mark.parametrize("case_id", sorted(RESPONSE_FAULTS))
def test_a_response_breaking_the_rule_fails_its_case(case_id: str) -> None:
    (result,) = asyncio.run(
        _run_behaviour(_cases(case_id), RewritingResponse(RESPONSE_FAULTS[case_id]))
    )
    assert result.outcome is Outcome.FAIL, result.actual


def test_a_client_window_above_the_offered_hint_is_a_warning() -> None:
    (result,) = asyncio.run(
        _run_behaviour(
            _cases("rfc7692/7.1.2.2/cmwb-value-hint"),
            RewritingResponse(_append("; client_max_window_bits=12")),
        )
    )
    assert result.outcome is Outcome.WARN, result.actual


def test_a_declining_server_is_unsupported_on_valid_offers_and_passes_invalid_ones() -> None:
    results = asyncio.run(_run_behaviour(CASES, Declining()))
    for result in results:
        declines = result.id.startswith("rfc7692/7/decline-")
        expected = Outcome.PASS if declines else Outcome.UNSUPPORTED
        assert result.outcome is expected, (result.id, result.actual)


def test_accepting_an_invalid_offer_fails_every_decline_case() -> None:
    decline = [case for case in CASES if case.id.startswith("rfc7692/7/decline-")]
    results = asyncio.run(_run_behaviour(decline, AcceptingInvalid()))
    failed = {r.id for r in results if r.outcome is Outcome.FAIL}
    assert failed == {case.id for case in decline}, not_passed(results)


def test_refusing_an_invalid_offer_fails_every_decline_case() -> None:
    decline = [case for case in CASES if case.id.startswith("rfc7692/7/decline-")]
    results = asyncio.run(_run_behaviour(decline, RefusingInvalid()))
    failed = {r.id for r in results if r.outcome is Outcome.FAIL}
    assert failed == {case.id for case in decline}, not_passed(results)


def test_a_window_wider_than_agreed_fails_the_window_8_case() -> None:
    results = asyncio.run(
        run_reference(_cases("rfc7692/7.1.2.1/smwb8-honoured"), engine="model", policy=WideWindow())
    )
    (result,) = results
    assert result.outcome is Outcome.FAIL, result.actual
    assert "rfc7692-7.2.1-server-max-window" in result.requirements, result.actual


def test_context_kept_under_snct_fails_the_autobahn_case() -> None:
    results = by_id(
        asyncio.run(
            run_reference(
                _cases("rfc7692/7.1/autobahn-13.2", "rfc7692/7.1/autobahn-13.1"),
                engine="model",
                policy=KeepsContext(),
            )
        )
    )
    assert results["rfc7692/7.1/autobahn-13.2"].outcome is Outcome.FAIL
    assert results["rfc7692/7.1/autobahn-13.1"].outcome is Outcome.PASS


def test_an_uncompressed_echo_is_info_where_compression_is_expected() -> None:
    results = by_id(
        asyncio.run(
            run_reference(
                _cases("rfc7692/7.1/autobahn-13.1", "rfc7692/5/accept-bare"),
                engine="model",
                policy=Uncompressed(),
            )
        )
    )
    assert results["rfc7692/7.1/autobahn-13.1"].outcome is Outcome.INFO
    assert results["rfc7692/5/accept-bare"].outcome is Outcome.PASS


class CorruptEcho(WirePolicy):
    """Echoes compressed data that is not DEFLATE (BTYPE 11): breaks §5's "MUST use the
    algorithm" on every agreed connection."""

    def compressed_echo(self, opcode: int, payload: bytes) -> list[Frame]:
        return [Frame(opcode, b"\xff" + payload, rsv1=True)]


class RefusingAll(ServerBehaviour):
    """Refuses every handshake that offers an extension with 400."""

    def check_extensions(self, request: ReceivedRequest) -> Refusal | None:
        return Refusal(400, "no extensions here") if request.values(SEC_EXTENSIONS) else None


def _drop_param(name: str) -> Rewrite:
    return lambda element: "; ".join(p for p in element.split("; ") if not p.startswith(name))


ACCEPTING = [case for case in CASES if not case.id.startswith("rfc7692/7/decline-")]


def test_corrupt_compressed_echoes_fail_every_accepting_case() -> None:
    results = asyncio.run(run_reference(ACCEPTING, engine="model", policy=CorruptEcho()))
    assert {r.id for r in results if r.outcome is not Outcome.FAIL} == set(), not_passed(results)
    assert all("rfc7692-7.2.2-inflate-data" in r.requirements for r in results)


def test_refusing_an_invalid_offer_fails_and_a_valid_one_is_info() -> None:
    """§7: an invalid offer is declined, not refused (FAIL); RFC 6455 §4.2.2 lets a server
    refuse any handshake, so refusing a valid offer breaks no MUST (INFO)."""
    results = asyncio.run(_run_behaviour(CASES, RefusingAll()))
    outcomes = {r.id: r.outcome for r in results}
    declines = {i for i in outcomes if i.startswith("rfc7692/7/decline-")}
    declines |= {
        "rfc7692/7.1.3/fallback-invalid-then-valid",
        "rfc7692/7.1.3/fallback-unknown-then-valid",
    }
    assert declines and {outcomes[i] for i in declines} == {Outcome.FAIL}
    assert {o for i, o in outcomes.items() if i not in declines} == {Outcome.INFO}


@pytest.mark.parametrize(
    ("parameter", "marker"),
    [("server_max_window_bits", "smwb"), ("server_no_context_takeover", "snct")],
)
def test_a_response_leaving_out_an_offered_server_parameter_fails_its_cases(
    parameter: str, marker: str
) -> None:
    cases = [c for c in CASES if marker in c.id and not ("decline" in c.id or "abnf" in c.id)]
    results = asyncio.run(_run_behaviour(cases, RewritingResponse(_drop_param(parameter))))
    assert len(results) >= 3
    assert {r.id for r in results if r.outcome is not Outcome.FAIL} == set(), not_passed(results)
