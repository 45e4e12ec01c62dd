"""The security profile (``wsconform run --profile security``): checks of a server's
policy, built for the policy the user stated (:class:`~conformance.policy.security.SecurityPolicy`).

Ids are ``security/<theme>/<check>``; each theme is one module here exposing
``cases(policy) -> tuple[Case, ...]``, with ``profile="security"``. A check's level
comes from :meth:`SecurityPolicy.level`: FAIL only against a stated policy or an RFC
MUST. Every probe is bounded in bytes, connections and time and targets only the
given host: these checks are meant for servers you operate.
"""

from __future__ import annotations

from collections.abc import Callable

from ...policy.security import SecurityPolicy
from ..base import Case
from . import auth, headers, leakage, limits, origin, rate, timeouts, tls

__all__ = ["SECURITY_PROFILE", "security_cases"]

SECURITY_PROFILE = "security"

ThemeCases = Callable[[SecurityPolicy], tuple[Case, ...]]


def _themes() -> tuple[ThemeCases, ...]:
    """Each theme module's ``cases``, in report order (one import line a theme)."""
    themes: list[ThemeCases] = [
        origin.cases,
        auth.cases,
        limits.cases,
        timeouts.cases,
        headers.cases,
        rate.cases,
        leakage.cases,
        tls.cases,
    ]
    return tuple(themes)


def security_cases(policy: SecurityPolicy | None = None) -> tuple[Case, ...]:
    """Every security check for ``policy`` (none stated: judged by the text alone)."""
    chosen = policy or SecurityPolicy()
    return tuple(case for theme in _themes() for case in theme(chosen))
