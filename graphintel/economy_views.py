"""Dashboard data shaping for the invitation-credit economy (reconciliation, proceeds, cascade
growth, before/after), over the persisted result tables.

Like :mod:`graphintel.views`: no Streamlit, no SQL or Cypher; small frames from the result
tables written by ``graphintel analyze`` (``room_economy``, ``cascades``,
``cascade_generations``, ``cascade_growth``, ``room_activity``, ``summary``) and the prepared
canonical tables. Wording is that of leads to check, never findings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from graphintel.analytics import cascades as _cascades
from graphintel.analytics import economy as _economy
from graphintel.analytics import referral as _referral
from graphintel.analytics.graph import account_universe

__all__ = [
    "LEAD_NOTE",
    "before_after_frames",
    "cascade_curves",
    "cascade_generation_curves",
    "proceeds_records",
    "room_reward_leads",
    "trainer_cascades",
    "won_basis",
]

LEAD_NOTE = (
    "Leads to check, not findings: a reward without an invite points at an invite not (yet) in "
    "the evidence; an invite without a reward at a reward not collected, not paid, or paid "
    "outside the records."
)


def room_reward_leads(
    room_economy: pd.DataFrame, rooms: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per room: ``room``, ``title``, ``credits per matched invite``, ``matched``,
    ``rewards without invite``, ``invites without reward``, ``proceeds (won)``; most unmatched
    records first.

    Examples
    --------
    >>> re = pd.DataFrame({"channel_id": ["X", None], "proceeds_krw": [10.0, 0.0],
    ...     "rewards_matched": [2, 0], "reward_rate": [1.5, None],
    ...     "rewards_without_invite": [0, 3], "invites_without_reward": [1, 0]})
    >>> room_reward_leads(re)["room"].tolist()
    ['(no room named)', 'X']
    """
    if room_economy.empty:
        return pd.DataFrame(
            columns=[
                "room",
                "title",
                "credits per matched invite",
                "matched",
                "rewards without invite",
                "invites without reward",
                "proceeds (won)",
            ]
        )
    r = room_economy.copy()
    title = r["title"] if "title" in r else pd.Series([None] * len(r), index=r.index, dtype=object)
    if rooms is not None and "title" in rooms and "channel_id" in rooms:
        title = r["channel_id"].map(rooms.set_index("channel_id")["title"])
    out = pd.DataFrame(
        {
            "room": r["channel_id"]
            .astype(object)
            .where(r["channel_id"].notna(), "(no room named)"),
            "title": title.to_numpy(dtype=object),
            "credits per matched invite": pd.to_numeric(r["reward_rate"], errors="coerce"),
            "matched": r["rewards_matched"].astype(np.int64),
            "rewards without invite": r["rewards_without_invite"].astype(np.int64),
            "invites without reward": r["invites_without_reward"].astype(np.int64),
            "proceeds (won)": pd.to_numeric(r["proceeds_krw"], errors="coerce").fillna(0.0),
        }
    )
    unmatched = out["rewards without invite"] + out["invites without reward"]
    out = out.assign(_u=unmatched).sort_values(["_u", "room"], ascending=[False, True])
    return out.drop(columns="_u").reset_index(drop=True)


def proceeds_records(
    transactions: pd.DataFrame, account_id: str, *, won_per_credit: float | None = None
) -> pd.DataFrame:
    """The purchases behind an account's ``proceeds_krw``: ``txn_id``, ``from_id``, ``ts``,
    ``channel_id``, ``credits``, ``amount_krw`` (as recorded), ``won`` (counted: the amount, else
    credits × won per credit), ``basis`` (which of the two was counted: ``amount_krw`` or
    ``credits × N``), ``source_ids``; largest first.

    Examples
    --------
    >>> tx = pd.DataFrame({"txn_id": ["T1", "T2"], "from_id": ["B", "C"], "to_id": ["A", "A"],
    ...     "credits": [5.0, 1.0], "amount_krw": [None, 3000.0], "kind": ["purchase"] * 2,
    ...     "ts": [None, None], "channel_id": [None, None], "source_ids": [["S"], ["S"]]})
    >>> proceeds_records(tx, "A", won_per_credit=1000)[["txn_id", "won", "basis"]].values.tolist()
    [['T1', 5000.0, 'credits × 1,000'], ['T2', 3000.0, 'amount_krw']]
    """
    won = _economy.DEFAULT_WON_PER_CREDIT if won_per_credit is None else float(won_per_credit)
    tx = transactions[(transactions["to_id"] == account_id) & (transactions["kind"] == "purchase")]
    cols = ["txn_id", "from_id", "ts", "channel_id", "credits", "amount_krw", "source_ids"]
    out = tx.reindex(columns=cols).copy()
    out["won"] = _economy._purchase_krw(tx, won) if len(tx) else np.zeros(0)
    out["basis"] = won_basis(tx["amount_krw"], won)
    out["source_ids"] = [
        ", ".join(map(str, s)) if isinstance(s, (list, tuple, np.ndarray)) else s
        for s in out["source_ids"]
    ]
    out = out.sort_values(["won", "txn_id"], ascending=[False, True])
    return out[cols[:6] + ["won", "basis", "source_ids"]].reset_index(drop=True)


