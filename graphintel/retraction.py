"""Retraction: when a court excludes a source, take out everything only it reported.

To know which source supplied which value, every ingest keeps the bundle's validated rows in the
store (:func:`save_source_copy`: Parquet blobs per table, tagged with the ingest order). Retracting
source *S* (:func:`retract_source`):

1. finds every record whose ``source_ids`` hold *S* (forwards by channel pair, content by hash,
   because the Neo4j store keeps those on one relationship per pair / one node per hash);
2. takes the remaining sources' kept rows for exactly those keys;
3. deletes the records no other source reported, and rebuilds the others by merging the remaining
   sources' rows again, in ingest order, through the store's own ``write_bundle`` — the same
   ``coalesce(new, old)`` merge as ingest, so a value only *S* supplied is gone and the result is
   what ingesting the other sources alone gives;
4. keeps the Source record as a tombstone (who, when, why), forgets *S*'s kept rows and clears the
   analytics results (run ``graphintel analyze`` again).

Everything is frames and batched statements; no loop over rows. On DuckDB the whole retraction
is one transaction; on Neo4j it runs in several (a failure part-way is reported, and the store
should be rebuilt from the bundles).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from graphintel.errors import ConfigError, StoreError
from graphintel.model import TABLES, table_columns
from graphintel.store.base import (
    OPTIONAL_KEY_COLUMNS,
    RESULT_TABLES,
    Bundle,
    GraphStore,
    result_columns,
)

__all__ = [
    "RetractionReport",
    "affected_key_columns",
    "load_source_copies",
    "mark_retracted",
    "retract_source",
    "save_source_copy",
    "source_copy_blobs",
]

PART_ROWS = 200_000


def mark_retracted(sources: pd.DataFrame, tombstones: pd.DataFrame) -> pd.DataFrame:
    """The source list as pages show it: ``status`` (``active`` or ``retracted``) after
    ``source_id``, and for retracted sources when, by whom and why (``retracted_at``,
    ``retracted_by``, ``retraction_reason``).

    Parameters
    ----------
    sources : pandas.DataFrame
        Sources with their provenance (``files`` a number), e.g. ``Dataset.sources()``.
    tombstones : pandas.DataFrame
        Retracted sources the reader may know of: their provenance (``files`` a number or a
        list) and ``retracted_at``, ``retracted_by``, ``reason``; those missing from
        ``sources`` are added, so a scoped user still sees that a source of their case was
        retracted.

    Example
    -------
    >>> s = pd.DataFrame({"source_id": ["S1"], "case_id": ["A"], "files": [2]})
    >>> t = pd.DataFrame({"source_id": ["S2"], "case_id": ["A"], "files": [["f"]],
    ...     "retracted_at": ["2026-01-02"], "retracted_by": ["kim"], "reason": ["court"]})
    >>> mark_retracted(s, t)[["source_id", "status", "files", "retraction_reason"]].values.tolist()
    [['S1', 'active', 2, None], ['S2', 'retracted', 1, 'court']]
    """
    extra = ["retracted_at", "retracted_by", "retraction_reason"]
    t = tombstones.rename(columns={"reason": "retraction_reason"}).copy()
    if "files" in t:
        t["files"] = [
            len(f) if isinstance(f, (list, tuple, np.ndarray)) else (f if pd.notna(f) else 0)
            for f in t["files"]
        ]
    t = t.reindex(columns=[*sources.columns, *extra])
    missing = t[~t["source_id"].isin(sources["source_id"])]
    info = t.set_index("source_id")[extra]
    out = pd.concat(
        [sources.reindex(columns=[*sources.columns]), missing[sources.columns]],
        ignore_index=True,
    )
    out = out.sort_values("source_id", kind="stable").reset_index(drop=True)
    for col in extra:
        out[col] = out["source_id"].map(info[col]).astype(object)
        out[col] = out[col].where(out[col].notna(), None)
    status = np.where(out["source_id"].isin(info.index), "retracted", "active")
    out.insert(1, "status", status)
    return out


def affected_key_columns(table: str) -> list[str]:
    """The columns a retraction groups ``table``'s records by.

    Example
    -------
    >>> affected_key_columns("forwards"), affected_key_columns("content")
    (['from_channel_id', 'to_channel_id'], ['content_hash'])
    >>> affected_key_columns("invites")
    ['inviter_id', 'invitee_id', 'channel_id', 'invited_at']
    """
    if table == "forwards":
        return ["from_channel_id", "to_channel_id"]
    if table == "content":
        return ["content_hash"]
    return list(TABLES[table].key)


def save_source_copy(store: GraphStore, bundle: Bundle, blobs: list | None = None) -> None:
    """Keep ``bundle``'s validated rows in ``store`` (one batch per set of files).

    ``blobs``: the parts :func:`source_copy_blobs` gave for ``bundle`` earlier (so the bundle's
    tables may be released before this is called)."""
    sid = str(bundle.source["source_id"])
    batch = hashlib.sha256(
        "\n".join(sorted(bundle.source.get("file_hashes") or [])).encode()
    ).hexdigest()[:32]
    if blobs is None:
        blobs = source_copy_blobs(bundle)
    store.write_source_copy(sid, batch, time.time_ns(), blobs)


def source_copy_blobs(bundle: Bundle) -> list[tuple[str, int, bytes]]:
    """``(table, part, Parquet bytes)`` of ``bundle``'s rows, :data:`PART_ROWS` per part."""
    jobs: list[tuple[str, int, Any]] = []
    for table, frame in bundle.tables.items():
        if frame is None or not len(frame):
            continue
        for part, start in enumerate(range(0, len(frame), PART_ROWS)):
            if isinstance(frame, pd.DataFrame):
                chunk = frame.iloc[start : start + PART_ROWS].reset_index(drop=True)
            else:  # an Arrow table (ingest's fast path): a zero-copy slice
                chunk = frame.slice(start, PART_ROWS)
            jobs.append((table, part, chunk))
    # Parquet encoding and zstd release the GIL: the parts are written side by side.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        data = list(pool.map(lambda job: _parquet_bytes(job[2]), jobs))
    return [(t, p, d) for (t, p, _), d in zip(jobs, data)]


