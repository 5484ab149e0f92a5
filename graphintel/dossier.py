"""Evidence dossiers: one account's priority and the records behind it, for review.

``write_dossier`` writes a folder:

* ``index.html`` — self-contained (inline style, no script, no external resource; every value
  escaped once with :func:`html.escape`), whose first line (a comment) and first line of text
  say that it is a ranking for review, not a finding of guilt; the account's priority components and, per component, the
  records behind it with their provenance;
* ``components.csv``, ``evidence.csv`` (component records), ``rooms.csv``, ``invites.csv``,
  ``payments.csv``, ``content.csv`` (the account's records) and ``sources.csv`` — one row per
  record and source, with case, method, legal basis, collection date and the sha256 of the
  source's files;
* ``proceeds.csv`` — the purchases the account received, one row per transaction: the won each
  adds to ``proceeds_krw`` (``amount_krw`` where recorded, else credits × the analysis' won per
  credit; ``basis`` says which) with its sources' ids, cases and legal bases. The page's
  ``proceeds_krw``, ``distinct_payers`` and ``distinct_payees`` are computed over the dossier's
  own records (the analysis' definition), so a scoped dossier shows the scope's figures;
* ``MANIFEST.sha256`` — ``sha256sum`` format over every other file.

``verify_dossier`` re-hashes the folder and names changed, missing and added files.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from graphintel.errors import DossierError
from graphintel.export import guard_spreadsheet_text
from graphintel.store.base import GraphStore

__all__ = ["DISCLAIMER", "MANIFEST", "DossierReport", "verify_dossier", "write_dossier"]

DISCLAIMER = "This dossier is a ranking for review, not a finding of guilt."
MANIFEST = "MANIFEST.sha256"
PROVENANCE = ["source_id", "case_id", "method", "legal_basis", "collected_at", "file_sha256"]
_FILE = re.compile(r"^(?P<path>.*) sha256=(?P<sha>[0-9a-f]{64}) table=(?P<table>\S+)$")


@dataclass
class DossierReport:
    """What was written: the folder, files with their sha256 and record counts."""

    account_id: str
    out: Path
    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    cases: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.rows.items())
        return (
            f"Dossier for {self.account_id} written to {self.out} ({counts}); "
            f"{len(self.files)} files listed in {MANIFEST}. {DISCLAIMER}"
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _source_files(sources: pd.DataFrame) -> pd.DataFrame:
    """One row per source file: source_id, table, file_sha256."""
    s = sources[["source_id", "files"]].copy()
    s["files"] = [list(f) if isinstance(f, (list, np.ndarray)) else [] for f in s["files"]]
    ex = s.explode("files").dropna(subset=["files"])
    parsed = ex["files"].astype(str).str.extract(_FILE)
    return pd.DataFrame(
        {
            "source_id": ex["source_id"].to_numpy(),
            "table": parsed["table"].to_numpy(),
            "file_sha256": parsed["sha"].to_numpy(),
        }
    ).dropna()


def _with_provenance(
    records: pd.DataFrame,
    table: str,
    sources: pd.DataFrame,
    files: pd.DataFrame,
    scope: set[str] | None,
) -> pd.DataFrame:
    """One row per (record, source): the record's columns, then the source's provenance.

    ``file_sha256`` lists (``;``) the source's files of ``table`` (or Telegram exports)."""
    recs = records.copy()
    recs["source_id"] = recs.pop("source_ids")
    recs = recs.explode("source_id").dropna(subset=["source_id"])
    if scope is not None:
        recs = recs[recs["source_id"].isin(scope)]
    mine = files[files["table"].isin([table, "telegram_export"])]
    sha = mine.groupby("source_id")["file_sha256"].agg(lambda v: ";".join(sorted(set(v))))
    prov = sources[["source_id", "case_id", "method", "legal_basis", "collected_at"]]
    out = recs.merge(prov, on="source_id", how="left")
    out["file_sha256"] = out["source_id"].map(sha)
    return out.reset_index(drop=True)


def _account_records(
    table: Callable[[str, str, str], pd.DataFrame], account_id: str
) -> dict[str, tuple[str, pd.DataFrame]]:
    """name -> (canonical table, the account's records in it)."""
    m = table("memberships", "account_id", account_id)
    rooms = m[m["role"].isin(["owner", "admin"])]
    inv = table("invites", "inviter_id", account_id)
    pay_in = table("transactions", "to_id", account_id)
    pay_out = table("transactions", "from_id", account_id)
    pay = pd.concat([pay_in, pay_out], ignore_index=True).drop_duplicates("txn_id")
    content = table("content", "poster_id", account_id)
    return {
        "rooms": ("memberships", rooms),
        "invites": ("invites", inv),
        "payments": ("transactions", pay.sort_values("txn_id", kind="stable")),
        "content": ("content", content),
    }


