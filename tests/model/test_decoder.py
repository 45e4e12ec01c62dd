"""Decoding a peer's stream (RFC 6455 §5, §7.4, §8.1): frames, messages and every violation."""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.frame_protocol import FrameProtocol

from conformance.catalog import load_catalog
from conformance.model import rules
from conformance.model.codec import RSV1_BIT, RSV3_BIT, close_payload, encode_frame
from conformance.model.constants import (
    MAX_16BIT_LENGTH,
    MAX_CONTROL_PAYLOAD,
    Opcode,
    is_control_opcode,
    is_reserved_opcode,
)
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
    close_code_rule,
)
from conformance.model.frames import Frame, LengthForm
from conformance.model.violations import Violation

KEY = b"\x01\x02\x03\x04"
HUGE = 2**63 - 1
T = TypeVar("T")


def client_frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> Frame:
    return Frame(opcode, payload, fin=fin, mask=KEY)


def decode(data: bytes, peer: Peer = "server", **options: int) -> list[Event]:
    return PeerStream(peer=peer, **options).feed(data)


def decode_frames(*frames: Frame, peer: Peer = "server", **options: int) -> list[Event]:
    return decode(b"".join(encode_frame(f) for f in frames), peer, **options)


def violations(events: list[Event]) -> list[str]:
    return [e.requirement for e in events if isinstance(e, Violation)]


def only(events: Sequence[Event], kind: type[T]) -> list[T]:
    return [e for e in events if isinstance(e, kind)]


def as_received(frame: Frame) -> Frame:
    """What the decoder reports for ``frame``: the form on the wire, minimal when it is."""
    size = len(frame.payload)
    form = frame.length_form
    if (form is LengthForm.BITS16 and size > 125) or (
        form is LengthForm.BITS64 and size > MAX_16BIT_LENGTH
    ):
        form = LengthForm.MINIMAL
    return replace(frame, length_form=form)


def expected_frame_rules(frame: Frame, peer: Peer, allowed_rsv: int = 0) -> list[str]:
    """The frame-level rules ``frame`` breaks, in header order (RFC 6455 §5.1, §5.2, §5.5)."""
    found = []
    rsv = (frame.rsv1 << 6 | frame.rsv2 << 5 | frame.rsv3 << 4) & ~allowed_rsv
    if rsv:
        found.append(rules.RSV_MUST_BE_ZERO)
    if is_reserved_opcode(frame.opcode):
        found.append(rules.RESERVED_OPCODE)
    control = is_control_opcode(frame.opcode)
    if control and not frame.fin:
        found.append(rules.CONTROL_NOT_FRAGMENTED)
    if peer == "client" and frame.mask is None:
        found.append(rules.CLIENT_MUST_MASK)
    if peer == "server" and frame.mask is not None:
        found.append(rules.SERVER_MUST_NOT_MASK)
    if control and len(frame.payload) > MAX_CONTROL_PAYLOAD:
        found.append(rules.CONTROL_PAYLOAD_MAX)
    if as_received(frame).length_form is not LengthForm.MINIMAL:
        found.append(rules.MINIMAL_LENGTH)
    return found


frames_strategy = st.builds(
    Frame,
    opcode=st.integers(min_value=0, max_value=15),
    payload=st.binary(max_size=300),
    fin=st.booleans(),
    rsv1=st.booleans(),
    rsv2=st.booleans(),
    rsv3=st.booleans(),
    mask=st.none() | st.binary(min_size=4, max_size=4),
    length_form=st.sampled_from(LengthForm),
)

# A stream a peer might send: mostly legal messages, with some broken frames.
stream_frames = st.lists(
    st.one_of(
        frames_strategy,
        st.builds(
            Frame,
            st.sampled_from([0, 1, 2, 8, 9, 10]),
            st.text(max_size=20).map(str.encode),
            fin=st.booleans(),
        ),
        st.builds(Frame, st.just(1), st.binary(max_size=8), fin=st.booleans()),
        st.builds(Frame, st.just(8), st.integers(0, 5000).map(close_payload)),
    ),
    max_size=8,
)


