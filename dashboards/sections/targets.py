"""Targets map: organisations sized by the rooms targeting them, and a region table."""

from __future__ import annotations

import pydeck as pdk
import streamlit as st

from dashboards import components as ui
from graphintel import views
from graphintel.netviz import escape_text


def render(uri: str) -> None:
    st.title("Targets map")
    t = ui.tables(uri)
    orgs = views.organisation_targets(t)
    if orgs.empty:
        st.info("No organisations recorded.")
        return
    placed = orgs.dropna(subset=["lat", "lon"]).copy()
    st.caption(
        "Circle area ~ rooms reported as targeting the organisation (grey: none). "
        "No map tiles are loaded (works offline); labels name regions."
    )
    if placed.empty:
        st.info("No organisation has coordinates.")
    else:
        placed["radius"] = 2500 + 4000 * placed["rooms"] ** 0.5
        placed["color"] = [
            [214, 39, 40, 180] if r else [150, 150, 150, 140] for r in placed["rooms"]
        ]
        for col in ("name", "region", "kind"):
            placed[col] = [escape_text(v, limit=80) for v in placed[col]]
        regions = placed.groupby("region", as_index=False)[["lat", "lon"]].mean()
        layers = [
            pdk.Layer(
                "ScatterplotLayer",
                placed,
                get_position="[lon, lat]",
                get_radius="radius",
                get_fill_color="color",
                pickable=True,
            ),
            pdk.Layer(
                "TextLayer",
                regions,
                get_position="[lon, lat]",
                get_text="region",
                get_size=14,
                get_color=[40, 40, 40, 220],
                get_pixel_offset=[0, -18],
            ),
        ]
        view = pdk.ViewState(
            latitude=float(placed["lat"].mean()), longitude=float(placed["lon"].mean()), zoom=6
        )
        deck = pdk.Deck(
            layers=layers,
            initial_view_state=view,
            map_style=None,
            tooltip={
                "text": "{name}\n{kind} · {region}\nrooms {rooms} · "
                "members reached {members_reached}"
            },
        )
        st.pydeck_chart(deck, key="tg_map")
    c1, c2 = st.columns([2, 3])
    with c1:
        st.subheader("Regions")
        st.dataframe(views.region_table(orgs), hide_index=True, width="stretch", key="tg_regions")
    with c2:
        st.subheader("Organisations")
        st.dataframe(orgs, hide_index=True, width="stretch", key="tg_orgs")


ui.run_page(render)
