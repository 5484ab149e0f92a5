"""First load of an empty Neo4j database with Neo4j's own bulk importer.

``graphintel neo4j import MANIFEST [MANIFEST ...] --home DIR`` fills the empty database of the
local server that ``graphintel neo4j start --home DIR`` runs, with ``neo4j-admin database import
full`` from the same Maven jars, instead of batched ``UNWIND … MERGE`` transactions:

1. every bundle is read and validated as ``graphintel ingest`` does, all of them before anything
   is written: one bundle by the fast path (:func:`ingest.fast.prepare_bundle_fast`, Arrow and
   DuckDB, which falls back to the exact path whenever it is not certain), several by the exact
   path (:func:`ingest.job.prepare_bundle`);
2. several bundles are merged with the ingest rule (:func:`graphintel.scope.merge_source_rows`:
   per key the last non-null value of each attribute, ``inferred`` the AND, ``source_ids`` the
   sorted union), so the result is what ingesting them one after another gives; one bundle is
   written as it is, its source id on every record;
3. the canonical tables are written as the importer's CSV files (a header file per node label
   and relationship type naming each property's type; data written by DuckDB, text quoted; the
   node ids the store's own, ``--id-type=actual``, so the importer maps no string ids;
   ``--multiline-fields`` only when a value holds a line break),
   together with the ``Content`` and ``Source`` nodes, ``CREATED`` and the ``FORWARDED_TO``
   event lists (array properties joined on a delimiter no value contains); the server is
   stopped, ``neo4j-admin database import full`` (:func:`graphintel.neo4j_server.run_admin`)
   replaces the empty database, and the server is started again with the same port and memory
   sizes;
4. over Bolt: the schema (constraints and indexes, one transaction) and the kept rows for
   retraction; the ``FORWARDED_TO`` lists too when a forward has no timestamp (its ``''`` cannot
   be an array element in the importer's CSV).

Only an empty database is accepted (the importer replaces the database); later bundles go through
``graphintel ingest`` as usual. A failed import leaves an empty database behind and the server
running. The graph is the same as the batched path gives (tested table by table).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from graphintel.config import Settings
from graphintel.errors import Neo4jSetupError, StoreError
from graphintel.model import (
    NODE_TABLES,
    OPTIONAL_KEY_COLUMNS,
    RECORD_TABLES,
    SOURCE_COLUMNS,
    TABLES,
    table_columns,
)
from graphintel.store.cypher import CREATED, FORWARD_PROPS

FORWARDED_TO = TABLES["forwards"].rel or "FORWARDED_TO"

__all__ = [
    "BulkImportReport",
    "ImportFiles",
    "audit_details",
    "bulk_import",
    "import_headers",
    "write_import_files",
]

# Graph tables the importer writes as relationships (plus CREATED and FORWARDED_TO, built here).
IMPORT_EDGE_TABLES = ("memberships", "invites", "transactions", "targets", "content")
_ARRAY_DELIMITERS = ("\x1f", "\x1e", "|", ";", "\t")


@dataclass
class BulkImportReport:
    """What one bulk import did."""

    home: str
    sources: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # source -> file -> sha256
    rows_read: int = 0
    nodes: int = 0
    relationships: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        total = sum(self.seconds.values())
        rate = self.rows_read / total if total else 0.0
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return (
            f"Bulk-imported {len(self.sources)} source(s) ({', '.join(self.sources)}) into the "
            f"empty database of {self.home}: {self.rows_read} rows read, {self.nodes} nodes and "
            f"{self.relationships} relationships written by neo4j-admin; {total:.1f} s "
            f"({rate:,.0f} rows/s; {phases})."
        )


def _kind(table: str, column: str) -> str:
    if column == "source_ids":
        return "string[]"
    if column == "inferred":
        return "boolean"
    names = {c.name for c in TABLES[table].columns}
    if column not in names:  # phone_token, evidence: text the model adds to a table
        return "string"
    kind = TABLES[table].column(column).type
    return {"float": "double", "bool": "boolean"}.get(kind, "string")


def import_headers(table: str) -> tuple[str, list[str], str]:
    """The importer's header line for ``table``, the columns in data order and its label/type.

    Example
    -------
    Node ids are the store's own (``--id-type=actual``: the files carry the node id each node
    gets and each relationship's end node ids, so the importer maps no string ids); the key is
    a property like any other.

    >>> header, cols, name = import_headers("memberships")
    >>> name, header.split(",")[:3], header.split(",")[-1], cols[:2]
    ('MEMBER_OF', [':START_ID', ':END_ID', 'role:string'], 'source_ids:string[]', ['account_id', 'channel_id'])
    >>> import_headers("accounts")[0].split(",")[:3]
    [':ID', 'account_id:string', 'handle:string']
    """
    spec = TABLES[table]
    if table in NODE_TABLES or table in RECORD_TABLES:
        cols = table_columns(table)
        fields = [":ID", *(f"{c}:{_kind(table, c)}" for c in cols)]
        return ",".join(fields), cols, spec.node or ""
    assert spec.ends is not None and spec.rel is not None
    (a_col, _), (b_col, _) = spec.ends
    props = [c for c in table_columns(table) if c not in (a_col, b_col)]
    fields = [":START_ID", ":END_ID", *(f"{c}:{_kind(table, c)}" for c in props)]
    return ",".join(fields), [a_col, b_col, *props], spec.rel


def _arrow(frame: Any) -> bool:
    import pyarrow as pa

    return isinstance(frame, pa.Table)


def _pandas(frame: Any) -> pd.DataFrame:
    """A (small) table as pandas: the extras are computed from channels and forwards."""
    return frame.to_pandas() if _arrow(frame) else frame


def _rows(frame: Any) -> int:
    return 0 if frame is None else (frame.num_rows if _arrow(frame) else len(frame))


def _array_delimiter(texts: Any) -> str:
    """A character that none of ``texts`` (the strings array properties hold) contains."""
    texts = {str(t) for t in texts}
    for cand in _ARRAY_DELIMITERS:
        if not any(cand in t for t in texts):
            return cand
    raise StoreError(
        "every array delimiter the bulk importer could use occurs in a source id, a file name or "
        "a forward's evidence; ingest these bundles with `graphintel ingest` (batched writes) "
        "instead"
    )


def _content_nodes(content: pd.DataFrame) -> pd.DataFrame:
    """One ``Content`` node per hash, its source ids the union over the hash's records."""
    if content.empty:
        return pd.DataFrame({"content_hash": [], "source_ids": []})
    ex = content[["content_hash", "source_ids"]].explode("source_ids").dropna()
    ex = ex.drop_duplicates().sort_values(["content_hash", "source_ids"], kind="stable")
    return ex.groupby("content_hash", sort=True)["source_ids"].agg(list).reset_index()


