"""The requirement catalog as data: one TOML record per normative statement.

The files beside this module are the catalog; :mod:`conformance.catalog` loads them.
"""

from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent
CATALOG_FILES = tuple(sorted(CATALOG_DIR.glob("*.toml")))
