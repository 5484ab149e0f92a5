"""Evidence dossiers: round trip, provenance, escaping, and tamper detection."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from graphintel.analytics.pipeline import analyze_store
from graphintel.dossier import DISCLAIMER, MANIFEST, verify_dossier, write_dossier
from graphintel.errors import DossierError
from ingest.job import ingest_manifest
from tests.legal_data import BUNDLES, write_bundle

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def two_case_store(duckdb_store, settings, tmp_path, monkeypatch):
    spec = BUNDLES["SRC-A"]["tables"]
    monkeypatch.setitem(
        spec, "accounts", spec["accounts"].replace("U1,@u1,,false", f'U1,"{HOSTILE}",,false')
    )
    for sid in ("SRC-A", "SRC-S"):
        ingest_manifest(write_bundle(tmp_path / "bundles", sid), duckdb_store, settings)
    analyze_store(duckdb_store, seed=0)
    return duckdb_store


def test_round_trip(two_case_store, tmp_path):
    out = tmp_path / "dossier"
    report = write_dossier(two_case_store, "U1", out)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "index.html",
            "components.csv",
            "evidence.csv",
            "rooms.csv",
            "invites.csv",
            "payments.csv",
            "content.csv",
            "sources.csv",
            MANIFEST,
        ]
    )
    assert verify_dossier(out) == 8
    assert report.cases == ["CASE-A", "CASE-B"]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.splitlines()[0] == f"<!-- {DISCLAIMER} -->"
    body_text = re.sub(r"<[^>]+>", "\n", page.split("<body>", 1)[1])
    assert next(t for t in body_text.splitlines() if t.strip()) == DISCLAIMER
    # self-contained and escaped once
    assert not re.search(r"<(script|link|img|iframe|object)|<[^>]*\b(src|href)=|https?://", page)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&amp;lt;" not in page
    # components with their records and provenance
    comps = pd.read_csv(out / "components.csv")
    assert "rooms_operated" in set(comps["component"])
    rooms = pd.read_csv(out / "rooms.csv")
    # U1 owns C1 and C2 (SRC-A) and is admin of C1 per SRC-S: the merged record has both sources
    c1 = rooms[rooms["channel_id"] == "C1"].set_index("source_id")
    assert set(c1.index) == {"SRC-A", "SRC-S"}
    assert c1.loc["SRC-S", "legal_basis"] == "court permission 2024-B (fictional)"
    assert (
        c1.loc["SRC-A", "method"] == "seizure" and c1.loc["SRC-A", "collected_at"] == "2024-08-01"
    )
    assert re.fullmatch(r"[0-9a-f]{64}", c1.loc["SRC-A", "file_sha256"])
    payments = pd.read_csv(out / "payments.csv")
    assert sorted(set(payments["txn_id"])) == ["T1", "T2"]


def test_scope_leaves_other_cases_out(two_case_store, tmp_path):
    out = tmp_path / "dossier"
    report = write_dossier(two_case_store, "U1", out, scope={"SRC-A"})
    assert report.cases == ["CASE-A"]
    text = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    assert "SRC-S" not in text and "CASE-B" not in text and "T2" not in text.split("payments")[0]
    assert "T2" not in (out / "payments.csv").read_text()
    with pytest.raises(DossierError, match="unknown account 'U4'"):
        write_dossier(two_case_store, "U4", tmp_path / "d2", scope={"SRC-A"})


def test_tampering_is_named(two_case_store, tmp_path):
    out = tmp_path / "dossier"
    write_dossier(two_case_store, "U1", out)
    (out / "rooms.csv").write_text("changed\n", encoding="utf-8")
    (out / "payments.csv").unlink()
    (out / "extra.txt").write_text("added\n", encoding="utf-8")
    with pytest.raises(DossierError) as err:
        verify_dossier(out)
    message = str(err.value)
    assert "changed: rooms.csv" in message
    assert "missing: payments.csv" in message
    assert "added: extra.txt" in message
    (out / MANIFEST).unlink()
    with pytest.raises(DossierError, match="no MANIFEST.sha256"):
        verify_dossier(out)


def test_bad_requests_write_nothing(two_case_store, tmp_path):
    with pytest.raises(DossierError, match="unknown account 'NOPE'"):
        write_dossier(two_case_store, "NOPE", tmp_path / "d")
    assert not (tmp_path / "d").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(DossierError, match="not an empty folder"):
        write_dossier(two_case_store, "U1", busy)
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
