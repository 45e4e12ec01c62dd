"""The browser adapter (``conformance/clients/browser/``) through its JSON-lines contract.

Headless Chromium and Firefox, each skipped when not installed, against the in-process
reference server, a server that echoes Close reasons, a refused port and a 403; echo mode
against a server that sends text, binary, empty and fragmented messages; trust of a
CA file (libnss3-tools' ``certutil``); no process or profile left behind; a loopback-only
network namespace (root only). Firefox starts slowly: its tests are ``slow``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from adapter_session import AdapterSession, Event, is_terminal
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Request,
    TextMessage,
)

from conformance.clients.browser.adapter import browser_adapter_command
from conformance.clients.browser.process import ROOT_PREFIX, descendants, process_table
from conformance.clients.browser.profile import find_browser
from conformance.reference_server import start_reference_server
from conformance.tls import make_tls_files

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT = 10.0  # one event; a relaunch for another CA fits in it
TEST_TIMEOUT = 60.0
GONE_TIMEOUT = 10.0
EVENT_LINE_LIMIT = 1024 * 1024  # the adapter's stdout lines: a message event holds base64
BROWSERS = [
    pytest.param("chromium", id="chromium"),
    pytest.param("firefox", id="firefox", marks=pytest.mark.slow),
]
CLIENT_PREFIX = {"chromium": "Chromium ", "firefox": "Mozilla Firefox "}
LARGE_PROBE = bytes(range(256)) * 300  # 76,800 bytes: a 64-bit payload length
PROBES: tuple[tuple[str | bytes, ...], ...] = (
    ("über",),
    ("",),
    (bytes(range(256)),),
    (b"",),
    ("frag", "mented"),  # one message in two frames
    (LARGE_PROBE[:1000], LARGE_PROBE[1000:]),
)
"""What the probe server sends on each connection: each message as its frames."""
CLOSED = "<closing handshake>"


def need(browser: str) -> None:
    if find_browser(browser) is None:
        pytest.skip(f"{browser} is not installed")


def roots_of(pids: set[int]) -> set[Path]:
    """The adapter temporary directories named on the command lines of ``pids``."""
    prefix = str(Path(tempfile.gettempdir()) / ROOT_PREFIX)
    found: set[Path] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for arg in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0"):
                _, hit, rest = arg.partition(prefix)
                if hit:
                    found.add(Path(prefix + rest.split("/", 1)[0]))
    return found


class Running(AdapterSession):
    """The browser adapter under test; its stderr goes to a file."""

    def __init__(self, process: asyncio.subprocess.Process, stderr: Path) -> None:
        super().__init__(process, STEP_TIMEOUT)
        self.stderr = stderr

    async def ready(self, browser: str) -> None:
        ready = await self.next_event()
        assert ready["event"] == "ready", ready
        assert ready["client"].startswith(CLIENT_PREFIX[browser]), ready
        assert ready["client"].endswith(" (headless)"), ready

    async def connect(
        self,
        conn: int,
        url: str,
        ca_file: Path | None = None,
        protocols: list[str] | None = None,
        *,
        echo: bool | None = None,
    ) -> None:
        ca = None if ca_file is None else str(ca_file)
        fields: dict[str, object] = {"protocols": protocols or [], "ca_file": ca}
        if echo is not None:
            fields["echo"] = echo
        await self.command(op="connect", conn=conn, url=url, **fields)

    async def events_of(self, conn: int) -> list[Event]:
        """The events of ``conn`` up to and including its terminal one."""
        found: list[Event] = []
        while not found or not is_terminal(found[-1]):
            event = await self.next_event()
            if event.get("conn") == conn:
                found.append(event)
        return found

    async def until(self, conn: int, name: str) -> Event:
        """The next event of ``conn`` called ``name``; fails on a terminal one first."""
        while True:
            event = await self.next_event()
            if event.get("conn") == conn:
                assert event["event"] == name or not is_terminal(event), event
                if event["event"] == name:
                    return event

    def dump(self) -> None:
        sys.stderr.write("events:\n" + "".join(f"  {json.dumps(e)}\n" for e in self.events))
        sys.stderr.write(self.stderr.read_text(errors="replace")[-4096:])


@contextlib.asynccontextmanager
async def adapter(
    browser: str, tmp_path: Path, *extra: str, prefix: tuple[str, ...] = ()
) -> AsyncIterator[Running]:
    """Run the adapter; on failure print its events and stderr; kill it if still running."""
    argv = [*prefix, *browser_adapter_command(browser, ca_file=None, spki=None), *extra]
    stderr = tmp_path / f"adapter-{time.monotonic_ns()}.stderr"
    with stderr.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=sink,
            cwd=ROOT,
            limit=EVENT_LINE_LIMIT,
        )
    running = Running(process, stderr)
    try:
        yield running
    except BaseException:
        running.dump()
        raise
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def run(main: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            await main()

    asyncio.run(bounded())


async def close_echo_server() -> asyncio.Server:
    """Echoes text messages and answers a Close with the same code and reason (wsproto)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        with contextlib.suppress(OSError):
            while ws.state is not ConnectionState.CLOSED and (data := await reader.read(65536)):
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, Request):
                        writer.write(ws.send(AcceptConnection()))
                    elif isinstance(event, TextMessage):
                        writer.write(ws.send(Message(event.data, event.message_finished)))
                    elif isinstance(event, CloseConnection):
                        writer.write(ws.send(event.response()))
                await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


