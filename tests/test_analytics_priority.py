"""Operator priority on a tiny case: components, contributions, ranks and evidence rows."""

from __future__ import annotations

import pandas as pd
import pytest

from graphintel.analytics.pipeline import analyze_tables
from graphintel.analytics.priority import DEFAULT_WEIGHTS, resolve_weights
from graphintel.errors import AnalyticsError

S = ["SRC-TEST"]


def tiny_tables() -> dict[str, pd.DataFrame]:
    return {
        "accounts": pd.DataFrame(
            {
                "account_id": ["A", "B", "C", "D"],
                "is_bot": [False, False, False, True],
                "source_ids": [S] * 4,
            }
        ),
        "channels": pd.DataFrame(
            {
                "channel_id": ["R1", "R2"],
                "kind": ["group", "bot"],
                "creator_id": ["A", None],
                "source_ids": [S, S],
            }
        ),
        "memberships": pd.DataFrame(
            {
                "account_id": ["A", "B", "C", "D", "A"],
                "channel_id": ["R1", "R1", "R1", "R1", "R2"],
                "role": ["owner", "member", "member", "member", "owner"],
                "source_ids": [S] * 5,
            }
        ),
        "invites": pd.DataFrame(
            {
                "inviter_id": ["A", "A"],
                "invitee_id": ["B", "C"],
                "channel_id": ["R1", None],
                "invited_at": ["2024-01-01T00:00:00", "2024-01-02T00:00:00"],
                "source_ids": [S, S],
            }
        ),
        "transactions": pd.DataFrame(
            {
                "txn_id": ["T1", "T2"],
                "from_id": ["B", "C"],
                "to_id": ["A", "A"],
                "credits": [10.0, 30.0],
                "kind": ["purchase", "purchase"],
                "source_ids": [S, S],
            }
        ),
        "organizations": pd.DataFrame(
            {"org_id": ["O1"], "name": ["Fictional Test School"], "source_ids": [S]}
        ),
        "targets": pd.DataFrame({"channel_id": ["R1"], "org_id": ["O1"], "source_ids": [S]}),
    }


def test_components_contributions_ranks():
    res = analyze_tables(tiny_tables(), weights={"bridging": 0.0})
    m = res["account_metrics"].set_index("account_id")
    comp = res["priority_components"]
    # only A scores above 0 (bridging weighs 0), so only A is explained
    assert set(comp["account_id"]) == {"A"}
    a = comp.set_index("component")
    assert a.loc["rooms_operated", "value"] == pytest.approx(1.0 * 4 + 1.0 * 1)  # owner R1, R2
    assert a.loc["referral_descendants", "value"] == 2
    assert a.loc["credits_received", "value"] == pytest.approx(40.0)
    assert a.loc["bot_use", "value"] == 2  # bot D in R1 + bot room R2
    assert a.loc["organizations_targeted", "value"] == 1
    assert a.loc["bridging", "weight"] == 0.0
    # A has the maximum of every component, so each scales to 1 and contributes its weight
    for name in (
        "rooms_operated",
        "referral_descendants",
        "credits_received",
        "bot_use",
        "organizations_targeted",
    ):
        assert a.loc[name, "contribution"] == pytest.approx(DEFAULT_WEIGHTS[name])
    assert m.loc["A", "priority_score"] == pytest.approx(0.9)
    assert m["priority_rank"].to_dict() == {"A": 1, "B": 2, "C": 3, "D": 4}  # ties by id
    assert m.loc["B", "priority_score"] == 0.0


def test_evidence_rows_with_sources():
    res = analyze_tables(tiny_tables(), weights={"bridging": 0.0})
    ev = res["priority_evidence"]
    rows = {
        (c, t, k, d)
        for c, t, k, d in ev[["component", "record_table", "record_key", "detail"]].itertuples(
            index=False, name=None
        )
    }
    assert rows >= {
        ("rooms_operated", "memberships", "A|R1", "owner of room R1 (4 members)"),
        ("rooms_operated", "memberships", "A|R2", "owner of room R2 (1 members)"),
        (
            "referral_descendants",
            "invites",
            "A|B|R1|2024-01-01T00:00:00",
            "invited B at 2024-01-01T00:00:00",
        ),
        (
            "referral_descendants",
            "invites",
            "A|C||2024-01-02T00:00:00",
            "invited C at 2024-01-02T00:00:00",
        ),
        ("credits_received", "transactions", "T2", "30 credits from C (purchase)"),
        ("credits_received", "transactions", "T1", "10 credits from B (purchase)"),
        ("bot_use", "memberships", "D|R1", "bot account D is a member of operated room R1"),
        ("bot_use", "channels", "R2", "operates bot room R2"),
        (
            "organizations_targeted",
            "targets",
            "R1|O1",
            "operated room R1 targets O1 (Fictional Test School)",
        ),
    }
    assert set(ev["account_id"]) == {"A"}
    assert all(list(s) == S for s in ev["source_ids"])
    credits = ev[ev["component"] == "credits_received"]["record_key"].tolist()
    assert credits == ["T2", "T1"]  # largest first
    assert len(ev[ev["component"] == "rooms_operated"]) == 2  # creator record folded into owner
    limited = analyze_tables(tiny_tables(), weights={"bridging": 0.0}, evidence_limit=1)
    assert limited["priority_evidence"].groupby("component").size().max() == 1


def test_weights_validation_and_override():
    assert resolve_weights(None) == DEFAULT_WEIGHTS
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)
    with pytest.raises(AnalyticsError, match="unknown priority component 'guilt'"):
        resolve_weights({"guilt": 1.0})
    with pytest.raises(AnalyticsError, match="finite number"):
        resolve_weights({"bot_use": -1})
    res = analyze_tables(
        tiny_tables(), weights={c: 0.0 for c in DEFAULT_WEIGHTS} | {"credits_received": 2.0}
    )
    m = res["account_metrics"].set_index("account_id")
    assert m.loc["A", "priority_score"] == pytest.approx(2.0)
