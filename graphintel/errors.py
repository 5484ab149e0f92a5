"""One error hierarchy for graphintel.

Every message says what was wrong, the offending value, and what is allowed or what to do.
The CLI prints ``str(error)`` as one paragraph and exits non-zero; no traceback is shown for
these errors because they describe user input or the environment, not a bug.
"""

from __future__ import annotations

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
    "SimulationError",
    "StoreError",
    "StoreUnavailable",
    "UserError",
    "ValidationError",
    "ValidationFailure",
    "clip",
    "clip_repr",
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
