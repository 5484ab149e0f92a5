"""Shaping of small frames for the dashboard: networks, notes, Sankey arrays, CSV text.

No Streamlit and no store access here: :class:`graphintel.dataset.Dataset` queries the store
for exactly what a page shows and hands the small frames it gets back to these functions (or a
page hands them to Streamlit as they are). The Trainer's functions work on simulated tables in
memory (nothing is read from or written to a store).

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

from graphintel.analytics.graph import prepare_tables
from graphintel.model import TABLE_ORDER
from graphintel.netviz import category_colors, scale_sizes

__all__ = [
    "DEFAULT_MAX_NODES",
    "NetworkView",
    "account_labels",
    "channel_network",
    "intervention_compare",
    "intervention_summary",
    "md_text",
    "payment_trace_view",
    "priority_long",
    "province_features",
    "referral_tree_view",
    "region_table",
    "sankey_svg",
    "search_rooms",
    "shortlist_csv",
    "spread_network",
    "spread_timeline",
    "trainer_days",
    "trainer_random_member",
    "trainer_run",
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


# -- labels ------------------------------------------------------------------------------------


def _day(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts, format=_TS, errors="coerce").dt.normalize()


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


# -- referral -----------------------------------------------------------------------------------


def referral_tree_view(
    chain: pd.DataFrame, subtree: pd.DataFrame, more: list[dict[str, Any]]
) -> NetworkView:
    """The referral chain (account → root) and the tree below as a hierarchical view.

    ``chain`` and ``subtree`` have ``account_id``, ``referral_parent``, ``referral_depth``,
    ``referral_descendants``, ``referral_invited_at``, ``handle`` (``subtree`` also ``level``:
    generations below the account, 0 = the account); ``more`` lists summary nodes (``parent``,
    ``level``, ``children`` not shown, ``accounts`` in their sub-trees). The account is red,
    its ancestors grey, recruits coloured by generation, summary nodes white squares.

    Examples
    --------
    >>> row = {"referral_parent": None, "referral_depth": 0, "referral_descendants": 3,
    ...        "referral_invited_at": None, "handle": "@a", "direct_invites": 3}
    >>> chain = pd.DataFrame([{"account_id": "A", **row}])
    >>> sub = pd.DataFrame([{"account_id": "A", **row, "level": 0},
    ...     {"account_id": "B", **row, "referral_parent": "A", "referral_depth": 1,
    ...      "referral_descendants": 0, "handle": "R&D", "level": 1}])
    >>> v = referral_tree_view(chain, sub, [{"parent": "A", "level": 1, "children": 2,
    ...                                     "accounts": 2}])
    >>> v.nodes["label"].tolist(), v.edges["source"].tolist()
    (['@a', 'R&D', '+2 more (2 accounts)'], ['A', 'A'])
    """
    anc = chain.iloc[1:]
    depth0 = int(chain["referral_depth"].iloc[0])
    ids = [*anc["account_id"], *subtree["account_id"]]
    levels = [*anc["referral_depth"].astype(int), *(depth0 + subtree["level"].astype(int))]
    labels = [*anc["handle"], *subtree["handle"]]
    desc = np.array(
        [*anc["referral_descendants"], *subtree["referral_descendants"]], dtype=np.int64
    )
    when = [*anc["referral_invited_at"], *subtree["referral_invited_at"]]
    gen = np.asarray(levels, dtype=np.int64) - depth0
    colors = np.where(
        gen < 0, "#9aa5b1", np.array(category_colors(np.maximum(gen, 0)), dtype=object)
    )
    colors[len(anc)] = "#d62728"
    nodes = pd.DataFrame(
        {
            "id": ids,
            "label": labels,
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
            "source": [*anc["account_id"], *subtree["referral_parent"].iloc[1:]],
            "target": [*chain["account_id"].iloc[:-1], *subtree["account_id"].iloc[1:]],
        }
    )
    if more:
        m = pd.DataFrame(more)
        mid = [f"\x00more:{p}" for p in m["parent"]]
        nodes = pd.concat(
            [
                nodes,
                pd.DataFrame(
                    {
                        "id": mid,
                        "label": [
                            f"+{c:,} more ({a:,} account{'' if a == 1 else 's'})"
                            for c, a in zip(m["children"], m["accounts"])
                        ],
                        "title": [
                            f"{c:,} more recruits of {p} not shown, {a:,} accounts in their "
                            "sub-trees"
                            for c, a, p in zip(m["children"], m["accounts"], m["parent"])
                        ],
                        "level": (depth0 + m["level"].astype(int)).to_numpy(),
                        "color": "#ffffff",
                        "size": 12.0,
                        "shape": "box",
                    }
                ),
            ],
            ignore_index=True,
        )
        edges = pd.concat(
            [edges, pd.DataFrame({"source": m["parent"].to_numpy(), "target": mid})],
            ignore_index=True,
        )
    shown_chain = chain.reindex(
        columns=["account_id", "handle", "referral_depth", "referral_invited_at"]
    )
    shown_sub = subtree.reindex(
        columns=["account_id", "handle", "referral_parent", "level", "referral_descendants"]
    )
    return NetworkView(
        nodes,
        edges,
        len(ids),
        len(ids),
        "",
        extra={"chain": shown_chain.reset_index(drop=True), "subtree": shown_sub},
    )


# -- operators ----------------------------------------------------------------------------------


def priority_long(ranking: pd.DataFrame) -> pd.DataFrame:
    """Component contributions in long form for a stacked bar: ``account``, ``component``,
    ``contribution`` (rank order kept)."""
    fixed = {"priority_rank", "account_id", "handle", "display_name", "priority_score", "community"}
    comps = [c for c in ranking.columns if c not in fixed]
    lab = ranking["handle"].fillna(ranking["account_id"]).astype(str)
    label = ranking["priority_rank"].astype("Int64").astype(str) + ". " + lab
    wide = ranking[comps].assign(account=label.to_numpy())
    return wide.melt(id_vars="account", var_name="component", value_name="contribution")


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


def sankey_svg(flows: pd.DataFrame, *, width: int = 900, height: int = 420) -> str:
    """A two-column Sankey of credit flows as one SVG: payers on the left, payees on the right
    (so flows inside a group make no loops), band width ~ credits, a tooltip per band and node.

    Drawn here, not by a charting library: the browser only paints it (Plotly's Sankey loaded
    ~4.6 MB of JavaScript into every tab showing it). Every label is escaped once, here.
    ``flows`` has ``source``, ``target``, ``credits`` and optionally ``transactions``.

    Examples
    --------
    >>> fl = pd.DataFrame({"source": ["a", "a"], "target": ["a", "<b>"], "credits": [1.0, 3.0]})
    >>> svg = sankey_svg(fl)
    >>> svg.startswith("<svg"), svg.count("<path"), "&lt;b&gt;" in svg, "<b>" in svg
    (True, 2, True, False)
    """
    from graphintel.netviz import category_colors

    pad, bar, margin = 14.0, 14.0, 150.0
    f = flows.assign(
        source=flows["source"].astype(str),
        target=flows["target"].astype(str),
        credits=pd.to_numeric(flows["credits"], errors="coerce").fillna(0.0).clip(lower=0.0),
    )
    f = f[f["credits"] > 0].sort_values(["source", "target"], kind="stable")
    esc = html.escape
    if f.empty:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40"></svg>'
    left = f.groupby("source", sort=True)["credits"].sum()
    right = f.groupby("target", sort=True)["credits"].sum()
    total = float(f["credits"].sum())
    usable = height - 20.0 - pad * (max(len(left), len(right)) - 1)
    scale = max(usable, 20.0) / total
    x0, x1 = margin, width - margin

    def column(sums: pd.Series) -> dict[str, float]:
        tops, y = {}, 10.0
        for name, value in sums.items():
            tops[str(name)] = y
            y += float(value) * scale + pad
        return tops

    ltop, rtop = column(left), column(right)
    colors = dict(zip(left.index, category_colors(list(left.index))))
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {width} {height}" '
        'style="max-width:100%;font:12px sans-serif" role="img" aria-label="credit flows">'
    )
    parts = [head]
    lused = dict.fromkeys(ltop, 0.0)
    rused = dict.fromkeys(rtop, 0.0)
    n_tx = f["transactions"] if "transactions" in f else pd.Series(np.nan, index=f.index)
    for src, dst, credits, tx in zip(f["source"], f["target"], f["credits"], n_tx):
        h = float(credits) * scale
        ya, yb = ltop[src] + lused[src], rtop[dst] + rused[dst]
        lused[src] += h
        rused[dst] += h
        xa, xb, xm = x0 + bar, x1, (x0 + bar + x1) / 2
        d = (
            f"M{xa:.1f},{ya:.1f} C{xm:.1f},{ya:.1f} {xm:.1f},{yb:.1f} {xb:.1f},{yb:.1f} "
            f"L{xb:.1f},{yb + h:.1f} C{xm:.1f},{yb + h:.1f} {xm:.1f},{ya + h:.1f} "
            f"{xa:.1f},{ya + h:.1f} Z"
        )
        tip = f"{src} ▸ {dst}: {credits:,.0f} credits"
        if pd.notna(tx):
            tip += f" in {int(tx):,} transactions"
        parts.append(
            f'<path d="{d}" fill="{colors[src]}" fill-opacity="0.45" stroke="none">'
            f"<title>{esc(tip)}</title></path>"
        )
    for sums, tops, x, anchor, tx_x, arrow in (
        (left, ltop, x0, "end", x0 - 6, "{} ▸"),
        (right, rtop, x1, "start", x1 + bar + 6, "▸ {}"),
    ):
        for name, value in sums.items():
            y, h = tops[str(name)], float(value) * scale
            label = arrow.format(name)
            fill = colors.get(name, "#888") if anchor == "end" else "#666"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.0f}" height="{max(h, 1.0):.1f}" '
                f'fill="{fill}"><title>{esc(label)}: {float(value):,.0f} credits</title></rect>'
                f'<text x="{tx_x:.1f}" y="{y + h / 2 + 4:.1f}" text-anchor="{anchor}">'
                f"{esc(label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def payment_trace_view(
    tx: pd.DataFrame,
    labels: pd.DataFrame,
    account_id: str,
    *,
    direction: str = "forward",
    max_nodes: int = DEFAULT_MAX_NODES,
    max_edges: int = 5_000,
) -> NetworkView:
    """A payment trace (the transactions reached, with their ``hop``) as a directed network
    and a table.

    Parameters
    ----------
    tx : pandas.DataFrame
        ``hop``, ``txn_id``, ``from_id``, ``to_id``, ``credits``, ``kind``, ``ts``,
        ``channel_id``, ``source_ids``, ordered by hop, ts, txn_id
        (:meth:`graphintel.dataset.Dataset.trace` collects them, one query per hop).
    labels : pandas.DataFrame
        ``account_id``, ``handle`` (display label) of the accounts involved.
    account_id : str
        Where the trace started.
    direction : {"forward", "backward"}
    max_nodes : int
        Accounts drawn at most: the start account, then the nearest hops, then the most credits
        moved in the trace (ties by id). The table is not capped by it.
    max_edges : int
        The limit the trace was collected with (the note says when it was reached).

    Returns
    -------
    NetworkView
        Nodes are accounts (the start account red, others coloured by hop distance, size ~
        credits moved in the trace); edges are payer → payee pairs (width ~ credits, tooltip
        with count, credits, first hop and transaction ids). ``extra["table"]``: ``hop, txn_id,
        from_id, from_handle, to_id, to_handle, credits, kind, ts, channel_id, source_ids``
        (source ids ``, ``-joined); ``extra["summary"]``: ``accounts_reached`` (accounts other
        than the start account), ``transactions``, ``credits``, ``hops_reached``, ``first_ts``,
        ``last_ts``, ``truncated`` (the trace hit ``max_edges``).

    Examples
    --------
    >>> tx = pd.DataFrame({"hop": [1, 2], "txn_id": ["T1", "T2"], "from_id": ["A", "B"],
    ...     "to_id": ["B", "C"], "credits": [5.0, 3.0], "kind": ["purchase", "payout"],
    ...     "ts": ["2024-01-02T00:00:00", "2024-01-01T00:00:00"], "channel_id": [None, None],
    ...     "source_ids": [["S1"], ["S1"]]})
    >>> lab = pd.DataFrame({"account_id": ["A", "B", "C"], "handle": ["@a", "@b", "C"]})
    >>> v = payment_trace_view(tx, lab, "A")
    >>> v.extra["table"][["hop", "txn_id", "to_handle", "source_ids"]].values.tolist()
    [[1, 'T1', '@b', 'S1'], [2, 'T2', 'C', 'S1']]
    >>> v.nodes["id"].tolist(), v.extra["summary"]["accounts_reached"]
    (['A', 'B', 'C'], 2)
    >>> payment_trace_view(tx, lab, "A", max_nodes=2).note
    '1 of 3 accounts not shown (cap 2: nearest hops, then most credits moved)'
    """
    lab = pd.Series(labels["handle"].to_numpy(dtype=object), index=labels["account_id"].to_numpy())

    def account_labels_(ids: Any) -> pd.Series:
        ids = pd.Series(list(ids), dtype=object)
        got = ids.map(lab)
        return got.where(got.notna(), ids)

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
            "from_handle": account_labels_(from_ids.fillna("")).to_numpy(),
            "to_id": to_ids.to_numpy(),
            "to_handle": account_labels_(to_ids.fillna("")).to_numpy(),
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
    labels = account_labels_(ids)
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
    truncated = len(tx) >= max_edges > 0
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


def province_features() -> list[dict[str, Any]]:
    """Korea's 17 province outlines (KOSTAT 2013, shipped in ``graphintel/data``) as GeoJSON
    features, for a map drawn offline (no tiles, no request leaves the machine).

    Examples
    --------
    >>> f = province_features()
    >>> len(f), f[0]["type"], sorted(f[0]["geometry"])
    (17, 'Feature', ['coordinates', 'type'])
    """
    import json
    from importlib import resources

    text = (
        resources.files("graphintel")
        .joinpath("data/korea-provinces-2013.geojson")
        .read_text(encoding="utf-8")
    )
    return list(json.loads(text)["features"])


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


def trainer_run(**params: Any) -> dict[str, Any]:
    """Simulate (:func:`trainer_simulate`), analyse the run once and return ``tables``,
    ``metrics`` (account metrics: the referral forest and priority ranks) and ``timeline``
    (:func:`spread_timeline`). The Trainer's baseline: computed here, not in the page.

    Raises
    ------
    SimulationError
        If an option is out of range.
    """
    from graphintel.analytics.pipeline import analyze_tables

    t = trainer_simulate(**params)
    res = analyze_tables(t, explain_top=10, evidence_limit=1, derive=False)
    return {"tables": t, "metrics": res["account_metrics"], "timeline": spread_timeline(t)}


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
