"""``wsconform matrix``: many servers, one combined JSON, one self-contained HTML page."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog import load_catalog
from conformance.cli import main
from conformance.matrix import parse_target, read_targets_file
from conformance.matrix_merge import MergeInput, merge_reports
from conformance.model.verdict import Level, Outcome
from conformance.reports import json_report
from conformance.reports.matrix_html import Matrix, MatrixEntry, render_matrix_html
from conformance.results import CaseResult, RunReport
from conformance.server_process import free_port

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
REFERENCE = f"{PY} -m conformance.reference_server --port {{port}}"
TARGETS = {
    "reference": REFERENCE,
    "reference-model": REFERENCE + " --engine model",
    "fault-rsv": f"{PY} -m fixtures.fault_server --fault accept-rsv --port {{port}}",
}
SPEC_LINK = re.compile(
    r"https://(www\.rfc-editor\.org|datatracker\.ietf\.org|websockets\.spec\.whatwg\.org)/"
)
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}
SVG_VOID = {"rect", "circle", "line", "path"}  # written with an end tag here, never "/>"


class Page(HTMLParser):
    """Checks that tags balance; collects ids, hrefs and heat-map cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.cells: list[dict[str, str]] = []
        self.grid: list[dict[str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.tags.add(tag)
        if "id" in found:
            self.ids.append(found["id"])
        if "href" in found:
            self.hrefs.append(found["href"])
        if "src" in found:
            self.srcs.append(found["src"])
        if tag == "td" and "data-worst" in found:
            self.cells.append(found)
        if tag == "td" and "data-case" in found:
            self.grid.append(found)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


def parse_page(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert not page.errors, page.errors[:5]
    assert not page.stack, f"unclosed: {page.stack}"
    return page


def check_self_contained(html: str, page: Page) -> None:
    assert "script" not in page.tags
    assert not page.srcs
    assert "url(" not in html and "@import" not in html
    for href in page.hrefs:
        assert href.startswith("#") or SPEC_LINK.match(href), href
    ids = set(page.ids)
    assert len(ids) == len(page.ids), "element ids must be unique"
    missing = {href for href in page.hrefs if href.startswith("#") and href[1:] not in ids}
    assert not missing, sorted(missing)[:5]


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("matrix")
    argv = ["matrix", "-q", "--jobs-targets", "3", "--json", str(out / "m.json")]
    argv += ["--html", str(out / "m.html")]
    for name, command in TARGETS.items():
        argv += ["--target", f"{name}={command}"]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)  # the servers are started with `python -m` from the checkout
        code = main(argv)
    return {
        "code": code,
        "json": json.loads((out / "m.json").read_text()),
        "html": (out / "m.html").read_text(),
        "dir": out,
    }


def test_exit_code_reports_the_fault_servers_fails(matrix_run: dict[str, Any]) -> None:
    assert matrix_run["code"] == 1


def test_combined_json_holds_one_contract_report_per_target(matrix_run: dict[str, Any]) -> None:
    data = matrix_run["json"]
    assert data["tool"]["name"] == "ws-conformance"
    assert data["profile"] == "default"
    assert [t["name"] for t in data["targets"]] == list(TARGETS)
    for target in data["targets"]:
        assert set(target) >= {"tool", "target", "summary", "cases", "name", "command"}
        assert "error" not in target
        report = json_report.from_json(target)  # each is a report in the JSON contract
        assert report.summary() == target["summary"]
        assert len(report.results) > 300
    by_name = {t["name"]: t for t in data["targets"]}
    for name in ("reference", "reference-model"):
        assert by_name[name]["summary"]["fail"] == 0, name
        assert by_name[name]["summary"]["error"] == 0, name
    fault = by_name["fault-rsv"]
    failing = {
        (case["spec"], case["section"]) for case in fault["cases"] if case["outcome"] == "fail"
    }
    # RSV bits accepted: RFC 6455 §5.2, and RFC 7692 §6's RSV1 without negotiation
    assert failing == {("rfc6455", "5.2"), ("rfc7692", "6")}


def test_json_round_trips(matrix_run: dict[str, Any]) -> None:
    matrix = merge_reports([MergeInput(str(matrix_run["dir"] / "m.json"))]).matrix
    assert [entry.name for entry in matrix.entries] == list(TARGETS)
    assert all(entry.report is not None for entry in matrix.entries)


def test_html_is_balanced_and_self_contained(matrix_run: dict[str, Any]) -> None:
    html = matrix_run["html"]
    page = parse_page(html)
    check_self_contained(html, page)
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" in html  # the bar charts


def test_heat_map_marks_the_fault_servers_52_cells_failing(matrix_run: dict[str, Any]) -> None:
    page = parse_page(matrix_run["html"])
    cells = {(c["data-target"], c.get("data-section", "")): c for c in page.cells}
    assert cells[("fault-rsv", "rfc6455 §5.2")]["data-worst"] == "fail"
    assert "o-fail" in cells[("fault-rsv", "rfc6455 §5.2")]["class"]
    for name in ("reference", "reference-model"):
        assert cells[(name, "rfc6455 §5.2")]["data-worst"] in {"pass", "info"}
    fault_other = [
        c
        for (target, section), c in cells.items()
        if target == "fault-rsv" and section not in {"rfc6455 §5.2", "rfc7692 §6", "all"}
    ]
    assert fault_other and all(c["data-worst"] != "fail" for c in fault_other)


def test_every_failing_case_cell_links_to_its_evidence(matrix_run: dict[str, Any]) -> None:
    html = matrix_run["html"]
    page = parse_page(html)
    failing = [c for c in page.grid if "o-fail" in c["class"]]
    fault_fails = [c for c in matrix_run["json"]["targets"][2]["cases"] if c["outcome"] == "fail"]
    assert len(failing) == len(fault_fails) > 0
    # an evidence block carries id, outcome, requirement quote, expected/actual, bytes
    block = html[html.index('<article class="case o-fail"') :]
    block = block[: block.index("</article>")]
    for part in ("FAIL", "rfc6455/5.2/", "Requirement:", "<blockquote>", "Expected", "Actual"):
        assert part in block
    assert "Sent (" in block and "Received (" in block


def test_merge_renders_saved_reports_without_running(matrix_run: dict[str, Any]) -> None:
    out: Path = matrix_run["dir"]
    plain = dict(matrix_run["json"]["targets"][2])  # a `wsconform run --json` report...
    for extra in ("name", "command", "version"):
        del plain[extra]
    (out / "fault-alone.json").write_text(json.dumps(plain))
    html_path = out / "again.html"
    reports = [str(out / "m.json"), str(out / "fault-alone.json")]
    code = main(["matrix", "-q", "--merge", *reports, "--html", str(html_path)])
    assert code == 1
    page = parse_page(html_path.read_text())
    names = {c["data-target"] for c in page.cells}
    assert names == {*TARGETS, "fault-alone"}  # ...is named by its file stem
    cells = {(c["data-target"], c.get("data-section")): c["data-worst"] for c in page.cells}
    assert cells[("fault-alone", "rfc6455 §5.2")] == "fail"


def test_an_unstartable_target_is_recorded_and_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.json"
    options = ["-q", "--cases", "rfc6455/4.2.2", "--startup-timeout", "5"]
    code = main(["matrix", *options, "--target", "dead=exit 7 {port}", "--json", str(out)])
    assert code == 3
    data = json.loads(out.read_text())
    assert data["targets"][0]["name"] == "dead"
    assert "exited with status 7" in data["targets"][0]["error"]
    assert data["targets"][0]["cases"] == []
    assert "could not run" in capsys.readouterr().out


def test_url_targets_run_against_running_servers(tmp_path: Path) -> None:
    port, dead = free_port(), free_port()
    server = subprocess.Popen(
        [PY, "-m", "conformance.reference_server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_accepting(port)
        out = tmp_path / "m.json"
        targets = [
            "--target",
            f"up=ws://127.0.0.1:{port}/",
            "--target",
            f"down=ws://127.0.0.1:{dead}/",
        ]
        code = main(["matrix", "-q", "--cases", "rfc6455/4.2.2", *targets, "--json", str(out)])
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert code == 3  # nobody listens on the second port
    up, down = json.loads(out.read_text())["targets"]
    assert up["summary"]["pass"] == len(up["cases"]) > 0
    assert up["cases"][0]["reproduce"].startswith(f"wsconform run ws://127.0.0.1:{port}/")
    assert down["error"] and down["cases"] == []


def wait_accepting(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing accepted on port {port}")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no targets"),
        (["--target", "noequals"], "expected NAME=CMD"),
        (["--target", "x=python -m srv"], "must contain {port}"),
        (["--target", "x=srv {port} {nope}"], "bad placeholder"),
        (["--target", "bad name=srv {port}"], "bad target name"),
        (["--target", "a=srv {port}", "--target", "a=srv2 {port}"], "must be unique"),
        (["--target", "a=srv {port}", "--jobs-targets", "0"], "at least 1"),
        (["--target", "a=srv {port}", "--cases", "nothing/*"], "no case matches"),
        (["--target", "a=ws://127.0.0.1:1/", "--tls"], "--ca-file"),
        (["--merge", "/nonexistent.json"], "cannot read /nonexistent.json"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["matrix", *argv]) == 2
    assert message in capsys.readouterr().err


def test_targets_file_lines_and_json(tmp_path: Path) -> None:
    lines = tmp_path / "t.txt"
    lines.write_text("# servers\n\na=srv --port {port}\nb = ws://127.0.0.1:9/\n")
    specs = read_targets_file(str(lines))
    assert [(s.name, s.command, s.url) for s in specs] == [
        ("a", "srv --port {port}", ""),
        ("b", "", "ws://127.0.0.1:9/"),
    ]
    as_json = tmp_path / "t.json"
    as_json.write_text(json.dumps({"c": "node s.js {port} {cert} {key}"}))
    assert read_targets_file(str(as_json))[0].command == "node s.js {port} {cert} {key}"
    assert parse_target("n=wss://localhost:1/").url == "wss://localhost:1/"


@pytest.mark.parametrize("content", ["[1, 2]", '{"a": 1}', "{not json", "a=no-port"])
def test_bad_targets_files_are_usage_errors(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "targets"
    path.write_text(content)
    assert main(["matrix", "--targets-file", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def _result(case_id: str, outcome: Outcome, actual: str = "", received: bytes = b"") -> CaseResult:
    return CaseResult(
        id=case_id,
        title="t <b>",
        outcome=outcome,
        level=Level.MUST,
        requirements=("rfc6455-5.2-rsv-must-be-0", "<img src=x onerror=alert(1)>"),
        expected="e & <e>",
        actual=actual,
        duration_s=0.0,
        received=received,
        received_total=len(received),
        notes=("\x1b[31mred\u202e",),
        reproduce="wsconform run 'x' --cases \"</pre><script>\"",
    )


def test_everything_is_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    report = RunReport(
        target_url="ws://127.0.0.1:1/" + hostile,
        results=[
            _result("rfc6455/5.2/x" + hostile, Outcome.FAIL, hostile, b"<script>\x00\xff"),
            _result('rfc6455/5.2/"quote', Outcome.PASS),
        ],
    )
    matrix = Matrix(
        entries=[
            MatrixEntry('srv"><script>', report, command="cmd " + hostile, version=hostile),
            MatrixEntry("down", None, command="javascript:alert(1)", error=hostile),
        ],
        skipped=[("gone", hostile)],
        tool_version=hostile,
        started_at=hostile,
    )
    html = render_matrix_html(matrix, load_catalog(), pass_evidence=True)
    page = parse_page(html)
    check_self_contained(html, page)
    assert "<script" not in html and "<img" not in html
    assert "\x1b" not in html and "\u202e" not in html and "\x00" not in html
    assert "&lt;script&gt;" in html
    assert not any(href.startswith("javascript") for href in page.hrefs)


def test_pass_evidence_is_optional() -> None:
    report = RunReport(target_url="ws://h/", results=[_result("rfc6455/5.2/ok", Outcome.PASS)])
    matrix = Matrix(entries=[MatrixEntry("s", report)])
    assert '<article class="case o-pass"' not in render_matrix_html(matrix, None)
    full = render_matrix_html(matrix, None, pass_evidence=True)
    assert '<article class="case o-pass"' in full
    parse_page(full)


# --- wsconform matrix --merge: saved reports, one CI job per target, nothing run ---


def _run_report(outcomes: dict[str, Outcome], *, version: str = "0.1.0") -> dict[str, Any]:
    """A ``wsconform run --json`` report of one target, as another machine wrote it."""
    results = [
        _result(case_id, outcome, actual=f"saw {outcome.value}", received=b"\x88\x02\x03\xe8")
        for case_id, outcome in outcomes.items()
    ]
    report = RunReport(target_url="ws://127.0.0.1:9001/", results=results, tool_version=version)
    return json_report.to_json(report)


PASSING = {"rfc6455/4.2.1/a": Outcome.PASS, "rfc6455/5.2/b": Outcome.PASS}
FAILING = {"rfc6455/4.2.1/a": Outcome.PASS, "rfc6455/5.2/b": Outcome.FAIL}


def _write_json(path: Path, data: Any) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return str(path)


def _merge(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["matrix", "-q", "--merge", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_merge_combines_two_run_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write_json(tmp_path / "alpha.json", _run_report(PASSING))
    b = _write_json(tmp_path / "beta.json", _run_report(FAILING))
    out_json, out_html = tmp_path / "m.json", tmp_path / "m.html"
    code, out, err = _merge(capsys, a, b, "--json", str(out_json), "--html", str(out_html))
    assert (code, err) == (1, "")  # beta's FAIL
    merged = json.loads(out_json.read_text())
    assert [t["name"] for t in merged["targets"]] == ["alpha", "beta"]
    assert [t["summary"]["fail"] for t in merged["targets"]] == [0, 1]
    assert "alpha" in out and "beta" in out  # the table
    page = parse_page(out_html.read_text())
    cells = {(c["data-target"], c.get("data-section")): c["data-worst"] for c in page.cells}
    assert cells[("beta", "rfc6455 §5.2")] == "fail"
    assert cells[("alpha", "rfc6455 §5.2")] == "pass"


def test_merge_combines_a_matrix_file_and_a_run_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write_json(tmp_path / "alpha.json", _run_report(PASSING))
    b = _write_json(tmp_path / "beta.json", _run_report(PASSING))
    first = tmp_path / "first.json"
    assert _merge(capsys, a, b, "--json", str(first))[0] == 0
    c = _write_json(tmp_path / "jobs" / "report.json", _run_report(FAILING))
    again = tmp_path / "again.json"
    code, _, err = _merge(capsys, str(first), f"gamma={c}", "--json", str(again))
    assert (code, err) == (1, "")
    targets = json.loads(again.read_text())["targets"]
    assert [t["name"] for t in targets] == ["alpha", "beta", "gamma"]
    assert [t["summary"]["fail"] for t in targets] == [0, 0, 1]


def test_merge_reads_no_transcript(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _run_report(FAILING)
    for case in data["cases"]:  # a compacted or foreign transcript format
        case["received_hex"] = "…truncated, sha256:00ff…"
        case["received_total"] = 70000
    path = _write_json(tmp_path / "compact.json", data)
    merged = merge_reports([MergeInput(path)]).matrix
    assert merged.entries[0].results[1].outcome is Outcome.FAIL
    assert merged.entries[0].results[1].received == b""
    assert merged.entries[0].results[1].received_total == 70000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"tool": {"name": "ws-conformance"}}', "neither a 'wsconform run --json' report"),
        (
            '{"target": {"url": "ws://h/"}, "cases": [{"id": "x", "outcome": "great"}]}',
            "outcome 'great'",
        ),
        ('{"target": {"url": "ws://h/"}, "cases": [{"outcome": "pass"}]}', "without an 'id'"),
        (
            '{"target": {"url": "ws://h/"}, "cases": [], "summary": {"fail": 2}}',
            "summary says 2 fail but its cases hold 0",
        ),
        ('{"targets": [7]}', "targets[0]: not a JSON object"),
    ],
)
def test_merge_malformed_file_exits_2_with_one_line(
    tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write_json(tmp_path / "good.json", _run_report(PASSING))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, out, err = _merge(capsys, good, str(bad), "--html", str(tmp_path / "m.html"))
    assert code == 2
    assert err.startswith(f"wsconform: error: {bad}") and message in err
    assert err.count("\n") == 1 and out == ""
    assert not (tmp_path / "m.html").exists()


def test_merge_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _merge(capsys, str(tmp_path / "absent.json"))
    assert code == 2
    assert (
        err
        == f"wsconform: error: cannot read {tmp_path / 'absent.json'}: No such file or directory\n"
    )


def test_merge_refuses_two_reports_of_one_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write_json(tmp_path / "job1" / "websockets.json", _run_report(PASSING))
    b = _write_json(tmp_path / "job2" / "websockets.json", _run_report(FAILING))
    code, _, err = _merge(capsys, a, b)
    assert code == 2
    assert f"two reports of target 'websockets': {a} and {b}" in err
    assert _merge(capsys, a, f"websockets-2={b}")[0] == 1  # named apart, they merge


def test_merge_refuses_a_target_already_in_a_matrix_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write_json(tmp_path / "alpha.json", _run_report(PASSING))
    first = tmp_path / "m.json"
    assert _merge(capsys, a, "--json", str(first))[0] == 0
    code, _, err = _merge(capsys, str(first), a)
    assert code == 2
    assert f"two reports of target 'alpha': {first} and {a}" in err


def test_merge_warns_when_only_the_tool_version_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write_json(tmp_path / "old.json", _run_report(PASSING, version="0.0.9"))
    b = _write_json(tmp_path / "new.json", _run_report(PASSING, version="0.1.0"))
    code, _, err = _merge(capsys, a, b)
    assert code == 0
    assert err.startswith("wsconform: warning: reports from different ws-conformance versions")
    assert f"0.0.9 ({a})" in err and f"0.1.0 ({b})" in err
    assert err.count("\n") == 1


def test_merge_refuses_another_tools_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write_json(tmp_path / "ours.json", _run_report(PASSING))
    data = _run_report(PASSING)
    data["tool"]["name"] = "autobahn-testsuite"
    b = _write_json(tmp_path / "theirs.json", data)
    code, _, err = _merge(capsys, a, b)
    assert code == 2
    assert f"{b}: written by 'autobahn-testsuite', not ws-conformance" in err


def test_merge_refuses_server_and_client_reports_mixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write_json(tmp_path / "server.json", _run_report(PASSING))
    data = _run_report(PASSING)
    data["target"]["role"] = "client"
    b = _write_json(tmp_path / "client.json", data)
    code, _, err = _merge(capsys, a, b)
    assert code == 2
    assert "a matrix compares one role" in err


def test_merge_strict_fails_on_a_warn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write_json(tmp_path / "a.json", _run_report({"rfc6455/5.5/w": Outcome.WARN}))
    assert _merge(capsys, a)[0] == 0
    assert _merge(capsys, a, "--strict")[0] == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "x=srv {port}"], "takes no --target"),
        (["--jobs", "8"], "--jobs would mean nothing"),
        (["--cases", "rfc6455/5.2"], "--cases would mean nothing"),
        (["--profile", "full"], "--profile would mean nothing"),
    ],
)
def test_merge_refuses_options_that_shape_a_run(
    tmp_path: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write_json(tmp_path / "a.json", _run_report(PASSING))
    code = main(["matrix", *extra, "--merge", a])
    assert code == 2
    assert message in capsys.readouterr().err


def test_merge_names_the_server_by_its_server_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _run_report(PASSING)
    data["target"]["server_header"] = "Python/3.12 websockets/17.4"
    path = _write_json(tmp_path / "websockets.json", data)
    out = tmp_path / "m.json"
    assert _merge(capsys, path, "--json", str(out))[0] == 0
    assert json.loads(out.read_text())["targets"][0]["version"] == "Python/3.12 websockets/17.4"


def test_merge_refuses_a_name_for_a_matrix_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _write_json(tmp_path / "alpha.json", _run_report(PASSING))
    first = tmp_path / "m.json"
    assert _merge(capsys, a, "--json", str(first))[0] == 0
    code, _, err = _merge(capsys, f"nightly={first}")
    assert code == 2
    assert "a matrix file keeps its servers' names" in err
