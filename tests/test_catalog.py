"""The requirement catalog (``spec_refs/*.toml``) is well formed, verbatim and complete.

* every record loads, has a unique, well-formed id, a known keyword and party;
* every quote appears verbatim (after normalisation, see ``tests/spec_text.py``)
  in the spec file it cites, and RFC quotes sit in the section they claim;
* every uppercase RFC 2119 keyword in RFC 6455 sections 1-11 and in all of RFC 7692,
  RFC 8441 and RFC 9220 lies inside some record's quote, except the occurrences listed in
  ``RFC_EXCLUSIONS``; each key-word sentence of RFC 7692 (65), RFC 8441 (9) and RFC 9220 (2)
  has exactly one record, and RFC 8441 §§3-5 and RFC 9220 §3 have records;
* ``wsconform requirements`` and ``coverage`` list RFC 8441 and RFC 9220;
* links point at the right document and at anchors that exist.

Failures name the offending record ids. The checks that read the spec texts skip with a
one-line reason when they are absent (a fresh clone has no ``../shared/specs``), except
under ``CI=true``, where a missing text fails.
"""

from __future__ import annotations

import html
import os
import re
import tomllib
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from spec_text import (
    SPEC_FILES,
    RfcSection,
    html_text_sections,
    missing_spec_files,
    normalise_quote,
    normalise_rfc,
    render_bikeshed,
    rfc_sections,
    spec_path,
    spec_sections,
    spec_text_for,
    specs_dir,
)

import spec_refs
from conformance.cases import all_cases
from conformance.catalog import KEYWORDS, PARTIES, Requirement, load_catalog, parse_records
from conformance.cli import catalog as cli_catalog
from conformance.cli import main
from conformance.cli.common import EXIT_OK

RFC = "RFC 6455"
RFC7692 = "RFC 7692"
RFC8441 = "RFC 8441"
RFC9220 = "RFC 9220"
RFCS = (RFC, RFC7692, RFC8441, RFC9220)
WS = "WHATWG WebSockets"
FETCH = "WHATWG Fetch"

_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+){1,4}"  # 2-5 words
ID_PATTERNS = {
    RFC: re.compile(rf"^rfc6455-(?P<section>\d+(?:\.\d+)*)-{_SLUG}$"),
    RFC7692: re.compile(rf"^rfc7692-(?P<section>\d+(?:\.\d+)*)-{_SLUG}$"),
    RFC8441: re.compile(rf"^rfc8441-(?P<section>\d+(?:\.\d+)*)-{_SLUG}$"),
    RFC9220: re.compile(rf"^rfc9220-(?P<section>\d+(?:\.\d+)*)-{_SLUG}$"),
    WS: re.compile(rf"^whatwg-ws-{_SLUG}$"),
    FETCH: re.compile(rf"^fetch-{_SLUG}$"),
}
LINK_PREFIXES = {
    RFC: "https://www.rfc-editor.org/rfc/rfc6455#section-",
    RFC7692: "https://www.rfc-editor.org/rfc/rfc7692#section-",
    RFC8441: "https://www.rfc-editor.org/rfc/rfc8441#section-",
    RFC9220: "https://www.rfc-editor.org/rfc/rfc9220#section-",
    WS: "https://websockets.spec.whatwg.org/#",
    FETCH: "https://fetch.spec.whatwg.org/#",
}

# Uppercase RFC 2119 keywords; longest alternatives first so "MUST NOT" counts once.
RFC2119 = re.compile(
    r"\b(?:MUST NOT|MUST|REQUIRED|SHALL NOT|SHALL|SHOULD NOT|SHOULD|NOT RECOMMENDED|RECOMMENDED"
    r"|MAY|OPTIONAL)\b"
)
# The sections whose key words must all be in some record's quote, and a floor on how many
# key words they hold (a broken text reader finds few).
COVERED_SECTIONS = {
    RFC: re.compile(r"^(?:[1-9]|1[01])(?:\.\d+)*$"),  # RFC 6455 sections 1-11
    RFC7692: re.compile(r"^(?:[1-9]|10)(?:\.\d+)*$"),  # all of RFC 7692
    RFC8441: re.compile(r"^\d+(?:\.\d+)*$"),  # all of RFC 8441
    RFC9220: re.compile(r"^\d+(?:\.\d+)*$"),  # all of RFC 9220
}
MIN_KEYWORDS = {RFC: 200, RFC7692: 76, RFC8441: 21, RFC9220: 13}
# The RFCs whose key-word sentences each have exactly one record, and how many there are:
# RFC 7692 has 76 key words in 65 sentences (the count, 2 of them the §2
# boilerplate); RFC 8441 has 10 outside its §2 boilerplate (11) in 9 sentences, RFC 9220
# 2 outside its boilerplate (11) in 2. Their key-word totals are MIN_KEYWORDS, exactly.
KEYWORD_SENTENCES = {RFC7692: 65, RFC8441: 9, RFC9220: 2}
# Sections that must have records (the ones the HTTP/2 and HTTP/3 cases draw on).
REQUIRED_SECTIONS = {RFC8441: ("3", "4", "5"), RFC9220: ("3",)}
_SENTENCE_BREAK = re.compile(r"(?<=\.) (?=[A-Z])")

