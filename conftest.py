"""Doctest namespace for the examples in graphintel's docstrings.

``tiny_uri`` names a DuckDB store of ``sample_data/tiny`` (ingested and analysed once per
session) and ``gi`` is ``import graphintel as gi``, so the Python API's examples run as written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parent / "sample_data" / "tiny" / "manifest.yaml"


@pytest.fixture(scope="session")
def tiny_doctest_uri(tmp_path_factory) -> str:
    from graphintel.analytics.pipeline import analyze_store
    from graphintel.config import load_settings
    from graphintel.store import open_store
    from ingest.job import ingest_manifest

    uri = f"duckdb:{tmp_path_factory.mktemp('doctest') / 'tiny.duckdb'}"
    settings = load_settings({"GRAPHINTEL_PII_KEY": "test-key"})
    store = open_store(uri, settings)
    try:
        ingest_manifest(TINY, store, settings)
        analyze_store(store)
    finally:
        store.close()
    return uri


@pytest.fixture(autouse=True)
def _graphintel_doctest_namespace(request, doctest_namespace) -> None:
    if isinstance(request.node, pytest.DoctestItem) and "dataset" in request.node.name:
        import graphintel

        doctest_namespace["gi"] = graphintel
        doctest_namespace["tiny_uri"] = request.getfixturevalue("tiny_doctest_uri")
