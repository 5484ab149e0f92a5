"""Retraction: after `retract` + `analyze` the store equals ingesting the other sources alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graphintel.analytics.pipeline import analyze_store
from graphintel.errors import ConfigError, ManifestError
from graphintel.export import export_store
from graphintel.model import TABLES
from graphintel.report import build_report
from graphintel.retraction import retract_source
from ingest.job import ingest_manifest
from tests.legal_data import write_bundle


def _snapshot(store, out: Path) -> dict:
    """Everything the equality is about: counts (but sources), every table, the CSV exports."""
    report = build_report(store)
    report.pop("store")
    report["counts"].pop("sources")
    tables = {}
    for name in TABLES:
        frame = store.table(name)
        frame["source_ids"] = frame["source_ids"].map(lambda v: tuple(v))
        tables[name] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    paths = export_store(store, "csv", out)
    return {"report": report, "tables": tables, "csv": {p.name: p.read_bytes() for p in paths}}


def test_retract_equals_ingesting_the_others_alone(store, settings, tmp_path):
    manifests = {
        sid: write_bundle(tmp_path / "bundles", sid) for sid in ("SRC-A", "SRC-S", "SRC-C")
    }
    clear = store.clear

    clear()
    store.ensure_schema()
    for sid in ("SRC-A", "SRC-C"):
        ingest_manifest(manifests[sid], store, settings)
    analyze_store(store, seed=0)
    expected = _snapshot(store, tmp_path / "expected")

    clear()
    store.ensure_schema()
    for sid in ("SRC-A", "SRC-S", "SRC-C"):
        ingest_manifest(manifests[sid], store, settings)
    before = store.table("accounts").set_index("account_id")
    assert before.loc["U1", "display_name"] == "Only S name"  # only S supplied it
    assert before.loc["U2", "handle"] == "@s_u2"  # S overrode A's value
    report = retract_source(store, "SRC-S", "excluded by court order 2024-77", retracted_by="t")
    # removed: U4 is still referenced by SRC-C (inferred); C3, O2, h:2 and S-only edges go
    assert report.removed["accounts"] == 0
    assert report.removed["channels"] == 1 and report.removed["organizations"] == 1
    assert report.replayed == ["SRC-A", "SRC-C"]
    analyze_store(store, seed=0)
    got = _snapshot(store, tmp_path / "got")

    assert got["report"] == expected["report"]
    assert got["tables"] == expected["tables"]
    assert got["csv"] == expected["csv"]
    accounts = store.table("accounts").set_index("account_id")
    assert pd.isna(accounts.loc["U1", "display_name"]) and accounts.loc["U2", "handle"] == "@u2"
    assert accounts.loc["U2", "display_name"] == "Two (C)"
    assert bool(accounts.loc["U4", "inferred"]) and pd.isna(accounts.loc["U4", "handle"])

    # the tombstone stays, listed as retracted; the source cannot come back
    assert "SRC-S" in set(store.sources()["source_id"])
    tomb = store.retractions().set_index("source_id").loc["SRC-S"]
    assert tomb["retracted_by"] == "t" and tomb["reason"] == "excluded by court order 2024-77"
    assert not any(c[0] == "SRC-S" for c in store.source_copies())
    with pytest.raises(ManifestError, match="retracted"):
        ingest_manifest(manifests["SRC-S"], store, settings)
    with pytest.raises(ConfigError, match="already retracted"):
        retract_source(store, "SRC-S", "again", retracted_by="t")
    clear()


def test_retract_refuses_bad_input(duckdb_store, settings, tmp_path):
    ingest_manifest(write_bundle(tmp_path, "SRC-A"), duckdb_store, settings)
    before = duckdb_store.counts()
    with pytest.raises(ConfigError, match="unknown source 'SRC-X'.*SRC-A"):
        retract_source(duckdb_store, "SRC-X", "why", retracted_by="t")
    with pytest.raises(ConfigError, match="reason is empty"):
        retract_source(duckdb_store, "SRC-A", "  ", retracted_by="t")
    assert duckdb_store.counts() == before


def test_retract_the_only_source_empties_the_store(duckdb_store, settings, tmp_path):
    ingest_manifest(write_bundle(tmp_path, "SRC-A"), duckdb_store, settings)
    analyze_store(duckdb_store, seed=0)
    retract_source(duckdb_store, "SRC-A", "excluded", retracted_by="t")
    counts = duckdb_store.counts()
    assert counts.pop("sources") == 1 and set(counts.values()) == {0}
    assert duckdb_store.results("account_metrics").empty


def test_cli_retract_is_audited_and_refuses_bad_input(tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.pop("GRAPHINTEL_AUDIT_LOG", None)
    env.update(
        GRAPHINTEL_WORKSPACE=str(tmp_path / "ws"),
        GRAPHINTEL_STORE=f"duckdb:{tmp_path / 'ws' / 'g.duckdb'}",
        GRAPHINTEL_PII_KEY="k",
    )

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "graphintel.cli", *args],
            check=False,
            capture_output=True,
            text=True,
            env=env,
        )

    for sid in ("SRC-A", "SRC-S"):
        assert cli("ingest", str(write_bundle(tmp_path, sid)), "--no-progress").returncode == 0
    bad = cli("retract", "SRC-NOPE", "--reason", "x")
    assert bad.returncode == 2 and "unknown source 'SRC-NOPE'" in bad.stderr
    assert "Traceback" not in bad.stderr
    ok = cli("retract", "SRC-S", "--reason", "court order 77")
    assert ok.returncode == 0 and "Retracted source SRC-S" in ok.stdout, ok.stderr
    again = cli("ingest", str(tmp_path / "SRC-S" / "manifest.yaml"), "--no-progress")
    assert again.returncode == 2 and "was retracted" in again.stderr
    entries = json.loads(cli("audit", "show", "--case", "CASE-B", "--format", "json").stdout)
    assert [e["action"] for e in entries] == ["ingest", "retract"]
    assert entries[1]["details"]["reason"] == "court order 77"
    assert cli("audit", "verify").stdout.startswith("3 entries intact")
