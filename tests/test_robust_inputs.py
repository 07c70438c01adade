"""Inputs read as planners give them (issue #14, items 3, 4, 5 and 7), on real data.

* datums on every layer: ``--datum greenways=gcj02`` is the same declaration as
  ``--greenways-datum gcj02``; a GCJ-02 greenway layer taken as WGS 84 gets the
  shift warning every other user layer gets;
* ``geoplan compare`` refuses two audits of different areas (exit 3, naming both
  areas and their overlap) unless ``--different-areas``; undefined figures read
  "undefined", never 0 or nan;
* name fields as Chinese sources name them (名称, NAME, 街道名称 ...): the one that
  holds names is used and the warning says which;
* warnings reach the user once, in the console and in ``geoplan.log``; no
  control flow depends on the text of a message.
"""

from __future__ import annotations

import ast
import json
import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import geoplan
from geoplan.cli import main
from geoplan.errors import GeoplanWarning, UsageError
from geoplan.greenways import load_greenway_segments, load_settings
from geoplan.greenways.result import greenway_datum
from geoplan.sources.layers import find_name_field

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
RING = SHARED / "greenways" / "环二环城市绿道.geojson"  # AMap digitising: GCJ-02 although labelled CRS84
STREETS = SHARED / "osm" / "xicheng_streets_2024-03.osm.pbf"
JIEDAO = SHARED / "xicheng_district" / "xicheng_jiedao_worldpop.geojson"
CRS = "EPSG:32650"

needs_beijing = pytest.mark.skipif(not (RING.exists() and STREETS.exists() and JIEDAO.exists()),
                                   reason=f"real Beijing data not found in {SHARED} (greenways/, osm/, xicheng_district/)")


# =================================================================== item 3: datums
def test_greenway_datum_from_either_declaration():
    s = load_settings()
    assert greenway_datum(s, {}) is None
    assert greenway_datum({**s, "datum": "gcj02"}, {}) == "gcj02"
    assert greenway_datum(s, {"greenways": "gcj02"}) == "gcj02"
    assert greenway_datum({**s, "datum": "GCJ-02"}, {"greenways": "gcj02"}) == "GCJ-02"  # the same datum twice
    with pytest.raises(UsageError, match="declared twice, differently: 'bd09'.*'gcj02'"):
        greenway_datum({**s, "datum": "bd09"}, {"greenways": "gcj02"})


