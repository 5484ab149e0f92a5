"""The ingest job: manifest → read → validate → transform → load, all or nothing.

Stages are pure functions in their own modules (:mod:`ingest.manifest`, :mod:`ingest.csv_reader`,
:mod:`ingest.telegram_export`, :mod:`ingest.validate`, :mod:`ingest.pseudonymise`); this module
orchestrates them and returns a typed :class:`IngestReport`. The whole bundle is validated before
anything is written, so a bad bundle leaves the store exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from graphintel.config import Settings
from graphintel.errors import ManifestError, ValidationError, ValidationFailure, set_stage
from graphintel.model import NODE_TABLES, TABLES, table_columns
from graphintel.retraction import save_source_copy, source_copy_blobs
from graphintel.store.base import Bundle, GraphStore, check_provenance
from ingest.csv_reader import read_csv_table
from ingest.manifest import Manifest, load_manifest
from ingest.pseudonymise import phone_tokens, pii_key
from ingest.validate import FILE, LINE, validate_table

__all__ = [
    "IngestReport",
    "ingest_manifest",
    "prepare_bundle",
    "read_bundle_tables",
    "source_record",
]


@dataclass
class IngestReport:
    """What one ingest did."""

    manifest: str
    source_id: str
    case_id: str
    skipped: bool = False
    rows_read: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    rows_valid: dict[str, int] = field(default_factory=dict)
    inferred: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    path: str = "exact"  # "fast" (ingest.fast) or "exact" (pandas, every message)
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds per stage
    stages_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds (all threads)

    def lap(self, stage: str, since: tuple[float, float]) -> tuple[float, float]:
        """Add the time since ``since`` (a :func:`clock` reading) to ``stage``; a new reading."""
        now = clock()
        self.stages[stage] = self.stages.get(stage, 0.0) + now[0] - since[0]
        self.stages_cpu[stage] = self.stages_cpu.get(stage, 0.0) + now[1] - since[1]
        return now

    def summary(self) -> str:
        if self.skipped:
            return (
                f"{self.manifest}: already ingested (every file's sha256 is recorded on source "
                f"{self.source_id}); nothing changed."
            )
        read = sum(self.rows_read.values())
        wrote = sum(v for k, v in self.written.items() if k != "sources")
        rate = read / self.seconds if self.seconds else 0.0
        inferred = ", ".join(f"{v} {k}" for k, v in self.inferred.items() if v) or "none"
        return (
            f"Ingested {self.manifest} (case {self.case_id}, source {self.source_id}): "
            f"{read} rows read, {wrote} records merged, inferred nodes: {inferred}; "
            f"{self.seconds:.1f} s ({rate:,.0f} rows/s)."
        )


def clock() -> tuple[float, float]:
    """(wall, CPU of the whole process) seconds, for :meth:`IngestReport.lap`."""
    return time.perf_counter(), time.process_time()


def read_bundle_tables(
    manifest: Manifest, *, progress: bool = False
) -> tuple[dict[str, list[pd.DataFrame]], list[ValidationFailure], dict[str, int]]:
    """Read every file of the manifest into raw canonical frames (strings + ``_file``/``_line``)."""
    raw: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    failures: list[ValidationFailure] = []
    rows_read: dict[str, int] = {}
    for f in manifest.files:
        if f.table == "telegram_export":
            from ingest.telegram_export import read_telegram_export

            for table, frame in read_telegram_export(
                f.path, display_name=f.name, progress=progress
            ).items():
                if frame is None or frame.empty:
                    continue
                frame = frame.copy()
                frame[FILE] = f.name
                raw[table].append(frame)
                rows_read[f"{f.name}:{table}"] = len(frame)
            continue
        frame, problems = read_csv_table(f.path, f.table, name=f.name, progress=progress)
        failures += problems
        if not problems:
            frame[FILE] = f.name
            raw[f.table].append(frame)
            rows_read[f.name] = len(frame)
    return raw, failures, rows_read


def prepare_bundle(manifest: Manifest, settings: Settings, *, progress: bool = False):
    """Read, validate and transform a bundle without writing anything.

    Returns
    -------
    bundle, report
        A :class:`~graphintel.store.base.Bundle` ready for ``store.write_bundle`` and a partly
        filled :class:`IngestReport`.

    Raises
    ------
    ValidationError
        Any rule failed anywhere in the bundle (every failure is collected first).
    """
    report = IngestReport(str(manifest.path), manifest.source_id, manifest.case_id)
    raw, failures, report.rows_read = read_bundle_tables(manifest, progress=progress)
    typed: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        frames = raw[table]
        if not frames:
            continue
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        valid, problems = validate_table(frame, table)
        failures += problems
        typed[table] = valid
        report.rows_valid[table] = len(valid)
    if failures:
        raise ValidationError(failures)

    if "accounts" in typed:
        accounts = typed["accounts"]
        accounts["phone_token"] = phone_tokens(accounts["phone"], pii_key(settings))
        typed["accounts"] = accounts.drop(columns=["phone"])
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        cols = [c for c in table_columns(table) if c != "source_ids"]
        frame = typed.get(table)
        tables[table] = (
            pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
            if frame is None
            else frame.drop(columns=[FILE, LINE]).reindex(columns=cols)
        )
    for node in NODE_TABLES:
        tables[node], report.inferred[node] = _add_inferred_nodes(node, tables)
    return Bundle(source=source_record(manifest), tables=tables), report


def source_record(manifest: Manifest) -> dict:
    """The bundle's Source record (provenance, files with their sha256, ingest time)."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "source_id": manifest.source_id,
        "case_id": manifest.case_id,
        "method": manifest.method,
        "legal_basis": manifest.legal_basis,
        "collected_at": manifest.collected_at,
        "collected_by": manifest.collected_by,
        "files": [f"{f.name} sha256={f.sha256} table={f.table}" for f in manifest.files],
        "file_hashes": sorted({f.sha256 for f in manifest.files}),
        "ingested_at": now,
    }