def feed_split(data: bytes, cuts: list[int], peer: Peer = "server") -> list[Event]:
    stream = PeerStream(peer=peer)
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    events: list[Event] = []
    for lo, hi in pairwise(bounds):
        events.extend(stream.feed(data[lo:hi]))
    events.extend(stream.feed_eof())
    return events


class TestSection5_1Masking:
    """RFC 6455 §5.1: clients mask every frame, servers never do."""

    def test_client_must_mask(self) -> None:
        events = decode_frames(Frame(Opcode.TEXT, b"hi"), peer="client")
        assert events[0] == Violation(rules.CLIENT_MUST_MASK, "unmasked client frame", 1)
        assert violations(events) == [rules.CLIENT_MUST_MASK]
        assert Message(Opcode.TEXT, b"hi") in events

    def test_server_must_not_mask(self) -> None:
        events = decode_frames(client_frame(Opcode.TEXT, b"hi"), peer="server")
        assert events[0] == Violation(rules.SERVER_MUST_NOT_MASK, "masked server frame", 1)
        assert violations(events) == [rules.SERVER_MUST_NOT_MASK]

    def test_masked_client_frame_is_unmasked_and_key_recorded(self) -> None:
        frame = client_frame(Opcode.BINARY, b"\x00payload\xff")
        events = decode_frames(frame, peer="client")
        assert events == [frame, Message(Opcode.BINARY, b"\x00payload\xff")]

    def test_wsproto_client_frames_decode_cleanly(self) -> None:
        client = FrameProtocol(client=True, extensions=[])
        data = bytes(client.send_data("héllo") + client.ping(b"p") + client.close(1000, "ok"))
        events = decode(data, peer="client")
        assert violations(events) == []
        assert Message(Opcode.TEXT, "héllo".encode()) in events
        assert PingReceived(b"p") in events
        assert CloseReceived(1000, b"ok", b"\x03\xe8ok") in events

    def test_wsproto_server_frames_decode_cleanly(self) -> None:
        server = FrameProtocol(client=False, extensions=[])
        data = bytes(server.send_data(b"x" * 70_000) + server.pong(b"") + server.close())
        events = decode(data, peer="server")
        assert violations(events) == []
        assert Message(Opcode.BINARY, b"x" * 70_000) in events
        assert PongReceived(b"") in events
        assert CloseReceived(None, b"", b"") in events


class TestSection5_2BaseFraming:
    """RFC 6455 §5.2: RSV bits, opcodes, and the decoded form of each field."""

    @pytest.mark.parametrize(
        ("frame", "bits"),
        [
            (Frame(Opcode.BINARY, b"x", rsv1=True), "100"),
            (Frame(Opcode.BINARY, b"x", rsv2=True), "010"),
            (Frame(Opcode.BINARY, b"x", rsv3=True), "001"),
        ],
    )
    def test_rsv_must_be_zero(self, frame: Frame, bits: str) -> None:
        events = decode_frames(frame)
        assert events == [
            Violation(rules.RSV_MUST_BE_ZERO, f"RSV bits {bits} set", 0),
            frame,
            Message(Opcode.BINARY, b"x", rsv1=frame.rsv1),
        ]

    def test_negotiated_rsv_bit_is_allowed(self) -> None:
        frame = Frame(Opcode.BINARY, b"x", rsv1=True, rsv3=True)
        events = decode_frames(frame, allowed_rsv=RSV1_BIT)
        assert violations(events) == [rules.RSV_MUST_BE_ZERO]
        assert decode_frames(frame, allowed_rsv=RSV1_BIT | RSV3_BIT)[0] == frame

    @pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
    def test_reserved_opcode(self, opcode: int) -> None:
        events = decode_frames(Frame(opcode, b"abc"), Frame(Opcode.TEXT, b"after"))
        assert violations(events) == [rules.RESERVED_OPCODE]
        assert events[1] == Frame(opcode, b"abc")
        assert events[-1] == Message(Opcode.TEXT, b"after")

    def test_reserved_data_opcode_does_not_disturb_a_fragmented_message(self) -> None:
        events = decode_frames(
            Frame(Opcode.TEXT, b"a", fin=False), Frame(3), Frame(Opcode.CONTINUATION, b"b")
        )
        assert violations(events) == [rules.RESERVED_OPCODE]
        assert events[-1] == Message(Opcode.TEXT, b"ab")

    @given(frames_strategy, st.sampled_from(["client", "server"]))
    def test_every_frame_form_round_trips_with_exactly_its_violations(
        self, frame: Frame, peer: Peer
    ) -> None:
        events = FrameDecoder(peer=peer).feed(encode_frame(frame))
        assert events[-1] == as_received(frame)
        found = only(events[:-1], Violation)
        assert len(found) == len(events) - 1
        assert [v.requirement for v in found] == expected_frame_rules(frame, peer)


