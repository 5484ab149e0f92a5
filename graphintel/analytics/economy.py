"""The invitation-credit economy: invite ↔ reward reconciliation, proceeds, payer breadth and
room activity.

Definitions (exact, so results can be checked)
----------------------------------------------
* **Reconciliation** matches every ``referral_reward`` transaction to the invite it pays for.
  Rewards are taken in ``(ts, txn_id)`` order; each takes the **earliest still-unmatched invite**
  whose inviter is the rewarded account (``to_id``), with ``invited_at ≤ ts``, in the same
  channel when both name one (an invite or reward without ``channel_id`` is compatible with any
  channel). Self-invites never count; identical duplicate invites (same inviter, invitee,
  channel and time) count once. "Earliest" orders invites by ``invited_at``, then
  ``invitee_id``, then ``channel_id``. A missing time counts as later than every time (as in the
  referral forest): an undated reward can take any invite, an undated invite only an undated
  reward. One row per reward (``matched`` or ``reward_without_invite``) and one per invite no
  reward took (``invite_without_reward``); see :data:`RECONCILIATION_COLUMNS`.
* ``rewards_matched`` / ``rewards_unmatched``: rewards an account received that matched an
  invite / matched none.
* ``proceeds_krw``: over ``purchase`` transactions an account **received**, the sum of
  ``amount_krw`` where given, else ``credits × won_per_credit`` (default 2,650 won a credit).
  Per room: the same over purchases naming the room.
* ``distinct_payers`` / ``distinct_payees``: distinct counterparties over all transactions
  received / sent (payments to oneself excluded).
* ``buyers`` (a priority component): distinct accounts that paid the account in ``purchase``
  transactions or transactions of no stated kind (a payments-only source often states none).
* **Room activity** per day: dated records naming the room — memberships (``joined_at``),
  invites (``invited_at``), transactions (``ts``), content (``posted_at``) and forwards out of the
  room (``ts``).

A reconciliation status is a lead to check, never a finding: a reward without an invite points at
an invite not (yet) in the evidence, an invite without a reward at a reward not collected or not
paid.

Everything is vectorised (sort + per-group prefix minima); only inviters whose records mix
rewards or invites without a channel with channel-named ones on both sides need a short exact
walk of their own records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from graphintel.analytics.graph import IdCodes, encode
from graphintel.analytics.referral import _time_rank
from graphintel.model import (
    RECONCILIATION_COLUMNS,
    ROOM_ACTIVITY_COLUMNS,
    ROOM_ECONOMY_COLUMNS,
)

__all__ = [
    "COMPARE_STATUSES",
    "DEFAULT_WON_PER_CREDIT",
    "RECONCILIATION_COLUMNS",
    "RECONCILIATION_STATUSES",
    "ROOM_ACTIVITY_COLUMNS",
    "ROOM_ECONOMY_COLUMNS",
    "account_economy",
    "before_after",
    "before_after_moves",
    "buyer_pairs",
    "compare_window",
    "reconcile_rewards",
    "room_activity",
    "room_changes",
    "room_economy",
    "room_joins",
    "room_moves",
]

DEFAULT_WON_PER_CREDIT = 2650.0
RECONCILIATION_STATUSES = ("matched", "reward_without_invite", "invite_without_reward")
_INV_COLS = ["inviter_id", "invitee_id", "channel_id", "invited_at"]


def _obj(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object), dtype=object)


def _str_rank(values: np.ndarray) -> np.ndarray:
    """Dense rank of str values, missing last."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), sort=True)
    codes = codes.astype(np.int64)
    codes[codes < 0] = len(uniques)
    return codes


