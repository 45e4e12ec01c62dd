"""No false alarm on a conforming server, and the allowance it earns hides no violation.

Each conforming variant (:mod:`fixtures.variants`) makes a choice the text allows; it
must get zero FAIL under the default and the full profile. Its twin breaks the rule
that bounds that choice; every case the pair names must fail against the twin.
"""

from __future__ import annotations

import asyncio
from fnmatch import fnmatch

import pytest

from conformance.cases import all_cases
from conformance.cases.base import Case
from conformance.driver import Target
from conformance.model.verdict import Outcome
from conformance.results import CaseResult
from conformance.runner import run_cases
from fixtures.variants import Pair, Variant, all_pairs

pytestmark = pytest.mark.network

PAIRS = {pair.conforming.name: pair for pair in all_pairs()}
CASE_TIMEOUT = 10.0


async def _run(variant: Variant, cases: list[Case]) -> list[CaseResult]:
    async with await variant.start() as server:
        return await run_cases(cases, Target.parse(server.url), timeout=CASE_TIMEOUT, jobs=4)


def _profile(name: str) -> list[Case]:
    """The cases of profile ``name``, but the RFC 7692 full-profile round trips: Autobahn's
    1000 messages a row (minutes a run) repeat default cases that cover every row and
    parameter set, and no variant changes how data is compressed (the deflate variant
    declines, which the default cases prove)."""
    return [
        c for c in all_cases() if c.profile == "default" or (name == "full" and c.spec != "rfc7692")
    ]


@pytest.mark.parametrize("profile", ["default", "full"])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_conforming_variant_gets_no_fail(name: str, profile: str) -> None:
    results = asyncio.run(_run(PAIRS[name].conforming, _profile(profile)))
    fails = {r.id: r.actual for r in results if r.outcome is Outcome.FAIL}
    errors = {r.id: r.actual for r in results if r.outcome is Outcome.ERROR}
    assert not fails, fails
    assert not errors, errors


def _selected(pair: Pair) -> list[Case]:
    return [c for c in all_cases() if any(fnmatch(c.id, glob) for glob in pair.must_fail)]


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_twin_fails_the_cases_that_bound_the_choice(name: str) -> None:
    pair = PAIRS[name]
    cases = _selected(pair)
    assert cases, f"{pair.twin.name}: must_fail selects no case"
    results = asyncio.run(_run(pair.twin, cases))
    level = {c.id: c.level.failure for c in cases}
    wrong = {r.id: (r.outcome.value, r.actual) for r in results if r.outcome is not level[r.id]}
    assert not wrong, wrong


def test_every_pair_names_cases_its_twin_must_fail() -> None:
    assert all(pair.must_fail for pair in all_pairs())
