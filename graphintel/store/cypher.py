"""Every Cypher statement the Neo4j store runs, in one place.

Statements are built only from names in the model's allow-list (:data:`graphintel.model.TABLES`,
:data:`graphintel.model.ACCOUNT_METRIC_COLUMNS`, :data:`graphintel.store.base.RESULT_TABLES` and
the few internal names below); :func:`ident` refuses anything else. Every value travels as a
``$parameter``: nothing read from data is ever spliced into a statement.

Batched writes send one batch as *columns*: ``$c`` maps each column name to a list of values and
``$n`` is the batch length, and the statement starts ``UNWIND range(0, $n - 1) AS i`` and builds
``row`` from ``$c.<column>[i]``. That is the ``UNWIND $rows AS row MERGE ...`` pattern with a
lighter wire format (no per-row map keys to pack).

Graph shape (DESIGN.md "Graph model"):

* nodes ``Account``/``Channel``/``Organization`` keyed by their table key; ``Content``
  ``{content_hash}``; ``Source {source_id, ...}``;
* one relationship per edge-table key: ``MEMBER_OF``, ``INVITED`` (with ``channel_id`` and
  ``invited_at`` as identity properties), ``PAID`` (identity ``txn_id``), ``TARGETS``, ``POSTED``
  (Channel → Content), ``CREATED`` (from ``channels.creator_id``);
* ``FORWARDED_TO`` is one relationship per channel pair holding the sorted distinct event
  timestamps ``ts_list`` (``''`` for a missing one), the per-event ``ts_sources`` and
  ``ts_evidence`` (JSON strings, parallel to ``ts_list``) and the derived ``count``,
  ``first_ts`` and ``last_ts``;
* analytics (see "analytics results" below): every result table as generations of
  ``(:Result {table, gen, row, ...})`` nodes, the current one named by ``(:ResultTable {table,
  gen, rows, columns, dtypes})``; and, as Neo4j users expect from GDS's write mode, the account
  and channel metrics also as properties of their ``Account``/``Channel`` nodes and each referral
  parent as ``(:Account)-[:REFERRED_BY {gen}]->(:Account)`` (child to parent).
"""

from __future__ import annotations

from graphintel.model import (
    ACCOUNT_METRIC_COLUMNS,
    CASE_TABLES,
    CHANNEL_METRIC_COLUMNS,
    NODE_TABLES,
    RECORD_TABLES,
    RESULT_TABLES,
    SOURCE_COLUMNS,
    TABLES,
    table_columns,
)
from graphintel.store.base import CANDIDATE_COLUMNS

__all__ = [
    "AUDIT_HEAD_LABEL",
    "LABEL_KEYS",
    "METRIC_MARKER",
    "REFERRED_BY",
    "RESULT_LABEL",
    "RESULT_TABLE_LABEL",
    "RETRACTION_PROPS",
    "SOURCE_COPY_LABEL",
    "STORE_LABELS",
    "alert_candidate_statements",
    "clear_label",
    "clear_relationships",
    "count_all_nodes",
    "count_missing_nodes",
    "count_statement",
    "dataset_indexes",
    "dataset_query",
    "delete_case_rows",
    "delete_old_referred_by",
    "delete_old_results",
    "delete_records",
    "delete_source_copy",
    "has_label",
    "has_type",
    "ident",
    "insert_case_rows",
    "known_file_hashes",
    "merge_content_nodes",
    "merge_created",
    "merge_nodes",
    "merge_records",
    "merge_relationships",
    "read_audit_head",
    "read_case_table",
    "read_forwards_pairs",
    "read_result_meta",
    "read_result_rows",
    "read_retractions",
    "read_source",
    "read_source_copies",
    "read_sources",
    "read_table",
    "reset_nodes",
    "schema_statements",
    "store_generation",
    "switch_result_generation",
    "write_audit_head",
    "write_forwards_pairs",
    "write_metric_properties",
    "write_referred_by",
    "write_result_rows",
    "write_retraction",
    "write_source",
    "write_source_copy",
]

# Label -> key property of that node label.
LABEL_KEYS: dict[str, str] = {
    "Account": "account_id",
    "Channel": "channel_id",
    "Organization": "org_id",
    "Content": "content_hash",
    "Source": "source_id",
}
RESULT_LABEL = "Result"
RESULT_TABLE_LABEL = "ResultTable"
# Standalone record nodes (takedowns) and the case tables (watch list, alerts), keyed by columns.
RECORD_LABELS = {TABLES[t].node or "": TABLES[t].key for t in RECORD_TABLES}
CASE_LABELS = {spec.label: spec.key for spec in CASE_TABLES.values()}
STORE_LABELS = (*LABEL_KEYS, RESULT_LABEL, RESULT_TABLE_LABEL, *RECORD_LABELS, *CASE_LABELS)
REFERRED_BY = "REFERRED_BY"
METRIC_MARKER = "metric_row"
AUDIT_HEAD_LABEL = "AuditHead"
SOURCE_COPY_LABEL = "SourceCopy"
RETRACTION_PROPS = ("retracted_at", "retracted_by", "reason", "records_removed", "records_changed")
STORE_LABELS = (*STORE_LABELS, AUDIT_HEAD_LABEL, SOURCE_COPY_LABEL)
CREATED = "CREATED"
FORWARD_PROPS = ("ts_list", "ts_sources", "ts_evidence", "count", "first_ts", "last_ts")

_ALLOWED: frozenset[str] = frozenset(
    {c for t in TABLES for c in table_columns(t)}
    | {c for spec in TABLES.values() for c in spec.column_names}
    | {spec.rel for spec in TABLES.values() if spec.rel}
    | set(LABEL_KEYS)
    | set(LABEL_KEYS.values())
    | set(SOURCE_COLUMNS)
    | set(ACCOUNT_METRIC_COLUMNS)
    | set(CHANNEL_METRIC_COLUMNS)
    | {c for cols in RESULT_TABLES.values() for c in cols}
    | set(RECORD_LABELS)
    | set(CASE_LABELS)
    | {c for spec in CASE_TABLES.values() for c in spec.column_names}
    | set(CANDIDATE_COLUMNS)
    | {
        RESULT_LABEL,
        RESULT_TABLE_LABEL,
        REFERRED_BY,
        METRIC_MARKER,
        AUDIT_HEAD_LABEL,
        SOURCE_COPY_LABEL,
        *RETRACTION_PROPS,
        "key",
        "seq",
        "hash",
        "batch",
        "ord",
        "part",
        "data",
        CREATED,
        "table",
        "gen",
        "row",
        "rows",
        "columns",
        "dtypes",
        *FORWARD_PROPS,
    }
)


def ident(name: str) -> str:
    """Quote an identifier from the model's allow-list; refuse anything else.

    Example
    -------
    >>> ident("account_id")
    '`account_id`'
    >>> ident("x` DETACH DELETE n //")
    Traceback (most recent call last):
    ...
    ValueError: 'x` DETACH DELETE n //' is not a graphintel label, type or property name
    """
    if name not in _ALLOWED:
        raise ValueError(f"{name!r} is not a graphintel label, type or property name")
    return "`" + name + "`"


def _row_map(columns: list[str]) -> str:
    """``UNWIND`` prelude that builds ``row`` from the columnar batch ``$c``."""
    fields = ", ".join(f"{ident(c)}: $c.{ident(c)}[i]" for c in columns)
    return f"UNWIND range(0, $n - 1) AS i WITH i, {{{fields}}} AS row"


def _union_sid(var: str) -> str:
    """``var.source_ids`` with ``$sid`` inserted, kept sorted and distinct."""
    s = f"{var}.source_ids"
    return (
        f"{s} = CASE WHEN {s} IS NULL THEN [$sid] WHEN $sid IN {s} THEN {s} "
        f"ELSE [x IN {s} WHERE x < $sid] + $sid + [x IN {s} WHERE x > $sid] END"
    )


def _coalesce_sets(var: str, columns: list[str]) -> list[str]:
    return [f"{var}.{ident(c)} = coalesce(row.{ident(c)}, {var}.{ident(c)})" for c in columns]


# -- schema ------------------------------------------------------------------------------------
def schema_statements() -> list[str]:
    """Uniqueness constraints on every node key (and ``PAID.txn_id``), plus result indexes."""
    out = [
        f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{ident(label)}) "
        f"REQUIRE n.{ident(key)} IS UNIQUE"
        for label, key in LABEL_KEYS.items()
    ]
    for label, key in {**RECORD_LABELS, **CASE_LABELS}.items():
        props = ", ".join(f"n.{ident(k)}" for k in key)
        out.append(
            f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{ident(label)}) "
            f"REQUIRE ({props}) IS UNIQUE"
        )
    out.append(  # watched phone tokens (alert rules)
        "CREATE INDEX account_phone_token IF NOT EXISTS FOR (n:`Account`) ON (n.`phone_token`)"
    )
    out.append(
        "CREATE CONSTRAINT paid_txn_id IF NOT EXISTS FOR ()-[r:`PAID`]-() "
        "REQUIRE r.`txn_id` IS UNIQUE"
    )
    out.append(
        f"CREATE CONSTRAINT result_table_key IF NOT EXISTS FOR (n:{ident(RESULT_TABLE_LABEL)}) "
        "REQUIRE n.`table` IS UNIQUE"
    )
    out.append(
        f"CREATE INDEX result_generation_rows IF NOT EXISTS FOR (n:{ident(RESULT_LABEL)}) "
        "ON (n.`table`, n.`gen`, n.`row`)"
    )
    out.append(
        f"CREATE CONSTRAINT audit_head_key IF NOT EXISTS FOR (n:{ident(AUDIT_HEAD_LABEL)}) "
        "REQUIRE n.`key` IS UNIQUE"
    )
    out.append(
        f"CREATE INDEX source_copy_source IF NOT EXISTS FOR (n:{ident(SOURCE_COPY_LABEL)}) "
        "ON (n.`source_id`)"
    )
    return out + dataset_indexes()


