"""Verdicts for client scenarios, per profile, from what the adapter and the wire showed.

Two sources of evidence are judged separately and the worse finding wins:

* **script-visible events** (the adapter's report). Under ``whatwg`` they must equal the
  model's sequence (:mod:`.expected`) or an allowed alternative. Under
  ``rfc6455-client`` only what RFC 6455 binds is checked: whether the connection was
  *established* (an ``open``) where the RFC requires failing it, and the close code and
  reason where the library exposes them (a misreport is WARN: §7.1.5/§7.1.6 are
  definitions, not requirements on an API).
* **the wire** (the scenario server's records), for both profiles: every client frame
  masked and well formed (the strict decoder's violations), a Close answered, a Ping
  answered with the same data, the Close the script asked for, no request to a redirect
  target a browser must not follow.

A contract breach by the adapter, or a scenario that could not be observed (the control
TLS connection failed, nothing was reported before the deadline where the verdict needs
it), is ERROR, never PASS.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..model.deflate import requirements as req
from ..model.user_agent import ScriptEvent
from ..model.verdict import Level, Outcome
from ..results import CaseResult
from .expected import expected_events
from .observation import WIRE_GRACE, ClientObservation
from .protocol import AdapterEvent
from .request_checks import (
    OFFER_VALUE_RULES,
    PARAMS_DEFINED,
    PARAMS_PER_SPEC,
    deflate_offer_violations,
    deflate_unmet,
)
from .scenarios import (
    DEFLATE_CLIENT_RULES,
    DEFLATE_SCENARIOS,
    FLOOD_PING_DATA,
    REDIRECT_TARGET,
    TEXT_AFTER_INFLATE,
    BigHeader,
    ClientScenario,
    EndlessHeader,
    Flood,
    HostileStats,
    Profile,
    RedirectTo,
    ReportedClose,
    RfcCheck,
    TrickleHead,
    Upgrade,
    hostile_step,
)

SEVERITY = {
    Outcome.PASS: 0,
    Outcome.INFO: 1,
    Outcome.UNSUPPORTED: 1,
    Outcome.WARN: 2,
    Outcome.FAIL: 3,
    Outcome.ERROR: 4,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One judged fact: its outcome, the requirements behind it, what was seen."""

    outcome: Outcome
    requirements: tuple[str, ...]
    text: str


def _f(outcome: Outcome, text: str, *requirements: str) -> Finding:
    return Finding(outcome, requirements, text)


# -- script events -----------------------------------------------------------------------


def _matches(expected: ScriptEvent, seen: AdapterEvent) -> bool:
    if expected.type != seen.type:
        return False
    f = seen.fields
    state = f.get("readyState")
    if state is not None and expected.ready_state is not None and state != expected.ready_state:
        return False
    if expected.type == "open":
        return expected.protocol is None or f.get("protocol", "") == expected.protocol
    if expected.type == "message":
        return _message_data(seen) == expected.data
    if expected.type == "close":
        return (
            f.get("code") == expected.code
            and (expected.reason is None or f.get("reason") == expected.reason)
            and f.get("wasClean") == expected.was_clean
        )
    if expected.type == "exception":
        return f.get("name") == expected.name
    return True


def _message_data(seen: AdapterEvent) -> str | bytes | None:
    """A message event's data: its text, or its base64 ``binary`` decoded."""
    if "text" in seen.fields:
        return seen.fields["text"]  # type: ignore[no-any-return]
    try:
        return base64.b64decode(str(seen.fields.get("binary")), validate=True)
    except ValueError:
        return None


def _sequence_matches(expected: Sequence[ScriptEvent], seen: Sequence[AdapterEvent]) -> int | None:
    """None if ``seen`` equals ``expected``; else the index of the first difference."""
    for index, want in enumerate(expected):
        if index >= len(seen) or not _matches(want, seen[index]):
            return index
    return None if len(seen) == len(expected) else len(expected)