class TestSection5_2PayloadLength:
    """RFC 6455 §5.2 "Payload length": minimal encoding, MSB zero, bounded memory."""

    @pytest.mark.parametrize(
        ("size", "form"),
        [
            (0, LengthForm.BITS16),
            (125, LengthForm.BITS16),
            (0, LengthForm.BITS64),
            (MAX_16BIT_LENGTH, LengthForm.BITS64),
        ],
    )
    def test_minimal_length_encoding(self, size: int, form: LengthForm) -> None:
        frame = Frame(Opcode.BINARY, bytes(size), length_form=form)
        events = decode_frames(frame)
        assert events[0] == Violation(
            rules.MINIMAL_LENGTH, f"length {size} in the {form.value}-bit form", 2
        )
        assert events[1] == frame
        assert violations(events) == [rules.MINIMAL_LENGTH]

    @pytest.mark.parametrize("size", [126, MAX_16BIT_LENGTH, MAX_16BIT_LENGTH + 1])
    def test_extended_forms_used_minimally_are_fine(self, size: int) -> None:
        events = decode_frames(Frame(Opcode.BINARY, bytes(size)))
        assert events[0] == Frame(Opcode.BINARY, bytes(size))
        assert violations(events) == []

    def test_64_bit_length_msb_must_be_zero(self) -> None:
        stream = PeerStream(peer="server")
        events = stream.feed(encode_frame(Frame(Opcode.BINARY, b"ab", length_msb=True)))
        assert events == [
            Violation(rules.LENGTH_MSB_ZERO, "64-bit length with MSB set", 2),
            FrameTooLarge(Opcode.BINARY, 2**63 + 2, 0),
        ]
        assert stream.too_large == events[-1]

    def test_huge_announced_length_allocates_nothing(self) -> None:
        header = encode_frame(Frame(Opcode.BINARY, declared_length=HUGE))
        stream = PeerStream(peer="server")
        tracemalloc.start()
        try:
            events = stream.feed(header + b"x" * 100)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert events == [FrameTooLarge(Opcode.BINARY, HUGE, 0)]
        assert peak < 64 * 1024
        assert stream.feed(b"more") == []
        assert stream.bytes_received == len(header) + 104
        assert stream.frames.halted
        assert stream.frames.buffered == 0

    def test_max_payload_boundary(self) -> None:
        assert decode_frames(Frame(Opcode.BINARY, bytes(10)), max_payload=10)[0] == Frame(
            Opcode.BINARY, bytes(10)
        )
        events = decode_frames(Frame(Opcode.PING, bytes(11)), max_payload=10)
        assert events == [FrameTooLarge(Opcode.PING, 11, 0)]

    def test_violations_of_a_too_large_frame_are_reported_first(self) -> None:
        events = decode_frames(Frame(Opcode.PING, bytes(200)), max_payload=100)
        assert events == [
            Violation(rules.CONTROL_PAYLOAD_MAX, "control frame payload of 200 bytes", 1),
            FrameTooLarge(Opcode.PING, 200, 0),
        ]

    def test_lying_length_waits_for_the_bytes(self) -> None:
        decoder = FrameDecoder(peer="server")
        assert decoder.feed(encode_frame(Frame(Opcode.BINARY, b"ab", declared_length=5))) == []
        assert decoder.buffered == 4
        assert decoder.feed(b"cde") == [Frame(Opcode.BINARY, b"abcde")]
        assert decoder.buffered == 0
        assert decoder.frames_decoded == 1

    def test_offsets_are_absolute_in_the_stream(self) -> None:
        first = encode_frame(Frame(Opcode.BINARY, bytes(300)))
        events = decode(first + encode_frame(Frame(Opcode.TEXT, b"x", rsv2=True)))
        assert only(events, Violation) == [
            Violation(rules.RSV_MUST_BE_ZERO, "RSV bits 010 set", len(first))
        ]


