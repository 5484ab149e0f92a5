"""Shared dashboard pieces: the store factory, cached loaders, the page boundary, the network view.

Everything that shapes data lives in :mod:`graphintel.views`; this module only wires it to
Streamlit (caching, errors, rendering).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st
import streamlit.components.v1 as st_components

from graphintel import views, watch
from graphintel.config import load_settings
from graphintel.errors import GraphIntelError, StoreUnavailable
from graphintel.netviz import generate_html
from graphintel.store import open_store
from graphintel.store.base import GraphStore
from graphintel.takedowns import takedown_tables

__all__ = [
    "alerts",
    "counts",
    "forest",
    "get_store",
    "max_nodes",
    "need_analytics",
    "result",
    "rooms",
    "run_page",
    "show_network",
    "sources",
    "store_uri",
    "tables",
    "takedowns",
]

TTL = 600  # seconds cached frames live; a re-analysed store shows up after at most this


def store_uri() -> str:
    """The store this dashboard serves (``GRAPHINTEL_STORE``, set by ``graphintel dashboard``)."""
    return load_settings().store_uri


@st.cache_resource(show_spinner=False)
def _lock() -> threading.Lock:
    # One connection is shared by every session (threads): serialise access to it.
    return threading.Lock()


@st.cache_resource(show_spinner=False)
def get_store(uri: str) -> GraphStore:
    """Open the store once per process (read-only for DuckDB so the CLI can still read it)."""
    settings = load_settings().with_store(uri)
    try:
        return open_store(uri, settings, read_only=uri.startswith("duckdb:"))
    except ImportError as err:
        raise StoreUnavailable(
            f"this installation cannot open {uri!r} ({err}); use a duckdb:PATH store or install "
            "graphintel with Neo4j support"
        ) from err


def _call(uri: str, fn: Callable[[GraphStore], Any]) -> Any:
    with _lock():
        return fn(get_store(uri))


@st.cache_resource(ttl=TTL, show_spinner="Loading tables …")
def tables(uri: str) -> dict[str, pd.DataFrame]:
    """All canonical tables, prepared (shared between sessions: treat as read-only)."""
    return _call(uri, views.load_tables)


@st.cache_resource(ttl=TTL, show_spinner=False)
def result(uri: str, name: str) -> pd.DataFrame:
    """An analytics result table (empty before ``graphintel analyze``)."""
    return _call(uri, lambda s: s.results(name))


@st.cache_resource(ttl=TTL, show_spinner=False)
def counts(uri: str) -> dict[str, int]:
    return _call(uri, lambda s: s.counts())


@st.cache_resource(ttl=TTL, show_spinner=False)
def sources(uri: str) -> pd.DataFrame:
    return _call(uri, views.sources_table)


@st.cache_resource(ttl=TTL, show_spinner=False)
def rooms(uri: str) -> pd.DataFrame:
    """:func:`graphintel.views.room_table` for the store."""
    return views.room_table(tables(uri), result(uri, "channel_metrics"))


@st.cache_resource(ttl=TTL, show_spinner=False)
def forest(uri: str) -> pd.DataFrame:
    """:func:`graphintel.views.referral_forest_frame` for the store."""
    return views.referral_forest_frame(tables(uri), result(uri, "account_metrics"))


@st.cache_resource(ttl=TTL, show_spinner=False)
def alerts(uri: str) -> pd.DataFrame:
    """:func:`graphintel.watch.alerts_view` of the store's alerts."""
    t = tables(uri)
    raw = _call(uri, lambda s: s.case_table("alerts"))
    return watch.alerts_view(raw, t["channels"], t["accounts"])


@st.cache_resource(ttl=TTL, show_spinner=False)
def takedowns(uri: str) -> dict[str, pd.DataFrame]:
    """:func:`graphintel.takedowns.takedown_tables` of the store."""
    return _call(uri, takedown_tables)


def max_nodes() -> int:
    """The node cap of network views (sidebar setting, default 500)."""
    return int(st.session_state.get("max_nodes", views.DEFAULT_MAX_NODES))


def need_analytics(uri: str) -> bool:
    """True when analytics results exist; otherwise shows how to compute them and returns
    False."""
    if result(uri, "account_metrics").empty:
        st.info(
            f"No analytics in this store yet. Run `graphintel analyze --store {uri}` "
            "(or `make demo`), then reload this page."
        )
        return False
    return True


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
    page = generate_html(
        view.nodes, view.edges, directed=directed, hierarchical=hierarchical, height=height
    )
    st_components.html(page, height=height + 20, scrolling=False)
    msg = f"Showing {view.shown:,} of {view.total:,} {what}."
    if view.note:
        msg += f" Left out: {view.note}."
    st.caption(msg)


def run_page(render: Callable[[str], None], *, needs_data: bool = True) -> None:
    """The page boundary: resolve the store, stop with a clear message when it is unreachable
    or empty, run ``render(uri)`` and show graphintel errors as ``st.error`` (no traceback)."""
    uri = store_uri()
    try:
        if needs_data:
            n = counts(uri)
            if sum(n.values()) == 0:
                st.info(
                    f"The store {uri} is empty. Load data with `graphintel ingest MANIFEST "
                    f"--store {uri}` and `graphintel analyze --store {uri}` (or run "
                    "`make demo`), then reload this page."
                )
                return
        render(uri)
    except StoreUnavailable as err:
        st.error(f"The store cannot be reached: {err}")
    except GraphIntelError as err:
        st.error(str(err))
