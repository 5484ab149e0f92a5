"""Benchmark the analytics pipeline on a simulated (or synthetic) ecosystem.

Usage::

    .venv/bin/python benchmarks/analytics.py --accounts 100000
    .venv/bin/python benchmarks/analytics.py --accounts 1000000 --no-louvain
    .venv/bin/python benchmarks/analytics.py --source synthetic --accounts 100000

``--cli`` measures whole processes instead, as a user runs them (start-up, store read and write
included), each under ``/usr/bin/time -v``, in one run on the same data: ``graphintel ingest`` and
``graphintel analyze`` into a temporary DuckDB store, then — each in its own process reading the
same store — python-louvain alone, igraph's Leiden alone (the engine ``analyze`` uses on large
graphs) and NetworKit's PLM and ParallelLeiden (evaluated alternatives, one thread, seeded) on the
same ecosystem graph. Each process's wall and CPU (user + system) seconds are printed: on a loaded
machine the CPU ratio is the steadier figure. ``--copy-store FILE`` analyses a copy of an ingested
DuckDB file instead of simulating and ingesting. Ratios: ``louvain_process_over_analyze_process``
(wall; ``…_cpu`` the same in CPU seconds; target ≥ 5 at 100k accounts),
``louvain_alone_over_analyze_process`` (python-louvain's own seconds, without start-up and store
read, over the whole ``analyze`` process) and ``analyze_modularity_ratio`` (≥ 0.99); the load
average at the start is printed beside them::

    .venv/bin/python benchmarks/analytics.py --cli --accounts 100000 --bundle /tmp/b100k
    .venv/bin/python benchmarks/analytics.py --cli --copy-store /work/bench/c100000/graph.duckdb

``--source simulate`` (default) runs the real simulator (:func:`graphintel.simulate.simulate`,
``SimulationParams(accounts=N, seed=S)``) into a temporary bundle, ingests it into a temporary
DuckDB store with :func:`ingest.job.ingest_manifest` and reads every canonical table back with
``store.table`` — exactly the stored form ``graphintel analyze`` sees. ``--bundle DIR`` reuses (or
keeps) the simulated bundle. ``--source synthetic`` builds a cruder in-memory ecosystem (rooms of
~1,000 members grown by invite trees, purchases, rewards, forwards, bots, targets) instead.

Then it times ``analyze_tables`` (engine ``auto``; ``--repeat`` runs, each stage's seconds from
the best run) and, side by side in the same process on the same ecosystem graph, python-louvain
alone and Leiden alone (time and modularity). Ratios printed: ``louvain_over_analyze_time`` (the
target: ≥ 5 at 100k accounts), ``analyze_modularity_ratio`` (analyze's modularity / louvain's,
target ≥ 0.99). Prints one JSON object; ``peak_rss_mib`` is the process's max RSS (including
simulate and ingest).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

_HERE = Path(__file__).resolve().parent
# Run as a script, this folder comes first on sys.path and ``ingest.py`` here would shadow the
# ``ingest`` package: put the repository root first instead.
sys.path[:] = [str(_HERE.parent)] + [q for q in sys.path if Path(q or ".").resolve() != _HERE]

from graphintel.analytics.communities import (
    leiden_labels,
    louvain_labels,
    modularity,
)
from graphintel.analytics.graph import ecosystem_graph, prepare_tables
from graphintel.analytics.pipeline import analyze_tables, summary_dict
from graphintel.model import TABLE_ORDER

__all__ = ["cli_main", "main", "simulated_tables", "synthetic_tables"]


def simulated_tables(
    accounts: int, *, seed: int = 7, bundle: Path | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """Simulate ``accounts`` accounts, ingest into a temporary DuckDB store, read it back.

    Returns the canonical tables in stored form and the seconds spent simulating, ingesting
    and reading. With ``bundle``, a bundle already there (``manifest.yaml``) is reused, otherwise
    the simulation is written (and kept) there.
    """
    from graphintel.config import load_settings
    from graphintel.simulate import SimulationParams, simulate
    from graphintel.store.duckdb_store import DuckDBStore
    from ingest.job import ingest_manifest

    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="graphintel-bench-") as tmp:
        folder = Path(bundle) if bundle else Path(tmp) / "bundle"
        if not (folder / "manifest.yaml").exists():
            t0 = time.perf_counter()
            simulate(folder, SimulationParams(accounts=accounts, seed=seed))
            seconds["simulate_s"] = round(time.perf_counter() - t0, 2)
        store = DuckDBStore(Path(tmp) / "bench.duckdb")
        try:
            t0 = time.perf_counter()
            ingest_manifest(folder / "manifest.yaml", store, load_settings())
            seconds["ingest_s"] = round(time.perf_counter() - t0, 2)
            t0 = time.perf_counter()
            tables = {name: store.table(name) for name in TABLE_ORDER}
            seconds["read_s"] = round(time.perf_counter() - t0, 2)
        finally:
            store.close()
    return tables, seconds


def _ids(prefix: str, n: int) -> np.ndarray:
    width = len(str(max(n - 1, 1)))
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)).astype(object)


def _ts(seconds: np.ndarray) -> np.ndarray:
    base = np.datetime64("2024-01-01T00:00:00")
    t = base + seconds.astype("timedelta64[s]")
    return np.datetime_as_string(t, unit="s").astype(object)


def synthetic_tables(accounts: int, *, seed: int = 0, room_size: int = 1000) -> dict:
    """A synthetic ecosystem of ``accounts`` accounts as canonical tables."""
    rng = np.random.default_rng(seed)
    n = accounts
    rooms = max(1, n // room_size)
    acc = _ids("ACC", n)
    room_ids = _ids("ROOM", rooms)
    home = np.sort(rng.integers(0, rooms, n))  # accounts in blocks by home room
    start = np.searchsorted(home, np.arange(rooms))
    block_start = start[home]
    pos = np.arange(n) - block_start
    # invite tree inside each room block, skewed to early members (the operator's circle)
    u = rng.random(n)
    parent = block_start + np.floor(pos * u**2).astype(np.int64)
    has_parent = pos > 0
    # a few cross-block invites
    cross = has_parent & (rng.random(n) < 0.02)
    parent[cross] = rng.integers(0, np.maximum(np.arange(n)[cross], 1))
    child = np.flatnonzero(has_parent)
    invited_sec = (np.arange(n) * 60).astype(np.int64)
    invites = pd.DataFrame(
        {
            "inviter_id": acc[parent[child]],
            "invitee_id": acc[child],
            "channel_id": room_ids[home[child]],
            "invited_at": _ts(invited_sec[child]),
            "source_ids": [["SRC-BENCH"]] * len(child),
        }
    )
    owners = start[start < n]
    role = np.full(n, "member", dtype=object)
    role[pos == 0] = "owner"
    role[(pos > 0) & (pos <= 2)] = "admin"
    extra = rng.random(n) < 0.3
    ex_acc = np.flatnonzero(extra)
    ex_room = (home[ex_acc] + rng.integers(1, 4, len(ex_acc))) % rooms
    keep = ex_room != home[ex_acc]
    memberships = pd.DataFrame(
        {
            "account_id": np.concatenate([acc, acc[ex_acc[keep]]]),
            "channel_id": np.concatenate([room_ids[home], room_ids[ex_room[keep]]]),
            "role": np.concatenate([role, np.full(int(keep.sum()), "member", dtype=object)]),
            "joined_at": _ts(np.concatenate([invited_sec, invited_sec[ex_acc[keep]] + 3600])),
            "source_ids": [["SRC-BENCH"]] * (n + int(keep.sum())),
        }
    )
    buyers = np.flatnonzero(rng.random(n) < 0.6)
    rewarded = child[rng.random(len(child)) < 0.5]
    tx_from = np.concatenate([buyers, parent[rewarded] * 0 + owners[home[rewarded]]])
    tx_to = np.concatenate([owners[home[buyers]], parent[rewarded]])
    kinds = np.concatenate(
        [
            np.full(len(buyers), "purchase", dtype=object),
            np.full(len(rewarded), "referral_reward", dtype=object),
        ]
    )
    nt = len(tx_from)
    transactions = pd.DataFrame(
        {
            "txn_id": _ids("TXN", nt),
            "from_id": acc[tx_from],
            "to_id": acc[tx_to],
            "credits": rng.integers(1, 50, nt).astype(float),
            "kind": kinds,
            "ts": _ts(np.concatenate([invited_sec[buyers], invited_sec[rewarded]]) + 7200),
            "source_ids": [["SRC-BENCH"]] * nt,
        }
    )
    nf = rooms * 20
    f_from = rng.integers(0, rooms, nf)
    forwards = pd.DataFrame(
        {
            "from_channel_id": room_ids[f_from],
            "to_channel_id": room_ids[(f_from + rng.integers(1, 3, nf)) % rooms],
            "ts": _ts(rng.integers(0, 86400 * 300, nf)),
            "source_ids": [["SRC-BENCH"]] * nf,
        }
    )
    is_bot = rng.random(n) < 0.001
    accounts_t = pd.DataFrame(
        {"account_id": acc, "is_bot": is_bot, "source_ids": [["SRC-BENCH"]] * n}
    )
    channels = pd.DataFrame(
        {
            "channel_id": room_ids,
            "kind": np.where(rng.random(rooms) < 0.05, "bot", "group").astype(object),
            "creator_id": acc[owners[:rooms]] if len(owners) >= rooms else None,
            "source_ids": [["SRC-BENCH"]] * rooms,
        }
    )
    orgs = 50
    org_ids = _ids("ORG", orgs)
    organizations = pd.DataFrame(
        {
            "org_id": org_ids,
            "name": np.char.add("Fictional School ", np.arange(orgs).astype(str)).astype(object),
            "source_ids": [["SRC-BENCH"]] * orgs,
        }
    )
    t_room = rng.integers(0, rooms, rooms)
    targets = pd.DataFrame(
        {
            "channel_id": room_ids[t_room],
            "org_id": org_ids[rng.integers(0, orgs, rooms)],
            "source_ids": [["SRC-BENCH"]] * rooms,
        }
    ).drop_duplicates(["channel_id", "org_id"])
    return {
        "accounts": accounts_t,
        "channels": channels,
        "memberships": memberships,
        "invites": invites,
        "transactions": transactions,
        "forwards": forwards,
        "organizations": organizations,
        "targets": targets,
    }


def _timed(argv: list[str]) -> dict:
    """Run ``argv`` under ``/usr/bin/time -v``: wall seconds, peak RSS (MiB) and stdout."""
    import re
    import subprocess

    proc = subprocess.run(
        ["/usr/bin/time", "-v", *argv], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    user = re.search(r"User time \(seconds\): (\S+)", proc.stderr)
    system = re.search(r"System time \(seconds\): (\S+)", proc.stderr)
    parts = [float(x) for x in wall.group(1).split(":")] if wall else [0.0]
    seconds = sum(v * 60**i for i, v in enumerate(reversed(parts)))
    cpu = sum(float(m.group(1)) for m in (user, system) if m)
    return {
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mib": round(int(rss.group(1)) / 1024, 1) if rss else None,
        "stdout": proc.stdout,
    }


def _reference(store_uri: str, engine: str) -> int:
    """One process: read the store as ``analyze`` does, run one community engine alone, print
    its seconds and modularity as JSON."""
    from graphintel.analytics.graph import prepare_and_encode
    from graphintel.analytics.pipeline import ANALYZE_COLUMNS
    from graphintel.store import open_store

    store = open_store(store_uri, read_only=True)
    tables = {n: store.table(n, columns=list(ANALYZE_COLUMNS[n])) for n in TABLE_ORDER}
    store.close()
    t, codes = prepare_and_encode(tables, columns=ANALYZE_COLUMNS)
    graph = ecosystem_graph(t, codes=codes)
    t0 = time.perf_counter()
    if engine == "louvain":
        labels = louvain_labels(graph, seed=0)
    elif engine == "leiden":
        labels = leiden_labels(graph, seed=0)
    else:
        import networkit as nk

        nk.setNumberOfThreads(1)  # deterministic with a fixed seed only on one thread
        nk.engineering.setSeed(0, False)
        g = nk.graph.Graph(graph.n_nodes, weighted=True)
        g.addEdges(
            (
                np.asarray(graph.weight, dtype=np.float64),
                (np.asarray(graph.src, dtype=np.uint64), np.asarray(graph.dst, dtype=np.uint64)),
            )
        )
        if engine == "networkit":
            algo = nk.community.PLM(g, refine=True, gamma=1.0)
        else:
            algo = nk.community.ParallelLeiden(g, randomize=True, gamma=1.0)
        labels = np.asarray(algo.run().getPartition().getVector(), dtype=np.int64)
    seconds = time.perf_counter() - t0
    print(json.dumps({"engine_s": round(seconds, 2), "modularity": modularity(graph, labels)}))
    return 0


def cli_main(args: argparse.Namespace) -> int:
    """``--cli``: whole CLI processes side by side (see the module docstring)."""
    import os

    gi = str(Path(sys.executable).with_name("graphintel"))
    out: dict = {
        "accounts": args.accounts,
        "mode": "whole processes (/usr/bin/time -v)",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory(prefix="graphintel-bench-") as tmp:
        bundle = Path(args.bundle) if args.bundle else Path(tmp) / "bundle"
        uri = "duckdb:" + str(Path(tmp) / "bench.duckdb")
        if args.copy_store:  # an ingested store: analyse a copy (analyze writes)
            import shutil

            shutil.copyfile(args.copy_store, Path(tmp) / "bench.duckdb")
            out["store"] = str(args.copy_store)
        elif not (bundle / "manifest.yaml").exists():
            out["simulate"] = _timed(
                [
                    gi,
                    "simulate",
                    "--out",
                    str(bundle),
                    "--accounts",
                    str(args.accounts),
                    "--seed",
                    str(args.seed),
                ]
            )
        if not args.copy_store:
            out["ingest"] = _timed([gi, "ingest", str(bundle), "--store", uri, "--no-progress"])
        runs = [_timed([gi, "analyze", "--store", uri]) for _ in range(max(args.repeat, 1))]
        best = min(runs, key=lambda r: r["seconds"])
        out["analyze"] = {k: best[k] for k in ("seconds", "cpu_s", "peak_rss_mib")}
        out["analyze_runs_s"] = [r["seconds"] for r in runs]
        from graphintel.store import open_store

        store = open_store(uri, read_only=True)
        summary = summary_dict(store.results("summary"))
        store.close()
        out["stages_s"] = summary["timings"]
        out["communities"] = summary["communities"]
        me = [sys.executable, str(Path(__file__).resolve())]
        import importlib.util

        engines = ["leiden"]
        if importlib.util.find_spec("networkit") is not None:  # optional: evaluated, not used
            engines += ["networkit", "networkit_leiden"]
        else:
            out["networkit"] = "not installed (pip install networkit to compare it)"
        engines += [] if args.no_louvain else ["louvain"]
        for engine in engines:
            ref = _timed([*me, "--reference", engine, "--store", uri])
            out[engine] = {
                "seconds": ref["seconds"],
                "cpu_s": ref["cpu_s"],
                "peak_rss_mib": ref["peak_rss_mib"],
                **json.loads(ref["stdout"]),
            }
        for item in out.values():
            if isinstance(item, dict):
                item.pop("stdout", None)
        if "louvain" in out:
            q_lv = out["louvain"]["modularity"]
            out["louvain_process_over_analyze_process"] = round(
                out["louvain"]["seconds"] / out["analyze"]["seconds"], 2
            )
            out["louvain_process_over_analyze_process_cpu"] = round(
                out["louvain"]["cpu_s"] / out["analyze"]["cpu_s"], 2
            )
            # python-louvain's own seconds (no start-up, no store read) over the whole analyze
            # process: the "analyze end to end vs python-louvain alone"
            out["louvain_alone_over_analyze_process"] = round(
                out["louvain"]["engine_s"] / out["analyze"]["seconds"], 2
            )
            out["analyze_modularity_ratio"] = round(out["communities"]["modularity"] / q_lv, 4)
            for engine in ("leiden", "networkit", "networkit_leiden"):
                if isinstance(out.get(engine), dict):
                    out[f"{engine}_modularity_ratio"] = round(out[engine]["modularity"] / q_lv, 4)
    print(json.dumps(out, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7, help="simulation / synthetic data seed")
    ap.add_argument("--source", choices=("simulate", "synthetic"), default="simulate")
    ap.add_argument(
        "--bundle",
        type=Path,
        default=None,
        help="simulate: reuse (or keep) the simulated bundle in this folder",
    )
    ap.add_argument("--repeat", type=int, default=3, help="analyze runs (best and median shown)")
    ap.add_argument("--no-louvain", action="store_true", help="skip the python-louvain reference")
    ap.add_argument("--betweenness-samples", type=int, default=32)
    ap.add_argument("--cli", action="store_true", help="time whole CLI processes instead")
    ap.add_argument(
        "--copy-store",
        type=Path,
        default=None,
        help="--cli: analyse a copy of this ingested DuckDB file instead of simulating",
    )
    ap.add_argument(
        "--reference",
        choices=("louvain", "leiden", "networkit", "networkit_leiden"),
        help=argparse.SUPPRESS,
    )
    ap.add_argument("--store", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.reference:
        return _reference(args.store, args.reference)
    if args.cli:
        return cli_main(args)

    out: dict = {"accounts": args.accounts, "source": args.source, "seed": args.seed}
    t0 = time.perf_counter()
    if args.source == "simulate":
        tables, seconds = simulated_tables(args.accounts, seed=args.seed, bundle=args.bundle)
        out.update(seconds)
    else:
        tables = synthetic_tables(args.accounts, seed=args.seed)
        out["generate_s"] = round(time.perf_counter() - t0, 2)
    out["rows"] = {k: len(v) for k, v in tables.items()}

    runs: list[float] = []
    best_timings: dict = {}
    summary: dict = {}
    for _ in range(max(args.repeat, 1)):
        t0 = time.perf_counter()
        res = analyze_tables(tables, seed=0, betweenness_samples=args.betweenness_samples)
        runs.append(time.perf_counter() - t0)
        summary = summary_dict(res["summary"])
        if runs[-1] == min(runs):
            best_timings = summary["timings"]
        del res
    out["analyze_s"] = round(min(runs), 3)
    out["analyze_median_s"] = round(statistics.median(runs), 3)
    out["analyze_runs_s"] = [round(r, 3) for r in runs]
    out["stages_s"] = best_timings
    out["communities"] = summary["communities"]
    out["referral"] = summary["referral"]

    graph = ecosystem_graph(prepare_tables(tables))
    t0 = time.perf_counter()
    ld = leiden_labels(graph, seed=0)
    leiden_s = time.perf_counter() - t0
    out["leiden"] = {"seconds": round(leiden_s, 3), "modularity": modularity(graph, ld)}
    if not args.no_louvain:
        t0 = time.perf_counter()
        lv = louvain_labels(graph, seed=0)
        louvain_s = time.perf_counter() - t0
        q_lv = modularity(graph, lv)
        out["louvain"] = {"seconds": round(louvain_s, 2), "modularity": q_lv}
        out["louvain_over_leiden_time"] = round(louvain_s / leiden_s, 1)
        out["louvain_over_analyze_time"] = round(louvain_s / min(runs), 2)
        out["louvain_over_analyze_median_time"] = round(louvain_s / statistics.median(runs), 2)
        out["analyze_modularity_ratio"] = round(out["communities"]["modularity"] / q_lv, 4)
        out["leiden_modularity_ratio"] = round(out["leiden"]["modularity"] / q_lv, 4)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
