"""Load the requirement catalog in ``spec_refs/``.

Each record is one normative statement of a specification, quoted verbatim.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import spec_refs

KEYWORDS = frozenset(
    {
        "MUST",
        "MUST NOT",
        "REQUIRED",
        "SHALL",
        "SHALL NOT",
        "SHOULD",
        "SHOULD NOT",
        "RECOMMENDED",
        "NOT RECOMMENDED",
        "MAY",
        "OPTIONAL",
        "definition",  # keyword-less text the suite relies on (e.g. RFC 6455 §7.1.5)
    }
)
PARTIES = frozenset({"client", "server", "endpoint", "intermediary", "user-agent", "script"})


@dataclass(frozen=True, slots=True)
class Requirement:
    """One normative statement."""

    id: str
    spec: str
    section: str
    title: str
    keyword: str
    party: str
    quote: str
    link: str
    note: str | None = None
    untestable: str | None = None  # why it cannot be observed from the wire, if so

    @property
    def is_should(self) -> bool:
        return self.keyword in {"SHOULD", "SHOULD NOT", "RECOMMENDED", "NOT RECOMMENDED"}


class Catalog:
    """All requirements, by id, in file order."""

    def __init__(self, requirements: list[Requirement]) -> None:
        self._by_id: dict[str, Requirement] = {}
        for req in requirements:
            if req.id in self._by_id:
                raise ValueError(f"duplicate requirement id {req.id!r}")
            self._by_id[req.id] = req

    def __getitem__(self, requirement_id: str) -> Requirement:
        return self._by_id[requirement_id]

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self._by_id

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, requirement_id: str) -> Requirement | None:
        return self._by_id.get(requirement_id)


def parse_records(data: dict[str, object], source: str) -> list[Requirement]:
    """Turn one TOML document (``[[requirement]]`` tables) into records."""
    rows = data.get("requirement", [])
    if not isinstance(rows, list):
        raise ValueError(f"{source}: 'requirement' must be an array of tables")
    out: list[Requirement] = []
    for row in rows:
        if not isinstance(row, dict):
            raise ValueError(f"{source}: each requirement must be a table")
        try:
            out.append(Requirement(**row))
        except TypeError as exc:
            raise ValueError(f"{source}: bad record {row.get('id')!r}: {exc}") from None
    return out


@cache
def load_catalog() -> Catalog:
    """The catalog from every TOML file in ``spec_refs/`` (cached)."""
    records: list[Requirement] = []
    for path in spec_refs.CATALOG_FILES:
        with path.open("rb") as fh:
            records.extend(parse_records(tomllib.load(fh), path.name))
    return Catalog(records)
