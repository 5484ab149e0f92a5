"""The embedded store: one DuckDB file, no server.

Tables mirror the canonical tables in stored form (:func:`graphintel.model.table_columns`), plus
``sources`` and one ``result_<name>`` table per analytics result. All SQL lives in this module;
identifiers come only from the model's allow-list and every value travels as a parameter or as a
registered Arrow/pandas relation, never as text spliced into SQL.

Merging a bundle is two bulk statements per table (``UPDATE … FROM`` the staged rows that match a
key, then ``INSERT`` of the rest): no Python loop over rows.

Readers and writers side by side
--------------------------------
A writer never works on the file readers use. Opening a store file for writing takes the writer
lock (``PATH.lock``, ``flock``; a second writer waits up to ``lock_timeout`` seconds, then gets
a clear error), copies the file to ``PATH.writing-<pid>`` and writes there; :meth:`close`
publishes it with one atomic ``os.replace`` (nothing is published when nothing was written, and
:meth:`abort` — or leaving a ``with`` block on an exception — throws the copy away). Readers (the
dashboard, :class:`graphintel.store.duckdb_queries.DuckDBReader`) hold the old file open and
switch to the new one on their next query: they see one generation or the next, never a mix,
and a writer is never blocked by them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphintel.errors import StoreUnavailable, clip
from graphintel.model import (
    CASE_TABLES,
    COUNT_KEYS,
    NODE_TABLES,
    TABLES,
)
from graphintel.store.base import (
    CANDIDATE_COLUMNS,
    RETRACTION_COLUMNS,
    SOURCE_COLUMNS,
    Bundle,
    case_spec,
    check_provenance,
    checked_columns,
    restore_optional_keys,
    result_columns,
)

__all__ = ["DuckDBStore"]

_SQL_TYPES = {
    "id": "VARCHAR",
    "str": "VARCHAR",
    "ts": "VARCHAR",
    "bool": "BOOLEAN",
    "float": "DOUBLE",
    "list": "VARCHAR[]",
}

# The alert rules (graphintel.model.ALERT_RULES), set-wise over the whole store; columns
# graphintel.store.base.CANDIDATE_COLUMNS. A watched account is matched by account id, phone token
# or handle (case-insensitive, leading '@' ignored).
_ALERT_CANDIDATES_SQL = """
WITH wa AS (
    SELECT value, lower(ltrim(value, '@')) AS handle_key FROM watchlist WHERE kind = 'account'
), acc AS (
    SELECT a.account_id, wa.value AS watch_value FROM accounts a JOIN wa ON a.account_id = wa.value
    UNION
    SELECT a.account_id, wa.value FROM accounts a JOIN wa ON a.phone_token = wa.value
    UNION
    SELECT a.account_id, wa.value FROM accounts a
    JOIN wa ON lower(ltrim(a.handle, '@')) = wa.handle_key
)
SELECT 'watched_org_targeted' AS rule, '' AS activity, t.channel_id, t.org_id,
       NULL AS account_id, NULL AS other_account_id, NULL AS content_hash,
       t.first_reported AS observed_at, 'org' AS watch_kind, w.value AS watch_value, t.source_ids
FROM targets t JOIN watchlist w ON w.kind = 'org' AND t.org_id = w.value
UNION ALL
SELECT 'watched_account', 'created', c.channel_id, NULL, acc.account_id, NULL, NULL,
       c.created_at, 'account', acc.watch_value, c.source_ids
FROM channels c JOIN acc ON c.creator_id = acc.account_id
UNION ALL
SELECT 'watched_account',
       CASE WHEN m.role IN ('admin', 'owner') THEN 'administers' ELSE 'joined' END,
       m.channel_id, NULL, acc.account_id, NULL, NULL, m.joined_at, 'account', acc.watch_value,
       m.source_ids
FROM memberships m JOIN acc ON m.account_id = acc.account_id
UNION ALL
SELECT 'watched_account', 'paid', x.channel_id, NULL, acc.account_id, x.to_id, NULL, min(x.ts),
       'account', acc.watch_value, flatten(list(x.source_ids))
FROM transactions x JOIN acc ON x.from_id = acc.account_id
GROUP BY acc.account_id, acc.watch_value, x.to_id, x.channel_id
UNION ALL
SELECT 'watched_account', 'was_paid', x.channel_id, NULL, acc.account_id, x.from_id, NULL,
       min(x.ts), 'account', acc.watch_value, flatten(list(x.source_ids))
