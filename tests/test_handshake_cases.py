"""The opening-handshake cases (RFC 6455 §4) against correct, faulty and hostile servers.

Every case must PASS against the reference server and must FAIL (INFO for a MAY-level
case) against a server that breaks exactly the rule it checks: a case that cannot
fail is a defect. Against hostile peers no case may PASS, and each ends in time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from conformance.cases import all_cases, case_by_id, handshake
from conformance.cases.base import Case
from conformance.driver import Target
from conformance.model.behaviours import AcceptedWithout, HandshakeAccepted
from conformance.model.verdict import Level, Outcome
from conformance.policy.handshake import ConnectionDropped
from conformance.reference_server import start_reference_server
from conformance.results import CaseResult
from conformance.runner import run_cases
from conformance.session.context import CaseContext
from fixtures.fault_server import FAULTS, HANDSHAKE_FAULTS, start_fault_server
from fixtures.hostile import HOSTILE_KINDS, start_hostile_server
from fixtures.variants import variant_by_name

pytestmark = pytest.mark.network

HANDSHAKE = list(handshake.CASES)

# For each case, a fault that breaks the rule the case checks. Where the policy
# (conformance/policy/handshake.py) made the old fault a WARN or INFO, the case names one
# that still breaks the rule: a 200 instead of an error code, or a 101 it must not send.
BREAKS: dict[str, str] = {
    "rfc6455/4.2.1/valid-handshake": "wrong-accept",
    "rfc6455/4.2.1/connection-token-list": "strict-token-lists",
    "rfc6455/4.2.1/connection-lowercase": "strict-token-lists",
    "rfc6455/4.2.1/connection-two-lines": "decline-variants-with-200",
    "rfc6455/4.2.1/upgrade-mixed-case": "strict-token-lists",
    "rfc6455/4.2.1/upgrade-token-list": "malformed-101",
    "rfc6455/4.2.1/header-names-any-case": "case-sensitive-header-names",
    "rfc6455/4.2.1/header-order": "require-host-first",
    "rfc6455/4.2.1/unknown-headers-ignored": "refuse-extra-headers",
    "rfc6455/4.2.1/without-origin": "origin-required-200",
    "rfc6455/4.2.1/same-origin": "origin-refusal-200",
    "rfc6455/4.2.1/request-in-single-bytes": "single-read-handshake",
    "rfc6455/4.2.1/absolute-uri": "refuse-absolute-uri",
    "rfc6455/4.2.1/subprotocol-offer": "multiple-subprotocols",
    "rfc6455/4.2.1/subprotocol-two-lines": "multiple-subprotocols",
    "rfc6455/4.2.1/extension-offer-unknown": "unoffered-extension",
    "rfc6455/4.2.1/missing-key": "accept-missing-key",
    "rfc6455/4.2.1/duplicate-key": "accept-duplicate-key",
    "rfc6455/4.2.1/key-not-base64": "refuse-with-200",
    "rfc6455/4.2.1/key-15-bytes": "refuse-with-200",
    "rfc6455/4.2.1/key-17-bytes": "refuse-with-200",
    "rfc6455/4.2.1/key-empty": "accept-any-key",
    "rfc6455/4.2.1/missing-version": "accept-any-version",
    "rfc6455/4.2.1/duplicate-version": "accept-version-list",
    "rfc6455/4.2.1/missing-host": "accept-missing-host",
    "rfc6455/4.2.1/duplicate-host": "accept-duplicate-host",
    "rfc6455/4.2.1/whitespace-before-colon": "accept-whitespace-before-colon",
    "rfc6455/4.2.1/subprotocol-not-token": "accept-bad-subprotocol-syntax",
    "rfc6455/4.2.1/missing-upgrade": "accept-missing-upgrade",
    "rfc6455/4.2.1/upgrade-not-websocket": "accept-bad-upgrade-token",
    "rfc6455/4.2.1/missing-connection": "accept-missing-connection",
    "rfc6455/4.2.1/connection-without-upgrade": "accept-bad-connection-token",
    "rfc6455/4.2.1/http-1.0": "accept-http10",
    "rfc6455/4.2.1/method-post": "accept-post",
    "rfc6455/4.2.2/version-9": "version-no-header",
    "rfc6455/4.2.2/version-14": "version-400",
    "rfc6455/4.2.2/version-not-a-number": "accept-any-version",
    "rfc6455/4.2.2/status-101": "malformed-101",
    "rfc6455/4.2.2/accept-value": "accept-from-decoded-key",
    "rfc6455/4.2.2/upgrade-header": "wrong-upgrade-in-101",
    "rfc6455/4.2.2/connection-header": "no-connection-header-in-101",
    "rfc6455/4.2.2/no-subprotocol-unless-offered": "empty-subprotocol",
    "rfc6455/4.2.2/subprotocol-from-offer": "unoffered-subprotocol",
    "rfc6455/4.2.2/single-subprotocol": "multiple-subprotocols",
    "rfc6455/4.2.2/no-extension-unless-offered": "unoffered-extension",
    "rfc6455/4.2.2/no-unoffered-extension": "unoffered-extension",
    "rfc6455/9.1/malformed-extensions": "accept-bad-extension-syntax",
    "rfc6455/4.2.2/foreign-origin": "origin-refusal-200",
    "rfc6455/10.2/foreign-origin-403": "origin-refuse-400",
    "rfc6455/4.2.2/unknown-resource": "unknown-resource-200",
}


async def _against_reference(cases: Sequence[Case]) -> list[CaseResult]:
    async with await start_reference_server() as server:
        return await run_cases(cases, Target.parse(server.url), timeout=5, jobs=8)


async def _against_fault(fault: str, cases: Sequence[Case], timeout: float = 5) -> list[CaseResult]:
    async with await start_fault_server(fault) as server:
        return await run_cases(cases, Target.parse(server.url), timeout=timeout, jobs=8)


def test_every_handshake_case_has_a_breaking_fault() -> None:
    assert sorted(BREAKS) == sorted(case.id for case in HANDSHAKE)
    assert set(BREAKS.values()) <= set(FAULTS)


LEFT_OPEN_BY_REFERENCE = {
    "rfc7692/6.1/uncompressed-reply-as-is": (
        "the reference server compresses every echo (§6 allows it), so its uncompressed form "
        "is not observed: INFO; the variant echo-uncompressed exercises the rule "
        "(tests/cases/test_deflate_rules.py)"
    ),
    "rfc7692/7.2.2/keep-context-despite-hint": (
        "the reference server agrees client_no_context_takeover when offered (§7.1.1.2), so "
        "the rule for a hint it ignores does not bind: INFO; the variant "
        "ignore-client-no-context-takeover-hint exercises it"
    ),
}
"""Cases whose rule binds only under an optional choice the reference server does not make."""


def test_reference_server_passes_every_default_case() -> None:
    """The default profile; the full profile's limits are run by tests/cases/test_limits.py."""
    default = [case for case in all_cases() if case.profile == "default"]
    results = asyncio.run(_against_reference(default))
    bad = {
        r.id: (r.outcome.value, r.actual)
        for r in results
        if r.outcome is not Outcome.PASS
        and not (r.outcome is Outcome.INFO and r.id in LEFT_OPEN_BY_REFERENCE)
    }
    assert not bad