def describe_expected(events: Sequence[ScriptEvent]) -> str:
    return ", ".join(e.describe() for e in events) or "no event"


def describe_seen(events: Sequence[AdapterEvent]) -> str:
    return ", ".join(e.describe() for e in events) or "no event"


def whatwg_events(seen: ClientObservation) -> Finding:
    """The script-visible sequence against the model (and the text's alternatives)."""
    expected = model_events(seen.scenario)
    observed = seen.script_events
    where = _sequence_matches(expected, observed)
    if where is None:
        return _f(Outcome.PASS, f"events: {describe_seen(observed)}", *_ids(expected))
    for alternative in seen.scenario.alternatives:
        if _sequence_matches(alternative.events, observed) is None:
            return _f(
                Outcome.PASS,
                f"events: {describe_seen(observed)} ({alternative.why})",
                *alternative.requirements,
            )
    if seen.timed_out and where >= len(observed):
        return _f(
            Outcome.ERROR,
            f"events: {describe_seen(observed)}, then nothing before the deadline",
            *_ids(expected),
        )
    blame = expected[where].requirements if where < len(expected) else _ids(expected)
    return _f(
        Outcome.FAIL,
        f"events: {describe_seen(observed)}; event {where + 1} differs from the model",
        *blame,
    )


def _ids(events: Sequence[ScriptEvent]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r for e in events for r in e.requirements))


# -- RFC 6455 client rules (events) ----------------------------------------------------


def _no_open(seen: ClientObservation, requirement: str, what: str) -> Finding:
    if seen.opened or any(e.type == "message" for e in seen.events):
        return _f(
            Outcome.FAIL, f"the client reported the connection open after {what}", requirement
        )
    if seen.terminal is None:
        return _f(Outcome.ERROR, "the client reported no end of the attempt before the deadline")
    return _f(
        Outcome.PASS,
        f"the client did not open the connection ({seen.terminal.describe()})",
        requirement,
    )


def _exposed_status(seen: ClientObservation) -> str:
    exc = seen.first("exception")
    status = exc.fields.get("status") if exc else None
    if status is None:
        return "the library did not expose the HTTP status"
    return (
        f"the library exposed the HTTP status {status} "
        "(allowed: RFC 6455 §4.1 hands the response to HTTP)"
    )


def _reported_close(seen: ClientObservation, want: ReportedClose | None) -> Finding | None:
    """A close code or reason the library reports that differs from the RFC's: WARN."""
    close = seen.first("close")
    if close is None or want is None:
        return None
    code, reason, why = want.code, want.reason, want.requirements
    got_code, got_reason = close.fields.get("code"), close.fields.get("reason")
    wrong = []
    if got_code is not None and code is not None and got_code != code:
        wrong.append(f"code {got_code} (the connection close code is {code})")
    if reason is not None and got_reason is not None and got_reason != reason:
        wrong.append(f"reason {got_reason!r} (the close reason is {reason!r})")
    if wrong:
        return _f(Outcome.WARN, "the library reports " + " and ".join(wrong), *why)
    return None


