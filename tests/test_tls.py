"""``wss://``: the driver speaks TLS, trusting a CA given with ``--ca-file`` (§4.1 step 4)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator

import pytest

from conformance.cli import main
from conformance.cli.common import EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE
from conformance.reference_server import start_reference_server
from conformance.tls import TlsFiles, make_tls_files

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def wss_port(tls: TlsFiles) -> Iterator[int]:
    """The reference server over TLS, in a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(
        start_reference_server(ssl=tls.server_context()), loop
    ).result(10)
    yield server.port
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_handshake_section_passes_over_wss(
    tls: TlsFiles, wss_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", f"wss://127.0.0.1:{wss_port}/", "--ca-file", str(tls.ca), "-q"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert " 0 failed" in out and " 0 errors" in out


def test_untrusted_certificate_is_unreachable_not_a_pass(
    wss_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", f"wss://127.0.0.1:{wss_port}/", "-q"])
    err = capsys.readouterr().err
    assert code == EXIT_UNREACHABLE
    assert "TLS handshake" in err and "Traceback" not in err


def test_tls_flag_runs_the_reference_server_over_wss(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--tls", "-q"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert " 0 failed" in out and " 0 errors" in out


def test_tls_flag_passes_cert_and_key_to_the_server_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cmd = (
        f"{sys.executable} -m conformance.reference_server"
        " --port {port} --cert {cert} --key {key}"
    )
    code = main(["run", "--server-cmd", cmd, "--tls", "--cases", "rfc6455/4.2.2", "--no-color"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert "0 failed" in out


def test_tls_flag_with_a_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "wss://127.0.0.1:1/", "--tls"]) == EXIT_USAGE
    assert "--ca-file" in capsys.readouterr().err


def test_plaintext_handshake_to_a_tls_listener_never_passes(
    tls: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    cmd = (
        f"{sys.executable} -m conformance.reference_server --port {{port}} "
        f"--cert {tls.cert} --key {tls.key}"
    )
    code = main(
        [
            "run",
            "--server-cmd",
            cmd,
            "-q",
            "--cases",
            "rfc6455/4.2.1/valid-handshake",
            "--timeout",
            "2",
        ]
    )
    err = capsys.readouterr().err
    assert code == EXIT_UNREACHABLE
    assert err.rstrip().endswith("sent TLS (is this a wss:// port?)")
