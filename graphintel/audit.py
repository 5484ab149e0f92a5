"""The audit trail: an append-only JSON Lines file whose entries form a sha256 hash chain.

Every entry is one line ``{"seq", "ts", "user", "action", "details", "prev", "hash"}``: ``seq``
counts from 1, ``ts`` is UTC (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), ``prev`` is the previous entry's
``hash`` (:data:`GENESIS` for the first) and ``hash`` is the sha256 of the entry's canonical JSON
without ``hash`` (keys sorted, no spaces, UTF-8). Changing, removing, inserting or reordering a
line breaks the chain at that line. Cutting the tail keeps the chain intact, so after each action
the last ``seq``/``hash`` is also recorded in every store the action touched
(``store.record_audit_head``); :func:`verify_chain` compares the log with those heads. A DuckDB
store that an action only reads keeps its head in a small side file beside it
(:class:`HeadFile`, ``PATH.audit-head``), so a reading command never rewrites the store.

Concurrent appenders (several CLI processes, the dashboard) serialise on an exclusive
``flock`` of the log file, read the last entry under the lock and append one line.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphintel.errors import AuditError

__all__ = [
    "ENTRY_KEYS",
    "GENESIS",
    "AuditLog",
    "HeadFile",
    "StoreHead",
    "canonical_bytes",
    "entry_hash",
    "filter_entries",
    "format_entries",
    "id_summary",
    "verify_chain",
]

GENESIS = "0" * 64
ENTRY_KEYS = ("seq", "ts", "user", "action", "details", "prev", "hash")


def canonical_bytes(entry: dict[str, Any]) -> bytes:
    """The bytes an entry's hash covers: its JSON without ``hash``, keys sorted, compact.

    Example
    -------
    >>> canonical_bytes({"seq": 1, "action": "x", "hash": "ignored"})
    b'{"action":"x","seq":1}'
    """
    body = {k: v for k, v in entry.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """sha256 (hex) of :func:`canonical_bytes`.

    Example
    -------
    >>> entry_hash({"seq": 1})[:16]
    'b41e95c43f388d56'
    """
    return hashlib.sha256(canonical_bytes(entry)).hexdigest()


@dataclass(frozen=True)
class StoreHead:
    """The last audit entry a store recorded: ``uri``, ``seq`` and ``hash``."""

    uri: str
    seq: int
    hash: str


class HeadFile:
    """The audit head of a DuckDB store kept beside it, for actions that only read the store.

    ``PATH.audit-head`` holds ``{"seq": N, "hash": "…"}`` (mode 600). It is replaced atomically
    (a temporary file, ``fsync``, ``os.replace``) under an exclusive ``flock`` of
    ``PATH.audit-head.lock``, and only by a newer ``seq``: concurrent readers of one store keep
    the newest head. A store's writers keep theirs in the store (table ``audit_head``); ``audit
    verify`` compares the log with both.

    Example
    -------
    >>> import tempfile
    >>> head = HeadFile(Path(tempfile.mkdtemp()) / "graph.duckdb")
    >>> head.audit_head() is None
    True
    >>> head.record_audit_head(3, "c" * 64); head.record_audit_head(2, "b" * 64)
    >>> head.audit_head() == (3, "c" * 64), head.path.name
    (True, 'graph.duckdb.audit-head')
    """

    SUFFIX = ".audit-head"

    def __init__(self, store_path: str | Path):
        self.store_path = str(store_path)
        self.path = Path(self.store_path + self.SUFFIX)

    def __repr__(self) -> str:
        return f"HeadFile({str(self.path)!r})"

    def record_audit_head(self, seq: int, digest: str) -> None:
        """Record ``seq``/``digest`` unless the file already holds a newer (or the same) seq.

        Raises
        ------
        AuditError
            The folder cannot be written (the head would be lost) or the file is damaged.
        """
        lock = str(self.path) + ".lock"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise AuditError(
                f"cannot record the audit head beside the store in {self.path.parent} "
                f"({err.strerror}): give the graphintel user write access to that folder"
            ) from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            old = self.audit_head()
            if old is not None and old[0] >= int(seq):
                return
            body = json.dumps({"seq": int(seq), "hash": str(digest)}, separators=(",", ":"))
            tmp = f"{self.path}.tmp-{os.getpid()}"
            wfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(wfd, "wb") as f:
                f.write(body.encode() + b"\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as err:
            raise AuditError(
                f"cannot record the audit head in {self.path} ({err.strerror}): give the "
                "graphintel user write access to that folder"
            ) from err
        finally:
            os.close(fd)  # closing releases the lock

    def audit_head(self) -> tuple[int, str] | None:
        """The recorded ``(seq, hash)``, or ``None`` when no head was recorded.

        Raises
        ------
        AuditError
            The file is not a head (edited or damaged).
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            head = json.loads(raw)
            seq, digest = head["seq"], head["hash"]
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
                raise ValueError(seq)
            if not isinstance(digest, str) or len(digest) != 64:
                raise ValueError(digest)
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            raise AuditError(
                f"the audit head file {self.path} is damaged or was edited (it must hold "
                '{"seq": N, "hash": "<64 hex>"}): keep it and the log as evidence and check '
                "both with `graphintel audit show`"
            ) from None
        return seq, digest


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    """The audit trail at ``path`` (created, mode 600, on the first append).

    Example
    -------
    >>> import tempfile
    >>> log = AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl")
    >>> log.append("alice", "analyze", {"store": "duckdb:x"})["seq"]
    1
    >>> log.append("alice", "report", {})["prev"] == log.entries()[0]["hash"]
    True
    >>> verify_chain(log.entries())
    2
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    def append(
        self,
        user: str,
        action: str,
        details: dict[str, Any] | None = None,
        *,
        stores: Iterable[Any] = (),
    ) -> dict[str, Any]:
        """Append one entry (under an exclusive lock) and record it as the head of ``stores``.

        Raises
        ------
        AuditError
            The last line of the log is not a valid entry (a torn or edited tail): nothing is
            appended; ``graphintel audit verify`` says more.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "r+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                last = self._last_entry(f)
                entry: dict[str, Any] = {
                    "seq": 1 if last is None else int(last["seq"]) + 1,
                    "ts": _now(),
                    "user": str(user),
                    "action": str(action),
                    "details": _plain(details or {}),
                    "prev": GENESIS if last is None else str(last["hash"]),
                }
                entry["hash"] = entry_hash(entry)
                line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
                f.seek(0, os.SEEK_END)
                f.write(line.encode())
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        for store in stores:
            store.record_audit_head(entry["seq"], entry["hash"])
        return entry

    def check_tail(self) -> None:
        """Raise :class:`AuditError` when the last line is not a valid entry (cheap: reads the
        tail only). Called before an audited action, so a broken log stops it before it runs."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            self._last_entry(f)

    def _last_entry(self, f: Any) -> dict[str, Any] | None:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        if end == 0:
            return None
        pos, tail = end, b""
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            f.seek(pos)
            tail = f.read(step) + tail
            if tail.rstrip(b"\n").count(b"\n") >= 1:
                break
        line = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        entry = _parse(line, None)
        if not tail.endswith(b"\n") or entry is None or entry_hash(entry) != entry.get("hash"):
            raise AuditError(
                f"the last line of the audit log {self.path} is not a valid entry (torn or "
                "edited): nothing was done. Run `graphintel audit verify` to find the first bad "
                "entry, and keep the log as evidence"
            )
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Every entry in file order (no checks beyond JSON; see :func:`verify_chain`).

        Raises
        ------
        AuditError
            A line is not a JSON object.
        """
        return list(self._iter())

    def _iter(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            for number, raw in enumerate(f, start=1):
                entry = _parse(raw, number)
                if entry is None:
                    raise AuditError(
                        f"{self.path} line {number} is not an audit entry (a JSON object with "
                        f"{', '.join(ENTRY_KEYS)}): the log was damaged or edited; first bad "
                        f"seq {number}",
                        seq=number,
                    )
                yield entry


def _parse(raw: bytes, number: int | None) -> dict[str, Any] | None:
    try:
        entry = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(entry, dict) or set(entry) != set(ENTRY_KEYS):
        return None
    return entry


def _plain(value: Any) -> Any:
    """Details as JSON-safe plain data (numpy numbers and arrays, tuples, sets, paths)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_plain(v) for v in items]
    if hasattr(value, "tolist") and not isinstance(value, str):
        return _plain(value.tolist())
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def verify_chain(entries: list[dict[str, Any]], heads: Iterable[StoreHead] = ()) -> int:
    """Check the hash chain and the stores' recorded heads; return the number of entries.

    Line *i* (from 1) must hold ``seq`` *i*, its ``prev`` must be the hash of line *i - 1*
    (:data:`GENESIS` for the first) and its ``hash`` must match its content. Each head must
    name an entry of the log with the same hash (a cut tail fails here); heads are checked
    oldest first, so the first bad ``seq`` named is the earliest any head shows.

    Raises
    ------
    AuditError
        The first problem found, naming the first bad ``seq``.

    Example
    -------
    >>> a = {"seq": 1, "ts": "t", "user": "u", "action": "x", "details": {}, "prev": GENESIS}
    >>> a["hash"] = entry_hash(a)
    >>> verify_chain([a])
    1
    >>> verify_chain([], [StoreHead("duckdb:g", 1, a["hash"])])
    Traceback (most recent call last):
    ...
    graphintel.errors.AuditError: the audit log was cut: store duckdb:g recorded entry seq 1, but the log ends before it (no entries); first bad seq 1
    """
    prev = GENESIS
    for i, entry in enumerate(entries, start=1):
        seq = entry.get("seq")
        if seq != i:
            what = (
                "an entry was removed, inserted or moved"
                if isinstance(seq, int)
                else "its seq is not a number"
            )
            raise AuditError(
                f"the audit log is broken at line {i}: it holds seq {seq!r} where seq {i} "
                f"belongs ({what}); first bad seq {i}",
                seq=i,
            )
        if entry_hash(entry) != entry.get("hash"):
            raise AuditError(
                f"the audit log is broken at seq {i}: the entry's content does not match its "
                f"hash (it was edited); first bad seq {i}",
                seq=i,
            )
        if entry.get("prev") != prev:
            raise AuditError(
                f"the audit log is broken at seq {i}: its prev is not the hash of seq {i - 1} "
                f"(an entry before it was replaced, inserted or moved); first bad seq {i}",
                seq=i,
            )
        prev = entry["hash"]
    n = len(entries)
    for head in sorted(heads, key=lambda h: h.seq):
        if head.seq > n:
            last = f"seq {n}" if n else "no entries"
            raise AuditError(
                f"the audit log was cut: store {head.uri} recorded entry seq {head.seq}, but the "
                f"log ends before it ({last}); first bad seq {n + 1}",
                seq=n + 1,
            )
        if entries[head.seq - 1]["hash"] != head.hash:
            raise AuditError(
                f"the audit log differs from store {head.uri}: the store recorded another entry "
                f"as seq {head.seq} (the log was rewritten from there or earlier); first bad seq "
                f"{head.seq}",
                seq=head.seq,
            )
    return n


ID_LIMIT = 1000
"""At most this many ids of one kind are listed in an entry (see :func:`id_summary`)."""


def id_summary(ids: Iterable[Any], *, limit: int = ID_LIMIT) -> dict[str, Any]:
    """A bounded record of a set of ids: ``count`` (distinct), ``sha256`` of the full sorted
    list (UTF-8, one id per line, each followed by a newline), ``ids`` (the first ``limit`` in
    sorted order) and ``truncated``. An entry stays small at a million ids, and the full list
    can still be checked against it.

    Example
    -------
    >>> s = id_summary(["b", "a", "b", "c"], limit=2)
    >>> s["count"], s["ids"], s["truncated"]
    (3, ['a', 'b'], True)
    >>> s["sha256"] == hashlib.sha256(b"a\\nb\\nc\\n").hexdigest()
    True
    """
    values = sorted({str(v) for v in ids})
    digest = hashlib.sha256("".join(v + "\n" for v in values).encode()).hexdigest()
    return {
        "count": len(values),
        "sha256": digest,
        "ids": values[:limit],
        "truncated": len(values) > limit,
    }


def filter_entries(
    entries: Iterable[dict[str, Any]],
    *,
    user: str | None = None,
    case: str | None = None,
    since: str | None = None,
) -> list[dict[str, Any]]:
    """Entries by ``user`` (the login, or the CLI's ``GRAPHINTEL_USER``/OS user), touching
    ``case`` (``details.cases``) and at or after ``since`` (an ISO date or UTC time).

    Example
    -------
    >>> e = [{"user": "kim (os: op)", "ts": "2026-01-02T00:00:00Z", "details": {"cases": ["A"]}},
    ...      {"user": "lee", "ts": "2025-12-31T00:00:00Z", "details": {}}]
    >>> [x["user"] for x in filter_entries(e, user="kim")]
    ['kim (os: op)']
    >>> len(filter_entries(e, case="A")), len(filter_entries(e, since="2026-01-01"))
    (1, 1)
    """
    out = []
    for e in entries:
        who = str(e.get("user", ""))
        if user is not None and user not in (who, who.split(" (os: ")[0]):
            continue
        if case is not None and case not in ((e.get("details") or {}).get("cases") or []):
            continue
        if since is not None and str(e.get("ts", "")) < since:
            continue
        out.append(e)
    return out


def format_entries(entries: list[dict[str, Any]]) -> str:
    """Entries as an aligned plain-text table (details as compact JSON, cut at 100 chars)."""
    lines = [f"{'seq':>6}  {'ts (UTC)':<27} {'user':<24} {'action':<14} details"]
    for e in entries:
        details = json.dumps(e.get("details"), ensure_ascii=False, separators=(",", ":"))
        if len(details) > 100:
            details = details[:99] + "…"
        lines.append(
            f"{e.get('seq')!s:>6}  {e.get('ts')!s:<27} {e.get('user')!s:<24} "
            f"{e.get('action')!s:<14} {details}"
        )
    return "\n".join(lines)