PROCEEDS_COLUMNS = [
    "txn_id",
    "payer",
    "ts",
    "channel_id",
    "credits",
    "amount_krw",
    "won",
    "basis",
    "source_ids",
    "case_ids",
    "legal_bases",
]


def _proceeds(
    received: pd.DataFrame,
    won_per_credit: float,
    sources: pd.DataFrame,
    files: pd.DataFrame,
    scope: set[str] | None,
) -> pd.DataFrame:
    """The purchases behind ``proceeds_krw`` (:data:`PROCEEDS_COLUMNS`), by time then id."""
    from graphintel.analytics.economy import _purchase_krw
    from graphintel.economy_views import won_basis

    buys = received[received["kind"] == "purchase"].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "txn_id": buys["txn_id"].astype(str),
            "payer": buys["from_id"],
            "ts": buys["ts"],
            "channel_id": buys["channel_id"],
            "credits": pd.to_numeric(buys["credits"], errors="coerce").astype(float),
            "amount_krw": pd.to_numeric(buys["amount_krw"], errors="coerce").astype(float),
            "won": _purchase_krw(buys, won_per_credit) if len(buys) else np.zeros(0),
            "basis": won_basis(buys["amount_krw"], won_per_credit),
        }
    )
    prov = _with_provenance(
        buys[["txn_id", "source_ids"]], "transactions", sources, files, scope
    ).astype({"txn_id": str})
    joined = prov.groupby("txn_id", sort=False).agg(
        source_ids=("source_id", lambda v: "; ".join(sorted(set(map(str, v))))),
        case_ids=("case_id", lambda v: "; ".join(sorted(set(map(str, v.dropna()))))),
        legal_bases=("legal_basis", lambda v: "; ".join(sorted(set(map(str, v.dropna()))))),
    )
    out = out.join(joined, on="txn_id")
    out = out.sort_values(["ts", "txn_id"], kind="stable", na_position="last")
    return out.reindex(columns=PROCEEDS_COLUMNS).reset_index(drop=True)


def _money(
    received: pd.DataFrame, sent: pd.DataFrame, account_id: str, won_per_credit: float
) -> dict[str, float]:
    """``proceeds_krw``, ``distinct_payers`` and ``distinct_payees`` of the account over the
    dossier's own records (so a scoped dossier gives the scope's figures), by the analysis'
    definition (:func:`graphintel.analytics.economy.account_economy`)."""
    from graphintel.analytics.economy import RECONCILIATION_COLUMNS, account_economy

    pay = pd.concat([received, sent], ignore_index=True).drop_duplicates("txn_id")
    ids = {account_id} | set(pay["from_id"].dropna().astype(str))
    ids |= set(pay["to_id"].dropna().astype(str))
    codes = np.array(sorted(ids), dtype=object)
    none = pd.DataFrame({c: pd.Series(dtype=object) for c in RECONCILIATION_COLUMNS})
    econ = account_economy(pay, codes, none, won_per_credit=won_per_credit)
    row = econ[econ["account_id"] == account_id].iloc[0]
    return {k: row[k] for k in ("proceeds_krw", "distinct_payers", "distinct_payees")}


def _number(value: object, fmt: str) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "not computed (run graphintel analyze)"
    return "not computed (run graphintel analyze)" if np.isnan(number) else format(number, fmt)


def _csv(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = guard_spreadsheet_text(out[col])
    out.to_csv(path, index=False, lineterminator="\n")


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "; ".join(str(v) for v in value)
    return str(value)


def _html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p class='none'>No records.</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:80em}"
    ".warning{font-weight:bold;border:2px solid #a00;padding:.5em}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}"
)


