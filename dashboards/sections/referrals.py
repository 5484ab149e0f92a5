"""Referral chains: an account's chain up to the root and its tree below; the largest cascades."""

from __future__ import annotations

import streamlit as st

from dashboards import charts
from dashboards import components as ui
from graphintel import economy_views
from graphintel.dataset import Dataset


def render(ds: Dataset) -> None:
    st.title("Referral chains")
    if not ui.need_analytics(ds):
        return
    stats = ds.referral_stats()
    m = st.columns(5)
    m[0].metric("Cascades", f"{stats.get('cascades', 0):,}")
    m[1].metric("Accounts in cascades", f"{stats.get('accounts_in_cascades', 0):,}")
    m[2].metric("Largest cascade", f"{stats.get('size_max', 0):,}")
    m[3].metric("Deepest chain", stats.get("depth_max", 0))
    gap = stats.get("generation_gap_hours_median")
    m[4].metric("Median hours per generation", "—" if gap is None else f"{gap:.1f}")

    left, right = st.columns([1, 2])
    with left:
        wanted = st.query_params.get("account", "")  # deep link: referrals?account=ID
        query = st.text_input("Search account (id, handle, name)", value=wanted, key="rf_search")
        found = ds.search_accounts(query, limit=100)
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
            help="The largest sub-trees are kept down to this cap; the rest of each account's "
            "recruits is summed up in one “more” node.",
        )
    if not account:
        st.info("No account matches the search.")
        return
    view = ds.referral_tree(account, max_nodes=cap)
    with right:
        st.caption(
            "Chain up to the root (top) and the tree below the selected account (red); "
            "recruits coloured by generation; white boxes sum up recruits not shown."
        )
    ui.show_network(view, hierarchical=True, directed=True, what="accounts", height=560)
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Chain to the root")
        st.dataframe(view.extra["chain"], hide_index=True, width="stretch", key="rf_chain")
    with c2:
        st.subheader("Tree below (shown accounts)")
        st.dataframe(view.extra["subtree"], hide_index=True, width="stretch", key="rf_subtree")

    st.subheader("Largest cascades")
    casc = ds.cascades(15)
    c3, c4 = st.columns([2, 3])
    c3.dataframe(casc, hide_index=True, width="stretch", key="rf_cascades")
    if not casc.empty:
        chart = charts.bar(casc, "root", "size", tooltip=["depth", "direct_invites"])
        charts.show(chart, "rf_cascade_bar", c4)
    _growth(ds)


def _growth(ds: Dataset) -> None:
    """How the largest cascades grew: size over time and recruits per member by generation."""
    st.subheader("How cascades grow")
    n = st.slider("Cascades drawn", 1, 10, 5, key="rf_growth_n")
    casc = ds.cascade_list(n)
    if casc.empty:
        st.info("No referral cascade in this store.")
        return
    roots = casc["root"].tolist()
    curves = economy_views.cascade_curves(ds.cascade_growth(roots), casc, n)
    gens = economy_views.cascade_generation_curves(ds.cascade_generations(), casc, n)
    c5, c6 = st.columns(2)
    chart = charts.line(
        curves,
        "day",
        "size",
        color="cascade",
        step=True,
        height=340,
        title="Accounts in the cascade (root included)",
    )
    charts.show(chart, "rf_growth_size", c5)
    chart = charts.line(
        gens,
        "generation",
        "reproduction",
        color="cascade",
        x_type="Q",
        points=True,
        rule_y=1,
        height=340,
        title="Recruits per member, by generation (R; below 1 dies out)",
    )
    charts.show(chart, "rf_growth_r", c6)
    st.caption(
        "Generation 0 is the root. R of a generation = accounts of the next generation ÷ "
        "accounts of this one; the mean time between generations is from a member's join to "
        "its recruits' joins."
    )
    st.dataframe(gens, hide_index=True, width="stretch", key="rf_growth_table")


if __name__ == "__main__":
    ui.run_page(render)
