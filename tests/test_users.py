"""Users and roles: the file, hashing, lock-out, and the CLI's bad-input answers."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from graphintel.errors import UserError
from graphintel.users import LOGIN_FAILED, LoginFailed, UserFile
from tests.legal_data import write_bundle


@pytest.fixture
def users(tmp_path) -> UserFile:
    return UserFile(tmp_path / "ws" / "users.json", attempts=3, lockout_minutes=10)


def test_add_list_remove_passwd(users):
    users.add("kim", "investigator", "kim-secret-1", cases=["CASE-A", "CASE-A", "CASE-B"])
    users.add("root", "admin", "root-secret-1")
    assert [(u.name, u.role, u.cases) for u in users.list()] == [
        ("kim", "investigator", ("CASE-A", "CASE-B")),
        ("root", "admin", ()),
    ]
    assert oct(users.path.stat().st_mode & 0o777) == "0o600"
    text = users.path.read_text()
    assert "kim-secret-1" not in text and "$argon2id$" in text
    users.set_password("kim", "kim-secret-2")
    with pytest.raises(LoginFailed):
        users.authenticate("kim", "kim-secret-1")
    assert users.authenticate("kim", "kim-secret-2").cases == ("CASE-A", "CASE-B")
    users.remove("root")
    assert [u.name for u in users.list()] == ["kim"]


@pytest.mark.parametrize(
    ("name", "role", "cases", "match"),
    [
        ("kim", "boss", [], "unknown role 'boss'"),
        ("kim", "investigator", [], "give them with --cases"),
        ("kim", "admin", ["CASE-A"], "sees every case"),
        ("kim", "trainer", ["CASE-A"], "synthetic"),
        ("../etc", "admin", [], "not allowed"),
    ],
)
def test_add_refuses_bad_requests(users, name, role, cases, match):
    with pytest.raises(UserError, match=match):
        users.add(name, role, "long-enough-1", cases=cases)
    assert not users.path.exists()


def test_weak_password_and_duplicates(users):
    with pytest.raises(UserError, match="too short"):
        users.add("kim", "admin", "short")
    users.add("kim", "admin", "long-enough-1")
    with pytest.raises(UserError, match="exists already"):
        users.add("kim", "auditor", "long-enough-2")
    with pytest.raises(UserError, match="unknown user 'lee'"):
        users.remove("lee")


def test_wrong_name_and_wrong_password_give_the_same_message(users):
    users.add("kim", "admin", "long-enough-1")
    with pytest.raises(LoginFailed) as wrong_pw:
        users.authenticate("kim", "nope-nope-nope")
    with pytest.raises(LoginFailed) as wrong_name:
        users.authenticate("kmi", "long-enough-1")
    assert str(wrong_pw.value) == str(wrong_name.value) == LOGIN_FAILED


def test_lock_out_after_n_failures_then_expiry(users):
    users.add("kim", "admin", "long-enough-1")
    t0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    for _ in range(3):
        with pytest.raises(LoginFailed, match="Unknown username or wrong password"):
            users.authenticate("kim", "wrong-wrong", now=t0)
    with pytest.raises(LoginFailed, match="locked"):  # even the right password
        users.authenticate("kim", "long-enough-1", now=t0 + dt.timedelta(minutes=9))
    later = t0 + dt.timedelta(minutes=11)
    assert users.authenticate("kim", "long-enough-1", now=later).name == "kim"


def _cli(args, env, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "graphintel.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
    )


def test_cli_users(tmp_path):
    env = dict(os.environ)
    env.pop("GRAPHINTEL_AUDIT_LOG", None)
    env.update(
        GRAPHINTEL_WORKSPACE=str(tmp_path / "ws"),
        GRAPHINTEL_STORE=f"duckdb:{tmp_path / 'ws' / 'g.duckdb'}",
        GRAPHINTEL_PII_KEY="k",
    )
    manifest = write_bundle(tmp_path / "bundles", "SRC-A")
    assert _cli(["ingest", str(manifest), "--no-progress"], env).returncode == 0
    add = ["users", "add", "kim", "--role", "investigator", "--password-stdin"]
    ok = _cli([*add, "--cases", "CASE-A"], env, stdin="kim-secret-1\n")
    assert ok.returncode == 0, ok.stderr
    for args, stdin, message in [
        (
            ["users", "add", "lee", "--role", "analyst", "--cases", "CASE-Z", "--password-stdin"],
            "x" * 9,
            "case CASE-Z: no source in store",
        ),
        (["users", "add", "lee", "--role", "chief", "--password-stdin"], "x" * 9, "unknown role"),
        (["users", "remove", "nobody"], None, "unknown user 'nobody'"),
        (["users", "passwd", "nobody", "--password-stdin"], "x" * 9, "unknown user 'nobody'"),
        ([*add, "--cases", "CASE-A"], "kim-secret-2\n", "exists already"),
    ]:
        before = (tmp_path / "ws" / "users.json").read_bytes()
        bad = _cli(args, env, stdin=stdin)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
        assert (tmp_path / "ws" / "users.json").read_bytes() == before
    listed = json.loads(_cli(["users", "list", "--format", "json"], env).stdout)
    assert [(u["name"], u["role"], u["cases"]) for u in listed] == [
        ("kim", "investigator", ["CASE-A"])
    ]
    log = (tmp_path / "ws" / "audit.jsonl").read_text()
    assert "kim-secret" not in log and '"action":"user_add"' in log
