"""Watch lists and alerts: be told when something watched shows up in newly ingested evidence.

The watch list and the alerts live in the store (case tables ``watchlist`` and ``alerts`` of
:data:`graphintel.model.CASE_TABLES`), so they travel with the case. The rules are computed
set-wise by the store (:meth:`~graphintel.store.base.GraphStore.alert_candidates`: one SQL
statement in DuckDB, parameterised Cypher in Neo4j); this module turns their matches into alerts:

``watched_org_targeted``
    a room reported as targeting a watched organisation (key: channel, organisation);
``watched_account``
    a watched account (by account id, handle or phone token) that ``created``, ``joined`` or
    ``administers`` a room (key: activity, account, channel), or ``paid`` / ``was_paid`` by
    another account (key: activity, account, counterpart, transaction channel);
``watched_hash_posted``
    a watched content hash posted in a room (key: hash, channel);
``takedown_reappearance``
    a hash posted after a takedown of it was confirmed, watched or not (key: hash, channel);
``watched_keyword_title``
    a room whose title contains a watched keyword, case-insensitively (key: channel).

An alert's id is the first 16 hex digits of the sha256 of its rule and key, so running the rules
again (or re-ingesting the same data) raises nothing new. Phone numbers are never stored: a
watched ``phone:NUMBER`` is replaced by the same keyed HMAC token ingest gives phone numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shlex
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from graphintel.errors import ConfigError, InputFormatError, NotifyError
from graphintel.model import ALERT_KEYS, ALERT_RULES, CASE_TABLES, WATCH_KINDS
from graphintel.store.base import CANDIDATE_COLUMNS, GraphStore

__all__ = [
    "ALERT_COLUMNS",
    "WATCH_COLUMNS",
    "ack_alert",
    "add_watches",
    "alert_ids",
    "alert_records",
    "alerts_view",
    "deep_link",
    "filter_alerts",
    "filter_alerts_view",
    "format_alerts_table",
    "format_watch_table",
    "normalise_watch_values",
    "notify",
    "read_watch_csv",
    "remove_watches",
    "run_alerts",
    "utc_now",
    "watch_frame",
]

ALERT_COLUMNS = tuple(CASE_TABLES["alerts"].column_names)
WATCH_COLUMNS = tuple(CASE_TABLES["watchlist"].column_names)
_SEP = "\x1f"
_PHONE_LIKE = re.compile(r"^\+?[\d\s\-().]+$")
_TS = "%Y-%m-%dT%H:%M:%S"


def utc_now() -> str:
    """The current UTC time in the canonical form ``YYYY-MM-DDTHH:MM:SS``."""
    return dt.datetime.now(dt.UTC).strftime(_TS)


# -- watch list ------------------------------------------------------------------------------------
def normalise_watch_values(
    kind: str, values: Iterable[str], *, pii_key: bytes | None = None, where: str = "command line"
) -> list[str]:
    """The stored form of watch values of ``kind``.

    ``account`` values are an account id, a handle (``@name``, matched case-insensitively), a phone
    number written ``phone:NUMBER`` (stored only as its keyed HMAC token, never raw), a token
    ``pii:…`` or ``id:VALUE`` (an account id that looks like a phone number). Other kinds are kept
    as given (surrounding blanks trimmed): hashes match exactly, keywords case-insensitively.

    Raises
    ------
    ConfigError
        Unknown kind, an empty value, or an account value that looks like a bare phone number.

    Example
    -------
    >>> normalise_watch_values("account", ["A01", "@Op_Alpha", "id:0100000001"])
    ['A01', '@Op_Alpha', '0100000001']
    >>> normalise_watch_values("account", ["phone:010-0000-0001"], pii_key=b"k")[0][:4]
    'pii:'
    """
    if kind not in WATCH_KINDS:
        raise ConfigError(f"unknown watch kind {kind!r}: use one of {', '.join(WATCH_KINDS)}")
    out: list[str] = []
    for i, raw in enumerate(values, start=1):
        value = str(raw).strip()
        if not value or (kind == "account" and value.lstrip("@") == ""):
            raise ConfigError(f"{where}: watch value {i} is empty; give a {kind} to watch")
        if kind == "account":
            low = value.lower()
            if low.startswith("phone:"):
                from ingest.pseudonymise import phone_tokens

                if pii_key is None:
                    raise ConfigError("a phone number needs the PII key to be hashed")
                token = phone_tokens(pd.Series([value[6:]]), pii_key)[0]
                if token is None:
                    raise ConfigError(f"{where}: value {i} ({value!r}) has no digits to hash")
                value = token
            elif low.startswith("id:"):
                value = value[3:].strip()
            elif _PHONE_LIKE.match(value) and sum(ch.isdigit() for ch in value) >= 7:
                raise ConfigError(
                    f"{where}: value {i} looks like a phone number; write it as phone:NUMBER so "
                    "it is stored only as its keyed HMAC token (raw phone numbers are never "
                    "stored), or as id:VALUE if it is an account id"
                )
        out.append(value)
    return out


def watch_frame(
    kind: str, values: Iterable[str], *, note: str | None = None, now: str | None = None
) -> pd.DataFrame:
    """Watch entries (columns :data:`WATCH_COLUMNS`) for already normalised ``values``."""
    vals = list(dict.fromkeys(values))
    return pd.DataFrame(
        {
            "kind": [kind] * len(vals),
            "value": vals,
            "note": [note or None] * len(vals),
            "added_at": [now or utc_now()] * len(vals),
        },
        columns=list(WATCH_COLUMNS),
    )


def read_watch_csv(path: str | Path) -> tuple[list[str], list[str | None]]:
    """Values (and per-row notes) from a CSV with a ``value`` or ``org_id`` column.

    A ``note`` column, when present, gives each entry its note.

    Raises
    ------
    InputFormatError
        The file is missing, not UTF-8 CSV, has neither column, or a value is empty.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFormatError(f"{p}: no such file; give a CSV with a value or org_id column")
    try:
        frame = pd.read_csv(
            p,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
            skip_blank_lines=False,
        )
    except UnicodeDecodeError as err:
        raise InputFormatError(f"{p}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputFormatError(f"{p}: not readable as CSV ({err})") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    col = "value" if "value" in frame else "org_id" if "org_id" in frame else None
    if col is None:
        raise InputFormatError(
            f"{p} line 1: no value or org_id column (have: {', '.join(frame.columns)}); a watch "
            "list CSV needs one of them"
        )
    lines = pd.Series(np.arange(len(frame)) + 2, index=frame.index)  # header is line 1
    blank = (frame == "").all(axis=1)  # an empty line
    frame, lines = frame[~blank], lines[~blank]
    values = frame[col].str.strip()
    empty = np.flatnonzero((values == "").to_numpy())
    if len(empty):
        raise InputFormatError(
            f"{p} line {int(lines.iloc[empty[0]])}, column {col}: required value is empty "
            f"({len(empty)} empty value(s) in all); nothing was added"
        )
    notes = frame["note"].where(frame["note"] != "", None) if "note" in frame else None
    return values.tolist(), (notes.tolist() if notes is not None else [None] * len(values))


def add_watches(store: GraphStore, entries: pd.DataFrame) -> int:
    """Add watch entries; ones already watched are left as they are. Returns entries added."""
    return store.write_case_rows("watchlist", entries)


def remove_watches(store: GraphStore, kind: str, values: list[str]) -> int:
    """Remove watch entries (all or nothing).

    Raises
    ------
    ConfigError
        A value is not on the watch list (nothing is removed).
    """
    current = store.case_table("watchlist")
    have = set(current.loc[current["kind"] == kind, "value"])
    missing = [v for v in values if v not in have]
    if missing:
        shown = ", ".join(repr(v) for v in missing[:5])
        raise ConfigError(
            f"not on the watch list as {kind}: {shown}; nothing was removed (see `graphintel "
            "watch list`)"
        )
    keys = pd.DataFrame({"kind": [kind] * len(values), "value": values})
    return store.delete_case_rows("watchlist", keys)


def format_watch_table(entries: pd.DataFrame) -> str:
    """The watch list as aligned plain text."""
    if entries.empty:
        return "The watch list is empty: add entries with `graphintel watch add --kind KIND VALUE`"
    lines = [f"{'kind':<8} {'value':<36} {'added_at':<20} note"]
    for kind, value, added, note in entries[["kind", "value", "added_at", "note"]].itertuples(
        index=False
    ):
        lines.append(f"{kind:<8} {value:<36} {added or '':<20} {_text(note)}")
    return "\n".join(lines)


# -- alerts ----------------------------------------------------------------------------------------
def alert_ids(candidates: pd.DataFrame) -> pd.Series:
    """The id of each candidate: sha256 of its rule and key columns (:data:`ALERT_KEYS`), 16 hex.

    Example
    -------
    >>> c = pd.DataFrame({"rule": ["watched_keyword_title"] * 2, "channel_id": ["C1", "C1"]})
    >>> ids = alert_ids(c)
    >>> ids[0] == ids[1], len(ids[0])
    (True, 16)
    """
    text = pd.Series("", index=candidates.index, dtype=object)
    for rule, cols in ALERT_KEYS.items():
        mask = (candidates["rule"] == rule).to_numpy()
        if not mask.any():
            continue
        part = candidates.loc[mask, list(cols)].astype(object)
        part = part.where(part.notna(), "").astype(str)
        joined = part[cols[0]].str.cat([part[c] for c in cols[1:]], sep=_SEP) if cols else ""
        text[mask] = rule + _SEP + joined
    return pd.Series(
        [hashlib.sha256(t.encode("utf-8")).hexdigest()[:16] for t in text],
        index=candidates.index,
        dtype=object,
    )


def _as_lists(values: pd.Series) -> pd.Series:
    return values.map(lambda v: list(v) if isinstance(v, (list, tuple, np.ndarray)) else [])


def _collapse(candidates: pd.DataFrame) -> pd.DataFrame:
    """One row per alert id: the watch values that matched and the source ids, sorted unions."""
    c = candidates.copy()
    c["alert_id"] = alert_ids(c)
    c["source_ids"] = _as_lists(c["source_ids"])
    first = (
        c.sort_values(["alert_id", "observed_at"], kind="stable", na_position="last")
        .drop_duplicates("alert_id")
        .drop(columns=["source_ids", "watch_value"])
        .set_index("alert_id")
    )
    sources = (
        c[["alert_id", "source_ids"]]
        .explode("source_ids")
        .dropna()
        .drop_duplicates()
        .sort_values(["alert_id", "source_ids"])
        .groupby("alert_id")["source_ids"]
        .agg(list)
    )
    watched = (
        c[["alert_id", "watch_value"]]
        .dropna()
        .drop_duplicates()
        .sort_values(["alert_id", "watch_value"])
        .groupby("alert_id")["watch_value"]
        .agg("; ".join)
    )
    out = first.join(sources.rename("source_ids")).join(watched.rename("watch_value"))
    out["source_ids"] = _as_lists(out["source_ids"])
    return out.reset_index()


def run_alerts(store: GraphStore, *, now: str | None = None) -> pd.DataFrame:
    """Run every rule over the whole store and store the alerts not raised before.

    Returns
    -------
    pandas.DataFrame
        The new alerts (columns :data:`ALERT_COLUMNS`), sorted by rule order and id; empty when
        nothing new matched. Running again right away returns an empty frame.
    """
    candidates = store.alert_candidates()
    if candidates.empty:
        return _empty_alerts()
    candidates = candidates.reindex(columns=list(CANDIDATE_COLUMNS)).astype(object)
    candidates = candidates.where(candidates.notna(), None)
    for col in ("activity", "watch_kind"):
        candidates[col] = candidates[col].where(candidates[col] != "", None)
    alerts = _collapse(candidates)
    existing = set(store.case_table("alerts")["alert_id"])
    new = alerts[~alerts["alert_id"].isin(existing)].copy()
    if new.empty:
        return _empty_alerts()
    new["raised_at"] = now or utc_now()
    new["acked_at"] = None
    new["ack_note"] = None
    order = {r: i for i, r in enumerate(ALERT_RULES)}
    new = new.assign(_o=new["rule"].map(order)).sort_values(["_o", "alert_id"]).drop(columns="_o")
    new = new.reindex(columns=list(ALERT_COLUMNS)).reset_index(drop=True)
    store.write_case_rows("alerts", new)
    return new


def _empty_alerts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ALERT_COLUMNS})


