"""The h2c reference server (RFC 8441): what it announces, accepts and refuses, and that
it echoes each WebSocket on its own stream, bounded."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RemoteSettingsChanged,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)
from h2.settings import SettingCodes

from conformance.model.codec import encode_frame
from conformance.model.constants import Opcode
from conformance.model.decoder import CloseReceived, Message, PeerStream
from conformance.reference_server import ServerLimits
from conformance.reference_server_h2 import start_h2_reference_server
from conformance.session.wire import close_frame, text

pytestmark = pytest.mark.network

STEP = 10.0
"""Seconds any one wait of a test may take (a bound, never asserted)."""
WEBSOCKET = [
    (b":method", b"CONNECT"),
    (b":protocol", b"websocket"),
    (b":scheme", b"http"),
    (b":path", b"/"),
    (b":authority", b"localhost"),
    (b"sec-websocket-version", b"13"),
]


class RawClient:
    """h2 as a client on one TCP connection, the requests as a test writes them."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h2 = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        self.h2.initiate_connection()
        self.settings: dict[int, int] = {}
        self.status: dict[int, int] = {}
        self.fields: dict[int, dict[bytes, bytes]] = {}
        self.data: dict[int, bytearray] = {}
        self.ended: set[int] = set()
        self.closed = False

    @classmethod
    async def open(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        client.flush()
        await client.until(lambda: bool(client.settings))
        return client

    def flush(self) -> None:
        self.writer.write(self.h2.data_to_send())

    def request(self, headers: list[tuple[bytes, bytes]]) -> int:
        sid = self.h2.get_next_available_stream_id()
        self.h2.send_headers(sid, headers)
        self.flush()
        return sid

    def send(self, sid: int, data: bytes, *, end: bool = False) -> None:
        self.h2.send_data(sid, data, end_stream=end)
        self.flush()

    async def until(self, done: object) -> None:
        async with asyncio.timeout(STEP):
            while not done():  # type: ignore[operator]
                data = await self.reader.read(65536)
                if not data:
                    self.closed = True
                    return
                for event in self.h2.receive_data(data):
                    self.on_event(event)
                self.flush()

    def on_event(self, event: object) -> None:
        if isinstance(event, RemoteSettingsChanged):
            self.settings.update({k: v.new_value for k, v in event.changed_settings.items()})
        elif isinstance(event, ResponseReceived):
            headers = dict(event.headers or [])
            self.status[event.stream_id or 0] = int(headers[b":status"])
            self.fields[event.stream_id or 0] = headers
        elif isinstance(event, DataReceived):
            self.data.setdefault(event.stream_id or 0, bytearray()).extend(event.data or b"")
            self.h2.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
        elif isinstance(event, StreamEnded | StreamReset):
            self.ended.add(event.stream_id or 0)
        elif isinstance(event, ConnectionTerminated):
            self.closed = True

    def frames(self, sid: int) -> list[object]:
        return PeerStream(peer="server").feed(bytes(self.data.get(sid, b"")))

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def test_settings_enable_the_extended_connect() -> None:
    async def scenario() -> dict[int, int]:
        async with await start_h2_reference_server() as server:
            client = await RawClient.open(server.port)
            await client.close()
            return client.settings

    assert asyncio.run(scenario())[SettingCodes.ENABLE_CONNECT_PROTOCOL] == 1


@pytest.mark.parametrize(
    ("headers", "status", "field"),
    [
        ([(n, b"chat" if n == b":protocol" else v) for n, v in WEBSOCKET], 501, None),
        (
            [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"x")],
            405,
            (b"allow", b"CONNECT"),
        ),
        ([(b":method", b"CONNECT"), (b":authority", b"localhost:9")], 405, None),
        (WEBSOCKET[:-1], 400, (b"sec-websocket-version", b"13")),
        ([*WEBSOCKET[:-1], (b"sec-websocket-version", b"8")], 400, None),
    ],
    ids=["protocol-not-websocket-501", "get-405", "plain-connect-405", "no-version", "version-8"],
)
def test_request_that_is_not_a_websocket_is_refused(
    headers: list[tuple[bytes, bytes]], status: int, field: tuple[bytes, bytes] | None
) -> None:
    async def scenario() -> RawClient:
        async with await start_h2_reference_server() as server:
            client = await RawClient.open(server.port)
            sid = client.request(headers)
            await client.until(lambda: sid in client.ended)
            await client.close()
            return client

    client = asyncio.run(scenario())
    assert client.status == {1: status}
    if field is not None:
        assert client.fields[1][field[0]] == field[1]


