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
``buyers``
    Breadth of buyers: distinct accounts that paid the account in ``purchase`` transactions or
    transactions of no stated kind (:func:`graphintel.analytics.economy.buyer_pairs`). Many
    distinct payers into one account is the signature of a seller, and it needs nothing but
    payments, so sellers rank even in a payments-only source. Evidence: one transaction per
    buyer, largest first.
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
import pyarrow as pa
import pyarrow.compute as pc

from graphintel.analytics.economy import buyer_pairs
from graphintel.analytics.graph import IdCodes, _codes, source_list
from graphintel.errors import AnalyticsError
from graphintel.model import RESULT_TABLES

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
    "buyers",
    "bot_use",
    "bridging",
    "organizations_targeted",
)
DEFAULT_WEIGHTS: dict[str, float] = {
    "rooms_operated": 0.20,
    "referral_descendants": 0.20,
    "credits_received": 0.15,
    "buyers": 0.10,
    "bot_use": 0.10,
    "bridging": 0.10,
    "organizations_targeted": 0.15,
}
ROLE_WEIGHT = {"owner": 1.0, "admin": 0.5}
EVIDENCE_COLUMNS = RESULT_TABLES["priority_evidence"]
COMPONENT_COLUMNS = RESULT_TABLES["priority_components"]


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
    tables: Mapping[str, pd.DataFrame],
    account_ids: np.ndarray,
    channel_ids: np.ndarray,
    *,
    codes: IdCodes | None = None,
) -> pd.DataFrame:
    """Rooms each account operates: ``acc``, ``chan`` (codes), ``role`` (owner/admin),
    ``role_weight``, ``record_table``, ``record_key``, ``source_ids``; one row per (account,
    room), the strongest role kept (creator counts as owner; ties prefer the membership record).
    ``codes``: optional precomputed id codes of ``tables`` (:func:`graphintel.analytics.graph.encode_tables`).

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
    is_staff = m["role"].isin(["owner", "admin"]).to_numpy(dtype=bool)
    staff = m[is_staff]
    a = pd.DataFrame(
        {
            "acc": _codes(codes, tables, "memberships", "account_id", account_ids)[is_staff],
            "chan": _codes(codes, tables, "memberships", "channel_id", channel_ids)[is_staff],
            "role": staff["role"].to_numpy(dtype=object),
            "record_table": "memberships",
            "record_key": (staff["account_id"] + "|" + staff["channel_id"]).to_numpy(dtype=object),
            "source_ids": staff["source_ids"].to_numpy(dtype=object),
            "pref": 0,
        }
    )
    c = tables["channels"]
    has_creator = c["creator_id"].notna().to_numpy(dtype=bool)
    created = c[has_creator]
    b = pd.DataFrame(
        {
            "acc": _codes(codes, tables, "channels", "creator_id", account_ids)[has_creator],
            "chan": _codes(codes, tables, "channels", "channel_id", channel_ids)[has_creator],
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
    rooms = rooms.sort_values(
        ["acc", "chan", "role_weight", "pref"], ascending=[True, True, False, True]
    )
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
    codes: IdCodes | None = None,
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
    codes : IdCodes, optional
        Precomputed id codes of ``tables`` (:func:`graphintel.analytics.graph.encode_tables`) on
        the same account and channel universes; ids are hashed here when not given.

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
    rooms = operated_rooms(tables, acc, channel_ids, codes=codes)
    r_acc = rooms["acc"].to_numpy(np.int64)
    r_chan = rooms["chan"].to_numpy(np.int64)
    raw: dict[str, np.ndarray] = {}
    raw["rooms_operated"] = np.bincount(
        r_acc, weights=rooms["role_weight"].to_numpy() * channel_members[r_chan], minlength=n
    ).astype(np.float64)
    raw["referral_descendants"] = metrics["referral_descendants"].to_numpy(np.float64)
    raw["credits_received"] = metrics["credits_in"].to_numpy(np.float64)
    buyer_to, _ = buyer_pairs(tables["transactions"], acc, codes=codes)
    raw["buyers"] = np.bincount(buyer_to, minlength=n).astype(np.float64)

    # bots: bot members of operated rooms + operated rooms of kind bot
    bot_links = _bot_links(tables, rooms, acc, channel_ids, codes)
    raw["bot_use"] = np.bincount(bot_links["acc"].to_numpy(np.int64), minlength=n).astype(
        np.float64
    )
    raw["bridging"] = metrics["bridging"].to_numpy(np.float64)
    org_links = _org_links(tables, rooms, channel_ids, codes)
    raw["organizations_targeted"] = np.bincount(
        org_links["acc"].to_numpy(np.int64), minlength=n
    ).astype(np.float64)

    contrib = {c: w[c] * _scaled(raw[c]) for c in COMPONENTS}
    score = np.zeros(n)
    for c in COMPONENTS:
        score = score + contrib[c]
    # 12 decimals: numpy's log1p differs in the last bit between CPUs (AVX-512 and AVX2 kernels),
    # which must not reorder accounts whose scores are equal but for that bit
    score = np.round(score, 12)
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
        codes,
    )
    return PriorityResult(scores, comp_frame, evidence)


def _bot_links(
    tables: Mapping[str, pd.DataFrame],
    rooms: pd.DataFrame,
    acc: np.ndarray,
    chan_ids: np.ndarray,
    codes: IdCodes | None = None,
) -> pd.DataFrame:
    """Distinct (operator, bot) links with the record behind each."""
    a = tables["accounts"]
    is_bot = a["is_bot"].astype(bool).to_numpy()
    botmask = np.zeros(len(acc) + 1, dtype=bool)  # last slot: missing / unknown ids (code -1)
    botmask[_codes(codes, tables, "accounts", "account_id", acc)[is_bot]] = True
    botmask[-1] = False
    m = tables["memberships"]
    sel = botmask[_codes(codes, tables, "memberships", "account_id", acc)]
    bm = m[sel]
    bots = pd.DataFrame(
        {
            "chan": _codes(codes, tables, "memberships", "channel_id", chan_ids)[sel],
            "bot": bm["account_id"].to_numpy(dtype=object),
            "record_table": "memberships",
            "record_key": (bm["account_id"] + "|" + bm["channel_id"]).to_numpy(dtype=object),
            "source_ids": bm["source_ids"].to_numpy(dtype=object),
        }
    )
    via = rooms[["acc", "chan"]].merge(bots, on="chan")
    via = via[via["bot"].to_numpy(dtype=object) != acc[via["acc"].to_numpy(np.int64)]]
    via = via.assign(
        detail="bot account "
        + via["bot"]
        + " is a member of operated room "
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
    tables: Mapping[str, pd.DataFrame],
    rooms: pd.DataFrame,
    chan_ids: np.ndarray,
    codes: IdCodes | None = None,
) -> pd.DataFrame:
    """Distinct (operator, organisation) links via targets of operated rooms."""
    t = tables["targets"]
    orgs = tables["organizations"][["org_id", "name"]]
    tt = pd.DataFrame(
        {
            "chan": _codes(codes, tables, "targets", "channel_id", chan_ids),
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
        detail="operated room "
        + links["channel_id"]
        + " targets "
        + links["org_id"]
        + np.where(name != "", " (" + name.astype(str) + ")", ""),
    )
    return links.reset_index(drop=True)


def _dense_rank(values: pd.Series) -> np.ndarray:
    """Dense ranks of str values in ``str`` order, missing values last (pandas' sort order)."""
    arr = values.to_numpy(dtype=object)
    missing = pd.isna(arr)
    if not missing.any() and len(arr) > 1:
        try:
            if values.is_monotonic_increasing:  # e.g. txn_id, the order transactions come in
                return np.concatenate([[0], np.cumsum(arr[1:] != arr[:-1])]).astype(np.int64)
        except TypeError:
            pass
    try:
        ranks = pc.rank(
            pa.array(arr, type=pa.large_string(), from_pandas=True),
            sort_keys="ascending",
            tiebreaker="dense",
        )
        return ranks.to_numpy(zero_copy_only=False).astype(np.int64)
    except (pa.ArrowException, TypeError, ValueError):
        codes, uniques = pd.factorize(arr, sort=True, use_na_sentinel=True)
        codes = codes.astype(np.int64)
        codes[codes < 0] = len(uniques)
        return codes


def _sort_key(values: pd.Series, ascending: bool) -> np.ndarray:
    """A numeric key ordering like ``sort_values`` on ``values`` (missing values last)."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        v = values.to_numpy(dtype=np.int64)
        return v if ascending else -v
    if pd.api.types.is_float_dtype(values.dtype):
        f = values.to_numpy(dtype=np.float64)
        return f if ascending else -f  # NaN stays NaN: np.lexsort puts it last
    r = _dense_rank(values)
    return r if ascending else np.where(pd.isna(values.to_numpy(dtype=object)), r, -r)


def _limit(
    frame: pd.DataFrame,
    sort: list[str],
    ascending: list[bool],
    limit: int,
    account: np.ndarray,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """The first ``limit`` rows per account in ``sort`` order (before any string building).

    ``account`` holds each row's account code (positions in the sorted account universe, so
    code order is account_id order). Same rows and order as a stable
    ``sort_values(["account_id", *sort])`` followed by ``groupby("account_id").head(limit)``,
    but sorted with numpy on numeric keys. With ``rows`` (positions), only those rows of
    ``frame`` are considered (``account`` then goes with ``rows``) and only the kept ones are
    taken from ``frame``.
    """
    n = len(frame) if rows is None else len(rows)
    if n == 0:
        return frame if rows is None else frame.iloc[:0]
    keys = [np.arange(n)]  # stable: input order breaks the remaining ties
    for col, asc in reversed(list(zip(sort, ascending))):
        values = frame[col] if rows is None else frame[col].iloc[rows].reset_index(drop=True)
        keys.append(_sort_key(values, asc))
    account = np.asarray(account, dtype=np.int64)
    keys.append(account)
    order = np.lexsort(keys)
    a = account[order]
    first = np.ones(n, dtype=bool)
    first[1:] = a[1:] != a[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    keep = (np.arange(n) - group_start) < limit
    return frame.iloc[order[keep] if rows is None else rows[order[keep]]]


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
    codes: IdCodes | None = None,
) -> pd.DataFrame:
    cols = list(EVIDENCE_COLUMNS)
    parts: list[pd.DataFrame] = []
    top_set = pd.Index(acc[top])
    topmask = np.zeros(len(acc) + 1, dtype=bool)  # last slot: missing / unknown ids (code -1)
    topmask[top] = True

    def ac(table: str, col: str) -> np.ndarray:
        return _codes(codes, tables, table, col, acc)

    def add(frame: pd.DataFrame, component: str) -> None:
        if len(frame):
            parts.append(frame.assign(component=component)[cols])

    # rooms operated: biggest rooms first
    r = rooms[topmask[rooms["acc"].to_numpy(np.int64)]] if len(rooms) else rooms
    if len(r):
        ch = r["chan"].to_numpy(np.int64)
        r = r.assign(
            account_id=acc[r["acc"].to_numpy(np.int64)],
            members=members[ch],
            channel_id=chan_ids[ch],
        )
        r = _limit(r, ["members", "record_key"], [False, True], limit, r["acc"].to_numpy())
        add(
            r.assign(
                detail=r["role"]
                + " of room "
                + _text(r["channel_id"], r.index)
                + " ("
                + _text(r["members"], r.index)
                + " members)"
            ),
            "rooms_operated",
        )
    # referral descendants: the account's invite records, earliest first
    inv = tables["invites"]
    inviter, invitee = ac("invites", "inviter_id"), ac("invites", "invitee_id")
    sel = topmask[inviter] & (inviter != invitee)
    inv = inv[sel]
    if len(inv):
        when = inv["invited_at"].astype(object).where(inv["invited_at"].notna(), "")
        inv = inv.assign(account_id=inv["inviter_id"], t=when.where(when != "", "~"), when=when)
        inv = _limit(inv, ["t", "invitee_id"], [True, True], limit, inviter[sel])
        chan = inv["channel_id"].astype(object).where(inv["channel_id"].notna(), "")
        add(
            inv.assign(
                record_table="invites",
                record_key=inv["inviter_id"]
                + "|"
                + inv["invitee_id"]
                + "|"
                + chan
                + "|"
                + inv["when"],
                detail="invited "
                + inv["invitee_id"]
                + np.where(inv["when"] != "", " at " + inv["when"].astype(str), ""),
            ),
            "referral_descendants",
        )
    # credits received: largest transactions first
    tx = tables["transactions"]
    to = ac("transactions", "to_id")
    rows = np.flatnonzero(topmask[to])
    if len(rows):
        rx = _limit(tx, ["credits", "txn_id"], [False, True], limit, to[rows], rows)
        rx = rx.assign(account_id=rx["to_id"])
        kind = rx["kind"].astype(object).where(rx["kind"].notna(), "unspecified")
        add(
            rx.assign(
                record_table="transactions",
                record_key=rx["txn_id"],
                detail=rx["credits"].map("{:g}".format).astype(object)
                + " credits from "
                + rx["from_id"]
                + " ("
                + kind
                + ")",
            ),
            "credits_received",
        )
    # buyers: the largest payment from each distinct buyer, largest first
    kind_tx = tx["kind"].to_numpy(dtype=object)
    frm = ac("transactions", "from_id")
    rows = np.flatnonzero(
        topmask[to] & (to != frm) & (frm >= 0) & ((kind_tx == "purchase") | pd.isna(kind_tx))
    )
    if len(rows):
        order = np.lexsort((rows, -tx["credits"].fillna(0.0).to_numpy(np.float64)[rows]))
        first = pd.DataFrame({"to": to[rows[order]], "frm": frm[rows[order]]}).duplicated()
        rows = rows[order][~first.to_numpy()]
        bx = _limit(tx, ["credits", "txn_id"], [False, True], limit, to[rows], rows)
        bx = bx.assign(account_id=bx["to_id"])
        kind = bx["kind"].astype(object).where(bx["kind"].notna(), "unspecified")
        add(
            bx.assign(
                record_table="transactions",
                record_key=bx["txn_id"],
                detail="buyer "
                + bx["from_id"]
                + " paid "
                + bx["credits"].map("{:g}".format).astype(object)
                + " credits ("
                + kind
                + ")",
            ),
            "buyers",
        )
    # bot use
    b = bot_links[topmask[bot_links["acc"].to_numpy(np.int64)]] if len(bot_links) else bot_links
    if len(b):
        b = b.assign(account_id=acc[b["acc"].to_numpy(np.int64)])
        add(_limit(b, ["record_key"], [True], limit, b["acc"].to_numpy()), "bot_use")
    # organisations targeted
    o = org_links[topmask[org_links["acc"].to_numpy(np.int64)]] if len(org_links) else org_links
    if len(o):
        o = o.assign(account_id=acc[o["acc"].to_numpy(np.int64)])
        add(_limit(o, ["record_key"], [True], limit, o["acc"].to_numpy()), "organizations_targeted")
    # bridging: records reaching another community
    br = _bridging_records(tables, topmask, acc, community, chan_ids, chan_comm, limit, codes)
    if len(br):
        br = _limit(br, ["record_table", "record_key"], [True, True], limit, br["_acc"].to_numpy())
        add(br, "bridging")

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
    topmask: np.ndarray,
    acc: np.ndarray,
    community: np.ndarray,
    chan_ids: np.ndarray,
    chan_comm: np.ndarray,
    limit: int,
    codes: IdCodes | None = None,
) -> pd.DataFrame:
    """Records of the top accounts (``topmask``: one flag per account code, plus a last False
    slot for code -1) that reach another community."""
    comm = np.append(np.asarray(community, dtype=np.int64), -1)  # code -1 → community -1
    ccomm = np.append(np.asarray(chan_comm, dtype=np.int64), -1)

    def ac(table: str, col: str) -> np.ndarray:
        return _codes(codes, tables, table, col, acc)

    frames = []
    m = tables["memberships"]
    m_acc = ac("memberships", "account_id")
    rows = np.flatnonzero(topmask[m_acc])
    other = ccomm[_codes(codes, tables, "memberships", "channel_id", chan_ids)[rows]]
    cross = comm[m_acc[rows]] != other
    rows, other = rows[cross], other[cross]
    if len(rows):
        mm = m.iloc[rows].assign(other=other, _acc=m_acc[rows])
        mm = _limit(mm, ["channel_id"], [True], limit, mm["_acc"].to_numpy())
        frames.append(
            pd.DataFrame(
                {
                    "_acc": mm["_acc"].to_numpy(dtype=np.int64),
                    "account_id": mm["account_id"].to_numpy(dtype=object),
                    "record_table": "memberships",
                    "record_key": (mm["account_id"] + "|" + mm["channel_id"]).to_numpy(
                        dtype=object
                    ),
                    "detail": (
                        "member of room "
                        + mm["channel_id"]
                        + " in community "
                        + _text(mm["other"], mm.index)
                    ).to_numpy(dtype=object),
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
        a_codes, b_codes = ac(table, a_col), ac(table, b_col)
        rows = np.flatnonzero(topmask[a_codes] & (a_codes != b_codes))
        other = comm[b_codes[rows]]
        cross = comm[a_codes[rows]] != other
        rows, other = rows[cross], other[cross]
        if len(rows) == 0:
            continue
        t = tables[table].iloc[rows]
        t = t.assign(account_id=t[a_col], other=other, _acc=a_codes[rows])
        if table == "invites":
            chan = t["channel_id"].astype(object).where(t["channel_id"].notna(), "")
            when = t["invited_at"].astype(object).where(t["invited_at"].notna(), "")
            t = t.assign(key=t["inviter_id"] + "|" + t["invitee_id"] + "|" + chan + "|" + when)
        else:
            t = t.assign(key=t["txn_id"])
        t = _limit(t, ["key"], [True], limit, t["_acc"].to_numpy())
        frames.append(
            pd.DataFrame(
                {
                    "_acc": t["_acc"].to_numpy(dtype=np.int64),
                    "account_id": t["account_id"].to_numpy(dtype=object),
                    "record_table": table,
                    "record_key": t["key"].to_numpy(dtype=object),
                    "detail": (
                        verb + " " + t[b_col] + " in community " + _text(t["other"], t.index)
                    ).to_numpy(dtype=object),
                    "source_ids": t["source_ids"].to_numpy(dtype=object),
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["_acc", *EVIDENCE_COLUMNS[:1], *EVIDENCE_COLUMNS[2:]])
    return pd.concat(frames, ignore_index=True)
