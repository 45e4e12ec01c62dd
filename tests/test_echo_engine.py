"""The sans-IO echo engine: every wire rule, correct and broken by each wire fault."""

from __future__ import annotations

import itertools
import random
import tracemalloc
import zlib
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.echo_engine import EchoEngine, EngineOutput, WirePolicy
from conformance.model.codec import RSV1_BIT, close_payload, encode_frame
from conformance.model.constants import LENGTH_64BIT_MARKER, MAX_63BIT_LENGTH, Opcode
from conformance.model.decoder import FrameDecoder, Message
from conformance.model.frames import Frame, LengthForm
from conformance.model.server_extensions import DeflateSettings
from fixtures.wire_faults import WIRE_FAULT_TYPES, WIRE_FAULTS, wire_policy

KEY = b"\x37\xfa\x21\x3d"
TEXT, BINARY, CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONTINUATION
CLOSE, PING, PONG = Opcode.CLOSE, Opcode.PING, Opcode.PONG
HEADER = 6  # 2 bytes + masking key, for payloads of 0-125 bytes
SMALL_LIMIT = 1024


def cf(opcode: int, payload: bytes = b"", *, fin: bool = True, **options: Any) -> bytes:
    """A masked client frame (RFC 6455 §5.2, §5.3)."""
    return encode_frame(Frame(opcode, payload, fin=fin, mask=KEY, **options))


def close_frame(code: int | None, reason: bytes = b"") -> bytes:
    return cf(CLOSE, close_payload(code, reason))


@dataclass
class Reply:
    """What the engine wrote, decoded as a client would (§5.2)."""

    raw: bytes
    close_transport: bool

    @property
    def frames(self) -> list[Frame]:
        decoder = FrameDecoder(peer="server", max_payload=2**20)
        return [event for event in decoder.feed(self.raw) if isinstance(event, Frame)]

    @property
    def simple(self) -> list[tuple[int, bytes]]:
        return [(frame.opcode, frame.payload) for frame in self.frames]

    @property
    def close_code(self) -> int | None:
        """The status code of the first Close written, or None."""
        for frame in self.frames:
            if frame.opcode == CLOSE:
                return int.from_bytes(frame.payload[:2], "big") if frame.payload else None
        return None


def run(
    data: bytes,
    policy: WirePolicy | None = None,
    *,
    chunks: list[int] | None = None,
    max_message: int = SMALL_LIMIT,
) -> Reply:
    """Feed ``data`` (cut at ``chunks``) to a fresh engine; everything it wrote."""
    engine = EchoEngine(policy, max_message=max_message)
    cuts = [0, *(chunks or []), len(data)]
    out = bytearray()
    last = EngineOutput()
    for start, end in itertools.pairwise(cuts):
        last = engine.receive(data[start:end])
        out += last.send
    return Reply(bytes(out), last.close_transport)


def closed_with(code: int) -> list[tuple[int, bytes]]:
    return [(CLOSE, code.to_bytes(2, "big"))]


# -- correct behaviour ---------------------------------------------------------


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
@pytest.mark.parametrize("opcode", [TEXT, BINARY])
def test_echoes_each_message_as_one_frame(opcode: int, size: int) -> None:
    payload = b"a" * size
    reply = run(cf(opcode, payload), max_message=2**20)
    assert reply.simple == [(opcode, payload)]
    (frame,) = reply.frames
    assert frame.fin and frame.mask is None and frame.length_form is LengthForm.MINIMAL
    assert not reply.close_transport


def test_fragmented_message_is_echoed_whole_after_interleaved_pongs() -> None:
    data = (
        cf(TEXT, b"fr", fin=False)
        + cf(PING, b"1")
        + cf(CONT, "ag\u00e9".encode()[:3], fin=False)
        + cf(PING, b"2")
        + cf(CONT, "ag\u00e9".encode()[3:])
    )
    assert run(data).simple == [(PONG, b"1"), (PONG, b"2"), (TEXT, "frag\u00e9".encode())]


def test_pings_are_answered_in_order_and_pongs_ignored() -> None:
    data = cf(PING, b"a") + cf(PONG, b"unsolicited") + cf(PING, b"") + cf(PING, b"x" * 125)
    assert run(data).simple == [(PONG, b"a"), (PONG, b""), (PONG, b"x" * 125)]


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (close_frame(None), 1000),
        (close_frame(1000), 1000),
        (close_frame(1001, b"bye"), 1001),
        (close_frame(1012), 1012),
        (close_frame(1014), 1014),
        (close_frame(3000, "ü".encode()), 3000),
        (close_frame(4999), 4999),
    ],
    ids=["no-code", "1000", "1001-reason", "1012", "1014", "3000", "4999"],
)
def test_close_is_answered_with_its_code_then_tcp_closed(sent: bytes, expected: int) -> None:
    reply = run(sent + cf(TEXT, b"ignored") + cf(PING, b"ignored"))
    assert reply.simple == closed_with(expected)  # no reason, nothing after (§5.5.1)
    assert reply.close_transport


