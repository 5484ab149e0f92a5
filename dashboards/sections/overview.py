"""Overview: counts, sources with their provenance, activity timeline, top rooms, communities."""

from __future__ import annotations

import streamlit as st

from dashboards import charts
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
        chart = charts.line(
            act, "day", "count", color="activity", x_title="", y_title="records per day"
        )
        charts.show(chart, "ov_activity")

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
        long = sizes.astype({"community": str}).melt(
            id_vars="community", value_vars=["accounts", "channels"], var_name="kind"
        )
        order = sizes["community"].astype(str).tolist()
        chart = charts.bar(long, "community", "value", color="kind", grouped=True, order=order)
        charts.show(chart, "ov_communities")


if __name__ == "__main__":
    ui.run_page(render)
