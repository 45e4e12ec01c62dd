"""Properties of the sans-IO model over any traffic (RFC 6455 §5, §7.4, §8.1; RFC 3629 §4).

Drawn with the public strategies of :mod:`conformance.strategies`; wsproto and Python's
own UTF-8 decoder are the independent oracles.
"""

from __future__ import annotations

import codecs
import itertools
from collections.abc import Sequence
from typing import Final

from hypothesis import given
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from conformance import strategies as ws
from conformance.model import rules
from conformance.model.codec import encode_frame
from conformance.model.constants import CloseCode, Opcode
from conformance.model.decoder import (
    CloseReceived,
    DataAfterClose,
    EndOfStream,
    Event,
    FrameDecoder,
    FrameTooLarge,
    Message,
    MessageTooLarge,
    Peer,
    PeerStream,
    PingReceived,
    PongReceived,
)
from conformance.model.frames import Frame
from conformance.model.random_traffic import split_at
from conformance.model.utf8 import Utf8Validator
from conformance.model.violations import Violation

ROLES: st.SearchStrategy[Peer] = st.sampled_from(["client", "server"])
EVENT_TYPES = (
    Frame,
    Violation,
    FrameTooLarge,
    MessageTooLarge,
    Message,
    CloseReceived,
    PingReceived,
    PongReceived,
    DataAfterClose,
    EndOfStream,
)
SMALL_FRAME = 4096
SMALL_MESSAGE = 8192


def decode(data: bytes, role: Peer, points: Sequence[int] = ()) -> list[Event]:
    """Everything a fresh PeerStream reports for ``data`` cut at ``points``, EOF included."""
    stream = PeerStream(peer=role, max_payload=SMALL_FRAME, max_message=SMALL_MESSAGE)
    events: list[Event] = []
    for piece in split_at(data, points):
        events += stream.feed(piece)
    return events + stream.feed_eof()


@st.composite
def mangled_traffic(draw: st.DrawFn, role: Peer = "client") -> bytes:
    """Valid traffic with a few bytes overwritten, cut or inserted: near-miss streams."""
    data = bytearray(draw(ws.traffic(role=role, max_size=512)).encode())
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["set", "cut", "insert"]))
        if edit == "insert" or not data:
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif edit == "cut":
            del data[where : where + draw(st.integers(1, 8))]
        else:
            data[min(where, len(data) - 1)] = draw(st.integers(0, 255))
    return bytes(data)


def any_stream(role: Peer) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=300), mangled_traffic(role))


class TestFrameCodec:
    """§5.2: what the encoder writes, the decoder reads back."""

    @given(ROLES.flatmap(lambda role: st.tuples(st.just(role), ws.valid_frames(role))))
    def test_valid_frame_round_trips(self, drawn: tuple[Peer, Frame]) -> None:
        role, frame = drawn
        decoder = FrameDecoder(peer=role, max_payload=2**17)
        assert decoder.feed(encode_frame(frame)) == [frame]
        assert decoder.buffered == 0

    @given(ROLES.flatmap(lambda role: st.tuples(st.just(role), ws.broken_frames(role))))
    def test_broken_frame_reports_exactly_its_rule(
        self, drawn: tuple[Peer, ws.BrokenFrame]
    ) -> None:
        role, broken = drawn
        found = {e.requirement for e in decode(broken.encode(), role) if isinstance(e, Violation)}
        assert found == {broken.rule}

    @given(ws.traffic())
    def test_valid_traffic_breaks_no_rule(self, traffic: ws.Traffic) -> None:
        events = decode(traffic.encode(), "client")
        assert not [e for e in events if isinstance(e, Violation)]
        assert [e for e in events if isinstance(e, Message)] == list(traffic.messages)
        assert [e.payload for e in events if isinstance(e, PingReceived)] == list(traffic.pings)


class TestArbitraryBytes:
    """Whatever a peer sends, the model reports it: it never raises (§5.2, §7.1.7)."""

    @given(ROLES.flatmap(lambda role: st.tuples(st.just(role), any_stream(role))))
    def test_any_bytes_decode_to_reported_outcomes(self, drawn: tuple[Peer, bytes]) -> None:
        role, data = drawn
        events = decode(data, role)
        assert all(isinstance(event, EVENT_TYPES) for event in events)
        assert isinstance(events[-1], EndOfStream)
        known = set(rules.ALL_RULES.values())
        assert all(e.requirement in known for e in events if isinstance(e, Violation))

    @given(
        ROLES.flatmap(lambda role: st.tuples(st.just(role), any_stream(role))).flatmap(
            lambda drawn: st.tuples(st.just(drawn), ws.chunkings(len(drawn[1])))
        )
    )
    def test_decoding_is_chunking_invariant(
        self, drawn: tuple[tuple[Peer, bytes], list[int]]
    ) -> None:
        (role, data), points = drawn
        assert decode(data, role, points) == decode(data, role)

    @given(mangled_traffic())
    def test_one_byte_at_a_time_gives_the_same_events(self, data: bytes) -> None:
        assert decode(data, "client", range(len(data))) == decode(data, "client")