def write_dossier(
    store: GraphStore,
    account_id: str,
    out: str | Path,
    *,
    scope: Iterable[str] | None = None,
    results: Mapping[str, pd.DataFrame] | None = None,
    generated_by: str = "",
    generated_at: str = "",
) -> DossierReport:
    """Write the dossier of ``account_id`` into the new folder ``out``.

    Parameters
    ----------
    scope : iterable of str, optional
        Source ids the reader may see: the records are as only those sources reported them
        (:func:`graphintel.scope.scoped_tables`), other sources' provenance is left out
        (``None``: every source, as stored).
    results : mapping, optional
        Analytics results to use (``account_metrics``, ``priority_components``,
        ``priority_evidence``) instead of the store's, e.g. a case view's. With ``scope`` and
        no ``results`` they are computed for the scope (the store's analyze options, over the
        scoped tables: :func:`graphintel.case_view.scoped_results`).

    Raises
    ------
    DossierError
        Unknown account (or one outside ``scope``), or ``out`` exists and is not empty;
        nothing is written.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DossierError(
            f"{out} exists and is not an empty folder: give a new folder for the dossier "
            "(an existing one is never overwritten)"
        )
    allowed = None if scope is None else {str(s) for s in scope}
    if allowed is None:

        def table(name: str, col: str, value: str) -> pd.DataFrame:
            return store.table(name, where={col: [value]})

    else:
        from graphintel.scope import scoped_tables

        scoped = scoped_tables(store, allowed)

        def table(name: str, col: str, value: str) -> pd.DataFrame:
            frame = scoped[name]
            return frame[frame[col] == value].reset_index(drop=True)

    acc = table("accounts", "account_id", account_id)
    if acc.empty:
        raise DossierError(
            f"unknown account {account_id!r}: no account with that id is in store {store.uri}"
            + ("" if allowed is None else " among the sources you may see")
            + "; account ids are as ingested (e.g. user123 for Telegram exports)"
        )
    sources = store.sources()
    retracted = set(store.retractions()["source_id"].astype(str))
    sources = sources[~sources["source_id"].astype(str).isin(retracted)]
    if allowed is not None:
        sources = sources[sources["source_id"].isin(allowed)]
    files = _source_files(sources)

    if allowed is not None and results is None:
        # the score as the permitted sources alone give it, not the store-wide one
        from graphintel.case_view import scoped_results

        results = scoped_results(store, scoped)

    def result(name: str) -> pd.DataFrame:
        if results is not None and name in results:
            return results[name]
        return store.results(name)

    metrics = result("account_metrics")
    mrow = metrics[metrics["account_id"] == account_id] if not metrics.empty else metrics
    comps = result("priority_components")
    comps = comps[comps["account_id"] == account_id] if not comps.empty else comps
    comps = comps.reindex(columns=["component", "value", "weight", "contribution"])
    ev = result("priority_evidence")
    ev = ev[ev["account_id"] == account_id] if not ev.empty else ev
    ev = ev.reindex(columns=["component", "record_table", "record_key", "detail", "source_ids"])
    ev["source_ids"] = [
        list(v) if isinstance(v, (list, np.ndarray)) else [] for v in ev["source_ids"]
    ]
    ev_rows = pd.concat(
        [
            _with_provenance(part, str(tbl), sources, files, allowed)
            for tbl, part in ev.groupby("record_table", sort=False)
        ]
        or [ev.assign(source_id=None).iloc[0:0]],
        ignore_index=True,
    ).reindex(columns=["component", "record_table", "record_key", "detail", *PROVENANCE])

    records = {
        name: (tbl, _with_provenance(frame, tbl, sources, files, allowed))
        for name, (tbl, frame) in _account_records(table, account_id).items()
    }
    summary = result("summary")
    economy = {}
    if not summary.empty:
        import json

        rows = summary[summary["key"] == "economy"]
        economy = json.loads(rows["value"].iloc[0]) if len(rows) else {}
    from graphintel.analytics.economy import DEFAULT_WON_PER_CREDIT

    won = float(economy.get("won_per_credit") or DEFAULT_WON_PER_CREDIT)
    received = table("transactions", "to_id", account_id)
    proceeds = _proceeds(received, won, sources, files, allowed)
    money = _money(received, table("transactions", "from_id", account_id), account_id, won)
    account = acc.iloc[0]
    score = (
        float(mrow["priority_score"].iloc[0])
        if len(mrow) and pd.notna(mrow["priority_score"].iloc[0])
        else None
    )
    rank = mrow["priority_rank"].iloc[0] if len(mrow) and "priority_rank" in mrow else None

    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        report = DossierReport(account_id=account_id, out=out)
        _csv(comps, tmp / "components.csv")
        _csv(ev_rows, tmp / "evidence.csv")
        report.rows["components"] = len(comps)
        report.rows["evidence"] = len(ev_rows)
        for name, (_tbl, frame) in records.items():
            _csv(frame, tmp / f"{name}.csv")
            report.rows[name] = len(frame)
        _csv(proceeds, tmp / "proceeds.csv")
        report.rows["proceeds"] = len(proceeds)
        used = set(ev_rows["source_id"].dropna())
        for _tbl, frame in records.values():
            used |= set(frame["source_id"].dropna())
        src = sources[sources["source_id"].isin(used)].copy()
        src["files"] = [
            "; ".join(str(x) for x in f) if isinstance(f, (list, np.ndarray)) else ""
            for f in src["files"]
        ]
        src = src.drop(columns=["file_hashes"], errors="ignore")
        _csv(src, tmp / "sources.csv")
        report.cases = sorted({str(c) for c in src["case_id"]})

        parts = [
            f"<!-- {html.escape(DISCLAIMER)} -->",
            "<!DOCTYPE html>",
            "<html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape('Dossier ' + account_id)} — a ranking for review</title>",
            f"<style>{_STYLE}</style></head><body>",
            f"<p class='warning'>{html.escape(DISCLAIMER)}</p>",
            f"<h1>Account {html.escape(account_id)}</h1>",
            "<p>Handle: "
            + html.escape(_cell(account.get("handle")))
            + " · Display name: "
            + html.escape(_cell(account.get("display_name")))
            + " · Inferred: "
            + html.escape(_cell(account.get("inferred")))
            + "</p>",
            "<p>Priority score: "
            + html.escape(
                "not computed (run graphintel analyze)" if score is None else f"{score:.4f}"
            )
            + " · Rank: "
            + html.escape(_cell(rank))
            + "</p>",
            "<p>Generated "
            + html.escape(generated_at)
            + (" by " + html.escape(generated_by) if generated_by else "")
            + f" from store {html.escape(store.uri)}. Every record below names the source that"
            " reported it; check each at its source before acting on it.</p>",
            "<h2>Priority components</h2>",
            _html_table(comps),
        ]
        for component in comps["component"].dropna().unique():
            rows = ev_rows[ev_rows["component"] == component].drop(columns=["component"])
            parts += [f"<h3>Records behind {html.escape(str(component))}</h3>", _html_table(rows)]
        titles = {
            "rooms": "Rooms owned or administered",
            "invites": "Invitations sent",
            "payments": "Payments sent and received",
            "content": "Content hashes posted",
        }
        parts += [
            "<h2>Proceeds</h2>",
            "<p>Proceeds: "
            + html.escape(_number(money["proceeds_krw"], ",.0f"))
            + " won · distinct payers: "
            + html.escape(_number(money["distinct_payers"], ",.0f"))
            + " · distinct payees: "
            + html.escape(_number(money["distinct_payees"], ",.0f"))
            + "</p>",
            "<p>"
            + html.escape(
                f"proceeds_krw is the sum over the purchases this account received of amount_krw "
                f"where it was recorded, else credits × {won:,g} won (the won per credit of the "
                f"analysis); basis says which. {len(proceeds)} purchases, "
                f"{proceeds['won'].sum():,.0f} won in all:"
            )
            + "</p>",
            _html_table(proceeds),
        ]
        for name, (_tbl, frame) in records.items():
            parts += [f"<h2>{html.escape(titles[name])}</h2>", _html_table(frame)]
        parts += ["<h2>Sources</h2>", _html_table(src), "</body></html>", ""]
        (tmp / "index.html").write_text("\n".join(parts), encoding="utf-8")

        names = sorted(p.name for p in tmp.iterdir())
        report.files = {n: _sha256(tmp / n) for n in names}
        manifest = "".join(f"{report.files[n]}  {n}\n" for n in names)
        (tmp / MANIFEST).write_text(manifest, encoding="utf-8")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def verify_dossier(folder: str | Path) -> int:
    """Check every file of a dossier against its ``MANIFEST.sha256``; return the file count.

    Raises
    ------
    DossierError
        No manifest, or files changed, missing or added (all of them are named).
    """
    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise DossierError(
            f"{folder} holds no {MANIFEST}: not a graphintel dossier, or its manifest was removed"
        )
    expected: dict[str, str] = {}
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest) or not name:
            raise DossierError(f"{manifest} line {number} is not 'SHA256  NAME': it was edited")
        expected[name] = digest
    present = {
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p != manifest
    }
    changed = sorted(n for n in expected if n in present and _sha256(folder / n) != expected[n])
    missing = sorted(set(expected) - present)
    added = sorted(present - set(expected))
    if changed or missing or added:
        parts = []
        for label, names in (("changed", changed), ("missing", missing), ("added", added)):
            if names:
                parts.append(f"{label}: {', '.join(names)}")
        raise DossierError(
            f"the dossier {folder} is not intact ({'; '.join(parts)}); do not rely on it — "
            "generate it again from the store"
        )
    return len(expected)
