"""Reading the peer's answer to an opening handshake, bounded by the connection's deadline."""

from __future__ import annotations

from ..driver import Connection, DeadlineExceeded
from ..model.handshake import ResponseReader

__all__ = ["read_response"]


async def read_response(conn: Connection, reader: ResponseReader) -> bool:
    """Feed ``reader`` until the answer is complete (a response head, an error, or the end
    of the connection); True if the deadline came first."""
    try:
        while not reader.done:
            reader.feed(await conn.receive())
    except DeadlineExceeded:
        return True
    return False
