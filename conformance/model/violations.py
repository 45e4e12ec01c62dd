"""A rule a peer broke, named by requirement id."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    """The peer broke requirement ``requirement`` (an id in ``spec_refs/``).

    ``offset`` is the byte offset in the peer's stream where it was detected,
    when known.
    """

    requirement: str
    detail: str
    offset: int | None = None

    def __str__(self) -> str:
        where = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{self.detail}{where} [{self.requirement}]"
