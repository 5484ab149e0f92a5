"""Shared dashboard pieces: the dataset factory, the page boundary, the network view.

Pages are ``render(ds)`` functions over a :class:`graphintel.dataset.Dataset`: the only way from
a page to the data. A user who may not see every source gets the dataset of their case view
(:mod:`graphintel.case_view`), built on their first visit after new data. The dataset is opened once per process (``st.cache_resource``) and pinned to
the store's current generation for each run of a page, so one render never mixes old and new
data; results are cached inside the dataset per generation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import streamlit as st
import streamlit.components.v1 as st_components

from graphintel import views
from graphintel.config import load_settings
from graphintel.dataset import Dataset
from graphintel.dataset import open as open_dataset
from graphintel.errors import GraphIntelError, StoreError, StoreUnavailable
from graphintel.netviz import VIS_FILES, generate_html

__all__ = [
    "ViewAudit",
    "dataset",
    "generation",
    "max_nodes",
    "max_nodes_input",
    "need_analytics",
    "read_store",
    "run_page",
    "scope",
    "show_network",
    "store_uri",
]


def store_uri() -> str:
    """The store this dashboard serves (``GRAPHINTEL_STORE``, set by ``graphintel dashboard``)."""
    return load_settings().store_uri


@st.cache_resource(show_spinner=False)
def _dataset(uri: str) -> Dataset:
    return open_dataset(uri, load_settings().with_store(uri))


def read_store(uri: str, fn: Callable[[Any], Any]) -> Any:
    """``fn(store)`` on the store opened read-only for this call (audit head, retractions: the
    legal-control tables the dataset does not serve)."""
    from graphintel.store import open_store

    store = open_store(uri, load_settings().with_store(uri), read_only=uri.startswith("duckdb:"))
    try:
        return fn(store)
    finally:
        store.close()


@st.cache_data(max_entries=8, show_spinner=False)
def _retracted(uri: str, generation: object) -> frozenset[str]:
    return read_store(uri, lambda s: frozenset(s.retractions()["source_id"].astype(str)))


def scope(ds: Dataset) -> frozenset[str] | None:
    """The source ids the logged-in user may see (:func:`graphintel.scope.permitted_sources`):
    ``None`` = every source, an empty set = none (no one logged in, or an auditor)."""
    from dashboards import auth
    from graphintel.scope import permitted_sources

    ident = auth.current()
    if ident is None:
        return frozenset()
    retracted = _retracted(ds.uri, ds.generation())
    allowed = permitted_sources(ident.role, ident.cases, ds.sources(), retracted)
    return None if allowed is None else frozenset(str(s) for s in allowed)


# id columns of the dataset's queries, by the kind of record they name
_ID_KINDS = {
    "from_id": "account_id",
    "to_id": "account_id",
    "root": "account_id",
    "creator_id": "account_id",
    "inviter_id": "account_id",
    "channel_a": "channel_id",
    "channel_b": "channel_id",
}


class ViewAudit:
    """The dataset's audit hook for one page run.

    A search (a query with a text filter) is recorded at once with the ids it returned; every
    query's ids are also collected, by kind (``account_id``, ``channel_id``, ``org_id``,
    ``txn_id``, ``source_id``, ``content_hash``, and ``record``: ``TABLE:KEY`` of the evidence
    records shown), for the run's ``page_view`` entry
    (:func:`graphintel.audit.id_summary` each: count, sha256 of the sorted list, the first
    1,000)."""

    def __init__(self) -> None:
        self.ids: dict[str, set[str]] = {}

    def __call__(self, action: str, params: Mapping[str, Any], ids: Mapping[str, Any]) -> None:
        from dashboards import auth

        for col, values in ids.items():
            self.ids.setdefault(_ID_KINDS.get(col, col), set()).update(map(str, values))
        if params.get("q"):
            auth.audit("search", {"query": action, "q": params["q"], "ids": dict(ids)})

    def shown(self) -> dict[str, dict[str, Any]]:
        from graphintel.audit import id_summary

        return {kind: id_summary(v) for kind, v in sorted(self.ids.items())}


@st.cache_data(max_entries=8, show_spinner=False)
def _fingerprint(uri: str, generation: object) -> str:
    from graphintel.case_view import fingerprint

    return read_store(uri, fingerprint)


@st.cache_resource(max_entries=16, show_spinner=False)
def _case_reader(path: str) -> Any:
    from graphintel.store.duckdb_queries import DuckDBReader

    return DuckDBReader(path)


def _case_view(ds: Dataset, allowed: frozenset[str]) -> Dataset:
    """The case view of ``allowed`` (:mod:`graphintel.case_view`), built first when there is
    no current one (the page says so meanwhile); never the main store's data."""
    from dashboards import auth
    from graphintel.case_view import build_case_view, case_view_path

    workspace = load_settings().workspace
    build = _fingerprint(ds.uri, ds.generation())
    path = case_view_path(workspace, ds.uri, allowed, build)
    if not path.exists():
        ident = auth.current()
        cases = ", ".join(ident.cases) if ident is not None and ident.cases else "your sources"
        box = st.empty()
        box.info(
            f"Preparing the case view for {cases}: only what the sources you may see reported "
            "(first visit after new data; this takes a moment)…"
        )
        try:
            path, _ = read_store(
                ds.uri, lambda store: build_case_view(store, allowed, workspace, build=build)
            )
        except StoreUnavailable:
            raise
        except Exception as err:  # never the unscoped data, never a traceback
            raise StoreError(f"the case view for {cases} could not be prepared: {err}") from err
        finally:
            box.empty()
    return ds.case_view(str(path), allowed, reader=_case_reader(str(path))).pinned()


