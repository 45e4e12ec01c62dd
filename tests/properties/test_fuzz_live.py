"""``wsconform fuzz`` over loopback: the reference server has no counterexample (both
engines); each wire fault yields a shrunk one, with its seed and the exact bytes sent."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE
from conformance.driver import Target
from conformance.fuzz.campaign import FuzzRun, fuzz
from conformance.fuzz.generate import INVALID_KINDS, generate
from conformance.fuzz.scenario import Kind, read_case
from conformance.model.verdict import Outcome
from conformance.reference_server import ENGINES, EngineName, start_reference_server
from fixtures.fault_server import start_fault_server

pytestmark = pytest.mark.network

SEED = 6455
EXAMPLES = 40
TEST_TIMEOUT = 15.0


def run_fuzz(server_kind: str, name: str, examples: int = EXAMPLES) -> FuzzRun:
    async def main() -> FuzzRun:
        if server_kind == "engine":
            engine: EngineName = "model" if name == "model" else "wsproto"
            server = await start_reference_server(engine=engine)
        else:
            server = await start_fault_server(name)
        async with server:
            return await fuzz(Target.parse(server.url), examples=examples, seed=SEED, timeout=5)

    async def bounded() -> FuzzRun:
        async with asyncio.timeout(TEST_TIMEOUT):
            return await main()

    return asyncio.run(bounded())


class TestGenerator:
    """Every drawn case is what it claims: valid traffic, or exactly one broken rule."""

    @pytest.mark.parametrize("kind", ["echo", "invalid"])
    def test_generated_cases_pass_the_model(self, kind: Kind) -> None:
        for example in range(200):
            scenario = generate(kind, SEED, example)
            assert read_case(scenario) is not None, scenario.describe()

    def test_same_seed_same_cases(self) -> None:
        assert generate("echo", 1, 3) == generate("echo", 1, 3)
        assert generate("echo", 1, 3) != generate("echo", 2, 3)

    def test_every_broken_rule_comes_within_one_round(self) -> None:
        kinds = len(INVALID_KINDS)
        labels = {generate("invalid", SEED, n).label for n in range(kinds)}
        assert labels == set(INVALID_KINDS)


@pytest.mark.parametrize("engine", ENGINES)
def test_reference_server_has_no_counterexample(engine: EngineName) -> None:
    run = run_fuzz("engine", engine)
    assert not run.counterexamples
    assert run.report.summary()["pass"] == 2 * EXAMPLES


@pytest.mark.parametrize(
    ("fault", "kind", "frames"),
    [
        ("echo-fragmented-wrong", "echo", 2),
        ("accept-rsv", "invalid", 1),
        ("no-utf8-check", "invalid", 1),
    ],
)
def test_wire_fault_gives_a_shrunk_counterexample(fault: str, kind: str, frames: int) -> None:
    run = run_fuzz("fault", fault)
    assert [c.id.split("/")[1] for c in run.counterexamples] == [kind]
    found = run.counterexamples[0]
    assert found.outcome is Outcome.FAIL
    notes = "\n".join(found.notes)
    assert f"seed {SEED}, example" in notes
    assert "shrunk in" in notes
    assert f"to {frames} frames" in notes
    assert "hex): " in notes
    assert f"--seed {SEED}" in found.reproduce


def test_shrunk_echo_counterexample_is_minimal() -> None:
    run = run_fuzz("fault", "echo-fragmented-wrong")
    note = next(n for n in run.counterexamples[0].notes if n.startswith("shrunk"))
    # The fault drops the last fragment's data: two frames, one byte in the last.
    assert "to 2 frames, 1 payload bytes, 1 writes" in note
    assert note.endswith("CONTINUATION[1] b'a'")


def test_cli_fuzz_writes_a_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "fuzz.json"
    code = main(["fuzz", "--examples", "5", "--seed", "7", "-q", "--json", str(report)])
    assert code == EXIT_OK
    data = json.loads(report.read_text())
    ids = [case["id"] for case in data["cases"]]
    assert ids == [f"fuzz/echo/{n}" for n in range(5)] + [f"fuzz/invalid/{n}" for n in range(5)]
    assert "seed 7" in capsys.readouterr().out


def test_cli_fuzz_finds_a_fault(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    command = f"{sys.executable} -m fixtures.fault_server --fault accept-rsv --port {{port}}"
    report = tmp_path / "fuzz.json"
    code = main(
        ["fuzz", "--server-cmd", command, "--examples", "13", "--seed", "1", "--json", str(report)]
    )
    assert code == EXIT_FAILED
    out = capsys.readouterr().out
    assert "shrunk in" in out
    failed = [c for c in json.loads(report.read_text())["cases"] if c["outcome"] == "fail"]
    assert failed and all(c["id"].startswith("fuzz/invalid/") for c in failed)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["fuzz", "--examples", "0"], EXIT_USAGE),
        (["fuzz", "ws://127.0.0.1:1/", "--examples", "1", "--timeout", "2"], EXIT_UNREACHABLE),
    ],
)
def test_cli_fuzz_exit_codes(argv: list[str], code: int) -> None:
    assert main(argv) == code
