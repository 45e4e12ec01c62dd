"""Each permessage-deflate fault breaks its rule, in raw bytes; the reference server keeps it.

Negotiation faults: the offer goes in, the response's ``Sec-WebSocket-Extensions`` comes
out and is read by the model (:func:`~conformance.model.deflate.negotiation.read_response`,
RFC 7692 §5, §7, §7.1). Data faults: compressed frames go in (then a Ping barrier), the
reply frames come out, inflated under the agreed window and context rule by the strict
inflater (zlib in bounded steps, RFC 7692 §7.2.1, §7.2.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Final

import pytest

from conformance.cases import all_cases
from conformance.cases.deflate_rules import FRAME_EXTENSION
from conformance.driver import Target
from conformance.model.codec import encode_frame
from conformance.model.constants import CloseCode, Opcode
from conformance.model.deflate import requirements as req
from conformance.model.deflate.compressor import (
    EMPTY_STORED_BLOCK,
    bfinal_block,
    compress_message,
    context_pair,
)
from conformance.model.deflate.inflater import StrictInflater
from conformance.model.deflate.negotiation import Negotiated, read_response
from conformance.model.deflate.offers import Offer
from conformance.model.deflate.params import (
    CLIENT_MAX_WINDOW_BITS,
    CLIENT_NO_CONTEXT_TAKEOVER,
    SERVER_MAX_WINDOW_BITS,
    SERVER_NO_CONTEXT_TAKEOVER,
    WindowRule,
)
from conformance.model.deflate.probes import beyond_window, random_block
from conformance.model.frames import Frame
from conformance.model.server_handshake import accept_key
from conformance.model.verdict import Outcome
from conformance.reference_server import LoopbackServer, ServerLimits, start_reference_server
from conformance.results import CaseResult
from conformance.runner import run_cases
from fixtures.deflate_faults import (
    DECLINE_DEFLATE,
    DEFLATE_FAULTS,
    DEFLATE_NEGOTIATION_FAULT_TYPES,
    DEFLATE_RATIO,
    DEFLATE_WIRE_FAULT_TYPES,
    INFLATED_TEXT_DETAIL,
    PAIRS,
)
from fixtures.fault_server import FAULTS, HANDSHAKE_FAULTS, start_fault_server
from fixtures.variant import Pair, Variant

pytestmark = pytest.mark.network

ROOT: Final = Path(__file__).resolve().parents[1]
KEY: Final = "dGhlIHNhbXBsZSBub25jZQ=="
MASK: Final = b"\x37\xfa\x21\x3d"
BARRIER: Final = b"barrier"
IO_TIMEOUT: Final = 5.0
MAX_SIZE: Final = 2**20
CASE_TIMEOUT: Final = 5.0
FIN_BIT, RSV1_BIT, MASK_BIT = 0x80, 0x40, 0x80
OPCODE_BITS, LENGTH_BITS = 0x0F, 0x7F
LENGTH_16, LENGTH_64 = 126, 127
UNFLAGGED_WINDOW: Final = 9  # beyond_window(9): repeats 1,536 bytes apart, past 512
WINDOW_8_PROBE: Final = random_block(300) * 2  # a repeat 300 bytes back: past 256, within 762
MIN_CLIENT_WINDOW: Final = 8
NOT_DEFLATE: Final = b"\x07\x00"  # BFINAL, BTYPE 11: a reserved block type (RFC 1951 §3.2.3)
INVALID_UTF8_TEXT: Final = b"\xce\xba\xe1\xbd\xb9\xff"


def offer(*params: tuple[str, str | None]) -> Offer:
    return Offer(params=params)


BARE = offer()


# -- raw bytes on one connection ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerFrame:
    fin: bool
    rsv1: bool
    opcode: int
    payload: bytes


@dataclass
class Reply:
    """The response head and every frame the server sent before the barrier's Pong."""

    status: int
    extensions: list[bytes]
    frames: list[ServerFrame] = field(default_factory=list)

    def negotiated(self, offers: tuple[Offer, ...]) -> Negotiated:
        return read_response(offers, self.extensions)

    @property
    def close_code(self) -> int | None:
        closes = [f for f in self.frames if f.opcode == Opcode.CLOSE]
        return int.from_bytes(closes[0].payload[:2], "big") if closes else None

    @property
    def data(self) -> list[ServerFrame]:
        return [f for f in self.frames if f.opcode in (Opcode.TEXT, Opcode.BINARY, 0)]

    def messages(self) -> list[tuple[bool, bytes]]:
        """Each data message: (RSV1 on its first frame, its frames' payloads concatenated)."""
        out: list[tuple[bool, bytes]] = []
        current: bytearray | None = None
        rsv1 = False
        for frame in self.data:
            if frame.opcode != Opcode.CONTINUATION:
                current, rsv1 = bytearray(), frame.rsv1
            assert current is not None
            current += frame.payload
            if frame.fin:
                out.append((rsv1, bytes(current)))
        return out


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    return encode_frame(Frame(opcode, payload, fin=fin, rsv1=rsv1, mask=MASK))


