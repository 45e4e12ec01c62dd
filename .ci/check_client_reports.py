"""CI: each client report holds one well-formed result per scenario and wire case of its
profile.

Usage: check_client_reports.py REPORT.json:PROFILE ...  Exit 1 on an incomplete report,
a result without evidence, or an adapter that broke the JSON-lines contract. Verdicts
are printed, not asserted.
"""

from __future__ import annotations

import json
import sys

from conformance.clients.runner import RUN_WIDE, report_ids

OUTCOMES = {"pass", "fail", "warn", "info", "unsupported", "error"}


def check(path: str, profile: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as exc:
        return [f"{path}: no report ({exc})"]
    wanted = report_ids(profile)  # type: ignore[arg-type]
    got = [c["id"] for c in report["cases"] if c["id"] not in RUN_WIDE]
    problems = [] if got == wanted else [f"{path}: cases {got} != scenarios {wanted}"]
    for case in report["cases"]:
        if case["outcome"] not in OUTCOMES or not case["expected"] or not case["actual"]:
            problems.append(f"{path}: {case['id']} is not well formed")
        if "adapter broke the contract" in case["actual"]:
            problems.append(f"{path}: {case['id']}: {case['actual']}")
    print(f"{path}: {report['target']['url']}: {report['summary']}")
    return problems


def main(argv: list[str]) -> int:
    problems = []
    for arg in argv:
        path, _, profile = arg.rpartition(":")
        problems += check(path, profile)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
