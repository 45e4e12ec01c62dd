"""Incremental, fail-fast, strict UTF-8 validation (RFC 3629 §4, as RFC 6455 §5.6, §8.1 require).

The error offset is *fail-fast*: the first byte at which the input stops being a prefix
of any valid UTF-8 text. An impossible byte is caught at that byte; a sequence cut
short is caught only at the end, when ``final=True``, at offset == total length.
"""

from __future__ import annotations

import codecs
from typing import Final

MAX_SEQUENCE: Final = 4
"""Longest UTF-8 sequence (RFC 3629 §3)."""

TAIL_LOW: Final = 0x80
TAIL_HIGH: Final = 0xBF
"""UTF8-tail = %x80-BF (RFC 3629 §4)."""

_LEAD_TAILS: Final[dict[int, int]] = {
    **dict.fromkeys(range(0xC2, 0xE0), 1),  # UTF8-2
    **dict.fromkeys(range(0xE0, 0xF0), 2),  # UTF8-3
    **dict.fromkeys(range(0xF0, 0xF5), 3),  # UTF8-4
}
"""Lead byte -> number of tail bytes (RFC 3629 §4). C0, C1 and F5-FF never occur."""

_SECOND_RANGE: Final[dict[int, tuple[int, int]]] = {
    0xE0: (0xA0, 0xBF),  # no overlong 3-byte forms
    0xED: (0x80, 0x9F),  # no surrogates U+D800-DFFF
    0xF0: (0x90, 0xBF),  # no overlong 4-byte forms
    0xF4: (0x80, 0x8F),  # nothing above U+10FFFF
}
"""Lead bytes whose second byte is narrower than UTF8-tail (RFC 3629 §4)."""


def valid_prefix_length(seq: bytes | bytearray | memoryview) -> int:
    """How many leading bytes of ``seq`` can begin one UTF-8 character (RFC 3629 §4).

    ``seq`` starts at a character boundary; counting stops after one character.
    """
    if not seq:
        return 0
    lead = seq[0]
    if lead < TAIL_LOW:
        return 1
    tails = _LEAD_TAILS.get(lead)
    if tails is None:
        return 0
    low, high = _SECOND_RANGE.get(lead, (TAIL_LOW, TAIL_HIGH))
    count = 1
    for byte in seq[1 : tails + 1]:
        if not low <= byte <= high:
            break
        count += 1
        low, high = TAIL_LOW, TAIL_HIGH
    return count


class Utf8Validator:
    """Validate UTF-8 fed in pieces; remember where it first became invalid."""

    __slots__ = ("_pending", "bytes_fed", "error_offset", "error_start", "finished")

    def __init__(self) -> None:
        self._pending = b""
        self.bytes_fed = 0
        """Total bytes passed to :meth:`feed`."""
        self.error_offset: int | None = None
        """Offset of the first byte that made the input definitely invalid (fail-fast)."""
        self.error_start: int | None = None
        """Offset where the offending sequence starts (<= ``error_offset``)."""
        self.finished = False

    @property
    def valid(self) -> bool:
        """No invalid byte so far (a pending partial sequence still counts as valid)."""
        return self.error_offset is None

    @property
    def pending(self) -> int:
        """Bytes of an incomplete trailing sequence awaiting more input (0-3)."""
        return len(self._pending)

    def feed(self, data: bytes | bytearray | memoryview, final: bool = False) -> bool:
        """Validate the next ``data``; ``final`` marks the end of the text.

        Returns whether the input is still valid. After the first error further input
        is only counted.
        """
        size = len(data)
        base = self.bytes_fed - len(self._pending)
        self.bytes_fed += size
        self.finished = self.finished or final
        if self.error_offset is not None:
            return False
        buf = self._pending + data if self._pending else bytes(data)
        if buf.isascii():
            self._pending = b""
            return True
        try:
            _, consumed = codecs.utf_8_decode(buf, "strict", final)
        except UnicodeDecodeError as exc:
            self._fail(base, buf, exc.start)
            return False
        rest = buf[consumed:]
        # CPython waits for more input on some impossible prefixes (ED A0): check here.
        if valid_prefix_length(rest) < len(rest):
            self._fail(base, buf, consumed)
            return False
        self._pending = rest
        return True

    def _fail(self, base: int, buf: bytes, start: int) -> None:
        self._pending = b""
        self.error_start = base + start
        self.error_offset = self.error_start + valid_prefix_length(
            memoryview(buf)[start : start + MAX_SEQUENCE]
        )


def first_invalid_offset(data: bytes | bytearray | memoryview) -> int | None:
    """Fail-fast offset of the first invalid byte of a complete text, or None if valid."""
    validator = Utf8Validator()
    validator.feed(data, final=True)
    return validator.error_offset


NOT_UTF8_SEQUENCES: Final[tuple[bytes, ...]] = (
    b"\x80",  # a lone continuation byte
    b"\xbf",
    b"\xc0\xaf",  # overlong 2-byte form
    b"\xc1\xbf",
    b"\xe0\x80\xaf",  # overlong 3-byte form
    b"\xf0\x80\x80\xaf",  # overlong 4-byte form
    b"\xed\xa0\x80",  # a surrogate, U+D800
    b"\xed\xbf\xbf",  # U+DFFF
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xf5\x80\x80\x80",
    b"\xfe",
    b"\xff",
    b"\xc3",  # a sequence cut short
    b"\xe2\x82",
    b"\xf0\x9f\x98",
)
"""Sequences that are not UTF-8 (RFC 3629 §4), each invalid wherever it stands."""
