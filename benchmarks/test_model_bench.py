"""Throughput of the sans-IO model against wsproto, on the same inputs.

Not part of the normal test run (pyproject's ``testpaths`` is ``tests``). Run with::

    PYTHONPATH=. python -m pytest benchmarks/test_model_bench.py -p no:cacheprovider \
        --benchmark-only -q

(a) decoding 4 MiB of masked client frames (unmasking and UTF-8 validation included),
(b) one client-side opening handshake (build request, parse the 101, check the accept),
(c) masking 16 MiB. Decode and masking report MB/s (10**6 bytes per second, from the
median) in ``extra_info`` and in a table printed at the end of the session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import wsproto.handshake
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request
from wsproto.frame_protocol import FrameProtocol, XorMaskerSimple

from conformance.model.codec import apply_mask, encode_frame
from conformance.model.constants import Opcode
from conformance.model.decoder import Message, PeerStream
from conformance.model.frames import Frame
from conformance.model.handshake import (
    ResponseReader,
    accept_for,
    build_request,
    check_accept,
)

KIB = 1024
MIB = 1024 * KIB
CHUNK = 64 * KIB  # fed as a socket would deliver it
MASK_KEY = b"\x37\xfa\x21\x3d"
TEXT_UNIT = "héllo wörld €𝄞 ".encode()  # 1-, 2-, 3- and 4-byte sequences


def _text_payload(size: int) -> bytes:
    """``size`` bytes of valid UTF-8 (whole characters only)."""
    data = (TEXT_UNIT * (size // len(TEXT_UNIT) + 1))[:size]
    while True:
        try:
            data.decode()
        except UnicodeDecodeError:
            data = data[:-1] + b" "
        else:
            return data


def _text_stream() -> bytes:
    payload = _text_payload(KIB)
    frame = encode_frame(Frame(Opcode.TEXT, payload, mask=MASK_KEY))
    return frame * (4 * MIB // KIB)


def _binary_stream() -> bytes:
    payload = os.urandom(4 * MIB)
    return encode_frame(Frame(Opcode.BINARY, payload, mask=MASK_KEY))


STREAMS: dict[str, tuple[bytes, int]] = {}  # name -> (wire bytes, messages)


def _stream(name: str) -> tuple[bytes, int]:
    if name not in STREAMS:
        if name == "text-1KiB-x4096":
            STREAMS[name] = (_text_stream(), 4096)
        else:
            STREAMS[name] = (_binary_stream(), 1)
    return STREAMS[name]


def _chunks(data: bytes) -> list[bytes]:
    view = memoryview(data)
    return [bytes(view[i : i + CHUNK]) for i in range(0, len(data), CHUNK)]


def decode_ours(chunks: list[bytes]) -> int:
    stream = PeerStream(peer="client")
    messages = 0
    for chunk in chunks:
        for event in stream.feed(chunk):
            if isinstance(event, Message):
                messages += 1
    assert not stream.violations, stream.violations
    return messages


def decode_wsproto(chunks: list[bytes]) -> int:
    proto = FrameProtocol(client=False, extensions=[])
    messages = 0
    for chunk in chunks:
        proto.receive_bytes(chunk)
        for frame in proto.received_frames():
            if frame.message_finished:
                messages += 1
    return messages


# Results for the closing table: (group, impl) -> (median seconds, bytes or None).
RESULTS: dict[tuple[str, str], tuple[float, int | None]] = {}


@pytest.fixture(scope="session", autouse=True)
def _summary() -> Iterator[None]:
    yield
    if not RESULTS:
        return
    print("\n\nmedians (ours vs wsproto)")
    groups = sorted({group for group, _ in RESULTS})
    for group in groups:
        ours = RESULTS.get((group, "ours"))
        theirs = RESULTS.get((group, "wsproto"))
        if ours is None or theirs is None:
            continue
        if ours[1] is None:
            row = f"{ours[0] * 1e6:9.1f} µs  {theirs[0] * 1e6:9.1f} µs"
            ratio = theirs[0] / ours[0]
        else:
            ours_rate = ours[1] / ours[0] / 1e6
            theirs_rate = theirs[1] / theirs[0] / 1e6  # type: ignore[operator]
            row = f"{ours_rate:9.1f} MB/s {theirs_rate:9.1f} MB/s"
            ratio = ours_rate / theirs_rate
        print(f"{group:32s} {row}  ours/wsproto speed {ratio:5.2f}x")


def _record(benchmark: Any, group: str, impl: str, size: int | None) -> None:
    median = benchmark.stats.stats.median
    RESULTS[(group, impl)] = (median, size)
    if size is not None:
        benchmark.extra_info["MB/s"] = round(size / median / 1e6, 1)
    else:
        benchmark.extra_info["µs"] = round(median * 1e6, 1)


# --------------------------------------------------------------------------- (a)

DECODERS: dict[str, Callable[[list[bytes]], int]] = {
    "ours": decode_ours,
    "wsproto": decode_wsproto,
}


@pytest.mark.parametrize("impl", ["ours", "wsproto"])
@pytest.mark.parametrize("workload", ["text-1KiB-x4096", "binary-4MiB-x1"])
def test_decode(benchmark: Any, workload: str, impl: str) -> None:
    data, expected = _stream(workload)
    chunks = _chunks(data)
    decode = DECODERS[impl]
    benchmark.group = f"decode {workload}"
    messages = benchmark.pedantic(decode, args=(chunks,), rounds=10, warmup_rounds=1)
    assert messages == expected
    _record(benchmark, f"decode {workload}", impl, len(data))


# --------------------------------------------------------------------------- (b)

HS_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
HS_RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: " + accept_for(HS_KEY) + b"\r\n"
    b"\r\n"
)


def handshake_ours() -> bool:
    request = build_request(b"example.com", b"/chat", key=HS_KEY)
    request.to_bytes()
    reader = ResponseReader()
    reader.feed(HS_RESPONSE)
    assert reader.response is not None
    return not check_accept(request, reader.response)


def handshake_wsproto() -> bool:
    conn = WSConnection(ConnectionType.CLIENT)
    conn.send(Request(host="example.com", target="/chat"))
    conn.receive_data(HS_RESPONSE)
    return any(isinstance(event, AcceptConnection) for event in conn.events())


@pytest.mark.parametrize("impl", ["ours", "wsproto"])
def test_handshake(benchmark: Any, monkeypatch: pytest.MonkeyPatch, impl: str) -> None:
    # wsproto draws its own key: pin it so both parse the very same response bytes.
    monkeypatch.setattr(wsproto.handshake, "generate_nonce", lambda: HS_KEY)
    benchmark.group = "handshake"
    func = handshake_ours if impl == "ours" else handshake_wsproto
    assert benchmark(func)
    _record(benchmark, "handshake (per handshake)", impl, None)


# --------------------------------------------------------------------------- (c)

MASK_DATA = os.urandom(16 * MIB)


def mask_ours() -> int:
    return len(apply_mask(MASK_DATA, MASK_KEY))


def mask_wsproto() -> int:
    # process() copies its argument into a fresh bytearray itself.
    return len(XorMaskerSimple(MASK_KEY).process(MASK_DATA))  # type: ignore[arg-type]


@pytest.mark.parametrize("impl", ["ours", "wsproto"])
def test_mask(benchmark: Any, impl: str) -> None:
    sample = MASK_DATA[: 64 * KIB + 3]
    assert apply_mask(sample, MASK_KEY) == XorMaskerSimple(MASK_KEY).process(bytearray(sample))
    benchmark.group = "mask 16MiB"
    func = mask_ours if impl == "ours" else mask_wsproto
    assert benchmark.pedantic(func, rounds=10, warmup_rounds=1) == len(MASK_DATA)
    _record(benchmark, "mask 16MiB", impl, len(MASK_DATA))
