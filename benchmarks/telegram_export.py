"""Benchmark the streaming Telegram Desktop export reader.

Generates a synthetic full-account export (fictional names, random ids) of about ``--mb``
megabytes, written the way tdesktop writes it (1-space indentation, one key per line), then reads
it with :func:`ingest.telegram_export.read_telegram_export` and prints MB/s and peak RSS.

Run::

    .venv/bin/python benchmarks/telegram_export.py --mb 200

Target: at least 10 MB/s (1 GB in under 2 minutes), peak memory flat in file size.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["generate_export", "main"]

_FIRST = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India"]
_LAST = ["Testperson", "Samplename", "Fictional", "Placeholder", "Mockwell"]
_WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "가나다",
    "라마바",
    "사아자",
    "synthetic",
    "sample",
    "text",
    "benchmark",
    "only",
    "fictional",
]


def _message(rng: random.Random, mid: int, t: int, users: list[tuple[int, str]], chat: int) -> dict:
    uid, name = users[rng.randrange(len(users))]
    r = rng.random()
    base = {
        "id": mid,
        "type": "message",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t + 32400)),
        "date_unixtime": str(t),
    }
    if r < 0.03:
        members = [users[rng.randrange(len(users))][1] for _ in range(rng.randint(1, 3))]
        base.update(
            type="service",
            actor=name,
            actor_id=f"user{uid}",
            action="invite_members",
            members=members,
            text="",
            text_entities=[],
        )
        return base
    if r < 0.05:
        inviter = users[rng.randrange(len(users))][1]
        base.update(
            type="service",
            actor=name,
            actor_id=f"user{uid}",
            action="join_group_by_link",
            inviter=inviter,
            text="",
            text_entities=[],
        )
        return base
    base.update({"from": name, "from_id": f"user{uid}"})
    if r < 0.08:
        base["forwarded_from"] = f"Sample Feed {rng.randrange(50)}"
    if r < 0.10:
        base["via_bot"] = f"@sample{rng.randrange(5)}_bot"
    if 0.10 <= r < 0.40:
        base.update(
            photo="(File not included. Change data exporting settings to download.)",
            photo_file_size=rng.randrange(10**6),
            width=1280,
            height=720,
        )
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 30)))
    if r > 0.95:
        link = f"https://t.me/+Sample{rng.randrange(100)}"
        base["text"] = [words + " ", {"type": "link", "text": link}]
        base["text_entities"] = [
            {"type": "plain", "text": words + " "},
            {"type": "link", "text": link},
        ]
    else:
        base["text"] = words
        base["text_entities"] = [{"type": "plain", "text": words}]
    if r > 0.9:
        base["reactions"] = [
            {
                "type": "emoji",
                "count": 2,
                "emoji": "\U0001f44d",
                "recent": [{"from": name, "from_id": f"user{uid}", "date": base["date"]}],
            }
        ]
    return base


def generate_export(path: Path, *, mb: float = 200.0, seed: int = 0, chats: int = 20) -> int:
    """Write a synthetic full-account export of about ``mb`` megabytes to ``path``.

    Parameters
    ----------
    path : Path
        Output file (``result.json``).
    mb : float
        Approximate size in megabytes.
    seed : int
        Random seed; the same seed gives the same file.
    chats : int
        Number of group chats the messages are spread over.

    Returns
    -------
    int
        Number of messages written.
    """
    rng = random.Random(seed)
    users = [(10_000 + i, f"{rng.choice(_FIRST)} {rng.choice(_LAST)} {i}") for i in range(5000)]
    target = int(mb * 1e6)
    per_chat = max(1, target // chats)
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            '{\n "about": "Synthetic benchmark export",\n "chats": {\n  "about": "",\n  "list": [\n'
        )
        for c in range(chats):
            chat_id = 1_000_000 + c
            head = {"name": f"Sample Room {c}", "type": "private_supergroup", "id": chat_id}
            text = json.dumps(head, ensure_ascii=False, indent=1)[:-2]
            out.write(("   ,\n" if c else "") + text + ',\n "messages": [\n')
            written, mid, t = 0, 0, 1_700_000_000 + c
            first = True
            while written < per_chat:
                mid += 1
                t += rng.randrange(1, 120)
                s = json.dumps(_message(rng, mid, t, users, chat_id), ensure_ascii=False, indent=1)
                s = ("" if first else ",\n") + s
                first = False
                out.write(s)
                written += len(s.encode("utf-8"))
                n += 1
            out.write("\n ]\n}\n")
        out.write("  ]\n }\n}\n")
    return n


def main(argv: list[str] | None = None) -> int:
    """Generate an export, read it, print MB/s and peak RSS."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=200.0, help="size of the generated file")
    ap.add_argument("--file", type=Path, help="read this export instead of generating one")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    args = ap.parse_args(argv)

    from ingest.telegram_export import read_telegram_export

    tmp = None
    path = args.file
    if path is None:
        tmp = tempfile.TemporaryDirectory(prefix="tgbench-")
        path = Path(tmp.name) / "result.json"
        t0 = time.perf_counter()
        n = generate_export(path, mb=args.mb)
        print(f"generated {n:,} messages in {time.perf_counter() - t0:.1f} s: {path}")
    size = path.stat().st_size
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    tables = read_telegram_export(path)
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = ", ".join(f"{k} {len(v):,}" for k, v in tables.items())
    print(
        f"read {size / 1e6:.1f} MB in {dt:.2f} s = {size / 1e6 / dt:.1f} MB/s; "
        f"peak RSS {rss / 1024:.0f} MB (before read {rss0 / 1024:.0f} MB); {rows}"
    )
    if tmp is not None and not args.keep:
        tmp.cleanup()
    elif tmp is not None:
        print(f"kept {path}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