@pytest.mark.parametrize(
    "data",
    [
        encode_frame(Frame(TEXT, b"hi")),  # unmasked (§5.1)
        cf(TEXT, b"hi", rsv1=True),  # RSV bits, none negotiated (§5.2)
        cf(TEXT, b"hi", rsv2=True),
        cf(BINARY, b"hi", rsv3=True),
        *(cf(opcode, b"") for opcode in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF)),  # §5.2
        cf(PING, b"x" * 126),  # control frame over 125 bytes (§5.5)
        cf(PING, b"x", fin=False),  # fragmented control frame (§5.4)
        cf(CONT, b"x"),  # continuation with no message (§5.4)
        cf(TEXT, b"a", fin=False) + cf(BINARY, b"b"),  # interleaved messages (§5.4)
        cf(CLOSE, b"\x03"),  # 1-byte close body (§5.5.1)
        *(close_frame(code) for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000)),
        close_frame(1000, b"\xff"),  # close reason not UTF-8 (§5.5.1, §8.1)
        cf(TEXT, b"hi", length_form=LengthForm.BITS16),  # non-minimal length (§5.2)
        cf(BINARY, b"x" * 200, length_form=LengthForm.BITS64),
        cf(BINARY, b"x" * 200, length_msb=True),  # 64-bit length with MSB set (§5.2)
    ],
)
def test_violations_fail_the_connection_with_1002(data: bytes) -> None:
    reply = run(cf(TEXT, b"before") + data + cf(TEXT, b"after"))
    assert reply.simple == [(TEXT, b"before"), *closed_with(1002)]
    assert reply.close_transport


@pytest.mark.parametrize(
    "data",
    [
        cf(TEXT, b"\xff"),
        cf(TEXT, b"a\xc3"),  # cut short at the end of the message
        cf(TEXT, b"\xed\xa0\x80"),  # a surrogate
        cf(TEXT, b"\xf4\x90\x80\x80"),  # above U+10FFFF
        cf(TEXT, b"ok", fin=False) + cf(CONT, b"\xc0\xaf", fin=False),  # no final fragment yet
        cf(TEXT, b"\xc3", fin=False) + cf(PING, b"p") + cf(CONT, b"("),
    ],
)
def test_invalid_utf8_fails_with_1007(data: bytes) -> None:
    reply = run(data)
    assert reply.simple[-1:] == closed_with(1007)
    assert reply.close_transport


def test_valid_utf8_split_across_fragments_and_chunks_is_echoed() -> None:
    text = "\u00e9\u20ac\U0001f600".encode()
    data = cf(TEXT, text[:1], fin=False) + cf(CONT, text[1:4], fin=False) + cf(CONT, text[4:])
    for cut in range(1, len(data)):
        assert run(data, chunks=[cut]).simple == [(TEXT, text)]


def test_binary_messages_are_not_checked_as_text() -> None:
    assert run(cf(BINARY, b"\xff\xfe")).simple == [(BINARY, b"\xff\xfe")]


def test_message_over_the_limit_fails_with_1009() -> None:
    frame = run(cf(BINARY, b"x" * (SMALL_LIMIT + 1)))
    fragments = run(cf(TEXT, b"x" * 600, fin=False) + cf(CONT, b"x" * 600))
    assert frame.simple == fragments.simple == closed_with(1009)
    assert run(cf(BINARY, b"x" * SMALL_LIMIT)).simple == [(BINARY, b"x" * SMALL_LIMIT)]


