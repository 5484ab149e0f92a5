"""Golden comparison: analytics give bit-for-bit what they gave before the speed work (issue 12),
on the demo data and the hand-built tiny case, in both stores.

The digests in ``tests/data/golden_analytics.json`` were computed by ``tests/golden.py`` with the
code before those optimisations; see that module for how a table is digested.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphintel.analytics.pipeline import analyze_store
from ingest.job import ingest_manifest
from tests.golden import BUNDLES, SORT_KEYS, digests

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_analytics.json").read_text())


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_results_match_the_golden_digests(store, bundle, settings):
    ingest_manifest(BUNDLES[bundle], store, settings)
    analyze_store(store, seed=0)
    got = digests({name: store.results(name) for name in SORT_KEYS}, GOLDEN["columns"])
    assert got == GOLDEN[bundle]
