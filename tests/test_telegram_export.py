"""Telegram Desktop export reader: hand-written fixtures with hand-derived canonical tables."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from graphintel.errors import InputFormatError
from graphintel.model import TABLES
from ingest.telegram_export import (
    TELEGRAM_TABLES,
    _Source,
    parse_peer_id,
    parse_tme_link,
    read_telegram_export,
)

DATA = Path(__file__).parent / "data" / "telegram"
SINGLE = DATA / "single_supergroup" / "result.json"
FULL = DATA / "full_account" / "result.json"


def rows(frame, *cols):
    return {tuple(r) for r in frame[list(cols)].itertuples(index=False, name=None)}


@pytest.fixture(scope="module")
def single():
    return read_telegram_export(SINGLE)


@pytest.fixture(scope="module")
def full():
    return read_telegram_export(FULL)


def test_columns_are_the_canonical_ones(single, full):
    for tables in (single, full):
        assert set(tables) == set(TELEGRAM_TABLES)
        for name, frame in tables.items():
            extra = ["inferred"] if name in ("accounts", "channels") else []
            assert list(frame.columns) == TABLES[name].column_names + extra + ["evidence"]
            assert not frame.duplicated(list(TABLES[name].key)).any()


def test_single_chat_room(single):
    ch = single["channels"].set_index("channel_id")
    assert set(ch.index) == {"chat777", "name:sample news feed", "tme:+SampleInvite1"}
    room = ch.loc["chat777"]
    assert (room.title, room.kind, room.is_public, room.creator_id, room.created_at) == (
        "예시 방",
        "supergroup",
        False,
        "user101",
        "2024-05-01T09:00:00",
    )
    assert room.inferred is False
    assert ch.loc["name:sample news feed", "inferred"] is True
    assert ch.loc["tme:+SampleInvite1", "is_public"] is False
    assert "https://t.me/+SampleInvite1" in ch.loc["tme:+SampleInvite1", "evidence"]


def test_single_chat_memberships(single):
    # hand-derived: dates are date_unixtime in UTC (the local `date` is 9 h ahead)
    t = lambda minute: f"2024-05-01T09:{minute:02d}:00"
    assert rows(
        single["memberships"], "account_id", "channel_id", "role", "joined_at", "left_at"
    ) == {
        ("user101", "chat777", "owner", t(0), None),  # create_group before the migration
        ("user102", "chat777", "member", t(0), None),  # added at creation (name resolved)
        ("user103", "chat777", "member", t(5), None),  # invited by name, resolved
        ("name:chat777:Kim", "chat777", "member", t(5), None),  # ambiguous name: inferred
        ("user201", "chat777", "member", t(6), None),
        ("user202", "chat777", "member", t(7), None),
        ("user104", "chat777", "member", t(8), t(13)),  # joined by link, left by itself
        ("user105", "chat777", "member", t(9), t(14)),  # joined by link, removed by user101
        ("user106", "chat777", "member", t(10), None),  # self-join, left, came back (msg 18)
        ("user107", "chat777", "member", t(11), None),  # join_group_by_request
        ("handle:samplegen_bot", "chat777", "member", t(15), None),  # via_bot
        ("user199", "chat777", "member", t(16), None),  # deleted account (from: null)
    }
    ev = single["memberships"].set_index("account_id")["evidence"]
    assert ev["user101"] == "result.json msg -999999990"
    assert ev["user104"] == "result.json msg 6"


def test_single_chat_invites(single):
    assert rows(
        single["invites"], "inviter_id", "invitee_id", "channel_id", "invited_at", "evidence"
    ) == {
        ("user101", "user103", "chat777", "2024-05-01T09:05:00", "result.json msg 3"),
        ("user101", "name:chat777:Kim", "chat777", "2024-05-01T09:05:00", "result.json msg 3"),
        ("user102", "user104", "chat777", "2024-05-01T09:08:00", "result.json msg 6"),
        (
            "name:chat777:Ghost Sample",
            "user105",
            "chat777",
            "2024-05-01T09:09:00",
            "result.json msg 7",
        ),
    }  # the self-add of user106 (msg 8) is a join, not an invite


def test_names_never_silently_merged(single):
    acc = single["accounts"].set_index("account_id")
    assert acc.loc["user201", "display_name"] == acc.loc["user202", "display_name"] == "Kim"
    kim = acc.loc["name:chat777:Kim"]
    assert kim.inferred is True
    assert kim.evidence == 'result.json msg 3 name "Kim" (ambiguous: 2 senders have this name)'
    ghost = acc.loc["name:chat777:Ghost Sample"]
    assert ghost.inferred is True and "no sender has this name" in ghost.evidence
    assert acc.loc["user199", "display_name"] is None
    assert acc.loc["user199", "inferred"] is False


def test_bots_links_and_forwards(single):
    acc = single["accounts"].set_index("account_id")
    assert acc.loc["handle:samplegen_bot", ["handle", "is_bot", "inferred"]].tolist() == [
        "@SampleGen_bot",
        True,
        True,
    ]
    credit = acc.loc["handle:sample_credit_bot"]
    assert credit.handle == "@Sample_Credit_bot" and credit.is_bot is True
    assert "t.me/Sample_Credit_bot?start=ref101" in credit.evidence
    assert rows(single["forwards"], "from_channel_id", "to_channel_id", "ts") == {
        ("name:sample news feed", "chat777", "2024-05-01T09:15:00")
    }


def test_no_message_text_is_kept(single, full):
    for tables in (single, full):
        for frame in tables.values():
            blob = frame.astype(str).to_string()
            for text in ("안녕하세요", "sample greeting", "광고", "back (sample)", "sample price"):
                assert text not in blob


def test_full_account_export(full):
    ch = full["channels"].set_index("channel_id")
    assert set(ch.index) == {
        "chat777",
        "dm101_102",
        "dm101_301",
        "saved101",
        "chat888",
        "chat999",
        "name:sample news feed",
        "chat4242",
        "tme:sample_vault",
    }
    # the basic group 555 migrated to supergroup 777: one room under the supergroup's id
    assert ch.loc["chat777", "title"] == "New Sample Supergroup"
    assert "chat 555" in ch.loc["chat777", "evidence"]
    assert ch.loc["dm101_102", "kind"] == "personal" and ch.loc["dm101_301", "kind"] == "bot"
    assert ch.loc["chat888", ["kind", "is_public", "creator_id"]].tolist() == [
        "channel",
        True,
        "user101",
    ]
    assert "left_chats" in ch.loc["chat999", "evidence"]
    acc = full["accounts"].set_index("account_id")
    assert acc.loc["user101", ["handle", "phone", "display_name"]].tolist() == [
        "@alpha_sample",
        "+82 10 0000 0101",
        "Alpha Sample",
    ]
    assert acc.loc["user108", "phone"] == "+82 10 0000 0108"  # a contact, never seen in chats
    assert acc.loc["user301", "is_bot"] is True
    assert rows(full["memberships"], "account_id", "channel_id", "role") == {
        ("user101", "chat777", "owner"),
        ("user102", "chat777", "member"),
        ("user101", "dm101_102", "member"),
        ("user102", "dm101_102", "member"),
        ("user101", "dm101_301", "member"),
        ("user301", "dm101_301", "member"),
        ("user101", "chat888", "owner"),
        ("user101", "chat999", "member"),
        ("user101", "saved101", "owner"),
    }
    # forwarded_from "Old Sample Group" resolves to the room by title; "Bravo Sample" is a
    # person (a sender name), not a room; forwarded_from_id wins when present
    assert rows(full["forwards"], "from_channel_id", "to_channel_id", "ts") == {
        ("name:sample news feed", "saved101", "2024-05-01T09:09:00"),
        ("chat777", "chat888", "2024-05-01T09:11:00"),
        ("chat4242", "chat888", "2024-05-01T09:13:00"),
    }
    assert full["invites"].empty
    assert full["memberships"].set_index("channel_id").loc["chat888", "evidence"] == (
        "result.json chat 888 msg 1"
    )


def test_old_and_new_clients_give_one_room():
    got = {
        d: read_telegram_export(DATA / d / "result.json")
        for d in ("oldest_client", "old_client", "new_client")
    }
    for tables in got.values():
        assert rows(tables["memberships"], "account_id", "channel_id", "role") == {
            ("user401", "chat444", "owner"),
            ("user402", "chat444", "member"),
        }
        assert tables["channels"]["channel_id"].tolist() == ["chat444"]
    # old exports have only the local `date`, kept as written; new ones are UTC
    assert got["old_client"]["channels"].loc[0, "created_at"] == "2020-11-02T18:00:00"
    assert got["new_client"]["channels"].loc[0, "created_at"] == "2020-11-02T09:00:00"


def test_peer_id_encodings():
    assert parse_peer_id("user5") == parse_peer_id((1 << 32) + 5) == parse_peer_id(5) == ("user", 5)
    assert parse_peer_id("chat5") == parse_peer_id("channel5") == parse_peer_id((1 << 33) + 5)
    assert parse_peer_id(None) is None and parse_peer_id("bot5") is None
    assert parse_tme_link("https://t.me/s/Sample_Room") == ("channel", "tme:sample_room")
    assert parse_tme_link("https://example.org/x") is None


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 4096])
def test_bad_escapes_repaired_across_chunk_boundaries(chunk):
    raw = b'{"a": "x\\x01y\\\\x41z\\\\\\x02", "b": "\\\\"}'
    src = _Source(io.BytesIO(raw), None)
    out = b""
    while True:
        part = src.read(chunk)
        if not part:
            break
        out += part
    assert json.loads(out) == {"a": "x\x01y\\x41z\\\x02", "b": "\\"}
    assert src.repaired == 2


def test_missing_optional_keys_and_unknown_actions(tmp_path):
    chat = {
        "type": None,
        "id": 12,
        "messages": [
            {"id": 1, "type": "message", "date": "2019-01-01T10:00:00", "from_id": "user9"},
            {
                "id": 2,
                "type": "service",
                "date": "2019-01-01T10:01:00",
                "action": "brand_new",
                "whatever": [1, {"x": None}],
            },
            {"id": 3, "type": "unsupported"},
            "not a message",
        ],
    }
    p = tmp_path / "result.json"
    p.write_text(json.dumps(chat), encoding="utf-8")
    t = read_telegram_export(p, display_name="seized/result.json")
    assert t["channels"][["channel_id", "title", "kind"]].values.tolist() == [
        ["chat12", None, None]
    ]
    assert t["memberships"][["account_id", "joined_at", "evidence"]].values.tolist() == [
        ["user9", "2019-01-01T10:00:00", "seized/result.json msg 1"]
    ]


def test_truncated_file_is_a_clear_error(tmp_path):
    data = SINGLE.read_bytes()
    p = tmp_path / "result.json"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match=r"result\.json is truncated.*byte [\d,]+ \(line"):
        read_telegram_export(p)


def test_malformed_file_names_the_position(tmp_path):
    text = SINGLE.read_text(encoding="utf-8")
    lines = text.split("\n")
    lines[40] = lines[40].replace('"', "'", 1)
    p = tmp_path / "result.json"
    p.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"not valid JSON at byte [\d,]+ \(line 41,"):
        read_telegram_export(p)


def test_not_an_export_and_missing_file(tmp_path):
    p = tmp_path / "other.json"
    p.write_text('{"hello": [1, 2]}', encoding="utf-8")
    with pytest.raises(InputFormatError, match="not a Telegram Desktop export"):
        read_telegram_export(p)
    with pytest.raises(InputFormatError, match="Cannot open"):
        read_telegram_export(tmp_path / "absent.json")


def test_simulator_export_round_trips(tmp_path):
    simulate = pytest.importorskip("graphintel.simulate")
    import pandas as pd

    out = tmp_path / "bundle"
    simulate.simulate(
        out, simulate.SimulationParams(accounts=600, days=20, seed=3), telegram_export=True
    )
    got = read_telegram_export(out / "telegram_export" / "result.json")
    doc = json.loads((out / "telegram_export" / "result.json").read_text(encoding="utf-8"))
    room = f"C{doc['id']:04d}"
    csv = {t: pd.read_csv(out / f"{t}.csv", dtype=str) for t in ("memberships", "invites")}

    def acc(x: str) -> str:  # user<N> -> A<N:07d>; inferred name accounts stay as they are
        return f"A{int(x[4:]):07d}" if x.startswith("user") else x

    assert got["channels"].loc[0, "channel_id"] == f"chat{doc['id']}"
    mem = got["memberships"][got["memberships"]["account_id"].str.startswith("user")]
    truth = csv["memberships"][csv["memberships"]["channel_id"] == room]
    assert len(mem) > 20
    assert {acc(a) for a in mem["account_id"]} <= set(truth["account_id"])
    inv = got["invites"]
    resolved = inv[
        inv["inviter_id"].str.startswith("user") & inv["invitee_id"].str.startswith("user")
    ]
    truth_inv = csv["invites"][csv["invites"]["channel_id"] == room]
    pairs = set(zip(truth_inv["inviter_id"], truth_inv["invitee_id"]))
    assert len(resolved) > 20
    assert {
        (acc(a), acc(b)) for a, b in zip(resolved["inviter_id"], resolved["invitee_id"])
    } <= pairs
    # a link join whose inviter advertised one invite link carries that link, as in the CSV
    linked = resolved[resolved["invite_link"].notna()]
    truth_links = set(
        zip(truth_inv["inviter_id"], truth_inv["invitee_id"], truth_inv["invite_link"])
    )
    assert len(linked) > 0
    for a, b, link in zip(linked["inviter_id"], linked["invitee_id"], linked["invite_link"]):
        assert (acc(a), acc(b), link) in truth_links
