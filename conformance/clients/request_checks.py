"""The client's opening-handshake request against RFC 6455 §4.1 and WHATWG WebSockets/Fetch.

:func:`request_violations` judges the request of one connection, :func:`keys_reused` the
keys of a whole run. The RFC 6455 rules bind every client, so they apply under both
profiles; ``whatwg`` adds what the WHATWG WebSockets Standard (§2.2, establish a WebSocket
connection) and Fetch (append a request `Origin` header) require of a user agent. Where a
WHATWG step exists to produce what the RFC requires (``Append (`Upgrade`, `websocket`)``),
breaking it breaks both: under ``whatwg`` both ids are reported.

Everything the RFC allows is accepted: header names and the ``websocket``/``Upgrade``
tokens in any case (§4.1, §4.2.1), token lists over several lines (RFC 2616 §4.2), other
tokens in |Connection|, a |Host| with or without a default port, a query in the
Request-URI, an absolute http/https Request-URI, any other header field (§4.1: "MAY
include any other header fields"), no |Origin| from a non-browser client (§4.1: "MAY").
The server hands out URLs without a query but cannot know one typed by hand, so the query
of the Request-URI is not compared; its path is (it is what routed the connection).
Obsolete line folding is valid RFC 2616 (§2.2), which §4.1 cites, so it is not flagged.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from ..model.deflate.elements import ExtensionSyntaxError, parse_extension_list
from ..model.deflate.offers import OfferedParams, read_offer
from ..model.header_grammar import ascii_lower, decode_key, is_token, split_list
from ..model.server_handshake import (
    CONNECTION,
    KEY_LENGTH,
    ORIGIN,
    SEC_EXTENSIONS,
    SEC_KEY,
    SEC_PROTOCOL,
    SEC_VERSION,
    UPGRADE,
    WS_VERSION,
    ReceivedRequest,
    ServerBehaviour,
)
from ..model.violations import Violation
from .scenario_server.records import ConnectionRecord
from .scenarios import DeflateNeeds, Profile, scenario_by_name

# RFC 6455 §4.1 (client requirements), §4.3, §9, §9.1, §11.3.
VALID_HTTP: Final = "rfc6455-4.1-valid-http-request"
METHOD_GET: Final = "rfc6455-4.1-method-get"
HTTP_1_1: Final = "rfc6455-4.1-http-version-1-1"
RESOURCE_NAME: Final = "rfc6455-4.1-request-uri-resource-name"
HOST: Final = "rfc6455-4.1-host-header"
UPGRADE_WEBSOCKET: Final = "rfc6455-4.1-upgrade-websocket"
CONNECTION_UPGRADE: Final = "rfc6455-4.1-connection-upgrade"
KEY_PRESENT: Final = "rfc6455-4.1-key-header-present"
KEY_NONCE: Final = "rfc6455-4.1-key-16-byte-nonce"
KEY_PER_CONNECTION: Final = "rfc6455-4.1-key-random-per-connection"
KEY_ONCE: Final = "rfc6455-11.3.1-key-once-in-request"
ORIGIN_BROWSER: Final = "rfc6455-4.1-origin-browser"
ORIGIN_SERIALIZATION: Final = "rfc6455-4.1-origin-ascii-serialization"
VERSION_PRESENT: Final = "rfc6455-4.1-version-header-present"
VERSION_13: Final = "rfc6455-4.1-version-13"
VERSION_ONCE: Final = "rfc6455-11.3.5-version-once-in-request"
PROTOCOL_TOKEN: Final = "rfc6455-4.1-protocol-token-chars"
PROTOCOL_UNIQUE: Final = "rfc6455-4.1-protocol-elements-unique"
EXTENSION_TOKEN: Final = "rfc6455-9.1-registered-extension-token"
QUOTED_PARAM_TOKEN: Final = "rfc6455-4.3-quoted-param-token"
PARAMS_PER_SPEC: Final = "rfc6455-9-extension-params-per-spec"
PARAMS_DEFINED: Final = "rfc6455-9.1-params-defined-for-extension"

# WHATWG WebSockets §2.2 (opening handshake) and Fetch.
W_HTTP_SCHEME: Final = "whatwg-ws-request-url-http-scheme"
W_REQUEST: Final = "whatwg-ws-request-redirect-error"  # the new request: referrer "no-referrer"
W_UPGRADE: Final = "whatwg-ws-append-upgrade"
W_CONNECTION: Final = "whatwg-ws-append-connection"
W_KEY_NONCE: Final = "whatwg-ws-key-random-nonce"
W_KEY: Final = "whatwg-ws-append-key"
W_VERSION: Final = "whatwg-ws-append-version-13"
W_PROTOCOLS: Final = "whatwg-ws-combine-protocols"
W_DEFLATE: Final = "whatwg-ws-permessage-deflate-offer"
W_EXTENSIONS: Final = "whatwg-ws-append-extensions"
F_ORIGIN: Final = "fetch-origin-header-websocket"

CHECKED_REQUEST_RULES: Final[tuple[str, ...]] = (
    VALID_HTTP,
    METHOD_GET,
    HTTP_1_1,
    RESOURCE_NAME,
    HOST,
    UPGRADE_WEBSOCKET,
    CONNECTION_UPGRADE,
    KEY_PRESENT,
    KEY_NONCE,
    KEY_PER_CONNECTION,
    KEY_ONCE,
    ORIGIN_BROWSER,
    ORIGIN_SERIALIZATION,
    VERSION_PRESENT,
    VERSION_13,
    VERSION_ONCE,
    PROTOCOL_TOKEN,
    PROTOCOL_UNIQUE,
    EXTENSION_TOKEN,
    QUOTED_PARAM_TOKEN,
    PARAMS_PER_SPEC,
    PARAMS_DEFINED,
    W_HTTP_SCHEME,
    W_REQUEST,
    W_UPGRADE,
    W_CONNECTION,
    W_KEY_NONCE,
    W_KEY,
    W_VERSION,
    W_PROTOCOLS,
    W_DEFLATE,
    W_EXTENSIONS,
    F_ORIGIN,
)
"""Every requirement id :func:`request_violations` and :func:`keys_reused` can report."""

PERMESSAGE_DEFLATE: Final = "permessage-deflate"
FETCH_RETRY_STATUSES: Final = frozenset({401, 421})
"""Answers after which Fetch's HTTP-network-or-cache fetch may send the same request again."""
DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}