def _created_rows(bundles: list[Any]) -> pd.DataFrame:
    """``CREATED`` relationships as the batched path leaves them after the bundles in order:
    a channel's creator replaced by a later bundle's, the source ids those of the bundles that
    named the current creator since it last changed."""
    cols = ["creator_id", "channel_id", "source_ids"]
    state = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    for bundle in bundles:
        sid = str(bundle.source["source_id"])
        channels = bundle.tables.get("channels")
        if channels is None or not _rows(channels):
            continue
        channels = _pandas(channels)
        new = channels.loc[channels["creator_id"].notna(), ["channel_id", "creator_id"]]
        both = new.merge(state, on="channel_id", how="left", suffixes=("", "_old"))
        same = (both["creator_id"] == both["creator_id_old"]).fillna(False).to_numpy(dtype=bool)
        both["source_ids"] = [  # one entry per channel of the bundle (thousands), not per row
            sorted({*old, sid}) if keep else [sid]
            for old, keep in zip(both["source_ids"], same, strict=True)
        ]
        kept = state[~state["channel_id"].isin(new["channel_id"])]
        state = pd.concat([kept, both[cols]], ignore_index=True)
    return state.reset_index(drop=True)


def _forward_rows(bundles: list[Any]) -> pd.DataFrame | None:
    """``FORWARDED_TO`` relationships with their event lists, as the batched path writes them
    after the bundles in order; ``None`` when a forward has no timestamp (the importer cannot
    hold the ``''`` it stands for in an array, so those go over Bolt)."""
    from graphintel.store.neo4j_store import forward_pairs

    parts = []
    for i, bundle in enumerate(bundles):
        forwards = bundle.tables.get("forwards")
        if forwards is None or not _rows(forwards):
            continue
        frame = _pandas(forwards).reindex(
            columns=["from_channel_id", "to_channel_id", "ts", "evidence"]
        )
        if frame["ts"].isna().any() or (frame["ts"] == "").any():
            return None
        sid = str(bundle.source["source_id"])
        parts.append(frame.assign(source_ids=[[sid]] * len(frame), _new=i + 1))
    if not parts:
        return pd.DataFrame()
    return forward_pairs(pd.concat(parts, ignore_index=True))


