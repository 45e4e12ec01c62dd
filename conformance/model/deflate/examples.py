"""The payloads RFC 7692 §7.2.3 prints, each the message "Hello" (or its repeat)."""

from __future__ import annotations

from typing import Final

HELLO: Final = b"Hello"

ONE_BLOCK: Final = bytes.fromhex("f248cdc9c90700")
"""One fixed-Huffman block, BFINAL 0, tail removed (RFC 7692 §7.2.3.1)."""

ONE_BLOCK_FRAGMENTS: Final = (bytes.fromhex("f248cd"), bytes.fromhex("c9c90700"))
"""§7.2.3.1's split into fragments of 3 and 4 octets (RSV1 on the first frame only)."""

SHARED_WINDOW_SECOND: Final = bytes.fromhex("f200110000")
"""The second "Hello" back-referencing the first, context taken over (RFC 7692 §7.2.3.2)."""

STORED: Final = bytes.fromhex("000500faff48656c6c6f00")
"""A block with no compression (RFC 7692 §7.2.3.3)."""

BFINAL: Final = bytes.fromhex("f348cdc9c9070000")
"""A block with BFINAL set, then ``0x00`` (RFC 7692 §7.2.3.4)."""

TWO_BLOCKS: Final = bytes.fromhex("f24805000000ffffcac9c90700")
"""Two blocks: "He", an empty stored block, "llo" (RFC 7692 §7.2.3.5)."""

EMPTY_FRAGMENT: Final = b"\x00"
"""The final fragment carrying no data (RFC 7692 §7.2.3.6)."""
