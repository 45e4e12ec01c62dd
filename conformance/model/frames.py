"""WebSocket frames as data (RFC 6455 §5.2), including frames the RFC forbids.

The encoder (:func:`conformance.model.codec.encode_frame`) writes exactly what a
:class:`Frame` says, so the suite can craft masked server frames, RSV bits, reserved
opcodes, non-minimal or MSB-set lengths, over-long or fragmented control frames and
any close code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class LengthForm(Enum):
    """How the payload length is written (RFC 6455 §5.2, "Payload length")."""

    MINIMAL = "minimal"  # 7-bit, 7+16-bit or 7+64-bit, whichever is shortest
    BITS16 = "16"  # always the 126 + 16-bit form
    BITS64 = "64"  # always the 127 + 64-bit form


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame, legal or not.

    ``opcode`` is any 4-bit value. ``mask`` is the 4-byte masking key, or None for an
    unmasked frame. ``payload`` is always the *unmasked* application data.
    ``declared_length`` overrides the length field (to lie about the length);
    ``length_msb`` sets the most significant bit of a 64-bit length field.
    """

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    mask: bytes | None = None
    length_form: LengthForm = LengthForm.MINIMAL
    declared_length: int | None = None
    length_msb: bool = False

    @property
    def is_control(self) -> bool:
        return self.opcode >= 0x8
