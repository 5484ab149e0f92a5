"""The bulk importer (`graphintel neo4j import`) and the batched UNWIND path give the same store.

A second real Neo4j server (its own home and port) is filled by `neo4j-admin database import
full` from four bundles that overlap (the tiny sample and the three legal-control bundles, which
report shared accounts, rooms, payments, forwards and content with values that override each
other); the suite's server gets the same bundles through `ingest_manifest`. Every table, the
report and the CSV exports after `analyze` must be equal, and so must a retraction afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphintel.analytics.pipeline import analyze_store
from graphintel.neo4j_server import free_local_port
from graphintel.retraction import retract_source
from graphintel.store.neo4j_store import Neo4jStore
from ingest.job import ingest_manifest
from tests.legal_data import write_bundle
from tests.test_retraction import _snapshot

TINY = Path(__file__).resolve().parents[1] / "sample_data" / "tiny" / "manifest.yaml"
DEMO = Path(__file__).resolve().parents[1] / "sample_data" / "demo" / "manifest.yaml"


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "graphintel.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def bulk_home(tmp_path_factory):
    """A second Neo4j server with an empty database; yields (home, env, store factory)."""
    tmp = tmp_path_factory.mktemp("bulk")
    home = tmp / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")} | {
        "GRAPHINTEL_PII_KEY": "test-key",
        "GRAPHINTEL_WORKSPACE": str(tmp / "ws"),
    }
    env["GRAPHINTEL_AUDIT_LOG"] = str(tmp / "ws" / "audit.jsonl")
    port = free_local_port()
    args = ["neo4j", "start", "--home", str(home), "--port", str(port)]
    started = _cli(env, *args, "--heap", "1g", "--pagecache", "512m")
    assert started.returncode == 0, started.stderr
    yield home, env, tmp
    _cli(env, "neo4j", "stop", "--home", str(home))


def _server_store(home: Path) -> Neo4jStore:
    from graphintel import neo4j_server
    from graphintel.config import load_settings

    info = neo4j_server.status(load_settings({}), home=home)
    assert info is not None
    return Neo4jStore(info.uri, info.username, info.password)


@pytest.mark.neo4j
def test_bulk_import_equals_batched_ingest(bulk_home, neo4j_store, settings, tmp_path):
    home, env, tmp = bulk_home
    bundles = tmp / "bundles"
    manifests = [str(TINY)] + [
        str(write_bundle(bundles, sid)) for sid in ("SRC-A", "SRC-S", "SRC-C")
    ]

    # refused while bundles are bad: nothing written, the database stays empty
    bad = tmp / "bad"
    bad.mkdir()
    (bad / "accounts.csv").write_text("account_id,handle\nU1,@a\nU1,@b\n", encoding="utf-8")
    (bad / "manifest.yaml").write_text(
        "case_id: X\nsource_id: BAD\nmethod: seizure\nlegal_basis: warrant (fictional)\n"
        "collected_at: 2024-08-01\ncollected_by: t\nfiles:\n  - {path: accounts.csv, table: "
        "accounts}\n",
        encoding="utf-8",
    )
    refused = _cli(
        env, "neo4j", "import", *manifests, str(bad / "manifest.yaml"), "--home", str(home)
    )
    assert refused.returncode == 2, refused.stderr
    assert "accounts.csv" in refused.stderr and "Traceback" not in refused.stderr
    with _server_store(home) as store:
        assert store.node_count() == 0

    done = _cli(env, "neo4j", "import", *manifests, "--home", str(home))
    assert done.returncode == 0, done.stderr
    assert "Bulk-imported 4 source(s)" in done.stdout

    for m in manifests:
        ingest_manifest(m, neo4j_store, settings)
    analyze_store(neo4j_store, seed=0)
    expected = _snapshot(neo4j_store, tmp_path / "expected")

    with _server_store(home) as bulk:
        # the kept rows (for retraction) are the same, in the same ingest order
        def kept(store):
            rows = sorted(store.source_copies(), key=lambda c: (c[2], c[0], c[3], c[4]))
            return [(sid, batch, table, part, data) for sid, batch, _, table, part, data in rows]

        assert kept(bulk) == kept(neo4j_store)
        analyze_store(bulk, seed=0)
        got = _snapshot(bulk, tmp_path / "got")
        assert got["report"] == expected["report"]
        assert got["tables"] == expected["tables"]
        assert got["csv"] == expected["csv"]
        sources = bulk.sources().drop(columns=["ingested_at"])
        want = neo4j_store.sources().drop(columns=["ingested_at"])
        assert sources.to_dict("records") == want.to_dict("records")

        # a retraction on the imported store gives what it gives on the batched one
        retract_source(bulk, "SRC-S", "court order (fictional)", retracted_by="t")
        retract_source(neo4j_store, "SRC-S", "court order (fictional)", retracted_by="t")
        analyze_store(bulk, seed=0)
        analyze_store(neo4j_store, seed=0)
        after = _snapshot(bulk, tmp_path / "after-bulk")
        want_after = _snapshot(neo4j_store, tmp_path / "after-batched")
        assert after["tables"] == want_after["tables"] and after["csv"] == want_after["csv"]

    # a second bulk import into the now non-empty database is refused, nothing changed
    again = _cli(env, "neo4j", "import", str(TINY), "--home", str(home))
    assert again.returncode == 2
    assert "only fills an empty database" in again.stderr and "Traceback" not in again.stderr
    audit = (tmp / "ws" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"action":"ingest"' in audit.replace(" ", "") and "neo4j-admin" in audit


@pytest.mark.parametrize("manifest", [DEMO])
def test_one_bundle_files_equal_the_merged_ones(tmp_path, manifest):
    """Without a server: the files of one bundle (no merge), from the exact path's pandas
    tables and from the fast path's Arrow tables, hold the same lines as those of the general
    merge of that bundle alone (extras included: Source, CREATED, FORWARDED_TO)."""
    from graphintel.config import load_settings
    from graphintel.neo4j_import import _write_files, write_import_files
    from graphintel.scope import merge_source_rows
    from ingest.fast import prepare_bundle_fast
    from ingest.job import prepare_bundle
    from ingest.manifest import load_manifest

    settings = load_settings({"GRAPHINTEL_PII_KEY": "k"})
    bundle, _ = prepare_bundle(load_manifest(manifest), settings)
    fast = prepare_bundle_fast(load_manifest(manifest), settings)
    assert fast is not None
    arrow = fast[0]
    arrow.source = bundle.source  # the same ingest time
    outs = {name: tmp_path / name for name in ("one", "arrow", "merged")}
    for out in outs.values():
        out.mkdir()
    got = {
        "one": write_import_files([bundle], outs["one"]),
        "arrow": write_import_files([arrow], outs["arrow"]),
    }
    sid = str(bundle.source["source_id"])
    got["merged"] = _write_files(
        [bundle], merge_source_rows([(sid, bundle.tables)]), None, outs["merged"]
    )
    counts = {k: (f.nodes, f.relationships, f.forwards_over_bolt) for k, f in got.items()}
    assert len(set(counts.values())) == 1 and counts["one"][0] > 0 and counts["one"][1] > 0
    files = sorted(p.name for p in outs["one"].iterdir())
    assert {"invites.csv", "sources.csv", "created.csv", "forwarded_to.csv"} <= set(files)
    for out in outs.values():
        assert sorted(p.name for p in out.iterdir()) == files
    for name in files:
        lines = sorted((outs["one"] / name).read_text(encoding="utf-8").splitlines())
        for other in ("arrow", "merged"):
            assert sorted((outs[other] / name).read_text(encoding="utf-8").splitlines()) == lines, (
                other,
                name,
            )
    invites = (outs["one"] / "invites.csv").read_text(encoding="utf-8")
    assert f'"{sid}"' in invites


def test_multiline_fields_only_when_a_value_spans_lines(tmp_path):
    """The importer reads files in parallel chunks unless told a value may hold a line break:
    the files say whether one does (a display name with a newline, or a carriage return)."""
    from graphintel.config import load_settings
    from graphintel.neo4j_import import write_import_files
    from ingest.job import prepare_bundle
    from ingest.manifest import load_manifest

    settings = load_settings({"GRAPHINTEL_PII_KEY": "k"})
    bundle, _ = prepare_bundle(load_manifest(TINY), settings)
    (tmp_path / "plain").mkdir()
    assert write_import_files([bundle], tmp_path / "plain").multiline is False
    for name, text in (("lf", "two\nlines"), ("cr", "two\rlines")):
        accounts = bundle.tables["accounts"].copy()
        accounts.loc[accounts.index[0], "display_name"] = text
        bundle.tables["accounts"] = accounts
        (tmp_path / name).mkdir()
        files = write_import_files([bundle], tmp_path / name)
        assert files.multiline is True, name
        assert text.encode() in (tmp_path / name / "accounts.csv").read_bytes()