def handshake(offers: tuple[Offer, ...]) -> bytes:
    lines = [
        "GET / HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {KEY}",
        "Sec-WebSocket-Version: 13",
    ]
    if offers:
        lines.append("Sec-WebSocket-Extensions: " + ", ".join(o.render() for o in offers))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_frames(buffer: bytearray) -> list[ServerFrame]:
    """Take every complete frame off the front of ``buffer`` (RFC 6455 §5.2)."""
    frames: list[ServerFrame] = []
    while len(buffer) >= 2:
        length, pos = buffer[1] & LENGTH_BITS, 2
        if length in (LENGTH_16, LENGTH_64):
            size = 2 if length == LENGTH_16 else 8
            if len(buffer) < pos + size:
                break
            length, pos = int.from_bytes(buffer[pos : pos + size], "big"), pos + size
        key = b""
        if buffer[1] & MASK_BIT:
            key, pos = bytes(buffer[pos : pos + 4]), pos + 4
        if len(buffer) < pos + length:
            break
        payload = bytes(buffer[pos : pos + length])
        if key:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        first = buffer[0]
        frames.append(
            ServerFrame(bool(first & FIN_BIT), bool(first & RSV1_BIT), first & OPCODE_BITS, payload)
        )
        del buffer[: pos + length]
    return frames


async def converse(server: LoopbackServer, offers: tuple[Offer, ...], sent: bytes = b"") -> Reply:
    """Handshake offering ``offers``, send ``sent`` and a Ping barrier; read until its Pong,
    a Close or the end of the stream."""
    async with asyncio.timeout(IO_TIMEOUT):
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(handshake(offers))
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
            reply = Reply(int(status_line.split()[1]), [])
            for line in lines:
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-extensions":
                    reply.extensions.append(value.strip().encode("latin-1"))
            if reply.status != 101:
                return reply
            assert f"Sec-WebSocket-Accept: {accept_key(KEY)}" in lines
            writer.write(sent + client_frame(Opcode.PING, BARRIER))
            buffer = bytearray()
            while chunk := await reader.read(65536):
                buffer += chunk
                for frame in parse_frames(buffer):
                    if frame.opcode == Opcode.PONG and frame.payload == BARRIER:
                        return reply
                    reply.frames.append(frame)
                    if frame.opcode == Opcode.CLOSE:
                        return reply
            return reply
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


Server = Callable[[], Awaitable[LoopbackServer]]


def both(
    fault: str, offers: tuple[Offer, ...], sent: bytes = b"", limits: ServerLimits | None = None
) -> tuple[Reply, Reply]:
    """The same conversation with the reference server, then with ``fault``."""

    async def main() -> tuple[Reply, Reply]:
        async with await start_reference_server(engine="model", limits=limits) as reference:
            kept = await converse(reference, offers, sent)
        async with await start_fault_server(fault, limits=limits) as broken:
            return kept, await converse(broken, offers, sent)

    return asyncio.run(main())


# -- registration ----------------------------------------------------------------------------


def test_every_deflate_fault_is_listed_and_served() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "fixtures.fault_server", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    listed = {line.partition(":")[0] for line in listing.splitlines()}
    assert set(DEFLATE_FAULTS) <= listed
    assert set(DEFLATE_FAULTS) <= set(FAULTS)  # benchmarks/mutation.py runs every FAULTS entry
    assert not set(DEFLATE_FAULTS) & set(HANDSHAKE_FAULTS)
    assert set(NEGOTIATION) | set(NEGOTIATION_CHECKS) == set(DEFLATE_NEGOTIATION_FAULT_TYPES)
    assert not set(NEGOTIATION) & set(NEGOTIATION_CHECKS)
    assert set(DATA_CHECKS) == set(DEFLATE_WIRE_FAULT_TYPES)
    assert all(description.strip() for description in DEFLATE_FAULTS.values())


