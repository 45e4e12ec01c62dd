"""The reference server, spoken to in raw bytes (RFC 6455 §4.2, §5, §7)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import struct
import sys
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from conformance.model.deflate import negotiation
from conformance.model.deflate.offers import INVALID_OFFERS, VALID_OFFERS
from conformance.model.header_grammar import split_list
from conformance.model.server_handshake import accept_key
from conformance.reference_server import (
    ENGINES,
    EngineName,
    ReferenceServer,
    ServerLimits,
    start_reference_server,
)

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[1]
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # §4.2.2 example
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
TEST_TIMEOUT = 15.0
IO_TIMEOUT = 5.0
MASK = b"\x37\xfa\x21\x3d"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RSV1 = 0x40

Headers = list[tuple[str, str]]
Change = str | list[str] | None

BASE_HEADERS: Headers = [
    ("Host", "127.0.0.1"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", KEY),
    ("Sec-WebSocket-Version", "13"),
]


def handshake(
    changes: dict[str, Change] | None = None,
    *,
    method: str = "GET",
    target: str = "/chat",
    version: str = "HTTP/1.1",
) -> bytes:
    """A request: the base headers, each replaced (str), repeated (list) or dropped (None)."""
    changes = changes or {}
    names = [name for name, _ in BASE_HEADERS] + [n for n in changes if n not in dict(BASE_HEADERS)]
    lines = [f"{method} {target} {version}"]
    for name in names:
        value = changes.get(name, dict(BASE_HEADERS).get(name))
        values = [] if value is None else [value] if isinstance(value, str) else value
        lines += [f"{name}: {v}" for v in values]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Response:
    status_line: str
    status: int
    headers: Headers  # lower-cased names
    body: bytes

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def tokens(self, name: str) -> list[str]:
        return [t.lower() for t in split_list(self.values(name))]


async def read_response(reader: asyncio.StreamReader) -> Response | None:
    """The response head (and, unless 101, the body up to EOF); None if closed unanswered."""
    async with asyncio.timeout(IO_TIMEOUT):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return None
        status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
        headers = [(n.strip().lower(), v.strip()) for n, _, v in (x.partition(":") for x in lines)]
        status = int(status_line.split()[1])
        body = b"" if status == 101 else await reader.read()
    return Response(status_line, status, headers, body)


async def connect(server: ReferenceServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    async with asyncio.timeout(IO_TIMEOUT):
        return await asyncio.open_connection(server.host, server.port)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    async with asyncio.timeout(IO_TIMEOUT):
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def exchange(server: ReferenceServer, data: bytes) -> Response | None:
    """Send ``data`` on a fresh connection and read the answer."""
    reader, writer = await connect(server)
    try:
        writer.write(data)
        return await read_response(reader)
    finally:
        await close(writer)


def client_frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False
) -> bytes:
    """A masked client frame (§5.2, §5.3); ``rsv1``: RFC 7692's "Per-Message Compressed"."""
    first = (0x80 if fin else 0) | (RSV1 if rsv1 else 0) | opcode
    size = len(payload)
    if size < 126:
        head = bytes([first, 0x80 | size])
    elif size < 2**16:
        head = bytes([first, 0x80 | 126]) + struct.pack("!H", size)
    else:
        head = bytes([first, 0x80 | 127]) + struct.pack("!Q", size)
    return head + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


