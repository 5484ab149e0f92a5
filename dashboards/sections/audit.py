"""Audit: the trail of every action (auditors and admins), with the hash chain's state."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboards import auth
from dashboards import components as ui
from graphintel.audit import AuditLog, StoreHead, filter_entries, verify_chain
from graphintel.config import load_settings
from graphintel.dataset import Dataset
from graphintel.errors import AuditError, GraphIntelError


def render(ds: Dataset) -> None:
    uri = ds.uri
    st.title("Audit")
    ident = auth.current()
    if ident is None or ident.role not in ("auditor", "admin"):
        st.error("The audit trail is for auditors and administrators.")
        return
    log = AuditLog(load_settings().audit_log)
    entries: list[dict] = []
    try:
        entries = log.entries()
        try:  # the store's table and the side file beside it (graphintel.audit.HeadFile)
            heads = [StoreHead(*h) for h in ui.read_store(uri, lambda s: s.audit_heads())]
        except AuditError:
            raise
        except GraphIntelError:  # a store that cannot be read has no head to compare
            heads = []
        n = verify_chain(entries, heads)
        newest = max((h.seq for h in heads), default=None)
        st.success(
            f"{n} entries intact (hash chain verified"
            + (f"; the store's recorded head seq {newest} matches" if heads else "")
            + ")."
        )
    except AuditError as err:
        st.error(f"The audit trail fails verification: {err}")
    c1, c2, c3, c4 = st.columns(4)
    user = c1.text_input("User", key="audit_user").strip() or None
    case = c2.text_input("Case", key="audit_case").strip() or None
    since = c3.text_input("Since (UTC, ISO)", key="audit_since").strip() or None
    action = c4.text_input("Action", key="audit_action").strip() or None
    shown = filter_entries(entries, user=user, case=case, since=since)
    if action:
        shown = [e for e in shown if e.get("action") == action]
    frame = pd.DataFrame(
        {
            "seq": [e.get("seq") for e in shown],
            "ts": [e.get("ts") for e in shown],
            "user": [e.get("user") for e in shown],
            "action": [e.get("action") for e in shown],
            "details": [json.dumps(e.get("details"), ensure_ascii=False) for e in shown],
        }
    )
    st.caption(f"{len(frame):,} of {len(entries):,} entries, newest last.")
    st.dataframe(frame, hide_index=True, width="stretch", key="audit_table")


ui.run_page(render, needs_data=False)
