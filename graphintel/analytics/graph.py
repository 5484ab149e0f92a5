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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import igraph as ig
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphintel.model import TABLES, table_columns

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "AccountGraph",
    "EcosystemGraph",
    "IdCodes",
    "account_graph",
    "account_universe",
    "channel_universe",
    "ecosystem_graph",
    "encode",
    "encode_tables",
    "prepare_and_encode",
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
    arr = _arrow_strings(values)
    if arr is not None:
        # the stores' (Arrow-backed) string columns: one Python str per distinct value, shared
        # by its rows (ids, kinds and times repeat: far less memory than a str per cell)
        return pd.Series(_dedup_objects(arr), dtype=object)
    if isinstance(values.dtype, pd.StringDtype):
        # the stores' string columns: find missing / empty values without leaving the string
        # array (fast), then convert once
        bad = (values.isna() | (values == "").fillna(False)).to_numpy(dtype=bool)
        arr = values.to_numpy(dtype=object, na_value=None)
        if bad.any():
            arr[bad] = None
        return pd.Series(arr, dtype=object)
    s = values.astype(object)
    missing = s.isna().to_numpy()
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        s = s.map(str, na_action="ignore")
    bad = missing | (s == "").to_numpy()
    if bad.any():
        s = s.where(~bad, None)
    return s.astype(object)


_DEDUP_SAMPLE = 4096
"""Rows sampled to tell a repetitive string column (shared ``str`` objects pay) from a mostly
distinct one (dictionary encoding costs more than it saves)."""


def _dedup_objects(arr: pa.Array, *, empty_is_missing: bool = True) -> np.ndarray:
    """An Arrow string array as an object array of ``str`` (``None`` for missing, and for
    ``''`` with ``empty_is_missing``), rows of equal value sharing one ``str`` object.

    A column whose evenly spaced sample is mostly distinct (keys, timestamps) is converted
    directly: its dictionary would be nearly as long as the column, so encoding it would cost
    a hash pass and save no memory. The values are the same either way."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    if n > _DEDUP_SAMPLE:
        step = n // _DEDUP_SAMPLE
        sample = arr.take(pa.array(np.arange(0, n, step, dtype=np.int64))).to_pylist()
        if len(set(sample)) * 2 > len(sample):  # mostly distinct
            out = np.empty(n, dtype=object)
            out[:] = arr.to_pylist()
            if empty_is_missing:
                empty = pc.equal(arr, "").fill_null(False).to_numpy(zero_copy_only=False)
                if empty.any():
                    out[empty] = None
            return out
    enc = pc.dictionary_encode(arr)
    uniq = np.empty(len(enc.dictionary) + 1, dtype=object)
    uniq[:-1] = enc.dictionary.to_pylist()
    if empty_is_missing:
        uniq[:-1][uniq[:-1] == ""] = None
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return uniq[idx]  # -1 (missing) picks the trailing None


def prepare_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Normalise canonical tables for analytics.

    Every canonical table is present afterwards (missing ones empty, with the stored columns);
    id and timestamp columns are ``object`` columns of ``str`` with ``None`` for missing (``''``,
    the stores' placeholder for missing optional keys, counts as missing); ``credits`` is float;
    ``source_ids`` is a list of str; rows are sorted by the table key and the index is reset.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Canonical tables in stored form; any may be absent or empty.
    columns : mapping of str to sequence of str, optional
        Only these columns of each table (stored column order kept; a table not named gets
        none): callers that need a few columns skip normalising the rest.

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
    return _prepare(tables, columns)[0]


def _arrow_strings(values: pd.Series) -> pa.Array | None:
    """The Arrow string array behind a pyarrow-backed string column (no copy), else None."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        try:
            arr = pa.array(values.array)
        except (pa.ArrowException, TypeError, ValueError):
            return None
        return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None
    return None


def _prepare(
    tables: Mapping[str, pd.DataFrame],
    columns: Mapping[str, Sequence[str]] | None,
    *,
    release: bool = False,
) -> tuple[dict[str, pd.DataFrame], dict[tuple[str, str], pa.Array]]:
    """:func:`prepare_tables`, plus the Arrow arrays behind the account / channel id columns
    that came in pyarrow-backed (row for row with the prepared table; ``''`` not yet missing).

    With ``release`` (``tables`` a dict handed over by the caller), each raw table is taken out
    of ``tables`` as soon as it is prepared, so at most one raw table lives beside the prepared
    ones."""
    id_cols = {
        (t, c)
        for spec in (ACCOUNT_ID_COLUMNS, CHANNEL_ID_COLUMNS)
        for t, cs in spec.items()
        for c in cs
    }
    arrow: dict[tuple[str, str], pa.Array] = {}
    out: dict[str, pd.DataFrame] = {}
    for name, spec in TABLES.items():
        cols = table_columns(name)
        if columns is not None:
            wanted = set(columns.get(name, ()))
            cols = [c for c in cols if c in wanted]
        given = tables.pop(name, None) if release else tables.get(name)  # type: ignore[attr-defined]
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
                if (name, col) in id_cols:
                    arr = _arrow_strings(s)
                    if arr is not None:
                        arrow[(name, col)] = arr
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
        if n and name == "transactions" and not _sorted_keys(df["txn_id"]):
            # float sums depend on the order of addition: fix it so stores agree bit for bit
            # (every other analytic aggregates order-independently or sorts by its own keys)
            df = df.sort_values("txn_id", kind="stable").reset_index(drop=True)
            arrow = {k: v for k, v in arrow.items() if k[0] != name}  # rows moved
        out[name] = df
        frame = given = None  # the raw table (when released) can go now
    return out, arrow


