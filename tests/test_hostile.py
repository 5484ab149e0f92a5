"""Hostile input, second round (issue 9): every class ends in one clear paragraph, exit status 2,
and a store that is byte-identical to before (the file's hash and every table's), no new file.

Fixtures are hand-written under ``tests/data/hostile/``; inputs too large to commit (bombs, huge
fields) are generated here, deterministically. Memory bombs run in a subprocess under
``RLIMIT_AS`` so a regression fails the test instead of taking the machine.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import networkx as nx
import pandas as pd
import pytest

from graphintel.cli import main
from graphintel.errors import clip
from graphintel.export import guard_spreadsheet_text, xml_safe

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
TINY = Path(__file__).resolve().parents[1] / "sample_data" / "tiny"
MEMORY_LIMIT = (
    3 << 30
)  # address space for a bomb's subprocess (Python + Arrow + DuckDB need ~1 GiB)


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHINTEL_PII_KEY", "test-key")
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.delenv("GRAPHINTEL_STORE", raising=False)
    return tmp_path


@pytest.fixture
def held(env, capsys):
    """A DuckDB store already holding the tiny bundle and the hostile base source."""
    path = env / "store" / "graph.duckdb"
    assert main(["ingest", str(TINY), "--store", f"duckdb:{path}", "--no-progress"]) == 0
    ok = HOSTILE / "provenance" / "ok.yaml"
    assert main(["ingest", str(ok), "--store", f"duckdb:{path}", "--no-progress"]) == 0
    capsys.readouterr()
    return path


def fingerprint(path: Path) -> tuple[str, dict[str, str], list[str]]:
    """sha256 of the file, of every table's sorted rows, and the folder's listing."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        tables = {}
        for name in sorted(names):
            rows = con.execute(f'SELECT * FROM "{name}" ORDER BY ALL').fetchall()
            tables[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    finally:
        con.close()
    return digest, tables, sorted(p.name for p in path.parent.iterdir())


def refused(capsys, argv: list[str], *needles: str) -> str:
    """Run the CLI; it must exit 2 with one paragraph (no traceback) containing ``needles``."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1, err  # one paragraph
    assert len(err) < 2_200
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def ingest_refused(capsys, store: Path, manifest: Path, *needles: str) -> str:
    before = fingerprint(store)
    err = refused(capsys, ["ingest", str(manifest), "--store", f"duckdb:{store}"], *needles)
    assert fingerprint(store) == before
    return err


def bundle_with(tmp: Path, files: dict[str, tuple[Path | bytes, str]]) -> Path:
    """A bundle folder with ``files`` (name -> (fixture path or bytes, table)) and a manifest."""
    folder = tmp / "bundle"
    folder.mkdir(exist_ok=True)
    lines = []
    for name, (content, table) in files.items():
        target = folder / name
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)
        lines.append(f"  - {{path: {name}, table: {table}}}")
    (folder / "manifest.yaml").write_text(
        "case_id: CASE-H-2\nsource_id: SRC-H-2\nmethod: synthetic\n"
        'legal_basis: "Synthetic test data written by hand."\ncollected_at: 2024-08-20\n'
        'collected_by: "graphintel test suite"\nfiles:\n' + "\n".join(lines) + "\n"
    )
    return folder / "manifest.yaml"


# -- class 1: provenance that cannot be bypassed or rewritten ---------------------------------


@pytest.mark.parametrize(
    ("fixture", "needles"),
    [
        ("legal_basis_list.yaml", ["legal_basis", "is a list", "not text", "legal basis"]),
        ("legal_basis_invisible.yaml", ["legal_basis is empty", "invisible characters"]),
        ("collected_at_text.yaml", ["collected_at 'last tuesday' is not a real date", "ISO"]),
        ("collected_at_impossible.yaml", ["collected_at '2024-02-30'", "out of range"]),
        ("collected_at_tagged.yaml", ["line 5", "tag", "not allowed"]),
        ("collected_at_future.yaml", ["collected_at '2999-01-01' is in the future"]),
        ("duplicate_key.yaml", ["line 9", "duplicate key 'legal_basis' (first on line 4)"]),
        ("changed_legal_basis.yaml", ["source_id 'SRC-H-1'", "legal_basis", "new source_id"]),
        (
            "changed_case_method.yaml",
            ["case_id 'CASE-H-1' there, 'CASE-OTHER'", "method 'synthetic'", "new source_id"],
        ),
    ],
)
def test_provenance_is_checked_and_written_once(held, capsys, fixture, needles):
    ingest_refused(capsys, held, HOSTILE / "provenance" / fixture, *needles)


def test_same_source_again_is_idempotent(held, capsys):
    before = fingerprint(held)
    assert (
        main(["ingest", str(HOSTILE / "provenance" / "ok.yaml"), "--store", f"duckdb:{held}"]) == 0
    )
    assert "already ingested" in capsys.readouterr().out
    assert fingerprint(held) == before


# -- class 2: files outside the bundle -----------------------------------------------------------


@pytest.fixture
def paths_bundle(tmp_path):
    folder = tmp_path / "paths"
    shutil.copytree(HOSTILE / "paths", folder)
    outside = tmp_path / "outside.csv"
    shutil.copyfile(HOSTILE / "paths" / "accounts.csv", outside)
    (folder / "outside_link.csv").symlink_to(outside)
    (folder / "loop_a.csv").symlink_to(folder / "loop_b.csv")
    (folder / "loop_b.csv").symlink_to(folder / "loop_a.csv")
    return folder


@pytest.mark.parametrize(
    ("fixture", "needles"),
    [
        ("dotdot.yaml", ["files entry 1", "'../provenance/accounts.csv'", "climbs out"]),
        ("absolute.yaml", ["files entry 1", "'/etc/passwd'", "absolute path"]),
        ("nul.yaml", ["files entry 1", "NUL byte"]),
        ("long_name.yaml", ["files entry 1", "too long", "… (2"]),
        ("symlink_outside.yaml", ["files entry 1", "outside the bundle folder"]),
        ("symlink_loop.yaml", ["files entry 1", "symlink loop"]),
    ],
)
def test_every_file_resolves_inside_the_bundle(held, capsys, paths_bundle, fixture, needles):
    err = ingest_refused(capsys, held, paths_bundle / fixture, *needles)
    assert "root:" not in err  # /etc/passwd was never read


# -- class 3: structure bombs (subprocess under a memory limit) ---------------------------------


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    """The CLI in a subprocess whose address space is capped: a bomb fails instead of paging."""
    env = dict(os.environ, GRAPHINTEL_PII_KEY="test-key", GRAPHINTEL_WORKSPACE=str(tmp / "ws"))
    code = "import sys; from graphintel.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        preexec_fn=_limited,
        timeout=300,
    )


def _bombs(tmp: Path) -> dict[str, tuple[Path, list[str]]]:
    deep = b'{"name": "R", "type": "private_group", "id": 1, "messages": ['
    deep += b"[" * 100_000 + b"]" * 100_000 + b"]}"
    wide = ",".join(f"c{i}" for i in range(100_000)).encode() + b"\n1\n"
    field = b"account_id,handle\nH1," + b"x" * (10 << 20) + b"\nH2,@two\n"
    value = b"account_id,handle,is_bot\nH1,@one," + b"y" * 300_000 + b"\n"
    return {
        "yaml alias bomb": (HOSTILE / "paths" / "alias_bomb.yaml", ["alias bomb", "line "]),
        "json nesting (200 KB)": (
            bundle_with(tmp / "deep", {"result.json": (deep, "telegram_export")}),
            ["more than 64 levels deep at byte", "result.json"],
        ),
        "100k-column header": (
            bundle_with(tmp / "wide", {"accounts.csv": (wide, "accounts")}),
            ["accounts.csv line 1", "longer than 65,536 bytes"],
        ),
        "10 MB field": (
            bundle_with(tmp / "field", {"accounts.csv": (field, "accounts")}),
            ["accounts.csv line 2", "a row holds at most 1,048,576 bytes"],
        ),
        "300k-character value": (
            bundle_with(tmp / "value", {"accounts.csv": (value, "accounts")}),
            ["accounts.csv line 2, column is_bot", "… (299,920 more)"],
        ),
    }


def test_structure_bombs_are_refused_under_a_memory_limit(held, tmp_path):
    for folder in ("deep", "wide", "field", "value"):
        (tmp_path / folder).mkdir()
    before = fingerprint(held)
    for name, (manifest, needles) in _bombs(tmp_path).items():
        run = run_limited(["ingest", str(manifest), "--store", f"duckdb:{held}"], tmp_path)
        assert run.returncode == 2, (name, run.stderr[-2000:])
        assert "Traceback" not in run.stderr and len(run.stderr) < 2_200, name
        for needle in needles:
            assert needle in run.stderr, (name, needle, run.stderr)
        assert fingerprint(held) == before, name


def test_yaml_depth_and_size_bounds(held, capsys, tmp_path):
    folder = tmp_path / "b"
    folder.mkdir()
    shutil.copyfile(HOSTILE / "paths" / "accounts.csv", folder / "accounts.csv")
    cases = {
        "a: " + "[" * 30 + "]" * 30 + "\n": "nested more than 20 levels deep",
        "a: " + "[" * 5_000 + "]" * 5_000 + "\n": "maximum nesting depth",
        "a: [" + "x, " * 20_000 + "]\n": "lines and commas",
        "a: " + "x" * 70_000 + "\n": "at most 65,536 bytes",
    }
    for text, needle in cases.items():
        (folder / "manifest.yaml").write_text(text)
        ingest_refused(capsys, held, folder, needle)


# -- class 4: CSV irregularities ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "table", "needles"),
    [
        ("stray_quote_unquoted.csv", "accounts", ["line 2: a quote inside an unquoted field"]),
        (
            "stray_quote_pair.csv",
            "accounts",
            ["line 4: a quoted field closes here (it opened on line 2)"],
        ),
        ("stray_quote_eof.csv", "accounts", ["line 3: a quoted field opens here and never closes"]),
        ("duplicate_header.csv", "accounts", ["line 1: column 'handle' appears twice", "2 and 3"]),
        ("too_many_fields.csv", "accounts", ["line 3: 5 fields where the header has 3"]),
        (
            "credits_not_finite.csv",
            "transactions",
            [
                "line 3, column credits: not a finite number (value 'inf')",
                "line 4, column credits: not a finite number (value '1e309')",
                "line 5, column credits: not a number (value 'nan')",
                "line 6, column credits: not a finite number (value '-Infinity')",
            ],
        ),
    ],
)
def test_csv_irregularities_name_the_physical_line(held, capsys, tmp_path, fixture, table, needles):
    manifest = bundle_with(tmp_path, {fixture: (HOSTILE / "csv" / fixture, table)})
    ingest_refused(capsys, held, manifest, fixture, *needles)


def test_fewer_fields_and_blank_line_files_name_the_line(held, capsys, tmp_path):
    data = b"account_id,handle,display_name\nH1,@one,x\n\nH2,@two\nH3,@three,x\n"
    manifest = bundle_with(tmp_path, {"accounts.csv": (data, "accounts")})
    ingest_refused(capsys, held, manifest, "accounts.csv line 4: 2 fields where the header has 3")


# -- class 5: Telegram exports of the wrong shape -------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "needles"),
    [
        ("messages_object.json", ["messages is an object", "expected an array", "between bytes"]),
        ("mixed_dates.json", ["messages[1].date is int", "expected a date as text"]),
        ("name_is_list.json", ["messages[0].from is list", "expected a name as text"]),
        ("members_nested.json", ["messages[1].members[0] is list"]),
        ("chats_list_object.json", ["chats.list is an object", "expected an array"]),
    ],
)
def test_telegram_shapes_name_path_and_offset(held, capsys, tmp_path, fixture, needles):
    manifest = bundle_with(
        tmp_path, {"result.json": (HOSTILE / "telegram" / fixture, "telegram_export")}
    )
    ingest_refused(capsys, held, manifest, "result.json", *needles)


# -- class 6: exports that break their readers --------------------------------------------------


def test_exports_of_awkward_data_parse_and_guard_every_cell(env, capsys):
    store = f"duckdb:{env / 'graph.duckdb'}"
    assert main(["ingest", str(HOSTILE / "export"), "--store", store]) == 0
    assert main(["analyze", "--store", store]) == 0
    for fmt in ("graphml", "gexf"):
        out = env / f"graph.{fmt}"
        assert main(["export", "--format", fmt, "--out", str(out), "--store", store]) == 0
        ET.parse(out)  # well-formed XML 1.0
        g = nx.read_graphml(out) if fmt == "graphml" else nx.read_gexf(out)
        labels = nx.get_node_attributes(g, "label")
        names = nx.get_node_attributes(g, "display_name")
        assert names["account:H1"] == "Null\\x01 \\x08and form\\x0cfeed (fictional)"
        assert names["account:H2"] == "<b>&amp;</b> ]]> (fictional)"
        assert labels["account:H2"] == '=HYPERLINK("x")'  # data, never a formula, in XML
        assert "channel:@C1" in g and labels["channel:@C1"] == "Room\\x1f\\x0b (fictional)"
    out = env / "csv"
    assert main(["export", "--format", "csv", "--out", str(out), "--store", store]) == 0
    capsys.readouterr()
    accounts = pd.read_csv(out / "accounts.csv", dtype=str, keep_default_na=False)
    channels = pd.read_csv(out / "channels.csv", dtype=str, keep_default_na=False)
    for frame in (accounts, channels):
        for col in frame.columns:
            assert not frame[col].str.startswith(("=", "+", "-", "@", "\t", "\r")).any(), col
    assert set(accounts["account_id"]) == {"H1", "H2", "'-H3"}
    assert set(accounts["source_ids"]) == {"'@SRC-H-EXPORT"}
    assert channels["channel_id"].tolist() == ["'@C1"]
    assert set(accounts["handle"]) == {"'@one", '\'=HYPERLINK("x")', "'+two"}


def test_xml_safe_and_guard_examples():
    assert xml_safe("a\x00b\ud800c\ufffe") == "a\\x00b\\ud800c\\ufffe"
    assert xml_safe("tab\tline\nok") == "tab\tline\nok"
    guarded = guard_spreadsheet_text(pd.Series(["-1", "+x", "ok", None]))
    assert guarded[:3].tolist() == ["'-1", "'+x", "ok"] and pd.isna(guarded[3])


# -- class 7: messages that are themselves a flood ----------------------------------------------


def test_every_echoed_value_is_capped(held, capsys, tmp_path):
    big = "z" * 300_000
    data = f"account_id,handle,is_bot\nH1,@one,{big}\n".encode()
    manifest = bundle_with(tmp_path, {"accounts.csv": (data, "accounts")})
    err = ingest_refused(capsys, held, manifest, "… (299,920 more)")
    assert big[:81] not in err
    header = ",".join(f"col{i}" for i in range(40)) + "\n"  # missing required column
    manifest = bundle_with(tmp_path, {"accounts.csv": (header.encode() + b"1\n", "accounts")})
    ingest_refused(capsys, held, manifest, "required column missing", "more)")
    assert clip("x" * 100) == "x" * 80 + "… (20 more)"


# -- class 8: store paths -------------------------------------------------------------------------


def test_store_location_is_checked_and_nothing_is_created(env, capsys):
    parent_file = env / "a_file"
    parent_file.write_text("not a folder")
    refused(
        capsys,
        ["ingest", str(TINY), "--store", f"duckdb:{parent_file / 'sub' / 'graph.duckdb'}"],
        "is a file, not a folder",
    )
    refused(capsys, ["ingest", str(TINY), "--store", f"duckdb:{env}"], "is a folder")
    locked = env / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root can write anyway
            refused(
                capsys,
                ["ingest", str(TINY), "--store", f"duckdb:{locked / 'graph.duckdb'}"],
                "not writable",
            )
    finally:
        locked.chmod(0o700)
    # a refused bundle creates no store file (nor its folder)
    fresh = env / "new" / "graph.duckdb"
    manifest = HOSTILE / "provenance" / "legal_basis_list.yaml"
    refused(capsys, ["ingest", str(manifest), "--store", f"duckdb:{fresh}"], "legal_basis")
    csv_bad = bundle_with(env, {"a.csv": (HOSTILE / "csv" / "stray_quote_eof.csv", "accounts")})
    refused(capsys, ["ingest", str(csv_bad), "--store", f"duckdb:{fresh}"], "never closes")
    assert not fresh.exists() and not fresh.parent.exists()
    assert main(["ingest", str(TINY), "--store", f"duckdb:{fresh}"]) == 0
    assert fresh.is_file()
    # the same for an export whose parent is a file
    out = parent_file / "graph.graphml"
    args = ["export", "--format", "graphml", "--out", str(out), "--store", f"duckdb:{fresh}"]
    refused(capsys, args, "cannot write the export", "a_file")
