"""Referral forest: who brought whom in, chains up to the root, cascades.

Definitions (DESIGN.md, exact)
------------------------------
* **referral_parent** of an account: the inviter of its earliest invite; ties (same earliest
  ``invited_at``) go to the smallest ``inviter_id``. An invite without ``invited_at`` counts as
  later than every dated invite. Self-invites (inviter = invitee) are ignored; duplicate invite
  records change nothing.
* A **cycle** of parents (A's parent is B, B's is C, C's is A) is broken at its *latest* edge: the
  account whose parent invite is latest loses its parent (ties: the smallest account id) and
  becomes a root. Each broken cycle is reported (:func:`referral_forest` returns it).
* **referral_root**: top ancestor (the account itself if it has no parent);
  **referral_depth**: edges to the root; **referral_descendants**: size of its subtree, itself
  excluded; **direct_invites**: distinct invitees of its invites (self-invites excluded; an invitee
  whose parent is someone else still counts).
* A **cascade** is a root with at least one descendant; its size counts the root.

Everything is vectorised with numpy (pointer doubling for roots and depths, one pass per level
for subtree sizes) except walking the few broken cycles.
"""

from __future__ import annotations

import igraph as ig
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphintel.analytics.graph import IdCodes, encode

__all__ = [
    "FOREST_COLUMNS",
    "all_cascades",
    "cascade_stats",
    "largest_cascades",
    "referral_chain",
    "referral_forest",
    "referral_subtree",
    "referral_summary",
]

FOREST_COLUMNS = (
    "account_id",
    "referral_parent",
    "referral_root",
    "referral_depth",
    "referral_descendants",
    "direct_invites",
    "referral_invited_at",
)
CYCLE_COLUMNS = ("account_id", "broken_parent", "cycle")


