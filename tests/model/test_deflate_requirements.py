"""Every requirement id the deflate model names is a catalog record (spec_refs/)."""

from __future__ import annotations

from conformance.catalog import load_catalog
from conformance.model.deflate.requirements import DEFLATE_RULES


def test_every_deflate_rule_cites_a_catalog_record() -> None:
    catalog = load_catalog()
    assert len(DEFLATE_RULES) >= 20
    assert [rid for rid in DEFLATE_RULES.values() if rid not in catalog] == []