_BEHAVIOUR = ServerBehaviour()
_VERSION = re.compile(r"HTTP/(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", re.IGNORECASE)  # RFC 2616 §3.1
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # RFC 2616 §2.2 CTL, HT allowed in TEXT
_BARE_LF = re.compile(rb"(?<!\r)\n")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')  # RFC 2616 §2.2 quoted-string
_WINDOW_BITS = re.compile(r"[89]|1[0-5]")  # RFC 7692 §7.1.2.1
# RFC 6454 §6.2: scheme "://" host [":" port], lower case, no default port; or "null".
_SERIALIZED_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://"
    r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9._~%!$&'()*+,;=-]+)"
    r"(?::(?P<port>0|[1-9][0-9]*))?"
)
_DEFLATE_PARAMS: Final = {  # RFC 7692 §7.1: parameter -> its value ("" none, "bits" 8-15)
    "server_no_context_takeover": "",
    "client_no_context_takeover": "",
    "server_max_window_bits": "bits",
    "client_max_window_bits": "bits?",
}


def carries_request(record: ConnectionRecord) -> bool:
    """True if the client sent a request head: a request line, or a complete head of none."""
    head = record.request_head
    return bool(record.method) or b"\r\n\r\n" in head or b"\n\n" in head


def request_violations(record: ConnectionRecord, profile: Profile) -> list[Violation]:
    """Every requirement the opening-handshake request of ``record`` breaks (RFC 6455 §4.1)."""
    if not carries_request(record):
        return []
    if not record.method:
        detail = "the request head does not start with a request line (RFC 2616 §5.1)"
        return [Violation(VALID_HTTP, detail)]
    match = _VERSION.fullmatch(record.http_version)
    request = ReceivedRequest(
        record.method,
        record.target,
        f"{match.group(1)}.{match.group(2)}" if match else "",
        tuple(record.headers),
    )
    whatwg = profile == "whatwg"
    return [
        *_http_syntax(record, request),
        *_request_line(record, request, whatwg),
        *_host(record, request),
        *_upgrade_and_connection(request, whatwg),
        *_key(request, whatwg),
        *_version(request, whatwg),
        *_protocols(record, request, whatwg),
        *_extensions(request, whatwg),
        *_origin(request, whatwg),
        *_referrer(request, whatwg),
    ]


