"""``wsconform``: run the suite, list requirements and coverage, explain a case.

Each subcommand module adds its parser and turns the parsed Namespace into typed
options at once; below that edge nothing sees argparse. Exit codes:
:mod:`conformance.cli.common`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from . import browser, catalog, client, explain, fuzz, matrix, run
from .common import EXIT_UNREACHABLE, EXIT_USAGE, TargetError, UsageError

EXIT_INTERRUPTED = 130  # as a shell reports a process stopped by SIGINT
EXIT_BROKEN_PIPE = 141  # as a shell reports a process killed by SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    """The ``wsconform`` parser: each subcommand's ``func`` takes the parsed Namespace."""
    parser = argparse.ArgumentParser(
        prog="wsconform",
        description="Spec-cited WebSocket conformance suite (RFC 6455, WHATWG WebSockets).",
    )
    parser.add_argument("--version", action="version", version=f"wsconform {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (run, explain, fuzz, catalog, matrix, client, browser):
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.raw_argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"wsconform: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TargetError as exc:
        print(f"wsconform: error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        print("wsconform: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code
