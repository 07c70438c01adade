"""Gaps between greenway components, the walking paths that would join them, and the links to build.

A *gap* is a pair of greenway components whose nearest points are within
``max_gap_m`` in a straight line.  Its joining path is the shortest walk on
the walking network from any access point of one component to any access
point of the other (access points every ``anchor_spacing_m`` along the
greenway, snapped to the nearest walkable way when it is within
``access_snap_m``; the snap distances are walked too).  Distances come from
the kernel (one :func:`~geoplan.network.multi_source` pass per component,
:func:`~geoplan.network.point_distances` to the other's access points); the
path geometry from :class:`~geoplan.greenways.paths.PathFinder`.

The *links to build* are a minimum spanning tree over the components,
weighted by the joining path length: the shortest set of links that makes
every group of components reachable through gaps one connected system.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from ..network import Snapped, Sources, WalkNetwork, multi_source, point_distances
from .paths import PathFinder
from .topology import GreenwayNetwork, anchors, greenway_network

__all__ = ["find_gaps", "joining_links", "JoiningLinks", "with_links", "greenway_access"]

JOINABLE = "joinable"
NO_PATH = "no walking path within the search distance"
NO_ACCESS = "no walkable way near the greenway"

_GAP_COLUMNS = ["gap_id", "component_a", "component_b", "names_a", "names_b", "levels_a", "levels_b", "straight_m",
                "walk_m", "network_m", "access_a_m", "access_b_m", "detour_ratio", "status", "via", "lon", "lat"]


@dataclass
class JoiningLinks:
    """The minimum set of joining links.

    Attributes
    ----------
    links : GeoDataFrame
        The chosen gaps, shortest first: ``rank``, ``cumulative_m`` and the gap columns.
    total_m : float
        Total walking length of the links (m): what would have to be built or signed.
    systems_before : int
        Components before.
    systems_after : int
        Connected systems once the links exist (1 when every component has a
        gap to some other; components with no gap within ``max_gap_m`` stay apart).
    """

    links: gpd.GeoDataFrame
    total_m: float
    systems_before: int
    systems_after: int


def greenway_access(gw: GreenwayNetwork, walk: WalkNetwork, *, spacing_m: float = 25.0,
                    access_snap_m: float = 50.0) -> gpd.GeoDataFrame:
    """Greenway access points snapped to the walking network.

    Returns
    -------
    GeoDataFrame
        The :func:`~geoplan.greenways.topology.anchors` (``edge``, ``along`` on the
        greenway graph, ``component``) that lie within ``access_snap_m`` of a
        walkable way, with ``w_edge``, ``w_along``, ``w_offset`` on the walking network.
    """
    a = anchors(gw, spacing_m)
    if walk.crs is not None and gw.crs is not None and not gw.crs.equals(walk.crs):
        a = a.to_crs(walk.crs)
    s = walk.snap(a.geometry.values)
    a["w_edge"] = s.edge
    a["w_along"] = s.along
    a["w_offset"] = s.offset
    return a[a["w_offset"] <= access_snap_m].reset_index(drop=True)


def _snapped(df: pd.DataFrame) -> Snapped:
    return Snapped(df["w_edge"].to_numpy(np.int64), df["w_along"].to_numpy(float), df["w_offset"].to_numpy(float))


def find_gaps(gw: GreenwayNetwork, walk: WalkNetwork, *, max_gap_m: float = 300.0, max_walk_m: float = 1000.0,
              access_snap_m: float = 50.0, spacing_m: float = 25.0) -> gpd.GeoDataFrame:
    """Gaps between greenway components and the shortest walking path that would join each.

    Parameters
    ----------
    gw : GreenwayNetwork
    walk : WalkNetwork
        The walking network, in the same CRS.
    max_gap_m : float
        Component pairs whose nearest points are at most this far apart
        (straight line) are gaps (default 300 m).
    max_walk_m : float
        Longest joining walk searched (default 1000 m).
    access_snap_m : float
        Greenway points farther than this from any walkable way are not used.
    spacing_m : float
        Spacing of the greenway access points.

    Returns
    -------
    GeoDataFrame
        One row per gap, nearest first: ``gap_id``, ``component_a``/``_b``,
        their ``names_*`` and ``levels_*``, ``straight_m``, ``walk_m`` (the whole
        joining walk: ``access_a_m`` + ``network_m`` + ``access_b_m``),
        ``detour_ratio`` (walk / straight), ``status`` (``joinable`` or why
        not), ``via`` (street names along the path), ``lon``/``lat`` of the
        link's midpoint, and the link line: from the greenway point, straight to
        the walking network, along it, and straight onto the other greenway
        (the straight line between the components where no path was found).
    """
    crs = gw.crs
    empty = gpd.GeoDataFrame({c: [] for c in _GAP_COLUMNS}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if gw.n_components < 2:
        return empty
    cg = gw.component_geometries()
    ids = cg.index.to_numpy()
    tree = shapely.STRtree(cg.values)
    i, j = tree.query(cg.values, predicate="dwithin", distance=max_gap_m)
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return empty
    straight = shapely.distance(cg.values[i], cg.values[j])
    acc = greenway_access(gw, walk, spacing_m=spacing_m, access_snap_m=access_snap_m)
    by_comp = {c: g for c, g in acc.groupby("component")}
    finder = PathFinder(walk)
    wname = walk.edges["name"].to_numpy() if "name" in walk.edges.columns else np.full(walk.n_edges, None)
    info = gw.components.set_index("component")
    rows = []
    geoms = []
    for a in np.unique(i):
        partners = j[i == a]
        dists = straight[i == a]
        src = by_comp.get(ids[a])
        reach = None
        if src is not None:
            reach = multi_source(walk, Sources.on_edges(_snapped(src), src.index.to_numpy()), max_walk_m)
        for b, sd in zip(partners, dists):
            ca, cb = int(ids[a]), int(ids[b])
            row = {"component_a": ca, "component_b": cb, "straight_m": float(sd), "walk_m": np.nan, "network_m": np.nan,
                   "access_a_m": np.nan, "access_b_m": np.nan, "via": ""}
            tgt = by_comp.get(ids[b])
            line = shapely.shortest_line(cg.values[a], cg.values[b])
            if reach is None or tgt is None:
                row["status"] = NO_ACCESS
            else:
                d, lab = point_distances(walk, reach, _snapped(tgt))
                k = int(np.argmin(d))
                if not np.isfinite(d[k]):
                    row["status"] = NO_PATH
                else:
                    s = acc.loc[int(lab[k])]
                    t = tgt.iloc[k]
                    p = finder.path(int(s["w_edge"]), float(s["w_along"]), int(t["w_edge"]), float(t["w_along"]), max_walk_m)
                    total = float(s["w_offset"]) + p.length + float(t["w_offset"])
                    if abs(total - d[k]) > 1e-3 * max(1.0, d[k]):  # pragma: no cover - a bug, not a data problem
                        raise AssertionError(f"path length {total} differs from the kernel's {d[k]}")
                    sp, tp = s.geometry, t.geometry
                    line = shapely.linestrings(np.vstack([[sp.x, sp.y], p.coords, [tp.x, tp.y]]))
                    names = [x for x in dict.fromkeys(wname[p.edges]) if isinstance(x, str) and x]
                    row.update(status=JOINABLE, walk_m=float(d[k]), network_m=p.length, access_a_m=float(s["w_offset"]),
                               access_b_m=float(t["w_offset"]), via=" / ".join(names[:4]))
            row.update(names_a=info.at[ca, "names"], names_b=info.at[cb, "names"], levels_a=info.at[ca, "levels"],
                       levels_b=info.at[cb, "levels"])
            rows.append(row)
            geoms.append(line)
    df = pd.DataFrame(rows)
    df["detour_ratio"] = df["walk_m"] / df["straight_m"].where(df["straight_m"] > 0)
    g = gpd.GeoDataFrame(df, geometry=geoms, crs=walk.crs or crs)
    mid = shapely.line_interpolate_point(g.geometry.values, 0.5, normalized=True)
    ll = gpd.GeoSeries(mid, crs=g.crs).to_crs("EPSG:4326")
    g["lon"] = ll.x.to_numpy()
    g["lat"] = ll.y.to_numpy()
    g = g.sort_values(["straight_m", "component_a", "component_b"], kind="stable").reset_index(drop=True)
    g["gap_id"] = np.arange(1, len(g) + 1)
    return g[[*_GAP_COLUMNS, "geometry"]]


def joining_links(gaps: gpd.GeoDataFrame, n_components: int | GreenwayNetwork) -> JoiningLinks:
    """The minimum set of joining links: a minimum spanning tree over components.

    Parameters
    ----------
    gaps : GeoDataFrame
        Output of :func:`find_gaps`.
    n_components : int or GreenwayNetwork
        Number of components (ids 1..n), or the network.

    Returns
    -------
    JoiningLinks
    """
    n = n_components.n_components if isinstance(n_components, GreenwayNetwork) else int(n_components)
    ok = gaps[gaps["status"] == JOINABLE] if len(gaps) else gaps
    crs = gaps.crs
    if n < 2 or len(ok) == 0:
        links = gaps.iloc[0:0].copy()
        links.insert(0, "rank", pd.Series([], dtype=np.int64))
        links["cumulative_m"] = pd.Series([], dtype=float)
        return JoiningLinks(gpd.GeoDataFrame(links, geometry="geometry", crs=crs), 0.0, n, n)
    a = ok["component_a"].to_numpy(np.int64) - 1
    b = ok["component_b"].to_numpy(np.int64) - 1
    w = np.maximum(ok["walk_m"].to_numpy(float), 1e-3)
    # ties broken by gap order (already nearest first)
    w = w + np.arange(len(w)) * 1e-9
    M = sparse.coo_matrix((w, (a, b)), shape=(n, n)).tocsr()
    T = csgraph.minimum_spanning_tree(M).tocoo()
    chosen = set(zip(T.row.tolist(), T.col.tolist()))
    sel = np.array([(x, y) in chosen or (y, x) in chosen for x, y in zip(a, b)])
    links = ok[sel].sort_values(["walk_m", "gap_id"], kind="stable").reset_index(drop=True)
    links.insert(0, "rank", np.arange(1, len(links) + 1))
    links["cumulative_m"] = links["walk_m"].cumsum()
    sym = (T + T.T).tocsr()
    systems_after, _ = csgraph.connected_components(sym, directed=False)
    return JoiningLinks(gpd.GeoDataFrame(links, geometry="geometry", crs=crs), float(links["walk_m"].sum()), n,
                        int(systems_after))


def with_links(gw: GreenwayNetwork, links: gpd.GeoDataFrame, level: str = "proposed") -> GreenwayNetwork:
    """The greenway network with the joining links added as lines (same tolerance).

    Parameters
    ----------
    gw : GreenwayNetwork
    links : GeoDataFrame
        Link lines (e.g. :attr:`JoiningLinks.links`).
    level : str
        Level given to the links.

    Returns
    -------
    GreenwayNetwork
    """
    segs = gw.segments[["segment_id", "name", "level", "source", "geometry"]]
    if len(links) == 0:
        return greenway_network(segs, gw.snap_m, node_crossings=gw.node_crossings)
    ln = gpd.GeoDataFrame({
        "segment_id": -np.arange(1, len(links) + 1),
        "name": [f"proposed link {k}" for k in (links["rank"] if "rank" in links.columns else range(1, len(links) + 1))],
        "level": level, "source": "proposed"}, geometry=links.geometry.to_crs(gw.crs).values, crs=gw.crs)
    both = gpd.GeoDataFrame(pd.concat([segs, ln], ignore_index=True), geometry="geometry", crs=gw.crs)
    return greenway_network(both, gw.snap_m, node_crossings=gw.node_crossings)
