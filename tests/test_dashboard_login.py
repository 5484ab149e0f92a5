"""Dashboard logins in real headless Chromium: the form, a wrong password, lock-out, logout,
the audit entries they leave, and the refusal to serve another address without users."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from graphintel.neo4j_server import free_local_port
from graphintel.users import UserFile
from tests.test_dashboard_browser import ARGS, CHROMIUM, TINY

pytestmark = pytest.mark.browser


def _serve(tmp: Path, env: dict, uri: str):
    port = free_local_port()
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
                    return proc, log, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    proc.wait()
    log.close()
    pytest.fail(f"dashboard did not start: {(tmp / 'dashboard.log').read_text()}")


def _stop(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium`")
    tmp = tmp_path_factory.mktemp("login")
    ws = tmp / "ws"
    env = dict(
        os.environ,
        GRAPHINTEL_PII_KEY="test-key",
        GRAPHINTEL_WORKSPACE=str(ws),
        GRAPHINTEL_LOGIN_ATTEMPTS="3",
        GRAPHINTEL_LOCKOUT_MINUTES="30",
    )
    env.pop("GRAPHINTEL_AUDIT_LOG", None)
    uri = f"duckdb:{tmp / 'graph.duckdb'}"
    for args in (["ingest", str(TINY), "--no-progress"], ["analyze"]):
        subprocess.run(
            [sys.executable, "-m", "graphintel.cli", *args, "--store", uri],
            env=env,
            check=True,
            capture_output=True,
        )
    users = UserFile(ws / "users.json")
    users.add("ana", "admin", "ana-secret-1")
    users.add("mallory", "admin", "mallory-secret-1")
    users.add("audrey", "auditor", "audrey-secret-1")
    proc, log, url = _serve(tmp, env, uri)
    yield url, ws
    _stop(proc, log)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _form(browser, url: str, path: str = ""):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/{path}", wait_until="domcontentloaded")
    page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    return page


def _log_in(page, name: str, password: str) -> None:
    page.get_by_role("textbox", name="Username").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _entries(ws: Path) -> list[dict]:
    path = ws / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_every_page_asks_for_a_login(site, browser):
    url, _ = site
    for path in ("", "operators", "referrals"):  # deep links too
        page = _form(browser, url, path)
        body = page.inner_text("body")
        assert "Log in" in body and "Operators" not in body and "A01" not in body
        page.close()


def test_login_and_logout(site, browser):
    url, ws = site
    page = _form(browser, url, "operators")
    _log_in(page, "ana", "ana-secret-1")
    page.get_by_text("Logged in as").wait_for(timeout=30_000)
    page.get_by_role("heading", name="Overview").first.wait_for(timeout=30_000)
    assert "Audit" in page.inner_text("body")  # admins get the Audit page
    page.get_by_role("link", name="Operators").first.click()  # the session survives navigation
    page.get_by_role("heading", name="Operators").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    actions = [(e["user"], e["action"]) for e in _entries(ws)]
    assert ("ana", "login") in actions and ("ana", "logout") in actions
    assert "ana-secret-1" not in (ws / "audit.jsonl").read_text()
    page.close()


def test_wrong_password_and_unknown_name_read_the_same(site, browser):
    url, ws = site
    page = _form(browser, url)
    _log_in(page, "ana", "not-her-password")
    page.get_by_text("Unknown username or wrong password.").wait_for(timeout=30_000)
    first = page.locator('[data-testid="stAlert"]').inner_text()
    _log_in(page, "nobody-here", "whatever-1")
    page.wait_for_timeout(1500)
    page.get_by_text("Unknown username or wrong password.").wait_for(timeout=30_000)
    second = page.locator('[data-testid="stAlert"]').inner_text()
    assert first == second
    assert "Logged in as" not in page.inner_text("body")
    failed = [e for e in _entries(ws) if e["action"] == "login_failed"]
    assert {e["user"] for e in failed} >= {"ana", "nobody-here"}
    page.close()


def _failures(ws, name: str) -> int:
    return sum(1 for e in _entries(ws) if e["action"] == "login_failed" and e["user"] == name)


def test_lock_out_after_three_failures(site, browser):
    url, ws = site
    page = _form(browser, url)
    before = _failures(ws, "mallory")
    for i in range(3):
        _log_in(page, "mallory", "wrong-wrong-1")
        page.get_by_text("Unknown username or wrong password.").wait_for(timeout=30_000)
        # the message stays up from the last try: wait until the server has counted this one
        # (a submit sent while the previous run is still going would interrupt that run)
        deadline = time.monotonic() + 30
        while _failures(ws, "mallory") < before + i + 1 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert _failures(ws, "mallory") == before + i + 1
    _log_in(page, "mallory", "mallory-secret-1")  # the right password, now locked
    page.get_by_text("Too many failed attempts").wait_for(timeout=30_000)
    assert "Logged in as" not in page.inner_text("body")
    page.close()


def test_auditor_sees_the_audit_trail_only(site, browser):
    url, _ = site
    page = _form(browser, url)
    _log_in(page, "audrey", "audrey-secret-1")
    page.get_by_role("heading", name="Audit").first.wait_for(timeout=30_000)
    page.get_by_text("entries intact").wait_for(timeout=30_000)
    body = page.inner_text("body")
    assert "Operators" not in body and "Channel network" not in body
    page.goto(f"{url}/operators", wait_until="domcontentloaded")  # a deep link to case data
    page.get_by_role("textbox", name="Username").or_(
        page.get_by_role("heading", name="Audit")
    ).first.wait_for(timeout=30_000)
    assert "@op_alpha" not in page.inner_text("body")
    page.close()


def test_refuses_another_address_without_users(tmp_path):
    env = dict(os.environ, GRAPHINTEL_WORKSPACE=str(tmp_path / "ws"))
    run = subprocess.run(
        [sys.executable, "-m", "graphintel.cli", "dashboard", "--host", "0.0.0.0"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "without users" in run.stderr and "graphintel users add" in run.stderr
