"""First load of an empty Neo4j database with Neo4j's own bulk importer.

``graphintel neo4j import MANIFEST [MANIFEST ...] --home DIR`` fills the empty database of the
local server that ``graphintel neo4j start --home DIR`` runs, with ``neo4j-admin database import
full`` from the same Maven jars, instead of batched ``UNWIND … MERGE`` transactions:

1. every bundle is read and validated exactly as ``graphintel ingest`` does
   (:func:`ingest.job.prepare_bundle`), all of them before anything is written;
2. the bundles are merged with the ingest rule (:func:`graphintel.scope.merge_source_rows`:
   per key the last non-null value of each attribute, ``inferred`` the AND, ``source_ids`` the
   sorted union), so the result is what ingesting them one after another gives;
3. the canonical tables are written as the importer's CSV files (a header file per node label
   and relationship type naming each property's type; data written by DuckDB, text quoted), the
   server is stopped, ``neo4j-admin database import full`` replaces the empty database, and the
   server is started again with the same port and memory sizes;
4. the few parts the importer does not write are written over Bolt through the store's normal
   path, bundle by bundle in order: the schema (constraints and indexes), ``CREATED``, the
   ``FORWARDED_TO`` event lists, the ``Source`` nodes and the kept rows for retraction.

Only an empty database is accepted (the importer replaces the database); later bundles go through
``graphintel ingest`` as usual. A failed import leaves an empty database behind and the server
running. The graph is the same as the batched path gives (tested table by table).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from graphintel.config import Settings
from graphintel.errors import Neo4jSetupError, StoreError
from graphintel.model import NODE_TABLES, OPTIONAL_KEY_COLUMNS, RECORD_TABLES, TABLES, table_columns

__all__ = [
    "BulkImportReport",
    "audit_details",
    "bulk_import",
    "import_headers",
    "write_import_files",
]

# Graph tables the importer writes as relationships (forwards and CREATED go over Bolt).
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
    >>> header, cols, name = import_headers("memberships")
    >>> name, header.split(",")[:3], header.split(",")[-1]
    ('MEMBER_OF', [':START_ID(Account)', ':END_ID(Channel)', 'role:string'], 'source_ids:string[]')
    >>> import_headers("accounts")[0].split(",")[:2]
    ['account_id:ID(Account)', 'handle:string']
    """
    spec = TABLES[table]
    if table in NODE_TABLES:
        key = spec.key[0]
        cols = table_columns(table)
        fields = [f"{key}:ID({spec.node})" if c == key else f"{c}:{_kind(table, c)}" for c in cols]
        return ",".join(fields), cols, spec.node or ""
    if table in RECORD_TABLES:
        cols = table_columns(table)
        return ",".join(f"{c}:{_kind(table, c)}" for c in cols), cols, spec.node or ""
    assert spec.ends is not None and spec.rel is not None
    (a_col, a_label), (b_col, b_label) = spec.ends
    props = [c for c in table_columns(table) if c not in (a_col, b_col)]
    fields = [f":START_ID({a_label})", f":END_ID({b_label})"]
    fields += [f"{c}:{_kind(table, c)}" for c in props]
    return ",".join(fields), [a_col, b_col, *props], spec.rel


def _array_delimiter(tables: dict[str, pd.DataFrame]) -> str:
    """A character that no source id contains (the importer splits arrays on it)."""
    ids: set[str] = set()
    for frame in tables.values():
        if "source_ids" in frame and len(frame):
            ids |= {str(s) for s in frame["source_ids"].explode().dropna().unique()}
    for cand in _ARRAY_DELIMITERS:
        if not any(cand in s for s in ids):
            return cand
    raise StoreError(
        "every array delimiter the bulk importer could use occurs in a source id; ingest these "
        "bundles with `graphintel ingest` (batched writes) instead"
    )


