"""One query layer over a store: what every dashboard page shows, and the Python API.

>>> import graphintel as gi
>>> ds = gi.open(tiny_uri)          # doctest namespace: a DuckDB store of sample_data/tiny
>>> ds.counts()["accounts"]
13

A :class:`Dataset` asks the store for exactly what a page shows: counts, one page of rooms, a
room's neighbourhood, a referral tree down to a cap, the top operators, a payment trace of k hops.
The work is done in the store (SQL in DuckDB, :mod:`graphintel.store.duckdb_queries`; Cypher in
Neo4j, :mod:`graphintel.store.cypher`), with every value a parameter; what comes back is small and
only shaped here (labels, node sizes, notes on what was left out).

Case scoping and auditing
-------------------------
Every query passes through one method, :meth:`Dataset._query`. It adds the ``scope`` (the set of
source ids whose records may be shown; ``None`` = everything) as the ``$scope`` parameter that
every query filters on ("the record's ``source_ids`` overlap the scope"), and it calls the
``audit`` hook, if any, with the query name, its parameters and the ids it returned. Pages get a
``Dataset`` and nothing else, so there is no other way from a page to the data.

The ``$scope`` filter is record-level (a record two cases reported is returned whole, and result
tables without source ids are not filtered), so a user who may not see every source is given
the dataset of a *case view* (:meth:`Dataset.case_view`, :mod:`graphintel.case_view`): a store
holding only what the permitted sources reported, analysed alone; the filter still applies.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, Self

import numpy as np
import pandas as pd

from graphintel import views
from graphintel.errors import AnalyticsError, StoreUnavailable
from graphintel.views import NetworkView

__all__ = ["AuditHook", "Dataset", "open"]

AuditHook = Callable[[str, Mapping[str, Any], Mapping[str, list[str]]], None]
"""``audit(action, params, ids)``: ``ids`` maps an id column (``account_id``, ``channel_id``,
``org_id``, ``txn_id``, ``source_id``, …) to the values the query returned; evidence rows add
``record`` (``TABLE:KEY`` of each record named)."""

_ID_COLUMNS = (
    "account_id",
    "channel_id",
    "org_id",
    "txn_id",
    "source_id",
    "root",
    "from_id",
    "to_id",
    "channel_a",
    "channel_b",
    "creator_id",
    "inviter_id",
    "content_hash",
)
_TS = "%Y-%m-%dT%H:%M:%S"
MORE_PREFIX = "\x00more:"
"""Node ids of the "N more" summary nodes of a referral tree start with this."""


class _Neo4jReader:
    """Runs the named dataset queries of :mod:`graphintel.store.cypher` on a Neo4j store.

    Answers are cached per store generation (:func:`graphintel.store.cypher.store_generation`:
    result generations, sources, node and relationship counts), re-read at most every
    ``check`` seconds, so a page revisited shows the cached answer until an analysis, ingest
    or retraction changes the store. ``ttl`` bounds how long an answer is kept even so (a
    change the fingerprint does not see, e.g. node properties of an analysis still writing)."""

    def __init__(self, store: Any, *, ttl: float = 300.0, check: float = 1.0):
        from graphintel.store.duckdb_queries import _LRU

        self.store = store
        self.uri = store.uri
        self.ttl = ttl
        self.check = check
        self._cache = _LRU()
        self._fingerprint: Any = None
        self._checked = -math.inf

    def generation(self) -> Any:
        from graphintel.store import cypher
        from graphintel.store.duckdb_queries import _freeze

        now = time.monotonic()
        if now - self._checked >= self.check or self._fingerprint is None:
            _, rows = self.store._read(cypher.store_generation())
            self._fingerprint = _freeze(rows)
            self._checked = now
        return (self._fingerprint, int(time.time() // self.ttl))

    def snapshot(self) -> _Neo4jReader:
        return self

    def run(self, name: str, params: dict[str, Any]) -> pd.DataFrame:
        from graphintel.store import cypher
        from graphintel.store.duckdb_queries import _freeze

        key = (self.generation(), name, _freeze(params))
        hit = self._cache.get(key)
        if hit is not None:
            return hit.copy()
        stmt, columns = cypher.dataset_query(name, scoped=params.get("scope") is not None)
        used = {k: v for k, v in params.items() if f"${k}" in stmt}
        _, rows = self.store._read(stmt, **used)
        frame = pd.DataFrame(rows, columns=list(columns))
        if not len(frame):
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        self._cache.put(key, frame)
        return frame.copy()

    def close(self) -> None:
        self.store.close()


def _listify(values: Iterable[Any] | None) -> list[Any] | None:
    if values is None:
        return None
    return sorted({str(v) for v in values})


def _num(frame: pd.DataFrame, cols: Iterable[str], dtype: str = "int64") -> pd.DataFrame:
    for c in cols:
        if c in frame:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").fillna(0).astype(dtype)
    return frame


def _sources_text(values: Iterable[Any]) -> list[str]:
    return [
        ", ".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else (v or "")
        for v in values
    ]


class Dataset:
    """What graphintel shows, queried from a store.

    Parameters
    ----------
    reader : object
        The store's reader (from :func:`open` or :meth:`from_store`).
    scope : iterable of str, optional
        Source ids whose records may be shown; ``None`` (default) shows everything.
    audit : callable, optional
        ``audit(action, params, ids)``, called once per query (see :data:`AuditHook`).

    Examples
    --------
    >>> ds = gi.open(tiny_uri)
    >>> ds.operators(top=3)["account_id"].tolist()
    ['A01', 'A02', 'A03']
    >>> seen = []
    >>> audited = ds.with_audit(lambda action, params, ids: seen.append((action, ids)))
    >>> _ = audited.rooms(limit=2)
    >>> seen[0][0], seen[0][1]["channel_id"]
    ('rooms', ['C2', 'C1'])
    """

    def __init__(
        self,
        reader: Any,
        *,
        scope: Iterable[str] | None = None,
        audit: AuditHook | None = None,
        origin: str | None = None,
        _snapshot: Any = None,
    ):
        self._reader = reader
        self.scope = None if scope is None else frozenset(str(s) for s in scope)
        self.audit = audit
        self.origin = origin
        self._snapshot = _snapshot

    @property
    def uri(self) -> str:
        """The store's URI (for a case view: the main store's, as users name it)."""
        return self.origin or self._reader.uri

    @property
    def read_uri(self) -> str:
        """The URI this dataset reads (a case view's own file, else :attr:`uri`)."""
        return self._reader.uri

    @property
    def is_case_view(self) -> bool:
        """Whether this dataset reads a case view (:mod:`graphintel.case_view`)."""
        return self.origin is not None

    def __repr__(self) -> str:
        scope = "" if self.scope is None else f", scope={sorted(self.scope)}"
        return f"Dataset({self.uri!r}{scope})"

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_store(cls, store: Any, **options: Any) -> Dataset:
        """A dataset over an open :class:`graphintel.store.base.GraphStore` (the caller keeps
        and closes it). For a DuckDB store its connection is used as it is (no caching)."""
        from graphintel.store.duckdb_queries import DuckDBReader
        from graphintel.store.duckdb_store import DuckDBStore

        if isinstance(store, DuckDBStore):
            return cls(DuckDBReader(store.path, con=store.con), **options)
        return cls(_Neo4jReader(store), **options)

    def _copy(self, **changes: Any) -> Dataset:
        args = {
            "scope": self.scope,
            "audit": self.audit,
            "origin": self.origin,
            "_snapshot": self._snapshot,
        }
        args.update(changes)
        return Dataset(self._reader, **args)

    def scoped(self, scope: Iterable[str] | None) -> Dataset:
        """The same store seen through ``scope`` (source ids; ``None`` = everything)."""
        return self._copy(scope=scope)

    def case_view(self, path: str, scope: Iterable[str], *, reader: Any = None) -> Dataset:
        """The case view file ``path`` of this store (:mod:`graphintel.case_view`), read with
        ``scope`` as well (defence in depth) and this dataset's audit hook; :attr:`uri` stays
        this store's. ``reader``: an open reader of ``path`` to reuse."""
        from graphintel.store.duckdb_queries import DuckDBReader

        reader = reader if reader is not None else DuckDBReader(path)
        return Dataset(reader, scope=scope, audit=self.audit, origin=self.uri)

    def with_audit(self, audit: AuditHook | None) -> Dataset:
        """The same store with ``audit`` called on every query."""
        return self._copy(audit=audit)

    def pinned(self) -> Dataset:
        """The same store pinned to its current generation: every query of the returned
        dataset reads the same snapshot (a page render shows old or new data, never a mix)."""
        return self._copy(_snapshot=self._reader.snapshot())

    def generation(self) -> Any:
        """A token that changes when a writer publishes new data."""
        return self._reader.generation()

    def close(self) -> None:
        """Close the reader (connections, driver)."""
        self._reader.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one choke point -----------------------------------------------------------------
    def _query(self, name: str, **params: Any) -> pd.DataFrame:
        """Run the named query with ``params`` plus ``$scope``; audit what it returned."""
        params["scope"] = None if self.scope is None else sorted(self.scope)
        snap = self._snapshot if self._snapshot is not None else self._reader.snapshot()
        frame = snap.run(name, params)
        if self.audit is not None:
            ids = {
                c: [str(v) for v in frame[c].dropna().unique()]
                for c in _ID_COLUMNS
                if c in frame.columns
            }
            if "record_table" in frame.columns and "record_key" in frame.columns:
                # evidence rows: the record each names, as TABLE:KEY
                keys = frame["record_table"].astype(str) + ":" + frame["record_key"].astype(str)
                ids["record"] = keys.unique().tolist()
            self.audit(name, dict(params), ids)
        return frame

    # -- overview ------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Records per table (:data:`graphintel.model.COUNT_KEYS`) in scope.

        >>> ds = gi.open(tiny_uri)
        >>> {k: ds.counts()[k] for k in ("channels", "sources")}
        {'channels': 4, 'sources': 1}
        """
        from graphintel.model import COUNT_KEYS

        out = dict.fromkeys(COUNT_KEYS, 0)
        frame = self._query("counts")
        out.update({str(k): int(n) for k, n in zip(frame["key"], frame["n"])})
        return out

    def sources(self) -> pd.DataFrame:
        """Sources with their provenance (``files`` = number of files).

        >>> gi.open(tiny_uri).sources()[["source_id", "method", "files"]].values.tolist()
        [['SRC-TINY-0001', 'synthetic', 9]]
        """
        return _num(self._query("sources"), ["files"])

    def has_analytics(self) -> bool:
        """Whether ``graphintel analyze`` has run on this store."""
        f = self._query("has_analytics")
        return bool(len(f)) and int(f["n"].iloc[0]) > 0

    def analytics_missing(self) -> str | None:
        """How to compute analytics when there are none, else ``None``."""
        if self.has_analytics():
            return None
        return (
            f"No analytics in this store yet. Run `graphintel analyze --store {self.uri}` "
            "(or `make demo`), then reload this page."
        )

    def summary(self) -> dict[str, Any]:
        """The ``summary`` of the last analysis (communities, referral, cascades, …)."""
        import json

        f = self._query("summary")
        return {str(k): json.loads(v) for k, v in zip(f["key"], f["value"])}

    def activity(self) -> pd.DataFrame:
        """Joins, invites and purchases per day: ``day`` (datetime), ``activity``, ``count``.

        >>> a = gi.open(tiny_uri).activity()
        >>> sorted(a["activity"].unique()), int(a["count"].sum()) > 0
        (['invites', 'joins', 'purchases'], True)
        """
        f = _num(self._query("activity"), ["count"])
        f["day"] = pd.to_datetime(f["day"], format="%Y-%m-%d", errors="coerce")
        return f

    def community_sizes(self, top: int = 20) -> pd.DataFrame:
        """The ``top`` communities by accounts: ``community``, ``accounts``, ``channels``."""
        return _num(self._query("community_sizes", limit=int(top)), ["accounts", "channels"])

    # -- rooms and the channel network -----------------------------------------------------------
    def communities(self) -> list[int]:
        """Community labels of rooms, ascending."""
        return [int(c) for c in self._query("communities")["community"]]

    def organisations(self) -> pd.DataFrame:
        """``org_id``, ``name`` of every organisation in scope."""
        return self._query("organisations")

    def _room_params(
        self,
        search: str | None,
        communities: Iterable[int] | None,
        orgs: Iterable[str] | None,
    ) -> dict[str, Any]:
        q = (search or "").strip() or None
        comms = None if not communities else sorted({int(c) for c in communities})
        return {"q": q, "communities": comms, "orgs": _listify(orgs) if orgs else None}

    def rooms(
        self,
        *,
        search: str | None = None,
        communities: Iterable[int] | None = None,
        orgs: Iterable[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> pd.DataFrame:
        """One page of rooms, most members first, matching the filters.

        Parameters
        ----------
        search : str, optional
            Case-insensitive text in the title, id or creator.
        communities, orgs : iterable, optional
            Only rooms in these communities / targeting one of these organisations.
        limit, offset : int
            The page (``LIMIT`` / ``OFFSET`` in the store).

        Returns
        -------
        pandas.DataFrame
            channel_id, title, kind, is_public, creator_id, creator, members, admins,
            community, targets, forwards_out, forwards_in, first_join, last_join.

        Examples
        --------
        >>> ds = gi.open(tiny_uri)
        >>> ds.rooms(limit=2)[["channel_id", "members"]].values.tolist()
        [['C2', 7], ['C1', 6]]
        >>> ds.rooms(search="C3")["channel_id"].tolist(), ds.rooms_count(search="c")
        (['C3'], 4)
        """
        params = self._room_params(search, communities, orgs)
        f = self._query("rooms", limit=int(limit), offset=int(offset), **params)
        return _num(f, ["members", "admins", "forwards_out", "forwards_in"])

    def rooms_count(
        self,
        *,
        search: str | None = None,
        communities: Iterable[int] | None = None,
        orgs: Iterable[str] | None = None,
    ) -> int:
        """How many rooms match the filters of :meth:`rooms`."""
        f = self._query("rooms_count", **self._room_params(search, communities, orgs))
        return int(f["n"].iloc[0]) if len(f) else 0

    def room(self, channel_id: str) -> pd.DataFrame:
        """The room's row of :meth:`rooms` (empty when unknown or out of scope)."""
        f = self._query("rooms_by_id", ids=[str(channel_id)])
        return _num(f, ["members", "admins", "forwards_out", "forwards_in"])

    def day_range(self) -> tuple[date, date] | None:
        """First and last day of joins and forwards (the channel network's time window)."""
        return self._range("day_range")

    def _range(self, name: str) -> tuple[date, date] | None:
        f = self._query(name)
        if not len(f) or f["first"].isna().iloc[0]:
            return None
        lo = pd.Timestamp(str(f["first"].iloc[0])[:10]).date()
        hi = pd.Timestamp(str(f["last"].iloc[0])[:10]).date()
        return lo, hi

    def channel_network(
        self,
        *,
        communities: Iterable[int] | None = None,
        orgs: Iterable[str] | None = None,
        search: str | None = None,
        min_overlap: int = 1,
        focus: str | None = None,
        start: str | None = None,
        end: str | None = None,
        max_nodes: int = views.DEFAULT_MAX_NODES,
        max_edges: int = 4000,
    ) -> NetworkView:
        """The room network: the largest matching rooms (or ``focus`` and its most strongly
        linked neighbours) and the links among them.

        ``start``/``end`` (ISO timestamps) recount the links from memberships present and
        forwards made in that window, for the rooms shown.

        Examples
        --------
        >>> v = gi.open(tiny_uri).channel_network(max_nodes=2)
        >>> v.nodes["id"].tolist(), v.note
        (['C2', 'C1'], '2 of 4 rooms not shown (cap 2, chosen by members)')
        """
        params = self._room_params(search, communities, orgs)
        cap = max(int(max_nodes), 1)
        overlap = max(int(min_overlap), 1)
        how = "members"
        if focus:
            nb = self._query(
                "room_neighbours", focus=str(focus), min_overlap=overlap, limit=cap - 1, **params
            )
            n_total = self._query(
                "room_neighbours_count", focus=str(focus), min_overlap=overlap, **params
            )
            total = 1 + (int(n_total["n"].iloc[0]) if len(n_total) else 0)
            ids = [str(focus), *nb["channel_id"].tolist()]
            rooms = self._query("rooms_by_id", ids=ids)
            how = "link strength to the selected room"
        else:
            rooms = self._query("rooms", limit=cap, offset=0, **params)
            total = self.rooms_count(search=search, communities=communities, orgs=orgs)
        rooms = _num(rooms, ["members", "admins"])
        ids = rooms["channel_id"].tolist()
        if start or end:
            links = self._query(
                "window_links",
                ids=ids,
                start=start or "0000",
                end=end or "9999",
                min_overlap=overlap,
            )
        else:
            links = self._query("links_among", ids=ids, min_overlap=overlap)
        links = _num(links, ["forwards", "shared_members"])
        links = _num(links, ["jaccard"], "float64")
        view = views.channel_network(
            rooms.assign(target_ids=[[] for _ in range(len(rooms))]),
            links,
            min_overlap=overlap,
            focus=focus or None,
            max_nodes=cap,
            max_edges=max_edges,
        )
        view.total = max(total, view.shown)
        notes = [n for n in view.note.split("; ") if n and "rooms not shown" not in n]
        if view.total > view.shown:
            notes.insert(
                0,
                f"{view.total - view.shown} of {view.total} rooms not shown (cap {cap}, "
                f"chosen by {how})",
            )
        view.note = "; ".join(notes)
        return view

    def room_details(self, channel_id: str, *, limit: int = 500) -> dict[str, pd.DataFrame]:
        """Everything recorded about one room, each row with its ``source_ids``: ``members``
        (first ``limit``, staff first), ``admins``, ``invite_links``, ``forwards``, ``targets``.

        >>> d = gi.open(tiny_uri).room_details("C1")
        >>> d["admins"]["role"].tolist()[:1], len(d["members"])
        (['owner'], 6)
        """
        c = str(channel_id)
        return {
            "members": self._query("room_members", channel=c, staff=False, limit=int(limit)),
            "admins": self._query("room_members", channel=c, staff=True, limit=int(limit)),
            "invite_links": _num(
                self._query("room_invite_links", channel=c, limit=int(limit)), ["invites"]
            ),
            "forwards": _num(
                self._query("room_forwards", channel=c, limit=int(limit)), ["forwards"]
            ),
            "targets": self._query("room_targets", channel=c),
        }

    # -- referral ------------------------------------------------------------------------------
    def search_accounts(self, query: str | None = None, *, limit: int = 50) -> pd.DataFrame:
        """Accounts whose id, handle or display name contains ``query`` (case-insensitive),
        most referral descendants first: account_id, handle, display_name,
        referral_descendants. An empty query lists the accounts with the most descendants.

        >>> gi.open(tiny_uri).search_accounts("a0", limit=2)["account_id"].tolist()
        ['A01', 'A02']
        """
        q = (query or "").strip() or None
        name = "search_accounts" if self.has_analytics() else "search_accounts_plain"
        return _num(self._query(name, q=q, limit=int(limit)), ["referral_descendants"])

    def referral_stats(self) -> dict[str, Any]:
        """Cascade statistics of the last analysis
        (:func:`graphintel.analytics.referral.cascade_stats`)."""
        return dict(self.summary().get("cascades") or {})

    def cascades(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` largest cascades: root, handle, size (root included), depth,
        direct_invites.

        >>> gi.open(tiny_uri).cascades(1)[["root", "size"]].values.tolist()
        [['A01', 5]]
        """
        return _num(self._query("cascades", limit=int(n)), ["size", "depth", "direct_invites"])

    def referral_tree(
        self, account_id: str, *, max_nodes: int = 120, per_parent: int | None = None
    ) -> NetworkView:
        """The chain from ``account_id`` up to its root and its tree below, down to the cap.

        Level by level, each shown account keeps its largest sub-trees (most descendants
        first, at most ``per_parent`` children: the square root of the nodes left when the
        whole tree does not fit) and the rest of its children become one "N more" node, so a
        wide cascade still shows its depth.

        Returns
        -------
        NetworkView
            ``extra["chain"]`` (account to root), ``extra["subtree"]`` (accounts shown below,
            breadth first).

        Raises
        ------
        AnalyticsError
            If ``account_id`` is not in the referral forest (or not in scope).

        Examples
        --------
        >>> v = gi.open(tiny_uri).referral_tree("A01", max_nodes=4)
        >>> v.shown, v.total, v.extra["subtree"]["account_id"].tolist()
        (3, 5, ['A01', 'A03', 'A04'])
        >>> v.nodes["label"].tolist()[-2:]
        ['+1 more (1 account)', '+1 more (1 account)']
        """
        me = self._query("forest_rows", ids=[str(account_id)])
        if me.empty:
            raise AnalyticsError(
                f"account {account_id!r} is not in the referral forest: pick one from the search"
            )
        chain = [me.iloc[0]]
        while isinstance(chain[-1]["referral_parent"], str) and len(chain) < 1000:
            up = self._query("forest_rows", ids=[chain[-1]["referral_parent"]])
            if up.empty:
                break
            chain.append(up.iloc[0])
        chain_f = pd.DataFrame(chain).reset_index(drop=True)
        total_below = int(chain_f["referral_descendants"].iloc[0])
        budget = max(int(max_nodes) - len(chain_f), 1)
        fits = total_below + 1 <= budget
        sub = [me.assign(level=0, pos=1, siblings=1)]
        more: list[pd.DataFrame] = []
        frontier = [str(account_id)] if total_below else []
        left = budget - 1
        level = 0
        while frontier and left > 0:
            level += 1
            k = 1_000_000 if fits else (per_parent or max(2, int(left**0.5)))
            kids = self._query("forest_children", ids=frontier, per_parent=int(k))
            kids = _num(kids, ["referral_descendants", "siblings", "sibling_accounts", "pos"])
            kids = kids.sort_values(
                ["referral_descendants", "account_id"], ascending=[False, True], kind="stable"
            )
            keep = kids.head(left)
            left -= len(keep)
            sub.append(keep.assign(level=level))
            shown = keep.groupby("referral_parent").agg(
                n=("account_id", "size"), acc=("referral_descendants", "sum")
            )
            per = (
                kids.drop_duplicates("referral_parent")
                .set_index("referral_parent")[["siblings", "sibling_accounts"]]
                .join(shown, how="left")
                .fillna(0)
            )
            hidden = per["siblings"] - per["n"]
            sel = (hidden > 0).to_numpy()
            more.append(
                pd.DataFrame(
                    {
                        "parent": per.index[sel],
                        "level": level,
                        "children": hidden[sel].astype(int).to_numpy(),
                        "accounts": (per["sibling_accounts"] - per["acc"] - per["n"])[sel]
                        .astype(int)
                        .to_numpy(),
                    }
                )
            )
            frontier = keep.loc[keep["referral_descendants"] > 0, "account_id"].tolist()
        # shown accounts whose children were not reached: one summary node each
        subtree = pd.concat(sub, ignore_index=True)
        more_f = pd.concat(more, ignore_index=True) if more else pd.DataFrame()
        expanded = set(subtree["referral_parent"].dropna())
        if len(more_f):
            expanded |= set(more_f["parent"])
        cut = subtree[(subtree["referral_descendants"] > 0) & ~subtree["account_id"].isin(expanded)]
        if len(cut):
            more_f = pd.concat(
                [
                    more_f,
                    pd.DataFrame(
                        {
                            "parent": cut["account_id"].to_numpy(),
                            "level": cut["level"].astype(int).to_numpy() + 1,
                            "children": pd.to_numeric(cut["direct_invites"]).astype(int).to_numpy(),
                            "accounts": cut["referral_descendants"].astype(int).to_numpy(),
                        }
                    ),
                ],
                ignore_index=True,
            )
        more = more_f.to_dict("records") if len(more_f) else []
        view = views.referral_tree_view(chain_f, subtree, more)
        view.total = len(chain_f) + total_below
        shown_below = len(subtree) - 1
        if shown_below < total_below:
            view.note = (
                f"{total_below - shown_below} of {total_below} accounts below the selected "
                f"account not shown (cap {int(max_nodes)}: largest sub-trees first, the rest "
                "summed up in “more” nodes)"
            )
        return view

    # -- operators -------------------------------------------------------------------------------
    def operators(self, top: int = 20) -> pd.DataFrame:
        """The ``top`` accounts by priority: priority_rank, account_id, handle, display_name,
        priority_score, community, then one column per component contribution.

        >>> r = gi.open(tiny_uri).operators(top=2)
        >>> r["priority_score"].is_monotonic_decreasing, "rooms_operated" in r.columns
        (True, True)
        """
        ranking = self._query("ranking", limit=int(top))
        ranking["priority_score"] = pd.to_numeric(ranking["priority_score"]).astype(float)
        if ranking.empty:
            return ranking
        comps = self._query("components", ids=ranking["account_id"].tolist())
        if len(comps):
            wide = comps.pivot_table(
                index="account_id", columns="component", values="contribution", aggfunc="sum"
            )
            ranking = ranking.merge(wide, left_on="account_id", right_index=True, how="left")
            ranking[list(wide.columns)] = ranking[list(wide.columns)].fillna(0.0)
        return ranking.reset_index(drop=True)

    def operator_components(self, account_id: str) -> pd.DataFrame:
        """The score components of one account: component, value, weight, contribution."""
        f = self._query("components", ids=[str(account_id)])
        return f[["component", "value", "weight", "contribution"]].reset_index(drop=True)

    def operator_evidence(self, account_id: str) -> pd.DataFrame:
        """The records behind one account's score: component, record_table, record_key,
        detail, source_ids (``, ``-joined).

        >>> ev = gi.open(tiny_uri).operator_evidence("A01")
        >>> set(ev["source_ids"])
        {'SRC-TINY-0001'}
        """
        ev = self._query("evidence", account=str(account_id))
        ev["source_ids"] = _sources_text(ev["source_ids"])
        return ev

    # -- the invitation-credit economy ------------------------------------------------------------
    def room_economy(self) -> pd.DataFrame:
        """Per room: proceeds, rewards, matched rewards, reward rate and unmatched counts (the
        ``room_economy`` result; it has no source ids: a scoped user reads it from a case
        view, where it aggregates the permitted sources only).

        >>> gi.open(tiny_uri).room_economy()["channel_id"].tolist()
        ['C1', 'C2']
        """
        f = self._query("room_economy")
        f["channel_id"] = f["channel_id"].astype(object).where(f["channel_id"].notna(), None)
        return f

    def cascade_list(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` largest cascades of the ``cascades`` result: root, size."""
        return _num(self._query("cascade_list", limit=int(n)), ["size"])

    def cascade_generations(self, roots: Iterable[str] | None = None) -> pd.DataFrame:
        """Generations of the cascades ``roots`` (all when ``None``): root, generation,
        accounts, recruits, gap_hours_mean."""
        f = self._query("cascade_generations", ids=_listify(roots))
        return _num(f, ["generation", "accounts", "recruits"])

    def cascade_growth(self, roots: Iterable[str]) -> pd.DataFrame:
        """Size per day of the cascades ``roots``: root, day, joined, size."""
        return _num(self._query("cascade_growth", ids=_listify(roots)), ["joined", "size"])

    def room_activity(self) -> pd.DataFrame:
        """Dated records per room and day (``room_activity``): channel_id, day, events."""
        return _num(self._query("room_activity"), ["events"])

    def room_joins(self) -> pd.DataFrame:
        """When each account entered each room (memberships and invites naming the room):
        account_id, channel_id, joined_at (earliest; ``None`` when undated)."""
        f = self._query("room_joins")
        when = f["joined_at"].astype(object)
        f["joined_at"] = when.where(when.notna() & (when != ""), None)
        out = f.groupby(["account_id", "channel_id"], sort=True)["joined_at"].min()
        out = out.reset_index()
        out["joined_at"] = out["joined_at"].astype(object).where(out["joined_at"].notna(), None)
        return out

    def room_moves(self, gone: Iterable[str], at: str, end: str) -> pd.DataFrame:
        """Where the members of the rooms ``gone`` went, computed in the store: accounts in one
        of them before ``at`` (a dated join before it, or an undated one) that joined another
        room in [``at``, ``end``) — :func:`graphintel.analytics.economy.room_moves` over
        :meth:`room_joins`, without reading every join. Columns ``from_channel_id``,
        ``to_channel_id``, ``members``, ``first_joined_at``; by members descending.
        """
        rooms = sorted({str(g) for g in gone})
        if rooms:
            f = self._query("room_moves", gone=rooms, at=str(at), end=str(end))
        else:  # nothing stopped: no read
            cols = ("from_channel_id", "to_channel_id", "members", "first_joined_at")
            f = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        f = f.astype({"members": np.int64})
        f["first_joined_at"] = f["first_joined_at"].astype(object)
        return f.reset_index(drop=True)

    def account_economy(self, account_id: str) -> dict[str, float]:
        """proceeds_krw, distinct_payers, distinct_payees of one account (zeros if unknown)."""
        f = self._query("account_economy", account=str(account_id))
        if f.empty:
            return {"proceeds_krw": 0.0, "distinct_payers": 0, "distinct_payees": 0}
        r = f.iloc[0]
        return {
            "proceeds_krw": float(r["proceeds_krw"] or 0.0),
            "distinct_payers": int(r["distinct_payers"] or 0),
            "distinct_payees": int(r["distinct_payees"] or 0),
        }

    def purchases_received(self, account_id: str, *, limit: int = 1000) -> pd.DataFrame:
        """The purchase transactions an account received (the records behind
        ``proceeds_krw``), at most ``limit``."""
        f = self._query("purchases_received", account=str(account_id), limit=int(limit))
        for c in ("credits", "amount_krw"):
            f[c] = pd.to_numeric(f[c], errors="coerce").astype(float)
        return f

    # -- credit flows ----------------------------------------------------------------------------
    def role_flows(self) -> pd.DataFrame:
        """Credits between roles (operator, admin, member, bot): source, target, credits,
        transactions.

        >>> gi.open(tiny_uri).role_flows().iloc[0][["source", "target"]].tolist()
        ['member', 'operator']
        """
        return _num(self._query("role_flows"), ["transactions"])

    def community_flows(self, top: int = 10) -> pd.DataFrame:
        """Credits between communities; those outside the ``top`` by credits moved are
        grouped as ``other``."""
        return _num(self._query("community_flows", top=int(top)), ["transactions"])

    def credits_over_time(self, freq: str = "day") -> pd.DataFrame:
        """Credits per period and kind: period (ISO date of its start), kind, credits,
        transactions. ``freq``: ``day``, ``week`` (from Monday) or ``month``.

        >>> c = gi.open(tiny_uri).credits_over_time("month")
        >>> c["period"].unique().tolist()
        ['2024-07-01']
        """
        if freq not in ("day", "week", "month"):
            raise AnalyticsError(f"freq must be 'day', 'week' or 'month', got {freq!r}")
        return _num(self._query("credits_over_time", freq=freq), ["transactions"])

    def top_earners(self, n: int = 20) -> pd.DataFrame:
        """The ``n`` accounts receiving the most credits."""
        return self._query("top_earners", limit=int(n))

    def payment_day_range(self) -> tuple[date, date] | None:
        """First and last day with a dated transaction."""
        return self._range("payment_day_range")

    def trace(
        self,
        account_id: str,
        *,
        direction: str = "forward",
        hops: int = 2,
        start: str | None = None,
        end: str | None = None,
        max_nodes: int = views.DEFAULT_MAX_NODES,
        max_edges: int = 5_000,
    ) -> NetworkView:
        """Payments traced ``hops`` hops from ``account_id`` (one query per hop), as a network
        and a table; see :func:`graphintel.views.payment_trace_view` for what it holds.

        Reachability, not time order: a payment made before the one that reached its payer is
        still traced. ``start``/``end`` bound ``ts`` (inclusive; with no bound, transactions
        without ``ts`` count too).

        >>> v = gi.open(tiny_uri).trace("A04", hops=1)
        >>> v.extra["table"]["txn_id"].tolist()
        ['T01', 'T04']
        """
        if direction not in ("forward", "backward"):
            raise AnalyticsError(f"direction must be 'forward' or 'backward', got {direction!r}")
        if not isinstance(hops, int) or hops < 1:
            raise AnalyticsError(f"hops must be a whole number ≥ 1, got {hops!r}")
        name = "trace_forward" if direction == "forward" else "trace_backward"
        far = "to_id" if direction == "forward" else "from_id"
        seen = {str(account_id)}
        frontier = [str(account_id)]
        parts = []
        taken = 0
        for hop in range(1, hops + 1):
            rows = self._query(
                name, frontier=frontier, start=start, end=end, limit=int(max_edges) - taken
            )
            if rows.empty:
                break
            parts.append(rows.assign(hop=hop))
            taken += len(rows)
            if taken >= max_edges:
                break
            nxt = set(rows[far].dropna().astype(str)) - seen
            seen |= nxt
            frontier = sorted(nxt)
            if not frontier:
                break
        cols = ["txn_id", "from_id", "to_id", "credits", "kind", "ts", "channel_id", "source_ids"]
        tx = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame({c: pd.Series(dtype=object) for c in [*cols, "hop"]})
        )
        tx["credits"] = pd.to_numeric(tx["credits"], errors="coerce").astype(float)
        ids = sorted(set(tx["from_id"].dropna()) | set(tx["to_id"].dropna()) | {str(account_id)})
        labels = self._query("account_labels", ids=ids)
        return views.payment_trace_view(
            tx,
            labels,
            str(account_id),
            direction=direction,
            max_nodes=max_nodes,
            max_edges=max_edges,
        )

    # -- targets ---------------------------------------------------------------------------------
    def targets(self) -> pd.DataFrame:
        """Organisations with the rooms reported as targeting them: org_id, name, kind,
        region, lat, lon, rooms, members_reached, room_titles; most rooms first.

        >>> gi.open(tiny_uri).targets()[["org_id", "rooms"]].head(1).values.tolist()
        [['O2', 1]]
        """
        f = _num(self._query("org_targets"), ["rooms", "members_reached"])
        for c in ("lat", "lon"):
            f[c] = pd.to_numeric(f[c], errors="coerce").astype(float)
        return f

    def regions(self) -> pd.DataFrame:
        """Per region: organisations, targeted, rooms, members_reached."""
        return views.region_table(self.targets())

    # -- alerts and takedowns ----------------------------------------------------------------
    def _graph_store(self) -> Any:
        """The store behind this dataset, for the case tables (read only; do not close)."""
        store = getattr(self._reader, "store", None)
        if store is not None:
            return store
        from graphintel.store.duckdb_store import DuckDBStore

        snap = self._snapshot if self._snapshot is not None else self._reader.snapshot()
        store = DuckDBStore(self._reader.path, read_only=True)
        store._con = snap._cursor()
        return store

    def dossier(self, account_id: str, out: Any, **options: Any) -> Any:
        """Write ``account_id``'s evidence dossier (:func:`graphintel.dossier.write_dossier`)
        from this dataset's store and scope: for a case view, its records and analytics."""
        from graphintel.dossier import write_dossier

        store = self._graph_store()
        if self.is_case_view:
            # a fresh read-only object: named as users know the store
            store.uri = f"{self.uri} (case view)"
            # the view's analytics are already the scope's own
            names = ("account_metrics", "priority_components", "priority_evidence")
            options.setdefault("results", {n: store.results(n) for n in names})
        return write_dossier(store, account_id, out, scope=self.scope, **options)

    def alerts(self) -> pd.DataFrame:
        """The alerts in scope (an alert's source ids overlap the scope), as
        :func:`graphintel.watch.alerts_view`: room titles, handles and deep links."""
        from graphintel import watch

        store = self._graph_store()
        raw = store.case_table("alerts")
        if self.scope is not None and len(raw):
            keep = raw["source_ids"].map(lambda v: bool(set(v or []) & self.scope))
            raw = raw[keep.to_numpy(dtype=bool)]
        rooms = sorted({c for c in raw["channel_id"].dropna()})
        accounts = sorted({a for a in raw["account_id"].dropna()})
        channels = store.table(
            "channels", columns=["channel_id", "title"], where={"channel_id": rooms}
        )
        handles = store.table(
            "accounts", columns=["account_id", "handle"], where={"account_id": accounts}
        )
        view = watch.alerts_view(raw, channels, handles)
        if self.audit is not None:
            self.audit(
                "alerts",
                {"scope": None if self.scope is None else sorted(self.scope)},
                {"channel_id": rooms, "account_id": accounts},
            )
        return view

    def takedowns(self) -> dict[str, pd.DataFrame]:
        """:func:`graphintel.takedowns.takedown_tables` of the store (a scoped user's store is
        a case view, which holds only the permitted sources' records)."""
        from graphintel.takedowns import takedown_tables

        tables = takedown_tables(self._graph_store())
        if self.audit is not None:
            ids: dict[str, set[str]] = {}
            for frame in tables.values():
                for c in _ID_COLUMNS:
                    if c in frame.columns:
                        ids.setdefault(c, set()).update(frame[c].dropna().astype(str))
            self.audit("takedowns", {"scope": None}, {c: sorted(v) for c, v in ids.items()})
        return tables


def open(uri: str, settings: Any = None, **options: Any) -> Dataset:
    """Open a :class:`Dataset` on the store ``uri`` names (read only).

    Parameters
    ----------
    uri : str
        ``duckdb:PATH`` or ``bolt://host:port`` / ``neo4j://host:port`` (credentials from
        ``settings`` or the environment: ``NEO4J_USERNAME`` / ``NEO4J_PASSWORD``).
    settings : graphintel.config.Settings, optional
    **options
        ``scope`` and ``audit`` (see :class:`Dataset`).

    Raises
    ------
    ConfigError
        On an unknown URI.

    Examples
    --------
    >>> import graphintel as gi
    >>> gi.open(tiny_uri).cascades(1)["root"].tolist()
    ['A01']
    """
    from graphintel.config import load_settings
    from graphintel.errors import ConfigError

    if uri.startswith("duckdb:"):
        from graphintel.store.duckdb_queries import DuckDBReader

        path = uri[len("duckdb:") :]
        if not path or path == ":memory:":
            raise ConfigError(
                f"gi.open needs a store file ({uri!r}): use duckdb:PATH, or Dataset.from_store "
                "for an in-memory store"
            )
        return Dataset(DuckDBReader(path), **options)
    from graphintel.store import open_store

    settings = settings or load_settings().with_store(uri)
    try:
        store = open_store(uri, settings)
    except ImportError as err:
        raise StoreUnavailable(f"this installation cannot open {uri!r} ({err})") from err
    return Dataset(_Neo4jReader(store), **options)
