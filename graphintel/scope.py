"""Case scoping: which sources a user may see, and the records as only those sources reported.

A record reported by two cases must show a case-A user only what case A reported: not the other
case's source id, and not an attribute value only the other case supplied. The store keeps every
source's validated rows (:func:`graphintel.retraction.save_source_copy`), so the scoped view of
the canonical tables is those rows of the permitted sources merged with the ingest rule, in
ingest order: per key, each attribute is the last non-null value (``coalesce(new, old)``),
``inferred`` is the AND of all, ``source_ids`` the sorted union. With every source permitted
this gives exactly the store's tables (tested on both stores).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from graphintel.model import NODE_TABLES, TABLES, table_columns
from graphintel.store.base import OPTIONAL_KEY_COLUMNS, GraphStore, restore_optional_keys

__all__ = ["merge_source_rows", "permitted_sources", "request_scope", "scoped_tables"]


def permitted_sources(
    role: str, cases: Iterable[str], sources: pd.DataFrame, retracted: Iterable[str] = ()
) -> frozenset[str] | None:
    """The source ids a user of ``role`` (with ``cases``) may see; ``None`` means all.

    ``admin``: all; ``investigator``/``analyst``: the sources of their cases; ``trainer``: the
    sources with ``method: synthetic``; ``auditor``: none. Retracted sources are never included.

    Example
    -------
    >>> s = pd.DataFrame({"source_id": ["S1", "S2", "S3"], "case_id": ["A", "B", "T"],
    ...                   "method": ["seizure", "seizure", "synthetic"]})
    >>> sorted(permitted_sources("investigator", ["A"], s)), sorted(permitted_sources("trainer", [], s))
    (['S1'], ['S3'])
    >>> permitted_sources("admin", [], s) is None, permitted_sources("auditor", [], s)
    (True, frozenset())
    """
    if role == "admin":
        return None
    gone = {str(r) for r in retracted}
    ids = sources["source_id"].astype(str)
    if role in ("investigator", "analyst"):
        keep = sources["case_id"].astype(str).isin({str(c) for c in cases})
    elif role == "trainer":
        keep = sources["method"].astype(str) == "synthetic"
    else:
        return frozenset()
    return frozenset(ids[keep.to_numpy()]) - gone


def merge_source_rows(
    batches: list[tuple[str, dict[str, pd.DataFrame]]],
) -> dict[str, pd.DataFrame]:
    """Merge per-source rows (``(source_id, tables)`` in ingest order) with the ingest rule.

    Returns every canonical table in stored form (``source_ids`` included), sorted by key;
    optional key columns read back as ``None`` as the stores return them.

    Example
    -------
    >>> a = pd.DataFrame({"account_id": ["U1"], "handle": ["@a"], "inferred": [False]})
    >>> b = pd.DataFrame({"account_id": ["U1"], "handle": [None], "inferred": [True]})
    >>> out = merge_source_rows([("S1", {"accounts": a}), ("S2", {"accounts": b})])["accounts"]
    >>> out[["account_id", "handle", "inferred"]].values.tolist(), out["source_ids"].tolist()
    ([['U1', '@a', False]], [['S1', 'S2']])
    """
    out: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        cols = table_columns(table)
        key = list(TABLES[table].key)
        frames = [
            f.reindex(columns=[c for c in cols if c != "source_ids"]).assign(_sid=sid, _order=i)
            for i, (sid, tables) in enumerate(batches)
            if (f := tables.get(table)) is not None and len(f)
        ]
        if not frames:
            out[table] = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
            continue
        rows = pd.concat(frames, ignore_index=True).sort_values("_order", kind="stable")
        for col in OPTIONAL_KEY_COLUMNS.get(table, ()):
            rows[col] = rows[col].astype(object).where(rows[col].notna(), "")
        if table in NODE_TABLES:
            rows["inferred"] = rows["inferred"].astype(object).where(rows["inferred"].notna(), True)
            rows["inferred"] = rows["inferred"].astype(bool)
        grouped = rows.groupby(key, sort=True, dropna=False)
        attrs = [c for c in cols if c not in key and c not in ("source_ids", "inferred")]
        merged = grouped[attrs].last() if attrs else grouped.size().to_frame("_n")[[]]
        if table in NODE_TABLES:
            merged["inferred"] = grouped["inferred"].min()  # AND over the sources' flags
        sids = rows[[*key, "_sid"]].drop_duplicates().sort_values([*key, "_sid"])
        merged["source_ids"] = sids.groupby(key, sort=True, dropna=False)["_sid"].agg(list)
        frame = merged.reset_index().reindex(columns=cols)
        out[table] = restore_optional_keys(table, frame.reset_index(drop=True))
    return out


def scoped_tables(store: GraphStore, scope: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The canonical tables as only the sources in ``scope`` reported them (see module notes)."""
    from graphintel.retraction import load_source_copies

    allowed = {str(s) for s in scope}
    copies = [c for c in load_source_copies(store) if c.source_id in allowed]
    return merge_source_rows([(c.source_id, c.tables) for c in copies])


