"""Credit flows: balances per account, flows between roles and communities, payment tracing.

Definitions
-----------
* ``credits_in`` / ``credits_out``: sums of ``credits`` over transactions to / from the account
  (a missing ``credits`` value counts 0); ``referral_rewards``: credits_in of kind
  ``referral_reward``; ``purchases``: credits_out of kind ``purchase`` (credits spent);
  ``net_credits`` = credits_in - credits_out.
* **Role** of an account (one per account, first that applies): ``bot`` (``accounts.is_bot``),
  ``operator`` (owner of a room by membership role or ``channels.creator_id``), ``admin`` (admin
  of a room), ``member``.
* Flows between groups (roles, communities) are sums of credits and counts of transactions from
  the payer's group to the payee's group — Sankey-ready ``source``/``target``/``credits`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphintel.analytics.graph import IdCodes, _dedup_objects, encode
from graphintel.errors import AnalyticsError

__all__ = [
    "ROLES",
    "account_credits",
    "account_roles",
    "credits_over_time",
    "flows_between",
    "role_flows",
    "source_key",
    "source_lists",
    "top_earners",
    "trace_payments",
]

ROLES = ("operator", "admin", "member", "bot")
CREDIT_COLUMNS = (
    "account_id",
    "credits_in",
    "credits_out",
    "referral_rewards",
    "purchases",
    "net_credits",
)


def account_credits(
    transactions: pd.DataFrame, account_ids: np.ndarray, *, codes: IdCodes | None = None
) -> pd.DataFrame:
    """Credits in/out, referral rewards, purchases and net balance of every account.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Prepared ``transactions`` table.
    account_ids : numpy.ndarray
        Sorted unique account ids; the result has one row per id, in this order.
    codes : IdCodes, optional
        Precomputed id codes of the prepared tables ``transactions`` comes from.

    Returns
    -------
    pandas.DataFrame
        Columns ``account_id, credits_in, credits_out, referral_rewards, purchases, net_credits``.

    Examples
    --------
    >>> tx = pd.DataFrame({"from_id": ["A", "B", "A"], "to_id": ["B", "A", "C"],
    ...                    "credits": [10.0, 3.0, 2.5],
    ...                    "kind": ["purchase", "referral_reward", "transfer"]})
    >>> account_credits(tx, np.array(["A", "B", "C"], dtype=object)).values.tolist()
    [['A', 3.0, 12.5, 3.0, 10.0, -9.5], ['B', 10.0, 3.0, 0.0, 0.0, 7.0], ['C', 2.5, 0.0, 0.0, 0.0, 2.5]]
    """
    n = len(account_ids)
    if codes is not None:
        src, dst = codes("transactions", "from_id"), codes("transactions", "to_id")
    else:
        src = encode(transactions["from_id"], account_ids)
        dst = encode(transactions["to_id"], account_ids)
    credits = pd.to_numeric(transactions["credits"], errors="coerce").fillna(0.0).to_numpy(float)
    kind = transactions["kind"].to_numpy(dtype=object)

    def total(codes: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        ok = codes >= 0 if mask is None else (codes >= 0) & mask
        return np.bincount(codes[ok], weights=credits[ok], minlength=n).astype(np.float64)

    cin = total(dst)
    cout = total(src)
    out = pd.DataFrame(
        {
            "account_id": pd.Series(account_ids, dtype=object),
            "credits_in": cin,
            "credits_out": cout,
            "referral_rewards": total(dst, kind == "referral_reward"),
            "purchases": total(src, kind == "purchase"),
            "net_credits": cin - cout,
        },
        columns=list(CREDIT_COLUMNS),
    )
    return out


def account_roles(
    tables: Mapping[str, pd.DataFrame], account_ids: np.ndarray, *, codes: IdCodes | None = None
) -> pd.Series:
    """The role of every account (see module notes), indexed by account id; ``codes`` are the
    tables' id codes on ``account_ids`` when already computed.

    Examples
    --------
    >>> from graphintel.analytics.graph import prepare_tables
    >>> t = prepare_tables({
    ...     "accounts": pd.DataFrame({"account_id": ["A", "B", "C", "D"],
    ...                               "is_bot": [False, False, False, True]}),
    ...     "memberships": pd.DataFrame({"account_id": ["A", "B", "C"], "channel_id": ["X"] * 3,
    ...                                  "role": ["owner", "admin", "member"]})})
    >>> account_roles(t, np.array(["A", "B", "C", "D"], dtype=object)).tolist()
    ['operator', 'admin', 'member', 'bot']
    """
    n = len(account_ids)
    role = np.full(n, "member", dtype=object)
    m = tables["memberships"]
    a = tables["accounts"]
    is_bot = a["is_bot"].astype(bool).to_numpy(dtype=bool)
    if codes is not None:
        acc = codes("memberships", "account_id")
        creators = codes("channels", "creator_id")
        bots = codes("accounts", "account_id")[is_bot]
    else:
        acc = encode(m["account_id"], account_ids)
        creators = encode(tables["channels"]["creator_id"], account_ids)
        bots = encode(a.loc[is_bot, "account_id"], account_ids)
    r = m["role"].to_numpy(dtype=object)
    admins = acc[(acc >= 0) & (r == "admin")]
    role[admins] = "admin"
    owners = np.concatenate([acc[(acc >= 0) & (r == "owner")], creators])
    role[owners[owners >= 0]] = "operator"
    role[bots[bots >= 0]] = "bot"
    return pd.Series(
        role, index=pd.Index(account_ids, name="account_id"), name="role", dtype=object
    )


_SEP = "\x1f"
_LIST_TYPES = {np.ndarray, list, type(None)}


def source_key(values: pd.Series) -> np.ndarray:
    """One string per row for its source list (``\\x1f``-joined, in stored order; ``''`` when
    missing): rows with equal keys have equal ``source_ids``.

    The stores' lists (arrays of str) go to Arrow in one C++ conversion; a column holding
    anything else (e.g. a bare string) takes the per-row path, which treats it as no source.
    Rows with equal keys share one ``str`` object (few distinct lists).

    Examples
    --------
    >>> [k.split("\\x1f") for k in source_key(pd.Series([np.array(["S1", "S2"]), None]))]
    [['S1', 'S2'], ['']]
    """
    if len(values) == 0:
        return np.array([], dtype=object)
    obj = values.to_numpy(dtype=object)
    arr = None
    if set(map(type, obj)) <= _LIST_TYPES:
        try:
            arr = pa.array(obj, type=pa.list_(pa.string()), from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            arr = None
    if arr is None:
        arr = pa.array(
            [v if isinstance(v, (list, np.ndarray)) else [] for v in obj],
            type=pa.list_(pa.string()),
        )
    joined = pc.binary_join(arr, _SEP)
    if arr.null_count:  # a missing list is no source
        joined = pc.if_else(arr.is_null(), "", joined)
    return _dedup_objects(joined, empty_is_missing=False)


def source_lists(keys: pd.Series) -> list[list[str]]:
    """The source lists back from :func:`source_key` keys."""
    return [k.split(_SEP) if k else [] for k in keys]


def _group_of(ids: pd.Series, lab: pd.Series, positions: np.ndarray | None) -> np.ndarray:
    """Label of each id (``unknown`` when it has none); ``positions`` = index of each id in
    ``lab.index`` (``-1`` if absent), when already known."""
    if positions is None:
        return ids.map(lab).fillna("unknown").astype(object).to_numpy()
    labels = np.append(lab.to_numpy(dtype=object), "unknown")
    out = labels[np.where(positions >= 0, positions, len(labels) - 1)]
    return np.where(pd.isna(out), "unknown", out).astype(object)


def _grouped_flows(
    tx: pd.DataFrame,
    lab: pd.Series,
    credits: np.ndarray,
    source_keys: np.ndarray | None,
    positions: tuple[np.ndarray, np.ndarray] | None,
) -> pd.DataFrame:
    """Sums and counts per (payer group, payee group[, source key]), grouped on integer codes
    whose order is that of the labels (so rows and float sums equal grouping the labels)."""
    if positions is None:
        positions = (
            lab.index.get_indexer(pd.Index(tx["from_id"])),
            lab.index.get_indexer(pd.Index(tx["to_id"])),
        )
    labels = np.append(lab.to_numpy(dtype=object), "unknown")
    labels = np.where(pd.isna(labels), "unknown", labels).astype(object)
    vocab, label_code = np.unique(labels, return_inverse=True)
    last = len(labels) - 1

    def code_of(pos: np.ndarray) -> np.ndarray:
        return label_code[np.where(pos >= 0, pos, last)]

    frame = pd.DataFrame(
        {"source": code_of(positions[0]), "target": code_of(positions[1]), "credits": credits}
    )
    keys = ["source", "target"]
    sk_vocab = None
    if source_keys is not None:
        sk_code, sk_vocab = pd.factorize(np.asarray(source_keys, dtype=object), sort=True)
        frame["_sk"] = sk_code
        keys.append("_sk")
    out = frame.groupby(keys, sort=True).agg(
        credits=("credits", "sum"), transactions=("credits", "size")
    )
    out = out.reset_index()
    out["source"] = vocab[out["source"].to_numpy()]
    out["target"] = vocab[out["target"].to_numpy()]
    if sk_vocab is not None:
        out["_sk"] = np.asarray(sk_vocab, dtype=object)[out["_sk"].to_numpy()]
    return out


def flows_between(
    transactions: pd.DataFrame,
    groups: pd.Series,
    *,
    kinds: list[str] | None = None,
    by_source: bool = False,
    source_keys: np.ndarray | None = None,
    positions: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Credits flowing between groups of accounts (Sankey-ready): the one implementation of
    group-to-group flows (role flows, community flows; :mod:`graphintel.analytics.derived`
    persists them per source list with ``by_source=True``).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Prepared ``transactions``.
    groups : pandas.Series
        Group label per account id (index = account id). Accounts not in it are ``"unknown"``.
    kinds : list of str, optional
        Only these transaction kinds.
    by_source : bool
        One row per group pair *and* distinct ``source_ids`` list of the transactions summed
        (column ``source_ids``), so that summing the rows whose sources overlap a case scope
        gives the exact scoped flow.
    source_keys : numpy.ndarray, optional
        :func:`source_key` of ``transactions["source_ids"]``, when already computed (with
        ``by_source``).
    positions : tuple of numpy.ndarray, optional
        Position of each payer and payee in ``groups.index`` (``-1`` if absent), when already
        known (saves hashing the ids again; ignored when ``groups.index`` is not unique).

    Returns
    -------
    pandas.DataFrame
        ``source``, ``target`` (group labels as str), ``credits``, ``transactions`` (and
        ``source_ids`` with ``by_source``); sorted by credits descending, then source, target.

    Examples
    --------
    >>> tx = pd.DataFrame({"from_id": ["A", "B", "A"], "to_id": ["B", "C", "C"],
    ...                    "credits": [10.0, 3.0, 2.0], "kind": ["purchase"] * 3,
    ...                    "source_ids": [["S1"], ["S1"], ["S2"]]})
    >>> g = pd.Series({"A": "member", "B": "operator", "C": "operator"})
    >>> flows_between(tx, g).values.tolist()
    [['member', 'operator', 12.0, 2], ['operator', 'operator', 3.0, 1]]
    >>> flows_between(tx, g, by_source=True).values.tolist()
    [['member', 'operator', 10.0, 1, ['S1']], ['operator', 'operator', 3.0, 1, ['S1']], ['member', 'operator', 2.0, 1, ['S2']]]
    """
    tx = transactions
    if kinds is not None:
        keep = tx["kind"].isin(list(kinds)).to_numpy(dtype=bool)
        tx = tx[keep]
        if source_keys is not None:
            source_keys = source_keys[keep]
        if positions is not None:
            positions = (positions[0][keep], positions[1][keep])
    lab = groups.astype(str)
    credits = pd.to_numeric(tx["credits"], errors="coerce").fillna(0.0).to_numpy(float)
    if by_source and source_keys is None:
        source_keys = source_key(tx.get("source_ids", pd.Series([None] * len(tx))))
    if not lab.index.is_unique:  # labels looked up by value (the first of a repeated id)
        frame = pd.DataFrame(
            {
                "source": _group_of(tx["from_id"], lab, None),
                "target": _group_of(tx["to_id"], lab, None),
                "credits": credits,
            }
        )
        keys = ["source", "target"]
        if by_source:
            frame["_sk"] = source_keys
            keys.append("_sk")
        out = frame.groupby(keys, sort=True).agg(
            credits=("credits", "sum"), transactions=("credits", "size")
        )
        out = out.reset_index()
    else:
        out = _grouped_flows(tx, lab, credits, source_keys if by_source else None, positions)
    out["transactions"] = out["transactions"].astype(np.int64)
    if by_source:
        out["source_ids"] = source_lists(out.pop("_sk"))
    out = out.sort_values(["credits", "source", "target"], ascending=[False, True, True])
    return out.reset_index(drop=True).astype({"source": object, "target": object})


