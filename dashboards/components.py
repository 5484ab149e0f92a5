"""Shared dashboard pieces: the dataset factory, the page boundary, the network view.

Pages are ``render(ds)`` functions over a :class:`graphintel.dataset.Dataset`: the only way from
a page to the data. The dataset is opened once per process (``st.cache_resource``) and pinned to
the store's current generation for each run of a page, so one render never mixes old and new
data; results are cached inside the dataset per generation.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
import streamlit.components.v1 as st_components

from graphintel import views
from graphintel.config import load_settings
from graphintel.dataset import Dataset
from graphintel.dataset import open as open_dataset
from graphintel.errors import GraphIntelError, StoreUnavailable
from graphintel.netviz import generate_html

__all__ = [
    "dataset",
    "generation",
    "max_nodes",
    "need_analytics",
    "run_page",
    "show_network",
    "store_uri",
]


def store_uri() -> str:
    """The store this dashboard serves (``GRAPHINTEL_STORE``, set by ``graphintel dashboard``)."""
    return load_settings().store_uri


@st.cache_resource(show_spinner=False)
def _dataset(uri: str) -> Dataset:
    return open_dataset(uri, load_settings().with_store(uri))


def dataset(uri: str | None = None) -> Dataset:
    """The dataset of the served store, pinned to its current generation for this run."""
    return _dataset(uri or store_uri()).pinned()


def generation() -> object | None:
    """The DuckDB store's current generation (``None`` for Neo4j or an unreadable store)."""
    uri = store_uri()
    if not uri.startswith("duckdb:"):
        return None
    try:
        return _dataset(uri).generation()
    except GraphIntelError:
        return None


def max_nodes() -> int:
    """The node cap of network views (sidebar setting, default 500)."""
    return int(st.session_state.get("max_nodes", views.DEFAULT_MAX_NODES))


def need_analytics(ds: Dataset) -> bool:
    """True when analytics results exist; otherwise shows how to compute them and returns
    False."""
    msg = ds.analytics_missing()
    if msg:
        st.info(msg)
        return False
    return True


@st.cache_data(max_entries=64, show_spinner=False)
def _network_html(nodes, edges, directed: bool, hierarchical: bool, height: int) -> str:
    # the same view (second visit) costs no HTML generation: vis-network inline is ~1 MB
    return generate_html(nodes, edges, directed=directed, hierarchical=hierarchical, height=height)


def show_network(
    view: views.NetworkView,
    *,
    height: int = 620,
    directed: bool = False,
    hierarchical: bool = False,
    what: str = "nodes",
) -> None:
    """Render a :class:`graphintel.views.NetworkView` (pyvis, inline resources) and say what was
    left out."""
    if view.nodes.empty:
        st.info(f"No {what} match these filters.")
        return
    page = _network_html(view.nodes, view.edges, directed, hierarchical, height)
    st_components.html(page, height=height + 20, scrolling=False)
    msg = f"Showing {view.shown:,} of {view.total:,} {what}."
    if view.note:
        msg += f" Left out: {view.note}."
    st.caption(msg)


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
                st.info(
                    f"The store {ds.uri} is empty. Load data with `graphintel ingest MANIFEST "
                    f"--store {ds.uri}` and `graphintel analyze --store {ds.uri}` (or run "
                    "`make demo`), then reload this page."
                )
                return
        render(ds)
    except StoreUnavailable as err:
        st.error(f"The store cannot be reached: {err}")
    except GraphIntelError as err:
        st.error(str(err))
