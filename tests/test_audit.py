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
    assert [h[1:] for h in store.audit_heads()] == [(4, "d" * 64, None)]  # legacy: no chain id


def test_store_keeps_one_head_per_chain(store):
    """Heads are keyed by chain id: a second chain's head never replaces the first's."""
    one, two = "1" * 64, "2" * 64
    store.ensure_schema()
    store.record_audit_head(100, "c" * 64, chain=one)
    store.record_audit_head(3, "a" * 64, chain=two)  # lower seq, other chain: kept beside it
    store.record_audit_head(2, "b" * 64, chain=one)  # older in chain one: changes nothing
    assert store.audit_head(chain=one) == (100, "c" * 64)
    assert store.audit_head(chain=two) == (3, "a" * 64)
    assert store.audit_head(chain="3" * 64) is None
    assert store.audit_head() == (100, "c" * 64)
    store.record_audit_head(4, "d" * 64, chain=two)
    assert sorted(h[1:] for h in store.audit_heads()) == [(4, "d" * 64, two), (100, "c" * 64, one)]


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


def test_head_file_keeps_the_newest_head_mode_600(tmp_path):
    from graphintel.audit import HeadFile

    head = HeadFile(tmp_path / "g.duckdb")
    assert head.audit_head() is None
    head.record_audit_head(5, "e" * 64)
    head.record_audit_head(4, "d" * 64)  # an older append finishing late changes nothing
    assert head.audit_head() == (5, "e" * 64)
    assert json.loads(head.path.read_text()) == {"seq": 5, "hash": "e" * 64}
    assert oct(head.path.stat().st_mode & 0o777) == "0o600"
    head.path.write_text('{"seq": "5"}', encoding="utf-8")
    with pytest.raises(AuditError, match="damaged or was edited"):
        head.audit_head()


def test_reading_store_records_its_head_beside_the_file(tmp_path, tiny_bundle):
    """A read-only DuckDB store keeps the head in PATH.audit-head; the store file is untouched;
    a writer that wrote keeps it in its table; audit_head is the newest of both."""
    from graphintel.config import load_settings
    from graphintel.store.duckdb_store import DuckDBStore
    from ingest.job import ingest_manifest

    path = tmp_path / "g.duckdb"
    with DuckDBStore(path) as w:
        ingest_manifest(tiny_bundle / "manifest.yaml", w, load_settings())
        w.record_audit_head(1, "a" * 64)
    before = path.stat()
    r = DuckDBStore(path, read_only=True)
    r.record_audit_head(2, "b" * 64)
    assert r.audit_heads() == [
        (f"duckdb:{path}", 1, "a" * 64, None),
        (f"{path}.audit-head", 2, "b" * 64, None),
    ]
    assert r.audit_head() == (2, "b" * 64)
    r.close()
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_size,
    )
    # a writer that writes nothing records beside the file too (no republish)
    idle = DuckDBStore(path)
    idle.record_audit_head(3, "c" * 64)
    idle.close()
    assert path.stat().st_ino == before.st_ino
    assert DuckDBStore(path, read_only=True).audit_heads()[1][1:3] == (3, "c" * 64)


def _env(tmp_path):
    import os

    env = dict(os.environ)
    env.pop("GRAPHINTEL_AUDIT_LOG", None)
    env.update(
        GRAPHINTEL_WORKSPACE=str(tmp_path / "ws"),
        GRAPHINTEL_STORE=f"duckdb:{tmp_path / 'ws' / 'g.duckdb'}",
        GRAPHINTEL_PII_KEY="k",
        GRAPHINTEL_USER="kim",
    )
    return env


def test_cli_reading_commands_leave_the_store_file_alone(tmp_path, tiny_bundle):
    env = _env(tmp_path)
    store = tmp_path / "ws" / "g.duckdb"
    assert _cli(["ingest", str(tiny_bundle), "--no-progress"], env).returncode == 0
    assert _cli(["analyze"], env).returncode == 0  # writers: the head goes into the table
    before = store.stat()
    for args in (
        ["report", "--format", "json"],
        ["export", "--format", "csv", "--out", str(tmp_path / "csv")],
        ["dossier", "A01", "--out", str(tmp_path / "dossier")],
        ["compare", "--at", "2024-07-15"],
        ["watch", "list"],
        ["alerts", "list"],
    ):
        done = _cli(args, env)
        assert done.returncode == 0, (args, done.stderr)
    after = store.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    (side,) = json.loads((tmp_path / "ws" / "g.duckdb.audit-head").read_text())["chains"].values()
    assert side["seq"] == 8
    ok = _cli(["audit", "verify"], env)
    assert ok.returncode == 0 and ok.stdout.startswith("8 entries intact"), ok.stderr
    assert "recorded seq 8" in ok.stdout


