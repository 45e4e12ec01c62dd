"""RFC 6455 §5.5.1, §7.1, §7.4: the closing handshake and its status codes.

Five groups, built from data tables (Autobahn|Testsuite section 7, and what it never
checks):

* Close bodies (§5.5, §5.5.1): empty, code only, code and reason, a 123-byte reason
  (a 125-byte body, the most a control frame carries) are answered with a Close; a
  1-byte body, a 124-byte reason (a 126-byte body) and a reason that is not UTF-8
  fail the connection;
* status codes (§7.4.1, §7.4.2): each code an endpoint may send is answered with a
  Close (echoing it is what §5.5.1 calls typical, not a requirement: another code is
  INFO); each code no endpoint may send fails the connection with 1002; echoing a
  reserved code back is WARN, a forbidden one FAIL (:mod:`conformance.policy.closing`);
* codes the server itself never sends (§7.4.1): 1005, 1006 and 1015, whether it
  answers an empty Close, fails the connection, or is sent the code;
* the TCP close (§5.5.1, §7.1.1): the server closes TCP once both Close frames have
  crossed, without waiting for the client, and cleanly (FIN, not RST);
* around the Close (§5.4, §5.5.1, §5.5.2): a message before the Close is echoed
  before the server's Close, never after; frames after the client's Close are not
  echoed; a Ping after it needs no Pong; a Close between two fragments of a message
  is answered normally.

Every case watches until the server closes TCP (``until_closed``, bounded by the
case deadline): the suite never closes first, so the whole closing handshake is seen.
A Close the server starts is answered at once (§5.5.1), as any client must.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from ..model import rules
from ..model.behaviours import ClosingHandshake, ConnectionClosed, Expectation, TcpClose, expect
from ..model.codec import close_payload
from ..model.constants import Opcode
from ..model.decoder import close_code_rule
from ..model.frames import Frame
from ..model.observed import Observed, TransportEnd
from ..model.verdict import Level, Outcome
from ..policy.closing import (
    CODE_ECHO_NOTE,
    ECHO_NOTE,
    IANA_NOTE,
    INVALID_DATA,
    PROTOCOL_ERROR,
    REFUSED_CLOSE_NOTE,
    RESERVED_CODE_ALLOWED,
    SENDABLE,
    SERVER_CLOSE_NOTE,
    other_code_allowed,
    reserved_code_allowed,
)
from ..policy.pingpong import PONG_AFTER_CLOSE_NOTE
from ..session.context import CaseContext
from ..session.wire import WireSession, binary, client_frame, close_frame, text, watch_failure
from .base import Allowed, Case, RunFn

# Requirement ids only this module cites (records in spec_refs/rfc6455.toml); the ids
# that several case tables cite are named once in conformance/model/rules.py.
R_BODY_OPTIONAL = "rfc6455-5.5.1-close-body-optional"
R_REPLY = "rfc6455-5.5.1-close-reply"
R_SEND_CLOSE = "rfc6455-7.1.2-send-close-frame"
R_ECHO_CODE = "rfc6455-5.5.1-close-echo-code"
R_REPLY_PROMPTLY = "rfc6455-5.5.1-close-reply-promptly"
R_AFTER_MESSAGE = "rfc6455-5.5.1-close-after-message"
R_SERVER_TCP_FIRST = "rfc6455-7.1.1-server-closes-tcp-first"
R_CLEAN_TCP = "rfc6455-7.1.1-clean-tcp-tls-close"
R_CLOSE_REASON = "rfc6455-7.1.6-close-reason-first-frame"
R_CODE_1002 = "rfc6455-7.4.1-code-1002-protocol-error"
R_RANGE_REGISTERED = "rfc6455-7.4.2-range-3000-3999-registered"
R_RANGE_PRIVATE = "rfc6455-7.4.2-range-4000-4999-private"

CODE_DEFINITIONS: dict[int, str] = {
    1000: "rfc6455-7.4.1-code-1000-normal",
    1001: "rfc6455-7.4.1-code-1001-going-away",
    1002: R_CODE_1002,
    1003: "rfc6455-7.4.1-code-1003-unacceptable-data",
    1007: rules.INVALID_DATA_1007,
    1008: "rfc6455-7.4.1-code-1008-policy",
    1009: "rfc6455-7.4.1-code-1009-too-big",
    1010: "rfc6455-7.4.1-code-1010-extension-missing",
    1011: "rfc6455-7.4.1-code-1011-unexpected",
}
"""The sentence defining each code of §7.4.1; other valid codes fall in a §7.4.2 range."""

VALID_CODE_CASES: tuple[int, ...] = (
    *(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014),
    *(3000, 3999, 4000, 4999),
)
INVALID_CODE_CASES = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)

REASON = "goodbye — auf Wiedersehen".encode()
"""A reason with multibyte UTF-8 (§5.5.1: "UTF-8-encoded data")."""
REASON_123 = ("é€😀" * 13 + "closing!").encode()[:123]
REASON_124 = REASON_123 + b"!"
INVALID_UTF8_REASON = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"
""""κόσμε", then a UTF-16 surrogate (ED A0 80, never valid UTF-8), then ASCII."""

AFTER_CLOSE = b"after the Close"
"""The payload of the Ping sent after the client's Close."""

