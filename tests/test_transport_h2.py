"""The HTTP/2 transport (RFC 8441): one WebSocket on one extended-CONNECT stream, and the
wire sections of RFC 6455 run over it unchanged (``wsconform run --transport h2``)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import RequestReceived
from h2.settings import SettingCodes, Settings

from conformance.cases.base import Case
from conformance.cli import main
from conformance.cli.common import EXIT_OK, EXIT_USAGE
from conformance.driver import HTTP2, Target, Transcript, Unreachable
from conformance.model.codec import encode_frame
from conformance.model.constants import Opcode
from conformance.model.decoder import CloseReceived, Message, PeerStream
from conformance.model.observed import TransportEnd
from conformance.model.verdict import Outcome
from conformance.reference_server import LoopbackServer, start_reference_server
from conformance.reference_server_h2 import start_h2_reference_server
from conformance.results import CaseResult
from conformance.runner import run_suite, select_cases
from conformance.session.context import CannotRun, CaseContext
from conformance.session.preflight import preflight
from conformance.session.wire import Refused, WireSession, binary, close_frame, text
from conformance.tls import TlsFiles, make_tls_files
from conformance.transports.h2 import H2StreamConnection, connect_headers, offer_h2
from conformance.transports.scope import WIRE_SECTIONS, h2_exclusion
from fixtures.wire_faults import wire_policy

pytestmark = pytest.mark.network

DEADLINE = 10.0
BIG = 3 * 2**20
"""Bytes of a message bigger than every flow-control window of either side."""
SENT_BEFORE_RESET = b"\x81\x02hi"
"""A text frame the scripted server sends before its RST_STREAM."""
FAULTS = (
    "accept-unmasked",
    "no-utf8-check",
    "data-after-close",
    "echo-fragmented-wrong",
    "masked-server-frames",
    "no-tcp-close",
)
"""Wire faults (fixtures.wire_faults) served over h2: each still FAILs, as over HTTP/1.1."""
NO_TCP_CLOSE_CASES = ("rfc6455/7.1.1", "rfc6455/5.5.1")
"""no-tcp-close never ends the stream: only the cases watching the close, each waiting out
its deadline, run for it."""


def wire_cases(*patterns: str) -> list[Case]:
    return [c for c in select_cases(patterns) if not h2_exclusion(c.id)]


async def h2_target(server: LoopbackServer) -> Target:
    return replace(Target.parse(server.url), transport=HTTP2)


async def open_stream(server: LoopbackServer) -> H2StreamConnection:
    deadline = asyncio.get_running_loop().time() + DEADLINE
    return await H2StreamConnection.connect(await h2_target(server), deadline, Transcript())


async def read_events(conn: H2StreamConnection, stream: PeerStream, until: type) -> list[object]:
    """The server's frames decoded until an event of type ``until`` came."""
    events: list[object] = []
    while not any(isinstance(e, until) for e in events):
        data = await conn.receive()
        assert data, f"the stream ended ({conn.end}) before {until.__name__}"
        events += stream.feed(data)
    return events