def rfc6455_events(seen: ClientObservation) -> list[Finding]:
    """The RFC 6455 client rules that the adapter's events show (the scenario's
    ``rfc_check``)."""
    scenario = seen.scenario
    check = scenario.rfc_check
    out: list[Finding] = []
    if check == "http-status":
        out.append(_no_open(seen, "rfc6455-4.1-non-101-http-procedures", "a non-101 answer"))
        out.append(_f(Outcome.PASS, _exposed_status(seen)))
    elif check == "redirect":
        out.extend(_redirect(seen))
    elif check == "reject-101":
        out.append(_no_open(seen, scenario.rfc_rule, "a 101 it must reject"))
    elif check == "no-connection":
        out.append(_no_open(seen, scenario.rfc_rule, "a failed connection"))
    elif check == "subprotocol-optional":
        out.append(_subprotocol_optional(seen))
    elif check == "connection-lost":
        out.extend(_abrupt(seen))
    elif check == "fail-on-frame":
        out.extend(_needs_open(seen))
        for event in seen.events:
            if event.type == "message":
                out.append(
                    _f(
                        Outcome.FAIL,
                        f"the frame was delivered as {event.describe()}",
                        scenario.fails_on_frame or "",
                    )
                )
    elif check == "delivered":
        out.extend(_needs_open(seen))
        data = scenario.delivers
        got = [_message_data(e) for e in seen.events if e.type == "message"]
        if seen.opened and data not in got:
            shown = ", ".join(repr(g) for g in got) or "no message"
            out.append(
                _f(Outcome.FAIL, f"expected the message {data!r}, got {shown}", scenario.rfc_rule)
            )
        bad = _reported_close(seen, scenario.reported_close)
        if bad:
            out.append(bad)
    elif check == "echoed":
        out.extend(_needs_open(seen))
        if not any(
            e.type == "message" and e.fields.get("text") == scenario.delivers for e in seen.events
        ):
            out.append(
                _f(
                    Outcome.FAIL,
                    f"the echo of {scenario.delivers!r} was not delivered",
                    "rfc6455-6.2-unfragmented-received",
                )
            )
    else:
        out.extend(_needs_open(seen))
        bad = _reported_close(seen, scenario.reported_close)
        if bad:
            out.append(bad)
    return out


def _subprotocol_optional(seen: ClientObservation) -> Finding:
    """A 101 without the offered subprotocol: RFC 6455 lets the client open or refuse."""
    if seen.opened:
        return _f(
            Outcome.PASS,
            "the client accepted a 101 that selects no subprotocol",
            "rfc6455-4.2.2-subprotocol-null-only",
        )
    if seen.terminal is not None:
        return _f(
            Outcome.INFO,
            "the client refused a 101 that selects no subprotocol; "
            "RFC 6455 §4.1 does not require that (WHATWG does)",
            "rfc6455-4.1-response-unrequested-subprotocol",
        )
    return _f(Outcome.ERROR, "no event before the deadline")


def _needs_open(seen: ClientObservation) -> list[Finding]:
    if seen.opened:
        return []
    return [
        _f(
            Outcome.ERROR,
            f"the client did not open a valid connection "
            f"({describe_seen(seen.script_events)}); the scenario needs one",
        )
    ]


def _redirect(seen: ClientObservation) -> list[Finding]:
    targets = seen.records_for(REDIRECT_TARGET)
    first = next((r for r in seen.records if r.scenario == seen.scenario.name), None)
    if not targets:
        if seen.opened:
            return [
                _f(
                    Outcome.FAIL,
                    "the client reported open on a 3xx without requesting the new location",
                    "rfc6455-4.1-non-101-http-procedures",
                )
            ]
        if seen.terminal is None:
            return [_f(Outcome.ERROR, "no event before the deadline")]
        return [
            _f(
                Outcome.PASS,
                "the client did not follow the redirect (allowed)",
                "rfc6455-4.1-redirect-follow-optional",
            )
        ]
    target = targets[0]
    out = [
        _f(
            Outcome.PASS,
            "the client followed the redirect with a new opening handshake",
            "rfc6455-4.1-redirect-follow-optional",
        )
    ]
    if target.upgrade_request_problems:
        out.append(
            _f(
                Outcome.FAIL,
                "the request to the new location is not a valid opening handshake: "
                + "; ".join(target.upgrade_request_problems),
                "rfc6455-4.1-send-opening-handshake",
            )
        )
    if first is not None and target.key is not None and target.key == first.key:
        out.append(
            _f(
                Outcome.FAIL,
                "the redirected handshake reused the Sec-WebSocket-Key",
                "rfc6455-4.1-key-random-per-connection",
            )
        )
    if not seen.opened:
        out.append(
            _f(Outcome.INFO, "the client followed the redirect but did not open the connection")
        )
    return out


