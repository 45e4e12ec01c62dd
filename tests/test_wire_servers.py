"""Both echo engines of the reference server, and every wire fault, over loopback (§5, §7, §8)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from conformance.echo_engine import EchoEngine
from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import Opcode
from conformance.model.decoder import FrameDecoder
from conformance.model.frames import Frame
from conformance.model.server_handshake import accept_key
from conformance.reference_server import (
    ENGINES,
    EngineName,
    LoopbackServer,
    ServerLimits,
    start_reference_server,
)
from fixtures.fault_server import FAULTS, start_fault_server
from fixtures.wire_faults import WIRE_FAULTS, wire_policy

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[1]
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
MASK = b"\x37\xfa\x21\x3d"
TEST_TIMEOUT = 20.0
IO_TIMEOUT = 5.0
QUIET = 0.5  # how long a server that keeps TCP open is given to write more
TEXT, BINARY, CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONTINUATION
CLOSE, PING, PONG = Opcode.CLOSE, Opcode.PING, Opcode.PONG
HANDSHAKE = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
).encode()


def cf(opcode: int, payload: bytes = b"", *, fin: bool = True, **options: Any) -> bytes:
    """A masked client frame (RFC 6455 §5.2, §5.3)."""
    return encode_frame(Frame(opcode, payload, fin=fin, mask=MASK, **options))


def close_frame(code: int | None, reason: bytes = b"") -> bytes:
    return cf(CLOSE, close_payload(code, reason))


def frames_of(raw: bytes) -> list[Frame]:
    return [
        e for e in FrameDecoder(peer="server", max_payload=2**20).feed(raw) if isinstance(e, Frame)
    ]


def summary(raw: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each frame; a Close is cut to its code (reasons differ)."""
    return [(f.opcode, f.payload[:2] if f.opcode == CLOSE else f.payload) for f in frames_of(raw)]


def closed_with(code: int) -> list[tuple[int, bytes]]:
    return [(CLOSE, code.to_bytes(2, "big"))]


@dataclass
class Transcript:
    """Everything the server wrote after its 101, and whether it then closed TCP."""

    data: bytes
    closed: bool


class Address(Protocol):
    """Where a server listens."""

    host: str
    port: int


@dataclass
class Listening:
    """A server started by the CLI."""

    port: int
    host: str = "127.0.0.1"


async def open_ws(server: Address) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    async with asyncio.timeout(IO_TIMEOUT):
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(HANDSHAKE)
        head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    assert accept_key(KEY).encode() in head
    return reader, writer


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    async with asyncio.timeout(IO_TIMEOUT):
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """One server frame (§5.2)."""
    async with asyncio.timeout(IO_TIMEOUT):
        head = await reader.readexactly(2)
        extended = {126: 2, 127: 8}.get(head[1] & 0x7F, 0)
        head += await reader.readexactly(extended + (4 if head[1] & 0x80 else 0))
        length = int.from_bytes(head[2 : 2 + extended], "big") if extended else head[1] & 0x7F
        (frame,) = frames_of(head + await reader.readexactly(length))
    return frame


async def read_rest(reader: asyncio.StreamReader, quiet: float = IO_TIMEOUT) -> Transcript:
    """Bytes until EOF; or until nothing arrives for ``quiet`` seconds (TCP left open)."""
    data = bytearray()
    while True:
        try:
            async with asyncio.timeout(quiet):
                chunk = await reader.read(65536)
        except TimeoutError:
            return Transcript(bytes(data), closed=False)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return Transcript(bytes(data), closed=True)
        data += chunk


async def exchange(server: Address, data: bytes, quiet: float = IO_TIMEOUT) -> Transcript:
    reader, writer = await open_ws(server)
    try:
        writer.write(data)
        return await read_rest(reader, quiet)
    finally:
        await close(writer)


