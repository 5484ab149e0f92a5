"""The `graphintel` command line (DESIGN.md "CLI contract").

Exit status 0 on success; on a user mistake or an unavailable service a one-paragraph message on
stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from graphintel import __version__
from graphintel.config import Settings, load_settings
from graphintel.errors import (
    MESSAGE_LIMIT,
    ConfigError,
    GraphIntelError,
    clip,
    current_stage,
    resource_exhausted,
    set_stage,
)

__all__ = ["build_parser", "main"]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_BUNDLE = REPO_ROOT / "sample_data" / "demo"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="URI",
        help="duckdb:PATH (default duckdb:workspace/graph.duckdb, or $GRAPHINTEL_STORE) or "
        "bolt://host:port / neo4j://host:port with NEO4J_USERNAME / NEO4J_PASSWORD",
    )


def _cases_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cases",
        metavar="CASE_ID,…",
        help="read only what these cases' sources reported, through their case view (built if "
        "missing or stale, as the dashboard does); a scoped GRAPHINTEL_USER gets their cases",
    )


def _notify_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--notify-cmd",
        metavar="CMD",
        help="local command that receives the new alerts as JSON lines on stdin (split like a "
        "shell would, run without a shell; not run when nothing new was raised)",
    )


def _add_watch_parsers(sub) -> None:
    from graphintel.model import WATCH_KINDS

    p = sub.add_parser("watch", help="watch list: organisations, accounts, hashes, keywords")
    ws = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = ws.add_parser("add", help="watch values of one kind")
    a.add_argument("values", nargs="*", metavar="VALUE")
    a.add_argument(
        "--kind",
        choices=WATCH_KINDS,
        help="org (organisation id), account (id, @handle or phone:NUMBER), hash (exact), keyword "
        "(in room titles, case-insensitive); default org with --from-csv on an org_id column",
    )
    a.add_argument("--note", help="why it is watched")
    a.add_argument("--from-csv", metavar="FILE", help="CSV with a value or org_id column")
    _store_option(a)
    ls = ws.add_parser("list", help="print the watch list")
    ls.add_argument("--kind", choices=WATCH_KINDS)
    ls.add_argument("--format", choices=("table", "json"), default="table")
    _store_option(ls)
    r = ws.add_parser("remove", help="stop watching values")
    r.add_argument("values", nargs="+", metavar="VALUE")
    r.add_argument("--kind", choices=WATCH_KINDS, required=True)
    _store_option(r)

    from graphintel.model import ALERT_RULES

    p = sub.add_parser("alerts", help="alerts raised by the watch list and takedowns")
    al = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = al.add_parser("run", help="run every alert rule over the whole store")
    _store_option(run)
    _notify_option(run)
    ls = al.add_parser("list", help="print alerts (newest first)")
    ls.add_argument("--format", choices=("table", "json"), default="table")
    ls.add_argument("--rule", action="append", choices=ALERT_RULES, help="repeatable")
    ls.add_argument("--since", metavar="TIME", help="raised at or after (ISO-8601, UTC)")
    ls.add_argument("--open", action="store_true", help="only alerts not acknowledged")
    _store_option(ls)
    ack = al.add_parser("ack", help="acknowledge an alert")
    ack.add_argument("alert_id", metavar="ID", help="alert id (a unique prefix of 6+ characters)")
    ack.add_argument("--note", required=True, help="what was checked")
    _store_option(ack)

    p = sub.add_parser("takedown", help="takedown records kept by hand")
    p.add_argument("action", choices=("request", "confirm", "refuse"))
    p.add_argument("hashes", nargs="+", metavar="HASH")
    p.add_argument("--agency", help="who was asked / who confirmed")
    p.add_argument("--note")
    p.add_argument("--at", metavar="TIME", help="when (ISO-8601, UTC; default now)")
    p.add_argument(
        "--requested-at", metavar="TIME", help="confirm/refuse: which open request (if several)"
    )
    p.add_argument(
        "--source-id",
        default="MANUAL-TAKEDOWNS",
        help="Source the records are kept under (default MANUAL-TAKEDOWNS)",
    )
    p.add_argument("--case-id", help="case of the source (needed on its first record)")
    p.add_argument("--legal-basis", help="legal basis of the source (needed on its first record)")
    p.add_argument("--by", help="unit or officer keeping the records (needed on its first record)")
    _store_option(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphintel",
        description="Chat-ecosystem graph analysis for investigators. It ranks and explains; it "
        "never labels anyone guilty.",
    )
    parser.add_argument("--version", action="version", version=f"graphintel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("simulate", help="write a synthetic invitation-credit bundle")
    from graphintel.simulate_params import add_arguments

    add_arguments(p)

    p = sub.add_parser("ingest", help="validate a bundle, then load it into the store")
    p.add_argument("manifest", metavar="MANIFEST", help="a bundle's manifest.yaml (or its folder)")
    _store_option(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--timings", action="store_true", help="print seconds per stage (wall and CPU)")
    _notify_option(p)

    p = sub.add_parser("analyze", help="compute all analytics and write them to the store")
    _store_option(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--resolution", type=float, default=1.0, help="community resolution (1.0)")
    p.add_argument(
        "--engine",
        choices=("auto", "louvain", "leiden"),
        default="auto",
        help="community engine: python-louvain (reference), leiden (fast), auto by size",
    )
    p.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="COMPONENT=W",
        help="operator-priority weight, repeatable (e.g. --weight bot_use=0.3); components: "
        "rooms_operated, referral_descendants, credits_received, buyers, bot_use, bridging, "
        "organizations_targeted",
    )
    p.add_argument(
        "--won-per-credit",
        type=float,
        default=2650.0,
        metavar="N",
        help="won per credit for proceeds where a purchase gives no amount_krw (default 2650)",
    )

    p = sub.add_parser("report", help="print a summary of the store")
    _store_option(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--top", type=int, default=10, help="operators listed (default 10)")

    p = sub.add_parser(
        "compare", help="rooms that stopped, dropped or appeared after a date; members' moves"
    )
    p.add_argument("--at", required=True, metavar="DATE", help="the date, YYYY-MM-DD")
    p.add_argument(
        "--window-days", type=int, default=30, help="days compared before and after (30)"
    )
    p.add_argument(
        "--drop",
        type=float,
        default=0.5,
        help="a room dropped when activity after ≤ (1 - DROP) × before (0.5)",
    )
    p.add_argument("--top", type=int, default=20, help="rooms and moves listed (20)")
    _store_option(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    _add_watch_parsers(sub)

    p = sub.add_parser("export", help="export CSV tables, GraphML or GEXF")
    p.add_argument("--format", choices=("csv", "graphml", "gexf"), required=True)
    p.add_argument("--out", required=True, metavar="PATH", help="folder (csv) or file")
    _cases_option(p)
    _store_option(p)

    p = sub.add_parser("dashboard", help="serve the Streamlit dashboard")
    _store_option(p)
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="127.0.0.1")

    p = sub.add_parser("demo", help="simulate → ingest → analyze → dashboard, embedded")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--no-dashboard", action="store_true", help="stop after printing the report")

    p = sub.add_parser("retract", help="take out everything only one source reported")
    p.add_argument("source_id", metavar="SOURCE_ID")
    p.add_argument("--reason", required=True, help="why (e.g. the court order excluding it)")
    _store_option(p)

    p = sub.add_parser(
        "dossier",
        help="an account's evidence dossier (or `dossier verify DIR`)",
        description="graphintel dossier ACCOUNT_ID --out DIR [--store URI] writes a dossier; "
        "graphintel dossier verify DIR checks one against its MANIFEST.sha256.",
    )
    p.add_argument("account_id", metavar="ACCOUNT_ID", help="the account (or `verify`)")
    p.add_argument("folder", metavar="DIR", nargs="?", help="with `verify`: the dossier folder")
    p.add_argument("--out", metavar="DIR", help="a new folder for the dossier")
    _cases_option(p)
    _store_option(p)

    p = sub.add_parser("users", help="dashboard users and roles")
    usub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    q = usub.add_parser("add", help="add a user (prompts for the password)")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--role", required=True, help="admin, investigator, analyst, trainer, auditor")
    q.add_argument("--cases", default="", metavar="CASE_ID,…", help="investigators, analysts")
    q.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _store_option(q)
    q = usub.add_parser("list", help="list users")
    q.add_argument("--format", choices=("table", "json"), default="table")
    q = usub.add_parser("remove", help="remove a user")
    q.add_argument("name", metavar="NAME")
    q = usub.add_parser("passwd", help="set a user's password")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    p = sub.add_parser("audit", help="the audit trail: verify the hash chain, show entries")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    q = asub.add_parser("verify", help="check the hash chain and the store's recorded head")
    _store_option(q)
    q.add_argument(
        "--also-log",
        action="append",
        metavar="PATH",
        help="another audit log that records heads in this store (e.g. another workspace's); "
        "repeatable",
    )
    q = asub.add_parser("show", help="print audit entries")
    q.add_argument("--user", help="only this user")
    q.add_argument("--case", help="only entries touching this case")
    q.add_argument("--since", help="only entries at or after this UTC date/time (ISO)")
    q.add_argument("--format", choices=("table", "json"), default="table")

    p = sub.add_parser(
        "neo4j",
        help="a local real Neo4j server: start, stop, status, and import (first load of an empty "
        "database with neo4j-admin's bulk importer)",
    )
    p.add_argument("action", choices=("start", "stop", "status", "import"))
    p.add_argument(
        "manifests", nargs="*", metavar="MANIFEST", help="with import: the bundles to load"
    )
    p.add_argument("--home", type=Path, help="server folder (a fresh one is an empty database)")
    p.add_argument("--port", type=int, default=7687, help="Bolt port on 127.0.0.1 (7687)")
    p.add_argument("--heap", help="JVM heap (default: 1/8 of RAM, 1g-8g)")
    p.add_argument("--pagecache", help="page cache (default: 1/8 of RAM, 512m-8g)")
    p.add_argument(
        "--tx-memory",
        help="transaction memory pool, dbms.memory.transaction.total.max (default: 3/4 of heap)",
    )
    return parser


def _open(settings: Settings, uri: str | None, *, read_only: bool = False, guard: bool = True):
    """Open a store; with ``guard``, refuse (before anything is done) when the store recorded a
    head of the audit log's chain ahead of the log (its tail was cut: AuditLog.check_stores)."""
    from graphintel.store import open_store

    store = open_store(uri or settings.store_uri, settings, read_only=read_only)
    if guard:
        try:
            _audit_log(settings).check_stores([store])
        except BaseException:
            getattr(store, "abort", store.close)()
            raise
    return store


