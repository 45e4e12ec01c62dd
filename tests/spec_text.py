"""Normalise specification texts so catalog quotes can be checked verbatim.

Every record in ``spec_refs/`` quotes its specification word for word, with
whitespace collapsed to single spaces.  This module turns the spec files in the
shared specs directory into the same normal form:

* RFC text (paginated plain text, e.g. ``rfc6455.txt``): page headers, page
  footers and form feeds are dropped, a compound word broken across lines
  after its hyphen (``non-`` / ``normative``) is rejoined, and all whitespace
  runs collapse to one space.  Everything else, including the ``|Header|``
  pipes and ``_Defined Term_`` underscores of RFC 6455, is kept.
* RFC text extracted from HTML (``*-text-from-html.txt``, e.g. RFC 9220): the
  wording is verbatim but the paragraphs are reflowed, so only whitespace runs
  collapse to one space; its sections start at ``## 3. Title`` headings.
* Bikeshed sources (``.bs``): reduced to the text a reader sees in the
  rendered standard.  See :func:`render_bikeshed` for the rules.

The specs directory is ``$WSCONFORM_SPECS_DIR`` if set, else
``<repo root>/../shared/specs``.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = [
    "SPEC_FILES",
    "RfcSection",
    "html_text_sections",
    "missing_spec_files",
    "normalise_quote",
    "normalise_rfc",
    "render_bikeshed",
    "rfc_sections",
    "spec_path",
    "spec_sections",
    "spec_text_for",
    "specs_dir",
]

#: A record's ``spec`` value -> the file in the specs directory that it quotes.
SPEC_FILES: dict[str, str] = {
    "RFC 6455": "rfc6455.txt",
    "RFC 7692": "rfc7692.txt",
    "RFC 8441": "rfc8441.txt",
    "RFC 9220": "rfc9220-text-from-html.txt",
    "WHATWG WebSockets": "whatwg-websockets.bs",
    "WHATWG Fetch": "whatwg-fetch-websocket-excerpt.bs",
}

_WS = re.compile(r"\s+")

# RFC pagination: "Fette & Melnikov      Standards Track      [Page 10]" and
# "RFC 6455          The WebSocket Protocol          December 2011".
_RFC_FOOTER = re.compile(r"^\S.*\s{2,}\[Page \d+\][ \t]*$", re.MULTILINE)
_RFC_HEADER = re.compile(r"^RFC \d+\s{2,}.*\s{2,}\w+ \d{4}[ \t]*$", re.MULTILINE)
# A line ending in a hyphen directly after a letter/digit continues the same
# word on the next line ("denial-of-" / "service", "|Sec-WebSocket-" / "Key|").
# Blank lines may sit in between when the word straddles a page break.
_RFC_HYPHEN_BREAK = re.compile(r"(?<=[A-Za-z0-9]-)[ \t]*\n(?:[ \t]*\n)*[ \t]*(?=[A-Za-z0-9|])")
# Section headings start in column 0: "4.2.1.  Reading the Client's Opening Handshake".
_RFC_HEADING = re.compile(r"^(\d+(?:\.\d+)*)\.[ \t]{2}(\S.*?)[ \t]*$", re.MULTILINE)
# RFC text extracted from HTML: the file name's ending, and its markdown headings
# ("## 3. WebSockets Upgrade over HTTP/3 "; unnumbered ones such as "## Abstract" end a section).
HTML_TEXT_SUFFIX = "-text-from-html.txt"
_HTML_TEXT_HEADING = re.compile(
    r"^#+[ \t]+(?:(\d+(?:\.\d+)*)\.[ \t]+)?(\S.*?)[ \t]*$", re.MULTILINE
)


def specs_dir() -> Path:
    """The directory holding the spec texts (``$WSCONFORM_SPECS_DIR`` or the shared default)."""
    env = os.environ.get("WSCONFORM_SPECS_DIR")
    if env:
        return Path(env)
    repo_root = Path(__file__).resolve().parent.parent
    return repo_root.parent / "shared" / "specs"


def missing_spec_files() -> list[Path]:
    """The files of :data:`SPEC_FILES` absent from :func:`specs_dir` (a fresh clone: all)."""
    return [
        specs_dir() / name for name in SPEC_FILES.values() if not (specs_dir() / name).is_file()
    ]


def spec_path(spec: str) -> Path:
    """Path of the file quoted by records whose ``spec`` field is *spec*."""
    try:
        name = SPEC_FILES[spec]
    except KeyError:
        raise KeyError(f"unknown spec {spec!r}; expected one of {sorted(SPEC_FILES)}") from None
    return specs_dir() / name


def normalise_quote(q: str) -> str:
    """Collapse every whitespace run in *q* to one space and strip the ends."""
    return _WS.sub(" ", q).strip()


def _clean_rfc_lines(text: str) -> str:
    """RFC text without form feeds, page headers/footers or hyphen line breaks (newlines kept)."""
    text = text.replace("\f", "\n")
    text = _RFC_FOOTER.sub("", text)
    text = _RFC_HEADER.sub("", text)
    text = _RFC_HYPHEN_BREAK.sub("", text)
    return text


def normalise_rfc(text: str) -> str:
    """Paginated RFC text -> one line: no page headers/footers/form feeds, single spaces."""
    return normalise_quote(_clean_rfc_lines(text))


@dataclass(frozen=True, slots=True)
class RfcSection:
    """One numbered section of an RFC: number ("4.2.1"), heading title and normalised body."""

    number: str
    title: str
    text: str


def rfc_sections(text: str) -> dict[str, RfcSection]:
    """Split paginated RFC text into its numbered sections (body text normalised).

    A section's body runs from its heading line to the next heading, so it
    excludes its subsections.  Only headings starting in column 0 count, which
    skips the (indented) table of contents.
    """
    clean = _clean_rfc_lines(text)
    heads = list(_RFC_HEADING.finditer(clean))
    out: dict[str, RfcSection] = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(clean)
        body = normalise_quote(clean[m.end() : end])
        out[m.group(1)] = RfcSection(m.group(1), m.group(2), body)
    return out


def html_text_sections(text: str) -> dict[str, RfcSection]:
    """Split RFC text extracted from HTML into its numbered sections (body text normalised).

    Every ``#`` heading ends the section before it; only numbered ones start a section.
    """
    heads = list(_HTML_TEXT_HEADING.finditer(text))
    out: dict[str, RfcSection] = {}
    for i, m in enumerate(heads):
        if m.group(1) is None:
            continue
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        out[m.group(1)] = RfcSection(m.group(1), m.group(2), normalise_quote(text[m.end() : end]))
    return out


def is_html_text(spec: str) -> bool:
    """Whether the spec's file is RFC text extracted from HTML (reflowed, markdown headings)."""
    return spec_path(spec).name.endswith(HTML_TEXT_SUFFIX)


