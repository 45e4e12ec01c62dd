"""The I/O driver: URL parsing (RFC 6455 §3) and deadline-bounded steps."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import socket
import struct
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest

from conformance.cli import main
from conformance.cli.common import EXIT_OK, EXIT_USAGE
from conformance.driver import (
    PAUSE_BUDGET,
    ConfigError,
    Connection,
    DeadlineExceeded,
    Segmentation,
    Target,
    Transcript,
    Unreachable,
    WritePlan,
)
from conformance.model.observed import TransportEnd


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

    def test_close_with_unsent_data_that_drains_meanwhile(self) -> None:
        """A write cut short (its case's deadline) leaves data in the transport's buffer;
        the peer reads it while the connection closes: close() ends without an error."""

        async def main() -> TransportEnd:
            async def slow_reader(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter
            ) -> None:
                await asyncio.sleep(0.3)
                while await reader.read(2**20):
                    pass
                writer.close()

            server = await asyncio.start_server(slow_reader, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            conn = await Connection.open(
                Target.parse(f"ws://127.0.0.1:{port}/"), loop.time() + 5, Transcript()
            )
            writing = asyncio.ensure_future(conn.send(b"x" * 64 * 2**20))
            await asyncio.sleep(0.05)
            writing.cancel()  # as WireSession.send does when its read side passes the deadline
            await conn.close()
            server.close()
            await server.wait_closed()
            return conn.end

        assert asyncio.run(asyncio.wait_for(main(), 10)) is TransportEnd.CLOSED_BY_US

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

    def test_after_half_close_writes_are_dropped_and_the_peer_still_heard(self) -> None:
        """The suite as server closes TCP first (§7.1.1) and keeps reading; a case that
        writes after its FIN must not crash (asyncio raises on write() after write_eof())."""

        async def main() -> tuple[bytes, TransportEnd]:
            async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await reader.read()  # until our FIN
                writer.write(b"bye")
                writer.close()

            server = await asyncio.start_server(handler, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            transcript = Transcript()
            conn = await Connection.open(
                Target.parse(f"ws://127.0.0.1:{port}/"), loop.time() + 2, transcript
            )
            await conn.send(b"before")
            conn.half_close()
            await conn.send(b"after the FIN")
            await conn.wait_closed()
            server.close()
            await server.wait_closed()
            return bytes(transcript.sent), conn.end

        sent, end = asyncio.run(asyncio.wait_for(main(), 10))
        assert sent == b"before"
        assert end is TransportEnd.EOF

    def test_bytes_received_before_a_reset_are_read_before_it(self) -> None:
        """A Close just before a reset is not lost when the case reads late."""

        async def main() -> tuple[bytes, bytes, TransportEnd]:
            async def handler(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                writer.write(b"last words")
                await writer.drain()
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()  # linger 0: RST right behind the data

            server = await asyncio.start_server(handler, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            conn = await Connection.open(
                Target.parse(f"ws://127.0.0.1:{port}/"), loop.time() + 2, Transcript()
            )
            await asyncio.sleep(0.2)  # the data and the reset both arrive before the read
            first, second = await conn.receive(), await conn.receive()
            await conn.close()
            server.close()
            await server.wait_closed()
            return first, second, conn.end

        assert asyncio.run(asyncio.wait_for(main(), 10)) == (
            b"last words",
            b"",
            TransportEnd.RESET,
        )


class TestTranscript:
    def test_is_bounded_but_counts_everything(self) -> None:
        transcript = Transcript()
        for _ in range(100):
            transcript.record_received(b"x" * 10_000)
        assert transcript.received_total == 1_000_000
        assert len(transcript.received) == 64 * 1024


class RecordingTransport:
    def __init__(self) -> None:
        self.aborted = False

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


class RecordingWriter:
    """A stream writer that keeps every write() call apart."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.transport = RecordingTransport()

    def write(self, data: bytes) -> None:
        assert not self.transport.aborted, "a write after abort() is lost"
        self.writes.append(bytes(data))

    async def drain(self) -> None:
        await asyncio.sleep(0)

    def get_extra_info(self, _name: str) -> None:
        return None

    def close(self) -> None:
        self.transport.aborted = True

    async def wait_closed(self) -> None:
        return None


class FixedPlan(WritePlan):
    """A plan that always holds, or always cuts into ``pieces`` with ``pause`` between."""

    def __init__(self, *, hold: bool = False, pieces: int = 1, pause: float = 0.0) -> None:
        super().__init__(random.Random(0))
        self.nagle = False
        self._hold, self._pieces, self._pause = hold, pieces, pause

    def hold(self) -> float | None:
        return self._pause if self._hold else None

    def pieces(self, size: int) -> list[int]:
        count = min(self._pieces, max(size, 1))
        sizes = [size // count] * count
        sizes[-1] += size - sum(sizes)
        return sizes

    def pause(self) -> float:
        return self._pause


SENDS = (b"GET / HTTP/1.1\r\n\r\n", b"\x81\x85abcdhello", b"\x89\x80abcd", b"x" * 3000, b"y")


def recording_connection(plan: WritePlan | None) -> tuple[Connection, RecordingWriter]:
    writer = RecordingWriter()
    reader = asyncio.StreamReader()
    deadline = asyncio.get_running_loop().time() + 5
    conn = Connection(reader, cast(asyncio.StreamWriter, writer), deadline, Transcript(), plan)
    return conn, writer


def writes_for(seed: int, sends: tuple[bytes, ...] = SENDS) -> list[bytes]:
    """The write() calls of a connection under ``Segmentation(seed)`` making ``sends``."""

    async def main() -> list[bytes]:
        conn, writer = recording_connection(Segmentation(seed).for_case("case/a").plan())
        for data in sends:
            await conn.send(data)
        await conn.close()
        assert bytes(conn.transcript.sent) == b"".join(sends)
        return writer.writes

    return asyncio.run(asyncio.wait_for(main(), 10))


def boundaries(pieces: list[bytes] | tuple[bytes, ...]) -> set[int]:
    """Offsets in the stream where one piece ends and the next begins."""
    ends = list(itertools.accumulate(len(p) for p in pieces))
    return set(ends[:-1])


class TestSegmentation:
    """Opt-in random segmentation: only the cutting and joining of separate writes varies."""

    def test_parse_random_and_seed(self) -> None:
        assert Segmentation.parse("random:42") == Segmentation(42)
        assert Segmentation.parse("random:42").describe() == "random:42"
        assert Segmentation.parse("random").seed >= 0

    @pytest.mark.parametrize("text", ["", "random:", "random:x", "fixed:1", "random:-1"])
    def test_bad_option_is_a_config_error(self, text: str) -> None:
        with pytest.raises(ConfigError):
            Segmentation.parse(text)

    def test_off_by_default_each_send_is_one_write(self) -> None:
        async def main() -> list[bytes]:
            conn, writer = recording_connection(None)
            for data in SENDS:
                await conn.send(data)
            return writer.writes

        assert asyncio.run(main()) == list(SENDS)

    @pytest.mark.parametrize("seed", range(20))
    def test_bytes_are_never_reordered_or_changed(self, seed: int) -> None:
        assert b"".join(writes_for(seed)) == b"".join(SENDS)

    def test_same_seed_and_case_give_the_same_pieces(self) -> None:
        assert writes_for(7) == writes_for(7)

    def test_pieces_vary_with_the_seed(self) -> None:
        seen = [writes_for(seed) for seed in range(20)]
        assert len({tuple(w) for w in seen}) > 5
        designed = boundaries(SENDS)
        cut = [w for w in seen if boundaries(w) - designed]  # a send split in pieces
        joined = [w for w in seen if designed - boundaries(w)]  # two sends in one write
        assert cut
        assert joined

    def test_each_case_and_connection_draws_its_own_plan(self) -> None:
        def first_draws(segmentation: Segmentation) -> list[float]:
            return [segmentation.plan().rng.random() for _ in range(2)]

        case_a = first_draws(Segmentation(3).for_case("a"))
        assert case_a == first_draws(Segmentation(3).for_case("a"))  # order-independent
        assert case_a != first_draws(Segmentation(3).for_case("b"))
        assert case_a[0] != case_a[1]  # the second connection of a case
        assert case_a != first_draws(Segmentation(4).for_case("a"))

    @pytest.mark.parametrize("seed", range(10))
    def test_chunked_sends_keep_their_designed_pieces(self, seed: int) -> None:
        data = bytes(range(50))

        async def main() -> list[bytes]:
            conn, writer = recording_connection(Segmentation(seed).for_case("c").plan())
            await conn.send(b"before")  # held back, cut or whole: it never joins a chunk
            await conn.send(data, chunk=7)
            await conn.send(b"after")
            await conn.close()
            return writer.writes

        writes = asyncio.run(main())
        chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
        start = next(i for i, w in enumerate(writes) if w == chunks[0])
        assert b"".join(writes[:start]) == b"before"
        assert writes[start : start + len(chunks)] == chunks
        assert b"".join(writes[start + len(chunks) :]) == b"after"

    def test_held_write_goes_out_alone_within_its_pause(self) -> None:
        async def main() -> list[bytes]:
            conn, writer = recording_connection(FixedPlan(hold=True, pause=0.001))
            await conn.send(b"held")
            assert writer.writes == []
            await asyncio.sleep(0.05)
            return writer.writes

        assert asyncio.run(main()) == [b"held"]

    def test_held_write_joins_the_next(self) -> None:
        async def main() -> list[bytes]:
            plan = FixedPlan(hold=True, pause=0.01)
            conn, writer = recording_connection(plan)
            await conn.send(b"ping;")
            plan._hold = False
            await conn.send(b"close")
            return writer.writes

        assert asyncio.run(main()) == [b"ping;close"]

    def test_abort_and_close_hand_over_held_bytes(self) -> None:
        async def main(end: str) -> list[bytes]:
            conn, writer = recording_connection(FixedPlan(hold=True, pause=1.0))
            await conn.send(b"last words")
            if end == "abort":
                conn.abort()
            else:
                await conn.close()
            return writer.writes

        assert asyncio.run(main("abort")) == [b"last words"]
        assert asyncio.run(main("close")) == [b"last words"]

    def test_cut_write_pauses_between_pieces(self) -> None:
        async def main() -> list[bytes]:
            conn, writer = recording_connection(FixedPlan(pieces=3, pause=0.001))
            await conn.send(b"abcdefghi")
            return writer.writes

        assert asyncio.run(main()) == [b"abc", b"def", b"ghi"]

    def test_a_send_during_a_cut_write_goes_after_it(self) -> None:
        async def main() -> list[bytes]:
            conn, writer = recording_connection(FixedPlan(pieces=3, pause=0.02))
            first = asyncio.create_task(conn.send(b"abcdefghi"))
            await asyncio.sleep(0.01)  # the first piece is out, the rest waits
            await conn.send(b"XYZ")
            await first
            return writer.writes

        writes = asyncio.run(main())
        assert b"".join(writes) == b"abcdefghiXYZ"
        assert writes[0] == b"abc"

    def test_a_cancelled_cut_write_still_hands_over_its_bytes(self) -> None:
        async def main() -> list[bytes]:
            conn, writer = recording_connection(FixedPlan(pieces=3, pause=1.0))
            sending = asyncio.create_task(conn.send(b"abcdefghi"))
            await asyncio.sleep(0.01)
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            return writer.writes

        assert b"".join(asyncio.run(main())) == b"abcdefghi"

    def test_pauses_stay_within_the_connection_budget(self) -> None:
        plan = Segmentation(1).for_case("long").plan()
        total = sum(plan.pause() for _ in range(10_000))
        assert total <= PAUSE_BUDGET + 1e-9

    @pytest.mark.parametrize("seed", range(6))
    def test_bytes_on_the_wire_are_the_bytes_sent(self, seed: int) -> None:
        sends = (*SENDS, b"z" * 70_000)

        async def main() -> tuple[bytes, bool, bool]:
            received = bytearray()
            done = asyncio.Event()

            async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                while data := await reader.read(65536):
                    received.extend(data)
                done.set()
                writer.close()

            server = await asyncio.start_server(handler, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            segmentation = Segmentation(seed).for_case("wire")
            target = replace(Target.parse(f"ws://127.0.0.1:{port}/"), segmentation=segmentation)
            loop = asyncio.get_running_loop()
            conn = await Connection.open(target, loop.time() + 5, Transcript())
            sock = conn._writer.get_extra_info("socket")
            no_delay = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            assert conn.plan is not None
            for data in sends[:3]:
                await conn.send(data)
            await conn.send(sends[3], chunk=100)
            chunked_no_delay = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            for data in sends[4:]:
                await conn.send(data)
            await conn.close()
            await asyncio.wait_for(done.wait(), 5)
            server.close()
            await server.wait_closed()
            assert no_delay is not conn.plan.nagle
            assert chunked_no_delay is not conn.plan.nagle  # restored after the chunks
            return bytes(received), no_delay, chunked_no_delay

        received, _, _ = asyncio.run(asyncio.wait_for(main(), 10))
        assert received == b"".join(sends)

    def test_both_nagle_and_no_delay_connections_occur(self) -> None:
        segmentation = Segmentation(0).for_case("n")
        choices = {segmentation.plan().nagle for _ in range(20)}
        assert choices == {True, False}


class TestSegmentationOption:
    """``wsconform run --segmentation random[:SEED]``: opt-in, seed printed and reproducible."""

    def test_run_prints_the_seed_and_keeps_verdicts(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        report = tmp_path / "r.json"
        argv = ["run", "-q", "--segmentation", "random:5", "--cases", "rfc6455/5.5.2"]
        assert main([*argv, "--json", str(report)]) == EXIT_OK
        assert "segmentation random:5" in capsys.readouterr().err
        cases = json.loads(report.read_text())["cases"]
        assert cases
        assert all("--segmentation random:5" in c["reproduce"] for c in cases)

    def test_bad_value_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["run", "-q", "--segmentation", "sometimes"]) == EXIT_USAGE
        assert "random:SEED" in capsys.readouterr().err
