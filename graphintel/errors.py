"""One error hierarchy for graphintel.

Every message says what was wrong, the offending value, and what is allowed or what to do.
The CLI prints ``str(error)`` as one paragraph and exits non-zero; no traceback is shown for
these errors because they describe user input or the environment, not a bug.
"""

from __future__ import annotations

import errno
import sys
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = [
    "AccessDenied",
    "AnalyticsError",
    "AuditError",
    "ConfigError",
    "DossierError",
    "GraphIntelError",
    "InputFormatError",
    "ManifestError",
    "Neo4jSetupError",
    "NotifyError",
    "ProvenanceError",
    "ResourceExhausted",
    "SimulationError",
    "StoreError",
    "StoreUnavailable",
    "UserError",
    "ValidationError",
    "ValidationFailure",
    "clip",
    "clip_repr",
    "current_stage",
    "resource_exhausted",
    "set_stage",
]

CLIP = 80
"""Characters of an offending value echoed in a message; the rest is counted, not shown."""
MESSAGE_LIMIT = 2_000
"""Characters of a whole message the CLI prints; the rest is counted, not shown."""


def clip(value: object, limit: int = CLIP) -> str:
    """``str(value)`` cut to ``limit`` characters, then ``… (N more)``.

    Hostile input must not turn a message into a flood: every value a message echoes goes
    through here.

    Example
    -------
    >>> clip("x" * 100, 5)
    'xxxxx… (95 more)'
    >>> clip("short")
    'short'
    """
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more)"


def clip_repr(value: object, limit: int = CLIP) -> str:
    """``repr`` of the first ``limit`` characters of ``str(value)``, then ``… (N more)``.

    Example
    -------
    >>> print(clip_repr("abc" * 30, 4))
    'abca'… (86 more)
    """
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text) - limit:,} more)"


class GraphIntelError(Exception):
    """Root of every error graphintel raises on purpose."""

    exit_code = 2


class ConfigError(GraphIntelError):
    """A setting (environment variable, store URI, option) is invalid."""


class ManifestError(GraphIntelError):
    """manifest.yaml is missing, unreadable or lacks required provenance."""


class ProvenanceError(ManifestError):
    """A known ``source_id`` came back with different provenance: provenance is written once."""


class InputFormatError(GraphIntelError):
    """A source file cannot be read at all (encoding, truncated JSON, malformed CSV)."""


@dataclass(frozen=True)
class ValidationFailure:
    """One failed rule on one value of one record."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = clip(self.file)
        if self.line is not None:
            where += f" line {self.line}"
        if self.column:
            where += f", column {clip(self.column)}"
        shown = "" if self.value is None else f" (value {clip_repr(self.value)})"
        return f"{where}: {self.rule}{shown}"


class ValidationError(GraphIntelError):
    """The bundle broke one or more rules; nothing was written.

    ``failures`` holds every failure found (validation is lazy: it collects all of them before
    deciding), the message shows the first few and counts the rest.
    """

    def __init__(self, failures: list[ValidationFailure], *, shown: int = 5):
        self.failures = list(failures)
        head = "; ".join(str(f) for f in self.failures[:shown])
        rest = len(self.failures) - shown
        more = f"; and {rest} more problem(s)" if rest > 0 else ""
        super().__init__(
            f"The bundle was not ingested, nothing was written: {head}{more}. "
            "Fix the source files (or the manifest) and run ingest again."
        )


class StoreError(GraphIntelError):
    """The store rejected an operation."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or opened."""


class Neo4jSetupError(GraphIntelError):
    """The local Neo4j server could not be fetched, configured, started or stopped."""


class SimulationError(GraphIntelError):
    """Simulator options are out of range."""


class AnalyticsError(GraphIntelError):
    """Analytics cannot run on what the store holds."""


class NotifyError(GraphIntelError):
    """The local command given to receive new alerts (``--notify-cmd``) failed."""


class AuditError(GraphIntelError):
    """The audit trail is unreadable or fails verification (``seq`` names the first bad entry)."""

    def __init__(self, message: str, *, seq: int | None = None):
        super().__init__(message)
        self.seq = seq


class UserError(GraphIntelError):
    """A user-management request is invalid (unknown user or role, unknown case, bad password)."""


class AccessDenied(GraphIntelError):
    """The logged-in user's role does not allow the action."""


class DossierError(GraphIntelError):
    """A dossier cannot be built (unknown account, output folder in use) or fails verification."""


class ResourceExhausted(GraphIntelError):
    """The machine ran out of memory or disk space while a command ran (exit status 3).

    Raised by the CLI's one error handler from the library's own exception (``MemoryError``,
    ``pyarrow.ArrowMemoryError``, ``duckdb.OutOfMemoryException``, ``OSError`` ENOSPC, DuckDB's
    I/O errors for a full disk); see :func:`resource_exhausted`.
    """

    exit_code = 3


