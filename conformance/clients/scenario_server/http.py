"""The scenario server's HTTP: request heads parsed as received, routes, response heads.

A request head is parsed leniently (fields as received, lines that are not HTTP listed) and
checked against a client's opening handshake (RFC 6455 §4.1) with the reference server's
checks; ``/{scenario}/{token}`` routes to the scenario's answer.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from ...model.server_handshake import ReceivedRequest, ServerBehaviour
from ..scenarios import REDIRECT_TARGET, Answer, Upgrade, scenario_by_name

MAX_REQUEST_HEAD: Final = 16 * 1024
TOKEN = re.compile(r"[A-Za-z0-9-]+")
"""What a token in a request path (``/{scenario}/{token}``) is made of."""
_BEHAVIOUR = ServerBehaviour()
_REQUEST_CHECKS = (
    _BEHAVIOUR.check_method,
    _BEHAVIOUR.check_host,
    _BEHAVIOUR.check_target,
    _BEHAVIOUR.check_body,
    _BEHAVIOUR.check_upgrade,
    _BEHAVIOUR.check_connection,
    _BEHAVIOUR.check_key,
    _BEHAVIOUR.check_version,
    _BEHAVIOUR.check_subprotocols,
    _BEHAVIOUR.check_extensions,
)
_HTTP_VERSION = re.compile(r"HTTP/(\d+\.\d+)")


def http_head(status: int, reason: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def http_answer(status: int, reason: str, headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    """A complete response that ends the connection (RFC 9112 §9.6, ``Connection: close``)."""
    fields = [*headers, ("Content-Length", str(len(body))), ("Connection", "close")]
    return http_head(status, reason, fields) + body


def wrong_accept(key: str) -> str:
    """A valid-looking but wrong |Sec-WebSocket-Accept|: the SHA-1 of the key without the GUID."""
    return base64.b64encode(hashlib.sha1(key.strip().encode("latin-1")).digest()).decode()


def head_end(buf: bytes | bytearray) -> int | None:
    """Where the request head ends (after its empty line), or None if not yet."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := buf.find(sep)) >= 0]
    return min(ends) if ends else None


@dataclass(slots=True)
class RequestHead:
    """A request head as received; ``malformed`` lists lines that are not HTTP."""

    method: str
    target: str
    http_version: str
    headers: list[tuple[str, str]]
    malformed: list[str]


def parse_head(head: bytes) -> RequestHead | None:
    """A lenient parse of a request head, fields as received; None if no request line."""
    lines = [line.removesuffix(b"\r") for line in head.split(b"\n")]
    parts = lines[0].split(b" ") if lines else []
    if len(parts) != 3:
        return None
    method, target, version = (part.decode("latin-1") for part in parts)
    parsed = RequestHead(method, target, version, [], [])
    for line in lines[1:]:
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and parsed.headers:  # obs-fold
            folded, before = parsed.headers[-1]
            parsed.headers[-1] = (folded, f"{before} {line.strip().decode('latin-1')}")
            parsed.malformed.append("obsolete line folding (RFC 9112 §5.2)")
        elif b":" in line:
            raw_name, _, raw_value = line.partition(b":")
            value = raw_value.strip(b" \t").decode("latin-1")
            parsed.headers.append((raw_name.decode("latin-1"), value))
        else:
            parsed.malformed.append(f"header line without a colon: {line[:80]!r}")
    return parsed


def upgrade_request_problems(head: RequestHead) -> list[str]:
    """What keeps a request from being a client's opening handshake (RFC 6455 §4.1)."""
    problems = list(head.malformed)
    match = _HTTP_VERSION.fullmatch(head.http_version)
    request = ReceivedRequest(
        head.method, head.target, match.group(1) if match else "", tuple(head.headers)
    )
    checks = list(_REQUEST_CHECKS)
    if match is None:
        problems.append(f"request line version {head.http_version!r} is not HTTP/1.1 (§4.1)")
    else:
        checks.insert(1, _BEHAVIOUR.check_http_version)
    for check in checks:
        refusal = check(request)
        if refusal is not None:
            problems.append(refusal.detail)
    return problems


def route(target: str) -> tuple[str, str, str, Answer | None]:
    """Path, scenario name, token and answer for a request target (query ignored)."""
    path = target.split("#", 1)[0].split("?", 1)[0]
    if not path.startswith("/"):  # absolute-form: http://host:port/path
        path = urlsplit(path).path
    segments = path.split("/")
    if len(segments) != 3 or segments[0] or not TOKEN.fullmatch(segments[2]):
        return path, "", "", None
    name, token = segments[1], segments[2]
    if name == REDIRECT_TARGET:
        return path, name, token, Upgrade()
    scenario = scenario_by_name(name)
    return path, name, token, scenario.answer if scenario is not None else None
