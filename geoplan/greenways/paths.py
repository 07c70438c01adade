"""Shortest walking paths *with their geometry* between points on a network's edges.

The kernel (:func:`geoplan.network.multi_source`) gives distances and the
nearest source; drawing the path that a proposed link would follow needs the
predecessor tree as well.  :class:`PathFinder` runs
``scipy.sparse.csgraph.dijkstra(..., return_predecessors=True)`` on the same
CSR matrix (``net.graph``) from a virtual node placed on the start edge, and
rebuilds the path through ``net.edges`` (the shortest edge of every node pair,
as in the CSR matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from shapely.ops import substring

from ..network import WalkNetwork

__all__ = ["PathFinder", "Path"]


@dataclass(frozen=True)
class Path:
    """A walking path between two points lying on network edges.

    Attributes
    ----------
    length : float
        Metres along the network (without any snap offsets).
    coords : ndarray (k, 2)
        The path from the start point to the end point.
    edges : ndarray of int
        Network edges used, in order (partly used end edges included).
    """

    length: float
    coords: np.ndarray
    edges: np.ndarray


class PathFinder:
    """Shortest paths with geometry on a :class:`~geoplan.network.WalkNetwork`.

    Parameters
    ----------
    net : WalkNetwork
    """

    def __init__(self, net: WalkNetwork):
        self.net = net
        n = net.n_nodes
        a = np.minimum(net.edge_u, net.edge_v)
        b = np.maximum(net.edge_u, net.edge_v)
        key = a * n + b
        order = np.lexsort((net.edge_length, key))
        first = np.r_[True, key[order][1:] != key[order][:-1]]
        self._keys = key[order][first]
        self._edge = order[first]
        self._cache: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}

    def edge_between(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The shortest edge joining each node pair (``p[i]``, ``q[i]``)."""
        n = self.net.n_nodes
        key = np.minimum(p, q) * n + np.maximum(p, q)
        return self._edge[np.searchsorted(self._keys, key)]

    def tree(self, edge: int, along: float, limit: float) -> tuple[np.ndarray, np.ndarray]:
        """Distances and predecessors from a point on an edge (virtual node ``n_nodes``)."""
        ck = (int(edge), round(float(along), 6), float(limit))
        if ck in self._cache:
            return self._cache[ck]
        net = self.net
        n = net.n_nodes
        g = net.graph
        u, v, L = int(net.edge_u[edge]), int(net.edge_v[edge]), float(net.edge_length[edge])
        if u == v:
            tgt, w = [u], [max(min(along, L - along), 1e-9)]
        else:
            tgt, w = [u, v], [max(along, 1e-9), max(L - along, 1e-9)]
        indptr = np.concatenate([g.indptr, [g.indptr[-1] + len(tgt)]])
        indices = np.concatenate([g.indices, tgt])
        data = np.concatenate([g.data, w])
        G = sparse.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
        d, pred = csgraph.dijkstra(G, directed=True, indices=n, return_predecessors=True, limit=limit)
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[ck] = (d, pred)
        return d, pred

    def path(self, edge_a: int, along_a: float, edge_b: int, along_b: float, limit: float = np.inf) -> Path | None:
        """The shortest path from a point on ``edge_a`` to a point on ``edge_b``.

        Parameters
        ----------
        edge_a, along_a : int, float
            Start: edge index and metres from the edge's ``u`` end.
        edge_b, along_b : int, float
            End.
        limit : float
            Longest path searched (m).

        Returns
        -------
        Path or None
            None when the end is farther than ``limit``.
        """
        net = self.net
        n = net.n_nodes
        geoms = net.edges.geometry.values
        d, pred = self.tree(edge_a, along_a, limit)
        ub, vb, Lb = int(net.edge_u[edge_b]), int(net.edge_v[edge_b]), float(net.edge_length[edge_b])
        via_u = d[ub] + along_b
        via_v = d[vb] + (Lb - along_b)
        same = abs(along_a - along_b) if edge_a == edge_b else np.inf
        best = min(via_u, via_v, same)
        if not np.isfinite(best) or best > limit:
            return None
        if same <= min(via_u, via_v):
            piece = _piece(geoms[edge_a], along_a, along_b)
            return Path(float(same), piece, np.array([edge_a]))
        last = ub if via_u <= via_v else vb
        nodes = [last]
        while pred[nodes[-1]] != n:
            nodes.append(int(pred[nodes[-1]]))
            if nodes[-1] < 0:  # pragma: no cover - cannot happen for a reached node
                return None
        nodes = nodes[::-1]
        first = nodes[0]
        ua, va = int(net.edge_u[edge_a]), int(net.edge_v[edge_a])
        La = float(net.edge_length[edge_a])
        to_u = (along_a <= La - along_a) if ua == va else first == ua
        parts = [_piece(geoms[edge_a], along_a, 0.0 if to_u else La)]
        used = [edge_a]
        if len(nodes) > 1:
            p = np.asarray(nodes[:-1], dtype=np.int64)
            q = np.asarray(nodes[1:], dtype=np.int64)
            es = self.edge_between(p, q)
            for e, s in zip(es, p):
                c = np.asarray(geoms[e].coords)[:, :2]
                parts.append(c if net.edge_u[e] == s else c[::-1])
                used.append(int(e))
        from_u = (along_b <= Lb - along_b) if ub == vb else last == ub
        parts.append(_piece(geoms[edge_b], 0.0 if from_u else Lb, along_b))
        used.append(edge_b)
        coords = _join(parts)
        return Path(float(best), coords, np.asarray(used, dtype=np.int64))


def _piece(line: shapely.LineString, start: float, end: float) -> np.ndarray:
    """Coordinates of a line from ``start`` to ``end`` metres (reversed when start > end)."""
    if abs(start - end) < 1e-9:
        p = shapely.line_interpolate_point(line, start)
        return np.array([[p.x, p.y]])
    s = substring(line, start, end)
    c = np.asarray(s.coords)[:, :2]
    return c


def _join(parts: list[np.ndarray]) -> np.ndarray:
    c = np.vstack([p for p in parts if len(p)])
    keep = np.r_[True, np.any(np.abs(np.diff(c, axis=0)) > 1e-9, axis=1)]
    return c[keep]
