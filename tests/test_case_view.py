"""Case views: the store a scoped user reads is exactly case A ingested and analysed alone
(main store on DuckDB and on the real Neo4j), kept private, and never served stale."""

from __future__ import annotations

import json
import stat

import pandas as pd
import pytest

from graphintel.analytics.pipeline import analyze_store
from graphintel.case_view import build_case_view, build_user_views, fingerprint
from graphintel.dossier import write_dossier
from graphintel.model import COUNT_KEYS, RESULT_TABLES, TABLES
from graphintel.retraction import retract_source
from graphintel.store.duckdb_store import DuckDBStore
from graphintel.users import UserFile
from ingest.job import ingest_manifest
from tests.legal_data import write_bundle
from tests.test_scope import _records

CASE_A = frozenset({"SRC-A", "SRC-C"})


def _result(store, name: str) -> pd.DataFrame:
    frame = store.results(name)
    if name == "summary":  # the stage times differ from run to run
        frame = frame[frame["key"] != "timings"]
    frame = frame.astype(object).where(frame.notna(), None)
    cols = list(frame.columns)
    frame = frame.map(lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)
    return frame.sort_values(cols, kind="stable").reset_index(drop=True)


def _two_cases(store, settings, tmp_path):
    manifests = {s: write_bundle(tmp_path / "b", s) for s in ("SRC-A", "SRC-S", "SRC-C")}
    for sid in ("SRC-A", "SRC-S", "SRC-C"):
        ingest_manifest(manifests[sid], store, settings)
    analyze_store(store)
    return manifests


def test_case_view_is_case_a_alone(store, settings, tmp_path):
    manifests = _two_cases(store, settings, tmp_path)
    alone = DuckDBStore(tmp_path / "alone.duckdb")
    for sid in ("SRC-A", "SRC-C"):
        ingest_manifest(manifests[sid], alone, settings)
    analyze_store(alone)

    ws = tmp_path / "ws"
    path, built = build_case_view(store, CASE_A, ws)
    assert built and path.parent == ws / "case_views"
    view = DuckDBStore(path, read_only=True)
    try:
        for t in TABLES:
            assert _records(view.table(t)) == _records(alone.table(t)), t
        assert {k: view.counts()[k] for k in COUNT_KEYS} == {
            k: alone.counts()[k] for k in COUNT_KEYS
        }
        for name in RESULT_TABLES:
            pd.testing.assert_frame_equal(_result(view, name), _result(alone, name), obj=name)
        assert sorted(view.sources()["source_id"]) == ["SRC-A", "SRC-C"]
        assert set(view.sources()["case_id"]) == {"CASE-A"}
        # nothing of case B in the file at all
        assert "Only S name" not in set(view.table("accounts")["display_name"].dropna())
        assert {s for c in view.source_copies() for s in [c[0]]} == set(CASE_A)
        # the dossier of the main store with the scope: the scope's own score and components
        top = alone.results("account_metrics").sort_values("priority_rank")["account_id"].iloc[0]
        write_dossier(store, top, tmp_path / "scoped", scope=CASE_A)
        write_dossier(alone, top, tmp_path / "expected")
        for name in ("components.csv", "evidence.csv", "rooms.csv", "payments.csv"):
            got = (tmp_path / "scoped" / name).read_text()
            assert got == (tmp_path / "expected" / name).read_text(), name
    finally:
        view.close()
        alone.close()
    # case data: private folder and file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["sources"] == ["SRC-A", "SRC-C"]
    # a current view is reused, not rebuilt
    assert build_case_view(store, CASE_A, ws) == (path, False)
    store.clear()


def test_stale_view_is_replaced(duckdb_store, settings, tmp_path):
    manifests = {s: write_bundle(tmp_path / "b", s) for s in ("SRC-A", "SRC-S", "SRC-C")}
    for sid in ("SRC-A", "SRC-S"):
        ingest_manifest(manifests[sid], duckdb_store, settings)
    analyze_store(duckdb_store)
    ws = tmp_path / "ws"
    users = UserFile(ws / "users.json")
    users.add("kim", "investigator", "kim-secret-1", cases=["CASE-A"])
    users.add("sue", "analyst", "sue-secret-1", cases=["CASE-B"])
    users.add("ana", "admin", "ana-secret-1")
    users.add("aud", "auditor", "aud-secret-1")
    # one view per scope that is neither everything (admin) nor nothing (auditor)
    first = build_user_views(duckdb_store, ws / "users.json", ws)
    assert [(sorted(s), b) for s, _, b in first] == [(["SRC-A"], True), (["SRC-S"], True)]
    old = {s: p for s, p, _ in first}[frozenset({"SRC-A"})]

    # a new ingest of case A, then analyze: a new view, the old one gone
    ingest_manifest(manifests["SRC-C"], duckdb_store, settings)
    before = fingerprint(duckdb_store)
    analyze_store(duckdb_store)
    assert fingerprint(duckdb_store) != before  # the analytics run is part of the key
    new, built = build_case_view(duckdb_store, CASE_A, ws)
    assert built and new != old and not old.exists()
    with DuckDBStore(new, read_only=True) as v:
        assert sorted(v.sources()["source_id"]) == ["SRC-A", "SRC-C"]
        assert v.counts()["transactions"] == 2
        assert not v.results("summary").empty

    # a retraction: rebuilt without the retracted source; no analytics until analyze runs
    retract_source(duckdb_store, "SRC-C", "court order (test)", retracted_by="test")
    after, built = build_case_view(duckdb_store, {"SRC-A"}, ws)
    assert built
    with DuckDBStore(after, read_only=True) as v:
        assert sorted(v.sources()["source_id"]) == ["SRC-A"]
        assert v.results("summary").empty
    # only views of the current data remain (CASE-B's older one is gone too)
    assert sorted((ws / "case_views").glob("*.duckdb")) == [after]


