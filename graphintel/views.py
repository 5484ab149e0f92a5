"""Data shaping for the dashboard: plain functions over a store or tables, returning frames.

No Streamlit, no SQL or Cypher here: data comes from :class:`graphintel.store.base.GraphStore`
(``table``, ``results``, ``sources``, ``counts``) and the analytics helpers. Pages call these
functions and render what they return, so everything a page shows can be tested without a
browser.

Tables handed to these functions are *prepared* tables
(:func:`graphintel.analytics.graph.prepare_tables`: ids as ``str``/``None``, ISO timestamps as
``str``); :func:`load_tables` returns them.

Large graphs
------------
Network views keep at most ``max_nodes`` nodes, chosen by relevance (largest rooms / accounts,
or the ego network of a selection) and return a :class:`NetworkView` whose ``note`` says what
was left out.
"""

from __future__ import annotations

import html
import io
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphintel.analytics import flows as _flows
from graphintel.analytics import referral as _referral
from graphintel.analytics.channels import channel_links
from graphintel.analytics.graph import account_universe, channel_universe, prepare_tables
from graphintel.errors import AnalyticsError
from graphintel.model import TABLE_ORDER
from graphintel.netviz import category_colors, scale_sizes
from graphintel.store.base import GraphStore

__all__ = [
    "DEFAULT_MAX_NODES",
    "NetworkView",
    "account_labels",
    "activity_timeline",
    "analytics_missing",
    "cascade_table",
    "channel_links_for",
    "channel_network",
    "community_flow_frame",
    "community_sizes",
    "credits_timeline",
    "intervention_compare",
    "intervention_summary",
    "load_tables",
    "md_text",
    "operator_evidence",
    "organisation_targets",
    "payment_trace",
    "priority_long",
    "priority_ranking",
    "referral_forest_frame",
    "referral_stats",
    "referral_view",
    "region_table",
    "role_flow_frame",
    "room_details",
    "room_table",
    "sankey_data",
    "search_accounts",
    "search_rooms",
    "shortlist_csv",
    "sources_table",
    "spread_network",
    "spread_timeline",
    "top_earner_table",
    "trainer_days",
    "trainer_random_member",
    "trainer_simulate",
    "trainer_top_operator",
]

DEFAULT_MAX_NODES = 500
_TS = "%Y-%m-%dT%H:%M:%S"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class NetworkView:
    """Nodes and edges ready for :func:`graphintel.netviz.generate_html`.

    ``shown`` / ``total`` count nodes; ``note`` says what was left out (empty when nothing was).
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    shown: int = 0
    total: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# -- loading ------------------------------------------------------------------------------------


def load_tables(store: GraphStore, names: Iterable[str] = TABLE_ORDER) -> dict[str, pd.DataFrame]:
    """The canonical tables of ``store``, prepared for analytics (missing ones empty).

    Examples
    --------
    >>> from graphintel.store import open_store
    >>> t = load_tables(open_store("duckdb::memory:"), ["accounts"])
    >>> len(t["accounts"]), len(t["channels"])
    (0, 0)
    """
    return prepare_tables({name: store.table(name) for name in names})


def analytics_missing(store: GraphStore) -> str | None:
    """A message saying how to compute analytics when ``store`` has none, else ``None``."""
    if store.results("account_metrics").empty:
        return (
            f"No analytics in {store.uri} yet: run `graphintel analyze --store {store.uri}` "
            "(or `make demo`), then reload this page."
        )
    return None


def _day(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts, format=_TS, errors="coerce").dt.normalize()


def _fill(values: pd.Series, other: pd.Series | Any) -> pd.Series:
    """``values`` with missing entries taken from ``other`` (object dtype, no coercion)."""
    v = values.astype(object)
    return v.where(v.notna(), other)


def account_labels(accounts: pd.DataFrame, ids: Iterable[Any]) -> pd.Series:
    """Display label per account id: the handle, else the display name, else the id.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["A", "B"], "handle": ["@a", None],
    ...                     "display_name": [None, "Bee"]})
    >>> account_labels(acc, ["A", "B", "Z"]).tolist()
    ['@a', 'Bee', 'Z']
    """
    ids = pd.Index(list(ids), dtype=object)
    a = accounts.drop_duplicates("account_id").set_index("account_id")
    handle = a["handle"].reindex(ids) if "handle" in a else pd.Series(None, index=ids)
    name = a["display_name"].reindex(ids) if "display_name" in a else pd.Series(None, index=ids)
    out = handle.where(handle.notna() & (handle != ""), name)
    out = out.where(out.notna() & (out != ""), pd.Series(ids, index=ids))
    return pd.Series(out.to_numpy(dtype=object), index=ids, dtype=object)


# -- overview -----------------------------------------------------------------------------------


def sources_table(store: GraphStore) -> pd.DataFrame:
    """Sources with their provenance: source_id, case_id, method, legal_basis, collected_at,
    collected_by, files (count), ingested_at, retracted (when, by whom, why; empty if not)."""
    s = store.sources().copy()
    s["files"] = [len(f) if isinstance(f, (list, tuple, np.ndarray)) else 0 for f in s["files"]]
    r = store.retractions()
    note = (
        "retracted "
        + r["retracted_at"].astype(str)
        + " by "
        + r["retracted_by"].astype(str)
        + ": "
        + r["reason"].astype(str)
    )
    notes = dict(zip(r["source_id"].astype(str), note))
    s["retracted"] = pd.Series(
        [notes.get(str(x), "") for x in s["source_id"]], index=s.index, dtype=object
    )
    cols = [
        "source_id",
        "case_id",
        "method",
        "legal_basis",
        "collected_at",
        "collected_by",
        "files",
        "ingested_at",
        "retracted",
    ]
    return s.reindex(columns=cols)


def activity_timeline(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Joins, invites and purchases per day: ``day`` (datetime), ``activity``, ``count``.

    Examples
    --------
    >>> t = prepare_tables({
    ...     "memberships": pd.DataFrame({"account_id": ["A", "B"], "channel_id": ["X", "X"],
    ...                                  "joined_at": ["2024-01-01T10:00:00", "2024-01-02T00:00:00"]}),
    ...     "transactions": pd.DataFrame({"txn_id": ["T"], "from_id": ["A"], "to_id": ["B"],
    ...                                   "credits": [1.0], "kind": ["purchase"],
    ...                                   "ts": ["2024-01-02T05:00:00"]})})
    >>> activity_timeline(t)[["activity", "count"]].values.tolist()
    [['joins', 1], ['joins', 1], ['purchases', 1]]
    """
    tx = tables["transactions"]
    parts = [
        pd.DataFrame({"day": _day(tables["memberships"]["joined_at"]), "activity": "joins"}),
        pd.DataFrame({"day": _day(tables["invites"]["invited_at"]), "activity": "invites"}),
        pd.DataFrame(
            {"day": _day(tx.loc[tx["kind"] == "purchase", "ts"]), "activity": "purchases"}
        ),
    ]
    frame = pd.concat(parts, ignore_index=True).dropna(subset=["day"])
    out = frame.groupby(["day", "activity"]).size().rename("count").reset_index()
    return out.sort_values(["day", "activity"]).reset_index(drop=True)


