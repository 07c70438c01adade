"""Homes whose nearest street is a detached fragment of the map.

OpenStreetMap often maps the paths inside a campus, a compound or a park
without joining them to the streets.  Such a fragment reaches nothing: a
home snapped onto it would be "beyond walking distance" of every park,
which is a gap of the map, not of the city.  :meth:`WalkNetwork.snap
<geoplan.network.WalkNetwork.snap>` therefore joins every point to the main
network (:func:`geoplan.network.main_pieces`) and records the fragment it
passed; this module lists those homes, per cell and per unit, so that a
planner can see where the map needs mending and how far the homes walk to
the main network instead.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..network import Snapped, WalkNetwork

__all__ = ["fragment_homes", "fragment_homes_by_unit", "fragment_pieces", "fragment_summary"]

_COLUMNS = ["cell_id", "unit_id", "unit_name", "place", "area_m2", "residents", "fragment_piece", "fragment_m",
            "fragment_km", "fragment_ways", "snap_m", "extra_snap_m"]


def fragment_pieces(network: WalkNetwork) -> pd.DataFrame:
    """The detached fragments of a network: one row per piece that is not a main one.

    Returns
    -------
    DataFrame
        ``piece``, ``nodes``, ``edges``, ``length_km``, ``highways`` (the most common
        highway values), ``names`` (street names on it) and ``at_edge`` (it touches the
        outer hull of the network: likely cut off by the extract's border rather than
        left unjoined by the mappers), longest first.
    """
    comp, main = network.pieces()
    cols = ["piece", "nodes", "edges", "length_km", "highways", "names", "at_edge"]
    if network.n_edges == 0 or main.all():
        return pd.DataFrame({c: [] for c in cols})
    ep = comp[network.edge_u]
    frag = ~main[ep]
    e = pd.DataFrame({"piece": ep[frag], "length": network.edge_length[frag],
                      "highway": network.edges["highway"].to_numpy()[frag] if "highway" in network.edges else None,
                      "name": network.edges["name"].to_numpy()[frag] if "name" in network.edges else None})

    def _top(s: pd.Series) -> str:
        v = s.dropna().astype(str)
        return ", ".join(v.value_counts().index[:3]) if len(v) else ""

    g = e.groupby("piece").agg(edges=("length", "size"), length_km=("length", lambda s: s.sum() / 1000),
                               highways=("highway", _top), names=("name", _top)).reset_index()
    g.insert(1, "nodes", np.bincount(comp)[g["piece"].to_numpy()])
    hull = shapely.boundary(shapely.convex_hull(shapely.multipoints(np.c_[network.x, network.y])))
    near = shapely.dwithin(shapely.points(network.x, network.y), hull, 1.0)
    g["at_edge"] = np.isin(g["piece"].to_numpy(), np.unique(comp[near]))
    return g.sort_values("length_km", ascending=False, kind="stable").reset_index(drop=True)[cols]


def fragment_homes(cells: gpd.GeoDataFrame, network: WalkNetwork, snapped: Snapped,
                   places: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Residential cells whose nearest street is a detached fragment of the network.

    Parameters
    ----------
    cells : GeoDataFrame
        Residential cells (``cell_id``, ``unit_id``, ``unit_name``, ``area_m2``, ``residents``).
    network : WalkNetwork
    snapped : Snapped
        How the cells joined the network (:meth:`WalkNetwork.snap` of their
        representative points, which records the fragments passed).
    places : GeoDataFrame, optional
        Named residential areas (``name``) in the same CRS, to say where the cells are.

    Returns
    -------
    GeoDataFrame
        One row per such cell: ``place`` (name of the residential area, if known),
        ``fragment_piece`` (piece id, see :func:`fragment_pieces`), ``fragment_m``
        (straight distance to the fragment), ``fragment_km`` (its length),
        ``fragment_ways`` (its highway values), ``snap_m`` (straight distance to the
        main network, walked instead) and ``extra_snap_m`` (= ``snap_m`` - ``fragment_m``).
    """
    on = snapped.on_fragment
    idx = np.nonzero(on)[0]
    sub = cells.iloc[idx]
    out = pd.DataFrame({c: sub[c].to_numpy() for c in ("cell_id", "unit_id", "unit_name", "area_m2", "residents")
                        if c in sub.columns})
    out["place"] = _place_names(sub.geometry.values, places) if len(sub) else np.empty(0, object)
    comp, _ = network.pieces()
    fe = snapped.fragment_edge[idx] if snapped.fragment_edge is not None else np.empty(0, np.int64)
    piece = comp[network.edge_u[fe]] if len(fe) else np.empty(0, np.int64)
    pieces = fragment_pieces(network).set_index("piece")
    out["fragment_piece"] = piece
    out["fragment_m"] = snapped.fragment_offset[idx] if snapped.fragment_offset is not None else np.empty(0)
    out["fragment_km"] = pieces["length_km"].reindex(piece).to_numpy() if len(piece) else np.empty(0)
    out["fragment_ways"] = pieces["highways"].reindex(piece).to_numpy() if len(piece) else np.empty(0, object)
    out["snap_m"] = snapped.offset[idx]
    out["extra_snap_m"] = out["snap_m"] - out["fragment_m"]
    out = out[[c for c in _COLUMNS if c in out.columns]]
    return gpd.GeoDataFrame(out, geometry=sub.geometry.values, crs=cells.crs)


