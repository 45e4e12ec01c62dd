"""RFC 3629 §4 strict UTF-8, as RFC 6455 §5.6 and §8.1 require: incremental and fail-fast."""

from __future__ import annotations

from itertools import pairwise, product

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from conformance.model.utf8 import Utf8Validator, first_invalid_offset, valid_prefix_length

# Every incomplete character can be completed with these: the narrowest second-byte
# ranges (E0: A0-BF, ED: 80-9F, F0: 90-BF, F4: 80-8F) each contain one of them.
COMPLETIONS = [b""] + [
    bytes(tail) for size in (1, 2, 3) for tail in product((0x80, 0x90, 0xA0, 0xBF), repeat=size)
]


def decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def is_valid_prefix(data: bytes) -> bool:
    return any(decodes(data + tail) for tail in COMPLETIONS)


def oracle_offset(data: bytes) -> int | None:
    """The first byte after which no completion is valid; len(data) if only truncated."""
    if decodes(data):
        return None
    for end in range(1, len(data) + 1):
        if not is_valid_prefix(data[:end]):
            return end - 1
    return len(data)


def oracle_start(data: bytes) -> int | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def feed_in_pieces(data: bytes, cuts: list[int]) -> Utf8Validator:
    validator = Utf8Validator()
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    for lo, hi in pairwise(bounds):
        validator.feed(data[lo:hi])
    validator.feed(b"", final=True)
    return validator


# Bytes at the edges of the ranges of RFC 3629 §4.
BOUNDARY_BYTES = list(b"a\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xed\xef\xf0\xf4\xf5\xff")

# Inputs that stress RFC 3629 §4: valid text, raw bytes, runs of boundary bytes.
utf8_like = st.one_of(
    st.text(max_size=12).map(lambda s: s.encode("utf-8")),
    st.binary(max_size=12),
    st.lists(st.sampled_from(BOUNDARY_BYTES), max_size=8).map(bytes),
)


class TestSection8_1Utf8Validity:
    """RFC 6455 §8.1: the validator agrees with Python's strict decoder on every input."""

    @given(utf8_like)
    def test_validity_matches_python_decoder(self, data: bytes) -> None:
        validator = Utf8Validator()
        validator.feed(data, final=True)
        assert validator.valid is decodes(data)
        assert validator.finished

    @given(st.text())
    def test_every_valid_text_is_accepted(self, text: str) -> None:
        assert first_invalid_offset(text.encode("utf-8")) is None

    @pytest.mark.parametrize(
        ("data", "offset"),
        [
            pytest.param(b"\xc0\x80", 0, id="overlong-2-byte-lead-c0"),
            pytest.param(b"\xc1\xbf", 0, id="overlong-2-byte-lead-c1"),
            pytest.param(b"\xe0\x80\x80", 1, id="overlong-3-byte"),
            pytest.param(b"\xe0\x9f\xbf", 1, id="overlong-3-byte-max"),
            pytest.param(b"\xf0\x80\x80\x80", 1, id="overlong-4-byte"),
            pytest.param(b"\xf0\x8f\xbf\xbf", 1, id="overlong-4-byte-max"),
            pytest.param(b"\xed\xa0\x80", 1, id="surrogate-d800"),
            pytest.param(b"\xed\xbf\xbf", 1, id="surrogate-dfff"),
            pytest.param(b"\xf4\x90\x80\x80", 1, id="above-10ffff"),
            pytest.param(b"\xf5\x80\x80\x80", 0, id="lead-f5"),
            pytest.param(b"\xff", 0, id="lead-ff"),
            pytest.param(b"ab\x80", 2, id="lone-continuation"),
            pytest.param(b"\xe1\x80\x41", 2, id="ascii-inside-sequence"),
            pytest.param(b"a\xf0\x90\x80", 4, id="truncated-at-end"),
            pytest.param(
                b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
                12,
                id="autobahn-6.4.2-style",
            ),
        ],
    )
    def test_rejects_ill_formed_sequences(self, data: bytes, offset: int) -> None:
        assert first_invalid_offset(data) == offset == oracle_offset(data)

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"\x7f",
            b"\xc2\x80",
            b"\xdf\xbf",
            b"\xe0\xa0\x80",
            b"\xed\x9f\xbf",
            b"\xee\x80\x80",
            b"\xf0\x90\x80\x80",
            b"\xf4\x8f\xbf\xbf",
        ],
    )
    def test_accepts_boundary_code_points(self, data: bytes) -> None:
        assert first_invalid_offset(data) is None


