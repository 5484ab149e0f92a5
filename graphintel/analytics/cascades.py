"""How referral cascades grow: size over time, generations, time between generations and the
effective reproduction number per generation.

Definitions (over the referral forest, :mod:`graphintel.analytics.referral`)
---------------------------------------------------------------------------
* A **cascade** is a root with at least one descendant; **generation** ``g`` of a cascade = its
  accounts at ``referral_depth`` g (0 = the root). An account **joins** at the time of its
  parent invite (``referral_invited_at``); the root has no join time.
* Per generation: ``accounts``; ``recruiters`` = accounts of the generation with at least one
  recruit; ``recruits`` = accounts of generation g + 1; ``reproduction`` = recruits / accounts —
  the mean recruits per member of the generation, every member counted as a potential recruiter
  (the effective reproduction number R of generation g; below 1 a cascade dies out);
  ``recruits_per_recruiter`` = recruits / recruiters (NaN without recruiters);
  ``first_joined_at`` / ``last_joined_at`` of its members; ``gap_hours_mean`` = mean hours from a
  member's join to each of its recruits' joins (NaN where no pair has both times, e.g. for the
  root).
* Per cascade: ``size`` (root included), ``generations`` (deepest generation), ``recruiters``,
  ``first_joined_at`` / ``last_joined_at`` and ``generation_gap_hours_mean`` (over all its
  member → recruit pairs with both times).
* **Growth**: per cascade and day on which members joined, ``joined`` that day and ``size`` =
  1 (the root) + members joined so far. Members without a join time are not on the curve.

All figures are grouped numpy/pandas over the forest (no per-account Python).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from graphintel.model import CASCADE_COLUMNS, GENERATION_COLUMNS, GROWTH_COLUMNS

__all__ = [
    "CASCADE_COLUMNS",
    "GENERATION_COLUMNS",
    "GROWTH_COLUMNS",
    "cascade_growth",
    "cascade_tables",
    "generation_profile",
]


def _members(forest: pd.DataFrame) -> pd.DataFrame:
    """Accounts in cascades: root, account_id, parent, depth, joined (str or None), t (datetime)."""
    root = forest["referral_root"].astype(object)
    size = root.map(root.value_counts())
    f = forest[(size >= 2).to_numpy(dtype=bool)]
    joined = (
        f["referral_invited_at"].astype(object)
        if "referral_invited_at" in f
        else pd.Series([None] * len(f), index=f.index, dtype=object)
    )
    joined = joined.where(joined.notna(), None)
    out = pd.DataFrame(
        {
            "root": f["referral_root"].astype(object).to_numpy(),
            "account_id": f["account_id"].astype(object).to_numpy(),
            "parent": f["referral_parent"].astype(object).to_numpy(),
            "depth": f["referral_depth"].to_numpy(np.int64),
            "joined": joined.to_numpy(dtype=object),
        }
    )
    out["t"] = pd.to_datetime(out["joined"], format="%Y-%m-%dT%H:%M:%S", errors="coerce")
    return out


def _gaps(m: pd.DataFrame) -> pd.DataFrame:
    """Member → recruit pairs with both join times: root, depth (of the member), hours."""
    t_by_id = pd.Series(m["t"].to_numpy(), index=m["account_id"].to_numpy())
    kids = m[m["parent"].notna()]
    parent_t = t_by_id.reindex(kids["parent"].to_numpy()).to_numpy()
    hours = (kids["t"].to_numpy() - parent_t) / np.timedelta64(1, "h")
    out = pd.DataFrame(
        {"root": kids["root"].to_numpy(), "depth": kids["depth"].to_numpy() - 1, "hours": hours}
    )
    return out[~np.isnan(out["hours"].to_numpy(np.float64))]


def cascade_tables(forest: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per-cascade, per-generation and growth tables of every cascade (module notes).

    Parameters
    ----------
    forest : pandas.DataFrame
        :func:`graphintel.analytics.referral.referral_forest` (``referral_invited_at`` gives
        join times; without it times are empty).

    Returns
    -------
    dict
        ``cascades`` (:data:`CASCADE_COLUMNS`, by size descending then root),
        ``cascade_generations`` (:data:`GENERATION_COLUMNS`, by root then generation) and
        ``cascade_growth`` (:data:`GROWTH_COLUMNS`, by root then day).

    Examples
    --------
    >>> from graphintel.analytics.referral import referral_forest
    >>> inv = pd.DataFrame({"inviter_id": ["A", "A", "B"], "invitee_id": ["B", "C", "D"],
    ...                     "invited_at": ["2024-01-01T00:00:00", "2024-01-02T00:00:00",
    ...                                    "2024-01-02T12:00:00"]})
    >>> forest, _ = referral_forest(inv, np.array(["A", "B", "C", "D"], dtype=object))
    >>> out = cascade_tables(forest)
    >>> gen = out["cascade_generations"]
    >>> gen[["generation", "accounts", "recruits"]].values.tolist()
    [[0, 1, 2], [1, 2, 1], [2, 1, 0]]
    >>> gen["reproduction"].tolist(), gen["gap_hours_mean"].tolist()
    ([2.0, 0.5, 0.0], [nan, 36.0, nan])
    >>> out["cascade_growth"][["day", "joined", "size"]].values.tolist()
    [['2024-01-01', 1, 2], ['2024-01-02', 2, 4]]
    """
    m = _members(forest)
    gaps = _gaps(m)
    kids = m.loc[m["parent"].notna(), "parent"].value_counts()
    m["has_recruit"] = m["account_id"].map(kids).fillna(0).to_numpy() > 0

    g = m.groupby(["root", "depth"], sort=True)
    gen = pd.DataFrame(
        {
            "accounts": g.size(),
            "recruiters": g["has_recruit"].sum(),
            "first_joined_at": g["joined"].min(),
            "last_joined_at": g["joined"].max(),
        }
    ).reset_index()
    nxt = gen[["root", "depth", "accounts"]].assign(depth=gen["depth"] - 1)
    nxt = nxt.rename(columns={"accounts": "recruits"})
    gen = gen.merge(nxt, on=["root", "depth"], how="left")
    gen["recruits"] = gen["recruits"].fillna(0).astype(np.int64)
    gap_mean = gaps.groupby(["root", "depth"])["hours"].mean().rename("gap_hours_mean")
    gen = gen.merge(gap_mean.reset_index(), on=["root", "depth"], how="left")
    gen = gen.rename(columns={"depth": "generation"}).sort_values(["root", "generation"])
    gen["accounts"] = gen["accounts"].astype(np.int64)
    gen["recruiters"] = gen["recruiters"].astype(np.int64)
    gen["reproduction"] = gen["recruits"] / gen["accounts"]
    with np.errstate(invalid="ignore", divide="ignore"):
        gen["recruits_per_recruiter"] = gen["recruits"] / gen["recruiters"].where(
            gen["recruiters"] > 0
        )
    gen = _clean(gen, GENERATION_COLUMNS)

    c = m.groupby("root", sort=True)
    casc = pd.DataFrame(
        {
            "size": c.size(),
            "generations": c["depth"].max(),
            "recruiters": c["has_recruit"].sum(),
            "first_joined_at": c["joined"].min(),
            "last_joined_at": c["joined"].max(),
            "generation_gap_hours_mean": gaps.groupby("root")["hours"].mean(),
        }
    ).reset_index(names="root")
    casc = casc.sort_values(["size", "root"], ascending=[False, True])
    for col in ("size", "generations", "recruiters"):
        casc[col] = casc[col].astype(np.int64)
    casc = _clean(casc, CASCADE_COLUMNS)

    dated = m[m["t"].notna()].assign(day=lambda x: x["joined"].astype(str).str[:10])
    grow = dated.groupby(["root", "day"], sort=True).size().rename("joined").reset_index()
    grow["joined"] = grow["joined"].astype(np.int64)
    grow["size"] = (grow.groupby("root")["joined"].cumsum() + 1).astype(np.int64)
    grow = _clean(grow, GROWTH_COLUMNS)
    return {"cascades": casc, "cascade_generations": gen, "cascade_growth": grow}


