"""What every home reaches on foot: nearest facility of every category, completeness per level.

One bounded multi-source pass of the kernel per category (all facilities of
the category are sources at once, the bound is the category's largest
threshold), then :func:`~geoplan.network.point_distances` for all origins:
never one search per origin.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .._util import weighted_quantile
from ..network import Snapped, WalkNetwork, distances_by_group, sources_by_group
from .facilities import snap_facilities
from .rules import LifeCircleRules, load_lifecircle_rules
from ..errors import DataError

__all__ = [
    "category_distances",
    "completeness",
    "life_circle",
    "scenario_change",
    "summarise_units",
    "weighted_quantile",
]


def category_distances(
    network: WalkNetwork,
    origins: Snapped,
    facilities: pd.DataFrame,
    limits: dict[str, float],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Walking distance from every origin to the nearest facility of each category.

    Parameters
    ----------
    network : WalkNetwork
    origins : Snapped
        Origins snapped onto edges.
    facilities : DataFrame
        Output of :func:`~geoplan.lifecircle.facilities.snap_facilities`
        (``fac_id``, ``category``, ``snap_edge``, ``snap_along``, ``snap_m``).
    limits : dict
        Category id -> search bound in metres (one kernel pass each).

    Returns
    -------
    dict
        Category id -> (distance in metres, ``inf`` beyond the bound; ``fac_id``
        of the nearest facility, -1 beyond the bound).
    """
    n = len(origins)
    if len(facilities) == 0:
        return {cid: (np.full(n, np.inf), np.full(n, -1, dtype=np.int64)) for cid in limits}
    src = sources_by_group(Snapped.from_columns(facilities), facilities["fac_id"].to_numpy(np.int64),
                           facilities["category"].to_numpy(object), list(limits))
    return {cid: (g.dist, g.label) for cid, g in distances_by_group(network, src, origins, limits).items()}


def completeness(dist: pd.DataFrame, rules: LifeCircleRules) -> pd.DataFrame:
    """Which required categories each origin reaches at every level, and a score.

    Parameters
    ----------
    dist : DataFrame
        ``dist:<category>`` columns in metres.
    rules : LifeCircleRules

    Returns
    -------
    DataFrame
        Per level ``lid``: ``n:<lid>`` (required categories reached within the
        level's distance; a category counts at its own level and above),
        ``of:<lid>`` (how many are required), ``score:<lid>`` (share 0..1),
        ``complete:<lid>`` and ``missing:<lid>`` (ids of the categories not
        reached, ``", "``-separated); ``complete:own`` (every required category
        within its own level's distance) and ``missing:own``; one
        ``catch:<id>`` column per local catchment.
    """
    cols: dict[str, Any] = {}
    n = len(dist)
    for lv in rules.levels:
        req = rules.required_at(lv.id)
        got = np.zeros(n, dtype=np.int64)
        missing = np.full(n, "", dtype=object)
        for cid in req:
            ok = dist[f"dist:{cid}"].to_numpy() <= lv.distance_m
            got += ok
            missing = np.where(ok, missing, np.where(missing == "", cid, missing + ", " + cid))
        cols[f"n:{lv.id}"] = got
        cols[f"of:{lv.id}"] = np.full(n, len(req), dtype=np.int64)
        cols[f"score:{lv.id}"] = got / len(req) if req else np.ones(n)
        cols[f"complete:{lv.id}"] = got == len(req)
        cols[f"missing:{lv.id}"] = missing
    own_missing = np.full(n, "", dtype=object)
    for cid in rules.required_ids:
        ok = dist[f"dist:{cid}"].to_numpy() <= rules.threshold(cid)
        own_missing = np.where(ok, own_missing, np.where(own_missing == "", cid, own_missing + ", " + cid))
    cols["complete:own"] = own_missing == ""
    cols["missing:own"] = own_missing
    for k in rules.catchments:
        cols[f"catch:{k.id}"] = dist[f"dist:{k.category}"].to_numpy() <= k.distance_m
    return pd.DataFrame(cols, index=dist.index)