class TestSection5_6FailFast:
    """RFC 6455 §5.6: a text frame may end mid-sequence; errors are found at the bad byte."""

    @given(utf8_like)
    @example(b"\xed\xa0")
    @example(b"\xe0\x80")
    def test_offset_is_first_byte_no_completion_can_fix(self, data: bytes) -> None:
        validator = Utf8Validator()
        validator.feed(data, final=True)
        assert validator.error_offset == oracle_offset(data)
        assert validator.error_start == oracle_start(data)

    @given(utf8_like)
    def test_every_prefix_fails_exactly_when_no_completion_exists(self, data: bytes) -> None:
        validator = Utf8Validator()
        for index in range(len(data)):
            still_valid = validator.feed(data[index : index + 1])
            assert still_valid is is_valid_prefix(data[: index + 1])
            if not still_valid:
                assert validator.error_offset == index
                break
        validator.feed(b"", final=True)
        assert validator.error_offset == oracle_offset(data)

    @given(utf8_like, st.lists(st.integers(min_value=0, max_value=20), max_size=6))
    def test_any_split_gives_the_same_verdict(self, data: bytes, cuts: list[int]) -> None:
        validator = feed_in_pieces(data, cuts)
        assert validator.error_offset == oracle_offset(data)
        assert validator.error_start == oracle_start(data)
        assert validator.bytes_fed == len(data)

    def test_truncated_sequence_is_pending_until_final(self) -> None:
        validator = Utf8Validator()
        assert validator.feed(b"a\xf0\x9f")
        assert validator.pending == 2
        assert validator.valid
        assert not validator.feed(b"", final=True)
        assert validator.error_offset == 3
        assert validator.error_start == 1
        assert validator.pending == 0

    @pytest.mark.parametrize(
        ("pieces", "offset"),
        [
            pytest.param([b"\xed\xa0"], 1, id="surrogate-prefix-in-one-feed"),
            pytest.param([b"x\xed", b"\xa0"], 2, id="surrogate-prefix-across-feeds"),
            pytest.param([b"\xf4", b"\x90"], 1, id="above-10ffff-across-feeds"),
            pytest.param([b"\xe0", b"\x80"], 1, id="overlong-across-feeds"),
        ],
    )
    def test_impossible_prefix_fails_before_final(self, pieces: list[bytes], offset: int) -> None:
        validator = Utf8Validator()
        results = [validator.feed(piece) for piece in pieces]
        assert results[-1] is False
        assert validator.error_offset == offset

    def test_sequence_split_across_feeds_is_valid(self) -> None:
        validator = Utf8Validator()
        for byte in "a€😀".encode():
            assert validator.feed(bytes([byte]))
        assert validator.feed(b"", final=True)
        assert validator.valid

    def test_input_after_error_is_counted_only(self) -> None:
        validator = Utf8Validator()
        assert not validator.feed(b"\xff")
        assert not validator.feed(bytearray(b"abc"))
        assert validator.bytes_fed == 4
        assert validator.error_offset == 0

    def test_accepts_memoryview_and_bytearray(self) -> None:
        validator = Utf8Validator()
        assert validator.feed(memoryview(b"\xe2\x82"))
        assert validator.feed(bytearray(b"\xac"), final=True)


class TestRfc3629Section4Syntax:
    """RFC 3629 §4: how many bytes of one character are well formed."""

    @pytest.mark.parametrize(
        ("data", "length"),
        [
            (b"", 0),
            (b"a", 1),
            (b"\x80", 0),
            (b"\xc2", 1),
            (b"\xc2\x80", 2),
            (b"\xe0\x9f", 1),
            (b"\xe0\xa0\x80", 3),
            (b"\xed\xa0", 1),
            (b"\xf0\x90\x80\x80\x80", 4),
            (b"\xf4\x90", 1),
            (b"\xf1\x80\x7f", 2),
        ],
    )
    def test_valid_prefix_length(self, data: bytes, length: int) -> None:
        assert valid_prefix_length(data) == length
