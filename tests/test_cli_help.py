"""Help hygiene of ``wsconform`` (issue #12 item 6): every option of every subcommand
says what it does and, where it has one, its default; no subcommand offers an option
that means nothing to it."""

from __future__ import annotations

import argparse

import pytest

from conformance.cli import build_parser
from conformance.cli.run import RunOptions


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser, built the way ``main()`` builds them."""
    parser = build_parser()
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(groups) == 1
    return dict(groups[0].choices)


SUBCOMMANDS = _subcommands()
UNSET = (None, False, argparse.SUPPRESS)


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def _label(action: argparse.Action) -> str:
    return "/".join(action.option_strings) or action.dest


def test_every_subcommand_is_walked() -> None:
    expected = {"run", "explain", "fuzz", "cases", "requirements", "coverage", "matrix"}
    assert expected | {"client", "browser"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_option_has_help_text(name: str) -> None:
    parser = SUBCOMMANDS[name]
    missing = [_label(a) for a in _arguments(parser) if not a.help or a.help == argparse.SUPPRESS]
    assert not missing, f"wsconform {name}: no help for {missing}"


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_an_option_with_a_default_states_it(name: str) -> None:
    parser = SUBCOMMANDS[name]
    silent = [
        f"{_label(a)} (default {a.default!r})"
        for a in _arguments(parser)
        if a.default not in UNSET and "default" not in (a.help or "")
    ]
    assert not silent, f"wsconform {name}: the help does not state the default of {silent}"


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_help_renders(name: str) -> None:
    text = SUBCOMMANDS[name].format_help()  # a bad %(...)s in a help text raises here
    assert text.startswith("usage: wsconform " + name)


def _offers(name: str) -> set[str]:
    return {flag for a in SUBCOMMANDS[name]._actions for flag in a.option_strings}


@pytest.mark.parametrize(
    ("name", "meaningless"),
    [
        # explain runs one case, chosen by id from every case: no parallelism, no profile
        ("explain", {"--jobs", "--profile"}),
        # fuzz draws its own traffic: the case profile means nothing to it
        ("fuzz", {"--profile", "--cases", "--exclude"}),
        # the catalog commands run nothing
        ("cases", {"--timeout", "--jobs", "--json", "--profile"}),
        ("requirements", {"--timeout", "--jobs", "--cases"}),
        ("coverage", {"--timeout", "--jobs", "--cases"}),
    ],
)
def test_an_option_that_means_nothing_is_not_offered(name: str, meaningless: set[str]) -> None:
    assert not _offers(name) & meaningless, f"wsconform {name} offers {_offers(name) & meaningless}"


@pytest.mark.parametrize(
    ("argv", "seconds"),
    [
        (["run"], 5.0),
        (["run", "--profile", "full"], 30.0),
        (["run", "--profile", "full", "--timeout", "7"], 7.0),
        (["run", "--timeout", "2"], 2.0),
    ],
)
def test_the_full_profile_has_its_own_default_deadline(argv: list[str], seconds: float) -> None:
    """Autobahn's message counts need more than 5 s a case; a given --timeout always wins."""
    args = build_parser().parse_args(argv)
    assert RunOptions.from_args(args).settings.timeout == seconds
