"""Dashboard benchmark: real Chromium over every page, first render and second visit, and RSS.

    python benchmarks/dashboard.py --store duckdb:/tmp/bench1m/graph.duckdb
    python benchmarks/dashboard.py --accounts 100000 --work /tmp/bench100k   # simulate+ingest+analyze

Starts `graphintel dashboard` on the store (a real process) and opens each page in headless Debian
Chromium (Playwright), in ONE browser context, as one analyst's browser would (its HTTP cache
keeps Streamlit's immutable static files between visits). *first* is the first visit of a page
after the server is up (the server's query cache is cold for that page; the very first page also
loads the frontend into an empty browser cache), *second* a new tab on the same page (a new
Streamlit session, the server's caches warm), *sidebar switch* a click on the page's link in
the sidebar of a tab kept open (one session, the frontend loaded: how a user moves between
pages; the first page has none), and *revisit* a second round of those clicks once every page
has been visited in that tab (a user coming back to a page in the tab they work in).

A visit is timed from navigation to the page being done: its title shown, no running-status
widget, spinner or skeleton, and every visible Plotly or Vega-Lite chart, table grid and network canvas drawn
(a network's layout stabilised); what sits in a hidden tab is not waited for. Requests that
finish after that moment extend it (the clock stops at the later of the two). Playwright's "networkidle" is not the end mark: it waits
500 ms of silence after the last request, which no user waits for.

Prints a Markdown table, the load average, and the dashboard's RSS (VmRSS / VmHWM of the server
process). Not a test: the figures depend on the machine's load.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PAGES = {
    "overview": "Overview",
    "channels": "Channel network",
    "referrals": "Referral chains",
    "operators": "Operators",
    "flows": "Credit flows",
    "economy": "Invitation-credit economy",
    "targets": "Targets map",
    "alerts": "Alerts",
    "takedowns": "Takedowns",
    "trainer": "Trainer",
}
CHROMIUM = "/usr/bin/chromium"
TIMEOUT_S = int(os.environ.get("GRAPHINTEL_BENCH_TIMEOUT", "300"))  # per visit
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


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


# True once the page has drawn what it shows (see the module docstring).
_DONE_JS = """(title) => {
  const shown = (el) => el.getClientRects().length > 0;  // not in a hidden tab or expander
  const q = (sel) => [...document.querySelectorAll(sel)].filter(shown);
  if (!q('h1').some(h => h.textContent.includes(title))) return false;
  if (q('[data-testid="stStatusWidget"], [data-testid="stSpinner"], [data-testid="stSkeleton"]')
      .length) return false;
  for (const c of q('[data-testid="stPlotlyChart"]'))
    if (!c.querySelector('.main-svg')) return false;
  for (const c of q('[data-testid="stVegaLiteChart"]'))
    if (!c.querySelector('canvas.marks, svg.marks')) return false;
  for (const d of q('[data-testid="stDataFrame"]'))
    if (!d.querySelector('canvas')) return false;
  for (const f of q('iframe')) {
    const doc = f.contentDocument;
    if (!doc || doc.readyState !== 'complete') return false;
    const net = doc.getElementById('mynetwork');
    if (net && !net.querySelector('canvas')) return false;
    const bar = doc.getElementById('text');
    if (net && doc.getElementById('loadingBar') && bar && bar.textContent !== '100%')
      return false;
  }
  return true;
}"""


_STATE_JS = """() => ({
  h1: [...document.querySelectorAll('h1')].map(h => h.textContent),
  busy: document.querySelectorAll('[data-testid="stStatusWidget"], [data-testid="stSpinner"], '
    + '[data-testid="stSkeleton"]').length,
  charts: [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .map(c => !!c.querySelector('.main-svg')),
  vega: [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .map(c => !!c.querySelector('canvas.marks, svg.marks')),
  tables: [...document.querySelectorAll('[data-testid="stDataFrame"]')]
    .map(d => !!d.querySelector('canvas')),
  frames: [...document.querySelectorAll('iframe')].map(f => f.contentDocument
    ? f.contentDocument.readyState + ' ' + ((f.contentDocument.getElementById('text') || {})
      .textContent || '') : 'no document'),
})"""


def _visit(context, url: str, title: str, run_ended) -> float:
    """Seconds from navigation to the page done. ``run_ended()`` blocks until the server has
    logged the end of this visit's script run: the DOM checks alone can pass before the
    script has sent its charts (nothing drawn yet means nothing to wait for)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = context.new_page()
    finished: list[tuple[float, str]] = []
    page.on("requestfinished", lambda req: finished.append((time.perf_counter(), req.url)))
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    run_ended()
    try:
        page.wait_for_function(_DONE_JS, arg=title, timeout=TIMEOUT_S * 1000, polling=50)
    except PlaywrightTimeout as err:  # say what is still missing
        state = page.evaluate(_STATE_JS)
        page.close()
        raise SystemExit(f"{url}: not done after {TIMEOUT_S} s ({err.__class__.__name__}): {state}")
    done = time.perf_counter()
    # not timed: only to see whether anything still arrived after "done"
    try:
        page.wait_for_load_state("networkidle", timeout=10_000)
    except PlaywrightTimeout:  # a page that keeps polling: what arrived in these 10 s counts
        print(f"  ({url}: still loading 10 s after done)", flush=True)
    late = [(t, u) for t, u in finished if t > done]
    if late and os.environ.get("GRAPHINTEL_BENCH_VERBOSE"):
        for t, u in late:
            print(f"  late +{t - done:.2f} s {u}", flush=True)
    end = max([done, *(t for t, _ in late)])
    errors = page.locator('[data-testid="stException"]').count()
    page.close()
    if errors:
        raise SystemExit(f"{url}: the page shows an exception")
    return end - t0


def _switch(page, path: str, title: str, run_ended) -> float:
    """Seconds from clicking ``path``'s link in the sidebar of an open tab (``page``) to that
    page done: how a user moves between pages (one session, the frontend already loaded)."""
    link = page.locator(f'[data-testid="stSidebarNav"] a[href$="/{path}"]').first
    t0 = time.perf_counter()
    link.click()
    run_ended()
    page.wait_for_function(_DONE_JS, arg=title, timeout=TIMEOUT_S * 1000, polling=50)
    return time.perf_counter() - t0


def run(uri: str, pages: list[str] | None = None) -> dict[str, tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    from graphintel.neo4j_server import free_local_port

    port = free_local_port()
    env = dict(os.environ, GRAPHINTEL_DASH_TIMINGS="1")
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in the finally below
        "w+", prefix="graphintel-bench-", suffix=".log"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphintel.cli", "dashboard", "--store", uri, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    seen = 0  # page-run lines read so far
    counted = 0  # of those, the ones server_time() has summed

    def _runs() -> list[list[str]]:
        lines = Path(log.name).read_text(errors="replace").splitlines()
        return [ln.split("\t") for ln in lines if ln.startswith("graphintel-page-run\t")]

    def run_ended() -> None:
        """Block until the server logs one more page run than before this visit."""
        nonlocal seen
        deadline = time.time() + TIMEOUT_S
        while time.time() < deadline:
            runs = _runs()
            if len(runs) > seen:
                seen = len(runs)
                return
            time.sleep(0.02)
        raise SystemExit(f"the server logged no page run within {TIMEOUT_S} s")

    def server_time() -> float:
        """Seconds the server spent running page scripts since the last call."""
        nonlocal seen, counted
        time.sleep(0.2)  # a rerun the page asked for is logged just after
        runs = _runs()
        new, counted = runs[counted:], len(runs)
        seen = max(seen, len(runs))
        return sum(float(r[2]) for r in new)

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
        scripts: dict[str, tuple[float, float]] = {}
        switches: dict[str, float] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            nav = None  # one tab kept open, for the sidebar switches
            for path, title in PAGES.items():
                if pages and path not in pages:
                    continue
                url = f"{base}/{'' if path == 'overview' else path}"
                server_time()
                first = _visit(context, url, title, run_ended)
                s1 = server_time()
                second = _visit(context, url, title, run_ended)
                s2 = server_time()
                if nav is None:  # the first page measured: open the switching tab on it
                    nav = context.new_page()
                    nav.goto(url, wait_until="commit")
                    run_ended()
                    nav.wait_for_function(_DONE_JS, arg=title, timeout=TIMEOUT_S * 1000)
                    switch = float("nan")
                else:
                    switch = _switch(nav, "" if path == "overview" else path, title, run_ended)
                server_time()
                out[path] = (first, second)
                scripts[path] = (s1, s2)
                switches[path] = switch
                print(
                    f"{path:10s} first {first:6.2f} s (script {s1:5.2f})   "
                    f"second {second:6.2f} s (script {s2:5.2f})   "
                    f"sidebar switch {switch:5.2f} s",
                    flush=True,
                )
            revisits: dict[str, float] = {}
            for path, title in PAGES.items():  # round two in the same tab
                if path in out:
                    revisits[path] = _switch(
                        nav, "" if path == "overview" else path, title, run_ended
                    )
                    server_time()
            for path, took in revisits.items():
                print(f"{path:10s} revisit {took:5.2f} s", flush=True)
            context.close()
            browser.close()
        cur, peak = _rss(proc.pid)
        out["_rss"] = (cur, peak)
        out["_scripts"] = scripts
        out["_switch"] = switches
        out["_revisit"] = revisits
        return out
    finally:
        log.close()
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
    ap.add_argument("--pages", help=f"comma-separated subset of {','.join(PAGES)}")
    args = ap.parse_args()
    # a TERM signal stops the dashboard it started too (the finally of run())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    uri = args.store
    if uri is None:
        work = args.work or Path(f"/tmp/graphintel-bench-{args.accounts}")
        work.mkdir(parents=True, exist_ok=True)
        uri = build(args.accounts, work)
    res = run(uri, args.pages.split(",") if args.pages else None)
    cur, peak = res.pop("_rss")
    scripts = res.pop("_scripts")
    switches = res.pop("_switch")
    revisits = res.pop("_revisit")
    print(f"\nstore {uri}   load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(
        "| page | first render (s) | second visit, new tab (s) | sidebar switch (s) "
        "| revisit, same tab (s) | server script, first / second (s) |"
    )
    print("|---|---|---|---|---|---|")
    for path, (first, second) in res.items():
        s1, s2 = scripts[path]
        sw = switches[path]
        sw_text = "—" if math.isnan(sw) else f"{sw:.2f}"
        print(
            f"| {PAGES[path]} | {first:.2f} | {second:.2f} | {sw_text} | {revisits[path]:.2f} "
            f"| {s1:.2f} / {s2:.2f} |"
        )
    print(f"\ndashboard RSS after all pages: {cur:.0f} MiB (peak {peak:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
