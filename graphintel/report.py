"""The `graphintel report` summary: one plain dict, the same for every store.

Schema (DESIGN.md): ``store``, ``counts``, ``communities`` {method, count, modularity}, ``referral``
{roots, max_depth, largest_cascade}, ``top_operators`` [{account_id, score, components}]. Before
``analyze`` has run, the analytics parts hold their empty values (method ``None``, zeros, ``[]``).
Added to DESIGN.md's schema: ``takedowns`` (:func:`graphintel.takedowns.takedown_figures`).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from graphintel.store.base import GraphStore
from graphintel.takedowns import format_takedowns_table, takedown_figures

__all__ = ["build_report", "format_report_table", "summary_value"]


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
        "takedowns": takedown_figures(store),
    }
    return report


def top_operators(store: GraphStore, *, top: int = 10) -> list[dict[str, Any]]:
    """The ``top`` accounts by priority score with each component's contribution."""
    metrics = store.results("account_metrics")
    if metrics.empty or "priority_score" not in metrics:
        return []
    scored = metrics[pd.to_numeric(metrics["priority_score"], errors="coerce").fillna(0) > 0]
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
    if "takedowns" in report:
        lines += format_takedowns_table(report["takedowns"])
    return "\n".join(lines)