def _reader(settings: Settings, uri: str | None):
    """A store opened for reading only (an existing DuckDB file: no writer lock, no copy)."""
    uri = uri or settings.store_uri
    path = uri[len("duckdb:") :] if uri.startswith("duckdb:") else None
    return _open(settings, uri, read_only=bool(path and Path(path).exists()))


@contextmanager
def _writing(store):
    """Close ``store`` (publishing what was written); on an error discard the writes instead, so
    readers keep the last complete generation (DuckDB; see graphintel.store.duckdb_store)."""
    try:
        yield store
    except BaseException:
        getattr(store, "abort", store.close)()
        raise
    store.close()


def _identity(settings: Settings) -> str:
    """Who runs the CLI: ``GRAPHINTEL_USER`` with the OS user, or the OS user alone."""
    if settings.cli_user:
        return f"{settings.cli_user} (os: {settings.os_user})"
    return settings.os_user


def _audit_log(settings: Settings):
    from graphintel.audit import AuditLog

    return AuditLog(settings.audit_log)


def _audit(settings: Settings, action: str, details: dict, *stores) -> None:
    """Append an entry for the CLI user and record it as the head of ``stores``.

    A DuckDB store the action wrote keeps the head in its ``audit_head`` table (published with
    the rest); one it only read keeps it in the side file ``PATH.audit-head`` beside it, so a
    reading command never copies and republishes the store (graphintel.audit.HeadFile).
    """
    _audit_log(settings).append(_identity(settings), action, details, stores=stores)