def _source_rows(bundles: list[Any]) -> pd.DataFrame:
    """One ``Source`` node per source id, as the batched path writes it (the last bundle's
    fields; a source given more than once holds the sorted union of its files)."""
    seen: dict[str, dict[str, Any]] = {}
    for bundle in bundles:
        source = bundle.source
        sid = str(source["source_id"])
        props = {c: source.get(c) for c in SOURCE_COLUMNS}
        files = [str(f) for f in source.get("files") or []]
        hashes = [str(h) for h in source.get("file_hashes") or []]
        if sid in seen:
            files = sorted(set(files) | set(seen[sid]["files"]))
            hashes = sorted(set(hashes) | set(seen[sid]["file_hashes"]))
        props = {k: (None if v is None else str(v)) for k, v in props.items()}
        props.update(files=files, file_hashes=hashes, source_ids=[sid])
        seen[sid] = props
    return pd.DataFrame(list(seen.values()))


_SOURCE_HEADER = ",".join(
    [":ID", "source_id:string"]
    + [
        f"{c}:{'string[]' if c in ('files', 'file_hashes') else 'string'}"
        for c in SOURCE_COLUMNS[1:]
    ]
    + ["source_ids:string[]"]
)
_CREATED_HEADER = ":START_ID,:END_ID,source_ids:string[]"
_FORWARD_COLUMNS = ["from_channel_id", "to_channel_id", "source_ids", *FORWARD_PROPS]
_FORWARD_KINDS = {"count": "long", "first_ts": "string", "last_ts": "string"}
_FORWARD_HEADER = ",".join(
    [":START_ID", ":END_ID"]
    + [f"{c}:{_FORWARD_KINDS.get(c, 'string[]')}" for c in _FORWARD_COLUMNS[2:]]
)


@dataclass
class ImportFiles:
    """The importer's input: ``neo4j-admin`` arguments naming the files, what they hold, and
    whether the ``FORWARDED_TO`` relationships are left to Bolt (a forward without timestamp)."""

    args: list[str]
    nodes: int
    relationships: int
    forwards_over_bolt: bool = False
    multiline: bool = True  # a value holds a line break (``--multiline-fields``)


def _merged_tables(bundles: list[Any]) -> tuple[dict[str, Any], str | None]:
    """The bundles' tables merged with the ingest rule, and ``None``; for one bundle its own
    tables (pandas or Arrow; its keys are unique once validated) and its source id, which every
    record then carries."""
    if len(bundles) > 1:
        from graphintel.scope import merge_source_rows

        return merge_source_rows([(str(b.source["source_id"]), b.tables) for b in bundles]), None
    return dict(bundles[0].tables), str(bundles[0].source["source_id"])


