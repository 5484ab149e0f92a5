"""Tests of the trainers' simulator: determinism, the scheme's invariants, the shape trainers teach."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from graphintel.errors import SimulationError
from graphintel.model import TABLE_ORDER, TABLES
from graphintel.simulate import (
    LEGAL_BASIS,
    SimulationParams,
    add_arguments,
    params_from_args,
    simulate,
)

PARAMS = SimulationParams(accounts=3000, seed=7)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    report = simulate(out, PARAMS, telegram_export=True)
    return out, report


@pytest.fixture(scope="module")
def tables(run):
    out, _ = run
    return {
        t: pd.read_csv(out / f"{t}.csv", dtype=str, keep_default_na=False, na_filter=False)
        for t in TABLE_ORDER
    }


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _parents(invites: pd.DataFrame) -> pd.Series:
    first = invites.sort_values(["invitee_id", "invited_at", "inviter_id"]).drop_duplicates(
        "invitee_id"
    )
    return pd.Series(first["inviter_id"].to_numpy(), index=first["invitee_id"].to_numpy())


def _depths(parents: pd.Series) -> pd.Series:
    depth = pd.Series(0, index=parents.index)
    cur = parents.copy()
    while True:
        alive = cur.notna()
        if not alive.any():
            return depth
        depth[alive] += 1
        cur = cur[alive].map(parents).reindex(depth.index)


# ---------------------------------------------------------------------------------------------
# determinism


def test_same_seed_gives_byte_identical_files(run, tmp_path):
    out, _ = run
    simulate(tmp_path / "again", PARAMS, telegram_export=True)
    first, second = _files(out), _files(tmp_path / "again")
    assert sorted(first) == sorted(second)
    assert "telegram_export/result.json" in first
    for name in first:
        assert first[name] == second[name], name


def test_other_seed_differs(run, tmp_path):
    out, _ = run
    simulate(tmp_path / "other", SimulationParams(accounts=3000, seed=8))
    assert (out / "invites.csv").read_bytes() != (tmp_path / "other" / "invites.csv").read_bytes()


# ---------------------------------------------------------------------------------------------
# format


def test_manifest_and_headers(run, tables):
    out, report = run
    man = yaml.safe_load((out / "manifest.yaml").read_text(encoding="utf-8"))
    assert man["case_id"] == "SIM-7"
    assert man["source_id"] == "SIM-7-N3000"
    assert man["method"] == "synthetic"
    assert man["legal_basis"] == LEGAL_BASIS
    assert str(man["collected_at"]) == "2024-07-31"
    assert man["collected_by"] == "graphintel simulate"
    assert [(f["path"], f["table"]) for f in man["files"]] == [(f"{t}.csv", t) for t in TABLE_ORDER]
    for t in TABLE_ORDER:
        header = (out / f"{t}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == TABLES[t].column_names
        assert report.counts[t] == len(tables[t])
    assert report.counts["accounts"] == 3000


def test_ids_names_and_values(tables):
    acc = tables["accounts"]
    assert acc["account_id"].str.fullmatch(r"A\d{7}").all()
    assert tables["channels"]["channel_id"].str.fullmatch(r"C\d{4}").all()
    assert tables["organizations"]["org_id"].str.fullmatch(r"O\d{3}").all()
    assert tables["transactions"]["txn_id"].str.fullmatch(r"T\d{8}").all()
    assert acc["display_name"].str.fullmatch(r"Test (Member|Operator|Content Bot) \d{4}").all()
    phones = acc["phone"][acc["phone"] != ""]
    assert len(phones) > 0 and phones.str.fullmatch(r"010-0\d{3}-\d{4}").all()
    assert set(acc["is_bot"]) == {"true", "false"}
    assert tables["channels"]["title"].str.endswith("(fictional)").all()
    ts_cols = {
        "accounts": ["first_seen"],
        "memberships": ["joined_at"],
        "invites": ["invited_at"],
        "transactions": ["ts"],
        "forwards": ["ts"],
        "content": ["posted_at"],
        "channels": ["created_at"],
    }
    for t, cols in ts_cols.items():
        for c in cols:
            assert tables[t][c].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").all(), (t, c)
    tx = tables["transactions"]
    credits = tx["credits"].astype(float)
    assert tx["amount_krw"].astype(float).to_numpy() == pytest.approx(credits * 2650)
    assert (tx[tx["kind"] == "purchase"]["credits"].astype(float) == 5).all()
    assert (tx[tx["kind"] == "referral_reward"]["credits"].astype(float) == 1).all()
    assert set(tx["kind"]) == {"purchase", "referral_reward", "commission", "topup", "payout"}
    orgs = tables["organizations"]
    assert orgs["lat"].astype(float).between(33, 39).all()
    assert orgs["lon"].astype(float).between(124, 131).all()


def test_every_reference_is_defined(tables):
    accounts = set(tables["accounts"]["account_id"])
    channels = set(tables["channels"]["channel_id"])
    refs = [
        ("channels", "creator_id", accounts),
        ("memberships", "account_id", accounts),
        ("memberships", "channel_id", channels),
        ("invites", "inviter_id", accounts),
        ("invites", "invitee_id", accounts),
        ("invites", "channel_id", channels),
        ("transactions", "from_id", accounts),
        ("transactions", "to_id", accounts),
        ("transactions", "channel_id", channels),
        ("forwards", "from_channel_id", channels),
        ("forwards", "to_channel_id", channels),
        ("targets", "channel_id", channels),
        ("targets", "org_id", set(tables["organizations"]["org_id"])),
        ("content", "channel_id", channels),
        ("content", "poster_id", accounts),
    ]
    for table, col, known in refs:
        assert set(tables[table][col]) <= known, (table, col)
    for table in TABLE_ORDER:
        spec = TABLES[table]
        assert not tables[table].duplicated(list(spec.key)).any(), table


# ---------------------------------------------------------------------------------------------
# the scheme's invariants


def test_balance_equals_sum_of_transactions(run, tables):
    _, report = run
    tx = tables["transactions"]
    credits = tx["credits"].astype(float)
    net = credits.groupby(tx["to_id"]).sum().sub(credits.groupby(tx["from_id"]).sum(), fill_value=0)
    net = net.reindex(report.balances.index, fill_value=0.0)
    assert net.to_numpy() == pytest.approx(report.balances.to_numpy(), abs=1e-6)
    assert report.balances.sum() == pytest.approx(0.0, abs=1e-6)


def test_only_bots_run_negative_balances_at_any_time(tables):
    tx = tables["transactions"]
    credits = tx["credits"].astype(float)
    moves = pd.concat(
        [
            pd.DataFrame({"acc": tx["to_id"], "ts": tx["ts"], "c": credits}),
            pd.DataFrame({"acc": tx["from_id"], "ts": tx["ts"], "c": -credits}),
        ]
    ).sort_values(["acc", "ts", "c"], ascending=[True, True, False], kind="stable")
    running = moves.groupby("acc")["c"].cumsum()
    bots = set(tables["accounts"]["account_id"][tables["accounts"]["is_bot"] == "true"])
    negative = set(moves["acc"][running < -1e-9])
    assert negative and negative <= bots


def test_every_referral_reward_follows_a_join(tables):
    tx = tables["transactions"]
    rewards = tx[tx["kind"] == "referral_reward"]
    joins = tables["invites"].merge(
        tables["memberships"],
        left_on=["invitee_id", "channel_id"],
        right_on=["account_id", "channel_id"],
    )
    assert len(joins) == len(tables["invites"])  # every invitation recorded is a join
    operators = set(tables["channels"]["creator_id"])
    joins = joins[~joins["inviter_id"].isin(operators)]
    assert len(rewards) == len(joins) > 0
    a = joins.sort_values(["inviter_id", "channel_id", "joined_at"])
    b = rewards.sort_values(["to_id", "channel_id", "ts"])
    assert list(a["inviter_id"]) == list(b["to_id"])
    assert list(a["channel_id"]) == list(b["channel_id"])
    assert (b["ts"].to_numpy() >= a["joined_at"].to_numpy()).all()
    assert (a["joined_at"] > a["invited_at"]).all()


def test_no_member_joins_before_the_room_exists(tables):
    m = tables["memberships"].merge(tables["channels"], on="channel_id")
    assert (m["joined_at"] >= m["created_at"]).all()
    left = m[m["left_at"] != ""]
    assert len(left) > 0 and (left["left_at"] > left["joined_at"]).all()
    owners = m[m["role"] == "owner"]
    assert (owners["account_id"] == owners["creator_id"]).all()
    assert len(owners) == len(tables["channels"])
    c = tables["content"].merge(tables["channels"], on="channel_id")
    assert (c["posted_at"] > c["created_at"]).all()


def test_operators_are_the_referral_roots(tables):
    inv = tables["invites"]
    operators = set(tables["channels"]["creator_id"])
    accounts = set(tables["accounts"]["account_id"])
    assert set(inv["invitee_id"]) == accounts - operators
    assert not operators & set(inv["invitee_id"])
    earliest = inv.groupby("invitee_id")["invited_at"].transform("min")
    firsts = inv[inv["invited_at"] == earliest]
    assert not firsts["invitee_id"].duplicated().any()  # exactly one earliest invite each
    parents = _parents(inv)
    roots = parents.copy()
    for _ in range(100):
        nxt = roots.map(parents).fillna(roots)
        if nxt.equals(roots):
            break
        roots = nxt
    assert set(roots) <= operators


def test_age_bands_skew_young(tables):
    acc = tables["accounts"]
    bands = acc[acc["is_bot"] == "false"]["age_band"].value_counts(normalize=True)
    assert list(bands.index[:2]) == ["10-19", "20-29"]
    assert bands["10-19"] > 0.5


# ---------------------------------------------------------------------------------------------
# what trainers teach


def test_multi_level_cascades(run, tables):
    _, report = run
    parents = _parents(tables["invites"])
    depth = _depths(parents)
    assert depth.max() >= 5
    assert report.max_referral_depth == depth.max()
    roots = parents.copy()
    while roots.isin(parents.index).any():
        roots = roots.map(parents).fillna(roots)
    assert report.largest_cascade == roots.value_counts().max() + 1  # the root itself


def test_cascade_sizes_are_heavy_tailed(tables):
    parents = _parents(tables["invites"])
    operators = set(tables["channels"]["creator_id"])
    # descendants of every inviter: count each account once per ancestor
    descendants = pd.Series(0, index=pd.Index(sorted(set(parents))))
    cur = parents.copy()
    while len(cur):
        descendants = descendants.add(cur.value_counts(), fill_value=0)
        cur = cur.map(parents).dropna()
    members = descendants.drop(list(operators), errors="ignore")
    assert members.max() >= 50 * members.median()
    assert members.median() <= 5


def test_credits_concentrate_at_operators(run):
    _, report = run
    positive = report.balances[report.balances > 0].sort_values(ascending=False)
    operators = {"A0000001", "A0000002", "A0000003"}
    assert set(positive.index[:3]) == operators
    assert positive[list(operators)].sum() >= 0.4 * positive.sum()


def test_communities_follow_rooms(tables):
    # Louvain on members and invitations: rooms fall into separate communities, each holding
    # rooms of one operator, and most accounts share a community with one of their rooms.
    nx = pytest.importorskip("networkx")
    m = tables["memberships"]
    graph = nx.Graph()
    graph.add_edges_from(zip(m["account_id"], m["channel_id"]))
    graph.add_edges_from(zip(tables["invites"]["inviter_id"], tables["invites"]["invitee_id"]))
    label = {n: k for k, c in enumerate(nx.community.louvain_communities(graph, seed=1)) for n in c}
    rooms = tables["channels"].set_index("channel_id")["creator_id"]
    by_room = pd.DataFrame({"community": rooms.index.map(label), "operator": rooms})
    assert by_room["community"].nunique() >= len(rooms) // 2
    assert (by_room.groupby("community")["operator"].nunique() == 1).all()
    shares = pd.Series([label[a] == label[c] for a, c in zip(m["account_id"], m["channel_id"])])
    assert shares.groupby(m["account_id"].to_numpy()).any().mean() > 0.8
    forwards = (
        tables["forwards"]
        .merge(
            tables["channels"][["channel_id", "creator_id"]],
            left_on="from_channel_id",
            right_on="channel_id",
        )
        .merge(
            tables["channels"][["channel_id", "creator_id"]],
            left_on="to_channel_id",
            right_on="channel_id",
            suffixes=("_from", "_to"),
        )
    )
    assert (forwards["creator_id_from"] == forwards["creator_id_to"]).mean() > 0.5
    hashes = tables["content"].groupby("content_hash")["channel_id"].nunique()
    assert (hashes > 1).sum() > 0  # some content recurs across rooms


# ---------------------------------------------------------------------------------------------
# Telegram export


def test_telegram_export(run, tables):
    out, _ = run
    doc = json.loads((out / "telegram_export" / "result.json").read_text(encoding="utf-8"))
    assert doc["type"] == "private_supergroup"
    channel_id = f"C{doc['id']:04d}"
    channel = tables["channels"].set_index("channel_id").loc[channel_id]
    assert doc["name"] == channel["title"]
    msgs = doc["messages"]
    assert 50 <= len(msgs) <= 300
    assert [m["id"] for m in msgs] == list(range(1, len(msgs) + 1))
    assert msgs[0]["action"] == "create_channel"
    assert msgs[0]["actor_id"] == "user" + str(int(channel["creator_id"][1:]))
    actions = {m.get("action") for m in msgs if m["type"] == "service"}
    assert {"create_channel", "invite_members", "join_group_by_link"} <= actions
    names = tables["accounts"].set_index("account_id")["display_name"]
    for m in msgs:
        sender = m.get("from_id") or m.get("actor_id")
        assert sender.startswith("user")
        assert names[f"A{int(sender[4:]):07d}"] == (m.get("from") or m.get("actor"))
        assert str(int(pd.Timestamp(m["date"]).timestamp())) == m["date_unixtime"]
    assert any("via_bot" in m for m in msgs)
    links = [m for m in msgs if m.get("action") == "join_group_by_link"]
    assert all(m["inviter"] in set(names) for m in links)
    man = yaml.safe_load((out / "telegram_export" / "manifest.yaml").read_text(encoding="utf-8"))
    assert man["files"] == [{"path": "result.json", "table": "telegram_export"}]
    assert man["method"] == "synthetic"


# ---------------------------------------------------------------------------------------------
# options


def test_arguments_and_validation():
    ap = argparse.ArgumentParser()
    add_arguments(ap)
    args = ap.parse_args(["--out", "x", "--accounts", "500", "--join-probability", "0.3"])
    p = params_from_args(args)
    assert (p.accounts, p.join_probability, p.days) == (500, 0.3, 60)
    assert args.out == Path("x") and args.telegram_export is False
    with pytest.raises(SystemExit):
        ap.parse_args(["--accounts", "10"])  # --out is required
    bad = [
        ({"join_probability": 1.5}, "--join-probability 1.5 is out of range: allowed is 0 to 1"),
        ({"accounts": 5}, "--accounts 5 is out of range: allowed is 20 to 10,000,000"),
        ({"churn": -0.1}, "allowed is 0 to 0.99"),
        ({"days": 2.5}, "--days 2.5 must be a whole number"),
        ({"start_date": "June"}, "give it as YYYY-MM-DD"),
        ({"operators": 10, "rooms": 4}, "every operator needs at least one room"),
        ({"accounts": 25, "operators": 20, "rooms": 20}, "leaves no members"),
        ({"seed": True}, "is not a number"),
    ]
    for kwargs, message in bad:
        with pytest.raises(SimulationError) as info:
            SimulationParams(**kwargs)
        assert message in str(info.value), kwargs
    with pytest.raises(SimulationError, match="allowed is 0 to 1"):
        params_from_args(ap.parse_args(["--out", "x", "--commission-rate", "2"]))


def test_small_and_tiny_runs_are_consistent(tmp_path):
    # A population that runs out early and a run without rewards still satisfy the invariants.
    r = simulate(tmp_path, SimulationParams(accounts=40, days=10, reward_credits=0, churn=0.2))
    tx = pd.read_csv(tmp_path / "transactions.csv", dtype=str, keep_default_na=False)
    assert "referral_reward" not in set(tx["kind"])
    inv = pd.read_csv(tmp_path / "invites.csv", dtype=str, keep_default_na=False)
    acc = pd.read_csv(tmp_path / "accounts.csv", dtype=str, keep_default_na=False)
    assert r.counts["accounts"] == len(acc) <= 40
    assert set(inv["invitee_id"]) | {"A0000001", "A0000002", "A0000003"} == set(acc["account_id"])
    assert np.isfinite(r.elapsed_seconds)


def test_bundle_passes_ingest_validation(run):
    ingest_job = pytest.importorskip("ingest.job")
    from graphintel.config import load_settings
    from ingest.manifest import load_manifest

    out, report = run
    settings = load_settings({"GRAPHINTEL_PII_KEY": "test-key"})
    bundle, _ = ingest_job.prepare_bundle(load_manifest(out / "manifest.yaml"), settings)
    assert len(bundle.tables["accounts"]) == report.counts["accounts"]
    assert not bundle.tables["accounts"]["inferred"].any()


# ---------------------------------------------------------------------------------------------
# interventions: remove one account at day X (a real re-run with the same seed)

ROOT = Path(__file__).resolve().parents[1]
REMOVAL = {"accounts": 5000, "days": 20, "operators": 3, "seed": 7}
DAY_X = 6
CUT = "2024-06-07T00:00:00"  # the start of day X (day 0 is 2024-06-01)


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    return {
        t: pd.read_csv(folder / f"{t}.csv", dtype=str, keep_default_na=False, na_filter=False)
        for t in TABLE_ORDER
    }


@pytest.fixture(scope="module")
def removal_base(tmp_path_factory):
    out = tmp_path_factory.mktemp("removal_base")
    report = simulate(out, SimulationParams(**REMOVAL))
    return out, report, _read(out)


@pytest.fixture(scope="module")
def top_operator(removal_base):
    # The operator whose rooms hold the most memberships by day X.
    _, _, t = removal_base
    m = t["memberships"]
    owners = m.loc[m["role"] == "owner", ["account_id", "channel_id"]]
    before = m[m["joined_at"] < CUT].merge(owners.rename(columns={"account_id": "op"}))
    return before.groupby("op").size().idxmax()


@pytest.fixture(scope="module")
def leaf_member(removal_base):
    # A random plain member who joined before day X and never invited anyone.
    _, _, t = removal_base
    m, inv = t["memberships"], t["invites"]
    staff = set(m.loc[m["role"] != "member", "account_id"])
    early = set(m.loc[m["joined_at"] < CUT, "account_id"])
    leaves = sorted(early - staff - set(inv["inviter_id"]))
    return leaves[np.random.default_rng(7).integers(len(leaves))]


def _removed(tmp_path_factory, account: str) -> tuple[Path, object, dict[str, pd.DataFrame]]:
    out = tmp_path_factory.mktemp("removed")
    report = simulate(out, SimulationParams(**REMOVAL, remove_account=account, remove_day=DAY_X))
    return out, report, _read(out)


@pytest.fixture(scope="module")
def without_operator(tmp_path_factory, top_operator):
    return _removed(tmp_path_factory, top_operator)


@pytest.fixture(scope="module")
def without_leaf(tmp_path_factory, leaf_member):
    return _removed(tmp_path_factory, leaf_member)


def test_default_run_still_equals_the_committed_demo(run):
    # remove_account empty leaves the model untouched: the demo bundle is unchanged, byte for byte.
    out, _ = run
    demo = ROOT / "sample_data" / "demo"
    if not (demo / "manifest.yaml").exists():
        pytest.skip("sample_data/demo is not in this checkout")
    assert _files(out) == _files(demo)


def test_removing_the_top_operator_reduces_joined_accounts(removal_base, without_operator):
    _, base, _ = removal_base
    _, removed, t = without_operator
    assert removed.counts["accounts"] < 0.85 * base.counts["accounts"]
    assert removed.counts["memberships"] < base.counts["memberships"]
    assert removed.counts["transactions"] < base.counts["transactions"]
    assert removed.params.remove_account in set(t["accounts"]["account_id"])  # still on record


def test_nothing_joins_the_removed_operators_rooms_after_day_x(without_operator, top_operator):
    _, _, t = without_operator
    rooms = set(t["channels"].loc[t["channels"]["creator_id"] == top_operator, "channel_id"])
    assert (
        rooms
        and (t["channels"].loc[t["channels"]["channel_id"].isin(rooms), "created_at"] < CUT).all()
    )
    m = t["memberships"][t["memberships"]["channel_id"].isin(rooms)]
    assert (m["joined_at"] < CUT).all()
    assert (m["left_at"] != "").all() and (m["left_at"] <= CUT).all()  # the rooms are down
    assert (t["invites"].loc[t["invites"]["channel_id"].isin(rooms), "invited_at"] < CUT).all()
    assert (t["transactions"].loc[t["transactions"]["channel_id"].isin(rooms), "ts"] < CUT).all()
    assert (t["content"].loc[t["content"]["channel_id"].isin(rooms), "posted_at"] < CUT).all()
    f = t["forwards"]
    assert (
        f.loc[f["from_channel_id"].isin(rooms) | f["to_channel_id"].isin(rooms), "ts"] < CUT
    ).all()
    # Everybody else carries on after day X.
    assert (t["memberships"]["joined_at"] >= CUT).sum() > 100


def _silent_after_cut(t: dict[str, pd.DataFrame], account: str) -> None:
    inv, tx, m = t["invites"], t["transactions"], t["memberships"]
    assert (
        inv.loc[(inv["inviter_id"] == account) | (inv["invitee_id"] == account), "invited_at"] < CUT
    ).all()
    assert (tx.loc[(tx["from_id"] == account) | (tx["to_id"] == account), "ts"] < CUT).all()
    assert (t["content"].loc[t["content"]["poster_id"] == account, "posted_at"] < CUT).all()
    mine = m[m["account_id"] == account]
    assert len(mine) and (mine["joined_at"] < CUT).all()
    assert (mine["left_at"] != "").all() and (mine["left_at"] <= CUT).all()


def test_removed_operator_is_silent_after_day_x(removal_base, without_operator, top_operator):
    _, _, base = removal_base
    _, _, t = without_operator
    _silent_after_cut(t, top_operator)
    # In the baseline the same operator was still being paid after day X.
    tx = base["transactions"]
    assert ((tx["to_id"] == top_operator) & (tx["kind"] == "payout") & (tx["ts"] >= CUT)).any()


def test_removed_member_is_silent_after_day_x(without_leaf, leaf_member):
    _, _, t = without_leaf
    _silent_after_cut(t, leaf_member)


def test_removing_a_leaf_member_changes_little(removal_base, without_leaf, without_operator):
    _, base, b = removal_base
    _, leaf, t = without_leaf
    _, op, _ = without_operator
    ratio = leaf.counts["accounts"] / base.counts["accounts"]
    assert 0.9 < ratio < 1.1
    assert abs(ratio - 1) < 1 - op.counts["accounts"] / base.counts["accounts"]
    # Up to day X the two runs are the same run: every record before the cut is identical
    # (content hashes, like handles and age bands, are drawn after the run, so they differ).
    for table, col in (
        ("invites", "invited_at"),
        ("transactions", "ts"),
        ("content", "posted_at"),
        ("forwards", "ts"),
    ):
        before_b = b[table][b[table][col] < CUT].reset_index(drop=True)
        before_t = t[table][t[table][col] < CUT].reset_index(drop=True)
        if table == "content":
            before_b, before_t = (x.drop(columns="content_hash") for x in (before_b, before_t))
        pd.testing.assert_frame_equal(before_b, before_t, obj=table)
    cols = ["account_id", "channel_id", "role", "joined_at"]
    pd.testing.assert_frame_equal(
        b["memberships"].loc[b["memberships"]["joined_at"] < CUT, cols].reset_index(drop=True),
        t["memberships"].loc[t["memberships"]["joined_at"] < CUT, cols].reset_index(drop=True),
    )
    cols = ["channel_id", "created_at", "is_public", "creator_id"]  # titles are drawn after
    assert t["channels"][cols].equals(b["channels"][cols])


def test_removal_is_deterministic(without_operator, removal_base, top_operator, tmp_path):
    out, _, _ = without_operator
    again = simulate(
        tmp_path, SimulationParams(**REMOVAL, remove_account=top_operator, remove_day=DAY_X)
    )
    assert _files(out) == _files(tmp_path)
    assert _files(out) != _files(removal_base[0])
    manifest = yaml.safe_load((tmp_path / "manifest.yaml").read_text(encoding="utf-8"))
    assert manifest["source_id"] == f"SIM-7-N5000-X{top_operator}D{DAY_X}"
    assert f"removed from day {DAY_X}" in again.summary()


def test_operator_removed_on_day_0_creates_no_rooms(tmp_path):
    r = simulate(
        tmp_path,
        SimulationParams(
            accounts=600, days=10, operators=3, seed=3, remove_account="A0000002", remove_day=0
        ),
    )
    t = _read(tmp_path)
    assert "A0000002" not in set(t["channels"]["creator_id"])
    assert not (t["memberships"]["account_id"] == "A0000002").any()
    acc = t["accounts"].set_index("account_id")
    assert acc.loc["A0000002", "first_seen"] == ""  # on record, never joined anything
    assert (
        r.counts["channels"]
        == len(t["channels"])
        < SimulationParams(accounts=600, operators=3).n_rooms
    )
    assert set(t["targets"]["channel_id"]) <= set(t["channels"]["channel_id"])


def test_removal_options_and_validation():
    ap = argparse.ArgumentParser()
    add_arguments(ap)
    args = ap.parse_args(["--out", "x", "--remove-account", "A0000003", "--remove-day", "10"])
    p = params_from_args(args)
    assert (p.remove_account, p.remove_day, p.removed_index) == ("A0000003", 10, 2)
    assert params_from_args(ap.parse_args(["--out", "x"])).remove_account == ""
    bad = [
        ({"remove_account": "3"}, "--remove-account '3' is not an account id"),
        ({"remove_account": "A12x"}, "give it as A followed by digits"),
        ({"remove_account": 3}, "is not an account id"),
        ({"remove_account": "A0009999"}, "allowed is A0000001 to A0003000"),
        ({"remove_account": "A0000000"}, "allowed is A0000001 to A0003000"),
        ({"remove_account": "A0000004"}, "is a content bot"),
        ({"remove_account": "A0000003", "remove_day": 60}, "allowed is 0 to 59"),
        ({"remove_account": "A0000003", "remove_day": -1}, "allowed is 0 to 3,649"),
        ({"remove_day": 5}, "--remove-day 5 needs --remove-account"),
    ]
    for kwargs, message in bad:
        with pytest.raises(SimulationError) as info:
            SimulationParams(**kwargs)
        assert message in str(info.value), kwargs


def test_slices_write_the_same_bytes(tmp_path, monkeypatch):
    """The streaming writer (text built one slice of rows at a time) gives the bytes of one
    whole write: slices of 97 rows against slices larger than every table."""
    import graphintel.simulate as sim

    params = SimulationParams(accounts=2000, seed=11, days=30)
    sim.simulate(tmp_path / "whole", params)
    monkeypatch.setattr(sim, "SLICE_ROWS", 97)
    report = sim.simulate(tmp_path / "sliced", params)
    assert report.counts["memberships"] > 97 * 3  # several slices of each large table
    for name in ("accounts", "memberships", "invites", "transactions", "content"):
        whole = (tmp_path / "whole" / f"{name}.csv").read_bytes()
        assert (tmp_path / "sliced" / f"{name}.csv").read_bytes() == whole, name
