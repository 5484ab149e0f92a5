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

Heads are keyed by the log's chain id (:func:`chain_id`, the hash of its first entry), so a new
log is a new chain that never mixes with another's. An append (and, before it acts, every
command that opens a store: :meth:`AuditLog.check_stores`) is refused when a touched store
recorded a head of the log's chain ahead of the log (:func:`head_ahead`): cutting the tail and
appending until the log passes the recorded seq again can no longer hide the cut. Entries
appended without touching a store (``users passwd``) are not checked against the heads, but the
next command that touches the store is: a head whose entry the log holds differently (the log
was cut and refilled past the head) is refused too. Heads recorded before chain ids (``chain``
``None``) are legacy: verified against the logs given, never blocking.

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
    "chain_id",
    "entry_hash",
    "filter_entries",
    "format_entries",
    "head_ahead",
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
    """The last audit entry of one chain a store recorded: ``uri`` (where), ``seq``, ``hash``
    and ``chain`` (the chain id, :func:`chain_id`; ``None`` for a legacy head recorded before
    heads were keyed by chain)."""

    uri: str
    seq: int
    hash: str
    chain: str | None = None


def chain_id(entries: list[dict[str, Any]]) -> str | None:
    """The id of the chain ``entries`` form: the hash of its first entry (``None``: empty).

    Every head a store records is keyed by it, so a new log (moved with
    ``GRAPHINTEL_AUDIT_LOG``, or a fresh workspace) is a new chain whose heads never mix with
    another chain's.

    Example
    -------
    >>> chain_id([{"hash": "ab" * 32}, {"hash": "cd" * 32}]) == "ab" * 32, chain_id([])
    (True, None)
    """
    return str(entries[0]["hash"]) if entries else None


def head_ahead(head: tuple[int, str] | None, last: dict[str, Any] | None) -> bool:
    """Whether a store's recorded head of a chain is ahead of that chain's log, whose last
    entry is ``last``: a higher ``seq``, or the same ``seq`` with another hash (the log was
    cut, or cut and appended to again).

    Example
    -------
    >>> last = {"seq": 50, "hash": "a" * 64}
    >>> head_ahead((100, "b" * 64), last), head_ahead((50, "b" * 64), last)
    (True, True)
    >>> head_ahead((50, "a" * 64), last), head_ahead((49, "c" * 64), last), head_ahead(None, last)
    (False, False, False)
    """
    if head is None:
        return False
    seq = 0 if last is None else int(last["seq"])
    return head[0] > seq or (last is not None and head[0] == seq and head[1] != last["hash"])