def _time_rank(times: pd.Series) -> np.ndarray:
    """Rank of ISO timestamps (lexicographic); missing ones rank after every timestamp.

    Dense ranks (equal strings share a rank, ranks are consecutive from 0): Arrow's string rank
    (UTF-8 byte order = code point order, nulls last), or pandas when Arrow refuses the values.
    """
    try:
        arr = pa.array(np.asarray(times, dtype=object), type=pa.string(), from_pandas=True)
        ranks = pc.rank(arr, sort_keys="ascending", tiebreaker="dense")
        return ranks.to_numpy(zero_copy_only=False).astype(np.int64) - 1
    except (pa.ArrowException, TypeError, ValueError):
        pass
    codes, uniques = pd.factorize(times, sort=True, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    codes[codes < 0] = len(uniques)
    return codes


def referral_forest(
    invites: pd.DataFrame, account_ids: np.ndarray, *, codes: IdCodes | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Referral parent, root, depth, descendants and direct invites of every account.

    Parameters
    ----------
    invites : pandas.DataFrame
        The prepared ``invites`` table (``inviter_id``, ``invitee_id``, ``invited_at``).
    account_ids : numpy.ndarray
        Sorted unique account ids (the universe); every inviter and invitee must be in it.
    codes : IdCodes, optional
        Precomputed id codes of the prepared tables ``invites`` comes from, on ``account_ids``.

    Returns
    -------
    forest : pandas.DataFrame
        One row per account, columns :data:`FOREST_COLUMNS` (``referral_invited_at`` is the time
        of the parent invite, ``None`` for roots).
    cycles : pandas.DataFrame
        One row per broken cycle: ``account_id`` (the account that lost its parent),
        ``broken_parent`` (that parent) and ``cycle`` — the accounts of the cycle in invitation
        order starting at ``account_id``, joined by ``" > "`` (each invited the next; the last
        invited the first, which is the edge that was broken).

    Notes
    -----
    Direction: parent = inviter. O(n log depth + invites) time plus one numpy pass per depth level.

    Examples
    --------
    >>> inv = pd.DataFrame({"inviter_id": ["A", "B", "C", "A"], "invitee_id": ["B", "C", "A", "D"],
    ...                     "invited_at": ["2024-01-01T00:00:00", "2024-01-02T00:00:00",
    ...                                    "2024-01-03T00:00:00", "2024-01-01T00:00:00"]})
    >>> forest, cycles = referral_forest(inv, np.array(["A", "B", "C", "D"], dtype=object))
    >>> forest[["account_id", "referral_parent", "referral_root", "referral_depth"]].values.tolist()
    [['A', None, 'A', 0], ['B', 'A', 'A', 1], ['C', 'B', 'A', 2], ['D', 'A', 'A', 1]]
    >>> cycles.values.tolist()
    [['A', 'C', 'A > B > C']]
    """
    ids = np.asarray(account_ids, dtype=object)
    n = len(ids)
    if codes is not None:
        inviter, invitee = codes("invites", "inviter_id"), codes("invites", "invitee_id")
    else:
        inviter = encode(invites["inviter_id"], ids)
        invitee = encode(invites["invitee_id"], ids)
    ok = (inviter >= 0) & (invitee >= 0) & (inviter != invitee)
    inviter, invitee = inviter[ok], invitee[ok]
    times = invites["invited_at"].to_numpy(dtype=object)[ok]
    trank = _time_rank(pd.Series(times, dtype=object))

    # direct invites: distinct (inviter, invitee) pairs per inviter
    if len(inviter):
        pairs = np.unique(inviter * np.int64(n) + invitee)
        direct = np.bincount(pairs // n, minlength=n).astype(np.int64)
    else:
        direct = np.zeros(n, dtype=np.int64)

    # parent: earliest invite per invitee, ties by smallest inviter (codes follow id order)
    parent = np.full(n, -1, dtype=np.int64)
    prank = np.full(n, -1, dtype=np.int64)
    ptime = np.full(n, None, dtype=object)
    if len(inviter):
        order = np.lexsort((inviter, trank, invitee))
        e = invitee[order]
        first = np.ones(len(e), dtype=bool)
        first[1:] = e[1:] != e[:-1]
        sel = order[first]
        parent[invitee[sel]] = inviter[sel]
        prank[invitee[sel]] = trank[sel]
        ptime[invitee[sel]] = times[sel]

    # roots and depths by pointer doubling; a parent cycle never reaches a root, so when every
    # chain ends at a root there is no cycle to break (the common case: no SCC pass needed)
    root, depth = _roots(parent)
    if n and (parent[root] >= 0).any():
        cycles = _break_cycles(ids, parent, prank, ptime)
        root, depth = _roots(parent)
    else:
        cycles = _no_cycles()
    has = parent >= 0

    # subtree sizes: one pass per depth level, deepest first
    size = np.ones(n, dtype=np.int64)
    if n and depth.max() > 0:
        order = np.argsort(-depth, kind="stable")
        d_sorted = depth[order]
        bounds = np.flatnonzero(np.diff(d_sorted)) + 1
        for level in np.split(order, bounds):
            if depth[level[0]] == 0:
                break
            np.add.at(size, parent[level], size[level])

    forest = pd.DataFrame(
        {
            "account_id": pd.Series(ids, dtype=object),
            "referral_parent": pd.Series(
                np.where(has, ids[np.where(has, parent, 0)] if n else ids, None), dtype=object
            ),
            "referral_root": pd.Series(ids[root] if n else ids, dtype=object),
            "referral_depth": depth,
            "referral_descendants": size - 1,
            "direct_invites": direct,
            "referral_invited_at": pd.Series(np.where(has, ptime, None), dtype=object),
        },
        columns=list(FOREST_COLUMNS),
    )
    return forest, cycles


def _roots(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top ancestor and distance to it by pointer doubling (``parent`` -1 = root).

    Stops after ``ceil(log2(n)) + 1`` doublings at most: with parent cycles the result is then
    not a root for the nodes on or above a cycle (callers check ``parent[root] >= 0``).
    """
    n = len(parent)
    has = parent >= 0
    anc = np.where(has, parent, np.arange(n))
    dist = has.astype(np.int64)
    for _ in range(max(n, 1).bit_length() + 1):
        nxt = anc[anc]
        if np.array_equal(nxt, anc):
            break
        dist = dist + dist[anc]
        anc = nxt
    return anc, dist


def _no_cycles() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in CYCLE_COLUMNS})


def _break_cycles(
    ids: np.ndarray, parent: np.ndarray, prank: np.ndarray, ptime: np.ndarray
) -> pd.DataFrame:
    """Find parent cycles (strongly connected components > 1), cut each at its latest edge."""
    n = len(ids)
    has = np.flatnonzero(parent >= 0)
    empty = _no_cycles()
    if len(has) == 0:
        return empty
    g = ig.Graph(n=n, edges=np.column_stack([has, parent[has]]), directed=True)
    memb = np.asarray(g.connected_components(mode="strong").membership, dtype=np.int64)
    sizes = np.bincount(memb)
    on_cycle = np.flatnonzero(sizes[memb] > 1)
    if len(on_cycle) == 0:
        return empty
    # latest parent edge per cycle (largest time rank), ties by smallest account id
    order = np.lexsort((on_cycle, -prank[on_cycle], memb[on_cycle]))
    cand = on_cycle[order]
    comp = memb[cand]
    first = np.ones(len(cand), dtype=bool)
    first[1:] = comp[1:] != comp[:-1]
    cut = cand[first]
    rows = []
    for child in cut.tolist():  # few cycles in practice; each walked once
        broken = int(parent[child])
        chain = [child]
        node = broken
        while node != child:
            chain.append(node)
            node = int(parent[node])
        # chain follows parents (child, its inviter, ...); invitation order is the reverse,
        # rotated to start at the child
        invitation = [child] + chain[:0:-1]
        rows.append((ids[child], ids[broken], " > ".join(str(ids[i]) for i in invitation)))
        parent[child] = -1
        ptime[child] = None
    return pd.DataFrame(
        {c: pd.Series([r[i] for r in rows], dtype=object) for i, c in enumerate(CYCLE_COLUMNS)}
    )