def keys_reused(records: Sequence[ConnectionRecord], profile: Profile) -> list[Violation]:
    """A |Sec-WebSocket-Key| sent on more than one connection of a run (RFC 6455 §4.1).

    Under ``whatwg`` the key belongs to one establishment (one WebSocket object): Fetch's
    HTTP-network-or-cache fetch may send the same request again after a 401 or a 421, so
    such a retry breaks only the RFC, not ``whatwg-ws-key-random-nonce``.
    """
    users: dict[str, list[ConnectionRecord]] = {}
    for record in records:
        if not record.method:
            continue
        keys = [v for n, v in record.headers if ascii_lower(n) == ascii_lower(SEC_KEY)]
        for key in dict.fromkeys(keys):
            users.setdefault(key, []).append(record)
    out: list[Violation] = []
    for key, seen in users.items():
        if len(seen) < 2:
            continue
        where = ", ".join(f"{r.scenario or '-'}/{r.token or '-'}" for r in seen[:4])
        more = f" and {len(seen) - 4} more" if len(seen) > 4 else ""
        detail = (
            f"Sec-WebSocket-Key {key!r} was sent on {len(seen)} connections ({where}{more}); "
            "the nonce must be selected randomly for each connection"
        )
        if _fetch_retry(seen):
            statuses = "/".join(str(r.status) for r in seen[:-1])
            retry = f"{detail} (re-sent after a {statuses}; RFC 6455 §4.1)"
            out.append(Violation(KEY_PER_CONNECTION, retry))
        else:
            out += _both(KEY_PER_CONNECTION, W_KEY_NONCE, whatwg=profile == "whatwg", detail=detail)
    return out


def _fetch_retry(seen: Sequence[ConnectionRecord]) -> bool:
    """One request sent again by Fetch: same URL, each earlier answer a 401 or a 421."""
    first = seen[0]
    return all((r.scenario, r.token) == (first.scenario, first.token) for r in seen) and all(
        r.status in FETCH_RETRY_STATUSES for r in seen[:-1]
    )


# -- helpers --------------------------------------------------------------------------


def _both(rfc: str, whatwg_id: str, *, whatwg: bool, detail: str) -> list[Violation]:
    """The RFC rule, and under ``whatwg`` the WHATWG step that exists to fulfil it."""
    out = [Violation(rfc, f"{detail} (RFC 6455 §4.1)")]
    if whatwg:
        out.append(Violation(whatwg_id, f"{detail} (WHATWG WebSockets §2.2)"))
    return out


def _secure(record: ConnectionRecord) -> bool:
    return record.listener != "ws"


def _url_port(record: ConnectionRecord, port: int | None, scheme: str) -> bool:
    """True if ``port`` (None: the scheme's default) is the listener's port."""
    return (DEFAULT_PORTS[scheme] if port is None else port) == record.url_port


def _url_host(record: ConnectionRecord) -> str:
    return ascii_lower(record.url_host.removeprefix("[").removesuffix("]"))


