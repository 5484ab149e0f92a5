"""Overview: counts, sources with their provenance, activity timeline, top rooms, communities."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import components as ui
from graphintel import views
from graphintel.analytics.pipeline import summary_dict


def render(uri: str) -> None:
    st.title("Overview")
    n = ui.counts(uri)
    cols = st.columns(5)
    for i, key in enumerate(
        [
            "accounts",
            "channels",
            "memberships",
            "invites",
            "transactions",
            "forwards",
            "organizations",
            "targets",
            "content",
            "sources",
        ]
    ):
        cols[i % 5].metric(key.capitalize(), f"{n.get(key, 0):,}")

    st.subheader("Sources")
    st.caption("Every record carries the id of the source it came from.")
    st.dataframe(ui.sources(uri), hide_index=True, width="stretch", key="ov_sources")

    t = ui.tables(uri)
    st.subheader("Activity per day")
    act = views.activity_timeline(t)
    if act.empty:
        st.info("No dated joins, invites or purchases.")
    else:
        fig = px.line(
            act,
            x="day",
            y="count",
            color="activity",
            height=320,
            labels={"day": "", "count": "records per day"},
        )
        st.plotly_chart(fig, key="ov_activity")

    left, right = st.columns([3, 2])
    with left:
        st.subheader("Top rooms")
        rooms = ui.rooms(uri)[
            ["channel_id", "title", "kind", "members", "admins", "community", "creator", "targets"]
        ]
        st.dataframe(rooms.head(15), hide_index=True, width="stretch", key="ov_rooms")
    with right:
        st.subheader("Communities")
        if ui.need_analytics(uri):
            info = summary_dict(ui.result(uri, "summary")).get("communities") or {}
            st.caption(
                f"{info.get('count', 0)} communities · method {info.get('method', '?')} · "
                f"modularity {float(info.get('modularity') or 0):.3f}"
            )
            sizes = views.community_sizes(
                ui.result(uri, "account_metrics"), ui.result(uri, "channel_metrics")
            )
            fig = px.bar(
                sizes.head(20).astype({"community": str}),
                x="community",
                y=["accounts", "channels"],
                barmode="group",
                height=320,
            )
            st.plotly_chart(fig, key="ov_communities")


ui.run_page(render)
