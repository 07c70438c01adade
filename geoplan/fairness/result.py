"""Fairness of access (均好度, distribution evenness): who is served well and who is left out.

Per resident (every residential cell or home carries its residents as a
weight) the analysis takes two access values:

* the walking distance to the nearest counted park (any tier; one kernel pass
  from all park access points, bounded at ``distance_cap_m``; residents
  beyond the cap are counted *at* the cap and reported as censored);
* the number of life-circle categories reached within the largest circle
  (15 minutes), when the life-circle analysis ran;

and reports, overall and per unit, with and without the compound model, the
Gini coefficient and Lorenz curve of each value, the worst decile, the
population-weighted mean walking time to each category and a ranking of
units (the measures are in :mod:`geoplan.fairness.measures`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._util import ShowsInJupyter
from .._util import finite
from ..errors import UsageError
from ..network import Snapped, Sources, distances_by_group, sources_by_group
from ..parks import access_points
from .measures import inequality_table, lorenz, rank_units, weighted_mean, worst_decile

__all__ = ["DEFAULTS", "FairnessResult", "category_distances_capped", "fairness_for_audit", "park_distances",
           "run_fairness"]

#: Settings (a ``fairness:`` section of the user configuration overrides them).
DEFAULTS: dict[str, Any] = {
    "distance_cap_m": 3000.0,   # walks longer than this count as this long (censored)
    "worst_share": 0.10,        # the worst decile
    "lorenz_points": 101,       # points of the Lorenz curves in the tables
    "speed_kmh": None,          # default: the life-circle rules' speed, else 4.5 km/h
}


# ---------------------------------------------------------------------------
# the analysis of an audit
# ---------------------------------------------------------------------------
@dataclass
class FairnessResult(ShowsInJupyter):
    """Fairness of park and life-circle access, overall and per unit, with and without compounds.

    Attributes
    ----------
    settings : dict
    models : list of str
        ``plain`` and, when the compound analysis ran, ``compounds``.
    inequality : DataFrame
        :func:`inequality_table` rows per ``model``, ``measure`` (``park_distance_m``,
        ``categories_15min``) and unit (``unit_id`` = ``all`` for the whole area).
    lorenz : DataFrame
        ``model``, ``measure``, ``unit`` (a unit id, or ``all``), ``unit_name``, ``pop_share``, ``value_share``.
    mean_time : DataFrame
        Resident-weighted mean walking time (minutes) and distance to the nearest
        facility of each life-circle category, and to the nearest park counted by the
        park-coverage rule (``counted_park``, from the residential cells), per model and
        unit; share of residents beyond the cap.
    ranking : DataFrame
        Units from best to worst served (均好度), per model.
    origins : GeoDataFrame
        Per origin (cells for parks, life-circle origins for categories): values and
        worst-decile flags, for the map and the GeoPackage.
    units : GeoDataFrame or None
    notes : list of str
    undefined : dict
        Measures whose figures are undefined, with the reason: ``{"park_distance_m":
        "no_park"}`` (no park counted: no walk to a park to measure) or ``"no_residents"``
        (no residents known: nothing to weight); their figures are NaN, never 0.
    """

    settings: dict
    models: list
    inequality: pd.DataFrame
    lorenz: pd.DataFrame
    mean_time: pd.DataFrame
    ranking: pd.DataFrame
    origins: gpd.GeoDataFrame
    units: gpd.GeoDataFrame | None = None
    notes: list = field(default_factory=list)
    undefined: dict = field(default_factory=dict)

    def gini(self, measure: str = "park_distance_m", model: str = "plain", unit: Any = "all") -> float:
        """One Gini coefficient."""
        t = self.inequality
        r = t[(t["model"] == model) & (t["measure"] == measure) & (t["unit_id"].astype(str) == str(unit))]
        return float(r["gini"].iloc[0]) if len(r) else float("nan")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables for CSV and XLSX."""
        return {"fairness_inequality": self.inequality, "fairness_ranking": self.ranking,
                "fairness_mean_time": self.mean_time, "fairness_lorenz": self.lorenz}

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Layers for the GeoPackage."""
        out = {"fairness_origins": finite(self.origins)}
        if self.units is not None:
            out["fairness_units"] = finite(self.units)
        return out

    def summary(self) -> dict:
        """Headline figures (``summary.json`` under ``fairness``)."""
        def num(x: Any) -> Any:
            x = float(x)
            return None if math.isnan(x) or math.isinf(x) else round(x, 4)

        t = self.inequality[self.inequality["unit_id"].astype(str) == "all"]
        out: dict = {"distance_cap_m": self.settings["distance_cap_m"], "worst_share": self.settings["worst_share"],
                     "models": list(self.models), "notes": list(self.notes), "undefined": dict(self.undefined)}
        for _, r in t.iterrows():
            out.setdefault(r["model"], {})[r["measure"]] = {
                "gini": num(r["gini"]), "mean": num(r["mean"]), "median": num(r["median"]), "p90": num(r["p90"]),
                "worst_threshold": num(r["worst_threshold"]), "censored_pct": num(r["censored_pct"])}
        m = self.mean_time[self.mean_time["unit_id"].astype(str) == "all"]
        for _, r in m.iterrows():
            out.setdefault(r["model"], {}).setdefault("mean_minutes", {})[r["category"]] = num(r["mean_min"])
        rk = self.ranking
        for model in self.models:
            r = rk[rk["model"] == model]
            if len(r):
                out.setdefault(model, {})["best_unit"] = str(r.iloc[0]["unit_name"])
                out[model]["worst_unit"] = str(r.iloc[-1]["unit_name"])
        return out

    def indicator(self, target: dict) -> float | None:
        """The measured value of a target: fairness defines no target indicator (None)."""
        return None



def _settings(extra: Mapping | None) -> dict:
    out = dict(DEFAULTS)
    for k, v in (extra or {}).items():
        if k not in DEFAULTS:
            raise UsageError(f"unknown fairness setting {k!r}.", hint=f"Known settings: {', '.join(DEFAULTS)}.")
        out[k] = v
    return out


def park_distances(network: Any, parks: pd.DataFrame, access: gpd.GeoDataFrame, points_snapped: Any,
                   cap: float, share: float | None = None) -> np.ndarray:
    """Walking distance from every point to the nearest counted park (any tier), bounded at ``cap``.

    One kernel pass from the access points of all counted parks; points beyond
    ``cap`` get ``cap``.  ``share``: the main-piece share the access points are
    snapped with (default the network's, see :meth:`WalkNetwork.snap`).
    """
    counted = parks[parks["tier"].notna()]
    a = access[access["park_id"].isin(counted["park_id"])]
    if len(a) == 0 or len(points_snapped) == 0:
        return np.full(len(points_snapped), float(cap))
    src = Sources.on_edges(network.snap(a.geometry.values, share=share), a["park_id"].to_numpy())
    return _capped(distances_by_group(network, {"parks": src}, points_snapped, cap)["parks"].dist, cap)


def category_distances_capped(network: Any, facilities: pd.DataFrame, points_snapped: Any, categories: list[str],
                              cap: float) -> dict[str, np.ndarray]:
    """Per category, the walking distance from every point to its nearest facility, bounded at ``cap``."""
    if len(facilities) == 0:
        return {c: np.full(len(points_snapped), float(cap)) for c in categories}
    src = sources_by_group(Snapped.from_columns(facilities), facilities["fac_id"].to_numpy(np.int64),
                           facilities["category"].to_numpy(object), categories)
    return {c: _capped(g.dist, cap) for c, g in distances_by_group(network, src, points_snapped, cap).items()}


def _capped(d: np.ndarray, cap: float) -> np.ndarray:
    """Distances bounded at ``cap`` (``cap`` where unreached)."""
    return np.minimum(np.where(np.isfinite(d), d, cap), cap)


def _categories_reached(lc: Any, model: Mapping, cap: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Under one model (plain or compounds): every life-circle origin's capped distance to each category,
    and how many categories it reaches within the widest level's distance.
    """
    origins = lc.origins
    fac = lc.facilities if model["facilities"] is None else model["facilities"]
    osnap = model["origin_snap"]
    if osnap is None:
        osnap = model["network"].snap(origins.geometry.values)
    cats = lc.rules.category_ids
    dd = category_distances_capped(model["network"], fac, osnap, cats, cap)
    n = np.zeros(len(origins), dtype=float)
    for c in cats:
        n += dd[c] <= lc.rules.levels[-1].distance_m
    return dd, n


def run_fairness(result: Any, settings: Mapping | None = None) -> FairnessResult:
    """Fairness of access in an audit (with and without the compound model when it ran).

    Parameters
    ----------
    result : AuditResult
        With park coverage by the network method; the ``lifecircle`` and
        ``compounds`` analyses are used when present in ``result.analyses``.
    settings : mapping, optional
        Default ``result.config.extra["fairness"]`` over :data:`DEFAULTS`.

    Returns
    -------
    FairnessResult
    """
    s = _settings(settings if settings is not None else result.config.extra.get("fairness"))
    cap = float(s["distance_cap_m"])
    share = float(s["worst_share"])
    st = result.study
    cov = result.parks
    lc = result.analyses.get("lifecircle")
    comp = result.analyses.get("compounds")
    notes = []
    cells = cov.cells
    pts = shapely.point_on_surface(cells.geometry.values)
    models: dict[str, dict] = {}
    plain_cells = getattr(comp, "plain_cell_snap", None) if comp is not None else None
    models["plain"] = {"network": st.network, "cell_snap": plain_cells if plain_cells is not None else st.network.snap(pts),
                       "facilities": None, "origin_snap": getattr(comp, "plain_origin_snap", None) if comp is not None else None}
    if comp is not None and getattr(comp, "cnet", None) is not None:
        models["compounds"] = {"network": comp.cnet.network, "cell_snap": comp.cell_snap.snapped,
                               "facilities": getattr(comp, "lc_facilities", None), "origin_snap": getattr(comp, "lc_origin_snap", None)}
    access = cov.access
    if "network" not in cov.methods or len(access) == 0 or "park_id" not in access.columns:
        counted = cov.parks[cov.parks["tier"].notna()]
        access = access_points(counted, st.network, st.entrances, **dict(result.config.parks.get("access_points", {})))
    speed = float(s["speed_kmh"] or (lc.rules.speed.speed_kmh if lc is not None else 4.5))
    m_per_min = speed * 1000.0 / 60.0
    origins = gpd.GeoDataFrame(cells[["cell_id", "unit_id", "unit_name", "residents"]].copy(), geometry=cells.geometry.values,
                               crs=cells.crs)
    origins.insert(0, "origin", "cell")
    ineq, curves, mt = [], [], []
    by = ["unit_id", "unit_name"]
    lc_orig = None
    lc_points = None
    if lc is not None:
        lc_orig = lc.origins
        top = lc.rules.levels[-1]
        cats = lc.rules.category_ids
    undefined, why = _undefined_measures(cov, access, cells)
    notes += why
    no_park = undefined.get("park_distance_m") == "no_park"
    for name, m in models.items():
        opts = {"cap": cap, "share": share, "by": by, "points": int(s["lorenz_points"]), "m_per_min": m_per_min}
        t, curve, mt_park, d, mask = _park_figures(m, name, cov, access, cells, opts, no_park)
        origins[f"park_distance_m:{name}"] = d
        origins[f"worst_park:{name}"] = mask
        ineq.append(t)
        if curve is not None:
            curves.append(curve)
        mt.append(mt_park)
        if lc_orig is not None:
            dd, n15 = _categories_reached(lc, m, cap)
            w = lc_orig["residents"].to_numpy(float)
            odf = pd.DataFrame({"v": n15, "residents": w, "unit_id": lc_orig["unit_id"].to_numpy(),
                                "unit_name": lc_orig["unit_name"].to_numpy()})
            t = inequality_table(odf, "v", by=by, higher_is_worse=False, share=share)
            t.insert(0, "model", name)
            t.insert(1, "measure", f"categories_{top.id}")
            ineq.append(t)
            curves.append(_curves(odf, "v", name, f"categories_{top.id}", by, int(s["lorenz_points"])))
            for c in cats:
                mt.append(_mean_time(odf.assign(v=dd[c], category=c), "v", name, by, m_per_min, cap))
            if lc_points is None:
                lc_points = gpd.GeoDataFrame({"origin": "home", "cell_id": -1, "unit_id": lc_orig["unit_id"].to_numpy(),
                                              "unit_name": lc_orig["unit_name"].to_numpy(), "residents": w},
                                             geometry=lc_orig.geometry.values, crs=lc_orig.crs)
            lc_points[f"categories_{top.id}:{name}"] = n15
            mask, _ = worst_decile(n15, w, higher_is_worse=False, share=share)
            lc_points[f"worst_categories:{name}"] = mask
    if lc_points is not None:
        origins = gpd.GeoDataFrame(pd.concat([origins, lc_points], ignore_index=True), geometry="geometry", crs=cells.crs)
        for c in origins.columns:
            if c.startswith("worst_"):
                origins[c] = origins[c].fillna(False).astype(bool)
    inequality = pd.concat(ineq, ignore_index=True)
    mean_time = pd.concat(mt, ignore_index=True)
    lor = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=["model", "measure", "unit", "unit_name", "pop_share", "value_share"])
    ranking = _ranking(result, inequality, list(models), lc, comp)
    units = None
    if len(ranking):
        last = ranking[ranking["model"] == list(models)[-1]]
        units = st.units[["unit_id", "geometry"]].merge(last.drop(columns=["model"]), on="unit_id", how="inner")
        units = gpd.GeoDataFrame(units, geometry="geometry", crs=st.crs)
    if comp is None:
        notes.append("compound model not run: figures use ordinary snapping only")
    notes.append(f"walks longer than {cap:g} m count as {cap:g} m (censored); speed {speed:g} km/h")
    return FairnessResult(s, list(models), inequality, lor, mean_time, ranking, origins, units, notes, undefined)


