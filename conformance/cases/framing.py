"""RFC 6455 §5.1, §5.2, §5.5, §5.5.2, §5.5.3: base framing, masking, Ping and Pong.

Six groups, built from data tables (Autobahn|Testsuite sections 1–4 and 2.x):

* framing (§5.2, §6.2): text and binary messages at each edge of the three length
  forms are echoed, whole, cut into small TCP writes, and several in one write;
* the server's own frames (§5.1, §5.2), read on those echoes: not masked, minimal
  length encoding, a 64-bit length with its MSB 0, RSV bits 0;
* masking (§5.1): an unmasked client frame closes the connection;
* reserved bits (§5.2): any RSV bit no extension defines fails the connection;
* reserved opcodes (§5.2): %x3-7 and %xB-F fail the connection;
* Ping and Pong (§5.5, §5.5.2, §5.5.3): each Ping gets a Pong with its data; a Ping
  over 125 bytes or fragmented fails the connection; an unsolicited Pong is taken
  without an answer.

_Fail the WebSocket Connection_ (§7.1.7) is a MUST to close and stop processing; the
Close frame with 1002 is a SHOULD, so any other code is WARN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ..model import rules
from ..model.behaviours import (
    AllOf,
    Behaviour,
    Echoed,
    EchoedWithout,
    FailedConnection,
    Ponged,
    expect,
)
from ..model.constants import Opcode
from ..model.frames import Frame
from ..model.observed import Observed
from ..model.verdict import Level, Outcome
from ..policy import closing as closing_policy
from ..policy import limits as limit_policy
from ..policy.closing import PROTOCOL_ERROR
from ..policy.pingpong import LATEST_ONLY_NOTE, PONG_WAIT, PongsAnswered
from ..session.context import CaseContext
from ..session.wire import WireSession, client_frame, close_frame, watch_echo, watch_failure
from .base import Allowed, Case, RunFn

# Requirement ids only this module cites (records in spec_refs/rfc6455.toml); the ids
# that several case tables cite are named once in conformance/model/rules.py.
R_NETWORK_ORDER = "rfc6455-5.2-length-network-order"
R_RSV_FAIL = "rfc6455-5.2-rsv-nonzero-fail"
R_RSV_ABNF = (
    "rfc6455-5.2-abnf-rsv1-zero",
    "rfc6455-5.2-abnf-rsv2-zero",
    "rfc6455-5.2-abnf-rsv3-zero",
)
R_NEGOTIATE_EXTENSIONS = "rfc6455-5.8-negotiate-extensions"
R_SEND_MESSAGE = (
    "rfc6455-6.2-note-data-type",
    "rfc6455-6.1-send-steps",
    "rfc6455-6.1-encapsulate-frame",
    "rfc6455-6.1-transmit-frames",
)
"""An echo is the server receiving a message of a type (§6.2) and sending it (§6.1)."""
R_OPCODE_FAIL = "rfc6455-5.2-unknown-opcode-fail"
R_DATA_OPCODES = "rfc6455-5.6-data-opcodes"
R_CONTROL_HANDLING = "rfc6455-6.2-control-frame-handling"
R_CLOSE_UNMASKED = "rfc6455-5.1-server-close-unmasked"
R_PONG_DATA = "rfc6455-5.5.3-pong-echo-data"
R_UNSOLICITED_NO_REPLY = "rfc6455-5.5.3-unsolicited-pong-no-reply"

TEXT, BINARY = int(Opcode.TEXT), int(Opcode.BINARY)
Msg = tuple[int, bytes]

LENGTHS = (0, 125, 126, 127, 128, 65535, 65536)
"""Each edge of the 7-bit, 16-bit and 64-bit length forms (§5.2)."""

SMALL_CHUNK = 1  # one byte a write: every header field split across reads
BIG_CHUNK = 997  # a prime, so frame and write boundaries never line up

VALID: Msg = (TEXT, b"Hello, world!")
"""The valid message sent before an offending frame."""

CLOSE_OFFENCE_NOTE = (
    "The offending frame is a Close 1000. A Close back, then the TCP close, does close "
    "the connection, which is what §5.1 and §7.1.7 require; a code other than 1002 "
    "(1000 included: it cannot be told apart from an ordinary reply) only misses the "
    "SHOULD of an appropriate code, so it is WARN, as for a malformed Close answered "
    "normally (docs/wire-rules.md)."
)


def text_payload(size: int) -> bytes:
    """``size`` bytes of printable ASCII (valid UTF-8, §5.6)."""
    pattern = b"The quick brown fox jumps over the lazy dog 0123456789. "
    return (pattern * (size // len(pattern) + 1))[:size]


def binary_payload(size: int) -> bytes:
    """``size`` bytes cycling through every byte value."""
    return bytes(i % 256 for i in range(size))


def payload(opcode: int, size: int) -> bytes:
    return text_payload(size) if opcode == TEXT else binary_payload(size)


def _kind(opcode: int) -> str:
    return {TEXT: "text", BINARY: "binary"}[opcode]


def _length_form(size: int) -> str:
    if size <= 125:
        return "7-bit length"
    return "16-bit length" if size <= 0xFFFF else "64-bit length"


def _per_write(chunk: int) -> str:
    return "one byte a write" if chunk == 1 else f"{chunk} bytes a write"


def _length_requirements(size: int) -> tuple[str, ...]:
    if size <= 125:
        return (rules.PAYLOAD_LENGTH_FIELD,)
    if size <= 0xFFFF:
        return (rules.PAYLOAD_LENGTH_FIELD, R_NETWORK_ORDER)
    return (rules.LENGTH_MSB_ZERO, R_NETWORK_ORDER)


def _frames(messages: Sequence[Msg]) -> list[Frame]:
    """Masked client frames for ``messages``, a fresh key each (§5.3)."""
    return [client_frame(opcode, data) for opcode, data in messages]


# --------------------------------------------------------------------------- runners


def echoing(messages: tuple[Msg, ...], chunk: int | None = None) -> RunFn:
    """Send ``messages`` as one stream (``chunk`` bytes a write) and watch the echoes."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        await session.send(*_frames(messages), chunk=chunk)
        return await watch_echo(session)

    return run


