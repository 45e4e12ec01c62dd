"""The RFC 7692 rule cases (conformance/cases/deflate_rules.py) and the citations added to
other deflate cases, against the reference server, conforming variants and faults.

Each case PASSes against the reference server or a conforming variant making the choice
that exercises its rule, and FAILs (WARN for a RECOMMENDED) against the fault or twin
that breaks exactly that rule. The reference server leaves two rules unexercised (INFO):
it compresses every echo and agrees to every client_no_context_takeover hint.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from typing import Final

import pytest
from case_runs import by_id, run_on

from conformance.cases import case_by_id, deflate_rules
from conformance.cases.base import Case
from conformance.model.deflate.compressor import SYNC_TAIL
from conformance.model.deflate.inflater import StrictInflater
from conformance.model.deflate.params import WindowRule
from conformance.model.verdict import Outcome
from conformance.reference_server import start_reference_server
from conformance.results import CaseResult
from fixtures.deflate_faults import (
    ECHO_UNCOMPRESSED,
    IGNORE_CNCT_HINT,
    RESET_INFLATE_ON_HINT,
    RSV1_ON_UNCOMPRESSED_REPLY,
)
from fixtures.fault_server import start_fault_server
from fixtures.variant import Variant

pytestmark = pytest.mark.network

CASES = deflate_rules.CASES
TIMEOUT: Final = 3.0

CONFLICT = "rfc7692/5/no-rsv1-conflicting-pair"
UNCOMPRESSED = "rfc7692/6.1/uncompressed-reply-as-is"
SNCT = "rfc7692/7.1.1.1/snct-supported"
WINDOW = "rfc7692/7.3/window-1024-or-more"
HINT = "rfc7692/7.2.2/keep-context-despite-hint"
BFINAL = "rfc7692/7.2.1/blocks-after-bfinal"

Server = str | Variant
"""A fault of fixtures.fault_server by name, or a variant (conforming or twin)."""


def _run(server: Server | None, cases: Sequence[Case]) -> dict[str, CaseResult]:
    async def main() -> list[CaseResult]:
        if server is None:
            started = await start_reference_server()
        elif isinstance(server, str):
            started = await start_fault_server(server)
        else:
            started = await server.start()
        return await run_on(started, cases, timeout=TIMEOUT, jobs=16)

    return by_id(asyncio.run(main()))


def _outcomes(results: dict[str, CaseResult]) -> dict[str, str]:
    return {case_id: result.outcome.value for case_id, result in results.items()}


# -- the new cases ---------------------------------------------------------------------

REFERENCE: Final = {
    CONFLICT: Outcome.PASS,
    UNCOMPRESSED: Outcome.INFO,  # it compresses every echo: the uncompressed form unseen
    SNCT: Outcome.PASS,
    WINDOW: Outcome.PASS,
    HINT: Outcome.INFO,  # it agrees to the hint: the rule does not bind
    BFINAL: Outcome.PASS,
}


def test_every_case_is_listed() -> None:
    assert sorted(REFERENCE) == sorted(c.id for c in CASES)
    assert sorted(BREAKS) == sorted(REFERENCE)
    assert all(case_by_id(case_id) is not None for case_id in REFERENCE)


def test_reference_server_passes_or_leaves_open() -> None:
    results = _run(None, CASES)
    assert _outcomes(results) == {k: v.value for k, v in REFERENCE.items()}
    assert max(r.duration_s for r in results.values()) < 1.0  # no case waits for a deadline


EXERCISED_BY: Final[dict[str, Variant]] = {
    UNCOMPRESSED: ECHO_UNCOMPRESSED,
    HINT: IGNORE_CNCT_HINT,
}
"""The conforming variant whose allowed choice exercises the rule the reference leaves open."""


@pytest.mark.parametrize("case_id", sorted(EXERCISED_BY))
def test_conforming_variant_exercising_the_rule_passes_and_fails_nothing(case_id: str) -> None:
    results = _run(EXERCISED_BY[case_id], CASES)
    assert results[case_id].outcome is Outcome.PASS, results[case_id].actual
    allowed = {Outcome.PASS.value, Outcome.INFO.value}
    assert set(_outcomes(results).values()) <= allowed, _outcomes(results)


BREAKS: Final[dict[str, tuple[Server, Outcome]]] = {
    CONFLICT: ("accept-frame-extension-too", Outcome.FAIL),
    UNCOMPRESSED: (RSV1_ON_UNCOMPRESSED_REPLY, Outcome.FAIL),
    SNCT: ("decline-server-no-context-takeover", Outcome.WARN),
    WINDOW: ("respond-small-client-window", Outcome.WARN),
    HINT: (RESET_INFLATE_ON_HINT, Outcome.FAIL),
    BFINAL: ("stop-at-bfinal", Outcome.FAIL),
}
"""The fault (or twin variant) that breaks each case's rule, and the outcome it earns
(WARN: the rule is RECOMMENDED)."""


@pytest.mark.parametrize("case_id", sorted(BREAKS))
def test_case_fails_against_the_fault_that_breaks_its_rule(case_id: str) -> None:
    server, outcome = BREAKS[case_id]
    case = case_by_id(case_id)
    assert case is not None
    result = _run(server, [case])[case_id]
    assert result.outcome is outcome, result.actual


def test_the_two_windows_fault_agrees_a_window_that_works() -> None:
    """WARN, not FAIL: the 256-byte client window is agreed validly and honoured (§7.3)."""
    case = case_by_id(WINDOW)
    assert case is not None
    result = _run("respond-small-client-window", [case])[WINDOW]
    assert "client_max_window_bits=8" in result.actual


def test_bfinal_payload_holds_a_block_after_the_final_one() -> None:
    """A raw inflater stops at the BFINAL block; the rest is a second block (§7.2.1)."""
    first, second = deflate_rules.BFINAL_FIRST, deflate_rules.BFINAL_SECOND
    payload = deflate_rules.after_bfinal(first, second)
    inflater = zlib.decompressobj(-15)
    assert inflater.decompress(payload + SYNC_TAIL) == first and inflater.eof
    assert inflater.unused_data
    strict = StrictInflater(WindowRule(), max_size=2**20)
    assert strict.inflate(payload).data == first + second


def test_context_probe_back_references_the_first_copy() -> None:
    """keep-context-despite-hint's second message is one reference into the first."""
    from conformance.model.deflate.compressor import MessageCompressor

    compressor = MessageCompressor(WindowRule())
    first = compressor.compress(deflate_rules.REPEATED_BLOCK)
    second = compressor.compress(deflate_rules.REPEATED_BLOCK)
    assert len(first) > len(deflate_rules.REPEATED_BLOCK) and len(second) < 32


