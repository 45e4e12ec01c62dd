"""``Sec-WebSocket-Extensions`` read on RFC 6455 §9.1's grammar, quoted-strings included.

``extension-list = 1#extension``; ``extension = extension-token *( ";" extension-param )``;
``extension-param = token [ "=" (token | quoted-string) ]``, a quoted value being a
``token`` once unescaped (RFC 6455 §9.1). Several header lines form one list (§9.1, RFC 2616
§4.2). Commas and semicolons inside a quoted-string are data, not separators.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from conformance.model.header_grammar import is_token

_SPACE: Final = re.compile(r"[ \t]*")
_TOKEN_AT: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED_AT: Final = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE: Final = re.compile(r"\\(.)")


class ExtensionSyntaxError(ValueError):
    """The header is not an ``extension-list`` (RFC 6455 §9.1); the message says where."""


@dataclass(frozen=True, slots=True)
class ExtensionParam:
    """One ``extension-param``: its name, its (unescaped) value or None, and how it was sent."""

    name: str
    value: str | None = None
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class ExtensionElement:
    """One ``extension`` of the list: its token and its parameters in order (RFC 6455 §9.1)."""

    name: str
    params: tuple[ExtensionParam, ...] = ()

    def param_names(self) -> tuple[str, ...]:
        """The parameter names in order, duplicates kept."""
        return tuple(param.name for param in self.params)


def parse_extension_list(values: Sequence[bytes | str]) -> tuple[ExtensionElement, ...]:
    """The elements of every header line, in order; :class:`ExtensionSyntaxError` if malformed.

    Empty list elements (``a, , b``) are allowed by the ``#rule`` (RFC 2616 §2.1); an
    entirely empty list is not (``1#extension``).
    """
    elements: list[ExtensionElement] = []
    for value in values:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        elements.extend(_parse_line(text))
    if not elements:
        raise ExtensionSyntaxError("no extension in the list (RFC 6455 §9.1: 1#extension)")
    return tuple(elements)


def _parse_line(text: str) -> list[ExtensionElement]:
    scanner = _Scanner(text)
    elements: list[ExtensionElement] = []
    while True:
        scanner.skip_space()
        if scanner.at_end():
            return elements
        if scanner.take(","):
            continue
        elements.append(_parse_element(scanner))
        scanner.skip_space()
        if scanner.at_end():
            return elements
        if not scanner.take(","):
            raise scanner.error("',' or end of line")


def _parse_element(scanner: _Scanner) -> ExtensionElement:
    name = scanner.token("an extension token")
    params: list[ExtensionParam] = []
    while True:
        scanner.skip_space()
        if not scanner.take(";"):
            return ExtensionElement(name, tuple(params))
        scanner.skip_space()
        param_name = scanner.token("a parameter token")
        scanner.skip_space()
        if not scanner.take("="):
            params.append(ExtensionParam(param_name))
            continue
        scanner.skip_space()
        quoted = scanner.peek() == '"'
        value = (
            scanner.quoted_token() if quoted else scanner.token("a token or quoted-string value")
        )
        params.append(ExtensionParam(param_name, value, quoted))


class _Scanner:
    """A cursor over one header line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def skip_space(self) -> None:
        match = _SPACE.match(self.text, self.pos)
        if match is not None:
            self.pos = match.end()

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def token(self, what: str) -> str:
        match = _TOKEN_AT.match(self.text, self.pos)
        if match is None:
            raise self.error(what)
        self.pos = match.end()
        return match.group()

    def quoted_token(self) -> str:
        match = _QUOTED_AT.match(self.text, self.pos)
        if match is None:
            raise self.error("a closed quoted-string")
        value = _ESCAPE.sub(r"\1", match.group(1))
        if not is_token(value):
            raise self.error("a quoted value that is a token once unescaped (RFC 6455 §9.1)")
        self.pos = match.end()
        return value

    def error(self, expected: str) -> ExtensionSyntaxError:
        return ExtensionSyntaxError(f"expected {expected} at column {self.pos} of {self.text!r}")