@pytest.mark.parametrize(
    ("tamper", "bad"),
    [
        ("cut", 3),  # the table holds seq 1 only: the side file catches the cut
        ("edit", 2),
        ("remove", 2),
        ("insert", 2),
        ("reorder", 2),
        ("rewrite", 1),  # a new self-consistent log: the table's seq 1 differs first
    ],
)
def test_cli_verify_uses_the_side_file_and_the_table(tmp_path, tiny_bundle, tamper, bad):
    env = _env(tmp_path)
    assert _cli(["ingest", str(tiny_bundle), "--no-progress"], env).returncode == 0
    for _ in range(3):
        assert _cli(["report"], env).returncode == 0
    log = tmp_path / "ws" / "audit.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    if tamper == "cut":
        lines = lines[:2]
    elif tamper == "edit":
        lines[1] = lines[1].replace('"table"', '"json"')
    elif tamper == "remove":
        del lines[1]
    elif tamper == "insert":
        lines.insert(1, lines[2])
    elif tamper == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    else:
        log.unlink()
        forged = AuditLog(log)
        for i in range(4):
            forged.append("kim", "report", {"i": i})
        lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    log.write_text("".join(lines), encoding="utf-8")
    res = _cli(["audit", "verify"], env)
    assert res.returncode == 2, res.stdout
    assert f"first bad seq {bad}" in res.stderr and "Traceback" not in res.stderr


def test_cli_watch_alert_and_takedown_actions_are_audited(tmp_path, tiny_bundle, monkeypatch):
    from graphintel.cli import main
    from graphintel.store.duckdb_store import DuckDBStore

    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(log))
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("GRAPHINTEL_PII_KEY", "k")
    monkeypatch.setenv("GRAPHINTEL_USER", "kim")
    s = ["--store", f"duckdb:{tmp_path / 'g.duckdb'}"]
    assert main(["ingest", str(tiny_bundle / "manifest.yaml"), "--no-progress", *s]) == 0
    assert main(["watch", "add", "--kind", "org", "O1", "--note", "school list", *s]) == 0
    assert main(["watch", "list", *s]) == 0
    assert main(["alerts", "run", *s]) == 0
    entries = AuditLog(log).entries()
    alert_id = entries[-1]["details"]["alert_ids"]["ids"][0]
    assert main(["alerts", "ack", alert_id[:8], "--note", "checked at the source", *s]) == 0
    assert main(["alerts", "list", *s]) == 0
    assert main(["watch", "remove", "--kind", "org", "O1", *s]) == 0
    prov = ["--case-id", "CASE-TINY-0001", "--legal-basis", "platform notice", "--by", "op7"]
    assert main(["takedown", "request", "h:0001", "--at", "2024-08-01", *prov, *s]) == 0
    assert main(["takedown", "confirm", "h:0001", "--at", "2024-08-03", *s]) == 0

    entries = AuditLog(log).entries()
    assert verify_chain(entries) == 9
    by = {e["action"]: e for e in entries}
    assert [e["action"] for e in entries] == [
        "ingest",
        "watch_add",
        "watch_list",
        "alerts_run",
        "alert_ack",
        "alerts_list",
        "watch_remove",
        "takedown_request",
        "takedown_confirm",
    ]
    assert by["watch_add"]["details"] | {"store": None} == {
        "store": None,
        "kind": "org",
        "values": ["O1"],
        "notes": ["school list"],
        "from_csv": None,
        "added": 1,
    }
    assert by["watch_list"]["details"]["entries"] == 1
    # tiny: room C1 is reported as targeting O1
    run = by["alerts_run"]["details"]
    assert run["new"] == 1 and run["rules"] == {"watched_org_targeted": 1}
    assert run["alert_ids"]["ids"] == [alert_id]
    ack = by["alert_ack"]["details"]
    assert (ack["alert_id"], ack["rule"], ack["note"]) == (
        alert_id,
        "watched_org_targeted",
        "checked at the source",
    )
    assert by["alerts_list"]["details"]["alert_ids"]["ids"] == [alert_id]
    assert by["watch_remove"]["details"]["values"] == ["O1"]
    assert by["watch_remove"]["details"]["removed"] == 1
    req = by["takedown_request"]["details"]
    assert req["source_id"] == "MANUAL-TAKEDOWNS" and req["cases"] == ["CASE-TINY-0001"]
    assert [(r["content_hash"], r["status"]) for r in req["records"]] == [("h:0001", "requested")]
    conf = by["takedown_confirm"]["details"]["records"]
    assert [(r["content_hash"], r["status"], r["confirmed_at"]) for r in conf] == [
        ("h:0001", "confirmed", "2024-08-03T00:00:00")
    ]
    assert all(e["user"].startswith("kim (os: ") for e in entries)
    # the last action wrote the store: its head is in the store's table
    with DuckDBStore(tmp_path / "g.duckdb", read_only=True) as store:
        assert store.audit_head() == (entries[-1]["seq"], entries[-1]["hash"])


