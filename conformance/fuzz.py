"""``wsconform fuzz``: property tests against a live server (RFC 6455 §5.4, §5.5, §7.1.7).

Two properties, each checked on ``--examples`` random cases drawn from a seeded
:class:`random.Random` (the seed is printed, so any run can be repeated):

* ``fuzz/echo/<n>``: random text and binary messages (0-64 KiB), randomly fragmented
  (§5.4), with Pings injected between fragments (§5.4, §5.5.2) and the stream cut into
  random TCP writes (§5.4: "must not depend on the presence of specific frame
  boundaries"), come back unchanged, and every Pong echoes a Ping's data (§5.5.3).
* ``fuzz/invalid/<n>``: after valid traffic and a Ping/Pong barrier, one frame breaking
  one rule of §5 (or §8.1) makes the server _Fail the WebSocket Connection_ (§7.1.7):
  a Close 1002/1007 or a TCP close, and no Pong for a Ping sent after it.

A failing case is shrunk (fewest frames, then shortest payloads, then fewest TCP
writes), each candidate checked against the suite's own model so that it stays valid
(or breaks the same single rule), and re-run against the server: only candidates that
fail the same way are kept. The counterexample is reported with the seed and the
exact bytes sent, as a :class:`~conformance.results.CaseResult`, so every report
format shows it.
"""

from __future__ import annotations

import asyncio
import random
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from typing import Final, Literal

from .driver import DeadlineExceeded, Target, Unreachable
from .model import rules
from .model.codec import close_payload, encode_frame
from .model.constants import (
    MAX_CONTROL_PAYLOAD,
    RESERVED_CONTROL_OPCODES,
    RESERVED_DATA_OPCODES,
    SENDABLE_PROTOCOL_CLOSE_CODES,
    CloseCode,
    Opcode,
)
from .model.decoder import Message, PeerStream, PingReceived, close_code_rule
from .model.frames import Frame, LengthForm
from .model.outcomes import Level, Observed, Outcome, TransportEnd
from .model.utf8 import NOT_UTF8_SEQUENCES
from .model.violations import Violation
from .results import CaseResult, RunReport
from .runner import DEFAULT_TIMEOUT, GRACE, check_reachable
from .session.context import CannotRun, CaseContext
from .session.wire import BARRIER_PREFIX, WireSession, watch_echo, watch_failure

Kind = Literal["echo", "invalid"]

DEFAULT_EXAMPLES: Final = 100
MAX_MESSAGE_SIZE: Final = 64 * 1024
MAX_MESSAGES: Final = 4
MAX_FRAGMENTS: Final = 6
MAX_PINGS: Final = 3
MAX_WRITES: Final = 16
SHRINK_RUNS: Final = 300
"""Live runs one shrink may take; the time budget is ``SHRINK_RUNS // 10`` deadlines."""
HEX_LIMIT: Final = 4096
"""Bytes of a counterexample written out in hex."""

LENGTH_EDGES: Final = (0, 1, 125, 126, 127, 65535, 65536)
"""Sizes at the edges of the 7-, 16- and 64-bit length forms (§5.2)."""

ECHO_REQUIREMENTS: Final = (
    "rfc6455-5.4-receive-fragmented",
    "rfc6455-5.4-control-mid-message",
    "rfc6455-5.4-no-frame-boundaries",
    "rfc6455-5.5.2-pong-reply",
    "rfc6455-5.5.3-pong-echo-data",
)
FAIL_REQUIREMENT: Final = "rfc6455-7.1.7-stop-processing-after-fail"

FAIL_PROTOCOL: Final = frozenset({int(CloseCode.PROTOCOL_ERROR)})
FAIL_UTF8: Final = frozenset({int(CloseCode.INVALID_FRAME_PAYLOAD_DATA)})
FAIL_EITHER: Final = FAIL_PROTOCOL | FAIL_UTF8

# --------------------------------------------------------------------------- random data

BAD_UTF8: Final = NOT_UTF8_SEQUENCES

_CODE_POINT_RANGES: Final = ((0x20, 0x7E), (0x80, 0x7FF), (0xE000, 0xFFFD), (0x10000, 0x10FFFF))
"""Code points of each UTF-8 length (RFC 3629 §3), surrogates excluded."""


def random_text(rng: random.Random, size: int) -> bytes:
    """Exactly ``size`` bytes of valid UTF-8 mixing 1- to 4-byte characters."""
    out = bytearray()
    while len(out) < size:
        low, high = rng.choice(_CODE_POINT_RANGES)
        char = chr(rng.randint(low, high)).encode()
        out += char if len(out) + len(char) <= size else b"a"
    return bytes(out)


