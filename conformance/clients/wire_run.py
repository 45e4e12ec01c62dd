"""Run the wire cases against a client: the suite listens, the adapter connects in echo mode.

For each case the :class:`ClientDialer` hands out a URL with a fresh token, sends the
adapter ``connect`` (``"echo": true``, docs/client-adapters.md) and waits, within the case's
deadline, for the connection whose request line carries that token; the case then runs on
it as on a server's (:mod:`conformance.clients.wire_cases`), judged by the server runner's
:func:`~conformance.runner.run_case`. Meanwhile every event line the adapter prints is read
and kept (bounded), so its pipe never fills however many messages it echoes; an adapter
that exits is restarted before the next case, and the case it left is judged on the wire.
A client that does not connect for :data:`MAX_MISSED_DIALS` cases in a row is not asked
again: the remaining cases are ERROR with that diagnosis.

Under the ``whatwg`` profile the events of each case's connection (its ``conn``) are also
kept apart, and once the case is judged on the wire, it is judged on what the script saw
against the WHATWG model (:mod:`conformance.clients.script_view`): one evidence line, and
FAIL where the script's view breaks the texts. Other profiles, and adapters that print no
event for the connection, are left as they are.

Before the cases a preflight connection sends a Ping and a text message (as
:mod:`conformance.session.capabilities` does for a server): a client that cannot connect
stops the wire cases at once, and one without Pongs or echoes gets the same
:class:`~conformance.session.context.PeerFacts` a server would.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Sequence
from typing import Final

from ..cases.base import Case
from ..driver import Connection, ResetLastReader, Target, Transcript
from ..model.constants import Opcode
from ..model.observed import TransportEnd
from ..results import CaseResult
from ..runner import run_case
from ..session.capabilities import PROBE_PING, PROBE_TEXT, ProbeSeen, read_facts
from ..session.context import CannotRun, CaseContext, Dial, PeerFacts
from ..session.wire import WireSession, client_frame, text
from .harness import AdapterFailed, AdapterProcess
from .protocol import ECHO, AdapterEvent
from .script_view import ScriptSeen, script_view_result

HOST: Final = "127.0.0.1"
ROUTE_TIMEOUT: Final = 5.0
"""Seconds an accepted connection may take to send the request line that routes it."""
MAX_ROUTE_BYTES: Final = 16 * 1024
MAX_EVENTS_KEPT: Final = 10_000
"""Adapter event lines kept over a run (the rest are counted): evidence, not state."""
PUMP_POLL: Final = 0.5
"""Seconds each read of the adapter's events may wait: the reader notices within this that
it is told to stop (a cancellation alone can be lost in ``asyncio.wait_for`` on 3.11)."""
MAX_MISSED_DIALS: Final = 3
"""Cases in a row the client did not connect to before the run stops asking: the rest are
ERROR at once with the same diagnosis, so a broken adapter costs seconds, not a deadline
per case."""
SCRIPT_WAIT: Final = 2.0
"""Seconds, after a case ends, that its connection's terminal event may take to arrive."""
SCRIPT_PROFILE: Final = "whatwg"
"""The profile under which the script's view of each wire case is judged too."""

WireProgress = Callable[[CaseResult], None]

Accepted = tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]