def _split_authority(value: str) -> tuple[str, int | None] | None:
    """host and port of ``uri-host [":" port]`` (RFC 3986 §3.2); None if malformed."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1 :]
    else:
        host, colon, port = value.partition(":")
        rest = colon + port
        if ":" in port:
            return None
    if not host or (rest and not re.fullmatch(r":[0-9]*", rest)):
        return None
    return ascii_lower(host), int(rest[1:]) if rest[1:] else None


# -- the checks -----------------------------------------------------------------------


def _http_syntax(record: ConnectionRecord, request: ReceivedRequest) -> list[Violation]:
    """RFC 2616: CRLF line ends, ``field-name ":" field-value``, a token name, no CTL."""
    out: list[Violation] = []
    head = record.request_head
    if _BARE_LF.search(head):
        out.append(
            Violation(VALID_HTTP, "a line of the request head ends in a bare LF (RFC 2616 §2.2)")
        )
    lines = [line.rstrip(b"\r") for line in head.split(b"\n")[1:]]
    no_colon = [
        line for line in lines if line.strip() and line[:1] not in b" \t" and b":" not in line
    ]
    if no_colon:
        out.append(
            Violation(
                VALID_HTTP, f"header line without a colon: {no_colon[0][:80]!r} (RFC 2616 §4.2)"
            )
        )
    if _VERSION.fullmatch(record.http_version) is None:
        detail = f"request line version {record.http_version!r} is not HTTP/x.y (RFC 2616 §3.1)"
        out.append(Violation(VALID_HTTP, detail))
    names = [name for name, _ in request.headers if not is_token(name)]
    if names:
        out.append(Violation(VALID_HTTP, f"field name {names[0]!r} is not a token (RFC 2616 §4.2)"))
    values = [f"{name}: {value!r}" for name, value in request.headers if _CTL.search(value)]
    if values:
        detail = f"field value with a control character: {values[0][:80]} (RFC 2616 §4.2)"
        out.append(Violation(VALID_HTTP, detail))
    for name in ("Host", ORIGIN):  # not lists: at most one line each (RFC 2616 §4.2)
        count = len(request.values(name))
        if count > 1:
            out.append(Violation(VALID_HTTP, f"{count} {name} header fields (RFC 2616 §4.2)"))
    return out


def _request_line(
    record: ConnectionRecord, request: ReceivedRequest, whatwg: bool
) -> list[Violation]:
    """§4.1 item 2: GET, HTTP/1.1 or higher; the Request-URI names the resource (§3)."""
    out: list[Violation] = []
    if _BEHAVIOUR.check_method(request) is not None:
        out.append(Violation(METHOD_GET, f"method {request.method!r} is not GET (RFC 6455 §4.1)"))
    if request.http_version:
        major, _, minor = request.http_version.partition(".")
        if (int(major), int(minor)) < (1, 1):
            detail = f"HTTP version {record.http_version} is below 1.1 (RFC 6455 §4.1)"
            out.append(Violation(HTTP_1_1, detail))
    out += _target(record, whatwg)
    return out


def _target(record: ConnectionRecord, whatwg: bool) -> list[Violation]:
    """§4.1 item 3: /resource name/ (§3), or an absolute http/https URI naming the same."""
    target = record.target
    problems: list[str] = []
    scheme_problem = ""
    expected = f"/{record.scenario}/{record.token}" if record.scenario and record.token else ""
    if "#" in target:
        problems.append("carries a fragment (RFC 6455 §3)")
    if target.startswith("/"):
        path = target.split("?", 1)[0].split("#", 1)[0]
    else:
        parts = urlsplit(target)
        scheme = ascii_lower(parts.scheme)
        if scheme not in ("http", "https") or not parts.netloc:
            problems.append("is neither a resource name nor an absolute http/https URI")
            if scheme in ("ws", "wss"):
                scheme_problem = f"absolute Request-URI with the scheme {parts.scheme!r}"
            path = ""
        else:
            path = parts.path or "/"
            authority = _split_authority(parts.netloc.rpartition("@")[2])
            if authority is None:
                problems.append("has a malformed authority")
            elif record.url_host and (
                authority[0] != _url_host(record) or not _url_port(record, authority[1], scheme)
            ):
                problems.append(
                    f"names another host or port than {record.url_host}:{record.url_port}"
                )
            wanted = "https" if _secure(record) else "http"
            if scheme != wanted:
                scheme_problem = f"absolute Request-URI is {scheme}:, not {wanted}: for this URL"
    if expected and path and path != expected:
        problems.append(f"has the path {path!r}, not the resource name's {expected!r}")
    out = [
        Violation(RESOURCE_NAME, f"Request-URI {target!r} {problem} (RFC 6455 §4.1)")
        for problem in problems
    ]
    if whatwg and scheme_problem:
        out.append(Violation(W_HTTP_SCHEME, f"{scheme_problem} (WHATWG WebSockets §2.2)"))
    return out


def _host(record: ConnectionRecord, request: ReceivedRequest) -> list[Violation]:
    """§4.1 item 4: |Host| is /host/, plus ":" /port/ unless the port is the default."""
    hosts = request.values("Host")
    if not hosts:
        return [Violation(HOST, "no Host header field (RFC 6455 §4.1)")]
    scheme = "wss" if _secure(record) else "ws"
    out: list[Violation] = []
    for value in hosts:
        authority = _split_authority(value)
        if authority is None:
            out.append(Violation(HOST, f"Host {value!r} is not host[:port] (RFC 6455 §4.1)"))
        elif record.url_host and (
            authority[0] != _url_host(record) or not _url_port(record, authority[1], scheme)
        ):
            detail = (
                f"Host {value!r} does not name {record.url_host}:{record.url_port} (RFC 6455 §4.1)"
            )
            out.append(Violation(HOST, detail))
    return out


def _upgrade_and_connection(request: ReceivedRequest, whatwg: bool) -> list[Violation]:
    """§4.1 items 5, 6: |Upgrade| includes websocket, |Connection| the token Upgrade."""
    out: list[Violation] = []
    if _BEHAVIOUR.check_upgrade(request) is not None:
        upgrade = request.values(UPGRADE)
        detail = f"Upgrade {upgrade!r} does not include websocket" if upgrade else "no Upgrade"
        out += _both(UPGRADE_WEBSOCKET, W_UPGRADE, whatwg=whatwg, detail=detail)
    if _BEHAVIOUR.check_connection(request) is not None:
        connection = request.values(CONNECTION)
        detail = (
            f"Connection {connection!r} does not include Upgrade" if connection else "no Connection"
        )
        out += _both(CONNECTION_UPGRADE, W_CONNECTION, whatwg=whatwg, detail=detail)
    return out


def _is_nonce(key: str) -> bool:
    """base64 (RFC 4648 §4, canonical: padded, zero pad bits) of exactly 16 bytes."""
    raw = decode_key(key)
    return raw is not None and len(raw) == KEY_LENGTH and base64.b64encode(raw).decode() == key


def _key(request: ReceivedRequest, whatwg: bool) -> list[Violation]:
    """§4.1 item 7, §11.3.1: one |Sec-WebSocket-Key|, a base64-encoded 16-byte nonce."""
    keys = request.values(SEC_KEY)
    if not keys:
        return _both(KEY_PRESENT, W_KEY, whatwg=whatwg, detail="no Sec-WebSocket-Key")
    out: list[Violation] = []
    if len(keys) > 1:
        detail = f"{len(keys)} Sec-WebSocket-Key header fields (RFC 6455 §11.3.1)"
        out.append(Violation(KEY_ONCE, detail))
    for key in keys:
        if not _is_nonce(key):
            detail = f"Sec-WebSocket-Key {key!r} is not a base64-encoded 16-byte value"
            out += _both(KEY_NONCE, W_KEY_NONCE, whatwg=whatwg, detail=detail)
    return out


def _version(request: ReceivedRequest, whatwg: bool) -> list[Violation]:
    """§4.1 item 9, §11.3.5: one |Sec-WebSocket-Version|, of value 13."""
    versions = request.values(SEC_VERSION)
    if not versions:
        return _both(VERSION_PRESENT, W_VERSION, whatwg=whatwg, detail="no Sec-WebSocket-Version")
    out: list[Violation] = []
    if len(versions) > 1:
        detail = f"{len(versions)} Sec-WebSocket-Version header fields (RFC 6455 §11.3.5)"
        out.append(Violation(VERSION_ONCE, detail))
    if any(version != WS_VERSION for version in versions):
        detail = f"Sec-WebSocket-Version {versions!r} is not 13"
        out += _both(VERSION_13, W_VERSION, whatwg=whatwg, detail=detail)
    return out


def _protocols(record: ConnectionRecord, request: ReceivedRequest, whatwg: bool) -> list[Violation]:
    """§4.1 item 10: unique tokens; WHATWG: exactly the constructor's protocols, in order."""
    values = request.values(SEC_PROTOCOL)
    offered = split_list(values)
    out: list[Violation] = []
    if _BEHAVIOUR.check_subprotocols(request) is not None:
        bad = [p for p in offered if not is_token(p)] or values
        detail = f"Sec-WebSocket-Protocol elements {bad!r} are not tokens (RFC 6455 §4.1)"
        out.append(Violation(PROTOCOL_TOKEN, detail))
    repeated = sorted({p for p in offered if offered.count(p) > 1})
    if repeated:
        detail = f"Sec-WebSocket-Protocol repeats {repeated!r} (RFC 6455 §4.1)"
        out.append(Violation(PROTOCOL_UNIQUE, detail))
    scenario = scenario_by_name(record.scenario) if whatwg else None
    if scenario is not None:
        wanted = list(scenario.script.protocols)
        if len(set(wanted)) == len(wanted) and offered != wanted:  # else the ctor throws
            detail = (
                f"Sec-WebSocket-Protocol offers {offered!r}, the constructor was given "
                f"{wanted!r} (WHATWG WebSockets §2.2)"
            )
            out.append(Violation(W_PROTOCOLS, detail))
    return out