# -- negotiation: offer in, response header out ------------------------------------------------

# fault -> (offers, the rule the fault's response breaks; None: refused instead of declined)
NEGOTIATION: dict[str, list[tuple[tuple[Offer, ...], str | None]]] = {
    "accept-unknown-deflate-param": [((offer(("x_foo", None)),), req.PMD_DECLINE_UNKNOWN_PARAM)],
    "accept-duplicate-deflate-param": [
        (
            (offer((SERVER_NO_CONTEXT_TAKEOVER, None), (SERVER_NO_CONTEXT_TAKEOVER, None)),),
            req.PMD_DECLINE_DUPLICATE_PARAM,
        )
    ],
    "accept-valued-deflate-flag": [
        ((offer((CLIENT_NO_CONTEXT_TAKEOVER, "1")),), req.PMD_DECLINE_INVALID_VALUE),
        ((offer((SERVER_NO_CONTEXT_TAKEOVER, "true")),), req.PMD_DECLINE_INVALID_VALUE),
    ],
    "accept-deflate-window-out-of-range": [
        ((offer((name, value)),), req.PMD_DECLINE_INVALID_VALUE)
        for name in (SERVER_MAX_WINDOW_BITS, CLIENT_MAX_WINDOW_BITS)
        for value in ("7", "16", "08", "abc")
    ],
    "refuse-bad-deflate-offer-400": [
        ((offer((SERVER_MAX_WINDOW_BITS, "7")),), None),
        ((offer(("x_foo", None)), BARE), None),  # the valid fallback is not even reached
    ],
    "respond-client-window-unoffered": [((BARE,), req.PMD_CMWB_ONLY_IF_OFFERED)],
    "respond-server-window-larger": [
        ((offer((SERVER_MAX_WINDOW_BITS, "10")),), req.PMD_SMWB_ACCEPT),
        ((offer((SERVER_MAX_WINDOW_BITS, "8")),), req.PMD_SMWB_ACCEPT),
    ],
    "respond-without-server-no-context-takeover": [
        ((offer((SERVER_NO_CONTEXT_TAKEOVER, None)),), req.PMD_SNCT_ACCEPT)
    ],
    "respond-two-deflate-elements": [((BARE,), req.PMD_INVALID_RESPONSE)],
}


def check_decline_server_no_context_takeover() -> None:
    offers = (offer((SERVER_NO_CONTEXT_TAKEOVER, None)),)
    kept, broken = both("decline-server-no-context-takeover", offers)
    assert kept.negotiated(offers).agreed is not None
    assert broken.status == 101 and broken.extensions == []  # declined (§7.1.1.1 RECOMMENDED)
    fallback = (*offers, BARE)
    _, still = both("decline-server-no-context-takeover", fallback)
    agreed = still.negotiated(fallback).agreed
    assert agreed is not None and not agreed.server_no_context_takeover


def check_respond_small_client_window() -> None:
    offers = (offer((CLIENT_MAX_WINDOW_BITS, None)),)
    data = b"inflated with a 256-byte window" * 4
    sent = client_frame(
        Opcode.TEXT, compress_message(data, WindowRule(MIN_CLIENT_WINDOW)), rsv1=True
    )
    kept, broken = both("respond-small-client-window", offers, sent)
    reference, faulty = kept.negotiated(offers), broken.negotiated(offers)
    assert reference.agreed is not None and reference.agreed.client_max_window_bits == 15
    assert faulty.agreed is not None and not faulty.violations  # valid, just small (§7.3)
    assert faulty.agreed.client_max_window_bits == MIN_CLIENT_WINDOW
    assert inflated(broken, WindowRule()) == [(data, None)]


def check_accept_frame_extension_too() -> None:
    offers = (BARE, Offer(name=FRAME_EXTENSION))
    kept, broken = both("accept-frame-extension-too", offers)
    assert kept.extensions == [b"permessage-deflate"]
    assert sorted(broken.extensions) == [b"permessage-deflate", FRAME_EXTENSION.encode()]
    _, alone = both("accept-frame-extension-too", (BARE,))
    assert alone.extensions == [b"permessage-deflate"]  # only when it is offered