class ProbeServer:
    """Sends :data:`PROBES` on each connection; queues the messages it gets back, in order.

    A Close is answered and queued as :data:`CLOSED`, so a client that echoed nothing
    shows :data:`CLOSED` first.
    """

    def __init__(self) -> None:
        self.received: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen on loopback; the ``ws://`` URL."""
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"ws://127.0.0.1:{port_of(self.server)}/probe"

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def next(self) -> str | bytes:
        return await asyncio.wait_for(self.received.get(), STEP_TIMEOUT)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        partial: list[str | bytes] = []
        with contextlib.suppress(OSError):
            while ws.state is not ConnectionState.CLOSED and (data := await reader.read(65536)):
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, Request):
                        writer.write(ws.send(AcceptConnection()))
                        for frames in PROBES:
                            for i, frame in enumerate(frames):
                                last = i == len(frames) - 1
                                writer.write(ws.send(frame_of(frame, last)))
                    elif isinstance(event, TextMessage | BytesMessage):
                        payload = event.data
                        partial.append(payload if isinstance(payload, str) else bytes(payload))
                        if event.message_finished:
                            self.received.put_nowait(joined(partial))
                            partial.clear()
                    elif isinstance(event, CloseConnection):
                        writer.write(ws.send(event.response()))
                        self.received.put_nowait(CLOSED)
                await writer.drain()
        writer.close()


def frame_of(data: str | bytes, last: bool) -> TextMessage | BytesMessage:
    """A wsproto event sending ``data`` as one frame, the message's last when ``last``."""
    if isinstance(data, str):
        return TextMessage(data, message_finished=last)
    return BytesMessage(data, message_finished=last)


def joined(frames: Sequence[str | bytes]) -> str | bytes:
    """The message made of ``frames`` (all text or all binary)."""
    texts = [frame for frame in frames if isinstance(frame, str)]
    return "".join(texts) if texts else b"".join(f for f in frames if isinstance(f, bytes))


def probe_messages() -> list[str | bytes]:
    """:data:`PROBES` as messages."""
    return [joined(frames) for frames in PROBES]


def message_event(conn: int, message: str | bytes) -> Event:
    """The ``message`` event a browser reports for ``message`` (while open)."""
    if isinstance(message, str):
        return {"event": "message", "conn": conn, "text": message, "readyState": 1}
    encoded = base64.b64encode(message).decode()
    return {"event": "message", "conn": conn, "binary": encoded, "readyState": 1}


