#!/usr/bin/env python
"""Benchmark ``geoplan batch``: 2 Dask workers against the same audits run one by one.

Areas: the 15 jiedao of Xicheng (``../shared/data/boundaries/xicheng_jiedao_osm.geojson``)
on the real Xicheng street network (``../shared/data/osm/xicheng_streets_2024-03.osm.pbf``),
the largest real data available to the project.

**Stand-in layers (not real land use).**  The Xicheng extract has streets only:
no parks, no land use, no buildings.  A park audit needs parks and residential
land, so this script builds stand-ins, honestly labelled in their file names and
in ``inputs/README.txt``:

* parks: 150 m buffers around the real park points of
  ``../shared/data/parks/beijing_parks_osm_centroids.csv`` (``leisure=park``)
  inside Xicheng or within 800 m of it (parks beyond the border serve too);
* residential land: every jiedao polygon minus those park buffers;
* residents: Xicheng's 2016 population (``beijing_district_stats_c2016.csv``,
  1,298,000) spread over the jiedao in proportion to their stand-in residential land.

The coverage figures are therefore NOT findings about Xicheng; the timings are
real: the walking network, the per-area loading with the margin, every installed
analysis and the writing of each folder are what a real audit does.

Method: each run is a fresh process, as a planner would run it: ``serial`` is one
Python process running :func:`geoplan.audit.run_audit` and
:func:`geoplan.outputs.write_audit` for every area in turn (the same analyses
``geoplan batch`` runs); ``batch`` is ``geoplan batch --redo -q`` with an embedded
LocalCluster of N worker processes (one thread each), including cluster start-up
and the merged tables.  Runs alternate (serial, batch, serial, batch ...) because
the machine may be shared: beside each run, the CPU time that OTHER processes used
meanwhile is recorded (from /proc/stat, minus the run's own process tree), so that
runs disturbed by other work can be told apart.  The
batch outputs are checked to be byte-identical to the serial ones.

Usage::

    python scripts/benchmark_batch.py --out /tmp/geoplan-bench --repeats 2
    python scripts/benchmark_batch.py --limit 4          # a quick look on 4 jiedao
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PBF = SHARED / "osm" / "xicheng_streets_2024-03.osm.pbf"
JIEDAO = SHARED / "boundaries" / "xicheng_jiedao_osm.geojson"
PARKS = SHARED / "parks" / "beijing_parks_osm_centroids.csv"
STATS = SHARED / "stats" / "beijing_district_stats_c2016.csv"
PARK_BUFFER_M = 150.0
NEAR_M = 800.0
CRS = "EPSG:4547"  # CGCS2000 3-degree Gauss-Kruger CM 114E (metres), for building the stand-ins


def build_inputs(d: Path, limit: int | None, workers: int) -> Path:
    """Write the stand-in layers and the batch configuration; return the batch YAML."""
    import geopandas as gpd
    import pandas as pd
    import shapely
    import yaml

    d.mkdir(parents=True, exist_ok=True)
    j = gpd.read_file(JIEDAO)[["name", "adcode", "geometry"]].to_crs(CRS)
    j["geometry"] = shapely.make_valid(j.geometry.values)
    xicheng = shapely.union_all(j.geometry.values)
    p = pd.read_csv(PARKS)
    p = p[p["leisure"] == "park"]
    pts = gpd.GeoDataFrame(p[["osm_id", "name"]], geometry=gpd.points_from_xy(p["lon"], p["lat"]), crs="EPSG:4326").to_crs(CRS)
    pts = pts[pts.distance(xicheng) <= NEAR_M].reset_index(drop=True)
    parks = pts.assign(leisure="park", note=f"STAND-IN: {PARK_BUFFER_M:g} m buffer around a real park point")
    parks["geometry"] = pts.buffer(PARK_BUFFER_M, 32)
    park_union = shapely.union_all(parks.geometry.values)
    res = j.assign(note="STAND-IN: jiedao minus park buffers (no land-use data)")
    res["geometry"] = shapely.difference(res.geometry.values, park_union)
    stats = pd.read_csv(STATS)
    total = float(stats.loc[stats["district"] == "西城区", "population_10k"].iloc[0]) * 10000
    share = res.area / res.area.sum()
    units = j.assign(pop_standin=(share * total).round(0))
    if limit:
        units = units.iloc[:limit]
    parks.to_crs("EPSG:4326").to_file(d / "parks_STANDIN.gpkg")
    res.to_crs("EPSG:4326").to_file(d / "residential_STANDIN.gpkg")
    units.to_crs("EPSG:4326").to_file(d / "jiedao_with_population_STANDIN.gpkg")
    (d / "README.txt").write_text(
        "Stand-in layers for the geoplan batch benchmark (NOT real land use; see scripts/benchmark_batch.py).\n"
        f"parks_STANDIN.gpkg: {len(parks)} x {PARK_BUFFER_M:g} m buffers around real park points of {PARKS.name} "
        f"within {NEAR_M:g} m of Xicheng: {', '.join(parks['name'].astype(str))}\n"
        "residential_STANDIN.gpkg: the jiedao polygons minus the park buffers\n"
        f"jiedao_with_population_STANDIN.gpkg: the jiedao of {JIEDAO.name}; pop_standin = {total:,.0f} residents "
        f"(Xicheng, {STATS.name}) in proportion to stand-in residential land\n",
        encoding="utf-8")
    batch = {
        "base": {"inputs": {"pbf": str(PBF), "parks": "parks_STANDIN.gpkg", "residential": "residential_STANDIN.gpkg"},
                 "rules": "cn-garden-city", "lang": "zh"},
        "areas": {"units": "jiedao_with_population_STANDIN.gpkg", "name_field": "name", "population_field": "pop_standin"},
        "out": "batch-out", "workers": workers, "maps": False,
    }
    (d / "batch.yaml").write_text(yaml.safe_dump(batch, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return d / "batch.yaml"


def serial_child(batch_yaml: str, out: str) -> None:
    """One process, every area in turn: what a planner does without geoplan batch."""
    import warnings

    warnings.simplefilter("ignore")
    from geoplan.audit import run_audit
    from geoplan.batch import load_batch
    from geoplan.audit import ANALYSES
    from geoplan.outputs import write_audit

    spec = load_batch(batch_yaml)
    times = {"_analyses": [a.name for a in ANALYSES]}
    for a in spec.areas:
        t = time.perf_counter()
        try:
            res = run_audit(spec.area_config(a), a.geometry)
            write_audit(res, Path(out) / a.slug, overwrite=True, maps=spec.maps)
            times[a.name] = round(time.perf_counter() - t, 2)
        except Exception as exc:  # noqa: BLE001
            times[a.name] = f"failed: {exc}"
    print(json.dumps(times, ensure_ascii=False))


def code_fingerprint() -> str:
    """Hash of geoplan's sources and presets: others may edit the working tree during a long benchmark."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((ROOT / "geoplan").rglob("*")):
        if f.suffix in (".py", ".yaml") and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (all processes, all cores), from /proc/stat."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (f + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str]) -> dict:
    """Run a command in a fresh process; wall seconds, CPU seconds of its process tree, and how
    much CPU other processes on the machine used meanwhile (the machine may be shared)."""
    load = os.getloadavg()[0]
    code = code_fingerprint()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0 = busy_cpu_seconds()
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    b1 = busy_cpu_seconds()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    others = max(0.0, (b1 - b0) - ours)
    return {"wall_s": round(wall, 2), "cpu_s": round(ours, 2),
            "others_cpu_s": round(others, 1), "others_share": round(others / (wall * (os.cpu_count() or 1)), 3),
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2), "rc": proc.returncode,
            "code": code, "code_after": code_fingerprint(),
            "stdout": proc.stdout[-4000:]}


