"""Continuity of a named greenway corridor: its continuous length, its breaks and where they are.

A corridor is the greenway lines whose name matches a pattern (e.g. 环二环)
or a line layer of its own.  Its lines are joined where they meet or where
ends lie within the tolerance (as in :func:`~geoplan.greenways.topology.greenway_network`);
the connected *pieces* are the stretches one can follow without a break.

*Breaks* are where one piece stops and the next begins: for every dangling
end, the nearest other piece within ``break_search_m``, plus the links of a
minimum spanning tree over the pieces (so that every piece is tied to the
rest, and a ring broken in k places shows k breaks).  Each break has its
straight width, its location, the nearest street, and (with a walking
network) the walk that bridges it today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from ..errors import DataError
from ..network import Sources, WalkNetwork, multi_source, point_distances
from .extract import corridor_mask
from .topology import greenway_network
from ..network import Snapped

__all__ = ["CorridorContinuity", "corridor_continuity"]


@dataclass
class CorridorContinuity:
    """Continuity of one corridor.

    Attributes
    ----------
    name : str
    summary : dict
        ``total_length_m``, ``pieces``, ``continuous_length_m`` (longest piece),
        ``continuous_share_pct``, ``breaks``, ``gap_total_m``, ``largest_gap_m``,
        ``walk_gap_total_m``, and ``continuity_by_tolerance`` (tolerance m →
        continuous share %, pieces).
    pieces : GeoDataFrame
        ``piece`` (1 = longest), ``length_m``, ``share_pct``, multi-line geometry.
    breaks : GeoDataFrame
        ``break_id``, ``piece_a``, ``piece_b``, ``gap_m`` (straight), ``walk_m``
        (walk bridging it; NaN without a network or beyond the search),
        ``near_street``, ``lon``, ``lat`` and the straight line across the break.
    """

    name: str
    summary: dict
    pieces: gpd.GeoDataFrame
    breaks: gpd.GeoDataFrame
    tolerance_table: pd.DataFrame = field(default_factory=pd.DataFrame)


def _select(segments: gpd.GeoDataFrame | None, pattern: str | None, lines: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if lines is not None:
        sel = lines
        if segments is not None and segments.crs is not None and sel.crs is not None and not sel.crs.equals(segments.crs):
            sel = sel.to_crs(segments.crs)
    else:
        if segments is None or pattern is None:
            raise ValueError("give the greenway segments and a name pattern, or a line layer")
        sel = segments[corridor_mask(segments["name"], pattern)]
    if len(sel) == 0:
        raise DataError(f"no greenway line matches the corridor {pattern!r}.",
                        hint="Check the name pattern against the greenway names (a regular expression, e.g. 环二环).")
    return sel[[c for c in sel.columns if c in ("segment_id", "name", "level", "source", "geometry")]]


def _pair_distances(geoms: np.ndarray) -> np.ndarray:
    k = len(geoms)
    a, b = np.triu_indices(k, 1)
    D = np.zeros((k, k))
    d = shapely.distance(geoms[a], geoms[b])
    D[a, b] = d
    D[b, a] = d
    return D


def corridor_continuity(
    segments: gpd.GeoDataFrame | None,
    pattern: str | None = None,
    *,
    lines: gpd.GeoDataFrame | None = None,
    name: str | None = None,
    snap_m: float = 5.0,
    node_crossings: bool | str = "auto",
    break_search_m: float = 2000.0,
    tolerances_m: Iterable[float] = (5, 20, 50, 100),
    walk: WalkNetwork | None = None,
    max_walk_m: float = 2000.0,
    access_snap_m: float = 50.0,
) -> CorridorContinuity:
    """Continuity of a corridor given by a name pattern or a line layer.

    Parameters
    ----------
    segments : GeoDataFrame or None
        Greenway lines in a projected CRS with a ``name`` column.
    pattern : str, optional
        Regular expression matched against ``name`` (case-insensitive), e.g. ``"环二环"``.
    lines : GeoDataFrame, optional
        The corridor's own lines instead of a pattern (projected CRS).
    name : str, optional
        Name used in tables (default: the pattern).
    snap_m : float
        End-joining tolerance (default 5 m).
    node_crossings : bool or "auto"
        See :func:`~geoplan.greenways.topology.greenway_network`.
    break_search_m : float
        How far a dangling end looks for the next piece of the corridor.
    tolerances_m : iterable of float
        Tolerances at which continuity is also reported (digitising gaps close
        as the tolerance grows; real breaks do not).
    walk : WalkNetwork, optional
        Walking network: adds the walk across every break and the nearest street.
    max_walk_m, access_snap_m : float
        Walk search limit; break ends farther than ``access_snap_m`` from a
        walkable way get no walk.

    Returns
    -------
    CorridorContinuity

    Raises
    ------
    DataError
        No line matches the pattern.
    """
    sel = _select(segments, pattern, lines)
    name = name or pattern or "corridor"
    gw = greenway_network(sel, snap_m, node_crossings=node_crossings)
    crs = gw.crs
    comps = gw.components
    cg = gw.component_geometries()
    total = gw.total_length_m
    pieces = gpd.GeoDataFrame({"piece": comps["component"].to_numpy(), "length_m": comps["length_m"].to_numpy(),
                               "share_pct": comps["share_pct"].to_numpy(), "names": comps["names"].to_numpy()},
                              geometry=cg.loc[comps["component"].to_numpy()].values, crs=crs)
    k = len(pieces)
    found: dict[tuple[int, int], tuple[float, object]] = {}
    if k >= 2:
        geoms = cg.values
        D = _pair_distances(geoms)
        T = csgraph.minimum_spanning_tree(sparse.csr_matrix(np.triu(D + 1e-9, 1))).tocoo()
        for a, b in zip(T.row, T.col):
            a, b = int(min(a, b)), int(max(a, b))
            found[(a, b)] = (float(D[a, b]), shapely.shortest_line(geoms[a], geoms[b]))
        ends = gw.vertices[gw.vertices["degree"] == 1]
        ids = cg.index.to_numpy()
        pos = {c: i for i, c in enumerate(ids)}
        for _, e in ends.iterrows():
            p = pos[int(e["component"])]
            d = shapely.distance(e.geometry, geoms)
            d[p] = np.inf
            q = int(np.argmin(d))
            if d[q] <= break_search_m:
                key = (min(p, q), max(p, q))
                if key not in found or d[q] < found[key][0]:
                    found[key] = (float(d[q]), shapely.shortest_line(e.geometry, geoms[q]))
    rows, lines_out = [], []
    for (a, b), (gap, ln) in found.items():
        rows.append({"piece_a": int(cg.index[a]), "piece_b": int(cg.index[b]), "gap_m": gap})
        lines_out.append(ln)
    br = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["piece_a", "piece_b", "gap_m"]),
                          geometry=gpd.GeoSeries(lines_out, crs=crs), crs=crs)
    br["walk_m"] = np.nan
    br["near_street"] = ""
    if len(br):
        mid = shapely.line_interpolate_point(br.geometry.values, 0.5, normalized=True)
        ll = gpd.GeoSeries(mid, crs=crs).to_crs("EPSG:4326")
        br["lon"], br["lat"] = ll.x.to_numpy(), ll.y.to_numpy()
        if walk is not None:
            ends_a = shapely.get_point(br.geometry.values, 0)
            ends_b = shapely.get_point(br.geometry.values, -1)
            sa, sb = walk.snap(ends_a), walk.snap(ends_b)
            sm = walk.snap(mid)
            names = walk.edges["name"].to_numpy() if "name" in walk.edges.columns else np.full(walk.n_edges, None)
            near = [str(names[e]) if isinstance(names[e], str) and off <= 100 else "" for e, off in zip(sm.edge, sm.offset)]
            br["near_street"] = near
            wm = np.full(len(br), np.nan)

            for r in range(len(br)):
                if sa.offset[r] > access_snap_m or sb.offset[r] > access_snap_m:
                    continue
                src = Sources.on_edges(Snapped(sa.edge[r:r + 1], sa.along[r:r + 1], sa.offset[r:r + 1]))
                reach = multi_source(walk, src, max_walk_m)
                d, _ = point_distances(walk, reach, Snapped(sb.edge[r:r + 1], sb.along[r:r + 1], sb.offset[r:r + 1]))
                wm[r] = d[0] if np.isfinite(d[0]) else np.nan
            br["walk_m"] = wm
        br = br.sort_values("gap_m", ascending=False, kind="stable").reset_index(drop=True)
    else:
        br["lon"] = pd.Series([], dtype=float)
        br["lat"] = pd.Series([], dtype=float)
    br.insert(0, "break_id", np.arange(1, len(br) + 1))
    br = br[["break_id", "piece_a", "piece_b", "gap_m", "walk_m", "near_street", "lon", "lat", "geometry"]]
    tol_rows = []
    for t in sorted({float(x) for x in tolerances_m} | {float(snap_m)}):
        g2 = gw if t == float(snap_m) else greenway_network(sel, t, node_crossings=node_crossings)
        tol_rows.append({"corridor": name, "tolerance_m": t, "pieces": g2.n_components,
                         "continuous_length_m": float(g2.components["length_m"].max()),
                         "continuous_share_pct": float(g2.components["share_pct"].max())})
    tol = pd.DataFrame(tol_rows)
    summary = {
        "corridor": name, "pattern": pattern, "snap_m": float(snap_m), "segments": int(sel.shape[0]),
        "total_length_m": total, "pieces": int(k),
        "continuous_length_m": float(comps["length_m"].max()),
        "continuous_share_pct": float(comps["share_pct"].max()),
        "breaks": int(len(br)),
        "gap_total_m": float(br["gap_m"].sum()) if len(br) else 0.0,
        "largest_gap_m": float(br["gap_m"].max()) if len(br) else 0.0,
        "walk_gap_total_m": float(br["walk_m"].sum()) if len(br) and br["walk_m"].notna().any() else None,
        "breaks_without_walk": int(br["walk_m"].isna().sum()) if walk is not None else None,
        "continuity_by_tolerance": {f"{r['tolerance_m']:g}": {"pieces": r["pieces"], "continuous_share_pct": r["continuous_share_pct"]}
                                    for r in tol_rows},
    }
    return CorridorContinuity(name, summary, pieces, br, tol)