def _sorted_keys(keys: pd.Series) -> bool:
    """True when ``keys`` (str, no missing value) are already in ascending order, so a stable
    sort would not move any row (stores return rows in key order)."""
    if keys.isna().any():
        return False
    try:
        return bool(keys.is_monotonic_increasing)
    except TypeError:
        return False


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
    if type(value) is np.ndarray:  # the stores' form: an array of str
        out = value.tolist()
        if all(type(v) is str for v in out):
            return out
        return [str(v) for v in out]
    if _missing(value):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]  # type: ignore[union-attr]


def source_lists(values: pd.Series | np.ndarray) -> list[list[str]]:
    """:func:`source_list` of every value, in one Arrow conversion when every value is in the
    stores' form (an array of str), else value by value.

    Examples
    --------
    >>> source_lists(np.array([np.array(["S1"]), None, "S2"], dtype=object))
    [['S1'], [], ['S2']]
    """
    obj = np.asarray(values, dtype=object)
    if len(obj) and set(map(type, obj)) == {np.ndarray}:
        try:
            arr = pa.array(obj, type=pa.list_(pa.string()))
        except (pa.ArrowException, TypeError, ValueError):
            arr = None
        if arr is not None and arr.null_count == 0 and arr.values.null_count == 0:
            return arr.to_pylist()
    return [source_list(v) for v in obj]


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
    arrow_universe = _arrow_of(universe)
    if arrow_universe is not None:
        try:
            found = pc.index_in(
                pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True),
                value_set=arrow_universe,
            )
        except (pa.ArrowException, TypeError, ValueError):  # e.g. non-str values: use pandas
            pass
        else:  # Arrow's C++ hash lookup: the same positions, several times faster
            return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return _index_of(universe).get_indexer(pd.Index(values)).astype(np.int64)


_INDEX_CACHE: list[tuple[np.ndarray, pd.Index]] = []
_ARROW_CACHE: list[tuple[np.ndarray, pa.Array | None]] = []


def _arrow_of(universe: np.ndarray) -> pa.Array | None:
    """``universe`` as an Arrow string array (``None`` when it is not all str), reused for the
    same array object (a few kept)."""
    for arr, converted in _ARROW_CACHE:
        if arr is universe:
            return converted
    try:
        converted = pa.array(np.asarray(universe, dtype=object), type=pa.string())
    except (pa.ArrowException, TypeError, ValueError):
        converted = None
    if converted is not None and converted.null_count:
        converted = None
    _ARROW_CACHE.insert(0, (universe, converted))
    del _ARROW_CACHE[4:]
    return converted


def _index_of(universe: np.ndarray) -> pd.Index:
    """A hashed ``pd.Index`` for ``universe``, reused for the same array object (a few kept)."""
    for arr, index in _INDEX_CACHE:
        if arr is universe:
            return index
    index = pd.Index(universe)
    _INDEX_CACHE.insert(0, (universe, index))
    del _INDEX_CACHE[4:]
    return index


@dataclass(frozen=True)
class IdCodes:
    """Integer codes of every account and channel id column of prepared tables.

    ``codes[(table, column)]`` holds, row for row, the position of each id in the sorted
    ``account_ids`` (account columns of :data:`ACCOUNT_ID_COLUMNS`) or ``channel_ids`` (channel
    columns of :data:`CHANNEL_ID_COLUMNS`), ``-1`` where the id is missing. Built once by
    :func:`encode_tables`, so the analytics never hash the same id strings twice.
    """

    account_ids: np.ndarray
    channel_ids: np.ndarray
    codes: dict[tuple[str, str], np.ndarray]

    def __call__(self, table: str, column: str) -> np.ndarray:
        """The codes of ``table.column`` (an int64 array, one per row)."""
        return self.codes[(table, column)]


