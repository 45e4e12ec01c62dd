"""The peer's answer to an opening handshake: reading it, bounded by the connection's
deadline, and ending a connection a probe no longer needs once it was accepted."""

from __future__ import annotations

from typing import Final

from ..driver import Connection, DeadlineExceeded
from ..model.codec import close_payload, encode_frame
from ..model.constants import Opcode
from ..model.frames import Frame
from ..model.handshake import ResponseReader

__all__ = ["courtesy_close", "read_response"]

COURTESY_MASK: Final = b"\x37\xfa\x21\x3d"
NORMAL_CLOSURE: Final = 1000  # RFC 6455 §7.4.1


def courtesy_close() -> bytes:
    """A masked Close 1000 (RFC 6455 §5.5.1, §5.3), so an accepted probe connection ends
    cleanly."""
    return encode_frame(Frame(Opcode.CLOSE, close_payload(NORMAL_CLOSURE), mask=COURTESY_MASK))


async def read_response(conn: Connection, reader: ResponseReader) -> bool:
    """Feed ``reader`` until the answer is complete (a response head, an error, or the end
    of the connection); True if the deadline came first."""
    try:
        while not reader.done:
            reader.feed(await conn.receive())
    except DeadlineExceeded:
        return True
    return False