# -- a cut tail cannot be hidden by appending again (heads keyed by chain id) -----------------
def _cut(log: AuditLog, keep: int) -> None:
    log.path.write_text("".join(_lines(log)[:keep]), encoding="utf-8")


def _cut_then_append_many(log: AuditLog, target) -> None:
    """100 entries recorded in ``target``, the tail 51..100 cut, then 51 appends tried."""
    for i in range(100):
        log.append("kim", "report", {"i": i}, stores=[target])
    assert target.audit_head(chain=log.entries()[0]["hash"])[0] == 100
    _cut(log, 50)
    for i in range(51):  # enough to pass the recorded seq 100 if they were let through
        with pytest.raises(AuditError, match="first missing seq 51") as err:
            log.append("kim", "report", {"again": i}, stores=[target])
        assert err.value.seq == 51
        assert "Restore the log" in str(err.value) and "audit verify" in str(err.value)
    entries = log.entries()
    assert len(entries) == 50  # nothing appended
    assert target.audit_head(chain=entries[0]["hash"])[0] == 100  # the head is not overwritten
    heads = [StoreHead(*h) for h in target.audit_heads()]
    with pytest.raises(AuditError, match="first missing seq 51") as err:
        verify_chain(entries, heads)
    assert err.value.seq == 51


def test_cut_tail_then_many_appends_is_refused_and_detected(tmp_path, store):
    """On the DuckDB table and on the real Neo4j (the ``store`` fixture runs both)."""
    store.ensure_schema()
    _cut_then_append_many(AuditLog(tmp_path / "audit.jsonl"), store)
    if hasattr(store, "path"):  # DuckDB: the writer kept the heads in its table
        assert [h[0] for h in store.audit_heads()] == [store.uri]


def test_cut_tail_then_many_appends_on_the_side_file(tmp_path):
    from graphintel.audit import HeadFile

    side = HeadFile(tmp_path / "g.duckdb")
    _cut_then_append_many(AuditLog(tmp_path / "audit.jsonl"), side)
    body = json.loads(side.path.read_text())
    assert list(body) == ["chains"] and [v["seq"] for v in body["chains"].values()] == [100]


def test_same_seq_other_hash_is_refused(tmp_path):
    """Cut to 3, then one forged-free append lands a different seq 4: the store's seq 4 has
    another hash, so the next append is refused too (same seq, other hash)."""
    from graphintel.audit import HeadFile

    side = HeadFile(tmp_path / "g.duckdb")
    log = _log(tmp_path, 4)
    entries = log.entries()
    side.record_audit_head(4, entries[3]["hash"], chain=entries[0]["hash"])
    _cut(log, 3)
    log.append("kim", "report", {"x": 1})  # not touching the store: allowed
    with pytest.raises(AuditError, match="recorded another entry as seq 4") as err:
        log.append("kim", "report", {"x": 2}, stores=[side])
    assert err.value.seq == 4 and len(log.entries()) == 4


