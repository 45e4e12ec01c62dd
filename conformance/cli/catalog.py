"""``wsconform cases``, ``requirements`` and ``coverage``: what the suite checks, and what not."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..cases import all_cases
from ..cases.base import Case
from ..catalog import Catalog, Requirement, load_catalog
from ..clients.run_checks import cited_requirements
from ..runner import select_cases
from .common import EXIT_OK, UsageError

REQUIREMENT_FIELDS = (
    "id",
    "spec",
    "section",
    "title",
    "keyword",
    "party",
    "quote",
    "link",
    "note",
    "untestable",
)

COVERAGE_PARTIES = {
    "server": frozenset({"server", "endpoint"}),
    "client": frozenset({"client", "endpoint", "user-agent"}),
}


@dataclass(frozen=True, slots=True)
class CasesOptions:
    """``wsconform cases``: the id patterns to list (all cases when empty)."""

    cases: tuple[str, ...]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CasesOptions:
        return cls(cases=tuple(args.cases or ()))


@dataclass(frozen=True, slots=True)
class RequirementsOptions:
    """``wsconform requirements``: a spec filter, one id to show in full, JSON output."""

    spec: str | None
    id: str | None
    json: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RequirementsOptions:
        return cls(spec=args.spec, id=args.id, json=args.json)


@dataclass(frozen=True, slots=True)
class CoverageOptions:
    """``wsconform coverage``: the role, and whether definitions count."""

    role: str
    definitions: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CoverageOptions:
        return cls(role=args.role, definitions=args.definitions)


def list_cases(options: CasesOptions) -> int:
    """The chosen cases, one a line; a pattern matching nothing is a usage error."""
    cases = select_cases(options.cases, (), profile="full")
    if not cases:
        raise UsageError("no case matches the --cases patterns (see 'wsconform cases')")
    for case in cases:
        print(f"{case.id:<52} {case.level.value:<6} {case.title}")
    return EXIT_OK


def requirement_dict(req: Requirement) -> dict[str, object]:
    """A requirement's catalog fields, in catalog order."""
    return {name: getattr(req, name) for name in REQUIREMENT_FIELDS}


def list_requirements(options: RequirementsOptions) -> int:
    catalog = load_catalog()
    chosen = [r for r in catalog if not options.spec or options.spec.lower() in r.spec.lower()]
    if not chosen:
        specs = ", ".join(sorted({r.spec for r in catalog}))
        raise UsageError(f"no spec matches --spec {options.spec!r} (one of: {specs})")
    if options.id:
        chosen = [r for r in chosen if r.id == options.id]
        if not chosen:
            raise UsageError(f"unknown requirement {options.id!r}")
    if options.json:
        print(json.dumps([requirement_dict(r) for r in chosen], indent=2))
        return EXIT_OK
    for req in chosen:
        if options.id:
            for name, value in requirement_dict(req).items():
                if value:
                    print(f"{name:>10}: {value}")
        else:
            quote = req.quote if len(req.quote) <= 90 else req.quote[:87] + "..."
            print(f"{req.id:<48} {req.keyword:<11} {req.party:<10} {quote}")
    return EXIT_OK


def coverage_rows(
    role: str, catalog: Catalog, cases: Sequence[Case], *, definitions: bool = False
) -> tuple[list[Requirement], list[Requirement], int]:
    """For ``role``: (uncovered testable requirements, unobservable ones, testable count).

    Testable: binds the role, carries MUST/SHOULD-level keywords (or, with
    ``definitions``, is a keyword-less definition), and has no ``untestable`` reason.
    MAY and OPTIONAL leave the behaviour open, so nothing can fail them.
    """
    cited = {rid for case in cases if case.role == role for rid in case.requirements}
    if role == "client":
        cited |= cited_requirements()
    binding = [
        req
        for req in catalog
        if req.party in COVERAGE_PARTIES[role]
        and req.keyword not in {"MAY", "OPTIONAL"}
        and (definitions or req.keyword != "definition")
    ]
    testable = [req for req in binding if req.untestable is None]
    unobservable = [req for req in binding if req.untestable is not None and req.id not in cited]
    return [req for req in testable if req.id not in cited], unobservable, len(testable)


def show_coverage(options: CoverageOptions) -> int:
    catalog = load_catalog()
    missing, unobservable, total = coverage_rows(
        options.role, catalog, all_cases(), definitions=options.definitions
    )
    for req in missing:
        print(f"{req.id:<48} {req.keyword:<11} §{req.section}")
    if unobservable:
        print(f"\nnot observable by the suite ({len(unobservable)}):")
        for req in unobservable:
            print(f"{req.id:<48} {req.keyword:<11} {req.untestable}")
    covered = total - len(missing)
    print(
        f"{covered} of {total} {options.role}-testable requirements covered by a case; "
        f"{len(missing)} uncovered"
    )
    return EXIT_OK


def cases_command(args: argparse.Namespace) -> int:
    return list_cases(CasesOptions.from_args(args))


def requirements_command(args: argparse.Namespace) -> int:
    return list_requirements(RequirementsOptions.from_args(args))


def coverage_command(args: argparse.Namespace) -> int:
    return show_coverage(CoverageOptions.from_args(args))


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``cases``, ``requirements`` and ``coverage`` subcommands."""
    cases = subparsers.add_parser("cases", help="list the cases")
    cases.add_argument(
        "--cases",
        action="append",
        metavar="GLOB",
        help="only cases whose id matches (repeatable; a prefix works too; default: every case)",
    )
    cases.set_defaults(func=cases_command)

    reqs = subparsers.add_parser("requirements", help="list the requirement catalog")
    reqs.add_argument(
        "--spec", help="only this spec (substring, e.g. 6455 or WHATWG; default: every spec)"
    )
    reqs.add_argument("--id", help="show one requirement in full")
    reqs.add_argument("--json", action="store_true", help="JSON output, every field")
    reqs.set_defaults(func=requirements_command)

    cov = subparsers.add_parser("coverage", help="testable requirements that no case checks yet")
    cov.add_argument(
        "--role",
        choices=tuple(COVERAGE_PARTIES),
        default="server",
        help="whose requirements: server or client (default %(default)s)",
    )
    cov.add_argument(
        "--definitions", action="store_true", help="count keyword-less definitions too"
    )
    cov.set_defaults(func=coverage_command)
