"""The canonical data contract: tables, columns, keys, enums and the graph model.

Every stage speaks these tables (``pandas.DataFrame`` with exactly these columns plus
``source_ids``). Readers produce them, validation checks them, stores persist them, analytics read
them back. Names here are also the allow-list from which stores build SQL/Cypher identifiers;
no identifier ever comes from data.

Column types
------------
``id``  non-empty string identifier; ``str`` free text; ``bool``; ``float``; ``ts`` ISO-8601
timestamp, normalised to ``YYYY-MM-DDTHH:MM:SS`` (UTC when the input carried an offset).
Missing optional values are ``None``/NaN in frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ACCOUNT_METRIC_COLUMNS",
    "ALERT_KEYS",
    "ALERT_RULES",
    "CASCADE_COLUMNS",
    "CASE_TABLES",
    "CHANNEL_METRIC_COLUMNS",
    "COUNT_KEYS",
    "GENERATION_COLUMNS",
    "GROWTH_COLUMNS",
    "MANIFEST_REQUIRED",
    "MANUAL_METHOD",
    "METHODS",
    "NODE_TABLES",
    "OPTIONAL_KEY_COLUMNS",
    "RECONCILIATION_COLUMNS",
    "RECORD_TABLES",
    "RESULT_TABLES",
    "ROOM_ACTIVITY_COLUMNS",
    "ROOM_ECONOMY_COLUMNS",
    "SOURCE_COLUMNS",
    "TABLES",
    "TABLE_ORDER",
    "TAKEDOWN_STATUSES",
    "WATCH_KINDS",
    "CaseTableSpec",
    "Column",
    "TableSpec",
    "table_columns",
]

METHODS = (
    "seizure",
    "undercover_nondisclosure",
    "undercover_disguised",
    "platform_disclosure",
    "open_source",
    "synthetic",
)
MANIFEST_REQUIRED = (
    "case_id",
    "source_id",
    "method",
    "legal_basis",
    "collected_at",
    "collected_by",
    "files",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "str"  # id | str | bool | float | ts
    required: bool = False
    enum: tuple[str, ...] | None = None
    pii: bool = False


@dataclass(frozen=True)
class TableSpec:
    """One canonical table.

    ``key`` columns identify a record (duplicates with the same key must agree, identical ones
    collapse). ``node`` is the Neo4j label for node tables; ``rel`` the relationship type for edge
    tables, with ``ends`` naming (column, label) of its start and end node.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    node: str | None = None
    rel: str | None = None
    ends: tuple[tuple[str, str], tuple[str, str]] | None = None
    references: dict[str, str] = field(default_factory=dict)  # column -> node table it points to

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name, type="str", required=False, enum=None, pii=False) -> Column:
    return Column(name, type, required, tuple(enum) if enum else None, pii)


