"""`graphintel ingest → analyze → report/export` as a user runs it, on the hand-checked tiny bundle.

Known answers (sample_data/tiny, worked by hand):
- referral parents: A03←A01, A04←A03 (07-04 beats A07's invite on 07-11), A05←A03, A06←A04,
  A07←A02, A08←A07, A09←A08, A10←A99 (inferred inviter);
- A06: root A01, depth 3; A01 has 4 descendants (A03, A04, A05, A06); A07 invited A08 and A04, so
  2 direct invites although A04's parent is A03;
- cascades: A01 (5 accounts), A02 (4), A99 (2) → roots 3, max depth 3, largest cascade 5;
- credits: A03 receives 2 referral rewards; A01 receives 5 + 5, pays out 8; A12 receives 10 + 8
  and pays 3 rewards of 1.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.test_ingest import run_cli


@pytest.fixture
def analysed(tmp_path, tiny_bundle):
    assert run_cli("ingest", str(tiny_bundle), cwd=tmp_path).returncode == 0
    r = run_cli("analyze", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return tmp_path


def test_report_after_analyze(analysed):
    r = run_cli("report", "--format", "json", cwd=analysed)
    report = json.loads(r.stdout)
    assert report["referral"] == {"roots": 3, "max_depth": 3, "largest_cascade": 5}
    assert report["communities"]["method"] == "louvain"
    assert report["communities"]["count"] >= 2
    assert 0 < report["communities"]["modularity"] < 1
    assert report["top_operators"], "operators are ranked"
    top = report["top_operators"][0]
    assert top["account_id"] in {"A01", "A02"}
    assert set(top["components"]) == {
        "rooms_operated",
        "referral_descendants",
        "credits_received",
        "buyers",
        "bot_use",
        "bridging",
        "organizations_targeted",
    }
    assert top["score"] == pytest.approx(sum(top["components"].values()), abs=1e-5)


def test_export_carries_analytics(analysed):
    r = run_cli("export", "--format", "csv", "--out", "out", cwd=analysed)
    assert r.returncode == 0, r.stderr
    acc = pd.read_csv(analysed / "out" / "accounts.csv", keep_default_na=False).set_index(
        "account_id"
    )
    assert acc.loc["A06", "referral_parent"] == "A04"
    assert acc.loc["A06", "referral_root"] == "A01"
    assert acc.loc["A06", "referral_depth"] == 3
    assert acc.loc["A01", "referral_descendants"] == 4
    assert acc.loc["A07", "direct_invites"] == 2
    assert acc.loc["A04", "referral_parent"] == "A03"
    assert acc.loc["A10", "referral_root"] == "A99"
    assert acc.loc["A03", "referral_rewards"] == pytest.approx(2)
    assert acc.loc["A01", "credits_in"] == pytest.approx(10)
    assert acc.loc["A01", "credits_out"] == pytest.approx(8)
    assert acc.loc["A12", "credits_in"] == pytest.approx(18)
    assert acc["community"].astype(str).str.len().min() > 0
    ch = pd.read_csv(analysed / "out" / "channels.csv").set_index("channel_id")
    assert ch.loc["C1", "members"] == 6 and ch.loc["C1", "admins"] == 3
    r = run_cli("export", "--format", "gexf", "--out", "g.gexf", cwd=analysed)
    import networkx as nx

    g = nx.read_gexf(analysed / "g.gexf")
    node = g.nodes["account:A06"]
    assert node["referral_root"] == "A01" and "community" in node and "priority_score" in node
    # 16 memberships + 9 invites + 9 payer→payee pairs + 3 forward pairs + 3 targets
    assert g.number_of_edges() == 40

    def between(u, v):
        return [d for a, b, d in g.edges(data=True) if (a, b) == (u, v)]

    paid = between("account:A12", "account:A03")
    assert [(d["relation"], d["credits"], d["count"]) for d in paid] == [("PAID", 2.0, 2)]
    assert [d["relation"] for d in between("account:A03", "account:A04")] == ["INVITED"]
    assert [d["relation"] for d in between("account:A04", "channel:C1")] == ["MEMBER_OF"]
    assert 'type="PAID"' not in (analysed / "g.gexf").read_text()