def _content_nodes(content: pd.DataFrame) -> pd.DataFrame:
    """One ``Content`` node per hash, its source ids the union over the hash's records."""
    if content.empty:
        return pd.DataFrame({"content_hash": [], "source_ids": []})
    ex = content[["content_hash", "source_ids"]].explode("source_ids").dropna()
    ex = ex.drop_duplicates().sort_values(["content_hash", "source_ids"], kind="stable")
    return ex.groupby("content_hash", sort=True)["source_ids"].agg(list).reset_index()


def write_import_files(tables: dict[str, pd.DataFrame], out: Path) -> tuple[list[str], int, int]:
    """Write the importer's header and data files for the merged ``tables`` into ``out``.

    Returns the ``neo4j-admin`` arguments naming them (``--nodes=…``, ``--relationships=…``,
    ``--array-delimiter=…``) and the node and relationship counts.
    """
    import duckdb

    delim = _array_delimiter(tables)
    con = duckdb.connect()
    args: list[str] = []
    nodes = rels = 0
    plan: list[tuple[str, str, pd.DataFrame]] = []
    for table in (*NODE_TABLES, *RECORD_TABLES):
        plan.append(("nodes", table, tables[table]))
    content = tables.get("content")
    for table in IMPORT_EDGE_TABLES:
        plan.append(("relationships", table, tables[table]))
    try:
        for kind, table, frame in plan:
            if frame is None or frame.empty:
                continue
            header, cols, name = import_headers(table)
            frame = frame.reindex(columns=cols).copy()
            for col in OPTIONAL_KEY_COLUMNS.get(table, ()):  # identity properties: '' for none
                frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
            _write_csv(con, frame, table, cols, out / f"{table}.csv", delim)
            (out / f"{table}.header.csv").write_text(header + "\n", encoding="utf-8")
            args.append(f"--{kind}={name}={out / f'{table}.header.csv'},{out / f'{table}.csv'}")
            if kind == "nodes":
                nodes += len(frame)
            else:
                rels += len(frame)
        if content is not None and len(content):
            hashes = _content_nodes(content)
            header = "content_hash:ID(Content),source_ids:string[]"
            _write_csv(con, hashes, "content", ["content_hash", "source_ids"],
                       out / "content_nodes.csv", delim)  # fmt: skip
            (out / "content_nodes.header.csv").write_text(header + "\n", encoding="utf-8")
            args.append(
                f"--nodes=Content={out / 'content_nodes.header.csv'},{out / 'content_nodes.csv'}"
            )
            nodes += len(hashes)
    finally:
        con.close()
    args.append(f"--array-delimiter={delim}")
    return args, nodes, rels


def _write_csv(con: Any, frame: pd.DataFrame, table: str, cols: list[str], path: Path, delim: str):
    """``frame`` as importer CSV: text quoted (``""`` an empty string), a missing value an empty
    unquoted field, arrays joined on ``delim``, booleans ``true``/``false``."""
    from graphintel.store.cypher import ident

    data = frame.reindex(columns=cols)
    kinds = {c: ("string" if c == "content_hash" else _kind(table, c)) for c in cols}
    if "source_ids" in data:
        data = data.assign(source_ids=[delim.join(map(str, v)) for v in data["source_ids"]])
    for c, k in kinds.items():
        if k in ("string", "string[]"):
            s = data[c].astype(object)
            data[c] = s.where(s.notna(), None)
        elif k == "double":
            data[c] = pd.to_numeric(data[c], errors="coerce").astype("float64")
        elif k == "boolean":
            data[c] = data[c].astype("boolean")
    con.register("import_frame", data)
    quoted = [c for c, k in kinds.items() if k in ("string", "string[]")]
    select = ", ".join(ident(c) for c in cols)
    force = f", FORCE_QUOTE ({', '.join(ident(c) for c in quoted)})" if quoted else ""
    target = str(path).replace("'", "''")  # a path we chose (a temporary folder), not data
    con.execute(
        f"COPY (SELECT {select} FROM import_frame) TO '{target}' "
        f"(FORMAT csv, HEADER false, DELIMITER ',', QUOTE '\"', ESCAPE '\"'{force})"
    )
    con.unregister("import_frame")


