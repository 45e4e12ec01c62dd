"""The compressed fail cases (RFC 7692 §6.1, §7.2.2; RFC 6455 §5.2, §8.1) against correct
and faulty servers.

Every case PASSes against the reference server (both engines) and FAILs against a server
that breaks its rule (a WirePolicy overriding one deflate hook, or ``accept-rsv``); corrupt
DEFLATE data failed with 1002 PASSes like 1007, another code is WARN.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence

import pytest
from case_runs import (
    fault_results,
    not_passed,
    run_fault_or_reference,
)

from conformance.cases import deflate_framing
from conformance.cases.base import Case
from conformance.echo_engine import WirePolicy
from conformance.model import rules
from conformance.model.constants import CloseCode
from conformance.model.deflate import examples
from conformance.model.deflate.compressor import SYNC_TAIL, context_pair
from conformance.model.verdict import Outcome
from conformance.model.violations import Violation
from conformance.reference_server import EngineName
from conformance.results import CaseResult

pytestmark = pytest.mark.network

CASES = deflate_framing.CASES
CORRUPT = [c.id for c in CASES if "/7.2.2/" in c.id]


class IgnoreUtf8(WirePolicy):
    """Echoes text that is not UTF-8 once inflated (breaks §6.1 / RFC 6455 §8.1)."""

    def on_violation(self, violation: Violation) -> int | None:
        return None if violation.requirement == rules.TEXT_UTF8 else super().on_violation(violation)


class IgnoreCorrupt(WirePolicy):
    """Drops a message that does not inflate and goes on (breaks §7.2.2, RFC 6455 §7.1.7)."""

    def on_inflate_error(self, detail: str) -> int | None:
        return None


class CorruptWith1002(WirePolicy):
    """Fails on data that does not inflate with 1002 (allowed, like 1007)."""

    def on_inflate_error(self, detail: str) -> int | None:
        return CloseCode.PROTOCOL_ERROR


class CorruptWith1011(WirePolicy):
    """Fails on data that does not inflate with 1011 (a code that does not fit: WARN)."""

    def on_inflate_error(self, detail: str) -> int | None:
        return CloseCode.INTERNAL_ERROR


class Rsv1ContinuationOk(WirePolicy):
    """Takes RSV1 on continuation frames (breaks §6.1)."""

    def rsv1_on_continuation_ok(self) -> bool:
        return True


class Rsv1ControlOk(WirePolicy):
    """Takes RSV1 on control frames (breaks §6.1)."""

    def rsv1_on_control_ok(self) -> bool:
        return True


LOCAL_POLICIES = {
    "ignore-utf8-after-inflate": IgnoreUtf8,
    "ignore-corrupt-deflate": IgnoreCorrupt,
    "corrupt-with-1002": CorruptWith1002,
    "corrupt-with-1011": CorruptWith1011,
    "rsv1-continuation-ok": Rsv1ContinuationOk,
    "rsv1-control-ok": Rsv1ControlOk,
}

BREAKS: dict[str, str] = {
    "rfc7692/6.1/invalid-utf8-after-inflate": "ignore-utf8-after-inflate",
    "rfc7692/6.1/invalid-utf8-after-inflate-fragmented": "ignore-utf8-after-inflate",
    **dict.fromkeys(CORRUPT, "ignore-corrupt-deflate"),
    "rfc7692/6.1/rsv1-on-continuation": "rsv1-continuation-ok",
    "rfc7692/6.1/rsv1-on-uncompressed-continuation": "rsv1-continuation-ok",
    "rfc7692/6.1/rsv1-on-ping": "rsv1-control-ok",
    "rfc7692/6.1/rsv1-on-pong": "rsv1-control-ok",
    "rfc7692/6.1/rsv1-on-close": "rsv1-control-ok",
    "rfc7692/6/rsv1-deflate-data-not-offered": "accept-rsv",
    "rfc7692/6/rsv1-deflate-data-offer-declined": "accept-rsv",
}
"""The fault that breaks each case's rule."""

WARNED: frozenset[str] = frozenset({"rfc7692/6.1/rsv1-on-close"})
"""A Close with RSV1 taken as a Close: the reply closes the connection, with 1000 instead of
1002, which misses only the SHOULD of an appropriate code (as rfc6455/5.2/rsv123-close)."""


async def _run(
    cases: Sequence[Case], *, engine: EngineName = "wsproto", fault: str | None = None
) -> list[CaseResult]:
    return await run_fault_or_reference(cases, LOCAL_POLICIES, engine=engine, fault=fault)


_results_under = fault_results(CASES, BREAKS, LOCAL_POLICIES)


def test_every_case_has_a_breaking_fault() -> None:
    assert sorted(BREAKS) == sorted(c.id for c in CASES)
    assert len(CASES) == 12 and len(CORRUPT) == 3


def test_offending_payloads_are_what_they_claim() -> None:
    """The bad text hides its invalid byte until inflated; the corrupt payloads do not inflate."""
    with pytest.raises(UnicodeDecodeError):
        deflate_framing.BAD_TEXT.decode()
    for payload in (deflate_framing.RESERVED_BLOCK, deflate_framing.BAD_STORED_LENGTH):
        with pytest.raises(zlib.error):
            zlib.decompressobj(-15).decompress(payload + SYNC_TAIL)
    _, second = context_pair(deflate_framing.REFERENCE_BLOCK, deflate_framing.REFERENCE_BLOCK)
    with pytest.raises(zlib.error, match="too far back"):
        zlib.decompressobj(-15).decompress(second + SYNC_TAIL)
    assert zlib.decompressobj(-15).decompress(examples.ONE_BLOCK + SYNC_TAIL) == examples.HELLO


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_reference_server_passes_every_case(engine: EngineName) -> None:
    results = asyncio.run(_run(CASES, engine=engine))
    assert len(results) == len(CASES) and not not_passed(results)
    assert max(r.duration_s for r in results) < 1.0  # no case waits for a deadline


@pytest.mark.parametrize("case_id", sorted(BREAKS))
def test_case_fails_against_the_fault_that_breaks_its_rule(case_id: str) -> None:
    result = _results_under(BREAKS[case_id])[case_id]
    expected = Outcome.WARN if case_id in WARNED else Outcome.FAIL
    assert result.outcome is expected, result.actual


def test_corrupt_data_failed_with_1002_passes_and_says_so() -> None:
    """RFC 7692 names no code for data that does not inflate: 1002 passes like 1007."""
    cases = [c for c in CASES if c.id in CORRUPT]
    results = asyncio.run(_run(cases, fault="corrupt-with-1002"))
    assert {r.outcome for r in results} == {Outcome.PASS}
    assert all("1002" in r.actual for r in results)


def test_corrupt_data_failed_with_another_code_is_a_warning() -> None:
    cases = [c for c in CASES if c.id in CORRUPT]
    results = asyncio.run(_run(cases, fault="corrupt-with-1011"))
    assert {r.outcome for r in results} == {Outcome.WARN}
