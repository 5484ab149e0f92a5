"""Projection of the canonical tables into graphs for analytics.

Analytics are plain functions over ``tables: dict[str, pandas.DataFrame]`` in the stored form of
:func:`graphintel.model.table_columns`. This module normalises those tables
(:func:`prepare_tables`), defines the universe of accounts and channels, and projects them into
integer-coded edge lists (:class:`EcosystemGraph`, :class:`AccountGraph`) that convert to igraph
(fast path) or networkx (reference, small graphs).

Node order is always the sorted order of the ids, and input rows are sorted by their table key,
so two stores holding the same records give bit-identical graphs (and therefore identical
seeded community labels and float sums).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import igraph as ig
import networkx as nx
import numpy as np
import pandas as pd

from graphintel.model import TABLES, table_columns

__all__ = [
    "AccountGraph",
    "EcosystemGraph",
    "account_graph",
    "account_universe",
    "channel_universe",
    "ecosystem_graph",
    "encode",
    "prepare_tables",
]

# Columns that hold account / channel ids, per table (the universe is their union).
ACCOUNT_ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "channels": ("creator_id",),
    "memberships": ("account_id",),
    "invites": ("inviter_id", "invitee_id"),
    "transactions": ("from_id", "to_id"),
    "content": ("poster_id",),
}
CHANNEL_ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "channels": ("channel_id",),
    "memberships": ("channel_id",),
    "invites": ("channel_id",),
    "transactions": ("channel_id",),
    "forwards": ("from_channel_id", "to_channel_id"),
    "targets": ("channel_id",),
    "content": ("channel_id",),
}


def _id_column(values: pd.Series) -> pd.Series:
    """Ids as an object column of ``str`` with ``None`` for missing or empty values."""
    s = values.astype(object)
    missing = s.isna().to_numpy()
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        s = s.map(str, na_action="ignore")
    bad = missing | (s == "").to_numpy()
    if bad.any():
        s = s.where(~bad, None)
    return s.astype(object)


def prepare_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Normalise canonical tables for analytics.

    Every canonical table is present afterwards (missing ones empty, with the stored columns);
    id and timestamp columns are ``object`` columns of ``str`` with ``None`` for missing (``''``,
    the stores' placeholder for missing optional keys, counts as missing); ``credits`` is float;
    ``source_ids`` is a list of str; rows are sorted by the table key and the index is reset.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Canonical tables in stored form; any may be absent or empty.

    Returns
    -------
    dict of str to pandas.DataFrame

    Examples
    --------
    >>> t = prepare_tables({"invites": pd.DataFrame({"inviter_id": ["B", "A"],
    ...                                              "invitee_id": ["C", "C"]})})
    >>> t["invites"][["inviter_id", "invitee_id"]].values.tolist()
    [['B', 'C'], ['A', 'C']]
    >>> len(t["accounts"])
    0
    """
    out: dict[str, pd.DataFrame] = {}
    for name, spec in TABLES.items():
        cols = table_columns(name)
        given = tables.get(name)
        frame = pd.DataFrame(columns=cols) if given is None else given
        data: dict[str, object] = {}
        n = len(frame)
        for col in cols:
            if col in frame.columns:
                s = frame[col].reset_index(drop=True)
            else:
                s = pd.Series([None] * n, dtype=object)
            kind = spec.column(col).type if col in spec.column_names else None
            if col == "source_ids":
                s = s.astype(object)  # converted to list[str] only where evidence is emitted
            elif kind in ("id", "ts") or col in ("role", "kind"):
                s = _id_column(s)
            elif kind == "float":
                s = pd.to_numeric(s, errors="coerce").astype("float64")
            elif kind == "bool" or col == "inferred":
                if pd.api.types.is_bool_dtype(s.dtype):
                    s = s.fillna(False).astype(bool)
                else:
                    s = s.astype(object).map(_as_bool).astype(bool)
            data[col] = s
        df = pd.DataFrame(data, columns=cols)
        if n and name == "transactions":
            # float sums depend on the order of addition: fix it so stores agree bit for bit
            # (every other analytic aggregates order-independently or sorts by its own keys)
            df = df.sort_values("txn_id", kind="stable").reset_index(drop=True)
        out[name] = df
    return out


def _missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and np.isnan(value))
    )


def _as_bool(value: object) -> bool:
    if _missing(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "t", "y")
    return bool(value)


def source_list(value: object) -> list[str]:
    """A stored ``source_ids`` value as a list of str (``[]`` when missing).

    Examples
    --------
    >>> source_list(np.array(["S1", "S2"])), source_list(None)
    (['S1', 'S2'], [])
    """
    if _missing(value):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[union-attr]


