"""Operator priority: an explainable ranking of accounts worth an investigator's attention.

The score ranks; it never labels anyone guilty. Every number is a sum of named components, each
shown with its raw value, weight and contribution, and backed by the records (with their source
ids) it was computed from.

Components (raw value per account)
----------------------------------
``rooms_operated``
    Σ over rooms the account operates of role weight × members: owner (membership role ``owner``
    or ``channels.creator_id``) 1.0, admin 0.5; members = distinct member accounts of the room.
``referral_descendants``
    Size of the account's referral subtree (itself excluded). Evidence: its invite records.
``credits_received``
    ``credits_in``: credits of all transactions to the account. Evidence: those transactions,
    largest first.
``bot_use``
    Distinct bots tied to rooms it operates: bot accounts (``accounts.is_bot``) that are members
    of those rooms, plus operated rooms of kind ``bot``.
``bridging``
    Participation coefficient of its edges over ecosystem communities (0..1, see
    :func:`graphintel.analytics.centrality.bridging`). Evidence: its memberships, invites and
    payments that reach another community.
``organizations_targeted``
    Distinct organisations targeted (``targets``) by rooms it operates.

Scaling and score: each component is scaled to 0..1 over all accounts by
``log(1 + value) / log(1 + max value)`` (0 when the max is 0), so one huge room does not flatten
everything else; ``contribution = weight × scaled``; ``priority_score`` = Σ contributions;
``priority_rank`` 1 = highest score, ties by account id. Default weights
(:data:`DEFAULT_WEIGHTS`) sum to 1, so scores lie in 0..1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphintel.analytics.graph import encode, source_list
from graphintel.errors import AnalyticsError

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "PriorityResult",
    "operated_rooms",
    "priority_scores",
    "resolve_weights",
]

COMPONENTS = (
    "rooms_operated",
    "referral_descendants",
    "credits_received",
    "bot_use",
    "bridging",
    "organizations_targeted",
)
DEFAULT_WEIGHTS: dict[str, float] = {
    "rooms_operated": 0.25,
    "referral_descendants": 0.20,
    "credits_received": 0.20,
    "bot_use": 0.10,
    "bridging": 0.10,
    "organizations_targeted": 0.15,
}
ROLE_WEIGHT = {"owner": 1.0, "admin": 0.5}
EVIDENCE_COLUMNS = (
    "account_id",
    "component",
    "record_table",
    "record_key",
    "detail",
    "source_ids",
)
COMPONENT_COLUMNS = ("account_id", "component", "value", "weight", "contribution")


def resolve_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Default weights overridden by ``weights`` (a partial mapping is fine).

    Raises
    ------
    AnalyticsError
        If a name is not a component or a weight is negative or not a finite number.

    Examples
    --------
    >>> resolve_weights({"bot_use": 0})["bot_use"]
    0.0
    """
    out = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in DEFAULT_WEIGHTS:
            raise AnalyticsError(
                f"unknown priority component {name!r}: weights can be set for "
                f"{', '.join(COMPONENTS)}"
            )
        try:
            w = float(value)
        except (TypeError, ValueError):
            w = math.nan
        if not math.isfinite(w) or w < 0:
            raise AnalyticsError(
                f"priority weight for {name!r} must be a finite number ≥ 0, got {value!r}"
            )
        out[name] = w
    return out