def reconcile_rewards(
    invites: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    codes: IdCodes | None = None,
) -> pd.DataFrame:
    """Match every referral reward to the invite it pays for (module notes, exact).

    Parameters
    ----------
    invites : pandas.DataFrame
        Prepared ``invites`` (``inviter_id``, ``invitee_id``, ``channel_id``, ``invited_at``).
    transactions : pandas.DataFrame
        Prepared ``transactions`` (``txn_id``, ``to_id``, ``credits``, ``kind``, ``ts``,
        ``channel_id``).
    codes : IdCodes, optional
        Precomputed id codes of the prepared tables these come from (sorted universes, so code
        order is id order); ids are factorised here when not given.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RECONCILIATION_COLUMNS`: rewards first in ``(ts, txn_id)`` order, then the
        invites no reward took, by inviter, time, invitee and channel. ``channel_id`` is the
        invite's channel, else the reward's; cells of a missing side are empty (``None``;
        ``credits`` NaN).

    Notes
    -----
    Within an inviter (or an inviter and channel, when both sides always name one) the invites
    eligible for a reward grow with its time, and each reward takes the earliest unmatched one,
    so the matched invites always form a prefix of the time order: with ``P_j`` the number of
    invites no later than reward ``j`` and ``m_j`` the number matched before it,
    ``m_{j+1} = min(m_j + 1, P_j)``, i.e. ``m_j = min(j, j - 1 + min_{i<j}(P_i - i))`` — a
    grouped prefix minimum. O((rewards + invites) log) overall; the inviters that mix records
    with and without a channel on both sides are walked exactly, reward by reward.

    Examples
    --------
    >>> inv = pd.DataFrame({"inviter_id": ["A", "A"], "invitee_id": ["B", "C"],
    ...                     "channel_id": ["X", "X"],
    ...                     "invited_at": ["2024-01-01T00:00:00", "2024-01-02T00:00:00"]})
    >>> tx = pd.DataFrame({"txn_id": ["T1", "T2"], "from_id": ["bot", "bot"], "to_id": ["A", "A"],
    ...                    "credits": [1.0, 1.0], "kind": ["referral_reward"] * 2,
    ...                    "ts": ["2023-12-31T00:00:00", "2024-01-03T00:00:00"],
    ...                    "channel_id": ["X", "X"]})
    >>> reconcile_rewards(inv, tx)[["txn_id", "invitee_id", "status"]].values.tolist()
    [['T1', None, 'reward_without_invite'], ['T2', 'B', 'matched'], [None, 'C', 'invite_without_reward']]
    """
    inv = invites.reindex(columns=_INV_COLS)
    tx = transactions.reindex(columns=["txn_id", "to_id", "credits", "kind", "ts", "channel_id"])
    if codes is not None:
        a_inv, b_inv = codes("invites", "inviter_id"), codes("invites", "invitee_id")
        ch_inv, to = codes("invites", "channel_id"), codes("transactions", "to_id")
        ch_tx = codes("transactions", "channel_id")
    else:  # sorted factorisation: code order = id order, as with the universes' codes
        acc, _ = pd.factorize(
            pd.concat([inv["inviter_id"], inv["invitee_id"], tx["to_id"]], ignore_index=True),
            sort=True,
        )
        ch, _ = pd.factorize(
            pd.concat([inv["channel_id"], tx["channel_id"]], ignore_index=True), sort=True
        )
        k = len(inv)
        a_inv, b_inv, to = acc[:k], acc[k : 2 * k], acc[2 * k :]
        ch_inv, ch_tx = ch[:k], ch[k:]
    a_inv, b_inv, to = (np.asarray(x, dtype=np.int64) for x in (a_inv, b_inv, to))
    ch_inv, ch_tx = np.asarray(ch_inv, dtype=np.int64), np.asarray(ch_tx, dtype=np.int64)

    is_rw = (tx["kind"].to_numpy(dtype=object) == "referral_reward") & (to >= 0)
    rw_rows = np.flatnonzero(is_rw)
    times = _time_rank(pd.concat([inv["invited_at"], tx["ts"].iloc[rw_rows]], ignore_index=True))
    t_inv_all = times[: len(inv)]
    ok = (a_inv >= 0) & (b_inv >= 0) & (a_inv != b_inv)
    # identical duplicates once (first kept)
    dup = (
        pd.DataFrame({"a": a_inv, "b": b_inv, "c": ch_inv, "t": t_inv_all}).duplicated().to_numpy()
    )
    inv_rows = np.flatnonzero(ok & ~dup)
    inv = inv.iloc[inv_rows].reset_index(drop=True)
    rw = tx.iloc[rw_rows].reset_index(drop=True)
    ni, nr = len(inv), len(rw)
    t_inv, t_rw = t_inv_all[inv_rows], times[len(t_inv_all) :]
    w_inv, w_rw = a_inv[inv_rows], to[rw_rows]
    c_inv, c_rw = ch_inv[inv_rows], ch_tx[rw_rows]  # -1 = no channel named
    n_who = int(max(w_inv.max(initial=-1), w_rw.max(initial=-1))) + 1

    def flag(codes: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=n_who) > 0

    inv_named, inv_none = flag(w_inv, c_inv >= 0), flag(w_inv, c_inv < 0)
    rw_named, rw_none = flag(w_rw, c_rw >= 0), flag(w_rw, c_rw < 0)
    mixed = inv_named & rw_named & (inv_none | rw_none)
    by_channel = inv_named & rw_named & ~mixed  # every record names a channel: match per channel

    # invite order within an inviter: time, invitee, channel (missing last)
    n_ch = int(max(c_inv.max(initial=-1), c_rw.max(initial=-1))) + 1
    inv_order = np.lexsort((np.where(c_inv < 0, n_ch, c_inv), b_inv[inv_rows], t_inv))
    txn = rw["txn_id"]
    txn_rank = np.arange(nr) if nr < 2 or _sorted(txn) else _str_rank(txn.to_numpy(dtype=object))
    rw_order = np.lexsort((txn_rank, t_rw))
    # rank of each invite / reward in its own order (for tie-free sorting inside groups)
    inv_pos = np.empty(ni, dtype=np.int64)
    inv_pos[inv_order] = np.arange(ni)
    rw_pos = np.empty(nr, dtype=np.int64)
    rw_pos[rw_order] = np.arange(nr)
    chan = np.concatenate([c_inv, c_rw])

    match = np.full(nr, -1, dtype=np.int64)  # invite row matched by each reward

    # vectorised groups: (inviter, channel) where matched per channel, else (inviter, -1)
    n_chan = int(chan.max()) + 2 if len(chan) else 1
    gi = w_inv * n_chan + np.where(by_channel[w_inv], c_inv + 1, 0)
    gr = w_rw * n_chan + np.where(by_channel[w_rw], c_rw + 1, 0)
    _, dense = np.unique(np.concatenate([gi, gr]), return_inverse=True)  # keys stay small
    gi, gr = dense[:ni].astype(np.int64), dense[ni:].astype(np.int64)
    sel_i = np.flatnonzero(~mixed[w_inv]) if ni else np.zeros(0, dtype=np.int64)
    sel_r = np.flatnonzero(~mixed[w_rw]) if nr else np.zeros(0, dtype=np.int64)
    if len(sel_r) and len(sel_i):
        si = sel_i[np.lexsort((inv_pos[sel_i], gi[sel_i]))]  # invites by group, then order
        sr = sel_r[np.lexsort((rw_pos[sel_r], gr[sel_r]))]  # rewards by group, then order
        span = int(times.max()) + 2
        inv_key = gi[si] * span + t_inv[si]
        g_r = gr[sr]
        start = np.searchsorted(inv_key, g_r * span, side="left")  # group's first invite
        p = np.searchsorted(inv_key, g_r * span + t_rw[sr], side="right") - start
        first = np.ones(len(sr), dtype=bool)
        first[1:] = g_r[1:] != g_r[:-1]
        idx = np.arange(len(sr))
        k = idx - np.maximum.accumulate(np.where(first, idx, 0))  # reward index in group
        # prefix minimum per group in one pass: each later group is shifted below the earlier
        gid = np.cumsum(first) - 1
        big = ni + len(sr) + 1
        cm = np.minimum.accumulate(p - k - gid * big) + gid * big
        prev = np.empty(len(sr), dtype=np.float64)
        prev[0] = np.inf
        prev[1:] = cm[:-1]
        prev[first] = np.inf  # exclusive prefix minimum within the group
        m = np.minimum(k.astype(np.float64), k - 1 + prev).astype(np.int64)
        hit = m < p
        match[sr[hit]] = si[start[hit] + m[hit]]
    if mixed.any():
        _match_mixed(mixed, w_inv, c_inv, inv_pos, t_inv, w_rw, c_rw, rw_pos, t_rw, match)

    return _reconciliation_frame(inv, rw, match, inv_order, rw_order, w_inv)


