"""``geoplan compare OLD NEW``: what changed between two audits, for the annual review.

Reads two audit output folders (``summary.json``, ``tables/*.csv`` and
``geoplan.gpkg`` as :func:`geoplan.write_audit` writes them) and measures

* every target, before and after, met or not;
* every park-coverage figure (scope x method x tier) overall and per unit,
  before, after and the change in percentage points;
* every other numeric figure of ``summary.json`` (further analyses included)
  and every percentage column of their per-unit tables;
* where residential land was newly covered or is no longer covered, by
  method, as polygons (a geometric overlay of the covered land of both
  audits) with their area and residents per unit;
* which settings differ (rules, methods, inputs), since a change of rule is
  not a change on the ground.

:func:`geoplan.presenters.compare.write_comparison` writes it, atomically, as
CSV, an XLSX workbook, a GeoPackage, maps and an ``index.html`` page::

    from geoplan.compare import compare_audits
    from geoplan.presenters.compare import write_comparison
    comp = compare_audits("out/xicheng-2024", "out/xicheng-2025")
    write_comparison(comp, "out/xicheng-2024-2025", lang="zh")
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._util import ShowsInJupyter, clean_json
from .errors import DataError, GeoplanWarning, UsageError
from .settings import WarningLog
from .sources.audit_folder import AuditFolder, read_audit

__all__ = [
    "AuditFolder",
    "Comparison",
    "SAME_AREA_PCT",
    "area_overlap",
    "as_bool",
    "compare_audits",
    "parks_only_in",
    "read_audit",
]

#: Pieces of change smaller than this (m²) are numerical slivers, not change.
SLIVER_M2 = 0.01
#: Two audits cover the same area when their study areas overlap on at least this share (%) of each.
SAME_AREA_PCT = 90.0
#: Keys of summary.json that are not indicators.
_NOT_INDICATORS = ("geoplan_version", "crs", "definition", "inputs", "rules", "targets", "park_coverage",
                   "methods", "scopes", "straight_line_minus_network_pp")
_COVERAGE_KEYS = ["scope", "method", "tier"]
_COVERAGE_VALUES = ["land_m2", "covered_m2", "land_pct", "residents", "covered_residents", "residents_pct"]


# =====================================================================  comparing
@dataclass
class Comparison(ShowsInJupyter):
    """What changed between two audits.

    Attributes
    ----------
    old, new : AuditFolder
    targets : DataFrame
        Per target: ``label_en``, ``label_zh``, ``indicator``, ``scope``, ``method``, ``measure``,
        ``value``, ``measured_old``, ``measured_new``, ``measured_change_pp``, ``met_old``, ``met_new``.
    overall : DataFrame
        Park coverage per ``scope``, ``method``, ``tier``: ``<figure>_old``, ``<figure>_new`` and
        ``land_pct_change_pp``, ``residents_pct_change_pp``, ``covered_m2_change``, ``covered_residents_change``.
    by_unit : DataFrame
        The same per unit (``unit_id``, ``unit_name``; units matched by name when names are unique).
    indicators : DataFrame
        Every other numeric figure of ``summary.json``: ``key``, ``value_old``, ``value_new``, ``value_change``.
    unit_indicators : DataFrame
        Percentage columns of the further analyses' per-unit tables: ``table``, ``unit_id``, ``unit_name``,
        ``row``, ``column``, ``value_old``, ``value_new``, ``value_change``.
    change : GeoDataFrame
        Residential land newly covered / no longer covered: ``method``, ``change_kind``, ``unit_id``,
        ``unit_name``, ``area_m2``, ``residents`` (residents of the later audit), in the later audit's CRS.
    change_by_unit : DataFrame
        Per ``method`` and unit: ``newly_covered_m2``, ``newly_uncovered_m2``, ``net_change_m2``,
        ``newly_covered_residents``, ``newly_uncovered_residents``.
    context : dict of GeoDataFrame
        ``units``, ``still_covered``, ``still_uncovered`` (by method), ``parks_old``, ``parks_new`` for the maps.
    settings : DataFrame
        Settings that differ: ``setting``, ``value_old``, ``value_new``.
    timings : dict
    areas : dict
        The two study areas and their overlap (:func:`area_overlap`).
    warnings : list of WarningRecord
        The warnings raised while comparing (also raised to the caller).
    """

    old: AuditFolder
    new: AuditFolder
    targets: pd.DataFrame
    overall: pd.DataFrame
    by_unit: pd.DataFrame
    indicators: pd.DataFrame
    unit_indicators: pd.DataFrame
    change: gpd.GeoDataFrame
    change_by_unit: pd.DataFrame
    context: dict
    settings: pd.DataFrame
    timings: dict = field(default_factory=dict)
    areas: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        """Methods present in both audits."""
        return [m for m in ("euclidean", "network") if m in set(self.overall.dropna(subset=["land_pct_old", "land_pct_new"])["method"])]

    def coverage_change(self, method: str = "euclidean", scope: str = "all", measure: str = "land") -> float:
        """Change of one coverage figure in percentage points (nan when not in both audits)."""
        o = self.overall
        r = o[(o["method"] == method) & (o["scope"] == scope) & (o["tier"] == "all")]
        return float(r[f"{measure}_pct_change_pp"].iloc[0]) if len(r) else float("nan")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables by file name (CSV files and workbook sheets)."""
        return {
            "targets_change": self.targets,
            "park_coverage_change": self.overall,
            "park_coverage_change_by_unit": self.by_unit,
            "coverage_change_by_unit": self.change_by_unit,
            "indicators_change": self.indicators,
            "unit_indicators_change": self.unit_indicators,
            "settings_changed": self.settings,
        }

    def summary(self) -> dict:
        """Headline figures of the comparison as plain data (``comparison.json``)."""
        out: dict[str, Any] = {
            "old": str(self.old.path), "new": str(self.new.path),
            "methods": self.methods,
            "park_coverage_change_pp": {
                m: {"land": _num(self.coverage_change(m, "all", "land")),
                    "residents": _num(self.coverage_change(m, "all", "residents"))} for m in self.methods},
            "targets": clean_json(self.targets.to_dict("records")),
            "change_m2": {},
            "settings_changed": self.settings["setting"].tolist(),
            "areas": {k: (_num(v) if isinstance(v, (float, np.floating)) else v) for k, v in self.areas.items()},
        }
        for m in sorted(set(self.change_by_unit["method"])) if len(self.change_by_unit) else []:
            d = self.change_by_unit[self.change_by_unit["method"] == m]
            out["change_m2"][m] = {k: _num(d[k].sum()) for k in ("newly_covered_m2", "newly_uncovered_m2", "net_change_m2",
                                                                   "newly_covered_residents", "newly_uncovered_residents")}
        return out


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else round(f, 6)


