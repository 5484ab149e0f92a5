"""Typed settings, read once from the environment, then defaults.

Nothing else in graphintel reads ``os.environ``: call :func:`load_settings` at the edge (the CLI,
the dashboard's cached factory, a test) and pass the settings on.
"""

from __future__ import annotations

import os
import pwd
import re
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
    duckdb_memory: str | None = None  # GRAPHINTEL_DUCKDB_MEMORY: DuckDB's memory_limit ("4GB")
    duckdb_temp: str | None = None  # GRAPHINTEL_DUCKDB_TEMP: where DuckDB spills past it
    duckdb_threads: int | None = None  # GRAPHINTEL_DUCKDB_THREADS: DuckDB's worker threads

    @property
    def duckdb_config(self) -> dict[str, str | int]:
        """DuckDB connection options from the settings; empty (DuckDB's defaults) when unset.

        Example
        -------
        >>> Settings(duckdb_memory="4GB", duckdb_threads=1).duckdb_config
        {'memory_limit': '4GB', 'threads': 1}
        """
        config: dict[str, str | int] = {}
        if self.duckdb_memory:
            config["memory_limit"] = self.duckdb_memory
        if self.duckdb_temp:
            config["temp_directory"] = self.duckdb_temp
        if self.duckdb_threads:
            config["threads"] = self.duckdb_threads
        return config

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
        duckdb_memory=_memory(env, "GRAPHINTEL_DUCKDB_MEMORY"),
        duckdb_temp=env.get("GRAPHINTEL_DUCKDB_TEMP") or None,
        duckdb_threads=(
            int(_number(env, "GRAPHINTEL_DUCKDB_THREADS", 1))
            if env.get("GRAPHINTEL_DUCKDB_THREADS")
            else None
        ),
    )


_MEMORY = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def _memory(env: Mapping[str, str], name: str) -> str | None:
    """A memory size such as ``4GB`` or ``512MiB`` (DuckDB's units), or None when unset."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if not _MEMORY.fullmatch(raw):
        from graphintel.errors import ConfigError

        raise ConfigError(f"{name}={raw[:40]!r} is not a memory size: use e.g. 4GB or 512MiB")
    return raw


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
