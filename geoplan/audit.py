"""The audit: every indicator for one study area, as a pure function of its inputs.

:func:`run_audit` takes an :class:`~geoplan.config.AuditConfig` (and optionally
a study-area polygon) and returns an :class:`AuditResult`; nothing is written
and no global state changes.  :func:`geoplan.outputs.write_audit` writes a
result to a folder.  Because an audit depends on nothing else, many areas can
be audited in parallel.

The further analyses an audit runs are :data:`ANALYSES` (each package declares
its :class:`~geoplan.analysis.Analysis`); ``run_audit(cfg, analyses=...)``
runs a subset (names) or further ones (``Analysis`` objects), ordered by what
each uses, and loads the study area with the margin of the farthest walk
among the analyses asked for.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from collections.abc import Iterable
from typing import Any, Callable

import geopandas as gpd

import math

import pandas as pd

from . import compounds, fairness, greenways, lifecircle, quality
from ._util import ShowsInJupyter
from ._util import clean_json
from ._version import __version__
from .analysis import Analysis, order_analyses
from .config import AuditConfig
from .errors import GeoplanWarning
from .parks import access_points, park_coverage, select_parks, site_pocket_parks
from .parks.coverage import ParkCoverage
from .residents import Population, assign_population, residential_cells, residential_land_by_unit
from .settings import WarningLog, WarningRecord
from .sources.layers import read_layer
from .sources.crs import to_crs
from .sources.tags import match_tags, polygons
from .study import Study, check_layer_datum, load_study
from .targets import evaluate_targets
from .i18n import text
from .parks.fragments import fragment_homes_by_unit
from .parks.fragments import fragment_pieces
from .parks.fragments import fragment_summary

__all__ = ["ANALYSES", "AuditResult", "audit_layers", "audit_summary", "audit_tables", "residential_definition", "run_audit",
           "run_park_audit", "with_data_grade"]

#: The further analyses of an audit, in their default order.
ANALYSES: tuple[Analysis, ...] = (lifecircle.ANALYSIS, greenways.ANALYSIS, compounds.ANALYSIS, fairness.ANALYSIS,
                                  quality.ANALYSIS)


@dataclass
class AuditResult(ShowsInJupyter):
    """What one audit measured.

    Attributes
    ----------
    config : AuditConfig
    study : Study
    population : Population
    parks : ParkCoverage
    siting : GeoDataFrame
        Pocket-park sites chosen greedily (may be empty).
    analyses : dict
        Further analyses by name (``lifecircle``, ``greenways`` ...): each result gives
        ``tables()``, ``layers()``, ``summary()`` and ``indicator(target)``.
    timings : dict
        Seconds per step.
    warnings : list of WarningRecord
        The warnings raised while the audit computed (each once).
    residential_land : DataFrame or None
        With residential land inferred from street blocks: land and residents per unit, mapped
        and inferred (:func:`geoplan.residents.residential_land_by_unit`).
    """

    config: AuditConfig
    study: Study
    population: Population
    parks: ParkCoverage
    siting: gpd.GeoDataFrame
    analyses: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    warnings: list[WarningRecord] = field(default_factory=list)
    residential_land: Any = None

    def summary(self) -> dict:
        """Headline figures as plain data (the content of ``summary.json``)."""
        return audit_summary(self)

    def tables(self) -> dict[str, pd.DataFrame]:
        """All tables by file name (without extension)."""
        return audit_tables(self)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """All geographic layers by GeoPackage layer name."""
        return audit_layers(self)


def _timed(timings: dict, name: str, say: Callable[[str], None]):
    class _T:
        def __enter__(self):
            say(name)
            self.t = time.perf_counter()

        def __exit__(self, *exc):
            timings[name] = round(time.perf_counter() - self.t, 3)

    return _T()


def run_park_audit(cfg: AuditConfig, study: Study, *, progress: Callable[[str], None] | None = None,
                   timings: dict | None = None) -> tuple[ParkCoverage, Population, gpd.GeoDataFrame]:
    """Park service-radius coverage of a loaded study area.

    Returns
    -------
    coverage : ParkCoverage
    population : Population
    siting : GeoDataFrame
    """
    say = progress or (lambda m: None)
    timings = {} if timings is None else timings
    with _timed(timings, "residential cells", say):
        cells = residential_cells(study.residential, study.units, study.historic,
                                  float(cfg.residential.get("cell_size_m", 25)))
    with _timed(timings, "population", say):
        pop = assign_population(study, cells, cfg.population, cfg.inputs.population)
    with _timed(timings, "park selection and access points", say):
        parks = select_parks(study.parks, cfg.rules, study.historic,
                             merge=bool(cfg.parks.get("merge_touching", True)),
                             merge_tolerance=float(cfg.parks.get("merge_tolerance_m", 1.0)))
        acc_kw = dict(cfg.parks.get("access_points", {}))
        counted = parks[parks["tier"].notna()]
        if len(parks) and counted.empty:
            smallest = min(t.min_area_m2 for t in cfg.rules.tiers)
            warnings.warn(f"{len(parks)} parks were found but none reaches a tier of {cfg.rules.name} "
                          f"(the largest is {parks['area_m2'].max():,.0f} m², the smallest tier needs {smallest:,.0f} m²): "
                          "coverage is 0 %.", GeoplanWarning, stacklevel=2)
        access = access_points(counted, study.network, study.entrances, **acc_kw) if "network" in cfg.methods else None
    with _timed(timings, "park coverage", say):
        cov = park_coverage(cells, parks, cfg.rules, methods=cfg.methods, network=study.network, access=access,
                            has_historic=len(study.historic) > 0, places=study.residential_areas)
    with _timed(timings, "pocket-park siting", say):
        siting = _siting(cfg, study, cov, acc_kw)
    return cov, pop, siting


def _siting(cfg: AuditConfig, study: Study, cov: ParkCoverage, acc_kw: dict) -> gpd.GeoDataFrame:
    if cfg.inputs.candidates:
        raw = read_layer(cfg.inputs.candidates, datum=cfg.inputs.datums.get("candidates"),
                         what="candidate sites", geom_types=("polygon",))
        check_layer_datum(raw, study.network, "candidates", cfg.inputs.datums.get("candidates"),
                          f"candidates layer {cfg.inputs.candidates}")
        cand = to_crs(raw, study.crs)
    elif study.osm is not None:
        tags = cfg.siting.get("candidates_osm_tags", {})
        cand = study.osm.features(tags)
        cand = polygons(to_crs(cand[match_tags(cand, tags)], study.crs)) if len(cand) else cand
    else:
        cand = None
    method = "network" if "network" in cov.methods else "euclidean"
    cells = cov.cells
    covered = cells["net_covered"].to_numpy() if method == "network" else (
        cells["euc_cov_m2"].to_numpy() >= 0.5 * cells["area_m2"].to_numpy())
    return site_pocket_parks(cells, covered, cand, cfg.rules, count=int(cfg.siting.get("count", 5)), method=method,
                             network=study.network, existing_parks=cov.parks, access_kw=acc_kw)


def run_audit(cfg: AuditConfig, area: Any = None, *, progress: Callable[[str], None] | None = None,
              analyses: Iterable[str | Analysis] | None = None) -> AuditResult:
    """Run an audit of one study area.

    Parameters
    ----------
    cfg : AuditConfig
        From :func:`geoplan.load_config`.
    area : shapely geometry in EPSG:4326, optional
        Study area; default from the configuration (see :func:`geoplan.study.load_study`).
    progress : callable, optional
        ``progress(step_name)`` before each step.
    analyses : iterable of str or Analysis, optional
        Further analyses besides park coverage: names of :data:`ANALYSES`
        (``"lifecircle"``, ``"greenways"`` ...) or :class:`~geoplan.analysis.Analysis`
        objects; default: all of :data:`ANALYSES`; ``()`` for park coverage only.

    Returns
    -------
    AuditResult
        ``warnings`` lists the warnings raised while computing (they are also
        raised again to the caller, each once).
    """
    say = progress or (lambda m: None)
    timings: dict = {}
    todo = order_analyses(ANALYSES, analyses)
    with WarningLog(reemit=True) as caught:
        with _timed(timings, "loading data", say):
            # parks and facilities beyond the border serve residents inside it, up to the farthest walk measured
            study = load_study(cfg, area, progress=None, reach_m=max((a.reach(cfg) for a in todo), default=0.0))
        cov, pop, siting = run_park_audit(cfg, study, progress=say, timings=timings)
        result = AuditResult(cfg, study, pop, cov, siting, timings=timings,
                             residential_land=residential_land_by_unit(cov.cells, study.units))
        for a in todo:
            with _timed(timings, a.name, say):
                out = a.run(result)
            if out is not None:  # an analysis switched off in the configuration gives nothing
                result.analyses[a.name] = out
    result.warnings = list(caught.records)
    return result


def residential_definition(result: AuditResult) -> dict:
    """Which residential land the headline figures are measured on (mapped, or mapped + inferred)."""
    cells = result.parks.cells
    land = float(cells["area_m2"].sum())
    if "residential_source" not in cells.columns:
        return {"definition": "mapped", "land_km2": land / 1e6, "source": result.study.provenance.get("residential"),
                "text": {lang: text("residential.mapped", lang) for lang in ("en", "zh")}}
    m = cells["residential_source"].to_numpy(object) == "mapped"
    mapped = float(cells.loc[m, "area_m2"].sum())
    km2 = {"mapped": mapped / 1e6, "inferred": (land - mapped) / 1e6}
    return {"definition": "mapped+inferred", "land_km2": land / 1e6, "mapped_km2": km2["mapped"],
            "inferred_km2": km2["inferred"], "source": result.study.provenance.get("residential"),
            "inferred_from": result.study.provenance.get("residential inferred"),
            "text": {lang: text("residential.mapped_inferred", lang, **km2) for lang in ("en", "zh")}}


def audit_summary(result: AuditResult) -> dict:
    """Headline figures of an audit as plain, deterministic data (the content of ``summary.json``)."""
    cov = result.parks
    cfg = result.config
    figures = []
    for _, r in cov.overall.iterrows():
        figures.append({k: r[k] for k in ("scope", "method", "tier", "land_m2", "covered_m2", "land_pct",
                                          "residents", "covered_residents", "residents_pct")})
    diff = {}
    if set(cov.methods) == {"euclidean", "network"}:
        for scope in cov.overall["scope"].unique():
            e = cov.coverage("euclidean", scope)
            n = cov.coverage("network", scope)
            diff[scope] = {"land_pp": e - n,
                           "residents_pp": cov.coverage("euclidean", scope, "residents") - cov.coverage("network", scope, "residents")}
    out = {
        "geoplan_version": __version__,
        "rules": {"name": cfg.rules.name, "title": cfg.rules.title, "basis": cfg.rules.basis, "source": cfg.rules.source,
                  "tiers": [{"id": t.id, "min_area_m2": t.min_area_m2, "max_area_m2": None if math.isinf(t.max_area_m2) else t.max_area_m2,
                             "radius_m": t.radius_m, "within_historic": t.within_historic} for t in cfg.rules.tiers]},
        "definition": ("residential land area (and residents) inside the union of the service areas of the counted parks "
                       "÷ all residential land (residents) in the scope"),
        "residential_land": residential_definition(result),
        "methods": list(cov.methods),
        "scopes": sorted(cov.overall["scope"].unique().tolist()),
        "crs": result.study.crs.to_string(),
        "inputs": result.study.provenance,
        "population": {"method": result.population.method, "total": result.population.total,
                       "outside_residential": result.population.outside_residential, "note": result.population.note},
        "network": {"nodes": result.study.network.n_nodes, "edges": result.study.network.n_edges,
                    "length_km": float(result.study.network.edge_length.sum() / 1000)},
        "parks": {"found": int(len(cov.parks)), "counted": int(cov.parks["tier"].notna().sum()),
                  "by_tier": {str(k): int(v) for k, v in cov.parks["tier"].value_counts().sort_index().items()}},
        "park_coverage": figures,
        "straight_line_minus_network_pp": diff,
        "blind_spots": {m: int((cov.blind_spots["method"] == m).sum()) for m in cov.methods} if len(cov.blind_spots) else {},
        "pocket_park_sites": int(len(result.siting)),
        "targets": evaluate_targets(result),
    }
    if cov.on_fragments is not None:

        out["homes_on_fragments"] = {**fragment_summary(cov.on_fragments, cov.cells),
                                     "fragments": int(len(fragment_pieces(result.study.network))),
                                     "main_piece_share": result.study.network.main_share}
    for name, a in result.analyses.items():
        out[name] = a.summary()
    return clean_json(out)


def _int_columns(df: pd.DataFrame, cols: tuple) -> pd.DataFrame:
    """Identifier columns as integers (an empty table keeps its header)."""
    for c in cols:
        if c in df.columns:
            df[c] = df[c].astype("int64")
    return df


def _prefixed(name: str, key: str) -> str:
    return f"{name}_{key}" if not key.startswith(name) else key


def audit_tables(result: AuditResult) -> dict[str, pd.DataFrame]:
    """All tables of an audit by file name (without extension)."""
    cov = result.parks
    parks = pd.DataFrame(cov.parks.drop(columns="geometry"))
    t = {
        "park_coverage_overall": cov.overall,
        "park_coverage_by_unit": cov.by_unit,
        "parks": parks,
        "blind_spots": _int_columns(pd.DataFrame(cov.blind_spots.drop(columns="geometry")), ("unit_id", "rank")),
        "pocket_park_sites": _int_columns(pd.DataFrame(result.siting.drop(columns="geometry")), ("step",)),
    }
    if cov.on_fragments is not None:

        t["homes_on_fragments"] = pd.DataFrame(cov.on_fragments.drop(columns="geometry"))
        t["homes_on_fragments_by_unit"] = fragment_homes_by_unit(cov.on_fragments, cov.cells)
    if getattr(result.population, "by_unit", None) is not None:
        t["population_by_unit"] = result.population.by_unit
    if cov.by_source is not None:
        t["park_coverage_by_source"] = cov.by_source
        t["park_coverage_by_unit_source"] = cov.by_unit_source
    if result.residential_land is not None:
        t["residential_land_by_unit"] = result.residential_land
    for name, a in result.analyses.items():
        for k, v in a.tables().items():
            t[_prefixed(name, k)] = v
    q = result.analyses.get("quality")
    if q is not None:  # the completeness grade of the data beside every per-unit figure
        t = {k: (v if k.startswith("quality_") else with_data_grade(v, q.grades())) for k, v in t.items()}
    return t


def with_data_grade(table: pd.DataFrame, grades: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the unit's data completeness grade (``data_grade``) after its unit columns.

    Tables without a ``unit_id`` column (or with a grade already) are returned as they are.
    """
    if "unit_id" not in table.columns or "data_grade" in table.columns or not len(grades):
        return table
    g = dict(zip(grades["unit_id"], grades["data_grade"]))
    out = table.copy()
    at = list(out.columns).index("unit_name") + 1 if "unit_name" in out.columns else list(out.columns).index("unit_id") + 1
    out.insert(at, "data_grade", out["unit_id"].map(g))
    return out