_STAGE: ContextVar[str | None] = ContextVar("graphintel_stage", default=None)

_NO_SPACE = ("no space left on device", "disk quota exceeded", "not enough space on the disk")
_NO_MEMORY = (
    "out of memory",
    "bad_alloc",
    "cannot allocate memory",
    "failed to allocate",
    "could not allocate",
    "memory allocation failed",
    "malloc of size",
    "memoryerror",  # DuckDB quoting a Python MemoryError raised while it read an Arrow stream
    "failed to launch worker thread",  # a thread's stack could not be mapped
)


def set_stage(name: str | None) -> None:
    """Name the stage under way (``"merge into the store"``): resource errors quote it."""
    _STAGE.set(name)


def current_stage() -> str | None:
    """The stage last named by :func:`set_stage`, or None."""
    return _STAGE.get()


def _resource_kind(err: BaseException) -> str | None:
    """``"memory"``, ``"disk"`` or None for one exception (its cause chain is not followed)."""
    if isinstance(err, MemoryError):  # numpy's _ArrayMemoryError and ArrowMemoryError too
        return "memory"
    text = str(err).lower()
    if isinstance(err, OSError) and (
        err.errno in (errno.ENOSPC, errno.EDQUOT) or any(t in text for t in _NO_SPACE)
    ):
        return "disk"
    if isinstance(err, OSError) and err.errno == errno.ENOMEM:
        return "memory"
    duckdb = sys.modules.get("duckdb")  # an exception of a library never loaded is not its own
    if duckdb is not None and isinstance(err, duckdb.Error):
        if isinstance(err, duckdb.OutOfMemoryException) or any(t in text for t in _NO_MEMORY):
            return "memory"
        if any(t in text for t in _NO_SPACE):
            return "disk"
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and isinstance(err, pyarrow.ArrowException):
        if any(t in text for t in _NO_MEMORY):
            return "memory"
        if any(t in text for t in _NO_SPACE):
            return "disk"
    return None


def resource_exhausted(
    err: BaseException, command: str, *, store_note: str | None = None
) -> ResourceExhausted | None:
    """A :class:`ResourceExhausted` for ``err`` if it (or its cause) is memory or disk running out.

    Parameters
    ----------
    err : BaseException
        What a command raised; its ``__cause__`` / ``__context__`` chain is searched too (a
        ``StoreError`` raised from a DuckDB out-of-memory error is one).
    command : str
        The CLI command (``"ingest"``), quoted in the message with :func:`current_stage`.
    store_note : str, optional
        What became of the store (unchanged or not); a generic sentence when not given.

    Returns
    -------
    ResourceExhausted or None
        None when ``err`` is not about memory or disk.

    Example
    -------
    >>> set_stage(None)  # no stage named (else the message quotes it)
    >>> e = resource_exhausted(MemoryError(), "analyze", store_note="The store is unchanged.")
    >>> e.exit_code, str(e).split(":")[0]
    (3, 'ran out of memory during analyze')
    """
    kind, seen, cur = None, set(), err
    while cur is not None and id(cur) not in seen and kind is None:
        seen.add(id(cur))
        kind = _resource_kind(cur)
        cur = cur.__cause__ or cur.__context__
    if kind is None:
        return None
    stage = current_stage()
    where = f"{command} ({stage})" if stage else command
    text = " ".join(str(err).split())
    text = text.split(" Possible solutions:")[0]  # DuckDB's own list; the advice below is ours
    detail = clip(text or type(err).__name__, 200)
    note = store_note or "Nothing was published: a store keeps its last complete contents."
    if kind == "memory":
        advice = (
            "Free memory (stop other large jobs; `free -g` shows what is available), lower "
            "DuckDB's share with GRAPHINTEL_DUCKDB_MEMORY (e.g. 4GB; DuckDB then spills to "
            "GRAPHINTEL_DUCKDB_TEMP), use fewer threads with GRAPHINTEL_DUCKDB_THREADS=1, lift a "
            "`ulimit -v` if one is set, or run on a machine with more memory (README: "
            '"Past 10 M accounts").'
        )
        what = "ran out of memory"
    else:
        advice = (
            "Free disk space where the store, its working copy (PATH.writing-PID, as large as "
            "the store) and DuckDB's temporary files (GRAPHINTEL_DUCKDB_TEMP) live "
            "(`df -h` shows it), or point them at a bigger disk, then run the command again."
        )
        what = "ran out of disk space"
    return ResourceExhausted(f"{what} during {where}: {detail}. {note} {advice}")
