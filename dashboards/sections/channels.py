"""Channel network: rooms linked by forwards and shared members, filters, room details."""

from __future__ import annotations

import streamlit as st

from dashboards import components as ui
from graphintel.dataset import Dataset

_PAGE = 50


def render(ds: Dataset) -> None:
    st.title("Channel network")
    if not ui.need_analytics(ds):
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    communities = c1.multiselect("Community", ds.communities(), key="ch_communities")
    orgs = ds.organisations()
    org_names = dict(zip(orgs["org_id"], orgs["name"]))
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
    span = ds.day_range()
    start = end = None
    if span is not None and span[0] < span[1]:
        lo, hi = span
        window = c5.slider(
            "Time window (memberships present, forwards made)",
            min_value=lo,
            max_value=hi,
            value=(lo, hi),
            key="ch_window",
        )
        if tuple(window) != (lo, hi):
            start = f"{window[0].isoformat()}T00:00:00"
            end = f"{window[1].isoformat()}T23:59:59"

    filters = {"search": search or None, "communities": communities, "orgs": org_ids}
    matches = ds.rooms(limit=500, **filters)
    options = ["", *matches["channel_id"].tolist()]
    titles = dict(zip(matches["channel_id"], matches["title"].fillna(matches["channel_id"])))
    wanted = st.query_params.get("room")  # deep link: channels?room=ID (e.g. from Alerts)
    if wanted and wanted not in options:
        found = ds.room(wanted)
        if len(found):
            options.insert(1, wanted)
            titles[wanted] = found["title"].fillna(wanted).iloc[0]
    focus = st.selectbox(
        "Select a room (shows its neighbourhood and details)",
        options,
        index=options.index(wanted) if wanted in options else 0,
        format_func=lambda c: "— none —" if c == "" else f"{titles.get(c, c)} ({c})",
        key="ch_focus",
    )
    view = ds.channel_network(
        min_overlap=int(min_overlap),
        focus=focus or None,
        start=start,
        end=end,
        max_nodes=ui.max_nodes(),
        **filters,
    )
    st.caption(
        "Node size: members · colour: community · grey edges: shared members (width ~ "
        "Jaccard) · dashed orange: forwards only."
    )
    ui.show_network(view, what="rooms")

    if focus:
        st.subheader("Room details")
        row = ds.room(focus)
        st.dataframe(row, hide_index=True, width="stretch", key="ch_room_row")
        d = ds.room_details(focus)
        tabs = st.tabs(
            ["Members", "Admins", "Invite links", "Forwards", "Targeted organisations"],
            key="ch_detail_tabs",
            on_change="rerun",  # lazy: only the open tab's table is sent and drawn
        )
        members = int(row["members"].iloc[0]) if len(row) else 0
        for tab, key in zip(tabs, ["members", "admins", "invite_links", "forwards", "targets"]):
            if not tab.open:
                continue
            with tab:
                frame = d[key]
                if key == "members" and len(frame) < members:
                    st.caption(f"First {len(frame)} of {members:,} members (staff first).")
                st.dataframe(frame, hide_index=True, width="stretch", key=f"ch_d_{key}")
    else:
        st.subheader("Rooms")
        total = ds.rooms_count(**filters)
        pages = max((total + _PAGE - 1) // _PAGE, 1)
        page = st.number_input(
            f"Page (of {pages:,}; {total:,} rooms)", 1, pages, 1, step=1, key="ch_page"
        )
        st.dataframe(
            ds.rooms(limit=_PAGE, offset=(int(page) - 1) * _PAGE, **filters),
            hide_index=True,
            width="stretch",
            key="ch_rooms",
        )


if __name__ == "__main__":
    ui.run_page(render)