NEGOTIATION_CHECKS: dict[str, Callable[[], None]] = {
    "decline-server-no-context-takeover": check_decline_server_no_context_takeover,
    "respond-small-client-window": check_respond_small_client_window,
    "accept-frame-extension-too": check_accept_frame_extension_too,
}
"""Negotiation faults whose response breaks no rule the response reader checks: a
RECOMMENDED support missed (§7.1.1.1, §7.3), or a second extension accepted (§5)."""


@pytest.mark.parametrize("fault", sorted(NEGOTIATION_CHECKS))
def test_negotiation_fault_does_what_it_says(fault: str) -> None:
    NEGOTIATION_CHECKS[fault]()


def _negotiation_rows() -> list[tuple[str, tuple[Offer, ...], str | None]]:
    return [(fault, o, rule) for fault, rows in NEGOTIATION.items() for o, rule in rows]


@pytest.mark.parametrize(("fault", "offers", "rule"), _negotiation_rows())
def test_negotiation_fault_breaks_its_rule(
    fault: str, offers: tuple[Offer, ...], rule: str | None
) -> None:
    kept, broken = both(fault, offers)
    reference = kept.negotiated(offers)
    assert kept.status == 101 and not reference.violations, reference
    if rule is None:
        assert broken.status == 400, broken
        return
    assert broken.status == 101
    negotiated = broken.negotiated(offers)
    assert rule in {v.requirement for v in negotiated.violations}, (broken.extensions, negotiated)


# -- data: compressed message in, reply bytes out ----------------------------------------------


def inflated(reply: Reply, rule: WindowRule) -> list[tuple[bytes | None, str | None]]:
    """Each compressed message of ``reply`` inflated in order under ``rule``: its data, or
    None and the id of the rule the payload broke."""
    inflater = StrictInflater(rule, max_size=MAX_SIZE)
    out: list[tuple[bytes | None, str | None]] = []
    for rsv1, payload in reply.messages():
        assert rsv1, "every echo of this server is compressed"
        result = inflater.inflate(payload)
        out.append((result.data, result.violation.requirement if result.violation else None))
    return out


def compressed(opcode: int, data: bytes) -> bytes:
    return client_frame(opcode, compress_message(data), rsv1=True)


def check_ignore_server_window() -> None:
    offers = (offer((SERVER_MAX_WINDOW_BITS, str(UNFLAGGED_WINDOW))),)
    data = beyond_window(UNFLAGGED_WINDOW)
    kept, broken = both("ignore-server-window", offers, compressed(Opcode.BINARY, data))
    assert inflated(kept, WindowRule(UNFLAGGED_WINDOW)) == [(data, None)]
    assert inflated(broken, WindowRule(UNFLAGGED_WINDOW)) == [(None, req.PMD_SERVER_WINDOW)]


def check_claim_window_8() -> None:
    offers = (offer((SERVER_MAX_WINDOW_BITS, "8")),)
    sent = compressed(Opcode.BINARY, WINDOW_8_PROBE)
    kept, broken = both("claim-window-8-use-10", offers, sent)
    assert kept.negotiated(offers) == broken.negotiated(offers)  # both claim 8
    assert inflated(kept, WindowRule(8)) == [(WINDOW_8_PROBE, None)]
    assert inflated(broken, WindowRule(8)) == [(None, req.PMD_SERVER_WINDOW)]


def check_ignore_server_no_context_takeover() -> None:
    offers = (offer((SERVER_NO_CONTEXT_TAKEOVER, None)),)
    block = random_block(2000)
    sent = compressed(Opcode.BINARY, block) * 2
    kept, broken = both("ignore-server-no-context-takeover", offers, sent)
    rule = WindowRule(no_context_takeover=True)
    assert inflated(kept, rule) == [(block, None), (block, None)]
    assert inflated(broken, rule) == [(block, None), (None, req.PMD_SERVER_NO_CONTEXT)]


