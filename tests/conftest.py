"""Hypothesis profiles: ``ci`` (deterministic, the default) and ``long``; pytester for the
plugin's tests (``pytest_plugins`` may only be set in this top-level conftest).

Select with ``HYPOTHESIS_PROFILE=long``; CI and plain runs use ``ci``.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, database=None, print_blob=True
)
settings.register_profile("long", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["pytester"]
