"""The reports: terminal, JSON, JUnit, Markdown, HTML, and their shared evidence helpers."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.catalog import Catalog, Requirement
from conformance.model.verdict import Level, Outcome
from conformance.reports.evidence import (
    hexdump,
    non_passing,
    printable,
    reproduce_line,
    requirement_lines,
    section_counts,
)
from conformance.reports.junit import to_junit_xml, write_junit
from conformance.reports.markdown import fenced, md_escape, render_case_markdown, render_markdown
from conformance.results import CaseResult, RunReport

URL = "ws://127.0.0.1:9001/"
KEY = Requirement(
    id="rfc6455-4.2.1-key-16-bytes",
    spec="RFC 6455",
    section="4.2.1",
    title="The key decodes to 16 bytes",
    keyword="MUST",
    party="server",
    quote=(
        "A |Sec-WebSocket-Key| header field with a base64-encoded (see Section 4 of\n"
        "   [RFC4648]) value that, when decoded, is 16 bytes in length."
    ),
    link="https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1",
)
CLOSE = Requirement(
    id="rfc6455-5.5.1-close-reply",
    spec="RFC 6455",
    section="5.5.1",
    title="Close is answered",
    keyword="SHOULD",
    party="endpoint",
    quote="it MUST send a Close frame in response",
    link="https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1",
)
CATALOG = Catalog([KEY, CLOSE])
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\n\r\n"
NASTY = "bad \x00\x01\x1b[31mred\x1b[0m ]]> <script>alert(1)</script> & \ud800 \u202e"


def case(name: str, outcome: Outcome, *, section: str = "4.2.1", **changes: object) -> CaseResult:
    base = CaseResult(
        id=f"rfc6455/{section}/{name}",
        title=f"The {name} case",
        outcome=outcome,
        level=Level.SHOULD if outcome is Outcome.WARN else Level.MUST,
        requirements=(KEY.id,),
        expected="an HTTP error response (status 400-599)",
        actual="HTTP 101 Switching Protocols; TCP still open",
        duration_s=0.25,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def make_report(**changes: object) -> RunReport:
    results = [
        case("ok", Outcome.PASS),
        case("info", Outcome.INFO, section="5.5.1", requirements=(CLOSE.id,)),
        case(
            "missing-key",
            Outcome.FAIL,
            requirements=(KEY.id, "no-such-requirement"),
            sent=REQUEST,
            received=b"HTTP/1.1 101 Switching Protocols\r\n\r\n" + bytes(range(256)),
            sent_total=len(REQUEST),
            received_total=70000,
            notes=("the key was left out entirely", "second note"),
            reproduce=f"wsconform run {URL} --cases 'rfc6455/4.2.1/missing-key'",
        ),
        case("unsupported", Outcome.UNSUPPORTED, section="5.5.1"),
        case("warn", Outcome.WARN, section="5.5.1", requirements=(CLOSE.id,)),
        case("error", Outcome.ERROR, actual="no answer before the deadline; TCP still open"),
    ]
    report = RunReport(
        target_url=URL,
        results=results,
        duration_s=1.234,
        started_at="2024-05-01T12:00:00Z",
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def nasty_report() -> RunReport:
    """Every peer-influenced text field full of control characters and markup."""
    bad = case(
        "nasty",
        Outcome.FAIL,
        title=NASTY,
        actual=NASTY,
        expected=NASTY,
        notes=(NASTY, "```\n# heading"),
        received=b"]]>\x00\x1b```" * 10,
        requirements=(KEY.id, NASTY),
    )
    warn = case("nasty-warn", Outcome.WARN, actual=NASTY)
    return RunReport(target_url=URL, results=[bad, warn], strict=True)


# evidence -----------------------------------------------------------------------------


def test_hexdump_line_format() -> None:
    dump = hexdump(b"GET / HTTP/1.1\r\nHost")
    assert dump.splitlines() == [
        "00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|",
        "00000010  48 6f 73 74".ljust(60) + "|Host|",
    ]


def test_hexdump_columns_align() -> None:
    lines = hexdump(bytes(range(40))).splitlines()
    assert {line.index("|") for line in lines} == {60}


def test_hexdump_truncates_at_limit() -> None:
    lines = hexdump(bytes(100), 32).splitlines()
    assert len(lines) == 3
    assert lines[-1] == "… 68 more bytes (100 in all)"


def test_hexdump_counts_bytes_beyond_the_stored_prefix() -> None:
    assert hexdump(b"abc", total=12345 + 3).splitlines()[-1] == "… 12345 more bytes (12348 in all)"
    assert hexdump(b"abc", total=3) == hexdump(b"abc")
    assert hexdump(b"abc", total=1) == hexdump(b"abc")  # never fewer than stored


def test_hexdump_empty() -> None:
    assert hexdump(b"") == "(no bytes)"
    assert hexdump(b"", total=5) == "… 5 more bytes (5 in all)"


def test_requirement_lines_resolve_and_keep_unknown_ids() -> None:
    lines = requirement_lines([KEY.id, "nope", KEY.id], CATALOG)
    assert [line.id for line in lines] == [KEY.id, "nope"]
    assert lines[0].requirement is KEY
    assert lines[0].headline == "RFC 6455 §4.2.1 (MUST, server) rfc6455-4.2.1-key-16-bytes"
    assert lines[0].quote.startswith("A |Sec-WebSocket-Key| header field")
    assert "\n" not in lines[0].quote
    assert lines[1].requirement is None
    assert lines[1].headline == "unknown requirement nope"
    assert lines[1].quote == lines[1].link == ""
    assert requirement_lines([KEY.id], None)[0].headline == f"unknown requirement {KEY.id}"


def test_printable_neutralises_controls_and_bidi() -> None:
    text = printable(NASTY)
    assert "\x1b" not in text
    assert "\x00" not in text
    assert "\u202e" not in text
    assert "\\x1b[31m" in text
    assert "\\ud800" in text
    assert "\\u202e" in text
    assert printable("tab\tand\nnewline §") == "tab\tand\nnewline §"


def test_non_passing_order_is_worst_first() -> None:
    outcomes = [r.outcome for r in non_passing(make_report())]
    assert outcomes == [
        Outcome.FAIL,
        Outcome.ERROR,
        Outcome.WARN,
        Outcome.INFO,
        Outcome.UNSUPPORTED,
    ]


def test_reproduce_command_falls_back_to_the_case_id() -> None:
    result = case("x", Outcome.FAIL)
    assert reproduce_line(result, URL) == f"wsconform run {URL} --cases rfc6455/4.2.1/x"
    odd = reproduce_line(result, "ws://h/a b")
    assert odd == "wsconform run 'ws://h/a b' --cases rfc6455/4.2.1/x"


def test_section_counts_in_natural_order() -> None:
    report = RunReport(
        URL,
        results=[
            case("a", Outcome.PASS, section="10.1"),
            case("b", Outcome.FAIL, section="9.2"),
            case("c", Outcome.PASS, section="9.2"),
        ],
    )
    rows = section_counts(report)
    assert [label for label, _ in rows] == ["rfc6455 §9.2", "rfc6455 §10.1"]
    assert rows[0][1]["pass"] == 1
    assert rows[0][1]["fail"] == 1


# JUnit --------------------------------------------------------------------------------


def test_junit_structure_and_counts() -> None:
    root = ET.fromstring(to_junit_xml(make_report(), CATALOG))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "ws-conformance"
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests", "")) == 6
    for testcase in cases:
        assert testcase.get("name", "").startswith("rfc6455/")
        assert testcase.get("classname") in {"rfc6455.4.2.1", "rfc6455.5.5.1"}
        assert float(testcase.get("time", "")) == 0.25
    assert int(suite.get("failures", "")) == len(suite.findall("testcase/failure")) == 1
    assert int(suite.get("errors", "")) == len(suite.findall("testcase/error")) == 1
    assert int(suite.get("skipped", "")) == len(suite.findall("testcase/skipped")) == 1
    assert root.get("failures") == "1"
    failure = suite.find("testcase[@name='rfc6455/4.2.1/missing-key']/failure")
    assert failure is not None
    assert "Requirement: RFC 6455 §4.2.1" in (failure.text or "")
    assert "expected an HTTP error response" in failure.get("message", "")
    warn = suite.find("testcase[@name='rfc6455/5.5.1/warn']")
    assert warn is not None
    assert warn.find("failure") is None
    assert "[WARN]" in (warn.findtext("system-out") or "")


def test_junit_strict_counts_warnings_as_failures() -> None:
    suite = ET.fromstring(to_junit_xml(make_report(strict=True))).find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "2"
    failure = suite.find("testcase[@name='rfc6455/5.5.1/warn']/failure")
    assert failure is not None
    assert failure.get("type") == "WARN"


def test_junit_stays_valid_with_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(nasty_report(), path, CATALOG)
    raw = path.read_bytes()
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", raw)
    root = ET.parse(path).getroot()
    failures = root.findall("testsuite/testcase/failure")
    assert len(failures) == 2  # strict: the WARN fails too
    text = failures[0].text or ""
    assert "]]>" in text
    assert "<script>" in text
    assert "\\x1b[31m" in text
    assert "\\x00" in text
    assert root.find("testsuite/testcase") is not None


# Markdown -----------------------------------------------------------------------------


def test_markdown_case_block() -> None:
    report = make_report()
    text = render_case_markdown(report.results[2], CATALOG, URL)
    assert text.startswith("### FAIL: The missing-key case (`rfc6455/4.2.1/missing-key`)")
    assert "**Requirement:** RFC 6455 §4.2.1, **MUST** (server)" in text
    assert f"> {md_escape(KEY.quote)}" in text
    assert "A \\|Sec-WebSocket-Key\\| header field" in text
    assert f"(<{KEY.link}>)" in text
    assert "unknown requirement `no-such-requirement`" in text
    assert "**Expected:** an HTTP error response (status 400-599)" in text
    assert "**Actual:** HTTP 101 Switching Protocols; TCP still open" in text
    assert "**Received** (first 256 of 70000 bytes):" in text
    assert "00000000  47 45 54 20" in text
    assert "… 69744 more bytes (70000 in all)" in text
    assert "- the key was left out entirely" in text
    assert (
        f"Reproduce with:\n\n```sh\nwsconform run {URL} --cases 'rfc6455/4.2.1/missing-key'\n```"
    ) in text
    assert "Found with ws-conformance " in text


def test_markdown_fences_survive_backticks() -> None:
    assert fenced("a ``` b").startswith("````\n")
    text = render_case_markdown(nasty_report().results[0], CATALOG, URL)
    assert "\x1b" not in text
    assert "\x00" not in text
    assert "**Actual:** bad \\\\x00\\\\x01\\\\x1b\\[31mred" in text
    assert "\\<script\\>alert(1)\\</script\\>" in text  # markup escaped outside code
    assert "```\n# heading" not in text


def test_markdown_whole_run() -> None:
    text = render_markdown(make_report(), CATALOG)
    assert text.startswith("# WebSocket conformance: FAILED")
    assert "| Outcome | Cases |" in text
    assert "| failed | 1 |" in text
    assert "| rfc6455 §4.2.1 | 1 | 1 | 0 | 0 | 0 | 1 |" in text
    headings = re.findall(r"^### (\w+):", text, re.MULTILINE)
    assert headings == ["FAIL", "ERROR", "WARN", "INFO", "UNSUPPORTED"]
    passing = RunReport(URL, results=[case("ok", Outcome.PASS)])
    assert "Every case passed." in render_markdown(passing, CATALOG)
