"""Channel network: rooms linked by forwards and shared members, filters, room details."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import components as ui
from graphintel import views

_TS = "%Y-%m-%dT%H:%M:%S"


def render(uri: str) -> None:
    st.title("Channel network")
    t = ui.tables(uri)
    rooms = ui.rooms(uri)
    links = ui.result(uri, "channel_links")
    if links.empty:
        ui.need_analytics(uri)
        links = views.channel_links_for(t)

    c1, c2, c3 = st.columns([2, 2, 1])
    comms = sorted(rooms["community"].dropna().unique().tolist())
    communities = c1.multiselect("Community", comms, key="ch_communities")
    orgs = t["organizations"][["org_id", "name"]]
    org_names = dict(zip(orgs["org_id"], orgs["name"].fillna(orgs["org_id"])))
    org_ids = c2.multiselect(
        "Organisation targeted",
        list(org_names),
        format_func=lambda o: f"{org_names.get(o, o)} ({o})",
        key="ch_orgs",
    )
    min_overlap = c3.number_input(
        "Min. shared members", min_value=1, value=1, step=1, key="ch_overlap"
    )
    c4, c5 = st.columns([2, 3])
    search = c4.text_input("Search title / id / creator", key="ch_search")
    days = pd.to_datetime(
        pd.concat([t["memberships"]["joined_at"], t["forwards"]["ts"]]), format=_TS, errors="coerce"
    ).dropna()
    start = end = None
    if len(days):
        lo, hi = days.min().date(), days.max().date()
        window = c5.slider(
            "Time window (memberships present, forwards made)",
            min_value=lo,
            max_value=hi,
            value=(lo, hi),
            key="ch_window",
        )
        if tuple(window) != (lo, hi):
            start = pd.Timestamp(window[0]).strftime(_TS)
            end = (pd.Timestamp(window[1]) + pd.Timedelta(days=1, seconds=-1)).strftime(_TS)
            links = views.channel_links_for(t, start=start, end=end)

    matches = views.search_rooms(rooms, search) if search else rooms
    options = ["", *matches["channel_id"].head(500).tolist()]
    titles = dict(zip(rooms["channel_id"], rooms["title"].fillna(rooms["channel_id"])))
    wanted = st.query_params.get("room")  # deep link: channels?room=ID (e.g. from Alerts)
    if wanted and wanted in titles and wanted not in options:
        options.insert(1, wanted)
    focus = st.selectbox(
        "Select a room (shows its neighbourhood and details)",
        options,
        index=options.index(wanted) if wanted in options else 0,
        format_func=lambda c: "— none —" if c == "" else f"{titles.get(c, c)} ({c})",
        key="ch_focus",
    )
    view = views.channel_network(
        rooms,
        links,
        communities=communities or None,
        org_ids=org_ids or None,
        search=search or None,
        min_overlap=int(min_overlap),
        focus=focus or None,
        max_nodes=ui.max_nodes(),
    )
    st.caption(
        "Node size: members · colour: community · grey edges: shared members (width ~ "
        "Jaccard) · dashed orange: forwards only."
    )
    ui.show_network(view, what="rooms")

    if focus:
        st.subheader("Room details")
        row = rooms[rooms["channel_id"] == focus]
        st.dataframe(
            row.drop(columns=["target_ids"]), hide_index=True, width="stretch", key="ch_room_row"
        )
        d = views.room_details(t, focus)
        tabs = st.tabs(["Members", "Admins", "Invite links", "Forwards", "Targeted organisations"])
        for tab, key in zip(tabs, ["members", "admins", "invite_links", "forwards", "targets"]):
            with tab:
                frame = d[key]
                if key == "members" and len(frame) < int(row["members"].iloc[0]):
                    st.caption(
                        f"First {len(frame)} of {int(row['members'].iloc[0]):,} members "
                        "(staff first)."
                    )
                st.dataframe(frame, hide_index=True, width="stretch", key=f"ch_d_{key}")


ui.run_page(render)