def write_import_files(bundles: list[Any], out: Path) -> ImportFiles:
    """Write the importer's header and data files for ``bundles`` (validated, in ingest order)
    into ``out``: every node, record and relationship table, the ``Content`` and ``Source``
    nodes, ``CREATED`` and the ``FORWARDED_TO`` event lists."""
    tables, sid = _merged_tables(bundles)
    return _write_files(bundles, tables, sid, out)


def _write_files(
    bundles: list[Any], tables: dict[str, Any], sid: str | None, out: Path
) -> ImportFiles:
    import duckdb

    created = _created_rows(bundles)
    forwards = _forward_rows(bundles)
    sources = _source_rows(bundles)
    texts: set[str] = set(sources["source_id"])
    for col in ("files", "file_hashes"):
        texts.update(x for v in sources[col] for x in v)
    if forwards is not None and len(forwards):
        texts.update(x for v in forwards["ts_evidence"] for x in v)
        texts.update(x for v in forwards["ts_sources"] for x in v)
    delim = _array_delimiter(texts)
    con = duckdb.connect()
    files = ImportFiles(args=[], nodes=0, relationships=0, forwards_over_bolt=forwards is None)
    multiline = False

    def emit(kind: str, name: str, stem: str, header: str, frame: Any, cols: list[str],
             kinds: dict[str, str], optional: tuple[str, ...] = (), *,
             key: tuple[str, ...] = (), ends: tuple[tuple[str, str], ...] = ()) -> None:  # fmt: skip
        nonlocal multiline
        path = out / f"{stem}.csv"
        node = (name, key, files.nodes) if kind == "nodes" else None
        _write_csv(con, frame, cols, kinds, path, delim, sid, optional, node=node, ends=ends)
        multiline = multiline or _spans_lines(path, _rows(frame))
        (out / f"{stem}.header.csv").write_text(header + "\n", encoding="utf-8")
        files.args.append(f"--{kind}={name}={out / f'{stem}.header.csv'},{path}")
        if kind == "nodes":
            files.nodes += _rows(frame)
        else:
            files.relationships += _rows(frame)

    try:
        # nodes first: their ids (one range per label, in key order) are what the
        # relationship files name
        for table in (*NODE_TABLES, *RECORD_TABLES):
            frame = tables.get(table)
            if not _rows(frame):
                continue
            header, cols, name = import_headers(table)
            kinds = {c: _kind(table, c) for c in cols}
            emit("nodes", name, table, header, frame, cols, kinds,
                 OPTIONAL_KEY_COLUMNS.get(table, ()), key=TABLES[table].key)  # fmt: skip
        content = tables.get("content")
        if _rows(content):
            nodes = _distinct_hashes(con, content) if sid else _content_nodes(content)
            emit("nodes", "Content", "content_nodes", ":ID,content_hash:string,source_ids:string[]",
                 nodes, ["content_hash", "source_ids"],
                 {"content_hash": "string", "source_ids": "string[]"},
                 key=("content_hash",))  # fmt: skip
        source_cols = [*SOURCE_COLUMNS, "source_ids"]
        source_kinds = {c: ("string[]" if c in ("files", "file_hashes", "source_ids") else "string")
                        for c in source_cols}  # fmt: skip
        emit("nodes", "Source", "sources", _SOURCE_HEADER, sources, source_cols, source_kinds,
             key=("source_id",))  # fmt: skip
        for table in IMPORT_EDGE_TABLES:
            frame = tables.get(table)
            if not _rows(frame):
                continue
            header, cols, name = import_headers(table)
            kinds = {c: _kind(table, c) for c in cols}
            emit("relationships", name, table, header, frame, cols, kinds,
                 OPTIONAL_KEY_COLUMNS.get(table, ()), ends=TABLES[table].ends or ())  # fmt: skip
        if len(created):
            emit("relationships", CREATED, "created", _CREATED_HEADER, created,
                 ["creator_id", "channel_id", "source_ids"],
                 {"creator_id": "string", "channel_id": "string", "source_ids": "string[]"},
                 ends=(("creator_id", "Account"), ("channel_id", "Channel")))  # fmt: skip
        if forwards is not None and len(forwards):
            kinds = {c: _FORWARD_KINDS.get(c, "string[]") for c in _FORWARD_COLUMNS}
            kinds.update(from_channel_id="string", to_channel_id="string")
            emit("relationships", FORWARDED_TO, "forwarded_to", _FORWARD_HEADER, forwards,
                 _FORWARD_COLUMNS, kinds,
                 ends=(("from_channel_id", "Channel"), ("to_channel_id", "Channel")))  # fmt: skip
    finally:
        con.close()
    files.args.append(f"--array-delimiter={delim}")
    files.multiline = multiline
    return files


