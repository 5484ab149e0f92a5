"""Takedown tracking: requests by status, time to confirmation, reappearances, what still circulates.

Takedown records come from bundles (canonical table ``takedowns``: content_hash, requested_at,
status requested|confirmed|refused, confirmed_at, agency, note; key content_hash + requested_at)
or are kept by hand with ``graphintel takedown request|confirm|refuse HASH`` (:func:`record_takedowns`),
under a Source of method :data:`graphintel.model.MANUAL_METHOD` that carries the case, the legal
basis and who keeps the records.

Definitions (the dashboard's Takedowns page, ``report --format json`` and the CSV export use these):

* a **reappearance** is a (hash, room) whose ``content.posted_at`` is after the earliest confirmed
  takedown of the hash (``confirmed_at``); the alert rule ``takedown_reappearance`` is the same;
* **days to confirm** = ``confirmed_at - requested_at`` in days, per confirmed request;
* the **operators** of a room are its creator and its owners and admins;
* a hash is **still circulating** when it reappeared after a confirmed takedown, or when it has no
  confirmed takedown (requested or refused) and is posted in some room of the store.

The store holds one ``posted_at`` per (hash, room) (the latest ingested), so a hash posted in a room
both before and after its takedown counts as a reappearance only if the stored time is after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graphintel.errors import ConfigError
from graphintel.model import MANUAL_METHOD, TABLES, TAKEDOWN_STATUSES, table_columns
from graphintel.store.base import Bundle, GraphStore
from graphintel.watch import _canonical_time, utc_now

__all__ = [
    "DEFAULT_MANUAL_SOURCE",
    "ManualProvenance",
    "figures_from_tables",
    "format_takedowns_table",
    "record_takedowns",
    "takedown_figures",
    "takedown_tables",
]

DEFAULT_MANUAL_SOURCE = "MANUAL-TAKEDOWNS"
_TS = "%Y-%m-%dT%H:%M:%S"


# -- figures ---------------------------------------------------------------------------------------
def _empty(cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})


def takedown_tables(store: GraphStore) -> dict[str, pd.DataFrame]:
    """The takedown tables behind every figure.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``records`` (every takedown with ``days_to_confirm`` and ``reappearances`` after its own
        confirmation), ``reappearances`` (hash, room, posted_at, poster, first confirmation),
        ``per_room``, ``per_operator`` and ``circulating`` (see the module notes).
    """
    td = store.table("takedowns")
    if td.empty:
        return {
            "records": _empty([*table_columns("takedowns"), "days_to_confirm", "reappearances"]),
            "reappearances": _empty(
                ["content_hash", "channel_id", "title", "posted_at", "poster_id", "confirmed_at"]
            ),
            "per_room": _empty(["channel_id", "title", "reappearances", "last_posted_at"]),
            "per_operator": _empty(["account_id", "handle", "rooms", "reappearances"]),
            "circulating": _empty(
                ["content_hash", "status", "reason", "rooms", "last_posted_at", "confirmed_at"]
            ),
        }
    hashes = sorted(td["content_hash"].unique().tolist())
    content = store.table(
        "content",
        columns=["content_hash", "channel_id", "posted_at", "poster_id"],
        where={"content_hash": hashes},
    )
    td = td.copy()
    req = pd.to_datetime(td["requested_at"], format=_TS, errors="coerce")
    conf = pd.to_datetime(td["confirmed_at"], format=_TS, errors="coerce")
    td["days_to_confirm"] = ((conf - req).dt.total_seconds() / 86400.0).round(3)
    confirmed = td[(td["status"] == "confirmed") & td["confirmed_at"].notna()]
    first = confirmed.groupby("content_hash")["confirmed_at"].min().rename("confirmed_at")
    posted = content[content["posted_at"].notna()]
    re = posted.merge(first.reset_index(), on="content_hash")
    re = re[re["posted_at"] > re["confirmed_at"]].sort_values(["content_hash", "channel_id"])
    # per record: rooms where the hash was posted after that record's own confirmation
    per_rec = td[["content_hash", "requested_at", "confirmed_at"]].merge(
        posted[["content_hash", "posted_at"]], on="content_hash"
    )
    per_rec = per_rec[
        per_rec["confirmed_at"].notna() & (per_rec["posted_at"] > per_rec["confirmed_at"])
    ]
    counts = per_rec.groupby(["content_hash", "requested_at"]).size().rename("reappearances")
    records = td.merge(counts.reset_index(), on=["content_hash", "requested_at"], how="left")
    records["reappearances"] = records["reappearances"].fillna(0).astype(int)

    rooms = sorted(re["channel_id"].unique().tolist())
    channels = (
        store.table(
            "channels", columns=["channel_id", "title", "creator_id"], where=({"channel_id": rooms})
        )
        if rooms
        else _empty(["channel_id", "title", "creator_id"])
    )
    titles = channels.set_index("channel_id")["title"]
    re = re.assign(title=re["channel_id"].map(titles))
    re = re[["content_hash", "channel_id", "title", "posted_at", "poster_id", "confirmed_at"]]
    per_room = (
        re.groupby("channel_id")
        .agg(reappearances=("content_hash", "nunique"), last_posted_at=("posted_at", "max"))
        .reset_index()
    )
    per_room.insert(1, "title", per_room["channel_id"].map(titles))
    per_room = per_room.sort_values(["reappearances", "channel_id"], ascending=[False, True])

    ops = _room_operators(store, channels, rooms)
    per_op = ops.merge(re[["content_hash", "channel_id"]], on="channel_id")
    per_operator = (
        per_op.groupby("account_id")
        .agg(rooms=("channel_id", "nunique"), reappearances=("content_hash", "size"))
        .reset_index()
    )
    if len(per_operator):
        acc = store.table(
            "accounts",
            columns=["account_id", "handle"],
            where={"account_id": per_operator["account_id"].tolist()},
        )
        per_operator.insert(
            1, "handle", per_operator["account_id"].map(acc.set_index("account_id")["handle"])
        )
    else:
        per_operator = _empty(["account_id", "handle", "rooms", "reappearances"])
    per_operator = per_operator.sort_values(
        ["reappearances", "account_id"], ascending=[False, True]
    )
    circulating = _circulating(td, posted, re, first)
    return {
        "records": records.reset_index(drop=True),
        "reappearances": re.reset_index(drop=True),
        "per_room": per_room.reset_index(drop=True),
        "per_operator": per_operator.reset_index(drop=True),
        "circulating": circulating,
    }


def _room_operators(store: GraphStore, channels: pd.DataFrame, rooms: list[str]) -> pd.DataFrame:
    """(account_id, channel_id): creators, owners and admins of ``rooms``."""
    if not rooms:
        return _empty(["account_id", "channel_id"])
    creators = channels.loc[channels["creator_id"].notna(), ["creator_id", "channel_id"]].rename(
        columns={"creator_id": "account_id"}
    )
    staff = store.table(
        "memberships", columns=["account_id", "channel_id", "role"], where={"channel_id": rooms}
    )
    staff = staff.loc[staff["role"].isin(["owner", "admin"]), ["account_id", "channel_id"]]
    return pd.concat([creators, staff], ignore_index=True).drop_duplicates()


def _circulating(
    td: pd.DataFrame, posted: pd.DataFrame, re: pd.DataFrame, first: pd.Series
) -> pd.DataFrame:
    latest = td.sort_values(["content_hash", "requested_at"]).drop_duplicates(
        "content_hash", keep="last"
    )[["content_hash", "status"]]
    back = (
        re.groupby("content_hash")
        .agg(rooms=("channel_id", "nunique"), last_posted_at=("posted_at", "max"))
        .reset_index()
    )
    back["reason"] = "reappeared after a confirmed takedown"
    never = latest[~latest["content_hash"].isin(first.index)]
    open_posts = posted[posted["content_hash"].isin(never["content_hash"])]
    still = (
        open_posts.groupby("content_hash")
        .agg(rooms=("channel_id", "nunique"), last_posted_at=("posted_at", "max"))
        .reset_index()
        .merge(never, on="content_hash")
    )
    still["reason"] = np.where(
        still["status"] == "refused", "takedown refused", "takedown requested, not confirmed"
    )
    out = pd.concat([back, still.drop(columns="status")], ignore_index=True)
    out = out.merge(latest, on="content_hash", how="left")
    out["confirmed_at"] = out["content_hash"].map(first)
    out["rooms"] = out["rooms"].astype(int)
    cols = ["content_hash", "status", "reason", "rooms", "last_posted_at", "confirmed_at"]
    return out.reindex(columns=cols).sort_values("content_hash").reset_index(drop=True)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    recs = out.to_dict("records")
    for rec in recs:
        for k, v in rec.items():
            if isinstance(v, (np.integer,)):
                rec[k] = int(v)
            elif isinstance(v, (np.floating,)):
                rec[k] = float(v)
    return recs


def takedown_figures(store: GraphStore) -> dict[str, Any]:
    """The takedown figures of ``store`` as one plain dict (``report --format json`` key
    ``takedowns``); see :func:`figures_from_tables`."""
    return figures_from_tables(takedown_tables(store))


def figures_from_tables(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The takedown figures from :func:`takedown_tables`' tables.

    Keys: ``requests``, ``hashes``, ``by_status`` (every status, zeros included),
    ``days_to_confirm`` {count, median, mean, max}, ``reappearances`` ((hash, room) pairs),
    ``reappeared_hashes``, ``per_room``, ``per_operator`` and ``still_circulating`` (lists of
    plain dicts, the tables of :func:`takedown_tables`).
    """
    t = tables
    rec = t["records"]
    by_status = {s: int((rec["status"] == s).sum()) for s in TAKEDOWN_STATUSES}
    days = pd.to_numeric(rec["days_to_confirm"], errors="coerce").dropna()
    days = days[(rec.loc[days.index, "status"] == "confirmed")]

    def stat(fn) -> float | None:
        return None if days.empty else round(float(fn(days)), 3)

    return {
        "requests": len(rec),
        "hashes": int(rec["content_hash"].nunique()),
        "by_status": by_status,
        "days_to_confirm": {
            "count": len(days),
            "median": stat(np.median),
            "mean": stat(np.mean),
            "max": stat(np.max),
        },
        "reappearances": len(t["reappearances"]),
        "reappeared_hashes": int(t["reappearances"]["content_hash"].nunique()),
        "per_room": _records(t["per_room"]),
        "per_operator": _records(t["per_operator"]),
        "still_circulating": _records(t["circulating"]),
    }


