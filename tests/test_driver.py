"""The I/O driver: URL parsing (RFC 6455 §3) and deadline-bounded steps."""

from __future__ import annotations

import asyncio

import pytest

from conformance.driver import (
    ConfigError,
    Connection,
    DeadlineExceeded,
    Target,
    Transcript,
    Unreachable,
)
from conformance.model.outcomes import TransportEnd


class TestSection3Urls:
    def test_ws_defaults(self) -> None:
        target = Target.parse("ws://example.com")
        assert (target.host, target.port, target.resource, target.secure) == (
            "example.com",
            80,
            b"/",
            False,
        )
        assert target.host_header == b"example.com"
        assert target.origin == b"http://example.com"

    def test_wss_port_path_query(self) -> None:
        target = Target.parse("wss://example.com:8443/chat?room=1")
        assert (target.port, target.resource, target.secure) == (8443, b"/chat?room=1", True)
        assert target.host_header == b"example.com:8443"
        assert target.ssl_context is not None

    def test_ipv6_host_header(self) -> None:
        assert Target.parse("ws://[::1]:9000/").host_header == b"[::1]:9000"

    @pytest.mark.parametrize(
        "url",
        [
            "http://example.com/",
            "example.com",
            "ws://",
            "ws://host:99999/",
            "ws://host/#frag",
            "ws://host:abc/",
            "",
        ],
    )
    def test_bad_urls_are_config_errors(self, url: str) -> None:
        with pytest.raises(ConfigError):
            Target.parse(url)


async def _silent_server() -> tuple[asyncio.Server, int]:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when the client goes away
        writer.close()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


class TestDeadlines:
    def test_receive_from_silent_peer_hits_the_deadline(self) -> None:
        async def main() -> float:
            server, port = await _silent_server()
            loop = asyncio.get_running_loop()
            start = loop.time()
            conn = await Connection.open(
                Target.parse(f"ws://127.0.0.1:{port}/"), start + 0.3, Transcript()
            )
            with pytest.raises(DeadlineExceeded):
                await conn.receive()
            await conn.close()
            server.close()
            await server.wait_closed()
            return loop.time() - start

        elapsed = asyncio.run(asyncio.wait_for(main(), 10))
        assert elapsed < 5

    def test_refused_port_is_unreachable(self) -> None:
        async def main() -> None:
            server, port = await _silent_server()
            server.close()
            await server.wait_closed()
            loop = asyncio.get_running_loop()
            with pytest.raises(Unreachable, match="cannot connect"):
                await Connection.open(
                    Target.parse(f"ws://127.0.0.1:{port}/"), loop.time() + 2, Transcript()
                )

        asyncio.run(asyncio.wait_for(main(), 10))

    def test_eof_is_recorded(self) -> None:
        async def main() -> TransportEnd:
            async def handler(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                writer.write(b"bye")
                writer.close()

            server = await asyncio.start_server(handler, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            transcript = Transcript()
            conn = await Connection.open(
                Target.parse(f"ws://127.0.0.1:{port}/"), loop.time() + 2, transcript
            )
            await conn.wait_closed()
            server.close()
            await server.wait_closed()
            assert bytes(transcript.received) == b"bye"
            return conn.end

        assert asyncio.run(asyncio.wait_for(main(), 10)) is TransportEnd.EOF


class TestTranscript:
    def test_is_bounded_but_counts_everything(self) -> None:
        transcript = Transcript()
        for _ in range(100):
            transcript.record_received(b"x" * 10_000)
        assert transcript.received_total == 1_000_000
        assert len(transcript.received) == 64 * 1024