def _canonical_time(value: str, option: str) -> str:
    parsed = pd.to_datetime(pd.Series([value]), format="ISO8601", errors="coerce", utc=True)[0]
    if pd.isna(parsed):
        raise ConfigError(
            f"{option} {value!r} is not an ISO-8601 date or time (e.g. 2024-08-20 or "
            "2024-08-20T13:05:00, UTC)"
        )
    return parsed.strftime(_TS)


def filter_alerts(
    alerts: pd.DataFrame,
    *,
    rules: Iterable[str] | None = None,
    since: str | None = None,
    open_only: bool = False,
) -> pd.DataFrame:
    """Alerts of the given rules, raised at or after ``since`` (ISO-8601, UTC), optionally only
    the ones not acknowledged; newest first.

    Raises
    ------
    ConfigError
        Unknown rule or unreadable ``since``.
    """
    out = alerts
    if rules:
        rules = list(rules)
        bad = [r for r in rules if r not in ALERT_RULES]
        if bad:
            raise ConfigError(f"unknown alert rule {bad[0]!r}: use one of {', '.join(ALERT_RULES)}")
        out = out[out["rule"].isin(rules)]
    if since:
        start = _canonical_time(since, "--since")
        out = out[out["raised_at"].astype(object).fillna("") >= start]
    if open_only:
        out = out[out["acked_at"].isna()]
    return out.sort_values(["raised_at", "alert_id"], ascending=[False, True]).reset_index(
        drop=True
    )


