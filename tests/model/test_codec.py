"""RFC 6455 §5.2/§5.3 encoding of any frame, §5.5.1 Close bodies, §5.2/§7.4 constants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsproto.frame_protocol import FrameProtocol, ParseFailed
from wsproto.frame_protocol import Opcode as WsOpcode

from conformance.model.codec import apply_mask, close_payload, encode_frame, frame_header
from conformance.model.constants import (
    GUID,
    MAX_CONTROL_PAYLOAD,
    NEVER_SENT_CLOSE_CODES,
    RESERVED_CONTROL_OPCODES,
    RESERVED_DATA_OPCODES,
    CloseCode,
    Opcode,
    close_code_status,
    is_control_opcode,
    is_reserved_opcode,
    is_valid_close_code,
)
from conformance.model.frames import Frame, LengthForm

KEY = b"\x37\xfa\x21\x3d"


def reference_mask(data: bytes, key: bytes) -> bytes:
    """RFC 6455 §5.3: transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4)."""
    return bytes(byte ^ key[i % 4] for i, byte in enumerate(data))


def wsproto_frames(data: bytes, *, client: bool) -> list[tuple[int, bytes, bool]]:
    """(opcode, payload, fin) of each frame wsproto reads from ``data``."""
    protocol = FrameProtocol(client=client, extensions=[])
    protocol.receive_bytes(data)
    frames = []
    for frame in protocol.received_frames():
        payload = frame.payload  # wsproto decodes text to str
        if isinstance(payload, str):
            payload = payload.encode()
        assert isinstance(payload, bytes | bytearray)
        raw = bytes(payload)
        frames.append((int(frame.opcode), raw, frame.frame_finished and frame.message_finished))
    return frames


class TestSection5_2BaseFramingHeader:
    """RFC 6455 §5.2: FIN, RSV1-3 and opcode in the first byte."""

    @pytest.mark.parametrize(
        ("frame", "first"),
        [
            (Frame(Opcode.TEXT), 0x81),
            (Frame(Opcode.CONTINUATION, fin=False), 0x00),
            (Frame(Opcode.BINARY, rsv1=True), 0xC2),
            (Frame(Opcode.BINARY, rsv2=True), 0xA2),
            (Frame(Opcode.BINARY, rsv3=True), 0x92),
            (Frame(0xF, fin=False, rsv1=True, rsv2=True, rsv3=True), 0x7F),
        ],
    )
    def test_first_byte_is_fin_rsv_opcode(self, frame: Frame, first: int) -> None:
        assert encode_frame(frame)[0] == first

    def test_rfc_example_unmasked_hello(self) -> None:
        assert encode_frame(Frame(Opcode.TEXT, b"Hello")) == b"\x81\x05\x48\x65\x6c\x6c\x6f"

    def test_rfc_example_masked_hello(self) -> None:
        frame = Frame(Opcode.TEXT, b"Hello", mask=b"\x37\xfa\x21\x3d")
        assert encode_frame(frame) == b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"

    def test_rfc_example_fragmented_text(self) -> None:
        first = encode_frame(Frame(Opcode.TEXT, b"Hel", fin=False))
        last = encode_frame(Frame(Opcode.CONTINUATION, b"lo"))
        assert first + last == b"\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f"

    def test_rfc_example_ping(self) -> None:
        assert encode_frame(Frame(Opcode.PING, b"Hello")) == b"\x89\x05\x48\x65\x6c\x6c\x6f"

    def test_opcode_above_4_bits_cannot_be_written(self) -> None:
        with pytest.raises(ValueError, match="4 bits"):
            encode_frame(Frame(16))

    def test_masking_key_must_be_4_bytes(self) -> None:
        with pytest.raises(ValueError, match="4 bytes"):
            encode_frame(Frame(Opcode.TEXT, b"x", mask=b"abc"))

    def test_header_includes_masking_key(self) -> None:
        assert frame_header(Frame(Opcode.BINARY, b"xyz", mask=KEY)) == b"\x82\x83" + KEY


class TestSection5_2PayloadLength:
    """RFC 6455 §5.2, "Payload length": 7, 7+16 or 7+64 bits, minimal or not."""

    @pytest.mark.parametrize(
        ("size", "field"),
        [
            (0, b"\x00"),
            (125, b"\x7d"),
            (126, b"\x7e\x00\x7e"),
            (65535, b"\x7e\xff\xff"),
            (65536, b"\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
        ],
    )
    def test_minimal_form_boundaries(self, size: int, field: bytes) -> None:
        assert encode_frame(Frame(Opcode.BINARY, bytes(size)))[1 : 1 + len(field)] == field

    def test_non_minimal_16_bit_form(self) -> None:
        frame = Frame(Opcode.BINARY, b"x" * 124, length_form=LengthForm.BITS16)
        assert encode_frame(frame)[:4] == b"\x82\x7e\x00\x7c"

    def test_non_minimal_64_bit_form(self) -> None:
        frame = Frame(Opcode.TEXT, b"hi", length_form=LengthForm.BITS64)
        assert encode_frame(frame) == b"\x81\x7f" + (2).to_bytes(8, "big") + b"hi"

    def test_declared_length_lies(self) -> None:
        frame = Frame(Opcode.BINARY, b"ab", declared_length=5)
        assert encode_frame(frame) == b"\x82\x05ab"

    def test_declared_length_may_be_huge(self) -> None:
        frame = Frame(Opcode.BINARY, declared_length=2**63 - 1)
        assert encode_frame(frame) == b"\x82\x7f\x7f" + b"\xff" * 7

    def test_length_msb_forces_64_bit_form(self) -> None:
        frame = Frame(Opcode.BINARY, b"ab", length_msb=True)
        assert encode_frame(frame) == b"\x82\x7f\x80" + b"\x00" * 6 + b"\x02ab"

    def test_length_msb_in_explicit_64_bit_form(self) -> None:
        frame = Frame(Opcode.BINARY, length_form=LengthForm.BITS64, length_msb=True)
        assert encode_frame(frame) == b"\x82\x7f\x80" + b"\x00" * 7

    def test_length_msb_with_masked_frame(self) -> None:
        frame = Frame(Opcode.BINARY, b"ab", mask=KEY, length_msb=True)
        assert encode_frame(frame)[:2] == b"\x82\xff"

    def test_length_msb_cannot_use_16_bit_form(self) -> None:
        with pytest.raises(ValueError, match="64-bit"):
            encode_frame(Frame(Opcode.BINARY, length_form=LengthForm.BITS16, length_msb=True))

    def test_16_bit_form_cannot_hold_65536(self) -> None:
        with pytest.raises(ValueError, match="16-bit"):
            encode_frame(Frame(Opcode.BINARY, declared_length=65536, length_form=LengthForm.BITS16))

    @pytest.mark.parametrize("length", [-1, 2**64])
    def test_length_must_fit_64_bits(self, length: int) -> None:
        with pytest.raises(ValueError, match="64-bit"):
            encode_frame(Frame(Opcode.BINARY, declared_length=length))

    def test_oversized_control_frame_is_written(self) -> None:
        frame = Frame(Opcode.PING, bytes(MAX_CONTROL_PAYLOAD + 1))
        assert encode_frame(frame)[:4] == b"\x89\x7e\x00\x7e"


class TestSection5_2MatchesWsproto:
    """Legal frames are byte-for-byte what wsproto writes, and wsproto reads them back."""

    @given(
        st.sampled_from([WsOpcode.TEXT, WsOpcode.BINARY, WsOpcode.CONTINUATION]),
        st.binary(max_size=70_000).filter(lambda b: len(b) < 300 or len(b) > 65_530),
        st.booleans(),
    )
    def test_unmasked_data_frames_equal_wsproto_bytes(
        self, opcode: WsOpcode, payload: bytes, fin: bool
    ) -> None:
        server = FrameProtocol(client=False, extensions=[])
        expected = bytes(server._serialize_frame(opcode, payload, fin))
        assert encode_frame(Frame(int(opcode), payload, fin=fin)) == expected

    @given(st.sampled_from([WsOpcode.PING, WsOpcode.PONG]), st.binary(max_size=125))
    def test_unmasked_control_frames_equal_wsproto_bytes(
        self, opcode: WsOpcode, payload: bytes
    ) -> None:
        server = FrameProtocol(client=False, extensions=[])
        expected = bytes(server._serialize_frame(opcode, payload))
        assert encode_frame(Frame(int(opcode), payload)) == expected

    @given(
        st.sampled_from([Opcode.TEXT, Opcode.BINARY]),
        st.sampled_from([0, 1, 125, 126, 65535, 65536]).map(
            lambda n: "é" * (n // 2) + "a" * (n % 2)
        ),
        st.binary(min_size=4, max_size=4),
    )
    def test_masked_data_frames_are_read_by_wsproto_server(
        self, opcode: Opcode, text: str, key: bytes
    ) -> None:
        payload = text.encode()
        data = encode_frame(Frame(opcode, payload, mask=key))
        assert wsproto_frames(data, client=False) == [(opcode, payload, True)]

    @given(
        st.sampled_from([Opcode.PING, Opcode.PONG]),
        st.binary(max_size=125),
        st.binary(min_size=4, max_size=4),
    )
    def test_masked_control_frames_are_read_by_wsproto_server(
        self, opcode: Opcode, payload: bytes, key: bytes
    ) -> None:
        data = encode_frame(Frame(opcode, payload, mask=key))
        assert wsproto_frames(data, client=False) == [(opcode, payload, True)]

    @pytest.mark.parametrize(
        "frame",
        [
            pytest.param(Frame(Opcode.TEXT, b"a", rsv1=True), id="rsv1"),
            pytest.param(Frame(3), id="reserved-data-opcode"),
            pytest.param(Frame(0xB), id="reserved-control-opcode"),
            pytest.param(
                Frame(Opcode.BINARY, b"a", length_form=LengthForm.BITS16), id="non-minimal-16"
            ),
            pytest.param(
                Frame(Opcode.BINARY, b"a", length_form=LengthForm.BITS64), id="non-minimal-64"
            ),
            pytest.param(
                Frame(Opcode.BINARY, declared_length=2**63 - 1, length_msb=True), id="msb"
            ),
            pytest.param(Frame(Opcode.PING, bytes(126)), id="control-126"),
            pytest.param(Frame(Opcode.PING, fin=False), id="control-fragmented"),
        ],
    )
    def test_illegal_frames_are_rejected_by_wsproto(self, frame: Frame) -> None:
        with pytest.raises(ParseFailed):
            wsproto_frames(encode_frame(frame), client=True)


class TestSection5_3Masking:
    """RFC 6455 §5.3: octet i XOR masking-key octet i MOD 4; the same op unmasks."""

    @given(st.binary(max_size=1000), st.binary(min_size=4, max_size=4))
    def test_matches_the_rfc_formula(self, data: bytes, key: bytes) -> None:
        assert apply_mask(data, key) == reference_mask(data, key)

    @given(st.binary(max_size=200), st.binary(min_size=4, max_size=4))
    def test_unmasking_is_masking(self, data: bytes, key: bytes) -> None:
        assert apply_mask(apply_mask(data, key), key) == data

    def test_keeps_leading_zero_bytes(self) -> None:
        assert apply_mask(b"\x00\x00\x00\x00\x00", b"\x00\x00\x00\x00") == bytes(5)

    def test_empty_payload(self) -> None:
        assert apply_mask(b"", KEY) == b""

    def test_accepts_buffers(self) -> None:
        expected = reference_mask(b"hello", KEY)
        assert apply_mask(memoryview(b"hello"), KEY) == expected
        assert apply_mask(bytearray(b"hello"), KEY) == expected

    @pytest.mark.parametrize("key", [b"", b"abc", b"abcde"])
    def test_key_must_be_4_bytes(self, key: bytes) -> None:
        with pytest.raises(ValueError, match="4 bytes"):
            apply_mask(b"data", key)


class TestSection5_5_1ClosePayload:
    """RFC 6455 §5.5.1: a Close body is a 2-byte code then the reason; any code is writable."""

    def test_code_and_reason(self) -> None:
        assert close_payload(1000, b"bye") == b"\x03\xe8bye"

    def test_no_code_is_empty_body(self) -> None:
        assert close_payload(None) == b""

    def test_reason_needs_code(self) -> None:
        with pytest.raises(ValueError, match="status code"):
            close_payload(None, b"why")

    @pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535])
    def test_codes_that_must_not_be_sent_are_writable(self, code: int) -> None:
        assert close_payload(code) == code.to_bytes(2, "big")

    @pytest.mark.parametrize("code", [-1, 65536])
    def test_code_must_fit_2_bytes(self, code: int) -> None:
        with pytest.raises(ValueError, match="2 bytes"):
            close_payload(code)

    def test_reason_is_raw_and_not_truncated(self) -> None:
        reason = b"\xff\xfe" * 100
        body = close_payload(1000, reason)
        assert body[2:] == reason
        assert len(body) == 202


class TestSection5_2Opcodes:
    """RFC 6455 §5.2 "Opcode" and §5.5: defined, reserved and control opcodes."""

    def test_defined_values(self) -> None:
        assert [int(o) for o in Opcode] == [0, 1, 2, 8, 9, 10]

    def test_reserved_values(self) -> None:
        assert sorted(RESERVED_DATA_OPCODES) == [3, 4, 5, 6, 7]
        assert sorted(RESERVED_CONTROL_OPCODES) == [11, 12, 13, 14, 15]
        assert [o for o in range(16) if is_reserved_opcode(o)] == [
            3,
            4,
            5,
            6,
            7,
            11,
            12,
            13,
            14,
            15,
        ]

    def test_control_opcodes_have_msb_set(self) -> None:
        assert [o for o in range(16) if is_control_opcode(o)] == list(range(8, 16))

    def test_guid(self) -> None:
        assert GUID == "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class TestSection7_4StatusCodes:
    """RFC 6455 §7.4.1 defined codes and §7.4.2 ranges."""

    @pytest.mark.parametrize(
        ("code", "status"),
        [
            (0, "invalid"),
            (999, "invalid"),
            (1000, "valid"),
            (1003, "valid"),
            (1004, "reserved-never-sent"),
            (1005, "reserved-never-sent"),
            (1006, "reserved-never-sent"),
            (1007, "valid"),
            (1011, "valid"),
            (1012, "valid"),
            (1014, "valid"),
            (1015, "reserved-never-sent"),
            (1016, "unassigned"),
            (2999, "unassigned"),
            (3000, "valid"),
            (4999, "valid"),
            (5000, "invalid"),
            (65535, "invalid"),
            (-1, "invalid"),
        ],
    )
    def test_close_code_status(self, code: int, status: str) -> None:
        assert close_code_status(code) == status
        assert is_valid_close_code(code) is (status == "valid")

    def test_every_code_has_exactly_one_class(self) -> None:
        valid = {c for c in range(65536) if close_code_status(c) == "valid"}
        expected = {*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)}
        assert valid == expected
        assert {c for c in range(65536) if close_code_status(c) == "reserved-never-sent"} == set(
            NEVER_SENT_CLOSE_CODES
        )

    def test_named_codes(self) -> None:
        assert int(CloseCode.NO_STATUS_RCVD) == 1005
        assert int(CloseCode.TLS_HANDSHAKE) == 1015