def operated_rooms(
    tables: Mapping[str, pd.DataFrame], account_ids: np.ndarray, channel_ids: np.ndarray
) -> pd.DataFrame:
    """Rooms each account operates: ``acc``, ``chan`` (codes), ``role`` (owner/admin),
    ``role_weight``, ``record_table``, ``record_key``, ``source_ids``; one row per (account,
    room), the strongest role kept (creator counts as owner; ties prefer the membership record).

    Examples
    --------
    >>> from graphintel.analytics.graph import prepare_tables
    >>> t = prepare_tables({"memberships": pd.DataFrame({"account_id": ["A", "B"],
    ...     "channel_id": ["X", "X"], "role": ["admin", "owner"]}),
    ...     "channels": pd.DataFrame({"channel_id": ["X"], "creator_id": ["A"]})})
    >>> operated_rooms(t, np.array(["A", "B"], dtype=object),
    ...                np.array(["X"], dtype=object))[["acc", "role", "record_table"]].values.tolist()
    [[0, 'owner', 'channels'], [1, 'owner', 'memberships']]
    """
    m = tables["memberships"]
    staff = m[m["role"].isin(["owner", "admin"])]
    a = pd.DataFrame(
        {
            "acc": encode(staff["account_id"], account_ids),
            "chan": encode(staff["channel_id"], channel_ids),
            "role": staff["role"].to_numpy(dtype=object),
            "record_table": "memberships",
            "record_key": (staff["account_id"] + "|" + staff["channel_id"]).to_numpy(dtype=object),
            "source_ids": staff["source_ids"].to_numpy(dtype=object),
            "pref": 0,
        }
    )
    c = tables["channels"]
    created = c[c["creator_id"].notna()]
    b = pd.DataFrame(
        {
            "acc": encode(created["creator_id"], account_ids),
            "chan": encode(created["channel_id"], channel_ids),
            "role": "owner",
            "record_table": "channels",
            "record_key": created["channel_id"].to_numpy(dtype=object),
            "source_ids": created["source_ids"].to_numpy(dtype=object),
            "pref": 1,
        }
    )
    rooms = pd.concat([a, b], ignore_index=True)
    rooms = rooms[(rooms["acc"] >= 0) & (rooms["chan"] >= 0)]
    rooms["role_weight"] = rooms["role"].map(ROLE_WEIGHT).astype(np.float64)
    rooms = rooms.sort_values(["acc", "chan", "role_weight", "pref"], ascending=[True, True, False, True])
    rooms = rooms.drop_duplicates(["acc", "chan"]).drop(columns="pref").reset_index(drop=True)
    for col in ("role", "record_table", "record_key", "source_ids"):
        rooms[col] = rooms[col].astype(object)
    return rooms


@dataclass(frozen=True)
class PriorityResult:
    """``scores``: ``account_id, priority_score, priority_rank`` for every account (universe order);
    ``components`` and ``evidence``: the explanation of the top accounts."""

    scores: pd.DataFrame
    components: pd.DataFrame
    evidence: pd.DataFrame


def _scaled(v: np.ndarray) -> np.ndarray:
    top = float(v.max()) if len(v) else 0.0
    if top <= 0:
        return np.zeros(len(v))
    return np.log1p(np.maximum(v, 0.0)) / math.log1p(top)


def priority_scores(
    tables: Mapping[str, pd.DataFrame],
    metrics: pd.DataFrame,
    *,
    channel_ids: np.ndarray,
    channel_members: np.ndarray,
    channel_community: np.ndarray,
    weights: Mapping[str, float] | None = None,
    explain_top: int = 1000,
    evidence_limit: int = 10,
    account_ids: np.ndarray | None = None,
) -> PriorityResult:
    """Score, rank and explain every account.

    Parameters
    ----------
    tables : mapping
        Prepared canonical tables.
    metrics : pandas.DataFrame
        One row per account in sorted id order with ``account_id``, ``community``,
        ``referral_descendants``, ``credits_in``, ``bridging``.
    channel_ids, channel_members, channel_community : numpy.ndarray
        Sorted channel ids, their distinct member counts and community labels.
    weights : mapping, optional
        Component weights overriding :data:`DEFAULT_WEIGHTS`.
    explain_top : int
        Components and evidence are produced for the top ``explain_top`` accounts with a score
        above 0 (all components for each, also those contributing 0).
    evidence_limit : int
        At most this many evidence records per account and component (the most telling first).
    account_ids : numpy.ndarray, optional
        The sorted account universe, equal to ``metrics["account_id"]`` (passing the same array
        object the other analytics used lets id lookups reuse its hash index).

    Returns
    -------
    PriorityResult

    Raises
    ------
    AnalyticsError
        On invalid weights.
    """
    w = resolve_weights(weights)
    acc = metrics["account_id"].to_numpy(dtype=object) if account_ids is None else account_ids
    n = len(acc)
    rooms = operated_rooms(tables, acc, channel_ids)
    r_acc = rooms["acc"].to_numpy(np.int64)
    r_chan = rooms["chan"].to_numpy(np.int64)
    raw: dict[str, np.ndarray] = {}
    raw["rooms_operated"] = np.bincount(
        r_acc, weights=rooms["role_weight"].to_numpy() * channel_members[r_chan], minlength=n
    ).astype(np.float64)
    raw["referral_descendants"] = metrics["referral_descendants"].to_numpy(np.float64)
    raw["credits_received"] = metrics["credits_in"].to_numpy(np.float64)

    # bots: bot members of operated rooms + operated rooms of kind bot
    bot_links = _bot_links(tables, rooms, acc, channel_ids)
    raw["bot_use"] = np.bincount(
        bot_links["acc"].to_numpy(np.int64), minlength=n
    ).astype(np.float64)
    raw["bridging"] = metrics["bridging"].to_numpy(np.float64)
    org_links = _org_links(tables, rooms, channel_ids)
    raw["organizations_targeted"] = np.bincount(
        org_links["acc"].to_numpy(np.int64), minlength=n
    ).astype(np.float64)

    contrib = {c: w[c] * _scaled(raw[c]) for c in COMPONENTS}
    score = np.zeros(n)
    for c in COMPONENTS:
        score = score + contrib[c]
    order = np.lexsort((np.arange(n), -score))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    scores = pd.DataFrame(
        {"account_id": pd.Series(acc, dtype=object), "priority_score": score, "priority_rank": rank}
    )

    top = order[: max(explain_top, 0)]
    top = top[score[top] > 0]
    k = len(top)
    comp_frame = pd.DataFrame(
        {
            "account_id": pd.Series(np.repeat(acc[top], len(COMPONENTS)), dtype=object),
            "component": pd.Series(np.tile(np.array(COMPONENTS, dtype=object), k), dtype=object),
            "value": np.column_stack([raw[c][top] for c in COMPONENTS]).reshape(-1)
            if k
            else np.zeros(0),
            "weight": np.tile(np.array([w[c] for c in COMPONENTS]), k),
            "contribution": np.column_stack([contrib[c][top] for c in COMPONENTS]).reshape(-1)
            if k
            else np.zeros(0),
        },
        columns=list(COMPONENT_COLUMNS),
    )
    evidence = _evidence(
        tables,
        top,
        acc,
        metrics["community"].to_numpy(np.int64),
        rooms,
        bot_links,
        org_links,
        channel_ids,
        channel_members,
        channel_community,
        max(int(evidence_limit), 0),
    )
    return PriorityResult(scores, comp_frame, evidence)