def _study_area(f: AuditFolder, crs: Any) -> Any:
    """The study area of an audit folder (its ``study_area`` layer, else the union of its units) in ``crs``."""
    for name in ("study_area", "units"):
        g = f.layer(name)
        if g is not None and len(g) and g.crs is not None:
            return shapely.union_all(shapely.make_valid(g.to_crs(crs).geometry.values))
    return None


def area_overlap(a: AuditFolder, b: AuditFolder) -> dict:
    """The two study areas and their overlap.

    Returns
    -------
    dict
        ``old_area``, ``new_area`` (how each audit defined its area), ``old_km2``,
        ``new_km2``, ``overlap_km2``, ``overlap_old_pct``, ``overlap_new_pct``
        (the overlap as a share of each area); the areas are None when a folder
        has neither a study area nor units.
    """
    ref = b.layer("study_area")
    crs = ref.crs if ref is not None and ref.crs is not None else None
    if crs is None:
        u = b.layer("units")
        crs = u.crs if u is not None else None
    out = {"old_area": (a.summary.get("inputs") or {}).get("area"), "new_area": (b.summary.get("inputs") or {}).get("area")}
    ga, gb = (_study_area(a, crs), _study_area(b, crs)) if crs is not None else (None, None)
    if ga is None or gb is None or ga.area <= 0 or gb.area <= 0:
        return {**out, "old_km2": None, "new_km2": None, "overlap_km2": None, "overlap_old_pct": None,
                "overlap_new_pct": None}
    inter = float(shapely.intersection(ga, gb).area)
    return {**out, "old_km2": float(ga.area) / 1e6, "new_km2": float(gb.area) / 1e6, "overlap_km2": inter / 1e6,
            "overlap_old_pct": 100.0 * inter / float(ga.area), "overlap_new_pct": 100.0 * inter / float(gb.area)}


