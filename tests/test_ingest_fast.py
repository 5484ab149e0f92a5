"""Ingest's fast path (ingest/fast.py: Arrow + DuckDB SQL) against the exact path (pandas).

The fast path only accepts: on a valid bundle it must give exactly the bundle the exact path
gives; on a bundle breaking any rule (or holding values it leaves to the exact code) it must
step aside, so the exact path reports the first bad line and column as it always has.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from graphintel.errors import InputFormatError, ValidationError
from graphintel.model import TABLES
from graphintel.store.duckdb_store import DuckDBStore
from ingest.fast import prepare_bundle_fast
from ingest.job import ingest_manifest, prepare_bundle
from ingest.manifest import load_manifest

MANIFEST = """case_id: CASE-F
source_id: SRC-F
method: synthetic
legal_basis: test data, no real persons
collected_at: 2024-08-01
collected_by: tests
files:
"""

GOOD = {
    # Korean text, blanks around ids and names, Unicode blanks, mixed-case enums and booleans,
    # identical duplicates, a phone twice in two spellings, empty optional values
    "accounts": (
        "account_id,handle,display_name,is_bot,first_seen,age_band,phone\n"
        " A1 ,@a,김철수,TRUE,2024-06-01T00:00:00,20-29,010-1234-5678\n"
        "A2,@b,\u3000 Bob \u00a0,no,2024-06-02T10:11:12,,01012345678\n"
        "A2,@b,\u3000 Bob \u00a0,no,2024-06-02T10:11:12,,01012345678\n"
        "A3,,  ,1,,,\n"
        "A4,,\u3000,y,1678-01-01T00:00:00,,\n"
        "A5,,,f,2024-02-29T23:59:59,,\n"
    ),
    "channels": (
        "channel_id,title,kind,created_at,is_public,creator_id\n"
        'C1,"Room, with comma",SuperGroup,2024-06-01T00:00:05,false,A1\n'
        'C2,"multi\nline ""title""",channel,,T,A9\n'
    ),
    "memberships": (
        "account_id,channel_id,role,joined_at,left_at\n"
        "A1,C1,owner,2024-06-01T00:00:05,\n"
        "A2,C1,Member,2024-06-01T00:00:06,2024-06-03T00:00:00\n"
        "A7,C3,,,\n"
    ),
    "invites": (
        "inviter_id,invitee_id,channel_id,invited_at,invite_link\n"
        "A1,A2,C1,2024-06-01T00:00:06,https://t.me/+x\n"
        "A1,A8,,,\n"
    ),
    "transactions": (
        "txn_id,from_id,to_id,credits,amount_krw,kind,ts,channel_id\n"
        "T1,A1,A2,10,26500,topup,2024-06-01T19:00:55,C1\n"
        "T2,A2,A1,1.5e1,.5,Purchase,2024-06-01T19:00:56,\n"
        "T3,A2,A1,+3,0,payout,2024-06-01T19:00:57,C1\n"
        "T4,A2,A1, 0.1 ,0.30000000000000004,,2261-12-31T23:59:59,C1\n"
    ),
    "forwards": "from_channel_id,to_channel_id,ts\nC1,C2,2024-06-01T00:00:00\nC2,C1,\n",
    "organizations": (
        "org_id,name,kind,region,lat,lon\n"
        "O1,School,school,Seoul,37.56291,127.00037\n"
        "O2,,,,-90,180\n"
    ),
    "targets": "channel_id,org_id,first_reported,note\nC1,O1,2024-06-25T07:43:37,n\nC2,O3,,\n",
    "content": "content_hash,channel_id,posted_at,poster_id\nh1,C1,2024-06-04T10:03:33,A6\n",
}