def _bot_links(
    tables: Mapping[str, pd.DataFrame], rooms: pd.DataFrame, acc: np.ndarray, chan_ids: np.ndarray
) -> pd.DataFrame:
    """Distinct (operator, bot) links with the record behind each."""
    a = tables["accounts"]
    bot_ids = a.loc[a["is_bot"].astype(bool), "account_id"]
    m = tables["memberships"]
    bm = m[m["account_id"].isin(bot_ids)]
    bots = pd.DataFrame(
        {
            "chan": encode(bm["channel_id"], chan_ids),
            "bot": bm["account_id"].to_numpy(dtype=object),
            "record_table": "memberships",
            "record_key": (bm["account_id"] + "|" + bm["channel_id"]).to_numpy(dtype=object),
            "source_ids": bm["source_ids"].to_numpy(dtype=object),
        }
    )
    via = rooms[["acc", "chan"]].merge(bots, on="chan")
    via = via[via["bot"].to_numpy(dtype=object) != acc[via["acc"].to_numpy(np.int64)]]
    via = via.assign(
        detail="bot account " + via["bot"] + " is a member of operated room "
        + pd.Series(chan_ids[via["chan"].to_numpy(np.int64)], index=via.index, dtype=object)
    )
    via = via.sort_values(["acc", "bot", "chan"]).drop_duplicates(["acc", "bot"])
    c = tables["channels"]
    bot_rooms = c.loc[c["kind"] == "bot", ["channel_id", "source_ids"]]
    own = rooms[["acc", "chan"]].assign(channel_id=chan_ids[rooms["chan"].to_numpy(np.int64)])
    br = own.merge(bot_rooms, on="channel_id")
    br = br.assign(
        bot="room:" + br["channel_id"],
        record_table="channels",
        record_key=br["channel_id"],
        detail="operates bot room " + br["channel_id"],
    )
    cols = ["acc", "bot", "record_table", "record_key", "detail", "source_ids"]
    out = pd.concat([via[cols], br[cols]], ignore_index=True)
    return out.astype({c: object for c in cols if c != "acc"}).astype({"acc": np.int64})