def run(main: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            await main()

    asyncio.run(bounded())


def with_server(
    engine: EngineName,
    test: Callable[[LoopbackServer], Awaitable[None]],
    limits: ServerLimits | None = None,
) -> None:
    async def main() -> None:
        async with await start_reference_server(engine=engine, limits=limits) as server:
            await test(server)

    run(main)


# -- the correct engines: wsproto (checked by the model) and the model ----------------


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
@pytest.mark.parametrize("opcode", [TEXT, BINARY])
@pytest.mark.parametrize("engine", ENGINES)
def test_echo(engine: EngineName, opcode: int, size: int) -> None:
    payload = b"e" * size

    async def check(server: LoopbackServer) -> None:
        reader, writer = await open_ws(server)
        writer.write(cf(opcode, payload))
        frame = await read_frame(reader)
        assert (frame.fin, frame.opcode, frame.payload, frame.mask) == (True, opcode, payload, None)
        await close(writer)

    with_server(engine, check)


@pytest.mark.parametrize("engine", ENGINES)
def test_pings_are_answered_also_between_fragments(engine: EngineName) -> None:
    async def check(server: LoopbackServer) -> None:
        data = (
            cf(PING, b"first")
            + cf(TEXT, b"frag", fin=False)
            + cf(PING, b"")
            + cf(CONT, "m\u00e9nt".encode())
            + cf(PONG, b"unsolicited")
            + close_frame(1000)
        )
        transcript = await exchange(server, data)
        assert summary(transcript.data) == [
            (PONG, b"first"),
            (PONG, b""),
            (TEXT, "fragm\u00e9nt".encode()),
            *closed_with(1000),
        ]
        assert transcript.closed

    with_server(engine, check)


CLOSES = {
    "no-code": (close_frame(None), 1000),
    "1000": (close_frame(1000), 1000),
    "1001-reason": (close_frame(1001, b"bye"), 1001),
    "1014": (close_frame(1014), 1014),
    "3000": (close_frame(3000), 3000),
    "4999": (close_frame(4999), 4999),
}


@pytest.mark.parametrize("name", CLOSES)
@pytest.mark.parametrize("engine", ENGINES)
def test_close_code_is_echoed_then_tcp_closed(engine: EngineName, name: str) -> None:
    sent, code = CLOSES[name]

    async def check(server: LoopbackServer) -> None:
        transcript = await exchange(server, sent)
        assert frames_of(transcript.data) == [Frame(CLOSE, code.to_bytes(2, "big"))]
        assert transcript.closed

    with_server(engine, check)


FAILURES = {
    "rsv1": (cf(TEXT, b"x", rsv1=True), 1002),
    "rsv3": (cf(BINARY, b"x", rsv3=True), 1002),
    "opcode-3": (cf(0x3, b"x"), 1002),
    "opcode-b": (cf(0xB), 1002),
    "unmasked": (encode_frame(Frame(TEXT, b"x")), 1002),
    "long-ping": (cf(PING, b"p" * 126), 1002),
    "orphan-continuation": (cf(CONT, b"x"), 1002),
    "close-1005": (close_frame(1005), 1002),
    "close-1-byte": (cf(CLOSE, b"\x03"), 1002),
    "close-reason-utf8": (close_frame(1000, b"\xff"), 1002),
    "bad-utf8": (cf(TEXT, b"\xce\xba\xff"), 1007),
    "bad-utf8-fragment": (cf(TEXT, b"ok", fin=False) + cf(CONT, b"\xed\xa0\x80"), 1007),
}


@pytest.mark.parametrize("name", FAILURES)
@pytest.mark.parametrize("engine", ENGINES)
def test_protocol_errors_fail_the_connection(engine: EngineName, name: str) -> None:
    sent, code = FAILURES[name]

    async def check(server: LoopbackServer) -> None:
        transcript = await exchange(server, cf(TEXT, b"before") + sent + cf(TEXT, b"after"))
        assert summary(transcript.data) == [(TEXT, b"before"), *closed_with(code)]
        assert transcript.closed

    with_server(engine, check)


@pytest.mark.parametrize("engine", ENGINES)
def test_invalid_utf8_fails_before_the_frame_is_complete(engine: EngineName) -> None:
    """Fail-fast: a surrogate's first two bytes are enough (§8.1); CPython waits for a third."""
    frame = cf(TEXT, b"abc\xed\xa0\x80def")
    cut = 6 + 5  # header and mask, "abc", ED A0

    async def check(server: LoopbackServer) -> None:
        reader, writer = await open_ws(server)
        writer.write(frame[:cut])
        closing = await read_frame(reader)
        assert (closing.opcode, closing.payload[:2]) == (CLOSE, b"\x03\xef")
        assert (await read_rest(reader)).closed
        await close(writer)

    with_server(engine, check)


@pytest.mark.parametrize("engine", ENGINES)
def test_limits_bound_messages_and_idle_connections(engine: EngineName) -> None:
    huge = bytes([0x82, 0xFF]) + (2**63 - 1).to_bytes(8, "big") + MASK + b"x" * 4096

    async def check(server: LoopbackServer) -> None:
        transcript = await exchange(server, huge)
        assert (summary(transcript.data), transcript.closed) == (closed_with(1009), True)
        idle = await exchange(server, b"")
        assert (summary(idle.data), idle.closed) == (closed_with(1001), True)

    with_server(engine, check, ServerLimits(max_message_bytes=1024, idle_timeout=0.3))


def test_engine_options_are_checked() -> None:
    async def main() -> None:
        with pytest.raises(ValueError, match="unknown engine"):
            await start_reference_server(engine="nope")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="needs engine='model'"):
            await start_reference_server(wire_policy=wire_policy("no-pong"))

    run(main)


