"""The UTF-8 cases (RFC 6455 §5.6, §8.1) against correct and faulty servers.

Every case must PASS against the reference server (wsproto and the suite's own echo
engine) and must FAIL against a server that breaks exactly the rule it checks. The
file is not named ``test_utf8.py``: ``tests/model/test_utf8.py`` holds that module
name (the test directories have no ``__init__.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import cache

import pytest
from case_runs import assert_failed, broken_by, by_id, fault_policy, not_passed, run_reference

from conformance.cases import utf8
from conformance.cases.base import Case
from conformance.echo_engine import WirePolicy
from conformance.model.constants import Opcode
from conformance.model.decoder import Message
from conformance.model.frames import Frame
from conformance.model.kuhn import KUHN_TABLE
from conformance.model.verdict import Outcome
from conformance.reference_server import EngineName
from conformance.results import CaseResult
from fixtures.wire_faults import WIRE_FAULTS, wire_policy

pytestmark = pytest.mark.network

CASES = utf8.CASES


class _TextFault(WirePolicy):
    """Echoes text through :meth:`text`; None there rejects the message: it is not
    echoed (a Close sent from the echo hook would leave the engine running, and the
    barrier Pong after that Close would hold every case until its deadline)."""

    def text(self, data: bytes, fragment_sizes: tuple[int, ...]) -> bytes | None:
        raise NotImplementedError

    def echo(self, message: Message, fragment_sizes: tuple[int, ...]) -> list[Frame]:
        if message.opcode != Opcode.TEXT:
            return super().echo(message, fragment_sizes)
        data = self.text(message.data, fragment_sizes)
        return [] if data is None else [Frame(Opcode.TEXT, data)]


class Utf8PerFrame(_TextFault):
    """§5.6: "a particular text frame might include a partial UTF-8 sequence": checks
    each fragment on its own, so a character split by a fragment boundary fails."""

    def text(self, data: bytes, fragment_sizes: tuple[int, ...]) -> bytes | None:
        start = 0
        for size in fragment_sizes:
            try:
                data[start : start + size].decode()
            except UnicodeDecodeError:
                return None
            start += size
        return data


class TextDoubleEncoded(_TextFault):
    """Echoes text as if its bytes were Latin-1 (mojibake): non-ASCII text changes."""

    def text(self, data: bytes, fragment_sizes: tuple[int, ...]) -> bytes | None:
        return data.decode("latin-1").encode()


class TextStripControls(_TextFault):
    """Drops C0 controls and DEL from text (U+0000-U+001F, U+007F are valid UTF-8)."""

    def text(self, data: bytes, fragment_sizes: tuple[int, ...]) -> bytes | None:
        return bytes(b for b in data if 0x20 <= b < 0x7F or b >= 0x80)


BOUNDARIES = frozenset({0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0xD7FF, 0xE000, 0xFFFD, 0x10FFFF})


class Utf8OffByOne(_TextFault):
    """A validator whose range checks are off by one: rejects the first and last code
    points of each range RFC 3629 §4 allows (U+0080, U+07FF, U+D7FF, U+10FFFF, ...)."""

    def text(self, data: bytes, fragment_sizes: tuple[int, ...]) -> bytes | None:
        return None if any(ord(c) in BOUNDARIES for c in data.decode()) else data


class Utf8RejectNoncharacters(_TextFault):
    """Fails text with non-characters (U+FFFE, U+FDD0, ...), which are valid UTF-8."""

    def text(self, data: bytes, fragment_sizes: tuple[int, ...]) -> bytes | None:
        nonchar = any(
            0xFDD0 <= ord(c) <= 0xFDEF or ord(c) & 0xFFFE == 0xFFFE for c in data.decode()
        )
        return None if nonchar else data


LOCAL_FAULTS: dict[str, type[WirePolicy]] = {
    "utf8-per-frame": Utf8PerFrame,
    "text-double-encoded": TextDoubleEncoded,
    "text-strip-controls": TextStripControls,
    "utf8-off-by-one": Utf8OffByOne,
    "utf8-reject-noncharacters": Utf8RejectNoncharacters,
}

VALID_KUHN: dict[str, str] = {
    "1": "text-double-encoded",
    "2.1.1": "text-strip-controls",
    "2.2.1": "text-strip-controls",
    **dict.fromkeys(["2.1.2", "2.1.3", "2.1.4", "2.2.2", "2.2.3"], "utf8-off-by-one"),
    **dict.fromkeys(["2.3.1", "2.3.2", "2.3.3", "2.3.4"], "utf8-off-by-one"),
    **dict.fromkeys(["5.3.1", "5.3.2", "5.3.3", "5.3.4"], "utf8-reject-noncharacters"),
}

# For each case, a fault that breaks the rule the case checks.
BREAKS: dict[str, str] = {
    "rfc6455/5.6/text-split-on-code-points": "text-double-encoded",
    "rfc6455/5.6/text-split-inside-code-points": "utf8-per-frame",
    "rfc6455/5.6/text-split-inside-code-points-byte-writes": "utf8-per-frame",
    "rfc6455/5.6/text-byte-writes": "text-double-encoded",
    "rfc6455/5.6/text-4-byte-character-split-after-byte-1": "utf8-per-frame",
    "rfc6455/5.6/text-4-byte-character-split-after-byte-2": "utf8-per-frame",
    "rfc6455/5.6/text-4-byte-character-split-after-byte-3": "utf8-per-frame",
    **{f"rfc6455/5.6/kuhn-{n.replace('.', '-')}": fault for n, fault in VALID_KUHN.items()},
    **{
        case.id: "no-utf8-check"
        for case in CASES
        if case.id.startswith(("rfc6455/8.1/kuhn-", "rfc6455/8.1/fail-fast-"))
    },
}

FAIL_FAST = [c for c in CASES if "/fail-fast-" in c.id]
INVALID = [c for c in CASES if c.id.startswith("rfc6455/8.1/")]


async def _run(
    cases: Sequence[Case], *, engine: EngineName = "wsproto", policy: WirePolicy | None = None
) -> list[CaseResult]:
    # A faulty server may leave a case waiting for its deadline (an echo never sent).
    timeout = 5.0 if policy is None else 2.0
    return await run_reference(cases, engine=engine, policy=policy, timeout=timeout)


@cache
def _results_under(fault: str) -> dict[str, CaseResult]:
    """Every case BREAKS maps to ``fault``, run at once against one faulty server."""
    cases = broken_by(fault, CASES, BREAKS)
    return by_id(asyncio.run(_run(cases, engine="model", policy=fault_policy(fault, LOCAL_FAULTS))))


def test_case_counts() -> None:
    valid = sum(entry.valid for entry in KUHN_TABLE)
    fragmentable = sum(not entry.valid and len(entry.data) > 1 for entry in KUHN_TABLE)
    assert (valid, len(KUHN_TABLE) - valid, fragmentable) == (16, 64, 58)
    assert len(CASES) == 7 + valid + (len(KUHN_TABLE) - valid) + fragmentable + len(FAIL_FAST)
    assert len(CASES) <= 200


def test_every_case_has_a_breaking_fault() -> None:
    assert sorted(BREAKS) == sorted(c.id for c in CASES)
    assert set(BREAKS.values()) <= set(WIRE_FAULTS) | set(LOCAL_FAULTS)


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_reference_server_passes_every_case(engine: EngineName) -> None:
    assert not not_passed(asyncio.run(_run(CASES, engine=engine)))


@pytest.mark.parametrize("case_id", sorted(BREAKS))
def test_case_fails_against_the_fault_that_breaks_its_rule(case_id: str) -> None:
    assert_failed(_results_under(BREAKS[case_id])[case_id])


def test_failing_only_once_the_message_is_whole_is_info() -> None:
    """Fail-fast is recommended, not required by any sentence: a late 1007 is INFO."""
    results = asyncio.run(_run(FAIL_FAST, engine="model", policy=wire_policy("utf8-late")))
    assert {r.outcome for r in results} == {Outcome.INFO}
    assert all("not fail-fast" in r.actual for r in results)


def test_invalid_text_failed_with_1002_is_a_warning() -> None:
    """§7.1.7: the Close code is a SHOULD; 1007 is the appropriate one (§7.4.1)."""
    results = asyncio.run(_run(INVALID, engine="model", policy=wire_policy("utf8-1002")))
    assert {r.outcome for r in results} == {Outcome.WARN}