def won_basis(amount_krw: pd.Series, won_per_credit: float) -> np.ndarray:
    """Which value a purchase's won comes from: ``amount_krw`` where recorded, else
    ``credits × N`` (N the won per credit).

    >>> won_basis(pd.Series([1.0, None]), 2650).tolist()
    ['amount_krw', 'credits × 2,650']
    """
    recorded = pd.to_numeric(amount_krw, errors="coerce").notna().to_numpy()
    return np.where(recorded, "amount_krw", f"credits × {won_per_credit:,g}").astype(object)


def cascade_curves(growth: pd.DataFrame, cascades: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """Size over time of the ``n`` largest cascades: ``cascade`` (root), ``day`` (datetime),
    ``size``.

    Examples
    --------
    >>> g = pd.DataFrame({"root": ["A", "A", "B"], "day": ["2024-01-01", "2024-01-03",
    ...     "2024-01-02"], "joined": [1, 2, 1], "size": [2, 4, 2]})
    >>> c = pd.DataFrame({"root": ["A", "B"], "size": [4, 2]})
    >>> cascade_curves(g, c, n=1)["size"].tolist()
    [2, 4]
    """
    roots = cascades.head(n)["root"].tolist()
    g = growth[growth["root"].isin(roots)]
    return pd.DataFrame(
        {
            "cascade": g["root"].astype(str).to_numpy(),
            "day": pd.to_datetime(g["day"]).to_numpy(),
            "size": g["size"].astype(np.int64).to_numpy(),
        }
    )


def cascade_generation_curves(
    generations: pd.DataFrame, cascades: pd.DataFrame, n: int = 5
) -> pd.DataFrame:
    """Per generation of the ``n`` largest cascades and of all cascades together (``cascade`` =
    ``"all cascades"``): ``cascade``, ``generation``, ``accounts``, ``recruits``,
    ``reproduction`` (recruits per member of the generation), ``gap_hours_mean``.

    Examples
    --------
    >>> gen = pd.DataFrame({"root": ["A", "A"], "generation": [0, 1], "accounts": [1, 2],
    ...     "recruits": [2, 0], "gap_hours_mean": [None, None]})
    >>> out = cascade_generation_curves(gen, pd.DataFrame({"root": ["A"]}))
    >>> out[["cascade", "generation", "reproduction"]].values.tolist()
    [['all cascades', 0, 2.0], ['all cascades', 1, 0.0], ['A', 0, 2.0], ['A', 1, 0.0]]
    """
    cols = ["cascade", "generation", "accounts", "recruits", "reproduction", "gap_hours_mean"]
    if generations.empty:
        return pd.DataFrame(columns=cols)
    parts = [_cascades.generation_profile(generations).assign(cascade="all cascades")]
    for root in cascades.head(n)["root"]:
        parts.append(_cascades.generation_profile(generations, [root]).assign(cascade=str(root)))
    return pd.concat(parts, ignore_index=True)[cols]


def trainer_cascades(
    scenarios: Mapping[str, Mapping[str, pd.DataFrame]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cascade figures of simulated runs side by side (:func:`graphintel.analytics.cascades.
    cascade_growth` over each run's referral forest): ``(generations, growth)``, ``growth`` with
    ``day`` as datetime."""
    forests = {}
    for name, tables in scenarios.items():
        forests[name], _ = _referral.referral_forest(tables["invites"], account_universe(tables))
    gens, grow = _cascades.cascade_growth(forests)
    grow = grow.assign(day=pd.to_datetime(grow["day"]))
    return gens, grow


def before_after_frames(
    activity: pd.DataFrame,
    room_moves: Callable[[list[str], str, str], pd.DataFrame],
    at: str,
    *,
    window_days: int = 30,
    drop: float = 0.5,
) -> dict[str, pd.DataFrame]:
    """:func:`graphintel.analytics.economy.before_after` with the moves read from the store:
    ``rooms`` from the ``room_activity`` result, ``moves`` from ``room_moves(gone, at, end)``
    (:meth:`graphintel.dataset.Dataset.room_moves`) for the stopped and dropped rooms, so the
    page never reads every membership and invite."""
    return _economy.before_after_moves(activity, room_moves, at, window_days=window_days, drop=drop)
