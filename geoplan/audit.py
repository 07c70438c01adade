"""The audit: every indicator for one study area, as a pure function of its inputs.

:func:`run_audit` takes an :class:`~geoplan.config.AuditConfig` (and optionally
a study-area polygon) and returns an :class:`AuditResult`; nothing is written.
:func:`geoplan.outputs.write_audit` writes a result to a folder.  Because an
audit depends on nothing else, many areas can be audited in parallel.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import geopandas as gpd

from .config import AuditConfig
from .errors import GeoplanWarning
from .parks import access_points, park_coverage, select_parks, site_pocket_parks
from .parks.coverage import ParkCoverage
from .residents import Population, assign_population, residential_cells
from .study import Study, _match_tags, _polygons, _to_crs, load_study

__all__ = ["AuditResult", "run_audit", "run_park_audit"]


@dataclass
class AuditResult:
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
        Further analyses by name (``lifecircle``, ``greenways`` ...), filled by their modules.
    timings : dict
        Seconds per step.
    """

    config: AuditConfig
    study: Study
    population: Population
    parks: ParkCoverage
    siting: gpd.GeoDataFrame
    analyses: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Headline figures as plain data (the content of ``summary.json``)."""
        from .outputs import audit_summary

        return audit_summary(self)


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
                            has_historic=len(study.historic) > 0)
    with _timed(timings, "pocket-park siting", say):
        siting = _siting(cfg, study, cov, acc_kw)
    return cov, pop, siting


def _siting(cfg: AuditConfig, study: Study, cov: ParkCoverage, acc_kw: dict) -> gpd.GeoDataFrame:
    if cfg.inputs.candidates:
        from .sources.layers import read_layer

        from .study import check_layer_datum

        raw = read_layer(cfg.inputs.candidates, datum=cfg.inputs.datums.get("candidates"),
                         what="candidate sites", geom_types=("polygon",))
        check_layer_datum(raw, study.network, "candidates", cfg.inputs.datums.get("candidates"),
                          f"candidates layer {cfg.inputs.candidates}")
        cand = _to_crs(raw, study.crs)
    elif study.osm is not None:
        tags = cfg.siting.get("candidates_osm_tags", {})
        cand = study.osm.features(tags)
        cand = _polygons(_to_crs(cand[_match_tags(cand, tags)], study.crs)) if len(cand) else cand
    else:
        cand = None
    method = "network" if "network" in cov.methods else "euclidean"
    cells = cov.cells
    covered = cells["net_covered"].to_numpy() if method == "network" else (
        cells["euc_cov_m2"].to_numpy() >= 0.5 * cells["area_m2"].to_numpy())
    return site_pocket_parks(cells, covered, cand, cfg.rules, count=int(cfg.siting.get("count", 5)), method=method,
                             network=study.network, existing_parks=cov.parks, access_kw=acc_kw)


def run_audit(cfg: AuditConfig, area: Any = None, *, progress: Callable[[str], None] | None = None,
              analyses: tuple[str, ...] | None = None) -> AuditResult:
    """Run an audit of one study area.

    Parameters
    ----------
    cfg : AuditConfig
        From :func:`geoplan.load_config`.
    area : shapely geometry in EPSG:4326, optional
        Study area; default from the configuration (see :func:`geoplan.study.load_study`).
    progress : callable, optional
        ``progress(step_name)`` before each step.
    analyses : tuple of str, optional
        Extra analyses to run besides park coverage (``"lifecircle"``, ``"greenways"``);
        default: all that are installed.

    Returns
    -------
    AuditResult
    """
    say = progress or (lambda m: None)
    timings: dict = {}
    with _timed(timings, "loading data", say):
        study = load_study(cfg, area, progress=None)
    cov, pop, siting = run_park_audit(cfg, study, progress=say, timings=timings)
    result = AuditResult(cfg, study, pop, cov, siting, timings=timings)
    for name, fn in _extra_analyses(analyses).items():
        with _timed(timings, name, say):
            result.analyses[name] = fn(result)
    return result


def _extra_analyses(wanted: tuple[str, ...] | None) -> dict:
    """Analyses other modules register (life circles, greenways ...)."""
    from . import registry

    found = registry.analyses()
    if wanted is None:
        return found
    return {k: v for k, v in found.items() if k in wanted}