def check_rsv1_on_continuation_replies() -> None:
    data = b"Hello, compressed continuation" * 4
    kept, broken = both("rsv1-on-continuation-replies", (BARE,), compressed(Opcode.TEXT, data))
    assert [(f.opcode, f.rsv1) for f in kept.data] == [(Opcode.TEXT, True)]
    assert [(f.opcode, f.rsv1) for f in broken.data] == [
        (Opcode.TEXT, True),
        (Opcode.CONTINUATION, True),  # §6.1 MUST NOT
    ]
    assert inflated(broken, WindowRule()) == [(data, None)]


def check_compressed_pong() -> None:
    ping = client_frame(Opcode.PING, b"ping")
    kept, broken = both("compressed-pong", (BARE,), ping)
    assert [(f.opcode, f.rsv1, f.payload) for f in kept.frames] == [(Opcode.PONG, False, b"ping")]
    assert [(f.opcode, f.rsv1, f.payload) for f in broken.frames] == [(Opcode.PONG, True, b"ping")]
    # only its own rule: without permessage-deflate its Pongs keep RSV1 clear (RFC 6455 §5.2)
    _, plain = both("compressed-pong", (), ping)
    assert [(f.opcode, f.rsv1, f.payload) for f in plain.frames] == [(Opcode.PONG, False, b"ping")]


def check_compressed_reply_without_rsv1() -> None:
    data = b"compressed, and marked so on the first frame" * 4
    kept, broken = both("compressed-reply-without-rsv1", (BARE,), compressed(Opcode.BINARY, data))
    assert inflated(kept, WindowRule()) == [(data, None)]
    ((rsv1, payload),) = broken.messages()
    assert not rsv1 and payload != data  # DEFLATE bytes a client takes as the data (§6.1)
    assert StrictInflater(WindowRule(), max_size=MAX_SIZE).inflate(payload).data == data


def check_stop_at_bfinal() -> None:
    first, second = b"before the BFINAL block, ", b"and the block after it"
    payload = bfinal_block(first).removesuffix(EMPTY_STORED_BLOCK) + compress_message(second)
    sent = client_frame(Opcode.BINARY, payload, rsv1=True)
    kept, broken = both("stop-at-bfinal", (BARE,), sent)
    assert inflated(kept, WindowRule()) == [(first + second, None)]
    assert inflated(broken, WindowRule()) == [(first, None)]  # §7.2.1: the next block dropped


def check_uncompressed_into_window() -> None:
    block, middle = random_block(2000), random_block(3000, seed=1)
    first, second = context_pair(block, block)  # the second references the first
    sent = (
        client_frame(Opcode.BINARY, first, rsv1=True)
        + client_frame(Opcode.BINARY, middle)  # uncompressed: the window stays (§6.2)
        + client_frame(Opcode.BINARY, second, rsv1=True)
    )
    kept, broken = both("uncompressed-into-window", (BARE,), sent)
    assert inflated(kept, WindowRule()) == [(block, None), (middle, None), (block, None)]
    echoes = [data for data, _ in inflated(broken, WindowRule())]
    assert echoes[:2] == [block, middle]
    # the reference 2,000 bytes back lands in ``middle``: other data, or no DEFLATE at all
    assert echoes[2:] != [block]


def check_reject_stored_blocks() -> None:
    data = b"Hello, stored"
    stored = b"\x00" + len(data).to_bytes(2, "little") + (len(data) ^ 0xFFFF).to_bytes(2, "little")
    sent = client_frame(Opcode.TEXT, stored + data + b"\x00", rsv1=True)
    kept, broken = both("reject-stored-blocks", (BARE,), sent)
    assert inflated(kept, WindowRule()) == [(data, None)]
    assert broken.close_code == CloseCode.INVALID_FRAME_PAYLOAD_DATA and not broken.data
    # other blocks are inflated as before
    _, still = both("reject-stored-blocks", (BARE,), compressed(Opcode.TEXT, b"Huffman " * 9))
    assert inflated(still, WindowRule()) == [(b"Huffman " * 9, None)]


def check_inflate_each_fragment() -> None:
    data = b"split inside a DEFLATE block, not at a flush" * 3
    payload = compress_message(data)
    cut = len(payload) // 2
    sent = client_frame(Opcode.TEXT, payload[:cut], fin=False, rsv1=True) + client_frame(
        Opcode.CONTINUATION, payload[cut:]
    )
    kept, broken = both("inflate-each-fragment", (BARE,), sent)
    assert inflated(kept, WindowRule()) == [(data, None)]
    assert broken.close_code == CloseCode.INVALID_FRAME_PAYLOAD_DATA or inflated(
        broken, WindowRule()
    ) != [(data, None)]


