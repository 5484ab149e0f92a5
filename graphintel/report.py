"""The `graphintel report` summary: one plain dict, the same for every store.

Schema (DESIGN.md): ``store``, ``counts``, ``communities`` {method, count, modularity}, ``referral``
{roots, max_depth, largest_cascade}, ``top_operators`` [{account_id, score, components}]. Before
``analyze`` has run, the analytics parts hold their empty values (method ``None``, zeros, ``[]``).

Added by the invitation-credit economy: ``economy`` {won_per_credit, rewards, matched,
reward_without_invite, invite_without_reward, proceeds_krw, rooms: [{channel_id, reward_rate,
rewards_matched, rewards_without_invite, invites_without_reward, proceeds_krw}]} — the rooms
with the most unmatched records first (leads to check, not findings).

Added to DESIGN.md's schema: ``takedowns`` (:func:`graphintel.takedowns.takedown_figures`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from graphintel.errors import ConfigError
from graphintel.store.base import GraphStore
from graphintel.takedowns import format_takedowns_table, takedown_figures

__all__ = [
    "build_compare",
    "build_report",
    "economy_summary",
    "format_compare_table",
    "format_report_table",
    "summary_value",
]


def summary_value(store: GraphStore, key: str, default: Any = None) -> Any:
    """One JSON value of the analytics ``summary`` result (``default`` before analytics ran)."""
    summary = store.results("summary")
    if summary.empty:
        return default
    rows = summary[summary["key"] == key]
    if rows.empty:
        return default
    return json.loads(rows["value"].iloc[0])


def _num(value: Any, kind=float):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return kind(0)
    return kind(value)


def build_report(store: GraphStore, *, top: int = 10) -> dict[str, Any]:
    """Summarise what ``store`` holds (schema in the module docstring)."""
    communities = summary_value(store, "communities") or {}
    referral = summary_value(store, "referral") or {}
    report: dict[str, Any] = {
        "store": store.uri,
        "counts": store.counts(),
        "communities": {
            "method": communities.get("method"),
            "count": _num(communities.get("count"), int),
            "modularity": round(_num(communities.get("modularity")), 6),
        },
        "referral": {
            "roots": _num(referral.get("roots"), int),
            "max_depth": _num(referral.get("max_depth"), int),
            "largest_cascade": _num(referral.get("largest_cascade"), int),
        },
        "top_operators": top_operators(store, top=top),
        "economy": economy_summary(store, top=top),
        "takedowns": takedown_figures(store),
    }
    return report


def economy_summary(store: GraphStore, *, top: int = 10) -> dict[str, Any]:
    """Reconciliation totals and the ``top`` rooms by unmatched records (then proceeds)."""
    econ = summary_value(store, "economy") or {}
    out: dict[str, Any] = {
        "won_per_credit": econ.get("won_per_credit"),
        "rewards": _num(econ.get("rewards"), int),
        "matched": _num(econ.get("matched"), int),
        "reward_without_invite": _num(econ.get("reward_without_invite"), int),
        "invite_without_reward": _num(econ.get("invite_without_reward"), int),
        "proceeds_krw": round(_num(econ.get("proceeds_krw")), 2),
        "rooms": [],
    }
    rooms = store.results("room_economy")
    if rooms.empty:
        return out
    rooms = rooms.assign(
        _unmatched=rooms["rewards_without_invite"] + rooms["invites_without_reward"],
        _id=rooms["channel_id"].fillna(""),
    )
    rooms = rooms.sort_values(
        ["_unmatched", "proceeds_krw", "_id"], ascending=[False, False, True]
    ).head(top)
    for r in rooms.itertuples(index=False):
        rate = None if pd.isna(r.reward_rate) else round(float(r.reward_rate), 6)
        out["rooms"].append(
            {
                "channel_id": None if pd.isna(r.channel_id) else str(r.channel_id),
                "reward_rate": rate,
                "rewards_matched": int(r.rewards_matched),
                "rewards_without_invite": int(r.rewards_without_invite),
                "invites_without_reward": int(r.invites_without_reward),
                "proceeds_krw": round(float(r.proceeds_krw), 2),
            }
        )
    return out


def top_operators(store: GraphStore, *, top: int = 10) -> list[dict[str, Any]]:
    """The ``top`` accounts by priority score with each component's contribution."""
    metrics = store.results("account_metrics")
    if metrics.empty or "priority_score" not in metrics:
        return []
    score = pd.to_numeric(metrics["priority_score"], errors="coerce").fillna(0).to_numpy(float)
    positive = np.flatnonzero(score > 0)
    if len(positive) > top > 0:  # only rows scoring at least the top-th score can be in the top
        kth = np.partition(score[positive], len(positive) - top)[len(positive) - top]
        positive = positive[score[positive] >= kth]
    scored = metrics.iloc[positive]
    scored = scored.sort_values(["priority_score", "account_id"], ascending=[False, True]).head(top)
    parts = store.results("priority_components")
    out = []
    for account_id, score in zip(scored["account_id"], scored["priority_score"]):
        mine = parts[parts["account_id"] == account_id] if not parts.empty else parts
        components = {
            str(c): round(float(v), 6)
            for c, v in sorted(zip(mine.get("component", []), mine.get("contribution", [])))
        }
        out.append(
            {
                "account_id": str(account_id),
                "score": round(float(score), 6),
                "components": components,
            }
        )
    return out


