"""``wsconform client`` and ``wsconform browser``: the client runner's command line."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from ..results import RunReport
from .harness import AdapterArgv, AdapterFailed, ClientObservation
from .runner import isolated, reexec_isolated, reproduce_for, run_client_suite, select_scenarios
from .scenario_server import ScenarioServer
from .scenarios import PROFILES, Profile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "clients"

BUILTIN_ADAPTERS: dict[str, tuple[tuple[str, ...], Profile]] = {
    "python-websockets": ((sys.executable, "python_websockets.py"), "rfc6455-client"),
    "websocket-client": ((sys.executable, "python_websocket_client.py"), "rfc6455-client"),
    "aiohttp": ((sys.executable, "python_aiohttp.py"), "rfc6455-client"),
    "node-ws": (("node", "node_ws.js"), "rfc6455-client"),
    "undici": (("node", "node_undici.mjs"), "whatwg"),
    "reference": ((sys.executable, "reference_client.py"), "whatwg"),
}
"""The adapters of ``fixtures/clients/`` (a source checkout) and the profile each claims."""

BROWSERS = ("chromium", "firefox")


def builtin_adapter(name: str) -> list[str]:
    """argv of a built-in adapter; a one-line error when the checkout lacks it."""
    from ..cli import UsageError

    if name not in BUILTIN_ADAPTERS:
        raise UsageError(f"unknown adapter {name!r}; built-in: {', '.join(BUILTIN_ADAPTERS)}")
    (program, script), _ = BUILTIN_ADAPTERS[name]
    path = FIXTURES / script
    if not path.exists():
        raise UsageError(f"{path} not found: built-in adapters need a source checkout")
    if program == "node" and shutil.which("node") is None:
        raise UsageError("node is not installed")
    if program == "node" and not (FIXTURES / "node_modules").exists():
        raise UsageError(f"run 'npm ci --prefix {FIXTURES}' first")
    return [program, str(path)]


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenarios", action="append", metavar="GLOB", help="only these (repeatable)"
    )
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="skip these")
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="deadline of one scenario (default 5)",
    )
    parser.add_argument(
        "--isolate",
        choices=("auto", "always", "never"),
        default="auto",
        help="run in a loopback-only network namespace so that the unresolvable and "
        "unroutable scenarios can run (auto: when possible)",
    )
    parser.add_argument("--strict", action="store_true", help="a WARN fails the run")
    parser.add_argument("--json", metavar="PATH", help="write the JSON report")
    parser.add_argument("--junit", metavar="PATH", help="write JUnit XML")
    parser.add_argument("--markdown", metavar="PATH", help="write a Markdown report")
    parser.add_argument("--html", metavar="PATH", help="write a self-contained HTML report")
    parser.add_argument("-q", "--quiet", action="store_true", help="summary only, no progress")
    parser.add_argument("--no-color", action="store_true", help="no ANSI colours")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")


def add_client_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    client = sub.add_parser("client", help="run the client scenarios through an adapter")
    which = client.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--adapter", metavar="CMD", help="command of a JSON-lines adapter (docs/client-adapters.md)"
    )
    which.add_argument(
        "--builtin",
        metavar="NAME",
        choices=sorted(BUILTIN_ADAPTERS),
        help="a built-in adapter: " + ", ".join(BUILTIN_ADAPTERS),
    )
    client.add_argument(
        "--profile",
        choices=PROFILES,
        help="whatwg (browsers) or rfc6455-client (default; a built-in adapter brings its own)",
    )
    add_common(client)
    client.set_defaults(func=cmd_client)

    browser = sub.add_parser(
        "browser", help="run the WHATWG scenarios in headless Chromium or Firefox"
    )
    browser.add_argument("browser", choices=BROWSERS)
    browser.add_argument("--binary", metavar="PATH", help="the browser executable")
    add_common(browser)
    browser.set_defaults(func=cmd_browser)


class _Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled

    def __call__(self, seen: ClientObservation) -> None:
        self.done += 1
        if self.enabled:
            sys.stderr.write(
                f"[{self.done}/{self.total}] {seen.scenario.id} ({seen.duration_s:.2f}s)\n"
            )
            sys.stderr.flush()


def _maybe_isolate(args: argparse.Namespace, argv: Sequence[str]) -> int | None:
    from ..cli import UsageError

    if args.isolate == "never" or args.list or isolated():
        return None
    code = reexec_isolated(argv)
    if code is None and args.isolate == "always":
        raise UsageError("cannot make a loopback-only network namespace (unshare -n / -rn)")
    return code


def _finish(args: argparse.Namespace, report: RunReport) -> int:
    from ..catalog import load_catalog
    from ..cli import EXIT_FAILED, EXIT_OK, _color, _write_reports
    from ..reports import terminal

    catalog = load_catalog()
    _write_reports(args, report, catalog)
    color = _color(args)
    if not args.quiet:
        text = terminal.render_failures(report, catalog, color=color)
        if text:
            print(text)
    print(terminal.render_summary(report, color=color))
    return EXIT_FAILED if report.failed else EXIT_OK


def _run(
    args: argparse.Namespace, argv: AdapterArgv, profile: Profile, label: str, base: list[str]
) -> int:
    from ..cli import TargetError, UsageError

    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    scenarios = select_scenarios(profile, args.scenarios or (), args.exclude or ())
    if not scenarios:
        raise UsageError(f"no {profile} scenario matches --scenarios/--exclude")
    if args.list:
        for scenario in scenarios:
            print(f"{scenario.id:<42} {scenario.title}")
        return 0
    progress = _Progress(len(scenarios), enabled=not args.quiet)
    try:
        report = asyncio.run(
            run_client_suite(
                argv,
                scenarios,
                profile,
                label=label,
                timeout=args.timeout,
                reproduce=reproduce_for(base),
                progress=progress,
                strict=args.strict,
            )
        )
    except AdapterFailed as exc:
        raise TargetError(str(exc)) from None
    return _finish(args, report)


def cmd_client(args: argparse.Namespace) -> int:
    code = _maybe_isolate(args, args.raw_argv)
    if code is not None:
        return code
    if args.builtin:
        command: AdapterArgv = builtin_adapter(args.builtin)
        profile: Profile = args.profile or BUILTIN_ADAPTERS[args.builtin][1]
        label, base = f"adapter {args.builtin}", ["wsconform", "client", "--builtin", args.builtin]
    else:
        command = args.adapter
        profile = args.profile or "rfc6455-client"
        label, base = f"adapter {args.adapter}", ["wsconform", "client", "--adapter", args.adapter]
    return _run(args, command, profile, label, [*base, "--profile", profile])


def cmd_browser(args: argparse.Namespace) -> int:
    from .browser import browser_adapter_command

    code = _maybe_isolate(args, args.raw_argv)
    if code is not None:
        return code
    binary = args.binary

    def command(server: ScenarioServer) -> list[str]:
        argv = browser_adapter_command(
            args.browser, ca_file=server.ca_file, spki=server.trusted_spki
        )
        return [*argv, "--browser-binary", binary] if binary else argv

    base = ["wsconform", "browser", args.browser] + (["--binary", binary] if binary else [])
    return _run(args, command, "whatwg", args.browser, base)
