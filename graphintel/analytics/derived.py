"""What the dashboard shows that is derived, computed once at ``graphintel analyze``.

Each function is the one implementation of its derivation; :func:`derive_tables` runs them all
and :func:`graphintel.analytics.pipeline.analyze_store` persists the results
(:data:`graphintel.model.RESULT_TABLES`), which :mod:`graphintel.dataset` reads back. Nothing
here is recomputed when a page is shown.

Aggregates (``activity_daily``, ``credits_daily``, ``role_flows``, ``community_flows``) keep the
``source_ids`` of the records they sum: one row per distinct source list, so that summing the
rows whose sources overlap a case scope gives the exact scoped aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphintel.analytics import flows as _flows
from graphintel.analytics.graph import (
    ACCOUNT_ID_COLUMNS,
    CHANNEL_ID_COLUMNS,
    IdCodes,
    _dedup_objects,
    account_universe,
    channel_universe,
    prepare_tables,
)
from graphintel.model import RESULT_TABLES

__all__ = [
    "DERIVED_TABLES",
    "DERIVE_COLUMNS",
    "PREPARE_COLUMNS",
    "activity_daily",
    "community_flows",
    "credits_daily",
    "derive_prepared",
    "derive_tables",
    "org_targets",
    "role_flows",
    "room_table",
]

DERIVED_TABLES = (
    "rooms",
    "activity_daily",
    "credits_daily",
    "role_flows",
    "community_flows",
    "org_targets",
)

DERIVE_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id", "handle", "display_name", "is_bot"),
    "channels": ("channel_id", "title", "kind", "is_public", "creator_id", "source_ids"),
    "memberships": ("account_id", "channel_id", "role", "joined_at", "source_ids"),
    "invites": ("inviter_id", "invitee_id", "invited_at", "source_ids"),
    "transactions": ("txn_id", "from_id", "to_id", "credits", "kind", "ts", "source_ids"),
    "forwards": ("from_channel_id", "to_channel_id"),
    "organizations": ("org_id", "name", "kind", "region", "lat", "lon", "source_ids"),
    "targets": ("channel_id", "org_id"),
}
"""The columns :func:`derive_tables` reads."""

PREPARE_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(
        dict.fromkeys(
            DERIVE_COLUMNS.get(name, ())
            + ACCOUNT_ID_COLUMNS.get(name, ())
            + CHANNEL_ID_COLUMNS.get(name, ())
        )
    )
    for name in dict.fromkeys([*DERIVE_COLUMNS, *ACCOUNT_ID_COLUMNS, *CHANNEL_ID_COLUMNS])
}
"""The columns :func:`derive_tables` normalises: :data:`DERIVE_COLUMNS` and every id column."""
_source_key = _flows.source_key
_sources = _flows.source_lists


def _cols(name: str) -> list[str]:
    return list(RESULT_TABLES[name])


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in _cols(name)})


def _labels(accounts: pd.DataFrame, ids: pd.Series) -> pd.Series:
    a = accounts.drop_duplicates("account_id").set_index("account_id")
    handle = a["handle"].reindex(ids.to_numpy())
    name = a["display_name"].reindex(ids.to_numpy())
    out = handle.where(handle.notna() & (handle != ""), name)
    out = out.where(out.notna() & (out != ""), pd.Series(ids.to_numpy(), index=out.index))
    return pd.Series(out.to_numpy(dtype=object), index=ids.index, dtype=object)


def room_table(
    tables: Mapping[str, pd.DataFrame],
    channel_metrics: pd.DataFrame,
    *,
    channel_ids: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per room: the ``rooms`` result (members and admins from ``channel_metrics``),
    by members descending, then channel id. ``channel_ids`` is the tables' channel universe
    (:func:`graphintel.analytics.graph.channel_universe`) when already known.

    Examples
    --------
    >>> t = prepare_tables({
    ...     "channels": pd.DataFrame({"channel_id": ["X", "Y"], "title": ["R&D", None],
    ...                               "creator_id": ["A", None]}),
    ...     "accounts": pd.DataFrame({"account_id": ["A"], "handle": ["@a"]}),
    ...     "forwards": pd.DataFrame({"from_channel_id": ["X"], "to_channel_id": ["Y"]})})
    >>> cm = pd.DataFrame({"channel_id": ["X", "Y"], "community": [0, 1], "members": [1, 3],
    ...                    "admins": [1, 0]})
    >>> room_table(t, cm)[["channel_id", "title", "creator", "members", "forwards_out"]].values.tolist()
    [['Y', None, None, 3, 0], ['X', 'R&D', '@a', 1, 1]]
    """
    ch = tables["channels"].reindex(
        columns=["channel_id", "title", "kind", "is_public", "creator_id", "source_ids"]
    )
    universe = channel_universe(tables) if channel_ids is None else channel_ids
    rooms = pd.DataFrame({"channel_id": universe}).merge(ch, on="channel_id", how="left")
    cm = channel_metrics.reindex(columns=["channel_id", "members", "admins", "community"])
    rooms = rooms.merge(cm, on="channel_id", how="left")
    for c in ("members", "admins"):
        rooms[c] = pd.to_numeric(rooms[c], errors="coerce").fillna(0).astype(np.int64)
    rooms["community"] = pd.to_numeric(rooms["community"], errors="coerce").astype("Int64")
    creator = rooms["creator_id"]
    rooms["creator"] = _labels(tables["accounts"], creator.fillna("")).where(creator.notna(), None)
    tg = tables["targets"].merge(
        tables["organizations"][["org_id", "name"]], on="org_id", how="left"
    )
    tg["name"] = tg["name"].fillna(tg["org_id"])
    names = tg.groupby("channel_id")["name"].agg(lambda s: "; ".join(sorted(map(str, s))))
    rooms["targets"] = rooms["channel_id"].map(names).astype(object)
    rooms["targets"] = rooms["targets"].where(rooms["targets"].notna(), None)
    f = tables["forwards"]
    rooms["forwards_out"] = rooms["channel_id"].map(f["from_channel_id"].value_counts()).fillna(0)
    rooms["forwards_in"] = rooms["channel_id"].map(f["to_channel_id"].value_counts()).fillna(0)
    rooms[["forwards_out", "forwards_in"]] = rooms[["forwards_out", "forwards_in"]].astype(np.int64)
    m = tables["memberships"].dropna(subset=["joined_at"])
    joins = m.groupby("channel_id")["joined_at"].agg(["min", "max"])
    rooms["first_join"] = rooms["channel_id"].map(joins["min"]).astype(object)
    rooms["last_join"] = rooms["channel_id"].map(joins["max"]).astype(object)
    for c in ("first_join", "last_join", "title", "kind", "creator_id"):
        rooms[c] = rooms[c].astype(object).where(rooms[c].notna(), None)
    rooms["source_ids"] = [
        v if isinstance(v, (list, np.ndarray)) else [] for v in rooms["source_ids"]
    ]
    rooms = rooms.sort_values(["members", "channel_id"], ascending=[False, True])
    return rooms[_cols("rooms")].reset_index(drop=True)


