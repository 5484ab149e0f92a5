"""Run every analytic over the canonical tables and write the results to a store.

:func:`analyze_tables` is pure (tables in, result frames out); :func:`analyze_store` reads the
canonical tables through the :class:`graphintel.store.base.GraphStore` protocol, runs it and
writes each result table back with ``store.write_results``. The other functions here are the
query helpers the dashboard uses, over tables and results.

Result tables (:data:`graphintel.store.base.RESULT_TABLES`)
-----------------------------------------------------------
``account_metrics`` (one row per account, :data:`graphintel.model.ACCOUNT_METRIC_COLUMNS`),
``channel_metrics`` (:data:`graphintel.model.CHANNEL_METRIC_COLUMNS`), ``channel_links``,
``priority_components`` and ``priority_evidence`` (top ``explain_top`` accounts), ``cycles``
(broken referral cycles) and ``summary`` (``key``/``value`` rows, value a JSON string):

* ``communities``: ``{"method": "louvain"|"leiden", "count", "modularity", "resolution", "seed",
  "nodes", "edges"}``;
* ``referral``: ``{"roots", "max_depth", "largest_cascade", "cycles_broken"}`` — roots = accounts
  that are their own root and have ≥ 1 descendant (cascades), max_depth = largest referral_depth,
  largest_cascade = size of the largest cascade including its root;
* ``cascades``: :func:`graphintel.analytics.referral.cascade_stats`;
* ``priority``: weights and scaling used; ``centrality``: betweenness samples and seed;
* ``economy``: ``{"won_per_credit", "rewards", "matched", "reward_without_invite",
  "invite_without_reward", "proceeds_krw"}`` (totals of the reconciliation and proceeds);
* ``timings``: seconds per stage.

The invitation-credit economy (:mod:`graphintel.analytics.economy`,
:mod:`graphintel.analytics.cascades`) adds ``reconciliation`` (one row per reward and per
unrewarded invite), ``room_economy`` (per room: proceeds, reward rate, unmatched counts),
``room_activity`` (dated records per room and day, for ``graphintel compare``), ``cascades``,
``cascade_generations`` and ``cascade_growth``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from graphintel.analytics import (
    cascades,
    centrality,
    channels,
    communities,
    derived,
    economy,
    flows,
    priority,
    referral,
)
from graphintel.analytics.graph import (
    account_graph,
    account_universe,
    ecosystem_graph,
    prepare_and_encode,
    prepare_tables,
)
from graphintel.analytics.memory import release_unused_memory
from graphintel.errors import AnalyticsError
from graphintel.model import (
    ACCOUNT_METRIC_COLUMNS,
    CHANNEL_METRIC_COLUMNS,
    RESULT_TABLES,
    TABLE_ORDER,
    table_columns,
)
from graphintel.store.base import GraphStore

__all__ = [
    "analyze_store",
    "analyze_tables",
    "cascade_stats",
    "credits_over_time",
    "flows_by_community",
    "flows_by_role",
    "largest_cascades",
    "referral_chain",
    "referral_subtree",
    "summary_dict",
    "top_earners",
    "trace_payments",
]

ANALYZE_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id", "is_bot"),
    "channels": ("channel_id", "creator_id", "kind", "source_ids"),
    "memberships": ("account_id", "channel_id", "role", "joined_at", "source_ids"),
    "invites": ("inviter_id", "invitee_id", "channel_id", "invited_at", "source_ids"),
    "transactions": (
        "txn_id",
        "from_id",
        "to_id",
        "credits",
        "amount_krw",
        "kind",
        "ts",
        "channel_id",
        "source_ids",
    ),
    "forwards": ("from_channel_id", "to_channel_id", "ts"),
    "organizations": ("org_id", "name"),
    "targets": ("channel_id", "org_id", "source_ids"),
    "content": ("channel_id", "poster_id", "posted_at"),
}
"""The columns :func:`analyze_tables` reads (the others are not normalised)."""

ALL_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(
        c
        for c in table_columns(name)
        if c in ANALYZE_COLUMNS.get(name, ()) or c in derived.PREPARE_COLUMNS.get(name, ())
    )
    for name in TABLE_ORDER
}
"""The columns :func:`analyze_tables` reads with ``derive`` (analytics and derived tables), in
stored order."""

referral_chain = referral.referral_chain
referral_subtree = referral.referral_subtree
largest_cascades = referral.largest_cascades
cascade_stats = referral.cascade_stats
top_earners = flows.top_earners


def analyze_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    seed: int = 0,
    resolution: float = 1.0,
    engine: str = "auto",
    weights: Mapping[str, float] | None = None,
    betweenness_samples: int = 32,
    explain_top: int = 1000,
    evidence_limit: int = 10,
    won_per_credit: float = economy.DEFAULT_WON_PER_CREDIT,
    derive: bool = True,
    release: bool = False,
) -> dict[str, pd.DataFrame]:
    """Compute every analytic over canonical tables.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Canonical tables in stored form (:func:`graphintel.model.table_columns`); any may be
        missing or empty.
    seed : int
        Seed for community detection and betweenness pivots (same seed → same results).
    resolution : float
        Modularity resolution for communities.
    engine : {"auto", "louvain", "leiden"}
        Community engine (see :func:`graphintel.analytics.communities.detect_communities`).
    weights : mapping, optional
        Priority component weights (see :mod:`graphintel.analytics.priority`).
    betweenness_samples : int
        Source pivots for sampled betweenness (exact on graphs up to that many accounts).
    explain_top, evidence_limit : int
        How many top accounts get components and evidence rows, and evidence rows per component.
    won_per_credit : float
        Won per credit for proceeds where a purchase has no ``amount_krw`` (default 2,650).
    derive : bool
        Also compute the dashboard's derived tables
        (:data:`graphintel.analytics.derived.DERIVED_TABLES`) from the same tables.
    release : bool
        ``tables`` is a dict handed over by the caller: it is emptied once the tables are
        prepared, so the raw frames are freed while the analytics run (the derived tables are
        computed from the same prepared tables).

    Returns
    -------
    dict of str to pandas.DataFrame
        Every key of :data:`graphintel.model.RESULT_TABLES` (without the derived tables when
        ``derive`` is false).

    Raises
    ------
    AnalyticsError
        On an unknown engine, a bad resolution, invalid weights or a negative or non-finite
        ``won_per_credit``.

    Examples
    --------
    >>> res = analyze_tables({"invites": pd.DataFrame({"inviter_id": ["A"], "invitee_id": ["B"],
    ...                                                "invited_at": ["2024-01-01T00:00:00"]})})
    >>> res["account_metrics"][["account_id", "referral_root", "direct_invites"]].values.tolist()
    [['A', 'A', 1], ['B', 'A', 0]]
    >>> json.loads(res["summary"].set_index("key").loc["referral", "value"])["largest_cascade"]
    2
    """
    try:
        won = float(won_per_credit)
    except (TypeError, ValueError):
        won = math.nan
    if not math.isfinite(won) or won < 0:
        raise AnalyticsError(
            f"won per credit must be a finite number ≥ 0, got {won_per_credit!r} "
            f"(default {economy.DEFAULT_WON_PER_CREDIT:g})"
        )
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        release_unused_memory()  # the stage's freed temporaries: keeps the peak down
        now = time.perf_counter()
        timings[stage] = round(now - clock, 4)
        clock = now

    # every id column is hashed once here; the stages (and the derived tables) share the
    # prepared tables and the integer codes
    handed_over = release and isinstance(tables, dict)
    t, codes = prepare_and_encode(
        tables, columns=ALL_COLUMNS if derive else ANALYZE_COLUMNS, release=handed_over
    )
    if handed_over:
        tables.clear()  # the prepared copies are all the stages read
    acc, chan = codes.account_ids, codes.channel_ids
    lap("prepare")

    forest, cycles = referral.referral_forest(t["invites"], acc, codes=codes)
    lap("referral")

    credits = flows.account_credits(t["transactions"], acc, codes=codes)
    lap("credits")

    recon = economy.reconcile_rewards(t["invites"], t["transactions"], codes=codes)
    econ = economy.account_economy(t["transactions"], acc, recon, won_per_credit=won, codes=codes)
    rooms_econ = economy.room_economy(t["transactions"], recon, won_per_credit=won)
    activity = economy.room_activity(t)
    growth = cascades.cascade_tables(forest)
    lap("economy")

    eco = ecosystem_graph(t, codes=codes)
    lap("projection")
    comm = communities.detect_communities(eco, engine=engine, seed=seed, resolution=resolution)
    lap("communities")

    ag = account_graph(t, codes=codes)
    pr = centrality.pagerank(ag)
    lap("pagerank")
    bc = centrality.betweenness(ag, samples=betweenness_samples, seed=seed)
    lap("betweenness")
    bridge = centrality.bridging(eco, comm.labels)[: len(acc)]
    eco_nodes, eco_edges = int(eco.n_nodes), int(eco.n_edges)
    del eco, ag  # the graphs (and their cached igraph copies) are not read past here
    lap("bridging")

    members, admins = channels.channel_members(t["memberships"], chan, codes=codes)
    links = channels.channel_links(
        t["memberships"], t["forwards"], chan, codes=codes, members=members
    )
    chan_comm = comm.labels[len(acc) :]
    lap("channels")

    metrics = pd.DataFrame(
        {
            "account_id": pd.Series(acc, dtype=object),
            "community": comm.labels[: len(acc)].astype(np.int64),
            "referral_parent": forest["referral_parent"],
            "referral_root": forest["referral_root"],
            "referral_depth": forest["referral_depth"].astype(np.int64),
            "referral_descendants": forest["referral_descendants"].astype(np.int64),
            "direct_invites": forest["direct_invites"].astype(np.int64),
            "referral_invited_at": forest["referral_invited_at"],
            "credits_in": credits["credits_in"],
            "credits_out": credits["credits_out"],
            "referral_rewards": credits["referral_rewards"],
            "purchases": credits["purchases"],
            "net_credits": credits["net_credits"],
            "rewards_matched": econ["rewards_matched"],
            "rewards_unmatched": econ["rewards_unmatched"],
            "proceeds_krw": econ["proceeds_krw"],
            "distinct_payers": econ["distinct_payers"],
            "distinct_payees": econ["distinct_payees"],
            "pagerank": pr,
            "betweenness": bc,
            "bridging": bridge,
        }
    )
    prio = priority.priority_scores(
        t,
        metrics,
        channel_ids=chan,
        channel_members=members,
        channel_community=chan_comm,
        weights=weights,
        explain_top=explain_top,
        evidence_limit=evidence_limit,
        account_ids=acc,
        codes=codes,
    )
    metrics["priority_score"] = prio.scores["priority_score"].to_numpy()
    metrics["priority_rank"] = prio.scores["priority_rank"].to_numpy(np.int64)
    metrics = metrics[list(ACCOUNT_METRIC_COLUMNS)]
    lap("priority")

    channel_metrics = pd.DataFrame(
        {
            "channel_id": pd.Series(chan, dtype=object),
            "community": chan_comm.astype(np.int64),
            "members": members,
            "admins": admins,
        },
        columns=list(CHANNEL_METRIC_COLUMNS),
    )
    derived_tables: dict[str, pd.DataFrame] = {}
    if derive:
        derived_tables = derived.derive_prepared(
            t, account_metrics=metrics, channel_metrics=channel_metrics, codes=codes
        )
        lap("derived")
    casc = referral.all_cascades(forest)
    ref = referral.referral_summary(forest, cascades=casc)
    ref["cycles_broken"] = len(cycles)
    summary: dict[str, Any] = {
        "communities": {
            "method": comm.method,
            "count": comm.count,
            "modularity": comm.modularity,
            "resolution": float(resolution),
            "seed": int(seed),
            "nodes": eco_nodes,
            "edges": eco_edges,
        },
        "referral": ref,
        "cascades": referral.cascade_stats(forest, cascades=casc),
        "priority": {
            "weights": priority.resolve_weights(weights),
            "scaling": "log(1 + value) / log(1 + max value) per component",
            "explained_accounts": int(prio.components["account_id"].nunique()),
        },
        "economy": {
            "won_per_credit": won,
            "rewards": int(recon["txn_id"].notna().sum()),
            "matched": int((recon["status"] == "matched").sum()),
            "reward_without_invite": int((recon["status"] == "reward_without_invite").sum()),
            "invite_without_reward": int((recon["status"] == "invite_without_reward").sum()),
            "proceeds_krw": float(econ["proceeds_krw"].sum()),
        },
        "centrality": {
            "betweenness_samples": int(betweenness_samples),
            "betweenness_exact": bool(len(acc) <= betweenness_samples),
            "seed": int(seed),
        },
    }
    lap("summary")
    timings["total"] = round(sum(timings.values()), 4)
    summary["timings"] = timings
    summary_frame = pd.DataFrame(
        {
            "key": pd.Series(list(summary), dtype=object),
            "value": pd.Series([_json(v) for v in summary.values()], dtype=object),
        }
    )
    out = {
        "account_metrics": metrics.reset_index(drop=True),
        "channel_metrics": channel_metrics,
        "channel_links": links,
        "priority_components": prio.components,
        "priority_evidence": prio.evidence,
        "cycles": cycles,
        "summary": summary_frame,
        "reconciliation": recon,
        "room_economy": rooms_econ,
        "room_activity": activity,
        **growth,
    }
    if derive:
        out.update(derived_tables)
        assert set(out) == set(RESULT_TABLES)
    return out


def _json(value: Any) -> str:
    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (np.integer,)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            f = float(v)
            return f if math.isfinite(f) else None
        return v

    return json.dumps(clean(value), sort_keys=True)


def summary_dict(summary: pd.DataFrame) -> dict[str, Any]:
    """The ``summary`` result table as a dict of decoded JSON values.

    Examples
    --------
    >>> summary_dict(pd.DataFrame({"key": ["referral"], "value": ['{"roots": 1}']}))
    {'referral': {'roots': 1}}
    """
    return {str(k): json.loads(v) for k, v in zip(summary["key"], summary["value"])}


def analyze_store(store: GraphStore, **options: Any) -> dict[str, pd.DataFrame]:
    """Read every canonical table from ``store``, analyse, write every result table back.

    Parameters
    ----------
    store : GraphStore
        An open store (the caller closes it).
    **options
        Passed to :func:`analyze_tables` (``seed``, ``resolution``, ``engine``, ``weights``,
        ``betweenness_samples``, ``explain_top``, ``evidence_limit``, ``won_per_credit``).

    Returns
    -------
    dict of str to pandas.DataFrame
        The result tables, as written.

    Raises
    ------
    AnalyticsError
        On invalid options. Store errors propagate as :class:`graphintel.errors.StoreError`.
    """
    # Only the columns analytics and the derived tables read, each table once: evidence and
    # the other columns stay in the store. The raw frames are freed once prepared.
    tables = {
        name: store.table(name, columns=list(ALL_COLUMNS[name]))
        for name in TABLE_ORDER
        if ALL_COLUMNS.get(name)
    }
    results = analyze_tables(tables, derive=True, release=True, **options)
    del tables
    for name, frame in results.items():
        store.write_results(name, frame)
    return results


def flows_by_role(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Credits between roles (operator, admin, member, bot): ``source``, ``target``,
    ``credits``, ``transactions`` (Sankey-ready). Roles: see :mod:`graphintel.analytics.flows`.

    Examples
    --------
    >>> t = {"channels": pd.DataFrame({"channel_id": ["X"], "creator_id": ["A"]}),
    ...      "transactions": pd.DataFrame({"txn_id": ["T1"], "from_id": ["B"], "to_id": ["A"],
    ...                                    "credits": [5.0], "kind": ["purchase"]})}
    >>> flows_by_role(t).values.tolist()
    [['member', 'operator', 5.0, 1]]
    """
    t = prepare_tables(tables)
    return flows.role_flows(t, account_universe(t))


def flows_by_community(
    tables: Mapping[str, pd.DataFrame], account_metrics: pd.DataFrame
) -> pd.DataFrame:
    """Credits between communities (:func:`graphintel.analytics.derived.community_flows`)."""
    t = prepare_tables({"transactions": tables["transactions"]})
    return derived.community_flows(t["transactions"], account_metrics)


def trace_payments(
    tables: Mapping[str, pd.DataFrame], account_id: str, **options: Any
) -> pd.DataFrame:
    """Payments ``hops`` hops forward/backward from an account within a time window; see
    :func:`graphintel.analytics.flows.trace_payments` for the options."""
    t = prepare_tables({"transactions": tables["transactions"]})
    return flows.trace_payments(t["transactions"], account_id, **options)


def credits_over_time(tables: Mapping[str, pd.DataFrame], **options: Any) -> pd.DataFrame:
    """Credits per period; see :func:`graphintel.analytics.flows.credits_over_time`."""
    t = prepare_tables({"transactions": tables["transactions"]})
    return flows.credits_over_time(t["transactions"], **options)
