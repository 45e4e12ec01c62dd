"""The scenario server, driven with raw asyncio streams and the model (RFC 6455 §4, §5, §7)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from conformance.clients.scenario_server.http import wrong_accept
from conformance.clients.scenario_server.records import ConnectionRecord
from conformance.clients.scenario_server.server import ScenarioServer
from conformance.clients.scenarios import SCENARIOS, ClientScenario, scenario_by_name
from conformance.model import rules
from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import Opcode
from conformance.model.decoder import CloseReceived, Event, Message, PeerStream, PingReceived
from conformance.model.frames import Frame
from conformance.model.handshake import (
    RESPONSE_ACCEPT,
    RESPONSE_UPGRADE,
    ResponseReader,
    accept_for,
    build_request,
    check_accept,
)
from conformance.model.observed import HttpResponse

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[2]
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # §4.2.2 example
MASK = b"\x37\xfa\x21\x3d"
IO_TIMEOUT = 2.0
TEST_TIMEOUT = 5.0

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def scenario(name: str) -> ClientScenario:
    found = scenario_by_name(name)
    assert found is not None, name
    return found


def run(
    body: Callable[[ScenarioServer], Awaitable[None]], tmp_path: Path, max_lifetime: float = 15.0
) -> None:
    async def main() -> None:
        async with ScenarioServer(tls_dir=tmp_path, max_lifetime=max_lifetime) as server:
            await asyncio.wait_for(body(server), TEST_TIMEOUT)

    asyncio.run(main())


async def connect(port: int, context: ssl.SSLContext | None = None) -> Streams:
    return await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=context), IO_TIMEOUT
    )


def request(port: int, path: str, key: bytes = KEY) -> bytes:
    return build_request(f"127.0.0.1:{port}".encode(), path.encode(), key=key).to_bytes()


async def handshake(
    server: ScenarioServer, name: str, token: str, context: ssl.SSLContext | None = None
) -> tuple[Streams, ResponseReader]:
    """Connect to ``name``'s listener, send a valid request, read the whole answer head."""
    port = {"ws": server.port, "wss": server.tls_port}[scenario(name).endpoint]
    return await exchange(port, request(port, f"/{name}/{token}"), context)


async def exchange(
    port: int, data: bytes, context: ssl.SSLContext | None = None
) -> tuple[Streams, ResponseReader]:
    """Connect, send ``data``, read the answer head."""
    reader, writer = await connect(port, context)
    writer.write(data)
    return (reader, writer), await read_response(reader)


async def read_response(reader: asyncio.StreamReader) -> ResponseReader:
    response = ResponseReader()
    while not response.done:
        response.feed(await asyncio.wait_for(reader.read(4096), IO_TIMEOUT))
    return response


def status_of(response: ResponseReader) -> HttpResponse:
    assert response.response is not None, response.error
    return response.response


async def read_events(
    streams: Streams, stream: PeerStream, until: Callable[[list[Event]], bool] = lambda _: False
) -> list[Event]:
    """Server frames (decoded as the server's peer would) until ``until``, or EOF (then close)."""
    reader, writer = streams
    events: list[Event] = []
    while not until(events):
        data = await asyncio.wait_for(reader.read(4096), IO_TIMEOUT)
        if not data:
            events += stream.feed_eof()
            writer.close()
            break
        events += stream.feed(data)
    return events


async def read_eof(streams: Streams) -> bytes:
    """Whatever is left until the server's FIN; then the client closes too."""
    reader, writer = streams
    data = await asyncio.wait_for(reader.read(), IO_TIMEOUT)
    writer.close()
    return data


def masked(opcode: int, payload: bytes) -> bytes:
    return encode_frame(Frame(opcode, payload, mask=MASK))


def labels(record: ConnectionRecord) -> list[str]:
    return [label for _, label in record.timeline]