def _undefined_measures(cov: Any, access: gpd.GeoDataFrame, cells: gpd.GeoDataFrame) -> tuple[dict, list[str]]:
    """Measures whose figures are undefined (no park counted, no residents known), with the notes saying why."""
    counted = cov.parks[cov.parks["tier"].notna()] if "tier" in cov.parks.columns else cov.parks.iloc[:0]
    if len(counted) == 0 or len(access) == 0 or not access["park_id"].isin(counted["park_id"]).any():
        # every walk would be "at the cap": a Gini of 0 (perfect equality) would be a false figure
        return {"park_distance_m": "no_park"}, ["no park counted by the park rule: the walk to the nearest park, its "
                                                "Gini and worst decile are undefined"]
    if not float(np.nan_to_num(cells["residents"].to_numpy(float)).sum()) > 0:
        return {"park_distance_m": "no_residents"}, ["no residents known: resident-weighted fairness figures are undefined"]
    return {}, []


def _park_figures(m: dict, name: str, cov: Any, access: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, opts: dict,
                  no_park: bool) -> tuple:
    """The walk to the nearest counted park in one model.

    ``opts``: ``cap``, ``share``, ``by``, ``points`` (of the Lorenz curves), ``m_per_min``.  Returns the
    inequality rows, the Lorenz curves (None without a park), the mean walking time, the per-cell
    distances (NaN without a park) and the worst-decile flags.
    """
    cap, share, by = opts["cap"], opts["share"], opts["by"]
    d = park_distances(m["network"], cov.parks, access, m["cell_snap"], cap)
    df = pd.DataFrame({"v": d, "residents": cells["residents"].to_numpy(float), "unit_id": cells["unit_id"].to_numpy(),
                       "unit_name": cells["unit_name"].to_numpy()})
    t = inequality_table(df, "v", by=by, higher_is_worse=True, share=share, cap=cap)
    mt_park = _mean_time(df.assign(category="counted_park"), "v", name, by, opts["m_per_min"], cap)
    if no_park:
        t[["mean", "median", "p90", "gini", "worst_residents", "worst_pct", "worst_share_of_all_pct",
           "worst_threshold"]] = np.nan
        mt_park[["mean_m", "mean_min"]] = np.nan
    t.insert(0, "model", name)
    t.insert(1, "measure", "park_distance_m")
    mask, _ = worst_decile(d, df["residents"].to_numpy(), higher_is_worse=True, share=share)
    curve = None if no_park else _curves(df, "v", name, "park_distance_m", by, opts["points"])
    return t, curve, mt_park, (np.full(len(d), np.nan) if no_park else d), mask & (not no_park)


