"""Referral forest definitions on hand-built invite tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphintel.analytics.graph import account_universe, prepare_tables
from graphintel.analytics.referral import (
    cascade_stats,
    largest_cascades,
    referral_chain,
    referral_forest,
    referral_subtree,
    referral_summary,
)


def forest_of(rows, extra_accounts=()):
    inv = pd.DataFrame(rows, columns=["inviter_id", "invitee_id", "invited_at"])
    t = prepare_tables(
        {"invites": inv, "accounts": pd.DataFrame({"account_id": list(extra_accounts)})}
    )
    forest, cycles = referral_forest(t["invites"], account_universe(t))
    return forest.set_index("account_id"), cycles


def test_tie_on_earliest_time_goes_to_smallest_inviter():
    f, _ = forest_of(
        [
            ("B", "X", "2024-01-01T00:00:00"),
            ("C", "X", "2024-01-01T00:00:00"),
            ("A", "X", "2024-01-01T00:00:00"),
            ("0", "X", "2024-01-02T00:00:00"),  # smaller id but later: loses
        ]
    )
    assert f.loc["X", "referral_parent"] == "A"


def test_earliest_invite_wins_and_undated_invite_counts_as_latest():
    f, _ = forest_of([("A", "X", None), ("B", "X", "2024-05-01T00:00:00")])
    assert f.loc["X", "referral_parent"] == "B"


def test_duplicate_invites_count_once():
    f, _ = forest_of(
        [
            ("A", "B", "2024-01-01T00:00:00"),
            ("A", "B", "2024-01-01T00:00:00"),
            ("A", "B", "2024-02-01T00:00:00"),
        ]
    )
    assert f.loc["A", "direct_invites"] == 1
    assert f.loc["A", "referral_descendants"] == 1
    assert f.loc["B", "referral_parent"] == "A"


def test_self_invites_are_ignored():
    f, cycles = forest_of([("A", "A", "2024-01-01T00:00:00"), ("B", "A", "2024-02-01T00:00:00")])
    assert f.loc["A", "referral_parent"] == "B"
    assert f.loc["A", "direct_invites"] == 0
    assert f.loc["B", "direct_invites"] == 1
    assert cycles.empty
    f2, _ = forest_of([("Z", "Z", None)])
    assert f2.loc["Z", "referral_parent"] is None
    assert f2.loc["Z", "referral_root"] == "Z"


def test_three_cycle_broken_at_latest_edge_and_reported():
    f, cycles = forest_of(
        [
            ("X1", "X2", "2024-01-01T00:00:00"),
            ("X2", "X3", "2024-01-02T00:00:00"),
            ("X3", "X1", "2024-01-03T00:00:00"),  # the latest edge: X1 loses its parent X3
            ("X2", "Y", "2024-01-04T00:00:00"),
        ]
    )
    assert cycles.values.tolist() == [["X1", "X3", "X1 > X2 > X3"]]
    assert f.loc["X1", "referral_parent"] is None
    assert f.loc["X2", "referral_parent"] == "X1"
    assert f.loc["X3", "referral_parent"] == "X2"
    assert f["referral_root"].to_dict() == {"X1": "X1", "X2": "X1", "X3": "X1", "Y": "X1"}
    assert f["referral_depth"].to_dict() == {"X1": 0, "X2": 1, "X3": 2, "Y": 2}
    assert f.loc["X1", "referral_descendants"] == 3
    assert f.loc["X1", "direct_invites"] == 1  # X1 invited X2
    assert f.loc["X3", "direct_invites"] == 1  # the broken invite still counts as an invite


def test_two_cycle_with_equal_times_breaks_at_smallest_account():
    f, cycles = forest_of([("P", "Q", "2024-01-01T00:00:00"), ("Q", "P", "2024-01-01T00:00:00")])
    assert cycles.values.tolist() == [["P", "Q", "P > Q"]]
    assert f.loc["P", "referral_parent"] is None and f.loc["Q", "referral_parent"] == "P"


SMALL_FOREST = [
    ("A", "B", "2024-01-01T00:00:00"),
    ("A", "C", "2024-01-01T06:00:00"),
    ("B", "D", "2024-01-02T00:00:00"),
    ("D", "E", "2024-01-04T00:00:00"),
    ("G", "H", "2024-03-01T00:00:00"),
]


def test_small_forest_root_depth_descendants_direct_invites():
    f, cycles = forest_of(SMALL_FOREST, extra_accounts=["F"])  # F: an account with no invites
    assert cycles.empty
    expect = {
        #    parent root depth descendants direct
        "A": (None, "A", 0, 4, 2),
        "B": ("A", "A", 1, 2, 1),
        "C": ("A", "A", 1, 0, 0),
        "D": ("B", "A", 2, 1, 1),
        "E": ("D", "A", 3, 0, 0),
        "F": (None, "F", 0, 0, 0),
        "G": (None, "G", 0, 1, 1),
        "H": ("G", "G", 1, 0, 0),
    }
    cols = [
        "referral_parent",
        "referral_root",
        "referral_depth",
        "referral_descendants",
        "direct_invites",
    ]
    got = {k: tuple(v) for k, v in zip(f.index, f[cols].itertuples(index=False, name=None))}
    assert got == expect
    assert referral_summary(f.reset_index()) == {"roots": 2, "max_depth": 3, "largest_cascade": 5}


def test_chain_subtree_and_cascades():
    f, _ = forest_of(SMALL_FOREST, extra_accounts=["F"])
    f = f.reset_index()
    assert referral_chain(f, "E")["account_id"].tolist() == ["E", "D", "B", "A"]
    assert referral_chain(f, "F")["account_id"].tolist() == ["F"]
    with pytest.raises(KeyError):
        referral_chain(f, "nobody")
    sub = referral_subtree(f, "A")
    assert sub[["account_id", "level"]].values.tolist() == [
        ["A", 0],
        ["B", 1],
        ["C", 1],
        ["D", 2],
        ["E", 3],
    ]
    assert len(referral_subtree(f, "A", max_nodes=3)) == 3
    assert largest_cascades(f).values.tolist() == [["A", 5, 3, 2], ["G", 2, 1, 1]]
    s = cascade_stats(f)
    assert s["cascades"] == 2 and s["accounts_in_cascades"] == 7
    assert s["size_mean"] == pytest.approx(3.5)
    assert s["depth_max"] == 3
    # children per account with children: A 2, B 1, D 1, G 1
    assert s["branching_mean"] == pytest.approx(5 / 4)
    # gaps: B->D 24h, D->E 48h
    assert s["generation_gap_hours_median"] == pytest.approx(36.0)


def test_empty_invites_and_empty_universe():
    t = prepare_tables({})
    forest, cycles = referral_forest(t["invites"], np.array([], dtype=object))
    assert forest.empty and cycles.empty
    assert referral_summary(forest) == {"roots": 0, "max_depth": 0, "largest_cascade": 0}
    assert cascade_stats(forest)["cascades"] == 0


def test_deep_chain_is_vectorised():
    n = 20_000
    ids = [f"U{i:06d}" for i in range(n)]
    rows = list(zip(ids[:-1], ids[1:], ["2024-01-01T00:00:00"] * (n - 1)))
    f, _ = forest_of(rows)
    assert f.loc[ids[-1], "referral_depth"] == n - 1
    assert f.loc[ids[0], "referral_descendants"] == n - 1
    assert (f["referral_root"] == ids[0]).all()
