"""How residential land is covered, piece by piece: the split the maps and unit pages draw."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .coverage import ParkCoverage

__all__ = ["coverage_status"]


def _split(geoms: np.ndarray, zone: Any) -> tuple[np.ndarray, np.ndarray]:
    """The part of each geometry inside ``zone`` and the part outside it.

    Only geometries on the zone's edge are overlaid (an overlay with a district-wide
    zone costs as much for a cell deep inside it as for one on its edge): a cell
    inside the zone is all inside, a cell apart from it all outside.
    """
    empty = shapely.Polygon()
    if zone.is_empty or len(geoms) == 0:
        return np.full(len(geoms), empty, dtype=object), np.asarray(geoms, dtype=object)
    shapely.prepare(zone)
    within = shapely.contains_properly(zone, geoms)
    apart = ~shapely.intersects(zone, geoms)
    edge = ~(within | apart)
    inside = np.full(len(geoms), empty, dtype=object)
    outside = np.full(len(geoms), empty, dtype=object)
    inside[within] = geoms[within]
    outside[apart] = geoms[apart]
    inside[edge] = shapely.intersection(geoms[edge], zone)
    outside[edge] = shapely.difference(geoms[edge], zone)
    return inside, outside


def coverage_status(cov: ParkCoverage) -> gpd.GeoDataFrame:
    """Residential land split by how it is covered, dissolved per unit.

    With both methods the classes are ``walk_covered`` (within walking distance
    of a park), ``line_only`` (inside the straight-line radius but not within
    walking distance: the straight-line-minus-network difference on the map)
    and ``not_covered``; with one method ``covered`` and ``not_covered``.

    Parameters
    ----------
    cov : ParkCoverage
        Park coverage of an audit (``AuditResult.parks``).

    Returns
    -------
    GeoDataFrame
        ``unit_id``, ``unit_name``, ``status``, ``area_m2``, ``residents`` in the study CRS.
    """
    cells = cov.cells
    geoms = cells.geometry.values
    area = cells["area_m2"].to_numpy(dtype=float)
    res = cells["residents"].to_numpy(dtype=float)
    pieces: list[tuple[np.ndarray, np.ndarray, str]] = []  # (cell index, geometry, status)
    idx = np.arange(len(cells))
    if "euclidean" in cov.methods:
        z = cov.zones[(cov.zones["method"] == "euclidean") & (cov.zones["tier"] == "all")]
        zone = z.geometry.iloc[0] if len(z) else shapely.Polygon()
        shapely.prepare(zone)
    if set(cov.methods) == {"euclidean", "network"}:
        walk = cells["net_covered"].to_numpy(dtype=bool)
        pieces.append((idx[walk], geoms[walk], "walk_covered"))
        rest = ~walk
        inside, outside = _split(geoms[rest], zone)
        pieces.append((idx[rest], inside, "line_only"))
        pieces.append((idx[rest], outside, "not_covered"))
    elif "network" in cov.methods:
        walk = cells["net_covered"].to_numpy(dtype=bool)
        pieces.append((idx[walk], geoms[walk], "covered"))
        pieces.append((idx[~walk], geoms[~walk], "not_covered"))
    else:
        inside, outside = _split(geoms, zone)
        pieces.append((idx, inside, "covered"))
        pieces.append((idx, outside, "not_covered"))
    frames = []
    for ci, g, status in pieces:
        if len(ci) == 0:
            continue
        a = shapely.area(g)
        keep = a > 0.01
        frac = np.divide(a, area[ci], out=np.zeros(len(ci)), where=area[ci] > 0)
        frames.append(pd.DataFrame({"unit_id": cells["unit_id"].to_numpy()[ci][keep],
                                    "unit_name": cells["unit_name"].to_numpy()[ci][keep],
                                    "status": status, "area_m2": a[keep], "residents": (res[ci] * frac)[keep],
                                    "geometry": g[keep]}))
    if not frames:
        return gpd.GeoDataFrame({"unit_id": [], "unit_name": [], "status": [], "area_m2": [], "residents": []},
                                geometry=[], crs=cells.crs)
    df = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=cells.crs)
    out = df.dissolve(by=["unit_id", "unit_name", "status"], aggfunc={"area_m2": "sum", "residents": "sum"}).reset_index()
    return out