@pytest.mark.parametrize("engine", ["leiden"])
def test_view_uses_the_main_analyze_options(duckdb_store, settings, tmp_path, engine):
    for sid in ("SRC-A", "SRC-S", "SRC-C"):
        ingest_manifest(write_bundle(tmp_path / "b", sid), duckdb_store, settings)
    analyze_store(duckdb_store, seed=7, engine=engine, weights={"bot_use": 0.0})
    path, _ = build_case_view(duckdb_store, CASE_A, tmp_path / "ws")
    with DuckDBStore(path, read_only=True) as v:
        s = {k: json.loads(x) for k, x in zip(*v.results("summary")[["key", "value"]].T.values)}
    assert s["communities"]["seed"] == 7 and s["communities"]["method"] == "leiden"
    assert s["priority"]["weights"]["bot_use"] == 0.0


def test_hand_kept_takedowns_and_alerts_follow_the_scope(duckdb_store, settings, tmp_path):
    from graphintel.takedowns import ManualProvenance, record_takedowns, takedown_tables

    for sid in ("SRC-A", "SRC-S"):
        ingest_manifest(write_bundle(tmp_path / "b", sid), duckdb_store, settings)
    for case, sid, h in (("CASE-A", "TD-A", "h:a"), ("CASE-B", "TD-B", "h:b")):
        prov = ManualProvenance(sid, case, "order (test)", "tester")
        record_takedowns(duckdb_store, "request", [h], provenance=prov, at="2024-09-01T00:00:00")
    alerts = pd.DataFrame(
        {
            "alert_id": ["AL1", "AL2"],
            "rule": ["watched_account", "watched_account"],
            "channel_id": ["C1", "C3"],
            "source_ids": [["SRC-A", "SRC-S"], ["SRC-S"]],
        }
    )
    duckdb_store.write_case_rows("alerts", alerts)
    analyze_store(duckdb_store)
    path, _ = build_case_view(duckdb_store, {"SRC-A", "TD-A"}, tmp_path / "ws")
    with DuckDBStore(path, read_only=True) as v:
        td = takedown_tables(v)["records"]
        assert td["content_hash"].tolist() == ["h:a"]
        got = v.case_table("alerts")
        assert got["alert_id"].tolist() == ["AL1"]
        assert [list(x) for x in got["source_ids"]] == [["SRC-A"]]  # SRC-S's id dropped


def test_a_source_without_kept_rows_is_refused(duckdb_store, settings, tmp_path):
    from graphintel.errors import StoreError

    ingest_manifest(write_bundle(tmp_path / "b", "SRC-A"), duckdb_store, settings)
    duckdb_store.delete_source_copies("SRC-A")  # as a store ingested before copies were kept
    with pytest.raises(StoreError, match="SRC-A keep no copy"):
        build_case_view(duckdb_store, {"SRC-A"}, tmp_path / "ws")
    assert not list((tmp_path / "ws" / "case_views").glob("*.duckdb"))


def test_a_writer_keeps_the_view_private(duckdb_store, settings, tmp_path):
    """A later writer of a view file (e.g. the audit head a CLI export records) publishes it
    with the same mode 600."""
    ingest_manifest(write_bundle(tmp_path / "b", "SRC-A"), duckdb_store, settings)
    path, _ = build_case_view(duckdb_store, {"SRC-A"}, tmp_path / "ws")
    with DuckDBStore(path) as w:
        w.record_audit_head(1, "0" * 64)
    with DuckDBStore(path, read_only=True) as r:
        assert r.audit_head() == (1, "0" * 64)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_every_source_permitted_gives_the_store(duckdb_store, settings, tmp_path):
    """A multi-case user permitted every source: the view holds exactly the store's records."""
    _two_cases(duckdb_store, settings, tmp_path)
    path, _ = build_case_view(duckdb_store, {"SRC-A", "SRC-S", "SRC-C"}, tmp_path / "ws")
    with DuckDBStore(path, read_only=True) as v:
        for t in TABLES:
            assert _records(v.table(t)) == _records(duckdb_store.table(t)), t
        for name in ("account_metrics", "priority_components", "room_economy"):
            pd.testing.assert_frame_equal(_result(v, name), _result(duckdb_store, name))