def spec_sections(spec: str) -> dict[str, RfcSection]:
    """The numbered sections of the RFC a record cites (``"RFC 6455"``, ``"RFC 9220"``...)."""
    raw = spec_path(spec).read_text(encoding="utf-8")
    return html_text_sections(raw) if is_html_text(spec) else rfc_sections(raw)


# --- Bikeshed -----------------------------------------------------------------------------

_BS_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BS_DATA_BLOCK = re.compile(
    r"<pre class=\"?(?:metadata|biblio|link-defaults|anchors)\"?>.*?</pre>", re.DOTALL
)
_BS_XMP = re.compile(r"(<xmp[^>]*>)(.*?)(</xmp>)", re.DOTALL)
_BS_MD_HEADING = re.compile(r"^#+[ \t]*(.*?)[ \t]*#*[ \t]*(?:\{#[^}]*\})?[ \t]*$", re.MULTILINE)
_BS_MD_MARKER = re.compile(r"^[ \t]*(?:\d+\.|[*-]|::?)[ \t]+", re.MULTILINE)
_BS_MD_CODE = re.compile(r"`([^`\n]+)`")
_BS_DFN_LINK = re.compile(r"\[=(.+?)=\]", re.DOTALL)
_BS_IDL_LINK = re.compile(r"\{\{(.+?)\}\}", re.DOTALL)
_BS_BIBLIO = re.compile(r"\[\[!?([^\]]+)\]\]")
_BS_VAR = re.compile(r"\|(\w(?:[\w -]*\w)?)\|")
_BS_TAG = re.compile(r"<[^>]+>")
_BS_MARKDOWN_ON = re.compile(r"^Markup Shorthands:.*\bmarkdown yes\b", re.MULTILINE)
_TICK = "\x00"


