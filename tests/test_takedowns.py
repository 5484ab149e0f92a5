"""Takedowns: the canonical table's validation, hand-kept records, figures in report and export.

Known answers for ``tests/data/watch/base``: three requests for three hashes (hX confirmed after
8 days, hY refused, hZ requested); hX reappears in R2 (posted 2024-09-20, confirmed 09-10; its
post in R1 on 09-01 came before), whose operators are its creator W2 and its admin M2; still
circulating: hX (reappeared), hY (refused, posted in R3) and hZ (requested, posted in R2).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from graphintel.cli import main
from graphintel.errors import ConfigError, ValidationError
from graphintel.export import export_store
from graphintel.model import MANUAL_METHOD
from graphintel.report import build_report
from graphintel.takedowns import ManualProvenance, record_takedowns, takedown_figures
from ingest.job import ingest_manifest

BASE = Path(__file__).resolve().parent / "data" / "watch" / "base"
PROV = ManualProvenance(case_id="CASE-WATCH-0001", legal_basis="court order 1", collected_by="u7")


def _bundle(tmp_path: Path, rows: str) -> Path:
    dst = shutil.copytree(BASE, tmp_path / "bundle")
    (dst / "takedowns.csv").write_text(
        "content_hash,requested_at,status,confirmed_at,agency,note\n" + rows
    )
    return dst


def test_validation_errors(tmp_path, store, settings):
    bundle = _bundle(
        tmp_path,
        "h1,2024-09-02,done,,,\n"  # line 2: unknown status
        "h2,2024-09-02,confirmed,,,\n"  # line 3: confirmed without confirmed_at
        "h3,2024-09-10,confirmed,2024-09-02,,\n"  # line 4: confirmed before requested
        "h4,2024-09-02,requested,2024-09-05,,\n"  # line 5: a request with a confirmation
        "h5,2024-09-02,refused,,,\n"  # fine
        ",2024-09-02,requested,,,\n"  # line 7: no hash
        "h6,,requested,,,\n",  # line 8: no request time (part of the key)
    )
    with pytest.raises(ValidationError) as info:
        ingest_manifest(bundle, store, settings)
    got = {(f.line, f.column) for f in info.value.failures}
    assert got == {
        (2, "status"),
        (3, "confirmed_at"),
        (4, "confirmed_at"),
        (5, "confirmed_at"),
        (7, "content_hash"),
        (8, "requested_at"),
    }
    rules = {f.line: f.rule for f in info.value.failures}
    assert "not one of requested, confirmed, refused" in rules[2]
    assert "required when status is confirmed" in rules[3]
    assert "dates out of order" in rules[4]
    assert "must be empty unless status is confirmed" in rules[5]
    assert sum(store.counts().values()) == 0  # nothing written
    assert store.table("takedowns").empty


def test_conflicting_duplicates_and_cli_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHINTEL_PII_KEY", "test-key")
    bundle = _bundle(tmp_path, "h1,2024-09-02,requested,,,\nh1,2024-09-02T00:00:00,refused,,,\n")
    code = main(["ingest", str(bundle), "--store", f"duckdb:{tmp_path / 'g.duckdb'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "takedowns.csv line 3" in err and "conflicting duplicate" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_figures_on_both_stores(store, settings, tmp_path):
    ingest_manifest(BASE, store, settings)
    f = takedown_figures(store)
    assert f["requests"] == 3 and f["hashes"] == 3
    assert f["by_status"] == {"requested": 1, "confirmed": 1, "refused": 1}
    assert f["days_to_confirm"] == {"count": 1, "median": 8.0, "mean": 8.0, "max": 8.0}
    assert f["reappearances"] == 1 and f["reappeared_hashes"] == 1
    assert f["per_room"] == [
        {
            "channel_id": "R2",
            "title": "Harmless hobby group (fictional)",
            "reappearances": 1,
            "last_posted_at": "2024-09-20T10:00:00",
        }
    ]
    assert [(o["account_id"], o["rooms"], o["reappearances"]) for o in f["per_operator"]] == [
        ("M2", 1, 1),
        ("W2", 1, 1),
    ]
    circ = {
        c["content_hash"]: (c["status"], c["reason"], c["rooms"]) for c in f["still_circulating"]
    }
    assert circ == {
        "hX": ("confirmed", "reappeared after a confirmed takedown", 1),
        "hY": ("refused", "takedown refused", 1),
        "hZ": ("requested", "takedown requested, not confirmed", 1),
    }
    report = build_report(store)
    assert report["takedowns"] == f
    assert list(report)[:5] == ["store", "counts", "communities", "referral", "top_operators"]

    paths = export_store(store, "csv", tmp_path / "csv")
    names = {p.name for p in paths}
    assert {"accounts.csv", "channels.csv", "takedowns.csv", "takedown_figures.csv"} <= names
    with (tmp_path / "csv" / "takedowns.csv").open(encoding="utf-8") as fh:
        rows = {r["content_hash"]: r for r in csv.DictReader(fh)}
    assert rows["hX"]["days_to_confirm"] == "8.0" and rows["hX"]["reappearances"] == "1"
    assert rows["hY"]["reappearances"] == "0"
    with (tmp_path / "csv" / "takedown_figures.csv").open(encoding="utf-8") as fh:
        figures = {r["figure"]: r["value"] for r in csv.DictReader(fh)}
    assert figures["requests"] == "3" and figures["status_confirmed"] == "1"
    assert figures["days_to_confirm_median"] == "8.0" and figures["still_circulating"] == "3"


def test_report_json_same_on_both_stores(duckdb_store, neo4j_store, settings):
    out = []
    for store in (duckdb_store, neo4j_store):
        ingest_manifest(BASE, store, settings)
        record_takedowns(store, "request", ["hY"], at="2024-09-30", provenance=PROV)
        out.append(build_report(store)["takedowns"])
    assert out[0] == out[1]
    assert out[0]["requests"] == 4


def test_records_kept_by_hand(store, settings):
    ingest_manifest(BASE, store, settings)
    with pytest.raises(ConfigError, match="needs its provenance: give --case-id, --legal-basis"):
        record_takedowns(store, "request", ["hQ"], provenance=ManualProvenance())
    rows = record_takedowns(
        store, "request", ["hQ", "hR"], at="2024-10-01T08:00:00", agency="KCSC", provenance=PROV
    )
    assert rows["status"].tolist() == ["requested", "requested"]
    src = store.sources()
    manual = src[src["source_id"] == "MANUAL-TAKEDOWNS"].iloc[0]
    assert manual["method"] == MANUAL_METHOD and manual["legal_basis"] == "court order 1"
    assert manual["case_id"] == "CASE-WATCH-0001" and manual["collected_by"] == "u7"
    assert list(manual["file_hashes"]) == []
    # later records reuse the source; other provenance needs another source id
    record_takedowns(
        store, "confirm", ["hQ"], at="2024-10-04T08:00:00", provenance=ManualProvenance()
    )
    with pytest.raises(ConfigError, match="another --source-id"):
        record_takedowns(
            store,
            "refuse",
            ["hR"],
            provenance=ManualProvenance(legal_basis="something else"),
        )
    with pytest.raises(ConfigError, match="came from a bundle"):
        record_takedowns(
            store, "refuse", ["hR"], provenance=ManualProvenance(source_id="SRC-W-0001")
        )
    with pytest.raises(ConfigError, match="no open takedown request"):
        record_takedowns(store, "confirm", ["hQ"], provenance=ManualProvenance())  # closed
    with pytest.raises(ConfigError, match="dates out of order"):
        record_takedowns(store, "confirm", ["hR"], at="2024-09-01", provenance=ManualProvenance())
    record_takedowns(store, "refuse", ["hR"], note="platform declined", provenance=PROV)
    td = store.table("takedowns").set_index("content_hash")
    assert td.loc["hQ", "status"] == "confirmed"
    assert td.loc["hQ", "confirmed_at"] == "2024-10-04T08:00:00"
    assert td.loc["hQ", "agency"] == "KCSC"  # kept from the request
    assert td.loc["hR", "status"] == "refused" and td.loc["hR", "note"] == "platform declined"
    assert list(td.loc["hQ", "source_ids"]) == ["MANUAL-TAKEDOWNS"]
    # two open requests for one hash: the command asks which
    record_takedowns(store, "request", ["hS"], at="2024-10-01", provenance=PROV)
    record_takedowns(store, "request", ["hS"], at="2024-10-02", provenance=PROV)
    with pytest.raises(ConfigError, match="2 open takedown requests"):
        record_takedowns(store, "confirm", ["hS"], provenance=PROV)
    record_takedowns(
        store, "confirm", ["hS"], requested_at="2024-10-02", at="2024-10-03", provenance=PROV
    )
    f = takedown_figures(store)
    assert f["by_status"] == {"requested": 2, "confirmed": 3, "refused": 2}


def test_cli_takedown(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GRAPHINTEL_PII_KEY", "test-key")
    s = ["--store", f"duckdb:{tmp_path / 'g.duckdb'}"]
    assert main(["ingest", str(BASE), *s]) == 0
    capsys.readouterr()
    code = main(["takedown", "request", "hY", *s])
    err = capsys.readouterr().err
    assert code == 2 and "--case-id, --legal-basis, --by" in err
    args = ["--case-id", "C1", "--legal-basis", "order 7", "--by", "unit 7"]
    assert main(["takedown", "request", "hY", "--at", "2024-09-06", *args, *s]) == 0
    assert main(["takedown", "confirm", "hY", "--at", "2024-09-04", *s]) == 2
    assert "dates out of order" in capsys.readouterr().err
    assert main(["takedown", "confirm", "hY", "--at", "2024-09-07", "--agency", "A", *s]) == 0
    out = capsys.readouterr().out
    assert "hY: takedown confirmed (requested at 2024-09-06T00:00:00)" in out
    assert main(["report", "--format", "json", *s]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["takedowns"]["by_status"]["confirmed"] == 2
    # hY was posted in R3 on 09-05, before the 09-07 confirmation: not a reappearance
    assert report["takedowns"]["reappearances"] == 1
    assert main(["takedown", "refuse", "hY", *s]) == 2
    assert "no open takedown request for hY" in capsys.readouterr().err
    assert main(["report", *s]) == 0
    assert "Takedowns" in capsys.readouterr().out