async def read_raw_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One server frame: (first header byte, payload); the server must not mask (§5.1)."""
    async with asyncio.timeout(IO_TIMEOUT):
        first, second = await reader.readexactly(2)
        assert not second & 0x80, "server frames are never masked"
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await reader.readexactly(8))
        return first, await reader.readexactly(size)


async def read_frame(reader: asyncio.StreamReader) -> tuple[bool, int, bytes]:
    """One server frame: (fin, opcode, payload); the server must not mask (§5.1)."""
    first, payload = await read_raw_frame(reader)
    return bool(first & 0x80), first & 0x0F, payload


async def read_eof(reader: asyncio.StreamReader) -> bytes:
    """Whatever arrives until the connection closes (a reset counts as closed)."""
    async with asyncio.timeout(IO_TIMEOUT):
        try:
            return await reader.read()
        except ConnectionResetError:
            return b""


async def open_ws(
    server: ReferenceServer, request: bytes = b""
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Response]:
    reader, writer = await connect(server)
    writer.write(request or handshake())
    response = await read_response(reader)
    assert response is not None
    assert response.status == 101
    return reader, writer, response


def run(
    test: Callable[[ReferenceServer], Awaitable[None]],
    limits: ServerLimits | None = None,
    engine: EngineName = "wsproto",
) -> None:
    """Run ``test`` against a fresh reference server, under an overall deadline."""

    async def main() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            async with await start_reference_server(limits=limits, engine=engine) as server:
                await test(server)

    asyncio.run(main())


# -- the opening handshake (§4.2.1, §4.2.2) -------------------------------------------


def test_valid_handshake_gets_exact_101() -> None:
    async def check(server: ReferenceServer) -> None:
        response = await exchange(server, handshake())
        assert response is not None
        assert response.status_line == "HTTP/1.1 101 Switching Protocols"
        assert response.headers == [
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-accept", ACCEPT),
        ]

    run(check)


VALID_VARIANTS: dict[str, bytes] = {
    "upgrade-mixed-case": handshake({"Upgrade": "WebSocket"}),
    "upgrade-list": handshake({"Upgrade": "foo, websocket"}),
    "connection-list": handshake({"Connection": "keep-alive, Upgrade"}),
    "connection-lower": handshake({"Connection": "upgrade"}),
    "connection-two-lines": handshake({"Connection": ["keep-alive", "Upgrade"]}),
    "with-origin": handshake({"Origin": "http://example.com"}),
    "unknown-headers": handshake({"X-Custom": "1", "Cookie": "a=b", "User-Agent": "t"}),
    "lowercase-names": handshake().replace(b"Sec-WebSocket-", b"sec-websocket-"),
    "absolute-uri": handshake(target="http://127.0.0.1/chat?x=1"),
    "query": handshake(target="/chat?room=1"),
    "rfc-4.1-example-key": handshake({"Sec-WebSocket-Key": "AQIDBAUGBwgJCgsMDQ4PEC=="}),
    "content-length-0": handshake({"Content-Length": "0"}),
    "offers-unknown-extension": handshake({"Sec-WebSocket-Extensions": "x-unknown; a=1"}),
    "http-1.2": handshake(version="HTTP/1.2"),
}


@pytest.mark.parametrize("request_bytes", VALID_VARIANTS.values(), ids=VALID_VARIANTS.keys())
def test_valid_variants_are_accepted(request_bytes: bytes) -> None:
    async def check(server: ReferenceServer) -> None:
        response = await exchange(server, request_bytes)
        assert response is not None
        assert response.status == 101
        key = handshake_key(request_bytes)
        assert response.values("Sec-WebSocket-Accept") == [accept_key(key)]
        assert response.values("Sec-WebSocket-Extensions") == []
        assert response.values("Sec-WebSocket-Protocol") == []

    run(check)


def handshake_key(request: bytes) -> str:
    for line in request.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "sec-websocket-key":
            return value.strip()
    raise AssertionError("no key")


BAD_KEY_16 = "AAAAAAAAAAAAAAAAAAAAAA"  # 16 bytes but unpadded
INVALID_REQUESTS: dict[str, tuple[bytes, set[int]]] = {
    "post": (handshake(method="POST"), {405}),
    "head": (handshake(method="HEAD"), {405}),
    "lowercase-get": (handshake(method="get"), {405}),
    "http-1.0": (handshake(version="HTTP/1.0"), {400}),
    "http-2.0-line": (handshake(version="HTTP/2.0"), {505}),
    "missing-host": (handshake({"Host": None}), {400}),
    "duplicate-host": (handshake({"Host": ["a", "b"]}), {400}),
    "missing-upgrade": (handshake({"Upgrade": None}), {400}),
    "upgrade-h2c": (handshake({"Upgrade": "h2c"}), {400}),
    "upgrade-websocket-13": (handshake({"Upgrade": "websocket/13"}), {400}),
    "missing-connection": (handshake({"Connection": None}), {400}),
    "connection-keep-alive": (handshake({"Connection": "keep-alive"}), {400}),
    "missing-key": (handshake({"Sec-WebSocket-Key": None}), {400}),
    "duplicate-key": (handshake({"Sec-WebSocket-Key": [KEY, KEY]}), {400}),
    "key-not-base64": (handshake({"Sec-WebSocket-Key": "not base64 at all!!!!!=="}), {400}),
    "key-unpadded": (handshake({"Sec-WebSocket-Key": BAD_KEY_16}), {400}),
    "key-short": (handshake({"Sec-WebSocket-Key": "c2hvcnQ="}), {400}),
    "key-17-bytes": (handshake({"Sec-WebSocket-Key": "AAAAAAAAAAAAAAAAAAAAAAA="}), {400}),
    "key-empty": (handshake({"Sec-WebSocket-Key": ""}), {400}),
    "target-asterisk": (handshake(target="*"), {400}),
    "target-fragment": (handshake(target="/chat#x"), {400}),
    "target-ws-uri": (handshake(target="ws://127.0.0.1/chat"), {400}),
    "protocol-not-token": (handshake({"Sec-WebSocket-Protocol": "chat superchat"}), {400}),
    "protocol-empty": (handshake({"Sec-WebSocket-Protocol": ""}), {400}),
    "extension-malformed": (handshake({"Sec-WebSocket-Extensions": "foo; =1"}), {400}),
    "body": (handshake({"Content-Length": "5"}) + b"hello", {400}),
    "chunked": (handshake({"Transfer-Encoding": "chunked"}) + b"0\r\n\r\n", {400}),
    "garbage": (b"HELLO\r\n\r\n", {400}),
    "bad-header-line": (handshake().replace(b"Host:", b"Host :"), {400}),
}


@pytest.mark.parametrize(
    ("request_bytes", "statuses"), INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys()
)
def test_invalid_requests_are_refused(request_bytes: bytes, statuses: set[int]) -> None:
    async def check(server: ReferenceServer) -> None:
        response = await exchange(server, request_bytes)  # reads to EOF: the server closed
        assert response is not None
        assert response.status in statuses
        assert "close" in response.tokens("Connection")
        assert response.values("Sec-WebSocket-Accept") == []

    run(check)


@pytest.mark.parametrize(
    "version",
    [None, "8", "14", "abc", "", "013", "13, 8", ["13", "13"], ["8", "13"]],
    ids=repr,
)
def test_unsupported_version_gets_426_with_version_13(version: Change) -> None:
    async def check(server: ReferenceServer) -> None:
        response = await exchange(server, handshake({"Sec-WebSocket-Version": version}))
        assert response is not None
        assert response.status == 426
        assert response.values("Sec-WebSocket-Version") == ["13"]
        assert "close" in response.tokens("Connection")

    run(check)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], None),
        (["chat"], "chat"),
        (["foo, superchat, chat"], "superchat"),
        (["foo", "echo, chat"], "echo"),
        (["foo", "bar"], None),
        (["Chat"], None),  # tokens compare case-sensitively
    ],
)
def test_subprotocol_selection(lines: list[str], expected: str | None) -> None:
    async def check(server: ReferenceServer) -> None:
        changes: dict[str, Change] = {"Sec-WebSocket-Protocol": lines} if lines else {}
        response = await exchange(server, handshake(changes))
        assert response is not None
        assert response.status == 101
        assert response.values("Sec-WebSocket-Protocol") == ([expected] if expected else [])

    run(check)


def test_header_block_over_16_kib_gets_431() -> None:
    async def check(server: ReferenceServer) -> None:
        big = handshake({"X-Filler": "a" * (20 * 1024)})
        response = await exchange(server, big)
        assert response is not None
        assert response.status == 431

    run(check)


def test_header_block_under_16_kib_is_accepted() -> None:
    async def check(server: ReferenceServer) -> None:
        request = handshake({"X-Filler": "a" * (15 * 1024)})
        response = await exchange(server, request)
        assert response is not None
        assert response.status == 101

    run(check)


def test_endless_header_is_cut_at_the_cap() -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer = await connect(server)

        async def flood() -> None:
            writer.write(b"GET / HTTP/1.1\r\nX-A: ")
            while True:
                writer.write(b"a" * 4096)
                await writer.drain()

        sender = asyncio.ensure_future(flood())
        try:
            response = await read_response(reader)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        assert response is not None
        assert response.status == 431
        await close(writer)

    run(check)


def test_silent_client_is_closed_at_the_deadline() -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer = await connect(server)
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await read_eof(reader) == b""
        assert 0.2 <= loop.time() - start < 3.0
        await close(writer)

    run(check, ServerLimits(handshake_timeout=0.3))


def test_trickling_client_is_closed_at_the_deadline() -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer = await connect(server)

        async def trickle() -> None:
            for byte in handshake():
                writer.write(bytes([byte]))
                await asyncio.sleep(0.05)

        sender = asyncio.ensure_future(trickle())
        try:
            assert await read_eof(reader) == b""
            assert not sender.done()
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        await close(writer)

    run(check, ServerLimits(handshake_timeout=0.3))


def test_tls_handshake_and_echo() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def main() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            async with await start_reference_server(ssl=server_context) as server:
                assert server.url == f"wss://127.0.0.1:{server.port}/"
                reader, writer = await asyncio.open_connection(
                    server.host, server.port, ssl=client_context
                )
                writer.write(handshake() + client_frame(OP_TEXT, b"secure"))
                response = await read_response(reader)
                assert response is not None
                assert response.values("Sec-WebSocket-Accept") == [ACCEPT]
                assert await read_frame(reader) == (True, OP_TEXT, b"secure")
                await close(writer)

    asyncio.run(main())


# -- after the 101: echo, ping, close (§5.5, §5.6, §7) -----------------------------


def test_url_port_and_context_manager() -> None:
    async def check(server: ReferenceServer) -> None:
        assert server.port > 0
        assert server.url == f"ws://127.0.0.1:{server.port}/"

    run(check)


@pytest.mark.parametrize(
    ("opcode", "payload"),
    [
        (OP_TEXT, "héllo ✓".encode()),
        (OP_BINARY, bytes(range(256))),
        (OP_TEXT, b""),
        (OP_BINARY, b"\0" * 70000),
    ],
    ids=["text", "binary", "empty", "64-bit-length"],
)
def test_echo(opcode: int, payload: bytes) -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server)
        writer.write(client_frame(opcode, payload))
        assert await read_frame(reader) == (True, opcode, payload)
        await close(writer)

    run(check)


def test_fragmented_message_with_interleaved_ping_is_echoed_whole() -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server)
        writer.write(client_frame(OP_TEXT, b"frag", fin=False))
        writer.write(client_frame(OP_PING, b"p"))
        writer.write(client_frame(OP_CONT, "mént".encode(), fin=False))
        writer.write(client_frame(OP_CONT, b"ed"))
        assert await read_frame(reader) == (True, OP_PONG, b"p")
        assert await read_frame(reader) == (True, OP_TEXT, "fragménted".encode())
        await close(writer)

    run(check)


def test_frame_pipelined_with_the_handshake_is_echoed() -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server, handshake() + client_frame(OP_TEXT, b"early"))
        assert await read_frame(reader) == (True, OP_TEXT, b"early")
        await close(writer)

    run(check)


def test_ping_gets_pong_with_same_payload() -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server)
        writer.write(client_frame(OP_PING, b"are you there"))
        assert await read_frame(reader) == (True, OP_PONG, b"are you there")
        await close(writer)

    run(check)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (b"", 1000),
        (struct.pack("!H", 1000), 1000),
        (struct.pack("!H", 1001) + b"bye", 1001),
        (struct.pack("!H", 3000), 3000),
        (struct.pack("!H", 4999), 4999),
    ],
    ids=["no-code", "1000", "1001-reason", "3000", "4999"],
)
def test_close_is_echoed_then_tcp_closed(sent: bytes, expected: int) -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server)
        writer.write(client_frame(OP_CLOSE, sent))
        fin, opcode, payload = await read_frame(reader)
        assert (fin, opcode) == (True, OP_CLOSE)
        assert struct.unpack("!H", payload[:2]) == (expected,)
        assert await read_eof(reader) == b""
        await close(writer)

    run(check)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (bytes([0x81, 0x02]) + b"hi", 1002),  # unmasked client frame (§5.1)
        (client_frame(OP_TEXT, b"\xff\xfe"), 1007),  # invalid UTF-8 (§8.1)
        (client_frame(OP_CLOSE, struct.pack("!H", 1005)), 1002),  # reserved code (§7.4.1)
        (client_frame(0x3, b""), 1002),  # reserved opcode (§5.2)
    ],
    ids=["unmasked", "bad-utf8", "close-1005", "reserved-opcode"],
)
def test_protocol_errors_fail_the_connection(frame: bytes, code: int) -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server)
        writer.write(frame)
        _, opcode, payload = await read_frame(reader)
        assert opcode == OP_CLOSE
        assert struct.unpack("!H", payload[:2]) == (code,)
        assert await read_eof(reader) == b""
        await close(writer)

    run(check)


def test_message_over_the_limit_gets_1009() -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server)
        writer.write(client_frame(OP_BINARY, b"x" * 600, fin=False))
        writer.write(client_frame(OP_CONT, b"x" * 600))
        _, opcode, payload = await read_frame(reader)
        assert opcode == OP_CLOSE
        assert struct.unpack("!H", payload[:2]) == (1009,)
        await close(writer)

    run(check, ServerLimits(max_message_bytes=1024))


def test_huge_declared_length_gets_1009_without_buffering() -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server)
        writer.write(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 2**62) + MASK + b"x" * 2048)
        _, opcode, payload = await read_frame(reader)
        assert opcode == OP_CLOSE
        assert struct.unpack("!H", payload[:2]) == (1009,)
        await close(writer)

    run(check, ServerLimits(max_message_bytes=1024))


def test_idle_connection_is_closed_with_1001() -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server)
        _, opcode, payload = await read_frame(reader)
        assert opcode == OP_CLOSE
        assert struct.unpack("!H", payload[:2]) == (1001,)
        await close(writer)

    run(check, ServerLimits(idle_timeout=0.2))


def test_close_cancels_open_connections() -> None:
    async def main() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            server = await start_reference_server()
            _, silent = await connect(server)
            reader, writer, _ = await open_ws(server)
            for _ in range(50):
                if server.active_connections == 2:
                    break
                await asyncio.sleep(0.01)
            assert server.active_connections == 2
            await server.close()
            assert server.active_connections == 0
            assert await read_eof(reader) == b""
            await close(writer)
            await close(silent)

    asyncio.run(main())


def test_connections_are_released_when_clients_leave() -> None:
    async def check(server: ReferenceServer) -> None:
        for request in (handshake(), handshake({"Sec-WebSocket-Key": None})):
            await exchange(server, request)
        for _ in range(200):
            if server.active_connections == 0:
                break
            await asyncio.sleep(0.01)
        assert server.active_connections == 0

    run(check)


def test_cli_prints_listening_line_and_serves() -> None:
    async def main() -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "conformance.reference_server", "--port", "0",
            stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            async with asyncio.timeout(TEST_TIMEOUT):
                assert proc.stdout is not None
                line = (await proc.stdout.readline()).decode()
                assert line.startswith("listening on ws://127.0.0.1:")
                port = int(line.rsplit(":", 1)[1].strip(" /\n"))
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(handshake())
                response = await read_response(reader)
                assert response is not None
                assert response.values("Sec-WebSocket-Accept") == [ACCEPT]
                await close(writer)
                proc.terminate()
                assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    asyncio.run(main())


# -- permessage-deflate (RFC 7692) ---------------------------------------------------

EXTENSIONS = "Sec-WebSocket-Extensions"
FLUSH = b"\x00\x00\xff\xff"


def deflate(data: bytes, bits: int = 15) -> bytes:
    """A compressed message payload (RFC 7692 §7.2.1): sync flush, marker removed."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -bits)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)).removesuffix(FLUSH)


