"""The same bundle gives the same report and the same analytics on DuckDB and the real Neo4j."""

from __future__ import annotations

import pandas as pd
import pytest

from graphintel.report import build_report
from ingest.job import ingest_manifest

pytestmark = pytest.mark.neo4j


def _normalised(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        out[col] = out[col].map(
            lambda v: (
                None
                if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA
                else (
                    round(float(v), 9)
                    if isinstance(v, (int, float)) and not isinstance(v, bool)
                    else (
                        tuple(v)
                        if isinstance(v, (list, tuple))
                        or hasattr(v, "tolist")
                        and not isinstance(v, str)
                        else v
                    )
                )
            )
        )
    return (out.sort_values(key) if key else out).reset_index(drop=True)


def test_same_report_before_and_after_analytics(duckdb_store, neo4j_store, tiny_bundle, settings):
    for store in (duckdb_store, neo4j_store):
        ingest_manifest(tiny_bundle, store, settings)
    a, b = build_report(duckdb_store), build_report(neo4j_store)
    a.pop("store"), b.pop("store")
    assert a == b

    from graphintel.analytics.pipeline import analyze_store

    for store in (duckdb_store, neo4j_store):
        analyze_store(store, seed=0)
    a, b = build_report(duckdb_store), build_report(neo4j_store)
    assert a.pop("store").startswith("duckdb:") and b.pop("store").startswith(("bolt:", "neo4j:"))
    assert a == b
    assert a["communities"]["method"] and a["communities"]["count"] >= 1
    for name, key in (("account_metrics", ["account_id"]), ("channel_metrics", ["channel_id"])):
        left = _normalised(duckdb_store.results(name), key)
        right = _normalised(neo4j_store.results(name), key)
        pd.testing.assert_frame_equal(left, right, check_dtype=False)
    # the economy's result tables, row for row in the order they were written
    for name in (
        "reconciliation",
        "room_economy",
        "room_activity",
        "cascades",
        "cascade_generations",
        "cascade_growth",
    ):
        left = _normalised(duckdb_store.results(name), [])
        right = _normalised(neo4j_store.results(name), [])
        assert len(left) > 0, name
        pd.testing.assert_frame_equal(left, right, check_dtype=False)
    from graphintel.report import build_compare

    a = build_compare(duckdb_store, "2024-07-12", window_days=5)
    b = build_compare(neo4j_store, "2024-07-12", window_days=5)
    a.pop("store"), b.pop("store")
    assert a == b and a["moves"]
    # the dashboard's economy reads through the query layer, on both stores
    from graphintel.dataset import Dataset

    da, db = Dataset.from_store(duckdb_store), Dataset.from_store(neo4j_store)
    roots = da.cascade_list(5)["root"].tolist()
    assert roots == db.cascade_list(5)["root"].tolist() and roots
    for left, right in (
        (da.room_economy(), db.room_economy()),
        (da.cascade_generations(), db.cascade_generations()),
        (da.cascade_growth(roots), db.cascade_growth(roots)),
        (da.room_activity(), db.room_activity()),
        (da.room_joins(), db.room_joins()),
        (da.purchases_received("A01"), db.purchases_received("A01")),
    ):
        assert len(left) > 0
        pd.testing.assert_frame_equal(
            _normalised(left, []), _normalised(right, []), check_dtype=False
        )
    # the moves of members of stopped rooms, computed in each store, equal the pure function
    # over every join (what the page used to read)
    from graphintel.analytics.economy import compare_window, room_changes, room_moves

    rooms = room_changes(da.room_activity(), "2024-07-12", window_days=5)
    gone = rooms.loc[rooms["status"].isin(["stopped", "dropped"]), "channel_id"].tolist()
    at_s, end = compare_window("2024-07-12", 5)
    expected = room_moves(da.room_joins(), gone, at_s, end)
    assert expected[["from_channel_id", "to_channel_id", "members"]].values.tolist() == [
        ["C1", "C3", 2]
    ]
    for ds in (da, db):
        pd.testing.assert_frame_equal(
            _normalised(ds.room_moves(gone, at_s, end), []),
            _normalised(expected, []),
            check_dtype=False,
        )
    assert da.room_moves([], at_s, end).empty and db.room_moves([], at_s, end).empty
    assert da.account_economy("A01") == db.account_economy("A01")
    assert da.account_economy("A01")["proceeds_krw"] == 26500