def life_circle(
    network: WalkNetwork,
    origins: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    rules: LifeCircleRules | str | None = None,
    *,
    categories: Iterable[str] | None = None,
    speed_kmh: float | None = None,
    search_limit_m: float | None = None,
    origin_snap: Snapped | None = None,
) -> gpd.GeoDataFrame:
    """The life circle of every origin: distance and time to the nearest facility of each category.

    Parameters
    ----------
    network : WalkNetwork
        The walking network (projected metres).
    origins : GeoDataFrame
        Points (homes, cell points) in the network CRS; a ``residents`` column
        (default 1 each) and ``unit_id`` / ``unit_name`` are carried over.
    facilities : GeoDataFrame
        ``category`` (ids of ``rules``) and geometries (points, polygons or lines)
        in the network CRS; ``fac_id`` optional. Already snapped tables
        (``snap_edge`` ...) are used as they are.
    rules : LifeCircleRules or str, optional
        Default: the ``gb50180`` preset.
    categories : iterable of str, optional
        Only these categories (default: all of ``rules``; required categories
        that are left out count as missing).
    speed_kmh : float, optional
        Walking speed of the reported times (default: the rules' default profile,
        4.5 km/h = 75 m/min).
    search_limit_m : float, optional
        Measure distances up to at least this far (default: the largest threshold
        of each category).
    origin_snap : Snapped, optional
        Origins already snapped (saves snapping twice).

    Returns
    -------
    GeoDataFrame
        Per origin: ``origin_id``, ``residents``, ``unit_id``, ``unit_name``,
        ``snap_m``; per category ``dist:<c>`` (metres, ``inf`` beyond the search
        bound), ``min:<c>`` (walking minutes) and ``fac:<c>`` (nearest
        ``fac_id``); and the columns of :func:`completeness`.
    """
    if rules is None or isinstance(rules, str):
        rules = load_lifecircle_rules(rules or "gb50180", {"speed_kmh": speed_kmh} if speed_kmh else None)
    elif speed_kmh is not None:
        from dataclasses import replace

        prof = dict(rules.profiles)
        prof["default"] = replace(prof["default"], speed_kmh=float(speed_kmh))
        rules = replace(rules, profiles=prof)
    cats = list(categories) if categories is not None else rules.category_ids
    for c in cats:
        rules.category(c)  # raises on unknown ids
    fac = facilities
    if len(fac) and ("fac_id" not in fac.columns or fac["fac_id"].isna().any()):
        fac = fac.assign(fac_id=np.arange(1, len(fac) + 1))
    unknown = sorted(set(fac["category"]) - set(rules.category_ids)) if len(fac) else []
    if unknown:

        raise DataError(f"facilities of unknown categories {unknown}.", hint=f"Known: {', '.join(rules.category_ids)}.")
    if "snap_edge" not in fac.columns:
        fac = snap_facilities(fac, network)
    snap = origin_snap if origin_snap is not None else network.snap(origins.geometry.values)
    limits = {c: rules.search_limit(c, float(search_limit_m or 0)) for c in cats}
    dd = category_distances(network, snap, fac, limits)

    n = len(origins)
    base: dict[str, Any] = {
        "origin_id": origins["origin_id"].to_numpy() if "origin_id" in origins else np.arange(1, n + 1),
        "residents": origins["residents"].to_numpy(float) if "residents" in origins else np.ones(n),
        "unit_id": origins["unit_id"].to_numpy() if "unit_id" in origins else np.zeros(n, np.int64),
        "unit_name": origins["unit_name"].to_numpy() if "unit_name" in origins else np.full(n, "", object),
        "snap_m": snap.offset,
    }
    speed = rules.m_per_min
    for c in rules.category_ids:
        d, lab = dd.get(c, (np.full(n, np.inf), np.full(n, -1, np.int64)))
        base[f"dist:{c}"] = d
        base[f"min:{c}"] = d / speed
        base[f"fac:{c}"] = lab
    table = pd.DataFrame(base, index=origins.index)
    table = pd.concat([table, completeness(table, rules)], axis=1)
    return gpd.GeoDataFrame(table, geometry=origins.geometry.values, crs=origins.crs)


