"""Start a server under test from a command line, wait until it accepts, stop it after.

``{port}`` and ``{host}`` in the command are replaced by a free loopback port and the
host; ``{cert}`` and ``{key}`` by PEM files when TLS material is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import tempfile
from pathlib import Path
from types import TracebackType

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
POLL_INTERVAL = 0.05


class ServerCommandFailed(Exception):
    """The command exited, or never accepted connections, before the deadline."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerCommand:
    """An async context manager running ``template`` as the target server."""

    def __init__(
        self,
        template: str,
        *,
        host: str = "127.0.0.1",
        startup_timeout: float = STARTUP_TIMEOUT,
        cert: Path | None = None,
        key: Path | None = None,
    ) -> None:
        self.host = host
        self.port = free_port(host)
        self.startup_timeout = startup_timeout
        fields = {
            "port": str(self.port),
            "host": host,
            "cert": str(cert or ""),
            "key": str(key or ""),
        }
        try:
            self.command = template.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"bad --server-cmd {template!r}: unknown placeholder {exc}; "
                "use {port}, {host}, {cert} or {key}"
            ) from None
        if "{port}" not in template:
            raise ValueError(f"bad --server-cmd {template!r}: it must contain {{port}}")
        self._proc: asyncio.subprocess.Process | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __aexit__

    async def __aenter__(self) -> ServerCommand:
        self._proc = await asyncio.create_subprocess_shell(
            self.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )
        await self._wait_until_accepting()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def process_group(self) -> int | None:
        """The started command's process group (its own session), None when not running."""
        return self._proc.pid if self._proc is not None else None

    def log_tail(self, limit: int = 2000) -> str:
        """The end of what the server printed (stdout and stderr)."""
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - limit))
        return self._log.read().decode("utf-8", "replace").strip()

    async def _wait_until_accepting(self) -> None:
        assert self._proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout
        while loop.time() < deadline:
            if self._proc.returncode is not None:
                message = self._failure(f"exited with status {self._proc.returncode}")
                await self.stop()
                raise ServerCommandFailed(message)
            try:
                async with asyncio.timeout(1.0):
                    _reader, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError):
                # Polling a port that is not open yet: the only wait here, bounded.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL_INTERVAL):
                        await self._proc.wait()
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        message = self._failure(
            f"did not accept connections on port {self.port} within {self.startup_timeout:g}s"
        )
        await self.stop()
        raise ServerCommandFailed(message)

    def _failure(self, what: str) -> str:
        tail = self.log_tail(400).replace("\n", " | ")
        return f"server command {self.command!r} {what}" + (f"; it printed: {tail}" if tail else "")

    async def stop(self) -> None:
        """SIGTERM the command's process group, then SIGKILL after a bounded wait."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                try:
                    async with asyncio.timeout(STOP_TIMEOUT):
                        await proc.wait()
                    break
                except TimeoutError:
                    continue
        if not self._log.closed:
            self._log.close()
