"""Stage 2 of ingest: type and check a canonical table, collecting every failure.

Validation is lazy (after pandera): it runs every rule over whole columns, collects each failure
with file, line, column, value and rule, and only then decides. Rules:

* required columns hold a value; ids are non-empty strings (surrounding blanks are trimmed);
* ``bool`` columns hold true/false/1/0/yes/no; ``float`` columns a finite number (credits ≥ 0, lat in
  [-90, 90], lon in [-180, 180]);
* ``ts`` columns an ISO-8601 date or timestamp (normalised to ``YYYY-MM-DDTHH:MM:SS``, converted to
  UTC when it carries an offset);
* enum columns one of their allowed values (case-insensitive);
* records with the same key must agree: identical duplicates collapse, conflicting ones fail;
* ``takedowns``: ``confirmed_at`` is given exactly when ``status`` is ``confirmed``, and never
  before ``requested_at``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphintel.errors import ValidationFailure
from graphintel.model import NODE_TABLES, OPTIONAL_KEY_COLUMNS, TABLES

__all__ = ["FILE", "MAX_FAILURES", "validate_table"]

FILE = "_file"
LINE = "_line"
MAX_FAILURES = 10_000
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_RANGES = {
    "credits": (0.0, None),
    "amount_krw": (0.0, None),
    "lat": (-90.0, 90.0),
    "lon": (-180.0, 180.0),
}


_CANONICAL_TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"


def _as_text(s: pd.Series) -> pd.Series:
    """Strings (Arrow-backed, vectorised), ``""`` for missing."""
    return s.astype("string[pyarrow]").fillna("")


def _failures(
    frame: pd.DataFrame, mask: np.ndarray, column: str, values: pd.Series, rule: str, out: list
) -> None:
    idx = np.flatnonzero(mask)
    room = MAX_FAILURES - len(out)
    if room <= 0 or not len(idx):
        return
    idx = idx[:room]
    files = frame[FILE].to_numpy()[idx]
    lines = frame[LINE].to_numpy()[idx] if LINE in frame else [None] * len(idx)
    vals = values.to_numpy()[idx]
    for f, ln, v in zip(files, lines, vals):
        line = None if ln is None or (isinstance(ln, float) and np.isnan(ln)) else int(ln)
        out.append(ValidationFailure(str(f), line, column, str(v), rule))


def validate_table(frame: pd.DataFrame, table: str) -> tuple[pd.DataFrame, list[ValidationFailure]]:
    """Type ``frame`` (strings, with ``_file`` and optional ``_line``) as canonical ``table``.

    Returns
    -------
    typed, failures
        ``typed`` has the table's columns typed (``None`` for missing values), the optional
        reader columns ``inferred``/``evidence`` when present, and ``_file``/``_line``; identical
        duplicate records are collapsed. ``failures`` is empty when the table is valid.

    Example
    -------
    >>> f = pd.DataFrame({"org_id": ["O1", "O1", ""], "name": ["A", "A", "B"], "kind": ["school",
    ...     "school", "farm"], "region": "", "lat": "", "lon": "", "_file": "o.csv", "_line": [2, 3, 4]})
    >>> typed, failures = validate_table(f, "organizations")
    >>> len(typed), [str(x) for x in failures]  # doctest: +NORMALIZE_WHITESPACE
    (3, ["o.csv line 4, column org_id: required value is empty (value '')",
         "o.csv line 4, column kind: not one of school, university, military, workplace, other
         (value 'farm')"])
    """
    spec = TABLES[table]
    failures: list[ValidationFailure] = []
    typed = pd.DataFrame(index=frame.index)
    for col in spec.columns:
        raw = _as_text(frame[col.name]) if col.name in frame else pd.Series("", index=frame.index)
        stripped = raw.str.strip()
        empty = (stripped == "").to_numpy(dtype=bool)
        if col.required:
            _failures(frame, empty, col.name, raw, "required value is empty", failures)
        if col.type in ("id", "str"):
            value = stripped if col.type == "id" else raw
            if col.enum:
                value = value.str.lower()
                bad = ~empty & ~value.isin(col.enum).to_numpy(dtype=bool)
                _failures(frame, bad, col.name, raw, f"not one of {', '.join(col.enum)}", failures)
            typed[col.name] = value.where(~empty, None)
        elif col.type == "bool":
            low = stripped.str.lower()
            is_true = low.isin(_TRUE).to_numpy(dtype=bool)
            is_false = low.isin(_FALSE).to_numpy(dtype=bool)
            bad = ~empty & ~is_true & ~is_false
            _failures(frame, bad, col.name, raw, "not a boolean (use true or false)", failures)
            typed[col.name] = pd.array(
                np.where(is_true, True, np.where(is_false, False, None)), dtype="boolean"
            )
        elif col.type == "float":
            num = pd.to_numeric(stripped.where(~empty, None), errors="coerce")
            values = num.to_numpy(dtype=float, na_value=np.nan)
            bad = ~empty & np.isnan(values)  # text, and "nan" itself
            _failures(frame, bad, col.name, raw, "not a number", failures)
            bad = ~empty & np.isinf(values)  # inf, 1e309
            _failures(frame, bad, col.name, raw, "not a finite number", failures)
            num = num.where(np.isfinite(values), np.nan)
            lo, hi = _RANGES.get(col.name, (None, None))
            if lo is not None or hi is not None:
                n = num.to_numpy(dtype=float, na_value=np.nan)
                with np.errstate(invalid="ignore"):
                    out = np.zeros(len(n), dtype=bool)
                    if lo is not None:
                        out |= n < lo
                    if hi is not None:
                        out |= n > hi
                rule = f"out of range (allowed {lo if lo is not None else '-∞'} to " + (
                    f"{hi})" if hi is not None else "∞)"
                )
                _failures(frame, out, col.name, raw, rule, failures)
            typed[col.name] = num.astype(float)
        elif col.type == "ts":
            # Fast path: values already in canonical form are parsed with one exact format and
            # kept as they are; only the others go through the ISO-8601 parser and strftime.
            canonical = stripped.str.fullmatch(_CANONICAL_TS).to_numpy(dtype=bool, na_value=False)
            exact = pd.to_datetime(
                stripped.where(canonical, None), format="%Y-%m-%dT%H:%M:%S", errors="coerce"
            )
            bad = canonical & exact.isna().to_numpy()
            text = stripped.where(canonical & ~bad, None)
            other = ~empty & ~canonical
            if other.any():
                parsed = pd.to_datetime(
                    stripped[other], format="ISO8601", errors="coerce", utc=True
                )
                bad[other] = parsed.isna().to_numpy()
                text[other] = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S")
            _failures(
                frame,
                bad,
                col.name,
                raw,
                "not an ISO-8601 timestamp (e.g. 2024-08-20 or 2024-08-20T13:05:00)",
                failures,
            )
            typed[col.name] = text
    if table in NODE_TABLES:
        if "inferred" in frame:
            typed["inferred"] = frame["inferred"].fillna(False).astype(bool).to_numpy()
        else:
            typed["inferred"] = False
    typed["evidence"] = (
        frame["evidence"].astype(object).where(frame["evidence"].notna(), None)
        if "evidence" in frame
        else None
    )
    typed[FILE] = frame[FILE].to_numpy()
    typed[LINE] = frame[LINE].to_numpy() if LINE in frame else None
    if table == "takedowns":
        _takedown_rules(typed, frame, failures)
    if failures:
        return typed, failures
    return _collapse_duplicates(typed, table, failures), failures


def _takedown_rules(typed: pd.DataFrame, frame: pd.DataFrame, failures: list) -> None:
    """Cross-column rules of ``takedowns`` (on values that typed cleanly)."""
    status = typed["status"].astype(object)
    confirmed = typed["confirmed_at"].astype(object)
    requested = typed["requested_at"].astype(object)
    has_confirmed = confirmed.notna().to_numpy(dtype=bool)
    is_confirmed = (status == "confirmed").to_numpy(dtype=bool)
    known_status = status.isin(TABLES["takedowns"].column("status").enum).to_numpy(dtype=bool)
    raw = _as_text(frame["confirmed_at"]) if "confirmed_at" in frame else confirmed
    _failures(
        frame,
        is_confirmed & ~has_confirmed,
        "confirmed_at",
        raw,
        "required when status is confirmed (when the removal was confirmed)",
        failures,
    )
    _failures(
        frame,
        known_status & ~is_confirmed & has_confirmed,
        "confirmed_at",
        raw,
        "must be empty unless status is confirmed (a requested or refused takedown has no "
        "confirmation time)",
        failures,
    )
    both = has_confirmed & requested.notna().to_numpy(dtype=bool)
    early = np.zeros(len(typed), dtype=bool)
    early[both] = (confirmed[both] < requested[both]).to_numpy(dtype=bool)
    _failures(
        frame,
        early,
        "confirmed_at",
        raw,
        "is before requested_at: dates out of order (a takedown is confirmed after it is "
        "requested)",
        failures,
    )


def _collapse_duplicates(
    typed: pd.DataFrame, table: str, failures: list[ValidationFailure]
) -> pd.DataFrame:
    spec = TABLES[table]
    key = list(spec.key)
    optional = OPTIONAL_KEY_COLUMNS.get(table, ())
    for col in optional:
        typed[col] = typed[col].where(typed[col].notna(), "")
    if len(typed) < 2 or not typed.duplicated(key).any():
        return typed
    data_cols = [c.name for c in spec.columns]
    unique = typed.drop_duplicates(data_cols)
    clash = unique.duplicated(key, keep=False)
    if clash.any():
        rows = unique[clash.to_numpy()].sort_values(key, kind="stable")
        first = rows.drop_duplicates(key)
        rest = rows[rows.duplicated(key)].head(MAX_FAILURES - len(failures))
        pairs = rest.merge(first, on=key, suffixes=("", "__first"))
        for _, row in pairs.iterrows():
            differs = [
                c for c in data_cols if c not in key and not _same(row[c], row[c + "__first"])
            ]
            where = str(row[FILE + "__first"]) + _line_text(row[LINE + "__first"])
            failures.append(
                ValidationFailure(
                    str(row[FILE]),
                    _line_number(row[LINE]),
                    ", ".join(differs),
                    "|".join(str(row[k]) for k in key),
                    f"conflicting duplicate of {where} for key {'+'.join(key)}: "
                    "records with the same key must agree",
                )
            )
        return typed
    return unique


def _line_number(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _line_text(value: object) -> str:
    line = _line_number(value)
    return "" if line is None else f" line {line}"


def _same(a: object, b: object) -> bool:
    if a is None or (isinstance(a, float) and np.isnan(a)) or a is pd.NA:
        return b is None or (isinstance(b, float) and np.isnan(b)) or b is pd.NA
    return bool(a == b)
