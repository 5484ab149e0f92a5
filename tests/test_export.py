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
