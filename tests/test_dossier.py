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
            "proceeds.csv",
            MANIFEST,
        ]
    )
    assert verify_dossier(out) == 9
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
    # T1 (10 credits, purchase) is U1's one purchase; T2 (a reward from U4) a second payer
    assert "Proceeds: 26,500 won · distinct payers: 2 · distinct payees: 0" in page


def test_scope_leaves_other_cases_out(two_case_store, tmp_path):
    out = tmp_path / "dossier"
    report = write_dossier(two_case_store, "U1", out, scope={"SRC-A"})
    assert report.cases == ["CASE-A"]
    text = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    assert "SRC-S" not in text and "CASE-B" not in text and "T2" not in text.split("payments")[0]
    assert "T2" not in (out / "payments.csv").read_text()
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Proceeds: 26,500 won · distinct payers: 1 · distinct payees: 0" in page  # no U4
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


SELLER = {
    "accounts": "account_id,handle\nS,@seller\nB1,@b1\nB2,@b2\nB3,@b3\n",
    "channels": "channel_id,title\nR<1>,Shop room\n",
    "transactions": "txn_id,from_id,to_id,credits,amount_krw,kind,ts,channel_id\n"
    "P1,B1,S,5,10000,purchase,2024-07-01T10:00:00,R<1>\n"
    "P2,B2,S,3,,purchase,2024-07-02T10:00:00,R<1>\n"
    "P3,B1,S,1,,purchase,2024-07-03T10:00:00,\n"
    "X1,B3,S,4,,topup,2024-07-04T10:00:00,\n"  # received, not a purchase: a payer only
    "Y1,S,B1,1,,transfer,2024-07-05T10:00:00,\n"
    "P4,S,B2,2,,purchase,2024-07-06T10:00:00,\n",  # a purchase S made: not proceeds
}


def _seller_bundle(root):
    root.mkdir(parents=True, exist_ok=True)
    for table, text in SELLER.items():
        (root / f"{table}.csv").write_text(text, encoding="utf-8")
    files = "\n".join(f"  - {{path: {t}.csv, table: {t}}}" for t in SELLER)
    (root / "manifest.yaml").write_text(
        "case_id: CASE-SHOP\nsource_id: SRC-SHOP\nmethod: seizure\n"
        'legal_basis: "warrant 2024-S (fictional)"\ncollected_at: 2024-08-01\n'
        f"collected_by: test\nfiles:\n{files}\n",
        encoding="utf-8",
    )
    return root / "manifest.yaml"


@pytest.mark.parametrize(
    ("won_per_credit", "won", "total"),
    [
        # P1 has amount_krw 10,000; P2 (3 credits) and P3 (1 credit) are valued by the rate
        (None, [10000.0, 7950.0, 2650.0], "20,600"),
        (3000, [10000.0, 9000.0, 3000.0], "22,000"),
    ],
)
def test_dossier_shows_proceeds_with_the_purchases_behind_them(
    tmp_path, monkeypatch, won_per_credit, won, total
):
    from graphintel.cli import main
    from graphintel.dataset import Dataset
    from graphintel.economy_views import proceeds_records
    from graphintel.store.duckdb_store import DuckDBStore

    monkeypatch.setenv("GRAPHINTEL_PII_KEY", "k")
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    s = ["--store", f"duckdb:{tmp_path / 'g.duckdb'}"]
    assert main(["ingest", str(_seller_bundle(tmp_path / "b")), "--no-progress", *s]) == 0
    rate = [] if won_per_credit is None else ["--won-per-credit", str(won_per_credit)]
    assert main(["analyze", *rate, *s]) == 0
    out = tmp_path / "dossier"
    assert main(["dossier", "S", "--out", str(out), *s]) == 0

    rate_text = f"credits × {won_per_credit or 2650:,}"
    got = pd.read_csv(out / "proceeds.csv", keep_default_na=False, dtype=str)
    assert got.columns.tolist() == [
        "txn_id",
        "payer",
        "ts",
        "channel_id",
        "credits",
        "amount_krw",
        "won",
        "basis",
        "source_ids",
        "case_ids",
        "legal_bases",
    ]
    assert got[["txn_id", "payer", "channel_id", "basis"]].values.tolist() == [
        ["P1", "B1", "R<1>", "amount_krw"],
        ["P2", "B2", "R<1>", rate_text],
        ["P3", "B1", "", rate_text],
    ]
    assert [float(w) for w in got["won"]] == won
    assert got["ts"].tolist() == [f"2024-07-0{d}T10:00:00" for d in (1, 2, 3)]
    assert set(got["source_ids"]) == {"SRC-SHOP"} and set(got["case_ids"]) == {"CASE-SHOP"}
    assert set(got["legal_bases"]) == {"warrant 2024-S (fictional)"}
    assert "proceeds.csv" in (out / MANIFEST).read_text() and verify_dossier(out) == 9

    page = (out / "index.html").read_text(encoding="utf-8")
    assert f"Proceeds: {total} won · distinct payers: 3 · distinct payees: 2" in page
    assert f"credits × {won_per_credit or 2650:,g} won" in page
    assert "<td>R&lt;1&gt;</td>" in page and "R<1>" not in page
    assert "<td>P3</td><td>B1</td>" in page and "<td>P4</td><td>S</td>" in page  # P4: payments

    # the Operators page shows the same purchases and values (Dataset + proceeds_records)
    with DuckDBStore(tmp_path / "g.duckdb", read_only=True) as store:
        ds = Dataset.from_store(store)
        econ = ds.account_economy("S")
        shown = proceeds_records(
            ds.purchases_received("S"), "S", won_per_credit=won_per_credit or 2650
        ).sort_values("txn_id")
    assert econ == {"proceeds_krw": sum(won), "distinct_payers": 3, "distinct_payees": 2}
    assert shown["txn_id"].tolist() == got["txn_id"].tolist()
    assert shown["won"].tolist() == won and shown["basis"].tolist() == got["basis"].tolist()


