"""Test doubles for the hostile-server scenarios: a tiny JSON-lines client whose limits a
mode sets (``python tests/clients/hostile_clients.py MODE``; docs/client-adapters.md).

``limits``
    conforming: a 16 KiB response head, 1 MiB frames, 4 MiB messages; beyond them, or on
    a 64-bit length with its MSB set, it fails the connection (a Close, then TCP close).
``no-limits``
    no limit on the head, a frame or a message, and an MSB-set length taken as valid:
    it keeps whatever the server sends (RFC 6455 §10.4's WARN; §5.2's FAIL).
``crash``
    the limits of ``limits``, and at most 1,000 Pings, but the process dies (status 70)
    where it should fail the connection: a native client that aborts.
``impatient``
    ``limits`` with a 0.3 s cap on the opening handshake.

Only ``ws://`` URLs; no subprotocols, no extensions. Frames are decoded here, not by the
suite's model, so that a client without limits also reads fast.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from conformance.clients import adapter_lines as jsonlines
from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import Opcode
from conformance.model.frames import Frame
from conformance.model.handshake import accept_for

READ_CHUNK: Final = 64 * 1024
CRASH_STATUS: Final = 70
HEAD_END: Final = b"\r\n\r\n"
MSB: Final = 2**63
PROTOCOL_ERROR: Final = 1002
TOO_BIG: Final = 1009
CLOSE_WAIT: Final = 2.0
"""Seconds the client waits for the server's TCP close after the closing handshake."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one mode tolerates (None: no limit) and what it does at a limit."""

    head: int | None
    frame: int | None
    message: int | None
    pings: int | None = None
    handshake: float = 10.0
    crash: bool = False


_LIMITED = Limits(head=16 * 1024, frame=2**20, message=4 * 2**20)
MODES: Final = {
    "limits": _LIMITED,
    "no-limits": Limits(head=None, frame=None, message=None),
    "crash": Limits(16 * 1024, 2**20, 4 * 2**20, pings=1000, crash=True),
    "impatient": Limits(16 * 1024, 2**20, 4 * 2**20, handshake=0.3),
}


