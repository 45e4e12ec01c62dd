"""Properties of the sans-IO echo engine (RFC 6455 §5.4, §5.5, §5.6, §7.1.7, §8.1).

Any valid traffic, fragmented and cut into TCP writes in any way, is echoed message by
message with every Ping answered; any broken frame fails the connection with 1002, or
1007 for invalid UTF-8, and nothing is processed after it.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from conformance import strategies as ws
from conformance.echo_engine import EchoEngine
from conformance.model.codec import close_payload, encode_frame
from conformance.model.constants import CloseCode, Opcode
from conformance.model.decoder import CloseReceived, Event, Message, PeerStream, PongReceived
from conformance.model.frames import Frame
from conformance.model.random_traffic import FAIL_UTF8, split_at

KEY = b"\x5c\x01\xa7\x33"
LIMIT = 2**20
Reply = list[Message | PongReceived | CloseReceived]


def serve(data: bytes, points: Sequence[int] = ()) -> tuple[Reply, bool]:
    """What the engine writes for ``data`` cut at ``points``, read as a client would."""
    engine = EchoEngine(max_message=LIMIT)
    out = bytearray()
    close_transport = False
    for piece in split_at(data, points):
        output = engine.receive(piece)
        out += output.send
        close_transport = output.close_transport
    stream = PeerStream(peer="server", max_payload=LIMIT, max_message=LIMIT)
    events: list[Event] = stream.feed(bytes(out))
    assert not stream.violations, stream.violations
    kept = [e for e in events if isinstance(e, Message | PongReceived | CloseReceived)]
    return kept, close_transport


def expected_echo(frames: Sequence[Frame]) -> Reply:
    """§5.5.2 a Pong per Ping, as it comes; §5.6 each message echoed once complete."""
    out: Reply = []
    parts: list[bytes] = []
    opcode: int = Opcode.CONTINUATION
    for frame in frames:
        if frame.opcode == Opcode.PING:
            out.append(PongReceived(frame.payload))
            continue
        if frame.opcode != Opcode.CONTINUATION:
            opcode, parts = frame.opcode, []
        parts.append(frame.payload)
        if frame.fin:
            data = b"".join(parts)
            out.append(Message(opcode, data))
    return out


def with_chunking(
    strategy: st.SearchStrategy[bytes],
) -> st.SearchStrategy[tuple[bytes, list[int]]]:
    return strategy.flatmap(lambda data: st.tuples(st.just(data), ws.chunkings(len(data))))


traffic_bytes = ws.traffic(max_size=2048).map(lambda t: (t, t.encode()))


class TestEchoesValidTraffic:
    """§5.4, §5.6: a fragmented message is echoed whole, whatever the fragmentation."""

    @given(
        traffic_bytes.flatmap(lambda tb: st.tuples(st.just(tb), ws.chunkings(len(tb[1])))),
        ws.valid_close_codes(),
    )
    def test_echoes_any_message_under_any_fragmentation_and_chunking(
        self, drawn: tuple[tuple[ws.Traffic, bytes], list[int]], code: int
    ) -> None:
        (traffic, data), points = drawn
        data += encode_frame(Frame(Opcode.CLOSE, close_payload(code), mask=KEY))
        reply, close_transport = serve(data, points)
        assert reply == [
            *expected_echo(traffic.frames),
            CloseReceived(code, b"", close_payload(code)),
        ]
        assert close_transport

    @given(ws.fragmented_messages(max_size=70_000, max_fragments=4, pings=True))
    def test_echoes_large_messages(self, sent: ws.Fragmented) -> None:
        data = b"".join(encode_frame(frame) for frame in sent.frames)
        reply, _ = serve(data)
        assert [m for m in reply if isinstance(m, Message)] == [sent.message]


class TestFailsBrokenFrames:
    """§7.1.7: a broken rule fails the connection with 1002, or 1007 for bad UTF-8 (§8.1)."""

    @given(ws.traffic(max_size=512), ws.broken_frames(), st.data())
    def test_fails_any_broken_frame_after_any_traffic(
        self, traffic: ws.Traffic, broken: ws.BrokenFrame, data: st.DataObject
    ) -> None:
        after = encode_frame(Frame(Opcode.PING, b"after", mask=KEY))
        stream = traffic.encode() + broken.encode() + after
        points = data.draw(ws.chunkings(len(stream)))
        reply, close_transport = serve(stream, points)
        *echoes, last = reply
        assert echoes == expected_echo(traffic.frames)
        assert isinstance(last, CloseReceived)
        assert last.code in broken.codes
        assert last.code == (
            CloseCode.INVALID_FRAME_PAYLOAD_DATA
            if broken.codes == FAIL_UTF8
            else CloseCode.PROTOCOL_ERROR
        )
        assert close_transport


class TestChunkingInvariance:
    """The engine writes the same bytes however the client's stream is cut."""

    @given(
        with_chunking(
            st.one_of(
                st.binary(max_size=300),
                st.builds(
                    lambda t, b: t.encode() + b.encode(),
                    ws.traffic(max_size=300),
                    ws.broken_frames(),
                ),
            )
        )
    )
    def test_any_bytes_any_split_same_output(self, drawn: tuple[bytes, list[int]]) -> None:
        data, points = drawn
        assert serve(data, points) == serve(data)
