"""Deterministic message payloads, regenerated to compare echoes (RFC 6455 §5.6, §10.4)."""

from __future__ import annotations

import hashlib

PayloadRecipe = tuple[int, int, int]
"""(opcode, size, seed): a message the suite sends, regenerated to compare echoes."""

_ASCII = bytes(0x21 + (i % 94) for i in range(256))  # printable, no space
_TEXT_BLOCK = 16  # 6 ASCII, "é" (2), "€" (3), "😀" (4), 1 ASCII
_MULTIBYTE = ((6, b"\xc3\xa9"), (8, b"\xe2\x82\xac"), (11, b"\xf0\x9f\x98\x80"))


def pattern_payload(opcode: int, size: int, seed: int) -> bytes:
    """``size`` deterministic, non-repeating bytes; valid UTF-8 when ``opcode`` is text.

    Binary: a SHAKE-128 stream of ``seed``. Text: the same stream mapped to printable
    ASCII, with "é", "€" and "😀" in every 16-byte block (one 1-, 2-, 3- and 4-byte
    sequence each), so an echo is checked byte for byte without storing it.
    """
    stream = hashlib.shake_128(seed.to_bytes(8, "big")).digest(size) if size else b""
    if opcode != 1:
        return stream
    out = bytearray(stream.translate(_ASCII))
    blocks = size // _TEXT_BLOCK
    for offset, char in _MULTIBYTE:
        for i, byte in enumerate(char):
            start = offset + i
            out[start : blocks * _TEXT_BLOCK : _TEXT_BLOCK] = bytes([byte]) * blocks
    return bytes(out)
