"""Running out of memory or disk: one paragraph, exit status 3, the store as it was.

The memory cases are real: a ``graphintel`` process whose address space is capped
(``RLIMIT_AS``) a little above what its imports take, on a simulated case big enough to need
more, so the allocation fails inside the work (DuckDB, Arrow, numpy or pandas), not in a mock.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from graphintel.cli import main
from graphintel.errors import ResourceExhausted, resource_exhausted, set_stage

# Imports first (they are not what is measured), then the cap: the current address space plus
# a margin the command's work needs more than.
_CAPPED = """
import resource, sys
import duckdb, numpy, pandas, pyarrow, pyarrow.csv, igraph
import graphintel.cli, graphintel.analytics.pipeline, ingest.fast, ingest.job
size = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:"))
cap = size * 1024 + int(sys.argv[1]) * (1 << 20)
resource.setrlimit(resource.RLIMIT_AS, (cap, resource.RLIM_INFINITY))
sys.exit(graphintel.cli.main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """Two simulated 30 k-account bundles; the first ingested and analysed."""
    root = tmp_path_factory.mktemp("resources")
    env = {
        "GRAPHINTEL_WORKSPACE": str(root / "ws"),
        "GRAPHINTEL_PII_KEY": "resources-test-key",
        "GRAPHINTEL_CACHE": str(root / "cache"),
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for name, seed in (("a", 1), ("b", 2)):
            assert (
                main(
                    [
                        "simulate",
                        "--out",
                        str(root / name),
                        "--accounts",
                        "30000",
                        "--seed",
                        str(seed),
                    ]
                )
                == 0
            )
        store = root / "graph.duckdb"
        assert (
            main(["ingest", str(root / "a" / "manifest.yaml"), "--store", f"duckdb:{store}"]) == 0
        )
        assert main(["analyze", "--store", f"duckdb:{store}"]) == 0
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return root, env


def _contents(path: Path) -> dict:
    """Row counts of every table and the stored sources: what 'unchanged' is checked on."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        sources = sorted(r[0] for r in con.execute("SELECT source_id FROM sources").fetchall())
        priority = con.execute(
            "SELECT account_id, community, priority_rank FROM result_account_metrics "
            "ORDER BY priority_rank, account_id LIMIT 20"
        ).fetchall()
    finally:
        con.close()
    return {"counts": counts, "sources": sources, "priority": priority}


def _capped(
    root: Path, env: dict, margin_mb: int, store: Path, before: dict, *args: str
) -> subprocess.CompletedProcess:
    """Run ``graphintel ARGS`` capped; the first run that exits (not killed by a signal).

    A native library may abort the process on a failed allocation in one of its own threads
    (``std::bad_alloc`` uncaught, SIGABRT), where no Python exception can be raised; then the
    store must still be as it was, and the run is repeated with a slightly larger margin.
    """
    run_env = {**os.environ, **env, "MALLOC_ARENA_MAX": "2"}  # arenas: 64 MB of address space each
    for attempt in range(4):
        proc = subprocess.run(
            [sys.executable, "-c", _CAPPED, str(margin_mb + 24 * attempt), *args],
            check=False,
            cwd=root,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode >= 0:
            return proc
        assert _contents(store) == before  # killed part way: nothing was published
        for stale in store.parent.glob(store.name + ".writing-*"):
            stale.unlink()
    pytest.fail(f"every capped run was killed by a signal: {proc.stderr[-500:]}")


def _assert_clean_refusal(proc: subprocess.CompletedProcess, command: str, store: Path) -> None:
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr  # one paragraph
    message = lines[0]
    assert message.startswith(f"graphintel {command}: ran out of memory during {command} (")
    assert f"The store duckdb:{store} is unchanged" in message
    assert "GRAPHINTEL_DUCKDB_MEMORY" in message
    assert not list(store.parent.glob(store.name + ".writing-*"))  # the working copy is gone


def test_ingest_out_of_memory_leaves_store(case):
    root, env = case
    store = root / "ingest.duckdb"
    store.write_bytes((root / "graph.duckdb").read_bytes())
    before = _contents(store)
    proc = _capped(
        root,
        env,
        192,
        store,
        before,
        "ingest",
        str(root / "b" / "manifest.yaml"),
        "--store",
        f"duckdb:{store}",
    )
    _assert_clean_refusal(proc, "ingest", store)
    assert _contents(store) == before
    assert before["sources"] == ["SIM-1-N30000"]


def test_analyze_out_of_memory_leaves_store(case):
    root, env = case
    store = root / "analyze.duckdb"
    store.write_bytes((root / "graph.duckdb").read_bytes())
    before = _contents(store)
    proc = _capped(root, env, 256, store, before, "analyze", "--store", f"duckdb:{store}")
    _assert_clean_refusal(proc, "analyze", store)
    assert _contents(store) == before
    # and the store still serves its old analysis through the CLI
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphintel.cli",
            "report",
            "--store",
            f"duckdb:{store}",
            "--format",
            "json",
        ],
        check=False,
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["counts"]["accounts"] == before["counts"]["accounts"]


def test_disk_full_is_named():
    set_stage("merging into the store")
    try:
        err = resource_exhausted(OSError(errno.ENOSPC, "No space left on device"), "ingest")
    finally:
        set_stage(None)
    assert isinstance(err, ResourceExhausted) and err.exit_code == 3
    assert str(err).startswith("ran out of disk space during ingest (merging into the store)")
    assert "Free disk space" in str(err)


def test_duckdb_errors_are_classified():
    full = duckdb.IOException('Could not write file "x.duckdb": No space left on device')
    assert str(resource_exhausted(full, "analyze")).startswith("ran out of disk space")
    oom = duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate block")
    assert str(resource_exhausted(oom, "analyze")).startswith("ran out of memory")
    # DuckDB reporting a Python MemoryError from an Arrow stream it read (seen at 10 M accounts)
    streamed = duckdb.InvalidInputException(
        "Invalid Input Error: exporting a stream from the object registered as 'typed' failed: "
        "MemoryError: "
    )
    assert str(resource_exhausted(streamed, "ingest")).startswith("ran out of memory")
    # a wrapped cause counts; an unrelated error does not
    try:
        try:
            raise oom
        except duckdb.Error as inner:
            raise RuntimeError("store rejected the write") from inner
    except RuntimeError as outer:
        assert resource_exhausted(outer, "ingest") is not None
    assert resource_exhausted(duckdb.IOException("Permission denied"), "ingest") is None
    assert resource_exhausted(ValueError("bad"), "ingest") is None