def _weights(table: pd.DataFrame) -> tuple[np.ndarray, str]:
    w = table["residents"].to_numpy(float)
    w = np.nan_to_num(w, nan=0.0)
    if w.sum() <= 0:
        return np.ones(len(table)), "origins"
    return w, "residents"


def summarise_units(
    table: pd.DataFrame,
    rules: LifeCircleRules,
    by: list[str] | None = None,
    facilities: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-unit (or overall) life-circle tables.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`life_circle`.
    rules : LifeCircleRules
    by : list of str, optional
        Grouping columns (default ``["unit_id", "unit_name"]``); ``[]`` for one
        row for the whole area.
    facilities : DataFrame, optional
        Facilities with ``category`` and the ``by`` columns: adds counts.

    Returns
    -------
    units : DataFrame
        Per group: ``origins``, ``residents``; per level ``complete_<lid>_pct``
        (share of residents with a complete circle) and ``score_<lid>_pct``
        (mean share of required categories reached); ``complete_own_pct``;
        ``most_missing`` (the required category the most residents lack within
        the largest circle), ``most_missing_pct``; per catchment
        ``catch_<id>_pct``. Percentages 0-100 (NaN with no residents).
    categories : DataFrame
        Per group and category: ``level``, ``threshold_m``, ``required``,
        ``residents``, ``reached_residents``, ``reached_pct`` (within the
        category's own level), ``reached_<top>_pct`` (within the largest
        circle), ``median_m``, ``p90_m``, ``median_min``, ``p90_min``
        (resident-weighted; NaN when beyond the search bound), ``facilities``.
    """
    by = ["unit_id", "unit_name"] if by is None else list(by)
    w, basis = _weights(table)
    t = table.copy()
    t["_w"] = w
    key = by or None
    if not by:
        t["_all"] = 0
        key = ["_all"]
    top = rules.levels[-1]
    groups = t.groupby(key, sort=True)
    res = groups["_w"].sum()
    units = pd.DataFrame({"origins": groups.size(), "residents": groups["residents"].sum()})

    def pct(col: np.ndarray) -> pd.Series:
        s = pd.Series(col * t["_w"].to_numpy(), index=t.index).groupby([t[k] for k in key]).sum()
        return 100.0 * s / res.where(res > 0)

    for lv in rules.levels:
        units[f"complete_{lv.id}_pct"] = pct(t[f"complete:{lv.id}"].to_numpy(float))
        units[f"score_{lv.id}_pct"] = pct(t[f"score:{lv.id}"].to_numpy(float))
    units["complete_own_pct"] = pct(t["complete:own"].to_numpy(float))
    miss = pd.DataFrame({c: pct((t[f"dist:{c}"].to_numpy() > top.distance_m).astype(float))
                         for c in rules.required_ids})
    if len(miss.columns):
        mx = miss.max(axis=1)
        first = miss.fillna(-1).to_numpy().argmax(axis=1)
        units["most_missing"] = np.where(mx.fillna(0).to_numpy() > 0, np.array(miss.columns)[first], "")
        units["most_missing_pct"] = mx
    for k in rules.catchments:
        units[f"catch_{k.id}_pct"] = pct(t[f"catch:{k.id}"].to_numpy(float))
    units = units.reset_index()
    if not by:
        units = units.drop(columns=["_all"])
    units.insert(len(by) + 2, "weight", basis)

    fac_count = None
    if facilities is not None and len(facilities) and all(k in facilities.columns for k in by):
        f = facilities.drop_duplicates("fac_id") if "fac_id" in facilities.columns else facilities
        fac_count = f.groupby([*by, "category"]).size() if by else f.groupby("category").size()
    rows = []
    for gkey, g in groups:
        gk = gkey if isinstance(gkey, tuple) else (gkey,)
        gw = g["_w"].to_numpy()
        tot = gw.sum()
        for c in rules.categories:
            d = g[f"dist:{c.id}"].to_numpy()
            thr = rules.threshold(c.id)
            med = weighted_quantile(d, gw, 0.5)
            p90 = weighted_quantile(d, gw, 0.9)
            row = dict(zip(by, gk)) if by else {}
            row.update(
                category=c.id, level=c.level, threshold_m=thr, required=c.required, residents=float(g["residents"].sum()),
                reached_residents=float((g["residents"].to_numpy() * (d <= thr)).sum()),
                reached_pct=100.0 * float((gw * (d <= thr)).sum()) / tot if tot > 0 else np.nan,
                **{f"reached_{top.id}_pct": 100.0 * float((gw * (d <= top.distance_m)).sum()) / tot if tot > 0 else np.nan},
                median_m=med if np.isfinite(med) else np.nan, p90_m=p90 if np.isfinite(p90) else np.nan,
            )
            row["median_min"] = row["median_m"] / rules.m_per_min
            row["p90_min"] = row["p90_m"] / rules.m_per_min
            if fac_count is not None:
                idx = (*gk, c.id) if by else c.id
                row["facilities"] = int(fac_count.get(idx, 0))
            rows.append(row)
    cats = pd.DataFrame(rows)
    return units, cats


def scenario_change(before: pd.DataFrame, after: pd.DataFrame, rules: LifeCircleRules,
                    by: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Before/after comparison of two life-circle tables of the same origins (planned facilities).

    Returns
    -------
    per_origin : DataFrame
        ``origin_id`` and per level ``gain:<lid>`` (complete after, not before),
        ``score_change:<lid>``; ``gained_categories`` (ids newly reached within
        their own level).
    by_unit : DataFrame
        Per unit and level: ``residents``, ``complete_before_pct``,
        ``complete_after_pct``, ``change_pp``, ``gain_residents``, ``gain_origins``.
    """
    by = ["unit_id", "unit_name"] if by is None else list(by)
    cols: dict[str, Any] = {"origin_id": before["origin_id"].to_numpy()}
    for lv in rules.levels:
        b = before[f"complete:{lv.id}"].to_numpy(bool)
        a = after[f"complete:{lv.id}"].to_numpy(bool)
        cols[f"gain:{lv.id}"] = a & ~b
        cols[f"score_change:{lv.id}"] = after[f"score:{lv.id}"].to_numpy() - before[f"score:{lv.id}"].to_numpy()
    gained = np.full(len(before), "", dtype=object)
    for c in rules.category_ids:
        thr = rules.threshold(c)
        new = (after[f"dist:{c}"].to_numpy() <= thr) & ~(before[f"dist:{c}"].to_numpy() <= thr)
        gained = np.where(new, np.where(gained == "", c, gained + ", " + c), gained)
    cols["gained_categories"] = gained
    per = pd.DataFrame(cols, index=before.index)
    w, _ = _weights(before)
    rows = []
    keys = [before[k] for k in by] if by else [pd.Series(0, index=before.index)]
    for lv in rules.levels:
        b = before[f"complete:{lv.id}"].to_numpy(float)
        a = after[f"complete:{lv.id}"].to_numpy(float)
        g = per[f"gain:{lv.id}"].to_numpy(float)
        df = pd.DataFrame({"w": w, "b": b * w, "a": a * w, "g": g * w, "go": g, "res": before["residents"].to_numpy(float)},
                          index=before.index)
        s = df.groupby(keys, sort=True).sum()
        out = pd.DataFrame({
            "level": lv.id, "residents": s["res"],
            "complete_before_pct": 100 * s["b"] / s["w"].where(s["w"] > 0),
            "complete_after_pct": 100 * s["a"] / s["w"].where(s["w"] > 0),
            "gain_residents": s["g"] if _weights(before)[1] == "residents" else np.nan,
            "gain_origins": s["go"].astype(int),
        })
        out["change_pp"] = out["complete_after_pct"] - out["complete_before_pct"]
        out = out.reset_index()
        if by:
            out.columns = [*by, *out.columns[len(by):]]
        else:
            out = out.drop(columns=out.columns[0])
        rows.append(out)
    return per, pd.concat(rows, ignore_index=True)