def _match_mixed(mixed, w_inv, c_inv, inv_pos, t_inv, w_rw, c_rw, rw_pos, t_rw, match) -> None:
    """Exact walk for inviters mixing channel-less with channel-named records on both sides.

    Per inviter, each channel's invites (and the channel-less ones) form a queue in invite order
    that is only ever consumed from its head (every reward takes the earliest eligible invite, and
    eligibility is a time prefix of each queue); a reward looks at the heads it may take.
    """
    inv_rows = np.flatnonzero(mixed[w_inv])
    rw_rows = np.flatnonzero(mixed[w_rw])
    inv_rows = inv_rows[np.lexsort((inv_pos[inv_rows], w_inv[inv_rows]))]
    rw_rows = rw_rows[np.lexsort((rw_pos[rw_rows], w_rw[rw_rows]))]
    inv_groups = np.split(inv_rows, np.flatnonzero(np.diff(w_inv[inv_rows])) + 1)
    rw_by_who = {
        int(w_rw[g[0]]): g for g in np.split(rw_rows, np.flatnonzero(np.diff(w_rw[rw_rows])) + 1)
    }
    for rows in inv_groups:
        rewards = rw_by_who.get(int(w_inv[rows[0]]))
        if rewards is None:
            continue
        queues: dict[int, list[int]] = {}
        for r in rows.tolist():
            queues.setdefault(int(c_inv[r]), []).append(r)
        heads = dict.fromkeys(queues, 0)
        for j in rewards.tolist():
            c = int(c_rw[j])
            names = list(queues) if c < 0 else [q for q in (c, -1) if q in queues]
            best = -1
            for q in names:
                h = heads[q]
                if h < len(queues[q]):
                    r = queues[q][h]
                    if t_inv[r] <= t_rw[j] and (best < 0 or inv_pos[r] < inv_pos[best]):
                        best, best_q = r, q
            if best >= 0:
                match[j] = best
                heads[best_q] += 1