def check_limit_on_compressed_size() -> None:
    limit = 4096
    bomb = compress_message(b"\x00" * (limit * 8))  # 32 KiB inflated from a few dozen bytes
    assert len(bomb) < limit < limit * 8 < limit * DEFLATE_RATIO
    sent = client_frame(Opcode.BINARY, bomb, rsv1=True)
    kept, broken = both(
        "limit-on-compressed-size", (BARE,), sent, ServerLimits(max_message_bytes=limit)
    )
    assert kept.close_code == CloseCode.MESSAGE_TOO_BIG and not kept.data
    assert broken.close_code is None
    assert inflated(broken, WindowRule()) == [(b"\x00" * (limit * 8), None)]


def check_accept_rsv1_continuation() -> None:
    payload = compress_message(b"split in two fragments")
    half = len(payload) // 2
    sent = client_frame(Opcode.TEXT, payload[:half], fin=False, rsv1=True) + client_frame(
        Opcode.CONTINUATION, payload[half:], rsv1=True
    )
    kept, broken = both("accept-rsv1-continuation", (BARE,), sent)
    assert kept.close_code == CloseCode.PROTOCOL_ERROR and not kept.data
    assert broken.close_code is None
    assert inflated(broken, WindowRule()) == [(b"split in two fragments", None)]


def check_accept_rsv1_control() -> None:
    sent = encode_frame(Frame(Opcode.PING, b"rsv1", rsv1=True, mask=MASK))
    kept, broken = both("accept-rsv1-control", (BARE,), sent)
    assert kept.close_code == CloseCode.PROTOCOL_ERROR
    assert [(f.opcode, f.payload) for f in broken.frames] == [(Opcode.PONG, b"rsv1")]


def check_reset_inflate_context() -> None:
    block = random_block(2000)
    first, second = context_pair(block, block)
    sent = client_frame(Opcode.BINARY, first, rsv1=True) + client_frame(
        Opcode.BINARY, second, rsv1=True
    )
    kept, broken = both("reset-inflate-context", (BARE,), sent)
    assert inflated(kept, WindowRule()) == [(block, None), (block, None)]
    assert inflated(broken, WindowRule()) == [(block, None)]
    assert broken.close_code == CloseCode.INVALID_FRAME_PAYLOAD_DATA


def check_small_client_window() -> None:
    # zlib inflating a whole message in one call reaches back into that call's own output
    # whatever its window, so the breach shows across messages: the second back-references
    # the first 2,000 bytes back, beyond a 512-byte window (the context is kept, §7.2.2).
    block = random_block(2000)
    first, second = context_pair(block, block)
    sent = client_frame(Opcode.BINARY, first, rsv1=True) + client_frame(
        Opcode.BINARY, second, rsv1=True
    )
    kept, broken = both("small-client-window", (BARE,), sent)
    assert inflated(kept, WindowRule()) == [(block, None), (block, None)]
    assert inflated(broken, WindowRule()) == [(block, None)]
    assert broken.close_code == CloseCode.INVALID_FRAME_PAYLOAD_DATA


def check_accept_corrupt_deflate() -> None:
    sent = client_frame(Opcode.BINARY, NOT_DEFLATE, rsv1=True)
    kept, broken = both("accept-corrupt-deflate", (BARE,), sent)
    assert kept.close_code == CloseCode.INVALID_FRAME_PAYLOAD_DATA
    assert broken.frames == []  # no Close: the barrier's Pong came back


def check_no_utf8_check_after_inflate() -> None:
    sent = compressed(Opcode.TEXT, INVALID_UTF8_TEXT)
    kept, broken = both("no-utf8-check-after-inflate", (BARE,), sent)
    assert kept.close_code == CloseCode.INVALID_FRAME_PAYLOAD_DATA and not kept.data
    assert inflated(broken, WindowRule()) == [(INVALID_UTF8_TEXT, None)]
    # the uncompressed check is kept: only the inflated text goes unchecked
    plain = client_frame(Opcode.TEXT, INVALID_UTF8_TEXT)
    _, still = both("no-utf8-check-after-inflate", (BARE,), plain)
    assert still.close_code == CloseCode.INVALID_FRAME_PAYLOAD_DATA