@pytest.fixture(scope="module")
def walk():
    from geoplan.network import build_network
    from geoplan.sources.osm import OSMSource

    if not STREETS.exists():
        pytest.skip(f"real data not found: {STREETS}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nodes, edges = OSMSource(STREETS).walking_network()
    return build_network(nodes, edges, CRS)


@needs_beijing
@pytest.mark.shared
def test_datum_of_a_greenway_layer_declared_either_way_gives_the_same_lines(walk):
    s = load_settings({"layer": [str(RING)]})
    a, _ = load_greenway_segments({**s, "datum": "gcj02"}, CRS, network=walk)
    b, prov = load_greenway_segments(s, CRS, datums={"greenways": "gcj02"}, network=walk)
    raw, _ = load_greenway_segments(s, CRS)
    assert "declared gcj02" in prov
    assert len(a) == len(b) == len(raw) == 53
    assert all(x.equals_exact(y, 1e-9) for x, y in zip(a.geometry, b.geometry))
    # the declaration moved every line by the GCJ-02 offset of central Beijing (~500 m), independently measured
    first = lambda g: shapely.points([shapely.get_coordinates(x)[0] for x in g.geometry.values])  # noqa: E731
    assert 400 < float(np.median(shapely.distance(first(raw), first(a)))) < 700


@needs_beijing
@pytest.mark.shared
def test_gcj02_greenway_layer_taken_as_wgs84_gets_the_shift_warning(walk):
    s = load_settings({"layer": [str(RING)]})
    with pytest.warns(GeoplanWarning, match=r"greenway layer .*环二环城市绿道.geojson.*--datum greenways=gcj02"):
        load_greenway_segments(s, CRS, network=walk)
    with warnings.catch_warnings(record=True) as w:  # declared: converted, and not flagged
        warnings.simplefilter("always")
        load_greenway_segments(s, CRS, datums={"greenways": "gcj02"}, network=walk)
    assert not [x for x in w if "--datum greenways" in str(x.message)]


@needs_beijing
@pytest.mark.shared
@pytest.mark.slow
def test_cli_datum_greenways_equals_greenways_datum(tmp_path, capsys):
    """`geoplan greenways --datum greenways=gcj02` writes what `--greenways-datum gcj02` writes."""
    common = ["greenways", "--pbf", str(STREETS), "--greenways", str(RING), "--network-only", "--no-maps", "-q"]
    assert main([*common, "--datum", "greenways=gcj02", "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--greenways-datum", "gcj02", "--out", str(tmp_path / "b")]) == 0
    assert main([*common, "--out", str(tmp_path / "c")]) == 0  # undeclared: taken at its WGS 84 label
    err = capsys.readouterr().err
    assert err.count("--datum greenways=gcj02") == 1  # only the undeclared run is warned, once
    tables = sorted(p.name for p in (tmp_path / "a" / "tables").glob("*.csv"))
    assert tables and tables == sorted(p.name for p in (tmp_path / "b" / "tables").glob("*.csv"))
    for t in tables:
        assert (tmp_path / "a" / "tables" / t).read_bytes() == (tmp_path / "b" / "tables" / t).read_bytes(), t
    ga = gpd.read_file(tmp_path / "a" / "geoplan.gpkg", layer="greenways_edges")
    gc = gpd.read_file(tmp_path / "c" / "geoplan.gpkg", layer="greenways_edges")
    assert not ga.geometry.iloc[0].equals_exact(gc.geometry.iloc[0], 1.0)  # the declaration was honoured
    log = (tmp_path / "c" / "geoplan.log").read_text(encoding="utf-8")
    assert log.count("--datum greenways=gcj02") == 1  # the warning is in the folder's log too, once


# =================================================================== item 5: name fields, far layers
@needs_beijing
@pytest.mark.parametrize("field", ["名称", "NAME", "街道名称", "jiedao_name"])
def test_unit_names_from_the_field_that_holds_them(field):
    g = gpd.read_file(JIEDAO).rename(columns={"name": field})
    with pytest.warns(GeoplanWarning, match=rf"unit layer .* has no field 'name': names taken from its field '{field}'"):
        got = _unit_names(g)
    assert sorted(got) == sorted(gpd.read_file(JIEDAO)["name"])


@needs_beijing
def test_the_one_text_field_holding_names_and_the_ambiguous_case():
    g = gpd.read_file(JIEDAO)
    # an unusual field name: the one text field that holds distinct names (district repeats 西城区 and is not one)
    found = find_name_field(g.rename(columns={"name": "JDMC_2020"}), "name", what="units")
    assert found.field == "JDMC_2020" and found.guessed and "its one text field 'JDMC_2020'" in found.note
    # two text fields of distinct values and none named like a name: no guess, the note lists them
    two = g.rename(columns={"name": "a"}).assign(b=[f"code-{chr(65 + i)}" for i in range(len(g))])
    found = find_name_field(two, "name", what="units")
    assert found.field is None and "2 text fields could hold names (a, b)" in found.note
    # a configured field that is there is used as it is
    assert find_name_field(g, "district", what="units").field == "district"


def _unit_names(layer: gpd.GeoDataFrame) -> list[str]:
    """The unit names load_study takes from a unit layer (its naming step, without reading an extract)."""
    found = find_name_field(layer, "name", what="unit layer jiedao.geojson")
    if found.guessed:
        warnings.warn(found.note, GeoplanWarning)
    return layer[found.field].astype(str).tolist()


@needs_beijing
@pytest.mark.shared
@pytest.mark.parametrize("field", ["绿道名称", "greenway", "名称", "NAME"])
def test_greenway_named_by_its_chinese_field(tmp_path, field):
    g = gpd.read_file(RING)
    g[field] = "环二环城市绿道"
    g.to_file(tmp_path / "ring.geojson", driver="GeoJSON")
    from geoplan.greenways import read_greenway_layers

    with pytest.warns(GeoplanWarning, match=f"has no field 'name': names taken from its field '{field}'"):
        segs = read_greenway_layers([tmp_path / "ring.geojson"], datum="gcj02")
    assert set(segs["name"]) == {"环二环城市绿道"}  # not the file's name


@needs_beijing
@pytest.mark.slow
def test_unit_layer_far_from_the_extract_is_blamed_with_the_distance(tmp_path, capsys):
    """Xicheng's jiedao with the Helsinki extract: the unit layer is named, with the distance, not the extract's streets."""
    from pyproj import Geod

    from geoplan.sources.osm import bundled_sample

    pbf = bundled_sample()
    rc = main(["audit", "--pbf", str(pbf), "--units", str(JIEDAO), "--out", str(tmp_path / "o"), "--no-maps", "-q"])
    err = capsys.readouterr().err
    assert rc == 3 and not (tmp_path / "o").exists()
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert f"the unit layer {JIEDAO} lies" in line and f"from the OpenStreetMap extract {pbf}" in line
    km = float(line.split(" lies ")[1].split(" km ")[0])
    # independently: Helsinki's extract lies ~6,300 km from Beijing (geodesic, nearest corners of the two boxes)
    w, s, e, n = gpd.read_file(JIEDAO).total_bounds
    ref = Geod(ellps="WGS84").inv(w, n, 24.9534, 60.1641)[2] / 1000
    assert km == pytest.approx(ref, rel=0.01)


# =================================================================== item 4: comparisons that make sense
@pytest.fixture(scope="module")
def square_audits(tmp_path_factory):
    """Park audits of real 380 x 440 m boxes of central Helsinki: two side by side, one 17 m off the first."""
    base = tmp_path_factory.mktemp("squares")
    out = {}
    for key, box in {"west": (24.9352, 60.1640, 24.9420, 60.1680), "east": (24.9420, 60.1640, 24.9488, 60.1680),
                     "west2": (24.9355, 60.1640, 24.9423, 60.1680)}.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = geoplan.run_audit(geoplan.load_config(), area=shapely.box(*box), analyses=("fairness",))
            geoplan.write_audit(r, base / key, maps=False, state=False)
        out[key] = base / key
    return out


def test_compare_refuses_two_areas_that_do_not_overlap(square_audits, tmp_path, capsys):
    a, b = square_audits["west"], square_audits["east"]
    rc = main(["compare", str(a), str(b), "--out", str(tmp_path / "c"), "-q"])
    err = capsys.readouterr().err
    assert rc == 3 and not (tmp_path / "c").exists()
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert "do not cover the same area" in line and str(a) in line and str(b) in line
    assert "they overlap on 0.00 km² (0 % of the first, 0 % of the second)" in line and "--different-areas" in line
    # the areas, independently: the study area layers' own areas
    ka = gpd.read_file(a / "geoplan.gpkg", layer="study_area").area.sum() / 1e6
    assert f"covers {ka:.2f} km²" in line
    # told so, it compares, says it in a warning and keeps the overlap in comparison.json
    rc = main(["compare", str(a), str(b), "--out", str(tmp_path / "c"), "--different-areas", "-q", "--no-maps"])
    cap = capsys.readouterr()
    assert rc == 0 and cap.err.count("warning: the two audits do not cover the same area") == 1
    c = json.loads((tmp_path / "c" / "comparison.json").read_text(encoding="utf-8"))
    assert c["areas"]["overlap_km2"] == pytest.approx(0.0, abs=1e-9)
    log = (tmp_path / "c" / "geoplan.log").read_text(encoding="utf-8")
    assert "warnings: 1" in log and "do not cover the same area" in log  # and in the log, once


def test_compare_of_overlapping_areas(square_audits):
    from geoplan.compare import SAME_AREA_PCT, compare_audits

    a, b = square_audits["west"], square_audits["west2"]
    ga = gpd.read_file(a / "geoplan.gpkg", layer="study_area")
    gb = gpd.read_file(b / "geoplan.gpkg", layer="study_area").to_crs(ga.crs)
    share = 100 * ga.intersection(gb.union_all()).area.sum() / ga.area.sum()  # independently, with geopandas
    assert share > SAME_AREA_PCT  # a 17 m shift of a 380 m wide box: the same area
    comp = compare_audits(a, b)
    assert comp.areas["overlap_old_pct"] == pytest.approx(share, rel=1e-9)


def test_undefined_figures_read_undefined():
    from geoplan.i18n import number, text

    assert text("compounds.headline", "en", n=2, ungated=1, before=float("nan"), after=None).endswith(
        "residents within a walk of a park undefined → undefined")
    assert "无法计算" in text("whatif.headline", "zh", model="m", residents=10.0, land_m2=5.0, before=math.nan, after=1.0)
    assert number(float("nan"), ".1f", "en", "%") == "undefined" and number(0.0, ".1f", "en", "%") == "0.0%"


# =================================================================== item 7: warnings, and no control flow on text
def test_no_control_flow_on_the_text_of_an_error():
    """No `except ... as e:` block of geoplan/ tests the text of ``e`` (``in str(e)``, ``str(e).startswith`` ...)."""
    offenders = []
    for path in sorted((REPO / "geoplan").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for h in (n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler) and n.name):
            for node in ast.walk(h):
                if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn, ast.Eq)) for op in node.ops):
                    if _mentions_text_of(node, h.name):
                        offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in ("startswith", "endswith", "find", "search", "match")
                        and _mentions_text_of(node, h.name)):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, offenders


