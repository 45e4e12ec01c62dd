"""The suite's own compressed messages, honouring the agreed client rule (RFC 7692 §7.2.1).

Each message is deflated, flushed with ``Z_SYNC_FLUSH`` (which ends it with an empty stored
block) and its trailing ``00 00 ff ff`` removed (§7.2.1 steps 1-3, §7.3). zlib cannot deflate
with an 8-bit window (``wbits=-8`` is rejected, madler/zlib#171), so under a window of 8 the
compressor never emits a back-reference: Huffman-only or stored blocks are valid under any
window, and it never claims a window it cannot honour.
"""

from __future__ import annotations

import zlib
from typing import Final, Literal

from conformance.model.deflate.memo import WindowMemo
from conformance.model.deflate.params import WindowRule

SYNC_TAIL: Final = b"\x00\x00\xff\xff"
"""The octets §7.2.1 step 3 removes and §7.2.2 step 1 appends."""

EMPTY_STORED_BLOCK: Final = b"\x00"
"""BFINAL 0, BTYPE 00 and padding: an empty stored block once the tail is appended (§7.2.3.6)."""

ZLIB_MIN_DEFLATE_BITS: Final = 9
"""The smallest window zlib deflates with; it rejects raw ``wbits=-8`` (madler/zlib#171)."""

DEFAULT_RULE: Final = WindowRule()
"""No parameter agreed: a 32,768-byte window, context kept (RFC 7692 §7.1)."""

STORED_BLOCK_MAX: Final = 0xFFFF
"""A stored block holds at most 65,535 bytes (RFC 1951 §3.2.4, LEN is 16 bits)."""

Strategy = Literal["default", "huffman", "stored", "filtered", "fixed"]
_ZLIB_STRATEGY: Final[dict[str, int]] = {
    "default": zlib.Z_DEFAULT_STRATEGY,
    "huffman": zlib.Z_HUFFMAN_ONLY,
    "filtered": zlib.Z_FILTERED,
    "fixed": zlib.Z_FIXED,
    "stored": zlib.Z_DEFAULT_STRATEGY,
}
_NO_DISTANCE_STRATEGIES: Final = frozenset({"huffman", "stored"})


class MessageCompressor:
    """Compress the suite's messages one at a time under ``rule`` (RFC 7692 §7.2.1).

    ``strategy``: ``default`` (LZ77 + Huffman), ``huffman`` (no back-references), ``stored``
    (no compression: level 0), ``filtered`` or ``fixed`` (fixed Huffman codes). Under a
    window of 8 ``default``, ``filtered`` and ``fixed`` become ``huffman``. ``level`` is zlib's
    (1 fastest, 9 smallest). With ``no_context_takeover`` each message starts with an empty
    window (``Z_FULL_FLUSH``).

    ``memo``: a whole message whose (window, data) pair was compressed before gets the same
    payload again (:mod:`.memo`): valid, since the peer's window holds the same bytes. The
    zlib stream then no longer matches, so the next message not found starts a compressor
    primed with the window (``zdict``) instead.
    """

    def __init__(
        self,
        rule: WindowRule,
        *,
        strategy: Strategy = "default",
        level: int = zlib.Z_DEFAULT_COMPRESSION,
        memo: WindowMemo | None = None,
    ) -> None:
        if rule.window_bits < ZLIB_MIN_DEFLATE_BITS and strategy not in _NO_DISTANCE_STRATEGIES:
            strategy = "huffman"
        self.rule = rule
        self.strategy: Strategy = strategy
        self._level = 0 if strategy == "stored" else level
        self._wbits = max(rule.window_bits, ZLIB_MIN_DEFLATE_BITS)
        self._flush = zlib.Z_FULL_FLUSH if rule.no_context_takeover else zlib.Z_SYNC_FLUSH
        self._memo = memo
        self._deflater: zlib._Compress | None = None
        self._window = b""
        """The last ``2**wbits`` bytes compressed: what back-references may reach (§7.2.1)."""
        self._open = False
        """A message was begun with :meth:`compress_unflushed` or :meth:`compress_fragment`."""

    def compress(self, data: bytes) -> bytes:
        """One message's payload: deflate, flush, strip the trailing ``00 00 ff ff`` (§7.2.1)."""
        window = self._window
        memoised = self._memo is not None and not self._open and self._memo.worth(data)
        if memoised and self._memo is not None:
            found = self._memo.get(window, data)
            if found is not None:
                if not self.rule.no_context_takeover:  # the stream's window fell behind
                    self._deflater = None
                self._advance(data)
                return found
        deflater = self._live()
        out = deflater.compress(data) + deflater.flush(self._flush)
        if not out.endswith(SYNC_TAIL):  # pragma: no cover - zlib's flushes always end so
            raise AssertionError("zlib flush did not end with an empty stored block")
        out = out[: -len(SYNC_TAIL)]
        if memoised and self._memo is not None:
            self._memo.put(window, data, out)
        self._advance(data)
        self._open = False
        return out

    def compress_unflushed(self, data: bytes) -> bytes:
        """Deflate ``data`` into the current message without flushing: a fragment's bytes so far.

        The bytes end wherever zlib stopped, possibly mid-block; :meth:`compress` completes the
        message. The two concatenated are one message's payload (§7.2.1, "fragments").
        """
        out = self._live().compress(data)
        self._advance(data)
        self._open = True
        return out

    def compress_fragment(self, data: bytes) -> bytes:
        """A non-final fragment aligned to a byte boundary: the tail is NOT removed (§7.2.1)."""
        deflater = self._live()
        out = deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH)
        self._advance(data)
        self._open = True
        return out

    def _live(self) -> zlib._Compress:
        """The zlib stream, started (primed with the window) if a memo hit left none."""
        if self._deflater is None:
            strategy = _ZLIB_STRATEGY[self.strategy]
            self._deflater = (
                zlib.compressobj(
                    self._level, zlib.DEFLATED, -self._wbits, strategy=strategy, zdict=self._window
                )
                if self._window
                else zlib.compressobj(self._level, zlib.DEFLATED, -self._wbits, strategy=strategy)
            )
        return self._deflater

    def _advance(self, data: bytes) -> None:
        """Slide the window over ``data`` (kept empty without context takeover)."""
        if self.rule.no_context_takeover:
            return
        size = 1 << self._wbits
        if len(data) >= size:
            self._window = data[-size:]
        elif data:
            self._window = (self._window + data)[-size:]