def _check_same_area(a: AuditFolder, b: AuditFolder, areas: dict, different_areas: bool) -> None:
    if areas["overlap_km2"] is None:
        warnings.warn(f"cannot check that {a.path.name} and {b.path.name} cover the same area: a folder has no study "
                      "area layer; the changes are meaningful only if they do.", GeoplanWarning, stacklevel=3)
        return
    if min(areas["overlap_old_pct"], areas["overlap_new_pct"]) >= SAME_AREA_PCT:
        return
    what = (f"{a.path} covers {areas['old_km2']:.2f} km² ({areas['old_area'] or 'study area'}), {b.path} covers "
            f"{areas['new_km2']:.2f} km² ({areas['new_area'] or 'study area'}); they overlap on "
            f"{areas['overlap_km2']:.2f} km² ({areas['overlap_old_pct']:.0f} % of the first, "
            f"{areas['overlap_new_pct']:.0f} % of the second)")
    if not different_areas:
        raise DataError(f"the two audits do not cover the same area: {what}.",
                        hint="Compare two audits of the same area (same --area or --units), or pass "
                        "--different-areas to compare them anyway: the changes then mix a change of area with a "
                        "change on the ground.")
    warnings.warn(f"the two audits do not cover the same area ({what}): compared as asked (--different-areas); "
                  "the changes mix a change of area with a change on the ground.", GeoplanWarning, stacklevel=3)


