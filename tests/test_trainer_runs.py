"""The Trainer's saved runs (graphintel.trainer_runs): what is read back is what was computed,
the default run is saved by `graphintel analyze`, and the page reads it instead of simulating."""

from __future__ import annotations

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from graphintel import trainer_runs
from tests.test_dashboard_apptest import APP, _store

SMALL = {"accounts": 250, "operators": 2, "days": 12, "seed": 3}


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_a_saved_run_reads_back_exactly_what_was_computed(tmp_path):
    first = trainer_runs.baseline(SMALL, cache_dir=tmp_path)
    again = trainer_runs.baseline(SMALL, cache_dir=tmp_path)
    assert first["saved"] is False and again["saved"] is True
    assert set(first["tables"]) == set(again["tables"]) and "transactions" in first["tables"]
    for name, frame in first["tables"].items():
        _same(frame, again["tables"][name])
    _same(first["metrics"], again["metrics"])
    _same(first["timeline"], again["timeline"])
    for a, b in zip(first["cascades"], again["cascades"]):
        _same(a, b)
    assert len(first["timeline"]) > 0 and first["metrics"]["priority_rank"].notna().any()
    # another seed is another run
    assert trainer_runs.run_key("baseline", {**SMALL, "seed": 4}) != trainer_runs.run_key(
        "baseline", SMALL
    )
    assert trainer_runs.baseline({**SMALL, "seed": 4}, cache_dir=tmp_path, compute=False) is None


def test_an_intervention_is_saved_and_differs_from_the_baseline(tmp_path):
    run = trainer_runs.baseline(SMALL, cache_dir=tmp_path)
    who = trainer_runs.interventions(run, SMALL, trainer_runs.default_day_x(SMALL["days"]))
    assert set(who) == {"top", "random"} and who["top"] != who["random"]
    res = trainer_runs.scenario(SMALL, who["top"], 4, cache_dir=tmp_path)
    back = trainer_runs.scenario(SMALL, who["top"], 4, cache_dir=tmp_path, compute=False)
    _same(res["timeline"], back["timeline"])
    # removing the top-priority account at day 4 changes what was bought after it
    assert (
        res["timeline"]["purchase_credits"].iloc[-1] != run["timeline"]["purchase_credits"].iloc[-1]
    )


def test_the_folder_keeps_at_most_keep_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_runs, "KEEP", 2)
    for seed in (1, 2, 3):
        trainer_runs.baseline({**SMALL, "seed": seed}, cache_dir=tmp_path)
    kept = sorted(p.name for p in (tmp_path / "trainer").iterdir())
    assert len(kept) == 2
    assert trainer_runs.baseline({**SMALL, "seed": 1}, cache_dir=tmp_path, compute=False) is None


@pytest.fixture(scope="module")
def store_uri(tmp_path_factory) -> str:
    return _store(tmp_path_factory.mktemp("trainer") / "tiny.duckdb", analyse=True)


def _page(uri: str, cache, monkeypatch) -> AppTest:
    monkeypatch.setenv("GRAPHINTEL_STORE", uri)
    monkeypatch.setenv("GRAPHINTEL_CACHE", str(cache))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("sections/trainer.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


def test_analyze_saves_the_default_run_and_the_page_reads_it(
    store_uri, tmp_path, monkeypatch, capsys
):
    from graphintel.cli import main

    cache = tmp_path / "cache"
    monkeypatch.setenv("GRAPHINTEL_CACHE", str(cache))
    monkeypatch.setenv("GRAPHINTEL_PII_KEY", "test-key")
    assert main(["analyze", "--store", store_uri]) == 0
    assert "Trainer baseline run saved" in capsys.readouterr().out
    runs = sorted(p.name.split("-")[0] for p in (cache / "trainer").iterdir())
    assert runs == ["baseline", "scenario", "scenario"]  # the run and its two interventions
    assert trainer_runs.baseline(cache_dir=cache, compute=False) is not None

    at = _page(store_uri, cache, monkeypatch)
    assert "Run read back from the saved runs" in _captions(at)
    members = next(m.value for m in at.metric if m.label == "Members")
    # a slider moved without pressing Simulate changes nothing: no what-if run
    at.slider(key="tr_accounts").set_value(300).run()
    assert "Run read back from the saved runs" in _captions(at)
    assert next(m.value for m in at.metric if m.label == "Members") == members
    # Simulate asks for the what-if run: simulated now (and saved for the next visit)
    at.slider(key="tr_accounts").set_value(300)
    next(b for b in at.button if b.label == "Simulate").click().run()
    assert not at.exception
    assert "Run simulated and analysed by this dashboard" in _captions(at)
    assert next(m.value for m in at.metric if m.label == "Members") != members


def test_without_a_saved_run_the_page_simulates_and_saves_it(store_uri, tmp_path, monkeypatch):
    cache = tmp_path / "empty-cache"
    at = _page(store_uri, cache, monkeypatch)
    assert "Run simulated and analysed by this dashboard" in _captions(at)
    assert trainer_runs.baseline(cache_dir=cache, compute=False) is not None
