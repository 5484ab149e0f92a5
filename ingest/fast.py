"""The fast path of ingest: read, validate and transform a CSV bundle in Arrow and DuckDB SQL.

:func:`prepare_bundle_fast` gives the same :class:`~graphintel.store.base.Bundle` as
:func:`ingest.job.prepare_bundle` (tables as Arrow tables instead of pandas frames) for a bundle
that passes every rule, without a Python loop or a pandas column operation over the rows:

* each file is read by :func:`ingest.csv_reader.read_csv_arrow` (the same hostile-input checks
  as the exact reader: header, quotes by physical line, field counts, row size);
* text, ids and timestamps are checked and typed on the Arrow buffers with NumPy (blank
  trimming only for columns that may need it, empty values made missing by a validity bitmap,
  canonical timestamps checked digit by digit against the real calendar);
* enums, booleans and numbers are one DuckDB query per table over the Arrow table, which also
  yields one flag per row, "not certainly valid";
* duplicate keys (one ``count(DISTINCT …)``), phone tokens (HMAC-SHA256 from two SHA-256) and
  inferred nodes (an anti-join per node table) are DuckDB SQL.

The fast path only ever *accepts*. Whenever it is not certain — a failure of any rule, a value
whose checks it leaves to the exact code (non-ASCII text in an enum, boolean or blank-trimmed
column, a timestamp not in canonical form or outside 1678-2261, ``-0``, digit separators), a missing
column, a blank line, a takedowns table, a Telegram export — it returns ``None`` and the caller
runs the exact path, which then reports every failure with file, line, column and value exactly
as before (or accepts the bundle just as before). So messages and results cannot differ.
"""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphintel.config import Settings
from graphintel.model import NODE_TABLES, OPTIONAL_KEY_COLUMNS, TABLES, table_columns
from graphintel.store.base import Bundle
from ingest.csv_reader import read_csv_arrow
from ingest.manifest import Manifest
from ingest.pseudonymise import pii_key
from ingest.validate import _FALSE, _RANGES, _TRUE

__all__ = ["prepare_bundle_fast"]

_ARROW_TYPES = {
    "id": pa.string(),
    "str": pa.string(),
    "ts": pa.string(),
    "bool": pa.bool_(),
    "float": pa.float64(),
}