def ack_alert(store: GraphStore, alert_id: str, note: str, *, now: str | None = None) -> dict:
    """Acknowledge one alert (a unique id prefix of at least 6 characters will do).

    Raises
    ------
    ConfigError
        Empty note, unknown or ambiguous id, or an alert already acknowledged.
    """
    if not note or not note.strip():
        raise ConfigError("--note is empty: say why the alert is closed (what was checked)")
    wanted = alert_id.strip().lower()
    alerts = store.case_table("alerts")
    if len(wanted) < 6:
        raise ConfigError(f"alert id {alert_id!r} is too short: give at least 6 characters")
    hit = alerts[alerts["alert_id"].astype(str).str.startswith(wanted)]
    if hit.empty:
        raise ConfigError(f"no alert {alert_id!r}: see `graphintel alerts list`")
    if len(hit) > 1:
        raise ConfigError(f"alert id {alert_id!r} is ambiguous: give more characters")
    row = hit.iloc[0].to_dict()
    if row.get("acked_at") is not None and not pd.isna(row.get("acked_at")):
        raise ConfigError(
            f"alert {row['alert_id']} was already acknowledged at {row['acked_at']} "
            f"({_text(row.get('ack_note'))})"
        )
    row.update(acked_at=now or utc_now(), ack_note=note.strip())
    frame = pd.DataFrame([row]).reindex(columns=list(ALERT_COLUMNS))
    store.write_case_rows("alerts", frame, replace=True)
    return alert_records(frame)[0]


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def alert_records(alerts: pd.DataFrame) -> list[dict[str, Any]]:
    """Alerts as JSON-ready dicts (keys :data:`ALERT_COLUMNS`; missing values ``None``).

    Example
    -------
    >>> f = pd.DataFrame({"alert_id": ["a"], "rule": ["watched_keyword_title"],
    ...                   "source_ids": [["S1"]]})
    >>> alert_records(f)[0]["source_ids"], alert_records(f)[0]["acked_at"]
    (['S1'], None)
    """
    frame = alerts.reindex(columns=list(ALERT_COLUMNS))
    cols = {c: [_plain(v) for v in frame[c].to_numpy(dtype=object)] for c in ALERT_COLUMNS}
    out = [dict(zip(ALERT_COLUMNS, vals)) for vals in zip(*cols.values())]
    for rec in out:
        rec["source_ids"] = rec["source_ids"] or []
    return out


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def format_alerts_table(alerts: pd.DataFrame) -> str:
    """Alerts as aligned plain text (one line each)."""
    if alerts.empty:
        return "No alerts."
    lines = [f"{'id':<16} {'rule':<22} {'raised_at':<19} {'state':<6} ids · watched · sources"]
    for rec in alert_records(alerts):
        ids = " ".join(
            f"{k}={rec[k]}"
            for k in ("channel_id", "org_id", "account_id", "other_account_id", "content_hash")
            if rec[k]
        )
        what = rec["rule"] + (f":{rec['activity']}" if rec["activity"] else "")
        state = "acked" if rec["acked_at"] else "open"
        watched = f" · watch {rec['watch_value']}" if rec["watch_value"] else ""
        lines.append(
            f"{rec['alert_id']:<16} {what:<22} {rec['raised_at'] or '':<19} {state:<6} {ids}"
            f"{watched} · sources {','.join(rec['source_ids'])}"
        )
    return "\n".join(lines)


