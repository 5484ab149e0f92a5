"""The read queries of :class:`graphintel.dataset.Dataset` on the embedded DuckDB store.

Every query the dashboard runs is here, by name; :data:`graphintel.store.cypher.DATASET_QUERIES`
holds the same names for Neo4j, with the same parameters and result columns. Values travel only
as ``$parameters``; table and column names are fixed text. Every query takes ``$scope``: a list
of permitted source ids, or NULL for everything; a record is in scope when its ``source_ids``
overlap it.

Readers and writers side by side
--------------------------------
:class:`DuckDBReader` reads a store file through a read-only connection that it reopens when the
file is replaced: writers (:class:`graphintel.store.duckdb_store.DuckDBStore`) work on a copy
and switch it in with one atomic rename, so a reader sees the old generation or the new one,
never a mix, and never blocks a writer.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from graphintel.errors import StoreError, StoreUnavailable
from graphintel.model import COUNT_KEYS, TABLES

__all__ = ["QUERIES", "DuckDBReader", "Query"]


def _scope(col: str) -> str:
    return f"(CAST($scope AS VARCHAR[]) IS NULL OR list_has_any({col}, CAST($scope AS VARCHAR[])))"


def _ids(param: str) -> str:
    return f"(SELECT unnest(CAST(${param} AS VARCHAR[])))"


@dataclass(frozen=True)
class Query:
    """One named read: SQL, the tables it needs (empty result when one is missing) and the
    columns of its result."""

    sql: str
    tables: tuple[str, ...]
    columns: tuple[str, ...]
    #: the same read without the ``$scope`` filter, where leaving it out saves a join or a scan
    #: (used when ``$scope`` is NULL: the two give the same rows)
    unscoped: str | None = None


_ROOM_COLS = (
    "channel_id",
    "title",
    "kind",
    "is_public",
    "creator_id",
    "creator",
    "members",
    "admins",
    "community",
    "targets",
    "forwards_out",
    "forwards_in",
    "first_join",
    "last_join",
)
_ROOM_FILTER = (
    f"{_scope('r.source_ids')} "
    "AND ($q IS NULL OR contains(lower(coalesce(r.title, '')), lower($q)) "
    "OR contains(lower(r.channel_id), lower($q)) "
    "OR contains(lower(coalesce(r.creator, '')), lower($q))) "
    "AND (CAST($communities AS BIGINT[]) IS NULL "
    "OR list_contains(CAST($communities AS BIGINT[]), r.community)) "
    "AND (CAST($orgs AS VARCHAR[]) IS NULL OR r.channel_id IN "
    f"(SELECT channel_id FROM targets WHERE org_id IN {_ids('orgs')}))"
)
_ACCOUNT_LABEL = (
    "coalesce(nullif(a.handle, ''), nullif(a.display_name, ''), m.account_id) AS handle"
)
_METRIC_FOREST = (
    "m.account_id, m.referral_parent, m.referral_root, m.referral_depth, "
    "m.referral_descendants, m.direct_invites, m.referral_invited_at"
)
_FOREST_COLS = (
    "account_id",
    "referral_parent",
    "referral_root",
    "referral_depth",
    "referral_descendants",
    "direct_invites",
    "referral_invited_at",
)
_TX_COLS = ("txn_id", "from_id", "to_id", "credits", "kind", "ts", "channel_id", "source_ids")
_TRACE = (
    "SELECT txn_id, from_id, to_id, credits, kind, ts, channel_id, source_ids "
    "FROM transactions t WHERE {near} IN {frontier} AND {scope} "
    "AND ($start IS NULL OR (ts IS NOT NULL AND ts >= $start)) "
    "AND ($end IS NULL OR (ts IS NOT NULL AND ts <= $end)) "
    "ORDER BY ts NULLS LAST, txn_id LIMIT $limit"
)
_FLOWS = (
    "SELECT source, target, sum(credits) AS credits, CAST(sum(transactions) AS BIGINT) AS "
    "transactions FROM {table} r WHERE {scope} GROUP BY source, target "
    "ORDER BY credits DESC, source, target"
)

QUERIES: dict[str, Query] = {
    # -- the invitation-credit economy (graphintel.analytics.economy / cascades) --
    "room_economy": Query(
        "SELECT e.channel_id, c.title, purchases, proceeds_krw, rewards, reward_credits, "
        "rewards_matched, matched_reward_credits, reward_rate, rewards_without_invite, "
        "invites_without_reward FROM result_room_economy e "
        "LEFT JOIN channels c ON c.channel_id = e.channel_id "
        "ORDER BY e.channel_id NULLS LAST",
        ("result_room_economy",),
        (
            "channel_id",
            "title",
            "purchases",
            "proceeds_krw",
            "rewards",
            "reward_credits",
            "rewards_matched",
            "matched_reward_credits",
            "reward_rate",
            "rewards_without_invite",
            "invites_without_reward",
        ),
    ),
    "cascade_list": Query(
        "SELECT root, size FROM result_cascades ORDER BY size DESC, root LIMIT $limit",
        ("result_cascades",),
        ("root", "size"),
    ),
    "cascade_generations": Query(
        "SELECT root, generation, accounts, recruits, gap_hours_mean FROM "
        f"result_cascade_generations WHERE CAST($ids AS VARCHAR[]) IS NULL OR root IN {_ids('ids')} "
        "ORDER BY root, generation",
        ("result_cascade_generations",),
        ("root", "generation", "accounts", "recruits", "gap_hours_mean"),
    ),
    "cascade_growth": Query(
        f"SELECT root, day, joined, size FROM result_cascade_growth WHERE root IN {_ids('ids')} "
        "ORDER BY root, day",
        ("result_cascade_growth",),
        ("root", "day", "joined", "size"),
    ),
    "room_activity": Query(
        "SELECT channel_id, day, events FROM result_room_activity ORDER BY channel_id, day",
        ("result_room_activity",),
        ("channel_id", "day", "events"),
    ),
    "room_joins": Query(
        "SELECT account_id, channel_id, joined_at FROM memberships m "
        f"WHERE {_scope('m.source_ids')} UNION ALL "
        "SELECT invitee_id, channel_id, nullif(invited_at, '') FROM invites i "
        f"WHERE channel_id <> '' AND {_scope('i.source_ids')}",
        ("memberships", "invites"),
        ("account_id", "channel_id", "joined_at"),
    ),
    # members of the rooms in $gone (a join before $at, or undated) who joined another room in
    # [$at, $end): analytics.economy.room_moves, computed in the store
    "room_moves": Query(
        "WITH j AS (SELECT account_id, channel_id, min(joined_at) AS joined_at FROM ("
        "SELECT account_id, channel_id, nullif(joined_at, '') AS joined_at FROM memberships m "
        f"WHERE {_scope('m.source_ids')} UNION ALL "
        "SELECT invitee_id, channel_id, nullif(invited_at, '') FROM invites i "
        f"WHERE channel_id <> '' AND {_scope('i.source_ids')}) GROUP BY account_id, channel_id), "
        "was AS (SELECT account_id, channel_id FROM j WHERE channel_id IN "
        f"{_ids('gone')} AND (joined_at IS NULL OR joined_at < $at)), "
        "went AS (SELECT account_id, channel_id, joined_at FROM j "
        "WHERE joined_at >= $at AND joined_at < $end) "
        "SELECT was.channel_id AS from_channel_id, went.channel_id AS to_channel_id, "
        "count(DISTINCT was.account_id) AS members, min(went.joined_at) AS first_joined_at "
        "FROM was JOIN went ON was.account_id = went.account_id "
        "AND was.channel_id <> went.channel_id GROUP BY 1, 2 "
        "ORDER BY members DESC, from_channel_id, to_channel_id",
        ("memberships", "invites"),
        ("from_channel_id", "to_channel_id", "members", "first_joined_at"),
    ),
    "account_economy": Query(
        "SELECT proceeds_krw, distinct_payers, distinct_payees FROM result_account_metrics "
        "WHERE account_id = $account",
        ("result_account_metrics",),
        ("proceeds_krw", "distinct_payers", "distinct_payees"),
    ),
    "purchases_received": Query(
        "SELECT txn_id, from_id, ts, channel_id, credits, amount_krw, kind, to_id, source_ids "
        f"FROM transactions t WHERE to_id = $account AND kind = 'purchase' "
        f"AND {_scope('t.source_ids')} ORDER BY txn_id LIMIT $limit",
        ("transactions",),
        (
            "txn_id",
            "from_id",
            "ts",
            "channel_id",
            "credits",
            "amount_krw",
            "kind",
            "to_id",
            "source_ids",
        ),
    ),
    "sources": Query(
        "SELECT source_id, case_id, method, legal_basis, collected_at, collected_by, "
        "CAST(coalesce(len(files), 0) AS BIGINT) AS files, ingested_at FROM sources "
        "WHERE CAST($scope AS VARCHAR[]) IS NULL OR list_contains(CAST($scope AS VARCHAR[]), "
        "source_id) ORDER BY source_id",
        ("sources",),
        (
            "source_id",
            "case_id",
            "method",
            "legal_basis",
            "collected_at",
            "collected_by",
            "files",
            "ingested_at",
        ),
    ),
    "has_analytics": Query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM result_account_metrics LIMIT 1)",
        ("result_account_metrics",),
        ("n",),
    ),
    "summary": Query(
        "SELECT key, value FROM result_summary ORDER BY key", ("result_summary",), ("key", "value")
    ),
    "activity": Query(
        "SELECT day, activity, CAST(sum(count) AS BIGINT) AS count FROM result_activity_daily r "
        f"WHERE {_scope('r.source_ids')} GROUP BY day, activity ORDER BY day, activity",
        ("result_activity_daily",),
        ("day", "activity", "count"),
    ),
    "day_range": Query(
        "SELECT min(day) AS first, max(day) AS last FROM ("
        "SELECT day FROM result_activity_daily r WHERE activity = 'joins' AND "
        f"{_scope('r.source_ids')} UNION ALL "
        "SELECT substr(ts, 1, 10) FROM forwards f WHERE ts <> '' AND "
        f"{_scope('f.source_ids')})",
        ("result_activity_daily", "forwards"),
        ("first", "last"),
    ),
    "payment_day_range": Query(
        "SELECT min(day) AS first, max(day) AS last FROM result_credits_daily r "
        f"WHERE {_scope('r.source_ids')}",
        ("result_credits_daily",),
        ("first", "last"),
    ),
    "communities": Query(
        "SELECT DISTINCT community FROM result_rooms r WHERE community IS NOT NULL AND "
        f"{_scope('r.source_ids')} ORDER BY community",
        ("result_rooms",),
        ("community",),
    ),
    "community_sizes": Query(
        "WITH a AS (SELECT m.community, count(*) AS n FROM result_account_metrics m "
        f"JOIN accounts x ON x.account_id = m.account_id WHERE {_scope('x.source_ids')} "
        "GROUP BY 1), c AS (SELECT community, count(*) AS n FROM result_rooms r "
        f"WHERE {_scope('r.source_ids')} GROUP BY 1) "
        "SELECT coalesce(a.community, c.community) AS community, "
        "CAST(coalesce(a.n, 0) AS BIGINT) AS accounts, "
        "CAST(coalesce(c.n, 0) AS BIGINT) AS channels FROM a FULL OUTER JOIN c "
        "ON a.community = c.community ORDER BY accounts DESC, channels DESC, community "
        "LIMIT $limit",
        ("result_account_metrics", "result_rooms", "accounts"),
        ("community", "accounts", "channels"),
        unscoped="WITH a AS (SELECT community, count(*) AS n FROM result_account_metrics "
        "GROUP BY 1), c AS (SELECT community, count(*) AS n FROM result_rooms GROUP BY 1) "
        "SELECT coalesce(a.community, c.community) AS community, "
        "CAST(coalesce(a.n, 0) AS BIGINT) AS accounts, "
        "CAST(coalesce(c.n, 0) AS BIGINT) AS channels FROM a FULL OUTER JOIN c "
        "ON a.community = c.community ORDER BY accounts DESC, channels DESC, community "
        "LIMIT $limit",
    ),
    "organisations": Query(
        "SELECT org_id, coalesce(name, org_id) AS name FROM organizations o "
        f"WHERE {_scope('o.source_ids')} ORDER BY org_id",
        ("organizations",),
        ("org_id", "name"),
    ),
    "rooms": Query(
        f"SELECT {', '.join('r.' + c for c in _ROOM_COLS)} FROM result_rooms r "
        f"WHERE {_ROOM_FILTER} ORDER BY r.members DESC, r.channel_id LIMIT $limit OFFSET $offset",
        ("result_rooms", "targets"),
        _ROOM_COLS,
    ),
    "rooms_count": Query(
        f"SELECT count(*) AS n FROM result_rooms r WHERE {_ROOM_FILTER}",
        ("result_rooms", "targets"),
        ("n",),
    ),
    "rooms_by_id": Query(
        f"SELECT {', '.join('r.' + c for c in _ROOM_COLS)} FROM result_rooms r "
        f"WHERE r.channel_id IN {_ids('ids')} AND {_scope('r.source_ids')} "
        "ORDER BY r.members DESC, r.channel_id",
        ("result_rooms",),
        _ROOM_COLS,
    ),
    "room_neighbours": Query(
        "WITH l AS (SELECT CASE WHEN channel_a = $focus THEN channel_b ELSE channel_a END AS "
        "channel_id, jaccard + 0.01 * forwards AS strength FROM result_channel_links "
        "WHERE (channel_a = $focus OR channel_b = $focus) AND (forwards > 0 OR "
        "shared_members >= $min_overlap)) SELECT l.channel_id, l.strength FROM l "
        f"JOIN result_rooms r ON r.channel_id = l.channel_id WHERE {_ROOM_FILTER} "
        "ORDER BY l.strength DESC, l.channel_id LIMIT $limit",
        ("result_rooms", "result_channel_links", "targets"),
        ("channel_id", "strength"),
    ),
    "room_neighbours_count": Query(
        "WITH l AS (SELECT CASE WHEN channel_a = $focus THEN channel_b ELSE channel_a END AS "
        "channel_id FROM result_channel_links WHERE (channel_a = $focus OR channel_b = $focus) "
        "AND (forwards > 0 OR shared_members >= $min_overlap)) SELECT count(*) AS n FROM l "
        f"JOIN result_rooms r ON r.channel_id = l.channel_id WHERE {_ROOM_FILTER}",
        ("result_rooms", "result_channel_links", "targets"),
        ("n",),
    ),
    "links_among": Query(
        "SELECT channel_a, channel_b, forwards, shared_members, jaccard FROM "
        f"result_channel_links WHERE channel_a IN {_ids('ids')} AND channel_b IN {_ids('ids')} "
        "AND (forwards > 0 OR shared_members >= $min_overlap) "
        "ORDER BY jaccard + 0.01 * forwards DESC, channel_a, channel_b",
        ("result_channel_links",),
        ("channel_a", "channel_b", "forwards", "shared_members", "jaccard"),
    ),
    "window_links": Query(
        "WITH m AS (SELECT DISTINCT account_id, channel_id FROM memberships x "
        f"WHERE channel_id IN {_ids('ids')} AND (joined_at IS NULL OR joined_at <= $end) "
        f"AND (left_at IS NULL OR left_at >= $start) AND {_scope('x.source_ids')}), "
        "n AS (SELECT channel_id, count(*) AS n FROM m GROUP BY 1), "
        "s AS (SELECT a.channel_id AS channel_a, b.channel_id AS channel_b, count(*) AS shared "
        "FROM m a JOIN m b ON a.account_id = b.account_id AND a.channel_id < b.channel_id "
        "GROUP BY 1, 2), "
        "f AS (SELECT least(from_channel_id, to_channel_id) AS channel_a, "
        "greatest(from_channel_id, to_channel_id) AS channel_b, count(*) AS forwards "
        f"FROM forwards y WHERE from_channel_id IN {_ids('ids')} AND to_channel_id IN "
        f"{_ids('ids')} AND from_channel_id <> to_channel_id AND ts <> '' AND ts >= $start "
        f"AND ts <= $end AND {_scope('y.source_ids')} GROUP BY 1, 2) "
        "SELECT coalesce(s.channel_a, f.channel_a) AS channel_a, "
        "coalesce(s.channel_b, f.channel_b) AS channel_b, "
        "CAST(coalesce(f.forwards, 0) AS BIGINT) AS forwards, "
        "CAST(coalesce(s.shared, 0) AS BIGINT) AS shared_members, "
        "CASE WHEN s.shared IS NULL THEN 0.0 ELSE s.shared / (na.n + nb.n - s.shared) END "
        "AS jaccard FROM s FULL OUTER JOIN f ON s.channel_a = f.channel_a AND "
        "s.channel_b = f.channel_b LEFT JOIN n na ON na.channel_id = s.channel_a "
        "LEFT JOIN n nb ON nb.channel_id = s.channel_b "
        "WHERE coalesce(f.forwards, 0) > 0 OR coalesce(s.shared, 0) >= $min_overlap "
        "ORDER BY channel_a, channel_b",
        ("memberships", "forwards"),
        ("channel_a", "channel_b", "forwards", "shared_members", "jaccard"),
    ),
    "room_members": Query(
        f"SELECT m.account_id, {_ACCOUNT_LABEL}, m.role, m.joined_at, m.left_at, m.source_ids "
        "FROM memberships m LEFT JOIN accounts a ON a.account_id = m.account_id "
        f"WHERE m.channel_id = $channel AND {_scope('m.source_ids')} "
        "AND ($staff = false OR m.role IN ('admin', 'owner')) "
        "ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, "
        "m.joined_at NULLS LAST, m.account_id LIMIT $limit",
        ("memberships", "accounts"),
        ("account_id", "handle", "role", "joined_at", "left_at", "source_ids"),
    ),
    "room_invite_links": Query(
        "SELECT i.invite_link, i.inviter_id, "
        "coalesce(nullif(any_value(a.handle), ''), nullif(any_value(a.display_name), ''), "
        "i.inviter_id) AS inviter, CAST(count(*) AS BIGINT) AS invites, "
        "min(nullif(i.invited_at, '')) AS first, max(nullif(i.invited_at, '')) AS last "
        "FROM invites i LEFT JOIN accounts a ON a.account_id = i.inviter_id "
        "WHERE i.channel_id = $channel AND i.invite_link IS NOT NULL AND "
        f"{_scope('i.source_ids')} GROUP BY i.invite_link, i.inviter_id "
        "ORDER BY invites DESC, i.invite_link LIMIT $limit",
        ("invites", "accounts"),
        ("invite_link", "inviter_id", "inviter", "invites", "first", "last"),
    ),
    "room_forwards": Query(
        "WITH f AS (SELECT 'to' AS direction, to_channel_id AS channel_id, ts FROM forwards x "
        f"WHERE from_channel_id = $channel AND {_scope('x.source_ids')} UNION ALL "
        "SELECT 'from', from_channel_id, ts FROM forwards y WHERE to_channel_id = $channel "
        f"AND {_scope('y.source_ids')}) SELECT f.direction, f.channel_id, c.title, "
        "CAST(count(*) AS BIGINT) AS forwards, min(nullif(f.ts, '')) AS first_ts, "
        "max(nullif(f.ts, '')) AS last_ts FROM f LEFT JOIN channels c ON "
        "c.channel_id = f.channel_id GROUP BY f.direction, f.channel_id, c.title "
        "ORDER BY forwards DESC, f.channel_id, f.direction LIMIT $limit",
        ("forwards", "channels"),
        ("direction", "channel_id", "title", "forwards", "first_ts", "last_ts"),
    ),
    "room_targets": Query(
        "SELECT t.org_id, o.name, o.kind, o.region, t.first_reported, t.note, t.source_ids "
        "FROM targets t LEFT JOIN organizations o ON o.org_id = t.org_id "
        f"WHERE t.channel_id = $channel AND {_scope('t.source_ids')} ORDER BY t.org_id",
        ("targets", "organizations"),
        ("org_id", "name", "kind", "region", "first_reported", "note", "source_ids"),
    ),
    "search_accounts": Query(
        "SELECT a.account_id, a.handle, a.display_name, "
        "CAST(coalesce(m.referral_descendants, 0) AS BIGINT) AS referral_descendants "
        "FROM accounts a LEFT JOIN result_account_metrics m ON m.account_id = a.account_id "
        f"WHERE {_scope('a.source_ids')} AND ($q IS NULL OR "
        "contains(lower(a.account_id), lower($q)) OR "
        "contains(lower(coalesce(a.handle, '')), lower($q)) OR "
        "contains(lower(coalesce(a.display_name, '')), lower($q))) "
        "ORDER BY referral_descendants DESC, a.account_id LIMIT $limit",
        ("accounts", "result_account_metrics"),
        ("account_id", "handle", "display_name", "referral_descendants"),
    ),
    "search_accounts_plain": Query(
        "SELECT a.account_id, a.handle, a.display_name, CAST(0 AS BIGINT) AS "
        f"referral_descendants FROM accounts a WHERE {_scope('a.source_ids')} AND ($q IS NULL "
        "OR contains(lower(a.account_id), lower($q)) OR "
        "contains(lower(coalesce(a.handle, '')), lower($q)) OR "
        "contains(lower(coalesce(a.display_name, '')), lower($q))) "
        "ORDER BY a.account_id LIMIT $limit",
        ("accounts",),
        ("account_id", "handle", "display_name", "referral_descendants"),
    ),
    "account_labels": Query(
        "SELECT m.account_id, coalesce(nullif(a.handle, ''), nullif(a.display_name, ''), "
        "m.account_id) AS handle FROM (SELECT unnest(CAST($ids AS VARCHAR[])) AS account_id) m "
        "LEFT JOIN accounts a ON a.account_id = m.account_id ORDER BY m.account_id",
        ("accounts",),
        ("account_id", "handle"),
    ),
    "forest_rows": Query(
        f"SELECT {_METRIC_FOREST}, {_ACCOUNT_LABEL} FROM result_account_metrics m "
        "JOIN accounts a ON a.account_id = m.account_id "
        f"WHERE m.account_id IN {_ids('ids')} AND {_scope('a.source_ids')}",
        ("result_account_metrics", "accounts"),
        (*_FOREST_COLS, "handle"),
    ),
    "forest_children": Query(
        "WITH c AS (SELECT "
        f"{_METRIC_FOREST}, {_ACCOUNT_LABEL}, "
        "row_number() OVER (PARTITION BY m.referral_parent ORDER BY m.referral_descendants "
        "DESC, m.account_id) AS pos, count(*) OVER (PARTITION BY m.referral_parent) AS siblings, "
        "sum(m.referral_descendants + 1) OVER (PARTITION BY m.referral_parent) AS sibling_accounts "
        "FROM result_account_metrics m JOIN accounts a ON a.account_id = m.account_id "
        f"WHERE m.referral_parent IN {_ids('ids')} AND {_scope('a.source_ids')}) "
        "SELECT * FROM c WHERE pos <= $per_parent ORDER BY referral_parent, pos",
        ("result_account_metrics", "accounts"),
        (*_FOREST_COLS, "handle", "pos", "siblings", "sibling_accounts"),
    ),
    "cascades": Query(
        "WITH r AS (SELECT m.account_id AS root, m.referral_descendants + 1 AS size, "
        "m.direct_invites, "
        f"{_ACCOUNT_LABEL} FROM result_account_metrics m JOIN accounts a "
        "ON a.account_id = m.account_id WHERE m.referral_parent IS NULL AND "
        f"m.referral_descendants > 0 AND {_scope('a.source_ids')} "
        "ORDER BY size DESC, root LIMIT $limit), "
        "d AS (SELECT referral_root, max(referral_depth) AS depth FROM result_account_metrics "
        "WHERE referral_root IN (SELECT root FROM r) GROUP BY 1) "
        "SELECT r.root, r.handle, CAST(r.size AS BIGINT) AS size, CAST(d.depth AS BIGINT) AS "
        "depth, CAST(r.direct_invites AS BIGINT) AS direct_invites FROM r JOIN d "
        "ON d.referral_root = r.root ORDER BY size DESC, root",
        ("result_account_metrics", "accounts"),
        ("root", "handle", "size", "depth", "direct_invites"),
    ),
    "ranking": Query(
        "SELECT m.priority_rank, m.account_id, a.handle, a.display_name, m.priority_score, "
        "m.community FROM result_account_metrics m JOIN accounts a "
        f"ON a.account_id = m.account_id WHERE m.priority_score > 0 AND {_scope('a.source_ids')} "
        "ORDER BY m.priority_score DESC, m.account_id LIMIT $limit",
        ("result_account_metrics", "accounts"),
        ("priority_rank", "account_id", "handle", "display_name", "priority_score", "community"),
    ),
    "components": Query(
        "SELECT account_id, component, value, weight, contribution FROM "
        f"result_priority_components WHERE account_id IN {_ids('ids')} "
        "ORDER BY account_id, component",
        ("result_priority_components",),
        ("account_id", "component", "value", "weight", "contribution"),
    ),
    "evidence": Query(
        "SELECT component, record_table, record_key, detail, source_ids FROM "
        f"result_priority_evidence e WHERE account_id = $account AND {_scope('e.source_ids')} "
        "ORDER BY component, record_table, record_key",
        ("result_priority_evidence",),
        ("component", "record_table", "record_key", "detail", "source_ids"),
    ),
    "role_flows": Query(
        _FLOWS.format(table="result_role_flows", scope=_scope("r.source_ids")),
        ("result_role_flows",),
        ("source", "target", "credits", "transactions"),
    ),
    "community_flows": Query(
        "WITH f AS ("
        + _FLOWS.format(table="result_community_flows", scope=_scope("r.source_ids"))
        + "), v AS (SELECT g, sum(c) AS c FROM (SELECT source AS g, credits AS c FROM f "
        "UNION ALL SELECT target, credits FROM f) GROUP BY g ORDER BY c DESC, g LIMIT $top) "
        "SELECT CASE WHEN source IN (SELECT g FROM v) THEN source ELSE 'other' END AS source, "
        "CASE WHEN target IN (SELECT g FROM v) THEN target ELSE 'other' END AS target, "
        "sum(credits) AS credits, CAST(sum(transactions) AS BIGINT) AS transactions FROM f "
        "GROUP BY 1, 2 ORDER BY credits DESC, source, target",
        ("result_community_flows",),
        ("source", "target", "credits", "transactions"),
    ),
    "credits_over_time": Query(
        "SELECT CASE $freq WHEN 'day' THEN day "
        "WHEN 'week' THEN strftime(date_trunc('week', CAST(day AS DATE)), '%Y-%m-%d') "
        "ELSE strftime(date_trunc('month', CAST(day AS DATE)), '%Y-%m-%d') END AS period, "
        "kind, sum(credits) AS credits, CAST(sum(transactions) AS BIGINT) AS transactions "
        f"FROM result_credits_daily r WHERE {_scope('r.source_ids')} GROUP BY 1, 2 "
        "ORDER BY 1, 2",
        ("result_credits_daily",),
        ("period", "kind", "credits", "transactions"),
    ),
    "top_earners": Query(
        f"SELECT m.account_id, {_ACCOUNT_LABEL}, m.credits_in, m.referral_rewards, "
        "m.credits_out, m.net_credits, m.priority_rank FROM result_account_metrics m "
        f"JOIN accounts a ON a.account_id = m.account_id WHERE {_scope('a.source_ids')} "
        "ORDER BY m.credits_in DESC, m.account_id LIMIT $limit",
        ("result_account_metrics", "accounts"),
        (
            "account_id",
            "handle",
            "credits_in",
            "referral_rewards",
            "credits_out",
            "net_credits",
            "priority_rank",
        ),
    ),
    "trace_forward": Query(
        _TRACE.format(near="from_id", frontier=_ids("frontier"), scope=_scope("t.source_ids")),
        ("transactions",),
        _TX_COLS,
    ),
    "trace_backward": Query(
        _TRACE.format(near="to_id", frontier=_ids("frontier"), scope=_scope("t.source_ids")),
        ("transactions",),
        _TX_COLS,
    ),
    "org_targets": Query(
        "SELECT org_id, name, kind, region, lat, lon, rooms, members_reached, room_titles "
        f"FROM result_org_targets r WHERE {_scope('r.source_ids')} "
        "ORDER BY rooms DESC, members_reached DESC, org_id",
        ("result_org_targets",),
        (
            "org_id",
            "name",
            "kind",
            "region",
            "lat",
            "lon",
            "rooms",
            "members_reached",
            "room_titles",
        ),
    ),
}


def _counts_sql(present: set[str], scoped: bool = True) -> str:
    """Rows per table; ``scoped=False`` (no ``$scope``) leaves out the filter, so DuckDB
    answers ``count(*)`` from the table's metadata instead of reading every list of source ids."""
    parts = []
    for key in COUNT_KEYS:
        if key not in present:
            continue
        if key == "sources":
            where = (
                "CAST($scope AS VARCHAR[]) IS NULL OR "
                "list_contains(CAST($scope AS VARCHAR[]), source_id)"
            )
            expr = "count(*)"
        else:
            where = _scope("source_ids")
            expr = "count(DISTINCT content_hash)" if key == "content" else "count(*)"
        assert key in TABLES or key == "sources"
        where = f" WHERE {where}" if scoped else ""
        parts.append(f"SELECT '{key}' AS key, {expr} AS n FROM \"{key}\"{where}")
    return " UNION ALL ".join(parts) if parts else "SELECT NULL AS key, 0 AS n WHERE false"


