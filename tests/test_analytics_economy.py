"""The invitation-credit economy against hand-worked answers and a literal reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphintel.analytics.economy import (
    account_economy,
    buyer_pairs,
    reconcile_rewards,
    room_activity,
    room_economy,
)
from graphintel.analytics.graph import prepare_tables

INV = ["inviter_id", "invitee_id", "channel_id", "invited_at"]


def invites(rows):
    return prepare_tables({"invites": pd.DataFrame(rows, columns=INV)})["invites"]


def rewards(rows, kind="referral_reward"):
    """rows: (txn_id, to_id, ts, channel_id[, credits])"""
    data = [(r[0], "BOT", r[1], r[4] if len(r) > 4 else 1.0, kind, r[2], r[3]) for r in rows]
    frame = pd.DataFrame(
        data, columns=["txn_id", "from_id", "to_id", "credits", "kind", "ts", "channel_id"]
    )
    return prepare_tables({"transactions": frame})["transactions"]


def d(day: int, hour: int = 0) -> str:
    return f"2024-01-{day:02d}T{hour:02d}:00:00"


def by_txn(rec: pd.DataFrame) -> dict:
    r = rec[rec["txn_id"].notna()]
    return {t: (i, s) for t, i, s in zip(r["txn_id"], r["invitee_id"], r["status"])}


def left_over(rec: pd.DataFrame) -> list:
    r = rec[rec["status"] == "invite_without_reward"]
    return list(zip(r["inviter_id"], r["invitee_id"]))


def reference(inv: pd.DataFrame, tx: pd.DataFrame) -> pd.DataFrame:
    """The definition read literally: O(rewards × invites)."""
    far = "9999"
    pool = []
    seen = set()
    for a, b, c, t in inv[INV].itertuples(index=False, name=None):
        if a is None or b is None or a == b or (a, b, c, t) in seen:
            continue
        seen.add((a, b, c, t))
        pool.append({"a": a, "b": b, "c": c, "t": t, "key": (t or far, b, c or far), "used": 0})
    rw = tx[tx["kind"] == "referral_reward"]
    order = sorted(rw.itertuples(index=False), key=lambda r: (r.ts or far, r.txn_id))
    rows = []
    for r in order:
        cand = [
            p
            for p in pool
            if not p["used"]
            and p["a"] == r.to_id
            and (p["t"] or far) <= (r.ts or far)
            and (p["c"] is None or r.channel_id is None or p["c"] == r.channel_id)
        ]
        best = min(cand, key=lambda p: p["key"]) if cand else None
        if best:
            best["used"] = 1
        rows.append(
            (r.txn_id, best["b"] if best else None, "matched" if best else "reward_without_invite")
        )
    return rows, sorted((p["a"], p["b"]) for p in pool if not p["used"])


def test_earliest_unmatched_invite_and_reward_before_any_invite():
    inv = invites([("A", "B", "X", d(1)), ("A", "C", "X", d(2)), ("A", "D", "X", d(3))])
    tx = rewards(
        [
            ("T0", "A", d(1, 0), "X"),  # same instant as B's invite: ≤ holds
            ("T1", "A", d(2, 5), "X"),  # takes C (B is taken)
            ("T2", "A", d(2, 6), "X"),  # D not yet invited: nothing left
            ("T9", "A", "2023-12-31T00:00:00", "X"),  # before any invite
        ]
    )
    rec = reconcile_rewards(inv, tx)
    assert rec["txn_id"].tolist()[:4] == ["T9", "T0", "T1", "T2"]  # (ts, txn_id) order
    assert by_txn(rec) == {
        "T9": (None, "reward_without_invite"),
        "T0": ("B", "matched"),
        "T1": ("C", "matched"),
        "T2": (None, "reward_without_invite"),
    }
    assert left_over(rec) == [("A", "D")]
    assert rec.columns.tolist() == [
        "txn_id",
        "inviter_id",
        "invitee_id",
        "channel_id",
        "invited_at",
        "rewarded_at",
        "status",
        "credits",
    ]
    row = rec[rec["txn_id"] == "T1"].iloc[0]
    assert (row["channel_id"], row["invited_at"], row["rewarded_at"]) == ("X", d(2), d(2, 5))


def test_ties_same_time_rewards_by_txn_id_invites_by_invitee():
    inv = invites([("A", "C", "X", d(1)), ("A", "B", "X", d(1))])
    tx = rewards([("T2", "A", d(1, 3), "X"), ("T1", "A", d(1, 3), "X")])
    assert by_txn(reconcile_rewards(inv, tx)) == {"T1": ("B", "matched"), "T2": ("C", "matched")}


def test_reward_in_another_channel_and_channel_less_records():
    inv = invites([("A", "B", "X", d(1)), ("A", "C", None, d(2))])
    tx = rewards([("T1", "A", d(3), "Y"), ("T2", "A", d(3, 1), "Y"), ("T3", "A", d(4), None)])
    rec = reconcile_rewards(inv, tx)
    # T1 (room Y) cannot take B's invite to X but takes C's channel-less invite; T2 finds none;
    # the channel-less reward T3 takes B's invite to X
    assert by_txn(rec) == {
        "T1": ("C", "matched"),
        "T2": (None, "reward_without_invite"),
        "T3": ("B", "matched"),
    }
    assert rec.set_index("txn_id").loc["T1", "channel_id"] == "Y"  # invite names none
    assert rec.set_index("txn_id").loc["T3", "channel_id"] == "X"
    # all-named: rewards in another room match nothing
    inv = invites([("A", "B", "X", d(1))])
    rec = reconcile_rewards(inv, rewards([("T1", "A", d(2), "Y")]))
    assert by_txn(rec) == {"T1": (None, "reward_without_invite")}
    assert left_over(rec) == [("A", "B")]


def test_self_and_duplicate_invites_and_other_inviters():
    inv = invites(
        [
            ("A", "A", "X", d(1)),  # self-invite: never counts
            ("A", "B", "X", d(1)),
            ("A", "B", "X", d(1)),  # identical duplicate: once
            ("Z", "C", "X", d(1)),  # another inviter's invite is not A's
        ]
    )
    tx = rewards([("T1", "A", d(2), "X"), ("T2", "A", d(2), "X"), ("T3", "Q", d(2), "X")])
    rec = reconcile_rewards(inv, tx)
    assert by_txn(rec) == {
        "T1": ("B", "matched"),
        "T2": (None, "reward_without_invite"),
        "T3": (None, "reward_without_invite"),
    }
    assert left_over(rec) == [("Z", "C")]


def test_undated_records_count_as_latest():
    inv = invites([("A", "B", "X", None), ("A", "C", "X", d(5))])
    tx = rewards([("T1", "A", d(6), "X"), ("T2", "A", d(7), "X"), ("T3", "A", None, "X")])
    # the undated invite can only be taken by the undated reward, which comes last
    assert by_txn(reconcile_rewards(inv, tx)) == {
        "T1": ("C", "matched"),
        "T2": (None, "reward_without_invite"),
        "T3": ("B", "matched"),
    }


def test_other_kinds_are_not_rewards_and_empty_inputs():
    inv = invites([("A", "B", "X", d(1))])
    rec = reconcile_rewards(inv, rewards([("T1", "A", d(2), "X")], kind="purchase"))
    assert rec["status"].tolist() == ["invite_without_reward"]
    rec = reconcile_rewards(invites([]), rewards([("T1", "A", d(2), "X")]))
    assert rec["status"].tolist() == ["reward_without_invite"]
    assert reconcile_rewards(invites([]), rewards([])).empty


@pytest.mark.parametrize("seed", range(40))
def test_matches_the_literal_definition(seed):
    rng = np.random.default_rng(seed)
    people = ["A", "B", "C", "D"]
    rooms = ["X", "Y", None] if seed % 2 else ["X", "Y"]  # odd seeds mix channel-less records
    times = [d(1 + i) for i in range(4)] + [None]
    inv_rows = [
        (rng.choice(people), rng.choice(people + ["E", "F"]), rng.choice(rooms), rng.choice(times))
        for _ in range(int(rng.integers(0, 14)))
    ]
    inv = invites(inv_rows + inv_rows[:2])  # with duplicates
    tx = rewards(
        [
            (f"T{i:02d}", rng.choice(people), rng.choice(times), rng.choice(rooms))
            for i in range(int(rng.integers(0, 14)))
        ]
    )
    rec = reconcile_rewards(inv, tx)
    want_rewards, want_left = reference(inv, tx)
    got = rec[rec["txn_id"].notna()]
    assert list(zip(got["txn_id"], got["invitee_id"], got["status"])) == want_rewards
    assert sorted(left_over(rec)) == want_left


def test_account_and_room_economy_missing_amounts_and_breadth():
    tx = prepare_tables(
        {
            "transactions": pd.DataFrame(
                {
                    "txn_id": ["P1", "P2", "P3", "P4", "R1", "S1", "U1"],
                    "from_id": ["B", "C", "B", "A", "BOT", "A", "D"],
                    "to_id": ["A", "A", "A", "B", "A", "A", "A"],
                    "credits": [5.0, 5.0, 2.0, 1.0, 1.0, 3.0, 4.0],
                    "amount_krw": [None, 10000.0, None, None, 2650.0, None, None],
                    "kind": ["purchase"] * 4 + ["referral_reward", "transfer", None],
                    "ts": [d(1)] * 7,
                    "channel_id": ["X", "X", None, "Y", "X", None, None],
                }
            )
        }
    )["transactions"]
    inv = invites([("A", "E", "X", d(1)), ("A", "F", "X", d(1))])
    rec = reconcile_rewards(inv, tx)
    ids = np.array(["A", "B", "BOT", "C", "D"], dtype=object)
    acc = account_economy(tx, ids, rec, won_per_credit=1000.0).set_index("account_id")
    # A received purchases P1 (5 × 1000), P2 (10,000 given), P3 (2 × 1000)
    assert acc.loc["A", "proceeds_krw"] == 17000.0
    assert acc.loc["B", "proceeds_krw"] == 1000.0
    # payers of A: B, C, BOT, D (self-payment S1 excluded); buyers: purchases + no kind
    assert acc.loc["A", ["distinct_payers", "distinct_payees"]].tolist() == [4, 1]
    assert acc.loc["B", ["distinct_payers", "distinct_payees"]].tolist() == [1, 1]
    payee, payer = buyer_pairs(tx, ids)
    assert list(zip(ids[payee], ids[payer])) == [("A", "B"), ("A", "C"), ("A", "D"), ("B", "A")]
    assert acc.loc["A", ["rewards_matched", "rewards_unmatched"]].tolist() == [1, 0]
    rooms = room_economy(tx, rec, won_per_credit=1000.0)
    assert rooms["channel_id"].tolist() == ["X", "Y", None]
    x = rooms.iloc[0]
    assert (x["purchases"], x["proceeds_krw"]) == (2, 15000.0)
    assert (x["rewards"], x["rewards_matched"], x["reward_rate"]) == (1, 1, 1.0)
    assert (x["rewards_without_invite"], x["invites_without_reward"]) == (0, 1)
    assert rooms.iloc[2]["proceeds_krw"] == 2000.0  # P3 names no room
    assert np.isnan(rooms.iloc[1]["reward_rate"])


def test_room_activity_per_day():
    t = prepare_tables(
        {
            "memberships": pd.DataFrame(
                {"account_id": ["A", "B"], "channel_id": ["X", "Y"], "joined_at": [d(1), None]}
            ),
            "transactions": pd.DataFrame(
                {
                    "txn_id": ["T1", "T2"],
                    "from_id": ["A", "A"],
                    "to_id": ["B", "B"],
                    "credits": [1.0, 1.0],
                    "ts": [d(1, 5), d(2)],
                    "channel_id": ["X", "X"],
                }
            ),
            "forwards": pd.DataFrame(
                {"from_channel_id": ["Y"], "to_channel_id": ["X"], "ts": [d(3)]}
            ),
        }
    )
    assert room_activity(t).values.tolist() == [
        ["X", "2024-01-01", 2],
        ["X", "2024-01-02", 1],
        ["Y", "2024-01-03", 1],
    ]


def test_precomputed_codes_give_the_same_reconciliation():
    from graphintel.analytics.graph import prepare_and_encode

    rng = np.random.default_rng(5)
    people, rooms = ["A", "B", "C"], ["X", "Y", None]
    times = [d(1 + i) for i in range(3)] + [None]
    inv = pd.DataFrame(
        [
            (rng.choice(people), rng.choice(people + ["E"]), rng.choice(rooms), rng.choice(times))
            for _ in range(30)
        ],
        columns=INV,
    )
    tx = pd.DataFrame(
        [
            (
                f"T{i:02d}",
                "BOT",
                rng.choice(people),
                1.0,
                "referral_reward",
                rng.choice(times),
                rng.choice(rooms),
            )
            for i in range(30)
        ],
        columns=["txn_id", "from_id", "to_id", "credits", "kind", "ts", "channel_id"],
    )
    t, codes = prepare_and_encode({"invites": inv, "transactions": tx})
    a = reconcile_rewards(t["invites"], t["transactions"], codes=codes)
    b = reconcile_rewards(t["invites"], t["transactions"])
    pd.testing.assert_frame_equal(a, b)
