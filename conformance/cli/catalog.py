"""``wsconform cases``, ``requirements`` and ``coverage``: what the suite checks, and what not."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..cases import all_cases, http2_cases
from ..cases.base import Case
from ..catalog import Catalog, Requirement, load_catalog
from ..clients.run_checks import cited_requirements
from ..clients.wire_cases import client_wire_cases
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
    """``wsconform coverage``: the role, whether definitions count, a spec filter."""

    role: str
    definitions: bool
    spec: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CoverageOptions:
        return cls(role=args.role, definitions=args.definitions, spec=args.spec)


@dataclass(frozen=True, slots=True)
class SpecCoverage:
    """One spec's line of ``wsconform coverage``.

    ``testable`` and ``covered`` count the role's testable requirements of the spec;
    ``cited`` is whether any case (or client scenario) cites any record of it at all, so
    a spec whose cases are still to come (RFC 7692 at first) shows as such.
    """

    spec: str
    testable: int
    covered: int
    cited: bool


def list_cases(options: CasesOptions) -> int:
    """The chosen cases, one a line; a pattern matching nothing is a usage error."""
    cases = select_cases(options.cases, (), profile="full", cases=(*all_cases(), *http2_cases()))
    if not cases:
        raise UsageError("no case matches the --cases patterns (see 'wsconform cases')")
    for case in cases:
        print(f"{case.id:<52} {case.level.value:<6} {case.title}")
    return EXIT_OK


def requirement_dict(req: Requirement) -> dict[str, object]:
    """A requirement's catalog fields, in catalog order."""
    return {name: getattr(req, name) for name in REQUIREMENT_FIELDS}


def requirements_of_spec(catalog: Catalog, spec: str | None) -> list[Requirement]:
    """The records whose spec contains ``spec`` (any case; all when None); none: usage error."""
    chosen = [r for r in catalog if not spec or spec.lower() in r.spec.lower()]
    if not chosen:
        specs = ", ".join(sorted({r.spec for r in catalog}))
        raise UsageError(f"no spec matches --spec {spec!r} (one of: {specs})")
    return chosen


def list_requirements(options: RequirementsOptions) -> int:
    chosen = requirements_of_spec(load_catalog(), options.spec)
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


def cited_ids(role: str, cases: Sequence[Case]) -> set[str]:
    """The requirement ids the role's cases (and, for clients, the scenarios) cite."""
    cited = {rid for case in cases if case.role == role for rid in case.requirements}
    if role == "client":
        cited |= cited_requirements()
        cited |= {rid for case in client_wire_cases("full") for rid in case.requirements}
    return cited


def binding_requirements(
    role: str, catalog: Iterable[Requirement], *, definitions: bool = False
) -> list[Requirement]:
    """The requirements binding ``role`` at MUST/SHOULD level (and definitions, if asked)."""
    return [
        req
        for req in catalog
        if req.party in COVERAGE_PARTIES[role]
        and req.keyword not in {"MAY", "OPTIONAL"}
        and (definitions or req.keyword != "definition")
    ]


def coverage_by_spec(
    role: str, catalog: Iterable[Requirement], cases: Sequence[Case], *, definitions: bool = False
) -> list[SpecCoverage]:
    """One :class:`SpecCoverage` a spec with requirements testable for ``role``, in catalog order.

    A spec with records but no case yet is a row with ``covered == 0`` and ``cited``
    false, not an error: cases for a new spec come after its catalog.
    """
    records = list(catalog)
    cited = cited_ids(role, cases)
    testable = [
        r
        for r in binding_requirements(role, records, definitions=definitions)
        if r.untestable is None
    ]
    rows = []
    for spec in dict.fromkeys(r.spec for r in testable):
        mine = [r for r in testable if r.spec == spec]
        rows.append(
            SpecCoverage(
                spec=spec,
                testable=len(mine),
                covered=sum(1 for r in mine if r.id in cited),
                cited=any(r.id in cited for r in records if r.spec == spec),
            )
        )
    return rows


def coverage_rows(
    role: str, catalog: Catalog, cases: Sequence[Case], *, definitions: bool = False
) -> tuple[list[Requirement], list[Requirement], int]:
    """For ``role``: (uncovered testable requirements, unobservable ones, testable count).

    Testable: binds the role, carries MUST/SHOULD-level keywords (or, with
    ``definitions``, is a keyword-less definition), and has no ``untestable`` reason.
    MAY and OPTIONAL leave the behaviour open, so nothing can fail them.
    """
    cited = cited_ids(role, cases)
    binding = binding_requirements(role, catalog, definitions=definitions)
    testable = [req for req in binding if req.untestable is None]
    unobservable = [req for req in binding if req.untestable is not None and req.id not in cited]
    return [req for req in testable if req.id not in cited], unobservable, len(testable)


def show_coverage(options: CoverageOptions) -> int:
    catalog = Catalog(requirements_of_spec(load_catalog(), options.spec))
    cases = (*all_cases(), *http2_cases())
    missing, unobservable, total = coverage_rows(
        options.role, catalog, cases, definitions=options.definitions
    )
    for req in missing:
        print(f"{req.id:<48} {req.keyword:<11} §{req.section}")
    if unobservable:
        print(f"\nnot observable by the suite ({len(unobservable)}):")
        for req in unobservable:
            print(f"{req.id:<48} {req.keyword:<11} {req.untestable}")
    print("\nby spec:")
    for row in coverage_by_spec(options.role, catalog, cases, definitions=options.definitions):
        note = "" if row.cited else " (no case cites it yet)"
        print(f"  {row.spec:<20} {row.covered:>4} of {row.testable:<4} covered{note}")
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
    cov.add_argument(
        "--spec", help="only this spec (substring, e.g. 7692 or WHATWG; default: every spec)"
    )
    cov.set_defaults(func=coverage_command)
