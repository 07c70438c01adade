"""The trust analysis of an audit: completeness of the data per unit, and the range of the headline figures."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from .._util import deep_merge
from ..config import PRESET_DIR
from ..errors import UsageError
from ..sources.blocks import street_space
from ..sources.crs import to_crs
from ..sources.layers import read_layer
from .completeness import (
    MEASURES,
    facility_supply,
    footway_share,
    grade_units,
    landuse_mapped,
    register_match,
    residential_far_from_ways,
)
from .sensitivity import Sensitivity, run_sensitivity
from ..parks.access import ACCESS_RULES

__all__ = ["PRESET", "QualityResult", "load_settings", "quality_for_audit", "run_quality"]

PRESET = PRESET_DIR / "quality.yaml"


def load_settings(overrides: dict | None = None) -> dict:
    """``presets/quality.yaml`` with the audit configuration's ``quality:`` section merged in (key by key)."""
    with open(PRESET, encoding="utf-8") as fh:
        base = yaml.safe_load(fh)
    over = overrides or {}
    if not isinstance(over, dict):
        raise UsageError(f"quality settings must be a mapping, not {over!r}.", hint="e.g. quality: {enabled: false}")
    unknown = sorted(set(over) - set(base))
    if unknown:
        raise UsageError(f"unknown quality setting(s) {unknown}.", hint=f"Known settings: {sorted(base)}.")
    out = deep_merge(base, over)
    _check(out)
    return out


def _check(s: dict) -> None:
    """A bad value of the quality settings is a UsageError naming its key."""
    comp = s["completeness"]
    for m, ms in comp["measures"].items():
        for letter, v in (ms.get("grades") or {}).items():
            if not isinstance(v, (int, float)) or not 0 <= float(v) <= 1:
                raise UsageError(f"quality completeness.measures.{m}.grades.{letter}={v!r} must be a share from 0 to 1.")
    ch = s["sensitivity"]["choices"]
    bad = [r for r in ch.get("access_rule", []) if r not in ACCESS_RULES]
    if bad:
        raise UsageError(f"quality sensitivity.choices.access_rule: unknown rule(s) {bad}.",
                         hint=f"Use {', '.join(ACCESS_RULES)}.")
    for key in ("snap_limit_m",):
        for v in ch.get(key, []):
            if not isinstance(v, (int, float)) or v <= 0:
                raise UsageError(f"quality sensitivity.choices.{key}: {v!r} must be a positive number of metres.")
    for k, v in (ch.get("walking_speed_kmh") or {}).items():
        if not isinstance(v, (int, float)) or not 0 < v < 20:
            raise UsageError(f"quality sensitivity.choices.walking_speed_kmh.{k}={v!r} must be a speed in km/h.")


@dataclass
class QualityResult:
    """How far each figure of an audit can be trusted.

    Attributes
    ----------
    completeness : DataFrame
        Per unit: the measures' inputs and shares (``residential_near_ways``, ``footway_share``,
        ``landuse_mapped``, ``facilities``, ``park_register``), a letter per measure
        (``grade:<measure>``), the mean ``points``, the unit ``grade`` and its ``weakest`` measure.
    facilities : DataFrame or None
        Per unit and category: facilities found, per 10,000 residents, and the GB 50180 expectation.
    register : GeoDataFrame or None
        The park register's parks with whether a mapped park matches them.
    units : GeoDataFrame
        Unit polygons with ``grade`` and the shares (the map layer).
    sensitivity : Sensitivity or None
    settings : dict
    notes : list of str
        Measures not available and why.
    """

    completeness: pd.DataFrame
    facilities: pd.DataFrame | None
    register: gpd.GeoDataFrame | None
    units: gpd.GeoDataFrame
    sensitivity: Sensitivity | None
    settings: dict
    notes: list = field(default_factory=list)

    def grades(self) -> pd.DataFrame:
        """``unit_id`` and ``data_grade`` (the letter shown beside every per-unit figure)."""
        return self.completeness[["unit_id", "grade"]].rename(columns={"grade": "data_grade"})

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables for CSV and the workbook."""
        t = {"completeness": self.completeness}
        if self.facilities is not None:
            t["facilities_per_10k"] = self.facilities
        if self.register is not None:
            t["park_register"] = pd.DataFrame(self.register.drop(columns="geometry"))
        if self.sensitivity is not None:
            t["sensitivity"] = self.sensitivity.ranges
            t["sensitivity_options"] = self.sensitivity.options
        return t

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The graded units (and the register's parks)."""
        out = {"completeness": self.units}
        if self.register is not None and len(self.register):
            out["park_register"] = self.register
        return out

    def summary(self) -> dict:
        """Grades per unit, the count per letter, and the range of every headline figure."""
        c = self.completeness
        out: dict[str, Any] = {
            "grades": {str(n): g for n, g in zip(c["unit_name"], c["grade"])},
            "grade_counts": {k: int((c["grade"] == k).sum()) for k in ("A", "B", "C", "D")},
            "not_available": list(self.notes),
        }
        s = self.sensitivity
        if s is not None:
            out["sensitivity"] = {
                "kernel_passes": s.passes, "base_options": s.base,  # its time is in the log (timings), not here
                "figures": {r["figure"]: {"base": r["base"], "min": r["min"], "max": r["max"],
                                          "most_moving": r["most_moving"], "swing_pp": r["swing_pp"]}
                            for _, r in s.ranges.iterrows()},
                "notes": list(s.notes)}
        return out

    def indicator(self, target: dict) -> float | None:
        """The trust analysis defines no target indicator (None)."""
        return None