def test_huge_announced_frame_fails_at_its_header_without_allocating() -> None:
    header = bytes([0x82, 0x80 | LENGTH_64BIT_MARKER]) + MAX_63BIT_LENGTH.to_bytes(8, "big")
    tracemalloc.start()
    try:
        engine = EchoEngine()  # the default limit, 16 MiB
        output = engine.receive(header + KEY + b"x" * 1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert Reply(output.send, output.close_transport).simple == closed_with(1009)
    assert output.close_transport
    assert peak < 2**20
    msb = bytes([0x82, 0x80 | LENGTH_64BIT_MARKER]) + (2**64 - 1).to_bytes(8, "big") + KEY
    assert run(msb).simple == closed_with(1002)


def test_nothing_is_written_after_the_close() -> None:
    engine = EchoEngine()
    first = engine.receive(cf(TEXT, b"\xff"))
    assert first.close_transport and engine.close_sent
    assert engine.receive(cf(PING, b"p") + close_frame(1000)) == EngineOutput(b"", True)
    assert engine.close() == EngineOutput(b"", True)


def test_end_of_stream_closes_the_transport_without_a_close() -> None:
    engine = EchoEngine()
    assert engine.receive(cf(TEXT, b"half", fin=False)) == EngineOutput()
    assert engine.receive_eof() == EngineOutput(b"", True)
    assert engine.receive(cf(PING)) == EngineOutput(b"", True)


def test_server_initiated_close() -> None:
    engine = EchoEngine()
    output = engine.close()
    assert Reply(output.send, output.close_transport).simple == closed_with(1001)
    assert engine.sent_close == close_payload(1001)


# -- chunking ------------------------------------------------------------------

STREAMS = {
    "conversation": (
        cf(TEXT, "h\u00e9llo".encode())
        + cf(PING, b"p1")
        + cf(BINARY, bytes(range(200)))
        + cf(TEXT, "\u20ac".encode()[:2], fin=False)
        + cf(PING, b"p2")
        + cf(CONT, "\u20ac".encode()[2:])
        + cf(PONG, b"ignored")
        + close_frame(1001, b"done")
        + cf(TEXT, b"ignored")
    ),
    "bad-utf8-mid-stream": cf(TEXT, b"ok") + cf(TEXT, b"abc\xed\xa0\x80def") + cf(TEXT, b"x"),
    "rsv-mid-stream": cf(BINARY, b"ok") + cf(BINARY, b"x" * 300, rsv2=True),
    "too-big": cf(TEXT, b"x" * 700, fin=False) + cf(PING) + cf(CONT, b"x" * 700),
}


@pytest.mark.parametrize("name", STREAMS)
def test_any_chunking_gives_the_same_output(name: str) -> None:
    data = STREAMS[name]
    whole = run(data)
    for size in (1, 2, 3, 5, 7, 64):
        assert run(data, chunks=list(range(size, len(data), size))) == whole, size
    rng = random.Random(name)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 8)))
        assert run(data, chunks=cuts) == whole, cuts


# -- fail-fast UTF-8 (§8.1) ------------------------------------------------------


@pytest.mark.parametrize(
    ("frames", "bad"),
    [
        (cf(TEXT, b"ab\xffcd"), HEADER + 2),
        (cf(TEXT, b"ab\xed\xa0\x80cd"), HEADER + 3),  # ED A0 starts no character
        (cf(TEXT, b"ab\xf4\x90\x80\x80"), HEADER + 3),
        (cf(TEXT, b"ab\xc3", fin=False) + cf(CONT, b"(xyz"), 2 * HEADER + 3),
        (cf(TEXT, b"ab", fin=False) + cf(PING) + cf(CONT, b"c\xe0\x80"), 3 * HEADER + 4),
        (cf(TEXT, b"x" * 300 + b"\xfe" + b"y" * 300), HEADER + 2 + 300),
    ],
    ids=["ff", "surrogate", "above-10ffff", "across-fragments", "after-ping", "16-bit-frame"],
)
def test_invalid_utf8_fails_at_the_byte_that_makes_it_invalid(frames: bytes, bad: int) -> None:
    engine = EchoEngine()
    for index in range(len(frames)):
        output = engine.receive(frames[index : index + 1])
        reply = Reply(output.send, output.close_transport)
        if reply.close_code is not None:
            assert (index, reply.simple, reply.close_transport) == (bad, closed_with(1007), True)
            return
    pytest.fail("invalid UTF-8 was never failed")


def test_utf8_late_fault_waits_for_the_whole_message() -> None:
    first = cf(TEXT, b"\xff", fin=False)
    assert run(first).simple == closed_with(1007)
    assert run(first, wire_policy("utf8-late")).simple == []
    assert run(first + cf(CONT, b"x"), wire_policy("utf8-late")).simple == closed_with(1007)


# -- wire faults -------------------------------------------------------------------

BYE = close_frame(1000)