@pytest.mark.parametrize("case_id", sorted(BREAKS))
def test_case_fails_against_the_fault_that_breaks_its_rule(case_id: str) -> None:
    case = case_by_id(case_id)
    assert case is not None
    (result,) = asyncio.run(_against_fault(BREAKS[case_id], [case]))
    expected = Outcome.INFO if case.level is Level.MAY else case.level.failure
    assert result.outcome is expected, (result.outcome, result.actual)
    assert set(case.requirements) <= set(result.requirements)


@pytest.mark.parametrize(
    ("case_id", "fault"),
    [
        ("rfc6455/4.2.1/upgrade-token-list", "strict-token-lists"),
        ("rfc6455/4.2.1/without-origin", "require-origin"),
        ("rfc6455/4.2.1/same-origin", "require-origin"),
    ],
)
def test_refusal_the_text_allows_is_info(case_id: str, fault: str) -> None:
    case = case_by_id(case_id)
    assert case is not None
    (result,) = asyncio.run(_against_fault(fault, [case]))
    if fault == "require-origin" and case_id.endswith("same-origin"):
        assert result.outcome is Outcome.PASS  # it sends an Origin
    else:
        assert result.outcome is Outcome.INFO, result.actual


# Verdicts the old, too-strong reading made FAIL (issue #10), now at the policy's level.
POLICY_LEVELS: list[tuple[str, str, Outcome]] = [
    # Handshake refusal: a drop instead of an error code (§10.7 MAY drop vs §4.2.1).
    ("rfc6455/4.2.1/missing-key", "refuse-by-closing", Outcome.WARN),
    ("rfc6455/4.2.1/missing-upgrade", "refuse-by-closing", Outcome.WARN),
    ("rfc6455/4.2.2/version-14", "refuse-by-closing", Outcome.WARN),
    ("rfc6455/9.1/malformed-extensions", "refuse-by-closing", Outcome.WARN),
    ("rfc6455/4.2.2/foreign-origin", "origin-policy-drop", Outcome.WARN),
    ("rfc6455/4.2.1/same-origin", "origin-policy-drop", Outcome.WARN),
    ("rfc6455/4.2.1/without-origin", "drop-without-origin", Outcome.WARN),
    ("rfc6455/4.2.2/unknown-resource", "drop-unknown-resource", Outcome.WARN),
    # Key format: §4.2.2 /key/ "not necessary ... to base64-decode".
    ("rfc6455/4.2.1/key-not-base64", "accept-bad-key-base64", Outcome.WARN),
    ("rfc6455/4.2.1/key-15-bytes", "accept-short-key", Outcome.WARN),
    ("rfc6455/4.2.1/key-17-bytes", "accept-short-key", Outcome.WARN),
    # Version grammar: the general §4.2.1 refusal needs no version header.
    ("rfc6455/4.2.2/version-not-a-number", "version-wrong-list", Outcome.PASS),
    ("rfc6455/4.2.2/version-not-a-number", "version-400", Outcome.PASS),
    # A refusal must still be an error code where one is required.
    ("rfc6455/4.2.2/version-14", "version-400", Outcome.FAIL),
    ("rfc6455/4.2.1/missing-key", "refuse-with-200", Outcome.FAIL),
]