async def only_record(server: ScenarioServer, token: str) -> ConnectionRecord:
    await server.wait_idle(token, IO_TIMEOUT)
    records = server.records(token)
    assert len(records) == 1, records
    assert records[0].ended
    return records[0]


# -- answers other than 101 ---------------------------------------------------------------


def test_status_403_sends_its_body_then_closes(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await handshake(server, "status-403", "t403")
        answer = status_of(response)
        assert answer.status == 403 and answer.body == b"forbidden by policy\n"
        assert answer.values(b"content-type") == [b"text/plain"]
        assert answer.values(b"connection") == [b"close"]
        assert await read_eof(streams) == b""
        record = await only_record(server, "t403")
        assert (record.listener, record.scenario, record.path) == (
            "ws",
            "status-403",
            "/status-403/t403",
        )
        assert (record.method, record.http_version, record.status) == ("GET", "HTTP/1.1", 403)
        assert record.key == KEY.decode() and record.upgrade_request_problems == []
        assert ("Sec-WebSocket-Version", "13") in record.headers
        assert record.request_head.endswith(b"\r\n\r\n")
        assert record.response_head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
        assert record.closed_by == "server" and record.client_eof
        assert labels(record)[:3] == ["request", "403 sent", "server fin"]

    run(body, tmp_path)


def test_redirect_points_at_an_echo_endpoint_recorded_under_the_same_token(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await handshake(server, "redirect-302", "tred")
        answer = status_of(response)
        location = f"ws://127.0.0.1:{server.port}/redirect-target/tred"
        assert (answer.status, answer.values(b"location")) == (302, [location.encode()])
        assert await read_eof(streams) == b""
        streams, response = await exchange(
            server.port, request(server.port, "/redirect-target/tred")
        )
        follow = status_of(response)
        assert follow.status == 101 and follow.values(b"sec-websocket-accept") == [accept_for(KEY)]
        streams[1].write(masked(Opcode.CLOSE, close_payload(1000)))
        stream = PeerStream(peer="server")
        await read_events(streams, stream)
        assert stream.close is not None and stream.close.code == 1000
        await server.wait_idle("tred", IO_TIMEOUT)
        records = server.records("tred")
        assert [r.scenario for r in records] == ["redirect-302", "redirect-target"]
        assert [r.status for r in records] == [302, 101]

    run(body, tmp_path)


def test_unknown_path_is_404(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await exchange(
            server.port, request(server.port, "/no-such-scenario/t404?x=1")
        )
        assert status_of(response).status == 404
        await read_eof(streams)
        record = await only_record(server, "t404")
        assert (record.scenario, record.path, record.status) == (
            "no-such-scenario",
            "/no-such-scenario/t404",
            404,
        )

    run(body, tmp_path)


def test_oversized_request_head_is_431(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await exchange(
            server.port, b"GET /echo/tbig HTTP/1.1\r\nX-Big: " + b"a" * 20000
        )
        assert status_of(response).status == 431
        with contextlib.suppress(ConnectionResetError):  # unread bytes: the close may reset
            await read_eof(streams)
        record = await only_record(server, "tbig")
        assert len(record.request_head) == 16 * 1024 and record.status == 431

    run(body, tmp_path)


def test_request_problems_are_recorded(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        bad = build_request(b"h", b"/status-500/tbad", key=b"c2hvcnQ=")  # decodes to 5 bytes
        bad = bad.without(b"Host").replacing(b"Sec-WebSocket-Version", b"12")
        streams, response = await exchange(server.port, bad.to_bytes())
        assert status_of(response).status == 500
        await read_eof(streams)
        problems = " | ".join((await only_record(server, "tbad")).upgrade_request_problems)
        assert "Host" in problems and "Sec-WebSocket-Version" in problems
        assert "5 bytes" in problems

    run(body, tmp_path)


def test_no_answer_closes_after_the_request(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams = await connect(server.port)
        streams[1].write(request(server.port, "/no-response/tnone"))
        assert await read_eof(streams) == b""
        record = await only_record(server, "tnone")
        assert record.status is None and record.response_head == b""
        assert labels(record)[:3] == ["request", "no answer", "server fin"]

    run(body, tmp_path)


def test_refused_port_refuses(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        with pytest.raises(ConnectionRefusedError):
            await connect(server.refused_port)

    run(body, tmp_path)


# -- a 101 the client must reject -------------------------------------------------------


def test_wrong_accept_looks_valid_but_is_not(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await handshake(server, "wrong-accept", "tacc")
        answer = status_of(response)
        sent = answer.values(b"sec-websocket-accept")
        assert sent == [wrong_accept(KEY.decode()).encode()]
        assert len(base64.b64decode(sent[0], validate=True)) == hashlib.sha1().digest_size
        violations = check_accept(build_request(b"h", key=KEY), answer)
        assert [v.requirement for v in violations] == [RESPONSE_ACCEPT]
        stream = PeerStream(peer="server")
        events = stream.feed(response.trailing)
        events += await read_events(streams, stream, lambda _: stream.messages_received > 0)
        assert Message(Opcode.TEXT, b"must not arrive") in events
        streams[1].close()

    run(body, tmp_path)


def test_missing_upgrade_header(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await handshake(server, "missing-upgrade", "tupg")
        streams[1].close()
        answer = status_of(response)
        assert answer.values(b"upgrade") == [] and answer.values(b"connection") == [b"Upgrade"]
        violations = check_accept(build_request(b"h", key=KEY), answer)
        assert [v.requirement for v in violations] == [RESPONSE_UPGRADE]

    run(body, tmp_path)


# -- TLS ------------------------------------------------------------------------------


def test_tls_trusted_connects_and_echoes(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        server.url_for(scenario("tls-trusted"), "ttls")
        context = ssl.create_default_context(cafile=str(server.ca_file))
        streams, response = await handshake(server, "tls-trusted", "ttls", context)
        assert status_of(response).status == 101
        streams[1].write(masked(Opcode.TEXT, b"hello") + masked(Opcode.CLOSE, close_payload(1000)))
        stream = PeerStream(peer="server")
        events = await read_events(streams, stream)
        assert Message(Opcode.TEXT, b"hello") in events and stream.close is not None
        record = await only_record(server, "ttls")
        assert record.listener == "wss" and record.tls_error is None
        assert labels(record)[:2] == ["tls ok", "request"]
        assert record.messages == [(Opcode.TEXT, b"hello")]

    run(body, tmp_path)


def test_tls_untrusted_fails_verification_and_is_recorded(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        url = server.url_for(scenario("tls-untrusted"), "tbad-ca")
        assert url == f"wss://127.0.0.1:{server.untrusted_port}/tls-untrusted/tbad-ca"
        context = ssl.create_default_context(cafile=str(server.ca_file))
        with pytest.raises(ssl.SSLCertVerificationError):
            await connect(server.untrusted_port, context)
        record = await only_record(server, "tbad-ca")
        assert record.listener == "wss-untrusted" and record.scenario == "tls-untrusted"
        assert record.tls_error is not None and record.status is None

    run(body, tmp_path)


def test_trusted_spki_pins_the_trusted_leaf(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        context = ssl.create_default_context(cafile=str(server.ca_file))
        _, writer = await connect(server.tls_port, context)
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True)
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        spki = (
            x509.load_der_x509_certificate(der)
            .public_key()
            .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        )
        assert server.trusted_spki == base64.b64encode(hashlib.sha256(spki).digest()).decode()
        writer.close()

    run(body, tmp_path)


# -- after the 101 --------------------------------------------------------------------------


def test_fin_after_101(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await handshake(server, "fin-after-101", "tfin")
        assert status_of(response).status == 101
        assert response.trailing + await read_eof(streams) == b""
        record = await only_record(server, "tfin")
        assert labels(record)[:3] == ["request", "101 sent", "server fin"]
        assert record.closed_by == "server" and record.client_eof

    run(body, tmp_path)


def test_rst_after_101(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        async def until_reset() -> None:
            streams, _ = await handshake(server, "rst-after-101", "trst")
            await read_eof(streams)

        with pytest.raises(ConnectionResetError):  # in the head read, or after it
            await until_reset()
        record = await only_record(server, "trst")
        assert record.status == 101 and labels(record)[-1] == "server rst"
        assert record.closed_by == "server"

    run(body, tmp_path)


def test_server_close_1000_waits_for_the_clients_close_then_fin(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await handshake(server, "server-close-1000", "tsc")
        stream = PeerStream(peer="server")
        stream.feed(response.trailing)
        await read_events(streams, stream, lambda events: stream.close is not None)
        assert stream.close == CloseReceived(1000, b"bye", close_payload(1000, b"bye"))
        with pytest.raises(TimeoutError):  # no FIN before the client's Close
            await asyncio.wait_for(streams[0].read(1), 0.2)
        streams[1].write(masked(Opcode.CLOSE, close_payload(1000)))
        assert await read_eof(streams) == b""
        record = await only_record(server, "tsc")
        assert record.server_close_sent == close_payload(1000, b"bye")
        assert record.client_close is not None and record.client_close.code == 1000
        assert labels(record)[-4:] == [
            "frame close 2",
            "client close 1000",
            "server fin",
            "client eof",
        ]
        assert record.closed_by == "server"

    run(body, tmp_path)


def test_echo_mode_echoes_and_answers_close_with_the_same_body(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await handshake(server, "echo", "techo")
        stream = PeerStream(peer="server")
        stream.feed(response.trailing)
        streams[1].write(masked(Opcode.TEXT, b"hello") + masked(Opcode.BINARY, b"\x00\xff"))
        streams[1].write(
            masked(Opcode.PING, b"p") + masked(Opcode.CLOSE, close_payload(1001, b"bye"))
        )
        events = await read_events(streams, stream)
        kinds = [e for e in events if isinstance(e, Message | CloseReceived)]
        assert kinds[:2] == [
            Message(Opcode.TEXT, b"hello"),
            Message(Opcode.BINARY, b"\xff\x00"[::-1]),
        ]
        assert stream.close == CloseReceived(1001, b"bye", close_payload(1001, b"bye"))
        assert stream.violations == []
        record = await only_record(server, "techo")
        assert [(f.opcode, f.masked, f.length) for f in record.frames] == [
            (Opcode.TEXT, True, 5),
            (Opcode.BINARY, True, 2),
            (Opcode.PING, True, 1),
            (Opcode.CLOSE, True, 5),
        ]
        assert record.messages == [(Opcode.TEXT, b"hello"), (Opcode.BINARY, b"\x00\xff")]
        assert record.server_close_sent == close_payload(1001, b"bye")
        assert record.violations == [] and record.closed_by == "server"

    run(body, tmp_path)


def test_unmasked_client_frame_is_a_violation(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, _ = await handshake(server, "echo", "tunm")
        streams[1].write(encode_frame(Frame(Opcode.TEXT, b"bare")) + masked(Opcode.CLOSE, b""))
        await read_events(streams, PeerStream(peer="server"))
        record = await only_record(server, "tunm")
        assert [v.requirement for v in record.violations] == [rules.CLIENT_MUST_MASK]
        assert record.frames[0].masked is False
        assert record.client_close == CloseReceived(None, b"", b"")

    run(body, tmp_path)


def test_ping_scenario_records_the_pong(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, response = await handshake(server, "ping", "tping")
        stream = PeerStream(peer="server")
        events = stream.feed(response.trailing)
        events += await read_events(
            streams, stream, lambda ev: PingReceived(b"are you there") in events + ev
        )
        streams[1].write(masked(Opcode.PONG, b"are you there"))
        events += await read_events(streams, stream, lambda _: stream.close is not None)
        assert Message(Opcode.TEXT, b"after ping") in events
        streams[1].write(masked(Opcode.CLOSE, close_payload(1000)))
        assert await read_eof(streams) == b""
        record = await only_record(server, "tping")
        assert record.pongs == [b"are you there"] and record.notes == []

    run(body, tmp_path)


def test_oversized_client_frame_is_failed_with_1009(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, _ = await handshake(server, "echo", "thuge")
        streams[1].write(encode_frame(Frame(Opcode.BINARY, mask=MASK, declared_length=2**21)))
        stream = PeerStream(peer="server")
        await read_events(streams, stream)
        assert stream.close is not None and stream.close.code == 1009
        record = await only_record(server, "thuge")
        assert any("over" in note for note in record.notes)

    run(body, tmp_path)


def test_max_lifetime_bounds_a_silent_client(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        streams, _ = await handshake(server, "echo", "tquiet")
        with contextlib.suppress(ConnectionResetError):
            assert await read_eof(streams) == b""
        record = await only_record(server, "tquiet")
        assert record.closed_by == "lifetime" and labels(record)[-1] == "lifetime"
        assert any("max_lifetime" in note for note in record.notes)

    run(body, tmp_path, max_lifetime=0.3)


def test_wait_idle_returns_at_its_timeout(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        (_, writer), _ = await handshake(server, "echo", "tidle")
        await server.wait_idle("tidle", 0.1)
        assert not server.records("tidle")[0].ended
        writer.close()

    run(body, tmp_path)


# -- URLs ------------------------------------------------------------------------------


def test_scenario_names_route_uniquely() -> None:
    names = [s.name for s in SCENARIOS]
    assert len(set(names)) == len(names) and "redirect-target" not in names


def test_url_for_every_endpoint_and_the_url_template(tmp_path: Path) -> None:
    async def body(server: ScenarioServer) -> None:
        p, tls, bad, refused = (
            server.port,
            server.tls_port,
            server.untrusted_port,
            server.refused_port,
        )
        expected = {
            "status-403": f"ws://127.0.0.1:{p}/status-403/tok-1",
            "tls-trusted": f"wss://127.0.0.1:{tls}/tls-trusted/tok-1",
            "tls-untrusted": f"wss://127.0.0.1:{bad}/tls-untrusted/tok-1",
            "refused": f"ws://127.0.0.1:{refused}/refused/tok-1",
            "unresolvable": f"ws://unresolvable.invalid:{p}/unresolvable/tok-1",
            "unroutable": f"ws://192.0.2.1:{p}/unroutable/tok-1",
            "ctor-bad-scheme": f"ftp://127.0.0.1:{p}/ctor-bad-scheme/tok-1",
            "ctor-fragment": f"ws://127.0.0.1:{p}/ctor-fragment/tok-1#fragment",
        }
        for name, url in expected.items():
            assert server.url_for(scenario(name), "tok-1") == url
        assert {s.endpoint for s in SCENARIOS} <= {scenario(n).endpoint for n in expected}
        with pytest.raises(ValueError, match="token"):
            server.url_for(scenario("echo"), "a/b")

    run(body, tmp_path)


def test_cli_prints_listeners_and_urls_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "conformance.clients.scenario_server", "--tls-dir", str(tmp_path)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT) as proc:
        watchdog = threading.Timer(10, proc.kill)  # bounds the reads below
        watchdog.start()
        try:
            assert proc.stdout is not None
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("serving"):
                    break
            proc.send_signal(signal.SIGINT)
            assert proc.wait(5) == 0
        finally:
            watchdog.cancel()
            proc.kill()
    out = "".join(lines)
    assert "wss-untrusted  wss://127.0.0.1:" in out
    assert all(s.id in out for s in SCENARIOS)