TABLES: dict[str, TableSpec] = {
    "accounts": TableSpec(
        "accounts",
        (
            _c("account_id", "id", True),
            _c("handle"),
            _c("display_name"),
            _c("is_bot", "bool"),
            _c("first_seen", "ts"),
            _c("age_band"),
            _c("phone", pii=True),
        ),
        key=("account_id",),
        node="Account",
    ),
    "channels": TableSpec(
        "channels",
        (
            _c("channel_id", "id", True),
            _c("title"),
            _c("kind", enum=("channel", "group", "supergroup", "personal", "bot")),
            _c("created_at", "ts"),
            _c("is_public", "bool"),
            _c("creator_id", "id"),
        ),
        key=("channel_id",),
        node="Channel",
        references={"creator_id": "accounts"},
    ),
    "memberships": TableSpec(
        "memberships",
        (
            _c("account_id", "id", True),
            _c("channel_id", "id", True),
            _c("role", enum=("member", "admin", "owner")),
            _c("joined_at", "ts"),
            _c("left_at", "ts"),
        ),
        key=("account_id", "channel_id"),
        rel="MEMBER_OF",
        ends=(("account_id", "Account"), ("channel_id", "Channel")),
        references={"account_id": "accounts", "channel_id": "channels"},
    ),
    "invites": TableSpec(
        "invites",
        (
            _c("inviter_id", "id", True),
            _c("invitee_id", "id", True),
            _c("channel_id", "id"),
            _c("invited_at", "ts"),
            _c("invite_link"),
        ),
        key=("inviter_id", "invitee_id", "channel_id", "invited_at"),
        rel="INVITED",
        ends=(("inviter_id", "Account"), ("invitee_id", "Account")),
        references={"inviter_id": "accounts", "invitee_id": "accounts", "channel_id": "channels"},
    ),
    "transactions": TableSpec(
        "transactions",
        (
            _c("txn_id", "id", True),
            _c("from_id", "id", True),
            _c("to_id", "id", True),
            _c("credits", "float", True),
            _c("amount_krw", "float"),
            _c(
                "kind",
                enum=("purchase", "referral_reward", "commission", "topup", "transfer", "payout"),
            ),
            _c("ts", "ts"),
            _c("channel_id", "id"),
        ),
        key=("txn_id",),
        rel="PAID",
        ends=(("from_id", "Account"), ("to_id", "Account")),
        references={"from_id": "accounts", "to_id": "accounts", "channel_id": "channels"},
    ),
    "forwards": TableSpec(
        "forwards",
        (
            _c("from_channel_id", "id", True),
            _c("to_channel_id", "id", True),
            _c("ts", "ts"),
        ),
        key=("from_channel_id", "to_channel_id", "ts"),
        rel="FORWARDED_TO",
        ends=(("from_channel_id", "Channel"), ("to_channel_id", "Channel")),
        references={"from_channel_id": "channels", "to_channel_id": "channels"},
    ),
    "organizations": TableSpec(
        "organizations",
        (
            _c("org_id", "id", True),
            _c("name"),
            _c("kind", enum=("school", "university", "military", "workplace", "other")),
            _c("region"),
            _c("lat", "float"),
            _c("lon", "float"),
        ),
        key=("org_id",),
        node="Organization",
    ),
    "targets": TableSpec(
        "targets",
        (
            _c("channel_id", "id", True),
            _c("org_id", "id", True),
            _c("first_reported", "ts"),
            _c("note"),
        ),
        key=("channel_id", "org_id"),
        rel="TARGETS",
        ends=(("channel_id", "Channel"), ("org_id", "Organization")),
        references={"channel_id": "channels", "org_id": "organizations"},
    ),
    "content": TableSpec(
        "content",
        (
            _c("content_hash", "id", True),
            _c("channel_id", "id", True),
            _c("posted_at", "ts"),
            _c("poster_id", "id"),
        ),
        key=("content_hash", "channel_id"),
        rel="POSTED",
        ends=(("channel_id", "Channel"), ("content_hash", "Content")),
        references={"channel_id": "channels", "poster_id": "accounts"},
    ),
    # Takedown requests of content hashes (an addition to DESIGN.md): one record per request,
    # keyed by hash and request time. Not part of the graph the analytics read.
    "takedowns": TableSpec(
        "takedowns",
        (
            _c("content_hash", "id", True),
            _c("requested_at", "ts", True),
            _c("status", enum=("requested", "confirmed", "refused"), required=True),
            _c("confirmed_at", "ts"),
            _c("agency"),
            _c("note"),
        ),
        key=("content_hash", "requested_at"),
        node="Takedown",
    ),
}

TAKEDOWN_STATUSES = ("requested", "confirmed", "refused")

# The tables of the graph (what the simulator writes and analytics read), in order; TABLES also
# holds the record tables below, accepted in bundles but outside the graph.
TABLE_ORDER = (
    "accounts",
    "channels",
    "memberships",
    "invites",
    "transactions",
    "forwards",
    "organizations",
    "targets",
    "content",
)
NODE_TABLES = ("accounts", "channels", "organizations")
# Standalone records (a Neo4j node each, keyed by several columns, no ``inferred`` flag).
RECORD_TABLES = ("takedowns",)