@pytest.mark.parametrize(("case_id", "fault", "outcome"), POLICY_LEVELS)
def test_policy_level_replaces_the_too_strong_fail(
    case_id: str, fault: str, outcome: Outcome
) -> None:
    case = case_by_id(case_id)
    assert case is not None
    (result,) = asyncio.run(_against_fault(fault, [case]))
    assert result.outcome is outcome, result.actual


# Conforming choices (fixtures/variants_handshake.py) at the policy's level.
VARIANT_LEVELS: list[tuple[str, str, Outcome]] = [
    ("decline-unexpected-variants", "rfc6455/4.2.1/connection-two-lines", Outcome.INFO),
    ("decline-unexpected-variants", "rfc6455/4.2.1/subprotocol-two-lines", Outcome.INFO),
    ("decline-unexpected-variants", "rfc6455/4.2.1/upgrade-token-list", Outcome.INFO),
    ("decline-unexpected-variants", "rfc6455/4.2.1/extension-offer-unknown", Outcome.INFO),
    ("decline-unexpected-variants", "rfc6455/4.2.2/subprotocol-from-offer", Outcome.INFO),
    ("decline-unexpected-variants", "rfc6455/4.2.1/connection-token-list", Outcome.PASS),
    ("null-subprotocol-on-unparseable-offer", "rfc6455/4.2.1/subprotocol-not-token", Outcome.PASS),
    ("no-extension-support", "rfc6455/9.1/malformed-extensions", Outcome.INFO),
    ("key-never-decoded", "rfc6455/4.2.1/key-17-bytes", Outcome.WARN),
    ("key-never-decoded", "rfc6455/4.2.1/key-empty", Outcome.PASS),
]


@pytest.mark.parametrize(("variant", "case_id", "outcome"), VARIANT_LEVELS)
def test_conforming_choice_is_judged_at_the_policy_level(
    variant: str, case_id: str, outcome: Outcome
) -> None:
    case = case_by_id(case_id)
    assert case is not None

    async def main() -> list[CaseResult]:
        async with await variant_by_name(variant).start() as server:
            return await run_cases([case], Target.parse(server.url), timeout=5)

    (result,) = asyncio.run(main())
    assert result.outcome is outcome, result.actual
    if outcome is Outcome.INFO and variant == "decline-unexpected-variants":
        assert "plain valid handshake on a second connection was accepted" in result.actual


@pytest.mark.parametrize("fault", sorted(HANDSHAKE_FAULTS))
def test_every_fault_is_caught_by_some_case(fault: str) -> None:
    """Mutation score: each injected violation makes a case FAIL (WARN for a SHOULD)."""
    results = asyncio.run(_against_fault(fault, HANDSHAKE))
    assert any(r.outcome in {Outcome.FAIL, Outcome.WARN} for r in results), fault