class LimitReached(Exception):
    """A limit of the mode was passed: the connection fails with ``code``."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


class HostileTestSession(jsonlines.Session):
    """One connection of the tiny client, with :attr:`limits`."""

    limits: Limits = _LIMITED

    def __init__(
        self,
        conn: int,
        url: str,
        protocols: list[str],
        ca_file: str | None,
        *,
        echo: bool = False,
    ) -> None:
        super().__init__(conn, url, protocols, ca_file, echo=echo)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.buffer = bytearray()

    # -- the opening handshake -------------------------------------------------------

    async def connect(self) -> None:
        async with asyncio.timeout(self.limits.handshake):
            await self._handshake()
        jsonlines.emit("open", self.conn, protocol="", extensions="")

    async def _handshake(self) -> None:
        parts = urlsplit(self.url)
        host, port = parts.hostname or "", parts.port or 80
        self.reader, self.writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16))
        request = (
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.writer.write(request.encode())
        await self.writer.drain()
        searched = 0  # the head's end is looked for in new bytes only
        while (end := self.buffer.find(HEAD_END, searched)) < 0:
            if self.limits.head is not None and len(self.buffer) > self.limits.head:
                self._crash_if_fragile()
                raise ValueError(f"response head over {self.limits.head} bytes")
            searched = max(0, len(self.buffer) - len(HEAD_END) + 1)
            data = await self.reader.read(READ_CHUNK)
            if not data:
                raise ConnectionError("the server closed before the end of the head")
            self.buffer += data
        head = bytes(self.buffer[:end])
        del self.buffer[: end + len(HEAD_END)]
        if not head.startswith(b"HTTP/1.1 101 ") or accept_for(key) not in head:
            raise ValueError("not a valid 101")

    def report_failure(self, exc: Exception) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        jsonlines.emit_exception(self.conn, "connect", exc)

    # -- after the 101 -----------------------------------------------------------------

    async def receive(self) -> None:
        message: list[bytes] = []
        size, opcode, pings = 0, 0, 0
        while True:
            try:
                fin, op, payload = await self._frame()
            except LimitReached as exc:
                await self._fail(exc.code, str(exc))
                return
            except EOFError:
                self._ended(1006, "", clean=False)
                return
            if op == Opcode.PING:
                pings += 1
                if self.limits.pings is not None and pings > self.limits.pings:
                    self._crash_if_fragile()
                await self._send(Frame(Opcode.PONG, payload))
            elif op == Opcode.CLOSE:
                await self._closing(payload)
                return
            elif op in (Opcode.TEXT, Opcode.BINARY, Opcode.CONTINUATION):
                if op != Opcode.CONTINUATION:
                    message, size, opcode = [], 0, op
                message.append(payload)
                size += len(payload)
                if self.limits.message is not None and size > self.limits.message:
                    self._crash_if_fragile()
                    await self._fail(TOO_BIG, f"message over {self.limits.message} bytes")
                    return
                if fin:
                    data = b"".join(message)
                    message = []
                    if opcode == Opcode.TEXT:
                        jsonlines.emit_message(self.conn, data.decode("utf-8", "replace"))
                    else:
                        jsonlines.emit_message(self.conn, data)

    async def _frame(self) -> tuple[bool, int, bytes]:
        """The next frame: FIN, opcode, payload; LimitReached at a limit, EOFError at EOF."""
        await self._fill(2)
        first, second = self.buffer[0], self.buffer[1]
        marker, at = second & 0x7F, 2
        extended = {126: 2, 127: 8}.get(marker, 0)
        await self._fill(at + extended)
        length = int.from_bytes(self.buffer[at : at + extended], "big") if extended else marker
        at += extended
        if length >= MSB and self.limits.frame is not None:
            raise LimitReached(PROTOCOL_ERROR, "a 64-bit length with its MSB set")
        if self.limits.frame is not None and length > self.limits.frame:
            self._crash_if_fragile()
            raise LimitReached(TOO_BIG, f"a frame of {length} bytes")
        await self._fill(at + length)
        payload = bytes(self.buffer[at : at + length])
        del self.buffer[: at + length]
        return bool(first & 0x80), first & 0x0F, payload

    async def _fill(self, size: int) -> None:
        assert self.reader is not None
        while len(self.buffer) < size:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                raise EOFError
            self.buffer += data

    def _crash_if_fragile(self) -> None:
        if self.limits.crash:
            os._exit(CRASH_STATUS)

    async def _closing(self, payload: bytes) -> None:
        """Answer the server's Close (§5.5.1), wait for its TCP close, report."""
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        await self._send(Frame(Opcode.CLOSE, payload[:2]))
        assert self.reader is not None
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                while await self.reader.read(READ_CHUNK):
                    pass
        except (TimeoutError, OSError):
            pass
        self._ended(code, payload[2:].decode("utf-8", "replace"), clean=True)

    async def _fail(self, code: int, why: str) -> None:
        jsonlines.emit("log", self.conn, message=f"failing the connection: {why}")
        await self._send(Frame(Opcode.CLOSE, close_payload(code)))
        self._ended(1006, "", clean=False)

    def _ended(self, code: int, reason: str, *, clean: bool) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        if not clean:
            jsonlines.emit("error", self.conn, message="the connection failed")
        jsonlines.emit("close", self.conn, code=code, reason=reason, wasClean=clean)

    # -- script calls ------------------------------------------------------------------

    async def _send(self, frame: Frame) -> None:
        writer = self.writer
        if writer is None or writer.transport.is_closing():
            return
        writer.write(encode_frame(Frame(frame.opcode, frame.payload, mask=os.urandom(4))))
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await writer.drain()
        except (TimeoutError, OSError):
            writer.transport.abort()

    async def send(self, text: str) -> None:
        await self._send(Frame(Opcode.TEXT, text.encode()))

    async def send_message(self, data: str | bytes) -> None:
        if isinstance(data, str):
            await self.send(data)
        else:
            await self._send(Frame(Opcode.BINARY, data))

    async def close(self, code: int | None, reason: str | None) -> None:
        body = close_payload(code, (reason or "").encode()) if code is not None else b""
        await self._send(Frame(Opcode.CLOSE, body))

    async def abort(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()


def session_type(mode: str) -> type[HostileTestSession]:
    """The session class of ``mode`` (one of :data:`MODES`)."""
    return type(f"HostileTestSession_{mode}", (HostileTestSession,), {"limits": MODES[mode]})


def main(argv: list[str]) -> None:
    mode = argv[1] if len(argv) > 1 else "limits"
    jsonlines.run(f"hostile test client ({mode})", session_type(mode))


if __name__ == "__main__":
    main(sys.argv)
