"""The `graphintel` command line (DESIGN.md "CLI contract").

Exit status 0 on success; on a user mistake or an unavailable service a one-paragraph message on
stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from graphintel import __version__
from graphintel.config import Settings, load_settings
from graphintel.errors import ConfigError, GraphIntelError

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphintel",
        description="Chat-ecosystem graph analysis for investigators. It ranks and explains; it "
        "never labels anyone guilty.",
    )
    parser.add_argument("--version", action="version", version=f"graphintel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("simulate", help="write a synthetic invitation-credit bundle")
    from graphintel.simulate import add_arguments

    add_arguments(p)

    p = sub.add_parser("ingest", help="validate a bundle, then load it into the store")
    p.add_argument("manifest", metavar="MANIFEST", help="a bundle's manifest.yaml (or its folder)")
    _store_option(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")

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
        "rooms_operated, referral_descendants, credits_received, bot_use, bridging, "
        "organizations_targeted",
    )

    p = sub.add_parser("report", help="print a summary of the store")
    _store_option(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--top", type=int, default=10, help="operators listed (default 10)")

    p = sub.add_parser("export", help="export CSV tables, GraphML or GEXF")
    p.add_argument("--format", choices=("csv", "graphml", "gexf"), required=True)
    p.add_argument("--out", required=True, metavar="PATH", help="folder (csv) or file")
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
    q = asub.add_parser("show", help="print audit entries")
    q.add_argument("--user", help="only this user")
    q.add_argument("--case", help="only entries touching this case")
    q.add_argument("--since", help="only entries at or after this UTC date/time (ISO)")
    q.add_argument("--format", choices=("table", "json"), default="table")

    p = sub.add_parser("neo4j", help="a local real Neo4j server for development and tests")
    p.add_argument("action", choices=("start", "stop", "status"))
    p.add_argument("--home", type=Path, help="server folder (a fresh one is an empty database)")
    p.add_argument("--port", type=int, default=7687, help="Bolt port on 127.0.0.1 (7687)")
    p.add_argument("--heap", default="1g", help="JVM heap (1g)")
    p.add_argument("--pagecache", default="512m", help="page cache (512m)")
    return parser


def _open(settings: Settings, uri: str | None, *, read_only: bool = False):
    from graphintel.store import open_store

    return open_store(uri or settings.store_uri, settings, read_only=read_only)


def _identity(settings: Settings) -> str:
    """Who runs the CLI: ``GRAPHINTEL_USER`` with the OS user, or the OS user alone."""
    if settings.cli_user:
        return f"{settings.cli_user} (os: {settings.os_user})"
    return settings.os_user


def _audit_log(settings: Settings):
    from graphintel.audit import AuditLog

    return AuditLog(settings.audit_log)


def _audit(settings: Settings, action: str, details: dict, *stores) -> None:
    """Append an entry for the CLI user and record it as the head of ``stores``."""
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

    store = _open(settings, args.store)
    try:
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
            store,
        )
    finally:
        store.close()
    print(report.summary())
    return 0


def cmd_analyze(args, settings: Settings) -> int:
    from graphintel.analytics.pipeline import analyze_store

    store = _open(settings, args.store)
    try:
        results = analyze_store(
            store,
            seed=args.seed,
            resolution=args.resolution,
            engine=args.engine,
            weights=_parse_weights(args.weight),
        )
        from graphintel.report import build_report, format_report_table

        summary = results.get("summary")
        timings = None
        if summary is not None and not summary.empty:
            rows = summary[summary["key"] == "timings"]
            timings = json.loads(rows["value"].iloc[0]) if len(rows) else None
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
    finally:
        store.close()
    return 0


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

    store = _open(settings, args.store)
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


def cmd_export(args, settings: Settings) -> int:
    from graphintel.export import export_store

    store = _open(settings, args.store)
    try:
        paths = export_store(store, args.format, args.out)
        rows = {}
        if args.format == "csv":
            import pandas as pd

            rows = {str(p): len(pd.read_csv(p, dtype=str, keep_default_na=False)) for p in paths}
        _audit(
            settings,
            "export",
            {
                "store": store.uri,
                "format": args.format,
                "out": str(args.out),
                "rows": rows,
                "sha256": _file_digests(paths),
            },
            store,
        )
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

    store = _open(settings, args.store)
    try:
        report = write_dossier(
            store,
            args.account_id,
            args.out,
            generated_by=_identity(settings),
            generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        )
        _audit(
            settings,
            "dossier",
            {
                "store": store.uri,
                "account_id": args.account_id,
                "out": str(args.out),
                "cases": report.cases,
                "rows": report.rows,
                "sha256": report.files,
            },
            store,
        )
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
            store = _open(settings, args.store)
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
        _audit(settings, "user_remove", {"name": user.name, "role": user.role})
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
        entries = log.entries()
        heads, note = [], ""
        uri = args.store or settings.store_uri
        if uri.startswith("duckdb:") and not Path(uri[len("duckdb:") :]).exists():
            note = f" (store {uri} does not exist: no recorded head to compare)"
        else:
            store = _open(settings, uri, read_only=uri.startswith("duckdb:"))
            try:
                head = store.audit_head()
            finally:
                store.close()
            if head is None:
                note = f" (store {uri} has recorded no audit head yet)"
            else:
                heads.append(StoreHead(uri, head[0], head[1]))
                note = f"; store {uri} recorded seq {head[0]}, which matches"
        n = verify_chain(entries, heads)
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
        "streamlit",
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
    store = _open(settings, uri)
    try:
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
        analyze_store(store)
        report = build_report(store)
        _audit(settings, "analyze", {"store": store.uri, "via": "demo"}, store)
        print(format_report_table(report), flush=True)
    finally:
        store.close()
    if args.no_dashboard:
        return 0
    return run_dashboard(settings, uri, port=args.port, host="127.0.0.1")


def cmd_neo4j(args, settings: Settings) -> int:
    from graphintel import neo4j_server

    if args.action == "start":
        neo4j_server.ensure_jars(settings, quiet=False)  # Maven's output goes to stderr
        info = neo4j_server.start(
            settings, home=args.home, port=args.port, heap=args.heap, pagecache=args.pagecache
        )
        print(neo4j_server.shell_exports(info))
        print(
            f"# Neo4j {settings.neo4j_version} is up on {info.uri} (home {info.home})",
            file=sys.stderr,
        )
    elif args.action == "stop":
        was = neo4j_server.stop(settings, home=args.home)
        print("stopped" if was else "not running")
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
    "export": cmd_export,
    "dashboard": cmd_dashboard,
    "demo": cmd_demo,
    "neo4j": cmd_neo4j,
    "retract": cmd_retract,
    "dossier": cmd_dossier,
    "users": cmd_users,
    "audit": cmd_audit,
}
# Commands whose action is appended to the audit trail: a broken log tail stops them first.
AUDITED = {"ingest", "analyze", "report", "export", "retract", "dossier", "users", "demo"}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command in AUDITED and not (
            args.command == "users" and args.users_command == "list"
        ):
            _audit_log(settings).check_tail()
        return COMMANDS[args.command](args, settings)
    except GraphIntelError as err:
        message = " ".join(str(err).split())  # one paragraph, whatever a library said
        print(f"graphintel {args.command}: {message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
