"""Trainer: simulate an invitation-credit scheme, step through the days, compare interventions.

Synthetic data only (graphintel.simulate, fictional names); nothing is written to the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import components as ui
from graphintel import views
from graphintel.analytics.pipeline import analyze_tables


@st.cache_resource(max_entries=8, show_spinner="Simulating …")
def _run(accounts: int, operators: int, reward: float, price: float, join_p: float, days: int,
         seed: int) -> dict:
    t = views.trainer_simulate(accounts=accounts, operators=operators, reward_credits=reward,
                               price_credits=price, join_probability=join_p, days=days, seed=seed)
    res = analyze_tables(t, explain_top=10, evidence_limit=1)
    forest = views.referral_forest_frame(t, res["account_metrics"])
    return {"tables": t, "metrics": res["account_metrics"], "forest": forest,
            "timeline": views.spread_timeline(t)}


def render(uri: str) -> None:
    st.title("Trainer: how an invitation-credit scheme spreads")
    st.caption("Synthetic, fictional data from the simulator; nothing is written to the store.")
    c = st.columns(4)
    accounts = c[0].slider("Accounts", 200, 1500, 800, step=100, key="tr_accounts")
    operators = c[1].slider("Operators", 1, 10, 3, key="tr_operators")
    reward = c[2].slider("Invite reward (credits)", 0.0, 5.0, 1.0, step=0.5, key="tr_reward")
    price = c[3].slider("Price per purchase (credits)", 1.0, 20.0, 5.0, step=1.0, key="tr_price")
    c = st.columns(3)
    join_p = c[0].slider("Join probability", 0.05, 0.9, 0.4, step=0.05, key="tr_join")
    days = c[1].slider("Days", 10, 90, 40, step=5, key="tr_days")
    seed = c[2].number_input("Seed", 0, 10_000, 7, key="tr_seed")
    run = _run(accounts, operators, reward, price, join_p, days, int(seed))
    t, forest, timeline = run["tables"], run["forest"], run["timeline"]
    if timeline.empty:
        st.info("Nobody joined in this run: raise the join probability or the days.")
        return

    day_list = timeline["day"].dt.date.tolist()
    day = st.select_slider("Day", options=day_list, value=day_list[min(9, len(day_list) - 1)],
                           key="tr_day")
    now = timeline[timeline["day"].dt.date == day].iloc[0]
    m = st.columns(3)
    m[0].metric("Members so far", f"{int(now['members']):,}")
    m[1].metric("Referral credits paid", f"{now['referral_credits']:,.0f}")
    m[2].metric("Credits spent on purchases", f"{now['purchase_credits']:,.0f}")
    left, right = st.columns([3, 2])
    with left:
        view = views.spread_network(t, forest, pd.Timestamp(day), max_nodes=ui.max_nodes())
        st.caption(f"Who recruited whom by {day}: colour = referral generation "
                   f"(0 = operator), {view.extra['generations']} generations so far.")
        ui.show_network(view, directed=True, what="members", height=460)
    with right:
        long = timeline.melt(id_vars="day", var_name="series", value_name="cumulative")
        fig = px.line(long, x="day", y="cumulative", color="series", height=460)
        fig.add_vline(x=pd.Timestamp(day), line_dash="dot")
        st.plotly_chart(fig, key="tr_curves")

    st.subheader("Intervention: remove one account at day X")
    x = st.select_slider("Day X", options=day_list, value=day_list[len(day_list) // 3],
                         key="tr_x")
    metrics = run["metrics"]
    top = metrics.sort_values(["priority_rank", "account_id"]).iloc[0]["account_id"]
    joined = t["memberships"].dropna(subset=["joined_at"])
    early = joined.loc[joined["joined_at"] < (pd.Timestamp(x) + pd.Timedelta(days=1)).isoformat(),
                       "account_id"].unique()
    staff = set(t["memberships"].loc[t["memberships"]["role"].isin(["owner", "admin"]),
                                     "account_id"]) | set(
        t["accounts"].loc[t["accounts"]["is_bot"], "account_id"])
    pool = np.array(sorted(set(early) - staff), dtype=object)
    rng = np.random.default_rng(int(seed))
    rand = pool[rng.integers(len(pool))] if len(pool) else top
    a = views.intervention_compare(t, forest, top, pd.Timestamp(x))
    b = views.intervention_compare(t, forest, rand, pd.Timestamp(x))
    cols = st.columns(2)
    for col, frame, who in ((cols[0], a, f"top-priority operator {top}"),
                            (cols[1], b, f"random member {rand}")):
        with col:
            st.markdown(f"**Remove the {views.md_text(who)}**")
            last, base = frame.iloc[-1], timeline.iloc[-1]
            k = st.columns(2)
            k[0].metric("Members at the end", f"{int(last['members']):,}",
                        delta=f"{int(last['members'] - base['members']):,}")
            k[1].metric("Referral credits", f"{last['referral_credits']:,.0f}",
                        delta=f"{last['referral_credits'] - base['referral_credits']:,.0f}")
            comp = pd.concat([timeline.assign(run="no intervention"),
                              frame.drop(columns="removed").assign(run="intervention")])
            fig = px.line(comp, x="day", y="members", color="run", height=300)
            fig.add_vline(x=pd.Timestamp(x), line_dash="dot")
            st.plotly_chart(fig, key=f"tr_cmp_{'top' if frame is a else 'rand'}")
            st.caption(f"{int(last['removed']):,} accounts never join in this scenario.")
    st.caption("Counterfactual pruning of the recorded run: the removed account's rooms close, "
               "and the recruits it (or its rooms) would have brought in after day X — with "
               "their recruits — never join. Not a re-run of the model: an upper bound.")


ui.run_page(render, needs_data=False)