def test_views_of_scopes_no_user_has_are_pruned(duckdb_store, settings, tmp_path):
    from graphintel.case_view import prune_case_views

    for sid in ("SRC-A", "SRC-S", "SRC-C"):
        ingest_manifest(write_bundle(tmp_path / "b", sid), duckdb_store, settings)
    analyze_store(duckdb_store)
    ws = tmp_path / "ws"
    users = UserFile(ws / "users.json")
    users.add("kim", "investigator", "kim-secret-1", cases=["CASE-A"])
    users.add("sue", "analyst", "sue-secret-1", cases=["CASE-B"])
    views = {s: p for s, p, _ in build_user_views(duckdb_store, ws / "users.json", ws)}
    a, b = views[CASE_A], views[frozenset({"SRC-S"})]
    both, _ = build_case_view(duckdb_store, {"SRC-A", "SRC-C", "SRC-S"}, ws)  # no user's scope
    assert prune_case_views(ws, ws / "users.json") == [both]
    assert a.exists() and b.exists() and not both.exists()
    assert not both.with_suffix(".json").exists()
    users.remove("sue")
    assert prune_case_views(ws, ws / "users.json") == [b]
    assert not b.exists() and not b.with_suffix(".json").exists() and a.exists()
    # kim again with other cases: case A's view goes, B's is built on demand
    users.remove("kim")
    users.add("kim", "investigator", "kim-secret-1", cases=["CASE-B"])
    assert prune_case_views(ws, ws / "users.json") == [a]
    assert sorted((ws / "case_views").glob("*.duckdb")) == []
    # a view without the metadata scopes are checked with (an older release's): removed
    old, _ = build_case_view(duckdb_store, {"SRC-S"}, ws)
    meta = json.loads(old.with_suffix(".json").read_text())
    old.with_suffix(".json").write_text(json.dumps({k: meta[k] for k in ("sources", "build")}))
    assert prune_case_views(ws, ws / "users.json") == [old]
    # no users file at all: no one is scoped, every view goes
    view, _ = build_case_view(duckdb_store, {"SRC-S"}, ws)
    (ws / "users.json").unlink()
    assert prune_case_views(ws, ws / "users.json") == [view]


def test_cli_users_and_analyze_prune_views(duckdb_store, settings, tmp_path, monkeypatch):
    import io

    from graphintel.audit import AuditLog
    from graphintel.cli import main

    for sid in ("SRC-A", "SRC-S"):
        ingest_manifest(write_bundle(tmp_path / "b", sid), duckdb_store, settings)
    analyze_store(duckdb_store)
    duckdb_store.close()
    ws = tmp_path / "ws"
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(ws))
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(ws / "audit.jsonl"))
    monkeypatch.setenv("GRAPHINTEL_STORE", duckdb_store.uri)
    monkeypatch.delenv("GRAPHINTEL_USER", raising=False)

    def add(name, case):
        monkeypatch.setattr("sys.stdin", io.StringIO("a long secret\n"))
        args = ["users", "add", name, "--role", "investigator", "--cases", case]
        assert main([*args, "--password-stdin"]) == 0

    add("kim", "CASE-A")
    add("sue", "CASE-B")
    assert main(["analyze"]) == 0  # builds both users' views
    folder = ws / "case_views"
    assert len(list(folder.glob("*.duckdb"))) == 2
    assert main(["users", "remove", "sue"]) == 0
    (left,) = folder.glob("*.duckdb")
    assert json.loads(left.with_suffix(".json").read_text())["sources"] == ["SRC-A"]
    entry = AuditLog(ws / "audit.jsonl").entries()[-1]
    assert entry["action"] == "user_remove" and entry["details"]["case_views_removed"] == 1
    # a view no user's scope needs (e.g. an admin's `export --cases`) goes at the next analyze
    assert (
        main(["export", "--format", "csv", "--out", str(tmp_path / "e"), "--cases", "CASE-B"]) == 0
    )
    assert len(list(folder.glob("*.duckdb"))) == 2
    assert main(["analyze"]) == 0
    (current,) = folder.glob("*.duckdb")
    assert json.loads(current.with_suffix(".json").read_text())["sources"] == ["SRC-A"]
