"""Digests of every result table of an analysed DuckDB store (the golden check of issue 12).

Usage::

    .venv/bin/python benchmarks/result_digests.py STORE.duckdb > before.json
    .venv/bin/python benchmarks/result_digests.py STORE.duckdb --against before.json

Each table of :data:`graphintel.model.RESULT_TABLES` (``summary`` without its ``timings``) is
digested twice: ``exact`` (every cell's ``repr``, rows sorted) and ``g12`` (floats to 12 significant
digits, as ``tests/golden.py`` does). ``--against`` prints the tables that differ and exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [q for q in sys.path if Path(q or ".").resolve() != _HERE]

import pandas as pd

from graphintel.model import RESULT_TABLES
from graphintel.store.duckdb_store import DuckDBStore
from tests.golden import _cell


def _exact(v: object) -> str:
    if hasattr(v, "tolist") and not isinstance(v, str):
        v = v.tolist()
    return repr(v)


def _digest(frame: pd.DataFrame, cell) -> str:
    cols = sorted(frame.columns)
    rows = sorted(tuple(cell(v) for v in row) for row in frame[cols].itertuples(False))
    text = "\n".join("\t".join(r) for r in rows)
    return hashlib.sha256(("\t".join(cols) + "\n" + text).encode()).hexdigest()


def table_digests(path: str) -> dict[str, dict[str, object]]:
    store = DuckDBStore(path, read_only=True)
    try:
        out = {}
        for name in sorted(RESULT_TABLES):
            frame = store.results(name)
            if name == "summary":
                frame = frame[frame["key"] != "timings"]
            out[name] = {
                "rows": len(frame),
                "columns": list(frame.columns),
                "dtypes": [str(d) for d in frame.dtypes],
                "exact": _digest(frame, _exact),
                "g12": _digest(frame, _cell),
            }
        return out
    finally:
        store.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("store")
    p.add_argument("--against")
    args = p.parse_args()
    got = table_digests(args.store)
    if not args.against:
        json.dump(got, sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    want = json.loads(Path(args.against).read_text())
    bad = 0
    for name in sorted(set(want) | set(got)):
        w, g = want.get(name), got.get(name)
        if w == g:
            print(f"{name}: identical ({g['rows']} rows)")
            continue
        bad += 1
        diffs = [
            k
            for k in ("rows", "columns", "dtypes", "exact", "g12")
            if (w or {}).get(k) != (g or {}).get(k)
        ]
        print(f"{name}: DIFFERS in {diffs}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
