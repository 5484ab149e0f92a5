"""The dashboard in real headless Chromium: every page renders, no exception, no XSS.

Starts `graphintel dashboard --store duckdb:<tmp> --port <free>` and drives Debian's Chromium
(/usr/bin/chromium) with Playwright. Screenshots go to tests/screenshots/ (git-ignored).
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

from graphintel.analytics.pipeline import analyze_store
from graphintel.config import load_settings
from graphintel.neo4j_server import free_local_port
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
    page.screenshot(path=str(SHOTS / f"{path}.png"), full_page=True, timeout=120_000)
    body = page.inner_text("body")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in body
    assert dialogs == []
    # network views: vis-network comes from the dashboard's own static files and draws
    networks = [f for f in page.frames[1:] if f.locator("#mynetwork").count()]
    if path in ("channels", "referrals"):
        assert len(networks) == 1, path
    for frame in networks:
        assert frame.locator("#mynetwork canvas").count() == 1, path
        assert frame.evaluate("typeof vis.Network") == "function"
        srcs = frame.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
        assert any(s.endswith("/app/static/vis-network.min.js") for s in srcs), srcs
    # a deep link goes through the router (app.py): its sidebar, with the pages' titles
    assert "Ranks and explains; it never labels anyone guilty" in body
    # the node cap is offered where there is a network view
    shows_cap = "Max nodes in network views" in body
    assert shows_cap == (path in ("channels", "referrals", "flows", "trainer")), path
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
    page.screenshot(path=str(SHOTS / f"xss_{path}.png"), full_page=True, timeout=120_000)
    assert dialogs == [], dialogs
    page.close()


def _own_host(url: str, base: str) -> bool:
    from urllib.parse import urlparse

    u, b = urlparse(url), urlparse(base)
    if u.scheme in ("data", "blob", "about", "javascript"):
        return True
    return (u.scheme, u.hostname, u.port) == (b.scheme, b.hostname, b.port)


def test_no_request_leaves_the_machine(dashboard, browser):
    """Every page, clicked through: every request the browser makes goes to the dashboard."""
    requests: list[str] = []
    for path, title in PAGES.items():
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(
            f"{dashboard}/{'' if path == 'overview' else path}",
            wait_until="domcontentloaded",
            timeout=120_000,
        )
        page.get_by_role("heading", name=title).first.wait_for(timeout=120_000)
        page.wait_for_function(
            "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
        )
        page.wait_for_load_state("networkidle", timeout=120_000)
        page.wait_for_timeout(2500)
        page.close()
    assert requests, "no request recorded"
    foreign = sorted({r for r in requests if not _own_host(r, dashboard)})
    assert foreign == [], foreign


def _start_dashboard(uri: str, cwd: Path) -> tuple[subprocess.Popen, str, object]:
    port = free_local_port()
    env = dict(os.environ, GRAPHINTEL_PII_KEY="test-key")
    log = (cwd / "dashboard.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphintel.cli", "dashboard", "--store", uri, "--port", str(port)],
        cwd=cwd,
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
                    return proc, url, log
        except OSError:
            time.sleep(0.5)
    proc.kill()
    proc.wait()
    log.close()
    pytest.fail(f"dashboard did not start: {(cwd / 'dashboard.log').read_text()}")


def _accounts_metric(page) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text="Accounts").first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_ingest_and_analyze_while_the_dashboard_reads(tmp_path, browser):
    """A real dashboard process keeps the DuckDB file open; `graphintel ingest` and `analyze`
    of a second bundle succeed meanwhile, and the open page shows the new data on its next run."""
    from tests.test_dataset import SECOND

    uri = f"duckdb:{tmp_path / 'graph.duckdb'}"
    env = dict(os.environ, GRAPHINTEL_PII_KEY="test-key")
    cli = [sys.executable, "-m", "graphintel.cli"]
    for args in (["ingest", str(TINY / "manifest.yaml")], ["analyze"]):
        subprocess.run([*cli, *args, "--store", uri], env=env, check=True, capture_output=True)
    second = tmp_path / "second"
    second.mkdir()
    for name, text in SECOND.items():
        (second / name).write_text(text, encoding="utf-8")

    proc, url, log = _start_dashboard(uri, tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("heading", name="Overview").first.wait_for(timeout=30_000)
        page.wait_for_function(
            "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000
        )
        assert _accounts_metric(page) == "13"
        for args in (
            ["ingest", str(second / "manifest.yaml"), "--no-progress"],
            ["analyze"],
        ):
            done = subprocess.run(  # noqa: PLW1510 - the return code is asserted below
                [*cli, *args, "--store", uri], env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, done.stdout + done.stderr
        deadline = time.time() + 60
        seen = _accounts_metric(page)
        while seen != "14" and time.time() < deadline:
            page.reload(wait_until="domcontentloaded")
            page.get_by_role("heading", name="Overview").first.wait_for(timeout=30_000)
            page.wait_for_function(
                "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000
            )
            seen = _accounts_metric(page)
        assert seen == "14"
        assert "Traceback" not in page.inner_text("body")
        page.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