def fragment_homes_by_unit(listing: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Per unit: residential cells, land and residents whose nearest street is a detached fragment.

    Returns
    -------
    DataFrame
        ``unit_id``, ``unit_name``, ``cells``, ``cells_on_fragments``, ``land_m2_on_fragments``,
        ``residents``, ``residents_on_fragments``, ``residents_on_fragments_pct`` and the
        resident-weighted mean ``extra_snap_m`` of those homes; every unit, 0 where none.
    """
    keys = ["unit_id", "unit_name"]
    base = cells.groupby(keys, sort=True).agg(cells=("area_m2", "size"), residents=("residents", "sum")).reset_index()
    lst = pd.DataFrame(listing)
    w = lst["residents"].to_numpy(float) if len(lst) else np.empty(0)
    f = pd.DataFrame({"unit_id": lst["unit_id"].to_numpy() if len(lst) else [], "n": 1,
                      "land": lst["area_m2"].to_numpy(float) if len(lst) else [], "res": w,
                      "w_extra": w * lst["extra_snap_m"].to_numpy(float) if len(lst) else []})
    g = f.groupby("unit_id").sum()
    out = base.merge(g, left_on="unit_id", right_index=True, how="left")
    out[["n", "land", "res", "w_extra"]] = out[["n", "land", "res", "w_extra"]].fillna(0.0)
    out["extra_snap_m"] = np.where(out["res"] > 0, out["w_extra"] / out["res"].where(out["res"] > 0, 1.0), np.nan)
    out["residents_on_fragments_pct"] = 100 * out["res"] / out["residents"].where(out["residents"] > 0)
    out = out.rename(columns={"n": "cells_on_fragments", "land": "land_m2_on_fragments", "res": "residents_on_fragments"})
    out["cells_on_fragments"] = out["cells_on_fragments"].astype(int)
    return out[["unit_id", "unit_name", "cells", "cells_on_fragments", "land_m2_on_fragments", "residents",
                "residents_on_fragments", "residents_on_fragments_pct", "extra_snap_m"]]


def _place_names(geoms: np.ndarray, places: gpd.GeoDataFrame | None) -> np.ndarray:
    """Name of the smallest named area containing each geometry's representative point (None if none)."""
    out = np.full(len(geoms), None, dtype=object)
    if places is None or len(places) == 0 or "name" not in places.columns:
        return out
    named = places[places["name"].notna() & (places["name"].astype(str).str.len() > 0)]
    if len(named) == 0:
        return out
    order = np.argsort(shapely.area(named.geometry.values))[::-1]  # the smallest last: it wins
    names = named["name"].astype(str).to_numpy()[order]
    tree = shapely.STRtree(named.geometry.values[order])
    gi, pi = tree.query(shapely.point_on_surface(np.asarray(geoms, dtype=object)), predicate="within")
    if len(gi):
        last = pd.Series(pi).groupby(gi).max()  # the smallest area containing the point
        out[last.index.to_numpy()] = names[last.to_numpy()]
    return out


def fragment_summary(listing: pd.DataFrame, cells: pd.DataFrame) -> dict[str, Any]:
    """Headline figures of the homes on fragments (for ``summary.json``)."""
    tot = float(cells["residents"].sum())
    r = float(listing["residents"].sum()) if len(listing) else 0.0
    land = float(listing["area_m2"].sum()) if len(listing) else 0.0
    return {"cells": int(len(listing)), "residents": round(r, 1),
            "residents_pct": round(100 * r / tot, 3) if tot > 0 else None,
            "land_pct": round(100 * land / float(cells["area_m2"].sum()), 3) if float(cells["area_m2"].sum()) > 0 else None,
            "units": int(listing["unit_id"].nunique()) if len(listing) else 0,
            "places": sorted({str(p) for p in listing["place"] if isinstance(p, str)}) if len(listing) else []}
