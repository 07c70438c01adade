"""The walking network and the one shortest-path kernel of geoplan.

Every analysis (park coverage, life circles, greenways, isochrones) measures
walking distance with :func:`multi_source`: one distance-bounded Dijkstra pass
from *all* sources of a kind at once (all parks of a tier, all facilities of a
category), returning for every network node the distance to the nearest
source and which source it is.  Points that are not network nodes (homes,
park entrances in the middle of a street, facilities) are snapped to the
nearest point *on an edge*, never to the nearest node, and the snap distance
is part of the walk.

The network is held as arrays (:class:`WalkNetwork`): node coordinates, an
undirected edge list with lengths and geometries, and a symmetric CSR matrix
that keeps the *shortest* of parallel edges.  :meth:`WalkNetwork.to_networkx`
gives the same graph as an osmnx-compatible ``networkx.MultiDiGraph``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from .errors import DataError

#: Connected pieces of the walking network with fewer nodes than this share of the largest piece
#: are detached fragments of mapping (paths inside a campus or a park that OpenStreetMap does not
#: join to the streets): points are snapped to the main pieces, never onto a fragment.
MAIN_PIECE_SHARE = 0.2

__all__ = [
    "MAIN_PIECE_SHARE",
    "WalkNetwork",
    "Snapped",
    "main_pieces",
    "Sources",
    "Reach",
    "GroupDistances",
    "build_network",
    "multi_source",
    "point_distances",
    "sources_by_group",
    "distances_by_group",
    "reached_edge_parts",
    "path_nodes",
    "all_pairs",
]


@dataclass(frozen=True)
class Snapped:
    """Points snapped to the nearest point on a network edge.

    Attributes
    ----------
    edge : ndarray of int
        Index of the edge (row of :attr:`WalkNetwork.edges`) each point snaps to.
    along : ndarray of float
        Distance in metres from the edge's ``u`` end to the snapped point, along the edge.
    offset : ndarray of float
        Straight-line distance in metres from the point to the snapped point.
    fragment_edge : ndarray of int or None
        Where the nearest edge of all lies on a detached fragment of the network (see
        :func:`main_pieces`), that edge; -1 where the nearest edge is on a main piece.
        None when the snapping did not look at pieces.
    fragment_offset : ndarray of float or None
        Straight-line distance in metres to that fragment edge (NaN where none).
    """

    edge: np.ndarray
    along: np.ndarray
    offset: np.ndarray
    fragment_edge: np.ndarray | None = None
    fragment_offset: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.edge)

    @classmethod
    def from_columns(cls, table: pd.DataFrame, prefix: str = "snap_") -> "Snapped":
        """Points stored as the columns ``<prefix>edge``, ``<prefix>along`` and ``<prefix>m`` (offset) of a table."""
        return cls(table[f"{prefix}edge"].to_numpy(np.int64), table[f"{prefix}along"].to_numpy(float),
                   table[f"{prefix}m"].to_numpy(float))

    def take(self, index: np.ndarray) -> "Snapped":
        """The points at ``index`` (integer positions or a boolean mask), with their fragment records."""
        return Snapped(self.edge[index], self.along[index], self.offset[index],
                       None if self.fragment_edge is None else self.fragment_edge[index],
                       None if self.fragment_offset is None else self.fragment_offset[index])

    @property
    def on_fragment(self) -> np.ndarray:
        """Whether each point's nearest street is a detached fragment (it was snapped past it)."""
        if self.fragment_edge is None:
            return np.zeros(len(self.edge), bool)
        return self.fragment_edge >= 0


