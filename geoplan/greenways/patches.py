"""Park connectivity through the greenway network: IIC, PC and the importance of parks and links.

Parks are *patches* (attribute ``a_i`` = park area) and greenway paths between
them are *links* (Pascual-Hortal & Saura 2006; Saura & Pascual-Hortal 2007)::

    IIC = (1 / A_L²) Σ_i Σ_j a_i a_j / (1 + nl_ij)
        nl_ij: links on the path with fewest links between i and j in the binary
        graph of links no longer than ``iic_threshold_m`` (nl_ii = 0; pairs in
        different components contribute 0)
    PC  = (1 / A_L²) Σ_i Σ_j a_i a_j p*_ij
        p_ij = exp(-θ d_ij), θ = -ln(p_ref) / d_ref (p = 0.5 at 1,000 m by default)
        p*_ij: the largest product of p along any path of links (p*_ii = 1),
        i.e. exp(-θ × shortest path over the links)
    EC(PC) = √(Σ_i Σ_j a_i a_j p*_ij)   (equivalent connected area, m²)
    dI_k = 100 (I - I_without_k) / I    (k a park: a_k = 0 and its links gone;
                                         k a link: that link gone)
    dPC_k = dPC_intra + dPC_flux + dPC_connector
        intra = 100 a_k² / PCnum; flux = 100 Σ_{i≠k} 2 a_i a_k p*_ik / PCnum;
        connector = the rest (k as a stepping stone between other parks)

A_L is the landscape (study area) area.

Links through the greenway (:func:`park_links`): a park reaches the greenway
at every greenway point within ``park_link_m`` of its boundary (that straight
distance is walked); d_ij is the shortest path over the greenway graph.  A
pair (i, j) is a *direct* link unless a third park k lies on the path
(d_ik + d_kj <= d_ij + ``stepping_tolerance_m``): then the path is the two
links i-k and k-j, and k is a stepping stone.  Distances over the walking
network are not used: only the greenway itself (and, in the "with proposed
links" scenario, the joining links added to it) connects parks.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from ..network import Snapped, Sources, all_pairs, multi_source, point_distances
from .topology import GreenwayNetwork, anchors

__all__ = ["PatchConnectivity", "patch_connectivity", "park_links", "decay_theta", "iic_pc"]


def decay_theta(distance_m: float = 1000.0, probability: float = 0.5) -> float:
    """θ of the negative exponential kernel p = exp(-θ d) with p(``distance_m``) = ``probability``."""
    if not (0 < probability < 1) or distance_m <= 0:
        raise ValueError("need 0 < probability < 1 and distance_m > 0")
    return -np.log(probability) / distance_m


def _matrices(n: int, i: np.ndarray, j: np.ndarray, d: np.ndarray, theta: float,
              threshold: float | None) -> tuple[np.ndarray, np.ndarray]:
    """All-pairs ``θ × shortest distance`` and fewest-link counts (inf where unconnected)."""
    if len(i):
        W = sparse.coo_matrix((np.maximum(theta * d, 1e-12), (i, j)), shape=(n, n)).tocsr()
        D = all_pairs(W)
        m = np.ones(len(i), bool) if threshold is None else d <= threshold
        if m.any():
            B = sparse.coo_matrix((np.ones(int(m.sum())), (i[m], j[m])), shape=(n, n)).tocsr()
            H = all_pairs(B, unweighted=True)
        else:
            H = np.where(np.eye(n, dtype=bool), 0.0, np.inf)
    else:
        D = np.where(np.eye(n, dtype=bool), 0.0, np.inf)
        H = D.copy()
    return D, H


def iic_pc(areas: np.ndarray, i: np.ndarray, j: np.ndarray, distance_m: np.ndarray, *, theta: float,
           iic_threshold_m: float | None = None) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Numerators of IIC and PC (Σ_i Σ_j a_i a_j / (1 + nl_ij) and Σ_i Σ_j a_i a_j p*_ij).

    Parameters
    ----------
    areas : array of float
        Patch attributes a_i.
    i, j : array of int
        Link ends (positions in ``areas``); undirected.
    distance_m : array of float
        Link lengths.
    theta : float
        Decay rate (:func:`decay_theta`).
    iic_threshold_m : float, optional
        Links longer than this are not in the IIC binary graph.

    Returns
    -------
    iic_num, pc_num : float
    pstar : ndarray (n, n)
        p*_ij.
    nl : ndarray (n, n)
        Fewest links between i and j (inf where unconnected).
    """
    a = np.asarray(areas, dtype=float)
    D, H = _matrices(len(a), np.asarray(i, np.int64), np.asarray(j, np.int64), np.asarray(distance_m, float), theta,
                     iic_threshold_m)
    P = np.exp(-D)
    T = 1.0 / (1.0 + H)
    return float(a @ T @ a), float(a @ P @ a), P, H