def _unquote(value: str) -> str | None:
    """A token or quoted-string's content (RFC 2616 §2.2); None if it is neither."""
    match = _QUOTED.fullmatch(value)
    if match is not None:
        return re.sub(r"\\(.)", r"\1", match.group(1))
    return value if is_token(value) else None


def _extension(element: str) -> list[Violation]:
    """One ``extension`` of the §9.1 ABNF; permessage-deflate's parameters per RFC 7692 §7.1."""
    name, *params = (part.strip() for part in element.split(";"))
    out: list[Violation] = []
    if not is_token(name):
        detail = f"extension name {name!r} is not a token, so not a registered one (RFC 6455 §9.1)"
        out.append(Violation(EXTENSION_TOKEN, detail))
    deflate = ascii_lower(name) == PERMESSAGE_DEFLATE
    seen: set[str] = set()
    for param in params:
        key, eq, raw = (part.strip() for part in param.partition("="))
        value = _unquote(raw) if eq else ""
        if not is_token(key) or value is None:
            detail = f"{param!r} in {element!r} is not an extension-param (RFC 6455 §9.1)"
            out.append(Violation(PARAMS_PER_SPEC, detail))
            continue
        if eq and raw.startswith('"') and not is_token(value):
            detail = f"quoted value {raw} in {element!r} is not a token (RFC 6455 §4.3)"
            out.append(Violation(QUOTED_PARAM_TOKEN, detail))
            continue
        if not deflate:
            continue
        kind = _DEFLATE_PARAMS.get(ascii_lower(key))
        if kind is None:
            detail = f"{key!r} is not a permessage-deflate parameter (RFC 7692 §7.1)"
            out.append(Violation(PARAMS_DEFINED, detail))
        elif ascii_lower(key) in seen:
            detail = f"{key!r} repeated in {element!r} (RFC 7692 §7)"
            out.append(Violation(PARAMS_PER_SPEC, detail))
        elif (
            (kind == "" and eq)
            or (kind == "bits" and not eq)
            or (eq and kind.startswith("bits") and not _WINDOW_BITS.fullmatch(value))
        ):
            detail = f"{param!r} has an invalid value for permessage-deflate (RFC 7692 §7.1)"
            out.append(Violation(PARAMS_PER_SPEC, detail))
        seen.add(ascii_lower(key))
    return out


