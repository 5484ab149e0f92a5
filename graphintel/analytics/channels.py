"""The channel network: rooms, their size and staff, and how rooms are linked.

* ``members`` of a channel: distinct accounts with a membership record (any role, including
  those that left); ``admins``: distinct members with role ``admin`` or ``owner``.
* Channel links (undirected, ``channel_a < channel_b``): ``forwards`` = forward records between
  the two rooms in either direction; ``shared_members`` = accounts that are members of both;
  ``jaccard`` = shared / (members_a + members_b - shared). A pair appears when either count is
  positive. The community of each room is that of the ecosystem graph (``channel_metrics``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphintel.analytics.graph import IdCodes, encode

__all__ = ["LINK_COLUMNS", "channel_links", "channel_members", "channel_neighbours"]

LINK_COLUMNS = ("channel_a", "channel_b", "forwards", "shared_members", "jaccard")


def _membership_codes(
    memberships: pd.DataFrame, channel_ids: np.ndarray, codes: IdCodes | None
) -> tuple[np.ndarray, np.ndarray]:
    """(account codes, channel codes) of the membership rows; any injective account coding
    does, since only distinct pairs are counted."""
    if codes is not None:
        return codes("memberships", "account_id"), codes("memberships", "channel_id")
    acc_codes, _ = pd.factorize(memberships["account_id"])
    return acc_codes.astype(np.int64), encode(memberships["channel_id"], channel_ids)


def channel_members(
    memberships: pd.DataFrame, channel_ids: np.ndarray, *, codes: IdCodes | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct members and admins (role admin/owner) of every channel, in ``channel_ids`` order.

    ``codes`` (optional): precomputed id codes of the prepared tables ``memberships`` comes from.

    Examples
    --------
    >>> m = pd.DataFrame({"account_id": ["A", "B", "B", "C"], "channel_id": ["X", "X", "X", "Y"],
    ...                   "role": ["owner", "member", "admin", None]})
    >>> [a.tolist() for a in channel_members(m, np.array(["X", "Y", "Z"], dtype=object))]
    [[2, 1, 0], [2, 0, 0]]
    """
    n = len(channel_ids)
    acc_codes, chan = _membership_codes(memberships, channel_ids, codes)
    ok = (chan >= 0) & (acc_codes >= 0)
    na = int(acc_codes.max()) + 1 if len(acc_codes) else 1
    pairs = np.unique(chan[ok] * np.int64(na) + acc_codes[ok])
    members = np.bincount(pairs // na, minlength=n).astype(np.int64)
    role = memberships["role"] if "role" in memberships.columns else pd.Series([None] * len(chan))
    staff = ok & role.isin(["admin", "owner"]).to_numpy()
    spairs = np.unique(chan[staff] * np.int64(na) + acc_codes[staff])
    admins = np.bincount(spairs // na, minlength=n).astype(np.int64)
    return members, admins


def channel_links(
    memberships: pd.DataFrame,
    forwards: pd.DataFrame,
    channel_ids: np.ndarray,
    *,
    codes: IdCodes | None = None,
    members: np.ndarray | None = None,
) -> pd.DataFrame:
    """Channel–channel links from forwards and shared members.

    Parameters
    ----------
    memberships, forwards : pandas.DataFrame
        Prepared tables.
    channel_ids : numpy.ndarray
        Sorted unique channel ids.
    codes : IdCodes, optional
        Precomputed id codes of the prepared tables these come from.
    members : numpy.ndarray, optional
        :func:`channel_members` counts, if already computed.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LINK_COLUMNS`, sorted by ``channel_a``, ``channel_b``.

    Notes
    -----
    Shared members come from a self-join of memberships on the account: cost Σ r_a² over accounts
    (r_a = rooms of account a), fine for chat ecosystems where accounts sit in a few rooms.

    Examples
    --------
    >>> m = pd.DataFrame({"account_id": ["A", "B", "C", "B", "C", "D"],
    ...                   "channel_id": ["X", "X", "X", "Y", "Y", "Y"]})
    >>> f = pd.DataFrame({"from_channel_id": ["X", "Y", "Z"], "to_channel_id": ["Y", "X", "X"]})
    >>> channel_links(m, f, np.array(["X", "Y", "Z"], dtype=object)).values.tolist()
    [['X', 'Y', 2, 2, 0.5], ['X', 'Z', 1, 0, 0.0]]
    """
    n = len(channel_ids)
    if members is None:
        members, _ = channel_members(memberships, channel_ids, codes=codes)
    # shared members: distinct (account, channel) pairs self-joined on account
    acc_codes, chan = _membership_codes(memberships, channel_ids, codes)
    ok = (chan >= 0) & (acc_codes >= 0)
    na = int(acc_codes.max()) + 1 if len(acc_codes) else 1
    pairs = np.unique(acc_codes[ok].astype(np.int64) * np.int64(max(n, 1)) + chan[ok])
    pa = pd.DataFrame({"a": pairs // max(n, 1), "c": pairs % max(n, 1)})
    rooms = np.bincount(pa["a"].to_numpy(), minlength=na) if len(pa) else np.zeros(0, np.int64)
    pa = pa[rooms[pa["a"].to_numpy()] > 1] if len(pa) else pa
    joined = pa.merge(pa, on="a", suffixes=("_1", "_2"))
    joined = joined[joined["c_1"] < joined["c_2"]]
    big = np.int64(max(n, 1))
    skey = joined["c_1"].to_numpy(np.int64) * big + joined["c_2"].to_numpy(np.int64)
    s_uniq, s_count = np.unique(skey, return_counts=True)
    # forwards, undirected
    if codes is not None:
        f1, f2 = codes("forwards", "from_channel_id"), codes("forwards", "to_channel_id")
    else:
        f1 = encode(forwards["from_channel_id"], channel_ids)
        f2 = encode(forwards["to_channel_id"], channel_ids)
    okf = (f1 >= 0) & (f2 >= 0) & (f1 != f2)
    lo, hi = np.minimum(f1[okf], f2[okf]), np.maximum(f1[okf], f2[okf])
    f_uniq, f_count = np.unique(lo * big + hi, return_counts=True)
    keys = np.union1d(s_uniq, f_uniq)
    shared = np.zeros(len(keys), dtype=np.int64)
    shared[np.searchsorted(keys, s_uniq)] = s_count
    fwd = np.zeros(len(keys), dtype=np.int64)
    fwd[np.searchsorted(keys, f_uniq)] = f_count
    a, b = keys // big, keys % big
    union = members[a] + members[b] - shared
    jac = np.divide(shared, union, out=np.zeros(len(keys)), where=union > 0)
    return pd.DataFrame(
        {
            "channel_a": pd.Series(channel_ids[a], dtype=object),
            "channel_b": pd.Series(channel_ids[b], dtype=object),
            "forwards": fwd,
            "shared_members": shared,
            "jaccard": jac.astype(np.float64),
        },
        columns=list(LINK_COLUMNS),
    )


def channel_neighbours(links: pd.DataFrame, channel_id: str, *, n: int = 20) -> pd.DataFrame:
    """The rooms most linked to ``channel_id``: ``channel_id``, ``forwards``,
    ``shared_members``, ``jaccard``; by jaccard then forwards, descending.

    Examples
    --------
    >>> links = pd.DataFrame({"channel_a": ["X", "X"], "channel_b": ["Y", "Z"],
    ...                       "forwards": [2, 1], "shared_members": [2, 0], "jaccard": [0.5, 0.0]})
    >>> channel_neighbours(links, "Z")["channel_id"].tolist()
    ['X']
    """
    a = links[links["channel_a"] == channel_id].rename(columns={"channel_b": "channel_id"})
    b = links[links["channel_b"] == channel_id].rename(columns={"channel_a": "channel_id"})
    cols = ["channel_id", "forwards", "shared_members", "jaccard"]
    out = pd.concat([a[cols], b[cols]], ignore_index=True)
    out = out.sort_values(["jaccard", "forwards", "channel_id"], ascending=[False, False, True])
    return out.head(n).reset_index(drop=True)
