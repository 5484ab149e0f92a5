"""Ingest stages with known answers: manifest, reading, every validation rule, PII."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from graphintel.errors import InputFormatError, ManifestError, ValidationError
from ingest.csv_reader import read_csv_table
from ingest.job import prepare_bundle
from ingest.manifest import load_manifest
from ingest.pseudonymise import phone_tokens

MANIFEST = """case_id: CASE-T
source_id: SRC-T
method: synthetic
legal_basis: "test data"
collected_at: 2024-08-20
collected_by: tester
files:
{files}
"""


def make_bundle(tmp_path: Path, files: dict[str, tuple[str, str | bytes]], **overrides) -> Path:
    """files: name -> (table, content). Returns the bundle folder."""
    folder = tmp_path / "bundle"
    folder.mkdir(exist_ok=True)
    entries = []
    for name, (table, content) in files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(
            folder / name, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})
        ) as fh:
            fh.write(content)
        entries.append(f"  - {{path: {name}, table: {table}}}")
    text = MANIFEST.format(files="\n".join(entries))
    for key, value in overrides.items():
        lines = [ln for ln in text.splitlines() if not ln.startswith(key + ":")]
        if value is not None:
            lines.insert(0, f"{key}: {value}")
        text = "\n".join(lines) + "\n"
    (folder / "manifest.yaml").write_text(text, encoding="utf-8")
    return folder


def failures_of(folder: Path, settings) -> list[str]:
    with pytest.raises(ValidationError) as err:
        prepare_bundle(load_manifest(folder), settings)
    return [str(f) for f in err.value.failures]


# -- manifest ---------------------------------------------------------------------------------


def test_manifest_needs_legal_basis(tmp_path):
    folder = make_bundle(tmp_path, {"a.csv": ("accounts", "account_id\nA1\n")}, legal_basis='""')
    with pytest.raises(ManifestError, match="legal_basis is empty .* legal basis it was collected"):
        load_manifest(folder)
    folder = make_bundle(tmp_path, {"a.csv": ("accounts", "account_id\nA1\n")}, legal_basis=None)
    with pytest.raises(ManifestError, match="legal_basis is missing"):
        load_manifest(folder)


def test_manifest_method_table_and_files(tmp_path):
    folder = make_bundle(tmp_path, {"a.csv": ("accounts", "account_id\nA1\n")}, method="rumour")
    with pytest.raises(ManifestError, match="method 'rumour' is not allowed"):
        load_manifest(folder)
    folder = make_bundle(tmp_path, {"a.csv": ("people", "account_id\nA1\n")})
    with pytest.raises(ManifestError, match="table 'people'"):
        load_manifest(folder)
    (folder / "a.csv").unlink()
    text = (folder / "manifest.yaml").read_text().replace("people", "accounts")
    (folder / "manifest.yaml").write_text(text)
    with pytest.raises(ManifestError, match="a.csv does not exist"):
        load_manifest(folder)
    with pytest.raises(ManifestError, match="no such manifest"):
        load_manifest(tmp_path / "nowhere")


def test_manifest_records_sha256(tmp_path):
    import hashlib

    folder = make_bundle(tmp_path, {"a.csv": ("accounts", "account_id\nA1\n")})
    m = load_manifest(folder)
    assert m.files[0].sha256 == hashlib.sha256(b"account_id\nA1\n").hexdigest()
    assert m.collected_at == "2024-08-20"


# -- reading ----------------------------------------------------------------------------------


def test_bom_crlf_quoted_newlines_and_korean(tmp_path):
    content = (
        "\ufeffaccount_id,handle,display_name\r\n"
        'A1,@a,"Kim, the first"\r\n'
        'A2,@b,"two\r\nline name"\r\n'
        "A3,@c,김민수\r\n"
    ).encode("utf-8")
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    frame, problems = read_csv_table(path, "accounts")
    assert problems == []
    assert frame["account_id"].tolist() == ["A1", "A2", "A3"]
    assert frame["display_name"].tolist()[0] == "Kim, the first"
    assert frame["display_name"].tolist()[2] == "김민수"
    assert frame["_line"].tolist() == [2, 3, 5]  # the quoted newline pushes A3 to line 5


def test_other_encoding_is_a_clear_error(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("account_id,display_name\nA1,ok\nA2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputFormatError, match=r"a.csv line 3: not UTF-8"):
        read_csv_table(path, "accounts")


def test_missing_required_column(tmp_path, settings):
    folder = make_bundle(tmp_path, {"m.csv": ("memberships", "account_id,role\nA1,member\n")})
    assert failures_of(folder, settings) == [
        (
            "m.csv line 1, column channel_id: required column missing from the header "
            "(have: account_id, role)"
        )
    ]


def test_empty_file(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"")
    with pytest.raises(InputFormatError, match="a.csv line 1: the file is empty"):
        read_csv_table(path, "accounts")


# -- validation rules ---------------------------------------------------------------------------


def test_every_value_rule_names_file_line_column(tmp_path, settings):
    folder = make_bundle(
        tmp_path,
        {
            "a.csv": ("accounts", "account_id,is_bot,first_seen\nA1,maybe,2024-13-01\n,true,\n"),
            "t.csv": (
                "transactions",
                ("txn_id,from_id,to_id,credits,kind\nT1,A1,A2,five,purchase\nT2,A1,A2,-3,gift\n"),
            ),
            "o.csv": ("organizations", "org_id,lat,lon\nO1,95,127\n"),
        },
    )
    got = failures_of(folder, settings)
    assert got == [
        "a.csv line 3, column account_id: required value is empty (value '')",
        "a.csv line 2, column is_bot: not a boolean (use true or false) (value 'maybe')",
        (
            "a.csv line 2, column first_seen: not an ISO-8601 timestamp (e.g. 2024-08-20 or "
            "2024-08-20T13:05:00) (value '2024-13-01')"
        ),
        "t.csv line 2, column credits: not a number (value 'five')",
        "t.csv line 3, column credits: out of range (allowed 0.0 to ∞) (value '-3')",
        (
            "t.csv line 3, column kind: not one of purchase, referral_reward, commission, topup, "
            "transfer, payout (value 'gift')"
        ),
        "o.csv line 2, column lat: out of range (allowed -90.0 to 90.0) (value '95')",
    ]


def test_duplicates_identical_collapse_conflicting_fail(tmp_path, settings):
    ok = make_bundle(tmp_path, {"a.csv": ("accounts", "account_id,handle\nA1,@x\nA1,@x\nA2,@y\n")})
    bundle, _ = prepare_bundle(load_manifest(ok), settings)
    assert bundle.tables["accounts"]["account_id"].tolist() == ["A1", "A2"]
    bad = make_bundle(tmp_path, {"a.csv": ("accounts", "account_id,handle\nA1,@x\nA2,@y\nA1,@z\n")})
    assert failures_of(bad, settings) == [
        (
            "a.csv line 4, column handle: conflicting duplicate of a.csv line 2 for key account_id: "
            "records with the same key must agree (value 'A1')"
        )
    ]


def test_timestamps_normalised(tmp_path, settings):
    folder = make_bundle(
        tmp_path,
        {
            "i.csv": (
                "invites",
                (
                    "inviter_id,invitee_id,invited_at\nA1,A2,2024-08-20T10:00:00+09:00\n"
                    "A1,A3,2024-08-20\nA1,A4,\n"
                ),
            )
        },
    )
    bundle, _ = prepare_bundle(load_manifest(folder), settings)
    assert bundle.tables["invites"]["invited_at"].tolist() == [
        "2024-08-20T01:00:00",
        "2024-08-20T00:00:00",
        "",
    ]


def test_many_failures_are_summarised(tmp_path, settings):
    rows = "".join(f"A{i},maybe\n" for i in range(40))
    folder = make_bundle(tmp_path, {"a.csv": ("accounts", "account_id,is_bot\n" + rows)})
    with pytest.raises(ValidationError) as err:
        prepare_bundle(load_manifest(folder), settings)
    assert len(err.value.failures) == 40
    assert "and 35 more problem(s)" in str(err.value)
    assert "nothing was written" in str(err.value)


# -- pseudonymisation -------------------------------------------------------------------------


def test_phone_is_keyed_hmac(tmp_path, settings):
    a = phone_tokens(pd.Series(["+82 10-1234-5678"]), b"key-one")[0]
    b = phone_tokens(pd.Series(["821012345678"]), b"key-one")[0]
    c = phone_tokens(pd.Series(["821012345678"]), b"key-two")[0]
    assert a == b != c
    folder = make_bundle(tmp_path, {"a.csv": ("accounts", "account_id,phone\nA1,010-1111-2222\n")})
    bundle, _ = prepare_bundle(load_manifest(folder), settings)
    assert "phone" not in bundle.tables["accounts"].columns
    assert bundle.tables["accounts"]["phone_token"][0].startswith("pii:")
    raw = (folder / "a.csv").read_text()
    assert "010-1111-2222" in raw and "01011112222" not in str(bundle.tables)


def test_workspace_key_file_created_once(tmp_path):
    from graphintel.config import load_settings
    from ingest.pseudonymise import pii_key

    s = load_settings({"GRAPHINTEL_WORKSPACE": str(tmp_path / "ws")})
    k1, k2 = pii_key(s), pii_key(s)
    assert k1 == k2 and len(k1) == 64
    assert (tmp_path / "ws" / "pii.key").stat().st_mode & 0o777 == 0o600


# -- the CLI, as a user runs it -----------------------------------------------------------------


def run_cli(*args, cwd, env_extra=None):
    import os

    env = dict(os.environ, GRAPHINTEL_PII_KEY="cli-key")
    env.pop("GRAPHINTEL_STORE", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "graphintel.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_bad_bundle_is_one_paragraph_without_traceback(tmp_path, tiny_bundle):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_bundle, bad)
    with open(bad / "channels.csv", "a") as fh:
        fh.write("C9,Bad,stadium,2024-07-01,false,A01\n")
    r = run_cli("ingest", str(bad), cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "channels.csv line 5, column kind: not one of channel, group" in r.stderr
    assert r.stderr.count("\n") == 1
    assert not (tmp_path / "workspace" / "graph.duckdb").exists() or "accounts" not in r.stdout


def test_cli_ingest_report_export(tmp_path, tiny_bundle):
    import json

    r = run_cli("ingest", str(tiny_bundle), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "65 rows read" in r.stdout
    r = run_cli("report", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["store"] == "duckdb:workspace/graph.duckdb"
    assert report["counts"]["accounts"] == 13
    r = run_cli("export", "--format", "csv", "--out", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    accounts = pd.read_csv(tmp_path / "out" / "accounts.csv")
    assert list(accounts.columns[:11]) == [
        "account_id",
        "community",
        "referral_parent",
        "referral_root",
        "referral_depth",
        "referral_descendants",
        "direct_invites",
        "credits_in",
        "credits_out",
        "referral_rewards",
        "priority_score",
    ]
    channels = pd.read_csv(tmp_path / "out" / "channels.csv")
    assert list(channels.columns[:4]) == ["channel_id", "community", "members", "admins"]
    assert channels.set_index("channel_id").loc["C1", "members"] == 6
    for fmt, name in (("graphml", "g.graphml"), ("gexf", "g.gexf")):
        r = run_cli("export", "--format", fmt, "--out", name, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        import networkx as nx

        g = nx.read_graphml(tmp_path / name) if fmt == "graphml" else nx.read_gexf(tmp_path / name)
        assert g.number_of_nodes() == 13 + 4 + 3
    r = run_cli("report", "--store", "mysql://x", cwd=tmp_path)
    assert r.returncode == 2 and "unknown store URI" in r.stderr and "Traceback" not in r.stderr