def _mentions_text_of(node: ast.AST, name: str) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in ("str", "repr"):
            if any(isinstance(a, ast.Name) and a.id == name for a in sub.args):
                return True
        if isinstance(sub, ast.Attribute) and sub.attr in ("args", "message", "msg") and \
                isinstance(sub.value, ast.Name) and sub.value.id == name:
            return True
    return False


def test_library_warnings_reach_the_user_once_in_plain_words():
    """A library's RuntimeWarning is shown once, naming it; a deprecation goes to the log only; each warning once."""
    from geoplan.settings import WarningLog

    shown: list[str] = []
    with WarningLog(show=shown.append) as log:
        for _ in range(3):
            np.log(np.array([-1.0]))  # numpy: invalid value (a figure computed from it would be NaN)
        warnings.warn("old API", DeprecationWarning)
        warnings.warn("no parks found", GeoplanWarning)
        warnings.warn("no parks found", GeoplanWarning)
    assert len(shown) == 2, shown
    assert "invalid value encountered in log" in shown[0] and "RuntimeWarning" in shown[0] and " reports: " in shown[0]
    assert shown[1] == "warning: no parks found"
    assert [r.category for r in log.records] == ["RuntimeWarning", "DeprecationWarning", "GeoplanWarning"]
    assert [r.shown for r in log.records] == [True, False, True]
    assert len(log.log_lines()) == 3


@pytest.mark.shared
@pytest.mark.slow
def test_lifecircle_without_residents_says_homes_not_residents(tmp_path, capsys):
    """Shanghai University's 2021 export has no residential buildings: no residents are known, so the life-circle
    headline counts homes (each once) and says so, instead of a share "of residents"."""
    pbf = SHARED / "corpus" / "cn_shanghai_baoshan_shu_2021.osm"
    if not pbf.exists():
        pytest.skip(f"real data not found: {pbf}")
    assert main(["lifecircle", "--pbf", str(pbf), "--out", str(tmp_path / "lc"), "--no-maps"]) == 0
    out = capsys.readouterr().out
    assert "% of homes have a complete 15-minute circle" in out and "no residents known" in out
    assert "of residents" not in out
    s = json.loads((tmp_path / "lc" / "summary.json").read_text(encoding="utf-8"))
    assert s["population"]["method"] == "none"