def _extensions(request: ReceivedRequest, whatwg: bool) -> list[Violation]:
    """§9.1 ABNF, RFC 7692 §7.1; WHATWG: a permessage-deflate offer and nothing else."""
    values = request.values(SEC_EXTENSIONS)
    elements = split_list(values) or ([""] if values else [])
    out: list[Violation] = []
    for element in elements:
        out += _extension(element)
    if not whatwg:
        return out
    if not values:
        detail = "no Sec-WebSocket-Extensions (WHATWG WebSockets §2.2)"
        return [*out, Violation(W_EXTENSIONS, detail)]
    names = [ascii_lower(element.split(";", 1)[0].strip()) for element in elements]
    others = [n for n in names if n != PERMESSAGE_DEFLATE]
    if others or not names or out:
        detail = (
            f"Sec-WebSocket-Extensions {values!r} is not a permessage-deflate offer "
            "(WHATWG WebSockets §2.2)"
        )
        out.append(Violation(W_DEFLATE, detail))
    return out


def is_serialized_origin(value: str) -> bool:
    """True if ``value`` is an origin's ASCII serialization (RFC 6454 §6.2), or "null"."""
    if value == "null":
        return True
    match = _SERIALIZED_ORIGIN.fullmatch(value)
    if match is None:
        return False
    port = match.group("port")
    return port is None or DEFAULT_PORTS.get(match.group("scheme")) != int(port)


def _origin(request: ReceivedRequest, whatwg: bool) -> list[Violation]:
    """§4.1 item 8: |Origin| from browsers, an ASCII serialization; Fetch: always appended."""
    origins = request.values(ORIGIN)
    out: list[Violation] = []
    if not origins and whatwg:
        out.append(Violation(ORIGIN_BROWSER, "no Origin from a browser client (RFC 6455 §4.1)"))
        detail = "no Origin, though the request's mode is websocket (Fetch)"
        out.append(Violation(F_ORIGIN, detail))
    for value in origins:
        if not is_serialized_origin(value):
            detail = f"Origin {value!r} is not the ASCII serialization of an origin"
            out.append(Violation(ORIGIN_SERIALIZATION, f"{detail} (RFC 6455 §4.1, RFC 6454 §6.2)"))
            if whatwg:
                out.append(Violation(F_ORIGIN, f"{detail} (Fetch: byte-serialized origin)"))
    return out