def _abrupt(seen: ClientObservation) -> list[Finding]:
    out = _needs_open(seen)
    if out:
        return out
    if seen.terminal is None:
        return [
            _f(
                Outcome.FAIL,
                "the connection was lost but the client reported nothing before the deadline",
                "rfc6455-7.2.1-connection-lost-fail",
            )
        ]
    close = seen.first("close")
    if close is not None and close.fields.get("wasClean") is True:
        out.append(
            _f(
                Outcome.WARN,
                "the library reports the lost connection as closed cleanly",
                "rfc6455-7.1.4-closed-cleanly",
            )
        )
    bad = _reported_close(seen, seen.scenario.reported_close)
    if bad:
        out.append(bad)
    return out


# -- the wire ------------------------------------------------------------------------


def wire_findings(seen: ClientObservation, profile: Profile) -> list[Finding]:
    """What the client sent, from the scenario server's records."""
    out: list[Finding] = []
    scenario = seen.scenario
    records = [r for r in seen.records if r.scenario == scenario.name]
    for record in seen.records:
        for violation in record.violations:
            out.append(_f(Outcome.FAIL, f"the client sent: {violation}", violation.requirement))

    closes = [r.client_close for r in records if r.client_close is not None]
    if scenario.answers_close and not closes:
        out.append(
            _f(
                Outcome.FAIL,
                "the client did not answer the server's Close with a Close",
                "rfc6455-5.5.1-close-reply",
            )
        )
    pinged = scenario.pinged
    if pinged is not None:
        pongs = [p for r in records for p in r.pongs]
        if not pongs:
            out.append(
                _f(
                    Outcome.FAIL,
                    "the client did not answer the Ping with a Pong",
                    "rfc6455-5.5.2-pong-reply",
                )
            )
        elif pinged not in pongs:
            out.append(
                _f(
                    Outcome.FAIL,
                    f"the Pong carried {pongs[0]!r}, not the Ping's data",
                    "rfc6455-5.5.3-pong-echo-data",
                )
            )
    if scenario.sends_close is not None and seen.opened:
        code, reason = scenario.sends_close
        if not closes:
            out.append(
                _f(
                    Outcome.FAIL,
                    "the client sent no Close frame for close()",
                    "rfc6455-7.1.2-send-close-frame",
                )
            )
        elif (closes[0].code, closes[0].reason) != (code, reason):
            ids = ("rfc6455-7.1.2-send-close-frame",) + (
                ("whatwg-ws-close-code-in-frame", "whatwg-ws-close-reason-in-frame")
                if profile == "whatwg"
                else ()
            )
            out.append(
                _f(
                    Outcome.FAIL,
                    f"the Close frame carried {closes[0].code} {closes[0].reason!r}, "
                    f"not {code} {reason!r}",
                    *ids,
                )
            )
    if scenario.sends_empty_close and closes and closes[0].raw_payload:
        out.append(
            _f(
                Outcome.FAIL,
                f"close() with no arguments sent a Close body {closes[0].raw_payload!r}",
                "whatwg-ws-close-no-args-no-body",
            )
        )
    if scenario.fails_on_frame is not None and seen.harness_closed:
        out.append(
            _f(
                Outcome.FAIL,
                "the client kept the connection open until the harness closed it",
                scenario.fails_on_frame,
            )
        )
    must_close = scenario.rfc_check == "reject-101" or scenario.fails_on_frame is not None
    if must_close and seen.terminal is not None and not seen.harness_closed:
        lingering = [r for r in records if r.status == 101 and r.closed_by is None]
        if lingering:
            out.append(
                _f(
                    Outcome.FAIL,
                    "the client reported the failure but kept the TCP connection open "
                    f"({WIRE_GRACE:g}s after its last event)",
                    "rfc6455-7.1.7-client-fail-closes",
                )
            )
    if (
        profile == "whatwg"
        and isinstance(scenario.answer, RedirectTo)
        and seen.records_for(REDIRECT_TARGET)
    ):
        out.append(
            _f(
                Outcome.FAIL,
                "the redirect target was requested",
                "whatwg-ws-request-redirect-error",
                "fetch-redirect-mode-error",
            )
        )
    return out