def _arrow(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pa.Table:
    """The result of ``sql`` as one Arrow table (no extra copy of the rows)."""
    return con.sql(sql, params=params or None).to_arrow_table()


def _q(identifier: str) -> str:
    """Quote an identifier that comes from the model's allow-list."""
    return '"' + identifier.replace('"', '""') + '"'


# A value may need trimming (pyarrow's utf8_trim_whitespace, what pandas' str.strip runs) only
# when its first or last character is ASCII blank/control (<= ' ') or not ASCII (> '~'): only
# such columns are trimmed, in Arrow; the others are their own trimmed form.
def _may_need_trim(column: pa.ChunkedArray) -> bool:
    """Whether a value's first or last byte is ASCII blank/control (<= 0x20) or not ASCII
    (>= 0x7f): only then can trimming change it. Reads the Arrow buffers with NumPy."""
    for chunk in column.chunks:
        n = len(chunk)
        if not n:
            continue
        if chunk.type != pa.string():
            chunk = chunk.cast(pa.string())
        _validity, offsets, data = chunk.buffers()
        if data is None:
            continue
        off = np.frombuffer(offsets, dtype=np.int32, count=n + 1, offset=chunk.offset * 4)
        raw = np.frombuffer(data, dtype=np.uint8)
        filled = off[1:] > off[:-1]
        if not filled.any():
            continue
        first = raw[off[:-1][filled]]
        last = raw[off[1:][filled] - 1]
        if ((first <= 0x20) | (first >= 0x7F) | (last <= 0x20) | (last >= 0x7F)).any():
            return True
    return False


def _column_sql(col, stripped: str, raw: str, params: dict) -> tuple[str, str]:
    """(typed value expression, "not certainly valid" expression) of one column."""
    empty = f"({stripped} = '')"
    bad: list[str] = []
    if col.required:
        bad.append(empty)
    ascii_ = "(strlen({0}) = length({0}))"
    if col.type in ("id", "str"):
        base = stripped if col.type == "id" else raw
        value = base
        if col.enum:
            p = f"enum_{col.name}"
            params[p] = list(col.enum)
            value = f"lower({base})"
            bad.append(
                f"(NOT {empty} AND NOT ({ascii_.format(base)} AND list_contains(${p}, {value})))"
            )
        expr = f"CASE WHEN {empty} THEN NULL ELSE {value} END"
    elif col.type == "bool":
        params["bool_true"] = sorted(_TRUE)
        params["bool_false"] = sorted(_FALSE)
        low = f"lower({stripped})"
        bad.append(
            f"(NOT {empty} AND NOT ({ascii_.format(stripped)} AND "
            f"(list_contains($bool_true, {low}) OR list_contains($bool_false, {low}))))"
        )
        expr = (
            f"CASE WHEN {empty} THEN NULL WHEN list_contains($bool_true, {low}) THEN true "
            f"WHEN list_contains($bool_false, {low}) THEN false ELSE NULL END"
        )
    elif col.type == "float":
        # DuckDB's cast reads what pandas reads, and also digit separators ("1_000"), which
        # pandas refuses; "-0" is -0.0 to DuckDB but 0.0 to pandas in an integer column.
        num = f"TRY_CAST({stripped} AS DOUBLE)"
        checks = [
            f"NOT contains({stripped}, '_')",
            f"isfinite({num})",
            f"NOT ({num} = 0 AND left({stripped}, 1) = '-')",
        ]
        lo, hi = _RANGES.get(col.name, (None, None))
        if lo is not None:
            checks.append(f"{num} >= {float(lo)!r}")
        if hi is not None:
            checks.append(f"{num} <= {float(hi)!r}")
        bad.append(f"(NOT {empty} AND NOT coalesce({' AND '.join(checks)}, false))")
        expr = f"CASE WHEN {empty} THEN NULL ELSE {num} END"
    else:  # pragma: no cover - the model has no other column types
        raise ValueError(col.type)
    flag = " OR ".join(bad) if bad else "false"
    return expr, f"coalesce({flag}, true)"


def _empty_masks(column: pa.ChunkedArray) -> list[np.ndarray]:
    """Per chunk, which values are empty (or missing), from the Arrow offsets."""
    masks = []
    for chunk in column.chunks:
        n = len(chunk)
        offsets = chunk.buffers()[1]
        off = np.frombuffer(offsets, dtype=np.int32, count=n + 1, offset=chunk.offset * 4)
        empty = off[1:] == off[:-1]
        if chunk.null_count:
            empty |= pc.is_null(chunk).to_numpy(zero_copy_only=False)
        masks.append(empty)
    return masks


def _null_where(column: pa.ChunkedArray, masks: list[np.ndarray]) -> pa.ChunkedArray:
    """``column`` with the masked values missing (zero-copy: only a validity bitmap is made)."""
    chunks = []
    for chunk, mask in zip(column.chunks, masks):
        if not mask.any():
            chunks.append(chunk)
        elif chunk.offset == 0 and chunk.null_count == 0 and chunk.type == pa.string():
            bitmap = pa.py_buffer(np.packbits(~mask, bitorder="little"))
            _, offsets, data = chunk.buffers()
            chunks.append(pa.StringArray.from_buffers(len(chunk), offsets, data, bitmap))
        else:
            chunks.append(pc.if_else(pa.array(mask), pa.scalar(None, chunk.type), chunk))
    return pa.chunked_array(chunks, column.type)


_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int16)
_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
_SEPARATORS = ((4, ord("-")), (7, ord("-")), (10, ord("T")), (13, ord(":")), (16, ord(":")))


