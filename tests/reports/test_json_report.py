"""The JSON report: its contract, its reader, and compact transcripts (issue #12 item 5)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from test_reports import NASTY, REQUEST, URL, case, make_report

from conformance.baseline import read_baseline
from conformance.cli import main
from conformance.model.verdict import Outcome
from conformance.reports.evidence import hexdump
from conformance.reports.json_report import (
    EVIDENCE_BYTES,
    PASS_BYTES,
    bytes_limit,
    case_to_json,
    from_json,
    read_json,
    to_json,
    write_json,
)
from conformance.results import CaseResult, RunReport

TRANSCRIPT = bytes(range(256)) * 256
"""64 KiB: as much as the suite keeps of one direction."""


def big(name: str, outcome: Outcome) -> CaseResult:
    """A case whose both directions carry a full 64 KiB transcript."""
    return case(
        name,
        outcome,
        sent=TRANSCRIPT,
        received=TRANSCRIPT[::-1],
        sent_total=len(TRANSCRIPT),
        received_total=len(TRANSCRIPT) + 1000,
    )


# the contract -------------------------------------------------------------------------


def test_json_contract() -> None:
    data = to_json(make_report())
    assert {"tool", "target", "summary", "cases"} <= data.keys()
    assert data["tool"] == {"name": "ws-conformance", "version": data["tool"]["version"]}
    assert isinstance(data["tool"]["version"], str)
    assert data["tool"]["version"]
    assert data["target"]["url"] == URL
    assert data["target"]["role"] == "server"
    assert data["summary"] == {
        "pass": 1,
        "fail": 1,
        "warn": 1,
        "info": 1,
        "unsupported": 1,
        "error": 1,
    }
    for entry in data["cases"]:
        assert {
            "id",
            "title",
            "outcome",
            "requirements",
            "expected",
            "actual",
            "duration_s",
        } <= entry.keys()
        assert entry["outcome"] in {"pass", "fail", "warn", "info", "unsupported", "error"}
        assert isinstance(entry["requirements"], list)
        assert isinstance(entry["duration_s"], float)
    assert json.loads(json.dumps(data)) == data


def test_json_round_trip(tmp_path: Path) -> None:
    report = make_report(strict=True)
    report.results.append(
        case(
            "bytes",
            Outcome.FAIL,
            sent=bytes(range(256)),
            received=b"\x00\xff",
            received_total=3,
            title=NASTY,
        )
    )
    path = tmp_path / "report.json"
    write_json(report, path)
    back = read_json(path)
    assert back == report
    assert back.results == report.results  # every CaseResult field, bytes included
    raw = json.loads(path.read_text("utf-8"))
    assert raw["cases"][2]["sent_hex"] == REQUEST.hex()


def test_json_round_trip_of_what_was_tested(tmp_path: Path) -> None:
    report = make_report(
        server_command="node server.js --port {port}",
        server_header="ws/8.18 \x1b[31m",
        preflight=("no Pong to a Ping: cases use the closing handshake as barrier",),
    )
    path = tmp_path / "report.json"
    write_json(report, path)
    raw = json.loads(path.read_text("utf-8"))
    assert raw["target"]["server_command"] == "node server.js --port {port}"
    assert raw["target"]["server_header"] == "ws/8.18 \x1b[31m"
    assert raw["preflight"] == list(report.preflight)
    assert read_json(path) == report


def test_json_reader_accepts_the_bare_contract() -> None:
    data = {
        "tool": {"name": "ws-conformance", "version": "9"},
        "target": {"url": URL, "role": "server"},
        "summary": {},
        "cases": [
            {
                "id": "a/1/b",
                "title": "t",
                "outcome": "warn",
                "requirements": ["r"],
                "expected": "e",
                "actual": "a",
                "duration_s": 1,
            }
        ],
    }
    report = from_json(data)
    assert report.results[0].outcome is Outcome.WARN
    assert report.results[0].duration_s == 1.0
    assert report.results[0].sent == b""
    assert report.server_command == report.server_header == ""
    assert report.preflight == ()


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("cases"),
        lambda d: d["cases"][0].update(outcome="great"),
        lambda d: d["cases"][0].update(sent_hex="zz"),
        lambda d: d["cases"][0].update(requirements="r"),
        lambda d: d["target"].pop("url"),
        lambda d: d.update(preflight="no pong"),
        lambda d: d["target"].update(server_header=7),
    ],
)
def test_json_reader_rejects_malformed(damage: object, tmp_path: Path) -> None:
    data = to_json(make_report())
    damage(data)  # type: ignore[operator]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(ValueError, match=r"\S"):
        read_json(path)


def test_json_reader_rejects_non_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{", "utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        read_json(path)


# compact transcripts ------------------------------------------------------------------


def test_pass_case_keeps_only_a_small_prefix_with_size_and_digest() -> None:
    entry = case_to_json(big("ok", Outcome.PASS))
    assert entry["sent_hex"] == TRANSCRIPT[:PASS_BYTES].hex()
    assert entry["sent_kept"] == len(TRANSCRIPT)
    assert entry["sent_sha256"] == hashlib.sha256(TRANSCRIPT).hexdigest()
    assert entry["received_hex"] == TRANSCRIPT[::-1][:PASS_BYTES].hex()
    assert entry["received_sha256"] == hashlib.sha256(TRANSCRIPT[::-1]).hexdigest()
    assert entry["sent_total"] == len(TRANSCRIPT)
    assert entry["received_total"] == len(TRANSCRIPT) + 1000
    assert len(json.dumps(entry)) < 1500


@pytest.mark.parametrize(
    "outcome", [o for o in Outcome if o is not Outcome.PASS], ids=lambda o: o.value
)
def test_other_cases_keep_evidence_bytes_then_size_and_digest(outcome: Outcome) -> None:
    entry = case_to_json(big("bad", outcome))
    assert bytes_limit(outcome) == EVIDENCE_BYTES > PASS_BYTES
    assert entry["received_hex"] == TRANSCRIPT[::-1][:EVIDENCE_BYTES].hex()
    assert entry["received_kept"] == len(TRANSCRIPT)
    assert entry["received_sha256"] == hashlib.sha256(TRANSCRIPT[::-1]).hexdigest()
    assert entry["sent_kept"] == len(TRANSCRIPT)


def test_transcript_within_the_cap_is_kept_whole_without_digest() -> None:
    entry = case_to_json(case("ok", Outcome.PASS, sent=REQUEST[:PASS_BYTES], received=b""))
    assert entry["sent_hex"] == REQUEST[:PASS_BYTES].hex()
    assert entry["received_hex"] == ""
    assert not {"sent_kept", "sent_sha256", "received_kept", "received_sha256"} & entry.keys()


def test_limit_lowers_the_cap_but_never_raises_it() -> None:
    result = big("bad", Outcome.FAIL)
    assert len(case_to_json(result, 16)["sent_hex"]) == 32
    lowered = to_json(RunReport(URL, results=[big("ok", Outcome.PASS)]), limit=10**6)
    assert len(lowered["cases"][0]["sent_hex"]) == 2 * PASS_BYTES


def test_report_size_follows_what_went_wrong() -> None:
    """380 passing cases with 64 KiB each way stay small; each failure adds its evidence."""
    passing = [big(f"ok-{n}", Outcome.PASS) for n in range(380)]
    report = RunReport(URL, results=passing)
    all_pass = len(json.dumps(to_json(report), indent=2))
    assert all_pass < 380 * 2000  # was 380 × 2 × 128 KiB of hex (≈ 100 MB)
    report.results[:10] = [big(f"bad-{n}", Outcome.FAIL) for n in range(10)]
    ten_failing = len(json.dumps(to_json(report), indent=2))
    per_failure = (ten_failing - all_pass) / 10
    assert 3 * EVIDENCE_BYTES < per_failure < 4 * EVIDENCE_BYTES + 1000  # 2 × hex of 4 KiB


def test_compact_report_reads_back_as_a_prefix_with_the_full_count(tmp_path: Path) -> None:
    report = RunReport(URL, results=[big("bad", Outcome.FAIL), big("ok", Outcome.PASS)])
    path = tmp_path / "r.json"
    write_json(report, path)
    back = read_json(path)
    failing, passing = back.results
    assert failing.received == TRANSCRIPT[::-1][:EVIDENCE_BYTES]
    assert failing.received_total == len(TRANSCRIPT) + 1000
    assert passing.sent == TRANSCRIPT[:PASS_BYTES]
    assert hexdump(failing.received, total=failing.received_total).endswith(
        f"… {len(TRANSCRIPT) + 1000 - 512} more bytes ({len(TRANSCRIPT) + 1000} in all)"
    )
    assert dataclasses.replace(failing, sent=b"", received=b"") == dataclasses.replace(
        report.results[0], sent=b"", received=b""
    )


def test_compact_report_is_a_baseline(tmp_path: Path) -> None:
    report = RunReport(URL, results=[big("bad", Outcome.FAIL), big("ok", Outcome.PASS)])
    path = tmp_path / "r.json"
    write_json(report, path)
    baseline = read_baseline(str(path))
    assert {key: accepted.outcome for key, accepted in baseline.items()} == {
        "rfc6455/4.2.1/bad": Outcome.FAIL,
        "rfc6455/4.2.1/ok": Outcome.PASS,
    }


def test_explain_reads_a_compact_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = RunReport(URL, results=[big("bad", Outcome.FAIL)])
    path = tmp_path / "r.json"
    write_json(report, path)
    code = main(["explain", "rfc6455/4.2.1/bad", "--report", str(path), "--no-color"])
    out = capsys.readouterr().out
    assert code == 1
    assert "an HTTP error response (status 400-599)" in out
    assert f"({len(TRANSCRIPT) + 1000} in all)" in out
