"""Overview: counts, sources with their provenance, activity timeline, top rooms, communities."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import components as ui
from graphintel.dataset import Dataset
from graphintel.model import COUNT_KEYS
from graphintel.retraction import mark_retracted


def render(ds: Dataset) -> None:
    st.title("Overview")
    n = ds.counts()
    cols = st.columns(5)
    for i, key in enumerate(COUNT_KEYS):
        cols[i % 5].metric(key.capitalize(), f"{n.get(key, 0):,}")

    st.subheader("Sources")
    gone = ui.retracted_sources(ds)
    caption = "Every record carries the id of the source it came from."
    if len(gone):
        caption += (
            f" {len(gone)} retracted (status `retracted`): everything only they reported is "
            "gone, and they are kept as tombstones saying who retracted them, when and why."
        )
    st.caption(caption)
    st.dataframe(
        mark_retracted(ds.sources(), gone), hide_index=True, width="stretch", key="ov_sources"
    )

    if not ui.need_analytics(ds):
        return
    st.subheader("Activity per day")
    act = ds.activity()
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
        rooms = ds.rooms(limit=15)[
            ["channel_id", "title", "kind", "members", "admins", "community", "creator", "targets"]
        ]
        st.dataframe(rooms, hide_index=True, width="stretch", key="ov_rooms")
    with right:
        st.subheader("Communities")
        info = ds.summary().get("communities") or {}
        st.caption(
            f"{info.get('count', 0)} communities · method {info.get('method', '?')} · "
            f"modularity {float(info.get('modularity') or 0):.3f}"
        )
        sizes = ds.community_sizes(20)
        fig = px.bar(
            sizes.astype({"community": str}),
            x="community",
            y=["accounts", "channels"],
            barmode="group",
            height=320,
        )
        st.plotly_chart(fig, key="ov_communities")


if __name__ == "__main__":
    ui.run_page(render)
