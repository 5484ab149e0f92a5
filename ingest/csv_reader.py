"""Stage 1 of ingest: read one canonical CSV file into a frame of strings.

UTF-8 with or without BOM, CRLF or LF, quoted fields with commas and newlines. Any other encoding
is an :class:`~graphintel.errors.InputFormatError` naming the file and line. Every value stays a
string here (``""`` for empty); typing is validation's job. The frame carries ``_line``, the
physical line on which each record starts, so every later error can name it.

Hostile files are refused by physical line before they can be misread: a quote that is not at the
start or end of a field (a stray quote would otherwise merge the following lines into one field),
a file that ends inside quotes, a header with duplicate names or more than
:data:`MAX_COLUMNS` columns, a row with more or fewer fields than the header, a row longer than
:data:`MAX_ROW_BYTES` (Arrow's block size, so the limit costs nothing on the fast path). The quote check is a vectorised pre-scan (numpy over 16 MiB blocks, in
the same pass that looks for blank lines); rows and fields are located by a slow exact reader only
when the fast reader has already failed.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from graphintel.errors import InputFormatError, ValidationFailure, clip, clip_repr
from graphintel.model import TABLES

__all__ = ["LINE", "MAX_COLUMNS", "MAX_ROW_BYTES", "read_csv_arrow", "read_csv_table"]

MAX_COLUMNS = 64
"""Columns a header may have (the widest canonical table has 10)."""
MAX_ROW_BYTES = 1 << 20
"""Bytes one row may hold (titles, names and notes, not documents): Arrow's block size."""
_MAX_HEADER_BYTES = 1 << 16
_SCAN_BLOCK = 16 << 20
_BOM = b"\xef\xbb\xbf"

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
    header = _check_header(path, label)
    missing = [c.name for c in spec.columns if c.required and c.name not in header]
    if missing:
        have = clip(", ".join(header))
        return pd.DataFrame(), [
            ValidationFailure(
                label, 1, col, None, f"required column missing from the header (have: {have})"
            )
            for col in missing
        ]
    has_blank = _scan_quotes(path, label)
    try:
        if has_blank:
            # pandas fills short rows silently: the exact pass checks every row's field count
            problem = _check_rows(path, label, len(header))
            if problem is not None:
                raise problem
            frame = _read_with_pandas(path, label, size, show)
        else:
            frame = _read_with_arrow(path, spec, label, size, show)
    except UnicodeDecodeError as err:
        raise _not_utf8(path, label, err.start) from err
    except pa.ArrowInvalid as err:
        if "UTF8" in str(err) or "utf8" in str(err).lower():
            offset = _first_bad_utf8_offset(path)
            raise _not_utf8(path, label, offset) from err
        raise _locate_problem(path, label, len(header), err) from err
    except pd.errors.ParserError as err:
        raise _locate_problem(path, label, len(header), err) from err
    frame.columns = [str(c).strip() for c in frame.columns]
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
    if has_blank:  # the pandas path has no block size: check field sizes here
        for col in cols:
            lengths = frame[col].str.len().to_numpy(dtype=np.int64, na_value=0)
            if len(lengths) and lengths.max() > MAX_ROW_BYTES:
                row = int(np.argmax(lengths > MAX_ROW_BYTES))
                raise InputFormatError(
                    f"{label} line {starts[row]}, column {col}: a field of {lengths[row]:,} "
                    f"characters; a row holds at most {MAX_ROW_BYTES:,} bytes (a stray quote, or "
                    "data that does not belong in this table?)"
                )
    blank = (frame[cols] == "").all(axis=1).to_numpy(dtype=bool)
    if blank.any():
        frame = frame[~blank].reset_index(drop=True)
    return frame, []


_STRING = pd.StringDtype("pyarrow")
# The file's strings live as long as the bundle: the system allocator gives them back to the OS
# as soon as the store has merged a table (mimalloc, Arrow's default, keeps freed pages).
_POOL = pa.system_memory_pool()


def read_csv_arrow(
    path: Path, table: str, *, name: str | None = None, progress: bool = False
) -> pa.Table | None:
    """The fast reader of :mod:`ingest.fast`: ``path`` as an Arrow table of strings, or ``None``.

    Same hostile-input checks as :func:`read_csv_table` (header, quotes by physical line, field
    counts, row size: Arrow's reader refuses what it cannot split exactly), but any problem at
    all — a missing column, a blank line, a bad byte, a stray quote — gives ``None`` and no
    message: the caller then reads the bundle again with :func:`read_csv_table`, whose messages
    name the file and line. The table has the table's columns in order (missing optional ones
    filled with ``""``), no ``_line``.
    """
    spec = TABLES[table]
    label = name or path.name
    try:
        size = path.stat().st_size
        if size == 0:
            return None
        header = _check_header(path, label)
        if any(c.required and c.name not in header for c in spec.columns):
            return None
        _scan_quotes(path, label, blanks=False)
        data = arrow_table(
            path, spec, label, size, progress and size >= _PROGRESS_BYTES, blank_lines=False
        )
    except (InputFormatError, pa.ArrowInvalid, UnicodeDecodeError, OSError):
        return None
    names = [str(c).strip() for c in data.column_names]
    if len(set(names)) != len(names):
        return None
    data = data.rename_columns(names)
    columns = []
    for col in spec.columns:
        if col.name in names:
            columns.append(data.column(col.name))
        else:
            columns.append(pa.repeat(pa.scalar("", pa.string()), data.num_rows))
    return pa.table(columns, names=[c.name for c in spec.columns])


