"""The server's wire tables played against clients (conformance/clients/wire_cases.py).

The reference client passes them (tests/clients/test_reference_client.py); here each
client fault (fixtures/client_faults.py) is shown to fail the cases of its rule, the
relabelling is checked, and a client that never connects ends the run with a diagnosis.
"""

from __future__ import annotations

import asyncio
import fnmatch
import sys

import pytest

from conformance.catalog import load_catalog
from conformance.clients.harness import AdapterProcess
from conformance.clients.runner import select_wire_cases
from conformance.clients.wire_cases import (
    MASK_KEY_FRAMES,
    SERVER_ONLY,
    client_wire_cases,
    mirrored_id,
    mirrored_title,
    server_wire_cases,
)
from conformance.clients.wire_run import MAX_MISSED_DIALS, run_wire_cases
from conformance.model.verdict import Outcome
from conformance.results import CaseResult

REFERENCE = [sys.executable, "-m", "conformance.clients.reference"]

OFFENCES = frozenset({"rfc6455-5.1-server-no-mask"})
"""Server rules the suite itself breaks on purpose (the masked frames of the §5.1 cases)."""
DEFINITIONS = frozenset({"rfc6455-7.4.1-code-1011-unexpected"})
"""A server's code, sent by the suite as the server: its meaning, not a client rule."""


def test_every_endpoint_case_is_mirrored_and_no_server_only_one() -> None:
    mirrored = {c.id for c in client_wire_cases("full")}
    server = server_wire_cases()
    assert not SERVER_ONLY & {c.id for c in server}
    assert {mirrored_id(c.id) for c in server} <= mirrored
    assert len(mirrored) == len(server) + 2  # and the two client-only rules


def test_mirrored_cases_cite_existing_ids_and_no_server_rule() -> None:
    catalog = load_catalog()
    for case in client_wire_cases("full"):
        assert case.role == "client"
        for requirement in case.requirements:
            record = catalog.get(requirement)
            assert record is not None, (case.id, requirement)
            if requirement not in OFFENCES | DEFINITIONS:
                assert record.party != "server", (case.id, requirement)


def test_titles_and_ids_swap_the_roles() -> None:
    assert mirrored_id("rfc6455/5.1/server-unmasked-125") == "rfc6455/5.1/client-masked-125"
    assert mirrored_id("rfc6455/5.1/unmasked-text") == "rfc6455/5.1/masked-text"
    assert mirrored_title("An unmasked text frame closes the connection") == (
        "A masked text frame closes the connection"
    )
    assert mirrored_title("The server never echoes code 1005 back in its Close") == (
        "The client never echoes code 1005 back in its Close"
    )


def run_wire(argv: list[str], cases: list[object] | None = None) -> dict[str, CaseResult]:
    async def main() -> list[CaseResult]:
        adapter = AdapterProcess(argv)
        await adapter.start()
        try:
            chosen = select_wire_cases("default") if cases is None else cases
            return await run_wire_cases(adapter, chosen, timeout=3.0)  # type: ignore[arg-type]
        finally:
            await adapter.stop()

    return {r.id: r for r in asyncio.run(main())}


def test_reference_client_passes_the_full_profile_rows() -> None:
    full = [c for c in select_wire_cases("full") if c.profile == "full"]
    assert full
    results = run_wire(REFERENCE, full)
    wrong = {i: r.actual for i, r in results.items() if r.outcome is not Outcome.PASS}
    assert not wrong, wrong


