"""The life-circle analysis of an audit: settings, run, and the result object the writers read."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._util import ShowsInJupyter
from .._util import finite
from ..errors import GeoplanWarning, UsageError
from ..network import Snapped
from ..study import check_layer_datum
from .access import (
    category_distances,
    completeness,
    life_circle,
    scenario_change,
    summarise_units,
    weighted_quantile,
)
from .facilities import (
    combine_facilities,
    osm_facilities,
    read_register_values,
    snap_facilities,
    snapped_of,
)
from .isochrones import isochrones
from .origins import assign_units, origins_from_audit
from .rules import LifeCircleRules, load_lifecircle_rules
from .supply import e2sfca
from ..errors import DataError
from ..sources.layers import read_layer

__all__ = ["LifeCircleResult", "run_lifecircle", "run_lifecircle_for_audit"]


@dataclass
class LifeCircleResult(ShowsInJupyter):
    """What the life-circle analysis measured.

    Attributes
    ----------
    rules : LifeCircleRules
    settings : dict
        The ``lifecircle`` settings used.
    origin_kind : str
        ``buildings``, ``cells`` or ``grid``.
    origins : GeoDataFrame
        One row per origin (see :func:`~geoplan.lifecircle.access.life_circle`);
        plus ``e2sfca`` with a supply layer and the scenario columns with planned facilities.
    facilities : GeoDataFrame
        Entry points of every facility (``fac_id``, ``category``, ``name``,
        ``source``, ``ref``, ``unit_id`` ...), snapped.
    units : GeoDataFrame
        Unit polygons with the columns of ``by_unit``.
    by_unit, by_unit_category, overall, overall_category : DataFrame
        See :func:`~geoplan.lifecircle.access.summarise_units`.
    catchments, catchments_by_unit : DataFrame
        Local catchments for the whole area and per unit (share of residents
        within the catchment against its target; facilities against one per
        km² of residential land).
    isochrones : GeoDataFrame
        Walking areas per chosen point and band.
    scenario, scenario_by_unit : DataFrame or None
        Before/after per level with planned facilities (whole area, per unit).
    planned : GeoDataFrame or None
    supply : GeoDataFrame or None
        Facilities with a capacity and their E2SFCA ratio (``ratio_per``).
    e2sfca, e2sfca_by_unit : DataFrame or None
        Resident-weighted E2SFCA accessibility (whole area, per unit).
    notes : list of str
    meta : dict
        Figures for the summary (scenario after-values, E2SFCA settings).
    register_values : DataFrame or None
        How every value of the facility (and planned) registers was read: one row per
        distinct value with its count, status (mapped, not a facility, unmapped,
        ignored) and categories (:func:`~geoplan.lifecircle.facilities.read_register_values`).
    """

    rules: LifeCircleRules
    settings: dict
    origin_kind: str
    origins: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    by_unit: pd.DataFrame
    by_unit_category: pd.DataFrame
    overall: pd.DataFrame
    overall_category: pd.DataFrame
    catchments: pd.DataFrame
    catchments_by_unit: pd.DataFrame
    isochrones: gpd.GeoDataFrame
    scenario: pd.DataFrame | None = None
    scenario_by_unit: pd.DataFrame | None = None
    planned: gpd.GeoDataFrame | None = None
    supply: gpd.GeoDataFrame | None = None
    e2sfca: pd.DataFrame | None = None
    e2sfca_by_unit: pd.DataFrame | None = None
    notes: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    register_values: pd.DataFrame | None = None

    # -- headline figures ------------------------------------------------------
    def complete_pct(self, level: str | None = None) -> float:
        """Share of residents (%) with a complete circle at ``level`` (default: the largest)."""
        lid = level or self.rules.levels[-1].id
        return float(self.overall[f"complete_{lid}_pct"].iloc[0])

    def absent_categories(self) -> list[str]:
        """Required categories with no facility at all in the data (often a mapping gap, not a planning gap)."""
        have = set(self.facilities["category"]) if len(self.facilities) else set()
        return [c for c in self.rules.required_ids if c not in have]

    def complete_pct_mapped(self, level: str | None = None) -> float:
        """Share of residents (%) whose circle is complete in the categories that exist in the data at all."""
        lv = self.rules.level(level or self.rules.levels[-1].id)
        absent = set(self.absent_categories())
        cats = [c for c in self.rules.required_at(lv.id) if c not in absent]
        o = self.origins
        ok = np.all([o[f"dist:{c}"].to_numpy() <= lv.distance_m for c in cats], axis=0) if cats else np.ones(len(o), bool)
        w = o["residents"].to_numpy(float)
        if w.sum() <= 0:
            w = np.ones(len(o))
        return float(100.0 * (w * ok).sum() / w.sum()) if len(o) else float("nan")

    def most_missing(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` required categories the most residents lack within the largest circle: (id, % lacking)."""
        top = self.rules.levels[-1].id
        oc = self.overall_category[self.overall_category["required"]]
        s = (100.0 - oc.set_index("category")[f"reached_{top}_pct"]).sort_values(ascending=False, kind="stable")
        return [(k, float(v)) for k, v in s.head(n).items() if v > 0]

    # -- the interface the writers use --------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables for CSV and spreadsheet output (inf written as empty: beyond the search bound)."""
        t = {
            "lifecircle_overall": self.overall,
            "lifecircle_by_unit": self.by_unit,
            "lifecircle_overall_category": self.overall_category,
            "lifecircle_by_unit_category": self.by_unit_category,
            "lifecircle_categories": self.category_table(),
            "lifecircle_catchments": self.catchments,
            "lifecircle_catchments_by_unit": self.catchments_by_unit,
            "lifecircle_isochrones": pd.DataFrame(self.isochrones.drop(columns="geometry")),
        }
        if self.scenario is not None:
            t["lifecircle_scenario"] = self.scenario
            t["lifecircle_scenario_by_unit"] = self.scenario_by_unit
        if self.e2sfca is not None:
            t["lifecircle_e2sfca"] = self.e2sfca
            t["lifecircle_e2sfca_by_unit"] = self.e2sfca_by_unit
        if self.register_values is not None:
            t["lifecircle_register_values"] = self.register_values
        return {k: finite(v) for k, v in t.items()}

    def category_table(self, lang: str = "en") -> pd.DataFrame:
        """One row per category: label, level, threshold, whether required, facilities found by source."""
        rows = []
        f = self.facilities.drop_duplicates("fac_id") if len(self.facilities) else self.facilities
        for c in self.rules.categories:
            fc = f[f["category"] == c.id] if len(f) else f
            lv = self.rules.level(c.level)
            rows.append({
                "category": c.id, "label_en": c.text("en"), "label_zh": c.text("zh"), "level": c.level,
                "minutes": lv.minutes, "threshold_m": lv.distance_m, "required": c.required,
                "facilities": len(fc),
                "sources": ", ".join(f"{k} {v}" for k, v in fc["source"].value_counts().items()) if len(fc) else "",
            })
        return pd.DataFrame(rows)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Layers for the GeoPackage (projected CRS)."""
        out = {
            "lifecircle_origins": finite(self.origins),
            "lifecircle_facilities": finite(self.facilities),
            "lifecircle_units": finite(self.units),
            "lifecircle_isochrones": self.isochrones,
            "lifecircle_gaps": self.gaps(),
        }
        if self.planned is not None:
            out["lifecircle_planned"] = finite(self.planned)
        if self.supply is not None:
            out["lifecircle_supply"] = finite(self.supply)
        return out

    def gaps(self, level: str = "own") -> gpd.GeoDataFrame:
        """One row per origin and required category it does not reach.

        ``level="own"`` (default) uses each category's own level distance;
        a level id uses that level's distance.
        """
        o = self.origins
        parts = []
        for cid in self.rules.required_ids:
            thr = self.rules.threshold(cid) if level == "own" else self.rules.level(level).distance_m
            if level != "own" and cid not in self.rules.required_at(level):
                continue
            d = o[f"dist:{cid}"].to_numpy()
            m = d > thr
            if m.any():
                parts.append(gpd.GeoDataFrame({
                    "origin_id": o["origin_id"].to_numpy()[m], "unit_id": o["unit_id"].to_numpy()[m],
                    "unit_name": o["unit_name"].to_numpy()[m], "residents": o["residents"].to_numpy()[m],
                    "category": cid, "threshold_m": thr, "dist_m": np.where(np.isinf(d[m]), np.nan, d[m]),
                }, geometry=o.geometry.values[m], crs=o.crs))
        if not parts:
            return gpd.GeoDataFrame({"origin_id": [], "unit_id": [], "unit_name": [], "residents": [], "category": [],
                                     "threshold_m": [], "dist_m": []}, geometry=gpd.GeoSeries([], crs=o.crs), crs=o.crs)
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=o.crs)

    def summary(self) -> dict:
        """Headline figures as plain data (merged into ``summary.json`` under ``lifecircle``)."""
        r = self.rules
        ov = self.overall.iloc[0]
        oc = self.overall_category.set_index("category")
        top = r.levels[-1].id

        def num(x: Any) -> Any:
            x = float(x)
            return None if math.isnan(x) or math.isinf(x) else round(x, 2)

        snap = self.origins["snap_m"].to_numpy()
        s = {
            "rules": r.name,
            "title": r.text("en"),
            "threshold_basis": r.threshold_basis,
            "speed_kmh": r.speed.speed_kmh,
            "speed_m_per_min": round(r.m_per_min, 2),
            "levels": [{"id": lv.id, "minutes": lv.minutes, "distance_m": lv.distance_m,
                        "required": r.required_at(lv.id)} for lv in r.levels],
            "origins": self.origin_kind,
            "n_origins": len(self.origins),
            "residents": num(self.origins["residents"].sum()),
            "weight": str(ov["weight"]),
            "complete_pct": {lv.id: num(ov[f"complete_{lv.id}_pct"]) for lv in r.levels},
            "complete_own_level_pct": num(ov["complete_own_pct"]),
            "absent_categories": self.absent_categories(),
            "complete_pct_mapped_categories": {lv.id: num(self.complete_pct_mapped(lv.id)) for lv in r.levels},
            "score_pct": {lv.id: num(ov[f"score_{lv.id}_pct"]) for lv in r.levels},
            "most_missing": [{"category": c, "label": r.category(c).text("en"), "label_zh": r.category(c).text("zh"),
                              "residents_lacking_pct": num(p)} for c, p in self.most_missing(5)],
            "reached_own_level_pct": {c: num(oc.loc[c, "reached_pct"]) for c in r.category_ids},
            f"reached_{top}_pct": {c: num(oc.loc[c, f"reached_{top}_pct"]) for c in r.category_ids},
            "facilities": {c: int(v) for c, v in self.category_table().set_index("category")["facilities"].items()},
            "catchments": {k.id: num(ov[f"catch_{k.id}_pct"]) for k in r.catchments},
            "snap_m": {"median": num(np.median(snap)) if len(snap) else None,
                       "p95": num(np.percentile(snap, 95)) if len(snap) else None,
                       "max": num(snap.max()) if len(snap) else None},
            "isochrone_points": int(self.isochrones["point_id"].nunique()) if len(self.isochrones) else 0,
            "notes": list(self.notes),
        }
        if self.register_values is not None and len(self.register_values):
            rv = self.register_values
            by = rv.groupby("status")["rows"].sum()
            s["registers"] = {
                "layers": sorted(rv["layer"].unique().tolist()),
                "vocabulary": sorted(rv["vocabulary"].unique().tolist()),
                "rows": {str(k): int(v) for k, v in by.items()},
                "unmapped": {str(v): int(n) for v, n in zip(rv.loc[rv["status"] == "unmapped", "value"],
                                                            rv.loc[rv["status"] == "unmapped", "rows"])},
            }
        if self.scenario is not None:
            sc = self.scenario
            s["scenario"] = {
                "planned_facilities": len(self.planned.drop_duplicates("fac_id")) if self.planned is not None else 0,
                **{lv.id: {"gain_origins": int(sc.loc[sc["level"] == lv.id, "gain_origins"].sum()),
                           "gain_residents": num(sc.loc[sc["level"] == lv.id, "gain_residents"].sum())}
                   for lv in r.levels},
                "complete_after_pct": {lv.id: num(self.meta.get("after_pct", {}).get(lv.id, np.nan)) for lv in r.levels},
            }
        if self.e2sfca is not None:
            e = self.e2sfca.iloc[0]
            s["e2sfca"] = {"per": self.meta.get("e2sfca_per"), "threshold_m": self.meta.get("e2sfca_d0"),
                           "decay": self.meta.get("e2sfca_decay"), "mean": num(e["e2sfca_mean"]),
                           "median": num(e["e2sfca_median"]), "no_supply_pct": num(e["no_supply_pct"]),
                           "facilities": len(self.supply) if self.supply is not None else 0}
        return s

    def indicator(self, target: dict) -> float | None:
        """The measured value of an audit target about life circles, or None if the target is not one.

        ``{"indicator": "lifecircle_complete", "level": "15min"}`` (level ``own`` for
        every category within its own level), ``{"indicator": "lifecircle_catchment",
        "catchment": "elderly-10min"}`` or ``{"indicator": "lifecircle_category",
        "category": "elderly_care"}`` (share within its own level); percent of residents.
        """
        ind = target.get("indicator")
        ov = self.overall.iloc[0]
        if ind == "lifecircle_complete":
            lid = str(target.get("level", self.rules.levels[-1].id))
            col = "complete_own_pct" if lid == "own" else f"complete_{lid}_pct"
            return float(ov[col]) if col in ov else None
        if ind == "lifecircle_catchment":
            col = f"catch_{target.get('catchment')}_pct"
            return float(ov[col]) if col in ov else None
        if ind == "lifecircle_category":
            oc = self.overall_category.set_index("category")
            c = target.get("category")
            return float(oc.loc[c, "reached_pct"]) if c in oc.index else None
        return None


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------
def _park_facilities(result: Any) -> gpd.GeoDataFrame | None:
    """Access points of the parks the park audit counts, as facilities of category ``park``."""
    cov = result.parks
    acc = getattr(cov, "access", None)
    if acc is None or len(acc) == 0:
        return None
    parks = cov.parks
    counted = parks[parks["tier"].notna()] if "tier" in parks else parks
    a = acc.merge(counted[["park_id", *(["name"] if "name" in counted else [])]], on="park_id")
    if len(a) == 0:
        return None
    return gpd.GeoDataFrame(
        {"fac_id": a["park_id"].astype(object).to_numpy(), "category": "park",
         "name": a["name"].to_numpy() if "name" in a else None, "source": "park-audit",
         "ref": [f"park {p} {k}" for p, k in zip(a["park_id"], a["kind"] if "kind" in a else [""] * len(a))]},
        geometry=a.geometry.values, crs=acc.crs)


def _iso_points(spec: Any, study: Any, fac: gpd.GeoDataFrame, rules: LifeCircleRules, settings: dict) -> gpd.GeoDataFrame:
    crs = study.crs
    max_points = int(rules.isochrones.get("max_points", 200))
    if spec == "units":
        u = study.units
        pts = gpd.GeoDataFrame({"label": u["unit_name"].astype(str).to_numpy()},
                               geometry=shapely.point_on_surface(u.geometry.values), crs=crs)
    elif isinstance(spec, str) and spec in rules.category_ids:
        f = fac[fac["category"] == spec].drop_duplicates("fac_id")
        pts = gpd.GeoDataFrame({"label": f["name"].fillna(spec).astype(str).to_numpy()}, geometry=f.geometry.values, crs=crs)
    else:

        g = read_layer(spec, datum=settings.get("isochrone_points_datum"), what="isochrone points")
        g = g.to_crs(crs)
        lab = next((c for c in ("name", "名称", "label") if c in g.columns), None)
        pts = gpd.GeoDataFrame({"label": g[lab].astype(str).to_numpy() if lab else [str(i + 1) for i in range(len(g))]},
                               geometry=shapely.point_on_surface(g.geometry.values), crs=crs)
    if len(pts) > max_points:
        warnings.warn(f"life-circle isochrones: {len(pts)} points, only the first {max_points} are drawn "
                      "(raise isochrones.max_points).", GeoplanWarning, stacklevel=3)
        pts = pts.iloc[:max_points]
    return pts


def _catchment_table(units: pd.DataFrame, rules: LifeCircleRules, fac: pd.DataFrame, land_km2: pd.Series | None,
                     whole: bool) -> pd.DataFrame:
    """Local catchments per unit (``whole=False``) or for the whole area: share of residents within
    the catchment against its target, and facilities against one per N km² of residential land.
    """
    rows = []
    for k in rules.catchments:
        f = fac[fac["category"] == k.category].drop_duplicates("fac_id") if len(fac) else fac
        for _, u in units.iterrows():
            row = {} if whole else {"unit_id": u["unit_id"], "unit_name": u["unit_name"]}
            row.update({"catchment": k.id, "label": k.text("en"), "category": k.category,
                        "distance_m": round(k.distance_m, 1), "profile": k.profile or "", "residents": u["residents"],
                        "within_pct": u[f"catch_{k.id}_pct"], "target_pct": k.target_pct})
            row["gap_pp"] = (k.target_pct - row["within_pct"]) if k.target_pct is not None else np.nan
            if k.per_km2_residential and land_km2 is not None:
                km2 = float(land_km2.sum()) if whole else float(land_km2.get(u["unit_id"], 0.0))
                have = len(f) if whole else int((f["unit_id"] == u["unit_id"]).sum()) if len(f) else 0
                need = math.ceil(km2 / k.per_km2_residential - 1e-9) if km2 > 0 else 0
                row.update(residential_km2=round(km2, 4), facilities=have, facilities_required=need,
                           facilities_short=max(need - have, 0))
            rows.append(row)
    return pd.DataFrame(rows)


def run_lifecircle(result: Any, settings: dict | None = None) -> LifeCircleResult:
    """Run the life-circle analysis on an audit's study area, population and parks.

    Parameters
    ----------
    result : AuditResult
    settings : dict, optional
        The ``lifecircle`` section (default: ``result.config.extra["lifecircle"]``):
        ``preset``, ``facilities`` (register file), ``facilities_mode``
        (``add``: register and OSM; ``replace``: the register replaces OSM in the
        categories it contains; ``only``: the register alone), ``facilities_datum``,
        ``category_field``, ``category_map``, ``unknown_categories``,
        ``origins`` (``auto``/``buildings``/``cells``/``grid``), ``grid_size_m``,
        ``speed_kmh``, ``park_source`` (``audit``/``osm``), ``search_limit_m``,
        ``isochrone_points`` (``units``, a category id, a point file or ``none``),
        ``planned`` (file of planned facilities), ``supply`` + ``capacity_field``
        (E2SFCA), plus any key of the preset to override.

    Returns
    -------
    LifeCircleResult
    """
    settings = dict(settings if settings is not None else (result.config.extra.get("lifecircle") or {}))
    rules = load_lifecircle_rules(settings.get("preset", "gb50180"), settings)
    study = result.study
    net = study.network
    crs = study.crs
    notes: list[str] = []
    meta: dict = {}

    # origins
    origins, kind = origins_from_audit(result, str(settings.get("origins", "auto")), float(settings.get("grid_size_m", 50)))
    osnap = net.snap(origins.geometry.values)

    # facilities
    mode = str(settings.get("facilities_mode", "add"))
    if mode not in ("add", "replace", "only"):
        raise UsageError(f"unknown facilities_mode {mode!r}.", hint="Use add, replace or only.")
    register = None
    reg_values = []
    vocabulary = settings.get("vocabulary", "auto")
    if settings.get("facilities"):
        register, vals, note = read_register_values(
            settings["facilities"], rules, crs, category_field=settings.get("category_field"),
            name_field=settings.get("name_field"),
            datum=settings.get("facilities_datum") or result.config.inputs.datums.get("facilities"),
            layer=settings.get("facilities_layer"), category_map=settings.get("category_map"),
            unknown_categories=str(settings.get("unknown_categories", "error")), vocabulary=vocabulary)
        reg_values.append(vals)
        notes.append(note)
        check_layer_datum(register, net, "facilities",
                          settings.get("facilities_datum") or result.config.inputs.datums.get("facilities"),
                          f"facility register {settings['facilities']}")
    park_source = str(settings.get("park_source", "audit"))
    parks = _park_facilities(result) if park_source == "audit" else None
    osm_cats = rules.category_ids
    if parks is not None:
        osm_cats = [c for c in osm_cats if c != "park"]
        notes.append("park category: access points of the parks counted by the park-coverage rule")
    if register is not None and mode == "only":
        osm, parks = None, None
    else:
        if register is not None and mode == "replace":
            osm_cats = [c for c in osm_cats if c not in set(register["category"])]
            if parks is not None and "park" in set(register["category"]):
                parks = None
        osm = osm_facilities(study.osm, rules, crs, osm_cats) if osm_cats else None
    fac = combine_facilities(osm, parks, register, crs=crs)
    fac = snap_facilities(fac, net)
    fac = assign_units(fac, study.units)

    table = life_circle(net, origins, fac, rules, search_limit_m=settings.get("search_limit_m"), origin_snap=osnap)
    reach_m = max(rules.search_limit(c, float(settings.get("search_limit_m") or 0)) for c in rules.category_ids)
    if getattr(study, "margin_m", 0) and study.margin_m < reach_m:
        notes.append(f"streets and facilities were loaded within {study.margin_m:g} m of the study area but walks are "
                     f"measured up to {reach_m:g} m: homes near the boundary may miss facilities beyond it")
    by_unit, by_cat = summarise_units(table, rules, facilities=fac)
    overall, overall_cat = summarise_units(table, rules, by=[], facilities=fac)

    # local catchments
    cells = result.parks.cells
    land_km2 = cells.groupby("unit_id")["area_m2"].sum() / 1e6 if "area_m2" in cells else None
    catch_by_unit = _catchment_table(by_unit, rules, fac, land_km2, whole=False)
    catch = _catchment_table(overall, rules, fac, land_km2, whole=True)

    # isochrones: the level distances (normative) labelled with their minutes
    spec = settings.get("isochrone_points", rules.isochrones.get("points", "units"))
    iso_pts = _iso_points(spec, study, fac, rules, settings) if spec not in (None, False, "none") else study.units.iloc[:0]
    iso = isochrones(net, iso_pts, [lv.minutes for lv in rules.levels], distances_m=[lv.distance_m for lv in rules.levels],
                     buffer_m=float(rules.isochrones.get("buffer_m", 25)), origins=table, origin_snap=osnap)

    # scenario
    scen, scen_all, planned = None, None, None
    if settings.get("planned"):
        planned, vals, note = read_register_values(
            settings["planned"], rules, crs, category_field=settings.get("category_field"),
            name_field=settings.get("name_field"),
            datum=(settings.get("planned_datum") or result.config.inputs.datums.get("planned")),
            category_map=settings.get("category_map"), unknown_categories=str(settings.get("unknown_categories", "error")),
            source="planned", vocabulary=vocabulary)
        reg_values.append(vals)
        notes.append(note)
        check_layer_datum(planned, net, "planned", settings.get("planned_datum") or result.config.inputs.datums.get("planned"),
                          f"planned facilities {settings['planned']}")
        planned = snap_facilities(planned, net)
        planned["fac_id"] = np.arange(1, len(planned) + 1) + (int(fac["fac_id"].max()) if len(fac) else 0)
        planned = assign_units(planned, study.units)
        allf = pd.concat([fac, planned], ignore_index=True)
        cats = sorted(set(planned["category"]))
        limits = {c: rules.search_limit(c, float(settings.get("search_limit_m") or 0)) for c in cats}
        after = table.copy()
        for c, (d, lab) in category_distances(net, osnap, allf, limits).items():
            after[f"dist:{c}"] = d
            after[f"min:{c}"] = d / rules.m_per_min
            after[f"fac:{c}"] = lab
        comp = completeness(after, rules)
        after[comp.columns] = comp
        per, scen = scenario_change(table, after, rules)
        _, scen_all = scenario_change(table, after, rules, by=[])
        for c in per.columns[1:]:
            table[c] = per[c].to_numpy()
        for lv in rules.levels:
            table[f"complete_after:{lv.id}"] = after[f"complete:{lv.id}"].to_numpy()
        meta["after_pct"] = {lv.id: float(scen_all.loc[scen_all["level"] == lv.id, "complete_after_pct"].iloc[0])
                                  for lv in rules.levels}

    # supply and demand
    supply, e_by_unit, e_all = None, None, None
    if settings.get("supply"):
        s_e = {**settings, "supply_datum": settings.get("supply_datum") or result.config.inputs.datums.get("supply")}
        supply, e_by_unit, e_all = _run_e2sfca(s_e, rules, net, table, osnap, crs, study.units, meta)
    units = study.units.merge(by_unit.drop(columns=["unit_name"]), on="unit_id", how="left")
    return LifeCircleResult(rules, settings, kind, table, fac, units, by_unit, by_cat, overall, overall_cat, catch,
                            catch_by_unit, iso, scen_all, scen, planned, supply,
                            e_all, e_by_unit, notes, meta,
                            register_values=pd.concat(reg_values, ignore_index=True) if reg_values else None)


def _run_e2sfca(settings: dict, rules: LifeCircleRules, net: Any, table: gpd.GeoDataFrame, osnap: Snapped, crs: Any,
                units: gpd.GeoDataFrame, meta: dict) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:

    path = settings["supply"]
    field_ = settings.get("capacity_field")
    g = read_layer(path, datum=settings.get("supply_datum"), what="supply facilities")
    if not field_ or field_ not in g.columns:
        raise DataError(f"supply facilities layer {path} has no capacity field {field_!r}.",
                        hint=f"Set capacity_field to one of: {', '.join(c for c in g.columns if c != 'geometry')}.")
    cap = pd.to_numeric(g[field_], errors="coerce")
    if cap.isna().any() or (cap < 0).any():
        bad = int((cap.isna() | (cap < 0)).sum())
        raise DataError(f"supply facilities layer {path}: {bad} rows have no valid (non-negative) {field_}.")
    check_layer_datum(g, net, "supply", settings.get("supply_datum"), f"supply facilities {path}")
    sup = gpd.GeoDataFrame(g.drop(columns=g.geometry.name), geometry=g.geometry.values, crs=g.crs).to_crs(crs)
    sup["category"] = settings.get("supply_category", "supply")
    sup["fac_id"] = np.arange(1, len(sup) + 1)
    sup["capacity"] = cap.to_numpy(float)
    sup = snap_facilities(sup, net)
    cfg = rules.e2sfca
    d0 = float(settings.get("supply_threshold_m", cfg.get("threshold_m", 1000)))
    decay = str(settings.get("supply_decay", cfg.get("decay", "gaussian")))
    per = float(settings.get("supply_per", cfg.get("per", 1000)))
    acc, ratio = e2sfca(net, osnap, table["residents"].to_numpy(float), snapped_of(sup), sup["capacity"].to_numpy(),
                        threshold_m=d0, decay=decay, zones_m=cfg.get("zones_m"), zone_weights=cfg.get("zone_weights"))
    table["e2sfca"] = acc * per
    sup["ratio_per"] = ratio * per
    sup = assign_units(sup, units)
    meta.update(e2sfca_per=per, e2sfca_d0=d0, e2sfca_decay=decay)
    def row(g2: pd.DataFrame, cap: float) -> dict:
        w = g2["residents"].to_numpy(float)
        a = g2["e2sfca"].to_numpy(float)
        return {"residents": float(w.sum()),
                "e2sfca_mean": float((a * w).sum() / w.sum()) if w.sum() > 0 else np.nan,
                "e2sfca_median": weighted_quantile(a, w, 0.5),
                "no_supply_pct": 100.0 * float((w * (a <= 0)).sum()) / w.sum() if w.sum() > 0 else np.nan,
                "capacity": cap, "per": per, "threshold_m": d0, "decay": decay}

    rows = [{"unit_id": k[0], "unit_name": k[1], **row(g2, float(sup.loc[sup["unit_id"] == k[0], "capacity"].sum()))}
            for k, g2 in table.groupby(["unit_id", "unit_name"], sort=True)]
    return sup, pd.DataFrame(rows), pd.DataFrame([row(table, float(sup["capacity"].sum()))])


def run_lifecircle_for_audit(result: Any) -> LifeCircleResult:
    """The life-circle analysis of an audit (settings from its configuration): :data:`geoplan.lifecircle.ANALYSIS`."""
    return run_lifecircle(result)