def _universe(tables: Mapping[str, pd.DataFrame], spec: dict[str, tuple[str, ...]]) -> np.ndarray:
    parts = []
    for table, cols in spec.items():
        frame = tables.get(table)
        if frame is None or frame.empty:
            continue
        for col in cols:
            if col in frame.columns:
                parts.append(frame[col].dropna().to_numpy(dtype=object))
    if not parts:
        return np.array([], dtype=object)
    uniq = pd.unique(np.concatenate(parts))  # ids are str after prepare_tables
    uniq = uniq[uniq != ""].astype(object)
    uniq.sort()
    return uniq


def account_universe(tables: Mapping[str, pd.DataFrame]) -> np.ndarray:
    """Sorted unique account ids: ``accounts`` plus every account id referenced elsewhere.

    Examples
    --------
    >>> t = prepare_tables({"invites": pd.DataFrame({"inviter_id": ["B"], "invitee_id": ["A"]})})
    >>> account_universe(t).tolist()
    ['A', 'B']
    """
    return _universe(tables, ACCOUNT_ID_COLUMNS)


def channel_universe(tables: Mapping[str, pd.DataFrame]) -> np.ndarray:
    """Sorted unique channel ids: ``channels`` plus every channel id referenced elsewhere."""
    return _universe(tables, CHANNEL_ID_COLUMNS)


def encode(values: pd.Series | np.ndarray, universe: np.ndarray) -> np.ndarray:
    """Integer codes of ``values`` in the sorted ``universe`` (``-1`` for missing/unknown).

    Examples
    --------
    >>> encode(pd.Series(["b", None, "a"]), np.array(["a", "b"], dtype=object)).tolist()
    [1, -1, 0]
    """
    return _index_of(universe).get_indexer(pd.Index(values)).astype(np.int64)


_INDEX_CACHE: list[tuple[np.ndarray, pd.Index]] = []


def _index_of(universe: np.ndarray) -> pd.Index:
    """A hashed ``pd.Index`` for ``universe``, reused for the same array object (a few kept)."""
    for arr, index in _INDEX_CACHE:
        if arr is universe:
            return index
    index = pd.Index(universe)
    _INDEX_CACHE.insert(0, (universe, index))
    del _INDEX_CACHE[4:]
    return index


def _edges(src: np.ndarray, dst: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(src.tolist(), dst.tolist()))