# What counts in `report`: each table's record count, content = distinct content hashes,
# sources = Source nodes.
COUNT_KEYS = (
    "accounts",
    "channels",
    "memberships",
    "invites",
    "transactions",
    "forwards",
    "organizations",
    "targets",
    "content",
    "sources",
)

# Stored form of a table: its columns, ``phone`` replaced by ``phone_token``, plus ``inferred``
# on node tables and ``source_ids`` on every table.


def table_columns(table: str) -> list[str]:
    """Column names of ``table`` as stored (after pseudonymisation), in order.

    Example
    -------
    >>> table_columns("organizations")[:2]
    ['org_id', 'name']
    >>> table_columns("accounts")[-3:]
    ['inferred', 'evidence', 'source_ids']
    """
    spec = TABLES[table]
    cols = ["phone_token" if c.pii else c.name for c in spec.columns]
    if table in NODE_TABLES:
        cols.append("inferred")
    cols += ["evidence", "source_ids"]
    return cols


# Analytics results written back to the store (one row per account / channel).
ACCOUNT_METRIC_COLUMNS = (
    "account_id",
    "community",
    "referral_parent",
    "referral_root",
    "referral_depth",
    "referral_descendants",
    "direct_invites",
    "referral_invited_at",
    "credits_in",
    "credits_out",
    "referral_rewards",
    "purchases",
    "net_credits",
    "rewards_matched",
    "rewards_unmatched",
    "proceeds_krw",
    "distinct_payers",
    "distinct_payees",
    "pagerank",
    "betweenness",
    "bridging",
    "priority_score",
    "priority_rank",
)
CHANNEL_METRIC_COLUMNS = ("channel_id", "community", "members", "admins")

# The invitation-credit economy's result tables (graphintel.analytics.economy / cascades).
RECONCILIATION_COLUMNS = (
    "txn_id",
    "inviter_id",
    "invitee_id",
    "channel_id",
    "invited_at",
    "rewarded_at",
    "status",
    "credits",
)
ROOM_ECONOMY_COLUMNS = (
    "channel_id",
    "purchases",
    "proceeds_krw",
    "rewards",
    "reward_credits",
    "rewards_matched",
    "matched_reward_credits",
    "reward_rate",
    "rewards_without_invite",
    "invites_without_reward",
)
ROOM_ACTIVITY_COLUMNS = ("channel_id", "day", "events")
CASCADE_COLUMNS = (
    "root",
    "size",
    "generations",
    "recruiters",
    "first_joined_at",
    "last_joined_at",
    "generation_gap_hours_mean",
)
GENERATION_COLUMNS = (
    "root",
    "generation",
    "accounts",
    "recruiters",
    "recruits",
    "reproduction",
    "recruits_per_recruiter",
    "first_joined_at",
    "last_joined_at",
    "gap_hours_mean",
)
GROWTH_COLUMNS = ("root", "day", "joined", "size")

# -- case tables: kept by graphintel itself in the store (not accepted in bundles) ---------------
WATCH_KINDS = ("org", "account", "hash", "keyword")
ALERT_RULES = (
    "watched_org_targeted",
    "watched_account",
    "watched_hash_posted",
    "takedown_reappearance",
    "watched_keyword_title",
)
# The columns that identify an alert of each rule (with the rule itself): a candidate whose key is
# already stored raises nothing. ``activity`` is created|joined|administers|paid|was_paid.
ALERT_KEYS: dict[str, tuple[str, ...]] = {
    "watched_org_targeted": ("channel_id", "org_id"),
    "watched_account": ("activity", "account_id", "other_account_id", "channel_id"),
    "watched_hash_posted": ("content_hash", "channel_id"),
    "takedown_reappearance": ("content_hash", "channel_id"),
    "watched_keyword_title": ("channel_id",),
}
# The method recorded on the Source of records kept by hand (`graphintel takedown ...`); never
# accepted in a manifest.
MANUAL_METHOD = "manual_entry"


