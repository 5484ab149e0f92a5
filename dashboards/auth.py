"""Dashboard login: the form, idle expiry, logout and the login/logout audit entries.

The rules (names, argon2id hashes, failure counts, lock-out) live in :mod:`graphintel.users`;
this module only wires them to Streamlit. When the workspace defines no user the dashboard runs
in single-user mode (``graphintel dashboard`` serves it on 127.0.0.1 only, and refuses any other
address without users).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from graphintel.audit import AuditLog, HeadFile
from graphintel.config import Settings, load_settings
from graphintel.errors import GraphIntelError
from graphintel.users import LoginFailed, User, UserFile
from graphintel.views import md_text

__all__ = ["Identity", "audit", "current", "gate", "logout_button"]


@dataclass(frozen=True)
class Identity:
    """Who is using this session: a logged-in user, or the local single user."""

    name: str
    role: str
    cases: tuple[str, ...] = ()
    single_user: bool = False

    @property
    def can_export(self) -> bool:
        return self.role in ("admin", "investigator", "trainer")


def _settings() -> Settings:
    return load_settings()


def _users(settings: Settings) -> UserFile:
    return UserFile(
        settings.users_file,
        attempts=settings.login_attempts,
        lockout_minutes=settings.lockout_minutes,
    )


def audit(action: str, details: dict | None = None, *, user: str | None = None) -> None:
    """Append a dashboard entry for the session's user (or ``user``)."""
    settings = _settings()
    who = user or (current().name if current() else "anonymous")
    AuditLog(settings.audit_log).append(who, action, details or {}, stores=_heads(settings))


def _heads(settings: Settings) -> list[HeadFile]:
    """Where the served DuckDB store keeps the head of entries that only read it (the side
    file beside it), so a cut tail of dashboard entries is caught too; none for Neo4j (the
    dashboard never writes to the store)."""
    uri = settings.store_uri
    if not uri.startswith("duckdb:"):
        return []
    path = uri[len("duckdb:") :]
    if not path or path == ":memory:" or not Path(path).exists():
        return []
    # a store on a read-only folder (e.g. served from evidence media) gets no head, as before
    return [HeadFile(path)] if os.access(Path(path).parent, os.W_OK | os.X_OK) else []


def current() -> Identity | None:
    """The session's identity once :func:`gate` let it through."""
    return st.session_state.get("_identity")


def _from_user(user: User) -> Identity:
    return Identity(name=user.name, role=user.role, cases=tuple(user.cases))


def gate() -> Identity:
    """Return the session's identity, or show the login form and stop the run.

    Every page goes through here (``app.py`` calls it before the router), so a deep link
    without a live session gets the form too.
    """
    settings = _settings()
    users = _users(settings)
    try:
        have_users = users.exists()
    except GraphIntelError as err:
        st.error(str(err))
        st.stop()
    if not have_users:
        address = st.get_option("server.address") or "127.0.0.1"
        if address not in ("127.0.0.1", "localhost", "::1"):
            st.error(
                f"This dashboard is served on {address} but no users are defined: it refuses "
                "to show case data. Add users with `graphintel users add NAME --role admin`, or "
                "serve on 127.0.0.1 in single-user mode."
            )
            st.stop()
        ident = Identity(name=f"local:{settings.os_user}", role="admin", single_user=True)
        st.session_state["_identity"] = ident
        return ident
    ident = st.session_state.get("_identity")
    now = time.time()
    if ident is not None and not ident.single_user:
        idle = now - float(st.session_state.get("_last_seen", now))
        if idle <= settings.session_idle_minutes * 60:
            st.session_state["_last_seen"] = now
            return ident
        audit("session_expired", {"idle_minutes": round(idle / 60, 1)}, user=ident.name)
        st.session_state.pop("_identity", None)
        st.session_state["_login_notice"] = (
            f"Your session expired after {settings.session_idle_minutes:g} minutes without "
            "activity. Log in again."
        )
    elif ident is not None:  # users were added while this session ran in single-user mode
        st.session_state.pop("_identity", None)
    _login_form(users)
    st.stop()
    raise AssertionError("unreachable")  # pragma: no cover


def _login_form(users: UserFile) -> None:
    st.title("graphintel")
    st.caption("Log in to see the cases you are assigned to. Every view is recorded.")
    notice = st.session_state.pop("_login_notice", None)
    if notice:
        st.info(notice)
    with st.form("login_form", clear_on_submit=True):
        name = st.text_input("Username", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if not submitted:
        return
    name = (name or "").strip()
    try:
        user = users.authenticate(name, password or "")
    except LoginFailed as err:
        audit("login_failed", {"name": name[:64]}, user=name[:64] or "anonymous")
        st.error(str(err))
        return
    ident = _from_user(user)
    st.session_state["_identity"] = ident
    st.session_state["_last_seen"] = time.time()
    audit("login", {"role": ident.role, "cases": list(ident.cases)}, user=ident.name)
    st.rerun()


def logout_button() -> None:
    """Sidebar: who is logged in (or single-user mode) and the **Log out** button."""
    ident = current()
    if ident is None:
        return
    if ident.single_user:
        st.warning(
            "Single-user mode: no users are defined, so this dashboard serves 127.0.0.1 only. "
            "Add users with `graphintel users add NAME --role ROLE` to require logins."
        )
        return
    cases = f" · cases {md_text(', '.join(ident.cases))}" if ident.cases else ""
    st.caption(f"Logged in as **{ident.name}** ({ident.role}{cases})")
    if st.button("Log out", key="logout"):
        audit("logout", {}, user=ident.name)
        for key in ("_identity", "_last_seen"):
            st.session_state.pop(key, None)
        st.rerun()