# The BCP 14 boilerplate of RFC 8441 §2 and RFC 9220 §2 (RFC 2119 plus RFC 8174).
BCP14_BOILERPLATE = (
    'The key words "MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT", "SHOULD", '
    '"SHOULD NOT", "RECOMMENDED", "NOT RECOMMENDED", "MAY", and "OPTIONAL" in this document '
    "are to be interpreted as described in BCP 14 [RFC2119] [RFC8174] when, and only when, "
    "they appear in all capitals, as shown here."
)
BOILERPLATE_REASON = "BCP 14 boilerplate: names the key words, binds nobody"

# Keyword occurrences in the covered sections deliberately left out of the catalog, by
# spec: (section, verbatim excerpt containing them, reason).
RFC_EXCLUSIONS: dict[str, list[tuple[str, str, str]]] = {
    RFC7692: [],
    RFC8441: [("2", BCP14_BOILERPLATE, BOILERPLATE_REASON)],
    RFC9220: [("2", BCP14_BOILERPLATE, BOILERPLATE_REASON)],
    RFC: [
        (
            "2",
            'The key words "MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT", "SHOULD", '
            '"SHOULD NOT", "RECOMMENDED", "MAY", and "OPTIONAL" in this document are to be '
            "interpreted as described in [RFC2119].",
            "RFC 2119 boilerplate: names the key words, binds nobody",
        ),
    ],
}

# Definition records allowed to contain uppercase key words (they quote them as words).
DEFINITIONS_QUOTING_KEYWORDS = {
    "rfc6455-2-imperative-algorithm-keywords",
    "rfc7692-2-keywords-boilerplate",
    "rfc7692-2-imperative-algorithm-keywords",
}

# Fetch anchors whose dfn lies outside the line ranges of whatwg-fetch-websocket-excerpt.bs,
# so they cannot be found in the excerpt; each is the dfn id of the algorithm the quote sits in.
KNOWN_FETCH_ANCHORS = {
    "append-a-request-origin-header": "dfn of 'append a request `Origin` header'",
    "concept-main-fetch": "dfn of 'main fetch'",
    "concept-http-fetch": "dfn of 'HTTP fetch'",
    "concept-http-network-fetch": "dfn of 'HTTP-network fetch'",
}


def _fail(what: str, offenders: list[str]) -> None:
    if offenders:
        pytest.fail(f"{len(offenders)} record(s) {what}:\n  " + "\n  ".join(offenders))