def _bundle(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "bundle"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [MANIFEST]
    for table, text in files.items():
        (folder / f"{table}.csv").write_text(text, encoding="utf-8")
        lines.append(f"  - {{path: {table}.csv, table: {table}}}\n")
    (folder / "manifest.yaml").write_text("".join(lines), encoding="utf-8")
    return folder / "manifest.yaml"


def _plain(frame: pd.DataFrame, table: str) -> list[tuple]:
    """Rows as comparable tuples (missing values as None), sorted by key."""

    def cell(v):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        if hasattr(v, "item"):
            v = v.item()
        return v

    rows = [tuple(cell(v) for v in row) for row in frame.astype(object).itertuples(index=False)]
    cols = list(frame.columns)
    idx = [cols.index(k) for k in TABLES[table].key]
    return sorted(rows, key=lambda r: tuple("" if r[i] is None else str(r[i]) for i in idx))


def _same_bundle(fast, exact) -> None:
    assert set(fast.tables) == set(exact.tables)
    for table, frame in exact.tables.items():
        got = fast.tables[table].to_pandas()
        assert list(got.columns) == list(frame.columns), table
        assert _plain(got, table) == _plain(frame, table), table
    drop = {"ingested_at"}
    assert {k: v for k, v in fast.source.items() if k not in drop} == {
        k: v for k, v in exact.source.items() if k not in drop
    }


def test_fast_path_gives_the_exact_bundle(tmp_path, settings):
    manifest = load_manifest(_bundle(tmp_path, GOOD))
    got = prepare_bundle_fast(manifest, settings)
    assert got is not None, "a valid bundle must take the fast path"
    fast, fast_report = got
    exact, exact_report = prepare_bundle(manifest, settings)
    _same_bundle(fast, exact)
    assert fast_report.rows_read == exact_report.rows_read
    assert fast_report.rows_valid == exact_report.rows_valid
    assert fast_report.inferred == exact_report.inferred
    # known answers: trimmed ids, Unicode blanks are empty, enums lowered, numbers parsed
    accounts = fast.tables["accounts"].to_pandas().set_index("account_id")
    assert list(accounts.index[:4]) == ["A1", "A2", "A3", "A4"]
    assert accounts.loc["A2", "display_name"] == "\u3000 Bob \u00a0"
    assert pd.isna(accounts.loc["A3", "display_name"]) and pd.isna(
        accounts.loc["A4", "display_name"]
    )
    assert accounts.loc["A1", "phone_token"] == accounts.loc["A2", "phone_token"]
    assert accounts.loc["A7", "inferred"] and not accounts.loc["A1", "inferred"]
    assert fast_report.inferred == {"accounts": 4, "channels": 1, "organizations": 1}
    tx = fast.tables["transactions"].to_pandas().set_index("txn_id")
    assert tx.loc["T2", "credits"] == 15.0 and tx.loc["T2", "kind"] == "purchase"
    assert tx.loc["T4", "credits"] == 0.1


def test_fast_ingest_stores_what_the_exact_path_stores(tmp_path, settings):
    path = _bundle(tmp_path, GOOD)
    fast_store = DuckDBStore(tmp_path / "fast.duckdb")
    with fast_store:
        report = ingest_manifest(path, fast_store, settings)
    assert report.path == "fast"
    exact_store = DuckDBStore(tmp_path / "exact.duckdb")
    with exact_store:
        exact_store.ensure_schema()
        bundle, _ = prepare_bundle(load_manifest(path), settings)
        exact_store.write_bundle(bundle)
    with (
        DuckDBStore(tmp_path / "fast.duckdb", read_only=True) as a,
        DuckDBStore(tmp_path / "exact.duckdb", read_only=True) as b,
    ):
        for table in TABLES:
            left, right = a.table(table), b.table(table)
            assert _plain(left, table) == _plain(right, table), table
        assert a.counts() == b.counts()


# One bad value per rule (and values the fast path leaves to the exact code): the fast path
# steps aside and the exact path names the line and column.
BAD = [
    ("accounts", "account_id,is_bot\nA1,true\n ,false\n", "line 3, column account_id"),
    ("accounts", "account_id,is_bot\nA1,true\nA2,maybe\n", "line 3, column is_bot"),
    ("accounts", "account_id,first_seen\nA1,2024-02-30T00:00:00\n", "line 2, column first_seen"),
    ("accounts", "account_id,first_seen\nA1,2024-13-01\n", "line 2, column first_seen"),
    ("accounts", "account_id,first_seen\nA1,2023-02-29T00:00:00\n", "line 2, column first_seen"),
    ("accounts", "account_id,first_seen\nA1,2024-06-01T24:00:00\n", "line 2, column first_seen"),
    ("accounts", "account_id,first_seen\nA1,2024-06-01X12:00:00\n", "line 2, column first_seen"),
    ("channels", "channel_id,kind\nC1,group\nC2,forum\n", "line 3, column kind"),
    ("channels", "channel_id,kind\nC1, group\n", "line 2, column kind"),
    ("transactions", "txn_id,from_id,to_id,credits\nT1,A,B,-1\n", "line 2, column credits"),
    ("transactions", "txn_id,from_id,to_id,credits\nT1,A,B,inf\n", "line 2, column credits"),
    ("transactions", "txn_id,from_id,to_id,credits\nT1,A,B,nan\n", "line 2, column credits"),
    ("transactions", "txn_id,from_id,to_id,credits\nT1,A,B,ten\n", "line 2, column credits"),
    ("transactions", "txn_id,from_id,to_id,credits\nT1,A,B,\n", "line 2, column credits"),
    ("transactions", "txn_id,from_id,to_id,credits\nT1,A,B,1_000\n", "line 2, column credits"),
    ("transactions", "txn_id,from_id,to_id,credits\nT1,A,B,0x10\n", "line 2, column credits"),
    ("organizations", "org_id,lat\nO1,91\n", "line 2, column lat"),
    (
        "organizations",
        "org_id,name\nO1,A\nO1,B\n",
        "line 3, column name: conflicting duplicate of organizations.csv line 2",
    ),
]


@pytest.mark.parametrize(("table", "text", "where"), BAD)
def test_fast_path_leaves_every_failure_to_the_exact_path(tmp_path, settings, table, text, where):
    path = _bundle(tmp_path, {table: text})
    assert prepare_bundle_fast(load_manifest(path), settings) is None
    store = DuckDBStore(tmp_path / "s.duckdb")
    with pytest.raises(ValidationError) as err:
        ingest_manifest(path, store, settings)
    store.abort()
    assert f"{table}.csv {where}" in str(err.value)
    assert not (tmp_path / "s.duckdb").exists()


def test_fast_path_leaves_accepted_oddities_to_the_exact_path(tmp_path, settings):
    # a date without a time and an offset are valid, but normalised by the exact code only
    # (and a year outside 1678-2261, pandas' old Timestamp range)
    text = (
        "account_id,first_seen\nA1,2024-06-01\nA2,2024-06-01T09:00:00+09:00\n"
        "A3,1500-01-01T00:00:00\n"
    )
    # "-0" (0.0 to pandas in an integer column) and a leap second (pandas keeps it)
    for i, (table, odd) in enumerate(
        [
            ("transactions", "txn_id,from_id,to_id,credits\nT1,A,B,-0\n"),
            ("accounts", "account_id,first_seen\nA1,2024-06-01T12:00:60\n"),
        ]
    ):
        manifest = load_manifest(_bundle(tmp_path / f"odd{i}", {table: odd}))
        assert prepare_bundle_fast(manifest, settings) is None
    path = _bundle(tmp_path, {"accounts": text})
    assert prepare_bundle_fast(load_manifest(path), settings) is None
    store = DuckDBStore(tmp_path / "s.duckdb")
    with store:
        report = ingest_manifest(path, store, settings)
        assert report.path == "exact"
        seen = store.table("accounts").set_index("account_id")["first_seen"].to_dict()
    assert seen == {
        "A1": "2024-06-01T00:00:00",
        "A2": "2024-06-01T00:00:00",
        "A3": "1500-01-01T00:00:00",
    }


def test_fast_path_leaves_format_problems_to_the_exact_reader(tmp_path, settings):
    # a blank line (read by the exact reader, line numbers kept) and a short row (refused)
    path = _bundle(tmp_path, {"accounts": "account_id,handle\nA1,@a\n\nA2,@b\n"})
    assert prepare_bundle_fast(load_manifest(path), settings) is None
    path = _bundle(tmp_path, {"accounts": "account_id,handle\nA1,@a\nA2\n"})
    assert prepare_bundle_fast(load_manifest(path), settings) is None
    with pytest.raises(InputFormatError, match="accounts.csv line 3: 1 fields"):
        ingest_manifest(path, DuckDBStore(tmp_path / "s.duckdb"), settings)


@pytest.mark.parametrize("key", [b"k", b"test-key", b"0123456789abcdef" * 4, b"x" * 100])
def test_phone_tokens_in_sql_are_the_hmac_tokens(key):
    import duckdb
    import pyarrow as pa

    from ingest.fast import _phone_tokens
    from ingest.pseudonymise import phone_tokens

    phones = ["010-1234-5678", "", None, "+82 10 9999 0000", "no digits", "01012345678"]
    want = phone_tokens(pd.Series(phones, dtype=object), key).tolist()
    con = duckdb.connect()
    got = _phone_tokens(con, pa.chunked_array([pa.array(phones, pa.string())]), key)
    assert got.to_pylist() == want
    assert want[0] == want[5] and want[1] is None and want[4] is None


def test_two_files_of_one_table_are_one_table(tmp_path, settings):
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "a1.csv").write_text("account_id,handle\nA1,@a\nA2,@b\n", encoding="utf-8")
    # the second file repeats A2 identically, in another column order, without `is_bot`...
    (folder / "a2.csv").write_text("handle,account_id\n@c,A3\n@b,A2\n", encoding="utf-8")
    (folder / "manifest.yaml").write_text(
        MANIFEST + "  - {path: a1.csv, table: accounts}\n  - {path: a2.csv, table: accounts}\n",
        encoding="utf-8",
    )
    manifest = load_manifest(folder / "manifest.yaml")
    got = prepare_bundle_fast(manifest, settings)
    assert got is not None
    exact, report = prepare_bundle(manifest, settings)
    _same_bundle(got[0], exact)
    assert got[1].rows_read == {"a1.csv": 2, "a2.csv": 2} == report.rows_read
    accounts = got[0].tables["accounts"].to_pandas()
    assert accounts["account_id"].tolist() == ["A1", "A2", "A3"]
    assert accounts["handle"].tolist() == ["@a", "@b", "@c"]
    # ...and one that does not agree is a conflict the exact path reports
    (folder / "a2.csv").write_text("handle,account_id\n@c,A3\n@x,A2\n", encoding="utf-8")
    manifest = load_manifest(folder / "manifest.yaml")
    assert prepare_bundle_fast(manifest, settings) is None
    with pytest.raises(ValidationError, match="a2.csv line 3, column handle: conflicting"):
        prepare_bundle(manifest, settings)
