"""Neo4j users' conventions, checked through Cypher on the real server: analytics on the graph
(GDS write-mode style), referral parents as relationships, result generations.

Hand-worked on ``sample_data/tiny``: referral parents (earliest invite, self-invites ignored)
A03→A01, A04→A03 (07-04, before A07's invite of 07-11), A05→A03, A06→A04, A07→A02, A08→A07,
A09→A08, A10→A99 (an inferred inviter). A01 is the root of A03..A06 (4 descendants, A06 at depth
3); A02 of A07..A09 (3). Credits: A01 receives 5 + 5 and pays 8; A03 receives two referral
rewards of 1.
"""

from __future__ import annotations

import pandas as pd
import pytest

from graphintel.analytics.pipeline import analyze_store
from graphintel.store import cypher
from ingest.job import ingest_manifest

pytestmark = pytest.mark.neo4j

PARENTS = {
    "A03": "A01",
    "A04": "A03",
    "A05": "A03",
    "A06": "A04",
    "A07": "A02",
    "A08": "A07",
    "A09": "A08",
    "A10": "A99",
}
ACCOUNT_PROPERTIES = (
    "community",
    "priority_score",
    "priority_rank",
    "referral_root",
    "referral_depth",
    "referral_descendants",
    "credits_in",
    "credits_out",
    "referral_rewards",
)


def _cypher(store, query: str, **params) -> list[dict]:
    with store.driver.session(database=store.database) as session:
        return [r.data() for r in session.run(query, params)]


@pytest.fixture
def analysed(neo4j_store, tiny_bundle, settings):
    ingest_manifest(tiny_bundle, neo4j_store, settings)
    analyze_store(neo4j_store, seed=0)
    return neo4j_store


def test_every_account_and_channel_carries_its_analytics(analysed):
    missing = _cypher(
        analysed,
        "MATCH (a:Account) WHERE any(p IN $props WHERE a[p] IS NULL) RETURN a.account_id AS id",
        props=list(ACCOUNT_PROPERTIES),
    )
    assert missing == []
    assert _cypher(analysed, "MATCH (c:Channel) WHERE c.community IS NULL RETURN c") == []
    rows = _cypher(
        analysed,
        "MATCH (a:Account) WHERE a.account_id IN ['A01', 'A03', 'A06'] RETURN a.account_id AS id, "
        "a.referral_root AS root, a.referral_depth AS depth, a.referral_descendants AS desc, "
        "a.credits_in AS cin, a.credits_out AS cout, a.referral_rewards AS rewards "
        "ORDER BY id",
    )
    assert rows == [
        {
            "id": "A01",
            "root": "A01",
            "depth": 0,
            "desc": 4,
            "cin": 10.0,
            "cout": 8.0,
            "rewards": 0.0,
        },
        {
            "id": "A03",
            "root": "A01",
            "depth": 1,
            "desc": 3,
            "cin": 2.0,
            "cout": 0.0,
            "rewards": 2.0,
        },
        {
            "id": "A06",
            "root": "A01",
            "depth": 3,
            "desc": 0,
            "cin": 0.0,
            "cout": 0.0,
            "rewards": 0.0,
        },
    ]
    # the properties are the result table, value for value
    metrics = analysed.results("account_metrics").set_index("account_id")
    on_graph = pd.DataFrame(
        _cypher(
            analysed,
            "MATCH (a:Account) RETURN a.account_id AS account_id, a.community AS community, "
            "a.priority_score AS priority_score, a.priority_rank AS priority_rank",
        )
    ).set_index("account_id")
    for col in ("community", "priority_score", "priority_rank"):
        assert on_graph[col].sort_index().tolist() == metrics[col].sort_index().tolist()
    ranks = sorted(on_graph["priority_rank"].tolist())
    assert ranks == list(range(1, len(ranks) + 1))
    channels = analysed.results("channel_metrics").set_index("channel_id")["community"]
    on_graph_c = {
        r["id"]: r["c"]
        for r in _cypher(analysed, "MATCH (c:Channel) RETURN c.channel_id AS id, c.community AS c")
    }
    assert on_graph_c == channels.to_dict()