def require_spec_texts() -> None:
    """Skip (one line) when a spec text is absent; under ``CI=true`` fail instead."""
    missing = missing_spec_files()
    if not missing:
        return
    reason = (
        f"spec texts not found in {specs_dir()} ({', '.join(p.name for p in missing)}); "
        "set WSCONFORM_SPECS_DIR or put them in ../shared/specs"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def spec_texts() -> None:
    """The spec texts are needed: skip or (in CI) fail without them."""
    require_spec_texts()


@pytest.fixture(scope="module")
def records() -> list[Requirement]:
    return list(load_catalog())


@pytest.fixture(scope="module")
def sections(spec_texts: None) -> dict[str, dict[str, RfcSection]]:
    """Each RFC's numbered sections, by spec."""
    return {spec: spec_sections(spec) for spec in RFCS}


# --- (a) loading and ids ----------------------------------------------------------------


def test_catalog_files_load_and_are_non_empty() -> None:
    names = {p.name for p in spec_refs.CATALOG_FILES}
    assert {"rfc6455.toml", "rfc7692.toml", "rfc8441.toml", "rfc9220.toml", "whatwg.toml"} <= names
    for path in spec_refs.CATALOG_FILES:
        with path.open("rb") as fh:
            recs = parse_records(tomllib.load(fh), path.name)
        assert recs, f"{path.name} has no records"


def test_ids_unique_across_files() -> None:
    counts: Counter[str] = Counter()
    for path in spec_refs.CATALOG_FILES:
        with path.open("rb") as fh:
            counts.update(r.id for r in parse_records(tomllib.load(fh), path.name))
    _fail("have duplicate ids", sorted(i for i, n in counts.items() if n > 1))


def test_ids_match_patterns(records: list[Requirement]) -> None:
    bad = []
    for r in records:
        pattern = ID_PATTERNS.get(r.spec)
        m = pattern.match(r.id) if pattern else None
        if m is None:
            bad.append(f"{r.id} (spec {r.spec!r})")
        elif r.spec in RFCS and m.group("section") != r.section:
            bad.append(f"{r.id}: id section != section field {r.section!r}")
    _fail("have malformed ids", bad)


# --- (b) keywords and parties -----------------------------------------------------------


def test_keywords_and_parties_known(records: list[Requirement]) -> None:
    bad = [f"{r.id}: keyword {r.keyword!r}" for r in records if r.keyword not in KEYWORDS]
    bad += [f"{r.id}: party {r.party!r}" for r in records if r.party not in PARTIES]
    bad += [f"{r.id}: spec {r.spec!r}" for r in records if r.spec not in SPEC_FILES]
    _fail("have unknown keyword/party/spec", bad)


def test_required_text_fields_non_empty(records: list[Requirement]) -> None:
    bad = [
        f"{r.id}: empty {name}"
        for r in records
        for name in ("section", "title", "quote", "link")
        if not getattr(r, name).strip()
    ]
    bad += [f"{r.id}: empty note" for r in records if r.note is not None and not r.note.strip()]
    bad += [
        f"{r.id}: empty untestable"
        for r in records
        if r.untestable is not None and not r.untestable.strip()
    ]
    _fail("have empty fields", bad)


# --- (c) the quote carries its keyword --------------------------------------------------


def _inherits_keyword(r: Requirement) -> bool:
    """A keyword-less list item or algorithm step, its note naming where the keyword comes from."""
    note = r.note or ""
    return "lead-in" in note or "Algorithm step" in note


def test_quote_contains_its_keyword(records: list[Requirement]) -> None:
    bad = []
    for r in records:
        if r.keyword == "definition":
            continue
        if r.spec in RFCS:
            found = re.search(rf"\b{r.keyword}\b", r.quote) is not None
        else:  # WHATWG prose uses lowercase "must", "may", ...
            found = re.search(rf"\b{r.keyword}\b", r.quote, re.IGNORECASE) is not None
        if not found and not _inherits_keyword(r):
            bad.append(f"{r.id}: {r.keyword!r} not in quote and no lead-in/algorithm-step note")
    _fail("lack their keyword", bad)


def test_rfc_keyword_matches_quote(records: list[Requirement]) -> None:
    """An RFC quote with key words is labelled with one of them; a definition has none."""
    bad = []
    for r in records:
        if r.spec not in RFCS:
            continue
        in_quote = set(RFC2119.findall(r.quote))
        if r.keyword == "definition":
            if in_quote and r.id not in DEFINITIONS_QUOTING_KEYWORDS:
                bad.append(f"{r.id}: 'definition' but quote has {sorted(in_quote)}")
        elif in_quote and r.keyword not in in_quote:
            bad.append(f"{r.id}: keyword {r.keyword!r} but quote has {sorted(in_quote)}")
    _fail("carry a keyword that does not match their quote", bad)


# --- (d) verbatim -----------------------------------------------------------------------


def test_quotes_are_normalised(records: list[Requirement]) -> None:
    _fail(
        "have quotes with uncollapsed whitespace",
        [r.id for r in records if r.quote != normalise_quote(r.quote)],
    )


def test_quotes_verbatim_in_spec(records: list[Requirement], spec_texts: None) -> None:
    bad = [
        f"{r.id} [{r.spec}]: {r.quote[:80]!r}"
        for r in records
        if normalise_quote(r.quote) not in spec_text_for(r.spec)
    ]
    _fail("have quotes not found verbatim in their spec", bad)


def test_rfc_quotes_in_their_section(
    records: list[Requirement], sections: dict[str, dict[str, RfcSection]]
) -> None:
    bad = []
    for r in records:
        if r.spec not in RFCS:
            continue
        sec = sections[r.spec].get(r.section)
        if sec is None:
            bad.append(f"{r.id}: no section {r.section!r}")
            continue
        if r.title != sec.title:
            bad.append(f"{r.id}: title {r.title!r} != heading {sec.title!r}")
        n = sec.text.count(normalise_quote(r.quote))
        if n != 1:
            bad.append(f"{r.id}: quote occurs {n} times in section {r.section} (needs exactly 1)")
    _fail("are not located uniquely in their RFC section", bad)


# --- (e) completeness -------------------------------------------------------------------


def _quote_spans(
    spec: str, records: list[Requirement], secs: dict[str, RfcSection]
) -> dict[str, list[tuple[int, int]]]:
    """Where each record of ``spec`` sits in its section's text: section -> (start, end)s."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for r in records:
        if r.spec == spec and r.section in secs:
            q = normalise_quote(r.quote)
            start = secs[r.section].text.find(q)
            if start >= 0:
                spans.setdefault(r.section, []).append((start, start + len(q)))
    return spans


@pytest.mark.parametrize("spec", RFCS)
def test_rfc_keyword_coverage(
    records: list[Requirement], sections: dict[str, dict[str, RfcSection]], spec: str
) -> None:
    """Every key word occurrence in the covered sections is inside a record's quote or excluded."""
    secs = sections[spec]
    spans = _quote_spans(spec, records, secs)
    for section, excerpt, reason in RFC_EXCLUSIONS[spec]:
        start = secs[section].text.find(normalise_quote(excerpt))
        assert start >= 0, f"exclusion no longer matches §{section} ({reason}): {excerpt!r}"
        spans.setdefault(section, []).append((start, start + len(normalise_quote(excerpt))))

    missing, total = [], 0
    for number, sec in secs.items():
        if not COVERED_SECTIONS[spec].match(number):
            continue
        for m in RFC2119.finditer(sec.text):
            total += 1
            if not any(a <= m.start() and m.end() <= b for a, b in spans.get(number, [])):
                ctx = sec.text[max(0, m.start() - 60) : m.end() + 40]
                missing.append(f"§{number} {m.group()}: ...{ctx}...")
    assert total >= MIN_KEYWORDS[spec], f"only {total} key words found: is the text being read?"
    if missing:
        pytest.fail(f"{len(missing)} of {total} key words not covered:\n  " + "\n  ".join(missing))


@pytest.mark.parametrize("spec", tuple(KEYWORD_SENTENCES))
def test_every_keyword_sentence_has_one_record(
    records: list[Requirement], sections: dict[str, dict[str, RfcSection]], spec: str
) -> None:
    """Each key-word sentence of the spec: one record, no record holding two, none twice.

    With ``test_rfc_keyword_coverage`` (every key word inside some quote) this proves
    the catalog has a record for every RFC 2119 sentence of the spec.
    """
    secs = sections[spec]
    keyword_records = [r for r in records if r.spec == spec and RFC2119.search(r.quote)]
    bad = [
        f"{r.id}: {n} key-word sentences in one quote"
        for r in keyword_records
        if (n := sum(1 for s in _SENTENCE_BREAK.split(r.quote) if RFC2119.search(s))) != 1
    ]
    for section, found in _quote_spans(spec, keyword_records, secs).items():
        ordered = sorted(found)
        bad += [
            f"§{section}: quotes overlap at {b[0]}" for a, b in pairwise(ordered) if b[0] < a[1]
        ]
    _fail("break the one-record-per-key-word-sentence rule", bad)
    occurrences = sum(len(RFC2119.findall(sec.text)) for sec in secs.values())
    assert (len(keyword_records), occurrences) == (
        KEYWORD_SENTENCES[spec],
        MIN_KEYWORDS[spec],
    ), f"{len(keyword_records)} key-word records for {occurrences} key words"


@pytest.mark.parametrize(
    ("spec", "section"),
    [(spec, section) for spec, numbers in REQUIRED_SECTIONS.items() for section in numbers],
)
def test_http2_http3_sections_have_records(
    records: list[Requirement], spec: str, section: str
) -> None:
    """RFC 8441 §§3-5 and RFC 9220 §3, which the HTTP/2 and HTTP/3 cases cite, have records."""
    mine = [r for r in records if r.spec == spec and r.section == section]
    assert mine, f"{spec} §{section} has no record"
    assert any(r.keyword != "definition" for r in mine), f"{spec} §{section}: definitions only"


def test_rfc7692_boilerplate_records_are_untestable(records: list[Requirement]) -> None:
    """The two §2 sentences bind nobody: recorded for completeness, never counted as coverage."""
    section_2 = [r for r in records if r.spec == RFC7692 and r.section == "2"]
    assert len(section_2) == 2
    _fail("of RFC 7692 §2 lack an untestable reason", [r.id for r in section_2 if not r.untestable])


_ID_REF = re.compile(
    r"\b(?:rfc(?:6455|7692|8441|9220)-\d+(?:\.\d+)*-[a-z0-9]+(?:-[a-z0-9]+)*"
    r"|whatwg-ws-[a-z0-9]+(?:-[a-z0-9]+)*"
    r"|fetch-[a-z0-9]+(?:-[a-z0-9]+)*)"
)


def test_note_cross_references_exist(records: list[Requirement]) -> None:
    ids = {r.id for r in records}
    bad = [
        f"{r.id}: note cites unknown {ref!r}"
        for r in records
        for ref in _ID_REF.findall(r.note or "")
        if ref not in ids
    ]
    _fail("cite ids that do not exist", bad)


# --- (f) links and sections -------------------------------------------------------------


def test_links(records: list[Requirement], spec_texts: None) -> None:
    anchors = {WS: bikeshed_anchors(WS), FETCH: bikeshed_anchors(FETCH) | set(KNOWN_FETCH_ANCHORS)}
    bad = []
    for r in records:
        prefix = LINK_PREFIXES[r.spec]
        if not r.link.startswith(prefix):
            bad.append(f"{r.id}: link {r.link!r} does not start with {prefix!r}")
            continue
        anchor = r.link[len(prefix) :]
        if r.spec in RFCS:
            if anchor != r.section:
                bad.append(f"{r.id}: link section {anchor!r} != section {r.section!r}")
        elif anchor not in anchors[r.spec]:
            bad.append(f"{r.id}: anchor {anchor!r} not defined in the {r.spec} source")
    _fail("have bad links", bad)


def test_whatwg_websockets_sections(records: list[Requirement], spec_texts: None) -> None:
    headings = bikeshed_headings(spec_path(WS).read_text(encoding="utf-8"))
    bad = [
        f"{r.id}: section {r.section!r} / title {r.title!r} (headings: {headings.get(r.section)!r})"
        for r in records
        if r.spec == WS and headings.get(r.section) != r.title
    ]
    _fail("name a WHATWG WebSockets section that does not exist", bad)


# --- (g) the command line lists every spec -----------------------------------------------

HTTP2_HTTP3_SPECS = {RFC8441: "rfc8441", RFC9220: "rfc9220"}


def _run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


@pytest.mark.parametrize(("spec", "prefix"), HTTP2_HTTP3_SPECS.items())
def test_requirements_lists_a_new_spec(
    capsys: pytest.CaptureFixture[str], records: list[Requirement], spec: str, prefix: str
) -> None:
    """``wsconform requirements --spec 8441`` lists exactly RFC 8441's records (9220 alike)."""
    code, out = _run_cli(capsys, "requirements", "--spec", spec.split()[-1])
    listed = [line.split()[0] for line in out.splitlines()]
    assert code == EXIT_OK
    assert listed == [r.id for r in records if r.spec == spec]
    assert listed and all(i.startswith(f"{prefix}-") for i in listed)


@pytest.mark.parametrize(
    ("spec", "prefix", "role"),
    [
        (RFC8441, "rfc8441", "server"),
        (RFC8441, "rfc8441", "client"),
        (RFC9220, "rfc9220", "server"),  # RFC 9220 binds no client beyond RFC 8441
    ],
)
def test_coverage_shows_a_spec_no_case_cites(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    records: list[Requirement],
    spec: str,
    prefix: str,
    role: str,
) -> None:
    """``wsconform coverage --spec 8441``: a row with 0 covered, "no case cites it yet".

    The cases citing the spec (none at first) are left out, so the row is the one a spec
    with records but no case gets, whatever cases later sessions add.
    """
    uncited = [
        case for case in all_cases() if not any(r.startswith(prefix) for r in case.requirements)
    ]
    monkeypatch.setattr(cli_catalog, "all_cases", lambda: uncited)
    monkeypatch.setattr(cli_catalog, "http2_cases", tuple)
    monkeypatch.setattr(cli_catalog, "cited_requirements", frozenset)
    monkeypatch.setattr(cli_catalog, "client_wire_cases", lambda _profile: ())
    parties = cli_catalog.COVERAGE_PARTIES[role]
    testable = [
        r
        for r in records
        if r.spec == spec
        and r.party in parties
        and r.keyword not in {"MAY", "OPTIONAL", "definition"}
        and r.untestable is None
    ]
    code, out = _run_cli(capsys, "coverage", "--role", role, "--spec", spec.split()[-1])
    assert code == EXIT_OK and testable
    assert f"  {spec:<20} {0:>4} of {len(testable):<4} covered (no case cites it yet)" in out
    assert out.splitlines()[-1] == (
        f"0 of {len(testable)} {role}-testable requirements covered by a case; "
        f"{len(testable)} uncovered"
    )
    assert all(f"{r.id} " in out for r in testable)
    assert "rfc6455-" not in out


# --- helpers: Bikeshed anchors and headings ---------------------------------------------

_DFN = re.compile(r"<dfn\b([^>]*)>(.*?)</dfn>", re.DOTALL)
_ATTR = re.compile(r"""([\w-]+)(?:=(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_IDL_TYPES = {"method", "attribute", "constructor", "const", "event", "enum-value", "dict-member"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def bikeshed_anchors(spec: str) -> set[str]:
    """Ids a Bikeshed source defines: ``{#id}``, ``id=``/``oldids=``, and dfn-generated ids."""
    src = spec_path(spec).read_text(encoding="utf-8")
    ids = set(re.findall(r"\{#([\w-]+)\}", src))
    ids |= set(re.findall(r"""\bid=["']?([\w-]+)""", src))
    for group in re.findall(r"""\boldids=["']?([\w,-]+)""", src):
        ids |= set(group.split(","))
    for attrs_src, body in _DFN.findall(src):
        attrs = {m[0]: m[1] or m[2] or m[3] for m in _ATTR.findall(attrs_src)}
        if "id" in attrs:
            continue
        kind = next((k for k in _IDL_TYPES if k in attrs), None)
        owner = attrs.get("for", "")
        lt = attrs.get("lt") or attrs.get("data-lt")
        text = normalise_quote(html.unescape(re.sub(r"<[^>]+>|\|", "", body)))
        name = (lt or text).split("|")[0]
        if kind == "constructor":
            ids.add(f"dom-{owner}-{owner}".lower())
        elif kind == "event":
            ids.add(f"eventdef-{owner}-{name}".lower())
        elif kind is not None:
            ids.add(f"dom-{owner}-{_slug(name.split('(')[0])}".lower())
        else:
            ids.add("-".join(filter(None, [_slug(owner), _slug(name)])))
    return ids


def bikeshed_headings(src: str) -> dict[str, str]:
    """Section number -> rendered title for a markdown Bikeshed source's ``#`` headings."""
    out: dict[str, str] = {}
    counters: list[int] = []
    for m in re.finditer(r"^(#+)[ \t]+(.*?)[ \t]+#+[ \t]*\{#[\w-]+\}[ \t]*$", src, re.MULTILINE):
        level = len(m.group(1))
        counters = counters[:level] + [0] * (level - len(counters))
        counters[level - 1] += 1
        out[".".join(map(str, counters))] = render_bikeshed(m.group(2))
    return out


# --- spec_text unit tests ---------------------------------------------------------------


def test_normalise_rfc_drops_pagination_and_joins_hyphens() -> None:
    text = (
        "   the client MUST be non-\n   normative across a page\n\n\n\n"
        "Fette & Melnikov             Standards Track                    [Page 9]\n\f\n"
        "RFC 6455                 The WebSocket Protocol            December 2011\n\n\n"
        "   boundary and the |Sec-WebSocket-\n   Key| header.\n"
    )
    assert normalise_rfc(text) == (
        "the client MUST be non-normative across a page boundary"
        " and the |Sec-WebSocket-Key| header."
    )


def test_rfc_sections_split_on_column_zero_headings() -> None:
    text = "   1.  Intro . . . 4\n\n1.  Intro\n\n   Body one.\n\n1.1.  Sub\n\n   Body two.\n"
    secs = rfc_sections(text)
    assert list(secs) == ["1", "1.1"]
    assert (secs["1"].title, secs["1"].text) == ("Intro", "Body one.")
    assert secs["1.1"].text == "Body two."


@pytest.mark.parametrize(
    ("source", "rendered"),
    [
        ("[=fail the\n  WebSocket connection=]", "fail the WebSocket connection"),
        ("[=WebSocket/internal-url|url=] and [=url/scheme=]", "url and scheme"),
        (
            "{{WebSocket/close()}} {{CloseEvent}} {{x/constructor(a, b)|WebSocket}}",
            "close() CloseEvent WebSocket",
        ),
        ('|url|\'s "`ws`" and \\``Upgrade`\\`', """url's "ws" and `Upgrade`"""),
        ("<a for=request>mode</a> <var ignore>x</var> &mdash; [[!WSP]]", "mode x — [WSP]"),
        ("# The {{WebSocket}} interface # {#the-websocket-interface}", "The WebSocket interface"),
        (" 1. Let |host| be x.\n * item\n : term\n :: desc", "Let host be x. item term desc"),
        ("<!-- gone --><xmp>sequence<DOMString></xmp>", "sequence<DOMString>"),
    ],
)
def test_render_bikeshed_markdown(source: str, rendered: str) -> None:
    assert render_bikeshed("Markup Shorthands: markdown yes\n" + source).endswith(rendered)


def test_render_bikeshed_without_markdown_keeps_backticks() -> None:
    src = "<li><p>append (`<code>Origin</code>`, <var>serializedOrigin</var>) to it"
    assert render_bikeshed(src) == "append (`Origin`, serializedOrigin) to it"


def test_html_text_sections_split_on_numbered_markdown_headings() -> None:
    text = (
        "RFC 9220   Title   June 2022\n## Abstract\n\nNot a section.\n"
        "## 3. WebSockets Upgrade over HTTP/3 \n\nBody\nreflowed.\n"
        "## 4. Security\nConsiderations\n\nMore.\n## Acknowledgments \n\nThanks.\n"
    )
    secs = html_text_sections(text)
    assert list(secs) == ["3", "4"]
    assert (secs["3"].title, secs["3"].text) == ("WebSockets Upgrade over HTTP/3", "Body reflowed.")
    assert secs["4"].text == "Considerations More."


def test_html_text_spec_is_whitespace_normalised_only(spec_texts: None) -> None:
    """RFC 9220's reflowed text: line breaks become spaces, hyphens and all words stay."""
    text = spec_text_for(RFC9220)
    assert text.startswith("RFC 9220 Bootstrapping WebSockets with HTTP/3 June 2022")
    assert "(Section 15.6.2 of [HTTP])" in text and "\n" not in text


def test_specs_dir_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WSCONFORM_SPECS_DIR", str(tmp_path))
    assert specs_dir() == tmp_path
    monkeypatch.delenv("WSCONFORM_SPECS_DIR")
    assert specs_dir() == Path(__file__).resolve().parents[2] / "shared" / "specs"


def test_missing_spec_texts_skip_outside_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WSCONFORM_SPECS_DIR", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="spec texts not found") as skipped:
        require_spec_texts()
    assert "\n" not in str(skipped.value)


def test_missing_spec_texts_fail_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WSCONFORM_SPECS_DIR", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"rfc6455\.txt"):
        require_spec_texts()


def test_present_spec_texts_neither_skip_nor_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in SPEC_FILES.values():
        (tmp_path / name).write_text("", encoding="utf-8")
    monkeypatch.setenv("WSCONFORM_SPECS_DIR", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    require_spec_texts()


def test_spec_text_for_unknown_spec() -> None:
    with pytest.raises(KeyError, match="unknown spec"):
        spec_text_for("RFC 9999")
