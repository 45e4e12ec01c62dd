"""Frame encoder (RFC 6455 §5.2) that writes any frame, legal or not, and masking (§5.3)."""

from __future__ import annotations

from conformance.model.constants import (
    CLOSE_CODE_SIZE,
    LENGTH_16BIT_MARKER,
    LENGTH_64BIT_MARKER,
    MASK_KEY_SIZE,
    MAX_7BIT_LENGTH,
    MAX_16BIT_LENGTH,
)
from conformance.model.frames import Frame, LengthForm

FIN_BIT = 0x80
RSV1_BIT = 0x40
RSV2_BIT = 0x20
RSV3_BIT = 0x10
OPCODE_BITS = 0x0F
MASK_BIT = 0x80
PAYLOAD_LEN_BITS = 0x7F
LENGTH_64_MSB = 1 << 63
MAX_64BIT_FIELD = 2**64 - 1
MAX_CLOSE_CODE = 0xFFFF


_XOR_TABLES = tuple(bytes(b ^ k for b in range(256)) for k in range(256))
"""For each key byte, the table that XORs every byte value with it."""


def apply_mask(data: bytes | bytearray | memoryview, key: bytes) -> bytes:
    """XOR ``data`` with the 4-byte masking ``key`` repeated (RFC 6455 §5.3).

    Masking and unmasking are the same operation. Byte ``i`` is XORed with
    ``key[i % 4]``: each of the four strided slices goes through one translation table
    (C speed, no per-byte Python loop).
    """
    if len(key) != MASK_KEY_SIZE:
        raise ValueError(f"masking key must be {MASK_KEY_SIZE} bytes, got {len(key)}")
    source = data if isinstance(data, bytes) else bytes(data)
    if not source:
        return b""
    out = bytearray(source)
    for offset in range(MASK_KEY_SIZE):
        out[offset::MASK_KEY_SIZE] = source[offset::MASK_KEY_SIZE].translate(
            _XOR_TABLES[key[offset]]
        )
    return bytes(out)


def _length_field(frame: Frame) -> bytes:
    """The 7-bit length and extended length bytes, without the MASK bit (§5.2)."""
    length = len(frame.payload) if frame.declared_length is None else frame.declared_length
    if not 0 <= length <= MAX_64BIT_FIELD:
        raise ValueError(f"length {length} does not fit the 64-bit length field")
    form = frame.length_form
    if form is LengthForm.MINIMAL:
        if frame.length_msb or length > MAX_16BIT_LENGTH:
            form = LengthForm.BITS64
        elif length > MAX_7BIT_LENGTH:
            form = LengthForm.BITS16
        else:
            return bytes([length])
    if form is LengthForm.BITS16:
        if frame.length_msb:
            raise ValueError("length_msb needs the 64-bit length form")
        if length > MAX_16BIT_LENGTH:
            raise ValueError(f"length {length} does not fit the 16-bit length field")
        return bytes([LENGTH_16BIT_MARKER]) + length.to_bytes(2, "big")
    if frame.length_msb:
        length |= LENGTH_64_MSB
    return bytes([LENGTH_64BIT_MARKER]) + length.to_bytes(8, "big")


def frame_header(frame: Frame) -> bytes:
    """The header bytes of ``frame``, masking key included (RFC 6455 §5.2)."""
    if not 0 <= frame.opcode <= OPCODE_BITS:
        raise ValueError(f"opcode {frame.opcode} does not fit in 4 bits")
    first = frame.opcode
    if frame.fin:
        first |= FIN_BIT
    if frame.rsv1:
        first |= RSV1_BIT
    if frame.rsv2:
        first |= RSV2_BIT
    if frame.rsv3:
        first |= RSV3_BIT
    length = bytearray(_length_field(frame))
    if frame.mask is None:
        return bytes([first]) + length
    if len(frame.mask) != MASK_KEY_SIZE:
        raise ValueError(f"masking key must be {MASK_KEY_SIZE} bytes, got {len(frame.mask)}")
    length[0] |= MASK_BIT
    return bytes([first]) + length + frame.mask


def encode_frame(frame: Frame) -> bytes:
    """Exactly the bytes ``frame`` describes, masking the payload if it has a key (§5.2, §5.3).

    Raises :class:`ValueError` only for what cannot be written at all (opcode > 15,
    a key that is not 4 bytes, a length that does not fit the chosen field).
    """
    header = frame_header(frame)
    if frame.mask is None:
        return header + frame.payload
    return header + apply_mask(frame.payload, frame.mask)


def close_payload(code: int | None, reason: bytes = b"") -> bytes:
    """A Close body: 2-byte ``code`` then raw ``reason`` bytes (RFC 6455 §5.5.1).

    Any 16-bit code is written, including ones that must never be sent (1005, 1006,
    1015, 0, 65535); the reason is not validated or truncated. ``None`` is the empty
    body.
    """
    if code is None:
        if reason:
            raise ValueError("a close reason needs a status code")
        return b""
    if not 0 <= code <= MAX_CLOSE_CODE:
        raise ValueError(f"close code {code} does not fit in {CLOSE_CODE_SIZE} bytes")
    return code.to_bytes(CLOSE_CODE_SIZE, "big") + reason
