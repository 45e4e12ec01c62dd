"""The HTML report in a real browser: headless Chromium draws it and runs its filter.

Skipped with a one-line reason where Chromium is not installed (CI installs it).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from test_reports import CATALOG, case, make_report

from conformance.model.verdict import Outcome
from conformance.reports.html import render_html
from conformance.results import RunReport

WIDTH, HEIGHT = 1200, 1600
BROWSER_TIMEOUT = 60.0
"""Seconds one headless Chromium run may take (a cold start takes about two)."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_PNG_BYTES = 20_000
"""A blank or error page at this size compresses to a few KiB; a report is far larger."""


def chromium() -> str:
    """The Chromium binary, or skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium is not installed (CI installs it)")
    return found


def run_chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with ``args``; ``--no-sandbox`` when running as root."""
    argv = [chromium(), "--headless=new", "--disable-gpu", "--hide-scrollbars", *args]
    if os.geteuid() == 0:
        argv.insert(2, "--no-sandbox")
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=BROWSER_TIMEOUT, check=False
    )


def synthetic_report() -> RunReport:
    """Every outcome, two sections, the header facts filled in."""
    report = make_report(
        server_command="python -m fixtures.fault_server --port {port}",
        server_header="Python/3.12 websockets/15.0",
        preflight=("answers Ping with Pong (RFC 6455 §5.5.2)",),
    )
    report.results.extend(case(f"ok-{n}", Outcome.PASS, section="5.2") for n in range(40))
    return report


def png_size_and_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG."""
    assert data.startswith(PNG_SIGNATURE)
    offset, width, height, idat = len(PNG_SIGNATURE), 0, 0, b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    return width, height, zlib.decompress(idat)


def test_html_report_screenshot_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(synthetic_report(), CATALOG), "utf-8")
    shot = tmp_path / "report.png"
    done = run_chromium(f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert len(data) > MIN_PNG_BYTES
    width, height, pixels = png_size_and_pixels(data)
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(set(pixels)) > 64  # text, badges and a bar, not one flat colour


def dump_dom(page: Path, fragment: str = "") -> str:
    done = run_chromium("--dump-dom", page.as_uri() + fragment)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "</html>" in done.stdout
    return done.stdout


def test_html_filter_runs_in_headless_chromium(tmp_path: Path) -> None:
    """The script reveals the filter, applies its state, and opens a case linked to."""
    text = render_html(make_report(), CATALOG)
    unticked = text.replace('value="pass" checked', 'value="pass"')
    assert unticked != text
    page = tmp_path / "report.html"
    page.write_text(unticked, "utf-8")
    dom = dump_dom(page, "#case-rfc6455/4.2.1/missing-key")
    assert '<form id="filter" class="filter">' in dom  # no longer hidden
    assert '<tr class="o-pass" data-outcome="pass" data-section="rfc6455 §4.2.1" hidden="">' in dom
    assert '<tr class="o-fail" data-outcome="fail" data-section="rfc6455 §4.2.1">' in dom
    assert 'id="case-rfc6455/4.2.1/missing-key" data-outcome="fail"' in dom
    opened = dom.split('id="case-rfc6455/4.2.1/missing-key"')[1].split(">")[0]
    assert 'open=""' in opened
    closed = dom.split('id="case-rfc6455/4.2.1/error"')[1].split(">")[0]
    assert "open" not in closed
