"""The dashboard in real headless Chromium: every page renders, no exception, no XSS.

Starts `graphintel dashboard --store duckdb:<tmp> --port <free>` and drives Debian's Chromium
(/usr/bin/chromium) with Playwright. Screenshots go to tests/screenshots/ (git-ignored).
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from graphintel.analytics.pipeline import analyze_store
from graphintel.config import load_settings
from graphintel.store import open_store
from ingest.job import ingest_manifest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "sample_data" / "tiny"
SHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PAYLOAD = "<img src=x onerror=alert(1)>"
PAGES = {
    "overview": "Overview",
    "channels": "Channel network",
    "referrals": "Referral chains",
    "operators": "Operators",
    "flows": "Credit flows",
    "targets": "Targets map",
    "alerts": "Alerts",
    "takedowns": "Takedowns",
    "trainer": "Trainer",
}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hostile_bundle(dst: Path) -> Path:
    """The tiny bundle with room C1's title and account A01's handle set to an XSS payload."""
    shutil.copytree(TINY, dst)
    for name, key, value, col in (
        ("channels.csv", "channel_id", "C1", "title"),
        ("accounts.csv", "account_id", "A01", "handle"),
    ):
        path = dst / name
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for row in rows:
            if row[key] == value:
                row[col] = PAYLOAD
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return dst / "manifest.yaml"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("browser")
    uri = f"duckdb:{tmp / 'graph.duckdb'}"
    settings = load_settings({"GRAPHINTEL_PII_KEY": "test-key"})
    store = open_store(uri, settings)
    try:
        ingest_manifest(_hostile_bundle(tmp / "bundle"), store, settings)
        analyze_store(store)
    finally:
        store.close()
    port = _free_port()
    env = dict(os.environ, GRAPHINTEL_PII_KEY="test-key")
    log = (tmp / "dashboard.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphintel.cli", "dashboard", "--store", uri, "--port", str(port)],
        cwd=tmp,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        proc.wait()
        log.close()
        pytest.fail(f"dashboard did not start: {(tmp / 'dashboard.log').read_text()}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, url: str, path: str, title: str, dialogs: list[str]):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{url}/{path}", wait_until="domcontentloaded")
    page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
    # let Streamlit finish the run and iframes (pyvis) draw
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000
    )
    page.wait_for_timeout(2500)
    return page


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_without_exception(path, dashboard, browser):
    dialogs: list[str] = []
    page = _open(browser, dashboard, "" if path == "overview" else path, PAGES[path], dialogs)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{path}.png"), full_page=True)
    body = page.inner_text("body")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in body
    assert dialogs == []
    # a deep link goes through the router (app.py): its sidebar, with the pages' titles
    assert "Max nodes in network views" in body
    assert "Referral chains" in body and "Credit flows" in body
    page.close()


@pytest.mark.parametrize("path", ["channels", "operators"])
def test_hostile_titles_do_not_run(path, dashboard, browser):
    dialogs: list[str] = []
    page = _open(browser, dashboard, path, PAGES[path], dialogs)
    if path == "channels":
        # select the hostile room: its details (members with the hostile handle) render too
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Select a room")
        box.locator("input").click()
        page.keyboard.type("(C1)")
        page.keyboard.press("Enter")
        page.get_by_text("Room details").wait_for(timeout=20_000)
        page.wait_for_timeout(2500)
        frames = page.frames
        assert any("vis.Network" in (f.content() or "") for f in frames[1:]), "no pyvis iframe"
    for frame in page.frames:
        assert frame.locator("img[src='x']").count() == 0
    page.screenshot(path=str(SHOTS / f"xss_{path}.png"), full_page=True)
    assert dialogs == [], dialogs
    page.close()