def notify(command: str, alerts: pd.DataFrame, *, timeout: float = 120.0) -> int:
    """Pipe ``alerts`` as JSON lines to a local command's stdin (argv by :func:`shlex.split`,
    no shell). Nothing runs when there are no alerts. Returns the number of lines sent.

    Raises
    ------
    NotifyError
        The command cannot be started, fails, or does not finish within ``timeout`` seconds.
    """
    if alerts.empty:
        return 0
    try:
        argv = shlex.split(command)
    except ValueError as err:
        raise NotifyError(
            f"--notify-cmd {command!r} cannot be split into arguments: {err}"
        ) from err
    if not argv:
        raise NotifyError("--notify-cmd is empty: give the command that receives the alerts")
    records = alert_records(alerts)
    payload = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    try:
        done = subprocess.run(
            argv,
            check=False,
            input=payload.encode("utf-8"),
            stdout=subprocess.DEVNULL,
            timeout=timeout,
        )
    except FileNotFoundError as err:
        raise NotifyError(
            f"the notify command {argv[0]!r} was not found; the {len(records)} new alert(s) are "
            "stored (see `graphintel alerts list --open`)"
        ) from err
    except subprocess.TimeoutExpired as err:
        raise NotifyError(
            f"the notify command {argv[0]!r} did not finish within {timeout:.0f} s; the "
            f"{len(records)} new alert(s) are stored (see `graphintel alerts list --open`)"
        ) from err
    if done.returncode != 0:
        raise NotifyError(
            f"the notify command {argv[0]!r} exited with status {done.returncode}; the "
            f"{len(records)} new alert(s) are stored (see `graphintel alerts list --open`)"
        )
    return len(records)


