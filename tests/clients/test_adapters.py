"""The client adapters of fixtures/clients/, driven through the JSON-lines contract.

Each adapter runs as a subprocess against the in-process reference server (``ws://`` and
``wss://``), a port that refuses connections and a tiny server answering 403
(docs/client-adapters.md). Echo mode is played against :class:`SendingServer`, which sends
messages but echoes nothing (against the echoing reference server, echo mode would loop).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import json
import shutil
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from adapter_session import AdapterSession, Event, is_terminal

from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import CloseCode, Opcode
from conformance.model.decoder import CloseReceived, Message, PeerStream
from conformance.model.frames import Frame
from conformance.model.server_handshake import accept_key, parse_request_bytes, render_response
from conformance.reference_server import start_reference_server
from conformance.tls import make_tls_files

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "fixtures" / "clients"
STEP_TIMEOUT = 5.0
TEST_TIMEOUT = 12.0
FORBIDDEN_BODY = "forbidden by policy\n"
ECHO_TEXT = "echo me: ünïcödé ✓"
ECHO_BINARY = bytes(range(256))
QUIET = 0.5
"""Seconds :class:`SendingServer` listens for a reply that must not come (no echo)."""
READ_CHUNK = 65536


@dataclass(frozen=True)
class ShippedAdapter:
    """An adapter and what its library is known to expose."""

    script: str
    client: str  # the `ready` event's client name, before the version
    module: str | None = None  # Python: the library's import name
    package: str | None = None  # Node: the package in fixtures/clients/node_modules
    run_module: str | None = None  # run as ``python -m run_module`` instead of ``script``
    close_codes: tuple[int | None, ...] = (1000,)  # after close(1000, "done")
    rejected: tuple[str, int | None] = ("exception", 403)  # terminal event, status, on 403

    def argv(self) -> list[str]:
        if self.run_module is not None:
            return [sys.executable, "-m", self.run_module]
        interpreter = sys.executable if self.module else "node"
        return [interpreter, str(CLIENTS / self.script)]

    def skip_reason(self) -> str | None:
        if self.module is not None and importlib.util.find_spec(self.module) is None:
            return f"{self.module} is not installed"
        if self.package is not None:
            if shutil.which("node") is None:
                return "node is not installed"
            if not (CLIENTS / "node_modules" / self.package).is_dir():
                return "run npm ci --prefix fixtures/clients"
        return None


ADAPTERS = {
    "websockets": ShippedAdapter("python_websockets.py", "python-websockets", module="websockets"),
    # WebSocketApp's close() races its own reader thread for the reply: on_close may get None.
    "websocket-client": ShippedAdapter(
        "python_websocket_client.py",
        "python-websocket-client",
        module="websocket",
        close_codes=(1000, None),
        rejected=("close", None),
    ),
    "aiohttp": ShippedAdapter("python_aiohttp.py", "python-aiohttp", module="aiohttp"),
    "node-ws": ShippedAdapter("node_ws.js", "node-ws", package="ws"),
    "node-undici": ShippedAdapter(
        "node_undici.mjs", "node-undici", package="undici", rejected=("close", None)
    ),
}
ECHO_ADAPTERS = {
    **ADAPTERS,
    # Not in ADAPTERS: the reference server selects permessage-deflate, which this client
    # offers but fails the connection on (it implements no extension).
    "reference": ShippedAdapter(
        "",
        "ws-conformance reference client",
        module="conformance",
        run_module="conformance.clients.reference",
    ),
}
"""The echo-mode tests' adapters: the library adapters and the reference client."""


