"""The scenario server's hostile steps: a trickled 101, endless or huge headers, floods.

Each step (:data:`~conformance.clients.scenarios.HostileStep`) is capped in bytes and
seconds whatever the client does; the server's memory stays bounded because a stream is
written in chunks and drained above :data:`HIGH_WATER`. What the step did goes into the
connection's notes as a :class:`~conformance.clients.scenarios.HostileStats`, which the
judge reads:

* **how it ended**: the client closed (a Close frame, or its TCP side) before the step
  was over; the step was played whole with the client still connected; or the client
  stopped reading, so the writes waited until the time cap (TCP flow control then bounds
  what the client holds);
* **the bytes written** before that;
* **the client's memory**: the resident set of the process group of the process that
  holds the client's end of the TCP connection, found through ``/proc/net/tcp{,6}`` and
  ``/proc/*/fd`` (loopback only, same user), sampled every :data:`SAMPLE_INTERVAL`
  seconds. Where it cannot be read (another user's process, no ``/proc``, a client in
  this very process) it is None and the judge says so.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ..scenarios import (
    BigHeader,
    EndlessHeader,
    Flood,
    HeadStep,
    HostileEnd,
    HostileStats,
    Step,
    TrickleHead,
)

CHUNK: Final = 64 * 1024
"""Bytes per write of a header stream."""
HIGH_WATER: Final = 2**20
"""Bytes the server lets wait in its send buffer before it drains (its memory bound)."""
SAMPLE_INTERVAL: Final = 0.05
"""Seconds between two readings of the client's resident memory."""
SETTLE: Final = 0.2
"""Seconds a stream played whole waits for the client to read what is in flight."""
RESPONSE_PREFIX: Final = 4096
"""Bytes of a hostile response head kept in the record."""
ENDLESS_FIELD: Final = b"X-Endless: "
BIG_FIELD: Final = b"X-Big: "
FILLER: Final = b"a"
PROC: Final = Path("/proc")
PAGE_SIZE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True, slots=True)
class Wire:
    """What a hostile step may do on its connection (the connection lends its methods)."""

    write: Callable[[bytes], bool]
    drain: Callable[[], Awaitable[None]]
    wait: Callable[[Callable[[], bool], float | None], Awaitable[bool]]
    client_done: Callable[[], bool]
    """True once the client sent a Close or ended its TCP side (or the server's did)."""
    note: Callable[[str], None]
    mark: Callable[[str], None]
    transport: asyncio.WriteTransport


def head_step(steps: Iterable[Step]) -> HeadStep | None:
    """The step that shapes how the 101 is written, if ``steps`` start with one."""
    first = next(iter(steps), None)
    return first if isinstance(first, TrickleHead | EndlessHeader | BigHeader) else None


# -- the client's memory ------------------------------------------------------------------


def _port(address: object) -> int | None:
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
        return address[1]
    return None


def socket_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the TCP socket from ``local_port`` to ``remote_port`` (``/proc/net``)."""
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            local = int(fields[1].rsplit(":", 1)[1], 16)
            remote = int(fields[2].rsplit(":", 1)[1], 16)
            if (local, remote) == (local_port, remote_port) and fields[9] != "0":
                return int(fields[9])
    return None


def socket_owner(inode: int) -> int | None:
    """The first process with a descriptor on socket ``inode``."""
    target = f"socket:[{inode}]"
    for proc in PROC.iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) == target:
                    return int(proc.name)
        except OSError:
            continue
    return None


def process_group(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[2])  # state, ppid, pgrp


def group_members(pgrp: int) -> list[int]:
    members = []
    for proc in PROC.iterdir():
        if proc.name.isdigit() and process_group(int(proc.name)) == pgrp:
            members.append(int(proc.name))
    return members


def resident_bytes(pids: Iterable[int]) -> int | None:
    """The summed resident set of ``pids`` still alive; None if none could be read."""
    total, seen = 0, False
    for pid in pids:
        try:
            pages = int((PROC / str(pid) / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total, seen = total + pages * PAGE_SIZE, True
    return total if seen else None


def client_processes(transport: asyncio.BaseTransport) -> list[int]:
    """The processes whose memory is the client's: the socket owner's process group, or
    the owner alone when it shares this process's group; none when it is this process."""
    client_port = _port(transport.get_extra_info("peername"))
    server_port = _port(transport.get_extra_info("sockname"))
    if client_port is None or server_port is None:
        return []
    inode = socket_inode(client_port, server_port)
    owner = socket_owner(inode) if inode is not None else None
    if owner is None or owner == os.getpid():
        return []
    pgrp = process_group(owner)
    if pgrp is None or pgrp == os.getpgrp():
        return [owner]
    return group_members(pgrp) or [owner]


@dataclass(slots=True)
class Meter:
    """Samples the client's resident memory: the first reading and the largest."""

    pids: list[int]
    before: int | None = None
    peak: int | None = None
    _last: float = field(default=0.0)

    @classmethod
    async def attach(cls, transport: asyncio.BaseTransport) -> Meter:
        meter = cls(await asyncio.to_thread(client_processes, transport))
        meter.before = meter.peak = resident_bytes(meter.pids)
        meter._last = asyncio.get_running_loop().time()
        return meter

    def sample(self, *, force: bool = False) -> None:
        now = asyncio.get_running_loop().time()
        if not self.pids or (not force and now - self._last < SAMPLE_INTERVAL):
            return
        self._last = now
        rss = resident_bytes(self.pids)
        if rss is not None and (self.peak is None or rss > self.peak):
            self.peak = rss