def _parquet_bytes(chunk: Any) -> bytes:
    buf = io.BytesIO()
    if isinstance(chunk, pd.DataFrame):
        chunk.to_parquet(buf, index=False, compression="zstd")
    else:
        import pyarrow.parquet as pq

        # ids and timestamps are mostly distinct: dictionary pages would cost more than they save
        pq.write_table(chunk, buf, compression="zstd", use_dictionary=False)
    return buf.getvalue()


@dataclass
class _Copy:
    source_id: str
    batch: str
    order: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def load_source_copies(store: GraphStore) -> list[_Copy]:
    """Every kept ingest of every source, in ingest order, as frames per table."""
    copies: dict[tuple[str, str], _Copy] = {}
    parts: dict[tuple[str, str, str], list[pd.DataFrame]] = {}
    for sid, batch, order, table, _part, data in store.source_copies():
        copies.setdefault((sid, batch), _Copy(sid, batch, order))
        parts.setdefault((sid, batch, table), []).append(pd.read_parquet(io.BytesIO(data)))
    for (sid, batch, table), frames in parts.items():
        copies[(sid, batch)].tables[table] = pd.concat(frames, ignore_index=True)
    return sorted(copies.values(), key=lambda c: (c.order, c.source_id, c.batch))


@dataclass
class RetractionReport:
    """What a retraction did: records removed and rebuilt per table, sources merged again."""

    source_id: str
    case_id: str
    reason: str
    retracted_by: str
    retracted_at: str
    removed: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    replayed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        gone = sum(self.removed.values())
        kept = sum(self.changed.values())
        detail = ", ".join(f"{t} {n}" for t, n in self.removed.items() if n) or "none"
        return (
            f"Retracted source {self.source_id} (case {self.case_id}): {gone} records only it "
            f"reported were removed ({detail}); {kept} records also reported by other sources "
            f"lost its id and the values only it supplied (rebuilt from "
            f"{', '.join(self.replayed) or 'no other source'}). The Source stays as a tombstone. "
            "Analytics results were cleared: run `graphintel analyze` again."
        )


def _as_stored_keys(frame: pd.DataFrame, table: str, cols: list[str]) -> pd.DataFrame:
    """Distinct key columns as strings, optional key columns ``''`` where missing."""
    return _key_strings(frame, table, cols).drop_duplicates().reset_index(drop=True)


def _source_row(sources: pd.DataFrame, sid: str) -> dict[str, Any]:
    row = sources[sources["source_id"] == sid].iloc[0].to_dict()
    for col in ("files", "file_hashes"):
        value = row.get(col)
        row[col] = [str(v) for v in value] if isinstance(value, (list, np.ndarray)) else []
    return row


