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


def test_request_scope_of_cli_requests():
    """``dossier``/``export --cases``: which cases and sources a request reads, per user."""
    import pytest

    from graphintel.errors import AccessDenied, UserError
    from graphintel.scope import request_scope
    from graphintel.users import User

    s = pd.DataFrame(
        {
            "source_id": ["SRC-A", "SRC-C", "SRC-S", "SRC-T", "SRC-R"],
            "case_id": ["CASE-A", "CASE-A", "CASE-B", "CASE-TRAIN", "CASE-R"],
            "method": ["seizure", "platform_disclosure", "seizure", "synthetic", "seizure"],
        }
    )
    gone = ["SRC-R"]
    assert request_scope(None, s, gone) is None  # the whole store
    assert request_scope(["CASE-B", "CASE-A"], s, gone) == (
        ["CASE-A", "CASE-B"],
        frozenset({"SRC-A", "SRC-C", "SRC-S"}),
    )
    with pytest.raises(UserError, match="unknown case CASE-Z.*known cases are CASE-A, CASE-B"):
        request_scope(["CASE-A", "CASE-Z"], s, gone)
    with pytest.raises(UserError, match="no source left to read"):
        request_scope(["CASE-R"], s, gone)  # every source retracted
    admin = User("ada", "admin")
    assert request_scope(None, s, gone, user=admin) is None
    assert request_scope(["CASE-B"], s, gone, user=admin)[1] == {"SRC-S"}
    kim = User("kim", "investigator", ("CASE-A",))
    assert request_scope(None, s, gone, user=kim) == (["CASE-A"], {"SRC-A", "SRC-C"})
    with pytest.raises(AccessDenied, match="case CASE-B refused"):
        request_scope(["CASE-A", "CASE-B"], s, gone, user=kim, action="export")
    trainer = User("tia", "trainer")
    assert request_scope(None, s, gone, user=trainer) == (["CASE-TRAIN"], {"SRC-T"})
    with pytest.raises(AccessDenied, match="synthetic sources only"):
        request_scope(["CASE-A"], s, gone, user=trainer)
    with pytest.raises(AccessDenied, match="may not export"):
        request_scope(None, s, gone, user=User("ana", "analyst", ("CASE-A",)), action="export")
    with pytest.raises(AccessDenied, match="audit trail only"):
        request_scope(["CASE-A"], s, gone, user=User("aud", "auditor"))
