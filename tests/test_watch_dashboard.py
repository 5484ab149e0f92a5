"""The Alerts and Takedowns pages under Streamlit's AppTest on a real store (no browser).

Store: ``tests/data/watch/base`` with the watch list of ``tests/test_watch.py`` (11 alerts, one
acknowledged) and its three takedown records.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from graphintel import watch
from graphintel.analytics.pipeline import analyze_store
from graphintel.config import load_settings
from graphintel.store import open_store
from ingest.job import ingest_manifest
from ingest.pseudonymise import pii_key

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboards" / "app.py")
BASE = ROOT / "tests" / "data" / "watch" / "base"


def build_watch_store(path: Path) -> tuple[str, str]:
    """Ingest the base bundle, watch, raise the alerts, acknowledge the org alert.

    Returns the store URI and the acknowledged alert's id."""
    uri = f"duckdb:{path}"
    settings = load_settings({"GRAPHINTEL_PII_KEY": "test-key", "GRAPHINTEL_WORKSPACE": str(path)})
    store = open_store(uri, settings)
    try:
        ingest_manifest(BASE, store, settings)
        analyze_store(store)
        for kind, values in [
            ("org", ["O1"]),
            ("account", ["@watched_op", "phone:010-5555-0003"]),
            ("hash", ["hZ"]),
            ("keyword", ["school"]),
        ]:
            stored = watch.normalise_watch_values(kind, values, pii_key=pii_key(settings))
            watch.add_watches(store, watch.watch_frame(kind, stored))
        new = watch.run_alerts(store, now="2024-10-01T12:00:00")
        acked = new.loc[new["rule"] == "watched_org_targeted", "alert_id"].iloc[0]
        watch.ack_alert(store, acked, "school informed", now="2024-10-02T00:00:00")
    finally:
        store.close()
    return uri, acked


@pytest.fixture(scope="module")
def watched(tmp_path_factory) -> tuple[str, str]:
    return build_watch_store(tmp_path_factory.mktemp("watchdash") / "w.duckdb")


def _run(uri: str, page: str, monkeypatch, **query: str) -> AppTest:
    monkeypatch.setenv("GRAPHINTEL_STORE", uri)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.query_params.update(query)
    at.switch_page(f"sections/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_alerts_page_lists_and_filters(watched, monkeypatch):
    uri, acked = watched
    at = _run(uri, "alerts", monkeypatch)
    assert at.title[0].value == "Alerts"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Open": "10", "Acknowledged": "1", "All alerts": "11"}
    table = at.dataframe[0].value
    assert len(table) == 10  # open by default
    assert acked not in set(table["alert_id"])
    room = table[table["channel_id"] == "R3"]
    assert set(room["room"]) == {"SCHOOL gossip (fictional)"}
    assert set(table.loc[table["account_id"] == "W1", "account_link"]) == {"referrals?account=W1"}
    assert "channels?room=R1" in set(table["room_link"])

    at.selectbox(key="al_state").set_value("all").run()
    assert len(at.dataframe[0].value) == 11
    at.multiselect(key="al_rules").set_value(["watched_keyword_title"]).run()
    table = at.dataframe[0].value
    assert sorted(table["channel_id"]) == ["R1", "R3"]
    at.multiselect(key="al_rules").set_value([]).run()
    at.text_input(key="al_search").set_value("hx").run()  # case-insensitive
    assert at.dataframe[0].value["content_hash"].tolist() == ["hX"]
    assert not at.exception

    # the picked alert links to its room and its account through query parameters
    at.text_input(key="al_search").set_value("").run()
    at.multiselect(key="al_rules").set_value(["watched_account"]).run()
    first = at.dataframe[0].value.iloc[0]
    at.selectbox(key="al_pick").set_value(first["alert_id"]).run()
    links = {p.label: p for p in at.get("page_link")}
    assert any(label.startswith("Account ") for label in links), links


def test_alerts_page_without_alerts(tmp_path, monkeypatch):
    uri = f"duckdb:{tmp_path / 'x.duckdb'}"
    settings = load_settings({"GRAPHINTEL_PII_KEY": "test-key"})
    store = open_store(uri, settings)
    ingest_manifest(ROOT / "sample_data" / "tiny", store, settings)
    store.close()
    at = _run(uri, "alerts", monkeypatch)
    assert any("graphintel watch add" in i.value for i in at.info)
    at = _run(uri, "takedowns", monkeypatch)
    assert any("graphintel takedown request" in i.value for i in at.info)


def test_takedowns_page(watched, monkeypatch):
    uri, _ = watched
    at = _run(uri, "takedowns", monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Requests": "3",
        "Confirmed": "1",
        "Pending": "1",
        "Refused": "1",
        "Median days to confirm": "8.0",
        "Still circulating": "3",
    }
    names = ["td_circulating", "td_rooms", "td_operators", "td_reappearances", "td_records"]
    frames = dict(zip(names, (d.value for d in at.dataframe)))
    assert sorted(frames["td_circulating"]["content_hash"]) == ["hX", "hY", "hZ"]
    assert frames["td_rooms"][["channel_id", "reappearances"]].values.tolist() == [["R2", 1]]
    assert frames["td_operators"]["account_id"].tolist() == ["M2", "W2"]
    assert frames["td_reappearances"]["channel_id"].tolist() == ["R2"]
    assert len(frames["td_records"]) == 3


def test_deep_links_open_the_room_and_the_account(watched, monkeypatch):
    uri, _ = watched
    at = _run(uri, "channels", monkeypatch, room="R3")
    assert at.selectbox(key="ch_focus").value == "R3"
    assert any(s.value == "Room details" for s in at.subheader)
    at = _run(uri, "referrals", monkeypatch, account="M3")
    assert at.selectbox(key="rf_account").value == "M3"
    at = _run(uri, "channels", monkeypatch, room="no-such-room")
    assert at.selectbox(key="ch_focus").value == ""