def compare_audits(old: str | os.PathLike | AuditFolder, new: str | os.PathLike | AuditFolder, *,
                   progress: Callable[[str], None] | None = None, different_areas: bool = False) -> Comparison:
    """Compare two audit folders (earlier first).

    Parameters
    ----------
    old, new : path or AuditFolder
        Folders written by :func:`geoplan.write_audit`.
    progress : callable, optional
        ``progress(step)`` before each step.
    different_areas : bool
        Compare even when the two study areas overlap on less than
        :data:`SAME_AREA_PCT` % of either (a warning says so).

    Returns
    -------
    Comparison

    Raises
    ------
    DataError
        A folder is not an audit folder, or its GeoPackage lacks the residential cells, or the two
        audits do not cover the same area (the message names both areas and their overlap) and
        ``different_areas`` is false.
    UsageError
        Both paths are the same folder.
    """
    say = progress or (lambda m: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    a = old if isinstance(old, AuditFolder) else read_audit(old)
    b = new if isinstance(new, AuditFolder) else read_audit(new)
    if a.path == b.path:
        raise UsageError(f"both audits are the same folder {a.path}.", hint="Give the earlier and the later audit.")
    with WarningLog(reemit=True) as caught:  # kept for the comparison's geoplan.log
        areas = area_overlap(a, b)
        _check_same_area(a, b, areas, different_areas)
        timings["reading"] = time.perf_counter() - t
        say("comparing the indicators")
        t = time.perf_counter()
        targets = _targets_change(a, b)
        overall = _coverage_change(a.tables.get("park_coverage_overall"), b.tables.get("park_coverage_overall"), [])
        by_unit = _unit_coverage_change(a, b)
        indicators = _indicators_change(a.summary, b.summary)
        unit_ind = _unit_indicators_change(a, b)
        settings = _settings_change(a, b)
        timings["indicators"] = time.perf_counter() - t
        say("overlaying the covered land of both audits")
        t = time.perf_counter()
        change, change_by_unit, context = _land_change(a, b)
        timings["overlay"] = time.perf_counter() - t
    return Comparison(a, b, targets, overall, by_unit, indicators, unit_ind, change, change_by_unit, context, settings,
                      timings, areas, list(caught.records))


def _targets_change(a: AuditFolder, b: AuditFolder) -> pd.DataFrame:
    cols = ["indicator", "scope", "method", "measure", "value"]

    def frame(s: dict) -> pd.DataFrame:
        rows = []
        for t in s.get("targets") or []:
            lab = t.get("label") or {}
            extra = {k: v for k, v in t.items() if k not in (*cols, "label", "measured", "met")}
            rows.append({"key": json.dumps({**{k: t.get(k) for k in cols}, **extra}, sort_keys=True, ensure_ascii=False),
                         "label_en": lab.get("en") or t.get("indicator"), "label_zh": lab.get("zh") or lab.get("en"),
                         **{k: t.get(k) for k in cols}, "year": t.get("year"),
                         "measured": t.get("measured"), "met": t.get("met")})
        return pd.DataFrame(rows, columns=["key", "label_en", "label_zh", *cols, "year", "measured", "met"])

    fa, fb = frame(a.summary), frame(b.summary)
    m = fb.merge(fa[["key", "measured", "met", "label_en", "label_zh", *cols, "year"]], on="key", how="outer",
                 suffixes=("_new", "_old"))
    for c in ("label_en", "label_zh", *cols, "year"):
        m[c] = m[f"{c}_new"].where(m[f"{c}_new"].notna(), m[f"{c}_old"])
    m["measured_change_pp"] = pd.to_numeric(m["measured_new"], errors="coerce") - pd.to_numeric(m["measured_old"], errors="coerce")
    out = m[["label_en", "label_zh", *cols, "year", "measured_old", "measured_new", "measured_change_pp", "met_old", "met_new"]]
    if out["year"].isna().all():
        out = out.drop(columns="year")
    return out.reset_index(drop=True)


def _coverage_change(old: pd.DataFrame | None, new: pd.DataFrame | None, keys: list[str]) -> pd.DataFrame:
    """Merge two coverage tables on scope, method, tier (+ ``keys``); add the changes."""
    k = [*keys, *_COVERAGE_KEYS]
    empty = pd.DataFrame(columns=k + [f"{v}_{s}" for v in _COVERAGE_VALUES for s in ("old", "new")])
    if old is None or new is None or old.empty or new.empty:
        return empty
    o = old[[c for c in k + _COVERAGE_VALUES if c in old.columns]]
    n = new[[c for c in k + _COVERAGE_VALUES if c in new.columns]]
    m = o.merge(n, on=k, how="outer", suffixes=("_old", "_new"))
    m["land_pct_change_pp"] = m["land_pct_new"] - m["land_pct_old"]
    m["residents_pct_change_pp"] = m["residents_pct_new"] - m["residents_pct_old"]
    m["covered_m2_change"] = m["covered_m2_new"] - m["covered_m2_old"]
    m["covered_residents_change"] = m["covered_residents_new"] - m["covered_residents_old"]
    order = {s: i for i, s in enumerate(("all", "outside_historic", "inside_historic"))}
    morder = {"euclidean": 0, "network": 1}
    m = m.assign(_s=m["scope"].map(order).fillna(9), _m=m["method"].map(morder).fillna(9),
                 _t=(m["tier"] != "all").astype(int))
    m = m.sort_values([*keys, "_s", "_m", "_t", "tier"], kind="stable").drop(columns=["_s", "_m", "_t"])
    front = k + ["land_pct_old", "land_pct_new", "land_pct_change_pp", "residents_pct_old", "residents_pct_new",
                 "residents_pct_change_pp", "land_m2_old", "land_m2_new", "covered_m2_old", "covered_m2_new",
                 "covered_m2_change", "residents_old", "residents_new", "covered_residents_old",
                 "covered_residents_new", "covered_residents_change"]
    return m[[c for c in front if c in m.columns]].reset_index(drop=True)


def _unit_key(old: pd.DataFrame, new: pd.DataFrame) -> str:
    """Match units by name when names are unique in both audits (ids are positions in the unit layer)."""
    def unique(d: pd.DataFrame) -> bool:
        u = d.drop_duplicates(["unit_id", "unit_name"])
        return u["unit_name"].notna().all() and u["unit_name"].is_unique

    return "unit_name" if unique(old) and unique(new) else "unit_id"


def _unit_coverage_change(a: AuditFolder, b: AuditFolder) -> pd.DataFrame:
    old, new = a.tables.get("park_coverage_by_unit"), b.tables.get("park_coverage_by_unit")
    if old is None or new is None or old.empty or new.empty:
        return _coverage_change(None, None, ["unit_id", "unit_name"])
    key = _unit_key(old, new)
    other = "unit_id" if key == "unit_name" else "unit_name"
    ids = pd.concat([new[["unit_id", "unit_name"]], old[["unit_id", "unit_name"]]]).drop_duplicates(key)
    m = _coverage_change(old.drop(columns=other), new.drop(columns=other), [key])
    m = m.merge(ids, on=key, how="left")
    cols = ["unit_id", "unit_name"] + [c for c in m.columns if c not in ("unit_id", "unit_name")]
    m = m[cols].sort_values(["unit_id"], kind="stable").reset_index(drop=True)
    return m


def _flat(d: Any, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if not prefix and k in _NOT_INDICATORS:
                continue
            out.update(_flat(v, key))
    elif isinstance(d, (int, float)) and not isinstance(d, bool):
        out[prefix] = float(d)
    return out


def _indicators_change(old: dict, new: dict) -> pd.DataFrame:
    fo, fn = _flat(old), _flat(new)
    keys = list(fn) + [k for k in fo if k not in fn]
    df = pd.DataFrame({"key": keys, "value_old": [fo.get(k, np.nan) for k in keys],
                       "value_new": [fn.get(k, np.nan) for k in keys]})
    df["value_change"] = df["value_new"] - df["value_old"]
    return df


def _unit_indicators_change(a: AuditFolder, b: AuditFolder) -> pd.DataFrame:
    """Percentage columns of the further analyses' per-unit tables, before and after."""
    cols = ["table", "unit_id", "unit_name", "row", "column", "value_old", "value_new", "value_change"]
    frames = []
    skip = {"park_coverage_by_unit", "blind_spots", "pocket_park_sites", "parks"}
    for name in b.tables:
        if name in skip or name not in a.tables:
            continue
        o, n = a.tables[name], b.tables[name]
        if o.empty or n.empty or "unit_id" not in n.columns or "unit_id" not in o.columns:
            continue
        pct = [c for c in n.columns if "pct" in c and c in o.columns and pd.api.types.is_numeric_dtype(n[c])
               and pd.api.types.is_numeric_dtype(o[c])]
        if not pct:
            continue
        named = "unit_name" in n.columns and "unit_name" in o.columns
        key = _unit_key(o, n) if named else "unit_id"
        # the data completeness grade describes a unit, not a row: never a key (it may change between audits)
        rows = [c for c in n.columns if c in o.columns and c not in ("unit_id", "unit_name", "data_grade", *pct)
                and not pd.api.types.is_numeric_dtype(n[c])]
        on = [key, *rows]
        o, n = o.copy(), n.copy()
        for d in (o, n):
            for c in rows:
                d[c] = d[c].map(lambda v: "" if pd.isna(v) else str(v)).astype(object)
            d[key] = d[key].astype(str) if key == "unit_name" else pd.to_numeric(d[key], errors="coerce")
        try:
            m = o[on + pct].merge(n[on + pct], on=on, how="outer", suffixes=("_old", "_new"))
        except (ValueError, TypeError) as exc:
            warnings.warn(f"{name}: cannot match its rows between the audits ({exc}); left out.", GeoplanWarning,
                          stacklevel=3)
            continue
        if named:
            other = "unit_id" if key == "unit_name" else "unit_name"
            names = pd.concat([n[["unit_id", "unit_name"]], o[["unit_id", "unit_name"]]]).drop_duplicates(key)
            m = m.merge(names[[key, other]], on=key, how="left")
        for c in pct:
            frames.append(pd.DataFrame({
                "table": name, "unit_id": m["unit_id"].to_numpy(),
                "unit_name": m["unit_name"].to_numpy() if named else None,
                "row": [" · ".join("" if pd.isna(v) else str(v) for v in r) for r in m[rows].itertuples(index=False)]
                if rows else "",
                "column": c, "value_old": m[f"{c}_old"].to_numpy(), "value_new": m[f"{c}_new"].to_numpy()}))
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["value_change"] = out["value_new"] - out["value_old"]
    return out[cols]


def _settings_change(a: AuditFolder, b: AuditFolder) -> pd.DataFrame:
    def facts(f: AuditFolder) -> dict[str, str]:
        s = f.summary
        out = {"rules": (s.get("rules") or {}).get("name"),
               "rules.tiers": json.dumps((s.get("rules") or {}).get("tiers"), sort_keys=True, ensure_ascii=False),
               "methods": ", ".join(s.get("methods") or []),
               "population.method": (s.get("population") or {}).get("method"),
               "crs": s.get("crs"), "geoplan_version": s.get("geoplan_version")}
        for k, v in (s.get("inputs") or {}).items():
            out[f"inputs.{k}"] = v
        p = f.parameters
        for k in ("parks", "residential", "population", "units", "siting"):
            if k in p:
                out[f"parameters.{k}"] = json.dumps(p[k], sort_keys=True, ensure_ascii=False)
        return {k: ("" if v is None else str(v)) for k, v in out.items()}

    fa, fb = facts(a), facts(b)
    keys = list(fb) + [k for k in fa if k not in fb]
    rows = [{"setting": k, "value_old": fa.get(k, ""), "value_new": fb.get(k, "")} for k in keys if fa.get(k) != fb.get(k)]
    return pd.DataFrame(rows, columns=["setting", "value_old", "value_new"])


# ----------------------------------------------------------------------  overlay
def _covered_land(f: AuditFolder, method: str, crs: Any) -> tuple[Any, gpd.GeoDataFrame] | None:
    """(covered land as one geometry, residential cells) of an audit by ``method``; None if not computed."""
    cells = f.layer("residential_cells")
    if cells is None:
        raise DataError(f"{f.gpkg} has no layer residential_cells.",
                        hint="Compare folders written by geoplan audit (the GeoPackage holds the residential cells).")
    cells = cells.to_crs(crs) if cells.crs is not None and crs is not None and cells.crs != crs else cells
    if method not in (f.summary.get("methods") or []):
        return None
    if method == "network":
        if "net_covered" not in cells.columns:
            return None
        cov = cells["net_covered"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
        return shapely.union_all(cells.geometry.values[cov]), cells
    zones = f.layer("served_zones")
    if zones is None:
        return shapely.Polygon(), cells
    zones = zones.to_crs(crs) if zones.crs is not None and crs is not None and zones.crs != crs else zones
    z = zones[(zones["method"] == "euclidean") & (zones["tier"] == "all")]
    if z.empty:
        return shapely.Polygon(), cells
    return shapely.intersection(shapely.union_all(cells.geometry.values), shapely.union_all(z.geometry.values)), cells


def _pieces(cells: gpd.GeoDataFrame, geom: Any, kind: str, method: str) -> pd.DataFrame:
    """The later audit's cells cut by ``geom``: one row per non-empty piece, residents by area share."""
    if geom is None or geom.is_empty:
        return pd.DataFrame()
    shapely.prepare(geom)
    g = cells.geometry.values
    hit = shapely.intersects(g, geom)
    if not hit.any():
        return pd.DataFrame()
    part = shapely.intersection(g[hit], geom)
    area = shapely.area(part)
    cell_area = shapely.area(g[hit])
    keep = area > SLIVER_M2
    res = cells["residents"].to_numpy(dtype=float)[hit] if "residents" in cells.columns else np.zeros(hit.sum())
    share = np.divide(area, cell_area, out=np.zeros_like(area), where=cell_area > 0)
    return pd.DataFrame({"method": method, "change_kind": kind, "unit_id": cells["unit_id"].to_numpy()[hit][keep],
                         "unit_name": cells["unit_name"].to_numpy()[hit][keep], "area_m2": area[keep],
                         "residents": (res * share)[keep], "geometry": part[keep]})


def _land_change(a: AuditFolder, b: AuditFolder) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict]:
    cells_b = b.layer("residential_cells")
    if cells_b is None:
        raise DataError(f"{b.gpkg} has no layer residential_cells.",
                        hint="Compare folders written by geoplan audit (the GeoPackage holds the residential cells).")
    crs = cells_b.crs
    frames, context = [], {}
    for method in ("euclidean", "network"):
        ca, cb = _covered_land(a, method, crs), _covered_land(b, method, crs)
        if ca is None or cb is None:
            continue
        cov_a, _ = ca
        cov_b, cells = cb
        newly = shapely.difference(cov_b, cov_a)
        lost = shapely.difference(cov_a, cov_b)  # cut by the later cells: land still residential
        res_b = shapely.union_all(cells.geometry.values)
        frames += [_pieces(cells, newly, "newly_covered", method), _pieces(cells, lost, "newly_uncovered", method)]
        still_cov = shapely.intersection(cov_a, cov_b)
        still_unc = shapely.difference(res_b, shapely.union(cov_a, cov_b))
        context[f"still_covered:{method}"] = still_cov
        context[f"still_uncovered:{method}"] = still_unc
    frames = [f for f in frames if len(f)]
    cols = ["method", "change_kind", "unit_id", "unit_name", "area_m2", "residents"]
    if frames:
        pieces = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
        change = pieces.dissolve(by=["method", "change_kind", "unit_id", "unit_name"],
                                 aggfunc={"area_m2": "sum", "residents": "sum"}).reset_index()
        change = gpd.GeoDataFrame(change[cols + ["geometry"]], geometry="geometry", crs=crs)
    else:
        change = gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    # per unit and method, every unit of the later audit listed
    units_b = b.layer("units")
    unit_list = (units_b[["unit_id", "unit_name"]] if units_b is not None else
                 cells_b[["unit_id", "unit_name"]].drop_duplicates()).sort_values("unit_id")
    methods = [m for m in ("euclidean", "network") if f"still_covered:{m}" in context]
    rows = []
    for m in methods:
        for uid, uname in unit_list.itertuples(index=False):
            d = change[(change["method"] == m) & (change["unit_id"] == uid)]
            nc = d[d["change_kind"] == "newly_covered"]
            nu = d[d["change_kind"] == "newly_uncovered"]
            rows.append({"method": m, "unit_id": uid, "unit_name": uname,
                         "newly_covered_m2": float(nc["area_m2"].sum()), "newly_uncovered_m2": float(nu["area_m2"].sum()),
                         "newly_covered_residents": float(nc["residents"].sum()),
                         "newly_uncovered_residents": float(nu["residents"].sum())})
    by_unit = pd.DataFrame(rows, columns=["method", "unit_id", "unit_name", "newly_covered_m2", "newly_uncovered_m2",
                                          "newly_covered_residents", "newly_uncovered_residents"])
    by_unit.insert(5, "net_change_m2", by_unit["newly_covered_m2"] - by_unit["newly_uncovered_m2"])
    context["units"] = units_b
    pa, pb = a.layer("parks"), b.layer("parks")
    context["parks_old"] = pa.to_crs(crs) if pa is not None and pa.crs != crs else pa
    context["parks_new"] = pb
    context["crs"] = crs
    return change, by_unit, context


def as_bool(v: Any) -> bool | None:
    """A met/not-met value read back from a CSV (``True``, ``"false"``, NaN ...) as True, False or None."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        return {"true": True, "false": False}.get(v.lower())
    return bool(v)


def parks_only_in(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Counted parks of ``a`` that no counted park of ``b`` covers by half or more."""
    a = a[a["tier"].notna() & (a["tier"].astype(str) != "None")]
    b = b[b["tier"].notna() & (b["tier"].astype(str) != "None")]
    if a.empty:
        return a[["name", "geometry"]]
    ub = shapely.union_all(b.geometry.values) if len(b) else shapely.Polygon()
    inter = shapely.area(shapely.intersection(a.geometry.values, ub))
    keep = inter < 0.5 * shapely.area(a.geometry.values)
    out = a[keep][["name", "geometry"]].copy()
    out["name"] = out["name"].fillna("")
    return out