class TestSection5_2Incremental:
    """Any split of the same bytes decodes to the same events."""

    @settings(max_examples=200)
    @given(stream_frames, st.lists(st.integers(min_value=0, max_value=3000), max_size=10))
    def test_any_split_gives_the_same_events(self, frames: list[Frame], cuts: list[int]) -> None:
        data = b"".join(encode_frame(f) for f in frames)
        assert feed_split(data, cuts) == feed_split(data, [])

    @given(stream_frames)
    def test_one_byte_at_a_time_gives_the_same_events(self, frames: list[Frame]) -> None:
        data = b"".join(encode_frame(f) for f in frames)
        assert feed_split(data, list(range(len(data)))) == feed_split(data, [])


class TestSection5_4Fragmentation:
    """RFC 6455 §5.4: one message is a first frame, continuations, and a FIN."""

    def test_fragments_are_reassembled_around_control_frames(self) -> None:
        stream = PeerStream(peer="server")
        events = stream.feed(encode_frame(Frame(Opcode.TEXT, b"Hel", fin=False)))
        assert stream.message_in_progress
        assert stream.message_opcode == Opcode.TEXT
        events += stream.feed(
            encode_frame(Frame(Opcode.PING, b"p")) + encode_frame(Frame(Opcode.CONTINUATION, b"lo"))
        )
        assert only(events, Message) == [Message(Opcode.TEXT, b"Hello")]
        assert PingReceived(b"p") in events
        assert not stream.message_in_progress
        assert stream.messages_received == 1
        assert stream.frames_received == 3
        assert violations(events) == []

    def test_continuation_without_a_message(self) -> None:
        events = decode_frames(Frame(Opcode.CONTINUATION, b"x"), Frame(Opcode.BINARY, b"y"))
        assert events[1] == Violation(
            rules.FRAGMENT_SEQUENCE, "continuation frame with no message in progress", 0
        )
        assert only(events, Message) == [Message(Opcode.BINARY, b"y")]

    def test_new_message_inside_a_fragmented_one(self) -> None:
        first = encode_frame(Frame(Opcode.TEXT, b"a", fin=False))
        events = decode(first + encode_frame(Frame(Opcode.BINARY, b"b")))
        assert violations(events) == [rules.NO_INTERLEAVE]
        assert only(events, Violation)[0].offset == len(first)
        assert only(events, Message) == [Message(Opcode.BINARY, b"b")]

    def test_max_message_bounds_reassembly(self) -> None:
        stream = PeerStream(peer="server", max_message=5)
        events = stream.feed(
            encode_frame(Frame(Opcode.BINARY, b"abc", fin=False))
            + encode_frame(Frame(Opcode.CONTINUATION, b"def"))
            + encode_frame(Frame(Opcode.BINARY, b"next"))
        )
        assert events[-1] == MessageTooLarge(Opcode.BINARY, 6, 7)
        assert stream.too_large == events[-1]
        assert stream.feed(b"\x82\x00") == []


class TestSection5_5ControlFrames:
    """RFC 6455 §5.5: control payloads of 125 bytes or less, never fragmented."""

    def test_control_payload_over_125(self) -> None:
        events = decode_frames(Frame(Opcode.PING, bytes(126)))
        assert violations(events) == [rules.CONTROL_PAYLOAD_MAX]
        assert PingReceived(bytes(126)) in events

    def test_control_frame_must_not_be_fragmented(self) -> None:
        events = decode_frames(Frame(Opcode.PONG, b"x", fin=False))
        assert events[0] == Violation(rules.CONTROL_NOT_FRAGMENTED, "control opcode 0xa FIN=0", 0)
        assert PongReceived(b"x") in events

    def test_125_byte_control_payload_is_fine(self) -> None:
        assert violations(decode_frames(Frame(Opcode.PING, bytes(125)))) == []

    def test_reserved_control_opcode_has_no_meaning(self) -> None:
        events = decode_frames(Frame(0xB, b"x"))
        assert events == [
            Violation(rules.RESERVED_OPCODE, "reserved opcode 0xb", 0),
            Frame(0xB, b"x"),
        ]


