"""Compound-aware snapping: homes leave their compound through its gates, not through the wall.

The compound model changes two things, and nothing else:

* **the network**: a gate that is not on a mapped path (a ``barrier=gate``
  node on a wall, a user or proposed gate) is linked by straight *connector*
  edges to the nearest path inside each compound it opens (within
  ``connector_max_m``) and to the nearest path outside them.  The paths they
  join are split at the joining points, so no distance changes except through
  the gate.  Gates on mapped paths (and crossings) need nothing.
* **where homes join it**: a home inside a compound joins the network only on
  the paths inside its own compound that lead out of it (edges whose midpoint
  lies inside the outline, in a connected piece of the network that also has
  nodes outside), or straight at the nearest of its gates when that is
  closer or when no such path is mapped.  Homes in compounds without any gate
  (and homes outside compounds) snap to the nearest street as before.

:func:`compound_network` builds the first, :func:`compound_snap` the second;
:meth:`CompoundNetwork.remap` carries points snapped on the plain network
over to the split one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from ..network import Snapped, WalkNetwork
from .extract import EDGE_INSET_M, Compounds

__all__ = ["CONNECTOR", "CompoundNetwork", "CompoundSnap", "compound_network", "compound_snap", "snap_to_edges"]

#: ``highway`` value of the connector edges through off-network gates.
CONNECTOR = "gate_connector"

#: A gate closer than this to a mapped path is on it (no connector needed).
ON_NETWORK_M = 0.5

def snap_to_edges(net: WalkNetwork, points: np.ndarray, edges: np.ndarray) -> Snapped:
    """Snap points to the nearest point on the nearest of the given edges.

    Parameters
    ----------
    net : WalkNetwork
    points : array of shapely Points
    edges : array of int
        Candidate edge indices (non-empty).

    Returns
    -------
    Snapped
        Edge indices refer to ``net``.
    """
    pts = np.asarray(points, dtype=object)
    edges = np.asarray(edges, dtype=np.int64)
    if len(pts) == 0:
        return Snapped(np.empty(0, np.int64), np.empty(0), np.empty(0))
    geoms = net.edges.geometry.values[edges]
    tree = shapely.STRtree(geoms)
    idx = tree.query_nearest(pts, all_matches=False, return_distance=False)
    order = np.argsort(idx[0], kind="stable")
    e = edges[idx[1][order]]
    return _locate(net, pts, e)


def _locate(net: WalkNetwork, pts: np.ndarray, e: np.ndarray) -> Snapped:
    lines = net.edges.geometry.values[e]
    along = shapely.line_locate_point(lines, pts)
    offset = shapely.distance(pts, shapely.line_interpolate_point(lines, along))
    return Snapped(e.astype(np.int64), np.clip(along, 0.0, net.edge_length[e]), offset)


@dataclass
class CompoundNetwork:
    """The walking network of the compound model and what it knows about compounds.

    Attributes
    ----------
    network : WalkNetwork
        The plain network with paths split where connectors join them, gate
        nodes (negative ``node_id``) and connector edges (``highway`` =
        ``gate_connector``, ``osmid`` = -gate_id).
    base_edges : int
        Number of edges of the plain network.
    pieces : DataFrame
        How plain edges were split: ``old_edge``, ``start`` (metres along the plain
        edge), ``new_edge``; edges not listed are unchanged.
    compounds : Compounds
    edge_compound : DataFrame
        ``edge``, ``compound_id``: paths inside each compound (midpoint inside the outline).
    inner : dict
        ``compound_id`` -> edges inside it that lead out (usable by its homes).
    gate_pos : DataFrame
        Per gate and compound: ``gate_id``, ``compound_id``, ``edge``, ``along``,
        ``offset``: where a walk through the gate reaches the network outside the
        compound, and ``x``, ``y`` of the gate.
    connectors : DataFrame
        ``gate_id``, ``compound_id`` (0 for the outside link), ``edge`` (connector edge index),
        ``length``.
    """

    network: WalkNetwork
    base_edges: int
    pieces: pd.DataFrame
    compounds: Compounds
    edge_compound: pd.DataFrame
    inner: dict
    gate_pos: pd.DataFrame
    connectors: pd.DataFrame
    connector_max_m: float = 60.0
    _poly_tree: Any = field(default=None, repr=False)
    _base_cache: Any = field(default=None, repr=False)

    def remap(self, snapped: Snapped) -> Snapped:
        """Points snapped on the plain network, on this (split) network: same places, same distances."""
        if len(self.pieces) == 0 or len(snapped) == 0:
            return snapped
        p = self.pieces
        old = p["old_edge"].to_numpy()
        start = p["start"].to_numpy()
        L0 = np.maximum(self._old_length(old), 1e-9) * (1 + 1e-12) + 1e-9
        key = old + start / L0
        order = np.argsort(key, kind="stable")
        key, new, start = key[order], p["new_edge"].to_numpy()[order], start[order]
        e, a = snapped.edge.copy(), snapped.along.copy()
        split = np.isin(e, old)
        if split.any():
            le = np.maximum(self._old_length(e[split]), 1e-9) * (1 + 1e-12) + 1e-9
            k = np.searchsorted(key, e[split] + a[split] / le, side="right") - 1
            a_new = a[split] - start[k]
            e_new = new[k]
            e[split] = e_new
            a[split] = np.clip(a_new, 0.0, self.network.edge_length[e_new])
        return Snapped(e, a, snapped.offset.copy())

    def _old_length(self, old_edge: np.ndarray) -> np.ndarray:
        if not hasattr(self, "_lens"):
            p = self.pieces
            # the length of a plain edge = the sum of its pieces
            tot = pd.Series(self.network.edge_length[p["new_edge"].to_numpy()]).groupby(p["old_edge"].to_numpy()).sum()
            self._lens = tot
        return self._lens.reindex(old_edge).to_numpy()

    @property
    def polygon_tree(self) -> shapely.STRtree:
        """Spatial index over the compound outlines."""
        if self._poly_tree is None:
            self._poly_tree = shapely.STRtree(self.compounds.polygons.geometry.values)
        return self._poly_tree


def _point_at(coords: np.ndarray, cum: list, t: float) -> tuple[float, float]:
    """The point ``t`` metres along a polyline given by its vertices and their cumulative lengths."""
    from bisect import bisect_right

    i = min(max(bisect_right(cum, t) - 1, 0), len(cum) - 2)
    seg = cum[i + 1] - cum[i]
    f = 0.0 if seg <= 0 else (t - cum[i]) / seg
    (x0, y0), (x1, y1) = coords[i], coords[i + 1]
    return (x0 + f * (x1 - x0), y0 + f * (y1 - y0))


def _pieces_split(net: WalkNetwork, cuts: pd.DataFrame, memo: dict | None = None) -> tuple[WalkNetwork, pd.DataFrame, dict]:
    """Split edges at the given positions and return the new network (no new edges beyond the pieces).

    The first piece of a split edge keeps the edge's index; the others are appended.

    Parameters
    ----------
    cuts : DataFrame with ``edge`` and ``along`` (strictly inside the edge)
    memo : dict, optional
        Edge -> (cut positions, split points, piece geometries) of an earlier split of the
        same network, reused where an edge is cut at the same positions (filled in).

    Returns
    -------
    network, pieces (old_edge, start, new_edge), node_at (dict (edge, along) -> new node index)
    """
    edges = net.edges
    n_nodes = net.n_nodes
    node_at: dict = {}
    if len(cuts) == 0:
        return net, pd.DataFrame({"old_edge": [], "start": [], "new_edge": []}, dtype=float), node_at
    cuts = cuts.drop_duplicates(["edge", "along"]).sort_values(["edge", "along"], kind="stable")
    ce = cuts["edge"].to_numpy(np.int64)
    ca = cuts["along"].to_numpy(float)
    ids, starts = np.unique(ce, return_index=True)
    geoms = edges.geometry.values
    first_u, first_v, first_len, first_geom = [], [], [], []
    add_src, add_u, add_v, add_len, add_geom = [], [], [], [], []
    piece_rows = []
    nx_, ny_ = [], []
    next_edge = net.n_edges
    memo = {} if memo is None else memo
    for e, ts in zip(ids, np.split(ca, starts[1:])):
        e = int(e)
        key = tuple(ts.tolist())
        hit = memo.get(e)
        if hit is None or hit[0] != key:
            xy = shapely.get_coordinates(geoms[e])
            cum_a = np.concatenate([[0.0], np.cumsum(np.hypot(*(xy[1:] - xy[:-1]).T))])
            coords, cum = xy.tolist(), cum_a.tolist()
            L = float(cum[-1])
            pts = [_point_at(coords, cum, t) for t in ts]
            bounds = [0.0, *key, L]
            pg = [shapely.linestrings([_point_at(coords, cum, lo), *[c for c, d in zip(coords, cum) if lo < d < hi],
                                       _point_at(coords, cum, hi)]) for lo, hi in pairwise(bounds)]
            hit = memo[e] = (key, pts, bounds, pg)
        _, pts, bounds, pg = hit[:4]
        nodes = []
        for t, pt in zip(key, pts):
            node_at[(e, float(t))] = n_nodes + len(nx_)
            nodes.append(n_nodes + len(nx_))
            nx_.append(pt[0])
            ny_.append(pt[1])
        ends = [int(net.edge_u[e]), *nodes, int(net.edge_v[e])]
        for k in range(len(bounds) - 1):
            lo, hi = bounds[k], bounds[k + 1]
            g = pg[k]
            if k == 0:
                piece_rows.append((e, lo, e))
                first_u.append(ends[0]), first_v.append(ends[1]), first_len.append(hi - lo), first_geom.append(g)
            else:
                piece_rows.append((e, lo, next_edge))
                next_edge += 1
                add_src.append(e), add_u.append(ends[k]), add_v.append(ends[k + 1]), add_len.append(hi - lo), add_geom.append(g)
    e2 = edges.copy()
    e2.loc[ids, "u"] = first_u
    e2.loc[ids, "v"] = first_v
    e2.loc[ids, "length"] = first_len
    g2 = np.asarray(e2.geometry.values, dtype=object).copy()
    g2[ids] = first_geom
    e2 = e2.set_geometry(gpd.GeoSeries(g2, index=e2.index, crs=edges.crs))
    if add_src:
        add = edges.iloc[np.asarray(add_src, dtype=np.int64)].copy().reset_index(drop=True)
        add["u"], add["v"], add["length"] = add_u, add_v, add_len
        add = add.set_geometry(gpd.GeoSeries(add_geom, crs=edges.crs))
        e2 = pd.concat([e2, add], ignore_index=True)
    e2 = gpd.GeoDataFrame(e2, geometry="geometry", crs=edges.crs)
    node_id = np.concatenate([net.node_id, -(1_000_000_000 + np.arange(len(nx_), dtype=np.int64))])
    x = np.concatenate([net.x, nx_])
    y = np.concatenate([net.y, ny_])
    pieces = pd.DataFrame(piece_rows, columns=["old_edge", "start", "new_edge"])
    return WalkNetwork(node_id, x, y, e2, net.crs, net.main_share), pieces, node_at


def _midpoints(net: WalkNetwork) -> np.ndarray:
    return shapely.line_interpolate_point(net.edges.geometry.values, 0.5, normalized=True)


def _inset(compounds: Compounds) -> np.ndarray:
    """The outlines inset by :data:`EDGE_INSET_M` (cached on the compounds: outlines never change)."""
    cached = getattr(compounds, "_inset", None)
    if cached is None or len(cached) != len(compounds.polygons):
        cached = shapely.buffer(np.asarray(compounds.polygons.geometry.values, dtype=object), -EDGE_INSET_M)
        compounds._inset = cached
    return cached


def _edge_compound(net: WalkNetwork, compounds: Compounds, edges: np.ndarray | None = None) -> pd.DataFrame:
    """Pairs (edge, compound) of edges whose midpoint lies inside the outline (inset by 1 m)."""
    polys = compounds.polygons
    if len(polys) == 0 or net.n_edges == 0:
        return pd.DataFrame({"edge": np.empty(0, np.int64), "compound_id": np.empty(0, np.int64)})
    edges = np.arange(net.n_edges) if edges is None else np.asarray(edges, dtype=np.int64)
    if len(edges) == 0:
        return pd.DataFrame({"edge": np.empty(0, np.int64), "compound_id": np.empty(0, np.int64)})
    mids = shapely.line_interpolate_point(np.asarray(net.edges.geometry.values, dtype=object)[edges], 0.5, normalized=True)
    inset = _inset(compounds)
    tree = shapely.STRtree(inset)
    mi, ci = tree.query(mids, predicate="within")
    return pd.DataFrame({"edge": edges[mi], "compound_id": polys["compound_id"].to_numpy()[ci]})


def compound_network(base: WalkNetwork, compounds: Compounds, *, connector_max_m: float = 60.0,
                     reuse: CompoundNetwork | None = None) -> CompoundNetwork:
    """The network of the compound model: the plain network plus links through off-network gates.

    Parameters
    ----------
    base : WalkNetwork
        The plain walking network of the audit.
    compounds : Compounds
    connector_max_m : float
        A gate off the mapped paths is linked to the nearest path (inside each
        compound it opens, and outside them) within this distance; further,
        homes walk straight to the gate and on to the nearest path.
    reuse : CompoundNetwork, optional
        A compound network of the same plain network and compounds with fewer
        gates (the audit's, for a what-if): what only depends on the plain
        network, the outlines and the old gates is taken from it.  The result
        is the same as without it.

    Returns
    -------
    CompoundNetwork
    """
    gates = compounds.gates
    same = (reuse is not None and isinstance(reuse._base_cache, tuple) and len(reuse._base_cache) == 5
            and reuse.base_edges == base.n_edges
            and reuse.connector_max_m == float(connector_max_m)
            and np.array_equal(reuse.compounds.polygons["compound_id"].to_numpy(), compounds.polygons["compound_id"].to_numpy()))
    if same:
        ec, node_in_base, old_links, old_gate_ids, memo = reuse._base_cache
        new_ids = set(gates["gate_id"].astype(int)) - old_gate_ids
        sub = Compounds(compounds.polygons, gates[gates["gate_id"].isin(list(new_ids))])
        new_links, _ = _gate_links(base, sub, ec, connector_max_m)
        links_df = pd.concat([old_links, new_links], ignore_index=True).sort_values(["gate_id", "compound_id"], kind="stable")
        links_df = links_df.reset_index(drop=True)
    else:
        ec = _edge_compound(base, compounds)
        node_in_base = _nodes_in(base.x, base.y, compounds)
        links_df, _ = _gate_links(base, compounds, ec, connector_max_m)
        memo = {}
    memo = dict(memo)  # the earlier network keeps its own
    cache = (ec, node_in_base, links_df.copy(), set(gates["gate_id"].astype(int)), memo)
    g1 = gates.drop_duplicates("gate_id")
    gate_xy = dict(zip(g1["gate_id"].astype(int), zip(shapely.get_x(g1.geometry.values), shapely.get_y(g1.geometry.values))))

    # 2. split the joined paths and add gate nodes and connectors
    L = base.edge_length
    if len(links_df):
        mid = (links_df["along"] > 1e-6) & (links_df["along"] < L[links_df["edge"].to_numpy()] - 1e-6)
        cuts = links_df.loc[mid, ["edge", "along"]]
    else:
        mid = pd.Series(dtype=bool)
        cuts = pd.DataFrame({"edge": [], "along": []})
    net, pieces, node_at = _pieces_split(base, cuts, memo)
    conn_rows = []
    if len(links_df):
        targets = []
        for r, m in zip(links_df.itertuples(index=False), mid.to_numpy()):
            if m:
                targets.append(node_at[(int(r.edge), float(r.along))])
            else:
                targets.append(int(base.edge_u[r.edge]) if r.along <= 1e-6 else int(base.edge_v[r.edge]))
        links_df = links_df.assign(target=targets)
        # a gate at the very end of an inside path is that path's node: no zero-length connector
        at_node = links_df[(links_df["compound_id"] > 0) & (links_df["dist"] <= ON_NETWORK_M)].drop_duplicates("gate_id")
        gnode = dict(zip(at_node["gate_id"].astype(int), at_node["target"].astype(int)))
        skip = set(at_node.index)
        gids = [g for g in sorted(links_df["gate_id"].unique().tolist()) if g not in gnode]
        gnode.update({g: net.n_nodes + i for i, g in enumerate(gids)})
        new_edges = []
        for k, r in zip(links_df.index, links_df.itertuples(index=False)):
            if k in skip:
                continue
            gx, gy = gate_xy[int(r.gate_id)]
            target = int(r.target)
            geom = shapely.LineString([(gx, gy), (net.x[target], net.y[target])])
            new_edges.append({"u": gnode[int(r.gate_id)], "v": target, "length": max(float(geom.length), 1e-3),
                              "osmid": -int(r.gate_id), "highway": CONNECTOR, "name": None, "geometry": geom})
            conn_rows.append((int(r.gate_id), int(r.compound_id), net.n_edges + len(new_edges) - 1, float(geom.length)))
        if new_edges:
            add = gpd.GeoDataFrame(new_edges, geometry="geometry", crs=base.crs)
            e2 = gpd.GeoDataFrame(pd.concat([net.edges, add[[c for c in net.edges.columns if c in add.columns]]],
                                            ignore_index=True), geometry="geometry", crs=base.crs)
            node_id = np.concatenate([net.node_id, -np.asarray(gids, dtype=np.int64)])
            x = np.concatenate([net.x, [gate_xy[g][0] for g in gids]])
            y = np.concatenate([net.y, [gate_xy[g][1] for g in gids]])
            net = WalkNetwork(node_id, x, y, e2, base.crs, base.main_share)
    connectors = pd.DataFrame(conn_rows, columns=["gate_id", "compound_id", "edge", "length"])

    cn = CompoundNetwork(net, base.n_edges, pieces, compounds, pd.DataFrame(), {}, pd.DataFrame(), connectors,
                         float(connector_max_m))
    cn._base_cache = cache
    # 3. paths inside each compound (on the split network), and those that lead out: plain edges that
    # were not split keep their compounds, split pieces and connectors are tested afresh
    changed = np.zeros(net.n_edges, bool)
    changed[base.n_edges:] = True
    parts = []
    if len(pieces):
        changed[pieces["old_edge"].to_numpy(np.int64)] = True
        # pieces of split paths: which compounds they lie in, memoised per path and cut positions
        po, pn = pieces["old_edge"].to_numpy(np.int64), pieces["new_edge"].to_numpy(np.int64)
        ids, starts = np.unique(po, return_index=True)
        groups = dict(zip(ids.tolist(), np.split(pn, starts[1:])))
        todo = [e for e in groups if len(memo[e]) < 5]
        if todo:
            fresh = _edge_compound(net, compounds, np.concatenate([groups[e] for e in todo]))
            by_edge = fresh.groupby("edge")["compound_id"].agg(lambda x: np.asarray(x, np.int64)).to_dict()
            for e in todo:
                memo[e] = (*memo[e][:4], [by_edge.get(int(x), np.empty(0, np.int64)) for x in groups[e]])
        rows_e, rows_c = [], []
        for e, new_edges in groups.items():
            for x, comps in zip(new_edges, memo[e][4]):
                rows_e.append(np.full(len(comps), x, np.int64))
                rows_c.append(comps)
        if rows_e:
            parts.append(pd.DataFrame({"edge": np.concatenate(rows_e), "compound_id": np.concatenate(rows_c)}))
    conn_edges = np.arange(base.n_edges + int((pieces["new_edge"] >= base.n_edges).sum()) if len(pieces) else base.n_edges,
                           net.n_edges)
    parts.append(_edge_compound(net, compounds, conn_edges))
    ec2 = pd.concat([ec[~changed[ec["edge"].to_numpy()]], *parts],
                    ignore_index=True).sort_values(["edge", "compound_id"], kind="stable").reset_index(drop=True)
    cn.edge_compound = ec2
    node_in = pd.concat([node_in_base, _nodes_in(net.x[base.n_nodes:], net.y[base.n_nodes:], compounds, base.n_nodes)],
                        ignore_index=True)
    cn.inner = _leading_out(net, ec2, node_in)
    # 4. where a walk through each gate meets the network outside its compound
    cn.gate_pos = _gate_positions(cn)
    return cn


def _gate_links(base: WalkNetwork, compounds: Compounds, ec: pd.DataFrame, max_m: float) -> tuple[pd.DataFrame, dict]:
    """Where the connectors of off-network gates join the plain network (one vectorised query).

    Returns
    -------
    links : DataFrame
        ``gate_id``, ``compound_id`` (0 = the link outside), ``edge``, ``along``, ``dist``:
        per gate off the network, the nearest path inside each compound it opens and the
        nearest path outside all of them, each within ``max_m``.
    gate_xy : dict
        ``gate_id`` -> (x, y).
    """
    cols = ["gate_id", "compound_id", "edge", "along", "dist"]
    gates = compounds.gates
    if len(gates) == 0 or base.n_edges == 0:
        return pd.DataFrame({c: [] for c in cols}), {}
    g1 = gates.drop_duplicates("gate_id")
    gate_xy = dict(zip(g1["gate_id"].astype(int), zip(shapely.get_x(g1.geometry.values), shapely.get_y(g1.geometry.values))))
    on_gate = _gates_on_network(base, compounds, ec)
    off = g1[~g1["gate_id"].isin(list(on_gate))]
    if len(off) == 0:
        return pd.DataFrame({c: [] for c in cols}), gate_xy
    pts = off.geometry.values
    gi, ei = base.tree.query(pts, predicate="dwithin", distance=max_m)
    if "highway" in base.edges:
        keep = base.edges["highway"].to_numpy()[ei] != CONNECTOR
        gi, ei = gi[keep], ei[keep]
    pairs = pd.DataFrame({"gate_id": off["gate_id"].to_numpy()[gi], "edge": ei,
                          "dist": shapely.distance(pts[gi], base.edges.geometry.values[ei])})
    opens = gates[["gate_id", "compound_id"]]
    # pairs whose edge lies inside a compound the gate opens: inner links
    pc = pairs.merge(opens, on="gate_id").merge(ec, on=["edge", "compound_id"])
    inner = pc.sort_values(["gate_id", "compound_id", "dist", "edge"], kind="stable").drop_duplicates(["gate_id", "compound_id"])
    # pairs whose edge lies inside none of them: the link outside
    inside = pc[["gate_id", "edge"]].drop_duplicates().assign(_in=True)
    po = pairs.merge(inside, on=["gate_id", "edge"], how="left")
    po = po[po["_in"].isna()].drop(columns="_in")
    # outside, a path of the main network is preferred to a detached fragment (network.main_pieces)
    po = po.assign(_frag=~base.main_edges()[po["edge"].to_numpy(np.int64)])
    outer = po.sort_values(["gate_id", "_frag", "dist", "edge"], kind="stable").drop_duplicates("gate_id").assign(compound_id=0)
    links = pd.concat([inner[["gate_id", "compound_id", "edge", "dist"]], outer[["gate_id", "compound_id", "edge", "dist"]]],
                      ignore_index=True)
    if len(links) == 0:
        return pd.DataFrame({c: [] for c in cols}), gate_xy
    gp = dict(zip(off["gate_id"].astype(int), pts))
    p = np.array([gp[int(g)] for g in links["gate_id"]], dtype=object)
    e = links["edge"].to_numpy(np.int64)
    along = shapely.line_locate_point(base.edges.geometry.values[e], p)
    links["along"] = np.clip(along, 0.0, base.edge_length[e])
    links = links.sort_values(["gate_id", "compound_id"], kind="stable").reset_index(drop=True)
    return links[cols], gate_xy


def _nodes_in(x: np.ndarray, y: np.ndarray, compounds: Compounds, start: int = 0) -> pd.DataFrame:
    """Pairs (node, compound) of nodes inside an outline (inset by 1 m); node indices from ``start``."""
    polys = compounds.polygons
    if len(polys) == 0 or len(x) == 0:
        return pd.DataFrame({"node": np.empty(0, np.int64), "compound_id": np.empty(0, np.int64)})
    inset = _inset(compounds)
    tree = shapely.STRtree(inset)
    ni, ci = tree.query(shapely.points(x, y), predicate="within")
    return pd.DataFrame({"node": ni.astype(np.int64) + start, "compound_id": polys["compound_id"].to_numpy()[ci]})


def _leading_out(net: WalkNetwork, ec: pd.DataFrame, node_in: pd.DataFrame) -> dict:
    """Per compound: its inside edges in a main connected piece of the network that also has
    nodes outside the compound (paths that lead out into the wider network).
    """
    if len(ec) == 0:
        return {}
    comp, main = net.pieces()
    size = np.bincount(comp)
    inside = pd.DataFrame({"compound_id": node_in["compound_id"].to_numpy(), "comp": comp[node_in["node"].to_numpy()]})
    n_in = inside.groupby(["compound_id", "comp"]).size()
    out: dict = {}
    ecomp = comp[net.edge_u[ec["edge"].to_numpy()]]
    df = pd.DataFrame({"edge": ec["edge"].to_numpy(), "compound_id": ec["compound_id"].to_numpy(), "comp": ecomp})
    k_in = n_in.reindex(pd.MultiIndex.from_arrays([df["compound_id"], df["comp"]])).fillna(0).to_numpy()
    df = df[(size[df["comp"].to_numpy()] > k_in) & main[df["comp"].to_numpy()]]
    for cid, grp in df.groupby("compound_id"):
        out[int(cid)] = np.sort(grp["edge"].to_numpy(np.int64))
    return out


def _gates_on_network(base: WalkNetwork, compounds: Compounds, ec: pd.DataFrame) -> set:
    """Gates lying on a mapped path that leads out: a path outside the compounds the gate opens,
    or one crossing their outline.  Other gates (on walls, or where an inner path ends at the
    wall with no mapped path outside) get connectors.
    """
    gates = compounds.gates
    g1 = gates.drop_duplicates("gate_id")
    gi, ei = base.tree.query(g1.geometry.values, predicate="dwithin", distance=ON_NETWORK_M)
    if len(gi) == 0:
        return set()
    polys = compounds.polygons.set_index("compound_id").geometry
    inner_pairs = set(zip(ec["edge"].to_numpy().tolist(), ec["compound_id"].to_numpy().tolist()))
    opens = gates.groupby("gate_id")["compound_id"].agg(list).to_dict()
    geoms = base.edges.geometry.values
    out = set()
    for g, e in zip(g1["gate_id"].to_numpy()[gi], ei):
        g, e = int(g), int(e)
        if g in out:
            continue
        ok = False
        for c in opens[g]:
            if (e, int(c)) not in inner_pairs:
                ok = True
                break
            poly = polys.loc[c]
            if not shapely.covered_by(geoms[e], shapely.buffer(poly, ON_NETWORK_M)):
                ok = True  # an inside path that continues outside: a crossing
                break
        if ok:
            out.add(g)
    return out


def _gate_positions(cn: CompoundNetwork) -> pd.DataFrame:
    """Where a walk out through each gate joins the network outside its compound.

    The gate node of its outside connector; else the gate's own point on a mapped
    path leading out; else (no path outside within ``connector_max_m``) the nearest
    point of a path outside the compound, walked straight (``offset``).
    """
    net = cn.network
    gates = cn.compounds.gates
    cols = ["gate_id", "compound_id", "edge", "along", "offset", "x", "y", "linked", "main"]
    if len(gates) == 0:
        return pd.DataFrame({c: [] for c in cols})
    pts = gates.geometry.values
    gid = gates["gate_id"].to_numpy()
    cid = gates["compound_id"].to_numpy()
    e = np.zeros(len(gates), np.int64)
    a = np.zeros(len(gates))
    off = np.zeros(len(gates))
    conn = cn.connectors
    out_conn = conn[conn["compound_id"] == 0].drop_duplicates("gate_id").set_index("gate_id")["edge"]
    has = np.isin(gid, out_conn.index.to_numpy())
    e[has] = out_conn.reindex(gid[has]).to_numpy()  # the connector runs from the gate node (u)
    linked = has.copy()
    rest = np.nonzero(~has)[0]
    if len(rest):
        s = net.snap(pts[rest])
        on = s.offset <= ON_NETWORK_M
        e[rest], a[rest], off[rest] = s.edge, s.along, s.offset
        linked[rest[on]] = True
        far = rest[~on]
        inside_of = cn.edge_compound.groupby("compound_id")["edge"].agg(lambda x: np.asarray(x, dtype=np.int64)).to_dict()
        main_edge = net.main_edges()
        for k in far:
            outside = np.ones(net.n_edges, bool)
            ins = inside_of.get(int(cid[k]))
            if ins is not None:
                outside[ins] = False
            if (outside & main_edge).any():  # the main network, not a fragment (network.main_pieces)
                outside &= main_edge
            if outside.any():
                s = snap_to_edges(net, pts[k:k + 1], np.nonzero(outside)[0])
                e[k], a[k], off[k] = s.edge[0], s.along[0], s.offset[0]
    comp, main = net.pieces()
    on_main = main[comp[net.edge_u[e]]] if len(comp) else np.zeros(len(e), bool)
    return pd.DataFrame({"gate_id": gid, "compound_id": cid, "edge": e, "along": a, "offset": off,
                         "x": shapely.get_x(pts), "y": shapely.get_y(pts), "linked": linked, "main": on_main})[cols]


@dataclass
class CompoundSnap:
    """Where each point joins the network of the compound model.

    Attributes
    ----------
    snapped : Snapped
        On :attr:`CompoundNetwork.network`.
    compound_id : ndarray of int
        The compound the point's walk leaves (0 where the point is outside every
        compound or only inside compounds without gates).
    in_compound : ndarray of int
        The innermost compound containing the point (0 outside every compound).
    mode : ndarray of str
        ``open`` (outside compounds), ``ungated`` (inside a compound with no gate:
        ordinary snapping), ``on_path`` (on a mapped path already: kept), ``inner``
        (on a path inside its compound) or ``gate`` (straight to a gate).
    gate_id : ndarray of int
        The gate walked to in ``gate`` mode (-1 otherwise).
    """

    snapped: Snapped
    compound_id: np.ndarray
    in_compound: np.ndarray
    mode: np.ndarray
    gate_id: np.ndarray

    def table(self) -> pd.DataFrame:
        """The snapping as a table (one row per point)."""
        return pd.DataFrame({"compound_id": self.compound_id, "in_compound": self.in_compound, "mode": self.mode,
                             "gate_id": self.gate_id, "snap_m": self.snapped.offset})

    def subset(self, idx: np.ndarray) -> CompoundSnap:
        """The rows ``idx``."""
        s = self.snapped
        return CompoundSnap(Snapped(s.edge[idx], s.along[idx], s.offset[idx]), self.compound_id[idx],
                            self.in_compound[idx], self.mode[idx], self.gate_id[idx])


def point_compounds(cn: CompoundNetwork, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Innermost compound and innermost *gated* compound containing each point (0 for none)."""
    pts = np.asarray(points, dtype=object)
    polys = cn.compounds.polygons
    inner = np.zeros(len(pts), np.int64)
    gated = np.zeros(len(pts), np.int64)
    if len(polys) == 0 or len(pts) == 0:
        return inner, gated
    pi, ci = cn.polygon_tree.query(pts, predicate="within")
    cid = polys["compound_id"].to_numpy()[ci]
    has_gate = polys["n_gates"].to_numpy()[ci] > 0
    # compound ids grow as areas shrink: the innermost compound has the largest id
    np.maximum.at(inner, pi, cid)
    np.maximum.at(gated, pi[has_gate], cid[has_gate])
    return inner, gated