# -- permessage-deflate (RFC 7692) --------------------------------------------------------

ACCEPT_CHECK = "rfc6455-4.1-response-accept-check"
UNSUPPORTED_CONFIG = "rfc7692-7-fail-unsupported-config"
INTERNAL_ERROR = 1011
"""A client that cannot honour the agreed parameters fails the handshake, not the open
connection (RFC 7692 §7, "does not support the configuration"): 1011 after open is FAIL."""
DATA_OPCODES = (0x1, 0x2)
RSV1 = 4  # in a ClientFrame's 3-bit ``rsv``


DEFLATE_CHECKED_RULES: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *(s.deflate.rule for s in DEFLATE_SCENARIOS if s.deflate is not None),
            *DEFLATE_CLIENT_RULES.values(),
            TEXT_AFTER_INFLATE,
            req.PMD_INFLATE,
            req.PMD_EMPTY_BLOCK_TAIL,
            req.PMD_RSV1_CONTROL_OR_CONTINUATION,
            *OFFER_VALUE_RULES.values(),
            PARAMS_DEFINED,
            PARAMS_PER_SPEC,
            UNSUPPORTED_CONFIG,
        )
    )
)
"""Every id the deflate checks can report (the judge's, the offer's, the scenario server's
reading of the client's frames), for ``coverage --role client``."""


def model_events(scenario: ClientScenario) -> list[ScriptEvent]:
    """The model's events for ``scenario``; for a deflate scenario, of its inflated view.

    The WHATWG model negotiates no extension: it is fed the steps as the application sees
    them once inflated (:attr:`~.scenarios.DeflatePlay.plain`). A response the client must
    reject fails like any 101 that breaks RFC 6455 §4.1 steps 2-6, for the scenario's rule.
    """
    play = scenario.deflate
    if play is None or not isinstance(scenario.answer, Upgrade):
        return expected_events(scenario)
    if play.plain is None:
        failed = expected_events(replace(scenario, answer=Upgrade(accept="wrong")))
        return [
            replace(e, requirements=(*(r for r in e.requirements if r != ACCEPT_CHECK), play.rule))
            if e.type == "error"
            else e
            for e in failed
        ]
    return expected_events(replace(scenario, answer=replace(scenario.answer, then=play.plain)))


def deflate_gate(seen: ClientObservation) -> list[Finding]:
    """The verdict when the rest does not apply: UNSUPPORTED for an offer that does not
    allow the scenario; PASS for a configuration the client declined by failing the handshake."""
    play = seen.scenario.deflate
    assert play is not None
    request = next((r for r in seen.records_for(seen.scenario.name) if r.method), None)
    if request is None:
        return []
    unmet = deflate_unmet(play.needs, request.headers)
    if unmet is not None:
        return [_f(Outcome.UNSUPPORTED, unmet, "rfc7692-5-client-offer-name")]
    if play.check == "compress" and not seen.opened and seen.terminal is not None:
        return [
            _f(
                Outcome.PASS,
                "the client failed the handshake: it does not support the configuration "
                f"(allowed) ({seen.terminal.describe()})",
                UNSUPPORTED_CONFIG,
            )
        ]
    return []


