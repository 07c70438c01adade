"""Pocket-park siting: which candidate sites remove the most blind spots (消盲).

Greedy maximum coverage: at each step pick the candidate that newly serves
the most residents (then the most residential land) among residential cells
still uncovered, until ``count`` sites are chosen or no candidate gains.
Greedy is within (1 - 1/e) of the optimum for this problem and is what a
planner can follow step by step.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from ..config import Rules
from ..network import Sources, WalkNetwork, multi_source, point_distances
from .access import access_points
from .selection import select_parks

__all__ = ["site_pocket_parks", "candidate_cover_matrix"]


def candidate_cover_matrix(
    cells: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    method: str,
    network: WalkNetwork | None = None,
    access_kw: dict | None = None,
) -> sparse.csc_matrix:
    """Boolean matrix (cells x sites): whether each site would serve each cell.

    ``euclidean``: the cell's representative point is within the site's radius
    of its boundary.  ``network``: the walk from the site's access points to the
    cell (snap included) is within the radius — one bounded pass per site.
    """
    rep = shapely.point_on_surface(cells.geometry.values)
    rows, cols = [], []
    if method == "euclidean":
        tree = shapely.STRtree(rep)
        for j, (g, r) in enumerate(zip(sites.geometry.values, sites["radius_m"].to_numpy())):
            i = tree.query(g, predicate="dwithin", distance=r)
            rows.append(i)
            cols.append(np.full(len(i), j))
    else:
        snapped = network.snap(rep)
        acc = access_points(sites, network, None, **(access_kw or {}))
        for j, (pid, r) in enumerate(zip(sites["park_id"].to_numpy(), sites["radius_m"].to_numpy())):
            a = acc[acc["park_id"] == pid]
            reach = multi_source(network, Sources.on_edges(network.snap(a.geometry.values)), r)
            d, _ = point_distances(network, reach, snapped)
            i = np.nonzero(np.isfinite(d))[0]
            rows.append(i)
            cols.append(np.full(len(i), j))
    r = np.concatenate(rows) if rows else np.empty(0, int)
    c = np.concatenate(cols) if cols else np.empty(0, int)
    return sparse.csc_matrix((np.ones(len(r), bool), (r, c)), shape=(len(cells), len(sites)))


def site_pocket_parks(
    cells: gpd.GeoDataFrame,
    covered: np.ndarray,
    candidates: gpd.GeoDataFrame,
    rules: Rules,
    *,
    count: int = 5,
    method: str = "network",
    network: WalkNetwork | None = None,
    existing_parks: gpd.GeoDataFrame | None = None,
    access_kw: dict | None = None,
) -> gpd.GeoDataFrame:
    """Choose up to ``count`` candidate sites greedily to maximise newly served residents.

    Parameters
    ----------
    cells : GeoDataFrame
        Residential cells with ``residents`` and ``area_m2``.
    covered : ndarray of bool
        Cells already served (by the chosen method).
    candidates : GeoDataFrame
        Candidate site polygons (user layer or OSM vacant land) in the cells' CRS.
        Sites smaller than the smallest tier cannot count and are skipped;
        sites overlapping an existing park are skipped too.
    rules : Rules
    count : int
    method : str
        ``"network"`` or ``"euclidean"``.
    network : WalkNetwork
        For the network method.
    existing_parks : GeoDataFrame, optional
    access_kw : dict, optional
        Options for :func:`~geoplan.parks.access_points`.

    Returns
    -------
    GeoDataFrame
        One row per chosen site in order: ``step``, ``name``, ``area_m2``, ``tier``,
        ``radius_m``, ``new_residents``, ``new_land_m2``, ``land_pct_after``,
        ``residents_pct_after``.
    """
    cols = ["step", "name", "osm_id", "area_m2", "tier", "radius_m", "new_residents", "new_land_m2",
            "land_pct_after", "residents_pct_after"]
    empty = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=cells.crs)
    if candidates is None or len(candidates) == 0 or count <= 0:
        return empty
    sites = select_parks(candidates, rules, None, merge=False)
    sites = sites[sites["tier"].notna()]
    if existing_parks is not None and len(existing_parks):
        shapely.prepare(existing_parks.geometry.values)
        tree = shapely.STRtree(existing_parks.geometry.values)
        si, _ = tree.query(sites.geometry.values, predicate="intersects")
        sites = sites[~np.isin(np.arange(len(sites)), si)]
    sites = sites.reset_index(drop=True)
    if sites.empty:
        return empty
    M = candidate_cover_matrix(cells, sites, method, network, access_kw)
    res = cells["residents"].to_numpy()
    area = cells["area_m2"].to_numpy()
    cov = np.asarray(covered, bool).copy()
    total_area, total_res = area.sum(), res.sum()
    chosen = []
    done = np.zeros(M.shape[1], bool)  # sites already chosen gain nothing more (M itself is left as built)
    for step in range(1, count + 1):
        open_ = ~cov
        gain_r = np.where(done, 0.0, M.T @ (res * open_))
        gain_a = np.where(done, 0.0, M.T @ (area * open_))
        score = gain_r * 1e6 + gain_a if total_res > 0 else gain_a
        j = int(np.argmax(score))
        if gain_a[j] <= 0:
            break
        newly = M[:, j].toarray().ravel() & open_
        cov |= newly
        s = sites.iloc[j]
        chosen.append({
            "step": step, "name": s["name"], "osm_id": s["osm_id"], "area_m2": s["area_m2"], "tier": s["tier"],
            "radius_m": s["radius_m"], "new_residents": float(res[newly].sum()), "new_land_m2": float(area[newly].sum()),
            "land_pct_after": 100 * area[cov].sum() / total_area,
            "residents_pct_after": 100 * res[cov].sum() / total_res if total_res > 0 else np.nan,
            "geometry": s.geometry,
        })
        done[j] = True
    if not chosen:
        return empty
    return gpd.GeoDataFrame(pd.DataFrame(chosen), geometry="geometry", crs=cells.crs)
