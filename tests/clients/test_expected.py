"""Every scenario has an expected outcome per profile, citing existing requirements."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.catalog import load_catalog
from conformance.clients.expected import expected_events
from conformance.clients.judge import expected_text
from conformance.clients.scenarios import PROFILES, SCENARIOS, SITUATIONS, ClientScenario

IDS = [s.id for s in SCENARIOS]


def test_scenario_ids_and_names_are_unique() -> None:
    assert len(set(IDS)) == len(IDS)
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
    assert all(re.fullmatch(r"client/[a-z]+/[a-z0-9-]+", i) for i in IDS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_whatwg_expectation_ends_the_connection(scenario: ClientScenario) -> None:
    """The model always ends in an exception or a close event: nothing is left open."""
    events = expected_events(scenario)
    assert events, scenario.id
    assert events[-1].type in ("close", "exception")
    assert all(e.requirements for e in events if e.type != "exception" or e.phase)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_has_an_expected_text(scenario: ClientScenario, profile: str) -> None:
    if profile not in scenario.profiles:
        pytest.skip("not part of this profile")
    assert expected_text(scenario, profile)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if s.situation], ids=[s.id for s in SCENARIOS if s.situation]
)
def test_failure_situations_end_in_error_then_1006(scenario: ClientScenario) -> None:
    """WHATWG "Feedback from the protocol": the seven situations look alike (code 1006)."""
    events = expected_events(scenario)
    tail = [e.describe() for e in events if e.type != "open"]
    assert tail == ["error", "close(1006, '', wasClean=false)"]


def test_all_seven_situations_have_a_scenario_but_unroutable_and_dns_need_a_namespace() -> None:
    assert {s.situation for s in SCENARIOS if s.situation} == set(SITUATIONS)


def test_alternatives_only_where_the_text_is_ambiguous() -> None:
    ambiguous = {s.name for s in SCENARIOS if s.alternatives}
    assert ambiguous == {"server-close-1006", "masked-server-frame", "close-4403-then-fin"}


def test_redirects_under_whatwg_fail_like_a_network_error() -> None:
    for scenario in SCENARIOS:
        if scenario.name.startswith("redirect-"):
            first = expected_events(scenario)[0]
            assert "fetch-redirect-mode-error" in first.requirements


def test_every_cited_requirement_id_exists() -> None:
    """Ids named anywhere in the client code are records of spec_refs/."""
    catalog = load_catalog()
    root = Path(__file__).resolve().parents[2]
    sources = [*sorted((root / "conformance" / "clients").glob("*.py"))]
    sources.append(root / "conformance" / "model" / "user_agent.py")
    cited = set()
    for path in sources:
        cited |= set(re.findall(r'"((?:rfc6455-\d|whatwg-|fetch-)[a-z0-9.\-]+)"', path.read_text()))
    assert cited
    missing = sorted(i for i in cited if catalog.get(i) is None)
    assert missing == []


def test_coverage_list_names_every_id_the_judge_cites() -> None:
    from conformance.clients.run_checks import cited_requirements

    root = Path(__file__).resolve().parents[2]
    text = "".join(
        (root / "conformance" / "clients" / n).read_text() for n in ("judge.py", "run_checks.py")
    )
    literal = set(re.findall(r'"((?:rfc6455-\d|whatwg-|fetch-)[a-z0-9.\-]+)"', text))
    assert literal <= cited_requirements()
