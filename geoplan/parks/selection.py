"""Which parks count, and in which tier of a rule set."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..config import Rules

__all__ = ["merge_touching", "select_parks"]


def merge_touching(parks: gpd.GeoDataFrame, tolerance: float = 1.0) -> gpd.GeoDataFrame:
    """Merge park polygons that touch, overlap or lie within ``tolerance`` metres.

    A park cut into fragments by a path is one park: its area is the area of the
    merged polygon.  The merged park keeps the name and OSM id of its largest
    named fragment and lists how many fragments it was made of.

    Parameters
    ----------
    parks : GeoDataFrame
        Park polygons in a projected CRS, with optional ``name`` and ``id`` columns.
    tolerance : float
        Fragments closer than this (metres) are merged.

    Returns
    -------
    GeoDataFrame with ``name``, ``osm_id``, ``fragments``.
    """
    g = parks.geometry.values
    n = len(g)
    if n == 0:
        return gpd.GeoDataFrame({"name": [], "osm_id": [], "fragments": []}, geometry=[], crs=parks.crs)
    tree = shapely.STRtree(g)
    i, j = tree.query(g, predicate="dwithin", distance=tolerance)
    _, group = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)
    names = parks["name"] if "name" in parks.columns else pd.Series([None] * n, index=parks.index)
    ids = parks["id"] if "id" in parks.columns else pd.Series(np.arange(n), index=parks.index)
    df = pd.DataFrame({"group": group, "area": shapely.area(g), "name": names.to_numpy(), "osm_id": ids.to_numpy()})
    df["named"] = df["name"].notna() & (df["name"].astype(str) != "")
    rep = df.sort_values(["group", "named", "area"], ascending=[True, False, False]).drop_duplicates("group").set_index("group")
    geoms = [shapely.union_all(g[group == k]) for k in range(group.max() + 1)]
    out = gpd.GeoDataFrame(
        {"name": rep.loc[np.arange(len(geoms)), "name"].to_numpy(),
         "osm_id": rep.loc[np.arange(len(geoms)), "osm_id"].to_numpy(),
         "fragments": np.bincount(group)},
        geometry=geoms, crs=parks.crs,
    )
    return out


def select_parks(
    parks: gpd.GeoDataFrame,
    rules: Rules,
    historic: gpd.GeoDataFrame | None = None,
    *,
    merge: bool = True,
    merge_tolerance: float = 1.0,
) -> gpd.GeoDataFrame:
    """Assign every park the first tier of ``rules`` it qualifies for.

    Parameters
    ----------
    parks : GeoDataFrame
        Park polygons in a projected CRS.
    rules : Rules
    historic : GeoDataFrame, optional
        Historic-cultural districts; tiers with ``within_historic`` apply only to
        parks whose representative point lies inside one.
    merge : bool
        Merge touching fragments before measuring area (see :func:`merge_touching`).
    merge_tolerance : float
        Metres.

    Returns
    -------
    GeoDataFrame
        ``park_id``, ``name``, ``osm_id``, ``fragments``, ``area_m2``, ``in_historic``,
        ``tier`` (None for parks below every tier: they do not count), ``radius_m``.
    """
    if merge:
        p = merge_touching(parks, merge_tolerance)
    else:
        p = gpd.GeoDataFrame(
            {"name": parks.get("name"), "osm_id": parks.get("id"), "fragments": 1},
            geometry=parks.geometry.values, crs=parks.crs,
        )
    p["area_m2"] = p.geometry.area
    if historic is not None and len(historic):
        h = shapely.union_all(historic.geometry.values)
        p["in_historic"] = p.geometry.representative_point().within(h).to_numpy()
    else:
        p["in_historic"] = False
    tier = np.full(len(p), None, dtype=object)
    radius = np.full(len(p), np.nan)
    area = p["area_m2"].to_numpy()
    inh = p["in_historic"].to_numpy()
    for t in rules.tiers:
        ok = (tier == None) & (area >= t.min_area_m2) & (area < t.max_area_m2)  # noqa: E711
        if t.within_historic:
            ok &= inh
        tier[ok] = t.id
        radius[ok] = t.radius_m
    p["tier"] = tier
    p["radius_m"] = radius
    p = p.sort_values("area_m2", ascending=False, kind="stable").reset_index(drop=True)
    p.insert(0, "park_id", np.arange(1, len(p) + 1))
    return p