def wsproto_view(data: bytes) -> tuple[list[Message], list[bytes], tuple[int, bytes] | None]:
    """Messages, Ping payloads and the Close (code, reason) wsproto's server side decodes."""
    conn = Connection(ConnectionType.SERVER)
    conn.receive_data(data)
    found: list[Message] = []
    pings: list[bytes] = []
    close: tuple[int, bytes] | None = None
    parts: list[bytes] = []
    for event in conn.events():
        if isinstance(event, TextMessage | BytesMessage):
            chunk = event.data
            parts.append(chunk.encode() if isinstance(chunk, str) else bytes(chunk))
            if event.message_finished:
                opcode = Opcode.TEXT if isinstance(event, TextMessage) else Opcode.BINARY
                found.append(Message(opcode, b"".join(parts)))
                parts = []
        elif isinstance(event, Ping):
            pings.append(bytes(event.payload))
        elif isinstance(event, CloseConnection):
            close = (int(event.code), (event.reason or "").encode())
            break
    return found, pings, close


def model_view(data: bytes) -> tuple[list[Message], list[bytes], tuple[int, bytes] | None]:
    events = decode(data, "client")
    closes = [e for e in events if isinstance(e, CloseReceived)]
    close = None
    if closes:
        code = CloseCode.NO_STATUS_RCVD if closes[0].code is None else closes[0].code
        close = (code, closes[0].reason)
    found = [e for e in events if isinstance(e, Message)]
    return found, [e.payload for e in events if isinstance(e, PingReceived)], close


WSPROTO_REFUSES: Final = CloseCode.BAD_GATEWAY.to_bytes(2, "big")
"""wsproto 1.3 fails a Close with 1014, registered with IANA after RFC 6455 (§7.4.1,
§11.7): the one known disagreement; the reference server sends the model's answer."""


class TestAgreesWithWsproto:
    """On valid traffic the model and wsproto read the same messages, Pings and Close."""

    @given(
        ws.traffic(max_size=2048),
        st.one_of(st.none(), ws.close_bodies().filter(lambda b: b[:2] != WSPROTO_REFUSES)),
        ws.masking_keys(),
    )
    def test_valid_traffic_reads_the_same(
        self, traffic: ws.Traffic, close: bytes | None, key: bytes
    ) -> None:
        data = traffic.encode()
        if close is not None:
            data += encode_frame(Frame(Opcode.CLOSE, close, mask=key))
        assert model_view(data) == wsproto_view(data)

    @given(st.lists(ws.messages(max_size=256), max_size=2), ws.broken_frames())
    def test_wsproto_fails_every_broken_frame(
        self, before: list[Message], broken: ws.BrokenFrame
    ) -> None:
        key = b"\x0f\x1e\x2d\x3c"
        data = b"".join(encode_frame(Frame(m.opcode, m.data, mask=key)) for m in before)
        found, _pings, close = wsproto_view(data + broken.encode())
        assert found == before
        assert close is not None
        assert close[0] in broken.codes


# Utf8 oracle: Python's strict decoder, completed with the narrowest second bytes of
# RFC 3629 §4 (E0: A0-BF, ED: 80-9F, F0: 90-BF, F4: 80-8F) to test "is a prefix".
COMPLETIONS = [b""] + [
    bytes(tail)
    for size in (1, 2, 3)
    for tail in itertools.product((0x80, 0x90, 0xA0, 0xBF), repeat=size)
]


def python_decodes(data: bytes, final: bool = True) -> bool:
    try:
        codecs.utf_8_decode(data, "strict", final)
    except UnicodeDecodeError:
        return False
    return True


def python_prefix_ok(data: bytes) -> bool:
    return any(python_decodes(data + tail) for tail in COMPLETIONS)


utf8_like = st.one_of(
    ws.invalid_utf8(max_size=40),
    ws.text_payloads(max_size=40),
    st.binary(max_size=24),
    st.lists(
        st.sampled_from(list(b"a\x80\x8f\x90\x9f\xa0\xbf\xc0\xc2\xe0\xed\xf0\xf4\xf5")), max_size=12
    ).map(bytes),
)


class TestUtf8AgreesWithPython:
    """RFC 3629 §4: the validator is Python's strict decoder, decided fail-fast."""

    @given(utf8_like)
    def test_every_prefix_agrees(self, data: bytes) -> None:
        first_bad: int | None = None
        for end in range(len(data) + 1):
            prefix = data[:end]
            open_ended = Utf8Validator()
            open_ended.feed(prefix)
            assert open_ended.valid == python_prefix_ok(prefix), prefix
            if first_bad is None and not open_ended.valid:
                first_bad = end - 1
            assert open_ended.error_offset == first_bad
            whole = Utf8Validator()
            whole.feed(prefix, final=True)
            assert whole.valid == python_decodes(prefix)

    @given(utf8_like.flatmap(lambda d: st.tuples(st.just(d), ws.chunkings(len(d)))))
    def test_any_feeding_gives_the_same_offsets(self, drawn: tuple[bytes, list[int]]) -> None:
        data, points = drawn
        whole = Utf8Validator()
        whole.feed(data, final=True)
        pieces = Utf8Validator()
        for piece in split_at(data, points):
            pieces.feed(piece)
        pieces.feed(b"", final=True)
        assert (pieces.error_offset, pieces.error_start) == (whole.error_offset, whole.error_start)
