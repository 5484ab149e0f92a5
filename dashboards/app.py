"""graphintel dashboard: `graphintel dashboard [--store URI] [--port 8501]` serves this app.

Routing only: each page in ``sections/`` (not ``pages/``: Streamlit would also serve a
``pages/`` folder as old-style pages, and a deep link such as /referrals would then bypass this
router) is a ``render(ds)`` function over a :class:`graphintel.dataset.Dataset`, the one query
layer between pages and the store.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import streamlit as st

from dashboards import auth
from dashboards import components as ui

# The page icon is a file shipped with the app: a material/emoji icon would be fetched from a
# font or emoji service by the browser, and no request may leave the machine.
ICON = str(Path(__file__).with_name("icon.png"))
_STARTED = time.perf_counter()
st.set_page_config(page_title="graphintel", page_icon=ICON, layout="wide")

identity = auth.gate()  # the login form (and a stop) unless this session is logged in
AUDIT_PAGE = st.Page("sections/audit.py", title="Audit", icon=":material/policy:")

PAGES = [
    st.Page("sections/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("sections/channels.py", title="Channel network", icon=":material/hub:"),
    st.Page("sections/referrals.py", title="Referral chains", icon=":material/account_tree:"),
    st.Page("sections/operators.py", title="Operators", icon=":material/format_list_numbered:"),
    st.Page("sections/flows.py", title="Credit flows", icon=":material/payments:"),
    st.Page("sections/economy.py", title="Economy", icon=":material/savings:"),
    st.Page("sections/targets.py", title="Targets map", icon=":material/map:"),
    st.Page("sections/alerts.py", title="Alerts", icon=":material/notifications:"),
    st.Page("sections/takedowns.py", title="Takedowns", icon=":material/block:"),
    st.Page("sections/trainer.py", title="Trainer", icon=":material/school:"),
]

if identity.role == "auditor":
    PAGES = [AUDIT_PAGE]  # the audit trail, no case data
elif identity.role == "admin":
    PAGES = [*PAGES, AUDIT_PAGE]


@st.fragment(run_every=30)
def _watch_store() -> None:
    """Rerun the page when a writer has published a new generation of the DuckDB store, so an
    open page shows new data within 30 s without a click."""
    gen = ui.generation()
    if gen is None:
        return
    seen = st.session_state.setdefault("_store_generation", gen)
    if gen != seen:
        st.session_state["_store_generation"] = gen
        st.rerun()


# Pages with a network view: the node cap is offered there only (a page without one loads no
# number-input code in the browser).
NETWORK_PAGES = {"Channel network", "Referral chains", "Credit flows", "Trainer"}

nav = st.navigation(PAGES)
st.session_state["_page_title"] = nav.title
with st.sidebar:
    auth.logout_button()
    st.caption(f"Store: `{ui.store_uri()}`")
    if nav.title in NETWORK_PAGES:
        ui.max_nodes_input()
    st.caption(
        "Ranks and explains; it never labels anyone guilty. Check every record at its source."
    )
    _watch_store()
try:
    nav.run()
finally:
    if os.environ.get("GRAPHINTEL_DASH_TIMINGS"):
        # one line per page run (also one stopped by a rerun), for benchmarks/dashboard.py
        print(
            f"graphintel-page-run\t{nav.title}\t{time.perf_counter() - _STARTED:.3f}",
            file=sys.stderr,
            flush=True,
        )
