"""Alerts: what the watch list and takedowns raised, with filters and links to rooms and accounts."""

from __future__ import annotations

import streamlit as st

from dashboards import components as ui
from graphintel import watch
from graphintel.dataset import Dataset
from graphintel.model import ALERT_RULES


def render(ds: Dataset) -> None:
    st.title("Alerts")
    st.caption(
        "Raised after every ingest and by `graphintel alerts run` when new evidence matches the "
        "watch list (organisations, accounts, content hashes, title keywords) or a hash is posted "
        "after its takedown was confirmed. Each alert names the records' sources. Acknowledge "
        "with `graphintel alerts ack ID --note TEXT`."
    )
    uri = ds.uri
    view = ds.alerts()
    if view.empty:
        st.info(
            "No alerts in this store. Watch something with `graphintel watch add --kind "
            f"org|account|hash|keyword VALUE --store {uri}`, then run `graphintel alerts run "
            f"--store {uri}` (every ingest runs the rules too)."
        )
        return
    m = st.columns(3)
    m[0].metric("Open", f"{int((view['state'] == 'open').sum()):,}")
    m[1].metric("Acknowledged", f"{int((view['state'] == 'acknowledged').sum()):,}")
    m[2].metric("All alerts", f"{len(view):,}")

    c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
    rules = c1.multiselect("Rule", list(ALERT_RULES), key="al_rules")
    state = c2.selectbox("State", ["open", "all", "acknowledged"], key="al_state")
    since = c3.date_input("Raised since", value=None, key="al_since")
    search = c4.text_input("Search id / room / account / hash / watch", key="al_search")
    shown = watch.filter_alerts_view(
        view,
        rules=rules or None,
        state=state,
        since=since.isoformat() if since else None,
        search=search or None,
    )
    st.caption(f"Showing {len(shown):,} of {len(view):,} alerts (newest first).")
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="al_table",
        column_config={
            "room_link": st.column_config.LinkColumn(
                "Open room", display_text="Channel network", help="Room in the Channel network"
            ),
            "account_link": st.column_config.LinkColumn(
                "Open account", display_text="Referral chains", help="Account's referral chain"
            ),
        },
    )
    if shown.empty:
        return
    st.subheader("Alert details")
    labels = {
        a: f"{a} · {r}{(':' + act) if isinstance(act, str) and act else ''}"
        for a, r, act in zip(shown["alert_id"], shown["rule"], shown["activity"])
    }
    picked = st.selectbox("Alert", list(labels), format_func=labels.get, key="al_pick")
    row = shown[shown["alert_id"] == picked].iloc[0]
    links = st.columns(2)
    if isinstance(row["channel_id"], str) and row["channel_id"]:
        links[0].page_link(
            "sections/channels.py",
            label=f"Room {row['channel_id']} in the Channel network",
            icon=":material/hub:",
            query_params={"room": row["channel_id"]},
        )
    if isinstance(row["account_id"], str) and row["account_id"]:
        links[1].page_link(
            "sections/referrals.py",
            label=f"Account {row['account_id']} in Referral chains",
            icon=":material/account_tree:",
            query_params={"account": row["account_id"]},
        )
    st.dataframe(
        row.drop(labels=["room_link", "account_link"]).rename("value").to_frame(),
        width="stretch",
        key="al_detail",
    )


if __name__ == "__main__":
    ui.run_page(render)
