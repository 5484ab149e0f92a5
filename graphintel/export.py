"""Exports other tools open: CSV tables, GraphML and GEXF (Gephi).

Text from the data (handles, names, titles, ids) is written as data, never interpreted: every text
cell of a CSV export that a spreadsheet would run as a formula (starting with ``= + - @`` or a
control character) is prefixed with ``'``; GraphML/GEXF are written by networkx's XML writers,
which escape markup, after characters XML 1.0 forbids (C0 controls other than tab/LF/CR, lone
surrogates, U+FFFE/U+FFFF) are replaced by their visible escape (``\x01``, ``\ud800``), so the
file parses and distinct ids stay distinct.
"""

from __future__ import annotations

import re
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from graphintel.errors import ConfigError
from graphintel.model import ACCOUNT_METRIC_COLUMNS, CHANNEL_METRIC_COLUMNS
from graphintel.store.base import GraphStore

__all__ = [
    "ACCOUNT_EXPORT_COLUMNS",
    "CHANNEL_EXPORT_COLUMNS",
    "EXPORT_FORMATS",
    "account_export_frame",
    "channel_export_frame",
    "export_graph",
    "export_store",
    "export_takedowns",
    "guard_spreadsheet_text",
    "xml_safe",
]

EXPORT_FORMATS = ("csv", "graphml", "gexf")
ACCOUNT_EXPORT_COLUMNS = (
    "account_id",
    "community",
    "referral_parent",
    "referral_root",
    "referral_depth",
    "referral_descendants",
    "direct_invites",
    "credits_in",
    "credits_out",
    "referral_rewards",
    "priority_score",
    "rewards_matched",
    "rewards_unmatched",
    "proceeds_krw",
    "distinct_payers",
    "distinct_payees",
)
CHANNEL_EXPORT_COLUMNS = ("channel_id", "community", "members", "admins", "proceeds_krw")
_RISKY = ("=", "+", "-", "@", "\t", "\r")
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_safe(value: object) -> object:
    """Text with the characters XML 1.0 forbids replaced by visible escapes; other values as is.

    Example
    -------
    >>> xml_safe("a" + chr(1) + "b" + chr(0xD800))
    'a\\\\x01b\\\\ud800'
    >>> xml_safe(3)
    3
    """
    if isinstance(value, str) and _XML_FORBIDDEN.search(value):
        return _XML_FORBIDDEN.sub(_escape_char, value)
    return value


def guard_spreadsheet_text(values: pd.Series) -> pd.Series:
    """Prefix cells a spreadsheet would evaluate as formulas with ``'``.

    Example
    -------
    >>> guard_spreadsheet_text(pd.Series(["@handle", "=HYPERLINK(1)", "plain"])).tolist()
    ["'@handle", "'=HYPERLINK(1)", 'plain']
    """
    s = values.astype(object)
    text = s.where(s.notna(), "").astype(str)
    risky = text.str.startswith(_RISKY).to_numpy() & s.notna().to_numpy()
    out = s.copy()
    out[risky] = "'" + text[risky]
    return out


def account_export_frame(store: GraphStore) -> pd.DataFrame:
    """One row per account: the design's export columns, then handle, name, flags, sources."""
    accounts = store.table(
        "accounts",
        columns=["account_id", "handle", "display_name", "is_bot", "inferred", "source_ids"],
    )
    metrics = store.results("account_metrics")
    if metrics.empty:
        metrics = pd.DataFrame({c: pd.Series(dtype=object) for c in ACCOUNT_METRIC_COLUMNS})
    merged = accounts.merge(metrics, on="account_id", how="left")
    cols = (
        list(ACCOUNT_EXPORT_COLUMNS)
        + [c for c in ACCOUNT_METRIC_COLUMNS if c not in ACCOUNT_EXPORT_COLUMNS]
        + ["handle", "display_name", "is_bot", "inferred", "source_ids"]
    )
    return merged.reindex(columns=cols)


