"""Supply and demand: the enhanced two-step floating catchment area (E2SFCA).

For facilities with a capacity S_j (beds, seats, places) and residents P_i at
the origins, with a distance-decay weight W(d) that is 0 beyond the
catchment d0 (STANDARDS D.2)::

    step 1, each facility j:  R_j = S_j / sum_k P_k W(d_kj)
    step 2, each origin i:    A_i = sum_j R_j W(d_ij)

A_i is capacity per resident (reported per ``per`` residents, e.g. beds per
1,000).  The weights are used in both steps, as in Luo & Qi (2009); then
sum_i P_i A_i = sum_j S_j over the facilities that have demand in reach,
which the tests check.  Distances are walking distances from the kernel: one
bounded pass per *facility* (facilities are few), never one per origin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

from ..errors import UsageError
from ..network import Snapped, Sources, WalkNetwork, multi_source, point_distances

__all__ = ["decay_function", "e2sfca", "e2sfca_from_distances", "gaussian_weight", "pair_distances", "stepped_weight"]


def gaussian_weight(d: np.ndarray, d0: float) -> np.ndarray:
    """Gaussian decay inside the catchment (Dai 2010), 1 at d = 0 and 0 at d >= d0.

    W(d) = (exp(-d²/(2 d0²)) - exp(-1/2)) / (1 - exp(-1/2)) for d < d0, else 0.
    """
    d = np.asarray(d, dtype=float)
    e = np.exp(-0.5)
    with np.errstate(over="ignore", invalid="ignore"):
        w = (np.exp(-0.5 * (d / d0) ** 2) - e) / (1.0 - e)
    return np.where(d < d0, np.clip(w, 0.0, 1.0), 0.0)


def stepped_weight(d: np.ndarray, zones_m: Sequence[float], weights: Sequence[float]) -> np.ndarray:
    """Stepped weights of E2SFCA (Luo & Qi 2009): ``weights[r]`` for d within zone r (outer edges ``zones_m``)."""
    d = np.asarray(d, dtype=float)
    z = np.asarray(zones_m, dtype=float)
    w = np.asarray(weights, dtype=float)
    if len(z) != len(w) or len(z) == 0 or np.any(np.diff(z) <= 0):
        raise UsageError("E2SFCA: give ascending zone edges and one weight per zone.")
    idx = np.searchsorted(z, d, side="left")
    return np.where(idx < len(z), w[np.minimum(idx, len(z) - 1)], 0.0)


def decay_function(kind: str, d0: float, zones_m: Sequence[float] | None = None,
                   weights: Sequence[float] | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """The weight function W(d) for ``kind`` = ``gaussian``, ``stepped`` or ``none`` (plain 2SFCA)."""
    if kind == "gaussian":
        return lambda d: gaussian_weight(d, d0)
    if kind == "stepped":
        z = list(zones_m or [d0 / 3, 2 * d0 / 3, d0])
        w = list(weights or [1.0, 0.68, 0.22])
        return lambda d: stepped_weight(d, z, w)
    if kind == "none":
        return lambda d: (np.asarray(d, dtype=float) <= d0).astype(float)
    raise UsageError(f"unknown E2SFCA decay {kind!r}.", hint="Use gaussian, stepped or none.")


def pair_distances(network: WalkNetwork, demand: Snapped, supply: Snapped, d0: float) -> sparse.csr_matrix:
    """Walking distances between every origin and every facility within ``d0``.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_demand, n_supply)
        Stored entries are the pairs within ``d0``; a pair at exactly 0 m is
        stored as 1e-9 m so it is not lost.
    """
    rows, cols, vals = [], [], []
    for j in range(len(supply)):
        one = Snapped(supply.edge[j:j + 1], supply.along[j:j + 1], supply.offset[j:j + 1])
        reach = multi_source(network, Sources.on_edges(one), float(d0))
        d, _ = point_distances(network, reach, demand)
        i = np.nonzero(np.isfinite(d))[0]
        rows.append(i)
        cols.append(np.full(len(i), j))
        vals.append(np.maximum(d[i], 1e-9))
    if not rows:
        return sparse.csr_matrix((len(demand), len(supply)))
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(len(demand), len(supply)))


def e2sfca_from_distances(dist: sparse.spmatrix | np.ndarray, population: np.ndarray, capacity: np.ndarray,
                          weight: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The E2SFCA formula on a distance matrix.

    Parameters
    ----------
    dist : sparse matrix or ndarray, shape (n_demand, n_supply)
        Distances; for a sparse matrix only stored pairs are in reach, for a
        dense one ``inf`` marks pairs out of reach.
    population : ndarray (n_demand,)
        P_i.
    capacity : ndarray (n_supply,)
        S_j.
    weight : callable
        W(d), 0 beyond the catchment.

    Returns
    -------
    access : ndarray (n_demand,)
        A_i, capacity per resident.
    ratio : ndarray (n_supply,)
        R_j, capacity per weighted resident (NaN where no demand is in reach).
    """
    P = np.asarray(population, dtype=float)
    S = np.asarray(capacity, dtype=float)
    if sparse.issparse(dist):
        D = sparse.coo_matrix(dist)
        W = sparse.csr_matrix((weight(D.data), (D.row, D.col)), shape=D.shape)
    else:
        D = np.asarray(dist, dtype=float)
        W = sparse.csr_matrix(np.where(np.isfinite(D), weight(np.where(np.isfinite(D), D, 0.0)), 0.0))
    demand = np.asarray(W.T @ P).ravel()  # sum_k P_k W_kj
    ratio = np.divide(S, demand, out=np.full(len(S), np.nan), where=demand > 0)
    access = np.asarray(W @ np.nan_to_num(ratio, nan=0.0)).ravel()
    return access, ratio


def e2sfca(
    network: WalkNetwork,
    origins: Snapped,
    population: np.ndarray,
    facilities: Snapped,
    capacity: np.ndarray,
    *,
    threshold_m: float = 1000.0,
    decay: str = "gaussian",
    zones_m: Sequence[float] | None = None,
    zone_weights: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """E2SFCA accessibility of every origin to facilities with a capacity, by walking distance.

    Parameters
    ----------
    network : WalkNetwork
    origins : Snapped
        Demand points snapped onto edges.
    population : ndarray
        Residents per origin.
    facilities : Snapped
        Supply points snapped onto edges.
    capacity : ndarray
        Capacity per facility (beds, seats, places).
    threshold_m : float
        Catchment d0 in network metres (default 1,000).
    decay : {"gaussian", "stepped", "none"}
        Distance decay inside the catchment (default Gaussian).
    zones_m, zone_weights : sequence of float, optional
        Zones and weights of the stepped decay.

    Returns
    -------
    access : ndarray
        Capacity per resident at each origin.
    ratio : ndarray
        Supply-to-demand ratio of each facility.
    """
    if not (0 < threshold_m <= 5000):
        raise UsageError(f"E2SFCA threshold {threshold_m:g} m is out of range.", hint="Use more than 0 and at most 5,000 m.")
    cap = np.asarray(capacity, dtype=float)
    if np.any(~np.isfinite(cap)) or np.any(cap < 0):
        raise UsageError("E2SFCA: capacities must be finite and non-negative.")
    D = pair_distances(network, origins, facilities, threshold_m)
    return e2sfca_from_distances(D, population, cap, decay_function(decay, threshold_m, zones_m, zone_weights))