def _file_digests(paths) -> dict[str, str]:
    import hashlib

    out = {}
    for p in paths:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        out[str(p)] = h.hexdigest()
    return out


def _case_ids(store) -> dict[str, list[str]]:
    """case id -> its source ids (retracted ones too)."""
    s = store.sources()
    return {str(c): sorted(str(x) for x in g) for c, g in s.groupby("case_id")["source_id"]}


def _cli_user(settings: Settings):
    """The users-file user ``GRAPHINTEL_USER`` names, or ``None`` (not set, no users file, or
    a name the file does not hold: the CLI then records the name only)."""
    from graphintel.users import UserFile

    if not settings.cli_user or not Path(settings.users_file).exists():
        return None
    return next(
        (u for u in UserFile(settings.users_file).list() if u.name == settings.cli_user), None
    )


def _scope_details(cases, scope) -> dict:
    """The audit details of a read through a case view (none for the whole store)."""
    if cases is None:
        return {}
    return {"cases": cases, "source_ids": sorted(scope), "case_view": True}


@contextmanager
def _case_scoped(settings: Settings, store, cases: str | None, *, action: str):
    """What ``dossier``/``export`` read: ``(reader, cases, scope)``.

    Without ``--cases`` and without a scoped ``GRAPHINTEL_USER``: ``(store, None, None)``, the
    whole store. Otherwise the case view of those cases' sources (graphintel.case_view: a
    separate DuckDB store holding only what they reported, analysed alone; built if missing or
    stale, as the dashboard does), opened read-only and named as ``STORE (case view)``.
    """
    from graphintel.case_view import build_case_view
    from graphintel.scope import request_scope
    from graphintel.store.duckdb_store import DuckDBStore

    requested = None if cases is None else cases.split(",")
    picked = request_scope(
        requested,
        store.sources(),
        store.retractions()["source_id"].astype(str),
        user=_cli_user(settings),
        action=action,
        store_uri=store.uri,
    )
    if picked is None:
        yield store, None, None
        return
    names, scope = picked
    path, _ = build_case_view(store, scope, settings.workspace)
    view = DuckDBStore(path, read_only=True)
    view.uri = f"{store.uri} (case view: {', '.join(names)})"
    try:
        yield view, names, scope
    finally:
        view.close()


def cmd_simulate(args, settings: Settings) -> int:
    from graphintel.simulate import params_from_args, simulate

    params = params_from_args(args)
    report = simulate(
        Path(args.out),
        params,
        telegram_export=args.telegram_export,
        progress=args.progress,
    )
    print(report.summary())
    return 0


def cmd_ingest(args, settings: Settings) -> int:
    from ingest.job import ingest_manifest

    with _writing(_open(settings, args.store)) as store:
        report = ingest_manifest(
            args.manifest, store, settings, progress=not args.no_progress and sys.stderr.isatty()
        )
        _audit(
            settings,
            "ingest",
            {
                "store": store.uri,
                "manifest": report.manifest,
                "source_id": report.source_id,
                "cases": [report.case_id],
                "files": report.files,
                "skipped": report.skipped,
                "written": report.written,
            },
            # a bundle already ingested leaves the store and its folder untouched (the entry is
            # logged; tests/test_hostile.py checks the folder)
            *(() if report.skipped else (store,)),
        )
        print(report.summary(), flush=True)
        t = time.perf_counter()
        new = _raise_alerts(store)
        alerts = time.perf_counter() - t
        t = time.perf_counter()
    if args.timings:  # after the store is closed: publishing is a stage too
        stages = ", ".join(
            f"{k} {v:.2f} s"
            + (f" (CPU {report.stages_cpu[k]:.2f})" if k in report.stages_cpu else "")
            for k, v in report.stages.items()
        )
        print(
            f"Stages ({report.path} path): {stages}, alerts {alerts:.2f} s, "
            f"publish {time.perf_counter() - t:.2f} s.",
            flush=True,
        )
    _notify(args.notify_cmd, new)  # after the store is closed: the alerts are kept either way
    return 0


