"""Operators: the priority ranking, each score's components, the evidence and its sources."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from dashboards import auth, charts
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
    chart = charts.bar(
        long,
        "account",
        "contribution",
        color="component",
        horizontal=True,
        order=long["account"].unique().tolist(),
        height=max(300, 24 * len(ranking) + 60),
    )
    charts.show(chart, "op_bar")
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
    st.dataframe(
        ds.operator_components(account), hide_index=True, width="stretch", key="op_components"
    )
    ev = ds.operator_evidence(account)
    st.caption(f"{len(ev)} evidence records (record table and key, with source ids).")
    st.dataframe(ev, hide_index=True, width="stretch", key="op_evidence")
    if may_export:
        _dossier_button(ds, account)

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


def _dossier_button(ds: Dataset, account: str) -> None:
    """Build the account's evidence dossier (as the permitted sources report it) as a zip."""
    ident = auth.current()
    if st.button("Build evidence dossier", key="op_dossier"):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"dossier-{account}"
            # from the dataset's own store: a scoped user's case view (its records, analytics)
            report = ds.dossier(
                account,
                out,
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


if __name__ == "__main__":
    ui.run_page(render)
