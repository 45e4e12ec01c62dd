"""The browser adapter: the JSON-lines contract relayed to a headless browser's ``WebSocket``.

Run as ``python -m conformance.clients.browser chromium|firefox [--ca-file PEM] [--spki B64]
[--browser-binary PATH] [--keep-profile]`` (``docs/client-adapters.md``). This module reads
the commands, keeps a browser with the right trust and relays both ways; the page is in
:mod:`.page`, the HTTP bridge in :mod:`.bridge`, the executable, flags,
prefs and trust store in :mod:`.profile`, the browser's process in
:mod:`.process`.

Theory of operation
-------------------
A small HTTP *bridge* on ``127.0.0.1`` (ephemeral port) serves
:data:`~.page.PAGE`, once, under a random per-launch token. The browser runs
headless on a throw-away profile and ``HOME`` and loads it; the page long-polls
``next?after=N`` for command N (204 after :data:`~.bridge.POLL_SECONDS`), runs it on
a ``WebSocket`` object as any script would, and POSTs each event record, numbered, to
``event`` one at a time, so they arrive in the order they fired. The bridge writes them to
stdout as they are: the page adds nothing but the ``WebSocket``'s ``readyState`` when the
event fired. Commands reach the page as they came; a ``connect`` with ``"echo": true`` makes
the page send every message back (:mod:`.page`).

Trust: a CA is imported into the browser's own NSS database with ``certutil``
(libnss3-tools): ``$HOME/.pki/nssdb`` for Chromium, the profile for Firefox. A ``wss://``
connect whose ``ca_file`` differs from the trusted CA relaunches the browser first.
``--spki`` adds Chromium's ``--ignore-certificate-errors-spki-list`` (trusts one key).

Silence: :data:`~.profile.CHROMIUM_FLAGS` and :data:`~.profile.FIREFOX_PREFS`
turn off or point at a blocked loopback port every background service seen to look up a
name (updaters, remote settings, telemetry, safe browsing, new-tab feeds, captive portal and
connectivity checks).

Everything is bounded: the page must poll within :data:`START_TIMEOUT`; a browser that
exits or a page that stops polling ends the adapter (status 1) after a ``log`` event with
the tail of the browser's output. On ``quit``, stdin EOF, SIGTERM or SIGINT the browser's
process group and every process it orphaned (this process is a child subreaper) are killed
and reaped and the temporary directory removed. If this process is killed, the browser gets
SIGKILL too (``setpriv --pdeathsig``) and the next adapter removes the directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from .bridge import Bridge, Session
from .process import Browser, adopt_orphans, sweep_stale_roots
from .profile import AdapterError, browser_version, find_browser

BROWSERS: Final = ("chromium", "firefox")
START_TIMEOUT = 30.0
"""Seconds for the browser to start and load the bridge page."""
PAGE_SILENCE = 15.0
"""No poll open and none for this long: the page is gone."""


def emit(event: dict[str, Any]) -> None:
    """Write one event line to stdout and flush it."""
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def browser_adapter_command(name: str, *, ca_file: Path | None, spki: str | None) -> list[str]:
    """The argv running this adapter for browser ``name`` (``--spki`` is Chromium-only)."""
    if name not in BROWSERS:
        raise ValueError(f"unknown browser {name!r}; known: {', '.join(BROWSERS)}")
    argv = [sys.executable, "-m", "conformance.clients.browser", name]
    if ca_file is not None:
        argv += ["--ca-file", str(ca_file)]
    if spki is not None and name == "chromium":
        argv += ["--spki", spki]
    return argv


class BrowserAdapter:
    """Reads commands from stdin, keeps a browser with the right trust, relays both ways."""

    def __init__(self, name: str, binary: str, *, spki: str | None, keep_profile: bool) -> None:
        self.name = name
        self.binary = binary
        self.spki = spki
        self.keep_profile = keep_profile
        self.bridge = Bridge(self._on_event)
        self.browser: Browser | None = None
        self.trust: bytes | None = None
        self.finished: set[int] = set()
        self.current: int | None = None
        self.failure: asyncio.Future[str] | None = None
        self._watch: asyncio.Task[None] | None = None

    def _on_event(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        emit(event)
        conn = event.get("conn")
        terminal = event.get("event") == "close" or (
            event.get("event") == "exception" and event.get("phase") == "connect"
        )
        if terminal and isinstance(conn, int):
            self.finished.add(conn)

    async def start_browser(self, ca_pem: bytes | None, timeout: float = START_TIMEOUT) -> None:
        """(Re)launch the browser trusting ``ca_pem``; wait until the page polls."""
        await self.stop_browser()
        session = self.bridge.new_session()
        why = "timed out"
        try:
            async with asyncio.timeout(timeout):
                self.browser = browser = await Browser.launch(
                    self.name, self.binary, self.bridge.page_url, ca_pem=ca_pem, spki=self.spki
                )
                self.trust = ca_pem
                exited = asyncio.ensure_future(browser.proc.wait())
                loaded = asyncio.ensure_future(session.loaded.wait())
                try:
                    await asyncio.wait({exited, loaded}, return_when="FIRST_COMPLETED")
                finally:
                    exited.cancel()
                    loaded.cancel()
                if browser.proc.returncode is not None:
                    why = f"exited with status {browser.proc.returncode}"
        except TimeoutError:
            pass
        if not session.loaded.is_set() or self.browser is None:
            tail = self.browser.output_tail() if self.browser is not None else ""
            await self.stop_browser()
            raise AdapterError(f"{self.name} did not load the bridge page ({why}):\n{tail}")
        self._watch = asyncio.create_task(self._watch_browser(self.browser, session))

    async def stop_browser(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self.browser is not None:
            browser, self.browser = self.browser, None
            await browser.stop(keep_profile=self.keep_profile)

    async def _watch_browser(self, browser: Browser, session: Session) -> None:
        while True:
            await asyncio.sleep(0.25)
            if browser.proc.returncode is not None:
                why = f"{self.name} exited with status {browser.proc.returncode}"
            elif session.silent_for() > PAGE_SILENCE:
                why = f"the page stopped polling for {PAGE_SILENCE:g} s"
            else:
                continue
            if self.failure is not None and not self.failure.done():
                self.failure.set_result(f"{why}; browser output:\n{browser.output_tail()}")
            return

    async def ensure_trust(self, command: dict[str, Any]) -> None:
        """Relaunch the browser if a ``wss://`` connect needs a different trusted CA."""
        try:
            scheme = urlsplit(str(command.get("url", ""))).scheme.lower()
        except ValueError:
            return
        if scheme not in ("wss", "https"):
            return
        ca_file = command.get("ca_file")
        try:
            wanted = Path(ca_file).read_bytes() if ca_file else None
        except (OSError, TypeError) as exc:
            raise AdapterError(f"cannot read ca_file {ca_file!r}: {exc}") from None
        if wanted != self.trust:
            await self.start_browser(wanted)

    async def handle(self, line: bytes) -> bool:
        """Relay one command line; False on ``quit``."""
        try:
            command = json.loads(line)
        except ValueError as exc:
            emit({"event": "log", "message": f"bad command line {line[:200]!r}: {exc}"})
            return True
        if not isinstance(command, dict):
            emit({"event": "log", "message": f"bad command {command!r}"})
            return True
        op, conn = command.get("op"), command.get("conn")
        if op == "quit":
            return False
        if op == "connect":
            self.current = conn if isinstance(conn, int) else None
            if isinstance(conn, int):
                self.finished.discard(conn)
            await self.ensure_trust(command)
        elif op in ("send", "close"):
            if isinstance(conn, int) and conn in self.finished:
                return True
        else:
            emit({"event": "log", "conn": conn, "message": f"unknown command {op!r}"})
            return True
        await self.bridge.session.push(command)
        return True

    async def run(self, ca_pem: bytes | None) -> int:
        """Start, relay until ``quit``, stdin EOF, SIGTERM or SIGINT; the exit status."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        relay = asyncio.ensure_future(self._relay(ca_pem))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({relay, stopping}, return_when="FIRST_COMPLETED")
            if relay.done():
                return relay.result()
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            return 0
        finally:
            stopping.cancel()
            await self.stop_browser()
            await self.bridge.close()

    async def _relay(self, ca_pem: bytes | None) -> int:
        loop = asyncio.get_running_loop()
        self.failure = loop.create_future()
        try:
            started = time.monotonic()
            await self.bridge.start()
            client = await browser_version(self.name, self.binary)
            await self.start_browser(ca_pem, START_TIMEOUT - (time.monotonic() - started))
        except AdapterError as exc:
            print(f"browser adapter: {exc}", file=sys.stderr, flush=True)
            return 1
        emit({"event": "ready", "client": client})
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        threading.Thread(target=_read_stdin, args=(loop, lines), daemon=True).start()
        while True:
            line = asyncio.ensure_future(lines.get())
            waiting: set[asyncio.Future[Any]] = {line, self.failure}
            await asyncio.wait(waiting, return_when="FIRST_COMPLETED")
            if self.failure.done():
                line.cancel()
                return self._fail(self.failure.result())
            command = line.result()
            if command is None:
                return 0
            try:
                if not await self.handle(command):
                    return 0
            except AdapterError as exc:
                return self._fail(str(exc))

    def _fail(self, message: str) -> int:
        event: dict[str, Any] = {"event": "log", "message": f"browser adapter: {message}"}
        if self.current is not None:
            event["conn"] = self.current
        emit(event)
        print(f"browser adapter: {message}", file=sys.stderr, flush=True)
        return 1


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[bytes | None]) -> None:
    """Feed stdin's lines to ``lines`` from a thread, then None at EOF.

    Raw ``os.read``: a daemon thread blocked in ``sys.stdin`` would hold its buffer's lock
    and abort the interpreter's shutdown on SIGTERM.
    """
    pending = b""
    try:
        while chunk := os.read(sys.stdin.fileno(), 65536):
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                if line.strip():
                    loop.call_soon_threadsafe(lines.put_nowait, line)
        if pending.strip():
            loop.call_soon_threadsafe(lines.put_nowait, pending)
    except (OSError, ValueError):
        pass
    finally:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lines.put_nowait, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.clients.browser",
        description="Client adapter (docs/client-adapters.md) driving a headless browser.",
    )
    parser.add_argument("browser", choices=BROWSERS)
    parser.add_argument("--ca-file", type=Path, help="PEM CA to trust from the start")
    parser.add_argument(
        "--spki", help="Chromium: --ignore-certificate-errors-spki-list (base64 SHA-256)"
    )
    parser.add_argument("--browser-binary", help="the browser executable (default: from PATH)")
    parser.add_argument(
        "--keep-profile", action="store_true", help="keep the temporary profile (path on stderr)"
    )
    args = parser.parse_args(argv)
    if args.spki is not None and args.browser != "chromium":
        parser.error("--spki is for chromium only")
    binary = args.browser_binary or find_browser(args.browser)
    if binary is None or shutil.which(binary) is None:
        print(f"browser adapter: no {args.browser} executable found", file=sys.stderr)
        return 1
    try:
        ca_pem = args.ca_file.read_bytes() if args.ca_file is not None else None
    except OSError as exc:
        print(f"browser adapter: cannot read --ca-file: {exc}", file=sys.stderr)
        return 1
    adopt_orphans()
    sweep_stale_roots()
    adapter = BrowserAdapter(args.browser, binary, spki=args.spki, keep_profile=args.keep_profile)
    return asyncio.run(adapter.run(ca_pem))
