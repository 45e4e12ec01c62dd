"""Same case ids, same outcomes: a snapshot of the suite's verdicts, to compare before
and after a change that must not change behaviour (a restructuring).

    python benchmarks/behaviour_snapshot.py take before.json      # at the old commit
    python benchmarks/behaviour_snapshot.py take after.json       # at the new one
    python benchmarks/behaviour_snapshot.py compare before.json after.json

``take`` runs ``wsconform`` as a user would (through ``python -m conformance.cli``) with
``--json``: the default and full profiles against the reference server (both engines),
the default profile against three third-party targets of ``conformance/targets``
(``wsconform matrix --builtin-targets``), and ``wsconform client --builtin reference``
under both client profiles. It keeps, per run, each case id with its outcome.
``compare`` prints every difference and exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("websockets", "aiohttp", "node-ws")
CLI = (sys.executable, "-m", "conformance.cli")

SERVER = f"{sys.executable} -m conformance.reference_server --port {{port}} --engine "
RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("run default wsproto", ("run", "--server-cmd", SERVER + "wsproto")),
    ("run default model", ("run", "--server-cmd", SERVER + "model")),
    (
        "run full wsproto",
        ("run", "--server-cmd", SERVER + "wsproto", "--profile", "full", "--timeout", "30"),
    ),
    (
        "run full model",
        ("run", "--server-cmd", SERVER + "model", "--profile", "full", "--timeout", "30"),
    ),
    ("client reference whatwg", ("client", "--builtin", "reference", "--profile", "whatwg")),
    (
        "client reference rfc6455-client",
        ("client", "--builtin", "reference", "--profile", "rfc6455-client"),
    ),
)


def _outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {case["id"]: case["outcome"] for case in report["cases"]}


def _run(args: tuple[str, ...], out: Path) -> dict[str, Any]:
    command = [*CLI, *args, "-q", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    if done.returncode > 1:
        raise SystemExit(f"{' '.join(args)}: exit {done.returncode}")
    return json.loads(out.read_text())


def take(path: Path) -> int:
    snapshot: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        for name, args in RUNS:
            snapshot[name] = _outcomes(_run(args, out))
            print(f"{name}: {len(snapshot[name])} cases", file=sys.stderr)
        matrix = _run(("matrix", "--builtin-targets", *TARGETS), out)
        for target in matrix["targets"]:
            snapshot[f"matrix {target['name']}"] = _outcomes(target)
            print(f"matrix {target['name']}: {len(target['cases'])} cases", file=sys.stderr)
    path.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    return 0


def compare(before_path: Path, after_path: Path) -> int:
    before = json.loads(before_path.read_text())
    after = json.loads(after_path.read_text())
    differences = 0
    for run in sorted(set(before) | set(after)):
        old, new = before.get(run), after.get(run)
        if old is None or new is None:
            print(f"{run}: only in {'after' if old is None else 'before'}")
            differences += 1
            continue
        for case_id in sorted(set(old) | set(new)):
            if old.get(case_id) != new.get(case_id):
                print(f"{run}: {case_id}: {old.get(case_id)} -> {new.get(case_id)}")
                differences += 1
    total = sum(len(cases) for cases in after.values())
    print(f"{len(after)} runs, {total} case outcomes, {differences} difference(s)")
    return 1 if differences else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("take").add_argument("path", type=Path)
    both = sub.add_parser("compare")
    both.add_argument("before", type=Path)
    both.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "take":
        return take(args.path)
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
