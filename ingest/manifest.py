"""Stage 0 of ingest: the bundle's manifest and its provenance.

No legal basis, no ingest: every field of :data:`graphintel.model.MANIFEST_REQUIRED` must be present
and non-empty text, ``method`` one of :data:`graphintel.model.METHODS`, ``collected_at`` a real
date not in the future, and every file a regular file inside the bundle folder.

The manifest comes from whoever delivered the bundle, so it is read defensively: at most
:data:`MAX_MANIFEST_BYTES`, nesting at most :data:`MAX_DEPTH` deep, at most :data:`MAX_ALIASES`
aliases and :data:`MAX_NODES` nodes once aliases are expanded, no duplicate keys, and every scalar
stays text (no YAML timestamps, numbers or booleans: ``0017`` stays ``"0017"``, an impossible date
never reaches a date constructor).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from graphintel.errors import ManifestError, clip, clip_repr
from graphintel.model import MANIFEST_REQUIRED, METHODS, TABLES

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_MANIFEST_BYTES",
    "MAX_NODES",
    "SOURCE_TABLES",
    "Manifest",
    "ManifestFile",
    "file_sha256",
    "load_manifest",
    "parse_collected_at",
    "visible_text",
]

SOURCE_TABLES = (*TABLES, "telegram_export")
MAX_MANIFEST_BYTES = 64 << 10
MAX_DEPTH = 20
MAX_ALIASES = 100
MAX_NODES = 100_000
MAX_ITEMS = 5_000
_MAX_NAME_BYTES = 255  # one path component (ext4, NTFS, APFS)
_MAX_PATH_BYTES = 1024


@dataclass(frozen=True)
class ManifestFile:
    path: Path  # absolute
    name: str  # as written in the manifest
    table: str
    sha256: str = ""


@dataclass(frozen=True)
class Manifest:
    path: Path
    case_id: str
    source_id: str
    method: str
    legal_basis: str
    collected_at: str
    collected_by: str
    files: tuple[ManifestFile, ...] = field(default_factory=tuple)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def provenance(self) -> dict[str, str]:
        """The fields written once per ``source_id`` (everything but the file list)."""
        return {k: getattr(self, k) for k in MANIFEST_REQUIRED if k != "files"}


def file_sha256(path: Path, *, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


# -- a YAML loader for hostile manifests -------------------------------------------------------


class _Refused(yaml.YAMLError):
    """A bound of the manifest loader was exceeded (carries the YAML position)."""

    def __init__(self, problem: str, mark: yaml.Mark | None):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: fast, bounded nesting


class _ManifestLoader(_Parser):  # type: ignore[misc, valid-type]
    """Composes nodes only; every scalar stays text (no timestamp, int, float, bool, merge key)."""


_ManifestLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag == "tag:yaml.org,2002:null"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "null", "seq", "map"))


def _check_nodes(root: Node) -> None:
    """Bound the composed document before anything is constructed from it.

    Depth at most :data:`MAX_DEPTH`, at most :data:`MAX_ALIASES` aliases, at most
    :data:`MAX_NODES` nodes once aliases are expanded (memoised, so linear in distinct nodes), no
    duplicate keys, no explicit tags other than text, null, list and mapping (``!!timestamp``,
    ``!!binary``, ``!!set``, … would run constructors on hostile text).
    """
    sizes: dict[int, int] = {}
    aliases = 0
    stack: list[tuple[Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        if done:
            kids = _children(node)
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in kids)
            if sizes[id(node)] > MAX_NODES:
                raise _Refused(
                    f"it expands to more than {MAX_NODES:,} values (an alias bomb?); write the "
                    "values out",
                    node.start_mark,
                )
            continue
        if id(node) in sizes:  # an alias of a node already composed
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _Refused(
                    f"more than {MAX_ALIASES} aliases (*name); write the values out",
                    node.start_mark,
                )
            continue
        if depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep", node.start_mark)
        if node.tag not in _TAGS:
            raise _Refused(
                f"the tag {clip_repr(node.tag)} is not allowed (plain text, lists and "
                "mappings only)",
                node.start_mark,
            )
        if isinstance(node, ScalarNode):
            sizes[id(node)] = 1
            continue
        if isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise _Refused("a key that is not plain text", key_node.start_mark)
                key = key_node.value
                if key in seen:
                    raise _Refused(
                        f"duplicate key {clip_repr(key)} (first on line {seen[key]}); each key "
                        "may appear once",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line + 1
        sizes[id(node)] = 0  # in progress: a later reference to it counts as an alias
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in reversed(_children(node)))


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _read_yaml(p: Path):
    try:
        size = p.stat().st_size
    except OSError as err:
        raise ManifestError(f"{p}: cannot read the manifest ({err.strerror})") from err
    if size > MAX_MANIFEST_BYTES:
        raise ManifestError(
            f"{p} is {size:,} bytes; a manifest is at most {MAX_MANIFEST_BYTES:,} bytes "
            "(provenance and a file list, not data)"
        )
    try:
        with open(p, "rb") as fh:
            text = fh.read(MAX_MANIFEST_BYTES + 1).decode("utf-8-sig")
        # libyaml's bindings spend ~15 µs per node: bound the node count before composing.
        items = text.count("\n") + text.count(",")
        if items > MAX_ITEMS:
            raise ManifestError(
                f"{p} has {items:,} lines and commas; a manifest has at most "
                f"{MAX_ITEMS:,} (provenance and a file list, not data)"
            )
        loader = _ManifestLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        if node is None:
            return None
        _check_nodes(node)
        return yaml.constructor.SafeConstructor().construct_document(node)
    except UnicodeDecodeError as err:
        raise ManifestError(f"{p}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    except OSError as err:
        raise ManifestError(f"{p}: cannot read the manifest ({err.strerror})") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or err
        raise ManifestError(
            f"{p}{where}: not an acceptable manifest ({clip(problem, 200)})"
        ) from err


# -- provenance fields -------------------------------------------------------------------------

_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"))


def visible_text(value: str) -> str:
    """``value`` without blanks and invisible characters (format, zero-width, control, …).

    Example
    -------
    >>> visible_text("\\u200b \\u2060\\ufeff\\u00a0")
    ''
    >>> visible_text(" court order 12 ")
    'courtorder12'
    """
    return "".join(ch for ch in value if unicodedata.category(ch) not in _INVISIBLE)


def parse_collected_at(text: str, *, now: dt.datetime | None = None) -> str:
    """Check ``collected_at`` (an ISO-8601 date or date-time, not in the future) and normalise it.

    A date stays ``YYYY-MM-DD``; a date-time becomes ``YYYY-MM-DDTHH:MM:SS`` (with its offset when
    it has one). "The future" allows 14 hours for time zones.

    Raises
    ------
    ValueError
        Not a real date, or later than now; the message says what is allowed.

    Example
    -------
    >>> parse_collected_at("2024-08-20")
    '2024-08-20'
    >>> parse_collected_at("2024-08-20 13:05")
    '2024-08-20T13:05:00'
    >>> parse_collected_at("2024-02-30")
    Traceback (most recent call last):
    ...
    ValueError: is not a real date or date-time (day is out of range for month); use ISO-8601, e.g. 2024-08-20 or 2024-08-20T13:05:00
    """
    now = now or dt.datetime.now(dt.UTC)
    value = text.strip()
    allowed = "use ISO-8601, e.g. 2024-08-20 or 2024-08-20T13:05:00"
    if len(value) > 40:
        raise ValueError(f"is not a date or date-time; {allowed}")
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            stamp = dt.datetime.combine(day, dt.time(), dt.UTC)
            normal = day.isoformat()
        else:
            stamp = dt.datetime.fromisoformat(value)
            normal = stamp.isoformat(timespec="seconds")
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=dt.UTC)
    except ValueError as err:
        raise ValueError(f"is not a real date or date-time ({err}); {allowed}") from None
    if stamp > now + dt.timedelta(hours=14):
        raise ValueError(
            f"is in the future (now is {now:%Y-%m-%dT%H:%M}Z); give the date the data was collected"
        )
    return normal


def _provenance(data: dict, p: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in MANIFEST_REQUIRED:
        if key == "files":
            continue
        value = data.get(key)
        hint = (
            ": every source needs the legal basis it was collected under "
            "(court permission, warrant, platform disclosure order, …)"
            if key == "legal_basis"
            else ""
        )
        if value is None:
            state = "missing" if key not in data else "empty"
            raise ManifestError(f"{key} is {state} in {p}{hint}")
        if not isinstance(value, str):
            kind = "a list" if isinstance(value, list) else "a mapping"
            raise ManifestError(f"{key} in {p} is {kind} ({clip_repr(value)}), not text{hint}")
        if not visible_text(value):
            shown = f" ({clip_repr(value)})" if value.strip() else ""
            raise ManifestError(
                f"{key} is empty in {p}{shown}: blanks and invisible characters do not count{hint}"
            )
        out[key] = value.strip()
    if out["method"] not in METHODS:
        raise ManifestError(
            f"{p}: method {clip_repr(out['method'])} is not allowed: use one of "
            f"{', '.join(METHODS)}"
        )
    try:
        out["collected_at"] = parse_collected_at(out["collected_at"])
    except ValueError as err:
        raise ManifestError(f"{p}: collected_at {clip_repr(out['collected_at'])} {err}") from None
    return out


# -- files: every path resolves inside the bundle folder ----------------------------------------


def _bundle_file(base: Path, i: int, raw: object, p: Path) -> Path:
    entry = f"{p}: files entry {i}"
    if not isinstance(raw, str) or not raw.strip():
        raise ManifestError(
            f"{entry}: path must be a file name relative to the bundle folder, got {clip_repr(raw)}"
        )
    name = raw.strip()
    shown = clip_repr(name)
    if "\x00" in name:
        raise ManifestError(f"{entry} ({shown}): the path contains a NUL byte")
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) > _MAX_PATH_BYTES or any(
        len(part.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES
        for part in name.replace("\\", "/").split("/")
    ):
        raise ManifestError(
            f"{entry} ({shown}): the path is too long (at most {_MAX_NAME_BYTES} bytes per name, "
            f"{_MAX_PATH_BYTES} in all)"
        )
    inside = "every file must be inside the bundle folder, named relative to manifest.yaml"
    if (
        Path(name).is_absolute()
        or name.startswith(("/", "\\"))
        or (len(name) > 1 and name[1] == ":")
    ):
        raise ManifestError(f"{entry} ({shown}) is an absolute path: {inside}")
    if ".." in Path(name).parts:
        raise ManifestError(f"{entry} ({shown}) climbs out with '..': {inside}")
    try:
        target = (base / name).resolve(strict=True)
    except FileNotFoundError:
        raise ManifestError(f"{entry}: {clip(name)} does not exist in {base}") from None
    except RuntimeError:  # symlink loop (Python < 3.13)
        raise ManifestError(f"{entry} ({shown}) is a symlink loop: {inside}") from None
    except OSError as err:
        what = "a symlink loop" if err.errno == 40 else f"unreadable ({err.strerror})"
        raise ManifestError(f"{entry} ({shown}) is {what}: {inside}") from None
    if not target.is_relative_to(base):
        raise ManifestError(
            f"{entry} ({shown}) resolves to {clip(target)}, outside the bundle folder {base}"
            f" (a symlink?): {inside}"
        )
    if not target.is_file():
        raise ManifestError(f"{entry} ({shown}) is not a regular file: {inside}")
    if not os.access(target, os.R_OK):
        raise ManifestError(f"{entry} ({shown}) is not readable (permissions)")
    return target


def load_manifest(path: str | Path) -> Manifest:
    """Read and check ``manifest.yaml`` (a folder is taken to contain one).

    Raises
    ------
    ManifestError
        The file is missing, too large or not acceptable YAML (alias bomb, too deep, duplicate
        key); a provenance field is missing, not text or empty (invisible characters do not count);
        ``collected_at`` is not a real date or is in the future; ``method`` or a file's ``table``
        is not allowed; a listed file does not exist, is not a regular file, or does not resolve
        inside the bundle folder.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "manifest.yaml"
    if not p.is_file():
        raise ManifestError(
            f"{p}: no such manifest. Give the path of a bundle's manifest.yaml (or its folder)"
        )
    data = _read_yaml(p)
    if not isinstance(data, dict):
        raise ManifestError(f"{p}: expected a mapping with {', '.join(MANIFEST_REQUIRED)}")
    fields = _provenance(data, p)
    raw_files = data.get("files")
    if not isinstance(raw_files, list) or not raw_files:
        raise ManifestError(
            f"files is missing or empty in {p}: list the bundle's files as "
            "`- {path: accounts.csv, table: accounts}`"
        )
    base = p.parent.resolve()
    files = []
    for i, entry in enumerate(raw_files, start=1):
        if not isinstance(entry, dict) or "path" not in entry or "table" not in entry:
            raise ManifestError(
                f"{p}: files entry {i} needs `path` and `table`, got {clip_repr(entry)}"
            )
        table = entry["table"]
        if not isinstance(table, str) or table not in SOURCE_TABLES:
            raise ManifestError(
                f"{p}: files entry {i} ({clip_repr(entry['path'])}) has table "
                f"{clip_repr(table)}; allowed: {', '.join(SOURCE_TABLES)}"
            )
        fpath = _bundle_file(base, i, entry["path"], p)
        files.append(ManifestFile(fpath, entry["path"].strip(), table, file_sha256(fpath)))
    return Manifest(path=p.resolve(), files=tuple(files), **fields)
