"""Watch lists and alerts on both stores (DuckDB and the real Neo4j), with hand-worked answers.

Bundle ``tests/data/watch/base`` with the watch list of :func:`_watch` (organisation O1; accounts
``@watched_op`` and ``phone:010-5555-0003``; hash hZ; keyword ``school``) raises exactly
:data:`BASE_ALERTS`:

* O1 is targeted by R1 (R3 targets O2, not watched);
* W1 (handle ``@Watched_Op``, matched case-insensitively; W2's ``@watched_op2`` is not a match)
  created and owns R1, joined R2, was paid by M1 in R1 (T1 and T2: one alert) and paid B1 (T3, no
  room); M3 (by its phone token) joined R3; M2's payment to M1 (T4) involves nobody watched;
* hZ is posted in R2;
* hX was taken down (confirmed 2024-09-10) and is posted in R2 on 09-20: a reappearance; its post
  in R1 on 09-01 came before; hY's takedown was refused (not a reappearance);
* ``school`` is in R1's and R3's titles (case-insensitive), not in R2's.

``tests/data/watch/second`` then raises exactly :data:`SECOND_ALERTS`.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from graphintel import watch
from graphintel.cli import main
from graphintel.errors import ConfigError, InputFormatError, NotifyError
from ingest.job import ingest_manifest

DATA = Path(__file__).resolve().parent / "data" / "watch"
BASE = DATA / "base"
SECOND = DATA / "second"

# (rule, activity, channel_id, org_id, account_id, other_account_id, content_hash)
BASE_ALERTS = {
    ("watched_org_targeted", None, "R1", "O1", None, None, None),
    ("watched_account", "created", "R1", None, "W1", None, None),
    ("watched_account", "administers", "R1", None, "W1", None, None),
    ("watched_account", "joined", "R2", None, "W1", None, None),
    ("watched_account", "was_paid", "R1", None, "W1", "M1", None),
    ("watched_account", "paid", None, None, "W1", "B1", None),
    ("watched_account", "joined", "R3", None, "M3", None, None),
    ("watched_hash_posted", None, "R2", None, "M2", None, "hZ"),
    ("takedown_reappearance", None, "R2", None, "M2", None, "hX"),
    ("watched_keyword_title", None, "R1", None, None, None, None),
    ("watched_keyword_title", None, "R3", None, None, None, None),
}
SECOND_ALERTS = {
    ("watched_org_targeted", None, "R4", "O1", None, None, None),
    ("watched_account", "joined", "R4", None, "W1", None, None),
    ("takedown_reappearance", None, "R4", None, "M2", None, "hX"),
}
KEY = ["rule", "activity", "channel_id", "org_id", "account_id", "other_account_id", "content_hash"]


def _keys(alerts: pd.DataFrame) -> set[tuple]:
    rows = alerts[KEY].astype(object).where(alerts[KEY].notna(), None)
    return {tuple(r) for r in rows.itertuples(index=False)}


def _watch(store, settings) -> None:
    from ingest.pseudonymise import pii_key

    key = pii_key(settings)
    for kind, values in [
        ("org", ["O1"]),
        ("account", ["@watched_op", "phone:010-5555-0003"]),
        ("hash", ["hZ"]),
        ("keyword", ["school"]),
    ]:
        stored = watch.normalise_watch_values(kind, values, pii_key=key)
        watch.add_watches(store, watch.watch_frame(kind, stored, now="2024-10-01T00:00:00"))


def test_each_rule_raises_exactly_the_known_alerts(store, settings):
    ingest_manifest(BASE, store, settings)
    _watch(store, settings)
    new = watch.run_alerts(store, now="2024-10-01T12:00:00")
    assert _keys(new) == BASE_ALERTS
    assert set(new["raised_at"]) == {"2024-10-01T12:00:00"}
    assert new["acked_at"].isna().all()
    by = {k: r for k, r in zip(_keys(new), watch.alert_records(new))}
    assert all(r["source_ids"] == ["SRC-W-0001"] for r in by.values())
    paid = new[(new["activity"] == "was_paid")].iloc[0]
    assert paid["observed_at"] == "2024-08-10T10:00:00"  # the first of T1, T2
    assert paid["watch_value"] == "@watched_op"
    phone = new[new["account_id"] == "M3"].iloc[0]
    assert phone["watch_value"].startswith("pii:")
    assert new.loc[new["rule"] == "takedown_reappearance", "observed_at"].tolist() == [
        "2024-09-20T10:00:00"
    ]

    # running again, or re-ingesting the same data, raises nothing new
    assert watch.run_alerts(store).empty
    assert ingest_manifest(BASE, store, settings).skipped
    assert watch.run_alerts(store).empty
    assert len(store.case_table("alerts")) == len(BASE_ALERTS)

    ingest_manifest(SECOND, store, settings)
    second = watch.run_alerts(store, now="2024-10-16T00:00:00")
    assert _keys(second) == SECOND_ALERTS
    reap = second[second["rule"] == "takedown_reappearance"].iloc[0]
    assert reap["source_ids"] == ["SRC-W-0001", "SRC-W-0002"]  # the takedown and the post
    assert watch.run_alerts(store).empty
    stored = store.case_table("alerts")
    assert _keys(stored) == BASE_ALERTS | SECOND_ALERTS
    assert stored["alert_id"].is_unique


def test_same_data_under_another_file_raises_nothing_new(store, settings, tmp_path):
    ingest_manifest(BASE, store, settings)
    _watch(store, settings)
    assert len(watch.run_alerts(store)) == len(BASE_ALERTS)
    copy = shutil.copytree(BASE, tmp_path / "copy")
    for f in copy.glob("*.csv"):  # same records, other bytes (CRLF): not skipped as known files
        f.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
    text = (copy / "manifest.yaml").read_text().replace("SRC-W-0001", "SRC-W-0001-CRLF")
    (copy / "manifest.yaml").write_text(text)
    assert not ingest_manifest(copy, store, settings).skipped
    assert watch.run_alerts(store).empty


def test_nothing_watched_raises_only_reappearances(store, settings):
    ingest_manifest(BASE, store, settings)
    new = watch.run_alerts(store)
    assert _keys(new) == {("takedown_reappearance", None, "R2", None, "M2", None, "hX")}


def test_alert_ids_agree_across_stores(duckdb_store, neo4j_store, settings):
    ids = []
    for store in (duckdb_store, neo4j_store):
        ingest_manifest(BASE, store, settings)
        _watch(store, settings)
        watch.run_alerts(store, now="2024-10-01T12:00:00")
        alerts = store.case_table("alerts")
        ids.append(alerts.sort_values("alert_id").reset_index(drop=True))
    cols = [c for c in watch.ALERT_COLUMNS if c != "source_ids"]
    pd.testing.assert_frame_equal(ids[0][cols].astype(object), ids[1][cols].astype(object))
    assert ids[0]["source_ids"].map(list).tolist() == ids[1]["source_ids"].map(list).tolist()


def test_watch_list_lives_in_the_store(store, settings):
    _watch(store, settings)
    entries = store.case_table("watchlist")
    assert len(entries) == 5
    assert watch.add_watches(store, watch.watch_frame("org", ["O1", "O2"])) == 1
    assert watch.remove_watches(store, "org", ["O1", "O2"]) == 2
    with pytest.raises(ConfigError, match="not on the watch list"):
        watch.remove_watches(store, "org", ["O1"])
    left = store.case_table("watchlist")
    assert sorted(left["kind"]) == ["account", "account", "hash", "keyword"]
    # the phone number is stored only as its token
    assert not left["value"].str.contains("5555").any()


def test_ack(store, settings):
    ingest_manifest(BASE, store, settings)
    _watch(store, settings)
    new = watch.run_alerts(store)
    target = new[new["rule"] == "watched_org_targeted"]["alert_id"].iloc[0]
    rec = watch.ack_alert(store, target[:8], "checked: school informed", now="2024-10-02T00:00:00")
    assert rec["alert_id"] == target and rec["acked_at"] == "2024-10-02T00:00:00"
    alerts = store.case_table("alerts")
    assert alerts["acked_at"].notna().sum() == 1
    assert len(watch.filter_alerts(alerts, open_only=True)) == len(BASE_ALERTS) - 1
    with pytest.raises(ConfigError, match="already acknowledged"):
        watch.ack_alert(store, target, "again")
    with pytest.raises(ConfigError, match="no alert"):
        watch.ack_alert(store, "ffffffffffff", "x")
    with pytest.raises(ConfigError, match="note is empty"):
        watch.ack_alert(store, target, " ")
    assert watch.run_alerts(store).empty  # acknowledged alerts are not raised again


def test_normalise_watch_values():
    assert watch.normalise_watch_values("hash", [" hZ "]) == ["hZ"]
    token = watch.normalise_watch_values("account", ["phone:+82 10-5555-0003"], pii_key=b"k")[0]
    assert (
        token == watch.normalise_watch_values("account", ["phone:82105555000 3"], pii_key=b"k")[0]
    )
    with pytest.raises(ConfigError, match="looks like a phone number"):
        watch.normalise_watch_values("account", ["010-5555-0003"])
    with pytest.raises(ConfigError, match="empty"):
        watch.normalise_watch_values("keyword", ["  "])
    with pytest.raises(ConfigError, match="unknown watch kind"):
        watch.normalise_watch_values("room", ["R1"])


def test_filter_alerts():
    alerts = pd.DataFrame(
        {
            "alert_id": ["a", "b", "c"],
            "rule": ["watched_account", "watched_keyword_title", "watched_account"],
            "raised_at": ["2024-10-01T00:00:00", "2024-10-02T00:00:00", "2024-10-03T00:00:00"],
            "acked_at": [None, "2024-10-05T00:00:00", None],
        }
    )
    assert watch.filter_alerts(alerts)["alert_id"].tolist() == ["c", "b", "a"]
    assert watch.filter_alerts(alerts, rules=["watched_account"], since="2024-10-02")[
        "alert_id"
    ].tolist() == ["c"]
    assert watch.filter_alerts(alerts, open_only=True)["alert_id"].tolist() == ["c", "a"]
    with pytest.raises(ConfigError, match="not an ISO-8601"):
        watch.filter_alerts(alerts, since="yesterday")


# -- the command line ------------------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHINTEL_PII_KEY", "test-key")
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(tmp_path / "workspace"))
    return f"duckdb:{tmp_path / 'g.duckdb'}"


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_watch_alerts_and_notify(cli_env, capsys, tmp_path):
    s = ["--store", cli_env]
    schools = tmp_path / "schools.csv"
    schools.write_text("org_id,name,note\nO1,Example Middle School,from the school list\n")
    assert _cli(capsys, "watch", "add", "--from-csv", str(schools), *s)[0] == 0
    code, out, _ = _cli(capsys, "watch", "add", "--kind", "account", "@watched_op", *s)
    assert code == 0 and "1 new account entry" in out
    assert _cli(capsys, "watch", "add", "--kind", "account", "phone:010-5555-0003", *s)[0] == 0
    assert _cli(capsys, "watch", "add", "--kind", "hash", "hZ", *s)[0] == 0
    assert _cli(capsys, "watch", "add", "--kind", "keyword", "school", "--note", "n", *s)[0] == 0
    code, out, err = _cli(capsys, "watch", "add", "--kind", "account", "010-5555-0003", *s)
    assert code == 2 and "phone:NUMBER" in err and "Traceback" not in err
    code, out, _ = _cli(capsys, "watch", "list", "--format", "json", *s)
    entries = json.loads(out)
    assert {(e["kind"], e["note"]) for e in entries if e["kind"] == "org"} == {
        ("org", "from the school list")
    }
    assert len(entries) == 5 and "5555" not in out

    sink = tmp_path / "alerts.jsonl"
    notify = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'w').write(sys.stdin.read())\" "
    notify += str(sink)
    code, out, err = _cli(capsys, "ingest", str(BASE), "--notify-cmd", notify, *s)
    assert code == 0, err
    assert f"{len(BASE_ALERTS)} new alert(s)" in out
    lines = [json.loads(x) for x in sink.read_text().splitlines()]
    assert len(lines) == len(BASE_ALERTS)
    assert {tuple(rec[k] for k in KEY) for rec in lines} == BASE_ALERTS
    assert all(set(rec) == set(watch.ALERT_COLUMNS) for rec in lines)

    sink.unlink()
    code, out, _ = _cli(capsys, "alerts", "run", "--notify-cmd", notify, *s)
    assert code == 0 and "No new alerts" in out and not sink.exists()  # nothing new: not run

    code, out, _ = _cli(capsys, "alerts", "list", "--format", "json", *s)
    listed = json.loads(out)
    assert len(listed) == len(BASE_ALERTS)
    code, out, _ = _cli(
        capsys, "alerts", "list", "--format", "json", "--rule", "watched_keyword_title", *s
    )
    assert {a["channel_id"] for a in json.loads(out)} == {"R1", "R3"}
    code, out, _ = _cli(capsys, "alerts", "list", "--format", "json", "--since", "2999-01-01", *s)
    assert json.loads(out) == []
    first = listed[0]["alert_id"]
    assert _cli(capsys, "alerts", "ack", first, "--note", "checked", *s)[0] == 0
    code, out, _ = _cli(capsys, "alerts", "list", "--open", "--format", "json", *s)
    assert len(json.loads(out)) == len(BASE_ALERTS) - 1
    code, out, _ = _cli(capsys, "alerts", "list", *s)
    assert first in out and "acked" in out
    code, _, err = _cli(capsys, "alerts", "ack", "000000", "--note", "x", *s)
    assert code == 2 and "no alert" in err

    # a failing notify command: the alerts are stored, the exit status says it failed
    fail = f'{sys.executable} -c "import sys; sys.stdin.read(); sys.exit(3)"'
    code, out, err = _cli(capsys, "ingest", str(SECOND), "--notify-cmd", fail, *s)
    assert code == 2 and "exited with status 3" in err and "3 new alert(s)" in out
    code, _, err = _cli(capsys, "alerts", "run", "--notify-cmd", "no-such-command-xyz", *s)
    assert code == 0  # nothing new, nothing run

    assert _cli(capsys, "watch", "remove", "--kind", "keyword", "school", *s)[0] == 0
    code, _, err = _cli(capsys, "watch", "remove", "--kind", "keyword", "school", *s)
    assert code == 2 and "not on the watch list" in err


def test_notify_errors(tmp_path):
    alerts = pd.DataFrame({"alert_id": ["a"], "rule": ["watched_account"], "source_ids": [["S"]]})
    with pytest.raises(NotifyError, match="not found"):
        watch.notify("no-such-command-xyz --flag", alerts)
    with pytest.raises(NotifyError, match="cannot be split"):
        watch.notify("echo 'unclosed", alerts)
    assert watch.notify("no-such-command-xyz", alerts.iloc[:0]) == 0
    # no shell: metacharacters are plain arguments
    out = tmp_path / "o.txt"
    cmd = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'w').write(repr(sys.argv[2:]))\""
    watch.notify(f"{cmd} {out} ';' 'rm -rf /' '$(id)'", alerts)
    assert out.read_text() == "[';', 'rm -rf /', '$(id)']"


def test_read_watch_csv(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("value\nschool\n\n")
    assert watch.read_watch_csv(p) == (["school"], [None])
    p.write_text("value\nschool\n  \n")
    with pytest.raises(InputFormatError, match="line 3, column value"):
        watch.read_watch_csv(p)
    p.write_text("name\nx\n")
    with pytest.raises(InputFormatError, match="no value or org_id column"):
        watch.read_watch_csv(p)
    p.write_bytes(b"value\n\xff\xfe\n")
    with pytest.raises(InputFormatError, match="not UTF-8"):
        watch.read_watch_csv(p)
