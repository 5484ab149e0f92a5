"""The one seam between graphintel and its databases: the :class:`GraphStore` protocol.

Ingest, analytics, the CLI and the dashboard only know this protocol. Two implementations:
:class:`graphintel.store.duckdb_store.DuckDBStore` (embedded, default) and
:class:`graphintel.store.neo4j_store.Neo4jStore` (real Neo4j 5 over Bolt). One contract test
suite (``tests/test_store_contract.py``) runs against both.

Semantics every implementation keeps
------------------------------------
* Tables are the canonical tables of :mod:`graphintel.model` in their *stored* form
  (:func:`graphintel.model.table_columns`): ``phone`` replaced by ``phone_token``, ``inferred`` on
  node tables, ``source_ids`` (list of str) everywhere.
* ``write_bundle`` merges by each table's key: a record already present keeps its key, takes
  every non-null attribute of the new record (``coalesce(new, old)``), ``inferred`` becomes
  ``old AND new`` (a defined record clears the flag) and ``source_ids`` becomes the sorted union.
  Writing the same bundle twice changes nothing.
* Optional key columns (``invites.channel_id``, ``invites.invited_at``, ``forwards.ts``) are
  stored as ``''`` when missing (Neo4j cannot MERGE on null) and read back as ``None``.
* ``counts()`` gives :data:`graphintel.model.COUNT_KEYS`; ``content`` counts distinct hashes.
* Analytics results are whole tables replaced on every ``write_results`` (see :data:`graphintel.model.RESULT_TABLES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from graphintel.errors import ProvenanceError, StoreError, clip_repr
from graphintel.model import (  # the schema constants live in model; re-exported here
    ACCOUNT_METRIC_COLUMNS,
    CASE_TABLES,
    CHANNEL_METRIC_COLUMNS,
    OPTIONAL_KEY_COLUMNS,
    RESULT_TABLES,
    SOURCE_COLUMNS,
    TABLES,
    CaseTableSpec,
    table_columns,
)

__all__ = [
    "CANDIDATE_COLUMNS",
    "OPTIONAL_KEY_COLUMNS",
    "PROVENANCE_FIELDS",
    "RESULT_TABLES",
    "RETRACTION_COLUMNS",
    "SOURCE_COLUMNS",
    "Bundle",
    "GraphStore",
    "case_spec",
    "check_provenance",
    "checked_columns",
    "restore_optional_keys",
    "result_columns",
]


# What a store's ``alert_candidates()`` returns: one row per rule match (the alert's columns
# without the ones graphintel.watch adds: alert_id, raised_at, acked_at, ack_note).
CANDIDATE_COLUMNS = (
    "rule",
    "activity",
    "channel_id",
    "org_id",
    "account_id",
    "other_account_id",
    "content_hash",
    "observed_at",
    "watch_kind",
    "watch_value",
    "source_ids",
)

# A retracted source's tombstone (the Source record itself stays).
RETRACTION_COLUMNS = (
    "source_id",
    "retracted_at",
    "retracted_by",
    "reason",
    "records_removed",
    "records_changed",
)


def case_spec(name: str) -> CaseTableSpec:
    """The spec of case table ``name`` (watch list, alerts).

    Raises
    ------
    StoreError
        ``name`` is not a case table.
    """
    if name not in CASE_TABLES:
        raise StoreError(f"unknown case table {name!r}: expected one of {', '.join(CASE_TABLES)}")
    return CASE_TABLES[name]


def result_columns(name: str) -> tuple[str, ...]:
    """Columns of the analytics result table ``name``.

    Raises
    ------
    StoreError
        ``name`` is not a result table.
    """
    if name == "account_metrics":
        return ACCOUNT_METRIC_COLUMNS
    if name == "channel_metrics":
        return CHANNEL_METRIC_COLUMNS
    if name not in RESULT_TABLES:
        raise StoreError(
            f"unknown result table {name!r}: expected one of {', '.join(RESULT_TABLES)}"
        )
    return RESULT_TABLES[name]


def checked_columns(
    name: str, columns: list[str] | None, where: dict[str, list[Any]] | None
) -> list[str]:
    """The columns a ``table()`` call asks for, checked against the model's allow-list.

    Raises
    ------
    StoreError
        Unknown table or column.
    """
    if name not in TABLES:
        raise StoreError(f"unknown table {name!r}: expected one of {', '.join(TABLES)}")
    allowed = table_columns(name)
    cols = list(columns) if columns else allowed
    bad = [c for c in cols + list(where or {}) if c not in allowed]
    if bad:
        raise StoreError(f"unknown column(s) {bad} for table {name!r}: allowed {allowed}")
    return cols


def restore_optional_keys(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Turn the ``''`` placeholders of optional key columns back into ``None``."""
    for col in OPTIONAL_KEY_COLUMNS.get(name, ()):
        if col in frame.columns and len(frame):
            frame[col] = frame[col].astype(object).where(frame[col] != "", None)
    return frame


