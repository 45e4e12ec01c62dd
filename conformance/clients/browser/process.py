"""The browser's process: a throw-away root, the launch, and the end of all it started.

Each browser runs as its own process group on a temporary directory (``HOME``, profile,
output log) held under an ``flock``; stopping it kills and reaps the group and every process
it orphaned (this process is a child subreaper), then removes the directory. A directory
whose adapter died (SIGKILL) is swept by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from .profile import STDERR_TAIL, browser_argv, browser_environment

STOP_TIMEOUT = 5.0
ROOT_PREFIX = "ws-conformance-browser-"
PR_SET_CHILD_SUBREAPER = 36


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
        argv = await browser_argv(name, binary, url, home, profile, ca_pem=ca_pem, spki=spki)
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