class HeadFile:
    """The audit heads of a DuckDB store kept beside it, for actions that only read the store.

    ``PATH.audit-head`` holds ``{"chains": {CHAIN_ID: {"seq": N, "hash": "…"}}}`` (mode 600):
    one head per audit chain (:func:`chain_id`). A file written before heads were keyed by
    chain holds ``{"seq": N, "hash": "…"}``: read as a legacy head (chain ``None``) and kept
    beside the keyed ones. The file is replaced atomically (a temporary file, ``fsync``,
    ``os.replace``) under an exclusive ``flock`` of ``PATH.audit-head.lock``, a chain's head
    only by a newer ``seq``: concurrent readers of one store keep the newest head. A store's
    writers keep theirs in the store (table ``audit_head``); ``audit verify`` compares the log
    with both.

    Example
    -------
    >>> import tempfile
    >>> head = HeadFile(Path(tempfile.mkdtemp()) / "graph.duckdb")
    >>> head.audit_head() is None
    True
    >>> head.record_audit_head(3, "c" * 64, chain="a" * 64)
    >>> head.record_audit_head(2, "b" * 64, chain="a" * 64)
    >>> head.audit_head(chain="a" * 64) == (3, "c" * 64), head.path.name
    (True, 'graph.duckdb.audit-head')
    >>> head.audit_head(chain="f" * 64) is None
    True
    """

    SUFFIX = ".audit-head"

    def __init__(self, store_path: str | Path):
        self.store_path = str(store_path)
        self.path = Path(self.store_path + self.SUFFIX)

    def __repr__(self) -> str:
        return f"HeadFile({str(self.path)!r})"

    def record_audit_head(self, seq: int, digest: str, chain: str | None = None) -> None:
        """Record ``seq``/``digest`` as the head of ``chain`` unless the file already holds a
        newer (or the same) seq for it (``chain`` ``None``: the legacy, unkeyed head).

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
            heads = self._read()
            old = heads.get(chain)
            if old is not None and old[0] >= int(seq):
                return
            heads[chain] = (int(seq), str(digest))
            body: dict[str, Any] = {}
            if None in heads:  # the legacy head stays where old readers look for it
                body["seq"], body["hash"] = heads[None]
            keyed = {c: {"seq": h[0], "hash": h[1]} for c, h in heads.items() if c is not None}
            if keyed:
                body["chains"] = dict(sorted(keyed.items()))
            text = json.dumps(body, separators=(",", ":"))
            tmp = f"{self.path}.tmp-{os.getpid()}"
            wfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(wfd, "wb") as f:
                f.write(text.encode() + b"\n")
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

    def heads(self) -> dict[str | None, tuple[int, str]]:
        """Every recorded head: chain id (``None``: legacy) -> ``(seq, hash)``.

        Raises
        ------
        AuditError
            The file is not a head file (edited or damaged).
        """
        return self._read()

    def audit_heads(self) -> list[tuple[str, int, str, str | None]]:
        """Every recorded head as ``(path, seq, hash, chain)``, oldest first (as the stores'
        ``audit_heads``)."""
        heads = sorted(self._read().items(), key=lambda kv: kv[1])
        return [(str(self.path), seq, digest, chain) for chain, (seq, digest) in heads]

    def audit_head(self, chain: str | None = None) -> tuple[int, str] | None:
        """The recorded ``(seq, hash)`` of ``chain`` (without ``chain``: the newest head of
        any chain), or ``None`` when none was recorded.

        Raises
        ------
        AuditError
            The file is not a head file (edited or damaged).
        """
        heads = self._read()
        if chain is not None:
            return heads.get(chain)
        return max(heads.values(), default=None)

    def _read(self) -> dict[str | None, tuple[int, str]]:
        try:
            raw = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # no head (or no such folder) yet
            return {}
        try:
            body = json.loads(raw)
            if not isinstance(body, dict) or not set(body) <= {"seq", "hash", "chains"}:
                raise ValueError(body)
            out: dict[str | None, tuple[int, str]] = {}
            if "seq" in body or "hash" in body:
                out[None] = _head_pair(body)
            chains = body.get("chains", {})
            if not isinstance(chains, dict) or ("chains" in body and not chains):
                raise ValueError(chains)
            for chain, head in chains.items():
                if len(chain) != 64:
                    raise ValueError(chain)
                out[chain] = _head_pair(head)
            if not out:
                raise ValueError(body)
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            raise AuditError(
                f"the audit head file {self.path} is damaged or was edited (it must hold "
                '{"chains": {"<chain id>": {"seq": N, "hash": "<64 hex>"}}}): keep it and the '
                "log as evidence and check both with `graphintel audit show`"
            ) from None
        return out


def _head_pair(head: Any) -> tuple[int, str]:
    seq, digest = head["seq"], head["hash"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError(seq)
    if not isinstance(digest, str) or len(digest) != 64:
        raise ValueError(digest)
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
        """Append one entry (under an exclusive lock) and record it as the head of ``stores``,
        keyed by this log's chain id (:func:`chain_id`).

        Raises
        ------
        AuditError
            The first or last line of the log is not a valid entry (a torn or edited log), or
            a store recorded a head of this chain ahead of the log (its tail was cut: see
            :meth:`check_stores`): nothing is appended and no head recorded; ``graphintel audit
            verify`` says more.
        """
        stores = list(stores)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "r+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                last = self._last_entry(f)
                chain = None if last is None else self._first_entry(f)["hash"]
                self._refuse_if_ahead(stores, chain, last, f)
                entry: dict[str, Any] = {
                    "seq": 1 if last is None else int(last["seq"]) + 1,
                    "ts": _now(),
                    "user": str(user),
                    "action": str(action),
                    "details": _plain(details or {}),
                    "prev": GENESIS if last is None else str(last["hash"]),
                }
                entry["hash"] = entry_hash(entry)
                chain = chain or entry["hash"]  # the first entry starts a new chain
                line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
                f.seek(0, os.SEEK_END)
                f.write(line.encode())
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        for store in stores:
            store.record_audit_head(entry["seq"], entry["hash"], chain=chain)
        return entry

    def check_tail(self) -> None:
        """Raise :class:`AuditError` when the last line is not a valid entry (cheap: reads the
        tail only). Called before an audited action, so a broken log stops it before it runs."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            self._last_entry(f)

    def check_stores(self, stores: Iterable[Any]) -> None:
        """Raise :class:`AuditError` when a store recorded a head of this log's chain that is
        ahead of the log (a higher ``seq``, or the same ``seq`` with another hash): the log's
        tail was cut, and appending would hide it), or one whose entry the log holds
        differently (cut and refilled past it). Reads the first and last lines, and the head's
        line when the log has moved past it; called when a command opens a store, before it
        acts, so a refused action changes nothing. Another chain's heads never block (a new log is a new chain)."""
        stores = list(stores)
        if not stores or not self.path.exists():
            return
        with open(self.path, "rb") as f:
            last = self._last_entry(f)
            chain = None if last is None else self._first_entry(f)["hash"]
            self._refuse_if_ahead(stores, chain, last, f)

    def _refuse_if_ahead(
        self,
        stores: list[Any],
        chain: str | None,
        last: dict[str, Any] | None,
        f: Any = None,
    ) -> None:
        """Refuse when a store's head of ``chain`` is ahead of the log, or names an entry the
        log holds differently (the tail was cut and appended to again past the head, e.g. by
        entries that touch no store; then this store's next append would overwrite the proof).
        ``f``: the log, open for reading (to look the head's entry up)."""
        if chain is None:
            return
        for store in stores:
            head = store.audit_head(chain=chain)
            n = int(last["seq"]) if last is not None else 0
            if head_ahead(head, last):
                how = (
                    f"recorded seq {head[0]} of this log's chain, but the log ends at seq {n}"
                    if head[0] > n
                    else f"recorded another entry as seq {head[0]}, the log's last"
                )
                first = n + 1 if head[0] > n else n
            elif head is not None and head[0] < n and f is not None:
                entry = self._entry_at(f, head[0])
                if entry is not None and entry.get("hash") == head[1]:
                    continue
                how = f"recorded another entry as seq {head[0]} than the log holds"
                first = head[0]
            else:
                continue
            where = getattr(store, "uri", None) or str(getattr(store, "path", store))
            raise AuditError(
                f"refusing to append to the audit log {self.path}: store {where} {how} (chain "
                f"{chain[:12]}…), so the log's tail was cut; first missing seq {first}. Nothing "
                "was done or logged. Restore the log from its backup, or run `graphintel audit "
                f"verify --store {where}` and keep the log and the store as evidence",
                seq=first,
            )

    def _entry_at(self, f: Any, seq: int) -> dict[str, Any] | None:
        """The entry on line ``seq`` (an intact log's seq is its line number), or ``None``."""
        f.seek(0)
        for number, raw in enumerate(f, start=1):
            if number == seq:
                entry = _parse(raw, number)
                return entry if entry is not None and entry.get("seq") == seq else None
        return None

    def _first_entry(self, f: Any) -> dict[str, Any]:
        f.seek(0)
        line = f.readline()
        entry = _parse(line, 1)
        if not line.endswith(b"\n") or entry is None or entry_hash(entry) != entry.get("hash"):
            raise AuditError(
                f"the first line of the audit log {self.path} is not a valid entry (edited or "
                "replaced): nothing was done. Run `graphintel audit verify`, and keep the log "
                "as evidence",
                seq=1,
            )
        return entry

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


