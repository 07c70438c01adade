"""Where people walk into a park: its access points on the walking network.

In order of preference (BRIEF, section 1):

1. gates and entrances mapped on (or within a few metres of) the boundary;
2. points where walkable ways cross the boundary, and network nodes that
   touch it (within a few metres);
3. for open parks with neither, virtual access points every ~100 m along the
   boundary, snapped to the nearest street (the snap distance is walked).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..network import WalkNetwork

__all__ = ["ACCESS_RULES", "access_points"]

#: The access-point rules (see :func:`access_points`).
ACCESS_RULES = ("ladder", "gates", "virtual")


def access_points(
    parks: gpd.GeoDataFrame,
    network: WalkNetwork,
    entrances: gpd.GeoDataFrame | None = None,
    *,
    gate_tolerance_m: float = 15.0,
    touch_tolerance_m: float = 5.0,
    virtual_spacing_m: float = 100.0,
    prefer_gates: bool = True,
    rule: str = "ladder",
) -> gpd.GeoDataFrame:
    """Access points of every park.

    Parameters
    ----------
    parks : GeoDataFrame
        Output of :func:`~geoplan.parks.select_parks` (``park_id``, polygons).
    network : WalkNetwork
    entrances : GeoDataFrame, optional
        Gate/entrance points (projected CRS).
    gate_tolerance_m, touch_tolerance_m, virtual_spacing_m : float
    prefer_gates : bool
        Where a park has mapped gates, use only its gates (walls elsewhere).
    rule : str
        ``ladder`` (default): the order of preference above. ``gates``: mapped gates and
        entrances only (a park with none is not entered on foot). ``virtual``: the ladder plus
        virtual points every ``virtual_spacing_m`` along the boundary of every park without
        mapped gates (open parks, entered anywhere).

    Returns
    -------
    GeoDataFrame
        ``park_id``, ``kind`` (gate, crossing, touch, virtual) and point geometry.
    """
    if rule not in ACCESS_RULES:
        raise ValueError(f"access point rule {rule!r}: use one of {', '.join(ACCESS_RULES)}")
    crs = parks.crs
    boundary = parks.geometry.boundary.values
    pid = parks["park_id"].to_numpy()
    rows: list[pd.DataFrame] = []

    # 1. gates on the boundary
    gates = pd.DataFrame({"park_id": [], "kind": [], "geometry": []})
    if entrances is not None and len(entrances):
        tree = shapely.STRtree(entrances.geometry.values)
        pi, ei = tree.query(boundary, predicate="dwithin", distance=gate_tolerance_m)
        gates = pd.DataFrame({"park_id": pid[pi], "kind": "gate", "geometry": entrances.geometry.values[ei]})
        rows.append(gates)
    gated = set(gates["park_id"]) if prefer_gates else set()
    if rule == "gates":
        out = gpd.GeoDataFrame(gates, geometry="geometry", crs=crs) if len(gates) else gpd.GeoDataFrame(
            {"park_id": np.array([], dtype=np.int64), "kind": np.array([], dtype=object)}, geometry=[], crs=crs)
        return _unique(out)

    # 2. crossings of walkable ways and nodes touching the boundary
    etree = network.tree
    pi, ei = etree.query(boundary, predicate="intersects")
    keep = ~np.isin(pid[pi], list(gated))
    pi, ei = pi[keep], ei[keep]
    if len(pi):
        x = shapely.intersection(boundary[pi], network.edges.geometry.values[ei])
        cross = gpd.GeoDataFrame({"park_id": pid[pi]}, geometry=x, crs=crs).explode(ignore_index=True)
        cross = cross[cross.geom_type == "Point"]
        rows.append(pd.DataFrame({"park_id": cross["park_id"].to_numpy(), "kind": "crossing", "geometry": cross.geometry.values}))
    nodes = shapely.points(network.x, network.y)
    ntree = shapely.STRtree(nodes)
    pi, ni = ntree.query(boundary, predicate="dwithin", distance=touch_tolerance_m)
    keep = ~np.isin(pid[pi], list(gated))
    rows.append(pd.DataFrame({"park_id": pid[pi][keep], "kind": "touch", "geometry": nodes[ni][keep]}))

    found = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["park_id", "kind", "geometry"])
    # 3. virtual points along the boundary of parks with no access at all
    missing = ~np.isin(pid, found["park_id"].unique()) if rule == "ladder" else ~np.isin(pid, list(gated))
    if missing.any():
        v_rows = []
        for k in np.nonzero(missing)[0]:
            ring = boundary[k]
            n = max(1, int(np.ceil(ring.length / virtual_spacing_m)))
            pts = shapely.line_interpolate_point(ring, np.arange(n) * ring.length / n)
            pts = np.atleast_1d(pts)
            v_rows.append(pd.DataFrame({"park_id": pid[k], "kind": "virtual", "geometry": pts}))
        found = pd.concat([found, *v_rows], ignore_index=True)
    return _unique(gpd.GeoDataFrame(found, geometry="geometry", crs=crs))


def _unique(out: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One point per location and park."""
    if not len(out):
        return out.reset_index(drop=True)
    key = out["park_id"].astype(str) + shapely.to_wkb(shapely.set_precision(out.geometry.values, 0.01), hex=True)
    return out.loc[~key.duplicated()].reset_index(drop=True)