async def await_last_pong(session: WireSession, frames: Sequence[Frame]) -> None:
    """Wait for the Pong of the last Ping in ``frames`` before sending anything else, so
    no barrier Ping or Close joins or races the Pings (docs/verdict-policy.md,
    "Ping/Pong and timing")."""
    pings = [f.payload for f in frames if f.opcode == Opcode.PING]
    if pings:
        await session.await_pong(pings[-1], PONG_WAIT)


def pinging(pings: tuple[bytes, ...], chunk: int | None = None) -> RunFn:
    """Send Pings with these data (``chunk`` bytes a write), wait for the last Pong, then
    close: every Ping received before a Close MUST be answered (§5.5.2), so the closing
    handshake ends the watch."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        frames = [client_frame(Opcode.PING, data) for data in pings]
        await session.send(*frames, chunk=chunk)
        await await_last_pong(session, frames)
        await session.close()
        return session.finish()

    return run


def interleaved(frames: Callable[[], list[Frame]]) -> RunFn:
    """Send ``frames()`` in one write, wait for the Pong of the last Ping among them,
    then for the barrier Pong and the echoes, then close."""

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx)
        sent = frames()
        await session.send(*sent)
        await await_last_pong(session, sent)
        return await watch_echo(session)

    return run


def failing(
    offence: Callable[[], list[Frame]],
    before: tuple[Msg, ...] = (),
    chunk: int | None = None,
) -> RunFn:
    """Send ``before`` (and wait until it is processed), then the offending frames.

    The offence goes out as raw bytes, so a Close among them is not taken as the
    suite starting the closing handshake: the server's Close must be its own. A Pong
    for a Ping in or after the offence shows the server went on processing (§7.1.7).
    """

    async def run(ctx: CaseContext) -> Observed:
        session = await WireSession.open(ctx, prove_alive=True)
        if before:
            await session.send(*_frames(before))
            await session.settle()
        await session.send_raw(*offence(), chunk=chunk)
        observed = await watch_failure(session)
        if observed.pongs and not observed.continued:
            observed.continued = True
            observed.notes.append("the server answered a Ping behind the offending frame")
        return observed

    return run


# --------------------------------------------------------------------------- cases


def echo_case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    messages: tuple[Msg, ...],
    chunk: int | None = None,
    notes: str = "",
) -> Case:
    """Every message echoed unchanged; a message over the size-limit floor may meet a
    server limit instead (:mod:`conformance.policy.limits`)."""
    allowed = limit_policy.for_messages(messages)
    return Case(
        id=case_id,
        title=title,
        requirements=(*requirements, *R_SEND_MESSAGE),
        level=Level.MUST,
        expect=expect(Echoed(messages)),
        run=echoing(messages, chunk),
        allowed=allowed,
        notes=limit_policy.with_note(notes, allowed),
    )


def fail_case(
    case_id: str,
    title: str,
    requirements: tuple[str, ...],
    offence: Callable[[], list[Frame]],
    *,
    before: tuple[Msg, ...] = (),
    chunk: int | None = None,
    closes: bool = False,
    notes: str = "",
) -> Case:
    """A case whose offending frame MUST _Fail the WebSocket Connection_ (§7.1.7).

    ``closes``: the offending frame is a Close 1000, so the server's Close comes as a
    reply to it; the connection still closes, and a code other than 1002 is WARN.
    """
    expected = FailedConnection(PROTOCOL_ERROR, before, reply_counts=closes)
    if closes:
        notes = f"{notes} {CLOSE_OFFENCE_NOTE}".strip()
    return Case(
        id=case_id,
        title=title,
        requirements=(*requirements, rules.STOP_AFTER_FAIL),
        level=Level.MUST,
        expect=expect(expected),
        run=failing(offence, before, chunk),
        allowed=closing_policy.failure_allowances(PROTOCOL_ERROR, before, reply_counts=closes),
        notes=notes,
    )


# -- 1. framing (§5.2, §6.2) --------------------------------------------------------


def _framing_cases() -> list[Case]:
    cases: list[Case] = []
    for opcode in (TEXT, BINARY):
        kind = _kind(opcode)
        for size in LENGTHS:
            message = ((opcode, payload(opcode, size)),)
            reqs = (*_length_requirements(size), R_DATA_OPCODES, rules.PARSE_FRAMES)
            cases.append(
                echo_case(
                    f"rfc6455/5.2/{kind}-{size}-bytes",
                    f"A {size}-byte {kind} message ({_length_form(size)}) is echoed",
                    reqs,
                    message,
                )
            )
            chunk = SMALL_CHUNK if size <= 128 else BIG_CHUNK
            cases.append(
                echo_case(
                    f"rfc6455/5.2/{kind}-{size}-bytes-chopped",
                    f"A {size}-byte {kind} message written {_per_write(chunk)} is echoed",
                    reqs,
                    message,
                    chunk,
                    notes="TCP is a byte stream: frames are parsed however the writes "
                    "split them, across the header, the length and the masking key.",
                )
            )
    back_to_back: tuple[tuple[str, str, tuple[Msg, ...]], ...] = (
        (
            "text-messages-one-write",
            "Ten text messages in one write are each echoed, in order",
            tuple((TEXT, text_payload(n)) for n in (0, 1, 2, 3, 125, 126, 127, 200, 1000, 70000)),
        ),
        (
            "binary-messages-one-write",
            "Ten binary messages in one write are each echoed, in order",
            tuple(
                (BINARY, binary_payload(n)) for n in (70000, 1000, 256, 128, 127, 126, 125, 2, 1, 0)
            ),
        ),
        (
            "mixed-messages-one-write",
            "Text and binary messages alternating in one write keep their types and order",
            tuple(
                (opcode, payload(opcode, n))
                for n in (0, 125, 126, 65536)
                for opcode in (TEXT, BINARY)
            ),
        ),
    )
    for slug, title, messages in back_to_back:
        cases.append(
            echo_case(
                f"rfc6455/6.2/{slug}",
                title,
                (
                    rules.NEW_MESSAGE_AFTER_FIN,
                    rules.PARSE_FRAMES,
                    rules.PAYLOAD_LENGTH_FIELD,
                    rules.LENGTH_MSB_ZERO,
                ),
                messages,
            )
        )
    return cases


# -- 2. the server's frames (§5.1, §5.2) -----------------------------------------------


SERVER_FRAME_RULES: tuple[tuple[str, str, str, str, tuple[int, ...]], ...] = (
    # (section, slug, requirement id, what every frame gets right, message sizes)
    ("5.1", "server-unmasked", rules.SERVER_MUST_NOT_MASK, "no mask", (0, 125, 126, 65535, 65536)),
    (
        "5.2",
        "server-minimal-length",
        rules.MINIMAL_LENGTH,
        "the minimal length encoding",
        (0, 125, 126, 65535),
    ),
    ("5.2", "server-length-msb-zero", rules.LENGTH_MSB_ZERO, "the 64-bit length's MSB 0", (65536,)),
    (
        "5.2",
        "server-rsv-zero",
        rules.RSV_MUST_BE_ZERO,
        "RSV1-3 all 0 (no extension negotiated)",
        (0, 126, 65536),
    ),
)


def _server_frame_cases() -> list[Case]:
    cases: list[Case] = []
    for section, slug, requirement, rule, sizes in SERVER_FRAME_RULES:
        for size in sizes:
            opcode = TEXT if size <= 126 else BINARY
            message = ((opcode, payload(opcode, size)),)
            allowed = limit_policy.for_messages(message, server_frames=True)
            cases.append(
                Case(
                    id=f"rfc6455/{section}/{slug}-{size}",
                    title=f"The echo of a {size}-byte {_kind(opcode)} message has {rule}",
                    requirements=(requirement,),
                    level=Level.MUST,
                    expect=expect(EchoedWithout(message, frozenset({requirement}), rule)),
                    run=echoing(message),
                    allowed=allowed,
                    notes=limit_policy.with_note("", allowed),
                )
            )
    ping = b"unmasked pong please"
    cases.append(
        Case(
            id="rfc6455/5.1/server-unmasked-pong",
            title="The Pong answering a Ping is not masked",
            requirements=(rules.SERVER_MUST_NOT_MASK,),
            level=Level.MUST,
            expect=expect(Ponged((ping,))),
            run=pinging((ping,)),
        )
    )
    return cases


# -- 3. masking (§5.1) -----------------------------------------------------------------


def _masking_cases() -> list[Case]:
    reqs = (R_CLOSE_UNMASKED, rules.CLIENT_MUST_MASK)
    table: tuple[tuple[str, str, Callable[[], list[Frame]], bool], ...] = (
        (
            "unmasked-text",
            "An unmasked text frame closes the connection",
            lambda: [client_frame(Opcode.TEXT, b"Hello, world!", masked=False)],
            False,
        ),
        (
            "unmasked-binary",
            "An unmasked binary frame closes the connection",
            lambda: [client_frame(Opcode.BINARY, binary_payload(256), masked=False)],
            False,
        ),
        (
            "unmasked-ping",
            "An unmasked Ping closes the connection instead of being answered",
            lambda: [client_frame(Opcode.PING, b"unmasked ping", masked=False)],
            False,
        ),
        (
            "unmasked-close",
            "An unmasked Close closes the connection as a protocol error",
            lambda: [close_frame(1000, masked=False)],
            True,
        ),
    )
    return [
        fail_case(f"rfc6455/5.1/{slug}", title, reqs, offence, closes=closes)
        for slug, title, offence, closes in table
    ]


# -- 4. reserved bits (§5.2) -------------------------------------------------------------


def _rsv_name(bits: tuple[bool, bool, bool]) -> str:
    return "rsv" + "".join(str(i + 1) for i, bit in enumerate(bits) if bit)


def _rsv_frame(
    opcode: int, data: bytes, bits: tuple[bool, bool, bool]
) -> Callable[[], list[Frame]]:
    rsv1, rsv2, rsv3 = bits
    return lambda: [client_frame(opcode, data, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3)]


def _rsv_reqs(bits: tuple[bool, bool, bool]) -> tuple[str, ...]:
    """§5.2 and its ABNF for each bit set; §5.8: no extension was negotiated."""
    abnf = tuple(rid for rid, on in zip(R_RSV_ABNF, bits, strict=True) if on)
    return (R_RSV_FAIL, rules.RSV_MUST_BE_ZERO, *abnf, R_NEGOTIATE_EXTENSIONS)


def _rsv_cases() -> list[Case]:
    reqs = (R_RSV_FAIL, rules.RSV_MUST_BE_ZERO, R_NEGOTIATE_EXTENSIONS)
    cases: list[Case] = []
    combos = [
        (bool(v & 4), bool(v & 2), bool(v & 1)) for v in (4, 2, 1, 6, 5, 3, 7)
    ]  # RSV1, RSV2, RSV3, then each pair, then all three
    for bits in combos:
        name = _rsv_name(bits)
        cases.append(
            fail_case(
                f"rfc6455/5.2/{name}-text",
                f"A text frame with {name.upper()} set fails the connection",
                _rsv_reqs(bits),
                _rsv_frame(TEXT, b"Hello, world!", bits),
            )
        )
    rsv13, rsv23 = (True, False, True), (False, True, True)
    rsv1, rsv2 = (True, False, False), (False, True, False)
    cases += [
        fail_case(
            "rfc6455/5.2/rsv13-binary",
            "A binary frame with RSV1 and RSV3 set fails the connection",
            reqs,
            _rsv_frame(BINARY, binary_payload(256), rsv13),
        ),
        fail_case(
            "rfc6455/5.2/rsv23-ping",
            "A Ping with RSV2 and RSV3 set fails the connection instead of being answered",
            reqs,
            _rsv_frame(Opcode.PING, b"reserved bits", rsv23),
        ),
        fail_case(
            "rfc6455/5.2/rsv123-close",
            "A Close with all RSV bits set fails the connection as a protocol error",
            reqs,
            lambda: [replace(close_frame(1000), rsv1=True, rsv2=True, rsv3=True)],
            closes=True,
        ),
        fail_case(
            "rfc6455/5.2/rsv2-after-text",
            "A frame with RSV2 set after a valid text message fails the connection",
            reqs,
            _rsv_frame(TEXT, b"reserved bits", rsv2),
            before=(VALID,),
        ),
        fail_case(
            "rfc6455/5.2/rsv1-text-chopped",
            "A text frame with RSV1 set, written one byte a write, fails the connection",
            reqs,
            _rsv_frame(TEXT, b"Hello, world!", rsv1),
            chunk=SMALL_CHUNK,
        ),
    ]
    return cases


# -- 5. reserved opcodes (§5.2) ----------------------------------------------------------


RESERVED_OPCODES = (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)
"""%x3-7, reserved for further non-control frames; %xB-F, for further control frames."""


def _reserved(opcode: int, data: bytes, ping: bytes | None = None) -> Callable[[], list[Frame]]:
    """A frame with a reserved opcode, then a Ping with ``ping`` as data if given."""

    def frames() -> list[Frame]:
        out = [client_frame(opcode, data)]
        if ping is not None:
            out.append(client_frame(Opcode.PING, ping))
        return out

    return frames


def _opcode_cases() -> list[Case]:
    reqs = (R_OPCODE_FAIL, rules.RESERVED_OPCODE)
    cases: list[Case] = []
    for opcode in RESERVED_OPCODES:
        kind = "non-control" if opcode < 8 else "control"
        cases.append(
            fail_case(
                f"rfc6455/5.2/opcode-{opcode}",
                f"A frame with reserved {kind} opcode {opcode:#x} fails the connection",
                reqs,
                _reserved(opcode, b""),
            )
        )
    for opcode in RESERVED_OPCODES:
        cases.append(
            fail_case(
                f"rfc6455/5.2/opcode-{opcode}-after-text",
                f"A frame with reserved opcode {opcode:#x} after a valid text message "
                "fails the connection",
                reqs,
                _reserved(opcode, b"reserved opcode"),
                before=(VALID,),
            )
        )
    for opcode in (7, 15):
        cases.append(
            fail_case(
                f"rfc6455/5.2/opcode-{opcode}-before-ping",
                f"A Ping right behind a frame with reserved opcode {opcode:#x} is not "
                "answered: the connection fails first",
                reqs,
                _reserved(opcode, b"reserved opcode", b"ping after the reserved opcode"),
                before=(VALID,),
            )
        )
    return cases


# -- 6. Ping and Pong (§5.5, §5.5.2, §5.5.3) ------------------------------------------------


PING_TABLE: tuple[tuple[str, str, tuple[bytes, ...], int | None], ...] = (
    ("ping-empty", "A Ping without data gets a Pong without data", (b"",), None),
    (
        "ping-text",
        "A Ping with text data gets a Pong with the same data",
        (b"Hello, world!",),
        None,
    ),
    (
        "ping-binary",
        "A Ping with non-UTF-8 binary data gets a Pong with the same data",
        (b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff",),
        None,
    ),
    (
        "ping-bytes-00-7c",
        "A Ping of bytes 0x00-0x7c gets a Pong with the same data",
        (bytes(range(0, 125)),),
        None,
    ),
    (
        "ping-bytes-7d-f9",
        "A Ping of bytes 0x7d-0xf9 gets a Pong with the same data",
        (bytes(range(125, 250)),),
        None,
    ),
    (
        "ping-bytes-fa-ff",
        "A Ping of bytes 0xfa-0xff gets a Pong with the same data",
        (bytes(range(250, 256)),),
        None,
    ),
    (
        "ping-125-bytes",
        "A Ping of 125 bytes (the control frame maximum) gets its Pong",
        (b"\xfe" * 125,),
        None,
    ),
    (
        "ping-chopped",
        "A Ping written one byte a write gets its Pong",
        (b"Hello, world!",),
        SMALL_CHUNK,
    ),
)

TEN_PINGS = tuple(f"ping {i}".encode() for i in range(10))


def _ping_cases() -> list[Case]:
    reqs = (rules.PONG_REPLY, R_PONG_DATA)
    cases = [
        Case(
            id=f"rfc6455/5.5.2/{slug}",
            title=title,
            requirements=reqs,
            level=Level.MUST,
            expect=expect(PongsAnswered(pings)),
            run=pinging(pings, chunk),
        )
        for slug, title, pings, chunk in PING_TABLE
    ]
    cases.append(
        Case(
            id="rfc6455/5.5.2/ten-pings-one-write",
            title="Ten Pings in one write get their Pongs, in order (or, §5.5.3, the "
            "most recent one does)",
            requirements=reqs,
            level=Level.MUST,
            expect=expect(PongsAnswered(TEN_PINGS)),
            run=pinging(TEN_PINGS),
            notes=LATEST_ONLY_NOTE,
        )
    )
    between = b"ping between messages"
    first, second = (TEXT, b"first message"), (TEXT, b"second message")
    cases.append(
        Case(
            id="rfc6455/5.5.2/ping-between-messages",
            title="A Ping between two text messages is answered and both messages echoed",
            requirements=(rules.PONG_REPLY, R_CONTROL_HANDLING),
            level=Level.MUST,
            expect=expect(AllOf((Echoed((first, second)), PongsAnswered((between,))))),
            run=interleaved(
                lambda: [
                    *_frames((first,)),
                    client_frame(Opcode.PING, between),
                    *_frames((second,)),
                ]
            ),
            notes="The RFC does not order a Pong against the echoes of data messages (the "
            "echo is the application's, the Pong the protocol's), so only the echoes' order "
            "and the Pong's data are checked. The case waits for the Pong before its "
            "barrier Ping, so the server never has two Pings to choose among (§5.5.3).",
        )
    )
    control_fail: tuple[tuple[str, str, tuple[str, ...], Callable[[], list[Frame]]], ...] = (
        (
            "ping-126-bytes",
            "A Ping of 126 bytes fails the connection (control frames carry 125 at most)",
            (rules.CONTROL_PAYLOAD_MAX, rules.VALIDATE_INPUT),
            lambda: [client_frame(Opcode.PING, b"\xfe" * 126)],
        ),
        (
            "ping-fragmented",
            "A Ping with FIN=0 fails the connection (control frames are not fragmented)",
            (rules.CONTROL_NEVER_FRAGMENTED, rules.CONTROL_NOT_FRAGMENTED, rules.VALIDATE_INPUT),
            lambda: [client_frame(Opcode.PING, b"fragment 1", fin=False)],
        ),
    )
    cases += [
        fail_case(f"rfc6455/5.5/{slug}", title, reqs_, offence)
        for slug, title, reqs_, offence in control_fail
    ]
    cases += [
        _unsolicited_case(slug, data)
        for slug, data in (("pong-unsolicited-empty", b""), ("pong-unsolicited", b"unsolicited"))
    ]
    return cases


def _unsolicited_case(slug: str, data: bytes) -> Case:
    after = (TEXT, b"after the pong")
    quiet: Behaviour = AllOf((Echoed((after,)), Ponged(())))
    answered: Behaviour = AllOf((Echoed((after,)), Ponged((data,))))
    what = "An unsolicited Pong" + (" without data" if not data else "")
    return Case(
        id=f"rfc6455/5.5.3/{slug}",
        title=f"{what} is taken without an answer, and the connection goes on",
        requirements=(rules.UNSOLICITED_PONG, R_UNSOLICITED_NO_REPLY, R_CONTROL_HANDLING),
        level=Level.MUST,
        expect=expect(quiet),
        run=interleaved(lambda: [client_frame(Opcode.PONG, data), *_frames((after,))]),
        allowed=(
            Allowed(
                answered,
                Outcome.INFO,
                "the server answered the Pong with a Pong: §5.5.3 expects no response, "
                "but lets an endpoint send unsolicited Pongs",
            ),
        ),
        notes="The MUST is to take the Pong as a valid control frame (§5.5.3: a Pong MAY "
        "be sent unsolicited; §6.2) and go on: the text message behind it is echoed. A "
        "Pong sent back is not forbidden (it is an unsolicited Pong of the server's), so "
        "it is INFO.",
    )


CASES: list[Case] = [
    *_framing_cases(),
    *_server_frame_cases(),
    *_masking_cases(),
    *_rsv_cases(),
    *_opcode_cases(),
    *_ping_cases(),
]
