"""The failing-the-connection policy (§7.1.7): the code a server fails with.

A protocol error answered with 1002 (1007 for invalid UTF-8) passes; another valid
code is WARN (SHOULD an appropriate code); a reserved code no sentence forbids (1004,
1016-2999) is WARN as well; a code no endpoint may send (1005, 1006, 1015, 0-999,
5000 and above) is FAIL. The same policy serves every family of fail cases.
"""

from __future__ import annotations

import asyncio

import pytest
from case_runs import by_id, run_reference

from conformance.cases import case_by_id
from conformance.echo_engine import WirePolicy
from conformance.model.verdict import Outcome
from conformance.model.violations import Violation

pytestmark = pytest.mark.network

FAIL_CASES = (
    "rfc6455/5.2/rsv1-text",  # framing.fail_case
    "rfc6455/5.4/continuation-without-message",  # factories.plan_fail_case
    "rfc6455/8.1/kuhn-2-1-5",  # utf8 invalid text
)


class FailWithCode(WirePolicy):
    """Fails every broken rule with one fixed close code."""

    def __init__(self, code: int) -> None:
        self.code = code

    def on_violation(self, violation: Violation) -> int | None:
        return self.code


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (1000, Outcome.WARN),  # valid, not appropriate: SHOULD
        (1004, Outcome.WARN),  # reserved, not forbidden
        (2999, Outcome.WARN),  # reserved for the protocol, not forbidden
        (1005, Outcome.FAIL),  # MUST NOT be set
        (999, Outcome.FAIL),  # not used
        (5000, Outcome.FAIL),  # no status code of §7.4
    ],
)
def test_failing_with_a_code_is_judged_by_the_code_policy(code: int, outcome: Outcome) -> None:
    cases = [case_by_id(case_id) for case_id in FAIL_CASES]
    assert all(cases)
    results = by_id(
        asyncio.run(
            run_reference(
                [c for c in cases if c is not None], engine="model", policy=FailWithCode(code)
            )
        )
    )
    seen = {case_id: (r.outcome, r.actual) for case_id, r in results.items()}
    assert all(o is outcome for o, _ in seen.values()), seen