def audit_layers(result: AuditResult) -> dict[str, gpd.GeoDataFrame]:
    """All geographic layers of an audit by GeoPackage layer name (empty layers left out)."""
    cov = result.parks
    st = result.study
    crs = st.crs
    units = st.units.merge(
        cov.by_unit[(cov.by_unit["tier"] == "all") & (cov.by_unit["scope"] == "all")]
        .pivot_table(index="unit_id", columns="method", values=["land_pct", "residents_pct"])
        .pipe(lambda d: d.set_axis([f"{m[:3]}_{v}" for v, m in d.columns], axis=1)).reset_index(),
        on="unit_id", how="left")
    cells = cov.cells.copy()
    for c in [c for c in cells.columns if cells[c].dtype == object and c != "geometry"]:
        cells[c] = cells[c].astype(str).where(cells[c].notna(), None)
    layers = {
        "study_area": gpd.GeoDataFrame({"name": ["study area"]}, geometry=[st.area], crs=crs),
        "units": units,
        "parks": cov.parks,
        "park_access_points": cov.access,
        "residential_cells": cells,
        "served_zones": cov.zones[~cov.zones.geometry.is_empty],
        "blind_spots": cov.blind_spots,
        "pocket_park_sites": result.siting,
        "homes_on_fragments": cov.on_fragments,
    }
    if result.population.points is not None:
        layers["residential_buildings"] = result.population.points
    for name, a in result.analyses.items():
        for k, v in a.layers().items():
            layers[_prefixed(name, k)] = v
    return {k: v for k, v in layers.items() if v is not None and len(v)}
