"""Channel network by hand: members, admins, forwards, shared members, Jaccard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphintel.analytics.channels import channel_links, channel_members, channel_neighbours
from graphintel.analytics.graph import channel_universe, prepare_tables


def test_members_admins_links_and_jaccard():
    t = prepare_tables(
        {
            "memberships": pd.DataFrame(
                {
                    "account_id": ["A", "B", "C", "D", "B", "C", "E", "A"],
                    "channel_id": ["X", "X", "X", "X", "Y", "Y", "Y", "Z"],
                    "role": ["owner", "admin", "member", None, "owner", "member", "admin", None],
                }
            ),
            "forwards": pd.DataFrame(
                {
                    "from_channel_id": ["X", "X", "Y", "W", "Z"],
                    "to_channel_id": ["Y", "Y", "X", "X", "Z"],  # Z->Z: a self-forward, ignored
                    "ts": ["2024-01-01T00:00:00", "2024-01-02T00:00:00", None, None, None],
                }
            ),
        }
    )
    chan = channel_universe(t)
    assert chan.tolist() == ["W", "X", "Y", "Z"]
    members, admins = channel_members(t["memberships"], chan)
    assert members.tolist() == [0, 4, 3, 1]
    assert admins.tolist() == [0, 2, 2, 0]
    links = channel_links(t["memberships"], t["forwards"], chan)
    got = {(a, b): (f, s, j) for a, b, f, s, j in links.itertuples(index=False, name=None)}
    assert got.keys() == {("W", "X"), ("X", "Y"), ("X", "Z")}
    assert got[("W", "X")] == (1, 0, 0.0)
    # X={A,B,C,D}, Y={B,C,E}: shared 2, union 5
    assert got[("X", "Y")][:2] == (3, 2)
    assert got[("X", "Y")][2] == pytest.approx(2 / 5)
    # X and Z share A: 1 / (4 + 1 - 1)
    assert got[("X", "Z")] == (0, 1, pytest.approx(0.25))
    assert channel_neighbours(links, "X")["channel_id"].tolist() == ["Y", "Z", "W"]


def test_empty():
    t = prepare_tables({})
    links = channel_links(t["memberships"], t["forwards"], np.array([], dtype=object))
    assert links.empty
    assert list(links.columns) == [
        "channel_a",
        "channel_b",
        "forwards",
        "shared_members",
        "jaccard",
    ]
