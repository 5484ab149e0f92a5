"""Graph stores behind one protocol (:class:`graphintel.store.base.GraphStore`)."""

from __future__ import annotations

from graphintel.config import Settings
from graphintel.errors import ConfigError
from graphintel.store.base import Bundle, GraphStore

__all__ = ["Bundle", "GraphStore", "open_store"]


def open_store(
    uri: str, settings: Settings | None = None, *, read_only: bool = False
) -> GraphStore:
    """Open the store a URI names (no I/O until first use).

    ``duckdb:PATH`` (embedded, default ``duckdb:workspace/graph.duckdb``) or ``bolt://host:port`` /
    ``neo4j://host:port`` and their TLS forms ``bolt+s``, ``bolt+ssc``, ``neo4j+s``, ``neo4j+ssc``
    (a routing ``neo4j+s://`` URI is all a cluster or Aura needs); credentials and database from
    ``settings`` (``NEO4J_USERNAME`` / ``NEO4J_PASSWORD`` / ``NEO4J_DATABASE``, default the
    server's home database).

    Example
    -------
    >>> open_store("duckdb::memory:").uri
    'duckdb::memory:'
    """
    if uri.startswith("duckdb:"):
        from graphintel.store.duckdb_store import DuckDBStore

        path = uri[len("duckdb:") :]
        if not path:
            raise ConfigError("the store URI 'duckdb:' names no file: use duckdb:PATH")
        config = settings.duckdb_config if settings is not None else {}
        return DuckDBStore(path, read_only=read_only, config=config)
    if uri.split("://", 1)[0] in ("bolt", "neo4j", "bolt+s", "neo4j+s", "bolt+ssc", "neo4j+ssc"):
        from graphintel.store.neo4j_store import Neo4jStore

        settings = settings or Settings()
        return Neo4jStore(
            uri,
            settings.neo4j_username,
            settings.neo4j_password,
            database=settings.neo4j_database,
        )
    raise ConfigError(
        f"unknown store URI {uri!r}: use duckdb:PATH (embedded) or bolt://host:port / "
        "neo4j://host:port, or their TLS forms bolt+s, bolt+ssc, neo4j+s, neo4j+ssc (Neo4j, "
        "with NEO4J_USERNAME and NEO4J_PASSWORD set, NEO4J_DATABASE optional)"
    )