def test_two_websockets_on_one_connection_echo_independently_and_close_by_end_stream() -> None:
    async def scenario() -> RawClient:
        async with await start_h2_reference_server() as server:
            client = await RawClient.open(server.port)
            first, second = client.request(WEBSOCKET), client.request(WEBSOCKET)
            await client.until(lambda: len(client.status) == 2)
            client.send(first, encode_frame(text("one")))
            client.send(second, encode_frame(text("two")))
            client.send(first, encode_frame(close_frame(1000)))
            await client.until(lambda: first in client.ended and len(client.data) == 2)
            assert second not in client.ended  # the connection and the other stream go on
            client.send(second, encode_frame(text("still here")))
            await client.until(lambda: b"still here" in client.data[second])
            await client.close()
            return client

    client = asyncio.run(scenario())
    assert client.status == {1: 200, 3: 200}
    one, two = client.frames(1), client.frames(3)
    assert [(e.opcode, e.data) for e in one if isinstance(e, Message)] == [(Opcode.TEXT, b"one")]
    assert [e.code for e in one if isinstance(e, CloseReceived)] == [1000]
    assert [e.data for e in two if isinstance(e, Message)] == [b"two", b"still here"]
    assert not client.closed


def test_client_end_stream_is_its_tcp_close() -> None:
    async def scenario() -> RawClient:
        async with await start_h2_reference_server() as server:
            client = await RawClient.open(server.port)
            sid = client.request(WEBSOCKET)
            await client.until(lambda: sid in client.status)
            client.send(sid, b"", end=True)
            await client.until(lambda: sid in client.ended)
            await client.close()
            return client

    client = asyncio.run(scenario())
    assert 1 in client.ended and not client.data.get(1)


def test_oversized_message_is_failed_with_1009() -> None:
    limits = ServerLimits(max_message_bytes=1024)

    async def scenario() -> RawClient:
        async with await start_h2_reference_server(limits=limits) as server:
            client = await RawClient.open(server.port)
            sid = client.request(WEBSOCKET)
            await client.until(lambda: sid in client.status)
            client.send(sid, encode_frame(text("x" * 2048)))
            await client.until(lambda: sid in client.ended)
            await client.close()
            return client

    client = asyncio.run(scenario())
    assert [e.code for e in client.frames(1) if isinstance(e, CloseReceived)] == [1009]


def test_connection_without_a_request_is_closed_after_the_handshake_timeout() -> None:
    limits = ServerLimits(handshake_timeout=0.2)

    async def scenario() -> RawClient:
        async with await start_h2_reference_server(limits=limits) as server:
            client = await RawClient.open(server.port)
            await client.until(lambda: client.closed)
            await client.close()
            return client

    assert asyncio.run(scenario()).closed


def test_module_serves_h2c_in_the_foreground() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.reference_server_h2", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on ws://127.0.0.1:")

        async def scenario() -> RawClient:
            client = await RawClient.open(port_of(line.split()[-1]))
            sid = client.request(WEBSOCKET)
            client.send(sid, encode_frame(text("ping me")))
            await client.until(lambda: b"ping me" in client.data.get(sid, b""))
            await client.close()
            return client

        assert asyncio.run(scenario()).status == {1: 200}
    finally:
        process.terminate()
        process.wait(STEP)
