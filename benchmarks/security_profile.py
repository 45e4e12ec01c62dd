"""The security profile's cost against one server: wall time, peak memory, connections.

    python benchmarks/security_profile.py                       # the hardened reference server
    python benchmarks/security_profile.py --plain               # the plain reference server
    python benchmarks/security_profile.py --server-cmd 'node fixtures/servers/node_ws.js {port}'

The server runs as its own process; the suite (``wsconform run --profile security``) runs
as a child process too, so its peak RSS is that child's (``getrusage(RUSAGE_CHILDREN)``,
read before the server is stopped and reaped, so the server's memory is not counted).
Between them a loopback relay counts the TCP connections the profile opens (in total and
most at once): issue #15 asks that every probe be bounded in connections.
With the hardened server the policy options that match it
(``conformance.hardening.HARDENED_POLICY``) are given. Each repetition is a whole run;
the median, min and max are printed (timings are measured, never asserted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from conformance.hardening import HARDENED_POLICY
from conformance.server_process import ServerCommand

RELAY_CHUNK = 64 * 1024


@dataclass
class Relay:
    """A loopback TCP relay to ``host:port`` counting the connections through it."""

    host: str
    port: int
    total: int = 0
    live: int = 0
    peak: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        self.total += 1
        self.live += 1
        self.peak = max(self.peak, self.live)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.close()
            self.live -= 1
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self.live -= 1
            for w in (writer, up_writer):
                w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while data := await reader.read(RELAY_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


def policy_args() -> list[str]:
    """The options matching the hardened server."""
    args = ["--origin-allow", *HARDENED_POLICY.origin_allow]
    if HARDENED_POLICY.auth_header is not None:
        name, value = HARDENED_POLICY.auth_header
        args += ["--auth-header", f"{name}: {value}"]
    if HARDENED_POLICY.max_message_size is not None:
        args += ["--max-message-size", str(HARDENED_POLICY.max_message_size)]
    return args


async def one_run(url: str, extra: list[str]) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "conformance.cli", "run", url, "--profile", "security"]
        command += ["-q", "--json", str(report), *extra]
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate()
        elapsed = time.perf_counter() - started
        if not report.exists():
            raise SystemExit(f"the run wrote no report: {err.decode(errors='replace')[-500:]}")
        summary: dict[str, int] = json.loads(report.read_text())["summary"]
    return elapsed, summary


async def measure(args: argparse.Namespace) -> None:
    if args.server_cmd:
        command, extra = args.server_cmd, list(args.extra)
    elif args.plain:
        command, extra = f"{sys.executable} -m conformance.reference_server --port {{port}}", []
        extra += list(args.extra)
    else:
        command = f"{sys.executable} -m conformance.hardening --port {{port}}"
        extra = [*policy_args(), *args.extra]
    async with ServerCommand(command) as server:
        relay = Relay(server.host, server.port)
        listener = await asyncio.start_server(relay.handle, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        times: list[float] = []
        summary: dict[str, int] = {}
        async with listener:
            for _ in range(args.repeat):
                elapsed, summary = await one_run(f"ws://127.0.0.1:{port}/", extra)
                times.append(elapsed)
            for task in list(relay.tasks):  # a probe's connection the server still holds
                task.cancel()
            await asyncio.gather(*relay.tasks, return_exceptions=True)
        # Read before the server stops: only the suite's runs have been reaped so far.
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        runs = args.repeat
    print(f"server: {command}")
    print(
        f"wall time over {runs} run(s): median {statistics.median(times):.1f} s, "
        f"min {min(times):.1f} s, max {max(times):.1f} s"
    )
    print(f"suite peak RSS: {peak_kib / 1024:.0f} MiB")
    print(f"connections a run: {relay.total // runs} (most at once: {relay.peak})")
    print("verdicts of the last run: " + ", ".join(f"{k} {v}" for k, v in summary.items() if v))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-cmd", help="a server command with {port}")
    parser.add_argument("--plain", action="store_true", help="the plain reference server")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more wsconform run options (after --)")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
