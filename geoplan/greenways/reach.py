"""What the greenway network connects: residential land and residents within a walk, parks linked.

Residential land within ``walk_m`` of a greenway is measured like park
coverage: one bounded :func:`~geoplan.network.multi_source` pass from every
greenway access point (points every ``anchor_spacing_m`` along the
greenway, snapped to the walking network, snap distance walked), then
:func:`~geoplan.network.point_distances` for every residential cell
(snapped to the nearest point on a street, snap distance added).  The
straight-line figure (cell area inside a ``walk_m`` buffer of the greenway)
is reported beside it.

A park is *linked* when its boundary is within ``park_link_m`` (straight
line, default 100 m) of a greenway line.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..network import Snapped, Sources, WalkNetwork, multi_source, point_distances, reached_edge_parts
from .topology import GreenwayNetwork
from .gaps import greenway_access

__all__ = ["GreenwayReach", "greenway_reach", "parks_linked"]


@dataclass
class GreenwayReach:
    """Residential land and residents within a walk of the greenway.

    Attributes
    ----------
    walk_m : float
    cells : DataFrame
        Per residential cell: ``cell_id``, ``unit_id``, ``unit_name``, ``area_m2``,
        ``residents``, ``gw_walk_m`` (walking distance to the nearest greenway
        access point, inf beyond ``walk_m``), ``net_within`` (bool),
        ``euc_within_m2`` (area inside the straight-line buffer).
    overall : DataFrame
        ``method`` (network / euclidean), ``land_m2``, ``within_m2``, ``land_pct``,
        ``residents``, ``within_residents``, ``residents_pct``.
    by_unit : DataFrame
        The same per ``unit_id``/``unit_name``.
    zone : GeoDataFrame
        The area within the walk (reached streets buffered by 15 m) and the
        straight-line buffer, column ``method``.
    """

    walk_m: float
    cells: pd.DataFrame
    overall: pd.DataFrame
    by_unit: pd.DataFrame
    zone: gpd.GeoDataFrame

    def pct(self, method: str = "network", measure: str = "land") -> float:
        """Share of residential land (``land``) or residents within the walk, in percent."""
        row = self.overall[self.overall["method"] == method]
        return float(row[f"{measure}_pct"].iloc[0]) if len(row) else float("nan")


def _table(df: pd.DataFrame, by: list[str] | None) -> pd.DataFrame:
    rows = []
    for method, cov_m2, cov_res in (("network", "net_m2", "net_res"), ("euclidean", "euc_within_m2", "euc_res")):
        t = pd.DataFrame({"land_m2": df["area_m2"], "within_m2": df[cov_m2], "residents": df["residents"],
                          "within_residents": df[cov_res]})
        if by:
            for c in by:
                t[c] = df[c].to_numpy()
            g = t.groupby(by, sort=True).sum().reset_index()
        else:
            g = t.sum().to_frame().T
        g.insert(0, "method", method)
        rows.append(g)
    out = pd.concat(rows, ignore_index=True)
    out["land_pct"] = 100 * out["within_m2"] / out["land_m2"].where(out["land_m2"] > 0)
    out["residents_pct"] = 100 * out["within_residents"] / out["residents"].where(out["residents"] > 0)
    return out


def greenway_reach(gw: GreenwayNetwork, walk: WalkNetwork, cells: gpd.GeoDataFrame, *, walk_m: float = 500.0,
                   access: gpd.GeoDataFrame | None = None, access_snap_m: float = 50.0,
                   spacing_m: float = 25.0) -> GreenwayReach:
    """Residential land and residents within ``walk_m`` of a greenway (walking and straight line).

    Parameters
    ----------
    gw : GreenwayNetwork
    walk : WalkNetwork
        Walking network in the same CRS.
    cells : GeoDataFrame
        Residential cells (``cell_id``, ``area_m2``, ``residents``, and
        ``unit_id``/``unit_name`` for the per-unit table), e.g. ``result.parks.cells``.
    walk_m : float
        Walking distance (default 500 m).
    access : GeoDataFrame, optional
        Greenway access points (:func:`~geoplan.greenways.gaps.greenway_access`);
        computed when omitted.
    access_snap_m, spacing_m : float
        For computing the access points.

    Returns
    -------
    GreenwayReach
    """
    acc = access if access is not None else greenway_access(gw, walk, spacing_m=spacing_m, access_snap_m=access_snap_m)
    c = pd.DataFrame({
        "cell_id": cells["cell_id"].to_numpy() if "cell_id" in cells.columns else np.arange(len(cells)),
        "unit_id": cells["unit_id"].to_numpy() if "unit_id" in cells.columns else 0,
        "unit_name": cells["unit_name"].to_numpy() if "unit_name" in cells.columns else "",
        "area_m2": cells["area_m2"].to_numpy() if "area_m2" in cells.columns else cells.area.to_numpy(),
        "residents": cells["residents"].to_numpy() if "residents" in cells.columns else 0.0,
    })
    if len(acc) and len(cells):
        src = Sources.on_edges(Snapped(acc["w_edge"].to_numpy(np.int64), acc["w_along"].to_numpy(float),
                                       acc["w_offset"].to_numpy(float)))
        reach = multi_source(walk, src, walk_m)
        pts = walk.snap(shapely.point_on_surface(cells.geometry.values))
        d, _ = point_distances(walk, reach, pts)
        parts = reached_edge_parts(walk, reach)
        net_zone = shapely.union_all(shapely.buffer(parts.geometry.values, 15.0, quad_segs=4)) if len(parts) else shapely.Polygon()
    else:
        d = np.full(len(cells), np.inf)
        net_zone = shapely.Polygon()
    c["gw_walk_m"] = d
    c["net_within"] = np.isfinite(d)
    c["net_m2"] = np.where(c["net_within"], c["area_m2"], 0.0)
    c["net_res"] = np.where(c["net_within"], c["residents"], 0.0)
    buf = shapely.union_all(shapely.buffer(gw.segments.geometry.values, walk_m, quad_segs=8))
    shapely.prepare(buf)
    inside = shapely.area(shapely.intersection(cells.geometry.values, buf)) if len(cells) else np.zeros(0)
    c["euc_within_m2"] = inside
    frac = np.divide(inside, c["area_m2"].to_numpy(), out=np.zeros(len(c)), where=c["area_m2"].to_numpy() > 0)
    c["euc_res"] = c["residents"].to_numpy() * frac
    zone = gpd.GeoDataFrame({"method": ["network", "euclidean"], "walk_m": [walk_m, walk_m]},
                            geometry=[net_zone, buf], crs=gw.crs)
    return GreenwayReach(float(walk_m), c, _table(c, None), _table(c, ["unit_id", "unit_name"]), zone)


def parks_linked(gw: GreenwayNetwork, parks: gpd.GeoDataFrame, link_m: float = 100.0) -> pd.DataFrame:
    """Parks within ``link_m`` (straight line) of a greenway, and those not linked.

    Parameters
    ----------
    gw : GreenwayNetwork
    parks : GeoDataFrame
        Park polygons (``park_id``, ``name``, ``area_m2`` are kept when present).
    link_m : float
        Default 100 m.

    Returns
    -------
    DataFrame
        ``park_id``, ``name``, ``area_m2``, ``gw_distance_m`` (to the nearest
        greenway line), ``linked``, ``component`` and ``level`` of that line.
    """
    out = pd.DataFrame({
        "park_id": parks["park_id"].to_numpy() if "park_id" in parks.columns else np.arange(1, len(parks) + 1),
        "name": parks["name"].fillna("").astype(str).to_numpy() if "name" in parks.columns else "",
        "area_m2": parks["area_m2"].to_numpy() if "area_m2" in parks.columns else parks.area.to_numpy(),
    })
    if len(parks) == 0:
        return out.assign(gw_distance_m=[], linked=[], component=[], level=[])
    segs = gw.segments
    tree = shapely.STRtree(segs.geometry.values)
    (pi, si), dist = tree.query_nearest(parks.to_crs(gw.crs).geometry.values, return_distance=True, all_matches=False)
    order = np.argsort(pi, kind="stable")
    pi, si, dist = pi[order], si[order], dist[order]
    out["gw_distance_m"] = dist
    out["linked"] = dist <= link_m
    out["component"] = segs["component"].to_numpy()[si]
    out["level"] = segs["level"].to_numpy()[si]
    return out
