"""The Trainer's runs, persisted: the baseline is computed by ``graphintel analyze``, not by the page.

The Trainer page (``dashboards/sections/trainer.py``) shows a simulated invitation-credit scheme
(synthetic, fictional data from :mod:`graphintel.simulate`; nothing of a case) and two
interventions. Simulating and analysing a run costs seconds, so the run for a set of options
and seed (the *baseline*) and the default interventions on it are saved once under
``<cache_dir>/trainer/`` (``GRAPHINTEL_CACHE``, default ``~/.cache/graphintel``), keyed by the
options, the seed and :data:`FORMAT`, and read back on every visit. ``graphintel analyze`` saves
the page's default options (:func:`persist_defaults`); a run the dashboard has to compute (other
options, asked for with the page's *Simulate* button) is saved the same way, and the folder
keeps at most :data:`KEEP` runs (oldest read first out).

A saved run is a folder of Parquet files (one per frame) and ``run.json``, written to a
temporary folder and renamed into place, so a reader sees a whole run or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from graphintel import __version__

__all__ = [
    "DEFAULTS",
    "FORMAT",
    "KEEP",
    "baseline",
    "default_day_x",
    "interventions",
    "persist_defaults",
    "run_key",
    "scenario",
]

DEFAULTS: dict[str, Any] = {
    "accounts": 1500,
    "operators": 3,
    "reward_credits": 1.0,
    "price_credits": 5.0,
    "join_probability": 0.4,
    "days": 30,
    "seed": 7,
}
"""The Trainer page's default options (its sliders start here)."""

FORMAT = 1
"""Bumped when what a saved run holds changes (older folders are then ignored)."""

KEEP = 24
"""Saved runs kept in the folder (baselines and interventions)."""


def _params(params: Mapping[str, Any]) -> dict[str, Any]:
    p = {**DEFAULTS, **params}
    return {
        "accounts": int(p["accounts"]),
        "operators": int(p["operators"]),
        "reward_credits": float(p["reward_credits"]),
        "price_credits": float(p["price_credits"]),
        "join_probability": round(float(p["join_probability"]), 6),
        "days": int(p["days"]),
        "seed": int(p["seed"]),
    }


def run_key(kind: str, params: Mapping[str, Any], **extra: Any) -> str:
    """The folder name of a saved run: ``kind`` plus a digest of the options, ``extra`` (the
    intervention), :data:`FORMAT` and the graphintel version.

    >>> run_key("baseline", {}) == run_key("baseline", dict(DEFAULTS))
    True
    >>> run_key("baseline", {"seed": 8}) == run_key("baseline", {})
    False
    """
    text = json.dumps(
        {"p": _params(params), "x": extra, "f": FORMAT, "v": __version__}, sort_keys=True
    )
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def _folder(cache_dir: Path | str) -> Path:
    return Path(cache_dir) / "trainer"


def _save(path: Path, frames: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        for name, frame in frames.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
        dtypes = {n: {str(c): str(t) for c, t in f.dtypes.items()} for n, f in frames.items()}
        (tmp / "run.json").write_text(
            json.dumps({**meta, "frames": sorted(frames), "dtypes": dtypes})
        )
        try:
            os.rename(tmp, path)
        except OSError:  # another process saved the same run first: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(path.parent)


def _load(path: Path) -> tuple[dict[str, pd.DataFrame], dict[str, Any]] | None:
    try:
        meta = json.loads((path / "run.json").read_text())
        frames = {n: pd.read_parquet(path / f"{n}.parquet") for n in meta["frames"]}
        for name, frame in frames.items():  # Parquet text comes back as str: restore object
            for c, t in meta["dtypes"][name].items():
                if t == "object" and c in frame and frame[c].dtype != object:
                    col = frame[c].astype(object)
                    frame[c] = col.where(col.notna(), None)
            frame.columns = frame.columns.astype("str")
    except (OSError, ValueError, KeyError):
        return None
    try:
        os.utime(path)  # recently read runs are kept longest
    except OSError:
        pass
    return frames, meta


def _prune(folder: Path) -> None:
    runs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    runs.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)


def _compute_baseline(p: Mapping[str, Any]) -> dict[str, Any]:
    from graphintel import economy_views, views

    run = views.trainer_run(**p)
    gens, grow = economy_views.trainer_cascades({"run": run["tables"]})
    return {**run, "cascades": (gens, grow)}


