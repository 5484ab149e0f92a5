"""Read Telegram Desktop "Export chat history" JSON into canonical tables.

Both layouts are read: a single-chat export (``result.json`` with ``name``, ``type``, ``id``,
``messages`` at the root) and a full-account export (``chats.list[]``, ``left_chats.list[]``,
``contacts``, ``personal_information``). The file is streamed with ijson (C backend when
available) through a byte filter that rewrites the invalid ``\\xNN`` escapes real exports contain;
memory depends on the number of distinct accounts, rooms and relations, not on the file size. No
message text or media is kept: message ids are kept as evidence references.

Ids
---
* user with bare id ``N`` → account ``user<N>``;
* group, supergroup or channel with bare id ``N`` → channel ``chat<N>`` (one prefix for basic
  groups, supergroups and channels, so old/new exports of one chat coincide); a basic group that
  migrated to a supergroup maps to the **supergroup's** id when both are in the file;
* personal or bot chat with user ``N`` → channel ``dm<A>_<B>`` (the two users' ids, ascending)
  when the exporting account is known, else ``dm<N>``; saved messages of user ``N`` → ``saved<N>``;
  the "replies" and "verification codes" service chats → ``replies<N>`` / ``codes<N>``;
* names that do not resolve to exactly one sender → ``name:<channel id>:<name>`` (inferred); a
  deleted account (``null`` name) in a service message → ``deleted:<channel id>:<msg>:<i>``;
* bots known only by username (``via_bot``, ``t.me/…bot`` links) → ``handle:<username>``;
* rooms known only by a forward name → ``name:<normalised name>``, by a ``t.me`` link →
  ``tme:<username>`` or ``tme:+<invite hash>`` (``t.me/c/N`` → ``chat<N>``); all inferred.

Peer ids are read in all three encodings (plain integer user id, 2³²/2³³-shifted integer,
``user…``/``chat…``/``channel…`` strings); see :func:`parse_peer_id`.
"""

from __future__ import annotations

import importlib
import json
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import numpy as np
import pandas as pd
from ijson.utils import sendable_list
from tqdm.auto import tqdm

from graphintel.errors import InputFormatError, clip_repr
from graphintel.model import NODE_TABLES, TABLES

__all__ = [
    "MAX_DEPTH",
    "TELEGRAM_TABLES",
    "normalise_name",
    "parse_peer_id",
    "parse_tme_link",
    "read_telegram_export",
]

TELEGRAM_TABLES = ("accounts", "channels", "memberships", "invites", "forwards")
"""The canonical tables a Telegram export yields (every one present, possibly empty)."""

_USER_SHIFT = 1 << 32
_CHAT_SHIFT = 1 << 33
_MIGRATED_SHIFT = 1_000_000_000  # pre-migration messages get id - 1e9 in the supergroup's export
_CHUNK = 1 << 18
MAX_DEPTH = 64
"""JSON nesting a Telegram export may have (real ones reach about 9)."""
_MAX_PATH = 1024  # characters of a JSON path (keys included)
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1

_KIND = {
    "personal_chat": "personal",
    "bot_chat": "bot",
    "saved_messages": "personal",
    "replies": "bot",
    "verification_codes": "bot",
    "private_group": "group",
    "private_supergroup": "supergroup",
    "public_supergroup": "supergroup",
    "private_channel": "channel",
    "public_channel": "channel",
}
_PUBLIC = {
    "public_supergroup": True,
    "public_channel": True,
    "private_group": False,
    "private_supergroup": False,
    "private_channel": False,
    "personal_chat": False,
    "bot_chat": False,
    "saved_messages": False,
}
_DIRECT = ("personal_chat", "bot_chat")
_ROLE_RANK = {"owner": 0, "admin": 1, "member": 2}
_SYSTEM = {"saved_messages": "saved", "replies": "replies", "verification_codes": "codes"}

_PEER_STR = re.compile(r"^(user|chat|channel)(\d+)$")
_BAD_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})")
_TME = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/"
    r"(\+[\w-]+|joinchat/[\w-]+|c/\d+|s/\w+|\w+)[^\s\"'<>()\[\]]*",
    re.IGNORECASE | re.ASCII,
)
_TME_RESERVED = frozenset(
    [
        "addstickers",
        "addemoji",
        "addlist",
        "addtheme",
        "bg",
        "confirmphone",
        "iv",
        "invoice",
        "login",
        "proxy",
        "setlanguage",
        "share",
        "socks",
        "contact",
        "boost",
        "giftcode",
        "m",
    ]
)
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


_backend = importlib.import_module(f"ijson.backends.{ijson.backend}")

# --------------------------------------------------------------------------------------------
# small pure helpers


def parse_peer_id(value: Any) -> tuple[str, int] | None:
    """Decode a ``from_id``/``actor_id`` in any of the three encodings tdesktop has written.

    Parameters
    ----------
    value
        ``"user123"``, ``"chat123"``, ``"channel123"`` (v2.7.2+), an integer shifted by 2³² (user)
        or 2³³ (chat/channel) (v2.4.1–v2.7.1), or a plain integer user id (v1.4.8–v2.4.0).

    Returns
    -------
    (kind, bare_id) or None
        ``kind`` is ``"user"`` or ``"chat"`` (basic groups, supergroups and channels share one
        kind so one chat always gets one id); ``None`` for anything else.

    Examples
    --------
    >>> parse_peer_id("user123"), parse_peer_id("channel1292077344")
    (('user', 123), ('chat', 1292077344))
    >>> parse_peer_id(4325636679), parse_peer_id(9882011936), parse_peer_id(30669383)
    (('user', 30669383), ('chat', 1292077344), ('user', 30669383))
    >>> parse_peer_id("peer7") is None, parse_peer_id(True) is None
    (True, True)
    """
    if isinstance(value, str):
        m = _PEER_STR.match(value)
        if m is None:
            return None
        return ("user" if m.group(1) == "user" else "chat"), int(m.group(2))
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    if _CHAT_SHIFT <= value < 2 * _CHAT_SHIFT:
        return "chat", value - _CHAT_SHIFT
    if _USER_SHIFT <= value < _CHAT_SHIFT:
        return "user", value - _USER_SHIFT
    return "user", value