def compound_snap(cn: CompoundNetwork, points: Any) -> CompoundSnap:
    """Snap points (homes, cells, building entrances) by the compound model.

    Parameters
    ----------
    cn : CompoundNetwork
    points : array or GeoSeries of shapely Points in the network CRS

    Returns
    -------
    CompoundSnap
    """
    pts = np.asarray(points.values if isinstance(points, gpd.GeoSeries) else points, dtype=object)
    net = cn.network
    n = len(pts)
    edge = np.zeros(n, np.int64)
    along = np.zeros(n)
    offset = np.zeros(n)
    mode = np.full(n, "open", dtype=object)
    gate = np.full(n, -1, dtype=np.int64)
    inner_c, gated_c = point_compounds(cn, pts)
    mode[inner_c > 0] = "ungated"
    if n:
        # a point on a mapped path (a facility's node on a street) stays where it is
        on_path = np.zeros(n, bool)
        inside = np.nonzero(gated_c > 0)[0]
        if len(inside):
            hit, _ = net.tree.query(pts[inside], predicate="dwithin", distance=ON_NETWORK_M)
            on_path[inside[np.unique(hit)]] = True
        mode[on_path] = "on_path"
        gated_c = np.where(on_path, 0, gated_c)
        plain = np.nonzero(gated_c == 0)[0]
        if len(plain):
            s = net.snap(pts[plain])
            edge[plain], along[plain], offset[plain] = s.edge, s.along, s.offset
    gp = cn.gate_pos
    g_cid = gp["compound_id"].to_numpy(np.int64)
    g_main = gp["main"].to_numpy(bool)
    g_x, g_y = gp["x"].to_numpy(float), gp["y"].to_numpy(float)
    g_edge, g_along, g_off = gp["edge"].to_numpy(np.int64), gp["along"].to_numpy(float), gp["offset"].to_numpy(float)
    g_id = gp["gate_id"].to_numpy(np.int64)
    go = np.argsort(g_cid, kind="stable")
    gc, gs = np.unique(g_cid[go], return_index=True)
    gates_of = dict(zip(gc.tolist(), np.split(go, gs[1:]))) if len(gp) else {}
    px, py = shapely.get_x(pts), shapely.get_y(pts)
    todo = np.nonzero(gated_c > 0)[0]
    order = todo[np.argsort(gated_c[todo], kind="stable")]
    cids, starts = np.unique(gated_c[order], return_index=True)
    for cid, idx in zip(cids, np.split(order, starts[1:])):
        gk = gates_of[int(cid)]
        if g_main[gk].any():  # gates opening onto fragments of mapping are used only when there is no other
            gk = gk[g_main[gk]]
        # nearest gate, straight
        d = np.hypot(px[idx, None] - g_x[gk][None, :], py[idx, None] - g_y[gk][None, :])
        j = gk[np.argmin(d, axis=1)]
        dg = d.min(axis=1)
        ge, ga, go = g_edge[j], g_along[j], g_off[j] + dg
        e_c = cn.inner.get(int(cid))
        use_gate = np.ones(len(idx), bool)
        if e_c is not None and len(e_c):
            s = snap_to_edges(net, pts[idx], e_c)
            use_gate = np.round(go, 6) < np.round(s.offset, 6)  # ties (to a micrometre) go to the inner path, whatever the float noise
            ii = idx[~use_gate]
            edge[ii], along[ii], offset[ii] = s.edge[~use_gate], s.along[~use_gate], s.offset[~use_gate]
            mode[ii] = "inner"
        ii = idx[use_gate]
        edge[ii], along[ii], offset[ii] = ge[use_gate], ga[use_gate], go[use_gate]
        mode[ii] = "gate"
        gate[ii] = g_id[j][use_gate]
    return CompoundSnap(Snapped(edge, along, offset), gated_c, inner_c, mode, gate)
