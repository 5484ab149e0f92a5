"""Case scoping: permitted sources per role, and records as only the permitted sources reported
them (a two-case store, on DuckDB and the real Neo4j)."""

from __future__ import annotations

import pandas as pd

from graphintel.model import TABLES
from graphintel.scope import permitted_sources, scoped_tables
from ingest.job import ingest_manifest
from tests.legal_data import write_bundle


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    out["source_ids"] = out["source_ids"].map(tuple)
    for col in out.columns:
        if col != "source_ids":
            out[col] = out[col].astype(object).where(out[col].notna(), None)
            out[col] = out[col].map(
                lambda v: float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
            )
    return out.to_dict("records")


def test_permitted_sources_per_role(duckdb_store, settings, tmp_path):
    for sid in ("SRC-A", "SRC-S", "SRC-C", "SRC-T"):
        ingest_manifest(write_bundle(tmp_path, sid), duckdb_store, settings)
    s = duckdb_store.sources()
    assert permitted_sources("admin", [], s) is None
    assert permitted_sources("investigator", ["CASE-A"], s) == {"SRC-A", "SRC-C"}
    assert permitted_sources("analyst", ["CASE-B"], s) == {"SRC-S"}
    assert permitted_sources("trainer", [], s) == {"SRC-T"}
    assert permitted_sources("auditor", [], s) == frozenset()
    assert permitted_sources("investigator", ["CASE-A"], s, retracted=["SRC-C"]) == {"SRC-A"}


def test_scoped_tables(store, settings, tmp_path):
    store.clear()
    store.ensure_schema()
    manifests = {s: write_bundle(tmp_path, s) for s in ("SRC-A", "SRC-S", "SRC-C")}
    for sid in ("SRC-A", "SRC-C"):
        ingest_manifest(manifests[sid], store, settings)
    alone = {t: _records(store.table(t)) for t in TABLES}
    ingest_manifest(manifests["SRC-S"], store, settings)
    # every source permitted: exactly the store
    everything = scoped_tables(store, ["SRC-A", "SRC-S", "SRC-C"])
    for t in TABLES:
        assert _records(everything[t]) == _records(store.table(t)), t
    # case A only: what ingesting A and C alone gives, nothing of SRC-S
    # (SRC-S was ingested last here, so this also checks the ingest order is kept)
    case_a = scoped_tables(store, ["SRC-A", "SRC-C"])
    for t in TABLES:
        assert _records(case_a[t]) == alone[t], t
    acc = case_a["accounts"].set_index("account_id")
    assert pd.isna(acc.loc["U1", "display_name"])  # only SRC-S supplied it
    assert acc.loc["U2", "handle"] == "@u2"
    assert "C3" not in set(case_a["channels"]["channel_id"])
    store.clear()
