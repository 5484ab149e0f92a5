"""Three small hand-written bundles for the legal-control tests (every name fictional).

``SRC-A`` (case CASE-A) and ``SRC-S`` (case CASE-B) report some of the same accounts, rooms,
payments, forwards and content; ``SRC-S`` also supplies values nobody else does (a display
name, a room kind), overrides others (a handle, a role) and reports records of its own.
``SRC-C`` (case CASE-A) comes last and references ``U4``, an account only ``SRC-S`` defined.
"""

from __future__ import annotations

from pathlib import Path

MANIFEST = """case_id: {case}
source_id: {sid}
method: {method}
legal_basis: "{basis}"
collected_at: {collected}
collected_by: legal test
files:
{files}
"""

BUNDLES: dict[str, dict[str, object]] = {
    "SRC-A": {
        "case": "CASE-A",
        "method": "seizure",
        "basis": "warrant 2024-A (fictional)",
        "collected": "2024-08-01",
        "tables": {
            "accounts": "account_id,handle,display_name,is_bot\n"
            "U1,@u1,,false\nU2,@u2,Two,false\nU3,@u3,,false\n",
            "channels": "channel_id,title,kind\nC1,Room one,\nC2,Room two,group\n",
            "memberships": "account_id,channel_id,role,joined_at\n"
            "U1,C1,owner,2024-07-01T10:00:00\nU2,C1,member,2024-07-02T10:00:00\n"
            "U3,C2,member,2024-07-03T10:00:00\nU1,C2,owner,2024-07-01T11:00:00\n",
            "invites": "inviter_id,invitee_id,channel_id,invited_at\n"
            "U1,U2,C1,2024-07-02T09:00:00\nU1,U3,C2,2024-07-03T09:00:00\n",
            "transactions": "txn_id,from_id,to_id,credits,kind,ts\n"
            "T1,U2,U1,10,purchase,2024-07-04T10:00:00\n",
            "forwards": "from_channel_id,to_channel_id,ts\nC1,C2,2024-07-05T09:00:00\n",
            "content": "content_hash,channel_id,posted_at,poster_id\nh:1,C1,2024-07-05T10:00:00,U1\n",
            "organizations": "org_id,name,kind\nO1,Example School (fictional),school\n",
            "targets": "channel_id,org_id,first_reported\nC1,O1,2024-08-01\n",
        },
    },
    "SRC-S": {
        "case": "CASE-B",
        "method": "undercover_disguised",
        "basis": "court permission 2024-B (fictional)",
        "collected": "2024-08-05",
        "tables": {
            "accounts": "account_id,handle,display_name,is_bot\n"
            "U1,,Only S name,\nU2,@s_u2,,\nU4,@u4_secret,Four,true\n",
            "channels": "channel_id,title,kind\nC1,,supergroup\nC3,Secret room,group\n",
            "memberships": "account_id,channel_id,role,joined_at\n"
            "U1,C1,admin,\nU4,C3,owner,2024-07-06T10:00:00\nU4,C1,member,2024-07-06T11:00:00\n",
            "invites": "inviter_id,invitee_id,channel_id,invited_at\n"
            "U1,U2,C1,2024-07-02T09:00:00\nU4,U1,C3,2024-07-06T12:00:00\n",
            "transactions": "txn_id,from_id,to_id,credits,kind,ts\n"
            "T1,U2,U1,10,,2024-07-04T10:00:00\nT2,U4,U1,5,referral_reward,2024-07-07T10:00:00\n",
            "forwards": "from_channel_id,to_channel_id,ts\n"
            "C1,C2,2024-07-05T09:00:00\nC1,C2,2024-07-08T09:00:00\nC3,C1,2024-07-08T10:00:00\n",
            "content": "content_hash,channel_id,posted_at,poster_id\n"
            "h:1,C1,,\nh:1,C3,2024-07-08T11:00:00,U4\nh:2,C3,2024-07-08T12:00:00,U4\n",
            "organizations": "org_id,name,kind\nO2,Secret target (fictional),university\n",
            "targets": "channel_id,org_id,first_reported\nC3,O2,2024-08-05\nC1,O1,\n",
        },
    },
    "SRC-C": {
        "case": "CASE-A",
        "method": "platform_disclosure",
        "basis": "disclosure order 2024-C (fictional)",
        "collected": "2024-08-09",
        "tables": {
            "accounts": "account_id,handle,display_name,is_bot\nU5,@u5,Five,false\nU2,,Two (C),\n",
            "memberships": "account_id,channel_id,role,joined_at\nU5,C2,member,2024-07-09T10:00:00\n",
            "invites": "inviter_id,invitee_id,channel_id,invited_at\nU4,U5,C2,2024-07-09T09:00:00\n",
            "transactions": "txn_id,from_id,to_id,credits,kind,ts\n"
            "T3,U5,U1,3,purchase,2024-07-09T11:00:00\n",
            "forwards": "from_channel_id,to_channel_id,ts\nC2,C1,2024-07-09T12:00:00\n",
        },
    },
    "SRC-T": {
        "case": "CASE-TRAIN",
        "method": "synthetic",
        "basis": "synthetic training data (fictional)",
        "collected": "2024-08-10",
        "tables": {
            "accounts": "account_id,handle,display_name,is_bot\nZ1,@trainer_op,Trainer op,false\n",
            "channels": "channel_id,title,kind\nZC,Training room,group\n",
            "memberships": "account_id,channel_id,role,joined_at\nZ1,ZC,owner,2024-07-01T10:00:00\n",
        },
    },
}


def write_bundle(root: Path, sid: str) -> Path:
    """Write bundle ``sid`` under ``root``; returns its manifest."""
    spec = BUNDLES[sid]
    folder = root / sid
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for table, text in spec["tables"].items():  # type: ignore[union-attr]
        (folder / f"{table}.csv").write_text(text, encoding="utf-8")
        entries.append(f"  - {{path: {table}.csv, table: {table}}}")
    (folder / "manifest.yaml").write_text(
        MANIFEST.format(
            sid=sid,
            files="\n".join(entries),
            **{k: spec[k] for k in ("case", "method", "basis", "collected")},
        ),
        encoding="utf-8",
    )
    return folder / "manifest.yaml"