# fault -> client bytes exercising it (each ends with a Close, so a correct server closes)
PROBES: dict[str, bytes] = {
    "accept-unmasked": encode_frame(Frame(TEXT, b"hi")) + BYE,
    "accept-rsv": cf(TEXT, b"hi", rsv1=True) + BYE,
    "accept-reserved-opcode": cf(0x3, b"x") + cf(TEXT, b"after") + BYE,
    "accept-long-control": cf(PING, b"x" * 126) + BYE,
    "accept-fragmented-control": cf(PING, b"x", fin=False) + BYE,
    "accept-bad-continuation": cf(CONT, b"x") + cf(TEXT, b"after") + BYE,
    "no-utf8-check": cf(TEXT, b"\xff") + BYE,
    "utf8-late": cf(TEXT, b"\xff", fin=False) + BYE,
    "utf8-1002": cf(TEXT, b"\xff") + BYE,
    "accept-invalid-close-code": close_frame(1005),
    "accept-close-1-byte": cf(CLOSE, b"\x03"),
    "accept-bad-close-reason": close_frame(1000, b"\xff"),
    "no-pong": cf(PING, b"ping") + BYE,
    "pong-wrong-payload": cf(PING, b"ping") + BYE,
    "pong-unsolicited": cf(PONG, b"pong") + BYE,
    "pong-deferred": cf(TEXT, b"ab", fin=False) + cf(PING, b"p") + cf(CONT, b"cd") + BYE,
    "no-echo": cf(TEXT, b"hi") + BYE,
    "close-wrong-code": BYE,
    "close-with-1005": close_frame(None),
    "no-close-reply": BYE,
    "data-after-close": BYE,
    "no-tcp-close": BYE,
    "fail-with-1000": cf(0xB) + BYE,
    "masked-server-frames": cf(TEXT, b"hi") + BYE,
    "non-minimal-length": cf(TEXT, b"hello") + BYE,
    "length-msb": cf(BINARY, b"x" * 65536) + BYE,
    "echo-fragmented-wrong": cf(TEXT, b"ab", fin=False) + cf(CONT, b"cd") + BYE,
}

NEUTRAL = cf(TEXT, b"n" * 200) + cf(BINARY, b"b" * 300)


def test_every_wire_fault_has_a_probe_and_a_description() -> None:
    assert set(PROBES) == set(WIRE_FAULTS) == set(WIRE_FAULT_TYPES)
    for name, cls in WIRE_FAULT_TYPES.items():
        assert cls.name == name
        assert "§" in cls.description and "§" in (cls.__doc__ or "")


def test_unknown_wire_fault_is_rejected() -> None:
    with pytest.raises(KeyError, match="unknown wire fault"):
        wire_policy("no-such-fault")


@pytest.mark.parametrize("fault", sorted(WIRE_FAULTS))
def test_fault_differs_from_the_correct_engine_on_its_probe(fault: str) -> None:
    correct = run(PROBES[fault], max_message=2**20)
    broken = run(PROBES[fault], wire_policy(fault), max_message=2**20)
    assert correct.close_transport
    assert (broken.raw, broken.close_transport) != (correct.raw, correct.close_transport)


NOT_ECHOING: frozenset[str] = frozenset({"masked-server-frames", "no-echo"})
"""Faults whose echo of a plain message is itself the broken rule."""


@pytest.mark.parametrize("fault", sorted(set(WIRE_FAULTS) - NOT_ECHOING))
def test_fault_echoes_plain_messages_correctly(fault: str) -> None:
    assert run(NEUTRAL, wire_policy(fault)) == run(NEUTRAL)


EXPECTED: dict[str, list[tuple[int, bytes]]] = {
    "accept-unmasked": [(TEXT, b"hi"), *closed_with(1000)],
    "accept-rsv": [(TEXT, b"hi"), *closed_with(1000)],
    "accept-reserved-opcode": [(TEXT, b"after"), *closed_with(1000)],
    "accept-long-control": [(PONG, b"x" * 126), *closed_with(1000)],
    "accept-fragmented-control": [(PONG, b"x"), *closed_with(1000)],
    "accept-bad-continuation": [(TEXT, b"after"), *closed_with(1000)],
    "no-utf8-check": [(TEXT, b"\xff"), *closed_with(1000)],
    "utf8-late": closed_with(1000),  # the message never ended
    "utf8-1002": closed_with(1002),
    "accept-invalid-close-code": closed_with(1005),
    "accept-close-1-byte": closed_with(1000),
    "accept-bad-close-reason": closed_with(1000),
    "no-pong": closed_with(1000),
    "pong-wrong-payload": [(PONG, b"ing"), *closed_with(1000)],
    "pong-unsolicited": [(PONG, b"pong"), *closed_with(1000)],
    "pong-deferred": [(TEXT, b"abcd"), (PONG, b"p"), *closed_with(1000)],
    "no-echo": closed_with(1000),
    "close-wrong-code": closed_with(1001),
    "close-with-1005": closed_with(1005),
    "no-close-reply": [],
    "data-after-close": [*closed_with(1000), (TEXT, b"data after close")],
    "no-tcp-close": closed_with(1000),
    "fail-with-1000": closed_with(1000),
    "masked-server-frames": [(TEXT, b"hi"), *closed_with(1000)],
    "non-minimal-length": [(TEXT, b"hello"), *closed_with(1000)],
    "echo-fragmented-wrong": [(TEXT, b"ab"), *closed_with(1000)],
}


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_fault_output_on_its_probe(fault: str) -> None:
    assert run(PROBES[fault], wire_policy(fault)).simple == EXPECTED[fault]


