"""Exports keep what Gephi needs: parallel relations, analytics fields, escaped hostile text."""

from __future__ import annotations

import networkx as nx

from graphintel.export import export_store
from ingest.job import ingest_manifest
from tests.test_ingest import make_bundle


def test_gexf_keeps_parallel_relations_and_hostile_text(tmp_path, duckdb_store, settings):
    hostile = "<img src=x onerror=alert(1)>"
    folder = make_bundle(
        tmp_path,
        {
            "a.csv": ("accounts", f"account_id,handle\nA1,{hostile}\nA2,=cmd|' /C calc'!A0\n"),
            "i.csv": ("invites", "inviter_id,invitee_id\nA1,A2\n"),
            "t.csv": ("transactions", "txn_id,from_id,to_id,credits\nT1,A1,A2,5\nT2,A1,A2,3\n"),
        },
    )
    ingest_manifest(folder, duckdb_store, settings)
    for fmt in ("gexf", "graphml"):
        out = tmp_path / f"g.{fmt}"
        export_store(duckdb_store, fmt, out)
        g = nx.read_gexf(out) if fmt == "gexf" else nx.read_graphml(out)
        rels = sorted(
            (d["relation"], d.get("credits"))
            for a, b, d in g.edges(data=True)
            if (a, b) == ("account:A1", "account:A2")
        )
        assert rels == [("INVITED", None), ("PAID", 8.0)]
        assert g.nodes["account:A1"]["handle"] == hostile  # data, stored as text
        assert "<img" not in out.read_text()  # escaped in the XML
    export_store(duckdb_store, "csv", tmp_path / "csv")
    text = (tmp_path / "csv" / "accounts.csv").read_text()
    assert "'=cmd|' /C calc'!A0" in text  # a spreadsheet shows it, never runs it


# -- case scoping of the CLI (issue 11): export and dossier read the case view ----------------
CASE_B_MARKS = (
    "SRC-S",
    "CASE-B",
    "Only S name",
    "@u4_secret",
    "@s_u2",
    "Secret room",
    "Secret target",
    "court permission",
    "h:2",
    "C3",
    "T2",
    "O2",
)


def two_case_cli(store, settings, tmp_path, monkeypatch):
    """Cases A (SRC-A, SRC-C) and B (SRC-S) ingested and analysed in ``store`` (DuckDB or the
    real Neo4j); the CLI pointed at it, with a users file (kim: investigator of A, ana: analyst
    of A, aud: auditor). Returns the ``--store`` arguments."""
    from graphintel.analytics.pipeline import analyze_store
    from graphintel.users import UserFile
    from tests.legal_data import write_bundle

    for sid in ("SRC-A", "SRC-S", "SRC-C"):
        ingest_manifest(write_bundle(tmp_path / "b", sid), store, settings)
    analyze_store(store, seed=0)
    uri = store.uri
    if hasattr(store, "path"):
        store.close()  # publish (DuckDB)
    ws = tmp_path / "ws"
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(ws))
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(ws / "audit.jsonl"))
    monkeypatch.delenv("GRAPHINTEL_USER", raising=False)
    users = UserFile(ws / "users.json")
    users.add("kim", "investigator", "a long secret", cases=["CASE-A"])
    users.add("ana", "analyst", "a long secret", cases=["CASE-A"])
    users.add("aud", "auditor", "a long secret")
    return ["--store", uri]


def _text(folder) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file())


