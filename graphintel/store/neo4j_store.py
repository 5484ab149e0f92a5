"""The Neo4j store: a real Neo4j 5 server over Bolt, with the official ``neo4j`` driver.

Same behaviour as :class:`graphintel.store.duckdb_store.DuckDBStore` (the contract suite runs on
both); the graph shape is described in :mod:`graphintel.store.cypher`, where all Cypher lives.

Writing a bundle
----------------
Every table is sent in batches of :attr:`Neo4jStore.bundle_batch_size` rows as ``UNWIND``-ed parameters
and merged by its key: nodes first, then relationships, then the ``Source`` node last. Batches are
grouped into transactions of at most :attr:`Neo4jStore.transaction_rows` rows, so a bundle of up
to that size (every hand-made or single-export bundle) is written all or nothing. A larger one is
written in several transactions, because one transaction holding a million changes exceeds the
server's transaction memory (``dbms.memory.transaction.total.max``; 200k rows already did with a
1 GB heap): every statement is an idempotent MERGE and the ``Source`` node (which records the
files' sha256 digests) is written last, so a write interrupted half-way leaves the bundle "not
ingested" and running the same ingest again completes it. Transient driver errors (leader
switch, deadlock, lost connection) are retried by ``session.execute_write``; data errors are not.

Reading
-------
Reads stream: the driver pulls :attr:`Neo4jStore.fetch_size` records at a time and the
statements have no ORDER BY over a whole table (rows are sorted by key here), so the server holds
one page per read, whatever the size of the table. Result tables are read in pages of rows by
their ``row`` index.

Writing analytics results
-------------------------
``write_results`` never puts a whole table in one transaction (at 100k accounts that exceeded the
default transaction memory). It writes a new *generation* of ``(:Result {table, gen, row})``
nodes batch by batch, one transaction per batch; then one small transaction points the table's
``(:ResultTable)`` node at the new generation; then the other generations are deleted in batches.
:meth:`Neo4jStore.results` reads the generation the ``ResultTable`` names, so readers see the old
table or the new one, never a mix; an interrupted write leaves the old table current (its
orphaned rows are deleted by the next write). After the switch, account and channel metrics are
also written as properties of the ``Account``/``Channel`` nodes, and each referral parent as
``(:Account)-[:REFERRED_BY {gen}]->(:Account)`` (new generation created, then the old one
deleted): Neo4j Browser, Bloom and GDS users find the analytics on the graph, as GDS's write
mode leaves them. Those graph properties follow the switch batch by batch; ``results()`` is the
atomic view.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

import numpy as np
import pandas as pd

from graphintel.errors import ConfigError, StoreError, StoreUnavailable
from graphintel.model import COUNT_KEYS, NODE_TABLES, RECORD_TABLES, TABLES
from graphintel.store import cypher
from graphintel.store.base import (
    CANDIDATE_COLUMNS,
    OPTIONAL_KEY_COLUMNS,
    RETRACTION_COLUMNS,
    SOURCE_COLUMNS,
    Bundle,
    case_spec,
    check_provenance,
    checked_columns,
    restore_optional_keys,
    result_columns,
)

__all__ = ["Neo4jStore", "forward_pairs"]

_EDGE_ORDER = ("memberships", "invites", "transactions", "targets", "content")
_METRIC_TABLES = ("account_metrics", "channel_metrics")

Step = Callable[[Any], None]


def _values(series: pd.Series) -> list[Any]:
    """Python values of a column for Bolt: missing values (None/NaN/NA) become ``None``."""
    out = series.to_numpy(dtype=object, copy=True)
    mask = series.isna().to_numpy()
    if mask.any():
        out[mask] = None
    return out.tolist()


def _columnar(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[Any]]:
    return {c: _values(frame[c]) if c in frame else [None] * len(frame) for c in columns}


def _slices(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(n, start + size)


class Neo4jStore:
    """Graph store on a Neo4j 5 server.

    Parameters
    ----------
    uri : str
        ``bolt://host:port`` or ``neo4j://host:port`` (``+s``/``+ssc`` variants too).
    username, password : str
        Credentials (``NEO4J_USERNAME`` / ``NEO4J_PASSWORD`` via :mod:`graphintel.config`).
    database : str, optional
        Database name; default the server's home database.
    batch_size : int, default 10000
        Rows per ``UNWIND`` batch (results, case rows, retractions, forwards).
    bundle_batch_size : int, default 50000
        Rows per ``UNWIND`` batch of a bundle's node, record and relationship tables: one
        statement per transaction at the default :attr:`transaction_rows` (at 10,000 the 100 k
        bundle's write took 104.7 s, at 50,000 70.4 s on the same loaded box; see README).
    transaction_rows : int, default 50000
        Bundles up to this many rows are written in one transaction.
    fetch_size : int, default 10000
        Records the server streams per page of a read (bounded memory per read).

    Notes
    -----
    The constructor does no I/O: the driver is created on first use and closed by :meth:`close`.

    Example
    -------
    >>> store = Neo4jStore("bolt://127.0.0.1:7687", "neo4j", "secret")
    >>> store
    Neo4jStore('bolt://127.0.0.1:7687')
    >>> store.close()
    """

    def __init__(
        self,
        uri: str,
        username: str | None = "neo4j",
        password: str | None = None,
        *,
        database: str | None = None,
        batch_size: int = 10_000,
        bundle_batch_size: int = 50_000,
        transaction_rows: int = 50_000,
        fetch_size: int = 10_000,
    ):
        self.uri = uri
        self.username = username or "neo4j"
        self._password = password
        self.database = database
        self.batch_size = int(batch_size)
        self.bundle_batch_size = int(bundle_batch_size)
        self.transaction_rows = int(transaction_rows)
        self.fetch_size = int(fetch_size)
        self._driver: Any = None
        self._verified = False
        self._schema_checked = False

    def __repr__(self) -> str:
        return f"Neo4jStore({self.uri!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connection ----------------------------------------------------------------------------
    @property
    def driver(self) -> Any:
        """The driver, created on first use (no connection is opened until a query runs)."""
        if self._driver is None:
            import neo4j

            auth = (self.username, self._password) if self._password is not None else None
            try:
                self._driver = neo4j.GraphDatabase.driver(
                    self.uri, auth=auth, notifications_min_severity="OFF"
                )
            except (ValueError, neo4j.exceptions.ConfigurationError) as err:
                raise ConfigError(
                    f"cannot use the Neo4j URI {self.uri!r}: {err}. Use bolt://host:port or "
                    "neo4j://host:port"
                ) from err
        return self._driver

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None
            self._verified = False

    @contextmanager
    def _session(self) -> Iterator[Any]:
        """A session; driver errors are translated into graphintel errors here, once."""
        from neo4j import exceptions as nx

        try:
            if not self._verified:  # fail fast (no 30 s of retries) when nothing listens
                self.driver.verify_connectivity()
                self._verified = True
            with self.driver.session(database=self.database, fetch_size=self.fetch_size) as session:
                yield session
        except nx.AuthError as err:
            raise StoreUnavailable(
                f"Neo4j at {self.uri} refused the credentials of user {self.username!r}: check "
                'NEO4J_USERNAME and NEO4J_PASSWORD (`eval "$(graphintel neo4j start)"` exports '
                "the local server's)"
            ) from err
        except (nx.ServiceUnavailable, nx.SessionExpired) as err:
            raise StoreUnavailable(
                f"Neo4j is not reachable at {self.uri} ({err}): start the local server with "
                '`eval "$(graphintel neo4j start)"` (it exports NEO4J_URI, NEO4J_USERNAME and '
                "NEO4J_PASSWORD), or point --store/NEO4J_URI at a running one"
            ) from err
        except nx.Neo4jError as err:
            raise StoreError(f"Neo4j at {self.uri} rejected the operation: {err}") from err

    def _read(self, query: str, **params: Any) -> tuple[list[str], list[list[Any]]]:
        """Run a read query; the records are consumed as the server streams them (pages of
        :attr:`fetch_size`), so a query without ORDER BY holds no more than one page on the
        server whatever the size of the table."""

        def work(tx: Any) -> tuple[list[str], list[list[Any]]]:
            result = tx.run(query, params)
            keys = list(result.keys())
            return keys, result.values()

        with self._session() as session:
            return session.execute_read(work)

    def _auto(self, query: str, **params: Any) -> None:
        """Run an auto-commit statement (``CALL {…} IN TRANSACTIONS`` needs one)."""
        with self._session() as session:
            session.run(query, params).consume()

    # -- schema --------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create the uniqueness constraints and indexes if missing (idempotent).

        One transaction for all of them: after a bulk import the server then fills the new
        indexes together (one scan of the nodes, one of the relationships), not one by one."""

        def work(tx: Any) -> None:
            for stmt in cypher.schema_statements():
                tx.run(stmt).consume()

        with self._session() as session:
            session.execute_write(work)

    def clear(self) -> None:
        """Delete every graphintel node and relationship (tests and ``--fresh`` only)."""
        for label in cypher.STORE_LABELS:
            self._auto(cypher.clear_relationships(label))
        for label in cypher.STORE_LABELS:
            self._auto(cypher.clear_label(label))

    # -- writing -------------------------------------------------------------------------------
    def known_file_hashes(self) -> set[str]:
        _, rows = self._read(cypher.known_file_hashes())
        return {r[0] for r in rows}

    def write_bundle(self, bundle: Bundle, *, progress: bool = False) -> dict[str, int]:
        """Merge a validated bundle (see the module notes on transactions)."""
        check_provenance(self.sources(), bundle.source)  # provenance is written once
        written: dict[str, int] = {}
        for table in TABLES:
            frame = bundle.tables.get(table)
            written[table] = 0 if frame is None else len(frame)
        self._run_steps(self._bundle_steps(bundle), progress=progress)
        written["sources"] = 1
        return written

    def write_forwards(self, bundle: Bundle) -> None:
        """Merge only ``bundle``'s ``FORWARDED_TO`` event lists: what a bulk import
        (:mod:`graphintel.neo4j_import`) leaves to Bolt when a forward has no timestamp (the
        importer cannot hold an empty string in an array)."""
        forwards = bundle.tables.get("forwards")
        if forwards is not None and len(forwards):
            self._run_steps(self._forward_steps(forwards, str(bundle.source["source_id"])),
                            progress=False)  # fmt: skip

    def node_count(self) -> int:
        """Nodes of any label in the database."""
        _, rows = self._read(cypher.count_all_nodes())
        return int(rows[0][0]) if rows else 0

    def _bundle_steps(self, bundle: Bundle) -> list[tuple[int, Step]]:
        """The write steps of ``bundle``: nodes, records, relationships, then the Source."""
        sid = str(bundle.source["source_id"])
        steps: list[tuple[int, Step]] = []
        for table in NODE_TABLES:
            frame = bundle.tables.get(table)
            if frame is not None and len(frame):
                first = not self._exists(cypher.has_label(TABLES[table].node or ""))
                stmt, cols = cypher.merge_nodes(table, create=first)
                steps += self._batches(stmt, frame, cols, sid, what=table)
        for table in RECORD_TABLES:
            frame = bundle.tables.get(table)
            if frame is not None and len(frame):
                stmt, cols = cypher.merge_records(table)
                steps += self._batches(stmt, frame, cols, sid, what=table)
        content = bundle.tables.get("content")
        if content is not None and len(content):
            hashes = content[["content_hash"]].drop_duplicates()
            stmt, cols = cypher.merge_content_nodes()
            steps += self._batches(stmt, hashes, cols, sid, what="content")
        channels = bundle.tables.get("channels")
        if channels is not None and len(channels):
            created = channels.loc[channels["creator_id"].notna(), ["channel_id", "creator_id"]]
            stmt, cols = cypher.merge_created()
            steps += self._batches(stmt, created, cols, sid, what="channels (creator_id)")
        fresh = self._new_keys(bundle)
        for table in _EDGE_ORDER:
            frame = bundle.tables.get(table)
            if frame is not None and len(frame):
                first = not self._exists(cypher.has_type(TABLES[table].rel or ""))
                new = (
                    np.ones(len(frame), dtype=bool)
                    if first
                    else self._new_rows(table, frame, fresh)
                )
                if new.any():
                    stmt, cols = cypher.merge_relationships(table, create=True)
                    steps += self._batches(stmt, frame[new], cols, sid, what=table)
                if not new.all():
                    stmt, cols = cypher.merge_relationships(table)
                    steps += self._batches(stmt, frame[~new], cols, sid, what=table)
        forwards = bundle.tables.get("forwards")
        if forwards is not None and len(forwards):
            steps += self._forward_steps(forwards, sid)
        steps.append((1, lambda tx: self._merge_source(tx, bundle.source)))
        return steps

    def _new_keys(self, bundle: Bundle) -> dict[str, pd.Index]:
        """Per end-node label, the bundle's keys no node of the store holds yet (asked before
        anything is written): a relationship with such an end cannot exist yet."""
        wanted: dict[str, list[pd.Series]] = {}
        for table in _EDGE_ORDER:
            frame = bundle.tables.get(table)
            if frame is None or not len(frame) or table == "transactions":
                continue
            for col, label in TABLES[table].ends or ():
                wanted.setdefault(label, []).append(frame[col])
        fresh: dict[str, pd.Index] = {}
        for label, parts in wanted.items():
            ids = pd.Index(pd.concat(parts, ignore_index=True).dropna().unique())
            fresh[label] = ids.difference(pd.Index(self._held(cypher.held_keys(label), ids)))
        return fresh

    def _held(self, statement: str, ids: pd.Index) -> list[Any]:
        held: list[Any] = []
        for start, stop in _slices(len(ids), self.bundle_batch_size):
            _, rows = self._read(statement, ids=[str(x) for x in ids[start:stop]])
            held += [r[0] for r in rows]
        return held

    def _new_rows(self, table: str, frame: pd.DataFrame, fresh: dict[str, pd.Index]) -> Any:
        """Rows of edge ``table`` that no stored relationship can match, so ``CREATE`` writes
        what ``MERGE`` would: an end node new to the store (``PAID``, keyed by ``txn_id``
        alone, whose record may move between accounts: a ``txn_id`` the store lacks)."""
        if table == "transactions":
            ids = pd.Index(frame["txn_id"].dropna().unique())
            held = pd.Index(self._held(cypher.held_txn_ids(), ids))
            return ~frame["txn_id"].isin(held).to_numpy(dtype=bool)
        new = np.zeros(len(frame), dtype=bool)
        for col, label in TABLES[table].ends or ():
            new |= frame[col].isin(fresh.get(label, pd.Index([]))).to_numpy(dtype=bool)
        return new

    def _exists(self, statement: str) -> bool:
        with self._session() as session:
            return bool(session.execute_read(lambda tx: list(tx.run(statement))))

    def _batches(
        self, stmt: str, frame: pd.DataFrame, cols: list[str], sid: str, *, what: str
    ) -> list[tuple[int, Step]]:
        data = _columnar(frame, cols)
        steps: list[tuple[int, Step]] = []
        for start, stop in _slices(len(frame), self.bundle_batch_size):
            params = {
                "c": {c: v[start:stop] for c, v in data.items()},
                "n": stop - start,
                "sid": sid,
            }
            steps.append((stop - start, _write_step(stmt, params, what)))
        return steps

    def _forward_steps(self, forwards: pd.DataFrame, sid: str) -> list[tuple[int, Step]]:
        """Per channel pair: merge the stored events with the bundle's (in pandas), then SET."""
        frame = forwards.reindex(columns=["from_channel_id", "to_channel_id", "ts", "evidence"])
        frame = frame.assign(ts=frame["ts"].where(frame["ts"].notna(), ""))
        pairs = frame[["from_channel_id", "to_channel_id"]].drop_duplicates()
        steps: list[tuple[int, Step]] = []
        for start, stop in _slices(len(pairs), self.batch_size):
            part = pairs.iloc[start:stop]
            events = frame.merge(part, on=["from_channel_id", "to_channel_id"])

            def step(tx: Any, part: pd.DataFrame = part, events: pd.DataFrame = events) -> None:
                self._merge_forwards(tx, part, events, sid)

            steps.append((len(events), step))
        return steps

    def _merge_forwards(self, tx: Any, pairs: pd.DataFrame, events: pd.DataFrame, sid: str) -> None:
        stmt, cols = cypher.read_forwards_pairs()
        result = tx.run(stmt, {"c": _columnar(pairs, cols), "n": len(pairs)})
        stored = pd.DataFrame(result.values(), columns=list(result.keys()))
        new = events.assign(source_ids=[[sid]] * len(events), _new=1)
        if len(stored):
            old = stored.explode(["ts_list", "ts_sources", "ts_evidence"]).rename(
                columns={"ts_list": "ts"}
            )
            old = old.assign(
                source_ids=[json.loads(s) for s in old["ts_sources"]],
                evidence=[json.loads(e) for e in old["ts_evidence"]],
                _new=0,
            ).drop(columns=["ts_sources", "ts_evidence"])
            allev = pd.concat([old, new], ignore_index=True)
        else:
            allev = new
        out = forward_pairs(allev)
        stmt, cols = cypher.write_forwards_pairs()
        _write_step(stmt, {"c": _columnar(out, cols), "n": len(out)}, "forwards")(tx)

    @staticmethod
    def _merge_source(tx: Any, source: dict[str, Any]) -> None:
        sid = str(source["source_id"])
        existing = tx.run(cypher.read_source(), {"sid": sid}).values()
        files = list(source.get("files") or [])
        hashes = list(source.get("file_hashes") or [])
        if existing:  # as the embedded store: a known source gets the sorted union
            files = sorted(set(files) | set(existing[0][0] or []))
            hashes = sorted(set(hashes) | set(existing[0][1] or []))
        props = {c: source.get(c) for c in SOURCE_COLUMNS}
        props.update(files=[str(f) for f in files], file_hashes=[str(h) for h in hashes])
        props = {
            k: (None if v is None else v if isinstance(v, list) else str(v))
            for k, v in props.items()
        }
        tx.run(cypher.write_source(), {"sid": sid, "props": props}).consume()

    def _run_steps(self, steps: list[tuple[int, Step]], *, progress: bool) -> None:
        """Run ``steps`` in transactions of at most :attr:`transaction_rows` rows each."""
        groups: list[list[tuple[int, Step]]] = [[]]
        size = 0
        for n, step in steps:
            if groups[-1] and size + n > self.transaction_rows:
                groups.append([])
                size = 0
            groups[-1].append((n, step))
            size += n
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=sum(n for n, _ in steps), unit="rows", desc="neo4j write")
        try:
            with self._session() as session:
                for group in groups:

                    def work(tx: Any, group: list[tuple[int, Step]] = group) -> None:
                        for _, step in group:
                            step(tx)

                    session.execute_write(work)
                    if bar is not None:
                        bar.update(sum(n for n, _ in group))
        finally:
            if bar is not None:
                bar.close()

    # -- reading -------------------------------------------------------------------------------
    def table(
        self,
        name: str,
        *,
        columns: list[str] | None = None,
        where: dict[str, list[Any]] | None = None,
    ) -> pd.DataFrame:
        cols = checked_columns(name, columns, where)
        key = list(TABLES[name].key)
        fetch = cols + [k for k in key if k not in cols]
        where = where or {}
        params = {
            f"w{k}": [None if v is None else str(v) for v in values]
            for k, values in enumerate(where.values())
        }
        _, rows = self._read(cypher.read_table(name, fetch, list(where)), **params)
        frame = pd.DataFrame(rows, columns=fetch) if rows else pd.DataFrame(columns=fetch)
        if name == "forwards" and "source_ids" in frame:
            frame["source_ids"] = [json.loads(s) for s in frame["source_ids"]]
        if name == "forwards" and "evidence" in frame:
            frame["evidence"] = [json.loads(e) for e in frame["evidence"]]
        if len(frame):
            frame = frame.sort_values(key, kind="stable", na_position="last")
        frame = _typed(name, frame[cols].reset_index(drop=True))
        return restore_optional_keys(name, frame)

    def sources(self) -> pd.DataFrame:
        _, rows = self._read(cypher.read_sources())
        frame = pd.DataFrame(rows, columns=list(SOURCE_COLUMNS))
        for c in SOURCE_COLUMNS:
            if c not in ("files", "file_hashes") and len(frame):
                frame[c] = frame[c].astype("str")
            elif c not in ("files", "file_hashes"):
                frame[c] = frame[c].astype(object)
        return frame

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(COUNT_KEYS, 0)
        for key in COUNT_KEYS:
            _, rows = self._read(cypher.count_statement(key))
            out[key] = int(rows[0][0] or 0) if rows else 0
        return out

    # -- case tables: watch list and alerts -----------------------------------------------------
    def case_table(self, name: str) -> pd.DataFrame:
        spec = case_spec(name)
        cols = spec.column_names
        _, rows = self._read(cypher.read_case_table(name))
        frame = pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
        for col, kind in spec.columns:
            if kind == "list":
                frame[col] = frame[col].map(lambda v: list(v) if v is not None else [])
            else:
                frame[col] = frame[col].astype(object)
        return frame

    def write_case_rows(self, name: str, frame: pd.DataFrame, *, replace: bool = False) -> int:
        spec = case_spec(name)
        if frame.empty:
            return 0
        self.ensure_schema()
        existing = 0
        if not replace:
            stmt, cols = cypher.insert_case_rows(name)
        else:
            stmt, cols = cypher.insert_case_rows(name, replace=True)
        staged = frame.reindex(columns=cols)
        for col, kind in spec.columns:
            if kind == "list":
                staged[col] = staged[col].map(
                    lambda v: (
                        [str(x) for x in v] if isinstance(v, (list, tuple, np.ndarray)) else []
                    )
                )
        data = _columnar(staged, cols)
        written = 0

        def work(tx: Any) -> int:
            total = 0
            for start, stop in _slices(len(staged), self.batch_size):
                params = {"c": {c: v[start:stop] for c, v in data.items()}, "n": stop - start}
                record = tx.run(stmt, params).single()
                total += int(record["written"]) if record is not None else 0
            return total

        with self._session() as session:
            written = session.execute_write(work)
        return written - existing

    def delete_case_rows(self, name: str, keys: pd.DataFrame) -> int:
        case_spec(name)
        if keys.empty:
            return 0
        stmt, cols = cypher.delete_case_rows(name)
        data = _columnar(keys.reindex(columns=cols).astype(str), cols)

        def work(tx: Any) -> int:
            record = tx.run(stmt, {"c": data, "n": len(keys)}).single()
            return int(record["deleted"]) if record is not None else 0

        with self._session() as session:
            return session.execute_write(work)

    def alert_candidates(self) -> pd.DataFrame:
        frames = []
        for stmt in cypher.alert_candidate_statements():
            _, rows = self._read(stmt)
            if rows:
                frames.append(pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS)))
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in CANDIDATE_COLUMNS})
        frame = pd.concat(frames, ignore_index=True).astype(object)
        frame["source_ids"] = frame["source_ids"].map(lambda v: list(v) if v is not None else [])
        return frame

    # -- analytics results -----------------------------------------------------------------------
    def write_results(self, name: str, frame: pd.DataFrame) -> None:
        """Replace result table ``name`` with a new generation (see the module notes).

        Raises
        ------
        StoreError
            Unknown result name, or metrics for an account/channel the store does not hold.
        """
        if not self._schema_checked:  # a store ingested before an index was added gets it
            self.ensure_schema()
            self._schema_checked = True
        cols = list(result_columns(name))
        staged = _bolt_safe(frame.reindex(columns=cols).reset_index(drop=True))
        dtypes = [str(staged[c].dtype) for c in cols]
        gen = secrets.token_hex(8)
        data = _columnar(staged, cols)
        if name in _METRIC_TABLES:  # every row must find its node, before anything is switched
            missing = self._missing_nodes(name, data)
            if missing:
                raise StoreError(
                    f"{missing} {name} rows name an account or channel the store does not hold: "
                    "analyse the store's own tables (graphintel analyze)"
                )
        stmt = cypher.write_result_rows(name, cols)
        self._write_batches(stmt, data, len(staged), what=name, name=name, gen=gen)
        with self._session() as session:  # the switch: one small transaction
            session.execute_write(
                lambda tx: tx.run(
                    cypher.switch_result_generation(),
                    {
                        "name": name,
                        "columns": cols,
                        "dtypes": dtypes,
                        "gen": gen,
                        "rows": len(staged),
                    },
                ).consume()
            )
        self._auto(cypher.delete_old_results(), name=name, gen=gen)
        if name in _METRIC_TABLES:
            self._write_graph_properties(name, staged, data, gen)

    def _missing_nodes(self, name: str, data: dict[str, list[Any]]) -> int:
        key = "account_id" if name == "account_metrics" else "channel_id"
        table = "accounts" if name == "account_metrics" else "channels"
        stmt = cypher.count_missing_nodes(table)
        missing = 0
        ids = data[key]
        for start, stop in _slices(len(ids), self.batch_size * 5):
            _, rows = self._read(stmt, ids=ids[start:stop])
            missing += int(rows[0][0]) if rows else 0
        return missing

    def _write_graph_properties(
        self, name: str, staged: pd.DataFrame, data: dict[str, list[Any]], gen: str
    ) -> None:
        """Metrics as node properties and referral parents as ``REFERRED_BY`` (write mode)."""
        stmt, cols = cypher.write_metric_properties(name)
        self._write_batches(stmt, {c: data[c] for c in cols}, len(staged), what=name)
        if name != "account_metrics":
            return
        has_parent = staged["referral_parent"].notna().to_numpy()
        parents = staged.loc[has_parent, ["account_id", "referral_parent"]]
        stmt, cols = cypher.write_referred_by()
        self._write_batches(
            stmt, _columnar(parents, cols), len(parents), what="referral parents", gen=gen
        )
        self._auto(cypher.delete_old_referred_by(), gen=gen)

    def _write_batches(
        self, stmt: str, data: dict[str, list[Any]], n: int, *, what: str, **extra: Any
    ) -> None:
        """Run ``stmt`` over ``data`` in batches of :attr:`batch_size` rows, one transaction
        each (bounded transaction memory, whatever the size of the table)."""
        with self._session() as session:
            for start, stop in _slices(n, self.batch_size):
                params = {
                    "c": {c: v[start:stop] for c, v in data.items()},
                    "n": stop - start,
                    "offset": start,
                    **extra,
                }
                session.execute_write(_write_step(stmt, params, what))

    def results(self, name: str) -> pd.DataFrame:
        cols = list(result_columns(name))
        for _ in range(5):  # a write switched generations while we read: read the new one
            _, meta = self._read(cypher.read_result_meta(), name=name)
            if not meta or meta[0][2] is None:
                return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
            stored_cols, stored_dtypes, gen, nrows = meta[0]
            dtypes = dict(zip(stored_cols, stored_dtypes))
            stmt = cypher.read_result_rows(name, cols)
            pages: list[list[list[Any]]] = []
            page = self.batch_size * 5
            for lo in range(0, int(nrows or 0), page):
                _, rows = self._read(stmt, name=name, gen=gen, lo=lo, hi=lo + page)
                pages.append(rows)
            got = sum(len(p) for p in pages)
            if got == int(nrows or 0):
                break
        else:
            raise StoreError(
                f"result table {name!r} kept changing while it was read (is an analysis running?); "
                "try again when it has finished"
            )
        rows = [r for p in pages for r in p]
        frame = pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
        for c in cols:
            want = dtypes.get(c)
            if want and str(frame[c].dtype) != want:
                try:
                    frame[c] = frame[c].astype(want)
                except (TypeError, ValueError):
                    pass  # e.g. an int column that now holds nulls: keep what was read
        return frame

    # -- legal controls: audit head, per-source copies, retraction -----------------------------
    def record_audit_head(self, seq: int, digest: str, chain: str | None = None) -> None:
        """Record the audit log's last entry on the ``AuditHead`` node of ``chain`` (only if
        newer; ``chain`` ``None``: the legacy node)."""
        params = {"seq": int(seq), "hash": str(digest), "chain": chain}
        with self._session() as session:
            session.execute_write(lambda tx: tx.run(cypher.write_audit_head(), params).consume())

    def audit_head(self, chain: str | None = None) -> tuple[int, str] | None:
        """The newest recorded head (of ``chain`` when given) as ``(seq, hash)``, or ``None``."""
        heads = [h for h in self.audit_heads() if chain is None or h[3] == chain]
        return None if not heads else max(heads, key=lambda h: h[1])[1:3]

    def audit_heads(self) -> list[tuple[str, int, str, str | None]]:
        """The ``AuditHead`` nodes' heads as ``[(uri, seq, hash, chain)]`` (``chain`` ``None``:
        the legacy node)."""
        _, rows = self._read(cypher.read_audit_head())
        return [(self.uri, int(r[1]), str(r[2]), r[0]) for r in rows if r[1] is not None]

    def write_source_copy(
        self, source_id: str, batch: str, order: int, blobs: list[tuple[str, int, bytes]]
    ) -> None:
        """Keep a source's validated rows as ``SourceCopy`` nodes (one per table part)."""

        def work(tx: Any) -> None:
            tx.run(cypher.delete_source_copy(), {"sid": source_id, "batch": batch}).consume()
            for table, part, data in blobs:
                params = {
                    "sid": source_id,
                    "batch": batch,
                    "ord": int(order),
                    "table": table,
                    "part": int(part),
                    "data": bytes(data),
                }
                tx.run(cypher.write_source_copy(), params).consume()

        with self._session() as session:
            session.execute_write(work)

    def source_copies(self) -> list[tuple[str, str, int, str, int, bytes]]:
        _, rows = self._read(cypher.read_source_copies())
        return [(r[0], r[1], int(r[2]), r[3], int(r[4]), bytes(r[5])) for r in rows]

    def delete_source_copies(self, source_id: str) -> None:
        with self._session() as session:
            session.execute_write(
                lambda tx: tx.run(
                    cypher.delete_source_copy(), {"sid": source_id, "batch": None}
                ).consume()
            )

    def drop_records(
        self, removed: dict[str, pd.DataFrame], reset: dict[str, pd.DataFrame]
    ) -> None:
        """Delete ``removed`` records and every edge in ``reset``; clear the attributes of
        ``reset`` nodes (their relationships to unaffected records must survive)."""
        steps: list[tuple[int, Step]] = []

        def add(stmt: str, frame: pd.DataFrame) -> None:
            cols = list(frame.columns)
            data = _columnar(frame, cols)
            for start, stop in _slices(len(frame), self.batch_size):
                params = {"c": {c: v[start:stop] for c, v in data.items()}, "n": stop - start}
                steps.append((stop - start, _plain_step(stmt, params)))

        for table in (*_EDGE_ORDER, "forwards"):
            for frames in (removed, reset):
                frame = frames.get(table)
                if frame is not None and len(frame):
                    add(cypher.delete_records(table, list(frame.columns)), frame)
        for table in NODE_TABLES:
            frame = reset.get(table)
            if frame is not None and len(frame):
                add(cypher.reset_nodes(table), frame)
            frame = removed.get(table)
            if frame is not None and len(frame):
                add(cypher.delete_records(table, list(frame.columns)), frame)
        self._run_steps(steps, progress=False)

    def record_retraction(self, source_id: str, info: dict[str, Any]) -> None:
        props = {c: info[c] for c in cypher.RETRACTION_PROPS}
        with self._session() as session:
            session.execute_write(
                lambda tx: tx.run(
                    cypher.write_retraction(), {"sid": source_id, "props": props}
                ).consume()
            )

    def retractions(self) -> pd.DataFrame:
        keys, rows = self._read(cypher.read_retractions())
        cols = list(RETRACTION_COLUMNS)
        if not rows:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        return pd.DataFrame(rows, columns=keys).reindex(columns=cols)


