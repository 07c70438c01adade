"""Greenway topology: noding the lines, joining ends within a tolerance, components, graph indices.

A greenway layer is a set of lines (OpenStreetMap ways or digitised
features).  :func:`greenway_network` turns it into a graph:

* every line end is a vertex, and so is every vertex that two lines share
  (OpenStreetMap ways meeting at a common node);
* an end lying within ``snap_m`` of another line is joined to it: to that
  line's end when the end is within ``snap_m`` as well, otherwise to the
  nearest point on the line, which splits it (a T-junction that the data did
  not node);
* lines that cross without a shared vertex are joined at the crossing when
  both are digitised lines (``node_crossings="auto"``, the default), never
  for OpenStreetMap ways, whose crossings without a shared node are bridges
  and underpasses (``True``/``False`` force it either way).

Edges keep the geometry and length of the data: joining an end makes it the
same graph vertex as the point it joins (up to ``snap_m`` away, further
through a chain of joins) without moving it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from ..errors import DataError, UsageError
from ..network import WalkNetwork

__all__ = ["GreenwayNetwork", "greenway_network", "graph_indices", "connectivity_indices", "line_parts", "anchors"]

#: Coordinates closer than this (m) are the same vertex (shared OSM nodes project to identical floats).
GRID_M = 1e-3


@dataclass
class GreenwayNetwork:
    """A greenway layer as a graph.

    Attributes
    ----------
    segments : GeoDataFrame
        The input lines, one row per LineString part: ``line_id``, ``segment_id``
        (the input feature), ``name``, ``level``, ``source``, ``length_m``,
        ``component`` and the original geometry.
    edges : GeoDataFrame
        Graph edges (lines cut at every vertex): ``u``, ``v`` (vertex indices),
        ``line_id``, ``segment_id``, ``name``, ``level``, ``source``, ``length_m``
        (data length), ``graph_length_m`` (length of the edge geometry: the same,
        up to rounding), ``component``, ``artifact`` (a loop no
        longer than twice the tolerance, made by joining ends; not counted in the
        indices).
    vertices : GeoDataFrame
        ``vertex``, ``degree``, ``component``, point geometry.
    components : DataFrame
        One row per connected component, largest first (``component`` 1 is the
        largest): ``length_m``, ``share_pct``, ``segments``, ``edges``,
        ``dangling_ends``, ``levels``, ``names``, ``lon``, ``lat``.
    snap_m : float
    node_crossings : bool or "auto"
    """

    segments: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    vertices: gpd.GeoDataFrame
    components: pd.DataFrame
    snap_m: float
    node_crossings: bool | str
    _walk: WalkNetwork | None = field(default=None, repr=False)

    @property
    def crs(self) -> Any:
        """The projected CRS of the network."""
        return self.segments.crs

    @property
    def n_components(self) -> int:
        """Number of connected components."""
        return len(self.components)

    @property
    def total_length_m(self) -> float:
        """Total length of the greenway lines (m)."""
        return float(self.segments["length_m"].sum())

    def component_geometries(self) -> gpd.GeoSeries:
        """One MultiLineString per component (index = component id)."""
        comp = self.segments["component"].to_numpy()
        order = np.argsort(comp, kind="stable")
        ids = np.unique(comp)
        geoms = shapely.multilinestrings(self.segments.geometry.values[order], indices=np.searchsorted(ids, comp[order]))
        return gpd.GeoSeries(geoms, index=pd.Index(ids, name="component"), crs=self.crs)

    def walk_network(self) -> WalkNetwork:
        """The greenway graph as a :class:`~geoplan.network.WalkNetwork` (for the kernel).

        Node index = vertex index; edge rows are the non-artifact edges in the
        order of :attr:`edges`, with ``length`` = ``graph_length_m``.
        """
        if self._walk is None:
            e = self.edges[~self.edges["artifact"]]
            ed = gpd.GeoDataFrame(
                {"u": e["u"].to_numpy(), "v": e["v"].to_numpy(), "length": e["graph_length_m"].to_numpy(),
                 "edge": e.index.to_numpy(), "name": e["name"].to_numpy(), "highway": e["level"].to_numpy()},
                geometry=e.geometry.values, crs=self.crs)
            v = self.vertices
            # separate greenways are real pieces, not fragments of mapping: snap to any of them
            self._walk = WalkNetwork(v["vertex"].to_numpy(), v.geometry.x.to_numpy(), v.geometry.y.to_numpy(), ed, self.crs,
                                     main_share=0.0)
        return self._walk


def _require_projected(gdf: gpd.GeoDataFrame, what: str) -> None:
    if gdf.crs is None:
        raise DataError(f"{what} has no CRS.", hint="Set one, or read the layer with geoplan.sources.layers.read_layer.")
    if not gdf.crs.is_projected:
        raise UsageError(f"{what} is in {gdf.crs.to_string()} (degrees); greenway topology needs metres.",
                         hint="Reproject it first, e.g. gdf.to_crs(gdf.estimate_utm_crs()).")


def line_parts(lines: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lines as single LineStrings with the standard greenway columns.

    Polygons (closed ways read as areas) become their boundary; other geometry
    types and zero-length lines are dropped.

    Parameters
    ----------
    lines : GeoDataFrame
        Any columns; ``segment_id``, ``name``, ``level``, ``source`` are used when present.

    Returns
    -------
    GeoDataFrame
        ``line_id`` (0..n-1), ``segment_id``, ``name``, ``level``, ``source``,
        ``length_m`` and LineString geometry, plus the other input columns.
    """
    df = lines.drop(columns=[c for c in ("line_id", "component", "length_m") if c in lines.columns])
    if "segment_id" not in df.columns:
        df["segment_id"] = np.arange(1, len(df) + 1)
    for col, default in (("name", ""), ("level", "unspecified"), ("source", "layer")):
        if col not in df.columns:
            df[col] = default
        df[col] = df[col].where(df[col].notna(), default).astype(str)
    g = df.geometry
    poly = g.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if poly.any():
        df.loc[poly, df.geometry.name] = g[poly].boundary.values
    df = df[df.geom_type.isin(["LineString", "MultiLineString", "LinearRing"])]
    df = df.explode(index_parts=False, ignore_index=True)
    geoms = np.asarray(df.geometry.values, dtype=object)
    ring = shapely.get_type_id(geoms) == 2
    if ring.any():
        geoms[ring] = shapely.linestrings(shapely.get_coordinates(geoms[ring]), indices=np.repeat(
            np.arange(int(ring.sum())), shapely.get_num_coordinates(geoms[ring])))
        df = df.set_geometry(gpd.GeoSeries(geoms, index=df.index, crs=df.crs))
    df["length_m"] = df.geometry.length.to_numpy()
    df = df[df["length_m"] > GRID_M].reset_index(drop=True)
    df.insert(0, "line_id", np.arange(len(df)))
    return df


