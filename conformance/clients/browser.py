"""The browser adapter: the JSON-lines contract relayed to a headless browser's ``WebSocket``.

Run as ``python -m conformance.clients.browser chromium|firefox [--ca-file PEM] [--spki B64]
[--browser-binary PATH] [--keep-profile]`` (``docs/client-adapters.md``).

Theory of operation
-------------------
A small HTTP *bridge* on ``127.0.0.1`` (ephemeral port) serves :data:`PAGE`, once, under a
random per-launch token. The browser runs headless on a throw-away profile and ``HOME`` and
loads it; the page long-polls ``next?after=N`` for command N (204 after
:data:`POLL_SECONDS`), runs it on a ``WebSocket`` object as any script would, and POSTs each
event record, numbered, to ``event`` one at a time, so they arrive in the order they fired.
The bridge writes them to stdout as they are: the page adds nothing but the ``WebSocket``'s
``readyState`` when the event fired.

Trust: a CA is imported into the browser's own NSS database with ``certutil``
(libnss3-tools): ``$HOME/.pki/nssdb`` for Chromium, the profile for Firefox. A ``wss://``
connect whose ``ca_file`` differs from the trusted CA relaunches the browser first.
``--spki`` adds Chromium's ``--ignore-certificate-errors-spki-list`` (trusts one key).

Silence: :data:`CHROMIUM_FLAGS` and :data:`FIREFOX_PREFS` turn off or point at a blocked
loopback port every background service seen to look up a name (updaters, remote settings,
telemetry, safe browsing, new-tab feeds, captive portal and connectivity checks).

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
import ctypes
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

BROWSERS: Final = ("chromium", "firefox")
BINARIES: Final = {
    "chromium": ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"),
    "firefox": ("firefox", "firefox-esr"),
}
START_TIMEOUT = 30.0
"""Seconds for the browser to start and load the bridge page."""
POLL_SECONDS = 10.0
"""A long poll with no command answers 204 after this long."""
PAGE_SILENCE = 15.0
"""No poll open and none for this long: the page is gone."""
TOOL_TIMEOUT = 10.0
"""Seconds for ``--version`` and each ``certutil`` run."""
STOP_TIMEOUT = 5.0
STDERR_TAIL = 4096
MAX_BODY = 256 * 1024 * 1024
IDLE_TIMEOUT = 120.0
CA_NICKNAME = "ws-conformance"
ROOT_PREFIX = "ws-conformance-browser-"
PR_SET_CHILD_SUBREAPER = 36
REASONS: Final = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found", 410: "Gone"}
PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)

CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--no-proxy-server",
    "--password-store=basic",
    "--disable-dev-shm-usage",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--disable-features=Translate,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying",
    "--host-resolver-rules=MAP *.invalid ~NOTFOUND",
    # --disable-component-update leaves an update check: send it to a blocked loopback port
    "--component-updater=url-source=http://127.0.0.1:9/",
)

FIREFOX_PREFS: Final[dict[str, bool | int | str]] = {
    # updates, studies, add-ons
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "app.normandy.api_url": "",
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.systemAddon.update.url": "",
    "extensions.pocket.enabled": False,
    "media.gmp-manager.url": "http://127.0.0.1:9/",
    "media.gmp-manager.chromium-update-url": "http://127.0.0.1:9/",
    "media.gmp-gmpopenh264.enabled": False,
    "media.gmp-widevinecdm.enabled": False,
    # honoured with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 in the environment
    "services.settings.server": "http://127.0.0.1:9/v1",
    "browser.search.update": False,
    "browser.region.update.enabled": False,
    "browser.region.network.url": "",
    "geo.provider.network.url": "",
    "identity.fxaccounts.enabled": False,
    "dom.push.enabled": False,
    "dom.push.connection.enabled": False,
    "dom.push.serverURL": "",
    "browser.translations.enable": False,
    # telemetry
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": "",
    "toolkit.telemetry.coverage.opt-out": True,
    "toolkit.coverage.endpoint.base": "",
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.usage.uploadEnabled": False,
    "browser.ping-centre.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    # captive portal, connectivity, safe browsing, certificate-error probes
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "captivedetect.canonicalURL": "",
    "network.manage-offline-status": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.passwords.enabled": False,
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "security.certerrors.mitm.priming.enabled": False,
    "security.OCSP.enabled": 0,
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "security.enterprise_roots.enabled": False,
    # prefetching, speculative connections, DoH, proxies, HTTP/3
    "network.prefetch-next": False,
    "network.dns.disablePrefetch": True,
    "network.predictor.enabled": False,
    "network.http.speculative-parallel-limit": 0,
    "browser.places.speculativeConnect.enabled": False,
    "browser.urlbar.speculativeConnect.enabled": False,
    "network.trr.mode": 5,
    "network.proxy.type": 0,
    "network.http.http3.enable": False,
    "browser.send_pings": False,
    # first-run pages and prompts
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "browser.startup.homepage_override.mstone": "ignore",
    "startup.homepage_welcome_url": "",
    "startup.homepage_welcome_url.additional": "",
    "datareporting.policy.firstRunURL": "",
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.unifiedAds.endpoint": "http://127.0.0.1:9/",
    "browser.newtabpage.activity-stream.discoverystream.endpoints": "http://127.0.0.1:9/",
    "browser.newtabpage.activity-stream.feeds.section.topstories": False,
    "browser.newtabpage.activity-stream.feeds.topsites": False,
    "browser.newtabpage.activity-stream.showSponsored": False,
    "browser.newtabpage.activity-stream.showSponsoredTopSites": False,
    "browser.topsites.contile.enabled": False,
    "browser.urlbar.quicksuggest.enabled": False,
    "browser.urlbar.merino.endpointURL": "",
    "browser.shell.checkDefaultBrowser": False,
    "browser.sessionstore.resume_from_crash": False,
    "toolkit.startup.max_resumed_crashes": -1,
    "browser.discovery.enabled": False,
    "browser.tabs.warnOnClose": False,
}

PAGE: Final = """<!doctype html>
<meta charset="utf-8">
<title>ws-conformance browser adapter</title>
<script>
"use strict";
// Runs the bridge's commands on WebSocket objects and reports what they expose, in order.
const sockets = new Map();
const outbox = [];
let numbered = 0;
let sending = false;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function report(record) {
  outbox.push(JSON.stringify({ n: ++numbered, event: record }));
  if (!sending) flush();
}

