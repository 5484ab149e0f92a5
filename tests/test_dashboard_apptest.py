"""Every dashboard page under Streamlit's AppTest on real stores (no browser)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from graphintel.analytics.pipeline import analyze_store
from graphintel.config import load_settings
from graphintel.store import open_store
from ingest.job import ingest_manifest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboards" / "app.py")
TINY = ROOT / "sample_data" / "tiny" / "manifest.yaml"
PAGES = [
    "overview",
    "channels",
    "referrals",
    "operators",
    "flows",
    "economy",
    "targets",
    "alerts",
    "takedowns",
    "trainer",
]


def _store(path: Path, *, analyse: bool) -> str:
    uri = f"duckdb:{path}"
    settings = load_settings({"GRAPHINTEL_PII_KEY": "test-key"})
    store = open_store(uri, settings)
    try:
        ingest_manifest(TINY, store, settings)
        if analyse:
            analyze_store(store)
    finally:
        store.close()
    return uri


@pytest.fixture(scope="module")
def tiny_uri(tmp_path_factory) -> str:
    return _store(tmp_path_factory.mktemp("dash") / "tiny.duckdb", analyse=True)


@pytest.fixture(scope="module")
def raw_uri(tmp_path_factory) -> str:
    return _store(tmp_path_factory.mktemp("dash") / "raw.duckdb", analyse=False)


def _run(uri: str, page: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRAPHINTEL_STORE", uri)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page != "overview":
        at.switch_page(f"sections/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.subheader, *at.caption, *at.info, *at.error)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_tiny(page, tiny_uri, monkeypatch):
    at = _run(tiny_uri, page, monkeypatch)
    assert not at.error, [e.value for e in at.error]
    assert len(at.title) == 1


def test_overview_shows_counts_and_sources(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "overview", monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accounts"] == "13"  # 12 defined + A99, inferred from a reference
    assert metrics["Channels"] == "4"  # 3 defined + C4, inferred
    assert metrics["Sources"] == "1"
    sources = at.dataframe[0].value
    assert sources["case_id"].tolist() == ["CASE-TINY-0001"]
    assert sources["method"].tolist() == ["synthetic"]


def test_operators_ranking_and_evidence(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "operators", monkeypatch)
    ranking = at.dataframe[0].value
    assert len(ranking) > 0
    assert ranking["priority_score"].is_monotonic_decreasing
    evidence = at.dataframe[2].value
    assert set(evidence.columns) >= {"component", "record_table", "record_key", "source_ids"}
    assert (evidence["source_ids"] == "SRC-TINY-0001").all()


def test_channel_selection_shows_details(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "channels", monkeypatch)
    at.selectbox(key="ch_focus").set_value("C1").run()
    assert not at.exception
    assert "Room details" in _texts(at)
    assert len(at.tabs) == 5
    # lazy tabs: the room's row and the open tab's table (members), not all five tables
    assert len(at.dataframe) == 2
    assert at.dataframe[0].value["channel_id"].tolist() == ["C1"]


def test_pages_without_analytics_say_so(raw_uri, monkeypatch):
    for page in ("referrals", "operators", "economy"):
        at = _run(raw_uri, page, monkeypatch)
        assert any("graphintel analyze" in i.value for i in at.info), page
    at = _run(raw_uri, "overview", monkeypatch)
    assert any("graphintel analyze" in i.value for i in at.info)


def test_empty_store_gives_a_message(tmp_path, monkeypatch):
    uri = f"duckdb:{tmp_path / 'empty.duckdb'}"
    store = open_store(uri)
    store.ensure_schema()
    store.close()
    for page in ("overview", "channels"):
        at = _run(uri, page, monkeypatch)
        assert any("is empty" in i.value for i in at.info)


def test_missing_store_file_gives_an_error(tmp_path, monkeypatch):
    at = _run(f"duckdb:{tmp_path / 'nope.duckdb'}", "overview", monkeypatch)
    assert any("does not exist" in e.value for e in at.error)


def test_unreachable_neo4j_gives_an_error(monkeypatch):
    monkeypatch.setenv("NEO4J_PASSWORD", "irrelevant")
    at = _run("bolt://127.0.0.1:1", "overview", monkeypatch)
    assert at.error, "expected st.error for an unreachable Neo4j"


def test_trainer_compares_interventions(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "trainer", monkeypatch)
    labels = [m.label for m in at.metric]
    assert labels.count("Members at the end") == 2
    at.slider(key="tr_accounts").set_value(300)
    next(b for b in at.button if b.label == "Simulate").click().run()  # an explicit what-if run
    assert not at.exception
    assert labels.count("Members at the end") == 2


def test_trainer_runs_three_real_simulations(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "trainer", monkeypatch)
    labels = [m.label for m in at.metric]
    assert labels.count("Members") == 1 and labels.count("Referral credits") == 3
    summary = next(d.value for d in at.dataframe if "members_diff" in d.value.columns)
    assert len(summary) == 3
    assert summary["scenario"].iloc[0] == "no intervention"
    assert summary["scenario"].iloc[1].startswith("remove top-priority A")
    assert summary["scenario"].iloc[2].startswith("remove random member A")
    assert summary["members_diff"].iloc[0] == 0
    # Removing the top-priority operator at day X is a real re-run: it changes the outcome.
    assert summary["purchase_credits_diff"].iloc[1] != 0
    assert "upper bound" not in _texts(at)
    assert "same seed" in _texts(at)
    at.select_slider(key="tr_x").set_value(at.select_slider(key="tr_x").options[0]).run()
    assert not at.exception


def test_flows_traces_payments(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "flows", monkeypatch)
    assert "Trace payments" in _texts(at)
    at.text_input(key="fl_tr_search").set_value("A04").run()
    at.selectbox(key="fl_tr_account").set_value("A04").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="fl_tr_hops").value == 2
    table = at.dataframe[-1].value
    cols = ["hop", "txn_id", "from_id", "to_id", "credits", "kind", "ts", "channel_id"]
    assert list(table.columns) == [
        "hop", "txn_id", "from_id", "from_handle", "to_id", "to_handle",
        "credits", "kind", "ts", "channel_id", "source_ids",
    ]  # fmt: skip
    # Hop 1: A04 paid A12 (T01) and A01 (T04). Hop 2: whatever A12 and A01 paid, in the window.
    # trace_payments follows reachability, not time order, so T02 (A12 → A03, 13:05 on 07-04)
    # counts although A04's payment to A01 (T04) came the next day. Ordered by hop, ts, txn_id.
    rows = table[cols].fillna({"channel_id": ""}).values.tolist()  # T10 has no room
    assert rows == [
        [1, "T01", "A04", "A12", 10.0, "topup", "2024-07-04T13:00:00", "C1"],
        [1, "T04", "A04", "A01", 5.0, "purchase", "2024-07-05T14:00:00", "C1"],
        [2, "T02", "A12", "A03", 1.0, "referral_reward", "2024-07-04T13:05:00", "C1"],
        [2, "T03", "A12", "A03", 1.0, "referral_reward", "2024-07-05T13:05:00", "C1"],
        [2, "T06", "A12", "A07", 1.0, "referral_reward", "2024-07-08T13:05:00", "C2"],
        [2, "T10", "A01", "A12", 8.0, "payout", "2024-07-20T10:00:00", ""],
    ]
    assert (table["source_ids"] == "SRC-TINY-0001").all()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accounts reached"] == "4"  # A01, A12, A03, A07
    assert metrics["Transactions"] == "6"
    assert metrics["Credits"] == "26.0"
    assert any("Showing 5 of 5 accounts" in c.value for c in at.caption)

    # The window ends on 2024-07-10: T10 (2024-07-20) drops out.
    window = at.slider(key="fl_tr_window")
    window.set_value((window.value[0], date(2024, 7, 10))).run()
    table = at.dataframe[-1].value
    assert table["txn_id"].tolist() == ["T01", "T04", "T02", "T03", "T06"]

    # One hop backward from A12: who paid it. A04 (T01); A01's T10 is outside the window.
    at.radio(key="fl_tr_direction").set_value("backward")
    at.number_input(key="fl_tr_hops").set_value(1)
    at.text_input(key="fl_tr_search").set_value("A12").run()
    at.selectbox(key="fl_tr_account").set_value("A12").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    assert table[["hop", "txn_id", "from_id", "to_id"]].values.tolist() == [
        [1, "T01", "A04", "A12"]
    ]
    window = at.slider(key="fl_tr_window")
    window.set_value((window.value[0], date(2024, 7, 20))).run()
    table = at.dataframe[-1].value
    assert table["txn_id"].tolist() == ["T01", "T10"]


def _page_script(uri: str, page: str) -> None:
    # Runs inside AppTest: a page's render(ds) on a dataset opened on the store, nothing else.
    import importlib

    from dashboards import components as ui
    from graphintel.dataset import open as open_dataset

    mod = importlib.import_module(f"dashboards.sections.{page}")
    ui.run_page(mod.render, ds=open_dataset(uri).pinned(), needs_data=page != "trainer")


@pytest.mark.parametrize("page", [p for p in PAGES if p != "trainer"])
def test_render_functions_through_the_facade(page, tiny_uri):
    at = AppTest.from_function(_page_script, args=(tiny_uri, page), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert len(at.title) == 1


def test_render_on_a_store_without_analytics(raw_uri):
    for page in ("channels", "referrals", "operators", "flows", "targets"):
        at = AppTest.from_function(_page_script, args=(raw_uri, page), default_timeout=60)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("graphintel analyze" in i.value for i in at.info), page


def test_referral_tree_keeps_depth_with_more_nodes(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "referrals", monkeypatch)
    at.selectbox(key="rf_account").set_value("A01").run()
    assert not at.exception
    subtree = at.dataframe[1].value
    assert subtree["account_id"].tolist()[0] == "A01"
    assert any("Showing" in c.value for c in at.caption)


def test_economy_reconciliation_and_before_after(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "economy", monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Referral rewards"] == "3" and metrics["Matched to an invite"] == "3"
    assert metrics["Invites without a reward"] == "6"
    assert "Leads to check, not findings" in _texts(at)
    rooms = at.dataframe[0].value
    assert rooms["room"].tolist()[:2] == ["C2", "C1"]  # 4 and 2 invites without a reward
    assert rooms.set_index("room").loc["C1", "credits per matched invite"] == 1.0
    assert rooms.set_index("room").loc["C2", "title"] == "예시 대학교 방 (가상)"
    at.date_input(key="ec_at").set_value(date(2024, 7, 12))
    at.number_input(key="ec_window").set_value(5).run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Stopped"], metrics["Dropped"]) == ("1", "1")
    moves = at.dataframe[-1].value
    assert moves[["from_channel_id", "to_channel_id", "members"]].values.tolist() == [
        ["C1", "C3", 2]
    ]


def test_referral_page_shows_cascade_growth(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "referrals", monkeypatch)
    assert "How cascades grow" in _texts(at)
    gens = at.dataframe[-1].value
    a01 = gens[gens["cascade"] == "A01"]
    assert a01["reproduction"].tolist() == [1.0, 2.0, 0.5, 0.0]
    assert len(at.get("vega_lite_chart")) >= 3


def test_operators_show_proceeds_with_purchases(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "operators", monkeypatch)
    at.selectbox(key="op_account").set_value("A01").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Proceeds (won)"] == "26,500" and metrics["Distinct payers"] == "2"
    buys = at.dataframe[-1].value
    assert buys["txn_id"].tolist() == ["T04", "T05"] and buys["won"].sum() == 26500


def test_trainer_compares_cascades(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "trainer", monkeypatch)
    assert "Cascades: baseline and intervention" in _texts(at)
    gens = at.dataframe[-1].value
    assert gens["scenario"].nunique() == 3 and "reproduction" in gens


def test_node_cap_survives_a_page_without_network_views(tiny_uri, monkeypatch):
    at = _run(tiny_uri, "channels", monkeypatch)
    at.number_input(key="max_nodes").set_value(120).run()
    at.switch_page("sections/overview.py").run()
    assert not [n for n in at.number_input if n.key == "max_nodes"]  # no network view here
    at.switch_page("sections/referrals.py").run()
    assert not at.exception
    assert at.number_input(key="max_nodes").value == 120
