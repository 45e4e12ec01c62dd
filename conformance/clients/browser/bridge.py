"""The HTTP bridge between the adapter and the page: commands out, event records in.

It listens on ``127.0.0.1`` (ephemeral port) and serves
:data:`~conformance.clients.browser.page.PAGE`, once, under a random per-launch token; the
page long-polls ``next?after=N`` for command N (204 after :data:`POLL_SECONDS`) and POSTs
numbered event records to ``event``, each handed to ``on_event`` once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from .page import PAGE

POLL_SECONDS = 10.0
"""A long poll with no command answers 204 after this long."""
MAX_BODY = 256 * 1024 * 1024
IDLE_TIMEOUT = 120.0
REASONS: Final = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found", 410: "Gone"}


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
