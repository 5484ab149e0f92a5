"""A simulated 100k-account case on the real Neo4j, with the server's default (machine-sized)
memory: ingest and analyze succeed and give the same report and analytics as the embedded store.

Before issue 12 ``analyze`` failed here with ``MemoryPoolOutOfMemoryError``
(``dbms.memory.transaction.total.max``): results were written in transactions of 50k rows.
Purchases and top-ups are switched off to keep the run to a few minutes (referral rewards still
make ~100k payments); every account, room, invite and membership of the default model remains.
"""

from __future__ import annotations

import pytest

from graphintel.analytics.pipeline import analyze_store
from graphintel.report import build_report
from graphintel.simulate import SimulationParams, simulate
from ingest.job import ingest_manifest
from tests.golden import SORT_KEYS, digests

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]


def test_100k_accounts_same_report_on_neo4j_and_duckdb(
    tmp_path, duckdb_store, neo4j_store, settings
):
    params = SimulationParams(
        accounts=100_000, seed=3, purchase_probability=0.0, topup_probability=0.0
    )
    report = simulate(tmp_path / "bundle", params)
    assert report.counts["accounts"] == 100_000
    for store in (duckdb_store, neo4j_store):
        ingest_manifest(tmp_path / "bundle", store, settings)
        analyze_store(store, seed=0)
    a, b = build_report(duckdb_store, top=20), build_report(neo4j_store, top=20)
    a.pop("store"), b.pop("store")
    assert a["counts"]["accounts"] == 100_000
    assert a == b
    assert digests({n: duckdb_store.results(n) for n in SORT_KEYS}) == digests(
        {n: neo4j_store.results(n) for n in SORT_KEYS}
    )
    # every account carries its analytics on the graph
    with neo4j_store.driver.session(database=neo4j_store.database) as session:
        rec = session.run(
            "MATCH (a:Account) RETURN count(a) AS n, count(a.community) AS c, "
            "count(a.priority_rank) AS r"
        ).single()
    assert (rec["n"], rec["c"], rec["r"]) == (100_000, 100_000, 100_000)