async def forbidden_server() -> asyncio.Server:
    """Reads a request head, answers 403 with a body, closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 10\r\nConnection: close\r\n\r\nforbidden\n"
            )
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def port_of(server: asyncio.Server) -> int:
    port: int = server.sockets[0].getsockname()[1]
    return port


def test_adapter_command() -> None:
    ca = Path("/tmp/ca.pem")
    argv = browser_adapter_command("chromium", ca_file=ca, spki="AAAA")
    assert argv == [
        sys.executable,
        "-m",
        "conformance.clients.browser",
        "chromium",
        "--ca-file",
        str(ca),
        "--spki",
        "AAAA",
    ]
    assert "--spki" not in browser_adapter_command("firefox", ca_file=None, spki="AAAA")
    with pytest.raises(ValueError, match="unknown browser"):
        browser_adapter_command("lynx", ca_file=None, spki=None)


@pytest.mark.parametrize("binary", ["/nonexistent/chromium", "/bin/false"])
def test_unusable_browser_fails_without_ready(binary: str) -> None:
    argv = [*browser_adapter_command("chromium", ca_file=None, spki=None)]
    result = subprocess.run(
        [*argv, "--browser-binary", binary],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=ROOT,
        timeout=45,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"browser adapter: " in result.stderr


@pytest.mark.parametrize("browser", BROWSERS)
def test_contract(browser: str, tmp_path: Path) -> None:
    need(browser)

    async def main() -> None:
        refused = socket.socket()  # bound, never listening: connections are refused
        refused.bind(("127.0.0.1", 0))
        plain = await start_reference_server()
        echo = await close_echo_server()
        forbidden = await forbidden_server()
        try:
            async with adapter(browser, tmp_path) as running:
                await running.ready(browser)

                # echo over ws://, close(1000, "done"): the reference server answers 1000
                await running.connect(1, plain.url, protocols=["chat"])
                opened = await running.until(1, "open")
                assert opened == {
                    "event": "open",
                    "conn": 1,
                    "protocol": "chat",
                    "extensions": opened["extensions"],
                    "readyState": 1,
                }
                await running.command(op="send", conn=1, text="hello")
                message = await running.until(1, "message")
                assert message == {"event": "message", "conn": 1, "text": "hello", "readyState": 1}
                await running.command(op="close", conn=1, code=1000, reason="done")
                closed = (await running.events_of(1))[-1]
                assert closed["event"] == "close", closed
                assert (closed["code"], closed["wasClean"], closed["readyState"]) == (1000, True, 3)

                # the same against a server echoing the Close body: the reason comes back
                await running.connect(2, f"ws://127.0.0.1:{port_of(echo)}/")
                await running.until(2, "open")
                await running.command(op="send", conn=2, text="über")
                assert (await running.until(2, "message"))["text"] == "über"
                await running.command(op="close", conn=2, code=1000, reason="done")
                assert (await running.events_of(2))[-1] == {
                    "event": "close",
                    "conn": 2,
                    "code": 1000,
                    "reason": "done",
                    "wasClean": True,
                    "readyState": 3,
                }

                # the constructor throws: a fragment (WHATWG WebSockets, constructor step 6)
                await running.connect(3, "ws://127.0.0.1:1/#frag")
                [thrown] = await running.events_of(3)
                assert thrown["event"] == "exception", thrown
                assert (thrown["phase"], thrown["name"]) == ("connect", "SyntaxError")
                assert "readyState" not in thrown
                assert [thrown[k] for k in ("status", "headers", "body", "redirected")] == [
                    None
                ] * 4

                # close(1001) throws InvalidAccessError; close() then closes
                await running.connect(4, plain.url)
                await running.until(4, "open")
                await running.command(op="close", conn=4, code=1001, reason=None)
                thrown = await running.until(4, "exception")
                assert (thrown["phase"], thrown["name"]) == ("close", "InvalidAccessError")
                assert thrown["readyState"] == 1
                await running.command(op="close", conn=4, code=None, reason=None)
                closed = (await running.events_of(4))[-1]
                assert (closed["event"], closed["code"], closed["wasClean"]) == (
                    "close",
                    1000,
                    True,
                )

                # a refused port: error, then close 1006, not clean
                await running.connect(5, f"ws://127.0.0.1:{refused.getsockname()[1]}/")
                events = await running.events_of(5)
                assert [e["event"] for e in events] == ["error", "close"], events
                assert (events[1]["code"], events[1]["wasClean"]) == (1006, False)
                assert [e["readyState"] for e in events] == [3, 3]

                # a 403: the same, nothing of the response is exposed
                await running.connect(6, f"ws://127.0.0.1:{port_of(forbidden)}/status-403")
                events = await running.events_of(6)
                assert [e["event"] for e in events] == ["error", "close"], events
                assert (events[1]["code"], events[1]["wasClean"]) == (1006, False)

                # after a terminal event, commands for that conn are ignored
                await running.command(op="send", conn=6, text="late")
                assert await running.quit() == 0
                for conn in range(1, 7):
                    terminals = [e for e in running.events if e.get("conn") == conn]
                    assert sum(map(is_terminal, terminals)) == 1, (conn, terminals)
                assert not any(e["event"] == "log" for e in running.events), running.events
        finally:
            await plain.close()
            echo.close()
            forbidden.close()
            refused.close()

    run(main)


@pytest.mark.parametrize("browser", BROWSERS)
def test_echo_mode_sends_every_message_back(browser: str, tmp_path: Path) -> None:
    need(browser)
    expected = probe_messages()

    async def main() -> None:
        probe = ProbeServer()
        url = await probe.start()
        try:
            async with adapter(browser, tmp_path) as running:
                await running.ready(browser)
                for conn, echo in ((1, True), (2, None), (3, False)):
                    await running.connect(conn, url, echo=echo)
                    await running.until(conn, "open")
                    for message in expected:
                        assert await running.until(conn, "message") == message_event(conn, message)
                    if echo:  # text as text, binary as binary, in order, before the Close
                        assert [await probe.next() for _ in expected] == expected
                    await running.command(op="close", conn=conn, code=1000, reason="done")
                    closed = (await running.events_of(conn))[-1]
                    assert (closed["event"], closed["code"], closed["wasClean"]) == (
                        "close",
                        1000,
                        True,
                    )
                    assert await probe.next() == CLOSED  # without echo: nothing came back
                assert await running.quit() == 0
                unexpected = [e for e in running.events if e["event"] in ("log", "exception")]
                assert not unexpected, unexpected
        finally:
            probe.close()

    run(main)


@pytest.mark.parametrize("browser", BROWSERS)
def test_trusts_the_ca_file_and_nothing_else(browser: str, tmp_path: Path) -> None:
    need(browser)
    if shutil.which("certutil") is None:
        pytest.skip("certutil is not installed (libnss3-tools)")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours, other = make_tls_files(tmp_path / "a"), make_tls_files(tmp_path / "b")

    async def main() -> None:
        trusted = await start_reference_server(ssl=ours.server_context())
        untrusted = await start_reference_server(ssl=other.server_context())

        async def opens(conn: int, url: str, ca_file: Path | None) -> None:
            await running.connect(conn, url, ca_file)
            await running.until(conn, "open")
            await running.command(op="close", conn=conn, code=None, reason=None)
            assert (await running.events_of(conn))[-1]["event"] == "close"

        async def rejected(conn: int, url: str, ca_file: Path | None) -> None:
            await running.connect(conn, url, ca_file)
            events = await running.events_of(conn)
            assert [e["event"] for e in events] == ["error", "close"], events
            # Chromium reports 1006; Firefox exposes 1015 (TLS handshake failure)
            assert events[1]["code"] in (1006, 1015), events
            assert events[1]["wasClean"] is False

        try:
            async with adapter(browser, tmp_path, "--ca-file", str(ours.ca)) as running:
                await running.ready(browser)
                await opens(1, f"wss://localhost:{trusted.port}/", ours.ca)
                await rejected(2, f"wss://localhost:{untrusted.port}/", ours.ca)
                await opens(3, f"wss://127.0.0.1:{untrusted.port}/", other.ca)  # relaunch
                await rejected(4, f"wss://127.0.0.1:{trusted.port}/", None)  # relaunch
                assert await running.quit() == 0
        finally:
            await trusted.close()
            await untrusted.close()

    run(main)


def spki_sha256(cert: Path) -> str:
    """The base64 SHA-256 of a certificate's SubjectPublicKeyInfo (Chromium's --spki)."""
    key = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_chromium_spki_trusts_that_key_only(tmp_path: Path) -> None:
    need("chromium")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours, other = make_tls_files(tmp_path / "a"), make_tls_files(tmp_path / "b")

    async def main() -> None:
        trusted = await start_reference_server(ssl=ours.server_context())
        untrusted = await start_reference_server(ssl=other.server_context())
        try:
            async with adapter("chromium", tmp_path, "--spki", spki_sha256(ours.cert)) as running:
                await running.ready("chromium")
                await running.connect(1, f"wss://127.0.0.1:{trusted.port}/")
                await running.until(1, "open")
                await running.command(op="close", conn=1, code=None, reason=None)
                assert (await running.events_of(1))[-1]["event"] == "close"
                await running.connect(2, f"wss://127.0.0.1:{untrusted.port}/")
                events = await running.events_of(2)
                assert [e["event"] for e in events] == ["error", "close"], events
                assert (events[1]["code"], events[1]["wasClean"]) == (1006, False)
                assert await running.quit() == 0
        finally:
            await trusted.close()
            await untrusted.close()

    run(main)


async def gone(pids: set[int], *, zombies_ok: bool) -> set[int]:
    """Wait until ``pids`` exited (and were reaped unless ``zombies_ok``); those left."""
    deadline = time.monotonic() + GONE_TIMEOUT
    while True:
        table = process_table()
        left = {p for p in pids if p in table and not (zombies_ok and table[p][2] == "Z")}
        if not left or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("ending", ["quit", "eof", "sigterm", "sigkill"])
@pytest.mark.parametrize("browser", BROWSERS)
def test_leaves_no_process_or_profile(browser: str, ending: str, tmp_path: Path) -> None:
    need(browser)

    async def main() -> None:
        async with adapter(browser, tmp_path) as running:
            await running.ready(browser)
            pids = descendants(process_table(), running.process.pid)
            created = roots_of(pids)
            assert pids
            assert len(created) == 1, created
            assert all(root.is_dir() for root in created)
            if ending == "quit":
                assert await running.quit() == 0
            elif ending == "eof":
                assert running.process.stdin is not None
                running.process.stdin.close()
                assert await running.wait() == 0
            elif ending == "sigterm":
                running.process.send_signal(signal.SIGTERM)
                assert await running.wait() == 0
            else:
                running.process.kill()
                assert await running.wait() == -signal.SIGKILL
        if ending != "sigkill":
            assert await gone(pids, zombies_ok=False) == set()  # reaped by the adapter
            assert not any(root.exists() for root in created)
            return
        # SIGKILL: the browser dies with the adapter (setpriv --pdeathsig); the orphans are
        # init's to reap. The next adapter removes the directory nobody holds any more.
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is not installed")
        assert await gone(pids, zombies_ok=True) == set()
        async with adapter(browser, tmp_path) as running:
            await running.ready(browser)
            assert not any(root.exists() for root in created)
            assert await running.quit() == 0

    run(main)


def loopback_namespace() -> tuple[str, ...] | None:
    """A command prefix running the rest in a new network namespace with only ``lo`` up."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    probe = subprocess.run(
        ["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        return None
    return ("unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh")


@pytest.mark.parametrize("browser", BROWSERS)
def test_loopback_only_namespace(browser: str, tmp_path: Path) -> None:
    need(browser)
    prefix = loopback_namespace()
    if prefix is None:
        pytest.skip("needs root, unshare and ip to make a loopback-only network namespace")

    async def main() -> None:
        async with adapter(browser, tmp_path, prefix=prefix) as running:
            await running.ready(browser)
            for conn, url in enumerate(("ws://unresolvable.invalid:1234/", "ws://192.0.2.1:1234/")):
                started = time.monotonic()
                await running.connect(conn, url)
                events = await running.events_of(conn)
                assert [e["event"] for e in events] == ["error", "close"], events
                assert (events[1]["code"], events[1]["wasClean"]) == (1006, False)
                assert time.monotonic() - started < 5.0
            assert await running.quit() == 0

    run(main)