class _LRU:
    def __init__(self, size: int = 512):
        self.size = size
        self._data: OrderedDict[Any, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> pd.DataFrame | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key: Any, value: pd.DataFrame) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(_freeze(v) for v in value)
    return value


class _Snapshot:
    """One generation of the store: a connection and the tables it holds."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        key: Any,
        cache: _LRU | None,
        *,
        attached: bool = False,
    ):
        self.con = con
        self.key = key
        self.cache = cache
        self.attached = attached
        self._tables: set[str] | None = None
        self._lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self.con.cursor()
        if self.attached:
            cur.execute("USE store")
        return cur

    def tables(self) -> set[str]:
        if self._tables is None:
            with self._lock:
                cur = self._cursor()
                try:
                    rows = cur.execute(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'main' AND table_catalog = current_database()"
                    ).fetchall()
                finally:
                    cur.close()
                self._tables = {r[0] for r in rows}
        return self._tables

    def run(self, name: str, params: dict[str, Any]) -> pd.DataFrame:
        ckey = (self.key, name, _freeze(params))
        if self.cache is not None:
            hit = self.cache.get(ckey)
            if hit is not None:
                return hit.copy()
        present = self.tables()
        if name == "counts":
            scoped = params.get("scope") is not None
            sql, cols, needed = _counts_sql(present, scoped), ("key", "n"), ()
        else:
            try:
                q = QUERIES[name]
            except KeyError as err:
                raise StoreError(f"unknown dataset query {name!r}") from err
            sql, cols, needed = q.sql, q.columns, q.tables
            if q.unscoped is not None and params.get("scope") is None:
                sql = q.unscoped
        if any(t not in present for t in needed):
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        else:
            used = {k: v for k, v in params.items() if f"${k}" in sql}
            cur = self._cursor()
            try:
                frame = cur.execute(sql, used).df()
            except duckdb.Error as err:
                raise StoreError(f"the DuckDB store rejected query {name!r}: {err}") from err
            finally:
                cur.close()
        if self.cache is not None:
            self.cache.put(ckey, frame)
            return frame.copy()
        return frame


class DuckDBReader:
    """Reads a DuckDB store file for :class:`graphintel.dataset.Dataset`.

    Parameters
    ----------
    path : str or Path
        The store file.
    memory_limit : str
        DuckDB's memory limit for the reader (keeps the dashboard process small).
    con : duckdb.DuckDBPyConnection, optional
        Read through this open connection instead (an in-process store; no caching).

    Notes
    -----
    :meth:`snapshot` stats the file and reopens a read-only connection when the file was
    replaced by a writer (new inode); results are cached per generation (an LRU of small
    frames), so a second visit of a page costs no query.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        memory_limit: str = "1GB",
        con: duckdb.DuckDBPyConnection | None = None,
    ):
        self.path = str(path)
        self.uri = f"duckdb:{self.path}"
        self.memory_limit = memory_limit
        self._fixed = con
        self._current: _Snapshot | None = None
        self._cache = _LRU()
        self._lock = threading.Lock()

    def _file_key(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError as err:
            raise StoreUnavailable(
                f"the store {self.path} does not exist yet: run `graphintel ingest MANIFEST "
                f"--store duckdb:{self.path}` (or `make demo`) first"
            ) from err
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def snapshot(self) -> _Snapshot:
        """The current generation (opened on first use or when the file was replaced)."""
        if self._fixed is not None:
            if self._current is None:
                self._current = _Snapshot(self._fixed, id(self._fixed), None)
            return self._current
        key = self._file_key()
        with self._lock:
            if self._current is None or self._current.key != key:
                # A fresh in-memory instance that attaches the file: duckdb.connect(path) would
                # hand back the cached instance of the replaced file (same path) with old data.
                con = duckdb.connect(
                    ":memory:", config={"memory_limit": self.memory_limit, "threads": 2}
                )
                literal = "'" + self.path.replace("'", "''") + "'"  # a path, not data
                try:
                    con.execute(f"ATTACH {literal} AS store (READ_ONLY)")
                except duckdb.Error as err:
                    con.close()
                    raise StoreUnavailable(
                        f"cannot open the DuckDB store {self.path} for reading: {err}"
                    ) from err
                self._current = _Snapshot(con, key, self._cache, attached=True)
            return self._current

    def generation(self) -> Any:
        return self.snapshot().key

    def close(self) -> None:
        with self._lock:
            if self._current is not None and self._fixed is None:
                self._current.con.close()
            self._current = None
