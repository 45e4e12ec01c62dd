"""What a browser is started with: its executable, environment, flags or prefs and trust.

Silence: :data:`CHROMIUM_FLAGS` and :data:`FIREFOX_PREFS` turn off or point at a blocked
loopback port every background service seen to look up a name (updaters, remote settings,
telemetry, safe browsing, new-tab feeds, captive portal and connectivity checks).

Trust: a CA is imported into the browser's own NSS database with ``certutil``
(libnss3-tools): ``$HOME/.pki/nssdb`` for Chromium, the profile for Firefox. A ``spki``
pin adds Chromium's ``--ignore-certificate-errors-spki-list`` (trusts one key).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Final

BINARIES: Final = {
    "chromium": ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"),
    "firefox": ("firefox", "firefox-esr"),
}
TOOL_TIMEOUT = 10.0
"""Seconds for ``--version`` and each ``certutil`` run."""
STDERR_TAIL = 4096
CA_NICKNAME = "ws-conformance"
PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)

CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--no-proxy-server",
    "--password-store=basic",
    "--disable-dev-shm-usage",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--disable-features=Translate,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying",
    "--host-resolver-rules=MAP *.invalid ~NOTFOUND",
    # --disable-component-update leaves an update check: send it to a blocked loopback port
    "--component-updater=url-source=http://127.0.0.1:9/",
)

FIREFOX_PREFS: Final[dict[str, bool | int | str]] = {
    # updates, studies, add-ons
    "app.update.auto": False,
    "app.update.checkInstallTime": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "app.normandy.api_url": "",
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.systemAddon.update.url": "",
    "extensions.pocket.enabled": False,
    "media.gmp-manager.url": "http://127.0.0.1:9/",
    "media.gmp-manager.chromium-update-url": "http://127.0.0.1:9/",
    "media.gmp-gmpopenh264.enabled": False,
    "media.gmp-widevinecdm.enabled": False,
    # honoured with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 in the environment
    "services.settings.server": "http://127.0.0.1:9/v1",
    "browser.search.update": False,
    "browser.region.update.enabled": False,
    "browser.region.network.url": "",
    "geo.provider.network.url": "",
    "identity.fxaccounts.enabled": False,
    "dom.push.enabled": False,
    "dom.push.connection.enabled": False,
    "dom.push.serverURL": "",
    "browser.translations.enable": False,
    # telemetry
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": "",
    "toolkit.telemetry.coverage.opt-out": True,
    "toolkit.coverage.endpoint.base": "",
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.usage.uploadEnabled": False,
    "browser.ping-centre.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    # captive portal, connectivity, safe browsing, certificate-error probes
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "captivedetect.canonicalURL": "",
    "network.manage-offline-status": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.passwords.enabled": False,
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "security.certerrors.mitm.priming.enabled": False,
    "security.OCSP.enabled": 0,
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "security.enterprise_roots.enabled": False,
    # prefetching, speculative connections, DoH, proxies, HTTP/3
    "network.prefetch-next": False,
    "network.dns.disablePrefetch": True,
    "network.predictor.enabled": False,
    "network.http.speculative-parallel-limit": 0,
    "browser.places.speculativeConnect.enabled": False,
    "browser.urlbar.speculativeConnect.enabled": False,
    "network.trr.mode": 5,
    "network.proxy.type": 0,
    "network.http.http3.enable": False,
    "browser.send_pings": False,
    # first-run pages and prompts
    "browser.startup.page": 0,
    "browser.startup.homepage": "about:blank",
    "browser.startup.homepage_override.mstone": "ignore",
    "startup.homepage_welcome_url": "",
    "startup.homepage_welcome_url.additional": "",
    "datareporting.policy.firstRunURL": "",
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.unifiedAds.endpoint": "http://127.0.0.1:9/",
    "browser.newtabpage.activity-stream.discoverystream.endpoints": "http://127.0.0.1:9/",
    "browser.newtabpage.activity-stream.feeds.section.topstories": False,
    "browser.newtabpage.activity-stream.feeds.topsites": False,
    "browser.newtabpage.activity-stream.showSponsored": False,
    "browser.newtabpage.activity-stream.showSponsoredTopSites": False,
    "browser.topsites.contile.enabled": False,
    "browser.urlbar.quicksuggest.enabled": False,
    "browser.urlbar.merino.endpointURL": "",
    "browser.shell.checkDefaultBrowser": False,
    "browser.sessionstore.resume_from_crash": False,
    "toolkit.startup.max_resumed_crashes": -1,
    "browser.discovery.enabled": False,
    "browser.tabs.warnOnClose": False,
}


class AdapterError(Exception):
    """The adapter cannot go on (no browser, no page, no trust store)."""


def find_browser(name: str) -> str | None:
    """The first of the usual executables for ``name`` on PATH, or None."""
    for candidate in BINARIES.get(name, ()):
        found = shutil.which(candidate)
        if found is not None:
            return found
    return None


def firefox_user_js() -> str:
    """The ``user.js`` of a fresh Firefox profile: nothing phones home, no first-run pages."""
    return "".join(
        f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in FIREFOX_PREFS.items()
    )


def browser_environment(home: Path) -> dict[str, str]:
    """The browser's environment: a fresh ``HOME`` and XDG directories, crash reports off."""
    env = dict(os.environ)
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        env.pop(name, None)
        env.pop(name.upper(), None)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        MOZ_CRASHREPORTER_DISABLE="1",
        MOZ_REMOTE_SETTINGS_DEVTOOLS="1",  # lets services.settings.server point to loopback
        MOZ_NO_REMOTE="1",
    )
    for sub in (".config", ".cache", ".local/share"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return env


async def run_tool(argv: list[str], env: dict[str, str] | None = None) -> str:
    """Run a helper to completion within :data:`TOOL_TIMEOUT`; its stdout, or AdapterError."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise AdapterError(f"cannot run {argv[0]}: {exc}") from None
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), TOOL_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise AdapterError(f"{argv[0]} did not finish within {TOOL_TIMEOUT:g} s") from None
    text = output.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise AdapterError(f"{' '.join(argv)} failed ({proc.returncode}): {text[-STDERR_TAIL:]}")
    return text


async def install_ca(nssdb: Path, ca_pem: bytes) -> None:
    """Create an NSS database in ``nssdb`` trusting each certificate of ``ca_pem`` for TLS."""
    certutil = shutil.which("certutil")
    if certutil is None:
        raise AdapterError("certutil not found: install libnss3-tools to trust a ca_file")
    certificates = PEM_CERT.findall(ca_pem)
    if not certificates:
        raise AdapterError("the ca_file holds no PEM certificate")
    nssdb.mkdir(parents=True, exist_ok=True)
    db = f"sql:{nssdb}"
    await run_tool([certutil, "-N", "-d", db, "--empty-password"])
    for index, certificate in enumerate(certificates):
        pem = nssdb / f"ca-{index}.pem"
        pem.write_bytes(certificate + b"\n")
        nickname = CA_NICKNAME if index == 0 else f"{CA_NICKNAME}-{index}"
        await run_tool([certutil, "-A", "-d", db, "-n", nickname, "-t", "C,,", "-i", str(pem)])


async def browser_version(name: str, binary: str) -> str:
    """``"Chromium 156.0.8078.73 (headless)"`` from ``--version`` (the binary's name if none)."""
    with (
        tempfile.TemporaryDirectory(prefix="ws-conformance-version-") as home,
        contextlib.suppress(AdapterError),
    ):
        output = await run_tool([binary, "--version"], browser_environment(Path(home)))
        for line in output.splitlines():
            found = re.match(r"\s*([A-Za-z]\D*\d+(?:\.\d+)+\S*)", line)
            if found:
                return f"{found.group(1)} (headless)"
    return f"{name} {Path(binary).name} (headless)"


async def browser_argv(
    name: str,
    binary: str,
    url: str,
    home: Path,
    profile: Path,
    *,
    ca_pem: bytes | None,
    spki: str | None,
) -> list[str]:
    """The command line opening ``url`` in browser ``name`` on ``profile``, once the browser
    trusts ``ca_pem`` (Chromium's NSS database is under ``home``)."""
    if name == "chromium":
        if ca_pem is not None and (spki is None or shutil.which("certutil")):
            await install_ca(home / ".pki" / "nssdb", ca_pem)
        argv = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        if spki is not None:
            argv.append(f"--ignore-certificate-errors-spki-list={spki}")
        argv.append(url)
    else:
        (profile / "user.js").write_text(firefox_user_js())
        if ca_pem is not None:
            await install_ca(profile, ca_pem)
        argv = [binary, "--headless", "--no-remote", "--profile", str(profile), url]
    return argv
