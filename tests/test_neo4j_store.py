"""Neo4j-only checks: same frames as the embedded store, the graph shape, errors, hostile text.

Runs against the real server named by NEO4J_URI (see tests/conftest.py); skipped without one.
"""

from __future__ import annotations

import pandas as pd
import pytest

from graphintel.errors import StoreError, StoreUnavailable
from graphintel.model import ACCOUNT_METRIC_COLUMNS, TABLES
from graphintel.store.neo4j_store import Neo4jStore
from ingest.job import ingest_manifest

pytestmark = pytest.mark.neo4j

SECOND_MANIFEST = (
    "case_id: CASE-TINY-0001\nsource_id: SRC-TINY-0002\nmethod: open_source\n"
    "legal_basis: 'Public posts, open-source collection'\ncollected_at: 2024-08-21\n"
    "collected_by: test\nfiles:\n"
    "  - {path: forwards.csv, table: forwards}\n"
    "  - {path: transactions.csv, table: transactions}\n"
    "  - {path: channels.csv, table: channels}\n"
    "  - {path: invites.csv, table: invites}\n"
)


def _second_bundle(tmp_path):
    d = tmp_path / "second"
    d.mkdir()
    (d / "manifest.yaml").write_text(SECOND_MANIFEST)
    # C1->C2 at 07-11 is already known (gains a source), 07-15 is new, one has no timestamp.
    (d / "forwards.csv").write_text(
        "from_channel_id,to_channel_id,ts\nC1,C2,2024-07-11T09:00:00\nC1,C2,2024-07-15T09:00:00\n"
        "C1,C2,\nC3,C2,2024-07-16T00:00:00\n"
    )
    # T10 moves to other endpoints; T11 is new.
    (d / "transactions.csv").write_text(
        "txn_id,from_id,to_id,credits,kind\nT10,A02,A12,8,payout\nT11,A05,A01,3,purchase\n"
    )
    # C3 gets another creator; a hostile title travels as a parameter.
    (d / "channels.csv").write_text(
        'channel_id,title,creator_id\nC3,"x`}) DETACH DELETE n //\' ""q""",A02\n'
    )
    (d / "invites.csv").write_text("inviter_id,invitee_id,channel_id,invited_at\nA01,A10,,\n")
    return d


