"""The kernel's grouped pass and its paths (geoplan.network), checked against networkx on small hand-made grids.

The real-data evidence that the grouped pass changes no figure is the byte comparison of the audit
folders before and after (scripts/compare_outputs.py, issue #15).
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from geoplan.greenways.paths import PathFinder
from geoplan.network import (
    Snapped,
    Sources,
    WalkNetwork,
    distances_by_group,
    multi_source,
    path_nodes,
    point_distances,
    sources_by_group,
)

CRS = "EPSG:32650"


def _grid(n: int = 5, step: float = 100.0, seed: int = 0) -> WalkNetwork:
    """An n x n street grid whose edges are bent a little (lengths differ, so shortest paths are unique)."""
    rng = np.random.default_rng(seed)
    pts = {(i, j): k for k, (i, j) in enumerate((i, j) for i in range(n) for j in range(n))}
    segs = [((i, j), (i + 1, j)) for i in range(n - 1) for j in range(n)] + \
           [((i, j), (i, j + 1)) for i in range(n) for j in range(n - 1)]
    geoms, u, v = [], [], []
    for a, b in segs:
        mid = ((a[0] + b[0]) / 2 * step + rng.uniform(-20, 20), (a[1] + b[1]) / 2 * step + rng.uniform(-20, 20))
        geoms.append(shapely.LineString([(a[0] * step, a[1] * step), mid, (b[0] * step, b[1] * step)]))
        u.append(pts[a])
        v.append(pts[b])
    edges = gpd.GeoDataFrame({"u": u, "v": v, "length": [g.length for g in geoms]}, geometry=geoms, crs=CRS)
    xy = np.array(list(pts), dtype=float) * step
    return WalkNetwork(np.arange(len(pts)) + 1, xy[:, 0], xy[:, 1], edges, CRS)


def _nx_point_distance(net: WalkNetwork, src: Snapped, pt: Snapped, i: int) -> float:
    """Shortest walk from any source point to point ``i``, by networkx on the graph with both points inserted."""
    G = nx.Graph()
    for e, (a, b, L) in enumerate(zip(net.edge_u, net.edge_v, net.edge_length)):
        G.add_edge(int(a), int(b), weight=float(L))
    G.add_node("S")
    for e, t, o in zip(src.edge, src.along, src.offset):
        a, b, L = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length[e])
        for node, w in ((a, o + t), (b, o + L - t)):
            if not G.has_edge("S", node) or G["S"][node]["weight"] > w:
                G.add_edge("S", node, weight=w)
    e, t = int(pt.edge[i]), float(pt.along[i])
    a, b, L = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length[e])
    d = nx.single_source_dijkstra_path_length(G, "S", weight="weight")
    best = min(d.get(a, np.inf) + t, d.get(b, np.inf) + L - t)
    same = [o + abs(t - s) for se, s, o in zip(src.edge, src.along, src.offset) if se == e]
    return min([best, *same]) + float(pt.offset[i])


def test_distances_by_group_match_networkx_per_group():
    net = _grid()
    rng = np.random.default_rng(1)
    fac = net.snap(shapely.points(rng.uniform(0, 400, (12, 2))))
    group = np.array(["school", "clinic", "market"] * 4, dtype=object)
    homes = net.snap(shapely.points(rng.uniform(0, 400, (30, 2))))
    src = sources_by_group(fac, np.arange(12) + 100, group, ["school", "clinic", "market", "library"])
    assert list(src) == ["school", "clinic", "market", "library"] and len(src["library"]) == 0
    limits = {"school": 1e6, "clinic": 1e6, "market": 150.0, "library": 500.0}
    out = distances_by_group(net, src, homes, limits)
    assert out["library"].reach is None and np.isinf(out["library"].dist).all() and (out["library"].label == -1).all()
    for g in ("school", "clinic"):
        mine = np.nonzero(group == g)[0]
        expect = [_nx_point_distance(net, fac.take(mine), homes, i) for i in range(len(homes))]
        assert out[g].dist == pytest.approx(expect, abs=1e-6)
        assert set(out[g].label) <= set(mine + 100)
    # the bound: beyond 150 m the market group gives inf and -1, within it the true distance
    mine = np.nonzero(group == "market")[0]
    expect = np.array([_nx_point_distance(net, fac.take(mine), homes, i) for i in range(len(homes))])
    d = out["market"].dist
    assert np.isinf(d[expect > 150]).all() and d[expect <= 150] == pytest.approx(expect[expect <= 150], abs=1e-6)
    # the grouped pass is the plain pass per group
    one = multi_source(net, src["school"], 1e6)
    assert np.array_equal(point_distances(net, one, homes)[0], out["school"].dist)


def test_paths_from_the_kernel_predecessors_are_the_networkx_paths():
    net = _grid(6, seed=3)
    G = nx.Graph()
    for a, b, L in zip(net.edge_u, net.edge_v, net.edge_length):
        G.add_edge(int(a), int(b), weight=float(L))
    reach = multi_source(net, Sources.at_nodes([0]), np.inf)
    for target in (7, 20, 35):
        assert path_nodes(reach, target).tolist() == nx.dijkstra_path(G, 0, target, weight="weight")
    # PathFinder: a point on one edge to a point on another; length and geometry length agree with networkx
    f = PathFinder(net)
    p = f.path(0, 10.0, 40, 25.0)
    a, b, La = int(net.edge_u[0]), int(net.edge_v[0]), float(net.edge_length[0])
    c, d, Lc = int(net.edge_u[40]), int(net.edge_v[40]), float(net.edge_length[40])
    dist = dict(nx.all_pairs_dijkstra_path_length(G, weight="weight"))
    expect = min(s + dist[x][y] + t for x, s in ((a, 10.0), (b, La - 10.0)) for y, t in ((c, 25.0), (d, Lc - 25.0)))
    assert p.length == pytest.approx(expect, abs=1e-6)
    assert shapely.LineString(p.coords).length == pytest.approx(expect, abs=1e-6)
    assert p.edges[0] == 0 and p.edges[-1] == 40
    # unreached: empty path
    assert len(path_nodes(multi_source(net, Sources.at_nodes([0]), 50.0), 35)) == 0
