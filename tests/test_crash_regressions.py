"""The crashes of issue #14, reproduced on the real inputs that caused them (they must stay fixed).

* an audit of the Xicheng district layers (``../shared/data/xicheng_district``) on the
  streets-only extract: no residential buildings and no population, so no residents
  are known; every figure was computed, then ``report._method_pivot`` raised
  ``KeyError: 'residents_pct:euclidean'`` and nothing was delivered;
* ``geoplan audit --pbf ../shared/data/osm/haidian_bupt_campus.osm`` (an area with no
  parks) with maps on, the default: the interactive map raised folium's
  ``AssertionError: The field name is not available in the data`` on the empty
  park layer;
* ``geoplan batch ... --maps`` with that area: marked as failed for the same reason.

Each test runs the command a planner runs, maps on, and checks the complete folder.
Skipped when ../shared/data is absent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml

from geoplan.cli import main

pytestmark = [pytest.mark.shared, pytest.mark.slow]


def _one_error_or_none(err: str) -> None:
    assert "Traceback" not in err, err
    assert not [ln for ln in err.splitlines() if ln.startswith("error:")], err


@pytest.fixture(scope="module")
def two_jiedao(shared_data, tmp_path_factory) -> Path:
    """Two of the real Xicheng jiedao (a small area keeps the run short), population field left out."""
    src = shared_data("xicheng_district", "xicheng_jiedao_worldpop.geojson")
    g = gpd.read_file(src)
    g = g[g["name"].isin(["西长安街街道", "新街口街道"])]
    assert len(g) == 2
    out = tmp_path_factory.mktemp("xicheng") / "two_jiedao.geojson"
    g.to_file(out, driver="GeoJSON")
    return out


def test_xicheng_layers_without_residents_write_the_report(shared_data, two_jiedao, tmp_path, capsys):
    """report._method_pivot KeyError 'residents_pct:euclidean': no residents known, the report must still be written."""
    d = shared_data("xicheng_district")
    out = tmp_path / "audit"
    rc = main(["audit", "--pbf", str(shared_data("osm", "xicheng_streets_2024-03.osm.pbf")), "--units", str(two_jiedao),
               "--population-field", "none", "--parks", str(d / "xicheng_parks_osm_2024-05.geojson"),
               "--residential", str(d / "xicheng_landuse_osm_2024-05.geojson"), "--residential-field", "type",
               "--residential-class", "residential", "--out", str(out), "-q"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    _one_error_or_none(cap.err)
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["population"]["method"] == "none"
    rows = [r for r in s["park_coverage"] if r["scope"] == "all" and r["tier"] == "all"]
    assert {r["method"] for r in rows} == {"euclidean", "network"}
    assert all(r["residents_pct"] is None and r["land_pct"] > 0 for r in rows)  # land measured, residents undefined
    # the complete folder: report, one page per unit, maps
    for f in ("index.html", "map.html", "geoplan.gpkg", "audit.xlsx", "tables/park_coverage_by_unit.csv"):
        assert (out / f).exists(), f
    pages = sorted(p for p in (out / "units").glob("*.html") if p.stem.isdigit())  # one per unit (+ book.html)
    assert len(pages) == 2 and (out / "units" / "book.html").exists()
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "西长安街街道" in html and "新街口街道" in html
    assert not re.search(r">\s*nan\s*%?\s*<", html)  # an unknown figure is never printed as nan
    # the same pivot the report builds, on the written table: both methods keep a residents column
    from geoplan.presenters.pages.figures import method_pivot  # report._method_pivot of the crash, since moved

    bu = pd.read_csv(out / "tables" / "park_coverage_by_unit.csv")
    piv = method_pivot(bu[bu["scope"] == "all"], ["euclidean", "network"], ["unit_id", "unit_name"])
    assert {"residents_pct:euclidean", "residents_pct:network"} <= set(piv.columns)
    assert piv["residents_pct:euclidean"].isna().all()


def test_bupt_campus_without_parks_with_maps(shared_data, tmp_path, capsys):
    """geoplan audit --pbf haidian_bupt_campus.osm, maps on: the empty park layer is drawn as 'none', not a crash."""
    out = tmp_path / "bupt"
    rc = main(["audit", "--pbf", str(shared_data("osm", "haidian_bupt_campus.osm")), "--out", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    _one_error_or_none(cap.err)
    assert "warning: no parks found" in cap.err
    for f in ("index.html", "map.html", "maps/park_coverage_A4.png", "summary.json", "geoplan.gpkg"):
        assert (out / f).exists() and (out / f).stat().st_size > 0, f
    html = (out / "map.html").read_text(encoding="utf-8")
    # the empty park layer is in the legend as "none in the area", not as the grey "below every tier" row
    assert "none in the area" in html
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["parks"]["counted"] == 0
    assert s["fairness"]["undefined"] == {"park_distance_m": "no_park"}  # not a Gini of 0.000
    assert "undefined: no park" in cap.out and "0.000" not in cap.out
    # every warning once on the console, and each of them in geoplan.log (#14 item 7)
    shown = [ln[len("warning: "):] for ln in cap.err.splitlines() if ln.startswith("warning: ")]
    assert shown and len(shown) == len(set(shown))
    log = (out / "geoplan.log").read_text(encoding="utf-8")
    logged = log.split("\nwarnings: ", 1)[1]
    assert all(w in logged for w in shown if not w.startswith(("tempfile", "scipy"))), (shown, logged)
    assert "ResourceWarning" not in cap.err and "SparseEfficiencyWarning" not in cap.err  # not about the figures


def test_batch_with_maps_area_without_parks(shared_data, tmp_path, capsys):
    """geoplan batch --maps: the park-less BUPT area is audited with its maps, not marked as failed."""
    cfg = {"areas": {"pbfs": [str(shared_data("osm", "haidian_bupt_campus.osm"))]}, "out": str(tmp_path / "out"),
           "workers": 1, "analyses": []}
    (tmp_path / "batch.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    rc = main(["batch", str(tmp_path / "batch.yaml"), "--maps", "-q"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    status = pd.read_csv(tmp_path / "out" / "batch_status.csv")
    assert list(status["status"]) == ["ok"], status.to_dict("records")
    (area,) = [p for p in (tmp_path / "out").iterdir() if p.is_dir() and (p / "summary.json").exists()]
    assert (area / "map.html").exists() and (area / "index.html").exists()
    assert not (tmp_path / "out" / "errors").exists() or not any((tmp_path / "out" / "errors").iterdir())


def test_no_blind_spot_at_all_draws_the_maps():
    """Every home covered by both methods (the corpus' Neukölln extract, 2024): the blind-spot layer is empty.

    It had no ``rank`` column then, and drawing the maps ended every command on that extract with
    ``error: Layer 'Blind spots (walking network)' has no column 'rank'`` (exit 3, no folder), blaming the data.
    Here: one park, two homes beside it, so nothing is left uncovered.
    """
    import shapely

    import geoplan
    from geoplan.parks import park_coverage, select_parks
    from geoplan.presenters.parks import park_map_layers
    from geoplan.residents import residential_cells

    crs = "EPSG:32650"
    park = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=crs)
    homes = gpd.GeoDataFrame(geometry=[shapely.box(100, 0, 200, 50), shapely.box(100, 50, 200, 100)], crs=crs)
    units = gpd.GeoDataFrame({"unit_id": [1], "unit_name": ["U"]}, geometry=[shapely.box(-500, -500, 600, 600)], crs=crs)
    cells = residential_cells(homes, units, None, 25)
    cells["residents"] = cells["area_m2"] / 100
    rules = geoplan.load_rules("cn-garden-city")
    cov = park_coverage(cells, select_parks(park, rules), rules, methods=("euclidean",))
    assert cov.coverage("euclidean") == pytest.approx(100.0)
    assert cov.blind_spots.empty
    # the columns of a non-empty result: the maps and the report read them
    assert list(cov.blind_spots.columns) == ["method", "rank", "unit_id", "unit_name", "area_m2", "residents", "geometry"]
    layers = park_map_layers(cov, units, "en")
    (blind,) = [ly for ly in layers if ly.key == "blind_spots"]
    assert blind.gdf.empty and blind.empty_label  # drawn as "none in the area"
