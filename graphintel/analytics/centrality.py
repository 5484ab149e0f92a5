"""Centrality on the account graph and bridging between communities.

* **PageRank** on the directed weighted account graph
  (:class:`graphintel.analytics.graph.AccountGraph`: invitee → inviter, payer → payee, weight =
  record count), damping 0.85; scores sum to 1 over accounts (0 accounts: nothing).
* **Betweenness** on the same graph taken undirected and unweighted (hops), normalised like
  ``networkx.betweenness_centrality(normalized=True)``. Exact when the graph has at most
  ``samples`` nodes, otherwise estimated from ``samples`` seeded random source nodes (Brandes
  pivots, scaled by n / samples) — igraph's subset betweenness, O(samples · m).
* **Bridging** of a node: the participation coefficient of its edges in the ecosystem graph,
  ``1 - Σ_c (w_c / w)^2`` where ``w_c`` is the weight of its edges into community ``c`` and ``w``
  its total weight. 0 when every neighbour is in one community (or it has none); near 1 when its
  edges are spread over many communities.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
from collections.abc import Iterator

import igraph as ig
import numpy as np

from graphintel.analytics.graph import AccountGraph, EcosystemGraph

__all__ = ["betweenness", "bridging", "pagerank"]


@functools.lru_cache(maxsize=1)
def _igraph_openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime bundled with the igraph wheel (``igraph.libs/libgomp*``), if any."""
    folder = os.path.join(os.path.dirname(ig.__file__), os.pardir, "igraph.libs")
    for path in sorted(glob.glob(os.path.join(folder, "libgomp*"))):
        try:
            lib = ctypes.CDLL(path)  # already loaded by igraph: the same handle
            lib.omp_get_max_threads.restype = ctypes.c_int
            lib.omp_set_num_threads.argtypes = [ctypes.c_int]
            return lib
        except (OSError, AttributeError):
            continue
    return None


@contextlib.contextmanager
def _one_openmp_thread() -> Iterator[None]:
    """Run igraph's OpenMP code (PRPACK PageRank) on the calling thread only.

    PRPACK's parallel loops are tiny next to the thread hand-offs; with busy-waiting OpenMP
    workers on a shared 2-core machine they made PageRank of 100k accounts ~10x slower (0.5 s vs
    0.05 s). Results differ by float rounding only (~1e-15).
    """
    lib = _igraph_openmp()
    if lib is None:
        yield
        return
    before = int(lib.omp_get_max_threads())
    lib.omp_set_num_threads(1)
    try:
        yield
    finally:
        lib.omp_set_num_threads(max(before, 1))


def pagerank(graph: AccountGraph, *, damping: float = 0.85) -> np.ndarray:
    """PageRank of every account (direction: towards inviters and payees; weighted).

    Examples
    --------
    >>> g = AccountGraph(np.array(["a", "b", "c"], dtype=object), np.array([1, 2]),
    ...                  np.array([0, 0]), np.array([1.0, 1.0]))
    >>> pr = pagerank(g)
    >>> bool(pr[0] > pr[1] == pr[2]), round(float(pr.sum()), 6)
    (True, 1.0)
    """
    n = len(graph.account_ids)
    if n == 0:
        return np.array([], dtype=np.float64)
    g = graph.to_igraph()
    w = "weight" if len(graph.src) else None
    with _one_openmp_thread():
        pr = g.pagerank(directed=True, damping=damping, weights=w)
    return np.asarray(pr, dtype=np.float64)


def betweenness(graph: AccountGraph, *, samples: int = 32, seed: int = 0) -> np.ndarray:
    """Normalised (sampled) betweenness of every account on the undirected account graph.

    Parameters
    ----------
    graph : AccountGraph
    samples : int
        Number of source pivots; exact computation when the graph has at most this many nodes.
    seed : int
        Seed for choosing the pivots.

    Examples
    --------
    >>> g = AccountGraph(np.array(["a", "b", "c"], dtype=object), np.array([0, 1]),
    ...                  np.array([1, 2]), np.array([1.0, 1.0]))
    >>> betweenness(g).tolist()
    [0.0, 1.0, 0.0]
    """
    n = len(graph.account_ids)
    if n < 3 or len(graph.src) == 0:
        return np.zeros(n, dtype=np.float64)
    g = graph.to_igraph().as_undirected(mode="collapse")
    if n <= samples:
        raw = np.asarray(g.betweenness(directed=False), dtype=np.float64)
    else:
        rng = np.random.default_rng(seed)
        pivots = np.sort(rng.choice(n, size=samples, replace=False))
        raw = np.asarray(g.betweenness(directed=False, sources=pivots.tolist()), dtype=np.float64)
        raw *= n / samples
    return raw * 2.0 / ((n - 1) * (n - 2))


def bridging(graph: EcosystemGraph, labels: np.ndarray) -> np.ndarray:
    """Participation coefficient of every node of the ecosystem graph over ``labels``.

    Examples
    --------
    >>> g = EcosystemGraph(np.array(["a", "b", "c"], dtype=object), np.array([], dtype=object),
    ...                    np.array([0, 0]), np.array([1, 2]), np.array([1.0, 1.0]))
    >>> bridging(g, np.array([0, 0, 1])).tolist()
    [0.5, 0.0, 0.0]
    """
    n = graph.n_nodes
    out = np.zeros(n, dtype=np.float64)
    if graph.n_edges == 0:
        return out
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1
    node = np.concatenate([graph.src, graph.dst])
    other = np.concatenate([labels[graph.dst], labels[graph.src]])
    w = np.concatenate([graph.weight, graph.weight])
    key = node * np.int64(k) + other
    if n * k <= 8 * len(key) + (1 << 20):  # few communities: dense bins, no sort
        present = np.bincount(key, minlength=n * k) > 0
        uniq = np.flatnonzero(present)
        wc = np.bincount(key, weights=w, minlength=n * k)[uniq]
    else:
        uniq, inv = np.unique(key, return_inverse=True)
        wc = np.bincount(inv, weights=w)
    owner = uniq // k
    total = np.bincount(node, weights=w, minlength=n)
    share = wc / total[owner]
    out -= np.bincount(owner, weights=share * share, minlength=n)
    out[total > 0] += 1.0
    return np.clip(out, 0.0, 1.0)