EARLY_ANSWER = b"HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Length: 0\r\n\r\n"
LONG_HEADER = b"a" * 8_000_000  # more than the socket buffers: the write blocks


@pytest.mark.parametrize("chunk", [None, 65536])
def test_answer_sent_while_the_request_is_still_written_is_reported(chunk: int | None) -> None:
    """Issue #10, pattern 12: a server that answers and resets the connection before the
    request is complete is reported with its response, not as "no HTTP response"."""

    async def answer_early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(10)
        writer.write(EARLY_ANSWER)
        await writer.drain()
        writer.transport.abort()

    async def main() -> str:
        server = await asyncio.start_server(answer_early, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            loop = asyncio.get_running_loop()
            ctx = CaseContext(Target.parse(f"ws://127.0.0.1:{port}/"), loop.time() + 5)
            request = handshake.valid(ctx, extra=[(b"X-Pad", LONG_HEADER)])
            observed = await handshake.exchange(ctx, request, chunk=chunk)
            await ctx.close_all()
        return observed.describe()

    actual = asyncio.run(main())
    assert actual.startswith("HTTP 505 "), actual


HOSTILE_TIMEOUT = 0.5
SILENT_KINDS = ("silent", "trickle", "endless-header")  # never give a complete answer
AFTER_101_KINDS = ("huge-frame", "reset-after-101", "endless-data")  # a valid 101 to anything


def _run_hostile(kind: str) -> tuple[list[CaseResult], float]:
    async def main() -> list[CaseResult]:
        async with await start_hostile_server(kind) as server:
            return await run_cases(
                HANDSHAKE, Target.parse(server.url), timeout=HOSTILE_TIMEOUT, jobs=16
            )

    started = time.monotonic()
    results = asyncio.run(asyncio.wait_for(main(), 60))
    elapsed = time.monotonic() - started
    # Each case is bounded by its deadline plus the runner's grace; 16 run at once.
    bound = (HOSTILE_TIMEOUT + 2.0) * (len(HANDSHAKE) / 16 + 1)
    assert elapsed < bound, f"{kind}: {elapsed:.1f}s"
    assert all(r.duration_s <= HOSTILE_TIMEOUT + 2.0 for r in results)
    return results, elapsed


def test_hostile_kinds_are_all_exercised() -> None:
    assert {*SILENT_KINDS, *AFTER_101_KINDS, "close-immediately"} == set(HOSTILE_KINDS)


@pytest.mark.parametrize("kind", SILENT_KINDS)
def test_peer_that_never_answers_gets_no_pass(kind: str) -> None:
    results, _ = _run_hostile(kind)
    outcomes = {r.id: r.outcome for r in results}
    assert set(outcomes.values()) <= {Outcome.ERROR, Outcome.FAIL, Outcome.WARN}, outcomes


def test_peer_that_closes_at_once_never_passes_and_gets_the_level_the_policy_gives_a_drop() -> None:
    """A drop is WARN where an error code was due (§10.7), INFO where a valid request
    could be declined, FAIL where the request must be accepted; never PASS."""
    results, _ = _run_hostile("close-immediately")
    for result in results:
        case = case_by_id(result.id)
        assert case is not None
        drop = next((a for a in case.allowed if isinstance(a.behaviour, ConnectionDropped)), None)
        expected = drop.outcome if drop is not None else case.level.failure
        assert result.outcome is expected, (result.id, result.actual)


# Refusal cases where the policy gives a bare 101 another level than FAIL.
ACCEPTING_101: dict[str, Outcome] = {
    "rfc6455/4.2.1/key-not-base64": Outcome.WARN,  # §4.2.2 /key/: need not decode
    "rfc6455/4.2.1/key-15-bytes": Outcome.WARN,
    "rfc6455/4.2.1/key-17-bytes": Outcome.WARN,
    "rfc6455/4.2.1/subprotocol-not-token": Outcome.PASS,  # null subprotocol
    "rfc6455/9.1/malformed-extensions": Outcome.INFO,  # the probe gets no extension
}


@pytest.mark.parametrize("kind", AFTER_101_KINDS)
def test_peer_that_accepts_everything_fails_every_refusal_case(kind: str) -> None:
    results, _ = _run_hostile(kind)
    for result in results:
        case = case_by_id(result.id)
        assert case is not None
        if not any(
            isinstance(b, HandshakeAccepted | AcceptedWithout) for b in case.expect.alternatives
        ):
            expected = ACCEPTING_101.get(result.id, case.level.failure)
            assert result.outcome is expected, (result.id, result.actual)