LARGE_MESSAGE = bytes(range(256)) * 256
"""64 KiB sent just before a Close: big enough that the server may still be writing
its echo when the Close arrives (§5.5.1 lets it finish its current message first)."""

# --------------------------------------------------------------------------- runners


def closing(*frames: Frame) -> RunFn:
    """Prove the server alive (a Ping answered), send ``frames`` in one write, then watch
    until the server closes TCP.

    The Pong shows the server processing frames, so one that then says nothing is
    judged on the closing handshake (FAIL), not reported as unobservable (ERROR), and
    one that drops every connection cannot pass a case that accepts a TCP close. A
    Close from the server is answered (§5.5.1) unless the suite already sent one.
    Each run masks every frame with a fresh key (§5.3).
    """

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx, prove_alive=True)
        await session.send(*(_remasked(frame) for frame in frames))
        await session.until_closed()
        return session.finish()

    return run


def failing(frame: Frame) -> RunFn:
    """Send an offending ``frame`` and watch the server fail the connection (§7.1.7);
    if it goes on instead, close normally, so the case still sees how it closes."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx, prove_alive=True)
        await session.send(_remasked(frame))
        return await watch_failure(session)

    return run


def _remasked(frame: Frame) -> Frame:
    return frame if frame.mask is None else replace(frame, mask=os.urandom(4))


def raw_close(body: bytes) -> Frame:
    """A masked client Close frame with exactly ``body`` (§5.5.1)."""
    return client_frame(Opcode.CLOSE, body)


# --------------------------------------------------------------------------- factories


def failing_close(
    case_id: str,
    title: str,
    body: bytes,
    requirements: tuple[str, ...],
    *,
    codes: frozenset[int] = PROTOCOL_ERROR,
    notes: str,
) -> Case:
    """A Close the server must refuse: it fails the connection (§7.1.7).

    The offending frame is itself a Close, so the server's Close is also its reply:
    a Close with ``codes`` (or a TCP close without one) passes. Any other valid code,
    1000 and no code included, closes the connection without the appropriate status
    code: WARN (a SHOULD of §7.1.7 and §10.7); so does a reserved code no sentence
    forbids (1004, 1016-2999). A code no endpoint may send (an invalid code echoed)
    matches nothing: FAIL (§5.5.1, §7.4). See :mod:`conformance.policy.closing`.
    """
    return Case(
        id=case_id,
        title=title,
        requirements=requirements,
        level=Level.MUST,
        expect=expect(ClosingHandshake(codes, no_code=False), TcpClose()),
        run=closing(raw_close(body)),
        allowed=(other_code_allowed(codes), RESERVED_CODE_ALLOWED),
        notes=notes,
    )


@dataclass(frozen=True, slots=True)
class Accepted:
    """A Close the server must answer normally, and the code a typical reply echoes."""

    slug: str
    title: str
    body: bytes
    echo: int | None  # the code received; None for an empty body
    requirements: tuple[str, ...]
    notes: str = ""


IANA_LATER = frozenset({1012, 1013, 1014})
"""Codes registered with IANA after RFC 6455 (§11.7): unknown to an RFC-only server."""


def accepted_close(spec: Accepted) -> Case:
    """A valid Close: answered with a Close echoing its code (PASS), or another valid
    code or none (INFO: §5.5.1's "typically echos" carries no keyword), then TCP close;
    a reserved code back is WARN, a forbidden one FAIL (:mod:`conformance.policy.closing`)."""
    if spec.echo is None:
        expectation: Expectation = expect(ClosingHandshake())
        allowed: tuple[Allowed, ...] = (RESERVED_CODE_ALLOWED,)
    else:
        expectation = expect(ClosingHandshake(frozenset({spec.echo}), no_code=False))
        allowed = (
            Allowed(
                ClosingHandshake(),
                Outcome.INFO,
                f"answered with another code than {spec.echo}: §5.5.1 says only that the "
                "endpoint 'typically echos the status code it received', no keyword",
            ),
            RESERVED_CODE_ALLOWED,
        )
        if spec.echo in IANA_LATER:
            allowed += (
                Allowed(
                    TcpClose(),
                    Outcome.WARN,
                    f"failed the connection without a Close frame: a server that knows only "
                    f"RFC 6455's codes may refuse {spec.echo}, but §7.1.7 says it SHOULD "
                    "send a Close frame first",
                ),
            )
    return Case(
        id=spec.slug,
        title=spec.title,
        requirements=(
            *spec.requirements,
            R_REPLY,
            R_ECHO_CODE,
            rules.SERVER_CLOSES_TCP_FIRST,
            R_SEND_CLOSE,
        ),
        level=Level.MUST,
        expect=expectation,
        run=closing(raw_close(spec.body)),
        allowed=allowed,
        notes=" ".join(filter(None, (ECHO_NOTE if spec.echo is not None else "", spec.notes))),
    )


def _code_section(code: int) -> str:
    if code in CODE_DEFINITIONS or close_code_rule(code) in (
        rules.CLOSE_CODE_1005_NOT_SENT,
        rules.CLOSE_CODE_1006_NOT_SENT,
        rules.CLOSE_CODE_1015_NOT_SENT,
        rules.CLOSE_CODE_1004_RESERVED,
    ):
        return "7.4.1"
    return "7.4.2" if code < 5000 else "5.5.1"


def _valid_code_requirement(code: int) -> str:
    if code in CODE_DEFINITIONS:
        return CODE_DEFINITIONS[code]
    if code < 3000:
        # 1012-1014: registered with IANA after RFC 6455 (§11.7)
        return rules.CLOSE_CODE_PROTOCOL_RANGE
    return R_RANGE_REGISTERED if code < 4000 else R_RANGE_PRIVATE


def valid_code_case(code: int) -> Case:
    title = f"A Close with code {code} is answered with a Close, then the TCP close"
    return accepted_close(
        Accepted(
            f"rfc6455/{_code_section(code)}/close-code-{code}",
            title,
            close_payload(code),
            code,
            (_valid_code_requirement(code),),
            IANA_NOTE if code in (1012, 1013, 1014) else "",
        )
    )


def invalid_code_case(code: int) -> Case:
    rule = close_code_rule(code)
    assert rule is not None, code
    reqs = tuple(
        dict.fromkeys(
            (
                rules.CLOSE_BODY_CODE,
                rule,
                rules.VALIDATE_INPUT,
                rules.CLOSE_ON_INVALID_DATA,
                R_CODE_1002,
            )
        )
    )
    return failing_close(
        f"rfc6455/{_code_section(code)}/invalid-close-code-{code}",
        f"A Close with code {code}, which no endpoint may send, fails the connection",
        close_payload(code),
        reqs,
        notes=f"{REFUSED_CLOSE_NOTE} {CODE_ECHO_NOTE}",
    )


# --------------------------------------------------------------------------- cases

BODY_CASES: list[Case] = [
    accepted_close(
        Accepted(
            "rfc6455/5.5.1/close-empty",
            "A Close with no body is answered with a Close, then the TCP close",
            b"",
            None,
            (R_BODY_OPTIONAL,),
        )
    ),
    accepted_close(
        Accepted(
            "rfc6455/5.5.1/close-code-and-reason",
            "A Close with a code and a UTF-8 reason is answered with a Close",
            close_payload(1000, REASON),
            1000,
            (rules.CLOSE_BODY_CODE, rules.CLOSE_REASON_UTF8),
        )
    ),
    accepted_close(
        Accepted(
            "rfc6455/5.5/close-reason-123-bytes",
            "A Close with a 123-byte reason (a 125-byte body, the control maximum) is answered",
            close_payload(1000, REASON_123),
            1000,
            (rules.CONTROL_PAYLOAD_MAX, rules.CLOSE_REASON_UTF8),
        )
    ),
    failing_close(
        "rfc6455/5.5.1/close-body-1-byte",
        "A Close whose body is 1 byte (half a status code) fails the connection",
        b"\x03",
        (rules.CLOSE_BODY_CODE, rules.VALIDATE_INPUT, rules.CLOSE_ON_INVALID_DATA, R_CODE_1002),
        notes=REFUSED_CLOSE_NOTE,
    ),
    failing_close(
        "rfc6455/5.5/close-reason-124-bytes",
        "A Close with a 124-byte reason (a 126-byte control frame) fails the connection",
        close_payload(1000, REASON_124),
        (rules.CONTROL_PAYLOAD_MAX, rules.VALIDATE_INPUT, rules.CLOSE_BEFORE_FAIL, R_CODE_1002),
        notes=(
            "§5.5: 'All control frames MUST have a payload length of 125 bytes or less' "
            "binds the sender; the receiver validates (§10.7). A Close 1000 back still "
            "closes the connection, without the appropriate code: WARN."
        ),
    ),
    failing_close(
        "rfc6455/5.5.1/close-reason-invalid-utf8",
        "A Close whose reason is not UTF-8 fails the connection (1007 or 1002)",
        close_payload(1000, INVALID_UTF8_REASON),
        (
            rules.CLOSE_REASON_UTF8,
            R_CLOSE_REASON,
            rules.INVALID_UTF8_FAIL,
            rules.INVALID_DATA_1007,
            R_CODE_1002,
        ),
        codes=INVALID_DATA,
        notes=(
            "§5.5.1: the body 'MAY contain UTF-8-encoded data with value /reason/' and "
            "§7.1.6 defines the close reason as that UTF-8-encoded data; an endpoint "
            "reading it as UTF-8 and finding it invalid 'MUST _Fail the WebSocket "
            "Connection_' (§8.1). Which code is appropriate is disputed: 1007 (§7.4.1, "
            "'data within a message that was not consistent with the type of the "
            "message') names invalid UTF-8, but a Close is not a message; 1002 (a "
            "malformed frame) fits the frame. Both pass. A Close 1000 back (the code "
            "sent) answers it as valid (FAIL); another code is WARN."
        ),
    ),
]

CODE_CASES: list[Case] = [valid_code_case(code) for code in VALID_CODE_CASES] + [
    invalid_code_case(code) for code in INVALID_CODE_CASES
]


@dataclass(frozen=True, slots=True)
class NeverSent:
    """A code the server must never put in its own Close (§7.4.1), and a trigger."""

    slug: str
    title: str
    rule: str
    code: int
    run: RunFn
    note: str = ""  # how the trigger is read, beyond the one rule judged


def never_sent_case(spec: NeverSent) -> Case:
    return Case(
        id=f"rfc6455/7.4.1/{spec.slug}",
        title=spec.title,
        requirements=(spec.rule,),
        level=Level.MUST,
        expect=expect(
            ConnectionClosed(
                f"no Close frame from the server carrying code {spec.code}",
                frozenset({spec.rule}),
            )
        ),
        run=spec.run,
        notes=(
            f"Judges only §7.4.1's 'MUST NOT be set as a status code in a Close control "
            f"frame' for {spec.code}; the rest of the exchange is judged by the other "
            f"closing cases. {spec.note}"
        ).strip(),
    )


NEVER_SENT = (
    NeverSent(
        "no-1005-after-empty-close",
        "The server's answer to an empty Close never carries code 1005",
        rules.CLOSE_CODE_1005_NOT_SENT,
        1005,
        closing(raw_close(b"")),
    ),
    NeverSent(
        "no-1005-echo",
        "The server never echoes code 1005 back in its Close",
        rules.CLOSE_CODE_1005_NOT_SENT,
        1005,
        closing(raw_close(close_payload(1005))),
    ),
    NeverSent(
        "no-1006-when-failing",
        "A server failing the connection never sends code 1006 in its Close",
        rules.CLOSE_CODE_1006_NOT_SENT,
        1006,
        failing(client_frame(0x3, b"reserved opcode")),
        SERVER_CLOSE_NOTE,
    ),
    NeverSent(
        "no-1006-echo",
        "The server never echoes code 1006 back in its Close",
        rules.CLOSE_CODE_1006_NOT_SENT,
        1006,
        closing(raw_close(close_payload(1006))),
    ),
    NeverSent(
        "no-1015-echo",
        "The server never echoes code 1015 back in its Close",
        rules.CLOSE_CODE_1015_NOT_SENT,
        1015,
        closing(raw_close(close_payload(1015))),
    ),
)

NEVER_SENT_CASES = [never_sent_case(spec) for spec in NEVER_SENT]

ANOTHER_CODE = "answered with a code other than 1000, the code sent (§5.5.1: 'typically echos')"

ECHO_THEN_CLOSE = ((int(Opcode.BINARY), LARGE_MESSAGE),)

AROUND_CLOSE_CASES: list[Case] = [
    Case(
        id="rfc6455/5.5.1/server-closes-tcp",
        title="After the closing handshake the server closes the TCP connection itself",
        requirements=(
            rules.SERVER_CLOSES_TCP_FIRST,
            rules.CLOSE_TCP_AFTER_BOTH,
            R_SERVER_TCP_FIRST,
            "rfc6455-7.1.1-server-tcp-close-immediately",
            "rfc6455-7.1.2-close-after-both-frames",
        ),
        level=Level.MUST,
        expect=expect(ConnectionClosed("without waiting for the client to close it")),
        run=closing(close_frame(1000)),
        notes=(
            "§5.5.1: 'The server MUST close the underlying TCP connection immediately'; "
            "§7.1.1 adds that it 'SHOULD be closed first by the server'. The suite never "
            "closes first: it waits for the server's FIN or RST until the case deadline."
        ),
    ),
    Case(
        id="rfc6455/7.1.1/clean-tcp-close",
        title="The server closes TCP cleanly (FIN, not RST) after the closing handshake",
        requirements=(R_CLEAN_TCP,),
        level=Level.SHOULD,
        expect=expect(
            ConnectionClosed("after the closing handshake", ends=frozenset({TransportEnd.EOF}))
        ),
        run=closing(close_frame(1000)),
        notes=(
            "§7.1.1: 'An endpoint SHOULD use a method that cleanly closes the TCP "
            "connection'. The suite has read everything the server sent, so a reset "
            "is the server's abortive close."
        ),
    ),
    Case(
        id="rfc6455/5.5.1/message-then-close",
        title="A message just before a Close is echoed before the server's Close, never after",
        requirements=(
            rules.NO_DATA_AFTER_CLOSE,
            R_AFTER_MESSAGE,
            R_REPLY,
            "rfc6455-6.1-send-only-open",
        ),
        level=Level.MUST,
        expect=expect(ClosingHandshake(frozenset({1000}), no_code=False, messages=ECHO_THEN_CLOSE)),
        run=closing(binary(LARGE_MESSAGE), close_frame(1000)),
        allowed=(
            Allowed(
                ClosingHandshake(messages=None),
                Outcome.INFO,
                "did not echo the message received before the Close, or answered with "
                "another code: echoing is the application's choice",
            ),
            reserved_code_allowed(ClosingHandshake(messages=None)),
        ),
        notes=(
            "A 64 KiB message and a Close in one write. §5.5.1: the server 'MAY delay "
            "sending a Close frame until its current message is sent', and 'MUST NOT "
            "send any more data frames after sending a Close frame': an echo after its "
            "Close is FAIL."
        ),
    ),
    Case(
        id="rfc6455/5.5.1/frames-after-close-ignored",
        title="A text frame the client sends after its Close is not echoed",
        requirements=(rules.NO_DATA_AFTER_CLOSE, R_REPLY, R_REPLY_PROMPTLY),
        level=Level.MUST,
        expect=expect(ClosingHandshake(frozenset({1000}), no_code=False)),
        run=closing(close_frame(1000), text("sent after the Close")),
        allowed=(
            Allowed(ClosingHandshake(), Outcome.INFO, ANOTHER_CODE),
            reserved_code_allowed(ClosingHandshake(messages=None)),
            Allowed(
                ClosingHandshake(messages=None),
                Outcome.WARN,
                "echoed a message received after the Close before answering it (§5.5.1: "
                "the Close reply 'SHOULD' come 'as soon as practical')",
            ),
        ),
        notes=(
            "The client breaks §5.5.1 ('MUST NOT send any more data frames after sending "
            "a Close frame'). The server's answer to the Close comes first; an echo after "
            "it breaks the same MUST NOT for the server (FAIL); an echo before it means "
            "the server held its Close back for a message that came after it (WARN)."
        ),
    ),
    Case(
        id="rfc6455/5.5.2/no-pong-after-close",
        title="A Ping after the client's Close needs no Pong; the Close is answered",
        requirements=(rules.PONG_REPLY, R_REPLY, rules.SERVER_CLOSES_TCP_FIRST),
        level=Level.MUST,
        expect=expect(
            ClosingHandshake(frozenset({1000}), no_code=False),
            ClosingHandshake(frozenset({1000}), no_code=False, pongs=(AFTER_CLOSE,)),
        ),
        run=closing(close_frame(1000), client_frame(Opcode.PING, AFTER_CLOSE)),
        allowed=(
            Allowed(ClosingHandshake(pongs=None), Outcome.INFO, ANOTHER_CODE),
            reserved_code_allowed(ClosingHandshake(pongs=None)),
        ),
        notes=PONG_AFTER_CLOSE_NOTE,
    ),
    Case(
        id="rfc6455/5.4/close-between-fragments",
        title="A Close between two fragments of a message is answered, not failed",
        requirements=(rules.CONTROL_MID_MESSAGE, R_REPLY),
        level=Level.MUST,
        expect=expect(ClosingHandshake(frozenset({1000}), no_code=False)),
        run=closing(text("first fragment, ", fin=False), close_frame(1000)),
        allowed=(
            Allowed(
                ClosingHandshake(SENDABLE - INVALID_DATA),
                Outcome.INFO,
                ANOTHER_CODE,
            ),
            Allowed(
                ClosingHandshake(INVALID_DATA),
                Outcome.INFO,
                "answered the Close with a protocol or data error code: the closing "
                "handshake was completed, and no sentence ties a code to the reply",
            ),
            RESERVED_CODE_ALLOWED,
        ),
        notes=(
            "§5.4: 'An endpoint MUST be capable of handling control frames in the middle "
            "of a fragmented message.' The unfinished message is dropped with the "
            "connection. A Close answered (any code) and TCP closed shows the Close was "
            "handled; a reply of 1002 or 1007 misnames a legal sequence as an error, but "
            "§5.5.1 only says the reply 'typically echos' the code: INFO, not FAIL. Not "
            "answering the Close, or failing without a Close, is FAIL."
        ),
    ),
]

CASES: list[Case] = [*BODY_CASES, *CODE_CASES, *NEVER_SENT_CASES, *AROUND_CLOSE_CASES]