def _org_links(
    tables: Mapping[str, pd.DataFrame], rooms: pd.DataFrame, chan_ids: np.ndarray
) -> pd.DataFrame:
    """Distinct (operator, organisation) links via targets of operated rooms."""
    t = tables["targets"]
    orgs = tables["organizations"][["org_id", "name"]]
    tt = pd.DataFrame(
        {
            "chan": encode(t["channel_id"], chan_ids),
            "org_id": t["org_id"].to_numpy(dtype=object),
            "channel_id": t["channel_id"].to_numpy(dtype=object),
            "source_ids": t["source_ids"].to_numpy(dtype=object),
        }
    )
    links = rooms[["acc", "chan"]].merge(tt, on="chan").merge(orgs, on="org_id", how="left")
    links = links.sort_values(["acc", "org_id", "channel_id"]).drop_duplicates(["acc", "org_id"])
    name = links["name"].astype(object).where(links["name"].notna(), "")
    links = links.assign(
        record_table="targets",
        record_key=links["channel_id"] + "|" + links["org_id"],
        detail="operated room " + links["channel_id"] + " targets " + links["org_id"]
        + np.where(name != "", " (" + name.astype(str) + ")", ""),
    )
    return links.reset_index(drop=True)


def _limit(frame: pd.DataFrame, sort: list[str], ascending: list[bool], limit: int) -> pd.DataFrame:
    """The first ``limit`` rows per account_id in ``sort`` order (before any string building)."""
    f = frame.sort_values(["account_id", *sort], ascending=[True, *ascending], kind="stable")
    return f.groupby("account_id", sort=False).head(limit)


def _text(values: pd.Series | np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object), index=index, dtype=object).astype(str)


def _evidence(
    tables: Mapping[str, pd.DataFrame],
    top: np.ndarray,
    acc: np.ndarray,
    community: np.ndarray,
    rooms: pd.DataFrame,
    bot_links: pd.DataFrame,
    org_links: pd.DataFrame,
    chan_ids: np.ndarray,
    members: np.ndarray,
    chan_comm: np.ndarray,
    limit: int,
) -> pd.DataFrame:
    cols = list(EVIDENCE_COLUMNS)
    parts: list[pd.DataFrame] = []
    top_set = pd.Index(acc[top])
    topmask = np.zeros(len(acc), dtype=bool)
    topmask[top] = True

    def add(frame: pd.DataFrame, component: str) -> None:
        if len(frame):
            parts.append(frame.assign(component=component)[cols])

    # rooms operated: biggest rooms first
    r = rooms[topmask[rooms["acc"].to_numpy(np.int64)]] if len(rooms) else rooms
    if len(r):
        ch = r["chan"].to_numpy(np.int64)
        r = r.assign(account_id=acc[r["acc"].to_numpy(np.int64)], members=members[ch],
                     channel_id=chan_ids[ch])
        r = _limit(r, ["members", "record_key"], [False, True], limit)
        add(
            r.assign(
                detail=r["role"] + " of room " + _text(r["channel_id"], r.index)
                + " (" + _text(r["members"], r.index) + " members)"
            ),
            "rooms_operated",
        )
    # referral descendants: the account's invite records, earliest first
    inv = tables["invites"]
    inv = inv[inv["inviter_id"].isin(top_set) & (inv["inviter_id"] != inv["invitee_id"])]
    if len(inv):
        when = inv["invited_at"].astype(object).where(inv["invited_at"].notna(), "")
        inv = inv.assign(account_id=inv["inviter_id"], t=when.where(when != "", "~"), when=when)
        inv = _limit(inv, ["t", "invitee_id"], [True, True], limit)
        chan = inv["channel_id"].astype(object).where(inv["channel_id"].notna(), "")
        add(
            inv.assign(
                record_table="invites",
                record_key=inv["inviter_id"] + "|" + inv["invitee_id"] + "|" + chan + "|"
                + inv["when"],
                detail="invited " + inv["invitee_id"]
                + np.where(inv["when"] != "", " at " + inv["when"].astype(str), ""),
            ),
            "referral_descendants",
        )
    # credits received: largest transactions first
    tx = tables["transactions"]
    rx = tx[tx["to_id"].isin(top_set)]
    if len(rx):
        rx = _limit(rx.assign(account_id=rx["to_id"]), ["credits", "txn_id"], [False, True], limit)
        kind = rx["kind"].astype(object).where(rx["kind"].notna(), "unspecified")
        add(
            rx.assign(
                record_table="transactions",
                record_key=rx["txn_id"],
                detail=rx["credits"].map("{:g}".format).astype(object) + " credits from "
                + rx["from_id"] + " (" + kind + ")",
            ),
            "credits_received",
        )
    # bot use
    b = bot_links[topmask[bot_links["acc"].to_numpy(np.int64)]] if len(bot_links) else bot_links
    if len(b):
        b = b.assign(account_id=acc[b["acc"].to_numpy(np.int64)])
        add(_limit(b, ["record_key"], [True], limit), "bot_use")
    # organisations targeted
    o = org_links[topmask[org_links["acc"].to_numpy(np.int64)]] if len(org_links) else org_links
    if len(o):
        o = o.assign(account_id=acc[o["acc"].to_numpy(np.int64)])
        add(_limit(o, ["record_key"], [True], limit), "organizations_targeted")
    # bridging: records reaching another community
    br = _bridging_records(tables, top_set, acc, community, chan_ids, chan_comm, limit)
    if len(br):
        add(_limit(br, ["record_table", "record_key"], [True, True], limit), "bridging")

    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    out = pd.concat(parts, ignore_index=True)
    rank = pd.Series(np.arange(len(top)), index=top_set)
    comp_pos = {c: i for i, c in enumerate(COMPONENTS)}
    out = out.assign(
        _r=rank.reindex(out["account_id"]).to_numpy(), _c=out["component"].map(comp_pos)
    )
    out = out.sort_values(["_r", "_c"], kind="stable").drop(columns=["_r", "_c"])
    out = out.reset_index(drop=True)
    for c in cols:
        out[c] = out[c].astype(object)
    out["source_ids"] = pd.Series([source_list(v) for v in out["source_ids"]], dtype=object)
    return out


