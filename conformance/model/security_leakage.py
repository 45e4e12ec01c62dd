"""Error leakage (RFC 6455 §10.7; OWASP ASVS 7.4.1), sans-IO: the disclosure patterns, the
scanner over what a server sent, and the behaviours the leakage checks accept.

An error answer that carries a stack trace, an absolute file path or an exception class
tells an attacker which code runs and where; a version string in ``Server:`` or
``X-Powered-By`` names the release to look up. :func:`scan` finds them in text (an HTTP
error response, a Close reason); each finding is one line, ``"<kind>: <what>: <excerpt>"``,
merged over the answers (:func:`merge`) into :attr:`Observed.leaks`. Versions are looked
for apart (:func:`banner_versions`): the text is silent on banners, and many servers
send one by default, so a check reports them as INFO.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .observed import Observed

TRACE: Final = "stack trace"
PATH: Final = "file path"
EXCEPTION: Final = "exception"
VERSION: Final = "version"
KINDS: Final = (TRACE, PATH, EXCEPTION, VERSION)

MAX_SCANNED: Final = 64 * 1024
"""Characters of one answer the scanner reads (the probes read no more either)."""
EXCERPT: Final = 60
"""Characters of a finding quoted in its line."""

ANSWERED: Final = "answered"
"""The measure: probes the server reacted to (an answer, a Close or a TCP close)."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """One disclosure: its kind, what it reveals, the regular expression that finds it."""

    kind: str
    what: str
    regex: re.Pattern[str]


_UNIX_ROOTS = r"(?:home|usr|var|opt|srv|root|etc|tmp|app|Users|workspace|code|src)"
_SOURCE_EXT = (
    r"(?:py|pyc|js|mjs|cjs|ts|go|java|kt|scala|rb|php|cs|rs|c|cc|cpp|h|ex|exs|erl|jar|dll|so)"
)

PATTERNS: Final = (
    Pattern(TRACE, "Python traceback", re.compile(r"Traceback \(most recent call last\)")),
    Pattern(TRACE, "Python stack frame", re.compile(r'File "[^"\n]+", line \d+')),
    Pattern(
        TRACE, "Java stack frame", re.compile(r"\bat [\w$.]+\([\w$]+\.(?:java|kt|scala):\d+\)")
    ),
    Pattern(
        TRACE,
        "Node.js stack frame",
        re.compile(r"\bat (?:[\w$.<>\[\] ]+ )?\(?(?:/|[A-Za-z]:\\|file://)[^\s()]+:\d+:\d+\)?"),
    ),
    Pattern(TRACE, "Go goroutine dump", re.compile(r"goroutine \d+ \[[\w ,]+\]:?")),
    Pattern(TRACE, ".NET stack frame", re.compile(r"\bat [\w.`<>]+\([^)\n]*\) in [^\n]+")),
    Pattern(TRACE, "PHP stack trace", re.compile(r"Stack trace:\s*#0|on line \d+")),
    Pattern(
        PATH,
        "absolute source path",
        re.compile(rf"(?<![\w/.:])/(?:[\w.@-]+/)+[\w.@-]+\.{_SOURCE_EXT}\b"),
    ),
    Pattern(PATH, "absolute server path", re.compile(rf"(?<![\w/.:])/{_UNIX_ROOTS}/[\w.@-]+")),
    Pattern(PATH, "Windows path", re.compile(r"\b[A-Za-z]:\\(?:[\w .@-]+\\)+[\w .@-]*")),
    Pattern(
        EXCEPTION,
        "exception class",
        re.compile(r"\b(?:[a-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception)\b:"),
    ),
)
"""Stack traces, paths and exception names: looked for anywhere in an answer."""

VERSION_HEADERS: Final = ("server", "x-powered-by", "x-aspnet-version", "x-runtime-version")
VERSION_PATTERN: Final = re.compile(r"[A-Za-z][\w.-]*/v?\d+(?:\.\d+)+|\b\d+\.\d+\.\d+\b")
"""``nginx/1.24.0``, ``Python/3.11``, ``PHP/8.1.2``, or a bare ``1.2.3``: in a banner header."""
_HEADER_LINE = re.compile(r"^([\w-]+)[ \t]*:[ \t]*(.*)$", re.MULTILINE)


def _excerpt(text: str, start: int, end: int) -> str:
    piece = text[start : min(end, start + EXCERPT)]
    return piece.replace("\r", "").replace("\n", " ").strip()


def scan(text: str) -> list[str]:
    """The stack traces, paths and exception names in ``text``: the first match of each
    kind (:data:`KINDS`), one line each."""
    text = text[:MAX_SCANNED]
    found: dict[str, str] = {}
    for pattern in PATTERNS:
        match = None if pattern.kind in found else pattern.regex.search(text)
        if match is not None:
            excerpt = _excerpt(text, match.start(), match.end())
            found[pattern.kind] = f"{pattern.kind}: {pattern.what}: {excerpt!r}"
    return list(found.values())


def scan_versions(head: str) -> list[str]:
    """Version strings in the banner headers of an HTTP head (``Server:``, ...)."""
    found: list[str] = []
    for match in _HEADER_LINE.finditer(head[:MAX_SCANNED]):
        name, value = match.group(1), match.group(2)
        if name.lower() in VERSION_HEADERS and VERSION_PATTERN.search(value) is not None:
            found.append(f"{VERSION}: {name}: {value.strip()[:EXCERPT]!r}")
    return found


def scan_http(raw: bytes) -> list[str]:
    """The stack traces, paths and exception names in an HTTP answer's raw bytes."""
    return scan(raw[:MAX_SCANNED].decode("latin-1"))


def banner_versions(raw: bytes) -> list[str]:
    """The version strings in the banner headers of an HTTP answer's raw bytes."""
    return scan_versions(raw[:MAX_SCANNED].decode("latin-1").split("\r\n\r\n", 1)[0])


def merge(found: list[tuple[str, list[str]]]) -> list[str]:
    """One line per distinct finding, naming every answer it was in:
    ``found`` is (where, findings) per answer."""
    places: dict[str, list[str]] = {}
    for where, findings in found:
        for finding in findings:
            places.setdefault(finding, []).append(where)
    return [f"{finding} in {', '.join(wheres)}" for finding, wheres in places.items()]


@dataclass(frozen=True, slots=True)
class NothingDisclosed:
    """The server reacted to the probes and its answers disclose nothing (§10.7)."""

    what: str  # "error responses with no stack trace, ..."

    def describe(self) -> str:
        return self.what

    def matches(self, observed: Observed) -> bool:
        return observed.measures.get(ANSWERED, 0) > 0 and not observed.leaks
