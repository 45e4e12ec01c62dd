"""The suite's own payloads for compressed round trips, and Autobahn 12's size table.

Autobahn|Testsuite 12.x/13.x send five corpora (12.1 structured JSON, 12.2 a bitmap, 12.3
human-readable text, 12.4 an HTML file, 12.5 a PDF) at eighteen (size, fragment) rows
(``case12_x_x.py``, ``MSG_SIZES``). The suite does not ship those files; it generates text
and bytes with the same character: deterministic (seeded), any length, and repetitive at
every distance up to 32 KiB, so a server that compresses with a bigger window than agreed
or keeps context under ``server_no_context_takeover`` emits back-references the strict
inflater rejects (RFC 7692 §7.2.1). The incompressible kind (random bytes) exercises stored
blocks and the raw-length path. :func:`window_probe` is the sharpest such probe.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Final

from conformance.model.constants import Opcode
from conformance.model.deflate.params import MAX_WINDOW_BITS
from conformance.model.deflate.probes import beyond_window, random_block

KIB: Final = 1024

FAR_DISTANCE: Final = 32_000
"""A back-reference distance beyond 2**14 and within zlib's 32,506-byte reach (RFC 1951)."""

_VOCABULARY: Final = (
    "the of and to in is that it for was on are as with his they at be this from have or "
    "by one had not but what all were when we there can an your which their said if do will "
    "each about how up out them then she many some so these would other into has more her two "
    "like him see time could no make than first been its who now people my made over did down "
    "only way find use may water long little very after words called just where most know "
    "Licht Nacht Fräulein Straße Grüße schön Mädchen Bäume süß Höhe Faust Gretchen"
)
_WORDS: Final = tuple(_VOCABULARY.split())
"""Prose vocabulary: English filler and German words with ä, ö, ü, ß (12.3 is Goethe)."""

_TAGS: Final = ("div", "span", "p", "a", "li", "td", "section", "em")
_CLASSES: Final = ("nav", "item", "content", "header", "footer", "row", "col-6", "active")
_KEYS: Final = ("id", "name", "email", "active", "score", "tags", "created", "address")


class Kind(Enum):
    """The five payload kinds of the round trips, after Autobahn 12.1-12.5."""

    JSON = "json"
    IMAGE = "image"
    PROSE = "prose"
    HTML = "html"
    INCOMPRESSIBLE = "incompressible"

    @property
    def opcode(self) -> int:
        """Text for the text corpora (JSON, prose, HTML), binary for the others."""
        return Opcode.BINARY if self in _BINARY_KINDS else Opcode.TEXT


_BINARY_KINDS: Final = frozenset({Kind.IMAGE, Kind.INCOMPRESSIBLE})

AUTOBAHN_12_KINDS: Final[dict[str, Kind]] = {
    "12.1": Kind.JSON,
    "12.2": Kind.IMAGE,
    "12.3": Kind.PROSE,
    "12.4": Kind.HTML,
    "12.5": Kind.INCOMPRESSIBLE,
}
"""Which kind stands in for each Autobahn 12 corpus (12.5, a PDF, is already compressed)."""


@dataclass(frozen=True, slots=True)
class SizeRow:
    """One row of Autobahn 12's table: a message size, and the fragment size (0: unfragmented).

    As Autobahn (``autoFragmentSize``), the *compressed* payload is cut into frames of
    ``fragment`` bytes (RFC 7692 §7.2.1: "splitting the compressed data").
    """

    size: int
    fragment: int = 0
    count: int = 1000

    @property
    def slug(self) -> str:
        """``16b``, ``128kib``, ``128kib-frag-256``: a case id part."""
        text = f"{self.size // KIB}kib" if self.size >= KIB else f"{self.size}b"
        return f"{text}-frag-{self.fragment}" if self.fragment else text


AUTOBAHN_12_SIZES: Final[tuple[SizeRow, ...]] = (
    SizeRow(16),
    SizeRow(64),
    SizeRow(256),
    SizeRow(1 * KIB),
    SizeRow(4 * KIB),
    SizeRow(8 * KIB),
    SizeRow(16 * KIB),
    SizeRow(32 * KIB),
    SizeRow(64 * KIB),
    SizeRow(128 * KIB),
    SizeRow(8 * KIB, 256),
    SizeRow(16 * KIB, 256),
    SizeRow(32 * KIB, 256),
    SizeRow(64 * KIB, 256),
    SizeRow(128 * KIB, 256),
    SizeRow(128 * KIB, 1 * KIB),
    SizeRow(128 * KIB, 4 * KIB),
    SizeRow(128 * KIB, 32 * KIB),
)
"""Autobahn 12.x.1-12.x.18 (and 13.x.y): 16 B .. 128 KiB, 1000 messages a row, unfragmented
then fragmented at 256 B / 1 KiB / 4 KiB / 32 KiB (``case12_x_x.py`` ``MSG_SIZES``)."""