def test_cut_tail_refilled_past_the_head_by_storeless_entries_is_refused(tmp_path):
    """Cut to 3 (the store recorded seq 4), then entries that touch no store refill the log
    past seq 4: the next append touching the store finds its seq 4 differs from the log's and
    is refused (else it would overwrite the only proof of the cut)."""
    from graphintel.audit import HeadFile

    side = HeadFile(tmp_path / "g.duckdb")
    log = _log(tmp_path, 4)
    entries = log.entries()
    side.record_audit_head(4, entries[3]["hash"], chain=entries[0]["hash"])
    _cut(log, 3)
    for i in range(5):  # users passwd and the like: no store, not checked
        log.append("kim", "user_passwd", {"i": i})
    assert len(log.entries()) == 8
    with pytest.raises(AuditError, match="recorded another entry as seq 4 than the log") as err:
        log.append("kim", "report", {"x": 2}, stores=[side])
    assert err.value.seq == 4 and len(log.entries()) == 8
    with pytest.raises(AuditError, match="refusing to append"):
        log.check_stores([side])
    assert side.audit_head(chain=entries[0]["hash"]) == (4, entries[3]["hash"])
    log.append("kim", "report", {"x": 3})  # still allowed without the store
    good = AuditLog(tmp_path / "good.jsonl")
    for i in range(3):
        good.append("kim", "report", {"i": i}, stores=[HeadFile(tmp_path / "h.duckdb")])
    good.append("kim", "user_passwd", {})
    good.append("kim", "report", {}, stores=[HeadFile(tmp_path / "h.duckdb")])  # intact: fine


def test_two_chains_on_one_store(tmp_path, store):
    """A new log (another workspace, or GRAPHINTEL_AUDIT_LOG moved) is a new chain: another
    chain's head never blocks it, each chain's cut is caught on its own, and verify names a
    head whose chain is not in the log unless that log is given too."""
    store.ensure_schema()
    one, two = AuditLog(tmp_path / "one.jsonl"), AuditLog(tmp_path / "two.jsonl")
    for i in range(10):
        one.append("kim", "report", {"i": i}, stores=[store])
    for i in range(3):  # seq 1..3 of a new chain: not blocked by chain one's seq 10
        two.append("lee", "report", {"i": i}, stores=[store])
    e1, e2 = one.entries(), two.entries()
    assert e1[0]["hash"] != e2[0]["hash"]
    heads = [StoreHead(*h) for h in store.audit_heads()]
    assert sorted((h.chain, h.seq) for h in heads) == sorted(
        [(e1[0]["hash"], 10), (e2[0]["hash"], 3)]
    )
    assert verify_chain(e1, heads, others=[e2]) == 10
    assert verify_chain(e2, heads, others=[e1]) == 3
    with pytest.raises(AuditError, match="not in this log") as err:
        verify_chain(e1, heads)  # chain two's log not given
    assert err.value.seq == 1
    _cut(one, 7)
    with pytest.raises(AuditError, match="first missing seq 8"):
        one.append("kim", "report", {}, stores=[store])
    two.append("lee", "report", {}, stores=[store])  # the other chain carries on
    assert len(two.entries()) == 4
    with pytest.raises(AuditError, match="first missing seq 8"):
        verify_chain(
            two.entries(), [StoreHead(*h) for h in store.audit_heads()], others=[one.entries()]
        )
    # the whole log of chain one removed: a store head whose chain is in no log
    one.path.unlink()
    with pytest.raises(AuditError, match="not in this log"):
        verify_chain(two.entries(), [StoreHead(*h) for h in store.audit_heads()])


def test_legacy_head_is_read_and_explained(tmp_path, store):
    """A head recorded before chain ids (no chain) still catches a cut, says it is legacy,
    and never blocks an append (it may belong to another log)."""
    store.ensure_schema()
    log = _log(tmp_path, 5)
    last = log.entries()[-1]
    store.record_audit_head(last["seq"], last["hash"])  # legacy: no chain id
    assert [h[3] for h in store.audit_heads()] == [None]
    assert verify_chain(log.entries(), [StoreHead(*h) for h in store.audit_heads()]) == 5
    _cut(log, 3)
    log.append("kim", "report", {}, stores=[store])  # not blocked by a legacy head
    with pytest.raises(AuditError, match="legacy head") as err:
        verify_chain(log.entries(), [StoreHead(*h) for h in store.audit_heads()])
    assert err.value.seq == 5


def test_legacy_head_file_is_kept_beside_chain_heads(tmp_path):
    from graphintel.audit import HeadFile

    side = HeadFile(tmp_path / "g.duckdb")
    side.path.write_text('{"seq": 7, "hash": "' + "a" * 64 + '"}\n', encoding="utf-8")
    side.record_audit_head(2, "b" * 64, chain="c" * 64)
    assert side.heads() == {None: (7, "a" * 64), "c" * 64: (2, "b" * 64)}
    assert json.loads(side.path.read_text())["seq"] == 7  # where old readers look