def forward_pairs(events: pd.DataFrame) -> pd.DataFrame:
    """The ``FORWARDED_TO`` property rows of forward events, one row per channel pair.

    ``events`` has ``from_channel_id``, ``to_channel_id``, ``ts`` (``''`` for a missing one),
    ``evidence``, ``source_ids`` (a list per event) and ``_new`` (the write order: a later value
    wins). Per event key the newest non-null evidence is kept and the source ids are the sorted
    union; per pair the columns of :func:`graphintel.store.cypher.write_forwards_pairs`.
    The batched path merges the stored events (``_new`` 0) with a bundle's (1); the bulk importer
    (:mod:`graphintel.neo4j_import`) all bundles' at once (``_new`` the bundle's position).
    """
    key = ["from_channel_id", "to_channel_id", "ts"]
    allev = events.sort_values([*key, "_new"], kind="stable")
    # evidence: the newest non-null value wins; source ids: sorted union.
    evidence = allev.dropna(subset=["evidence"]).groupby(key, sort=False)["evidence"].last()
    sources = (
        allev[[*key, "source_ids"]]
        .explode("source_ids")
        .drop_duplicates()
        .sort_values([*key, "source_ids"], kind="stable")
        .groupby(key, sort=False)["source_ids"]
        .agg(list)
    )
    merged = sources.to_frame().join(evidence).reset_index()
    merged = merged.sort_values(key, kind="stable")
    merged["ts_sources"] = [json.dumps(s) for s in merged["source_ids"]]
    merged["ts_evidence"] = [json.dumps(None if pd.isna(e) else e) for e in merged["evidence"]]
    merged["_ts_real"] = merged["ts"].where(merged["ts"] != "", None)
    grouped = merged.groupby(["from_channel_id", "to_channel_id"], sort=False)
    out = grouped.agg(
        ts_list=("ts", list),
        ts_sources=("ts_sources", list),
        ts_evidence=("ts_evidence", list),
        count=("ts", "size"),
        first_ts=("_ts_real", "min"),
        last_ts=("_ts_real", "max"),
    ).reset_index()
    pair_sources = (
        merged[["from_channel_id", "to_channel_id", "source_ids"]]
        .explode("source_ids")
        .drop_duplicates()
        .sort_values(["from_channel_id", "to_channel_id", "source_ids"])
        .groupby(["from_channel_id", "to_channel_id"], sort=False)["source_ids"]
        .agg(list)
    )
    out = out.merge(pair_sources.reset_index(), on=["from_channel_id", "to_channel_id"])
    out["count"] = out["count"].astype(int)
    return out