def _parents(store) -> dict[str, str]:
    rows = _cypher(
        store,
        "MATCH (c:Account)-[:REFERRED_BY]->(p:Account) RETURN c.account_id AS c, p.account_id AS p",
    )
    assert len(rows) == len({r["c"] for r in rows}), "one REFERRED_BY per child"
    return {r["c"]: r["p"] for r in rows}


def test_referral_parents_are_relationships_replaced_on_reanalysis(analysed, tmp_path, settings):
    assert _parents(analysed) == PARENTS
    # A new bundle gives A06 an earlier inviter: the relationship moves, nothing is duplicated.
    d = tmp_path / "later"
    d.mkdir()
    (d / "manifest.yaml").write_text(
        "case_id: CASE-TINY-0001\nsource_id: SRC-TINY-0003\nmethod: open_source\n"
        "legal_basis: 'Public posts, open-source collection'\ncollected_at: 2024-08-22\n"
        "collected_by: test\nfiles:\n  - {path: invites.csv, table: invites}\n"
    )
    (d / "invites.csv").write_text(
        "inviter_id,invitee_id,channel_id,invited_at\nA05,A06,C1,2024-07-01T00:00:00\n"
    )
    ingest_manifest(d, analysed, settings)
    analyze_store(analysed, seed=0)
    assert _parents(analysed) == {**PARENTS, "A06": "A05"}
    gens = _cypher(analysed, "MATCH ()-[r:REFERRED_BY]->() RETURN DISTINCT r.gen AS gen")
    current = _cypher(
        analysed, "MATCH (m:ResultTable {table: 'account_metrics'}) RETURN m.gen AS gen"
    )
    assert gens == current


def test_result_tables_are_generations_switched_at_once(analysed):
    before = analysed.results("cycles")
    summary = analysed.results("summary")
    (meta,) = _cypher(
        analysed, "MATCH (m:ResultTable {table: 'summary'}) RETURN m.gen AS gen, m.rows AS rows"
    )
    assert meta["rows"] == len(summary)
    # only the current generation is kept, for every result table
    stale = _cypher(
        analysed,
        "MATCH (n:Result) MATCH (m:ResultTable {table: n.table}) WHERE n.gen <> m.gen "
        "RETURN count(n) AS n",
    )
    assert stale == [{"n": 0}]
    # A write interrupted after some batches (rows of a new generation, no switch) changes
    # nothing readers see; the next complete write removes its rows.
    with analysed.driver.session(database=analysed.database) as session:
        session.run(
            cypher.write_result_rows("summary", ["key", "value"]),
            {
                "c": {"key": ["half"], "value": ["{}"]},
                "n": 1,
                "offset": 0,
                "name": "summary",
                "gen": "interrupted",
            },
        ).consume()
    pd.testing.assert_frame_equal(analysed.results("summary"), summary)
    analysed.write_results("summary", summary.iloc[:2])
    assert analysed.results("summary")["key"].tolist() == summary["key"].tolist()[:2]
    left = _cypher(analysed, "MATCH (n:Result {table: 'summary'}) RETURN count(n) AS n")
    assert left == [{"n": 2}]
    assert analysed.results("cycles").equals(before)


def test_store_takes_a_database_name_and_tls_uris(settings):
    from graphintel.config import load_settings
    from graphintel.store import open_store

    s = load_settings({"NEO4J_DATABASE": "cases", "NEO4J_PASSWORD": "x"})
    assert s.neo4j_database == "cases"
    for uri in ("neo4j+s://db.example:7687", "neo4j+ssc://h:7687", "bolt+s://h:7687"):
        store = open_store(uri, s)
        assert (store.uri, store.database) == (uri, "cases")
        store.close()