@pytest.mark.parametrize("code", [999, 1004, 1006, 1015, 1016, 5000, 65535])
def test_accept_invalid_close_code_echoes_any_code(code: int) -> None:
    reply = run(close_frame(code), wire_policy("accept-invalid-close-code"))
    assert reply.simple == [(CLOSE, code.to_bytes(2, "big"))]


def test_the_close_faults_break_only_their_own_close_rule() -> None:
    assert run(cf(CLOSE, b"\x03"), wire_policy("accept-invalid-close-code")).close_code == 1002
    assert run(close_frame(1000, b"\xff"), wire_policy("accept-close-1-byte")).close_code == 1002
    assert run(close_frame(1005), wire_policy("accept-bad-close-reason")).close_code == 1002
    assert run(close_frame(1001), wire_policy("close-wrong-code")).close_code == 1000
    assert run(close_frame(3000), wire_policy("close-with-1005")).close_code == 3000


def test_interleaved_data_frame_is_accepted_by_the_continuation_fault() -> None:
    data = cf(TEXT, b"lost", fin=False) + cf(TEXT, b"kept")
    assert run(data, wire_policy("accept-bad-continuation")).simple == [(TEXT, b"kept")]


def test_transport_faults() -> None:
    assert not run(BYE, wire_policy("no-close-reply")).close_transport
    assert not run(BYE, wire_policy("no-tcp-close")).close_transport
    assert not run(cf(0x3), wire_policy("no-tcp-close")).close_transport
    engine = EchoEngine(wire_policy("no-close-reply"))
    assert engine.receive(BYE + cf(PING)) == EngineOutput()
    assert engine.receive_eof() == EngineOutput(b"", True)


def test_no_echo_fault_answers_pings_and_close_but_echoes_nothing() -> None:
    data = cf(TEXT, b"text") + cf(PING, b"alive?") + cf(BINARY, b"\x00\x01")
    data += cf(TEXT, b"frag", fin=False) + cf(CONT, b"ment") + BYE
    reply = run(data, wire_policy("no-echo"))
    assert reply.simple == [(PONG, b"alive?"), *closed_with(1000)]
    assert reply.close_transport
    assert run(data).simple[0] == (TEXT, b"text")  # the probe does ask for an echo


def test_pong_deferred_fault_holds_a_mid_message_pong_until_the_final_fragment() -> None:
    correct, deferred = EchoEngine(), EchoEngine(wire_policy("pong-deferred"))
    first = cf(TEXT, b"ab", fin=False) + cf(PING, b"mid") + cf(PING, b"mid 2")
    assert Reply(correct.receive(first).send, False).simple == [(PONG, b"mid"), (PONG, b"mid 2")]
    assert deferred.receive(first) == EngineOutput()
    after = Reply(deferred.receive(cf(CONT, b"cd")).send, False)
    assert after.simple == [(TEXT, b"abcd"), (PONG, b"mid"), (PONG, b"mid 2")]
    assert Reply(deferred.receive(cf(PING, b"between")).send, False).simple == [
        (PONG, b"between")
    ]  # outside a message the Pong is prompt


def test_pong_deferred_fault_still_answers_a_held_ping_before_its_close() -> None:
    data = cf(BINARY, b"never finished", fin=False) + cf(PING, b"owed") + BYE
    assert run(data, wire_policy("pong-deferred")).simple == [(PONG, b"owed"), *closed_with(1000)]