FAULT_CASES: dict[str, tuple[str, ...]] = {
    "unmasked-frames": ("rfc6455/5.2/text-0-bytes", "rfc6455/5.1/client-masked-*"),
    "fixed-mask-key": ("rfc6455/5.3/client-fresh-masking-keys",),
    "zero-mask-key": ("rfc6455/5.3/client-fresh-masking-keys",),
    "counter-mask-key": ("rfc6455/5.3/client-fresh-masking-keys",),
    "accept-masked-frames": ("rfc6455/5.1/masked-text", "rfc6455/5.1/masked-ping"),
    "ignore-rsv": ("rfc6455/5.2/rsv1-text", "rfc6455/5.2/rsv3-text"),
    "ignore-reserved-opcode": ("rfc6455/5.2/opcode-3", "rfc6455/5.2/opcode-15"),
    "ignore-bad-control": ("rfc6455/5.5/ping-126-bytes", "rfc6455/5.4/ping-fin-clear"),
    "no-fragment-reassembly-check": ("rfc6455/5.4/continuation-without-message",),
    "no-utf8-check": ("rfc6455/8.1/kuhn-2-1-5", "rfc6455/8.1/kuhn-*-fragmented"),
    "accept-close-1-byte": ("rfc6455/5.5.1/close-body-1-byte",),
    "accept-bad-close-reason": ("rfc6455/5.5.1/close-reason-invalid-utf8",),
    "no-close-reply": ("rfc6455/5.5.1/close-empty", "rfc6455/7.4.1/close-code-1000"),
    "reserved-close-code": ("rfc6455/7.4.1/close-code-1000",),
    "out-of-range-close-code": ("rfc6455/7.4.1/close-code-1000",),
    "fail-with-1000": ("rfc6455/5.2/rsv1-text",),
    "close-tcp-first": ("rfc6455/7.1.1/client-waits-for-server-tcp-close",),
    "no-pong": ("rfc6455/5.5.2/ping-text",),
    "wrong-pong-payload": ("rfc6455/5.5.2/ping-text",),
    "non-minimal-length": ("rfc6455/5.2/client-minimal-length-*",),
    "msb-length": ("rfc6455/5.2/client-length-msb-zero-65536",),
    "rsv2-set": ("rfc6455/5.2/client-rsv-zero-*",),
    "echo-any-close-code": ("rfc6455/7.4.1/no-1006-echo", "rfc6455/7.4.1/no-1015-echo"),
    "fail-with-1006": ("rfc6455/7.4.1/no-1006-when-failing",),
}
"""Each fault, and cases (globs) of its rule that must not pass against it. Over all 26
faults every one of the 351 wire cases (full profile) fails or warns against at least one
(measured when the table was written)."""


@pytest.mark.parametrize("fault", sorted(FAULT_CASES))
def test_each_client_fault_fails_the_wire_cases_of_its_rule(fault: str) -> None:
    chosen = [
        c
        for c in select_wire_cases("default")
        if any(fnmatch.fnmatchcase(c.id, g) for g in FAULT_CASES[fault])
    ]
    assert chosen, fault
    results = run_wire([sys.executable, "-m", "fixtures.faulty_client", "--fault", fault], chosen)
    passed = {i: r.actual for i, r in results.items() if r.outcome in (Outcome.PASS, Outcome.ERROR)}
    assert not passed, passed


def test_the_key_case_sends_enough_frames_to_judge() -> None:
    case = next(c for c in client_wire_cases() if c.id.endswith("fresh-masking-keys"))
    results = run_wire(REFERENCE, [case])
    assert results[case.id].outcome is Outcome.PASS
    assert f"{MASK_KEY_FRAMES + 2} masking keys judged" in " ".join(results[case.id].notes)


SILENT_ADAPTER = [
    sys.executable,
    "-c",
    'import sys, time; print(\'{"event": "ready", "client": "silent"}\', flush=True); '
    "time.sleep(60)",
]


def test_a_client_that_never_connects_stops_the_run_with_one_diagnosis() -> None:
    cases = select_wire_cases("default")[: MAX_MISSED_DIALS + 5]
    results = run_wire(SILENT_ADAPTER, cases)
    assert all(r.outcome is Outcome.ERROR for r in results.values())
    assert all("not run" in r.actual and "did not connect" in r.actual for r in results.values())
