"""The header grammar of the opening handshake: tokens, ``#rule`` lists, base64 keys.

RFC 6455 §4.1 and §4.2.1 read header fields with RFC 2616's rules: ``token`` (§2.2),
``#rule`` lists spread over several lines (§2.1, §4.2), ASCII case-insensitive names
(§2.1); ``extension-list`` is §9.1's, the key a base64 value (§4.3, RFC 4648 §4).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 2616 §2.2 token
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')  # RFC 2616 §2.2 quoted-string
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only: the RFC's "ASCII case-insensitive" (§2.1)."""
    return text.translate(_ASCII_LOWER)


def decode_key(value: str) -> bytes | None:
    """Strictly base64-decode a ``Sec-WebSocket-Key`` (RFC 4648 §4), or None."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def split_list(values: Iterable[str]) -> list[str]:
    """Elements of a ``#rule`` list spread over header lines; empty ones dropped (RFC 2616 §2.1)."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def is_token(text: str) -> bool:
    """True if ``text`` is an RFC 2616 ``token``."""
    return _TOKEN.fullmatch(text) is not None


def is_extension_list(value: str) -> bool:
    """True if ``value`` matches ``extension-list`` (§4.3, §9.1)."""
    elements = split_list([value])
    return bool(elements) and all(_is_extension(element) for element in elements)


def _is_extension(element: str) -> bool:
    name, *params = (part.strip() for part in element.split(";"))
    if not is_token(name):
        return False
    for param in params:
        key, eq, val = (part.strip() for part in param.partition("="))
        if not is_token(key):
            return False
        if eq and not (is_token(val) or _is_quoted_token(val)):
            return False
    return True


def _is_quoted_token(text: str) -> bool:
    match = _QUOTED.fullmatch(text)
    return match is not None and is_token(re.sub(r"\\(.)", r"\1", match.group(1)))