def _raise_alerts(store):
    from graphintel.watch import run_alerts

    new = run_alerts(store)
    if len(new):
        rules = new["rule"].value_counts()
        parts = ", ".join(f"{n} {r}" for r, n in rules.items())
        print(f"{len(new)} new alert(s): {parts}. See `graphintel alerts list --open`.", flush=True)
    else:
        print("No new alerts.", flush=True)
    return new


def _notify(notify_cmd: str | None, new) -> None:
    from graphintel.watch import notify

    if notify_cmd:
        sent = notify(notify_cmd, new)
        if sent:
            print(f"Sent {sent} alert(s) to the notify command.")


def cmd_watch(args, settings: Settings) -> int:
    from graphintel import watch

    if args.action == "list":
        store = _reader(settings, args.store)
    else:
        store = _open(settings, args.store)
    try:
        if args.action == "list":
            entries = store.case_table("watchlist")
            if args.kind:
                entries = entries[entries["kind"] == args.kind]
            _audit(
                settings,
                "watch_list",
                {"store": store.uri, "kind": args.kind, "entries": len(entries)},
                store,
            )
            if args.format == "json":
                recs = entries.astype(object).where(entries.notna(), None).to_dict("records")
                print(json.dumps(recs, ensure_ascii=False, indent=2))
            else:
                print(watch.format_watch_table(entries))
            return 0
        if args.action == "remove":
            values = _watch_values(args.kind, args.values, settings, where="command line")
            n = watch.remove_watches(store, args.kind, values)
            _audit(
                settings,
                "watch_remove",
                {"store": store.uri, "kind": args.kind, "values": values, "removed": n},
                store,
            )
            print(f"Removed {n} watch entr{'y' if n == 1 else 'ies'} ({args.kind}).")
            return 0
        values = list(args.values)
        notes: list[str | None] = [args.note] * len(values)
        kind = args.kind
        if args.from_csv:
            csv_values, csv_notes = watch.read_watch_csv(args.from_csv)
            if kind is None:
                import pandas as pd

                head = pd.read_csv(args.from_csv, nrows=0, encoding="utf-8-sig").columns
                kind = "org" if "org_id" in [str(c).strip() for c in head] else None
            values += csv_values
            notes += [n or args.note for n in csv_notes]
        if kind is None:
            raise ConfigError("watch add needs --kind org|account|hash|keyword")
        if not values:
            raise ConfigError("watch add needs at least one VALUE (or --from-csv FILE)")
        where = args.from_csv or "command line"
        stored = _watch_values(kind, values, settings, where=where)
        import pandas as pd

        frames = [watch.watch_frame(kind, [v], note=n) for v, n in zip(stored, notes)]
        entries = pd.concat(frames, ignore_index=True).drop_duplicates(["kind", "value"])
        added = watch.add_watches(store, entries)
        _audit(
            settings,
            "watch_add",
            {
                "store": store.uri,
                "kind": kind,
                "values": entries["value"].tolist(),
                "notes": entries["note"].tolist() if "note" in entries else [],
                "from_csv": args.from_csv,
                "added": added,
            },
            store,
        )
        print(
            f"Watching {added} new {kind} entr{'y' if added == 1 else 'ies'} "
            f"({len(entries) - added} already watched) in {store.uri}. Run `graphintel alerts run` "
            "to check what the store already holds; every ingest checks new evidence."
        )
        return 0
    finally:
        store.close()


def _watch_values(kind: str, values: list[str], settings: Settings, *, where: str) -> list[str]:
    from graphintel.watch import normalise_watch_values

    key = None
    if kind == "account" and any(str(v).strip().lower().startswith("phone:") for v in values):
        from ingest.pseudonymise import pii_key

        key = pii_key(settings)
    return normalise_watch_values(kind, values, pii_key=key, where=where)


def cmd_alerts(args, settings: Settings) -> int:
    from graphintel import watch
    from graphintel.audit import id_summary

    if args.action in ("run", "ack"):
        store = _open(settings, args.store)
    else:
        store = _reader(settings, args.store)
    try:
        if args.action == "run":
            new = _raise_alerts(store)
            _audit(
                settings,
                "alerts_run",
                {
                    "store": store.uri,
                    "new": len(new),
                    "rules": {str(k): int(v) for k, v in new["rule"].value_counts().items()},
                    "alert_ids": id_summary(new["alert_id"]),
                },
                store,
            )
        elif args.action == "ack":
            rec = watch.ack_alert(store, args.alert_id, args.note)
            _audit(
                settings,
                "alert_ack",
                {
                    "store": store.uri,
                    "alert_id": rec["alert_id"],
                    "rule": rec["rule"],
                    "note": rec.get("ack_note"),
                    "acked_at": rec["acked_at"],
                    "source_ids": rec.get("source_ids") or [],
                },
                store,
            )
            print(f"Acknowledged alert {rec['alert_id']} ({rec['rule']}) at {rec['acked_at']}.")
            return 0
        else:
            alerts = watch.filter_alerts(
                store.case_table("alerts"), rules=args.rule, since=args.since, open_only=args.open
            )
            _audit(
                settings,
                "alerts_list",
                {
                    "store": store.uri,
                    "rules": args.rule,
                    "since": args.since,
                    "open_only": bool(args.open),
                    "alert_ids": id_summary(alerts["alert_id"]),
                },
                store,
            )
    finally:
        store.close()
    if args.action == "run":
        _notify(args.notify_cmd, new)
        return 0
    if args.format == "json":
        print(json.dumps(watch.alert_records(alerts), ensure_ascii=False, indent=2))
    else:
        print(watch.format_alerts_table(alerts))
    return 0


