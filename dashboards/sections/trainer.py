"""Trainer: simulate an invitation-credit scheme, step through the days, compare interventions.

Synthetic data only (graphintel.simulate, fictional names); nothing is written to the store.
The run for the page's default options and its default interventions are saved by
``graphintel analyze`` (:mod:`graphintel.trainer_runs`) and read back here; other options are a
what-if run the user asks for with the Simulate button (simulated once, then saved too).
Interventions are real re-runs of the simulator with the same seed and one account removed
(``remove_account`` / ``remove_day``), side by side with the run without removal.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts
from dashboards import components as ui
from graphintel import trainer_runs, views
from graphintel.dataset import Dataset


def _cache_dir() -> str:
    from graphintel.config import load_settings

    return str(load_settings().cache_dir)


@st.cache_data(max_entries=8, show_spinner="Simulating and analysing the run …")
def _run(params: tuple, cache_dir: str) -> dict:
    # the default run is read back from what `graphintel analyze` saved; other options are
    # simulated once (after the Simulate button) and saved the same way
    return trainer_runs.baseline(dict(params), cache_dir=cache_dir)


@st.cache_data(max_entries=32, show_spinner="Simulating the intervention …")
def _scenario(params: tuple, remove_account: str, remove_day: int, cache_dir: str) -> dict:
    return trainer_runs.scenario(dict(params), remove_account, remove_day, cache_dir=cache_dir)


def _options() -> dict:
    """The run's options: the page's defaults until the form is submitted (a what-if run is
    asked for explicitly, never on every slider move)."""
    d = trainer_runs.DEFAULTS
    with st.form("tr_options"):
        c = st.columns(4)
        accounts = c[0].slider("Accounts", 200, 1500, d["accounts"], step=100, key="tr_accounts")
        operators = c[1].slider("Operators", 1, 10, d["operators"], key="tr_operators")
        reward = c[2].slider(
            "Invite reward (credits)", 0.0, 5.0, d["reward_credits"], step=0.5, key="tr_reward"
        )
        price = c[3].slider(
            "Price per purchase (credits)", 1.0, 20.0, d["price_credits"], step=1.0, key="tr_price"
        )
        c = st.columns(3)
        join_p = c[0].slider(
            "Join probability", 0.05, 0.9, d["join_probability"], step=0.05, key="tr_join"
        )
        days = c[1].slider("Days", 10, 90, d["days"], step=5, key="tr_days")
        seed = c[2].number_input("Seed", 0, 10_000, d["seed"], key="tr_seed")
        st.form_submit_button("Simulate")
    return {
        "accounts": int(accounts),
        "operators": int(operators),
        "reward_credits": float(reward),
        "price_credits": float(price),
        "join_probability": float(join_p),
        "days": int(days),
        "seed": int(seed),
    }


def render(ds: Dataset) -> None:
    st.title("Trainer: how an invitation-credit scheme spreads")
    st.caption("Synthetic, fictional data from the simulator; nothing is written to the store.")
    params = _options()
    key = tuple(sorted(params.items()))
    run = _run(key, _cache_dir())
    t, forest, timeline = run["tables"], run["metrics"], run["timeline"]
    st.caption(
        "Run read back from the saved runs (`graphintel analyze` saves the default one)."
        if run["saved"]
        else "Run simulated and analysed by this dashboard (a what-if run, or no saved one), "
        "and saved for the next visit."
    )
    days = params["days"]
    if timeline.empty:
        st.info("Nobody joined in this run: raise the join probability or the days.")
        return

    day_list = timeline["day"].dt.date.tolist()
    day = st.select_slider(
        "Day", options=day_list, value=day_list[min(9, len(day_list) - 1)], key="tr_day"
    )
    now = timeline[timeline["day"].dt.date == day].iloc[0]
    m = st.columns(3)
    m[0].metric("Members so far", f"{int(now['members']):,}")
    m[1].metric("Referral credits paid", f"{now['referral_credits']:,.0f}")
    m[2].metric("Credits spent on purchases", f"{now['purchase_credits']:,.0f}")
    left, right = st.columns([3, 2])
    with left:
        view = views.spread_network(t, forest, pd.Timestamp(day), max_nodes=ui.max_nodes())
        st.caption(
            f"Who recruited whom by {day}: colour = referral generation "
            f"(0 = operator), {view.extra['generations']} generations so far."
        )
        ui.show_network(view, directed=True, what="members", height=460)
    with right:
        long = timeline.melt(id_vars="day", var_name="series", value_name="cumulative")
        chart = charts.line(
            long, "day", "cumulative", color="series", height=460, rule_x=pd.Timestamp(day)
        )
        charts.show(chart, "tr_curves")

    st.subheader("Intervention: remove one account at day X")
    run_days = views.trainer_days(days)
    x_options = run_days.date.tolist()
    x = st.select_slider(
        "Day X", options=x_options, value=x_options[trainer_runs.default_day_x(days)], key="tr_x"
    )
    x_day = x_options.index(x)
    removed = trainer_runs.interventions(run, params, x_day)
    top, rand = removed.get("top"), removed.get("random")
    timelines = {"no intervention": timeline}
    cascade_runs = {"no intervention": run["cascades"]}
    labels = {}
    if top is not None:
        name = f"remove top-priority {top}"
        res = _scenario(key, top, x_day, _cache_dir())
        timelines[name], cascade_runs[name] = res["timeline"], res["cascades"]
        owners = set(t["memberships"].loc[t["memberships"]["role"] == "owner", "account_id"])
        labels[name] = f"top-priority {'operator' if top in owners else 'account'} {top}"
    if rand is not None:
        name = f"remove random member {rand}"
        res = _scenario(key, rand, x_day, _cache_dir())
        timelines[name], cascade_runs[name] = res["timeline"], res["cascades"]
        labels[name] = f"random member {rand}"
    else:
        st.info(
            f"No plain member had joined before {x}: choose a later day X to compare "
            "with a random member."
        )
    comp = views.intervention_compare(timelines, run_days)
    summary = views.intervention_summary(comp).set_index("scenario")
    base = summary.iloc[0]

    cols = st.columns(len(timelines))
    with cols[0]:
        st.markdown("**No intervention**")
        k = st.columns(2)
        k[0].metric("Members", f"{int(base['members']):,}")
        k[1].metric("Referral credits", f"{base['referral_credits']:,.0f}")
    for col, name in zip(cols[1:], list(timelines)[1:]):
        row = summary.loc[name]
        with col:
            st.markdown(f"**Remove the {views.md_text(labels[name])} at {x}**")
            k = st.columns(2)
            k[0].metric(
                "Members at the end",
                f"{int(row['members']):,}",
                delta=f"{int(row['members_diff']):,} ({row['members_diff_pct']:+.0f} %)",
            )
            k[1].metric(
                "Referral credits",
                f"{row['referral_credits']:,.0f}",
                delta=f"{row['referral_credits'] - base['referral_credits']:,.0f}",
            )

    left, right = st.columns(2)
    with left:
        chart = charts.line(
            comp,
            "day",
            "members",
            color="scenario",
            height=420,
            title="Members so far (cumulative)",
            rule_x=pd.Timestamp(x),
        )
        charts.show(chart, "tr_cmp_members")
    with right:
        credits = comp.melt(
            id_vars=["day", "scenario"],
            value_vars=["referral_credits", "purchase_credits"],
            var_name="credits",
            value_name="cumulative",
        )
        chart = charts.line(
            credits,
            "day",
            "cumulative",
            color="scenario",
            dash="credits",
            height=420,
            title="Credits paid (cumulative)",
            rule_x=pd.Timestamp(x),
        )
        charts.show(chart, "tr_cmp_credits")
    st.dataframe(summary.reset_index(), hide_index=True, key="tr_cmp_table")
    _cascade_compare(cascade_runs, pd.Timestamp(x))
    st.caption(
        f"Three runs of the simulator with the same seed and options: identical up to the "
        f"start of {x}; then the removed account stops inviting, buying and being paid, "
        "and an operator's rooms are taken down (nobody joins them any more). After day X "
        "the runs draw their random numbers differently, so part of any difference is "
        "chance: the random member's run shows how large chance is. The account ranked "
        "first by the priority analytics on the run without intervention is the "
        "'top-priority' one; the random member is drawn from plain members who joined "
        "before day X."
    )


def _cascade_compare(runs: dict, x: pd.Timestamp) -> None:
    """The referral cascades of each run: accounts in cascades over time and R by generation."""
    st.subheader("Cascades: baseline and intervention")
    gens = pd.concat([g.assign(scenario=n) for n, (g, _) in runs.items()], ignore_index=True)
    grow = pd.concat([g.assign(scenario=n) for n, (_, g) in runs.items()], ignore_index=True)
    left, right = st.columns(2)
    chart = charts.line(
        grow,
        "day",
        "size",
        color="scenario",
        step=True,
        height=380,
        title="Accounts in referral cascades",
        rule_x=x,
    )
    charts.show(chart, "tr_casc_size", left)
    chart = charts.line(
        gens,
        "generation",
        "reproduction",
        color="scenario",
        x_type="Q",
        points=True,
        rule_y=1,
        height=380,
        title="Recruits per member by generation (R)",
    )
    charts.show(chart, "tr_casc_r", right)
    st.dataframe(gens, hide_index=True, width="stretch", key="tr_casc_table")
    st.caption(
        "Generation 0 = the operators who start the cascades. R = accounts of the next "
        "generation ÷ accounts of this one (below 1 a cascade dies out); gap = mean hours from "
        "a member's join to its recruits' joins."
    )


if __name__ == "__main__":
    ui.run_page(render, needs_data=False)
