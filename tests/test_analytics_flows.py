"""Credit sums, roles, flows between groups, tracing and time series, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphintel.analytics.derived import community_flows
from graphintel.analytics.flows import (
    account_credits,
    account_roles,
    credits_over_time,
    flows_between,
    trace_payments,
)
from graphintel.analytics.graph import account_universe, prepare_tables
from graphintel.analytics.pipeline import flows_by_role
from graphintel.errors import AnalyticsError

TX = pd.DataFrame(
    {
        "txn_id": ["T1", "T2", "T3", "T4", "T5", "T6"],
        "from_id": ["B", "C", "A", "A", "D", "B"],
        "to_id": ["A", "A", "B", "D", "B", "C"],
        "credits": [10.0, 5.5, 2.0, 1.0, 4.0, 3.0],
        "kind": ["purchase", "purchase", "referral_reward", "commission", "referral_reward", None],
        "ts": [
            "2024-01-01T00:00:00",
            "2024-01-08T00:00:00",
            "2024-01-09T00:00:00",
            "2024-02-01T00:00:00",
            "2024-02-02T00:00:00",
            None,
        ],
    }
)


def tables():
    return prepare_tables(
        {
            "transactions": TX,
            "accounts": pd.DataFrame(
                {"account_id": ["A", "B", "C", "D", "E"], "is_bot": [0, 0, 0, 1, 0]}
            ),
            "channels": pd.DataFrame({"channel_id": ["R"], "creator_id": ["A"]}),
            "memberships": pd.DataFrame(
                {"account_id": ["B", "C"], "channel_id": ["R", "R"], "role": ["admin", "member"]}
            ),
        }
    )


def test_credit_sums_by_kind():
    t = tables()
    c = account_credits(t["transactions"], account_universe(t)).set_index("account_id")
    assert c.loc["A"].tolist() == pytest.approx([15.5, 3.0, 0.0, 0.0, 12.5])
    assert c.loc["B"].tolist() == pytest.approx([6.0, 13.0, 6.0, 10.0, -7.0])
    assert c.loc["C"].tolist() == pytest.approx([3.0, 5.5, 0.0, 5.5, -2.5])
    assert c.loc["D"].tolist() == pytest.approx([1.0, 4.0, 0.0, 0.0, -3.0])
    assert c.loc["E"].tolist() == pytest.approx([0.0] * 5)  # an account with no transactions
    assert c["net_credits"].sum() == pytest.approx(0.0)


def test_roles_and_flows_between_roles():
    t = tables()
    roles = account_roles(t, account_universe(t))
    assert roles.to_dict() == {
        "A": "operator",
        "B": "admin",
        "C": "member",
        "D": "bot",
        "E": "member",
    }
    f = flows_by_role(t)
    got = {(s, d): (c, n) for s, d, c, n in f.itertuples(index=False, name=None)}
    assert got == {
        ("admin", "operator"): (10.0, 1),
        ("member", "operator"): (5.5, 1),
        ("operator", "admin"): (2.0, 1),
        ("operator", "bot"): (1.0, 1),
        ("bot", "admin"): (4.0, 1),
        ("admin", "member"): (3.0, 1),
    }
    assert f["credits"].iloc[0] == 10.0  # sorted by credits, descending


def test_flows_between_communities_with_unknown_accounts():
    f = flows_between(TX, pd.Series({"A": 0, "B": 0, "C": 1}))
    got = {(s, d): c for s, d, c, _ in f.itertuples(index=False, name=None)}
    assert got == {
        ("0", "0"): 12.0,
        ("1", "0"): 5.5,
        ("0", "unknown"): 1.0,
        ("unknown", "0"): 4.0,
        ("0", "1"): 3.0,
    }


def test_flows_per_source_list_are_the_same_flows_split_by_source():
    tx = TX.assign(source_ids=[["S1"], ["S2"], ["S1"], ["S1", "S2"], ["S2"], ["S1"]])
    groups = pd.Series({"A": 0, "B": 0, "C": 1})
    split = flows_between(tx, groups, by_source=True)
    got = {
        (s, d, tuple(src)): (c, n) for s, d, c, n, src in split.itertuples(index=False, name=None)
    }
    assert got == {
        ("0", "0", ("S1",)): (12.0, 2),  # T1 (B→A) and T3 (A→B)
        ("1", "0", ("S2",)): (5.5, 1),
        ("unknown", "0", ("S2",)): (4.0, 1),
        ("0", "1", ("S1",)): (3.0, 1),
        ("0", "unknown", ("S1", "S2")): (1.0, 1),
    }
    summed = split.groupby(["source", "target"])[["credits", "transactions"]].sum()
    plain = flows_between(tx, groups).set_index(["source", "target"])
    assert summed.sort_index().equals(plain.sort_index())
    # the persisted community flows are this very computation, labelled "community N"
    metrics = pd.DataFrame({"account_id": ["A", "B", "C"], "community": [0, 0, 1]})
    persisted = community_flows(prepare_tables({"transactions": tx})["transactions"], metrics)
    assert persisted["credits"].tolist() == split["credits"].tolist()
    assert persisted["source"].tolist() == [
        s if s == "unknown" else f"community {s}" for s in split["source"]
    ]


def test_trace_forward_backward_window():
    t = tables()["transactions"]
    fwd = trace_payments(t, "B", hops=2)
    assert sorted(zip(fwd["txn_id"], fwd["hop"])) == [
        ("T1", 1),
        ("T2", 2),
        ("T3", 2),
        ("T4", 2),
        ("T6", 1),
    ]
    back = trace_payments(t, "D", direction="backward", hops=1)
    assert back["txn_id"].tolist() == ["T4"]
    win = trace_payments(t, "B", hops=3, start="2024-01-05T00:00:00", end="2024-01-31T00:00:00")
    assert win.empty  # B's own payments fall outside the window
    with pytest.raises(AnalyticsError, match="direction"):
        trace_payments(t, "B", direction="sideways")


def test_credits_over_time():
    t = tables()["transactions"]
    m = credits_over_time(t, freq="month", by=None)
    assert m.values.tolist() == [["2024-01-01", 17.5, 3], ["2024-02-01", 5.0, 2]]
    w = credits_over_time(t, freq="week")
    assert w[w["period"] == "2024-01-08"]["credits"].sum() == pytest.approx(7.5)
    assert set(w["kind"]) == {"purchase", "referral_reward", "commission"}


def test_empty_transactions():
    t = prepare_tables({})
    c = account_credits(t["transactions"], np.array(["A"], dtype=object))
    assert c["credits_in"].tolist() == [0.0]
    assert flows_between(t["transactions"], pd.Series(dtype=object)).empty
    assert credits_over_time(t["transactions"]).empty