def _norm(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for col in ("source_ids", "files", "file_hashes"):
        if col in frame:
            frame[col] = frame[col].map(list)
    return frame.drop(columns=["ingested_at"], errors="ignore")


def _both(duckdb_store, neo4j_store, bundle, settings):
    for store in (duckdb_store, neo4j_store):
        ingest_manifest(bundle, store, settings)


def test_same_frames_as_duckdb(duckdb_store, neo4j_store, tiny_bundle, settings, tmp_path):
    _both(duckdb_store, neo4j_store, tiny_bundle, settings)
    _both(duckdb_store, neo4j_store, _second_bundle(tmp_path), settings)
    for name in TABLES:
        pd.testing.assert_frame_equal(
            _norm(neo4j_store.table(name)), _norm(duckdb_store.table(name)), obj=name
        )
    pd.testing.assert_frame_equal(_norm(neo4j_store.sources()), _norm(duckdb_store.sources()))
    assert neo4j_store.counts() == duckdb_store.counts()
    assert neo4j_store.counts()["forwards"] == 7
    for name, where in [
        ("memberships", {"channel_id": ["C1", "C3"], "role": ["admin"]}),
        ("invites", {"channel_id": [""]}),
        ("forwards", {"ts": ["2024-07-11T09:00:00", ""]}),
        ("transactions", {"from_id": ["A02"]}),
    ]:
        pd.testing.assert_frame_equal(
            _norm(neo4j_store.table(name, where=where)),
            _norm(duckdb_store.table(name, where=where)),
            obj=f"{name} {where}",
        )
    fw = neo4j_store.table("forwards", where={"from_channel_id": ["C1"], "to_channel_id": ["C2"]})
    assert fw["ts"].tolist() == [
        None,
        "2024-07-10T09:00:00",
        "2024-07-11T09:00:00",
        "2024-07-15T09:00:00",
    ]
    assert fw["source_ids"].tolist() == [
        ["SRC-TINY-0002"],
        ["SRC-TINY-0001"],
        ["SRC-TINY-0001", "SRC-TINY-0002"],
        ["SRC-TINY-0002"],
    ]
    title = neo4j_store.table("channels", where={"channel_id": ["C3"]})["title"].iloc[0]
    assert title == 'x`}) DETACH DELETE n //\' "q"'


def test_graph_shape(neo4j_store, tiny_bundle, settings, tmp_path):
    ingest_manifest(tiny_bundle, neo4j_store, settings)
    ingest_manifest(_second_bundle(tmp_path), neo4j_store, settings)
    _, rows = neo4j_store._read(
        "MATCH (:Channel {channel_id: 'C1'})-[r:FORWARDED_TO]->(:Channel {channel_id: 'C2'}) "
        "RETURN r.count, r.first_ts, r.last_ts, r.ts_list, r.source_ids"
    )
    assert rows == [
        [
            4,
            "2024-07-10T09:00:00",
            "2024-07-15T09:00:00",
            ["", "2024-07-10T09:00:00", "2024-07-11T09:00:00", "2024-07-15T09:00:00"],
            ["SRC-TINY-0001", "SRC-TINY-0002"],
        ]
    ]
    _, rows = neo4j_store._read(
        "MATCH (a:Account)-[:CREATED]->(c:Channel) RETURN c.channel_id, a.account_id "
        "ORDER BY c.channel_id"
    )
    assert rows == [["C1", "A01"], ["C2", "A02"], ["C3", "A02"]]  # C3's creator replaced
    _, rows = neo4j_store._read(
        "MATCH (a:Account)-[r:PAID {txn_id: 'T10'}]->(b:Account) "
        "RETURN a.account_id, b.account_id, r.amount_krw, r.source_ids"
    )
    assert rows == [["A02", "A12", 21200.0, ["SRC-TINY-0001", "SRC-TINY-0002"]]]
    _, rows = neo4j_store._read(
        "MATCH (:Channel)-[p:POSTED]->(c:Content) RETURN count(p), count(DISTINCT c)"
    )
    assert rows == [[5, 4]]
    _, rows = neo4j_store._read("MATCH (n) WHERE n.source_ids IS NULL RETURN count(n)")
    assert rows == [[0]]
    _, rows = neo4j_store._read("MATCH ()-[r]->() WHERE r.source_ids IS NULL RETURN count(r)")
    assert rows == [[0]]
    _, rows = neo4j_store._read(
        "SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type "
        "WHERE type ENDS WITH 'UNIQUENESS' RETURN labelsOrTypes[0], properties[0]"
    )
    assert {tuple(r) for r in rows} >= {
        ("Account", "account_id"),
        ("Channel", "channel_id"),
        ("Organization", "org_id"),
        ("Content", "content_hash"),
        ("Source", "source_id"),
        ("PAID", "txn_id"),
    }


def test_results_are_replaced(neo4j_store, tiny_bundle, settings):
    ingest_manifest(tiny_bundle, neo4j_store, settings)
    rows = []
    for rank, account in enumerate(["A02", "A01", "A03"], start=1):
        row = dict.fromkeys(ACCOUNT_METRIC_COLUMNS)
        row.update(
            account_id=account, community=rank % 2, priority_score=1.0 / rank, priority_rank=rank
        )
        rows.append(row)
    neo4j_store.write_results("account_metrics", pd.DataFrame(rows))
    got = neo4j_store.results("account_metrics")
    assert got["account_id"].tolist() == ["A02", "A01", "A03"]
    assert got["priority_rank"].dtype == "int64"
    neo4j_store.write_results("account_metrics", pd.DataFrame(rows[1:2]))
    assert neo4j_store.results("account_metrics")["account_id"].tolist() == ["A01"]
    links = pd.DataFrame(
        {
            "channel_a": ["C1", "C1"],
            "channel_b": ["C2", "C3"],
            "forwards": [2, 0],
            "shared_members": [1, 2],
            "jaccard": [0.1, 0.5],
        }
    )
    neo4j_store.write_results("channel_links", links)
    neo4j_store.write_results("channel_links", links.iloc[1:])
    got = neo4j_store.results("channel_links")
    assert got["channel_b"].tolist() == ["C3"]
    assert got["jaccard"].tolist() == pytest.approx([0.5])
    bad = pd.DataFrame([dict(rows[0], account_id="NOPE")])
    with pytest.raises(StoreError, match="account_metrics"):
        neo4j_store.write_results("account_metrics", bad)


def test_unreachable_server_says_what_to_do():
    store = Neo4jStore("bolt://127.0.0.1:1", "neo4j", "x")  # no I/O here
    with pytest.raises(StoreUnavailable, match="graphintel neo4j start"):
        store.counts()
    store.close()


def test_wrong_password_says_what_to_do(neo4j_session_store):
    store = Neo4jStore(neo4j_session_store.uri, "neo4j", "not-the-password")
    with pytest.raises(StoreUnavailable, match="NEO4J_PASSWORD"):
        store.counts()
    store.close()