def all_cascades(forest: pd.DataFrame) -> pd.DataFrame:
    """Every cascade: ``root``, ``size`` (root included), ``depth``, ``direct_invites`` of the
    root; by size descending, ties by root id (:func:`largest_cascades` without the cut)."""
    return _cascades(forest)


def _cascades(forest: pd.DataFrame) -> pd.DataFrame:
    roots = forest[forest["referral_parent"].isna() & (forest["referral_descendants"] > 0)]
    depth = forest.groupby("referral_root", sort=True)["referral_depth"].max()
    out = pd.DataFrame(
        {
            "root": roots["account_id"].to_numpy(dtype=object),
            "size": roots["referral_descendants"].to_numpy(dtype=np.int64) + 1,
        }
    )
    out["depth"] = depth.reindex(out["root"]).to_numpy(dtype=np.int64) if len(out) else []
    out["direct_invites"] = roots["direct_invites"].to_numpy(dtype=np.int64)
    return out.sort_values(["size", "root"], ascending=[False, True]).reset_index(drop=True)


def referral_summary(
    forest: pd.DataFrame, *, cascades: pd.DataFrame | None = None
) -> dict[str, int]:
    """The ``referral`` summary the report shows.

    ``roots`` = accounts that are their own root and have at least one descendant (cascades);
    ``max_depth`` = largest ``referral_depth``; ``largest_cascade`` = size of the largest cascade,
    its root included (0 when there is none). ``cascades``: :func:`all_cascades` of ``forest``
    if already computed.

    Examples
    --------
    >>> inv = pd.DataFrame({"inviter_id": ["A", "B"], "invitee_id": ["B", "C"],
    ...                     "invited_at": [None, None]})
    >>> forest, _ = referral_forest(inv, np.array(["A", "B", "C", "D"], dtype=object))
    >>> referral_summary(forest)
    {'roots': 1, 'max_depth': 2, 'largest_cascade': 3}
    """
    casc = _cascades(forest) if cascades is None else cascades
    return {
        "roots": len(casc),
        "max_depth": int(forest["referral_depth"].max()) if len(forest) else 0,
        "largest_cascade": int(casc["size"].max()) if len(casc) else 0,
    }