# -- wire faults ---------------------------------------------------------------------

BYE = close_frame(1000)

# fault -> client bytes exercising it; each ends with a Close, so a correct server closes
PROBES: dict[str, bytes] = {
    "accept-unmasked": encode_frame(Frame(TEXT, b"hi")) + BYE,
    "accept-rsv": cf(TEXT, b"hi", rsv1=True) + BYE,
    "accept-reserved-opcode": cf(0x5, b"x") + cf(TEXT, b"after") + BYE,
    "accept-long-control": cf(PING, b"x" * 126) + BYE,
    "accept-fragmented-control": cf(PING, b"x", fin=False) + BYE,
    "accept-bad-continuation": cf(TEXT, b"a", fin=False) + cf(TEXT, b"b") + BYE,
    "no-utf8-check": cf(TEXT, b"\xff") + BYE,
    "utf8-late": cf(TEXT, b"\xff", fin=False) + BYE,
    "utf8-1002": cf(TEXT, b"\xff") + BYE,
    "accept-invalid-close-code": close_frame(999),
    "accept-close-1-byte": cf(CLOSE, b"\x03"),
    "accept-bad-close-reason": close_frame(1000, b"\xc3"),
    "no-pong": cf(PING, b"ping") + BYE,
    "pong-wrong-payload": cf(PING, b"ping") + BYE,
    "no-echo": cf(TEXT, b"hi") + BYE,
    "pong-deferred": cf(TEXT, b"ab", fin=False) + cf(PING, b"p") + cf(CONT, b"cd") + BYE,
    "pong-unsolicited": cf(PONG, b"pong") + BYE,
    "close-wrong-code": BYE,
    "close-with-1005": close_frame(None),
    "no-close-reply": BYE,
    "data-after-close": BYE,
    "no-tcp-close": BYE,
    "fail-with-1000": encode_frame(Frame(TEXT, b"unmasked")) + BYE,
    "masked-server-frames": cf(BINARY, b"hi") + BYE,
    "non-minimal-length": cf(TEXT, b"hello") + BYE,
    "length-msb": cf(BINARY, b"x" * 65536) + BYE,
    "echo-fragmented-wrong": cf(TEXT, b"ab", fin=False) + cf(CONT, b"cd") + BYE,
}
KEEP_TCP_OPEN = {"no-close-reply", "no-tcp-close"}


def test_every_wire_fault_is_served_and_probed() -> None:
    assert set(PROBES) == set(WIRE_FAULTS) <= set(FAULTS)


@pytest.mark.parametrize("fault", sorted(WIRE_FAULTS))
def test_wire_fault_differs_from_the_correct_servers(fault: str) -> None:
    probe = PROBES[fault]

    async def main() -> None:
        seen: dict[str, Transcript] = {}
        for name in ENGINES:
            async with await start_reference_server(engine=name) as server:
                seen[name] = await exchange(server, probe)
        quiet = QUIET if fault in KEEP_TCP_OPEN else IO_TIMEOUT
        async with await start_fault_server(fault) as server:
            broken = await exchange(server, probe, quiet)
        correct = seen["model"]
        assert correct.closed and seen["wsproto"].closed
        assert summary(seen["wsproto"].data) == summary(correct.data)
        assert (broken.data, broken.closed) != (correct.data, correct.closed)
        expected = EchoEngine(wire_policy(fault)).receive(probe)  # sans-IO says the same
        assert (broken.data, broken.closed) == (expected.send, expected.close_transport)

    run(main)


async def run_module(module: str, *args: str) -> tuple[asyncio.subprocess.Process, int]:
    """Start ``python -m module args``; the port from its ``listening on`` line."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, "--port", "0",
        stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    async with asyncio.timeout(IO_TIMEOUT):
        line = (await proc.stdout.readline()).decode()
    assert line.startswith("listening on ws://127.0.0.1:"), line
    return proc, int(line.rsplit(":", 1)[1].strip(" /\n"))


@pytest.mark.parametrize(
    ("module", "args", "expected"),
    [
        ("conformance.reference_server", ("--engine", "model"), closed_with(1002)),
        ("fixtures.fault_server", ("--fault", "accept-rsv"), [(TEXT, b"hi"), *closed_with(1000)]),
    ],
)
def test_cli_serves_the_model_engine(
    module: str, args: tuple[str, ...], expected: list[tuple[int, bytes]]
) -> None:
    async def main() -> None:
        proc, port = await run_module(module, *args)
        try:
            transcript = await exchange(Listening(port), PROBES["accept-rsv"])
            assert summary(transcript.data) == expected
            proc.terminate()
            async with asyncio.timeout(IO_TIMEOUT):
                assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(main)
