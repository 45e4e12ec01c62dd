"""Every verdict that changed between two matrix runs, by target and by rule family.

    wsconform matrix --builtin-targets -q --json before.json     # at the old commit
    wsconform matrix --builtin-targets -q --json after.json      # at the new one
    python benchmarks/verdict_diff.py before.json after.json > changes.md

Prints Markdown: FAIL counts per target before and after, the changed verdicts per
rule family (the sections of docs/verdict-policy.md), and one row per changed verdict
with the new Actual text, which names the clause that allows the behaviour.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (family of docs/verdict-policy.md, case-id globs), first match wins
    (
        "key, version, extension and subprotocol grammar",
        (
            "rfc6455/4.2.1/key-*",
            "rfc6455/4.2.1/subprotocol-not-token",
            "rfc6455/9.1/*",
            "rfc6455/4.2.2/version-not-a-number",
        ),
    ),
    (
        "handshake acceptance of valid variants",
        (
            "rfc6455/4.2.1/subprotocol-*",
            "rfc6455/4.2.1/upgrade-token-list",
            "rfc6455/4.2.1/connection-two-lines",
            "rfc6455/4.2.1/extension-offer-unknown",
        ),
    ),
    ("handshake refusal", ("rfc6455/4.*", "rfc6455/10.2/*")),
    ("close codes sent and received", ("rfc6455/7.4*", "rfc6455/5.5.1/*")),
    ("ping/pong and timing", ("rfc6455/5.5.2/*", "rfc6455/5.5.3/*", "*ping*")),
    ("size limits", ("*65535*", "*65536*", "*64k*", "*one-write*", "rfc6455/10.4/*")),
)


def family(case_id: str) -> str:
    """The rule family a case belongs to, for the summary."""
    for name, globs in FAMILIES:
        if any(fnmatch(case_id, glob) for glob in globs):
            return name
    return "failing the connection and other wire rules"


def _targets(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    report = json.loads(path.read_text())
    return {t["name"]: {c["id"]: c for c in t["cases"]} for t in report["targets"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    before, after = _targets(args.before), _targets(args.after)
    rows: list[tuple[str, str, str, str, str]] = []
    by_family: dict[str, Counter[str]] = defaultdict(Counter)
    print("| target | FAIL before | FAIL after | WARN before | WARN after | changed |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in before:
        old, new = before[name], after.get(name, {})
        changed = 0
        for case_id, case in new.items():
            was = old.get(case_id, {}).get("outcome", "(new case)")
            if was != case["outcome"]:
                changed += 1
                rows.append((name, case_id, was, case["outcome"], case["actual"]))
                by_family[family(case_id)][f"{was} → {case['outcome']}"] += 1

        def count(cases: dict[str, dict[str, Any]], outcome: str) -> int:
            return sum(1 for c in cases.values() if c["outcome"] == outcome)

        print(
            f"| {name} | {count(old, 'fail')} | {count(new, 'fail')} | "
            f"{count(old, 'warn')} | {count(new, 'warn')} | {changed} |"
        )
    print("\n| rule family | changes |\n|---|---|")
    for name, changes in sorted(by_family.items()):
        text = ", ".join(f"{n}× {what}" for what, n in changes.most_common())
        print(f"| {name} | {text} |")
    print("\n| target | case | before | after | actual (new) |\n|---|---|---|---|---|")
    for name, case_id, was, now, actual in rows:
        shown = actual.replace("|", "\\|")
        shown = shown if len(shown) <= 300 else shown[:297] + "..."
        print(f"| {name} | `{case_id}` | {was} | {now} | {shown} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