def cmd_takedown(args, settings: Settings) -> int:
    from graphintel.takedowns import ManualProvenance, record_takedowns

    prov = ManualProvenance(
        source_id=args.source_id,
        case_id=args.case_id,
        legal_basis=args.legal_basis,
        collected_by=args.by,
    )
    store = _open(settings, args.store)
    try:
        rows = record_takedowns(
            store,
            args.action,
            args.hashes,
            provenance=prov,
            at=args.at,
            requested_at=args.requested_at,
            agency=args.agency,
            note=args.note,
        )
        case = store.sources()
        case = case.loc[case["source_id"] == args.source_id, "case_id"].astype(str).tolist()
        _audit(
            settings,
            f"takedown_{args.action}",
            {
                "store": store.uri,
                "source_id": args.source_id,
                "cases": case[:1],
                "records": rows.astype(object).where(rows.notna(), None).to_dict("records"),
            },
            store,
        )
    finally:
        store.close()
    verb = {"request": "requested", "confirm": "confirmed", "refuse": "refused"}[args.action]
    for rec in rows.to_dict("records"):
        print(f"{rec['content_hash']}: takedown {verb} (requested at {rec['requested_at']}).")
    print(
        f"Kept under source {args.source_id}. Run `graphintel alerts run` to check the store for "
        "reappearances."
    )
    return 0


def cmd_analyze(args, settings: Settings) -> int:
    from graphintel.analytics.pipeline import analyze_store

    set_stage("the analytics: store read, engines, result write")
    with _writing(_open(settings, args.store)) as store:
        results = analyze_store(
            store,
            seed=args.seed,
            resolution=args.resolution,
            engine=args.engine,
            weights=_parse_weights(args.weight),
            won_per_credit=args.won_per_credit,
        )
        from graphintel.report import build_report, format_report_table

        summary = results.get("summary")
        timings = None
        if summary is not None and not summary.empty:
            rows = summary[summary["key"] == "timings"]
            timings = json.loads(rows["value"].iloc[0]) if len(rows) else None
        set_stage("the report")
        report = build_report(store)
        _audit(
            settings,
            "analyze",
            {
                "store": store.uri,
                "seed": args.seed,
                "engine": args.engine,
                "counts": report["counts"],
                "communities": report["communities"],
            },
            store,
        )
        print(format_report_table(report))
        if timings:
            print("\nStage times (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
        set_stage("publishing the store")
    set_stage("the case views")
    _build_case_views(settings, args.store)
    _persist_trainer(settings)
    return 0


def _build_case_views(settings: Settings, uri: str | None) -> None:
    """After analyze: the case view of every users-file scope (graphintel.case_view), so a
    scoped user's first dashboard visit finds it ready; views of scopes no user has any more
    are removed (they hold case data)."""
    from graphintel.case_view import build_user_views

    _prune_case_views(settings)
    if not Path(settings.users_file).exists():
        return
    store = _reader(settings, uri)
    try:
        done = build_user_views(store, settings.users_file, settings.workspace)
    except GraphIntelError as err:  # the analysis itself is written; say why views are missing
        print(f"Case views not built: {err}", file=sys.stderr)
        return
    finally:
        store.close()
    if done:
        built = sum(1 for _, _, b in done if b)
        print(
            f"Case views: {len(done)} user scope(s), {built} built, in "
            f"{Path(settings.workspace) / 'case_views'} (case data, mode 600)."
        )


def _prune_case_views(settings: Settings) -> int:
    """Remove the case views of scopes no user has any more; returns how many went."""
    from graphintel.case_view import prune_case_views

    removed = prune_case_views(settings.workspace, settings.users_file)
    if removed:
        print(
            f"Removed {len(removed)} case view(s) of scopes no user has any more from "
            f"{Path(settings.workspace) / 'case_views'}."
        )
    return len(removed)


def _persist_trainer(settings: Settings) -> None:
    """Save the dashboard Trainer's default run (synthetic; the same for every store), so the
    page reads it back instead of simulating it (:mod:`graphintel.trainer_runs`)."""
    from graphintel import trainer_runs

    trainer_runs.persist_defaults(settings.cache_dir)
    print(f"Trainer baseline run saved in {settings.cache_dir / 'trainer'}.")


def _parse_weights(items: list[str]) -> dict[str, float] | None:
    weights = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"--weight {item!r}: use COMPONENT=NUMBER, e.g. --weight bot_use=0.3")
    return weights or None


def cmd_report(args, settings: Settings) -> int:
    from graphintel.report import build_report, format_report_table

    store = _reader(settings, args.store)
    try:
        report = build_report(store, top=args.top)
        _audit(
            settings,
            "report",
            {"store": store.uri, "format": args.format, "top": args.top},
            store,
        )
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report_table(report))
    return 0