def _line_vertices(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates, line index, distance along the line, start offset and count per line."""
    xy, line = shapely.get_coordinates(geoms, return_index=True)
    count = np.bincount(line, minlength=len(geoms))
    start = np.r_[0, np.cumsum(count)[:-1]]
    step = np.r_[0.0, np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))]
    step[start] = 0.0
    cs = np.cumsum(step)
    along = cs - cs[start][line]
    return xy, line, along, start, count


def greenway_network(lines: gpd.GeoDataFrame, snap_m: float = 5.0, *, node_crossings: bool | str = "auto") -> GreenwayNetwork:
    """Build the greenway graph: node shared vertices, join ends within ``snap_m``, find components.

    Parameters
    ----------
    lines : GeoDataFrame
        Greenway lines in a projected metric CRS (columns ``name``, ``level``,
        ``source``, ``segment_id`` are kept when present; see :func:`line_parts`).
    snap_m : float
        An end of a line within this distance of another line is joined to it
        (default 5 m).
    node_crossings : bool or "auto"
        Also join lines where they cross without a shared vertex.  ``"auto"``
        (default) joins crossings between lines that do not come from
        OpenStreetMap (``source`` starting with ``layer`` or ``proposed``):
        digitised lines carry no bridge information, while OpenStreetMap ways
        that meet share a node and a crossing without one is a bridge or an
        underpass.

    Returns
    -------
    GreenwayNetwork
    """
    _require_projected(lines, "the greenway layer")
    if snap_m < 0:
        raise UsageError(f"snap_m must not be negative (got {snap_m:g}).")
    segs = line_parts(lines)
    if segs.empty:
        raise DataError("the greenway layer has no lines (after dropping empty and non-line features).",
                        hint="Check the greenway filters or the layer given.")
    geoms = segs.geometry.values
    n_lines = len(geoms)
    length = segs["length_m"].to_numpy()
    xy, vline, valong, vstart, vcount = _line_vertices(geoms)
    vend = vstart + vcount - 1
    is_end = np.zeros(len(xy), bool)
    is_end[vstart] = True
    is_end[vend] = True
    # the last vertex's cumulative distance is the line length
    valong[vend] = length

    # 1. vertices shared by several lines (or met twice by one line)
    q = np.round(xy / GRID_M).astype(np.int64)
    _, key = np.unique(q, axis=0, return_inverse=True)
    key = key.ravel()
    kl = pd.DataFrame({"key": key, "line": vline})
    n_lines_at = kl.drop_duplicates().groupby("key").size().reindex(np.arange(key.max() + 1), fill_value=0).to_numpy()
    occ = kl.groupby(["key", "line"])["key"].transform("size").to_numpy()
    split = is_end | (n_lines_at[key] > 1) | (occ > 1)
    rec_line = [vline[split]]
    rec_along = [valong[split]]
    rec_xy = [xy[split]]
    rec_moved = [np.zeros(int(split.sum()), bool)]
    rec_key = [key[split]]
    n_base = int(split.sum())
    base_idx = np.full(len(xy), -1, dtype=np.int64)
    base_idx[split] = np.arange(n_base)
    start_rec = base_idx[vstart]
    end_rec = base_idx[vend]
    pairs: list[np.ndarray] = []

    # 2. ends within snap_m of another line
    tree = shapely.STRtree(geoms)
    ends_v = np.r_[vstart, vend]
    ends_line = np.r_[np.arange(n_lines), np.arange(n_lines)]
    ends_rec = np.r_[start_rec, end_rec]
    end_pts = shapely.points(xy[ends_v])
    extra = 0
    if snap_m > 0:
        ei, lj = tree.query(end_pts, predicate="dwithin", distance=snap_m)
        other = ends_line[ei] != lj
        ei, lj = ei[other], lj[other]
        if len(ei):
            p = end_pts[ei]
            pxy = xy[ends_v[ei]]
            d_start = np.hypot(*(pxy - xy[vstart[lj]]).T)
            d_end = np.hypot(*(pxy - xy[vend[lj]]).T)
            to_end = np.minimum(d_start, d_end) <= snap_m
            tgt_end = np.where(d_start <= d_end, start_rec[lj], end_rec[lj])
            # joined to the other line's end
            pairs.append(np.c_[ends_rec[ei[to_end]], tgt_end[to_end]])
            # joined to the nearest point on the other line, which is split there
            mid = ~to_end
            if mid.any():
                lm = lj[mid]
                s = shapely.line_locate_point(geoms[lm], p[mid])
                on = shapely.get_coordinates(shapely.line_interpolate_point(geoms[lm], s))
                new = n_base + np.arange(int(mid.sum()))
                rec_line.append(lm)
                rec_along.append(s)
                rec_xy.append(on)
                rec_moved.append(np.zeros(len(lm), bool))
                rec_key.append(np.full(len(lm), -1))
                pairs.append(np.c_[ends_rec[ei[mid]], new])
                extra = len(lm)
            moved = np.zeros(n_base + extra, bool)
            moved[ends_rec[ei]] = True
            rec_moved = [moved[:n_base]] + rec_moved[1:]

    # 3. crossings without a shared vertex
    if node_crossings == "auto":
        noded = segs["source"].astype(str).str.startswith(("layer", "proposed")).to_numpy()
    else:
        noded = np.full(n_lines, bool(node_crossings))
    if noded.any():
        a, b = tree.query(geoms, predicate="intersects")
        keep = (a < b) & noded[a] & noded[b]
        a, b = a[keep], b[keep]
        if len(a):
            inter = shapely.intersection(geoms[a], geoms[b])
            pts, which = shapely.get_coordinates(inter, return_index=True)
            if len(pts):
                la, lb = a[which], b[which]
                pp = shapely.points(pts)
                first = sum(len(r) for r in rec_line)
                k = len(pts)
                rec_line += [la, lb]
                rec_along += [shapely.line_locate_point(geoms[la], pp), shapely.line_locate_point(geoms[lb], pp)]
                rec_xy += [pts, pts]
                rec_moved += [np.zeros(k, bool), np.zeros(k, bool)]
                rec_key += [np.full(k, -1), np.full(k, -1)]
                pairs.append(np.c_[first + np.arange(k), first + k + np.arange(k)])

    r_line = np.concatenate(rec_line)
    r_along = np.concatenate(rec_along)
    r_xy = np.concatenate(rec_xy)
    r_moved = np.concatenate(rec_moved)
    r_key = np.concatenate(rec_key)
    n_rec = len(r_line)

    # same shared vertex → same graph vertex
    kk = np.nonzero(r_key >= 0)[0]
    order = kk[np.argsort(r_key[kk], kind="stable")]
    same = r_key[order][1:] == r_key[order][:-1]
    pairs.append(np.c_[order[:-1][same], order[1:][same]])
    # records at the same place on the same line → same vertex
    o = np.lexsort((r_along, r_line))
    close = (r_line[o][1:] == r_line[o][:-1]) & (np.diff(r_along[o]) <= GRID_M)
    pairs.append(np.c_[o[:-1][close], o[1:][close]])
    pr = np.concatenate([p.reshape(-1, 2) for p in pairs]).astype(np.int64) if pairs else np.empty((0, 2), np.int64)
    adj = sparse.coo_matrix((np.ones(len(pr)), (pr[:, 0], pr[:, 1])), shape=(n_rec, n_rec))
    _, rec_vertex = csgraph.connected_components(adj, directed=False)
    # a vertex sits where its first unmoved record is
    rep = pd.DataFrame({"v": rec_vertex, "moved": r_moved, "i": np.arange(n_rec)}).sort_values(["v", "moved", "i"])
    rep = rep.drop_duplicates("v")
    n_vert = int(rec_vertex.max()) + 1
    vx = np.empty(n_vert)
    vy = np.empty(n_vert)
    vx[rep["v"].to_numpy()] = r_xy[rep["i"].to_numpy(), 0]
    vy[rep["v"].to_numpy()] = r_xy[rep["i"].to_numpy(), 1]

    # 4. edges: consecutive records along every line
    o = np.lexsort((r_along, r_line))
    ol, oa, ov = r_line[o], r_along[o], rec_vertex[o]
    nxt = (ol[1:] == ol[:-1]) & (np.diff(oa) > GRID_M)
    e_line = ol[:-1][nxt]
    e_a = oa[:-1][nxt]
    e_b = oa[1:][nxt]
    e_u = ov[:-1][nxt]
    e_v = ov[1:][nxt]
    oxy = r_xy[o]
    e_geom = _edge_geometries(xy, vline, valong, length, e_line, e_a, e_b, oxy[:-1][nxt], oxy[1:][nxt])
    e_len = e_b - e_a
    g_len = shapely.length(e_geom)
    artifact = (e_u == e_v) & (e_len <= 2 * snap_m + GRID_M)

    # 5. components (by vertex, through every edge and every line's own records)
    adj = sparse.coo_matrix((np.ones(len(e_u)), (e_u, e_v)), shape=(n_vert, n_vert))
    _, vcomp = csgraph.connected_components(adj, directed=False)
    line_comp = vcomp[rec_vertex[start_rec]]
    comp_len = np.bincount(line_comp, weights=length)
    rank = np.empty(len(comp_len), dtype=np.int64)
    rank[np.argsort(-comp_len, kind="stable")] = np.arange(1, len(comp_len) + 1)
    vcomp = rank[vcomp]
    line_comp = rank[line_comp]

    segs["component"] = line_comp
    attrs = segs.iloc[e_line][["line_id", "segment_id", "name", "level", "source"]].reset_index(drop=True)
    edges = gpd.GeoDataFrame(
        {"u": e_u, "v": e_v, **{c: attrs[c].to_numpy() for c in attrs.columns}, "length_m": e_len,
         "graph_length_m": g_len, "component": vcomp[e_u], "artifact": artifact},
        geometry=e_geom, crs=segs.crs)
    ok = ~artifact
    degree = np.bincount(e_u[ok], minlength=n_vert) + np.bincount(e_v[ok], minlength=n_vert)
    vertices = gpd.GeoDataFrame({"vertex": np.arange(n_vert), "degree": degree, "component": vcomp},
                                geometry=shapely.points(np.c_[vx, vy]), crs=segs.crs)
    comps = _component_table(segs, edges, vertices)
    return GreenwayNetwork(segs, edges, vertices, comps, float(snap_m), node_crossings)


def _edge_geometries(xy: np.ndarray, vline: np.ndarray, valong: np.ndarray, length: np.ndarray, e_line: np.ndarray,
                     e_a: np.ndarray, e_b: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Edge lines: the piece of the data line between ``e_a`` and ``e_b`` (``start`` and ``end`` are its
    end points on the line; joined ends are not moved, so edges keep the data's geometry and length).

    Edges must be sorted by (line, e_a) and cover their lines without overlap (as built).
    """
    n_e = len(e_line)
    if n_e == 0:
        return np.empty(0, dtype=object)
    M = 2.0 * float(length.max()) + 10.0  # (line, along) as one sortable float key
    ek = e_line * M + e_a
    vk = vline * M + valong
    idx = np.clip(np.searchsorted(ek, vk, side="right") - 1, 0, n_e - 1)
    inner = (e_line[idx] == vline) & (valong > e_a[idx] + GRID_M) & (valong < e_b[idx] - GRID_M)
    ids = np.r_[np.arange(n_e), idx[inner], np.arange(n_e)]
    key = np.r_[np.full(n_e, -1.0), valong[inner], np.full(n_e, np.inf)]
    coords = np.vstack([start, xy[inner], end])
    o = np.lexsort((key, ids))
    return shapely.linestrings(coords[o], indices=ids[o])


def _component_table(segs: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, vertices: gpd.GeoDataFrame) -> pd.DataFrame:
    total = float(segs["length_m"].sum())
    g = segs.groupby("component", sort=True)
    out = pd.DataFrame({"length_m": g["length_m"].sum(), "segments": g["segment_id"].nunique()})
    out["share_pct"] = 100.0 * out["length_m"] / total if total > 0 else np.nan
    out["edges"] = edges[~edges["artifact"]].groupby("component").size().reindex(out.index, fill_value=0)
    out["dangling_ends"] = vertices[vertices["degree"] == 1].groupby("component").size().reindex(out.index, fill_value=0)
    out["levels"] = segs.groupby("component")["level"].agg(lambda x: ", ".join(sorted(set(x))))
    # up to three names, longest first
    nm = segs[segs["name"] != ""].groupby(["component", "name"])["length_m"].sum().reset_index()
    nm = nm.sort_values(["component", "length_m", "name"], ascending=[True, False, True], kind="stable")
    nm = nm.groupby("component").head(3).groupby("component")["name"].agg(" / ".join)
    out["names"] = nm.reindex(out.index).fillna("")
    # where it is: the middle of its longest line
    longest = g["length_m"].idxmax()
    mid = shapely.line_interpolate_point(segs.geometry.values[segs.index.get_indexer(longest.to_numpy())], 0.5,
                                         normalized=True)
    ll = gpd.GeoSeries(mid, crs=segs.crs).to_crs("EPSG:4326") if segs.crs is not None else gpd.GeoSeries(mid)
    out["lon"] = ll.x.to_numpy()
    out["lat"] = ll.y.to_numpy()
    out = out.reset_index()
    return out[["component", "length_m", "share_pct", "segments", "edges", "dangling_ends", "levels", "names", "lon", "lat"]]


def graph_indices(u: np.ndarray, v: np.ndarray, length: np.ndarray | None = None,
                  component: np.ndarray | None = None) -> dict:
    """Kansky graph indices of an undirected multigraph given as an edge list.

    The graph is first reduced to its topology: vertices of degree 2 (where a
    line merely continues) are dissolved, so ``vertices`` are junctions and
    ends and ``edges`` are the links between them (an isolated ring keeps one
    vertex and one loop edge).  With ``e`` edges, ``v`` vertices and ``p``
    components::

        beta = e / v;  mu (cyclomatic number) = e - v + p
        alpha = mu / (2v - 5)  (planar; NaN when 2v - 5 <= 0)
        gamma = e / (3 (v - 2))  (planar; NaN when v <= 2)

    Parameters
    ----------
    u, v : array of int
        Edge end vertices (any integer labels).
    length : array of float, optional
        Edge lengths; adds ``total_length_m`` and the largest component's length and share.
    component : array of int, optional
        Component of every edge (computed when omitted).

    Returns
    -------
    dict
        ``edges``, ``vertices``, ``components``, ``alpha``, ``beta``, ``gamma``,
        ``cyclomatic``, ``dangling_ends`` (degree-1 vertices), ``junctions``
        (degree >= 3), ``graph_edges`` and ``graph_vertices`` (before dissolving
        degree-2 vertices), and the length figures when ``length`` is given.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    out: dict[str, Any] = {}
    if len(u) == 0:
        out.update(edges=0, vertices=0, components=0, alpha=np.nan, beta=np.nan, gamma=np.nan, cyclomatic=0,
                   dangling_ends=0, junctions=0, graph_edges=0, graph_vertices=0)
        if length is not None:
            out.update(total_length_m=0.0, largest_component_m=0.0, largest_component_share_pct=np.nan)
        return out
    ids, inv = np.unique(np.r_[u, v], return_inverse=True)
    uu, vv = inv[: len(u)], inv[len(u):]
    nv = len(ids)
    deg = np.bincount(uu, minlength=nv) + np.bincount(vv, minlength=nv)
    adj = sparse.coo_matrix((np.ones(len(uu)), (uu, vv)), shape=(nv, nv))
    p, vc = csgraph.connected_components(adj, directed=False)
    not2 = np.bincount(vc, weights=(deg != 2).astype(float), minlength=p)
    pure_rings = int((not2 == 0).sum())
    n2 = int((deg == 2).sum())
    e = len(u) - n2 + pure_rings
    vt = nv - n2 + pure_rings
    mu = e - vt + p
    out.update(
        edges=int(e), vertices=int(vt), components=int(p),
        beta=e / vt if vt else np.nan,
        cyclomatic=int(mu),
        alpha=mu / (2 * vt - 5) if 2 * vt - 5 > 0 else np.nan,
        gamma=e / (3 * (vt - 2)) if vt > 2 else np.nan,
        dangling_ends=int((deg == 1).sum()), junctions=int((deg >= 3).sum()),
        graph_edges=int(len(u)), graph_vertices=int(nv),
    )
    if length is not None:
        length = np.asarray(length, dtype=float)
        comp = vc[uu] if component is None else np.unique(np.asarray(component), return_inverse=True)[1]
        cl = np.bincount(comp, weights=length)
        tot = float(length.sum())
        out.update(total_length_m=tot, largest_component_m=float(cl.max()),
                   largest_component_share_pct=100.0 * float(cl.max()) / tot if tot > 0 else np.nan)
    return out


def connectivity_indices(gw: GreenwayNetwork, levels: list[str] | None = None) -> pd.DataFrame:
    """Length, components and graph indices overall and per level.

    Per level the graph is the level's own edges (its lines joined where they
    meet each other or lines of other levels, as built for the whole network).
    Component counts and the largest-component share use the data lengths
    (``length_m``).

    Parameters
    ----------
    gw : GreenwayNetwork
    levels : list of str, optional
        Level order for the rows (default: levels present, sorted).

    Returns
    -------
    DataFrame
        One row per ``level`` (``all`` first): ``length_m``, ``length_km``,
        ``components``, ``largest_component_m``, ``largest_component_share_pct``,
        ``edges``, ``vertices``, ``alpha``, ``beta``, ``gamma``, ``cyclomatic``,
        ``dangling_ends``, ``junctions``, ``graph_edges``, ``graph_vertices``.
    """
    e = gw.edges[~gw.edges["artifact"]]
    present = sorted(gw.segments["level"].unique().tolist())
    order = [lv for lv in (levels or []) if lv in present] + [lv for lv in present if lv not in (levels or [])]
    rows = []
    for lv in ["all", *order]:
        sub = e if lv == "all" else e[e["level"] == lv]
        segs = gw.segments if lv == "all" else gw.segments[gw.segments["level"] == lv]
        ind = graph_indices(sub["u"].to_numpy(), sub["v"].to_numpy())
        # components and lengths from the lines (a line is never split across components)
        if lv == "all":
            comp_len = segs.groupby("component")["length_m"].sum()
        else:
            # components of the level's own subgraph
            ids, inv = np.unique(np.r_[sub["u"].to_numpy(), sub["v"].to_numpy()], return_inverse=True)
            n = len(ids)
            if n:
                adj = sparse.coo_matrix((np.ones(len(sub)), (inv[: len(sub)], inv[len(sub):])), shape=(n, n))
                _, vc = csgraph.connected_components(adj, directed=False)
            else:
                vc = np.empty(0, np.int64)
            lab = vc[inv[: len(sub)]]
            # lines whose every edge is an artifact (a loop of a few metres) belong to the component at
            # their vertex, or are a piece of their own when no other line of the level reaches it
            missing = segs[~segs["line_id"].isin(sub["line_id"])]
            m_len = missing["length_m"].to_numpy()
            vertex_of = gw.edges.drop_duplicates("line_id").set_index("line_id")["u"]
            comp_of_vertex = dict(zip(ids.tolist(), vc.tolist()))
            fresh = iter(range(int(vc.max()) + 1 if len(vc) else 0, 1 << 62))
            extra_lab = np.array([comp_of_vertex.get(int(vertex_of[ln]), None) if ln in vertex_of.index else None
                                  for ln in missing["line_id"]], dtype=object)
            extra_lab = np.array([x if x is not None else next(fresh) for x in extra_lab], dtype=np.int64)
            comp_len = pd.Series(np.r_[sub["length_m"].to_numpy(), m_len]).groupby(np.r_[lab, extra_lab]).sum()
        total = float(segs["length_m"].sum())
        rows.append({
            "level": lv, "length_m": total, "length_km": total / 1000.0, "components": int(len(comp_len)),
            "largest_component_m": float(comp_len.max()) if len(comp_len) else 0.0,
            "largest_component_share_pct": 100.0 * float(comp_len.max()) / total if total > 0 else np.nan,
            **{k: ind[k] for k in ("edges", "vertices", "alpha", "beta", "gamma", "cyclomatic", "dangling_ends",
                                   "junctions", "graph_edges", "graph_vertices")},
        })
    return pd.DataFrame(rows)


def anchors(gw: GreenwayNetwork, spacing_m: float = 25.0) -> gpd.GeoDataFrame:
    """Points along every greenway edge, at most ``spacing_m`` apart, both ends included.

    These are where people can step on or off the greenway (and where gap
    links and walks start).

    Returns
    -------
    GeoDataFrame
        ``edge`` (row of :attr:`GreenwayNetwork.walk_network` edges), ``along``
        (m from the edge's ``u`` end), ``component``, point geometry.
    """
    wn = gw.walk_network()
    L = wn.edge_length
    k = np.maximum(np.ceil(L / spacing_m).astype(np.int64), 1)
    edge = np.repeat(np.arange(wn.n_edges), k + 1)
    first = np.r_[0, np.cumsum(k + 1)[:-1]]
    j = np.arange(len(edge)) - np.repeat(first, k + 1)
    along = L[edge] * j / k[edge]
    pts = shapely.line_interpolate_point(wn.edges.geometry.values[edge], along)
    comp = gw.edges["component"].to_numpy()[wn.edges["edge"].to_numpy()[edge]]
    return gpd.GeoDataFrame({"edge": edge, "along": along, "component": comp}, geometry=pts, crs=gw.crs)