def _facility_categories(lc: Any, skip: list[str]) -> list[tuple[str, str]]:
    return [(c.id, c.level) for c in lc.rules.categories if c.required and c.id not in skip]


def _unit_residents(result: Any) -> pd.DataFrame:
    cells = result.parks.cells
    res = cells.groupby("unit_id")["residents"].sum()
    u = result.study.units[["unit_id"]].copy()
    u["residents"] = u["unit_id"].map(res).fillna(0.0).to_numpy(float)
    return u


def _not_built(st: Any) -> list:
    out = []
    for layer in (st.parks, st.natural):
        if layer is not None and len(layer):
            out.append(shapely.make_valid(np.asarray(layer.geometry.values, dtype=object)))
    return [shapely.union_all(g) for g in out]


def run_quality(result: Any, settings: dict | None = None) -> QualityResult | None:
    """Completeness of the data per unit and the sensitivity of the headline figures of an audit.

    Parameters
    ----------
    result : AuditResult
        The life-circle result is used for the facility measure when it ran.
    settings : dict, optional
        Default: ``presets/quality.yaml`` with the configuration's ``quality:`` section.

    Returns
    -------
    QualityResult or None (``enabled: false``)
    """
    s = settings if settings is not None else load_settings(result.config.extra.get("quality"))
    if not s.get("enabled", True):
        return None
    st = result.study
    cov = result.parks
    ms = s["completeness"]["measures"]
    units = st.units[["unit_id", "unit_name"]].copy()
    notes: list[str] = []

    near = residential_far_from_ways(cov.cells, st.network.edges, float(ms["residential_near_ways"]["distance_m"]))
    foot = footway_share(st.network.edges, st.units, ms["footway_share"]["highway"])
    street = street_space(st.network.edges, st.area,
                          (result.config.residential.get("inferred") or {}).get("street_half_width_m"))
    lu = landuse_mapped(st.units, st.landuse, _not_built(st), street)
    if st.landuse is None:
        notes.append("landuse_mapped: no land-use layer was read")
    table = units.merge(near, on="unit_id", how="left").merge(foot, on="unit_id", how="left") \
        .merge(lu, on="unit_id", how="left")
    res = _unit_residents(result)
    table = table.merge(res, on="unit_id", how="left")

    lc = result.analyses.get("lifecircle")
    fac_table = None
    if lc is not None:
        fm = ms["facilities"]
        fac_table, fac_unit = facility_supply(lc.facilities, res, _facility_categories(lc, list(fm.get("skip_categories") or [])),
                                              fm["residents_per_level"])
        fac_table = units.merge(fac_table, on="unit_id", how="right")
        table = table.merge(fac_unit, on="unit_id", how="left")
    else:
        table["facilities"] = np.nan
        notes.append("facilities: the life circles were not computed")

    reg_listing = None
    pr = ms["park_register"]
    if s.get("park_register"):
        raw = read_layer(s["park_register"], what="park register", geom_types=("point", "polygon"), name="park_register")
        reg = to_crs(raw, st.crs)
        by_unit, reg_listing = register_match(reg, st.parks, st.units, float(pr.get("match_distance_m", 50)))
        table = table.merge(by_unit, on="unit_id", how="left")
        if pr.get("name_field") and pr["name_field"] in reg_listing.columns:
            reg_listing = reg_listing.rename(columns={pr["name_field"]: "name"})
    else:
        table["park_register"] = np.nan
        notes.append("park_register: no park register given (quality: {park_register: FILE})")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        graded = grade_units(table, s["completeness"])
    ug = st.units[["unit_id", "geometry"]].merge(
        graded[["unit_id", "unit_name", "grade", "points", "weakest", *[m for m in MEASURES if m in graded.columns]]],
        on="unit_id")
    ug = gpd.GeoDataFrame(ug, geometry="geometry", crs=st.crs)

    sens = None
    if s["sensitivity"].get("enabled", True):
        sens = run_sensitivity(result, s["sensitivity"])
        if isinstance(getattr(result, "timings", None), dict):  # written to geoplan.log (summary.json stays deterministic)
            result.timings["quality: sensitivity range"] = round(sens.seconds, 3)
    return QualityResult(graded, fac_table, reg_listing, ug, sens, s, notes)


def quality_for_audit(result: Any) -> QualityResult | None:
    """The trust analysis as a step of :func:`geoplan.audit.run_audit`."""
    return run_quality(result)
