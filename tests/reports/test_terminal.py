"""The terminal output: header, one line per case (default), evidence (-v), ids (-q)."""

from __future__ import annotations

import dataclasses
import re

from conformance.catalog import Catalog, Requirement
from conformance.model.verdict import PREFLIGHT_PREFIX, Level, Outcome
from conformance.reports.evidence import HEAD_LINE_CHARS, evidence_view, http_head_view
from conformance.reports.terminal import (
    EVIDENCE_LIMIT,
    Detail,
    render_failures,
    render_run,
    render_summary,
)
from conformance.results import CaseResult, RunReport

URL = "ws://127.0.0.1:9001/"
COMMAND = "python -m my_server --port {port}"
HOST = Requirement(
    id="rfc6455-4.2.1-host-header",
    spec="RFC 6455",
    section="4.2.1",
    title="Reading the Client's Opening Handshake",
    keyword="MUST",
    party="server",
    quote="A |Host| header field containing the server's authority.",
    link="https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1",
)
RSV = Requirement(
    id="rfc6455-5.2-rsv-nonzero-fail",
    spec="RFC 6455",
    section="5.2",
    title="Base Framing Protocol",
    keyword="MUST",
    party="endpoint",
    quote="If a nonzero value is received and none of the negotiated extensions defines the "
    "meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket "
    "Connection_.",
    link="https://www.rfc-editor.org/rfc/rfc6455#section-5.2",
)
CATALOG = Catalog([HOST, RSV])
REQUEST = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
)
CLOSE_FRAME = b"\x88\x82\x37\xfa\x21\x3d\x34\x12"
RESPONSE = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nServer: x\r\n\r\n"
ESCAPE = "\x1b[2J\x1b]0;owned\x07"
HEX_LINE = re.compile(r"[0-9a-f]{8}  [0-9a-f]{2} ")
LONG_ACTUAL = "HTTP 101 Switching Protocols; TCP still open; " + "and much more " * 20


