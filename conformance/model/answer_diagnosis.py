"""Reading the answer to a valid opening handshake, in one line (RFC 6455 §4.1, §4.2.2).

Pure functions over what came back (bytes, the parsed head, how the connection ended):
the preflight says with them why a target is not a working WebSocket server, and a case
whose own valid handshake fails says the same thing, so an answer that arrived is never
reported as "no answer".
"""

from __future__ import annotations

from . import handshake as hs
from .observed import HttpResponse, TransportEnd

__all__ = ["FIRST_BYTES", "WSS_PORT_HINT", "could_be_http", "diagnose", "looks_like_tls"]

FIRST_BYTES = 32
"""Bytes of an unexpected answer shown in a diagnosis."""

TLS_RECORD_TYPES = frozenset({0x14, 0x15, 0x16, 0x17})
"""First byte of a TLS record (RFC 8446 §5.1: change_cipher_spec, alert, handshake,
application_data); the second is the major version, 0x03."""

HTTP_PREFIX = b"HTTP/"
"""How every HTTP/1.x status line starts (RFC 9112 §4)."""

NOT_101 = (
    'FAIL rfc6455-4.2.2-status-101, a server accepting the connection MUST answer "A '
    'Status-Line with a 101 response code" (RFC 6455 §4.2.2); no case can run'
)
NOT_WEBSOCKET = "not a WebSocket server (RFC 6455 §4.1: a 101 is required)"
REFUSED = "every case needs a 101 (RFC 6455 §4.2.2); is the URL's path right?"
WSS_PORT_HINT = "sent TLS (is this a wss:// port?)"


def looks_like_tls(data: bytes) -> bool:
    """True if ``data`` starts like a TLS record (a ``ws://`` URL for a ``wss://`` port)."""
    return len(data) >= 2 and data[0] in TLS_RECORD_TYPES and data[1] == 0x03


def could_be_http(data: bytes) -> bool:
    """False once ``data`` cannot be the start of an HTTP response (no "HTTP/" status line)."""
    head = data.lstrip(b"\r\n")[: len(HTTP_PREFIX)]
    return HTTP_PREFIX.startswith(head)


def _first(data: bytes) -> str:
    more = "..." if len(data) > FIRST_BYTES else ""
    return f"{data[:FIRST_BYTES]!r}{more}"


def _refusal(where: str, response: HttpResponse, offered: str) -> str:
    """A 2xx/3xx answer is a plain web server, or with ``Upgrade: websocket`` a WebSocket
    server breaking §4.2.2; an error status refuses this URL, or what ``offered`` names."""
    server = response.joined(b"server")
    about = f"{response.describe()}" + (f" (Server: {server})" if server else "")
    upgrade = b",".join(response.values(b"upgrade")).lower()
    if response.status < 400 and b"websocket" in upgrade:
        return f"{where} answered the opening handshake with {about} and Upgrade: {NOT_101}"
    if response.status < 400:
        return f"{where} answered the opening handshake with {about}: {NOT_WEBSOCKET}"
    if offered:
        return f"{where} refused an opening handshake offering {offered} with {about}"
    return f"{where} refused a valid opening handshake with {about}: {REFUSED}"


def diagnose(
    where: str,
    reader: hs.ResponseReader,
    received: bytes,
    *,
    secure: bool,
    end: TransportEnd,
    timeout: float | None,
    offered: str = "",
) -> str:
    """The one-line problem with the answer to a valid handshake, or "" for a 101.

    ``received`` is what the server sent (a prefix is enough), ``end`` how the
    connection ended, ``timeout`` the seconds waited if the wait ran out (else None);
    ``offered`` names what the request offered beyond a plain handshake (a refusal may
    be the answer to it), empty for a plain one.
    """
    if not secure and looks_like_tls(received):
        return f"{where} {WSS_PORT_HINT}"
    response = reader.response
    if response is not None:
        return "" if response.status == 101 else _refusal(where, response, offered)
    if not could_be_http(received) or (reader.error is not None and received):
        why = f" ({reader.error})" if reader.error else ""
        return (
            f"{where} answered the opening handshake with something that is not HTTP{why}: "
            f"{_first(received)}"
        )
    if timeout is not None:
        if not received:
            spoken = "TLS" if secure else "TCP"
            return (
                f"no answer from {where} to the opening handshake within {timeout:g} s: "
                f"the server accepts {spoken} but does not speak"
            )
        return (
            f"the answer of {where} to the opening handshake stopped after {len(received)} bytes "
            f"within {timeout:g} s: {_first(received)}"
        )
    how = "reset" if end is TransportEnd.RESET else "closed"
    if received:
        return f"{where} {how} the connection in the middle of its answer: {_first(received)}"
    return f"{where} {how} the connection without answering the opening handshake"
