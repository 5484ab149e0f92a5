"""Dashboard sessions under AppTest: idle expiry ends a session and is audited."""

from __future__ import annotations

import json
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboards.auth import Identity
from graphintel.users import UserFile

APP = str(Path(__file__).resolve().parents[1] / "dashboards" / "app.py")


def _app(tmp_path, monkeypatch, last_seen: float) -> AppTest:
    UserFile(tmp_path / "ws" / "users.json").add("ana", "admin", "ana-secret-1")
    monkeypatch.setenv("GRAPHINTEL_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("GRAPHINTEL_STORE", f"duckdb:{tmp_path / 'g.duckdb'}")
    monkeypatch.setenv("GRAPHINTEL_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("GRAPHINTEL_SESSION_IDLE_MINUTES", "30")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["_identity"] = Identity(name="ana", role="admin")
    at.session_state["_last_seen"] = last_seen
    return at.run()


def test_idle_session_expires(tmp_path, monkeypatch):
    at = _app(tmp_path, monkeypatch, time.time() - 31 * 60)
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert any("expired after 30 minutes" in i.value for i in at.info)
    entries = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["user"], e["action"]) for e in entries] == [("ana", "session_expired")]


def test_active_session_continues(tmp_path, monkeypatch):
    at = _app(tmp_path, monkeypatch, time.time() - 60)
    assert not at.exception
    assert [t.label for t in at.text_input] == []
    assert any("Logged in as **ana**" in c.value for c in at.caption)
