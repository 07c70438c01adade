"""Where residents start their walks: homes, residential cells or a grid over residential land.

All origins carry ``origin_id``, ``residents``, ``unit_id``, ``unit_name`` and a
point geometry in the network CRS; they use the population of the park audit,
so life-circle and park figures count the same residents.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import DataError, UsageError

__all__ = ["ORIGIN_KINDS", "assign_units", "grid_origins", "origins_from_audit"]

ORIGIN_KINDS = ("auto", "buildings", "cells", "grid")


def assign_units(points: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``unit_id`` / ``unit_name`` by point-in-polygon (points outside every unit take the nearest).

    Parameters
    ----------
    points : GeoDataFrame of points
    units : GeoDataFrame with ``unit_id``, ``unit_name``

    Returns
    -------
    GeoDataFrame
        ``points`` with the two columns (replacing any existing ones).
    """
    pts = points.drop(columns=[c for c in ("unit_id", "unit_name") if c in points.columns])
    if len(pts) == 0 or units is None or len(units) == 0:
        pts["unit_id"] = np.zeros(len(pts), dtype=np.int64)
        pts["unit_name"] = np.full(len(pts), "", dtype=object)
        return pts
    tree = shapely.STRtree(units.geometry.values)
    pi, ui = tree.query(pts.geometry.values, predicate="within")
    first = pd.Series(ui, index=pi).groupby(level=0).first()
    which = np.full(len(pts), -1, dtype=np.int64)
    which[first.index.to_numpy()] = first.to_numpy()
    lost = np.nonzero(which < 0)[0]
    if len(lost):
        near = tree.query_nearest(pts.geometry.values[lost], all_matches=False, return_distance=False)
        order = np.argsort(near[0], kind="stable")
        which[lost[near[0][order]]] = near[1][order]
    pts["unit_id"] = units["unit_id"].to_numpy()[which]
    pts["unit_name"] = units["unit_name"].to_numpy()[which]
    return pts


def grid_origins(residential: gpd.GeoDataFrame, size_m: float, population: gpd.GeoDataFrame | None = None,
                 units: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Sample residential land on a square grid; give each grid point the residents nearest to it.

    Parameters
    ----------
    residential : GeoDataFrame
        Residential land polygons (projected).
    size_m : float
        Grid spacing in metres (5 to 1,000).
    population : GeoDataFrame, optional
        Points with ``residents`` (buildings or cell points); each is given to
        its nearest grid point, so totals are conserved.
    units : GeoDataFrame, optional
        For ``unit_id`` / ``unit_name``.

    Returns
    -------
    GeoDataFrame
        ``origin_id``, ``residents``, ``unit_id``, ``unit_name``, point geometry.
    """
    size_m = float(size_m)
    if not (5 <= size_m <= 1000):
        raise UsageError(f"life-circle grid_size_m={size_m:g} is out of range.", hint="Use 5 to 1,000 m.")
    crs = residential.crs
    land = shapely.union_all(residential.geometry.values)
    if land.is_empty:
        raise DataError("no residential land to sample origins on.")
    x0, y0, x1, y1 = land.bounds
    xs = np.arange(np.floor(x0 / size_m) * size_m + size_m / 2, x1, size_m)
    ys = np.arange(np.floor(y0 / size_m) * size_m + size_m / 2, y1, size_m)
    gx, gy = np.meshgrid(xs, ys)
    pts = shapely.points(gx.ravel(), gy.ravel())
    shapely.prepare(land)
    pts = pts[shapely.contains(land, pts)]
    if len(pts) == 0:  # slivers smaller than the grid: one point per polygon
        pts = shapely.point_on_surface(residential.geometry.values)
    g = gpd.GeoDataFrame({"origin_id": np.arange(1, len(pts) + 1)}, geometry=pts, crs=crs)
    res = np.zeros(len(g))
    if population is not None and len(population):
        tree = shapely.STRtree(g.geometry.values)
        near = tree.query_nearest(population.geometry.values, all_matches=False, return_distance=False)
        np.add.at(res, near[1], population["residents"].to_numpy(float)[near[0]])
    g["residents"] = res
    return assign_units(g, units) if units is not None else g


def origins_from_audit(result, kind: str = "auto", grid_size_m: float = 50.0) -> tuple[gpd.GeoDataFrame, str]:
    """Origins of an audit: residential buildings, residential cells or a grid.

    Parameters
    ----------
    result : AuditResult
    kind : {"auto", "buildings", "cells", "grid"}
        ``auto``: the residential buildings of the population estimate when
        residents were estimated from buildings, else the residential cells
        (with the residents of the population raster) at their point on surface.
    grid_size_m : float
        Spacing of the ``grid`` option.

    Returns
    -------
    origins : GeoDataFrame
        ``origin_id``, ``residents``, ``unit_id``, ``unit_name``, point geometry.
    kind : str
        The kind used.
    """
    if kind not in ORIGIN_KINDS:
        raise UsageError(f"unknown life-circle origins {kind!r}.", hint=f"Use one of {', '.join(ORIGIN_KINDS)}.")
    study, pop, cells = result.study, result.population, result.parks.cells
    have_buildings = pop.method == "buildings" and pop.points is not None and len(pop.points) > 0
    if kind == "auto":
        kind = "buildings" if have_buildings else "cells"
    if kind == "buildings":
        if not have_buildings:
            raise UsageError("life-circle origins 'buildings' need residents estimated from buildings.",
                             hint=f"The population came from {pop.method}; use origins: cells or grid.")
        p = pop.points
        o = gpd.GeoDataFrame({"origin_id": np.arange(1, len(p) + 1), "residents": p["residents"].to_numpy(float)},
                             geometry=p.geometry.values, crs=p.crs)
        if "osm_id" in p.columns:
            o["osm_id"] = p["osm_id"].to_numpy()
        return assign_units(o, study.units), kind
    if kind == "cells":
        o = gpd.GeoDataFrame(
            {"origin_id": np.arange(1, len(cells) + 1),
             "residents": cells["residents"].to_numpy(float) if "residents" in cells else np.zeros(len(cells)),
             "unit_id": cells["unit_id"].to_numpy(), "unit_name": cells["unit_name"].to_numpy(),
             "cell_id": cells["cell_id"].to_numpy()},
            geometry=shapely.point_on_surface(cells.geometry.values), crs=cells.crs)
        return o, kind
    popu = pop.points if have_buildings else gpd.GeoDataFrame(
        {"residents": cells["residents"].to_numpy(float) if "residents" in cells else np.zeros(len(cells))},
        geometry=shapely.point_on_surface(cells.geometry.values), crs=cells.crs)
    return grid_origins(study.residential, grid_size_m, popu, study.units), kind
