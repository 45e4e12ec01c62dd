"""The client's opening-handshake request against RFC 6455 §4.1 and WHATWG/Fetch."""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog import load_catalog
from conformance.clients import request_checks as rc
from conformance.clients.request_checks import (
    CHECKED_REQUEST_RULES,
    is_serialized_origin,
    keys_reused,
    request_violations,
)
from conformance.clients.scenario_server.records import ConnectionRecord
from conformance.clients.scenario_server.server import ScenarioServer
from conformance.clients.scenarios import Profile

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3
PORT = 8765
Headers = list[tuple[str, str]]

LIBRARY: Headers = [  # what websockets 17.4 sends
    ("Host", f"127.0.0.1:{PORT}"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", KEY),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    ("User-Agent", "Python/3.11 websockets/17.4"),
]
BROWSER: Headers = [  # what Chromium sends
    ("Host", f"127.0.0.1:{PORT}"),
    ("Connection", "Upgrade"),
    ("Pragma", "no-cache"),
    ("Cache-Control", "no-cache"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.0.0"),
    ("Upgrade", "websocket"),
    ("Origin", "http://127.0.0.1:37219"),
    ("Sec-WebSocket-Version", "13"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Sec-WebSocket-Key", KEY),
    ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
]


def head(method: str, target: str, version: str, headers: Headers, eol: str = "\r\n") -> bytes:
    lines = [f"{method} {target} {version}", *(f"{n}: {v}" for n, v in headers)]
    return (eol.join(lines) + eol + eol).encode("latin-1")


def record(
    headers: Headers = LIBRARY,
    *,
    method: str = "GET",
    target: str = "/echo/t",
    http_version: str = "HTTP/1.1",
    **fields: Any,
) -> ConnectionRecord:
    fields.setdefault("scenario", "echo")
    fields.setdefault("url_host", "127.0.0.1")
    fields.setdefault("url_port", PORT)
    fields.setdefault("request_head", head(method, target, http_version, headers))
    listener = fields.pop("listener", "ws")
    return ConnectionRecord(
        listener,
        method=method,
        target=target,
        http_version=http_version,
        headers=list(headers),
        key=KEY,
        token="t",
        **fields,
    )


def without(headers: Headers, name: str) -> Headers:
    return [(n, v) for n, v in headers if n.lower() != name.lower()]


def setting(headers: Headers, name: str, *values: str) -> Headers:
    """``headers`` with every ``name`` line replaced by ``values`` (at the first's place)."""
    out: Headers = []
    for n, v in headers:
        if n.lower() == name.lower():
            out += [(n, value) for value in values]
            values = ()
        else:
            out.append((n, v))
    return out + [(name, value) for value in values]


def ids(rec: ConnectionRecord, profile: Profile) -> list[str]:
    return [v.requirement for v in request_violations(rec, profile)]


# -- each rule broken alone ------------------------------------------------------------

RFC_CASES: dict[str, tuple[ConnectionRecord, str]] = {
    "method POST": (record(method="POST"), rc.METHOD_GET),
    "method lower case": (record(method="get"), rc.METHOD_GET),
    "HTTP/1.0": (record(http_version="HTTP/1.0"), rc.HTTP_1_1),
    "version not HTTP/x.y": (record(http_version="HTTP/1"), rc.VALID_HTTP),
    "version with a leading zero": (record(http_version="HTTP/1.01"), rc.VALID_HTTP),
    "fragment in target": (record(target="/echo/t#frag"), rc.RESOURCE_NAME),
    "relative target": (record(target="echo/t"), rc.RESOURCE_NAME),
    "asterisk target": (record(target="*"), rc.RESOURCE_NAME),
    "other path": (record(target="/echo/t/"), rc.RESOURCE_NAME),
    "absolute URI, other port": (record(target="http://127.0.0.1:1/echo/t"), rc.RESOURCE_NAME),
    "no Host": (record(without(LIBRARY, "Host")), rc.HOST),
    "Host, other port": (record(setting(LIBRARY, "Host", "127.0.0.1:1")), rc.HOST),
    "Host, other host": (record(setting(LIBRARY, "Host", f"localhost:{PORT}")), rc.HOST),
    "Host without its non-default port": (record(setting(LIBRARY, "Host", "127.0.0.1")), rc.HOST),
    "Host empty": (record(setting(LIBRARY, "Host", "")), rc.HOST),
    "two Host lines": (
        record(setting(LIBRARY, "Host", f"127.0.0.1:{PORT}", f"127.0.0.1:{PORT}")),
        rc.VALID_HTTP,
    ),
    "no Upgrade": (record(without(LIBRARY, "Upgrade")), rc.UPGRADE_WEBSOCKET),
    "Upgrade h2c": (record(setting(LIBRARY, "Upgrade", "h2c")), rc.UPGRADE_WEBSOCKET),
    "no Connection": (record(without(LIBRARY, "Connection")), rc.CONNECTION_UPGRADE),
    "Connection keep-alive": (
        record(setting(LIBRARY, "Connection", "keep-alive")),
        rc.CONNECTION_UPGRADE,
    ),
    "no key": (record(without(LIBRARY, "Sec-WebSocket-Key")), rc.KEY_PRESENT),
    "key not base64": (record(setting(LIBRARY, "Sec-WebSocket-Key", "not a key!")), rc.KEY_NONCE),
    "key of 15 bytes": (
        record(setting(LIBRARY, "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA")),
        rc.KEY_NONCE,
    ),
    "key unpadded": (
        record(setting(LIBRARY, "Sec-WebSocket-Key", KEY.rstrip("="))),
        rc.KEY_NONCE,
    ),
    "key with non-zero pad bits": (
        record(setting(LIBRARY, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZR==")),
        rc.KEY_NONCE,
    ),
    "two keys": (
        record(setting(LIBRARY, "Sec-WebSocket-Key", KEY, "AAAAAAAAAAAAAAAAAAAAAA==")),
        rc.KEY_ONCE,
    ),
    "no version": (record(without(LIBRARY, "Sec-WebSocket-Version")), rc.VERSION_PRESENT),
    "version 8": (record(setting(LIBRARY, "Sec-WebSocket-Version", "8")), rc.VERSION_13),
    "version list": (record(setting(LIBRARY, "Sec-WebSocket-Version", "13, 8")), rc.VERSION_13),
    "two version lines": (
        record(setting(LIBRARY, "Sec-WebSocket-Version", "13", "13")),
        rc.VERSION_ONCE,
    ),
    "protocol not a token": (
        record([*LIBRARY, ("Sec-WebSocket-Protocol", "chat, ch@t")]),
        rc.PROTOCOL_TOKEN,
    ),
    "protocol empty": (record([*LIBRARY, ("Sec-WebSocket-Protocol", "")]), rc.PROTOCOL_TOKEN),
    "protocol repeated": (
        record([*LIBRARY, ("Sec-WebSocket-Protocol", "chat"), ("Sec-WebSocket-Protocol", "chat")]),
        rc.PROTOCOL_UNIQUE,
    ),
    "extension name not a token": (
        record(setting(LIBRARY, "Sec-WebSocket-Extensions", "x y")),
        rc.EXTENSION_TOKEN,
    ),
    "quoted parameter not a token": (
        record(setting(LIBRARY, "Sec-WebSocket-Extensions", 'x-foo; a="b c"')),
        rc.QUOTED_PARAM_TOKEN,
    ),
    "parameter without a value": (
        record(setting(LIBRARY, "Sec-WebSocket-Extensions", "x-foo; a=")),
        rc.PARAMS_PER_SPEC,
    ),
    "unknown permessage-deflate parameter": (
        record(setting(LIBRARY, "Sec-WebSocket-Extensions", "permessage-deflate; x=1")),
        rc.PARAMS_DEFINED,
    ),
    "window bits 16": (
        record(
            setting(
                LIBRARY, "Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=16"
            )
        ),
        rc.PARAMS_PER_SPEC,
    ),
    "server_max_window_bits without a value": (
        record(
            setting(
                LIBRARY, "Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits"
            )
        ),
        rc.PARAMS_PER_SPEC,
    ),
    "parameter repeated": (
        record(
            setting(
                LIBRARY,
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            )
        ),
        rc.PARAMS_PER_SPEC,
    ),
    "Origin upper case": (
        record([*LIBRARY, ("Origin", "http://Example.com")]),
        rc.ORIGIN_SERIALIZATION,
    ),
    "Origin with a default port": (
        record([*LIBRARY, ("Origin", "http://example.com:80")]),
        rc.ORIGIN_SERIALIZATION,
    ),
    "Origin with a path": (
        record([*LIBRARY, ("Origin", "http://example.com/")]),
        rc.ORIGIN_SERIALIZATION,
    ),
    "two Origin lines": (
        record([*LIBRARY, ("Origin", "null"), ("Origin", "null")]),
        rc.VALID_HTTP,
    ),
    "field name not a token": (record([*LIBRARY, ("X Bad", "1")]), rc.VALID_HTTP),
    "control character in a value": (record([*LIBRARY, ("X-Bad", "a\x01b")]), rc.VALID_HTTP),
    "bare LF line ends": (
        record(request_head=head("GET", "/echo/t", "HTTP/1.1", LIBRARY, eol="\n")),
        rc.VALID_HTTP,
    ),
    "line without a colon": (
        record(
            request_head=head("GET", "/echo/t", "HTTP/1.1", LIBRARY).replace(
                b"\r\n\r\n", b"\r\nnot a header\r\n\r\n"
            )
        ),
        rc.VALID_HTTP,
    ),
    "no request line": (
        ConnectionRecord("ws", request_head=b"\x16\x03\x01 hello\r\n\r\n"),
        rc.VALID_HTTP,
    ),
}


@pytest.mark.parametrize("case", RFC_CASES)
def test_rfc_rule_broken_alone(case: str) -> None:
    rec, requirement = RFC_CASES[case]
    assert ids(rec, "rfc6455-client") == [requirement]


WHATWG_CASES: dict[str, tuple[ConnectionRecord, set[str]]] = {
    "no Origin": (record(without(BROWSER, "Origin")), {rc.ORIGIN_BROWSER, rc.F_ORIGIN}),
    "Origin malformed": (
        record(setting(BROWSER, "Origin", "127.0.0.1:37219")),
        {rc.ORIGIN_SERIALIZATION, rc.F_ORIGIN},
    ),
    "no extensions": (record(without(BROWSER, "Sec-WebSocket-Extensions")), {rc.W_EXTENSIONS}),
    "another extension": (
        record(setting(BROWSER, "Sec-WebSocket-Extensions", "x-webkit-deflate-frame")),
        {rc.W_DEFLATE},
    ),
    "permessage-deflate and another": (
        record(setting(BROWSER, "Sec-WebSocket-Extensions", "permessage-deflate, x-foo")),
        {rc.W_DEFLATE},
    ),
    "bad permessage-deflate offer": (
        record(setting(BROWSER, "Sec-WebSocket-Extensions", "permessage-deflate; x=1")),
        {rc.PARAMS_DEFINED, rc.W_DEFLATE},
    ),
    "a protocol the constructor was not given": (
        record([*BROWSER, ("Sec-WebSocket-Protocol", "chat")]),
        {rc.W_PROTOCOLS},
    ),
    "the constructor's protocol missing": (
        record(BROWSER, scenario="protocol-not-acked", target="/protocol-not-acked/t"),
        {rc.W_PROTOCOLS},
    ),
    "Referer": (record([*BROWSER, ("Referer", "http://127.0.0.1:37219/")]), {rc.W_REQUEST}),
    "absolute https URI for a ws URL": (
        record(BROWSER, target=f"https://127.0.0.1:{PORT}/echo/t"),
        {rc.W_HTTP_SCHEME},
    ),
    "absolute ws URI": (
        record(BROWSER, target=f"ws://127.0.0.1:{PORT}/echo/t"),
        {rc.RESOURCE_NAME, rc.W_HTTP_SCHEME},
    ),
    "no Upgrade": (record(without(BROWSER, "Upgrade")), {rc.UPGRADE_WEBSOCKET, rc.W_UPGRADE}),
    "no Connection": (
        record(without(BROWSER, "Connection")),
        {rc.CONNECTION_UPGRADE, rc.W_CONNECTION},
    ),
    "no key": (record(without(BROWSER, "Sec-WebSocket-Key")), {rc.KEY_PRESENT, rc.W_KEY}),
    "bad key": (
        record(setting(BROWSER, "Sec-WebSocket-Key", "short")),
        {rc.KEY_NONCE, rc.W_KEY_NONCE},
    ),
    "no version": (
        record(without(BROWSER, "Sec-WebSocket-Version")),
        {rc.VERSION_PRESENT, rc.W_VERSION},
    ),
    "version 8": (
        record(setting(BROWSER, "Sec-WebSocket-Version", "8")),
        {rc.VERSION_13, rc.W_VERSION},
    ),
}


@pytest.mark.parametrize("case", WHATWG_CASES)
def test_whatwg_rule_broken_alone(case: str) -> None:
    rec, requirements = WHATWG_CASES[case]
    found = ids(rec, "whatwg")
    assert sorted(found) == sorted(requirements)


def test_whatwg_only_rules_do_not_bind_other_clients() -> None:
    """No Origin, no permessage-deflate, a Referer: all fine for a non-browser client."""
    rec = record([*without(BROWSER, "Origin"), ("Referer", "http://x/")])
    assert ids(rec, "rfc6455-client") == []
    assert ids(record(without(LIBRARY, "Sec-WebSocket-Extensions")), "rfc6455-client") == []


# -- valid requests ---------------------------------------------------------------------


def test_library_request_passes() -> None:
    assert ids(record(LIBRARY), "rfc6455-client") == []


def test_browser_request_passes_both_profiles() -> None:
    assert ids(record(BROWSER), "whatwg") == []
    assert ids(record(BROWSER), "rfc6455-client") == []


def test_browser_with_protocols_passes() -> None:
    rec = record(
        [*BROWSER, ("Sec-WebSocket-Protocol", "chat")],
        scenario="protocol-not-acked",
        target="/protocol-not-acked/t",
    )
    assert ids(rec, "whatwg") == []


UNDICI: Headers = [  # lower-case names and tokens, other headers
    ("host", f"127.0.0.1:{PORT}"),
    ("connection", "upgrade"),
    ("upgrade", "websocket"),
    ("sec-websocket-key", KEY),
    ("sec-websocket-version", "13"),
    ("sec-websocket-extensions", "permessage-deflate; client_max_window_bits"),
    ("origin", "null"),
    ("sec-fetch-mode", "websocket"),
]

TOLERATED: dict[str, ConnectionRecord] = {
    "lower-case names and tokens": record(UNDICI),
    "Upgrade in mixed case": record(setting(BROWSER, "Upgrade", "WebSocket")),
    "Connection token list": record(setting(BROWSER, "Connection", "keep-alive, Upgrade")),
    "Connection over two lines": record(setting(BROWSER, "Connection", "keep-alive", "upgrade")),
    "Upgrade with another protocol": record(setting(BROWSER, "Upgrade", "websocket, h2c")),
    "query in the target": record(BROWSER, target="/echo/t?x=1&y"),
    "absolute http URI": record(BROWSER, target=f"http://127.0.0.1:{PORT}/echo/t?x=1"),
    "absolute URI with upper-case scheme and host": record(
        setting(BROWSER, "Host", f"localhost:{PORT}"),
        url_host="localhost",
        target=f"HTTP://LocalHost:{PORT}/echo/t",
    ),
    "Host in another case": record(
        setting(BROWSER, "Host", f"LOCALHOST:{PORT}"), url_host="localhost"
    ),
    "Host of IPv6": record(setting(BROWSER, "Host", f"[::1]:{PORT}"), url_host="[::1]"),
    "Host without the default port": record(setting(BROWSER, "Host", "127.0.0.1"), url_port=80),
    "Host with the default port": record(setting(BROWSER, "Host", "127.0.0.1:80"), url_port=80),
    "wss Host without the default port": record(
        setting(BROWSER, "Host", "127.0.0.1"), url_port=443, listener="wss"
    ),
    "extensions over two lines": record(
        setting(BROWSER, "Sec-WebSocket-Extensions", "permessage-deflate", "permessage-deflate")
    ),
    "permessage-deflate parameters": record(
        setting(
            BROWSER,
            "Sec-WebSocket-Extensions",
            'permessage-deflate; client_max_window_bits=15; server_max_window_bits="10"; '
            "server_no_context_takeover; client_no_context_takeover",
        )
    ),
    "Firefox's bare permessage-deflate": record(
        setting(BROWSER, "Sec-WebSocket-Extensions", "permessage-deflate")
    ),
    "Origin null": record(setting(BROWSER, "Origin", "null")),
    "Origin https with a port": record(setting(BROWSER, "Origin", "https://a.example:8443")),
    "IPv6 Origin": record(setting(BROWSER, "Origin", "http://[::1]:3000")),
    "any other header": record([*BROWSER, ("Cookie", "a=b"), ("User-Agent", "\u00e9\t!")]),
    "obsolete line folding": record(
        [*BROWSER, ("X-Folded", "a b")],
        request_head=head("GET", "/echo/t", "HTTP/1.1", [*BROWSER, ("X-Folded", "a\r\n b")]),
    ),
    "HTTP/1.2": record(BROWSER, http_version="HTTP/1.2"),
    "no known scenario": record(BROWSER, scenario="", target="/somewhere"),
}


@pytest.mark.parametrize("case", TOLERATED)
def test_valid_forms_are_tolerated(case: str) -> None:
    assert ids(TOLERATED[case], "whatwg") == []
    assert ids(TOLERATED[case], "rfc6455-client") == []


def test_library_tolerances() -> None:
    """Several Sec-WebSocket-Protocol lines; websocket-client's Origin; no extensions."""
    protocols = [("Sec-WebSocket-Protocol", "chat"), ("Sec-WebSocket-Protocol", "superchat, v2")]
    origin = ("Origin", f"http://127.0.0.1:{PORT}")
    assert ids(record([*LIBRARY, *protocols, origin]), "rfc6455-client") == []
    assert ids(record(without(LIBRARY, "Sec-WebSocket-Extensions")), "rfc6455-client") == []


def test_records_without_a_request_are_skipped() -> None:
    tls = ConnectionRecord("wss", tls_error="SSLError: unknown ca", scenario="x", token="t")
    partial = ConnectionRecord("ws", request_head=b"GET /echo/t HTTP/1.1\r\nHost: a")
    silent = ConnectionRecord("ws")
    for rec in (tls, partial, silent):
        assert request_violations(rec, "whatwg") == []


def test_origin_serialization() -> None:
    assert is_serialized_origin("http://127.0.0.1:37219")
    assert not is_serialized_origin("file://")
    assert not is_serialized_origin("http://a.example http://b.example")
    assert not is_serialized_origin("https://a.example:443")


# -- keys across a run -------------------------------------------------------------------


def test_a_key_sent_twice_is_reused() -> None:
    first, second = record(LIBRARY), record(LIBRARY, scenario="ping")
    other = record(setting(LIBRARY, "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="))
    rfc = keys_reused([first, other, second], "rfc6455-client")
    assert [v.requirement for v in rfc] == [rc.KEY_PER_CONNECTION]
    assert "2 connections" in rfc[0].detail
    whatwg = keys_reused([first, other, second], "whatwg")
    assert [v.requirement for v in whatwg] == [rc.KEY_PER_CONNECTION, rc.W_KEY_NONCE]


def test_a_request_fetch_sends_again_breaks_only_the_rfc() -> None:
    """Fetch re-sends the same request (same key) after a 401 or 421: not a new nonce step."""
    first, again = record(BROWSER, status=401), record(BROWSER, status=401)
    assert [v.requirement for v in keys_reused([first, again], "whatwg")] == [rc.KEY_PER_CONNECTION]
    assert [v.requirement for v in keys_reused([first, again], "rfc6455-client")] == [
        rc.KEY_PER_CONNECTION
    ]
    other_scenario = record(BROWSER, scenario="ping", status=101)
    assert len(keys_reused([first, other_scenario], "whatwg")) == 2


def test_distinct_keys_are_not_reused() -> None:
    other = record(setting(LIBRARY, "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="))
    twice = record(setting(LIBRARY, "Sec-WebSocket-Key", KEY, KEY))  # one request: §11.3.1
    assert keys_reused([record(LIBRARY), other], "whatwg") == []
    assert keys_reused([twice, ConnectionRecord("ws")], "rfc6455-client") == []


# -- the id list ------------------------------------------------------------------------


def test_checked_rules_are_in_the_catalog() -> None:
    catalog = load_catalog()
    assert len(set(CHECKED_REQUEST_RULES)) == len(CHECKED_REQUEST_RULES)
    for requirement in CHECKED_REQUEST_RULES:
        assert catalog.get(requirement) is not None, requirement


def test_every_literal_id_is_listed() -> None:
    source = Path(rc.__file__).read_text()
    literal = set(re.findall(r'"((?:rfc6455|whatwg|fetch)-[a-z0-9.-]+)"', source))
    assert literal
    assert literal <= set(CHECKED_REQUEST_RULES)


def test_every_listed_id_is_exercised() -> None:
    seen = {requirement for _, requirement in RFC_CASES.values()}
    seen |= {r for _, requirements in WHATWG_CASES.values() for r in requirements}
    seen |= {rc.KEY_PER_CONNECTION, rc.W_KEY_NONCE}  # keys_reused
    assert seen == set(CHECKED_REQUEST_RULES)


# -- end to end --------------------------------------------------------------------------


@pytest.mark.network
def test_websockets_requests_break_no_rule(tmp_path: Path) -> None:
    """Real requests of the websockets library, as the scenario server records them."""
    websockets = pytest.importorskip("websockets.asyncio.client")

    async def main() -> list[ConnectionRecord]:
        async with ScenarioServer(tls_dir=tmp_path) as server:
            context = ssl.create_default_context(cafile=str(server.ca_file))
            urls: list[tuple[str, dict[str, Any]]] = [
                (f"ws://127.0.0.1:{server.port}/echo/e2e1?x=1", {}),
                (f"ws://127.0.0.1:{server.port}/echo/e2e2", {"origin": "http://a.example"}),
                (f"wss://127.0.0.1:{server.tls_port}/tls-trusted/e2e3", {"ssl": context}),
                (
                    f"ws://127.0.0.1:{server.port}/protocol-not-acked/e2e4",
                    {"subprotocols": ["chat", "superchat"]},
                ),
            ]
            for url, options in urls:
                async with asyncio.timeout(5):
                    async with websockets.connect(url, **options) as ws:
                        await ws.send("hello")
                        await ws.recv()
            for token in ("e2e1", "e2e2", "e2e3", "e2e4"):
                await server.wait_idle(token, 5)
            return [r for t in ("e2e1", "e2e2", "e2e3", "e2e4") for r in server.records(t)]

    records = asyncio.run(main())
    assert len(records) == 4
    assert all(r.url_host == "127.0.0.1" and r.url_port for r in records)
    for rec in records:
        assert request_violations(rec, "rfc6455-client") == [], rec.request_head
    assert keys_reused(records, "rfc6455-client") == []
