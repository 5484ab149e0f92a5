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

from graphintel import views
from graphintel.config import load_settings
from graphintel.errors import GraphIntelError, StoreUnavailable
from graphintel.netviz import generate_html
from graphintel.store import open_store
from graphintel.store.base import GraphStore

__all__ = [
    "counts",
    "forest",
    "get_store",
    "max_nodes",
    "need_analytics",
    "result",
    "rooms",
    "run_page",
    "scope",
    "show_network",
    "sources",
    "store_uri",
    "tables",
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


Scope = tuple[str, ...] | None  # permitted source ids (sorted); None: every source


@st.cache_resource(ttl=TTL, show_spinner=False)
def _all_sources(uri: str) -> pd.DataFrame:
    return _call(uri, lambda s: s.sources())


@st.cache_resource(ttl=TTL, show_spinner=False)
def _retracted(uri: str) -> frozenset[str]:
    return _call(uri, lambda s: frozenset(s.retractions()["source_id"].astype(str)))


def scope(uri: str) -> Scope:
    """The sources the logged-in user may see (:func:`graphintel.scope.permitted_sources`)."""
    from dashboards import auth
    from graphintel.scope import permitted_sources

    ident = auth.current()
    if ident is None:
        return ()
    allowed = permitted_sources(ident.role, ident.cases, _all_sources(uri), _retracted(uri))
    return None if allowed is None else tuple(sorted(allowed))


@st.cache_resource(ttl=TTL, show_spinner="Loading tables …")
def _tables(uri: str, allowed: Scope) -> dict[str, pd.DataFrame]:
    if allowed is None:
        return _call(uri, views.load_tables)
    from graphintel.analytics.graph import prepare_tables
    from graphintel.scope import scoped_tables

    return prepare_tables(_call(uri, lambda s: scoped_tables(s, allowed)))


def tables(uri: str) -> dict[str, pd.DataFrame]:
    """All canonical tables as the user may see them (shared between sessions: read-only)."""
    return _tables(uri, scope(uri))


@st.cache_resource(ttl=TTL, show_spinner="Computing analytics for your cases …")
def _scoped_results(uri: str, allowed: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    from graphintel.analytics.pipeline import analyze_tables
    from graphintel.scope import scoped_tables

    raw = _call(uri, lambda s: scoped_tables(s, allowed))
    if sum(len(f) for f in raw.values()) == 0:
        return {}
    return analyze_tables(raw, seed=0)


@st.cache_resource(ttl=TTL, show_spinner=False)
def _result(uri: str, name: str) -> pd.DataFrame:
    return _call(uri, lambda s: s.results(name))


def result(uri: str, name: str) -> pd.DataFrame:
    """An analytics result table (empty before ``graphintel analyze``); for a scoped user the
    analytics of their sources only, computed the way ``analyze`` does (seed 0)."""
    return _result_in(uri, name, scope(uri))


def _result_in(uri: str, name: str, allowed: Scope) -> pd.DataFrame:
    if allowed is None:
        return _result(uri, name)
    if _result(uri, "account_metrics").empty:
        return _result(uri, name)  # not analysed yet: the page says how to
    got = _scoped_results(uri, allowed).get(name)
    if got is None:
        from graphintel.store.base import result_columns

        return pd.DataFrame({c: pd.Series(dtype=object) for c in result_columns(name)})
    return got


@st.cache_resource(ttl=TTL, show_spinner=False)
def _counts(uri: str, allowed: Scope) -> dict[str, int]:
    if allowed is None:
        return _call(uri, lambda s: s.counts())
    t = _tables(uri, allowed)
    out = {k: len(v) for k, v in t.items()}
    out["content"] = int(t["content"]["content_hash"].nunique()) if len(t["content"]) else 0
    out["sources"] = len(allowed)
    return out


def counts(uri: str) -> dict[str, int]:
    return _counts(uri, scope(uri))


@st.cache_resource(ttl=TTL, show_spinner=False)
def _sources(uri: str, allowed: Scope) -> pd.DataFrame:
    frame = _call(uri, views.sources_table)
    if allowed is not None:
        frame = frame[frame["source_id"].astype(str).isin(allowed)].reset_index(drop=True)
    return frame


def sources(uri: str) -> pd.DataFrame:
    return _sources(uri, scope(uri))


@st.cache_resource(ttl=TTL, show_spinner=False)
def _rooms(uri: str, allowed: Scope) -> pd.DataFrame:
    return views.room_table(_tables(uri, allowed), _result_in(uri, "channel_metrics", allowed))


def rooms(uri: str) -> pd.DataFrame:
    """:func:`graphintel.views.room_table` for the store."""
    return _rooms(uri, scope(uri))


@st.cache_resource(ttl=TTL, show_spinner=False)
def _forest(uri: str, allowed: Scope) -> pd.DataFrame:
    return views.referral_forest_frame(
        _tables(uri, allowed), _result_in(uri, "account_metrics", allowed)
    )


def forest(uri: str) -> pd.DataFrame:
    """:func:`graphintel.views.referral_forest_frame` for the store."""
    return _forest(uri, scope(uri))


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


def _audit_view(uri: str) -> None:
    """One ``page_view`` entry per run: the page, the user's scope and the widget values."""
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
    allowed = scope(uri)
    auth.audit(
        "page_view",
        {
            "page": page,
            "store": uri,
            "cases": list(ident.cases),
            "sources": None if allowed is None else list(allowed),
            "filters": filters,
        },
    )


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
        _audit_view(uri)
    except StoreUnavailable as err:
        st.error(f"The store cannot be reached: {err}")
    except GraphIntelError as err:
        st.error(str(err))