def _dfn_link_text(m: re.Match[str]) -> str:
    """``[=for/term=]`` -> ``term``; ``[=term|shown=]`` -> ``shown``."""
    body = m.group(1)
    if "|" in body:
        return body.rsplit("|", 1)[1]
    return body.rsplit("/", 1)[-1]


def _idl_link_text(m: re.Match[str]) -> str:
    """``{{Iface/member(args)}}`` -> ``member(args)``; ``{{x|shown}}`` -> ``shown``."""
    body = m.group(1)
    if "|" in body:
        return body.rsplit("|", 1)[1]
    head, paren, tail = body.partition("(")
    return head.rsplit("/", 1)[-1] + paren + tail


def render_bikeshed(text: str) -> str:
    """Bikeshed source -> the rendered text, whitespace collapsed.

    Rules, applied in order:

    1. HTML comments and the metadata/biblio/link-defaults/anchors ``<pre>`` blocks go.
    2. If the document enables ``Markup Shorthands: markdown yes``: ``# Heading # {#id}``
       -> ``Heading``; list and definition-list markers (``1.``, ``*``, ``:``, ``::``)
       at the start of a line go; ``\\``` is a literal backtick and a code span
       `` `x` `` renders as ``x`` (so ``"`ws`"`` -> ``"ws"`` and
       ``\\``Upgrade`\\``` -> ```Upgrade```, the byte-sequence notation).  Without
       markdown (the Fetch excerpt) backticks are literal text.
    3. Autolinks: ``[=for/term=]`` -> ``term``, ``[=term|shown=]`` -> ``shown``,
       ``{{Iface/member()}}`` -> ``member()``, ``{{x|shown}}`` -> ``shown``,
       ``[[!REF]]`` -> ``[REF]``; variables ``|name|`` -> ``name``.
    4. Tags (``<a ...>``, ``<var>``, ``<code>``, ...) are removed, keeping their
       content; ``<xmp>`` content is literal; HTML entities are decoded.
    5. Whitespace runs collapse to one space.
    """
    markdown = _BS_MARKDOWN_ON.search(text) is not None
    text = _BS_COMMENT.sub("", text)
    text = _BS_DATA_BLOCK.sub("", text)
    text = _BS_XMP.sub(lambda m: html.escape(m.group(2), quote=False), text)
    if markdown:
        text = _BS_MD_HEADING.sub(r"\1", text)
        text = _BS_MD_MARKER.sub("", text)
        text = text.replace("\\`", _TICK)
        text = _BS_MD_CODE.sub(r"\1", text)
        text = text.replace(_TICK, "`")
    text = _BS_DFN_LINK.sub(_dfn_link_text, text)
    text = _BS_IDL_LINK.sub(_idl_link_text, text)
    text = _BS_BIBLIO.sub(r"[\1]", text)
    text = _BS_VAR.sub(r"\1", text)
    text = _BS_TAG.sub("", text)
    return normalise_quote(html.unescape(text))


@cache
def spec_text_for(spec: str) -> str:
    """The normalised text of the spec a record cites (``"RFC 6455"``, ``"WHATWG Fetch"``...)."""
    path = spec_path(spec)
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".bs":
        return render_bikeshed(raw)
    if is_html_text(spec):
        return normalise_quote(raw)
    return normalise_rfc(raw)
