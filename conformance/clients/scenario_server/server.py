"""The scenario server: plays each client scenario on purpose and records what the client sent.

Listeners (all on ephemeral ports, loopback): plain ``ws``, ``wss`` with a leaf of the CA
handed to clients (:attr:`ScenarioServer.ca_file`), ``wss-untrusted`` with a leaf of a
second CA handed to nobody, and a bound but not listening port (connections are refused).
Every listener routes the same way: ``/{scenario}/{token}`` plays
:attr:`~conformance.clients.scenarios.ClientScenario.answer`, ``/redirect-target/{token}`` is a
plain echo endpoint (where :class:`~conformance.clients.scenarios.RedirectTo` points);
anything else gets a 404.

Each connection is played by :class:`~.connection.ScenarioConnection` (the scenario's
steps after a 101, then echo mode; the server closes TCP first) into a
:class:`~.records.ConnectionRecord`; requests are parsed and routed by
:mod:`.http`. Each connection is bounded by ``max_lifetime``.

A TLS connection that fails before any request carries no token; it is filed under the
token of the last :meth:`ScenarioServer.url_for` issued for that listener (the harness
opens one connection at a time and asks for its URL just before).

``python -m conformance.clients.scenario_server`` serves until Ctrl-C, for manual testing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import signal
import socket
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from ssl import SSLContext
from types import TracebackType
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ...reference_server import Handler, LoopbackServer
from ...tls import TlsFiles, make_tls_files
from ..scenarios import SCENARIOS, UNRESOLVABLE_HOST, UNROUTABLE_ADDRESS, ClientScenario
from .connection import HandedOutUrl, ScenarioConnection
from .http import TOKEN
from .records import ConnectionRecord, Listener


def spki_pin(cert_pem: bytes) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of a certificate (an HPKP-style pin)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class ScenarioServer:
    """The listeners that play :data:`~conformance.clients.scenarios.SCENARIOS`.

    Ports given as 0 (the default) are ephemeral. ``tls_dir`` receives the two CAs and
    their leaves (``trusted/`` and ``untrusted/``); a temporary directory otherwise.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        max_lifetime: float = 15.0,
        tls_dir: Path | None = None,
        port: int = 0,
        tls_port: int = 0,
        untrusted_port: int = 0,
    ) -> None:
        self.host = host
        self.max_lifetime = max_lifetime
        self.tls_dir = tls_dir
        self.url_host = "127.0.0.1" if host in ("127.0.0.1", "0.0.0.0", "") else host
        if ":" in self.url_host:
            self.url_host = f"[{self.url_host}]"
        self.on_ended: Callable[[ConnectionRecord], None] | None = None
        """Called with each record when its connection ends (the CLI prints a line)."""
        self._wanted = {"ws": port, "wss": tls_port, "wss-untrusted": untrusted_port}
        self._listeners: dict[Listener, LoopbackServer] = {}
        self._refused: socket.socket | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._trusted: TlsFiles | None = None
        self._trusted_spki = ""
        self._expected: dict[Listener, HandedOutUrl] = {}
        self._records: list[ConnectionRecord] = []
        self._live: set[ScenarioConnection] = set()
        self._changed = asyncio.Event()

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Write the TLS material and bind every listener."""
        if self.tls_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="ws-scenarios-")
            directory = Path(self._tempdir.name)
        else:
            directory = self.tls_dir
        contexts: dict[Listener, SSLContext | None] = {"ws": None}
        tls_listeners: tuple[tuple[Listener, str], ...] = (
            ("wss", "trusted"),
            ("wss-untrusted", "untrusted"),
        )
        for listener, sub in tls_listeners:
            (directory / sub).mkdir(parents=True, exist_ok=True)
            files = make_tls_files(directory / sub)
            contexts[listener] = files.server_context()
            if sub == "trusted":
                self._trusted = files
        assert self._trusted is not None
        self._trusted_spki = spki_pin(self._trusted.cert.read_bytes())
        try:
            for listener, context in contexts.items():
                self._listeners[listener] = await LoopbackServer.start(
                    self._handler(listener, context), self.host, self._wanted[listener]
                )
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            self._refused = socket.socket(family, socket.SOCK_STREAM)
            self._refused.bind((self.host, 0))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close the listeners, abort live connections, remove temporary files."""
        listeners, self._listeners = list(self._listeners.values()), {}
        for listener in listeners:
            await listener.close()
        if self._refused is not None:
            self._refused.close()
            self._refused = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
        self._notify()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- addresses ---------------------------------------------------------------------

    def listener_port(self, listener: Listener) -> int:
        if listener not in self._listeners:
            raise RuntimeError("the scenario server is not started")
        return self._listeners[listener].port

    @property
    def port(self) -> int:
        return self.listener_port("ws")

    @property
    def tls_port(self) -> int:
        return self.listener_port("wss")

    @property
    def untrusted_port(self) -> int:
        return self.listener_port("wss-untrusted")

    @property
    def refused_port(self) -> int:
        if self._refused is None:
            raise RuntimeError("the scenario server is not started")
        port: int = self._refused.getsockname()[1]
        return port

    @property
    def ca_file(self) -> Path:
        """The CA to hand to clients: it issued the ``wss`` leaf."""
        if self._trusted is None:
            raise RuntimeError("the scenario server is not started")
        return self._trusted.ca

    @property
    def trusted_spki(self) -> str:
        """The ``wss`` leaf's pin, for Chromium's ``--ignore-certificate-errors-spki-list``."""
        if not self._trusted_spki:
            raise RuntimeError("the scenario server is not started")
        return self._trusted_spki

    def url_for(self, scenario: ClientScenario, token: str) -> str:
        """The URL the script is given for ``scenario`` (its ``url`` template applied).

        Also remembers ``token`` as the owner of the next request-less connection on the
        scenario's listener (a failed TLS handshake).
        """
        if not TOKEN.fullmatch(token):
            raise ValueError(f"token {token!r} is not [A-Za-z0-9-]+")
        host, endpoint = self.url_host, scenario.endpoint
        bases = {
            "ws": f"ws://{host}:{self.port}",
            "wss": f"wss://{host}:{self.tls_port}",
            "wss-untrusted": f"wss://{host}:{self.untrusted_port}",
            "refused": f"ws://{host}:{self.refused_port}",
            "unresolvable": f"ws://{UNRESOLVABLE_HOST}:{self.port}",
            "unroutable": f"ws://{UNROUTABLE_ADDRESS}:{self.port}",
        }
        url = f"{bases[endpoint]}/{scenario.name}/{token}"
        if endpoint in ("ws", "wss", "wss-untrusted"):
            self._expected[endpoint] = HandedOutUrl(scenario.name, token)
        rest = url.removeprefix("wss" if url.startswith("wss:") else "ws")
        return scenario.script.url.replace("{url}", url).replace("{rest}", rest)

    # -- records -----------------------------------------------------------------------

    def records(self, token: str) -> list[ConnectionRecord]:
        """Every connection filed under ``token``, in arrival order."""
        return [record for record in self._records if record.token == token]

    async def wait_idle(self, token: str, timeout: float) -> None:
        """Until every connection of ``token`` has ended, or ``timeout`` passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self._idle(token):
                    changed = self._changed
                    await changed.wait()

    def _idle(self, token: str) -> bool:
        for conn in self._live:
            if conn.record.token == token:
                return False
            expected = conn.expected
            if not conn.record.token and expected is not None and expected.token == token:
                return False  # no request yet: may still be this token's
        return True

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _handler(self, listener: Listener, context: SSLContext | None) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = ScenarioConnection(
                listener,
                reader,
                writer,
                url_host=self.url_host,
                expected=self._expected.get(listener),
                listener_port=self.listener_port,
                notify=self._notify,
            )
            self._records.append(conn.record)
            self._live.add(conn)
            try:
                await conn.run(context, self.max_lifetime)
            finally:
                self._live.discard(conn)
                self._notify()
                if self.on_ended is not None:
                    self.on_ended(conn.record)

        return handle


# -- manual testing -------------------------------------------------------------------


def summary(record: ConnectionRecord) -> str:
    """One line about a finished connection."""
    parts = [record.token or "-", record.scenario or "-", record.listener]
    if record.tls_error is not None:
        parts.append(f"tls error: {record.tls_error}")
    if record.status is not None:
        parts.append(str(record.status))
    if record.frames:
        parts.append(f"{len(record.frames)} frames")
    if record.client_close is not None:
        parts.append(f"client close {record.client_close.code}")
    if record.violations:
        parts.append(f"{len(record.violations)} violations")
    parts.append(f"closed by {record.closed_by}")
    return "  ".join(parts)


async def _serve(args: argparse.Namespace) -> None:
    server = ScenarioServer(
        host=args.host,
        max_lifetime=args.max_lifetime,
        tls_dir=args.tls_dir,
        port=args.port,
        tls_port=args.tls_port,
        untrusted_port=args.untrusted_port,
    )
    server.on_ended = lambda record: print(summary(record), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        host = server.url_host
        print(f"ws             ws://{host}:{server.port}/")
        print(f"wss            wss://{host}:{server.tls_port}/")
        print(f"wss-untrusted  wss://{host}:{server.untrusted_port}/")
        print(f"refused        ws://{host}:{server.refused_port}/")
        print(f"CA file        {server.ca_file}")
        print(f"Chromium       --ignore-certificate-errors-spki-list={server.trusted_spki}")
        for scenario in SCENARIOS:
            print(f"{scenario.id:45} {server.url_for(scenario, args.token)}")
        print("serving; Ctrl-C stops", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.clients.scenario_server",
        description="Serve the client scenarios until Ctrl-C (for manual testing).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="ws port (default: any)")
    parser.add_argument("--tls-port", type=int, default=0, help="wss port (default: any)")
    parser.add_argument("--untrusted-port", type=int, default=0, help="untrusted wss port")
    parser.add_argument("--max-lifetime", type=float, default=15.0, help="seconds a connection")
    parser.add_argument("--tls-dir", type=Path, help="where to write the CAs and leaves")
    parser.add_argument("--token", default="manual", help="token in the printed URLs")
    args = parser.parse_args(argv)
    if not TOKEN.fullmatch(args.token):
        parser.error("--token must be [A-Za-z0-9-]+")
    asyncio.run(_serve(args))
    return 0
