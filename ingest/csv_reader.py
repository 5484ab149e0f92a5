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
from tqdm.auto import tqdm

from graphintel.errors import InputFormatError, ValidationFailure
from graphintel.model import TABLES

__all__ = ["read_csv_table", "LINE"]

LINE = "_line"
_CHUNK_ROWS = 500_000
_PROGRESS_BYTES = 32 << 20  # show a bar for files above 32 MiB


def _line_of_offset(path: Path, offset: int) -> int:
    with open(path, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1


def read_csv_table(
    path: Path, table: str, *, name: str | None = None, progress: bool = False
) -> tuple[pd.DataFrame, list[ValidationFailure]]:
    """Read ``path`` as canonical table ``table``.

    Returns
    -------
    frame, failures
        ``frame`` has the table's columns (missing optional columns filled with ``""``), all
        strings, plus ``_line``; ``failures`` lists missing required columns (then ``frame`` is
        empty).

    Raises
    ------
    InputFormatError
        Not UTF-8, or not parseable as CSV.
    """
    spec = TABLES[table]
    label = name or path.name
    size = path.stat().st_size
    show = progress and size >= _PROGRESS_BYTES
    chunks = []
    try:
        with open(path, "rb") as raw:
            bar = tqdm(
                total=size, unit="B", unit_scale=True, desc=f"read {label}", disable=not show
            )
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
    except UnicodeDecodeError as err:
        line = _line_of_offset(path, err.start) if size else 1
        raise InputFormatError(
            f"{label} line {line}: not UTF-8 text (byte {err.object[err.start:err.start + 1]!r} "
            f"at offset {err.start}). Save the file as UTF-8 (with or without BOM) and ingest again"
        ) from err
    except pd.errors.EmptyDataError:
        chunks = []
    except pd.errors.ParserError as err:
        raise InputFormatError(f"{label}: not readable as CSV ({err})") from err
    if not chunks:
        raise InputFormatError(
            f"{label} line 1: the file is empty; a {table} file needs a header row with "
            f"{', '.join(c.name for c in spec.columns if c.required)}"
        )
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
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
    frame = frame[cols].astype(object)
    # Physical line of each record: header is line 1; quoted newlines push later records down.
    if len(frame):
        newlines = np.zeros(len(frame), dtype=np.int64)
        for col in cols:
            s = frame[col]
            has = s.str.contains("\n", regex=False).to_numpy(dtype=bool)
            if has.any():
                newlines += np.where(has, s.str.count("\n").to_numpy(), 0).astype(np.int64)
        starts = 2 + np.arange(len(frame), dtype=np.int64)
        starts[1:] += np.cumsum(newlines)[:-1]
        frame[LINE] = starts
        blank = (frame[cols] == "").all(axis=1)
        if blank.any():
            frame = frame[~blank.to_numpy()].reset_index(drop=True)
    else:
        frame[LINE] = pd.Series(dtype=np.int64)
    return frame, []