# -- dashboard shaping -----------------------------------------------------------------------------
def deep_link(page: str, **params: str) -> str:
    """A relative link to a dashboard page with query parameters (values URL-encoded).

    Example
    -------
    >>> deep_link("channels", room="C 1&x")
    'channels?room=C%201%26x'
    """
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
    return f"{page}?{query}" if query else page


def alerts_view(
    alerts: pd.DataFrame, channels: pd.DataFrame, accounts: pd.DataFrame
) -> pd.DataFrame:
    """Alerts for the dashboard: room titles and handles beside the ids, and deep links to the
    room (Channel network page) and the account (Referral chains page)."""
    a = alerts.reindex(columns=list(ALERT_COLUMNS)).copy()
    titles = channels.drop_duplicates("channel_id").set_index("channel_id")["title"]
    handles = accounts.drop_duplicates("account_id").set_index("account_id")["handle"]
    a["room"] = a["channel_id"].map(titles)
    a["handle"] = a["account_id"].map(handles)
    a["room_link"] = [
        deep_link("channels", room=c) if isinstance(c, str) and c else None for c in a["channel_id"]
    ]
    a["account_link"] = [
        deep_link("referrals", account=x) if isinstance(x, str) and x else None
        for x in a["account_id"]
    ]
    a["state"] = np.where(a["acked_at"].isna(), "open", "acknowledged")
    a["source_ids"] = _as_lists(a["source_ids"]).map(", ".join)
    cols = [
        "alert_id",
        "rule",
        "activity",
        "state",
        "raised_at",
        "observed_at",
        "channel_id",
        "room",
        "room_link",
        "account_id",
        "handle",
        "account_link",
        "other_account_id",
        "org_id",
        "content_hash",
        "watch_value",
        "source_ids",
        "acked_at",
        "ack_note",
    ]
    return a[cols].reset_index(drop=True)


def filter_alerts_view(
    view: pd.DataFrame,
    *,
    rules: Iterable[str] | None = None,
    state: str = "all",
    since: str | None = None,
    search: str | None = None,
) -> pd.DataFrame:
    """Rows of :func:`alerts_view` by rule, state (``open`` | ``acknowledged`` | ``all``), raised
    at or after ``since`` and a case-insensitive search in ids, room, handle, hash and watch value;
    newest first."""
    out = view
    if rules:
        out = out[out["rule"].isin(list(rules))]
    if state in ("open", "acknowledged"):
        out = out[out["state"] == state]
    if since:
        out = out[out["raised_at"].astype(object).fillna("") >= _canonical_time(since, "since")]
    if search:
        needle = search.strip().lower()
        cols = [
            "alert_id",
            "channel_id",
            "room",
            "account_id",
            "handle",
            "other_account_id",
            "org_id",
            "content_hash",
            "watch_value",
        ]
        text = out[cols].astype(object).where(out[cols].notna(), "").astype(str)
        hit = np.zeros(len(out), dtype=bool)
        for col in cols:
            hit |= text[col].str.lower().str.contains(needle, regex=False).to_numpy(dtype=bool)
        out = out[hit]
    return out.sort_values(["raised_at", "alert_id"], ascending=[False, True]).reset_index(
        drop=True
    )