def test_stream_opens_and_echoes_against_the_h2c_reference_server() -> None:
    async def scenario() -> None:
        async with await start_h2_reference_server() as server:
            conn = await open_stream(server)
            assert conn.problem == ""
            assert conn.response is not None and conn.response.status == 200
            stream = PeerStream(peer="server")
            await conn.send(encode_frame(text("hello over h2")))
            events = await read_events(conn, stream, Message)
            assert [(e.opcode, e.data) for e in events if isinstance(e, Message)] == [
                (Opcode.TEXT, b"hello over h2")
            ]
            payload = bytes(range(256)) * (BIG // 256)
            await conn.send(encode_frame(binary(payload)))
            events = await read_events(conn, stream, Message)
            assert [e.data for e in events if isinstance(e, Message)] == [payload]
            await conn.send(encode_frame(close_frame(1000)))
            events = await read_events(conn, stream, CloseReceived)
            assert await conn.receive() == b""
            assert conn.end is TransportEnd.EOF  # the server's END_STREAM
            assert conn.transcript.sent_total > BIG and conn.transcript.received_total > BIG
            await conn.close()

    asyncio.run(scenario())


def test_connect_request_carries_the_rfc8441_pseudo_headers() -> None:
    target = Target.parse("ws://example.com:8080/chat?x=1")
    headers = dict(connect_headers(target, [(b"Origin", b"http://a"), (b"Connection", b"up")]))
    assert headers[b":method"] == b"CONNECT"
    assert headers[b":protocol"] == b"websocket"
    assert headers[b":scheme"] == b"http"
    assert headers[b":path"] == b"/chat?x=1"
    assert headers[b":authority"] == b"example.com:8080"
    assert headers[b"sec-websocket-version"] == b"13"
    assert headers[b"origin"] == b"http://a"
    assert b"connection" not in headers and b"sec-websocket-key" not in headers


ScriptedHandler = Callable[[H2Connection, asyncio.StreamWriter, int], Awaitable[None]]


async def start_scripted_h2_server(
    connect_protocol: int | None, on_request: ScriptedHandler | None = None
) -> LoopbackServer:
    """A bare h2 server: SETTINGS with ENABLE_CONNECT_PROTOCOL as given (None: absent);
    each request handed to ``on_request``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = H2Connection(H2Configuration(client_side=False, header_encoding=None))
        values = {SettingCodes.MAX_CONCURRENT_STREAMS: 10}
        if connect_protocol is not None:
            values[SettingCodes.ENABLE_CONNECT_PROTOCOL] = connect_protocol
        conn.local_settings = Settings(client=False, initial_values=values)
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        while data := await reader.read(65536):
            for event in conn.receive_data(data):
                if isinstance(event, RequestReceived) and on_request is not None:
                    await on_request(conn, writer, event.stream_id or 0)
            writer.write(conn.data_to_send())
            await writer.drain()

    return await LoopbackServer.start(handle)


def test_server_without_enable_connect_protocol_gets_a_one_line_diagnosis() -> None:
    async def scenario() -> str:
        async with await start_scripted_h2_server(connect_protocol=None) as server:
            with pytest.raises(Unreachable) as caught:
                await preflight(await h2_target(server), DEADLINE)
            return str(caught.value)

    line = asyncio.run(scenario())
    assert "SETTINGS_ENABLE_CONNECT_PROTOCOL = 1" in line and "RFC 8441 §3" in line
    assert "\n" not in line


def test_http1_server_is_told_apart_from_an_http2_one() -> None:
    async def scenario() -> str:
        async with await start_reference_server() as server:
            with pytest.raises(Unreachable) as caught:
                await open_stream(server)
            return str(caught.value)

    assert "not HTTP/2" in asyncio.run(scenario())


def test_bytes_before_rst_stream_come_first_then_a_reset() -> None:
    async def accept_then_reset(conn: H2Connection, writer: asyncio.StreamWriter, sid: int) -> None:
        conn.send_headers(sid, [(b":status", b"200")])
        conn.send_data(sid, SENT_BEFORE_RESET)
        conn.reset_stream(sid, ErrorCodes.INTERNAL_ERROR)

    async def scenario() -> None:
        async with await start_scripted_h2_server(1, accept_then_reset) as server:
            conn = await open_stream(server)
            assert conn.problem == ""
            received = b""
            while data := await conn.receive():
                received += data
            assert received == SENT_BEFORE_RESET
            assert conn.end is TransportEnd.RESET
            await conn.close()

    asyncio.run(scenario())


def test_refused_connect_is_reported_with_its_status() -> None:
    async def refuse(conn: H2Connection, writer: asyncio.StreamWriter, sid: int) -> None:
        conn.send_headers(sid, [(b":status", b"403")], end_stream=True)

    async def scenario() -> H2StreamConnection:
        async with await start_scripted_h2_server(1, refuse) as server:
            conn = await open_stream(server)
            await conn.close()
            return conn

    conn = asyncio.run(scenario())
    assert conn.response is not None and conn.response.status == 403
    assert ":status 403" in conn.problem


def test_wire_session_takes_a_refused_connect_as_a_refused_handshake() -> None:
    async def refuse(conn: H2Connection, writer: asyncio.StreamWriter, sid: int) -> None:
        conn.send_headers(sid, [(b":status", b"403")], end_stream=True)

    async def scenario() -> Refused:
        async with await start_scripted_h2_server(1, refuse) as server:
            ctx = CaseContext(await h2_target(server), asyncio.get_running_loop().time() + DEADLINE)
            try:
                with pytest.raises(Refused) as caught:
                    await WireSession.open(ctx)
            finally:
                await ctx.close_all()
            return caught.value

    refused = asyncio.run(scenario())
    assert refused.response is not None and refused.response.status == 403
    assert ":status 403" in str(refused)


def test_wire_session_offering_an_extension_cannot_run_over_h2() -> None:
    async def scenario() -> str:
        async with await start_h2_reference_server() as server:
            ctx = CaseContext(await h2_target(server), asyncio.get_running_loop().time() + DEADLINE)
            with pytest.raises(CannotRun) as caught:
                await WireSession.open(ctx, extensions=[b"permessage-deflate"])
            assert ctx.connections == []
            return str(caught.value)

    assert "not over HTTP/2" in asyncio.run(scenario())


def run_h2(
    server_start: Callable[[], Awaitable[LoopbackServer]], cases: list[Case]
) -> list[CaseResult]:
    async def scenario() -> list[CaseResult]:
        async with await server_start() as server:
            report = await run_suite(await h2_target(server), cases, timeout=3, jobs=8)
            return report.results

    return asyncio.run(scenario())


def run_h1(
    server_start: Callable[[], Awaitable[LoopbackServer]], cases: list[Case]
) -> list[CaseResult]:
    async def scenario() -> list[CaseResult]:
        async with await server_start() as server:
            report = await run_suite(Target.parse(server.url), cases, timeout=3, jobs=8)
            return report.results

    return asyncio.run(scenario())


def test_framing_section_passes_over_h2_against_the_reference_server() -> None:
    cases = wire_cases("rfc6455/5.2")
    results = run_h2(start_h2_reference_server, cases)
    assert len(results) == len(cases) > 50
    assert {r.id: r.outcome for r in results if r.outcome is not Outcome.PASS} == {}


def test_every_wire_section_passes_over_h2_against_the_reference_server() -> None:
    cases = wire_cases(*WIRE_SECTIONS)
    results = run_h2(start_h2_reference_server, cases)
    assert len(results) == len(cases) > 300
    assert {r.id: r.outcome for r in results if r.outcome is not Outcome.PASS} == {}


@pytest.mark.parametrize("fault", FAULTS)
def test_wire_fault_still_fails_over_h2_as_over_http1(fault: str) -> None:
    patterns = NO_TCP_CLOSE_CASES if fault == "no-tcp-close" else WIRE_SECTIONS
    cases = wire_cases(*patterns)
    over_h2 = run_h2(lambda: start_h2_reference_server(wire_policy=wire_policy(fault)), cases)
    over_h1 = run_h1(
        lambda: start_reference_server(engine="model", wire_policy=wire_policy(fault)), cases
    )
    failed = {r.id for r in over_h2 if r.outcome is Outcome.FAIL}
    assert failed
    assert {r.id: r.outcome for r in over_h2} == {r.id: r.outcome for r in over_h1}


def test_cli_runs_over_tls_agreeing_to_h2_by_alpn(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--transport", "h2", "--tls", "--cases", "rfc6455/5.5", "-q"]) == EXIT_OK


@contextmanager
def serving_h2_over_tls(files: TlsFiles) -> Iterator[str]:
    """The h2 reference server over TLS, on a loop in a thread of its own; yields its URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    start = start_h2_reference_server(ssl=files.server_context())
    server = asyncio.run_coroutine_threadsafe(start, loop).result(DEADLINE)
    try:
        yield server.url
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(DEADLINE)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(DEADLINE)
        loop.close()


def test_cli_runs_a_wss_url_over_h2(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path)
    with serving_h2_over_tls(files) as url:
        assert url.startswith("wss://")
        argv = [
            "run",
            "--transport",
            "h2",
            url,
            "--ca-file",
            str(files.ca),
            "--cases",
            "rfc6455/5.6",
        ]
        assert main([*argv, "-q"]) == EXIT_OK


def test_tls_server_not_agreeing_to_h2_by_alpn_is_diagnosed(tmp_path: Path) -> None:
    files = make_tls_files(tmp_path)

    async def scenario() -> str:
        async with await start_reference_server(ssl=files.server_context()) as server:
            target = Target.parse(server.url, offer_h2(files.client_context()))
            with pytest.raises(Unreachable) as caught:
                await preflight(replace(target, transport=HTTP2), DEADLINE)
            return str(caught.value)

    assert "did not agree to HTTP/2 by ALPN" in asyncio.run(scenario())


def test_cli_runs_the_wire_sections_over_h2_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "run.json"
    code = main(["run", "--transport", "h2", "--cases", "rfc6455/5.5", "--json", str(report)])
    assert code == EXIT_OK
    saved = json.loads(report.read_text())
    assert saved["target"]["transport"] == "h2"
    assert all("--transport h2" in case["reproduce"] for case in saved["cases"])
    assert "HTTP/2 (RFC 8441" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--cases", "rfc6455/4.2.1"], "HTTP/1.1 opening handshake"),
        (["--cases", "rfc7692/7"], "permessage-deflate"),
        (["--profile", "security"], "wire sections only"),
        (["--segmentation", "random:1"], "not with --transport h2"),
    ],
)
def test_cli_refuses_what_h2_cannot_run(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--transport", "h2", *argv]) == EXIT_USAGE
    assert said in capsys.readouterr().err