async function flush() {
  sending = true;
  while (outbox.length > 0) {
    try {
      const response = await fetch("event", { method: "POST", body: outbox[0], cache: "no-store" });
      if (response.ok) { outbox.shift(); continue; }
    } catch (e) { /* the bridge is busy or gone: retry */ }
    await sleep(100);
  }
  sending = false;
}

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  if (typeof bytes.toBase64 === "function") return bytes.toBase64();
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function exception(conn, phase, e, ws) {
  const record = {
    event: "exception", conn, phase, name: String(e && e.name), message: String(e && e.message),
    status: null, headers: null, body: null, redirected: null,
  };
  if (ws !== null) record.readyState = ws.readyState;
  report(record);
}

function connect(command) {
  const conn = command.conn;
  let ws;
  try {
    ws = new WebSocket(command.url, command.protocols ?? []);
  } catch (e) {
    exception(conn, "connect", e, null);
    return;
  }
  ws.binaryType = "arraybuffer";
  sockets.set(conn, ws);
  const on = (type, fields) => ws.addEventListener(type, (e) => {
    report({ event: type, conn, ...fields(e), readyState: ws.readyState });
  });
  on("open", () => ({ protocol: ws.protocol, extensions: ws.extensions }));
  on("message", (e) => (typeof e.data === "string"
    ? { text: e.data } : { binary: base64(e.data) }));
  on("error", (e) => ({ message: e.message === undefined ? "" : String(e.message) }));
  on("close", (e) => ({ code: e.code, reason: e.reason, wasClean: e.wasClean }));
}