def _json_like(rng: random.Random, size: int) -> str:
    parts = ["["]
    length = 1
    while length < size:
        fields = []
        for key in rng.sample(_KEYS, 5):
            if key in ("active",):
                value = rng.choice(("true", "false"))
            elif key in ("score", "id"):
                value = str(rng.randrange(100000))
            elif key == "tags":
                value = "[" + ", ".join(f'"{w}"' for w in rng.sample(_WORDS[:60], 3)) + "]"
            else:
                value = '"' + " ".join(rng.choices(_WORDS[:60], k=2)) + '"'
            fields.append(f'"{key}": {value}')
        record = "{" + ", ".join(fields) + "},\n"
        parts.append(record)
        length += len(record)
    return "".join(parts)


def _prose(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    length = 0
    while length < size:
        words = rng.choices(_WORDS, k=rng.randrange(4, 16))
        sentence = " ".join(words).capitalize() + rng.choice((". ", ". ", "! ", "? ", ".\n"))
        parts.append(sentence)
        length += len(sentence.encode())
    return "".join(parts)


def _html_like(rng: random.Random, size: int) -> str:
    parts = ["<!DOCTYPE html>\n<html><body>\n"]
    length = len(parts[0])
    while length < size:
        tag = rng.choice(_TAGS)
        cls = rng.choice(_CLASSES)
        text = " ".join(rng.choices(_WORDS[:60], k=rng.randrange(1, 8)))
        element = f'  <{tag} class="{cls}" id="e{rng.randrange(1000)}">{text}</{tag}>\n'
        parts.append(element)
        length += len(element)
    return "".join(parts)


def _cut_text(text: str, size: int) -> bytes:
    """``text`` as UTF-8 cut to exactly ``size`` bytes at a character boundary (space-padded)."""
    data = text.encode()[:size]
    data = data.decode("utf-8", errors="ignore").encode()
    return data + b" " * (size - len(data))


_TEXT_GENERATORS: Final[dict[Kind, Callable[[random.Random, int], str]]] = {
    Kind.JSON: _json_like,
    Kind.PROSE: _prose,
    Kind.HTML: _html_like,
}


BASE_SIZE: Final = 16 * KIB
"""Each text kind is drawn from a seeded base text of this size (generated once a seed)."""
PIECE_MIN: Final = 32
PIECE_MAX: Final = 1024
"""Longer payloads are slices of the base text of these lengths, in seeded order: every
distance up to 32 KiB finds matches, as in a real corpus (and fast to build)."""
IMAGE_WIDTH: Final = 512
_GRADIENT: Final = bytes((x // 4) & 0xFF for x in range(2 * IMAGE_WIDTH))
_SHIFTS: Final = tuple(bytes((b + k) & 0xFF for b in range(256)) for k in range(256))
"""Translation tables adding ``k`` to every byte (a row's brightness)."""


@lru_cache(maxsize=32)
def _base_text(kind: Kind, seed: int) -> str:
    return _TEXT_GENERATORS[kind](random.Random(f"{kind.value}:{seed}"), BASE_SIZE)


def _assemble(base: str, size: int, rng: random.Random) -> str:
    if len(base.encode()) >= size:
        return base
    pieces, length = [], 0
    while length < size:
        start = rng.randrange(len(base) - PIECE_MAX)
        piece = base[start : start + rng.randrange(PIECE_MIN, PIECE_MAX)]
        pieces.append(piece)
        length += len(piece)  # characters: at least as many bytes
    return "".join(pieces)


def _image_like(rng: random.Random, size: int) -> bytes:
    """A bitmap-like body: a header, then rows of gradients with noisy spans."""
    out = bytearray(b"BM" + size.to_bytes(4, "little") + bytes(48))
    while len(out) < size:
        shift = rng.randrange(IMAGE_WIDTH)
        row = bytearray(
            _GRADIENT[shift : shift + IMAGE_WIDTH].translate(_SHIFTS[rng.randrange(256)])
        )
        for _ in range(rng.randrange(4)):
            at, span = rng.randrange(IMAGE_WIDTH), rng.randrange(8, 64)
            row[at : at + span] = rng.randbytes(span)[: IMAGE_WIDTH - at]
        out += row
    return bytes(out)


@lru_cache(maxsize=64)
def payload(kind: Kind, size: int, seed: int = 0) -> bytes:
    """``size`` deterministic bytes of ``kind`` for ``seed``; valid UTF-8 for the text kinds."""
    if size <= 0:
        return b""
    rng = random.Random(f"{kind.value}:{seed}")
    if kind is Kind.INCOMPRESSIBLE:
        return random_block(size, seed=seed)
    if kind is Kind.IMAGE:
        return _image_like(rng, size)[:size]
    return _cut_text(_assemble(_base_text(kind, seed), size, rng), size)


def window_probe(bits: int, *, seed: int = 0) -> bytes:
    """A message only a compressor honouring an N-bit window (N = ``bits``) sends unreferenced.

    :func:`.probes.beyond_window` for N = 8..14; for 15 (no window agreed, or 15) a random
    block repeated at a distance just under 32,768 bytes: every conforming compressor may
    reference it, and an inflater limited to a smaller window cannot follow (§7.2.2).
    """
    if bits < MAX_WINDOW_BITS:
        return beyond_window(bits, seed=seed)
    return random_block(FAR_DISTANCE, seed=seed) * 2