def largest_cascades(forest: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest cascades: ``root``, ``size`` (root included), ``depth``,
    ``direct_invites`` of the root; by size descending, ties by root id.

    Examples
    --------
    >>> inv = pd.DataFrame({"inviter_id": ["A", "A", "X"], "invitee_id": ["B", "C", "Y"],
    ...                     "invited_at": [None, None, None]})
    >>> forest, _ = referral_forest(inv, np.array(["A", "B", "C", "X", "Y"], dtype=object))
    >>> largest_cascades(forest).values.tolist()
    [['A', 3, 1, 2], ['X', 2, 1, 1]]
    """
    return _cascades(forest).head(n).reset_index(drop=True)


def cascade_stats(
    forest: pd.DataFrame, *, cascades: pd.DataFrame | None = None
) -> dict[str, float | int]:
    """Statistics of the cascades (roots with at least one descendant).

    Returns a dict: ``cascades`` (count), ``accounts_in_cascades``, ``size_max``, ``size_mean``,
    ``size_median``, ``depth_max``, ``depth_mean`` (per cascade), ``branching_mean`` (mean number
    of children over accounts that have children), ``generation_gap_hours_median`` and
    ``generation_gap_hours_mean``: time from an account's own parent invite to the parent invite of
    each of its children (``None`` when no such pair has both timestamps). ``cascades``:
    :func:`all_cascades` of ``forest`` if already computed.

    Examples
    --------
    >>> inv = pd.DataFrame({"inviter_id": ["A", "B", "B"], "invitee_id": ["B", "C", "D"],
    ...                     "invited_at": ["2024-01-01T00:00:00", "2024-01-01T12:00:00",
    ...                                    "2024-01-02T00:00:00"]})
    >>> forest, _ = referral_forest(inv, np.array(["A", "B", "C", "D"], dtype=object))
    >>> s = cascade_stats(forest)
    >>> s["cascades"], s["size_max"], s["branching_mean"], s["generation_gap_hours_median"]
    (1, 4, 1.5, 18.0)
    """
    casc = _cascades(forest) if cascades is None else cascades
    has_parent = forest["referral_parent"].notna()
    children = forest.loc[has_parent, "referral_parent"].value_counts()
    stats: dict[str, float | int | None] = {
        "cascades": len(casc),
        "accounts_in_cascades": int(casc["size"].sum()) if len(casc) else 0,
        "size_max": int(casc["size"].max()) if len(casc) else 0,
        "size_mean": float(casc["size"].mean()) if len(casc) else 0.0,
        "size_median": float(casc["size"].median()) if len(casc) else 0.0,
        "depth_max": int(casc["depth"].max()) if len(casc) else 0,
        "depth_mean": float(casc["depth"].mean()) if len(casc) else 0.0,
        "branching_mean": float(children.mean()) if len(children) else 0.0,
    }
    if "referral_invited_at" not in forest.columns:  # e.g. account_metrics from a store
        stats["generation_gap_hours_median"] = stats["generation_gap_hours_mean"] = None
        return stats  # type: ignore[return-value]
    t = pd.to_datetime(forest["referral_invited_at"], format="%Y-%m-%dT%H:%M:%S", errors="coerce")
    t_by_id = pd.Series(t.to_numpy(), index=forest["account_id"].to_numpy())
    child_t = t[has_parent].to_numpy()
    parent_t = t_by_id.reindex(forest.loc[has_parent, "referral_parent"].to_numpy()).to_numpy()
    gap = (child_t - parent_t) / np.timedelta64(1, "h")
    gap = gap[~np.isnan(gap)]
    stats["generation_gap_hours_median"] = float(np.median(gap)) if len(gap) else None
    stats["generation_gap_hours_mean"] = float(np.mean(gap)) if len(gap) else None
    return stats  # type: ignore[return-value]


def referral_chain(forest: pd.DataFrame, account_id: str) -> pd.DataFrame:
    """The chain from ``account_id`` up to its root: ``account_id``, ``referral_parent``,
    ``referral_depth``, ``referral_invited_at``, starting with the account itself.

    Raises
    ------
    KeyError
        If ``account_id`` is not in ``forest``.

    Examples
    --------
    >>> inv = pd.DataFrame({"inviter_id": ["A", "B"], "invitee_id": ["B", "C"],
    ...                     "invited_at": [None, None]})
    >>> forest, _ = referral_forest(inv, np.array(["A", "B", "C"], dtype=object))
    >>> referral_chain(forest, "C")["account_id"].tolist()
    ['C', 'B', 'A']
    """
    by_id = forest.set_index("account_id", drop=False)
    if account_id not in by_id.index:
        raise KeyError(account_id)
    rows = [by_id.loc[account_id]]
    while not pd.isna(rows[-1]["referral_parent"]) and len(rows) <= len(forest):
        rows.append(by_id.loc[rows[-1]["referral_parent"]])
    cols = ["account_id", "referral_parent", "referral_depth", "referral_invited_at"]
    out = pd.DataFrame(rows)[[c for c in cols if c in forest.columns]]
    return out.reset_index(drop=True)


def referral_subtree(
    forest: pd.DataFrame, account_id: str, *, max_nodes: int = 500
) -> pd.DataFrame:
    """The tree below ``account_id`` in breadth-first order, at most ``max_nodes`` rows.

    Columns ``account_id``, ``referral_parent``, ``level`` (0 = the account itself),
    ``referral_descendants``. Within a level rows are sorted by account id; the result is cut
    at ``max_nodes`` rows (check ``len`` against ``referral_descendants + 1`` of the first row).

    Examples
    --------
    >>> inv = pd.DataFrame({"inviter_id": ["A", "A", "B"], "invitee_id": ["B", "C", "D"],
    ...                     "invited_at": [None, None, None]})
    >>> forest, _ = referral_forest(inv, np.array(["A", "B", "C", "D"], dtype=object))
    >>> referral_subtree(forest, "A")[["account_id", "level"]].values.tolist()
    [['A', 0], ['B', 1], ['C', 1], ['D', 2]]
    """
    cols = ["account_id", "referral_parent", "referral_descendants"]
    start = forest.loc[forest["account_id"] == account_id, cols]
    if start.empty:
        raise KeyError(account_id)
    parts = [start.assign(level=0)]
    total = 1
    frontier = start["account_id"].to_numpy()
    level = 0
    has_parent = forest[forest["referral_parent"].notna()]
    while len(frontier) and total < max_nodes:
        level += 1
        nxt = has_parent.loc[has_parent["referral_parent"].isin(frontier), cols]
        nxt = nxt.sort_values("account_id").head(max_nodes - total)
        if nxt.empty:
            break
        parts.append(nxt.assign(level=level))
        total += len(nxt)
        frontier = nxt["account_id"].to_numpy()
    out = pd.concat(parts, ignore_index=True)
    return out[["account_id", "referral_parent", "level", "referral_descendants"]]