FROM transactions x JOIN acc ON x.to_id = acc.account_id
GROUP BY acc.account_id, acc.watch_value, x.from_id, x.channel_id
UNION ALL
SELECT 'watched_hash_posted', '', p.channel_id, NULL, p.poster_id, NULL, p.content_hash,
       p.posted_at, 'hash', w.value, p.source_ids
FROM content p JOIN watchlist w ON w.kind = 'hash' AND p.content_hash = w.value
UNION ALL
SELECT 'takedown_reappearance', '', p.channel_id, NULL, any_value(p.poster_id), NULL,
       p.content_hash, any_value(p.posted_at), NULL, NULL,
       flatten(list(t.source_ids)) || any_value(p.source_ids)
FROM content p JOIN takedowns t ON t.content_hash = p.content_hash AND t.status = 'confirmed'
 AND t.confirmed_at IS NOT NULL AND p.posted_at > t.confirmed_at
GROUP BY p.content_hash, p.channel_id
UNION ALL
SELECT 'watched_keyword_title', '', c.channel_id, NULL, NULL, NULL, NULL, c.created_at,
       'keyword', w.value, c.source_ids
FROM channels c JOIN watchlist w ON w.kind = 'keyword' AND c.title IS NOT NULL
 AND contains(lower(c.title), lower(w.value))
"""


def _column_types(table: str) -> dict[str, str]:
    spec = TABLES[table]
    types: dict[str, str] = {}
    for col in spec.columns:
        types["phone_token" if col.pii else col.name] = _SQL_TYPES[col.type]
    if table in NODE_TABLES:
        types["inferred"] = "BOOLEAN"
    types["evidence"] = "VARCHAR"
    types["source_ids"] = "VARCHAR[]"
    return types


def _q(identifier: str) -> str:
    """Quote an identifier that comes from the model's allow-list."""
    return '"' + identifier.replace('"', '""') + '"'


