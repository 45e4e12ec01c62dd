"""The size-limit checks of the security profile, sans-IO (RFC 6455 §10.4, §7.4.1; RFC 7692 §6.2).

What the probes send (a decompression bomb built with zlib at run time, a frame header
announcing more than any limit), what they measure (the echo of a bomb, inflated under a
bound and never kept), and the behaviours the checks judge. Nothing here does I/O.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Final

from .codec import RSV1_BIT
from .constants import CloseCode
from .decoder import Message
from .frames import Frame
from .observed import Observed, TransportEnd
from .violations import Violation

LIMIT_CODES: Final = frozenset({CloseCode.MESSAGE_TOO_BIG, CloseCode.POLICY_VIOLATION})
"""§7.4.1: 1009 "too big for it to process"; 1008 "violates its policy" (the generic code)."""

SECONDS_TO_END: Final = "seconds_to_end"
"""Measure: seconds from the end of the probe until the server ended the connection."""
FRAGMENTS_SENT: Final = "fragments_sent"
"""Measure: frames of the unfinished message written before the server ended it."""
BYTES_SENT: Final = "bytes_sent"
"""Measure: bytes the probe wrote after the opening handshake."""
ECHO_COMPRESSED: Final = "echo_compressed_bytes"
"""Measure: the compressed size of the server's echo of a bomb."""
ECHO_INFLATED: Final = "echo_inflated_bytes"
"""Measure: what that echo inflates to (at most the bound, then "at least")."""
SERVER_DOWN: Final = "server_down"
"""Measure (1.0): after the probe ended the connection without a Close frame, a new
connection failed too: the server went down (a crash is no protection)."""

SYNC_TAIL: Final = b"\x00\x00\xff\xff"
"""The empty stored block a sync flush ends with, removed from a message (RFC 7692 §7.2.1)."""
ZERO_CHUNK: Final = 2**20
"""Bytes of zeros deflated a call while building a bomb: memory stays at one chunk."""
INFLATE_STEP: Final = 2**20
"""Bytes inflated a step while measuring an echo: memory stays at one step."""
MIN_WINDOW_BITS: Final = 9
"""zlib's smallest raw-deflate window (it turns 8 into 9, RFC 7692 §7.1.2.1)."""

_ENDED: Final = frozenset({TransportEnd.EOF, TransportEnd.RESET})


def bomb_payload(inflated_size: int, window_bits: int = 15) -> bytes:
    """One compressed message of ``inflated_size`` zero bytes (RFC 7692 §7.2.1): deflated a
    chunk at a time (about 1/1000 of the size comes out), flushed, the tail removed."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -max(window_bits, MIN_WINDOW_BITS))
    zeros = bytes(min(ZERO_CHUNK, inflated_size))
    parts: list[bytes] = []
    left = inflated_size
    while left > 0:
        step = min(left, len(zeros))
        parts.append(deflater.compress(zeros if step == len(zeros) else zeros[:step]))
        left -= step
    parts.append(deflater.flush(zlib.Z_SYNC_FLUSH))
    data = b"".join(parts)
    return data[: -len(SYNC_TAIL)] if data.endswith(SYNC_TAIL) else data


def inflated_size(payload: bytes, bound: int) -> tuple[int, bool]:
    """How many bytes ``payload`` (one compressed message, RFC 7692 §7.2.2) inflates to,
    counting at most ``bound``: (size, True) when it reached the bound. Nothing is kept;
    data that is not DEFLATE counts as far as it goes."""
    inflater = zlib.decompressobj(-15)
    size = 0
    pending = payload + SYNC_TAIL
    try:
        while pending and size < bound:
            out = inflater.decompress(pending, min(INFLATE_STEP, bound - size))
            size += len(out)
            pending = inflater.unconsumed_tail
            if not out and not pending:
                break
    except zlib.error:
        return size, False
    return size, size >= bound


@dataclass(slots=True)
class EchoMeter:
    """Reads the server's frames once permessage-deflate is agreed (an ``Inbound`` of the
    wire session): every data message is measured (compressed and inflated size, the
    inflation bounded by ``bound``) and dropped, so a bomb echoed back costs nothing."""

    bound: int
    allowed_rsv: int = RSV1_BIT
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compressed: int = 0
    inflated: int = 0
    echoes: int = 0
    reached_bound: bool = False

    def frame(self, frame: Frame) -> None:
        """Frames are not judged here (the frame rules have their own cases)."""

    def message(self, message: Message) -> Message | None:
        """Measure and drop: None (the session counts it as received, not kept)."""
        self.echoes += 1
        self.compressed += len(message.data)
        if message.rsv1:
            size, full = inflated_size(message.data, self.bound)
        else:
            size, full = len(message.data), False
        self.inflated += size
        self.reached_bound = self.reached_bound or full
        return None

    def record(self, observed: Observed) -> None:
        """Put what was measured into ``observed`` (measures and a one-line note)."""
        if not self.echoes:
            return
        observed.measures[ECHO_COMPRESSED] = float(self.compressed)
        observed.measures[ECHO_INFLATED] = float(self.inflated)
        least = "at least " if self.reached_bound else ""
        observed.notes.append(
            f"the server echoed {self.echoes} message(s): {self.compressed} compressed bytes "
            f"inflating to {least}{self.inflated} bytes"
        )


# --------------------------------------------------------------------------- behaviours


def _echoed(observed: Observed) -> bool:
    return bool(observed.messages) or ECHO_COMPRESSED in observed.measures


@dataclass(frozen=True, slots=True)
class LimitEnforced:
    """The server ended the connection on its own (a Close not answering the suite's, with
    a code from ``codes`` when given, or a TCP close), having echoed nothing of the probe
    and still serving new connections (RFC 6455 §10.4 "protect themselves", §7.1.7)."""

    codes: frozenset[int] | None = None

    def describe(self) -> str:
        if self.codes is None:
            how = "a Close frame or a TCP close"
        else:
            codes = "/".join(str(c) for c in sorted(self.codes))
            how = f"a Close frame with code {codes}"
        return f"the server ended the connection ({how}), echoing nothing"

    def matches(self, observed: Observed) -> bool:
        if _echoed(observed) or observed.continued or observed.measures.get(SERVER_DOWN):
            return False
        close = observed.close
        if close is not None:
            return not close.reply and (self.codes is None or close.code in self.codes)
        return self.codes is None and observed.transport in _ENDED


@dataclass(frozen=True, slots=True)
class LimitNotReached:
    """The connection stayed open through the probe, nothing ended it: no limit triggered."""

    def describe(self) -> str:
        return "no limit triggered (the connection stayed open)"

    def matches(self, observed: Observed) -> bool:
        return observed.close is None and observed.transport is TransportEnd.OPEN


@dataclass(frozen=True, slots=True)
class DroppedWithoutClose:
    """TCP closed (FIN or RST) without a Close frame: the limit held, the code is missing."""

    def describe(self) -> str:
        return "the TCP connection closed without a Close frame"

    def matches(self, observed: Observed) -> bool:
        return observed.close is None and observed.transport in _ENDED