DATA_CHECKS: dict[str, Callable[[], None]] = {
    "ignore-server-window": check_ignore_server_window,
    "claim-window-8-use-10": check_claim_window_8,
    "ignore-server-no-context-takeover": check_ignore_server_no_context_takeover,
    "rsv1-on-continuation-replies": check_rsv1_on_continuation_replies,
    "compressed-pong": check_compressed_pong,
    "accept-rsv1-continuation": check_accept_rsv1_continuation,
    "accept-rsv1-control": check_accept_rsv1_control,
    "reset-inflate-context": check_reset_inflate_context,
    "small-client-window": check_small_client_window,
    "accept-corrupt-deflate": check_accept_corrupt_deflate,
    "no-utf8-check-after-inflate": check_no_utf8_check_after_inflate,
    "compressed-reply-without-rsv1": check_compressed_reply_without_rsv1,
    "stop-at-bfinal": check_stop_at_bfinal,
    "reject-stored-blocks": check_reject_stored_blocks,
    "inflate-each-fragment": check_inflate_each_fragment,
    "uncompressed-into-window": check_uncompressed_into_window,
    "limit-on-compressed-size": check_limit_on_compressed_size,
}


@pytest.mark.parametrize("fault", sorted(DATA_CHECKS))
def test_data_fault_breaks_its_rule(fault: str) -> None:
    DATA_CHECKS[fault]()


def test_inflated_text_detail_is_the_engines() -> None:
    """The no-utf8-check-after-inflate fault recognises the engine's violation by its detail."""
    source = (ROOT / "conformance" / "echo_engine.py").read_text()
    assert f'"{INFLATED_TEXT_DETAIL}"' in source


# -- the conforming variant: declining permessage-deflate (§5) ----------------------------------


def test_decline_deflate_answers_every_offer_without_the_extension() -> None:
    offers = (offer((SERVER_MAX_WINDOW_BITS, "10")), BARE)
    data = b"uncompressed after a declined offer"

    async def main() -> Reply:
        async with await DECLINE_DEFLATE.start() as server:
            return await converse(server, offers, client_frame(Opcode.TEXT, data))

    reply = asyncio.run(main())
    assert reply.status == 101 and reply.extensions == []
    assert not reply.negotiated(offers).accepted
    assert [(f.opcode, f.rsv1, f.payload) for f in reply.data] == [(Opcode.TEXT, False, data)]


RFC7692_CASES: Final = [case for case in all_cases() if case.id.startswith("rfc7692/")]


def _run_rfc7692(variant: Variant, ids: set[str] | None = None) -> list[CaseResult]:
    cases = [c for c in RFC7692_CASES if ids is None or c.id in ids]

    async def main() -> list[CaseResult]:
        async with await variant.start() as server:
            target = Target.parse(server.url)
            return await run_cases(cases, target, timeout=CASE_TIMEOUT, jobs=16)

    return asyncio.run(main())


@pytest.mark.skipif(not RFC7692_CASES, reason="no rfc7692 case registered")
def test_decline_deflate_gets_no_fail_from_any_rfc7692_case() -> None:
    """RFC 7692 §5: declining every offer is allowed; every case that needs the extension
    is UNSUPPORTED (both profiles' cases), the decline cases PASS."""
    results = _run_rfc7692(DECLINE_DEFLATE)
    wrong = {r.id: (r.outcome.value, r.actual) for r in results if r.outcome is not Outcome.PASS}
    wrong = {k: v for k, v in wrong.items() if v[0] != Outcome.UNSUPPORTED.value}
    assert not wrong, wrong
    assert any(r.outcome is Outcome.UNSUPPORTED for r in results)


@pytest.mark.skipif(not RFC7692_CASES, reason="no rfc7692 case registered")
@pytest.mark.parametrize("pair", PAIRS, ids=lambda pair: pair.conforming.name)
def test_deflate_twin_fails_the_cases_that_bound_the_choice(pair: Pair) -> None:
    ids = {c.id for c in RFC7692_CASES if any(fnmatch(c.id, g) for g in pair.must_fail)}
    assert ids, f"{pair.twin.name}: must_fail selects no case"
    results = _run_rfc7692(pair.twin, ids)
    wrong = {r.id: (r.outcome.value, r.actual) for r in results if r.outcome is not Outcome.FAIL}
    assert not wrong, wrong
