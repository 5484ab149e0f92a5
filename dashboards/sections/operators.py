"""Operators: the priority ranking, each score's components, the evidence and its sources."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tempfile
import zipfile
from pathlib import Path

import plotly.express as px
import streamlit as st

from dashboards import auth
from dashboards import components as ui
from graphintel import views
from graphintel.dossier import write_dossier


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
    ident = auth.current()
    may_export = ident is not None and ident.can_export
    if may_export:
        csv = views.shortlist_csv(ranking)
        if st.download_button(
            "Export shortlist (CSV)",
            csv,
            file_name="priority_shortlist.csv",
            mime="text/csv",
            key="op_export",
        ):
            auth.audit(
                "export",
                {
                    "what": "priority shortlist",
                    "rows": len(ranking),
                    "sha256": hashlib.sha256(csv.encode()).hexdigest(),
                    "cases": list(ident.cases),
                },
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
    if may_export:
        _dossier_button(uri, account)


def _dossier_button(uri: str, account: str) -> None:
    """Build the account's evidence dossier (as the permitted sources report it) as a zip."""
    ident = auth.current()
    if st.button("Build evidence dossier", key="op_dossier"):
        allowed = ui.scope(uri)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"dossier-{account}"
            report = write_dossier(
                ui.get_store(uri),
                account,
                out,
                scope=allowed,
                results=None
                if allowed is None
                else {
                    n: ui.result(uri, n)
                    for n in ("account_metrics", "priority_components", "priority_evidence")
                },
                generated_by=ident.name if ident else "",
                generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            )
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for f in sorted(out.iterdir()):
                    z.write(f, f"{out.name}/{f.name}")
        data = buf.getvalue()
        st.session_state["_dossier"] = (account, data)
        auth.audit(
            "dossier",
            {
                "account_id": account,
                "cases": report.cases,
                "rows": report.rows,
                "sha256": report.files,
                "zip_sha256": hashlib.sha256(data).hexdigest(),
            },
        )
    built = st.session_state.get("_dossier")
    if built and built[0] == account:
        st.download_button(
            "Download dossier (zip)",
            built[1],
            file_name=f"dossier-{account}.zip",
            mime="application/zip",
            key="op_dossier_download",
        )
        st.caption(
            "A ranking for review, not a finding of guilt. Check MANIFEST.sha256 with "
            "`graphintel dossier verify DIR` after unzipping."
        )


ui.run_page(render)
