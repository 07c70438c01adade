"""The maps of an audit: the interactive map, the print maps of each analysis and of each unit.

What the report (:mod:`geoplan.report`) shows and links; the report decides
where the maps go on its pages, this module decides what each map shows and
draws it.  The print maps are drawn by a pool of worker processes
(:class:`MapRenderer`) while the caller writes its pages.

    map.html                        the interactive map (opens offline, every asset inlined)
    maps/park_coverage_A4.png       print map, A4 landscape, 300 dpi (also _A4.pdf, _A3.png, _A3.pdf:
                                    every print map as a 300 dpi PNG and a vector PDF on A4 and A3)
    maps/<analysis>_A4.png          each further analysis' map (and its _A4.pdf, _A3.png, _A3.pdf)
    maps/units/<unit_id>.png        each unit's map, A4, 300 dpi (and its .pdf)
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ..errors import GeoplanWarning
from ..i18n import label, text
from ..maps import interactive_map, save_map, static_map
from ..maps.layers import MapLayer, osm_basemap_layers
from ..maps.palettes import COVERED, LINE_ONLY, NOT_COVERED
from ..parks import coverage_status
from ..settings import default_workers
from . import map_layers as analysis_map_layers
from .parks import TIER_COLOURS, park_map_layers

__all__ = [
    "PRINT_DPI",
    "PRINT_PAPERS",
    "STATUS_COLOURS",
    "UNIT_MAP_DPI",
    "UNIT_MAP_MARGIN_M",
    "MapJob",
    "MapRenderer",
    "audit_map_layers",
    "basemap_layers",
    "print_jobs",
    "print_map_jobs",
    "render_map_job",
    "slug",
    "unit_map_jobs",
    "unit_map_layers",
    "write_interactive_map",
]

#: Resolution of every PNG print map (300 dpi, print quality).
PRINT_DPI = 300
#: Resolution of each unit's PNG map (print quality too: the unit pages are printed).
UNIT_MAP_DPI = PRINT_DPI
#: Papers of the print maps of the area (each as a PNG and a PDF); unit maps are A4.
PRINT_PAPERS = ("A4", "A3")
#: Metres shown around a unit on its map.
UNIT_MAP_MARGIN_M = 120.0
#: Colours of the coverage-status classes (colour-blind safe, print safe).
STATUS_COLOURS = {"walk_covered": COVERED, "covered": COVERED, "line_only": LINE_ONLY, "not_covered": NOT_COVERED}


def slug(v: Any) -> str:
    """A file-name-safe form of a unit id or analysis name (Latin letters, digits, CJK, ``_-``)."""
    s = re.sub(r"[^0-9A-Za-z_\-\u4e00-\u9fff]+", "_", str(v)).strip("_")
    return s or "unit"


def basemap_layers(result: Any, area: Any = None) -> list:
    """Light basemap from the OSM data of the audit (streets, buildings) for offline maps.

    Streets and buildings are merged into one multi-geometry each, which draws
    several times faster than thousands of separate features.

    Parameters
    ----------
    result : AuditResult
    area : shapely geometry, optional
        Keep only what lies in this rectangle's bounds (in the study CRS).
    """
    st = result.study
    crs = st.crs
    streets = np.asarray(st.network.edges.geometry.values)
    buildings = np.asarray(st.buildings.geometry.values) if len(st.buildings) else np.array([], dtype=object)
    if area is not None:  # features whose bounding box meets the area's (the map frame cuts the rest)
        streets, buildings = _in_bounds(streets, area.bounds), _in_bounds(buildings, area.bounds)
    streets = shapely.get_parts(streets[~shapely.is_empty(streets)]) if len(streets) else streets
    streets = streets[shapely.get_type_id(streets) == 1] if len(streets) else streets
    buildings = shapely.get_parts(buildings[~shapely.is_empty(buildings)]) if len(buildings) else buildings
    buildings = buildings[shapely.get_type_id(buildings) == 3] if len(buildings) else buildings
    layers: dict[str, gpd.GeoDataFrame] = {}
    if len(streets):
        # touching street segments joined into long lines: a few thousand paths instead of tens of
        # thousands (a PDF writes each path on its own)
        merged = shapely.line_merge(shapely.multilinestrings(streets))
        layers["streets"] = gpd.GeoDataFrame(geometry=[merged], crs=crs)
    if len(buildings):
        layers["buildings"] = gpd.GeoDataFrame(geometry=[shapely.multipolygons(buildings)], crs=crs)
    return osm_basemap_layers(**layers)


def _in_bounds(geoms: np.ndarray, bounds: tuple) -> np.ndarray:
    if len(geoms) == 0:
        return geoms
    b = shapely.bounds(geoms)
    minx, miny, maxx, maxy = bounds
    ok = (b[:, 0] <= maxx) & (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny)
    return geoms[ok]


def _status_layer(status: gpd.GeoDataFrame, lang: str, *, show: bool = True, name: str | None = None):
    L = lambda k: label(k, lang)
    s = status.copy()
    s["status_label"] = s["status"].map(L)
    s["area_m2"] = s["area_m2"].round(0)
    s["residents"] = s["residents"].round(0)
    present = [k for k in ("walk_covered", "covered", "line_only", "not_covered") if k in set(s["status"])]
    return MapLayer(s, name or L("method_gap"), kind="polygon", column="status",
                    categories={k: STATUS_COLOURS[k] for k in present},
                    category_labels={k: L(k) for k in present}, fill_opacity=0.6, weight=0.4, show=show,
                    tooltip=[("unit_name", L("unit_name")), ("status_label", L("status")),
                             ("area_m2", L("area_m2")), ("residents", L("residents"))])


def audit_map_layers(result: Any, lang: str, *, status: gpd.GeoDataFrame | None = None) -> list:
    """All map layers of an audit, one group per analysis: park coverage first, then each further analysis.

    Only the park-coverage story is on when the map opens (units by coverage,
    with their names; residential land covered or not; blind spots; parks);
    every other layer waits in its group of the layer control.

    Parameters
    ----------
    result : AuditResult
    lang : {"zh", "en"}
    status : GeoDataFrame, optional
        :func:`coverage_status` of the result, if already computed.
    """
    L = lambda k: label(k, lang)
    group = L("park_coverage")
    layers = park_map_layers(result.parks, result.study.units, lang)
    if set(result.parks.methods) == {"euclidean", "network"}:
        st = coverage_status(result.parks) if status is None else status
        if len(st):
            # under the parks, above the units: switched off at first (the residential layer shows one method)
            layers.insert(2, dataclasses.replace(_status_layer(st, lang, show=False), group=group))
    if len(result.siting):
        s = result.siting.copy()
        s["new_residents"] = s["new_residents"].round(0)
        s["area_m2"] = s["area_m2"].round(0)
        layers.append(MapLayer(s, L("pocket_parks"), kind="polygon", color="#6a3d9a", fill_color="#cab2d6",
                               fill_opacity=0.8, weight=2, show=False, group=group,
                               tooltip=[("step", L("step")), ("area_m2", L("area_m2")),
                                        ("new_residents", L("new_residents"))]))
    for name, a in result.analyses.items():
        try:
            extra = analysis_map_layers(a, lang)
        except Exception as exc:  # noqa: BLE001 - an analysis' map must not cost the whole report
            warnings.warn(f"{name}: its map layers failed ({exc}); left off the interactive map.",
                          GeoplanWarning, stacklevel=2)
            continue
        heading = label(name, lang)
        layers.extend(dataclasses.replace(x, group=heading, show=False) for x in extra)
    return layers


def unit_map_layers(result: Any, unit_id: Any, lang: str, *, status: gpd.GeoDataFrame | None = None,
                    margin_m: float = UNIT_MAP_MARGIN_M) -> tuple[list, list]:
    """Layers of one unit's map: neighbouring units, the unit's residential land by
    coverage status, parks by tier, access points, pocket-park sites and the unit outline,
    all clipped to the unit's bounds plus ``margin_m``.

    Parameters
    ----------
    result : AuditResult
    unit_id : the unit's ``unit_id``
    lang : {"zh", "en"}
    status : GeoDataFrame, optional
        :func:`coverage_status` of the result, if already computed.
    margin_m : float
        Metres shown around the unit.

    Returns
    -------
    layers, basemap : list of MapLayer, list of MapLayer
        For :func:`geoplan.maps.static_map` / :func:`geoplan.maps.interactive_map`.
    """
    L = lambda k: label(k, lang)
    cov = result.parks
    units = result.study.units
    crs = result.study.crs
    unit = units[units["unit_id"] == unit_id]
    if unit.empty:
        raise KeyError(f"no unit with unit_id {unit_id!r}")
    geom = unit.geometry.iloc[0]
    minx, miny, maxx, maxy = geom.bounds
    box = shapely.box(minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m)

    def clip(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        if gdf is None or len(gdf) == 0:
            return gdf
        g = gdf[gdf.intersects(box)].copy()
        if len(g):
            g = g.set_geometry(shapely.clip_by_rect(g.geometry.values, *box.bounds))
            g = g[~g.geometry.is_empty]
        return g

    layers: list = []
    others = units[(units["unit_id"] != unit_id) & units.intersects(box)][["unit_name", "geometry"]]
    if len(others):
        lines = shapely.clip_by_rect(shapely.boundary(others.geometry.values), *box.bounds)
        others = gpd.GeoDataFrame({"unit_name": others["unit_name"].to_numpy()}, geometry=lines, crs=crs)
        others = others[~others.geometry.is_empty & others.geom_type.isin(["LineString", "MultiLineString"])]
        if len(others):
            layers.append(MapLayer(others, L("other_units"), kind="line", color="#777777", weight=1.2, dash="5 3",
                                   tooltip=[("unit_name", L("unit_name"))]))
    st = coverage_status(result.parks) if status is None else status
    su = st[st["unit_id"] == unit_id]
    if len(su):
        layers.append(_status_layer(su, lang, name=L("residential")))
    tiers = [t.id for t in cov.rules.tiers]
    tier_col = {t: TIER_COLOURS[i % len(TIER_COLOURS)] for i, t in enumerate(tiers)}
    tier_lab = {t.id: t.text(lang) for t in cov.rules.tiers}
    p = clip(cov.parks)
    if p is not None and len(p):
        p = p[["name", "tier", "area_m2", "geometry"]].copy()
        p["tier"] = p["tier"].fillna("none")
        p["name"] = p["name"].fillna("")
        present = set(p["tier"])
        cats = {k: v for k, v in tier_col.items() if k in present}
        labs = {k: v for k, v in tier_lab.items() if k in present}
        if "none" in present:
            cats["none"] = "#bdbdbd"
            labs["none"] = text("parks.below_every_tier", lang)
        layers.append(MapLayer(p, L("parks"), kind="polygon", column="tier", categories=cats, category_labels=labs,
                               fill_opacity=0.85, weight=0.8, color="#00441b",
                               tooltip=[("name", L("name")), ("tier", L("tier"))]))
    if "network" in cov.methods and len(cov.access):
        a = clip(cov.access)
        if a is not None and len(a):
            layers.append(MapLayer(a[["park_id", "geometry"]], L("access_points"), kind="point", color="#08306b",
                                   fill_color="#ffffff", fill_opacity=1.0, radius_px=2.5, weight=1.2))
    if len(result.siting):
        s = clip(result.siting)
        if s is not None and len(s):
            layers.append(MapLayer(s[["step", "geometry"]], L("pocket_parks"), kind="polygon", color="#6a3d9a",
                                   fill_color="#cab2d6", fill_opacity=0.85, weight=1.5))
    layers.append(MapLayer(unit[["unit_name", "geometry"]], L("unit_outline"), kind="polygon", color="#111111",
                           fill_color="#ffffff", fill_opacity=0.0, weight=2.4))
    # the map frame is wider or taller than the unit: draw the basemap well beyond the unit
    cx, cy, side = (minx + maxx) / 2, (miny + maxy) / 2, 1.6 * max(maxx - minx, maxy - miny) / 2 + margin_m
    return layers, basemap_layers(result, shapely.box(cx - side, cy - side, cx + side, cy + side))


@dataclass
class MapJob:
    """One static map to draw: :func:`geoplan.maps.static_map` arguments and where it goes.

    Attributes
    ----------
    layers, basemap : list of MapLayer
    folder : Path
        Output folder; the map is written to ``folder / rel``.
    rel : str
        Path of the map relative to the folder (``maps/units/3.png``).
    kwargs : dict
        Other ``static_map`` keyword arguments (title, subtitle, paper, dpi, lang).
    key : str, optional
        Name of the further analysis this map belongs to (its failure is a warning, not an error).
    """

    layers: list
    basemap: list
    folder: Path
    rel: str
    kwargs: dict
    key: str | None = None


def render_map_job(job: MapJob) -> tuple[str, float, str | None]:
    """Draw one map (in a worker process or here); return (rel, seconds, error or None)."""
    t = time.perf_counter()
    try:
        _quiet_static_map(job.layers, job.folder / job.rel, basemap_layers=job.basemap, **job.kwargs)
    except Exception as exc:
        if job.key is None:
            raise
        return job.rel, time.perf_counter() - t, f"{type(exc).__name__}: {exc}"
    return job.rel, time.perf_counter() - t, None


class MapRenderer:
    """Draw static maps in worker processes while the caller goes on; ``wait()`` collects them.

    Falls back to drawing them one after the other in this process when only
    one worker is asked for, or when worker processes cannot be started.
    """

    def __init__(self, jobs: Sequence[MapJob], *, workers: int | None = None, quiet: bool | None = None,
                 desc: str = "maps"):
        self.jobs = list(jobs)
        self.quiet = quiet
        self.desc = desc
        self.workers = default_workers(len(self.jobs)) if workers is None else max(1, int(workers))
        self.busy_s = 0.0
        self._pool = None
        self._futures: list = []

    def __enter__(self) -> MapRenderer:
        if self.workers > 1 and self.jobs:
            import concurrent.futures as cf
            import multiprocessing as mp

            method = "fork" if "fork" in mp.get_all_start_methods() and sys.platform.startswith("linux") else None
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads alive (Python >= 3.12)
                    self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context(method))
                    self._futures = [self._pool.submit(render_map_job, j) for j in self.jobs]
            except (OSError, RuntimeError, ValueError, AssertionError) as exc:
                warnings.warn(f"cannot start map workers ({exc}); drawing the maps one by one.", GeoplanWarning,
                              stacklevel=2)
                self._shutdown()
        return self

    def wait(self) -> set[str]:
        """Wait for every map; return the relative paths drawn.

        Raises
        ------
        Exception
            The first error of a park-coverage or unit map (further analyses' map errors are warnings).
        """
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        done: set[str] = set()
        results = []
        bar = _bar(len(self.jobs), self.desc, self.quiet)
        try:
            if self._pool is not None:
                try:
                    for f in as_completed(self._futures):
                        results.append(f.result())
                        bar.update(1)
                except BrokenProcessPool as exc:
                    warnings.warn(f"a map worker died ({exc}); drawing the rest of the maps here.", GeoplanWarning,
                                  stacklevel=2)
                    self._shutdown()
                    have = {r[0] for r in results}
                    for j in self.jobs:
                        if j.rel not in have:
                            results.append(render_map_job(j))
                            bar.update(1)
            else:
                for j in self.jobs:
                    results.append(render_map_job(j))
                    bar.update(1)
        finally:
            bar.close()
        for rel, secs, err in results:
            self.busy_s += secs
            if err is None:
                done.add(rel)
            else:
                warnings.warn(f"{rel}: the map could not be drawn ({err}); the report shows the tables only.",
                              GeoplanWarning, stacklevel=2)
        return done

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __exit__(self, *exc: object) -> None:
        self._shutdown()


def _bar(total: int, desc: str, quiet: bool | None):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="map", leave=False, file=sys.stderr,
                disable=True if quiet else (None if quiet is None else False))


def _quiet_static_map(*args: Any, **kwargs: Any) -> Path:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        return static_map(*args, **kwargs)


def write_interactive_map(result: Any, folder: Path, lang: str, *, title: str,
                          status: gpd.GeoDataFrame | None = None) -> Path:
    """Write ``folder/map.html``: every layer of the audit on one offline map.

    Parameters
    ----------
    result : AuditResult
    folder : Path
    lang : {"zh", "en"}
    title : str
        The report's title (the area's name); the map adds what it shows.
    status : GeoDataFrame, optional
        :func:`coverage_status` of the result, if already computed.
    """
    layers = audit_map_layers(result, lang, status=status)
    m = interactive_map(layers, title=f"{title} · {label('park_coverage', lang)}", basemap="osm-data",
                        basemap_layers=basemap_layers(result), lang=lang)
    return save_map(m, Path(folder) / "map.html")


def print_jobs(layers: list, base: list, folder: Path, stem: str, kwargs: dict, *, key: str | None = None,
               papers: Sequence[str] = PRINT_PAPERS) -> list[MapJob]:
    """The print versions of one map: each paper as a 300 dpi PNG and a vector PDF (``maps/<stem>_<paper>.<ext>``).

    The A4 PNG comes last, so a caller keeping one file per ``key`` keeps the one a page shows.
    """
    jobs = []
    for paper in sorted(papers, key=lambda p: p == "A4"):
        for fmt in ("pdf", "png"):
            jobs.append(MapJob(layers, base, folder, f"maps/{stem}_{paper}.{fmt}",
                               dict(kwargs, paper=paper, dpi=PRINT_DPI), key=key))
    return jobs


def print_map_jobs(result: Any, folder: Path, lang: str, *, area_name: str = "") -> list[MapJob]:
    """The print maps: park coverage and each further analysis, A4 and A3, each a 300 dpi PNG and a vector PDF.

    Parameters
    ----------
    result : AuditResult
    folder : Path
        Output folder (maps go to ``folder/maps``).
    lang : {"zh", "en"}
    area_name : str
        The area's name, in every title.
    """
    res = result
    folder = Path(folder)
    base = basemap_layers(res)
    crs = res.study.crs
    title = f"{label('park_coverage', lang)} · {area_name}".rstrip(" ·")
    sub = res.config.rules.text(lang)
    layers = park_map_layers(res.parks, res.study.units, lang, for_print=True)
    jobs = print_jobs(layers, base, folder, "park_coverage", dict(title=title, subtitle=sub, lang=lang, crs=crs))
    for name, a in res.analyses.items():
        try:
            al = [x for x in analysis_map_layers(a, lang) if getattr(x, "show", True)]
        except Exception as exc:  # noqa: BLE001 - an analysis' map must not cost the whole report
            warnings.warn(f"{name}: its map layers failed ({exc}); the report shows its tables only.",
                          GeoplanWarning, stacklevel=2)
            continue
        if not al or all(len(x.gdf) == 0 for x in al):
            continue
        jobs += print_jobs(al, base, folder, slug(name),
                           dict(title=f"{label(name, lang)} · {area_name}".rstrip(" ·"), lang=lang, crs=crs), key=name)
    return jobs


def unit_map_jobs(result: Any, folder: Path, lang: str, unit_ids: Sequence[Any], *,
                  subtitles: Mapping[Any, str] | None = None,
                  status: gpd.GeoDataFrame | None = None) -> list[MapJob]:
    """One print map per unit (``maps/units/<unit_id>.png``).

    Parameters
    ----------
    result : AuditResult
    folder : Path
    lang : {"zh", "en"}
    unit_ids : sequence
        The units to draw.
    subtitles : mapping, optional
        ``unit_id -> subtitle`` (e.g. the unit's coverage).
    status : GeoDataFrame, optional
        :func:`coverage_status` of the result, if already computed.
    """
    if not unit_ids:
        return []
    res = result
    folder = Path(folder)
    (folder / "maps" / "units").mkdir(parents=True, exist_ok=True)
    status = coverage_status(res.parks) if status is None else status
    names = dict(zip(res.study.units["unit_id"], res.study.units["unit_name"]))
    jobs = []
    for uid in unit_ids:
        layers, base = unit_map_layers(res, uid, lang, status=status)
        kwargs = dict(title=f"{names.get(uid, uid)} · {label('park_coverage', lang)}",
                      subtitle=(subtitles or {}).get(uid), paper="A4", dpi=UNIT_MAP_DPI, lang=lang, crs=res.study.crs)
        jobs += [MapJob(layers, base, folder, f"maps/units/{slug(uid)}.{fmt}", kwargs) for fmt in ("pdf", "png")]
    return jobs