def _merged_tables(bundles: list[Any], merge: Any) -> dict[str, pd.DataFrame]:
    """The bundles' tables merged with the ingest rule; one bundle needs no merge (its keys are
    unique once validated), only its source id on every record."""
    if len(bundles) > 1:
        return merge([(str(b.source["source_id"]), b.tables) for b in bundles])
    sid = str(bundles[0].source["source_id"])
    return {t: f.assign(source_ids=[[sid]] * len(f)) for t, f in bundles[0].tables.items()}


def _run_admin_import(settings: Settings, home: Path, args: list[str], report_file: Path) -> str:
    from graphintel import neo4j_server as ns

    lib = ns.ensure_jars(settings, quiet=True)
    java = ns.find_java(settings)
    env = {**ns.os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")}
    argv = [
        str(java),
        "-Xmx1g",
        "-cp",
        f"{lib}/*",
        ns.ADMIN_CLASS,
        "database",
        "import",
        "full",
        "neo4j",
        "--overwrite-destination=true",
        "--multiline-fields=true",
        "--id-type=string",
        "--max-off-heap-memory=25%",
        f"--report-file={report_file}",
        *args,
    ]
    proc = subprocess.run(
        argv, cwd=home, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()[-2000:]
        raise Neo4jSetupError(
            f"neo4j-admin database import failed for {home} (exit status {proc.returncode}); "
            f"the database is left empty. It said: {said}"
        )
    return proc.stdout


def _empty_database(home: Path) -> None:
    """Remove the ``neo4j`` database's files so the server creates it empty on start."""
    for sub in ("databases", "transactions"):
        shutil.rmtree(home / "data" / sub / "neo4j", ignore_errors=True)


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
    from graphintel.retraction import save_source_copy
    from graphintel.scope import merge_source_rows
    from graphintel.store.base import check_provenance
    from graphintel.store.neo4j_store import Neo4jStore
    from ingest.job import prepare_bundle
    from ingest.manifest import load_manifest

    path = ns._home(settings, home)
    info = ns.status(settings, home=path)
    if info is None:
        raise Neo4jSetupError(
            f"no graphintel Neo4j server is running in {path}: start it with `graphintel neo4j "
            f"start --home {path}` (a bulk import fills the empty database of that server)"
        )
    report = BulkImportReport(home=str(path))
    started = time.perf_counter()
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
        for m in manifests:
            manifest = load_manifest(m)
            fields = {"source_id": manifest.source_id, **manifest.provenance()}
            check_provenance(known, fields)
            known = pd.concat([known, pd.DataFrame([fields])], ignore_index=True)
            bundle, part = prepare_bundle(manifest, settings)
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
        merged = _merged_tables(bundles, merge_source_rows)
        work = Path(tempfile.mkdtemp(prefix="graphintel-import-", dir=path / "import"))
        try:
            args, report.nodes, report.relationships = write_import_files(merged, work)
            report.seconds["files"] = time.perf_counter() - t
            t = time.perf_counter()
            store.close()
            state = ns._read_state(path)
            ns.stop(settings, home=path)
            try:
                _run_admin_import(settings, path, args, work / "import.report")
            except Neo4jSetupError:
                _empty_database(path)
                raise
            finally:
                info = ns.start(
                    settings,
                    home=path,
                    port=int(state.get("port") or info.port),
                    heap=state.get("heap"),
                    pagecache=state.get("pagecache"),
                    tx_memory=state.get("tx_memory"),
                )
            report.seconds["neo4j-admin"] = time.perf_counter() - t
        finally:
            shutil.rmtree(work, ignore_errors=True)
        t = time.perf_counter()
        store = Neo4jStore(info.uri, info.username, info.password)
        store.ensure_schema()
        for bundle in bundles:
            store.write_bundle_extras(bundle)
            save_source_copy(store, bundle)
        report.seconds["bolt"] = time.perf_counter() - t
    finally:
        store.close()
    return report


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
