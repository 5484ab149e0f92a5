"""Economy: invite ↔ reward reconciliation per room, and rooms before and after a date."""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboards import charts
from dashboards import components as ui
from graphintel import economy_views
from graphintel.dataset import Dataset


def render(ds: Dataset) -> None:
    st.title("Invitation-credit economy")
    if not ui.need_analytics(ds):
        return
    econ = ds.summary().get("economy") or {}
    st.subheader("Invites and the rewards paid for them")
    st.caption(economy_views.LEAD_NOTE)
    k = st.columns(4)
    k[0].metric("Referral rewards", f"{econ.get('rewards', 0):,}")
    k[1].metric("Matched to an invite", f"{econ.get('matched', 0):,}")
    k[2].metric("Rewards without an invite", f"{econ.get('reward_without_invite', 0):,}")
    k[3].metric("Invites without a reward", f"{econ.get('invite_without_reward', 0):,}")
    leads = economy_views.room_reward_leads(ds.room_economy())
    st.dataframe(leads, hide_index=True, width="stretch", key="ec_rooms")
    st.caption(
        "Credits per matched invite: the reward rate the records imply for the room. Proceeds: "
        f"purchases received, in won (credits × {econ.get('won_per_credit') or 2650:,g} won "
        "where no amount is recorded)."
    )

    st.subheader("Before and after a date")
    st.caption(
        "Rooms whose records stopped or dropped after a date (a crackdown, an arrest), those "
        "that appeared, and where the members of stopped rooms went. Leads to check."
    )
    activity = ds.room_activity()
    if activity.empty:
        st.info("No dated records naming a room in this store.")
        return
    days = sorted(activity["day"].astype(str))
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    c = st.columns(3)
    at = c[0].date_input(
        "Date", value=first + (last - first) / 2, min_value=first, max_value=last, key="ec_at"
    )
    window = c[1].number_input("Days compared", 1, 365, 30, key="ec_window")
    drop = c[2].slider("Dropped when activity falls by", 0.1, 1.0, 0.5, step=0.1, key="ec_drop")
    out = economy_views.before_after_frames(
        activity, ds.room_moves, at.isoformat(), window_days=int(window), drop=float(drop)
    )
    rooms = out["rooms"]
    changed = rooms[rooms["status"] != "continued"]
    counts = rooms["status"].value_counts()
    k = st.columns(4)
    for col, status in zip(k, ("stopped", "dropped", "appeared", "continued")):
        col.metric(status.capitalize(), f"{int(counts.get(status, 0)):,}")
    left, right = st.columns(2)
    left.dataframe(changed, hide_index=True, width="stretch", key="ec_changed")
    moves = out["moves"]
    if moves.empty:
        right.info("No member of a stopped or dropped room joined another room in the window.")
    else:
        chart = charts.bar(
            moves.head(20),
            "to_channel_id",
            "members",
            color="from_channel_id",
            horizontal=True,
            height=340,
            title="Members of stopped and dropped rooms who joined another room",
        )
        charts.show(chart, "ec_moves_bar", right)
        st.dataframe(moves, hide_index=True, width="stretch", key="ec_moves")


if __name__ == "__main__":
    ui.run_page(render)
