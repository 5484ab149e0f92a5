"""The report's top operators: highest priority score first, ties by account id, zero scores
left out — also when ties straddle the cut (the selection keeps every tied candidate)."""

from __future__ import annotations

import pandas as pd

from graphintel.report import top_operators
from graphintel.store.duckdb_store import DuckDBStore


def test_top_operators_ties_at_the_cut_and_zero_scores():
    store = DuckDBStore(":memory:")
    try:
        store.write_results(
            "account_metrics",
            pd.DataFrame(
                {
                    "account_id": ["E", "D", "C", "B", "A", "F"],
                    "priority_score": [0.5, 0.9, 0.5, 0.5, 0.1, 0.0],
                    "priority_rank": [2, 1, 3, 4, 5, 6],
                }
            ),
        )
        store.write_results(
            "priority_components",
            pd.DataFrame(
                {
                    "account_id": ["D", "D", "B"],
                    "component": ["rooms_operated", "bot_use", "bot_use"],
                    "value": [2.0, 1.0, 1.0],
                    "weight": [0.2, 0.1, 0.1],
                    "contribution": [0.6, 0.3, 0.5],
                }
            ),
        )
        top = top_operators(store, top=3)
        assert [(o["account_id"], o["score"]) for o in top] == [("D", 0.9), ("B", 0.5), ("C", 0.5)]
        assert top[0]["components"] == {"bot_use": 0.3, "rooms_operated": 0.6}
        assert [o["account_id"] for o in top_operators(store, top=10)] == ["D", "B", "C", "E", "A"]
        assert top_operators(store, top=0) == []
    finally:
        store.close()