def _check_header(path: Path, label: str) -> list[str]:
    """The header's column names (stripped); refuses too many columns and duplicate names."""
    with open(path, "rb") as fh:
        head = fh.read(_MAX_HEADER_BYTES)
    if head.startswith(_BOM):
        head = head[3:]
    if b"\n" not in head and path.stat().st_size > _MAX_HEADER_BYTES:
        raise InputFormatError(
            f"{label} line 1: the header line is longer than {_MAX_HEADER_BYTES:,} bytes; a "
            f"header names at most {MAX_COLUMNS} columns"
        )
    line = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    names = [n.strip() for n in next(csv.reader(io.StringIO(line)), [])]
    if len(names) > MAX_COLUMNS:
        raise InputFormatError(
            f"{label} line 1: the header has {len(names):,} columns; at most {MAX_COLUMNS} are "
            f"allowed (starts {clip(', '.join(names))})"
        )
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise InputFormatError(
                f"{label} line 1: column {clip_repr(name)} appears twice in the header (columns "
                f"{seen[name]} and {i}); each column may appear once"
            )
        seen[name] = i
    return names


def _scan_quotes(path: Path, label: str, *, blanks: bool = True) -> bool:
    """Check quoting by physical line (vectorised); returns whether the file has blank lines.

    A quote is allowed only where RFC 4180 puts one: opening a field (after a comma, at the start
    of a line, or doubled inside a quoted field) or closing it (before a comma, the end of the
    line or the file). Everything else — ``Bob "the" Bot`` unquoted, a stray quote that would
    swallow the next lines, a file ending inside quotes — is refused naming the line.
    ``blanks=False`` skips the blank-line search (for a reader that refuses blank lines itself)
    and then returns False.
    """
    prev = 0x0A  # the start of the file behaves like the start of a line
    parity = 0  # quotes seen so far, mod 2: 1 = inside a quoted field
    lines = 0  # newlines before the current block
    opener: tuple[int, int] | None = None  # (line, block-independent order) of the last opener
    blank = False
    tail = b""
    with open(path, "rb") as fh:
        block = fh.read(_SCAN_BLOCK)
        if block.startswith(_BOM):
            block = block[3:]
        while block:
            nxt = fh.read(_SCAN_BLOCK)
            if blanks and not blank:
                data = tail + block  # a blank line may straddle two blocks
                blank = b"\n\n" in data or b"\n\r\n" in data
                tail = data[-2:]
            if b'"' in block:
                parity, opener = _check_block(
                    block, label, prev, nxt[:1] or b"\n", parity, lines, opener
                )
            lines += block.count(b"\n")
            prev = block[-1]
            block = nxt
    if parity:
        at = f" line {opener[0]}" if opener else ""
        raise InputFormatError(
            f"{label}{at}: a quoted field opens here and never closes (the file ends inside "
            "quotes). A stray quote? Enclose fields that contain quotes in quotes and double "
            'each inner quote ("")'
        )
    return blank


_OPEN_OK = np.array([0x2C, 0x0A, 0x22], dtype=np.uint8)  # , LF "
_CLOSE_OK = np.array([0x2C, 0x0A, 0x0D, 0x22], dtype=np.uint8)  # , LF CR "


def _check_block(
    block: bytes,
    label: str,
    prev: int,
    nxt: bytes,
    parity: int,
    lines: int,
    opener: tuple[int, int] | None,
) -> tuple[int, tuple[int, int] | None]:
    arr = np.frombuffer(block, dtype=np.uint8)
    q = np.flatnonzero(arr == 0x22)
    before = arr[np.maximum(q - 1, 0)]
    before[q == 0] = prev
    after = arr[np.minimum(q + 1, len(arr) - 1)]
    after[q == len(arr) - 1] = nxt[0]
    opening = ((parity + np.arange(len(q))) % 2) == 0
    bad = (opening & ~np.isin(before, _OPEN_OK)) | (~opening & ~np.isin(after, _CLOSE_OK))
    genuine = np.flatnonzero(opening & (before != 0x22))

    def line_of(i: int) -> int:
        return lines + block.count(b"\n", 0, int(q[i])) + 1

    if bad.any():
        i = int(np.argmax(bad))
        line = line_of(i)
        if opening[i]:
            raise InputFormatError(
                f"{label} line {line}: a quote inside an unquoted field (after "
                f"{chr(before[i])!r}); enclose a field that contains quotes in quotes and "
                'double each inner quote ("")'
            )
        k = np.searchsorted(genuine, i) - 1
        opened = line_of(int(genuine[k])) if k >= 0 else (opener[0] if opener else None)
        since = f" (it opened on line {opened})" if opened is not None and opened != line else ""
        raise InputFormatError(
            f"{label} line {line}: a quoted field closes here{since} but is followed by "
            f"{chr(after[i])!r}, not a comma or the end of the line. A stray quote? Enclose fields "
            'that contain quotes in quotes and double each inner quote ("")'
        )
    if len(genuine):
        opener = (line_of(int(genuine[-1])), 0)
    return (parity + len(q)) % 2, opener