def baseline(
    params: Mapping[str, Any] | None = None, *, cache_dir: Path | str, compute: bool = True
) -> dict[str, Any] | None:
    """The baseline run for ``params`` (defaults: :data:`DEFAULTS`): ``tables`` (the prepared
    simulated tables), ``metrics`` (account metrics), ``timeline``, ``cascades``
    (``(generations, growth)``) and ``saved`` (True when read back from the cache).

    Read from ``cache_dir`` when saved; otherwise simulated, analysed and saved (or ``None``
    with ``compute=False``).

    Raises
    ------
    SimulationError
        If an option is out of range.
    """
    p = _params(params or {})
    path = _folder(cache_dir) / run_key("baseline", p)
    hit = _load(path)
    if hit is not None:
        f, _ = hit
        tables = {k[len("t_") :]: v for k, v in f.items() if k.startswith("t_")}
        return {
            "tables": tables,
            "metrics": f["metrics"],
            "timeline": f["timeline"],
            "cascades": (f["generations"], f["growth"]),
            "saved": True,
        }
    if not compute:
        return None
    run = _compute_baseline(p)
    frames = {f"t_{k}": v for k, v in run["tables"].items()}
    frames.update(
        metrics=run["metrics"],
        timeline=run["timeline"],
        generations=run["cascades"][0],
        growth=run["cascades"][1],
    )
    _save(path, frames, {"kind": "baseline", "params": p})
    return {**run, "saved": False}


def scenario(
    params: Mapping[str, Any],
    remove_account: str,
    remove_day: int,
    *,
    cache_dir: Path | str,
    compute: bool = True,
) -> dict[str, Any] | None:
    """The run for ``params`` with ``remove_account`` removed at day ``remove_day``:
    ``timeline`` and ``cascades``; read from ``cache_dir`` when saved, else simulated and
    saved (``None`` with ``compute=False``)."""
    p = _params(params)
    extra = {"remove_account": str(remove_account), "remove_day": int(remove_day)}
    path = _folder(cache_dir) / run_key("scenario", p, **extra)
    hit = _load(path)
    if hit is not None:
        f, _ = hit
        return {"timeline": f["timeline"], "cascades": (f["generations"], f["growth"])}
    if not compute:
        return None
    from graphintel import economy_views, views

    t = views.trainer_simulate(**p, **extra)
    timeline = views.spread_timeline(t)
    gens, grow = economy_views.trainer_cascades({"run": t})
    frames = {"timeline": timeline, "generations": gens, "growth": grow}
    _save(path, frames, {"kind": "scenario", "params": p, **extra})
    return {"timeline": timeline, "cascades": (gens, grow)}


def default_day_x(days: int) -> int:
    """The intervention day the page starts on: a third into the run.

    >>> default_day_x(30)
    10
    """
    return int(days) // 3


def persist_defaults(cache_dir: Path | str) -> list[str]:
    """Save the Trainer page's default baseline and its two default interventions (what
    ``graphintel analyze`` calls); returns the saved run keys. Runs already saved are kept."""
    p = dict(DEFAULTS)
    run = baseline(p, cache_dir=cache_dir)
    keys = [run_key("baseline", p)]
    day_x = default_day_x(p["days"])
    for account in interventions(run, p, day_x).values():
        scenario(p, account, day_x, cache_dir=cache_dir)
        keys.append(run_key("scenario", _params(p), remove_account=str(account), remove_day=day_x))
    return keys


def interventions(run: Mapping[str, Any], params: Mapping[str, Any], day_x: int) -> dict[str, str]:
    """The accounts the page removes at day index ``day_x`` of the run for ``params``:
    ``top`` (the run's top-priority account that is not a bot) and ``random`` (a plain member
    who joined before that day, drawn with the seed), each only when there is one."""
    from graphintel import views

    p = _params(params)
    days = views.trainer_days(p["days"])
    x = days[min(int(day_x), len(days) - 1)]
    t = run["tables"]
    out = {}
    top = views.trainer_top_operator(run["metrics"], t["accounts"])
    if top is not None:
        out["top"] = top
    rand = views.trainer_random_member(t, pd.Timestamp(x), p["seed"])
    if rand is not None:
        out["random"] = rand
    return out
