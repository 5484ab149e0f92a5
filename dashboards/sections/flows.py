"""Credit flows: between roles and communities (Sankey), top earners, credits over time."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboards import components as ui
from graphintel import views


def _sankey(flows, key: str) -> None:
    if flows.empty:
        st.info("No transactions.")
        return
    d = views.sankey_data(flows)
    fig = go.Figure(
        go.Sankey(
            node={"label": d["label"], "pad": 18},
            link={"source": d["source"], "target": d["target"], "value": d["value"]},
        )
    )
    fig.update_layout(height=420, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(fig, key=key)
    st.dataframe(flows, hide_index=True, width="stretch", key=f"{key}_table")


def render(uri: str) -> None:
    st.title("Credit flows")
    t = ui.tables(uri)
    tab_roles, tab_comm = st.tabs(["Between roles", "Between communities"])
    with tab_roles:
        st.caption(
            "Payers on the left, payees on the right. Roles: bot (the mint), operator "
            "(room owner), admin, member."
        )
        _sankey(views.role_flow_frame(t), "fl_roles")
    with tab_comm:
        if ui.need_analytics(uri):
            _sankey(views.community_flow_frame(t, ui.result(uri, "account_metrics")), "fl_comm")

    st.subheader("Credits over time")
    freq = st.radio("Period", ["day", "week", "month"], horizontal=True, key="fl_freq")
    over = views.credits_timeline(t, freq=freq)
    if over.empty:
        st.info("No dated transactions.")
    else:
        fig = px.bar(over, x="period", y="credits", color="kind", height=340)
        st.plotly_chart(fig, key="fl_time")

    st.subheader("Top earners")
    if ui.need_analytics(uri):
        top = views.top_earner_table(t, ui.result(uri, "account_metrics"), n=20)
        st.dataframe(top, hide_index=True, width="stretch", key="fl_earners")


ui.run_page(render)