class TestSection5_5_1Close:
    """RFC 6455 §5.5.1 Close bodies and §7.4 status codes."""

    def test_empty_close(self) -> None:
        stream = PeerStream(peer="server")
        events = stream.feed(encode_frame(Frame(Opcode.CLOSE)))
        assert events[-1] == CloseReceived(None, b"", b"")
        assert stream.close_received
        assert stream.close == events[-1]

    def test_close_with_code_and_reason(self) -> None:
        events = decode_frames(Frame(Opcode.CLOSE, close_payload(1000, b"bye")))
        assert events[-1] == CloseReceived(1000, b"bye", b"\x03\xe8bye")
        assert violations(events) == []

    def test_close_body_of_one_byte(self) -> None:
        events = decode_frames(Frame(Opcode.CLOSE, b"\x03"))
        assert events[1] == Violation(rules.CLOSE_BODY_CODE, "close body of 1 byte", 2)
        assert events[2] == CloseReceived(None, b"", b"\x03")

    @pytest.mark.parametrize(
        ("code", "rule"),
        [
            (0, rules.CLOSE_CODE_UNUSED_RANGE),
            (999, rules.CLOSE_CODE_UNUSED_RANGE),
            (1004, rules.CLOSE_CODE_1004_RESERVED),
            (1005, rules.CLOSE_CODE_1005_NOT_SENT),
            (1006, rules.CLOSE_CODE_1006_NOT_SENT),
            (1015, rules.CLOSE_CODE_1015_NOT_SENT),
            (1016, rules.CLOSE_CODE_PROTOCOL_RANGE),
            (2999, rules.CLOSE_CODE_PROTOCOL_RANGE),
            (5000, rules.CLOSE_CODE_OUT_OF_RANGE),
            (65535, rules.CLOSE_CODE_OUT_OF_RANGE),
        ],
    )
    def test_close_code_not_allowed_on_the_wire(self, code: int, rule: str) -> None:
        events = decode_frames(Frame(Opcode.CLOSE, close_payload(code)))
        assert events[1] == Violation(rule, f"close code {code} not allowed on the wire", 2)
        assert close_code_rule(code) == rule

    @pytest.mark.parametrize("code", [1000, 1003, 1007, 1011, 1012, 1014, 3000, 4999])
    def test_close_code_allowed_on_the_wire(self, code: int) -> None:
        assert violations(decode_frames(Frame(Opcode.CLOSE, close_payload(code)))) == []
        assert close_code_rule(code) is None

    def test_close_reason_must_be_utf8(self) -> None:
        events = decode_frames(
            client_frame(Opcode.CLOSE, close_payload(1000, b"ok\xed\xa0\x80")), peer="client"
        )
        assert events[1] == Violation(
            rules.CLOSE_REASON_UTF8, "close reason is not valid UTF-8", 6 + 2 + 3
        )
        assert events[2] == CloseReceived(1000, b"ok\xed\xa0\x80", b"\x03\xe8ok\xed\xa0\x80")

    def test_no_data_frames_after_close(self) -> None:
        close = encode_frame(Frame(Opcode.CLOSE))
        events = decode(close + encode_frame(Frame(Opcode.TEXT, b"late")))
        assert events[-2:] == [
            DataAfterClose(Opcode.TEXT, len(close)),
            Violation(rules.NO_DATA_AFTER_CLOSE, "opcode 0x1 frame after Close", len(close)),
        ]
        assert only(events, Message) == []

    def test_control_frame_after_close_is_reported_but_no_violation(self) -> None:
        events = decode_frames(Frame(Opcode.CLOSE), Frame(Opcode.PING), Frame(Opcode.CLOSE))
        assert only(events, DataAfterClose) == [
            DataAfterClose(Opcode.PING, 2),
            DataAfterClose(Opcode.CLOSE, 4),
        ]
        assert violations(events) == []
        assert len(only(events, CloseReceived)) == 1


