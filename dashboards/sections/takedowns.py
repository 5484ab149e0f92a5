"""Takedowns: requests by status, time to confirmation, reappearances, hashes still circulating."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts
from dashboards import components as ui
from graphintel.dataset import Dataset
from graphintel.takedowns import figures_from_tables


def render(ds: Dataset) -> None:
    st.title("Takedowns")
    st.caption(
        "Takedown requests of content hashes (from bundles' takedowns.csv or kept by hand with "
        "`graphintel takedown request|confirm|refuse HASH`). A reappearance is a hash posted in a "
        "room after its takedown was confirmed."
    )
    uri = ds.uri
    t = ds.takedowns()
    if t["records"].empty:
        st.info(
            "No takedown records in this store. Add a `takedowns` table to a bundle, or record "
            f"requests with `graphintel takedown request HASH --store {uri}`."
        )
        return
    f = figures_from_tables(t)
    s, d = f["by_status"], f["days_to_confirm"]
    m = st.columns(6)
    m[0].metric("Requests", f"{f['requests']:,}")
    m[1].metric("Confirmed", f"{s['confirmed']:,}")
    m[2].metric("Pending", f"{s['requested']:,}")
    m[3].metric("Refused", f"{s['refused']:,}")
    m[4].metric("Median days to confirm", "—" if d["median"] is None else f"{d['median']:.1f}")
    m[5].metric("Still circulating", f"{len(f['still_circulating']):,}")

    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Requests by status")
        counts = [{"status": k, "requests": v} for k, v in s.items()]
        charts.show(charts.bar(pd.DataFrame(counts), "status", "requests"), "td_status")
    with c2:
        st.subheader("Time from request to confirmation")
        rec = t["records"]
        done = rec[rec["status"] == "confirmed"]
        if done.empty:
            st.info("No confirmed takedown yet.")
        else:
            chart = charts.histogram(done, "days_to_confirm", bins=20, x_title="days")
            charts.show(chart, "td_days")
            st.caption(
                f"{d['count']} confirmed: median {d['median']:.1f} days, mean {d['mean']:.1f}, "
                f"max {d['max']:.1f}."
            )

    st.subheader("Hashes still circulating")
    st.dataframe(t["circulating"], hide_index=True, width="stretch", key="td_circulating")
    c3, c4 = st.columns(2)
    with c3:
        st.subheader("Reappearances per room")
        st.dataframe(t["per_room"], hide_index=True, width="stretch", key="td_rooms")
    with c4:
        st.subheader("Reappearances per operator")
        st.caption("Operators of a room: its creator, owners and admins.")
        st.dataframe(t["per_operator"], hide_index=True, width="stretch", key="td_operators")
    st.subheader("Reappearances")
    st.dataframe(t["reappearances"], hide_index=True, width="stretch", key="td_reappearances")
    st.subheader("All takedown records")
    st.dataframe(t["records"], hide_index=True, width="stretch", key="td_records")


if __name__ == "__main__":
    ui.run_page(render)
