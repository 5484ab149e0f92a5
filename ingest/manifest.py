"""Stage 0 of ingest: the bundle's manifest and its provenance.

No legal basis, no ingest: every field of :data:`graphintel.model.MANIFEST_REQUIRED` must be present
and non-empty, ``method`` one of :data:`graphintel.model.METHODS`, every file must exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from graphintel.errors import ManifestError
from graphintel.model import MANIFEST_REQUIRED, METHODS, TABLES

__all__ = ["SOURCE_TABLES", "Manifest", "ManifestFile", "file_sha256", "load_manifest"]

SOURCE_TABLES = (*TABLES, "telegram_export")


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


def file_sha256(path: Path, *, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def load_manifest(path: str | Path) -> Manifest:
    """Read and check ``manifest.yaml`` (a folder is taken to contain one).

    Raises
    ------
    ManifestError
        The file is missing or not YAML, a provenance field is missing or empty, ``method`` or a
        file's ``table`` is not allowed, or a listed file does not exist.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "manifest.yaml"
    if not p.is_file():
        raise ManifestError(
            f"{p}: no such manifest. Give the path of a bundle's manifest.yaml (or its folder)"
        )
    try:
        with open(p, encoding="utf-8-sig") as fh:
            data = yaml.safe_load(fh)
    except UnicodeDecodeError as err:
        raise ManifestError(f"{p}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ManifestError(f"{p}{where}: not valid YAML ({getattr(err, 'problem', err)})") from err
    if not isinstance(data, dict):
        raise ManifestError(f"{p}: expected a mapping with {', '.join(MANIFEST_REQUIRED)}")

    def text(key: str) -> str:
        value = data.get(key)
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        if value is None or (isinstance(value, str) and not value.strip()):
            hint = (
                ": every source needs the legal basis it was collected under "
                "(court permission, warrant, platform disclosure order, …)"
                if key == "legal_basis"
                else ""
            )
            state = "missing" if key not in data else "empty"
            raise ManifestError(f"{key} is {state} in {p}{hint}")
        return str(value).strip()

    fields = {k: text(k) for k in MANIFEST_REQUIRED if k != "files"}
    if fields["method"] not in METHODS:
        raise ManifestError(
            f"{p}: method {fields['method']!r} is not allowed: use one of {', '.join(METHODS)}"
        )
    raw_files = data.get("files")
    if not isinstance(raw_files, list) or not raw_files:
        raise ManifestError(
            f"files is missing or empty in {p}: list the bundle's files as "
            "`- {path: accounts.csv, table: accounts}`"
        )
    files = []
    for i, entry in enumerate(raw_files, start=1):
        if not isinstance(entry, dict) or "path" not in entry or "table" not in entry:
            raise ManifestError(f"{p}: files entry {i} needs `path` and `table`, got {entry!r}")
        table = str(entry["table"])
        if table not in SOURCE_TABLES:
            raise ManifestError(
                f"{p}: files entry {i} ({entry['path']}) has table {table!r}; allowed: "
                f"{', '.join(SOURCE_TABLES)}"
            )
        fpath = (p.parent / str(entry["path"])).resolve()
        if not fpath.is_file():
            raise ManifestError(f"{p}: files entry {i}: {entry['path']} does not exist ({fpath})")
        files.append(ManifestFile(fpath, str(entry["path"]), table, file_sha256(fpath)))
    return Manifest(path=p.resolve(), files=tuple(files), **fields)