def normalise_name(name: str) -> str:
    """Normalise a room name for use in an id: NFKC, case-folded, inner whitespace collapsed.

    Examples
    --------
    >>> normalise_name("  Sample   FEED ")
    'sample feed'
    >>> normalise_name("예시 방")
    '예시 방'
    """
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def parse_tme_link(url: str) -> tuple[str, str] | None:
    """What a ``t.me`` link points at.

    Returns
    -------
    (kind, id) or None
        ``("channel", "chat<N>")`` for ``t.me/c/N/…``; ``("channel", "tme:+<hash>")`` for a
        private invite link (``t.me/+hash``, ``t.me/joinchat/hash``); ``("bot", "handle:<name>")``
        for a username ending in ``bot``; ``("channel", "tme:<name>")`` for any other public
        username; ``None`` for service paths (stickers, proxies, …) and non-links.

    Examples
    --------
    >>> parse_tme_link("https://t.me/+AbC_12")
    ('channel', 'tme:+AbC_12')
    >>> parse_tme_link("t.me/joinchat/AbC_12"), parse_tme_link("https://t.me/c/777/15")
    (('channel', 'tme:+AbC_12'), ('channel', 'chat777'))
    >>> parse_tme_link("https://t.me/Sample_Room/12"), parse_tme_link("t.me/Credit_Bot?start=r1")
    (('channel', 'tme:sample_room'), ('bot', 'handle:credit_bot'))
    >>> parse_tme_link("https://t.me/addstickers/pack") is None
    True
    """
    m = _TME.search(url)
    if m is None:
        return None
    path = m.group(1)
    low = path.lower()
    if path.startswith("+"):
        return "channel", "tme:" + path
    if low.startswith("joinchat/"):
        return "channel", "tme:+" + path[9:]
    if low.startswith("c/"):
        return "channel", "chat" + str(int(path[2:]))
    if low.startswith("s/"):
        path, low = path[2:], low[2:]
    if low in _TME_RESERVED or not _USERNAME.match(path):
        return None
    if low.endswith("bot"):
        return "bot", "handle:" + low
    return "channel", "tme:" + low