def _plain_step(stmt: str, params: dict[str, Any]) -> Step:
    def step(tx: Any) -> None:
        tx.run(stmt, params).consume()

    return step


def _write_step(stmt: str, params: dict[str, Any], what: str) -> Step:
    """A transaction step that runs one batch and checks every row was written."""

    def step(tx: Any) -> None:
        record = tx.run(stmt, params).single()
        got = int(record["written"]) if record is not None else 0
        if got != params["n"]:
            raise StoreError(
                f"only {got} of {params['n']} {what} records found the nodes they connect to; "
                "the bundle's referenced accounts/channels/organisations must be in the store "
                "(write bundles prepared by ingest.job.prepare_bundle, which adds inferred nodes)"
            )

    return step


def _typed(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give columns read from Neo4j the dtypes the embedded store returns."""
    spec = TABLES[table]
    kinds = {("phone_token" if c.pii else c.name): c.type for c in spec.columns}
    kinds.update(inferred="inferred", evidence="str", source_ids="list")
    optional = OPTIONAL_KEY_COLUMNS.get(table, ())
    for col in frame.columns:
        kind = kinds[col]
        s = frame[col]
        if kind == "float":
            frame[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif kind == "bool":
            frame[col] = s.astype("boolean")
        elif kind == "inferred":
            frame[col] = s.fillna(False).astype(bool) if len(s) else s.astype(bool)
        elif kind == "list":
            frame[col] = s.map(lambda v: list(v) if v is not None else [])
        elif col in optional:
            frame[col] = s.astype(object)
        elif len(s) and s.notna().any():
            frame[col] = s.astype("str")
        else:
            frame[col] = s.astype(object)
    return frame


def _bolt_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Dicts become JSON text (as in the embedded store); arrays become lists."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object and len(s):
            first = s.dropna()
            if len(first) and isinstance(first.iloc[0], dict):
                out[col] = s.map(
                    lambda v: None if v is None else json.dumps(v, sort_keys=True)
                ).astype("str")
            elif len(first) and isinstance(first.iloc[0], (np.ndarray, tuple)):
                out[col] = s.map(lambda v: list(v) if isinstance(v, (np.ndarray, tuple)) else v)
    return out