def _clean(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    out = frame.reindex(columns=list(columns)).reset_index(drop=True)
    for col in out.columns:
        if out[col].dtype == object or col in ("root", "day", "first_joined_at", "last_joined_at"):
            s = out[col].astype(object)
            out[col] = s.where(s.notna(), None)
        elif col.endswith(("_mean", "reproduction", "recruiter")):
            out[col] = out[col].astype(np.float64)
    return out


def generation_profile(generations: pd.DataFrame, roots=None) -> pd.DataFrame:
    """Generations summed over cascades (all, or those in ``roots``): ``generation``,
    ``accounts``, ``recruits``, ``reproduction`` (recruits / accounts), ``gap_hours_mean``
    (mean of the cascades' generation means, weighted by accounts).

    Examples
    --------
    >>> gen = pd.DataFrame({"root": ["A", "A", "B", "B"], "generation": [0, 1, 0, 1],
    ...                     "accounts": [1, 2, 1, 1], "recruits": [2, 0, 1, 0],
    ...                     "gap_hours_mean": [None, None, None, None]})
    >>> p = generation_profile(gen)
    >>> p[["generation", "accounts", "recruits"]].values.tolist(), p["reproduction"].tolist()
    ([[0, 2, 3], [1, 3, 0]], [1.5, 0.0])
    """
    g = generations if roots is None else generations[generations["root"].isin(list(roots))]
    gap = pd.to_numeric(g["gap_hours_mean"], errors="coerce")
    w = g["accounts"].where(gap.notna(), 0)
    frame = g.assign(_gw=gap.fillna(0) * w, _w=w)
    out = frame.groupby("generation", sort=True)[["accounts", "recruits", "_gw", "_w"]].sum()
    out = out.reset_index()
    out["reproduction"] = out["recruits"] / out["accounts"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["gap_hours_mean"] = out["_gw"] / out["_w"].where(out["_w"] > 0)
    out["accounts"] = out["accounts"].astype(np.int64)
    out["recruits"] = out["recruits"].astype(np.int64)
    return out[["generation", "accounts", "recruits", "reproduction", "gap_hours_mean"]]


def cascade_growth(
    scenarios: Mapping[str, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare the cascades of several referral forests (e.g. a baseline and an intervention).

    Returns ``(generations, growth)``: :func:`generation_profile` of each forest with a
    ``scenario`` column, and accounts in cascades over time (``scenario``, ``day``, ``size`` =
    cumulative over all cascades, roots counted from the first day).

    Examples
    --------
    >>> from graphintel.analytics.referral import referral_forest
    >>> inv = pd.DataFrame({"inviter_id": ["A"], "invitee_id": ["B"],
    ...                     "invited_at": ["2024-01-01T00:00:00"]})
    >>> forest, _ = referral_forest(inv, np.array(["A", "B"], dtype=object))
    >>> gens, growth = cascade_growth({"base": forest})
    >>> growth.values.tolist()
    [['base', '2024-01-01', 2]]
    """
    gens, grows = [], []
    for name, forest in scenarios.items():
        t = cascade_tables(forest)
        gens.append(generation_profile(t["cascade_generations"]).assign(scenario=name))
        roots = len(t["cascades"])
        daily = t["cascade_growth"].groupby("day", sort=True)["joined"].sum()
        grows.append(
            pd.DataFrame(
                {
                    "scenario": name,
                    "day": daily.index.astype(object),
                    "size": (daily.cumsum() + roots).to_numpy(np.int64),
                }
            )
        )
    cols_g = ["scenario", "generation", "accounts", "recruits", "reproduction", "gap_hours_mean"]
    gen = pd.concat(gens, ignore_index=True) if gens else pd.DataFrame(columns=cols_g)
    grow = (
        pd.concat(grows, ignore_index=True)
        if grows
        else pd.DataFrame(columns=["scenario", "day", "size"])
    )
    return gen[cols_g], grow[["scenario", "day", "size"]]