def compress_message(data: bytes, rule: WindowRule = DEFAULT_RULE) -> bytes:
    """One message compressed by a fresh compressor under ``rule`` (RFC 7692 §7.2.1)."""
    return MessageCompressor(rule).compress(data)


def stored_block(data: bytes) -> bytes:
    """``data`` in stored (BTYPE 00) blocks, then the empty block whose tail is removed (§7.2.3.3).

    ``stored_block(b"Hello")`` is the payload of RFC 7692 §7.2.3.3's example frame.
    """
    out = bytearray()
    for start in range(0, max(len(data), 1), STORED_BLOCK_MAX):
        chunk = data[start : start + STORED_BLOCK_MAX]
        out += (
            b"\x00"
            + len(chunk).to_bytes(2, "little")
            + (len(chunk) ^ 0xFFFF).to_bytes(2, "little")
            + chunk
        )
    return bytes(out + EMPTY_STORED_BLOCK)


def bfinal_block(data: bytes, rule: WindowRule = DEFAULT_RULE) -> bytes:
    """``data`` in a block with BFINAL set, padded, then ``0x00`` (RFC 7692 §7.2.3.4).

    ``bfinal_block(b"Hello")`` is ``f3 48 cd c9 c9 07 00 00``, the §7.2.3.4 example.
    """
    wbits = max(rule.window_bits, ZLIB_MIN_DEFLATE_BITS)
    strategy = (
        zlib.Z_HUFFMAN_ONLY if rule.window_bits < ZLIB_MIN_DEFLATE_BITS else zlib.Z_DEFAULT_STRATEGY
    )
    deflater = zlib.compressobj(
        zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -wbits, strategy=strategy
    )
    return deflater.compress(data) + deflater.flush(zlib.Z_FINISH) + EMPTY_STORED_BLOCK


def two_blocks(first: bytes, second: bytes, rule: WindowRule = DEFAULT_RULE) -> bytes:
    """``first`` and ``second`` in two blocks split by a sync flush (RFC 7692 §7.2.3.5).

    ``two_blocks(b"He", b"llo")`` is the §7.2.3.5 example.
    """
    compressor = MessageCompressor(WindowRule(rule.window_bits))
    return compressor.compress_fragment(first) + compressor.compress(second)


def empty_final_fragment() -> bytes:
    """The last fragment's payload when no data is left: ``0x00`` (RFC 7692 §7.2.3.6)."""
    return EMPTY_STORED_BLOCK


def empty_message() -> bytes:
    """A compressed empty message as zlib writes it (``00``; RFC 7692 §7.2.1, §7.2.3.6)."""
    return compress_message(b"")


def context_pair(
    first: bytes, second: bytes, rule: WindowRule = DEFAULT_RULE
) -> tuple[bytes, bytes]:
    """Two messages, the second compressed with the first's window (RFC 7692 §7.2.2, §7.2.3.2).

    With ``second == first`` the second payload back-references the first: a peer that does
    not keep its inflate context cannot decompress it.
    """
    compressor = MessageCompressor(WindowRule(rule.window_bits, no_context_takeover=False))
    return compressor.compress(first), compressor.compress(second)
