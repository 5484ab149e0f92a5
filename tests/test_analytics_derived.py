"""The dashboard's derived tables, by hand: the shared fast paths of ``derive_tables`` (one source
key per row, payer / payee positions shared by role and community flows) give exactly what each
function gives alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphintel.analytics.derived import (
    _daily,
    _source_key,
    activity_daily,
    community_flows,
    credits_daily,
    derive_tables,
    role_flows,
)
from graphintel.analytics.graph import prepare_tables


def raw_tables():
    return {
        "accounts": pd.DataFrame(
            {"account_id": ["A", "B", "C", "D"], "is_bot": [False, False, False, True]}
        ),
        "channels": pd.DataFrame({"channel_id": ["R"], "creator_id": ["A"]}),
        "memberships": pd.DataFrame(
            {
                "account_id": ["B", "C"],
                "channel_id": ["R", "R"],
                "role": ["admin", "member"],
                "joined_at": ["2024-01-01T10:00:00", "2024-01-02T09:00:00"],
                "source_ids": [np.array(["S1"], dtype=object), np.array(["S2"], dtype=object)],
            }
        ),
        "invites": pd.DataFrame(
            {
                "inviter_id": ["A"],
                "invitee_id": ["B"],
                "invited_at": ["2024-01-01T08:00:00"],
                "source_ids": [np.array(["S1"], dtype=object)],
            }
        ),
        "transactions": pd.DataFrame(
            {
                "txn_id": ["T1", "T2", "T3", "T4"],
                "from_id": ["B", "C", "A", "X"],
                "to_id": ["A", "A", "B", "D"],
                "credits": [10.0, 5.5, 2.0, 1.0],
                "kind": ["purchase", "purchase", "referral_reward", None],
                "ts": ["2024-01-01T11:00:00", "2024-01-02T12:00:00", "2024-01-02T13:00:00", None],
                "source_ids": [
                    np.array(["S1"], dtype=object),
                    np.array(["S1", "S2"], dtype=object),
                    np.array(["S2"], dtype=object),
                    np.array(["S1"], dtype=object),
                ],
            }
        ),
    }


METRICS = pd.DataFrame({"account_id": ["A", "B", "C", "D", "X"], "community": [0, 0, 1, 1, 0]})
CHANNELS = pd.DataFrame({"channel_id": ["R"], "community": [0], "members": [2], "admins": [1]})


def test_source_keys_of_arrays_lists_and_missing_values():
    values = pd.Series(
        [np.array(["S1", "S2"], dtype=object), ["S3"], None, np.array([], dtype=object)],
        dtype=object,
    )
    assert _source_key(values).tolist() == ["S1\x1fS2", "S3", "", ""]
    # anything but a list is no source (the per-row path)
    assert _source_key(pd.Series(["S1", ["S2"], 3.0], dtype=object)).tolist() == ["", "S2", ""]


def test_days_of_timestamps():
    got = _daily(pd.Series(["2024-01-01T10:00:00", None, "2024-12-31"], dtype=object))
    assert got.tolist() == ["2024-01-01", None, "2024-12-31"]


def test_activity_and_credits_per_day_and_source_list():
    t = prepare_tables(raw_tables())
    act = activity_daily(t)
    assert act[["day", "activity", "count"]].values.tolist() == [
        ["2024-01-01", "invites", 1],
        ["2024-01-01", "joins", 1],
        ["2024-01-01", "purchases", 1],
        ["2024-01-02", "joins", 1],
        ["2024-01-02", "purchases", 1],
    ]
    assert [list(s) for s in act["source_ids"]] == [["S1"], ["S1"], ["S1"], ["S2"], ["S1", "S2"]]
    cd = credits_daily(t["transactions"])  # T4 has no time: left out
    assert cd[["day", "kind", "credits", "transactions"]].values.tolist() == [
        ["2024-01-01", "purchase", 10.0, 1],
        ["2024-01-02", "purchase", 5.5, 1],
        ["2024-01-02", "referral_reward", 2.0, 1],
    ]


def test_flows_by_role_and_community_with_unknown_accounts():
    t = prepare_tables(raw_tables())
    rf = role_flows(t)
    assert rf[["source", "target", "credits", "transactions"]].values.tolist() == [
        ["admin", "operator", 10.0, 1],
        ["member", "operator", 5.5, 1],
        ["operator", "admin", 2.0, 1],
        ["member", "bot", 1.0, 1],  # X is referenced by a transaction: a member
    ]
    cf = community_flows(t["transactions"], METRICS.iloc[:4])  # X has no community
    assert cf[["source", "target", "credits"]].values.tolist() == [
        ["community 0", "community 0", 10.0],
        ["community 1", "community 0", 5.5],
        ["community 0", "community 0", 2.0],
        ["unknown", "community 1", 1.0],
    ]
    assert [list(s) for s in cf["source_ids"]] == [["S1"], ["S1", "S2"], ["S2"], ["S1"]]


def test_derive_tables_equals_each_function_alone():
    raw = raw_tables()
    t = prepare_tables(raw)
    for metrics in (METRICS, METRICS.iloc[::-1].reset_index(drop=True)):  # universe order or not
        got = derive_tables(raw, account_metrics=metrics, channel_metrics=CHANNELS)
        alone = {
            "activity_daily": activity_daily(t),
            "credits_daily": credits_daily(t["transactions"]),
            "role_flows": role_flows(t),
            "community_flows": community_flows(t["transactions"], metrics),
        }
        for name, frame in alone.items():
            pd.testing.assert_frame_equal(got[name], frame)