@dataclass(frozen=True)
class Sources:
    """Where walks start: network nodes and/or points on edges, each with a label.

    A source that lies on an edge is equivalent to two sources at the edge's
    ends whose walks start already ``along`` and ``length - along`` metres long;
    :func:`multi_source` treats it that way.

    Attributes
    ----------
    node : ndarray of int
        Network node index of node sources.
    node_label : ndarray of int
        Label (e.g. park number) of each node source.
    node_offset : ndarray of float
        Metres already walked when the walk leaves the node (0 for a node itself).
    snapped : Snapped or None
        Sources lying on edges.
    snapped_label : ndarray of int
        Label of each snapped source.
    """

    node: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    node_label: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    node_offset: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=float))
    snapped: Snapped | None = None
    snapped_label: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @classmethod
    def at_nodes(cls, node: Sequence[int], label: Sequence[int] | None = None) -> "Sources":
        """Sources at network nodes (labels default to 0..n-1)."""
        node = np.asarray(node, dtype=np.int64)
        lab = np.arange(len(node)) if label is None else np.asarray(label, dtype=np.int64)
        return cls(node=node, node_label=lab, node_offset=np.zeros(len(node)))

    @classmethod
    def on_edges(cls, snapped: Snapped, label: Sequence[int] | None = None) -> "Sources":
        """Sources at points snapped onto edges (labels default to 0..n-1)."""
        lab = np.arange(len(snapped)) if label is None else np.asarray(label, dtype=np.int64)
        return cls(snapped=snapped, snapped_label=lab)

    def __len__(self) -> int:
        return len(self.node) + (0 if self.snapped is None else len(self.snapped))


@dataclass(frozen=True)
class Reach:
    """Result of one multi-source pass.

    Attributes
    ----------
    dist : ndarray of float
        Walking distance in metres from the nearest source to every node
        (``inf`` where no source is within the limit).
    label : ndarray of int
        Label of the nearest source for every node (-1 where unreached).
    limit : float
        The distance bound of the pass.
    sources : Sources
        The sources of the pass (needed to finish distances to points on edges).
    pred : ndarray of int or None
        Predecessor of every node on its shortest walk from the nearest source (:func:`path_nodes`):
        another node, a start of the pass (``>= n_nodes``: a source on an edge or away from its node),
        or -1 at a node source itself and where unreached.
    """

    dist: np.ndarray
    label: np.ndarray
    limit: float
    sources: Sources
    pred: np.ndarray | None = None


