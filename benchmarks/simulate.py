"""Benchmark the trainers' simulator at scale.

Runs :func:`graphintel.simulate.simulate` for ``--accounts`` accounts (default 1,000,000) into a
temporary folder (or ``--out``), then prints the elapsed seconds, peak RSS and the rows written.

Run::

    .venv/bin/python benchmarks/simulate.py                 # 1,000,000 accounts
    .venv/bin/python benchmarks/simulate.py --accounts 100000

Targets: 1,000,000 accounts in at most 60 s on a 2-core machine, peak memory at most 4 GiB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from graphintel.simulate import SimulationParams, simulate

__all__ = ["main"]


def _peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024.0


def main(argv: list[str] | None = None) -> int:
    """Time one simulation and print seconds, peak RSS and row counts."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=1_000_000, help="accounts (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--out", type=Path, default=None, help="keep the bundle here (default: temp)")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    params = SimulationParams(accounts=args.accounts, seed=args.seed, days=args.days)
    with tempfile.TemporaryDirectory(prefix="graphintel-sim-") as tmp:
        out = args.out or Path(tmp)
        t0 = time.perf_counter()
        report = simulate(out, params, progress=args.progress)
        seconds = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in report.paths)
    rows = sum(report.counts.values())
    print(
        f"simulate accounts={args.accounts:,} seed={args.seed} days={args.days}: "
        f"{seconds:.1f} s, peak RSS {_peak_rss_mib():,.0f} MiB, {rows:,} rows, "
        f"{size / 2**20:,.0f} MiB written, max referral depth {report.max_referral_depth}"
    )
    for table, n in report.counts.items():
        print(f"  {table:14s} {n:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
