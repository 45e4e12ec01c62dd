"""The reference server's own permessage-deflate codec, with zlib (RFC 7692 §7.2).

:class:`ServerDeflater` compresses the server's messages under the agreed window and
context rule (§7.2.1); :class:`ServerInflater` decompresses the client's (§7.2.2).
This is the server's job, not the suite's strict checking (that is
:mod:`conformance.model.deflate`): it is lenient only where the text lets a receiver be.
"""

from __future__ import annotations

import zlib
from typing import Final

FLUSH_MARKER: Final = b"\x00\x00\xff\xff"
"""The empty stored block a sync flush ends with, removed by the sender (§7.2.1) and
appended by the receiver (§7.2.2)."""

SMALLEST_ZLIB_WINDOW: Final = 9
"""zlib rejects ``wbits=-8`` for compression (madler/zlib#171)."""

COMPRESSION_LEVEL: Final = zlib.Z_DEFAULT_COMPRESSION


class InflateError(Exception):
    """A compressed message is not valid DEFLATE data (§7.2.2)."""


class InflatedTooLarge(Exception):
    """A compressed message inflates past the size limit (RFC 6455 §10.4)."""


class ServerDeflater:
    """Compress one message at a time (§7.2.1): DEFLATE, sync flush, marker removed.

    ``window_bits`` bounds back-references (§7.1.2.1); for 8, which zlib cannot compress
    with, the output is Huffman-only (no back-references at all), so the agreed 8 is
    honoured, never widened to 9. Without ``keep_context`` every message starts with an
    empty window (§7.1.1.1).
    """

    def __init__(self, window_bits: int, keep_context: bool) -> None:
        self.window_bits = window_bits
        self.keep_context = keep_context
        self._compressor: zlib._Compress | None = None

    def _new(self) -> zlib._Compress:
        if self.window_bits < SMALLEST_ZLIB_WINDOW:
            return zlib.compressobj(
                COMPRESSION_LEVEL, zlib.DEFLATED, -SMALLEST_ZLIB_WINDOW, 8, zlib.Z_HUFFMAN_ONLY
            )
        return zlib.compressobj(COMPRESSION_LEVEL, zlib.DEFLATED, -self.window_bits)

    def compress(self, data: bytes) -> bytes:
        """One message's payload; an empty message gives the single octet 0x00 (§7.2.3.6)."""
        if self._compressor is None or not self.keep_context:
            self._compressor = self._new()
        out = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        return out.removesuffix(FLUSH_MARKER)


class ServerInflater:
    """Decompress one message at a time (§7.2.2), output bounded by ``max_size``.

    With ``keep_context`` (§7.2.2: "MUST decompress each new message using the LZ77
    sliding window used to process the last compressed message") the window survives
    a message ending in a BFINAL block (§7.2.3.4), passed to the next stream as its
    dictionary. A compressed message with an empty payload is the empty message.
    """

    def __init__(self, window_bits: int, keep_context: bool, max_size: int) -> None:
        self.window_bits = window_bits
        self.keep_context = keep_context
        self.max_size = max_size
        self._inflater: zlib._Decompress | None = None
        self._history = b""

    def _new(self) -> zlib._Decompress:
        if self.keep_context and self._history:
            return zlib.decompressobj(-self.window_bits, zdict=self._history)
        return zlib.decompressobj(-self.window_bits)

    def inflate(self, payload: bytes) -> bytes:
        """The message's data; raises :class:`InflateError` or :class:`InflatedTooLarge`."""
        if not payload:
            return b""
        inflater = self._inflater
        if inflater is None or inflater.eof or not self.keep_context:
            inflater = self._inflater = self._new()
        try:
            data = inflater.decompress(payload + FLUSH_MARKER, self.max_size + 1)
        except zlib.error as exc:
            self._inflater = None
            raise InflateError(str(exc)) from exc
        if len(data) > self.max_size:
            raise InflatedTooLarge(f"inflates past {self.max_size} bytes")
        if self.keep_context:
            size = 1 << self.window_bits
            self._history = (self._history + data[-size:])[-size:]
        return data
