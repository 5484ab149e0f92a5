"""Dashboard benchmark: real Chromium over every page, first render and second visit, and RSS.

    python benchmarks/dashboard.py --store duckdb:/tmp/bench1m/graph.duckdb
    python benchmarks/dashboard.py --accounts 100000 --work /tmp/bench100k   # simulate+ingest+analyze

Starts `graphintel dashboard` on the store (a real process), opens each page in headless Debian
Chromium (Playwright) and times from navigation to the page being done (its title shown, no
running-status widget, no spinner, network idle): *first* is the first visit after the server is
up, *second* a new visit of the same page. Prints a Markdown table and the dashboard's peak RSS
(VmHWM of the server process). Not a test: the figures depend on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PAGES = {
    "overview": "Overview",
    "channels": "Channel network",
    "referrals": "Referral chains",
    "operators": "Operators",
    "flows": "Credit flows",
    "targets": "Targets map",
    "trainer": "Trainer",
}
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str) -> None:
    cmd = [sys.executable, "-m", "graphintel.cli", *args]
    print("$", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)


def build(accounts: int, work: Path) -> str:
    """Simulate, ingest and analyse a case of ``accounts`` accounts into ``work``."""
    store = work / "graph.duckdb"
    uri = f"duckdb:{store}"
    if store.exists():
        return uri
    bundle = work / "bundle"
    if not (bundle / "manifest.yaml").exists():
        _cli("simulate", "--accounts", str(accounts), "--out", str(bundle))
    _cli("ingest", str(bundle / "manifest.yaml"), "--store", uri, "--no-progress")
    _cli("analyze", "--store", uri)
    return uri


def _rss(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of ``pid`` in MiB."""
    cur = peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            cur = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cur, peak


def _visit(browser, url: str, title: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    t0 = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("heading", name=title).first.wait_for(timeout=600_000)
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]') && "
        "!document.querySelector('[data-testid=\"stSpinner\"]')",
        timeout=600_000,
        polling=50,
    )
    page.wait_for_load_state("networkidle", timeout=600_000)
    elapsed = time.perf_counter() - t0
    errors = page.locator('[data-testid="stException"]').count()
    page.close()
    if errors:
        raise SystemExit(f"{url}: the page shows an exception")
    return elapsed


def run(uri: str) -> dict[str, tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphintel.cli", "dashboard", "--store", uri, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        out: dict[str, tuple[float, float]] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for path, title in PAGES.items():
                url = f"{base}/{'' if path == 'overview' else path}"
                first = _visit(browser, url, title)
                second = _visit(browser, url, title)
                out[path] = (first, second)
                print(f"{path:10s} first {first:6.2f} s   second {second:6.2f} s", flush=True)
            browser.close()
        cur, peak = _rss(proc.pid)
        out["_rss"] = (cur, peak)
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", help="an existing, analysed store URI")
    ap.add_argument("--accounts", type=int, default=100_000, help="simulate this many accounts")
    ap.add_argument("--work", type=Path, help="folder for the simulated case (with --accounts)")
    args = ap.parse_args()
    uri = args.store
    if uri is None:
        work = args.work or Path(f"/tmp/graphintel-bench-{args.accounts}")
        work.mkdir(parents=True, exist_ok=True)
        uri = build(args.accounts, work)
    res = run(uri)
    cur, peak = res.pop("_rss")
    print(f"\nstore {uri}\n")
    print("| page | first render (s) | second visit (s) |")
    print("|---|---|---|")
    for path, (first, second) in res.items():
        print(f"| {PAGES[path]} | {first:.2f} | {second:.2f} |")
    print(f"\ndashboard RSS after all pages: {cur:.0f} MiB (peak {peak:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