def _curves(df: pd.DataFrame, col: str, model: str, measure: str, by: list[str], points: int) -> pd.DataFrame:
    # the unit key is ``unit`` (not ``unit_id``): 101 points per curve are for charts and files, not unit pages
    parts = []
    c = lorenz(df[col], df["residents"], points)
    parts.append(c.assign(model=model, measure=measure, unit="all", unit_name="all"))
    for (uid, uname), g in df.groupby(by, sort=True):
        c = lorenz(g[col], g["residents"], points)
        parts.append(c.assign(model=model, measure=measure, unit=uid, unit_name=uname))
    out = pd.concat(parts, ignore_index=True)
    return out[["model", "measure", "unit", "unit_name", "pop_share", "value_share"]]


def _mean_time(df: pd.DataFrame, col: str, model: str, by: list[str], m_per_min: float, cap: float) -> pd.DataFrame:
    rows = []
    cat = df["category"].iloc[0] if len(df) else ""
    for key, g in [(("all", "all"), df), *[(k, g) for k, g in df.groupby(by, sort=True)]]:
        v, w = g[col].to_numpy(float), g["residents"].to_numpy(float)
        mean = weighted_mean(v, w)
        rows.append({"model": model, "category": cat, "unit_id": key[0], "unit_name": key[1], "residents": float(w.sum()),
                     "mean_m": mean, "mean_min": mean / m_per_min,
                     "beyond_cap_pct": 100.0 * float(w[v >= cap - 1e-9].sum()) / w.sum() if w.sum() > 0 else float("nan")})
    return pd.DataFrame(rows)