def test_pong_deferred_fault_output_does_not_depend_on_chunking() -> None:
    data = STREAMS["conversation"]
    whole = run(data, wire_policy("pong-deferred"))
    assert whole.simple.index((PONG, b"p2")) > whole.simple.index((TEXT, "\u20ac".encode()))
    for size in (1, 2, 3, 5, 7, 64):
        chunks = list(range(size, len(data), size))
        assert run(data, wire_policy("pong-deferred"), chunks=chunks) == whole, size


def test_server_frame_faults_on_the_wire() -> None:
    masked = run(PROBES["masked-server-frames"], wire_policy("masked-server-frames")).frames
    assert all(frame.mask is not None for frame in masked)
    reply = run(PROBES["non-minimal-length"], wire_policy("non-minimal-length"))
    assert reply.raw.startswith(b"\x81\x7e\x00\x05hello")
    long = run(PROBES["length-msb"], wire_policy("length-msb"), max_message=2**20)
    assert long.raw.startswith(b"\x82\x7f" + (2**63 + 65536).to_bytes(8, "big"))


# -- permessage-deflate (RFC 7692) -----------------------------------------------------

FLUSH = b"\x00\x00\xff\xff"


def deflate(data: bytes, bits: int = 15, compressor: Any = None) -> bytes:
    """A client's compressed message payload (RFC 7692 §7.2.1), zlib doing the work."""
    compressor = compressor or zlib.compressobj(6, zlib.DEFLATED, -bits)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)).removesuffix(FLUSH)


def inflate(payload: bytes, bits: int = 15, inflater: Any = None) -> bytes:
    """A server message's data, inflated with exactly ``bits`` of window (§7.2.2).

    One output byte a call: zlib lets a match reach back into the output of the same
    call beyond the window, so a single call would not catch a too-distant match.
    """
    inflater = inflater or zlib.decompressobj(-bits)
    out = bytearray()
    pending = payload + FLUSH
    while chunk := inflater.decompress(pending, 1):
        out += chunk
        pending = inflater.unconsumed_tail
    return bytes(out)


def run_deflate(
    data: bytes,
    agreed: DeflateSettings | None = None,
    *,
    policy: WirePolicy | None = None,
    chunks: list[int] | None = None,
    max_message: int = 2**20,
) -> list[Frame]:
    """Feed ``data`` to an engine that agreed to permessage-deflate; the frames it wrote."""
    engine = EchoEngine(policy, max_message=max_message, deflate=agreed or DeflateSettings())
    cuts = [0, *(chunks or []), len(data)]
    out = b"".join(engine.receive(data[a:b]).send for a, b in itertools.pairwise(cuts))
    decoder = FrameDecoder(peer="server", max_payload=2**22, allowed_rsv=RSV1_BIT)
    return [event for event in decoder.feed(out) if isinstance(event, Frame)]


def close_code_of(frames: list[Frame]) -> int | None:
    return next((int.from_bytes(f.payload[:2], "big") for f in frames if f.opcode == CLOSE), None)


def test_compressed_message_is_inflated_and_echoed_compressed_rsv1_on_first_frame() -> None:
    text = "caf\u00e9 ".encode() * 50
    payload = deflate(text)
    data = cf(TEXT, payload[:5], fin=False, rsv1=True) + cf(CONT, payload[5:])
    (echo,) = run_deflate(data)
    assert (echo.opcode, echo.rsv1, echo.fin) == (TEXT, True, True)
    assert inflate(echo.payload) == text


def test_compressed_text_is_not_utf8_checked_before_inflation() -> None:
    text = "\u20ac".encode() * 40
    payload = deflate(text)
    data = cf(TEXT, payload, rsv1=True)
    for size in (1, 3, 7):  # raw compressed bytes arrive in pieces (the fail-fast probe)
        (echo,) = run_deflate(data, chunks=list(range(size, len(data), size)))
        assert inflate(echo.payload) == text


def test_uncompressed_message_is_accepted_when_deflate_agreed() -> None:
    (echo,) = run_deflate(cf(BINARY, b"plain"))
    assert echo.opcode == BINARY and inflate(echo.payload) == b"plain"


@pytest.mark.parametrize(
    "data",
    [
        cf(TEXT, deflate(b"abc"), fin=False, rsv1=True) + cf(CONT, b"", rsv1=True),
        cf(BINARY, b"ab", fin=False) + cf(CONT, b"cd", rsv1=True),
    ],
    ids=["after-compressed-start", "after-plain-start"],
)
def test_rsv1_on_continuation_fails_with_1002(data: bytes) -> None:
    frames = run_deflate(data)
    assert [f.opcode for f in frames] == [CLOSE] and close_code_of(frames) == 1002