def channel_export_frame(store: GraphStore) -> pd.DataFrame:
    """One row per channel: channel_id, community, members, admins, then title, kind, flags."""
    channels = store.table(
        "channels", columns=["channel_id", "title", "kind", "is_public", "inferred", "source_ids"]
    )
    metrics = store.results("channel_metrics")
    if metrics.empty:
        members = store.table("memberships", columns=["account_id", "channel_id", "role"])
        grouped = members.groupby("channel_id")
        metrics = pd.DataFrame(
            {
                "members": grouped["account_id"].nunique(),
                "admins": grouped["role"].agg(lambda r: int(r.isin(["admin", "owner"]).sum())),
            }
        ).reset_index()
        metrics["community"] = None
        metrics = metrics.reindex(columns=CHANNEL_METRIC_COLUMNS)
    merged = channels.merge(metrics, on="channel_id", how="left")
    rooms = store.results("room_economy")
    proceeds = rooms.loc[rooms["channel_id"].notna(), ["channel_id", "proceeds_krw"]]
    merged = merged.merge(proceeds, on="channel_id", how="left")
    merged["proceeds_krw"] = pd.to_numeric(merged["proceeds_krw"], errors="coerce").fillna(0.0)
    for col in ("members", "admins"):
        merged[col] = pd.to_numeric(merged[col], errors="coerce").fillna(0).astype(int)
    cols = list(CHANNEL_EXPORT_COLUMNS) + ["title", "kind", "is_public", "inferred", "source_ids"]
    return merged.reindex(columns=cols)