def _bridging_records(
    tables: Mapping[str, pd.DataFrame],
    top_set: pd.Index,
    acc: np.ndarray,
    community: np.ndarray,
    chan_ids: np.ndarray,
    chan_comm: np.ndarray,
    limit: int,
) -> pd.DataFrame:
    def comm_of(values: pd.Series) -> np.ndarray:
        codes = encode(values, acc)
        return np.where(codes >= 0, community[codes], -1)

    def chan_of(values: pd.Series) -> np.ndarray:
        codes = encode(values, chan_ids)
        return np.where(codes >= 0, chan_comm[codes] if len(chan_comm) else -1, -1)

    frames = []
    m = tables["memberships"]
    mm = m[m["account_id"].isin(top_set)]
    if len(mm):
        own = comm_of(mm["account_id"])
        other = chan_of(mm["channel_id"])
        mm = mm.assign(account_id=mm["account_id"], other=other)[own != other]
        mm = _limit(mm, ["channel_id"], [True], limit)
        frames.append(
            pd.DataFrame(
                {
                    "account_id": mm["account_id"].to_numpy(dtype=object),
                    "record_table": "memberships",
                    "record_key": (mm["account_id"] + "|" + mm["channel_id"]).to_numpy(dtype=object),
                    "detail": ("member of room " + mm["channel_id"] + " in community "
                               + _text(mm["other"], mm.index)).to_numpy(dtype=object),
                    "source_ids": mm["source_ids"].to_numpy(dtype=object),
                }
            )
        )
    for table, a_col, b_col, verb in (
        ("invites", "inviter_id", "invitee_id", "invite with"),
        ("invites", "invitee_id", "inviter_id", "invite with"),
        ("transactions", "from_id", "to_id", "payment with"),
        ("transactions", "to_id", "from_id", "payment with"),
    ):
        t = tables[table]
        t = t[t[a_col].isin(top_set) & (t[a_col] != t[b_col])]
        if t.empty:
            continue
        own = comm_of(t[a_col])
        other = comm_of(t[b_col])
        t = t.assign(account_id=t[a_col], other=other)[own != other]
        if t.empty:
            continue
        if table == "invites":
            chan = t["channel_id"].astype(object).where(t["channel_id"].notna(), "")
            when = t["invited_at"].astype(object).where(t["invited_at"].notna(), "")
            t = t.assign(key=t["inviter_id"] + "|" + t["invitee_id"] + "|" + chan + "|" + when)
        else:
            t = t.assign(key=t["txn_id"])
        t = _limit(t, ["key"], [True], limit)
        frames.append(
            pd.DataFrame(
                {
                    "account_id": t["account_id"].to_numpy(dtype=object),
                    "record_table": table,
                    "record_key": t["key"].to_numpy(dtype=object),
                    "detail": (verb + " " + t[b_col] + " in community "
                               + _text(t["other"], t.index)).to_numpy(dtype=object),
                    "source_ids": t["source_ids"].to_numpy(dtype=object),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=list(EVIDENCE_COLUMNS[:1] + EVIDENCE_COLUMNS[2:]))
    return pd.concat(frames, ignore_index=True)