def result(name: str, outcome: Outcome, section: str, **changes: object) -> CaseResult:
    base = CaseResult(
        id=f"rfc6455/{section}/{name}",
        title=f"The {name} case",
        outcome=outcome,
        level=Level.MUST,
        requirements=(HOST.id,) if section == "4.2.1" else (RSV.id,),
        expected="an HTTP error response (status 400-599)",
        actual=f"actual of {name}",
        duration_s=0.01,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def synthetic_report(**changes: object) -> RunReport:
    """A run with a pass, a FAIL with a handshake and a frame, a WARN, an INFO and an
    ERROR over two sections (listed out of order), and every header fact set."""
    report = RunReport(
        target_url=URL,
        results=[
            result("rsv1-text", Outcome.INFO, "5.2"),
            result("ok", Outcome.PASS, "4.2.1"),
            result(
                "missing-host",
                Outcome.FAIL,
                "4.2.1",
                actual=LONG_ACTUAL,
                sent=REQUEST + CLOSE_FRAME,
                sent_total=len(REQUEST) + len(CLOSE_FRAME),
                received=RESPONSE + bytes(range(256)),
                received_total=70000,
                notes=("the Host field was left out", "second note"),
            ),
            result("rsv2-text", Outcome.ERROR, "5.2"),
            result("odd-header", Outcome.WARN, "4.2.1"),
        ],
        duration_s=2.5,
        server_command=COMMAND,
        server_header="Python/3.11 websockets/17.4",
        preflight=("no Pong to a Ping: the Close handshake serves as barrier",),
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def default_lines(report: RunReport, width: int = 100) -> list[str]:
    text = render_run(report, CATALOG, detail=Detail.LIST, color=False, width=width)
    return text.splitlines()


# default: header, one line per case, summary -------------------------------------------


def test_default_header_names_what_was_tested() -> None:
    lines = default_lines(synthetic_report())
    assert lines[0].startswith("wsconform ") and "profile" not in lines[0]
    assert lines[1:5] == [
        f"  target     {URL}",
        f"  command    {COMMAND}",
        "  server     Python/3.11 websockets/17.4",
        "  preflight  no Pong to a Ping: the Close handshake serves as barrier",
    ]
    text = render_run(synthetic_report(profile="full"), CATALOG, detail=Detail.LIST, color=False)
    assert text.splitlines()[0].endswith(" · profile full")


def test_default_header_leaves_out_facts_that_are_absent() -> None:
    report = synthetic_report(
        target_url="ws://127.0.0.1:5/ (built-in reference server)",
        server_command="",
        server_header="",
        preflight=(),
    )
    lines = default_lines(report)
    assert lines[1] == "  target     ws://127.0.0.1:5/ (built-in reference server)"
    assert lines[2] == ""
    assert not any(re.match(r"  (command|server|preflight) ", line) for line in lines)


def test_default_lists_one_line_per_case_that_did_not_pass_grouped_by_section() -> None:
    lines = default_lines(synthetic_report())
    body = lines[lines.index("") + 1 :]
    assert body[0] == "rfc6455 §4.2.1 Reading the Client's Opening Handshake"
    assert body[1].startswith("  ✗ rfc6455/4.2.1/missing-host  FAIL   HTTP 101 Switching")
    assert body[2] == "  ⚠ rfc6455/4.2.1/odd-header    WARN   actual of odd-header"
    assert body[3] == "rfc6455 §5.2 Base Framing Protocol"
    assert body[4] == "  ! rfc6455/5.2/rsv2-text  ERROR  actual of rsv2-text"
    assert body[5] == "  i rfc6455/5.2/rsv1-text  INFO   actual of rsv1-text"
    assert body[6] == ""
    assert not any("rfc6455/4.2.1/ok" in line for line in lines)


def test_default_section_heading_is_the_number_when_the_catalog_has_no_title() -> None:
    text = render_run(synthetic_report(), None, detail=Detail.LIST, color=False)
    assert "rfc6455 §4.2.1\n" in text and "rfc6455 §5.2\n" in text


def test_default_has_no_quotes_no_hex_and_fits_the_width() -> None:
    for width in (60, 100, 140):
        lines = default_lines(synthetic_report(), width)
        summary = lines[-2]
        assert all(len(line) <= width for line in lines if line != summary)
        assert not any(HEX_LINE.search(line) for line in lines)
        text = "\n".join(lines)
        assert HOST.quote not in text and "Requirement:" not in text and "Sent:" not in text
    reason = next(line for line in default_lines(synthetic_report()) if "missing-host" in line)
    assert reason.endswith("…") and 95 <= len(reason) <= 100
    long_id = result("a-very-long-case-name-that-takes-most-of-the-line", Outcome.FAIL, "5.2")
    lines = default_lines(synthetic_report(results=[long_id]), 60)
    at = lines.index(f"  ✗ {long_id.id}  FAIL")  # an id is never cut: it is pasted back
    assert lines[at + 1].startswith("      actual of a-very-long") and len(lines[at + 1]) == 60
    narrow = default_lines(synthetic_report(), 60)
    at = narrow.index("  ✗ rfc6455/4.2.1/missing-host  FAIL")  # the reason on its own line
    assert narrow[at + 1].startswith("      HTTP 101 Switching Protocols")


def test_default_ends_with_the_summary_and_where_to_find_details() -> None:
    lines = default_lines(synthetic_report())
    assert lines[-2] == (
        "5 cases: 1 passed, 1 failed, 1 warning, 1 info, 0 unsupported, 1 error in 2.50s"
    )
    assert "-v" in lines[-1] and "wsconform explain" in lines[-1]
    client = default_lines(synthetic_report(role="client"))  # explain runs server cases only
    assert client[-1].startswith("5 cases: ")


def test_default_when_everything_passed_is_the_header_and_the_summary() -> None:
    report = synthetic_report(results=[result("ok", Outcome.PASS, "4.2.1")], preflight=())
    lines = default_lines(report)
    assert len(lines) == 6 and lines[-2] == ""
    assert lines[-1].startswith("1 case: 1 passed, 0 failed")


# -v: evidence --------------------------------------------------------------------------


def test_verbose_shows_quotes_and_the_handshake_as_text() -> None:
    text = render_run(synthetic_report(), CATALOG, detail=Detail.EVIDENCE, color=False)
    lines = text.splitlines()
    assert lines[1] == f"  target     {URL}"
    assert f'    "{HOST.quote}"' in lines
    assert "      Sent: GET / HTTP/1.1" in lines
    assert "            Host: 127.0.0.1:9001" in lines
    assert "  Received: HTTP/1.1 101 Switching Protocols" in lines
    assert "            Server: x" in lines
    after = lines.index("            then 8 bytes after the head:")
    assert lines[after + 1].startswith(f"            {len(REQUEST):08x}  88 82 37 fa")
    assert "  Reproduce: wsconform run ws://127.0.0.1:9001/ --cases rfc6455/4.2.1/missing-host" in (
        lines
    )
    assert "section" in text and "total" in text  # the table per section


def test_verbose_shows_bytes_that_are_no_http_head_in_hex() -> None:
    view = evidence_view(CLOSE_FRAME, len(CLOSE_FRAME), EVIDENCE_LIMIT)
    assert view[0].startswith("00000000  88 82 37 fa 21 3d 34 12")


def test_verbose_says_when_a_head_is_incomplete() -> None:
    view = evidence_view(b"HTTP/1.1 101 Switching Protocols\r\nUpgr", 5000, EVIDENCE_LIMIT)
    assert view[:2] == ["HTTP/1.1 101 Switching Protocols", "Upgr"]
    assert view[2] == "(head incomplete, 4962 more bytes not kept)"


# -q: ids and counts ----------------------------------------------------------------------


def test_quiet_is_the_failing_ids_then_the_counts() -> None:
    text = render_run(synthetic_report(), CATALOG, detail=Detail.QUIET, color=False)
    assert text.splitlines() == [
        "FAIL   rfc6455/4.2.1/missing-host",
        "ERROR  rfc6455/5.2/rsv2-text",
        "WARN   rfc6455/4.2.1/odd-header",
        "5 cases: 1 passed, 1 failed, 1 warning, 1 info, 0 unsupported, 1 error in 2.50s",
    ]


# peer-controlled text ------------------------------------------------------------------


def test_peer_escape_sequences_are_shown_not_obeyed() -> None:
    bad = synthetic_report(
        server_header=f"evil{ESCAPE}",
        preflight=(f"no Pong: {ESCAPE}",),
        results=[
            result(
                "x",
                Outcome.FAIL,
                "4.2.1",
                actual=f"got {ESCAPE}",
                received=b"HTTP/1.1 " + ESCAPE.encode() + b" 101\r\nX: \xff\r\n\r\n",
            ),
        ],
    )
    for detail in Detail:
        for color in (False, True):
            text = render_run(bad, CATALOG, detail=detail, color=color)
            assert "\x07" not in text and "\x1b]" not in text and "\x1b[2J" not in text
            if not color:
                assert "\x1b" not in text
    listing = render_run(bad, CATALOG, detail=Detail.LIST, color=False)
    assert "got \\x1b[2J\\x1b]0;owned\\x07" in listing
    assert "  server     evil\\x1b[2J" in listing
    evidence = render_run(bad, CATALOG, detail=Detail.EVIDENCE, color=False)
    assert "  Received: HTTP/1.1 \\x1b[2J\\x1b]0;owned\\x07 101" in evidence
    assert "            X: \\xff" in evidence


def test_colour_only_when_asked() -> None:
    plain = render_run(synthetic_report(), CATALOG, detail=Detail.LIST, color=False)
    painted = render_run(synthetic_report(), CATALOG, detail=Detail.LIST, color=True)
    assert "\x1b" not in plain
    assert "\x1b[31mFAIL\x1b[0m" in painted


# the evidence blocks (also used by explain, fuzz and the pytest plugin) -----------------


def test_failure_block_fields() -> None:
    text = render_failures(synthetic_report(), CATALOG, color=False)
    lines = text.split("\n\n")[0].splitlines()
    assert lines[0] == "✗ rfc6455/4.2.1/missing-host  The missing-host case  [FAIL]"
    assert lines[1] == "  Requirement: RFC 6455 §4.2.1 (MUST, server) rfc6455-4.2.1-host-header"
    assert "    https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1" in lines
    assert "  Expected: an HTTP error response (status 400-599)" in lines
    assert any(line.startswith("    Actual: HTTP 101 Switching Protocols") for line in lines)
    assert "  Notes: the Host field was left out" in lines
    assert "         second note" in lines
    after = len(RESPONSE)
    assert f"            then {70000 - after} bytes after the head:" in lines
    assert any(line.startswith(f"            {after:08x}  00 01 02 03") for line in lines)
    assert f"            … {70000 - after - 256} more bytes ({70000 - after} in all)" in lines
    assert all(len(line) <= 100 for line in lines)


def test_failure_blocks_are_worst_first() -> None:
    text = render_failures(synthetic_report(), CATALOG, color=False)
    heads = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert [h.rsplit("[", 1)[1] for h in heads] == ["FAIL]", "ERROR]", "WARN]", "INFO]"]


def test_summary_table_per_section() -> None:
    lines = render_summary(synthetic_report(), color=False).splitlines()
    assert lines[2].split() == ["section", "pass", "fail", "warn", "info", "unsup", "error"]
    assert lines[3].split() == ["rfc6455", "§4.2.1", "1", "1", "1", "0", "0", "0"]
    assert lines[4].split() == ["rfc6455", "§5.2", "0", "0", "0", "1", "0", "1"]
    assert lines[5].split() == ["total", "1", "1", "1", "1", "0", "1"]


# evidence: an HTTP head as text ----------------------------------------------------------


def test_http_head_view_splits_the_head_from_the_frames() -> None:
    view = http_head_view(REQUEST + CLOSE_FRAME)
    assert view is not None and view.complete
    assert view.lines == (
        "GET / HTTP/1.1",
        "Host: 127.0.0.1:9001",
        "Upgrade: websocket",
        "Connection: Upgrade",
    )
    assert (view.head_length, view.rest) == (len(REQUEST), CLOSE_FRAME)


def test_http_head_view_escapes_every_byte_that_is_not_printable() -> None:
    view = http_head_view(b"HTTP/1.1 200 OK\nX: a\x00\x1b\x7f\xc3\xa9\r\nY:\tb\r\r\n\r\n")
    assert view is not None
    assert view.lines == ("HTTP/1.1 200 OK\\x0a", "X: a\\x00\\x1b\\x7f\\xc3\\xa9", "Y:\\x09b\\x0d")


def test_http_head_view_bounds_a_long_line() -> None:
    view = http_head_view(b"HTTP/1.1 400 Bad\r\nX: " + b"a" * 5000 + b"\r\n\r\n")
    assert view is not None
    assert view.lines[1].endswith("… (5003 bytes in all)")
    assert len(view.lines[1]) < HEAD_LINE_CHARS + 30


def test_http_head_view_is_none_for_bytes_that_are_no_http_head() -> None:
    assert http_head_view(CLOSE_FRAME) is None
    assert http_head_view(b"") is None
    assert http_head_view(b"SSH-2.0-OpenSSH\r\n") is None


def test_cases_stopped_by_one_preflight_fact_are_named_once() -> None:
    """A server without echo: its echo cases are one line, not one each (issue #12)."""
    reason = PREFLIGHT_PREFIX + "no echo of a text message within 5 s: the cases ... ERROR"
    stopped = [result(f"echo-{n}", Outcome.ERROR, "5.2", actual=reason) for n in range(40)]
    other = result("rsv1-text", Outcome.FAIL, "5.2")
    report = RunReport(target_url=URL, results=[*stopped, other], preflight=(reason[11:],))
    lines = default_lines(report, width=200)
    assert lines.count("! 40 cases ERROR at once (ids: -q), " + reason) == 1
    assert not any("echo-" in line for line in lines)
    assert any("rsv1-text" in line for line in lines)
    quiet = render_run(report, CATALOG, detail=Detail.QUIET, color=False).splitlines()
    assert sum("echo-" in line for line in quiet) == 40
