"""Shared fixtures: stores (embedded DuckDB and the real Neo4j server) and sample bundles.

The Neo4j fixtures talk to the server named by NEO4J_URI / NEO4J_USERNAME / NEO4J_PASSWORD, as
`make test` starts it (`eval "$(graphintel neo4j start ...)"`). Under CI (CI=true) a missing server
is a failure, not a skip: integration with the real Neo4j is part of the suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphintel.config import Settings, load_settings
from graphintel.store.duckdb_store import DuckDBStore

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "sample_data" / "tiny"

# The dashboard audits every page view: keep the suite's entries out of ./workspace. Tests that
# check a workspace's own audit.jsonl drop this variable from the environment they pass on.
if "GRAPHINTEL_AUDIT_LOG" not in os.environ:
    import tempfile

    os.environ["GRAPHINTEL_AUDIT_LOG"] = str(
        Path(tempfile.mkdtemp(prefix="graphintel-test-audit-")) / "audit.jsonl"
    )


@pytest.fixture
def settings(tmp_path) -> Settings:
    env = dict(os.environ)
    env["GRAPHINTEL_PII_KEY"] = "test-key"
    env["GRAPHINTEL_WORKSPACE"] = str(tmp_path / "workspace")
    return load_settings(env)


@pytest.fixture
def tiny_bundle() -> Path:
    return TINY


@pytest.fixture
def duckdb_store(tmp_path):
    store = DuckDBStore(tmp_path / "graph.duckdb")
    yield store
    store.close()


def _neo4j_settings() -> Settings | None:
    s = load_settings()
    if not s.neo4j_uri:
        if os.environ.get("CI"):
            pytest.fail("NEO4J_URI is not set: run the suite with `make test`, which starts Neo4j")
        return None
    return s


@pytest.fixture(scope="session")
def neo4j_session_store():
    s = _neo4j_settings()
    if s is None:
        pytest.skip("no Neo4j server (NEO4J_URI unset); `make test` starts one")
    from graphintel.store.neo4j_store import Neo4jStore

    store = Neo4jStore(s.neo4j_uri, s.neo4j_username, s.neo4j_password, database=s.neo4j_database)
    yield store
    store.close()


@pytest.fixture
def neo4j_store(neo4j_session_store):
    neo4j_session_store.clear()
    neo4j_session_store.ensure_schema()
    yield neo4j_session_store
    neo4j_session_store.clear()


@pytest.fixture(params=["duckdb", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request):
    """Each test using ``store`` runs once per implementation."""
    return request.getfixturevalue(f"{request.param}_store")
