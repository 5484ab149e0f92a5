"""Operators: the priority ranking, each score's components, the evidence and its sources."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboards import components as ui
from graphintel import economy_views, views
from graphintel.dataset import Dataset


def render(ds: Dataset) -> None:
    st.title("Operators")
    st.caption(
        "A ranking to decide what to look at first, built from named components. It is not "
        "a finding of guilt: every number links to the records and sources behind it."
    )
    if not ui.need_analytics(ds):
        return
    n = st.slider(
        "Accounts in the shortlist", min_value=5, max_value=200, value=25, step=5, key="op_n"
    )
    ranking = ds.operators(top=n)
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
    st.dataframe(
        ds.operator_components(account), hide_index=True, width="stretch", key="op_components"
    )
    ev = ds.operator_evidence(account)
    st.caption(f"{len(ev)} evidence records (record table and key, with source ids).")
    st.dataframe(ev, hide_index=True, width="stretch", key="op_evidence")

    won = (ds.summary().get("economy") or {}).get("won_per_credit")
    econ = ds.account_economy(account)
    buys = economy_views.proceeds_records(
        ds.purchases_received(account), account, won_per_credit=won
    )
    st.subheader("Proceeds")
    k = st.columns(3)
    k[0].metric("Proceeds (won)", f"{econ['proceeds_krw']:,.0f}")
    k[1].metric("Distinct payers", f"{econ['distinct_payers']:,}")
    k[2].metric("Distinct payees", f"{econ['distinct_payees']:,}")
    st.caption(
        "Purchases this account received: the recorded amount in won, else credits × "
        f"{won or 2650:,g} won."
    )
    st.dataframe(buys, hide_index=True, width="stretch", key="op_proceeds")


if __name__ == "__main__":
    ui.run_page(render)
