"""The invitation-credit economy from the command line, on hand-worked bundles.

sample_data/tiny, worked by hand:
- rewards T02, T03 (to A03, room C1) take A03's invites of A04 (07-04) and A05 (07-05); T06 (to
  A07, room C2) takes A07's invite of A08 (07-08; A04 on 07-11 is later) → 3 matched, none
  without an invite; 6 invites without a reward (2 in C1, 4 in C2);
- proceeds (purchases received, amounts given): A01 13,250 × 2, A02 13,250 × 2;
- distinct payers / payees: A01 2 (A04, A05) / 1 (A12); A12 2 (A04, A01) / 2 (A03, A07);
- cascade A01: generations 0..3 with 1, 1, 2, 1 accounts → R 1, 2, 0.5, 0; gaps A03→A04 24 h,
  A03→A05 48 h, A04→A06 48 h; size 2, 3, 4, 5 on 07-03 … 07-06.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.test_ingest import run_cli

MANIFEST = """case_id: CASE-PAY-0001
source_id: SRC-PAY-0001
method: synthetic
legal_basis: "Synthetic test data written by hand; no real persons."
collected_at: 2024-08-20
collected_by: "graphintel test suite"
files:
  - {path: transactions.csv, table: transactions}
"""


@pytest.fixture
def analysed(tmp_path, tiny_bundle):
    assert run_cli("ingest", str(tiny_bundle), cwd=tmp_path).returncode == 0
    r = run_cli("analyze", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return tmp_path


def test_reconciliation_proceeds_breadth_in_exports(analysed):
    r = run_cli("export", "--format", "csv", "--out", "out", cwd=analysed)
    assert r.returncode == 0, r.stderr
    out = analysed / "out"
    rec = pd.read_csv(out / "reconciliation.csv", keep_default_na=False, dtype=str)
    assert rec.columns.tolist()[:7] == [
        "txn_id",
        "inviter_id",
        "invitee_id",
        "channel_id",
        "invited_at",
        "rewarded_at",
        "status",
    ]
    rewards = rec[rec["txn_id"] != ""]
    assert list(zip(rewards["txn_id"], rewards["invitee_id"], rewards["status"])) == [
        ("T02", "A04", "matched"),
        ("T03", "A05", "matched"),
        ("T06", "A08", "matched"),
    ]
    left = rec[rec["status"] == "invite_without_reward"]
    assert sorted(zip(left["inviter_id"], left["invitee_id"])) == [
        ("A01", "A03"),
        ("A02", "A07"),
        ("A04", "A06"),
        ("A07", "A04"),
        ("A08", "A09"),
        ("A99", "A10"),
    ]
    assert set(left["txn_id"]) == {""} and set(left["rewarded_at"]) == {""}
    acc = pd.read_csv(out / "accounts.csv", keep_default_na=False).set_index("account_id")
    assert acc.loc["A03", ["rewards_matched", "rewards_unmatched"]].tolist() == [2, 0]
    assert acc.loc["A01", "proceeds_krw"] == 26500 and acc.loc["A02", "proceeds_krw"] == 26500
    assert acc.loc["A12", "proceeds_krw"] == 0
    assert acc.loc["A01", ["distinct_payers", "distinct_payees"]].tolist() == [2, 1]
    assert acc.loc["A12", ["distinct_payers", "distinct_payees"]].tolist() == [2, 2]
    rooms = pd.read_csv(out / "room_economy.csv").set_index("channel_id")
    assert rooms.loc["C1", ["rewards_matched", "invites_without_reward"]].tolist() == [2, 2]
    assert rooms.loc["C2", ["rewards_matched", "invites_without_reward"]].tolist() == [1, 4]
    assert rooms.loc["C1", "reward_rate"] == 1.0 and rooms.loc["C2", "proceeds_krw"] == 26500
    ch = pd.read_csv(out / "channels.csv").set_index("channel_id")
    assert ch.loc["C1", "proceeds_krw"] == 26500 and ch.loc["C3", "proceeds_krw"] == 0

    casc = pd.read_csv(out / "cascades.csv")
    a01 = casc[casc["root"] == "A01"].set_index("generation")
    assert a01["accounts"].tolist() == [1, 1, 2, 1]
    assert a01["reproduction"].tolist() == [1.0, 2.0, 0.5, 0.0]
    assert a01.loc[1, "gap_hours_mean"] == 36.0 and a01.loc[2, "gap_hours_mean"] == 48.0
    assert set(a01["size"]) == {5} and set(a01["generations"]) == {3}
    assert set(a01["generation_gap_hours_mean"]) == {40.0}
    grow = pd.read_csv(out / "cascade_growth.csv")
    g = grow[grow["root"] == "A01"]
    assert list(zip(g["day"], g["size"])) == [
        ("2024-07-03", 2),
        ("2024-07-04", 3),
        ("2024-07-05", 4),
        ("2024-07-06", 5),
    ]


def test_report_economy_worded_as_leads(analysed):
    report = json.loads(run_cli("report", "--format", "json", cwd=analysed).stdout)
    e = report["economy"]
    assert (e["rewards"], e["matched"], e["reward_without_invite"]) == (3, 3, 0)
    assert e["invite_without_reward"] == 6 and e["proceeds_krw"] == 53000
    assert e["won_per_credit"] == 2650
    assert [r["channel_id"] for r in e["rooms"]] == ["C2", "C1"]  # most unmatched first
    table = run_cli("report", cwd=analysed).stdout
    assert "leads to check, not findings" in table
    assert "an invite not yet in the evidence?" in table


def test_compare_before_and_after(analysed):
    args = ("compare", "--at", "2024-07-12", "--window-days", "5")
    r = run_cli(*args, "--format", "json", cwd=analysed)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    rooms = {x["channel_id"]: x for x in out["rooms"]}
    # before = 07-07..07-11, after = 07-12..07-16 (dated records naming the room)
    # C1: forwards out on 07-10 and 07-11, nothing after → stopped
    assert (rooms["C1"]["status"], rooms["C1"]["before"], rooms["C1"]["after"]) == (
        "stopped",
        2,
        0,
    )
    # C2: 07-07 2 (A07 joins, A02→A07), 07-08 3, 07-09 3, 07-10 5, 07-11 3; after: the 07-13
    # forward only → dropped
    assert (rooms["C2"]["status"], rooms["C2"]["before"], rooms["C2"]["after"]) == (
        "dropped",
        16,
        1,
    )
    # C3 was quiet in the before window but active on 07-03: continued, not appeared
    assert "C3" not in rooms and out["statuses"]["continued"] == 1
    # members of C1 / C2 before 07-12 who joined another room from 07-12: A05 and A03 → C3
    assert out["moves"] == [
        {
            "from_channel_id": "C1",
            "to_channel_id": "C3",
            "members": 2,
            "first_joined_at": "2024-07-12T12:00:00",
        }
    ]
    table = run_cli(*args, cwd=analysed).stdout
    assert "C1" in table and "stopped" in table
    bad = run_cli("compare", "--at", "last tuesday", cwd=analysed)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr and "Traceback" not in bad.stderr


def test_compare_before_analyze_says_what_to_do(tmp_path, tiny_bundle):
    assert run_cli("ingest", str(tiny_bundle), cwd=tmp_path).returncode == 0
    r = run_cli("compare", "--at", "2024-07-09", cwd=tmp_path)
    assert r.returncode == 2 and "graphintel analyze" in r.stderr


def test_payments_only_source_ranks_the_seller(tmp_path):
    bundle = tmp_path / "payments"
    bundle.mkdir()
    (bundle / "manifest.yaml").write_text(MANIFEST)
    rows = ["txn_id,from_id,to_id,credits,amount_krw,kind,ts,channel_id"]
    for i in range(6):  # six buyers pay the seller S; amounts given for two of them only
        amount = "6000" if i < 2 else ""
        rows.append(f"P{i},B{i},S,5,{amount},purchase,2024-07-0{i + 1}T10:00:00,")
    rows.append("X1,Y,X,100,,transfer,2024-07-01T10:00:00,")  # one big transfer, one payer
    (bundle / "transactions.csv").write_text("\n".join(rows) + "\n")
    assert run_cli("ingest", str(bundle / "manifest.yaml"), cwd=tmp_path).returncode == 0
    r = run_cli("analyze", "--won-per-credit", "1000", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads(run_cli("report", "--format", "json", cwd=tmp_path).stdout)
    top = report["top_operators"]
    assert top[0]["account_id"] == "S"
    assert top[0]["components"]["buyers"] == pytest.approx(0.10)  # the most buyers: scaled 1
    assert report["economy"]["won_per_credit"] == 1000
    assert run_cli("export", "--format", "csv", "--out", "out", cwd=tmp_path).returncode == 0
    acc = pd.read_csv(tmp_path / "out" / "accounts.csv").set_index("account_id")
    assert acc.loc["S", "proceeds_krw"] == 2 * 6000 + 4 * 5 * 1000
    assert acc.loc["S", "distinct_payers"] == 6 and acc.loc["X", "distinct_payers"] == 1
    assert acc.loc["X", "proceeds_krw"] == 0  # a transfer is not a purchase
    bad = run_cli("analyze", "--won-per-credit", "-1", cwd=tmp_path)
    assert bad.returncode == 2 and "won per credit" in bad.stderr
