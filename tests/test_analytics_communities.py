"""Communities: known partitions, determinism, Leiden vs python-louvain modularity."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graphintel.analytics.communities import detect_communities, modularity, normalize_labels
from graphintel.analytics.graph import EcosystemGraph, ecosystem_graph, prepare_tables
from graphintel.errors import AnalyticsError


def partition(graph: EcosystemGraph, labels: np.ndarray) -> set[frozenset[str]]:
    keys = graph.keys
    return {frozenset(keys[labels == c].tolist()) for c in np.unique(labels)}


def two_cliques() -> EcosystemGraph:
    left = [f"L{i}" for i in range(5)]
    right = [f"R{i}" for i in range(5)]
    pairs = list(itertools.combinations(left, 2)) + list(itertools.combinations(right, 2))
    pairs.append(("L0", "R0"))  # the one bridge
    inv = pd.DataFrame(pairs, columns=["inviter_id", "invitee_id"])
    return ecosystem_graph(prepare_tables({"invites": inv}))


@pytest.mark.parametrize("engine", ["louvain", "leiden", "auto"])
def test_two_cliques_joined_by_one_edge(engine):
    g = two_cliques()
    r = detect_communities(g, engine=engine, seed=3)
    assert partition(g, r.labels) == {
        frozenset(f"a:L{i}" for i in range(5)),
        frozenset(f"a:R{i}" for i in range(5)),
    }
    assert r.count == 2
    # m = 21 edges, 10 inside each side; each side holds half of the degree sum (21 of 42):
    # Q = 2 * (10/21 - (21/42)^2)
    assert r.modularity == pytest.approx(2 * (10 / 21 - 0.25))
    # normalised labels: equal sizes, so community 0 holds the smallest key (a:L0)
    assert r.labels[0] == 0
    assert r.method == ("louvain" if engine == "auto" else engine)


def test_accounts_channels_and_isolated_nodes():
    t = prepare_tables(
        {
            "memberships": pd.DataFrame(
                {"account_id": ["A", "B", "C", "D"], "channel_id": ["X", "X", "Y", "Y"]}
            ),
            "accounts": pd.DataFrame({"account_id": ["Z"]}),  # no edges at all
            "forwards": pd.DataFrame({"from_channel_id": ["X"], "to_channel_id": ["Y"]}),
        }
    )
    g = ecosystem_graph(t)
    r = detect_communities(g, engine="louvain")
    assert partition(g, r.labels) == {
        frozenset({"a:A", "a:B", "c:X"}),
        frozenset({"a:C", "a:D", "c:Y"}),
        frozenset({"a:Z"}),
    }
    assert r.labels.tolist()[-2:] == [0, 1] and r.labels[4] == 2  # X, Y; singleton Z last


def test_same_seed_same_labels_and_both_engines_deterministic():
    g = planted(seed=7, groups=20, size=30)
    for engine in ("louvain", "leiden"):
        a = detect_communities(g, engine=engine, seed=11).labels
        b = detect_communities(g, engine=engine, seed=11).labels
        assert np.array_equal(a, b)


def planted(*, seed: int, groups: int, size: int, p_in=0.3, p_out=0.004) -> EcosystemGraph:
    nxg = nx.planted_partition_graph(groups, size, p_in, p_out, seed=seed)
    edges = np.array(sorted(nxg.edges()), dtype=np.int64)
    ids = np.array([f"N{i:05d}" for i in range(groups * size)], dtype=object)
    inv = pd.DataFrame({"inviter_id": ids[edges[:, 0]], "invitee_id": ids[edges[:, 1]]})
    return ecosystem_graph(prepare_tables({"invites": inv}))


def test_leiden_modularity_within_one_percent_of_louvain():
    g = planted(seed=1, groups=40, size=50)
    lv = detect_communities(g, engine="louvain", seed=0)
    ld = detect_communities(g, engine="leiden", seed=0)
    assert ld.modularity >= 0.99 * lv.modularity
    assert lv.modularity > 0.5


def test_resolution_changes_granularity():
    g = planted(seed=2, groups=10, size=20)
    coarse = detect_communities(g, engine="leiden", resolution=0.05)
    fine = detect_communities(g, engine="leiden", resolution=3.0)
    assert coarse.count < fine.count


def test_normalize_and_errors_and_empty():
    assert normalize_labels(
        np.array([5, 5, 1, 2, 2]), np.array(["e", "d", "a", "c", "b"])
    ).tolist() == [1, 1, 2, 0, 0]
    empty = ecosystem_graph(prepare_tables({}))
    r = detect_communities(empty)
    assert r.count == 0 and r.modularity == 0.0
    with pytest.raises(AnalyticsError, match="engine"):
        detect_communities(empty, engine="magic")
    with pytest.raises(AnalyticsError, match="resolution"):
        detect_communities(empty, resolution=0)
    assert modularity(empty, np.array([], dtype=np.int64)) == 0.0