def dataset(uri: str | None = None) -> Dataset:
    """The dataset of the served store, pinned to its current generation for this run, seen
    through the logged-in user's case scope and audited (a fresh :class:`ViewAudit`). A user
    who may not see every source reads their case view (only what the permitted sources
    reported, analysed alone), still filtered by the scope."""
    ds = _dataset(uri or store_uri()).pinned()
    allowed = scope(ds)
    if allowed is not None:
        ds = _case_view(ds, allowed)
    return ds.scoped(allowed).with_audit(ViewAudit())


def generation() -> object | None:
    """The DuckDB store's current generation (``None`` for Neo4j or an unreadable store)."""
    uri = store_uri()
    if not uri.startswith("duckdb:"):
        return None
    try:
        return _dataset(uri).generation()
    except GraphIntelError:
        return None


_MAX_NODES = "_max_nodes"  # the cap, kept while the user is on a page without the input


def _keep_max_nodes() -> None:
    st.session_state[_MAX_NODES] = st.session_state["max_nodes"]


def max_nodes_input() -> None:
    """The sidebar's node cap for network views. Streamlit forgets a widget's value on a run
    that does not draw it, so the value is also kept under another key and survives a visit
    to a page without network views."""
    st.number_input(
        "Max nodes in network views",
        min_value=20,
        max_value=5000,
        value=int(st.session_state.get(_MAX_NODES, views.DEFAULT_MAX_NODES)),
        step=50,
        key="max_nodes",
        on_change=_keep_max_nodes,
        help="Network views keep the most relevant nodes up to this cap and say what was left out.",
    )


def max_nodes() -> int:
    """The node cap of network views (sidebar setting, default 500)."""
    if "max_nodes" in st.session_state:
        return int(st.session_state["max_nodes"])
    return int(st.session_state.get(_MAX_NODES, views.DEFAULT_MAX_NODES))


def need_analytics(ds: Dataset) -> bool:
    """True when analytics results exist; otherwise shows how to compute them and returns
    False."""
    msg = ds.analytics_missing()
    if msg:
        st.info(msg)
        return False
    return True


# vis-network, served once by this server (``graphintel dashboard`` turns on Streamlit's static
# serving of dashboards/static/): each network frame then loads the browser's cached, compiled
# copy instead of parsing ~0.7 MB of inline script and style again. Same host, so still no
# request leaves the machine.
STATIC_DIR = Path(__file__).with_name("static")
STATIC_URL = "/app/static"


def _library_url() -> str | None:
    served = st.get_option("server.enableStaticServing")
    shipped = all((STATIC_DIR / name).is_file() for name in VIS_FILES)
    return STATIC_URL if served and shipped else None  # else inline: a page that always works


@st.cache_data(max_entries=64, show_spinner=False)
def _network_html(
    nodes, edges, directed: bool, hierarchical: bool, height: int, library_url: str | None
) -> str:
    # the same view (second visit) costs no HTML generation
    return generate_html(
        nodes,
        edges,
        directed=directed,
        hierarchical=hierarchical,
        height=height,
        library_url=library_url,
    )


