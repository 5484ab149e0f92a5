"""One contract, two stores: every test here runs on DuckDB and on the real Neo4j server."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from graphintel.errors import StoreError, ValidationError
from graphintel.report import build_report
from ingest.job import ingest_manifest

TINY_COUNTS = {
    "accounts": 13,  # 12 defined + A99 inferred from invites.csv
    "channels": 4,  # 3 defined + C4 inferred from forwards.csv
    "memberships": 16,
    "invites": 9,
    "transactions": 10,
    "forwards": 4,
    "organizations": 3,
    "targets": 3,
    "content": 4,  # 5 postings of 4 distinct hashes
    "sources": 1,
}


def _snapshot(store) -> dict:
    from graphintel.model import TABLES

    snap = {"counts": store.counts()}
    for name in TABLES:
        frame = store.table(name)
        snap[name] = frame.astype(str).sort_values(list(frame.columns)).to_csv(index=False)
    return snap


def test_empty_store(store):
    assert store.counts() == dict.fromkeys(TINY_COUNTS, 0)
    assert store.table("accounts").empty
    assert store.results("account_metrics").empty
    report = build_report(store)
    assert report["communities"] == {"method": None, "count": 0, "modularity": 0.0}
    assert report["top_operators"] == []


def test_ingest_counts_and_idempotence(store, tiny_bundle, settings):
    report = ingest_manifest(tiny_bundle, store, settings)
    assert not report.skipped
    assert report.inferred == {"accounts": 1, "channels": 1, "organizations": 0}
    assert store.counts() == TINY_COUNTS
    before = _snapshot(store)
    again = ingest_manifest(tiny_bundle, store, settings)
    assert again.skipped
    assert _snapshot(store) == before


def test_forced_rewrite_is_idempotent(store, tiny_bundle, settings):
    """Writing the same validated bundle twice (not skipped by hash) changes nothing."""
    from ingest.job import prepare_bundle
    from ingest.manifest import load_manifest

    bundle, _ = prepare_bundle(load_manifest(tiny_bundle), settings)
    store.ensure_schema()
    store.write_bundle(bundle)
    first = _snapshot(store)
    store.write_bundle(bundle)
    assert _snapshot(store) == first


def test_tables_read_back(store, tiny_bundle, settings):
    ingest_manifest(tiny_bundle, store, settings)
    accounts = store.table("accounts").set_index("account_id")
    assert accounts.loc["A03", "display_name"] == "테스트 회원 셋"
    assert accounts.loc["A02", "display_name"] == "Operator Beta, the second (fictional)"
    assert bool(accounts.loc["A99", "inferred"]) is True
    assert bool(accounts.loc["A01", "inferred"]) is False
    assert list(accounts.loc["A01", "source_ids"]) == ["SRC-TINY-0001"]
    # phone is pseudonymised: a keyed token, never the number
    token = accounts.loc["A01", "phone_token"]
    assert token.startswith("pii:") and "0000" not in token
    assert "phone" not in accounts.columns
    assert accounts.loc["A01", "first_seen"] == "2024-07-01T09:00:00"
    assert accounts.loc["A03", "first_seen"] == "2024-07-03T00:00:00"

    c3 = store.table("memberships", where={"channel_id": ["C3"]})
    assert sorted(c3["account_id"]) == ["A01", "A03", "A05"]
    invites = store.table("invites", where={"invitee_id": ["A06"]})
    assert len(invites) == 1 and invites["invite_link"].isna().all()
    fw = store.table("forwards")
    assert len(fw) == 4 and set(fw["to_channel_id"]) == {"C1", "C2", "C4"}
    tx = store.table("transactions").set_index("txn_id")
    assert tx.loc["T10", "credits"] == pytest.approx(8.0)
    assert pd.isna(tx.loc["T10", "channel_id"])
    with pytest.raises(StoreError):
        store.table("accounts", columns=["account_id", "nope"])
    with pytest.raises(StoreError):
        store.table("no_such_table")


def test_second_source_merges(store, tiny_bundle, settings, tmp_path):
    ingest_manifest(tiny_bundle, store, settings)
    second = tmp_path / "second"
    second.mkdir()
    (second / "manifest.yaml").write_text(
        "case_id: CASE-TINY-0001\nsource_id: SRC-TINY-0002\nmethod: open_source\n"
        "legal_basis: 'Public posts, open-source collection'\ncollected_at: 2024-08-21\n"
        "collected_by: test\nfiles:\n  - {path: accounts.csv, table: accounts}\n"
    )
    (second / "accounts.csv").write_text(
        "account_id,handle,display_name\nA99,@found_later,Found Later (fictional)\n"
        "A01,,Operator Alpha renamed (fictional)\n"
    )
    ingest_manifest(second, store, settings)
    accounts = store.table("accounts").set_index("account_id")
    assert bool(accounts.loc["A99", "inferred"]) is False  # now defined by a source
    assert accounts.loc["A99", "handle"] == "@found_later"
    assert list(accounts.loc["A99", "source_ids"]) == ["SRC-TINY-0001", "SRC-TINY-0002"]
    # non-null new values win, missing ones keep the old value
    assert accounts.loc["A01", "display_name"] == "Operator Alpha renamed (fictional)"
    assert accounts.loc["A01", "handle"] == "@op_alpha"
    assert store.counts()["sources"] == 2
    assert store.counts()["accounts"] == 13


def test_bad_bundle_leaves_store_unchanged(store, tiny_bundle, settings, tmp_path):
    ingest_manifest(tiny_bundle, store, settings)
    before = _snapshot(store)
    bad = tmp_path / "bad"
    shutil.copytree(tiny_bundle, bad)
    manifest = (bad / "manifest.yaml").read_text().replace("SRC-TINY-0001", "SRC-BAD")
    (bad / "manifest.yaml").write_text(manifest)
    with open(bad / "memberships.csv", "a") as fh:
        fh.write("A01,C9,boss,2024-07-01,\n")  # invalid role on line 18
    with pytest.raises(ValidationError) as err:
        ingest_manifest(bad, store, settings)
    assert "memberships.csv line 18, column role" in str(err.value)
    assert _snapshot(store) == before


def test_results_round_trip(store, tiny_bundle, settings):
    from graphintel.model import ACCOUNT_METRIC_COLUMNS

    ingest_manifest(tiny_bundle, store, settings)
    row = {c: None for c in ACCOUNT_METRIC_COLUMNS}
    row.update(
        account_id="A01",
        community=0,
        referral_root="A01",
        referral_depth=0,
        referral_descendants=3,
        priority_score=0.5,
        priority_rank=1,
    )
    store.write_results("account_metrics", pd.DataFrame([row]))
    summary = pd.DataFrame(
        {
            "key": ["communities"],
            "value": [('{"method": "louvain", "count": 1, "modularity": 0.25}')],
        }
    )
    store.write_results("summary", summary)
    got = store.results("account_metrics")
    assert len(got) == 1 and got["referral_descendants"].iloc[0] == 3
    assert store.results("summary")["value"].iloc[0].startswith('{"method"')
    with pytest.raises(StoreError):
        store.write_results("nonsense", summary)


def test_provenance_is_written_once(store, tiny_bundle, settings, tmp_path):
    """A known source_id with other provenance is refused by the store itself and by ingest;
    nothing is written. The identical source stays idempotent."""
    from graphintel.errors import ProvenanceError
    from ingest.job import prepare_bundle
    from ingest.manifest import load_manifest

    bundle, _ = prepare_bundle(load_manifest(tiny_bundle), settings)
    store.ensure_schema()
    store.write_bundle(bundle)
    before = _snapshot(store)
    store.write_bundle(bundle)  # identical source: fine, nothing changes
    assert _snapshot(store) == before
    sources = store.sources()
    changed = {**bundle.source, "legal_basis": "none at all", "collected_by": "someone else"}
    with pytest.raises(ProvenanceError, match=r"legal_basis .*collected_by .*new source_id"):
        store.write_bundle(type(bundle)(source=changed, tables=bundle.tables))
    # through ingest, with a changed case but the same files (not skipped by their hashes)
    other = tmp_path / "other"
    shutil.copytree(tiny_bundle, other)
    text = (other / "manifest.yaml").read_text().replace("CASE-TINY-0001", "CASE-ELSEWHERE")
    (other / "manifest.yaml").write_text(text)
    with pytest.raises(ProvenanceError, match="case_id 'CASE-TINY-0001' there, 'CASE-ELSEWHERE'"):
        ingest_manifest(other, store, settings)
    assert _snapshot(store) == before
    pd.testing.assert_frame_equal(store.sources(), sources)
