"""Error leakage (issue #15; RFC 6455 §10.7, OWASP ASVS 7.4.1): what a server's error
answers disclose.

* ``security/leakage/handshake-error``: four malformed opening handshakes (a version the
  server cannot speak, no key, a garbage request line, a resource full of bad escapes),
  each on its own connection, with the stated policy's Origin and credential; the status
  line, headers and body of each answer (at most 64 KiB) are scanned
  (:mod:`conformance.model.security_leakage`).
* ``security/leakage/version-banner``: a valid and a refused handshake; a version in
  ``Server:`` or ``X-Powered-By`` is INFO (nothing binds a banner), none is PASS.
* ``security/leakage/close-reason``: two protocol errors after a valid handshake (a frame
  with reserved opcode 0x3, a Close with code 999, both "data that it does not
  understand", §10.7), and the reason of the Close the server fails with is scanned.

A stack trace, file path or exception name is WARN (§10.7 asks for "an appropriate HTTP
status code" or "a Close frame with an appropriate status code", and ASVS 7.4.1 for a
generic message); nothing disclosed is PASS. A check whose probes all went unanswered
is ERROR.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ...driver import DeadlineExceeded
from ...model import rules
from ...model.behaviours import expect
from ...model.codec import close_payload, encode_frame
from ...model.constants import Opcode
from ...model.decoder import PeerStream
from ...model.frames import Frame
from ...model.handshake import HandshakeRequest, ResponseReader
from ...model.observed import CloseInfo, HttpResponse, Observed, TransportEnd
from ...model.security_leakage import (
    ANSWERED,
    MAX_SCANNED,
    NothingDisclosed,
    banner_versions,
    merge,
    scan,
    scan_http,
)
from ...model.verdict import Level
from ...policy.security import SecurityPolicy
from ...session.answers import courtesy_close
from ...session.context import CaseContext
from ..base import Case, RunFn
from .access import policy_request

PROBE_WAIT: Final = 2.0
"""Seconds one probe waits for its answer (the probes run side by side)."""
MASK: Final = b"\x5c\x13\xa8\x02"
RESERVED_OPCODE: Final = 0x3  # §5.2: "%x3-7 are reserved for further non-control frames"
INVALID_CLOSE_CODE: Final = 999  # §7.4.2: "0-999 ... not used"
BAD_VERSION: Final = b"99"
GARBAGE_REQUEST: Final = b"WSCONFORM-GARBAGE \x01\x7f /\\..\\ HTTP/9.9\r\nHost: ?\r\n\r\n"
BAD_RESOURCE: Final = b"/%00%ff/..%2f..%2f%c0%ae%c0%ae/wsconform-no-such-resource?%zz=%"

NOTES: Final = (
    "Reads: §10.7 asks a server faced with invalid data to answer with an appropriate "
    "HTTP status (before the 101) or Close status code (after it); OWASP ASVS 7.4.1 asks "
    "that errors show a generic message, never a stack trace, path or exception. A stack "
    "trace, an absolute path or an exception class name is WARN; a drop without an "
    "answer discloses nothing and counts as an answer. The scan is pattern-based "
    "(Python, Java, Node, Go, .NET and PHP traces), so it may miss a disclosure."
)
BANNER_NOTES: Final = (
    "Reads: no text forbids a banner, so a version in Server:, X-Powered-By, "
    "X-AspNet-Version or X-Runtime-Version (of the 101 or of a refusal) is INFO: it names "
    "the release an attacker looks up (OWASP ASVS 14.3.3). A product name alone passes."
)


@dataclass(frozen=True, slots=True)
class Answer:
    """What one probe got: the raw bytes (bounded), the parsed response, how TCP ended."""

    raw: bytes
    response: HttpResponse | None
    end: TransportEnd
    timed_out: bool

    @property
    def answered(self) -> bool:
        return bool(self.raw) or self.end in (TransportEnd.EOF, TransportEnd.RESET)

    def describe(self) -> str:
        if self.response is not None:
            return self.response.describe()
        if self.raw:
            return f"{len(self.raw)} bytes that are not an HTTP response"
        return "no answer before the deadline" if self.timed_out else f"TCP {self.end.value}"


Probe = tuple[str, Callable[[CaseContext, SecurityPolicy], bytes]]

NO_INTERNALS: Final = "no stack trace, file path or exception name"

HANDSHAKE_PROBES: Final[tuple[Probe, ...]] = (
    (
        "a version it cannot speak",
        lambda ctx, policy: (
            policy_request(ctx, policy).replacing(b"Sec-WebSocket-Version", BAD_VERSION).to_bytes()
        ),
    ),
    (
        "a missing key",
        lambda ctx, policy: policy_request(ctx, policy).without(b"Sec-WebSocket-Key").to_bytes(),
    ),
    ("a garbage request line", lambda ctx, policy: GARBAGE_REQUEST),
    (
        "a resource full of bad escapes",
        lambda ctx, policy: policy_request(ctx, policy, resource=BAD_RESOURCE).to_bytes(),
    ),
)


BANNER_PROBES: Final[tuple[Probe, ...]] = (
    ("a valid handshake", lambda ctx, policy: policy_request(ctx, policy).to_bytes()),
    HANDSHAKE_PROBES[1],
)
"""An accepted and a refused handshake: a banner may be on either."""


def _bounded(ctx: CaseContext, wait: float) -> float:
    return min(ctx.deadline, asyncio.get_running_loop().time() + wait)


async def _ask(ctx: CaseContext, request: bytes) -> Answer:
    """Send ``request`` on a new connection; read the answer (≤ 64 KiB, ≤ PROBE_WAIT s)."""
    conn = await ctx.connect()
    conn.deadline = _bounded(ctx, PROBE_WAIT)
    raw = bytearray()
    reader = ResponseReader()
    timed_out = False
    with contextlib.suppress(DeadlineExceeded):
        await conn.send(request)
    try:
        while len(raw) < MAX_SCANNED:
            data = await conn.receive()
            raw += data
            reader.feed(data)
            response = reader.response
            if not data or (response is not None and response.status == 101):
                break
            if reader.done and reader.error is None and reader.body_complete:
                break
    except DeadlineExceeded:
        timed_out = not raw
    response = reader.response
    if response is not None and response.status == 101:
        await conn.send(courtesy_close())
    return Answer(bytes(raw[:MAX_SCANNED]), response, conn.end, timed_out)


Scanner = Callable[[bytes], list[str]]


def _scanned(
    policy: SecurityPolicy, probes: tuple[Probe, ...], scanner: Scanner, http_only: bool
) -> RunFn:
    """Send each of ``probes`` on its own connection, side by side, and scan each answer
    with ``scanner``; ``http_only``: only an HTTP response counts as an answer (a drop
    shows no header)."""

    async def run(ctx: CaseContext) -> Observed:
        answers = await asyncio.gather(*(_ask(ctx, make(ctx, policy)) for _, make in probes))
        observed = Observed()
        found: list[tuple[str, list[str]]] = []
        for (what, _), answer in zip(probes, answers, strict=True):
            found.append((f"the answer to {what}", scanner(answer.raw)))
            observed.notes.append(f"{what}: {answer.describe()}")
            if observed.response is None and answer.response is not None:
                observed.response = answer.response
                observed.transport = answer.end
        observed.leaks = merge(found)
        answered = sum(1 for a in answers if (a.response is not None if http_only else a.answered))
        observed.measures[ANSWERED] = answered
        observed.timed_out = answered == 0
        observed.notes.extend(observed.leaks)
        return observed

    return run


@dataclass(frozen=True, slots=True)
class Failed:
    """How the server ended one post-handshake probe."""

    close: CloseInfo | None
    end: TransportEnd
    refused: str = ""  # the handshake itself was not accepted

    def describe(self) -> str:
        if self.refused:
            return self.refused
        if self.close is not None:
            return self.close.describe()
        return f"no Close frame, TCP {self.end.value}"


CLOSE_PROBES: Final = (
    (
        "a frame with reserved opcode 0x3",
        Frame(RESERVED_OPCODE, b"wsconform", mask=MASK),
    ),
    (
        f"a Close with code {INVALID_CLOSE_CODE}",
        Frame(Opcode.CLOSE, close_payload(INVALID_CLOSE_CODE), mask=MASK),
    ),
)


async def _provoke(ctx: CaseContext, policy: SecurityPolicy, offence: Frame) -> tuple[Failed, bool]:
    """Upgrade with the stated policy's headers, send ``offence``, read the server's
    Close (≤ PROBE_WAIT s); (what ended it, whether the deadline came first)."""
    request: HandshakeRequest = policy_request(ctx, policy)
    conn = await ctx.connect()
    conn.deadline = _bounded(ctx, PROBE_WAIT)
    reader = ResponseReader()
    try:
        await conn.send(request.to_bytes())
        while not reader.done:
            reader.feed(await conn.receive())
    except DeadlineExceeded:
        return Failed(None, conn.end, "no answer to the opening handshake"), True
    response = reader.response
    if response is None or response.status != 101:
        shown = response.describe() if response is not None else "no HTTP response"
        return Failed(None, conn.end, f"the opening handshake was refused: {shown}"), False
    stream = PeerStream(peer="server")
    stream.feed(reader.trailing)
    timed_out = False
    try:
        await conn.send(encode_frame(offence))
        while stream.close is None and conn.end is TransportEnd.OPEN:
            data = await conn.receive()
            if not data:
                break
            stream.feed(data)
    except DeadlineExceeded:
        timed_out = stream.close is None
    close = stream.close
    info = None if close is None else CloseInfo(close.code, close.reason)
    if conn.end is TransportEnd.OPEN:
        await conn.send(courtesy_close())
    return Failed(info, conn.end), timed_out


def _close_reasons(policy: SecurityPolicy) -> RunFn:
    async def run(ctx: CaseContext) -> Observed:
        observed = Observed()
        answered = 0
        found: list[tuple[str, list[str]]] = []
        for what, offence in CLOSE_PROBES:
            failed, timed_out = await _provoke(ctx, policy, offence)
            observed.notes.append(f"{what}: {failed.describe()}")
            if failed.refused:
                continue
            observed.upgraded = True
            if failed.close is not None:
                reason = failed.close.reason.decode("utf-8", "backslashreplace")
                found.append((f"the Close reason after {what}", scan(reason)))
                observed.close = observed.close or failed.close
            if not timed_out:
                answered += 1
            observed.transport = failed.end
        observed.leaks = merge(found)
        observed.measures[ANSWERED] = answered
        observed.timed_out = answered == 0
        observed.responsive = answered > 0
        observed.notes.extend(observed.leaks)
        return observed

    return run


def cases(policy: SecurityPolicy) -> tuple[Case, ...]:
    """The leakage checks (no stated policy changes them: §10.7 is a SHOULD, and nothing
    at all binds a banner)."""
    return (
        Case(
            id="security/leakage/handshake-error",
            title="Error answers to malformed handshakes disclose no internals",
            requirements=(rules.HANDSHAKE_ERROR_STATUS, rules.VALIDATE_INPUT),
            level=Level.SHOULD,
            expect=expect(NothingDisclosed(f"error responses with {NO_INTERNALS}")),
            run=_scanned(policy, HANDSHAKE_PROBES, scan_http, http_only=False),
            notes=NOTES,
            profile="security",
        ),
        Case(
            id="security/leakage/close-reason",
            title="Close reasons after protocol errors disclose no internals",
            requirements=(rules.CLOSE_ON_INVALID_DATA, rules.VALIDATE_INPUT),
            level=Level.SHOULD,
            expect=expect(NothingDisclosed(f"Close reasons with {NO_INTERNALS}")),
            run=_close_reasons(policy),
            notes=NOTES,
            profile="security",
        ),
        Case(
            id="security/leakage/version-banner",
            title="Server and X-Powered-By name no version",
            requirements=(rules.HANDSHAKE_ERROR_STATUS,),
            level=Level.MAY,
            expect=expect(NothingDisclosed("answers whose banner headers name no version")),
            run=_scanned(policy, BANNER_PROBES, banner_versions, http_only=True),
            notes=BANNER_NOTES,
            profile="security",
        ),
    )


__all__ = ["cases"]