def format_takedowns_table(figures: dict[str, Any]) -> list[str]:
    """Report lines for the terminal."""
    lines = ["", "Takedowns"]
    if not figures["requests"]:
        return [*lines, "  none recorded"]
    s = figures["by_status"]
    d = figures["days_to_confirm"]
    lines.append(
        f"  {figures['requests']:,} requests for {figures['hashes']:,} hashes: "
        f"{s['requested']} requested, {s['confirmed']} confirmed, {s['refused']} refused"
    )
    if d["count"]:
        lines.append(
            f"  days from request to confirmation: median {d['median']:.1f}, mean "
            f"{d['mean']:.1f}, max {d['max']:.1f}"
        )
    lines.append(
        f"  reappearances after confirmation: {figures['reappearances']:,} (hash, room) in "
        f"{len(figures['per_room']):,} rooms; still circulating: "
        f"{len(figures['still_circulating']):,} hashes"
    )
    return lines


# -- records kept by hand --------------------------------------------------------------------------
@dataclass(frozen=True)
class ManualProvenance:
    """What the command line says about the Source of hand-kept takedown records."""

    source_id: str = DEFAULT_MANUAL_SOURCE
    case_id: str | None = None
    legal_basis: str | None = None
    collected_by: str | None = None


def _manual_source(store: GraphStore, prov: ManualProvenance, now: str) -> dict[str, Any]:
    sources = store.sources()
    found = sources[sources["source_id"] == prov.source_id]
    given = {
        "case_id": prov.case_id,
        "legal_basis": prov.legal_basis,
        "collected_by": prov.collected_by,
    }
    given = {k: (v.strip() if isinstance(v, str) and v.strip() else None) for k, v in given.items()}
    if len(found):
        row = found.iloc[0].to_dict()
        if row.get("method") != MANUAL_METHOD:
            raise ConfigError(
                f"source {prov.source_id} came from a bundle (method {row.get('method')}); keep "
                "hand-made takedown records under their own --source-id"
            )
        clash = [k for k, v in given.items() if v is not None and v != row.get(k)]
        if clash:
            raise ConfigError(
                f"source {prov.source_id} already records {clash[0]} {row.get(clash[0])!r}; "
                f"records under other provenance need another --source-id"
            )
        source = {k: row.get(k) for k in ("case_id", "legal_basis", "collected_by", "collected_at")}
    else:
        missing = [k for k, v in given.items() if v is None]
        if missing:
            opts = {"case_id": "--case-id", "legal_basis": "--legal-basis", "collected_by": "--by"}
            raise ConfigError(
                f"the first hand-kept takedown record of source {prov.source_id} needs its "
                f"provenance: give {', '.join(opts[m] for m in missing)} (they are kept on the "
                "source and reused by later records)"
            )
        source = {**given, "collected_at": now[:10]}
    return {
        "source_id": prov.source_id,
        "method": MANUAL_METHOD,
        "files": [],
        "file_hashes": [],
        "ingested_at": now + "Z",
        **source,
    }


