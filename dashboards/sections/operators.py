"""Operators: the priority ranking, each score's components, the evidence and its sources."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import components as ui
from graphintel import economy_views, views
from graphintel.analytics.pipeline import summary_dict


def render(uri: str) -> None:
    st.title("Operators")
    st.caption(
        "A ranking to decide what to look at first, built from named components. It is not "
        "a finding of guilt: every number links to the records and sources behind it."
    )
    if not ui.need_analytics(uri):
        return
    t = ui.tables(uri)
    n = st.slider(
        "Accounts in the shortlist", min_value=5, max_value=200, value=25, step=5, key="op_n"
    )
    ranking = views.priority_ranking(
        t, ui.result(uri, "account_metrics"), ui.result(uri, "priority_components"), n=n
    )
    if ranking.empty:
        st.info("No account has a priority score above zero.")
        return
    long = views.priority_long(ranking)
    fig = px.bar(
        long,
        y="account",
        x="contribution",
        color="component",
        orientation="h",
        height=max(300, 24 * len(ranking) + 120),
    )
    fig.update_layout(
        yaxis={
            "categoryorder": "array",
            "categoryarray": list(reversed(long["account"].unique().tolist())),
        },
        legend_title_text="component",
    )
    st.plotly_chart(fig, key="op_bar")
    st.dataframe(ranking, hide_index=True, width="stretch", key="op_table")
    st.download_button(
        "Export shortlist (CSV)",
        views.shortlist_csv(ranking),
        file_name="priority_shortlist.csv",
        mime="text/csv",
        key="op_export",
    )

    st.subheader("Evidence")
    labels = {
        a: f"{int(r)}. {h if isinstance(h, str) else a} ({a})"
        for a, h, r in zip(ranking["account_id"], ranking["handle"], ranking["priority_rank"])
    }
    account = st.selectbox("Account", list(labels), format_func=labels.get, key="op_account")
    comps = ui.result(uri, "priority_components")
    mine = comps[comps["account_id"] == account][["component", "value", "weight", "contribution"]]
    st.dataframe(mine, hide_index=True, width="stretch", key="op_components")
    ev = views.operator_evidence(ui.result(uri, "priority_evidence"), account)
    st.caption(f"{len(ev)} evidence records (record table and key, with source ids).")
    st.dataframe(ev, hide_index=True, width="stretch", key="op_evidence")

    econ = summary_dict(ui.result(uri, "summary")).get("economy", {})
    am = ui.result(uri, "account_metrics").set_index("account_id")
    buys = economy_views.proceeds_records(
        t["transactions"], account, won_per_credit=econ.get("won_per_credit")
    )
    st.subheader("Proceeds")
    k = st.columns(3)
    k[0].metric("Proceeds (won)", f"{float(am.loc[account, 'proceeds_krw']):,.0f}")
    k[1].metric("Distinct payers", f"{int(am.loc[account, 'distinct_payers']):,}")
    k[2].metric("Distinct payees", f"{int(am.loc[account, 'distinct_payees']):,}")
    st.caption(
        f"Purchases this account received: the recorded amount in won, else credits × "
        f"{econ.get('won_per_credit') or 2650:,g} won."
    )
    st.dataframe(buys, hide_index=True, width="stretch", key="op_proceeds")


ui.run_page(render)