def inflate_strictly(payload: bytes, bits: int) -> bytes:
    """A server message inflated with a fresh ``bits`` window, one output byte a call (a
    single call would let a match reach past the window into its own output)."""
    inflater = zlib.decompressobj(-bits)
    out = bytearray()
    pending = payload + FLUSH
    while chunk := inflater.decompress(pending, 1):
        out += chunk
        pending = inflater.unconsumed_tail
    return bytes(out)


async def negotiated(server: ReferenceServer, offer: str | list[str]) -> list[str]:
    """The Sec-WebSocket-Extensions lines of the 101 answering ``offer``."""
    response = await exchange(server, handshake({EXTENSIONS: offer}))
    assert response is not None
    assert response.status == 101, response.status_line
    return response.values(EXTENSIONS)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("offer", "expected"),
    [
        ("permessage-deflate", "permessage-deflate"),
        ("permessage-deflate; client_max_window_bits", "permessage-deflate"),
        ("permessage-deflate; client_max_window_bits=10", "permessage-deflate"),
        (
            "permessage-deflate; client_no_context_takeover; client_max_window_bits",
            "permessage-deflate; client_no_context_takeover",
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover",
        ),
        (
            "permessage-deflate; server_max_window_bits=15",
            "permessage-deflate; server_max_window_bits=15",
        ),
        (
            'permessage-deflate; server_max_window_bits="10"',
            "permessage-deflate; server_max_window_bits=10",
        ),
        (
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=8",
        ),
        ("x-webkit-unknown, permessage-deflate", "permessage-deflate"),
        (
            "permessage-deflate; foo, permessage-deflate; server_max_window_bits=9",
            "permessage-deflate; server_max_window_bits=9",
        ),
        (
            "permessage-deflate; server_max_window_bits=10, permessage-deflate",
            "permessage-deflate; server_max_window_bits=10",
        ),
    ],
    ids=[
        "bare",
        "cmwb-no-value",
        "cmwb-10-not-echoed",
        "autobahn-default",
        "snct-echoed",
        "smwb-15",
        "smwb-quoted",
        "smwb-8",
        "unknown-extension-skipped",
        "first-acceptable-offer",
        "first-of-two-acceptable",
    ],
)
def test_deflate_offer_is_accepted_with_the_exact_response(
    offer: str, expected: str, engine: EngineName
) -> None:
    async def check(server: ReferenceServer) -> None:
        assert await negotiated(server, offer) == [expected]

    run(check, engine=engine)


