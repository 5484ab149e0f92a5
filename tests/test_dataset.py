"""The query layer (graphintel.dataset) on both stores, with hand-checked answers on the tiny
bundle: every facade query runs once on DuckDB and once on the real Neo4j server."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphintel.analytics.pipeline import analyze_store
from graphintel.dataset import MORE_PREFIX, Dataset
from graphintel.errors import AnalyticsError
from ingest.job import ingest_manifest

TINY_COUNTS = {
    "accounts": 13,
    "channels": 4,
    "memberships": 16,
    "invites": 9,
    "transactions": 10,
    "forwards": 4,
    "organizations": 3,
    "targets": 3,
    "content": 4,
    "sources": 1,
}

SECOND = {
    "manifest.yaml": (
        "case_id: CASE-TWO\nsource_id: SRC-B\nmethod: synthetic\n"
        'legal_basis: "Synthetic test data."\ncollected_at: 2024-08-21\n'
        'collected_by: "test"\nfiles:\n  - {path: accounts.csv, table: accounts}\n'
        "  - {path: channels.csv, table: channels}\n"
        "  - {path: memberships.csv, table: memberships}\n"
    ),
    "accounts.csv": "account_id,handle\nA01,@op_alpha\nB1,@b_one\n",
    "channels.csv": "channel_id,title,kind\nCB,R&D <lab>,group\n",
    "memberships.csv": (
        "account_id,channel_id,role,joined_at\nA01,CB,owner,2024-08-01T00:00:00\n"
        "B1,CB,member,2024-08-02T00:00:00\n"
    ),
}


@pytest.fixture
def ds(store, tiny_bundle, settings) -> Dataset:
    ingest_manifest(tiny_bundle / "manifest.yaml", store, settings)
    analyze_store(store)
    return Dataset.from_store(store)


@pytest.fixture
def two_source(store, tiny_bundle, settings, tmp_path) -> Dataset:
    second = tmp_path / "second"
    second.mkdir()
    for name, text in SECOND.items():
        (second / name).write_text(text, encoding="utf-8")
    ingest_manifest(tiny_bundle / "manifest.yaml", store, settings)
    ingest_manifest(Path(second) / "manifest.yaml", store, settings)
    analyze_store(store)
    return Dataset.from_store(store)


def test_counts_sources_summary(ds):
    assert ds.counts() == TINY_COUNTS
    s = ds.sources()
    assert s[["source_id", "case_id", "method", "files"]].values.tolist() == [
        ["SRC-TINY-0001", "CASE-TINY-0001", "synthetic", 9]
    ]
    assert ds.has_analytics()
    assert ds.summary()["referral"]["largest_cascade"] == 5
    act = ds.activity()
    assert act.groupby("activity")["count"].sum().to_dict() == {
        "invites": 9,
        "joins": 16,
        "purchases": 4,
    }


def test_rooms_search_and_pages(ds):
    r = ds.rooms()
    assert r[["channel_id", "members", "admins", "community"]].values.tolist() == [
        ["C2", 7, 2, 1],
        ["C1", 6, 3, 0],
        ["C3", 3, 1, 0],
        ["C4", 0, 0, 1],
    ]
    assert ds.rooms(limit=2, offset=1)["channel_id"].tolist() == ["C1", "C3"]
    assert ds.rooms_count() == 4
    assert ds.rooms(search="c3")["channel_id"].tolist() == ["C3"]
    assert ds.rooms(communities=[1])["channel_id"].tolist() == ["C2", "C4"]
    assert ds.rooms(orgs=["O1"])["channel_id"].tolist() == ["C1"]
    assert ds.communities() == [0, 1]
    sizes = ds.community_sizes()
    assert sizes["accounts"].sum() == 13 and sizes["channels"].sum() == 4


def test_channel_network_and_details(ds):
    v = ds.channel_network(max_nodes=2)
    assert v.nodes["id"].tolist() == ["C2", "C1"]
    assert v.note == "2 of 4 rooms not shown (cap 2, chosen by members)"
    focus = ds.channel_network(focus="C1")
    assert "C1" in focus.nodes["id"].tolist()
    assert set(focus.edges["source"]) | set(focus.edges["target"]) >= {"C1"}
    full = ds.channel_network()
    windowed = ds.channel_network(start="2000-01-01T00:00:00", end="2999-01-01T00:00:00")
    # a window covering everything recounts the same links the analysis stored
    pairs = sorted(map(tuple, full.edges[["source", "target"]].values.tolist()))
    assert sorted(map(tuple, windowed.edges[["source", "target"]].values.tolist())) == pairs
    d = ds.room_details("C1")
    assert len(d["members"]) == 6
    assert d["admins"]["role"].tolist() == ["owner", "admin", "admin"]
    assert set(d) == {"members", "admins", "invite_links", "forwards", "targets"}
    assert all(list(s) == ["SRC-TINY-0001"] for s in d["members"]["source_ids"])


def test_referral(ds):
    assert ds.cascades(3).values.tolist() == [
        ["A01", "@op_alpha", 5, 3, 1],
        ["A02", "@op_beta", 4, 3, 1],
        ["A99", "A99", 2, 1, 1],
    ]
    assert ds.referral_stats()["cascades"] == 3
    found = ds.search_accounts("op_", limit=5)
    assert found["account_id"].tolist() == ["A01", "A02"]
    v = ds.referral_tree("A01", max_nodes=4)
    assert v.extra["subtree"]["account_id"].tolist() == ["A01", "A03", "A04"]
    assert (v.shown, v.total) == (3, 5)
    more = v.nodes[v.nodes["id"].str.startswith(MORE_PREFIX)]
    assert more["label"].tolist() == ["+1 more (1 account)", "+1 more (1 account)"]
    whole = ds.referral_tree("A01", max_nodes=100)
    assert len(whole.extra["subtree"]) == 5 and whole.note == ""
    with pytest.raises(AnalyticsError):
        ds.referral_tree("NOPE")


def test_operators_and_flows(ds):
    r = ds.operators(top=3)
    assert r["account_id"].tolist() == ["A01", "A02", "A03"]
    assert r["priority_score"].is_monotonic_decreasing
    assert "rooms_operated" in r.columns
    ev = ds.operator_evidence("A01")
    assert len(ev) > 0 and set(ev["source_ids"]) == {"SRC-TINY-0001"}
    assert set(ds.operator_components("A01")["component"]) >= {"rooms_operated"}
    roles = ds.role_flows()
    assert roles.iloc[:3].values.tolist() == [
        ["member", "operator", 20.0, 4],
        ["member", "bot", 10.0, 1],
        ["operator", "bot", 10.0, 2],
    ]
    comm = ds.community_flows(top=10)
    assert comm.iloc[0].tolist() == ["community 0", "community 0", 30.0, 6]
    assert ds.community_flows(top=1)["source"].isin(["community 0", "other"]).all()
    week = ds.credits_over_time("week")
    assert week.iloc[0].tolist() == ["2024-07-01", "purchase", 10.0, 2]
    assert ds.top_earners(1).values.tolist() == [["A12", "@credit_bot", 18.0, 0.0, 3.0, 15.0, 4]]


def test_trace_and_targets(ds):
    v = ds.trace("A04", hops=2)
    t = v.extra["table"]
    assert t[["hop", "txn_id"]].values.tolist() == [
        [1, "T01"],
        [1, "T04"],
        [2, "T02"],
        [2, "T03"],
        [2, "T06"],
        [2, "T10"],
    ]
    assert v.extra["summary"]["accounts_reached"] == 4
    back = ds.trace("A12", direction="backward", hops=1, end="2024-07-10T23:59:59")
    assert back.extra["table"]["txn_id"].tolist() == ["T01"]
    assert ds.payment_day_range()[0].isoformat() == "2024-07-04"
    tg = ds.targets()
    assert tg[["org_id", "rooms", "members_reached"]].values.tolist() == [
        ["O2", 1, 7],
        ["O1", 1, 6],
        ["O3", 1, 3],
    ]
    assert ds.regions()["organisations"].sum() == 3


def test_no_analytics(store, tiny_bundle, settings):
    ingest_manifest(tiny_bundle / "manifest.yaml", store, settings)
    ds = Dataset.from_store(store)
    assert not ds.has_analytics()
    assert "graphintel analyze" in ds.analytics_missing()
    assert ds.counts()["accounts"] == 13
    assert ds.rooms().empty and ds.operators().empty and ds.cascades().empty
    assert ds.search_accounts("A0", limit=3)["account_id"].tolist() == ["A01", "A02", "A03"]


def test_scope_and_audit(two_source):
    everything = two_source.counts()
    assert everything["accounts"] == 14 and everything["sources"] == 2
    b = two_source.scoped(["SRC-B"])
    assert {k: b.counts()[k] for k in ("accounts", "channels", "memberships", "sources")} == {
        "accounts": 2,
        "channels": 1,
        "memberships": 2,
        "sources": 1,
    }
    assert b.rooms()["channel_id"].tolist() == ["CB"]
    assert b.rooms()["title"].tolist() == ["R&D <lab>"]
    assert b.sources()["source_id"].tolist() == ["SRC-B"]
    tiny = two_source.scoped(["SRC-TINY-0001"])
    assert tiny.counts() == TINY_COUNTS
    assert "CB" not in tiny.rooms()["channel_id"].tolist()
    assert two_source.scoped([]).counts() == dict.fromkeys(TINY_COUNTS, 0)

    seen = []
    audited = b.with_audit(lambda action, params, ids: seen.append((action, params, ids)))
    audited.room_details("CB")
    actions = [a for a, _, _ in seen]
    assert actions[:2] == ["room_members", "room_members"]
    assert seen[0][1]["scope"] == ["SRC-B"] and seen[0][1]["channel"] == "CB"
    assert seen[0][2]["account_id"] == ["A01", "B1"]


def test_neo4j_unscoped_forms_give_the_scoped_rows(neo4j_store, tiny_bundle, settings):
    """Each unscoped statement (count store, index order) returns exactly the rows of its
    scoped statement run with ``$scope`` null, with and without a search text."""
    from graphintel.store import cypher

    ingest_manifest(tiny_bundle / "manifest.yaml", neo4j_store, settings)
    analyze_store(neo4j_store)
    assert set(cypher.DATASET_UNSCOPED) == {"counts", "search_accounts"}
    for name in cypher.DATASET_UNSCOPED:
        scoped, cols = cypher.dataset_query(name)
        unscoped, same_cols = cypher.dataset_query(name, scoped=False)
        assert unscoped != scoped and same_cols == cols
        for q, limit in ((None, 3), (None, 50), ("a0", 2), ("zzz", 5)):
            params = {"scope": None, "q": q, "limit": limit}
            want = neo4j_store._read(scoped, **params)
            assert neo4j_store._read(unscoped, **params) == want
    _, rows = neo4j_store._read(cypher.dataset_query("counts", scoped=False)[0])
    assert dict(rows) == TINY_COUNTS
    _, top = neo4j_store._read(
        cypher.dataset_query("search_accounts", scoped=False)[0], scope=None, q=None, limit=3
    )
    assert [r[0] for r in top] == ["A01", "A02", "A03"]


def test_neo4j_cache_follows_the_store(neo4j_store, tiny_bundle, settings, tmp_path):
    """Answers are cached per store fingerprint: a second ingest is seen at the next check
    (not after a fixed time), an unchanged store keeps its generation."""
    ingest_manifest(tiny_bundle / "manifest.yaml", neo4j_store, settings)
    analyze_store(neo4j_store)
    ds = Dataset.from_store(neo4j_store)
    ds._reader.check = 0.0
    first = ds.generation()
    assert ds.generation() == first
    assert ds.counts()["sources"] == 1
    second = tmp_path / "second"
    second.mkdir()
    for name, text in SECOND.items():
        (second / name).write_text(text, encoding="utf-8")
    ingest_manifest(second / "manifest.yaml", neo4j_store, settings)
    assert ds.generation() != first
    assert ds.counts()["sources"] == 2
    assert ds.counts()["channels"] == 5