def test_cli_refuses_an_action_after_a_cut_and_a_moved_log_is_a_new_chain(tmp_path, tiny_bundle):
    env = _env(tmp_path)
    store = tmp_path / "ws" / "g.duckdb"
    assert _cli(["ingest", str(tiny_bundle), "--no-progress"], env).returncode == 0
    for _ in range(3):
        assert _cli(["report"], env).returncode == 0
    log = tmp_path / "ws" / "audit.jsonl"
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:2]), encoding="utf-8")
    before_log, before_store = log.read_bytes(), store.stat()
    side_before = (tmp_path / "ws" / "g.duckdb.audit-head").read_bytes()
    for args in (
        ["report"],
        ["analyze"],
        ["export", "--format", "csv", "--out", str(tmp_path / "x")],
    ):
        res = _cli(args, env)
        assert res.returncode == 2, (args, res.stdout)
        assert "refusing to append" in res.stderr and "first missing seq 3" in res.stderr
        assert "Restore the log" in res.stderr and "Traceback" not in res.stderr
    assert log.read_bytes() == before_log  # nothing logged
    after = store.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before_store.st_ino, before_store.st_mtime_ns)
    assert (tmp_path / "ws" / "g.duckdb.audit-head").read_bytes() == side_before
    assert not (tmp_path / "x").exists()  # the export did not run
    bad = _cli(["audit", "verify"], env)
    assert bad.returncode == 2 and "first missing seq 3" in bad.stderr
    # a log moved elsewhere is a new chain: not blocked by the old chain's head
    moved = dict(env, GRAPHINTEL_AUDIT_LOG=str(tmp_path / "other" / "audit.jsonl"))
    assert _cli(["report"], moved).returncode == 0
    res = _cli(["audit", "verify"], moved)
    assert res.returncode == 2 and "not in this log" in res.stderr
    # both logs given: the new chain matches, and the old chain's cut is still named
    res = _cli(["audit", "verify", "--also-log", str(log)], moved)
    assert res.returncode == 2 and "first missing seq 3" in res.stderr, res.stderr


def test_legacy_duckdb_table_without_chain_column(tmp_path):
    """A store written by an earlier release (``audit_head(seq, hash)``) reads, read-only, as a
    legacy head; a later writer adds the chain column and keeps the legacy row beside."""
    from graphintel.store.duckdb_store import DuckDBStore

    path = tmp_path / "g.duckdb"
    with DuckDBStore(path) as w:
        w.ensure_schema()
        w.con.execute("CREATE TABLE audit_head (seq BIGINT, hash VARCHAR)")
        w.con.execute("INSERT INTO audit_head VALUES (9, $h)", {"h": "a" * 64})
        w._dirty = True
    with DuckDBStore(path, read_only=True) as r:
        assert r.audit_heads() == [(f"duckdb:{path}", 9, "a" * 64, None)]
    with DuckDBStore(path) as w:
        w._dirty = True  # a writer that wrote: the head goes into the table
        w.record_audit_head(2, "b" * 64, chain="c" * 64)
    with DuckDBStore(path, read_only=True) as r:
        assert r.audit_heads() == [
            (f"duckdb:{path}", 2, "b" * 64, "c" * 64),
            (f"duckdb:{path}", 9, "a" * 64, None),
        ]
        assert r.audit_head(chain="c" * 64) == (2, "b" * 64)


@pytest.mark.neo4j
def test_cli_refuses_a_cut_log_on_neo4j(neo4j_store, tmp_path, monkeypatch, capsys):
    from graphintel.cli import main

    log = AuditLog(tmp_path / "audit.jsonl")
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(log.path))
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(tmp_path / "ws"))
    for i in range(5):
        log.append("kim", "report", {"i": i}, stores=[neo4j_store])
    _cut(log, 2)
    before = log.path.read_bytes()
    assert main(["report", "--store", neo4j_store.uri]) == 2
    err = capsys.readouterr().err
    assert "refusing to append" in err and "first missing seq 3" in err
    assert log.path.read_bytes() == before
    assert neo4j_store.audit_head(chain=log.entries()[0]["hash"])[0] == 5
    assert main(["audit", "verify", "--store", neo4j_store.uri]) == 2
    assert "first missing seq 3" in capsys.readouterr().err