class Running(AdapterSession):
    """A library adapter under test."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__(process, STEP_TIMEOUT)

    async def until(self, conn: int, *names: str) -> Event:
        """The next event of ``conn`` that is one of ``names`` or terminal."""
        while True:
            event = await self.next_event()
            if event.get("conn") == conn and (event["event"] in names or is_terminal(event)):
                return event


async def forbidden_server() -> asyncio.Server:
    """Reads a request head, answers 403 with a body, closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await reader.readuntil(b"\r\n\r\n")
            body = FORBIDDEN_BODY.encode()
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@dataclass
class SendingServer:
    """A server that never echoes: per connection it completes the opening handshake,
    sends one text and one binary message, reads what the client sends back (bounded),
    then closes with 1000 and waits (bounded) for the client's Close.
    """

    expect_back: int  # messages to wait for; with 0, listen for QUIET seconds
    received: list[Message] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    client_close: CloseReceived | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/echo"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(STEP_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            parsed = parse_request_bytes(head)
            assert parsed is not None
            (key,) = parsed.request.values("Sec-WebSocket-Key")
            writer.write(
                render_response(
                    101,
                    [
                        ("Upgrade", "websocket"),
                        ("Connection", "Upgrade"),
                        ("Sec-WebSocket-Accept", accept_key(key)),
                    ],
                )
            )
            writer.write(encode_frame(Frame(Opcode.TEXT, ECHO_TEXT.encode())))
            writer.write(encode_frame(Frame(Opcode.BINARY, ECHO_BINARY)))
            await writer.drain()
            stream = PeerStream(peer="client")
            wait = STEP_TIMEOUT if self.expect_back else QUIET
            await self.read(reader, stream, wait, lambda: len(self.received) >= self.expect_back)
            writer.write(encode_frame(Frame(Opcode.CLOSE, close_payload(CloseCode.NORMAL_CLOSURE))))
            await writer.drain()
            await self.read(reader, stream, STEP_TIMEOUT, lambda: self.client_close is not None)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()
            self.done.set()

    async def read(
        self,
        reader: asyncio.StreamReader,
        stream: PeerStream,
        wait: float,
        enough: Callable[[], bool],
    ) -> None:
        """Decode the client's frames until ``enough()``, EOF or ``wait`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                while not enough():
                    data = await reader.read(READ_CHUNK)
                    if not data:
                        return
                    for event in stream.feed(data):
                        if isinstance(event, Message):
                            self.received.append(event)
                        elif isinstance(event, CloseReceived):
                            self.client_close = event
                        elif not isinstance(event, Frame):
                            self.violations.append(repr(event))


async def with_adapter(
    adapter: ShippedAdapter, tmp_path: Path, body: Callable[[Running], Awaitable[None]]
) -> list[Event]:
    """Start ``adapter``, check ``ready``, run ``body``, quit; every event, the ones read at
    quit included (printed on failure)."""
    stderr = (tmp_path / "stderr.txt").open("wb")
    process = await asyncio.create_subprocess_exec(
        *adapter.argv(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
    )
    running = Running(process)
    try:
        ready = await running.next_event()
        assert ready["event"] == "ready"
        assert ready["client"].startswith(adapter.client + " ")
        await body(running)
        assert await running.quit() == 0
        return running.events
    except BaseException:
        stderr.flush()
        sys.stderr.write("events:\n" + "".join(f"  {json.dumps(e)}\n" for e in running.events))
        sys.stderr.write((tmp_path / "stderr.txt").read_text(errors="replace")[-4096:])
        raise
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        stderr.close()


async def play_echo(adapter: ShippedAdapter, tmp_path: Path, *, echo: bool) -> SendingServer:
    """One connection to a :class:`SendingServer`, with or without ``echo``; the server."""
    server = SendingServer(expect_back=2 if echo else 0)
    await server.start()

    async def body(running: Running) -> None:
        fields: dict[str, object] = {"echo": True} if echo else {}
        await running.command(
            op="connect", conn=1, url=server.url, protocols=[], ca_file=None, **fields
        )
        opened = await running.until(1, "open")
        assert opened["event"] == "open", opened
        messages = [await running.until(1, "message") for _ in range(2)]
        for message in messages:
            message.pop("readyState", None)  # a WHATWG adapter's extra (the contract allows it)
        assert messages == [
            {"event": "message", "conn": 1, "text": ECHO_TEXT},
            {"event": "message", "conn": 1, "binary": base64.b64encode(ECHO_BINARY).decode()},
        ]
        closed = await running.until(1)
        assert closed["event"] == "close", closed
        raised = [e for e in running.events if e["event"] == "exception"]
        assert not raised, raised
        await asyncio.wait_for(server.done.wait(), STEP_TIMEOUT)

    try:
        await with_adapter(adapter, tmp_path, body)
    finally:
        server.close()
    return server


async def exercise(adapter: ShippedAdapter, tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path)
    refused = socket.socket()  # bound, never listening: connections are refused
    refused.bind(("127.0.0.1", 0))
    forbidden = await forbidden_server()
    plain = await start_reference_server()
    secure = await start_reference_server(ssl=tls.server_context())

    async def steps(running: Running) -> None:
        # echo over ws://, then close(1000, "done")
        await running.command(op="connect", conn=1, url=plain.url, protocols=["chat"], ca_file=None)
        opened = await running.until(1, "open")
        assert opened["event"] == "open", opened
        assert opened["protocol"] == "chat"
        await running.command(op="send", conn=1, text="hello")
        assert await running.until(1, "message") == {"event": "message", "conn": 1, "text": "hello"}
        await running.command(op="close", conn=1, code=1000, reason="done")
        closed = await running.until(1)
        assert closed["event"] == "close", closed
        assert closed["code"] in adapter.close_codes

        # a refused connection
        port = refused.getsockname()[1]
        url = f"ws://127.0.0.1:{port}/"
        await running.command(op="connect", conn=2, url=url, protocols=[], ca_file=None)
        await running.until(2)

        # a 403 with a body
        port = forbidden.sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}/status-403"
        await running.command(op="connect", conn=3, url=url, protocols=[], ca_file=None)
        rejected = await running.until(3)
        kind, status = adapter.rejected
        assert rejected["event"] == kind, rejected
        if kind == "exception":
            assert rejected["status"] == status
            assert rejected["body"] in (FORBIDDEN_BODY, None)

        # echo over wss:// trusting the CA file, then close() without arguments
        url = secure.url
        await running.command(op="connect", conn=4, url=url, protocols=[], ca_file=str(tls.ca))
        opened = await running.until(4, "open")
        assert opened["event"] == "open", opened
        await running.command(op="send", conn=4, text="über TLS")
        assert (await running.until(4, "message")).get("text") == "über TLS"
        await running.command(op="close", conn=4, code=None, reason=None)
        assert (await running.until(4))["event"] == "close"

    try:
        events = await with_adapter(adapter, tmp_path, steps)
    finally:
        await plain.close()
        await secure.close()
        forbidden.close()
        refused.close()

    for conn in (1, 2, 3, 4):
        terminals = [e for e in events if e.get("conn") == conn and is_terminal(e)]
        assert len(terminals) == 1, (conn, events)


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_adapter(name: str, tmp_path: Path) -> None:
    adapter = ADAPTERS[name]
    reason = adapter.skip_reason()
    if reason is not None:
        pytest.skip(reason)

    async def main() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            await exercise(adapter, tmp_path)

    asyncio.run(main())


def run_echo(name: str, tmp_path: Path, *, echo: bool) -> SendingServer:
    """Play :func:`play_echo` with adapter ``name`` under the test's deadline."""
    adapter = ECHO_ADAPTERS[name]
    reason = adapter.skip_reason()
    if reason is not None:
        pytest.skip(reason)

    async def main() -> SendingServer:
        async with asyncio.timeout(TEST_TIMEOUT):
            return await play_echo(adapter, tmp_path, echo=echo)

    return asyncio.run(main())


@pytest.mark.parametrize("name", list(ECHO_ADAPTERS))
def test_echo_mode_sends_every_message_back(name: str, tmp_path: Path) -> None:
    server = run_echo(name, tmp_path, echo=True)
    assert [(m.opcode, m.data) for m in server.received] == [
        (Opcode.TEXT, ECHO_TEXT.encode()),
        (Opcode.BINARY, ECHO_BINARY),
    ]
    assert not server.violations, server.violations  # every frame masked, well formed
    assert server.client_close is not None  # the client answered the server's Close


@pytest.mark.parametrize("name", list(ECHO_ADAPTERS))
def test_without_echo_nothing_comes_back(name: str, tmp_path: Path) -> None:
    server = run_echo(name, tmp_path, echo=False)
    assert server.received == []
    assert not server.violations, server.violations
    assert server.client_close is not None
