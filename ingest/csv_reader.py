"""Stage 1 of ingest: read one canonical CSV file into a frame of strings.

UTF-8 with or without BOM, CRLF or LF, quoted fields with commas and newlines. Any other encoding
is an :class:`~graphintel.errors.InputFormatError` naming the file and line. Every value stays a
string here (``""`` for empty); typing is validation's job. The frame carries ``_line``, the
physical line on which each record starts, so every later error can name it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from graphintel.errors import InputFormatError, ValidationFailure
from graphintel.model import TABLES

__all__ = ["LINE", "read_csv_table"]

LINE = "_line"
_CHUNK_ROWS = 500_000
_PROGRESS_BYTES = 32 << 20  # show a bar for files above 32 MiB


def read_csv_table(
    path: Path, table: str, *, name: str | None = None, progress: bool = False
) -> tuple[pd.DataFrame, list[ValidationFailure]]:
    """Read ``path`` as canonical table ``table``.

    Arrow's multi-threaded CSV reader does the work; a file with blank lines (where Arrow's record
    count no longer tells the physical line) goes through pandas' C parser instead.

    Returns
    -------
    frame, failures
        ``frame`` has the table's columns (missing optional columns filled with ``""``), all
        strings (Arrow-backed), plus ``_line``; ``failures`` lists missing required columns (then
        ``frame`` is empty).

    Raises
    ------
    InputFormatError
        Empty, not UTF-8, or not parseable as CSV.
    """
    spec = TABLES[table]
    label = name or path.name
    size = path.stat().st_size
    if size == 0:
        raise InputFormatError(
            f"{label} line 1: the file is empty; a {table} file needs a header row with "
            f"{', '.join(c.name for c in spec.columns if c.required)}"
        )
    show = progress and size >= _PROGRESS_BYTES
    try:
        if _has_blank_lines(path):
            frame = _read_with_pandas(path, label, size, show)
        else:
            frame = _read_with_arrow(path, spec, label, size, show)
    except UnicodeDecodeError as err:
        raise _not_utf8(path, label, err.start) from err
    except pa.ArrowInvalid as err:
        if "UTF8" in str(err) or "utf8" in str(err).lower():
            offset = _first_bad_utf8_offset(path)
            raise _not_utf8(path, label, offset) from err
        raise InputFormatError(f"{label}: not readable as CSV ({err})") from err
    except pd.errors.ParserError as err:
        raise InputFormatError(f"{label}: not readable as CSV ({err})") from err
    frame.columns = [str(c).strip() for c in frame.columns]

    missing = [c.name for c in spec.columns if c.required and c.name not in frame.columns]
    if missing:
        return pd.DataFrame(), [
            ValidationFailure(
                label,
                1,
                col,
                None,
                f"required column missing from the header (have: {', '.join(frame.columns)})",
            )
            for col in missing
        ]
    cols = [c.name for c in spec.columns]
    for col in cols:
        if col not in frame.columns:
            frame[col] = ""
    frame = frame[cols].astype(_STRING).fillna("")
    # Physical line of each record: header is line 1; quoted newlines push later records down.
    newlines = np.zeros(len(frame), dtype=np.int64)
    for col in cols:
        s = frame[col]
        has = s.str.contains("\n", regex=False).to_numpy(dtype=bool, na_value=False)
        if has.any():
            newlines += s.str.count("\n").to_numpy(dtype=np.int64, na_value=0)
    starts = 2 + np.arange(len(frame), dtype=np.int64)
    if len(frame) > 1:
        starts[1:] += np.cumsum(newlines)[:-1]
    frame[LINE] = starts
    blank = (frame[cols] == "").all(axis=1).to_numpy(dtype=bool)
    if blank.any():
        frame = frame[~blank].reset_index(drop=True)
    return frame, []


_STRING = pd.StringDtype("pyarrow")


def _has_blank_lines(path: Path, *, chunk: int = 16 << 20) -> bool:
    tail = b""
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            data = tail + block
            if b"\n\n" in data or b"\n\r\n" in data:
                return True
            tail = data[-2:]
    return False


def _read_with_arrow(path: Path, spec, label: str, size: int, show: bool) -> pd.DataFrame:
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(
        column_types={c.name: pa.string() for c in spec.columns},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    parse = pacsv.ParseOptions(newlines_in_values=True)
    if not show:
        table = pacsv.read_csv(path, parse_options=parse, convert_options=convert)
    else:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=8 << 20),
            parse_options=parse,
            convert_options=convert,
        )
        batches = []
        with tqdm(total=size, unit="B", unit_scale=True, desc=f"read {label}") as bar:
            for batch in reader:
                batches.append(batch)
                bar.update(min(batch.nbytes, max(0, size - bar.n)))
        table = pa.Table.from_batches(batches, schema=reader.schema)
    table = table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))
    return table.to_pandas(types_mapper={pa.string(): _STRING}.get)


def _read_with_pandas(path: Path, label: str, size: int, show: bool) -> pd.DataFrame:
    chunks = []
    with open(path, "rb") as raw:
        bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"read {label}", disable=not show)
        reader = pd.read_csv(
            raw,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
            skip_blank_lines=False,
            chunksize=_CHUNK_ROWS,
            engine="c",
        )
        for chunk in reader:
            chunks.append(chunk)
            bar.update(raw.tell() - bar.n)
        bar.close()
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _first_bad_utf8_offset(path: Path) -> int:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start
    return 0


def _not_utf8(path: Path, label: str, offset: int) -> InputFormatError:
    with open(path, "rb") as fh:
        prefix = fh.read(offset + 1)
    line = prefix[:offset].count(b"\n") + 1
    return InputFormatError(
        f"{label} line {line}: not UTF-8 text (byte {prefix[offset : offset + 1]!r} at offset "
        f"{offset}). Save the file as UTF-8 (with or without BOM) and ingest again"
    )
