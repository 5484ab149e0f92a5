"""The whole pipeline: result tables, empty input, determinism, and a real DuckDB store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from graphintel.analytics.pipeline import analyze_store, analyze_tables, summary_dict
from graphintel.model import ACCOUNT_METRIC_COLUMNS, CHANNEL_METRIC_COLUMNS, table_columns
from graphintel.store.base import RESULT_TABLES, Bundle
from graphintel.store.duckdb_store import DuckDBStore

from .test_analytics_priority import tiny_tables


def expected_columns(name: str) -> list[str]:
    if name == "account_metrics":
        return list(ACCOUNT_METRIC_COLUMNS)
    if name == "channel_metrics":
        return list(CHANNEL_METRIC_COLUMNS)
    return list(RESULT_TABLES[name])


def test_empty_store_gives_every_result_table():
    empty = {
        name: pd.DataFrame(columns=table_columns(name))
        for name in (
            "accounts",
            "channels",
            "memberships",
            "invites",
            "transactions",
            "forwards",
            "organizations",
            "targets",
            "content",
        )
    }
    res = analyze_tables(empty)
    assert set(res) == set(RESULT_TABLES)
    for name, frame in res.items():
        assert list(frame.columns) == expected_columns(name), name
    for name in RESULT_TABLES:
        if name != "summary":
            assert res[name].empty, name
    s = summary_dict(res["summary"])
    assert s["communities"]["count"] == 0 and s["communities"]["modularity"] == 0.0
    assert s["referral"] == {"roots": 0, "max_depth": 0, "largest_cascade": 0, "cycles_broken": 0}
    assert {"cascades", "timings", "priority", "centrality"} <= set(s)


def test_full_run_shapes_and_metrics():
    res = analyze_tables(tiny_tables())
    m = res["account_metrics"]
    assert m["account_id"].tolist() == ["A", "B", "C", "D"]
    assert m["community"].dtype == np.int64 and m["priority_rank"].dtype == np.int64
    assert sorted(m["priority_rank"]) == [1, 2, 3, 4]
    assert m["pagerank"].sum() == pytest.approx(1.0)
    mm = m.set_index("account_id")
    assert mm.loc["A", "referral_descendants"] == 2 and mm.loc["B", "referral_parent"] == "A"
    assert mm.loc["B", "credits_out"] == 10.0 and mm.loc["B", "purchases"] == 10.0
    assert mm.loc["A", "net_credits"] == 40.0
    c = res["channel_metrics"].set_index("channel_id")
    assert c.loc["R1", ["members", "admins"]].tolist() == [4, 1]
    assert c.loc["R2", ["members", "admins"]].tolist() == [1, 1]
    s = summary_dict(res["summary"])
    assert s["communities"]["method"] == "louvain"
    assert s["referral"]["largest_cascade"] == 3 and s["referral"]["roots"] == 1
    for v in res["summary"]["value"]:
        json.loads(v)


def shuffled(tables: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return {k: v.iloc[rng.permutation(len(v))].reset_index(drop=True) for k, v in tables.items()}


def generated_tables(n: int = 400, seed: int = 5) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    acc = np.array([f"U{i:04d}" for i in range(n)], dtype=object)
    rooms = np.array([f"R{i:02d}" for i in range(12)], dtype=object)
    parent = np.array([rng.integers(0, max(i, 1)) for i in range(n)])
    inv = pd.DataFrame(
        {
            "inviter_id": acc[parent[1:]],
            "invitee_id": acc[1:],
            "invited_at": [f"2024-01-{1 + i % 28:02d}T00:00:00" for i in range(n - 1)],
        }
    )
    home = rng.integers(0, len(rooms), n)
    mem = pd.DataFrame({"account_id": acc, "channel_id": rooms[home], "role": "member"})
    tx_from = rng.integers(0, n, 3 * n)
    tx = pd.DataFrame(
        {
            "txn_id": [f"T{i:05d}" for i in range(3 * n)],
            "from_id": acc[tx_from],
            "to_id": acc[parent[tx_from]],
            "credits": rng.integers(1, 100, 3 * n).astype(float) / 3,
            "kind": rng.choice(["purchase", "referral_reward", "transfer"], 3 * n),
        }
    )
    fw = pd.DataFrame(
        {
            "from_channel_id": rooms[rng.integers(0, 12, 30)],
            "to_channel_id": rooms[rng.integers(0, 12, 30)],
            "ts": [f"2024-02-{1 + i % 28:02d}T00:00:00" for i in range(30)],
        }
    )
    return {"invites": inv, "memberships": mem, "transactions": tx, "forwards": fw}


@pytest.mark.parametrize("engine", ["louvain", "leiden"])
def test_same_seed_same_results_whatever_the_row_order(engine):
    t = generated_tables()
    a = analyze_tables(t, seed=4, engine=engine)
    b = analyze_tables(shuffled(t, 9), seed=4, engine=engine)
    for name in RESULT_TABLES:
        if name == "summary":
            continue
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    sa, sb = summary_dict(a["summary"]), summary_dict(b["summary"])
    assert sa["communities"] == sb["communities"]


def test_analyze_store_on_duckdb_writes_every_result(tmp_path):
    tables = tiny_tables()
    source = {
        "source_id": "SRC-TEST",
        "case_id": "CASE-TEST",
        "method": "synthetic",
        "legal_basis": "synthetic test data",
        "collected_at": "2024-01-01",
        "collected_by": "tests",
        "files": [],
        "file_hashes": [],
        "ingested_at": "2024-01-01T00:00:00",
    }
    stored = {k: v.drop(columns="source_ids") for k, v in tables.items()}
    store = DuckDBStore(tmp_path / "g.duckdb")
    try:
        store.ensure_schema()
        store.write_bundle(Bundle(source=source, tables=stored))
        res = analyze_store(store, seed=0)
        direct = analyze_tables(tables, seed=0)
        for name in ("account_metrics", "channel_metrics", "priority_components"):
            pd.testing.assert_frame_equal(res[name], direct[name], check_exact=True)
            back = store.results(name)
            assert len(back) == len(direct[name]), name
        back = store.results("account_metrics").set_index("account_id")
        assert back.loc["A", "priority_rank"] == 1
        s = summary_dict(store.results("summary"))
        assert s["referral"]["largest_cascade"] == 3
        ev = store.results("priority_evidence")
        assert list(ev["source_ids"].iloc[0]) == ["SRC-TEST"]
    finally:
        store.close()


def test_analyze_empty_duckdb_store(tmp_path):
    store = DuckDBStore(tmp_path / "empty.duckdb")
    try:
        store.ensure_schema()
        res = analyze_store(store)
        assert res["account_metrics"].empty
        assert summary_dict(store.results("summary"))["communities"]["count"] == 0
    finally:
        store.close()
