"""The audit trail: hashing, the chain against every kind of tampering, heads in both stores."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

from graphintel.audit import (
    GENESIS,
    AuditLog,
    StoreHead,
    canonical_bytes,
    entry_hash,
    filter_entries,
    verify_chain,
)
from graphintel.errors import AuditError


def _log(tmp_path: Path, n: int = 5) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(n):
        log.append("kim", "page_view", {"page": f"p{i}", "cases": ["CASE-A"]})
    return log


def _lines(log: AuditLog) -> list[str]:
    return log.path.read_text(encoding="utf-8").splitlines(keepends=True)


def _bad_seq(log: AuditLog, heads=()) -> int:
    with pytest.raises(AuditError) as err:
        verify_chain(AuditLog(log.path).entries(), heads)
    return err.value.seq


def test_hash_is_sha256_of_the_canonical_entry():
    import hashlib

    entry = {"seq": 1, "ts": "t", "user": "u", "action": "a", "details": {"b": 2, "a": "한"}}
    entry["prev"] = GENESIS
    assert (
        canonical_bytes(entry)
        == (
            '{"action":"a","details":{"a":"한","b":2},"prev":"' + GENESIS + '","seq":1,'
            '"ts":"t","user":"u"}'
        ).encode()
    )
    assert entry_hash(entry) == hashlib.sha256(canonical_bytes(entry)).hexdigest()
    assert entry_hash({**entry, "hash": "x"}) == entry_hash(entry)  # hash not covered


def test_chain_links_entries(tmp_path):
    log = _log(tmp_path, 3)
    entries = log.entries()
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev"] == GENESIS
    assert entries[2]["prev"] == entries[1]["hash"] and entries[1]["prev"] == entries[0]["hash"]
    assert entries[0]["ts"].endswith("Z") and entries[0]["user"] == "kim"
    assert verify_chain(entries) == 3
    assert oct(log.path.stat().st_mode & 0o777) == "0o600"


def test_edited_entry(tmp_path):
    log = _log(tmp_path)
    lines = _lines(log)
    lines[2] = lines[2].replace('"p2"', '"p9"')
    log.path.write_text("".join(lines), encoding="utf-8")
    assert _bad_seq(log) == 3


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(tmp_path):
    log = _log(tmp_path)
    lines = _lines(log)
    e = json.loads(lines[1])
    e["details"]["page"] = "forged"
    e["hash"] = entry_hash(e)
    lines[1] = json.dumps(e) + "\n"
    log.path.write_text("".join(lines), encoding="utf-8")
    assert _bad_seq(log) == 3


def test_removed_entry(tmp_path):
    log = _log(tmp_path)
    lines = _lines(log)
    del lines[1]
    log.path.write_text("".join(lines), encoding="utf-8")
    assert _bad_seq(log) == 2


def test_inserted_entry(tmp_path):
    log = _log(tmp_path)
    lines = _lines(log)
    forged = json.loads(lines[1])
    forged["details"] = {"page": "inserted"}
    forged["hash"] = entry_hash(forged)
    lines.insert(2, json.dumps(forged) + "\n")
    log.path.write_text("".join(lines), encoding="utf-8")
    assert _bad_seq(log) == 3


def test_reordered_entries(tmp_path):
    log = _log(tmp_path)
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    log.path.write_text("".join(lines), encoding="utf-8")
    assert _bad_seq(log) == 2


def test_garbage_line(tmp_path):
    log = _log(tmp_path)
    lines = _lines(log)
    lines[3] = "not json\n"
    log.path.write_text("".join(lines), encoding="utf-8")
    assert _bad_seq(log) == 4


def test_cut_tail_is_caught_by_the_store_head(tmp_path):
    log = _log(tmp_path)
    head = log.entries()[-1]
    log.path.write_text("".join(_lines(log)[:3]), encoding="utf-8")
    assert verify_chain(log.entries()) == 3  # the chain alone cannot see it
    assert _bad_seq(log, [StoreHead("duckdb:g", head["seq"], head["hash"])]) == 4


def test_rewritten_log_differs_from_the_store_head(tmp_path):
    log = _log(tmp_path, 2)
    head = log.entries()[-1]
    log.path.unlink()
    forged = _log(tmp_path, 2)  # a whole new, self-consistent chain
    assert _bad_seq(forged, [StoreHead("duckdb:g", head["seq"], head["hash"])]) == 2


def test_torn_tail_stops_the_next_append(tmp_path):
    log = _log(tmp_path, 2)
    with open(log.path, "a", encoding="utf-8") as f:
        f.write('{"seq": 3, "ts"')
    before = log.path.read_bytes()
    with pytest.raises(AuditError, match="not a valid entry"):
        log.append("kim", "page_view", {})
    with pytest.raises(AuditError):
        log.check_tail()
    assert log.path.read_bytes() == before


def _append_many(path: str, who: str, n: int) -> None:
    log = AuditLog(path)
    for i in range(n):
        log.append(who, "search", {"i": i})


def test_concurrent_appenders_keep_one_chain(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(path, f"u{k}", 25)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    entries = AuditLog(path).entries()
    assert verify_chain(entries) == 75
    assert sorted(e["user"] for e in entries).count("u1") == 25


def test_filters():
    entries = [
        {"user": "kim (os: op)", "ts": "2026-12-01T10:00:00Z", "details": {"cases": ["A"]}},
        {"user": "lee", "ts": "2026-12-02T10:00:00Z", "details": {"cases": ["B"]}},
    ]
    assert filter_entries(entries, user="kim") == entries[:1]
    assert filter_entries(entries, user="kim (os: op)") == entries[:1]
    assert filter_entries(entries, case="B") == entries[1:]
    assert filter_entries(entries, since="2026-12-02") == entries[1:]


def test_store_records_the_newest_head(store):
    store.ensure_schema()
    assert store.audit_head() is None
    store.record_audit_head(3, "c" * 64)
    store.record_audit_head(2, "b" * 64)  # an older append finishing late changes nothing
    assert store.audit_head() == (3, "c" * 64)
    store.record_audit_head(4, "d" * 64)
    assert store.audit_head() == (4, "d" * 64)


def _cli(args, env, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "graphintel.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
    )


def test_cli_audit_trail_end_to_end(tmp_path, tiny_bundle):
    import os

    env = dict(os.environ)
    env.pop("GRAPHINTEL_AUDIT_LOG", None)
    env.update(
        GRAPHINTEL_WORKSPACE=str(tmp_path / "ws"),
        GRAPHINTEL_STORE=f"duckdb:{tmp_path / 'ws' / 'g.duckdb'}",
        GRAPHINTEL_PII_KEY="k",
        GRAPHINTEL_USER="kim",
    )
    assert _cli(["ingest", str(tiny_bundle), "--no-progress"], env).returncode == 0
    out = tmp_path / "csv"
    assert _cli(["export", "--format", "csv", "--out", str(out)], env).returncode == 0
    ok = _cli(["audit", "verify"], env)
    assert ok.returncode == 0 and ok.stdout.startswith("2 entries intact"), ok.stderr
    shown = json.loads(_cli(["audit", "show", "--format", "json"], env).stdout)
    ingest, export = shown
    assert ingest["action"] == "ingest" and ingest["user"].startswith("kim (os: ")
    assert ingest["details"]["cases"] == ["CASE-TINY-0001"]
    assert (
        ingest["details"]["files"]["accounts.csv"]
        == __import__("hashlib").sha256((tiny_bundle / "accounts.csv").read_bytes()).hexdigest()
    )
    assert export["details"]["rows"][str(out / "accounts.csv")] == 13
    # every file the export wrote is hashed (records and the result/case tables)
    assert set(export["details"]["sha256"]) == {str(p) for p in out.glob("*.csv")}
    assert {str(out / "accounts.csv"), str(out / "channels.csv")} <= set(
        export["details"]["sha256"]
    )
    assert _cli(["audit", "show", "--case", "NOPE", "--format", "json"], env).stdout.strip() == "[]"

    log = tmp_path / "ws" / "audit.jsonl"
    log.write_text(log.read_text().splitlines(keepends=True)[0], encoding="utf-8")  # cut
    bad = _cli(["audit", "verify"], env)
    assert bad.returncode == 2 and "first bad seq 2" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