def cmd_compare(args, settings: Settings) -> int:
    from graphintel.report import build_compare, format_compare_table

    store = _reader(settings, args.store)
    try:
        out = build_compare(
            store, args.at, window_days=args.window_days, drop=args.drop, top=args.top
        )
        _audit(
            settings,
            "compare",
            {
                "store": store.uri,
                "at": args.at,
                "window_days": args.window_days,
                "drop": args.drop,
                "top": args.top,
            },
            store,
        )
    finally:
        store.close()
    if args.format == "json":
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(format_compare_table(out))
    return 0


def cmd_export(args, settings: Settings) -> int:
    from graphintel.export import export_store

    store = _reader(settings, args.store)
    try:
        with _case_scoped(settings, store, args.cases, action="export") as (source, cases, scope):
            paths = export_store(source, args.format, args.out)
        rows = {}
        if args.format == "csv":
            import pandas as pd

            rows = {str(p): len(pd.read_csv(p, dtype=str, keep_default_na=False)) for p in paths}
        details = {
            "store": store.uri,
            "format": args.format,
            "out": str(args.out),
            "rows": rows,
            "sha256": _file_digests(paths),
        }
        details |= _scope_details(cases, scope)
        _audit(settings, "export", details, store)
    finally:
        store.close()
    print("Wrote " + ", ".join(str(p) for p in paths))
    return 0


def cmd_retract(args, settings: Settings) -> int:
    from graphintel.retraction import retract_source

    store = _open(settings, args.store)
    try:
        report = retract_source(
            store, args.source_id, args.reason, retracted_by=_identity(settings)
        )
        _audit(
            settings,
            "retract",
            {
                "store": store.uri,
                "source_id": report.source_id,
                "cases": [report.case_id],
                "reason": report.reason,
                "removed": report.removed,
                "changed": report.changed,
            },
            store,
        )
    finally:
        store.close()
    print(report.summary())
    return 0


def cmd_dossier(args, settings: Settings) -> int:
    from graphintel.dossier import verify_dossier, write_dossier

    if args.account_id == "verify" and args.folder and not args.out:
        n = verify_dossier(args.folder)
        print(f"{args.folder}: intact ({n} files match MANIFEST.sha256)")
        return 0
    if not args.out or args.folder:
        raise ConfigError(
            "use `graphintel dossier ACCOUNT_ID --out DIR [--store URI]` to write a dossier, or "
            "`graphintel dossier verify DIR` to check one"
        )
    import datetime as dt

    store = _reader(settings, args.store)
    try:
        with _case_scoped(settings, store, args.cases, action="export") as (source, cases, scope):
            # a case view holds only the scope's records and its own analytics: read as a store
            # (re-merging its kept rows per scope, as a filter, would give the same files, ~9x
            # slower at 100 k accounts)
            report = write_dossier(
                source,
                args.account_id,
                args.out,
                generated_by=_identity(settings),
                generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            )
        details = {
            "store": store.uri,
            "account_id": args.account_id,
            "out": str(args.out),
            "cases": report.cases,
            "rows": report.rows,
            "sha256": report.files,
        }
        details |= _scope_details(cases, scope)
        _audit(settings, "dossier", details, store)
    finally:
        store.close()
    print(report.summary())
    return 0