def _referrer(request: ReceivedRequest, whatwg: bool) -> list[Violation]:
    """WHATWG §2.2: the request's referrer is "no-referrer", so Fetch sends no |Referer|."""
    referer = request.values("Referer")
    if not whatwg or not referer:
        return []
    detail = f'Referer {referer[0]!r}, though the request\'s referrer is "no-referrer"'
    return [Violation(W_REQUEST, f"{detail} (WHATWG WebSockets §2.2)")]


# -- the permessage-deflate offer (RFC 7692 §5, §7, §7.1) ------------------------------

OFFER_VALUE_RULES: Final = {
    "server_no_context_takeover": "rfc7692-7.1.1.1-snct-offer-no-value",
    "client_no_context_takeover": "rfc7692-7.1.1.2-cnct-offer-no-value",
    "server_max_window_bits": "rfc7692-7.1.2.1-smwb-offer-abnf",
    "client_max_window_bits": "rfc7692-7.1.2.2-cmwb-offer-abnf",
}
"""The rule an invalid offered value breaks, by parameter (RFC 7692 §7.1)."""


def deflate_offers(headers: Sequence[tuple[str, str]]) -> list[OfferedParams | Violation]:
    """Each permessage-deflate element of the request, read (RFC 7692 §7), in order.

    An element a server must decline is the :class:`Violation` naming why (§7); a
    ``Sec-WebSocket-Extensions`` off the §9.1 grammar is one Violation.
    """
    values = [v for n, v in headers if ascii_lower(n) == ascii_lower(SEC_EXTENSIONS)]
    if not values:
        return []
    try:
        elements = parse_extension_list(values)
    except ExtensionSyntaxError as exc:
        return [Violation(PARAMS_PER_SPEC, f"Sec-WebSocket-Extensions: {exc}")]
    return [read_offer(e) for e in elements if ascii_lower(e.name) == PERMESSAGE_DEFLATE]


def deflate_offer_violations(headers: Sequence[tuple[str, str]]) -> list[Violation]:
    """The offer's faults (RFC 7692 §7, §7.1; RFC 6455 §9, §9.1), by the client rule broken.

    Several permessage-deflate elements are allowed (RFC 7692 §5: "MAY include multiple
    PMCEs with the same extension name"); a parameter twice in one element is not (§7).
    """
    out = []
    for reading in deflate_offers(headers):
        if not isinstance(reading, Violation):
            continue
        rule = reading.requirement
        if rule == "rfc7692-7-decline-unknown-param":
            rule = PARAMS_DEFINED
        elif rule == "rfc7692-7-decline-duplicate-param":
            rule = PARAMS_PER_SPEC
        elif rule == "rfc7692-7-decline-invalid-value":
            name = next((n for n in OFFER_VALUE_RULES if reading.detail.startswith(n)), "")
            rule = OFFER_VALUE_RULES.get(name, PARAMS_PER_SPEC)
        out.append(Violation(rule, f"permessage-deflate offer: {reading.detail}"))
    return out


def deflate_unmet(needs: DeflateNeeds, headers: Sequence[tuple[str, str]]) -> str | None:
    """Why the request does not allow a deflate scenario (None: it does)."""
    offers = deflate_offers(headers)
    if not offers:
        return "the client offered no permessage-deflate (RFC 7692 §5)"
    if needs == "any-offer":
        return None
    first = offers[0]
    if isinstance(first, Violation):
        return f"the client's first permessage-deflate offer is invalid: {first.detail}"
    if first.server_no_context_takeover or first.server_max_window_bits is not None:
        return "the client's offer limits the server (server_* parameters): not played"
    if needs == "cmwb-offer" and not first.client_max_window_bits_offered:
        return "the client did not offer client_max_window_bits (RFC 7692 §7.1.2.2)"
    if needs == "no-cmwb-offer" and first.client_max_window_bits_offered:
        return "the client offered client_max_window_bits, so a response may carry it"
    return None