def show_network(
    view: views.NetworkView,
    *,
    height: int = 620,
    directed: bool = False,
    hierarchical: bool = False,
    what: str = "nodes",
) -> None:
    """Render a :class:`graphintel.views.NetworkView` (pyvis; vis-network from this server's
    static files when it serves them, else inline) and say what was left out."""
    if view.nodes.empty:
        st.info(f"No {what} match these filters.")
        return
    page = _network_html(view.nodes, view.edges, directed, hierarchical, height, _library_url())
    st_components.html(page, height=height + 20, scrolling=False)
    msg = f"Showing {view.shown:,} of {view.total:,} {what}."
    if view.note:
        msg += f" Left out: {view.note}."
    st.caption(msg)


def _audit_view(ds: Dataset, *, data: bool = True) -> None:
    """One ``page_view`` entry per run: the page, the user's scope, the widget values and the
    ids of the records the page's queries returned (``shown``, see :class:`ViewAudit`). A page
    that shows no store data (Audit, Trainer: ``data=False``) records the page, the user's
    cases and the widget values."""
    from dashboards import auth

    ident = auth.current()
    if ident is None:
        return
    page = st.session_state.get("_page_title") or "?"
    filters = {
        str(k): v
        for k, v in st.session_state.items()
        if not str(k).startswith(("_", "login_", "FormSubmitter"))
        and isinstance(v, (str, int, float, bool))
    }
    details: dict[str, Any] = {"page": page, "store": ds.uri, "cases": list(ident.cases)}
    if data:
        details["sources"] = None if ds.scope is None else sorted(ds.scope)
    details["filters"] = filters
    if data:
        details["shown"] = ds.audit.shown() if isinstance(ds.audit, ViewAudit) else {}
    auth.audit("page_view", details)


def run_page(
    render: Callable[[Dataset], None], *, needs_data: bool = True, ds: Dataset | None = None
) -> None:
    """The page boundary: open the dataset, stop with a clear message when the store is
    unreachable or empty, run ``render(ds)`` and show graphintel errors as ``st.error`` (no
    traceback)."""
    try:
        if ds is None:
            ds = dataset() if needs_data else _dataset(store_uri())
        if needs_data:
            n = ds.counts()
            if sum(n.values()) == 0:
                if not _only_tombstones(ds):
                    st.info(
                        f"The store {ds.uri} is empty. Load data with `graphintel ingest "
                        f"MANIFEST --store {ds.uri}` and `graphintel analyze --store {ds.uri}` "
                        "(or run `make demo`), then reload this page."
                    )
                _audit_view(ds)
                return
        render(ds)
        _audit_view(ds, data=needs_data)
    except StoreUnavailable as err:
        st.error(f"The store cannot be reached: {err}")
    except GraphIntelError as err:
        st.error(str(err))


@st.cache_data(max_entries=8, show_spinner=False)
def _tombstones(uri: str, generation: object) -> Any:
    def read(store: Any) -> Any:
        gone = store.retractions()
        src = store.sources()
        return src.merge(gone, on="source_id", how="inner")

    return read_store(uri, read)


def retracted_sources(ds: Dataset) -> Any:
    """The tombstones (provenance, when, by whom, why) of the retracted sources the logged-in
    user would see had they not been retracted: an admin all, a case user those of their
    cases, a trainer the synthetic ones, an auditor none."""
    from dashboards import auth
    from graphintel.scope import permitted_sources

    tomb = _tombstones(ds.uri, ds.generation())
    ident = auth.current()
    if ident is None:
        return tomb.iloc[0:0]
    allowed = permitted_sources(ident.role, ident.cases, tomb)
    tomb = tomb if allowed is None else tomb[tomb["source_id"].isin(allowed)]
    if ds.audit is not None:  # the tombstones are shown: audited like the dataset's rows
        ds.audit("retracted_sources", {}, {"source_id": tomb["source_id"].astype(str).tolist()})
    return tomb


def _only_tombstones(ds: Dataset) -> bool:
    """When every source the user may see was retracted, say so and list the tombstones
    (True); otherwise False."""
    from graphintel.retraction import mark_retracted

    gone = retracted_sources(ds)
    if not len(gone):
        return False
    st.info(
        "Nothing to show: every source you may see was retracted (everything only they "
        "reported is gone). Their tombstones say who retracted them, when and why."
    )
    st.dataframe(
        mark_retracted(ds.sources(), gone), hide_index=True, width="stretch", key="ov_sources"
    )
    return True