class TestSection5_6TextUtf8:
    """RFC 6455 §5.6: a text message must be valid UTF-8; checked fragment by fragment."""

    def test_invalid_text_message(self) -> None:
        events = decode_frames(Frame(Opcode.TEXT, b"ab\xff"))
        assert events[1] == Violation(rules.TEXT_UTF8, "text message is not valid UTF-8", 4)
        assert events[2] == Message(Opcode.TEXT, b"ab\xff")

    def test_invalid_byte_is_reported_before_the_message_ends(self) -> None:
        stream = PeerStream(peer="server")
        events = stream.feed(encode_frame(Frame(Opcode.TEXT, b"ok\xed\xa0", fin=False)))
        assert violations(events) == [rules.TEXT_UTF8]
        assert only(events, Violation)[0].offset == 2 + 3
        later = stream.feed(encode_frame(Frame(Opcode.CONTINUATION, b"\xff")))
        assert violations(later) == []
        assert stream.violations == only(events, Violation)

    def test_code_point_split_across_fragments_is_valid(self) -> None:
        events = decode_frames(
            Frame(Opcode.TEXT, b"\xf0\x9f", fin=False),
            Frame(Opcode.CONTINUATION, b"\x98", fin=False),
            Frame(Opcode.CONTINUATION, b"\x80"),
        )
        assert violations(events) == []
        assert events[-1] == Message(Opcode.TEXT, "😀".encode())

    def test_truncated_sequence_is_reported_at_the_end_of_the_message(self) -> None:
        first = encode_frame(Frame(Opcode.TEXT, b"a\xe2\x82", fin=False))
        last = encode_frame(Frame(Opcode.CONTINUATION))
        events = decode(first + last)
        assert only(events, Violation) == [
            Violation(rules.TEXT_UTF8, "text message is not valid UTF-8", len(first) + 2)
        ]

    def test_binary_is_not_checked(self) -> None:
        assert violations(decode_frames(Frame(Opcode.BINARY, b"\xff"))) == []

    def test_rsv1_text_without_negotiation_is_still_checked(self) -> None:
        events = decode_frames(Frame(Opcode.TEXT, b"\xff", rsv1=True))
        assert violations(events) == [rules.RSV_MUST_BE_ZERO, rules.TEXT_UTF8]

    def test_compressed_text_is_not_checked(self) -> None:
        events = decode_frames(Frame(Opcode.TEXT, b"\xff", rsv1=True), allowed_rsv=RSV1_BIT)
        assert violations(events) == []
        assert events[-1] == Message(Opcode.TEXT, b"\xff", rsv1=True)


class TestSection7_1EndOfStream:
    """RFC 6455 §7.1: what the stream looked like when the peer closed TCP."""

    def test_end_after_clean_close(self) -> None:
        stream = PeerStream(peer="server")
        stream.feed(encode_frame(Frame(Opcode.CLOSE, close_payload(1000))))
        assert stream.feed_eof() == [EndOfStream(4, 0, False, True)]
        assert stream.eof
        assert stream.feed_eof() == []
        with pytest.raises(RuntimeError):
            stream.feed(b"x")

    def test_end_in_the_middle_of_a_frame_and_message(self) -> None:
        stream = PeerStream(peer="client")
        assert stream.peer == "client"
        stream.feed(encode_frame(client_frame(Opcode.TEXT, b"a", fin=False)))
        stream.feed(encode_frame(client_frame(Opcode.CONTINUATION, b"bcd"))[:-1])
        assert stream.feed_eof() == [EndOfStream(7 + 8, 8, True, False)]


def test_every_rule_cites_a_catalog_record() -> None:
    catalog = load_catalog()
    assert [rid for rid in rules.ALL_RULES.values() if rid not in catalog] == []


def test_violation_names_its_requirement_and_offset() -> None:
    events = decode_frames(Frame(Opcode.PING, fin=False))
    assert str(events[0]) == f"control opcode 0x9 FIN=0 at byte 0 [{rules.CONTROL_NOT_FRAGMENTED}]"
    assert events[1] == Frame(Opcode.PING, fin=False)
    assert isinstance(events[1], Frame)
    assert events[1].is_control