def _canonical_ts(column: pa.ChunkedArray, masks: list[np.ndarray]) -> bool:
    """Every non-empty value is ``YYYY-MM-DDTHH:MM:SS``, a real date and time, year 1678-2261.

    What the exact code keeps as it is (pandas parses it with that one format; 1678-2261 is
    inside pandas' Timestamp range on every version). Vectorised over the Arrow buffers.
    """
    for chunk, empty in zip(column.chunks, masks):
        n = len(chunk)
        if empty.all():
            continue
        _, offsets, data = chunk.buffers()
        off = np.frombuffer(offsets, dtype=np.int32, count=n + 1, offset=chunk.offset * 4)
        filled = ~empty
        starts = off[:-1][filled]
        if ((off[1:][filled] - starts) != 19).any():
            return False
        raw = np.frombuffer(data, dtype=np.uint8)
        digit = {}
        for p in _DIGITS:
            d = raw[starts + p].astype(np.int16) - 48
            if ((d < 0) | (d > 9)).any():
                return False
            digit[p] = d
        for p, sep in _SEPARATORS:
            if (raw[starts + p] != sep).any():
                return False
        year = digit[0] * 1000 + digit[1] * 100 + digit[2] * 10 + digit[3]
        month = digit[5] * 10 + digit[6]
        day = digit[8] * 10 + digit[9]
        if ((year < 1678) | (year > 2261) | (month < 1) | (month > 12) | (day < 1)).any():
            return False
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        days = _DAYS[month] + ((month == 2) & leap)
        hour = digit[11] * 10 + digit[12]
        minute = digit[14] * 10 + digit[15]
        second = digit[17] * 10 + digit[18]
        if ((day > days) | (hour > 23) | (minute > 59) | (second > 59)).any():
            return False
    return True


def _typed_table(con: duckdb.DuckDBPyConnection, table: str, raw: pa.Table) -> pa.Table | None:
    """Type one table (all its files concatenated), or ``None`` when not certainly valid.

    Text, ids and timestamps are checked and typed on the Arrow buffers (an empty value becomes
    missing by a validity bitmap, no copy); enums, booleans and numbers by one DuckDB query.
    """
    spec = TABLES[table]
    typed: dict[str, pa.ChunkedArray] = {}
    by_sql: dict[str, tuple] = {}
    for col in spec.columns:
        original = raw.column(col.name)
        trimmed = pc.utf8_trim_whitespace(original) if _may_need_trim(original) else original
        masks = _empty_masks(trimmed)
        any_empty = any(m.any() for m in masks)
        if col.required and any_empty:
            return None
        if col.type in ("id", "str") and not col.enum:
            value = trimmed if col.type == "id" else original
            typed[col.name] = _null_where(value, masks) if any_empty else value
        elif col.type == "ts":
            if not _canonical_ts(trimmed, masks):
                return None
            typed[col.name] = _null_where(trimmed, masks) if any_empty else trimmed
        else:
            by_sql[col.name] = (col, trimmed, original)
    if by_sql:
        data = {}
        for i, (_col, trimmed, original) in enumerate(by_sql.values()):
            data[f"s{i}"], data[f"r{i}"] = trimmed, original
        con.register("raw", pa.table(data))
        try:
            params: dict = {}
            selects, flags = [], []
            for i, (name, (col, _t, _o)) in enumerate(by_sql.items()):
                expr, flag = _column_sql(col, _q(f"s{i}"), _q(f"r{i}"), params)
                selects.append(f"{expr} AS {_q(name)}")
                flags.append(flag)
            sql = f"SELECT {', '.join(selects)}, ({' OR '.join(flags)}) AS __bad FROM raw"
            out = _arrow(con, sql, {k: v for k, v in params.items() if f"${k}" in sql})
        finally:
            con.unregister("raw")
        if pc.any(out.column("__bad")).as_py():
            return None
        for name in by_sql:
            typed[name] = out.column(name)
    result = pa.table([typed[c.name] for c in spec.columns], names=[c.name for c in spec.columns])
    for col in OPTIONAL_KEY_COLUMNS.get(table, ()):
        i = result.column_names.index(col)
        result = result.set_column(i, col, pc.fill_null(result.column(col), ""))
    return _collapse_duplicates(con, table, result)