@pytest.mark.parametrize(
    "offer",
    [
        "permessage-deflate; foo",
        "permessage-deflate; foo=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover=1",
        'permessage-deflate; client_no_context_takeover="1"',
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=abc",
        'permessage-deflate; server_max_window_bits="16"',
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=09",
    ],
    ids=[
        "unknown-param",
        "unknown-param-valued",
        "duplicate-flag",
        "duplicate-cmwb",
        "valued-flag",
        "valued-flag-quoted",
        "smwb-without-value",
        "smwb-7",
        "smwb-16",
        "smwb-leading-zero",
        "smwb-not-a-number",
        "smwb-quoted-16",
        "cmwb-16",
        "cmwb-leading-zero",
    ],
)
def test_invalid_deflate_offer_is_declined_with_a_101_without_the_extension(offer: str) -> None:
    async def check(server: ReferenceServer) -> None:
        assert await negotiated(server, offer) == []

    run(check)


def test_every_invalid_offer_of_the_model_is_declined() -> None:
    async def check(server: ReferenceServer) -> None:
        for name, invalid in INVALID_OFFERS.items():
            assert await negotiated(server, invalid.offer.render()) == [], name

    run(check)


def test_every_valid_offer_of_the_model_gets_a_response_the_model_accepts() -> None:
    async def check(server: ReferenceServer) -> None:
        for name, offer in VALID_OFFERS.items():
            lines = await negotiated(server, offer.render())
            reading = negotiation.read_response([offer], [line.encode() for line in lines])
            assert reading.accepted and not reading.violations, (name, lines)

    run(check)


