"""Typed settings, read once from the environment, then defaults.

Nothing else in graphintel reads ``os.environ``: call :func:`load_settings` at the edge (the CLI,
the dashboard's cached factory, a test) and pass the settings on.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_STORE_URI", "Settings", "load_settings"]

DEFAULT_STORE_URI = "duckdb:workspace/graph.duckdb"


@dataclass(frozen=True)
class Settings:
    """Everything graphintel takes from its environment.

    The password is hidden in ``repr`` so settings can be logged.
    """

    store_uri: str = DEFAULT_STORE_URI
    neo4j_username: str = "neo4j"
    neo4j_password: str | None = field(default=None, repr=False)
    neo4j_uri: str | None = None
    neo4j_database: str | None = None
    pii_key: bytes | None = field(default=None, repr=False)
    workspace: Path = Path("workspace")
    cache_dir: Path = Path.home() / ".cache" / "graphintel"
    neo4j_version: str = "5.26.31"
    java_home: str | None = None
    audit_log: Path = Path("workspace") / "audit.jsonl"
    users_file: Path = Path("workspace") / "users.json"
    cli_user: str | None = None  # GRAPHINTEL_USER: who runs the CLI, recorded with the OS user
    os_user: str = "unknown"
    session_idle_minutes: float = 30.0
    login_attempts: int = 5
    lockout_minutes: float = 15.0

    def with_store(self, uri: str | None) -> Settings:
        """A copy with another store URI (``None`` keeps the current one)."""
        if not uri:
            return self
        from dataclasses import replace

        return replace(self, store_uri=uri)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    key = env.get("GRAPHINTEL_PII_KEY")
    cache = env.get("GRAPHINTEL_CACHE") or str(
        Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "graphintel"
    )
    workspace = Path(env.get("GRAPHINTEL_WORKSPACE") or "workspace")
    return Settings(
        store_uri=env.get("GRAPHINTEL_STORE") or DEFAULT_STORE_URI,
        neo4j_username=env.get("NEO4J_USERNAME") or "neo4j",
        neo4j_password=env.get("NEO4J_PASSWORD"),
        neo4j_uri=env.get("NEO4J_URI"),
        neo4j_database=env.get("NEO4J_DATABASE") or None,
        pii_key=key.encode("utf-8") if key else None,
        workspace=workspace,
        cache_dir=Path(cache),
        neo4j_version=env.get("GRAPHINTEL_NEO4J_VERSION") or "5.26.31",
        java_home=env.get("JAVA_HOME"),
        audit_log=Path(env.get("GRAPHINTEL_AUDIT_LOG") or workspace / "audit.jsonl"),
        users_file=Path(env.get("GRAPHINTEL_USERS") or workspace / "users.json"),
        cli_user=env.get("GRAPHINTEL_USER") or None,
        os_user=_os_user(),
        session_idle_minutes=_number(env, "GRAPHINTEL_SESSION_IDLE_MINUTES", 30.0),
        login_attempts=int(_number(env, "GRAPHINTEL_LOGIN_ATTEMPTS", 5)),
        lockout_minutes=_number(env, "GRAPHINTEL_LOCKOUT_MINUTES", 15.0),
    )


def _os_user() -> str:
    """The login name of the process owner (from the password database, not the environment)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        from graphintel.errors import ConfigError

        raise ConfigError(f"{name}={raw!r} is not a positive number (default {default:g})")
    return value