# -- writes ------------------------------------------------------------------------------------
def has_label(label: str) -> str:
    """Whether any node with ``label`` exists (one row when it does)."""
    return f"MATCH (n:{ident(label)}) RETURN 1 AS found LIMIT 1"


def has_type(rel: str) -> str:
    """Whether any relationship of type ``rel`` exists (one row when it does)."""
    return f"MATCH ()-[r:{ident(rel)}]->() RETURN 1 AS found LIMIT 1"


def held_keys(label: str) -> str:
    """Which of ``$ids`` are keys of ``label`` nodes already in the store (index seeks)."""
    key = ident(LABEL_KEYS[label])
    return f"UNWIND $ids AS id MATCH (n:{ident(label)} {{{key}: id}}) RETURN id"


def held_txn_ids() -> str:
    """Which of ``$ids`` are ``txn_id`` of ``PAID`` relationships in the store."""
    return "UNWIND $ids AS id MATCH ()-[r:`PAID` {`txn_id`: id}]->() RETURN id"


def merge_nodes(table: str, *, create: bool = False) -> tuple[str, list[str]]:
    """MERGE a batch of ``table`` (a node table) rows; returns (statement, columns sent).

    ``create=True`` (first load: no node of the label exists yet, and keys are unique within a
    validated bundle) writes with ``CREATE``, which skips the lookup; the result is the same.
    """
    spec = TABLES[table]
    key = spec.key[0]
    cols = [c for c in table_columns(table) if c != "source_ids"]
    label = ident(spec.node or "")
    sets = _coalesce_sets("n", [c for c in cols if c not in (key, "inferred")])
    sets.append(
        "n.`inferred` = CASE WHEN n.`inferred` IS NULL THEN row.`inferred` "
        "ELSE n.`inferred` AND row.`inferred` END"
    )
    sets.append(_union_sid("n"))
    if create:  # a new node: every property straight from the row, no read-back
        props = ", ".join([*(f"{ident(c)}: row.{ident(c)}" for c in cols), "`source_ids`: [$sid]"])
        return (f"{_row_map(cols)} CREATE (n:{label} {{{props}}}) RETURN count(*) AS written"), cols
    stmt = (
        f"{_row_map(cols)} MERGE (n:{label} {{{ident(key)}: row.{ident(key)}}}) "
        f"SET {', '.join(sets)} RETURN count(*) AS written"
    )
    return stmt, cols


def merge_records(table: str) -> tuple[str, list[str]]:
    """MERGE a batch of a record table (``takedowns``) by its key columns, ``coalesce(new, old)``
    per attribute and the sorted union of source ids, as nodes."""
    spec = TABLES[table]
    cols = [c for c in table_columns(table) if c != "source_ids"]
    pattern = ", ".join(f"{ident(k)}: row.{ident(k)}" for k in spec.key)
    sets = _coalesce_sets("n", [c for c in cols if c not in spec.key])
    sets.append(_union_sid("n"))
    stmt = (
        f"{_row_map(cols)} MERGE (n:{ident(spec.node or '')} {{{pattern}}}) "
        f"SET {', '.join(sets)} RETURN count(*) AS written"
    )
    return stmt, cols


def merge_content_nodes() -> tuple[str, list[str]]:
    """MERGE ``Content`` nodes (distinct hashes of a batch)."""
    stmt = (
        f"{_row_map(['content_hash'])} MERGE (n:`Content` {{`content_hash`: row.`content_hash`}}) "
        f"SET {_union_sid('n')} RETURN count(*) AS written"
    )
    return stmt, ["content_hash"]


def _end_match(table: str) -> str:
    spec = TABLES[table]
    assert spec.ends is not None
    (a_col, a_label), (b_col, b_label) = spec.ends
    return (
        f"MATCH (a:{ident(a_label)} {{{ident(LABEL_KEYS[a_label])}: row.{ident(a_col)}}}) "
        f"MATCH (b:{ident(b_label)} {{{ident(LABEL_KEYS[b_label])}: row.{ident(b_col)}}}) "
    )


def merge_relationships(table: str, *, create: bool = False) -> tuple[str, list[str]]:
    """MERGE a batch of an edge table (not ``forwards``) keyed by the table key.

    ``create=True`` (first load: no relationship of the type exists yet, and keys are unique
    within a validated bundle) writes with ``CREATE``; the result is the same.

    Key columns that are not endpoints become identity properties in the MERGE pattern. For
    ``PAID`` (key ``txn_id`` only) a record whose endpoints changed is moved: the old
    relationship's properties are carried over and it is deleted, as the embedded store updates
    ``from_id``/``to_id`` in place.
    """
    spec = TABLES[table]
    assert spec.rel is not None and spec.ends is not None and table != "forwards"
    end_cols = {spec.ends[0][0], spec.ends[1][0]}
    cols = [c for c in table_columns(table) if c != "source_ids"]
    ident_props = [k for k in spec.key if k not in end_cols]
    pattern = ", ".join(f"{ident(k)}: row.{ident(k)}" for k in ident_props)
    pattern = f" {{{pattern}}}" if pattern else ""
    rel = ident(spec.rel)
    sets = _coalesce_sets("r", [c for c in cols if c not in end_cols and c not in ident_props])
    sets.append(_union_sid("r"))
    moved = ""
    on_create = ""
    if not create and not set(spec.key) >= end_cols:
        key_match = ", ".join(f"{ident(k)}: row.{ident(k)}" for k in spec.key)
        moved = (
            f"OPTIONAL MATCH (x)-[old:{rel} {{{key_match}}}]->(y) WHERE x <> a OR y <> b "
            "WITH a, b, row, old, CASE WHEN old IS NULL THEN {} ELSE properties(old) END AS prev "
            "FOREACH (o IN CASE WHEN old IS NULL THEN [] ELSE [old] END | DELETE o) "
        )
        on_create = "ON CREATE SET r += prev "
    if create:  # a new relationship: every property straight from the row, no read-back
        own = [f"{ident(c)}: row.{ident(c)}" for c in cols if c not in end_cols]
        props = ", ".join([*own, "`source_ids`: [$sid]"])
        return (
            f"{_row_map(cols)} {_end_match(table)}"
            f"CREATE (a)-[r:{rel} {{{props}}}]->(b) "
            "RETURN count(*) AS written"
        ), cols
    stmt = (
        f"{_row_map(cols)} {_end_match(table)}{moved}"
        f"MERGE (a)-[r:{rel}{pattern}]->(b) {on_create}"
        f"SET {', '.join(sets)} RETURN count(*) AS written"
    )
    return stmt, cols


def merge_created() -> tuple[str, list[str]]:
    """``(:Account)-[:CREATED]->(:Channel)`` from ``channels.creator_id`` (replaces another)."""
    stmt = (
        f"{_row_map(['channel_id', 'creator_id'])} "
        "MATCH (c:`Channel` {`channel_id`: row.`channel_id`}) "
        "MATCH (a:`Account` {`account_id`: row.`creator_id`}) "
        "OPTIONAL MATCH (other:`Account`)-[old:`CREATED`]->(c) WHERE other <> a "
        "WITH a, c, collect(old) AS olds FOREACH (o IN olds | DELETE o) "
        f"MERGE (a)-[r:`CREATED`]->(c) SET {_union_sid('r')} RETURN count(*) AS written"
    )
    return stmt, ["channel_id", "creator_id"]


def read_forwards_pairs() -> tuple[str, list[str]]:
    """The stored events of the given channel pairs."""
    stmt = (
        f"{_row_map(['from_channel_id', 'to_channel_id'])} "
        "MATCH (a:`Channel` {`channel_id`: row.`from_channel_id`})-[r:`FORWARDED_TO`]->"
        "(b:`Channel` {`channel_id`: row.`to_channel_id`}) "
        "RETURN a.`channel_id` AS from_channel_id, b.`channel_id` AS to_channel_id, "
        "r.`ts_list` AS ts_list, r.`ts_sources` AS ts_sources, r.`ts_evidence` AS ts_evidence"
    )
    return stmt, ["from_channel_id", "to_channel_id"]


def write_forwards_pairs() -> tuple[str, list[str]]:
    """Set the merged event lists of channel pairs (computed by the caller)."""
    cols = ["from_channel_id", "to_channel_id", "source_ids", *FORWARD_PROPS]
    sets = ", ".join(f"r.{ident(c)} = row.{ident(c)}" for c in cols[2:])
    stmt = (
        f"{_row_map(cols)} {_end_match('forwards')}"
        f"MERGE (a)-[r:`FORWARDED_TO`]->(b) SET {sets} RETURN count(*) AS written"
    )
    return stmt, cols


def read_source() -> str:
    return (
        "MATCH (s:`Source` {`source_id`: $sid}) RETURN s.`files` AS files, "
        "s.`file_hashes` AS file_hashes"
    )


def write_source() -> str:
    sets = ", ".join(f"s.{ident(c)} = $props.{ident(c)}" for c in SOURCE_COLUMNS[1:])
    return f"MERGE (s:`Source` {{`source_id`: $sid}}) SET {sets}, s.`source_ids` = [$sid]"


def count_all_nodes() -> str:
    """How many nodes the database holds, of any label."""
    return "MATCH (n) RETURN count(n) AS nodes"


def known_file_hashes() -> str:
    return "MATCH (s:`Source`) UNWIND s.`file_hashes` AS h RETURN DISTINCT h"