def _collapse_duplicates(
    con: duckdb.DuckDBPyConnection, table: str, typed: pa.Table
) -> pa.Table | None:
    """Identical duplicates collapse (first kept); conflicting ones give ``None``."""
    spec = TABLES[table]
    if typed.num_rows < 2:
        return typed
    key = ", ".join(_q(k) for k in spec.key)
    con.register("typed", typed)
    try:
        # One hash aggregate; a hash collision only sends the table down the exact count below.
        distinct = (
            f"count(DISTINCT {key})" if len(spec.key) == 1 else f"count(DISTINCT hash({key}))"
        )
        if con.execute(f"SELECT {distinct} FROM typed").fetchall()[0][0] == typed.num_rows:
            return typed
        keys = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {key} FROM typed)").fetchall()[0]
    finally:
        con.unregister("typed")
    # the first of identical records is kept, in file order (an explicit row number)
    numbered = typed.append_column("__rn", pa.array(np.arange(typed.num_rows, dtype=np.int64)))
    data = ", ".join(_q(c.name) for c in spec.columns)
    con.register("numbered", numbered)
    try:
        unique = _arrow(
            con,
            f"SELECT * EXCLUDE (__rn) FROM numbered "
            f"QUALIFY row_number() OVER (PARTITION BY {data} ORDER BY __rn) = 1 ORDER BY __rn",
        )
    finally:
        con.unregister("numbered")
    if unique.num_rows != keys[0]:
        return None  # a conflicting duplicate: the exact path names both lines
    return unique


def _stored_form(
    con: duckdb.DuckDBPyConnection, table: str, typed: pa.Table | None, key: bytes | None
) -> pa.Table:
    """``typed`` in stored form: phone → phone_token, ``inferred``, ``evidence``."""
    spec = TABLES[table]
    cols = [c for c in table_columns(table) if c != "source_ids"]
    if typed is None:
        fields = []
        for c in cols:
            if c == "inferred":
                fields.append(pa.field(c, pa.bool_()))
            elif c in ("evidence", "phone_token"):
                fields.append(pa.field(c, pa.string()))
            else:
                fields.append(pa.field(c, _ARROW_TYPES[spec.column(c).type]))
        return pa.schema(fields).empty_table()
    n = typed.num_rows
    arrays, names = [], []
    for col in spec.columns:
        if col.pii:
            arrays.append(_phone_tokens(con, typed.column(col.name), key))
            names.append("phone_token")
        else:
            arrays.append(typed.column(col.name))
            names.append(col.name)
    if table in NODE_TABLES:
        arrays.append(pa.repeat(pa.scalar(False), n))
        names.append("inferred")
    arrays.append(pa.nulls(n, pa.string()))
    names.append("evidence")
    assert names == cols
    return pa.table(arrays, names=names)


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _phone_tokens(
    con: duckdb.DuckDBPyConnection, phones: pa.ChunkedArray, key: bytes | None
) -> pa.ChunkedArray:
    """The tokens :func:`ingest.pseudonymise.phone_tokens` gives (``pii:`` + the first 32 hex
    digits of HMAC-SHA256(key, digits)), computed by DuckDB in parallel: HMAC is two SHA-256
    over the padded key. The digits come from the Arrow kernel pandas runs there."""
    digits = pc.replace_substring_regex(pc.fill_null(phones, ""), "[^0-9]", "")
    if not pc.any(pc.not_equal(digits, "")).as_py():
        return pa.chunked_array([pa.nulls(len(phones), pa.string())])
    assert key is not None
    inner, outer = _hmac_pads(key)
    con.register("phones", pa.table({"d": digits}))
    try:
        out = _arrow(
            con,
            "SELECT CASE WHEN d = '' THEN NULL ELSE 'pii:' || "
            "left(sha256($outer || unhex(sha256($inner || encode(d)))), 32) END AS token "
            "FROM phones",
            {"inner": inner, "outer": outer},
        )
    finally:
        con.unregister("phones")
    return out.column("token")