@dataclass
class PatchConnectivity:
    """IIC, PC and the importance of every patch and link.

    Attributes
    ----------
    iic, pc : float
        The indices (numerator / A_L²).
    iic_num, pc_num : float
        Numerators (m⁴).
    ec_pc : float
        Equivalent connected area √PCnum (m²).
    landscape_area : float
        A_L (m²).
    theta : float
    iic_threshold_m : float or None
    patches : DataFrame
        ``patch`` (position), ``area``, ``dIIC``, ``dPC``, ``dPC_intra``,
        ``dPC_flux``, ``dPC_connector`` (percent), ``links``.
    links : DataFrame
        ``i``, ``j``, ``distance_m``, ``probability``, ``in_iic``, ``dIIC``, ``dPC`` (percent).
    """

    iic: float
    pc: float
    iic_num: float
    pc_num: float
    ec_pc: float
    landscape_area: float
    theta: float
    iic_threshold_m: float | None
    patches: pd.DataFrame
    links: pd.DataFrame


def _on_best_path(M: np.ndarray, w: float, a: int, b: int) -> bool:
    """Whether a link a-b of weight w lies on some shortest path of the all-pairs matrix M."""
    fin = np.isfinite(M)
    tol = 1e-9 * np.where(fin, np.abs(M), 0) + 1e-12
    via = M[:, a][:, None] + w + M[b, :][None, :]
    via2 = M[:, b][:, None] + w + M[a, :][None, :]
    return bool(np.any(fin & ((via <= M + tol) | (via2 <= M + tol))))


def patch_connectivity(areas: np.ndarray, links: pd.DataFrame, landscape_area: float, *,
                       decay_distance_m: float = 1000.0, decay_probability: float = 0.5,
                       iic_threshold_m: float | None = None) -> PatchConnectivity:
    """IIC, PC, EC(PC) and dIIC/dPC of every patch and every link.

    Parameters
    ----------
    areas : array of float
        Patch attribute a_i (park area in m²).
    links : DataFrame
        ``i``, ``j`` (positions in ``areas``), ``distance_m``.
    landscape_area : float
        A_L (m²): the study area.
    decay_distance_m, decay_probability : float
        PC kernel: p = ``decay_probability`` at ``decay_distance_m`` (default 0.5 at 1,000 m).
    iic_threshold_m : float, optional
        IIC binary graph: links no longer than this (default: all links).

    Returns
    -------
    PatchConnectivity
    """
    a = np.asarray(areas, dtype=float)
    n = len(a)
    theta = decay_theta(decay_distance_m, decay_probability)
    li = links["i"].to_numpy(np.int64) if len(links) else np.empty(0, np.int64)
    lj = links["j"].to_numpy(np.int64) if len(links) else np.empty(0, np.int64)
    ld = links["distance_m"].to_numpy(float) if len(links) else np.empty(0)
    D, H = _matrices(n, li, lj, ld, theta, iic_threshold_m)
    P = np.exp(-D)
    iic_num = float(a @ (1.0 / (1.0 + H)) @ a)
    pc_num = float(a @ P @ a)
    A2 = float(landscape_area) ** 2

    def pct(before: float, after: float) -> float:
        return 100.0 * (before - after) / before if before > 0 else np.nan

    rows = []
    for k in range(n):
        keep = (li != k) & (lj != k)
        ak = a.copy()
        ak[k] = 0.0
        ii, pp, _, _ = iic_pc(ak, li[keep], lj[keep], ld[keep], theta=theta, iic_threshold_m=iic_threshold_m)
        intra = 100.0 * a[k] ** 2 / pc_num if pc_num > 0 else np.nan
        flux = 100.0 * 2.0 * (a[k] * (P[k] @ a) - a[k] ** 2) / pc_num if pc_num > 0 else np.nan
        dpc = pct(pc_num, pp)
        conn = dpc - intra - flux
        conn = 0.0 if abs(conn) < 1e-9 * max(1.0, abs(dpc)) else conn
        rows.append({"patch": k, "area": a[k], "dIIC": pct(iic_num, ii), "dPC": dpc, "dPC_intra": intra,
                     "dPC_flux": flux, "dPC_connector": conn, "links": int((~keep).sum())})
    patches = pd.DataFrame(rows, columns=["patch", "area", "dIIC", "dPC", "dPC_intra", "dPC_flux", "dPC_connector", "links"])
    in_iic = np.ones(len(li), bool) if iic_threshold_m is None else ld <= iic_threshold_m
    lrows = []
    for m in range(len(li)):
        keep = np.arange(len(li)) != m
        uses_pc = _on_best_path(D, theta * ld[m], li[m], lj[m])
        uses_iic = in_iic[m] and _on_best_path(H, 1.0, li[m], lj[m])
        if uses_pc or uses_iic:
            ii, pp, _, _ = iic_pc(a, li[keep], lj[keep], ld[keep], theta=theta, iic_threshold_m=iic_threshold_m)
        else:
            ii, pp = iic_num, pc_num
        lrows.append({"i": int(li[m]), "j": int(lj[m]), "distance_m": float(ld[m]), "probability": float(np.exp(-theta * ld[m])),
                      "in_iic": bool(in_iic[m]), "dIIC": pct(iic_num, ii) if uses_iic else 0.0,
                      "dPC": pct(pc_num, pp) if uses_pc else 0.0})
    lk = pd.DataFrame(lrows, columns=["i", "j", "distance_m", "probability", "in_iic", "dIIC", "dPC"])
    return PatchConnectivity(iic=iic_num / A2, pc=pc_num / A2, iic_num=iic_num, pc_num=pc_num, ec_pc=float(np.sqrt(pc_num)),
                             landscape_area=float(landscape_area), theta=theta, iic_threshold_m=iic_threshold_m,
                             patches=patches, links=lk)