# -- reads -------------------------------------------------------------------------------------
def _column_exprs(table: str) -> tuple[str, dict[str, str]]:
    """(MATCH clause, column -> expression) for reading ``table`` in stored form."""
    spec = TABLES[table]
    cols = table_columns(table)
    if spec.node:
        return f"MATCH (n:{ident(spec.node)})", {c: f"n.{ident(c)}" for c in cols}
    assert spec.ends is not None and spec.rel is not None
    (a_col, a_label), (b_col, b_label) = spec.ends
    exprs = {c: f"r.{ident(c)}" for c in cols}
    exprs[a_col] = f"a.{ident(LABEL_KEYS[a_label])}"
    exprs[b_col] = f"b.{ident(LABEL_KEYS[b_label])}"
    match = f"MATCH (a:{ident(a_label)})-[r:{ident(spec.rel)}]->(b:{ident(b_label)})"
    if table == "forwards":
        match += " UNWIND range(0, size(r.`ts_list`) - 1) AS i WITH a, b, r, i"
        exprs["ts"] = "r.`ts_list`[i]"
        exprs["evidence"] = "r.`ts_evidence`[i]"
        exprs["source_ids"] = "r.`ts_sources`[i]"
    return match, exprs


def read_table(table: str, columns: list[str], where: list[str]) -> str:
    """Read ``columns`` of ``table``; ``where[k]`` is filtered by ``$w<k>`` (list of values).

    Example
    -------
    >>> read_table("memberships", ["account_id", "role"], ["channel_id"])  # doctest: +ELLIPSIS
    'MATCH (a:`Account`)-[r:`MEMBER_OF`]->(b:`Channel`) WHERE b.`channel_id` IN $w0 RETURN ...'
    """
    match, exprs = _column_exprs(table)
    conds = [f"{exprs[c]} IN $w{k}" for k, c in enumerate(where)]
    clause = f" WHERE {' AND '.join(conds)}" if conds else ""
    ret = ", ".join(f"{exprs[c]} AS {ident(c)}" for c in columns)
    return f"{match}{clause} RETURN {ret}"


def read_sources() -> str:
    ret = ", ".join(f"s.{ident(c)} AS {ident(c)}" for c in SOURCE_COLUMNS)
    return f"MATCH (s:`Source`) RETURN {ret} ORDER BY s.`source_id`"


def count_statement(key: str) -> str:
    """Count query for one of :data:`graphintel.model.COUNT_KEYS`."""
    if key == "sources":
        return "MATCH (n:`Source`) RETURN count(n) AS n"
    if key == "content":
        return "MATCH (n:`Content`) RETURN count(n) AS n"
    spec = TABLES[key]
    if spec.node:
        return f"MATCH (n:{ident(spec.node)}) RETURN count(n) AS n"
    rel = ident(spec.rel or "")
    if key == "forwards":
        return f"MATCH ()-[r:{rel}]->() RETURN coalesce(sum(size(r.`ts_list`)), 0) AS n"
    return f"MATCH ()-[r:{rel}]->() RETURN count(r) AS n"


def clear_relationships(label: str) -> str:
    """Delete the relationships starting at nodes of ``label`` in batches (auto-commit): before
    :func:`clear_label`, so no batch of nodes drags a hub's relationships into one transaction."""
    return f"MATCH (:{ident(label)})-[r]->() CALL (r) {{ DELETE r }} IN TRANSACTIONS OF 10000 ROWS"


def clear_label(label: str) -> str:
    """Delete every node of ``label`` in batches (auto-commit transaction)."""
    return f"MATCH (n:{ident(label)}) CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF 10000 ROWS"


# -- analytics results ---------------------------------------------------------------------------
# A result table is written as a new *generation* of ``(:Result {table, gen, row, ...})`` nodes,
# batch by batch (bounded transactions); one small transaction then points its
# ``(:ResultTable {table})`` at the new ``gen``; the rows of other generations are deleted
# afterwards in batches. Readers read the generation the ``ResultTable`` names: old or new,
# never a mix.


def _metric_label(name: str) -> tuple[str, str, tuple[str, ...]]:
    if name == "account_metrics":
        return "Account", "account_id", ACCOUNT_METRIC_COLUMNS
    return "Channel", "channel_id", CHANNEL_METRIC_COLUMNS


def write_metric_properties(name: str) -> tuple[str, list[str]]:
    """Set the metrics of a batch as properties of their ``Account``/``Channel`` nodes (the
    GDS write-mode convention) and the row marker ``metric_row`` (the dataset reads select
    analysed nodes by it); every row must find its node."""
    label, key, cols = _metric_label(name)
    sets = ", ".join(f"n.{ident(c)} = row.{ident(c)}" for c in cols if c != key)
    stmt = (
        f"{_row_map(list(cols))} MATCH (n:{ident(label)} {{{ident(key)}: row.{ident(key)}}}) "
        f"SET n.{ident(METRIC_MARKER)} = $offset + i, {sets} RETURN count(*) AS written"
    )
    return stmt, list(cols)


def count_missing_nodes(table: str) -> str:
    """How many of the keys ``$ids`` have no node of node table ``table``."""
    spec = TABLES[table]
    label, key = ident(spec.node or ""), ident(spec.key[0])
    return (
        f"UNWIND $ids AS id WITH id WHERE NOT EXISTS {{ MATCH (:{label} {{{key}: id}}) }} "
        "RETURN count(*) AS missing"
    )


def write_referred_by() -> tuple[str, list[str]]:
    """``(:Account)-[:REFERRED_BY {gen}]->(:Account)`` from child to referral parent."""
    cols = ["account_id", "referral_parent"]
    stmt = (
        f"{_row_map(cols)} MATCH (c:`Account` {{`account_id`: row.`account_id`}}) "
        "MATCH (p:`Account` {`account_id`: row.`referral_parent`}) "
        f"CREATE (c)-[r:{ident(REFERRED_BY)} {{`gen`: $gen}}]->(p) RETURN count(*) AS written"
    )
    return stmt, cols


def delete_old_referred_by() -> str:
    """Delete the ``REFERRED_BY`` relationships of other generations than ``$gen``."""
    return (
        f"MATCH ()-[r:{ident(REFERRED_BY)}]->() WHERE r.`gen` IS NULL OR r.`gen` <> $gen "
        "CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
    )


def write_result_rows(name: str, columns: list[str]) -> str:
    """CREATE a batch of rows of result table ``$name`` in generation ``$gen``."""
    sets = ", ".join(f"n.{ident(c)} = row.{ident(c)}" for c in columns)
    return (
        f"{_row_map(columns)} CREATE (n:{ident(RESULT_LABEL)} "
        "{`table`: $name, `gen`: $gen, `row`: $offset + i}) "
        f"SET {sets} RETURN count(*) AS written"
    )


def switch_result_generation() -> str:
    """Point result table ``$name`` at generation ``$gen`` (one small transaction)."""
    return (
        f"MERGE (m:{ident(RESULT_TABLE_LABEL)} {{`table`: $name}}) "
        "SET m.`columns` = $columns, m.`dtypes` = $dtypes, m.`gen` = $gen, m.`rows` = $rows"
    )


def delete_old_results() -> str:
    """Delete the rows of result table ``$name`` that are not of generation ``$gen``."""
    return (
        f"MATCH (n:{ident(RESULT_LABEL)} {{`table`: $name}}) "
        "WHERE n.`gen` IS NULL OR n.`gen` <> $gen "
        "CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS"
    )


def read_result_meta() -> str:
    return (
        f"MATCH (m:{ident(RESULT_TABLE_LABEL)} {{`table`: $name}}) "
        "RETURN m.`columns` AS columns, m.`dtypes` AS dtypes, m.`gen` AS gen, m.`rows` AS rows"
    )


def read_result_rows(name: str, columns: list[str]) -> str:
    """Rows ``$lo <= row < $hi`` of generation ``$gen`` of result table ``$name``, in order."""
    ret = ", ".join(f"n.{ident(c)} AS {ident(c)}" for c in columns)
    return (
        f"MATCH (n:{ident(RESULT_LABEL)} {{`table`: $name, `gen`: $gen}}) "
        f"WHERE n.`row` >= $lo AND n.`row` < $hi RETURN {ret} ORDER BY n.`row`"
    )


# -- case tables (watch list, alerts) ------------------------------------------------------------
def _case(name: str) -> tuple[str, tuple[str, ...], list[str]]:
    spec = CASE_TABLES[name]
    return ident(spec.label), spec.key, spec.column_names


def read_case_table(name: str) -> str:
    """Every row of case table ``name``, ordered by its key."""
    label, key, cols = _case(name)
    ret = ", ".join(f"n.{ident(c)} AS {ident(c)}" for c in cols)
    order = ", ".join(f"n.{ident(k)}" for k in key)
    return f"MATCH (n:{label}) RETURN {ret} ORDER BY {order}"


def insert_case_rows(name: str, *, replace: bool = False) -> tuple[str, list[str]]:
    """Create the rows of a batch whose key is absent (``replace``: also overwrite present ones);
    ``written`` counts the rows created (or, with ``replace``, every row)."""
    label, key, cols = _case(name)
    pattern = ", ".join(f"{ident(k)}: row.{ident(k)}" for k in key)
    if replace:
        body = f"MERGE (n:{label} {{{pattern}}}) SET n = row"
    else:
        body = (
            f"OPTIONAL MATCH (old:{label} {{{pattern}}}) WITH row, old WHERE old IS NULL "
            f"CREATE (n:{label}) SET n = row"
        )
    return f"{_row_map(cols)} {body} RETURN count(*) AS written", cols