def test_cli_export_cases_reads_only_case_a(store, settings, tmp_path, monkeypatch, capsys):
    import pandas as pd

    from graphintel.audit import AuditLog
    from graphintel.cli import main

    s = two_case_cli(store, settings, tmp_path, monkeypatch)
    assert main(["export", "--format", "csv", "--out", str(tmp_path / "all"), *s]) == 0
    assert "Secret room" in _text(tmp_path / "all")  # the whole store without --cases
    assert (
        main(["export", "--format", "csv", "--out", str(tmp_path / "a"), "--cases", "CASE-A", *s])
        == 0
    )
    text = _text(tmp_path / "a")
    for mark in CASE_B_MARKS:
        assert mark not in text, mark
    acc = pd.read_csv(tmp_path / "a" / "accounts.csv", dtype=str, keep_default_na=False)
    # known answer: what SRC-A and SRC-C reported (U4 only as SRC-C's inviter, inferred)
    assert sorted(acc["account_id"]) == ["U1", "U2", "U3", "U4", "U5"]
    got = dict(zip(acc["account_id"], acc["source_ids"]))
    assert got == {
        "U1": "SRC-A;SRC-C",
        "U2": "SRC-A;SRC-C",
        "U3": "SRC-A",
        "U4": "SRC-C",
        "U5": "SRC-C",
    }
    assert dict(zip(acc["account_id"], acc["handle"]))["U2"] == "'@u2"  # not S's @s_u2
    ch = pd.read_csv(tmp_path / "a" / "channels.csv", dtype=str, keep_default_na=False)
    assert sorted(ch["channel_id"]) == ["C1", "C2"]
    gexf = tmp_path / "a.gexf"
    assert main(["export", "--format", "gexf", "--out", str(gexf), "--cases", "CASE-A", *s]) == 0
    assert not any(m in gexf.read_text() for m in ("Secret room", "@u4_secret", "Only S name"))
    entry = AuditLog(tmp_path / "ws" / "audit.jsonl").entries()[-1]
    assert entry["action"] == "export" and entry["details"]["cases"] == ["CASE-A"]
    assert entry["details"]["source_ids"] == ["SRC-A", "SRC-C"]
    # the case view is the dashboard's: built once, then reused while current
    views = sorted((tmp_path / "ws" / "case_views").glob("*.duckdb"))
    assert len(views) == 1


def test_cli_scoped_user_and_bad_requests(store, settings, tmp_path, monkeypatch, capsys):
    from graphintel.audit import AuditLog
    from graphintel.cli import main

    s = two_case_cli(store, settings, tmp_path, monkeypatch)
    log = AuditLog(tmp_path / "ws" / "audit.jsonl")
    n = len(log.entries())
    capsys.readouterr()
    # an unknown case: clear error naming the known ones, exit 2, nothing written
    assert (
        main(["export", "--format", "csv", "--out", str(tmp_path / "x"), "--cases", "CASE-Z", *s])
        == 2
    )
    err = capsys.readouterr().err
    assert "unknown case CASE-Z" in err and "known cases are CASE-A, CASE-B" in err
    assert not (tmp_path / "x").exists() and len(log.entries()) == n
    monkeypatch.setenv("GRAPHINTEL_USER", "kim")
    # kim (investigator of A): case B refused; without --cases, kim's own scope
    assert (
        main(["export", "--format", "csv", "--out", str(tmp_path / "x"), "--cases", "CASE-B", *s])
        == 2
    )
    err = capsys.readouterr().err
    assert "kim (investigator) may read cases CASE-A only: case CASE-B refused" in err
    assert not (tmp_path / "x").exists() and len(log.entries()) == n
    assert main(["export", "--format", "csv", "--out", str(tmp_path / "k"), *s]) == 0
    text = _text(tmp_path / "k")
    assert "@u1" in text and not any(m in text for m in CASE_B_MARKS)
    assert log.entries()[-1]["details"]["cases"] == ["CASE-A"]
    assert main(["dossier", "U1", "--out", str(tmp_path / "kd"), *s]) == 0
    assert not any(m in _text(tmp_path / "kd") for m in CASE_B_MARKS)
    # an analyst may not export (nor write a dossier), as in the dashboard; an auditor reads none
    for who, what in (("ana", "may not export"), ("aud", "audit trail only")):
        monkeypatch.setenv("GRAPHINTEL_USER", who)
        for args in (
            ["export", "--format", "csv", "--out", str(tmp_path / "x")],
            ["dossier", "U1", "--out", str(tmp_path / "x")],
        ):
            capsys.readouterr()
            assert main([*args, *s]) == 2
            assert what in capsys.readouterr().err
            assert not (tmp_path / "x").exists()
