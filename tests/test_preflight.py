"""The preflight: a target that is not a WebSocket server is diagnosed once, in one line,
with exit 3, within seconds (RFC 6455 §4.1: a valid handshake is answered with 101)."""

from __future__ import annotations

import asyncio
import functools
import http.server
import json
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.cli.common import EXIT_UNREACHABLE
from conformance.driver import Target, Unreachable
from conformance.model import handshake as hs
from conformance.model.answer_diagnosis import diagnose, looks_like_tls
from conformance.model.observed import TransportEnd
from conformance.reference_server import start_reference_server
from conformance.reports.json_report import read_json
from conformance.runner import check_reachable
from conformance.tls import TlsFiles, make_tls_files

pytestmark = pytest.mark.network

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

FAR_FROM_476_S = 30.0
"""A broken target must be diagnosed in seconds; generous, so as never to flake."""

UPGRADE_200 = (
    b"HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: x\r\n\r\n\x81\x05hello"
)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@contextmanager
def serving(handler: Handler, context: ssl.SSLContext | None = None) -> Iterator[int]:
    """An asyncio server running ``handler`` in a thread of its own; yields its port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    start = asyncio.start_server(handler, "127.0.0.1", 0, ssl=context)
    server = asyncio.run_coroutine_threadsafe(start, loop).result(10)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the suite hangs up


async def upgrade_with_200(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(UPGRADE_200)
    await writer.drain()
    await reader.read()  # until the suite hangs up


async def plain_400(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(100)
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    writer.close()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(100)
    writer.close()


async def not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
    await writer.drain()
    await reader.read()  # until the suite hangs up


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """``http.server``'s handler without its access log on stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def simple_http_server(directory: Path) -> Iterator[int]:
    """``python3 -m http.server`` itself, in a thread."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, float]:
    """``wsconform run ARGV -q``: exit code, the one error line, seconds taken."""
    started = time.monotonic()
    code = main(["run", *argv, "-q"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return code, err.strip(), elapsed


class TestNotAWebSocketServer:
    def test_silent_server_is_diagnosed_within_the_case_timeout(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with serving(silent) as port:
            code, err, elapsed = run_cli(capsys, f"ws://127.0.0.1:{port}/", "--timeout", "2")
        assert code == EXIT_UNREACHABLE and elapsed < FAR_FROM_476_S
        assert err == (
            f"wsconform: error: no answer from 127.0.0.1:{port} to the opening handshake "
            "within 2 s: the server accepts TCP but does not speak"
        )

    def test_200_with_upgrade_to_a_valid_upgrade_fails_the_status_101_rule(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with serving(upgrade_with_200) as port:
            code, err, elapsed = run_cli(capsys, f"ws://127.0.0.1:{port}/")
        assert code == EXIT_UNREACHABLE and elapsed < FAR_FROM_476_S
        assert err == (
            f"wsconform: error: 127.0.0.1:{port} answered the opening handshake with "
            "HTTP 200 OK and Upgrade: FAIL rfc6455-4.2.2-status-101, a server accepting the "
            'connection MUST answer "A Status-Line with a 101 response code" (RFC 6455 '
            "§4.2.2); no case can run"
        )

    def test_python_http_server_is_named_once(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with simple_http_server(tmp_path) as port:
            code, err, elapsed = run_cli(capsys, f"ws://127.0.0.1:{port}/")
        assert code == EXIT_UNREACHABLE and elapsed < FAR_FROM_476_S
        assert err.startswith(
            f"wsconform: error: 127.0.0.1:{port} answered the opening handshake with "
            "HTTP 200 OK (Server: SimpleHTTP/"
        )
        assert err.endswith("not a WebSocket server (RFC 6455 §4.1: a 101 is required)")

    def test_an_answer_that_is_not_http_shows_its_first_bytes(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with serving(not_http) as port:
            code, err, _elapsed = run_cli(capsys, f"ws://127.0.0.1:{port}/")
        assert code == EXIT_UNREACHABLE
        assert f"127.0.0.1:{port} answered the opening handshake with something" in err
        assert "not HTTP" in err and "b'SSH-2.0-OpenSSH_9.6\\r\\n'" in err

    def test_a_server_that_hangs_up_is_diagnosed(self, capsys: pytest.CaptureFixture[str]) -> None:
        with serving(hang_up) as port:
            code, err, _elapsed = run_cli(capsys, f"ws://127.0.0.1:{port}/")
        assert code == EXIT_UNREACHABLE
        assert err == (
            f"wsconform: error: 127.0.0.1:{port} closed the connection without "
            "answering the opening handshake"
        )


class TestTlsMismatch:
    def test_ws_url_for_a_tls_port_says_wss(
        self, tls: TlsFiles, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with serving(hang_up, tls.server_context()) as port:
            code, err, elapsed = run_cli(capsys, f"ws://127.0.0.1:{port}/")
        assert code == EXIT_UNREACHABLE and elapsed < FAR_FROM_476_S
        assert err == (f"wsconform: error: 127.0.0.1:{port} sent TLS (is this a wss:// port?)")

    def test_wss_url_for_a_plain_http_port_says_ws(
        self, tls: TlsFiles, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with serving(plain_400) as port:
            url = f"wss://127.0.0.1:{port}/"
            code, err, elapsed = run_cli(capsys, url, "--ca-file", str(tls.ca))
        assert code == EXIT_UNREACHABLE and elapsed < FAR_FROM_476_S
        assert err == (
            f"wsconform: error: TLS handshake with 127.0.0.1:{port} failed: "
            "wrong version number (is this a plain ws:// port?)"
        )

    def test_wss_url_for_a_port_that_hangs_up_never_ends_with_a_colon(
        self, tls: TlsFiles, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with serving(hang_up) as port:
            url = f"wss://127.0.0.1:{port}/"
            code, err, _elapsed = run_cli(capsys, url, "--ca-file", str(tls.ca))
        assert code == EXIT_UNREACHABLE and not err.endswith(":")
        assert err.startswith(f"wsconform: error: TLS handshake with 127.0.0.1:{port} failed: ")
        assert err.endswith("(is this a plain ws:// port?)")


def test_a_101_passes_the_preflight() -> None:
    async def check() -> tuple[bool, int]:
        server = await start_reference_server()
        try:
            result = await check_reachable(Target.parse(f"ws://127.0.0.1:{server.port}/"), 5)
        finally:
            await server.close()
        assert result.response is not None
        return result.ok, result.response.status

    assert asyncio.run(check()) == (True, 101)


def test_check_reachable_raises_the_diagnosis() -> None:
    async def check() -> None:
        server = await asyncio.start_server(plain_400, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            await check_reachable(Target.parse(f"ws://127.0.0.1:{port}/"), 5)
        finally:
            server.close()

    refused = r"refused a valid opening handshake with HTTP 400 Bad Request: every case needs"
    with pytest.raises(Unreachable, match=refused):
        asyncio.run(check())


class TestDiagnose:
    def test_a_tls_alert_on_a_ws_url_says_wss(self) -> None:
        alert = b"\x15\x03\x03\x00\x02\x02\x46"
        reader = hs.ResponseReader()
        reader.feed(alert)
        text = diagnose("h:1", reader, alert, secure=False, end=TransportEnd.OPEN, timeout=None)
        assert text == "h:1 sent TLS (is this a wss:// port?)"

    def test_http_is_not_tls(self) -> None:
        assert not looks_like_tls(b"HTTP/1.1 200 OK\r\n")
        assert looks_like_tls(b"\x16\x03\x01\x00")

    def test_a_101_is_no_problem(self) -> None:
        answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
        reader = hs.ResponseReader()
        reader.feed(answer)
        text = diagnose("h:1", reader, answer, secure=False, end=TransportEnd.OPEN, timeout=None)
        assert text == ""

    def test_an_answer_cut_short_shows_its_first_bytes(self) -> None:
        answer = b"HTTP/1.1 101 Swi"
        reader = hs.ResponseReader()
        reader.feed(answer)
        text = diagnose("h:1", reader, answer, secure=False, end=TransportEnd.OPEN, timeout=5)
        assert text == (
            "the answer of h:1 to the opening handshake stopped after 16 bytes "
            f"within 5 s: {answer!r}"
        )


def test_an_unreachable_target_leaves_a_json_report_with_the_diagnosis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CI job per target: the merged matrix must show the target that could not run."""
    path = tmp_path / "r.json"
    with serving(plain_400) as port:
        code, err, _elapsed = run_cli(capsys, f"ws://127.0.0.1:{port}/", "--json", str(path))
    assert code == EXIT_UNREACHABLE
    report = read_json(path)
    assert report.results == [] and err == f"wsconform: error: {report.error}"
    assert report.error.startswith(f"127.0.0.1:{port} refused a valid opening handshake")
    merged = tmp_path / "m.json"
    assert main(["matrix", "--merge", f"one={path}", "--json", str(merged), "-q"]) == (
        EXIT_UNREACHABLE
    )
    assert json.loads(merged.read_text())["targets"][0]["error"] == report.error


def test_a_refusal_of_a_handshake_with_an_offer_names_the_offer_not_a_valid_handshake() -> None:
    """The refusal may answer the offer (RFC 7692 §7: an invalid one must be declined)."""
    answer = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    reader = hs.ResponseReader()
    reader.feed(answer)
    offered = "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16"
    text = diagnose(
        "h:1", reader, answer, secure=False, end=TransportEnd.OPEN, timeout=None, offered=offered
    )
    assert text == f"h:1 refused an opening handshake offering {offered} with HTTP 400 Bad Request"
