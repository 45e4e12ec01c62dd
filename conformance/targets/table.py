"""The third-party servers the suite runs against: one row per target (the table).

Each target names a launcher (a Python module of :mod:`conformance.targets.launchers`,
shipped in the package, or a Node script of a checkout's ``fixtures/servers``), the
runtime it needs (a Python module importable in the current interpreter, or a Node
package resolvable from ``fixtures/servers``) and the distributions whose pins live in
``pyproject.toml``'s ``targets`` dependency group or in ``fixtures/servers/package.json``
(both in a checkout only: an installed package shows no pins and no Node target).
tox (``tox -e target-NAME``), ``wsconform matrix --builtin-targets``,
``python -m conformance.cli.targets`` and the tests read it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGE_PARENT = Path(__file__).resolve().parents[2]
"""The directory holding the ``conformance`` package: a checkout's root, or site-packages."""
ROOT = PACKAGE_PARENT
"""The checkout's root (where the Node targets' ``fixtures/servers`` is), when there is one."""
PYPROJECT = ROOT / "pyproject.toml"
NODE_SERVERS = ROOT / "fixtures" / "servers"
PACKAGE_JSON = NODE_SERVERS / "package.json"
LAUNCHERS = "conformance.targets.launchers"
NODE_TIMEOUT = 10.0

PY_TLS = " --cert {cert} --key {key}"
NODE_TLS = " {cert} {key}"
H1 = "h1"
H2 = "h2"


@dataclass(frozen=True, slots=True)
class ServerTarget:
    """One server under test.

    ``command`` is a ``--server-cmd`` template (Node ones run from the checkout's
    root): ``{python}`` stands for the interpreter, ``{port}`` (and with TLS ``{cert}`` and
    ``{key}``) are filled in by wsconform. ``modules`` must all be importable (Python)
    or resolvable (Node) for the target to run; ``pins`` are the distributions pinned
    in pyproject's ``targets`` group (Python) or package.json (Node); ``shown`` are
    further distributions whose installed versions the reports name. ``transports``
    are the ``--transport`` values the launcher serves: every row speaks HTTP/1.1
    (``h1``); ``h2`` when the same command also serves RFC 8441 extended CONNECT over
    HTTP/2 (h2c with prior knowledge, and ALPN ``h2`` with TLS).
    """

    name: str
    runtime: str  # "python" or "node"
    command: str
    tls_args: str
    modules: tuple[str, ...]
    pins: tuple[str, ...]
    description: str
    shown: tuple[str, ...] = ()
    transports: tuple[str, ...] = (H1,)

    @property
    def launcher(self) -> Path:
        """The launcher file: a module of the package, or a Node script of the checkout."""
        if self.runtime == "node":
            return ROOT / self.command.split()[1]
        module = self.command.split(" -m ", 1)[1].split()[0]
        return PACKAGE_PARENT / (module.replace(".", "/") + ".py")


def _py(
    name: str,
    launcher: str,
    modules: tuple[str, ...],
    pins: tuple[str, ...],
    what: str,
    extra: str = "",
    shown: tuple[str, ...] = (),
    transports: tuple[str, ...] = (H1,),
) -> ServerTarget:
    command = f"{{python}} -m {LAUNCHERS}.{launcher}{extra} --port {{port}}"
    return ServerTarget(name, "python", command, PY_TLS, modules, pins, what, shown, transports)


def _node(
    name: str,
    script: str,
    package: str,
    what: str,
    shown: tuple[str, ...] = (),
    transports: tuple[str, ...] = (H1,),
) -> ServerTarget:
    command = f"node fixtures/servers/{script} {{port}}"
    return ServerTarget(
        name, "node", command, NODE_TLS, (package,), (package,), what, shown, transports
    )


UVICORN_WS = "uvicorn.protocols.websockets."
TARGETS: tuple[ServerTarget, ...] = (
    _py("websockets", "python_websockets", ("websockets",), ("websockets",),
        "websockets, asyncio server (websockets.asyncio.server.serve)"),
    _py("websockets-sync", "websockets_sync", ("websockets",), ("websockets",),
        "websockets, threaded server (websockets.sync.server.serve)"),
    _py("aiohttp", "aiohttp_echo", ("aiohttp",), ("aiohttp",),
        "aiohttp web.WebSocketResponse"),
    _py("tornado", "tornado_echo", ("tornado",), ("tornado",),
        "tornado WebSocketHandler"),
    _py("uvicorn-websockets", "uvicorn_echo", ("uvicorn", UVICORN_WS + "websockets_impl"),
        ("uvicorn", "websockets"), "uvicorn --ws websockets, ASGI echo app",
        " --ws websockets"),
    _py("uvicorn-websockets-sansio", "uvicorn_echo",
        ("uvicorn", UVICORN_WS + "websockets_sansio_impl"), ("uvicorn", "websockets"),
        "uvicorn --ws websockets-sansio, ASGI echo app", " --ws websockets-sansio"),
    _py("uvicorn-wsproto", "uvicorn_echo", ("uvicorn", UVICORN_WS + "wsproto_impl"),
        ("uvicorn",), "uvicorn --ws wsproto, ASGI echo app", " --ws wsproto", ("wsproto",)),
    _py("hypercorn", "hypercorn_echo", ("hypercorn",), ("hypercorn",),
        "hypercorn (asyncio worker, wsproto), ASGI echo app", shown=("wsproto",),
        transports=(H1, H2)),
    _py("daphne", "daphne_echo", ("daphne",), ("daphne",),
        "daphne (Twisted, autobahn's protocol), ASGI echo app", shown=("autobahn", "twisted")),
    _py("autobahn", "autobahn_echo", ("autobahn",), ("autobahn",),
        "autobahn-python, asyncio WebSocketServerProtocol"),
    _py("picows", "picows_echo", ("picows",), ("picows",),
        "picows, websockets-compatible server (picows.websockets)"),
    _py("picows-core", "picows_core", ("picows",), ("picows",),
        "picows, core frame-level API (README echo)"),
    _node("node-ws", "node_ws.js", "ws", "Node ws WebSocketServer"),
    _node("faye-websocket", "faye_websocket.js", "faye-websocket",
          "Node faye-websocket (websocket-driver)",
          shown=("websocket-driver", "permessage-deflate")),
)  # fmt: skip
H2_ONLY_TARGETS: tuple[ServerTarget, ...] = (
    _node("node-ws-h2", "node_h2_ws.js", "ws",
          "Node http2 (enableConnectProtocol) handing each CONNECT stream to ws",
          transports=(H2,)),
)  # fmt: skip
"""Targets that serve only HTTP/2: kept out of :data:`TARGETS`, which the matrix and tox
run over HTTP/1.1, until the matrix takes a ``--transport``."""


