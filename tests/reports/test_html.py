"""The HTML report: failures first, a filter, folded evidence, one offline file (issue #12)."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

from test_reports import CATALOG, CLOSE, KEY, NASTY, URL, case, make_report, nasty_report

from conformance.catalog import Catalog
from conformance.model.verdict import Outcome
from conformance.reports.html import FILTER_ID, SCRIPT, SUMMARY_ACTUAL_CHARS, render_html

VOID = {"meta", "br", "link", "img", "hr", "input", "rect"}
NON_PASS_IDS = [
    "rfc6455/4.2.1/missing-key",
    "rfc6455/4.2.1/error",
    "rfc6455/5.5.1/warn",
    "rfc6455/5.5.1/info",
    "rfc6455/5.5.1/unsupported",
]
"""make_report()'s cases that did not pass: by section, worst first within a section."""


@dataclasses.dataclass
class Element:
    """One parsed element: its tag, attributes, text inside and child elements."""

    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = dataclasses.field(default_factory=list)

    def walk(self) -> list[Element]:
        return [self, *(e for child in self.children for e in child.walk())]


class Checker(HTMLParser):
    """Tag balance, every URL-bearing attribute, and a tree of the elements."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[Element] = [Element("#root", {})]
        self.problems: list[str] = []
        self.urls: list[tuple[str, str, str]] = []

    @property
    def root(self) -> Element:
        return self.stack[0]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "action", "srcset", "data", "xlink:href"}:
                self.urls.append((tag, name, value or ""))
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if len(self.stack) < 2 or self.stack[-1].tag != tag:
            self.problems.append(f"unexpected </{tag}> with {[e.tag for e in self.stack[-3:]]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text += data


def check_html(text: str) -> Checker:
    checker = Checker()
    checker.feed(text)
    checker.close()
    assert checker.problems == []
    assert [e.tag for e in checker.stack] == ["#root"]
    return checker


def elements(text: str) -> list[Element]:
    return check_html(text).root.walk()


def folded_cases(text: str) -> list[Element]:
    return [e for e in elements(text) if e.tag == "details" and "case" in e.attrs.get("class", "")]


def test_html_page() -> None:
    text = render_html(make_report(), CATALOG)
    assert text.startswith("<!DOCTYPE html>")
    checker = check_html(text)
    for tag, attr, url in checker.urls:
        assert url.startswith("#") or (
            tag == "a" and attr == "href" and url.startswith("https://www.rfc-editor.org/")
        )
    assert KEY.link in [url for _, _, url in checker.urls]
    assert "<svg" in text
    assert "<style>" in text
    for result in make_report().results:
        assert result.id in text
    anchors = {url[1:] for _, _, url in checker.urls if url.startswith("#")}
    assert all(f'id="{anchor}"' in text for anchor in anchors)
    assert len(anchors) == 5
    assert "Sec-WebSocket-Key" in text
    assert "Expected" in text
    assert "Actual" in text


def test_html_is_one_offline_file() -> None:
    """Nothing is loaded from elsewhere: one inline script, inline CSS, no src at all."""
    text = render_html(make_report(), CATALOG)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", text)
    assert not re.search(r"\bsrc\s*=", text)
    assert "@import" not in text
    assert "url(" not in text
    assert re.findall(r"<script\b[^>]*>", text) == ["<script>"]
    assert f"<script>{SCRIPT}</script>" in text
    assert "http" not in SCRIPT
    assert "fetch" not in SCRIPT


def test_html_escapes_everything() -> None:
    report = nasty_report()
    report.results.append(case("link", Outcome.FAIL, requirements=("evil",)))
    catalog = Catalog(
        [
            KEY,
            dataclasses.replace(
                CLOSE,
                id="evil",
                link="javascript:alert(1)",
                quote="</blockquote><script>x</script>",
            ),
        ]
    )
    text = render_html(report, catalog)
    check_html(text)
    assert text.count("<script") == 1  # the page's own filter, nothing the peer wrote
    assert "<script>alert" not in text
    assert "<script>x" not in text
    assert "javascript:" not in text.split("<main>")[0]
    assert 'href="javascript:' not in text
    assert "&lt;script&gt;" in text
    assert "\x1b" not in text
    assert "\x00" not in text
    assert "\ud800" not in text
    text.encode("utf-8")  # no lone surrogates left


def test_html_header_names_what_was_tested() -> None:
    report = make_report(
        server_command="node server.js --port {port} <b>",
        server_header="ws/8.18 \x1b[31m<i>",
        preflight=("no Pong to a Ping (RFC 6455 §5.5.2): <barrier> is the closing handshake",),
    )
    text = render_html(report, CATALOG)
    header = text.split("</header>")[0]
    assert f"<code>{URL}</code>" in header
    assert "Server command</dt><dd><code>node server.js --port {port} &lt;b&gt;</code>" in header
    assert "Server header</dt><dd><code>ws/8.18 \\x1b[31m&lt;i&gt;</code>" in header
    assert "<li>no Pong to a Ping (RFC 6455 §5.5.2): &lt;barrier&gt; is" in header
    assert "1 failed" in header


def test_html_header_leaves_out_what_is_not_known() -> None:
    header = render_html(make_report(), CATALOG).split("</header>")[0]
    assert "Server command" not in header
    assert "Server header" not in header
    assert "Preflight" not in header


def test_html_failures_come_before_the_full_table() -> None:
    text = render_html(make_report(), CATALOG)
    not_passed = text.index('<section id="not-passed">')
    table = text.index('<section id="all-cases">')
    assert text.index("</header>") < not_passed < table
    for case_id in NON_PASS_IDS:
        assert not_passed < text.index(f"<code>{case_id}</code>") < table
    assert "rfc6455/4.2.1/ok" not in text[not_passed:table]


def test_html_failures_grouped_by_section_worst_first() -> None:
    text = render_html(make_report(), CATALOG)
    groups = [e for e in elements(text) if e.tag == "section" and e.attrs.get("class") == "group"]
    headings = [child.text for group in groups for child in group.children if child.tag == "h3"]
    assert headings == ["rfc6455 §4.2.1", "rfc6455 §5.5.1"]
    ids = [e.attrs["id"].removeprefix("case-") for e in folded_cases(text)]
    assert ids == NON_PASS_IDS


def test_html_groups_sections_in_natural_order() -> None:
    report = make_report()
    report.results[:0] = [case("late", Outcome.FAIL, section="10.1")]
    report.results.append(case("early", Outcome.FAIL, section="9.2"))
    text = render_html(report, CATALOG)
    headings = re.findall(r'<section class="group"><h3>([^<]*)</h3>', text)
    assert headings == ["rfc6455 §4.2.1", "rfc6455 §5.5.1", "rfc6455 §9.2", "rfc6455 §10.1"]


def test_html_folds_each_case_evidence() -> None:
    text = render_html(make_report(), CATALOG)
    folded = {e.attrs["id"]: e for e in folded_cases(text)}
    assert len(folded) == len(NON_PASS_IDS)
    for element in folded.values():
        assert "open" not in element.attrs  # folded until asked for
        assert element.children[0].tag == "summary"
    missing_key = folded["case-rfc6455/4.2.1/missing-key"]
    summary = missing_key.children[0].text
    assert "rfc6455/4.2.1/missing-key" in summary
    assert "HTTP 101 Switching Protocols; TCP still open" in summary  # the one-line Actual
    assert "Sec-WebSocket-Key" not in summary
    body = missing_key.text[len(summary) :]
    assert "A |Sec-WebSocket-Key| header field" in body  # the requirement quote
    assert "Expected" in body
    assert "an HTTP error response (status 400-599)" in body
    assert "Received (70000 bytes)" in body
    assert "HTTP/1.1 101 Switching Protocols\nthen 69964 bytes after the head:" in body
    assert "00000024  00 01 02 03" in body  # the frames after the head as hex
    assert "GET / HTTP/1.1\nHost: 127.0.0.1:9001" in body  # the request as text
    assert "Reproduce:" in body
    assert "wsconform run ws://127.0.0.1:9001/ --cases 'rfc6455/4.2.1/missing-key'" in body
    dumps = [e for e in missing_key.walk()[1:] if e.tag == "details"]
    assert [d.children[0].text.split(" (")[0] for d in dumps] == ["Sent", "Received"]


def test_html_summary_shortens_a_long_actual() -> None:
    long = "x" * (3 * SUMMARY_ACTUAL_CHARS)
    text = render_html(make_report(results=[case("long", Outcome.FAIL, actual=long)]), CATALOG)
    (folded,) = folded_cases(text)
    assert "x" * SUMMARY_ACTUAL_CHARS not in folded.children[0].text
    assert folded.children[0].text.endswith("…")
    assert long in folded.text  # the body keeps it whole


def test_html_filter_by_outcome_and_section() -> None:
    text = render_html(make_report(), CATALOG)
    tree = elements(text)
    (form,) = [e for e in tree if e.attrs.get("id") == FILTER_ID]
    assert form.tag == "form"
    boxes = [e for e in form.walk() if e.tag == "input"]
    assert [(b.attrs["type"], b.attrs["value"]) for b in boxes] == [
        ("checkbox", o) for o in ("pass", "fail", "warn", "info", "unsupported", "error")
    ]
    assert all("checked" in b.attrs for b in boxes)
    (select,) = [e for e in form.walk() if e.tag == "select"]
    assert [o.attrs["value"] for o in select.children] == ["", "rfc6455 §4.2.1", "rfc6455 §5.5.1"]
    filtered = [e for e in tree if "data-outcome" in e.attrs]
    assert len(filtered) == len(make_report().results) + len(NON_PASS_IDS)  # rows + folded
    assert {e.tag for e in filtered} == {"tr", "details"}
    assert {e.attrs["data-section"] for e in filtered} == {"rfc6455 §4.2.1", "rfc6455 §5.5.1"}
    assert f"getElementById('{FILTER_ID}')" in SCRIPT


def test_html_filter_offers_only_outcomes_present() -> None:
    report = make_report(results=[case("a", Outcome.PASS), case("b", Outcome.WARN)])
    text = render_html(report, CATALOG)
    assert re.findall(r'name="outcome" value="(\w+)"', text) == ["pass", "warn"]


def test_html_without_script_everything_shows() -> None:
    """Only the filter (useless without the script) starts hidden; no case, row or group."""
    text = render_html(make_report(), CATALOG)
    hidden = [e for e in elements(text) if "hidden" in e.attrs]
    assert [e.attrs.get("id") for e in hidden] == [FILTER_ID]


def test_html_every_case_passed() -> None:
    text = render_html(make_report(results=[case("ok", Outcome.PASS)]), CATALOG)
    assert "Cases that did not pass (0)" in text
    assert "Every case passed." in text
    assert folded_cases(text) == []


def test_html_nasty_text_in_data_attributes_stays_inside_them() -> None:
    report = make_report(results=[case("x", Outcome.FAIL, id=f"{NASTY}/1/x\"'>")])
    text = render_html(report, CATALOG)
    filtered = [e for e in elements(text) if "data-outcome" in e.attrs]
    assert {e.attrs["data-outcome"] for e in filtered} == {"fail"}