class DuckDBStore:
    """Graph store in one DuckDB file.

    Parameters
    ----------
    path : str or Path
        Database file; its folder is created on first use. ``":memory:"`` for a throw-away store.
    read_only : bool
        Open without write access (several readers may share the file).
    lock_timeout : float
        Seconds a writer waits for another writer of the same file to finish.
    config : dict, optional
        DuckDB connection options (``memory_limit``, ``temp_directory``, ``threads``), from
        :attr:`graphintel.config.Settings.duckdb_config`.

    Notes
    -----
    The constructor does no I/O; the connection opens on first use. Call :meth:`close` when done
    (for a writer: publishes what was written; see the module notes).
    """

    accepts_arrow = True
    """``write_bundle`` takes Arrow tables too (ingest's fast path, :mod:`ingest.fast`)."""

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        lock_timeout: float = 600.0,
        config: dict[str, Any] | None = None,
    ):
        self.path = str(path)
        self.config = dict(config or {})
        self.read_only = read_only
        self.lock_timeout = float(lock_timeout)
        self.uri = f"duckdb:{self.path}"
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock_fd: int | None = None
        self._working: str | None = None
        self._dirty = False
        self._in_transaction = False

    # -- connection -------------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self.path != ":memory:":
                if self.read_only and not Path(self.path).exists():
                    raise StoreUnavailable(
                        f"the store {self.path} does not exist yet: run `graphintel ingest "
                        "MANIFEST` (or `make demo`) first"
                    )
                if not self.read_only:
                    self.check_writable()
                try:
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as err:
                    raise StoreUnavailable(
                        f"cannot create the folder of the DuckDB store {self.path}: {err.strerror}"
                    ) from err
            target = self.path
            if not self.read_only and self.path != ":memory:":
                target = self._start_writing()
            try:
                self._con = duckdb.connect(target, read_only=self.read_only, config=self.config)
            except duckdb.IOException as err:
                self._stop_writing(publish=False)
                raise StoreUnavailable(
                    f"cannot open the DuckDB store {self.path}: {clip(err, 300)}. Another "
                    "graphintel process "
                    "(ingest, analyze or the dashboard) may hold it open for writing; stop it and "
                    "try again"
                ) from err
            try:
                # DuckDB's allocator keeps the buffers of fetched results once freed (a whole
                # table read, at analyze) unless its background threads purge them
                self._con.execute("SET allocator_background_threads = true")
            except duckdb.Error:  # a DuckDB without the setting: memory is only kept longer
                pass
        return self._con

    def check_writable(self) -> None:
        """Refuse a store location that cannot be written, before anything is read or written.

        The file may not exist yet (it is created on the first write), but then its nearest
        existing ancestor must be a writable folder; an existing path must be a writable file.

        Raises
        ------
        StoreUnavailable
            The path is a folder or not a regular file, a parent is a file, or a permission is
            missing.
        """
        if self.path == ":memory:":
            return
        path = Path(self.path)
        where = f"the DuckDB store {self.path}"
        if path.exists():
            if path.is_dir():
                raise StoreUnavailable(
                    f"{where} is a folder: give a file, e.g. duckdb:DIR/graph.duckdb"
                )
            if not path.is_file():
                raise StoreUnavailable(f"{where} is not a regular file")
            if not os.access(path, os.R_OK | os.W_OK):
                raise StoreUnavailable(f"{where} is not writable (permissions)")
            return
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise StoreUnavailable(f"{where} cannot be created: {parent} is a file, not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreUnavailable(
                f"{where} cannot be created: the folder {parent} is not writable (permissions)"
            )

    def _start_writing(self) -> str:
        """Take the writer lock and copy the published file to this writer's working copy."""
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as err:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreUnavailable(
                        f"another graphintel process (ingest or analyze) has been writing "
                        f"{self.path} for more than {self.lock_timeout:.0f} s: wait for it to "
                        "finish and try again"
                    ) from err
                time.sleep(0.2)
        self._lock_fd = fd
        working = f"{self.path}.writing-{os.getpid()}"
        for stale in (working, working + ".wal"):
            if os.path.exists(stale):
                os.remove(stale)
        self._working = working
        if os.path.exists(self.path):
            try:
                shutil.copyfile(self.path, working)
                shutil.copymode(self.path, working)  # a published file keeps its permissions
                if os.path.exists(self.path + ".wal"):
                    shutil.copyfile(self.path + ".wal", working + ".wal")
            except BaseException:  # a full disk: no partial copy left behind, the lock released
                self._stop_writing(publish=False)
                raise
        return working

    def _stop_writing(self, *, publish: bool) -> None:
        working, self._working = self._working, None
        try:
            if working is not None:
                if publish and os.path.exists(working):
                    os.replace(working, self.path)
                    if os.path.exists(self.path + ".wal"):
                        os.remove(self.path + ".wal")  # belongs to the replaced generation
                else:
                    for f in (working, working + ".wal"):
                        if os.path.exists(f):
                            os.remove(f)
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None

    def close(self) -> None:
        """Close the connection; a writer publishes what it wrote (one atomic rename)."""
        if self._con is not None:
            self._con.close()
            self._con = None
            self._stop_writing(publish=self._dirty)
            self._dirty = False

    def abort(self) -> None:
        """Close without publishing: readers keep the last published generation."""
        if self._con is not None:
            self._con.close()
            self._con = None
            self._stop_writing(publish=False)
            self._dirty = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        return f"DuckDBStore({self.path!r})"

    # -- schema -----------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        if self.read_only:
            return
        con = self.con
        self._dirty = True
        for table in TABLES:
            cols = ", ".join(f"{_q(c)} {t}" for c, t in _column_types(table).items())
            con.execute(f"CREATE TABLE IF NOT EXISTS {_q(table)} ({cols})")
        con.execute(
            "CREATE TABLE IF NOT EXISTS sources (source_id VARCHAR, case_id VARCHAR, "
            "method VARCHAR, legal_basis VARCHAR, collected_at VARCHAR, collected_by VARCHAR, "
            "files VARCHAR[], file_hashes VARCHAR[], ingested_at VARCHAR)"
        )
        for name, spec in CASE_TABLES.items():
            cols = ", ".join(f"{_q(c)} {_SQL_TYPES[t]}" for c, t in spec.columns)
            con.execute(f"CREATE TABLE IF NOT EXISTS {_q(name)} ({cols})")

    def _has_table(self, name: str) -> bool:
        rows = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()
        return bool(rows[0][0])

    # -- writing ----------------------------------------------------------------------------
    def known_file_hashes(self) -> set[str]:
        if not self._exists_or_empty("sources"):
            return set()
        rows = self.con.execute("SELECT DISTINCT unnest(file_hashes) FROM sources").fetchall()
        return {r[0] for r in rows}

    def write_bundle(
        self, bundle: Bundle, *, progress: bool = False, release: bool = False
    ) -> dict[str, int]:
        """Merge ``bundle`` (see :class:`~graphintel.store.base.GraphStore`).

        ``release``: drop each table from ``bundle.tables`` once merged (its memory is freed
        while the next one is written; ingest's fast path, which has its copies encoded).
        """
        check_provenance(self.sources(), bundle.source)  # provenance is written once
        self.ensure_schema()
        con = self.con
        self._dirty = True
        source_id = bundle.source["source_id"]
        written: dict[str, int] = {}
        outer = self._in_transaction
        if not outer:
            con.execute("BEGIN TRANSACTION")
        try:
            for table in TABLES:
                frame = bundle.tables.get(table)
                if frame is None or not len(frame):
                    written[table] = 0
                    continue
                self._merge(table, frame, source_id)
                written[table] = len(frame)
                if release:
                    # a new empty table: a zero-length slice would keep the buffers alive
                    empty = (
                        frame.iloc[:0].copy()
                        if isinstance(frame, pd.DataFrame)
                        else frame.schema.empty_table()
                    )
                    bundle.tables[table] = empty
                    del frame
            self._merge_source(bundle.source)
            written["sources"] = 1
            if not outer:
                con.execute("COMMIT")
        except Exception:
            if not outer:
                con.execute("ROLLBACK")
            raise
        return written

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside (``write_bundle`` included) commits or rolls back as one."""
        self.ensure_schema()
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self._in_transaction = False

    def _merge(self, table: str, frame: pd.DataFrame, source_id: str) -> None:
        types = _column_types(table)
        key = list(TABLES[table].key)
        cols = [c for c in types if c != "source_ids"]
        # pandas frames (retraction, the exact path) or Arrow tables (the fast path)
        if isinstance(frame, pd.DataFrame):
            staged = frame.reindex(columns=cols)
        else:
            staged = frame.select(cols)
        con = self.con
        casts = ", ".join(f"CAST({_q(c)} AS {types[c]}) AS {_q(c)}" for c in cols)
        col_list = ", ".join(_q(c) for c in cols)
        empty = con.execute(f"SELECT count(*) = 0 FROM {_q(table)}").fetchall()[0][0]
        con.register("staged_frame", staged)
        try:
            if empty:  # first load: one bulk insert, nothing to merge with
                con.execute(
                    f"INSERT INTO {_q(table)} ({col_list}, source_ids) "
                    f"SELECT {casts}, [$sid] FROM staged_frame",
                    {"sid": source_id},
                )
                return
            con.execute(f"CREATE OR REPLACE TEMP TABLE staged AS SELECT {casts} FROM staged_frame")
        finally:
            con.unregister("staged_frame")
        on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in key)
        sets = []
        for c in cols:
            if c in key:
                continue
            if c == "inferred":
                sets.append('"inferred" = t."inferred" AND s."inferred"')
            else:
                sets.append(f"{_q(c)} = coalesce(s.{_q(c)}, t.{_q(c)})")
        sets.append('"source_ids" = list_sort(list_distinct(list_append(t."source_ids", $sid)))')
        con.execute(
            f"UPDATE {_q(table)} AS t SET {', '.join(sets)} FROM staged AS s WHERE {on}",
            {"sid": source_id},
        )
        s_cols = ", ".join(f"s.{_q(c)}" for c in cols)
        con.execute(
            f"INSERT INTO {_q(table)} ({col_list}, source_ids) SELECT {s_cols}, [$sid] "
            f"FROM staged AS s WHERE NOT EXISTS (SELECT 1 FROM {_q(table)} AS t WHERE {on})",
            {"sid": source_id},
        )
        con.execute("DROP TABLE staged")

    def _merge_source(self, source: dict[str, Any]) -> None:
        values = [source.get(c) for c in SOURCE_COLUMNS]
        con = self.con
        found = con.execute(
            "SELECT files, file_hashes FROM sources WHERE source_id = ?", [source["source_id"]]
        ).fetchall()
        existing = found[0] if found else None
        if existing is None:
            con.execute(
                f"INSERT INTO sources VALUES ({', '.join('?' for _ in SOURCE_COLUMNS)})", values
            )
            return
        files = sorted(set(existing[0] or []) | set(source.get("files") or []))
        hashes = sorted(set(existing[1] or []) | set(source.get("file_hashes") or []))
        con.execute(
            "UPDATE sources SET case_id = ?, method = ?, legal_basis = ?, collected_at = ?, "
            "collected_by = ?, files = ?, file_hashes = ?, ingested_at = ? WHERE source_id = ?",
            [
                source.get("case_id"),
                source.get("method"),
                source.get("legal_basis"),
                source.get("collected_at"),
                source.get("collected_by"),
                files,
                hashes,
                source.get("ingested_at"),
                source["source_id"],
            ],
        )

    # -- reading ----------------------------------------------------------------------------
    def table(
        self,
        name: str,
        *,
        columns: list[str] | None = None,
        where: dict[str, list[Any]] | None = None,
    ) -> pd.DataFrame:
        cols = checked_columns(name, columns, where)
        if not self._exists_or_empty(name):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        sql = f"SELECT {', '.join(_q(c) for c in cols)} FROM {_q(name)}"
        params: dict[str, Any] = {}
        if where:
            clauses = []
            for i, (col, values) in enumerate(where.items()):
                clauses.append(f"{_q(col)} IN (SELECT unnest($v{i}))")
                params[f"v{i}"] = [None if v is None else str(v) for v in values]
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY " + ", ".join(_q(k) for k in TABLES[name].key)
        frame = _arrow_frame(self.con.sql(sql, params=params).to_arrow_table())
        return restore_optional_keys(name, frame)

    def _exists_or_empty(self, name: str) -> bool:
        if self.read_only or self._con is not None or Path(self.path).exists():
            return self._has_table(name)
        return False

    def sources(self) -> pd.DataFrame:
        if not self._exists_or_empty("sources"):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in SOURCE_COLUMNS})
        return self.con.execute("SELECT * FROM sources ORDER BY source_id").df()

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(COUNT_KEYS, 0)
        for key in COUNT_KEYS:
            if not self._exists_or_empty(key):
                continue
            if key == "content":
                sql = "SELECT count(DISTINCT content_hash) FROM content"
            else:
                sql = f"SELECT count(*) FROM {_q(key)}"
            out[key] = int(self.con.execute(sql).fetchall()[0][0])
        return out

    # -- case tables: watch list and alerts -------------------------------------------------------
    def case_table(self, name: str) -> pd.DataFrame:
        spec = case_spec(name)
        cols = spec.column_names
        if not self._exists_or_empty(name):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        sql = f"SELECT {', '.join(_q(c) for c in cols)} FROM {_q(name)}"
        sql += " ORDER BY " + ", ".join(_q(k) for k in spec.key)
        return self.con.execute(sql).df()

    def write_case_rows(self, name: str, frame: pd.DataFrame, *, replace: bool = False) -> int:
        spec = case_spec(name)
        self.ensure_schema()
        types = dict(spec.columns)
        cols = spec.column_names
        staged = frame.reindex(columns=cols).astype(object)
        staged = staged.where(staged.notna(), None)
        casts = ", ".join(f"CAST({_q(c)} AS {_SQL_TYPES[types[c]]}) AS {_q(c)}" for c in cols)
        on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in spec.key)
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.register("case_frame", staged)
            try:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE staged AS SELECT {casts} FROM case_frame"
                )
            finally:
                con.unregister("case_frame")
            if replace:
                con.execute(f"DELETE FROM {_q(name)} AS t USING staged AS s WHERE {on}")
            before = con.execute(f"SELECT count(*) FROM {_q(name)}").fetchall()[0][0]
            con.execute(
                f"INSERT INTO {_q(name)} SELECT {', '.join('s.' + _q(c) for c in cols)} "
                f"FROM staged AS s WHERE NOT EXISTS (SELECT 1 FROM {_q(name)} AS t WHERE {on})"
            )
            after = con.execute(f"SELECT count(*) FROM {_q(name)}").fetchall()[0][0]
            con.execute("DROP TABLE staged")
            con.execute("COMMIT")
            self._dirty = True
        except Exception:
            con.execute("ROLLBACK")
            raise
        return int(after - before)

    def delete_case_rows(self, name: str, keys: pd.DataFrame) -> int:
        spec = case_spec(name)
        if not self._exists_or_empty(name) or keys.empty:
            return 0
        staged = keys.reindex(columns=list(spec.key)).astype(str)
        on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in spec.key)
        con = self.con
        con.register("case_keys", staged)
        try:
            found = con.execute(
                f"SELECT count(*) FROM {_q(name)} AS t WHERE EXISTS "
                f"(SELECT 1 FROM case_keys AS s WHERE {on})"
            ).fetchall()[0][0]
            con.execute(f"DELETE FROM {_q(name)} AS t USING case_keys AS s WHERE {on}")
            self._dirty = True
        finally:
            con.unregister("case_keys")
        return int(found)

    def alert_candidates(self) -> pd.DataFrame:
        if self.read_only:
            names = ["watchlist", "takedowns", *TABLES]
            if not all(self._exists_or_empty(n) for n in names):
                return pd.DataFrame({c: pd.Series(dtype=object) for c in CANDIDATE_COLUMNS})
        else:
            self.ensure_schema()
        frame = self.con.execute(_ALERT_CANDIDATES_SQL).df()
        frame.columns = list(CANDIDATE_COLUMNS)
        return frame

    # -- analytics results --------------------------------------------------------------------
    def write_results(self, name: str, frame: pd.DataFrame) -> None:
        cols = list(result_columns(name))
        staged = _json_safe(frame.reindex(columns=cols))
        try:  # Arrow scans far faster than pandas object columns (lists of str above all)
            relation: Any = pa.Table.from_pandas(staged, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError):
            relation = staged  # e.g. mixed types in a column: DuckDB's pandas scan copes
        con = self.con
        self._dirty = True
        con.register("result_frame", relation)
        try:
            con.execute(
                f"CREATE OR REPLACE TABLE {_q('result_' + name)} AS SELECT * FROM result_frame"
            )
        finally:
            con.unregister("result_frame")

    def results(self, name: str) -> pd.DataFrame:
        cols = list(result_columns(name))
        if not self._exists_or_empty("result_" + name):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        return _arrow_frame(self.con.sql(f"SELECT * FROM {_q('result_' + name)}").to_arrow_table())

    # -- legal controls: audit head, per-source copies, retraction ------------------------------
    def _may_write(self) -> bool:
        if self.read_only:
            return False
        return self._con is not None or self.path == ":memory:" or Path(self.path).exists()

    def _head_file(self):
        from graphintel.audit import HeadFile

        return HeadFile(self.path)

    def record_audit_head(self, seq: int, digest: str, chain: str | None = None) -> None:
        """Record the audit log's last entry as the head of ``chain`` (kept only if newer than
        the one recorded for that chain; ``chain`` ``None``: the legacy, unkeyed head).

        A writer that has written the store (it publishes a new generation anyway) records it
        in table ``audit_head`` (one row per chain); a store only read — opened read-only, or
        a writer that wrote nothing — records it in the side file ``PATH.audit-head``
        (:class:`graphintel.audit.HeadFile`), so reading never copies and republishes the
        store. A store not created yet records nothing.
        """
        if self.path == ":memory:" or (not self.read_only and self._dirty):
            if not self._may_write():
                return
            con = self.con
            self._dirty = True
            con.execute("CREATE TABLE IF NOT EXISTS audit_head (seq BIGINT, hash VARCHAR)")
            con.execute("ALTER TABLE audit_head ADD COLUMN IF NOT EXISTS chain VARCHAR")
            params = {"seq": int(seq), "hash": str(digest), "chain": chain}
            con.execute(
                "INSERT INTO audit_head (seq, hash, chain) SELECT $seq, $hash, $chain "
                "WHERE NOT EXISTS (SELECT 1 FROM audit_head WHERE seq >= $seq "
                "AND chain IS NOT DISTINCT FROM $chain)",
                params,
            )
            con.execute(
                "DELETE FROM audit_head WHERE chain IS NOT DISTINCT FROM $chain AND seq < "
                "(SELECT max(seq) FROM audit_head WHERE chain IS NOT DISTINCT FROM $chain)",
                {"chain": chain},
            )
            return
        if Path(self.path).exists():
            self._head_file().record_audit_head(seq, digest, chain=chain)

    def audit_heads(self) -> list[tuple[str, int, str, str | None]]:
        """Every head recorded for this store, as ``(where, seq, hash, chain)``: the table's
        (``where`` = the store URI), one per chain, then the side file's (its path). ``chain``
        is ``None`` for a legacy head (recorded before heads were keyed by chain id)."""
        heads: list[tuple[str, int, str, str | None]] = []
        if self._exists_or_empty("audit_head"):
            cols = {
                r[0]
                for r in self.con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'audit_head'"
                ).fetchall()
            }
            chain = "chain" if "chain" in cols else "NULL::VARCHAR"
            rows = self.con.execute(
                f"SELECT {chain} AS chain, max(seq) AS seq, arg_max(hash, seq) AS hash "
                "FROM audit_head GROUP BY 1 ORDER BY 2, 1"
            ).fetchall()
            heads += [(self.uri, int(r[1]), str(r[2]), r[0]) for r in rows]
        if self.path != ":memory:":
            side = self._head_file()
            for c, (seq, digest) in sorted(side.heads().items(), key=lambda kv: kv[1]):
                heads.append((str(side.path), seq, digest, c))
        return heads

    def audit_head(self, chain: str | None = None) -> tuple[int, str] | None:
        """The newest audit entry recorded for this store (table or side file) as ``(seq,
        hash)``: of ``chain`` when given, else of any chain; ``None`` when none."""
        heads = [h for h in self.audit_heads() if chain is None or h[3] == chain]
        if not heads:
            return None
        _, seq, digest, _ = max(heads, key=lambda h: h[1])
        return seq, digest

    def write_source_copy(
        self, source_id: str, batch: str, order: int, blobs: list[tuple[str, int, bytes]]
    ) -> None:
        """Keep a source's validated rows (``(table, part, parquet bytes)``) for retraction;
        a batch written again replaces its earlier copy."""
        con = self.con
        self._dirty = True
        con.execute(
            "CREATE TABLE IF NOT EXISTS source_copies (source_id VARCHAR, batch VARCHAR, "
            "ord BIGINT, tbl VARCHAR, part INTEGER, data BLOB)"
        )
        con.execute(
            "DELETE FROM source_copies WHERE source_id = ? AND batch = ?", [source_id, batch]
        )
        if blobs:
            con.executemany(
                "INSERT INTO source_copies VALUES (?, ?, ?, ?, ?, ?)",
                [[source_id, batch, int(order), t, int(p), d] for t, p, d in blobs],
            )

    def source_copies(self) -> list[tuple[str, str, int, str, int, bytes]]:
        """Every kept copy: ``(source_id, batch, order, table, part, data)`` in ingest order."""
        if not self._exists_or_empty("source_copies"):
            return []
        rows = self.con.execute(
            "SELECT source_id, batch, ord, tbl, part, data FROM source_copies "
            "ORDER BY ord, source_id, batch, tbl, part"
        ).fetchall()
        return [(r[0], r[1], int(r[2]), r[3], int(r[4]), bytes(r[5])) for r in rows]

    def delete_source_copies(self, source_id: str) -> None:
        if self._exists_or_empty("source_copies"):
            self._dirty = True
            self.con.execute("DELETE FROM source_copies WHERE source_id = ?", [source_id])

    def drop_records(
        self, removed: dict[str, pd.DataFrame], reset: dict[str, pd.DataFrame]
    ) -> None:
        """Delete the records with the given keys (``removed``: gone for good; ``reset``: to be
        merged again from the remaining sources' copies — here both are simply deleted).

        Frames hold each table's key columns (``forwards``: the channel pair; ``content``: the
        hash), optional key columns as stored (``''`` for missing).
        """
        con = self.con
        self._dirty = True
        for table in TABLES:
            frames = [f for f in (removed.get(table), reset.get(table)) if f is not None]
            frames = [f for f in frames if len(f)]
            if not frames:
                continue
            keys = pd.concat(frames, ignore_index=True)
            cols = list(keys.columns)
            con.register("dropped_keys", keys.astype(object))
            try:
                on = " AND ".join(f"t.{_q(c)} = CAST(k.{_q(c)} AS VARCHAR)" for c in cols)
                con.execute(
                    f"DELETE FROM {_q(table)} AS t WHERE EXISTS "
                    f"(SELECT 1 FROM dropped_keys AS k WHERE {on})"
                )
            finally:
                con.unregister("dropped_keys")

    def record_retraction(self, source_id: str, info: dict[str, Any]) -> None:
        """Mark a source retracted (its Source row stays as the tombstone)."""
        con = self.con
        self._dirty = True
        con.execute(
            "CREATE TABLE IF NOT EXISTS retractions (source_id VARCHAR, retracted_at VARCHAR, "
            "retracted_by VARCHAR, reason VARCHAR, records_removed BIGINT, "
            "records_changed BIGINT)"
        )
        con.execute(
            "INSERT INTO retractions VALUES (?, ?, ?, ?, ?, ?)",
            [
                source_id,
                info["retracted_at"],
                info["retracted_by"],
                info["reason"],
                int(info["records_removed"]),
                int(info["records_changed"]),
            ],
        )

    def retractions(self) -> pd.DataFrame:
        """Retracted sources: source_id, retracted_at, retracted_by, reason, records_removed,
        records_changed."""
        cols = list(RETRACTION_COLUMNS)
        if not self._exists_or_empty("retractions"):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        return self.con.execute(
            f"SELECT {', '.join(cols)} FROM retractions ORDER BY source_id"
        ).df()

    def clear(self) -> None:
        """Drop every table (tests and `--fresh` only)."""
        con = self.con
        self._dirty = True
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        for n in names:
            con.execute(f"DROP TABLE IF EXISTS {_q(n)}")


def _arrow_frame(table: pa.Table) -> pd.DataFrame:
    """A query result fetched as Arrow, as pandas with the dtypes DuckDB's ``.df()`` gives
    (``str`` columns, ``object`` for an all-null text column, ``boolean`` for a bool column with
    nulls, lists as arrays of str), at a fraction of ``.df()``'s cost on list columns.

    Rows with equal lists of str (``source_ids``: a handful of distinct lists over millions of
    rows) share one array (:func:`_shared_lists`): treat the arrays as read-only."""
    order = table.column_names
    lists = {
        field.name: _shared_lists(table.column(i))
        for i, field in enumerate(table.schema)
        if pa.types.is_list(field.type) and pa.types.is_string(field.type.value_type)
    }
    if lists:
        table = table.drop_columns(list(lists))
    frame = table.to_pandas()
    if lists:
        for name, values in lists.items():
            frame[name] = pd.Series(values, dtype=object, index=frame.index)
        frame = frame[order]
    n = table.num_rows
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_boolean(field.type) and column.null_count:
            frame[field.name] = frame[field.name].astype("boolean")
        elif (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)) and (
            column.null_count == n
        ):
            frame[field.name] = pd.Series([None] * n, dtype=object, index=frame.index)
    return frame


def _shared_lists(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A list<string> column as an object array of arrays of str (``None`` for a missing list),
    as ``to_pandas`` gives it, but one array per distinct list, shared by its rows.

    Lists are told apart by an injective text key (each element prefixed with its length, a
    missing element by ``~``), dictionary-encoded in Arrow; only the distinct lists are
    converted to Python."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(arr)
    if n == 0:
        return np.empty(0, dtype=object)
    if arr.offset:  # offsets below assume an unsliced array
        arr = pa.concat_arrays([arr])
    values = arr.values
    tagged = pc.binary_join_element_wise(pc.cast(pc.utf8_length(values), pa.string()), values, ":")
    tagged = pc.if_else(values.is_null(), "~", tagged)
    key = pc.binary_join(pa.ListArray.from_arrays(arr.offsets, tagged), "\x1f")
    if arr.null_count:
        key = pc.if_else(arr.is_null(), pa.scalar(None, pa.string()), key)
    enc = pc.dictionary_encode(key)
    k = len(enc.dictionary)
    idx = enc.indices.fill_null(k).to_numpy(zero_copy_only=False).astype(np.int64)
    codes, first = np.unique(idx, return_index=True)
    uniq = np.empty(k + 1, dtype=object)  # the last slot: a missing list
    present = codes < k
    if present.any():
        uniq[codes[present]] = list(arr.take(pa.array(first[present])).to_pandas())
    return uniq[idx]


def _json_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Give all-null or empty object columns a concrete type DuckDB can store."""
    out = frame.copy(deep=False)
    for col in out.columns:
        s = out[col]
        if s.dtype != object:
            continue
        values = s.to_numpy()
        present = pd.notna(values)
        if not present.any():  # empty or all missing
            out[col] = s.astype("string")
        elif isinstance(values[int(present.argmax())], dict):
            out[col] = s.map(lambda v: None if v is None else json.dumps(v, sort_keys=True))
    return out
