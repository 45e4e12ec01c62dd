"""JUnit XML for CI dashboards.

One ``<testsuites>`` holding one overall ``<testsuite name="ws-conformance">``; every
case is a ``<testcase name="<case id>" classname="<spec>.<section>">``, so dashboards
that group by class name group the cases by spec section.

* FAIL: ``<failure>`` whose text is the terminal evidence block;
* ERROR: ``<error>``;
* UNSUPPORTED: ``<skipped>``;
* WARN, INFO: a pass with the block in ``<system-out>``; a WARN is a ``<failure>``
  when the run is strict.

All text is made printable first (no raw control bytes: evidence is a hex dump) and any
character XML 1.0 forbids is replaced, so the document always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from os import PathLike

from ..catalog import Catalog, load_catalog
from ..model.verdict import Outcome
from ..results import CaseResult, RunReport
from .evidence import one_line, printable
from .terminal import render_case

StrPath = str | PathLike[str]

SUITE_NAME = "ws-conformance"

_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` made printable, with anything left that XML 1.0 forbids replaced by U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", printable(text))


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _counts_as_failure(result: CaseResult, strict: bool) -> bool:
    return result.outcome is Outcome.FAIL or (strict and result.outcome is Outcome.WARN)


def _testcase(
    parent: ET.Element, result: CaseResult, report: RunReport, catalog: Catalog | None
) -> None:
    classname = f"{result.spec}.{result.section}" if result.section else result.spec
    case = ET.SubElement(
        parent,
        "testcase",
        name=xml_text(result.id),
        classname=xml_text(classname),
        time=_seconds(result.duration_s),
    )
    if result.outcome is Outcome.PASS:
        return
    block = xml_text(render_case(result, catalog, report.target_url, color=False))
    message = xml_text(f"expected {one_line(result.expected)}; actual {one_line(result.actual)}")
    kind = result.outcome.name
    if _counts_as_failure(result, report.strict):
        ET.SubElement(case, "failure", message=message, type=kind).text = block
    elif result.outcome is Outcome.ERROR:
        ET.SubElement(case, "error", message=message, type=kind).text = block
    elif result.outcome is Outcome.UNSUPPORTED:
        ET.SubElement(case, "skipped", message=message)
        ET.SubElement(case, "system-out").text = block
    else:
        ET.SubElement(case, "system-out").text = block


def _default_catalog() -> Catalog | None:
    """The installed catalog, or None when it cannot be read (ids are then shown bare)."""
    try:
        return load_catalog()
    except (OSError, ValueError):
        return None


def to_junit_xml(report: RunReport, catalog: Catalog | None = None) -> str:
    """The JUnit document (with an XML declaration).

    ``catalog`` supplies the requirement quotes in the failure texts; by default the
    one in ``spec_refs/`` is loaded.
    """
    if catalog is None:
        catalog = _default_catalog()
    failures = sum(_counts_as_failure(r, report.strict) for r in report.results)
    errors = sum(r.outcome is Outcome.ERROR for r in report.results)
    skipped = sum(r.outcome is Outcome.UNSUPPORTED for r in report.results)
    totals = {
        "tests": str(len(report.results)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
        "time": _seconds(report.duration_s),
    }
    root = ET.Element("testsuites", {"name": SUITE_NAME, **totals})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE_NAME, **totals})
    if report.started_at:
        suite.set("timestamp", xml_text(report.started_at))
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", report.target_url),
        ("role", report.role),
        ("tool", f"{report.tool_name} {report.tool_version}"),
        ("strict", str(report.strict).lower()),
    ):
        ET.SubElement(properties, "property", name=name, value=xml_text(value))
    for result in report.results:
        _testcase(suite, result, report, catalog)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def write_junit(report: RunReport, path: StrPath, catalog: Catalog | None = None) -> None:
    """Write :func:`to_junit_xml` to ``path`` as UTF-8 (``catalog`` as there)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(to_junit_xml(report, catalog))
