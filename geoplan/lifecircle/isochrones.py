"""Walking isochrones: the streets reached within 5, 10 and 15 minutes, drawn as areas.

An isochrone is built from the *reached network* (STANDARDS D.1, option 2):
the edges and the reachable parts of partly reached edges
(:func:`~geoplan.network.reached_edge_parts`), the reached nodes and the walk
from the point to its street, buffered by a small street width. Never a
convex hull, which would claim land behind walls, rail lines and rivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import UsageError
from ..network import (
    Snapped,
    Sources,
    WalkNetwork,
    multi_source,
    point_distances,
    reached_edge_parts,
)

__all__ = ["isochrone_polygon", "isochrones"]


def isochrone_polygon(network: WalkNetwork, reach: Any, limit_m: float, buffer_m: float,
                      start: tuple[Any, Any] | None = None) -> Any:
    """The area within ``limit_m`` of one kernel pass: reached street parts and nodes, buffered.

    Parameters
    ----------
    network : WalkNetwork
    reach : Reach
        A pass of :func:`~geoplan.network.multi_source` with ``reach.limit >= limit_m``.
    limit_m : float
    buffer_m : float
        Half the street width drawn around the reached lines (metres).
    start : (Point, Point), optional
        The isochrone's point and its snapped point on the street: the straight
        walk between them is part of the area when it is shorter than ``limit_m``.

    Returns
    -------
    shapely Polygon or MultiPolygon (empty when nothing is reached)
    """
    parts = reached_edge_parts(network, reach, limit_m).geometry.values
    geoms = []
    if len(parts):
        # merging touching parts first halves the pieces to buffer and union
        geoms += list(shapely.get_parts(shapely.line_merge(shapely.multilinestrings(list(parts)))))
    # nodes reached exactly at the limit have no reached edge part of positive length
    edge_nodes = np.nonzero(np.abs(reach.dist - limit_m) <= 1e-6)[0]
    geoms += list(shapely.points(np.c_[network.x[edge_nodes], network.y[edge_nodes]]))
    if start is not None and start[0].distance(start[1]) <= limit_m:
        geoms.append(shapely.LineString([start[0], start[1]]) if start[0].distance(start[1]) > 0 else start[0])
    if not geoms:
        return shapely.Polygon()
    return shapely.union_all(shapely.buffer(np.asarray(geoms, dtype=object), buffer_m, quad_segs=4))


def isochrones(
    network: WalkNetwork,
    points: gpd.GeoDataFrame | gpd.GeoSeries | Sequence[Any],
    minutes: Sequence[float] = (5, 10, 15),
    *,
    speed_kmh: float = 4.5,
    distances_m: Sequence[float] | None = None,
    buffer_m: float = 25.0,
    origins: gpd.GeoDataFrame | None = None,
    origin_snap: Snapped | None = None,
    labels: Sequence[Any] | None = None,
) -> gpd.GeoDataFrame:
    """Walking areas within each time band of every point, built from the reached street network.

    Parameters
    ----------
    network : WalkNetwork
    points : GeoDataFrame, GeoSeries or sequence of Points
        Centres (community centres, unit centroids ...) in the network CRS.
    minutes : sequence of float
        Time bands (default 5, 10, 15).
    speed_kmh : float
        Walking speed turning minutes into distance (default 4.5 km/h = 75 m/min).
    distances_m : sequence of float, optional
        The band distances, one per minute value, instead of minutes x speed
        (e.g. GB 50180's normative 300 / 500 / 1,000 m).
    buffer_m : float
        Street width drawn on each side of the reached streets (default 25 m).
    origins : GeoDataFrame, optional
        Homes with ``residents``: the residents whose walk from the point is
        within each band (network distance, snap included) are counted.
    origin_snap : Snapped, optional
        ``origins`` already snapped.
    labels : sequence, optional
        A name per point (default: a ``name`` / ``unit_name`` column, else the number).

    Returns
    -------
    GeoDataFrame
        One row per point and band, largest band first: ``point_id``, ``label``,
        ``minutes``, ``distance_m``, ``area_m2``, ``residents``, ``snap_m`` and
        the polygon; bands are nested (each contains the smaller ones).
    """
    if isinstance(points, gpd.GeoDataFrame):
        geoms = points.geometry.values
        if labels is None:
            col = next((c for c in ("label", "name", "unit_name") if c in points.columns), None)
            labels = points[col].astype(str).to_list() if col else None
        crs = points.crs
    else:
        geoms = np.asarray(points.values if isinstance(points, gpd.GeoSeries) else list(points), dtype=object)
        crs = network.crs
    minutes = [float(m) for m in minutes]
    if distances_m is None:
        if not (0.5 <= speed_kmh <= 20):
            raise UsageError(f"walking speed {speed_kmh:g} km/h is out of range.", hint="Use 0.5 to 20 km/h.")
        distances_m = [m * speed_kmh * 1000.0 / 60.0 for m in minutes]
    distances_m = [float(d) for d in distances_m]
    if len(distances_m) != len(minutes):
        raise UsageError("isochrones: give one distance per time band.")
    if not all(d > 0 for d in distances_m):
        raise UsageError("isochrones: band distances must be positive.")
    if buffer_m < 0:
        raise UsageError("isochrones: buffer_m must not be negative.")
    labels = list(labels) if labels is not None else [str(i + 1) for i in range(len(geoms))]
    order = np.argsort(distances_m)[::-1]
    limit = max(distances_m)
    snap = network.snap(geoms)
    on_street = shapely.line_interpolate_point(network.edges.geometry.values[snap.edge], snap.along)
    if origins is not None and origin_snap is None and len(origins):
        origin_snap = network.snap(origins.geometry.values)
    res = origins["residents"].to_numpy(float) if origins is not None and "residents" in origins else None
    rows = []
    for i, g in enumerate(geoms):
        one = Snapped(snap.edge[i:i + 1], snap.along[i:i + 1], snap.offset[i:i + 1])
        reach = multi_source(network, Sources.on_edges(one), limit)
        od = point_distances(network, reach, origin_snap)[0] if res is not None else None
        for j in order:
            d = distances_m[j]
            poly = isochrone_polygon(network, reach, d, buffer_m, (g, on_street[i]))
            rows.append({
                "point_id": i + 1, "label": labels[i], "minutes": minutes[j], "distance_m": d,
                "area_m2": float(poly.area), "residents": float(res[od <= d].sum()) if res is not None else np.nan,
                "snap_m": float(snap.offset[i]), "geometry": poly,
            })
    if not rows:
        return gpd.GeoDataFrame({"point_id": [], "label": [], "minutes": [], "distance_m": [], "area_m2": [],
                                 "residents": [], "snap_m": []}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=crs)
