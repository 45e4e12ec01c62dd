"""The compressed round-trip cases (RFC 7692 §6.2, §7.2) against correct and faulty servers.

Every default case PASSes against the reference server (both engines); each FAILs against
a server that breaks the rule it checks (a local WirePolicy overriding one deflate hook).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from case_runs import (
    fault_results,
    not_passed,
    run_fault_or_reference,
)

from conformance.cases import deflate_data
from conformance.cases.base import Case
from conformance.cases.deflate_data import Crafted
from conformance.echo_engine import WirePolicy
from conformance.model.behaviours import Echoed
from conformance.model.constants import Opcode
from conformance.model.deflate.payloads import AUTOBAHN_12_SIZES, Kind, payload
from conformance.model.frames import Frame
from conformance.model.server_extensions import DeflateSettings
from conformance.model.verdict import Outcome
from conformance.policy.deflate import DeflateEchoed
from conformance.reference_server import EngineName
from conformance.results import CaseResult
from conformance.session import wire
from fixtures.deflate_faults import (
    InflateEachFragment,
    RejectStoredBlocks,
    StopAtBfinal,
    UncompressedIntoWindow,
)

pytestmark = pytest.mark.network

CASES = deflate_data.CASES
DEFAULT = [c for c in CASES if c.profile == "default"]
FULL = [c for c in CASES if c.profile == "full"]


class ForgetInflateContext(WirePolicy):
    """Inflates every message with an empty window (breaks §7.2.2 "MUST decompress ... using
    the LZ77 sliding window ... of the last compressed message")."""

    def keep_inflate_context(self, agreed: DeflateSettings) -> bool:
        return False


class SmallInflateWindow(WirePolicy):
    """Inflates with a 512-byte window although none was agreed (breaks §7.2.2 32 KB)."""

    def inflate_window_bits(self, agreed: DeflateSettings) -> int:
        return 9


class InflateWindow14(WirePolicy):
    """Inflates with a 16 KiB window although none was agreed (breaks §7.2.2 32 KB)."""

    def inflate_window_bits(self, agreed: DeflateSettings) -> int:
        return 14


class IgnoreServerWindow(WirePolicy):
    """Compresses with a 32 KB window whatever was agreed (breaks §7.2.1)."""

    def deflate_window_bits(self, agreed: DeflateSettings) -> int:
        return 15


class IgnoreServerNoContext(WirePolicy):
    """Keeps its compression context under server_no_context_takeover (breaks §7.2.1)."""

    def keep_context(self, agreed: DeflateSettings) -> bool:
        return True


class CorruptCompressedEcho(WirePolicy):
    """Flips the last byte of every compressed echo: the reply no longer inflates to the
    message (breaks §6.1/§7.2.1: the payload is the message compressed)."""

    def compressed_echo(self, opcode: int, payload: bytes) -> list[Frame]:
        changed = payload[:-1] + bytes([payload[-1] ^ 0x55]) if payload else b"\x07"
        return [Frame(opcode, changed, rsv1=True)]


class EmptyPayloadForEmpty(WirePolicy):
    """Echoes an empty message as an empty compressed payload, no DEFLATE block (§7.2.1
    step 2 skipped)."""

    def compressed_echo(self, opcode: int, payload: bytes) -> list[Frame]:
        return [Frame(opcode, b"" if payload == b"\x00" else payload, rsv1=True)]


class NoPong(WirePolicy):
    """Answers no Ping (breaks RFC 6455 §5.5.2)."""

    def pong(self, ping_payload: bytes) -> Frame | None:
        return None


LOCAL_POLICIES = {
    "forget-inflate-context": ForgetInflateContext,
    "small-inflate-window": SmallInflateWindow,
    "inflate-window-14": InflateWindow14,
    "ignore-server-window": IgnoreServerWindow,
    "ignore-server-no-context": IgnoreServerNoContext,
    "corrupt-compressed-echo": CorruptCompressedEcho,
    "empty-payload-for-empty": EmptyPayloadForEmpty,
    "no-pong-local": NoPong,
    **{
        fault.name: fault
        for fault in (StopAtBfinal, RejectStoredBlocks, InflateEachFragment, UncompressedIntoWindow)
    },
}

BREAKS: dict[str, str] = {
    **{f"rfc7692/7.2.2/roundtrip-{k}": "small-inflate-window" for k in ("json", "prose", "html")},
    "rfc7692/7.2.2/roundtrip-image": "small-inflate-window",
    "rfc7692/7.2.2/roundtrip-incompressible": "corrupt-compressed-echo",
    "rfc7692/7.2.1/autobahn-13-1": "small-inflate-window",
    "rfc7692/7.2.1/autobahn-13-2": "ignore-server-no-context",
    "rfc7692/7.2.1/autobahn-13-3": "ignore-server-window",
    "rfc7692/7.2.1/autobahn-13-4": "small-inflate-window",
    "rfc7692/7.2.1/autobahn-13-5": "ignore-server-window",
    "rfc7692/7.2.1/autobahn-13-6": "ignore-server-no-context",
    "rfc7692/7.2.1/autobahn-13-7": "ignore-server-window",
    "rfc7692/7.2.2/client-context-takeover": "forget-inflate-context",
    "rfc7692/7.2.2/32k-window-without-cmwb": "inflate-window-14",
    "rfc7692/7.2.3.2/uncompressed-between-compressed": "uncompressed-into-window",
    "rfc7692/6/control-before-first-compressed": "no-pong-local",
    "rfc7692/6/ping-inside-compressed-message": "no-pong-local",
    "rfc7692/7.2.1/split-at-every-byte": "inflate-each-fragment",
    "rfc7692/7.2.3.6/empty-final-fragment": "corrupt-compressed-echo",
    "rfc7692/7.2.3.6/empty-message": "corrupt-compressed-echo",
    "rfc7692/7.2.3.1/hello-one-block": "corrupt-compressed-echo",
    "rfc7692/7.2.3.1/hello-fragmented": "inflate-each-fragment",
    "rfc7692/7.2.3.2/hello-context-takeover": "forget-inflate-context",
    "rfc7692/7.2.3.3/stored-block": "reject-stored-blocks",
    "rfc7692/7.2.3.4/bfinal-block": "corrupt-compressed-echo",
    "rfc7692/7.2.3.5/two-blocks": "corrupt-compressed-echo",
}
"""The fault that breaks each default case's rule."""


async def _run(
    cases: Sequence[Case], *, engine: EngineName = "wsproto", fault: str | None = None
) -> list[CaseResult]:
    return await run_fault_or_reference(cases, LOCAL_POLICIES, engine=engine, fault=fault)


_results_under = fault_results(CASES, BREAKS, LOCAL_POLICIES)


def test_every_default_case_has_a_breaking_fault() -> None:
    assert sorted(BREAKS) == sorted(c.id for c in DEFAULT)
    assert set(BREAKS.values()) <= set(LOCAL_POLICIES)


def test_case_counts() -> None:
    """Default: 5 kinds + 7 offer sets + 8 extra + 6 examples; full: Autobahn's 216 rows."""
    assert len(DEFAULT) == 26
    assert len(FULL) == (5 + 7) * len(AUTOBAHN_12_SIZES) == 216
    assert all(c.id.startswith("rfc7692/") for c in CASES)


def _messages(case: Case) -> tuple[tuple[int, bytes], ...]:
    behaviour = case.expect.alternatives[0]
    assert isinstance(behaviour, Echoed | DeflateEchoed)
    return behaviour.messages


def test_full_profile_sends_autobahns_1000_messages_a_row() -> None:
    """Autobahn 12/13 send 1000 messages a row (``case12_x_x.py``), 128 KiB ones included."""
    assert {len(_messages(c)) for c in FULL} == {deflate_data.FULL_PER_ROW}


def test_echoes_equal_to_what_was_sent_are_not_held_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run echoing more than a case keeps (MAX_KEPT) still passes: each echo equal to a
    payload sent is kept as that payload (WireSession.expect_echoes), not as a copy."""
    monkeypatch.setattr(wire, "MAX_KEPT", 2**20)
    data = [payload(Kind.JSON, 64 * 1024, seed) for seed in range(4)]
    case = deflate_data.echo_case(
        "rfc7692/x/long-run",
        "forty 64 KiB messages, 2.5 MiB, echoed",
        (),
        lambda: [deflate_data.Send(Opcode.TEXT, data[i % 4]) for i in range(40)],
    )
    (result,) = asyncio.run(_run([case], engine="model"))
    assert result.outcome is Outcome.PASS, result.actual


def test_context_case_back_references_the_previous_message() -> None:
    """The second copy compresses to a handful of bytes: a reference into message 1."""
    from conformance.model.deflate.compressor import MessageCompressor
    from conformance.model.deflate.params import WindowRule

    compressor = MessageCompressor(WindowRule())
    first = compressor.compress(deflate_data.CONTEXT_BLOCK)
    second = compressor.compress(deflate_data.CONTEXT_BLOCK)
    assert len(first) > len(deflate_data.CONTEXT_BLOCK) and len(second) < 32


def test_no_compressed_message_follows_a_crafted_one() -> None:
    with pytest.raises(ValueError, match="after a Crafted"):
        deflate_data.echo_case(
            "rfc7692/x/y",
            "t",
            (),
            lambda: [Crafted(1, (b"\x00",), b""), deflate_data.Send(1, b"x")],
        )


def test_split_case_cuts_every_byte_of_a_payload_holding_a_sync_marker() -> None:
    steps = deflate_data._split_everywhere()
    crafted = [s for s in steps if isinstance(s, Crafted)]
    whole = b"".join(crafted[0].payloads)
    assert b"\x00\x00\xff\xff" in whole  # the inner flush of the first block kept (§7.2.1)
    assert len(crafted) == len(whole)  # every cut, then one byte a fragment
    assert {len(c.payloads[0]) for c in crafted[:-1]} == set(range(1, len(whole)))


@pytest.mark.parametrize("engine", ["wsproto", "model"])
def test_reference_server_passes_every_default_case(engine: EngineName) -> None:
    results = asyncio.run(_run(DEFAULT, engine=engine))
    assert not not_passed(results)


def test_full_profile_rows_pass_against_the_reference_server() -> None:
    """A sample of the full profile (the smallest and the most fragmented rows)."""
    ids = {
        "rfc7692/7.2.2/roundtrip-json-16b",
        "rfc7692/7.2.2/roundtrip-image-8kib-frag-256",
        "rfc7692/7.2.1/autobahn-13-3-1kib",
    }
    results = asyncio.run(_run([c for c in FULL if c.id in ids], engine="model"))
    assert len(results) == 3 and not not_passed(results)


@pytest.mark.parametrize("case_id", sorted(BREAKS))
def test_case_fails_against_the_fault_that_breaks_its_rule(case_id: str) -> None:
    result = _results_under(BREAKS[case_id])[case_id]
    assert result.outcome is Outcome.FAIL, result.actual


def test_an_empty_payload_without_a_block_is_a_warning() -> None:
    """§7.2.1's algorithm has no key word: a reply with no DEFLATE block is WARN."""
    (case,) = [c for c in DEFAULT if c.id == "rfc7692/7.2.3.6/empty-message"]
    (result,) = asyncio.run(_run([case], fault="empty-payload-for-empty"))
    assert result.outcome is Outcome.WARN, result.actual


def test_a_full_row_gets_one_deadline_for_each_32_mib_it_sends() -> None:
    """Autobahn gives its big rows longer (``case12_x_x.py``): 1000 x 128 KiB get 4 deadlines."""
    scales = {c.id.rsplit("-", 1)[-1]: c.timeout_scale for c in FULL if "-frag-" not in c.id}
    assert scales["16b"] == scales["32kib"] == 1
    assert scales["64kib"] == 2 and scales["128kib"] == 4


def test_a_case_gets_its_scaled_deadline() -> None:
    """runner.run_case gives a case ``timeout * timeout_scale`` seconds."""
    from dataclasses import replace

    from conformance.driver import Target
    from conformance.model.observed import Observed
    from conformance.runner import run_case
    from conformance.session.context import CaseContext

    given: list[float] = []

    async def probe(ctx: CaseContext) -> Observed:
        given.append(ctx.deadline - asyncio.get_running_loop().time())
        return Observed()

    base = replace(DEFAULT[0], run=probe)
    target = Target.parse("ws://127.0.0.1:9/")

    async def both() -> None:
        await run_case(base, target, timeout=2)
        await run_case(replace(base, timeout_scale=4), target, timeout=2)

    asyncio.run(both())
    assert given[0] <= 2 < 6 < given[1] <= 8