def role_flows(tables: Mapping[str, pd.DataFrame], account_ids: np.ndarray) -> pd.DataFrame:
    """Credits between roles (operator, admin, member, bot); see :func:`flows_between`."""
    return flows_between(tables["transactions"], account_roles(tables, account_ids))


def trace_payments(
    transactions: pd.DataFrame,
    account_id: str,
    *,
    direction: str = "forward",
    hops: int = 2,
    start: str | None = None,
    end: str | None = None,
    max_edges: int = 10_000,
) -> pd.DataFrame:
    """Payments reachable from ``account_id`` within ``hops`` hops and a time window.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Prepared ``transactions``.
    account_id : str
        Where to start.
    direction : {"forward", "backward"}
        ``forward`` follows the money (payer → payee); ``backward`` goes to who paid.
    hops : int
        Maximum number of hops (≥ 1).
    start, end : str, optional
        Inclusive ISO timestamp bounds on ``ts`` (transactions without ``ts`` are excluded when
        a bound is given).
    max_edges : int
        Stop adding hops once this many transactions were collected (the result is cut there).

    Returns
    -------
    pandas.DataFrame
        The transaction rows reached with a ``hop`` column (1 = touching ``account_id``), each
        transaction once, at its first hop.

    Raises
    ------
    AnalyticsError
        If ``direction`` or ``hops`` is invalid.

    Examples
    --------
    >>> tx = pd.DataFrame({"txn_id": ["T1", "T2", "T3"], "from_id": ["A", "B", "C"],
    ...                    "to_id": ["B", "C", "D"], "credits": [1.0, 1.0, 1.0],
    ...                    "ts": ["2024-01-01T00:00:00", "2024-01-02T00:00:00",
    ...                           "2024-02-01T00:00:00"]})
    >>> trace_payments(tx, "A", hops=3, end="2024-01-31T23:59:59")[["txn_id", "hop"]].values.tolist()
    [['T1', 1], ['T2', 2]]
    """
    if direction not in ("forward", "backward"):
        raise AnalyticsError(f"direction must be 'forward' or 'backward', got {direction!r}")
    if not isinstance(hops, int) or hops < 1:
        raise AnalyticsError(f"hops must be a whole number ≥ 1, got {hops!r}")
    tx = transactions
    if start is not None:
        tx = tx[tx["ts"].notna() & (tx["ts"] >= start)]
    if end is not None:
        tx = tx[tx["ts"].notna() & (tx["ts"] <= end)]
    near, far = ("from_id", "to_id") if direction == "forward" else ("to_id", "from_id")
    seen_nodes = {account_id}
    frontier = [account_id]
    taken = np.zeros(len(tx), dtype=bool)
    hop_of = np.zeros(len(tx), dtype=np.int64)
    near_v = tx[near]
    far_v = tx[far]
    for hop in range(1, hops + 1):
        hit = near_v.isin(frontier).to_numpy() & ~taken
        if not hit.any():
            break
        taken |= hit
        hop_of[hit] = hop
        if taken.sum() >= max_edges:
            break
        nxt = set(far_v[hit].dropna().tolist()) - seen_nodes
        seen_nodes |= nxt
        frontier = sorted(nxt)
    out = tx[taken].assign(hop=hop_of[taken])
    out = out.sort_values(["hop", "ts", "txn_id"], na_position="last").head(max_edges)
    return out.reset_index(drop=True)