def random_size(rng: random.Random, max_size: int = MAX_MESSAGE_SIZE) -> int:
    """Mostly small, often at a length-form edge, sometimes up to ``max_size``."""
    pick = rng.random()
    if pick < 0.4:
        return rng.randint(0, min(125, max_size))
    if pick < 0.6:
        return rng.choice([n for n in LENGTH_EDGES if n <= max_size])
    if pick < 0.85:
        return rng.randint(0, min(4096, max_size))
    return rng.randint(0, max_size)


def random_payload(rng: random.Random, opcode: int, size: int) -> bytes:
    return random_text(rng, size) if opcode == Opcode.TEXT else rng.randbytes(size)


def _ping_payload(rng: random.Random) -> bytes:
    while True:
        payload = rng.randbytes(rng.randint(0, MAX_CONTROL_PAYLOAD))
        if not payload.startswith(BARRIER_PREFIX[:4]):
            return payload


def _key(rng: random.Random) -> bytes:
    return rng.randbytes(4)


def _splits(rng: random.Random, size: int) -> tuple[int, ...]:
    if size < 2 or rng.random() < 0.3:
        return ()
    count = min(rng.randint(1, MAX_WRITES - 1), size - 1)
    return tuple(sorted(rng.sample(range(1, size), count)))


def fragment(rng: random.Random, message: Message, pings: bool = True) -> list[Frame]:
    """``message`` as 1-6 masked frames with empty fragments allowed, Pings in between."""
    size = len(message.data)
    count = 1 if rng.random() < 0.4 else rng.randint(2, MAX_FRAGMENTS)
    cuts = sorted(rng.randint(0, size) for _ in range(count - 1))
    parts = [message.data[lo:hi] for lo, hi in pairwise([0, *cuts, size])]
    frames = [
        Frame(
            message.opcode if i == 0 else Opcode.CONTINUATION,
            part,
            fin=i == len(parts) - 1,
            mask=_key(rng),
        )
        for i, part in enumerate(parts)
    ]
    if pings and rng.random() < 0.5:
        for _ in range(rng.randint(1, MAX_PINGS)):
            at = rng.randint(0, len(frames))
            frames.insert(at, Frame(Opcode.PING, _ping_payload(rng), mask=_key(rng)))
    return frames


def random_messages(
    rng: random.Random, count: int, max_size: int = MAX_MESSAGE_SIZE
) -> list[Frame]:
    """``count`` random messages, fragmented, as client frames."""
    frames: list[Frame] = []
    for _ in range(count):
        opcode = rng.choice((Opcode.TEXT, Opcode.BINARY))
        message = Message(opcode, random_payload(rng, opcode, random_size(rng, max_size)))
        frames += fragment(rng, message)
    return frames


# --------------------------------------------------------------------------- invalid frames


def _whole(rng: random.Random) -> Frame:
    """A frame valid on its own: a small whole message, a Ping, a Pong or a Close."""
    opcode = rng.choice((Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG, Opcode.CLOSE))
    if opcode == Opcode.CLOSE:
        code = rng.choice(sorted(SENDABLE_PROTOCOL_CLOSE_CODES))
        return Frame(
            opcode, close_payload(code, random_text(rng, rng.randint(0, 20))), mask=_key(rng)
        )
    return Frame(opcode, random_payload(rng, opcode, rng.randint(0, 40)), mask=_key(rng))


def _bad_text(rng: random.Random, room: int = 60) -> bytes:
    half = room // 2
    return (
        random_text(rng, rng.randint(0, half))
        + rng.choice(BAD_UTF8)
        + random_text(rng, rng.randint(0, half))
    )


def _invalid_close_code(rng: random.Random) -> int:
    """A code no Close may carry (§7.4.1, §7.4.2): 0-999, 1004-1006, 1015-2999, 5000+."""
    low, high = rng.choice(((0, 999), (1004, 1006), (1015, 2999), (5000, 0xFFFF)))
    return rng.randint(low, high)


InvalidMaker = Callable[[random.Random], tuple[tuple[Frame, ...], str, frozenset[int]]]