async def open_deflate(
    server: ReferenceServer, offer: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer, response = await open_ws(server, handshake({EXTENSIONS: offer}))
    assert response.values(EXTENSIONS), "permessage-deflate was not agreed"
    return reader, writer


async def failed_with(reader: asyncio.StreamReader) -> int:
    """The status code of the Close the server fails with, having checked TCP closes."""
    _, opcode, payload = await read_frame(reader)
    assert opcode == OP_CLOSE
    assert await read_eof(reader) == b""
    code: int = struct.unpack("!H", payload[:2])[0]
    return code


@pytest.mark.parametrize("engine", ENGINES)
def test_compressed_echo_obeys_the_agreed_window_and_no_context_takeover(
    engine: EngineName,
) -> None:
    block = bytes(range(256)) * 3  # repeats 768 bytes back: beyond a 512-byte window
    text = (block.hex() * 2).encode()
    offer = "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"

    async def check(server: ReferenceServer) -> None:
        reader, writer = await open_deflate(server, offer)
        payload = deflate(text)
        writer.write(client_frame(OP_TEXT, payload[:7], fin=False, rsv1=True))
        writer.write(client_frame(OP_CONT, payload[7:]))
        writer.write(client_frame(OP_TEXT, text))  # uncompressed: also allowed (§6.2)
        for _ in range(2):
            first, echoed = await read_raw_frame(reader)
            assert first == 0x80 | RSV1 | OP_TEXT
            assert inflate_strictly(echoed, 9) == text  # a fresh 512-byte window each
        await close(writer)

    run(check, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_client_context_is_kept_across_messages(engine: EngineName) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    message = bytes(range(200))
    payloads = [
        (compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH)).removesuffix(FLUSH)
        for _ in range(2)
    ]

    async def check(server: ReferenceServer) -> None:
        reader, writer = await open_deflate(server, "permessage-deflate")
        for payload in payloads:
            writer.write(client_frame(OP_BINARY, payload, rsv1=True))
        inflater = zlib.decompressobj(-15)
        for _ in payloads:
            first, echoed = await read_raw_frame(reader)
            assert first == 0x80 | RSV1 | OP_BINARY
            assert inflater.decompress(echoed + FLUSH) == message
        await close(writer)

    run(check, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("frames", "code"),
    [
        (
            [
                client_frame(OP_TEXT, deflate(b"abc"), fin=False, rsv1=True),
                client_frame(OP_CONT, b"\x00", rsv1=True),
            ],
            1002,
        ),
        ([client_frame(OP_PING, b"p", rsv1=True)], 1002),
        ([client_frame(OP_BINARY, b"\xff\xff\xff", rsv1=True)], 1007),
        ([client_frame(OP_TEXT, deflate(b"\xc3\x28"), rsv1=True)], 1007),
    ],
    ids=["rsv1-continuation", "rsv1-ping", "corrupt-deflate", "inflated-invalid-utf8"],
)
def test_deflate_errors_fail_the_connection(
    frames: list[bytes], code: int, engine: EngineName
) -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer = await open_deflate(server, "permessage-deflate")
        writer.write(b"".join(frames))
        assert await failed_with(reader) == code
        await close(writer)

    run(check, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_rsv1_without_negotiation_fails_with_1002(engine: EngineName) -> None:
    async def check(server: ReferenceServer) -> None:
        reader, writer, _ = await open_ws(server)
        writer.write(client_frame(OP_TEXT, deflate(b"hello"), rsv1=True))
        assert await failed_with(reader) == 1002
        await close(writer)

    run(check, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_size_limit_applies_to_the_inflated_message(engine: EngineName) -> None:
    bomb = deflate(b"\x00" * 4096)

    async def check(server: ReferenceServer) -> None:
        reader, writer = await open_deflate(server, "permessage-deflate")
        writer.write(client_frame(OP_BINARY, deflate(b"\x00" * 1024), rsv1=True))
        _, echoed = await read_raw_frame(reader)
        assert zlib.decompressobj(-15).decompress(echoed + FLUSH) == b"\x00" * 1024
        writer.write(client_frame(OP_BINARY, bomb, rsv1=True))
        assert await failed_with(reader) == 1009
        await close(writer)

    assert len(bomb) < 100
    run(check, ServerLimits(max_message_bytes=1024), engine=engine)
