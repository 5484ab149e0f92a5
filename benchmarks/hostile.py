"""Time and peak memory of the whole CLI refusing each structure bomb (issue 9).

Each bomb is generated into a temporary folder (the same inputs as ``tests/test_hostile.py``), and
``graphintel ingest`` runs on it as a separate process under ``/usr/bin/time -v``; the script prints
the exit status, wall time, peak RSS and the start of the message. A valid ingest of
``sample_data/tiny`` is the baseline (the interpreter with pandas, Arrow and DuckDB loaded). The
last column is the refusal alone, timed in this process (``ingest_manifest`` into a fresh store).

Run::

    .venv/bin/python benchmarks/hostile.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["bombs", "main"]

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "data" / "hostile"
MANIFEST = (
    "case_id: CASE-H-2\nsource_id: SRC-H-2\nmethod: synthetic\n"
    'legal_basis: "Synthetic test data written by hand."\ncollected_at: 2024-08-20\n'
    'collected_by: "graphintel test suite"\nfiles:\n  - {path: NAME, table: TABLE}\n'
)


def _bundle(folder: Path, name: str, table: str, data: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    (folder / "manifest.yaml").write_text(MANIFEST.replace("NAME", name).replace("TABLE", table))
    return folder


def bombs(tmp: Path) -> dict[str, Path]:
    """Bundle folders (or manifests), one per bomb."""
    deep = b'{"name": "R", "type": "private_group", "id": 1, "messages": ['
    deep += b"[" * 100_000 + b"]" * 100_000 + b"]}"
    return {
        "baseline: valid tiny bundle": REPO / "sample_data" / "tiny",
        "YAML alias bomb (9^9 values)": HOSTILE / "paths" / "alias_bomb.yaml",
        "JSON nesting, 200 KB of [": _bundle(tmp / "deep", "result.json", "telegram_export", deep),
        "CSV header of 100k columns": _bundle(
            tmp / "wide",
            "accounts.csv",
            "accounts",
            ",".join(f"c{i}" for i in range(100_000)).encode() + b"\n1\n",
        ),
        "CSV 10 MB field": _bundle(
            tmp / "field",
            "accounts.csv",
            "accounts",
            b"account_id,handle\nH1," + b"x" * (10 << 20) + b"\nH2,@two\n",
        ),
        "CSV 300k-character value": _bundle(
            tmp / "value",
            "accounts.csv",
            "accounts",
            b"account_id,handle,is_bot\nH1,@one," + b"y" * 300_000 + b"\n",
        ),
    }


def _in_process(target: Path, tmp: Path) -> float:
    from graphintel.config import load_settings
    from graphintel.errors import GraphIntelError
    from graphintel.store.duckdb_store import DuckDBStore
    from ingest.job import ingest_manifest

    settings = load_settings({"GRAPHINTEL_PII_KEY": "bench-key", "GRAPHINTEL_WORKSPACE": str(tmp)})
    store = DuckDBStore(tmp / "inproc" / f"{time.monotonic_ns()}.duckdb")
    started = time.perf_counter()
    try:
        ingest_manifest(target, store, settings)
    except GraphIntelError:
        pass
    finally:
        store.close()
    return time.perf_counter() - started


def main() -> int:
    sys.path.insert(0, str(REPO))
    graphintel = Path(sys.executable).with_name("graphintel")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = dict(os.environ, GRAPHINTEL_PII_KEY="bench-key", GRAPHINTEL_WORKSPACE=str(tmp / "ws"))
        print(
            f"{'input':32} {'exit':>4} {'wall s':>7} {'peak RSS MB':>12} {'in-proc s':>9}  message"
        )
        for name, target in bombs(tmp).items():
            store = tmp / "store" / "graph.duckdb"
            shutil.rmtree(store.parent, ignore_errors=True)
            run = subprocess.run(
                ["/usr/bin/time", "-v", str(graphintel), "ingest", str(target), "--no-progress"]
                + ["--store", f"duckdb:{store}"],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            wall = re.search(
                r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", run.stderr
            )
            rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
            seconds = int(wall.group(2)) * 60 + float(wall.group(3)) if wall else float("nan")
            peak = int(rss.group(1)) / 1024 if rss else float("nan")
            message = (run.stderr.split("\n\tCommand being timed")[0] or run.stdout).strip()
            exit_code = re.search(r"Exit status: (\d+)", run.stderr)
            status = exit_code.group(1) if exit_code else "?"
            alone = _in_process(target, tmp)
            print(f"{name:32} {status:>4} {seconds:7.2f} {peak:12.0f} {alone:9.3f}  {message[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
