"""Case views: a separate DuckDB store holding only what the permitted sources reported.

A user who may not see every source reads a *case view* instead of the main store: a DuckDB
file built from the permitted sources' kept rows (:func:`graphintel.retraction.save_source_copy`,
every ingest keeps them), replayed in ingest order through the DuckDB store's own
``write_bundle`` (the same ``coalesce(new, old)`` merge as ingest), then analysed with the main
store's analyze options. So every count, page, search, network view, deep link, export, dossier
and analytic read from it is, by construction, what ingesting and analysing the permitted
sources alone gives; nothing another case reported is in the file at all.

Keys and staleness
------------------
A view lives at ``WORKSPACE/case_views/<store>-<scope>-<build>.duckdb`` (folder 700, files 600):
``<store>`` hashes the main store's URI, ``<scope>`` the sorted permitted source ids, and ``<build>`` is :func:`fingerprint` of the
main store — its sources (ids, files, ingest times), retractions, the analytics run (the
``summary`` result, which changes with every ``analyze``), the takedown records and the alerts.
Any ingest, analyze, retraction, takedown or alert change gives a new ``<build>``, so a stale
view is never opened; building one removes every view of that store built from older data. A view is built
under a lock (two builders of one view wait for each other) and published by the DuckDB store's
writer copy + atomic rename: a reader sees no view or the whole view.

What is copied besides the kept rows: the permitted sources' provenance rows; the takedown
records of permitted sources that keep no rows (those recorded by hand with ``graphintel
takedown``); the alerts whose source ids overlap the scope, with the other sources' ids dropped.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from graphintel.errors import StoreError
from graphintel.model import MANUAL_METHOD, TABLES, table_columns
from graphintel.store.base import Bundle, GraphStore

__all__ = [
    "FORMAT",
    "analyze_options",
    "build_case_view",
    "build_user_views",
    "case_view_path",
    "fingerprint",
    "prune_case_views",
    "scoped_results",
    "user_scopes",
]

FORMAT = 1
"""Bumped when what a view holds changes (old views are then rebuilt)."""
VIEW_DIR = "case_views"


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\x00")
    return h.hexdigest()


def _frame_digest(frame: pd.DataFrame, cols: list[str]) -> str:
    if frame.empty:
        return "empty"
    f = frame.reindex(columns=cols).astype(str).sort_values(cols, kind="stable")
    return hashlib.sha256(
        pd.util.hash_pandas_object(f, index=False).to_numpy().tobytes()
    ).hexdigest()


def fingerprint(store: GraphStore) -> str:
    """What a case view of ``store`` is built from, as one hash (see the module notes).

    Cheap: sources, retractions, the ``summary`` result, the takedown records and the alerts
    are small tables; no record table is read.
    """
    src = store.sources()
    src = src.assign(
        file_hashes=src["file_hashes"].map(lambda v: "" if v is None else ";".join(sorted(v)))
    )
    ret = store.retractions()
    summ = store.results("summary")
    td = store.table("takedowns", columns=["content_hash", "requested_at", "status"])
    alerts = store.case_table("alerts")
    return _digest(
        [
            f"format {FORMAT}",
            _frame_digest(src, ["source_id", "case_id", "method", "file_hashes", "ingested_at"]),
            _frame_digest(ret, ["source_id", "retracted_at"]),
            _frame_digest(summ, ["key", "value"]),
            _frame_digest(td, ["content_hash", "requested_at", "status"]),
            _frame_digest(alerts, ["alert_id", "acked_at", "ack_note"]),
        ]
    )


def _scope_key(scope: Iterable[str]) -> str:
    return _digest(sorted({str(s) for s in scope}))[:16]


def _store_key(uri: str) -> str:
    if uri.startswith("duckdb:"):  # one file however its path is spelled
        uri = "duckdb:" + os.path.realpath(uri[len("duckdb:") :])
    return _digest([uri])[:12]


def case_view_path(workspace: str | Path, uri: str, scope: Iterable[str], build: str) -> Path:
    """Where the view of ``scope`` over the store ``uri``, built from fingerprint ``build``,
    lives (it may not exist yet)."""
    name = f"{_store_key(uri)}-{_scope_key(scope)}-{build[:16]}.duckdb"
    return Path(workspace) / VIEW_DIR / name


def analyze_options(summary: pd.DataFrame) -> dict[str, Any] | None:
    """The analyze options of the run whose ``summary`` result is given (``None``: no run).

    >>> s = pd.DataFrame({"key": ["communities", "economy"], "value": [
    ...     '{"seed": 3, "resolution": 0.5, "method": "leiden", "edges": 10}',
    ...     '{"won_per_credit": 100.0}']})
    >>> o = analyze_options(s); o["seed"], o["engine"], o["won_per_credit"]
    (3, 'leiden', 100.0)
    """
    if summary is None or summary.empty:
        return None
    s = {str(k): json.loads(v) for k, v in zip(summary["key"], summary["value"])}
    comm = s.get("communities") or {}
    opts: dict[str, Any] = {
        "seed": int(comm.get("seed", 0)),
        "resolution": float(comm.get("resolution", 1.0)),
        "engine": _engine(comm),
    }
    weights = (s.get("priority") or {}).get("weights")
    if weights:
        opts["weights"] = {str(k): float(v) for k, v in weights.items()}
    won = (s.get("economy") or {}).get("won_per_credit")
    if won is not None:
        opts["won_per_credit"] = float(won)
    samples = (s.get("centrality") or {}).get("betweenness_samples")
    if samples is not None:
        opts["betweenness_samples"] = int(samples)
    return opts


def _engine(comm: dict[str, Any]) -> str:
    """The community engine the run was asked for, as far as its summary tells: ``auto`` when
    the method used is what ``auto`` picks for that graph, else the method itself. (A run asked
    for explicitly the engine ``auto`` would have picked reads as ``auto``.)"""
    from graphintel.analytics.communities import AUTO_LOUVAIN_MAX_EDGES

    method = comm.get("method")
    if method not in ("louvain", "leiden"):
        return "auto"
    auto = "louvain" if int(comm.get("edges") or 0) <= AUTO_LOUVAIN_MAX_EDGES else "leiden"
    return "auto" if method == auto else str(method)


def scoped_results(
    store: GraphStore, tables: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame] | None:
    """The analytics of ``tables`` (e.g. :func:`graphintel.scope.scoped_tables`) with
    ``store``'s analyze options, without the dashboard's derived tables; ``None`` when
    ``store`` has no analytics (nothing to show either)."""
    from graphintel.analytics.pipeline import ANALYZE_COLUMNS, analyze_tables

    options = analyze_options(store.results("summary"))
    if options is None:
        return None
    wanted = {n: tables[n].reindex(columns=list(c)) for n, c in ANALYZE_COLUMNS.items()}
    return analyze_tables(wanted, derive=False, **options)


def _empty_tables() -> dict[str, pd.DataFrame]:
    return {
        t: pd.DataFrame({c: pd.Series(dtype=object) for c in table_columns(t) if c != "source_ids"})
        for t in TABLES
    }


class _Rows:
    """Kept rows already read (``store.source_copies()`` tuples), for ``load_source_copies``."""

    def __init__(self, rows: list[tuple[str, str, int, str, int, bytes]]):
        self.rows = rows

    def source_copies(self) -> list[tuple[str, str, int, str, int, bytes]]:
        return self.rows


def _write_view(store: GraphStore, scope: frozenset[str], path: Path) -> None:
    """Build the view file at ``path`` (published atomically by the DuckDB writer)."""
    from graphintel.analytics.pipeline import analyze_store
    from graphintel.retraction import load_source_copies
    from graphintel.store.duckdb_store import DuckDBStore

    sources = store.sources()
    sources = sources[sources["source_id"].astype(str).isin(scope)]
    prov = {
        str(r["source_id"]): {
            k: (list(v) if k in ("files", "file_hashes") and v is not None else v)
            for k, v in r.items()
        }
        for r in sources.to_dict("records")
    }
    raw = [r for r in store.source_copies() if r[0] in prov]  # only these are decoded
    copies = load_source_copies(_Rows(raw))
    kept = {c.source_id for c in copies}
    missing = sorted(
        sid for sid in set(prov) - kept if str(prov[sid].get("method")) != MANUAL_METHOD
    )
    if missing:
        raise StoreError(
            f"source(s) {', '.join(missing)} keep no copy of their rows in {store.uri} "
            "(ingested before this release), so the case view cannot show what they alone "
            "reported: rebuild the store by ingesting the bundles again into a new store"
        )
    options = analyze_options(store.results("summary"))
    view = DuckDBStore(path)
    try:
        view.ensure_schema()
        os.chmod(view._working, 0o600)  # the working copy is what gets renamed into place
        with view.transaction():
            for copy in copies:
                view.write_bundle(Bundle(source=dict(prov[copy.source_id]), tables=copy.tables))
            # sources that keep no rows: takedowns recorded by hand (graphintel takedown)
            for sid in sorted(set(prov) - kept):
                td = store.table("takedowns")
                mine = td[td["source_ids"].map(lambda v, s=sid: v is not None and s in list(v))]
                tables = _empty_tables()
                tables["takedowns"] = mine.drop(columns=["source_ids"])
                view.write_bundle(Bundle(source=dict(prov[sid]), tables=tables))
            by_batch: dict[tuple[str, str, int], list[tuple[str, int, bytes]]] = {}
            for sid, batch, order, table, part, data in raw:
                by_batch.setdefault((sid, batch, order), []).append((table, part, data))
            for (sid, batch, order), blobs in by_batch.items():
                view.write_source_copy(sid, batch, order, blobs)
        alerts = store.case_table("alerts")
        if len(alerts):
            ids = alerts["source_ids"].map(
                lambda v: sorted(set(v if v is not None else []) & scope)
            )
            alerts = alerts.assign(source_ids=ids)[ids.map(bool).to_numpy(dtype=bool)]
            if len(alerts):
                view.write_case_rows("alerts", alerts)
        if options is not None:
            analyze_store(view, **options)
    except BaseException:
        view.abort()
        raise
    view.close()
    os.chmod(path, 0o600)


def build_case_view(
    store: GraphStore,
    scope: Iterable[str],
    workspace: str | Path,
    *,
    build: str | None = None,
) -> tuple[Path, bool]:
    """The current case view of ``scope`` over ``store``, built if missing.

    Returns ``(path, built)``; ``built`` is false when a current view already existed. Older
    views of the same scope are removed. ``build`` is :func:`fingerprint` of ``store`` when the
    caller has it.
    """
    allowed = frozenset(str(s) for s in scope)
    build = build or fingerprint(store)
    path = case_view_path(workspace, store.uri, allowed, build)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    prefix = f"{_store_key(store.uri)}-"
    lock_name = f"{prefix}{_scope_key(allowed)}.lock"
    lock = os.open(str(folder / lock_name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per scope; the others wait, then reuse
        if path.exists():
            return path, False
        _write_view(store, allowed, path)
        info = {
            "sources": sorted(allowed),
            "build": build,
            "format": FORMAT,
            "store": store.uri,
            "basis": _basis(store),
        }
        meta = path.with_suffix(".json")
        fd = os.open(str(meta), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(info, f, sort_keys=True)
        # every view of this store built from older data is stale: gone (a reader that has
        # one open keeps reading it until its next query opens the current one)
        for old in folder.glob(f"{prefix}*-*"):
            if old.suffix == ".lock":  # another scope's lock (held, maybe): never unlinked
                continue
            if old.name.split(".")[0].rsplit("-", 1)[-1] != build[:16]:
                old.unlink(missing_ok=True)
        return path, True
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)


def _basis(store: GraphStore) -> list[list[str]]:
    """``[source_id, case_id, method]`` of every source not retracted: what users' scopes are
    computed from (:func:`graphintel.scope.permitted_sources`), kept in a view's metadata so
    :func:`prune_case_views` can tell whether any user still has the view's scope without
    opening the store."""
    src = store.sources()
    gone = set(store.retractions()["source_id"].astype(str))
    rows = src[["source_id", "case_id", "method"]].astype(str).values.tolist()
    return sorted(r for r in rows if r[0] not in gone)


def prune_case_views(workspace: str | Path, users_file: str | Path) -> list[Path]:
    """Remove every case view (and its metadata) whose scope no user of ``users_file`` has
    any more; returns the view files removed. They hold case data, so they go as soon as
    users change (``users add``/``remove``) and at every ``analyze``; a view is only a cache
    (the dashboard and ``--cases`` build it again when needed).

    A view's scope is compared with each user's (:func:`graphintel.scope.permitted_sources`)
    over the sources the view was built from (its metadata's ``basis``). A view without that
    metadata (built by an older release, or half written) is removed too. A view being built
    right now (its scope's lock is held) is left alone: someone is using that scope.
    """
    from graphintel.scope import permitted_sources
    from graphintel.users import UserFile

    folder = Path(workspace) / VIEW_DIR
    if not folder.is_dir():
        return []
    users = UserFile(users_file).list() if Path(users_file).exists() else []
    removed: list[Path] = []
    for view in sorted(folder.glob("*.duckdb")):
        parts = view.name[: -len(".duckdb")].split("-")
        if len(parts) != 3:
            continue
        store_key, scope_key, build = parts  # one build's files go, never another's
        lock = os.open(str(folder / f"{store_key}-{scope_key}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # being built: in use
            if _still_needed(view.with_suffix(".json"), users, permitted_sources):
                continue
            for f in folder.glob(f"{store_key}-{scope_key}-{build}.*"):
                f.unlink(missing_ok=True)
            removed.append(view)
        finally:
            os.close(lock)  # releases the lock
    return removed


def _still_needed(meta: Path, users: list[Any], permitted_sources: Any) -> bool:
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        scope = frozenset(str(s) for s in info["sources"])
        basis = pd.DataFrame(info["basis"], columns=["source_id", "case_id", "method"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return any(permitted_sources(u.role, u.cases, basis) == scope for u in users)


def user_scopes(users_file: str | Path, store: GraphStore) -> list[frozenset[str]]:
    """The distinct permitted source sets of the users in ``users_file`` that are not
    "everything" (admins) and not empty (auditors), sorted."""
    from graphintel.scope import permitted_sources
    from graphintel.users import UserFile

    uf = UserFile(users_file)
    if not Path(users_file).exists():
        return []
    sources = store.sources()
    retracted = store.retractions()["source_id"].astype(str)
    out: set[frozenset[str]] = set()
    for user in uf.list():
        allowed = permitted_sources(user.role, user.cases, sources, retracted)
        if allowed:
            out.add(frozenset(allowed))
    return sorted(out, key=sorted)


def build_user_views(
    store: GraphStore, users_file: str | Path, workspace: str | Path
) -> list[tuple[frozenset[str], Path, bool]]:
    """Build the case view of every users-file scope (:func:`user_scopes`) that lacks a current
    one: ``(scope, path, built)`` per scope."""
    build = fingerprint(store)
    return [
        (scope, *build_case_view(store, scope, workspace, build=build))
        for scope in user_scopes(users_file, store)
    ]
