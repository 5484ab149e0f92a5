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
* analytics: account/channel metrics as node properties marked by ``metric_row``; other result
  tables as ``(:Result {table, row, ...})`` nodes described by one ``(:ResultTable {table,
  columns, dtypes})`` node.
"""

from __future__ import annotations

from graphintel.model import (
    ACCOUNT_METRIC_COLUMNS,
    CHANNEL_METRIC_COLUMNS,
    NODE_TABLES,
    TABLES,
    table_columns,
)
from graphintel.store.base import RESULT_TABLES, SOURCE_COLUMNS

__all__ = [
    "AUDIT_HEAD_LABEL",
    "LABEL_KEYS",
    "METRIC_MARKER",
    "RESULT_LABEL",
    "RESULT_TABLE_LABEL",
    "RETRACTION_PROPS",
    "SOURCE_COPY_LABEL",
    "STORE_LABELS",
    "clear_label",
    "clear_metrics",
    "count_statement",
    "delete_records",
    "delete_results",
    "delete_source_copy",
    "has_label",
    "has_type",
    "ident",
    "known_file_hashes",
    "merge_content_nodes",
    "merge_created",
    "merge_nodes",
    "merge_relationships",
    "read_audit_head",
    "read_forwards_pairs",
    "read_metrics",
    "read_result_meta",
    "read_result_rows",
    "read_retractions",
    "read_source",
    "read_source_copies",
    "read_sources",
    "read_table",
    "reset_nodes",
    "schema_statements",
    "write_audit_head",
    "write_forwards_pairs",
    "write_metrics",
    "write_result_meta",
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
AUDIT_HEAD_LABEL = "AuditHead"
SOURCE_COPY_LABEL = "SourceCopy"
RETRACTION_PROPS = ("retracted_at", "retracted_by", "reason", "records_removed", "records_changed")
STORE_LABELS = (
    *LABEL_KEYS,
    RESULT_LABEL,
    RESULT_TABLE_LABEL,
    AUDIT_HEAD_LABEL,
    SOURCE_COPY_LABEL,
)
METRIC_MARKER = "metric_row"
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
    | {
        RESULT_LABEL,
        RESULT_TABLE_LABEL,
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
        METRIC_MARKER,
        CREATED,
        "table",
        "row",
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
    out.append(
        "CREATE CONSTRAINT paid_txn_id IF NOT EXISTS FOR ()-[r:`PAID`]-() "
        "REQUIRE r.`txn_id` IS UNIQUE"
    )
    out.append(
        f"CREATE CONSTRAINT result_table_key IF NOT EXISTS FOR (n:{ident(RESULT_TABLE_LABEL)}) "
        "REQUIRE n.`table` IS UNIQUE"
    )
    out.append(
        f"CREATE CONSTRAINT audit_head_key IF NOT EXISTS FOR (n:{ident(AUDIT_HEAD_LABEL)}) "
        "REQUIRE n.`key` IS UNIQUE"
    )
    out.append(
        f"CREATE INDEX source_copy_source IF NOT EXISTS FOR (n:{ident(SOURCE_COPY_LABEL)}) "
        "ON (n.`source_id`)"
    )
    out.append(
        f"CREATE INDEX result_table_rows IF NOT EXISTS FOR (n:{ident(RESULT_LABEL)}) "
        "ON (n.`table`, n.`row`)"
    )
    return out


# -- writes ------------------------------------------------------------------------------------
def has_label(label: str) -> str:
    """Whether any node with ``label`` exists (one row when it does)."""
    return f"MATCH (n:{ident(label)}) RETURN 1 AS found LIMIT 1"


def has_type(rel: str) -> str:
    """Whether any relationship of type ``rel`` exists (one row when it does)."""
    return f"MATCH ()-[r:{ident(rel)}]->() RETURN 1 AS found LIMIT 1"


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
    verb = "CREATE" if create else "MERGE"
    stmt = (
        f"{_row_map(cols)} {verb} (n:{label} {{{ident(key)}: row.{ident(key)}}}) "
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
    stmt = (
        f"{_row_map(cols)} {_end_match(table)}{moved}"
        f"{'CREATE' if create else 'MERGE'} (a)-[r:{rel}{pattern}]->(b) {on_create}"
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


def clear_label(label: str) -> str:
    """Delete every node of ``label`` in batches (auto-commit transaction)."""
    return f"MATCH (n:{ident(label)}) CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS OF 10000 ROWS"


# -- analytics results ---------------------------------------------------------------------------
def _metric_label(name: str) -> tuple[str, str, tuple[str, ...]]:
    if name == "account_metrics":
        return "Account", "account_id", ACCOUNT_METRIC_COLUMNS
    return "Channel", "channel_id", CHANNEL_METRIC_COLUMNS


def clear_metrics(name: str) -> str:
    """Remove the metric properties (and marker) of every node carrying them."""
    label, key, cols = _metric_label(name)
    props = ", ".join(f"n.{ident(c)}" for c in (METRIC_MARKER, *cols) if c != key)
    return (
        f"MATCH (n:{ident(label)}) WHERE n.{ident(METRIC_MARKER)} IS NOT NULL "
        f"CALL (n) {{ REMOVE {props} }} IN TRANSACTIONS OF 10000 ROWS"
    )


def write_metrics(name: str) -> tuple[str, list[str]]:
    """Set metric properties on existing nodes; ``$offset + i`` is the row marker."""
    label, key, cols = _metric_label(name)
    sets = ", ".join(f"n.{ident(c)} = row.{ident(c)}" for c in cols if c != key)
    stmt = (
        f"{_row_map(list(cols))} MATCH (n:{ident(label)} {{{ident(key)}: row.{ident(key)}}}) "
        f"SET n.{ident(METRIC_MARKER)} = $offset + i, {sets} RETURN count(*) AS written"
    )
    return stmt, list(cols)


def read_metrics(name: str) -> str:
    label, _, cols = _metric_label(name)
    ret = ", ".join(f"n.{ident(c)} AS {ident(c)}" for c in cols)
    return (
        f"MATCH (n:{ident(label)}) WHERE n.{ident(METRIC_MARKER)} IS NOT NULL "
        f"RETURN {ret} ORDER BY n.{ident(METRIC_MARKER)}"
    )


def delete_results() -> str:
    """Delete the rows and the description of result table ``$name`` (auto-commit)."""
    return (
        f"MATCH (n) WHERE (n:{ident(RESULT_LABEL)} OR n:{ident(RESULT_TABLE_LABEL)}) "
        "AND n.`table` = $name CALL (n) { DELETE n } IN TRANSACTIONS OF 10000 ROWS"
    )


def write_result_rows(name: str) -> tuple[str, list[str]]:
    cols = list(RESULT_TABLES[name])
    sets = ", ".join(f"n.{ident(c)} = row.{ident(c)}" for c in cols)
    stmt = (
        f"{_row_map(cols)} CREATE (n:{ident(RESULT_LABEL)} {{`table`: $name, `row`: $offset + i}}) "
        f"SET {sets} RETURN count(*) AS written"
    )
    return stmt, cols


def write_result_meta() -> str:
    return (
        f"MERGE (m:{ident(RESULT_TABLE_LABEL)} {{`table`: $name}}) "
        "SET m.`columns` = $columns, m.`dtypes` = $dtypes"
    )


def read_result_meta() -> str:
    return (
        f"MATCH (m:{ident(RESULT_TABLE_LABEL)} {{`table`: $name}}) "
        "RETURN m.`columns` AS columns, m.`dtypes` AS dtypes"
    )


def read_result_rows(name: str) -> str:
    ret = ", ".join(f"n.{ident(c)} AS {ident(c)}" for c in RESULT_TABLES[name])
    return f"MATCH (n:{ident(RESULT_LABEL)} {{`table`: $name}}) RETURN {ret} ORDER BY n.`row`"


# -- legal controls: audit head, per-source copies, retraction ------------------------------------
def write_audit_head() -> str:
    """Record ``$seq``/``$hash`` on the one ``AuditHead`` node unless a newer one is there."""
    return (
        f"MERGE (h:{ident(AUDIT_HEAD_LABEL)} {{`key`: 'audit'}}) WITH h "
        "WHERE h.`seq` IS NULL OR h.`seq` < $seq "
        "SET h.`seq` = $seq, h.`hash` = $hash, h.`source_ids` = []"
    )


def read_audit_head() -> str:
    return f"MATCH (h:{ident(AUDIT_HEAD_LABEL)} {{`key`: 'audit'}}) RETURN h.`seq`, h.`hash`"


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


assert set(NODE_TABLES) == {t for t, s in TABLES.items() if s.node}