def format_report_table(report: dict[str, Any]) -> str:
    """The report as aligned plain text for a terminal."""
    lines = [f"Store: {report['store']}", "", "Records"]
    for key, value in report["counts"].items():
        lines.append(f"  {key:<14}{value:>12,}")
    c, r = report["communities"], report["referral"]
    lines += ["", "Communities"]
    if c["method"]:
        lines.append(
            f"  {c['count']:,} communities ({c['method']}), modularity {c['modularity']:.4f}"
        )
    else:
        lines.append("  not computed yet: run `graphintel analyze`")
    lines += ["", "Referral cascades"]
    if report["communities"]["method"]:
        lines.append(
            f"  {r['roots']:,} roots, max depth {r['max_depth']}, largest cascade "
            f"{r['largest_cascade']:,} accounts"
        )
    else:
        lines.append("  not computed yet: run `graphintel analyze`")
    lines += ["", "Top operators by priority (a ranking for review, not a finding of guilt)"]
    if not report["top_operators"]:
        lines.append("  none ranked yet")
    for i, op in enumerate(report["top_operators"], start=1):
        parts = ", ".join(f"{k} {v:.2f}" for k, v in op["components"].items() if v)
        lines.append(f"  {i:>2}. {op['account_id']:<16} score {op['score']:.3f}  ({parts})")
    e = report.get("economy")
    if e and e.get("won_per_credit") is not None:
        lines += ["", "Invitation-credit economy (leads to check, not findings)"]
        lines.append(
            f"  {e['rewards']:,} referral rewards: {e['matched']:,} matched to an invite, "
            f"{e['reward_without_invite']:,} without one (an invite not yet in the evidence?); "
            f"{e['invite_without_reward']:,} invites without a reward"
        )
        lines.append(
            f"  proceeds {e['proceeds_krw']:,.0f} won (purchases received; "
            f"{e['won_per_credit']:,g} won a credit where no amount is given)"
        )
        if e["rooms"]:
            lines.append(
                f"  {'room':<18}{'credits/invite':>15}{'matched':>9}{'reward, no invite':>19}"
                f"{'invite, no reward':>19}{'proceeds (won)':>16}"
            )
        for r in e["rooms"]:
            rate = "—" if r["reward_rate"] is None else f"{r['reward_rate']:.2f}"
            room = r["channel_id"] if r["channel_id"] is not None else "(no room named)"
            lines.append(
                f"  {room:<18}{rate:>15}{r['rewards_matched']:>9,}"
                f"{r['rewards_without_invite']:>19,}{r['invites_without_reward']:>19,}"
                f"{r['proceeds_krw']:>16,.0f}"
            )
    if "takedowns" in report:
        lines += format_takedowns_table(report["takedowns"])
    return "\n".join(lines)