@dataclass(frozen=True)
class CaseTableSpec:
    """A table graphintel keeps for the case in the store (watch list, alerts).

    ``columns`` are (name, type) with type ``str`` | ``ts`` | ``list`` (of str); ``label`` is the
    Neo4j label of its nodes.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    label: str

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]


CASE_TABLES: dict[str, CaseTableSpec] = {
    "watchlist": CaseTableSpec(
        "watchlist",
        (("kind", "str"), ("value", "str"), ("note", "str"), ("added_at", "ts")),
        key=("kind", "value"),
        label="Watch",
    ),
    "alerts": CaseTableSpec(
        "alerts",
        (
            ("alert_id", "str"),
            ("rule", "str"),
            ("activity", "str"),
            ("raised_at", "ts"),
            ("observed_at", "ts"),
            ("channel_id", "str"),
            ("org_id", "str"),
            ("account_id", "str"),
            ("other_account_id", "str"),
            ("content_hash", "str"),
            ("watch_kind", "str"),
            ("watch_value", "str"),
            ("source_ids", "list"),
            ("acked_at", "ts"),
            ("ack_note", "str"),
        ),
        key=("alert_id",),
        label="Alert",
    ),
}

# Provenance of every bundle (the Source node / ``sources`` table).
SOURCE_COLUMNS = (
    "source_id",
    "case_id",
    "method",
    "legal_basis",
    "collected_at",
    "collected_by",
    "files",  # list of "path sha256=<hex> table=<table>" strings
    "file_hashes",  # list of sha256 hex digests of the bundle's files
    "ingested_at",
)

# Key columns that may be missing: stored as '' (Neo4j cannot MERGE on null), read back as None.
OPTIONAL_KEY_COLUMNS = {
    "invites": ("channel_id", "invited_at"),
    "forwards": ("ts",),
}

# Analytics results written by ``graphintel analyze``: name -> columns. account_metrics /
# channel_metrics are node properties in Neo4j (columns ACCOUNT_METRIC_COLUMNS /
# CHANNEL_METRIC_COLUMNS); the others are result rows. The last six are what the dashboard shows
# that is derived (computed once at analyze, read back by graphintel.dataset); aggregates keep
# the ``source_ids`` of the records they sum (one row per distinct list), so a case scope can
# filter them exactly.
RESULT_TABLES: dict[str, tuple[str, ...]] = {
    "account_metrics": (),
    "channel_metrics": (),
    "channel_links": ("channel_a", "channel_b", "forwards", "shared_members", "jaccard"),
    "priority_components": ("account_id", "component", "value", "weight", "contribution"),
    "priority_evidence": (
        "account_id",
        "component",
        "record_table",
        "record_key",
        "detail",
        "source_ids",
    ),
    "cycles": ("account_id", "broken_parent", "cycle"),
    "summary": ("key", "value"),  # value is a JSON string
    "rooms": (
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
        "source_ids",
    ),
    "activity_daily": ("day", "activity", "count", "source_ids"),
    "credits_daily": ("day", "kind", "credits", "transactions", "source_ids"),
    "role_flows": ("source", "target", "credits", "transactions", "source_ids"),
    "community_flows": ("source", "target", "credits", "transactions", "source_ids"),
    "org_targets": (
        "org_id",
        "name",
        "kind",
        "region",
        "lat",
        "lon",
        "rooms",
        "members_reached",
        "room_titles",
        "source_ids",
    ),
    # the invitation-credit economy (graphintel.analytics.economy / cascades)
    "reconciliation": RECONCILIATION_COLUMNS,
    "room_economy": ROOM_ECONOMY_COLUMNS,
    "room_activity": ROOM_ACTIVITY_COLUMNS,
    "cascades": CASCADE_COLUMNS,
    "cascade_generations": GENERATION_COLUMNS,
    "cascade_growth": GROWTH_COLUMNS,
}
