"""Drive one adapter process through the scenarios, one connection at a time.

For each scenario the harness sends ``connect``, plays the script's actions when ``open``
arrives, and reads events until the terminal one or the deadline. Then it waits for the
scenario server to finish the connection, so the wire record is complete. What it saw is
a :class:`ClientObservation`; verdicts are :mod:`conformance.clients.judge`'s job.

Every step is bounded: the adapter's start, each event read (lines are capped), each
scenario; an adapter that stops answering is killed and restarted for the next scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from .observation import WIRE_GRACE, ClientObservation
from .protocol import ECHO, MAX_LINE, AdapterEvent, command, parse_event
from .scenario_server.server import ScenarioServer
from .scenarios import AwaitMessage, ClientScenario, CloseCall, Send

READY_TIMEOUT = 30.0
"""Seconds an adapter may take to print ``ready`` (a browser starts within it)."""

STDERR_TAIL = 4096


class AdapterFailed(Exception):
    """The adapter did not start, or broke the contract so that no scenario can run."""


class AdapterProcess:
    """An adapter subprocess speaking the JSON-lines contract."""

    def __init__(self, argv: Sequence[str] | str, *, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.env = env
        self.client = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr = bytearray()
        self._stderr_task: asyncio.Task[None] | None = None
        self._conn = 0

    async def start(self, timeout: float = READY_TIMEOUT) -> None:
        env = {**os.environ, **(self.env or {})}
        common = {
            "stdin": asyncio.subprocess.PIPE,
            "stdout": asyncio.subprocess.PIPE,
            "stderr": asyncio.subprocess.PIPE,
            "limit": MAX_LINE,
            "env": env,
            "start_new_session": True,
        }
        if isinstance(self.argv, str):
            self._proc = await asyncio.create_subprocess_shell(self.argv, **common)  # type: ignore[arg-type]
        else:
            self._proc = await asyncio.create_subprocess_exec(*self.argv, **common)  # type: ignore[arg-type]
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = await self.read(deadline)
            if event is None:
                assert self._proc is not None and self._proc.stdout is not None
                if self._proc.stdout.at_eof():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._proc.wait(), 2)
                exited = self._proc.returncode
                await self.stop()
                why = (
                    f"the adapter exited with status {exited} before printing 'ready'"
                    if exited is not None
                    else f"the adapter did not print 'ready' within {timeout:g}s"
                )
                tail = self.stderr_tail().strip()[-300:]
                raise AdapterFailed(why + (f"; its stderr ends: {tail}" if tail else ""))
            if event.type == "ready":
                self.client = str(event.fields.get("client", ""))
                return

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(4096):
            self._stderr += chunk
            del self._stderr[:-STDERR_TAIL]

    def stderr_tail(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    def next_conn(self) -> int:
        self._conn += 1
        return self._conn

    async def send(self, op: str, **fields: object) -> None:
        if not self.alive:
            return
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(command(op, **fields))
            await asyncio.wait_for(self._proc.stdin.drain(), 5)
        except (ConnectionError, TimeoutError, RuntimeError):
            pass

    async def read(self, deadline: float, *, started: float = 0.0) -> AdapterEvent | None:
        """The next event line, or None at the deadline or at the adapter's exit."""
        assert self._proc is not None and self._proc.stdout is not None
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), remaining)
        except TimeoutError:
            return None
        except ValueError:  # a line longer than MAX_LINE
            return AdapterEvent("invalid", {}, loop.time() - started, "line too long")
        if not line:
            await asyncio.sleep(0)
            return None
        return parse_event(line.rstrip(b"\r\n"), round(loop.time() - started, 4))

    async def stop(self, grace: float = 3.0) -> None:
        """``quit``, then SIGKILL to the process group after ``grace`` seconds."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            await self.send("quit")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), grace)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 3)
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stderr_task
        transport = getattr(proc, "_transport", None)  # close the pipes now, not at GC
        if transport is not None:
            transport.close()


async def play_scenario(
    adapter: AdapterProcess,
    server: ScenarioServer,
    scenario: ClientScenario,
    *,
    timeout: float,
    echo: bool = False,
) -> ClientObservation:
    """Play one scenario through ``adapter``; never raises for what the client does.

    ``echo`` asks the adapter to send back every message it receives (the ``connect``
    command's ``echo`` field, sent only when true).
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    token = secrets.token_hex(6)
    url = server.url_for(scenario, token)
    seen = ClientObservation(scenario, url)
    conn = adapter.next_conn()
    deadline = started + timeout
    await adapter.send(
        "connect",
        conn=conn,
        url=url,
        protocols=list(scenario.script.protocols),
        ca_file=str(server.ca_file),
        **({ECHO: True} if echo else {}),
    )
    pending = list(scenario.script.on_open)
    waiting_for_message = False
    opened = False

    async def play() -> None:
        nonlocal waiting_for_message
        while pending and not waiting_for_message:
            action = pending.pop(0)
            if isinstance(action, Send):
                await adapter.send("send", conn=conn, text=action.text)
            elif isinstance(action, AwaitMessage):
                waiting_for_message = True
            elif isinstance(action, CloseCall):
                await adapter.send("close", conn=conn, code=action.code, reason=action.reason)

    while True:
        event = await adapter.read(deadline, started=started)
        if event is None:
            if not adapter.alive:
                seen.problems.append("the adapter exited during the scenario")
                break
            if seen.harness_closed or not opened:
                seen.timed_out = True
                break
            # The deadline passed with the connection open: ask the client to close,
            # and give it a moment to report the end.
            seen.timed_out = True
            seen.harness_closed = True
            await adapter.send("close", conn=conn, code=1000, reason=None)
            deadline = loop.time() + 2.0
            continue
        if event.type == "ready":
            continue
        if event.problem is not None:
            seen.problems.append(f"contract: {event.problem}")
        if event.conn is not None and event.conn != conn:
            continue  # a late event of an earlier connection
        seen.events.append(event)
        if event.type == "open" and not opened:
            opened = True
            await play()
        elif event.type == "message" and waiting_for_message:
            waiting_for_message = False
            await play()
        elif event.type == "exception" and event.fields.get("phase") == "close":
            await play()
        if event.terminal:
            break
    if seen.timed_out and not seen.terminal:
        await _recover(adapter)
    await server.wait_idle(token, WIRE_GRACE)
    seen.records = server.records(token)
    seen.stderr_tail = adapter.stderr_tail()[-1024:]
    seen.duration_s = round(loop.time() - started, 4)
    _check_sequence(seen)
    return seen


async def _recover(adapter: AdapterProcess) -> None:
    """An adapter that ended no connection by the deadline is restarted."""
    await adapter.stop(grace=1.0)
    with contextlib.suppress(AdapterFailed):
        await adapter.start()


def _check_sequence(seen: ClientObservation) -> None:
    """Contract breaches in the event order: events after the terminal one, two terminals."""
    terminal_at = next((i for i, e in enumerate(seen.events) if e.terminal), None)
    if terminal_at is None:
        return
    after = [e for e in seen.events[terminal_at + 1 :] if e.type in ("open", "message")]
    if after:
        seen.problems.append(f"contract: {after[0].type} after the terminal event")


ProgressFn = Callable[[ClientObservation], None]


AfterScenarios = Callable[["AdapterProcess"], Awaitable[None]]
"""What runs through the live adapter after the scenarios."""

AdapterArgv = Sequence[str] | str | Callable[[ScenarioServer], Sequence[str] | str]
"""The adapter's command: argv, a shell command line, or a function of the running server
(a browser adapter needs the server's CA and leaf key)."""


async def run_scenarios(
    argv: AdapterArgv,
    scenarios: Sequence[ClientScenario],
    *,
    timeout: float = 5.0,
    env: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    tls_dir: Path | None = None,
    echo: bool = False,
    after: AfterScenarios | None = None,
) -> tuple[str, list[ClientObservation]]:
    """Start the scenario server and the adapter, play every scenario, stop both.

    ``echo``: every ``connect`` puts the adapter in echo mode (docs/client-adapters.md).
    ``after`` runs with the adapter still up once the scenarios are played (the wire cases:
    a browser is started once for both).
    """
    async with ScenarioServer(tls_dir=tls_dir) as server:
        adapter = AdapterProcess(argv(server) if callable(argv) else argv, env=env)
        await adapter.start()
        try:
            observations = []
            for scenario in scenarios:
                if not adapter.alive:
                    await adapter.start()
                seen = await play_scenario(adapter, server, scenario, timeout=timeout, echo=echo)
                observations.append(seen)
                if progress is not None:
                    progress(seen)
            if after is not None:
                if not adapter.alive:
                    await adapter.start()
                await after(adapter)
        finally:
            await adapter.stop()
        return adapter.client, observations