def _joint_codes(
    tables: Mapping[str, pd.DataFrame],
    spec: dict[str, tuple[str, ...]],
    arrow: Mapping[tuple[str, str], pa.Array] | None = None,
) -> tuple[np.ndarray, dict[tuple[str, str], np.ndarray]]:
    keys: list[tuple[str, str]] = []
    for table, cols in spec.items():
        frame = tables.get(table)
        if frame is None:
            continue
        keys.extend((table, col) for col in cols if col in frame.columns)
    if not keys:
        return np.array([], dtype=object), {}
    lengths = [len(tables[t]) for t, _ in keys]
    bounds = np.cumsum([0, *lengths])
    try:
        uniq, codes = _arrow_codes(tables, keys, arrow or {})
    except (pa.ArrowException, TypeError, ValueError):  # e.g. unpaired surrogates: use pandas
        uniq, codes = _pandas_codes(tables, keys)
    return uniq, {k: codes[bounds[i] : bounds[i + 1]] for i, k in enumerate(keys)}


def _arrow_codes(
    tables: Mapping[str, pd.DataFrame],
    keys: list[tuple[str, str]],
    arrow: Mapping[tuple[str, str], pa.Array],
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids (``''`` and missing left out) and the code of every value, in C++:
    Arrow's dictionary encoding, its string sort is by UTF-8 bytes = code points = ``str``
    order."""
    parts = []
    for table, col in keys:
        arr = arrow.get((table, col))
        if arr is None:
            arr = pa.array(
                tables[table][col].to_numpy(dtype=object), type=pa.large_string(), from_pandas=True
            )
        if isinstance(arr, pa.ChunkedArray):  # the stores' columns come chunked
            arr = arr.combine_chunks()
        parts.append(arr.cast(pa.large_string()))
    enc = pc.dictionary_encode(pa.concat_arrays(parts))
    dictionary = enc.dictionary
    order = pc.sort_indices(dictionary).to_numpy().astype(np.int64)
    sorted_ids = dictionary.take(pa.array(order)).to_numpy(zero_copy_only=False).astype(object)
    rank = np.empty(len(order) + 1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # nulls
    empty = np.flatnonzero(sorted_ids == "")
    if len(empty):  # '' is a missing id: drop it from the universe
        drop = int(empty[0])
        sorted_ids = np.delete(sorted_ids, drop)
        rank = np.where(rank == drop, -1, np.where(rank > drop, rank - 1, rank))
    idx = enc.indices.fill_null(-1).to_numpy().astype(np.int64)
    return sorted_ids, rank[idx]


def _pandas_codes(
    tables: Mapping[str, pd.DataFrame], keys: list[tuple[str, str]]
) -> tuple[np.ndarray, np.ndarray]:
    allv = np.concatenate([tables[t][c].to_numpy(dtype=object) for t, c in keys])
    codes, uniq = pd.factorize(allv, sort=True, use_na_sentinel=True)
    uniq = np.asarray(uniq, dtype=object)
    codes = codes.astype(np.int64, copy=False)
    empty = np.flatnonzero(uniq == "")
    if len(empty):  # '' is a missing id (prepare_tables already turns it into None)
        drop = int(empty[0])
        uniq = np.delete(uniq, drop)
        codes = np.where(codes == drop, -1, np.where(codes > drop, codes - 1, codes))
    return uniq, codes


def encode_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    arrow: Mapping[tuple[str, str], pa.Array] | None = None,
) -> IdCodes:
    """Account and channel universes and the codes of every id column, in one hashing pass.

    ``account_ids`` / ``channel_ids`` equal :func:`account_universe` / :func:`channel_universe`
    and each code array equals :func:`encode` of its column on that universe.

    Parameters
    ----------
    tables : mapping
        Tables from :func:`prepare_tables`.
    arrow : mapping, optional
        Arrow string arrays of some id columns, row for row with ``tables`` (saves converting
        those columns).

    Returns
    -------
    IdCodes

    Examples
    --------
    >>> t = prepare_tables({"invites": pd.DataFrame({"inviter_id": ["B", None],
    ...                                              "invitee_id": ["A", "C"]})})
    >>> c = encode_tables(t)
    >>> c.account_ids.tolist(), c("invites", "inviter_id").tolist()
    (['A', 'B', 'C'], [1, -1])
    """
    acc, acc_codes = _joint_codes(tables, ACCOUNT_ID_COLUMNS, arrow)
    chan, chan_codes = _joint_codes(tables, CHANNEL_ID_COLUMNS, arrow)
    return IdCodes(acc, chan, {**acc_codes, **chan_codes})


def prepare_and_encode(
    tables: Mapping[str, pd.DataFrame],
    *,
    columns: Mapping[str, Sequence[str]] | None = None,
    release: bool = False,
) -> tuple[dict[str, pd.DataFrame], IdCodes]:
    """:func:`prepare_tables` and :func:`encode_tables` in one go.

    Id columns that come in as pyarrow-backed strings (the DuckDB store's) are encoded straight
    from their Arrow arrays, without going through Python ``str`` objects. With ``release``,
    ``tables`` must be a dict handed over by the caller: each raw table is removed from it once
    prepared (peak memory: the prepared tables and one raw table).

    Examples
    --------
    >>> t, codes = prepare_and_encode({"invites": pd.DataFrame({"inviter_id": ["B"],
    ...                                                         "invitee_id": ["A"]})})
    >>> codes.account_ids.tolist(), codes("invites", "invitee_id").tolist()
    (['A', 'B'], [0])
    """
    prepared, arrow = _prepare(tables, columns, release=release)
    codes = encode_tables(prepared, arrow=arrow)
    del arrow
    _share_universe_strings(prepared, codes)
    return prepared, codes


def _share_universe_strings(tables: dict[str, pd.DataFrame], codes: IdCodes) -> None:
    """Rebuild every encoded id column from its universe, in place: equal values, but each
    row points at the universe's one ``str`` per id instead of a ``str`` of its own (mostly
    distinct columns such as payees and invitees are converted row by row; at 1 M accounts
    that is hundreds of MB of duplicate strings)."""
    for (table, column), code in codes.codes.items():
        universe = (
            codes.account_ids if column in ACCOUNT_ID_COLUMNS.get(table, ()) else codes.channel_ids
        )
        lookup = np.empty(len(universe) + 1, dtype=object)
        lookup[:-1] = universe
        lookup[-1] = None  # code -1: missing
        tables[table][column] = lookup[code]


def _codes(
    codes: IdCodes | None,
    tables: Mapping[str, pd.DataFrame],
    table: str,
    column: str,
    universe: np.ndarray,
) -> np.ndarray:
    """Codes of ``table.column`` from ``codes`` when given, else by :func:`encode`."""
    if codes is not None:
        return codes(table, column)
    return encode(tables[table][column], universe)


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
    if bool(np.all(weight == 1.0)):  # record counts: np.unique's counts (no inverse) suffice
        uniq, counts = np.unique(key, return_counts=True)
        w = counts.astype(np.float64)
    else:
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
        import networkx as nx  # the reference engine only: not imported by `analyze` at scale

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
    *,
    codes: IdCodes | None = None,
) -> EcosystemGraph:
    """Project prepared tables onto the undirected ecosystem graph.

    Parameters
    ----------
    tables : mapping
        Tables from :func:`prepare_tables`.
    account_ids, channel_ids : numpy.ndarray, optional
        Sorted universes (default: :func:`account_universe` / :func:`channel_universe`).
    codes : IdCodes, optional
        Precomputed id codes (:func:`encode_tables`) on these universes.

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
    if codes is not None:
        account_ids, channel_ids = codes.account_ids, codes.channel_ids
    acc = account_universe(tables) if account_ids is None else account_ids
    chan = channel_universe(tables) if channel_ids is None else channel_ids
    na = len(acc)
    n = na + len(chan)

    def ac(table: str, col: str) -> np.ndarray:
        return _codes(codes, tables, table, col, acc)

    def ch(table: str, col: str) -> np.ndarray:
        c = _codes(codes, tables, table, col, chan)
        return np.where(c >= 0, c + na, -1)

    src = np.concatenate(
        [
            ac("memberships", "account_id"),
            ac("invites", "inviter_id"),
            ac("transactions", "from_id"),
            ch("forwards", "from_channel_id"),
        ]
    ).astype(np.int64)
    dst = np.concatenate(
        [
            ch("memberships", "channel_id"),
            ac("invites", "invitee_id"),
            ac("transactions", "to_id"),
            ch("forwards", "to_channel_id"),
        ]
    ).astype(np.int64)
    s, d, w = _aggregate_undirected(src, dst, np.ones(len(src)), n)
    return EcosystemGraph(acc, chan, s, d, w)


def account_graph(
    tables: Mapping[str, pd.DataFrame],
    account_ids: np.ndarray | None = None,
    *,
    codes: IdCodes | None = None,
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
    if codes is not None:
        account_ids = codes.account_ids
    acc = account_universe(tables) if account_ids is None else account_ids

    def ac(table: str, col: str) -> np.ndarray:
        return _codes(codes, tables, table, col, acc)

    src = np.concatenate([ac("invites", "invitee_id"), ac("transactions", "from_id")])
    dst = np.concatenate([ac("invites", "inviter_id"), ac("transactions", "to_id")])
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    s, d, w = _aggregate(src[keep], dst[keep], np.ones(int(keep.sum())), len(acc))
    return AccountGraph(acc, s, d, w)
