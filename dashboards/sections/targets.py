"""Targets map: organisations sized by the rooms targeting them over Korea's province outlines
(shipped with graphintel: no map tiles, no request leaves the machine), and a region table."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboards import components as ui
from graphintel import views
from graphintel.dataset import Dataset


@st.cache_resource(show_spinner=False)
def _outlines() -> dict:
    return views.province_outlines()


def _map(placed) -> go.Figure:
    base = _outlines()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=base["lon"],
            y=base["lat"],
            mode="lines",
            fill="toself",
            fillcolor="rgba(210, 218, 226, 0.55)",
            line={"color": "#8a99a8", "width": 0.8},
            hoverinfo="skip",
            name="provinces (KOSTAT 2013)",
            showlegend=False,
        )
    )
    rooms = placed["rooms"].to_numpy(float)
    hover = [
        f"{html.escape(str(n))}<br>{html.escape(str(k))} · {html.escape(str(r))}<br>"
        f"rooms {int(c)} · members reached {int(m):,}"
        for n, k, r, c, m in zip(
            placed["name"].fillna(placed["org_id"]),
            placed["kind"].fillna("—"),
            placed["region"].fillna("—"),
            placed["rooms"],
            placed["members_reached"],
        )
    ]
    fig.add_trace(
        go.Scatter(
            x=placed["lon"],
            y=placed["lat"],
            mode="markers",
            marker={
                "size": 8 + 6 * np.sqrt(rooms),
                "color": np.where(rooms > 0, "rgba(214,39,40,0.75)", "rgba(150,150,150,0.6)"),
                "line": {"color": "white", "width": 0.5},
            },
            hovertext=hover,
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1.25)
    fig.update_layout(height=620, margin={"l": 0, "r": 0, "t": 0, "b": 0}, plot_bgcolor="white")
    return fig


def render(ds: Dataset) -> None:
    st.title("Targets map")
    if not ui.need_analytics(ds):
        return
    orgs = ds.targets()
    if orgs.empty:
        st.info("No organisations recorded.")
        return
    placed = orgs.dropna(subset=["lat", "lon"])
    st.caption(
        "Circle area ~ rooms reported as targeting the organisation (grey: none), over Korea's "
        "province outlines (KOSTAT 2013). Drawn offline: no map tiles are fetched."
    )
    if placed.empty:
        st.info("No organisation has coordinates.")
    else:
        st.plotly_chart(_map(placed), key="tg_map")
    c1, c2 = st.columns([2, 3])
    with c1:
        st.subheader("Regions")
        st.dataframe(views.region_table(orgs), hide_index=True, width="stretch", key="tg_regions")
    with c2:
        st.subheader("Organisations")
        st.dataframe(orgs, hide_index=True, width="stretch", key="tg_orgs")


if __name__ == "__main__":
    ui.run_page(render)
