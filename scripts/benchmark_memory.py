#!/usr/bin/env python
"""Peak memory of geoplan's network kernel as the network grows (issue #6: < 2 GB at 1 million nodes).

    python scripts/benchmark_memory.py            # nested extracts of Xicheng + tilings up to ~1.2 M nodes
    python scripts/benchmark_memory.py --quick    # two small sizes (smoke test)

Sizes:

* nested extracts: the real walking network of the largest extract available
  (Xicheng in ../shared/data, else the bundled Helsinki sample), clipped to
  centred boxes of growing area;
* tilings: the real network replicated as a k x l grid of translated copies,
  neighbouring copies joined by straight links between their facing border
  nodes (a SYNTHETIC network made of real street geometry, to reach 1 M nodes).

Each size runs in a fresh interpreter which builds, from in-memory arrays, the
edge table with geometries and a :class:`geoplan.WalkNetwork`, snaps one origin
per two nodes onto the streets, and runs one :func:`geoplan.multi_source` pass
(1 % of the nodes as sources on edges, 1,000 m) and :func:`geoplan.point_distances`.
The peak resident set size of that process (``ru_maxrss``) is recorded, with the
RSS after imports and after the input arrays are made, so growth per node can be read off.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
XICHENG_PBF = SHARED / "osm" / "xicheng_streets_2024-03.osm.pbf"
sys.path.insert(0, str(REPO))
warnings.filterwarnings("ignore")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """Peak RSS of this process (VmHWM: since the last :func:`reset_peak`, else since start)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0: ``echo 5 > clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# parent: cache the real network as plain arrays
# ---------------------------------------------------------------------------
def cache_network(pbf: Path | None, path: Path) -> dict:
    import shapely

    import geoplan
    from geoplan.network import build_network
    from geoplan.sources.osm import OSMSource
    from geoplan.study import choose_crs

    src = pbf or geoplan.bundled_sample()
    osm = OSMSource(src)
    nodes, edges = osm.walking_network()
    hull = shapely.box(nodes["lon"].min(), nodes["lat"].min(), nodes["lon"].max(), nodes["lat"].max())
    crs = choose_crs(hull, "EPSG:4547" if pbf == XICHENG_PBF else None)
    net = build_network(nodes, edges, crs)
    np.savez(path, node_id=net.node_id, x=net.x, y=net.y, u=net.edge_u, v=net.edge_v, length=net.edge_length,
             osmid=net.edges["osmid"].to_numpy(np.int64),
             highway=net.edges["highway"].astype(str).to_numpy(),
             wkb=np.array(shapely.to_wkb(net.edges.geometry.values), dtype=object), crs=str(crs.to_wkt()))
    return {"source": str(src), "nodes": int(net.n_nodes), "edges": int(net.n_edges), "crs": str(crs)}