def deflate_findings(seen: ClientObservation, profile: Profile) -> list[Finding]:
    """The deflate checks beyond the events and the wire's (RFC 7692 §5, §6.2, §7.2.1)."""
    scenario = seen.scenario
    play = scenario.deflate
    if play is None:
        return []
    records = seen.records_for(scenario.name)
    out: list[Finding] = []
    if play.check == "offer":
        request = next((r for r in records if r.method), None)
        faults = deflate_offer_violations(request.headers) if request is not None else []
        out += [_f(Outcome.FAIL, f"the client sent: {v}", v.requirement) for v in faults]
    elif play.check == "inflate" and profile == "rfc6455-client" and seen.opened:
        got = [_message_data(e) for e in seen.events if e.type == "message"]
        if got[: len(play.messages)] != list(play.messages):
            shown = ", ".join(f"{len(g or '')} characters" for g in got) or "no message"
            out.append(_f(Outcome.FAIL, f"delivered: {shown}, not the messages sent", play.rule))
    elif play.check == "compress" and seen.opened:
        out += _compressed_output(seen, play.rule)
    return out


def _compressed_output(seen: ClientObservation, rule: str) -> list[Finding]:
    records = seen.records_for(seen.scenario.name)
    closes = [r.client_close for r in records if r.client_close is not None]
    if any(c.code == INTERNAL_ERROR for c in closes):
        return [
            _f(
                Outcome.FAIL,
                "the client accepted the parameters, then closed with 1011",
                UNSUPPORTED_CONFIG,
            )
        ]
    compressed = sum(
        1 for r in records for f in r.frames if f.opcode in DATA_OPCODES and f.rsv & RSV1
    )
    if not compressed:
        return [
            _f(
                Outcome.INFO,
                "the client compressed none of its messages (allowed: "
                "rfc7692-6-uncompressed-message): nothing to check",
            )
        ]
    return [
        _f(
            Outcome.PASS,
            f"{compressed} compressed messages inflated under exactly the agreed parameters",
            rule,
        )
    ]


# -- hostile servers (RFC 6455 §5.2, §10.4) ---------------------------------------------

CRASH_PROBLEM = "the adapter exited during the scenario"
"""The harness's words for an adapter process that died mid-scenario."""
BUFFERED_SHARE = 0.5
"""A client whose memory grew by this share of what the server sent kept what it got."""
MIN_BUFFERED = 8 * 2**20
"""Growth below this many bytes is the runtime's own noise, whatever was sent."""
SIZE_LIMITS = "rfc6455-10.4-impose-size-limits"


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size} bytes"


def hostile_stats(seen: ClientObservation) -> HostileStats | None:
    """What the server recorded of the scenario's hostile step, if it played it."""
    for record in seen.records_for(seen.scenario.name):
        stats = HostileStats.from_notes(record.notes)
        if stats is not None:
            return stats
    return None


def _crash(seen: ClientObservation) -> str | None:
    """How the adapter failed to survive the scenario, if it did not: it exited, or it
    reported no end of the connection (hung or dead) before the deadline."""
    if CRASH_PROBLEM in seen.problems:
        return "the adapter process exited"
    if seen.terminal is None:
        return "the client reported no end of the connection before the deadline (hung or dead)"
    return None


def _bounded(stats: HostileStats, rule: str) -> Finding:
    """Fail or stay bounded (PASS), or keep what was sent (WARN): RFC 6455 §10.4.

    A client still connected when the server stopped (its cap reached, or its writes
    waiting on a client that reads slower than it writes) is judged by the memory its
    processes took meanwhile: growing by :data:`BUFFERED_SHARE` of what was written (and
    by at least :data:`MIN_BUFFERED`) is keeping it.
    """
    sent = _mib(stats.written)
    if stats.ended == "client":
        return _f(
            Outcome.PASS,
            f"the client closed the connection (the server had written {sent} by then)",
            rule,
        )
    how = (
        f"stayed connected through all {sent}"
        if stats.ended == "played"
        else f"read slower than the server wrote ({sent} written in {stats.seconds:g} s) "
        "and stayed connected"
    )
    growth = stats.rss_growth
    if growth is None:
        return _f(Outcome.INFO, f"the client {how}; its memory could not be read", rule)
    if growth >= max(MIN_BUFFERED, BUFFERED_SHARE * stats.written):
        return _f(
            Outcome.WARN,
            f"the client {how} and its memory grew by {_mib(growth)}: it keeps what it "
            f"receives, with no limit up to {sent}",
            SIZE_LIMITS,
        )
    return _f(
        Outcome.PASS,
        f"the client {how} with its memory bounded "
        f"(grew by {_mib(growth)} in {stats.processes} process(es))",
        rule,
    )


