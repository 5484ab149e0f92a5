"""Case scoping in the dashboard: logged in as a case-A user, nothing of case B appears anywhere
(every page under AppTest: tables, metrics, texts, options; and in real Chromium: page text and
the network iframes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboards.auth import Identity
from graphintel.users import UserFile
from tests.legal_data import write_bundle

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboards" / "app.py")
PAGES = ["overview", "channels", "referrals", "operators", "flows", "economy", "targets"]
PAGES += ["alerts", "takedowns"]
# what only SRC-S (case CASE-B) reported
CASE_B = ["SRC-S", "CASE-B", "Secret room", "@s_u2", "Only S name", "@u4_secret", "Secret target"]
CASE_B += ["court permission 2024-B", "h:2", "C3", "O2", "T2"]


@pytest.fixture(scope="module")
def two_cases(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scope")
    env = dict(os.environ, GRAPHINTEL_PII_KEY="test-key", GRAPHINTEL_WORKSPACE=str(tmp / "ws"))
    uri = f"duckdb:{tmp / 'graph.duckdb'}"
    for sid in ("SRC-A", "SRC-S", "SRC-C"):
        args = ["ingest", str(write_bundle(tmp / "b", sid)), "--no-progress"]
        subprocess.run(
            [sys.executable, "-m", "graphintel.cli", *args, "--store", uri],
            env=env,
            check=True,
            capture_output=True,
        )
    subprocess.run(
        [sys.executable, "-m", "graphintel.cli", "analyze", "--store", uri],
        env=env,
        check=True,
        capture_output=True,
    )
    users = UserFile(tmp / "ws" / "users.json")
    users.add("kim", "investigator", "kim-secret-1", cases=["CASE-A"])
    users.add("ana", "admin", "ana-secret-1")
    return tmp, env, uri


def _strings(at: AppTest) -> str:
    parts: list[str] = []
    for df in at.dataframe:
        frame = df.value
        parts.append(frame.to_csv() if isinstance(frame, pd.DataFrame) else str(frame))
    for m in at.metric:
        parts += [str(m.label), str(m.value)]
    for kind in ("title", "subheader", "caption", "markdown", "info", "warning", "error", "text"):
        parts += [str(e.value) for e in getattr(at, kind)]
    for box in (*at.selectbox, *at.multiselect):
        parts += [str(o) for o in box.options]
    return "\n".join(parts)


def _page(two_cases, monkeypatch, ident: Identity, page: str) -> AppTest:
    tmp, _, uri = two_cases
    monkeypatch.setenv("GRAPHINTEL_STORE", uri)
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(tmp / "ws"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_identity"] = ident
    at.session_state["_last_seen"] = time.time()
    at.run()
    if page != "overview":
        at.switch_page(f"sections/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


KIM = Identity(name="kim", role="investigator", cases=("CASE-A",))


@pytest.mark.parametrize("page", PAGES)
def test_case_a_user_sees_nothing_of_case_b(page, two_cases, monkeypatch):
    at = _page(two_cases, monkeypatch, KIM, page)
    text = _strings(at)
    leaked = [s for s in CASE_B if s in text]
    assert leaked == [], (page, leaked)
    if page == "overview":
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Channels"] == "2" and metrics["Sources"] == "2"
        assert metrics["Transactions"] == "2"  # T1 (also SRC-A's) and T3; not T2


def test_admin_sees_both_cases(two_cases, monkeypatch):
    at = _page(two_cases, monkeypatch, Identity(name="ana", role="admin"), "overview")
    text = _strings(at)
    assert "SRC-S" in text and "CASE-B" in text
    assert {m.label: m.value for m in at.metric}["Channels"] == "3"


def test_page_views_are_audited_with_the_scope(two_cases, monkeypatch, tmp_path):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(log))
    _page(two_cases, monkeypatch, KIM, "operators")
    import json

    views = [json.loads(x) for x in log.read_text().splitlines()]
    views = [e for e in views if e["action"] == "page_view"]
    assert views and views[-1]["user"] == "kim" and views[-1]["details"]["page"] == "Operators"
    assert views[-1]["details"]["sources"] == ["SRC-A", "SRC-C"]
    assert views[-1]["details"]["cases"] == ["CASE-A"]


@pytest.mark.browser
def test_case_a_user_in_chromium(two_cases):
    from playwright.sync_api import sync_playwright

    from tests.test_dashboard_browser import ARGS, CHROMIUM
    from tests.test_dashboard_login import _log_in, _serve, _stop

    tmp, env, uri = two_cases
    env = dict(env, GRAPHINTEL_AUDIT_LOG=str(tmp / "browser-audit.jsonl"))
    proc, log, url = _serve(tmp, env, uri)
    titles = {
        "channels": "Channel network",
        "referrals": "Referral chains",
        "operators": "Operators",
        "flows": "Credit flows",
        "economy": "Economy",
        "targets": "Targets map",
        "alerts": "Alerts",
        "takedowns": "Takedowns",
    }
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
            _log_in(page, "kim", "kim-secret-1")
            page.get_by_text("Logged in as").wait_for(timeout=60_000)
            page.get_by_role("heading", name="Overview").first.wait_for(timeout=60_000)
            seen = {"overview": page.inner_text("body")}
            frames: dict[str, str] = {}
            for path, title in titles.items():
                page.get_by_role("link", name=title).first.click()
                page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
                page.wait_for_function(
                    "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
                )
                if path == "channels":  # wait for the network iframe to be drawn (loaded box)
                    page.wait_for_function(
                        "Array.from(document.querySelectorAll('iframe')).some(f => "
                        "f.contentDocument && f.contentDocument.documentElement && "
                        "f.contentDocument.documentElement.innerHTML.includes('vis.Network'))",
                        timeout=120_000,
                    )
                page.wait_for_timeout(2000)
                seen[path] = page.inner_text("body")
                frames[path] = "\n".join(f.content() or "" for f in page.frames[1:])
                assert page.locator('[data-testid="stException"]').count() == 0, path
            browser.close()
    finally:
        _stop(proc, log)
    assert "Room one" in frames["channels"]  # the network view drew case A's rooms
    for path, text in seen.items():
        leaked = [s for s in CASE_B if s in text]
        assert leaked == [], (path, leaked)
    # in the network iframes (which also hold vis-network's minified code) the names
    for path, text in frames.items():
        leaked = [s for s in CASE_B if len(s) > 4 and s in text]
        assert leaked == [], (path, leaked)


def test_operators_dossier_button_scoped_and_audited(two_cases, monkeypatch, tmp_path):
    import io
    import json
    import zipfile

    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(log))
    at = _page(two_cases, monkeypatch, KIM, "operators")
    at.button(key="op_dossier").click().run()
    assert not at.exception, [e.value for e in at.exception]
    account, data = at.session_state["_dossier"]
    files = zipfile.ZipFile(io.BytesIO(data))
    text = "".join(files.read(n).decode() for n in files.namelist())
    assert "MANIFEST.sha256" in "".join(files.namelist())
    assert "CASE-A" in text and not [s for s in CASE_B if s in text]
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    dossier = [e for e in entries if e["action"] == "dossier"]
    assert dossier[-1]["details"]["account_id"] == account and dossier[-1]["user"] == "kim"


def test_analyst_gets_no_export_buttons(two_cases, monkeypatch):
    ident = Identity(name="lee", role="analyst", cases=("CASE-A",))
    at = _page(two_cases, monkeypatch, ident, "operators")
    assert [b.key for b in at.button if b.key == "op_dossier"] == []
    assert "Export shortlist" not in _strings(at)


def _cli(env: dict, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "graphintel.cli", *args],
        env=env,
        check=True,
        capture_output=True,
    )


def _app(monkeypatch, uri: str, ws: Path, ident: Identity, page: str = "overview") -> AppTest:
    monkeypatch.setenv("GRAPHINTEL_STORE", uri)
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(ws))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_identity"] = ident
    at.session_state["_last_seen"] = time.time()
    at.run()
    if page != "overview":
        at.switch_page(f"sections/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frame_text(frame: pd.DataFrame) -> str:
    return frame.reset_index(drop=True).to_csv(index=False, float_format="%.9g")


@pytest.mark.parametrize("main", ["duckdb", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def test_case_a_analytics_equal_case_a_alone(main, request, settings, tmp_path, monkeypatch):
    """Logged in as the case-A user, the Overview's counts, rooms and communities and the
    Operators ranking are those of a store into which only case A's sources were ingested and
    analysed (computed here), on a DuckDB and on a Neo4j main store."""
    import graphintel as gi
    from graphintel.analytics.pipeline import analyze_store
    from graphintel.store.duckdb_store import DuckDBStore
    from ingest.job import ingest_manifest

    store = request.getfixturevalue(f"{main}_store")
    manifests = {s: write_bundle(tmp_path / "b", s) for s in ("SRC-A", "SRC-S", "SRC-C")}
    for sid in ("SRC-A", "SRC-S", "SRC-C"):
        ingest_manifest(manifests[sid], store, settings)
    analyze_store(store)
    uri = store.uri
    if main == "duckdb":
        store.close()  # publish for the dashboard
    alone = DuckDBStore(tmp_path / "alone.duckdb")
    for sid in ("SRC-A", "SRC-C"):
        ingest_manifest(manifests[sid], alone, settings)
    analyze_store(alone)
    alone.close()
    ws = tmp_path / "ws"
    UserFile(ws / "users.json").add("kim", "investigator", "kim-secret-1", cases=["CASE-A"])

    with gi.open(alone.uri) as exp:
        counts = exp.counts()
        comm = exp.summary()["communities"]
        cols = ["channel_id", "title", "kind", "members", "admins", "community", "creator"]
        rooms = exp.rooms(limit=15)[cols]
        ranking = exp.operators(top=25)
    at = _app(monkeypatch, uri, ws, KIM)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {k.capitalize(): f"{counts[k]:,}" for k in counts}
    assert metrics["Sources"] == "2" and metrics["Channels"] == "2"
    caption = (
        f"{comm['count']} communities · method {comm['method']} · "
        f"modularity {float(comm['modularity']):.3f}"
    )
    assert caption in [c.value for c in at.caption]
    shown_rooms = at.dataframe[1].value[cols]
    assert _frame_text(shown_rooms) == _frame_text(rooms)

    at = _app(monkeypatch, uri, ws, KIM, "operators")
    shown = at.dataframe[0].value
    assert list(shown["account_id"]) == list(ranking["account_id"])
    assert _frame_text(shown[list(ranking.columns)]) == _frame_text(ranking)
    # the dossier button: the case view's own score and components, as case A alone gives them
    import io
    import zipfile

    from graphintel.dossier import write_dossier

    at.button(key="op_dossier").click().run()
    assert not at.exception, [e.value for e in at.exception]
    account, data = at.session_state["_dossier"]
    assert account == ranking["account_id"].iloc[0]
    got = zipfile.ZipFile(io.BytesIO(data))
    with DuckDBStore(tmp_path / "alone.duckdb", read_only=True) as a:
        write_dossier(a, account, tmp_path / "expected")
    for name in ("components.csv", "evidence.csv", "rooms.csv", "payments.csv"):
        expected = (tmp_path / "expected" / name).read_text()
        assert got.read(f"dossier-{account}/{name}").decode() == expected, name
    if main == "neo4j":
        store.clear()


def test_stale_case_view_is_rebuilt(tmp_path, monkeypatch):
    """A new ingest + analyze, then a retraction: each time the case-A user sees the new data
    (after analyze the view was built by `graphintel analyze`; after the retraction by the
    dashboard on the first visit) and the old view is gone."""
    ws = tmp_path / "ws"
    env = dict(os.environ, GRAPHINTEL_PII_KEY="test-key", GRAPHINTEL_WORKSPACE=str(ws))
    env["GRAPHINTEL_AUDIT_LOG"] = str(tmp_path / "audit.jsonl")
    uri = f"duckdb:{tmp_path / 'graph.duckdb'}"
    UserFile(ws / "users.json").add("kim", "investigator", "kim-secret-1", cases=["CASE-A"])
    for sid in ("SRC-A", "SRC-S"):
        _cli(env, "ingest", str(write_bundle(tmp_path / "b", sid)), "--no-progress", "--store", uri)
    _cli(env, "analyze", "--store", uri)
    views = ws / "case_views"
    first = sorted(views.glob("*.duckdb"))
    assert len(first) == 1  # built by analyze for kim's scope
    at = _app(monkeypatch, uri, ws, KIM)
    m = {x.label: x.value for x in at.metric}
    assert (m["Sources"], m["Transactions"]) == ("1", "1")
    assert sorted(views.glob("*.duckdb")) == first  # the dashboard used it, built nothing

    _cli(env, "ingest", str(write_bundle(tmp_path / "b", "SRC-C")), "--no-progress", "--store", uri)
    _cli(env, "analyze", "--store", uri)
    second = sorted(views.glob("*.duckdb"))
    assert len(second) == 1 and second != first
    at = _app(monkeypatch, uri, ws, KIM)
    m = {x.label: x.value for x in at.metric}
    assert (m["Sources"], m["Transactions"]) == ("2", "2")  # SRC-C's T3 shows

    _cli(env, "retract", "SRC-C", "--reason", "court order (test)", "--store", uri)
    assert sorted(views.glob("*.duckdb")) == second  # retract builds no view
    at = _app(monkeypatch, uri, ws, KIM)
    m = {x.label: x.value for x in at.metric}
    assert (m["Sources"], m["Transactions"]) == ("1", "1")
    third = sorted(views.glob("*.duckdb"))
    assert len(third) == 1 and third not in (first, second)  # built on this visit
    # analytics were cleared by the retraction: the view says so, it shows no old ones
    assert any("No analytics in this store yet" in i.value for i in at.info)
    assert "Communities" not in [s.value for s in at.subheader]


def test_case_view_that_cannot_be_built_shows_an_error_not_data(tmp_path, monkeypatch):
    """A permitted source without kept rows (a store from before they were kept): the page says
    why, shows no record and no traceback."""
    from graphintel.store.duckdb_store import DuckDBStore

    ws = tmp_path / "ws"
    env = dict(os.environ, GRAPHINTEL_PII_KEY="test-key", GRAPHINTEL_WORKSPACE=str(ws))
    uri = f"duckdb:{tmp_path / 'graph.duckdb'}"
    for sid in ("SRC-A", "SRC-S"):
        _cli(env, "ingest", str(write_bundle(tmp_path / "b", sid)), "--no-progress", "--store", uri)
    _cli(env, "analyze", "--store", uri)
    with DuckDBStore(tmp_path / "graph.duckdb") as s:
        s.delete_source_copies("SRC-A")
    UserFile(ws / "users.json").add("kim", "investigator", "kim-secret-1", cases=["CASE-A"])
    at = _app(monkeypatch, uri, ws, KIM)
    expected = (
        "the case view for CASE-A could not be prepared: source(s) SRC-A keep no copy of their "
        f"rows in {uri} (ingested before this release), so the case view cannot show what they "
        "alone reported: rebuild the store by ingesting the bundles again into a new store"
    )
    assert [e.value for e in at.error] == [expected]
    assert list(at.metric) == [] and list(at.dataframe) == []


def test_admin_dossier_button_reads_the_main_store(two_cases, monkeypatch):
    import io
    import zipfile

    at = _page(two_cases, monkeypatch, Identity(name="ana", role="admin"), "operators")
    at.button(key="op_dossier").click().run()
    assert not at.exception, [e.value for e in at.exception]
    _, data = at.session_state["_dossier"]
    files = zipfile.ZipFile(io.BytesIO(data))
    sources = next(n for n in files.namelist() if n.endswith("sources.csv"))
    assert "CASE-B" in files.read(sources).decode()  # an admin sees every case


@pytest.mark.parametrize(
    ("page", "param", "value"),
    [
        ("channels", "room", "C3"),  # a room only case B reported
        ("channels", "room", "C1"),
        ("referrals", "account", "U4"),  # case A knows U4 only as referenced, not its handle
        ("referrals", "account", "U1"),  # shared: case B's display name must not show
        ("referrals", "account", "@u4_secret"),  # searching case B's handle finds nothing
    ],
)
def test_deep_links_and_searches_show_nothing_of_case_b(page, param, value, two_cases, monkeypatch):
    tmp, _, uri = two_cases
    monkeypatch.setenv("GRAPHINTEL_STORE", uri)
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(tmp / "ws"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_identity"] = KIM
    at.session_state["_last_seen"] = time.time()
    at.run()
    at.switch_page(f"sections/{page}.py").run()
    at.query_params[param] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = _strings(at)
    if page == "referrals" and value != "@u4_secret":
        assert value in text  # the link did select the account
    leaked = [s for s in CASE_B if s in text and s != value]
    assert leaked == [], (page, value, leaked)


def test_trainer_sees_no_case_data(two_cases, monkeypatch):
    """A trainer may see synthetic sources only; this store has none: an empty case view."""
    at = _page(two_cases, monkeypatch, Identity(name="tia", role="trainer"), "overview")
    text = _strings(at)
    assert "is empty" in text
    for s in ["SRC-A", "SRC-S", "SRC-C", "CASE-A", "CASE-B", "Room one", "Secret room"]:
        assert s not in text