# -- citations added to other deflate cases ----------------------------------------------

CITED: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "rfc7692-6.1-rsv1-first-frame": (
        "compressed-reply-without-rsv1",
        (
            *(f"rfc7692/7.1/autobahn-13.{n}" for n in range(1, 8)),
            "rfc7692/7.1.2.1/smwb8-honoured",
        ),
    ),
    "rfc7692-7-decline-unsupported-config": (
        "claim-window-8-use-10",
        ("rfc7692/7.1.2.1/smwb8-honoured",),
    ),
    "rfc7692-6.2-uncompressed-receive-algorithm": (
        "uncompressed-into-window",
        ("rfc7692/7.2.3.2/uncompressed-between-compressed",),
    ),
    "rfc7692-7.2.3.3-stored-block": ("reject-stored-blocks", ("rfc7692/7.2.3.3/stored-block",)),
    "rfc7692-6.2-concatenate-payloads": (
        "inflate-each-fragment",
        ("rfc7692/7.2.1/split-at-every-byte", "rfc7692/6/ping-inside-compressed-message"),
    ),
    "rfc7692-7.2.3.1-hello-fragmented": (
        "inflate-each-fragment",
        ("rfc7692/7.2.3.1/hello-fragmented",),
    ),
    "rfc7692-6-data-messages-only": (  # §6: a PMCE operates on data messages, not Pongs
        "compressed-pong",
        ("rfc7692/6/control-before-first-compressed", "rfc7692/6/ping-inside-compressed-message"),
    ),
}
"""Requirement -> the fault breaking only it, and existing cases citing it that it FAILs
(the §7.2.3 examples and the split cases had only the general corrupt-echo fault)."""


def _cases(ids: Sequence[str]) -> list[Case]:
    cases = [case_by_id(case_id) for case_id in ids]
    assert all(case is not None for case in cases), ids
    return [case for case in cases if case is not None]


@pytest.mark.parametrize("requirement", sorted(CITED))
def test_citing_cases_fail_against_the_fault_that_breaks_the_requirement(
    requirement: str,
) -> None:
    fault, ids = CITED[requirement]
    cases = _cases(ids)
    assert all(requirement in case.requirements for case in cases)
    results = _run(fault, cases)
    wrong = {k: v for k, v in _outcomes(results).items() if v != Outcome.FAIL.value}
    assert not wrong, wrong
    reference = _run(None, cases)
    assert set(_outcomes(reference).values()) == {Outcome.PASS.value}


def test_compressed_pong_breaks_only_the_deflate_rule() -> None:
    """Without permessage-deflate the fault's Pongs are correct (RFC 6455 §5.5.2 passes)."""
    ids = ("rfc6455/5.5.2/ping-between-messages", "rfc6455/5.5.2/ten-pings-one-write")
    results = _run("compressed-pong", _cases(ids))
    assert set(_outcomes(results).values()) == {Outcome.PASS.value}
