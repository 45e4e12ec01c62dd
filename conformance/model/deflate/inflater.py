"""The strict inflater for the server's compressed messages, and the RSV1 checks (RFC 7692).

Each payload gets ``00 00 ff ff`` appended and is raw-inflated (§7.2.2) with EXACTLY the
agreed ``server_max_window_bits`` window (``decompressobj(-N)``; zlib inflates with N = 8),
with a fresh inflater per message when ``server_no_context_takeover`` was agreed (§7.2.1).
A back-reference beyond what that window holds is zlib's "invalid distance too far back":
the server used a bigger window or kept its context. The message is then re-inflated under
looser rules to say which (window, context, or plain corrupt data).

zlib lets a back-reference reach into the output of the current ``inflate()`` call as well as
the window, so output is produced at most ``step`` bytes a call (``2**N / 8`` by default): a
distance up to ``2**N + step - 1`` goes unnoticed. The context check is exact at any step: a
fresh inflater lets no reference reach before the message's first byte. Probes whose
matches lie far beyond the window (:func:`.probes.beyond_window`) are caught at any step.

Output is bounded: a message inflating to more than ``max_size`` bytes is cut off there
(``too_large``), so a decompression bomb cannot exhaust memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

from conformance.model.constants import Opcode, is_control_opcode
from conformance.model.deflate import requirements as req
from conformance.model.deflate.compressor import SYNC_TAIL
from conformance.model.deflate.memo import WindowMemo
from conformance.model.deflate.params import MAX_WINDOW_BITS, WindowRule
from conformance.model.violations import Violation

STEP_FRACTION: Final = 8
"""By default output comes ``2**N / 8`` bytes a zlib call: a 12.5% slack (module docstring)."""

MIN_STEP: Final = 32

INPUT_CHUNK: Final = 4096
"""Input bytes handed to zlib at a time, so the unconsumed tail it copies stays small."""

FINAL_EMPTY_BLOCK: Final = b"\x01\x00\x00\xff\xff"
"""An empty stored block with BFINAL set: ends a stream that sits at a block boundary."""

TOO_FAR_BACK: Final = "invalid distance too far back"


@dataclass(frozen=True, slots=True)
class Inflated:
    """One message inflated: its bytes, or the violation that stopped it, or ``too_large``."""

    data: bytes | None
    violation: Violation | None = None
    too_large: bool = False


class StrictInflater:
    """Inflate the server's compressed messages in order under the agreed ``rule`` (§7.2.2)."""

    def __init__(
        self,
        rule: WindowRule,
        *,
        max_size: int,
        step: int | None = None,
        memo: WindowMemo | None = None,
    ) -> None:
        self.rule = rule
        self.max_size = max_size
        self.step = step or max(rule.window_size // STEP_FRACTION, MIN_STEP)
        self._memo = memo
        self._inflater: zlib._Decompress | None = None
        self._history = b""  # the last 32,768 bytes inflated: context, and the diagnosis

    def inflate(self, payload: bytes) -> Inflated:
        """One compressed message's payload (the concatenated frames; RSV1 was set on the first).

        With a ``memo`` (:mod:`.memo`), a payload already inflated after the same window
        gives the same bytes without being inflated again: the result, a violation
        included, depends on nothing else. Only successes are memoised.
        """
        memo = self._memo if self._memo is not None and self._memo.worth(payload) else None
        inflater = self._inflater
        fresh = inflater is None or self.rule.no_context_takeover
        window = self._window_before(bytearray()) if memo is not None or fresh else b""
        if memo is not None and (found := memo.get(window, payload)) is not None:
            self._inflater = None  # its window fell behind; the next one is primed
            self._remember(found)
            return Inflated(found)
        if inflater is None or fresh:
            inflater = self._new_inflater(window)
        try:
            result = self._run(inflater, payload + SYNC_TAIL)
        except zlib.error as exc:
            violation = self._diagnose(payload, str(exc))
            self._inflater, self._history = None, b""
            return Inflated(None, violation)
        if isinstance(result, Inflated):
            self._inflater, self._history = None, b""
            return result
        data, inflater = result
        self._inflater = None if self.rule.no_context_takeover else inflater
        if memo is not None:
            memo.put(window, payload, data)
        self._remember(data)
        return Inflated(data)

    def _remember(self, data: bytes) -> None:
        """Keep the last 32,768 bytes inflated (the context, and the diagnosis's history)."""
        size = 1 << MAX_WINDOW_BITS
        self._history = data[-size:] if len(data) >= size else _tail(self._history + data, size)

    def _run(
        self, inflater: zlib._Decompress, data: bytes
    ) -> tuple[bytes, zlib._Decompress] | Inflated:
        """Inflate ``data`` ``step`` bytes of output a call, restarting after a BFINAL block."""
        out = bytearray()
        empty = len(data) == len(SYNC_TAIL)
        pos = 0
        while pos < len(data):
            pending = data[pos : pos + INPUT_CHUNK]
            pos += len(pending)
            while pending:
                out += inflater.decompress(pending, self.step)
                if len(out) > self.max_size:
                    return Inflated(None, too_large=True)
                if inflater.eof:
                    # §7.2.1: blocks may follow a BFINAL block; the window carries on.
                    data = inflater.unused_data + data[pos:]
                    pos = 0
                    inflater = self._new_inflater(self._window_before(out))
                    break
                pending = inflater.unconsumed_tail
        while drained := inflater.decompress(b"", self.step):
            out += drained
            if len(out) > self.max_size:
                return Inflated(None, too_large=True)
        if not _at_block_boundary(inflater):
            detail = "the payload does not end with an empty stored block, 00 00 ff ff removed"
            if empty:
                detail = "an empty payload holds no DEFLATE block (§7.2.3.6: send 0x00)"
            return Inflated(None, Violation(req.PMD_EMPTY_BLOCK_TAIL, detail))
        return bytes(out), inflater

    def _window_before(self, out: bytearray) -> bytes:
        """What the agreed window holds at this point of the message."""
        previous = b"" if self.rule.no_context_takeover else self._history
        return _tail(previous + bytes(out), self.rule.window_size)

    def _new_inflater(self, history: bytes) -> zlib._Decompress:
        bits = self.rule.window_bits
        return zlib.decompressobj(-bits, zdict=history) if history else zlib.decompressobj(-bits)

    def _diagnose(self, payload: bytes, error: str) -> Violation:
        """Which rule a failed payload broke: the window, the context, or DEFLATE itself."""
        if TOO_FAR_BACK in error:
            own = b"" if self.rule.no_context_takeover else self._history
            if self.rule.window_bits < MAX_WINDOW_BITS and self._inflates(payload, own):
                detail = f"a back-reference beyond the agreed {self.rule.window_size}-byte window"
                return Violation(req.PMD_SERVER_WINDOW, detail)
            if (
                self.rule.no_context_takeover
                and self._history
                and self._inflates(payload, self._history)
            ):
                detail = "a back-reference into an earlier message under server_no_context_takeover"
                return Violation(req.PMD_SERVER_NO_CONTEXT, detail)
        return Violation(req.PMD_INFLATE, f"the payload does not inflate: {error}")

    def _inflates(self, payload: bytes, history: bytes) -> bool:
        """Whether ``payload`` inflates with a 32,768-byte window after ``history`` (bounded)."""
        inflater = (
            zlib.decompressobj(-MAX_WINDOW_BITS, zdict=history)
            if history
            else zlib.decompressobj(-MAX_WINDOW_BITS)
        )
        try:
            inflater.decompress(payload + SYNC_TAIL, self.max_size + 1)
        except zlib.error:
            return False
        return True


def _at_block_boundary(inflater: zlib._Decompress) -> bool:
    """True if the stream sits between blocks: a final empty stored block then ends it."""
    probe = inflater.copy()
    try:
        extra = probe.decompress(FINAL_EMPTY_BLOCK)
    except zlib.error:
        return False
    return probe.eof and not extra


def _tail(data: bytes, size: int) -> bytes:
    return data[-size:] if len(data) > size else data


class FrameBits(Protocol):
    """What :func:`check_rsv1` reads of a frame (RFC 6455 §5.2)."""

    @property
    def opcode(self) -> int: ...

    @property
    def rsv1(self) -> bool: ...


def check_rsv1(frames: Iterable[FrameBits], *, negotiated: bool) -> tuple[Violation, ...]:
    """RSV1 misuse in a sequence of frames, one violation per frame.

    Negotiated: RSV1 only on the first frame of a data message (RFC 7692 §6.1: not on
    control frames nor non-first fragments). Not negotiated: RSV1 is never set (RFC 6455
    §5.2, "MUST be 0 unless an extension is negotiated that defines meanings").
    """
    violations: list[Violation] = []
    for index, frame in enumerate(frames):
        if not frame.rsv1:
            continue
        if not negotiated:
            detail = f"frame {index}: RSV1 set without a negotiated extension"
            violations.append(Violation(req.RFC6455_RSV_NOT_NEGOTIATED, detail))
        elif is_control_opcode(frame.opcode):
            violations.append(
                Violation(
                    req.PMD_RSV1_CONTROL_OR_CONTINUATION, f"frame {index}: RSV1 on a control frame"
                )
            )
        elif frame.opcode == Opcode.CONTINUATION:
            violations.append(
                Violation(
                    req.PMD_RSV1_CONTROL_OR_CONTINUATION, f"frame {index}: RSV1 on a continuation"
                )
            )
    return tuple(violations)
