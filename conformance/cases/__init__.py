"""The registry of conformance cases, in report order.

Every module here but :mod:`.base` (what a case is) and :mod:`.factories` (case
factories for message plans) is a case table: data, its ``CASES``, built on the
session layer (:mod:`conformance.session`); no table imports another."""

from __future__ import annotations

from functools import cache

from . import (
    closing,
    deflate_data,
    deflate_framing,
    deflate_negotiation,
    deflate_rules,
    fragmentation,
    framing,
    handshake,
    http2,
    limits,
    utf8,
)
from .base import Allowed, Case
from .security import security_cases

__all__ = ["Allowed", "Case", "all_cases", "case_by_id", "http2_cases"]


@cache
def all_cases() -> tuple[Case, ...]:
    """Every case the suite knows, ids unique (the security checks as built for no stated
    policy: ``wsconform run`` rebuilds them for the policy given)."""
    cases = (
        *handshake.CASES,
        *framing.CASES,
        *fragmentation.CASES,
        *utf8.CASES,
        *closing.CASES,
        *limits.CASES,
        *deflate_negotiation.CASES,
        *deflate_framing.CASES,
        *deflate_data.CASES,
        *deflate_rules.CASES,
        *security_cases(),
    )
    ids = [case.id for case in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate case ids: {sorted(duplicates)}")
    return cases


def http2_cases() -> tuple[Case, ...]:
    """The cases only HTTP/2 can carry (RFC 8441 bootstrapping: SETTINGS, the extended
    CONNECT, streams), run by ``wsconform run --transport h2``; kept out of
    :func:`all_cases`, whose every case runs over HTTP/1.1."""
    return http2.CASES


def case_by_id(case_id: str) -> Case | None:
    """The case called ``case_id``, HTTP/2-only ones included."""
    return next((case for case in (*all_cases(), *http2_cases()) if case.id == case_id), None)