def test_dossier_proceeds_are_the_same_on_both_stores(store, settings, tmp_path):
    store.ensure_schema()
    ingest_manifest(_seller_bundle(tmp_path / "b"), store, settings)
    analyze_store(store, seed=0, won_per_credit=1000)
    write_dossier(store, "S", tmp_path / "d")
    got = pd.read_csv(tmp_path / "d" / "proceeds.csv", keep_default_na=False, dtype=str)
    assert got[["txn_id", "won", "basis", "case_ids"]].values.tolist() == [
        ["P1", "10000.0", "amount_krw", "CASE-SHOP"],
        ["P2", "3000.0", "credits × 1,000", "CASE-SHOP"],
        ["P3", "1000.0", "credits × 1,000", "CASE-SHOP"],
    ]
    page = (tmp_path / "d" / "index.html").read_text(encoding="utf-8")
    assert "Proceeds: 14,000 won · distinct payers: 3 · distinct payees: 2" in page


def test_cli_dossier_cases_reads_only_case_a(store, settings, tmp_path, monkeypatch):
    """``dossier --cases CASE-A`` on DuckDB and the real Neo4j: nothing case B reported is in
    any file, and the figures are case A's own (known answers)."""
    from graphintel.audit import AuditLog
    from graphintel.cli import main
    from tests.test_export import CASE_B_MARKS, _text, two_case_cli

    s = two_case_cli(store, settings, tmp_path, monkeypatch)
    out = tmp_path / "d"
    assert main(["dossier", "U1", "--out", str(out), "--cases", "CASE-A", *s]) == 0
    assert verify_dossier(out) == 9
    text = _text(out)
    for mark in CASE_B_MARKS:
        assert mark not in text, mark
    rooms = pd.read_csv(out / "rooms.csv", dtype=str, keep_default_na=False)
    assert sorted(zip(rooms["channel_id"], rooms["role"], rooms["source_id"])) == [
        ("C1", "owner", "SRC-A"),  # S made U1 an admin of C1: not shown to case A
        ("C2", "owner", "SRC-A"),
    ]
    pay = pd.read_csv(out / "payments.csv", dtype=str, keep_default_na=False)
    assert sorted(zip(pay["txn_id"], pay["source_id"])) == [("T1", "SRC-A"), ("T3", "SRC-C")]
    src = pd.read_csv(out / "sources.csv", dtype=str, keep_default_na=False)
    assert sorted(src["source_id"]) == ["SRC-A", "SRC-C"] and set(src["case_id"]) == {"CASE-A"}
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "(case view: CASE-A)" in page
    entry = AuditLog(tmp_path / "ws" / "audit.jsonl").entries()[-1]
    assert entry["action"] == "dossier" and entry["details"]["cases"] == ["CASE-A"]
    # the whole store (no --cases, no scoped user) still shows case B's records
    assert main(["dossier", "U1", "--out", str(tmp_path / "all"), *s]) == 0
    assert "SRC-S" in _text(tmp_path / "all")