def _aggregate_undirected(
    src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    src, dst, weight = src[keep], dst[keep], weight[keep]
    lo = np.minimum(src, dst).astype(np.int64)
    hi = np.maximum(src, dst).astype(np.int64)
    return _aggregate(lo, hi, weight, n)


def _aggregate(
    src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(src) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty.copy(), np.array([], dtype=np.float64)
    key = src.astype(np.int64) * np.int64(max(n, 1)) + dst.astype(np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    w = np.bincount(inverse, weights=weight, minlength=len(uniq)).astype(np.float64)
    return uniq // max(n, 1), uniq % max(n, 1), w


@dataclass(frozen=True)
class EcosystemGraph:
    """The undirected weighted ecosystem graph of accounts and channels.

    Nodes ``0 .. n_accounts-1`` are the sorted account ids, then the sorted channel ids. Edges
    (``src < dst``, unique, no self-loops) carry a weight = number of records joining the two
    nodes: one per membership (account–channel), invite (inviter–invitee), transaction
    (payer–payee) and forward record (channel–channel).
    """

    account_ids: np.ndarray
    channel_ids: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    @property
    def n_nodes(self) -> int:
        return len(self.account_ids) + len(self.channel_ids)

    @property
    def n_edges(self) -> int:
        return len(self.src)

    @property
    def keys(self) -> np.ndarray:
        """Node keys ``a:<account_id>`` / ``c:<channel_id>`` in node order (sorted)."""
        return np.concatenate(
            [
                np.array(["a:" + a for a in self.account_ids], dtype=object),
                np.array(["c:" + c for c in self.channel_ids], dtype=object),
            ]
        ).astype(object)

    def to_igraph(self) -> ig.Graph:
        """An undirected igraph graph with edge attribute ``weight`` (built once, cached: treat
        it as read-only)."""
        return self._igraph

    @functools.cached_property
    def _igraph(self) -> ig.Graph:
        g = ig.Graph(n=self.n_nodes, edges=_edges(self.src, self.dst), directed=False)
        g.es["weight"] = self.weight.tolist()
        return g

    def to_networkx(self) -> nx.Graph:
        """An undirected networkx graph on integer nodes (reference / small graphs only)."""
        g = nx.Graph()
        g.add_nodes_from(range(self.n_nodes))
        g.add_weighted_edges_from(
            zip(self.src.tolist(), self.dst.tolist(), self.weight.tolist()), weight="weight"
        )
        return g


@dataclass(frozen=True)
class AccountGraph:
    """Directed weighted account→account graph (nodes = sorted account ids).

    Edges point to whoever benefits: invitee → inviter (the referral credit goes to the inviter)
    and payer → payee. Weight = number of such records; self-loops dropped.
    """

    account_ids: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray

    def to_igraph(self) -> ig.Graph:
        """A directed igraph graph with edge attribute ``weight`` (cached: read-only)."""
        return self._igraph

    @functools.cached_property
    def _igraph(self) -> ig.Graph:
        g = ig.Graph(n=len(self.account_ids), edges=_edges(self.src, self.dst), directed=True)
        g.es["weight"] = self.weight.tolist()
        return g


def ecosystem_graph(
    tables: Mapping[str, pd.DataFrame],
    account_ids: np.ndarray | None = None,
    channel_ids: np.ndarray | None = None,
) -> EcosystemGraph:
    """Project prepared tables onto the undirected ecosystem graph.

    Parameters
    ----------
    tables : mapping
        Tables from :func:`prepare_tables`.
    account_ids, channel_ids : numpy.ndarray, optional
        Sorted universes (default: :func:`account_universe` / :func:`channel_universe`).

    Returns
    -------
    EcosystemGraph

    Examples
    --------
    >>> t = prepare_tables({"memberships": pd.DataFrame({"account_id": ["A", "B"],
    ...                                                  "channel_id": ["C1", "C1"]}),
    ...                     "invites": pd.DataFrame({"inviter_id": ["A", "A"],
    ...                                              "invitee_id": ["B", "B"],
    ...                                              "invited_at": ["2024-01-01T00:00:00",
    ...                                                             "2024-01-02T00:00:00"]})})
    >>> g = ecosystem_graph(t)
    >>> g.n_nodes, list(zip(g.src.tolist(), g.dst.tolist(), g.weight.tolist()))
    (3, [(0, 1, 2.0), (0, 2, 1.0), (1, 2, 1.0)])
    """
    acc = account_universe(tables) if account_ids is None else account_ids
    chan = channel_universe(tables) if channel_ids is None else channel_ids
    na = len(acc)
    n = na + len(chan)
    srcs, dsts = [], []
    m = tables["memberships"]
    srcs.append(encode(m["account_id"], acc))
    c = encode(m["channel_id"], chan)
    dsts.append(np.where(c >= 0, c + na, -1))
    inv = tables["invites"]
    srcs.append(encode(inv["inviter_id"], acc))
    dsts.append(encode(inv["invitee_id"], acc))
    tx = tables["transactions"]
    srcs.append(encode(tx["from_id"], acc))
    dsts.append(encode(tx["to_id"], acc))
    fw = tables["forwards"]
    f1 = encode(fw["from_channel_id"], chan)
    f2 = encode(fw["to_channel_id"], chan)
    srcs.append(np.where(f1 >= 0, f1 + na, -1))
    dsts.append(np.where(f2 >= 0, f2 + na, -1))
    src = np.concatenate(srcs).astype(np.int64)
    dst = np.concatenate(dsts).astype(np.int64)
    s, d, w = _aggregate_undirected(src, dst, np.ones(len(src)), n)
    return EcosystemGraph(acc, chan, s, d, w)


def account_graph(
    tables: Mapping[str, pd.DataFrame], account_ids: np.ndarray | None = None
) -> AccountGraph:
    """Project prepared tables onto the directed account graph (see :class:`AccountGraph`).

    Examples
    --------
    >>> t = prepare_tables({"invites": pd.DataFrame({"inviter_id": ["A"], "invitee_id": ["B"]}),
    ...                     "transactions": pd.DataFrame({"txn_id": ["T1"], "from_id": ["B"],
    ...                                                   "to_id": ["A"], "credits": [5.0]})})
    >>> g = account_graph(t)
    >>> list(zip(g.src.tolist(), g.dst.tolist(), g.weight.tolist()))
    [(1, 0, 2.0)]
    """
    acc = account_universe(tables) if account_ids is None else account_ids
    inv = tables["invites"]
    tx = tables["transactions"]
    src = np.concatenate([encode(inv["invitee_id"], acc), encode(tx["from_id"], acc)])
    dst = np.concatenate([encode(inv["inviter_id"], acc), encode(tx["to_id"], acc)])
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    s, d, w = _aggregate(src[keep], dst[keep], np.ones(int(keep.sum())), len(acc))
    return AccountGraph(acc, s, d, w)
