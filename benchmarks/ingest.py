"""Benchmark ingest: whole CLI processes on simulated bundles, and the in-process stages.

``--cli`` (what issue 12 measures): for each ``--sizes`` N, simulate an N-account bundle with
``graphintel simulate`` (or reuse ``--bundle N=PATH``), then run the whole CLI as a user does,
``/usr/bin/time -v graphintel ingest BUNDLE --store duckdb:NEW --no-progress --timings``, and
print rows/s end to end, wall, CPU and peak RSS, with the tool's own stage timings. With
``--existing`` it also ingests the smallest bundle into a copy of the largest size's store (the
merge into a non-empty store: working copy, UPDATE + INSERT, publish). It also times
``graphintel --help`` (start-up). Give ``uptime`` with the figures: the box may be shared.

Without ``--cli``: generates (vectorised numpy/pandas, fictional names only) a bundle with
``--accounts`` accounts, ``--channels`` channels, ``--memberships`` memberships, ``--invites``
invites and ``--transactions`` transactions (plus a few forwards, organisations, targets and
content postings), times :func:`ingest.job.prepare_bundle` (the exact pandas path) and
:func:`ingest.job.ingest_manifest` into a fresh DuckDB file (the fast path) and into Neo4j, and
prints rows/s for each plus relationships/s for Neo4j.

Run::

    .venv/bin/python benchmarks/ingest.py --cli --sizes 100000 1000000 --existing
    .venv/bin/python benchmarks/ingest.py                       # in-process, DuckDB only
    eval "$(graphintel neo4j start)"
    .venv/bin/python benchmarks/ingest.py --neo4j --fresh       # and Neo4j (wipes graphintel data)

Targets (issue 12): >= 500k rows/s end to end on the 1 M-account bundle with peak RSS <= 2 GB;
``graphintel --help`` <= 0.3 s; Neo4j >= 20k relationships/s.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["generate_bundle", "main"]

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# `ingest` package: put the repository root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [q for q in sys.path if Path(q or ".").resolve() != _HERE]

_BASE = np.datetime64("2024-01-01T00:00:00")


def _ts(rng: np.random.Generator, n: int, *, span_days: int = 240) -> np.ndarray:
    secs = rng.integers(0, span_days * 86400, size=n)
    return np.datetime_as_string(_BASE + secs.astype("timedelta64[s]"), unit="s")


def _ids(prefix: str, idx: np.ndarray, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(idx.astype(str), width))


def generate_bundle(
    out: Path,
    *,
    accounts: int = 200_000,
    channels: int = 1_000,
    memberships: int = 1_000_000,
    invites: int = 200_000,
    transactions: int = 200_000,
    seed: int = 7,
) -> dict[str, int]:
    """Write a synthetic bundle (CSVs + manifest.yaml) to ``out``; returns rows per table.

    Keys are unique per table (memberships are distinct account/channel pairs, each invitee is
    invited once), so every row is one record.
    """
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    memberships = min(memberships, accounts * channels)
    invites = min(invites, accounts)
    a_ids = _ids("BA", np.arange(accounts), 7)
    c_ids = _ids("BC", np.arange(channels), 5)
    rows: dict[str, int] = {}

    def write(name: str, frame: pd.DataFrame) -> None:
        frame.to_csv(out / f"{name}.csv", index=False)
        rows[name] = len(frame)

    write(
        "accounts",
        pd.DataFrame(
            {
                "account_id": a_ids,
                "handle": np.char.add("@bench_", a_ids),
                "display_name": np.char.add("Bench Person (fictional) ", a_ids),
                "is_bot": np.where(rng.random(accounts) < 0.01, "true", "false"),
                "first_seen": _ts(rng, accounts),
                "age_band": rng.choice(np.array(["10-19", "20-29", "30-39", ""]), accounts),
                "phone": "",
            }
        ),
    )
    write(
        "channels",
        pd.DataFrame(
            {
                "channel_id": c_ids,
                "title": np.char.add("Bench Room (fictional) ", c_ids),
                "kind": rng.choice(np.array(["channel", "group", "supergroup"]), channels),
                "created_at": _ts(rng, channels, span_days=30),
                "is_public": np.where(rng.random(channels) < 0.3, "true", "false"),
                "creator_id": a_ids[rng.integers(0, accounts, channels)],
            }
        ),
    )
    # distinct (account, channel) pairs: oversample codes, keep the first `memberships` uniques
    codes = np.unique(rng.integers(0, accounts * channels, int(memberships * 1.05) + 16))
    codes = rng.permutation(codes)[:memberships]
    write(
        "memberships",
        pd.DataFrame(
            {
                "account_id": a_ids[codes // channels],
                "channel_id": c_ids[codes % channels],
                "role": rng.choice(
                    np.array(["member"] * 97 + ["admin"] * 2 + ["owner"]), memberships
                ),
                "joined_at": _ts(rng, memberships),
                "left_at": "",
            }
        ),
    )
    invitees = rng.permutation(accounts)[:invites]
    write(
        "invites",
        pd.DataFrame(
            {
                "inviter_id": a_ids[rng.integers(0, accounts, invites)],
                "invitee_id": a_ids[invitees],
                "channel_id": c_ids[rng.integers(0, channels, invites)],
                "invited_at": _ts(rng, invites),
                "invite_link": "",
            }
        ),
    )
    kinds = np.array(["purchase", "referral_reward", "commission", "topup", "transfer", "payout"])
    write(
        "transactions",
        pd.DataFrame(
            {
                "txn_id": _ids("BT", np.arange(transactions), 8),
                "from_id": a_ids[rng.integers(0, accounts, transactions)],
                "to_id": a_ids[rng.integers(0, accounts, transactions)],
                "credits": rng.integers(1, 50, transactions),
                "amount_krw": rng.integers(1, 50, transactions) * 2650,
                "kind": rng.choice(kinds, transactions),
                "ts": _ts(rng, transactions),
                "channel_id": c_ids[rng.integers(0, channels, transactions)],
            }
        ),
    )
    n_fw = max(1, channels * 10)
    write(
        "forwards",
        pd.DataFrame(
            {
                "from_channel_id": c_ids[rng.integers(0, channels, n_fw)],
                "to_channel_id": c_ids[rng.integers(0, channels, n_fw)],
                "ts": _ts(rng, n_fw),
            }
        ).drop_duplicates(),
    )
    n_org = max(1, channels // 10)
    o_ids = _ids("BO", np.arange(n_org), 4)
    write(
        "organizations",
        pd.DataFrame(
            {
                "org_id": o_ids,
                "name": np.char.add("Bench Organisation (fictional) ", o_ids),
                "kind": "other",
                "region": "Nowhere",
                "lat": "",
                "lon": "",
            }
        ),
    )
    write(
        "targets",
        pd.DataFrame(
            {
                "channel_id": c_ids[:n_org],
                "org_id": o_ids,
                "first_reported": "2024-08-01",
                "note": "",
            }
        ),
    )
    n_ct = channels * 5
    write(
        "content",
        pd.DataFrame(
            {
                "content_hash": _ids("h:bench", rng.integers(0, n_ct // 2, n_ct), 7),
                "channel_id": c_ids[rng.integers(0, channels, n_ct)],
                "posted_at": _ts(rng, n_ct),
                "poster_id": a_ids[rng.integers(0, accounts, n_ct)],
            }
        ).drop_duplicates(["content_hash", "channel_id"]),
    )
    rows["content"] = len(pd.read_csv(out / "content.csv", usecols=[0]))
    files = "".join(f"  - {{path: {t}.csv, table: {t}}}\n" for t in rows)
    (out / "manifest.yaml").write_text(
        "case_id: CASE-BENCH-0001\nsource_id: SRC-BENCH-0001\nmethod: synthetic\n"
        "legal_basis: 'Synthetic benchmark data; no real persons.'\ncollected_at: 2024-08-20\n"
        f"collected_by: benchmarks/ingest.py\nfiles:\n{files}"
    )
    return rows


def _time_ingest(bundle: Path, store, settings) -> tuple[float, object]:
    from ingest.job import ingest_manifest

    started = time.perf_counter()
    report = ingest_manifest(bundle, store, settings)
    return time.perf_counter() - started, report


def _timed(cmd: list[str]) -> dict:
    """Run ``cmd`` under ``/usr/bin/time -v``: wall, CPU, peak RSS and its stdout."""
    run = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, check=False)
    if run.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{run.stdout}\n{run.stderr[-3000:]}")
    err = run.stderr

    def field(name: str) -> str:
        return re.search(rf"{re.escape(name)}: (.+)", err).group(1).strip()

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {
        "wall": wall,
        "cpu": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "rss_mb": int(field("Maximum resident set size (kbytes)")) / 1024,
        "stdout": run.stdout,
    }


def _cli_ingest(bundle: Path, store: Path) -> dict:
    gi = str(Path(sys.executable).with_name("graphintel"))
    r = _timed(
        [gi, "ingest", str(bundle), "--store", f"duckdb:{store}", "--no-progress", "--timings"]
    )
    rows = int(re.search(r"(\d+) rows read", r["stdout"]).group(1))
    stages = re.search(r"Stages \((\w+) path\): (.+)", r["stdout"])
    r.update(rows=rows, path=stages.group(1), stages=stages.group(2))
    return r


def _report(label: str, r: dict) -> None:
    print(
        f"{label}: {r['rows']:,} rows in {r['wall']:.1f} s wall = {r['rows'] / r['wall']:,.0f} "
        f"rows/s end to end; CPU {r['cpu']:.1f} s; peak RSS {r['rss_mb']:,.0f} MB "
        f"({r['path']} path)\n    {r['stages']}",
        flush=True,
    )


def main_cli(args) -> int:
    """Whole CLI processes (see the module docstring)."""
    gi = str(Path(sys.executable).with_name("graphintel"))
    given = dict(b.split("=", 1) for b in args.bundle or [])
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)", flush=True)
    h = _timed([gi, "--help"])
    print(f"graphintel --help: {h['wall']:.2f} s wall, peak RSS {h['rss_mb']:.0f} MB", flush=True)
    with tempfile.TemporaryDirectory(prefix="graphintel-bench-", dir=args.tmp) as tmp:
        stores: dict[int, Path] = {}
        bundles: dict[int, Path] = {}
        for n in args.sizes:
            bundle = Path(given[str(n)]) if str(n) in given else Path(tmp) / f"b{n}"
            if str(n) not in given:
                subprocess.run(
                    [gi, "simulate", "--accounts", str(n), "--out", str(bundle)],
                    check=True,
                    capture_output=True,
                )
            bundles[n] = bundle
            stores[n] = Path(tmp) / f"s{n}" / "graph.duckdb"
            _report(f"ingest {n:,} accounts into a new store", _cli_ingest(bundle, stores[n]))
        if args.existing and len(args.sizes) > 1:
            small, big = min(args.sizes), max(args.sizes)
            copy = Path(tmp) / "existing" / "graph.duckdb"
            copy.parent.mkdir()
            shutil.copyfile(stores[big], copy)
            size = copy.stat().st_size / 2**20
            _report(
                f"ingest {small:,} accounts into the {big:,}-account store ({size:,.0f} MB)",
                _cli_ingest(bundles[small], copy),
            )
        print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accounts", type=int, default=200_000)
    p.add_argument("--channels", type=int, default=1_000)
    p.add_argument("--memberships", type=int, default=1_000_000)
    p.add_argument("--invites", type=int, default=200_000)
    p.add_argument("--transactions", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--neo4j", action="store_true", help="also ingest into Neo4j (NEO4J_URI)")
    p.add_argument("--neo4j-uri", help="default: NEO4J_URI")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="clear the graphintel data in Neo4j first (required with --neo4j)",
    )
    p.add_argument("--profile", action="store_true", help="cProfile prepare_bundle, top 15")
    p.add_argument("--cli", action="store_true", help="whole CLI processes (issue 12's figures)")
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--bundle", action="append", metavar="N=PATH", help="reuse a simulated bundle")
    p.add_argument("--existing", action="store_true", help="also ingest into a non-empty store")
    p.add_argument("--tmp", help="folder for the temporary stores (default: the system's)")
    args = p.parse_args(argv)
    if args.cli:
        return main_cli(args)

    from graphintel.config import load_settings
    from graphintel.store.duckdb_store import DuckDBStore
    from ingest.job import prepare_bundle
    from ingest.manifest import load_manifest

    settings = load_settings({**os.environ, "GRAPHINTEL_PII_KEY": "benchmark-key"})
    with tempfile.TemporaryDirectory(prefix="graphintel-bench-") as tmp:
        bundle = Path(tmp) / "bundle"
        t0 = time.perf_counter()
        rows = generate_bundle(
            bundle,
            accounts=args.accounts,
            channels=args.channels,
            memberships=args.memberships,
            invites=args.invites,
            transactions=args.transactions,
            seed=args.seed,
        )
        total = sum(rows.values())
        print(f"generated {total:,} rows in {time.perf_counter() - t0:.1f} s: {rows}")

        profiler = cProfile.Profile() if args.profile else None
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        prepared, _ = prepare_bundle(load_manifest(bundle), settings)
        if profiler:
            profiler.disable()
        prep = time.perf_counter() - t0
        print(
            f"prepare_bundle (read+validate+pseudonymise): {prep:.1f} s "
            f"({total / prep:,.0f} rows/s)"
        )
        if profiler:
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(15)
        edges = sum(
            len(prepared.tables[t])
            for t in ("memberships", "invites", "transactions", "targets", "content")
        )
        edges += int(prepared.tables["channels"]["creator_id"].notna().sum())
        pairs = len(
            prepared.tables["forwards"][["from_channel_id", "to_channel_id"]].drop_duplicates()
        )
        relationships = edges + pairs
        del prepared

        store = DuckDBStore(Path(tmp) / "bench.duckdb")
        secs, _ = _time_ingest(bundle, store, settings)
        store.close()
        print(
            f"DuckDB: ingest_manifest {secs:.1f} s = {total / secs:,.0f} rows/s "
            f"(store write ~{secs - prep:.1f} s)"
        )

        if args.neo4j:
            from graphintel.store.neo4j_store import Neo4jStore

            uri = args.neo4j_uri or settings.neo4j_uri
            if not uri:
                p.error("--neo4j needs NEO4J_URI or --neo4j-uri")
            if not args.fresh:
                p.error("--neo4j needs --fresh: the benchmark clears graphintel data first")
            neo = Neo4jStore(uri, settings.neo4j_username, settings.neo4j_password)
            try:
                neo.clear()
                neo.ensure_schema()
                secs, _ = _time_ingest(bundle, neo, settings)
                write = max(secs - prep, 1e-9)
                print(
                    f"Neo4j: ingest_manifest {secs:.1f} s = {total / secs:,.0f} rows/s, "
                    f"{relationships:,} relationships = {relationships / secs:,.0f} rel/s "
                    f"end to end, {relationships / write:,.0f} rel/s in the store write "
                    f"(~{write:.1f} s)"
                )
                counts = neo.counts()
                print(f"Neo4j counts: {counts}")
            finally:
                neo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