def request_scope(
    requested: Iterable[str] | None,
    sources: pd.DataFrame,
    retracted: Iterable[str] = (),
    *,
    user: Any = None,
    action: str = "read",
    store_uri: str = "the store",
) -> tuple[list[str], frozenset[str]] | None:
    """The cases and source ids a CLI request (``dossier``/``export --cases``) may read.

    ``requested``: the ``--cases`` given (``None``: none). ``user``: the users-file user that
    ``GRAPHINTEL_USER`` names (a :class:`graphintel.users.User`), or ``None``. Returns ``None``
    for the whole store (no ``--cases``, and no scoped user), else ``(cases, source ids)``: the
    sources of those cases that are not retracted, within what ``user`` may see
    (:func:`permitted_sources`). A scoped user without ``--cases`` gets their own scope.

    Raises
    ------
    UserError
        A requested case no source of the store has (the known ones are named), or cases with
        no source left to read (all retracted, or none the user may see).
    AccessDenied
        A case outside the user's, an auditor (no case data), or an export by a role that may
        not export (``analyst``), as in the dashboard.

    Example
    -------
    >>> from graphintel.users import User
    >>> s = pd.DataFrame({"source_id": ["S1", "S2", "S3"], "case_id": ["A", "B", "A"],
    ...                   "method": ["seizure", "seizure", "synthetic"]})
    >>> request_scope(None, s) is None
    True
    >>> request_scope(["A"], s, retracted=["S3"])
    (['A'], frozenset({'S1'}))
    >>> request_scope(None, s, user=User("kim", "investigator", ("B",)))
    (['B'], frozenset({'S2'}))
    >>> request_scope(["B"], s, user=User("kim", "investigator", ("A",)))
    Traceback (most recent call last):
    ...
    graphintel.errors.AccessDenied: user kim (investigator) may read cases A only: case B refused; nothing was written
    """
    from graphintel.errors import AccessDenied, UserError
    from graphintel.users import EXPORT_ROLES

    cases = None if requested is None else sorted({str(c).strip() for c in requested} - {""})
    known = sorted({str(c) for c in sources["case_id"]})
    if cases is not None:
        bad = [c for c in cases if c not in known]
        if not cases or bad:
            raise UserError(
                (
                    f"unknown case {', '.join(bad)}: no source in {store_uri} has it"
                    if bad
                    else "--cases names no case"
                )
                + f"; known cases are {', '.join(known) or 'none (ingest a bundle first)'}"
            )
    allowed = None
    if user is not None:
        who = f"user {user.name} ({user.role})"
        if user.role == "auditor":
            raise AccessDenied(f"{who} reads the audit trail only, no case data: refused")
        if action == "export" and user.role not in EXPORT_ROLES:
            raise AccessDenied(
                f"{who} may not export case data (dossiers and exports are for "
                f"{', '.join(EXPORT_ROLES)}), as in the dashboard: refused; nothing was written"
            )
        allowed = permitted_sources(user.role, user.cases, sources, retracted)
        if allowed is not None and user.role != "trainer":
            mine = set(user.cases)
            if cases is not None and set(cases) - mine:
                raise AccessDenied(
                    f"{who} may read cases {', '.join(sorted(mine)) or '(none)'} only: case "
                    f"{', '.join(sorted(set(cases) - mine))} refused; nothing was written"
                )
        if allowed is not None and cases is None:
            ids = sources["source_id"].astype(str).isin(allowed).to_numpy()
            cases = sorted({str(c) for c in sources["case_id"][ids]}) or list(user.cases)
    if cases is None:
        return None
    gone = {str(r) for r in retracted}
    ids = sources["source_id"].astype(str)
    picked = frozenset(ids[sources["case_id"].astype(str).isin(cases).to_numpy()]) - gone
    if allowed is not None:
        outside = sorted(picked - allowed)
        if outside and user.role == "trainer":
            raise AccessDenied(
                f"user {user.name} (trainer) may read synthetic sources only: source(s) "
                f"{', '.join(outside)} of case {', '.join(cases)} refused; nothing was written"
            )
        picked &= allowed
    if not picked:
        raise UserError(
            f"case {', '.join(cases)}: no source left to read in {store_uri} (every one was "
            "retracted); nothing was written"
        )
    return cases, picked