# -- streams --------------------------------------------------------------------------------


@dataclass(slots=True)
class Played:
    """What one stream did: bytes written, how it ended, whether every chunk went out,
    the first bytes (evidence)."""

    written: int = 0
    ended: HostileEnd = "played"
    complete: bool = False
    prefix: bytearray = field(default_factory=bytearray)


async def stream(
    wire: Wire,
    chunks: Iterable[bytes],
    meter: Meter,
    *,
    seconds: float,
    pause: float = 0.0,
) -> Played:
    """Write ``chunks`` until they run out, the client closes, or ``seconds`` pass.

    ``pause``: seconds between two chunks, each drained first (a trickle).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    played = Played()
    pending = iter(chunks)
    for chunk in pending:
        if wire.client_done() or not wire.write(chunk):
            played.ended = "client"
            break
        played.written += len(chunk)
        if len(played.prefix) < RESPONSE_PREFIX:
            played.prefix += chunk[: RESPONSE_PREFIX - len(played.prefix)]
        meter.sample()
        await asyncio.sleep(0)  # the connection's reader sees the client's Close or EOF
        if pause or wire.transport.get_write_buffer_size() > HIGH_WATER:
            try:
                async with asyncio.timeout_at(deadline):
                    await wire.drain()
                    if pause:
                        await asyncio.sleep(pause)
            except TimeoutError:
                played.ended = "played" if pause else "not-reading"
                break
        if loop.time() >= deadline:
            break
    else:
        played.complete = True
    if not played.complete and played.ended == "played":
        played.complete = next(pending, None) is None
    if played.ended == "played":
        await _settle(wire, deadline + SETTLE)
        if wire.client_done():
            played.ended = "client"
    meter.sample(force=True)
    return played


async def _settle(wire: Wire, deadline: float) -> None:
    """Let the client read what is still in flight (bounded), so that its memory shows it."""
    try:
        async with asyncio.timeout_at(deadline):
            await wire.drain()
            await wire.wait(wire.client_done, SETTLE)
    except TimeoutError:
        pass


def _record(wire: Wire, name: str, played: Played, meter: Meter, started: float) -> None:
    elapsed = round(asyncio.get_running_loop().time() - started, 3)
    stats = HostileStats(
        step=name,
        written=played.written,
        ended=played.ended,
        seconds=elapsed,
        rss_before=meter.before,
        rss_peak=meter.peak,
        processes=len(meter.pids),
    )
    wire.note(stats.as_note())
    wire.mark(f"{name}: {played.written} bytes, {played.ended}")


def _endless(size: int | None) -> Iterator[bytes]:
    """``FILLER`` in :data:`CHUNK`-byte pieces, ``size`` bytes in all (None: no end)."""
    piece = FILLER * CHUNK
    left = size
    while left is None or left > 0:
        take = CHUNK if left is None else min(CHUNK, left)
        yield piece[:take]
        if left is not None:
            left -= take


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _head_chunks(step: HeadStep, head: bytes) -> Iterator[bytes]:
    """The 101 ``head`` (ending in an empty line) as ``step`` writes it."""
    fields = head[:-2]  # the status line and fields, each ending in CRLF
    if isinstance(step, TrickleHead):
        yield from _pieces(head, 1)
    elif isinstance(step, EndlessHeader):
        yield fields + ENDLESS_FIELD
        yield from _endless(step.cap - len(fields) - len(ENDLESS_FIELD))
    else:
        yield fields + BIG_FIELD
        yield from _endless(step.size)
        yield b"\r\n\r\n"


def _head_seconds(step: HeadStep, head: bytes) -> float:
    if isinstance(step, TrickleHead):
        return step.interval * len(head) * 2 + 1.0  # never the cap unless writes block
    return step.seconds


async def play_head(wire: Wire, step: HeadStep, head: bytes) -> tuple[bool, bytes]:
    """Write the 101 ``head`` as ``step`` says: whether the head is complete (the steps
    and echo mode follow) and its first bytes."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    meter = await Meter.attach(wire.transport)
    pause = step.interval if isinstance(step, TrickleHead) else 0.0
    chunks = _head_chunks(step, head)
    played = await stream(wire, chunks, meter, seconds=_head_seconds(step, head), pause=pause)
    _record(wire, type(step).__name__, played, meter, started)
    complete = played.complete and played.ended == "played"
    return complete and not isinstance(step, EndlessHeader), bytes(played.prefix)


def _flood_chunks(step: Flood) -> Iterator[bytes]:
    yield step.head
    for _ in range(step.count):
        yield step.unit


async def play_flood(wire: Wire, step: Flood) -> None:
    """``step.head``, its units, then its stall (bounded by ``step.stall``)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    meter = await Meter.attach(wire.transport)
    played = await stream(wire, _flood_chunks(step), meter, seconds=step.seconds)
    if played.ended == "played" and step.stall > 0:
        end = loop.time() + step.stall
        while loop.time() < end and not wire.client_done():
            await wire.wait(wire.client_done, min(SAMPLE_INTERVAL * 4, end - loop.time()))
            meter.sample()
        if wire.client_done():
            played.ended = "client"
    _record(wire, "Flood", played, meter, started)