def _sorted(values: pd.Series) -> bool:
    try:
        return bool(values.notna().all() and values.is_monotonic_increasing)
    except TypeError:
        return False


def _reconciliation_frame(inv, rw, match, inv_order, rw_order, inviter_codes) -> pd.DataFrame:
    hit = match >= 0
    mi = np.where(hit, match, 0)
    inv_chan = inv["channel_id"].to_numpy(dtype=object)
    rw_chan = rw["channel_id"].to_numpy(dtype=object)
    if len(inv):
        invitee = np.where(hit, inv["invitee_id"].to_numpy(dtype=object)[mi], None)
        invited_at = np.where(hit, inv["invited_at"].to_numpy(dtype=object)[mi], None)
        ichan = np.where(hit, inv_chan[mi], None)
    else:
        invitee = invited_at = ichan = np.full(len(rw), None, dtype=object)
    ichan = np.asarray(ichan, dtype=object)
    channel = np.where(pd.isna(ichan), rw_chan, ichan)
    rewards = pd.DataFrame(
        {
            "txn_id": _obj(rw["txn_id"]),
            "inviter_id": _obj(rw["to_id"]),
            "invitee_id": _obj(invitee),
            "channel_id": _obj(channel),
            "invited_at": _obj(invited_at),
            "rewarded_at": _obj(rw["ts"]),
            "status": _obj(np.where(hit, "matched", "reward_without_invite")),
            "credits": rw["credits"].to_numpy(dtype=np.float64),
        }
    ).iloc[rw_order]
    taken = np.zeros(len(inv), dtype=bool)
    taken[match[hit]] = True
    keep = inv_order[~taken[inv_order]]
    left = inv.iloc[keep[np.argsort(inviter_codes[keep], kind="stable")]]
    unrewarded = pd.DataFrame(
        {
            "txn_id": _obj([None] * len(left)),
            "inviter_id": _obj(left["inviter_id"]),
            "invitee_id": _obj(left["invitee_id"]),
            "channel_id": _obj(left["channel_id"]),
            "invited_at": _obj(left["invited_at"]),
            "rewarded_at": _obj([None] * len(left)),
            "status": _obj(["invite_without_reward"] * len(left)),
            "credits": np.full(len(left), np.nan),
        }
    )
    out = pd.concat([rewards, unrewarded], ignore_index=True)  # ids/times: str or None
    out["credits"] = out["credits"].astype(np.float64)
    return out[list(RECONCILIATION_COLUMNS)]


def _purchase_krw(transactions: pd.DataFrame, won_per_credit: float) -> np.ndarray:
    """Won value of each transaction: amount_krw where given, else credits × won_per_credit."""
    amount = pd.to_numeric(transactions["amount_krw"], errors="coerce").to_numpy(np.float64)
    credits = pd.to_numeric(transactions["credits"], errors="coerce").fillna(0.0)
    return np.where(np.isnan(amount), credits.to_numpy(np.float64) * won_per_credit, amount)