def cascade_export_frame(store: GraphStore) -> pd.DataFrame:
    """``cascades.csv``: one row per cascade and generation — the cascade's ``root``, ``size``,
    ``generations``, ``generation_gap_hours_mean``, then the generation's figures
    (:data:`graphintel.model.GENERATION_COLUMNS`, ``reproduction`` = recruits per member)."""
    casc = store.results("cascades")[["root", "size", "generations", "generation_gap_hours_mean"]]
    gens = store.results("cascade_generations")
    out = casc.merge(gens, on="root", how="inner")
    return out.sort_values(["size", "root", "generation"], ascending=[False, True, True])


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell guarded (ids and ``source_ids`` included), lists joined with ``;``."""
    out = frame.copy()
    if "source_ids" in out:
        out["source_ids"] = out["source_ids"].map(
            lambda v: ";".join(str(x) for x in v) if isinstance(v, (list, tuple, np.ndarray)) else v
        )
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        text = s.map(lambda v: isinstance(v, str))
        if text.any():
            guarded = guard_spreadsheet_text(s.where(text, None))
            # lone surrogates cannot be encoded as UTF-8: replaced like in GraphML/GEXF
            guarded = guarded.map(xml_safe)
            out[col] = s.astype(object).where(~text, guarded)
    return out


def export_graph(store: GraphStore) -> nx.MultiDiGraph:
    """The whole graph as networkx, with analytics fields on nodes (for GraphML/GEXF).

    Payments and forwards are aggregated per ordered pair (``count``, ``credits``); ``None``
    values are left out (GraphML has no null).
    """
    g = nx.MultiDiGraph()
    accounts = account_export_frame(store)
    channels = channel_export_frame(store)
    orgs = store.table("organizations", columns=["org_id", "name", "kind", "region", "lat", "lon"])

    def add_nodes(frame: pd.DataFrame, key: str, kind: str, label_cols: tuple[str, ...]) -> None:
        frame = frame.drop(columns=["source_ids"], errors="ignore")
        label = None
        for col in label_cols:
            if col in frame:
                label = frame[col] if label is None else label.where(label.notna(), frame[col])
        frame = frame.assign(label=label.where(label.notna(), frame[key]), node_type=kind)
        for rec in frame.to_dict("records"):
            node = xml_safe(f"{kind}:{rec[key]}")
            g.add_node(node, **{k: _plain(v) for k, v in rec.items() if _plain(v) is not None})

    add_nodes(accounts, "account_id", "account", ("handle", "display_name"))
    add_nodes(channels, "channel_id", "channel", ("title",))
    add_nodes(orgs, "org_id", "organization", ("name",))

    def add_edges(frame, src, src_kind, dst, dst_kind, rel, attrs):
        # ``relation``, not ``type``: GEXF's edge ``type`` means directed/undirected/mutual.
        # Each edge gets a file-wide ``id`` so GEXF keeps parallel edges of different relations.
        for rec in frame.to_dict("records"):
            data = {k: _plain(rec[k]) for k in attrs if _plain(rec.get(k)) is not None}
            g.add_edge(
                xml_safe(f"{src_kind}:{rec[src]}"),
                xml_safe(f"{dst_kind}:{rec[dst]}"),
                key=rel,
                relation=rel,
                id=f"e{g.number_of_edges()}",
                **data,
            )

    m = store.table("memberships", columns=["account_id", "channel_id", "role", "joined_at"])
    add_edges(
        m, "account_id", "account", "channel_id", "channel", "MEMBER_OF", ("role", "joined_at")
    )
    inv = store.table("invites", columns=["inviter_id", "invitee_id", "channel_id", "invited_at"])
    add_edges(
        inv.drop_duplicates(["inviter_id", "invitee_id"]),
        "inviter_id",
        "account",
        "invitee_id",
        "account",
        "INVITED",
        ("channel_id", "invited_at"),
    )
    tx = store.table("transactions", columns=["from_id", "to_id", "credits"])
    if len(tx):
        paid = tx.groupby(["from_id", "to_id"], as_index=False).agg(
            credits=("credits", "sum"), count=("credits", "size")
        )
        add_edges(paid, "from_id", "account", "to_id", "account", "PAID", ("credits", "count"))
    fw = store.table("forwards", columns=["from_channel_id", "to_channel_id", "ts"])
    if len(fw):
        agg = fw.groupby(["from_channel_id", "to_channel_id"], as_index=False).agg(
            count=("ts", "size")
        )
        add_edges(
            agg,
            "from_channel_id",
            "channel",
            "to_channel_id",
            "channel",
            "FORWARDED_TO",
            ("count",),
        )
    tg = store.table("targets", columns=["channel_id", "org_id", "first_reported"])
    add_edges(tg, "channel_id", "channel", "org_id", "organization", "TARGETS", ("first_reported",))
    return g


def _plain(v):
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return xml_safe(";".join(str(x) for x in v))
    return xml_safe(v)


def export_takedowns(store: GraphStore, out: Path) -> list[Path]:
    """``takedowns.csv`` (every record with days_to_confirm and reappearances),
    ``takedown_reappearances.csv``, ``takedown_circulating.csv`` and ``takedown_figures.csv``
    (figure, value: the scalar figures of ``report``'s ``takedowns``)."""
    from graphintel.takedowns import figures_from_tables, takedown_tables

    tables = takedown_tables(store)
    figures = figures_from_tables(tables)
    files = {
        "takedowns.csv": tables["records"],
        "takedown_reappearances.csv": tables["reappearances"],
        "takedown_circulating.csv": tables["circulating"],
    }
    paths = []
    for name, frame in files.items():
        _csv_ready(frame).to_csv(out / name, index=False)
        paths.append(out / name)
    rows = [("requests", figures["requests"]), ("hashes", figures["hashes"])]
    rows += [(f"status_{k}", v) for k, v in figures["by_status"].items()]
    rows += [(f"days_to_confirm_{k}", v) for k, v in figures["days_to_confirm"].items()]
    rows += [
        ("reappearances", figures["reappearances"]),
        ("reappeared_hashes", figures["reappeared_hashes"]),
        ("rooms_with_reappearances", len(figures["per_room"])),
        ("operators_with_reappearances", len(figures["per_operator"])),
        ("still_circulating", len(figures["still_circulating"])),
    ]
    pd.DataFrame(rows, columns=["figure", "value"], dtype=object).to_csv(
        out / "takedown_figures.csv", index=False
    )
    return [*paths, out / "takedown_figures.csv"]


def export_store(store: GraphStore, fmt: str, out: str | Path) -> list[Path]:
    """Write the store in ``fmt`` (csv: a folder; graphml/gexf: a file). Returns paths written.

    Raises
    ------
    ConfigError
        Unknown format, or the output path cannot be written (a parent is a file, permissions).
    """
    out = Path(out)
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    try:
        if fmt == "csv":
            out.mkdir(parents=True, exist_ok=True)
            paths = [out / "accounts.csv", out / "channels.csv"]
            _csv_ready(account_export_frame(store)).to_csv(paths[0], index=False)
            _csv_ready(channel_export_frame(store)).to_csv(paths[1], index=False)
            frames = {
                "reconciliation": store.results("reconciliation"),
                "room_economy": store.results("room_economy"),
                "cascades": cascade_export_frame(store),
                "cascade_growth": store.results("cascade_growth"),
            }
            for name, frame in frames.items():
                path = out / f"{name}.csv"
                _csv_ready(frame).to_csv(path, index=False)
                paths.append(path)
            return paths + export_takedowns(store, out)
        out.parent.mkdir(parents=True, exist_ok=True)
        g = export_graph(store)
        if fmt == "graphml":
            nx.write_graphml(g, out)
        else:
            nx.write_gexf(g, out)
        return [out]
    except OSError as err:
        raise ConfigError(
            f"cannot write the export to {out}: {err.strerror or err} ({err.filename or out}). "
            "Give a folder (csv) or file path whose parents are folders you can write"
        ) from err