@pytest.mark.parametrize("opcode", [PING, PONG, CLOSE])
def test_rsv1_on_control_frame_fails_with_1002(opcode: int) -> None:
    frames = run_deflate(cf(opcode, close_payload(1000), rsv1=True) + cf(PING, b"after"))
    assert [f.opcode for f in frames] == [CLOSE] and close_code_of(frames) == 1002


def test_rsv1_without_deflate_agreed_fails_with_1002() -> None:
    assert run(cf(TEXT, deflate(b"hello"), rsv1=True)).simple == closed_with(1002)


@pytest.mark.parametrize(
    "payload", [b"\xff\xff\xff", b"\x07", b"\x00\x05\x00\x00\x00"], ids=["btype-11", "b11", "len"]
)
def test_corrupt_deflate_data_fails_with_1007(payload: bytes) -> None:
    frames = run_deflate(cf(BINARY, payload, rsv1=True) + cf(TEXT, b"later"))
    assert [f.opcode for f in frames] == [CLOSE] and close_code_of(frames) == 1007


def test_invalid_utf8_after_inflation_fails_with_1007() -> None:
    frames = run_deflate(cf(TEXT, deflate(b"ok \xc3\x28 no"), rsv1=True))
    assert [f.opcode for f in frames] == [CLOSE] and close_code_of(frames) == 1007


@pytest.mark.parametrize(
    "data",
    [
        cf(TEXT, b"\x00", rsv1=True),  # §7.2.3.6: one empty stored block
        cf(TEXT, b"", rsv1=True),
        cf(TEXT, deflate(b""), rsv1=True),
    ],
    ids=["0x00", "no-payload", "zlib-empty"],
)
def test_empty_compressed_message_is_echoed_empty(data: bytes) -> None:
    (echo, again) = run_deflate(data + cf(TEXT, deflate(b"next"), rsv1=True))
    assert inflate(echo.payload) == b""
    assert echo.rsv1 and inflate(again.payload) == b"next"


def test_empty_final_fragment_ends_a_compressed_message() -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    flushed = compressor.compress(b"Hello") + compressor.flush(zlib.Z_SYNC_FLUSH)
    data = cf(TEXT, flushed, fin=False, rsv1=True) + cf(CONT, b"\x00")  # §7.2.3.6
    (echo,) = run_deflate(data)
    assert inflate(echo.payload) == b"Hello"


@pytest.mark.parametrize(
    "payloads",
    [
        [b"\xf2\x48\xcd\xc9\xc9\x07\x00"],  # §7.2.3.1
        [b"\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00"],  # §7.2.3.3 stored block
        [b"\xf3\x48\xcd\xc9\xc9\x07\x00\x00"],  # §7.2.3.4 BFINAL
        [b"\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00"],  # §7.2.3.5 two blocks
        [b"\xf2\x48\xcd\xc9\xc9\x07\x00", b"\xf2\x00\x11\x00\x00"],  # §7.2.3.2 shared window
        [b"\xf3\x48\xcd\xc9\xc9\x07\x00\x00", b"\xf2\x00\x11\x00\x00"],  # window kept past BFINAL
    ],
    ids=["7.2.3.1", "stored", "bfinal", "two-blocks", "shared-window", "window-after-bfinal"],
)
def test_rfc7692_examples_inflate_to_hello(payloads: list[bytes]) -> None:
    frames = run_deflate(b"".join(cf(TEXT, p, rsv1=True) for p in payloads))
    inflater = zlib.decompressobj(-15)  # the server keeps its context (§7.2.1)
    assert [inflate(f.payload, inflater=inflater) for f in frames] == [b"Hello"] * len(payloads)


def test_inflated_size_limit_gets_1009() -> None:
    bomb = deflate(b"\x00" * (SMALL_LIMIT + 1))
    assert len(bomb) < SMALL_LIMIT
    frames = run_deflate(cf(BINARY, bomb, rsv1=True), max_message=SMALL_LIMIT)
    assert [f.opcode for f in frames] == [CLOSE] and close_code_of(frames) == 1009


def test_inflated_size_at_the_limit_is_echoed() -> None:
    (echo,) = run_deflate(
        cf(BINARY, deflate(b"\x00" * SMALL_LIMIT), rsv1=True), max_message=SMALL_LIMIT
    )
    assert inflate(echo.payload) == b"\x00" * SMALL_LIMIT