def _spans_lines(path: Path, rows: int) -> bool:
    """Whether a value in the CSV file at ``path`` (``rows`` records) holds a line break: then
    the importer must parse it with ``--multiline-fields=true``, which stops it from reading a
    file in parallel chunks (half as fast at 1 M accounts). A byte scan: no line feed beyond one
    per record and no carriage return at all."""
    feeds = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            if b"\r" in chunk:
                return True
            feeds += chunk.count(b"\n")
    return feeds != rows


def _distinct_hashes(con: Any, content: Any) -> Any:
    """The distinct content hashes of one bundle's content table (an Arrow table)."""
    con.register("content_frame", content)
    try:
        return con.sql('SELECT DISTINCT "content_hash" FROM content_frame').to_arrow_table()
    finally:
        con.unregister("content_frame")


def _nid_table(label: str) -> str:
    """The DuckDB table of ``label``'s node ids (a label of the model, not data)."""
    if not label.isidentifier():
        raise ValueError(f"{label!r} is not a node label")
    return f'"nid_{label}"'


def _write_csv(con: Any, frame: Any, cols: list[str], kinds: dict[str, str], path: Path,
               delim: str, sid: str | None, optional: tuple[str, ...] = (), *,
               node: tuple[str, tuple[str, ...], int] | None = None,
               ends: tuple[tuple[str, str], ...] = ()) -> None:  # fmt: skip
    """``frame`` (pandas or Arrow) as importer CSV: text quoted (``""`` an empty string), a
    missing value an empty unquoted field, arrays joined on ``delim``, booleans ``true`` /
    ``false``, ``optional`` key columns ``""`` for none (identity properties). A frame without
    a ``source_ids`` column gets ``sid`` (one bundle, no merge).

    ``node`` = (label, key columns, first id): a node file, its first field the node id (the
    first id plus the row's rank in key order, so the same rows give the same ids whatever
    their order); a single-column key also leaves the label's ids as the table ``nid_LABEL``
    (key ``k``, id ``nid``) for the relationship files. ``ends`` = the (column, label) of a
    relationship's start and end: their fields become those node ids (null, which the importer
    refuses, for a key no node has)."""
    from graphintel.store.cypher import ident

    if not _arrow(frame):
        data = frame.reindex(columns=[c for c in cols if c in frame or c != "source_ids"])
        for c in data.columns:
            k = kinds[c]
            if k == "string[]":
                data[c] = [None if v is None else delim.join(map(str, v)) for v in data[c]]
            elif k == "string":
                s = data[c].astype(object)
                data[c] = s.where(s.notna(), None)
            elif k == "double":
                data[c] = pd.to_numeric(data[c], errors="coerce").astype("float64")
            elif k == "boolean":
                data[c] = data[c].astype("boolean")
            elif k == "long":
                data[c] = data[c].astype("Int64")
    else:
        data = frame
    present = set(data.column_names if _arrow(frame) else data.columns)
    sql_type = {"string": "VARCHAR", "string[]": "VARCHAR", "double": "DOUBLE",
                "boolean": "BOOLEAN", "long": "BIGINT"}  # fmt: skip
    exprs, joins = [], []
    for i, (col, label) in enumerate(ends):
        alias = f"e{i}"
        joins.append(f"LEFT JOIN {_nid_table(label)} {alias} "
                     f"ON {alias}.k = CAST(t.{ident(col)} AS VARCHAR)")  # fmt: skip
        exprs.append(f"{alias}.nid")
    rank = ""
    if node is not None:
        label, key, first = node
        order = ", ".join(f"t.{ident(k)}" for k in key if k in present) or "1"
        rank = f"{int(first)} + row_number() OVER (ORDER BY {order}) - 1"
        exprs.append(f"{rank} AS nid")
    for c in cols[len(ends) :]:
        if c == "source_ids" and c not in present:
            exprs.append(f"s.sid AS {ident(c)}")
            continue
        value = f"t.{ident(c)}" if c in present else "NULL"
        if c in optional:  # identity properties: '' for none
            value = f"coalesce(CAST({value} AS VARCHAR), '')"
        exprs.append(f"CAST({value} AS {sql_type[kinds[c]]}) AS {ident(c)}")
    con.register("import_frame", data)
    con.register("import_sid", pd.DataFrame({"sid": [sid or ""]}))
    quoted = [c for c in cols[len(ends) :] if kinds[c] in ("string", "string[]")]
    force = f", FORCE_QUOTE ({', '.join(ident(c) for c in quoted)})" if quoted else ""
    target = str(path).replace("'", "''")  # a path we chose (a temporary folder), not data
    try:
        con.execute(
            f"COPY (SELECT {', '.join(exprs)} FROM import_frame t CROSS JOIN import_sid s "
            f"{' '.join(joins)}) TO '{target}' (FORMAT csv, HEADER false, DELIMITER ',', "
            f"QUOTE '\"', ESCAPE '\"'{force})"
        )
        if node is not None and len(key) == 1:
            con.execute(
                f"CREATE OR REPLACE TABLE {_nid_table(label)} AS SELECT "
                f"CAST(t.{ident(key[0])} AS VARCHAR) AS k, {rank} AS nid FROM import_frame t"
            )
    finally:
        con.unregister("import_frame")
        con.unregister("import_sid")