def room_table(tables: Mapping[str, pd.DataFrame], channel_metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per room: channel_id, title, kind, is_public, creator_id, creator, members,
    admins, community, targets (organisation names, ``; ``-joined), target_ids (list),
    forwards_out, forwards_in, first_join, last_join; by members descending.

    ``members``/``admins``/``community`` come from the analytics results when present, else
    members and admins are counted from memberships.
    """
    ch = tables["channels"][["channel_id", "title", "kind", "is_public", "creator_id"]]
    ids = channel_universe(tables)
    rooms = pd.DataFrame({"channel_id": ids}).merge(ch, on="channel_id", how="left")
    m = tables["memberships"]
    if channel_metrics is not None and not channel_metrics.empty:
        cm = channel_metrics[["channel_id", "members", "admins", "community"]]
        rooms = rooms.merge(cm, on="channel_id", how="left")
    else:
        from graphintel.analytics.channels import channel_members

        members, admins = channel_members(m, ids)
        rooms["members"], rooms["admins"], rooms["community"] = members, admins, None
    rooms["members"] = pd.to_numeric(rooms["members"], errors="coerce").fillna(0).astype(int)
    rooms["admins"] = pd.to_numeric(rooms["admins"], errors="coerce").fillna(0).astype(int)
    rooms["creator"] = account_labels(tables["accounts"], rooms["creator_id"].fillna("")).to_numpy()
    rooms.loc[rooms["creator_id"].isna(), "creator"] = None
    tg = tables["targets"].merge(
        tables["organizations"][["org_id", "name"]], on="org_id", how="left"
    )
    tg["name"] = tg["name"].fillna(tg["org_id"])
    per_room = tg.groupby("channel_id").agg(
        targets=("name", lambda s: "; ".join(sorted(map(str, s)))), target_ids=("org_id", list)
    )
    rooms = rooms.merge(per_room, left_on="channel_id", right_index=True, how="left")
    rooms["target_ids"] = [v if isinstance(v, list) else [] for v in rooms["target_ids"]]
    f = tables["forwards"]
    rooms["forwards_out"] = rooms["channel_id"].map(f["from_channel_id"].value_counts()).fillna(0)
    rooms["forwards_in"] = rooms["channel_id"].map(f["to_channel_id"].value_counts()).fillna(0)
    rooms[["forwards_out", "forwards_in"]] = rooms[["forwards_out", "forwards_in"]].astype(int)
    joins = m.dropna(subset=["joined_at"]).groupby("channel_id")["joined_at"].agg(["min", "max"])
    rooms["first_join"] = rooms["channel_id"].map(joins["min"]) if len(joins) else None
    rooms["last_join"] = rooms["channel_id"].map(joins["max"]) if len(joins) else None
    rooms = rooms.sort_values(["members", "channel_id"], ascending=[False, True])
    return rooms.reset_index(drop=True)


def community_sizes(account_metrics: pd.DataFrame, channel_metrics: pd.DataFrame) -> pd.DataFrame:
    """Accounts and rooms per community, largest first: ``community``, ``accounts``,
    ``channels``.

    Examples
    --------
    >>> am = pd.DataFrame({"account_id": ["A", "B", "C"], "community": [0, 1, 1]})
    >>> cm = pd.DataFrame({"channel_id": ["X"], "community": [0]})
    >>> community_sizes(am, cm).values.tolist()
    [[1, 2, 0], [0, 1, 1]]
    """
    a = account_metrics["community"].value_counts().rename("accounts")
    c = channel_metrics["community"].value_counts().rename("channels")
    out = pd.concat([a, c], axis=1).fillna(0).astype(int).rename_axis("community").reset_index()
    out = out.sort_values(["accounts", "channels", "community"], ascending=[False, False, True])
    return out.reset_index(drop=True)


# -- channel network ----------------------------------------------------------------------------


def search_rooms(rooms: pd.DataFrame, query: str) -> pd.DataFrame:
    """Rooms whose title, id or creator contains ``query`` (case-insensitive, plain text).

    Examples
    --------
    >>> r = pd.DataFrame({"channel_id": ["C1", "C2"], "title": ["Alpha", "beta"],
    ...                   "creator": ["@x", "@alp"]})
    >>> search_rooms(r, "ALP")["channel_id"].tolist()
    ['C1', 'C2']
    """
    q = (query or "").strip().lower()
    if not q:
        return rooms
    hit = np.zeros(len(rooms), dtype=bool)
    for col in ("title", "channel_id", "creator"):
        if col in rooms:
            hit |= rooms[col].fillna("").astype(str).str.lower().str.contains(q, regex=False)
    return rooms[hit]


def _window_links(
    tables: Mapping[str, pd.DataFrame], start: str | None, end: str | None
) -> pd.DataFrame:
    """Channel links counting only memberships present and forwards made in the window."""
    m = tables["memberships"]
    keep = np.ones(len(m), dtype=bool)
    if end:
        keep &= (m["joined_at"].isna() | (m["joined_at"] <= end)).to_numpy()
    if start:
        keep &= (m["left_at"].isna() | (m["left_at"] >= start)).to_numpy()
    f = tables["forwards"]
    fk = np.ones(len(f), dtype=bool)
    if start:
        fk &= (f["ts"].notna() & (f["ts"] >= start)).to_numpy()
    if end:
        fk &= (f["ts"].notna() & (f["ts"] <= end)).to_numpy()
    return channel_links(m[keep], f[fk], channel_universe(tables))


def channel_network(
    rooms: pd.DataFrame,
    links: pd.DataFrame,
    *,
    communities: list[Any] | None = None,
    org_ids: list[str] | None = None,
    search: str | None = None,
    min_overlap: int = 1,
    focus: str | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_edges: int = 4000,
) -> NetworkView:
    """The room network: rooms sized by members, coloured by community, linked by forwards and
    shared members.

    Parameters
    ----------
    rooms : pandas.DataFrame
        From :func:`room_table`.
    links : pandas.DataFrame
        ``channel_a``, ``channel_b``, ``forwards``, ``shared_members``, ``jaccard`` (the
        ``channel_links`` result, or links recomputed for a time window).
    communities, org_ids : list, optional
        Keep only rooms in these communities / targeting one of these organisations.
    search : str, optional
        Keep rooms matching :func:`search_rooms`.
    min_overlap : int
        A shared-member link needs at least this many shared members (forward links always
        count).
    focus : str, optional
        A room id: show its ego network (the room and its most strongly linked neighbours).
    max_nodes, max_edges : int
        Caps; rooms are chosen by members (or link strength to ``focus``), edges by strength.

    Examples
    --------
    >>> rooms = pd.DataFrame({"channel_id": ["X", "Y", "Z"], "title": ["x", "y", "z"],
    ...                       "members": [5, 3, 1], "admins": [1, 1, 0], "community": [0, 0, 1],
    ...                       "kind": None, "targets": None, "target_ids": [[], [], []]})
    >>> links = pd.DataFrame({"channel_a": ["X", "X"], "channel_b": ["Y", "Z"],
    ...                       "forwards": [0, 2], "shared_members": [2, 0], "jaccard": [0.3, 0]})
    >>> v = channel_network(rooms, links, max_nodes=2)
    >>> v.nodes["id"].tolist(), v.edges[["source", "target"]].values.tolist(), v.note
    (['X', 'Y'], [['X', 'Y']], '1 of 3 rooms not shown (cap 2, chosen by members)')
    """
    r = rooms
    if communities:
        r = r[r["community"].isin(communities)]
    if org_ids:
        wanted = set(org_ids)
        r = r[[bool(wanted.intersection(t)) for t in r["target_ids"]]]
    if search:
        r = search_rooms(r, search)
    lk = links[(links["forwards"] > 0) | (links["shared_members"] >= max(int(min_overlap), 1))]
    candidates = set(r["channel_id"])
    lk = lk[lk["channel_a"].isin(candidates) & lk["channel_b"].isin(candidates)]
    strength = lk["jaccard"].astype(float) + 0.01 * lk["forwards"].astype(float)
    lk = lk.assign(strength=strength.to_numpy())
    total = len(r)
    how = "members"
    if focus is not None and focus in candidates:
        how = "link strength to the selected room"
        mine = lk[(lk["channel_a"] == focus) | (lk["channel_b"] == focus)]
        other = np.where(mine["channel_a"] == focus, mine["channel_b"], mine["channel_a"])
        order = pd.Series(mine["strength"].to_numpy(), index=other).sort_values(ascending=False)
        keep_ids = [focus, *order.index[: max(max_nodes - 1, 0)].tolist()]
        total = 1 + len(order)
        r = r[r["channel_id"].isin(keep_ids)]
    else:
        r = r.head(max_nodes)  # rooms are sorted by members
    keep = set(r["channel_id"])
    e = lk[lk["channel_a"].isin(keep) & lk["channel_b"].isin(keep)]
    e = e.sort_values("strength", ascending=False)
    cut_edges = max(len(e) - max_edges, 0)
    e = e.head(max_edges)
    nodes = pd.DataFrame(
        {
            "id": r["channel_id"].to_numpy(),
            "label": r["title"].fillna(r["channel_id"]).to_numpy(),
            "title": [
                f"{t if isinstance(t, str) else cid}\n{cid} · {k or 'room'}\n"
                f"members {mem:,} · admins {adm}\ncommunity {c}\n"
                f"targets: {tg if isinstance(tg, str) else '—'}"
                for cid, t, k, mem, adm, c, tg in zip(
                    r["channel_id"],
                    r["title"],
                    r["kind"],
                    r["members"],
                    r["admins"],
                    r["community"],
                    r["targets"],
                )
            ],
            "size": scale_sizes(r["members"]),
            "color": category_colors(r["community"]),
        }
    )
    if focus is not None and focus in keep:
        nodes.loc[nodes["id"] == focus, "borderWidth"] = 4
    edges = pd.DataFrame(
        {
            "source": e["channel_a"].to_numpy(),
            "target": e["channel_b"].to_numpy(),
            "title": [
                f"forwards {f} · shared members {s} (Jaccard {j:.3f})"
                for f, s, j in zip(e["forwards"], e["shared_members"], e["jaccard"])
            ],
            "width": 1 + 6 * np.sqrt(e["jaccard"].astype(float).to_numpy()),
            "color": np.where(e["shared_members"].to_numpy() > 0, "#8aa1b4", "#e8a33d"),
            "dashes": e["shared_members"].to_numpy() == 0,
        }
    )
    notes = []
    if total > len(nodes):
        notes.append(
            f"{total - len(nodes)} of {total} rooms not shown (cap {max_nodes}, chosen by {how})"
        )
    if cut_edges:
        notes.append(f"{cut_edges} weakest links not shown (cap {max_edges})")
    return NetworkView(nodes, edges, len(nodes), total, "; ".join(notes))


def room_details(
    tables: Mapping[str, pd.DataFrame], channel_id: str, *, limit: int = 500
) -> dict[str, pd.DataFrame]:
    """Everything recorded about one room: ``members`` (first ``limit``, staff first),
    ``admins``, ``invite_links``, ``forwards``, ``targets`` — each row with its ``source_ids``.

    Examples
    --------
    >>> t = prepare_tables({"memberships": pd.DataFrame(
    ...     {"account_id": ["A", "B"], "channel_id": ["X", "X"], "role": ["owner", "member"]})})
    >>> d = room_details(t, "X")
    >>> d["members"]["account_id"].tolist(), d["admins"]["role"].tolist()
    (['A', 'B'], ['owner'])
    """
    acc = tables["accounts"]
    m = tables["memberships"]
    m = m[m["channel_id"] == channel_id].copy()
    rank = m["role"].map({"owner": 0, "admin": 1}).fillna(2)
    m = m.assign(_r=rank.to_numpy()).sort_values(["_r", "joined_at", "account_id"])
    m["handle"] = account_labels(acc, m["account_id"]).to_numpy()
    cols = ["account_id", "handle", "role", "joined_at", "left_at", "source_ids"]
    members = m[cols].head(limit).reset_index(drop=True)
    admins = m.loc[m["role"].isin(["admin", "owner"]), cols].reset_index(drop=True)
    inv = tables["invites"]
    inv = inv[(inv["channel_id"] == channel_id) & inv["invite_link"].notna()]
    links = (
        inv.groupby(["invite_link", "inviter_id"])
        .agg(
            invites=("invitee_id", "size"), first=("invited_at", "min"), last=("invited_at", "max")
        )
        .reset_index()
        .sort_values(["invites", "invite_link"], ascending=[False, True])
    )
    links.insert(2, "inviter", account_labels(acc, links["inviter_id"]).to_numpy())
    f = tables["forwards"]
    titles = tables["channels"].set_index("channel_id")["title"]
    out_f = f[f["from_channel_id"] == channel_id].assign(direction="to", other=f["to_channel_id"])
    in_f = f[f["to_channel_id"] == channel_id].assign(direction="from", other=f["from_channel_id"])
    fw = pd.concat([out_f, in_f], ignore_index=True)
    fw = (
        fw.groupby(["direction", "other"])
        .agg(forwards=("ts", "size"), first_ts=("ts", "min"), last_ts=("ts", "max"))
        .reset_index()
        .rename(columns={"other": "channel_id"})
        .sort_values(["forwards", "channel_id"], ascending=[False, True])
    )
    fw.insert(2, "title", fw["channel_id"].map(titles).to_numpy())
    tg = tables["targets"]
    tg = tg[tg["channel_id"] == channel_id].merge(
        tables["organizations"][["org_id", "name", "kind", "region"]], on="org_id", how="left"
    )
    tg = tg[["org_id", "name", "kind", "region", "first_reported", "note", "source_ids"]]
    return {
        "members": members,
        "admins": admins,
        "invite_links": links.reset_index(drop=True),
        "forwards": fw.reset_index(drop=True),
        "targets": tg.reset_index(drop=True),
    }


# -- referral -----------------------------------------------------------------------------------


def referral_forest_frame(
    tables: Mapping[str, pd.DataFrame], account_metrics: pd.DataFrame
) -> pd.DataFrame:
    """The stored referral forest (``account_metrics``) with ``referral_invited_at``: the time
    of the earliest invite from the parent, as the analytics helpers expect.

    Examples
    --------
    >>> am = pd.DataFrame({"account_id": ["A", "B"], "referral_parent": [None, "A"],
    ...     "referral_root": ["A", "A"], "referral_depth": [0, 1],
    ...     "referral_descendants": [1, 0], "direct_invites": [1, 0]})
    >>> t = prepare_tables({"invites": pd.DataFrame({"inviter_id": ["A"], "invitee_id": ["B"],
    ...                                               "invited_at": ["2024-01-01T00:00:00"]})})
    >>> referral_forest_frame(t, am)["referral_invited_at"].tolist()
    [None, '2024-01-01T00:00:00']
    """
    cols = list(_referral.FOREST_COLUMNS[:-1])
    f = account_metrics[cols].copy()
    f["referral_parent"] = (
        f["referral_parent"].astype(object).where(f["referral_parent"].notna(), None)
    )
    inv = tables["invites"].dropna(subset=["invited_at"])
    first = inv.groupby(["invitee_id", "inviter_id"])["invited_at"].min()
    key = pd.MultiIndex.from_arrays([f["account_id"], f["referral_parent"].fillna("")])
    at = first.reindex(key).to_numpy(dtype=object)
    f["referral_invited_at"] = pd.Series(
        [None if pd.isna(v) else str(v) for v in at], index=f.index, dtype=object
    )
    for c in ("referral_depth", "referral_descendants", "direct_invites"):
        f[c] = pd.to_numeric(f[c], errors="coerce").fillna(0).astype(np.int64)
    return f.reset_index(drop=True)


def search_accounts(
    tables: Mapping[str, pd.DataFrame], forest: pd.DataFrame, query: str, *, limit: int = 50
) -> pd.DataFrame:
    """Accounts whose id, handle or display name contains ``query`` (case-insensitive),
    most referral descendants first: account_id, handle, display_name, referral_descendants.

    An empty query lists the accounts with the most descendants.
    """
    acc = tables["accounts"][["account_id", "handle", "display_name"]]
    f = forest[["account_id", "referral_descendants"]].merge(acc, on="account_id", how="left")
    q = (query or "").strip().lower()
    if q:
        hit = np.zeros(len(f), dtype=bool)
        for col in ("account_id", "handle", "display_name"):
            hit |= f[col].fillna("").astype(str).str.lower().str.contains(q, regex=False)
        f = f[hit]
    f = f.sort_values(["referral_descendants", "account_id"], ascending=[False, True])
    return f[["account_id", "handle", "display_name", "referral_descendants"]].head(limit)


def referral_view(
    tables: Mapping[str, pd.DataFrame],
    forest: pd.DataFrame,
    account_id: str,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> NetworkView:
    """The chain from ``account_id`` up to its root and its tree below, as a hierarchical view.

    ``extra`` holds ``chain`` and ``subtree`` frames (see
    :func:`graphintel.analytics.referral.referral_chain` / ``referral_subtree``). Nodes are
    levelled by referral depth; the account is red, its ancestors grey, its recruits coloured by
    generation below it.

    Raises
    ------
    AnalyticsError
        If ``account_id`` is not in the forest.
    """
    try:
        chain = _referral.referral_chain(forest, account_id)
        sub = _referral.referral_subtree(
            forest, account_id, max_nodes=max(max_nodes - len(chain), 1)
        )
    except KeyError as err:
        raise AnalyticsError(
            f"account {account_id!r} is not in the referral forest: pick one from the search"
        ) from err
    depth0 = int(chain["referral_depth"].iloc[0])
    anc = chain.iloc[1:]
    ids = [*anc["account_id"], *sub["account_id"]]
    levels = [*anc["referral_depth"].astype(int), *(depth0 + sub["level"].astype(int))]
    labels = account_labels(tables["accounts"], ids)
    by_id = forest.set_index("account_id")
    desc = by_id["referral_descendants"].reindex(ids).fillna(0).astype(int).to_numpy()
    when = by_id["referral_invited_at"].reindex(ids).to_numpy()
    gen = np.asarray(levels) - depth0
    colors = np.where(
        gen < 0, "#9aa5b1", np.array(category_colors(np.maximum(gen, 0)), dtype=object)
    )
    colors[len(anc)] = "#d62728"
    nodes = pd.DataFrame(
        {
            "id": ids,
            "label": labels.to_numpy(),
            "title": [
                f"{lab}\n{i}\ndepth {lv} · descendants {d:,}\ninvited {w or '—'}"
                for lab, i, lv, d, w in zip(labels, ids, levels, desc, when)
            ],
            "level": levels,
            "color": colors,
            "size": scale_sizes(desc, lo=10, hi=35),
        }
    )
    edges = pd.DataFrame(
        {
            "source": [*anc["account_id"], *sub["referral_parent"].iloc[1:]],
            "target": [*chain["account_id"].iloc[:-1], *sub["account_id"].iloc[1:]],
        }
    )
    total_below = int(sub["referral_descendants"].iloc[0])
    note = ""
    if len(sub) - 1 < total_below:
        note = (
            f"{total_below - (len(sub) - 1)} of {total_below} accounts below the selected account "
            f"not shown (cap {max_nodes}, nearest generations first)"
        )
    return NetworkView(
        nodes,
        edges,
        len(nodes),
        len(anc) + 1 + total_below,
        note,
        extra={
            "chain": chain.assign(
                handle=account_labels(tables["accounts"], chain["account_id"]).to_numpy()
            ),
            "subtree": sub,
        },
    )


def cascade_table(
    tables: Mapping[str, pd.DataFrame], forest: pd.DataFrame, n: int = 10
) -> pd.DataFrame:
    """The ``n`` largest cascades with the root's handle: root, handle, size, depth,
    direct_invites."""
    c = _referral.largest_cascades(forest, n)
    c.insert(1, "handle", account_labels(tables["accounts"], c["root"]).to_numpy())
    return c


def referral_stats(forest: pd.DataFrame) -> dict[str, Any]:
    """Cascade statistics (:func:`graphintel.analytics.referral.cascade_stats`)."""
    return _referral.cascade_stats(forest)


# -- operators ----------------------------------------------------------------------------------


def priority_ranking(
    tables: Mapping[str, pd.DataFrame],
    account_metrics: pd.DataFrame,
    components: pd.DataFrame,
    *,
    n: int = 50,
) -> pd.DataFrame:
    """The top ``n`` accounts by priority: priority_rank, account_id, handle, display_name,
    priority_score, community, then one column per component contribution.

    Examples
    --------
    >>> am = pd.DataFrame({"account_id": ["A", "B"], "priority_score": [0.2, 0.9],
    ...                    "priority_rank": [2, 1], "community": [0, 0]})
    >>> comp = pd.DataFrame({"account_id": ["B", "B"], "component": ["bot_use", "rooms"],
    ...                      "value": [1, 2], "weight": [0.1, 0.2], "contribution": [0.1, 0.8]})
    >>> t = prepare_tables({})
    >>> r = priority_ranking(t, am, comp)
    >>> r["account_id"].tolist(), float(r.loc[0, "rooms"])
    (['B', 'A'], 0.8)
    """
    am = account_metrics.copy()
    am["priority_score"] = pd.to_numeric(am["priority_score"], errors="coerce").fillna(0.0)
    am = am[am["priority_score"] > 0]
    am = am.sort_values(["priority_score", "account_id"], ascending=[False, True]).head(n)
    acc = tables["accounts"][["account_id", "handle", "display_name"]]
    out = am[["priority_rank", "account_id", "priority_score", "community"]].merge(
        acc, on="account_id", how="left"
    )
    out = out[
        ["priority_rank", "account_id", "handle", "display_name", "priority_score", "community"]
    ]
    if not components.empty:
        wide = components[components["account_id"].isin(out["account_id"])].pivot_table(
            index="account_id", columns="component", values="contribution", aggfunc="sum"
        )
        out = out.merge(wide, left_on="account_id", right_index=True, how="left")
        out[list(wide.columns)] = out[list(wide.columns)].fillna(0.0)
    return out.reset_index(drop=True)


def priority_long(ranking: pd.DataFrame) -> pd.DataFrame:
    """Component contributions in long form for a stacked bar: ``account``, ``component``,
    ``contribution`` (rank order kept)."""
    fixed = {"priority_rank", "account_id", "handle", "display_name", "priority_score", "community"}
    comps = [c for c in ranking.columns if c not in fixed]
    lab = ranking["handle"].fillna(ranking["account_id"]).astype(str)
    label = ranking["priority_rank"].astype("Int64").astype(str) + ". " + lab
    wide = ranking[comps].assign(account=label.to_numpy())
    return wide.melt(id_vars="account", var_name="component", value_name="contribution")


def operator_evidence(evidence: pd.DataFrame, account_id: str) -> pd.DataFrame:
    """The evidence records behind one account's score: component, record_table, record_key,
    detail, source_ids (``, ``-joined)."""
    ev = evidence[evidence["account_id"] == account_id].copy()
    ev["source_ids"] = [
        ", ".join(map(str, s)) if isinstance(s, (list, tuple, np.ndarray)) else str(s)
        for s in ev["source_ids"]
    ]
    return ev[["component", "record_table", "record_key", "detail", "source_ids"]].reset_index(
        drop=True
    )


def shortlist_csv(ranking: pd.DataFrame) -> str:
    """The ranking as CSV text; cells that a spreadsheet would run as a formula (starting with
    ``=``, ``+``, ``-``, ``@``, tab or CR) are prefixed with ``'``.

    Examples
    --------
    >>> shortlist_csv(pd.DataFrame({"handle": ["=HYPERLINK(1)", "@ok"], "s": [-1.0, 2.0]}))
    "handle,s\\n'=HYPERLINK(1),-1.0\\n'@ok,2.0\\n"
    """
    out = ranking.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = (
                out[col]
                .astype(object)
                .map(lambda v: "'" + v if isinstance(v, str) and v[:1] in _FORMULA else v)
            )
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


# -- credit flows -------------------------------------------------------------------------------


def role_flow_frame(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Credits between roles (operator, admin, member, bot): source, target, credits,
    transactions."""
    return _flows.role_flows(tables, account_universe(tables))


def community_flow_frame(
    tables: Mapping[str, pd.DataFrame], account_metrics: pd.DataFrame, *, top: int = 10
) -> pd.DataFrame:
    """Credits between communities; communities outside the ``top`` by credits moved are
    grouped as ``other``. Labels read ``community N``."""
    lab = "community " + account_metrics["community"].astype("Int64").astype(str)
    groups = pd.Series(lab.to_numpy(), index=account_metrics["account_id"].to_numpy())
    fl = _flows.flows_between(tables["transactions"], groups)
    vol = pd.concat([fl.groupby("source")["credits"].sum(), fl.groupby("target")["credits"].sum()])
    keep = set(vol.groupby(level=0).sum().sort_values(ascending=False).index[:top])
    fl["source"] = fl["source"].where(fl["source"].isin(keep), "other")
    fl["target"] = fl["target"].where(fl["target"].isin(keep), "other")
    out = fl.groupby(["source", "target"], as_index=False)[["credits", "transactions"]].sum()
    return out.sort_values("credits", ascending=False).reset_index(drop=True)


def sankey_data(flows: pd.DataFrame) -> dict[str, list[Any]]:
    """Plotly Sankey arrays from flows: payers on the left (``label ▸``), payees on the right
    (``▸ label``), so flows inside a group do not make loops.

    Examples
    --------
    >>> fl = pd.DataFrame({"source": ["a", "a"], "target": ["a", "b"], "credits": [1.0, 2.0]})
    >>> d = sankey_data(fl)
    >>> d["label"], d["source"], d["target"], d["value"]
    (['a ▸', '▸ a', '▸ b'], [0, 0], [1, 2], [1.0, 2.0])
    """
    left = [f"{s} ▸" for s in sorted(flows["source"].astype(str).unique())]
    right = [f"▸ {t}" for t in sorted(flows["target"].astype(str).unique())]
    labels = left + right
    index = {lab: i for i, lab in enumerate(labels)}
    return {
        "label": labels,
        "source": [index[f"{s} ▸"] for s in flows["source"].astype(str)],
        "target": [index[f"▸ {t}"] for t in flows["target"].astype(str)],
        "value": [float(v) for v in flows["credits"]],
    }


def top_earner_table(
    tables: Mapping[str, pd.DataFrame], account_metrics: pd.DataFrame, *, n: int = 20
) -> pd.DataFrame:
    """The ``n`` accounts receiving the most credits: account_id, handle, credits_in,
    referral_rewards, credits_out, net_credits, priority_rank."""
    top = _flows.top_earners(account_metrics, n)
    top.insert(1, "handle", account_labels(tables["accounts"], top["account_id"]).to_numpy())
    cols = [
        "account_id",
        "handle",
        "credits_in",
        "referral_rewards",
        "credits_out",
        "net_credits",
        "priority_rank",
    ]
    return top.reindex(columns=cols)


def credits_timeline(tables: Mapping[str, pd.DataFrame], *, freq: str = "day") -> pd.DataFrame:
    """Credits per period and transaction kind (see
    :func:`graphintel.analytics.flows.credits_over_time`)."""
    return _flows.credits_over_time(tables["transactions"], freq=freq, by="kind")


def payment_trace(
    tables: Mapping[str, pd.DataFrame],
    account_id: str,
    *,
    direction: str = "forward",
    hops: int = 2,
    start: str | None = None,
    end: str | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_edges: int = 5_000,
) -> NetworkView:
    """Payments traced ``hops`` hops from ``account_id`` as a directed network and a table.

    The trace is :func:`graphintel.analytics.flows.trace_payments`: every transaction reachable
    within ``hops`` hops whose ``ts`` is in the window (both bounds inclusive; ``None`` = open,
    and with no bound at all transactions without ``ts`` count too). It follows reachability,
    not time order: a payment made *before* the payment that reached its payer is still traced.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Prepared tables (``transactions``, ``accounts``).
    account_id : str
        Where the trace starts.
    direction : {"forward", "backward"}
        ``forward``: where the account's credits went (payer → payee); ``backward``: where they
        came from.
    hops : int
        Maximum number of hops (≥ 1).
    start, end : str, optional
        ISO timestamp bounds on ``ts``.
    max_nodes : int
        Accounts drawn at most: the start account, then the nearest hops, then the most credits
        moved in the trace (ties by id). The table is not capped by it.
    max_edges : int
        The trace stops once this many transactions were collected (the note says so).

    Returns
    -------
    NetworkView
        Nodes are accounts (the start account red, others coloured by hop distance, size ~
        credits moved in the trace); edges are payer → payee pairs (width ~ credits, tooltip
        with count, credits, first hop and transaction ids). ``extra["table"]``: ``hop, txn_id,
        from_id, from_handle, to_id, to_handle, credits, kind, ts, channel_id, source_ids``
        (source ids ``, ``-joined), ordered by hop, ts, txn_id; ``extra["summary"]``:
        ``accounts_reached`` (accounts other than the start account), ``transactions``,
        ``credits``, ``hops_reached``, ``first_ts``, ``last_ts``, ``truncated`` (the trace hit
        ``max_edges``).

    Raises
    ------
    AnalyticsError
        If ``direction`` or ``hops`` is invalid.

    Examples
    --------
    >>> t = prepare_tables({
    ...     "accounts": pd.DataFrame({"account_id": ["A", "B", "C", "D"],
    ...                               "handle": ["@a", "@b", None, "@d"]}),
    ...     "transactions": pd.DataFrame({
    ...         "txn_id": ["T1", "T2", "T3", "T4"], "from_id": ["A", "B", "C", "D"],
    ...         "to_id": ["B", "C", "A", "A"], "credits": [5.0, 3.0, 1.0, 2.0],
    ...         "kind": ["purchase", "payout", "transfer", "purchase"],
    ...         "ts": ["2024-01-02T00:00:00", "2024-01-01T00:00:00",
    ...                "2024-01-03T00:00:00", "2024-01-04T00:00:00"]})})
    >>> v = payment_trace(t, "A", hops=2)
    >>> v.extra["table"][["hop", "txn_id", "from_id", "to_handle", "credits"]].values.tolist()
    [[1, 'T1', 'A', '@b', 5.0], [2, 'T2', 'B', 'C', 3.0]]
    >>> {k: v.extra["summary"][k] for k in ("accounts_reached", "transactions", "credits")}
    {'accounts_reached': 2, 'transactions': 2, 'credits': 8.0}
    >>> v.nodes["id"].tolist(), v.edges[["source", "target"]].values.tolist()
    (['A', 'B', 'C'], [['A', 'B'], ['B', 'C']])
    >>> b = payment_trace(t, "A", direction="backward", hops=1, max_nodes=2)
    >>> b.extra["table"]["txn_id"].tolist(), b.nodes["id"].tolist(), b.shown, b.total
    (['T3', 'T4'], ['A', 'D'], 2, 3)
    >>> b.note
    '1 of 3 accounts not shown (cap 2: nearest hops, then most credits moved)'
    """
    tx = _flows.trace_payments(
        tables["transactions"],
        account_id,
        direction=direction,
        hops=hops,
        start=start,
        end=end,
        max_edges=max_edges,
    )
    accounts = tables["accounts"]
    credits = pd.to_numeric(tx["credits"], errors="coerce").fillna(0.0).to_numpy(float)
    hop = tx["hop"].to_numpy(dtype=np.int64)
    from_ids = tx["from_id"].astype(object)
    to_ids = tx["to_id"].astype(object)

    def col(name: str) -> pd.Series:
        if name in tx:
            return tx[name].astype(object).where(tx[name].notna(), None)
        return pd.Series([None] * len(tx), index=tx.index, dtype=object)

    src = col("source_ids")
    table = pd.DataFrame(
        {
            "hop": hop,
            "txn_id": col("txn_id").to_numpy(),
            "from_id": from_ids.to_numpy(),
            "from_handle": account_labels(accounts, from_ids.fillna("")).to_numpy(),
            "to_id": to_ids.to_numpy(),
            "to_handle": account_labels(accounts, to_ids.fillna("")).to_numpy(),
            "credits": credits,
            "kind": col("kind").to_numpy(),
            "ts": col("ts").to_numpy(),
            "channel_id": col("channel_id").to_numpy(),
            "source_ids": [
                ", ".join(map(str, s)) if isinstance(s, (list, tuple, np.ndarray)) else (s or "")
                for s in src
            ],
        }
    )

    # Hop distance of each account: the near end of a hop-k payment is k-1 away, the far end k.
    near, far = (from_ids, to_ids) if direction == "forward" else (to_ids, from_ids)
    ends = pd.DataFrame(
        {
            "account_id": pd.concat([near, far, pd.Series([account_id], dtype=object)]).to_numpy(),
            "dist": np.concatenate([hop - 1, hop, [0]]),
            "moved": np.concatenate([credits, credits, [0.0]]),
        }
    )
    ends = ends[ends["account_id"].notna()]
    acc = ends.groupby("account_id", sort=True).agg(dist=("dist", "min"), moved=("moved", "sum"))
    acc = acc.reset_index().sort_values(
        ["dist", "moved", "account_id"], ascending=[True, False, True], kind="mergesort"
    )
    total = len(acc)
    keep = acc.head(max(int(max_nodes), 1))
    ids = keep["account_id"].tolist()
    labels = account_labels(accounts, ids)
    dist = keep["dist"].to_numpy(dtype=np.int64)
    colors = np.array(category_colors(dist), dtype=object)
    colors[dist == 0] = "#d62728"
    paid = pd.Series(credits, index=from_ids.to_numpy()).groupby(level=0).sum()
    got = pd.Series(credits, index=to_ids.to_numpy()).groupby(level=0).sum()
    paid_k = paid.reindex(ids).fillna(0.0).to_numpy()
    got_k = got.reindex(ids).fillna(0.0).to_numpy()
    nodes = pd.DataFrame(
        {
            "id": ids,
            "label": labels.to_numpy(),
            "title": [
                f"{lab}\n{i}\n{'start' if d == 0 else f'{d} hop(s) away'}\n"
                f"in this trace: paid {p:,.1f} · received {g:,.1f} credits"
                for lab, i, d, p, g in zip(labels, ids, dist, paid_k, got_k)
            ],
            "color": colors,
            "size": scale_sizes(keep["moved"].to_numpy(float), lo=10, hi=35),
        }
    )

    pairs = pd.DataFrame(
        {
            "source": from_ids.to_numpy(),
            "target": to_ids.to_numpy(),
            "credits": credits,
            "hop": hop,
            "txn_id": table["txn_id"].fillna("").astype(str).to_numpy(),
        }
    ).dropna(subset=["source", "target"])
    kept = set(ids)
    pairs = pairs[pairs["source"].isin(kept) & pairs["target"].isin(kept)]
    edges = pairs.groupby(["source", "target"], sort=True).agg(
        credits=("credits", "sum"),
        payments=("credits", "size"),
        hop=("hop", "min"),
        txns=("txn_id", lambda s: ", ".join(list(s)[:10]) + (" …" if len(s) > 10 else "")),
    )
    edges = edges.reset_index()
    edges["width"] = scale_sizes(edges["credits"].to_numpy(float), lo=1, hi=8)
    edges["title"] = [
        f"{s} → {t}\n{n:,} payment(s) · {c:,.1f} credits\nfirst at hop {h}\n{x}"
        for s, t, n, c, h, x in zip(
            edges["source"], edges["target"], edges["payments"], edges["credits"],
            edges["hop"], edges["txns"],
        )
    ]  # fmt: skip
    edges = edges[["source", "target", "width", "title"]]

    notes = []
    if total > len(ids):
        notes.append(
            f"{total - len(ids):,} of {total:,} accounts not shown "
            f"(cap {max_nodes:,}: nearest hops, then most credits moved)"
        )
    truncated = len(tx) >= max_edges
    if truncated:
        notes.append(f"the trace reached its limit of {max_edges:,} transactions (more may exist)")
    ts = table["ts"].dropna()
    summary = {
        "accounts_reached": int(total - 1),
        "transactions": len(table),
        "credits": float(credits.sum()),
        "hops_reached": int(hop.max()) if len(hop) else 0,
        "first_ts": str(ts.min()) if len(ts) else None,
        "last_ts": str(ts.max()) if len(ts) else None,
        "truncated": truncated,
    }
    return NetworkView(
        nodes, edges, len(nodes), total, "; ".join(notes), {"table": table, "summary": summary}
    )


# -- targets ------------------------------------------------------------------------------------


def organisation_targets(
    tables: Mapping[str, pd.DataFrame], rooms: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Organisations with the rooms reported as targeting them: org_id, name, kind, region,
    lat, lon, rooms, members_reached (distinct members of those rooms), room_titles.

    Examples
    --------
    >>> t = prepare_tables({
    ...     "organizations": pd.DataFrame({"org_id": ["O1", "O2"], "name": ["x", "y"]}),
    ...     "targets": pd.DataFrame({"channel_id": ["C1", "C2"], "org_id": ["O1", "O1"]}),
    ...     "memberships": pd.DataFrame({"account_id": ["A", "A", "B"],
    ...                                  "channel_id": ["C1", "C2", "C2"]})})
    >>> organisation_targets(t)[["org_id", "rooms", "members_reached"]].values.tolist()
    [['O1', 2, 2], ['O2', 0, 0]]
    """
    org = tables["organizations"][["org_id", "name", "kind", "region", "lat", "lon"]]
    tg = tables["targets"][["channel_id", "org_id"]].drop_duplicates()
    rooms_n = tg.groupby("org_id")["channel_id"].nunique()
    reach = (
        tg.merge(tables["memberships"][["channel_id", "account_id"]], on="channel_id")
        .drop_duplicates(["org_id", "account_id"])
        .groupby("org_id")
        .size()
    )
    titles = tables["channels"].set_index("channel_id")["title"]
    tt = tg.assign(title=_fill(tg["channel_id"].map(titles), tg["channel_id"]))
    names = tt.groupby("org_id")["title"].agg(lambda s: "; ".join(sorted(map(str, s))))
    out = org.copy()
    out["rooms"] = out["org_id"].map(rooms_n).fillna(0).astype(int)
    out["members_reached"] = out["org_id"].map(reach).fillna(0).astype(int)
    out["room_titles"] = out["org_id"].map(names)
    out = out.sort_values(["rooms", "members_reached", "org_id"], ascending=[False, False, True])
    return out.reset_index(drop=True)


def region_table(orgs: pd.DataFrame) -> pd.DataFrame:
    """Per region: organisations, targeted (with at least one room), rooms, members_reached.

    Examples
    --------
    >>> o = pd.DataFrame({"region": ["S", "S", None], "rooms": [2, 0, 1],
    ...                   "members_reached": [5, 0, 1]})
    >>> region_table(o).values.tolist()
    [['S', 2, 1, 2, 5], ['(unknown)', 1, 1, 1, 1]]
    """
    o = orgs.assign(region=orgs["region"].fillna("(unknown)"), targeted=orgs["rooms"] > 0)
    out = o.groupby("region").agg(
        organisations=("region", "size"),
        targeted=("targeted", "sum"),
        rooms=("rooms", "sum"),
        members_reached=("members_reached", "sum"),
    )
    out = out.reset_index().sort_values(["rooms", "region"], ascending=[False, True])
    return out.astype({"targeted": int}).reset_index(drop=True)


# -- trainer ------------------------------------------------------------------------------------


def trainer_simulate(**params: Any) -> dict[str, pd.DataFrame]:
    """Run :func:`graphintel.simulate.simulate` with ``params`` in a temporary folder and return
    the prepared tables (nothing is written to any store).

    Raises
    ------
    SimulationError
        If an option is out of range.
    """
    from graphintel.simulate import SimulationParams, simulate

    p = SimulationParams(**params)
    with tempfile.TemporaryDirectory(prefix="graphintel-trainer-") as tmp:
        simulate(Path(tmp), p)
        frames = {}
        for name in TABLE_ORDER:
            path = Path(tmp) / f"{name}.csv"
            if path.exists():
                frames[name] = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return prepare_tables(frames)


def _first_join(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    m = tables["memberships"].dropna(subset=["joined_at"])
    return m.groupby("account_id")["joined_at"].min()


def spread_timeline(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Cumulative members and credits per day: ``day`` (datetime), ``members`` (accounts that
    have joined a room), ``referral_credits`` (rewards paid), ``purchase_credits``.

    Examples
    --------
    >>> t = prepare_tables({"memberships": pd.DataFrame({
    ...     "account_id": ["A", "B", "C"], "channel_id": ["X"] * 3,
    ...     "joined_at": ["2024-01-01T00:00:00", "2024-01-01T09:00:00", "2024-01-03T09:00:00"]}),
    ...     "transactions": pd.DataFrame({"txn_id": ["T1"], "from_id": ["A"], "to_id": ["B"],
    ...     "credits": [1.0], "kind": ["referral_reward"], "ts": ["2024-01-01T09:10:00"]})})
    >>> spread_timeline(t)[["members", "referral_credits"]].values.tolist()
    [[2.0, 1.0], [2.0, 1.0], [3.0, 1.0]]
    """
    fj = _first_join(tables)
    tx = tables["transactions"].dropna(subset=["ts"])
    joins = _day(pd.Series(fj.to_numpy())).value_counts()
    rew = tx[tx["kind"] == "referral_reward"].groupby(_day(tx["ts"]))["credits"].sum()
    pur = tx[tx["kind"] == "purchase"].groupby(_day(tx["ts"]))["credits"].sum()
    days = joins.index.union(rew.index).union(pur.index)
    if len(days) == 0:
        return pd.DataFrame(columns=["day", "members", "referral_credits", "purchase_credits"])
    idx = pd.date_range(days.min(), days.max(), freq="D")
    out = pd.DataFrame(
        {
            "day": idx,
            "members": joins.reindex(idx, fill_value=0).cumsum().to_numpy(),
            "referral_credits": rew.reindex(idx, fill_value=0.0).cumsum().to_numpy(),
            "purchase_credits": pur.reindex(idx, fill_value=0.0).cumsum().to_numpy(),
        }
    )
    return out


def spread_network(
    tables: Mapping[str, pd.DataFrame],
    forest: pd.DataFrame,
    day: pd.Timestamp | str,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> NetworkView:
    """Who recruited whom up to the end of ``day``: accounts that had joined, coloured by
    referral generation (depth), arrows parent → recruit. The earliest ``max_nodes`` joiners
    are shown."""
    end = (pd.Timestamp(day).normalize() + pd.Timedelta(days=1)).strftime(_TS)
    fj = _first_join(tables)
    fj = fj[fj < end].sort_values(kind="stable")
    total = len(fj)
    keep = fj.index[:max_nodes]
    f = forest.set_index("account_id").reindex(keep)
    depth = f["referral_depth"].fillna(0).astype(int)
    parent = f["referral_parent"]
    shown = set(keep)
    roots = depth.to_numpy() == 0
    nodes = pd.DataFrame(
        {
            "id": list(keep),
            "label": np.where(roots, account_labels(tables["accounts"], keep).to_numpy(), ""),
            "title": [
                f"{a}\ngeneration {d}\njoined {j}"
                for a, d, j in zip(keep, depth, fj.iloc[:max_nodes])
            ],
            "color": category_colors(depth.to_numpy()),
            "size": np.where(roots, 22.0, 9.0),
        }
    )
    has = parent.notna() & parent.isin(shown)
    edges = pd.DataFrame({"source": parent[has].to_numpy(), "target": parent[has].index})
    note = ""
    if total > len(keep):
        note = f"{total - len(keep)} of {total} members not shown (cap {max_nodes}, earliest first)"
    return NetworkView(
        nodes,
        edges,
        len(nodes),
        total,
        note,
        extra={"generations": int(depth.max()) if len(depth) else 0},
    )


def trainer_days(days: int, start_date: str | None = None) -> pd.DatetimeIndex:
    """The simulated days of a trainer run (day 0 = ``start_date``, the simulator's default).

    Examples
    --------
    >>> [str(d.date()) for d in trainer_days(3)]
    ['2024-06-01', '2024-06-02', '2024-06-03']
    """
    if start_date is None:
        from graphintel.simulate import SimulationParams

        start_date = SimulationParams().start_date
    return pd.date_range(pd.Timestamp(start_date), periods=int(days), freq="D")


def trainer_top_operator(metrics: pd.DataFrame, accounts: pd.DataFrame) -> str | None:
    """The highest-priority account (``priority_rank``, ties by id) that is not a bot, or
    ``None`` when there is none. Bots are the rooms' tooling; the simulator removes people.

    Examples
    --------
    >>> m = pd.DataFrame({"account_id": ["A4", "A1", "A2"], "priority_rank": [1, 2, 3]})
    >>> a = pd.DataFrame({"account_id": ["A1", "A2", "A4"], "is_bot": [False, False, True]})
    >>> trainer_top_operator(m, a)
    'A1'
    """
    bots = set(accounts.loc[accounts["is_bot"].fillna(False).astype(bool), "account_id"])
    ranked = metrics.dropna(subset=["priority_rank"]).sort_values(["priority_rank", "account_id"])
    ranked = ranked[~ranked["account_id"].isin(bots)]
    return None if ranked.empty else str(ranked.iloc[0]["account_id"])


def trainer_random_member(
    tables: Mapping[str, pd.DataFrame], day: pd.Timestamp | str, seed: int
) -> str | None:
    """A plain member (never an owner, admin or bot) who joined before the start of ``day``,
    drawn with ``numpy.random.default_rng(seed)``; ``None`` when nobody qualifies.

    Examples
    --------
    >>> t = prepare_tables({"memberships": pd.DataFrame({
    ...     "account_id": ["O", "S", "M"], "channel_id": ["X"] * 3,
    ...     "role": ["owner", "admin", "member"],
    ...     "joined_at": ["2024-01-01T00:00:00", "2024-01-01T01:00:00", "2024-01-01T09:00:00"]}),
    ...     "accounts": pd.DataFrame({"account_id": ["O", "S", "M"], "is_bot": [False] * 3})})
    >>> trainer_random_member(t, "2024-01-02", 7), trainer_random_member(t, "2024-01-01", 7)
    ('M', None)
    """
    m = tables["memberships"].dropna(subset=["joined_at"])
    cut = pd.Timestamp(day).normalize().strftime(_TS)
    acc = tables["accounts"]
    staff = set(m.loc[m["role"].isin(["owner", "admin"]), "account_id"]) | set(
        acc.loc[acc["is_bot"].fillna(False).astype(bool), "account_id"]
    )
    pool = sorted(set(m.loc[m["joined_at"] < cut, "account_id"]) - staff)
    if not pool:
        return None
    return str(pool[np.random.default_rng(int(seed)).integers(len(pool))])


_SERIES = ["members", "referral_credits", "purchase_credits"]


def intervention_compare(
    timelines: Mapping[str, pd.DataFrame], days: pd.DatetimeIndex | None = None
) -> pd.DataFrame:
    """Scenario timelines (:func:`spread_timeline` of each simulated run, keyed by scenario name)
    in one long frame over the same days: ``day``, ``scenario``, ``members``,
    ``referral_credits``, ``purchase_credits`` (cumulative; 0 before a run's first activity,
    carried forward after its last).

    Examples
    --------
    >>> a = pd.DataFrame({"day": pd.to_datetime(["2024-06-01", "2024-06-02"]),
    ...     "members": [2, 5], "referral_credits": [1.0, 4.0], "purchase_credits": [0.0, 5.0]})
    >>> b = a.iloc[:1]
    >>> out = intervention_compare({"baseline": a, "removal": b})
    >>> out[["scenario", "members"]].values.tolist()
    [['baseline', 2], ['baseline', 5], ['removal', 2], ['removal', 2]]
    """
    frames = []
    if days is None:
        known = [t["day"] for t in timelines.values() if len(t)]
        if not known:
            return pd.DataFrame(columns=["day", "scenario", *_SERIES])
        allday = pd.concat(known)
        days = pd.date_range(allday.min(), allday.max(), freq="D")
    for name, t in timelines.items():
        f = t.set_index("day")[_SERIES].reindex(days).ffill().fillna(0)
        f = f.astype({"members": int}).rename_axis("day").reset_index()
        frames.append(f.assign(scenario=name)[["day", "scenario", *_SERIES]])
    return pd.concat(frames, ignore_index=True)


def intervention_summary(compare: pd.DataFrame) -> pd.DataFrame:
    """Final counts per scenario from :func:`intervention_compare` and the difference from the
    first scenario (the baseline): ``members``, ``referral_credits``, ``purchase_credits``,
    ``members_diff``, ``members_diff_pct``, ``purchase_credits_diff``.

    Examples
    --------
    >>> c = pd.DataFrame({"day": [1, 2, 1, 2], "scenario": ["base", "base", "x", "x"],
    ...     "members": [2, 10, 2, 8], "referral_credits": [0.0, 8.0, 0.0, 6.0],
    ...     "purchase_credits": [0.0, 50.0, 0.0, 40.0]})
    >>> intervention_summary(c)[["members_diff", "members_diff_pct"]].values.tolist()
    [[0.0, 0.0], [-2.0, -20.0]]
    """
    order = list(dict.fromkeys(compare["scenario"]))
    last = compare.sort_values("day", kind="stable").groupby("scenario", sort=False).last()
    last = last.reindex(order)[_SERIES]
    base = last.iloc[0]
    out = last.copy()
    out["members_diff"] = (last["members"] - base["members"]).astype(float)
    out["members_diff_pct"] = np.where(
        base["members"] > 0, 100.0 * out["members_diff"] / max(base["members"], 1), 0.0
    ).round(1)
    out["purchase_credits_diff"] = last["purchase_credits"] - base["purchase_credits"]
    return out.rename_axis("scenario").reset_index()


def channel_links_for(
    tables: Mapping[str, pd.DataFrame], *, start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """Channel links (:func:`graphintel.analytics.channels.channel_links`) counting only
    memberships present and forwards made between ``start`` and ``end`` (ISO timestamps,
    inclusive; ``None`` = open)."""
    return _window_links(tables, start, end)


def md_text(value: Any) -> str:
    """``value`` safe inside Streamlit markdown: HTML-escaped and markdown syntax characters
    backslash-escaped.

    Examples
    --------
    >>> md_text("<img src=x> *x* [a](b)")
    '&lt;img src=x&gt; \\\\*x\\\\* \\\\[a\\\\]\\\\(b\\\\)'
    """
    text = html.escape("" if value is None else str(value), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~>$])", r"\\\1", text)