# ---------------------------------------------------------------------------
# child: one size
# ---------------------------------------------------------------------------
def make_arrays(cache: dict, spec: dict) -> dict:
    """Node and edge arrays (with geometries) of one size: a nested box or a k x l tiling."""
    import shapely

    x, y, u, v = cache["x"], cache["y"], cache["u"], cache["v"]
    geoms = shapely.from_wkb(cache["wkb"])
    node_id, L, osmid, hw = cache["node_id"], cache["length"], cache["osmid"], cache["highway"]
    if spec["kind"] == "box":
        f = spec["fraction"]
        cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
        hx, hy = (x.max() - x.min()) / 2 * np.sqrt(f), (y.max() - y.min()) / 2 * np.sqrt(f)
        inside = (np.abs(x - cx) <= hx) & (np.abs(y - cy) <= hy)
        keep = inside[u] & inside[v]
        used = np.unique(np.concatenate([u[keep], v[keep]]))
        remap = np.full(len(x), -1, np.int64)
        remap[used] = np.arange(len(used))
        return {"node_id": node_id[used], "x": x[used], "y": y[used], "u": remap[u[keep]], "v": remap[v[keep]],
                "length": L[keep], "osmid": osmid[keep], "highway": hw[keep], "geometry": geoms[keep]}
    kx, ky = spec["tiles"]
    n = len(x)
    W, H = x.max() - x.min() + 60.0, y.max() - y.min() + 60.0
    # border nodes that face the neighbouring copy (the 40 outermost on each side)
    east, west = np.argsort(-x)[:40], np.argsort(x)[:40]
    north, south = np.argsort(-y)[:40], np.argsort(y)[:40]
    X, Y, U, V, G = [], [], [], [], []
    for i in range(kx):
        for j in range(ky):
            t = i * ky + j
            dx, dy = i * W, j * H
            X.append(x + dx)
            Y.append(y + dy)
            U.append(u + t * n)
            V.append(v + t * n)
            G.append(shapely.transform(geoms, lambda c, dx=dx, dy=dy: c + [dx, dy]))
    X, Y = np.concatenate(X), np.concatenate(Y)
    U, V, G = np.concatenate(U), np.concatenate(V), np.concatenate(G)
    link_u, link_v = [], []
    for i in range(kx):
        for j in range(ky):
            t = i * ky + j
            if i + 1 < kx:  # east border of t to the west border of its east neighbour (nearest by y)
                o = (i + 1) * ky + j
                w_ = west[np.argmin(np.abs(y[west][None, :] - y[east][:, None]), axis=1)]
                link_u.append(east + t * n)
                link_v.append(w_ + o * n)
            if j + 1 < ky:
                o = i * ky + j + 1
                s_ = south[np.argmin(np.abs(x[south][None, :] - x[north][:, None]), axis=1)]
                link_u.append(north + t * n)
                link_v.append(s_ + o * n)
    lu, lv = (np.concatenate(link_u), np.concatenate(link_v)) if link_u else (np.empty(0, int), np.empty(0, int))
    lg = shapely.linestrings(np.stack([np.c_[X[lu], Y[lu]], np.c_[X[lv], Y[lv]]], axis=1)) if len(lu) else np.empty(0, object)
    tiles = kx * ky
    return {
        "node_id": np.concatenate([node_id + t * 10**12 for t in range(tiles)]),
        "x": X, "y": Y,
        "u": np.concatenate([U, lu]), "v": np.concatenate([V, lv]),
        "length": np.concatenate([np.tile(L, tiles), shapely.length(lg)]),
        "osmid": np.concatenate([np.tile(osmid, tiles), np.full(len(lu), -1)]),
        "highway": np.concatenate([np.tile(hw, tiles), np.full(len(lu), "footway", dtype=object)]),
        "geometry": np.concatenate([G, lg]),
        "links": len(lu),
    }


def child(spec: dict) -> dict:
    import geopandas as gpd
    import shapely

    from geoplan.network import Sources, WalkNetwork, multi_source, point_distances

    out: dict = {"spec": spec, "rss_after_imports_mb": rss_mb()}
    z = np.load(spec["cache"], allow_pickle=True)
    cache = {k: z[k] for k in z.files}
    crs = str(cache.pop("crs"))
    arr = make_arrays(cache, spec)
    del cache, z
    gc.collect()
    out["rss_after_input_mb"] = rss_mb()
    out["peak_while_making_input_mb"] = peak_mb()
    out["peak_reset"] = reset_peak()
    t = time.perf_counter()
    edges = gpd.GeoDataFrame({"u": arr["u"], "v": arr["v"], "osmid": arr["osmid"], "highway": arr["highway"],
                              "length": arr["length"]}, geometry=arr["geometry"], crs=crs)
    net = WalkNetwork(arr["node_id"], arr["x"], arr["y"], edges, crs)
    del edges, arr
    gc.collect()
    out["build_s"] = time.perf_counter() - t
    out["nodes"], out["edges"] = net.n_nodes, net.n_edges
    out["rss_after_network_mb"] = rss_mb()
    rng = np.random.default_rng(6)
    n_orig = net.n_nodes // 2
    e = rng.integers(0, net.n_edges, n_orig)
    on = shapely.line_interpolate_point(net.edges.geometry.values[e], rng.uniform(0, 1, n_orig), normalized=True)
    a = rng.uniform(0, 2 * np.pi, n_orig)
    pts = shapely.points(shapely.get_x(on) + 20 * np.cos(a), shapely.get_y(on) + 20 * np.sin(a))
    del on
    t = time.perf_counter()
    origins = net.snap(pts)
    out["snap_s"] = time.perf_counter() - t
    out["origins"] = n_orig
    out["rss_after_snap_mb"] = rss_mb()
    k = max(1, net.n_nodes // 100)
    se = rng.integers(0, net.n_edges, k)
    src = net.snap(shapely.line_interpolate_point(net.edges.geometry.values[se], 0.5, normalized=True))
    t = time.perf_counter()
    reach = multi_source(net, Sources.on_edges(src), 1000.0)
    out["multi_source_s"] = time.perf_counter() - t
    t = time.perf_counter()
    d, _ = point_distances(net, reach, origins)
    out["point_distances_s"] = time.perf_counter() - t
    out["sources"] = k
    out["reached_origins_pct"] = float(np.isfinite(d).mean() * 100)
    out["rss_end_mb"] = rss_mb()
    # peak while geoplan worked (from the end of input making, when the reset worked), and of the whole process
    out["peak_geoplan_phase_mb"] = peak_mb()
    out["peak_rss_mb"] = max(out["peak_geoplan_phase_mb"], out["peak_while_making_input_mb"])
    return out


def run_child(spec: dict) -> dict:
    cp = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                        capture_output=True, text=True, cwd=str(REPO), check=False)
    if cp.returncode != 0:
        return {"spec": spec, "error": (cp.stderr.strip().splitlines() or [f"exit {cp.returncode}"])[-1]}
    return json.loads(cp.stdout.strip().splitlines()[-1])


