"""Shortest walking paths *with their geometry* between points on a network's edges.

The kernel (:func:`geoplan.network.multi_source`) gives distances, the
nearest source and the predecessor tree; drawing the path that a proposed
link would follow walks that tree back (:func:`geoplan.network.path_nodes`)
from one pass started at the point on the start edge, and rebuilds the path
through ``net.edges`` (the shortest edge of every node pair, as in the CSR
matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.ops import substring

from ..network import Reach, Snapped, Sources, WalkNetwork, multi_source, path_nodes

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
        self._cache: dict[tuple[int, float, float], Reach] = {}

    def edge_between(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The shortest edge joining each node pair (``p[i]``, ``q[i]``)."""
        n = self.net.n_nodes
        key = np.minimum(p, q) * n + np.maximum(p, q)
        return self._edge[np.searchsorted(self._keys, key)]

    def tree(self, edge: int, along: float, limit: float) -> Reach:
        """The kernel's pass from a point on an edge (distances and predecessors of every node)."""
        ck = (int(edge), round(float(along), 6), float(limit))
        if ck in self._cache:
            return self._cache[ck]
        start = Snapped(np.array([int(edge)], dtype=np.int64), np.array([float(along)]), np.zeros(1))
        reach = multi_source(self.net, Sources.on_edges(start), limit)
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[ck] = reach
        return reach

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
        geoms = net.edges.geometry.values
        reach = self.tree(edge_a, along_a, limit)
        d = reach.dist
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
        nodes = path_nodes(reach, last).tolist()
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