def top_earners(
    account_metrics: pd.DataFrame, n: int = 20, *, by: str = "credits_in"
) -> pd.DataFrame:
    """The ``n`` accounts with the largest ``by`` (ties by account id).

    Examples
    --------
    >>> m = pd.DataFrame({"account_id": ["A", "B", "C"], "credits_in": [5.0, 9.0, 5.0]})
    >>> top_earners(m, 2)["account_id"].tolist()
    ['B', 'A']
    """
    return (
        account_metrics.sort_values([by, "account_id"], ascending=[False, True])
        .head(n)
        .reset_index(drop=True)
    )


def credits_over_time(
    transactions: pd.DataFrame, *, freq: str = "day", by: str | None = "kind"
) -> pd.DataFrame:
    """Credits and transaction counts per period (and per ``by`` column).

    Parameters
    ----------
    freq : {"day", "week", "month"}
        Period length; weeks start on Monday. Transactions without ``ts`` are left out.
    by : str or None
        Column to split by (``"kind"``, ``"channel_id"``...), or None.

    Returns
    -------
    pandas.DataFrame
        ``period`` (ISO date of the period start, str), ``by`` column if given, ``credits``,
        ``transactions``; sorted by period.

    Examples
    --------
    >>> tx = pd.DataFrame({"credits": [1.0, 2.0, 4.0], "kind": ["purchase"] * 3,
    ...                    "ts": ["2024-01-01T10:00:00", "2024-01-03T00:00:00",
    ...                           "2024-02-01T00:00:00"]})
    >>> credits_over_time(tx, freq="month").values.tolist()
    [['2024-01-01', 'purchase', 3.0, 2], ['2024-02-01', 'purchase', 4.0, 1]]
    """
    if freq not in ("day", "week", "month"):
        raise AnalyticsError(f"freq must be 'day', 'week' or 'month', got {freq!r}")
    t = pd.to_datetime(transactions["ts"], format="%Y-%m-%dT%H:%M:%S", errors="coerce")
    ok = t.notna().to_numpy()
    t = t[ok].dt.normalize()
    if freq == "week":
        t = t - pd.to_timedelta(t.dt.day_of_week, unit="D")
    elif freq == "month":
        t = t - pd.to_timedelta(t.dt.day - 1, unit="D")
    frame = pd.DataFrame(
        {
            "period": t.dt.strftime("%Y-%m-%d").astype(object).to_numpy(),
            "credits": pd.to_numeric(transactions["credits"][ok], errors="coerce")
            .fillna(0.0)
            .to_numpy(float),
        }
    )
    keys = ["period"]
    if by is not None:
        frame[by] = transactions[by][ok].fillna("unknown").astype(object).to_numpy()
        keys.append(by)
    out = frame.groupby(keys, sort=True).agg(
        credits=("credits", "sum"), transactions=("credits", "size")
    )
    out = out.reset_index()
    out["transactions"] = out["transactions"].astype(np.int64)
    return out