def retract_source(
    store: GraphStore,
    source_id: str,
    reason: str,
    *,
    retracted_by: str,
    now: dt.datetime | None = None,
) -> RetractionReport:
    """Retract ``source_id`` from ``store`` (see the module notes).

    Raises
    ------
    ConfigError
        Unknown or already retracted source, or an empty reason: nothing changed.
    StoreError
        A remaining source that shares records has no kept copy (ingested before graphintel
        kept them): nothing changed.
    """
    if not reason or not reason.strip():
        raise ConfigError(
            "--reason is empty: a retraction records why (e.g. the court order excluding it)"
        )
    sources = store.sources()
    known = [str(s) for s in sources["source_id"]]
    if source_id not in known:
        raise ConfigError(
            f"unknown source {source_id!r} in store {store.uri}: known sources are "
            f"{', '.join(known) or 'none'}"
        )
    retracted = store.retractions()
    if source_id in set(retracted["source_id"].astype(str)):
        row = retracted[retracted["source_id"].astype(str) == source_id].iloc[0]
        raise ConfigError(
            f"source {source_id} was already retracted on {row['retracted_at']} by "
            f"{row['retracted_by']} ({row['reason']}); nothing changed"
        )
    now = now or dt.datetime.now(dt.UTC)
    case_id = str(sources.loc[sources["source_id"] == source_id, "case_id"].iloc[0])

    # 1. the keys of every record the source is on
    affected: dict[str, pd.DataFrame] = {}
    others: set[str] = set()
    for table in TABLES:
        cols = affected_key_columns(table)
        frame = store.table(table, columns=[*cols, "source_ids"])
        if frame.empty:
            continue
        ex = frame["source_ids"].explode()
        rows = ex.index[ex.to_numpy() == source_id].unique()
        if len(rows) == 0:
            continue
        keys = _as_stored_keys(frame.loc[rows], table, cols)
        affected[table] = keys
        probe = _key_strings(frame, table, cols)
        hit = probe.merge(keys.assign(_hit=True), on=cols, how="left")["_hit"].notna().to_numpy()
        on = frame.loc[hit, "source_ids"].explode().dropna().unique()
        others |= {str(s) for s in on if s != source_id}

    # 2. the remaining sources' kept rows for those keys
    copies = [c for c in load_source_copies(store) if c.source_id != source_id]
    missing = sorted(others - {c.source_id for c in copies})
    if missing:
        raise StoreError(
            f"cannot retract {source_id}: sources {', '.join(missing)} share records with it but "
            "the store keeps no copy of their rows (they were ingested by an older graphintel). "
            "Nothing changed. Rebuild the store by ingesting the other bundles into a new one"
        )
    replay: list[tuple[str, dict[str, pd.DataFrame]]] = []
    survivors: dict[str, list[pd.DataFrame]] = {t: [] for t in affected}
    for copy in copies:
        tables: dict[str, pd.DataFrame] = {}
        for table, keys in affected.items():
            frame = copy.tables.get(table)
            if frame is None or frame.empty:
                continue
            cols = affected_key_columns(table)
            probe = _key_strings(frame, table, cols)
            hit = probe.merge(keys.assign(_hit=True), on=cols, how="left")["_hit"]
            flag = hit.notna().to_numpy()
            if not flag.any():
                continue
            tables[table] = frame[flag].reset_index(drop=True)
            survivors[table].append(probe[flag].drop_duplicates())
        if tables:
            replay.append((copy.source_id, tables))

    removed: dict[str, pd.DataFrame] = {}
    reset: dict[str, pd.DataFrame] = {}
    for table, keys in affected.items():
        cols = affected_key_columns(table)
        alive = (
            pd.concat(survivors[table], ignore_index=True).drop_duplicates()
            if survivors[table]
            else keys.iloc[0:0]
        )
        flagged = keys.merge(alive, on=cols, how="left", indicator=True)
        reset[table] = flagged.loc[flagged["_merge"] == "both", cols].reset_index(drop=True)
        removed[table] = flagged.loc[flagged["_merge"] == "left_only", cols].reset_index(drop=True)

    report = RetractionReport(
        source_id=source_id,
        case_id=case_id,
        reason=reason.strip(),
        retracted_by=retracted_by,
        retracted_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        removed={t: len(f) for t, f in removed.items()},
        changed={t: len(f) for t, f in reset.items()},
        replayed=list(dict.fromkeys(sid for sid, _ in replay)),
    )

    # 3. delete and rebuild; 4. tombstone, forget the copy, clear analytics
    transaction = getattr(store, "transaction", None)
    with transaction() if transaction is not None else nullcontext():
        store.drop_records(removed, reset)
        for sid, tables in replay:
            full = {
                t: tables.get(t, _empty(t)).reindex(columns=_stored_without_sources(t))
                for t in TABLES
            }
            store.write_bundle(Bundle(source=_source_row(sources, sid), tables=full))
        store.record_retraction(
            source_id,
            {
                "retracted_at": report.retracted_at,
                "retracted_by": retracted_by,
                "reason": report.reason,
                "records_removed": sum(report.removed.values()),
                "records_changed": sum(report.changed.values()),
            },
        )
        store.delete_source_copies(source_id)
        for name in RESULT_TABLES:
            store.write_results(
                name, pd.DataFrame({c: pd.Series(dtype=object) for c in result_columns(name)})
            )
    return report


def _key_strings(frame: pd.DataFrame, table: str, cols: list[str]) -> pd.DataFrame:
    out = frame[cols].astype(object).copy()
    for col in cols:
        if col in OPTIONAL_KEY_COLUMNS.get(table, ()):
            out[col] = out[col].where(out[col].notna(), "")
        out[col] = out[col].astype(str)
    return out


def _stored_without_sources(table: str) -> list[str]:
    return [c for c in table_columns(table) if c != "source_ids"]


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in _stored_without_sources(table)})
