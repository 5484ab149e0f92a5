"""Digests of analytics results, for the golden comparison in ``tests/test_golden.py``.

``python tests/golden.py`` prints the digests of every result table (``summary`` without its
``timings``) for ``sample_data/demo`` and the hand-built ``sample_data/tiny``, analysed with seed 0
in a fresh embedded store; ``tests/data/golden_analytics.json`` holds what the analytics gave
before the speed work of issue 12, so every optimisation must reproduce them bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BUNDLES = {"demo": REPO / "sample_data" / "demo", "tiny": REPO / "sample_data" / "tiny"}
SORT_KEYS = {
    "account_metrics": ["account_id"],
    "channel_metrics": ["channel_id"],
    "channel_links": ["channel_a", "channel_b"],
    "priority_components": ["account_id", "component"],
    "priority_evidence": ["account_id", "component", "record_table", "record_key"],
    "cycles": ["account_id"],
    "summary": ["key"],
}


def _cell(v: object) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "null"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)) or hasattr(v, "dtype"):
        try:
            f = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            pass
        else:
            if f.is_integer() and abs(f) < 2**53:
                return repr(int(f))
            # 12 significant digits: the last bits of a float sum depend on the CPU's vector
            # instructions (numpy's AVX-512 kernels add in another order than AVX2 ones)
            return repr(float(f"{f:.12g}"))
    if isinstance(v, (list, tuple)) or (hasattr(v, "tolist") and not isinstance(v, str)):
        return json.dumps([str(x) for x in list(v)])  # type: ignore[arg-type]
    return str(v)


def digest(name: str, frame: pd.DataFrame, columns: list[str] | None = None) -> str:
    """sha256 of a result table: rows sorted by key, cells as text (floats to 12 significant
    digits, so machines whose vector instructions sum in another order agree);
    ``columns`` restricts it to those columns (result tables gain columns as analytics grow)."""
    if columns is not None:
        frame = frame[[c for c in frame.columns if c in columns]]
    if name == "summary":
        frame = frame[frame["key"] != "timings"]
    keys = [k for k in SORT_KEYS.get(name, []) if k in frame.columns]
    cols = sorted(frame.columns)
    rows = sorted(tuple(_cell(v) for v in row) for row in frame[keys + cols].itertuples(False))
    text = "\n".join("\t".join(r) for r in rows)
    return hashlib.sha256(("\t".join(keys + cols) + "\n" + text).encode()).hexdigest()


def digests(
    results: dict[str, pd.DataFrame], columns: dict[str, list[str]] | None = None
) -> dict[str, str]:
    return {
        name: digest(name, results[name], (columns or {}).get(name))
        for name in sorted(results)
        if name in SORT_KEYS
    }


def main() -> int:
    from graphintel.analytics.pipeline import analyze_store
    from graphintel.config import load_settings
    from graphintel.store.duckdb_store import DuckDBStore
    from ingest.job import ingest_manifest

    out = {}
    settings = load_settings({"GRAPHINTEL_PII_KEY": "golden"})
    for label, bundle in BUNDLES.items():
        with tempfile.TemporaryDirectory() as tmp:
            store = DuckDBStore(Path(tmp) / "g.duckdb")
            ingest_manifest(bundle, store, settings)
            analyze_store(store, seed=0)
            out[label] = digests({n: store.results(n) for n in SORT_KEYS})
            store.close()
    json.dump(out, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