def test_client_context_is_kept_between_messages() -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = random.Random(1).randbytes(300)
    payloads = [deflate(first, compressor=compressor), deflate(first, compressor=compressor)]
    assert len(payloads[1]) < 20  # the second message is a back-reference into the first
    data = (
        cf(BINARY, payloads[0], rsv1=True)
        + cf(TEXT, b"between")
        + cf(BINARY, payloads[1], rsv1=True)
    )
    frames = run_deflate(data)
    inflater = zlib.decompressobj(-15)
    assert [inflate(f.payload, inflater=inflater) for f in frames] == [first, b"between", first]


def test_client_window_is_32k_when_client_max_window_bits_not_agreed() -> None:
    block = random.Random(2).randbytes(1000)
    far = block + random.Random(3).randbytes(30_000) + block  # a match 31,000 bytes back
    (echo,) = run_deflate(cf(BINARY, deflate(far), rsv1=True))
    assert inflate(echo.payload) == far


@pytest.mark.parametrize("bits", [8, 9, 10, 12])
def test_server_output_fits_the_agreed_server_window(bits: int) -> None:
    block = random.Random(bits).randbytes((1 << bits) + 100)
    data = block * 3  # repeats 100 bytes farther back than the window reaches
    frames = run_deflate(cf(BINARY, data), DeflateSettings(server_max_window_bits=bits))
    assert inflate(frames[0].payload, bits) == data
    with pytest.raises(zlib.error, match="too far back"):
        inflate(deflate(data), bits)  # what a 15-bit window would send: caught


def test_server_no_context_takeover_starts_each_message_afresh() -> None:
    text = random.Random(4).randbytes(200)
    agreed = DeflateSettings(server_no_context_takeover=True)
    frames = run_deflate(cf(BINARY, text) * 2, agreed)
    assert [inflate(f.payload) for f in frames] == [text, text]  # a fresh inflater each


def test_server_context_is_kept_without_server_no_context_takeover() -> None:
    text = random.Random(5).randbytes(200)
    _, second = run_deflate(cf(BINARY, text) * 2)
    assert len(second.payload) < 20
    with pytest.raises(zlib.error):
        inflate(second.payload)  # needs the first message's window


def test_deflate_output_does_not_depend_on_chunking() -> None:
    payload = deflate("\u00e9t\u00e9 ".encode() * 30)
    data = (
        cf(TEXT, payload[:9], fin=False, rsv1=True)
        + cf(PING, b"mid")
        + cf(CONT, payload[9:])
        + cf(BINARY, b"plain")
        + cf(TEXT, b"\x00", rsv1=True)
        + close_frame(1000)
    )
    whole = run_deflate(data)
    assert [f.opcode for f in whole] == [PONG, TEXT, BINARY, TEXT, CLOSE]
    for size in (1, 2, 3, 5, 7):
        assert run_deflate(data, chunks=list(range(size, len(data), size))) == whole, size


class KeepsContext(WirePolicy):
    def keep_context(self, agreed: DeflateSettings) -> bool:
        return True


class WidensWindow(WirePolicy):
    def deflate_window_bits(self, agreed: DeflateSettings) -> int:
        return 15


class TakesRsv1Continuation(WirePolicy):
    def rsv1_on_continuation_ok(self) -> bool:
        return True


class NeverCompresses(WirePolicy):
    def compress_reply(self, message: Message) -> bool:
        return False


def test_deflate_hooks_each_break_their_rule() -> None:
    """The WirePolicy deflate hooks a later fault overrides change exactly what they name."""
    text = random.Random(6).randbytes(600)
    snct = DeflateSettings(server_no_context_takeover=True)
    _, second = run_deflate(cf(BINARY, text) * 2, snct, policy=KeepsContext())
    with pytest.raises(zlib.error):
        inflate(second.payload)  # §7.1.1.1 broken: the context was kept
    (wide,) = run_deflate(
        cf(BINARY, text * 2), DeflateSettings(server_max_window_bits=9), policy=WidensWindow()
    )
    with pytest.raises(zlib.error, match="too far back"):
        inflate(wide.payload, 9)  # §7.2.1 broken: a 32 KiB window after agreeing 512 bytes
    data = cf(BINARY, deflate(b"ab"), fin=False, rsv1=True) + cf(CONT, b"", rsv1=True)
    (taken,) = run_deflate(data, policy=TakesRsv1Continuation())
    assert taken.opcode == BINARY  # §6.1 broken: echoed instead of failing
    (plain,) = run_deflate(cf(BINARY, deflate(b"ab"), rsv1=True), policy=NeverCompresses())
    assert (plain.rsv1, plain.payload) == (False, b"ab")