def _prepare(manifest: Any, settings: Settings, *, fast: bool) -> tuple[Any, Any]:
    """Validate one bundle: the fast path (Arrow + DuckDB) when asked and it is certain, else the
    exact one (which then reports every failure with file, line and column)."""
    from ingest.job import prepare_bundle

    if fast:
        from ingest.fast import prepare_bundle_fast

        got = prepare_bundle_fast(manifest, settings)
        if got is not None:
            return got
    return prepare_bundle(manifest, settings)


def bulk_import(
    settings: Settings, manifests: list[str | Path], *, home: Path | None = None
) -> BulkImportReport:
    """Fill the empty database of the local server at ``home`` from ``manifests``.

    Raises
    ------
    Neo4jSetupError
        No server runs in ``home``.
    StoreError
        Its database is not empty.
    ManifestError, InputFormatError, ValidationError, ProvenanceError
        A bundle is not acceptable; nothing was written.
    Neo4jSetupError
        ``neo4j-admin`` failed (the database is left empty and the server running).
    """
    from graphintel import neo4j_server as ns
    from graphintel.retraction import save_source_copy, source_copy_blobs
    from graphintel.store.base import check_provenance
    from graphintel.store.neo4j_store import Neo4jStore
    from ingest.manifest import load_manifest

    path = ns.resolve_home(settings, home)
    info = ns.status(settings, home=path)
    if info is None:
        raise Neo4jSetupError(
            f"no graphintel Neo4j server is running in {path}: start it with `graphintel neo4j "
            f"start --home {path}` (a bulk import fills the empty database of that server)"
        )
    report = BulkImportReport(home=str(path))
    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=1)
    store = Neo4jStore(info.uri, info.username, info.password)
    try:
        held = store.node_count()
        if held:
            raise StoreError(
                f"the database of {path} already holds {held:,} nodes; the bulk importer only "
                "fills an empty database. Add later bundles with `graphintel ingest MANIFEST "
                f"--store {info.uri}` (batched writes), or start a fresh --home"
            )
        bundles = []
        known = pd.DataFrame(columns=["source_id", "case_id", "method", "legal_basis",
                                      "collected_at", "collected_by"])  # fmt: skip
        loaded = [load_manifest(m) for m in manifests]
        for manifest in loaded:
            fields = {"source_id": manifest.source_id, **manifest.provenance()}
            check_provenance(known, fields)
            known = pd.concat([known, pd.DataFrame([fields])], ignore_index=True)
            # one bundle is written as it is (Arrow from the fast path); several are merged
            # with the ingest rule in pandas, so they take the exact path
            bundle, part = _prepare(manifest, settings, fast=len(loaded) == 1)
            bundles.append(bundle)
            report.rows_read += sum(part.rows_read.values())
            report.files.setdefault(manifest.source_id, {}).update(
                {f.name: f.sha256 for f in manifest.files}
            )
            if manifest.source_id not in report.sources:
                report.sources.append(manifest.source_id)
            if manifest.case_id not in report.cases:
                report.cases.append(manifest.case_id)
        report.seconds["validate"] = time.perf_counter() - started
        t = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix="graphintel-import-", dir=path / "import"))
        try:
            files = write_import_files(bundles, work)
            report.nodes, report.relationships = files.nodes, files.relationships
            report.seconds["files"] = time.perf_counter() - t
            # the kept rows' Parquet parts are encoded while neo4j-admin and the server start
            # work (they release the GIL); only their Bolt write waits for the server
            blobs = pool.submit(lambda: [source_copy_blobs(b) for b in bundles])
            t = time.perf_counter()
            store.close()
            launch = ns.launch_settings(settings, home=path)
            launch.setdefault("port", info.port)
            ns.stop(settings, home=path)
            report.seconds["stop"] = time.perf_counter() - t
            t = time.perf_counter()
            try:
                ns.run_admin(
                    settings,
                    path,
                    [
                        *_IMPORT_OPTIONS,
                        f"--multiline-fields={str(files.multiline).lower()}",
                        f"--report-file={work / 'import.report'}",
                        *files.args,
                    ],
                    what="database import (the database is left empty)",
                    heap="1g",
                )
            except Neo4jSetupError:
                _empty_database(path)
                raise
            finally:
                report.seconds["neo4j-admin"] = time.perf_counter() - t
                t = time.perf_counter()
                info = ns.start(settings, home=path, **launch)  # type: ignore[arg-type]
                report.seconds["start"] = time.perf_counter() - t
        finally:
            shutil.rmtree(work, ignore_errors=True)
        t = time.perf_counter()
        store = Neo4jStore(info.uri, info.username, info.password)
        store.ensure_schema()
        report.seconds["schema"] = time.perf_counter() - t
        t = time.perf_counter()
        for bundle, parts in zip(bundles, blobs.result(), strict=True):
            if files.forwards_over_bolt:
                store.write_forwards(bundle)
            save_source_copy(store, bundle, parts)
        report.seconds["kept rows"] = time.perf_counter() - t
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        store.close()
    return report


_IMPORT_OPTIONS = (
    "database",
    "import",
    "full",
    "neo4j",
    "--overwrite-destination=true",
    "--id-type=actual",  # the files carry node ids: no string id mapping (half the CPU)
    "--max-off-heap-memory=2g",  # bounded: other work shares the machine during the import
)


def _empty_database(home: Path) -> None:
    """Remove the ``neo4j`` database's files so the server creates it empty on start."""
    for sub in ("databases", "transactions"):
        shutil.rmtree(home / "data" / sub / "neo4j", ignore_errors=True)


def audit_details(report: BulkImportReport) -> dict[str, Any]:
    """The audit entry's details for ``report`` (as ``graphintel ingest`` logs them)."""
    return {
        "store": f"neo4j home {report.home}",
        "method": "neo4j-admin database import full",
        "sources": report.sources,
        "cases": report.cases,
        "files": report.files,
        "nodes": report.nodes,
        "relationships": report.relationships,
    }
