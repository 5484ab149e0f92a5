"""Benchmark ingest of a large synthetic CSV bundle into DuckDB and into Neo4j.

Generates (vectorised numpy/pandas, fictional names only) a bundle with ``--accounts`` accounts,
``--channels`` channels, ``--memberships`` memberships, ``--invites`` invites and
``--transactions`` transactions (plus a few forwards, organisations, targets and content
postings), writes it as CSVs with a manifest to a temporary folder, then times
:func:`ingest.job.ingest_manifest` into a fresh DuckDB file and into Neo4j, and prints rows/s for
each plus relationships/s for Neo4j. It also times the store-independent stage
(:func:`ingest.job.prepare_bundle`: read, validate, pseudonymise) on its own, so the store's share
is ``total - prepare``.

Run::

    .venv/bin/python benchmarks/ingest.py                       # DuckDB only
    eval "$(graphintel neo4j start)"
    .venv/bin/python benchmarks/ingest.py --neo4j --fresh       # and Neo4j (wipes graphintel data)

Targets: DuckDB >= 300k rows/s, Neo4j >= 20k relationships/s.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
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
    args = p.parse_args(argv)

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
