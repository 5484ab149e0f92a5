"""Credit flows: between roles and communities (Sankey), top earners, credits over time, and
payment tracing from one account."""

from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as st_components

from dashboards import charts
from dashboards import components as ui
from graphintel import views
from graphintel.dataset import Dataset

_DIRECTIONS = {
    "forward": "forward: where its credits went",
    "backward": "backward: where its credits came from",
}


def _sankey(flows, key: str) -> None:
    if flows.empty:
        st.info("No transactions.")
        return
    # an SVG in its own frame (st.html's sanitiser drops SVG); labels escaped in sankey_svg
    st_components.html(views.sankey_svg(flows, height=420), height=430, scrolling=False)
    st.dataframe(flows, hide_index=True, width="stretch", key=f"{key}_table")


def _trace(ds: Dataset) -> None:
    st.subheader("Trace payments")
    st.caption(
        "Every payment reachable within the hops from the selected account, in the time window. "
        "Reachability, not time order: a later hop may be an earlier payment."
    )
    c1, c2 = st.columns([2, 3])
    query = c1.text_input("Search account (id, handle, name)", key="fl_tr_search")
    found = ds.search_accounts(query, limit=100)
    labels = {
        a: f"{h if isinstance(h, str) else a} ({a})"
        for a, h in zip(found["account_id"], found["handle"])
    }
    account = c2.selectbox("Account", list(labels), format_func=labels.get, key="fl_tr_account")
    c3, c4, c5 = st.columns([3, 1, 3])
    direction = c3.radio(
        "Direction", list(_DIRECTIONS), format_func=_DIRECTIONS.get, key="fl_tr_direction"
    )
    hops = c4.number_input("Hops", min_value=1, max_value=5, value=2, step=1, key="fl_tr_hops")
    span = ds.payment_day_range()
    start = end = None
    if span is not None and span[0] < span[1]:
        lo, hi = span
        window = c5.slider("Time window (payment time)", lo, hi, (lo, hi), key="fl_tr_window")
        if tuple(window) != (lo, hi):
            start = f"{window[0].isoformat()}T00:00:00"
            end = f"{window[1].isoformat()}T23:59:59"
    if not account:
        st.info("No account matches the search.")
        return
    view = ds.trace(
        account, direction=direction, hops=int(hops), start=start, end=end,
        max_nodes=ui.max_nodes(),
    )  # fmt: skip
    s = view.extra["summary"]
    m = st.columns(4)
    m[0].metric("Accounts reached", f"{s['accounts_reached']:,}")
    m[1].metric("Transactions", f"{s['transactions']:,}")
    m[2].metric("Credits", f"{s['credits']:,.1f}")
    m[3].metric("Hops reached", s["hops_reached"])
    if not s["transactions"]:
        way = "from" if direction == "forward" else "to"
        st.info(
            f"No payments {way} this account in this time window: try the other direction or "
            "a wider window."
        )
        return
    ui.show_network(view, directed=True, what="accounts", height=520)
    st.dataframe(view.extra["table"], hide_index=True, width="stretch", key="fl_tr_table")


def render(ds: Dataset) -> None:
    st.title("Credit flows")
    if not ui.need_analytics(ds):
        return
    # lazy tabs: only the open tab's Sankey and table are sent and drawn
    tab_roles, tab_comm = st.tabs(
        ["Between roles", "Between communities"], key="fl_flow_tabs", on_change="rerun"
    )
    if tab_roles.open:
        with tab_roles:
            st.caption(
                "Payers on the left, payees on the right. Roles: bot (the mint), operator "
                "(room owner), admin, member."
            )
            _sankey(ds.role_flows(), "fl_roles")
    if tab_comm.open:
        with tab_comm:
            st.caption("The ten communities moving most credits; the rest grouped as “other”.")
            _sankey(ds.community_flows(top=10), "fl_comm")

    st.subheader("Credits over time")
    freq = st.radio("Period", ["day", "week", "month"], horizontal=True, key="fl_freq")
    over = ds.credits_over_time(freq)
    if over.empty:
        st.info("No dated transactions.")
    else:
        chart = charts.bar(over, "period", "credits", color="kind", category_type="T", height=340)
        charts.show(chart, "fl_time")

    st.subheader("Top earners")
    st.dataframe(ds.top_earners(20), hide_index=True, width="stretch", key="fl_earners")

    _trace(ds)


if __name__ == "__main__":
    ui.run_page(render)
