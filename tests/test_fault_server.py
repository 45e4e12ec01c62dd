"""Fixtures: each fault breaks exactly its rule; hostile peers misbehave and clean up."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.model.header_grammar import split_list
from conformance.model.server_handshake import accept_key
from conformance.reference_server import LoopbackServer, start_reference_server
from fixtures.fault_server import FAULTS, HANDSHAKE_FAULTS, start_fault_server
from fixtures.hostile import HOSTILE_KINDS, start_hostile_server

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[1]
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
TEST_TIMEOUT = 15.0
IO_TIMEOUT = 5.0

Change = str | list[str] | None
BASE_HEADERS = {
    "Host": "127.0.0.1",
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Version": "13",
}


def handshake(
    changes: dict[str, Change] | None = None,
    *,
    method: str = "GET",
    target: str = "/",
    version: str = "HTTP/1.1",
) -> bytes:
    """A request: base headers replaced (str), repeated (list), dropped (None) or added."""
    merged: dict[str, Change] = {**BASE_HEADERS, **(changes or {})}
    lines = [f"{method} {target} {version}"]
    for name, value in merged.items():
        values = [] if value is None else [value] if isinstance(value, str) else value
        lines += [f"{name}: {v}" for v in values]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]  # lower-cased names
    malformed: bool = False  # a header line without a colon

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def tokens(self, name: str) -> list[str]:
        return [t.lower() for t in split_list(self.values(name))]


async def exchange(server: LoopbackServer, data: bytes) -> Response | None:
    """Send ``data`` on a fresh connection; the response head, or None if unanswered."""
    async with asyncio.timeout(IO_TIMEOUT):
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return None
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = [(n.strip().lower(), v.strip()) for n, _, v in (x.partition(":") for x in lines)]
    malformed = any(":" not in line for line in lines)
    return Response(int(status_line.split()[1]), headers, malformed)


# -- what a conformant server does with the exercising request -----------------------

Verdict = Callable[[Response | None], bool]


def refused(response: Response | None) -> bool:
    """§4.2.1: an HTTP error response, not 101, not silence."""
    return response is not None and 400 <= response.status < 600


def accepted(offered: tuple[str, ...] = (), key: str = KEY) -> Verdict:
    """§4.2.2 step 5: a correct 101, at most one offered subprotocol, no extension."""

    def verdict(response: Response | None) -> bool:
        if response is None or response.status != 101 or response.malformed:
            return False
        protocols = response.values("Sec-WebSocket-Protocol")
        return (
            response.tokens("Upgrade") == ["websocket"]
            and "upgrade" in response.tokens("Connection")
            and response.values("Sec-WebSocket-Accept") == [accept_key(key)]
            and response.values("Sec-WebSocket-Extensions") == []
            and len(protocols) <= 1
            and all(p in offered for p in protocols)
        )

    return verdict


def version_refused(response: Response | None) -> bool:
    """§4.4: an error that advertises version 13 in Sec-WebSocket-Version."""
    return (
        refused(response)
        and response is not None
        and "13" in response.tokens("Sec-WebSocket-Version")
    )


SHORT_KEY = base64.b64encode(b"short").decode()
LOWERCASE = handshake().replace(b"Sec-WebSocket-", b"sec-websocket-").replace(b"Host", b"host")

# fault -> (request that exercises it, what the reference server must do with it)
FAULT_CASES: dict[str, tuple[bytes, Verdict]] = {
    "accept-missing-key": (handshake({"Sec-WebSocket-Key": None}), refused),
    "accept-bad-key-base64": (
        handshake({"Sec-WebSocket-Key": "not*base64*at*all*here=="}),
        refused,
    ),
    "accept-short-key": (handshake({"Sec-WebSocket-Key": SHORT_KEY}), refused),
    "accept-duplicate-key": (handshake({"Sec-WebSocket-Key": [KEY, KEY]}), refused),
    "accept-missing-upgrade": (handshake({"Upgrade": None}), refused),
    "accept-bad-upgrade-token": (handshake({"Upgrade": "h2c"}), refused),
    "accept-missing-connection": (handshake({"Connection": None}), refused),
    "accept-bad-connection-token": (handshake({"Connection": "keep-alive"}), refused),
    "accept-missing-host": (handshake({"Host": None}), refused),
    "accept-http10": (handshake(version="HTTP/1.0"), refused),
    "accept-post": (handshake(method="POST"), refused),
    "accept-any-version": (handshake({"Sec-WebSocket-Version": "8"}), refused),
    "accept-version-list": (handshake({"Sec-WebSocket-Version": "8, 13"}), refused),
    "version-no-header": (handshake({"Sec-WebSocket-Version": "8"}), version_refused),
    "version-400": (handshake({"Sec-WebSocket-Version": None}), version_refused),
    "version-wrong-list": (handshake({"Sec-WebSocket-Version": "14"}), version_refused),
    "strict-token-lists": (handshake({"Connection": "keep-alive, Upgrade"}), accepted()),
    "case-sensitive-header-names": (LOWERCASE, accepted()),
    "refuse-absolute-uri": (handshake(target="http://127.0.0.1/"), accepted()),
    "require-origin": (handshake(), accepted()),
    "refuse-extra-headers": (handshake({"X-Request-Id": "42"}), accepted()),
    "accept-bad-subprotocol-syntax": (handshake({"Sec-WebSocket-Protocol": "a b"}), refused),
    "accept-bad-extension-syntax": (handshake({"Sec-WebSocket-Extensions": "x; =1"}), refused),
    "accept-any-key": (handshake({"Sec-WebSocket-Key": ""}), refused),
    "origin-refusal-200": (handshake({"Origin": "http://127.0.0.1"}), accepted()),
    "origin-required-200": (handshake(), accepted()),
    "unknown-resource-200": (handshake(target="/elsewhere"), accepted()),
    "decline-variants-with-200": (
        handshake({"Sec-WebSocket-Protocol": "chat"}),
        accepted(("chat",)),
    ),
    "refuse-with-200": (handshake({"Sec-WebSocket-Key": None}), refused),
    "refuse-by-closing": (handshake({"Upgrade": None}), refused),
    "refuse-with-101-empty": (handshake(method="PUT"), refused),
    "wrong-accept": (handshake(), accepted()),
    "accept-from-decoded-key": (handshake(), accepted()),
    "no-accept-header": (handshake(), accepted()),
    "no-upgrade-header-in-101": (handshake(), accepted()),
    "no-connection-header-in-101": (handshake(), accepted()),
    "wrong-upgrade-in-101": (handshake(), accepted()),
    "wrong-connection-in-101": (handshake(), accepted()),
    "unoffered-subprotocol": (handshake({"Sec-WebSocket-Protocol": "foo"}), accepted(("foo",))),
    "multiple-subprotocols": (
        handshake({"Sec-WebSocket-Protocol": "chat, superchat"}),
        accepted(("chat", "superchat")),
    ),
    "empty-subprotocol": (handshake(), accepted()),
    "unoffered-extension": (handshake(), accepted()),
    "require-host-first": (
        handshake({"Host": None}).replace(b"\r\n\r\n", b"\r\nHost: 127.0.0.1\r\n\r\n"),
        accepted(),
    ),
    "accept-duplicate-host": (handshake({"Host": ["127.0.0.1", "other.invalid"]}), refused),
    "accept-whitespace-before-colon": (
        handshake({"Sec-WebSocket-Key": None}).replace(
            b"\r\n\r\n", f"\r\nSec-WebSocket-Key : {KEY}\r\n\r\n".encode()
        ),
        refused,
    ),
    "malformed-101": (handshake(), accepted()),
    "origin-policy-drop": (handshake({"Origin": "http://127.0.0.1"}), accepted()),
    "drop-without-origin": (handshake(), accepted()),
    "origin-refuse-400": (handshake({"Origin": "http://wsconform.invalid"}), accepted()),
    "drop-unknown-resource": (handshake(target="/elsewhere"), accepted()),
}

# Faults that only show when the request head arrives in several reads.
CHUNKED_FAULTS = {"single-read-handshake"}

# Faults that change the answer to a plain valid handshake (with Origin).
RESPONSE_FAULTS = {
    "wrong-accept",
    "accept-from-decoded-key",
    "no-accept-header",
    "no-upgrade-header-in-101",
    "no-connection-header-in-101",
    "wrong-upgrade-in-101",
    "wrong-connection-in-101",
    "unoffered-subprotocol",
    "empty-subprotocol",
    "unoffered-extension",
    "malformed-101",
    "origin-policy-drop",
    "origin-refusal-200",
}


def run(main: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(TEST_TIMEOUT):
            await main()

    asyncio.run(bounded())


def test_every_fault_has_a_case_and_a_description() -> None:
    assert set(FAULT_CASES) | CHUNKED_FAULTS == set(HANDSHAKE_FAULTS)
    assert all(description.strip() for description in FAULTS.values())


@pytest.mark.parametrize("fault", FAULT_CASES)
def test_fault_breaks_its_rule(fault: str) -> None:
    request, conformant = FAULT_CASES[fault]

    async def main() -> None:
        async with await start_reference_server() as reference:
            reference_answer = await exchange(reference, request)
        async with await start_fault_server(fault) as faulty:
            fault_answer = await exchange(faulty, request)
        assert conformant(reference_answer), reference_answer
        assert not conformant(fault_answer), fault_answer

    run(main)


async def exchange_in_bytes(server: LoopbackServer, data: bytes) -> bytes:
    """Send ``data`` one byte per write (each drained); what came back until close."""
    async with asyncio.timeout(IO_TIMEOUT):
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            for byte in data:
                writer.write(bytes([byte]))
                await writer.drain()
            return await reader.readuntil(b"\r\n\r\n")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def test_negotiating_fault_agrees_to_permessage_deflate_even_in_a_malformed_list() -> None:
    """accept-bad-extension-syntax negotiates (so §9.1 binds it) where the reference,
    which agrees to a valid offer, refuses the malformed one."""
    valid = handshake({"Sec-WebSocket-Extensions": "permessage-deflate"})
    malformed = handshake({"Sec-WebSocket-Extensions": "permessage-deflate; a=b c"})

    async def main() -> None:
        async with await start_reference_server() as reference:
            plain = await exchange(reference, valid)
            refused = await exchange(reference, malformed)
        async with await start_fault_server("accept-bad-extension-syntax") as faulty:
            negotiating = await exchange(faulty, malformed)
        assert plain is not None and plain.values("Sec-WebSocket-Extensions") == [
            "permessage-deflate"
        ]
        assert refused is not None and refused.status == 400
        assert negotiating is not None
        assert negotiating.values("Sec-WebSocket-Extensions") == ["permessage-deflate"]

    run(main)


def test_echoing_fault_sends_the_unparseable_offer_back() -> None:
    request = handshake({"Sec-WebSocket-Protocol": "a b"})

    async def main() -> None:
        async with await start_fault_server("accept-bad-subprotocol-syntax") as faulty:
            answer = await exchange(faulty, request)
        assert answer is not None and answer.status == 101
        assert answer.values("Sec-WebSocket-Protocol") == ["a b"]

    run(main)


def test_single_read_fault_refuses_a_request_cut_in_pieces() -> None:
    async def main() -> None:
        async with await start_reference_server() as reference:
            good = await exchange_in_bytes(reference, handshake())
        async with await start_fault_server("single-read-handshake") as faulty:
            bad = await exchange_in_bytes(faulty, handshake())
            whole = await exchange(faulty, handshake())
        assert good.startswith(b"HTTP/1.1 101 ")
        assert bad.startswith(b"HTTP/1.1 400 ")
        assert accepted()(whole)

    run(main)


@pytest.mark.parametrize("fault", sorted(set(FAULTS) - RESPONSE_FAULTS))
def test_fault_keeps_valid_handshakes_working(fault: str) -> None:
    request = handshake({"Origin": "http://127.0.0.1"})

    async def main() -> None:
        async with await start_fault_server(fault) as faulty:
            assert accepted()(await exchange(faulty, request))

    run(main)


def test_unknown_fault_is_rejected() -> None:
    async def main() -> None:
        with pytest.raises(KeyError, match="unknown fault"):
            await start_fault_server("no-such-fault")

    run(main)


async def run_cli(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fixtures.fault_server", *args,
        stdout=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    return proc, (await proc.stdout.readline()).decode()


def test_cli_list_and_serve() -> None:
    async def main() -> None:
        proc, first = await run_cli("--list")
        assert first.startswith(f"{next(iter(FAULTS))}: ")
        await proc.wait()
        proc, line = await run_cli("--fault", "no-accept-header", "--port", "0")
        try:
            assert line.startswith("listening on ws://127.0.0.1:")
            port = int(line.rsplit(":", 1)[1].strip(" /\n"))
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(handshake())
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101 ")
            assert b"sec-websocket-accept" not in head.lower()
            writer.close()
            proc.terminate()
            assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(main)


# -- hostile peers ----------------------------------------------------------------


async def drained(server: LoopbackServer) -> bool:
    """True once every connection handler of ``server`` has ended."""
    for _ in range(300):
        if server.active_connections == 0:
            return True
        await asyncio.sleep(0.01)
    return False


async def read_101(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\n".encode() in head
    return head


async def hostile_session(
    kind: str, session: Callable[[asyncio.StreamReader], Awaitable[None]]
) -> None:
    """Connect to ``kind``, send a handshake, run ``session``, leave; no handler may remain."""
    async with await start_hostile_server(kind) as server:
        assert server.url == f"ws://127.0.0.1:{server.port}/"
        reader, writer = await asyncio.open_connection(server.host, server.port)
        with contextlib.suppress(ConnectionError):
            writer.write(handshake())
            await writer.drain()
        async with asyncio.timeout(IO_TIMEOUT):
            await session(reader)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        assert await drained(server), f"{kind}: a handler outlived its connection"


def test_every_hostile_kind_is_described() -> None:
    assert set(HOSTILE_KINDS) == {
        "silent", "trickle", "endless-header", "huge-frame",
        "reset-after-101", "close-immediately", "endless-data",
    }  # fmt: skip


def test_hostile_silent() -> None:
    async def session(reader: asyncio.StreamReader) -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await reader.read(1)

    run(lambda: hostile_session("silent", session))


def test_hostile_trickle() -> None:
    async def session(reader: asyncio.StreamReader) -> None:
        received = b""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.55):
                while True:
                    received += await reader.read(100)
        assert b"HTTP/1.1 101".startswith(received[:12])
        assert 2 <= len(received) <= 8

    run(lambda: hostile_session("trickle", session))


def test_hostile_endless_header() -> None:
    async def session(reader: asyncio.StreamReader) -> None:
        received = await reader.readexactly(256 * 1024)
        assert received.startswith(b"HTTP/1.1 101 Switching Protocols\r\nX-A: aaaa")
        assert b"\r\n\r\n" not in received

    run(lambda: hostile_session("endless-header", session))


def test_hostile_huge_frame() -> None:
    async def session(reader: asyncio.StreamReader) -> None:
        await read_101(reader)
        assert await reader.readexactly(10) == b"\x82\x7f" + struct.pack("!Q", 2**63 - 1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await reader.read(1)

    run(lambda: hostile_session("huge-frame", session))


def test_hostile_reset_after_101() -> None:
    async def session(reader: asyncio.StreamReader) -> None:
        await read_101(reader)
        with pytest.raises(ConnectionResetError):
            await reader.read(1)

    run(lambda: hostile_session("reset-after-101", session))


def test_hostile_close_immediately() -> None:
    async def session(reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionResetError):
            assert await reader.read(1) == b""

    run(lambda: hostile_session("close-immediately", session))


def test_hostile_endless_data() -> None:
    async def session(reader: asyncio.StreamReader) -> None:
        await read_101(reader)
        frames = await reader.readexactly(6 * 1000)
        assert frames == b"\x82\x04data" * 1000

    run(lambda: hostile_session("endless-data", session))


@pytest.mark.parametrize("kind", ["silent", "trickle", "endless-data", "huge-frame"])
def test_hostile_server_close_ends_live_connections(kind: str) -> None:
    async def main() -> None:
        server = await start_hostile_server(kind)
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(handshake())
        if kind == "silent":
            await asyncio.sleep(0.05)
        else:
            await reader.read(1)
        assert server.active_connections == 1
        await server.close()
        assert server.active_connections == 0
        writer.close()

    run(main)


def test_unknown_hostile_kind_is_rejected() -> None:
    async def main() -> None:
        with pytest.raises(KeyError, match="unknown kind"):
            await start_hostile_server("friendly")

    run(main)
