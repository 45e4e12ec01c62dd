"""Cases of this section (being written)."""

from __future__ import annotations

from .base import Case

CASES: list[Case] = []