def _rsv(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    bits = rng.randint(1, 7)
    frame = replace(_whole(rng), rsv1=bool(bits & 4), rsv2=bool(bits & 2), rsv3=bool(bits & 1))
    return (frame,), rules.RSV_MUST_BE_ZERO, FAIL_PROTOCOL


def _reserved_opcode(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    opcode = rng.choice(sorted(RESERVED_DATA_OPCODES | RESERVED_CONTROL_OPCODES))
    frame = Frame(opcode, rng.randbytes(rng.randint(0, 40)), mask=_key(rng))
    return (frame,), rules.RESERVED_OPCODE, FAIL_PROTOCOL


def _unmasked(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    return (replace(_whole(rng), mask=None),), rules.CLIENT_MUST_MASK, FAIL_PROTOCOL


def _long_control(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    opcode = rng.choice((Opcode.PING, Opcode.PONG, Opcode.CLOSE))
    size = rng.randint(MAX_CONTROL_PAYLOAD + 1, 1024)
    if opcode == Opcode.CLOSE:
        payload = close_payload(CloseCode.NORMAL_CLOSURE, random_text(rng, size - 2))
    else:
        payload = rng.randbytes(size)
    return (Frame(opcode, payload, mask=_key(rng)),), rules.CONTROL_PAYLOAD_MAX, FAIL_PROTOCOL


def _fragmented_control(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    while (frame := _whole(rng)).opcode not in (Opcode.PING, Opcode.PONG, Opcode.CLOSE):
        pass
    return (replace(frame, fin=False),), rules.CONTROL_NOT_FRAGMENTED, FAIL_PROTOCOL


def _close_one_byte(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    frame = Frame(Opcode.CLOSE, rng.randbytes(1), mask=_key(rng))
    return (frame,), rules.CLOSE_BODY_CODE, FAIL_PROTOCOL


def _close_code(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    code = _invalid_close_code(rng)
    rule = close_code_rule(code)
    assert rule is not None
    return (Frame(Opcode.CLOSE, close_payload(code), mask=_key(rng)),), rule, FAIL_PROTOCOL


def _close_reason(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    payload = close_payload(CloseCode.NORMAL_CLOSURE, _bad_text(rng))
    return (Frame(Opcode.CLOSE, payload, mask=_key(rng)),), rules.CLOSE_REASON_UTF8, FAIL_EITHER


def _text_utf8(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    frame = Frame(Opcode.TEXT, _bad_text(rng, 200), mask=_key(rng))
    return (frame,), rules.TEXT_UTF8, FAIL_UTF8


def _orphan_continuation(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    frame = Frame(Opcode.CONTINUATION, rng.randbytes(rng.randint(0, 40)), mask=_key(rng))
    return (frame,), rules.FRAGMENT_SEQUENCE, FAIL_PROTOCOL


def _interleaved(rng: random.Random) -> tuple[tuple[Frame, ...], str, frozenset[int]]:
    first, second = (rng.choice((Opcode.TEXT, Opcode.BINARY)) for _ in range(2))
    start = Frame(first, random_payload(rng, first, rng.randint(0, 40)), fin=False, mask=_key(rng))
    frame = Frame(second, random_payload(rng, second, rng.randint(0, 40)), mask=_key(rng))
    return (start, frame), rules.NO_INTERLEAVE, FAIL_PROTOCOL


INVALID_KINDS: Final[dict[str, InvalidMaker]] = {
    "rsv": _rsv,
    "reserved-opcode": _reserved_opcode,
    "unmasked": _unmasked,
    "long-control": _long_control,
    "fragmented-control": _fragmented_control,
    "close-1-byte": _close_one_byte,
    "close-code": _close_code,
    "close-reason-utf8": _close_reason,
    "text-utf8": _text_utf8,
    "orphan-continuation": _orphan_continuation,
    "interleaved": _interleaved,
}
"""One maker per broken rule: (frames, the rule the last one breaks, close codes allowed).

Not here: a non-minimal length and a 64-bit length with its MSB set. §5.2 binds the
sender ("the minimal number of bytes MUST be used", "the most significant bit MUST be
0") and, unlike RSV bits or unknown opcodes, names no reaction of the receiver; a
server that reads such a frame leniently breaks no sentence, so it must not be a
counterexample. The suite checks those rules on the frames the server sends."""


# --------------------------------------------------------------------------- scenarios


def _encode(frames: Sequence[Frame]) -> bytes:
    return b"".join(encode_frame(frame) for frame in frames)


def split_at(data: bytes, points: Sequence[int]) -> list[bytes]:
    """``data`` cut at ``points``; never an empty piece."""
    bounds = sorted({0, len(data), *(p for p in points if 0 < p < len(data))})
    return [data[lo:hi] for lo, hi in pairwise(bounds)] or [data]


@dataclass(frozen=True, slots=True)
class Scenario:
    """What one case sends after the opening handshake.

    ``frames`` (valid) go first, in TCP writes cut at ``splits``. For ``kind``
    "invalid", a Ping/Pong barrier follows, then ``offending`` cut at
    ``offending_splits``: its last frame breaks ``rule``; ``codes`` are the close codes
    the server may fail with.
    """

    kind: Kind
    frames: tuple[Frame, ...]
    splits: tuple[int, ...] = ()
    offending: tuple[Frame, ...] = ()
    offending_splits: tuple[int, ...] = ()
    rule: str = ""
    codes: frozenset[int] = frozenset()
    label: str = ""

    @property
    def data(self) -> bytes:
        return _encode(self.frames)

    @property
    def offending_data(self) -> bytes:
        return _encode(self.offending)

    @property
    def frame_count(self) -> int:
        return len(self.frames) + len(self.offending)

    @property
    def payload_size(self) -> int:
        return sum(len(f.payload) for f in (*self.frames, *self.offending))

    @property
    def writes(self) -> int:
        """TCP writes after the handshake, barrier aside."""
        data, offending = self.data, self.offending_data
        return (len(split_at(data, self.splits)) if data else 0) + (
            len(split_at(offending, self.offending_splits)) if offending else 0
        )

    @property
    def odd_bytes(self) -> int:
        """Payload bytes other than ``a``: what simplifying them to ``a`` would remove."""
        return sum(len(f.payload) - f.payload.count(b"a") for f in (*self.frames, *self.offending))

    def size(self) -> tuple[int, int, int, int]:
        """Shrinking order: fewest frames, shortest payloads, fewest writes, plainest bytes."""
        return (self.frame_count, self.payload_size, self.writes, self.odd_bytes)

    def describe(self) -> str:
        parts = [_describe_frame(f) for f in self.frames]
        if self.offending:
            parts.append("Ping/Pong barrier")
            parts += [_describe_frame(f) for f in self.offending]
        return " | ".join(parts) if parts else "(no frames)"


def _describe_frame(frame: Frame) -> str:
    try:
        name = Opcode(frame.opcode).name
    except ValueError:
        name = f"opcode {frame.opcode:#x}"
    flags = [] if frame.fin else ["FIN=0"]
    flags += [n.upper() for n in ("rsv1", "rsv2", "rsv3") if getattr(frame, n)]
    if frame.mask is None:
        flags.append("unmasked")
    if frame.length_form is not LengthForm.MINIMAL:
        flags.append(f"{frame.length_form.value}-bit length")
    if frame.length_msb:
        flags.append("length MSB set")
    shown = frame.payload[:16]
    more = "…" if len(frame.payload) > len(shown) else ""
    tags = f"({','.join(flags)})" if flags else ""
    return f"{name}[{len(frame.payload)}]{tags} {shown!r}{more}"


def generate(kind: Kind, seed: int, example: int) -> Scenario:
    """The ``example``-th random case of property ``kind`` for ``seed`` (deterministic)."""
    rng = random.Random(f"wsconform-fuzz/{seed}/{kind}/{example}")
    if kind == "echo":
        frames = tuple(random_messages(rng, rng.randint(1, MAX_MESSAGES)))
        return Scenario("echo", frames, _splits(rng, len(_encode(frames))))
    names = sorted(INVALID_KINDS)
    random.Random(f"wsconform-fuzz/{seed}/kinds/{example // len(names)}").shuffle(names)
    label = names[example % len(names)]  # every rule within each len(names) examples
    prefix = tuple(random_messages(rng, rng.randint(0, 2), max_size=4096))
    offending, rule, codes = INVALID_KINDS[label](rng)
    return Scenario(
        "invalid",
        prefix,
        _splits(rng, len(_encode(prefix))),
        offending,
        _splits(rng, len(_encode(offending))),
        rule,
        codes,
        label,
    )


@dataclass(frozen=True, slots=True)
class Expected:
    """What the model reads in the valid frames: the messages and the Ping payloads."""

    messages: tuple[Message, ...]
    pings: tuple[bytes, ...]


def expected(scenario: Scenario) -> Expected | None:
    """The model's reading of the scenario, or None if it is not what it claims to be.

    Valid frames must break no rule and end between messages; the offending frames
    must break exactly ``rule``, and only after the valid frames.
    """
    stream = PeerStream(peer="client")
    events = stream.feed(scenario.data)
    if stream.violations or stream.message_in_progress or stream.close_received:
        return None
    if scenario.kind == "invalid":
        start = len(scenario.data)
        broken = [e for e in stream.feed(scenario.offending_data) if isinstance(e, Violation)]
        if not broken or {v.requirement for v in broken} != {scenario.rule}:
            return None
        if any(v.offset is not None and v.offset < start for v in broken):
            return None
    return Expected(
        tuple(e for e in events if isinstance(e, Message)),
        tuple(e.payload for e in events if isinstance(e, PingReceived)),
    )


# --------------------------------------------------------------------------- judging


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a case failed: ``signature`` groups failures that shrinking must keep."""

    signature: str
    text: str


def _show(data: bytes) -> str:
    head = data[:24]
    unit = "byte" if len(data) == 1 else "bytes"
    return f"{len(data)} {unit} {head!r}{'…' if len(data) > len(head) else ''}"


def _kind_name(opcode: int) -> str:
    names: dict[int, str] = {Opcode.TEXT: "text", Opcode.BINARY: "binary"}
    return names.get(opcode, f"opcode {opcode:#x}")


def _first_difference(a: bytes, b: bytes) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def _is_subsequence(seen: Sequence[bytes], sent: Sequence[bytes]) -> bool:
    remaining = iter(sent)
    return all(any(item == candidate for candidate in remaining) for item in seen)


def judge_echo(want: Expected, seen: Observed) -> Problem | None:
    """Every message echoed unchanged and in order (§5.4, §5.6); Pongs echo Pings (§5.5.3)."""
    got = seen.messages
    for index, message in enumerate(want.messages):
        if index >= len(got):
            return Problem(
                "echo-missing",
                f"message #{index + 1} ({_kind_name(message.opcode)}, {len(message.data)} bytes) "
                f"was not echoed; {len(got)} of {len(want.messages)} came back",
            )
        opcode, data = got[index]
        if (opcode, data) != (message.opcode, message.data):
            at = _first_difference(data, message.data)
            return Problem(
                "echo-wrong",
                f"message #{index + 1}: sent {_kind_name(message.opcode)} of "
                f"{_show(message.data)}, echoed {_kind_name(opcode)} of {_show(data)} "
                f"(first difference at byte {at})",
            )
    if len(got) > len(want.messages):
        return Problem("echo-extra", f"{len(got) - len(want.messages)} message(s) more than sent")
    if not _is_subsequence(seen.pongs, want.pings):
        return Problem(
            "pong", f"Pong data {[p[:16] for p in seen.pongs]!r} is not the data of the Pings sent"
        )
    if seen.violations:
        return Problem("frames", f"the server's frames break a rule: {seen.violations[0]}")
    if seen.close is not None and not seen.close.reply:
        return Problem("closed", f"the server closed valid traffic: {seen.close.describe()}")
    if seen.timed_out:
        return Problem("timeout", "no Pong for the barrier Ping before the deadline (§5.5.2)")
    return None


def judge_failure(scenario: Scenario, seen: Observed, late_ok: bool = False) -> Problem | None:
    """_Fail the WebSocket Connection_ (§7.1.7): Close 1002/1007 or TCP close, no Pong.

    ``late_ok``: the offence may be found late (invalid UTF-8, §8.1), so a Pong for a
    later Ping is no problem as long as the server then fails with a right code.
    """
    late = late_ok and seen.close is not None and seen.close.code in scenario.codes
    if seen.continued and not late:
        return Problem(
            "continued",
            "the server answered a Ping sent after the offending frame: "
            "it went on processing (§7.1.7)",
        )
    close = seen.close
    codes = "/".join(str(c) for c in sorted(scenario.codes))
    if close is not None and close.code not in scenario.codes:
        return Problem("code", f"{close.describe()}, expected a Close with {codes}")
    if close is None and seen.transport is TransportEnd.OPEN:
        return Problem(
            "open",
            "neither a Close nor a TCP close before the deadline: the connection was not failed",
        )
    return None


# --------------------------------------------------------------------------- running


@dataclass(frozen=True, slots=True)
class Trial:
    """One run of a scenario against the server."""

    problem: Problem | None
    error: str | None
    sent: bytes
    received: bytes
    sent_total: int
    received_total: int
    duration_s: float


async def _send_writes(session: WireSession, data: bytes, splits: Sequence[int]) -> None:
    if data:
        for piece in split_at(data, splits):
            if not await session.send(piece):
                return


async def _observe(session: WireSession, scenario: Scenario, want: Expected) -> Problem | None:
    await _send_writes(session, scenario.data, scenario.splits)
    session.messages_sent += len(want.messages)  # sent as raw bytes: count them here
    if scenario.kind == "echo":
        return judge_echo(want, await watch_echo(session))
    if not await session.settle():  # the echoes themselves are the echo property's
        return Problem(
            "prefix", "no Pong for a Ping sent after the valid frames, before any invalid one"
        )
    await _send_writes(session, scenario.offending_data, scenario.offending_splits)
    late_ok = scenario.rule == rules.TEXT_UTF8  # §8.1: found when "finds", no time given
    return judge_failure(scenario, await watch_failure(session, patient=late_ok), late_ok)


async def run_scenario(target: Target, scenario: Scenario, timeout: float) -> Trial:
    """Send ``scenario`` on a fresh connection and judge what comes back.

    Never raises for anything the server does; a scenario the model rejects (not valid
    traffic, or not exactly one broken rule) is a :class:`ValueError`.
    """
    want = expected(scenario)
    if want is None:
        raise ValueError(f"not a {scenario.kind} scenario: {scenario.describe()}")
    loop = asyncio.get_running_loop()
    started = loop.time()
    ctx = CaseContext(target, started + timeout)
    problem: Problem | None = None
    error: str | None = None
    try:
        async with asyncio.timeout_at(ctx.deadline + GRACE):
            session = await WireSession.open(ctx)
            problem = await _observe(session, scenario, want)
    except (CannotRun, Unreachable) as exc:
        error = str(exc)
    except (DeadlineExceeded, TimeoutError):
        problem = Problem("timeout", f"the case did not finish within its {timeout:g}s deadline")
    except Exception as exc:  # a bug in the suite: report it, keep fuzzing
        error = f"suite error: {type(exc).__name__}: {exc}"
    finally:
        await ctx.close_all()
    record = ctx.transcript
    return Trial(
        problem,
        error,
        bytes(record.sent),
        bytes(record.received),
        record.sent_total,
        record.received_total,
        round(loop.time() - started, 4),
    )


# --------------------------------------------------------------------------- shrinking


def _without(frames: tuple[Frame, ...], start: int, stop: int) -> tuple[Frame, ...]:
    return frames[:start] + frames[stop:]


def _fewer_frames(frames: tuple[Frame, ...]) -> Iterator[tuple[Frame, ...]]:
    """Delete runs of frames, largest first (delta debugging)."""
    size = len(frames)
    run = size
    while run >= 1:
        for start in range(0, size - run + 1):
            yield _without(frames, start, start + run)
        run //= 2


def _merged(frames: tuple[Frame, ...]) -> Iterator[tuple[Frame, ...]]:
    """Join a fragment with the next one (§5.4: fewer frames, same message)."""
    for i in range(len(frames) - 1):
        first, second = frames[i], frames[i + 1]
        if first.is_control or second.opcode != Opcode.CONTINUATION or first.fin:
            continue
        joined = replace(first, payload=first.payload + second.payload, fin=second.fin)
        yield (*frames[:i], joined, *frames[i + 2 :])


def _cut_lengths(size: int) -> list[int]:
    targets = [0, size // 2, size * 3 // 4, size - 1]
    out: list[int] = []
    for target in targets:
        for n in range(target, max(target - 4, -1), -1):  # a UTF-8 character boundary nearby
            if 0 <= n < size and n not in out:
                out.append(n)
    return out


def _shorter(frames: tuple[Frame, ...]) -> Iterator[tuple[Frame, ...]]:
    """Each payload cut at its end, then at its start, to 0, 1/2, 3/4 and all but 1 byte."""
    for i, frame in enumerate(frames):
        payload = frame.payload
        cuts = _cut_lengths(len(payload))
        kept = [payload[:n] for n in cuts] + [payload[len(payload) - n :] for n in cuts if n]
        for shorter in dict.fromkeys(kept):
            yield (*frames[:i], replace(frame, payload=shorter), *frames[i + 1 :])


def _plainer(frames: tuple[Frame, ...]) -> Iterator[tuple[Frame, ...]]:
    """Payloads made of ``a`` only: valid text and binary alike, easy to read.

    All at once first: a character cut across fragments only goes away that way.
    """
    data_frames = [f for f in frames if not f.is_control]
    if len(data_frames) > 1:
        yield tuple(
            f if f.is_control else replace(f, payload=b"a" * len(f.payload)) for f in frames
        )
    for i, frame in enumerate(frames):
        plain = b"a" * len(frame.payload)
        if frame.payload != plain:
            yield (*frames[:i], replace(frame, payload=plain), *frames[i + 1 :])


def _fewer_splits(splits: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    if splits:
        yield ()
        yield splits[: len(splits) // 2]
        for i in range(len(splits)):
            yield splits[:i] + splits[i + 1 :]


def _fit(splits: tuple[int, ...], frames: tuple[Frame, ...]) -> tuple[int, ...]:
    size = len(_encode(frames))
    return tuple(p for p in splits if p < size)


def candidates(s: Scenario) -> Iterator[Scenario]:
    """Simpler scenarios, most aggressive first: fewer frames, shorter payloads, fewer writes."""
    for frames in (*_fewer_frames(s.frames), *_merged(s.frames)):
        yield replace(s, frames=frames, splits=_fit(s.splits, frames))
    for offending in (*_fewer_frames(s.offending), *_merged(s.offending)):
        yield replace(s, offending=offending, offending_splits=_fit(s.offending_splits, offending))
    for frames in _shorter(s.frames):
        yield replace(s, frames=frames, splits=_fit(s.splits, frames))
    for offending in _shorter(s.offending):
        yield replace(s, offending=offending, offending_splits=_fit(s.offending_splits, offending))
    for splits in _fewer_splits(s.splits):
        yield replace(s, splits=splits)
    for splits in _fewer_splits(s.offending_splits):
        yield replace(s, offending_splits=splits)
    for frames in _plainer(s.frames):
        yield replace(s, frames=frames)
    for offending in _plainer(s.offending):
        yield replace(s, offending=offending)


@dataclass(slots=True)
class Shrunk:
    """The smallest scenario found that still fails the same way, and how it was found."""

    scenario: Scenario
    trial: Trial
    steps: int = 0
    runs: int = 0
    exhausted: bool = False  # the run or time budget ran out before a fixed point


async def shrink(
    target: Target,
    scenario: Scenario,
    trial: Trial,
    *,
    timeout: float,
    max_runs: int = SHRINK_RUNS,
    max_seconds: float | None = None,
) -> Shrunk:
    """Greedy shrinking: take the first simpler candidate that fails with the same signature."""
    assert trial.problem is not None
    signature = trial.problem.signature
    best = Shrunk(scenario, trial)
    budget = max_seconds if max_seconds is not None else max(30.0, timeout * max_runs / 10)
    stop_at = time.monotonic() + budget
    improved = True
    while improved:
        improved = False
        tried: set[Scenario] = set()
        for candidate in candidates(best.scenario):
            if candidate.size() >= best.scenario.size() or candidate in tried:
                continue
            tried.add(candidate)
            if expected(candidate) is None:
                continue
            if best.runs >= max_runs or time.monotonic() >= stop_at:
                best.exhausted = True
                return best
            best.runs += 1
            result = await run_scenario(target, candidate, timeout)
            if result.problem is not None and result.problem.signature == signature:
                best.scenario, best.trial = candidate, result
                best.steps += 1
                improved = True
                break
    return best


# --------------------------------------------------------------------------- reports


@dataclass(slots=True)
class FuzzRun:
    """A fuzzing run: the report (one result per example) and the counterexamples."""

    report: RunReport
    seed: int
    counterexamples: list[CaseResult] = field(default_factory=list)


TITLES: Final = {
    "echo": "random messages, fragmented and cut into random TCP writes, come back unchanged",
    "invalid": "a random invalid frame fails the connection",
}
EXPECTED: Final = {
    "echo": "every message echoed unchanged and in order, each Pong carrying a Ping's data, "
    "a Pong for the barrier Ping, no Close from the server",
    "invalid": "_Fail the WebSocket Connection_: a Close with {codes} or a TCP close, "
    "and no Pong for a Ping sent after the offending frame",
}


def reproduce_command(target_args: Sequence[str], seed: int, example: int) -> str:
    """The command that re-runs examples 0..``example`` (each is drawn from the seed alone)."""
    return shlex.join(
        ["wsconform", "fuzz", *target_args, "--seed", str(seed), "--examples", str(example + 1)]
    )


def _hex_note(label: str, data: bytes) -> str:
    shown = data[:HEX_LIMIT].hex()
    more = f" … {len(data) - HEX_LIMIT} more bytes" if len(data) > HEX_LIMIT else ""
    return f"{label} ({len(data)} bytes, hex): {shown}{more}" if data else f"{label}: (no bytes)"


def _writes_note(label: str, data: bytes, splits: Sequence[int]) -> str:
    pieces = split_at(data, splits)
    sizes = ", ".join(str(len(p)) for p in pieces)
    return f"{label}: {len(pieces)} TCP write(s) of {sizes} bytes"


def case_result(
    kind: Kind,
    example: int,
    scenario: Scenario,
    trial: Trial,
    *,
    seed: int,
    target_args: Sequence[str],
    shrunk: Shrunk | None = None,
    original: Scenario | None = None,
) -> CaseResult:
    """One example as a report row; a counterexample carries the exact bytes sent."""
    outcome = Outcome.PASS
    actual = "as expected"
    if trial.error is not None:
        outcome, actual = Outcome.ERROR, trial.error
    elif trial.problem is not None:
        outcome, actual = Outcome.FAIL, trial.problem.text
    label = f" ({scenario.label})" if scenario.label else ""
    requirements = ECHO_REQUIREMENTS if kind == "echo" else (scenario.rule, FAIL_REQUIREMENT)
    codes = "/".join(str(c) for c in sorted(scenario.codes))
    notes = [f"seed {seed}, example {example}: {(original or scenario).describe()}"]
    if outcome is Outcome.FAIL:
        if shrunk is not None and original is not None:
            before = "{} frames, {} payload bytes, {} writes".format(*original.size()[:3])
            after = "{} frames, {} payload bytes, {} writes".format(*scenario.size()[:3])
            budget = " (stopped: budget spent)" if shrunk.exhausted else ""
            notes.append(
                f"shrunk in {shrunk.steps} steps ({shrunk.runs} runs){budget}: "
                f"from {before} to {after}: {scenario.describe()}"
            )
        if scenario.frames:
            notes.append(_hex_note("bytes sent after the handshake", scenario.data))
            notes.append(_writes_note("cut into", scenario.data, scenario.splits))
        if scenario.offending:
            notes.append(_hex_note("then, after a Ping/Pong barrier", scenario.offending_data))
            notes.append(
                _writes_note("cut into", scenario.offending_data, scenario.offending_splits)
            )
    return CaseResult(
        id=f"fuzz/{kind}/{example}",
        title=TITLES[kind] + label,
        outcome=outcome,
        level=Level.MUST,
        requirements=requirements,
        expected=EXPECTED[kind].format(codes=codes),
        actual=actual,
        duration_s=trial.duration_s,
        sent=trial.sent,
        received=trial.received,
        sent_total=trial.sent_total,
        received_total=trial.received_total,
        notes=tuple(notes),
        reproduce=reproduce_command(target_args, seed, example),
    )


async def fuzz(
    target: Target,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int = 4,
    kinds: Sequence[Kind] = ("echo", "invalid"),
    target_args: Sequence[str] = (),
    shrink_runs: int = SHRINK_RUNS,
    progress: Callable[[CaseResult], None] | None = None,
) -> FuzzRun:
    """Check each property on ``examples`` random cases; shrink the first failure of each."""
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    await check_reachable(target, timeout)
    gate = asyncio.Semaphore(max(1, jobs))
    run = FuzzRun(RunReport(target_url=target.url, started_at=started_at), seed)

    async def one(kind: Kind, example: int) -> tuple[Scenario, Trial]:
        scenario = generate(kind, seed, example)
        async with gate:
            return scenario, await run_scenario(target, scenario, timeout)

    for kind in kinds:
        trials = await asyncio.gather(*(one(kind, n) for n in range(examples)))
        results: list[CaseResult] = []
        first = next((n for n, (_, t) in enumerate(trials) if t.problem and not t.error), None)
        for n, (scenario, trial) in enumerate(trials):
            if n == first:
                shrunk = await shrink(
                    target, scenario, trial, timeout=timeout, max_runs=shrink_runs
                )
                result = case_result(
                    kind,
                    n,
                    shrunk.scenario,
                    shrunk.trial,
                    seed=seed,
                    target_args=target_args,
                    shrunk=shrunk,
                    original=scenario,
                )
                run.counterexamples.append(result)
            else:
                result = case_result(kind, n, scenario, trial, seed=seed, target_args=target_args)
            results.append(result)
            if progress is not None:
                progress(result)
        run.report.results += results
    run.report.duration_s = round(time.perf_counter() - clock, 3)
    return run