def buyer_pairs(
    transactions: pd.DataFrame, account_ids: np.ndarray, *, codes: IdCodes | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (payee, payer) code pairs of purchases or payments of no stated kind.

    Returns ``(payee, payer)`` arrays of account codes, one entry per distinct pair, sorted by
    payee then payer (self-payments excluded).
    """
    src, dst = _ends(transactions, account_ids, codes)
    kind = transactions["kind"].to_numpy(dtype=object)
    sel = (kind == "purchase") | pd.isna(kind)
    return _distinct_pairs(dst[sel], src[sel], len(account_ids))


def _ends(transactions, account_ids, codes):
    if codes is not None:
        return codes("transactions", "from_id"), codes("transactions", "to_id")
    return encode(transactions["from_id"], account_ids), encode(transactions["to_id"], account_ids)


def _distinct_pairs(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    ok = (a >= 0) & (b >= 0) & (a != b)
    key = np.unique(a[ok].astype(np.int64) * max(n, 1) + b[ok])
    return key // max(n, 1), key % max(n, 1)


def account_economy(
    transactions: pd.DataFrame,
    account_ids: np.ndarray,
    reconciliation: pd.DataFrame,
    *,
    won_per_credit: float = DEFAULT_WON_PER_CREDIT,
    codes: IdCodes | None = None,
) -> pd.DataFrame:
    """Per account: ``rewards_matched``, ``rewards_unmatched``, ``proceeds_krw``,
    ``distinct_payers``, ``distinct_payees`` (module notes), in ``account_ids`` order.

    Examples
    --------
    >>> tx = pd.DataFrame({"txn_id": ["T1", "T2", "T3"], "from_id": ["B", "C", "A"],
    ...                    "to_id": ["A", "A", "B"], "credits": [5.0, 5.0, 1.0],
    ...                    "amount_krw": [None, 10000.0, None],
    ...                    "kind": ["purchase", "purchase", "transfer"]})
    >>> rec = pd.DataFrame(columns=list(RECONCILIATION_COLUMNS))
    >>> out = account_economy(tx, np.array(["A", "B", "C"], dtype=object), rec)
    >>> out[["account_id", "proceeds_krw", "distinct_payers", "distinct_payees"]].values.tolist()
    [['A', 23250.0, 2, 1], ['B', 0.0, 1, 1], ['C', 0.0, 0, 1]]
    """
    n = len(account_ids)
    src, dst = _ends(transactions, account_ids, codes)
    kind = transactions["kind"].to_numpy(dtype=object)
    krw = _purchase_krw(transactions, won_per_credit)
    bought = (kind == "purchase") & (dst >= 0)
    proceeds = np.bincount(dst[bought], weights=krw[bought], minlength=n).astype(np.float64)
    payee, payer = _distinct_pairs(dst, src, n)
    rec = reconciliation[reconciliation["txn_id"].notna()]
    who = encode(rec["inviter_id"], account_ids)
    status = rec["status"].to_numpy(dtype=object)

    def count(mask: np.ndarray) -> np.ndarray:
        ok = mask & (who >= 0)
        return np.bincount(who[ok], minlength=n).astype(np.int64)

    return pd.DataFrame(
        {
            "account_id": _obj(account_ids),
            "rewards_matched": count(status == "matched"),
            "rewards_unmatched": count(status == "reward_without_invite"),
            "proceeds_krw": proceeds,
            "distinct_payers": np.bincount(payee, minlength=n).astype(np.int64),
            "distinct_payees": np.bincount(payer, minlength=n).astype(np.int64),
        }
    )


def room_economy(
    transactions: pd.DataFrame,
    reconciliation: pd.DataFrame,
    *,
    won_per_credit: float = DEFAULT_WON_PER_CREDIT,
) -> pd.DataFrame:
    """Per room (``channel_id``; ``None`` = records naming no room): purchases and
    ``proceeds_krw``, rewards and their credits, matched rewards and their credits,
    ``reward_rate`` (credits per matched invite, NaN without a match), ``rewards_without_invite``
    and ``invites_without_reward``. Rooms without any of these are left out; by channel id,
    ``None`` last.

    Examples
    --------
    >>> tx = pd.DataFrame({"txn_id": ["T1"], "from_id": ["B"], "to_id": ["A"], "credits": [5.0],
    ...                    "amount_krw": [None], "kind": ["purchase"], "channel_id": ["X"]})
    >>> rec = pd.DataFrame({"txn_id": ["R1", None], "inviter_id": ["A", "A"],
    ...                     "invitee_id": ["C", "D"], "channel_id": ["X", "X"],
    ...                     "invited_at": [None, None], "rewarded_at": [None, None],
    ...                     "status": ["matched", "invite_without_reward"], "credits": [2.0, None]})
    >>> room_economy(tx, rec)[["channel_id", "proceeds_krw", "reward_rate",
    ...                        "invites_without_reward"]].values.tolist()
    [['X', 13250.0, 2.0, 1]]
    """
    kind = transactions["kind"].to_numpy(dtype=object)
    p = transactions[kind == "purchase"]
    buys = pd.DataFrame(
        {
            "channel_id": _obj(p["channel_id"]),
            "purchases": 1,
            "proceeds_krw": _purchase_krw(p, won_per_credit),
        }
    )
    rec = reconciliation
    status = rec["status"].to_numpy(dtype=object)
    credits = pd.to_numeric(rec["credits"], errors="coerce").fillna(0.0).to_numpy(np.float64)
    is_rw = rec["txn_id"].notna().to_numpy(dtype=bool)
    matched = status == "matched"
    r = pd.DataFrame(
        {
            "channel_id": _obj(rec["channel_id"]),
            "rewards": is_rw.astype(np.int64),
            "reward_credits": np.where(is_rw, credits, 0.0),
            "rewards_matched": matched.astype(np.int64),
            "matched_reward_credits": np.where(matched, credits, 0.0),
            "rewards_without_invite": (status == "reward_without_invite").astype(np.int64),
            "invites_without_reward": (status == "invite_without_reward").astype(np.int64),
        }
    )
    both = pd.concat([buys, r], ignore_index=True)
    cols = [c for c in ROOM_ECONOMY_COLUMNS if c not in ("channel_id", "reward_rate")]
    for c in cols:
        both[c] = both[c].fillna(0)
    out = both.groupby("channel_id", sort=True, dropna=False)[cols].sum().reset_index()
    out["channel_id"] = out["channel_id"].astype(object).where(out["channel_id"].notna(), None)
    for c in cols:
        money = c in ("proceeds_krw", "reward_credits", "matched_reward_credits")
        out[c] = out[c].to_numpy().astype(np.float64 if money else np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = out["matched_reward_credits"] / out["rewards_matched"].where(
            out["rewards_matched"] > 0
        )
    out["reward_rate"] = rate.astype(np.float64)
    return out[list(ROOM_ECONOMY_COLUMNS)]


def room_activity(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Dated records per room and day (module notes): ``channel_id``, ``day``
    (``YYYY-MM-DD``), ``events``; by room, then day.

    Examples
    --------
    >>> from graphintel.analytics.graph import prepare_tables
    >>> t = prepare_tables({"memberships": pd.DataFrame({"account_id": ["A", "B"],
    ...     "channel_id": ["X", "X"], "joined_at": ["2024-01-01T10:00:00", "2024-01-01T11:00:00"]})})
    >>> room_activity(t).values.tolist()
    [['X', '2024-01-01', 2]]
    """
    parts = []
    for table, chan, ts in (
        ("memberships", "channel_id", "joined_at"),
        ("invites", "channel_id", "invited_at"),
        ("transactions", "channel_id", "ts"),
        ("content", "channel_id", "posted_at"),
        ("forwards", "from_channel_id", "ts"),
    ):
        t = tables.get(table)
        if t is None or chan not in t or ts not in t or not len(t):
            continue
        c = t[chan].astype(object)
        d = t[ts].astype(object)
        ok = (c.notna() & d.notna()).to_numpy(dtype=bool)
        if ok.any():
            parts.append(pd.DataFrame({"channel_id": c[ok], "day": d[ok].astype(str).str[:10]}))
    if not parts:
        return pd.DataFrame(
            {
                "channel_id": pd.Series([], dtype=object),
                "day": pd.Series([], dtype=object),
                "events": pd.Series([], dtype=np.int64),
            }
        )
    allp = pd.concat(parts, ignore_index=True)
    out = allp.groupby(["channel_id", "day"], sort=True).size().rename("events").reset_index()
    out["channel_id"] = out["channel_id"].astype(object)
    out["day"] = out["day"].astype(object)
    out["events"] = out["events"].astype(np.int64)
    return out[list(ROOM_ACTIVITY_COLUMNS)]


COMPARE_STATUSES = ("stopped", "dropped", "appeared", "continued")


def room_joins(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """When each account entered each room: ``account_id``, ``channel_id``, ``joined_at`` (the
    earliest of its membership ``joined_at`` and the invites it received naming the room;
    ``None`` when no record is dated), one row per (account, room), by account then room.

    Examples
    --------
    >>> from graphintel.analytics.graph import prepare_tables
    >>> t = prepare_tables({"memberships": pd.DataFrame({"account_id": ["A"], "channel_id": ["X"],
    ...                                                  "joined_at": [None]}),
    ...                     "invites": pd.DataFrame({"inviter_id": ["B"], "invitee_id": ["A"],
    ...                         "channel_id": ["X"], "invited_at": ["2024-01-02T00:00:00"]})})
    >>> room_joins(t).values.tolist()
    [['A', 'X', '2024-01-02T00:00:00']]
    """
    m = tables["memberships"]
    i = tables["invites"]
    i = i[i["channel_id"].notna()]
    both = pd.concat(
        [
            pd.DataFrame(
                {
                    "account_id": _obj(m["account_id"]),
                    "channel_id": _obj(m["channel_id"]),
                    "joined_at": _obj(m["joined_at"]),
                }
            ),
            pd.DataFrame(
                {
                    "account_id": _obj(i["invitee_id"]),
                    "channel_id": _obj(i["channel_id"]),
                    "joined_at": _obj(i["invited_at"]),
                }
            ),
        ],
        ignore_index=True,
    )
    both = both[both["account_id"].notna() & both["channel_id"].notna()]
    out = both.groupby(["account_id", "channel_id"], sort=True)["joined_at"].min().reset_index()
    out["joined_at"] = out["joined_at"].astype(object).where(out["joined_at"].notna(), None)
    return out


def before_after(
    activity: pd.DataFrame,
    joins: pd.DataFrame,
    at: str,
    *,
    window_days: int = 30,
    drop: float = 0.5,
) -> dict[str, pd.DataFrame]:
    """Rooms before and after a date (a crackdown, an arrest) and where their members went.

    Parameters
    ----------
    activity : pandas.DataFrame
        :func:`room_activity` (the ``room_activity`` result table).
    joins : pandas.DataFrame
        :func:`room_joins`.
    at : str
        The date, ``YYYY-MM-DD`` (a time part is ignored): the *after* window starts that day.
    window_days : int
        Length of the windows compared: ``before`` = records in the ``window_days`` days before
        ``at``, ``after`` = records from ``at`` for ``window_days`` days.
    drop : float
        A room **dropped** when ``after ≤ (1 - drop) × before`` (and ``after > 0``).

    Returns
    -------
    dict
        ``rooms``: ``channel_id``, ``status`` (``stopped``: records before, none after;
        ``dropped``; ``appeared``: no record at all before ``at``, some after; ``continued``),
        ``before``, ``after``, ``first_day``, ``last_day`` (of all its records), by status then
        ``before`` descending then id; rooms with no record in either window are left out.
        ``moves``: ``from_channel_id`` (a stopped or dropped room), ``to_channel_id``,
        ``members`` (accounts in the room before ``at`` — a dated join before it or an undated
        one — that joined the other room in the after window), ``first_joined_at``; by members
        descending.

    Examples
    --------
    >>> act = pd.DataFrame({"channel_id": ["X", "X", "Y"],
    ...                     "day": ["2024-01-01", "2024-01-02", "2024-01-10"],
    ...                     "events": [3, 1, 2]})
    >>> joins = pd.DataFrame({"account_id": ["A", "A"], "channel_id": ["X", "Y"],
    ...                       "joined_at": ["2024-01-01T00:00:00", "2024-01-10T00:00:00"]})
    >>> out = before_after(act, joins, "2024-01-05", window_days=10)
    >>> out["rooms"][["channel_id", "status", "before", "after"]].values.tolist()
    [['X', 'stopped', 4, 0], ['Y', 'appeared', 0, 2]]
    >>> out["moves"][["from_channel_id", "to_channel_id", "members"]].values.tolist()
    [['X', 'Y', 1]]
    """
    return before_after_moves(
        activity,
        lambda gone, at_s, end: room_moves(joins, gone, at_s, end),
        at,
        window_days=window_days,
        drop=drop,
    )


def before_after_moves(
    activity: pd.DataFrame,
    moves: Callable[[list[str], str, str], pd.DataFrame],
    at: str,
    *,
    window_days: int = 30,
    drop: float = 0.5,
) -> dict[str, pd.DataFrame]:
    """:func:`before_after` with the moves from ``moves(gone, at, end)``: the stopped and
    dropped rooms, ``at`` and the end of the after window (``YYYY-MM-DD``). Given
    :meth:`graphintel.dataset.Dataset.room_moves`, the store computes them."""
    rooms = room_changes(activity, at, window_days=window_days, drop=drop)
    at_s, end = compare_window(at, window_days)
    gone = rooms.loc[rooms["status"].isin(["stopped", "dropped"]), "channel_id"].tolist()
    return {"rooms": rooms, "moves": moves(gone, at_s, end)}


def compare_window(at: str, window_days: int) -> tuple[str, str]:
    """(``at`` as ``YYYY-MM-DD``, the day ``window_days`` after it): the *after* window.

    >>> compare_window("2024-01-05T10:00:00", 10)
    ('2024-01-05', '2024-01-15')
    """
    day = pd.Timestamp(str(at)[:10])
    end = day + pd.Timedelta(days=int(window_days))
    return day.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d")


def room_changes(
    activity: pd.DataFrame, at: str, *, window_days: int = 30, drop: float = 0.5
) -> pd.DataFrame:
    """The ``rooms`` frame of :func:`before_after`: each room's status around ``at``."""
    day = pd.Timestamp(str(at)[:10])
    start = (day - pd.Timedelta(days=int(window_days))).strftime("%Y-%m-%d")
    at_s, end = compare_window(at, window_days)
    a = activity
    days = a["day"].astype(str)
    ev = pd.to_numeric(a["events"], errors="coerce").fillna(0).astype(np.int64)
    frame = pd.DataFrame(
        {
            "channel_id": _obj(a["channel_id"]),
            "before": np.where((days >= start) & (days < at_s), ev, 0),
            "after": np.where((days >= at_s) & (days < end), ev, 0),
            "earlier": np.where(days < at_s, ev, 0),
            "day": days.to_numpy(dtype=object),
        }
    )
    g = frame.groupby("channel_id", sort=True)
    rooms = pd.DataFrame(
        {
            "before": g["before"].sum(),
            "after": g["after"].sum(),
            "earlier": g["earlier"].sum(),
            "first_day": g["day"].min(),
            "last_day": g["day"].max(),
        }
    ).reset_index()
    rooms = rooms[(rooms["before"] > 0) | (rooms["after"] > 0)]
    b, f = rooms["before"].to_numpy(), rooms["after"].to_numpy()
    status = np.select(
        [
            (b > 0) & (f == 0),
            (b > 0) & (f > 0) & (f <= (1 - drop) * b),
            (rooms["earlier"].to_numpy() == 0) & (f > 0),
        ],
        ["stopped", "dropped", "appeared"],
        "continued",
    )
    rank = {s: i for i, s in enumerate(COMPARE_STATUSES)}
    rooms = rooms.assign(status=status, _r=[rank[s] for s in status])
    rooms = rooms.sort_values(["_r", "before", "channel_id"], ascending=[True, False, True])
    rooms = rooms[["channel_id", "status", "before", "after", "first_day", "last_day"]]
    return rooms.astype({"before": np.int64, "after": np.int64}).reset_index(drop=True)


def room_moves(joins: pd.DataFrame, gone: Iterable[str], at: str, end: str) -> pd.DataFrame:
    """The ``moves`` frame of :func:`before_after`: accounts in a room of ``gone`` before ``at``
    (``YYYY-MM-DD``; a dated join before it, or an undated one) that joined another room in
    [``at``, ``end``). :meth:`graphintel.dataset.Dataset.room_moves` gives the same rows,
    computed in the store."""
    gone = set(gone)
    at_s = str(at)
    j = joins
    when = j["joined_at"].astype(object)
    was = j[j["channel_id"].isin(gone) & (when.isna() | (when.astype(str) < at_s))]
    went = j[when.notna() & (when.astype(str) >= at_s) & (when.astype(str) < end)]
    moves = was[["account_id", "channel_id"]].merge(
        went[["account_id", "channel_id", "joined_at"]], on="account_id", suffixes=("_from", "")
    )
    moves = moves[moves["channel_id_from"] != moves["channel_id"]]
    mv = (
        moves.groupby(["channel_id_from", "channel_id"], sort=True)
        .agg(members=("account_id", "nunique"), first_joined_at=("joined_at", "min"))
        .reset_index()
        .rename(columns={"channel_id_from": "from_channel_id", "channel_id": "to_channel_id"})
    )
    mv = mv.sort_values(
        ["members", "from_channel_id", "to_channel_id"], ascending=[False, True, True]
    )
    mv["members"] = mv["members"].astype(np.int64)
    return mv.reset_index(drop=True)