def delete_case_rows(name: str) -> tuple[str, list[str]]:
    """Delete the rows whose key is in the batch; ``deleted`` counts them."""
    label, key, _ = _case(name)
    pattern = ", ".join(f"{ident(k)}: row.{ident(k)}" for k in key)
    stmt = (
        f"{_row_map(list(key))} MATCH (n:{label} {{{pattern}}}) DETACH DELETE n "
        "RETURN count(*) AS deleted"
    )
    return stmt, list(key)


# The alert rules (graphintel.model.ALERT_RULES); each statement returns CANDIDATE_COLUMNS.
_WATCHED_ACCOUNTS = (
    "CALL () { "
    "MATCH (w:`Watch` {`kind`: 'account'}) MATCH (a:`Account` {`account_id`: w.`value`}) "
    "RETURN a, w.`value` AS watch_value "
    "UNION "
    "MATCH (w:`Watch` {`kind`: 'account'}) WHERE w.`value` STARTS WITH 'pii:' "
    "MATCH (a:`Account` {`phone_token`: w.`value`}) RETURN a, w.`value` AS watch_value "
    "UNION "
    "MATCH (w:`Watch` {`kind`: 'account'}) "
    "WITH collect(DISTINCT toLower(ltrim(w.`value`, '@'))) AS hs WHERE size(hs) > 0 "
    "MATCH (a:`Account`) WHERE a.`handle` IS NOT NULL AND toLower(ltrim(a.`handle`, '@')) IN hs "
    "WITH a, toLower(ltrim(a.`handle`, '@')) AS h "
    "MATCH (w:`Watch` {`kind`: 'account'}) WHERE toLower(ltrim(w.`value`, '@')) = h "
    "RETURN a, w.`value` AS watch_value } "
)


def _returns(**exprs: str) -> str:
    return "RETURN " + ", ".join(f"{exprs.get(c, 'null')} AS {ident(c)}" for c in CANDIDATE_COLUMNS)


def alert_candidate_statements() -> list[str]:
    """One read statement per rule (or activity): every match over the whole graph."""
    acct = {"account_id": "a.`account_id`", "watch_kind": "'account'", "watch_value": "watch_value"}
    return [
        "MATCH (w:`Watch` {`kind`: 'org'}) "
        "MATCH (c:`Channel`)-[t:`TARGETS`]->(o:`Organization` {`org_id`: w.`value`}) "
        + _returns(
            rule="'watched_org_targeted'",
            activity="''",
            channel_id="c.`channel_id`",
            org_id="o.`org_id`",
            observed_at="t.`first_reported`",
            watch_kind="'org'",
            watch_value="w.`value`",
            source_ids="t.`source_ids`",
        ),
        _WATCHED_ACCOUNTS
        + "MATCH (a)-[:`CREATED`]->(c:`Channel`) "
        + _returns(
            rule="'watched_account'",
            activity="'created'",
            channel_id="c.`channel_id`",
            observed_at="c.`created_at`",
            source_ids="c.`source_ids`",
            **acct,
        ),
        _WATCHED_ACCOUNTS
        + "MATCH (a)-[m:`MEMBER_OF`]->(c:`Channel`) "
        + _returns(
            rule="'watched_account'",
            activity="CASE WHEN m.`role` IN ['admin', 'owner'] THEN 'administers' "
            "ELSE 'joined' END",
            channel_id="c.`channel_id`",
            observed_at="m.`joined_at`",
            source_ids="m.`source_ids`",
            **acct,
        ),
        _WATCHED_ACCOUNTS + "MATCH (a)-[p:`PAID`]->(b:`Account`) "
        "WITH a, watch_value, b, p.`channel_id` AS ch, min(p.`ts`) AS ts, "
        "collect(p.`source_ids`) AS sids "
        + _returns(
            rule="'watched_account'",
            activity="'paid'",
            channel_id="ch",
            other_account_id="b.`account_id`",
            observed_at="ts",
            source_ids="reduce(s = [], x IN sids | s + x)",
            **acct,
        ),
        _WATCHED_ACCOUNTS + "MATCH (b:`Account`)-[p:`PAID`]->(a) "
        "WITH a, watch_value, b, p.`channel_id` AS ch, min(p.`ts`) AS ts, "
        "collect(p.`source_ids`) AS sids "
        + _returns(
            rule="'watched_account'",
            activity="'was_paid'",
            channel_id="ch",
            other_account_id="b.`account_id`",
            observed_at="ts",
            source_ids="reduce(s = [], x IN sids | s + x)",
            **acct,
        ),
        "MATCH (w:`Watch` {`kind`: 'hash'}) "
        "MATCH (c:`Channel`)-[p:`POSTED`]->(n:`Content` {`content_hash`: w.`value`}) "
        + _returns(
            rule="'watched_hash_posted'",
            activity="''",
            channel_id="c.`channel_id`",
            account_id="p.`poster_id`",
            content_hash="n.`content_hash`",
            observed_at="p.`posted_at`",
            watch_kind="'hash'",
            watch_value="w.`value`",
            source_ids="p.`source_ids`",
        ),
        "MATCH (t:`Takedown` {`status`: 'confirmed'}) WHERE t.`confirmed_at` IS NOT NULL "
        "MATCH (c:`Channel`)-[p:`POSTED`]->(n:`Content` {`content_hash`: t.`content_hash`}) "
        "WHERE p.`posted_at` > t.`confirmed_at` "
        "WITH c, p, n, collect(t.`source_ids`) AS tsids "
        + _returns(
            rule="'takedown_reappearance'",
            activity="''",
            channel_id="c.`channel_id`",
            account_id="p.`poster_id`",
            content_hash="n.`content_hash`",
            observed_at="p.`posted_at`",
            source_ids="reduce(s = [], x IN tsids | s + x) + p.`source_ids`",
        ),
        "MATCH (w:`Watch` {`kind`: 'keyword'}) MATCH (c:`Channel`) "
        "WHERE c.`title` IS NOT NULL AND toLower(c.`title`) CONTAINS toLower(w.`value`) "
        + _returns(
            rule="'watched_keyword_title'",
            activity="''",
            channel_id="c.`channel_id`",
            observed_at="c.`created_at`",
            watch_kind="'keyword'",
            watch_value="w.`value`",
            source_ids="c.`source_ids`",
        ),
    ]


assert set(NODE_TABLES) == {t for t, s in TABLES.items() if s.node} - set(RECORD_TABLES)


# -- dataset reads (graphintel.dataset) ---------------------------------------------------------
# The same names, parameters and result columns as graphintel.store.duckdb_queries.QUERIES.
# Every statement filters on $scope (a list of source ids, or null for everything).


def _sc(var: str) -> str:
    return f"($scope IS NULL OR any(s IN coalesce({var}.source_ids, []) WHERE s IN $scope))"