def _must_close(seen: ClientObservation, stats: HostileStats) -> Finding:
    """A length with its MSB set must not be taken as valid (RFC 6455 §5.2)."""
    rule = seen.scenario.rfc_rule
    if any(e.type == "message" for e in seen.events):
        return _f(Outcome.FAIL, "a message was delivered after an MSB-set length", rule)
    if stats.ended == "client":
        return _f(Outcome.PASS, "the client failed the connection on the MSB-set length", rule)
    return _f(
        Outcome.FAIL,
        f"the client kept the connection open {stats.seconds:g} s after a 64-bit length with "
        "its most significant bit set: it took the length as valid",
        rule,
    )


def _trickled(seen: ClientObservation, stats: HostileStats) -> list[Finding]:
    scenario = seen.scenario
    if not seen.opened:
        return [
            _f(
                Outcome.INFO,
                f"the client gave up on a valid 101 while it was being written (after "
                f"{stats.seconds:g} s); RFC 6455 sets no bound on the opening handshake's time",
                scenario.rfc_rule,
            )
        ]
    got = [_message_data(e) for e in seen.events if e.type == "message"]
    if scenario.delivers not in got:
        return [
            _f(
                Outcome.FAIL,
                f"opened after the trickled 101 but the echo of {scenario.delivers!r} "
                "was not delivered",
                "rfc6455-6.2-unfragmented-received",
            )
        ]
    return [
        _f(
            Outcome.PASS,
            f"the connection opened after a 101 written over {stats.seconds:g} s",
            scenario.rfc_rule,
        )
    ]


def _responsive(seen: ClientObservation) -> list[Finding]:
    """After a Ping flood the client still answers and delivers (RFC 6455 §5.5.2, §5.5.3)."""
    scenario = seen.scenario
    pongs = [p for r in seen.records_for(scenario.name) for p in r.pongs]
    out = []
    if not pongs:
        out.append(_f(Outcome.FAIL, "no Pong for any of the Pings", "rfc6455-5.5.2-pong-reply"))
    elif any(p != FLOOD_PING_DATA for p in pongs):
        out.append(
            _f(Outcome.FAIL, "a Pong without the Pings' data", "rfc6455-5.5.3-pong-echo-data")
        )
    got = [_message_data(e) for e in seen.events if e.type == "message"]
    if scenario.delivers not in got:
        out.append(
            _f(
                Outcome.FAIL,
                f"the message {scenario.delivers!r} after the flood was not delivered",
                "rfc6455-6.2-unfragmented-received",
            )
        )
    return out


def hostile_findings(seen: ClientObservation) -> list[Finding]:
    """A hostile scenario, judged alike under both profiles (module docstring of
    :mod:`.scenario_server.hostile` for what the server measures)."""
    scenario = seen.scenario
    step = hostile_step(scenario)
    crash = _crash(seen)
    if crash is not None:
        return [_f(Outcome.WARN, crash, SIZE_LIMITS)]
    stats = hostile_stats(seen)
    if stats is None or step is None:
        return [_f(Outcome.ERROR, "the server played no hostile step (no connection reached it)")]
    if isinstance(step, TrickleHead):
        return _trickled(seen, stats)
    if isinstance(step, Flood) and step.must_close:
        return [_must_close(seen, stats)]
    if isinstance(step, BigHeader):
        shown = "opened" if seen.opened else "failed the connection"
        return [_f(Outcome.PASS, f"the client {shown} and survived", scenario.rfc_rule)]
    out = [_bounded(stats, scenario.rfc_rule)]
    if isinstance(step, EndlessHeader) and seen.opened:
        out.append(
            _f(
                Outcome.FAIL,
                "the client reported open although the response head never ended",
                "rfc6455-4.1-response-nonconforming-fail",
            )
        )
    if scenario.delivers is not None and stats.ended != "client":
        out.extend(_responsive(seen))
    return out