def park_links(gw: GreenwayNetwork, parks: gpd.GeoDataFrame, *, link_m: float = 100.0, spacing_m: float = 25.0,
               max_m: float = 5000.0, stepping_tolerance_m: float = 1.0) -> gpd.GeoDataFrame:
    """Direct links between parks through the greenway network, with their path lengths.

    Parameters
    ----------
    gw : GreenwayNetwork
    parks : GeoDataFrame
        Park polygons (any CRS); links refer to their row positions.
    link_m : float
        A park reaches the greenway at greenway points within this straight
        distance of it (the distance is added to the path).
    spacing_m : float
        Spacing of the greenway points.
    max_m : float
        Longest park-to-park path searched.
    stepping_tolerance_m : float
        A pair whose path passes through a third park (within this tolerance) is
        not a direct link.

    Returns
    -------
    GeoDataFrame
        ``i``, ``j`` (row positions, i < j), ``distance_m`` and a straight line
        between the parks' representative points (a schematic of the link).
    """
    crs = gw.crs
    cols = {"i": pd.Series([], dtype=np.int64), "j": pd.Series([], dtype=np.int64), "distance_m": pd.Series([], dtype=float)}
    n = len(parks)
    empty = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if n < 2:
        return empty
    pg = parks.to_crs(crs).geometry.values
    gwn = gw.walk_network()
    anc = anchors(gw, spacing_m)
    tree = shapely.STRtree(anc.geometry.values)
    pi, ai = tree.query(pg, predicate="dwithin", distance=link_m)
    if len(pi) == 0:
        return empty
    off = shapely.distance(pg[pi], anc.geometry.values[ai])
    edge = anc["edge"].to_numpy(np.int64)[ai]
    along = anc["along"].to_numpy(float)[ai]
    allpts = Snapped(edge, along, off)
    D = np.full((n, n), np.inf)
    for p in np.unique(pi):
        m = pi == p
        reach = multi_source(gwn, Sources.on_edges(Snapped(edge[m], along[m], off[m])), max_m)
        d, _ = point_distances(gwn, reach, allpts)
        np.minimum.at(D[p], pi, d)
    D = np.minimum(D, D.T)
    np.fill_diagonal(D, 0.0)
    direct = np.isfinite(D)
    np.fill_diagonal(direct, False)
    for k in range(n):
        if not np.isfinite(D[k]).any():
            continue
        via = D[:, k][:, None] + D[k, :][None, :] <= D + stepping_tolerance_m
        via[k, :] = False
        via[:, k] = False
        direct &= ~via
    ii, jj = np.nonzero(np.triu(direct, 1))
    rp = shapely.point_on_surface(pg)
    geom = shapely.linestrings(np.stack([shapely.get_coordinates(rp[ii]), shapely.get_coordinates(rp[jj])], axis=1))
    return gpd.GeoDataFrame({"i": ii.astype(np.int64), "j": jj.astype(np.int64), "distance_m": D[ii, jj]},
                            geometry=geom if len(ii) else gpd.GeoSeries([], crs=crs), crs=crs)