def _ranking(result: Any, inequality: pd.DataFrame, models: list[str], lc: Any, comp: Any) -> pd.DataFrame:
    """Per model: unit scores (park residents covered %, life-circle score %) and the rank."""
    out = []
    cov = result.parks
    for model in models:
        if model == "plain":
            bu = cov.by_unit
            bu = bu[(bu["method"] == "network") & (bu["scope"] == "all") & (bu["tier"] == "all")] if "network" in cov.methods else \
                bu[(bu["method"] == "euclidean") & (bu["scope"] == "all") & (bu["tier"] == "all")]
            u = bu[["unit_id", "unit_name", "residents", "residents_pct"]].rename(columns={"residents_pct": "park_residents_pct"})
        else:
            bu = comp.coverage.by_unit
            bu = bu[(bu["scope"] == "all") & (bu["tier"] == "all")]
            u = bu[["unit_id", "unit_name", "residents", "residents_pct"]].rename(columns={"residents_pct": "park_residents_pct"})
        scores = ["park_residents_pct"]
        if lc is not None:
            top = lc.rules.levels[-1].id
            if model == "plain":
                lu = lc.by_unit[["unit_id", f"score_{top}_pct", f"complete_{top}_pct"]]
            else:
                lu = comp.lc_by_unit[["unit_id", f"score_{top}_pct", f"complete_{top}_pct"]] if getattr(comp, "lc_by_unit", None) is not None \
                    else lc.by_unit[["unit_id", f"score_{top}_pct", f"complete_{top}_pct"]]
            u = u.merge(lu.rename(columns={f"score_{top}_pct": "lifecircle_score_pct",
                                           f"complete_{top}_pct": "lifecircle_complete_pct"}), on="unit_id", how="left")
            scores.append("lifecircle_score_pct")
        iq = inequality[(inequality["model"] == model) & (inequality["measure"] == "park_distance_m")
                        & (inequality["unit_id"].astype(str) != "all")]
        iq = iq.assign(unit_id=iq["unit_id"].astype(u["unit_id"].dtype))
        u = u.merge(iq[["unit_id", "mean", "gini", "worst_pct"]].rename(
            columns={"mean": "park_mean_m", "gini": "park_gini", "worst_pct": "park_worst_pct"}), on="unit_id", how="left")
        u = u[u["residents"] > 0] if (u["residents"] > 0).any() else u
        r = rank_units(u, scores, tie_col="park_mean_m")
        r.insert(0, "model", model)
        out.append(r)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def fairness_for_audit(result: Any) -> FairnessResult:
    """The fairness analysis of an audit (settings from its configuration)."""
    return run_fairness(result)
