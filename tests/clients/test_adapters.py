"""The client adapters of fixtures/clients/, driven through the JSON-lines contract.

Each adapter runs as a subprocess against the in-process reference server (``ws://`` and
``wss://``), a port that refuses connections and a tiny server answering 403
(docs/client-adapters.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from adapter_session import AdapterSession, Event, is_terminal

from conformance.reference_server import start_reference_server
from conformance.tls import make_tls_files

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "fixtures" / "clients"
STEP_TIMEOUT = 5.0
TEST_TIMEOUT = 12.0
FORBIDDEN_BODY = "forbidden by policy\n"


@dataclass(frozen=True)
class ShippedAdapter:
    """An adapter and what its library is known to expose."""

    script: str
    client: str  # the `ready` event's client name, before the version
    module: str | None = None  # Python: the library's import name
    package: str | None = None  # Node: the package in fixtures/clients/node_modules
    close_codes: tuple[int | None, ...] = (1000,)  # after close(1000, "done")
    rejected: tuple[str, int | None] = ("exception", 403)  # terminal event, status, on 403

    def argv(self) -> list[str]:
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


async def exercise(adapter: ShippedAdapter, tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path)
    refused = socket.socket()  # bound, never listening: connections are refused
    refused.bind(("127.0.0.1", 0))
    forbidden = await forbidden_server()
    stderr = (tmp_path / "stderr.txt").open("wb")
    plain = await start_reference_server()
    secure = await start_reference_server(ssl=tls.server_context())
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

        assert await running.quit() == 0
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
        await plain.close()
        await secure.close()
        forbidden.close()
        refused.close()

    for conn in (1, 2, 3, 4):
        terminals = [e for e in running.events if e.get("conn") == conn and is_terminal(e)]
        assert len(terminals) == 1, (conn, running.events)


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
