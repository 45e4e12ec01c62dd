"""Run every built-in client adapter and browser; print a scenario × client Markdown table.

    python benchmarks/client_table.py --out docs/client-findings-table.md

Each client runs through ``wsconform client``/``wsconform browser`` (so in a loopback-only
network namespace where possible); a cell is the verdict and what the script saw.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.cli.client import BUILTIN_ADAPTERS

SHORT = {"pass": "PASS", "fail": "**FAIL**", "warn": "WARN", "info": "INFO", "error": "ERROR"}


def runs(only: list[str]) -> list[tuple[str, list[str]]]:
    plan = [(name, ["client", "--builtin", name]) for name in BUILTIN_ADAPTERS]
    for browser, binary in (("chromium", "chromium"), ("firefox", "firefox-esr")):
        if shutil.which(binary):
            plan.append((browser, ["browser", browser, "--timeout", "15"]))
    return [p for p in plan if not only or p[0] in only]


def events_of(actual: str) -> str:
    """The ``[events: ...]`` tail of a result's actual text, shortened."""
    _, _, tail = actual.rpartition("[events: ")
    text = tail.rstrip("]") if tail else actual
    return text.replace("wasClean=", "").replace("protocol=''", "")[:90]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    columns: list[tuple[str, str, dict[str, dict[str, str]], float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in runs(args.only):
            path = Path(tmp) / f"{name}.json"
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "conformance.cli", *argv, "-q", "--json", str(path)],
                capture_output=True,
                check=False,
            )
            took = time.perf_counter() - started
            if not path.exists():
                print(f"{name}: no report", file=sys.stderr)
                continue
            report = json.loads(path.read_text())
            cases = {c["id"]: c for c in report["cases"]}
            columns.append((name, report["target"]["role"], cases, took))
            print(f"{name}: {report['summary']} in {took:.1f}s", file=sys.stderr)
    ids = list(dict.fromkeys(i for _, _, cases, _ in columns for i in cases))
    lines = [
        "| scenario | "
        + " | ".join(f"{n} ({r.split('(')[-1].rstrip(')')})" for n, r, _, _ in columns)
        + " |",
        "|---|" + "---|" * len(columns),
    ]
    for case_id in ids:
        cells = []
        for _, _, cases, _ in columns:
            case = cases.get(case_id)
            if case is None:
                cells.append("–")
            else:
                shown = SHORT.get(case["outcome"], case["outcome"])
                cells.append(f"{shown}: {events_of(case['actual'])}".replace("|", "\\|"))
        lines.append(f"| `{case_id.removeprefix('client/')}` | " + " | ".join(cells) + " |")
    totals = []
    for name, _, cases, took in columns:
        counts = {o: sum(c["outcome"] == o for c in cases.values()) for o in SHORT}
        totals.append(
            f"{name}: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + f" ({took:.1f}s)"
        )
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {t}" for t in totals) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