def _read_password(args, name: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Repeat it: ") != first:
        from graphintel.errors import UserError

        raise UserError("the two passwords differ: nothing changed")
    return first


def _user_file(settings: Settings):
    from graphintel.users import UserFile

    return UserFile(
        settings.users_file,
        attempts=settings.login_attempts,
        lockout_minutes=settings.lockout_minutes,
    )


def cmd_users(args, settings: Settings) -> int:
    from graphintel.errors import UserError
    from graphintel.users import ROLES

    users = _user_file(settings)
    if args.users_command == "list":
        rows = users.list()
        if args.format == "json":
            print(json.dumps([u.__dict__ | {"cases": list(u.cases)} for u in rows], indent=2))
        elif not rows:
            print("No users: the dashboard runs in single-user mode on 127.0.0.1 only.")
        else:
            print(f"{'name':<20} {'role':<13} {'cases':<30} created")
            for u in rows:
                print(f"{u.name:<20} {u.role:<13} {','.join(u.cases) or '-':<30} {u.created_at}")
        return 0
    if args.users_command == "add":
        if args.role not in ROLES:
            raise UserError(f"unknown role {args.role!r}: use one of {', '.join(ROLES)}")
        cases = [c.strip() for c in args.cases.split(",") if c.strip()]
        stores = []
        if cases:
            store = _reader(settings, args.store)
            try:
                known = _case_ids(store)
                bad = [c for c in cases if c not in known]
                if bad:
                    raise UserError(
                        f"case {', '.join(bad)}: no source in store {store.uri} has it; known "
                        f"cases are {', '.join(sorted(known)) or 'none (ingest a bundle first)'}"
                    )
            except BaseException:
                store.close()
                raise
            stores.append(store)
        try:
            user = users.add(args.name, args.role, _read_password(args, args.name), cases=cases)
            details = {"name": user.name, "role": user.role, "cases": list(user.cases)}
            details["case_views_removed"] = _prune_case_views(settings)
            _audit(settings, "user_add", details, *stores)
        finally:
            for store in stores:
                store.close()
        print(
            f"Added user {user.name} ({user.role}{': ' + ', '.join(user.cases) if cases else ''})."
        )
        return 0
    if args.users_command == "remove":
        user = users.remove(args.name)
        removed = _prune_case_views(settings)
        details = {"name": user.name, "role": user.role, "case_views_removed": removed}
        _audit(settings, "user_remove", details)
        print(f"Removed user {user.name}.")
        return 0
    users.get(args.name)  # passwd: an unknown name fails before the prompt
    user = users.set_password(args.name, _read_password(args, args.name))
    _audit(settings, "user_passwd", {"name": user.name})
    print(f"Password of {user.name} changed.")
    return 0


def cmd_audit(args, settings: Settings) -> int:
    from graphintel.audit import StoreHead, filter_entries, format_entries, verify_chain

    log = _audit_log(settings)
    if args.audit_command == "verify":
        from graphintel.audit import AuditLog, HeadFile, chain_id

        entries = log.entries()
        others = [AuditLog(p).entries() for p in args.also_log or ()]
        for p, other in zip(args.also_log or (), others):
            if not other:
                raise ConfigError(f"--also-log {p}: no such log, or it holds no entries")
        heads, note = [], ""
        uri = args.store or settings.store_uri
        path = uri[len("duckdb:") :] if uri.startswith("duckdb:") else None
        if path is not None and not Path(path).exists():
            # the store may be gone; its side file not
            heads = [StoreHead(*h) for h in HeadFile(path).audit_heads()]
            if not heads:
                note = f" (store {uri} does not exist: no recorded head to compare)"
        else:
            store = _open(settings, uri, read_only=path is not None, guard=False)
            try:
                heads = [StoreHead(*h) for h in store.audit_heads()]
            finally:
                store.close()
            if not heads:
                note = f" (store {uri} has recorded no audit head yet)"
        n = verify_chain(entries, heads, others=others)
        own = chain_id(entries)
        mine = [h.seq for h in heads if h.chain == own]
        rest = len(heads) - len(mine)
        if heads and not note:
            note = (
                f"; store {uri} recorded seq {max(mine)} of this log's chain, which matches"
                if mine
                else f"; store {uri} recorded no head of this log's chain"
            )
            if rest:
                note += f" ({rest} other head(s) match the logs given)"
        print(f"{n} entries intact in {log.path}{note}.")
        return 0
    since = args.since
    if since:
        import datetime as dt

        try:
            dt.datetime.fromisoformat(since)
        except ValueError:
            raise ConfigError(
                f"--since {since!r} is not an ISO date or time: use e.g. 2026-12-01 or "
                "2026-12-01T08:00:00"
            ) from None
    entries = filter_entries(log.entries(), user=args.user, case=args.case, since=since)
    if args.format == "json":
        print(json.dumps(entries, ensure_ascii=False, indent=1))
    else:
        print(format_entries(entries))
    return 0


def run_dashboard(settings: Settings, uri: str | None, *, port: int, host: str) -> int:
    """Serve the dashboard in the foreground (Ctrl-C stops it)."""
    from graphintel.users import UserFile

    if host not in LOCAL_HOSTS and not UserFile(settings.users_file).exists():
        raise ConfigError(
            f"refusing to serve the dashboard on {host} without users: anyone who reaches it "
            "would see every case. Add users first (`graphintel users add NAME --role admin`, "
            f"stored in {settings.users_file}), or serve on 127.0.0.1 in single-user mode"
        )
    app = REPO_ROOT / "dashboards" / "app.py"
    if not app.exists():
        raise ConfigError(f"the dashboard app is missing ({app}); reinstall graphintel")
    env = dict(os.environ)
    env["GRAPHINTEL_STORE"] = uri or settings.store_uri
    cmd = [
        sys.executable,
        "-m",
        "dashboards.serve",  # `streamlit run` with the heavy modules imported at start-up
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--server.enableStaticServing",  # dashboards/static: vis-network, cached by the browser
        "true",
        # A served dashboard, not a development session: no file watcher (it walks every
        # imported module's path when a session starts and after every page run) and no full
        # garbage collection after every run (tens of ms each, on the thread that serves pages).
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--runner.postScriptGC",
        "false",
    ]
    print(
        f"Dashboard: http://{host}:{port}  (store {env['GRAPHINTEL_STORE']}; Ctrl-C stops it)",
        flush=True,
    )
    # Replace this process with Streamlit, so a signal to this pid stops the server itself.
    os.execve(sys.executable, cmd, env)
    return 0  # pragma: no cover - execve does not return


def cmd_dashboard(args, settings: Settings) -> int:
    return run_dashboard(settings, args.store, port=args.port, host=args.host)


def cmd_demo(args, settings: Settings) -> int:
    from graphintel.analytics.pipeline import analyze_store
    from graphintel.report import build_report, format_report_table
    from ingest.job import ingest_manifest

    bundle = DEMO_BUNDLE
    if not (bundle / "manifest.yaml").exists():
        from graphintel.simulate import SimulationParams, simulate

        bundle = settings.workspace / "demo-bundle"
        if not (bundle / "manifest.yaml").exists():
            print(f"Simulating the demo bundle into {bundle} …", flush=True)
            simulate(bundle, SimulationParams())
    uri = "duckdb:" + str(settings.workspace / "graph.duckdb")
    with _writing(_open(settings, uri)) as store:
        ingested = ingest_manifest(bundle / "manifest.yaml", store, settings)
        _audit(
            settings,
            "ingest",
            {
                "store": store.uri,
                "manifest": ingested.manifest,
                "source_id": ingested.source_id,
                "cases": [ingested.case_id],
                "files": ingested.files,
                "skipped": ingested.skipped,
                "via": "demo",
            },
            store,
        )
        print(ingested.summary(), flush=True)
        _raise_alerts(store)
        analyze_store(store)
        report = build_report(store)
        _audit(settings, "analyze", {"store": store.uri, "via": "demo"}, store)
        print(format_report_table(report), flush=True)
    _persist_trainer(settings)
    if args.no_dashboard:
        return 0
    return run_dashboard(settings, uri, port=args.port, host="127.0.0.1")


def cmd_neo4j(args, settings: Settings) -> int:
    from graphintel import neo4j_server

    if args.action == "start":
        neo4j_server.ensure_jars(settings, quiet=False)  # Maven's output goes to stderr
        info = neo4j_server.start(
            settings,
            home=args.home,
            port=args.port,
            heap=args.heap,
            pagecache=args.pagecache,
            tx_memory=args.tx_memory,
        )
        print(neo4j_server.shell_exports(info))
        print(
            f"# Neo4j {settings.neo4j_version} is up on {info.uri} (home {info.home})",
            file=sys.stderr,
        )
    elif args.action == "stop":
        was = neo4j_server.stop(settings, home=args.home)
        print("stopped" if was else "not running")
    elif args.action == "import":
        from graphintel import neo4j_import

        if not args.manifests:
            raise ConfigError(
                "graphintel neo4j import needs at least one MANIFEST (the bundles that fill the "
                "empty database), e.g. `graphintel neo4j import bundle/manifest.yaml --home DIR`"
            )
        from graphintel.store.neo4j_store import Neo4jStore

        report = neo4j_import.bulk_import(settings, args.manifests, home=args.home)
        info = neo4j_server.status(settings, home=args.home)
        store = Neo4jStore(info.uri, info.username, info.password)
        try:
            _audit(settings, "ingest", neo4j_import.audit_details(report), store)
            print(report.summary(), flush=True)
            print(f"# store: {info.uri} (`graphintel neo4j start --home {info.home}` prints "
                  "its connection settings)", flush=True)  # fmt: skip
            _raise_alerts(store)
        finally:
            store.close()
    else:
        info = neo4j_server.status(settings, home=args.home)
        if info is None:
            print("not running")
            return 3
        print(f"running: {info.uri} (pid {info.pid}, home {info.home})")
    return 0


COMMANDS = {
    "simulate": cmd_simulate,
    "ingest": cmd_ingest,
    "analyze": cmd_analyze,
    "report": cmd_report,
    "compare": cmd_compare,
    "export": cmd_export,
    "watch": cmd_watch,
    "alerts": cmd_alerts,
    "takedown": cmd_takedown,
    "dashboard": cmd_dashboard,
    "demo": cmd_demo,
    "neo4j": cmd_neo4j,
    "retract": cmd_retract,
    "dossier": cmd_dossier,
    "users": cmd_users,
    "audit": cmd_audit,
}
# Commands whose action is appended to the audit trail: a broken log tail stops them first.
AUDITED = {
    "ingest",
    "analyze",
    "report",
    "compare",
    "export",
    "retract",
    "dossier",
    "users",
    "demo",
    "watch",
    "alerts",
    "takedown",
}


# Commands that write a store: what a resource error left there is said in its message.
WRITING = {"ingest", "analyze", "demo", "retract", "watch", "alerts", "takedown"}


def _store_note(args, settings: Settings | None) -> str:
    """What a command stopped by a resource error left in its store, for the message."""
    if args.command == "simulate":
        return (
            f"The bundle in {clip(args.out, 200)} is incomplete: delete it or simulate again into "
            "it."
        )
    if args.command == "analyze" and current_stage() == "the case views":
        return (
            "The analysis itself was written and published; only the case views are missing: "
            "run analyze again once memory is freed."
        )
    if args.command not in WRITING:
        return "The store was only read: it is unchanged."
    uri = getattr(args, "store", None) or (settings.store_uri if settings else "")
    if uri.startswith("duckdb:") or not uri:
        return (
            f"The store {clip(uri or 'duckdb:workspace/graph.duckdb', 200)} is unchanged: this "
            "run wrote only its working copy, which was discarded, so readers keep the last "
            "complete generation."
        )
    if args.command == "analyze":
        return (
            "The Neo4j store keeps its previous analysis: a new result generation is switched "
            "to only when complete."
        )
    return (
        "The Neo4j store may hold part of this run's rows (its batches are committed one by "
        "one, the source record last): run the same command again once resources are freed; "
        "rows are merged by key, not doubled."
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = None
    try:
        settings = load_settings()
        if args.command in AUDITED and not (
            args.command == "users" and args.users_command == "list"
        ):
            _audit_log(settings).check_tail()
        return COMMANDS[args.command](args, settings)
    except Exception as err:  # the CLI's one error handler
        # Memory or disk running out is the environment, not a bug: one paragraph, exit 3.
        exhausted = resource_exhausted(err, args.command, store_note=_store_note(args, settings))
        if exhausted is not None:
            err = exhausted
        elif not isinstance(err, GraphIntelError):
            raise
        # One paragraph, whatever a library said, and never a flood (hostile input is echoed).
        message = clip(" ".join(str(err).split()), MESSAGE_LIMIT)
        print(f"graphintel {args.command}: {message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        set_stage(None)  # a stage named by this command never leaks into the next in-process


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