def _check_links(entries: list[dict[str, Any]], label: str = "the audit log") -> None:
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
                f"{label} is broken at line {i}: it holds seq {seq!r} where seq {i} "
                f"belongs ({what}); first bad seq {i}",
                seq=i,
            )
        if entry_hash(entry) != entry.get("hash"):
            raise AuditError(
                f"{label} is broken at seq {i}: the entry's content does not match its "
                f"hash (it was edited); first bad seq {i}",
                seq=i,
            )
        if entry.get("prev") != prev:
            raise AuditError(
                f"{label} is broken at seq {i}: its prev is not the hash of seq {i - 1} "
                f"(an entry before it was replaced, inserted or moved); first bad seq {i}",
                seq=i,
            )
        prev = entry["hash"]


def verify_chain(
    entries: list[dict[str, Any]],
    heads: Iterable[StoreHead] = (),
    *,
    others: Iterable[list[dict[str, Any]]] = (),
) -> int:
    """Check the hash chain and the stores' recorded heads; return the number of entries.

    Line *i* (from 1) must hold ``seq`` *i*, its ``prev`` must be the hash of line *i - 1*
    (:data:`GENESIS` for the first) and its ``hash`` must match its content. Each head is
    checked against the log of its chain (:func:`chain_id`): ``entries``, or one of
    ``others`` (the entries of other logs that record heads in the same stores, e.g. another
    workspace's; each is checked as a chain too). The head must name an entry of that log
    with the same hash: a cut tail fails here, naming the first missing seq; a head whose
    chain is in no log given fails too (that log is missing or was replaced). A legacy head
    (no chain id, recorded before heads were keyed by chain) must match an entry of one of the
    logs given. Heads are checked oldest first, so the first bad ``seq`` named is the
    earliest any head shows.

    Raises
    ------
    AuditError
        The first problem found, naming the first bad ``seq``.

    Example
    -------
    >>> a = {"seq": 1, "ts": "t", "user": "u", "action": "x", "details": {}, "prev": GENESIS}
    >>> a["hash"] = entry_hash(a)
    >>> verify_chain([a], [StoreHead("duckdb:g", 1, a["hash"], a["hash"])])
    1
    >>> verify_chain([a], [StoreHead("duckdb:g", 2, "b" * 64, a["hash"])])
    Traceback (most recent call last):
    ...
    graphintel.errors.AuditError: the audit log was cut: store duckdb:g recorded entry seq 2 of this log's chain, but the log ends before it (seq 1); first missing seq 2 (first bad seq 2)
    """
    entries = list(entries)
    _check_links(entries)
    logs = {}
    for other in others:
        other = list(other)
        _check_links(other, "another audit log given")
        if other:
            logs[chain_id(other)] = other
    own = chain_id(entries)
    if own is not None:
        logs[own] = entries
    n = len(entries)
    heads = sorted(heads, key=lambda h: (h.chain is not None and h.chain != own, h.seq))
    for head in heads:
        if head.chain is None:
            _check_legacy_head(head, entries, [v for k, v in logs.items() if k != own])
            continue
        log = logs.get(head.chain)
        if log is None:
            this = f"this log's chain is {own[:12]}…" if own else "this log is empty"
            raise AuditError(
                f"store {head.uri} recorded seq {head.seq} of audit chain {head.chain[:12]}…, "
                f"which is not in this log ({this}): that chain's log is missing or was "
                "replaced; first missing seq 1 of that chain (first bad seq 1). If another "
                "workspace's log also records heads in this store, verify with it too "
                "(--also-log PATH)",
                seq=1,
            )
        which = "of this log's chain" if head.chain == own else f"of chain {head.chain[:12]}…"
        if head.seq > len(log):
            last = f"seq {len(log)}"
            raise AuditError(
                f"the audit log was cut: store {head.uri} recorded entry seq {head.seq} {which}, "
                f"but the log ends before it ({last}); first missing seq {len(log) + 1} "
                f"(first bad seq {len(log) + 1})",
                seq=len(log) + 1,
            )
        if log[head.seq - 1]["hash"] != head.hash:
            raise AuditError(
                f"the audit log differs from store {head.uri}: the store recorded another entry "
                f"as seq {head.seq} {which} (the log was cut and appended to, or rewritten, "
                f"from there or earlier); first bad seq {head.seq}",
                seq=head.seq,
            )
    return n


def _check_legacy_head(
    head: StoreHead, entries: list[dict[str, Any]], others: list[list[dict[str, Any]]]
) -> None:
    """A head without a chain id must match an entry of one of the logs given."""
    for log in [entries, *others]:
        if head.seq <= len(log) and log[head.seq - 1]["hash"] == head.hash:
            return
    n = len(entries)
    legacy = (
        " (a legacy head, recorded before heads were keyed by chain id: it may belong to "
        "another log; if so, verify with that log too, --also-log PATH)"
    )
    if head.seq > n:
        last = f"seq {n}" if n else "no entries"
        raise AuditError(
            f"the audit log was cut: store {head.uri} recorded entry seq {head.seq}, but the "
            f"log ends before it ({last}){legacy}; first missing seq {n + 1} (first bad seq "
            f"{n + 1})",
            seq=n + 1,
        )
    raise AuditError(
        f"the audit log differs from store {head.uri}: the store recorded another entry as "
        f"seq {head.seq} (the log was rewritten from there or earlier){legacy}; first bad "
        f"seq {head.seq}",
        seq=head.seq,
    )


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
