"""Hypothesis, the optional dependency of the strategy modules, with its install hint.

Imported by :mod:`conformance.strategies` and :mod:`conformance.handshake_strategies`:
without Hypothesis they fail with ``pip install ws-conformance[fuzz]``.
"""

from __future__ import annotations

try:
    from hypothesis import strategies
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "conformance.strategies and conformance.handshake_strategies need hypothesis, "
        "an optional dependency: pip install ws-conformance[fuzz]"
    ) from exc

__all__ = ["strategies"]