def record_takedowns(
    store: GraphStore,
    action: str,
    hashes: list[str],
    *,
    provenance: ManualProvenance,
    at: str | None = None,
    requested_at: str | None = None,
    agency: str | None = None,
    note: str | None = None,
    now: str | None = None,
) -> pd.DataFrame:
    """Record takedown requests, confirmations or refusals kept by hand (all or nothing).

    ``request`` adds a record per hash requested at ``at`` (default now). ``confirm`` /
    ``refuse`` close the open request of each hash (status ``requested``; ``requested_at`` picks
    one when several are open), confirmed at ``at`` (default now).

    Returns
    -------
    pandas.DataFrame
        The records written.

    Raises
    ------
    ConfigError
        Unknown action, empty hash, unreadable time, no (or several) open request, a
        confirmation before its request, or missing / conflicting provenance.
    """
    if action not in ("request", "confirm", "refuse"):
        raise ConfigError(f"unknown takedown action {action!r}: use request, confirm or refuse")
    now = now or utc_now()
    when = _canonical_time(at, "--at") if at else now
    hashes = [h.strip() for h in hashes]
    if not hashes or any(not h for h in hashes):
        raise ConfigError("a takedown needs the content hash it is about (HASH is empty)")
    source = _manual_source(store, provenance, now)
    cols = [c for c in table_columns("takedowns") if c != "source_ids"]
    if action == "request":
        rows = pd.DataFrame(
            {
                "content_hash": list(dict.fromkeys(hashes)),
                "requested_at": when,
                "status": "requested",
                "confirmed_at": None,
                "agency": agency or None,
                "note": note or None,
            }
        )
    else:
        picked = _open_requests(store, hashes, requested_at)
        rows = picked[["content_hash", "requested_at"]].copy()
        rows["status"] = "confirmed" if action == "confirm" else "refused"
        rows["confirmed_at"] = when if action == "confirm" else None
        rows["agency"] = agency or None
        rows["note"] = note or None
        early = rows["requested_at"] > when
        if action == "confirm" and early.any():
            first = rows[early].iloc[0]
            raise ConfigError(
                f"takedown of {first['content_hash']} was requested at {first['requested_at']}, "
                f"after the confirmation time {when}: dates out of order"
            )
    rows = rows.reindex(columns=cols)
    tables = {
        t: pd.DataFrame({c: pd.Series(dtype=object) for c in table_columns(t) if c != "source_ids"})
        for t in TABLES
    }
    tables["takedowns"] = rows
    store.write_bundle(Bundle(source=source, tables=tables))
    return rows.drop(columns=["evidence"])


def _open_requests(store: GraphStore, hashes: list[str], requested_at: str | None) -> pd.DataFrame:
    current = store.table("takedowns", where={"content_hash": list(dict.fromkeys(hashes))})
    wanted = _canonical_time(requested_at, "--requested-at") if requested_at else None
    picked = []
    for h in dict.fromkeys(hashes):
        mine = current[(current["content_hash"] == h) & (current["status"] == "requested")]
        if wanted is not None:
            mine = mine[mine["requested_at"] == wanted]
        if mine.empty:
            what = f" requested at {wanted}" if wanted else ""
            raise ConfigError(
                f"no open takedown request{what} for {h}: record it first with `graphintel "
                f"takedown request {h}` (see the Takedowns page for its records)"
            )
        if len(mine) > 1:
            times = ", ".join(mine["requested_at"].astype(str))
            raise ConfigError(
                f"{h} has {len(mine)} open takedown requests ({times}); pick one with "
                "--requested-at"
            )
        picked.append(mine)
    return pd.concat(picked, ignore_index=True)
