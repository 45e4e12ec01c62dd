"""The "Security" part of the reports (issue #15): findings grouped by theme with the
theme's advice, the themes passed whole on one line, the policy stated or its absence;
no such part for a run without ``security/*`` checks."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from conformance.cases import all_cases
from conformance.cli import main
from conformance.cli import run as cli_run
from conformance.model.verdict import Level, Outcome
from conformance.policy.security import STATED, THEMES, SecurityPolicy
from conformance.reports.html import render_html
from conformance.reports.json_report import from_json, to_json
from conformance.reports.markdown import render_markdown
from conformance.reports.security import NO_POLICY, policy_line, security_part
from conformance.reports.terminal import Detail, render_run
from conformance.results import CaseResult, RunReport

URL = "ws://127.0.0.1:9001/"
ORIGIN_POLICY = SecurityPolicy(origin_allow=("https://app.example",), max_message_size=65536)
POLICY_LINES = ORIGIN_POLICY.describe()
FOREIGN_ACTUAL = "HTTP 101 Switching Protocols to Origin https://evil.example"
HUGE_ACTUAL = "no Close within 2.00 s of a 2^62-byte frame header; TCP still open"
ESCAPE = "\x1b[2J"
HANDSHAKE_CASE = "rfc6455/4.2.1/valid-handshake"


def check(case_id: str, outcome: Outcome, actual: str = "as expected") -> CaseResult:
    return CaseResult(
        id=case_id,
        title=f"The {case_id} check",
        outcome=outcome,
        level=Level.SHOULD,
        requirements=(),
        expected="an HTTP 403 before any 101",
        actual=actual,
        duration_s=0.1,
    )


def security_report(policy: tuple[str, ...] = ()) -> RunReport:
    """Origin: a WARN and a FAIL (listed worst first) and a PASS; limits: an INFO and a
    PASS; auth and tls: every check PASS; one non-security FAIL beside them."""
    return RunReport(
        target_url=URL,
        profile="security",
        policy=policy,
        results=[
            check("rfc6455/4.2.1/missing-key", Outcome.FAIL, "HTTP 101 to a request without a key"),
            check("security/origin/null", Outcome.WARN, "HTTP 101 to Origin null"),
            check("security/origin/foreign", Outcome.FAIL, FOREIGN_ACTUAL + ESCAPE),
            check("security/origin/absent", Outcome.PASS),
            check("security/limits/huge-frame-header", Outcome.INFO, HUGE_ACTUAL),
            check("security/limits/msb-length", Outcome.PASS),
            check("security/auth/missing", Outcome.PASS),
            check("security/auth/wrong", Outcome.PASS),
            check("security/tls/versions", Outcome.PASS),
        ],
    )


def plain_report() -> RunReport:
    return RunReport(
        target_url=URL,
        results=[
            check("rfc6455/4.2.1/missing-key", Outcome.FAIL),
            check("rfc6455/4.2.1/valid-handshake", Outcome.PASS),
        ],
    )


def terminal(report: RunReport, detail: Detail = Detail.LIST) -> str:
    return render_run(report, None, detail=detail, color=False, width=200)


# the grouping --------------------------------------------------------------------------


def test_findings_grouped_by_theme_in_theme_order_worst_first() -> None:
    part = security_part(security_report())
    assert part is not None
    assert [group.key for group in part.flagged] == ["origin", "limits"]
    origin, limits = part.flagged
    assert [r.id for r in origin.findings] == ["security/origin/foreign", "security/origin/null"]
    assert (origin.passed, origin.tally) == (1, "2 of 3 checks did not pass")
    assert [r.id for r in limits.findings] == ["security/limits/huge-frame-header"]
    assert origin.advice == THEMES["origin"].advice
    assert [group.key for group in part.passed] == ["auth", "tls"]
    assert part.passed_line == f"{THEMES['auth'].title} (2), {THEMES['tls'].title} (1)"


def test_checks_of_other_specs_are_left_out_of_the_security_part() -> None:
    part = security_part(security_report())
    assert part is not None
    grouped = [r.id for group in (*part.flagged, *part.passed) for r in group.findings]
    assert "rfc6455/4.2.1/missing-key" not in grouped


def test_a_run_without_security_checks_has_no_security_part() -> None:
    report = plain_report()
    assert security_part(report) is None
    for detail in (Detail.LIST, Detail.EVIDENCE):
        assert "Security" not in terminal(report, detail)
    assert "## Security" not in render_markdown(report, None)
    assert 'id="security"' not in render_html(report, None)


def test_a_theme_unknown_to_themes_is_grouped_under_its_key_without_advice() -> None:
    report = RunReport(URL, results=[check("security/novel/x", Outcome.WARN)])
    part = security_part(report)
    assert part is not None
    (group,) = part.flagged
    assert (group.key, group.title, group.advice) == ("novel", "novel", "")


# the policy line -----------------------------------------------------------------------


def test_policy_line_names_the_stated_policy_or_says_none_was_stated() -> None:
    assert policy_line(()) == NO_POLICY
    assert policy_line(POLICY_LINES) == f"{STATED}: {'; '.join(POLICY_LINES)}"
    assert "(given)" in SecurityPolicy(auth_header=("Cookie", "s=secret")).describe()[0]


@pytest.mark.parametrize("stated", [(), POLICY_LINES], ids=["unstated", "stated"])
def test_every_renderer_shows_the_policy_line(stated: tuple[str, ...]) -> None:
    report = security_report(stated)
    line = policy_line(stated)
    assert f"Security · {line}" in terminal(report)
    assert f"Security · {line}" in terminal(report, Detail.EVIDENCE)
    assert f"_{line}_" in render_markdown(report, None)
    assert f'<p class="policy"><em>{line}</em></p>' in render_html(report, None)


def test_json_keeps_the_policy_lines() -> None:
    report = security_report(POLICY_LINES)
    data = json.loads(json.dumps(to_json(report)))
    assert data["policy"] == list(POLICY_LINES)
    assert from_json(data).policy == POLICY_LINES
    assert to_json(plain_report())["policy"] == []


# terminal ------------------------------------------------------------------------------


def test_terminal_lists_security_findings_under_their_theme_with_advice_once() -> None:
    text = terminal(security_report())
    part = text[text.index("Security ·") :]
    origin = part.index(THEMES["origin"].title + " · 2 of 3 checks did not pass")
    limits = part.index(THEMES["limits"].title + " · 1 of 2 checks did not pass")
    assert origin < part.index("security/origin/foreign") < part.index("security/origin/null")
    assert part.index("security/origin/null") < limits < part.index("huge-frame-header")
    assert text.count("advice  " + THEMES["origin"].advice[:40]) == 1
    assert text.count("source  " + THEMES["limits"].source) == 1
    assert "advice  " + THEMES["tls"].advice[:40] not in text
    assert f"passed: {THEMES['auth'].title} (2), {THEMES['tls'].title} (1)" in text


def test_terminal_lists_security_checks_once_not_also_under_a_section_heading() -> None:
    text = terminal(security_report())
    assert "security §origin" not in text
    assert text.count("security/origin/foreign") == 1
    assert "rfc6455 §4.2.1" in text  # other cases keep their section listing
    assert text.index("rfc6455/4.2.1/missing-key") < text.index("Security ·")


def test_terminal_evidence_keeps_the_blocks_and_adds_the_security_part() -> None:
    text = terminal(security_report(), Detail.EVIDENCE)
    assert "Expected: an HTTP 403 before any 101" in text
    assert text.index("security/origin/foreign  The") < text.index("Security ·")
    assert "advice  " + THEMES["origin"].advice[:40] in text


def test_terminal_security_part_keeps_peer_text_printable() -> None:
    for detail in (Detail.LIST, Detail.EVIDENCE):
        text = terminal(security_report(), detail)
        assert "\x1b" not in text
        assert FOREIGN_ACTUAL + "\\x1b[2J" in text


def test_terminal_security_part_with_every_check_passed_is_one_passed_line() -> None:
    report = RunReport(URL, results=[check("security/tls/versions", Outcome.PASS)])
    text = terminal(report)
    assert f"Security · {NO_POLICY}\npassed: {THEMES['tls'].title} (1)\n" in text
    assert "advice" not in text


# Markdown and HTML ---------------------------------------------------------------------


def test_markdown_security_part_groups_findings_with_advice_before_the_cases() -> None:
    text = render_markdown(security_report(POLICY_LINES), None)
    part = text[text.index("## Security") : text.index("## Cases that did not pass")]
    heads = re.findall(r"^### (.+)$", part, re.MULTILINE)
    assert heads == [THEMES["origin"].title, THEMES["limits"].title]
    assert part.index("**FAIL** `security/origin/foreign`") < part.index("**WARN**")
    assert part.count("**Advice:**") == 2
    assert f"({THEMES['limits'].source})" in part
    assert f"**Passed:** {THEMES['auth'].title} (2), {THEMES['tls'].title} (1)" in part
    assert "missing-key" not in part


def test_html_security_part_links_each_finding_to_its_evidence() -> None:
    page = render_html(security_report(), None)
    part = page[page.index('<section id="security"') : page.index('<section id="not-passed"')]
    assert re.findall(r"<h3>(.+?)</h3>", part) == [THEMES["origin"].title, THEMES["limits"].title]
    links = re.findall(r'<a href="#([^"]+)"><code>([^<]+)</code></a>', part)
    assert [case_id for _, case_id in links] == [
        "security/origin/foreign",
        "security/origin/null",
        "security/limits/huge-frame-header",
    ]
    for anchor, _ in links:
        assert f'id="{anchor}"' in page
    assert part.count('class="advice"') == 2
    assert "\x1b" not in page
    assert f"<strong>Passed:</strong> {THEMES['auth'].title} (2)" in part


# the run command -----------------------------------------------------------------------


def test_run_with_the_security_profile_reports_the_stated_policy(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A stand-in check (a handshake case under a security id) against the reference
    server: the JSON and the terminal carry the policy stated on the command line."""
    (handshake,) = [case for case in all_cases() if case.id == HANDSHAKE_CASE]
    stand_in = dataclasses.replace(handshake, id="security/origin/stand-in", profile="security")
    monkeypatch.setattr(cli_run, "security_cases", lambda policy: (stand_in,))
    path = tmp_path / "r.json"
    argv = ["run", "--profile", "security", "--json", str(path)]
    code = main([*argv, "--origin-allow", "https://app.example", "--max-message-size", "65536"])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(path.read_text())["policy"] == list(POLICY_LINES)
    assert f"Security · {policy_line(POLICY_LINES)}" in out
    assert f"passed: {THEMES['origin'].title} (1)" in out


def test_terminal_points_to_the_evidence_when_only_security_checks_did_not_pass() -> None:
    report = RunReport(URL, results=[check("security/origin/null", Outcome.WARN)])
    assert "details: -v" in terminal(report)
    passing = RunReport(URL, results=[check("security/origin/null", Outcome.PASS)])
    assert "details: -v" not in terminal(passing)