function run(command) {
  if (command.op === "connect") return connect(command);
  const ws = sockets.get(command.conn);
  if (ws === undefined) {
    report({ event: "log", conn: command.conn, message: `no connection for ${command.op}` });
  } else if (command.op === "send") {
    try { ws.send(command.text); } catch (e) { exception(command.conn, "send", e, ws); }
  } else if (command.op === "close") {
    const args = [];
    if (command.reason !== null && command.reason !== undefined) {
      args.push(command.code ?? undefined, command.reason);
    } else if (command.code !== null && command.code !== undefined) {
      args.push(command.code);
    }
    try { ws.close(...args); } catch (e) { exception(command.conn, "close", e, ws); }
  }
}

async function poll() {
  let after = 0;
  for (;;) {
    let command = null;
    try {
      const response = await fetch(`next?after=${after}`, { cache: "no-store" });
      if (response.status === 200) command = await response.json();
      else if (response.status !== 204) await sleep(200);
    } catch (e) {
      await sleep(200);
      continue;
    }
    if (command === null) continue;
    after += 1;
    try { run(command); } catch (e) { report({ event: "log", message: `page: ${e}` }); }
  }
}

poll();
</script>
"""


class AdapterError(Exception):
    """The adapter cannot go on (no browser, no page, no trust store)."""


def emit(event: dict[str, Any]) -> None:
    """Write one event line to stdout and flush it."""
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def find_browser(name: str) -> str | None:
    """The first of the usual executables for ``name`` on PATH, or None."""
    for candidate in BINARIES.get(name, ()):
        found = shutil.which(candidate)
        if found is not None:
            return found
    return None


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


def firefox_user_js() -> str:
    """The ``user.js`` of a fresh Firefox profile: nothing phones home, no first-run pages."""
    return "".join(
        f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in FIREFOX_PREFS.items()
    )


async def run_tool(argv: list[str], env: dict[str, str] | None = None) -> str:
    """Run a helper to completion within :data:`TOOL_TIMEOUT`; its stdout, or AdapterError."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise AdapterError(f"cannot run {argv[0]}: {exc}") from None
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), TOOL_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise AdapterError(f"{argv[0]} did not finish within {TOOL_TIMEOUT:g} s") from None
    text = output.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise AdapterError(f"{' '.join(argv)} failed ({proc.returncode}): {text[-STDERR_TAIL:]}")
    return text


async def install_ca(nssdb: Path, ca_pem: bytes) -> None:
    """Create an NSS database in ``nssdb`` trusting each certificate of ``ca_pem`` for TLS."""
    certutil = shutil.which("certutil")
    if certutil is None:
        raise AdapterError("certutil not found: install libnss3-tools to trust a ca_file")
    certificates = PEM_CERT.findall(ca_pem)
    if not certificates:
        raise AdapterError("the ca_file holds no PEM certificate")
    nssdb.mkdir(parents=True, exist_ok=True)
    db = f"sql:{nssdb}"
    await run_tool([certutil, "-N", "-d", db, "--empty-password"])
    for index, certificate in enumerate(certificates):
        pem = nssdb / f"ca-{index}.pem"
        pem.write_bytes(certificate + b"\n")
        nickname = CA_NICKNAME if index == 0 else f"{CA_NICKNAME}-{index}"
        await run_tool([certutil, "-A", "-d", db, "-n", nickname, "-t", "C,,", "-i", str(pem)])


async def browser_version(name: str, binary: str) -> str:
    """``"Chromium 156.0.8078.73 (headless)"`` from ``--version`` (the binary's name if none)."""
    with (
        tempfile.TemporaryDirectory(prefix="ws-conformance-version-") as home,
        contextlib.suppress(AdapterError),
    ):
        output = await run_tool([binary, "--version"], browser_environment(Path(home)))
        for line in output.splitlines():
            found = re.match(r"\s*([A-Za-z]\D*\d+(?:\.\d+)+\S*)", line)
            if found:
                return f"{found.group(1)} (headless)"
    return f"{name} {Path(binary).name} (headless)"


