"""Dashboard auditing under AppTest on the tiny store: a page view lists the ids of the rows it
showed; its head is recorded beside the store; the Overview marks retracted sources."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from graphintel.audit import AuditLog, HeadFile, StoreHead, verify_chain
from graphintel.errors import AuditError
from tests.test_dashboard_apptest import _store

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboards" / "app.py")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dash-audit") / "tiny.duckdb"
    _store(path, analyse=True)
    return path


def _view(tiny: Path, page: str, monkeypatch, log: Path) -> tuple[AppTest, dict]:
    monkeypatch.setenv("GRAPHINTEL_STORE", f"duckdb:{tiny}")
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(log))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if page != "overview":
        at.switch_page(f"sections/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    views = [json.loads(x) for x in log.read_text().splitlines()]
    views = [e for e in views if e["action"] == "page_view"]
    return at, views[-1]


def _frames(at: AppTest) -> list:
    return [df.value for df in at.dataframe]


def _ids(entry: dict) -> dict[str, list[str]]:
    return {kind: s["ids"] for kind, s in entry["details"]["shown"].items()}


def test_overview_view_lists_the_ids_it_showed(tiny, monkeypatch, tmp_path):
    at, entry = _view(tiny, "overview", monkeypatch, tmp_path / "audit.jsonl")
    assert entry["details"]["page"] == "Overview"
    sources, rooms = _frames(at)
    # known answer: the tiny bundle's one source, its four rooms (C4 only referenced) and the
    # rooms' creators A01 (C1, C3) and A02 (C2)
    assert _ids(entry) == {
        "account_id": ["A01", "A02"],
        "channel_id": ["C1", "C2", "C3", "C4"],
        "source_id": ["SRC-TINY-0001"],
    }
    assert sorted(rooms["channel_id"]) == _ids(entry)["channel_id"]
    assert list(sources["source_id"]) == _ids(entry)["source_id"]
    shown = entry["details"]["shown"]["channel_id"]
    assert shown["count"] == 4 and shown["truncated"] is False
    assert shown["sha256"] == hashlib.sha256(b"C1\nC2\nC3\nC4\n").hexdigest()


def test_operators_view_lists_ranking_and_proceeds_ids(tiny, monkeypatch, tmp_path):
    at, entry = _view(tiny, "operators", monkeypatch, tmp_path / "audit.jsonl")
    frames = _frames(at)
    ranking = frames[0]
    proceeds = next(f for f in frames if "txn_id" in f.columns)
    ids = _ids(entry)
    # the purchases received by the first-ranked account A01 (tiny: T04 from A04, T05 from A05)
    assert ids["txn_id"] == ["T04", "T05"] == sorted(proceeds["txn_id"])
    assert ids["account_id"] == sorted(set(ranking["account_id"]) | set(proceeds["from_id"]))
    assert ids["channel_id"] == sorted(set(proceeds["channel_id"].dropna()))
    evidence = next(f for f in frames if "record_key" in f.columns)
    records = evidence["record_table"] + ":" + evidence["record_key"]
    assert ids["record"] == sorted(set(records)) and "transactions:T04" in ids["record"]


def test_view_ids_are_bounded_with_count_and_digest():
    from dashboards.components import ViewAudit

    hook = ViewAudit()
    many = [f"A{i:05d}" for i in range(1500)]
    hook("rooms", {"q": None}, {"from_id": many[:900], "to_id": many[600:], "channel_a": ["C1"]})
    shown = hook.shown()
    assert shown["account_id"]["count"] == 1500 and shown["account_id"]["truncated"] is True
    assert shown["account_id"]["ids"] == many[:1000]
    digest = hashlib.sha256("".join(a + "\n" for a in many).encode()).hexdigest()
    assert shown["account_id"]["sha256"] == digest
    assert shown["channel_id"]["ids"] == ["C1"]


def test_dashboard_entries_record_their_head_beside_the_store(tiny, monkeypatch, tmp_path):
    import shutil

    store = tmp_path / "own.duckdb"  # its own side file: one log per store
    shutil.copyfile(tiny, store)
    log = tmp_path / "audit.jsonl"
    _view(store, "overview", monkeypatch, log)
    entries = AuditLog(log).entries()
    head = HeadFile(store).audit_head()
    assert head == (entries[-1]["seq"], entries[-1]["hash"])
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:-1]), encoding="utf-8")
    with pytest.raises(AuditError) as err:
        verify_chain(AuditLog(log).entries(), [StoreHead("side", *head)])
    assert err.value.seq == head[0]


@pytest.fixture(scope="module")
def retracted(tmp_path_factory) -> Path:
    """SRC-A (CASE-A) and SRC-S (CASE-B) ingested, then SRC-S retracted, then analysed."""
    from graphintel.analytics.pipeline import analyze_store
    from graphintel.config import load_settings
    from graphintel.retraction import retract_source
    from graphintel.store.duckdb_store import DuckDBStore
    from graphintel.users import UserFile
    from ingest.job import ingest_manifest
    from tests.legal_data import write_bundle

    tmp = tmp_path_factory.mktemp("retracted")
    settings = load_settings({"GRAPHINTEL_PII_KEY": "test-key"})
    with DuckDBStore(tmp / "graph.duckdb") as store:
        for sid in ("SRC-A", "SRC-S"):
            ingest_manifest(write_bundle(tmp / "b", sid), store, settings)
        retract_source(store, "SRC-S", "excluded by the court <b>2024-B</b>", retracted_by="ana")
        analyze_store(store)
    users = UserFile(tmp / "ws" / "users.json")
    users.add("kim", "investigator", "kim-secret-1", cases=["CASE-A"])
    users.add("bo", "investigator", "bo-secret-12", cases=["CASE-B"])
    users.add("ana", "admin", "ana-secret-1")
    return tmp


def _overview_sources(tmp: Path, monkeypatch, name: str, role: str, cases: tuple) -> tuple:
    import time

    from dashboards.auth import Identity

    monkeypatch.setenv("GRAPHINTEL_STORE", f"duckdb:{tmp / 'graph.duckdb'}")
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(tmp / "ws"))
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(tmp / f"audit-{name}.jsonl"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["_identity"] = Identity(name=name, role=role, cases=cases)
    at.session_state["_last_seen"] = time.time()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    frame = next(df.value for df in at.dataframe if "status" in df.value.columns)
    caption = " ".join(str(c.value) for c in at.caption)
    return frame, caption


def test_overview_marks_retracted_sources(retracted, monkeypatch):
    frame, caption = _overview_sources(retracted, monkeypatch, "ana", "admin", ())
    rows = frame.set_index("source_id")
    assert list(frame["source_id"]) == ["SRC-A", "SRC-S"]
    assert rows.loc["SRC-A", "status"] == "active" and pd.isna(rows.loc["SRC-A", "retracted_by"])
    assert rows.loc["SRC-S", "status"] == "retracted"
    assert rows.loc["SRC-S", "retracted_by"] == "ana"
    assert rows.loc["SRC-S", "retraction_reason"] == "excluded by the court <b>2024-B</b>"
    assert rows.loc["SRC-S", "case_id"] == "CASE-B"
    assert "1 retracted" in caption
    # a user of the retracted source's case sees its tombstone, and only that (audited)
    frame, _ = _overview_sources(retracted, monkeypatch, "bo", "investigator", ("CASE-B",))
    assert frame[["source_id", "status", "files"]].values.tolist() == [["SRC-S", "retracted", 9]]
    bo = AuditLog(retracted / "audit-bo.jsonl").entries()[-1]
    assert bo["action"] == "page_view" and bo["details"]["sources"] == []
    assert bo["details"]["shown"]["source_id"]["ids"] == ["SRC-S"]
    # a user of the other case sees nothing of it
    frame, caption = _overview_sources(retracted, monkeypatch, "kim", "investigator", ("CASE-A",))
    assert frame[["source_id", "status"]].values.tolist() == [["SRC-A", "active"]]
    assert "retracted (status" not in caption


def test_audit_page_checks_the_side_file_head(tiny, monkeypatch, tmp_path):
    import shutil

    store = tmp_path / "own.duckdb"
    shutil.copyfile(tiny, store)
    log = tmp_path / "audit.jsonl"
    at, _ = _view(store, "overview", monkeypatch, log)
    at.run()  # a second page view: seq 2, recorded beside the store
    at.switch_page("sections/audit.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == [
        "2 entries intact (hash chain verified; the store's recorded head seq 2 matches)."
    ]
    views = [e for e in AuditLog(log).entries() if e["action"] == "page_view"]
    assert views[-1]["details"] == {  # the Audit page's own view: no case data shown
        "page": "Audit",
        "store": f"duckdb:{store}",
        "cases": [],
        "filters": views[-1]["details"]["filters"],
    }
    assert HeadFile(store).audit_head()[0] == 3
    log.write_text(log.read_text().splitlines(keepends=True)[0], encoding="utf-8")  # cut
    at.run()
    assert any("first bad seq 2" in e.value for e in at.error), [e.value for e in at.error]
