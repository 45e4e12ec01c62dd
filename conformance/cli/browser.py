"""``wsconform browser``: the WHATWG scenarios in headless Chromium or Firefox."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..clients.browser.adapter import BROWSERS, browser_adapter_command
from ..clients.runner import DEPTHS
from ..clients.scenario_server.server import ScenarioServer
from .client import ScenarioOptions, add_scenario_arguments, maybe_isolate, run_scenarios_command


@dataclass(frozen=True, slots=True)
class BrowserOptions:
    """Everything ``wsconform browser`` was given, typed."""

    browser: str
    binary: str | None  # the browser executable (default: found on this machine)
    run: ScenarioOptions

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BrowserOptions:
        return cls(browser=args.browser, binary=args.binary, run=ScenarioOptions.from_args(args))


def run_browser(options: BrowserOptions) -> int:
    code = maybe_isolate(options.run)
    if code is not None:
        return code
    binary = options.binary

    def command(server: ScenarioServer) -> list[str]:
        argv = browser_adapter_command(
            options.browser, ca_file=server.ca_file, spki=server.trusted_spki
        )
        return [*argv, "--browser-binary", binary] if binary else argv

    base = ["wsconform", "browser", options.browser] + (["--binary", binary] if binary else [])
    if options.run.depth != "default":
        base += ["--profile", options.run.depth]
    return run_scenarios_command(options.run, command, "whatwg", options.browser, base)


def browser_command(args: argparse.Namespace) -> int:
    return run_browser(BrowserOptions.from_args(args))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "browser", help="run the WHATWG scenarios in headless Chromium or Firefox"
    )
    parser.add_argument("browser", choices=BROWSERS, help="which browser: %(choices)s")
    parser.add_argument(
        "--binary",
        metavar="PATH",
        help="the browser executable (default: the one found on this machine)",
    )
    parser.add_argument(
        "--profile",
        choices=DEPTHS,
        action="append",
        help="default, or full: Autobahn's large messages added to the wire cases",
    )
    add_scenario_arguments(parser)
    parser.set_defaults(func=browser_command)