def _label(var: str) -> str:
    return (
        f"coalesce(CASE WHEN {var}.handle <> '' THEN {var}.handle END, "
        f"CASE WHEN {var}.display_name <> '' THEN {var}.display_name END, {var}.account_id)"
    )


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
_ROOM_RET = ", ".join(f"r.{c} AS {c}" for c in _ROOM_COLS)
_ROOM_FILTER = (
    f"{_sc('r')} AND ($q IS NULL OR toLower(coalesce(r.title, '')) CONTAINS toLower($q) "
    "OR toLower(r.channel_id) CONTAINS toLower($q) "
    "OR toLower(coalesce(r.creator, '')) CONTAINS toLower($q)) "
    "AND ($communities IS NULL OR r.community IN $communities) "
    "AND ($orgs IS NULL OR EXISTS { MATCH (:Channel {channel_id: r.channel_id})-[:TARGETS]->"
    "(o:Organization) WHERE o.org_id IN $orgs })"
)
_FOREST_RET = (
    "m.account_id AS account_id, m.referral_parent AS referral_parent, "
    "m.referral_root AS referral_root, m.referral_depth AS referral_depth, "
    "m.referral_descendants AS referral_descendants, m.direct_invites AS direct_invites, "
    "m.referral_invited_at AS referral_invited_at"
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
_TX_RET = (
    "t.txn_id AS txn_id, a.account_id AS from_id, b.account_id AS to_id, t.credits AS credits, "
    "t.kind AS kind, t.ts AS ts, t.channel_id AS channel_id, t.source_ids AS source_ids"
)
_TX_COLS = ("txn_id", "from_id", "to_id", "credits", "kind", "ts", "channel_id", "source_ids")
_WINDOW = (
    "(m.joined_at IS NULL OR m.joined_at <= $end) AND (m.left_at IS NULL OR m.left_at >= $start)"
)
_PAID_WINDOW = (
    "($start IS NULL OR (t.ts IS NOT NULL AND t.ts >= $start)) "
    "AND ($end IS NULL OR (t.ts IS NOT NULL AND t.ts <= $end))"
)


def _flows(table: str) -> str:
    return (
        f"MATCH (r_t:ResultTable {{table: '{table}'}}) MATCH (r:Result {{table: '{table}', gen: r_t.gen}}) WHERE {_sc('r')} "
        "WITH r.source AS source, r.target AS target, sum(r.credits) AS credits, "
        "sum(r.transactions) AS transactions"
    )


def _count(key: str, match: str, expr: str) -> str:
    return f"{match} RETURN '{key}' AS key, {expr} AS n"


DATASET_QUERIES: dict[str, tuple[str, tuple[str, ...]]] = {
    # -- the invitation-credit economy (graphintel.analytics.economy / cascades) --
    "room_economy": (
        (
            "MATCH (r_t:ResultTable {table: 'room_economy'}) "
            "MATCH (r:Result {table: 'room_economy', gen: r_t.gen}) "
            "OPTIONAL MATCH (c:Channel {channel_id: r.channel_id}) "
            "RETURN r.channel_id AS channel_id, c.title AS title, r.purchases AS purchases, r.proceeds_krw AS proceeds_krw, r.rewards AS rewards, "
            "r.reward_credits AS reward_credits, r.rewards_matched AS rewards_matched, "
            "r.matched_reward_credits AS matched_reward_credits, r.reward_rate AS reward_rate, "
            "r.rewards_without_invite AS rewards_without_invite, "
            "r.invites_without_reward AS invites_without_reward ORDER BY r.row"
        ),
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
    "cascade_list": (
        (
            "MATCH (r_t:ResultTable {table: 'cascades'}) MATCH (r:Result {table: 'cascades', gen: r_t.gen}) RETURN r.root AS root, r.size AS size "
            "ORDER BY size DESC, root LIMIT $limit"
        ),
        ("root", "size"),
    ),
    "cascade_generations": (
        (
            "MATCH (r_t:ResultTable {table: 'cascade_generations'}) MATCH (r:Result {table: 'cascade_generations', gen: r_t.gen}) WHERE $ids IS NULL OR r.root IN $ids "
            "RETURN r.root AS root, r.generation AS generation, r.accounts AS accounts, "
            "r.recruits AS recruits, r.gap_hours_mean AS gap_hours_mean ORDER BY root, generation"
        ),
        ("root", "generation", "accounts", "recruits", "gap_hours_mean"),
    ),
    "cascade_growth": (
        (
            "MATCH (r_t:ResultTable {table: 'cascade_growth'}) MATCH (r:Result {table: 'cascade_growth', gen: r_t.gen}) WHERE r.root IN $ids "
            "RETURN r.root AS root, r.day AS day, r.joined AS joined, r.size AS size "
            "ORDER BY root, day"
        ),
        ("root", "day", "joined", "size"),
    ),
    "room_activity": (
        (
            "MATCH (r_t:ResultTable {table: 'room_activity'}) MATCH (r:Result {table: 'room_activity', gen: r_t.gen}) RETURN r.channel_id AS channel_id, "
            "r.day AS day, r.events AS events ORDER BY channel_id, day"
        ),
        ("channel_id", "day", "events"),
    ),
    "room_joins": (
        (
            f"MATCH (a:Account)-[m:MEMBER_OF]->(c:Channel) WHERE {_sc('m')} "
            "RETURN a.account_id AS account_id, c.channel_id AS channel_id, "
            "m.joined_at AS joined_at UNION ALL "
            f"MATCH (:Account)-[i:INVITED]->(b:Account) WHERE i.channel_id <> '' AND {_sc('i')} "
            "RETURN b.account_id AS account_id, i.channel_id AS channel_id, "
            "CASE WHEN i.invited_at = '' THEN null ELSE i.invited_at END AS joined_at"
        ),
        ("account_id", "channel_id", "joined_at"),
    ),
    "room_moves": (
        (
            "CALL { "
            f"MATCH (a:Account)-[m:MEMBER_OF]->(c:Channel) WHERE {_sc('m')} "
            "RETURN a.account_id AS account_id, c.channel_id AS channel_id, "
            "CASE WHEN m.joined_at = '' THEN null ELSE m.joined_at END AS joined_at UNION ALL "
            f"MATCH (:Account)-[i:INVITED]->(b:Account) WHERE i.channel_id <> '' AND {_sc('i')} "
            "RETURN b.account_id AS account_id, i.channel_id AS channel_id, "
            "CASE WHEN i.invited_at = '' THEN null ELSE i.invited_at END AS joined_at } "
            "WITH account_id, channel_id, min(joined_at) AS joined_at "
            "WITH account_id, "
            "collect(CASE WHEN channel_id IN $gone AND (joined_at IS NULL OR joined_at < $at) "
            "THEN channel_id END) AS was, "
            "collect(CASE WHEN joined_at >= $at AND joined_at < $end "
            "THEN [channel_id, joined_at] END) AS went "
            "WHERE size(was) > 0 AND size(went) > 0 "
            "UNWIND was AS f UNWIND went AS w WITH f, w WHERE f <> w[0] "
            "RETURN f AS from_channel_id, w[0] AS to_channel_id, count(*) AS members, "
            "min(w[1]) AS first_joined_at "
            "ORDER BY members DESC, from_channel_id, to_channel_id"
        ),
        ("from_channel_id", "to_channel_id", "members", "first_joined_at"),
    ),
    "account_economy": (
        (
            "MATCH (m:Account {account_id: $account}) WHERE m.metric_row IS NOT NULL "
            "RETURN m.proceeds_krw AS proceeds_krw, m.distinct_payers AS distinct_payers, "
            "m.distinct_payees AS distinct_payees"
        ),
        ("proceeds_krw", "distinct_payers", "distinct_payees"),
    ),
    "purchases_received": (
        (
            "MATCH (a:Account)-[t:PAID]->(b:Account {account_id: $account}) "
            f"WHERE t.kind = 'purchase' AND {_sc('t')} "
            "RETURN t.txn_id AS txn_id, a.account_id AS from_id, t.ts AS ts, "
            "t.channel_id AS channel_id, t.credits AS credits, t.amount_krw AS amount_krw, "
            "t.kind AS kind, b.account_id AS to_id, t.source_ids AS source_ids "
            "ORDER BY txn_id LIMIT $limit"
        ),
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
    "counts": (
        " UNION ALL ".join(
            [
                _count("accounts", f"MATCH (x:Account) WHERE {_sc('x')}", "count(x)"),
                _count("channels", f"MATCH (x:Channel) WHERE {_sc('x')}", "count(x)"),
                _count("memberships", f"MATCH ()-[x:MEMBER_OF]->() WHERE {_sc('x')}", "count(x)"),
                _count("invites", f"MATCH ()-[x:INVITED]->() WHERE {_sc('x')}", "count(x)"),
                _count("transactions", f"MATCH ()-[x:PAID]->() WHERE {_sc('x')}", "count(x)"),
                _count(
                    "forwards",
                    f"MATCH ()-[x:FORWARDED_TO]->() WHERE {_sc('x')}",
                    "coalesce(sum(size(x.ts_list)), 0)",
                ),
                _count("organizations", f"MATCH (x:Organization) WHERE {_sc('x')}", "count(x)"),
                _count("targets", f"MATCH ()-[x:TARGETS]->() WHERE {_sc('x')}", "count(x)"),
                _count("content", f"MATCH (x:Content) WHERE {_sc('x')}", "count(x)"),
                _count(
                    "sources",
                    "MATCH (x:Source) WHERE $scope IS NULL OR x.source_id IN $scope",
                    "count(x)",
                ),
            ]
        ),
        ("key", "n"),
    ),
    "sources": (
        (
            "MATCH (s:Source) WHERE $scope IS NULL OR s.source_id IN $scope "
            "RETURN s.source_id AS source_id, s.case_id AS case_id, s.method AS method, "
            "s.legal_basis AS legal_basis, s.collected_at AS collected_at, "
            "s.collected_by AS collected_by, size(coalesce(s.files, [])) AS files, "
            "s.ingested_at AS ingested_at ORDER BY source_id"
        ),
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
    "has_analytics": (
        (
            "OPTIONAL MATCH (n:Account) WHERE n.metric_row IS NOT NULL WITH n LIMIT 1 "
            "RETURN count(n) AS n"
        ),
        ("n",),
    ),
    "summary": (
        "MATCH (r_t:ResultTable {table: 'summary'}) MATCH (r:Result {table: 'summary', gen: r_t.gen}) RETURN r.key AS key, r.value AS value ORDER BY key",
        ("key", "value"),
    ),
    "activity": (
        (
            f"MATCH (r_t:ResultTable {{table: 'activity_daily'}}) MATCH (r:Result {{table: 'activity_daily', gen: r_t.gen}}) WHERE {_sc('r')} "
            "RETURN r.day AS day, r.activity AS activity, sum(r.count) AS count "
            "ORDER BY day, activity"
        ),
        ("day", "activity", "count"),
    ),
    "day_range": (
        (
            "CALL () { MATCH (r_t:ResultTable {table: 'activity_daily'}) MATCH (r:Result {table: 'activity_daily', gen: r_t.gen}) WHERE r.activity = 'joins' AND "
            f"{_sc('r')} RETURN r.day AS d UNION ALL MATCH ()-[f:FORWARDED_TO]->() WHERE "
            f"{_sc('f')} UNWIND f.ts_list AS t WITH t WHERE t <> '' RETURN substring(t, 0, 10) AS d }} "
            "RETURN min(d) AS first, max(d) AS last"
        ),
        ("first", "last"),
    ),
    "payment_day_range": (
        (
            f"MATCH (r_t:ResultTable {{table: 'credits_daily'}}) MATCH (r:Result {{table: 'credits_daily', gen: r_t.gen}}) WHERE {_sc('r')} "
            "RETURN min(r.day) AS first, max(r.day) AS last"
        ),
        ("first", "last"),
    ),
    "communities": (
        (
            "MATCH (r_t:ResultTable {table: 'rooms'}) MATCH (r:Result {table: 'rooms', gen: r_t.gen}) WHERE r.community IS NOT NULL AND "
            f"{_sc('r')} RETURN DISTINCT r.community AS community ORDER BY community"
        ),
        ("community",),
    ),
    "community_sizes": (
        (
            "CALL () { MATCH (n:Account) WHERE n.metric_row IS NOT NULL AND "
            f"{_sc('n')} RETURN n.community AS community, count(*) AS accounts, 0 AS channels "
            "UNION ALL MATCH (r_t:ResultTable {table: 'rooms'}) MATCH (r:Result {table: 'rooms', gen: r_t.gen}) WHERE r.community IS NOT NULL AND "
            f"{_sc('r')} RETURN r.community AS community, 0 AS accounts, count(*) AS channels }} "
            "RETURN community, sum(accounts) AS accounts, sum(channels) AS channels "
            "ORDER BY accounts DESC, channels DESC, community LIMIT $limit"
        ),
        ("community", "accounts", "channels"),
    ),
    "organisations": (
        (
            f"MATCH (o:Organization) WHERE {_sc('o')} RETURN o.org_id AS org_id, "
            "coalesce(o.name, o.org_id) AS name ORDER BY org_id"
        ),
        ("org_id", "name"),
    ),
    "rooms": (
        (
            f"MATCH (r_t:ResultTable {{table: 'rooms'}}) MATCH (r:Result {{table: 'rooms', gen: r_t.gen}}) WHERE {_ROOM_FILTER} RETURN {_ROOM_RET} "
            "ORDER BY members DESC, channel_id SKIP $offset LIMIT $limit"
        ),
        _ROOM_COLS,
    ),
    "rooms_count": (
        f"MATCH (r_t:ResultTable {{table: 'rooms'}}) MATCH (r:Result {{table: 'rooms', gen: r_t.gen}}) WHERE {_ROOM_FILTER} RETURN count(r) AS n",
        ("n",),
    ),
    "rooms_by_id": (
        (
            "MATCH (r_t:ResultTable {table: 'rooms'}) MATCH (r:Result {table: 'rooms', gen: r_t.gen}) WHERE r.channel_id IN $ids AND "
            f"{_sc('r')} RETURN {_ROOM_RET} ORDER BY members DESC, channel_id"
        ),
        _ROOM_COLS,
    ),
    "room_neighbours": (
        (
            "MATCH (l_t:ResultTable {table: 'channel_links'}) MATCH (l:Result {table: 'channel_links', gen: l_t.gen}) WHERE (l.channel_a = $focus OR "
            "l.channel_b = $focus) AND (l.forwards > 0 OR l.shared_members >= $min_overlap) "
            "WITH CASE WHEN l.channel_a = $focus THEN l.channel_b ELSE l.channel_a END AS cid, "
            "l.jaccard + 0.01 * l.forwards AS strength "
            "WITH collect(cid) AS ids, collect(strength) AS ss "
            f"MATCH (r_t:ResultTable {{table: 'rooms'}}) MATCH (r:Result {{table: 'rooms', gen: r_t.gen}}) WHERE r.channel_id IN ids AND {_ROOM_FILTER} "
            "WITH r.channel_id AS channel_id, "
            "[i IN range(0, size(ids) - 1) WHERE ids[i] = r.channel_id | ss[i]][0] AS strength "
            "RETURN channel_id, strength ORDER BY strength DESC, channel_id LIMIT $limit"
        ),
        ("channel_id", "strength"),
    ),
    "room_neighbours_count": (
        (
            "MATCH (l_t:ResultTable {table: 'channel_links'}) MATCH (l:Result {table: 'channel_links', gen: l_t.gen}) WHERE (l.channel_a = $focus OR "
            "l.channel_b = $focus) AND (l.forwards > 0 OR l.shared_members >= $min_overlap) "
            "WITH collect(CASE WHEN l.channel_a = $focus THEN l.channel_b ELSE l.channel_a END) "
            f"AS ids MATCH (r_t:ResultTable {{table: 'rooms'}}) MATCH (r:Result {{table: 'rooms', gen: r_t.gen}}) WHERE r.channel_id IN ids AND "
            f"{_ROOM_FILTER} RETURN count(r) AS n"
        ),
        ("n",),
    ),
    "links_among": (
        (
            "MATCH (l_t:ResultTable {table: 'channel_links'}) MATCH (l:Result {table: 'channel_links', gen: l_t.gen}) WHERE l.channel_a IN $ids AND "
            "l.channel_b IN $ids AND (l.forwards > 0 OR l.shared_members >= $min_overlap) "
            "RETURN l.channel_a AS channel_a, l.channel_b AS channel_b, l.forwards AS forwards, "
            "l.shared_members AS shared_members, l.jaccard AS jaccard "
            "ORDER BY l.jaccard + 0.01 * l.forwards DESC, channel_a, channel_b"
        ),
        ("channel_a", "channel_b", "forwards", "shared_members", "jaccard"),
    ),
    "window_links": (
        (
            "CALL () { MATCH (a:Account)-[m:MEMBER_OF]->(c:Channel) WHERE c.channel_id IN $ids AND "
            f"{_WINDOW} AND {_sc('m')} WITH DISTINCT a, c.channel_id AS cid "
            "WITH a, collect(cid) AS cs WHERE size(cs) > 1 UNWIND cs AS x UNWIND cs AS y "
            "WITH x, y WHERE x < y RETURN x AS ca, y AS cb, count(*) AS shared, 0 AS forwards "
            "UNION ALL MATCH (f:Channel)-[r:FORWARDED_TO]->(t:Channel) WHERE f.channel_id IN $ids "
            f"AND t.channel_id IN $ids AND f <> t AND {_sc('r')} "
            "WITH f, t, size([s IN r.ts_list WHERE s <> '' AND s >= $start AND s <= $end]) AS n "
            "WHERE n > 0 RETURN CASE WHEN f.channel_id < t.channel_id THEN f.channel_id "
            "ELSE t.channel_id END AS ca, CASE WHEN f.channel_id < t.channel_id THEN t.channel_id "
            "ELSE f.channel_id END AS cb, 0 AS shared, n AS forwards } "
            "WITH ca, cb, sum(shared) AS shared, sum(forwards) AS forwards "
            "WHERE forwards > 0 OR shared >= $min_overlap "
            "CALL (ca) { MATCH (a:Account)-[m:MEMBER_OF]->(:Channel {channel_id: ca}) WHERE "
            f"{_WINDOW} AND {_sc('m')} RETURN count(DISTINCT a) AS na }} "
            "CALL (cb) { MATCH (a:Account)-[m:MEMBER_OF]->(:Channel {channel_id: cb}) WHERE "
            f"{_WINDOW} AND {_sc('m')} RETURN count(DISTINCT a) AS nb }} "
            "RETURN ca AS channel_a, cb AS channel_b, forwards, shared AS shared_members, "
            "CASE WHEN shared = 0 THEN 0.0 ELSE toFloat(shared) / (na + nb - shared) END AS jaccard "
            "ORDER BY channel_a, channel_b"
        ),
        ("channel_a", "channel_b", "forwards", "shared_members", "jaccard"),
    ),
    "room_members": (
        (
            "MATCH (a:Account)-[m:MEMBER_OF]->(:Channel {channel_id: $channel}) WHERE "
            f"{_sc('m')} AND ($staff = false OR m.role IN ['admin', 'owner']) "
            f"RETURN a.account_id AS account_id, {_label('a')} AS handle, m.role AS role, "
            "m.joined_at AS joined_at, m.left_at AS left_at, m.source_ids AS source_ids "
            "ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, joined_at, "
            "account_id LIMIT $limit"
        ),
        ("account_id", "handle", "role", "joined_at", "left_at", "source_ids"),
    ),
    "room_invite_links": (
        (
            "MATCH (a:Account)-[i:INVITED]->(:Account) WHERE i.channel_id = $channel AND "
            f"i.invite_link IS NOT NULL AND {_sc('i')} "
            "WITH i.invite_link AS invite_link, a, count(*) AS invites, "
            "min(CASE WHEN i.invited_at <> '' THEN i.invited_at END) AS first, "
            "max(CASE WHEN i.invited_at <> '' THEN i.invited_at END) AS last "
            f"RETURN invite_link, a.account_id AS inviter_id, {_label('a')} AS inviter, invites, "
            "first, last ORDER BY invites DESC, invite_link LIMIT $limit"
        ),
        ("invite_link", "inviter_id", "inviter", "invites", "first", "last"),
    ),
    "room_forwards": (
        (
            "CALL () { MATCH (:Channel {channel_id: $channel})-[r:FORWARDED_TO]->(o:Channel) "
            f"WHERE {_sc('r')} RETURN 'to' AS direction, o, r UNION ALL "
            "MATCH (o:Channel)-[r:FORWARDED_TO]->(:Channel {channel_id: $channel}) "
            f"WHERE {_sc('r')} RETURN 'from' AS direction, o, r }} "
            "RETURN direction, o.channel_id AS channel_id, o.title AS title, "
            "size(r.ts_list) AS forwards, r.first_ts AS first_ts, r.last_ts AS last_ts "
            "ORDER BY forwards DESC, channel_id, direction LIMIT $limit"
        ),
        ("direction", "channel_id", "title", "forwards", "first_ts", "last_ts"),
    ),
    "room_targets": (
        (
            "MATCH (:Channel {channel_id: $channel})-[t:TARGETS]->(o:Organization) WHERE "
            f"{_sc('t')} RETURN o.org_id AS org_id, o.name AS name, o.kind AS kind, "
            "o.region AS region, t.first_reported AS first_reported, t.note AS note, "
            "t.source_ids AS source_ids ORDER BY org_id"
        ),
        ("org_id", "name", "kind", "region", "first_reported", "note", "source_ids"),
    ),
    "search_accounts": (
        (
            f"MATCH (a:Account) WHERE {_sc('a')} AND ($q IS NULL OR "
            "toLower(a.account_id) CONTAINS toLower($q) OR "
            "toLower(coalesce(a.handle, '')) CONTAINS toLower($q) OR "
            "toLower(coalesce(a.display_name, '')) CONTAINS toLower($q)) "
            "RETURN a.account_id AS account_id, a.handle AS handle, "
            "a.display_name AS display_name, coalesce(a.referral_descendants, 0) AS "
            "referral_descendants ORDER BY referral_descendants DESC, account_id LIMIT $limit"
        ),
        ("account_id", "handle", "display_name", "referral_descendants"),
    ),
    "search_accounts_plain": (
        (
            f"MATCH (a:Account) WHERE {_sc('a')} AND ($q IS NULL OR "
            "toLower(a.account_id) CONTAINS toLower($q) OR "
            "toLower(coalesce(a.handle, '')) CONTAINS toLower($q) OR "
            "toLower(coalesce(a.display_name, '')) CONTAINS toLower($q)) "
            "RETURN a.account_id AS account_id, a.handle AS handle, "
            "a.display_name AS display_name, 0 AS referral_descendants "
            "ORDER BY account_id LIMIT $limit"
        ),
        ("account_id", "handle", "display_name", "referral_descendants"),
    ),
    "account_labels": (
        (
            "UNWIND $ids AS id OPTIONAL MATCH (a:Account {account_id: id}) "
            "RETURN id AS account_id, coalesce(CASE WHEN a.handle <> '' THEN a.handle END, "
            "CASE WHEN a.display_name <> '' THEN a.display_name END, id) AS handle "
            "ORDER BY account_id"
        ),
        ("account_id", "handle"),
    ),
    "forest_rows": (
        (
            "MATCH (m:Account) WHERE m.account_id IN $ids AND m.metric_row IS NOT NULL AND "
            f"{_sc('m')} RETURN {_FOREST_RET}, {_label('m')} AS handle"
        ),
        (*_FOREST_COLS, "handle"),
    ),
    "forest_children": (
        (
            f"MATCH (m:Account) WHERE m.referral_parent IN $ids AND {_sc('m')} "
            "WITH m ORDER BY m.referral_descendants DESC, m.account_id "
            "WITH m.referral_parent AS parent, collect(m) AS kids, count(*) AS siblings, "
            "sum(m.referral_descendants + 1) AS sibling_accounts "
            "UNWIND range(0, size(kids) - 1) AS i WITH parent, kids[i] AS m, i + 1 AS pos, "
            "siblings, sibling_accounts WHERE pos <= $per_parent "
            f"RETURN {_FOREST_RET}, {_label('m')} AS handle, pos, siblings, sibling_accounts "
            "ORDER BY referral_parent, pos"
        ),
        (*_FOREST_COLS, "handle", "pos", "siblings", "sibling_accounts"),
    ),
    "cascades": (
        (
            "MATCH (m:Account) WHERE m.metric_row IS NOT NULL AND m.referral_parent IS NULL AND "
            f"m.referral_descendants > 0 AND {_sc('m')} "
            "WITH m ORDER BY m.referral_descendants DESC, m.account_id LIMIT $limit "
            "CALL (m) { MATCH (x:Account) WHERE x.referral_root = m.account_id "
            "RETURN max(x.referral_depth) AS depth } "
            f"RETURN m.account_id AS root, {_label('m')} AS handle, "
            "m.referral_descendants + 1 AS size, depth, m.direct_invites AS direct_invites "
            "ORDER BY size DESC, root"
        ),
        ("root", "handle", "size", "depth", "direct_invites"),
    ),
    "ranking": (
        (
            f"MATCH (m:Account) WHERE m.priority_score > 0 AND {_sc('m')} "
            "RETURN m.priority_rank AS priority_rank, m.account_id AS account_id, "
            "m.handle AS handle, m.display_name AS display_name, "
            "m.priority_score AS priority_score, m.community AS community "
            "ORDER BY priority_score DESC, account_id LIMIT $limit"
        ),
        ("priority_rank", "account_id", "handle", "display_name", "priority_score", "community"),
    ),
    "components": (
        (
            "MATCH (r_t:ResultTable {table: 'priority_components'}) MATCH (r:Result {table: 'priority_components', gen: r_t.gen}) WHERE r.account_id IN $ids "
            "RETURN r.account_id AS account_id, r.component AS component, r.value AS value, "
            "r.weight AS weight, r.contribution AS contribution ORDER BY account_id, component"
        ),
        ("account_id", "component", "value", "weight", "contribution"),
    ),
    "evidence": (
        (
            "MATCH (r_t:ResultTable {table: 'priority_evidence'}) MATCH (r:Result {table: 'priority_evidence', gen: r_t.gen}) WHERE r.account_id = $account AND "
            f"{_sc('r')} RETURN r.component AS component, r.record_table AS record_table, "
            "r.record_key AS record_key, r.detail AS detail, r.source_ids AS source_ids "
            "ORDER BY component, record_table, record_key"
        ),
        ("component", "record_table", "record_key", "detail", "source_ids"),
    ),
    "role_flows": (
        _flows("role_flows") + " RETURN source, target, credits, transactions "
        "ORDER BY credits DESC, source, target",
        ("source", "target", "credits", "transactions"),
    ),
    "community_flows": (
        _flows("community_flows")
        + " WITH collect({s: source, t: target, c: credits, n: transactions}) AS f "
        "CALL (f) { UNWIND f AS x UNWIND [[x.s, x.c], [x.t, x.c]] AS gv "
        "WITH gv[0] AS g, gv[1] AS c WITH g, sum(c) AS vol ORDER BY vol DESC, g LIMIT $top "
        "RETURN collect(g) AS keep } "
        "UNWIND f AS x WITH CASE WHEN x.s IN keep THEN x.s ELSE 'other' END AS source, "
        "CASE WHEN x.t IN keep THEN x.t ELSE 'other' END AS target, x "
        "RETURN source, target, sum(x.c) AS credits, sum(x.n) AS transactions "
        "ORDER BY credits DESC, source, target",
        ("source", "target", "credits", "transactions"),
    ),
    "credits_over_time": (
        (
            f"MATCH (r_t:ResultTable {{table: 'credits_daily'}}) MATCH (r:Result {{table: 'credits_daily', gen: r_t.gen}}) WHERE {_sc('r')} "
            "WITH CASE $freq WHEN 'day' THEN r.day WHEN 'week' THEN "
            "toString(date(r.day) - duration({days: date(r.day).dayOfWeek - 1})) "
            "ELSE substring(r.day, 0, 7) + '-01' END AS period, r.kind AS kind, r "
            "RETURN period, kind, sum(r.credits) AS credits, sum(r.transactions) AS transactions "
            "ORDER BY period, kind"
        ),
        ("period", "kind", "credits", "transactions"),
    ),
    "top_earners": (
        (
            "MATCH (m:Account) WHERE m.metric_row IS NOT NULL AND m.credits_in IS NOT NULL AND "
            f"{_sc('m')} RETURN m.account_id AS account_id, {_label('m')} AS handle, "
            "m.credits_in AS credits_in, m.referral_rewards AS referral_rewards, "
            "m.credits_out AS credits_out, m.net_credits AS net_credits, "
            "m.priority_rank AS priority_rank ORDER BY credits_in DESC, account_id LIMIT $limit"
        ),
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
    "trace_forward": (
        (
            "MATCH (a:Account)-[t:PAID]->(b:Account) WHERE a.account_id IN $frontier AND "
            f"{_sc('t')} AND {_PAID_WINDOW} RETURN {_TX_RET} ORDER BY ts, txn_id LIMIT $limit"
        ),
        _TX_COLS,
    ),
    "trace_backward": (
        (
            "MATCH (a:Account)-[t:PAID]->(b:Account) WHERE b.account_id IN $frontier AND "
            f"{_sc('t')} AND {_PAID_WINDOW} RETURN {_TX_RET} ORDER BY ts, txn_id LIMIT $limit"
        ),
        _TX_COLS,
    ),
    "org_targets": (
        (
            f"MATCH (r_t:ResultTable {{table: 'org_targets'}}) MATCH (r:Result {{table: 'org_targets', gen: r_t.gen}}) WHERE {_sc('r')} "
            "RETURN r.org_id AS org_id, r.name AS name, r.kind AS kind, r.region AS region, "
            "r.lat AS lat, r.lon AS lon, r.rooms AS rooms, r.members_reached AS members_reached, "
            "r.room_titles AS room_titles ORDER BY rooms DESC, members_reached DESC, org_id"
        ),
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


# Unscoped forms (``$scope`` null: every record) of dataset reads whose scoped form scans a
# whole label or relationship type to test each record's ``source_ids``: a count without a
# predicate is answered from Neo4j's count store (at 1 M accounts the scoped ``counts`` took
# 6 s, these 0.1 s). Same columns and rows as the scoped statement with ``$scope`` null.
_ACCOUNT_Q = (
    "($q IS NULL OR toLower(a.account_id) CONTAINS toLower($q) OR "
    "toLower(coalesce(a.handle, '')) CONTAINS toLower($q) OR "
    "toLower(coalesce(a.display_name, '')) CONTAINS toLower($q))"
)
DATASET_UNSCOPED: dict[str, str] = {
    # the accounts with descendants in the index's order, then those without in the key's
    # order (each branch stops at $limit), instead of sorting every account
    "search_accounts": (
        "CALL () { MATCH (a:Account) WHERE a.referral_descendants > 0 AND "
        f"{_ACCOUNT_Q} WITH a, a.referral_descendants AS d ORDER BY d DESC, a.account_id "
        "LIMIT $limit RETURN a, d UNION ALL MATCH (a:Account) WHERE a.account_id IS NOT NULL "
        f"AND NOT coalesce(a.referral_descendants, 0) > 0 AND {_ACCOUNT_Q} "
        "WITH a, coalesce(a.referral_descendants, 0) AS d ORDER BY a.account_id LIMIT $limit "
        "RETURN a, d } WITH a, d ORDER BY d DESC, a.account_id LIMIT $limit "
        "RETURN a.account_id AS account_id, a.handle AS handle, "
        "a.display_name AS display_name, d AS referral_descendants"
    ),
    "counts": " UNION ALL ".join(
        [
            _count("accounts", "MATCH (x:Account)", "count(x)"),
            _count("channels", "MATCH (x:Channel)", "count(x)"),
            _count("memberships", "MATCH ()-[x:MEMBER_OF]->()", "count(x)"),
            _count("invites", "MATCH ()-[x:INVITED]->()", "count(x)"),
            _count("transactions", "MATCH ()-[x:PAID]->()", "count(x)"),
            _count(
                "forwards", "MATCH ()-[x:FORWARDED_TO]->()", "coalesce(sum(size(x.ts_list)), 0)"
            ),
            _count("organizations", "MATCH (x:Organization)", "count(x)"),
            _count("targets", "MATCH ()-[x:TARGETS]->()", "count(x)"),
            _count("content", "MATCH (x:Content)", "count(x)"),
            _count("sources", "MATCH (x:Source)", "count(x)"),
        ]
    ),
}


def dataset_query(name: str, *, scoped: bool = True) -> tuple[str, tuple[str, ...]]:
    """The statement and result columns of the dataset read ``name``; ``scoped=False`` gives
    its unscoped form (:data:`DATASET_UNSCOPED`) when it has one, for ``$scope`` null.

    Raises
    ------
    StoreError
        ``name`` is not a dataset query.

    Example
    -------
    >>> stmt, cols = dataset_query("rooms_count")
    >>> "$scope" in stmt, cols
    (True, ('n',))
    """
    from graphintel.errors import StoreError

    try:
        stmt, columns = DATASET_QUERIES[name]
    except KeyError as err:
        raise StoreError(f"unknown dataset query {name!r}") from err
    if not scoped and name in DATASET_UNSCOPED:
        return DATASET_UNSCOPED[name], columns
    return stmt, columns


def store_generation() -> str:
    """A fingerprint of what the dataset reads show: every result table's current generation,
    every source (its files, ingest time and retraction) and the node and relationship counts
    (count store: no scan). The dashboard's query cache is keyed by it, so it is re-read on a
    new analysis, ingest or retraction and not otherwise."""
    return (
        f"CALL () {{ MATCH (t:{ident(RESULT_TABLE_LABEL)}) WITH t ORDER BY t.`table` "
        "RETURN collect([t.`table`, t.`gen`]) AS results } "
        "CALL () { MATCH (s:`Source`) WITH s ORDER BY s.`source_id` "
        "RETURN collect([s.`source_id`, size(coalesce(s.`file_hashes`, [])), "
        "s.`ingested_at`, s.`retracted_at`]) AS sources } "
        "CALL () { MATCH (n) RETURN count(n) AS nodes } "
        "CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships } "
        "RETURN results, sources, nodes, relationships"
    )


def dataset_indexes() -> list[str]:
    """Indexes the dataset reads use: result rows by table and generation (every dataset read
    of a result table names the two and no ``row``, so the three-property index does not serve
    it: without this one each such read scanned every ``Result`` node, 3.75 M at 1 M accounts,
    3 s per read), referral tree levels and cascade depths."""
    return [
        (
            f"CREATE INDEX result_table_gen IF NOT EXISTS FOR (n:{ident(RESULT_LABEL)}) "
            "ON (n.`table`, n.`gen`)"
        ),
        # the links among a set of rooms (channel_links rows only carry channel_a)
        (
            f"CREATE INDEX result_links_channel_a IF NOT EXISTS FOR (n:{ident(RESULT_LABEL)}) "
            "ON (n.`table`, n.`gen`, n.`channel_a`)"
        ),
        # top-N reads of analysed accounts: index order instead of sorting 1 M nodes
        "CREATE INDEX account_priority_score IF NOT EXISTS FOR (n:`Account`) ON (n.`priority_score`)",
        "CREATE INDEX account_credits_in IF NOT EXISTS FOR (n:`Account`) ON (n.`credits_in`)",
        (
            "CREATE INDEX account_referral_descendants IF NOT EXISTS FOR (n:`Account`) "
            "ON (n.`referral_descendants`)"
        ),
        (
            "CREATE INDEX account_referral_parent IF NOT EXISTS FOR (n:`Account`) "
            "ON (n.`referral_parent`)"
        ),
        "CREATE INDEX account_referral_root IF NOT EXISTS FOR (n:`Account`) ON (n.`referral_root`)",
    ]


# -- legal controls: audit head, per-source copies, retraction ------------------------------------
def write_audit_head() -> str:
    """Record ``$seq``/``$hash`` as the head of audit chain ``$chain`` (one ``AuditHead`` node
    per chain, ``key`` = the chain id) unless a newer one is there. ``$chain`` null: the legacy
    node (``key`` ``'audit'``, no chain), as heads were recorded before they were keyed."""
    return (
        f"MERGE (h:{ident(AUDIT_HEAD_LABEL)} {{`key`: coalesce($chain, 'audit')}}) WITH h "
        "WHERE h.`seq` IS NULL OR h.`seq` < $seq "
        "SET h.`seq` = $seq, h.`hash` = $hash, h.`chain` = $chain, h.`source_ids` = []"
    )


def read_audit_head() -> str:
    """Every chain's head: ``chain`` (null for the legacy node), ``seq``, ``hash``."""
    return (
        f"MATCH (h:{ident(AUDIT_HEAD_LABEL)}) WHERE h.`seq` IS NOT NULL "
        "RETURN h.`chain`, h.`seq`, h.`hash` ORDER BY h.`seq`, h.`key`"
    )


def delete_source_copy() -> str:
    """Delete the kept copies of ``$sid`` (of batch ``$batch`` when it is not null)."""
    return (
        f"MATCH (n:{ident(SOURCE_COPY_LABEL)} {{`source_id`: $sid}}) "
        "WHERE $batch IS NULL OR n.`batch` = $batch DELETE n"
    )


def write_source_copy() -> str:
    """One kept copy part: ``$sid``, ``$batch``, ``$ord``, ``$table``, ``$part``, ``$data``."""
    return (
        f"CREATE (n:{ident(SOURCE_COPY_LABEL)} {{`source_id`: $sid, `batch`: $batch, "
        "`ord`: $ord, `table`: $table, `part`: $part, `data`: $data, `source_ids`: [$sid]})"
    )


def read_source_copies() -> str:
    return (
        f"MATCH (n:{ident(SOURCE_COPY_LABEL)}) RETURN n.`source_id`, n.`batch`, n.`ord`, "
        "n.`table`, n.`part`, n.`data` ORDER BY n.`ord`, n.`source_id`, n.`batch`, n.`table`, "
        "n.`part`"
    )


def delete_records(table: str, columns: list[str]) -> str:
    """Delete the records of ``table`` whose key columns (``columns``) are in batch ``$c``.

    Edges are deleted; node tables are ``DETACH DELETE``-d; ``forwards`` are matched by channel
    pair (``columns`` = the pair), ``content`` by hash: its ``POSTED`` relationships and the
    ``Content`` node go.
    """
    spec = TABLES[table]
    pre = _row_map(columns)
    if spec.node:
        key = spec.key[0]
        return (
            f"{pre} MATCH (n:{ident(spec.node)} {{{ident(key)}: row.{ident(key)}}}) DETACH DELETE n"
        )
    if table == "content":
        return f"{pre} MATCH (n:`Content` {{`content_hash`: row.`content_hash`}}) DETACH DELETE n"
    assert spec.ends is not None and spec.rel is not None
    (a_col, a_label), (b_col, b_label) = spec.ends
    a = f"(a:{ident(a_label)} {{{ident(LABEL_KEYS[a_label])}: row.{ident(a_col)}}})"
    b = f"(b:{ident(b_label)} {{{ident(LABEL_KEYS[b_label])}: row.{ident(b_col)}}})"
    if a_col not in columns:
        a = f"(a:{ident(a_label)})"
    if b_col not in columns:
        b = f"(b:{ident(b_label)})"
    props = [c for c in columns if c not in (a_col, b_col)]
    pattern = ", ".join(f"{ident(k)}: row.{ident(k)}" for k in props)
    pattern = f" {{{pattern}}}" if pattern else ""
    return f"{pre} MATCH {a}-[r:{ident(spec.rel)}{pattern}]->{b} DELETE r"


def reset_nodes(table: str) -> str:
    """Clear every stored attribute of the ``table`` nodes in batch ``$c`` (by key), so the
    remaining sources' rows can be merged into them again; a channel also loses ``CREATED``."""
    spec = TABLES[table]
    key = spec.key[0]
    props = [c for c in table_columns(table) if c != key]
    sets = ", ".join(f"n.{ident(c)} = null" for c in props)
    created = ""
    if table == "channels":
        created = "WITH n OPTIONAL MATCH (:`Account`)-[c:`CREATED`]->(n) DELETE c "
    return (
        f"{_row_map([key])} MATCH (n:{ident(spec.node or '')} {{{ident(key)}: row.{ident(key)}}}) "
        f"SET {sets} {created}"
    ).strip()


def write_retraction() -> str:
    """Mark Source ``$sid`` retracted with ``$props`` (the node stays: the tombstone)."""
    sets = ", ".join(f"s.{ident(c)} = $props.{ident(c)}" for c in RETRACTION_PROPS)
    return f"MATCH (s:`Source` {{`source_id`: $sid}}) SET {sets}"


def read_retractions() -> str:
    ret = ", ".join(f"s.{ident(c)} AS {ident(c)}" for c in RETRACTION_PROPS)
    return (
        "MATCH (s:`Source`) WHERE s.`retracted_at` IS NOT NULL "
        f"RETURN s.`source_id` AS source_id, {ret} ORDER BY s.`source_id`"
    )
