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

COMPRESSION_LEVEL: Final = 1
"""zlib's fastest level: any valid DEFLATE stream conforms, and the full profile's 1000-message
rows cost the reference server a third of level 6's time."""


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
    dictionary. Within a message, blocks may follow a BFINAL block at the next byte
    boundary (§7.2.1: "The next DEFLATE block follows the padded data if any"): they are
    inflated with the window carried on; ``after_final=False`` stops at the BFINAL block
    and ``stored_ok=False`` fails a message opening with a stored block that holds data
    (faults' hooks). A compressed message with an empty payload is the empty message.
    """

    def __init__(
        self,
        window_bits: int,
        keep_context: bool,
        max_size: int,
        *,
        after_final: bool = True,
        stored_ok: bool = True,
    ) -> None:
        self.window_bits = window_bits
        self.keep_context = keep_context
        self.max_size = max_size
        self.after_final = after_final
        self.stored_ok = stored_ok
        self._inflater: zlib._Decompress | None = None
        self._history = b""

    def _new(self, within: bytes = b"") -> zlib._Decompress:
        """A raw inflater whose window holds the kept history (if any), then ``within``."""
        history = (self._history if self.keep_context else b"") + within
        history = history[-(1 << self.window_bits) :]
        if history:
            return zlib.decompressobj(-self.window_bits, zdict=history)
        return zlib.decompressobj(-self.window_bits)

    def inflate(self, payload: bytes) -> bytes:
        """The message's data; raises :class:`InflateError` or :class:`InflatedTooLarge`."""
        if not payload:
            return b""
        if not self.stored_ok and opens_stored_block(payload):
            raise InflateError("stored blocks not supported")
        inflater = self._inflater
        if inflater is None or inflater.eof or not self.keep_context:
            inflater = self._new()
        out = bytearray()
        pending = payload + FLUSH_MARKER
        try:
            while True:
                out += inflater.decompress(pending, self.max_size + 1 - len(out))
                if len(out) > self.max_size:
                    raise InflatedTooLarge(f"inflates past {self.max_size} bytes")
                pending = inflater.unused_data if inflater.eof else b""
                if not self.after_final or pending in (b"", FLUSH_MARKER):
                    break
                inflater = self._new(bytes(out))  # §7.2.1: the next block after BFINAL
        except zlib.error as exc:
            self._inflater = None
            raise InflateError(str(exc)) from exc
        self._inflater = inflater
        if self.keep_context:
            size = 1 << self.window_bits
            self._history = (self._history + bytes(out[-size:]))[-size:]
        return bytes(out)

    def take_uncompressed(self, data: bytes) -> None:
        """Put an uncompressed message into the inflate window: what §6.2 and §7.2.3.2 forbid
        ("the LZ77 sliding window is not updated"); only a fault's hook calls this."""
        size = 1 << self.window_bits
        self._history = (self._history + data[-size:])[-size:]
        self._inflater = None


STORED_HEADER: Final = 3
"""A stored block's first byte (BFINAL, BTYPE 00, padding) and its LEN (RFC 1951 §3.2.4)."""
BTYPE_BITS: Final = 0b110


def opens_stored_block(payload: bytes) -> bool:
    """The message's first block is a stored block holding data (BTYPE 00, LEN > 0): a
    message starts at a byte boundary, so its first block's header is the low bits of
    the first byte (RFC 1951 §3.2.3)."""
    if len(payload) < STORED_HEADER or payload[0] & BTYPE_BITS:
        return False
    return int.from_bytes(payload[1:STORED_HEADER], "little") > 0
