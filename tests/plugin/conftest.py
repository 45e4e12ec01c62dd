"""What the plugin's tests share: how inner pytest runs load the plugin, and the servers
they test (each in a background loop for the module's tests)."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Awaitable, Callable, Iterator

import pytest

from conformance.pytest_support import LoopThread
from conformance.reference_server import ReferenceServer, ServerLimits, start_reference_server
from fixtures.fault_server import start_fault_server
from fixtures.variants import variant_by_name

SMALL_MESSAGE_LIMIT = 16 * 1024
"""A reference server refusing bigger messages with 1009: 64 KiB cases are UNSUPPORTED."""


@pytest.fixture(scope="session")
def plugin() -> list[str]:
    """Arguments loading the plugin in inner runs: none if the entry point is installed,
    else ``-p`` by module name."""
    installed = importlib.metadata.entry_points(group="pytest11", name="ws_conformance")
    if installed and not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return []
    # The module is already imported here, so pytest cannot rewrite it: not a problem.
    return ["-p", "conformance.pytest_plugin", "-W", "ignore::pytest.PytestAssertRewriteWarning"]


def serve(start: Callable[[], Awaitable[ReferenceServer]]) -> Iterator[str]:
    """The URL of the server ``start()`` starts, served until the module's tests are done."""
    with LoopThread() as thread:
        server = thread.run(start(), timeout=10)
        thread.enter(server)
        yield server.url


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    yield from serve(start_reference_server)


@pytest.fixture(scope="module")
def fault_url() -> Iterator[str]:
    """Accepts a handshake without a key: ``rfc6455/4.2.1/missing-key`` is a FAIL."""
    yield from serve(lambda: start_fault_server("accept-missing-key"))


@pytest.fixture(scope="module")
def warn_url() -> Iterator[str]:
    """Refuses a bad handshake by closing: ``rfc6455/4.2.1/missing-key`` is a WARN."""
    yield from serve(lambda: start_fault_server("refuse-by-closing"))


@pytest.fixture(scope="module")
def info_url() -> Iterator[str]:
    """Declines what the text leaves open: ``rfc6455/4.2.1/upgrade-token-list`` is INFO."""
    yield from serve(variant_by_name("decline-unexpected-variants").start)


@pytest.fixture(scope="module")
def limit_url() -> Iterator[str]:
    """Refuses a message over 16 KiB with 1009: ``rfc6455/10.4/text-64kib`` is UNSUPPORTED."""
    yield from serve(
        lambda: start_reference_server(limits=ServerLimits(max_message_bytes=SMALL_MESSAGE_LIMIT))
    )
