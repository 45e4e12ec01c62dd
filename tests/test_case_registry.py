"""Every case is keyed to its section and cites requirement ids that exist."""

from __future__ import annotations

import re

import pytest

from conformance.cases import all_cases, case_by_id
from conformance.catalog import load_catalog
from conformance.model import handshake, rules
from conformance.model.verdict import Level

CASE_ID = re.compile(r"^(rfc\d+/\d+(\.\d+)*|security/[a-z]+)/[a-z0-9][a-z0-9.-]*$")
CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_is_well_formed(case: object) -> None:
    from conformance.cases.base import Case

    assert isinstance(case, Case)
    assert CASE_ID.match(case.id), case.id
    assert case.title and case.requirements
    catalog = load_catalog()
    missing = [rid for rid in case.requirements if rid not in catalog]
    assert not missing, f"{case.id} cites unknown requirement ids {missing}"
    assert case.expect.describe()


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert case_by_id(ids[0]) is CASES[0]
    assert case_by_id("nope") is None


def test_should_level_cases_cite_a_should_or_weaker() -> None:
    """A case can only WARN where the text says SHOULD: never downgrade a MUST."""
    catalog = load_catalog()
    for case in CASES:
        if case.level is Level.SHOULD:
            assert any(catalog[r].is_should for r in case.requirements), case.id


def test_every_model_rule_cites_an_existing_requirement() -> None:
    catalog = load_catalog()
    cited = dict(rules.ALL_RULES)
    cited.update(
        {
            name: value
            for name, value in vars(handshake).items()
            if name.startswith("RESPONSE_") and isinstance(value, str)
        }
    )
    missing = {name: rid for name, rid in cited.items() if rid not in catalog}
    assert not missing, missing