def compare(serial: Path, batch: Path) -> tuple[int, list[str]]:
    """Byte-compare the deterministic files (tables, summary) of the two runs."""
    diffs, n = [], 0
    for f in sorted(serial.glob("*/tables/*.csv")) + sorted(serial.glob("*/summary.json")):
        rel = f.relative_to(serial)
        n += 1
        if not (batch / rel).is_file() or (batch / rel).read_bytes() != f.read_bytes():
            diffs.append(str(rel))
    return n, diffs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/tmp/geoplan-bench-batch", help="working folder (inputs, outputs, results)")
    ap.add_argument("--repeats", type=int, default=1, help="serial/batch pairs, alternating")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, help="only the first N jiedao (a quick look)")
    ap.add_argument("--serial-child", nargs=2, metavar=("BATCH_YAML", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serial_child:
        serial_child(*args.serial_child)
        return 0
    for f in (PBF, JIEDAO, PARKS, STATS):
        if not f.exists():
            raise SystemExit(f"real data file {f} is absent")
    d = Path(args.out).resolve()
    yml = build_inputs(d / "inputs", args.limit, args.workers)
    geoplan = str(Path(sys.executable).with_name("geoplan"))
    runs = []
    for i in range(args.repeats):
        s = timed([sys.executable, __file__, "--serial-child", str(yml), str(d / "serial-out")])
        s.update(kind="serial", per_area=json.loads(s.pop("stdout").strip().splitlines()[-1]))
        analyses = s["per_area"].pop("_analyses")
        print(f"serial #{i + 1}: {s['wall_s']:.1f} s wall, {s['cpu_s']:.1f} s CPU; other processes used "
              f"{100 * s['others_share']:.0f} % of the machine", flush=True)
        runs.append(s)
        b = timed([geoplan, "batch", str(yml), "--out", str(d / "batch-out"), "--workers", str(args.workers), "--redo", "-q"])
        b.update(kind=f"batch-{args.workers}-workers")
        b.pop("stdout")
        print(f"batch  #{i + 1}: {b['wall_s']:.1f} s wall, {b['cpu_s']:.1f} s CPU; other processes used "
              f"{100 * b['others_share']:.0f} % of the machine", flush=True)
        runs.append(b)
    import pandas as pd

    status = pd.read_csv(d / "batch-out" / "batch_status.csv")
    n_files, diffs = compare(d / "serial-out", d / "batch-out")
    ok = status[status["status"] == "ok"]
    per_worker_cpu = ok.groupby("worker")["cpu_seconds"].sum().round(1).tolist()
    ser = [r["wall_s"] for r in runs if r["kind"] == "serial"]
    bat = [r["wall_s"] for r in runs if r["kind"] != "serial"]
    result = {
        "what": f"{len(status)} Xicheng jiedao, Xicheng street network (real), STAND-IN parks/residential/population",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "workers": args.workers,
        "analyses": ["park coverage"] + analyses,
        "load_average_during_runs": [r["load_before"] for r in runs],
        "serial_wall_s": ser, "batch_wall_s": bat,
        "speedup_best": round(min(ser) / min(bat), 2),
        "speedup_median": round(statistics.median(ser) / statistics.median(bat), 2),
        "speedup_pairs": [round(s / b, 2) for s, b in zip(ser, bat)],
        "others_share_pairs": [[r["others_share"] for r in runs[k:k + 2]] for k in range(0, len(runs), 2)],
        "areas_status": status["status"].value_counts().to_dict(),
        "task_seconds_sum": round(float(status["seconds"].sum()), 1),
        "task_cpu_seconds_sum": round(float(status["cpu_seconds"].sum()), 1),
        "task_cpu_seconds_per_worker": per_worker_cpu,
        "serial_cpu_s": [r["cpu_s"] for r in runs if r["kind"] == "serial"],
        "batch_cpu_s": [r["cpu_s"] for r in runs if r["kind"] != "serial"],
        "identical_files": f"{n_files - len(diffs)}/{n_files}", "differing": diffs[:20],
        "code_unchanged_during_runs": len({r["code"] for r in runs} | {r["code_after"] for r in runs}) == 1,
        "runs": runs,
    }
    (d / "benchmark.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, ensure_ascii=False, indent=2))
    return 0 if not diffs else 1


if __name__ == "__main__":
    sys.exit(main())