PROVENANCE_FIELDS = ("case_id", "method", "legal_basis", "collected_at", "collected_by")
"""Source fields written once: a known ``source_id`` must come back with the same values."""


def check_provenance(known: pd.DataFrame, source: dict[str, Any]) -> None:
    """Refuse a source whose ``source_id`` is stored with different provenance.

    Provenance is written once: the records already held keep the case, method, legal basis and
    collection the source was first ingested under. The identical source passes (idempotent).

    Raises
    ------
    ProvenanceError
        ``source["source_id"]`` is in ``known`` (a :meth:`GraphStore.sources` frame) with any of
        :data:`PROVENANCE_FIELDS` different.

    Example
    -------
    >>> known = pd.DataFrame([{"source_id": "S1", "case_id": "C1", "method": "seizure",
    ...     "legal_basis": "warrant 7", "collected_at": "2024-08-20", "collected_by": "unit 3"}])
    >>> check_provenance(known, {**known.iloc[0].to_dict()})  # the same source: fine
    >>> check_provenance(known, {**known.iloc[0].to_dict(), "legal_basis": "none"})
    Traceback (most recent call last):
    ...
    graphintel.errors.ProvenanceError: source_id 'S1' is already in the store with other provenance: legal_basis 'warrant 7' there, 'none' in this bundle. Provenance is written once: a changed source needs a new source_id (or restore the manifest's original values)
    """
    if known is None or known.empty or "source_id" not in known:
        return
    sid = str(source["source_id"])
    rows = known[known["source_id"].astype(str) == sid]
    if rows.empty:
        return
    old = rows.iloc[0]
    differ = [
        f"{c} {clip_repr(_text(old.get(c)))} there, {clip_repr(_text(source.get(c)))} in this bundle"
        for c in PROVENANCE_FIELDS
        if _text(old.get(c)) != _text(source.get(c))
    ]
    if differ:
        raise ProvenanceError(
            f"source_id {clip_repr(sid)} is already in the store with other provenance: "
            + "; ".join(differ)
            + ". Provenance is written once: a changed source needs a new source_id (or restore "
            "the manifest's original values)"
        )


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


@dataclass
class Bundle:
    """A validated, transformed bundle ready to write.

    ``source`` has the keys of :data:`SOURCE_COLUMNS`; ``tables`` maps canonical table names to
    frames in stored form *without* ``source_ids`` (every record of a bundle carries the bundle's
    ``source["source_id"]``; the store adds it). Every table is present, possibly empty; keys are
    unique within each frame; missing optional key columns are already ``''``.
    """

    source: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def rows(self) -> int:
        return int(sum(len(df) for df in self.tables.values()))