def _add_inferred_nodes(node: str, tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """Add a minimal ``inferred`` node for every id referenced but never defined."""
    key = TABLES[node].key[0]
    defined = tables[node]
    refs = [
        tables[t][col]
        for t, spec in TABLES.items()
        for col, target in spec.references.items()
        if target == node and len(tables[t])
    ]
    if not refs:
        return defined, 0
    referenced = pd.Index(pd.concat(refs, ignore_index=True).dropna().to_numpy(dtype=object))
    known = pd.Index(defined[key].dropna().to_numpy(dtype=object))
    missing = referenced.difference(known)
    missing = pd.Series(missing[missing != ""], dtype=object)
    if missing.empty:
        return defined, 0
    extra = pd.DataFrame({key: missing.sort_values().to_numpy(), "inferred": True})
    extra = extra.reindex(columns=defined.columns)
    extra["inferred"] = True
    merged = extra if defined.empty else pd.concat([defined, extra], ignore_index=True)
    return merged, len(extra)


def ingest_manifest(
    manifest_path: str | Path,
    store: GraphStore,
    settings: Settings,
    *,
    progress: bool = False,
) -> IngestReport:
    """Validate a bundle completely, then merge it into ``store``.

    Re-ingesting a bundle whose files' sha256 digests are all recorded already changes nothing.

    Raises
    ------
    ManifestError, InputFormatError, ValidationError
        The bundle is not acceptable; nothing was written (no store file is created either).
    ProvenanceError
        The bundle's ``source_id`` is stored with a different case, method, legal basis or
        collection: provenance is written once, a changed source needs a new ``source_id``.
    StoreUnavailable
        The store location cannot be written (a parent is a file, permissions, …).
    StoreError
        The store rejected the write (its transaction was rolled back).
    """
    started = time.perf_counter()
    set_stage("reading the manifest")
    manifest = load_manifest(manifest_path)
    opened = time.perf_counter()  # then the store: a writer copies its file first
    # Before any work: a store location that cannot be written, and provenance that would
    # rewrite a known source, are refused. Nothing here creates the store (an absent DuckDB file
    # reads as empty); the schema is made only once the whole bundle has passed.
    check = getattr(store, "check_writable", None)
    if check is not None:
        check()
    source_fields = {"source_id": manifest.source_id, **manifest.provenance()}
    check_provenance(store.sources(), source_fields)
    retracted = store.retractions()
    if manifest.source_id in set(retracted["source_id"].astype(str)):
        row = retracted[retracted["source_id"].astype(str) == manifest.source_id].iloc[0]
        raise ManifestError(
            f"source {manifest.source_id} in {manifest.path} was retracted on "
            f"{row['retracted_at']} by {row['retracted_by']} ({row['reason']}): its records "
            "cannot be ingested again; nothing was written"
        )
    hashes = {f.sha256 for f in manifest.files}
    if hashes <= store.known_file_hashes():
        report = IngestReport(
            str(manifest.path), manifest.source_id, manifest.case_id, skipped=True
        )
        report.files = {f.name: f.sha256 for f in manifest.files}
        report.seconds = time.perf_counter() - started
        return report
    t0 = clock()
    set_stage("reading and validating the bundle")
    fast = None
    if getattr(store, "accepts_arrow", False):
        from ingest.fast import prepare_bundle_fast

        # Arrow + DuckDB; None when not certain, then the exact path decides (same messages)
        fast = prepare_bundle_fast(manifest, settings, progress=progress)
    if fast is None:
        t = clock()
        bundle, report = prepare_bundle(manifest, settings, progress=progress)
        report.lap("prepare", t)
    else:
        bundle, report = fast
    report.stages = {
        "manifest": opened - started,
        "store_open": t0[0] - opened,
        **report.stages,
    }
    report.files = {f.name: f.sha256 for f in manifest.files}
    set_stage("merging into the store")
    store.ensure_schema()
    transaction = getattr(store, "transaction", None)
    with transaction() if transaction is not None else nullcontext():
        if fast is not None:
            # Arrow tables: encode their copies first, then let the store free each table
            # once merged (peak memory: the bundle, not the bundle and the store's buffers).
            t = clock()
            blobs = source_copy_blobs(bundle)
            t = report.lap("source_copy", t)
            report.written = store.write_bundle(bundle, progress=progress, release=True)
            t = report.lap("merge", t)
            save_source_copy(store, bundle, blobs)
            del blobs
            t = report.lap("source_copy", t)
        else:
            t = clock()
            report.written = store.write_bundle(bundle, progress=progress)
            t = report.lap("merge", t)
            # the validated rows, per source, so a retraction can rebuild what others reported
            save_source_copy(store, bundle)
            t = report.lap("source_copy", t)
    report.lap("commit", t)
    report.seconds = time.perf_counter() - started
    set_stage("raising alerts and publishing the store")
    return report
