"""Results judged over a whole client run, not one scenario.

* the seven WHATWG failure situations end in the same events (and their timing, as INFO);
* every opening-handshake request is valid, and no Sec-WebSocket-Key is used twice;
* an untrusted-TLS PASS means nothing unless the trusted control connection opened;
* which requirements the client scenarios check (``wsconform coverage --role client``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..model import rules
from ..model.verdict import Level, Outcome
from ..results import CaseResult
from .judge import DEFLATE_CHECKED_RULES, model_events
from .observation import ClientObservation
from .request_checks import (
    CHECKED_REQUEST_RULES,
    carries_request,
    keys_reused,
    request_violations,
)
from .scenarios import SCENARIOS, SITUATIONS, Profile


def _signature(seen: ClientObservation) -> tuple[tuple[object, ...], ...]:
    """What the script saw of the failure: the events after ``open``, without timing."""
    events = seen.script_events
    last_open = max((i for i, e in enumerate(events) if e.type == "open"), default=-1)
    return tuple(
        (
            e.type,
            e.fields.get("code"),
            e.fields.get("reason"),
            e.fields.get("wasClean"),
            e.fields.get("name"),
        )
        for e in events[last_open + 1 :]
    )


def _show_signature(signature: tuple[tuple[object, ...], ...]) -> str:
    parts = []
    for kind, code, reason, clean, name in signature:
        if kind == "close":
            parts.append(f"close({code}, {reason!r}, wasClean={clean})")
        elif kind == "exception":
            parts.append(f"exception {name}")
        else:
            parts.append(str(kind))
    return ", ".join(parts) or "nothing"


def indistinguishable(observations: Sequence[ClientObservation]) -> list[CaseResult]:
    """WHATWG: the seven failure situations look the same to a script; timing as INFO."""
    by_situation = [(o.scenario.situation, o) for o in observations if o.scenario.situation]
    if not by_situation:
        return []
    groups: dict[tuple[tuple[object, ...], ...], list[str]] = {}
    for situation, seen in by_situation:
        groups.setdefault(_signature(seen), []).append(f"{seen.scenario.name} ({situation})")
    seen_situations = sorted({s for s, _ in by_situation if s})
    ids = ("whatwg-ws-no-failure-information", *(SITUATIONS[s] for s in seen_situations))
    if len(seen_situations) < 2:
        outcome, actual = Outcome.ERROR, "fewer than two situations were observed"
    elif len(groups) == 1:
        outcome, actual = (
            Outcome.PASS,
            f"{len(by_situation)} scenarios in {len(seen_situations)} situations "
            "all ended in the same events",
        )
    else:
        outcome = Outcome.FAIL
        actual = " | ".join(
            f"{', '.join(names)}: {_show_signature(sig)}" for sig, names in groups.items()
        )
    timing = []
    for situation, seen in by_situation:
        first = next(
            (e for e in seen.script_events if e.type in ("error", "close", "exception")), None
        )
        timing.append(
            f"{seen.scenario.name} ({situation}): "
            + (f"{first.at * 1000:.0f} ms" if first else "no failure event")
        )
    return [
        CaseResult(
            id="client/whatwg/indistinguishable",
            title="the seven failure situations are indistinguishable to a script",
            outcome=outcome,
            level=Level.MUST,
            requirements=ids,
            expected="the same events (type, code, reason, wasClean) after any open, "
            "in every situation",
            actual=actual,
            duration_s=0.0,
        ),
        CaseResult(
            id="client/whatwg/failure-timing",
            title="time from connect to the first failure event, per situation "
            "(timing can leak the reason)",
            outcome=Outcome.INFO,
            level=Level.MAY,
            requirements=("whatwg-ws-no-failure-information",),
            expected="reported for information: the time to the first failure event "
            "should not depend on the situation; browsers delay a connection after failed "
            "ones (RFC 6455 §4.1, §7.2.3), so late scenarios of a run wait longer whatever "
            "the situation",
            actual="; ".join(timing),
            duration_s=0.0,
        ),
    ]


def tls_control(
    results: list[CaseResult], observations: Sequence[ClientObservation]
) -> list[CaseResult]:
    """Without a working trusted TLS connection, the untrusted-TLS verdict means nothing."""
    control = next((o for o in observations if o.scenario.endpoint == "wss"), None)
    if control is None or control.opened:
        return results
    untrusted = {o.scenario.id for o in observations if o.scenario.endpoint == "wss-untrusted"}
    out = []
    for result in results:
        if result.id in untrusted and result.outcome is Outcome.PASS:
            result = replace(
                result,
                outcome=Outcome.ERROR,
                actual=result.actual + " (inconclusive: the control connection "
                "with the trusted CA did not open either)",
            )
        out.append(result)
    return out


# -- what the client scenarios check, for ``wsconform coverage --role client`` -------------

FRAME_RULES = (
    rules.CLIENT_MUST_MASK,
    rules.RSV_MUST_BE_ZERO,
    rules.RESERVED_OPCODE,
    rules.MINIMAL_LENGTH,
    rules.LENGTH_MSB_ZERO,
    rules.FRAGMENT_SEQUENCE,
    rules.NO_INTERLEAVE,
    rules.CONTROL_PAYLOAD_MAX,
    rules.CONTROL_NOT_FRAGMENTED,
    rules.NO_DATA_AFTER_CLOSE,
    rules.TEXT_UTF8,
    *sorted(rules.CLOSE_BODY_RULES),
)
"""Checked on every frame a client sends: the scenario server decodes them strictly."""

CHECKED_RULES = (
    "rfc6455-4.1-non-101-http-procedures",
    "rfc6455-4.1-redirect-follow-optional",
    "rfc6455-4.1-send-opening-handshake",
    "rfc6455-4.1-key-random-per-connection",
    "rfc6455-4.2.2-subprotocol-null-only",
    "rfc6455-5.5.1-close-reply",
    "rfc6455-5.5.2-pong-reply",
    "rfc6455-5.5.3-pong-echo-data",
    "rfc6455-5.1-client-close-masked",
    "rfc6455-6.2-unfragmented-received",
    "rfc6455-7.1.2-send-close-frame",
    "rfc6455-7.1.4-closed-cleanly",
    "rfc6455-7.1.5-close-code-first-frame",
    "rfc6455-7.1.5-no-close-frame-1006",
    "rfc6455-7.1.6-close-reason-first-frame",
    "rfc6455-7.1.7-client-fail-closes",
    "rfc6455-7.2.1-connection-lost-fail",
    "rfc6455-8.1-invalid-utf8-fail",
    "rfc6455-7.1.5-no-status-code-1005",
    "whatwg-ws-close-code-in-frame",
    "whatwg-ws-close-reason-in-frame",
    "whatwg-ws-close-no-args-no-body",
    "whatwg-ws-request-redirect-error",
    "fetch-redirect-mode-error",
    "whatwg-ws-no-failure-information",
    *SITUATIONS.values(),
)
"""The ids the RFC checks and wire checks above cite (a test keeps this list complete)."""


def cited_requirements() -> set[str]:
    """Every requirement some client scenario can report on, under either profile."""
    cited = {*FRAME_RULES, *CHECKED_RULES, *CHECKED_REQUEST_RULES, *DEFLATE_CHECKED_RULES}
    for scenario in SCENARIOS:
        cited.update(r for r in (scenario.rfc_rule, scenario.fails_on_frame) if r)
        for event in model_events(scenario):
            cited.update(event.requirements)
    return cited


def opening_requests(
    observations: Sequence[ClientObservation], profile: Profile
) -> list[CaseResult]:
    """Every opening-handshake request of the run (RFC 6455 §4.1; WHATWG and Fetch for
    ``whatwg``), judged once for the run so that one header fault is one FAIL, and a fresh
    Sec-WebSocket-Key on every connection."""
    records = [r for o in observations for r in o.records if carries_request(r)]
    if not records:
        return []
    seen: dict[tuple[str, str], list[str]] = {}
    for record in records:
        for violation in request_violations(record, profile):
            seen.setdefault((violation.requirement, violation.detail), []).append(record.scenario)
    faults = [
        f"{detail} ({len(names)} of {len(records)} requests, e.g. {names[0]})"
        for (_, detail), names in seen.items()
    ]
    results = [
        CaseResult(
            id="client/handshake/opening-request",
            title="every opening-handshake request is valid for the profile",
            outcome=Outcome.FAIL if seen else Outcome.PASS,
            level=Level.MUST,
            requirements=tuple(dict.fromkeys(rule for rule, _ in seen))
            or ("rfc6455-4.1-send-opening-handshake",),
            expected="requests as RFC 6455 §4.1 items 1-12 require"
            + (" and the WHATWG/Fetch request steps" if profile == "whatwg" else ""),
            actual="; ".join(faults) or f"{len(records)} requests, none broke a rule",
            duration_s=0.0,
        )
    ]
    keys = {r.key for r in records if r.key}
    if len(keys) < 2:
        return results
    reused = keys_reused(records, profile)
    ids = tuple(dict.fromkeys(v.requirement for v in reused)) or (
        "rfc6455-4.1-key-random-per-connection",
    )
    return [
        *results,
        CaseResult(
            id="client/handshake/key-per-connection",
            title="a new Sec-WebSocket-Key for every connection of the run",
            outcome=Outcome.FAIL if reused else Outcome.PASS,
            level=Level.MUST,
            requirements=ids,
            expected="no key value on two connections",
            actual="; ".join(v.detail for v in reused)
            or f"{len(records)} requests, {len(keys)} distinct keys",
            duration_s=0.0,
        ),
    ]