class WalkNetwork:
    """An undirected walking network in a projected metric CRS, held as arrays.

    Parameters
    ----------
    node_id : array of int
        OpenStreetMap node ids (may contain distinct nodes at identical coordinates).
    x, y : array of float
        Projected node coordinates in metres.
    edges : GeoDataFrame
        One row per edge with integer columns ``u`` and ``v`` (node *indices*,
        not OSM ids), ``length`` in metres and a LineString geometry running
        from ``u`` to ``v``; other columns (``osmid``, ``highway``, ``name``) are kept.
    crs : CRS-like
        The projected CRS of the coordinates.
    main_share : float
        Which connected pieces are the main network that points snap to (see
        :func:`main_pieces`); 0 snaps to the nearest edge of any piece.
    """

    def __init__(self, node_id: np.ndarray, x: np.ndarray, y: np.ndarray, edges: gpd.GeoDataFrame, crs: Any,
                 main_share: float = MAIN_PIECE_SHARE):
        self.node_id = np.asarray(node_id, dtype=np.int64)
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.edges = edges.reset_index(drop=True)
        self.crs = edges.crs if crs is None else crs
        self.edge_u = self.edges["u"].to_numpy(np.int64)
        self.edge_v = self.edges["v"].to_numpy(np.int64)
        self.edge_length = self.edges["length"].to_numpy(float)
        self.graph = _symmetric_min_csr(self.edge_u, self.edge_v, self.edge_length, self.n_nodes)
        self._tree: shapely.STRtree | None = None
        self._index_of_id: dict[int, int] | None = None
        self.main_share = float(main_share)
        self._pieces: dict = {}

    # -- basic facts -------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_id)

    @property
    def n_edges(self) -> int:
        """Number of (undirected) edges."""
        return len(self.edges)

    def __repr__(self) -> str:
        km = self.edge_length.sum() / 1000
        return f"<WalkNetwork {self.n_nodes:,} nodes, {self.n_edges:,} edges, {km:,.1f} km, {self.crs}>"

    def node_index(self, osm_ids: Sequence[int]) -> np.ndarray:
        """Node indices of OpenStreetMap node ids (-1 where the id is not in the network)."""
        if self._index_of_id is None:
            self._index_of_id = {int(i): k for k, i in enumerate(self.node_id)}
        get = self._index_of_id.get
        return np.fromiter((get(int(i), -1) for i in osm_ids), dtype=np.int64, count=len(osm_ids))

    def nodes_gdf(self) -> gpd.GeoDataFrame:
        """Nodes as a GeoDataFrame (index = node index, column ``osmid``)."""
        return gpd.GeoDataFrame(
            {"osmid": self.node_id}, geometry=gpd.points_from_xy(self.x, self.y), crs=self.crs
        )

    # -- snapping ----------------------------------------------------------
    @property
    def tree(self) -> shapely.STRtree:
        """Spatial index over edge geometries."""
        if self._tree is None:
            self._tree = shapely.STRtree(self.edges.geometry.values)
        return self._tree

    def pieces(self, share: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Connected piece of every node and whether each piece is a main one (:func:`main_pieces`)."""
        share = self.main_share if share is None else float(share)
        if share not in self._pieces:
            self._pieces[share] = main_pieces(self, share)
        return self._pieces[share]

    def main_edges(self, share: float | None = None) -> np.ndarray:
        """Boolean mask of the edges lying on a main piece of the network."""
        comp, main = self.pieces(share)
        if self.n_edges == 0:
            return np.zeros(0, bool)
        return main[comp[self.edge_u]]

    def _main_tree(self, share: float) -> tuple[shapely.STRtree, np.ndarray]:
        key = ("tree", share)
        if key not in self._pieces:
            idx = np.nonzero(self.main_edges(share))[0]
            self._pieces[key] = (shapely.STRtree(self.edges.geometry.values[idx]), idx)
        return self._pieces[key]

    def snap(self, points: Sequence[shapely.Point] | gpd.GeoSeries | np.ndarray, *, share: float | None = None) -> Snapped:
        """Snap points to the nearest point on the nearest edge of the main network.

        A point whose nearest edge lies on a detached fragment of the network (a
        piece smaller than ``share`` of the largest one, see :func:`main_pieces`)
        is snapped to the nearest edge of a main piece instead, and the fragment it
        passed is recorded (:attr:`Snapped.fragment_edge`): walking from a fragment
        reaches nothing, which is a gap of the map, not of the city.

        Parameters
        ----------
        points : sequence of shapely Points in the network CRS
        share : float, optional
            The main-piece share (default: the network's :attr:`main_share`); 0 snaps
            to the nearest edge of any piece.

        Returns
        -------
        Snapped
        """
        pts = np.asarray(points.values if isinstance(points, gpd.GeoSeries) else points, dtype=object)
        if len(pts) == 0:
            return Snapped(np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int64), np.empty(0))
        if self.n_edges == 0:
            raise DataError("the walking network has no edges: nothing to snap to.")
        edge = _nearest(self.tree, pts, np.arange(self.n_edges))
        frag_edge = np.full(len(pts), -1, dtype=np.int64)
        frag_off = np.full(len(pts), np.nan)
        share = self.main_share if share is None else float(share)
        if share > 0:
            on_main = self.main_edges(share)
            off_main = np.nonzero(~on_main[edge])[0]
            if len(off_main):
                frag_edge[off_main] = edge[off_main]
                frag_off[off_main] = shapely.distance(pts[off_main], self.edges.geometry.values[edge[off_main]])
                tree, idx = self._main_tree(share)
                edge[off_main] = _nearest(tree, pts[off_main], idx)
        lines = self.edges.geometry.values[edge]
        along = shapely.line_locate_point(lines, pts)
        on_line = shapely.line_interpolate_point(lines, along)
        offset = shapely.distance(pts, on_line)
        # geometry length and stored length agree by construction (projected lengths)
        along = np.clip(along, 0.0, self.edge_length[edge])
        return Snapped(edge, along, offset, frag_edge, frag_off)

    # -- conversions -------------------------------------------------------
    def to_networkx(self) -> nx.MultiDiGraph:
        """The network as an osmnx-compatible ``MultiDiGraph`` keyed by OSM node ids.

        Every undirected edge becomes two directed edges (walking ignores oneway);
        attributes: ``length`` (m), ``geometry``, ``osmid``, ``highway``, ``name``.
        """
        G = nx.MultiDiGraph(crs=self.crs, simplified=False)
        G.add_nodes_from(
            (int(i), {"x": float(x), "y": float(y)}) for i, x, y in zip(self.node_id, self.x, self.y)
        )
        keep = [c for c in ("osmid", "highway", "name") if c in self.edges.columns]
        attrs = self.edges[keep].to_dict("records") if keep else [{}] * self.n_edges
        geoms = self.edges.geometry.values
        for k, (u, v, length) in enumerate(zip(self.edge_u, self.edge_v, self.edge_length)):
            a = {"length": float(length), "geometry": geoms[k], **attrs[k]}
            G.add_edge(int(self.node_id[u]), int(self.node_id[v]), **a)
            G.add_edge(int(self.node_id[v]), int(self.node_id[u]), **{**a, "geometry": geoms[k].reverse()})
        return G

    def subset(self, keep_edges: np.ndarray) -> "WalkNetwork":
        """A new network with only the given edges (boolean mask or indices) and their nodes."""
        e = self.edges.iloc[np.asarray(keep_edges)] if np.asarray(keep_edges).dtype != bool else self.edges[keep_edges]
        used = np.unique(np.concatenate([e["u"].to_numpy(), e["v"].to_numpy()]))
        remap = np.full(self.n_nodes, -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        e = e.copy()
        e["u"] = remap[e["u"].to_numpy()]
        e["v"] = remap[e["v"].to_numpy()]
        return WalkNetwork(self.node_id[used], self.x[used], self.y[used], e, self.crs, self.main_share)


def _nearest(tree: shapely.STRtree, pts: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Index (from ``index``, the items of ``tree``) of the nearest tree geometry to every point."""
    idx = tree.query_nearest(pts, all_matches=False, return_distance=False)
    # query_nearest returns (input index, tree index) pairs, one per input point
    order = np.argsort(idx[0], kind="stable")
    return np.asarray(index, dtype=np.int64)[idx[1][order]]


def main_pieces(net: WalkNetwork, share: float = MAIN_PIECE_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """The connected pieces of a network and which of them are its main network.

    A piece is *main* when it has at least ``share`` of the nodes of the largest
    piece; the others are fragments of mapping (a campus's or a park's paths that
    the map does not join to the streets), which reach nothing beyond themselves.
    This is the one rule of geoplan for "the network that reaches the rest of the
    city": snapping (:meth:`WalkNetwork.snap`) and the compound model use it.

    Parameters
    ----------
    net : WalkNetwork
    share : float
        0 makes every piece main.

    Returns
    -------
    piece : ndarray of int
        Connected piece of every node.
    main : ndarray of bool
        Per piece, whether it is a main one.
    """
    if net.n_nodes == 0:
        return np.empty(0, np.int64), np.empty(0, bool)
    _, comp = csgraph.connected_components(net.graph, directed=False)
    size = np.bincount(comp)
    return comp.astype(np.int64), size >= float(share) * size.max()


def _symmetric_min_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sparse.csr_matrix:
    """Symmetric CSR matrix keeping the minimum weight of parallel edges.

    A plain ``coo_matrix(...).tocsr()`` *sums* duplicate entries, which turns two
    parallel 50 m edges into one 100 m edge; here duplicates are reduced with
    ``min`` first.  Self-loops are dropped and zero lengths are raised to 1 mm
    because a stored zero would read as "no edge".
    """
    keep = u != v
    a = np.concatenate([u[keep], v[keep]])
    b = np.concatenate([v[keep], u[keep]])
    ww = np.maximum(np.concatenate([w[keep], w[keep]]), 1e-3)
    if len(a) == 0:
        return sparse.csr_matrix((n, n))
    key = a * n + b
    order = np.lexsort((ww, key))
    key, ww = key[order], ww[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, ww = key[first], ww[first]
    return sparse.csr_matrix((ww, (key // n, key % n)), shape=(n, n))


def build_network(
    nodes: pd.DataFrame,
    edges: gpd.GeoDataFrame,
    crs: Any,
) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from OSM node and edge tables.

    Parameters
    ----------
    nodes : DataFrame
        Columns ``id`` (OSM node id), ``lon``, ``lat``.
    edges : GeoDataFrame
        Columns ``u``, ``v`` (OSM node ids) and a LineString geometry in EPSG:4326
        (as produced by ``pyrosm.OSM.get_network(nodes=True)``); ``id``, ``highway``,
        ``name`` are kept.
    crs : CRS-like
        The projected metric CRS to work in.

    Returns
    -------
    WalkNetwork
        Edge lengths are the lengths of the projected geometries in metres.
    """
    if len(edges) == 0:
        raise DataError("the area has no walking network (no highway usable on foot).")
    edges = edges[edges.geometry.notna() & ~edges.geometry.is_empty]
    used_ids = np.unique(np.concatenate([edges["u"].to_numpy(np.int64), edges["v"].to_numpy(np.int64)]))
    nodes = nodes.drop_duplicates("id").set_index("id")
    missing = np.setdiff1d(used_ids, nodes.index.to_numpy(np.int64))
    if len(missing):
        raise DataError(f"{len(missing)} edge end nodes are missing from the node table (e.g. node {missing[0]}).")
    nodes = nodes.loc[used_ids]
    pts = gpd.GeoSeries(gpd.points_from_xy(nodes["lon"], nodes["lat"]), crs="EPSG:4326").to_crs(crs)
    index_of = pd.Series(np.arange(len(used_ids)), index=used_ids)
    e = gpd.GeoDataFrame(
        {
            "u": index_of.loc[edges["u"].to_numpy(np.int64)].to_numpy(),
            "v": index_of.loc[edges["v"].to_numpy(np.int64)].to_numpy(),
            "osmid": edges["id"].to_numpy() if "id" in edges else -1,
            "highway": edges["highway"].to_numpy() if "highway" in edges else None,
            "name": edges["name"].to_numpy() if "name" in edges else None,
        },
        geometry=edges.geometry.to_crs(crs).values,
        crs=crs,
    )
    e["length"] = e.geometry.length.to_numpy()
    return WalkNetwork(used_ids, pts.x.to_numpy(), pts.y.to_numpy(), e, crs)


# ---------------------------------------------------------------------------
# the kernel
# ---------------------------------------------------------------------------
def multi_source(net: WalkNetwork, sources: Sources, limit: float) -> Reach:
    """One bounded multi-source Dijkstra pass: distance and nearest source for every node.

    Parameters
    ----------
    net : WalkNetwork
    sources : Sources
        Node sources and/or points on edges, each with a label.
    limit : float
        Largest distance of interest in metres; nodes farther than this from every
        source are left unreached (``inf``, label -1).

    Returns
    -------
    Reach

    Notes
    -----
    Sources with a starting offset (a point in the middle of an edge, or a node
    whose walk starts some metres away) become virtual nodes appended to the
    CSR matrix with one-way links to the real nodes, so a single call of
    ``scipy.sparse.csgraph.dijkstra(min_only=True)`` serves all of them.
    """
    n = net.n_nodes
    if len(sources) == 0:
        return _unreached(n, limit, sources)

    start_node, start_off, start_lab = [sources.node], [sources.node_offset], [sources.node_label]
    if sources.snapped is not None and len(sources.snapped):
        s = sources.snapped
        start_node += [net.edge_u[s.edge], net.edge_v[s.edge]]
        start_off += [s.offset + s.along, s.offset + net.edge_length[s.edge] - s.along]
        start_lab += [sources.snapped_label, sources.snapped_label]
    node = np.concatenate(start_node).astype(np.int64)
    off = np.concatenate(start_off).astype(float)
    lab = np.concatenate(start_lab).astype(np.int64)
    ok = off <= limit
    node, off, lab = node[ok], off[ok], lab[ok]
    if len(node) == 0:
        return _unreached(n, limit, sources)
    # only the nearest start matters at each node: one start per node
    order = np.lexsort((lab, off, node))
    node, off, lab = node[order], off[order], lab[order]
    first = np.ones(len(node), dtype=bool)
    first[1:] = node[1:] != node[:-1]
    node, off, lab = node[first], off[first], lab[first]

    direct = off <= 0.0
    virtual = ~direct
    k = int(virtual.sum())
    g, cap = (net.graph, 0) if k == 0 else _with_virtual(net, node[virtual], off[virtual])
    idx = np.concatenate([node[direct], n + np.arange(k)])
    idx_label = np.concatenate([lab[direct], lab[virtual]])
    d, pred, src = csgraph.dijkstra(
        g, directed=True, indices=idx, limit=limit, min_only=True, return_predecessors=True
    )
    # map the index of the start node (real or virtual) back to its label: start_of is shifted by one
    # so that unreached nodes (src < 0) are clipped to its first slot, -1
    start_of = np.full(n + cap + 1, -1, dtype=np.int64)
    start_of[idx + 1] = idx_label
    label = np.take(start_of, src[:n] + 1, mode="clip")
    pred = pred[:n].astype(np.int64)
    pred[pred < 0] = -1
    return Reach(d[:n], label, float(limit), sources, pred)


def _unreached(n: int, limit: float, sources: Sources) -> Reach:
    return Reach(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), float(limit), sources,
                 np.full(n, -1, dtype=np.int64))


def _with_virtual(net: WalkNetwork, to_node: np.ndarray, offset: np.ndarray) -> tuple[sparse.csr_matrix, int]:
    """The network's CSR with ``k`` virtual start nodes (rows ``n .. n+k-1``), each one link to a real node.

    The matrix is a per-network, per-thread template with room for a power of two of
    virtual rows: the links are written into its slots instead of copying and
    re-validating the whole CSR at every pass (which costs more than a short bounded
    pass).  Spare rows are not sources and no link leads to them: never reached, so
    distances are unchanged.

    Returns
    -------
    matrix, capacity (number of virtual rows of the matrix)
    """
    import threading

    k = len(to_node)
    cache = net.__dict__.setdefault("_virtual_templates", {})
    key = threading.get_ident()
    t = cache.get(key)
    g = net.graph
    n, nnz = g.shape[0], g.nnz
    if t is None or t[1] < k:
        cap = max(64, 1 << int(np.ceil(np.log2(k))))
        # every virtual row holds one link (spare rows: to node 0, never used as they are never reached)
        indptr = np.concatenate([g.indptr, g.indptr[-1] + np.arange(1, cap + 1)]).astype(g.indptr.dtype)
        indices = np.concatenate([g.indices, np.zeros(cap, g.indices.dtype)])
        data = np.concatenate([g.data, np.ones(cap)])
        m = sparse.csr_matrix((data, indices, indptr), shape=(n + cap, n + cap))
        if m.nnz != nnz + cap or len(m.data) != nnz + cap:
            raise AssertionError("virtual-row template lost its slots")
        t = cache[key] = (m, cap)
    m, cap = t
    m.indices[nnz:nnz + k] = to_node
    m.data[nnz:nnz + k] = offset
    return m, cap


def _same_edge_pairs(point_edge: np.ndarray, source_edge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (point, source) index pairs that lie on the same edge."""
    marked = np.zeros(max(int(point_edge.max(initial=0)), int(source_edge.max(initial=0))) + 1, dtype=bool)
    marked[source_edge] = True
    has = np.nonzero(marked[point_edge])[0]  # only points on an edge that carries a source
    if len(has) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.argsort(source_edge, kind="stable")
    se = source_edge[order]
    lo = np.searchsorted(se, point_edge[has], "left")
    c = np.searchsorted(se, point_edge[has], "right") - lo
    i_pt = np.repeat(has, c)
    start = np.repeat(lo, c)
    within = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
    return i_pt, order[start + within]


def point_distances(net: WalkNetwork, reach: Reach, points: Snapped) -> tuple[np.ndarray, np.ndarray]:
    """Walking distance from the nearest source to points snapped on edges.

    The walk to a point ends along its edge from either end, plus the
    straight snap offset; a source on the *same* edge is also reached
    directly along that edge.

    Parameters
    ----------
    net : WalkNetwork
    reach : Reach
        A pass of :func:`multi_source`.
    points : Snapped

    Returns
    -------
    dist : ndarray of float
        Metres (``inf`` where beyond ``reach.limit``).
    label : ndarray of int
        Label of the nearest source (-1 where beyond the limit).
    """
    eu, ev, rest, order, sorted_edge = _point_ends(net, points)
    du = reach.dist[eu] + points.along
    dv = reach.dist[ev] + rest
    use_v = dv < du
    d = np.where(use_v, dv, du)
    lab = reach.label[np.where(use_v, ev, eu)]

    s = reach.sources.snapped
    if s is not None and len(s) and len(points):
        # sources on the same edge as a point: walk straight along the edge
        i_pt, i_src = _pairs_on_edges(order, sorted_edge, s.edge)
        if len(i_pt):
            direct = np.abs(points.along[i_pt] - s.along[i_src]) + s.offset[i_src]
            # per point the nearest source; on a tie the source listed first
            o = np.lexsort((i_src, direct, i_pt))
            first = np.ones(len(o), dtype=bool)
            first[1:] = i_pt[o][1:] != i_pt[o][:-1]
            best = o[first]
            i, dd = i_pt[best], direct[best]
            better = dd < d[i]
            d[i[better]] = dd[better]
            lab[i[better]] = reach.sources.snapped_label[i_src[best][better]]

    d += points.offset
    out = d > reach.limit
    d[out] = np.inf
    lab[out] = -1
    return d, lab


def _point_ends(net: WalkNetwork, points: Snapped) -> tuple[np.ndarray, ...]:
    """What every pass needs of points snapped on ``net``, computed once per points and network.

    Returns the ``u`` and ``v`` end node of each point's edge, the metres from the point to
    the ``v`` end, and the points ordered by edge (``order`` and the sorted edges) to find the
    points on the edges of sources.  Kept on the :class:`Snapped` object, checked against the
    very arrays it was computed from (held, so their identity cannot be reused).
    """
    c = points.__dict__.get("_ends")
    if (c is None or c[0] is not net.edge_u or c[1] is not net.edge_length or c[2] is not points.edge
            or c[3] is not points.along):
        e = points.edge
        order = np.argsort(e, kind="stable")
        c = (net.edge_u, net.edge_length, points.edge, points.along,
             net.edge_u[e], net.edge_v[e], net.edge_length[e] - points.along, order, e[order])
        object.__setattr__(points, "_ends", c)
    return c[4:]


def _pairs_on_edges(order: np.ndarray, sorted_edge: np.ndarray, source_edge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (point, source) index pairs on the same edge, from the points sorted by edge."""
    lo = np.searchsorted(sorted_edge, source_edge, "left")
    c = np.searchsorted(sorted_edge, source_edge, "right") - lo
    total = int(c.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    i_src = np.repeat(np.arange(len(source_edge)), c)
    within = np.arange(total) - np.repeat(np.cumsum(c) - c, c)
    return order[np.repeat(lo, c) + within], i_src


@dataclass(frozen=True)
class GroupDistances:
    """Walking distances from the nearest source of one group (a tier, a category) to points.

    Attributes
    ----------
    dist : ndarray of float
        Metres from every point to the group's nearest source (``inf`` beyond the limit or without sources).
    label : ndarray of int
        Label of that source (-1 beyond the limit or without sources).
    reach : Reach or None
        The group's pass of :func:`multi_source` (for service areas, :func:`reached_edge_parts`);
        None when the group has no source.
    """

    dist: np.ndarray
    label: np.ndarray
    reach: Reach | None


def sources_by_group(snapped: Snapped, label: Sequence[int], group: Sequence[Hashable],
                     keys: Sequence[Hashable]) -> dict[Hashable, Sources]:
    """Sources on edges split by group: one :class:`Sources` per key (empty where the group has none).

    Parameters
    ----------
    snapped : Snapped
        Every source, snapped onto edges.
    label : sequence of int
        Label of every source (park or facility id).
    group : sequence
        Group of every source (tier id, category id).
    keys : sequence
        The groups wanted, in order; sources of other groups are left out.

    Returns
    -------
    dict
        Group -> its sources, in the order of ``keys``.
    """
    label = np.asarray(label, dtype=np.int64)
    group = np.asarray(group, dtype=object)
    rows = pd.Series(np.arange(len(group))).groupby(group).indices if len(group) else {}
    out: dict[Hashable, Sources] = {}
    for k in keys:
        i = rows.get(k)
        out[k] = Sources() if i is None else Sources.on_edges(snapped.take(i), label[i])
    return out


def distances_by_group(net: WalkNetwork, sources: Mapping[Hashable, Sources], points: Snapped,
                       limit: float | Mapping[Hashable, float]) -> dict[Hashable, GroupDistances]:
    """The grouped pass: per group, one :func:`multi_source` pass then :func:`point_distances` to the points.

    This is how every analysis asks "how far is the nearest X of each kind": parks per tier,
    facilities per category.

    Parameters
    ----------
    net : WalkNetwork
    sources : mapping
        Group -> its :class:`Sources` (e.g. from :func:`sources_by_group`).
    points : Snapped
        The points measured (homes, cells, origins).
    limit : float or mapping
        Distance bound of the passes in metres, one for all groups or one per group.

    Returns
    -------
    dict
        Group -> :class:`GroupDistances`, in the order of ``sources``.
    """
    n = len(points)
    out: dict[Hashable, GroupDistances] = {}
    for k, src in sources.items():
        if len(src) == 0:
            out[k] = GroupDistances(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), None)
            continue
        reach = multi_source(net, src, float(limit[k] if isinstance(limit, Mapping) else limit))
        d, lab = point_distances(net, reach, points)
        out[k] = GroupDistances(d, lab.astype(np.int64), reach)
    return out


def path_nodes(reach: Reach, node: int) -> np.ndarray:
    """The nodes of the shortest walk from the pass's nearest source to ``node``, in walking order.

    Parameters
    ----------
    reach : Reach
        A pass of :func:`multi_source`.
    node : int
        A reached node.

    Returns
    -------
    ndarray of int
        From the first network node of the walk (a node source, or an end of the edge that a
        source lies on) to ``node``; empty when ``node`` is unreached.
    """
    if reach.pred is None or not np.isfinite(reach.dist[node]):
        return np.empty(0, dtype=np.int64)
    n = len(reach.pred)
    nodes = [int(node)]
    while 0 <= reach.pred[nodes[-1]] < n:
        nodes.append(int(reach.pred[nodes[-1]]))
    return np.asarray(nodes[::-1], dtype=np.int64)


def reached_edge_parts(net: WalkNetwork, reach: Reach, limit: float | None = None) -> gpd.GeoDataFrame:
    """The parts of edges within ``limit`` metres of the sources, as lines.

    Includes the reachable part of partly reached edges (from either end) and
    the part around a source that lies in the middle of an edge.  This is the
    exact network service area; buffer it by a street width to draw it.

    Parameters
    ----------
    net : WalkNetwork
    reach : Reach
    limit : float, optional
        Defaults to ``reach.limit``; may be smaller (bands of one pass).

    Returns
    -------
    GeoDataFrame
        ``edge`` index and the reached LineString parts, in the network CRS.
    """
    from shapely.ops import substring

    limit = reach.limit if limit is None else float(limit)
    L = net.edge_length
    a = np.clip(limit - reach.dist[net.edge_u], 0.0, L)  # reachable from the u end
    b = np.clip(limit - reach.dist[net.edge_v], 0.0, L)  # reachable from the v end
    geoms = net.edges.geometry.values
    whole = (a + b) >= L - 1e-9
    out_edge: list[int] = [int(i) for i in np.nonzero(whole)[0]]
    out_geom: list[Any] = list(geoms[whole])
    for i in np.nonzero(~whole & ((a > 0) | (b > 0)))[0]:
        if a[i] > 0:
            out_edge.append(int(i))
            out_geom.append(substring(geoms[i], 0.0, a[i]))
        if b[i] > 0:
            out_edge.append(int(i))
            out_geom.append(substring(geoms[i], L[i] - b[i], L[i]))
    s = reach.sources.snapped
    if s is not None and len(s):
        rest = limit - s.offset
        for e, t, r in zip(s.edge, s.along, rest):
            if r > 0 and not whole[e]:
                out_edge.append(int(e))
                out_geom.append(substring(geoms[e], max(0.0, t - r), min(L[e], t + r)))
    return gpd.GeoDataFrame({"edge": np.asarray(out_edge, dtype=np.int64)}, geometry=out_geom, crs=net.crs)


def all_pairs(graph: sparse.spmatrix, *, unweighted: bool = False) -> np.ndarray:
    """All-pairs shortest-path lengths of a small undirected graph (e.g. greenway patches and their links).

    The walking network's searches go through :func:`multi_source`; this is for abstract graphs
    of a few hundred nodes, whose whole distance matrix is wanted.

    Parameters
    ----------
    graph : sparse matrix (n, n)
        Edge weights (stored entries are edges).
    unweighted : bool
        Count links instead of adding weights.

    Returns
    -------
    ndarray (n, n)
        Shortest-path lengths (``inf`` between unconnected nodes).
    """
    return csgraph.shortest_path(graph, method="D", directed=False, unweighted=unweighted)
