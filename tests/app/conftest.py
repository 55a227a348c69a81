"""Fixtures of the browser tests: the page served by ``solara run`` on a free port, and
Debian's Chromium driven by Playwright.

They are required tests: when Chromium or Playwright is missing, or the server does not
come up, they fail with a message saying what to install, never skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("FEEDSIM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SERVER_START_S = 60
OUTPUT = ROOT / "test-output" / "app"  # gitignored
DOCS_IMG = ROOT / "docs" / "img"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fill_asset_cache() -> None:
    """Put the page's JavaScript in Solara's cache, so the page loads without the CDN."""
    from sim.app import assets

    assets.ensure_assets()


@pytest.fixture(scope="session")
def app_url():
    """The page served by ``solara run sim.app.page`` in production mode on a free port."""
    try:
        _fill_asset_cache()
    except Exception as exc:  # noqa: BLE001 - any failure here makes every browser test meaningless
        pytest.fail(f"could not fill Solara's asset cache for the browser tests: {exc}")
    port = _free_port()
    solara = Path(sys.executable).with_name("solara")
    cmd = [str(solara), "run", "sim.app.page", "--host", "127.0.0.1", "--port", str(port), "--production", "--no-open"]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = open(OUTPUT / "server.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + SERVER_START_S
    while True:
        if proc.poll() is not None:
            log.close()
            pytest.fail(f"solara run exited with status {proc.returncode}; see {OUTPUT / 'server.log'}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.time() > deadline:
            proc.terminate()
            pytest.fail(f"solara run did not answer on {url} within {SERVER_START_S} s; see {OUTPUT / 'server.log'}")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from Debian (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install playwright (not `playwright install`)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh browser page (with its own model) at the explorer, loaded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.goto(app_url + "/")
    tab.wait_for_selector("[data-testid=page-title]")
    tab.wait_for_selector(".fs-step-count")
    yield tab
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


def save_screenshot(tab, folder: Path, name: str) -> Path:
    """Save a full-page screenshot under the test output folder; with
    FEEDSIM_UPDATE_SCREENSHOTS=1 also copy it to docs/img/ for the README."""
    path = folder / name
    tab.set_viewport_size({"width": 1400, "height": 1300})  # the layout scrolls inside: show more of it
    tab.wait_for_timeout(500)
    tab.screenshot(path=str(path), full_page=True)
    tab.set_viewport_size({"width": 1400, "height": 1000})
    if os.environ.get("FEEDSIM_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMG / name)
    return path