# -- one scenario, whole runs ------------------------------------------------------------


def findings(seen: ClientObservation, profile: Profile) -> list[Finding]:
    hostile = seen.scenario.rfc_check == "hostile"
    if seen.problems and not (hostile and seen.problems == [CRASH_PROBLEM]):
        return [_f(Outcome.ERROR, "the adapter broke the contract: " + "; ".join(seen.problems))]
    if hostile:
        return [*hostile_findings(seen), *wire_findings(seen, profile)]
    if seen.scenario.deflate is not None and (gate := deflate_gate(seen)):
        return gate
    events = [whatwg_events(seen)] if profile == "whatwg" else rfc6455_events(seen)
    found = [*events, *wire_findings(seen, profile), *deflate_findings(seen, profile)]
    if not found:  # every check of the scenario ran and none found a fault
        found.append(_f(Outcome.PASS, "as required"))
    return found


def worst(found: Sequence[Finding]) -> Outcome:
    return max((f.outcome for f in found), key=SEVERITY.__getitem__, default=Outcome.ERROR)


def expected_text(scenario: ClientScenario, profile: Profile) -> str:
    if scenario.rfc_check == "hostile":  # §5.2 and §10.4 bind a user agent alike
        return scenario.rfc_expected
    if profile == "whatwg":
        text = describe_expected(model_events(scenario))
        for alternative in scenario.alternatives:
            text += f" (or {describe_expected(alternative.events)}: {alternative.why})"
        return text
    return scenario.rfc_expected or RFC_EXPECTED.get(scenario.rfc_check, "")


RFC_EXPECTED: dict[RfcCheck, str] = {
    "http-status": "no open connection; the HTTP status may be exposed",
    "redirect": "no open connection, or a new valid handshake to the new location that then opens",
    "reject-101": "the client fails the connection: no open, no message",
    "no-connection": "the client fails the connection: no open, no message",
    "connection-lost": "open, then the client reports the connection lost "
    "(code 1006 where it reports one)",
}
"""What ``rfc6455-client`` expects for a check, where the scenario names nothing finer."""


def scenario_case_result(
    seen: ClientObservation, profile: Profile, reproduce: str = ""
) -> CaseResult:
    found = findings(seen, profile)
    outcome = worst(found)
    shown = [f for f in found if f.outcome is outcome] or found
    requirements = tuple(dict.fromkeys(r for f in shown for r in f.requirements))
    notes = [f.text for f in found if f.outcome is not outcome]
    if seen.scenario.note:
        notes.append(seen.scenario.note)
    if seen.stderr_tail and outcome is Outcome.ERROR:
        notes.append("adapter stderr: " + seen.stderr_tail[-300:])
    return CaseResult(
        id=seen.scenario.id,
        title=seen.scenario.title,
        outcome=outcome,
        level=Level.MUST,
        requirements=requirements,
        expected=expected_text(seen.scenario, profile),
        actual="; ".join(f.text for f in shown) + f" [events: {describe_seen(seen.script_events)}]",
        duration_s=seen.duration_s,
        sent=b"".join(r.response_head for r in seen.records)[:4096],
        received=b"".join(r.request_head for r in seen.records)[:4096],
        sent_total=sum(len(r.response_head) for r in seen.records),
        received_total=sum(len(r.request_head) for r in seen.records),
        notes=tuple(notes),
        reproduce=reproduce,
    )