@runtime_checkable
class GraphStore(Protocol):
    """What graphintel needs from a graph store."""

    uri: str

    def ensure_schema(self) -> None:
        """Create tables/constraints if missing (idempotent, explicit: constructors do no I/O)."""

    def known_file_hashes(self) -> set[str]:
        """sha256 digests of every source file already ingested."""

    def write_bundle(self, bundle: Bundle, *, progress: bool = False) -> dict[str, int]:
        """Merge a validated bundle; returns records written per table (plus ``sources``)."""

    def table(
        self,
        name: str,
        *,
        columns: list[str] | None = None,
        where: dict[str, list[Any]] | None = None,
    ) -> pd.DataFrame:
        """A canonical table (stored form), optionally filtered: ``where`` = column -> allowed
        values (AND across columns). Columns and names are checked against the model."""

    def sources(self) -> pd.DataFrame:
        """The Source records (columns :data:`SOURCE_COLUMNS`)."""

    def counts(self) -> dict[str, int]:
        """Record counts for :data:`graphintel.model.COUNT_KEYS`."""

    def write_results(self, name: str, frame: pd.DataFrame) -> None:
        """Replace the analytics result table ``name`` (a key of :data:`RESULT_TABLES`)."""

    def results(self, name: str) -> pd.DataFrame:
        """An analytics result table; an empty frame (with its columns) before analytics ran."""

    def case_table(self, name: str) -> pd.DataFrame:
        """A case table (``watchlist`` or ``alerts``, :data:`graphintel.model.CASE_TABLES`),
        sorted by its key; empty (with its columns) when nothing was written yet."""

    def write_case_rows(self, name: str, frame: pd.DataFrame, *, replace: bool = False) -> int:
        """Insert the rows of ``frame`` whose key is not stored yet (stored rows are left as they
        are, or overwritten whole with ``replace=True``); returns the rows inserted."""

    def delete_case_rows(self, name: str, keys: pd.DataFrame) -> int:
        """Delete the rows whose key is in ``keys`` (key columns); returns the rows deleted."""

    def alert_candidates(self) -> pd.DataFrame:
        """Every match of the alert rules over the whole store (columns
        :data:`CANDIDATE_COLUMNS`), computed set-wise in the store."""

    def close(self) -> None:
        """Release connections. Whoever opened the store closes it."""

    # -- legal controls (issue 11) --------------------------------------------------------------
    def record_audit_head(self, seq: int, digest: str, chain: str | None = None) -> None:
        """Record the audit log's last entry ``seq``/``hash`` as the head of audit chain
        ``chain`` (:func:`graphintel.audit.chain_id`; kept only if newer for that chain)."""

    def audit_head(self, chain: str | None = None) -> tuple[int, str] | None:
        """The last audit entry recorded in this store (of ``chain`` when given), or ``None``."""

    def audit_heads(self) -> list[tuple[str, int, str, str | None]]:
        """Every head recorded for this store as ``(where, seq, hash, chain)``, one per chain
        (DuckDB: the table's and the side file's; Neo4j: the ``AuditHead`` nodes'); ``chain``
        ``None`` is a legacy head, recorded before heads were keyed by chain."""

    def write_source_copy(
        self, source_id: str, batch: str, order: int, blobs: list[tuple[str, int, bytes]]
    ) -> None:
        """Keep one ingest's validated rows of a source (Parquet blobs per table and part)."""

    def source_copies(self) -> list[tuple[str, str, int, str, int, bytes]]:
        """Every kept copy ``(source_id, batch, order, table, part, data)``, in ingest order."""

    def delete_source_copies(self, source_id: str) -> None:
        """Forget the kept copies of one source."""

    def drop_records(
        self, removed: dict[str, pd.DataFrame], reset: dict[str, pd.DataFrame]
    ) -> None:
        """Delete records by key before a retraction merges the survivors again."""

    def record_retraction(self, source_id: str, info: dict[str, Any]) -> None:
        """Mark a source retracted (columns of :data:`RETRACTION_COLUMNS`)."""

    def retractions(self) -> pd.DataFrame:
        """Retracted sources (:data:`RETRACTION_COLUMNS`)."""