class ClientDialer:
    """A loopback listener whose connections go to the case that asked the adapter for them."""

    def __init__(self, adapter: AdapterProcess, *, watch: bool = False) -> None:
        self.adapter = adapter
        self.watch = watch
        self._watched: dict[int, tuple[ScriptSeen, asyncio.Event]] = {}
        self.events = 0
        self.problems: list[str] = []
        self._pending: dict[str, asyncio.Future[Accepted]] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pump: asyncio.Task[None] | None = None
        self._pumping = False
        self._restart = asyncio.Lock()
        self.port = 0
        self.missed = 0
        self.gave_up = ""

    async def __aenter__(self) -> ClientDialer:
        loop = asyncio.get_running_loop()

        def protocol() -> asyncio.StreamReaderProtocol:
            return asyncio.StreamReaderProtocol(ResetLastReader(), self._accepted)

        self._server = await loop.create_server(protocol, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._start_pump()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop_pump()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def target(self) -> Target:
        """The listener as a target (what the reports name)."""
        return Target.parse(f"ws://{HOST}:{self.port}/")

    # -- the adapter's side ---------------------------------------------------------------

    def _start_pump(self) -> None:
        self._pumping = True
        self._pump = asyncio.create_task(self._read_events())

    async def _stop_pump(self) -> None:
        """Stop reading events, and wait (bounded) until the reader has stopped."""
        self._pumping = False
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            await asyncio.wait({pump}, timeout=PUMP_POLL + 1.0)

    async def _read_events(self) -> None:
        """Read the adapter's event lines as they come (it must never block on stdout)."""
        loop = asyncio.get_running_loop()
        while self._pumping and self.adapter.alive:
            event = await self.adapter.read(loop.time() + PUMP_POLL)
            if event is None:
                await asyncio.sleep(0.01)
                continue
            self.events += 1
            if event.problem is not None and len(self.problems) < MAX_EVENTS_KEPT:
                self.problems.append(f"contract: {event.problem}")
            self._keep(event)

    def _keep(self, event: AdapterEvent) -> None:
        """Give ``event`` to the script view of its connection, if one is watched."""
        conn = event.conn
        watched = self._watched.get(conn) if conn is not None else None
        if watched is not None:
            watched[0].add(event)
            if watched[0].ended:
                watched[1].set()

    async def _ensure_adapter(self) -> None:
        """Restart an adapter that exited (a crash is the client's, seen on the wire)."""
        async with self._restart:
            if self.adapter.alive:
                return
            await self._stop_pump()
            await self.adapter.stop(grace=0.5)
            await self.adapter.start()
            self._start_pump()

    def dial_for(self, conns: list[int]) -> Dial:
        """:meth:`dial` for one case, noting in ``conns`` each connection it asks for."""

        async def dial(deadline: float, transcript: Transcript) -> Connection:
            return await self.dial(deadline, transcript, conns)

        return dial

    async def script_seen(self, conns: Sequence[int]) -> ScriptSeen | None:
        """What the script saw on a case's one connection, once its terminal event came
        (bounded by :data:`SCRIPT_WAIT`); None unless exactly one was watched."""
        if len(conns) != 1 or conns[0] not in self._watched:
            for conn in conns:
                self._watched.pop(conn, None)
            return None
        seen, ended = self._watched[conns[0]]
        if self.adapter.alive:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), SCRIPT_WAIT)
        del self._watched[conns[0]]
        return seen

    async def dial(
        self, deadline: float, transcript: Transcript, conns: list[int] | None = None
    ) -> Connection:
        """Ask the adapter to connect (echo mode); the accepted connection, by ``deadline``.

        ``conns`` (watched under :data:`SCRIPT_PROFILE`) gets the ``conn`` of the command.
        """
        if self.gave_up:
            raise CannotRun(self.gave_up)
        try:
            await self._ensure_adapter()
        except AdapterFailed as exc:
            raise self._missed(f"the adapter could not be restarted: {exc}") from None
        token = secrets.token_hex(8)
        arrived: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._pending[token] = arrived
        url = f"ws://{HOST}:{self.port}/{token}"
        conn = self.adapter.next_conn()
        if conns is not None and self.watch:
            conns.append(conn)
            self._watched[conn] = (ScriptSeen(), asyncio.Event())
        try:
            await self.adapter.send(
                "connect",
                conn=conn,
                url=url,
                protocols=[],
                ca_file=None,
                **{ECHO: True},
            )
            async with asyncio.timeout_at(deadline):
                reader, writer, unread = await arrived
        except TimeoutError:
            raise self._missed(f"the client did not connect to {url} before the deadline") from None
        finally:
            self._pending.pop(token, None)
        self.missed = 0
        return Connection.accepted(reader, writer, deadline, transcript, unread)

    def _missed(self, why: str) -> CannotRun:
        """Count a case the client did not connect to; after :data:`MAX_MISSED_DIALS` in a
        row, give up on the rest."""
        self.missed += 1
        if self.missed >= MAX_MISSED_DIALS and not self.gave_up:
            self.gave_up = (
                f"not run: the client did not connect for {self.missed} cases in a row "
                f"(the last: {why})"
            )
        return CannotRun(why)

    # -- the listener's side --------------------------------------------------------------

    def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._route(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _route(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read up to the end of the request line, then hand the connection to its case."""
        head = b""
        try:
            async with asyncio.timeout(ROUTE_TIMEOUT):
                while b"\n" not in head and len(head) < MAX_ROUTE_BYTES:
                    data = await reader.read(MAX_ROUTE_BYTES)
                    if not data:
                        break
                    head += data
        except (TimeoutError, OSError):
            pass
        arrived = self._pending.get(_token(head))
        if arrived is None or arrived.done():
            writer.transport.abort()
            return
        arrived.set_result((reader, writer, head))


def _token(head: bytes) -> str:
    """The token of ``GET /TOKEN HTTP/1.1`` (empty when the line is not one)."""
    parts = head.split(b"\n", 1)[0].split()
    if len(parts) < 2:
        return ""
    return parts[1].decode("latin-1").strip("/")


async def preflight(dialer: ClientDialer, timeout: float) -> PeerFacts:
    """One connection: a Ping and a text message, their answers read within ``timeout``.

    A client that does not connect or complete the handshake makes ``dialer`` give up
    (every case then ERROR with that reason); otherwise the facts the cases wait by.
    """
    loop = asyncio.get_running_loop()
    ctx = CaseContext(dialer.target, loop.time() + timeout, dial=dialer.dial)
    try:
        session = await WireSession.open(ctx)
        await session.send(client_frame(Opcode.PING, PROBE_PING), text(PROBE_TEXT))
        seen = session.observed
        await session.until(
            lambda s: PROBE_PING in seen.pongs and (Opcode.TEXT, PROBE_TEXT) in seen.messages
        )
        probe = ProbeSeen(
            pongs=list(seen.pongs),
            messages=[data for opcode, data in seen.messages if opcode == Opcode.TEXT],
            ended=seen.close is not None or session.conn.end is not TransportEnd.OPEN,
        )
        return read_facts(probe, timeout, peer="client")
    except CannotRun as exc:
        dialer.gave_up = f"not run: the preflight connection failed: {exc}"
        return PeerFacts()
    finally:
        await ctx.close_all()


async def run_wire_cases(
    adapter: AdapterProcess,
    cases: Sequence[Case],
    *,
    timeout: float,
    jobs: int = 1,
    progress: WireProgress | None = None,
    reproduce: Callable[[str], str] | None = None,
    profile: str | None = None,
) -> list[CaseResult]:
    """Run ``cases`` through the live ``adapter``, at most ``jobs`` at once; results in order.

    Under ``profile`` :data:`SCRIPT_PROFILE` each case is judged on the script's view too.
    """
    gate = asyncio.Semaphore(jobs)
    async with ClientDialer(adapter, watch=profile == SCRIPT_PROFILE) as dialer:
        target = dialer.target
        facts = await preflight(dialer, timeout)

        async def one(case: Case) -> CaseResult:
            async with gate:
                conns: list[int] = []
                result = await run_case(
                    case,
                    target,
                    timeout=timeout,
                    reproduce=reproduce(case.id) if reproduce else "",
                    facts=facts,
                    dial=dialer.dial_for(conns),
                )
                if dialer.watch:
                    result = script_view_result(result, await dialer.script_seen(conns))
            if progress is not None:
                progress(result)
            return result

        return list(await asyncio.gather(*(one(case) for case in cases)))