@dataclass
class Session:
    """One page load: its token, the commands relayed to it, the events it posted."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    commands: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    served: bool = False
    polls: int = 0
    last_poll: float = field(default_factory=time.monotonic)
    last_event: int = 0

    async def push(self, command: dict[str, Any]) -> None:
        async with self.changed:
            self.commands.append(command)
            self.changed.notify_all()

    async def next_command(self, after: int) -> dict[str, Any] | None:
        """Command number ``after`` (0-based), waiting up to :data:`POLL_SECONDS`."""
        async with self.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.changed.wait_for(lambda: len(self.commands) > after), POLL_SECONDS
                )
            return self.commands[after] if len(self.commands) > after else None

    def silent_for(self) -> float:
        """Seconds since the page last had a poll open (0 while one is)."""
        return 0.0 if self.polls else time.monotonic() - self.last_poll


class Bridge:
    """The HTTP server the page talks to; events of the current session go to ``on_event``."""

    def __init__(self, on_event: Callable[[Any], None]) -> None:
        self.session = Session()
        self.on_event = on_event
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def new_session(self) -> Session:
        self.session = Session()
        return self.session

    @property
    def page_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.session.token}/"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                }
                length = int(headers.get("content-length", "0"))
                if not 0 <= length <= MAX_BODY:
                    break
                body = await asyncio.wait_for(reader.readexactly(length), IDLE_TIMEOUT)
                status, content_type, payload = await self._route(method, target, body)
                reason = REASONS[status]
                response = [
                    f"HTTP/1.1 {status} {reason}",
                    f"Content-Length: {len(payload)}",
                    "Cache-Control: no-store",
                ]
                if content_type:
                    response.append(f"Content-Type: {content_type}")
                writer.write(("\r\n".join(response) + "\r\n\r\n").encode("latin-1") + payload)
                await writer.drain()
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except (asyncio.LimitOverrunError, asyncio.CancelledError):
            pass  # ending normally keeps 3.11's stream callback quiet
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _route(self, method: str, target: str, body: bytes) -> tuple[int, str, bytes]:
        session = self.session
        parts = urlsplit(target)
        token, _, route = parts.path.lstrip("/").partition("/")
        if token != session.token:
            return 410, "", b""
        if method == "GET" and route == "" and not session.served:
            session.served = True  # once: a reloaded page would replay every command
            return 200, "text/html; charset=utf-8", PAGE.encode()
        if method == "GET" and route == "next":
            try:
                after = int(parse_qs(parts.query).get("after", ["0"])[0])
            except ValueError:
                return 400, "", b""
            session.loaded.set()
            session.polls += 1
            try:
                command = await session.next_command(after)
            finally:
                session.polls -= 1
                session.last_poll = time.monotonic()
            if command is None:
                return 204, "", b""
            return 200, "application/json", json.dumps(command).encode()
        if method == "POST" and route == "event":
            try:
                record = json.loads(body)
                number, event = int(record["n"]), record["event"]
            except (ValueError, KeyError, TypeError):
                return 400, "", b""
            if number > session.last_event:  # a retried POST is dropped
                session.last_event = number
                self.on_event(event)
            return 204, "", b""
        return 404, "", b""


class Browser:
    """One headless browser on a fresh temporary ``HOME`` and profile, as a process group."""

    def __init__(self, name: str, root: Path, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.root = root
        self.proc = proc
        self.lock = -1

    @classmethod
    async def launch(
        cls, name: str, binary: str, url: str, *, ca_pem: bytes | None, spki: str | None
    ) -> Browser:
        root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{name}-"))
        lock = _lock_root(root)
        try:
            browser = await cls._launch(name, binary, url, root, ca_pem=ca_pem, spki=spki)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            os.close(lock)
            raise
        browser.lock = lock
        return browser

    @classmethod
    async def _launch(
        cls, name: str, binary: str, url: str, root: Path, *, ca_pem: bytes | None, spki: str | None
    ) -> Browser:
        home, profile = root / "home", root / "profile"
        profile.mkdir(parents=True)
        env = browser_environment(home)
        if name == "chromium":
            if ca_pem is not None and (spki is None or shutil.which("certutil")):
                await install_ca(home / ".pki" / "nssdb", ca_pem)
            argv = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
            if spki is not None:
                argv.append(f"--ignore-certificate-errors-spki-list={spki}")
            argv.append(url)
        else:
            (profile / "user.js").write_text(firefox_user_js())
            if ca_pem is not None:
                await install_ca(profile, ca_pem)
            argv = [binary, "--headless", "--no-remote", "--profile", str(profile), url]
        setpriv = shutil.which("setpriv")
        if setpriv is not None and sys.platform.startswith("linux"):
            argv = [setpriv, "--pdeathsig", "KILL", "--", *argv]
        with open(root / "browser.log", "wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        return cls(name, root, proc)

    def output_tail(self) -> str:
        """The last :data:`STDERR_TAIL` bytes the browser wrote."""
        try:
            with open(self.root / "browser.log", "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - STDERR_TAIL))
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    async def stop(self, *, keep_profile: bool = False) -> None:
        """Kill the process group and every process we adopted, reap them, remove the root."""
        pgid, me = self.proc.pid, os.getpid()
        deadline = time.monotonic() + STOP_TIMEOUT
        while True:
            table = process_table()
            ours = descendants(table, me)
            doomed = [
                pid
                for pid, (_, group, state) in table.items()
                if state != "Z" and (group == pgid or pid in ours)
            ]
            for pid in doomed:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if self.proc.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.proc.wait(), max(0.0, deadline - time.monotonic()))
            zombies = [
                pid
                for pid, (parent, _, state) in table.items()
                if parent == me and state == "Z" and pid != pgid
            ]
            for pid in zombies:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
            if not (doomed or zombies) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        if keep_profile:
            (self.root / "lock").unlink(missing_ok=True)
            print(f"browser adapter: kept {self.root}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        if self.lock >= 0:
            os.close(self.lock)
            self.lock = -1


def _lock_root(root: Path) -> int:
    """Hold an exclusive ``flock`` on ``root/lock`` while the directory is in use.

    Locked before it gets its name, so :func:`sweep_stale_roots` never sees it unlocked.
    """
    fd = os.open(root / ".lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(root / ".lock", root / "lock")
    return fd


def sweep_stale_roots() -> None:
    """Remove the temporary directories of adapters that died without cleaning up (SIGKILL):
    those whose ``lock`` nobody holds. Kept profiles have no lock and stay."""
    for root in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        try:
            fd = os.open(root / "lock", os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        shutil.rmtree(root, ignore_errors=True)
        os.close(fd)


def process_table() -> dict[int, tuple[int, int, str]]:
    """Each process's parent, process group and state, from ``/proc``."""
    table: dict[int, tuple[int, int, str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            table[int(stat.parent.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def descendants(table: dict[int, tuple[int, int, str]], root: int) -> set[int]:
    """The processes below ``root`` in ``table``."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    pending = list(children.get(root, ()))
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending += children.get(pid, ())
    return found


def adopt_orphans() -> None:
    """Become a child subreaper (Linux): processes the browser orphans (its crash handler
    daemonizes out of the process group) are re-parented here, so they can be killed and
    reaped."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def browser_environment(home: Path) -> dict[str, str]:
    """The browser's environment: a fresh ``HOME`` and XDG directories, crash reports off."""
    env = dict(os.environ)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        env.pop(name, None)
        env.pop(name.upper(), None)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        MOZ_CRASHREPORTER_DISABLE="1",
        MOZ_REMOTE_SETTINGS_DEVTOOLS="1",  # lets services.settings.server point to loopback
        MOZ_NO_REMOTE="1",
    )
    for sub in (".config", ".cache", ".local/share"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return env


class Adapter:
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
    adapter = Adapter(args.browser, binary, spki=args.spki, keep_profile=args.keep_profile)
    return asyncio.run(adapter.run(ca_pem))


if __name__ == "__main__":
    sys.exit(main())