def _daily(ts: pd.Series) -> pd.Series:
    """The first 10 characters (``YYYY-MM-DD``) of each timestamp, ``None`` where missing."""
    obj = ts.to_numpy(dtype=object)
    try:
        arr = pa.array(obj, type=pa.string(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return ts.astype(object).where(ts.notna(), None).str.slice(0, 10)
    day = _dedup_objects(pc.utf8_slice_codeunits(arr, 0, 10), empty_is_missing=False)
    return pd.Series(day, index=ts.index, dtype=object)


def activity_daily(
    tables: Mapping[str, pd.DataFrame],
    *,
    source_keys: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Joins, invites and purchases per day (``day`` as ``YYYY-MM-DD``) and source list.

    Examples
    --------
    >>> t = prepare_tables({
    ...     "memberships": pd.DataFrame({"account_id": ["A", "B"], "channel_id": ["X", "X"],
    ...                                  "joined_at": ["2024-01-01T10:00:00", "2024-01-01T11:00:00"],
    ...                                  "source_ids": [["S1"], ["S1"]]})})
    >>> activity_daily(t).values.tolist()
    [['2024-01-01', 'joins', 2, ['S1']]]
    """
    tx = tables["transactions"]
    purchase = (tx["kind"] == "purchase").to_numpy(dtype=bool)
    tx = tx[purchase]
    keys = dict(source_keys or {})
    if "transactions" in keys:
        keys["transactions"] = keys["transactions"][purchase]
    parts = []
    for activity, table, frame, col in (
        ("joins", "memberships", tables["memberships"], "joined_at"),
        ("invites", "invites", tables["invites"], "invited_at"),
        ("purchases", "transactions", tx, "ts"),
    ):
        if frame.empty:
            continue
        sk = keys.get(table)
        if sk is None:
            sk = _source_key(frame.get("source_ids", pd.Series([None] * len(frame))))
        parts.append(
            pd.DataFrame({"day": _daily(frame[col]).to_numpy(), "activity": activity, "_sk": sk})
        )
    if not parts:
        return _empty("activity_daily")
    frame = pd.concat(parts, ignore_index=True).dropna(subset=["day"])
    out = frame.groupby(["day", "activity", "_sk"]).size().rename("count").reset_index()
    out["count"] = out["count"].astype(np.int64)
    out["source_ids"] = _sources(out["_sk"])
    out = out.sort_values(["day", "activity", "_sk"]).reset_index(drop=True)
    return out[_cols("activity_daily")]


def credits_daily(
    transactions: pd.DataFrame, *, source_keys: np.ndarray | None = None
) -> pd.DataFrame:
    """Credits and transactions per day (``YYYY-MM-DD``), kind and source list; transactions
    without ``ts`` are left out.

    Examples
    --------
    >>> tx = pd.DataFrame({"credits": [1.0, 2.0], "kind": ["purchase", None],
    ...                    "ts": ["2024-01-01T10:00:00", "2024-01-01T11:00:00"],
    ...                    "source_ids": [["S1"], ["S1"]]})
    >>> credits_daily(tx).values.tolist()
    [['2024-01-01', 'purchase', 1.0, 1, ['S1']], ['2024-01-01', 'unknown', 2.0, 1, ['S1']]]
    """
    if transactions.empty:
        return _empty("credits_daily")
    frame = pd.DataFrame(
        {
            "day": _daily(transactions["ts"]).to_numpy(),
            "kind": transactions["kind"].fillna("unknown").astype(object).to_numpy(),
            "credits": pd.to_numeric(transactions["credits"], errors="coerce")
            .fillna(0.0)
            .to_numpy(float),
            "_sk": _tx_keys(transactions, source_keys),
        }
    ).dropna(subset=["day"])
    out = frame.groupby(["day", "kind", "_sk"]).agg(
        credits=("credits", "sum"), transactions=("credits", "size")
    )
    out = out.reset_index()
    out["transactions"] = out["transactions"].astype(np.int64)
    out["source_ids"] = _sources(out["_sk"])
    return out[_cols("credits_daily")]


def _tx_keys(transactions: pd.DataFrame, source_keys: np.ndarray | None) -> np.ndarray:
    if source_keys is not None:
        return source_keys
    return _source_key(transactions.get("source_ids", pd.Series([None] * len(transactions))))


def _flows_by(
    transactions: pd.DataFrame,
    groups: pd.Series,
    name: str,
    *,
    source_keys: np.ndarray | None = None,
    positions: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """:func:`graphintel.analytics.flows.flows_between` per source list, as result ``name``."""
    if transactions.empty:
        return _empty(name)
    out = _flows.flows_between(
        transactions, groups, by_source=True, source_keys=source_keys, positions=positions
    )
    return out[_cols(name)]


def role_flows(
    tables: Mapping[str, pd.DataFrame],
    *,
    source_keys: np.ndarray | None = None,
    positions: tuple[np.ndarray, np.ndarray] | None = None,
    account_ids: np.ndarray | None = None,
    codes: IdCodes | None = None,
) -> pd.DataFrame:
    """Credits between roles (operator, admin, member, bot; see
    :func:`graphintel.analytics.flows.account_roles`) per source list.

    Examples
    --------
    >>> t = prepare_tables({"channels": pd.DataFrame({"channel_id": ["X"], "creator_id": ["A"]}),
    ...      "transactions": pd.DataFrame({"txn_id": ["T1"], "from_id": ["B"], "to_id": ["A"],
    ...                                    "credits": [5.0], "kind": ["purchase"]})})
    >>> role_flows(t)[["source", "target", "credits", "transactions"]].values.tolist()
    [['member', 'operator', 5.0, 1]]
    """
    universe = account_universe(tables) if account_ids is None else account_ids
    roles = _flows.account_roles(tables, universe, codes=codes)
    return _flows_by(
        tables["transactions"], roles, "role_flows", source_keys=source_keys, positions=positions
    )


def community_flows(
    transactions: pd.DataFrame,
    account_metrics: pd.DataFrame,
    *,
    source_keys: np.ndarray | None = None,
    positions: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Credits between communities, labelled ``community N`` (``unknown`` for an account
    without one), per source list. The dashboard groups communities outside the top ones as
    ``other`` when it reads them (:meth:`graphintel.dataset.Dataset.community_flows`).

    Examples
    --------
    >>> tx = pd.DataFrame({"from_id": ["A"], "to_id": ["B"], "credits": [2.0], "kind": ["x"]})
    >>> am = pd.DataFrame({"account_id": ["A", "B"], "community": [0, 1]})
    >>> community_flows(tx, am)[["source", "target", "credits"]].values.tolist()
    [['community 0', 'community 1', 2.0]]
    """
    lab = "community " + pd.to_numeric(account_metrics["community"]).astype("Int64").astype(str)
    groups = pd.Series(lab.to_numpy(), index=account_metrics["account_id"].to_numpy())
    return _flows_by(
        transactions, groups, "community_flows", source_keys=source_keys, positions=positions
    )


def org_targets(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Organisations with the rooms reported as targeting them: ``rooms``,
    ``members_reached`` (distinct members of those rooms), ``room_titles``; most rooms first.

    Examples
    --------
    >>> t = prepare_tables({
    ...     "organizations": pd.DataFrame({"org_id": ["O1", "O2"], "name": ["x", "y"]}),
    ...     "targets": pd.DataFrame({"channel_id": ["C1", "C2"], "org_id": ["O1", "O1"]}),
    ...     "memberships": pd.DataFrame({"account_id": ["A", "A", "B"],
    ...                                  "channel_id": ["C1", "C2", "C2"]})})
    >>> org_targets(t)[["org_id", "rooms", "members_reached"]].values.tolist()
    [['O1', 2, 2], ['O2', 0, 0]]
    """
    org = tables["organizations"].reindex(
        columns=["org_id", "name", "kind", "region", "lat", "lon", "source_ids"]
    )
    tg = tables["targets"][["channel_id", "org_id"]].drop_duplicates()
    rooms_n = tg.groupby("org_id")["channel_id"].nunique()
    reach = (
        tg.merge(tables["memberships"][["channel_id", "account_id"]], on="channel_id")
        .drop_duplicates(["org_id", "account_id"])
        .groupby("org_id")
        .size()
    )
    titles = tables["channels"].drop_duplicates("channel_id").set_index("channel_id")["title"]
    t = tg["channel_id"].map(titles)
    tt = tg.assign(title=t.astype(object).where(t.notna(), tg["channel_id"]))
    names = tt.groupby("org_id")["title"].agg(lambda s: "; ".join(sorted(map(str, s))))
    out = org.copy()
    out["rooms"] = out["org_id"].map(rooms_n).fillna(0).astype(np.int64)
    out["members_reached"] = out["org_id"].map(reach).fillna(0).astype(np.int64)
    out["room_titles"] = out["org_id"].map(names).astype(object)
    out["room_titles"] = out["room_titles"].where(out["room_titles"].notna(), None)
    out["lat"] = pd.to_numeric(out["lat"], errors="coerce").astype(float)
    out["lon"] = pd.to_numeric(out["lon"], errors="coerce").astype(float)
    out["source_ids"] = [v if isinstance(v, (list, np.ndarray)) else [] for v in out["source_ids"]]
    out = out.sort_values(["rooms", "members_reached", "org_id"], ascending=[False, False, True])
    return out[_cols("org_targets")].reset_index(drop=True)


def derive_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    account_metrics: pd.DataFrame,
    channel_metrics: pd.DataFrame,
    release: bool = False,
) -> dict[str, pd.DataFrame]:
    """Every table of :data:`DERIVED_TABLES` from canonical tables (any may be missing) and the
    metrics :func:`graphintel.analytics.pipeline.analyze_tables` computed.

    With ``release``, ``tables`` is a dict handed over by the caller and emptied once prepared,
    so the raw frames are freed while the derivations run."""
    # only the columns the derivations read (and every id column, which make the universes):
    # normalising the others (filled with None when not read) would be wasted work
    t = prepare_tables(tables, columns=PREPARE_COLUMNS)
    if release and isinstance(tables, dict):
        tables.clear()
    return derive_prepared(t, account_metrics=account_metrics, channel_metrics=channel_metrics)


def derive_prepared(
    t: Mapping[str, pd.DataFrame],
    *,
    account_metrics: pd.DataFrame,
    channel_metrics: pd.DataFrame,
    codes: IdCodes | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`derive_tables` over tables already prepared
    (:func:`graphintel.analytics.graph.prepare_tables` with at least :data:`PREPARE_COLUMNS`),
    e.g. those the analytics ran on; ``codes`` are their id codes when known (saves hashing the
    payer and payee ids again)."""
    # each table's source keys once, and the payer / payee positions in the account universe
    # once (role and community labels are both indexed by it), shared by the aggregates
    keys = {
        name: _source_key(t[name]["source_ids"])
        for name in ("memberships", "invites", "transactions")
        if "source_ids" in t[name].columns
    }
    tx = t["transactions"]
    if codes is not None:
        universe = codes.account_ids
        ends = (codes("transactions", "from_id"), codes("transactions", "to_id"))
    else:
        universe = account_universe(t)
        index = pd.Index(universe)
        ends = (
            index.get_indexer(pd.Index(tx["from_id"])),
            index.get_indexer(pd.Index(tx["to_id"])),
        )
    metric_ids = account_metrics["account_id"].to_numpy(dtype=object)
    same = len(metric_ids) == len(universe) and bool(np.array_equal(metric_ids, universe))
    return {
        "rooms": room_table(
            t, channel_metrics, channel_ids=None if codes is None else codes.channel_ids
        ),
        "activity_daily": activity_daily(t, source_keys=keys),
        "credits_daily": credits_daily(tx, source_keys=keys.get("transactions")),
        "role_flows": role_flows(
            t,
            source_keys=keys.get("transactions"),
            positions=ends,
            account_ids=universe,
            codes=codes,
        ),
        "community_flows": community_flows(
            tx,
            account_metrics,
            source_keys=keys.get("transactions"),
            positions=ends if same else None,
        ),
        "org_targets": org_targets(t),
    }