def build_compare(
    store: GraphStore, at: str, *, window_days: int = 30, drop: float = 0.5, top: int = 20
) -> dict[str, Any]:
    """`graphintel compare --at DATE`: rooms before and after ``at`` and their members' moves
    (:func:`graphintel.analytics.economy.before_after` over the ``room_activity`` result and the
    stored memberships and invites).

    Returns ``{"store", "at", "window_days", "drop", "statuses": {status: rooms}, "rooms": [...],
    "moves": [...]}``; ``rooms`` leaves out the ``continued`` ones and, like ``moves``, lists at
    most ``top``.

    Raises
    ------
    ConfigError
        A date that is not ``YYYY-MM-DD``, a window below 1 day, ``drop`` outside 0..1, or a
        store not analysed yet.
    """
    from graphintel.analytics.economy import COMPARE_STATUSES, before_after, room_joins
    from graphintel.analytics.graph import prepare_tables

    day = pd.to_datetime(str(at)[:10], format="%Y-%m-%d", errors="coerce")
    if pd.isna(day) or len(str(at)) < 10:
        raise ConfigError(f"--at {at!r} is not a date: use YYYY-MM-DD, e.g. --at 2024-08-28")
    if int(window_days) < 1:
        raise ConfigError(f"--window-days {window_days!r}: use a whole number of days ≥ 1")
    if not (isinstance(drop, (int, float)) and 0 < float(drop) <= 1):
        raise ConfigError(f"--drop {drop!r}: use a fraction above 0 and at most 1, e.g. 0.5")
    if summary_value(store, "economy") is None:
        raise ConfigError(
            f"no analytics in {store.uri} yet: run `graphintel analyze --store {store.uri}` first"
        )
    tables = prepare_tables(
        {
            "memberships": store.table(
                "memberships", columns=["account_id", "channel_id", "joined_at"]
            ),
            "invites": store.table("invites", columns=["invitee_id", "channel_id", "invited_at"]),
        },
        columns={
            "memberships": ("account_id", "channel_id", "joined_at"),
            "invites": ("invitee_id", "channel_id", "invited_at"),
        },
    )
    out = before_after(
        store.results("room_activity"),
        room_joins(tables),
        day.strftime("%Y-%m-%d"),
        window_days=int(window_days),
        drop=float(drop),
    )
    rooms, moves = out["rooms"], out["moves"]
    counts = rooms["status"].value_counts()
    listed = rooms[rooms["status"] != "continued"].head(top)
    return {
        "store": store.uri,
        "at": day.strftime("%Y-%m-%d"),
        "window_days": int(window_days),
        "drop": float(drop),
        "statuses": {s: int(counts.get(s, 0)) for s in COMPARE_STATUSES},
        "rooms": [
            {
                "channel_id": str(r.channel_id),
                "status": str(r.status),
                "before": int(r.before),
                "after": int(r.after),
                "first_day": r.first_day,
                "last_day": r.last_day,
            }
            for r in listed.itertuples(index=False)
        ],
        "moves": [
            {
                "from_channel_id": str(m.from_channel_id),
                "to_channel_id": str(m.to_channel_id),
                "members": int(m.members),
                "first_joined_at": m.first_joined_at,
            }
            for m in moves.head(top).itertuples(index=False)
        ],
    }


def format_compare_table(out: dict[str, Any]) -> str:
    """:func:`build_compare` as aligned plain text."""
    w = out["window_days"]
    st = out["statuses"]
    lines = [
        f"Store: {out['store']}",
        f"Rooms {w} days before and after {out['at']} (records per room; leads to check)",
        "",
        (
            f"  {st['stopped']:,} stopped, {st['dropped']:,} dropped, "
            f"{st['appeared']:,} appeared, {st['continued']:,} continued"
        ),
        "",
        f"  {'room':<20}{'status':<11}{'before':>8}{'after':>8}  first day   last day",
    ]
    for r in out["rooms"]:
        lines.append(
            f"  {r['channel_id']:<20}{r['status']:<11}{r['before']:>8,}{r['after']:>8,}  "
            f"{r['first_day']}  {r['last_day']}"
        )
    lines += ["", "Where members of stopped and dropped rooms went (joined after the date)"]
    if not out["moves"]:
        lines.append("  no member joined another room in the window")
    for m in out["moves"]:
        lines.append(
            f"  {m['from_channel_id']:<20} -> {m['to_channel_id']:<20}{m['members']:>6,} "
            f"members (first {m['first_joined_at']})"
        )
    return "\n".join(lines)