def fit(rows: list[dict], key: str = "peak_rss_mb") -> dict:
    n = np.array([r["nodes"] for r in rows], float)
    p = np.array([r[key] for r in rows], float)
    A = np.c_[n, np.ones_like(n)]
    (slope, icpt), *_ = np.linalg.lstsq(A, p, rcond=None)
    pred = A @ np.array([slope, icpt])
    r2 = 1 - ((p - pred) ** 2).sum() / max(((p - p.mean()) ** 2).sum(), 1e-12)
    growth = [(p[i + 1] - p[i]) / (n[i + 1] - n[i]) * 2**20 for i in range(len(n) - 1) if n[i + 1] > n[i]]
    return {"slope_bytes_per_node": slope * 2**20, "intercept_mb": icpt, "r2": r2,
            "predicted_peak_mb_at_1M_nodes": slope * 1e6 + icpt,
            "marginal_bytes_per_node": growth}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pbf", type=Path, help="extract to grow from (default: Xicheng if present, else the sample)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "memory.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child)), default=float))
        return 0
    pbf = args.pbf or (XICHENG_PBF if XICHENG_PBF.exists() else None)
    tmp = Path(tempfile.mkdtemp(prefix="geoplan-mem-"))
    cache = tmp / "net.npz"
    info = cache_network(pbf, cache)
    print(f"base network: {info['source']}: {info['nodes']:,} nodes, {info['edges']:,} edges")
    specs = [{"kind": "box", "fraction": f} for f in ((0.1, 0.3) if args.quick else (0.1, 0.25, 0.5, 1.0))]
    if not args.quick:
        specs += [{"kind": "tiles", "tiles": t} for t in ((2, 2), (3, 3), (4, 4), (5, 6))]
    rows = []
    print(f"{'size':>16s} {'nodes':>10s} {'edges':>10s} {'imports':>8s} {'input':>8s} {'network':>8s} "
          f"{'snap':>8s} {'peak':>8s} {'peak(geoplan)':>13s}   build / snap / pass+points")
    for s in specs:
        s["cache"] = str(cache)
        r = run_child(s)
        label = f"box {s['fraction']:.0%}" if s["kind"] == "box" else f"tiles {s['tiles'][0]}x{s['tiles'][1]}"
        r["label"] = label
        if "error" in r:
            print(f"{label:>16s} failed: {r['error']}")
            continue
        rows.append(r)
        print(f"{label:>16s} {r['nodes']:>10,} {r['edges']:>10,} {r['rss_after_imports_mb']:>7.0f}M "
              f"{r['rss_after_input_mb']:>7.0f}M {r['rss_after_network_mb']:>7.0f}M {r['rss_after_snap_mb']:>7.0f}M "
              f"{r['peak_rss_mb']:>7.0f}M {r['peak_geoplan_phase_mb']:>12.0f}M   {r['build_s']:.2f} s / {r['snap_s']:.2f} s / "
              f"{r['multi_source_s'] + r['point_distances_s']:.2f} s", flush=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "base": info, "rows": rows,
              "note": ("nested boxes are real extracts; tilings are synthetic k x l grids of translated copies of "
                       "the real network joined by straight links between facing border nodes."),
              "fit": fit(rows) if len(rows) >= 2 else None,
              "fit_geoplan_phase": fit(rows, "peak_geoplan_phase_mb") if len(rows) >= 2 else None}
    if result["fit"]:
        f = result["fit"]
        print(f"\nlinear fit of peak RSS: {f['slope_bytes_per_node']:.0f} bytes/node + {f['intercept_mb']:.0f} MiB "
              f"(R² {f['r2']:.4f}); predicted peak at 1,000,000 nodes: {f['predicted_peak_mb_at_1M_nodes']:.0f} MiB")
        print("marginal growth between successive sizes (bytes/node): "
              + ", ".join(f"{g:.0f}" for g in f["marginal_bytes_per_node"]))
        g = result["fit_geoplan_phase"]
        print(f"geoplan phase only (peak after the input arrays exist): {g['slope_bytes_per_node']:.0f} bytes/node + "
              f"{g['intercept_mb']:.0f} MiB (R² {g['r2']:.4f}); at 1,000,000 nodes: {g['predicted_peak_mb_at_1M_nodes']:.0f} MiB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
