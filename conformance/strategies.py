"""Hypothesis strategies for WebSocket traffic, valid and deliberately broken (RFC 6455).

Public API, for property tests of the model or of any WebSocket implementation::

    from conformance.strategies import valid_frames, broken_frames, traffic, chunkings

* frames: :func:`valid_frames`, :func:`invalid_frames`, :func:`broken_frames` (each
  breaking exactly one rule of §5, labelled with its requirement id);
* messages: :func:`payloads`, :func:`text_payloads`, :func:`messages`,
  :func:`fragmentations`, :func:`fragmented_messages`, :func:`traffic`;
* TCP: :func:`chunkings` (split points, for
  :func:`conformance.model.random_traffic.split_at`);
* Close (§5.5.1, §7.4): :func:`valid_close_codes`, :func:`invalid_close_codes`,
  :func:`close_reasons`, :func:`invalid_utf8`, :func:`close_bodies`;
* the opening handshake (§4.1, §4.2.1): in :mod:`conformance.handshake_strategies`.

``role`` names the sender: ``"client"`` frames are masked (§5.1), ``"server"`` ones not.
Hypothesis is an optional dependency: ``pip install ws-conformance[fuzz]``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Final

from .model import rules
from .model.codec import close_payload, encode_frame
from .model.constants import (
    MAX_7BIT_LENGTH,
    MAX_16BIT_LENGTH,
    MAX_CONTROL_PAYLOAD,
    PRIVATE_RANGE,
    REGISTERED_RANGE,
    RESERVED_CONTROL_OPCODES,
    RESERVED_DATA_OPCODES,
    SENDABLE_PROTOCOL_CLOSE_CODES,
    Opcode,
)
from .model.decoder import Message, Peer, close_code_rule
from .model.frames import Frame, LengthForm
from .model.random_traffic import (
    FAIL_PROTOCOL,
    INVALID_CLOSE_CODE_RANGES,
    failure_codes,
    random_text,
)
from .model.utf8 import NOT_UTF8_SEQUENCES
from .optional_hypothesis import strategies as st

__all__ = [
    "DEFAULT_MAX_SIZE",
    "MAX_REASON_BYTES",
    "BrokenFrame",
    "Fragmented",
    "Traffic",
    "broken_frames",
    "chunkings",
    "close_bodies",
    "close_reasons",
    "fragmentations",
    "fragmented_messages",
    "invalid_close_codes",
    "invalid_frames",
    "invalid_utf8",
    "masking_keys",
    "messages",
    "payloads",
    "text_payloads",
    "traffic",
    "valid_close_codes",
    "valid_frames",
]

S = st.SearchStrategy

DEFAULT_MAX_SIZE: Final = 64 * 1024
"""Largest payload drawn by default: past the 16-bit length form (§5.2)."""

SMALL: Final = 160
"""Payloads up to this size are drawn byte by byte; larger ones from a seeded filler."""

MAX_REASON_BYTES: Final = MAX_CONTROL_PAYLOAD - 2
"""A reason fits a control frame after the 2-byte code: 123 bytes (§5.5, §5.5.1)."""

LENGTH_BOUNDARIES: Final = (0, 1, 125, 126, 127, 65535, 65536, 65537)
"""Payload sizes at the edges of the 7-, 16- and 64-bit length forms (§5.2)."""

DATA_OPCODES: Final = (Opcode.TEXT, Opcode.BINARY)
CONTROL_OPCODES: Final = (Opcode.PING, Opcode.PONG, Opcode.CLOSE)

# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Fragmented:
    """``message`` sent as ``frames``: its fragments (§5.4) and any Pings between them."""

    message: Message
    frames: tuple[Frame, ...]
    pings: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class Traffic:
    """Valid traffic: ``frames`` carry ``messages`` in order and Pings with ``pings``."""

    messages: tuple[Message, ...]
    frames: tuple[Frame, ...]
    pings: tuple[bytes, ...]

    def encode(self) -> bytes:
        return b"".join(encode_frame(frame) for frame in self.frames)


@dataclass(frozen=True, slots=True)
class BrokenFrame:
    """``frame``, sent after the valid ``prefix``, breaks exactly ``rule`` (a requirement id).

    ``codes`` are the close codes a receiver may _Fail the WebSocket Connection_ with
    (§7.1.7, §7.4.1): 1007 for invalid UTF-8 text (§8.1), 1002 otherwise.
    """

    frame: Frame
    rule: str
    codes: frozenset[int] = FAIL_PROTOCOL
    prefix: tuple[Frame, ...] = ()

    @classmethod
    def breaking(cls, frame: Frame, rule: str, prefix: tuple[Frame, ...] = ()) -> BrokenFrame:
        """``frame`` breaking ``rule``, with the close codes that rule allows."""
        return cls(frame, rule, failure_codes(rule), prefix)

    @property
    def frames(self) -> tuple[Frame, ...]:
        return (*self.prefix, self.frame)

    def encode(self) -> bytes:
        return b"".join(encode_frame(frame) for frame in self.frames)


# --------------------------------------------------------------------------- bytes


def _filler(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _sizes(min_size: int, max_size: int) -> S[int]:
    edges = [n for n in LENGTH_BOUNDARIES if min_size <= n <= max_size]
    ranged = st.integers(min_size, max_size)
    return st.one_of(ranged, st.sampled_from(edges)) if edges else ranged


def payloads(min_size: int = 0, max_size: int = DEFAULT_MAX_SIZE) -> S[bytes]:
    """Binary application data of ``min_size`` to ``max_size`` bytes, length edges included."""
    small = st.binary(min_size=min_size, max_size=min(max_size, SMALL))
    if max_size <= SMALL:
        return small
    large = st.builds(_filler, _sizes(max(min_size, SMALL + 1), max_size), st.integers(0, 2**32))
    return st.one_of(small, large)


def _seeded_text(size: int, seed: int) -> bytes:
    return random_text(random.Random(seed), size)


def text_payloads(min_size: int = 0, max_size: int = DEFAULT_MAX_SIZE) -> S[bytes]:
    """Valid UTF-8 text (§5.6) of ``min_size`` to ``max_size`` bytes."""
    chars = st.text(max_size=min(max_size, SMALL) // 4).map(str.encode)
    small = chars.filter(lambda b: len(b) >= min_size) if min_size else chars
    large = st.builds(_seeded_text, _sizes(min_size, max_size), st.integers(0, 2**32))
    return st.one_of(small, large)


_BAD_SEQUENCES: Final = NOT_UTF8_SEQUENCES


def invalid_utf8(max_size: int = SMALL) -> S[bytes]:
    """Bytes that are not valid UTF-8 (RFC 3629 §4): valid text around one bad sequence."""
    around = text_payloads(max_size=max(0, (max_size - 4) // 2))
    made = st.builds(lambda a, bad, b: a + bad + b, around, st.sampled_from(_BAD_SEQUENCES), around)
    return made.filter(lambda data: len(data) <= max_size and not _is_utf8(data))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def masking_keys() -> S[bytes]:
    """A 32-bit masking key (§5.3)."""
    return st.binary(min_size=4, max_size=4)


def _mask(role: Peer) -> S[bytes | None]:
    return masking_keys() if role == "client" else st.none()


# --------------------------------------------------------------------------- close


def valid_close_codes() -> S[int]:
    """Codes an endpoint may send (§7.4.1, §7.4.2): 1000-1003, 1007-1014, 3000-4999."""
    return st.one_of(
        st.sampled_from(sorted(SENDABLE_PROTOCOL_CLOSE_CODES)),
        st.integers(REGISTERED_RANGE.start, PRIVATE_RANGE.stop - 1),
    )


def invalid_close_codes() -> S[int]:
    """Codes no Close frame may carry (§7.4.1, §7.4.2): 0-999, 1004-1006, 1015,
    1016-2999 (unassigned) and 5000-65535 (no range defines them)."""
    return st.one_of(*(st.integers(low, high) for low, high in INVALID_CLOSE_CODE_RANGES))


def close_reasons(max_size: int = MAX_REASON_BYTES) -> S[bytes]:
    """A UTF-8 reason of at most ``max_size`` bytes (default 123, §5.5, §5.5.1)."""
    return text_payloads(max_size=max_size).filter(lambda b: len(b) <= max_size)


def close_bodies() -> S[bytes]:
    """A valid Close body: empty, or a valid code and a UTF-8 reason (§5.5.1)."""
    coded = st.builds(close_payload, valid_close_codes(), close_reasons())
    return st.one_of(st.just(b""), coded)


# --------------------------------------------------------------------------- frames


def _control_payload(opcode: int) -> S[bytes]:
    if opcode == Opcode.CLOSE:
        return close_bodies()
    return payloads(max_size=MAX_CONTROL_PAYLOAD)


def _data_frames(
    role: Peer, opcodes: Sequence[int], max_size: int, fins: S[bool] | None = None
) -> S[Frame]:
    def one(opcode: int) -> S[Frame]:
        data = text_payloads(max_size=max_size) if opcode == Opcode.TEXT else payloads(0, max_size)
        fin = st.booleans() if fins is None else fins
        return st.builds(Frame, st.just(opcode), data, fin=fin, mask=_mask(role))

    return st.one_of(*(one(opcode) for opcode in opcodes))


def _control_frames(role: Peer, opcodes: Sequence[int] = CONTROL_OPCODES) -> S[Frame]:
    return st.one_of(
        *(st.builds(Frame, st.just(op), _control_payload(op), mask=_mask(role)) for op in opcodes)
    )


def valid_frames(role: Peer = "client", *, max_size: int = DEFAULT_MAX_SIZE) -> S[Frame]:
    """Any frame whose header and payload break no rule of §5 (taken on its own).

    Opcodes 0-2 and 8-A, RSV bits clear, minimal lengths, masked iff ``role`` is
    "client"; control frames are final and at most 125 bytes, Close bodies valid;
    text payloads are valid UTF-8.
    """
    data = _data_frames(role, (Opcode.CONTINUATION, *DATA_OPCODES), max_size)
    return st.one_of(data, _control_frames(role))


def _standalone_frames(role: Peer, max_size: int = SMALL) -> S[Frame]:
    """Frames valid as the first frame of a stream: whole messages and control frames."""
    data = _data_frames(role, DATA_OPCODES, max_size, fins=st.just(True))
    return st.one_of(data, _control_frames(role))


def _with_rsv(frame: Frame, bits: int) -> Frame:
    return replace(frame, rsv1=bool(bits & 4), rsv2=bool(bits & 2), rsv3=bool(bits & 1))


def _non_minimal(frame: Frame, wide: bool) -> Frame:
    size = len(frame.payload)
    if size > MAX_16BIT_LENGTH:
        raise ValueError("every form is minimal for a payload over 65535 bytes")
    form = LengthForm.BITS16 if size <= MAX_7BIT_LENGTH and not wide else LengthForm.BITS64
    return replace(frame, length_form=form)


def _wrong_mask(role: Peer, frame: Frame, key: bytes) -> Frame:
    return replace(frame, mask=None if role == "client" else key)


def broken_frames(role: Peer = "client", *, standalone: bool = False) -> S[BrokenFrame]:
    """A frame breaking exactly one rule of RFC 6455 §5 (or §8.1), labelled with it.

    RSV bits without an extension (§5.2), reserved opcodes (§5.2), non-minimal and
    MSB-set lengths (§5.2), wrong masking for ``role`` (§5.1), fragmented and over-long
    control frames (§5.4, §5.5), bad Close bodies (§5.5.1, §7.4), invalid UTF-8 text
    (§5.6, §8.1), a continuation with no message and an interleaved data frame (§5.4).
    ``standalone`` leaves out the ones that need a prefix frame.
    """
    base = _standalone_frames(role)
    keys = masking_keys()
    mask = _mask(role)
    reason_room = MAX_CONTROL_PAYLOAD - 1  # so 2 + reason > 125

    def close_frame(body: S[bytes], fin: bool = True) -> S[Frame]:
        return st.builds(Frame, st.just(Opcode.CLOSE), body, fin=st.just(fin), mask=mask)

    def bad_code(code: int) -> BrokenFrame:
        rule = close_code_rule(code)
        assert rule is not None
        return BrokenFrame(Frame(Opcode.CLOSE, close_payload(code), mask=None), rule)

    kinds: list[S[BrokenFrame]] = [
        st.builds(
            lambda f, bits: BrokenFrame(_with_rsv(f, bits), rules.RSV_MUST_BE_ZERO),
            base,
            st.integers(1, 7),
        ),
        st.builds(
            lambda op, data, key: BrokenFrame(Frame(op, data, mask=key), rules.RESERVED_OPCODE),
            st.sampled_from(sorted(RESERVED_DATA_OPCODES | RESERVED_CONTROL_OPCODES)),
            payloads(max_size=MAX_CONTROL_PAYLOAD),
            mask,
        ),
        st.builds(
            lambda f, wide: BrokenFrame(_non_minimal(f, wide), rules.MINIMAL_LENGTH),
            base,
            st.booleans(),
        ),
        st.builds(
            lambda f: BrokenFrame.breaking(replace(f, length_msb=True), rules.LENGTH_MSB_ZERO),
            _data_frames(role, DATA_OPCODES, SMALL, fins=st.just(True)),
        ),
        st.builds(
            lambda f, key: BrokenFrame(
                _wrong_mask(role, f, key),
                rules.CLIENT_MUST_MASK if role == "client" else rules.SERVER_MUST_NOT_MASK,
            ),
            base,
            keys,
        ),
        st.builds(
            lambda op, data, key: BrokenFrame(Frame(op, data, mask=key), rules.CONTROL_PAYLOAD_MAX),
            st.sampled_from((Opcode.PING, Opcode.PONG)),
            payloads(MAX_CONTROL_PAYLOAD + 1, 1024),
            mask,
        ),
        st.builds(
            lambda f: BrokenFrame(f, rules.CONTROL_PAYLOAD_MAX),
            close_frame(
                st.builds(close_payload, valid_close_codes(), text_payloads(reason_room, 512))
            ),
        ),
        st.builds(
            lambda f: BrokenFrame(replace(f, fin=False), rules.CONTROL_NOT_FRAGMENTED),
            _control_frames(role),
        ),
        st.builds(
            lambda f: BrokenFrame(f, rules.CLOSE_BODY_CODE),
            close_frame(st.binary(min_size=1, max_size=1)),
        ),
        st.builds(
            lambda b, key: replace(b, frame=replace(b.frame, mask=key)),
            invalid_close_codes().map(bad_code),
            mask,
        ),
        st.builds(
            lambda f: BrokenFrame.breaking(f, rules.CLOSE_REASON_UTF8),
            close_frame(
                st.builds(close_payload, valid_close_codes(), invalid_utf8(MAX_REASON_BYTES))
            ),
        ),
        st.builds(
            lambda data, key: BrokenFrame.breaking(
                Frame(Opcode.TEXT, data, mask=key), rules.TEXT_UTF8
            ),
            invalid_utf8(),
            mask,
        ),
        st.builds(
            lambda data, fin, key: BrokenFrame(
                Frame(Opcode.CONTINUATION, data, fin=fin, mask=key), rules.FRAGMENT_SEQUENCE
            ),
            payloads(max_size=SMALL),
            st.booleans(),
            mask,
        ),
    ]
    if not standalone:
        first = _data_frames(role, DATA_OPCODES, SMALL, fins=st.just(False))
        kinds.append(
            st.builds(
                lambda start, f: BrokenFrame(f, rules.NO_INTERLEAVE, prefix=(start,)),
                first,
                _data_frames(role, DATA_OPCODES, SMALL),
            )
        )
    return st.one_of(*kinds)


def invalid_frames(role: Peer = "client") -> S[Frame]:
    """A single frame that breaks one rule of §5 (see :func:`broken_frames`)."""
    return broken_frames(role, standalone=True).map(lambda broken: broken.frame)


# --------------------------------------------------------------------------- messages


def messages(
    min_size: int = 0, max_size: int = DEFAULT_MAX_SIZE, *, opcodes: Sequence[int] = DATA_OPCODES
) -> S[Message]:
    """A text (valid UTF-8) or binary message of ``min_size`` to ``max_size`` bytes (§5.6)."""

    def one(opcode: int) -> S[Message]:
        data = text_payloads if opcode == Opcode.TEXT else payloads
        return st.builds(Message, st.just(opcode), data(min_size, max_size))

    return st.one_of(*(one(opcode) for opcode in opcodes))


def _cuts(size: int, max_fragments: int) -> S[list[int]]:
    if size == 0 or max_fragments < 2:
        return st.just([])
    points = st.lists(st.integers(0, size), max_size=max_fragments - 1)
    return points.map(sorted)


def fragmentations(
    message: Message,
    *,
    role: Peer = "client",
    max_fragments: int = 8,
    pings: bool = False,
) -> S[Fragmented]:
    """``message`` cut into 1 to ``max_fragments`` frames, empty fragments included (§5.4).

    Text may be cut inside a character: only the whole message must be UTF-8 (§8.1).
    With ``pings``, Pings (payload <= 125 bytes) are injected between the frames (§5.4:
    "Control frames ... MAY be injected in the middle of a fragmented message").
    """
    size = len(message.data)

    def build(
        cuts: list[int], keys: list[bytes | None], injected: list[tuple[int, bytes]]
    ) -> Fragmented:
        bounds = [0, *cuts, size]
        parts = [message.data[lo:hi] for lo, hi in pairwise(bounds)]
        frames: list[Frame] = []
        for index, part in enumerate(parts):
            opcode = message.opcode if index == 0 else Opcode.CONTINUATION
            key = keys[index % len(keys)]
            frames.append(Frame(opcode, part, fin=index == len(parts) - 1, mask=key))
        sent: list[bytes] = []
        for position, payload in sorted(injected, key=lambda item: item[0]):
            at = min(position, len(frames)) + len(sent)
            frames.insert(at, Frame(Opcode.PING, payload, mask=keys[0]))
            sent.append(payload)
        # Pings sent in frame order: re-read them from the frames themselves.
        ordered = tuple(f.payload for f in frames if f.opcode == Opcode.PING)
        return Fragmented(message, tuple(frames), ordered)

    key_lists = st.lists(_mask(role), min_size=1, max_size=max_fragments)
    injected = (
        st.lists(
            st.tuples(st.integers(0, max_fragments), payloads(max_size=MAX_CONTROL_PAYLOAD)),
            max_size=3,
        )
        if pings
        else st.just([])
    )
    return st.builds(build, _cuts(size, max_fragments), key_lists, injected)


def fragmented_messages(
    min_size: int = 0,
    max_size: int = DEFAULT_MAX_SIZE,
    *,
    role: Peer = "client",
    max_fragments: int = 8,
    pings: bool = False,
) -> S[Fragmented]:
    """A :func:`messages` draw with one of its :func:`fragmentations`."""
    return messages(min_size, max_size).flatmap(
        lambda message: fragmentations(message, role=role, max_fragments=max_fragments, pings=pings)
    )


def traffic(
    *,
    role: Peer = "client",
    max_messages: int = 4,
    max_size: int = 4096,
    max_fragments: int = 6,
    pings: bool = True,
) -> S[Traffic]:
    """Valid traffic: up to ``max_messages`` fragmented messages with Pings in between."""

    def join(parts: list[Fragmented]) -> Traffic:
        return Traffic(
            tuple(p.message for p in parts),
            tuple(f for p in parts for f in p.frames),
            tuple(ping for p in parts for ping in p.pings),
        )

    one = fragmented_messages(
        max_size=max_size, role=role, max_fragments=max_fragments, pings=pings
    )
    return st.lists(one, max_size=max_messages).map(join)


# --------------------------------------------------------------------------- TCP


def chunkings(size: int, *, max_chunks: int = 16) -> S[list[int]]:
    """Split points of a ``size``-byte stream into at most ``max_chunks`` TCP writes."""
    if size < 2 or max_chunks < 2:
        return st.just([])
    points = st.lists(st.integers(1, size - 1), unique=True, max_size=max_chunks - 1)
    return points.map(sorted)