def _iso(unixtime: Any) -> str | None:
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(unixtime)))
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _q(name: str | None) -> str:
    return "null" if name is None else json.dumps(name, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# byte stream: \xNN repair, position tracking, progress


class _Source:
    """File-like ``read`` for ijson that rewrites ``\\xNN`` to ``\\u00NN`` and tracks positions."""

    def __init__(self, raw: BinaryIO, bar: Any, label: str = ""):
        self._raw = raw
        self._bar = bar
        self.label = label
        self.depth = 0  # JSON nesting at the end of what was emitted
        self.in_string = False
        self._carry = b""
        self._first = True
        self.eof = False
        self.emitted_raw = 0  # raw bytes handed to the parser so far
        self.emitted_lines = 0  # newlines in them
        self.repaired = 0  # number of \xNN escapes rewritten
        self.last: bytes = b""  # last chunk handed out (after repair)
        self.last_start = 0  # its raw offset
        self.last_lines = 0  # newlines before it
        self.last_fixes: list[int] = []  # offsets in ``last`` where a repair added 2 bytes

    def read(self, n: int = -1) -> bytes:
        if n == 0:  # ijson probes the stream type with read(0)
            return b""
        while True:
            data = self._raw.read(n if n and n > 0 else _CHUNK)
            if self._bar is not None and data:
                self._bar.update(len(data))
            if self._first:
                self._first = False
                if data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
                    self.emitted_raw += 3
            chunk = self._carry + data
            if not data:
                self.eof = True
                cut = len(chunk)
            else:
                cut = chunk.find(b"\\", max(0, len(chunk) - 4))
                if cut == -1:
                    cut = len(chunk)
                while cut > 0 and chunk[cut - 1] == 0x5C:
                    cut -= 1
            region, self._carry = chunk[:cut], chunk[cut:]
            if region or self.eof:
                return self._emit(region)

    def _emit(self, region: bytes) -> bytes:
        raw_len = len(region)
        fixes: list[int] = []
        if b"\\x" in region:
            out, pos = [], 0
            for m in _BAD_ESCAPE.finditer(region):
                start = m.start(2) - 2
                out.append(region[pos:start])
                fixes.append(sum(len(p) for p in out) + 2 * len(fixes))
                out.append(b"\\u00" + m.group(2))
                pos = m.end()
            if fixes:
                out.append(region[pos:])
                region = b"".join(out)
                self.repaired += len(fixes)
        self._bound_depth(region)
        self.last, self.last_start, self.last_lines = region, self.emitted_raw, self.emitted_lines
        self.last_fixes = fixes
        self.emitted_raw += raw_len
        self.emitted_lines += region.count(b"\n")
        return region

    def _bound_depth(self, region: bytes) -> None:
        """Refuse nesting deeper than :data:`MAX_DEPTH` before the parser sees it (vectorised).

        The parser gives every event its path, so a 200 KB ``[[[[…`` would cost O(depth²)
        memory inside one chunk: the depth is tracked here, brackets inside strings excluded
        (a region never ends inside an escape, see :meth:`read`).
        """
        arr = np.frombuffer(region, dtype=np.uint8)
        q = np.flatnonzero(arr == 0x22)
        if len(q) and q[0] == 0:
            cand = q[1:][arr[q[1:] - 1] == 0x5C]
        else:
            cand = q[arr[q - 1] == 0x5C] if len(q) else q
        if len(cand):  # drop escaped quotes: an odd run of backslashes before (a few per chunk)
            escaped = []
            for pos in cand.tolist():
                k = pos - 1
                while k >= 0 and region[k] == 0x5C:
                    k -= 1
                if (pos - 1 - k) % 2:
                    escaped.append(pos)
            if escaped:
                q = np.setdiff1d(q, np.array(escaped, dtype=q.dtype), assume_unique=True)
        steps = _STEP[arr]
        b = np.flatnonzero(steps)
        if len(b):
            outside = (np.searchsorted(q, b) + self.in_string) % 2 == 0
            b = b[outside]
            depth = self.depth + np.cumsum(steps[b], dtype=np.int64)
            if len(depth):
                if depth.max() > MAX_DEPTH:
                    pos = int(b[np.argmax(depth > MAX_DEPTH)])
                    line = self.emitted_lines + region.count(b"\n", 0, pos) + 1
                    raise InputFormatError(
                        f"The Telegram export {self.label} nests arrays/objects more than "
                        f"{MAX_DEPTH} levels deep at byte {self.emitted_raw + pos:,} (line "
                        f"{line:,}); a Telegram Desktop export is a few levels deep. Not a real "
                        "export?"
                    )
                self.depth = int(depth[-1])
        self.in_string = bool((self.in_string + len(q)) % 2)

    def locate(self, message: str) -> tuple[int, int, int] | None:
        """Best effort (byte offset, line, column) of a yajl error inside the last chunk."""
        if "premature EOF" in message or (self.eof and not self.last):
            return None
        lines = message.split("\n")
        if len(lines) < 3 or "^" not in lines[2]:
            return None
        caret = lines[2].index("^")
        before, after = lines[1][:caret].lstrip(" "), lines[1][caret:].rstrip(" ")
        try:
            needle, head = (before + after).encode("utf-8"), len(before.encode("utf-8"))
        except UnicodeEncodeError:
            return None
        hay = self.last.translate(_WS)
        at = hay.find(needle)
        if at == -1 or hay.find(needle, at + 1) != -1 or not needle:
            return None
        off = at + head
        raw_off = self.last_start + off - 2 * sum(1 for f in self.last_fixes if f < off)
        line = self.last_lines + self.last.count(b"\n", 0, off) + 1
        col = off - (self.last.rfind(b"\n", 0, off) + 1) + 1
        return raw_off, line, col


_WS = bytes.maketrans(b"\n\r\t", b"   ")


# --------------------------------------------------------------------------------------------
# the streaming reader


@dataclass
class _Chat:
    ordinal: int
    section: str  # root | chats | left_chats
    name: Any = None
    type: Any = None
    raw_id: Any = None
    messages: int = 0
    int_ids: bool = False
    str_ids: bool = False
    unixtime: bool = False
    migrate_to: list[tuple[int, Any]] = field(default_factory=list)  # (msg id, ts)
    migrated_msgs: list[tuple[int, Any]] = field(default_factory=list)  # negative-id migrate_to
    migrate_from_title: Any = None
    created: tuple[Any, Any] | None = None  # (ts, msg id) of migrate_from_group
    channel_id: str | None = None
    index: int = 0  # position in its section's list (JSON paths in messages)

    def path(self) -> str:
        return "" if self.section == "root" else f"{self.section}.list[{self.index}]."


_CHAT_PREFIXES = {"": "root", "chats.list.item": "chats", "left_chats.list.item": "left_chats"}
_MSG_PREFIXES = frozenset(
    ("messages.item", "chats.list.item.messages.item", "left_chats.list.item.messages.item")
)
_META = {
    p + ("." if p else "") + k: ("raw_id" if k == "id" else k)
    for p in _CHAT_PREFIXES
    for k in ("name", "type", "id")
}
_TEXT = frozenset((str, type(None)))
_ID_TYPES = frozenset((str, int, type(None)))
_MESSAGE_FIELDS = (
    ("id", _ID_TYPES, "expected a message id (a number)"),
    ("date", _TEXT, "expected a date as text (2024-05-01T18:00:00)"),
    ("date_unixtime", _ID_TYPES, "expected a Unix time (text or a number)"),
    ("type", _TEXT, "expected text (message or service)"),
    ("action", _TEXT, "expected text (the service action)"),
    ("from_id", _ID_TYPES, "expected a peer id (user123 or a number)"),
    ("actor_id", _ID_TYPES, "expected a peer id (user123 or a number)"),
    ("from", _TEXT, "expected a name as text"),
    ("actor", _TEXT, "expected a name as text"),
)
_CONTAINERS = {
    **{f"{p}{'.' if p else ''}messages": "start_array" for p in _CHAT_PREFIXES},
    "chats": "start_map",
    "left_chats": "start_map",
    "chats.list": "start_array",
    "left_chats.list": "start_array",
    "contacts": "start_map",
    "contacts.list": "start_array",
}
_SHAPE = {"start_array": "an array", "start_map": "an object"}
_CONTACT = "contacts.list.item"
_PERSONAL = "personal_information"
_SCALARS = frozenset(("string", "number", "boolean", "null"))
_START = ("M", "start_map", None)
_WATCH: dict[str, int] = {
    **{p: 1 for p in _MSG_PREFIXES},
    **{p: 2 for p in _CHAT_PREFIXES},
    **{p: 3 for p in _META},
    **dict.fromkeys(_CONTAINERS, 6),
    _CONTACT: 4,
    **{f"{_CONTACT}.{k}": 4 for k in ("user_id", "first_name", "last_name", "phone_number")},
    **{
        f"{_PERSONAL}.{k}": 5
        for k in ("user_id", "first_name", "last_name", "phone_number", "username")
    },
}


class _Reader:
    def __init__(self, label: str):
        self.label = label
        self.chats: list[_Chat] = []
        self.stack: list[_Chat] = []
        self.peer_cache: dict[Any, tuple[str, int, str] | None] = {}
        # (ordinal, account_id) -> [first_ts, first_mid, last_ts, last_mid]
        self.activity: dict[tuple[int, str], list] = {}
        # account_id -> [display_name, name_ts, first_ts, ordinal, mid, is_bot]
        self.accounts: dict[str, list] = {}
        self.names: dict[str, set[str]] = {}
        # (ordinal, mid, ts, code, actor_id, actor_name, name, index)
        self.events: list[tuple] = []
        self.chat_senders: dict[tuple[int, int], list] = {}  # (ordinal, bare chat id) -> [name,...]
        self.forwards: list[tuple] = []  # (ordinal, mid, ts, name, peer)
        self.bots: dict[tuple[int, str], list] = {}  # (ordinal, handle) -> [ts, mid, '@Name']
        self.links: dict[
            tuple[int, str], list
        ] = {}  # (ordinal, target) -> [ts, mid, kind, url, by]
        self.contacts: list[dict] = []
        self.personal: dict[str, Any] = {}
        self._contact: dict[str, Any] | None = None
        self.src: _Source | None = None

    def _shape(self, path: str, found: Any, allowed: str) -> InputFormatError:
        """Wrong type where the reader needs a known one: name the JSON path and the place."""
        src = self.src
        near = (
            f" (between bytes {src.last_start:,} and {src.last_start + len(src.last):,})"
            if src is not None
            else ""
        )
        kind = (
            {
                "start_map": "an object",
                "start_array": "an array",
                "map_key": "an object",
            }.get(found)
            if isinstance(found, str)
            else None
        )
        shown = kind or f"{type(found).__name__} {clip_repr(found)}"
        return InputFormatError(
            f"The Telegram export {self.label}: {path} is {shown}{near}; {allowed}. Not a "
            "Telegram Desktop export, or a damaged one"
        )

    # ---- event stream -----------------------------------------------------------------------
    def consume(self, parser: Iterator[tuple[str, str, Any]]) -> None:
        """Drive the stream: chat structure here, each message built in C and handled at its end."""
        out = sendable_list()
        send = _backend.items_basecoro(out, "M").send
        watch, chats, stack, meta = _WATCH, self.chats, self.stack, _META
        for ev in parser:
            code = watch.get(ev[0])
            if code is None:
                send(ev)
                continue
            event = ev[1]
            if code == 1:  # a message starts or ends
                if event == "start_map":
                    send(_START)
                    continue
                send(ev)
                if event == "end_map" and out and stack:
                    for m in out:
                        self.message(stack[-1], m)
                    out.clear()
                continue
            send(ev)
            if code == 2:  # a chat object starts or ends
                if event == "start_map":
                    section = _CHAT_PREFIXES[ev[0]]
                    index = sum(1 for c in chats if c.section == section)
                    chat = _Chat(len(chats), section, index=index)
                    chats.append(chat)
                    stack.append(chat)
                elif event == "end_map" and stack:
                    stack.pop()
                elif event not in ("map_key", "end_array") and ev[0]:
                    found = event if event.startswith("start") else ev[2]
                    where = ev[0].replace(".list.item", ".list[]")
                    raise self._shape(where, found, "each chat must be an object")
            elif code == 3:
                if event in _SCALARS and stack:
                    value = ev[2]
                    if value is not None and not isinstance(value, (str, int)):
                        raise self._shape(ev[0], value, "expected text or a number")
                    setattr(stack[-1], meta[ev[0]], value)
                elif event in ("start_map", "start_array"):
                    where = (stack[-1].path() if stack else "") + ev[0].rsplit(".", 1)[-1]
                    raise self._shape(where, event, "expected text or a number")
            elif code == 6:
                want = _CONTAINERS[ev[0]]
                if event in ("start_map", "start_array") and event != want:
                    raise self._shape(ev[0], event, f"expected {_SHAPE[want]}")
                if event in _SCALARS:
                    raise self._shape(ev[0], ev[2], f"expected {_SHAPE[want]}")
            elif code == 4:
                self._contact_event(ev[0], event, ev[2])
            elif code == 5 and event in _SCALARS:
                self.personal[ev[0][len(_PERSONAL) + 1 :]] = ev[2]

    def _contact_event(self, prefix: str, event: str, value: Any) -> None:
        if prefix == _CONTACT:
            if event == "start_map":
                self._contact = {}
            elif event == "end_map" and self._contact is not None:
                self.contacts.append(self._contact)
                self._contact = None
        elif self._contact is not None and event in ("string", "number"):
            self._contact[prefix[len(_CONTACT) + 1 :]] = value

    # ---- one message (hot path) ---------------------------------------------------------------
    def message(self, chat: _Chat, m: Any) -> None:
        if not isinstance(m, dict):
            return
        ordinal = chat.ordinal
        chat.messages += 1
        mid = m.get("id")
        du = m.get("date_unixtime")
        date = m.get("date")
        if du is not None:
            chat.unixtime = True
            ts = _iso(du) or date
        else:
            ts = date
        action = m.get("action")
        kind = m.get("type")
        if kind == "service":
            ref, name = m.get("actor_id"), m.get("actor")
        else:
            ref, name = m.get("from_id"), m.get("from")
        # Shapes of what is used (cheap type tests on the hot path): ids and dates must be
        # hashable and comparable, names text.
        if (
            type(mid) not in _ID_TYPES
            or type(date) not in _TEXT
            or type(du) not in _ID_TYPES
            or type(action) not in _TEXT
            or type(kind) not in _TEXT
            or type(ref) not in _ID_TYPES
            or type(name) not in _TEXT
        ):
            self._message_shape(chat, m)
        aid = None
        if ref is not None:
            aid = self._sender(chat, ref, name, ts, mid)
        elif name is not None and "from" in m and action is None:
            # v1.3.8–v1.4.7: names only; resolved like a service-message name
            self.events.append((ordinal, mid, ts, "speak", None, None, name, 0))
        if action is not None:
            self._action(chat, m, action, aid, name, ts, mid)
        if "forwarded_from" in m or "forwarded_from_id" in m:
            if type(m.get("forwarded_from")) not in _TEXT:
                raise self._shape(
                    f"{chat.path()}messages[{chat.messages - 1}].forwarded_from",
                    m.get("forwarded_from"),
                    "expected a name as text",
                )
            if type(m.get("forwarded_from_id")) not in _ID_TYPES:
                raise self._shape(
                    f"{chat.path()}messages[{chat.messages - 1}].forwarded_from_id",
                    m.get("forwarded_from_id"),
                    "expected a peer id (channel123 or a number)",
                )
            self.forwards.append(
                (ordinal, mid, ts, m.get("forwarded_from"), m.get("forwarded_from_id"))
            )
        bot = m.get("via_bot")
        if isinstance(bot, str) and bot:
            handle = "handle:" + bot.lstrip("@").lower()
            if (ordinal, handle) not in self.bots:
                self.bots[(ordinal, handle)] = [ts, mid, bot]
        self._scan_links(chat, m, ts, mid, aid)

    def _message_shape(self, chat: _Chat, m: dict) -> None:
        path = f"{chat.path()}messages[{chat.messages - 1}]"
        for key, allowed, what in _MESSAGE_FIELDS:
            value = m.get(key)
            if type(value) not in allowed:
                raise self._shape(f"{path}.{key}", value, what)

    def _sender(self, chat: _Chat, ref: Any, name: Any, ts: Any, mid: Any) -> str | None:
        peer = self.peer_cache.get(ref, False)
        if peer is False:
            p = parse_peer_id(ref)
            peer = None if p is None else (p[0], p[1], f"user{p[1]}")
            self.peer_cache[ref] = peer
        if isinstance(ref, str):
            chat.str_ids = True
        else:
            chat.int_ids = True
        if peer is None:
            return None
        if peer[0] == "chat":
            key = (chat.ordinal, peer[1])
            if key not in self.chat_senders:
                self.chat_senders[key] = [name, ts, mid]
            return None
        aid = peer[2]
        key = (chat.ordinal, aid)
        rec = self.activity.get(key)
        if rec is None:
            self.activity[key] = [ts, mid, ts, mid]
        elif ts is not None:
            if rec[0] is None or ts < rec[0]:
                rec[0], rec[1] = ts, mid
            if rec[2] is None or ts >= rec[2]:
                rec[2], rec[3] = ts, mid
        self._account(aid, name, ts, chat.ordinal, mid)
        return aid

    def _account(self, aid: str, name: Any, ts: Any, ordinal: int, mid: Any) -> None:
        acc = self.accounts.get(aid)
        if acc is None:
            self.accounts[aid] = [name, ts, ts, ordinal, mid, None]
        else:
            if name is not None and (
                acc[0] is None or ts is None or acc[1] is None or ts >= acc[1]
            ):
                acc[0], acc[1] = name, ts
            if ts is not None and (acc[2] is None or ts < acc[2]):
                acc[2], acc[3], acc[4] = ts, ordinal, mid
        if isinstance(name, str) and name:
            s = self.names.get(name)
            if s is None:
                self.names[name] = {aid}
            elif aid not in s:
                s.add(aid)

    def _action(self, chat, m, action, aid, actor, ts, mid) -> None:
        o, ev = chat.ordinal, self.events
        members = m.get("members")
        if not isinstance(members, list):
            members = []
        path = f"{chat.path()}messages[{chat.messages - 1}]"
        for i, member in enumerate(members):
            if member is not None and not isinstance(member, str):
                raise self._shape(f"{path}.members[{i}]", member, "expected a name as text")
        if type(m.get("inviter")) not in _TEXT:
            raise self._shape(f"{path}.inviter", m.get("inviter"), "expected a name as text")
        if action in ("create_group", "create_channel"):
            ev.append((o, mid, ts, "create", aid, actor, None, 0))
            for i, name in enumerate(members):
                if name is None or name != actor:
                    ev.append((o, mid, ts, "add", aid, actor, name, i))
        elif action == "invite_members":
            for i, name in enumerate(members):
                ev.append((o, mid, ts, "invite", aid, actor, name, i))
        elif action == "remove_members":
            for i, name in enumerate(members):
                ev.append((o, mid, ts, "remove", aid, actor, name, i))
        elif action == "join_group_by_link":
            ev.append((o, mid, ts, "join", aid, actor, None, 0))
            if m.get("inviter") is not None:
                ev.append((o, mid, ts, "link_invite", aid, actor, m.get("inviter"), 0))
        elif action == "join_group_by_request":
            ev.append((o, mid, ts, "join", aid, actor, None, 0))
        elif action == "migrate_to_supergroup" and isinstance(mid, int):
            if mid < 0:
                chat.migrated_msgs.append((mid + _MIGRATED_SHIFT, ts))
            else:
                chat.migrate_to.append((mid, ts))
        elif action == "migrate_from_group":
            chat.migrate_from_title = m.get("title")
            if chat.created is None:
                chat.created = (ts, mid)

    def _scan_links(self, chat: _Chat, m: dict, ts: Any, mid: Any, aid: Any) -> None:
        urls: list[str] = []
        text = m.get("text")
        if isinstance(text, str):
            if "me/" in text:
                urls.append(text)
        elif isinstance(text, list):
            for part in text:
                if isinstance(part, str):
                    if "me/" in part:
                        urls.append(part)
                elif isinstance(part, dict):
                    for k in ("text", "href"):
                        v = part.get(k)
                        if isinstance(v, str) and "me/" in v:
                            urls.append(v)
        ents = m.get("text_entities")
        if isinstance(ents, list) and not isinstance(text, list):
            for e in ents:
                if isinstance(e, dict) and e.get("type") in ("link", "text_link"):
                    v = e.get("href") or e.get("text")
                    if isinstance(v, str) and "me/" in v:
                        urls.append(v)
        rows = m.get("inline_bot_buttons")
        if isinstance(rows, list):
            for row in rows:
                for b in row if isinstance(row, list) else ():
                    data = b.get("data") if isinstance(b, dict) else None
                    if isinstance(data, str) and "me/" in data:
                        urls.append(data)
        if not urls:
            return
        for blob in urls:
            for match in _TME.finditer(blob):
                target = parse_tme_link(match.group(0))
                if target is None:
                    continue
                key = (chat.ordinal, target[1])
                if key not in self.links:
                    self.links[key] = [ts, mid, target[0], match.group(0), aid]

    # ---- assembly ---------------------------------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        return _Assembler(self).run()


class _Assembler:
    """Turns the streamed aggregates into canonical tables (runs once, after the stream)."""

    def __init__(self, r: _Reader):
        self.r = r
        self.chats = [
            c for c in r.chats if c.section != "root" or c.messages or c.raw_id is not None
        ]
        self.full = any(c.section != "root" for c in self.chats) or bool(r.personal)
        owner = parse_peer_id(r.personal.get("user_id"))
        self.owner = owner[1] if owner and owner[0] == "user" else None

    def where(self, ordinal: int, mid: Any) -> str:
        chat = self.r.chats[ordinal]
        if self.full:
            return f"{self.r.label} chat {chat.raw_id} msg {mid}"
        return f"{self.r.label} msg {mid}"

    def _chat_label(self, ordinal: int) -> str:
        chat = self.r.chats[ordinal]
        where = f"{self.r.label} chat {chat.raw_id}" if self.full else self.r.label
        return f"{where} ({chat.type or 'chat'})"

    # -- channel ids
    def _bare(self, chat: _Chat) -> int | None:
        raw = chat.raw_id
        if isinstance(raw, str) and raw.isdigit():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
            return None
        modern = chat.str_ids or chat.unixtime
        old = chat.int_ids or (chat.messages > 0 and not modern)
        if chat.type in _DIRECT or chat.type in _SYSTEM:
            if old and _USER_SHIFT <= raw < _CHAT_SHIFT:
                return raw - _USER_SHIFT
            return raw
        if not modern and _CHAT_SHIFT <= raw < 2 * _CHAT_SHIFT:
            return raw - _CHAT_SHIFT
        return raw

    def assign_channel_ids(self) -> None:
        r = self.r
        for chat in self.chats:
            bare = self._bare(chat)
            if bare is None:
                chat.channel_id = f"export:{r.label}:{chat.ordinal}"
            elif chat.type in _SYSTEM:
                chat.channel_id = f"{_SYSTEM[chat.type]}{bare}"
            elif chat.type in _DIRECT:
                me = self.owner
                if me is None:
                    others = {
                        int(a[4:])
                        for (o, a) in r.activity
                        if o == chat.ordinal and a != f"user{bare}"
                    }
                    me = min(others) if len(others) == 1 else None
                chat.channel_id = (
                    f"dm{min(me, bare)}_{max(me, bare)}" if me is not None else f"dm{bare}"
                )
            else:
                chat.channel_id = f"chat{bare}"
        # a basic group exported next to the supergroup it became: one room, the supergroup's id
        by_fp: dict[tuple, _Chat] = {}
        by_mid: dict[int, list[_Chat]] = {}
        for chat in self.chats:
            for mid, ts in chat.migrated_msgs:
                by_fp[(mid, ts)] = chat
                by_mid.setdefault(mid, []).append(chat)
        for chat in self.chats:
            for mid, ts in chat.migrate_to:
                new = by_fp.get((mid, ts))
                if new is None:  # dates written differently (local vs UTC): id + title
                    cands = [c for c in by_mid.get(mid, ()) if c.migrate_from_title == chat.name]
                    new = cands[0] if len(cands) == 1 else None
                if new is not None and new is not chat:
                    chat.channel_id = new.channel_id

    # -- run
    def run(self) -> dict[str, pd.DataFrame]:
        r = self.r
        self.assign_channel_ids()
        cid = {c.ordinal: c.channel_id for c in self.chats}
        # accounts from contacts / personal information / personal-chat peers
        node_accounts: dict[str, dict] = {}

        def add_account(aid, **kw):
            row = node_accounts.setdefault(aid, {"account_id": aid})
            for k, v in kw.items():
                if v is not None and row.get(k) is None:
                    row[k] = v

        if r.personal:
            p = r.personal
            pid = parse_peer_id(p.get("user_id"))
            if pid and pid[0] == "user":
                name = " ".join(x for x in (p.get("first_name"), p.get("last_name")) if x) or None
                add_account(
                    f"user{pid[1]}",
                    display_name=name,
                    handle=p.get("username") or None,
                    phone=p.get("phone_number") or None,
                    evidence=f"{r.label} personal_information",
                )
                if name:
                    r.names.setdefault(name, set()).add(f"user{pid[1]}")
        for c in r.contacts:
            pid = parse_peer_id(c.get("user_id"))
            if not pid or pid[0] != "user":
                continue
            name = " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x) or None
            add_account(
                f"user{pid[1]}",
                display_name=name,
                phone=c.get("phone_number") or None,
                evidence=f"{r.label} contacts",
            )
            if name:
                r.names.setdefault(name, set()).add(f"user{pid[1]}")
        member_rows: list[
            tuple
        ] = []  # (account, channel, role, joined, left, active, ev_ordinal, mid)
        for chat in self.chats:
            if chat.type in _DIRECT:
                peer = self._bare(chat)
                if peer is not None:
                    aid = f"user{peer}"
                    add_account(
                        aid,
                        display_name=chat.name if isinstance(chat.name, str) else None,
                        is_bot=chat.type == "bot_chat",
                    )
                    if isinstance(chat.name, str) and chat.name:
                        r.names.setdefault(chat.name, set()).add(aid)
                    member_rows.append(
                        (aid, chat.channel_id, "member", None, None, None, chat.ordinal, None)
                    )
            elif chat.type == "saved_messages":
                bare = self._bare(chat)
                if bare is not None:
                    member_rows.append(
                        (
                            f"user{bare}",
                            chat.channel_id,
                            "owner",
                            None,
                            None,
                            None,
                            chat.ordinal,
                            None,
                        )
                    )
                    add_account(f"user{bare}")
        unique = {n: next(iter(s)) for n, s in r.names.items() if len(s) == 1}
        system = {c.ordinal for c in self.chats if c.type in _SYSTEM}
        # senders: activity gives joined (first message) and last activity
        for (o, aid), (first, fmid, last, _lmid) in r.activity.items():
            if o in system or o not in cid:
                continue
            member_rows.append((aid, cid[o], "member", first, None, last, o, fmid))
        # names in service messages
        inferred_refs: dict[str, list] = {}  # account id -> [name, first ts, [(o, mid)], reason]
        invite_rows: list[tuple] = []

        def resolve(o, mid, ts, name, idx):
            if name is None:
                aid = f"deleted:{cid[o]}:{mid}:{idx}"
                reason = "deleted account"
            elif name in unique:
                return unique[name]
            else:
                aid = f"name:{cid[o]}:{name}"
                n = len(r.names.get(name, ()))
                reason = (
                    f"ambiguous: {n} senders have this name" if n else "no sender has this name"
                )
            ref = inferred_refs.get(aid)
            if ref is None:
                inferred_refs[aid] = [name, ts, [(o, mid)], reason]
            else:
                if ts is not None and (ref[1] is None or ts < ref[1]):
                    ref[1] = ts
                if len(ref[2]) < 5 and (o, mid) not in ref[2]:
                    ref[2].append((o, mid))
                elif len(ref[2]) >= 5:
                    ref.append(None)  # counts extra references
            return aid

        # private invite links each account posted: one link -> the link of its link-joins
        own_links: dict[str, set[str]] = {}
        for (_o, target), (_ts, _mid, _kind, _url, by) in r.links.items():
            if by is not None and target.startswith("tme:+"):
                own_links.setdefault(by, set()).add("https://t.me/" + target[4:])
        for o, mid, ts, code, actor_id, actor, name, idx in r.events:
            if o not in cid or o in system:
                continue
            ch = cid[o]
            if code == "create":
                if actor_id is not None:
                    member_rows.append((actor_id, ch, "owner", ts, None, ts, o, mid))
                continue
            if code in ("join", "speak"):
                who = actor_id if code == "join" else resolve(o, mid, ts, name, idx)
                if who is not None:
                    member_rows.append((who, ch, "member", ts, None, ts, o, mid))
                continue
            self_ref = name is not None and name == actor and actor_id is not None
            if code == "remove":
                who = actor_id if self_ref else resolve(o, mid, ts, name, idx)
                member_rows.append((who, ch, "member", None, ts, None, o, mid))
            elif code == "add":
                member_rows.append(
                    (resolve(o, mid, ts, name, idx), ch, "member", ts, None, ts, o, mid)
                )
            elif code == "invite":
                if self_ref:
                    member_rows.append((actor_id, ch, "member", ts, None, ts, o, mid))
                    continue
                who = resolve(o, mid, ts, name, idx)
                member_rows.append((who, ch, "member", ts, None, ts, o, mid))
                if actor_id is not None and who != actor_id:
                    invite_rows.append((actor_id, who, ch, ts, None, o, mid))
            elif code == "link_invite":
                if actor_id is None:
                    continue
                inviter = actor_id if self_ref else resolve(o, mid, ts, name, idx)
                if inviter != actor_id:
                    link = own_links.get(inviter)
                    link = next(iter(link)) if link is not None and len(link) == 1 else None
                    invite_rows.append((inviter, actor_id, ch, ts, link, o, mid))
        # bots used in rooms
        bot_names: dict[str, str] = {}
        for (o, handle), (ts, mid, shown) in r.bots.items():
            if o not in cid:
                continue
            bot_names.setdefault(handle, shown)
            ref = inferred_refs.setdefault(handle, [None, ts, [], "bot known by username"])
            if len(ref[2]) < 5:
                ref[2].append((o, mid))
            if ts is not None and (ref[1] is None or ts < ref[1]):
                ref[1] = ts
            if o not in system:
                member_rows.append((handle, cid[o], "member", ts, None, ts, o, mid))
        # channels
        channels = self._channels(cid, member_rows)
        forwards = self._forwards(cid, unique, channels)
        self._links(cid, channels, inferred_refs, bot_names)
        accounts = self._accounts(node_accounts, inferred_refs, bot_names)
        out = {
            "accounts": accounts,
            "channels": self._frame("channels", list(channels.values())),
            "memberships": self._memberships(member_rows),
            "invites": self._invites(invite_rows),
            "forwards": forwards,
        }
        return out

    def _channels(self, cid: dict[int, str], member_rows: list) -> dict[str, dict]:
        r = self.r
        channels: dict[str, dict] = {}
        creators: dict[str, tuple] = {}
        for o, mid, ts, code, actor_id, _a, _n, _i in r.events:
            if code == "create" and o in cid:
                prev = creators.get(cid[o])
                if prev is None or (ts is not None and (prev[0] is None or ts < prev[0])):
                    creators[cid[o]] = (ts, actor_id, o, mid)
        for chat in self.chats:
            ch = chat.channel_id
            row = channels.get(ch)
            name = chat.name if isinstance(chat.name, str) else None
            if chat.type == "saved_messages":
                name = name or "Saved Messages"
            ev = f"{r.label} chat {chat.raw_id}" if self.full else f"{r.label}"
            new = {
                "channel_id": ch,
                "title": name,
                "kind": _KIND.get(chat.type),
                "created_at": None,
                "is_public": _PUBLIC.get(chat.type),
                "creator_id": None,
                "inferred": False,
                "evidence": ev
                + (f" type {chat.type}" if chat.type else "")
                + (" (in left_chats: the account left it)" if chat.section == "left_chats" else ""),
            }
            if chat.created is not None:
                new["created_at"] = chat.created[0]
            if row is None:
                channels[ch] = new
            else:
                # the same room seen twice (old/new export, or a migrated basic group):
                # keep the supergroup's facts, fill gaps from the other
                if chat.type in ("private_supergroup", "public_supergroup") or row["kind"] is None:
                    new, row = row, new
                    channels[ch] = row
                for k, v in new.items():
                    if row.get(k) is None and v is not None:
                        row[k] = v
                if new["evidence"] not in row["evidence"]:
                    row["evidence"] += "; " + new["evidence"]
        for ch, (ts, actor_id, o, mid) in creators.items():
            row = channels.get(ch)
            if row is None:
                continue
            row["creator_id"] = actor_id
            if ts is not None and (row["created_at"] is None or ts < row["created_at"]):
                row["created_at"] = ts
        for (o, bare), (name, ts, mid) in r.chat_senders.items():
            ch = f"chat{bare}"
            if ch not in channels and o in cid:
                channels[ch] = self._inferred_channel(
                    ch, name, f"{self.where(o, mid)}: posted as this chat"
                )
        return channels

    def _inferred_channel(self, ch: str, title: Any, evidence: str, public: Any = None) -> dict:
        return {
            "channel_id": ch,
            "title": title if isinstance(title, str) else None,
            "kind": None,
            "created_at": None,
            "is_public": public,
            "creator_id": None,
            "inferred": True,
            "evidence": evidence,
        }

    def _forwards(self, cid, unique, channels) -> pd.DataFrame:
        r = self.r
        titles: dict[str, set[str]] = {}
        for chat in self.chats:
            if isinstance(chat.name, str) and chat.type not in _DIRECT and chat.type not in _SYSTEM:
                titles.setdefault(chat.name, set()).add(chat.channel_id)
        rows = []
        for o, mid, ts, name, peer in r.forwards:
            if o not in cid:
                continue
            src = None
            p = parse_peer_id(peer) if peer is not None else None
            if p is not None:
                if p[0] == "user":
                    continue  # a person's message, not a room's
                src = f"chat{p[1]}"
                if src not in channels:
                    channels[src] = self._inferred_channel(
                        src, name, f"{self.where(o, mid)}: forwarded from {_q(name)}"
                    )
            elif isinstance(name, str) and name.strip():
                hit = titles.get(name, ())
                if len(hit) == 1:
                    src = next(iter(hit))
                elif name in r.names:
                    continue  # a person's name: a forwarded message of a user, not of a room
                else:
                    src = "name:" + normalise_name(name)
                    if src not in channels:
                        channels[src] = self._inferred_channel(
                            src, name, f"{self.where(o, mid)}: forwarded from {_q(name)}"
                        )
            if src is None or src == cid[o]:
                continue
            rows.append(
                {
                    "from_channel_id": src,
                    "to_channel_id": cid[o],
                    "ts": ts,
                    "evidence": self.where(o, mid),
                }
            )
        frame = self._frame("forwards", rows)
        return frame.drop_duplicates(["from_channel_id", "to_channel_id", "ts"], keep="first")

    def _links(self, cid, channels, inferred_refs, bot_names) -> None:
        for (o, target), (ts, mid, kind, url, by) in self.r.links.items():
            if o not in cid:
                continue
            ev = f"{self.where(o, mid)}: link {_q(url)} posted in {cid[o]}" + (
                f" by {by}" if by else ""
            )
            if kind == "bot":
                ref = inferred_refs.setdefault(target, [None, ts, [], "bot known by username"])
                ref.append(ev)
                m = _TME.search(url)
                bot_names.setdefault(target, "@" + (m.group(1) if m else target.split(":", 1)[1]))
                continue
            if target == cid[o]:
                continue
            row = channels.get(target)
            if row is None:
                channels[target] = self._inferred_channel(
                    target,
                    None,
                    "advertised: " + ev,
                    public=not target.startswith("tme:+") if target.startswith("tme:") else None,
                )
            elif "advertised" not in row["evidence"] or len(row["evidence"]) < 2000:
                row["evidence"] += "; advertised: " + ev

    def _accounts(self, node_accounts, inferred_refs, bot_names) -> pd.DataFrame:
        r = self.r
        rows = []
        for aid, (name, _nts, first, o, mid, _b) in r.accounts.items():
            base = node_accounts.pop(aid, {})
            rows.append(
                {
                    "account_id": aid,
                    "handle": base.get("handle"),
                    "display_name": name if isinstance(name, str) else base.get("display_name"),
                    "is_bot": base.get("is_bot"),
                    "first_seen": first,
                    "age_band": None,
                    "phone": base.get("phone"),
                    "inferred": False,
                    "evidence": f"first seen {self.where(o, mid)}"
                    + (f"; {base['evidence']}" if base.get("evidence") else ""),
                }
            )
        for aid, base in node_accounts.items():
            rows.append(
                {
                    "account_id": aid,
                    "handle": base.get("handle"),
                    "display_name": base.get("display_name"),
                    "is_bot": base.get("is_bot"),
                    "first_seen": None,
                    "age_band": None,
                    "phone": base.get("phone"),
                    "inferred": False,
                    "evidence": base.get("evidence"),
                }
            )
        for aid, ref in inferred_refs.items():
            name, first, seen, reason = ref[0], ref[1], ref[2], ref[3]
            extra = [x for x in ref[4:] if isinstance(x, str)]
            more = sum(1 for x in ref[4:] if x is None)
            where = ", ".join(self.where(o, mid) for o, mid in seen)
            is_bot = aid.startswith("handle:")
            if is_bot:
                ev = f"{where} ({reason})" if where else f"({reason})"
                if not where and extra:
                    ev = f"{extra.pop(0)} ({reason})"
            else:
                ev = f"{where} name {_q(name)} ({reason})"
            if more:
                ev += f" and {more} more reference(s)"
            if extra:
                ev += "; " + "; ".join(extra[:5])
            rows.append(
                {
                    "account_id": aid,
                    "handle": bot_names.get(aid) if is_bot else None,
                    "display_name": name if isinstance(name, str) else None,
                    "is_bot": True if is_bot else None,
                    "first_seen": first,
                    "age_band": None,
                    "phone": None,
                    "inferred": True,
                    "evidence": ev,
                }
            )
        frame = self._frame("accounts", rows)
        # personal/bot chat peers: bot flag and names from the chat header
        return frame.drop_duplicates("account_id", keep="first")

    def _memberships(self, rows: list[tuple]) -> pd.DataFrame:
        """One row per (account, channel): earliest join, best role, latest leave unless active after."""
        if not rows:
            return self._frame("memberships", [])
        cols = ["account_id", "channel_id", "role", "joined_at", "left_at", "active", "o", "mid"]
        f = pd.DataFrame.from_records(rows, columns=cols)
        key = ["account_id", "channel_id"]
        # earliest join (rows without a join time last) carries the evidence
        base = (
            f.assign(_j=f["joined_at"].fillna("\uffff"))
            .sort_values("_j", kind="stable")
            .drop_duplicates(key)
            .set_index(key)[["joined_at", "o", "mid"]]
        )
        rank = f["role"].map(_ROLE_RANK)
        role = (
            f.assign(_r=rank)
            .sort_values("_r", kind="stable")
            .drop_duplicates(key)
            .set_index(key)["role"]
        )

        def latest(col: str) -> pd.Series:
            s = f[f[col].notna()]
            return (
                s.sort_values(col, kind="stable")
                .drop_duplicates(key, keep="last")
                .set_index(key)[col]
            )

        out = base.join(role).join(latest("left_at")).join(latest("active"))
        left, active = out["left_at"], out["active"]
        back = left.notna() & active.notna() & (active.astype(str) > left.astype(str))
        out.loc[back, "left_at"] = None
        out = out.reset_index()
        out["evidence"] = [
            self._chat_label(int(o)) if m is None or pd.isna(m) else self.where(int(o), _int(m))
            for o, m in zip(out["o"], out["mid"])
        ]
        return self._frame(
            "memberships", out.drop(columns=["o", "mid", "active"]).to_dict("records")
        )

    def _invites(self, rows: list[tuple]) -> pd.DataFrame:
        recs = [
            {
                "inviter_id": a,
                "invitee_id": b,
                "channel_id": c,
                "invited_at": t,
                "invite_link": lk,
                "evidence": self.where(o, mid),
            }
            for a, b, c, t, lk, o, mid in rows
        ]
        f = self._frame("invites", recs)
        return f.drop_duplicates(["inviter_id", "invitee_id", "channel_id", "invited_at"])

    @staticmethod
    def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
        cols = TABLES[table].column_names + (["inferred"] if table in NODE_TABLES else [])
        cols.append("evidence")
        f = pd.DataFrame.from_records(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
        f = f.astype(object)
        return f.where(f.notna(), None).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# public entry point


def read_telegram_export(
    path: Path, *, display_name: str | None = None, progress: bool = False
) -> dict[str, pd.DataFrame]:
    """Read a Telegram Desktop JSON export into canonical input tables.

    Parameters
    ----------
    path : Path
        ``result.json`` of a single-chat or a full-account export.
    display_name : str, optional
        Name of the file in evidence references (default: the file name).
    progress : bool
        Show a progress bar (bytes read) on stderr.

    Returns
    -------
    dict[str, pandas.DataFrame]
        ``accounts``, ``channels``, ``memberships``, ``invites`` and ``forwards``, each with the
        columns of :data:`graphintel.model.TABLES` (raw: ``phone`` not ``phone_token``), plus
        ``inferred`` on node tables and ``evidence`` (message ids and names, never message text).
        Missing values are ``None``; timestamps are ``YYYY-MM-DDTHH:MM:SS`` in UTC when the export
        has ``date_unixtime``, else the exporting PC's local ``date`` as written. One row per key.

    Raises
    ------
    InputFormatError
        The file cannot be opened, or is not well-formed JSON (truncated, malformed): the message
        names the file and the byte offset / line where reading stopped.

    Examples
    --------
    >>> import json, tempfile
    >>> chat = {"name": "Sample Room", "type": "private_supergroup", "id": 7, "messages": [
    ...     {"id": 1, "type": "message", "date": "2024-05-01T18:00:00",
    ...      "date_unixtime": "1714554000", "from": "Alpha Sample", "from_id": "user101",
    ...      "text": "hi", "text_entities": []}]}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "result.json"
    ...     _ = p.write_text(json.dumps(chat), encoding="utf-8")
    ...     t = read_telegram_export(p)
    >>> t["memberships"][["account_id", "channel_id", "joined_at", "evidence"]].values.tolist()
    [['user101', 'chat7', '2024-05-01T09:00:00', 'result.json msg 1']]

    Notes
    -----
    Members and inviters in service messages are display names: each is resolved against every
    name seen with an id in the same export (senders, actors, contacts, the account owner); only
    a unique match links to that account, anything else becomes an ``inferred`` account whose
    evidence names the messages and the reason. One pass, O(file) time; memory grows with the
    number of distinct accounts, rooms and relations found, not with the file size.
    """
    path = Path(path)
    label = display_name or path.name
    try:
        size = path.stat().st_size
        raw = open(path, "rb")  # noqa: SIM115 - closed by the ``with raw`` below
    except OSError as err:
        raise InputFormatError(
            f"Cannot open the Telegram export {label}: {err.strerror or err}. "
            "Check the path in the manifest."
        ) from err
    reader = _Reader(label)
    with raw:
        bar = (
            tqdm(total=size, unit="B", unit_scale=True, desc=f"read {label}", disable=not progress)
            if progress
            else None
        )
        src = _Source(raw, bar, label)
        reader.src = src
        try:
            reader.consume(ijson.parse(src, buf_size=_CHUNK))
        except ijson.JSONError as err:
            raise _format_error(label, src, size, err) from None
        except UnicodeDecodeError as err:
            raise InputFormatError(
                f"The Telegram export {label} is not valid UTF-8 near byte {src.last_start:,} "
                f"(line {src.last_lines + 1:,} or after): {err.reason}. Export it again from "
                "Telegram Desktop (JSON format), or fix the file's encoding."
            ) from None
        finally:
            if bar is not None:
                bar.close()
    if (
        not reader.chats
        or not any(c.messages or c.raw_id is not None for c in reader.chats)
        and not reader.personal
        and not reader.contacts
    ):
        raise InputFormatError(
            f"{label} is JSON but not a Telegram Desktop export: found no chat (name, type, id, "
            "messages) and no chats.list. Use Telegram Desktop's JSON export (result.json)."
        )
    return reader.tables()


def _format_error(label: str, src: _Source, size: int, err: Exception) -> InputFormatError:
    text = str(err)
    first = text.split("\n", 1)[0].strip()
    if "premature EOF" in text or "Incomplete JSON" in text or (src.eof and not src.last):
        return InputFormatError(
            f"The Telegram export {label} is truncated: the JSON ends at byte {size:,} "
            f"(line {src.emitted_lines + 1:,}) inside an unfinished object or array ({first}). "
            "The export was probably interrupted or the copy is incomplete: export or copy it again."
        )
    at = src.locate(text)
    if at is not None:
        where = f"at byte {at[0]:,} (line {at[1]:,}, column {at[2]:,})"
    else:
        end = src.last_start + len(src.last)
        where = f"between bytes {src.last_start:,} and {end:,} (from line {src.last_lines + 1:,})"
    snippet = " ".join(text.split("\n")[1:2]).strip()
    return InputFormatError(
        f"The Telegram export {label} is not valid JSON {where}: {first}"
        + (f" near {snippet!r}" if snippet else "")
        + ". Fix or re-export the file; invalid \\xNN escapes are repaired automatically, other "
        "damage is not."
    )
