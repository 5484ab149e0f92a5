"""Referral chains: an account's chain up to the root and its tree below; the largest cascades."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import components as ui
from graphintel import views


def render(uri: str) -> None:
    st.title("Referral chains")
    if not ui.need_analytics(uri):
        return
    t = ui.tables(uri)
    forest = ui.forest(uri)

    stats = views.referral_stats(forest)
    m = st.columns(5)
    m[0].metric("Cascades", f"{stats['cascades']:,}")
    m[1].metric("Accounts in cascades", f"{stats['accounts_in_cascades']:,}")
    m[2].metric("Largest cascade", f"{stats['size_max']:,}")
    m[3].metric("Deepest chain", stats["depth_max"])
    gap = stats.get("generation_gap_hours_median")
    m[4].metric("Median hours per generation", "—" if gap is None else f"{gap:.1f}")

    left, right = st.columns([1, 2])
    with left:
        wanted = st.query_params.get("account", "")  # deep link: referrals?account=ID
        query = st.text_input("Search account (id, handle, name)", value=wanted, key="rf_search")
        found = views.search_accounts(t, forest, query, limit=100)
        labels = {
            a: f"{h if isinstance(h, str) else a} ({a}) · {d:,} below"
            for a, h, d in zip(found["account_id"], found["handle"], found["referral_descendants"])
        }
        ids = list(labels)
        account = st.selectbox(
            "Account",
            ids,
            index=ids.index(wanted) if wanted in ids else 0,
            format_func=labels.get,
            key="rf_account",
        )
        cap = st.slider(
            "Accounts in the tree view",
            20,
            max(ui.max_nodes(), 21),
            min(120, ui.max_nodes()),
            step=10,
            key="rf_cap",
            help="Wide trees stay readable with fewer nodes; tables below list more.",
        )
    if not account:
        st.info("No account matches the search.")
        return
    view = views.referral_view(t, forest, account, max_nodes=cap)
    with right:
        st.caption(
            "Chain up to the root (top) and the tree below the selected account (red); "
            "recruits coloured by generation."
        )
    ui.show_network(view, hierarchical=True, directed=True, what="accounts", height=560)
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Chain to the root")
        st.dataframe(view.extra["chain"], hide_index=True, width="stretch", key="rf_chain")
    with c2:
        st.subheader("Tree below (breadth first)")
        st.dataframe(view.extra["subtree"], hide_index=True, width="stretch", key="rf_subtree")

    st.subheader("Largest cascades")
    casc = views.cascade_table(t, forest, 15)
    c3, c4 = st.columns([2, 3])
    c3.dataframe(casc, hide_index=True, width="stretch", key="rf_cascades")
    if not casc.empty:
        fig = px.bar(casc, x="root", y="size", hover_data=["depth", "direct_invites"], height=300)
        c4.plotly_chart(fig, key="rf_cascade_bar")


ui.run_page(render)
