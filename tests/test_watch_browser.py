"""The Alerts and Takedowns pages in real headless Chromium: they render, hostile titles stay text,
and an alert's link opens its room in the Channel network.

Store: ``tests/data/watch/base`` with room R1's title and account W1's handle set to an XSS payload
(R1's title still contains the watched keyword ``school``), watched and alerted as in
``tests/test_watch_dashboard.py``.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from graphintel import watch
from graphintel.analytics.pipeline import analyze_store
from graphintel.config import load_settings
from graphintel.neo4j_server import free_local_port
from graphintel.store import open_store
from ingest.job import ingest_manifest
from ingest.pseudonymise import pii_key
from tests.test_dashboard_browser import ARGS, CHROMIUM, PAYLOAD, SHOTS, _open

pytestmark = pytest.mark.browser

BASE = Path(__file__).resolve().parent / "data" / "watch" / "base"


def _hostile(dst: Path) -> Path:
    shutil.copytree(BASE, dst)
    for name, key, value, col, text in (
        ("channels.csv", "channel_id", "R1", "title", f"{PAYLOAD} school room"),
        ("accounts.csv", "account_id", "W1", "handle", PAYLOAD),
    ):
        path = dst / name
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for row in rows:
            if row[key] == value:
                row[col] = text
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return dst


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("watchbrowser")
    uri = f"duckdb:{tmp / 'graph.duckdb'}"
    settings = load_settings({"GRAPHINTEL_PII_KEY": "test-key", "GRAPHINTEL_WORKSPACE": str(tmp)})
    store = open_store(uri, settings)
    try:
        ingest_manifest(_hostile(tmp / "bundle"), store, settings)
        analyze_store(store)  # the Channel network page needs analytics
        for kind, values in [("org", ["O1"]), ("account", ["W1"]), ("keyword", ["school"])]:
            stored = watch.normalise_watch_values(kind, values, pii_key=pii_key(settings))
            watch.add_watches(store, watch.watch_frame(kind, stored))
        assert len(watch.run_alerts(store)) == 9  # 1 org, 5 W1, 1 reappearance, 2 titles
    finally:
        store.close()
    port = free_local_port()
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


@pytest.mark.parametrize(("path", "title"), [("alerts", "Alerts"), ("takedowns", "Takedowns")])
def test_page_renders_and_hostile_text_stays_text(path, title, dashboard, browser):
    dialogs: list[str] = []
    page = _open(browser, dashboard, path, title, dialogs)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"watch_{path}.png"), timeout=120_000)
    body = page.inner_text("body")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in body
    if path == "alerts":
        assert "Showing 9 of 9 alerts" in body
    else:
        assert "Still circulating" in body
    for frame in page.frames:
        assert frame.locator("img[src='x']").count() == 0
    assert dialogs == []
    page.close()


def test_alert_link_opens_the_room(dashboard, browser):
    dialogs: list[str] = []
    page = _open(browser, dashboard, "alerts", "Alerts", dialogs)
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Alert")
    box.locator("input").last.click()
    page.keyboard.type("watched_keyword_title")
    page.keyboard.press("Enter")
    link = page.get_by_role("link", name="Room R1 in the Channel network")
    link.wait_for(timeout=20_000)
    link.click()
    page.get_by_text("Room details").wait_for(timeout=30_000)
    assert "/channels" in page.url and "room=R1" in page.url
    page.wait_for_timeout(2000)
    assert page.locator('[data-testid="stException"]').count() == 0
    for frame in page.frames:
        assert frame.locator("img[src='x']").count() == 0
    page.screenshot(path=str(SHOTS / "watch_alert_link.png"), timeout=120_000)
    assert dialogs == []
    page.close()
