"""Targets map: organisations sized by the rooms targeting them over Korea's province outlines
(shipped with graphintel: no map tiles, no request leaves the machine), and a region table."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dashboards import charts
from dashboards import components as ui
from graphintel import views
from graphintel.dataset import Dataset


@st.cache_resource(show_spinner=False)
def _outlines() -> list[dict]:
    return views.province_features()


@charts.vega_spec
def _map(placed: pd.DataFrame) -> alt.LayerChart:
    """Province outlines (KOSTAT 2013) with a circle per organisation: area ~ rooms."""
    base = alt.Chart(alt.Data(values=_outlines())).mark_geoshape(
        fill="#d2dae2", fillOpacity=0.55, stroke="#8a99a8", strokeWidth=0.8
    )
    rooms = placed["rooms"].to_numpy(float)
    points = pd.DataFrame(
        {
            "organisation": placed["name"].fillna(placed["org_id"]).astype(str),
            "kind": placed["kind"].fillna("—").astype(str),
            "region": placed["region"].fillna("—").astype(str),
            "rooms": placed["rooms"].astype(int),
            "members reached": placed["members_reached"].astype(int),
            "lon": placed["lon"].astype(float),
            "lat": placed["lat"].astype(float),
            "area": (8 + 6 * np.sqrt(rooms)) ** 2,
            "fill": np.where(rooms > 0, "rgba(214,39,40,0.75)", "rgba(150,150,150,0.6)"),
        }
    )
    marks = (
        alt.Chart(points)
        .mark_circle(stroke="white", strokeWidth=0.5, opacity=1)
        .encode(
            longitude="lon:Q",
            latitude="lat:Q",
            size=alt.Size("area:Q", scale=None, legend=None),
            color=alt.Color("fill:N", scale=None, legend=None),
            tooltip=["organisation", "kind", "region", "rooms", "members reached"],
        )
    )
    return alt.layer(base, marks).project(type="mercator").properties(height=620)


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
        charts.show(_map(placed), "tg_map")
    c1, c2 = st.columns([2, 3])
    with c1:
        st.subheader("Regions")
        st.dataframe(views.region_table(orgs), hide_index=True, width="stretch", key="tg_regions")
    with c2:
        st.subheader("Organisations")
        st.dataframe(orgs, hide_index=True, width="stretch", key="tg_orgs")


if __name__ == "__main__":
    ui.run_page(render)
