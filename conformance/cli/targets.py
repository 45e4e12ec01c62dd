"""``python -m conformance.cli.targets``: the target table, one target's command, or a run.

python -m conformance.cli.targets --list              # the table, what is installed here
python -m conformance.cli.targets --command NAME [--tls]   # the --server-cmd template
python -m conformance.cli.targets --run NAME [wsconform run options, e.g. --json PATH]

``--run`` runs ``wsconform run --server-cmd CMD ...`` and exits 0 when the run
finished, FAILs or not (a non-conformant server is a finding, not a broken run), and
with wsconform's own code for a usage error (2) or an unreachable server (3).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence

from ..targets.table import (
    TARGETS,
    by_name,
    installed_versions,
    pinned,
    server_command,
    unavailable,
    version_label,
)
from . import common
from . import main as wsconform


def _list(as_json: bool) -> int:
    rows = []
    for target in TARGETS:
        reason = unavailable(target)
        rows.append(
            {
                "name": target.name,
                "runtime": target.runtime,
                "description": target.description,
                "pinned": pinned(target),
                "installed": installed_versions(target) if reason is None else {},
                "unavailable": reason,
                "command": target.command,
                "tls_args": target.tls_args,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        pins = ", ".join(f"{d} {v}" for d, v in pinned(by_name()[str(row["name"])]).items())
        state = "ok" if row["unavailable"] is None else "not installed"
        print(f"{row['name']:<26} {row['runtime']:<6} {state:<13} {pins:<34} {row['command']}")
    return 0


def _run(name: str, extra: Sequence[str]) -> int:
    target = by_name()[name]
    reason = unavailable(target)
    if reason:
        print(f"target {name}: {reason}", file=sys.stderr)
        return common.EXIT_USAGE
    tls = "--tls" in extra
    argv = ["run", "--server-cmd", server_command(target, tls=tls), *extra]
    print("+ " + shlex.join(["wsconform", *argv]), flush=True)
    code = wsconform(argv)
    label = version_label(target)
    if code == common.EXIT_FAILED:
        print(f"target {name} ({label}): the run finished with FAIL/ERROR results (see above)")
        return 0
    if code == common.EXIT_OK:
        print(f"target {name} ({label}): the run finished with no FAIL or ERROR")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--run"]:  # everything after NAME belongs to wsconform run
        if len(argv) < 2 or argv[1] not in by_name():
            known = ", ".join(by_name())
            print(f"usage: --run NAME [wsconform run options]; NAME is one of {known}",
                  file=sys.stderr)  # fmt: skip
            return 2
        return _run(argv[1], argv[2:])
    parser = argparse.ArgumentParser(
        prog="python -m conformance.cli.targets",
        description="The third-party servers the suite runs against "
        "(--run NAME [wsconform run options] runs the suite against one).",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="the table and what is installed")
    action.add_argument("--command", metavar="NAME", choices=sorted(by_name()),
                        help="print the --server-cmd template of NAME")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="--list as JSON")
    parser.add_argument("--tls", action="store_true", help="--command with {cert} {key}")
    args = parser.parse_args(argv)
    if args.command:
        print(server_command(by_name()[args.command], tls=args.tls, python="python"))
        return 0
    return _list(args.json)


if __name__ == "__main__":
    sys.exit(main())