def _add_inferred(
    con: duckdb.DuckDBPyConnection, node: str, tables: dict[str, pa.Table]
) -> tuple[pa.Table, int]:
    """Append a minimal ``inferred`` node for every id referenced but never defined (anti-join)."""
    key = TABLES[node].key[0]
    refs = [
        (t, col)
        for t, spec in TABLES.items()
        for col, target in spec.references.items()
        if target == node and tables[t].num_rows
    ]
    defined = tables[node]
    if not refs:
        return defined, 0
    names = {}
    for t, _ in refs:
        names[t] = f"ref_{t}"
        con.register(names[t], tables[t].select(list(TABLES[t].references)))
    con.register("defined", defined.select([key]))
    try:
        union = " UNION ALL ".join(f"SELECT {_q(col)} AS id FROM {names[t]}" for t, col in refs)
        missing = _arrow(
            con,
            f"SELECT DISTINCT id FROM ({union}) WHERE id IS NOT NULL AND id <> '' "
            f"AND id NOT IN (SELECT {_q(key)} FROM defined WHERE {_q(key)} IS NOT NULL) "
            "ORDER BY id",
        )
    finally:
        for name in set(names.values()):
            con.unregister(name)
        con.unregister("defined")
    n = missing.num_rows
    if not n:
        return defined, 0
    arrays = []
    for field in defined.schema:
        if field.name == key:
            arrays.append(missing.column("id").cast(field.type))
        elif field.name == "inferred":
            arrays.append(pa.repeat(pa.scalar(True), n))
        else:
            arrays.append(pa.nulls(n, field.type))
    extra = pa.Table.from_arrays(arrays, schema=defined.schema)
    return pa.concat_tables([defined, extra]), n


def prepare_bundle_fast(manifest: Manifest, settings: Settings, *, progress: bool = False):
    """:func:`ingest.job.prepare_bundle` in Arrow and DuckDB, or ``None`` (see the module notes).

    Returns
    -------
    (bundle, report) or None
        ``bundle.tables`` are Arrow tables in stored form without ``source_ids``.
    """
    from ingest.job import IngestReport, clock, source_record

    if any(f.table in ("telegram_export", "takedowns") for f in manifest.files):
        return None
    report = IngestReport(str(manifest.path), manifest.source_id, manifest.case_id, path="fast")
    con = duckdb.connect(config=settings.duckdb_config)
    try:
        con.execute("SET preserve_insertion_order = true")
        typed: dict[str, pa.Table] = {}
        for table in TABLES:
            files = [f for f in manifest.files if f.table == table]
            if not files:
                continue
            parts = []
            t = clock()
            for f in files:
                data = read_csv_arrow(f.path, table, name=f.name, progress=progress)
                if data is None:
                    return None
                report.rows_read[f.name] = data.num_rows
                parts.append(data)
            raw = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
            t = report.lap("read", t)
            valid = _typed_table(con, table, raw)
            report.lap("validate", t)
            del raw, parts
            if valid is None:
                return None
            typed[table] = valid
            report.rows_valid[table] = valid.num_rows
        key = pii_key(settings) if "accounts" in typed else None
        t = clock()
        tables = {name: _stored_form(con, name, typed.pop(name, None), key) for name in TABLES}
        t = report.lap("pseudonymise", t)
        for node in NODE_TABLES:
            tables[node], report.inferred[node] = _add_inferred(con, node, tables)
        report.lap("inferred", t)
    finally:
        con.close()
    return Bundle(source=source_record(manifest), tables=tables), report
