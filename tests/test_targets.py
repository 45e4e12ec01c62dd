"""The third-party target table (conformance/targets/), its pins, tox envs and launchers.

The runs check what the table promises: every target installed here starts from its
template and answers the opening-handshake cases (``rfc6455/4.2.2``) with no ERROR.
Targets whose Python module or Node package is not installed are skipped, with the
command that installs them.
"""

from __future__ import annotations

import asyncio
import configparser
import json
import re
import tomllib
from pathlib import Path

import pytest

from conformance.cli import targets as targets_cli
from conformance.matrix import NAME_PATTERN, TargetSpec, run_matrix
from conformance.model.verdict import Outcome
from conformance.reports.matrix_html import MatrixEntry
from conformance.runner import select_cases
from conformance.targets import table

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ROOT / "fixtures" / "servers"
NAMES = [target.name for target in table.TARGETS]


def tox_config() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini", encoding="utf-8")
    return config


def test_names_are_unique_and_usable_as_env_and_file_names() -> None:
    assert len(set(NAMES)) == len(NAMES) > 0
    for name in NAMES:
        assert NAME_PATTERN.fullmatch(name), name
        assert re.fullmatch(r"[a-z0-9-]+", name), name


@pytest.mark.parametrize("target", table.TARGETS, ids=NAMES)
def test_row_is_well_formed(target: table.ServerTarget) -> None:
    assert target.runtime in {"python", "node"}
    assert "{port}" in target.command
    assert "{cert}" in target.tls_args and "{key}" in target.tls_args
    assert target.modules and target.pins and target.description
    assert target.launcher.is_file(), target.launcher
    launcher = target.launcher.read_text(encoding="utf-8")
    if target.runtime == "python":
        assert target.command.startswith("{python} -m conformance.targets.launchers.")
        # the launcher's docstring gives its command line
        module = target.command.split()[2]
        assert f"python -m {module}" in launcher and "--port {port}" in launcher
        assert "--cert {cert} --key {key}" in launcher
    else:
        assert target.command.startswith("node fixtures/servers/")
        assert f"node {target.command.split()[1]} PORT [CERT KEY]" in launcher
    for tls in (False, True):
        command = table.server_command(target, tls=tls, python="/x/py", root=Path("/r"))
        command.format(port=1, host="h", cert="c", key="k")  # only known placeholders
        assert command.startswith("cd /r && exec ")


@pytest.mark.parametrize("target", table.TARGETS, ids=NAMES)
def test_every_distribution_is_pinned_exactly(target: table.ServerTarget) -> None:
    versions = table.pinned(target)
    assert set(versions) == set(target.pins)
    for dist, version in versions.items():
        assert re.fullmatch(r"\d+(\.\d+)+", version), f"{dist} is not pinned exactly: {version!r}"


def test_pins_live_in_the_targets_group_and_package_json() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    group = pyproject["dependency-groups"]["targets"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", spec) for spec in group)
    python_dists = {d for t in table.TARGETS if t.runtime == "python" for d in t.pins}
    assert python_dists <= set(table.python_pins())
    package = json.loads((SERVERS / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((SERVERS / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    for name, version in package["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


@pytest.mark.parametrize("target", table.TARGETS, ids=NAMES)
def test_tox_env_installs_the_pins_and_runs_the_target(target: table.ServerTarget) -> None:
    config = tox_config()
    section = f"testenv:target-{target.name}"
    assert config.has_section(section), f"tox.ini lacks [{section}]"
    env = config[section]
    commands = env["commands"].strip()
    report = f"reports-out/{target.name}.json"
    assert commands.startswith(f"python -m conformance.cli.targets --run {target.name} ")
    assert f"--json {report}" in commands
    if target.runtime == "python":
        pins = table.python_pins()
        assert set(env["deps"].split()) == {f"{d}{pins[d]}" for d in target.pins}
    else:
        assert "npm ci --prefix {toxinidir}/fixtures/servers" in env["commands_pre"]
        assert "npm" in env["allowlist_externals"]
    labels = config["tox"]["labels"]
    assert f"target-{target.name}" in re.split(r"[\s,=]+", labels)


def test_list_and_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert targets_cli.main(["--list"]) == 0
    listed = capsys.readouterr().out
    for name in NAMES:
        assert re.search(rf"^{re.escape(name)}\s", listed, re.MULTILINE), name
    assert targets_cli.main(["--list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == NAMES
    assert targets_cli.main(["--command", "aiohttp", "--tls"]) == 0
    assert capsys.readouterr().out.strip() == (
        "python -m conformance.targets.launchers.aiohttp_echo"
        " --port {port} --cert {cert} --key {key}"
    )


def test_run_rejects_an_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert targets_cli.main(["--run", "no-such-server"]) == 2
    assert "NAME is one of" in capsys.readouterr().err


def test_matrix_targets_names_unknown_ones() -> None:
    with pytest.raises(ValueError, match="unknown target"):
        table.matrix_targets(["no-such-server"])


@pytest.fixture(scope="module")
def handshake_runs() -> dict[str, MatrixEntry]:
    """One bounded matrix run of the §4.2.2 cases over every target installed here."""
    specs = []
    for target in table.TARGETS:
        if table.unavailable(target) is None:
            command = table.server_command(target, root=ROOT)
            specs.append(TargetSpec(target.name, command=command))
    if not specs:
        return {}
    cases = select_cases(["rfc6455/4.2.2"])
    matrix = asyncio.run(
        run_matrix(specs, cases, timeout=5.0, jobs=4, jobs_targets=4, startup_timeout=20.0)
    )
    return {entry.name: entry for entry in matrix.entries}


@pytest.mark.network
@pytest.mark.parametrize("target", table.TARGETS, ids=NAMES)
def test_handshake_cases_run_without_error(
    target: table.ServerTarget, handshake_runs: dict[str, MatrixEntry]
) -> None:
    reason = table.unavailable(target)
    if reason is not None:
        pytest.skip(f"{target.name}: {reason}")
    entry = handshake_runs[target.name]
    assert entry.report is not None, f"{target.name} did not run: {entry.error}"
    results = entry.report.results
    assert len(results) == len(select_cases(["rfc6455/4.2.2"]))
    errors = [f"{r.id}: {r.actual}" for r in results if r.outcome is Outcome.ERROR]
    assert not errors, errors


def _fake_target(name: str, command: str) -> table.ServerTarget:
    return table.ServerTarget(name, "python", command, table.PY_TLS, ("h11",), ("h11",), name)


@pytest.mark.network
def test_run_passes_with_fails_and_fails_when_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tox's contract: FAILs are findings (exit 0), an unreachable server is not (3)."""
    fault = "{python} -m fixtures.fault_server --fault accept-rsv --port {port}"
    dead = "{python} -c 'raise SystemExit(7)' --port {port}"
    fakes = (_fake_target("fault", fault), _fake_target("dead", dead))
    monkeypatch.setattr(table, "TARGETS", fakes)
    monkeypatch.chdir(ROOT)
    report = tmp_path / "fault.json"
    options = ["--cases", "rfc6455/5.2", "-q", "--json", str(report)]
    assert targets_cli.main(["--run", "fault", *options]) == 0
    out = capsys.readouterr().out
    assert out.startswith("+ wsconform run --server-cmd ")
    assert "finished with FAIL/ERROR results" in out
    assert json.loads(report.read_text())["summary"]["fail"] > 0
    assert targets_cli.main(["--run", "dead", "--cases", "rfc6455/4.2.2", "-q"]) == 3
    assert "exited with status 7" in capsys.readouterr().err