def by_name() -> dict[str, ServerTarget]:
    return {target.name: target for target in TARGETS}


def _requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].strip().lower().replace("_", "-")


def python_pins(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """``{distribution: "==version"...}`` from pyproject's ``targets`` dependency group.

    Empty when there is no ``pyproject.toml`` (an installed package, not a checkout).
    """
    if not pyproject.is_file():
        return {}
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    group = data.get("dependency-groups", {}).get("targets", [])
    return {
        _requirement_name(spec): spec[len(_requirement_name(spec)) :].strip()
        for spec in group
        if isinstance(spec, str)
    }


def node_pins(package_json: Path = PACKAGE_JSON) -> dict[str, str]:
    """``{package: version}`` from fixtures/servers/package.json (empty without a checkout)."""
    if not package_json.is_file():
        return {}
    data = json.loads(package_json.read_text(encoding="utf-8"))
    deps: dict[str, str] = data.get("dependencies", {})
    return dict(deps)


def pinned(target: ServerTarget) -> dict[str, str]:
    """The exact pinned version of each of ``target.pins`` ("" when not pinned exactly)."""
    pins = node_pins() if target.runtime == "node" else python_pins()
    result = {}
    for dist in target.pins:
        spec = pins.get(dist, "")
        if target.runtime == "python":
            spec = spec[2:] if spec.startswith("==") else ""
        result[dist] = spec
    return result


def _node_query(expression: str) -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    try:
        done = subprocess.run(
            [node, "-e", expression],
            cwd=NODE_SERVERS,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _node_version(package: str) -> str | None:
    return _node_query(
        f"process.stdout.write(require({json.dumps(package + '/package.json')}).version)"
    )


def unavailable(target: ServerTarget) -> str | None:
    """Why ``target`` cannot run here, or None when it can."""
    if target.runtime == "node":
        if not target.launcher.is_file():
            return f"{target.launcher.name} ships only with a ws-conformance checkout"
        if shutil.which("node") is None:
            return "node is not on PATH"
        for package in target.modules:
            if _node_version(package) is None:
                return (
                    f"Node package {package!r} is not installed (npm ci --prefix fixtures/servers)"
                )
        return None
    for module in target.modules:
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        if found is None:
            pins = " ".join(f"{d}{python_pins().get(d, '')}" for d in target.pins)
            return f"Python module {module!r} is not importable (pip install {pins})"
    return None


def installed_versions(target: ServerTarget) -> dict[str, str]:
    """The installed version of each pinned and shown distribution (missing ones left out)."""
    versions: dict[str, str] = {}
    for dist in (*target.pins, *target.shown):
        if target.runtime == "node":
            version = _node_version(dist)
        else:
            try:
                version = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                version = None
        if version:
            versions[dist] = version
    return versions


def version_label(target: ServerTarget) -> str:
    """``"uvicorn 0.54.0, websockets 17.4"``: what the reports call the server."""
    return ", ".join(f"{d} {v}" for d, v in installed_versions(target).items())


def server_command(
    target: ServerTarget,
    *,
    tls: bool = False,
    python: str = sys.executable,
    root: Path | None = None,
) -> str:
    """The ``--server-cmd`` template for ``target``.

    ``python`` replaces ``{python}``; with ``root`` the command first changes to that
    checkout (a Node target needs it when the caller's directory is elsewhere).
    """
    quoted = shlex.quote(python).replace("{", "{{").replace("}", "}}")
    command = target.command.replace("{python}", quoted) + (target.tls_args if tls else "")
    if root is not None:
        where = shlex.quote(str(root)).replace("{", "{{").replace("}", "}}")
        command = f"cd {where} && exec {command}"
    return command


def matrix_targets(
    names: Sequence[str] = (), *, tls: bool = False, python: str = sys.executable
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """For ``wsconform matrix --builtin-targets``: (runnable, skipped).

    Runnable: ``(name, --server-cmd template, version label)``; skipped:
    ``(name, reason)``. ``names`` selects targets (all if empty); an unknown name is
    a ValueError.
    """
    table = by_name()
    unknown = [name for name in names if name not in table]
    if unknown:
        raise ValueError(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(table)}")
    elsewhere = Path.cwd().resolve() != ROOT
    runnable: list[tuple[str, str, str]] = []
    skipped: list[tuple[str, str]] = []
    for target in (table[name] for name in names) if names else TARGETS:
        reason = unavailable(target)
        if reason:
            skipped.append((target.name, reason))
        else:
            root = ROOT if elsewhere and target.runtime == "node" else None
            command = server_command(target, tls=tls, python=python, root=root)
            runnable.append((target.name, command, version_label(target)))
    return runnable, skipped
