"""Payloads that make a window or context breach visible in the server's output (RFC 7692 §7.2.1).

Random (incompressible) bytes repeated: a compressor finds the repeat only as a back-reference
at the block's length. Longer than ``2**N`` bytes, that distance is beyond an N-bit window, so a
server that ignores ``server_max_window_bits=N`` emits it and the strict inflater rejects it.
The same block sent as two messages makes a server that keeps context under
``server_no_context_takeover`` reference the previous message.
"""

from __future__ import annotations

import random
from typing import Final

from conformance.model.deflate.params import MAX_WINDOW_BITS

WINDOW_MARGIN: Final = 1024
"""At least this many bytes beyond ``2**N`` in each block, and at least ``2**N / 2``: beyond
the inflater's default step (``2**N / 8``), within zlib's 32,506-byte reach at N = 14."""


def random_block(size: int, *, seed: int = 0) -> bytes:
    """``size`` deterministic pseudo-random bytes: DEFLATE finds no match inside them."""
    return random.Random(seed).randbytes(size)


def beyond_window(bits: int, *, repeats: int = 2, seed: int = 0) -> bytes:
    """A random block longer than ``2**bits`` (see WINDOW_MARGIN), ``repeats`` times (bits 8..14).

    Compressed with a 32 KB window, every repeat back-references the previous copy at a
    distance beyond ``2**bits``; with an N-bit window it cannot.
    """
    if bits >= MAX_WINDOW_BITS:
        raise ValueError("nothing lies beyond a 15-bit window (RFC 7692 §7.2.1: 32,768 bytes)")
    window = 1 << bits
    return random_block(window + max(WINDOW_MARGIN, window // 2), seed=seed) * repeats