def _long_line(path: Path, label: str) -> InputFormatError | None:
    """The first physical line longer than a row may be (bounds what the exact pass holds)."""
    longest = MAX_ROW_BYTES
    with open(path, "rb") as fh:  # bound what the exact reader would hold: no huge line
        line, run = 1, 0  # run: bytes since the last newline
        while block := fh.read(_SCAN_BLOCK):
            parts = block.split(b"\n")
            if run + len(parts[0]) > longest or max(map(len, parts)) > longest:
                i = next(
                    i
                    for i, part in enumerate(parts)
                    if len(part) + (run if i == 0 else 0) > longest
                )
                return InputFormatError(
                    f"{label} line {line + i}: a line longer than {longest:,} bytes; a row holds "
                    f"at most {MAX_ROW_BYTES:,} bytes (a stray quote, or data that does not belong "
                    "in this table?)"
                )
            line += len(parts) - 1
            run = run + len(parts[0]) if len(parts) == 1 else len(parts[-1])
    return None


def _check_rows(path: Path, label: str, columns: int) -> InputFormatError | None:
    """Exact (slow) pass: the first row whose field count differs from the header's."""
    problem = _long_line(path, label)
    if problem is not None:
        return problem
    limit = csv.field_size_limit()
    csv.field_size_limit(MAX_ROW_BYTES)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            start = 1
            try:
                for row in reader:
                    if row and len(row) != columns and start > 1:
                        more = "more" if len(row) > columns else "fewer"
                        return InputFormatError(
                            f"{label} line {start}: {len(row)} fields where the header has "
                            f"{columns} ({more} fields than columns; a comma inside a value "
                            "needs the value in quotes)"
                        )
                    start = reader.line_num + 1
            except csv.Error as problem:
                return InputFormatError(
                    f"{label} line {start}: a field longer than {MAX_ROW_BYTES:,} characters; a "
                    f"row holds at most {MAX_ROW_BYTES:,} bytes"
                    if "field limit" in str(problem)
                    else f"{label} line {start}: not readable as CSV ({clip(problem)})"
                )
    except UnicodeDecodeError:
        return None  # the reader reports the encoding with its offset
    finally:
        csv.field_size_limit(limit)
    return None


def _locate_problem(path: Path, label: str, columns: int, err: Exception) -> InputFormatError:
    """The fast reader failed: find the physical line with an exact (slow) reader."""
    problem = _check_rows(path, label, columns)
    if problem is not None:
        return problem
    return InputFormatError(f"{label}: not readable as CSV ({clip(err, 200)})")


def _read_with_arrow(path: Path, spec, label: str, size: int, show: bool) -> pd.DataFrame:
    table = arrow_table(path, spec, label, size, show)
    return table.to_pandas(types_mapper={pa.string(): _STRING}.get)


def arrow_table(
    path: Path, spec, label: str, size: int, show: bool, *, blank_lines: bool = True
) -> pa.Table:
    """The file as an Arrow table of strings (Arrow's multi-threaded reader, 1 MiB blocks).

    ``blank_lines=False`` makes a blank line an error (``ArrowInvalid``) instead of skipping it.
    """
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(
        column_types={c.name: pa.string() for c in spec.columns},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    parse = pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=blank_lines)
    # The block size bounds a row: a longer one fails here and is located by line.
    read = pacsv.ReadOptions(block_size=MAX_ROW_BYTES)
    if not show:
        table = pacsv.read_csv(
            path,
            read_options=read,
            parse_options=parse,
            convert_options=convert,
            memory_pool=_POOL,
        )
    else:
        reader = pacsv.open_csv(
            path,
            read_options=read,
            parse_options=parse,
            convert_options=convert,
            memory_pool=_POOL,
        )
        batches = []
        with tqdm(total=size, unit="B", unit_scale=True, desc=f"read {label}") as bar:
            for batch in reader:
                batches.append(batch)
                bar.update(min(batch.nbytes, max(0, size - bar.n)))
        table = pa.Table.from_batches(batches, schema=reader.schema)
    return table.cast(pa.schema([pa.field(n, pa.string()) for n in table.column_names]))


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
